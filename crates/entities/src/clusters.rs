//! Read-only views of a store's clusters: which entity an address belongs
//! to, an entity's members, the evidence between two addresses, the flagged
//! transactions and the supercluster events.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};

use chainhound_store::Store;
use chainhound_types::{AddrId, BlockHeight, TxNum};

use crate::coinjoin::TxClass;
use crate::config::{Config, GuardConfig, Heuristic, Heuristics};
use crate::disk::{self, Files, Journal, Meta, Row};
use crate::engine::NO_EDGE;
use crate::error::{EntitiesError, Result};

/// An entity: a cluster of addresses, named by its smallest address id.
/// Deterministic (the same chain and configuration give the same ids, in one
/// run or many, in any processing order) and stable until the entity merges
/// with one holding a smaller address id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntityId(pub u32);

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// One step of evidence: `from` and `to` are in one entity because of
/// transaction `tx`, by `heuristic`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The address the step starts at.
    pub from: AddrId,
    /// The address it reaches.
    pub to: AddrId,
    /// The transaction that is the evidence.
    pub tx: TxNum,
    /// The heuristic that read it.
    pub heuristic: Heuristic,
}

/// A merge of two large clusters, recorded by the supercluster guard.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Supercluster {
    /// Number of the recorded union (edges are numbered in the order made).
    pub edge: u32,
    /// The union's evidence.
    pub link: Link,
    /// Size of `link.from`'s cluster before the merge.
    pub size_from: u32,
    /// Size of `link.to`'s cluster before the merge.
    pub size_to: u32,
    /// The entity both belong to now.
    pub entity: EntityId,
}

/// What the clusters cover.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// Blocks covered.
    pub blocks: u32,
    /// Height of the last covered block.
    pub tip_height: Option<u32>,
    /// Addresses covered.
    pub addrs: u32,
    /// Recorded unions.
    pub edges: u32,
    /// The store's blocks (more than `blocks` when the clusters lag).
    pub store_blocks: u32,
}

/// Totals over all clusters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterSummary {
    /// Addresses covered.
    pub addresses: u64,
    /// Entities (singletons included).
    pub entities: u64,
    /// Entities of one address.
    pub singletons: u64,
    /// The largest entities, largest first: (id, addresses).
    pub largest: Vec<(EntityId, u32)>,
    /// Recorded unions by heuristic.
    pub edges: Vec<(Heuristic, u64)>,
    /// Flagged transactions by class.
    pub detections: Vec<(TxClass, u64)>,
    /// Supercluster events.
    pub superclusters: u64,
}

/// A read-only snapshot of the clusters of one store.
pub struct Clusters {
    dir: PathBuf,
    meta: Meta,
    f: Files,
    /// Rows of an interrupted commit, restored virtually.
    undo: HashMap<u32, Row>,
    store_blocks: u32,
}

impl Clusters {
    /// Opens the clusters of `store`, which must cover a prefix of the
    /// store's chain (they may lag behind it).
    pub fn open(store: &Store) -> Result<Clusters> {
        let dir = disk::dir_of(store.dir());
        let meta = Meta::load(&dir)?.ok_or_else(|| EntitiesError::Missing(dir.clone()))?;
        let c = Clusters::from_dir(dir, meta, store.counts().blocks)?;
        let n = c.meta.counts.blocks;
        if n > 0 {
            let h = c.meta.base_height + n - 1;
            let same = store.base_height() == c.meta.base_height
                && store
                    .block(BlockHeight(h))
                    .is_some_and(|b| b.hash.0 == disk::block_hash(&c.f.block.get(n as usize - 1)));
            if !same {
                return Err(EntitiesError::Stale {
                    dir: c.dir.clone(),
                    height: h,
                });
            }
        }
        Ok(c)
    }

    fn from_dir(dir: PathBuf, meta: Meta, store_blocks: u32) -> Result<Clusters> {
        let f = Files::open(&dir, &meta.counts, false)?;
        let mut undo = HashMap::new();
        if let Some(j) = Journal::read(&dir, disk::JOURNAL, disk::JOURNAL_MAGIC)? {
            if j.generation == meta.generation {
                undo.extend(j.entries);
            }
        }
        Ok(Clusters {
            dir,
            meta,
            f,
            undo,
            store_blocks,
        })
    }

    /// The cluster directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The configuration the clusters were built with.
    pub fn config(&self) -> Config {
        let heuristics = Heuristics::from_bits(self.meta.heuristics).unwrap_or(Heuristics::NONE);
        Config {
            heuristics,
            guard: GuardConfig {
                min_size: self.meta.guard_min,
            },
            ..Config::default()
        }
    }

    /// Whether the detectors' thresholds were the defaults.
    pub fn default_detectors(&self) -> bool {
        self.meta.detect_fp == crate::config::DetectConfig::default().fingerprint()
    }

    /// What is covered.
    pub fn coverage(&self) -> Coverage {
        let c = self.meta.counts;
        Coverage {
            blocks: c.blocks,
            tip_height: c.blocks.checked_sub(1).map(|r| self.meta.base_height + r),
            addrs: c.addrs,
            edges: c.edges,
            store_blocks: self.store_blocks,
        }
    }

