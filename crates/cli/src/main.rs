//! `chainhound`: the command-line front end. Glue only: it parses flags,
//! sets up logging and progress bars, calls the library crates, and prints
//! results for people or, with `--json`, for machines.

mod entities;
mod evm;
mod fmt;
mod ingest;
mod intel;
mod progress;
mod query;
mod scan;
mod serve;
mod sim;
mod trace;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// ChainHound: blockchain intelligence you can run yourself.
#[derive(Parser, Debug)]
#[command(name = "chainhound", version, about, propagate_version = true)]
pub struct Cli {
    /// The store directory.
    #[arg(
        long,
        global = true,
        env = "CHAINHOUND_DATA",
        default_value = "./chainhound-data"
    )]
    data: PathBuf,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// No progress bars or summaries on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// More log output (-v info, -vv debug).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Read a chain into the store.
    #[command(subcommand)]
    Ingest(ingest::IngestCmd),
    /// Show a block by height or hash.
    Block(query::BlockArgs),
    /// Show a transaction: inputs with what they spend, outputs with their spenders, fee.
    Tx(query::TxArgs),
    /// Show an address: balance, totals, first/last seen, its transactions.
    Address(query::AddressArgs),
    /// Summarize the store: tip, row counts, bytes per column.
    Stats,
    /// Update (or, with new --heuristics, recompute) the entity clusters and
    /// print their statistics.
    Cluster(entities::ClusterArgs),
    /// Show an entity (by address or entity id): size, balance, tags,
    /// activity, top counterparties; or --superclusters.
    Entity(entities::EntityArgs),
    /// Show the chain of transactions, and the heuristic behind each link,
    /// that put two addresses into one entity.
    Explain(entities::ExplainArgs),
    /// Write derived data to files.
    #[command(subcommand)]
    Export(entities::ExportCmd),
    /// Import attribution tags (OFAC SDN, GraphSense TagPacks, CSV) into <data>/intel.
    #[command(subcommand)]
    Import(intel::ImportCmd),
    /// List imported tags and sources.
    #[command(subcommand)]
    Tags(intel::TagsCmd),
    /// Write a simulated economy with a laundering incident as blk files plus ground truth.
    Simulate(sim::SimulateArgs),
    /// Simulate a small incident, ingest it and show what an analyst looks at first.
    Demo(sim::DemoArgs),
    /// Follow value forward or backward under a taint model (poison,
    /// haircut, FIFO): destinations, stockpile, fees, mixers, flow graph.
    Trace(trace::TraceArgs),
    /// The shortest and the highest-value path between two addresses or entities.
    Path(trace::PathArgs),
    /// Direct and indirect exposure of an address or entity by category.
    Exposure(trace::ExposureArgs),
    /// Run the KYT screening API (REST, OpenAPI at /openapi.json, docs at /docs).
    Serve(serve::ServeArgs),
    /// Manage API keys of the screening service.
    #[command(subcommand)]
    Keys(serve::KeysCmd),
    /// Manage tenants of the screening service.
    #[command(subcommand)]
    Tenants(serve::TenantsCmd),
    /// Verify or show the screening service's hash-chained audit log.
    #[command(subcommand)]
    Audit(serve::AuditCmd),
    /// Crypto-jacking: YARA rules over files; Stratum/XMRig, pool and
    /// NoCoin traffic in pcap/pcapng and Zeek logs; payout wallets as tags.
    /// Exit 0: nothing found; 3: found; 4: nothing found, inputs not wholly scanned.
    #[command(subcommand)]
    Scan(scan::ScanCmd),
    /// Print every stored fact as text (for comparing stores).
    #[command(hide = true)]
    Dump,
    /// EVM chains: accounts, transactions, tracing, exposure (after `ingest evm`).
    Evm(evm::EvmArgs),
}

/// Options every command sees.
pub struct Ctx {
    pub data: PathBuf,
    pub json: bool,
    pub quiet: bool,
}

impl Ctx {
    /// The Bitcoin store inside the data directory.
    pub fn btc_dir(&self) -> PathBuf {
        self.data.join("btc")
    }
}

fn main() {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let ctx = Ctx {
        data: cli.data,
        json: cli.json,
        quiet: cli.quiet,
    };
    if prints_only(&cli.cmd) {
        default_sigpipe();
    }
    if let Err(e) = run(&ctx, cli.cmd) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(ctx: &Ctx, cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Ingest(c) => ingest::run(ctx, c),
        Cmd::Block(a) => query::block(ctx, a),
        Cmd::Tx(a) => query::tx(ctx, a),
        Cmd::Address(a) => query::address(ctx, a),
        Cmd::Stats => query::stats(ctx),
        Cmd::Cluster(a) => entities::cluster(ctx, a),
        Cmd::Entity(a) => entities::entity(ctx, a),
        Cmd::Explain(a) => entities::explain(ctx, a),
        Cmd::Export(c) => entities::export(ctx, c),
        Cmd::Import(c) => intel::import(ctx, c),
        Cmd::Tags(c) => intel::tags(ctx, c),
        Cmd::Simulate(a) => sim::simulate(ctx, a),
        Cmd::Demo(a) => sim::demo(ctx, a),
        Cmd::Trace(a) => trace::trace(ctx, a),
        Cmd::Path(a) => trace::path(ctx, a),
        Cmd::Exposure(a) => trace::exposure(ctx, a),
        Cmd::Serve(a) => serve::serve(ctx, a),
        Cmd::Keys(c) => serve::keys(ctx, c),
        Cmd::Tenants(c) => serve::tenants(ctx, c),
        Cmd::Audit(c) => serve::audit(ctx, c),
        Cmd::Scan(c) => scan::run(ctx, c),
        Cmd::Dump => query::dump(ctx),
        Cmd::Evm(a) => evm::run(ctx, a),
    }
}

/// Commands that only read and print, with no socket of their own: a
/// closed pipe (`chainhound tx … | head`) should end them quietly, as it ends
/// `cat`, rather than as a panic in `println!`. The server, the demo (which
/// may serve) and ingestion (which may talk to a node) keep Rust's default
/// of ignoring SIGPIPE, so a peer hanging up is an error they handle.
fn prints_only(cmd: &Cmd) -> bool {
    !matches!(cmd, Cmd::Serve(_) | Cmd::Demo(_) | Cmd::Ingest(_))
}

/// Restores the default action of SIGPIPE (end the process).
fn default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at startup on the main thread, before any other
    // thread exists; setting a signal's disposition to SIG_DFL installs no
    // handler code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        _ => "debug",
    };
    let filter =
        EnvFilter::try_from_env("CHAINHOUND_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
