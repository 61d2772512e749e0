//! CoinJoin coordinators: Whirlpool (tx0 + 5×5 mixes in fixed pools),
//! Wasabi 1.x (equal ~0.1 BTC outputs plus change) and Wasabi 2.x (standard
//! denominations). Participants keep their own coins: a CoinJoin's inputs
//! have many owners, which the truth records.

use crate::script::ScriptKind;
use crate::truth::CoinJoinKind;
use crate::tx::{fee_for, AddrRef, Dest, TxMeta, Utxo};
use crate::wallet::Profile;
use crate::world::{Credit, TxPlan, World, COIN, THIEF};

/// One Whirlpool pool.
pub(crate) struct WhirlPool {
    /// Output value of every mix.
    pub denom: u64,
    /// Coordinator fee paid in each tx0.
    pub pool_fee: u64,
    /// Premix outputs waiting for a mix: (owner wallet or THIEF, coin).
    pub premix: Vec<(u32, Utxo)>,
    /// Mixed outputs remixing for free.
    pub liquidity: Vec<(u32, Utxo)>,
    /// Coordinator fee addresses (reused).
    pub fee_addrs: Vec<u32>,
}

/// The coordinators' state.
#[derive(Default)]
pub(crate) struct CoinJoins {
    pub whirl: Vec<WhirlPool>,
    pub whirl_wallet: u32,
    pub wasabi_wallet: u32,
    pub wasabi1_addr: u32,
    pub wasabi2_addrs: Vec<u32>,
    /// Wasabi 2 standard denominations, ascending.
    pub denoms: Vec<u64>,
}

/// Whirlpool's pools: (denomination, pool fee), as Samourai ran them.
const POOLS: [(u64, u64); 4] = [
    (100_000, 5_000),
    (1_000_000, 50_000),
    (5_000_000, 175_000),
    (50_000_000, 1_750_000),
];

/// Wasabi 2's standard denominations: 1/2/5·10ⁿ, 2ⁿ, 3ⁿ and 2·3ⁿ satoshis
/// from 5,000 up to 2³⁷.
pub(crate) fn wasabi2_denominations() -> Vec<u64> {
    const MAX: u64 = 1 << 37;
    let mut v = Vec::new();
    let mut p10 = 1u64;
    while p10 <= MAX {
        v.extend([p10, 2 * p10, 5 * p10]);
        p10 *= 10;
    }
    let mut p2 = 1u64;
    while p2 <= MAX {
        v.push(p2);
        p2 *= 2;
    }
    let mut p3 = 1u64;
    while p3 <= MAX {
        v.extend([p3, 2 * p3]);
        p3 *= 3;
    }
    v.retain(|d| (5_000..=MAX).contains(d));
    v.sort_unstable();
    v.dedup();
    v
}

/// Creates the coordinator wallets and pools.
pub(crate) fn setup(w: &mut World<'_>) {
    let wc = w.econ.whirl_coord;
    let sc = w.econ.wasabi_coord;
    w.cj.whirl_wallet = w.wallets.len() as u32;
    w.wallets.push(crate::wallet::Wallet::new(
        wc,
        ScriptKind::P2wpkh,
        Profile::Legacy,
    ));
    w.cj.wasabi_wallet = w.wallets.len() as u32;
    w.wallets.push(crate::wallet::Wallet::new(
        sc,
        ScriptKind::P2wpkh,
        Profile::Legacy,
    ));
    for (denom, pool_fee) in POOLS {
        let fee_addrs = (0..3)
            .map(|_| w.book.create(wc, ScriptKind::P2wpkh).id)
            .collect();
        w.cj.whirl.push(WhirlPool {
            denom,
            pool_fee,
            premix: Vec::new(),
            liquidity: Vec::new(),
            fee_addrs,
        });
    }
    w.cj.wasabi1_addr = w.book.create(sc, ScriptKind::P2wpkh).id;
    w.cj.wasabi2_addrs = (0..4)
        .map(|_| w.book.create(sc, ScriptKind::P2wpkh).id)
        .collect();
    w.cj.denoms = wasabi2_denominations();
}

