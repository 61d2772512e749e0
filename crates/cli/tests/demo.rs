//! `chainhound demo` runs end to end and its figures agree with the
//! simulator's ground truth and with the store.

mod util;

use util::ok;

#[test]
fn demo_reports_the_incident() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(
        tmp.path(),
        &["demo", "--txs", "15000", "--seed", "4", "--json"],
    );
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let chain = std::path::PathBuf::from(j["chain_dir"].as_str().unwrap());
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(chain.join("truth.json")).unwrap()).unwrap();
    let inc = &truth["incident"];
    assert_eq!(j["txs"], truth["txs"]);
    assert_eq!(j["stolen_sat"], inc["stolen_sats"]);
    assert_eq!(j["theft_txids"], inc["theft_txids"]);
    assert!(!j["drained"].as_array().unwrap().is_empty());
    // every laundering tx lies downstream of the theft along spender links
    assert_eq!(
        j["truth_laundering_seen_downstream"],
        j["truth_laundering_txs"]
    );
    assert!(j["downstream_txs"].as_u64().unwrap() >= j["truth_laundering_txs"].as_u64().unwrap());
    // running it again reuses the chain and the store: same answers
    let again: serde_json::Value = serde_json::from_str(&ok(
        tmp.path(),
        &["demo", "--txs", "15000", "--seed", "4", "--json"],
    ))
    .unwrap();
    assert_eq!(again["first_hops"], j["first_hops"]);
    assert_eq!(again["downstream_txs"], j["downstream_txs"]);
    // a different seed in the same store is refused rather than mixed
    let r = util::chainhound(tmp.path(), &["demo", "--txs", "15000", "--seed", "5"]);
    assert!(
        !r.ok && r.stderr.contains("different simulated chain"),
        "{}",
        r.stderr
    );
    // the human output names the victim and the theft tx
    let text = ok(tmp.path(), &["demo", "--txs", "15000", "--seed", "4"]);
    assert!(text.contains(inc["victim_name"].as_str().unwrap()));
    assert!(text.contains(inc["theft_txids"][0].as_str().unwrap()));
}
