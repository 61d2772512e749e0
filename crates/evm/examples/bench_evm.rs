//! Benchmarks of chainhound-evm (figures for BENCHMARKS.md):
//!
//! * `graph [TRANSFERS]` — writes a synthetic account graph (default 1M
//!   transfers: 200k accounts, native and token, a laundering fan-out from a
//!   thief, 50 exchange hot wallets, a mixer and a DEX), opens it, and times
//!   FIFO and haircut traces and one exposure query (median of 5);
//! * `node [BLOCKS] [TXS_PER_BLOCK]` — starts anvil from
//!   `crates/evm/testnode` on 127.0.0.1, fills it with value transfers and
//!   times `ingest_rpc` (blocks/s, transfers/s).
//!
//! `cargo run --release -p chainhound-evm --example bench_evm -- graph`

#[path = "../tests/support/anvil.rs"]
mod anvil;

use std::time::Instant;

use anvil::Anvil;
use chainhound_evm::model::{
    exposure, trace, Label, LabelSource, Labels, Model, Role, Seed, TraceConfig,
};
use chainhound_evm::rpc::{ingest_rpc, RpcOptions};
use chainhound_evm::{
    AccountId, Address, AssetRef, EvmStore, EvmWriter, NewBlock, NewTransfer, NewTx, TransferKind,
    TxStatus, B256, U256,
};
use serde_json::{json, Value};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn account(i: u64) -> Address {
    let mut b = [0u8; 20];
    b[12..].copy_from_slice(&(i + 1).to_be_bytes());
    Address::from(b)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Peak resident memory of this process (VmHWM), in MB.
fn peak_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

const ACCOUNTS: u64 = 200_000;
const EXCHANGES: u64 = 50;
const MIXER: u64 = 60;
const DEX: u64 = 61;
const THIEF: u64 = 100;

fn graph(transfers: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let per_block = 200u64;
    let blocks = transfers.div_ceil(per_block);
    let token = Address::repeat_byte(0xee);
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let t0 = Instant::now();
    let mut w = EvmWriter::open(tmp.path(), "bench").unwrap();
    let mut parent = B256::ZERO;
    let mut n = 0u64;
    for b in 0..blocks {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&(b + 1).to_be_bytes());
        let mut nb = NewBlock {
            number: b + 1,
            hash: B256::from(h),
            parent,
            timestamp: b * 12,
            ..Default::default()
        };
        for i in 0..per_block.min(transfers - n) {
            // Mostly users paying users and exchanges; the thief fans out early on.
            let from = if b < 50 && i < 4 {
                THIEF
            } else {
                100 + rng.below(ACCOUNTS - 100)
            };
            let to = match rng.below(100) {
                0..=9 => rng.below(EXCHANGES),
                10 => MIXER,
                11 => DEX,
                _ => 100 + rng.below(ACCOUNTS - 100),
            };
            let mut th = h;
            th[8..16].copy_from_slice(&i.to_be_bytes());
            nb.txs.push(NewTx {
                hash: B256::from(th),
                from: account(from),
                to: Some(account(to)),
                created: None,
                value: U256::ZERO,
                status: TxStatus::Success,
                gas: 21_000,
                fee: 21_000 * 1_000_000_000,
            });
            let native = rng.below(3) != 0;
            nb.transfers.push(NewTransfer {
                tx: Some(i as u32),
                asset: if native {
                    AssetRef::Native
                } else {
                    AssetRef::Token(token)
                },
                from: account(from),
                to: account(to),
                amount: U256::from(1 + rng.below(10_000_000_000_000_000_000)),
                kind: if native {
                    TransferKind::Call
                } else {
                    TransferKind::Erc20
                },
            });
            n += 1;
        }
        parent = nb.hash;
        w.append(&nb).unwrap();
        if b % 1000 == 999 {
            w.commit().unwrap();
        }
    }
    w.commit().unwrap();
    drop(w);
    let write = t0.elapsed().as_secs_f64();
    let before = peak_mb();
    let t1 = Instant::now();
    let s = EvmStore::open(tmp.path()).unwrap();
    let open = t1.elapsed().as_secs_f64();
    let after = peak_mb();
    let bytes: u64 = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let mut l = Labels::default();
    let lab = |role, i: u64| Label {
        role: Some(role),
        text: format!("{} {i}", role.as_str()),
        source: LabelSource::Tag("bench".into()),
    };
    for i in 0..EXCHANGES {
        if let Some(a) = s.account(&account(i)) {
            l.add(a, lab(Role::Exchange, i));
        }
    }
    l.add(s.account(&account(MIXER)).unwrap(), lab(Role::Mixer, MIXER));
    l.add(s.account(&account(DEX)).unwrap(), lab(Role::Dex, DEX));
    let thief = s.account(&account(THIEF)).unwrap();
    l.add(thief, lab(Role::Theft, THIEF));
    println!(
        "graph: {} transfers, {} txs, {} blocks, {} accounts; store {:.1} MB; write {:.2}s ({:.0} transfers/s); open {:.2}s; peak RSS {:.0} MB after writing, {:.0} MB after open; load {}",
        s.transfers().len(),
        s.txs().len(),
        s.blocks().len(),
        s.account_count(),
        bytes as f64 / 1e6,
        write,
        s.transfers().len() as f64 / write,
        open,
        before,
        after,
        load()
    );
    for model in [Model::Haircut, Model::Fifo] {
        let mut times = Vec::new();
        let mut r = None;
        for _ in 0..5 {
            let t = Instant::now();
            r = Some(trace(
                &s,
                &l,
                &[Seed::Account(thief)],
                &TraceConfig {
                    model,
                    max_edges: 0,
                    ..Default::default()
                },
            ));
            times.push(t.elapsed().as_secs_f64());
        }
        let r = r.unwrap();
        println!(
            "trace {model:?}: median {:.3}s over 5 runs ({:.1}M transfers/s); {} tainted transfers, {} holders, {} service hits; load {}",
            median(times.clone()),
            s.transfers().len() as f64 / median(times) / 1e6,
            r.edge_count,
            r.holdings.len(),
            r.absorbed.len(),
            load()
        );
    }
    let target = s.account(&account(0)).unwrap();
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let e = exposure(&s, &l, target, &[Role::Theft, Role::Mixer], Model::Haircut);
        times.push(t.elapsed().as_secs_f64());
        std::hint::black_box(e);
    }
    println!(
        "exposure (2 roles) of an exchange hot wallet: median {:.3}s over 5 runs; load {}",
        median(times),
        load()
    );
    let _ = AccountId(0);
}