    #[inline]
    fn row(&self, r: u32) -> Row {
        if !self.undo.is_empty() {
            if let Some(v) = self.undo.get(&r) {
                return *v;
            }
        }
        self.f.row(r)
    }

    #[inline]
    fn parent(&self, r: u32) -> u32 {
        self.row(r)[0]
    }

    fn root(&self, mut a: u32) -> u32 {
        // Union by size bounds the depth by log2(addresses); the bound also
        // stops a damaged file from looping.
        for _ in 0..64 {
            let p = self.parent(a);
            if p == a || p >= self.meta.counts.addrs {
                return a;
            }
            a = p;
        }
        a
    }

    fn check(&self, a: AddrId) -> Result<()> {
        if a.0 >= self.meta.counts.addrs {
            return Err(EntitiesError::NotCovered {
                what: "address",
                id: a.0,
                covered: self.meta.counts.addrs,
            });
        }
        Ok(())
    }

    /// The entity of address `a`.
    pub fn entity_of(&self, a: AddrId) -> Result<EntityId> {
        self.check(a)?;
        Ok(EntityId(self.row(self.root(a.0))[2]))
    }

    /// A hint that [`Clusters::entity_of`] of `a` is about to be asked:
    /// starts fetching its row (a no-op for an address not covered).
    #[inline]
    pub fn prefetch(&self, a: AddrId) {
        chainhound_store::prefetch(self.f.addr.as_slice(), a.0 as usize);
    }

    /// Checks that `id` names an entity (is the smallest address of its
    /// cluster).
    pub fn entity(&self, id: u32) -> Result<EntityId> {
        let e = self
            .entity_of(AddrId(id))
            .map_err(|_| EntitiesError::NotCovered {
                what: "entity",
                id,
                covered: self.meta.counts.addrs,
            })?;
        if e.0 != id {
            return Err(EntitiesError::NotAnEntity { id, entity: e.0 });
        }
        Ok(e)
    }

    /// Number of addresses of entity `e`.
    pub fn size(&self, e: EntityId) -> Result<u32> {
        self.check(AddrId(e.0))?;
        Ok(self.row(self.root(e.0))[1])
    }

