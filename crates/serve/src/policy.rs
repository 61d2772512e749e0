//! Risk policy: exposure (category × share × hops × direction) → level.
//!
//! A policy is an ordered list of [`Rule`]s; an exposure item matches a rule
//! when the category is equal (or the rule's is `*`), the direction matches
//! (`any` matches all), the item is at most `max_hops` away and its share is
//! at least `min_share_ppm` (parts per million of the screened value). The
//! verdict is the highest level of any matching rule, `LOW` when none
//! matches. Shares are integers (ppm); nothing here uses floating point.
//! Each tenant may keep its own policy in
//! `<data>/serve/tenants/<tenant>/policy.json`; otherwise the shipped
//! default ([`Policy::default_policy`], `assets/default-policy.json`) applies.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Result, ServeError};

/// The default policy's text.
pub const DEFAULT_POLICY: &str = include_str!("../assets/default-policy.json");

/// A risk level, lowest first.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Nothing in the policy matched.
    Low,
    /// Review when convenient.
    Medium,
    /// Hold and review.
    High,
    /// Block and report (sanctions).
    Severe,
}

/// Which way value moves relative to the screening customer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Funds arriving at the exchange: their sources matter.
    Deposit,
    /// Funds leaving the exchange: their destination matters.
    Withdrawal,
    /// A rule matching both (in screenings: an address screened on its own).
    Any,
}

/// One rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Tag category (`sanction`, `theft`, …) or `*`.
    pub category: String,
    /// `deposit`, `withdrawal` or `any`.
    pub direction: Direction,
    /// Largest hop count matched (0 = the counterparty itself or its entity).
    pub max_hops: u32,
    /// Smallest share matched, parts per million (1 = any amount).
    pub min_share_ppm: u32,
    /// The level when the rule matches.
    pub level: Level,
}

/// A tenant's risk policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Name.
    pub name: String,
    /// Version, for the record of which policy produced a verdict.
    pub version: u32,
    /// What it means, for people.
    #[serde(default)]
    pub description: String,
    /// Rules, checked in order (the highest level wins).
    pub rules: Vec<Rule>,
}

/// One thing the screened value was exposed to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Exposure {
    /// Tag category.
    pub category: String,
    /// Share of the screened value, parts per million.
    pub share_ppm: u32,
    /// Hops between the counterparty and the tagged address (0 = itself or
    /// its entity).
    pub hops: u32,
    /// Satoshis of the screened value exposed (when the value is known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_sat: Option<u64>,
    /// EVM chains: the screened value exposed, in the asset's base units
    /// (decimal integer string; wei for ETH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// The tagged address.
    pub address: String,
    /// Who says so: `source: label`.
    pub source: String,
}

/// A rule that matched an exposure item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Match {
    /// Index of the rule in the policy.
    pub rule: usize,
    /// Index of the exposure item.
    pub exposure: usize,
    /// The rule's level.
    pub level: Level,
}

impl Policy {
    /// The shipped default.
    pub fn default_policy() -> Policy {
        Policy::parse(DEFAULT_POLICY).expect("the shipped default policy parses")
    }

    /// Parses and checks a policy.
    pub fn parse(text: &str) -> Result<Policy> {
        let p: Policy =
            serde_json::from_str(text).map_err(|e| ServeError::Invalid(format!("policy: {e}")))?;
        p.check()?;
        Ok(p)
    }

    /// Checks the values a parser cannot.
    pub fn check(&self) -> Result<()> {
        if self.rules.len() > 1000 {
            return Err(ServeError::Invalid("policy: at most 1000 rules".into()));
        }
        for (i, r) in self.rules.iter().enumerate() {
            if r.category.is_empty() || r.category.len() > 64 {
                return Err(ServeError::Invalid(format!(
                    "policy: rule {i}: category must be 1-64 characters"
                )));
            }
            if r.min_share_ppm > 1_000_000 {
                return Err(ServeError::Invalid(format!(
                    "policy: rule {i}: min_share_ppm {} is above 1000000 (100%)",
                    r.min_share_ppm
                )));
            }
        }
        Ok(())
    }

