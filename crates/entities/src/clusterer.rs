//! The one writer of a store's clusters: brings them up to the store's
//! committed tip block by block, follows reorgs, and commits under the same
//! protocol as the store (journal, in-place writes, atomic manifest).
//!
//! Reorgs: the clusters record, per covered block, its hash and where its
//! edges, detections and events start. When the store's chain no longer
//! contains a covered block, the clusters are rebuilt from the recorded
//! edges below the fork (a replay of unions: no transaction is re-read) and
//! the new branch is clustered on top. This costs O(edges below the fork)
//! once per reorg and needs no per-block undo data.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chainhound_store::Store;
use chainhound_types::BlockHeight;

use crate::config::{Config, GuardConfig, Heuristics};
use crate::disk::{self, DiskCounts, Files, Journal, Meta, Row};
use crate::engine::{Edge, Engine, PassStats, NO_EDGE};
use crate::error::{EntitiesError, Result};
use crate::unionfind::Node;

/// Which configuration a [`Clusterer`] works with.
#[derive(Clone, Debug)]
pub enum ConfigChoice {
    /// The configuration the clusters were built with, or
    /// [`Config::default`] for a store that has none yet.
    Stored,
    /// This one; clusters built with another are recomputed from scratch.
    Use(Config),
}

/// What an update did.
#[derive(Clone, Debug, Default)]
pub struct UpdateReport {
    /// Blocks clustered.
    pub blocks_added: u32,
    /// Covered blocks dropped because the store's chain changed (a reorg),
    /// or because the configuration changed.
    pub blocks_dropped: u32,
    /// Blocks now covered.
    pub covered_blocks: u32,
    /// Height of the last covered block.
    pub tip_height: Option<u32>,
    /// Counters of the blocks clustered.
    pub stats: PassStats,
    /// Time spent clustering.
    pub cluster_time: Duration,
    /// Time spent committing.
    pub commit_time: Duration,
}

/// Per pending block: (hash, first edge, first detection, first event).
type PendingBlock = ([u8; 32], u32, u32, u32);

/// The single writer of `<store>/entities`.
pub struct Clusterer {
    dir: PathBuf,
    _lock: File,
    meta: Meta,
    fresh: bool,
    files: Files,
    engine: Engine,
    /// Newest edge touching each address (the adjacency lists' heads).
    last_edge: Vec<u32>,
    /// (next_a, next_b) of the first `pending_next.len()` pending edges.
    pending_next: Vec<(u32, u32)>,
    base_height: u32,
    pending_blocks: Vec<PendingBlock>,
    /// Committed rows still valid (below `meta.counts` after a rollback).
    kept: DiskCounts,
    /// The address rows were rebuilt: compare them all at commit.
    rebuilt: bool,
    /// Blocks dropped by a configuration change at open, for the next report.
    dropped_at_open: u32,
    #[cfg(test)]
    pub(crate) crash_at: Option<u8>,
}

#[cfg(test)]
macro_rules! crash_point {
    ($self:ident, $n:expr) => {
        if $self.crash_at == Some($n) {
            return Err(EntitiesError::Config(format!(
                "simulated crash at commit step {}",
                $n
            )));
        }
    };
}
#[cfg(not(test))]
macro_rules! crash_point {
    ($self:ident, $n:expr) => {};
}

fn stored_config(meta: &Meta, path: &Path) -> Result<Config> {
    let heuristics = Heuristics::from_bits(meta.heuristics)
        .ok_or_else(|| EntitiesError::corrupt(path, "unknown heuristic bits in the manifest"))?;
    Ok(Config {
        heuristics,
        guard: GuardConfig {
            min_size: meta.guard_min,
        },
        ..Config::default()
    })
}