const MIX_META: TxMeta = TxMeta {
    version: 1,
    lock_time: 0,
    sequence: 0xffff_ffff,
};

impl World<'_> {
    /// Value of a premix output in `pool`: the denomination plus this
    /// entrant's share of the mix fee.
    pub(crate) fn premix_value(&self, pool: usize) -> u64 {
        self.cj.whirl[pool].denom + (self.fee_base * 1.2 * 260.0).max(500.0) as u64
    }

    /// Adds a tx0's premix, coordinator-fee and `OP_RETURN` outputs: `n`
    /// premixes owned by `owner` (a wallet or THIEF) of `entity`.
    pub(crate) fn tx0_outputs(
        &mut self,
        p: &mut TxPlan,
        entity: u32,
        owner: u32,
        pool: usize,
        n: u64,
    ) {
        let premix = self.premix_value(pool);
        for _ in 0..n {
            let a = self.book.create(entity, ScriptKind::P2wpkh);
            p.pay(
                premix,
                a,
                Credit::Premix {
                    pool: pool as u8,
                    owner,
                },
            );
        }
        let fa = &self.cj.whirl[pool].fee_addrs;
        let fee_addr = self.book.get(fa[self.rng.index(fa.len())]);
        p.pay(
            self.cj.whirl[pool].pool_fee,
            fee_addr,
            Credit::Wallet(self.cj.whirl_wallet),
        );
        p.out(0, Dest::OpReturn(46), Credit::None);
    }

    /// A privacy user enters Whirlpool.
    pub(crate) fn whirlpool_tx0(&mut self) -> bool {
        if self.econ.privacy.is_empty() {
            return false;
        }
        for _ in 0..10 {
            let w = self.econ.privacy[self.rng.index(self.econ.privacy.len())];
            let bal = self.wallets[w as usize].balance;
            let Some(pool) = (0..POOLS.len()).rev().find(|&i| {
                bal > self.premix_value(i) + self.cj.whirl[i].pool_fee + 50_000
                    && self.rng.chance(0.7)
            }) else {
                continue;
            };
            let premix = self.premix_value(pool);
            let max = ((bal - self.cj.whirl[pool].pool_fee - 50_000) / premix).clamp(1, 70);
            let n = self.rng.range(1, max);
            let entity = self.wallets[w as usize].entity;
            let rate = self.fee_rate(1.0);
            let mut p = self.plan();
            self.tx0_outputs(&mut p, entity, w, pool, n);
            let ok = match self.fund(w, &mut p, rate, ScriptKind::P2wpkh.output_weight(), 50) {
                Some(change) => {
                    if change > 0 {
                        let a = self.book.create(entity, ScriptKind::P2wpkh);
                        p.pay(change, a, Credit::Wallet(w));
                    }
                    let txid = self.emit(&p, MIX_META);
                    self.record_coinjoin(txid, CoinJoinKind::WhirlpoolTx0, false);
                    true
                }
                None => false,
            };
            self.recycle(p);
            return ok;
        }
        false
    }

    /// The coordinator runs one 5-input, 5-output mix in some pool.
    pub(crate) fn whirlpool_mix(&mut self) -> bool {
        let weights: Vec<f64> = self
            .cj
            .whirl
            .iter()
            .map(|p| p.premix.len() as f64)
            .collect();
        if weights.iter().all(|w| *w == 0.0) {
            return false;
        }
        let pi = self.rng.weighted(&weights);
        let pool = &mut self.cj.whirl[pi];
        // Keep liquidity bounded: long-idle remixers go home.
        if pool.liquidity.len() > 400 {
            let (owner, u) = pool.liquidity.swap_remove(self.rng.index(400));
            self.release_postmix(owner, u);
        }
        let pool = &mut self.cj.whirl[pi];
        let mut picked: Vec<(u32, Utxo, bool)> = Vec::with_capacity(5);
        let owner_ok =
            |picked: &[(u32, Utxo, bool)], o: u32| picked.iter().filter(|x| x.0 == o).count() < 2;
        let want_pre = if pool.liquidity.len() >= 3 { 2 } else { 5 };
        for _ in 0..12 {
            if picked.len() >= want_pre || pool.premix.is_empty() {
                break;
            }
            let i = self.rng.index(pool.premix.len());
            if owner_ok(&picked, pool.premix[i].0) {
                let (o, u) = pool.premix.swap_remove(i);
                picked.push((o, u, true));
            }
        }
        for _ in 0..20 {
            if picked.len() >= 5 || pool.liquidity.is_empty() {
                break;
            }
            let i = self.rng.index(pool.liquidity.len());
            if owner_ok(&picked, pool.liquidity[i].0) {
                let (o, u) = pool.liquidity.swap_remove(i);
                picked.push((o, u, false));
            }
        }
        if picked.len() < 5 || !picked.iter().any(|x| x.2) {
            for (o, u, pre) in picked {
                if pre {
                    pool.premix.push((o, u));
                } else {
                    pool.liquidity.push((o, u));
                }
            }
            return false;
        }
        let denom = pool.denom;
        let mut p = self.plan();
        let mut thief = false;
        for (o, u, _) in &picked {
            p.ins.push(*u);
            thief |= *o == THIEF;
        }
        for (o, _, _) in &picked {
            let entity = self.owner_entity(*o);
            let a = self.book.create(entity, ScriptKind::P2wpkh);
            p.pay(
                denom,
                a,
                Credit::Postmix {
                    pool: pi as u8,
                    owner: *o,
                },
            );
        }
        p.shuffle_outs(&mut self.rng);
        self.rng.shuffle(&mut p.ins);
        let txid = self.emit(&p, MIX_META);
        self.record_coinjoin(txid, CoinJoinKind::Whirlpool, thief);
        self.recycle(p);
        true
    }

    fn owner_entity(&self, owner: u32) -> u32 {
        if owner == THIEF {
            self.thief.entity
        } else {
            self.wallets[owner as usize].entity
        }
    }

    /// Picks up to `k` distinct privacy users that pass `ok`.
    fn pick_privacy(&mut self, k: usize, ok: impl Fn(&World<'_>, u32) -> bool) -> Vec<u32> {
        let mut chosen = Vec::with_capacity(k);
        if self.econ.privacy.is_empty() {
            return chosen;
        }
        for _ in 0..k * 4 {
            if chosen.len() >= k {
                break;
            }
            let w = self.econ.privacy[self.rng.index(self.econ.privacy.len())];
            if !chosen.contains(&w) && ok(self, w) {
                chosen.push(w);
            }
        }
        chosen
    }

    /// A Wasabi 1.x round: equal outputs of about 0.1 BTC, change, and one
    /// coordinator fee output.
    pub(crate) fn wasabi1_round(&mut self) -> bool {
        let d = (COIN as f64 / 10.0 * self.rng.uniform(0.97, 1.03)) as u64;
        let k = self.rng.range(20, 100) as usize;
        let coord_fee = d * 3 / 1000;
        let rate = self.fee_rate(1.0);
        let need = d + coord_fee + 100_000;
        let n_thief = self.thief.wasabi1_q.len().min(k * 3 / 10);
        let users = self.pick_privacy(k - n_thief, |w, u| w.wallets[u as usize].balance > need);
        if users.len() + n_thief < 5 {
            return false;
        }
        let mut p = self.plan();
        let mut coord_total = 0;
        let out_w = ScriptKind::P2wpkh.output_weight();
        let mut sub = self.plan();
        for &u in &users {
            sub.clear();
            // Placeholder for the mixed output, so `fund` charges its weight.
            let slot = AddrRef {
                id: 0,
                kind: ScriptKind::P2wpkh,
                prog: [0; 32],
            };
            sub.pay(d + coord_fee, slot, Credit::None);
            let Some(change) = self.fund(u, &mut sub, rate, out_w, 5) else {
                continue;
            };
            let entity = self.wallets[u as usize].entity;
            // `fund` charged one tx overhead per participant: hand it to the
            // miner, like Wasabi's rounding did.
            p.ins.append(&mut sub.ins);
            let a = self.book.create(entity, ScriptKind::P2wpkh);
            p.pay(d, a, Credit::Wallet(u));
            if change > 0 {
                let c = self.book.create(entity, ScriptKind::P2wpkh);
                p.pay(change, c, Credit::Wallet(u));
            }
            coord_total += coord_fee;
        }
        self.recycle(sub);
        let mut thief = false;
        for _ in 0..n_thief {
            let i = self.rng.index(self.thief.wasabi1_q.len());
            let u = self.thief.wasabi1_q.swap_remove(i);
            let fee = fee_for(u.kind.input_weight() + 2 * out_w, rate);
            let Some(change) = u.value.checked_sub(d + coord_fee + fee) else {
                self.thief.wasabi1_q.push(u);
                continue;
            };
            thief = true;
            p.ins.push(u);
            let a = self.book.create(self.thief.entity, ScriptKind::P2wpkh);
            p.pay(d, a, Credit::ThiefPostmix);
            if change >= 10_000 {
                let tag = self.thief.tag_hop_cashout(&mut self.rng);
                let c = self.book.create(self.thief.entity, ScriptKind::P2wpkh);
                p.pay(change, c, Credit::Thief(tag));
            }
            coord_total += coord_fee;
        }
        if p.ins.is_empty() {
            self.recycle(p);
            return false;
        }
        let fee_addr = self.book.get(self.cj.wasabi1_addr);
        p.pay(coord_total, fee_addr, Credit::Wallet(self.cj.wasabi_wallet));
        p.shuffle_outs(&mut self.rng);
        self.rng.shuffle(&mut p.ins);
        let txid = self.emit(&p, MIX_META);
        self.record_coinjoin(txid, CoinJoinKind::Wasabi1, thief);
        self.recycle(p);
        true
    }

    /// Splits `avail` into standard denominations, `out_fee` per output.
    fn decompose(&mut self, mut avail: u64, out_fee: u64, into: &mut Vec<u64>) {
        into.clear();
        while into.len() < 10 && avail >= self.cj.denoms[0] + out_fee {
            let top = self.cj.denoms.partition_point(|d| *d + out_fee <= avail);
            let pick = top - 1 - self.rng.index(top.min(3));
            let d = self.cj.denoms[pick];
            into.push(d);
            avail -= d + out_fee;
        }
    }

    /// A Wasabi 2.x round: every participant's coins come out as standard
    /// denominations; the coordinator takes 0.3 % from inputs of 0.01 BTC
    /// and more.
    pub(crate) fn wasabi2_round(&mut self) -> bool {
        let k = self.rng.range(30, 150) as usize;
        let rate = self.fee_rate(1.0);
        let n_thief = self.thief.wasabi2_q.len().min(k * 3 / 10);
        let users = self.pick_privacy(k - n_thief, |w, u| w.wallets[u as usize].balance > 30_000);
        if users.len() + n_thief < 5 {
            return false;
        }
        let mut p = self.plan();
        let mut coord_total = 0u64;
        let mut values = Vec::new();
        let mut ins: Vec<Utxo> = Vec::new();
        let mut thief = false;
        let n_parts = users.len() + n_thief;
        for i in 0..n_parts {
            ins.clear();
            let owner = if i < users.len() {
                let u = users[i];
                let n = self.rng.range(1, 3) as usize;
                for _ in 0..n {
                    let wl = &mut self.wallets[u as usize];
                    if wl.utxos.is_empty() || p.ins.len() + ins.len() >= 400 {
                        break;
                    }
                    let j = self.rng.index(wl.utxos.len());
                    ins.push(wl.take(j));
                }
                self.touch(u);
                u
            } else {
                if self.thief.wasabi2_q.is_empty() || p.ins.len() >= 400 {
                    break;
                }
                let j = self.rng.index(self.thief.wasabi2_q.len());
                ins.push(self.thief.wasabi2_q.swap_remove(j));
                THIEF
            };
            let kind = if owner != THIEF && self.rng.chance(0.3) {
                ScriptKind::P2tr
            } else {
                ScriptKind::P2wpkh
            };
            let sum: u64 = ins.iter().map(|u| u.value).sum();
            let in_fee = fee_for(ins.iter().map(|u| u.kind.input_weight()).sum(), rate);
            let coord = if sum >= COIN / 100 { sum * 3 / 1000 } else { 0 };
            let out_fee = fee_for(kind.output_weight(), rate);
            let avail = sum.saturating_sub(in_fee + coord);
            self.decompose(avail, out_fee, &mut values);
            if values.is_empty() {
                // Not worth mixing: the coins go back untouched.
                for u in ins.drain(..) {
                    if owner == THIEF {
                        self.thief.wasabi2_q.push(u);
                    } else {
                        self.wallets[owner as usize].push(u);
                    }
                }
                if owner != THIEF {
                    self.touch(owner);
                }
                continue;
            }
            thief |= owner == THIEF;
            coord_total += coord;
            p.ins.extend_from_slice(&ins);
            let entity = self.owner_entity(owner);
            for &v in &values {
                let a = self.book.create(entity, kind);
                let credit = if owner == THIEF {
                    Credit::ThiefPostmix
                } else {
                    Credit::Wallet(owner)
                };
                p.pay(v, a, credit);
            }
        }
        if p.ins.len() < 5 {
            // Too few takers: give everything back.
            let ins: Vec<Utxo> = p.ins.drain(..).collect();
            for u in ins {
                self.return_coin(u);
            }
            self.recycle(p);
            return false;
        }
        if coord_total >= 5_000 {
            let fa = &self.cj.wasabi2_addrs;
            let a = self.book.get(fa[self.rng.index(fa.len())]);
            p.pay(coord_total, a, Credit::Wallet(self.cj.wasabi_wallet));
        }
        // Wasabi 2 orders inputs and outputs by value, largest first.
        p.ins.sort_by_key(|u| std::cmp::Reverse(u.value));
        let mut order: Vec<usize> = (0..p.outs.len()).collect();
        order.sort_by(|&a, &b| p.outs[b].value.cmp(&p.outs[a].value));
        let outs: Vec<_> = order.iter().map(|&i| p.outs[i]).collect();
        let credits: Vec<_> = order.iter().map(|&i| p.credits[i]).collect();
        p.outs = outs;
        p.credits = credits;
        let txid = self.emit(&p, TxMeta::V2_FINAL);
        self.record_coinjoin(txid, CoinJoinKind::Wasabi2, thief);
        self.recycle(p);
        true
    }

    /// Puts a coin that was pulled for a round back where it came from.
    fn return_coin(&mut self, u: Utxo) {
        let e = self.book.owner(u.addr);
        if e == self.thief.entity {
            self.thief.wasabi2_q.push(u);
            return;
        }
        // Privacy users: wallet ids follow entity ids at a fixed offset.
        let w = self.econ.user0 + (e - self.wallets[self.econ.user0 as usize].entity);
        self.wallets[w as usize].push(u);
        self.touch(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denominations_are_the_standard_set() {
        let d = wasabi2_denominations();
        assert_eq!(d[0], 5_000);
        for v in [
            6_561,
            8_192,
            10_000,
            13_122,
            20_000,
            50_000,
            100_000,
            1 << 20,
            1 << 37,
        ] {
            assert!(d.binary_search(&v).is_ok(), "{v}");
        }
        assert!(d.windows(2).all(|w| w[0] < w[1]));
    }
}
