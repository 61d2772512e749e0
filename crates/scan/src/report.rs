//! Warnings: what could not be read or scanned, and where.

use std::fmt;
use std::path::Path;

/// Something that could not be scanned (wholly or partly), with the input and
/// byte offset where known. Warnings never stop a scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The file (or capture, or log) concerned.
    pub input: String,
    /// Byte offset in the input, where it applies.
    pub offset: Option<u64>,
    /// What happened.
    pub message: String,
}

impl Warning {
    pub(crate) fn file(path: &Path, offset: Option<u64>, message: impl Into<String>) -> Warning {
        Warning {
            input: path.display().to_string(),
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(o) => write!(f, "{}: at byte offset {o}: {}", self.input, self.message),
            None => write!(f, "{}: {}", self.input, self.message),
        }
    }
}

/// A reader that computes the SHA-256 of what passes through it, so that a
/// report can name the exact input it was made from.
pub struct HashingReader<R> {
    inner: R,
    hasher: sha2::Sha256,
}

impl<R> HashingReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> HashingReader<R> {
        use sha2::Digest;
        HashingReader {
            inner,
            hasher: sha2::Sha256::new(),
        }
    }

    /// The hex digest of the bytes read so far.
    pub fn hex(&self) -> String {
        use sha2::Digest;
        hex_lower(&self.hasher.clone().finalize())
    }
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Lower-case hex.
pub fn hex_lower(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex_lower(&sha2::Sha256::digest(bytes))
}
