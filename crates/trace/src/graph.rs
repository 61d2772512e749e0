//! The transaction graph as the taint models see it: dense transaction,
//! input and output numbers, values, and links both ways. The store
//! implements it over its columns; tests implement it over random graphs.

use std::ops::Range;

use chainhound_store::{Columns, Store, COINBASE};

/// Read access to a transaction graph whose transaction numbers are a
/// topological order (every input spends an output of an earlier
/// transaction).
pub(crate) trait TxGraph {
    /// Inputs of transaction `t`.
    fn inputs(&self, t: u32) -> Range<u32>;
    /// Outputs of transaction `t`.
    fn outputs(&self, t: u32) -> Range<u32>;
    /// The output input `i` spends, if it is a stored output.
    fn prevout(&self, i: u32) -> Prev;
    /// The input spending output `o`, if any.
    fn spender(&self, o: u32) -> Option<u32>;
    /// The stored link of output `o` to its spender, unchecked: a `Some`
    /// must be confirmed by `prevout(i) == Prev::Output(o)` (cheaper when
    /// the input is read anyway later); `None` means unspent.
    fn spender_link(&self, o: u32) -> Option<u32>;
    /// A hint that the outputs in `outs` are about to be read.
    fn prefetch_outputs(&self, _outs: Range<u32>) {}
    /// A hint that the value of output `o` is about to be read.
    fn prefetch_value(&self, _o: u32) {}
    /// Transaction of input `i`.
    fn tx_of_input(&self, i: u32) -> u32;
    /// Transaction of input `i`, known to be transaction `from` or a later
    /// one: a search from `from` outward, cheap when the answer is near.
    fn tx_of_input_from(&self, i: u32, from: u32) -> u32;
    /// Transaction of output `o`.
    fn tx_of_output(&self, o: u32) -> u32;
    /// Value of output `o`.
    fn value(&self, o: u32) -> u64;
    /// Value input `i` spends (0 for a coinbase or unresolved funding).
    #[inline]
    fn funding_value(&self, i: u32) -> u64 {
        match self.prevout(i) {
            Prev::Output(o) => self.value(o),
            _ => 0,
        }
    }
    /// Inputs in the graph (ids are below it).
    fn n_inputs(&self) -> u32;
    /// Outputs in the graph.
    fn n_outputs(&self) -> u32;
}

/// What an input spends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Prev {
    Output(u32),
    Coinbase,
    /// Funding output outside the store (value unknown).
    Unresolved,
}

/// The store's columns as a [`TxGraph`].
pub(crate) struct StoreGraph<'a> {
    pub cols: Columns<'a>,
}

impl<'a> StoreGraph<'a> {
    pub fn new(store: &'a Store) -> StoreGraph<'a> {
        StoreGraph {
            cols: store.columns(),
        }
    }
}

/// Index of the range `first[k]..first[k+1]` holding `x` (first is sorted).
fn owner(first: &[u32], x: u32) -> u32 {
    (first.partition_point(|&f| f <= x) - 1) as u32
}

/// [`owner`] for an `x` whose range is at index `from` or later
/// (`first[from] <= x`): exponential search from `from`, then a binary
/// search in the window found. Same answer as `owner(first, x)`.
fn owner_from(first: &[u32], x: u32, from: u32) -> u32 {
    let lo = from as usize;
    if lo >= first.len() || first[lo] > x {
        return owner(first, x);
    }
    // first[lo + step / 2] <= x throughout; stop once first[lo + step] > x.
    let mut step = 1;
    let mut base = lo;
    while base + step < first.len() && first[base + step] <= x {
        base += step;
        step *= 2;
    }
    let end = (base + step).min(first.len());
    (base + first[base..end].partition_point(|&f| f <= x) - 1) as u32
}

impl TxGraph for StoreGraph<'_> {
    #[inline]
    fn inputs(&self, t: u32) -> Range<u32> {
        self.cols.tx_inputs(t)
    }
    #[inline]
    fn outputs(&self, t: u32) -> Range<u32> {
        self.cols.tx_outputs(t)
    }
    #[inline]
    fn prevout(&self, i: u32) -> Prev {
        match self.cols.in_prevout[i as usize] {
            COINBASE => Prev::Coinbase,
            o if o < self.cols.counts().outputs => Prev::Output(o),
            _ => Prev::Unresolved,
        }
    }
    #[inline]
    fn spender(&self, o: u32) -> Option<u32> {
        self.cols.spender(o)
    }
    #[inline]
    fn spender_link(&self, o: u32) -> Option<u32> {
        self.cols.spender_link(o)
    }
    #[inline]
    fn prefetch_outputs(&self, outs: Range<u32>) {
        self.cols.prefetch_outputs(outs)
    }
    #[inline]
    fn prefetch_value(&self, o: u32) {
        chainhound_store::prefetch(self.cols.out_value, o as usize)
    }
    #[inline]
    fn tx_of_input(&self, i: u32) -> u32 {
        owner(self.cols.tx_first_in, i)
    }
    #[inline]
    fn tx_of_input_from(&self, i: u32, from: u32) -> u32 {
        owner_from(self.cols.tx_first_in, i, from)
    }
    #[inline]
    fn tx_of_output(&self, o: u32) -> u32 {
        owner(self.cols.tx_first_out, o)
    }
    #[inline]
    fn value(&self, o: u32) -> u64 {
        self.cols.value(o)
    }
    fn n_inputs(&self) -> u32 {
        self.cols.counts().inputs
    }
    fn n_outputs(&self) -> u32 {
        self.cols.counts().outputs
    }
}

