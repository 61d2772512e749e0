//! Drives a chain reader into the store: scan every header, choose the best
//! chain, roll back what a reorg replaced, append the rest in height order,
//! and commit regularly so that a killed run resumes where it stopped.
//!
//! Derived state follows the store: with [`ClusterUpdate::Follow`], the
//! entity clusters (`chainhound-entities`) are brought up to every commit
//! right after it, so a killed run loses nothing committed in either.
//!
//! Architecture invariant: this is the only crate that knows both the readers
//! (`chainhound-btc`) and the store; neither knows the other.

#![deny(missing_docs)]

pub mod chain;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chainhound_btc::{block_work, header_prev, BlockFile, BlockLoc, BlocksDir, BtcError};
use chainhound_entities::{Clusterer, ConfigChoice, EntitiesError, UpdateReport};
use chainhound_store::{SourceLoc, Store, StoreError, StoreWriter};
use chainhound_types::{Block, Hash32};

use crate::chain::{plan, Node, Stored};

/// Ingest failures. Whatever was appended before the failure is committed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// Reading or decoding block files failed.
    #[error(transparent)]
    Btc(#[from] BtcError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Updating the entity clusters failed (the store itself is committed).
    #[error("updating the entity clusters: {0}")]
    Entities(#[from] EntitiesError),
    /// The blocks found do not connect to the network's genesis block.
    #[error(
        "none of the {blocks} blocks found links back to the {network} genesis block {genesis}; \
         to store a chain that starts higher, pass --anchor-height HEIGHT"
    )]
    NoChain {
        /// Blocks scanned.
        blocks: usize,
        /// Network name.
        network: &'static str,
        /// Its genesis hash.
        genesis: Hash32,
    },
}

/// How to ingest.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// On an empty store, accept a chain whose first block's parent is
    /// missing, giving that block this height.
    pub anchor_height: Option<u32>,
    /// Commit at least this often.
    pub commit_interval: Duration,
    /// Also commit after this many blocks.
    pub commit_every_blocks: u32,
    /// Append at most this many blocks, then stop (the rest comes next run).
    pub max_blocks: Option<u32>,
    /// Whether the entity clusters follow the store.
    pub clusters: ClusterUpdate,
}

/// Whether ingest keeps the entity clusters (`<store>/entities`) in step.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum ClusterUpdate {
    /// Leave them alone (`chainhound cluster` updates them later).
    #[default]
    Off,
    /// Update them after every store commit, with their stored configuration
    /// (the default one for a store that has none). If another process holds
    /// them, ingest goes on without them and logs a warning.
    Follow,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            anchor_height: None,
            commit_interval: Duration::from_secs(2),
            commit_every_blocks: u32::MAX,
            max_blocks: None,
            clusters: ClusterUpdate::Off,
        }
    }
}

/// Progress reporting for long phases.
pub trait Progress {
    /// A phase starts, with `total` steps.
    fn phase(&mut self, name: &'static str, total: u64);
    /// `n` more steps are done.
    fn inc(&mut self, n: u64);
    /// The phase is over.
    fn done(&mut self) {}
}

/// Progress that reports nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn phase(&mut self, _: &'static str, _: u64) {}
    fn inc(&mut self, _: u64) {}
}

/// What an ingest run did.
#[derive(Clone, Debug, Default)]
pub struct IngestReport {
    /// Files scanned.
    pub files: usize,
    /// Distinct blocks found in them.
    pub blocks_found: usize,
    /// Copies of blocks already found.
    pub duplicates: usize,
    /// Blocks whose ancestry is unknown.
    pub orphans: usize,
    /// Blocks on branches that lost.
    pub stale: usize,
    /// Blocks removed from the store by a reorg.
    pub rolled_back: u32,
    /// Blocks appended.
    pub appended: u32,
    /// Transactions appended.
    pub txs: u64,
    /// Inputs appended.
    pub inputs: u64,
    /// Outputs appended.
    pub outputs: u64,
    /// Serialized bytes of the appended blocks.
    pub bytes: u64,
    /// Inputs whose funding output is not in the store.
    pub unresolved: u64,
    /// Inputs spending an already-spent output.
    pub conflicting_spends: u64,
    /// Blocks still to append (when `max_blocks` stopped the run).
    pub remaining: u32,
    /// Scan oddities (truncated records and the like).
    pub warnings: Vec<String>,
    /// The stored tip afterwards.
    pub tip: Option<(u32, Hash32)>,
    /// Time spent scanning headers.
    pub scan_time: Duration,
    /// Time spent decoding and storing.
    pub load_time: Duration,
    /// What following the store did to the entity clusters, if they follow.
    pub clusters: Option<UpdateReport>,
}