impl Clusterer {
    /// Opens (creating if needed) the clusters of the store in `store_dir`,
    /// undoing an interrupted commit. Another writer makes this fail with
    /// [`EntitiesError::Locked`].
    pub fn open(store_dir: &Path, choice: ConfigChoice) -> Result<Clusterer> {
        let dir = disk::dir_of(store_dir);
        std::fs::create_dir_all(&dir).map_err(|e| EntitiesError::io(&dir, e))?;
        let lock = disk::lock(&dir)?;
        let loaded = Meta::load(&dir)?;
        let fresh = loaded.is_none();
        let default = Config::default();
        let meta = loaded.unwrap_or_else(|| Meta {
            generation: 0,
            base_height: 0,
            heuristics: default.heuristics.bits(),
            guard_min: default.guard.min_size,
            detect_fp: default.detect.fingerprint(),
            counts: DiskCounts::default(),
        });
        if let Some(j) = Journal::read(&dir, disk::JOURNAL, disk::JOURNAL_MAGIC)? {
            if j.generation == meta.generation && !fresh {
                tracing::warn!(
                    rows = j.entries.len(),
                    "undoing an interrupted cluster commit"
                );
                let mut f = Files::open(&dir, &meta.counts, true)?;
                for (r, v) in &j.entries {
                    if *r < meta.counts.addrs {
                        f.set_row(*r, *v);
                    }
                }
                f.flush()?;
            }
        }
        Journal::remove(&dir, disk::JOURNAL)?;
        let files = Files::open(&dir, &meta.counts, true)?;
        let cfg = match choice {
            ConfigChoice::Use(c) => c,
            ConfigChoice::Stored if fresh => default,
            ConfigChoice::Stored => stored_config(&meta, &dir.join("MANIFEST"))?,
        };
        cfg.validate()?;
        let reset = !fresh
            && (cfg.heuristics.bits() != meta.heuristics
                || cfg.guard.min_size != meta.guard_min
                || cfg.detect.fingerprint() != meta.detect_fp);
        let mut engine = Engine::new(cfg);
        let rows = files.addr.as_slice();
        let n = meta.counts.addrs;
        if let Some(i) = rows
            .iter()
            .position(|r| r[0] >= n || r[2] >= n || r[3] >= n)
        {
            return Err(EntitiesError::corrupt(
                dir.join("ent_addr.col"),
                format!("address row {i} points past the {n} addresses"),
            ));
        }
        engine.uf.nodes = rows
            .iter()
            .map(|r| Node {
                parent: r[0],
                size: r[1],
                min: r[2],
                next: r[3],
            })
            .collect();
        let last_edge = rows.iter().map(|r| r[4]).collect();
        engine.uf.dirty.reset(meta.counts.addrs);
        engine.edge_base = meta.counts.edges;
        let mut me = Clusterer {
            dir,
            _lock: lock,
            base_height: meta.base_height,
            kept: meta.counts,
            meta,
            fresh,
            files,
            engine,
            last_edge,
            pending_next: Vec::new(),
            pending_blocks: Vec::new(),
            rebuilt: false,
            dropped_at_open: 0,
            #[cfg(test)]
            crash_at: None,
        };
        if reset {
            tracing::info!("clustering configuration changed: recomputing");
            me.dropped_at_open = me.covered_blocks();
            me.rebuild_to(0, 0)?;
            me.commit()?;
        }
        Ok(me)
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.engine.cfg
    }

    /// Blocks covered (committed or not).
    pub fn covered_blocks(&self) -> u32 {
        self.kept.blocks + self.pending_blocks.len() as u32
    }

    /// The cluster directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes of every committed column, by name.
    pub fn sizes(&self) -> Vec<(&'static str, u64)> {
        self.files.sizes()
    }

    /// Clusters every block of `store` not yet covered (after following a
    /// reorg, if any) and commits.
    pub fn update(&mut self, store: &Store) -> Result<UpdateReport> {
        let mut r = self.sync(store, None)?;
        let t = Instant::now();
        self.commit()?;
        r.commit_time = t.elapsed();
        Ok(r)
    }

    /// Clusters up to `max_blocks` blocks of `store` not yet covered (all if
    /// `None`), following a reorg first if the store's chain changed.
    /// Nothing is committed.
    pub fn sync(&mut self, store: &Store, max_blocks: Option<u32>) -> Result<UpdateReport> {
        let t0 = Instant::now();
        let mut report = UpdateReport {
            blocks_dropped: std::mem::take(&mut self.dropped_at_open),
            ..UpdateReport::default()
        };
        let base = store.base_height();
        if self.covered_blocks() > 0 && base != self.base_height {
            report.blocks_dropped += self.covered_blocks();
            self.rebuild_to(0, 0)?;
            self.commit()?;
        }
        self.base_height = base;
        if let Some(k) = self.fork_point(store) {
            report.blocks_dropped += self.covered_blocks() - k;
            tracing::warn!(
                height = base + k,
                blocks = self.covered_blocks() - k,
                "store chain changed: rebuilding clusters from the fork"
            );
            let cols = store.columns();
            let c = cols.counts();
            let addrs = if k < c.blocks {
                cols.blk_first_addr[k as usize]
            } else {
                c.addrs
            };
            self.rebuild_to(k, addrs)?;
            self.commit()?;
        }
        self.engine.stats = PassStats::default();
        let cols = store.columns();
        let from = self.covered_blocks();
        let avail = cols.counts().blocks;
        let to = match max_blocks {
            Some(m) => avail.min(from.saturating_add(m)),
            None => avail,
        };
        for row in from..to {
            let hash = store
                .block(BlockHeight(base + row))
                .map(|b| b.hash.0)
                .unwrap_or_default();
            self.pending_blocks.push((
                hash,
                self.engine.edge_count(),
                self.kept.mixes + self.engine.mixes.len() as u32,
                self.kept.events + self.engine.events.len() as u32,
            ));
            self.engine.process_block(store, &cols, row);
        }
        report.blocks_added = to.saturating_sub(from);
        report.covered_blocks = self.covered_blocks();
        report.tip_height = self.covered_blocks().checked_sub(1).map(|r| base + r);
        report.stats = self.engine.stats.clone();
        report.cluster_time = t0.elapsed();
        Ok(report)
    }

