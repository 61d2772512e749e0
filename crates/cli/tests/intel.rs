//! `chainhound import ofac|tagpacks|csv` and `chainhound tags list|sources`,
//! end to end on the real data.

mod util;

use std::collections::BTreeSet;
use std::fs;

use serde_json::Value;
use util::{chainhound, fails, ok, shared};

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[test]
fn ofac_lists_then_xml_reports_delistings_and_lazarus() {
    let (Some(lists), Some(sdn)) = (
        shared("ofac-sdn/0xb10c-lists"),
        shared("ofac-sdn/sdn_advanced_2025-11-19.xml.bz2"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let first = json(&ok(
        data,
        &["import", "ofac", lists.to_str().unwrap(), "--json"],
    ));
    assert_eq!(first["kind"], "ofac-lists");
    assert_eq!(first["previous_edition"], Value::Null);
    let second = json(&ok(
        data,
        &[
            "import",
            "ofac",
            sdn.to_str().unwrap(),
            "--json",
            "--show",
            "100000",
        ],
    ));
    assert_eq!(second["edition"], "2025-11-19");
    assert_eq!(second["tags"], 761);
    assert_eq!(second["previous_edition"], "lists 0xb10c-lists");
    let (added, delisted) = (
        second["added"].as_i64().unwrap(),
        second["delisted"].as_i64().unwrap(),
    );
    assert_eq!(
        added - delisted,
        761 - first["tags"].as_i64().unwrap(),
        "{second}"
    );
    let gone: BTreeSet<&str> = second["delisted_listed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["address"].as_str().unwrap())
        .collect();
    assert_eq!(gone.len() as i64, delisted);
    // two Tornado Cash pool contracts (the 2022-08-08 designation), delisted in 2025
    for a in [
        "0x8589427373d6d84e98730d7795d8f6f8731fda16",
        "0x722122df12d4e14e13ac3b6895a86e84145b6967",
    ] {
        assert!(gone.contains(a), "{a} not delisted");
    }
    let eth = second["by_chain"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chain"] == "eth")
        .unwrap();
    assert_eq!(eth["delisted"].as_i64().unwrap(), delisted);

    let list = json(&ok(
        data,
        &[
            "tags",
            "list",
            "--address",
            "0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
            "--json",
        ],
    ));
    assert_eq!(list["total"], 1);
    let t = &list["tags"][0];
    assert_eq!(t["label"], "Lazarus Group");
    assert_eq!(t["chain"], "eth");
    assert_eq!(t["category"], "sanction");
    assert_eq!(t["tlp"], "clear");
    assert_eq!(t["provenance"]["kind"], "ofac");
    assert_eq!(t["provenance"]["profile_id"], 27307);
    assert_eq!(t["provenance"]["programs"], serde_json::json!(["DPRK3"]));
    assert_eq!(t["provenance"]["designated"], "2019-09-13");

    // text output of a lookup
    let text = ok(
        data,
        &[
            "tags",
            "list",
            "--address",
            "0x098b716b8aaf21512996dc57eb0615e2383e2f96",
        ],
    );
    assert!(
        text.contains("Lazarus Group") && text.contains("DPRK3"),
        "{text}"
    );

    // the sources table
    let sources = json(&ok(data, &["tags", "sources", "--json"]));
    assert_eq!(sources.as_array().unwrap().len(), 1);
    assert_eq!(sources[0]["name"], "ofac");
    assert_eq!(sources[0]["edition"], "2025-11-19");
    assert_eq!(sources[0]["tags"], 761);
    assert_eq!(sources[0]["input_sha256"].as_str().unwrap().len(), 64);
    let text = ok(data, &["tags", "sources"]);
    assert!(
        text.contains("ofac") && text.contains("2025-11-19") && text.contains("761"),
        "{text}"
    );
}

#[test]
fn tagpacks_and_csv_side_by_side() {
    let Some(packs) = shared("graphsense-tagpacks/graphsense-tagpacks-packs-actors.tar.xz") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let r = json(&ok(
        &data,
        &[
            "import",
            "tagpacks",
            packs.to_str().unwrap(),
            "--json",
            "--show",
            "0",
        ],
    ));
    assert_eq!(r["tags"], 524_170);
    assert_eq!(r["added"], 524_170);
    assert_eq!(r["source"], "graphsense");

    // an analyst's own case file tags one of the FBI's Lazarus addresses too
    let csv = tmp.path().join("case.csv");
    fs::write(
        &csv,
        "address,label,category,actor,country,source,confidence\n\
         3LU8wRu4ZnXP4UM8Yo6kkTiGHM9BubgyiG,Bitkub deposit (case 2024-17),exchange,bitkub,TH,case 2024-17,service_data\n",
    )
    .unwrap();
    let r = json(&ok(
        &data,
        &[
            "import",
            "csv",
            csv.to_str().unwrap(),
            "--source",
            "case-2024-17",
            "--json",
        ],
    ));
    assert_eq!(r["tags"], 1);
    let list = json(&ok(
        &data,
        &[
            "tags",
            "list",
            "--address",
            "3LU8wRu4ZnXP4UM8Yo6kkTiGHM9BubgyiG",
            "--json",
        ],
    ));
    let labels: BTreeSet<(&str, &str)> = list["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["source"].as_str().unwrap(), t["label"].as_str().unwrap()))
        .collect();
    assert_eq!(
        labels,
        BTreeSet::from([
            ("case-2024-17", "Bitkub deposit (case 2024-17)"),
            ("graphsense", "Lazarus group"),
        ])
    );
    let gs = list["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["source"] == "graphsense")
        .unwrap();
    assert_eq!(gs["actor"], "lazarusgroup");
    assert_eq!(gs["provenance"]["actor_label"], "Lazarus Group");
    assert_eq!(gs["provenance"]["file"], "packs/lazarus2.yaml");

    // filters
    let mixers = json(&ok(
        &data,
        &[
            "tags",
            "list",
            "--category",
            "mixing_service",
            "--limit",
            "3",
            "--json",
        ],
    ));
    assert_eq!(mixers["shown"], 3);
    assert!(mixers["total"].as_u64().unwrap() > 3);
    for t in mixers["tags"].as_array().unwrap() {
        assert_eq!(t["category"], "mixing_service");
    }
    let eth = json(&ok(
        &data,
        &[
            "tags",
            "list",
            "--source",
            "graphsense",
            "--chain",
            "eth",
            "--limit",
            "1",
            "--json",
        ],
    ));
    assert_eq!(eth["tags"][0]["chain"], "eth");
    let e = fails(&data, &["tags", "list", "--source", "nope"]);
    assert!(e.contains("no source \"nope\""), "{e}");
    let sources = json(&ok(&data, &["tags", "sources", "--json"]));
    let names: Vec<&str> = sources
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["case-2024-17", "graphsense"]);
}

#[test]
fn a_broken_edition_is_an_error_and_the_old_one_stays() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let good = tmp.path().join("good.csv");
    fs::write(
        &good,
        "address,label,category\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,genesis,miner\n\
         1BoatSLRHtKNngkdXEeobR76b53LETtpyT,boat,exchange\n",
    )
    .unwrap();
    ok(
        &data,
        &["import", "csv", good.to_str().unwrap(), "--source", "mine"],
    );
    let before = ok(&data, &["tags", "list", "--json"]);
    let bad = tmp.path().join("bad.csv");
    fs::write(
        &bad,
        "address,label,category,confidence\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,genesis,miner,ownership\n\
         1BoatSLRHtKNngkdXEeobR76b53LETtpyT,boat,exchange,sure\n",
    )
    .unwrap();
    let e = fails(
        &data,
        &["import", "csv", bad.to_str().unwrap(), "--source", "mine"],
    );
    assert!(
        e.contains("bad.csv") && e.contains("line 3") && e.contains("field \"confidence\""),
        "{e}"
    );
    assert_eq!(e.trim().lines().count(), 1, "one line on stderr: {e}");
    assert_eq!(ok(&data, &["tags", "list", "--json"]), before);
    // a source name is required and checked
    let r = chainhound(&data, &["import", "csv", good.to_str().unwrap()]);
    assert!(!r.ok);
    let e = fails(
        &data,
        &[
            "import",
            "csv",
            good.to_str().unwrap(),
            "--source",
            "Bad Name",
        ],
    );
    assert!(e.contains("bad source name"), "{e}");
    // an empty store lists nothing, politely
    let empty = tmp.path().join("empty");
    let text = ok(&empty, &["tags", "sources"]);
    assert!(text.contains("no sources imported"), "{text}");
}
