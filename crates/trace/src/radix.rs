//! [`sort_by_key`]: a stable least-significant-digit radix sort by a `u64`
//! key, for the report's large sorts (tens of thousands of ends and
//! destinations), where comparison sorts spend most of their time on
//! branches. Digits that are the same in every key (the high bits of small
//! keys) cost nothing.

/// Bits per digit: a count table of 2,048 entries stays in the L1 cache.
const DIGIT: u32 = 11;

/// Sorts `v` by `key`, stably (equal keys keep their order).
pub(crate) fn sort_by_key<T: Copy + Default>(v: &mut Vec<T>, key: impl Fn(&T) -> u64) {
    if v.len() < 2 {
        return;
    }
    // The bits that differ between keys: only their digits need a pass.
    let (mut all_or, mut all_and) = (0u64, u64::MAX);
    for x in v.iter() {
        let k = key(x);
        all_or |= k;
        all_and &= k;
    }
    let varying = all_or ^ all_and;
    let mut tmp = vec![T::default(); v.len()];
    let mask = (1u64 << DIGIT) - 1;
    let mut shift = 0;
    while shift < 64 {
        if (varying >> shift) & mask != 0 {
            let mut counts = [0usize; (1 << DIGIT) + 1];
            for x in v.iter() {
                counts[((key(x) >> shift) & mask) as usize + 1] += 1;
            }
            for d in 1..counts.len() {
                counts[d] += counts[d - 1];
            }
            for x in v.iter() {
                let d = ((key(x) >> shift) & mask) as usize;
                tmp[counts[d]] = *x;
                counts[d] += 1;
            }
            std::mem::swap(v, &mut tmp);
        }
        shift += DIGIT;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// The same order as the standard stable sort.
        #[test]
        fn sorts_like_a_stable_sort(
            keys in prop::collection::vec(prop_oneof![0u64..50, 0u64..=u64::MAX, (u64::MAX - 100)..=u64::MAX], 0..600),
        ) {
            let mut v: Vec<(u64, u32)> = keys.iter().enumerate().map(|(k, &x)| (x, k as u32)).collect();
            let mut want = v.clone();
            want.sort_by_key(|p| p.0);
            super::sort_by_key(&mut v, |p| p.0);
            prop_assert_eq!(v, want);
        }
    }
}
