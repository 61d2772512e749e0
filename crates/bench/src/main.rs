//! `chainhound-bench`: ingest throughput, peak memory, store bytes per row and
//! the full value scan, side by side with bitcoin-block-parser and a bare
//! rust-bitcoin decode. Prints figures; asserts nothing about speed.
//!
//! ```text
//! cargo run --release -p chainhound-bench -- ingest --txs 1000000 --seed 1 --runs 3
//! cargo run --release -p chainhound-bench -- scan --store DIR
//! cargo run --release -p chainhound-bench -- cluster --txs 1000000
//! cargo run --release -p chainhound-bench -- trace --txs 1000000
//! ```
//!
//! Every contender runs in a child process of this binary (`worker`), pinned
//! to one CPU with `sched_setaffinity(2)`, so that times are per core and
//! each peak RSS is its own.

mod cluster;
mod cluster_floor;
mod data;
mod micro;
mod report;
mod sys;
mod trace;
mod workers;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use chainhound_store::Store;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::report::{Row, Run, ScanFigures, StoreFigures};
use crate::workers::{Contender, Figures};

#[derive(Parser)]
#[command(name = "chainhound-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Ingest throughput and peak memory of every contender, then bytes per
    /// row and the full value scan of the ChainHound store.
    Ingest(IngestArgs),
    /// Bytes per row and the full value scan of an existing store.
    Scan(ScanArgs),
    /// Block decoding and header scanning on a real block (default: mainnet
    /// block 702,861 from ../shared/data).
    Decode(DecodeArgs),
    /// The simulator's generation speed.
    Simulate(SimulateArgs),
    /// Clustering: multi-input pass throughput, per-block incremental
    /// update, and accuracy per heuristic against the simulator's truth.
    Cluster(cluster::ClusterArgs),
    /// Tracing: forward traces from the theft under each model, exposure
    /// of random addresses, and accuracy against the simulator's truth.
    Trace(trace::TraceArgs),
    /// One contender run (internal: spawned by `ingest`); prints one JSON line.
    #[command(hide = true)]
    Worker(WorkerArgs),
}

#[derive(Args)]
struct IngestArgs {
    /// Transactions of the simulated chain.
    #[arg(long, default_value_t = 1_000_000)]
    txs: u64,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Obfuscate the simulated blk files (blocks/xor.dat), as Bitcoin Core 28+ does.
    #[arg(long)]
    xor: bool,
    /// Runs per contender (the table shows medians).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Working directory: the chain goes to WORK/blocks, stores to WORK/run-*
    /// [default: target/bench-data/sim-<txs>-<seed>].
    #[arg(long)]
    work: Option<PathBuf>,
    /// Where the per-run stores (and bitcoin-block-parser's filter file) go
    /// [default: WORK]; e.g. a tmpfs to take the disk out of the figures.
    #[arg(long)]
    scratch: Option<PathBuf>,
    /// Benchmark this existing blocks directory instead of a simulated chain.
    #[arg(long)]
    blocks_dir: Option<PathBuf>,
    /// Contenders to run, comma-separated [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    contenders: Vec<Contender>,
    /// The CPU every child (and the scan) is pinned to.
    #[arg(long, default_value_t = 0)]
    cpu: usize,
    /// Timed runs of the full scan (after one warm-up).
    #[arg(long, default_value_t = 7)]
    scan_runs: usize,
    /// `estimated_utxos` for bitcoin-block-parser's UtxoParser [default: --txs].
    #[arg(long)]
    estimated_utxos: Option<usize>,
    /// Also print every figure as JSON (last line of stdout).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ScanArgs {
    /// The store directory (the `btc` directory of a ChainHound data dir).
    #[arg(long)]
    store: PathBuf,
    /// Timed runs (after one warm-up).
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Pin to this CPU.
    #[arg(long, default_value_t = 0)]
    cpu: usize,
    /// Also print the figures as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct DecodeArgs {
    /// A raw block file.
    #[arg(
        long,
        default_value = "../shared/data/btc-mainnet-block-702861/mainnet_block_702861.raw"
    )]
    block: PathBuf,
    /// Timed decodes (the median is printed).
    #[arg(long, default_value_t = 200)]
    rounds: usize,
}

