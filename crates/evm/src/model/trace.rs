//! Taint tracing over accounts, per asset, with FIFO or haircut.
//!
//! Every (account, asset) pair has a pool. Transfers are replayed in chain
//! order; each outgoing transfer takes its amount from the sender's pool
//! and puts it into the recipient's, and the model decides which part of
//! it is tainted:
//!
//! * **haircut**: the tainted part is `amount × tainted ÷ balance` (rounded
//!   down), so every unit of a pool is equally tainted;
//! * **FIFO**: the pool is a queue of lots in arrival order; a transfer
//!   takes lots from the front, keeping their tainted/clean marks and order.
//!
//! An outflow larger than the observed balance is covered by clean value of
//! unknown origin (the account held funds before the window): the models
//! never invent taint. Fees (gas × price, when known) leave the sender's
//! native pool before the transaction's transfers. Taint that reaches a
//! service ([`Role::is_service`]) stops there and is reported as exposure
//! to it, except that a swap (tainted value sent to a DEX by an account that
//! gets another asset back in the same transaction) carries the tainted
//! share over to what came back. The exact accounting, and the conservation
//! law the tests check, is in `docs/evm.md`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use alloy_primitives::U512;
use chainhound_types::IdMap;

use crate::model::roles::{Labels, Role};
use crate::store::{EvmStore, NONE64};
use crate::types::{AccountId, AssetId, TransferId, TxId, U256};

/// The taint model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// First in, first out.
    Fifo,
    /// Proportional.
    Haircut,
}

/// Where taint comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seed {
    /// Everything this account sends (of any asset) is tainted: a thief's
    /// or a sanctioned account.
    Account(AccountId),
    /// Every transfer of this transaction delivers tainted value: a theft.
    Tx(TxId),
}

/// Options of [`trace`].
#[derive(Clone, Debug)]
pub struct TraceConfig {
    /// The model.
    pub model: Model,
    /// Start at this block (earlier transfers are not replayed).
    pub from_block: u64,
    /// Stop taint at services (exchanges, mixers, bridges, DEXs). Default on.
    pub stop_at_services: bool,
    /// Carry taint across swaps at DEXs. Default on.
    pub follow_swaps: bool,
    /// List at most this many tainted transfers (the count is always complete).
    pub max_edges: usize,
}

impl Default for TraceConfig {
    fn default() -> TraceConfig {
        TraceConfig {
            model: Model::Haircut,
            from_block: 0,
            stop_at_services: true,
            follow_swaps: true,
            max_edges: 10_000,
        }
    }
}

/// A transfer that carried taint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaintedTransfer {
    /// The transfer.
    pub transfer: TransferId,
    /// Its tainted part.
    pub tainted: U256,
}

/// Per-asset totals: where the taint went. For every asset,
/// `seeded + swapped_in = held + absorbed + fees + returned + swapped_out`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Taint introduced by the seeds.
    pub seeded: U256,
    /// Taint carried into this asset by swaps.
    pub swapped_in: U256,
    /// Taint still held by accounts at the end.
    pub held: U256,
    /// Taint that reached services.
    pub absorbed: U256,
    /// Taint paid as fees.
    pub fees: U256,
    /// Taint that flowed back into a seed account.
    pub returned: U256,
    /// Taint swapped away into other assets.
    pub swapped_out: U256,
}

/// What [`trace`] found.
#[derive(Clone, Debug, Default)]
pub struct TraceResult {
    /// Totals per asset.
    pub totals: BTreeMap<AssetId, Totals>,
    /// Taint still held at the end, per (account, asset), largest first.
    pub holdings: Vec<(AccountId, AssetId, U256)>,
    /// Taint that reached services, per (service account, asset), largest first.
    pub absorbed: Vec<(AccountId, AssetId, Role, U256)>,
    /// Tainted transfers in chain order (at most `max_edges`).
    pub edges: Vec<TaintedTransfer>,
    /// Number of tainted transfers.
    pub edge_count: u64,
    /// Taint each account received, per asset (including services).
    pub received: HashMap<(AccountId, AssetId), U256>,
}

