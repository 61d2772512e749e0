//! Open-addressing hash index from a key (txid, address) to a dense id.
//!
//! Slots are u64 holding a 32-bit tag (the key hash's high half) above
//! `id + 1` (0 = empty), in a memory-mapped file named
//! `<name>.<generation>.col`. The key itself is not stored: a slot whose tag
//! matches is checked against the id's row in the owning table, so a probe
//! touches that table only for likely hits. An entry is valid only if its id
//! is below the table's committed count *and* its key matches, so entries left
//! by an interrupted batch are harmless and never need undoing. The table is
//! rebuilt, under a new generation, when it is 60% full.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use crate::column::Column;
use crate::error::{Result, StoreError};
use crate::manifest::TableMeta;

pub(crate) struct HashTable {
    name: &'static str,
    pub(crate) meta: TableMeta,
    slots: Column<u64>,
    mask: u64,
}

fn file_name(name: &str, gen: u32) -> String {
    format!("{name}.{gen}")
}

impl HashTable {
    pub(crate) fn open(
        dir: &Path,
        name: &'static str,
        meta: TableMeta,
        writable: bool,
    ) -> Result<HashTable> {
        let n = 1usize << meta.log2_slots;
        let fname = file_name(name, meta.gen);
        let path = dir.join(format!("{fname}.col"));
        if writable && !path.exists() {
            create_zeroed(&path, n)?;
        }
        let slots = Column::open(dir, &fname, n, writable)?;
        Ok(HashTable {
            name,
            meta,
            slots,
            mask: (n as u64) - 1,
        })
    }

    pub(crate) fn path(dir: &Path, name: &str, gen: u32) -> PathBuf {
        dir.join(format!("{}.col", file_name(name, gen)))
    }

    #[cfg(test)]
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Calls `f` with every candidate id for hash `h`, in probe order, until
    /// `f` returns true or an empty slot ends the run. Returns that empty
    /// slot, where `h` would be inserted.
    #[inline]
    pub(crate) fn probe(&self, h: u64, mut f: impl FnMut(u32) -> bool) -> Option<usize> {
        let slots = self.slots.as_slice();
        let tag = h >> 32;
        let mut i = h & self.mask;
        for _ in 0..slots.len() {
            let v = slots[i as usize];
            if v == 0 {
                return Some(i as usize);
            }
            if v >> 32 == tag && f((v as u32).wrapping_sub(1)) {
                return None;
            }
            i = (i + 1) & self.mask;
        }
        None
    }

    /// Inserts `id` under hash `h` into `slot`, the empty slot a `probe`
    /// for `h` just returned (nothing was inserted since).
    #[inline]
    pub(crate) fn insert_at(&mut self, slot: usize, h: u64, id: u32) {
        debug_assert_eq!(self.slots.get(slot), 0);
        self.slots.set(slot, (h >> 32) << 32 | u64::from(id + 1));
    }

    /// Inserts `id` under hash `h` in the first empty slot.
    pub(crate) fn insert(&mut self, h: u64, id: u32) {
        let mut i = h & self.mask;
        loop {
            if self.slots.get(i as usize) == 0 {
                self.slots
                    .set(i as usize, (h >> 32) << 32 | u64::from(id + 1));
                return;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Whether `entries` ids would make the table too full.
    pub(crate) fn needs_growth(&self, entries: u64) -> bool {
        entries * 10 >= (self.slots.len() as u64) * 6
    }

    /// Builds a table of the next generation sized for `entries`, filled by
    /// `fill`, which must insert every valid id.
    pub(crate) fn rebuilt(
        &self,
        dir: &Path,
        entries: u64,
        fill: impl FnOnce(&mut HashTable) -> Result<()>,
    ) -> Result<HashTable> {
        let mut log2 = self.meta.log2_slots;
        while (entries * 10) >= (1u64 << log2) * 5 {
            log2 += 1;
        }
        let meta = TableMeta {
            gen: self.meta.gen + 1,
            log2_slots: log2,
        };
        let path = HashTable::path(dir, self.name, meta.gen);
        if path.exists() {
            std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
        }
        let mut t = HashTable::open(dir, self.name, meta, true)?;
        fill(&mut t)?;
        Ok(t)
    }

    pub(crate) fn flush(&mut self) -> Result<()> {
        self.slots.flush()
    }

    pub(crate) fn byte_len(&self) -> u64 {
        self.slots.byte_len()
    }
}

fn create_zeroed(path: &Path, n: usize) -> Result<()> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| StoreError::io(path, e))?;
    f.set_len((n * 8) as u64)
        .map_err(|e| StoreError::io(path, e))?;
    f.sync_all().map_err(|e| StoreError::io(path, e))
}

pub(crate) use chainhound_types::mix64 as mix;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_probe_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = HashTable::open(
            dir.path(),
            "t",
            TableMeta {
                gen: 0,
                log2_slots: 4,
            },
            true,
        )
        .unwrap();
        // keys are the ids themselves; every id hashes to the same few slots
        for id in 0..8u32 {
            t.insert(mix(u64::from(id % 3)), id);
        }
        let mut seen = vec![];
        t.probe(mix(1), |id| {
            if id % 3 == 1 {
                seen.push(id);
            }
            false
        });
        assert_eq!(seen, vec![1, 4, 7]);
        assert!(t.needs_growth(10));
        let t2 = t
            .rebuilt(dir.path(), 100, |n| {
                for id in 0..100u32 {
                    n.insert(mix(u64::from(id)), id);
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(t2.meta.gen, 1);
        assert!(t2.slot_count() >= 200);
        let mut found = None;
        t2.probe(mix(77), |id| {
            if id == 77 {
                found = Some(id);
                true
            } else {
                false
            }
        });
        assert_eq!(found, Some(77));
    }
}