/// An in-memory graph (tests and property tests).
#[cfg(test)]
#[derive(Clone, Debug, Default)]
pub(crate) struct MemGraph {
    /// Per transaction: first input, first output (plus a final sentinel).
    pub first_in: Vec<u32>,
    pub first_out: Vec<u32>,
    pub prevout: Vec<Prev>,
    pub spent_by: Vec<Option<u32>>,
    pub values: Vec<u64>,
}

#[cfg(test)]
impl MemGraph {
    /// Appends a transaction spending `ins` (outputs) and creating `outs`
    /// (values); returns its number.
    pub fn push(&mut self, ins: &[Prev], outs: &[u64]) -> u32 {
        if self.first_in.is_empty() {
            self.first_in.push(0);
            self.first_out.push(0);
        }
        let t = (self.first_in.len() - 1) as u32;
        for p in ins {
            let i = self.prevout.len() as u32;
            if let Prev::Output(o) = p {
                assert!(self.spent_by[*o as usize].is_none(), "double spend");
                self.spent_by[*o as usize] = Some(i);
            }
            self.prevout.push(*p);
        }
        for v in outs {
            self.values.push(*v);
            self.spent_by.push(None);
        }
        self.first_in.push(self.prevout.len() as u32);
        self.first_out.push(self.values.len() as u32);
        t
    }
}

#[cfg(test)]
impl TxGraph for MemGraph {
    fn inputs(&self, t: u32) -> Range<u32> {
        self.first_in[t as usize]..self.first_in[t as usize + 1]
    }
    fn outputs(&self, t: u32) -> Range<u32> {
        self.first_out[t as usize]..self.first_out[t as usize + 1]
    }
    fn prevout(&self, i: u32) -> Prev {
        self.prevout[i as usize]
    }
    fn spender(&self, o: u32) -> Option<u32> {
        self.spender_link(o)
            .filter(|&i| self.prevout[i as usize] == Prev::Output(o))
    }
    fn spender_link(&self, o: u32) -> Option<u32> {
        self.spent_by[o as usize]
    }
    fn tx_of_input(&self, i: u32) -> u32 {
        owner(&self.first_in[..self.first_in.len() - 1], i)
    }
    fn tx_of_input_from(&self, i: u32, from: u32) -> u32 {
        owner_from(&self.first_in[..self.first_in.len() - 1], i, from)
    }
    fn tx_of_output(&self, o: u32) -> u32 {
        owner(&self.first_out[..self.first_out.len() - 1], o)
    }
    fn value(&self, o: u32) -> u64 {
        self.values[o as usize]
    }
    fn n_inputs(&self) -> u32 {
        self.prevout.len() as u32
    }
    fn n_outputs(&self) -> u32 {
        self.values.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::{owner, owner_from};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn owner_from_agrees_with_owner(
            lens in prop::collection::vec(0u32..4, 1..200),
            pick in any::<prop::sample::Index>(),
            back in 0usize..50,
        ) {
            // Range starts with empty ranges (transactions without inputs).
            let mut first = vec![0u32];
            for l in &lens[..lens.len() - 1] {
                first.push(first.last().unwrap() + l);
            }
            let total = first.last().unwrap() + lens.last().unwrap();
            prop_assume!(total > 0);
            let x = pick.index(total as usize) as u32;
            let want = owner(&first, x);
            let from = (want as usize).saturating_sub(back) as u32;
            prop_assert_eq!(owner_from(&first, x, from), want);
        }
    }
}
