//! [`RankedBits`]: a set of integers as one bit each, with the count of
//! members before every word, so that a member's position among the members
//! (an index into a parallel array) costs two reads and a popcount. Used for
//! the attributed addresses, the CoinJoins and the forward sweep's marks.

/// A set over `0..n`, built in increasing order, answering membership and
/// rank.
#[derive(Debug, Default, Clone)]
pub(crate) struct RankedBits {
    bits: Vec<u64>,
    /// Per word holding a member: the members before it.
    rank: Vec<u32>,
    len: u32,
}

impl RankedBits {
    /// An empty set over `0..n` (allocated zeroed: pages never written are
    /// never backed).
    pub fn new(n: usize) -> RankedBits {
        let words = n.div_ceil(64);
        RankedBits {
            bits: vec![0; words],
            rank: vec![0; words],
            len: 0,
        }
    }

    /// The set of `members` (strictly increasing, below `n`).
    pub fn from_increasing(n: usize, members: impl IntoIterator<Item = usize>) -> RankedBits {
        let mut s = RankedBits::new(n);
        for m in members {
            s.push(m);
        }
        s
    }

    /// Whether `i` fits the set's range.
    #[cfg(test)]
    pub fn covers(&self, i: usize) -> bool {
        i / 64 < self.bits.len()
    }

    /// Adds `i`, which must be in range and greater than every member.
    #[inline]
    pub fn push(&mut self, i: usize) {
        let w = i / 64;
        if self.bits[w] == 0 {
            self.rank[w] = self.len;
        }
        debug_assert!(self.bits[w] >> (i % 64) == 0, "members in increasing order");
        self.bits[w] |= 1 << (i % 64);
        self.len += 1;
    }

    /// Whether `i` is a member.
    #[inline]
    pub fn contains(&self, i: usize) -> bool {
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// The number of members below `i`, if `i` is one.
    #[inline]
    pub fn index_of(&self, i: usize) -> Option<usize> {
        let w = i / 64;
        let word = *self.bits.get(w)?;
        let bit = 1u64 << (i % 64);
        if word & bit == 0 {
            return None;
        }
        Some(self.rank[w] as usize + (word & (bit - 1)).count_ones() as usize)
    }

    /// A hint that [`RankedBits::index_of`] of `i` is about to be asked:
    /// fetches its bit word and its rank.
    #[inline]
    pub fn prefetch(&self, i: usize) {
        chainhound_store::prefetch(&self.bits, i / 64);
        chainhound_store::prefetch(&self.rank, i / 64);
    }

    /// The members, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let b = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                Some(w * 64 + b)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::RankedBits;
    use proptest::prelude::*;

    proptest! {
        /// Membership and rank as a sorted list gives them.
        #[test]
        fn ranks_like_a_sorted_list(mut set in prop::collection::btree_set(0usize..5000, 0..300)) {
            set.insert(0);
            let list: Vec<usize> = set.into_iter().collect();
            let s = RankedBits::from_increasing(5000, list.iter().copied());
            for i in 0..5100 {
                let want = list.binary_search(&i).ok();
                prop_assert_eq!(s.index_of(i), want);
                prop_assert_eq!(s.contains(i), want.is_some());
            }
            prop_assert_eq!(s.iter().collect::<Vec<_>>(), list);
        }
    }
}
