//! Clustering a simulated chain through ingest, against its ground truth:
//! precision, no CoinJoin-induced merge, CoinJoin detection, explanations
//! that re-check against the store, the same clusters as one in-memory
//! pass, and a reorg followed from the fork.

use std::path::Path;
use std::sync::OnceLock;

use chainhound_btc::{BlocksDir, Network};
use chainhound_entities::eval::evaluate;
use chainhound_entities::{
    load_sim_truth, verify_link, Clusters, Config, Heuristic, Heuristics, Link, MemoryClusters,
};
use chainhound_ingest::{ingest_btc, ClusterUpdate, IngestOptions, Quiet};
use chainhound_sim::{simulate, SimConfig, Truth};
use chainhound_store::{Store, StoreWriter};
use chainhound_types::AddrId;

fn ingest(store: &Path, blocks: &BlocksDir, commit_every: u32) {
    let mut w = StoreWriter::open(store, Network::Regtest.magic(), "regtest").unwrap();
    let opts = IngestOptions {
        clusters: ClusterUpdate::Follow,
        commit_every_blocks: commit_every,
        commit_interval: std::time::Duration::MAX,
        ..IngestOptions::default()
    };
    let r = ingest_btc(&mut w, blocks, &opts, &mut Quiet).unwrap();
    let c = r.clusters.expect("clusters follow the store");
    assert_eq!(c.covered_blocks, w.counts().blocks);
}

/// A 30,000-transaction chain, ingested with the clusters following.
fn fixture() -> &'static (tempfile::TempDir, Truth) {
    static F: OnceLock<(tempfile::TempDir, Truth)> = OnceLock::new();
    F.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let chain = tmp.path().join("chain");
        simulate(&SimConfig::new(30_000, 21), &chain, &mut |_| {}).unwrap();
        let blocks = BlocksDir::open(chain.join("blocks"), Network::Regtest).unwrap();
        ingest(&tmp.path().join("store"), &blocks, 9);
        let truth = Truth::load(&chain).unwrap();
        (tmp, truth)
    })
}

#[test]
fn default_clusters_are_precise_and_never_merge_coinjoins() {
    let (tmp, truth) = fixture();
    let store = Store::open(&tmp.path().join("store")).unwrap();
    let clusters = Clusters::open(&store).unwrap();
    assert_eq!(clusters.coverage().blocks, truth.blocks);
    let ids: Vec<u32> = clusters.entity_ids().map(|(_, e)| e.0).collect();
    // incremental (through ingest, committed every 9 blocks) = one pass
    let mut mem = MemoryClusters::compute(&store, Config::default()).unwrap();
    assert_eq!(ids, mem.entity_ids());
    let links: Vec<Link> = clusters.links().collect();
    let mem_links: Vec<Link> = mem.links().collect();
    assert_eq!(links, mem_links);
    let detections: Vec<_> = clusters.detections().collect();
    assert_eq!(detections, mem.detections());

    let (gt, _) = load_sim_truth(&store, &tmp.path().join("chain")).unwrap();
    let acc = evaluate(&store, &ids, &links, &detections, &gt);
    assert!(acc.precision >= 0.995, "precision {}", acc.precision);
    assert_eq!(acc.coinjoin_merges, 0);
    assert_eq!(acc.mixed_clusters, 0, "the default merges no two owners");
    assert!(acc.recall >= 0.99, "recall {}", acc.recall);
    assert!(acc.recall_with_coinjoin_inputs <= acc.recall + 1e-9);
    let d = &acc.detection;
    assert_eq!(d.false_neg, 0, "every CoinJoin is detected: {d:?}");
    assert!(d.precision >= 0.9, "{d:?}");
    assert_eq!(d.tx0_as_coinjoin, 0, "tx0s stay single-owner");
    assert!(acc.exchanges.iter().all(|e| e.purity == 1.0));
    assert_eq!(acc.thief.len(), 1);
}

#[test]
fn explanations_are_paths_of_links_that_hold_in_the_store() {
    let (tmp, _) = fixture();
    let store = Store::open(&tmp.path().join("store")).unwrap();
    let clusters = Clusters::open(&store).unwrap();
    let cfg = clusters.config();
    let ids: Vec<u32> = clusters.entity_ids().map(|(_, e)| e.0).collect();
    let mut checked = 0;
    for (a, &e) in ids.iter().enumerate().step_by(97) {
        if e == a as u32 {
            continue;
        }
        // from the last member to this one: paths of several steps
        let other = clusters
            .members(chainhound_entities::EntityId(e))
            .last()
            .unwrap();
        let path = clusters.explain(other, AddrId(a as u32)).unwrap().unwrap();
        let mut at = other;
        for l in &path {
            assert_eq!(l.from, at);
            verify_link(&store, &cfg, l).unwrap();
            at = l.to;
        }
        assert_eq!(at, AddrId(a as u32));
        checked += 1;
    }
    assert!(checked > 50, "{checked}");
}

#[test]
fn change_heuristic_links_hold_for_the_heuristic_they_name() {
    let (tmp, _) = fixture();
    let store = Store::open(&tmp.path().join("store")).unwrap();
    let all = Heuristic::ALL
        .iter()
        .fold(Heuristics::NONE, |s, h| s.with(*h));
    let cfg = Config {
        heuristics: all,
        ..Config::default()
    };
    let m = MemoryClusters::compute(&store, cfg.clone()).unwrap();
    let mut seen = std::collections::HashMap::new();
    for l in m.links().step_by(7) {
        verify_link(&store, &cfg, &l).unwrap_or_else(|e| panic!("{l:?}: {e}"));
        *seen.entry(l.heuristic).or_insert(0) += 1;
    }
    for h in Heuristic::ALL {
        if h != Heuristic::ChangeOptimal {
            assert!(
                seen.get(&h).copied().unwrap_or(0) > 0,
                "no {h} link: {seen:?}"
            );
        }
    }
    // and a claim the transaction does not support is refused
    let l = m
        .links()
        .find(|l| l.heuristic == Heuristic::MultiInput)
        .unwrap();
    let wrong = Link {
        heuristic: Heuristic::ChangeType,
        ..l
    };
    assert!(verify_link(&store, &cfg, &wrong).is_err());
}

#[test]
fn a_reorg_is_followed_from_the_fork() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = tmp.path().join("chain");
    simulate(&SimConfig::new(8_000, 9), &chain, &mut |_| {}).unwrap();
    let truth = Truth::load(&chain).unwrap();
    let stale = truth.stale_blocks.first().expect("stale blocks").clone();
    let blocks = BlocksDir::open(chain.join("blocks"), Network::Regtest).unwrap();
    // The node's view before the reorg: the main chain up to the stale
    // block's parent, then the stale block.
    let view = truth.view_before_reorg(&stale);
    let early = tmp.path().join("early");
    std::fs::create_dir_all(&early).unwrap();
    blocks.extract(&view, &early.join("blk00000.dat")).unwrap();
    let store = tmp.path().join("store");
    ingest(
        &store,
        &BlocksDir::open(&early, Network::Regtest).unwrap(),
        5,
    );
    let s = Store::open(&store).unwrap();
    assert_eq!(s.tip().unwrap().hash.to_string(), stale.hash);
    // now the heavier chain: the store reorgs and the clusters follow
    ingest(&store, &blocks, 5);
    let s = Store::open(&store).unwrap();
    let got: Vec<u32> = Clusters::open(&s)
        .unwrap()
        .entity_ids()
        .map(|(_, e)| e.0)
        .collect();
    let want = MemoryClusters::compute(&s, Config::default())
        .unwrap()
        .entity_ids();
    assert_eq!(got, want);
}
