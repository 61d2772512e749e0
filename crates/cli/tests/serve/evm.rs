//! Ethereum through the screening API, on the real ethereum-etl export in
//! ../shared/data/eth-etl-transactions-raphtory: an OFAC-style CSV lists one
//! real account, and the API must find the sanctions hit whatever the case,
//! the exposure of a deposit two hops downstream with its evidence path, a
//! detected exchange deposit address, and keep private tags per tenant.

use serde_json::{json, Value};

use crate::http::*;
use crate::util;

/// A real account of the export, listed below as if sanctioned (EIP-55).
const LISTED: &str = "0x7363f0F6ae82CfF55835c76713531784652c121C";
/// It paid 553.87 ETH to `MIDDLE` in `TX1`; `MIDDLE` had received nothing
/// else when it paid 92.65 ETH to `DEPOSIT` in `TX2`.
const MIDDLE: &str = "0xba0900252160472e64dd1a296e80d24c9fead74e";
const DEPOSIT: &str = "0x14557aa247a69f3e2af32d50bd79dd06d3166bb8";
const TX1: &str = "0xb0598b5c789b23c15d7d91032df04575b839ad2a56eaae0041d79a58f621e36b";
const TX2: &str = "0x23d06a64173bda7015d746d608b3db925abce1851e54f85bf637245bacc4e3c8";
const TX2_WEI: &str = "92646636460000000000";
/// An account of the export that only ever sent USDT (to Binance 14).
const USDT_SENDER: &str = "0x4941834eD1428089EE76252F6F9D767e800499b0";

fn prepare() -> Option<Server> {
    let export = util::shared("eth-etl-transactions-raphtory")?;
    let (tmp, data) = Server::prepare();
    util::ok(
        &data,
        &["ingest", "evm", "--etl-csv", export.to_str().unwrap()],
    );
    let csv = tmp.path().join("sdn-eth.csv");
    std::fs::write(
        &csv,
        format!(
            "address,label,category,currency,source\n\
             {LISTED},TEST LISTING (ETH),sanction,ETH,https://example.org/sdn\n\
             {USDT_SENDER},TEST LISTING (USDT),sanction,USDT,https://example.org/sdn\n"
        ),
    )
    .unwrap();
    util::ok(
        &data,
        &[
            "import",
            "csv",
            "--source",
            "sdn-test",
            csv.to_str().unwrap(),
        ],
    );
    Some(Server::start(tmp, data))
}

