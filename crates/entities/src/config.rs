//! What to cluster with: the heuristics, CoinJoin detection thresholds and
//! the supercluster guard. A [`Config`] is a plain struct (no boolean
//! parameters anywhere); [`Config::default`] is the conservative choice:
//! common-input ownership only, because every change heuristic buys recall
//! with precision.

use std::fmt;

use crate::error::{EntitiesError, Result};

/// Why two addresses were put into one entity: the heuristic behind a
/// recorded union. The numbers are stored on disk and never change.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Heuristic {
    /// Common-input ownership: both addresses fund inputs of one
    /// transaction that is not a CoinJoin (Nakamoto 2008 §10; Meiklejohn et
    /// al. 2013 heuristic 1).
    MultiInput = 1,
    /// Change by address type: every input has one script type and exactly
    /// one output has it too.
    ChangeType = 2,
    /// One-time change: exactly one output goes to an address never seen
    /// before, every other output to an address seen before (Meiklejohn et
    /// al. 2013 heuristic 2).
    ChangeFresh = 3,
    /// Round amounts: every output but one is a round amount (payments are);
    /// the odd one out is change.
    ChangeRound = 4,
    /// Optimal change: exactly one output is smaller than every input (a
    /// wallet would not have added an input it did not need; Nick 2015).
    ChangeOptimal = 5,
    /// Peel chain: a one-input, two-output transaction whose larger output is
    /// spent by another one-input, two-output transaction, while the other
    /// output was not spent that way before it.
    ChangePeel = 6,
}

impl Heuristic {
    /// Every heuristic, in evaluation order.
    pub const ALL: [Heuristic; 6] = [
        Heuristic::MultiInput,
        Heuristic::ChangeType,
        Heuristic::ChangeFresh,
        Heuristic::ChangeRound,
        Heuristic::ChangeOptimal,
        Heuristic::ChangePeel,
    ];

    /// The change heuristics, in the order they are consulted.
    pub const CHANGE: [Heuristic; 5] = [
        Heuristic::ChangeType,
        Heuristic::ChangeFresh,
        Heuristic::ChangeRound,
        Heuristic::ChangeOptimal,
        Heuristic::ChangePeel,
    ];

    /// The name used on the command line, in JSON and in explanations.
    pub fn name(self) -> &'static str {
        match self {
            Heuristic::MultiInput => "multi-input",
            Heuristic::ChangeType => "change-type",
            Heuristic::ChangeFresh => "change-fresh",
            Heuristic::ChangeRound => "change-round",
            Heuristic::ChangeOptimal => "change-optimal",
            Heuristic::ChangePeel => "change-peel",
        }
    }

    /// Decodes the on-disk byte.
    pub fn from_u8(b: u8) -> Option<Heuristic> {
        Heuristic::ALL.into_iter().find(|h| *h as u8 == b)
    }

    /// One sentence for an explanation.
    pub fn describe(self) -> &'static str {
        match self {
            Heuristic::MultiInput => "both addresses fund inputs of this transaction (common-input ownership; it is not a CoinJoin)",
            Heuristic::ChangeType => "the second address is the only output of the inputs' script type (change by address type)",
            Heuristic::ChangeFresh => "the second address is the only never-seen-before output (one-time change)",
            Heuristic::ChangeRound => "every other output is a round amount (change is the odd one out)",
            Heuristic::ChangeOptimal => "the second address is the only output smaller than every input (optimal change)",
            Heuristic::ChangePeel => "the second address is the larger output and is itself peeled again (peel chain)",
        }
    }
}

impl fmt::Display for Heuristic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Heuristic {
    type Err = EntitiesError;
    fn from_str(s: &str) -> Result<Heuristic> {
        let s = s.trim();
        Heuristic::ALL
            .into_iter()
            .find(|h| h.name() == s)
            .ok_or_else(|| EntitiesError::UnknownHeuristic {
                name: s.to_string(),
                known: Heuristic::ALL.map(Heuristic::name).join(", "),
            })
    }
}

/// A set of heuristics.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Heuristics(u32);

impl Heuristics {
    /// No heuristic at all (every address its own entity).
    pub const NONE: Heuristics = Heuristics(0);
    /// Common-input ownership only: the default.
    pub const MULTI_INPUT: Heuristics = Heuristics(1 << Heuristic::MultiInput as u32);

    /// Whether `h` is in the set.
    #[inline]
    pub fn contains(self, h: Heuristic) -> bool {
        self.0 & (1 << h as u32) != 0
    }

    /// The set plus `h`.
    pub fn with(self, h: Heuristic) -> Heuristics {
        Heuristics(self.0 | (1 << h as u32))
    }

    /// Whether any change heuristic is in the set.
    pub fn any_change(self) -> bool {
        Heuristic::CHANGE.iter().any(|h| self.contains(*h))
    }

    /// The members, in [`Heuristic::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Heuristic> {
        Heuristic::ALL
            .into_iter()
            .filter(move |h| self.contains(*h))
    }

    /// The on-disk bit mask.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// From the on-disk bit mask; unknown bits are refused.
    pub fn from_bits(bits: u32) -> Option<Heuristics> {
        let all = Heuristic::ALL
            .iter()
            .fold(0u32, |m, h| m | (1 << *h as u32));
        (bits & !all == 0).then_some(Heuristics(bits))
    }

    /// Parses a comma-separated list such as `multi-input,change-type`.
    pub fn parse(list: &str) -> Result<Heuristics> {
        let mut set = Heuristics::NONE;
        for name in list.split(',').filter(|s| !s.trim().is_empty()) {
            set = set.with(name.parse()?);
        }
        Ok(set)
    }
}

