//! Property tests of the models on random transaction graphs: haircut and
//! FIFO conserve value to the satoshi in both directions, and poison covers
//! every output haircut (or FIFO) marks.

use std::collections::HashSet;

use proptest::prelude::*;

use crate::graph::{MemGraph, Prev, TxGraph};
use crate::trace::{run, run_queued, Env, Params, Raw};
use crate::types::{Direction, Limits, Model};

struct TestEnv {
    stops: HashSet<u32>,
}

impl Env for TestEnv {
    fn stops(&self, o: u32) -> bool {
        self.stops.contains(&o)
    }
    fn tx_time(&self, t: u32) -> u32 {
        t
    }
    /// Every fourth transaction counts as a CoinJoin (its passes are
    /// recorded).
    fn mixer(&self, t: u32) -> Option<&'static str> {
        (t % 4 == 3).then_some("test")
    }
}

/// A random valid graph: `coinbases` transactions minting outputs, then
/// transactions each spending 1–4 unspent outputs into 1–4 outputs with a
/// random fee. `choices` drives every pick.
fn build(coinbases: usize, choices: &[(u8, u8, u64, u64)]) -> MemGraph {
    let mut g = MemGraph::default();
    let mut unspent: Vec<u32> = Vec::new();
    for k in 0..coinbases {
        let t = g.push(
            &[Prev::Coinbase],
            &[1_000 + 7_919 * k as u64, 50 + k as u64 * 3],
        );
        unspent.extend(g.outputs(t));
    }
    for &(n_in, n_out, seed, fee_seed) in choices {
        if unspent.is_empty() {
            break;
        }
        let n_in = (1 + n_in as usize % 4).min(unspent.len());
        let mut ins = Vec::new();
        let mut total = 0;
        for j in 0..n_in {
            let k = ((seed >> (j * 8)) as usize) % unspent.len();
            let o = unspent.swap_remove(k);
            total += g.value(o);
            ins.push(Prev::Output(o));
        }
        let fee = if total == 0 {
            0
        } else {
            fee_seed % (total / 10 + 1)
        };
        let n_out = 1 + n_out as usize % 4;
        let mut left = total - fee;
        let mut outs = Vec::new();
        for j in 0..n_out {
            let v = if j + 1 == n_out {
                left
            } else {
                (seed.rotate_left(j as u32 * 13) % (left + 1)) / 2
            };
            left -= v;
            outs.push(v);
        }
        let t = g.push(&ins, &outs);
        unspent.extend(g.outputs(t));
    }
    g
}

fn params(model: Model, direction: Direction, max_hops: Option<u32>, min_value: u64) -> Params {
    Params {
        model,
        direction,
        max_hops,
        min_value,
        until: None,
        limits: Limits::default(),
        record_taint: true,
        demixed: None,
        collect_whole: false,
        flows: true,
    }
}

fn accounted(r: &Raw) -> u64 {
    r.ends.iter().map(|e| e.amount).sum::<u64>() + r.fees + r.below_min + r.overlap
}

