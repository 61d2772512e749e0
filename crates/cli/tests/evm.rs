//! `chainhound ingest evm` and `chainhound evm …` end to end, on the real
//! ethereum-etl export and RLP blocks in ../shared/data.

mod util;

use serde_json::Value;
use util::{chainhound, fails, ok, shared};

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not json ({e}): {s}"))
}

#[test]
fn etl_export_ingests_idempotently_and_answers_queries() {
    let Some(dir) = shared("eth-etl-transactions-raphtory") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let d = dir.to_str().unwrap();
    let first = json(&ok(data, &["--json", "ingest", "evm", "--etl-csv", d]));
    assert_eq!(first["appended"], 1298);
    assert_eq!(first["txs"], 20198);
    assert_eq!(first["labels_imported"], 38615);
    let again = json(&ok(data, &["--json", "ingest", "evm", "--etl-csv", d]));
    assert_eq!(
        (again["appended"].as_u64(), again["already_stored"].as_u64()),
        (Some(0), Some(1298))
    );

    let tx = json(&ok(
        data,
        &[
            "--json",
            "evm",
            "tx",
            "0x5b4d26a7cda9a2547fc122688f656f3c5d152c876acf117b09f892f8e0e784a4",
        ],
    ));
    assert_eq!(tx["value"], "804264913889669500");
    assert_eq!(tx["block"], 3300400);
    assert_eq!(tx["status"], "unknown");
    assert_eq!(tx["transfers"].as_array().unwrap().len(), 1);

    // USDT paid to Binance 14, decimals restored from the export's applied ones.
    let acc = json(&ok(
        data,
        &[
            "--json",
            "evm",
            "account",
            "0x28c6c06298d514db089934071355e5743bf21d60",
            "--limit",
            "1",
        ],
    ));
    assert_eq!(acc["transfers_out"], 0);
    let usdt = acc["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["asset"] == "USDT")
        .unwrap();
    assert_eq!(usdt["received"], "4314323381147");

    // Deposit addresses of Etherscan-labelled exchanges; tracing everything
    // one of them sends ends at its exchange.
    let deps = json(&ok(data, &["--json", "evm", "deposits"]));
    let deps = deps.as_array().unwrap();
    assert!(!deps.is_empty());
    let d0 = deps[0]["deposit"].as_str().unwrap();
    let tr = json(&ok(data, &["--json", "evm", "trace", "--account", d0]));
    let eth = &tr["totals"][0];
    assert_eq!(eth["seeded"], eth["absorbed"], "{tr}");
    assert_eq!(tr["held"].as_array().unwrap().len(), 0);
    assert_eq!(tr["absorbed_by_services"][0]["role"], "exchange");
    assert_eq!(
        tr["absorbed_by_services"][0]["address"],
        deps[0]["hot_wallet"]
    );
    // The same account in text form, and its labels.
    let text = ok(data, &["evm", "account", d0]);
    assert!(text.contains("deposit address of"), "{text}");
}

#[test]
fn rlp_blocks_ingest_through_the_cli() {
    let Some(dir) = shared("eth-mainnet-blocks-rlp") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let f = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let (a, b) = (f("eth0to10.bin"), f("ethgenesis.bin"));
    let r = json(&ok(
        tmp.path(),
        &[
            "--json",
            "ingest",
            "evm",
            "--chain",
            "mainnet-rlp",
            "--rlp",
            &a,
            "--rlp",
            &b,
        ],
    ));
    assert_eq!(r["appended"], 11);
    let s = json(&ok(
        tmp.path(),
        &["--json", "evm", "--chain", "mainnet-rlp", "stats"],
    ));
    assert_eq!(s["tip"], 10);
    assert_eq!(
        s["tip_hash"],
        "0x4ff4a38b278ab49f7739d3a4ed4e12714386a9fdf72192f2e8f7da7822f10b4d"
    );
}

#[test]
fn bad_input_is_a_clear_error_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let export = tmp.path().join("export");
    std::fs::create_dir(&export).unwrap();
    std::fs::write(
        export.join("transactions.csv"),
        "hash,block_number,from_address,to_address,value\n\
0x01000000000000000000000000000000000000000000000000000000000000aa,5,0x1111111111111111111111111111111111111111,0x2222222222222222222222222222222222222222,7\n",
    )
    .unwrap();
    let e = export.to_str().unwrap();
    ok(data, &["ingest", "evm", "--etl-csv", e, "--chain", "t"]);
    let before = ok(data, &["--json", "evm", "--chain", "t", "stats"]);
    std::fs::write(
        export.join("transactions2.csv"),
        "hash,block_number,from_address,to_address,value\n\
0x02000000000000000000000000000000000000000000000000000000000000aa,6,0x1111111111111111111111111111111111111111,0x2222222222222222222222222222222222222222,-7\n",
    )
    .unwrap();
    let err = fails(data, &["ingest", "evm", "--etl-csv", e, "--chain", "t"]);
    assert!(
        err.contains("transactions2.csv: line 2, column value"),
        "{err}"
    );
    assert_eq!(
        ok(data, &["--json", "evm", "--chain", "t", "stats"]),
        before
    );
    // A mixed-case address must carry a valid EIP-55 checksum.
    let err = fails(
        data,
        &[
            "evm",
            "--chain",
            "t",
            "account",
            "0x1111111111111111111111111111111111111111"
                .replace("0x11", "0xAb")
                .as_str(),
        ],
    );
    assert!(err.contains("EIP-55"), "{err}");
    let err = fails(data, &["evm", "--chain", "t", "tx", "0x1234"]);
    assert!(err.contains("64 hex digits"), "{err}");
    let err = fails(data, &["evm", "--chain", "none", "stats"]);
    assert!(err.contains("no evm store"), "{err}");
    let r = chainhound(data, &["ingest", "evm", "--rpc", "ftp://x", "--chain", "t"]);
    assert!(
        !r.ok && r.stderr.contains("http:// or https://"),
        "{}",
        r.stderr
    );
}
