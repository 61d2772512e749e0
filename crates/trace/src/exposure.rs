//! Exposure: how much of what an address or entity received came from
//! (incoming), and of what it sent went to (outgoing), entities of each
//! attribution category — directly (one transaction) or through up to
//! `hops` transactions of unattributed intermediaries — under haircut.
//!
//! Work is bounded: at most `max_sources` of the target's outputs (newest
//! first) and `max_txs` transactions per direction, so a screening request
//! costs microseconds for an ordinary address and a bounded few
//! milliseconds for an exchange's hot wallet (then marked `cut`).

use std::collections::{BTreeMap, HashMap};

use chainhound_entities::{EntityId, TxClass};
use chainhound_types::TxNum;

use crate::engine::Engine;
use crate::error::Result;
use crate::graph::{Prev, StoreGraph, TxGraph};
use crate::taint::apportion;
use crate::types::{
    CategoryExposure, DirectionExposure, EvidencePath, Exposure, ExposureOptions, Target,
};

/// The category under which value entering a detected CoinJoin counts.
pub const MIXER_CATEGORY: &str = "mixer";

pub(crate) fn exposure(e: &Engine, target: &Target, o: &ExposureOptions) -> Result<Exposure> {
    let (sources, src_cut) = e.source_outputs(target, o.max_sources)?;
    let g = StoreGraph::new(&e.store);
    let me: Option<EntityId> = match *target {
        Target::Address(a) => Some(e.entity_of(a)),
        Target::Entity(x) => Some(x),
        Target::Output { .. } | Target::Tx(_) => None,
    };
    let info = match me {
        Some(x) => e.entity_info(x),
        None => {
            let first = sources.first().copied().unwrap_or(0);
            e.entity_info(e.entity_of(e.out_addr(first)))
        }
    };
    let hops = o.hops.max(1);
    let mut w = Walk {
        e,
        g: &g,
        me,
        o,
        hops,
        acc: BTreeMap::new(),
        parent: HashMap::new(),
        taint: HashMap::new(),
        arrivals: Vec::new(),
        total: 0,
        unattributed: 0,
        visited: 0,
        cut: src_cut,
        parts: Vec::new(),
        weights: Vec::new(),
    };
    w.outgoing(&sources);
    let outgoing = w.finish(true);
    w.incoming(&sources);
    let incoming = w.finish(false);
    Ok(Exposure {
        target: *target,
        entity: info,
        hops,
        incoming,
        outgoing,
    })
}

#[derive(Default)]
struct Acc {
    direct: u64,
    indirect: u64,
    entities: Vec<EntityId>,
}

/// An arrival at an attributed entity (or a mixer): the output (outgoing:
/// paid to it; incoming: its own output spent towards the target) and the
/// categories it counts under.
struct Arrival {
    output: u32,
    /// Incoming: the spending transaction (the path continues from there).
    via_tx: u32,
    amount: u64,
    counterparty: EntityId,
    categories: Vec<String>,
}

struct Walk<'a> {
    e: &'a Engine,
    g: &'a StoreGraph<'a>,
    me: Option<EntityId>,
    o: &'a ExposureOptions,
    hops: u32,
    acc: BTreeMap<String, Acc>,
    /// Per visited transaction, the output that brought most value
    /// (outgoing: a spent output; incoming: its own traced output).
    parent: HashMap<u32, u32>,
    taint: HashMap<u32, u64>,
    arrivals: Vec<Arrival>,
    total: u64,
    unattributed: u64,
    visited: u64,
    cut: bool,
    parts: Vec<u64>,
    weights: Vec<u64>,
}

