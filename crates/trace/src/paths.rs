//! Paths of value between two targets over the output graph (an output
//! leads to every output of the transaction spending it):
//!
//! * the **shortest** path: fewest transactions (breadth-first, outputs in
//!   chain order, so ties go to the earliest);
//! * the **highest-value** path: the largest bottleneck (the smallest
//!   output value along the path), found by a widest-path search (a
//!   max-heap on the bottleneck) within `max_hops` transactions. When the
//!   hop bound bites, the search keeps the first, widest way it reached each
//!   output, so a narrower but shorter way to a far target can be missed.
//!
//! Both stop after `max_txs` transactions (`cut`).

use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

use chainhound_entities::EntityId;

use crate::engine::Engine;
use crate::error::{Result, TraceError};
use crate::graph::{StoreGraph, TxGraph};
use crate::types::{PathReport, PathRequest, Target, ValuePath};

pub(crate) fn paths(e: &Engine, req: &PathRequest) -> Result<PathReport> {
    let (sources, _) = e.source_outputs(&req.from, 100_000)?;
    if sources.is_empty() {
        return Err(TraceError::BadRequest(format!(
            "{} has no outputs to start from",
            e.describe(&req.from)
        )));
    }
    let goal = Goal::new(e, &req.to)?;
    let g = StoreGraph::new(&e.store);
    let src: HashSet<u32> = sources.iter().copied().collect();
    let mut visited_txs = 0u64;
    let mut cut = false;

    // Shortest: BFS.
    let mut parent: HashMap<u32, u32> = HashMap::new();
    let mut depth: HashMap<u32, u32> = sources.iter().map(|&o| (o, 0)).collect();
    let mut queue: VecDeque<u32> = sources.iter().copied().collect();
    let mut seen_tx: HashSet<u32> = HashSet::new();
    let mut found = None;
    'bfs: while let Some(o) = queue.pop_front() {
        let d = depth[&o];
        if d >= req.max_hops {
            continue;
        }
        let Some(i) = g.spender(o) else { continue };
        let s = g.tx_of_input(i);
        if !seen_tx.insert(s) {
            continue;
        }
        visited_txs += 1;
        if visited_txs > req.max_txs {
            cut = true;
            break;
        }
        for n in g.outputs(s) {
            if depth.contains_key(&n) {
                continue;
            }
            depth.insert(n, d + 1);
            parent.insert(n, o);
            if !src.contains(&n) && goal.matches(e, n) {
                found = Some(n);
                break 'bfs;
            }
            queue.push_back(n);
        }
    }
    let shortest = found.map(|n| build(e, &g, &parent, n));

    // Highest value: widest path.
    let mut best: HashMap<u32, (u64, u32)> = HashMap::new(); // output -> (bottleneck, hops)
    let mut wparent: HashMap<u32, u32> = HashMap::new();
    let mut heap: BinaryHeap<(u64, std::cmp::Reverse<u32>)> = BinaryHeap::new();
    for &o in &sources {
        let v = g.value(o);
        best.insert(o, (v, 0));
        heap.push((v, std::cmp::Reverse(o)));
    }
    let mut seen_tx: HashSet<u32> = HashSet::new();
    let mut wfound = None;
    let mut wvisited = 0u64;
    while let Some((b, std::cmp::Reverse(o))) = heap.pop() {
        if !src.contains(&o) && goal.matches(e, o) {
            wfound = Some(o);
            break;
        }
        let (_, h) = best[&o];
        if h >= req.max_hops {
            continue;
        }
        let Some(i) = g.spender(o) else { continue };
        let s = g.tx_of_input(i);
        if !seen_tx.insert(s) {
            continue;
        }
        wvisited += 1;
        if wvisited > req.max_txs {
            cut = true;
            break;
        }
        for n in g.outputs(s) {
            if best.contains_key(&n) {
                continue;
            }
            let nb = b.min(g.value(n));
            best.insert(n, (nb, h + 1));
            wparent.insert(n, o);
            heap.push((nb, std::cmp::Reverse(n)));
        }
    }
    let highest_value = wfound.map(|n| build(e, &g, &wparent, n));
    Ok(PathReport {
        shortest,
        highest_value,
        txs_visited: visited_txs + wvisited,
        cut,
    })
}

fn build(e: &Engine, g: &StoreGraph<'_>, parent: &HashMap<u32, u32>, end: u32) -> ValuePath {
    let mut outs = vec![end];
    let mut cur = end;
    while let Some(&p) = parent.get(&cur) {
        outs.push(p);
        cur = p;
    }
    outs.reverse();
    let hops: Vec<_> = outs.iter().map(|&o| e.hop(g, o, g.value(o))).collect();
    let bottleneck = hops.iter().map(|h| h.amount).min().unwrap_or(0);
    ValuePath { hops, bottleneck }
}

/// What counts as arriving.
enum Goal {
    Addr(u32),
    Entity(EntityId),
    Output(u32),
    Tx(u32),
}

impl Goal {
    fn new(e: &Engine, t: &Target) -> Result<Goal> {
        Ok(match *t {
            Target::Address(a) => Goal::Addr(a.0),
            Target::Entity(x) => Goal::Entity(x),
            Target::Output { tx, vout } => Goal::Output(e.output_id(tx, vout).0),
            Target::Tx(tx) => Goal::Tx(tx.0),
        })
    }

    fn matches(&self, e: &Engine, o: u32) -> bool {
        match *self {
            Goal::Addr(a) => e.out_addr(o).0 == a,
            Goal::Entity(x) => e.entity_of(e.out_addr(o)) == x,
            Goal::Output(x) => o == x,
            Goal::Tx(t) => StoreGraph::new(&e.store).tx_of_output(o) == t,
        }
    }
}
