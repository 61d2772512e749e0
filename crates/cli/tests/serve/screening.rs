//! Screening, re-screening and alerts, trace jobs, the demo.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::http::*;
use crate::util;

#[test]
fn screening_end_to_end() {
    let (tmp, data) = Server::prepare();
    let mut s = Server::start(tmp, data);
    let k = s.key("acme", "analyst", 100_000);
    // /health alone answers without a key
    let h = raw(&s.addr, "GET", "/health", &[], b"");
    assert_eq!(h.status, 200);
    assert_eq!(h.json()["status"], "ok");
    // an exchange hot wallet from the simulation's attribution
    let hot = "bcrt1qnu4mxq8fdlqpuw3ejjxxzzwas2we9mzxzw5mnh";
    let a = s.ok(
        &k,
        "POST",
        "/v1/screen/address",
        Some(json!({"chain": "bitcoin", "address": hot})),
    );
    assert_eq!(a["risk"], "LOW");
    assert_eq!(a["categories"], json!(["exchange"]));
    assert_eq!(a["on_chain"], true);
    assert!(a["entity"]["size"].as_u64().unwrap() >= 1);
    assert!(a["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["source"] == "sim-attribution"));
    // the thief's address carries no tag yet
    let thief = thief_addresses(&s.data);
    let a = s.ok(
        &k,
        "POST",
        "/v1/screen/address",
        Some(json!({"chain": "bitcoin", "address": thief[0]})),
    );
    assert_eq!(a["risk"], "LOW");
    assert_eq!(a["sanctioned"], false);
    // a cash-out deposit into another exchange
    let t = truth(&s.data);
    let c = &t["incident"]["cashouts"][0];
    let tr = s.ok(
        &k,
        "POST",
        "/v1/screen/transfer",
        Some(json!({"chain": "bitcoin", "asset": "BTC", "direction": "deposit", "txid": c["txid"], "vout": c["vout"], "amount_sat": c["sats"]})),
    );
    assert_eq!(tr["value_sat"], c["sats"]);
    assert_eq!(tr["vouts"], json!([c["vout"]]));
    assert!(!tr["counterparties"].as_array().unwrap().is_empty());
    let st = tr["indirect"]["status"].as_str().unwrap();
    assert!(
        st == "computed" || st == "cut",
        "tracing engine is on over the demo: {st}"
    );
    // the same output by address
    let tr2 = s.ok(
        &k,
        "POST",
        "/v1/screen/transfer",
        Some(json!({"chain": "bitcoin", "asset": "BTC", "direction": "withdrawal", "txid": c["txid"], "address": c["deposit_address"]})),
    );
    assert_eq!(tr2["vouts"], json!([c["vout"]]));
    // batch: two good items and one bad, answered item by item
    let b = s.ok(
        &k,
        "POST",
        "/v1/screen/batch",
        Some(json!({"items": [
            {"kind": "address", "chain": "bitcoin", "address": hot},
            {"kind": "address", "chain": "bitcoin", "address": "bcrt1qnu4mxq8fdlqpuw3ejjxxzzwas2we9mzxzw5mnx"},
            {"kind": "transfer", "chain": "bitcoin", "asset": "BTC", "direction": "deposit", "txid": c["txid"], "vout": c["vout"]}
        ]})),
    );
    let r = b["results"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r[0]["status"], 200);
    assert_eq!(r[1]["status"], 422);
    assert!(r[1]["problem"]["detail"]
        .as_str()
        .unwrap()
        .contains("address"));
    assert_eq!(r[2]["status"], 200);
    // past screenings: 3 single + 2 batch items that succeeded
    let l = s.ok(&k, "GET", "/v1/screenings?limit=2", None);
    assert_eq!(l["total"], 6);
    assert_eq!(l["screenings"].as_array().unwrap().len(), 2);
    let one = s.ok(&k, "GET", "/v1/screenings/1", None);
    assert_eq!(one["subject"]["address"], hot);
    // entity lookup
    let e = s.ok(&k, "GET", &format!("/v1/entities/bitcoin/{hot}"), None);
    assert!(e["members"].as_array().unwrap().iter().any(|m| m == hot));
    assert_eq!(e["categories"], json!(["exchange"]));
    // a trace job: start, poll, result
    let theft = t["incident"]["theft_txids"][0].as_str().unwrap();
    let j = s.call(
        &k,
        "POST",
        "/v1/traces",
        Some(json!({"chain": "bitcoin", "from": theft, "direction": "forward", "max_hops": 30})),
    );
    assert_eq!(j.status, 202, "{}", String::from_utf8_lossy(&j.body));
    let id = j.json()["id"].as_u64().unwrap();
    wait_for("the trace job", || {
        s.ok(&k, "GET", &format!("/v1/traces/{id}"), None)["status"] != "running"
    });
    let res = s.ok(&k, "GET", &format!("/v1/traces/{id}/result"), None);
    assert!(res["source_value_sat"].as_u64().unwrap() > 0);
    assert!(!res["destinations"].as_array().unwrap().is_empty());
    assert!(res["txs_visited"].as_u64().unwrap() > 1);
    // the job and its result survive a restart; ids go on from there
    let job = s.ok(&k, "GET", &format!("/v1/traces/{id}"), None);
    s.restart();
    let again = s.ok(&k, "GET", &format!("/v1/traces/{id}"), None);
    assert_eq!(again["status"], "done");
    assert_eq!(again["elapsed_ms"], job["elapsed_ms"]);
    assert_eq!(again["txs_visited"], job["txs_visited"]);
    assert_eq!(
        s.ok(&k, "GET", &format!("/v1/traces/{id}/result"), None),
        res
    );
    let j2 = s.call(
        &k,
        "POST",
        "/v1/traces",
        Some(json!({"chain": "bitcoin", "from": theft, "direction": "backward", "max_hops": 3})),
    );
    assert_eq!(j2.json()["id"].as_u64().unwrap(), id + 1);
    // a job the server was running when it stopped is reported failed
    let saved = s
        .data
        .join(format!("serve/tenants/acme/traces/{}.meta.json", id + 2));
    std::fs::write(
        &saved,
        format!(
            r#"{{"id":{},"from":"x","elapsed_ms":0,"status":"running"}}"#,
            id + 2
        ),
    )
    .unwrap();
    s.restart();
    let lost = s.ok(&k, "GET", &format!("/v1/traces/{}", id + 2), None);
    assert_eq!(lost["status"], "failed", "{lost}");
    assert!(lost["error"].as_str().unwrap().contains("interrupted"));
    s.call(&k, "GET", &format!("/v1/traces/{}/result", id + 2), None)
        .problem(409);
    // a demix job lists each judged CoinJoin output with its evidence; on
    // a backward trace demix is refused
    let j3 = s.call(
        &k,
        "POST",
        "/v1/traces",
        Some(json!({"chain": "bitcoin", "from": theft, "direction": "forward", "max_hops": 100, "demix": true})),
    );
    assert_eq!(j3.status, 202, "{}", String::from_utf8_lossy(&j3.body));
    let id3 = j3.json()["id"].as_u64().unwrap();
    wait_for("the demix job", || {
        s.ok(&k, "GET", &format!("/v1/traces/{id3}"), None)["status"] != "running"
    });
    let dm = s.ok(&k, "GET", &format!("/v1/traces/{id3}/result"), None);
    let judged = dm["demixed"].as_array().unwrap();
    assert!(dm["demixed_count"].as_u64().unwrap() as usize >= judged.len());
    assert_eq!(dm["demix_exhausted"], false);
    assert!(!judged.is_empty(), "{dm}");
    assert!(judged
        .iter()
        .all(|j| j["shape"] == "alone" || j["shape"] == "consolidation"));
    assert!(judged
        .iter()
        .all(|j| j["prior"].as_str().unwrap().contains(':')));
    assert!(res["demixed"].as_array().unwrap().is_empty());
    s.call(
        &k,
        "POST",
        "/v1/traces",
        Some(json!({"chain": "bitcoin", "from": theft, "direction": "backward", "demix": true})),
    )
    .problem(422);
    // the policy in force is the documented default
    let p = s.ok(&k, "GET", "/v1/policy", None);
    assert_eq!(p["name"], "chainhound-default");
    // OpenAPI 3.1 and the docs page (served from the binary)
    let o = s.ok(&k, "GET", "/openapi.json", None);
    assert!(o["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(o["paths"]["/v1/screen/transfer"]["post"].is_object());
    let d = s.call(&k, "GET", "/docs", None);
    assert_eq!(d.status, 200);
    assert!(String::from_utf8_lossy(&d.body).contains("redoc"));
    let js = s.call(&k, "GET", "/docs/redoc.standalone.js", None);
    assert_eq!(js.status, 200);
    assert!(js.body.len() > 500_000);
    // a browser gets a Basic challenge on the docs page
    let d = raw(&s.addr, "GET", "/docs", &[], b"");
    d.problem(401);
    assert!(d.header("www-authenticate").unwrap().starts_with("Basic"));
}

#[test]
fn tag_changes_rescreen_and_raise_alerts() {
    let (tmp, data) = Server::prepare();
    let s = Server::start(tmp, data);
    let k = s.key("acme", "analyst", 100_000);
    let thief = thief_addresses(&s.data);
    let a = s.ok(
        &k,
        "POST",
        "/v1/screen/address",
        Some(json!({"chain": "bitcoin", "address": thief[0]})),
    );
    assert_eq!(a["risk"], "LOW");
    assert!(s.ok(&k, "GET", "/v1/alerts", None)["alerts"]
        .as_array()
        .unwrap()
        .is_empty());
    // a new sanctions edition names the thief: the running server notices,
    // re-screens and raises an alert
    let csv = s.data.join("sanctions.csv");
    std::fs::write(
        &csv,
        format!(
            "address,label,category\n{},LAZARUS (simulated),sanction\n",
            thief[0]
        ),
    )
    .unwrap();
    util::ok(
        &s.data,
        &[
            "import",
            "csv",
            "--source",
            "sanctions-demo",
            csv.to_str().unwrap(),
        ],
    );
    let mut alerts = Value::Null;
    wait_for("the re-screening alert", || {
        alerts = s.ok(&k, "GET", "/v1/alerts", None);
        !alerts["alerts"].as_array().unwrap().is_empty()
    });
    let al = &alerts["alerts"][0];
    assert_eq!(al["old_level"], "LOW");
    assert_eq!(al["new_level"], "SEVERE");
    assert_eq!(al["screening"], a["screening_id"]);
    let sc = s.ok(
        &k,
        "GET",
        &format!("/v1/screenings/{}", a["screening_id"]),
        None,
    );
    assert_eq!(sc["level"], "LOW");
    assert_eq!(sc["current_level"], "SEVERE");
    // a fresh screening says SEVERE and sanctioned
    let a2 = s.ok(
        &k,
        "POST",
        "/v1/screen/address",
        Some(json!({"chain": "bitcoin", "address": thief[0]})),
    );
    assert_eq!(a2["risk"], "SEVERE");
    assert_eq!(a2["sanctioned"], true);
    // acknowledging
    let id = al["id"].as_u64().unwrap();
    let ack = s.ok(&k, "POST", &format!("/v1/alerts/{id}/ack"), None);
    assert!(ack["acked"].is_object());
    assert!(s.ok(&k, "GET", "/v1/alerts", None)["alerts"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        s.ok(&k, "GET", "/v1/alerts?state=all", None)["alerts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // a private tag re-screens at once
    let hot = "bcrt1qnu4mxq8fdlqpuw3ejjxxzzwas2we9mzxzw5mnh";
    s.ok(
        &k,
        "POST",
        "/v1/screen/address",
        Some(json!({"chain": "bitcoin", "address": hot})),
    );
    let t = s.ok(&k, "POST", "/v1/tags", Some(json!({"chain": "bitcoin", "address": hot, "category": "mixing_service", "label": "our case 12"})));
    assert_eq!(t["alerts_raised"], 1);
    let a3 = s.ok(
        &k,
        "POST",
        "/v1/screen/address",
        Some(json!({"chain": "bitcoin", "address": hot})),
    );
    assert_eq!(a3["risk"], "HIGH");
    assert!(a3["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["source"] == "tenant"));
    // deleting it re-screens back
    let tid = t["tag"]["id"].as_u64().unwrap();
    let d = s.ok(&k, "DELETE", &format!("/v1/tags/{tid}"), None);
    assert_eq!(
        d["alerts_raised"], 2,
        "both screenings of the hot wallet drop back to LOW"
    );
    assert!(s.ok(&k, "GET", "/v1/tags", None)["tags"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// `demo --serve` leaves the API running over the incident and its printed
/// example requests work.
#[test]
fn demo_serve_answers_its_examples() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_chainhound"))
        .arg("--data")
        .arg(&data)
        .args([
            "--quiet",
            "demo",
            "--txs",
            "3000",
            "--serve",
            "--bind",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("demo starts");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut addr, mut key, mut bodies) = (String::new(), String::new(), Vec::new());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        let l = line.trim().to_string();
        line.clear();
        if let Some(a) = l.strip_prefix("chainhound serve: listening on http://") {
            addr = a.to_string();
        } else if let Some(k) = l.strip_prefix("export CHAINHOUND_KEY=") {
            key = k.to_string();
        } else if let Some((path, body)) = l.split_once(" -d '") {
            let path = path.rsplit(&addr).next().unwrap().to_string();
            bodies.push((path, body.trim_end_matches('\'').to_string()));
        } else if l.contains("API docs") {
            break;
        }
    }
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{addr}"
    );
    assert_eq!(bodies.len(), 2, "two examples: {bodies:?}");
    let auth = format!("Bearer {key}");
    let h = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let a = raw(&addr, "POST", &bodies[0].0, &h, bodies[0].1.as_bytes());
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["risk"], "HIGH");
    assert_eq!(a.json()["categories"], json!(["theft"]));
    let t = raw(&addr, "POST", &bodies[1].0, &h, bodies[1].1.as_bytes());
    assert_eq!(t.status, 200, "{}", String::from_utf8_lossy(&t.body));
    assert!(t.json()["counterparties"].as_array().is_some());
    let _ = child.kill();
    let _ = child.wait();
}
