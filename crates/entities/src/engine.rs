//! The clustering pass: reads a block's transactions from the store's
//! columns, classifies them, and joins addresses, recording every effective
//! union as an evidence edge. In memory only; `crate::clusterer` persists it.
//!
//! Only unions that join two different sets are recorded, so the edges of
//! one entity form a spanning tree of it: between any two of its addresses
//! there is exactly one path of evidence, which `chainhound explain` prints.

use chainhound_store::{prefetch, Columns, Store, UNRESOLVED};
use chainhound_types::{AddrKind, OutputId};

use crate::change::{change_output, ChangeView};
use crate::coinjoin::{classify, OutFact, Scratch, TxShape};
use crate::config::{Config, Heuristic};
use crate::unionfind::UnionFind;

/// "No edge" in adjacency links.
pub(crate) const NO_EDGE: u32 = u32::MAX;

/// One recorded union: why `a` and `b` are one entity. (The adjacency
/// lists `chainhound explain` walks are built from these when they are
/// persisted, off the hot path.)
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Edge {
    pub a: u32,
    pub b: u32,
    pub tx: u32,
    pub heuristic: u8,
}

/// A merge of two large clusters.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub edge: u32,
    /// Size of `a`'s cluster before the merge.
    pub size_a: u32,
    /// Size of `b`'s cluster before the merge.
    pub size_b: u32,
}

/// A transaction the detectors flagged (a CoinJoin or a tx0).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mix {
    pub tx: u32,
    pub class: u8,
}

/// Counters of a clustering pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassStats {
    /// Blocks processed.
    pub blocks: u64,
    /// Transactions processed.
    pub txs: u64,
    /// Inputs of those transactions.
    pub inputs: u64,
    /// Transactions with inputs from at least two addresses.
    pub multi_input_txs: u64,
    /// Flagged transactions by [`TxClass::code`] (index 1–6).
    pub detections: [u64; 7],
    /// Recorded unions by heuristic (`Heuristic as usize`).
    pub edges: [u64; 7],
    /// Transactions whose change heuristics disagreed (no change link).
    pub change_conflicts: u64,
    /// Supercluster events.
    pub events: u64,
}

impl PassStats {
    /// Adds `o` to these counters.
    pub fn add(&mut self, o: &PassStats) {
        self.blocks += o.blocks;
        self.txs += o.txs;
        self.inputs += o.inputs;
        self.multi_input_txs += o.multi_input_txs;
        for i in 0..7 {
            self.detections[i] += o.detections[i];
            self.edges[i] += o.edges[i];
        }
        self.change_conflicts += o.change_conflicts;
        self.events += o.events;
    }
}

const OP_RETURN: u8 = AddrKind::OpReturn as u8;

/// Addresses whose nodes are touched ahead of their unions (a few KiB of
/// cache lines).
const TOUCH_CHUNK: usize = 1024;

/// How many transactions ahead pass 1 prefetches input addresses.
const PREFETCH_TXS: u32 = 8;

/// Where one transaction's input addresses sit in a block's flat buffer.
#[derive(Copy, Clone, Debug)]
struct Span {
    tx: u32,
    first_in: u32,
    n_in: u32,
    start: u32,
    end: u32,
    /// Every input's funding output is stored.
    complete: bool,
}

/// The in-memory clustering state.
pub(crate) struct Engine {
    pub cfg: Config,
    pub uf: UnionFind,
    /// Index of `edges[0]` (edges before it are on disk).
    pub edge_base: u32,
    pub edges: Vec<Edge>,
    pub events: Vec<Event>,
    pub mixes: Vec<Mix>,
    pub stats: PassStats,
    change_on: bool,
    per_tx_change: Vec<Heuristic>,
    flat: Vec<u32>,
    spans: Vec<Span>,
    in_values: Vec<u64>,
    in_kinds: Vec<u8>,
    outs: Vec<OutFact>,
    scratch: Scratch,
}