#[derive(Args)]
struct SimulateArgs {
    /// Chain sizes in transactions, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [100_000u64, 1_000_000])]
    txs: Vec<u64>,
    /// Where to write the chains (each is deleted after timing) [default: a temp dir].
    #[arg(long)]
    work: Option<PathBuf>,
}

#[derive(Args)]
struct WorkerArgs {
    #[arg(value_enum)]
    contender: Contender,
    blocks: PathBuf,
    scratch: PathBuf,
    #[arg(long)]
    cpu: Option<usize>,
    #[arg(long, default_value_t = 1_000_000)]
    estimated_utxos: usize,
}

fn main() {
    chainhound_trace::keep_freed_memory();
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Ingest(a) => ingest(a),
        Cmd::Scan(a) => scan(a),
        Cmd::Decode(a) => micro::decode(&a.block, a.rounds),
        Cmd::Simulate(a) => micro::simulate_speed(&a.txs, a.work),
        Cmd::Cluster(a) => cluster::run(a),
        Cmd::Trace(a) => trace::run(a),
        Cmd::Worker(a) => worker(a),
    };
    if let Err(e) = r {
        eprintln!("chainhound-bench: {e:#}");
        std::process::exit(1);
    }
}

fn worker(a: WorkerArgs) -> Result<()> {
    if let Some(cpu) = a.cpu {
        sys::pin_to_cpu(cpu)?;
    }
    let f = workers::run(a.contender, &a.blocks, &a.scratch, a.estimated_utxos)?;
    println!("{}", serde_json::to_string(&f)?);
    Ok(())
}

#[derive(Serialize)]
struct Machine {
    nproc: usize,
    cpu_model: String,
    loadavg_before: String,
    loadavg_after: String,
    pinning: String,
}

#[derive(Serialize)]
struct Targets {
    speedup_vs_bbp: f64,
    speedup_vs_bbp_utxo: f64,
    min_speedup: f64,
    bytes_per_output_core: f64,
    bytes_per_input_core: f64,
    bytes_combined_core: f64,
    max_bytes: f64,
    scan_outputs_per_s: f64,
    min_scan_outputs_per_s: f64,
}

#[derive(Serialize)]
struct IngestJson {
    command: String,
    unix_time: u64,
    machine: Machine,
    blocks_dir: PathBuf,
    scratch_dir: PathBuf,
    blk_bytes: u64,
    blk_files: usize,
    truth_blocks_txs: Option<(u64, u64)>,
    stale_blocks: Option<usize>,
    runs: Vec<Run>,
    table: Vec<Row>,
    mismatches: Vec<String>,
    store: Option<StoreFigures>,
    scan: Option<ScanFigures>,
    targets: Option<Targets>,
}

