//! The simulator's ground truth in the store's ids (feature `sim-truth`).
//! The only module of this crate that knows a chain library: it parses the
//! truth's regtest addresses with `chainhound-btc`.

use std::path::Path;

use chainhound_btc::{parse_address, Network};
use chainhound_sim::truth::{read_addresses, CoinJoinKind, EntityKind};
use chainhound_sim::Truth;
use chainhound_store::Store;
use chainhound_types::Hash32;

use crate::error::{EntitiesError, Result};
use crate::eval::{GroundTruth, TruthEntity, TruthKind, TruthMix, NO_OWNER};

fn err(what: impl std::fmt::Display) -> EntitiesError {
    EntitiesError::Config(format!("ground truth: {what}"))
}

/// Reads `truth.json` and `truth-addresses.csv` from the simulator's output
/// directory `sim_dir` and maps them onto `store`'s ids. Addresses or
/// transactions the store does not have are left out.
pub fn load_sim_truth(store: &Store, sim_dir: &Path) -> Result<(GroundTruth, Truth)> {
    let truth = Truth::load(sim_dir).map_err(err)?;
    let rows = read_addresses(sim_dir).map_err(err)?;
    let mut owner = vec![NO_OWNER; store.counts().addrs as usize];
    for (addr, e) in rows {
        let key = parse_address(&addr, Network::Regtest).map_err(err)?;
        if let Some(id) = store.addr_id(&key) {
            owner[id.index()] = e;
        }
    }
    let entities = truth
        .entities
        .iter()
        .map(|e| TruthEntity {
            name: e.name.clone(),
            kind: match e.kind {
                EntityKind::Exchange => TruthKind::Exchange,
                EntityKind::Thief => TruthKind::Thief,
                _ => TruthKind::Other,
            },
        })
        .collect();
    let mut mixes = Vec::with_capacity(truth.coinjoins.len());
    for c in &truth.coinjoins {
        let h = Hash32::from_display_hex(&c.txid).map_err(|_| err("bad txid"))?;
        if let Some(t) = store.tx_by_txid(&h) {
            let kind = match c.kind {
                CoinJoinKind::WhirlpoolTx0 => TruthMix::WhirlpoolTx0,
                CoinJoinKind::Whirlpool => TruthMix::Whirlpool,
                CoinJoinKind::Wasabi1 => TruthMix::Wasabi1,
                CoinJoinKind::Wasabi2 => TruthMix::Wasabi2,
            };
            mixes.push((t, kind));
        }
    }
    Ok((
        GroundTruth {
            owner,
            entities,
            mixes,
        },
        truth,
    ))
}
