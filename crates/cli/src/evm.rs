//! `chainhound ingest evm` and `chainhound evm …`: EVM chains (glue over
//! chainhound-evm).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use chainhound_evm::rpc::{ingest_rpc, Client, InternalSource, RetryPolicy, RpcOptions};
use chainhound_evm::{etherscan, etl, rlp, AppendOutcome, EvmWriter};
use chainhound_intel::{ImportOptions, TagWriter};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::query::emit;
use crate::Ctx;

mod flow;
mod query;

pub use query::{run, EvmArgs};

// ---- ingest ----

#[derive(Args, Debug)]
pub struct IngestEvmArgs {
    /// A JSON-RPC endpoint (http:// or https://).
    #[arg(long, conflicts_with_all = ["etl_csv", "rlp"])]
    pub rpc: Option<String>,
    /// A directory of ethereum-etl / BigQuery CSV exports (.csv, .csv.gz, .csv.xz).
    #[arg(long, conflicts_with = "rlp")]
    pub etl_csv: Option<PathBuf>,
    /// RLP block files (a node's raw export); repeatable.
    #[arg(long)]
    pub rlp: Vec<PathBuf>,
    /// The chain's name: the store is <data>/evm/<chain>.
    #[arg(long, default_value = "eth")]
    pub chain: String,
    /// First block when the store is empty (--rpc).
    #[arg(long)]
    pub from_block: Option<u64>,
    /// Last block (--rpc; default: the node's tip less --confirmations).
    #[arg(long)]
    pub to_block: Option<u64>,
    /// Leave blocks this close to the node's tip for a later run (--rpc).
    #[arg(long, default_value_t = 12)]
    pub confirmations: u64,
    /// Blocks per JSON-RPC batch request.
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
    /// Batch requests in flight.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Ingest even if the node has neither debug_traceBlockByNumber nor
    /// trace_block (ETH sent by contracts is then missing).
    #[arg(long)]
    pub no_internal_calls: bool,
    /// Source name for address labels found in --etl-csv (Etherscan scrapes).
    #[arg(long, default_value = "etherscan")]
    pub labels_source: String,
}

#[derive(Serialize, Default)]
struct IngestJson {
    chain: String,
    source: String,
    appended: u64,
    already_stored: u64,
    rolled_back: u64,
    txs: u64,
    transfers: u64,
    internal_transfers: Option<u64>,
    internal_calls_from: Option<String>,
    chain_id: Option<u64>,
    node_tip: Option<u64>,
    tip: Option<u64>,
    skipped: Vec<String>,
    labels_imported: Option<u64>,
    seconds: f64,
}

struct Bar(Option<ProgressBar>);

impl chainhound_evm::rpc::Progress for Bar {
    fn begin(&mut self, from: u64, to: u64) {
        if let Some(b) = &self.0 {
            b.set_length(to - from + 1);
        }
    }
    fn advance(&mut self, blocks: u64, transfers: u64) {
        if let Some(b) = &self.0 {
            b.inc(blocks);
            b.set_message(format!("{transfers} transfers in the last window"));
        }
    }
    fn finish(&mut self) {
        if let Some(b) = self.0.take() {
            b.finish_and_clear();
        }
    }
}

fn bar(ctx: &Ctx, total: u64, what: &str) -> Bar {
    if ctx.quiet {
        return Bar(None);
    }
    let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    b.set_style(
        ProgressStyle::with_template(
            "{prefix:>10} [{bar:40}] {human_pos}/{human_len} {per_sec} eta {eta} {msg}",
        )
        .expect("static template is valid")
        .progress_chars("=> "),
    );
    b.set_prefix(what.to_string());
    Bar(Some(b))
}

pub fn chain_dir(ctx: &Ctx, chain: &str) -> Result<PathBuf> {
    if chain.is_empty()
        || !chain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        bail!("--chain must be letters, digits, '-' or '_', got {chain:?}");
    }
    Ok(ctx.data.join("evm").join(chain))
}

fn append_all(
    w: &mut EvmWriter,
    blocks: &[chainhound_evm::NewBlock],
    j: &mut IngestJson,
    bar: &mut Bar,
) -> Result<()> {
    use chainhound_evm::rpc::Progress as _;
    bar.begin(0, blocks.len().saturating_sub(1) as u64);
    for (i, b) in blocks.iter().enumerate() {
        match w.append(b)? {
            AppendOutcome::Appended => {
                j.appended += 1;
                j.txs += b.txs.len() as u64;
                j.transfers += b.transfers.len() as u64;
            }
            AppendOutcome::AlreadyStored => j.already_stored += 1,
        }
        if i % 1000 == 999 {
            w.commit()?;
            bar.advance(1000, 0);
        }
    }
    w.commit()?;
    bar.finish();
    Ok(())
}

