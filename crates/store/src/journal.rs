//! The undo journal for the one column that is updated in place under a
//! commit protocol: `addr_last` (newest output of each address).
//!
//! Before a commit overwrites committed `addr_last` cells, it writes their old
//! values here, tagged with the manifest generation they belong to. If the
//! process dies before the new manifest lands, the next open finds a journal
//! whose generation equals the manifest's and puts the old values back. A
//! journal with a bad checksum was never complete, so nothing was overwritten.

use std::fs;
use std::path::Path;

use crate::error::{Result, StoreError};
use crate::manifest::{write_atomic, Reader};

pub(crate) const JOURNAL: &str = "JOURNAL";
const MAGIC: &[u8; 4] = b"CHUJ";

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Journal {
    pub generation: u64,
    /// (address id, old addr_last value)
    pub entries: Vec<(u32, u32)>,
}

impl Journal {
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let mut b = Vec::with_capacity(16 + self.entries.len() * 8);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&self.generation.to_le_bytes());
        b.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for (a, v) in &self.entries {
            b.extend_from_slice(&a.to_le_bytes());
            b.extend_from_slice(&v.to_le_bytes());
        }
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        write_atomic(dir, JOURNAL, &b)
    }

    /// Reads the journal; `Ok(None)` if there is none or it is incomplete.
    pub(crate) fn read(dir: &Path) -> Result<Option<Journal>> {
        let path = dir.join(JOURNAL);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        if bytes.len() < 20 || &bytes[..4] != MAGIC {
            return Ok(None);
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(body).to_le_bytes() != crc {
            return Ok(None);
        }
        let mut r = Reader { b: body, at: 4 };
        let generation = r.u64();
        let n = r.u32() as usize;
        if body.len() != 16 + n * 8 {
            return Ok(None);
        }
        let entries = (0..n).map(|_| (r.u32(), r.u32())).collect();
        Ok(Some(Journal {
            generation,
            entries,
        }))
    }

    pub(crate) fn remove(dir: &Path) -> Result<()> {
        let path = dir.join(JOURNAL);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_torn_write() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal {
            generation: 9,
            entries: vec![(1, 2), (3, u32::MAX)],
        };
        j.write(dir.path()).unwrap();
        assert_eq!(Journal::read(dir.path()).unwrap(), Some(j));
        let path = dir.path().join(JOURNAL);
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(Journal::read(dir.path()).unwrap(), None);
        Journal::remove(dir.path()).unwrap();
        Journal::remove(dir.path()).unwrap();
    }
}
