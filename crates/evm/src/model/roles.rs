//! Roles: what kind of actor an account is, from attribution tags.

use std::collections::HashMap;

use chainhound_intel::TagStore;

use crate::store::EvmStore;
use crate::types::AccountId;

/// What an account is, as far as flows are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A custodial exchange (hot wallet, or a deposit address forwarding to one).
    Exchange,
    /// A mixer pool (Tornado Cash and the like).
    Mixer,
    /// A bridge lock or escrow contract.
    Bridge,
    /// A DEX router or pool: swaps one asset for another.
    Dex,
    /// On a sanctions list (OFAC SDN).
    Sanctioned,
    /// A thief, hacker, exploiter or phisher.
    Theft,
}

impl Role {
    /// Services hold many people's funds: they are not owners, so taint
    /// that reaches them is exposure to the service and stops there.
    pub fn is_service(self) -> bool {
        matches!(
            self,
            Role::Exchange | Role::Mixer | Role::Bridge | Role::Dex
        )
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Exchange => "exchange",
            Role::Mixer => "mixer",
            Role::Bridge => "bridge",
            Role::Dex => "dex",
            Role::Sanctioned => "sanctioned",
            Role::Theft => "theft",
        }
    }

    /// Parses [`Role::as_str`].
    pub fn parse(s: &str) -> Option<Role> {
        [
            Role::Exchange,
            Role::Mixer,
            Role::Bridge,
            Role::Dex,
            Role::Sanctioned,
            Role::Theft,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// The role a tag's category (GraphSense taxonomy, OFAC `sanction`, or an
/// Etherscan label family) implies, if any.
pub fn role_of(category: Option<&str>, label: &str) -> Option<Role> {
    let c = category.unwrap_or("").trim().to_ascii_lowercase();
    let l = label.to_ascii_lowercase();
    let r = match c.as_str() {
        "sanction" | "sanctioned" => Role::Sanctioned,
        "exchange" | "binance" | "huobi" | "kraken" | "okex" | "bithumb" | "upbit" | "poloniex"
        | "bitfinex" | "tidex" => Role::Exchange,
        "mixing_service" | "mixer" | "ethereum-mixer" | "tornado-cash" => Role::Mixer,
        "bridge" | "defi_bridge" | "anyswap" => Role::Bridge,
        "dex" | "defi_dex" | "uniswap" | "sushiswap" | "1inch-exchange" | "dex-ag" | "paraswap"
        | "airswap" | "0x" | "kyber" | "curve-fi" | "idex" | "mcdex" | "swipeswap" => Role::Dex,
        "perpetrator" | "hacker" | "heist" | "phish-hack" | "scam" => Role::Theft,
        c if c.ends_with("-hack") || c.ends_with("-exploit") => Role::Theft,
        _ => {
            if l.contains("exploiter") || l.contains("hacker") {
                Role::Theft
            } else {
                return None;
            }
        }
    };
    Some(r)
}

/// Where a label comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelSource {
    /// An attribution tag (its source name, e.g. `ofac`, `etherscan`).
    Tag(String),
    /// Deposit-address detection: the account forwards to this exchange hot wallet.
    Deposit(AccountId),
}

/// One label of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// The role, if the label implies one.
    pub role: Option<Role>,
    /// Human-readable text.
    pub text: String,
    /// Where it comes from.
    pub source: LabelSource,
}

/// Labels of a store's accounts.
#[derive(Clone, Debug, Default)]
pub struct Labels {
    by_account: HashMap<AccountId, Vec<Label>>,
}

impl Labels {
    /// Reads every EVM tag in `tags` whose address the store has seen
    /// (addresses match case-insensitively: the intel store keeps EVM
    /// addresses lower-case and this crate compares bytes).
    pub fn from_tags(store: &EvmStore, tags: &TagStore) -> Labels {
        let mut l = Labels::default();
        for t in tags.tags() {
            let Ok(a) = crate::address::parse(&t.address) else {
                continue;
            };
            let Some(acc) = store.account(&a) else {
                continue;
            };
            l.add(
                acc,
                Label {
                    role: role_of(t.category.as_deref(), &t.label),
                    text: t.label.clone(),
                    source: LabelSource::Tag(t.source.clone()),
                },
            );
        }
        l
    }

    /// Adds a label.
    pub fn add(&mut self, a: AccountId, label: Label) {
        let v = self.by_account.entry(a).or_default();
        if !v.contains(&label) {
            v.push(label);
        }
    }

    /// An account's labels.
    pub fn of(&self, a: AccountId) -> &[Label] {
        self.by_account.get(&a).map_or(&[], |v| v)
    }

    /// The account's service role, if any (the first service role among
    /// its labels, in [`Role`] order).
    pub fn service(&self, a: AccountId) -> Option<Role> {
        self.roles(a).filter(|r| r.is_service()).min()
    }

    /// Every role of an account.
    pub fn roles(&self, a: AccountId) -> impl Iterator<Item = Role> + '_ {
        self.of(a).iter().filter_map(|l| l.role)
    }

    /// Accounts having role `r`.
    pub fn with_role(&self, r: Role) -> Vec<AccountId> {
        let mut v: Vec<AccountId> = self
            .by_account
            .iter()
            .filter(|(_, ls)| ls.iter().any(|l| l.role == Some(r)))
            .map(|(a, _)| *a)
            .collect();
        v.sort();
        v
    }

    /// Number of labelled accounts.
    pub fn len(&self) -> usize {
        self.by_account.len()
    }

    /// Whether no account is labelled.
    pub fn is_empty(&self) -> bool {
        self.by_account.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_map_to_roles() {
        for (category, label, want) in [
            (Some("sanction"), "LAZARUS GROUP", Some(Role::Sanctioned)),
            (Some("exchange"), "Binance 14", Some(Role::Exchange)),
            (
                Some("tornado-cash"),
                "Tornado.Cash: 10 ETH",
                Some(Role::Mixer),
            ),
            (Some("upbit-hack"), "Upbit Hack 12", Some(Role::Theft)),
            (Some("uniswap"), "Uniswap V2: Router 2", Some(Role::Dex)),
            (Some("token-contract"), "Tether USD", None),
            (None, "Akropolis Exploiter", Some(Role::Theft)),
        ] {
            assert_eq!(role_of(category, label), want, "{category:?} {label}");
        }
        assert!(Role::Mixer.is_service() && !Role::Theft.is_service());
        assert_eq!(Role::parse("dex"), Some(Role::Dex));
    }
}