impl Walk<'_> {
    fn is_me(&self, ent: EntityId) -> bool {
        self.me == Some(ent)
    }

    fn mixer(&self, t: u32) -> bool {
        matches!(
            self.e.clusters.detection(TxNum(t)),
            Some(TxClass::CoinJoin(_))
        )
    }

    /// Counts `amount` reaching `ent` at `hop`; false if `ent` has no
    /// category (the walk goes on).
    fn arrive(&mut self, ent: EntityId, hop: u32, amount: u64, output: u32, via_tx: u32) -> bool {
        let Some(info) = self.e.attr.get(ent) else {
            return false;
        };
        if info.categories.is_empty() {
            return false;
        }
        let cats = info.categories.clone();
        self.count(&cats, ent, hop, amount, output, via_tx);
        true
    }

    fn count(
        &mut self,
        cats: &[String],
        ent: EntityId,
        hop: u32,
        amount: u64,
        output: u32,
        via_tx: u32,
    ) {
        for c in cats {
            let a = self.acc.entry(c.clone()).or_default();
            if hop <= 1 {
                a.direct += amount;
            } else {
                a.indirect += amount;
            }
            if !a.entities.contains(&ent) {
                a.entities.push(ent);
            }
        }
        self.arrivals.push(Arrival {
            output,
            via_tx,
            amount,
            counterparty: ent,
            categories: cats.to_vec(),
        });
    }

    fn outgoing(&mut self, sources: &[u32]) {
        let g = self.g;
        // spending tx -> (hop, tainted value in)
        let mut pending: BTreeMap<u32, (u32, u64, u64, u32)> = BTreeMap::new();
        for &o in sources {
            let Some(i) = g.spender(o) else { continue };
            let s = g.tx_of_input(i);
            let v = g.value(o);
            self.taint.insert(o, v);
            push(&mut pending, s, 1, v, o);
        }
        while let Some((s, (hop, tainted, _, best))) = pending.pop_first() {
            if self.visited >= self.o.max_txs {
                self.cut = true;
                self.unattributed += tainted + pending.values().map(|p| p.1).sum::<u64>();
                break;
            }
            self.visited += 1;
            self.parent.insert(s, best);
            if self.mixer(s) {
                if hop == 1 {
                    self.total += tainted;
                }
                let mix = vec![MIXER_CATEGORY.to_string()];
                let first = g.outputs(s).start;
                self.count(&mix, EntityId(u32::MAX), hop, tainted, first, s);
                continue;
            }
            let in_total: u64 = g
                .inputs(s)
                .map(|i| match g.prevout(i) {
                    Prev::Output(p) => g.value(p),
                    _ => 0,
                })
                .sum();
            let outs = g.outputs(s);
            self.weights.clear();
            self.weights.extend(outs.clone().map(|o| g.value(o)));
            let out_total: u64 = self.weights.iter().sum();
            self.weights.push(in_total.saturating_sub(out_total));
            let mut parts = std::mem::take(&mut self.parts);
            apportion(tainted, &self.weights, &mut parts);
            for (j, o) in outs.enumerate() {
                let a = parts[j];
                if a == 0 {
                    continue;
                }
                let ent = self.e.entity_of(self.e.out_addr(o));
                if self.is_me(ent) {
                    // Change (hop 1) or value coming back: not exposure.
                    continue;
                }
                if hop == 1 {
                    self.total += a;
                }
                self.taint.insert(o, a);
                if self.arrive(ent, hop, a, o, s) {
                    continue;
                }
                match g.spender(o) {
                    Some(i) if hop < self.hops => {
                        push(&mut pending, g.tx_of_input(i), hop + 1, a, o);
                    }
                    _ => self.unattributed += a,
                }
            }
            self.parts = parts;
        }
    }

    fn incoming(&mut self, sources: &[u32]) {
        let g = self.g;
        // creating tx -> (hop, traced value, best amount, best output)
        let mut pending: BTreeMap<u32, (u32, u64, u64, u32)> = BTreeMap::new();
        for &o in sources {
            let v = g.value(o);
            self.taint.insert(o, v);
            push(&mut pending, g.tx_of_output(o), 1, v, o);
        }
        while let Some((t, (hop, traced, _, best))) = pending.pop_last() {
            if self.visited >= self.o.max_txs {
                self.cut = true;
                self.unattributed += traced + pending.values().map(|p| p.1).sum::<u64>();
                break;
            }
            self.visited += 1;
            self.parent.insert(t, best);
            let ins = g.inputs(t);
            let first = ins.clone().next().map(|i| g.prevout(i));
            if first == Some(Prev::Coinbase) || ins.is_empty() {
                if hop == 1 {
                    self.total += traced;
                }
                self.unattributed += traced;
                continue;
            }
            if self.mixer(t) {
                if hop == 1 {
                    self.total += traced;
                }
                let mix = vec![MIXER_CATEGORY.to_string()];
                self.count(&mix, EntityId(u32::MAX), hop, traced, best, t);
                continue;
            }
            self.weights.clear();
            self.weights.extend(ins.clone().map(|i| match g.prevout(i) {
                Prev::Output(p) => g.value(p),
                _ => 0,
            }));
            let mut parts = std::mem::take(&mut self.parts);
            apportion(traced, &self.weights, &mut parts);
            for (k, i) in ins.enumerate() {
                let a = parts[k];
                if a == 0 {
                    continue;
                }
                let Prev::Output(p) = g.prevout(i) else {
                    self.unattributed += a;
                    continue;
                };
                let ent = self.e.entity_of(self.e.out_addr(p));
                if self.is_me(ent) {
                    // Its own coins moving: not exposure.
                    continue;
                }
                if hop == 1 {
                    self.total += a;
                }
                self.taint.insert(p, a);
                if self.arrive(ent, hop, a, p, t) {
                    continue;
                }
                if hop < self.hops {
                    push(&mut pending, g.tx_of_output(p), hop + 1, a, p);
                } else {
                    self.unattributed += a;
                }
            }
            self.parts = parts;
        }
    }

    /// Builds one direction's answer and resets the walk for the next.
    fn finish(&mut self, outgoing: bool) -> DirectionExposure {
        let total = self.total.max(1) as f64;
        let acc = std::mem::take(&mut self.acc);
        let mut arrivals = std::mem::take(&mut self.arrivals);
        arrivals.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.output.cmp(&b.output)));
        let mut categories: Vec<CategoryExposure> = acc
            .into_iter()
            .map(|(category, a)| {
                let paths = arrivals
                    .iter()
                    .filter(|x| x.categories.contains(&category))
                    .take(self.o.top_paths)
                    .map(|x| EvidencePath {
                        counterparty: x.counterparty,
                        amount: x.amount,
                        hops: self.path(x, outgoing),
                    })
                    .collect();
                CategoryExposure {
                    direct_share: a.direct as f64 / total,
                    indirect_share: a.indirect as f64 / total,
                    direct: a.direct,
                    indirect: a.indirect,
                    entities: a.entities.len() as u32,
                    paths,
                    category,
                }
            })
            .collect();
        categories.sort_by(|a, b| {
            (b.direct + b.indirect)
                .cmp(&(a.direct + a.indirect))
                .then(a.category.cmp(&b.category))
        });
        let d = DirectionExposure {
            total: self.total,
            categories,
            unattributed: self.unattributed,
            txs_visited: self.visited,
            cut: self.cut,
        };
        self.parent.clear();
        self.taint.clear();
        self.total = 0;
        self.unattributed = 0;
        self.visited = 0;
        d
    }

    /// The evidence path of an arrival, in the direction value moved.
    fn path(&self, x: &Arrival, outgoing: bool) -> Vec<crate::types::Hop> {
        let g = self.g;
        let mut outs = vec![x.output];
        let mut cur_tx = if outgoing {
            g.tx_of_output(x.output)
        } else {
            x.via_tx
        };
        for _ in 0..=self.hops + 1 {
            let Some(&p) = self.parent.get(&cur_tx) else {
                break;
            };
            if outs.contains(&p) {
                break;
            }
            outs.push(p);
            cur_tx = if outgoing {
                g.tx_of_output(p)
            } else {
                match g.spender(p) {
                    Some(i) => g.tx_of_input(i),
                    None => break,
                }
            };
        }
        if outgoing {
            outs.reverse();
        }
        outs.into_iter()
            .map(|o| {
                let a = self.taint.get(&o).copied().unwrap_or(x.amount);
                self.e.hop(g, o, a)
            })
            .collect()
    }
}

/// Adds `v` arriving at `t` by output `o` at `hop` (keeping the smallest
/// hop and the largest contributing output).
fn push(pending: &mut BTreeMap<u32, (u32, u64, u64, u32)>, t: u32, hop: u32, v: u64, o: u32) {
    let e = pending.entry(t).or_insert((hop, 0, 0, o));
    e.0 = e.0.min(hop);
    e.1 += v;
    if v > e.2 {
        e.2 = v;
        e.3 = o;
    }
}
