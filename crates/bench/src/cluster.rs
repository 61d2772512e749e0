//! `chainhound-bench cluster`: clustering throughput (the multi-input pass),
//! the per-block incremental update with its commit, and accuracy of the
//! default and of each change heuristic against the simulator's ground truth.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use chainhound_btc::{BlocksDir, Network};
use chainhound_entities::eval::{evaluate, Accuracy, GroundTruth};
use chainhound_entities::{
    load_sim_truth, Clusterer, Config, ConfigChoice, Heuristic, Heuristics, Link, MemoryClusters,
};
use chainhound_ingest::{ingest_btc, IngestOptions, Quiet};
use chainhound_store::{Store, StoreWriter};
use clap::Args;
use serde::Serialize;

use crate::{data, sys};

#[derive(Args)]
pub struct ClusterArgs {
    /// Transactions of the simulated chain.
    #[arg(long, default_value_t = 1_000_000)]
    txs: u64,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Working directory [default: target/bench-data/sim-<txs>-<seed>]; the
    /// store this bench clusters goes to WORK/entities-store.
    #[arg(long)]
    work: Option<PathBuf>,
    /// Timed runs of the in-memory pass (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Blocks at the tip timed one by one (apply, then commit).
    #[arg(long, default_value_t = 200)]
    tail_blocks: u32,
    /// Pin to this CPU.
    #[arg(long, default_value_t = 0)]
    cpu: usize,
    /// Also print every figure as JSON (last line of stdout).
    #[arg(long)]
    json: bool,
    /// Also time this machine's floor for the pass (bare loops; see
    /// `cluster_floor`).
    #[arg(long)]
    floor: bool,
}

#[derive(Serialize)]
struct Throughput {
    runs_s: Vec<f64>,
    median_s: f64,
    cpu_runs_s: Vec<f64>,
    median_cpu_s: f64,
    inputs_per_cpu_s: f64,
    txs: u64,
    inputs: u64,
    multi_input_txs: u64,
    inputs_per_s: f64,
    txs_per_s: f64,
    edges: u64,
    coinjoins_flagged: u64,
}

#[derive(Serialize)]
struct Incremental {
    blocks_timed: usize,
    txs_per_block_mean: f64,
    apply_ms_p50: f64,
    apply_ms_p99: f64,
    apply_ms_max: f64,
    commit_ms_p50: f64,
    commit_ms_p99: f64,
    total_ms_p50: f64,
    total_ms_p99: f64,
    full_update_s: f64,
    bytes_on_disk: u64,
}

#[derive(Serialize)]
struct AccRow {
    config: String,
    seconds: f64,
    precision: f64,
    recall: f64,
    recall_with_coinjoin_inputs: f64,
    pairs_predicted: String,
    mixed_clusters: u64,
    coinjoin_merges: u64,
    clusters: u64,
    exchange_recall_min: f64,
    exchange_recall_mean: f64,
    exchange_purity_min: f64,
    thief_recall: f64,
    thief_addresses: u64,
    thief_purity: f64,
    thief_linked: u64,
    thief_clusters: u64,
    links: Vec<(String, u64, u64, u64, u64)>,
}

#[derive(Serialize)]
struct DetJson {
    true_pos: u64,
    false_pos: u64,
    false_neg: u64,
    precision: f64,
    recall: f64,
    accuracy: f64,
    tx0_true_pos: u64,
    tx0_missed: u64,
    tx0_false_pos: u64,
    tx0_as_coinjoin: u64,
    confusion: Vec<(String, String, u64)>,
}

impl From<&chainhound_entities::eval::DetectionScore> for DetJson {
    fn from(d: &chainhound_entities::eval::DetectionScore) -> DetJson {
        DetJson {
            true_pos: d.true_pos,
            false_pos: d.false_pos,
            false_neg: d.false_neg,
            precision: d.precision,
            recall: d.recall,
            accuracy: d.accuracy,
            tx0_true_pos: d.tx0_true_pos,
            tx0_missed: d.tx0_missed,
            tx0_false_pos: d.tx0_false_pos,
            tx0_as_coinjoin: d.tx0_as_coinjoin,
            confusion: d.confusion.clone(),
        }
    }
}