    /// The level of `items` for a screening in `direction`, with the rules
    /// that produced it.
    pub fn evaluate(&self, direction: Direction, items: &[Exposure]) -> (Level, Vec<Match>) {
        let mut level = Level::Low;
        let mut matches = Vec::new();
        for (ei, e) in items.iter().enumerate() {
            for (ri, r) in self.rules.iter().enumerate() {
                let dir_ok = r.direction == Direction::Any || r.direction == direction;
                if dir_ok
                    && (r.category == "*" || r.category == e.category)
                    && e.hops <= r.max_hops
                    && e.share_ppm >= r.min_share_ppm
                {
                    level = level.max(r.level);
                    matches.push(Match {
                        rule: ri,
                        exposure: ei,
                        level: r.level,
                    });
                }
            }
        }
        (level, matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(category: &str, share_ppm: u32, hops: u32) -> Exposure {
        Exposure {
            category: category.into(),
            share_ppm,
            hops,
            value_sat: None,
            amount: None,
            address: "a".into(),
            source: "s: l".into(),
        }
    }

    #[test]
    fn default_policy_levels() {
        let p = Policy::default_policy();
        let lvl = |d, items: &[Exposure]| p.evaluate(d, items).0;
        assert_eq!(lvl(Direction::Any, &[]), Level::Low);
        assert_eq!(
            lvl(Direction::Any, &[item("sanction", 1_000_000, 0)]),
            Level::Severe
        );
        assert_eq!(
            lvl(Direction::Deposit, &[item("sanction", 200_000, 2)]),
            Level::Severe
        );
        assert_eq!(
            lvl(Direction::Deposit, &[item("sanction", 20_000, 5)]),
            Level::High
        );
        assert_eq!(
            lvl(Direction::Deposit, &[item("sanction", 5, 15)]),
            Level::Medium
        );
        assert_eq!(
            lvl(Direction::Deposit, &[item("theft", 500_000, 4)]),
            Level::High
        );
        assert_eq!(
            lvl(Direction::Withdrawal, &[item("theft", 500_000, 4)]),
            Level::Medium
        );
        assert_eq!(
            lvl(Direction::Any, &[item("exchange", 1_000_000, 0)]),
            Level::Low
        );
        let (l, m) = p.evaluate(
            Direction::Any,
            &[item("exchange", 1, 0), item("mixing_service", 1, 0)],
        );
        assert_eq!(l, Level::High);
        assert!(m.iter().all(|m| m.exposure == 1));
    }

    #[test]
    fn bad_policies_are_refused() {
        assert!(Policy::parse("{}").is_err());
        let mut p = Policy::default_policy();
        p.rules[0].min_share_ppm = 2_000_000;
        assert!(p.check().is_err());
        let text = DEFAULT_POLICY.replace("\"max_hops\": 0", "\"max_hops\": -1");
        assert!(Policy::parse(&text).is_err());
        let text = DEFAULT_POLICY.replace("\"max_hops\": 0", "\"max_hops\": 0.5");
        assert!(Policy::parse(&text).is_err());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn level() -> impl Strategy<Value = Level> {
            prop_oneof![
                Just(Level::Low),
                Just(Level::Medium),
                Just(Level::High),
                Just(Level::Severe)
            ]
        }
        fn dir() -> impl Strategy<Value = Direction> {
            prop_oneof![
                Just(Direction::Deposit),
                Just(Direction::Withdrawal),
                Just(Direction::Any)
            ]
        }
        fn cat() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("sanction".to_string()),
                Just("theft".to_string()),
                Just("*".to_string())
            ]
        }
        fn rule() -> impl Strategy<Value = Rule> {
            (cat(), dir(), 0u32..8, 0u32..=1_000_000, level()).prop_map(
                |(category, direction, max_hops, min_share_ppm, level)| Rule {
                    category,
                    direction,
                    max_hops,
                    min_share_ppm,
                    level,
                },
            )
        }
        fn exposure() -> impl Strategy<Value = Exposure> {
            (
                prop_oneof![Just("sanction".to_string()), Just("theft".to_string())],
                0u32..=1_000_000,
                0u32..10,
            )
                .prop_map(|(category, share_ppm, hops)| item(&category, share_ppm, hops))
        }

        proptest! {
            /// More exposure, a larger share or fewer hops never lowers
            /// the level; the level is the highest matched rule's.
            #[test]
            fn evaluation_is_monotone(
                rules in proptest::collection::vec(rule(), 0..12),
                items in proptest::collection::vec(exposure(), 0..6),
                extra in exposure(),
                d in dir(),
            ) {
                let p = Policy { name: "p".into(), version: 1, description: String::new(), rules };
                let (base, m) = p.evaluate(d, &items);
                prop_assert_eq!(base, m.iter().map(|m| m.level).max().unwrap_or(Level::Low));
                let mut more = items.clone();
                more.push(extra.clone());
                prop_assert!(p.evaluate(d, &more).0 >= base);
                let stronger: Vec<Exposure> = items
                    .iter()
                    .map(|e| Exposure {
                        share_ppm: (e.share_ppm + 100_000).min(1_000_000),
                        hops: e.hops.saturating_sub(1),
                        ..e.clone()
                    })
                    .collect();
                prop_assert!(p.evaluate(d, &stronger).0 >= base);
            }
        }
    }
}