/// A pool: a balance with its tainted part (haircut) or lots (FIFO).
#[derive(Default)]
struct Pool {
    balance: U256,
    tainted: U256,
    /// FIFO only: (amount, tainted) in arrival order, adjacent kinds merged.
    lots: VecDeque<(U256, bool)>,
}

fn mul_div(a: U256, b: U256, c: U256) -> U256 {
    if c.is_zero() {
        return U256::ZERO;
    }
    let p: U512 = a.widening_mul(b);
    let q = p / U512::from(c);
    U256::from_limbs_slice(&q.as_limbs()[..4])
}

impl Pool {
    /// Takes `x` out; returns the pieces (amount, tainted) in order.
    fn take(&mut self, x: U256, model: Model, out: &mut Vec<(U256, bool)>) {
        out.clear();
        if self.tainted.is_zero() {
            // A clean pool (most of them): no arithmetic on taint, and for
            // FIFO its lots are one clean lot.
            let n = self.balance.min(x);
            self.balance -= n;
            if model == Model::Fifo {
                match self.lots.front_mut() {
                    Some(l) if l.0 > n => l.0 -= n,
                    Some(_) => {
                        self.lots.pop_front();
                    }
                    None => {}
                }
            }
            out.push((x, false));
            return;
        }
        match model {
            Model::Haircut => {
                let b = self.balance.max(x);
                let t = mul_div(x, self.tainted, b);
                self.tainted -= t;
                self.balance = b - x;
                if !t.is_zero() {
                    out.push((t, true));
                }
                if t < x {
                    out.push((x - t, false));
                }
            }
            Model::Fifo => {
                let mut need = x;
                while !need.is_zero() {
                    let Some(front) = self.lots.front_mut() else {
                        break;
                    };
                    let n = front.0.min(need);
                    out.push((n, front.1));
                    front.0 -= n;
                    need -= n;
                    if front.1 {
                        self.tainted -= n;
                    }
                    self.balance -= n;
                    if front.0.is_zero() {
                        self.lots.pop_front();
                    }
                }
                if !need.is_zero() {
                    out.push((need, false));
                }
            }
        }
    }

    fn put(&mut self, pieces: &[(U256, bool)], model: Model) {
        for &(n, t) in pieces {
            if n.is_zero() {
                continue;
            }
            self.balance += n;
            if t {
                self.tainted += n;
            }
            if model == Model::Fifo {
                match self.lots.back_mut() {
                    Some(back) if back.1 == t => back.0 += n,
                    _ => self.lots.push_back((n, t)),
                }
            }
        }
    }

    /// Marks up to `x` of the clean value as tainted, newest first (a swap's
    /// proceeds are the newest lots); returns how much was marked.
    fn retaint(&mut self, x: U256, model: Model) -> U256 {
        let clean = self.balance - self.tainted;
        let x = x.min(clean);
        self.tainted += x;
        if model == Model::Fifo {
            let mut need = x;
            let mut i = self.lots.len();
            while !need.is_zero() && i > 0 {
                i -= 1;
                if self.lots[i].1 {
                    continue;
                }
                let n = self.lots[i].0.min(need);
                need -= n;
                if n == self.lots[i].0 {
                    self.lots[i].1 = true;
                } else {
                    self.lots[i].0 -= n;
                    self.lots.insert(i + 1, (n, true));
                }
            }
            // Merge neighbours of equal kind.
            let mut merged: VecDeque<(U256, bool)> = VecDeque::with_capacity(self.lots.len());
            for l in self.lots.drain(..) {
                match merged.back_mut() {
                    Some(b) if b.1 == l.1 => b.0 += l.0,
                    _ => merged.push_back(l),
                }
            }
            self.lots = merged;
        }
        x
    }
}

/// The pools, by keys of dense ids chosen by this crate (see [`chainhound_types::IdHasher`]).
type Pools = IdMap<u64, Pool>;

fn key(a: u32, asset: u32) -> u64 {
    ((a as u64) << 32) | asset as u64
}

