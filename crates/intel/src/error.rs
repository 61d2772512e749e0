//! Errors of the attribution store and its importers.

use std::fmt;
use std::path::PathBuf;

/// Where in an input file something went wrong: the file, and when known the
/// line (1-based), the field and the byte offset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// The file as the user named it, or `archive.tar.xz!inner/path.yaml`.
    pub file: String,
    /// 1-based line.
    pub line: Option<u64>,
    /// The field (YAML key, CSV column, XML element or attribute).
    pub field: Option<String>,
    /// Byte offset in the (decompressed) file.
    pub offset: Option<u64>,
}

impl Location {
    /// A location naming only the file.
    pub fn file(file: impl Into<String>) -> Location {
        Location {
            file: file.into(),
            ..Location::default()
        }
    }

    /// The same location at `line`.
    pub fn at_line(mut self, line: u64) -> Location {
        self.line = Some(line);
        self
    }

    /// The same location, naming `field`.
    pub fn field(mut self, field: impl Into<String>) -> Location {
        self.field = Some(field.into());
        self
    }

    /// The same location at byte `offset`.
    pub fn at_offset(mut self, offset: u64) -> Location {
        self.offset = Some(offset);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field {field:?}")?;
        }
        if let Some(offset) = self.offset {
            write!(f, " (byte {offset})")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong importing, storing or reading tags.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntelError {
    /// An operating-system IO error on a named file.
    #[error("io error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An input file is malformed or breaks its format's rules.
    #[error("{at}: {what}")]
    Input {
        /// Where.
        at: Location,
        /// What is wrong (lower-case, no trailing period).
        what: String,
    },
    /// A stored file disagrees with the manifest or is damaged.
    #[error("tag store is corrupt: {path}: {what}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Another process is importing into the same store.
    #[error("tag store {0} is locked by another import")]
    Locked(PathBuf),
    /// A caller asked for something invalid (bad source name, unknown source).
    #[error("{0}")]
    Invalid(String),
}

impl IntelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> IntelError {
        IntelError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn input(at: Location, what: impl Into<String>) -> IntelError {
        IntelError::Input {
            at,
            what: what.into(),
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, what: impl Into<String>) -> IntelError {
        IntelError::Corrupt {
            path: path.into(),
            what: what.into(),
        }
    }

    /// The input location, for errors about an input file.
    pub fn location(&self) -> Option<&Location> {
        match self {
            IntelError::Input { at, .. } => Some(at),
            _ => None,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = IntelError> = std::result::Result<T, E>;
