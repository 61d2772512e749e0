//! Undo journals for cells updated in place under a commit protocol.
//!
//! Before a commit overwrites committed cells (the store's `addr_last_out`,
//! the entity clusters' address rows), it writes their old values here,
//! tagged with the manifest generation they belong to. If the process dies
//! before the new manifest lands, the next open finds a journal whose
//! generation equals the manifest's and puts the old values back. A journal
//! with a bad checksum was never complete, so nothing was overwritten.
//!
//! Layout (little-endian): 4-byte magic, generation `u64`, entry count
//! `u32`, then per entry a row id `u32` and `W` old values `u32`, then a
//! CRC-32 of everything before it. Written with [`crate::write_atomic`].

use std::fs;
use std::path::Path;

use crate::error::{Result, StoreError};
use crate::manifest::{write_atomic, Reader};

/// The store's own journal: old `addr_last_out` heads.
pub(crate) const JOURNAL: &str = "JOURNAL";
pub(crate) const MAGIC: &[u8; 4] = b"CHUJ";

/// Old values of `W`-wide rows, for undoing an interrupted commit.
#[derive(Debug, PartialEq, Eq)]
pub struct UndoJournal<const W: usize> {
    /// The manifest generation the old values belong to.
    pub generation: u64,
    /// (row id, old values).
    pub entries: Vec<(u32, [u32; W])>,
}

impl<const W: usize> UndoJournal<W> {
    /// Writes the journal `dir/name` durably.
    pub fn write(&self, dir: &Path, name: &str, magic: &[u8; 4]) -> Result<()> {
        let mut b = Vec::with_capacity(20 + self.entries.len() * 4 * (W + 1));
        b.extend_from_slice(magic);
        b.extend_from_slice(&self.generation.to_le_bytes());
        b.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for (row, old) in &self.entries {
            b.extend_from_slice(&row.to_le_bytes());
            for v in old {
                b.extend_from_slice(&v.to_le_bytes());
            }
        }
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        write_atomic(dir, name, &b)
    }

    /// Reads `dir/name`; `Ok(None)` if there is none or it is incomplete.
    pub fn read(dir: &Path, name: &str, magic: &[u8; 4]) -> Result<Option<Self>> {
        let path = dir.join(name);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        if bytes.len() < 20 || &bytes[..4] != magic {
            return Ok(None);
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(body).to_le_bytes() != crc {
            return Ok(None);
        }
        let mut r = Reader { b: body, at: 4 };
        let generation = r.u64();
        let n = r.u32() as usize;
        if body.len() != 16 + n * 4 * (W + 1) {
            return Ok(None);
        }
        let entries = (0..n)
            .map(|_| {
                let row = r.u32();
                let mut old = [0u32; W];
                for v in &mut old {
                    *v = r.u32();
                }
                (row, old)
            })
            .collect();
        Ok(Some(UndoJournal {
            generation,
            entries,
        }))
    }

    /// Deletes `dir/name` if present.
    pub fn remove(dir: &Path, name: &str) -> Result<()> {
        let path = dir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }
}

/// Takes the one-writer lock of a directory (`dir/LOCK`), held until the
/// returned file is dropped.
pub fn lock_dir(dir: &Path) -> Result<fs::File> {
    let path = dir.join("LOCK");
    let f = fs::File::create(&path).map_err(|e| StoreError::io(&path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(fs::TryLockError::WouldBlock) => Err(StoreError::Locked(dir.to_path_buf())),
        Err(fs::TryLockError::Error(e)) => Err(StoreError::io(&path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_torn_write() {
        let dir = tempfile::tempdir().unwrap();
        let j = UndoJournal::<2> {
            generation: 9,
            entries: vec![(1, [2, 3]), (3, [u32::MAX, 0])],
        };
        j.write(dir.path(), JOURNAL, MAGIC).unwrap();
        assert_eq!(
            UndoJournal::<2>::read(dir.path(), JOURNAL, MAGIC).unwrap(),
            Some(j)
        );
        assert_eq!(
            UndoJournal::<2>::read(dir.path(), JOURNAL, b"XXXX").unwrap(),
            None
        );
        let path = dir.path().join(JOURNAL);
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(
            UndoJournal::<2>::read(dir.path(), JOURNAL, MAGIC).unwrap(),
            None
        );
        UndoJournal::<2>::remove(dir.path(), JOURNAL).unwrap();
        UndoJournal::<2>::remove(dir.path(), JOURNAL).unwrap();
    }

    #[test]
    fn one_lock_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_dir(dir.path()).unwrap();
        assert!(matches!(lock_dir(dir.path()), Err(StoreError::Locked(_))));
        drop(held);
        lock_dir(dir.path()).unwrap();
    }
}
