//! The propagation core: follows tainted outputs through transactions in
//! chain order (forward) or reverse chain order (backward) under a model,
//! and records where every traced satoshi ends. Generic over
//! [`TxGraph`] so that property tests run it on random graphs.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::ops::Range;

use crate::frontier::Frontier;
use crate::graph::{Prev, TxGraph};
use crate::sweep::{Marks, Spends};
use crate::taint::{apportion, fifo_backward, ranges_len, ranges_push, Ranges};
use crate::types::{Direction, EndReason, Limits, Model, TreeEdge};
use chainhound_types::{OutputId, TxNum};

mod forward;

/// What the core asks of its surroundings.
pub(crate) trait Env {
    /// Whether output `o` belongs to a stop-at entity.
    fn stops(&self, o: u32) -> bool;
    /// Block time of transaction `t`.
    fn tx_time(&self, t: u32) -> u32;
    /// A hint that [`Env::stops`] of `o` is about to be asked.
    fn prefetch_stops(&self, _o: u32) {}
    /// The CoinJoin kind of transaction `t`, if it is one.
    fn mixer(&self, t: u32) -> Option<&'static str>;
}

/// The knobs of one run.
#[derive(Clone, Debug)]
pub(crate) struct Params {
    pub model: Model,
    pub direction: Direction,
    pub max_hops: Option<u32>,
    pub min_value: u64,
    pub until: Option<u32>,
    pub limits: Limits,
    /// Keep every output's taint in [`Raw::taint`] (tests; costs a hash
    /// insert per output).
    pub record_taint: bool,
    /// Forward haircut only: CoinJoin outputs judged to belong to the
    /// owner of the tainted inputs (post-mix consolidation). At a CoinJoin
    /// with such outputs the taint fills them first, by value; only the
    /// excess is spread by haircut over the other outputs and the fee.
    pub demixed: Option<std::collections::HashSet<u32>>,
    /// Forward haircut only: collect [`Raw::whole`] (the first pass of
    /// `--demix` needs it).
    pub collect_whole: bool,
    /// Record the flows between transactions and into fees
    /// ([`Raw::tx_flows`], [`Raw::fee_flows`]).
    pub flows: bool,
}

/// No FIFO ranges (haircut and poison items).
const NO_RANGES: u32 = u32::MAX;

/// Taint on one output (small and `Copy`: a slot of [`Run::slab`]).
#[derive(Clone, Copy, Debug)]
struct Item {
    amount: u64,
    /// FIFO only: the slot of the output's tainted ranges (from its start)
    /// in [`Run::ranges`]; [`NO_RANGES`] otherwise.
    ranges: u32,
    /// Hops of the transaction that created (forward) or spent (backward)
    /// the output, counted from the source.
    hmin: u32,
    hmax: u32,
    /// The transaction the item comes from (for the flow graph).
    from_tx: u32,
    /// The output whose taint this is (set when it is parked).
    output: u32,
}

/// Where traced value ended: at output `output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct End {
    pub output: u32,
    /// The transaction that created `output`.
    pub tx: u32,
    pub amount: u64,
    pub reason: EndReason,
    pub hmin: u32,
    pub hmax: u32,
}

/// A CoinJoin passed through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mix {
    pub tx: u32,
    pub kind: &'static str,
    pub amount_in: u64,
    pub amount_out: u64,
}

/// A limit that stopped the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawCut {
    pub limit: &'static str,
    pub value: u64,
    pub at_tx: Option<u32>,
    pub unfollowed: u64,
}

/// Everything a run found, in graph numbers.
#[derive(Debug, Default)]
pub(crate) struct Raw {
    pub source_value: u64,
    pub source_outputs: u64,
    pub ends: Vec<End>,
    pub fees: u64,
    pub below_min: u64,
    /// Taint that reached another source output (already traced whole).
    pub overlap: u64,
    pub mixers: Vec<Mix>,
    pub txs_visited: u64,
    pub hops_reached: u32,
    pub cut: Option<RawCut>,
    /// Traced satoshis per output touched (only with `record_taint`).
    pub taint: HashMap<u32, u64>,
    /// Per visited transaction (sorted by it), the output it got most
    /// taint from (forward: the spent output; backward: its own traced
    /// output) and that output's taint: the explanation tree.
    pub parent: Vec<TreeEdge>,
    /// Value moved between transactions (value direction), sorted by
    /// `(to, from)`, one entry per pair.
    pub tx_flows: Vec<((u32, u32), u64)>,
    /// Fee taint per transaction, sorted by transaction, one entry each.
    pub fee_flows: Vec<(u32, u64)>,
    /// Unmixed traced outputs (only with [`Params::collect_whole`]): the
    /// sources, and the outputs of non-zero value of every visited
    /// transaction that is not a CoinJoin and spends only outputs listed
    /// here, each wholly tainted — value that never met untraced value nor
    /// passed a CoinJoin.
    pub whole: std::collections::HashSet<u32>,
}

