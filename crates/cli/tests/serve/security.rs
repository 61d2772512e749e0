//! Tenant isolation, bad input, keys and roles, the audit log.

use serde_json::{json, Value};

use crate::http::*;
use crate::util;

#[test]
fn tenants_never_see_each_other() {
    let (tmp, data) = Server::prepare();
    let s = Server::start(tmp, data);
    let a = s.key("alpha", "admin", 100_000);
    let b = s.key("bravo", "admin", 100_000);
    let thief = thief_addresses(&s.data);
    // alpha's data: a screening, a private tag (raising an alert), a policy,
    // a trace job, a second key
    s.ok(
        &a,
        "POST",
        "/v1/screen/address",
        Some(json!({"chain": "bitcoin", "address": thief[0]})),
    );
    let t = s.ok(&a, "POST", "/v1/tags", Some(json!({"chain": "bitcoin", "address": thief[0], "category": "sanction", "label": "alpha's secret lead"})));
    assert_eq!(t["alerts_raised"], 1);
    let mut pol = s.ok(&a, "GET", "/v1/policy", None);
    pol["name"] = json!("alpha-policy");
    s.ok(&a, "PUT", "/v1/policy", Some(pol));
    let j = s.call(
        &a,
        "POST",
        "/v1/traces",
        Some(json!({"chain": "bitcoin", "from": thief[0], "direction": "backward"})),
    );
    assert_eq!(j.status, 202);
    let a_key2 = s.ok(
        &a,
        "POST",
        "/v1/keys",
        Some(json!({"role": "integration", "label": "alpha pipeline"})),
    );
    let a_key2_id = a_key2["key"]["id"].as_str().unwrap().to_string();
    assert!(a_key2["secret"]
        .as_str()
        .unwrap()
        .starts_with(&format!("chk_{a_key2_id}_")));

    // bravo, through every endpoint
    let sc = s.ok(
        &b,
        "POST",
        "/v1/screen/address",
        Some(json!({"chain": "bitcoin", "address": thief[0]})),
    );
    assert_eq!(
        sc["risk"], "LOW",
        "alpha's private sanction tag must not reach bravo"
    );
    assert!(sc["tags"].as_array().unwrap().is_empty());
    assert_eq!(sc["screening_id"], 1, "bravo's screening ids are its own");
    let theft = truth(&s.data)["incident"]["theft_txids"][0].clone();
    let w = json!({"chain": "bitcoin", "asset": "BTC", "direction": "withdrawal", "txid": theft, "address": thief[0]});
    let ta = s.ok(&a, "POST", "/v1/screen/transfer", Some(w.clone()));
    assert_eq!(ta["risk"], "SEVERE", "alpha's own tag counts for alpha");
    let tb = s.ok(&b, "POST", "/v1/screen/transfer", Some(w));
    assert_eq!(tb["risk"], "LOW");
    assert!(tb["counterparties"][0]["tags"]
        .as_array()
        .unwrap()
        .is_empty());
    let ent = s.ok(
        &b,
        "GET",
        &format!("/v1/entities/bitcoin/{}", thief[0]),
        None,
    );
    assert!(ent["tags"].as_array().unwrap().is_empty());
    let batch = s.ok(
        &b,
        "POST",
        "/v1/screen/batch",
        Some(json!({"items": [{"kind": "address", "chain": "bitcoin", "address": thief[0]}]})),
    );
    assert_eq!(batch["results"][0]["address"]["risk"], "LOW");
    let l = s.ok(&b, "GET", "/v1/screenings", None);
    assert_eq!(l["total"], 3);
    assert!(l["screenings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["key"] != json!(a.split('_').nth(1).unwrap())));
    s.call(&b, "GET", "/v1/screenings/4", None).problem(404);
    assert!(s.ok(&b, "GET", "/v1/tags", None)["tags"]
        .as_array()
        .unwrap()
        .is_empty());
    s.call(&b, "DELETE", &format!("/v1/tags/{}", t["tag"]["id"]), None)
        .problem(404);
    assert!(s.ok(&b, "GET", "/v1/alerts?state=all", None)["alerts"]
        .as_array()
        .unwrap()
        .is_empty());
    s.call(&b, "POST", "/v1/alerts/1/ack", None).problem(404);
    assert_eq!(
        s.ok(&b, "GET", "/v1/policy", None)["name"],
        "chainhound-default"
    );
    s.call(&b, "GET", "/v1/traces/1", None).problem(404);
    s.call(&b, "GET", "/v1/traces/1/result", None).problem(404);
    let keys = s.ok(&b, "GET", "/v1/keys", None);
    let ids: Vec<&str> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "bravo sees its own key only: {ids:?}");
    s.call(&b, "DELETE", &format!("/v1/keys/{a_key2_id}"), None)
        .problem(404);
    let rescreen = s.ok(&b, "POST", "/v1/rescreen", None);
    assert_eq!(rescreen["screenings"], 3);
    let audit = s.ok(&b, "GET", "/v1/audit?limit=1000", None);
    let entries = audit["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["tenant"] == "bravo"));
    assert!(!entries
        .iter()
        .any(|e| e["target"].as_str().unwrap().contains("alpha")));
    // and alpha still sees all of its own
    assert_eq!(
        s.ok(&a, "GET", "/v1/tags", None)["tags"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.ok(&a, "GET", "/v1/alerts?state=all", None)["alerts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.ok(&a, "GET", "/v1/keys", None)["keys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(s.ok(&a, "GET", "/v1/audit", None)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["tenant"] == "alpha"));
}

#[test]
fn bad_input_gets_4xx_problem_json() {
    let (tmp, data) = Server::prepare();
    let s = Server::start(tmp, data);
    let k = s.key("acme", "admin", 100_000);
    let addr = |a: &str| json!({"chain": "bitcoin", "address": a});
    let post = |path: &str, body: &str, ct: &str| {
        let auth = format!("Bearer {k}");
        raw(
            &s.addr,
            "POST",
            path,
            &[("Authorization", &auth), ("Content-Type", ct)],
            body.as_bytes(),
        )
    };
    // malformed JSON
    post(
        "/v1/screen/address",
        "{\"chain\": \"bitcoin\",",
        "application/json",
    )
    .problem(400);
    // not JSON at all
    post(
        "/v1/screen/address",
        "chain=bitcoin",
        "application/x-www-form-urlencoded",
    )
    .problem(415);
    // unknown chain
    let p = s
        .call(
            &k,
            "POST",
            "/v1/screen/address",
            Some(json!({"chain": "dogecoin", "address": "x"})),
        )
        .problem(422);
    assert!(p["detail"].as_str().unwrap().contains("dogecoin"));
    // a bad checksum (last character changed)
    let p = s
        .call(
            &k,
            "POST",
            "/v1/screen/address",
            Some(addr("bcrt1qnu4mxq8fdlqpuw3ejjxxzzwas2we9mzxzw5mnx")),
        )
        .problem(422);
    assert!(p["detail"].as_str().unwrap().contains("address"));
    s.call(
        &k,
        "POST",
        "/v1/screen/address",
        Some(addr("2N6tP3pooJxRnJUF9JDxcyHzBU9JZ3SkaWH")),
    )
    .problem(422);
    // unknown field, amount as a float, negative amount, bad txid, unknown tx
    s.call(
        &k,
        "POST",
        "/v1/screen/address",
        Some(json!({"chain": "bitcoin", "address": "x", "extra": 1})),
    )
    .problem(422);
    let tx = json!({"chain": "bitcoin", "asset": "BTC", "direction": "deposit", "txid": "00".repeat(32), "vout": 0, "amount_sat": 1.5});
    s.call(&k, "POST", "/v1/screen/transfer", Some(tx))
        .problem(422);
    let tx = json!({"chain": "bitcoin", "asset": "BTC", "direction": "deposit", "txid": "00".repeat(32), "vout": 0, "amount_sat": -1});
    s.call(&k, "POST", "/v1/screen/transfer", Some(tx))
        .problem(422);
    let tx = json!({"chain": "bitcoin", "asset": "BTC", "direction": "deposit", "txid": "xyz", "vout": 0});
    s.call(&k, "POST", "/v1/screen/transfer", Some(tx))
        .problem(422);
    let tx = json!({"chain": "bitcoin", "asset": "BTC", "direction": "deposit", "txid": "00".repeat(32), "vout": 0});
    s.call(&k, "POST", "/v1/screen/transfer", Some(tx))
        .problem(404);
    let tx = json!({"chain": "bitcoin", "asset": "ETH", "direction": "deposit", "txid": "00".repeat(32), "vout": 0});
    s.call(&k, "POST", "/v1/screen/transfer", Some(tx))
        .problem(422);
    // EVM addresses: a wrong EIP-55 checksum (mixed case, one letter's case
    // flipped), a wrong length, non-hex digits, no 0x; each a 422 naming it
    let eth = |a: &str| json!({"chain": "ethereum", "address": a});
    for (bad, says) in [
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "EIP-55"),
        ("0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea", "40 hex digits"),
        (
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed00",
            "40 hex digits",
        ),
        (
            "0xzaaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            "40 hex digits",
        ),
        ("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "0x"),
    ] {
        let p = s
            .call(&k, "POST", "/v1/screen/address", Some(eth(bad)))
            .problem(422);
        assert!(p["detail"].as_str().unwrap().contains(says), "{bad}: {p}");
        s.call(
            &k,
            "POST",
            "/v1/tags",
            Some(json!({"chain": "ethereum", "address": bad, "category": "theft", "label": "x"})),
        )
        .problem(422);
    }
    // the same address lower-case, upper-case and checksummed is accepted
    for good in [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED",
    ] {
        let a = s.ok(&k, "POST", "/v1/screen/address", Some(eth(good)));
        assert_eq!(a["address"], "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
    }
    // EVM transfers: a bad hash, Bitcoin's vout, a non-decimal amount; and
    // no ethereum store in this data directory is a 404 that says so
    let etx = |extra: Value| {
        let mut v = json!({"chain": "ethereum", "asset": "ETH", "direction": "deposit", "txid": format!("0x{}", "ab".repeat(32))});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    let p = s
        .call(
            &k,
            "POST",
            "/v1/screen/transfer",
            Some(etx(json!({"txid": "0x1234"}))),
        )
        .problem(422);
    assert!(p["detail"].as_str().unwrap().contains("64 hex digits"));
    s.call(
        &k,
        "POST",
        "/v1/screen/transfer",
        Some(etx(json!({"vout": 0}))),
    )
    .problem(422);
    s.call(
        &k,
        "POST",
        "/v1/screen/transfer",
        Some(etx(json!({"amount": "1.5"}))),
    )
    .problem(422);
    s.call(
        &k,
        "POST",
        "/v1/screen/transfer",
        Some(etx(
            json!({"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"}),
        )),
    )
    .problem(422);
    let p = s
        .call(&k, "POST", "/v1/screen/transfer", Some(etx(json!({}))))
        .problem(404);
    assert!(p["detail"].as_str().unwrap().contains("ingest evm"));
    s.call(&k, "POST", "/v1/traces", Some(json!({"chain": "ethereum", "from": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "direction": "forward"})))
        .problem(422);
    // oversized batch
    let items: Vec<Value> = (0..1001).map(|_| json!({"kind": "address", "chain": "bitcoin", "address": "bcrt1qnu4mxq8fdlqpuw3ejjxxzzwas2we9mzxzw5mnh"})).collect();
    let p = s
        .call(
            &k,
            "POST",
            "/v1/screen/batch",
            Some(json!({"items": items})),
        )
        .problem(422);
    assert!(p["detail"].as_str().unwrap().contains("1000"));
    s.call(&k, "POST", "/v1/screen/batch", Some(json!({"items": []})))
        .problem(422);
    // a body over the limit (the test server allows 300,000 bytes)
    let big = format!(
        "{{\"chain\":\"bitcoin\",\"address\":\"{}\"}}",
        "a".repeat(400_000)
    );
    post("/v1/screen/address", &big, "application/json").problem(413);
    // bad path and query parameters
    s.call(&k, "GET", "/v1/screenings/abc", None).problem(400);
    s.call(&k, "GET", "/v1/screenings?limit=0", None)
        .problem(422);
    s.call(&k, "GET", "/v1/screenings?limit=x", None)
        .problem(400);
    s.call(&k, "GET", "/v1/entities/dogecoin/0xabc", None)
        .problem(400);
    s.call(&k, "GET", "/v1/entities/ethereum/0xabc", None)
        .problem(422);
    // unknown endpoint and method
    s.call(&k, "GET", "/v2/nothing", None).problem(404);
    s.call(&k, "DELETE", "/v1/screen/address", None)
        .problem(405);
    // no key, a malformed key, an unknown key: nothing but /health answers
    for path in ["/v1/screenings", "/openapi.json", "/v2/nothing", "/docs"] {
        raw(&s.addr, "GET", path, &[], b"").problem(401);
    }
    let bad = format!("chk_0123456789abcdef_{}", "0".repeat(64));
    s.call(&bad, "GET", "/v1/screenings", None).problem(401);
    s.call("chk_short", "GET", "/v1/screenings", None)
        .problem(401);
    let (id, _) = k.strip_prefix("chk_").unwrap().split_once('_').unwrap();
    let wrong = format!("chk_{id}_{}", "0".repeat(64));
    s.call(&wrong, "GET", "/v1/screenings", None).problem(401);
    // roles: integration screens only
    let integ = s.key("acme", "integration", 100_000);
    s.ok(
        &integ,
        "POST",
        "/v1/screen/address",
        Some(addr("bcrt1qnu4mxq8fdlqpuw3ejjxxzzwas2we9mzxzw5mnh")),
    );
    s.call(&integ, "GET", "/v1/screenings", None).problem(403);
    s.call(
        &integ,
        "POST",
        "/v1/tags",
        Some(json!({"chain": "bitcoin", "address": "x", "category": "theft", "label": "l"})),
    )
    .problem(403);
    let analyst = s.key("acme", "analyst", 100_000);
    s.call(&analyst, "GET", "/v1/audit", None).problem(403);
    s.call(&analyst, "GET", "/v1/keys", None).problem(403);
    // a key cannot revoke itself
    s.call(&k, "DELETE", &format!("/v1/keys/{id}"), None)
        .problem(409);
    // rate limit: 1 request/s, burst 2: within a few quick requests one is
    // refused with 429 and a Retry-After
    let slow = s.key("acme", "integration", 1);
    let limited = (0..10)
        .map(|_| {
            s.call(
                &slow,
                "POST",
                "/v1/screen/address",
                Some(addr("bcrt1qnu4mxq8fdlqpuw3ejjxxzzwas2we9mzxzw5mnh")),
            )
        })
        .find(|r| r.status != 200)
        .expect("the rate limit refuses a request");
    limited.problem(429);
    assert!(limited.header("retry-after").is_some());
    // revocation from the CLI while the server runs (key cached by now)
    s.ok(&analyst, "GET", "/v1/screenings", None);
    let (aid, _) = analyst
        .strip_prefix("chk_")
        .unwrap()
        .split_once('_')
        .unwrap();
    util::ok(&s.data, &["keys", "revoke", aid]);
    wait_for("the revocation", || {
        s.call(&analyst, "GET", "/v1/screenings", None).status == 401
    });
    s.call(&analyst, "GET", "/v1/screenings", None).problem(401);
    // revocation through the API
    let other = s.ok(&k, "POST", "/v1/keys", Some(json!({"role": "analyst"})));
    let other_key = other["secret"].as_str().unwrap().to_string();
    s.ok(&other_key, "GET", "/v1/screenings", None);
    s.ok(
        &k,
        "DELETE",
        &format!("/v1/keys/{}", other["key"]["id"].as_str().unwrap()),
        None,
    );
    s.call(&other_key, "GET", "/v1/screenings", None)
        .problem(401);
    // bad policies
    s.call(&k, "PUT", "/v1/policy", Some(json!({"name": "p", "version": 1, "rules": [{"category": "x", "direction": "any", "max_hops": 0, "min_share_ppm": 2000000, "level": "HIGH"}]}))).problem(422);
    s.call(&k, "PUT", "/v1/policy", Some(json!({"name": "p", "version": 1, "rules": [{"category": "x", "direction": "any", "max_hops": 0, "min_share_ppm": 1, "level": "PANIC"}]}))).problem(422);
    // after all that, the server still answers
    assert_eq!(raw(&s.addr, "GET", "/health", &[], b"").status, 200);
}

#[test]
fn audit_log_is_chained_and_tampering_is_named() {
    let (tmp, data) = Server::prepare();
    let mut s = Server::start(tmp, data);
    let k = s.key("acme", "analyst", 100_000);
    for _ in 0..5 {
        s.ok(&k, "POST", "/v1/screen/address", Some(json!({"chain": "bitcoin", "address": "bcrt1qnu4mxq8fdlqpuw3ejjxxzzwas2we9mzxzw5mnh"})));
    }
    s.call(&k, "GET", "/v1/screenings/99", None).problem(404);
    let _ = s.child.kill();
    let _ = s.child.wait();
    let out = util::ok(&s.data, &["--json", "audit", "verify"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(
        v["entries"], 8,
        "the tenant and key made from the command line, and every answered request (the 404 too)"
    );
    assert_eq!(v["registry_changes_pending"], 0);
    let shown = util::ok(&s.data, &["--json", "audit", "show", "--tenant", "acme"]);
    let e: Value = serde_json::from_str(&shown).unwrap();
    // Made with `keys create` while the server ran: audited by the server
    // before the first request with the key.
    assert_eq!(e[0]["action"], "tenants.create");
    assert_eq!(e[0]["key"], "cli");
    assert_eq!(e[0]["change"], 1);
    assert_eq!(e[1]["action"], "keys.create");
    assert_eq!(e[1]["change"], 2);
    let id = k.strip_prefix("chk_").unwrap().split_once('_').unwrap().0;
    assert!(e[1]["target"].as_str().unwrap().starts_with(id), "{}", e[1]);
    assert_eq!(e[2]["action"], "screen.address");
    assert_eq!(e[7]["status"], 404);
    // A revocation while no server runs is pending until the next one
    // starts, and `audit verify` says so.
    util::ok(&s.data, &["keys", "revoke", id]);
    let out = util::ok(&s.data, &["--json", "audit", "verify"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["registry_changes_pending"], 1);
    assert!(util::ok(&s.data, &["audit", "verify"]).contains("not in the log yet"));
    // change one byte of the third entry's target
    let path = s.data.join("serve/audit.log");
    let mut bytes = std::fs::read(&path).unwrap();
    let third = bytes
        .split(|&b| b == b'\n')
        .take(2)
        .map(|l| l.len() + 1)
        .sum::<usize>();
    let at = third
        + bytes[third..]
            .windows(8)
            .position(|w| w == b"bcrt1qnu")
            .unwrap()
        + 6;
    bytes[at] = b'x';
    std::fs::write(&path, &bytes).unwrap();
    let err = util::fails(&s.data, &["audit", "verify"]);
    assert!(err.contains("entry 3"), "{err}");
}

#[test]
fn command_line_key_changes_reach_the_audit_log() {
    let (tmp, data) = Server::prepare();
    // Made before the server starts: audited when it starts.
    let k = key(&data, "acme", "admin", 1000);
    let mut s = Server::start(tmp, data);
    // Oldest first (the API lists the newest first).
    let audit = |s: &Server| -> Vec<Value> {
        let mut e = s.ok(&k, "GET", "/v1/audit?limit=1000", None)["entries"]
            .as_array()
            .unwrap()
            .clone();
        e.sort_by_key(|x| x["seq"].as_u64());
        e
    };
    let e = audit(&s);
    let actions: Vec<&str> = e.iter().map(|x| x["action"].as_str().unwrap()).collect();
    assert_eq!(&actions[..2], ["tenants.create", "keys.create"], "{e:?}");
    // Revoked from the command line while the server runs: audited within
    // the server's watch interval, without any request.
    let other = s.key("acme", "analyst", 1000);
    let oid = other
        .strip_prefix("chk_")
        .unwrap()
        .split_once('_')
        .unwrap()
        .0
        .to_string();
    util::ok(&s.data, &["keys", "revoke", &oid]);
    wait_for("the revocation in the audit log", || {
        audit(&s).iter().any(|x| {
            x["action"] == "keys.revoke"
                && x["key"] == "cli"
                && x["target"].as_str().unwrap().starts_with(&oid)
        })
    });
    // Each change is audited once, also across a restart.
    s.restart();
    let e = audit(&s);
    let changes: Vec<u64> = e.iter().filter_map(|x| x["change"].as_u64()).collect();
    assert_eq!(changes, [1, 2, 3, 4], "{e:?}");
}
