//! The writer against a small simulated chain: incremental equals one pass
//! equals the in-memory pass; a crash at every commit step loses nothing
//! committed and resumes to the same clusters; readers see the last commit
//! while a commit is torn; a shorter store and a new configuration rebuild.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chainhound_btc::{BlocksDir, Network};
use chainhound_ingest::{ingest_btc, IngestOptions, Quiet};
use chainhound_sim::{simulate, SimConfig};
use chainhound_store::{Store, StoreWriter};
use chainhound_types::AddrId;

use super::*;
use crate::clusters::Clusters;
use crate::config::{Heuristic, Heuristics};
use crate::memory::MemoryClusters;
use crate::verify::verify_link;

/// A simulated chain ingested once per test process.
fn fixture() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let chain = tmp.path().join("chain");
        simulate(&SimConfig::new(6_000, 11), &chain, &mut |_| {}).unwrap();
        let blocks = BlocksDir::open(chain.join("blocks"), Network::Regtest).unwrap();
        let store = tmp.path().join("store");
        let mut w = StoreWriter::open(&store, Network::Regtest.magic(), "regtest").unwrap();
        ingest_btc(&mut w, &blocks, &IngestOptions::default(), &mut Quiet).unwrap();
        (tmp, store)
    })
    .1
}

/// A private copy of the fixture's store (its clusters live inside it).
fn store_copy(tmp: &Path) -> PathBuf {
    let dst = tmp.join("store");
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(fixture()).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
    }
    dst
}

fn ids(store: &Store) -> Vec<u32> {
    let c = Clusters::open(store).unwrap();
    c.entity_ids().map(|(_, e)| e.0).collect()
}

fn memory_ids(store: &Store, cfg: Config) -> Vec<u32> {
    MemoryClusters::compute(store, cfg).unwrap().entity_ids()
}

#[test]
fn incremental_equals_one_pass_equals_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = store_copy(tmp.path());
    let store = Store::open(&dir).unwrap();
    let n = store.counts().blocks;
    {
        let mut c = Clusterer::open(&dir, ConfigChoice::Stored).unwrap();
        let mut done = 0;
        while done < n {
            let r = c.sync(&store, Some(7)).unwrap();
            done = r.covered_blocks;
            if done % 3 == 0 {
                c.commit().unwrap();
            }
        }
        c.commit().unwrap();
        // nothing left to do: an update is a no-op
        let r = c.update(&store).unwrap();
        assert_eq!((r.blocks_added, r.blocks_dropped), (0, 0));
    }
    let stepwise = ids(&store);
    let mem = memory_ids(&store, Config::default());
    assert_eq!(stepwise, mem);
    let mut multi = 0;
    for (a, e) in stepwise.iter().enumerate() {
        assert!(*e <= a as u32);
        multi += usize::from(*e != a as u32);
    }
    assert!(multi > 100, "some addresses are joined");

    // Every explanation is a path of verifiable links.
    let clusters = Clusters::open(&store).unwrap();
    let cfg = clusters.config();
    let mut checked = 0;
    for (a, &e) in stepwise.iter().enumerate().step_by(13) {
        if e == a as u32 {
            continue;
        }
        let path = clusters
            .explain(AddrId(e), AddrId(a as u32))
            .unwrap()
            .unwrap();
        assert!(!path.is_empty());
        assert_eq!(path[0].from, AddrId(e));
        assert_eq!(path.last().unwrap().to, AddrId(a as u32));
        for w in path.windows(2) {
            assert_eq!(w[0].to, w[1].from);
        }
        for l in &path {
            verify_link(&store, &cfg, l).unwrap();
        }
        checked += 1;
    }
    assert!(checked > 10);
    // different entities have no explanation
    let lone = stepwise
        .iter()
        .enumerate()
        .find(|(a, e)| **e == *a as u32 && clusters.size(EntityId(**e)).unwrap() == 1)
        .unwrap()
        .0 as u32;
    let other = stepwise.iter().position(|e| *e != lone).unwrap() as u32;
    assert_eq!(clusters.explain(AddrId(lone), AddrId(other)).unwrap(), None);
    assert_eq!(
        clusters.explain(AddrId(lone), AddrId(lone)).unwrap(),
        Some(vec![])
    );
}

use crate::clusters::EntityId;

