//! Seeded randomness and derived key material.
//!
//! Every random choice of a run comes from one ChaCha8 stream seeded from
//! `SimConfig::seed`, consumed in a fixed order, so a config always produces
//! the same bytes. Keys are not random draws: a key is a pure function of the
//! seed and the address number, so the simulator never stores them.

use rand::{Rng as _, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The run's random stream.
pub(crate) struct Rng(ChaCha8Rng);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// Uniform in `0..n`; `n` must be positive.
    #[inline]
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0.gen_range(0..n)
    }

    /// Uniform index into a slice of length `n > 0`.
    #[inline]
    pub(crate) fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    #[inline]
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.0.gen_range(lo..=hi)
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    pub(crate) fn unit(&mut self) -> f64 {
        self.0.gen::<f64>()
    }

    /// Uniform in `[lo, hi)`.
    #[inline]
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// True with probability `p`.
    #[inline]
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Log-uniform in `[lo, hi]` (both positive): small amounts are as
    /// likely per decade as large ones, like real payment sizes.
    pub(crate) fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let (a, b) = ((lo.max(1) as f64).ln(), (hi.max(1) as f64).ln());
        let v = (a + (b - a) * self.unit()).exp() as u64;
        v.clamp(lo, hi.max(lo))
    }

    /// A standard normal draw (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Exponential with the given mean.
    pub(crate) fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// Index drawn with probability proportional to `weights`.
    pub(crate) fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// Fills `buf` with random bytes.
    #[inline]
    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        self.0.fill_bytes(buf)
    }

    /// A random 64-bit word.
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Fisher–Yates shuffle.
    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.index(i + 1);
            v.swap(i, j);
        }
    }
}

/// splitmix64's finalizer: a bijection on `u64` that mixes well.
#[inline]
pub(crate) fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Key material derived from the seed: a key is a function of
/// `(address number, key index)`. Distinct inputs give distinct 64-bit words
/// (the derivation is a bijection), so no two addresses share a key.
#[derive(Clone)]
pub(crate) struct Keys {
    base: u64,
}

impl Keys {
    pub(crate) fn new(seed: u64) -> Keys {
        Keys {
            base: mix64(seed ^ 0x6b65_7973_2d63_6868),
        }
    }

    #[inline]
    fn word(&self, id: u32, n: u8, i: u8) -> u64 {
        let x = (u64::from(id) << 16) | (u64::from(n) << 8) | u64::from(i);
        mix64(
            self.base
                .wrapping_add(x.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        )
    }

    /// 32 key bytes for address `id`, key index `n`.
    pub(crate) fn bytes32(&self, id: u32, n: u8) -> [u8; 32] {
        let mut out = [0u8; 32];
        for i in 0..4u8 {
            let w = self.word(id, n, i).to_le_bytes();
            out[usize::from(i) * 8..usize::from(i) * 8 + 8].copy_from_slice(&w);
        }
        out
    }

    /// A compressed-public-key-shaped string (02/03 prefix + 32 bytes). No
    /// EC math: nobody verifies the simulated signatures.
    pub(crate) fn pubkey(&self, id: u32, n: u8) -> [u8; 33] {
        let b = self.bytes32(id, n);
        let mut pk = [0u8; 33];
        pk[0] = 2 | (b[31] & 1);
        pk[1..].copy_from_slice(&b);
        pk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(7).next_u64(), Rng::new(8).next_u64());
    }

    #[test]
    fn keys_are_distinct_and_stable() {
        let k = Keys::new(1);
        assert_eq!(k.bytes32(5, 0), Keys::new(1).bytes32(5, 0));
        assert_ne!(k.bytes32(5, 0), k.bytes32(6, 0));
        assert_ne!(k.bytes32(5, 0), k.bytes32(5, 1));
        let pk = k.pubkey(3, 0);
        assert!(pk[0] == 2 || pk[0] == 3);
    }

    #[test]
    fn log_uniform_stays_in_range() {
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            let v = r.log_uniform(1_000, 1_000_000);
            assert!((1_000..=1_000_000).contains(&v));
        }
    }
}
