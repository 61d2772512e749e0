//! Errors of a simulation run.

use std::io;
use std::path::PathBuf;

/// Why a simulation failed. Only bad configs and IO can fail a run; the
/// economy itself is infallible by construction.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The config was rejected before anything was written.
    #[error("invalid simulation config: {0}")]
    Config(String),
    /// Reading or writing a file failed.
    #[error("i/o error on {path}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Serializing the ground truth failed.
    #[error("cannot serialize ground truth to {path}")]
    Truth {
        /// The truth file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// The simulated economy could not find any transaction to make. This is
    /// a bug in the simulator, reported instead of looping forever.
    #[error("the simulated economy stalled at {txs} transactions")]
    Stalled {
        /// Transactions generated so far.
        txs: u64,
    },
}

impl SimError {
    pub(crate) fn config(why: &str) -> SimError {
        SimError::Config(why.to_string())
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> SimError {
        SimError::Io {
            path: path.into(),
            source,
        }
    }
}
