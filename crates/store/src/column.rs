//! One column: a file of fixed-size little-endian records, memory-mapped.
//!
//! The file may be longer than the column (capacity grows in steps and bytes
//! past the committed length are left over from an interrupted batch); the
//! manifest says how many records are real. Files are never truncated, so a
//! reader's mapping can never be cut under it.

use std::fs::{File, OpenOptions};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use bytemuck::Pod;
use memmap2::{Mmap, MmapMut};

use crate::error::{Result, StoreError};

enum Map {
    None,
    Ro(Mmap),
    Rw(MmapMut),
}

impl Map {
    fn bytes(&self) -> &[u8] {
        match self {
            Map::None => &[],
            Map::Ro(m) => m,
            Map::Rw(m) => m,
        }
    }
}

/// A typed column over a memory-mapped file: fixed-size little-endian
/// records, appended past a committed length that the owner's manifest
/// records. Public so that derived-data crates (clustering, indexes) can keep
/// their own columns under the same rules: rows past the committed length do
/// not exist, files are never truncated, and in-place changes to committed
/// rows must be journalled by the owner before they are made.
pub struct Column<T: Pod> {
    path: PathBuf,
    file: File,
    map: Map,
    len: usize,
    writable: bool,
    /// Set when the file grew or a record changed since the last flush.
    dirty: bool,
    grew: bool,
    _t: PhantomData<T>,
}

const GROW_STEP: u64 = 1 << 16;

impl<T: Pod> Column<T> {
    const SIZE: usize = std::mem::size_of::<T>();

    /// Opens `dir/name.col` holding `len` committed records (creating the
    /// file if `writable`); fails if the file is shorter than `len` records.
    pub fn open(dir: &Path, name: &str, len: usize, writable: bool) -> Result<Column<T>> {
        let path = dir.join(format!("{name}.col"));
        let file = if writable {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
        } else {
            File::open(&path)
        }
        .map_err(|e| StoreError::io(&path, e))?;
        let size = file.metadata().map_err(|e| StoreError::io(&path, e))?.len();
        let need = (len * Self::SIZE) as u64;
        if size < need {
            return Err(StoreError::corrupt(
                &path,
                format!("column has {size} bytes but the manifest needs {need}"),
            ));
        }
        let mut col = Column {
            path,
            file,
            map: Map::None,
            len,
            writable,
            dirty: false,
            grew: false,
            _t: PhantomData,
        };
        col.remap(size)?;
        Ok(col)
    }

    fn remap(&mut self, size: u64) -> Result<()> {
        self.map = if size == 0 {
            Map::None
        } else if self.writable {
            // SAFETY: the store directory is locked for one writer; other
            // processes only read below the committed lengths, and files are
            // never truncated.
            Map::Rw(
                unsafe { MmapMut::map_mut(&self.file) }
                    .map_err(|e| StoreError::io(&self.path, e))?,
            )
        } else {
            // SAFETY: as above; readers never look past the manifest's lengths.
            Map::Ro(unsafe { Mmap::map(&self.file) }.map_err(|e| StoreError::io(&self.path, e))?)
        };
        Ok(())
    }

