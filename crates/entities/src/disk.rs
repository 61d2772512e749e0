//! The on-disk layout of the clusters: `<store>/entities/`, a column store of
//! its own under the store's rules (see docs/store-format.md, "Entity
//! clusters").
//!
//! * `MANIFEST` — magic `CHEN`, version, commit generation, the store's base
//!   height, the configuration (heuristic mask, guard size, detector
//!   fingerprint), the committed row counts (blocks, addresses, edges,
//!   detections, events) and a CRC-32. Replaced atomically; rows past its
//!   counts do not exist.
//!
//! Five record files (`Column`s of fixed-size `u32` arrays: one file per
//! table, so that a commit syncs five files, not twenty):
//!
//! * `ent_addr.col`, per address, updated in place: parent, size, smallest
//!   member, next member, newest edge (5 × u32).
//! * `ent_edge.col`, per recorded union, append-only: address a, address b,
//!   transaction, heuristic, previous edge of a, previous edge of b (6 × u32).
//! * `ent_block.col`, per covered block: block hash (8 × u32), first edge,
//!   first detection, first event (11 × u32).
//! * `ent_mix.col`, per flagged transaction: transaction, class (2 × u32).
//! * `ent_event.col`, per supercluster event: edge, size of a's cluster,
//!   size of b's cluster (3 × u32).
//! * `JOURNAL` — old values of every committed address row a commit is about
//!   to overwrite, tagged with the generation and CRC-protected; fsynced
//!   before the first in-place write. It is overwritten in place and never
//!   deleted: a journal whose generation is not the manifest's is stale.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use chainhound_store::{write_atomic, Column};

use crate::error::{EntitiesError, Result};

/// Name of the cluster directory inside a store directory.
pub const DIR: &str = "entities";
const MANIFEST: &str = "MANIFEST";
pub(crate) const JOURNAL: &str = "JOURNAL";
const MAGIC: &[u8; 4] = b"CHEN";
pub(crate) const JOURNAL_MAGIC: &[u8; 4] = b"CHEJ";
/// Version of the cluster files; bumped on any incompatible change.
pub const CLUSTERS_FORMAT_VERSION: u32 = 1;

/// Committed rows of each cluster table.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DiskCounts {
    pub blocks: u32,
    pub addrs: u32,
    pub edges: u32,
    pub mixes: u32,
    pub events: u32,
}

/// The manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    pub generation: u64,
    pub base_height: u32,
    pub heuristics: u32,
    pub guard_min: u32,
    pub detect_fp: u64,
    pub counts: DiskCounts,
}

impl Meta {
    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(64);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&CLUSTERS_FORMAT_VERSION.to_le_bytes());
        b.extend_from_slice(&self.generation.to_le_bytes());
        b.extend_from_slice(&self.base_height.to_le_bytes());
        b.extend_from_slice(&self.heuristics.to_le_bytes());
        b.extend_from_slice(&self.guard_min.to_le_bytes());
        b.extend_from_slice(&self.detect_fp.to_le_bytes());
        let c = &self.counts;
        for v in [c.blocks, c.addrs, c.edges, c.mixes, c.events] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    fn decode(bytes: &[u8], path: &Path) -> Result<Meta> {
        let bad = |w: &str| EntitiesError::corrupt(path, w);
        if bytes.len() < 12 || &bytes[..4] != MAGIC {
            return Err(bad("not a ChainHound cluster manifest (bad magic)"));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(body).to_le_bytes() != crc {
            return Err(bad("manifest checksum mismatch"));
        }
        let mut r = Rd { b: body, at: 4 };
        let version = r.u32();
        if version != CLUSTERS_FORMAT_VERSION {
            return Err(bad(&format!(
                "cluster format version {version}; this build reads version {CLUSTERS_FORMAT_VERSION}"
            )));
        }
        if body.len() != 4 + 4 + 8 + 4 + 4 + 4 + 8 + 5 * 4 {
            return Err(bad("manifest has the wrong length"));
        }
        Ok(Meta {
            generation: r.u64(),
            base_height: r.u32(),
            heuristics: r.u32(),
            guard_min: r.u32(),
            detect_fp: r.u64(),
            counts: DiskCounts {
                blocks: r.u32(),
                addrs: r.u32(),
                edges: r.u32(),
                mixes: r.u32(),
                events: r.u32(),
            },
        })
    }

    /// The manifest in `dir`, or `None` if there is none.
    pub(crate) fn load(dir: &Path) -> Result<Option<Meta>> {
        let path = dir.join(MANIFEST);
        match fs::read(&path) {
            Ok(b) => Meta::decode(&b, &path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(EntitiesError::io(&path, e)),
        }
    }

    pub(crate) fn store(&self, dir: &Path) -> Result<()> {
        Ok(write_atomic(dir, MANIFEST, &self.encode())?)
    }
}

struct Rd<'a> {
    b: &'a [u8],
    at: usize,
}

impl Rd<'_> {
    fn u32(&mut self) -> u32 {
        let v = u32::from_le_bytes(self.b[self.at..self.at + 4].try_into().expect("4 bytes"));
        self.at += 4;
        v
    }
    fn u64(&mut self) -> u64 {
        let v = u64::from_le_bytes(self.b[self.at..self.at + 8].try_into().expect("8 bytes"));
        self.at += 8;
        v
    }
}

/// The five per-address values of one row.
pub(crate) type Row = [u32; 5];

