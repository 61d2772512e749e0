//! Ingests every file of ../shared/data/btc-mainnet-blocks into stores and
//! checks what a block explorer shows, and the counts PROVENANCE.md lists.

use std::path::{Path, PathBuf};

use chainhound_btc::{BlocksDir, Network};
use chainhound_ingest::{ingest_btc, IngestOptions, IngestReport, Quiet};
use chainhound_store::{Funding, Store, StoreWriter};
use chainhound_types::{BlockHeight, Hash32, InputId, OutputId, Sats, TxNum};

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/btc-mainnet-blocks");
    if p.join("PROVENANCE.md").exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: {} is absent; real-block tests need ../shared/data",
            p.display()
        );
        None
    }
}

fn ingest(dir: &Path, files: &[PathBuf], anchor: Option<u32>) -> IngestReport {
    let mut w = StoreWriter::open(dir, Network::Main.magic(), "main").unwrap();
    let src = BlocksDir::from_files(files.to_vec(), Network::Main);
    let opts = IngestOptions {
        anchor_height: anchor,
        ..IngestOptions::default()
    };
    ingest_btc(&mut w, &src, &opts, &mut Quiet).unwrap()
}

fn hash(s: &str) -> Hash32 {
    Hash32::from_display_hex(s).unwrap()
}

struct Listed {
    file: String,
    blocks: u32,
    txs: u32,
    inputs: u32,
    outputs: u32,
    first: Hash32,
}

fn provenance(root: &Path) -> Vec<Listed> {
    let text = std::fs::read_to_string(root.join("PROVENANCE.md")).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((file, rest)) = line.split_once(": blocks=") else {
            continue;
        };
        let field = |name: &str| -> String {
            rest.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_string))
                .unwrap_or_else(|| rest.split_whitespace().next().unwrap().to_string())
        };
        out.push(Listed {
            file: file.trim().to_string(),
            blocks: rest.split_whitespace().next().unwrap().parse().unwrap(),
            txs: field("txs").parse().unwrap(),
            inputs: field("inputs").parse().unwrap(),
            outputs: field("outputs").parse().unwrap(),
            first: hash(&field("first")),
        });
    }
    out
}

