//! The manifest: the one small file whose atomic replacement commits a batch.
//!
//! Layout (little-endian): magic `CHMF`, format version u32, then the fields in
//! the order of [`Manifest::encode`], then a CRC-32 of everything before it.
//! It is written to `MANIFEST.tmp`, fsynced, renamed over `MANIFEST`, and the
//! directory is fsynced: a reader sees the old manifest or the new one, never
//! a mixture.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{Result, StoreError};

pub(crate) const MANIFEST: &str = "MANIFEST";
const MAGIC: &[u8; 4] = b"CHMF";
/// On-disk format version. Bump on any incompatible layout change.
pub const FORMAT_VERSION: u32 = 1;

/// How many rows of each table are committed.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Blocks on the stored best chain.
    pub blocks: u32,
    /// Transactions.
    pub txs: u32,
    /// Inputs.
    pub inputs: u32,
    /// Outputs.
    pub outputs: u32,
    /// Address identities.
    pub addrs: u32,
    /// Output values that do not fit the 32-bit value column.
    pub value_exts: u32,
    /// Inputs whose funding output is not in the store.
    pub unresolved: u32,
}

/// Where a hash table lives: its generation (file name) and size.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TableMeta {
    pub gen: u32,
    pub log2_slots: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub generation: u64,
    pub network_magic: [u8; 4],
    pub base_height: u32,
    pub counts: Counts,
    pub tx_table: TableMeta,
    pub addr_table: TableMeta,
}

impl Manifest {
    pub(crate) fn new(network_magic: [u8; 4], base_height: u32) -> Manifest {
        Manifest {
            generation: 0,
            network_magic,
            base_height,
            counts: Counts::default(),
            tx_table: TableMeta {
                gen: 0,
                log2_slots: 16,
            },
            addr_table: TableMeta {
                gen: 0,
                log2_slots: 16,
            },
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(96);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        b.extend_from_slice(&self.generation.to_le_bytes());
        b.extend_from_slice(&self.network_magic);
        b.extend_from_slice(&self.base_height.to_le_bytes());
        let c = &self.counts;
        for v in [
            c.blocks,
            c.txs,
            c.inputs,
            c.outputs,
            c.addrs,
            c.value_exts,
            c.unresolved,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for t in [self.tx_table, self.addr_table] {
            b.extend_from_slice(&t.gen.to_le_bytes());
            b.extend_from_slice(&t.log2_slots.to_le_bytes());
        }
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    fn decode(bytes: &[u8], path: &Path) -> Result<Manifest> {
        let bad = |what: &str| StoreError::corrupt(path, what.to_string());
        if bytes.len() < 12 || &bytes[..4] != MAGIC {
            return Err(bad("not a ChainHound manifest (bad magic)"));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(body).to_le_bytes() != crc {
            return Err(bad("manifest checksum mismatch"));
        }
        let mut r = Reader { b: body, at: 4 };
        let version = r.u32();
        if version != FORMAT_VERSION {
            return Err(bad(&format!(
                "format version {version}; this build reads version {FORMAT_VERSION}"
            )));
        }
        if body.len() != 4 + 4 + 8 + 4 + 4 + 7 * 4 + 4 * 4 {
            return Err(bad("manifest has the wrong length"));
        }
        let generation = r.u64();
        let network_magic = r.take4();
        let base_height = r.u32();
        let counts = Counts {
            blocks: r.u32(),
            txs: r.u32(),
            inputs: r.u32(),
            outputs: r.u32(),
            addrs: r.u32(),
            value_exts: r.u32(),
            unresolved: r.u32(),
        };
        let tx_table = TableMeta {
            gen: r.u32(),
            log2_slots: r.u32(),
        };
        let addr_table = TableMeta {
            gen: r.u32(),
            log2_slots: r.u32(),
        };
        Ok(Manifest {
            generation,
            network_magic,
            base_height,
            counts,
            tx_table,
            addr_table,
        })
    }

    pub(crate) fn load(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        let bytes = fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StoreError::Missing(dir.to_path_buf())
            } else {
                StoreError::io(&path, e)
            }
        })?;
        Manifest::decode(&bytes, &path)
    }

    /// Atomically replaces the manifest in `dir`.
    pub(crate) fn store(&self, dir: &Path) -> Result<()> {
        write_atomic(dir, MANIFEST, &self.encode())
    }
}

/// Writes `dir/name` atomically: temp file, fsync, rename, fsync directory.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let dst = dir.join(name);
    let mut f = File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| StoreError::io(&tmp, e))?;
    f.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
    drop(f);
    fs::rename(&tmp, &dst).map_err(|e| StoreError::io(&dst, e))?;
    sync_dir(dir)
}

/// Makes a directory's entries (creations, renames) durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

pub(crate) struct Reader<'a> {
    pub b: &'a [u8],
    pub at: usize,
}

impl Reader<'_> {
    pub(crate) fn take4(&mut self) -> [u8; 4] {
        let v = self.b[self.at..self.at + 4]
            .try_into()
            .expect("length checked by caller");
        self.at += 4;
        v
    }
    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take4())
    }
    pub(crate) fn u64(&mut self) -> u64 {
        let v = self.b[self.at..self.at + 8]
            .try_into()
            .expect("length checked by caller");
        self.at += 8;
        u64::from_le_bytes(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_crc() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Manifest::new(*b"\xfa\xbf\xb5\xda", 7);
        m.counts.outputs = 42;
        m.generation = 3;
        m.store(dir.path()).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), m);
        let path = dir.path().join(MANIFEST);
        let mut bytes = fs::read(&path).unwrap();
        bytes[20] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let err = Manifest::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("checksum"), "{err}");
    }

    #[test]
    fn missing_store_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Manifest::load(dir.path()),
            Err(StoreError::Missing(_))
        ));
    }
}
