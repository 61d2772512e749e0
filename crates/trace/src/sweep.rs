//! The bookkeeping of the forward sweep ([`crate::trace`]): a forward trace
//! reads the inputs after its sources in chain order and stops at each
//! one that spends a tainted output. Two structures make that cheap:
//!
//! * [`Marks`]: the tainted outputs with their items, as one bit per output
//!   plus the items in output order. Outputs are marked in increasing
//!   order (a transaction's outputs come after those of every earlier
//!   one), so an item is found by counting marks: one read of a bitmap
//!   that stays in the cache, no hashing, no queue.
//! * [`Spends`]: the inputs linked to spend marked outputs, one bit each,
//!   with a count per stretch of inputs so that empty stretches are
//!   skipped whole.
//!
//! Both are sized by the outputs and inputs after the first source; their
//! memory is allocated zeroed and only the parts a trace touches are ever
//! written (the rest is never backed by physical pages).

use crate::bits::RankedBits;

/// Tainted outputs and their items, in output order.
#[derive(Debug)]
pub(crate) struct Marks<T> {
    /// The first output that may be marked.
    base: u32,
    /// The marked outputs, less `base`.
    set: RankedBits,
    /// The item of each mark, in output order.
    items: Vec<T>,
    /// The last marked output (marks only increase).
    last: Option<u32>,
}

impl<T> Marks<T> {
    /// Room for marks on outputs `base..end`.
    pub fn new(base: u32, end: u32) -> Marks<T> {
        Marks::with_items(base, end, Vec::new())
    }

    /// [`Marks::new`], keeping the items in `items` (cleared first): a
    /// buffer of an earlier trace, whose memory is already mapped.
    pub fn with_items(base: u32, end: u32, mut items: Vec<T>) -> Marks<T> {
        items.clear();
        Marks {
            base,
            set: RankedBits::new(end.saturating_sub(base) as usize),
            items,
            last: None,
        }
    }

    /// The items' buffer, for [`Marks::with_items`].
    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    /// Whether `o` can be marked: in range and past the last mark.
    #[cfg(test)]
    pub fn can_mark(&self, o: u32) -> bool {
        o >= self.base
            && self.set.covers((o - self.base) as usize)
            && self.last.is_none_or(|l| o > l)
    }

    /// Marks `o` with `item`: `o` must be in range and past the last mark
    /// (else this panics).
    #[inline(always)]
    pub fn mark(&mut self, o: u32, item: T) {
        // (Past the range, the bit's index panics.)
        let x = o.checked_sub(self.base).expect("a mark in range");
        assert!(
            self.last.is_none_or(|l| o > l),
            "marks in increasing output order"
        );
        self.set.push(x as usize);
        self.items.push(item);
        self.last = Some(o);
    }

    /// The item of `o`, if it is marked.
    #[inline]
    pub fn get_mut(&mut self, o: u32) -> Option<&mut T> {
        let k = self.set.index_of(o.wrapping_sub(self.base) as usize)?;
        self.items.get_mut(k)
    }

    /// A hint that the item of `o` (if marked) is about to be read.
    #[inline]
    pub fn prefetch(&self, o: u32) {
        if let Some(k) = self.set.index_of(o.wrapping_sub(self.base) as usize) {
            chainhound_store::prefetch(&self.items, k);
        }
    }

    /// Whether `o` is marked (the sweep's test of every input).
    #[inline]
    pub fn contains(&self, o: u32) -> bool {
        self.set.contains(o.wrapping_sub(self.base) as usize)
    }

    /// Every mark and its item, in output order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> + '_ {
        let base = self.base;
        self.set
            .iter()
            .map(move |x| base + x as u32)
            .zip(&self.items)
    }
}

/// Inputs per stretch of [`Spends`] (a multiple of 64).
const STRETCH: u32 = 1 << 12;

/// The inputs that marked outputs are linked to be spent by, as one bit
/// per input, with a count per stretch of [`STRETCH`] inputs so that empty
/// stretches are skipped whole: a monotone queue of inputs whose pushes
/// and pops are a bit each.
#[derive(Debug)]
pub(crate) struct Spends {
    /// The first input covered.
    base: u32,
    bits: Vec<u64>,
    counts: Vec<u32>,
    /// Pending outputs in all (links to one input count each).
    pending: u64,
}

