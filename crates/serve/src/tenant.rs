//! One tenant's state: its private tags, past screenings, alerts and risk
//! policy. Rebuilt at start from `<serve>/tenants/<tenant>/events.log`
//! (append-only, each line checksummed) and `policy.json` (replaced
//! atomically). Nothing here is reachable from another tenant: the server
//! looks tenants up by the caller's key only.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Result, ServeError};
use crate::journal::{events_path, frame, read_events};
use crate::policy::{Direction, Level, Policy};

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The chains the service knows. New chains are added as variants; an
/// unknown name is a 422 answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChainName {
    /// Bitcoin (the store's network: mainnet, testnet, signet or regtest).
    Bitcoin,
    /// Ethereum mainnet: the account store `<data>/evm/eth` (`chainhound
    /// ingest evm`) and the EVM attribution tags.
    Ethereum,
    /// BNB Smart Chain: `<data>/evm/bsc` (`chainhound ingest evm --chain
    /// bsc`) when present, and the EVM tags (an address is the same key on
    /// every EVM chain), as for each EVM chain below.
    Bsc,
    /// Polygon PoS: `<data>/evm/polygon`.
    Polygon,
    /// Arbitrum One: `<data>/evm/arbitrum`.
    Arbitrum,
    /// OP Mainnet: `<data>/evm/optimism`.
    Optimism,
    /// Base: `<data>/evm/base`.
    Base,
    /// Avalanche C-Chain: `<data>/evm/avalanche`.
    Avalanche,
    /// TRON (TRX and TRC-20 tokens such as USDT; most of OFAC's "USDT"
    /// addresses are TRON's): addresses are screened against the tags
    /// alone, as there is no TRON chain data yet; transfers, entities and
    /// traces are refused with 422.
    Tron,
}

/// What was screened.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Subject {
    /// An address on its own.
    Address {
        /// Chain.
        chain: ChainName,
        /// Canonical spelling.
        address: String,
    },
    /// A deposit or withdrawal.
    Transfer {
        /// Chain.
        chain: ChainName,
        /// Asset (`BTC`).
        asset: String,
        /// Deposit or withdrawal.
        direction: Direction,
        /// Transaction id.
        txid: String,
        /// The screened outputs.
        vouts: Vec<u32>,
    },
}

impl Subject {
    /// The chain.
    pub fn chain(&self) -> ChainName {
        match self {
            Subject::Address { chain, .. } | Subject::Transfer { chain, .. } => *chain,
        }
    }

    /// A short text for lists and the audit log.
    pub fn target(&self) -> String {
        match self {
            Subject::Address { address, .. } => address.clone(),
            Subject::Transfer { txid, vouts, .. } => {
                let v: Vec<String> = vouts.iter().map(u32::to_string).collect();
                format!("{txid}:{}", v.join(","))
            }
        }
    }
}

/// A past screening, as stored.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Screening {
    /// Id within the tenant.
    pub id: u64,
    /// Unix milliseconds.
    pub ts: i64,
    /// The key that asked.
    pub key: String,
    /// What was screened.
    pub subject: Subject,
    /// The level answered.
    pub level: Level,
    /// The level now, after re-screenings.
    pub current_level: Level,
    /// Categories behind the current level.
    pub categories: Vec<String>,
    /// Policy name and version used last.
    pub policy: String,
}

/// A tenant-private tag.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PrivateTag {
    /// Id within the tenant.
    pub id: u64,
    /// Unix milliseconds.
    pub ts: i64,
    /// Chain.
    pub chain: ChainName,
    /// Canonical address.
    pub address: String,
    /// Category (same taxonomy as public tags: `sanction`, `theft`, …).
    pub category: String,
    /// Label.
    pub label: String,
    /// Key that added it.
    pub key: String,
}

/// An alert: a past screening whose level changed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    /// Id within the tenant.
    pub id: u64,
    /// Unix milliseconds.
    pub ts: i64,
    /// The screening.
    pub screening: u64,
    /// What it screened.
    pub subject: Subject,
    /// Level before.
    pub old_level: Level,
    /// Level now.
    pub new_level: Level,
    /// Why it was re-screened (`tags changed`, `private tag added`, …).
    pub reason: String,
    /// When acknowledged and by which key.
    pub acked: Option<Ack>,
}

/// An acknowledgement.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Ack {
    /// Unix milliseconds.
    pub ts: i64,
    /// Key id.
    pub key: String,
}

/// One line of a tenant's event log.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A screening was answered.
    Screening(Screening),
    /// A past screening's level changed.
    Rescreened {
        /// Screening id.
        id: u64,
        /// New level.
        level: Level,
        /// New categories.
        categories: Vec<String>,
        /// Policy used.
        policy: String,
    },
    /// A private tag was added.
    TagAdded(PrivateTag),
    /// A private tag was deleted.
    TagDeleted {
        /// Tag id.
        id: u64,
    },
    /// An alert was raised.
    AlertRaised(Alert),
    /// An alert was acknowledged.
    AlertAcked {
        /// Alert id.
        id: u64,
        /// Who and when.
        ack: Ack,
    },
}

impl Event {
    /// The framed log line.
    pub fn line(&self) -> String {
        frame(&serde_json::to_string(self).expect("events serialize"))
    }
}