    fn our_hash(&self, row: u32) -> [u8; 32] {
        if row < self.kept.blocks {
            disk::block_hash(&self.files.block.get(row as usize))
        } else {
            self.pending_blocks[(row - self.kept.blocks) as usize].0
        }
    }

    /// The first covered block row the store no longer has, if any.
    fn fork_point(&self, store: &Store) -> Option<u32> {
        let covered = self.covered_blocks();
        let n = covered.min(store.counts().blocks);
        let same = |r: u32| {
            store
                .block(BlockHeight(self.base_height + r))
                .is_some_and(|b| b.hash.0 == self.our_hash(r))
        };
        let mut k = n;
        while k > 0 && !same(k - 1) {
            k -= 1;
        }
        (k < covered).then_some(k)
    }

    /// Where block row `k`'s records start: (edges, detections, events).
    fn block_starts(&self, k: u32) -> (u32, u32, u32) {
        if k < self.kept.blocks {
            let r = self.files.block.get(k as usize);
            (r[8], r[9], r[10])
        } else if let Some(p) = self.pending_blocks.get((k - self.kept.blocks) as usize) {
            (p.1, p.2, p.3)
        } else {
            (
                self.engine.edge_count(),
                self.kept.mixes + self.engine.mixes.len() as u32,
                self.kept.events + self.engine.events.len() as u32,
            )
        }
    }

    /// Drops every covered block from row `k` on and rebuilds the sets by
    /// replaying the edges below it over `addrs` addresses.
    fn rebuild_to(&mut self, k: u32, addrs: u32) -> Result<()> {
        let (edges, mixes, events) = self.block_starts(k);
        let kept = self.kept;
        let mut e = Engine::new(self.engine.cfg.clone());
        e.grow(addrs);
        let mut last_edge = vec![NO_EDGE; addrs as usize];
        let bad = |i: u32| {
            EntitiesError::corrupt(
                self.dir.join("ent_edge.col"),
                format!("edge {i} does not join two clusters on replay"),
            )
        };
        for i in 0..edges {
            let (a, b) = if i < kept.edges {
                let r = self.files.edge.get(i as usize);
                (r[0], r[1])
            } else {
                let x = &self.engine.edges[(i - kept.edges) as usize];
                (x.a, x.b)
            };
            if a >= addrs || b >= addrs || !e.replay(a, b) {
                return Err(bad(i));
            }
            // Heads of the adjacency lists over the edges already on disk;
            // the kept pending ones are linked at commit.
            if i < kept.edges {
                last_edge[a as usize] = i;
                last_edge[b as usize] = i;
            }
        }
        self.last_edge = last_edge;
        self.pending_next.clear();
        let new_kept = DiskCounts {
            blocks: kept.blocks.min(k),
            addrs: kept.addrs,
            edges: kept.edges.min(edges),
            mixes: kept.mixes.min(mixes),
            events: kept.events.min(events),
        };
        let old = std::mem::replace(&mut self.engine, e);
        let e = &mut self.engine;
        e.edge_base = new_kept.edges;
        let mut pending = old.edges;
        pending.truncate(edges.saturating_sub(kept.edges) as usize);
        e.edges = if new_kept.edges == kept.edges {
            pending
        } else {
            Vec::new()
        };
        let mut m = old.mixes;
        m.truncate(mixes.saturating_sub(kept.mixes) as usize);
        e.mixes = if new_kept.mixes == kept.mixes {
            m
        } else {
            Vec::new()
        };
        let mut v = old.events;
        v.truncate(events.saturating_sub(kept.events) as usize);
        e.events = if new_kept.events == kept.events {
            v
        } else {
            Vec::new()
        };
        self.pending_blocks
            .truncate(k.saturating_sub(kept.blocks) as usize);
        self.kept = new_kept;
        self.rebuilt = true;
        Ok(())
    }

    fn ram_row(&self, r: u32) -> Row {
        let i = r as usize;
        let n = self.engine.uf.nodes[i];
        [n.parent, n.size, n.min, n.next, self.last_edge[i]]
    }

