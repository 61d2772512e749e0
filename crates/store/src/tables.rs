//! All columns of one store and the lookups that both the writer and readers
//! use. Every lookup takes the [`Counts`] that bound what the caller may see,
//! which is what makes uncommitted bytes invisible.

use std::path::Path;

use chainhound_types::{AddrKey, AddrKind, Hash32, Sats};

use crate::column::Column;
use crate::error::Result;
use crate::hashtab::{mix, HashTable};
use crate::manifest::{Counts, Manifest};

/// "No such row" in link columns (`spent_by`, `prev_same_addr`, `addr_last`).
pub const NONE: u32 = u32::MAX;
/// `in_prevout` of a coinbase input.
pub const COINBASE: u32 = u32::MAX;
/// `in_prevout` of an input whose funding output is not in the store.
pub const UNRESOLVED: u32 = u32::MAX - 1;
/// `out_value` of an output whose value lives in the exception table.
pub(crate) const VALUE_EXT: u32 = u32::MAX;
/// The largest dense id format version 1 can hold.
pub const MAX_ID: u32 = u32::MAX - 2;

macro_rules! tables {
    ($( $group:ident { $( $col:ident : $ty:ty ),* $(,)? } )*) => {
        pub(crate) struct Tables {
            $( $( pub $col: Column<$ty>, )* )*
            pub tx_table: HashTable,
            pub addr_table: HashTable,
        }

        impl Tables {
            pub(crate) fn open(dir: &Path, m: &Manifest, writable: bool) -> Result<Tables> {
                let c = &m.counts;
                Ok(Tables {
                    $( $( $col: Column::open(dir, stringify!($col), c.$group as usize, writable)?, )* )*
                    tx_table: HashTable::open(dir, "tx_hash", m.tx_table, writable)?,
                    addr_table: HashTable::open(dir, "addr_hash", m.addr_table, writable)?,
                })
            }

            /// Sets every column's length from `c` (after a rollback or
            /// before a commit).
            pub(crate) fn truncate(&mut self, c: &Counts) {
                $( $( self.$col.truncate(c.$group as usize); )* )*
            }

            pub(crate) fn flush(&mut self) -> Result<()> {
                $( $( self.$col.flush()?; )* )*
                self.tx_table.flush()?;
                self.addr_table.flush()
            }

            /// (column name, committed bytes) for every column.
            pub(crate) fn sizes(&self) -> Vec<(&'static str, u64)> {
                vec![ $( $( (stringify!($col), self.$col.byte_len()), )* )*
                      ("tx_hash", self.tx_table.byte_len()),
                      ("addr_hash", self.addr_table.byte_len()) ]
            }
        }
    };
}

tables! {
    blocks {
        blk_hash: [u8; 32],
        blk_header: [u8; 80],
        blk_size: u32,
        blk_work: u128,
        blk_file: u32,
        blk_offset: u64,
        blk_first_tx: u32,
        blk_first_in: u32,
        blk_first_out: u32,
        blk_first_addr: u32,
        blk_first_ext: u32,
        blk_first_unres: u32,
    }
    txs {
        tx_id: [u8; 32],
        tx_first_in: u32,
        tx_first_out: u32,
        tx_version: i32,
        tx_lock_time: u32,
        tx_size: u32,
        tx_weight: u32,
    }
    inputs {
        in_prevout: u32,
    }
    outputs {
        out_value: u32,
        out_addr: u32,
        out_spent_by: u32,
        out_prev_same_addr: u32,
    }
    value_exts {
        ext_output: u32,
        ext_value: u64,
    }
    addrs {
        addr_kind: u8,
        addr_payload: [u8; 32],
        addr_first_out: u32,
        addr_last_out: u32,
    }
    unresolved {
        unres_input: u32,
        unres_txid: [u8; 32],
        unres_vout: u32,
    }
}

/// Start of the row range of item `i` in a "first_x" column, ending at the
/// next item's start or at `total`.
#[inline]
pub(crate) fn range_of(first: &[u32], i: usize, total: u32) -> std::ops::Range<u32> {
    let end = first.get(i + 1).copied().unwrap_or(total);
    first[i]..end
}

/// Index of the item whose range contains row `row` (rows are sorted).
#[inline]
pub(crate) fn owner_of(first: &[u32], row: u32) -> usize {
    first.partition_point(|&f| f <= row) - 1
}