#[test]
fn a_crash_at_any_commit_step_loses_nothing_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = store_copy(tmp.path());
    let store = Store::open(&dir).unwrap();
    let full = memory_ids(&store, Config::default());
    let n = store.counts().blocks;
    for step in 1..=3u8 {
        let _ = std::fs::remove_dir_all(dir.join(crate::disk::DIR));
        let mut c = Clusterer::open(&dir, ConfigChoice::Stored).unwrap();
        c.sync(&store, Some(n / 2)).unwrap();
        c.commit().unwrap();
        let committed = ids(&store);
        c.sync(&store, None).unwrap();
        c.crash_at = Some(step);
        let err = c.commit().unwrap_err().to_string();
        assert!(err.contains("simulated crash"), "{err}");
        // A reader sees the last commit even with a torn one on disk.
        assert_eq!(
            ids(&store),
            committed,
            "reader after a crash at step {step}"
        );
        drop(c);
        // The next writer undoes the torn commit and resumes.
        let mut c = Clusterer::open(&dir, ConfigChoice::Stored).unwrap();
        assert_eq!(c.covered_blocks(), n / 2);
        assert_eq!(ids(&store), committed, "after recovery from step {step}");
        c.update(&store).unwrap();
        drop(c);
        assert_eq!(ids(&store), full, "resumed after a crash at step {step}");
    }
}

#[test]
fn shorter_store_and_new_configuration_rebuild() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = store_copy(tmp.path());
    {
        let store = Store::open(&dir).unwrap();
        Clusterer::open(&dir, ConfigChoice::Stored)
            .unwrap()
            .update(&store)
            .unwrap();
    }
    // The store loses its last 40 blocks (as a reorg starts).
    let n = Store::open(&dir).unwrap().counts().blocks;
    {
        let mut w = StoreWriter::open(&dir, Network::Regtest.magic(), "regtest").unwrap();
        w.rollback_to(n - 40).unwrap();
    }
    let store = Store::open(&dir).unwrap();
    assert!(matches!(
        Clusters::open(&store),
        Err(EntitiesError::Stale { .. })
    ));
    let r = Clusterer::open(&dir, ConfigChoice::Stored)
        .unwrap()
        .update(&store)
        .unwrap();
    assert_eq!((r.blocks_dropped, r.blocks_added), (40, 0));
    assert_eq!(ids(&store), memory_ids(&store, Config::default()));

    // Another configuration recomputes; `Stored` then keeps it.
    let cfg = Config {
        heuristics: Heuristics::MULTI_INPUT.with(Heuristic::ChangeFresh),
        ..Config::default()
    };
    Clusterer::open(&dir, ConfigChoice::Use(cfg.clone()))
        .unwrap()
        .update(&store)
        .unwrap();
    let with_change = ids(&store);
    assert_eq!(with_change, memory_ids(&store, cfg.clone()));
    let c = Clusterer::open(&dir, ConfigChoice::Stored).unwrap();
    assert_eq!(c.config(), &cfg);
    // one writer at a time
    assert!(matches!(
        Clusterer::open(&dir, ConfigChoice::Stored),
        Err(EntitiesError::Locked(_))
    ));
    drop(c);
    assert_eq!(Clusters::open(&store).unwrap().config(), cfg);
}

#[test]
fn damaged_cluster_files_are_errors_not_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = store_copy(tmp.path());
    let store = Store::open(&dir).unwrap();
    Clusterer::open(&dir, ConfigChoice::Stored)
        .unwrap()
        .update(&store)
        .unwrap();
    let edir = dir.join(crate::disk::DIR);
    // a parent pointer far past the addresses
    let path = edir.join("ent_addr.col");
    let mut b = std::fs::read(&path).unwrap();
    b[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &b).unwrap();
    let err = Clusterer::open(&dir, ConfigChoice::Stored)
        .err()
        .expect("refused");
    assert!(matches!(err, EntitiesError::Corrupt { .. }), "{err}");
    let c = Clusters::open(&store).unwrap();
    assert!(c.entity_of(AddrId(1)).is_ok());
    assert!(c.entity_of(AddrId(u32::MAX - 5)).is_err());
    let _ = c.explain(AddrId(1), AddrId(2));
    let _ = c.summary(3);
    // a damaged manifest
    let m = edir.join("MANIFEST");
    let mut b = std::fs::read(&m).unwrap();
    b[12] ^= 0xff;
    std::fs::write(&m, &b).unwrap();
    assert!(matches!(
        Clusters::open(&store),
        Err(EntitiesError::Corrupt { .. })
    ));
}
