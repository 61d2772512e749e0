//! [`IdHasher`]: a hash for tables keyed by dense ids this project assigns.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A multiplicative hasher for keys made of ids ChainHound assigns (never
/// chosen by the chain or a caller, so no one can aim collisions at it):
/// one rotate, xor and multiply per word, the well-mixed high bits brought
/// down for the table's index.
#[derive(Default, Clone, Copy, Debug)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        // Tables index by the low bits; the product's high bits carry every
        // input bit.
        self.0.rotate_left(26)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    #[inline]
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A hash map over [`IdHasher`].
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differing_in_high_bits_spread_over_low_bits() {
        // Keys that differ only above bit 8 still land in distinct buckets
        // of a small table.
        let idx = |k: u64| {
            let mut h = IdHasher::default();
            h.write_u64(k << 8);
            h.finish() & 255
        };
        let buckets: std::collections::HashSet<u64> = (0..256).map(idx).collect();
        assert!(buckets.len() > 128, "{}", buckets.len());
    }
}