/// Old values of address rows, for undoing an interrupted commit: the
/// store's undo journal, one five-value row per entry.
pub(crate) type Journal = chainhound_store::UndoJournal<5>;

/// One recorded union on disk: a, b, transaction, heuristic, previous edge
/// of a, previous edge of b.
pub(crate) type EdgeRec = [u32; 6];
/// One covered block: hash (8 words), first edge, first detection, first
/// event.
pub(crate) type BlockRec = [u32; 11];

/// Packs a block record.
pub(crate) fn block_rec(hash: &[u8; 32], edge: u32, mix: u32, event: u32) -> BlockRec {
    let mut r = [0u32; 11];
    for (i, w) in hash.chunks_exact(4).enumerate() {
        r[i] = u32::from_le_bytes(w.try_into().expect("4 bytes"));
    }
    r[8] = edge;
    r[9] = mix;
    r[10] = event;
    r
}

/// The hash of a block record.
pub(crate) fn block_hash(r: &BlockRec) -> [u8; 32] {
    let mut h = [0u8; 32];
    for (i, w) in r[..8].iter().enumerate() {
        h[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    h
}

/// Every record file of the cluster directory.
pub(crate) struct Files {
    pub addr: Column<Row>,
    pub edge: Column<EdgeRec>,
    pub block: Column<BlockRec>,
    pub mix: Column<[u32; 2]>,
    pub event: Column<[u32; 3]>,
}

impl Files {
    pub(crate) fn open(dir: &Path, c: &DiskCounts, writable: bool) -> Result<Files> {
        Ok(Files {
            addr: Column::open(dir, "ent_addr", c.addrs as usize, writable)?,
            edge: Column::open(dir, "ent_edge", c.edges as usize, writable)?,
            block: Column::open(dir, "ent_block", c.blocks as usize, writable)?,
            mix: Column::open(dir, "ent_mix", c.mixes as usize, writable)?,
            event: Column::open(dir, "ent_event", c.events as usize, writable)?,
        })
    }

    /// The stored values of address row `r`.
    #[inline]
    pub(crate) fn row(&self, r: u32) -> Row {
        self.addr.get(r as usize)
    }

    /// Overwrites address row `r` (below the file's length).
    pub(crate) fn set_row(&mut self, r: u32, v: Row) {
        self.addr.set(r as usize, v);
    }

    pub(crate) fn flush(&mut self) -> Result<()> {
        self.addr.flush()?;
        self.edge.flush()?;
        self.block.flush()?;
        self.mix.flush()?;
        self.event.flush()?;
        Ok(())
    }

    /// Bytes per file, by name.
    pub(crate) fn sizes(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("ent_addr", self.addr.byte_len()),
            ("ent_edge", self.edge.byte_len()),
            ("ent_block", self.block.byte_len()),
            ("ent_mix", self.mix.byte_len()),
            ("ent_event", self.event.byte_len()),
        ]
    }
}

/// Takes the one-writer lock of a cluster directory.
pub(crate) fn lock(dir: &Path) -> Result<File> {
    match chainhound_store::lock_dir(dir) {
        Err(chainhound_store::StoreError::Locked(d)) => Err(EntitiesError::Locked(d)),
        r => Ok(r?),
    }
}

/// `<store>/entities`.
pub(crate) fn dir_of(store_dir: &Path) -> PathBuf {
    store_dir.join(DIR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_and_journal_round_trip_and_detect_damage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Meta::load(dir.path()).unwrap(), None);
        let m = Meta {
            generation: 7,
            base_height: 0,
            heuristics: 2,
            guard_min: 1000,
            detect_fp: 99,
            counts: DiskCounts {
                blocks: 1,
                addrs: 2,
                edges: 3,
                mixes: 4,
                events: 5,
            },
        };
        m.store(dir.path()).unwrap();
        assert_eq!(Meta::load(dir.path()).unwrap(), Some(m));
        let p = dir.path().join(MANIFEST);
        let mut b = fs::read(&p).unwrap();
        b[9] ^= 1;
        fs::write(&p, &b).unwrap();
        assert!(Meta::load(dir.path())
            .unwrap_err()
            .to_string()
            .contains("checksum"));

        let j = Journal {
            generation: 3,
            entries: vec![(5, [1, 2, 3, 4, 5]), (9, [u32::MAX; 5])],
        };
        j.write(dir.path(), JOURNAL, JOURNAL_MAGIC).unwrap();
        assert_eq!(
            Journal::read(dir.path(), JOURNAL, JOURNAL_MAGIC).unwrap(),
            Some(j)
        );
        let p = dir.path().join(JOURNAL);
        let b = fs::read(&p).unwrap();
        fs::write(&p, &b[..b.len() - 1]).unwrap();
        assert_eq!(
            Journal::read(dir.path(), JOURNAL, JOURNAL_MAGIC).unwrap(),
            None
        );
        // overwritten in place: a shorter journal replaces a longer one
        let k = Journal {
            generation: 4,
            entries: vec![(1, [7; 5])],
        };
        k.write(dir.path(), JOURNAL, JOURNAL_MAGIC).unwrap();
        assert_eq!(
            Journal::read(dir.path(), JOURNAL, JOURNAL_MAGIC).unwrap(),
            Some(k)
        );
        let h = [9u8; 32];
        let r = block_rec(&h, 1, 2, 3);
        assert_eq!((block_hash(&r), r[8], r[9], r[10]), (h, 1, 2, 3));
    }
}