#[derive(Serialize)]
struct ClusterJson {
    command: String,
    machine: String,
    loadavg_before: String,
    loadavg_after: String,
    chain: String,
    throughput: Throughput,
    floor: Option<crate::cluster_floor::Floor>,
    incremental: Incremental,
    accuracy: Vec<AccRow>,
    detection: DetJson,
    exchanges_default: Vec<(String, u64, f64, f64)>,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn pct(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let i = ((s.len() as f64 - 1.0) * p).round() as usize;
    s[i.min(s.len() - 1)]
}

/// A store of the simulated chain, ingested once into `dir`.
fn ensure_store(dir: &Path, blocks_dir: &Path, want_txs: u64) -> Result<Store> {
    if let Ok(s) = Store::open(dir) {
        if u64::from(s.counts().txs) == want_txs {
            return Ok(s);
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    eprintln!("ingesting into {}", dir.display());
    let source = BlocksDir::open(blocks_dir, Network::Regtest)?;
    let mut w = StoreWriter::open(dir, Network::Regtest.magic(), "regtest")?;
    ingest_btc(&mut w, &source, &IngestOptions::default(), &mut Quiet)?;
    drop(w);
    Ok(Store::open(dir)?)
}

fn configs() -> Vec<(String, Config)> {
    let mut v = vec![("multi-input (default)".to_string(), Config::default())];
    for h in Heuristic::CHANGE {
        v.push((
            format!("multi-input + {h}"),
            Config {
                heuristics: Heuristics::MULTI_INPUT.with(h),
                ..Config::default()
            },
        ));
    }
    let all = Heuristic::CHANGE
        .iter()
        .fold(Heuristics::MULTI_INPUT, |s, h| s.with(*h));
    v.push((
        "all heuristics".to_string(),
        Config {
            heuristics: all,
            ..Config::default()
        },
    ));
    v
}

fn acc_row(name: &str, secs: f64, a: &Accuracy) -> AccRow {
    let ex = &a.exchanges;
    let thief = a.thief.first();
    AccRow {
        config: name.to_string(),
        seconds: secs,
        precision: a.precision,
        recall: a.recall,
        recall_with_coinjoin_inputs: a.recall_with_coinjoin_inputs,
        pairs_predicted: a.pairs_predicted.to_string(),
        mixed_clusters: a.mixed_clusters,
        coinjoin_merges: a.coinjoin_merges,
        clusters: a.clusters,
        exchange_recall_min: ex.iter().map(|e| e.recall).fold(1.0, f64::min),
        exchange_recall_mean: ex.iter().map(|e| e.recall).sum::<f64>() / ex.len().max(1) as f64,
        exchange_purity_min: ex.iter().map(|e| e.purity).fold(1.0, f64::min),
        thief_recall: thief.map_or(0.0, |t| t.recall),
        thief_addresses: thief.map_or(0, |t| t.addresses),
        thief_purity: thief.map_or(0.0, |t| t.purity),
        thief_linked: thief.map_or(0, |t| t.linked),
        thief_clusters: thief.map_or(0, |t| t.clusters),
        links: a
            .links
            .iter()
            .map(|l| {
                (
                    l.heuristic.name().to_string(),
                    l.links,
                    l.correct,
                    l.thief_links,
                    l.thief_correct,
                )
            })
            .collect(),
    }
}

pub fn run(a: ClusterArgs) -> Result<()> {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let loadavg_before = sys::loadavg();
    let work = a
        .work
        .clone()
        .unwrap_or_else(|| data::default_work_dir(a.txs, a.seed, false));
    let chain = data::ensure_sim(&work, a.txs, a.seed, false)?;
    let store_dir = work.join("entities-store");
    let store = ensure_store(&store_dir, &chain.blocks_dir, a.txs)?;
    let (truth, _) = load_sim_truth(&store, &work).context("loading the ground truth")?;
    sys::pin_to_cpu(a.cpu)?;
    let c = store.counts();
    eprintln!(
        "store: {} blocks, {} txs, {} inputs, {} outputs, {} addresses; pinned to CPU {}",
        c.blocks, c.txs, c.inputs, c.outputs, c.addrs, a.cpu
    );

    // Throughput of the default (multi-input) pass, in memory.
    let mut runs = Vec::new();
    let mut cpu = Vec::new();
    let mut last = None;
    for _ in 0..a.runs.max(1) {
        let (t, c0) = (Instant::now(), sys::self_cpu_s());
        let m = MemoryClusters::compute(&store, Config::default())?;
        runs.push(t.elapsed().as_secs_f64());
        cpu.push(sys::self_cpu_s() - c0);
        last = Some(m);
    }
    let med_cpu = median(&mut cpu.clone());
    let mut m = last.expect("at least one run");
    let st = m.stats().clone();
    let med = median(&mut runs.clone());
    let thr = Throughput {
        runs_s: runs,
        median_s: med,
        cpu_runs_s: cpu,
        median_cpu_s: med_cpu,
        inputs_per_cpu_s: st.inputs as f64 / med_cpu,
        txs: st.txs,
        inputs: st.inputs,
        multi_input_txs: st.multi_input_txs,
        inputs_per_s: st.inputs as f64 / med,
        txs_per_s: st.txs as f64 / med,
        edges: st.edges.iter().sum(),
        coinjoins_flagged: st.detections[1..6].iter().sum(),
    };
    eprintln!(
        "multi-input pass: median {:.3} s = {:.1} M inputs/s, {:.2} M txs/s",
        med,
        thr.inputs_per_s / 1e6,
        thr.txs_per_s / 1e6
    );

    let floor = a.floor.then(|| {
        let f = crate::cluster_floor::measure(&store, a.runs);
        eprintln!(
            "floor: allocation {:.1} ms, gather {:.1} ms ({} inputs), bare unions {:.1} ms ({} unions) = {:.1} M inputs/s; CoinJoin detection {:.1} ms ({} txs, {} outputs); with it {:.1} M inputs/s",
            f.alloc_s * 1e3,
            f.gather_s * 1e3,
            f.gathered_inputs,
            f.unions_s * 1e3,
            f.unions,
            f.bare_inputs_per_s / 1e6,
            f.classify_s * 1e3,
            f.classified_txs,
            f.classified_outputs,
            f.with_detection_inputs_per_s / 1e6
        );
        f
    });

    // Persistent, incremental: all but the tail in one update, then the tail
    // block by block.
    let inc = incremental(&store, a.tail_blocks)?;

    // Accuracy per configuration.
    let mut rows = Vec::new();
    let mut detection = None;
    let mut exchanges_default = Vec::new();
    for (i, (name, cfg)) in configs().into_iter().enumerate() {
        let (acc, secs) = if i == 0 {
            (score(&store, &mut m, &truth), med)
        } else {
            let t = Instant::now();
            let mut mc = MemoryClusters::compute(&store, cfg)?;
            let secs = t.elapsed().as_secs_f64();
            (score(&store, &mut mc, &truth), secs)
        };
        if i == 0 {
            detection = Some(DetJson::from(&acc.detection));
            exchanges_default = acc
                .exchanges
                .iter()
                .map(|e| (e.name.clone(), e.addresses, e.recall, e.purity))
                .collect();
        }
        eprintln!(
            "{name}: precision {:.5} recall {:.5} thief recall {:.4}",
            acc.precision,
            acc.recall,
            acc.thief.first().map_or(0.0, |t| t.recall)
        );
        rows.push(acc_row(&name, secs, &acc));
    }
    let detection = detection.expect("default evaluated");
    let j = ClusterJson {
        command,
        machine: format!("{} CPUs, {}", sys::nproc(), sys::cpu_model()),
        loadavg_before,
        loadavg_after: sys::loadavg(),
        chain: format!(
            "{} ({} blocks, {} txs, {} inputs, {} addresses)",
            work.display(),
            c.blocks,
            c.txs,
            c.inputs,
            c.addrs
        ),
        throughput: thr,
        floor,
        incremental: inc,
        accuracy: rows,
        detection,
        exchanges_default,
    };
    print(&j);
    if a.json {
        println!("{}", serde_json::to_string(&j)?);
    }
    Ok(())
}

fn score(store: &Store, m: &mut MemoryClusters, truth: &GroundTruth) -> Accuracy {
    let ids = m.entity_ids();
    let links: Vec<Link> = m.links().collect();
    evaluate(store, &ids, &links, &m.detections(), truth)
}

fn incremental(store: &Store, tail: u32) -> Result<Incremental> {
    let dir = store.dir();
    let _ = std::fs::remove_dir_all(dir.join(chainhound_entities::DIR));
    let n = store.counts().blocks;
    let tail = tail.min(n.saturating_sub(1));
    let t = Instant::now();
    let mut c = Clusterer::open(dir, ConfigChoice::Use(Config::default()))?;
    c.sync(store, Some(n - tail))?;
    c.commit()?;
    let head_s = t.elapsed().as_secs_f64();
    let (mut apply, mut commit, mut total) = (Vec::new(), Vec::new(), Vec::new());
    let mut txs = 0u64;
    for _ in 0..tail {
        let t0 = Instant::now();
        let r = c.sync(store, Some(1))?;
        let t1 = Instant::now();
        c.commit()?;
        let t2 = Instant::now();
        txs += r.stats.txs;
        apply.push((t1 - t0).as_secs_f64() * 1e3);
        commit.push((t2 - t1).as_secs_f64() * 1e3);
        total.push((t2 - t0).as_secs_f64() * 1e3);
    }
    let bytes = c.sizes().iter().map(|x| x.1).sum();
    // The whole chain in one persistent update, for comparison.
    drop(c);
    let _ = std::fs::remove_dir_all(dir.join(chainhound_entities::DIR));
    let t = Instant::now();
    Clusterer::open(dir, ConfigChoice::Use(Config::default()))?.update(store)?;
    let full = t.elapsed().as_secs_f64();
    eprintln!(
        "persistent: {head_s:.3} s for the first {} blocks",
        n - tail
    );
    Ok(Incremental {
        blocks_timed: apply.len(),
        txs_per_block_mean: txs as f64 / apply.len().max(1) as f64,
        apply_ms_p50: pct(&apply, 0.5),
        apply_ms_p99: pct(&apply, 0.99),
        apply_ms_max: pct(&apply, 1.0),
        commit_ms_p50: pct(&commit, 0.5),
        commit_ms_p99: pct(&commit, 0.99),
        total_ms_p50: pct(&total, 0.5),
        total_ms_p99: pct(&total, 0.99),
        full_update_s: full,
        bytes_on_disk: bytes,
    })
}

fn print(j: &ClusterJson) {
    let t = &j.throughput;
    println!(
        "Machine: {}; load {} → {}",
        j.machine, j.loadavg_before, j.loadavg_after
    );
    println!("Command: {}", j.command);
    println!("Chain: {}", j.chain);
    println!();
    println!(
        "Multi-input pass (in memory, one core, median of {}): {:.3} s wall, {:.3} s CPU; {:.1} M inputs/s wall, {:.1} M inputs/s CPU ({} inputs), {:.2} M txs/s; {} multi-input txs, {} unions, {} CoinJoins flagged",
        t.runs_s.len(),
        t.median_s,
        t.median_cpu_s,
        t.inputs_per_s / 1e6,
        t.inputs_per_cpu_s / 1e6,
        t.inputs,
        t.txs_per_s / 1e6,
        t.multi_input_txs,
        t.edges,
        t.coinjoins_flagged
    );
    let i = &j.incremental;
    println!(
        "Incremental, last {} blocks one by one ({:.0} txs/block): apply p50 {:.2} ms, p99 {:.2} ms (max {:.2}); commit p50 {:.2} ms, p99 {:.2} ms; apply+commit p50 {:.2} ms, p99 {:.2} ms",
        i.blocks_timed,
        i.txs_per_block_mean,
        i.apply_ms_p50,
        i.apply_ms_p99,
        i.apply_ms_max,
        i.commit_ms_p50,
        i.commit_ms_p99,
        i.total_ms_p50,
        i.total_ms_p99
    );
    println!(
        "Whole chain in one persistent update (pass + commit): {:.3} s; {} bytes on disk",
        i.full_update_s, i.bytes_on_disk
    );
    println!();
    println!("| configuration | precision | recall | recall incl. CoinJoin participants' own inputs | mixed clusters | CoinJoin merges | exchange recall min / mean | thief recall (purity) | thief addresses linked to another | s |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &j.accuracy {
        println!(
            "| {} | {:.4}% | {:.4}% | {:.4}% | {} | {} | {:.2}% / {:.2}% | {:.2}% ({:.2}%) of {} | {:.2}% in {} clusters | {:.2} |",
            r.config,
            r.precision * 100.0,
            r.recall * 100.0,
            r.recall_with_coinjoin_inputs * 100.0,
            r.mixed_clusters,
            r.coinjoin_merges,
            r.exchange_recall_min * 100.0,
            r.exchange_recall_mean * 100.0,
            r.thief_recall * 100.0,
            r.thief_purity * 100.0,
            r.thief_addresses,
            r.thief_linked as f64 * 100.0 / r.thief_addresses.max(1) as f64,
            r.thief_clusters,
            r.seconds
        );
    }
    println!();
    println!("| configuration | heuristic | unions | correct | thief unions | thief correct |");
    println!("|---|---|---:|---:|---:|---:|");
    for r in &j.accuracy {
        for (h, n, ok, tn, tok) in &r.links {
            println!("| {} | {h} | {n} | {ok} | {tn} | {tok} |", r.config);
        }
    }
    let d = &j.detection;
    println!();
    println!(
        "CoinJoin detection: precision {:.4}% recall {:.4}% accuracy {:.5}% (TP {}, FP {}, FN {}); multi-input tx0s: {} found, {} missed, {} false, {} taken for CoinJoins",
        d.precision * 100.0,
        d.recall * 100.0,
        d.accuracy * 100.0,
        d.true_pos,
        d.false_pos,
        d.false_neg,
        d.tx0_true_pos,
        d.tx0_missed,
        d.tx0_false_pos,
        d.tx0_as_coinjoin
    );
    for (t, p, n) in &d.confusion {
        println!("  truth {t:<14} flagged {p:<14} {n}");
    }
    println!();
    println!("Exchanges (default): name, addresses, recall, purity");
    for (n, a, r, p) in &j.exchanges_default {
        println!("  {n:<30} {a:>8} {:.2}% {:.2}%", r * 100.0, p * 100.0);
    }
}