    /// Number of records.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the column has no records.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The records as a slice.
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        if self.len == 0 {
            // An unmapped (empty) file has no aligned address to cast.
            return &[];
        }
        let bytes = &self.map.bytes()[..self.len * Self::SIZE];
        bytemuck::cast_slice(bytes)
    }

    /// Record `i`; panics if out of range (callers check against counts).
    #[inline]
    pub fn get(&self, i: usize) -> T {
        self.as_slice()[i]
    }

    /// Record `i` if it lies inside the mapped file, even past `len`: used
    /// only to walk links that the caller validates.
    pub(crate) fn get_raw(&self, i: usize) -> Option<T> {
        let bytes = self.map.bytes();
        let end = (i + 1).checked_mul(Self::SIZE)?;
        if end > bytes.len() {
            return None;
        }
        Some(bytemuck::pod_read_unaligned(&bytes[i * Self::SIZE..end]))
    }

    fn rw(&mut self) -> &mut MmapMut {
        match &mut self.map {
            Map::Rw(m) => m,
            _ => panic!(
                "column {} written through a read-only handle",
                self.path.display()
            ),
        }
    }

    fn reserve(&mut self, additional: usize) -> Result<()> {
        let need = ((self.len + additional) * Self::SIZE) as u64;
        let have = self.map.bytes().len() as u64;
        if need <= have {
            return Ok(());
        }
        let grown = (have + have / 2).max(need);
        let new_size = grown.div_ceil(GROW_STEP) * GROW_STEP;
        self.file
            .set_len(new_size)
            .map_err(|e| StoreError::io(&self.path, e))?;
        self.remap(new_size)?;
        self.grew = true;
        Ok(())
    }

    /// Appends one record.
    #[inline]
    pub fn push(&mut self, v: T) -> Result<()> {
        if (self.len + 1) * Self::SIZE > self.map.bytes().len() {
            self.reserve(1)?;
        }
        let at = self.len * Self::SIZE;
        self.rw()[at..at + Self::SIZE].copy_from_slice(bytemuck::bytes_of(&v));
        self.len += 1;
        self.dirty = true;
        Ok(())
    }

    /// Appends many records.
    pub fn extend_from_slice(&mut self, v: &[T]) -> Result<()> {
        if v.is_empty() {
            return Ok(());
        }
        self.reserve(v.len())?;
        let at = self.len * Self::SIZE;
        let bytes: &[u8] = bytemuck::cast_slice(v);
        self.rw()[at..at + bytes.len()].copy_from_slice(bytes);
        self.len += v.len();
        self.dirty = true;
        Ok(())
    }

    /// Overwrites record `i < len` in place; panics past the end.
    #[inline]
    pub fn set(&mut self, i: usize, v: T) {
        assert!(i < self.len, "set past the end of {}", self.path.display());
        let at = i * Self::SIZE;
        self.rw()[at..at + Self::SIZE].copy_from_slice(bytemuck::bytes_of(&v));
        self.dirty = true;
    }

    /// Forgets records past `len` (the bytes stay; they are overwritten
    /// later). Panics if `len` exceeds the current length.
    pub fn truncate(&mut self, len: usize) {
        assert!(len <= self.len);
        self.len = len;
    }

    /// Makes everything written so far durable (msync, and fsync when the
    /// file grew).
    pub fn flush(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        if let Map::Rw(m) = &self.map {
            m.flush().map_err(|e| StoreError::io(&self.path, e))?;
        }
        if self.grew {
            self.file
                .sync_all()
                .map_err(|e| StoreError::io(&self.path, e))?;
            self.grew = false;
        }
        self.dirty = false;
        Ok(())
    }

    /// Bytes of the records.
    pub fn byte_len(&self) -> u64 {
        (self.len * Self::SIZE) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_grow_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut c: Column<u32> = Column::open(dir.path(), "x", 0, true).unwrap();
        for i in 0..100_000u32 {
            c.push(i * 3).unwrap();
        }
        c.set(5, 7);
        c.flush().unwrap();
        drop(c);
        let r: Column<u32> = Column::open(dir.path(), "x", 100_000, false).unwrap();
        assert_eq!(r.get(5), 7);
        assert_eq!(r.get(99_999), 299_997);
        let mut w: Column<u32> = Column::open(dir.path(), "x", 100_000, true).unwrap();
        w.extend_from_slice(&[1, 2, 3]).unwrap();
        w.extend_from_slice(&[]).unwrap();
        assert_eq!(&w.as_slice()[99_999..], &[299_997, 1, 2, 3]);
        assert_eq!(r.as_slice().len(), 100_000);
        assert!(Column::<u32>::open(dir.path(), "x", 10_000_000, false).is_err());
    }

    #[test]
    fn wide_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut c: Column<[u8; 80]> = Column::open(dir.path(), "h", 0, true).unwrap();
        c.push([9u8; 80]).unwrap();
        let mut w: Column<u128> = Column::open(dir.path(), "w", 0, true).unwrap();
        w.push(u128::MAX - 1).unwrap();
        assert_eq!(c.get(0)[79], 9);
        assert_eq!(w.get(0), u128::MAX - 1);
        assert_eq!(w.get_raw(0), Some(u128::MAX - 1));
        assert_eq!(w.get_raw(1 << 40), None);
    }
}