struct Run<'g, G: TxGraph, E: Env> {
    g: &'g G,
    env: &'g E,
    p: &'g Params,
    raw: Raw,
    /// Forward: spending input → item. Backward: traced output → item.
    /// A monotone queue of `(order, slot)`, where `order` is the key
    /// (forward) or its complement (backward). Input and output ids are in
    /// chain order, so the smallest order belongs to the next transaction
    /// to visit, that transaction's items are the next pops, and value only
    /// moves on to larger orders.
    pending: Frontier<u32>,
    /// The items `pending` points into, and the free slots.
    slab: Vec<Item>,
    free_items: Vec<u32>,
    /// FIFO only: the items' tainted ranges, and the free slots.
    ranges: Vec<Ranges>,
    free: Vec<u32>,
    /// Sorted.
    sources: Vec<u32>,
    /// Forward: the first input after the visited transaction's (every
    /// spender of its outputs is at or past it).
    min_key: u32,
    /// Forward: sweep the inputs (else queue items at their spenders, the
    /// reference the tests compare the sweep with).
    sweep: bool,
    /// Forward sweep: the tainted outputs not yet spent by a visited
    /// transaction (items of amount 0 were taken; sources apart, as they
    /// are marked first), and the stretches of inputs linked to spend
    /// them.
    marks: Marks<Item>,
    src_marks: Marks<Item>,
    spends: Spends,
    /// Forward sweep: every input below `scan` was read; the transactions
    /// found there with an input spending a marked output, with that
    /// input, in order; and the links below `scan` of outputs marked
    /// since, as `(input, output)` (a min-heap).
    scan: u32,
    ahead: VecDeque<(u32, u32)>,
    late: BinaryHeap<Reverse<(u32, u32)>>,
}

