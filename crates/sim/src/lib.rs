//! Synthetic Bitcoin economies with a laundering incident, written as real
//! regtest block files plus the ground truth, to measure clustering and
//! tracing accuracy and to benchmark ingest.
//!
//! [`simulate`] writes, under an output directory:
//!
//! - `blocks/blk00000.dat`, `blk00001.dat`, …: exactly like a Bitcoin Core
//!   datadir. Records are the regtest magic `fabfb5da`, a little-endian
//!   length and the block (BIP144 serialization for segwit transactions).
//!   Files roll over at [`SimConfig::max_file_bytes`]. The first record is the
//!   real regtest genesis block; afterwards blocks appear shuffled within
//!   windows of [`SimConfig::shuffle_window`] (children may precede their
//!   parents), and a few stale side blocks are mixed in.
//! - `blocks/xor.dat` when [`SimConfig::xor_key`] is set: every blk byte is
//!   then XORed with `key[file_offset % 8]`, as Bitcoin Core 28+ does.
//! - `truth.json` ([`truth::Truth`]) and `truth-addresses.csv`
//!   (`address,entity_id`).
//! - `attribution.csv` ([`ATTRIBUTION_FILE`]): what an analyst would know
//!   beforehand — a few hot, cold and deposit addresses per exchange, with
//!   category `exchange` and the country — in the tag CSV format of
//!   `chainhound import csv`.
//!
//! The chain is valid as far as ChainHound's ingest checks: linked headers,
//! merkle roots and BIP141 witness commitments, regtest proof of work,
//! increasing timestamps from 2024-01-01, BIP34 heights (`CScript() << h`
//! as Core writes it, so heights 1–16 are `OP_1`…`OP_16`), coinbases within
//! subsidy plus fees (and spent only after 100 blocks), every input spending
//! an existing unspent output once, no transaction creating value.
//! Signatures are random bytes of realistic DER/Schnorr shape, so sizes and
//! weights are realistic, but nothing verifies; the revealed public keys and
//! redeem/witness scripts do hash to the spent programs.
//!
//! The first [`BOOT_BLOCKS`] blocks after genesis hold only coinbases, like
//! regtest's `generatetoaddress`, so that coinbases have matured when the
//! economy starts; they count towards [`SimConfig::txs`]. The cast scales
//! with the chain: one user per 20 transactions (at least 300), one
//! merchant per 2,000 (at least 12).
//!
//! The economy (see the `economy`, `exchange`, `coinjoin` and `incident`
//! modules):
//! mining pools, users with consistent wallet types and realistic address
//! reuse, merchants settling to exchanges, seven Southeast Asian exchanges
//! with deposit addresses, sweeps, batched withdrawals and cold storage,
//! Whirlpool and Wasabi 1/2 CoinJoins, and a Lazarus-style hack of one
//! exchange's hot wallet at 40 % of the chain followed by thousands of
//! laundering transactions ([`launder_target`]).
//!
//! ```no_run
//! use chainhound_sim::{simulate, SimConfig};
//! let cfg = SimConfig::new(100_000, 42);
//! let summary = simulate(&cfg, std::path::Path::new("/tmp/sim"), &mut |_| {}).unwrap();
//! println!("{} blocks, {} txs", summary.blocks, summary.txs);
//! ```
//!
//! Determinism: one ChaCha8 stream drives every choice, so the same config
//! gives byte-identical files (on the same platform: amounts pass through
//! `f64` `ln`/`exp`).
//!
//! Architecture invariant: this crate writes files and never reads chain
//! data back; it does not depend on any other ChainHound crate but `types`.

#![deny(missing_docs)]

mod attribution;
mod blockwriter;
mod coinjoin;
mod config;
mod economy;
mod error;
mod exchange;
mod incident;
mod rng;
mod script;
pub mod truth;
mod tx;
mod wallet;
mod world;

use std::path::{Path, PathBuf};

pub use config::SimConfig;
pub use error::SimError;
pub use incident::launder_target;
pub use truth::Truth;

use world::World;

/// Blocks mined before the economy starts (coinbase only), so that enough
/// coinbases have matured to fund it. They count towards [`SimConfig::txs`].
pub const BOOT_BLOCKS: u32 = 200;
/// Name of the ground-truth file in the output directory.
pub const TRUTH_FILE: &str = "truth.json";
/// Name of the address-owner CSV in the output directory.
pub const ADDRESSES_FILE: &str = "truth-addresses.csv";
/// Name of the analyst's prior attribution (tag CSV) in the output directory.
pub const ATTRIBUTION_FILE: &str = "attribution.csv";

