//! Store errors.

use std::path::PathBuf;

/// Everything that can go wrong opening, reading or writing a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An operating-system IO error on a named file.
    #[error("io error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The store's files disagree with its manifest or are damaged.
    #[error("store is corrupt: {path}: {what}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// No store exists at the path.
    #[error("no store at {0} (run `chainhound ingest` first)")]
    Missing(PathBuf),
    /// Another process is writing to the store.
    #[error("store {0} is locked by another writer")]
    Locked(PathBuf),
    /// The store holds another network's chain.
    #[error("store holds the {stored} chain, not {requested}")]
    WrongNetwork {
        /// Network name in the store.
        stored: String,
        /// Network name asked for.
        requested: String,
    },
    /// A dense id space is exhausted (ids are 32-bit in format version 1).
    #[error("store is full: more than {limit} {what} (format version 1 uses 32-bit ids)")]
    Full {
        /// Which table.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// A block does not extend the stored tip.
    #[error("block {hash} does not extend the stored tip {tip}")]
    NotATip {
        /// The block.
        hash: String,
        /// The stored tip.
        tip: String,
    },
    /// A caller asked for something the store does not have.
    #[error("{0}")]
    Invalid(String),
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, what: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: path.into(),
            what: what.into(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
