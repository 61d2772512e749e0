//! The single writer: appends blocks, commits, rolls back.
//!
//! Commit protocol (see docs/store-format.md):
//! 1. Rows are appended to the columns past their committed lengths; `spent_by`
//!    and hash-index slots are written in place (readers validate them).
//! 2. New `addr_last` heads are kept in memory (the overlay) until commit.
//! 3. `commit`: journal the old heads being overwritten (fsync), apply the
//!    overlay, msync/fsync every column, atomically replace the manifest,
//!    delete the journal. A crash anywhere leaves the old manifest in force,
//!    and the next open puts journalled heads back.

use std::collections::HashMap;
use std::fs::{self, File};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};

use chainhound_types::{Block, Hash32, Input};

use crate::error::{Result, StoreError};
use crate::hashtab::HashTable;
use crate::journal::{lock_dir, UndoJournal, JOURNAL, MAGIC};
use crate::manifest::{Counts, Manifest};
use crate::tables::{tx_hash, Tables, COINBASE, MAX_ID, NONE, UNRESOLVED, VALUE_EXT};

/// Where a block came from, so its raw bytes can be found again.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceLoc {
    /// Index of the source file (blk number).
    pub file: u32,
    /// Byte offset of the block in that file.
    pub offset: u64,
}

/// What appending one block noticed.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendStats {
    /// Inputs whose funding output is not in the store.
    pub unresolved: u32,
    /// Inputs spending an output that an earlier stored input already spent.
    pub conflicting_spends: u32,
}

/// The one writer of a store directory (an exclusive lock enforces it).
pub struct StoreWriter {
    dir: PathBuf,
    _lock: File,
    manifest: Manifest,
    counts: Counts,
    t: Tables,
    overlay: HashMap<u32, u32, BuildHasherDefault<IdHasher>>,
    obsolete: Vec<PathBuf>,
    /// No manifest on disk yet.
    fresh: bool,
    /// Test hook: stop `commit` after this many steps, as a crash would.
    #[cfg(test)]
    pub(crate) crash_at: Option<u8>,
}

#[cfg(test)]
macro_rules! crash_point {
    ($self:ident, $n:expr) => {
        if $self.crash_at == Some($n) {
            return Err(StoreError::Invalid(format!(
                "simulated crash at commit step {}",
                $n
            )));
        }
    };
}
#[cfg(not(test))]
macro_rules! crash_point {
    ($self:ident, $n:expr) => {};
}