/// The first address OFAC lists on `chain` (as `tags list --chain` names it).
fn first_listed(data: &std::path::Path, chain: &str) -> String {
    let out = util::ok(
        data,
        &[
            "tags", "list", "--source", "ofac", "--chain", chain, "--limit", "1", "--json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    v["tags"][0]["address"].as_str().unwrap().to_string()
}

/// `POST /v1/screen/address` of `address` on `chain`.
fn screen_on(s: &Server, key: &str, chain: &str, address: &str) -> Resp {
    s.call(
        key,
        "POST",
        "/v1/screen/address",
        Some(json!({"chain": chain, "address": address})),
    )
}

/// `POST /v1/screen/transfer` of a transaction the store cannot have
/// (txid all zeros) on `chain`: the detail of the expected `status`.
fn refused_transfer(s: &Server, key: &str, status: u16, body: Value) -> String {
    let t = s.call(key, "POST", "/v1/screen/transfer", Some(body));
    t.problem(status)["detail"].as_str().unwrap().to_string()
}

/// `POST /v1/traces`: a forward trace from `from` on `chain`.
fn start_trace(s: &Server, key: &str, chain: &str, from: &str) -> Resp {
    s.call(
        key,
        "POST",
        "/v1/traces",
        Some(json!({"chain": chain, "from": from, "direction": "forward"})),
    )
}

fn categories(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect()
}

#[test]
fn ethereum_screening_on_real_data() {
    let Some(s) = prepare() else { return };
    let k = s.key("acme", "analyst", 100_000);
    let screen = |a: &str| {
        s.ok(
            &k,
            "POST",
            "/v1/screen/address",
            Some(json!({"chain": "ethereum", "address": a})),
        )
    };
    // The listing matches in every spelling: checksummed, lower, upper.
    let upper = format!("0x{}", LISTED[2..].to_ascii_uppercase());
    for spelling in [LISTED.to_string(), LISTED.to_ascii_lowercase(), upper] {
        let a = screen(&spelling);
        assert_eq!(a["chain"], "ethereum");
        assert_eq!(a["address"], LISTED.to_ascii_lowercase());
        assert_eq!(a["sanctioned"], true, "{a}");
        assert_eq!(a["risk"], "SEVERE");
        assert_eq!(a["on_chain"], true);
        assert_eq!(categories(&a["categories"]), ["sanction"]);
        assert_eq!(a["tags"][0]["source"], "sdn-test");
    }
    // A USDT-only account on the list.
    let a = screen(&USDT_SENDER.to_ascii_lowercase());
    assert_eq!(
        (a["sanctioned"].as_bool(), a["on_chain"].as_bool()),
        (Some(true), Some(true))
    );
    // The deposit address: detected from its forwards to Poloniex's hot wallet.
    let a = screen(DEPOSIT);
    assert_eq!(a["risk"], "LOW");
    assert_eq!(categories(&a["categories"]), ["exchange"]);
    let t = &a["tags"][0];
    assert_eq!(t["source"], "deposit-detection");
    assert!(t["label"].as_str().unwrap().contains("Poloniex"), "{a}");

    // The deposit of TX2: its sender got everything it sent from the
    // listed account one hop earlier; haircut taints all of it.
    let d = s.ok(
        &k,
        "POST",
        "/v1/screen/transfer",
        Some(
            json!({"chain": "ethereum", "asset": "ETH", "direction": "deposit",
                    "txid": TX2, "address": DEPOSIT, "amount": TX2_WEI}),
        ),
    );
    assert_eq!(d["amount"], TX2_WEI);
    assert_eq!(d["counterparties"][0]["address"], MIDDLE);
    assert_eq!(d["direct_exposure"], json!([]));
    assert_eq!(d["indirect"]["status"], "computed", "{d}");
    let ind = &d["indirect_exposure"][0];
    assert_eq!(ind["category"], "sanction");
    assert_eq!(ind["hops"], 1);
    assert_eq!(ind["share_ppm"], 1_000_000);
    assert_eq!(ind["amount"], TX2_WEI);
    assert_eq!(ind["address"], LISTED.to_ascii_lowercase());
    assert!(ind["source"].as_str().unwrap().starts_with("sdn-test"));
    let path = d["evidence"][0]["hops"].as_array().unwrap();
    assert_eq!(path.len(), 2);
    assert_eq!(
        (path[0]["txid"].as_str(), path[0]["address"].as_str()),
        (Some(TX1), Some(MIDDLE))
    );
    assert_eq!(
        (path[1]["txid"].as_str(), path[1]["address"].as_str()),
        (Some(TX2), Some(DEPOSIT))
    );
    assert_eq!(d["risk"], "SEVERE");
    assert_eq!(d["sanctioned"], true);
    // A wrong amount is refused.
    s.call(
        &k,
        "POST",
        "/v1/screen/transfer",
        Some(json!({"chain": "ethereum", "asset": "ETH", "direction": "deposit", "txid": TX2, "amount": "1"})),
    )
    .problem(422);
    // The deposit of TX1 comes straight from the listed account: direct.
    let d1 = s.ok(
        &k,
        "POST",
        "/v1/screen/transfer",
        Some(json!({"chain": "ethereum", "asset": "eth", "direction": "deposit", "txid": TX1})),
    );
    assert_eq!(d1["direct_exposure"][0]["category"], "sanction");
    assert_eq!(d1["direct_exposure"][0]["hops"], 0);
    assert_eq!(d1["indirect_exposure"], json!([]));
    assert_eq!(d1["risk"], "SEVERE");
    // TX1 as a withdrawal to MIDDLE: the walk forward from the beneficiary
    // is bounded (6 hops, 20,000 transfers) and says when it was cut; every
    // item it reports has a path starting with the screened transfer.
    let w = s.ok(
        &k,
        "POST",
        "/v1/screen/transfer",
        Some(json!({"chain": "ethereum", "asset": "ETH", "direction": "withdrawal", "txid": TX1, "address": MIDDLE})),
    );
    assert_eq!(w["counterparties"][0]["address"], MIDDLE);
    let st = w["indirect"]["status"].as_str().unwrap();
    assert!(st == "computed" || st == "cut", "{w}");
    assert!(w["indirect"]["txs_visited"].as_u64().unwrap() <= 20_000);
    assert!(
        (1..=6).contains(&w["indirect"]["hops"].as_u64().unwrap()),
        "{w}"
    );
    for e in w["evidence"].as_array().unwrap() {
        assert_eq!(e["hops"][0]["txid"], TX1, "{w}");
    }
    // Mixed batch: bitcoin and ethereum items side by side.
    let b = s.ok(
        &k,
        "POST",
        "/v1/screen/batch",
        Some(json!({"items": [
            {"kind": "address", "chain": "bitcoin", "address": "bcrt1qnu4mxq8fdlqpuw3ejjxxzzwas2we9mzxzw5mnh"},
            {"kind": "address", "chain": "ethereum", "address": LISTED},
            {"kind": "transfer", "chain": "ethereum", "asset": "ETH", "direction": "deposit", "txid": TX2},
            {"kind": "address", "chain": "ethereum", "address": "0x7363f0F6ae82CfF55835c76713531784652c121c"}
        ]})),
    );
    let r = b["results"].as_array().unwrap();
    assert_eq!(r[0]["address"]["categories"], json!(["exchange"]));
    assert_eq!(r[1]["address"]["risk"], "SEVERE");
    assert_eq!(r[2]["transfer"]["risk"], "SEVERE");
    assert_eq!(r[3]["status"], 422, "a broken checksum: {}", r[3]);
    // Past screenings re-evaluate to the same levels.
    let re = s.ok(&k, "POST", "/v1/rescreen", None);
    assert_eq!(re["alerts"], json!([]), "{re}");
}

#[test]
fn ethereum_private_tags_stay_in_their_tenant() {
    let Some(s) = prepare() else { return };
    let a = s.key("acme", "analyst", 100_000);
    let b = s.key("other", "analyst", 100_000);
    let screen = |k: &str, addr: &str| {
        s.ok(
            k,
            "POST",
            "/v1/screen/address",
            Some(json!({"chain": "ethereum", "address": addr})),
        )
    };
    let deposit = |k: &str| {
        s.ok(
            k,
            "POST",
            "/v1/screen/transfer",
            Some(json!({"chain": "ethereum", "asset": "ETH", "direction": "deposit", "txid": TX2})),
        )
    };
    let before = screen(&a, MIDDLE);
    assert_eq!(before["risk"], "LOW");
    // acme tags MIDDLE in upper case; the tag is keyed lower case.
    let upper = format!("0x{}", MIDDLE[2..].to_ascii_uppercase());
    let added = s.ok(
        &a,
        "POST",
        "/v1/tags",
        Some(json!({"chain": "ethereum", "address": upper, "category": "theft", "label": "case 42 mule"})),
    );
    assert_eq!(added["tag"]["address"], MIDDLE);
    assert_eq!(
        added["alerts_raised"], 1,
        "the earlier LOW screening: {added}"
    );
    let mine = screen(&a, MIDDLE);
    assert_eq!(mine["risk"], "HIGH");
    assert!(mine["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["source"] == "tenant" && t["label"] == "case 42 mule"));
    let d = deposit(&a);
    assert!(d["direct_exposure"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["category"] == "theft"));
    // other sees none of it.
    let theirs = screen(&b, MIDDLE);
    assert_eq!(theirs["risk"], "LOW");
    assert_eq!(theirs["tags"], json!([]));
    let d = deposit(&b);
    assert!(d["direct_exposure"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["category"] != "theft"));
    assert_eq!(s.ok(&b, "GET", "/v1/tags", None)["tags"], json!([]));
    let id = added["tag"]["id"].as_u64().unwrap();
    s.call(&b, "DELETE", &format!("/v1/tags/{id}"), None)
        .problem(404);
    let e = s.ok(&b, "GET", &format!("/v1/entities/ethereum/{MIDDLE}"), None);
    assert_eq!(e["tags"], json!([]));
    let e = s.ok(&a, "GET", &format!("/v1/entities/ethereum/{MIDDLE}"), None);
    assert_eq!(e["categories"], json!(["theft"]));
}

/// A server over Ethereum data and the real SDN list, with no Bitcoin
/// store: Bitcoin addresses are still screened against the list, transfers
/// get a 404 saying why, Ethereum works as usual.
#[test]
fn serves_without_bitcoin_data() {
    let (Some(export), Some(sdn)) = (
        util::shared("eth-etl-transactions-raphtory"),
        util::shared("ofac-sdn/sdn_advanced_2025-11-19.xml.bz2"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    util::ok(
        &data,
        &["ingest", "evm", "--etl-csv", export.to_str().unwrap()],
    );
    util::ok(&data, &["import", "ofac", sdn.to_str().unwrap()]);
    assert!(!data.join("btc").exists());
    let (btc, eth) = (first_listed(&data, "btc"), first_listed(&data, "eth"));
    let s = Server::start(tmp, data);
    let k = s.key("acme", "analyst", 1000);
    let screen = |chain: &str, address: &str| screen_on(&s, &k, chain, address).json();
    let a = screen("bitcoin", &btc);
    assert_eq!(a["sanctioned"], true, "{a}");
    assert_eq!(a["risk"], "SEVERE");
    assert_eq!(a["on_chain"], false);
    let d = refused_transfer(
        &s,
        &k,
        404,
        json!({"chain": "bitcoin", "asset": "BTC", "direction": "deposit",
                "txid": "00".repeat(32), "vout": 0}),
    );
    assert!(d.contains("no Bitcoin chain data"), "{d}");
    let e = screen("ethereum", &eth);
    assert_eq!(e["sanctioned"], true, "{e}");
    start_trace(&s, &k, "bitcoin", &btc).problem(503);
}

/// TRON addresses (most of OFAC's "USDT" listings) are screened against
/// the real SDN list, with checksums checked; TRON transfers, entities and
/// traces are refused with a reason; a private tag on a TRON address
/// counts.
#[test]
fn tron_addresses_are_screened_against_the_tags() {
    let Some(sdn) = util::shared("ofac-sdn/sdn_advanced_2025-11-19.xml.bz2") else {
        return;
    };
    let (tmp, data) = Server::prepare();
    util::ok(&data, &["import", "ofac", sdn.to_str().unwrap()]);
    let listed = first_listed(&data, "tron");
    let s = Server::start(tmp, data);
    let k = s.key("acme", "analyst", 1000);
    let screen = |chain: &str, address: &str| screen_on(&s, &k, chain, address);
    let a = screen("tron", &listed).json();
    assert_eq!(a["sanctioned"], true, "{a}");
    assert_eq!(a["risk"], "SEVERE");
    assert_eq!(a["on_chain"], false);
    assert_eq!(a["address"], listed);
    assert_eq!(a["tags"][0]["source"], "ofac");
    // Not a Bitcoin address; a changed character breaks the checksum.
    screen("bitcoin", &listed).problem(422);
    let mut bad = listed.clone().into_bytes();
    bad[10] = if bad[10] == b'a' { b'b' } else { b'a' };
    let p = screen("tron", std::str::from_utf8(&bad).unwrap()).problem(422);
    assert!(
        p["detail"].as_str().unwrap().contains("not a TRON address"),
        "{p}"
    );
    // An unlisted, well-formed TRON address (the zero account) is LOW.
    let zero = "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb";
    assert_eq!(screen("tron", zero).json()["risk"], "LOW");
    // A private tag on it counts for this tenant.
    s.ok(
        &k,
        "POST",
        "/v1/tags",
        Some(json!({"chain": "tron", "address": zero, "category": "scam", "label": "case 42 pig-butchering wallet"})),
    );
    let a = screen("tron", zero).json();
    assert_eq!(
        a["tags"][0]["label"], "case 42 pig-butchering wallet",
        "{a}"
    );
    // What needs chain data is refused, saying why.
    let d = refused_transfer(
        &s,
        &k,
        422,
        json!({"chain": "tron", "asset": "USDT", "direction": "deposit",
                "txid": "00".repeat(32), "address": zero}),
    );
    assert!(d.contains("no TRON chain data"), "{d}");
    s.call(&k, "GET", &format!("/v1/entities/tron/{listed}"), None)
        .problem(422);
    start_trace(&s, &k, "tron", &listed).problem(422);
}

/// Every EVM chain over its own store: the export ingested as `bsc` is
/// screened on `bsc` with its chain data; `polygon`, with no store, from the
/// shared EVM tags alone (one key, one address on every EVM chain).
#[test]
fn each_evm_chain_has_its_own_store() {
    let Some(export) = util::shared("eth-etl-transactions-raphtory") else {
        return;
    };
    let (tmp, data) = Server::prepare();
    util::ok(
        &data,
        &[
            "ingest",
            "evm",
            "--chain",
            "bsc",
            "--etl-csv",
            export.to_str().unwrap(),
        ],
    );
    let csv = tmp.path().join("sdn-evm.csv");
    std::fs::write(
        &csv,
        format!(
            "address,label,category,currency,source\n{LISTED},TEST LISTING,sanction,ETH,https://example.org/sdn\n"
        ),
    )
    .unwrap();
    util::ok(
        &data,
        &[
            "import",
            "csv",
            "--source",
            "sdn-test",
            csv.to_str().unwrap(),
        ],
    );
    assert!(!data.join("evm/eth").exists());
    let s = Server::start(tmp, data);
    let k = s.key("acme", "analyst", 1000);
    let screen = |chain: &str, address: &str| screen_on(&s, &k, chain, address).json();
    for chain in ["bsc", "polygon", "ethereum"] {
        let a = screen(chain, LISTED);
        assert_eq!(a["chain"], chain);
        assert_eq!(a["sanctioned"], true, "{a}");
        assert_eq!(a["on_chain"], chain == "bsc", "{a}");
    }
    // The deposit of TX2 exists on bsc's store only; its native coin is BNB.
    let transfer = |chain: &str, asset: &str| {
        s.call(
            &k,
            "POST",
            "/v1/screen/transfer",
            Some(
                json!({"chain": chain, "asset": asset, "direction": "deposit",
                        "txid": TX2, "address": DEPOSIT, "amount": TX2_WEI}),
            ),
        )
    };
    let d = transfer("bsc", "BNB").json();
    assert_eq!(d["risk"], "SEVERE", "{d}");
    assert_eq!(d["asset"], "BNB", "{d}");
    transfer("bsc", "ETH").problem(422);
    assert!(transfer("polygon", "POL").status >= 400);
}