#[inline]
fn owner_of(first: &[u32], row: u32) -> u32 {
    (first.partition_point(|&f| f <= row) - 1) as u32
}

impl Engine {
    pub(crate) fn new(cfg: Config) -> Engine {
        let change_on = cfg.heuristics.any_change();
        let per_tx_change = [
            Heuristic::ChangeType,
            Heuristic::ChangeFresh,
            Heuristic::ChangeRound,
            Heuristic::ChangeOptimal,
        ]
        .into_iter()
        .filter(|h| cfg.heuristics.contains(*h))
        .collect();
        Engine {
            cfg,
            uf: UnionFind::default(),
            edge_base: 0,
            edges: Vec::new(),
            events: Vec::new(),
            mixes: Vec::new(),
            stats: PassStats::default(),
            change_on,
            per_tx_change,
            flat: Vec::new(),
            spans: Vec::new(),
            in_values: Vec::new(),
            in_kinds: Vec::new(),
            outs: Vec::new(),
            scratch: Scratch::default(),
        }
    }

    /// Adds singleton addresses up to `n`.
    pub(crate) fn grow(&mut self, n: u32) {
        self.uf.grow(n);
    }

    /// Number of edges, recorded or pending.
    pub(crate) fn edge_count(&self) -> u32 {
        self.edge_base + self.edges.len() as u32
    }

    /// Clusters the block at row `row` of `c` (a view of `store`).
    pub(crate) fn process_block(&mut self, store: &Store, c: &Columns<'_>, row: u32) {
        self.grow(c.block_addrs(row).end);
        // Pass 1: the input addresses of every transaction that may join
        // any (independent reads, so the memory system overlaps them).
        let mut flat = std::mem::take(&mut self.flat);
        let mut spans = std::mem::take(&mut self.spans);
        flat.clear();
        spans.clear();
        let nodes = &self.uf.nodes;
        let txs = c.block_txs(row);
        for t in txs.clone() {
            let ins = c.tx_inputs(t);
            let n_in = ins.end - ins.start;
            self.stats.txs += 1;
            self.stats.inputs += u64::from(n_in);
            // Start fetching the input addresses of the transaction
            // PREFETCH_TXS ahead (if it is one this loop reads): the reads
            // below then find them in cache.
            let ahead = t + PREFETCH_TXS;
            if ahead < txs.end {
                let ins = c.tx_inputs(ahead);
                if ins.end - ins.start >= 2 || self.change_on {
                    for &p in &c.in_prevout[ins.start as usize..ins.end as usize] {
                        prefetch(c.out_addr, p as usize);
                    }
                }
            }
            if n_in < 2 && !self.change_on {
                continue;
            }
            let start = flat.len() as u32;
            let mut complete = true;
            for &p in &c.in_prevout[ins.start as usize..ins.end as usize] {
                if p >= UNRESOLVED {
                    complete = false;
                } else {
                    let a = c.out_addr[p as usize];
                    // Its union-find node, read in pass 2.
                    prefetch(nodes, a as usize);
                    flat.push(a);
                }
            }
            if flat.len() as u32 > start {
                spans.push(Span {
                    tx: t,
                    first_in: ins.start,
                    n_in,
                    start,
                    end: flat.len() as u32,
                    complete,
                });
            }
        }
        // Pass 2, in chunks small enough to stay in the L1 cache: prefetch
        // the parents of a chunk's addresses' union-find nodes (the nodes
        // themselves were prefetched in pass 1), independent reads the
        // memory system overlaps; then classify and join its transactions,
        // which find those nodes in cache.
        let mut i = 0;
        while i < spans.len() {
            let from = spans[i].start as usize;
            let mut j = i;
            while j < spans.len() && (j == i || spans[j].end as usize - from <= TOUCH_CHUNK) {
                j += 1;
            }
            let to = spans[j - 1].end as usize;
            let nodes = &self.uf.nodes;
            for &a in &flat[from..to] {
                // `a`'s node was prefetched in pass 1; fetch its parent's.
                prefetch(nodes, nodes[a as usize].parent as usize);
            }
            for s in &spans[i..j] {
                self.process_tx(store, c, s, &flat[s.start as usize..s.end as usize]);
            }
            i = j;
        }
        self.flat = flat;
        self.spans = spans;
        self.stats.blocks += 1;
    }