fn ingest(a: IngestArgs) -> Result<()> {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let nproc = sys::nproc();
    let loadavg_before = sys::loadavg();
    let (work, chain) = match &a.blocks_dir {
        Some(b) => (
            a.work
                .clone()
                .unwrap_or_else(|| data::default_work_dir(0, 0, false).with_file_name("custom")),
            data::existing(b)?,
        ),
        None => {
            let w = a
                .work
                .clone()
                .unwrap_or_else(|| data::default_work_dir(a.txs, a.seed, a.xor));
            let c = data::ensure_sim(&w, a.txs, a.seed, a.xor)?;
            (w, c)
        }
    };
    std::fs::create_dir_all(&work)?;
    let work = std::fs::canonicalize(&work)?;
    let contenders = if a.contenders.is_empty() {
        Contender::ALL.to_vec()
    } else {
        a.contenders.clone()
    };
    let scratch_root = match &a.scratch {
        Some(s) => {
            std::fs::create_dir_all(s)?;
            std::fs::canonicalize(s)?
        }
        None => work.clone(),
    };
    let est = a.estimated_utxos.unwrap_or(a.txs as usize);
    let exe = std::env::current_exe()?;
    eprintln!(
        "{} blk files, {} bytes; {} runs of {:?}, each a child pinned to CPU {} (sched_setaffinity); load {}",
        chain.files,
        chain.blk_bytes,
        a.runs,
        contenders.iter().map(|c| c.name()).collect::<Vec<_>>(),
        a.cpu,
        loadavg_before
    );

    let mut runs: Vec<Run> = Vec::new();
    for n in 1..=a.runs {
        for &c in &contenders {
            let scratch = scratch_root.join(format!("run-{}", c.name()));
            if scratch.exists() {
                std::fs::remove_dir_all(&scratch)
                    .with_context(|| format!("removing {}", scratch.display()))?;
            }
            let child = sys::run_child(
                Command::new(&exe)
                    .arg("worker")
                    .arg(c.name())
                    .arg(&chain.blocks_dir)
                    .arg(&scratch)
                    .arg("--cpu")
                    .arg(a.cpu.to_string())
                    .arg("--estimated-utxos")
                    .arg(est.to_string()),
            )?;
            let line = child
                .stdout
                .lines()
                .rev()
                .find(|l| l.starts_with('{'))
                .with_context(|| format!("worker {} printed no figures", c.name()))?;
            let figures: Figures = serde_json::from_str(line)?;
            eprintln!(
                "run {n} {:<10} {:>8.3} s  cpu {:>7.3} s  hwm {:>6.0} MiB  anon {:>6.0} MiB  {} blocks {} txs",
                c.name(),
                figures.work_s,
                figures.cpu_s,
                figures.vm_hwm_kib as f64 / 1024.0,
                figures.anon_peak_kib as f64 / 1024.0,
                figures.blocks,
                figures.txs
            );
            if c != Contender::Chainhound {
                let _ = std::fs::remove_dir_all(&scratch);
            }
            runs.push(Run {
                run: n,
                figures,
                process_wall_s: child.wall_s,
                process_maxrss_kib: child.maxrss_kib,
                process_cpu_s: child.cpu_s,
            });
        }
    }
    let loadavg_after = sys::loadavg();

    println!();
    println!(
        "Machine: {nproc} CPUs, {}; load average before {loadavg_before}, after {loadavg_after}",
        sys::cpu_model()
    );
    println!("Command: {command}");
    println!("Stores and scratch files in {}", scratch_root.display());
    println!(
        "Input: {} ({} blk files, {} bytes{})",
        chain.blocks_dir.display(),
        chain.files,
        chain.blk_bytes,
        match (chain.truth, chain.stale_blocks) {
            (Some((b, t)), Some(s)) =>
                format!("; truth: {b} main-chain blocks, {t} txs, {s} stale blocks"),
            _ => String::new(),
        }
    );
    if let Some(f) = runs.first().map(|r| &r.figures) {
        println!(
            "Main chain: {} blocks, {} txs, {} inputs, {} outputs, {} sat output value",
            f.blocks, f.txs, f.inputs, f.outputs, f.value_sat
        );
    }
    println!(
        "Medians of {} runs, every contender pinned to CPU {} (per-core figures):",
        a.runs, a.cpu
    );
    println!();
    let table = report::rows(&runs, chain.blk_bytes);
    report::print_rows(&table);
    println!();
    let mismatches = report::check(&runs, chain.truth);
    if mismatches.is_empty() {
        println!("Check: every contender agrees on blocks, txs, inputs, outputs and value (and, where computed, input value, unspent outputs, txid XOR).");
    } else {
        println!("!!!!!!!! MISMATCH between contenders !!!!!!!!");
        for m in &mismatches {
            println!("!!! {m}");
        }
        if mismatches.iter().any(|m| m.contains("known peer defect")) {
            println!("Known peer defect: {}", report::KNOWN_BBP_NOTE);
        }
    }
    println!();

    let store_dir = scratch_root.join(format!("run-{}", Contender::Chainhound.name()));
    let (store, scan, targets) = if contenders.contains(&Contender::Chainhound) {
        let (sf, sc) = store_and_scan(&store_dir, a.scan_runs, a.cpu)?;
        let speed = |name: &str| {
            table
                .iter()
                .find(|r| r.contender == name)
                .map_or(f64::NAN, |r| r.chainhound_speedup)
        };
        let t = Targets {
            speedup_vs_bbp: speed("bbp"),
            speedup_vs_bbp_utxo: speed("bbp-utxo"),
            min_speedup: 2.0,
            bytes_per_output_core: sf.output_core,
            bytes_per_input_core: sf.input_core,
            bytes_combined_core: sf.combined_core,
            max_bytes: 12.0,
            scan_outputs_per_s: sc.outputs_per_s,
            min_scan_outputs_per_s: 300e6,
        };
        print_targets(&t);
        (Some(sf), Some(sc), Some(t))
    } else {
        (None, None, None)
    };

    if a.json {
        let j = IngestJson {
            command,
            unix_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            machine: Machine {
                nproc,
                cpu_model: sys::cpu_model(),
                loadavg_before,
                loadavg_after,
                pinning: format!("sched_setaffinity(2) to CPU {} in each child", a.cpu),
            },
            blocks_dir: chain.blocks_dir.clone(),
            scratch_dir: scratch_root.clone(),
            blk_bytes: chain.blk_bytes,
            blk_files: chain.files,
            truth_blocks_txs: chain.truth,
            stale_blocks: chain.stale_blocks,
            runs,
            table,
            mismatches,
            store,
            scan,
            targets,
        };
        println!("{}", serde_json::to_string(&j)?);
    }
    Ok(())
}