impl StoreWriter {
    /// Opens the store in `dir` for writing, creating it if absent, and
    /// recovers from an interrupted commit.
    pub fn open(dir: &Path, network_magic: [u8; 4], network_name: &str) -> Result<StoreWriter> {
        fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let lock = lock_dir(dir)?;
        // A new store's manifest is written by its first commit, so a run
        // that fails before storing anything leaves no store behind.
        let (manifest, fresh) = match Manifest::load(dir) {
            Ok(m) => (m, false),
            Err(StoreError::Missing(_)) => (Manifest::new(network_magic, 0), true),
            Err(e) => return Err(e),
        };
        if manifest.network_magic != network_magic {
            return Err(StoreError::WrongNetwork {
                stored: crate::network_name(manifest.network_magic).to_string(),
                requested: network_name.to_string(),
            });
        }
        let mut t = Tables::open(dir, &manifest, true)?;
        if let Some(j) = UndoJournal::<1>::read(dir, JOURNAL, MAGIC)? {
            if j.generation == manifest.generation {
                tracing::warn!(entries = j.entries.len(), "undoing an interrupted commit");
                for &(a, [old]) in &j.entries {
                    if a < manifest.counts.addrs {
                        t.addr_last_out.set(a as usize, old);
                    }
                }
                t.addr_last_out.flush()?;
            }
        }
        UndoJournal::<1>::remove(dir, JOURNAL)?;
        remove_stale_tables(dir, &manifest)?;
        Ok(StoreWriter {
            dir: dir.to_path_buf(),
            _lock: lock,
            counts: manifest.counts,
            manifest,
            t,
            overlay: HashMap::default(),
            obsolete: Vec::new(),
            fresh,
            #[cfg(test)]
            crash_at: None,
        })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Rows written so far, committed or not.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Rows committed.
    pub fn committed(&self) -> Counts {
        self.manifest.counts
    }

    /// Height of the first stored block.
    pub fn base_height(&self) -> u32 {
        self.manifest.base_height
    }

    /// Sets the height of the first block; only on an empty store.
    pub fn set_base_height(&mut self, h: u32) -> Result<()> {
        if self.counts.blocks != 0 {
            return Err(StoreError::Invalid(
                "base height can only be set on an empty store".into(),
            ));
        }
        self.manifest.base_height = h;
        Ok(())
    }

    /// Hash of the block at `height`, if stored (uncommitted included).
    pub fn block_hash(&self, height: u32) -> Option<Hash32> {
        let i = height.checked_sub(self.manifest.base_height)?;
        (i < self.counts.blocks).then(|| Hash32(self.t.blk_hash.get(i as usize)))
    }

    /// Cumulative chain work up to and including the block at `height`.
    pub fn block_work(&self, height: u32) -> Option<u128> {
        let i = height.checked_sub(self.manifest.base_height)?;
        (i < self.counts.blocks).then(|| self.t.blk_work.get(i as usize))
    }

    /// Height and hash of the tip, if any block is stored.
    pub fn tip(&self) -> Option<(u32, Hash32)> {
        let n = self.counts.blocks.checked_sub(1)?;
        Some((
            self.manifest.base_height + n,
            Hash32(self.t.blk_hash.get(n as usize)),
        ))
    }

    /// Appends `b` on top of the tip. `work` is this block's own work.
    pub fn append_block(&mut self, b: &Block, loc: SourceLoc, work: u128) -> Result<AppendStats> {
        let c0 = self.counts;
        let prev_work = match self.tip() {
            Some((_, tip)) => {
                if b.prev_hash() != tip {
                    return Err(StoreError::NotATip {
                        hash: b.hash.to_string(),
                        tip: tip.to_string(),
                    });
                }
                self.t.blk_work.get(c0.blocks as usize - 1)
            }
            None => 0,
        };
        check_room("blocks", c0.blocks, 1)?;
        check_room("transactions", c0.txs, b.txs.len())?;
        check_room("inputs", c0.inputs, b.inputs.len())?;
        check_room("outputs", c0.outputs, b.outputs.len())?;
        check_room("addresses", c0.addrs, b.outputs.len())?;
        self.ensure_table_room(b.txs.len() as u64, b.outputs.len() as u64)?;

        let t = &mut self.t;
        t.blk_hash.push(b.hash.0)?;
        t.blk_header.push(b.header)?;
        t.blk_size.push(b.size)?;
        t.blk_work.push(prev_work.saturating_add(work))?;
        t.blk_file.push(loc.file)?;
        t.blk_offset.push(loc.offset)?;
        t.blk_first_tx.push(c0.txs)?;
        t.blk_first_in.push(c0.inputs)?;
        t.blk_first_out.push(c0.outputs)?;
        t.blk_first_addr.push(c0.addrs)?;
        t.blk_first_ext.push(c0.value_exts)?;
        t.blk_first_unres.push(c0.unresolved)?;
        self.counts.blocks += 1;

        let mut stats = AppendStats::default();
        let (mut in_at, mut out_at) = (0usize, 0usize);
        for tx in &b.txs {
            let first_in = self.counts.inputs;
            let first_out = self.counts.outputs;
            for input in &b.inputs[in_at..in_at + tx.n_inputs as usize] {
                self.append_input(input, &mut stats)?;
            }
            in_at += tx.n_inputs as usize;
            for out in &b.outputs[out_at..out_at + tx.n_outputs as usize] {
                self.append_output(out.value.0, &out.addr)?;
            }
            out_at += tx.n_outputs as usize;
            let t = &mut self.t;
            let id = self.counts.txs;
            t.tx_id.push(tx.txid.0)?;
            t.tx_first_in.push(first_in)?;
            t.tx_first_out.push(first_out)?;
            t.tx_version.push(tx.version)?;
            t.tx_lock_time.push(tx.lock_time)?;
            t.tx_size.push(tx.size)?;
            t.tx_weight.push(tx.weight)?;
            t.tx_table.insert(tx_hash(&tx.txid), id);
            self.counts.txs += 1;
        }
        Ok(stats)
    }

    fn append_input(&mut self, input: &Input, stats: &mut AppendStats) -> Result<()> {
        let id = self.counts.inputs;
        let prevout = match *input {
            Input::Coinbase => COINBASE,
            Input::Spend { txid, vout } => {
                let found = self.t.find_tx(&txid, &self.counts).and_then(|tx| {
                    let r = self.t.tx_outputs(tx, &self.counts);
                    (u64::from(vout) < u64::from(r.end - r.start)).then(|| r.start + vout)
                });
                match found {
                    Some(o) => {
                        if self.t.spent_by(o, &self.counts).is_some() {
                            stats.conflicting_spends += 1;
                        }
                        self.t.out_spent_by.set(o as usize, id);
                        o
                    }
                    None => {
                        self.t.unres_input.push(id)?;
                        self.t.unres_txid.push(txid.0)?;
                        self.t.unres_vout.push(vout)?;
                        self.counts.unresolved += 1;
                        stats.unresolved += 1;
                        UNRESOLVED
                    }
                }
            }
        };
        self.t.in_prevout.push(prevout)?;
        self.counts.inputs += 1;
        Ok(())
    }

    fn append_output(&mut self, value: u64, key: &chainhound_types::AddrKey) -> Result<()> {
        let o = self.counts.outputs;
        let t = &mut self.t;
        let a = match t.find_addr_or_slot(key, &self.counts) {
            Ok(a) => a,
            Err(slot) => {
                let a = self.counts.addrs;
                t.addr_kind.push(key.kind as u8)?;
                t.addr_payload.push(key.payload)?;
                t.addr_first_out.push(o)?;
                t.addr_last_out.push(NONE)?;
                match slot {
                    Some(s) => t.addr_table.insert_at(s, key.hash64(), a),
                    None => t.addr_table.insert(key.hash64(), a),
                }
                self.counts.addrs += 1;
                a
            }
        };
        let prev = match self.overlay.get(&a) {
            Some(&h) => h,
            None => t.addr_last_out.get(a as usize),
        };
        self.overlay.insert(a, o);
        if value < u64::from(VALUE_EXT) {
            t.out_value.push(value as u32)?;
        } else {
            t.out_value.push(VALUE_EXT)?;
            t.ext_output.push(o)?;
            t.ext_value.push(value)?;
            self.counts.value_exts += 1;
        }
        t.out_addr.push(a)?;
        t.out_spent_by.push(NONE)?;
        t.out_prev_same_addr.push(prev)?;
        self.counts.outputs += 1;
        Ok(())
    }

    fn ensure_table_room(&mut self, new_txs: u64, new_addrs: u64) -> Result<()> {
        let c = self.counts;
        if self.t.tx_table.needs_growth(u64::from(c.txs) + new_txs) {
            let ids = self.t.tx_id.as_slice();
            let fresh =
                self.t
                    .tx_table
                    .rebuilt(&self.dir, (u64::from(c.txs) + new_txs) * 2, |n| {
                        for (id, txid) in ids.iter().enumerate() {
                            n.insert(tx_hash(&Hash32(*txid)), id as u32);
                        }
                        Ok(())
                    })?;
            let old = std::mem::replace(&mut self.t.tx_table, fresh);
            self.retire("tx_hash", old.meta.gen);
        }
        if self
            .t
            .addr_table
            .needs_growth(u64::from(c.addrs) + new_addrs)
        {
            let n_addrs = c.addrs;
            let t = &self.t;
            let fresh =
                t.addr_table
                    .rebuilt(&self.dir, (u64::from(n_addrs) + new_addrs) * 2, |n| {
                        for a in 0..n_addrs {
                            n.insert(t.addr_key(a).hash64(), a);
                        }
                        Ok(())
                    })?;
            let old = std::mem::replace(&mut self.t.addr_table, fresh);
            self.retire("addr_hash", old.meta.gen);
        }
        Ok(())
    }

    fn retire(&mut self, name: &str, gen: u32) {
        let committed = match name {
            "tx_hash" => self.manifest.tx_table.gen,
            _ => self.manifest.addr_table.gen,
        };
        // A table of the committed generation is deleted only after the
        // manifest no longer names it; an uncommitted one right away.
        let path = HashTable::path(&self.dir, name, gen);
        if gen == committed {
            self.obsolete.push(path);
        } else {
            let _ = fs::remove_file(path);
        }
    }

    /// Makes everything appended so far durable and visible to readers.
    pub fn commit(&mut self) -> Result<()> {
        let unchanged = self.overlay.is_empty()
            && self.counts == self.manifest.counts
            && self.t.tx_table.meta == self.manifest.tx_table
            && self.t.addr_table.meta == self.manifest.addr_table;
        if unchanged && self.obsolete.is_empty() && !self.fresh {
            return Ok(());
        }
        let committed_addrs = self.manifest.counts.addrs;
        let mut entries: Vec<(u32, [u32; 1])> = self
            .overlay
            .keys()
            .filter(|&&a| a < committed_addrs)
            .map(|&a| (a, [self.t.addr_last_out.get(a as usize)]))
            .collect();
        entries.sort_unstable();
        let journaled = !entries.is_empty();
        if journaled {
            UndoJournal {
                generation: self.manifest.generation,
                entries,
            }
            .write(&self.dir, JOURNAL, MAGIC)?;
        }
        crash_point!(self, 1);
        for (&a, &head) in &self.overlay {
            self.t.addr_last_out.set(a as usize, head);
        }
        crash_point!(self, 2);
        self.t.truncate(&self.counts);
        self.t.flush()?;
        crash_point!(self, 3);
        let mut next = self.manifest.clone();
        next.generation += 1;
        next.counts = self.counts;
        next.tx_table = self.t.tx_table.meta;
        next.addr_table = self.t.addr_table.meta;
        next.store(&self.dir)?;
        self.manifest = next;
        self.fresh = false;
        if journaled {
            UndoJournal::<1>::remove(&self.dir, JOURNAL)?;
        }
        for p in self.obsolete.drain(..) {
            let _ = fs::remove_file(p);
        }
        self.overlay.clear();
        Ok(())
    }

    /// Removes every block at `height` and above, and commits.
    pub fn rollback_to(&mut self, height: u32) -> Result<()> {
        self.commit()?;
        let keep = height.saturating_sub(self.manifest.base_height);
        if keep >= self.counts.blocks {
            return Ok(());
        }
        let k = keep as usize;
        let t = &self.t;
        let new = Counts {
            blocks: keep,
            txs: t.blk_first_tx.get(k),
            inputs: t.blk_first_in.get(k),
            outputs: t.blk_first_out.get(k),
            addrs: t.blk_first_addr.get(k),
            value_exts: t.blk_first_ext.get(k),
            unresolved: t.blk_first_unres.get(k),
        };
        for o in new.outputs..self.counts.outputs {
            let a = t.out_addr.get(o as usize);
            if a >= new.addrs || self.overlay.contains_key(&a) {
                continue;
            }
            let mut head = t.addr_last_out.get(a as usize);
            while head != NONE && head >= new.outputs {
                head = t.out_prev_same_addr.get(head as usize);
            }
            self.overlay.insert(a, head);
        }
        tracing::info!(from = self.counts.blocks, to = keep, "rolling back blocks");
        self.counts = new;
        self.commit()
    }

    /// Bytes per column, for the layout report.
    pub fn sizes(&self) -> Vec<(&'static str, u64)> {
        self.t.sizes()
    }
}

/// A hasher for dense integer ids: one multiplication, high bits well mixed.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

fn check_room(what: &'static str, have: u32, add: usize) -> Result<()> {
    if u64::from(have) + add as u64 > u64::from(MAX_ID) {
        return Err(StoreError::Full {
            what,
            limit: u64::from(MAX_ID),
        });
    }
    Ok(())
}

fn remove_stale_tables(dir: &Path, m: &Manifest) -> Result<()> {
    let rd = fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))?;
    for entry in rd.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        for (prefix, gen) in [
            ("tx_hash.", m.tx_table.gen),
            ("addr_hash.", m.addr_table.gen),
        ] {
            if let Some(rest) = name
                .strip_prefix(prefix)
                .and_then(|r| r.strip_suffix(".col"))
            {
                if rest.parse::<u32>().is_ok_and(|g| g != gen) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }
    Ok(())
}
