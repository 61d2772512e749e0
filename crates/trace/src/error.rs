//! Errors of the tracing engine.

use std::path::PathBuf;

/// Result with [`TraceError`].
pub type Result<T, E = TraceError> = std::result::Result<T, E>;

/// Everything that can go wrong opening the engine or answering a request.
/// Messages are lower-case and name the input at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The block store could not be opened.
    #[error("opening the store in {dir}: {source}")]
    Store {
        /// Store directory.
        dir: PathBuf,
        /// Cause.
        source: Box<chainhound_store::StoreError>,
    },
    /// The entity clusters could not be opened (run `chainhound cluster`).
    #[error("opening the entity clusters of {dir}: {source}")]
    Clusters {
        /// Store directory.
        dir: PathBuf,
        /// Cause.
        source: Box<chainhound_entities::EntitiesError>,
    },
    /// The attribution store could not be opened.
    #[error("opening the tag store in {dir}: {source}")]
    Tags {
        /// Tag store directory.
        dir: PathBuf,
        /// Cause.
        source: Box<chainhound_intel::IntelError>,
    },
    /// The store's network magic is not one ChainHound knows.
    #[error("store {0} has an unknown network magic")]
    Network(PathBuf),
    /// A target string that is no txid, outpoint, address or entity.
    #[error("cannot read {input:?} as a txid[:vout], an address or an entity (e<id>): {why}")]
    BadTarget {
        /// What was given.
        input: String,
        /// Why it was refused.
        why: String,
    },
    /// A well-formed txid that is not in the store.
    #[error("transaction {0} is not in the store")]
    UnknownTx(String),
    /// An output index past the transaction's outputs.
    #[error("transaction {txid} has {outputs} outputs; there is no output {vout}")]
    UnknownVout {
        /// The transaction.
        txid: String,
        /// Its output count.
        outputs: u32,
        /// The index asked for.
        vout: u32,
    },
    /// A well-formed address that never appears in the store.
    #[error("address {0} never appears in the store")]
    UnknownAddress(String),
    /// An entity id that is no entity of the clusters.
    #[error("entity {0} is not an entity of the clusters (use an address or an id from `chainhound entity`)")]
    UnknownEntity(u32),
    /// A category name that no attribution uses and no taxonomy lists.
    #[error("unknown category {0:?}")]
    UnknownCategory(String),
    /// A request that contradicts itself.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Clusters lookups failed (a damaged clusters file).
    #[error("reading the entity clusters: {0}")]
    Entities(Box<chainhound_entities::EntitiesError>),
    /// Writing an export failed.
    #[error("writing the {format} export: {source}")]
    Export {
        /// Which format.
        format: &'static str,
        /// Cause.
        source: std::io::Error,
    },
}