fn tainted_of(pieces: &[(U256, bool)]) -> U256 {
    pieces
        .iter()
        .filter(|p| p.1)
        .fold(U256::ZERO, |s, p| s + p.0)
}

/// Replays the store's transfers from `cfg.from_block` and follows the
/// taint of `seeds`.
pub fn trace(store: &EvmStore, labels: &Labels, seeds: &[Seed], cfg: &TraceConfig) -> TraceResult {
    let model = cfg.model;
    let mut source = vec![false; store.account_count()];
    for s in seeds {
        if let Seed::Account(a) = s {
            if let Some(x) = source.get_mut(a.0 as usize) {
                *x = true;
            }
        }
    }
    let seed_txs: HashSet<u64> = seeds
        .iter()
        .filter_map(|s| match s {
            Seed::Tx(t) => Some(t.0),
            Seed::Account(_) => None,
        })
        .collect();
    let service: Vec<Option<Role>> = if cfg.stop_at_services {
        (0..store.account_count() as u32)
            .map(|a| labels.service(AccountId(a)))
            .collect()
    } else {
        vec![None; store.account_count()]
    };
    let first_block = store
        .blocks()
        .partition_point(|b| b.number < cfg.from_block);
    let (mut next_tx, start) = match first_block.checked_sub(1) {
        Some(i) => (store.blocks()[i].tx_end, store.blocks()[i].transfer_end),
        None => (0, 0),
    };
    let txs = store.txs();
    let transfers = store.transfers();
    let mut pools = Pools::default();
    let mut res = TraceResult::default();
    let mut absorbed: HashMap<(u32, u32), (Role, U256)> = HashMap::new();
    let mut pieces = Vec::with_capacity(8);
    // The current transaction's swaps: (account, asset sent, amount, tainted).
    let mut swaps: Vec<(u32, u32, U256, U256)> = Vec::new();
    let mut cur_tx = NONE64;
    let mut cur_start = start;

    let pay_fee =
        |pools: &mut Pools, res: &mut TraceResult, tx: u64, pieces: &mut Vec<(U256, bool)>| {
            let t = &txs[tx as usize];
            if t.fee == 0 || source[t.from as usize] {
                return;
            }
            let p = pools.entry(key(t.from, 0)).or_default();
            if p.tainted.is_zero() && model == Model::Haircut {
                p.balance = p.balance.saturating_sub(U256::from(t.fee));
                return;
            }
            p.take(U256::from(t.fee), model, pieces);
            let tainted = tainted_of(pieces);
            res.totals.entry(AssetId::NATIVE).or_default().fees += tainted;
        };

    let finish_swaps = |pools: &mut Pools,
                        res: &mut TraceResult,
                        swaps: &mut Vec<(u32, u32, U256, U256)>,
                        range: std::ops::Range<u64>| {
        for (a, x_asset, x, t) in swaps.drain(..) {
            for i in range.clone() {
                let tr = &transfers[i as usize];
                if tr.to != a || tr.asset == x_asset || tr.amount.is_zero() {
                    continue;
                }
                let portion = mul_div(tr.amount, t, x);
                let got = pools
                    .entry(key(a, tr.asset))
                    .or_default()
                    .retaint(portion, model);
                res.totals.entry(AssetId(tr.asset)).or_default().swapped_in += got;
            }
        }
    };

    for i in start..transfers.len() as u64 {
        let tr = &transfers[i as usize];
        if tr.tx != cur_tx {
            finish_swaps(&mut pools, &mut res, &mut swaps, cur_start..i);
            cur_tx = tr.tx;
            cur_start = i;
        }
        if tr.tx != NONE64 {
            while next_tx <= tr.tx {
                pay_fee(&mut pools, &mut res, next_tx, &mut pieces);
                next_tx += 1;
            }
        }
        let asset = AssetId(tr.asset);
        let x = tr.amount;
        if x.is_zero() {
            continue;
        }
        if source[tr.from as usize] {
            res.totals.entry(asset).or_default().seeded += x;
            pieces.clear();
            pieces.push((x, true));
        } else {
            pools
                .entry(key(tr.from, tr.asset))
                .or_default()
                .take(x, model, &mut pieces);
        }
        if !seed_txs.is_empty() && tr.tx != NONE64 && seed_txs.contains(&tr.tx) {
            let had = tainted_of(&pieces);
            res.totals.entry(asset).or_default().seeded += x - had;
            pieces.clear();
            pieces.push((x, true));
        }
        let t = tainted_of(&pieces);
        if !t.is_zero() {
            res.edge_count += 1;
            if res.edges.len() < cfg.max_edges {
                res.edges.push(TaintedTransfer {
                    transfer: TransferId(i),
                    tainted: t,
                });
            }
            *res.received.entry((AccountId(tr.to), asset)).or_default() += t;
        }
        if source[tr.to as usize] {
            res.totals.entry(asset).or_default().returned += t;
            continue;
        }
        match service[tr.to as usize] {
            Some(role) => {
                // Services keep no taint: their pools are not tracked.
                if t.is_zero() {
                    continue;
                }
                let from_service = service[tr.from as usize].is_some();
                if role == Role::Dex && cfg.follow_swaps && !from_service {
                    res.totals.entry(asset).or_default().swapped_out += t;
                    swaps.push((tr.from, tr.asset, x, t));
                } else {
                    res.totals.entry(asset).or_default().absorbed += t;
                    absorbed
                        .entry((tr.to, tr.asset))
                        .or_insert((role, U256::ZERO))
                        .1 += t;
                }
            }
            None => pools
                .entry(key(tr.to, tr.asset))
                .or_default()
                .put(&pieces, model),
        }
    }
    finish_swaps(
        &mut pools,
        &mut res,
        &mut swaps,
        cur_start..transfers.len() as u64,
    );
    while (next_tx as usize) < txs.len() {
        pay_fee(&mut pools, &mut res, next_tx, &mut pieces);
        next_tx += 1;
    }
    for (k, p) in &pools {
        if !p.tainted.is_zero() {
            let (a, asset) = (AccountId((k >> 32) as u32), AssetId(*k as u32));
            res.totals.entry(asset).or_default().held += p.tainted;
            res.holdings.push((a, asset, p.tainted));
        }
    }
    res.holdings
        .sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    res.absorbed = absorbed
        .into_iter()
        .map(|((a, s), (r, v))| (AccountId(a), AssetId(s), r, v))
        .collect();
    res.absorbed
        .sort_by(|a, b| b.3.cmp(&a.3).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    res
}

/// How much of what an account received came from accounts of each role.
#[derive(Clone, Debug, Default)]
pub struct Exposure {
    /// Per (role, asset): value received directly from accounts with the role.
    pub direct: BTreeMap<(Role, AssetId), U256>,
    /// Per (role, asset): tainted value received (directly or through any
    /// number of non-service hops) under the model.
    pub indirect: BTreeMap<(Role, AssetId), U256>,
}

/// The exposure of `target` to every role in `roles`: one trace per role
/// seeded with the accounts having it.
pub fn exposure(
    store: &EvmStore,
    labels: &Labels,
    target: AccountId,
    roles: &[Role],
    model: Model,
) -> Exposure {
    let mut e = Exposure::default();
    for &role in roles {
        let seeds: Vec<Seed> = labels
            .with_role(role)
            .into_iter()
            .filter(|&a| a != target)
            .map(Seed::Account)
            .collect();
        if seeds.is_empty() {
            continue;
        }
        for t in store.incoming(target) {
            let tr = store.transfer(t);
            if labels.roles(AccountId(tr.from)).any(|r| r == role) {
                *e.direct.entry((role, AssetId(tr.asset))).or_default() += tr.amount;
            }
        }
        let cfg = TraceConfig {
            model,
            max_edges: 0,
            ..Default::default()
        };
        let r = trace(store, labels, &seeds, &cfg);
        for ((a, asset), v) in r.received {
            if a == target {
                *e.indirect.entry((role, asset)).or_default() += v;
            }
        }
    }
    e
}
