//! `chainhound ingest btc`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chainhound_btc::{BlocksDir, Network};
use chainhound_ingest::{ingest_btc, ClusterUpdate, IngestOptions, IngestReport};
use chainhound_store::StoreWriter;
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::progress::Bars;
use crate::Ctx;

#[derive(Subcommand, Debug)]
pub enum IngestCmd {
    /// Bitcoin: read Bitcoin Core blk*.dat files (with blocks/xor.dat if present).
    Btc(BtcArgs),
    /// EVM chains: a JSON-RPC node, an ethereum-etl CSV export or RLP block files.
    Evm(crate::evm::IngestEvmArgs),
}

#[derive(Args, Debug)]
pub struct BtcArgs {
    /// Bitcoin Core's blocks directory (holding blk00000.dat ...).
    #[arg(long, required_unless_present = "file")]
    pub blocks_dir: Option<PathBuf>,
    /// Explicit block files instead (blk format or one raw block each); repeatable.
    #[arg(long, conflicts_with = "blocks_dir")]
    pub file: Vec<PathBuf>,
    /// main, test (testnet3), testnet4, signet or regtest.
    #[arg(long, default_value = "main")]
    pub network: String,
    /// Accept a chain that does not start at genesis: its first block gets this height.
    #[arg(long)]
    pub anchor_height: Option<u32>,
    /// Commit after this many blocks (default: every 2 seconds).
    #[arg(long)]
    pub commit_every: Option<u32>,
    /// Append at most this many blocks this run.
    #[arg(long)]
    pub max_blocks: Option<u32>,
    /// Do not update the entity clusters (`chainhound cluster` does it later).
    #[arg(long)]
    pub no_cluster: bool,
}

#[derive(Serialize)]
struct ReportJson {
    files: usize,
    blocks_found: usize,
    duplicates: usize,
    orphans: usize,
    stale: usize,
    rolled_back: u32,
    appended: u32,
    remaining: u32,
    txs: u64,
    inputs: u64,
    outputs: u64,
    bytes: u64,
    unresolved_inputs: u64,
    conflicting_spends: u64,
    tip_height: Option<u32>,
    tip_hash: Option<String>,
    clustered_blocks: Option<u32>,
    scan_seconds: f64,
    load_seconds: f64,
    warnings: Vec<String>,
}

pub fn run(ctx: &Ctx, cmd: IngestCmd) -> Result<()> {
    let args = match cmd {
        IngestCmd::Btc(args) => args,
        IngestCmd::Evm(args) => return crate::evm::ingest(ctx, args),
    };
    let report = ingest(ctx, &args)?;
    print_report(ctx, &report)
}

pub fn ingest(ctx: &Ctx, args: &BtcArgs) -> Result<IngestReport> {
    let network: Network = args.network.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let source = match &args.blocks_dir {
        Some(dir) => BlocksDir::open(dir, network)?,
        None if !args.file.is_empty() => BlocksDir::from_files(args.file.clone(), network),
        None => bail!("give --blocks-dir DIR or --file FILE"),
    };
    let dir = ctx.btc_dir();
    let mut writer = StoreWriter::open(&dir, network.magic(), network.name())
        .with_context(|| format!("opening the store in {}", dir.display()))?;
    let mut opts = IngestOptions {
        anchor_height: args.anchor_height,
        max_blocks: args.max_blocks,
        clusters: if args.no_cluster {
            ClusterUpdate::Off
        } else {
            ClusterUpdate::Follow
        },
        ..Default::default()
    };
    if let Some(n) = args.commit_every {
        opts.commit_every_blocks = n.max(1);
        opts.commit_interval = Duration::MAX;
    }
    let mut bars = Bars::new(ctx.quiet);
    let report = ingest_btc(&mut writer, &source, &opts, &mut bars)?;
    drop(writer);
    for w in &report.warnings {
        tracing::warn!("{w}");
    }
    Ok(report)
}

fn print_report(ctx: &Ctx, r: &IngestReport) -> Result<()> {
    if ctx.json {
        let j = ReportJson {
            files: r.files,
            blocks_found: r.blocks_found,
            duplicates: r.duplicates,
            orphans: r.orphans,
            stale: r.stale,
            rolled_back: r.rolled_back,
            appended: r.appended,
            remaining: r.remaining,
            txs: r.txs,
            inputs: r.inputs,
            outputs: r.outputs,
            bytes: r.bytes,
            unresolved_inputs: r.unresolved,
            conflicting_spends: r.conflicting_spends,
            tip_height: r.tip.map(|t| t.0),
            tip_hash: r.tip.map(|t| t.1.to_string()),
            clustered_blocks: r.clusters.as_ref().map(|c| c.covered_blocks),
            scan_seconds: r.scan_time.as_secs_f64(),
            load_seconds: r.load_time.as_secs_f64(),
            warnings: r.warnings.clone(),
        };
        println!("{}", serde_json::to_string_pretty(&j)?);
        return Ok(());
    }
    if ctx.quiet {
        return Ok(());
    }
    let secs = r.load_time.as_secs_f64().max(1e-9);
    println!(
        "scanned {} files: {} blocks ({} duplicate copies, {} stale, {} orphan)",
        r.files, r.blocks_found, r.duplicates, r.stale, r.orphans
    );
    if r.rolled_back > 0 {
        println!("reorg: rolled back {} blocks", r.rolled_back);
    }
    println!(
        "appended {} blocks, {} txs, {} inputs, {} outputs in {:.2}s ({:.0} tx/s, {:.1} MB/s)",
        r.appended,
        r.txs,
        r.inputs,
        r.outputs,
        secs,
        r.txs as f64 / secs,
        r.bytes as f64 / secs / 1e6
    );
    if r.remaining > 0 {
        println!("{} blocks remain; run again to continue", r.remaining);
    }
    if r.unresolved > 0 {
        println!("{} inputs spend outputs that are not in the store (the chain does not start at genesis)", r.unresolved);
    }
    if r.conflicting_spends > 0 {
        println!(
            "warning: {} inputs spend an output that was already spent",
            r.conflicting_spends
        );
    }
    if let Some(c) = &r.clusters {
        println!(
            "clusters: {} blocks covered ({} clustered this run in {:.2}s)",
            c.covered_blocks,
            c.blocks_added,
            (c.cluster_time + c.commit_time).as_secs_f64()
        );
    }
    match r.tip {
        Some((h, hash)) => println!("tip: height {h} {hash}"),
        None => println!("the store is empty"),
    }
    Ok(())
}
