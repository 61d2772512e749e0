//! The crate's error type.

use std::path::PathBuf;

/// `Result` with [`EvmError`].
pub type Result<T, E = EvmError> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate. Messages are lower-case and
/// name the file, line, block or transaction concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvmError {
    /// An IO error on a named file.
    #[error("io error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A store helper (atomic write, directory lock) failed.
    #[error(transparent)]
    Store(#[from] chainhound_store::StoreError),
    /// The account store's files disagree with its manifest or are damaged.
    #[error("evm store is corrupt: {path}: {what}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// No account store exists at the path.
    #[error("no evm store at {0} (run `chainhound ingest evm` first)")]
    Missing(PathBuf),
    /// Outside input (an RLP file, a CSV export, a node's answer) is malformed.
    #[error("bad input: {at}: {what}")]
    Input {
        /// Where: file and line or byte offset, block, transaction.
        at: String,
        /// What is wrong.
        what: String,
    },
    /// A block does not extend the stored chain in a way that can be applied.
    #[error("block {number}: {what}")]
    Chain {
        /// The block number.
        number: u64,
        /// What is wrong.
        what: String,
    },
    /// A JSON-RPC node failed (after retries) or lacks what is needed.
    #[error("node {url}: {what}")]
    Node {
        /// The endpoint (without credentials).
        url: String,
        /// What failed.
        what: String,
    },
    /// A query named something the store does not hold.
    #[error("{0}")]
    NotFound(String),
}

impl EvmError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> EvmError {
        EvmError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn input(at: impl Into<String>, what: impl Into<String>) -> EvmError {
        EvmError::Input {
            at: at.into(),
            what: what.into(),
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, what: impl Into<String>) -> EvmError {
        EvmError::Corrupt {
            path: path.into(),
            what: what.into(),
        }
    }
}
