//! Deposit-address detection.
//!
//! An exchange gives each customer a deposit address and sweeps what
//! arrives to its hot wallet. So an account whose every outgoing transfer
//! (of any asset, at least `min_forwards` of them) goes to one account
//! tagged as an exchange, that received from someone other than that
//! exchange, that is no known contract (created by a stored transaction, or
//! a token) and has no role of its own, is a deposit address of that
//! exchange. The rule never fires for known contracts (a router forwards to
//! many), for services, or for an account that also pays anyone else.

use crate::model::roles::{Label, LabelSource, Labels, Role};
use crate::store::EvmStore;
use crate::types::{AccountId, U256};

/// A detected deposit address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepositHit {
    /// The deposit address.
    pub deposit: AccountId,
    /// The exchange hot wallet it forwards to.
    pub hot_wallet: AccountId,
    /// Number of forwarding transfers.
    pub forwards: usize,
}

/// Finds deposit addresses of tagged exchanges and adds an exchange label
/// to each (the evidence is the hot wallet, [`LabelSource::Deposit`]).
pub fn detect_deposits(
    store: &EvmStore,
    labels: &mut Labels,
    min_forwards: usize,
) -> Vec<DepositHit> {
    let exchanges = labels.with_role(Role::Exchange);
    let mut contract = vec![false; store.account_count()];
    for t in store.txs() {
        if t.created != crate::store::NONE32 {
            contract[t.created as usize] = true;
        }
    }
    for a in store.assets().iter().skip(1) {
        if let Some(id) = store.account(&a.contract) {
            contract[id.0 as usize] = true;
        }
    }
    let mut hits = Vec::new();
    for &hot in &exchanges {
        let hot_text = labels
            .of(hot)
            .iter()
            .find(|l| l.role == Some(Role::Exchange))
            .map_or_else(String::new, |l| l.text.clone());
        let mut candidates: Vec<AccountId> = store
            .incoming(hot)
            .map(|t| AccountId(store.transfer(t).from))
            .collect();
        candidates.sort();
        candidates.dedup();
        for d in candidates {
            if d == hot || contract[d.0 as usize] || labels.roles(d).next().is_some() {
                continue;
            }
            let mut forwards = 0;
            let all_to_hot = store.outgoing(d).all(|t| {
                let tr = store.transfer(t);
                if tr.amount == U256::ZERO {
                    return true;
                }
                forwards += 1;
                tr.to == hot.0
            });
            let funded_by_others = store.incoming(d).any(|t| store.transfer(t).from != hot.0);
            if all_to_hot && forwards >= min_forwards && funded_by_others {
                hits.push(DepositHit {
                    deposit: d,
                    hot_wallet: hot,
                    forwards,
                });
            }
        }
        for h in hits.iter().filter(|h| h.hot_wallet == hot) {
            labels.add(
                h.deposit,
                Label {
                    role: Some(Role::Exchange),
                    text: format!("deposit address of {hot_text}"),
                    source: LabelSource::Deposit(hot),
                },
            );
        }
    }
    hits.sort_by_key(|h| h.deposit);
    hits
}
