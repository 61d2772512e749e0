//! Ingest of simulated chains against their ground truth: out-of-order blocks,
//! stale branches, obfuscation, incremental appends and a reorg.

use std::path::Path;

use chainhound_btc::{BlocksDir, Network};
use chainhound_ingest::{ingest_btc, IngestOptions, Quiet};
use chainhound_sim::{simulate, SimConfig, Truth};
use chainhound_store::{Store, StoreWriter};
use chainhound_types::{Hash32, OutputId, Sats};

fn ingest(
    store: &Path,
    blocks: &BlocksDir,
    max_blocks: Option<u32>,
) -> chainhound_ingest::IngestReport {
    let mut w = StoreWriter::open(store, Network::Regtest.magic(), "regtest").unwrap();
    let opts = IngestOptions {
        max_blocks,
        ..IngestOptions::default()
    };
    ingest_btc(&mut w, blocks, &opts, &mut Quiet).unwrap()
}

fn sim(dir: &Path, txs: u64, seed: u64, xor: bool) -> Truth {
    let mut cfg = SimConfig::new(txs, seed);
    if xor {
        cfg.xor_key = Some([1, 2, 3, 4, 5, 6, 7, 8]);
    }
    simulate(&cfg, dir, &mut |_| {}).unwrap();
    Truth::load(dir).unwrap()
}

fn same_answers(a: &Store, b: &Store) {
    let (ca, cb) = (a.counts(), b.counts());
    assert_eq!(ca, cb);
    assert_eq!(a.tip().unwrap().hash, b.tip().unwrap().hash);
    for o in (0..ca.outputs).step_by(7) {
        assert_eq!(a.output(OutputId(o)), b.output(OutputId(o)));
    }
    for i in (0..ca.inputs).step_by(7) {
        assert_eq!(
            a.input(chainhound_types::InputId(i)),
            b.input(chainhound_types::InputId(i))
        );
    }
    assert_eq!(a.sum_output_values(), b.sum_output_values());
}

#[test]
fn simulated_chain_matches_its_ground_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = tmp.path().join("chain");
    let truth = sim(&chain, 30_000, 3, true);
    let blocks = BlocksDir::open(chain.join("blocks"), Network::Regtest).unwrap();
    assert!(blocks.xor().is_some());
    let store = tmp.path().join("store");
    let r = ingest(&store, &blocks, None);
    assert_eq!(r.stale, truth.stale_blocks.len());
    assert_eq!((r.orphans, r.unresolved, r.conflicting_spends), (0, 0, 0));
    let s = Store::open(&store).unwrap();
    assert_eq!(u64::from(s.counts().txs), truth.txs);
    assert_eq!(s.counts().blocks, truth.blocks);
    assert_eq!(s.tip().unwrap().hash.to_string(), truth.tip_hash);
    for (h, hash) in truth.main_chain.iter().enumerate() {
        assert_eq!(
            s.block(chainhound_types::BlockHeight(h as u32))
                .unwrap()
                .hash
                .to_string(),
            *hash
        );
    }
    // every theft and laundering tx is stored; cash-outs pay what truth says
    for t in truth
        .incident
        .theft_txids
        .iter()
        .chain(&truth.incident.laundering_txids)
    {
        assert!(
            s.tx_by_txid(&Hash32::from_display_hex(t).unwrap())
                .is_some(),
            "{t}"
        );
    }
    for c in &truth.incident.cashouts {
        let t = s
            .tx_by_txid(&Hash32::from_display_hex(&c.txid).unwrap())
            .unwrap();
        let out = s.output(OutputId(s.tx(t).outputs.start + c.vout));
        assert_eq!(out.value, Sats(c.sats));
        let key = chainhound_btc::parse_address(&c.deposit_address, Network::Regtest).unwrap();
        assert_eq!(s.addr_key(out.addr), key);
    }
    // conservation: unspent value = coinbase value - fees burned nowhere
    let mut fees = 0u64;
    let mut coinbase = 0u64;
    for t in 0..s.counts().txs {
        let tx = s.tx(chainhound_types::TxNum(t));
        if tx.index == 0 {
            coinbase += s.tx_output_total(tx.num).0;
        } else {
            fees += s.tx_fee(tx.num).expect("every input resolves").0;
        }
    }
    let unspent: u64 = (0..s.counts().outputs)
        .filter(|&o| s.spender(OutputId(o)).is_none())
        .map(|o| s.output_value(OutputId(o)).0)
        .sum();
    assert_eq!(
        unspent,
        coinbase - fees,
        "unspent value = coinbase value - fees"
    );
}

#[test]
fn incremental_runs_equal_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = tmp.path().join("chain");
    let truth = sim(&chain, 12_000, 5, false);
    let blocks = BlocksDir::open(chain.join("blocks"), Network::Regtest).unwrap();
    let one = tmp.path().join("one");
    ingest(&one, &blocks, None);
    let steps = tmp.path().join("steps");
    let mut runs = 0;
    loop {
        let r = ingest(&steps, &blocks, Some(3));
        runs += 1;
        if r.remaining == 0 {
            break;
        }
    }
    assert!(runs as u32 >= truth.blocks / 3);
    same_answers(&Store::open(&one).unwrap(), &Store::open(&steps).unwrap());
}

#[test]
fn reorg_to_the_heavier_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = tmp.path().join("chain");
    let truth = sim(&chain, 12_000, 9, false);
    let stale = truth
        .stale_blocks
        .first()
        .expect("the simulator writes stale blocks");
    let blocks = BlocksDir::open(chain.join("blocks"), Network::Regtest).unwrap();
    // Build a node's view before the reorg: the main chain up to the stale
    // block's parent, then the stale block, as one blk file.
    let view = truth.view_before_reorg(stale);
    let early = tmp.path().join("early");
    std::fs::create_dir_all(&early).unwrap();
    blocks.extract(&view, &early.join("blk00000.dat")).unwrap();
    let store = tmp.path().join("store");
    ingest(
        &store,
        &BlocksDir::open(&early, Network::Regtest).unwrap(),
        None,
    );
    assert_eq!(
        Store::open(&store).unwrap().tip().unwrap().hash.to_string(),
        stale.hash
    );
    // now the full data: the main chain has more work
    let r = ingest(&store, &blocks, None);
    assert!(r.rolled_back >= 1, "{r:?}");
    let fresh = tmp.path().join("fresh");
    ingest(&fresh, &blocks, None);
    same_answers(&Store::open(&store).unwrap(), &Store::open(&fresh).unwrap());
}