/// Ingests the blocks of `source` into `writer`.
pub fn ingest_btc(
    writer: &mut StoreWriter,
    source: &BlocksDir,
    opts: &IngestOptions,
    progress: &mut dyn Progress,
) -> Result<IngestReport, IngestError> {
    let network = source.network();
    let mut report = IngestReport {
        files: source.files().len(),
        ..IngestReport::default()
    };
    let t0 = Instant::now();
    progress.phase("scanning block files", source.files().len() as u64);
    let mut files: Vec<BlockFile> = Vec::with_capacity(source.files().len());
    let mut nodes: Vec<Node> = Vec::new();
    let mut locs: Vec<(usize, BlockLoc)> = Vec::new();
    let mut seen: HashSet<Hash32> = HashSet::new();
    for entry in source.files() {
        let file = source.open_file(entry)?;
        let scan = file.scan(network)?;
        report
            .warnings
            .extend(scan.warnings.iter().map(|w| w.to_string()));
        for loc in scan.blocks {
            if !seen.insert(loc.hash) {
                report.duplicates += 1;
                continue;
            }
            nodes.push(Node {
                hash: loc.hash,
                prev: header_prev(&loc.header),
                work: block_work(&loc.header),
            });
            locs.push((files.len(), loc));
        }
        files.push(file);
        progress.inc(1);
    }
    progress.done();
    drop(seen);
    report.blocks_found = nodes.len();
    report.scan_time = t0.elapsed();

    let stored = stored_chain(writer);
    let empty = writer.counts().blocks == 0;
    let p = plan(
        &nodes,
        &stored,
        network.genesis_hash(),
        if empty { opts.anchor_height } else { None },
    );
    report.orphans = p.orphans;
    report.stale = p.stale;
    if empty && p.append.is_empty() && !nodes.is_empty() {
        return Err(IngestError::NoChain {
            blocks: nodes.len(),
            network: network.name(),
            genesis: network.genesis_hash(),
        });
    }
    if let Some((tip, _)) = writer.tip() {
        if !p.append.is_empty() && p.fork_height <= tip {
            report.rolled_back = tip + 1 - p.fork_height;
            tracing::warn!(
                fork_height = p.fork_height,
                blocks = report.rolled_back,
                "reorg: rolling back"
            );
            writer.rollback_to(p.fork_height)?;
        }
    } else if !p.append.is_empty() {
        writer.set_base_height(p.fork_height)?;
    }

    let mut clusters = match opts.clusters {
        ClusterUpdate::Off => None,
        ClusterUpdate::Follow => match Clusterer::open(writer.dir(), ConfigChoice::Stored) {
            Ok(c) => Some(c),
            Err(EntitiesError::Locked(d)) => {
                tracing::warn!(dir = %d.display(), "clusters are locked by another process; not updating them");
                None
            }
            Err(e) => return Err(e.into()),
        },
    };
    let t1 = Instant::now();
    let todo = match opts.max_blocks {
        Some(m) => p.append.len().min(m as usize),
        None => p.append.len(),
    };
    report.remaining = (p.append.len() - todo) as u32;
    progress.phase("ingesting blocks", todo as u64);
    let result = append_all(
        writer,
        &files,
        &locs,
        &nodes,
        &p.append[..todo],
        opts,
        progress,
        &mut report,
        &mut clusters,
    );
    // Whatever was appended is valid: keep it even if a later block failed.
    let committed = writer.commit();
    progress.done();
    result?;
    committed?;
    follow(&mut clusters, writer, &mut report)?;
    report.load_time = t1.elapsed();
    report.tip = writer.tip();
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn append_all(
    writer: &mut StoreWriter,
    files: &[BlockFile],
    locs: &[(usize, BlockLoc)],
    nodes: &[Node],
    order: &[usize],
    opts: &IngestOptions,
    progress: &mut dyn Progress,
    report: &mut IngestReport,
    clusters: &mut Option<Clusterer>,
) -> Result<(), IngestError> {
    let mut block = Block::default();
    let mut last_commit = Instant::now();
    let mut since_commit = 0u32;
    for &i in order {
        let (fi, loc) = &locs[i];
        files[*fi].read_block(loc, &mut block)?;
        let st = writer.append_block(
            &block,
            SourceLoc {
                file: loc.file_index,
                offset: loc.offset,
            },
            nodes[i].work,
        )?;
        report.appended += 1;
        report.txs += block.txs.len() as u64;
        report.inputs += block.inputs.len() as u64;
        report.outputs += block.outputs.len() as u64;
        report.bytes += u64::from(block.size);
        report.unresolved += u64::from(st.unresolved);
        report.conflicting_spends += u64::from(st.conflicting_spends);
        progress.inc(1);
        since_commit += 1;
        if since_commit >= opts.commit_every_blocks || last_commit.elapsed() >= opts.commit_interval
        {
            writer.commit()?;
            follow(clusters, writer, report)?;
            last_commit = Instant::now();
            since_commit = 0;
        }
    }
    Ok(())
}

/// Brings the clusters up to the store's last commit.
fn follow(
    clusters: &mut Option<Clusterer>,
    writer: &StoreWriter,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    let Some(c) = clusters else {
        return Ok(());
    };
    let store = Store::open(writer.dir())?;
    let r = c.update(&store)?;
    let total = report.clusters.get_or_insert_with(UpdateReport::default);
    total.blocks_added += r.blocks_added;
    total.blocks_dropped += r.blocks_dropped;
    total.covered_blocks = r.covered_blocks;
    total.tip_height = r.tip_height;
    total.stats.add(&r.stats);
    total.cluster_time += r.cluster_time;
    total.commit_time += r.commit_time;
    Ok(())
}

fn stored_chain(w: &StoreWriter) -> Stored {
    let mut by_hash = HashMap::new();
    let base = w.base_height();
    let n = w.counts().blocks;
    for h in base..base + n {
        if let (Some(hash), Some(work)) = (w.block_hash(h), w.block_work(h)) {
            by_hash.insert(hash, (h, work));
        }
    }
    let tip = w.tip().and_then(|(h, _)| Some((h, w.block_work(h)?)));
    Stored { by_hash, tip }
}
