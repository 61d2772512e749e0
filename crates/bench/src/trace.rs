//! `chainhound-bench trace`: the tracing engine on a simulated chain with an
//! incident — a forward trace from the theft through the whole laundering
//! under each model (haircut is the target: ≤ 50 ms through ≥ 5,000
//! laundering transactions), and exposure of random addresses at 4 hops
//! (target: ≤ 1 ms median), single thread. Also prints how much of the
//! stolen value each model finds at the right destinations. Prints figures;
//! asserts nothing about speed.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use chainhound_btc::{BlocksDir, Network};
use chainhound_entities::{Clusterer, Clusters, ConfigChoice};
use chainhound_ingest::{ingest_btc, IngestOptions, Quiet};
use chainhound_intel::{import, ImportOptions, TagStore, TagWriter};
use chainhound_sim::truth::Truth;
use chainhound_store::{Store, StoreWriter};
use chainhound_trace::{EndReason, Engine, ExposureOptions, Model, Target, TraceRequest};
use chainhound_types::{AddrId, Hash32};
use clap::Args;
use serde::Serialize;

use crate::report::median;
use crate::{data, sys};

#[derive(Args)]
pub struct TraceArgs {
    /// Transactions of the simulated chain.
    #[arg(long, default_value_t = 1_000_000)]
    txs: u64,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Working directory [default: target/bench-data/trace-<txs>-<seed>];
    /// the chain goes to WORK/blocks, the data directory to WORK/data.
    #[arg(long)]
    work: Option<PathBuf>,
    /// Timed runs of each trace (after one warm-up; medians reported).
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Random addresses whose exposure is timed.
    #[arg(long, default_value_t = 2_000)]
    addresses: usize,
    /// The dust threshold of the second haircut trace (satoshis).
    #[arg(long, default_value_t = 100_000)]
    min_value: u64,
    /// Exposure hops.
    #[arg(long, default_value_t = 4)]
    hops: u32,
    /// Pin to this CPU.
    #[arg(long, default_value_t = 0)]
    cpu: usize,
    /// Also print every figure as JSON (last line of stdout).
    #[arg(long)]
    json: bool,
    /// Also time the memory floor of the first haircut trace: the store
    /// reads its transactions need, alone (see [`floor`]).
    #[arg(long)]
    floor: bool,
    /// Time only these traces (by number, in the order printed: 1 haircut,
    /// 2 haircut with the dust threshold, 3 --demix, 4 FIFO, 5 poison,
    /// 6 haircut with the flow graph); default all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<usize>,
}

#[derive(Serialize)]
struct ModelFigures {
    model: &'static str,
    min_value_sat: u64,
    demix: bool,
    /// With the flow graph (as the GraphML/GEXF exports ask).
    flows: bool,
    runs_ms: Vec<f64>,
    median_ms: f64,
    txs_visited: u64,
    destinations: usize,
    mixers: usize,
    conserved: bool,
    found_at_right_destinations: f64,
}

#[derive(Serialize)]
struct ExposureFigures {
    addresses: usize,
    hops: u32,
    median_us: f64,
    p90_us: f64,
    p99_us: f64,
    max_us: f64,
    mean_us: f64,
    mean_txs_visited: f64,
    cut: usize,
    with_attributed_exposure: usize,
}

#[derive(Serialize)]
struct Figures {
    txs: u64,
    laundering_txs: usize,
    stolen_sat: u64,
    open_ms: f64,
    models: Vec<ModelFigures>,
    /// Medians of [`floor`]: (column reads ms, entity lookups ms).
    floor_ms: Option<(f64, f64)>,
    exposure: ExposureFigures,
    load_before: String,
    load_after: String,
}