    /// Threads the pending edges into the adjacency lists (each once, even
    /// if a commit is retried).
    fn link_pending(&mut self) {
        let n = self.engine.uf.len() as usize;
        if self.last_edge.len() != n {
            self.last_edge.resize(n, NO_EDGE);
        }
        let base = self.engine.edge_base;
        for i in self.pending_next.len()..self.engine.edges.len() {
            let Edge { a, b, .. } = self.engine.edges[i];
            let e = base + i as u32;
            self.pending_next
                .push((self.last_edge[a as usize], self.last_edge[b as usize]));
            self.last_edge[a as usize] = e;
            self.last_edge[b as usize] = e;
            self.engine.uf.dirty.mark(a);
            self.engine.uf.dirty.mark(b);
        }
    }

    /// Makes everything clustered so far durable and visible to readers.
    pub fn commit(&mut self) -> Result<()> {
        self.link_pending();
        let new_addrs = self.engine.uf.len();
        let keep = new_addrs.min(self.meta.counts.addrs);
        let rows: Vec<u32> = if self.rebuilt {
            (0..keep)
                .filter(|&r| self.files.row(r) != self.ram_row(r))
                .collect()
        } else {
            self.engine
                .uf
                .dirty
                .rows()
                .iter()
                .copied()
                .filter(|&r| r < keep)
                .collect()
        };
        let cfg = &self.engine.cfg;
        let counts = DiskCounts {
            blocks: self.covered_blocks(),
            addrs: new_addrs,
            edges: self.engine.edge_count(),
            mixes: self.kept.mixes + self.engine.mixes.len() as u32,
            events: self.kept.events + self.engine.events.len() as u32,
        };
        let next = Meta {
            generation: self.meta.generation + 1,
            base_height: self.base_height,
            heuristics: cfg.heuristics.bits(),
            guard_min: cfg.guard.min_size,
            detect_fp: cfg.detect.fingerprint(),
            counts,
        };
        let unchanged = Meta {
            generation: self.meta.generation,
            ..next.clone()
        } == self.meta;
        if unchanged && rows.is_empty() && !self.fresh {
            return Ok(());
        }
        let journaled = !rows.is_empty();
        if journaled {
            Journal {
                generation: self.meta.generation,
                entries: rows.iter().map(|&r| (r, self.files.row(r))).collect(),
            }
            .write(&self.dir, disk::JOURNAL, disk::JOURNAL_MAGIC)?;
        }
        crash_point!(self, 1);
        for &r in &rows {
            let v = self.ram_row(r);
            self.files.set_row(r, v);
        }
        crash_point!(self, 2);
        self.append(keep, new_addrs)?;
        self.files.flush()?;
        crash_point!(self, 3);
        next.store(&self.dir)?;
        self.meta = next;
        self.fresh = false;
        let e = &mut self.engine;
        e.edge_base = counts.edges;
        e.edges.clear();
        e.mixes.clear();
        e.events.clear();
        e.uf.dirty.reset(new_addrs);
        self.pending_next.clear();
        self.pending_blocks.clear();
        self.kept = counts;
        self.rebuilt = false;
        Ok(())
    }

    /// Writes the rows past the committed ones (and cuts dropped ones).
    fn append(&mut self, keep: u32, new_addrs: u32) -> Result<()> {
        let (k, n) = (keep as usize, new_addrs as usize);
        let rows: Vec<Row> = (k..n).map(|i| self.ram_row(i as u32)).collect();
        let f = &mut self.files;
        let e = &self.engine;
        f.addr.truncate(k);
        f.addr.extend_from_slice(&rows)?;
        let kept = self.kept;
        f.edge.truncate(kept.edges as usize);
        let edges: Vec<disk::EdgeRec> = e
            .edges
            .iter()
            .zip(&self.pending_next)
            .map(|(x, &(na, nb))| [x.a, x.b, x.tx, u32::from(x.heuristic), na, nb])
            .collect();
        f.edge.extend_from_slice(&edges)?;
        f.block.truncate(kept.blocks as usize);
        let blocks: Vec<disk::BlockRec> = self
            .pending_blocks
            .iter()
            .map(|(h, fe, fm, fv)| disk::block_rec(h, *fe, *fm, *fv))
            .collect();
        f.block.extend_from_slice(&blocks)?;
        f.mix.truncate(kept.mixes as usize);
        let mixes: Vec<[u32; 2]> = e.mixes.iter().map(|m| [m.tx, u32::from(m.class)]).collect();
        f.mix.extend_from_slice(&mixes)?;
        f.event.truncate(kept.events as usize);
        let events: Vec<[u32; 3]> = e
            .events
            .iter()
            .map(|v| [v.edge, v.size_a, v.size_b])
            .collect();
        f.event.extend_from_slice(&events)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