impl fmt::Display for Heuristics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Heuristic::name).collect();
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(","))
        }
    }
}

/// Thresholds of the CoinJoin detectors (see [`crate::coinjoin`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DetectConfig {
    /// Whirlpool pool denominations in satoshis.
    pub whirlpool_denoms: Vec<u64>,
    /// Most a Whirlpool premix output may exceed its pool denomination (the
    /// entrant's share of the mix's miner fee): `max(this, denom / 100)`.
    pub premix_max_extra: u64,
    /// Participants of a Whirlpool mix (inputs = outputs), inclusive.
    pub whirlpool_sizes: (u32, u32),
    /// Fewest equal outputs of a JoinMarket or generic equal-output mix.
    pub min_equal_outputs: u32,
    /// Wasabi 1.x equal-output value window in satoshis (about 0.1 BTC).
    pub wasabi1_window: (u64, u64),
    /// Fewest equal outputs of a Wasabi 1.x round.
    pub wasabi1_min_equal: u32,
    /// Fewest inputs and outputs of a Wasabi 2.x round.
    pub wasabi2_min_io: u32,
    /// Most outputs of a Wasabi 2.x round that may lie outside the standard
    /// denominations (the coordinator fee; per 20 outputs).
    pub wasabi2_max_odd_per_20: u32,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            whirlpool_denoms: vec![100_000, 1_000_000, 5_000_000, 50_000_000],
            premix_max_extra: 30_000,
            whirlpool_sizes: (5, 8),
            min_equal_outputs: 3,
            wasabi1_window: (9_000_000, 11_000_000),
            wasabi1_min_equal: 5,
            wasabi2_min_io: 5,
            wasabi2_max_odd_per_20: 1,
        }
    }
}

impl DetectConfig {
    /// A fingerprint of every threshold, stored with the clusters so that a
    /// change forces a recomputation.
    pub fn fingerprint(&self) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        let mut eat = |v: u64| {
            for b in v.to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        eat(self.whirlpool_denoms.len() as u64);
        for d in &self.whirlpool_denoms {
            eat(*d);
        }
        for v in [
            self.premix_max_extra,
            u64::from(self.whirlpool_sizes.0),
            u64::from(self.whirlpool_sizes.1),
            u64::from(self.min_equal_outputs),
            self.wasabi1_window.0,
            self.wasabi1_window.1,
            u64::from(self.wasabi1_min_equal),
            u64::from(self.wasabi2_min_io),
            u64::from(self.wasabi2_max_odd_per_20),
        ] {
            eat(v);
        }
        h
    }
}

/// The supercluster guard: merges of two large clusters are recorded as
/// events, reported by `chainhound entity --superclusters`, for an analyst to
/// check against tags. They are not refused (that would make the result
/// depend on processing order).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct GuardConfig {
    /// A merge is an event when both clusters have at least this many
    /// addresses.
    pub min_size: u32,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig { min_size: 1_000 }
    }
}

/// Everything that decides the clusters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// The heuristics that may join addresses.
    pub heuristics: Heuristics,
    /// CoinJoin detection.
    pub detect: DetectConfig,
    /// The supercluster guard.
    pub guard: GuardConfig,
}

impl Default for Config {
    /// Common-input ownership with CoinJoin detection; no change heuristic.
    fn default() -> Self {
        Config {
            heuristics: Heuristics::MULTI_INPUT,
            detect: DetectConfig::default(),
            guard: GuardConfig::default(),
        }
    }
}

impl Config {
    /// Checks the thresholds.
    pub fn validate(&self) -> Result<()> {
        let d = &self.detect;
        let bad = |s: &str| Err(EntitiesError::Config(s.to_string()));
        if d.whirlpool_sizes.0 < 2 || d.whirlpool_sizes.0 > d.whirlpool_sizes.1 {
            return bad("whirlpool sizes must be an increasing range from 2");
        }
        if d.min_equal_outputs < 2 || d.wasabi1_min_equal < 2 {
            return bad("equal-output detectors need at least 2 equal outputs");
        }
        if d.wasabi1_window.0 > d.wasabi1_window.1 {
            return bad("the Wasabi 1 window is empty");
        }
        if self.guard.min_size < 2 {
            return bad("the supercluster guard needs a size of at least 2");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heuristic_names_round_trip() {
        for h in Heuristic::ALL {
            assert_eq!(h.name().parse::<Heuristic>().unwrap(), h);
            assert_eq!(Heuristic::from_u8(h as u8), Some(h));
        }
        let s = Heuristics::parse("multi-input, change-type,change-peel").unwrap();
        assert_eq!(s.to_string(), "multi-input,change-type,change-peel");
        assert_eq!(Heuristics::from_bits(s.bits()), Some(s));
        assert!(Heuristics::from_bits(1 << 30).is_none());
        let err = Heuristics::parse("multi-input,magic")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("magic") && err.contains("change-fresh"),
            "{err}"
        );
        assert_eq!(Heuristics::parse("").unwrap().to_string(), "none");
        assert!(!Heuristics::MULTI_INPUT.any_change());
        assert!(s.any_change());
    }

    #[test]
    fn default_is_multi_input_only_and_valid() {
        let c = Config::default();
        assert_eq!(c.heuristics, Heuristics::MULTI_INPUT);
        c.validate().unwrap();
        let mut d = DetectConfig::default();
        let f = d.fingerprint();
        d.min_equal_outputs += 1;
        assert_ne!(f, d.fingerprint());
    }
}