/// A tenant's state in memory.
pub struct TenantState {
    /// Name.
    pub name: String,
    /// Screenings; id = index + 1.
    pub screenings: Vec<Screening>,
    /// Private tags by id.
    pub tags: BTreeMap<u64, PrivateTag>,
    /// Canonical address → private tag ids.
    pub tags_by_addr: HashMap<String, Vec<u64>>,
    /// Entity id → private tag ids (rebuilt when the view changes).
    pub tags_by_entity: HashMap<u32, Vec<u64>>,
    /// Alerts by id.
    pub alerts: BTreeMap<u64, Alert>,
    /// Next tag id.
    pub next_tag: u64,
    /// The policy in force.
    pub policy: Arc<Policy>,
}

/// `policy.json` in the tenant's directory.
pub const POLICY_FILE: &str = "policy.json";

impl TenantState {
    /// Loads a tenant from `<serve>/tenants/<name>/`.
    pub fn load(serve: &Path, name: &str) -> Result<TenantState> {
        let dir = serve.join("tenants").join(name);
        let policy = match std::fs::read_to_string(dir.join(POLICY_FILE)) {
            Ok(t) => Policy::parse(&t).map_err(|e| ServeError::Corrupt {
                path: dir.join(POLICY_FILE),
                msg: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Policy::default_policy(),
            Err(e) => return Err(ServeError::io(dir.join(POLICY_FILE), e)),
        };
        let mut t = TenantState {
            name: name.to_string(),
            screenings: Vec::new(),
            tags: BTreeMap::new(),
            tags_by_addr: HashMap::new(),
            tags_by_entity: HashMap::new(),
            alerts: BTreeMap::new(),
            next_tag: 1,
            policy: Arc::new(policy),
        };
        let path = events_path(serve, name);
        for (n, json) in read_events(&path)?.into_iter().enumerate() {
            let ev: Event = serde_json::from_str(&json).map_err(|e| ServeError::Corrupt {
                path: path.clone(),
                msg: format!("event {}: {e}", n + 1),
            })?;
            t.apply(ev);
        }
        Ok(t)
    }

    /// Applies an event (at load, and after a request logged it).
    pub fn apply(&mut self, ev: Event) {
        match ev {
            Event::Screening(s) => {
                // ids are dense; a skipped line (torn write) leaves a gap we
                // keep so that ids stay stable
                while (self.screenings.len() as u64) + 1 < s.id {
                    let filler = s.clone();
                    self.screenings.push(Screening {
                        id: self.screenings.len() as u64 + 1,
                        ..filler
                    });
                }
                if s.id == self.screenings.len() as u64 + 1 {
                    self.screenings.push(s);
                }
            }
            Event::Rescreened {
                id,
                level,
                categories,
                policy,
            } => {
                if let Some(s) = self.screenings.get_mut(id as usize - 1) {
                    s.current_level = level;
                    s.categories = categories;
                    s.policy = policy;
                }
            }
            Event::TagAdded(t) => {
                self.next_tag = self.next_tag.max(t.id + 1);
                self.tags_by_addr
                    .entry(t.address.clone())
                    .or_default()
                    .push(t.id);
                self.tags.insert(t.id, t);
            }
            Event::TagDeleted { id } => {
                if let Some(t) = self.tags.remove(&id) {
                    if let Some(v) = self.tags_by_addr.get_mut(&t.address) {
                        v.retain(|&x| x != id);
                    }
                    for v in self.tags_by_entity.values_mut() {
                        v.retain(|&x| x != id);
                    }
                }
            }
            Event::AlertRaised(a) => {
                self.alerts.insert(a.id, a);
            }
            Event::AlertAcked { id, ack } => {
                if let Some(a) = self.alerts.get_mut(&id) {
                    a.acked = Some(ack);
                }
            }
        }
    }

    /// The next screening id.
    pub fn next_screening(&self) -> u64 {
        self.screenings.len() as u64 + 1
    }

    /// The next alert id.
    pub fn next_alert(&self) -> u64 {
        self.alerts.keys().next_back().map_or(1, |k| k + 1)
    }

    /// Private tags on `address` itself.
    pub fn private_tags_of(&self, address: &str) -> Vec<PrivateTag> {
        self.tags_by_addr
            .get(address)
            .into_iter()
            .flatten()
            .filter_map(|id| self.tags.get(id).cloned())
            .collect()
    }

    /// Private tags on members of entity `e`.
    pub fn private_tags_of_entity(&self, e: u32) -> Vec<PrivateTag> {
        self.tags_by_entity
            .get(&e)
            .into_iter()
            .flatten()
            .filter_map(|id| self.tags.get(id).cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_replay() {
        let d = tempfile::tempdir().unwrap();
        let path = events_path(d.path(), "acme");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let tag = PrivateTag {
            id: 1,
            ts: 0,
            chain: ChainName::Bitcoin,
            address: "bcrt1qexample".into(),
            category: "theft".into(),
            label: "case 7".into(),
            key: "k".into(),
        };
        let s = Screening {
            id: 1,
            ts: 0,
            key: "k".into(),
            subject: Subject::Address {
                chain: ChainName::Bitcoin,
                address: "bcrt1qexample".into(),
            },
            level: Level::Low,
            current_level: Level::Low,
            categories: vec![],
            policy: "p 1".into(),
        };
        let lines = [
            Event::TagAdded(tag).line(),
            Event::Screening(s).line(),
            Event::Rescreened {
                id: 1,
                level: Level::High,
                categories: vec!["theft".into()],
                policy: "p 1".into(),
            }
            .line(),
            Event::TagDeleted { id: 1 }.line(),
        ];
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let t = TenantState::load(d.path(), "acme").unwrap();
        assert!(t.tags.is_empty());
        assert_eq!(t.next_tag, 2);
        assert_eq!(t.screenings[0].current_level, Level::High);
        assert_eq!(t.screenings[0].level, Level::Low);
    }
}
