//! `chainhound-bench cluster --floor`: what this machine can do at best for
//! the multi-input pass, measured in three separate loops over the same
//! store, none of which is the shipped pass:
//!
//! 1. **gather** — the stored address of every input, into one flat buffer
//!    in input order (one random read of the output-address column per
//!    input, in the tightest loop: faster than gathering only the inputs of
//!    multi-input transactions, whose loop has to branch per transaction);
//! 2. **bare unions** — common-input unions over that buffer with nothing
//!    else: one `(parent, size)` pair per address (union by size, path
//!    halving), every effective union recorded as `(a, b, tx)`; no CoinJoin
//!    detection, no entity ids (smallest members), no member lists, no
//!    supercluster guard, no counters;
//! 3. **CoinJoin detection** — `chainhound_entities::coinjoin::classify` on
//!    every transaction the pass classifies (inputs from two or more
//!    addresses and three or more outputs), with the same facts the pass
//!    gives it.
//!
//! A CoinJoin-aware pass needs at least 1 + 2 + 3 (it must know a
//! transaction is not a CoinJoin before joining its inputs).

use std::time::Instant;

use chainhound_entities::coinjoin::{classify, OutFact, Scratch, TxShape};
use chainhound_entities::DetectConfig;
use chainhound_store::{Store, UNRESOLVED};
use serde::Serialize;

/// "No stored funding output" in the flat buffer.
const NO_ADDR: u32 = u32::MAX;

/// Medians of the three loops, in seconds.
#[derive(Serialize)]
pub struct Floor {
    pub inputs: u64,
    /// Inputs gathered (every input).
    pub gathered_inputs: u64,
    pub alloc_s: f64,
    pub gather_s: f64,
    pub unions_s: f64,
    pub unions: u64,
    pub classify_s: f64,
    pub classified_txs: u64,
    pub classified_outputs: u64,
    /// Inputs per second of gather + unions (allocation included).
    pub bare_inputs_per_s: f64,
    /// Inputs per second of gather + unions + detection.
    pub with_detection_inputs_per_s: f64,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the three loops `runs` times each.
pub fn measure(store: &Store, runs: usize) -> Floor {
    let c = store.columns();
    let n_addrs = c.counts().addrs as usize;
    let (mut alloc, mut gather, mut unions, mut detect) = (vec![], vec![], vec![], vec![]);
    let (mut n_unions, mut gathered, mut classified, mut classified_outs) = (0, 0, 0, 0);
    let cfg = DetectConfig::default();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        // As the shipped pass: the tables on huge pages.
        let mut nodes: Vec<[u32; 2]> = Vec::with_capacity(n_addrs);
        chainhound_entities::advise_huge_pages(&mut nodes);
        nodes.extend((0..n_addrs as u32).map(|i| [i, 1]));
        let mut edges: Vec<(u32, u32, u32)> = Vec::with_capacity(n_addrs);
        chainhound_entities::advise_huge_pages(&mut edges);
        let mut flat: Vec<u32> = vec![0; c.counts().inputs as usize];
        alloc.push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        for (a, &p) in flat.iter_mut().zip(c.in_prevout) {
            *a = if p < UNRESOLVED {
                c.out_addr[p as usize]
            } else {
                NO_ADDR
            };
        }
        gather.push(t.elapsed().as_secs_f64());
        gathered = flat.len() as u64;
        // Transactions with two or more inputs (not timed: the pass walks
        // the transaction table anyway).
        let spans: Vec<(u32, u32, u32)> = (0..c.counts().txs)
            .filter_map(|tx| {
                let r = c.tx_inputs(tx);
                (r.end - r.start >= 2).then_some((r.start, r.end, tx))
            })
            .collect();

        let t = Instant::now();
        let find = |nodes: &mut Vec<[u32; 2]>, mut x: u32| loop {
            let p = nodes[x as usize][0];
            let g = nodes[p as usize][0];
            if p == g {
                return p;
            }
            nodes[x as usize][0] = g;
            x = g;
        };
        for &(s, e, tx) in &spans {
            let ins = &flat[s as usize..e as usize];
            let Some(&a0) = ins.iter().find(|&&a| a != NO_ADDR) else {
                continue;
            };
            let mut r = find(&mut nodes, a0);
            for &a in ins {
                if a == NO_ADDR {
                    continue;
                }
                let ra = find(&mut nodes, a);
                if ra != r {
                    let (big, small) = if nodes[r as usize][1] >= nodes[ra as usize][1] {
                        (r, ra)
                    } else {
                        (ra, r)
                    };
                    nodes[small as usize][0] = big;
                    nodes[big as usize][1] += nodes[small as usize][1];
                    edges.push((a0, a, tx));
                    r = big;
                }
            }
        }
        unions.push(t.elapsed().as_secs_f64());
        n_unions = edges.len() as u64;

        let t = Instant::now();
        let (mut outs, mut scratch) = (Vec::new(), Scratch::default());
        let (mut k, mut k_outs) = (0u64, 0u64);
        let mut compact = Vec::new();
        for &(s, e, tx) in &spans {
            let all = &flat[s as usize..e as usize];
            let addrs = if all.contains(&NO_ADDR) {
                compact.clear();
                compact.extend(all.iter().copied().filter(|&a| a != NO_ADDR));
                &compact[..]
            } else {
                all
            };
            if addrs.is_empty() {
                continue;
            }
            let o = c.tx_outputs(tx);
            if o.end - o.start < 3 || addrs.iter().all(|&a| a == addrs[0]) {
                continue;
            }
            outs.clear();
            outs.extend(o.clone().map(|o| {
                let a = c.out_addr[o as usize];
                OutFact {
                    value: c.value(o),
                    kind: c.addr_kind[a as usize],
                    addr: a,
                }
            }));
            let first_in = c.tx_inputs(tx).start as usize;
            let value = |i: usize| match c.in_prevout.get(first_in + i) {
                Some(&p) if p < UNRESOLVED => c.value(p),
                _ => 0,
            };
            let shape = TxShape {
                n_inputs: c.tx_inputs(tx).len(),
                in_addrs: addrs,
                in_value: &value,
                outputs: &outs,
            };
            std::hint::black_box(classify(&shape, &cfg, &mut scratch));
            k += 1;
            k_outs += o.len() as u64;
        }
        detect.push(t.elapsed().as_secs_f64());
        (classified, classified_outs) = (k, k_outs);
        std::hint::black_box((&nodes, &edges));
    }
    let inputs = c.counts().inputs as u64;
    let (alloc_s, gather_s, unions_s, classify_s) = (
        median(&mut alloc),
        median(&mut gather),
        median(&mut unions),
        median(&mut detect),
    );
    let bare = alloc_s + gather_s + unions_s;
    Floor {
        inputs,
        gathered_inputs: gathered,
        alloc_s,
        gather_s,
        unions_s,
        unions: n_unions,
        classify_s,
        classified_txs: classified,
        classified_outputs: classified_outs,
        bare_inputs_per_s: inputs as f64 / bare,
        with_detection_inputs_per_s: inputs as f64 / (bare + classify_s),
    }
}