impl Spends {
    /// Room for inputs `base..end`.
    pub fn new(base: u32, end: u32) -> Spends {
        let n = end.saturating_sub(base);
        Spends {
            base,
            bits: vec![0; (n as usize).div_ceil(64)],
            counts: vec![0; (n / STRETCH) as usize + 1],
            pending: 0,
        }
    }

    /// Pending outputs.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// An output linked to be spent by input `i` (in `base..end`) is
    /// pending.
    pub fn add(&mut self, i: u32) {
        let x = i - self.base;
        self.bits[(x / 64) as usize] |= 1 << (x % 64);
        self.counts[(x / STRETCH) as usize] += 1;
        self.pending += 1;
    }

    /// The pending output input `i` spends was taken.
    pub fn remove(&mut self, i: u32) {
        let x = i - self.base;
        self.bits[(x / 64) as usize] &= !(1 << (x % 64));
        let c = &mut self.counts[(x / STRETCH) as usize];
        *c = c.saturating_sub(1);
        self.pending = self.pending.saturating_sub(1);
    }

    /// The first input at or past `i` that a pending output is linked to.
    pub fn next_from(&self, i: u32) -> Option<u32> {
        let mut x = i.max(self.base) - self.base;
        loop {
            let s = (x / STRETCH) as usize;
            if *self.counts.get(s)? == 0 {
                // Skip to the next stretch with a count.
                let k = s + 1 + self.counts.get(s + 1..)?.iter().position(|&c| c > 0)?;
                x = u32::try_from(k).ok()?.checked_mul(STRETCH)?;
            }
            // Words up to the end of this stretch.
            let end_word = ((u64::from(x / STRETCH) + 1) * u64::from(STRETCH / 64))
                .min(self.bits.len() as u64) as usize;
            let mut w = (x / 64) as usize;
            let mut word = self.bits.get(w)? & (!0u64 << (x % 64));
            loop {
                if word != 0 {
                    return Some(self.base + (w * 64) as u32 + word.trailing_zeros());
                }
                w += 1;
                if w >= end_word {
                    break;
                }
                word = self.bits[w];
            }
            // The count came from links already passed (or several links
            // to one input): on to the next stretch.
            x = (x / STRETCH).checked_add(1)?.checked_mul(STRETCH)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        /// Marks answer like a map of the marked outputs.
        #[test]
        fn marks_are_a_map(base in 0u32..1000, steps in prop::collection::vec(1u32..200, 0..300)) {
            let end = base + steps.iter().sum::<u32>() + 1;
            let mut m = Marks::new(base, end);
            let mut want = BTreeMap::new();
            let mut o = base;
            for (k, s) in steps.iter().enumerate() {
                o += s - 1;
                prop_assert!(m.can_mark(o));
                m.mark(o, k);
                want.insert(o, k);
                prop_assert!(!m.can_mark(o));
                o += 1;
            }
            for x in base.saturating_sub(5)..end + 70 {
                prop_assert_eq!(m.get_mut(x).copied(), want.get(&x).copied());
                prop_assert_eq!(m.contains(x), want.contains_key(&x));
            }
            let all: Vec<(u32, usize)> = m.iter().map(|(o, &k)| (o, k)).collect();
            prop_assert_eq!(all, want.into_iter().collect::<Vec<_>>());
        }

        /// `next_from` finds the first pending input at or past a point.
        #[test]
        fn spends_find_the_next_pending_input(
            base in 0u32..10_000,
            adds in prop::collection::vec(0u32..100_000, 0..20),
            removes in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
            from in 0u32..120_000,
        ) {
            let end = base + 100_000;
            let mut s = Spends::new(base, end);
            let mut want: Vec<u32> = Vec::new();
            for &a in &adds {
                s.add(base + a);
                want.push(base + a);
            }
            prop_assert_eq!(s.pending(), adds.len() as u64);
            for r in &removes {
                if want.is_empty() {
                    break;
                }
                let i = want.swap_remove(r.index(want.len()));
                // Links to one input count each; its bit goes with the first.
                if !want.contains(&i) {
                    s.remove(i);
                } else {
                    want.push(i);
                }
            }
            let next = want.iter().copied().filter(|&i| i >= from).min();
            prop_assert_eq!(s.next_from(from), next);
        }
    }
}
