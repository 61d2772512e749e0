//! Follows value through the chain: named taint models (poison, haircut,
//! FIFO), paths between addresses and entities, exposure by category.
//!
//! * [`Engine`] — owned, `Send + Sync`, opened once from a data directory
//!   (`<data>/btc` store, its entity clusters, `<data>/intel` tags) and then
//!   queried from any number of threads. Opening computes the attribution
//!   (entity → categories, countries, name) from the tags and the clusters.
//! * [`Engine::trace`] — follows value forward or backward from a
//!   transaction, an output, an address or an entity under a named
//!   [`Model`], and reports every destination with amounts, shares, hops,
//!   times, jurisdiction and an explanation path, the stockpile, the fees,
//!   the CoinJoins passed through, and the flow graph.
//! * [`Engine::paths`] — the shortest and the highest-value path between
//!   two targets.
//! * [`Engine::exposure`] — direct and indirect exposure of an address or
//!   entity to each attribution category, incoming and outgoing, with the
//!   top evidence paths. Bounded work (a few thousand transactions) so a
//!   screening service can answer in well under a millisecond.
//! * [`export`] — CSV, GraphML and GEXF writers for a [`TraceReport`].
//!
//! ```no_run
//! use chainhound_trace::{Engine, Model, TraceRequest};
//! # fn main() -> Result<(), chainhound_trace::TraceError> {
//! let engine = Engine::open(std::path::Path::new("chainhound-data"))?;
//! let from = engine.resolve("2f1c…:0")?;
//! let mut req = TraceRequest::new(from);
//! req.model = Model::Haircut;
//! let report = engine.trace(&req)?;
//! for d in &report.destinations {
//!     println!("{:?} {} sat ({:.1}%)", d.entity.name, d.amount, d.share * 100.0);
//! }
//! let exposure = engine.exposure(&engine.resolve("bc1q…")?, &Default::default())?;
//! println!("{} sat received", exposure.incoming.total);
//! # Ok(()) }
//! ```
//!
//! Semantics are written down in `docs/tracing.md`; the property tests
//! (`proptests`) check them on random transaction graphs.
//!
//! Architecture invariants:
//! - Integer satoshis everywhere; haircut and FIFO conserve value to the
//!   satoshi (every traced satoshi ends at exactly one destination, in the
//!   fees or below `min_value`), with a deterministic rounding rule
//!   (largest remainder, ties to the lower index, fee last).
//! - Deterministic: the same store, clusters, tags and request give the
//!   same report (transactions are processed in chain order, which is a
//!   topological order of the transaction graph).
//! - Every trace is bounded ([`Limits`]); hitting a bound is reported
//!   ([`Cut`]), never an error, a hang or unbounded memory.
//! - Reads the store, clusters and tags; never writes them. The only chain
//!   library reached is through `chainhound-btc`, for address strings.

#![deny(missing_docs)]

mod attribution;
mod bits;
mod demix;
mod engine;
mod error;
pub mod export;
mod exposure;
mod frontier;
mod graph;
mod paths;
mod radix;
mod spec;
mod sweep;
pub mod taint;
mod trace;
mod types;

#[cfg(test)]
mod proptests;

pub use attribution::Attribution;
pub use engine::Engine;
pub use error::{Result, TraceError};
pub use spec::{parse_target, TargetSpec};
pub use types::{
    CategoryExposure, Cut, DemixJudgment, Destination, Direction, DirectionExposure, EndReason,
    EntityInfo, EvidencePath, Exposure, ExposureOptions, FlowEdge, FlowNode, Flows, Hop, Limits,
    MixerPass, Model, PathReport, PathRequest, SpendShape, Target, TraceReport, TraceRequest,
    TreeEdge, ValuePath,
};

/// Asks the C allocator to keep freed memory for reuse (glibc on Linux;
/// elsewhere nothing). A trace allocates and frees tens of megabytes; by
/// default glibc maps large blocks afresh and returns them on free, so a
/// long-running process (the screening service, the benchmarks) would fault
/// the same pages in again on every request. Call once, before other
/// threads start; a one-shot command gains nothing from it (and keeps a
/// higher peak).
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters, under the
    // allocator's own lock (callers still call it before starting threads).
    unsafe {
        // Blocks up to 32 MB (glibc's maximum) from the heap, not mmap;
        // the top of the heap is returned only beyond 1 GB free.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// The engine is shared across server threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
};