    fn process_tx(&mut self, store: &Store, c: &Columns<'_>, s: &Span, addrs: &[u32]) {
        let t = s.tx;
        let a0 = addrs[0];
        let multi = addrs.iter().any(|&a| a != a0);
        if !multi && !self.change_on {
            return;
        }
        self.stats.multi_input_txs += u64::from(multi);
        let outs = c.tx_outputs(t);
        let join = multi && self.cfg.heuristics.contains(Heuristic::MultiInput);
        if outs.end - outs.start < 3 && !self.change_on {
            // No CoinJoin has fewer than three outputs (a tx0 may, but it
            // is single-owner too): join without looking at the outputs.
            if join {
                self.join_all(addrs, t);
            }
            return;
        }
        self.outs.clear();
        for o in outs {
            let a = c.out_addr[o as usize];
            self.outs.push(OutFact {
                value: c.value(o),
                kind: c.addr_kind[a as usize],
                addr: a,
            });
        }
        let class = {
            let first_in = s.first_in as usize;
            let value = |k: usize| match c.in_prevout.get(first_in + k) {
                Some(&p) if p < UNRESOLVED => c.value(p),
                _ => 0,
            };
            let shape = TxShape {
                n_inputs: s.n_in as usize,
                in_addrs: addrs,
                in_value: &value,
                outputs: &self.outs,
            };
            classify(&shape, &self.cfg.detect, &mut self.scratch)
        };
        if let Some(code) = class.code() {
            self.mixes.push(Mix { tx: t, class: code });
            self.stats.detections[code as usize] += 1;
        }
        if !class.single_owner() {
            return;
        }
        if join {
            self.join_all(addrs, t);
        }
        if self.change_on {
            self.change_links(store, c, s, addrs);
        }
    }

    /// Common-input ownership: joins every address of `addrs` (the inputs
    /// of transaction `tx`) to the first, recording each effective union.
    pub(crate) fn join_all(&mut self, addrs: &[u32], tx: u32) {
        let Some(&a0) = addrs.first() else {
            return;
        };
        let mut r = self.uf.find(a0);
        for &ai in &addrs[1..] {
            if ai == a0 {
                continue;
            }
            let ri = self.uf.find(ai);
            if ri != r {
                r = self.join(a0, r, ai, ri, tx, Heuristic::MultiInput);
            }
        }
    }

    /// Joins the sets of `a` (root `ra`) and `b` (root `rb`), recording the
    /// evidence; returns the new root.
    #[inline]
    fn join(&mut self, a: u32, ra: u32, b: u32, rb: u32, tx: u32, h: Heuristic) -> u32 {
        let m = self.uf.link_roots(ra, rb);
        let (sa, sb) = if m.root == ra {
            (m.root_size, m.child_size)
        } else {
            (m.child_size, m.root_size)
        };
        let e = self.edge_count();
        self.edges.push(Edge {
            a,
            b,
            tx,
            heuristic: h as u8,
        });
        self.stats.edges[h as usize] += 1;
        if sa.min(sb) >= self.cfg.guard.min_size {
            tracing::warn!(
                tx,
                heuristic = h.name(),
                size_a = sa,
                size_b = sb,
                "merge of two large clusters (review with `chainhound entity --superclusters`)"
            );
            self.events.push(Event {
                edge: e,
                size_a: sa,
                size_b: sb,
            });
            self.stats.events += 1;
        }
        m.root
    }

    /// Joins `a` and `b` if they are apart.
    fn link(&mut self, a: u32, b: u32, tx: u32, h: Heuristic) {
        let (ra, rb) = (self.uf.find(a), self.uf.find(b));
        if ra != rb {
            self.join(a, ra, b, rb, tx, h);
        }
    }