thread_local! {
    /// The items buffer of the last forward sweep on this thread: a
    /// trace marks hundreds of thousands of outputs, and reusing mapped
    /// memory spares their page faults and copies on growth.
    static ITEMS: std::cell::Cell<Vec<Item>> = const { std::cell::Cell::new(Vec::new()) };
    /// The same for the ends of the last report (see [`recycle_ends`]).
    static ENDS: std::cell::Cell<Vec<End>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Keeps the ends of a finished run for the next run on this thread.
pub(crate) fn recycle_ends(mut ends: Vec<End>) {
    ends.clear();
    ENDS.set(ends);
}

/// Runs the model from `sources` (outputs; their full value is traced;
/// one given twice counts once).
pub(crate) fn run<G: TxGraph, E: Env>(g: &G, env: &E, p: &Params, sources: &[u32]) -> Raw {
    run_as(g, env, p, sources, true)
}

/// [`run`] with forward items queued at their spenders instead of swept:
/// the reference the property tests hold the sweep to.
#[cfg(test)]
pub(crate) fn run_queued<G: TxGraph, E: Env>(g: &G, env: &E, p: &Params, sources: &[u32]) -> Raw {
    run_as(g, env, p, sources, false)
}

fn run_as<G: TxGraph, E: Env>(g: &G, env: &E, p: &Params, sources: &[u32], sweep: bool) -> Raw {
    let mut sources = sources.to_vec();
    sources.sort_unstable();
    sources.dedup();
    let sweep = sweep && p.direction == Direction::Forward;
    // The sweep reads from the first input after the first source's
    // transaction; every output it marks is past that transaction's.
    let (marks, src_marks, spends, scan) = match (sources.first(), sources.last()) {
        (Some(&first), Some(&last)) if sweep => {
            let t = g.tx_of_output(first);
            let after = g.inputs(t).end;
            (
                Marks::with_items(g.outputs(t).end, g.n_outputs(), ITEMS.take()),
                Marks::new(first, last + 1),
                Spends::new(after, g.n_inputs()),
                after,
            )
        }
        _ => (Marks::new(0, 0), Marks::new(0, 0), Spends::new(0, 0), 0),
    };
    let mut r = Run {
        g,
        env,
        p,
        raw: Raw {
            ends: ENDS.take(),
            ..Raw::default()
        },
        pending: Frontier::default(),
        slab: Vec::new(),
        free_items: Vec::new(),
        ranges: Vec::new(),
        free: Vec::new(),
        sources,
        // A link below the first input swept cannot hold.
        min_key: scan,
        sweep,
        marks,
        src_marks,
        spends,
        scan,
        ahead: VecDeque::new(),
        late: BinaryHeap::new(),
    };
    if p.collect_whole {
        r.raw.whole.extend(r.sources.iter().copied());
    }
    for k in 0..r.sources.len() {
        let o = r.sources[k];
        let v = g.value(o);
        r.raw.source_value += v;
        r.raw.source_outputs += 1;
        let ranges = if p.model == Model::Fifo && v > 0 {
            r.keep_ranges(vec![(0, v)])
        } else {
            NO_RANGES
        };
        let item = Item {
            amount: v,
            ranges,
            hmin: 0,
            hmax: 0,
            from_tx: g.tx_of_output(o),
            output: o,
        };
        r.route(o, item, true);
    }
    match p.direction {
        Direction::Forward if sweep => r.sweep(),
        Direction::Forward => r.forward_queued(),
        Direction::Backward => r.backward(),
    }
    if sweep {
        ITEMS.set(r.marks.into_items());
    }
    let mut raw = r.raw;
    // Forward visits transactions in increasing order, backward in
    // decreasing order.
    if p.direction == Direction::Backward {
        raw.parent.reverse();
        raw.fee_flows.reverse();
    }
    if p.direction == Direction::Backward {
        raw.tx_flows.reverse();
    }
    sort_flows(&mut raw.tx_flows);
    raw
}

impl<G: TxGraph, E: Env> Run<'_, G, E> {
    #[inline(always)]
    fn end(&mut self, o: u32, item: &Item, reason: EndReason) {
        // Forward items come from the transaction that created them.
        let tx = match self.p.direction {
            Direction::Forward => item.from_tx,
            Direction::Backward => self.g.tx_of_output(o),
        };
        self.raw.ends.push(End {
            output: o,
            tx,
            amount: item.amount,
            reason,
            hmin: item.hmin,
            hmax: item.hmax,
        });
    }

    /// [`Run::end`] for an item taken off the queue: also frees its FIFO
    /// ranges.
    fn end_unfollowed(&mut self, o: u32, item: &Item, reason: EndReason) {
        self.end(o, item, reason);
        if item.ranges != NO_RANGES {
            self.take_ranges(item.ranges);
        }
    }

    /// Whether `o` is one of the sources.
    #[inline]
    fn is_source(&self, o: u32) -> bool {
        match (self.sources.first(), self.sources.last()) {
            (Some(&lo), Some(&hi)) if (lo..=hi).contains(&o) => {
                self.sources.binary_search(&o).is_ok()
            }
            _ => false,
        }
    }

    /// Decides what happens to taint arriving on output `o`.
    #[inline(always)]
    fn route(&mut self, o: u32, item: Item, is_source: bool) {
        self.route_spent(o, item, is_source, None);
    }

    /// [`Run::route`], with `o`'s spender when the caller looked it up
    /// already (forward: a transaction's outputs' spenders are read
    /// together, so that their cache misses overlap).
    #[inline(always)]
    fn route_spent(&mut self, o: u32, item: Item, is_source: bool, spender: Option<Option<u32>>) {
        if !self.follow(o, item, is_source, spender) && item.ranges != NO_RANGES {
            self.take_ranges(item.ranges);
        }
    }

    /// [`Run::route`]: whether the item was queued (else it ended here).
    /// (Inlined: an item built field by field and read back whole from
    /// memory stalls on store forwarding.)
    #[inline(always)]
    fn follow(
        &mut self,
        o: u32,
        item: Item,
        is_source: bool,
        spender: Option<Option<u32>>,
    ) -> bool {
        if item.amount == 0 {
            return false;
        }
        if !is_source && self.is_source(o) {
            // Already traced at its full value as a source.
            self.raw.overlap += item.amount;
            return false;
        }
        if self.p.record_taint {
            self.raw.taint.insert(o, item.amount);
        }
        if !is_source && self.env.stops(o) {
            self.end(o, &item, EndReason::Stop);
            return false;
        }
        if item.amount < self.p.min_value {
            self.raw.below_min += item.amount;
            return false;
        }
        let next_hop = item.hmin + 1;
        let over_hops = self.p.max_hops.is_some_and(|m| next_hop > m);
        match self.p.direction {
            Direction::Forward => {
                // The stored link is confirmed when the spending
                // transaction is visited (its inputs are read then anyway),
                // or here if a limit needs the spender now.
                let Some(i) = spender.unwrap_or_else(|| self.g.spender_link(o)) else {
                    self.end(o, &item, EndReason::Unspent);
                    return false;
                };
                // A link to an input not after the visited transaction's
                // cannot hold (and must not enter the monotone queue).
                let confirm = self.p.until.is_some() || over_hops;
                if i < self.min_key || (confirm && self.g.prevout(i) != Prev::Output(o)) {
                    self.end(o, &item, EndReason::Unspent);
                    return false;
                }
                if let Some(u) = self.p.until {
                    if self.env.tx_time(self.g.tx_of_input(i)) > u {
                        self.end(o, &item, EndReason::Until);
                        return false;
                    }
                }
                if over_hops {
                    self.end(o, &item, EndReason::MaxHops);
                    return false;
                }
                let item = Item { output: o, ..item };
                if self.sweep {
                    if is_source {
                        self.src_marks.mark(o, item);
                    } else {
                        self.marks.mark(o, item);
                    }
                    self.spends.add(i);
                    if i < self.scan {
                        // Read already: the sweep must come back for it.
                        self.late.push(Reverse((i, o)));
                    }
                } else {
                    self.park(i, item);
                }
                true
            }
            Direction::Backward => {
                if let Some(u) = self.p.until {
                    if self.env.tx_time(self.g.tx_of_output(o)) < u {
                        self.end(o, &item, EndReason::Until);
                        return false;
                    }
                }
                if over_hops {
                    self.end(o, &item, EndReason::MaxHops);
                    return false;
                }
                self.park(o, Item { output: o, ..item });
                true
            }
        }
    }

    #[inline(always)]
    fn park(&mut self, key: u32, item: Item) {
        let order = match self.p.direction {
            Direction::Forward => key,
            Direction::Backward => !key,
        };
        let slot = match self.free_items.pop() {
            Some(s) => {
                self.slab[s as usize] = item;
                s
            }
            None => {
                self.slab.push(item);
                (self.slab.len() - 1) as u32
            }
        };
        self.pending.push(order, slot);
    }

    /// The item in `slot` (frees the slot).
    fn unpark(&mut self, slot: u32) -> Item {
        self.free_items.push(slot);
        self.slab[slot as usize]
    }

    /// Keeps FIFO ranges; returns their slot.
    fn keep_ranges(&mut self, r: Ranges) -> u32 {
        match self.free.pop() {
            Some(s) => {
                self.ranges[s as usize] = r;
                s
            }
            None => {
                self.ranges.push(r);
                (self.ranges.len() - 1) as u32
            }
        }
    }

    /// The ranges in `slot` (frees the slot).
    fn take_ranges(&mut self, slot: u32) -> Ranges {
        self.free.push(slot);
        std::mem::take(&mut self.ranges[slot as usize])
    }

    /// An item's FIFO ranges (taken), or none.
    fn ranges_of(&mut self, item: &Item) -> Ranges {
        if item.ranges == NO_RANGES {
            Vec::new()
        } else {
            self.take_ranges(item.ranges)
        }
    }

    /// The key of the next pending item, if any. Forward, items parked on
    /// a stale spender link are ended (unspent) when they come to the head,
    /// so that the next key belongs to a transaction that really receives
    /// taint, and the limits are checked at that transaction.
    fn next_key(&mut self) -> Option<u32> {
        if self.p.direction == Direction::Backward {
            return self.pending.peek().map(|order| self.key_of(order));
        }
        loop {
            let (order, slot) = self.pending.pop_below(1 << 32)?;
            let item = self.slab[slot as usize];
            if self.is_stale(order, &item) {
                self.free_items.push(slot);
                self.end_unfollowed(item.output, &item, EndReason::Unspent);
                continue;
            }
            // Back at the head (the floor is `order` now).
            self.pending.push(order, slot);
            return Some(order);
        }
    }

    /// Forward: whether an item parked at input `k` came there over a
    /// spender link that does not hold (`k` spends another output).
    fn is_stale(&self, k: u32, item: &Item) -> bool {
        self.p.direction == Direction::Forward && self.g.prevout(k) != Prev::Output(item.output)
    }

    /// The key of a queue order.
    fn key_of(&self, order: u32) -> u32 {
        match self.p.direction {
            Direction::Forward => order,
            Direction::Backward => !order,
        }
    }

    /// Moves the pending items with keys in `r` into `out` (cleared
    /// first), in key order. The range holds the next keys to pop.
    fn take_range(&mut self, r: Range<u32>, out: &mut Vec<(u32, Item)>) {
        out.clear();
        // Orders below the limit are the keys in `r` (the smallest pending
        // key is in `r`).
        let limit = match self.p.direction {
            Direction::Forward => u64::from(r.end),
            Direction::Backward => u64::from(!r.start) + 1,
        };
        while let Some((order, slot)) = self.pending.pop_below(limit) {
            let k = self.key_of(order);
            let item = self.unpark(slot);
            debug_assert!(r.contains(&k), "pending keys of one transaction");
            if self.is_stale(k, &item) {
                // A stale spender link: the output is unspent after all.
                self.end_unfollowed(item.output, &item, EndReason::Unspent);
                continue;
            }
            // A source given twice is parked twice at the same key with the
            // same item; it counts once.
            if out.last().is_some_and(|(last, _)| *last == k) {
                if item.ranges != NO_RANGES {
                    self.take_ranges(item.ranges);
                }
                continue;
            }
            out.push((k, item));
        }
        if self.p.direction == Direction::Backward {
            out.reverse();
        }
    }

    /// Ends everything still pending as cut by `limit`.
    fn cut(&mut self, limit: &'static str, value: u64, at_tx: u32) {
        let mut unfollowed = 0;
        let mut pending: Vec<(u32, Item)> = self
            .pending
            .drain()
            .into_iter()
            .map(|(order, slot)| (self.key_of(order), self.slab[slot as usize]))
            .collect();
        // Swept items, at their spenders (they were marked with a link).
        let g = self.g;
        for (o, it) in self.swept_pending() {
            match g.spender_link(o) {
                Some(k) => pending.push((k, it)),
                None => self.end(o, &it, EndReason::Unspent),
            }
        }
        // Stale spender links end unspent (before the duplicates of a key
        // are dropped: a stale item may share its key with a real one).
        let mut live = Vec::with_capacity(pending.len());
        for (k, item) in pending {
            if self.is_stale(k, &item) {
                self.end(item.output, &item, EndReason::Unspent);
            } else {
                live.push((k, item));
            }
        }
        live.sort_unstable_by_key(|e| e.0);
        live.dedup_by_key(|e| e.0);
        for (_, item) in live {
            unfollowed += item.amount;
            self.end(item.output, &item, EndReason::Cut);
        }
        self.raw.cut = Some(RawCut {
            limit,
            value,
            at_tx: Some(at_tx),
            unfollowed,
        });
    }

    fn check_limits(&mut self, next_tx: u32) -> bool {
        let l = self.p.limits;
        if self.raw.txs_visited >= l.max_txs {
            self.cut("max_txs", l.max_txs, next_tx);
            return false;
        }
        if self.pending.len() as u64 + self.spends.pending() > l.max_frontier {
            self.cut("max_frontier", l.max_frontier, next_tx);
            return false;
        }
        true
    }

    fn backward(&mut self) {
        let mut in_vals: Vec<u64> = Vec::new();
        let mut parts: Vec<u64> = Vec::new();
        let mut in_ranges: Vec<Ranges> = Vec::new();
        let mut items: Vec<(u32, Item)> = Vec::new();
        while let Some(last) = self.next_key() {
            let g = self.g;
            let t = g.tx_of_output(last);
            if !self.check_limits(t) {
                return;
            }
            self.take_range(g.outputs(t), &mut items);
            self.raw.txs_visited += 1;
            let ins = g.inputs(t);
            let (mut hmin, mut hmax) = (u32::MAX, 0);
            let mut traced = 0u64;
            let mut best = (0u64, u32::MAX);
            for (o, item) in &items {
                hmin = hmin.min(item.hmin + 1);
                hmax = hmax.max(item.hmax + 1);
                traced += item.amount;
                if item.amount > best.0 || best.1 == u32::MAX {
                    best = (item.amount, *o);
                }
            }
            self.raw.hops_reached = self.raw.hops_reached.max(hmax);
            self.raw.parent.push(TreeEdge {
                tx: TxNum(t),
                from: OutputId(best.1),
                amount: best.0,
            });
            let first = ins.clone().next().map(|i| g.prevout(i));
            let unresolved = ins.clone().any(|i| g.prevout(i) == Prev::Unresolved);
            if first == Some(Prev::Coinbase) || unresolved || ins.is_empty() {
                let reason = if unresolved {
                    EndReason::Unresolved
                } else {
                    EndReason::Coinbase
                };
                for (o, item) in &items {
                    let mut it = *item;
                    it.hmin += 1;
                    it.hmax += 1;
                    self.end(*o, &it, reason);
                }
                continue;
            }
            in_vals.clear();
            in_vals.extend(ins.clone().map(|i| g.funding_value(i)));
            let mut in_items: Vec<Item> = Vec::with_capacity(in_vals.len());
            match self.p.model {
                Model::Haircut => {
                    apportion(traced, &in_vals, &mut parts);
                    for &a in &parts {
                        in_items.push(item_of(a, NO_RANGES, hmin, hmax, t));
                    }
                }
                Model::Poison => {
                    for &v in &in_vals {
                        in_items.push(item_of(v, NO_RANGES, hmin, hmax, t));
                    }
                }
                Model::Fifo => {
                    let outs = g.outputs(t);
                    let mut line: Ranges = Vec::new();
                    let mut base = 0u64;
                    let mut it = items.iter().peekable();
                    for o in outs {
                        let v = g.value(o);
                        while let Some((oo, item)) = it.peek() {
                            if *oo != o {
                                break;
                            }
                            for &(a, b) in &self.ranges_of(item) {
                                ranges_push(&mut line, base + a, base + b);
                            }
                            it.next();
                        }
                        base += v;
                    }
                    fifo_backward(&line, &in_vals, &mut in_ranges);
                    for r in std::mem::take(&mut in_ranges) {
                        let n = ranges_len(&r);
                        let slot = self.keep_ranges(r);
                        in_items.push(item_of(n, slot, hmin, hmax, t));
                    }
                }
            }
            if let Some(kind) = self.env.mixer(t) {
                self.raw.mixers.push(Mix {
                    tx: t,
                    kind,
                    amount_in: in_items.iter().map(|it| it.amount).sum(),
                    amount_out: traced,
                });
            }
            for (k, item) in ins.zip(in_items) {
                if let Prev::Output(p) = g.prevout(k) {
                    if item.amount > 0 && self.p.flows {
                        self.raw
                            .tx_flows
                            .push(((g.tx_of_output(p), t), item.amount));
                    }
                    self.route(p, item, false);
                }
            }
        }
    }
}

/// Sorts flows pushed in order of their receiving transaction by
/// `(to, from)` and merges repeated pairs: only each transaction's own
/// short group needs sorting.
fn sort_flows(flows: &mut Vec<((u32, u32), u64)>) {
    let mut k = 0;
    while k < flows.len() {
        let to = flows[k].0 .1;
        let n = flows[k..].iter().take_while(|f| f.0 .1 == to).count();
        debug_assert!(
            flows.get(k + n).is_none_or(|f| f.0 .1 > to),
            "flows grouped by receiving transaction, in order"
        );
        flows[k..k + n].sort_unstable_by_key(|f| f.0 .0);
        k += n;
    }
    flows.dedup_by(|next, kept| {
        let same = next.0 == kept.0;
        if same {
            kept.1 += next.1;
        }
        same
    });
}

fn item_of(amount: u64, ranges: u32, hmin: u32, hmax: u32, from_tx: u32) -> Item {
    Item {
        amount,
        ranges,
        hmin,
        hmax,
        from_tx,
        output: u32::MAX,
    }
}
