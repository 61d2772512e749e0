//! Errors of the scanners. Warnings about single inputs (an unreadable file,
//! a truncated capture) are not errors: they are [`crate::Warning`]s in the
//! report, and the scan goes on.

use std::path::PathBuf;

/// Result with [`ScanError`].
pub type Result<T, E = ScanError> = std::result::Result<T, E>;

/// A scan that could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// A file could not be opened or read.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        error: std::io::Error,
    },
    /// No rule compiled: nothing to scan with.
    #[error("no YARA rule compiled ({failed} rule file(s) failed)")]
    NoRules {
        /// Rule files that failed.
        failed: usize,
    },
    /// The input is not a capture this crate reads.
    #[error("{path}: not a pcap or pcapng file (magic {magic:02x?})")]
    NotACapture {
        /// The file.
        path: PathBuf,
        /// Its first bytes.
        magic: Vec<u8>,
    },
    /// The input is not a Zeek log this crate reads.
    #[error("{path}: {reason}")]
    BadZeekLog {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An indicator list could not be read.
    #[error("{path} line {line}: {reason}")]
    BadIndicators {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Writing the wallet tags failed.
    #[error("tagging payout wallets: {0}")]
    Intel(#[from] chainhound_intel::IntelError),
}

impl ScanError {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> ScanError {
        ScanError::Io {
            path: path.into(),
            error,
        }
    }
}