fn store_and_scan(dir: &Path, runs: usize, cpu: usize) -> Result<(StoreFigures, ScanFigures)> {
    let store =
        Store::open(dir).with_context(|| format!("opening the store in {}", dir.display()))?;
    let sf = report::store_figures(&store)?;
    report::print_store(&sf, dir);
    // Pin this (single-threaded) process for the scan.
    sys::pin_to_cpu(cpu)?;
    let sc = report::scan(&store, runs);
    report::print_scan(&sc);
    Ok((sf, sc))
}

fn print_targets(t: &Targets) {
    let ok = |b: bool| if b { "met" } else { "MISSED" };
    println!();
    println!("Targets:");
    println!(
        "  throughput ≥ {:.0}× the established parser per core: {:.2}× bitcoin-block-parser plain ({}), {:.2}× its UTXO mode ({})",
        t.min_speedup,
        t.speedup_vs_bbp,
        ok(t.speedup_vs_bbp >= t.min_speedup),
        t.speedup_vs_bbp_utxo,
        ok(t.speedup_vs_bbp_utxo >= t.min_speedup)
    );
    println!(
        "  ≤ {:.0} bytes per input and per output on average: combined {:.2} ({}); per output {:.2} ({}), per input {:.2} ({})",
        t.max_bytes,
        t.bytes_combined_core,
        ok(t.bytes_combined_core <= t.max_bytes),
        t.bytes_per_output_core,
        ok(t.bytes_per_output_core <= t.max_bytes),
        t.bytes_per_input_core,
        ok(t.bytes_per_input_core <= t.max_bytes)
    );
    println!(
        "  full scan ≥ {:.0} M outputs/s per core: {:.0} M ({})",
        t.min_scan_outputs_per_s / 1e6,
        t.scan_outputs_per_s / 1e6,
        ok(t.scan_outputs_per_s >= t.min_scan_outputs_per_s)
    );
}

fn scan(a: ScanArgs) -> Result<()> {
    let (sf, sc) = store_and_scan(&a.store, a.runs, a.cpu)?;
    if a.json {
        #[derive(Serialize)]
        struct ScanJson {
            store: StoreFigures,
            scan: ScanFigures,
        }
        println!(
            "{}",
            serde_json::to_string(&ScanJson {
                store: sf,
                scan: sc
            })?
        );
    }
    Ok(())
}