pub fn ingest(ctx: &Ctx, a: IngestEvmArgs) -> Result<()> {
    let t0 = Instant::now();
    let dir = chain_dir(ctx, &a.chain)?;
    let mut w = EvmWriter::open(&dir, &a.chain)
        .with_context(|| format!("opening the evm store in {}", dir.display()))?;
    let mut j = IngestJson {
        chain: a.chain.clone(),
        ..Default::default()
    };
    if let Some(url) = &a.rpc {
        let c = Client::new(url, RetryPolicy::default())?;
        j.source = c.shown_url().to_string();
        let opts = RpcOptions {
            from_block: a.from_block,
            to_block: a.to_block,
            confirmations: a.confirmations,
            batch: a.batch,
            concurrency: a.concurrency,
            allow_missing_internal: a.no_internal_calls,
            ..Default::default()
        };
        let mut b = bar(ctx, 0, "blocks");
        let r = ingest_rpc(&mut w, &c, &opts, &mut b)?;
        j.appended = r.appended;
        j.rolled_back = r.rolled_back;
        j.txs = r.txs;
        j.transfers = r.transfers;
        j.internal_transfers = Some(r.internal_transfers);
        j.internal_calls_from = r.internal.map(|i| i.as_str().to_string());
        j.chain_id = Some(r.chain_id);
        j.node_tip = Some(r.node_tip);
        if r.internal == Some(InternalSource::Missing) {
            j.skipped.push(
                "internal calls: the node offers no tracing API; ETH sent by contracts is missing"
                    .into(),
            );
        }
    } else if let Some(d) = &a.etl_csv {
        j.source = d.display().to_string();
        let imp =
            etl::read_dir(d).with_context(|| format!("reading the export in {}", d.display()))?;
        if imp.files.is_empty() {
            bail!("{} holds no recognised ethereum-etl csv file (transactions, token transfers, receipts, tokens, labels)", d.display());
        }
        let mut b = bar(ctx, imp.blocks.len() as u64, "blocks");
        append_all(&mut w, &imp.blocks, &mut j, &mut b)?;
        j.skipped = imp.skipped;
        if !imp.labels.is_empty() {
            let intel = ctx.data.join("intel");
            let mut tw = TagWriter::open(&intel)
                .with_context(|| format!("opening the tag store in {}", intel.display()))?;
            let mut n = 0;
            for (i, f) in imp.labels.iter().enumerate() {
                let source = if i == 0 {
                    a.labels_source.clone()
                } else {
                    format!("{}-{}", a.labels_source, i + 1)
                };
                let r = tw.import(
                    etherscan::edition(f, &source),
                    &ImportOptions {
                        now: None,
                        list_limit: 0,
                    },
                )?;
                n += r.tags;
            }
            j.labels_imported = Some(n);
        }
    } else if !a.rlp.is_empty() {
        j.source = a
            .rlp
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(",");
        let mut blocks = Vec::new();
        for p in &a.rlp {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            blocks.extend(
                rlp::decode_blocks(&bytes, &p.display().to_string())?
                    .into_iter()
                    .map(|b| b.block),
            );
        }
        blocks.sort_by_key(|b| b.number);
        blocks.dedup_by(|a, b| a.number == b.number && a.hash == b.hash);
        let mut b = bar(ctx, blocks.len() as u64, "blocks");
        append_all(&mut w, &blocks, &mut j, &mut b)?;
    } else {
        bail!("give --rpc URL, --etl-csv DIR or --rlp FILE");
    }
    j.tip = w.tip().map(|t| t.number);
    j.seconds = t0.elapsed().as_secs_f64();
    for s in &j.skipped {
        tracing::warn!("{s}");
    }
    emit(ctx, &j, || {
        let mut s = format!(
            "{}: {} blocks appended ({} already stored, {} rolled back), {} txs, {} transfers",
            j.chain, j.appended, j.already_stored, j.rolled_back, j.txs, j.transfers
        );
        if let Some(i) = &j.internal_calls_from {
            s += &format!(", internal calls from {i}");
        }
        if let Some(t) = j.tip {
            s += &format!("; tip {t}");
        }
        if let Some(n) = j.labels_imported {
            s += &format!("; {n} labels in source {:?}", a.labels_source);
        }
        if !j.skipped.is_empty() {
            s += &format!(
                "; {} rows skipped (see --json or the warnings)",
                j.skipped.len()
            );
        }
        s + &format!(" in {:.1}s\n", j.seconds)
    })
}
