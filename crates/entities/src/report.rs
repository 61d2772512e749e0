//! The entity view: size, money, activity and top counterparties of one
//! entity, computed from the store and the clusters.

use std::collections::{HashMap, HashSet};

use chainhound_store::{Funding, Store};
use chainhound_types::{AddrId, InputId, OutputId, Sats, TxNum};

use crate::clusters::{Clusters, EntityId};
use crate::coinjoin::TxClass;
use crate::error::Result;

/// Who is on the other side of a transaction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Party {
    /// Another entity.
    Entity(EntityId),
    /// A flagged CoinJoin (its many owners are not one counterparty).
    CoinJoin,
    /// Newly mined coins.
    Coinbase,
    /// Inputs of several entities in a transaction that is not a flagged
    /// CoinJoin.
    Several,
    /// Inputs whose funding outputs are not in the store.
    Unknown,
}

/// Value exchanged with one counterparty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counterparty {
    /// Who.
    pub party: Party,
    /// Paid by the entity to it.
    pub sent_to: Sats,
    /// Paid by it to the entity.
    pub received_from: Sats,
    /// Transactions between them.
    pub txs: u64,
}

/// Facts about one entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityReport {
    /// The entity.
    pub id: EntityId,
    /// Addresses in it.
    pub addresses: u32,
    /// The first few addresses (lowest ids first).
    pub sample: Vec<AddrId>,
    /// Outputs paid to it.
    pub outputs: u64,
    /// Of which unspent.
    pub unspent: u64,
    /// Sum of every output paid to it (its own change included).
    pub received: Sats,
    /// Sum of those it spent.
    pub spent: Sats,
    /// Unspent value.
    pub balance: Sats,
    /// Transactions touching it.
    pub txs: u64,
    /// First transaction touching it.
    pub first_tx: Option<TxNum>,
    /// Last transaction touching it.
    pub last_tx: Option<TxNum>,
    /// Flagged CoinJoins it put inputs into.
    pub coinjoins: u64,
    /// Largest counterparties by value exchanged (excluding its own change).
    pub counterparties: Vec<Counterparty>,
}

/// How much of an entity to show.
#[derive(Copy, Clone, Debug)]
pub struct ReportOptions {
    /// Counterparties to list.
    pub top: usize,
    /// Addresses to list.
    pub sample: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            top: 10,
            sample: 10,
        }
    }
}

#[derive(Default)]
struct Tally {
    sent: u64,
    received: u64,
    txs: u64,
}

/// Builds the view of entity `e`. Cost: every output of every member, plus
/// the transactions they appear in.
pub fn entity_report(
    store: &Store,
    clusters: &Clusters,
    e: EntityId,
    opts: ReportOptions,
) -> Result<EntityReport> {
    let size = clusters.size(e)?;
    let members: Vec<AddrId> = clusters.members(e).collect();
    let mut sample: Vec<AddrId> = members.clone();
    sample.sort_unstable();
    sample.truncate(opts.sample);
    let mut r = EntityReport {
        id: e,
        addresses: size,
        sample,
        outputs: 0,
        unspent: 0,
        received: Sats::ZERO,
        spent: Sats::ZERO,
        balance: Sats::ZERO,
        txs: 0,
        first_tx: None,
        last_tx: None,
        coinjoins: 0,
        counterparties: Vec::new(),
    };
    // Per transaction: what the entity received in it and what it spent.
    let mut recv: HashMap<TxNum, u64> = HashMap::new();
    let mut spend: HashMap<TxNum, u64> = HashMap::new();
    for a in &members {
        for o in store.addr_outputs(*a) {
            let info = store.output(o);
            let v = info.value.0;
            r.outputs += 1;
            r.received = r.received + info.value;
            *recv.entry(info.tx).or_default() += v;
            match info.spent_by {
                Some(i) => {
                    r.spent = r.spent + info.value;
                    *spend.entry(store.input(i).tx).or_default() += v;
                }
                None => {
                    r.unspent += 1;
                    r.balance = r.balance + info.value;
                }
            }
        }
    }
    let all: HashSet<TxNum> = recv.keys().chain(spend.keys()).copied().collect();
    r.txs = all.len() as u64;
    r.first_tx = all.iter().min().copied();
    r.last_tx = all.iter().max().copied();
    let mut parties: HashMap<Party, Tally> = HashMap::new();
    let mine = |addr: AddrId| clusters.entity_of(addr).ok() == Some(e);
    for (&t, &spent_in) in &spend {
        if let Some(TxClass::CoinJoin(_)) = clusters.detection(t) {
            r.coinjoins += 1;
            let back = recv.get(&t).copied().unwrap_or(0);
            let x = parties.entry(Party::CoinJoin).or_default();
            x.sent += spent_in.saturating_sub(back);
            x.txs += 1;
            continue;
        }
        let mut touched: HashSet<Party> = HashSet::new();
        for o in store.tx(t).outputs {
            let out = store.output(OutputId(o));
            if mine(out.addr) {
                continue;
            }
            let p = match clusters.entity_of(out.addr) {
                Ok(x) => Party::Entity(x),
                Err(_) => Party::Unknown,
            };
            parties.entry(p).or_default().sent += out.value.0;
            touched.insert(p);
        }
        for p in touched {
            parties.entry(p).or_default().txs += 1;
        }
    }
    for (&t, &got) in &recv {
        if spend.contains_key(&t) {
            continue; // the entity paid itself (change)
        }
        let p = sender(store, clusters, t);
        let x = parties.entry(p).or_default();
        x.received += got;
        x.txs += 1;
    }
    let mut list: Vec<Counterparty> = parties
        .into_iter()
        .map(|(party, t)| Counterparty {
            party,
            sent_to: Sats(t.sent),
            received_from: Sats(t.received),
            txs: t.txs,
        })
        .collect();
    list.sort_by(|a, b| {
        let va = a.sent_to.0.saturating_add(a.received_from.0);
        let vb = b.sent_to.0.saturating_add(b.received_from.0);
        vb.cmp(&va).then(a.party.cmp(&b.party))
    });
    list.truncate(opts.top);
    r.counterparties = list;
    Ok(r)
}

/// Who paid in transaction `t` (which has no input of the entity).
fn sender(store: &Store, clusters: &Clusters, t: TxNum) -> Party {
    if let Some(TxClass::CoinJoin(_)) = clusters.detection(t) {
        return Party::CoinJoin;
    }
    let mut who: Option<EntityId> = None;
    for i in store.tx(t).inputs {
        match store.input(InputId(i)).funding {
            Funding::Coinbase => return Party::Coinbase,
            Funding::Unresolved { .. } => return Party::Unknown,
            Funding::Output(o) => {
                let Ok(x) = clusters.entity_of(store.output(o).addr) else {
                    return Party::Unknown;
                };
                match who {
                    None => who = Some(x),
                    Some(w) if w != x => return Party::Several,
                    Some(_) => {}
                }
            }
        }
    }
    who.map_or(Party::Unknown, Party::Entity)
}
