//! `chainhound ingest evm --rpc` against a real local node (anvil from
//! `crates/evm/testnode`, installed by .ci/run, started by the launcher
//! shared with crates/evm); skips when it is absent.

#[path = "../../evm/tests/support/anvil.rs"]
mod anvil;
mod util;

use std::process::{Command, Stdio};
use std::time::Duration;

use anvil::{dump, Anvil};
use chainhound_evm::rpc::Client;
use chainhound_evm::{Address, B256};
use serde_json::{json, Value};
use util::ok;

fn pay(c: &Client, from: Address, to: Address, wei: &str) -> B256 {
    let tx = json!({"from": from, "to": to, "value": wei, "gasPrice": "0x0"});
    c.call("eth_sendTransaction", json!([tx])).unwrap()
}

/// A node, its client and a sender holding 1000 ETH; `None` when anvil is
/// not installed.
fn funded_node() -> Option<(Anvil, Client, Address)> {
    let node = Anvil::start(&[])?;
    let c = node.client();
    let from = Address::repeat_byte(0x11);
    let _: Value = c
        .call("anvil_setBalance", json!([from, "0x3635c9adc5dea00000"]))
        .unwrap();
    Some((node, c, from))
}

/// `ingest evm --rpc <url> --confirmations 0 <extra>`.
fn ingest<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["ingest", "evm", "--rpc", url, "--confirmations", "0"];
    v.extend_from_slice(extra);
    v
}

#[test]
fn ingest_from_a_node_then_resume() {
    let Some((node, c, from)) = funded_node() else {
        return;
    };
    let url = node.url.clone();
    let one_eth = "0xde0b6b3a7640000";
    let first = pay(&c, from, Address::repeat_byte(0x21), one_eth);
    pay(&c, from, Address::repeat_byte(0x22), one_eth);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let run = |conf: &str| -> Value {
        serde_json::from_str(&ok(
            data,
            &[
                "--json",
                "ingest",
                "evm",
                "--rpc",
                &url,
                "--chain",
                "dev",
                "--confirmations",
                conf,
            ],
        ))
        .unwrap()
    };
    let r = run("0");
    assert_eq!(r["appended"], 3, "{r}");
    assert_eq!(
        r["internal_calls_from"],
        "debug_traceBlockByNumber/callTracer"
    );
    assert_eq!(r["chain_id"], 31337);
    pay(&c, from, Address::repeat_byte(0x23), one_eth);
    // One confirmation: the new tip waits for the next run.
    let r = run("1");
    assert_eq!(
        (r["appended"].as_u64(), r["tip"].as_u64()),
        (Some(0), Some(2))
    );
    let r = run("0");
    assert_eq!(
        (r["appended"].as_u64(), r["tip"].as_u64()),
        (Some(1), Some(3))
    );
    let tx: Value = serde_json::from_str(&ok(
        data,
        &["--json", "evm", "--chain", "dev", "tx", &first.to_string()],
    ))
    .unwrap();
    assert_eq!(tx["status"], "success");
    assert_eq!(tx["value"], "1000000000000000000");
    let text = ok(
        data,
        &["evm", "--chain", "dev", "account", &from.to_checksum(None)],
    );
    assert!(text.contains("sent 3 ETH"), "{text}");
}

#[test]
fn a_killed_ingest_resumes_to_the_same_store() {
    let Some((node, c, from)) = funded_node() else {
        return;
    };
    let url = node.url.clone();
    for i in 0..40u8 {
        pay(&c, from, Address::repeat_byte(0x40 + i), "0x1");
        let _: Value = c.call("anvil_mine", json!(["0x20"])).unwrap();
    }
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut killed = 0;
    for delay in [60u64, 150, 300] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chainhound"))
            .arg("--data")
            .arg(&a)
            .arg("--quiet")
            .args(ingest(&url, &["--batch", "2", "--concurrency", "1"]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    eprintln!("killed {killed} of 3 runs mid-way");
    ok(&a, &ingest(&url, &[]));
    ok(&b, &ingest(&url, &["--batch", "50"]));
    assert_eq!(dump(&a.join("evm/eth")), dump(&b.join("evm/eth")));
    // Every block the node has (genesis included), and the 40 payments: a
    // payment usually gets a block of its own, but under load anvil may
    // put it in the next `anvil_mine` block instead, so ask the node.
    let tip: Value = c.call("eth_blockNumber", json!([])).unwrap();
    let tip = u64::from_str_radix(tip.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let s = chainhound_evm::EvmStore::open(&a.join("evm/eth")).unwrap();
    assert!(tip >= 40 * 32, "the node has only {tip} blocks");
    assert_eq!((s.blocks().len() as u64, s.txs().len()), (tip + 1, 40));
}
