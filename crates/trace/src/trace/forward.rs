//! The forward sweep of [`super::run`]: transactions are visited in chain
//! order as the inputs linked to spend tainted outputs come up in
//! [`crate::sweep::Spends`], a few read ahead so that their memory is fetched while the
//! one before is worked on; and the visit itself, shared with the queue
//! that the property tests hold the sweep to.

use std::cmp::Reverse;

use super::{Item, Run, NO_RANGES};
use crate::graph::{Prev, TxGraph};
use crate::taint::{apportion, fifo_forward, ranges_len, ranges_push, Ranges};
use crate::trace::{item_of, Env, Mix};
use crate::types::{EndReason, Model, TreeEdge};
use chainhound_types::{OutputId, TxNum};

/// How many transactions the sweep reads ahead of the one it visits,
/// fetching their items, funding values and outputs into the cache.
const LOOKAHEAD: usize = 4;

/// What a visit takes off its transaction's tainted inputs, summed.
#[derive(Clone, Copy, Debug)]
pub(super) struct Taken {
    tainted: u64,
    hmin: u32,
    hmax: u32,
    /// The largest item and the output it was on (the first of equals in
    /// input order): the explanation tree's edge.
    best: (u64, u32),
}

impl Taken {
    const NONE: Taken = Taken {
        tainted: 0,
        hmin: u32::MAX,
        hmax: 0,
        best: (0, u32::MAX),
    };

    /// Whether nothing was taken (no item added).
    fn is_empty(&self) -> bool {
        self.best.1 == u32::MAX
    }

    /// Adds `item`, which was on output `prev`.
    #[inline]
    fn add(&mut self, item: &Item, prev: u32) {
        self.hmin = self.hmin.min(item.hmin + 1);
        self.hmax = self.hmax.max(item.hmax + 1);
        self.tainted += item.amount;
        if item.amount > self.best.0 || self.is_empty() {
            self.best = (item.amount, prev);
        }
    }
}

/// Reusable buffers of [`Run::visit_forward`].
#[derive(Default)]
pub(super) struct Scratch {
    in_vals: Vec<u64>,
    out_vals: Vec<u64>,
    weights: Vec<u64>,
    parts: Vec<u64>,
    out_ranges: Vec<Ranges>,
    out_items: Vec<(u32, Item)>,
    demix: Vec<bool>,
    own: Vec<u64>,
    line: Ranges,
}