/// What a run wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimSummary {
    /// Main-chain blocks, genesis included.
    pub blocks: u32,
    /// Stale blocks written besides them.
    pub stale_blocks: u32,
    /// Main-chain transactions, coinbases included (equals `SimConfig::txs`).
    pub txs: u64,
    /// Main-chain transaction inputs, coinbase inputs included.
    pub inputs: u64,
    /// Main-chain transaction outputs.
    pub outputs: u64,
    /// Bytes written to blk files (record headers included).
    pub bytes: u64,
    /// Number of blk files.
    pub files: u32,
    /// Rows in the address-owner CSV.
    pub addresses: u64,
    /// Transactions in the incident's laundering set.
    pub laundering_txs: u64,
    /// Path of `truth.json`.
    pub truth_path: PathBuf,
    /// Path of `truth-addresses.csv`.
    pub addresses_path: PathBuf,
    /// Path of `attribution.csv`.
    pub attribution_path: PathBuf,
    /// Rows in `attribution.csv`.
    pub attribution_rows: u64,
}

/// Simulates the economy described by `cfg` and writes it under `out_dir`
/// (created if missing). Existing `blocks/blk*.dat` and `blocks/xor.dat`
/// files are removed first, and the truth files are overwritten.
/// `progress` is called after each block with the transactions written so
/// far.
pub fn simulate(
    cfg: &SimConfig,
    out_dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<SimSummary, SimError> {
    cfg.validate()?;
    std::fs::create_dir_all(out_dir).map_err(|e| SimError::io(out_dir, e))?;
    let span = tracing::info_span!("simulate", txs = cfg.txs, seed = cfg.seed);
    let _enter = span.enter();
    let mut w = World::new(cfg, out_dir, progress)?;
    economy::setup(&mut w);
    incident::setup(&mut w);
    plan_stale(&mut w);
    for _ in 0..BOOT_BLOCKS {
        w.close_block();
    }
    let n = cfg.txs;
    loop {
        let total = w.total_txs();
        if total >= n {
            break;
        }
        if !w.chain.open && total + 1 == n {
            // Only a coinbase fits: finish with an empty block.
            w.close_block();
            break;
        }
        if !w.thief.started && total >= w.thief.theft_at {
            w.start_incident();
            continue;
        }
        if w.thief.due(total, &mut w.rng) && w.thief_step() {
            continue;
        }
        let mut tries = 0;
        while !w.economy_step() {
            tries += 1;
            if tries > 5_000 {
                return Err(SimError::Stalled { txs: total });
            }
        }
        if let Some(e) = w.err.take() {
            return Err(e);
        }
    }
    let files = w.finish_chain()?;
    w.book.finish()?;
    // Before truth.json, which is written last (readers take it as the
    // mark of a complete run).
    let attribution_path = out_dir.join(ATTRIBUTION_FILE);
    let attribution_rows = attribution::write(&w, &attribution_path)?;
    let truth = truth::build(&w, files);
    let truth_path = out_dir.join(TRUTH_FILE);
    let f = std::fs::File::create(&truth_path).map_err(|e| SimError::io(&truth_path, e))?;
    let mut bw = std::io::BufWriter::new(f);
    serde_json::to_writer_pretty(&mut bw, &truth).map_err(|source| SimError::Truth {
        path: truth_path.clone(),
        source,
    })?;
    std::io::Write::flush(&mut bw).map_err(|e| SimError::io(&truth_path, e))?;
    let summary = SimSummary {
        blocks: w.chain.hashes.len() as u32,
        stale_blocks: w.chain.stale.len() as u32,
        txs: w.chain.txs_closed,
        inputs: w.chain.inputs,
        outputs: w.chain.outputs,
        bytes: w.chain.sink.bytes,
        files,
        addresses: w.book.len(),
        laundering_txs: w.thief.laundering.len() as u64,
        truth_path,
        addresses_path: out_dir.join(ADDRESSES_FILE),
        attribution_path,
        attribution_rows,
    };
    tracing::info!(
        blocks = summary.blocks,
        txs = summary.txs,
        bytes = summary.bytes,
        "simulation written"
    );
    Ok(summary)
}

/// Chooses where the stale forks go: heights at which the main chain is
/// guaranteed to grow at least two blocks past the fork's tip.
fn plan_stale(w: &mut World<'_>) {
    let per_block = u64::from(w.cfg.txs_per_block) + 1;
    // Each economy block holds at most `per_block` transactions, so the tip
    // is at least this high.
    let tip_lb = BOOT_BLOCKS as u64 + (w.cfg.txs - 1 - BOOT_BLOCKS as u64) / per_block;
    let mut left = w.cfg.stale_blocks;
    let mut plan = Vec::new();
    while left > 0 {
        let len = if left >= 2 && w.rng.chance(0.4) { 2 } else { 1 };
        let hi = tip_lb.saturating_sub(u64::from(len) + 1);
        let lo = if hi > u64::from(BOOT_BLOCKS) + 1 {
            u64::from(BOOT_BLOCKS) + 1
        } else {
            2
        };
        if hi < lo {
            break;
        }
        plan.push((w.rng.range(lo, hi) as u32, len));
        left -= len;
    }
    plan.sort_by(|a, b| b.cmp(a));
    w.chain.stale_plan = plan;
}
