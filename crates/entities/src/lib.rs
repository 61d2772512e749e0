//! Address clustering for ChainHound: which addresses one entity controls,
//! and the evidence for each step of that conclusion.
//!
//! * [`Clusterer`] — the one writer. It reads the store's committed blocks
//!   in chain order, classifies every transaction ([`coinjoin::classify`]),
//!   joins the input addresses of every transaction that is not a CoinJoin
//!   (common-input ownership) and, if configured, the change output to its
//!   inputs ([`Heuristic`]). Every union that joins two clusters is recorded
//!   as an evidence edge: the transaction, the heuristic, the two
//!   addresses. State is persisted in `<store>/entities/` under the store's
//!   commit protocol; [`Clusterer::update`] is incremental (block by block)
//!   and follows reorgs.
//! * [`Clusters`] — a read-only snapshot: [`Clusters::entity_of`],
//!   [`Clusters::members`], [`Clusters::explain`] (the unique path of
//!   evidence between two addresses of one entity),
//!   [`Clusters::superclusters`].
//! * [`entity_report`] — balance, activity and counterparties of an entity.
//! * [`MemoryClusters`] and [`eval::evaluate`] — clustering in memory and its
//!   accuracy against the simulator's ground truth.
//!
//! ```no_run
//! use chainhound_entities::{Clusterer, Clusters, ConfigChoice};
//! use chainhound_store::Store;
//! use chainhound_types::AddrId;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::open(std::path::Path::new("data/btc"))?;
//! Clusterer::open(store.dir(), ConfigChoice::Stored)?.update(&store)?;
//! let clusters = Clusters::open(&store)?;
//! let (a, b) = (AddrId(17), AddrId(4242));
//! if let Some(path) = clusters.explain(a, b)? {
//!     for link in path {
//!         println!("{} -> {} by {} in tx #{}", link.from.0, link.to.0, link.heuristic, link.tx.0);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Design: union-find over the store's dense address ids (union by size,
//! path halving), so a pass is a few array reads per input. Entity ids are
//! the smallest address id of each cluster: deterministic and independent
//! of processing order. Only unions that join two different clusters are
//! recorded, so each entity's edges form a spanning tree and the
//! explanation between two addresses is unique. The supercluster guard
//! records merges of two large clusters for review; it never refuses one
//! (that would make the result depend on processing order).
//!
//! Architecture invariants:
//! - Reads `chainhound-store` and `chainhound-types` only; no chain
//!   library (the optional `sim-truth` feature, for measurements, is the one
//!   exception and is off by default).
//! - The clusters are a function of the store's chain prefix they cover and
//!   the [`Config`]: the same inputs give byte-identical answers, killed or
//!   not, in one run or many.
//! - Never ahead of the store: only committed store blocks are clustered.
//! - The default configuration uses common-input ownership only; change
//!   heuristics are opt-in.

#![deny(missing_docs)]

mod change;
mod clusterer;
mod clusters;
pub mod coinjoin;
mod config;
mod disk;
mod engine;
mod error;
pub mod eval;
mod hugepages;
mod memory;
mod report;
#[cfg(feature = "sim-truth")]
mod simtruth;
mod unionfind;
mod verify;

pub use clusterer::{Clusterer, ConfigChoice, UpdateReport};
pub use clusters::{ClusterSummary, Clusters, Coverage, EntityId, Link, Supercluster};
pub use coinjoin::{CoinJoinKind, TxClass};
pub use config::{Config, DetectConfig, GuardConfig, Heuristic, Heuristics};
pub use disk::{CLUSTERS_FORMAT_VERSION, DIR};
pub use engine::PassStats;
pub use error::{EntitiesError, Result};
pub use hugepages::advise as advise_huge_pages;
pub use memory::MemoryClusters;
pub use report::{entity_report, Counterparty, EntityReport, Party, ReportOptions};
#[cfg(feature = "sim-truth")]
pub use simtruth::load_sim_truth;
pub use verify::verify_link;

#[cfg(test)]
mod proptests;
