//! Amounts in satoshis.

use std::fmt;
use std::iter::Sum;
use std::ops::Add;

/// The most satoshis that can ever exist: 21 million BTC.
pub const MAX_MONEY: u64 = 21_000_000 * 100_000_000;

/// An amount in satoshis. Never a float; sums saturate rather than wrap, and
/// consensus-invalid values above [`MAX_MONEY`] are still representable because
/// readers must accept what is on disk and report it, not crash on it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sats(pub u64);

impl Sats {
    /// Zero satoshis.
    pub const ZERO: Sats = Sats(0);

    /// Checked subtraction.
    pub fn checked_sub(self, rhs: Sats) -> Option<Sats> {
        self.0.checked_sub(rhs.0).map(Sats)
    }

    /// The value in whole BTC, formatted with 8 decimals (exact: no floats).
    pub fn btc_string(self) -> String {
        format!("{}.{:08}", self.0 / 100_000_000, self.0 % 100_000_000)
    }
}

impl Add for Sats {
    type Output = Sats;
    fn add(self, rhs: Sats) -> Sats {
        Sats(self.0.saturating_add(rhs.0))
    }
}

impl Sum for Sats {
    fn sum<I: Iterator<Item = Sats>>(iter: I) -> Sats {
        iter.fold(Sats::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Sats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} BTC", self.btc_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btc_string_is_exact() {
        assert_eq!(Sats(1).btc_string(), "0.00000001");
        assert_eq!(Sats(5_000_000_000).btc_string(), "50.00000000");
        assert_eq!(Sats(MAX_MONEY).btc_string(), "21000000.00000000");
    }

    #[test]
    fn sums_saturate() {
        assert_eq!(Sats(u64::MAX) + Sats(1), Sats(u64::MAX));
        let total: Sats = [Sats(1), Sats(2), Sats(3)].into_iter().sum();
        assert_eq!(total, Sats(6));
    }
}
