//! `cluster`, `entity`, `explain` and `export clusters` end to end on a
//! small simulated chain; and a SIGKILL during clustering loses nothing.

mod util;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::{chainhound, fails, ingest_args, ok, simulate};

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `(address, entity id)` rows of an export, in address-id order.
fn export_rows(data: &Path, file: &Path) -> Vec<(String, u32)> {
    ok(data, &["export", "clusters", file.to_str().unwrap()]);
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("address,entity_id"));
    lines
        .map(|l| {
            let (a, e) = l.split_once(',').unwrap();
            (a.to_string(), e.parse().unwrap())
        })
        .collect()
}

/// `address -> entity id` from an export.
fn export(data: &Path, file: &Path) -> HashMap<String, u32> {
    export_rows(data, file).into_iter().collect()
}

#[test]
fn cluster_entity_explain_export() {
    let tmp = tempfile::tempdir().unwrap();
    let truth = simulate(tmp.path(), "20000", "4");
    let data = tmp.path().join("data");
    // ingest clusters as it goes
    let r = json(&ok(
        &data,
        &[&args(&ingest_args(tmp.path()))[..], &["--json"]].concat(),
    ));
    assert_eq!(r["clustered_blocks"], truth["blocks"]);
    let c = json(&ok(&data, &["cluster", "--json"]));
    assert_eq!(c["covered_blocks"], truth["blocks"]);
    assert_eq!(c["blocks_added"], 0);
    assert_eq!(c["heuristics"], "multi-input");
    assert!(c["unions"]["multi-input"].as_u64().unwrap() > 1000);
    assert!(c["flagged"]["whirlpool"].as_u64().unwrap() > 0);

    // export: every address, entity ids are the smallest member's id
    let rows = export_rows(&data, &tmp.path().join("clusters.csv"));
    for (i, (_, e)) in rows.iter().enumerate() {
        assert!(*e as usize <= i, "entity ids are the smallest member's id");
        assert_eq!(rows[*e as usize].1, *e);
    }
    let map: HashMap<String, u32> = rows.iter().cloned().collect();
    assert_eq!(map.len() as u64, c["addresses"].as_u64().unwrap());
    let mut sizes: HashMap<u32, usize> = HashMap::new();
    for e in map.values() {
        *sizes.entry(*e).or_default() += 1;
    }
    assert_eq!(sizes.len() as u64, c["entities"].as_u64().unwrap());

    // the victim's hot wallet: by address and by entity id, the same view
    let hot = truth["incident"]["hot_wallet_addresses"][0]
        .as_str()
        .unwrap();
    let v = json(&ok(&data, &["entity", hot, "--json"]));
    let id = v["entity_id"].as_u64().unwrap() as u32;
    assert_eq!(map[hot], id);
    assert_eq!(v["addresses"].as_u64().unwrap() as usize, sizes[&id]);
    assert!(!v["counterparties"].as_array().unwrap().is_empty());
    assert!(v["first_activity"]["height"].as_u64().is_some());
    let by_id = json(&ok(&data, &["entity", &id.to_string(), "--json"]));
    assert_eq!(by_id, v);
    let text = ok(&data, &["entity", hot]);
    assert!(text.contains(&format!("entity {id}:")), "{text}");
    assert!(text.contains("top counterparties"), "{text}");

    // an address id that is not the smallest of its cluster is no entity id
    let (big, _) = sizes.iter().max_by_key(|x| (*x.1, *x.0)).unwrap();
    let member = rows
        .iter()
        .enumerate()
        .position(|(i, (_, e))| *e != i as u32)
        .unwrap();
    let err = fails(&data, &["entity", &member.to_string()]);
    assert!(err.contains("not an entity id"), "{err}");

    // explain two addresses of the largest entity: a chain of re-checked links
    let members: Vec<&String> = map
        .iter()
        .filter(|(_, e)| **e == *big)
        .map(|(a, _)| a)
        .collect();
    let (a, b) = (members[0], members[members.len() - 1]);
    let x = json(&ok(&data, &["explain", a, b, "--json"]));
    assert_eq!(x["same_entity"], true);
    let links = x["links"].as_array().unwrap();
    assert!(!links.is_empty());
    assert_eq!(links[0]["from"], a.as_str());
    assert_eq!(links[links.len() - 1]["to"], b.as_str());
    for w in links.windows(2) {
        assert_eq!(w[0]["to"], w[1]["from"]);
    }
    for l in links {
        assert_eq!(l["verified"], true, "{l}");
        assert_eq!(l["heuristic"], "multi-input");
    }
    let text = ok(&data, &["explain", a, b]);
    assert!(
        text.contains("re-checked against the store: holds"),
        "{text}"
    );
    // two entities: no path
    let other = map.iter().find(|(_, e)| **e != *big).unwrap().0;
    let x = json(&ok(&data, &["explain", a, other, "--json"]));
    assert_eq!(x["same_entity"], false);
    assert!(x["links"].as_array().unwrap().is_empty());
    assert!(ok(&data, &["explain", a, other]).contains("different entities"));

    // a tag on the hot wallet shows in its entity view
    let csv = tmp.path().join("tags.csv");
    std::fs::write(
        &csv,
        format!("address,label,category,actor\n{hot},Victim hot wallet,exchange,victim-exchange\n"),
    )
    .unwrap();
    let edition = chainhound_intel::import::csv::load(
        &csv,
        &chainhound_intel::import::csv::CsvOptions::new("casefile"),
    )
    .unwrap();
    chainhound_intel::TagWriter::open(data.join("intel"))
        .unwrap()
        .import(edition, &chainhound_intel::ImportOptions::default())
        .unwrap();
    let v = json(&ok(&data, &["entity", hot, "--json"]));
    let tags = v["tags"].as_array().unwrap();
    assert_eq!(tags.len(), 1, "{v}");
    assert_eq!(tags[0]["label"], "Victim hot wallet");
    assert_eq!(tags[0]["addresses"], 1);

    // the supercluster guard at a tiny threshold reports merges
    let c = json(&ok(&data, &["cluster", "--guard-min-size", "2", "--json"]));
    assert_eq!(c["guard_min_size"], 2);
    let s = json(&ok(&data, &["entity", "--superclusters", "--json"]));
    let events = s["events"].as_array().unwrap();
    assert_eq!(events.len() as u64, c["superclusters"].as_u64().unwrap());
    assert!(!events.is_empty());
    assert!(events
        .iter()
        .all(|e| e["size_from"].as_u64().unwrap() >= 2 && e["size_to"].as_u64().unwrap() >= 2));
    assert!(ok(&data, &["entity", "--superclusters"]).contains("supercluster events"));

    // another heuristic set recomputes, and is then the stored choice
    let c = json(&ok(
        &data,
        &[
            "cluster",
            "--heuristics",
            "multi-input,change-peel",
            "--json",
        ],
    ));
    assert_eq!(c["heuristics"], "multi-input,change-peel");
    assert_eq!(c["blocks_dropped"], truth["blocks"]);
    assert!(c["unions"]["change-peel"].as_u64().unwrap() > 0);
    let c = json(&ok(&data, &["cluster", "--json"]));
    assert_eq!(c["heuristics"], "multi-input,change-peel");
    assert_eq!(c["blocks_added"], 0);
    let err = fails(&data, &["cluster", "--heuristics", "multi-input,telepathy"]);
    assert!(err.contains("unknown heuristic"), "{err}");
    // bad input is an error, not a panic
    assert!(fails(&data, &["entity", "not-an-address"]).contains("error"));
    assert!(fails(&data, &["explain", a, "bcrt1qxyz"]).contains("error"));
}