#[inline]
pub(crate) fn tx_hash(txid: &Hash32) -> u64 {
    mix(txid.prefix_u64())
}

impl Tables {
    /// The newest transaction with this txid among the first `c.txs`.
    pub(crate) fn find_tx(&self, txid: &Hash32, c: &Counts) -> Option<u32> {
        let ids = self.tx_id.as_slice();
        let mut best: Option<u32> = None;
        self.tx_table.probe(tx_hash(txid), |id| {
            if id < c.txs && ids[id as usize] == txid.0 && best.is_none_or(|b| id > b) {
                best = Some(id);
            }
            false
        });
        best
    }

    pub(crate) fn find_addr(&self, key: &AddrKey, c: &Counts) -> Option<u32> {
        self.find_addr_or_slot(key, c).ok()
    }

    /// The address id, or else the index slot where it would be inserted.
    pub(crate) fn find_addr_or_slot(
        &self,
        key: &AddrKey,
        c: &Counts,
    ) -> Result<u32, Option<usize>> {
        let kinds = self.addr_kind.as_slice();
        let payloads = self.addr_payload.as_slice();
        let mut found = None;
        let empty = self.addr_table.probe(key.hash64(), |id| {
            let hit = id < c.addrs
                && kinds[id as usize] == key.kind as u8
                && payloads[id as usize] == key.payload;
            if hit {
                found = Some(id);
            }
            hit
        });
        found.ok_or(empty)
    }

    pub(crate) fn addr_key(&self, a: u32) -> AddrKey {
        let kind =
            AddrKind::from_u8(self.addr_kind.get(a as usize)).unwrap_or(AddrKind::NonStandard);
        AddrKey {
            kind,
            payload: self.addr_payload.get(a as usize),
        }
    }

    #[inline]
    pub(crate) fn value(&self, o: u32, c: &Counts) -> Sats {
        let v = self.out_value.get(o as usize);
        if v != VALUE_EXT {
            return Sats(u64::from(v));
        }
        let outs = &self.ext_output.as_slice()[..c.value_exts as usize];
        match outs.binary_search(&o) {
            Ok(i) => Sats(self.ext_value.get(i)),
            Err(_) => Sats(u64::from(v)),
        }
    }

    /// The input spending output `o`, if it is visible under `c`.
    #[inline]
    pub(crate) fn spent_by(&self, o: u32, c: &Counts) -> Option<u32> {
        let s = self.out_spent_by.get(o as usize);
        (s < c.inputs && self.in_prevout.get(s as usize) == o).then_some(s)
    }

    pub(crate) fn tx_inputs(&self, t: u32, c: &Counts) -> std::ops::Range<u32> {
        range_of(self.tx_first_in.as_slice(), t as usize, c.inputs)
    }

    pub(crate) fn tx_outputs(&self, t: u32, c: &Counts) -> std::ops::Range<u32> {
        range_of(self.tx_first_out.as_slice(), t as usize, c.outputs)
    }

    pub(crate) fn block_txs(&self, b: u32, c: &Counts) -> std::ops::Range<u32> {
        range_of(self.blk_first_tx.as_slice(), b as usize, c.txs)
    }

    pub(crate) fn tx_of_input(&self, i: u32) -> u32 {
        owner_of(self.tx_first_in.as_slice(), i) as u32
    }

    pub(crate) fn tx_of_output(&self, o: u32) -> u32 {
        owner_of(self.tx_first_out.as_slice(), o) as u32
    }

    pub(crate) fn block_of_tx(&self, t: u32) -> u32 {
        owner_of(self.blk_first_tx.as_slice(), t) as u32
    }

    /// Walks back from a possibly-newer output along `prev_same_addr` until
    /// one visible under `c`.
    pub(crate) fn visible_addr_head(&self, mut o: u32, c: &Counts) -> u32 {
        let mut steps = 0u64;
        while o != NONE && o >= c.outputs {
            o = match self.out_prev_same_addr.get_raw(o as usize) {
                Some(p) if p < o => p,
                _ => return NONE,
            };
            steps += 1;
            if steps > u64::from(u32::MAX) {
                return NONE;
            }
        }
        o
    }
}