/// Everything a run found, in an order that does not depend on when the
/// propagation ended each item.
#[allow(clippy::type_complexity)]
fn summary(
    r: &Raw,
) -> (
    Vec<(u32, u32, u64, crate::types::EndReason, u32, u32)>,
    Vec<(u32, u64)>,
    [u64; 6],
    Vec<(u32, (u32, u64))>,
    Vec<((u32, u32), u64)>,
    Vec<(u32, u64)>,
    Option<(&'static str, u64, Option<u32>, u64)>,
) {
    let mut ends: Vec<_> = r
        .ends
        .iter()
        .map(|e| (e.output, e.tx, e.amount, e.reason, e.hmin, e.hmax))
        .collect();
    ends.sort_unstable();
    let mut taint: Vec<_> = r.taint.iter().map(|(&o, &a)| (o, a)).collect();
    taint.sort_unstable();
    let cut = r
        .cut
        .as_ref()
        .map(|c| (c.limit, c.value, c.at_tx, c.unfollowed));
    let figures = [
        r.source_value,
        r.fees,
        r.below_min,
        r.overlap,
        r.txs_visited,
        u64::from(r.hops_reached),
    ];
    (
        ends,
        taint,
        figures,
        r.parent
            .iter()
            .map(|e| (e.tx.0, (e.from.0, e.amount)))
            .collect(),
        r.tx_flows.clone(),
        r.fee_flows.clone(),
        cut,
    )
}

/// Points a few unspent outputs' spender links at inputs that spend other
/// outputs (as a rolled-back branch leaves them).
fn with_stale_links(
    g: &MemGraph,
    stale: &[(prop::sample::Index, prop::sample::Index)],
) -> Option<MemGraph> {
    let unspent: Vec<usize> = (0..g.spent_by.len())
        .filter(|&o| g.spent_by[o].is_none())
        .collect();
    if unspent.is_empty() || g.prevout.is_empty() {
        return None;
    }
    let mut bad = g.clone();
    for (o, i) in stale {
        let o = unspent[o.index(unspent.len())];
        bad.spent_by[o] = Some(i.index(g.prevout.len()) as u32);
    }
    Some(bad)
}

fn graph_strategy() -> impl Strategy<Value = (MemGraph, Vec<u32>, HashSet<u32>)> {
    (
        1usize..6,
        prop::collection::vec(
            (any::<u8>(), any::<u8>(), any::<u64>(), any::<u64>()),
            1..60,
        ),
        prop::collection::vec(any::<prop::sample::Index>(), 1..4),
        prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    )
        .prop_map(|(cb, choices, src, stops)| {
            let g = build(cb, &choices);
            let n = g.values.len();
            let mut sources: Vec<u32> = src.iter().map(|i| i.index(n) as u32).collect();
            sources.sort_unstable();
            sources.dedup();
            let stops = stops.iter().map(|i| i.index(n) as u32).collect();
            (g, sources, stops)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn haircut_and_fifo_conserve_forward(
        (g, sources, stops) in graph_strategy(),
        min_value in prop_oneof![Just(0u64), 0u64..500],
        max_hops in prop_oneof![Just(None), (0u32..6).prop_map(Some)],
    ) {
        let env = TestEnv { stops };
        for model in [Model::Haircut, Model::Fifo] {
            let r = run(&g, &env, &params(model, Direction::Forward, max_hops, min_value), &sources);
            prop_assert_eq!(accounted(&r), r.source_value, "{:?}", model);
            for (&o, &a) in &r.taint {
                prop_assert!(a <= g.value(o), "{:?}: output {} carries {} > {}", model, o, a, g.value(o));
            }
        }
    }

    #[test]
    fn haircut_and_fifo_conserve_backward(
        (g, sources, stops) in graph_strategy(),
        min_value in prop_oneof![Just(0u64), 0u64..500],
        max_hops in prop_oneof![Just(None), (0u32..6).prop_map(Some)],
    ) {
        let env = TestEnv { stops };
        for model in [Model::Haircut, Model::Fifo] {
            let r = run(&g, &env, &params(model, Direction::Backward, max_hops, min_value), &sources);
            prop_assert_eq!(r.fees, 0);
            prop_assert_eq!(accounted(&r), r.source_value, "{:?}", model);
        }
    }

    /// A stored spender link that does not hold (the input spends another
    /// output) is caught when the spender would be visited: the output
    /// ends unspent, exactly as if the link were absent.
    #[test]
    fn stale_spender_links_change_nothing(
        (g, mut sources, stops) in graph_strategy(),
        stale in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..8),
        min_value in prop_oneof![Just(0u64), 0u64..500],
        max_hops in prop_oneof![Just(None), (0u32..6).prop_map(Some)],
        until in prop_oneof![Just(None), (0u32..60).prop_map(Some)],
        max_txs in prop_oneof![Just(u64::MAX), 0u64..20],
        twice in any::<bool>(),
    ) {
        if twice {
            // A source given twice counts once.
            sources.push(sources[0]);
        }
        let env = TestEnv { stops };
        let bad = with_stale_links(&g, &stale);
        prop_assume!(bad.is_some());
        let bad = bad.unwrap();
        for o in 0..bad.spent_by.len() as u32 {
            if g.spent_by[o as usize].is_none() {
                prop_assert_eq!(bad.spender(o), None);
            }
        }
        for model in [Model::Haircut, Model::Fifo, Model::Poison] {
            let mut p = params(model, Direction::Forward, max_hops, min_value);
            p.until = until;
            // (`max_frontier` counts parked items, stale ones included: not
            // varied here.)
            p.limits.max_txs = max_txs;
            prop_assert_eq!(summary(&run(&bad, &env, &p, &sources)), summary(&run(&g, &env, &p, &sources)), "{:?}", model);
        }
    }

    /// The forward sweep finds what the queue of items at their spenders
    /// finds, under every model and limit, with and without stale links.
    #[test]
    fn sweep_finds_what_the_queue_finds(
        (g, mut sources, stops) in graph_strategy(),
        stale in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..6),
        min_value in prop_oneof![Just(0u64), 0u64..500],
        max_hops in prop_oneof![Just(None), (0u32..6).prop_map(Some)],
        until in prop_oneof![Just(None), (0u32..60).prop_map(Some)],
        max_txs in prop_oneof![Just(u64::MAX), 0u64..20],
        max_frontier in prop_oneof![Just(u64::MAX), 0u64..12],
        twice in any::<bool>(),
    ) {
        if twice {
            sources.push(sources[0]);
        }
        let env = TestEnv { stops };
        let g = if stale.is_empty() { g } else { with_stale_links(&g, &stale).unwrap_or(g) };
        for model in [Model::Haircut, Model::Fifo, Model::Poison] {
            let mut p = params(model, Direction::Forward, max_hops, min_value);
            p.until = until;
            p.limits.max_txs = max_txs;
            // Stale links count toward `max_frontier` until found out, which
            // the two find out at different times.
            if stale.is_empty() {
                p.limits.max_frontier = max_frontier;
            }
            let swept = run(&g, &env, &p, &sources);
            let queued = run_queued(&g, &env, &p, &sources);
            prop_assert_eq!(summary(&swept), summary(&queued), "{:?}", model);
            prop_assert_eq!(&swept.mixers, &queued.mixers, "{:?}", model);
            // Without the flow graph: the same but for the flows.
            p.flows = false;
            let bare = run(&g, &env, &p, &sources);
            prop_assert!(bare.tx_flows.is_empty() && bare.fee_flows.is_empty());
            prop_assert_eq!(&swept.mixers, &bare.mixers, "{:?}", model);
            let (mut a, mut b) = (summary(&swept), summary(&bare));
            (a.4, a.5, b.4, b.5) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            prop_assert_eq!(a, b);
        }
    }

    /// With outputs judged by `--demix` (any set: the judgment is not the
    /// arithmetic's business), haircut still conserves, no output carries
    /// more than its value, the taint of each CoinJoin fills its judged
    /// outputs first, the sweep finds what the queue finds, and the
    /// unmixed traced outputs are the sources and the outputs of the
    /// non-CoinJoins that spend only such outputs, wholly.
    #[test]
    fn demixed_haircut_conserves(
        (g, sources, stops) in graph_strategy(),
        judged in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
        min_value in prop_oneof![Just(0u64), 0u64..500],
        max_hops in prop_oneof![Just(None), (0u32..6).prop_map(Some)],
    ) {
        let env = TestEnv { stops };
        let mut p = params(Model::Haircut, Direction::Forward, max_hops, min_value);
        let judged: HashSet<u32> = judged.iter().map(|i| i.index(g.values.len()) as u32).collect();
        p.demixed = Some(judged.clone());
        p.collect_whole = true;
        let r = run(&g, &env, &p, &sources);
        prop_assert_eq!(accounted(&r), r.source_value);
        let taint = |o: u32| r.taint.get(&o).copied().unwrap_or(0);
        for (&o, &a) in &r.taint {
            prop_assert!(a <= g.value(o), "output {} carries {} > {}", o, a, g.value(o));
        }
        for m in &r.mixers {
            let outs = g.outputs(m.tx);
            if outs.clone().any(|o| sources.contains(&o)) {
                continue; // (a source output's taint is counted as overlap)
            }
            let cap: u64 = outs.clone().filter(|o| judged.contains(o)).map(|o| g.value(o)).sum();
            let got: u64 = outs.filter(|o| judged.contains(o)).map(taint).sum();
            prop_assert_eq!(got, m.amount_in.min(cap), "CoinJoin {}", m.tx);
        }
        let unmixed = |t: u32| {
            env.mixer(t).is_none()
                && g.inputs(t).all(|k| matches!(g.prevout(k), Prev::Output(q) if r.whole.contains(&q)))
        };
        for &o in &r.whole {
            prop_assert!(g.value(o) > 0 || sources.contains(&o));
            if !sources.contains(&o) {
                let t = g.tx_of_output(o);
                prop_assert!(unmixed(t), "output {} listed", o);
                prop_assert_eq!(taint(o), g.value(o));
            }
        }
        let queued = run_queued(&g, &env, &p, &sources);
        prop_assert_eq!(summary(&r), summary(&queued));
        prop_assert_eq!(&r.mixers, &queued.mixers);
        prop_assert_eq!(&r.whole, &queued.whole);
    }

    #[test]
    fn poison_covers_haircut_and_fifo(
        (g, sources, stops) in graph_strategy(),
        max_hops in prop_oneof![Just(None), (0u32..6).prop_map(Some)],
    ) {
        let env = TestEnv { stops };
        let poison = run(&g, &env, &params(Model::Poison, Direction::Forward, max_hops, 0), &sources);
        for model in [Model::Haircut, Model::Fifo] {
            let r = run(&g, &env, &params(model, Direction::Forward, max_hops, 0), &sources);
            for (&o, &a) in &r.taint {
                if a > 0 {
                    prop_assert!(poison.taint.contains_key(&o), "{:?} marks output {} that poison does not", model, o);
                    prop_assert!(poison.taint[&o] >= a);
                }
            }
        }
    }
}

/// No source (an address whose outputs were all rolled back, or
/// `--max-sources 0`): an empty trace in either direction, not a panic.
#[test]
fn no_sources_is_an_empty_trace() {
    let g = build(3, &[(1, 1, 7, 3), (2, 2, 99, 5)]);
    let env = TestEnv {
        stops: HashSet::new(),
    };
    for model in [Model::Haircut, Model::Fifo, Model::Poison] {
        for direction in [Direction::Forward, Direction::Backward] {
            let r = run(&g, &env, &params(model, direction, None, 0), &[]);
            assert_eq!((r.source_value, r.txs_visited), (0, 0));
            assert!(r.ends.is_empty() && r.cut.is_none());
        }
    }
}

#[test]
fn haircut_splits_fee_and_outputs_exactly() {
    // Two inputs: 600 tainted, 400 clean; outputs 500 and 300, fee 200.
    let mut g = MemGraph::default();
    let a = g.push(&[Prev::Coinbase], &[600, 400]);
    let outs: Vec<u32> = g.outputs(a).collect();
    let b = g.push(&[Prev::Output(outs[0]), Prev::Output(outs[1])], &[500, 300]);
    let env = TestEnv {
        stops: HashSet::new(),
    };
    let r = run(
        &g,
        &env,
        &params(Model::Haircut, Direction::Forward, None, 0),
        &[outs[0]],
    );
    let o: Vec<u32> = g.outputs(b).collect();
    assert_eq!(r.taint[&o[0]], 300);
    assert_eq!(r.taint[&o[1]], 180);
    assert_eq!(r.fees, 120);
    // FIFO: the tainted first input fills the first output, then 100 of the second.
    let r = run(
        &g,
        &env,
        &params(Model::Fifo, Direction::Forward, None, 0),
        &[outs[0]],
    );
    assert_eq!(r.taint[&o[0]], 500);
    assert_eq!(r.taint[&o[1]], 100);
    assert_eq!(r.fees, 0);
    // Poison: both outputs whole, the whole fee.
    let r = run(
        &g,
        &env,
        &params(Model::Poison, Direction::Forward, None, 0),
        &[outs[0]],
    );
    assert_eq!((r.taint[&o[0]], r.taint[&o[1]], r.fees), (500, 300, 200));
    // Backward haircut from the 300 output: 180 from the first input, 120 from the second.
    let r = run(
        &g,
        &env,
        &params(Model::Haircut, Direction::Backward, None, 0),
        &[o[1]],
    );
    assert_eq!(r.taint[&outs[0]], 180);
    assert_eq!(r.taint[&outs[1]], 120);
    // Backward FIFO from the 300 output (sats 500..800 of the output line): 500..600 of input one, 0..200 of input two.
    let r = run(
        &g,
        &env,
        &params(Model::Fifo, Direction::Backward, None, 0),
        &[o[1]],
    );
    assert_eq!(r.taint[&outs[0]], 100);
    assert_eq!(r.taint[&outs[1]], 200);
}