fn generation(data: &Path) -> u64 {
    std::fs::read(data.join("btc/entities/MANIFEST"))
        .ok()
        .and_then(|b| Some(u64::from_le_bytes(b.get(8..16)?.try_into().ok()?)))
        .unwrap_or(0)
}

#[test]
fn sigkill_while_clustering_then_resume_gives_identical_clusters() {
    let tmp = tempfile::tempdir().unwrap();
    simulate(tmp.path(), "30000", "12");
    let mut ingest = ingest_args(tmp.path());
    ingest.extend(["--commit-every".to_string(), "2".to_string()]);
    let clean = tmp.path().join("clean");
    ok(&clean, &args(&ingest));
    let want = export(&clean, &tmp.path().join("want.csv"));

    let data = tmp.path().join("killed");
    let mut kills = 0;
    for round in 0..3u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chainhound"))
            .arg("--data")
            .arg(&data)
            .arg("--quiet")
            .args(&ingest)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let target = generation(&data) + 3 + round * 5;
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut finished = false;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            if generation(&data) >= target {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if !finished {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills >= 1, "the ingest finished before it could be killed");
    // the clusters read after the kills (they may lag the store)
    let r = chainhound(&data, &["cluster", "--json"]);
    assert!(r.ok, "{}", r.stderr);
    ok(&data, &args(&ingest));
    let got = export(&data, &tmp.path().join("got.csv"));
    assert_eq!(got.len(), want.len());
    assert!(got == want, "clusters differ after {kills} kills");
}