    fn change_links(&mut self, store: &Store, c: &Columns<'_>, s: &Span, addrs: &[u32]) {
        let (t, first_in, n_in, complete) = (s.tx, s.first_in, s.n_in as usize, s.complete);
        let a0 = addrs[0];
        if !self.per_tx_change.is_empty() {
            self.in_kinds.clear();
            self.in_kinds
                .extend(addrs.iter().map(|&a| c.addr_kind[a as usize]));
            self.in_values.clear();
            for &p in &c.in_prevout[first_in as usize..first_in as usize + n_in] {
                if p < UNRESOLVED {
                    self.in_values.push(c.value(p));
                }
            }
            let view = ChangeView {
                in_kinds: &self.in_kinds,
                in_values: &self.in_values,
                inputs_complete: complete,
                outputs: &self.outs,
                first_out: c.tx_first_out[t as usize],
                addr_first_out: c.addr_first_out,
            };
            let mut pick: Option<(usize, Heuristic)> = None;
            let mut conflict = false;
            for &h in &self.per_tx_change {
                if let Some(i) = change_output(h, &view) {
                    match pick {
                        None => pick = Some((i, h)),
                        Some((j, _)) if j != i => conflict = true,
                        Some(_) => {}
                    }
                }
            }
            if conflict {
                self.stats.change_conflicts += 1;
            } else if let Some((i, h)) = pick {
                let b = self.outs[i].addr;
                self.link(a0, b, t, h);
            }
        }
        if self.cfg.heuristics.contains(Heuristic::ChangePeel)
            && n_in == 1
            && complete
            && self.outs.len() == 2
            && self.outs.iter().all(|o| o.kind != OP_RETURN)
        {
            if let Some((from, to, tx)) = peel_link(store, c, first_in) {
                self.link(from, to, tx, Heuristic::ChangePeel);
            }
        }
    }

    /// Re-applies a recorded edge during a rebuild; false if its two
    /// addresses were already one set (the edge log is inconsistent).
    pub(crate) fn replay(&mut self, a: u32, b: u32) -> bool {
        self.uf.union(a, b).is_some()
    }
}

/// Whether transaction `t` has the shape of a peel step: one input, two
/// outputs.
fn peel_shaped(c: &Columns<'_>, t: u32) -> bool {
    let i = c.tx_inputs(t);
    let o = c.tx_outputs(t);
    i.end - i.start == 1 && o.end - o.start == 2
}

/// The peel-chain link decided at spender input `s_in` (the only input of a
/// one-input, two-output transaction): if it spends the strictly larger
/// output `o` of a one-input, two-output transaction `t`, whose other output
/// was not spent by a peel-shaped transaction earlier in the chain, then `o`
/// is `t`'s change. Returns (address of `t`'s input, address of `o`, `t`).
pub(crate) fn peel_link(store: &Store, c: &Columns<'_>, s_in: u32) -> Option<(u32, u32, u32)> {
    let o = *c.in_prevout.get(s_in as usize)?;
    if o >= UNRESOLVED {
        return None;
    }
    let t = owner_of(c.tx_first_out, o);
    if !peel_shaped(c, t) {
        return None;
    }
    let p = c.in_prevout[c.tx_inputs(t).start as usize];
    if p >= UNRESOLVED {
        return None;
    }
    let outs = c.tx_outputs(t);
    let sib = if o == outs.start { o + 1 } else { outs.start };
    let kind = |x: u32| c.addr_kind[c.out_addr[x as usize] as usize];
    if kind(o) == OP_RETURN || kind(sib) == OP_RETURN || c.value(o) <= c.value(sib) {
        return None;
    }
    if let Some(i) = store.spender(OutputId(sib)) {
        if i.0 < s_in && peel_shaped(c, owner_of(c.tx_first_in, i.0)) {
            return None;
        }
    }
    Some((c.out_addr[p as usize], c.out_addr[o as usize], t))
}