#[test]
fn block_170_and_the_first_438_blocks() {
    let Some(root) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let files = [
        "bitcoinj/first-100k-blocks.dat",
        "btcd/blocks1-256.dat",
        "btcd/blk_0_to_4.dat",
    ]
    .map(|f| root.join(f));
    let r = ingest(dir.path(), &files, None);
    assert_eq!(r.appended, 439);
    // btcd's blk_0_to_4.dat is genesis plus a 4-block test fork: stale here
    assert_eq!((r.stale, r.orphans, r.duplicates), (4, 0, 256));
    let s = Store::open(dir.path()).unwrap();
    assert_eq!(
        s.tip().unwrap().hash,
        hash("0000000025c6b644f8add734be7e666fa4afa43ca0204d623a0c0b1fd2104c7a")
    );
    assert_eq!(
        s.block(BlockHeight(0)).unwrap().hash,
        Network::Main.genesis_hash()
    );

    let t = s
        .tx_by_txid(&hash(
            "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16",
        ))
        .unwrap();
    let tx = s.tx(t);
    assert_eq!(tx.height, BlockHeight(170));
    let Funding::Output(spent) = s.input(InputId(tx.inputs.start)).funding else {
        panic!("resolved")
    };
    let funding_tx = s.tx(s.output(spent).tx);
    assert_eq!(
        funding_tx.txid,
        hash("0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9")
    );
    assert_eq!(
        (funding_tx.height, funding_tx.index),
        (BlockHeight(9), 0),
        "the block-9 coinbase"
    );
    assert_eq!(s.spender(spent), Some(InputId(tx.inputs.start)));
    let outs: Vec<_> = tx.outputs.clone().map(|o| s.output(OutputId(o))).collect();
    assert_eq!(outs[0].value, Sats(10 * 100_000_000));
    assert_eq!(outs[1].value, Sats(40 * 100_000_000));
    let render = |a| chainhound_btc::render(&s.addr_key(a), Network::Main);
    assert_eq!(render(outs[0].addr), "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3");
    assert_eq!(render(outs[1].addr), "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S");
    assert_eq!(s.tx_fee(t), Some(Sats(0)));
    // the genesis coinbase output
    let g = s.output(OutputId(0));
    assert_eq!(render(g.addr), "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
    // Hal Finney's address received 10 BTC in block 170 and nothing else here
    let key =
        chainhound_btc::parse_address("1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", Network::Main).unwrap();
    let sum = s.addr_summary(s.addr_id(&key).unwrap());
    assert_eq!(
        (sum.received, sum.balance, sum.txs),
        (Sats(1_000_000_000), Sats(1_000_000_000), 1)
    );
    // every input of this contiguous chain resolves
    assert_eq!(s.counts().unresolved, 0);
    let coinbase_total: u128 = (0..s.counts().txs)
        .filter(|&n| s.tx(TxNum(n)).index == 0)
        .map(|n| u128::from(s.tx_output_total(TxNum(n)).0))
        .sum();
    // conservation: no fees were paid in these blocks, so the unspent outputs
    // hold exactly what the coinbases created
    let unspent: u128 = (0..s.counts().outputs)
        .filter(|&o| s.spender(OutputId(o)).is_none())
        .map(|o| u128::from(s.output_value(OutputId(o)).0))
        .sum();
    assert_eq!(unspent, coinbase_total);
    assert_eq!(coinbase_total, 439 * 50 * 100_000_000);
}

#[test]
fn every_file_matches_provenance() {
    let Some(root) = shared() else { return };
    let listed = provenance(&root);
    assert_eq!(listed.len(), 22, "PROVENANCE.md lists 22 block files");
    for l in &listed {
        let path = root.join(&l.file);
        let dir = tempfile::tempdir().unwrap();
        let r = ingest(dir.path(), std::slice::from_ref(&path), Some(1_000));
        let s = Store::open(dir.path()).unwrap();
        let c = s.counts();
        assert_eq!(r.blocks_found as u32, l.blocks, "{}", l.file);
        let first = s.block(BlockHeight(s.base_height())).unwrap();
        if r.orphans == 0 && r.stale == 0 {
            // one chain: the store holds exactly what the file holds
            assert_eq!(
                (c.blocks, c.txs, c.inputs, c.outputs),
                (l.blocks, l.txs, l.inputs, l.outputs),
                "{}",
                l.file
            );
            assert_eq!(first.hash, l.first, "{}", l.file);
        } else {
            // unlinked blocks (multiblock.blk, scriptwitness2.blk): the store
            // keeps the most-work chain; the others are reported
            assert!(c.blocks < l.blocks && c.txs < l.txs, "{}", l.file);
            assert_eq!(
                r.orphans + r.stale + c.blocks as usize,
                l.blocks as usize,
                "{}",
                l.file
            );
        }
        // every stored input is either coinbase, resolved, or kept as an outpoint
        for i in 0..c.inputs {
            if let Funding::Unresolved { txid, .. } = s.input(InputId(i)).funding {
                assert_ne!(txid, Hash32::default(), "{}", l.file);
            }
        }
    }
}

#[test]
fn segwit_and_2019_blocks() {
    let Some(root) = shared() else { return };
    // SegWit (Aug 2017): witness data makes weight < 4 * size for segwit txs
    let dir = tempfile::tempdir().unwrap();
    ingest(
        dir.path(),
        &[root.join("hadoopcryptoledger/scriptwitness.blk")],
        Some(481_824),
    );
    let s = Store::open(dir.path()).unwrap();
    let c = s.counts();
    let (mut segwit, mut legacy, mut total_weight) = (0, 0, 0u64);
    for t in 0..c.txs {
        let tx = s.tx(TxNum(t));
        assert!(tx.weight <= 4 * tx.size);
        if tx.weight < 4 * tx.size {
            segwit += 1;
        } else {
            legacy += 1;
        }
        total_weight += u64::from(tx.weight);
    }
    assert!(segwit > 0 && legacy > 0, "segwit {segwit} legacy {legacy}");
    assert!(total_weight <= 4_000_000);
    let b = s.tip().unwrap();
    assert_eq!(
        b.hash,
        hash("0000000000000000007d107138348f11c09530fd6f0a065d0ea30c333005c8e5")
    );

    // Jan 2019 (height 556,xxx; subsidy 12.5 BTC): fees = coinbase - subsidy
    let dir = tempfile::tempdir().unwrap();
    ingest(
        dir.path(),
        &[root.join("hadoopcryptoledger/block2019Jan.blk")],
        Some(556_000),
    );
    let s = Store::open(dir.path()).unwrap();
    assert_eq!(s.counts().txs, 2898);
    let coinbase = s.tx_output_total(TxNum(0));
    let fees = coinbase.checked_sub(Sats(1_250_000_000)).unwrap();
    assert!(fees > Sats(0) && fees < Sats(100_000_000), "fees {fees}");
    // inputs spending older blocks are kept as outpoints; those spending
    // earlier txs of the same block resolve, and such txs have a known fee
    let c = s.counts();
    assert_eq!(c.unresolved, 4698);
    let mut known_fees = 0;
    for t in 1..c.txs {
        let tx = s.tx(TxNum(t));
        let all_resolved = tx
            .inputs
            .clone()
            .all(|i| matches!(s.input(InputId(i)).funding, Funding::Output(_)));
        assert_eq!(s.tx_fee(TxNum(t)).is_some(), all_resolved);
        known_fees += usize::from(all_resolved);
    }
    assert!(
        known_fees > 100,
        "{known_fees} txs spend only same-block outputs"
    );
}
