//! [`Frontier`]: the pending items of a trace, a monotone priority queue
//! (radix heap) of `(order, value)` pairs. A trace only ever adds keys
//! greater than the last one taken (value moves to later transactions
//! forward, earlier ones backward), which is what a radix heap needs; it
//! then costs O(1) per push and amortized O(log key range) bit operations
//! per pop, with no comparisons along a tree of the whole frontier.

/// A min-queue of `(order, value)` pairs whose pushes are never below the
/// floor (see [`Frontier::push`]). The trace queues slab slots as values.
#[derive(Debug)]
pub(crate) struct Frontier<T> {
    /// Bucket `b` holds the entries whose order differs from `last` first
    /// at bit `b - 1` (bucket 0: equal to `last`).
    buckets: [Vec<(u32, T)>; 33],
    /// The floor: no entry is below it (0 before the first pop).
    last: u32,
    len: usize,
}

impl<T> Default for Frontier<T> {
    fn default() -> Frontier<T> {
        Frontier {
            buckets: std::array::from_fn(|_| Vec::new()),
            last: 0,
            len: 0,
        }
    }
}

/// The bucket of `order` relative to `last`.
#[inline]
fn bucket(order: u32, last: u32) -> usize {
    (32 - (order ^ last).leading_zeros()) as usize
}

impl<T: Copy> Frontier<T> {
    /// Entries queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Queues `value` at `order`, which must not be below the floor: the
    /// last order popped or `limit` of the last [`Frontier::pop_below`]
    /// that found nothing below it (debug builds check).
    #[inline]
    pub fn push(&mut self, order: u32, value: T) {
        debug_assert!(order >= self.last, "monotone pushes");
        self.buckets[bucket(order, self.last)].push((order, value));
        self.len += 1;
    }

    /// Removes and returns an entry with the smallest order if that order
    /// is below `limit`. Never moves the floor for later pushes above
    /// `limit`: pushes of orders at or above `limit` stay valid.
    pub fn pop_below(&mut self, limit: u64) -> Option<(u32, T)> {
        loop {
            if !self.buckets[0].is_empty() {
                // Bucket 0 holds entries equal to `last`.
                if u64::from(self.last) >= limit {
                    return None;
                }
                self.len -= 1;
                return self.buckets[0].pop();
            }
            let b = (1..self.buckets.len()).find(|&b| !self.buckets[b].is_empty())?;
            // Entries of bucket b agree with `last` above bit b - 1 and have
            // that bit set.
            let low = ((u64::from(self.last) >> (b - 1)) | 1) << (b - 1);
            if low >= limit {
                return None;
            }
            let mut moved = std::mem::take(&mut self.buckets[b]);
            let min = moved.iter().map(|e| e.0).min().expect("non-empty");
            // A floor between `low` and `min`: every entry of bucket b lands
            // below b, the other buckets keep their entries.
            let last = u64::from(min).min(limit) as u32;
            self.last = last;
            for &(o, v) in &moved {
                self.buckets[bucket(o, last)].push((o, v));
            }
            moved.clear();
            if self.buckets[b].is_empty() {
                self.buckets[b] = moved;
            }
        }
    }

    /// The smallest order queued, if any.
    pub fn peek(&mut self) -> Option<u32> {
        let e = self.pop_below(1 << 32)?;
        self.buckets[0].push(e);
        self.len += 1;
        Some(e.0)
    }

    /// Every entry queued, in no particular order; leaves the queue empty.
    pub fn drain(&mut self) -> Vec<(u32, T)> {
        self.len = 0;
        self.buckets.iter_mut().flat_map(|b| b.drain(..)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Frontier;
    use proptest::prelude::*;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    proptest! {
        /// Same pops as a binary heap under monotone pushes.
        #[test]
        fn pops_like_a_heap(ops in prop::collection::vec((0u32..3, 0u32..1000, any::<bool>()), 1..300)) {
            let mut f: Frontier<u32> = Frontier::default();
            let mut h = BinaryHeap::new();
            let mut last = 0u32;
            let mut slot = 0u32;
            for (n, step, pop) in ops {
                for k in 0..n {
                    let order = last.saturating_add(step * (k + 1)).min(u32::MAX - 1) + u32::from(step % 7 == 0);
                    f.push(order, slot);
                    h.push(Reverse((order, slot)));
                    slot += 1;
                }
                prop_assert_eq!(f.len(), h.len());
                if pop {
                    let want = h.peek().map(|Reverse((o, _))| *o);
                    prop_assert_eq!(f.peek(), want);
                    // Pop everything below a limit, as a trace takes one
                    // transaction's items; later pushes start at the limit.
                    let limit = u64::from(want.unwrap_or(last).max(last)) + 1 + u64::from(step);
                    while let Some((o, _)) = f.pop_below(limit) {
                        let Reverse((w, _)) = h.pop().unwrap();
                        // Equal orders may come out in any slot order.
                        prop_assert_eq!(o, w);
                        prop_assert!(u64::from(o) < limit);
                    }
                    prop_assert!(h.peek().is_none_or(|Reverse((o, _))| u64::from(*o) >= limit));
                    last = last.max(limit.min(u64::from(u32::MAX - 3)) as u32);
                }
            }
            let mut rest = f.drain();
            rest.sort_unstable();
            let mut want: Vec<(u32, u32)> = h.into_iter().map(|Reverse(e)| e).collect();
            want.sort_unstable();
            prop_assert_eq!(rest.iter().map(|e| e.0).collect::<Vec<_>>(), want.iter().map(|e| e.0).collect::<Vec<_>>());
            prop_assert_eq!(f.len(), 0);
        }
    }
}