impl<G: TxGraph, E: Env> Run<'_, G, E> {
    /// Forward sweep: the marked items not taken, in output order
    /// (sources first).
    pub(super) fn swept_pending(&self) -> Vec<(u32, Item)> {
        self.src_marks
            .iter()
            .chain(self.marks.iter())
            .filter(|(_, it)| it.amount > 0)
            .map(|(o, it)| (o, *it))
            .collect()
    }

    /// Forward sweep: the item of marked output `o`, if not taken.
    #[inline]
    fn marked(&mut self, o: u32) -> Option<&mut Item> {
        match self.marks.get_mut(o) {
            Some(it) => Some(it),
            None => self.src_marks.get_mut(o),
        }
        .filter(|it| it.amount > 0)
    }

    /// Forward sweep: whether input `k` spends a marked output.
    #[inline]
    fn spends_marked(&self, k: u32) -> bool {
        match self.g.prevout(k) {
            Prev::Output(o) => self.marks.contains(o) || self.src_marks.contains(o),
            _ => false,
        }
    }

    /// Forward sweep: takes pending inputs off [`crate::sweep::Spends`] until
    /// [`LOOKAHEAD`] transactions are known ahead (or none is pending), and
    /// starts fetching what their visits will read.
    fn read_ahead(&mut self, from_tx: u32) {
        let g = self.g;
        while self.ahead.len() < LOOKAHEAD {
            let Some(k) = self.spends.next_from(self.scan) else {
                break;
            };
            self.scan = k + 1;
            if !self.spends_marked(k) {
                // A stale link: the output stays pending (and ends unspent).
                continue;
            }
            let after = self.ahead.back().map_or(from_tx, |e| e.1);
            let t = g.tx_of_input_from(k, after);
            let ins = g.inputs(t);
            for j in ins.clone() {
                if let Prev::Output(o) = g.prevout(j) {
                    g.prefetch_value(o);
                    self.marks.prefetch(o);
                }
            }
            g.prefetch_outputs(g.outputs(t));
            self.scan = ins.end;
            self.ahead.push_back((k, t));
        }
    }

    /// Forward: reads the inputs after the first source's transaction in
    /// chain order, skipping stretches that [`crate::sweep::Spends`] says spend nothing
    /// marked, and visits every transaction with an input that spends a
    /// marked output: in increasing order, as the queue would take them,
    /// the next ones read ahead so that their misses overlap the work.
    pub(super) fn sweep(&mut self) {
        let g = self.g;
        let mut sc = Scratch::default();
        let mut items: Vec<(u32, Item)> = Vec::new();
        let mut prev_tx = 0;
        loop {
            self.read_ahead(prev_tx);
            let next_late = self.late.peek().map(|r| r.0 .0);
            let s = match (self.ahead.front(), next_late) {
                (None, None) => break,
                (Some(&(k, t)), late) if late.is_none_or(|l| k < l) => t,
                (_, Some(l)) => g.tx_of_input_from(l, prev_tx),
                (Some(_), None) => unreachable!("handled above"),
            };
            let ins = g.inputs(s);
            // Taken off both lists; a late link that does not hold (stale)
            // is no reason to visit.
            let mut real = false;
            let ahead = self.ahead.front().is_some_and(|e| e.1 == s);
            if ahead {
                self.ahead.pop_front();
                real = true;
                // The next one's outputs were fetched a few visits ago:
                // now the stop-at bits of their addresses.
                if let Some(&(_, t)) = self.ahead.front() {
                    for o in g.outputs(t) {
                        self.env.prefetch_stops(o);
                    }
                }
            }
            while let Some(&Reverse((k, o))) = self.late.peek() {
                if k >= ins.end {
                    break;
                }
                self.late.pop();
                real |= g.prevout(k) == Prev::Output(o);
            }
            if !real {
                continue;
            }
            prev_tx = s;
            if !self.check_limits(s) {
                return;
            }
            if !ahead {
                g.prefetch_outputs(g.outputs(s));
            }
            // The input line's value, and its marked outputs taken (kept
            // one by one only where FIFO or the flow graph needs them).
            let keep = self.p.model == Model::Fifo || self.p.flows;
            items.clear();
            let mut taken = Taken::NONE;
            let mut in_total = 0u64;
            for j in ins.clone() {
                if let Prev::Output(o) = g.prevout(j) {
                    in_total += g.value(o);
                    if let Some(it) = self.marked(o) {
                        taken.add(it, o);
                        if keep {
                            items.push((j, *it));
                        }
                        // Taken: an item of amount 0 is no longer pending.
                        it.amount = 0;
                        self.spends.remove(j);
                    }
                }
            }
            if !taken.is_empty() {
                self.min_key = ins.end;
                self.visit_forward(s, &taken, in_total, &items, &mut sc);
            }
        }
        // Marked outputs no input spends: their links were stale.
        if self.spends.pending() > 0 {
            for (o, it) in self.swept_pending() {
                self.end_unfollowed(o, &it, EndReason::Unspent);
            }
        }
    }

    /// Forward by the queue of items at their spenders: the reference the
    /// property tests hold [`Run::sweep`] to (traces themselves sweep).
    pub(super) fn forward_queued(&mut self) {
        let mut sc = Scratch::default();
        let mut items: Vec<(u32, Item)> = Vec::new();
        let mut prev_tx = 0;
        while let Some(first) = self.next_key() {
            let g = self.g;
            let s = g.tx_of_input_from(first, prev_tx);
            prev_tx = s;
            if !self.check_limits(s) {
                return;
            }
            self.take_range(g.inputs(s), &mut items);
            if items.is_empty() {
                // Only stale spender links pointed here: not a visit.
                continue;
            }
            self.min_key = g.inputs(s).end;
            let mut taken = Taken::NONE;
            for (_, item) in &items {
                // (Not stale: the input spends `item.output`.)
                taken.add(item, item.output);
            }
            let in_total = g.inputs(s).map(|i| g.funding_value(i)).sum();
            self.visit_forward(s, &taken, in_total, &items, &mut sc);
        }
    }

    /// Forward: visits transaction `s`, whose tainted inputs came to
    /// `taken`, of an input line worth `in_total`, and routes the taint of
    /// its outputs. `items` are the inputs taken one by one, in input
    /// order, as FIFO and the flow graph need them (else empty).
    fn visit_forward(
        &mut self,
        s: u32,
        taken: &Taken,
        in_total: u64,
        items: &[(u32, Item)],
        sc: &mut Scratch,
    ) {
        let g = self.g;
        let Scratch {
            in_vals,
            out_vals,
            weights,
            parts,
            out_ranges,
            out_items,
            demix,
            own,
            line,
        } = sc;
        self.raw.txs_visited += 1;
        let Taken {
            tainted,
            hmin,
            hmax,
            best,
        } = *taken;
        let outs = g.outputs(s);
        out_vals.clear();
        out_vals.extend(outs.clone().map(|o| g.value(o)));
        let out_total: u64 = out_vals.iter().sum();
        let fee = in_total.saturating_sub(out_total);
        if self.p.flows {
            let flows_from = self.raw.tx_flows.len();
            for (_, item) in items {
                // Items of one source transaction are usually adjacent.
                match self.raw.tx_flows[flows_from..].last_mut() {
                    Some(((f, _), v)) if *f == item.from_tx => *v += item.amount,
                    _ => self.raw.tx_flows.push(((item.from_tx, s), item.amount)),
                }
            }
        }
        if self.p.model == Model::Fifo {
            // The input line, with each taken input's ranges at its place.
            let ins = g.inputs(s);
            in_vals.clear();
            in_vals.extend(ins.clone().map(|i| g.funding_value(i)));
            line.clear();
            for (i, item) in items {
                let k = (*i - ins.start) as usize;
                let base: u64 = in_vals[..k].iter().sum();
                for &(a, b) in &self.ranges_of(item) {
                    ranges_push(line, base + a, base + b);
                }
            }
        }
        self.raw.hops_reached = self.raw.hops_reached.max(hmax);
        self.raw.parent.push(TreeEdge {
            tx: TxNum(s),
            from: OutputId(best.1),
            amount: best.0,
        });
        let mixer = self.env.mixer(s);
        // The taint of each output, and of the fee.
        let (fee_taint, amount_out) = match self.p.model {
            Model::Haircut => {
                demix.clear();
                if let (Some(d), Some(_)) = (&self.p.demixed, mixer) {
                    demix.extend(outs.clone().map(|o| d.contains(&o)));
                }
                let cap: u64 = demix
                    .iter()
                    .zip(out_vals.iter())
                    .filter(|(d, _)| **d)
                    .map(|(_, v)| v)
                    .sum();
                if cap > 0 {
                    // Fill the owner's outputs first, by value.
                    let first = tainted.min(cap);
                    weights.clear();
                    weights.extend(
                        demix
                            .iter()
                            .zip(out_vals.iter())
                            .map(|(d, v)| if *d { *v } else { 0 }),
                    );
                    weights.push(0);
                    apportion(first, weights, own);
                    weights.clear();
                    weights.extend(
                        demix
                            .iter()
                            .zip(out_vals.iter())
                            .map(|(d, v)| if *d { 0 } else { *v }),
                    );
                    weights.push(fee);
                    apportion(tainted - first, weights, parts);
                    for (p, o) in parts.iter_mut().zip(own.iter()) {
                        *p += o;
                    }
                } else {
                    // The outputs and the fee last are the weights. Value
                    // the inputs cannot show (unresolved funding) is never
                    // tainted; if outputs exceed the known inputs the
                    // outputs are the weights.
                    out_vals.push(fee);
                    apportion(tainted, out_vals, parts);
                    out_vals.pop();
                }
                let fee_taint = parts[out_vals.len()];
                // Unmixed traced value: every input wholly tainted (then
                // each output's part is its value) and itself unmixed.
                if self.p.collect_whole
                    && mixer.is_none()
                    && tainted == in_total
                    && g.inputs(s).all(
                        |k| matches!(g.prevout(k), Prev::Output(p) if self.raw.whole.contains(&p)),
                    )
                {
                    for (o, &v) in outs.clone().zip(out_vals.iter()) {
                        if v > 0 {
                            self.raw.whole.insert(o);
                        }
                    }
                }
                (fee_taint, tainted - fee_taint)
            }
            Model::Poison => (fee, out_total),
            Model::Fifo => {
                let fee_taint = fifo_forward(line, out_vals, out_ranges);
                (fee_taint, out_ranges.iter().map(|r| ranges_len(r)).sum())
            }
        };
        if fee_taint > 0 {
            self.raw.fees += fee_taint;
            if self.p.flows {
                self.raw.fee_flows.push((s, fee_taint));
            }
        }
        debug_assert_eq!(
            amount_out,
            match self.p.model {
                Model::Haircut => parts[..out_vals.len()].iter().sum::<u64>(),
                Model::Poison => out_vals.iter().sum(),
                Model::Fifo => out_ranges.iter().map(|r| ranges_len(r)).sum(),
            },
            "the outputs' taint"
        );
        if let Some(kind) = mixer {
            self.raw.mixers.push(Mix {
                tx: s,
                kind,
                amount_in: tainted,
                amount_out,
            });
        }
        // (An output without taint, as most of a CoinJoin's are, is not
        // followed: its link is not read.)
        match self.p.model {
            Model::Haircut | Model::Poison => {
                let amounts = match self.p.model {
                    Model::Haircut => &parts[..out_vals.len()],
                    _ => &out_vals[..],
                };
                for (o, &a) in outs.zip(amounts) {
                    if a > 0 {
                        self.route(o, item_of(a, NO_RANGES, hmin, hmax, s), false);
                    }
                }
            }
            Model::Fifo => {
                out_items.clear();
                for (j, o) in outs.enumerate() {
                    let r = std::mem::take(&mut out_ranges[j]);
                    let n = ranges_len(&r);
                    let slot = self.keep_ranges(r);
                    out_items.push((o, item_of(n, slot, hmin, hmax, s)));
                }
                for (o, item) in out_items.drain(..) {
                    self.route(o, item, false);
                }
            }
        }
    }
}
