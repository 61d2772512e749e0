//! Zero-copy views of the committed columns, for whole-chain passes
//! (clustering, indexes) that cannot afford a call per row.

use std::ops::Range;

use crate::manifest::Counts;
use crate::reader::Store;
use crate::tables::{range_of, VALUE_EXT};

/// The committed columns of a [`Store`] as plain slices, each cut at its
/// table's committed count. Row `i` of a slice is row `i` of the table;
/// sentinels are as in `docs/store-format.md` (`in_prevout` holds
/// [`crate::COINBASE`] or [`crate::UNRESOLVED`] for inputs without a stored
/// funding output; `out_value` holds `0xFFFF_FFFF` for values in the
/// exception table, which [`Columns::value`] resolves).
#[derive(Copy, Clone)]
pub struct Columns<'a> {
    /// First transaction of each block.
    pub blk_first_tx: &'a [u32],
    /// First address id created by each block.
    pub blk_first_addr: &'a [u32],
    /// First input of each transaction.
    pub tx_first_in: &'a [u32],
    /// First output of each transaction.
    pub tx_first_out: &'a [u32],
    /// Transaction versions.
    pub tx_version: &'a [i32],
    /// Transaction lock times.
    pub tx_lock_time: &'a [u32],
    /// The output each input spends, or a sentinel.
    pub in_prevout: &'a [u32],
    /// Output values (32-bit; see [`Columns::value`]).
    pub out_value: &'a [u32],
    /// Address id of each output.
    pub out_addr: &'a [u32],
    /// Kind byte of each address (`chainhound_types::AddrKind`).
    pub addr_kind: &'a [u8],
    /// First output paid to each address.
    pub addr_first_out: &'a [u32],
    ext_output: &'a [u32],
    ext_value: &'a [u64],
    /// Spending input of each output, unvalidated (see [`Columns::spender`]).
    out_spent_by: &'a [u32],
    counts: Counts,
}

impl<'a> Columns<'a> {
    /// The committed counts the slices are cut at.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Value of output `o` in satoshis; panics if `o` is not below
    /// `counts().outputs`.
    #[inline]
    pub fn value(&self, o: u32) -> u64 {
        let v = self.out_value[o as usize];
        if v != VALUE_EXT {
            return u64::from(v);
        }
        match self.ext_output.binary_search(&o) {
            Ok(i) => self.ext_value[i],
            Err(_) => u64::from(v),
        }
    }

    /// The committed input spending output `o`, if any; panics if `o` is
    /// not below `counts().outputs`. Same answer as [`Store::spender`]: a
    /// link is only believed when the input points back at `o`.
    #[inline]
    pub fn spender(&self, o: u32) -> Option<u32> {
        let s = self.out_spent_by[o as usize];
        (s < self.counts.inputs && self.in_prevout[s as usize] == o).then_some(s)
    }

    /// The stored link from output `o` to its spending input, *not*
    /// checked against the input (one read instead of two): `Some(i)` may
    /// name an input that spends another output, which the caller must
    /// rule out (`in_prevout[i] == o`) before believing it. `None` means
    /// certainly unspent.
    #[inline]
    pub fn spender_link(&self, o: u32) -> Option<u32> {
        let s = self.out_spent_by[o as usize];
        (s < self.counts.inputs).then_some(s)
    }

    /// Starts fetching the value, address and spender link of the outputs
    /// in `outs` into the cache (a hint; reads nothing).
    #[inline]
    pub fn prefetch_outputs(&self, outs: Range<u32>) {
        // One hint per 64-byte line of each column.
        for o in (outs.start as usize..outs.end as usize).step_by(16) {
            prefetch(self.out_value, o);
            prefetch(self.out_spent_by, o);
            prefetch(self.out_addr, o);
        }
        if outs.end > outs.start {
            let last = outs.end as usize - 1;
            prefetch(self.out_value, last);
            prefetch(self.out_spent_by, last);
            prefetch(self.out_addr, last);
        }
    }

    /// The inputs of transaction `t`.
    #[inline]
    pub fn tx_inputs(&self, t: u32) -> Range<u32> {
        range_of(self.tx_first_in, t as usize, self.counts.inputs)
    }

    /// The outputs of transaction `t`.
    #[inline]
    pub fn tx_outputs(&self, t: u32) -> Range<u32> {
        range_of(self.tx_first_out, t as usize, self.counts.outputs)
    }

    /// The transactions of the block at row `b` (height minus base height).
    #[inline]
    pub fn block_txs(&self, b: u32) -> Range<u32> {
        range_of(self.blk_first_tx, b as usize, self.counts.txs)
    }

    /// The address ids first seen in the block at row `b`.
    #[inline]
    pub fn block_addrs(&self, b: u32) -> Range<u32> {
        range_of(self.blk_first_addr, b as usize, self.counts.addrs)
    }
}

impl Store {
    /// Zero-copy views of the committed columns.
    pub fn columns(&self) -> Columns<'_> {
        let t = self.tables();
        let c = self.counts();
        Columns {
            blk_first_tx: &t.blk_first_tx.as_slice()[..c.blocks as usize],
            blk_first_addr: &t.blk_first_addr.as_slice()[..c.blocks as usize],
            tx_first_in: &t.tx_first_in.as_slice()[..c.txs as usize],
            tx_first_out: &t.tx_first_out.as_slice()[..c.txs as usize],
            tx_version: &t.tx_version.as_slice()[..c.txs as usize],
            tx_lock_time: &t.tx_lock_time.as_slice()[..c.txs as usize],
            in_prevout: &t.in_prevout.as_slice()[..c.inputs as usize],
            out_value: &t.out_value.as_slice()[..c.outputs as usize],
            out_addr: &t.out_addr.as_slice()[..c.outputs as usize],
            addr_kind: &t.addr_kind.as_slice()[..c.addrs as usize],
            addr_first_out: &t.addr_first_out.as_slice()[..c.addrs as usize],
            ext_output: &t.ext_output.as_slice()[..c.value_exts as usize],
            ext_value: &t.ext_value.as_slice()[..c.value_exts as usize],
            out_spent_by: &t.out_spent_by.as_slice()[..c.outputs as usize],
            counts: c,
        }
    }
}

/// Hints the CPU to bring `s[i]` into the cache; a no-op if `i` is out of
/// bounds or off x86-64. Never reads `s[i]` (a prefetch cannot fault).
#[inline(always)]
pub fn prefetch<T>(s: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if i < s.len() {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is only a hint: it does not dereference the
        // pointer (and `i` is in bounds anyway), so it cannot fault or
        // change memory. SSE is part of the x86-64 baseline.
        #[allow(unused_unsafe)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(s.as_ptr().add(i).cast::<i8>());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (s, i);
}