pub fn run(a: TraceArgs) -> Result<()> {
    let work = a.work.clone().unwrap_or_else(|| {
        data::default_work_dir(a.txs, a.seed, false)
            .with_file_name(format!("trace-{}-{}", a.txs, a.seed))
    });
    std::fs::create_dir_all(&work)?;
    // A chain simulated before attribution.csv existed is made again.
    if !work.join(chainhound_sim::ATTRIBUTION_FILE).exists() {
        let _ = std::fs::remove_file(work.join(chainhound_sim::TRUTH_FILE));
    }
    let chain = data::ensure_sim(&work, a.txs, a.seed, false)?;
    let truth = Truth::load(&work).context("reading truth.json")?;
    let data_dir = work.join("data");
    prepare(&data_dir, &chain.blocks_dir, &work, truth.txs)?;
    sys::pin_to_cpu(a.cpu)?;
    let load_before = sys::loadavg();

    let t = Instant::now();
    let engine = Engine::open(&data_dir)?;
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let store = engine.store();
    let theft: Vec<Target> = truth
        .incident
        .theft_txids
        .iter()
        .map(|h| {
            let h = Hash32::from_display_hex(h).expect("truth txids are hex");
            Target::Tx(store.tx_by_txid(&h).expect("theft tx stored"))
        })
        .collect();
    let mut req = TraceRequest::new(theft[0]);
    req.from = theft;
    // As `chainhound trace` by default: every destination gets its end and
    // the explanation tree, the 100 largest their paths expanded.
    req.explain = 100;
    let mut models = Vec::new();
    let mut floor_ms = None;
    for (line, (model, min_value, demix, flows)) in [
        (Model::Haircut, 0, false, false),
        (Model::Haircut, a.min_value, false, false),
        (Model::Haircut, 0, true, false),
        (Model::Fifo, 0, false, false),
        (Model::Poison, 0, false, false),
        // As `chainhound trace --format graphml|gexf`: with the flow graph.
        (Model::Haircut, 0, false, true),
    ]
    .into_iter()
    .enumerate()
    {
        if !a.only.is_empty() && !a.only.contains(&(line + 1)) {
            continue;
        }
        req.model = model;
        req.min_value = min_value;
        req.demix = demix;
        req.flows = flows;
        let rep = engine.trace(&req)?;
        let mut runs_ms = Vec::new();
        for _ in 0..a.runs {
            let t = Instant::now();
            let r = engine.trace(&req)?;
            runs_ms.push(t.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(r);
        }
        let f = ModelFigures {
            model: model.name(),
            min_value_sat: min_value,
            demix,
            flows,
            median_ms: median(&runs_ms),
            runs_ms,
            txs_visited: rep.txs_visited,
            destinations: rep.destinations.len(),
            mixers: rep.mixers.len(),
            conserved: rep.accounted() == rep.source_value,
            found_at_right_destinations: found(&engine, &rep, &truth),
        };
        println!(
            "{:<8}{} min-value {:>7}: forward trace from the theft: median {:>8.2} ms over {} runs, {} txs visited, {} destinations, {} CoinJoins, conserved {}, {:.2}% at the right destinations",
            f.model, if demix { " --demix" } else if flows { " +flows" } else { "" }, f.min_value_sat, f.median_ms, a.runs, f.txs_visited, f.destinations, f.mixers, f.conserved, f.found_at_right_destinations * 100.0
        );
        models.push(f);
        if a.floor && floor_ms.is_none() {
            let (reads, lookups) = floor(&engine, &rep, a.runs);
            println!(
                "floor of that trace: its store reads alone {reads:.2} ms ({} transactions: every input's funding value, every output's value, spender link and address), entity lookups of its {} destinations' ends {lookups:.2} ms",
                rep.tree.len(),
                rep.destinations.len()
            );
            floor_ms = Some((reads, lookups));
        }
    }

    // Exposure of random addresses that ever received an output.
    let n_addrs = store.counts().addrs;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ a.seed;
    let mut picked = Vec::with_capacity(a.addresses);
    let mut seen = HashSet::new();
    while picked.len() < a.addresses && seen.len() < n_addrs as usize {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let id = (rng % u64::from(n_addrs)) as u32;
        if seen.insert(id) && store.addr_outputs(AddrId(id)).next().is_some() {
            picked.push(AddrId(id));
        }
    }
    let opts = ExposureOptions {
        hops: a.hops,
        ..ExposureOptions::default()
    };
    for &addr in picked.iter().take(100) {
        std::hint::black_box(engine.exposure(&Target::Address(addr), &opts)?);
    }
    let mut us = Vec::with_capacity(picked.len());
    let (mut cut, mut attributed, mut visited) = (0, 0, 0u64);
    for &addr in &picked {
        let t = Instant::now();
        let ex = engine.exposure(&Target::Address(addr), &opts)?;
        us.push(t.elapsed().as_secs_f64() * 1e6);
        cut += usize::from(ex.incoming.cut || ex.outgoing.cut);
        attributed +=
            usize::from(!ex.incoming.categories.is_empty() || !ex.outgoing.categories.is_empty());
        visited += ex.incoming.txs_visited + ex.outgoing.txs_visited;
    }
    let mut sorted = us.clone();
    sorted.sort_by(f64::total_cmp);
    let pct = |p: f64| sorted[((sorted.len() as f64 - 1.0) * p).round() as usize];
    let exposure = ExposureFigures {
        addresses: us.len(),
        hops: a.hops,
        median_us: median(&us),
        p90_us: pct(0.90),
        p99_us: pct(0.99),
        max_us: pct(1.0),
        mean_us: us.iter().sum::<f64>() / us.len().max(1) as f64,
        mean_txs_visited: visited as f64 / us.len().max(1) as f64,
        cut,
        with_attributed_exposure: attributed,
    };
    println!(
        "exposure at {} hops of {} random addresses: median {:.1} us, p90 {:.1} us, p99 {:.1} us, max {:.1} us ({:.0} txs visited on average, {} cut, {} with attributed exposure)",
        exposure.hops, exposure.addresses, exposure.median_us, exposure.p90_us, exposure.p99_us, exposure.max_us, exposure.mean_txs_visited, exposure.cut, exposure.with_attributed_exposure
    );
    let figures = Figures {
        txs: truth.txs,
        laundering_txs: truth.incident.laundering_txids.len(),
        stolen_sat: truth.incident.stolen_sats,
        open_ms,
        models,
        floor_ms,
        exposure,
        load_before,
        load_after: sys::loadavg(),
    };
    println!(
        "chain: {} txs, {} laundering txs, engine open {:.0} ms; load {} -> {} ({} CPUs, {})",
        figures.txs,
        figures.laundering_txs,
        figures.open_ms,
        figures.load_before,
        figures.load_after,
        sys::nproc(),
        sys::cpu_model()
    );
    if a.json {
        println!("{}", serde_json::to_string(&figures)?);
    }
    Ok(())
}

/// The share of the traced value found where the truth says the stolen
/// coins went: per cash-out exchange the smaller of traced and true
/// amounts, the unspent taint on the thief's holdings (up to their true
/// value), and the fees.
fn found(engine: &Engine, rep: &chainhound_trace::TraceReport, truth: &Truth) -> f64 {
    let inc = &truth.incident;
    let mut at: BTreeMap<&str, u64> = BTreeMap::new();
    // The entities holding the thief's unspent coins.
    let held: HashSet<chainhound_entities::EntityId> = inc
        .stockpile
        .addresses
        .iter()
        .chain(&inc.in_flight.addresses)
        .filter_map(|a| match engine.resolve(a) {
            Ok(Target::Address(id)) => Some(engine.entity_of(id)),
            _ => None,
        })
        .collect();
    let mut unspent_held = 0;
    for d in &rep.destinations {
        match d.reason {
            EndReason::Stop => {
                if let Some(n) = &d.entity.name {
                    *at.entry(n.as_str()).or_default() += d.amount;
                }
            }
            EndReason::Unspent if held.contains(&d.entity.entity) => unspent_held += d.amount,
            _ => {}
        }
    }
    let f: u64 = inc
        .received_by_exchange
        .iter()
        .map(|e| e.sats.min(at.get(e.name.as_str()).copied().unwrap_or(0)))
        .sum::<u64>()
        + unspent_held.min(inc.stockpile.sats + inc.in_flight.sats)
        + rep.fees.min(rep.source_value);
    f as f64 / rep.source_value.max(1) as f64
}

/// Ingests the chain into `data/btc`, clusters it and imports the
/// analyst's attribution, unless a complete data directory is there.
fn prepare(data_dir: &Path, blocks: &Path, work: &Path, txs: u64) -> Result<()> {
    let store_dir = data_dir.join("btc");
    let ready = Store::open(&store_dir)
        .ok()
        .filter(|s| u64::from(s.counts().txs) == txs)
        .is_some_and(|s| Clusters::open(&s).is_ok())
        && TagStore::open(data_dir.join("intel")).is_ok_and(|t| !t.is_empty());
    if ready {
        eprintln!("reusing data directory {}", data_dir.display());
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(data_dir);
    std::fs::create_dir_all(&store_dir)?;
    eprintln!("ingesting into {}", store_dir.display());
    let t = Instant::now();
    let source = BlocksDir::open(blocks, Network::Regtest)?;
    let mut w = StoreWriter::open(&store_dir, Network::Regtest.magic(), "regtest")?;
    ingest_btc(&mut w, &source, &IngestOptions::default(), &mut Quiet)?;
    drop(w);
    let store = Store::open(&store_dir)?;
    Clusterer::open(&store_dir, ConfigChoice::Stored)?.update(&store)?;
    let csv = work.join(chainhound_sim::ATTRIBUTION_FILE);
    let edition = import::csv::load(&csv, &import::csv::CsvOptions::new("sim-analyst"))?;
    TagWriter::open(data_dir.join("intel"))?.import(edition, &ImportOptions::default())?;
    eprintln!("  ready in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

/// The memory floor of trace `rep`: every column read the propagation
/// needs for the transactions it visited (one tree edge each), in one tight
/// loop in chain order with no bookkeeping, and the entity lookup of each
/// destination's end address. Medians of `runs`, in ms.
fn floor(engine: &Engine, rep: &chainhound_trace::TraceReport, runs: usize) -> (f64, f64) {
    let c = engine.store().columns();
    let mut txs: Vec<u32> = rep.tree.iter().map(|e| e.tx.0).collect();
    txs.sort_unstable();
    let ends: Vec<AddrId> = rep
        .destinations
        .iter()
        .map(|d| AddrId(c.out_addr[d.end.0 as usize]))
        .collect();
    let (mut reads, mut lookups) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let mut acc = 0u64;
        for &tx in &txs {
            for i in c.tx_inputs(tx) {
                let p = c.in_prevout[i as usize];
                if p < c.counts().outputs {
                    acc = acc.wrapping_add(c.value(p));
                }
            }
            for o in c.tx_outputs(tx) {
                acc = acc.wrapping_add(c.value(o));
                acc = acc.wrapping_add(u64::from(c.spender_link(o).unwrap_or(0)));
                acc = acc.wrapping_add(u64::from(c.out_addr[o as usize]));
            }
        }
        reads.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        for &a in &ends {
            acc = acc.wrapping_add(u64::from(engine.entity_of(a).0));
        }
        lookups.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(acc);
    }
    (median(&reads), median(&lookups))
}
