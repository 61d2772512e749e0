//! Errors of the entities crate.

use std::path::PathBuf;

use chainhound_store::StoreError;

/// Everything that can go wrong building, persisting or reading clusters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EntitiesError {
    /// The store (or one of the entity columns, which use its column type)
    /// failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An operating-system IO error on a named file.
    #[error("io error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The cluster files are damaged or disagree with each other.
    #[error("cluster state is corrupt: {path}: {what}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// No clusters have been computed for this store.
    #[error("no clusters in {0} (run `chainhound cluster`)")]
    Missing(PathBuf),
    /// Another process is updating the clusters.
    #[error("clusters in {0} are being updated by another process")]
    Locked(PathBuf),
    /// The clusters were computed for blocks the store no longer has (a
    /// reorg, or a different chain).
    #[error(
        "clusters in {dir} were computed for another chain (block {height} differs); run `chainhound cluster`"
    )]
    Stale {
        /// The cluster directory.
        dir: PathBuf,
        /// First height that differs.
        height: u32,
    },
    /// A heuristic name that does not exist.
    #[error("unknown heuristic {name:?}; known: {known}")]
    UnknownHeuristic {
        /// What was asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// A configuration that cannot be used.
    #[error("invalid clustering configuration: {0}")]
    Config(String),
    /// An address or entity id beyond what the clusters cover.
    #[error("{what} {id} is not covered by the clusters (they cover {covered} addresses)")]
    NotCovered {
        /// "address" or "entity".
        what: &'static str,
        /// The id.
        id: u32,
        /// Addresses covered.
        covered: u32,
    },
    /// An id that names an address, not an entity.
    #[error("{id} is not an entity id; address {id} belongs to entity {entity}")]
    NotAnEntity {
        /// The id given.
        id: u32,
        /// The entity its address belongs to.
        entity: u32,
    },
}

impl EntitiesError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> EntitiesError {
        EntitiesError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, what: impl Into<String>) -> EntitiesError {
        EntitiesError::Corrupt {
            path: path.into(),
            what: what.into(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = EntitiesError> = std::result::Result<T, E>;