fn node(blocks: u64, per_block: u64) {
    let Some(anvil) = Anvil::start(&["--no-mining", "--gas-limit", "1000000000"]) else {
        std::process::exit(2);
    };
    let c = anvil.client();
    let mut rng = Rng(7);
    let senders = 500u64;
    for i in 0..senders {
        let _: Value = c
            .call(
                "anvil_setBalance",
                json!([account(i), U256::from(10u64).pow(U256::from(24))]),
            )
            .unwrap();
    }
    let t_fill = Instant::now();
    let mut nonces = vec![0u64; senders as usize];
    for _ in 0..blocks {
        let calls: Vec<(&str, Value)> = (0..per_block)
            .map(|_| {
                let from = rng.below(senders);
                let nonce = nonces[from as usize];
                nonces[from as usize] += 1;
                let tx = json!({"from": account(from), "to": account(1000 + rng.below(50_000)), "value": format!("{:#x}", 1 + rng.below(1_000_000_000)), "gasPrice": "0x0", "gas": "0x5208", "nonce": format!("{nonce:#x}")});
                ("eth_sendTransaction", json!([tx]))
            })
            .collect();
        for r in c.batch_raw(&calls).unwrap() {
            r.unwrap();
        }
        let _: Value = c.call("evm_mine", json!([])).unwrap();
    }
    let fill = t_fill.elapsed().as_secs_f64();
    // Where a window's time goes: one batch of 10 blocks per method.
    for (method, extra) in [
        ("eth_getBlockByNumber", json!(true)),
        ("eth_getBlockReceipts", Value::Null),
        ("debug_traceBlockByNumber", json!({"tracer": "callTracer"})),
        ("trace_block", Value::Null),
    ] {
        let calls: Vec<(&str, Value)> = (1..=10u64)
            .map(|n| {
                let p = if extra.is_null() {
                    json!([format!("{n:#x}")])
                } else {
                    json!([format!("{n:#x}"), extra])
                };
                (method, p)
            })
            .collect();
        let t = Instant::now();
        for r in c.batch_raw(&calls).unwrap() {
            r.unwrap();
        }
        println!(
            "node: {method} x10 blocks of {per_block} txs: {:.3}s",
            t.elapsed().as_secs_f64()
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    for (name, internal) in [
        ("callTracer", None),
        (
            "trace_block",
            Some(chainhound_evm::rpc::InternalSource::TraceBlock),
        ),
    ] {
        let mut results = Vec::new();
        for run in 0..3 {
            let dir = tmp.path().join(format!("{name}{run}"));
            let mut w = EvmWriter::open(&dir, "anvil").unwrap();
            let opts = RpcOptions {
                confirmations: 0,
                batch: 10,
                concurrency: 4,
                force_internal: internal,
                ..Default::default()
            };
            let r = ingest_rpc(&mut w, &c, &opts, &mut ()).unwrap();
            results.push((r.seconds, r.appended, r.transfers));
        }
        results.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        let (secs, appended, transfers) = results[1];
        println!(
            "node: filled {blocks} blocks x {per_block} txs in {fill:.1}s; ingest (batch 10, concurrency 4, {name}, block receipts) median of 3: {appended} blocks, {transfers} transfers in {secs:.2}s = {:.0} blocks/s, {:.0} transfers/s; load {}",
            appended as f64 / secs,
            transfers as f64 / secs,
            load()
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, d: u64| args.get(i).map_or(d, |s| s.parse().expect("a number"));
    match args.first().map(String::as_str) {
        Some("graph") => graph(num(1, 1_000_000)),
        Some("node") => node(num(1, 500), num(2, 100)),
        _ => {
            eprintln!("usage: bench_evm graph [TRANSFERS] | node [BLOCKS] [TXS_PER_BLOCK]");
            std::process::exit(2);
        }
    }
}