    /// The addresses of `e`'s cluster, starting with `e` itself.
    pub fn members(&self, e: EntityId) -> impl Iterator<Item = AddrId> + '_ {
        let start = e.0;
        let valid = start < self.meta.counts.addrs;
        let mut cur = if valid { Some(start) } else { None };
        let mut left = if valid { self.size(e).unwrap_or(1) } else { 0 };
        std::iter::from_fn(move || {
            let c = cur?;
            if left == 0 {
                return None;
            }
            left -= 1;
            let n = self.row(c)[3];
            cur = (n != start && n < self.meta.counts.addrs).then_some(n);
            Some(AddrId(c))
        })
    }

    /// Entity id of every covered address, in address order (`export`).
    pub fn entity_ids(&self) -> impl Iterator<Item = (AddrId, EntityId)> + '_ {
        (0..self.meta.counts.addrs).map(move |a| (AddrId(a), EntityId(self.row(self.root(a))[2])))
    }

    fn edge(&self, e: u32) -> (u32, u32, u32, u8, u32, u32) {
        let r = self.f.edge.get(e as usize);
        (r[0], r[1], r[2], r[3] as u8, r[4], r[5])
    }

    fn link_of(&self, e: u32, from: u32) -> Link {
        let (a, b, tx, h, _, _) = self.edge(e);
        let to = if a == from { b } else { a };
        Link {
            from: AddrId(from),
            to: AddrId(to),
            tx: TxNum(tx),
            heuristic: Heuristic::from_u8(h).unwrap_or(Heuristic::MultiInput),
        }
    }

    /// Every recorded union, in the order made.
    pub fn links(&self) -> impl Iterator<Item = Link> + '_ {
        (0..self.meta.counts.edges).map(move |e| self.link_of(e, self.f.edge.get(e as usize)[0]))
    }

    /// The recorded unions touching address `a`, newest first, each oriented
    /// from `a`.
    pub fn links_of(&self, a: AddrId) -> impl Iterator<Item = Link> + '_ {
        let n_edges = self.meta.counts.edges;
        let mut e = if a.0 < self.meta.counts.addrs {
            self.row(a.0)[4]
        } else {
            NO_EDGE
        };
        std::iter::from_fn(move || {
            if e == NO_EDGE || e >= n_edges {
                return None;
            }
            let (x, _, _, _, na, nb) = self.edge(e);
            let l = self.link_of(e, a.0);
            let next = if x == a.0 { na } else { nb };
            e = if next < e { next } else { NO_EDGE };
            Some(l)
        })
    }

    /// The chain of evidence that put `a` and `b` into one entity: the path
    /// between them through the recorded unions (unique: they form a
    /// spanning tree of each entity). `None` if they are in different
    /// entities; empty if `a == b`.
    pub fn explain(&self, a: AddrId, b: AddrId) -> Result<Option<Vec<Link>>> {
        if self.entity_of(a)? != self.entity_of(b)? {
            return Ok(None);
        }
        let mut prev: HashMap<u32, Link> = HashMap::new();
        let mut queue = VecDeque::from([a.0]);
        let mut seen: HashSet<u32> = HashSet::from([a.0]);
        while let Some(x) = queue.pop_front() {
            if x == b.0 {
                break;
            }
            for l in self.links_of(AddrId(x)) {
                if seen.insert(l.to.0) {
                    prev.insert(l.to.0, l);
                    queue.push_back(l.to.0);
                }
            }
        }
        let mut path = Vec::new();
        let mut cur = b.0;
        while cur != a.0 {
            let Some(l) = prev.get(&cur) else {
                return Err(EntitiesError::corrupt(
                    self.dir.join("ent_edge.col"),
                    format!(
                        "addresses {} and {} share an entity but no path of edges",
                        a.0, b.0
                    ),
                ));
            };
            path.push(*l);
            cur = l.from.0;
        }
        path.reverse();
        Ok(Some(path))
    }

    /// The flagged transactions (CoinJoins and Whirlpool tx0s), chain order.
    pub fn detections(&self) -> impl Iterator<Item = (TxNum, TxClass)> + '_ {
        (0..self.meta.counts.mixes as usize).filter_map(move |i| {
            let [tx, class] = self.f.mix.get(i);
            Some((TxNum(tx), TxClass::from_code(class as u8)?))
        })
    }

    /// How transaction `tx` was classified, if it was flagged.
    pub fn detection(&self, tx: TxNum) -> Option<TxClass> {
        let mixes = self.f.mix.as_slice();
        let i = mixes.binary_search_by_key(&tx.0, |m| m[0]).ok()?;
        TxClass::from_code(mixes[i][1] as u8)
    }

    /// The supercluster events, chain order.
    pub fn superclusters(&self) -> Vec<Supercluster> {
        (0..self.meta.counts.events as usize)
            .filter_map(|i| {
                let [e, size_from, size_to] = self.f.event.get(i);
                if e >= self.meta.counts.edges {
                    return None;
                }
                let (a, ..) = self.edge(e);
                let link = self.link_of(e, a);
                Some(Supercluster {
                    edge: e,
                    link,
                    size_from,
                    size_to,
                    entity: self.entity_of(link.from).ok()?,
                })
            })
            .collect()
    }

    /// The two clusters a supercluster event joined, as they were just
    /// before it: the addresses reachable from each side through unions
    /// recorded earlier. At most `limit` addresses per side.
    pub fn sides(&self, s: &Supercluster, limit: usize) -> (Vec<AddrId>, Vec<AddrId>) {
        let side = |start: AddrId| {
            let mut seen: HashSet<u32> = HashSet::from([start.0]);
            let mut queue = VecDeque::from([start.0]);
            let mut out = vec![start];
            while let Some(x) = queue.pop_front() {
                let mut e = self.row(x)[4];
                while e != NO_EDGE && e < self.meta.counts.edges {
                    let (a, b, _, _, na, nb) = self.edge(e);
                    let (y, next) = if a == x { (b, na) } else { (a, nb) };
                    let ok = e < s.edge && y < self.meta.counts.addrs;
                    if ok && out.len() < limit && seen.insert(y) {
                        out.push(AddrId(y));
                        queue.push_back(y);
                    }
                    e = if next < e { next } else { NO_EDGE };
                }
            }
            out
        };
        (side(s.link.from), side(s.link.to))
    }

    /// Totals; `top` largest entities. A scan of every address.
    pub fn summary(&self, top: usize) -> ClusterSummary {
        let n = self.meta.counts.addrs;
        let mut s = ClusterSummary {
            addresses: u64::from(n),
            ..ClusterSummary::default()
        };
        let mut roots: Vec<(u32, u32)> = Vec::new();
        for a in 0..n {
            if self.parent(a) == a {
                let r = self.row(a);
                s.entities += 1;
                if r[1] == 1 {
                    s.singletons += 1;
                } else {
                    roots.push((r[1], r[2]));
                }
            }
        }
        roots.sort_unstable_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
        s.largest = roots
            .iter()
            .take(top)
            .map(|&(size, id)| (EntityId(id), size))
            .collect();
        let mut by_h = [0u64; 8];
        for r in self.f.edge.as_slice() {
            by_h[(r[3] as usize).min(7)] += 1;
        }
        s.edges = Heuristic::ALL
            .iter()
            .map(|h| (*h, by_h[*h as usize]))
            .filter(|x| x.1 > 0)
            .collect();
        let mut by_c: HashMap<TxClass, u64> = HashMap::new();
        for (_, c) in self.detections() {
            *by_c.entry(c).or_default() += 1;
        }
        let mut d: Vec<(TxClass, u64)> = by_c.into_iter().collect();
        d.sort_by_key(|x| x.0.code());
        s.detections = d;
        s.superclusters = u64::from(self.meta.counts.events);
        s
    }

    /// Bytes of every column, by name.
    pub fn sizes(&self) -> Vec<(&'static str, u64)> {
        self.f.sizes()
    }
}
