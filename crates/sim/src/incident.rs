//! The incident: the Lazarus-style thief drains one exchange's hot wallet,
//! then launders the loot, interleaved with normal traffic, through fan-outs,
//! peel chains, hop chains, Whirlpool and Wasabi rounds, consolidations, a
//! dormant stockpile and cash-outs into other exchanges' deposit addresses.
//!
//! Scale: the theft happens when 40 % of the chain's transactions exist.
//! The laundering is planned to author at least
//! [`launder_target`] transactions — a tenth of the chain below 50,000
//! transactions, otherwise 1 % of the chain but never fewer than 5,000 nor
//! more than 50,000 — and runs until about 93 % of the chain, continuing to
//! the end if it is behind. The plan's peel chains alone hold 80 % of the
//! target; hops, splits, tx0s, consolidations, cash-outs and CoinJoins with
//! thief inputs come on top.

use crate::economy::humanize;
use crate::rng::Rng;
use crate::script::ScriptKind;
use crate::tx::{fee_for, AddrRef, Dest, TxMeta, Utxo};
use crate::world::{Credit, TxPlan, World, COIN};

/// Thief coins below this are not worth moving (fees can reach ~40k sats).
const MIN_COIN: u64 = 100_000;

/// What a hop chain leads to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Then {
    Cashout,
    Stock,
}

/// What the thief does next with one coin.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Peel a small payment off, keep the rest on the chain.
    Peel { left: u32 },
    /// 1-in-1-out to a fresh address.
    Hop { left: u8, then: Then },
    /// Deposit into other exchanges.
    Cashout,
    /// Enter Whirlpool with a tx0.
    Whirl,
    /// Split into Wasabi-1-sized coins.
    Wasabi1Split,
    /// Split into coins for Wasabi 2.
    Wasabi2Split,
    /// Wait for a Wasabi 1 round.
    Wasabi1Join,
    /// Wait for a Wasabi 2 round.
    Wasabi2Join,
    /// Split into parked coins.
    StockSplit,
    /// Parked for good.
    Dormant,
}

/// A coin's plan: a fan-out into groups of leaves, a fan-out into leaves,
/// or one role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    Groups(Vec<Vec<Role>>),
    Leaves(Vec<Role>),
    Role(Role),
}

/// One cash-out output.
pub(crate) struct CashRec {
    pub ex: usize,
    pub addr: u32,
    pub txid: [u8; 32],
    pub vout: u32,
    pub sats: u64,
}

/// The thief's state and the incident's record.
#[derive(Default)]
pub(crate) struct Thief {
    pub entity: u32,
    pub victim: usize,
    pub started: bool,
    /// Set once the theft happened: from then on, spends of thief coins are
    /// recorded as laundering.
    pub active: bool,
    pub theft_at: u64,
    pub end_at: u64,
    pub target: u64,
    pub est_steps: u64,
    /// Laundering transactions the thief authored.
    pub steps: u64,
    pub coins: Vec<(Utxo, Plan)>,
    pub postmix: Vec<Utxo>,
    pub wasabi1_q: Vec<Utxo>,
    pub wasabi2_q: Vec<Utxo>,
    pub stockpile: Vec<Utxo>,
    /// Coins too small to move.
    pub stuck: Vec<Utxo>,
    /// Plans of the outputs of the transaction being built, by tag.
    pub pending: Vec<Plan>,
    /// Deposit addresses of the thief's accounts per exchange.
    pub mules: Vec<Vec<u32>>,
    pub mule_count: u64,
    pub cash_weights: Vec<f64>,
    pub laundering: Vec<[u8; 32]>,
    pub theft_txids: Vec<[u8; 32]>,
    pub stolen: u64,
    pub height: u32,
    pub cashouts: Vec<CashRec>,
    pub consolidate_at: usize,
}

/// Laundering transactions planned for a chain of `txs` transactions.
pub fn launder_target(txs: u64) -> u64 {
    if txs < 50_000 {
        txs / 10
    } else {
        (txs / 100).clamp(5_000, 50_000)
    }
}

impl Thief {
    /// Registers the plan of an output of the transaction being built.
    pub(crate) fn tag(&mut self, plan: Plan) -> u32 {
        self.pending.push(plan);
        (self.pending.len() - 1) as u32
    }

    /// Tag for "hop a few times, then cash out".
    pub(crate) fn tag_hop_cashout(&mut self, rng: &mut Rng) -> u32 {
        self.tag(Plan::Role(Role::Hop {
            left: rng.range(1, 4) as u8,
            then: Then::Cashout,
        }))
    }

    /// Takes in a new thief output.
    pub(crate) fn accept(&mut self, tag: u32, u: Utxo) {
        match self.pending[tag as usize].clone() {
            Plan::Role(Role::Dormant) => self.stockpile.push(u),
            Plan::Role(Role::Wasabi1Join) => self.wasabi1_q.push(u),
            Plan::Role(Role::Wasabi2Join) => self.wasabi2_q.push(u),
            plan => self.coins.push((u, plan)),
        }
    }

    /// Whether the thief should act now to stay on its schedule.
    pub(crate) fn due(&self, total: u64, rng: &mut Rng) -> bool {
        if !self.active {
            return false;
        }
        if total >= self.end_at {
            return rng.chance(0.5);
        }
        let frac = (total - self.theft_at) as f64 / (self.end_at - self.theft_at) as f64;
        (self.steps as f64) < self.est_steps as f64 * frac
    }
}

fn role_weight(r: &Role) -> f64 {
    match r {
        Role::Peel { left } => f64::from(*left) / 110.0,
        Role::Whirl => 0.8,
        Role::Wasabi1Split => 0.5,
        Role::Wasabi2Split => 0.6,
        Role::Hop {
            then: Then::Stock, ..
        } => 2.0,
        _ => 0.3,
    }
}

fn plan_weight(p: &Plan) -> f64 {
    match p {
        Plan::Groups(gs) => gs.iter().flatten().map(role_weight).sum(),
        Plan::Leaves(rs) => rs.iter().map(role_weight).sum(),
        Plan::Role(r) => role_weight(r),
    }
}

/// Splits `total` into parts proportional to `weights` (jittered), summing
/// exactly to `total`.
fn split_by(total: u64, weights: &[f64], rng: &mut Rng) -> Vec<u64> {
    let w: Vec<f64> = weights
        .iter()
        .map(|x| x.max(0.01) * rng.uniform(0.7, 1.3))
        .collect();
    let sum: f64 = w.iter().sum();
    let mut out: Vec<u64> = w.iter().map(|x| (total as f64 * x / sum) as u64).collect();
    let used: u64 = out.iter().sum();
    out[0] += total - used;
    out
}

/// Picks the theft parameters.
pub(crate) fn setup(w: &mut World<'_>) {
    let n = w.cfg.txs;
    let t = &mut w.thief;
    t.entity = w.econ.thief_entity;
    t.theft_at = n * 2 / 5;
    t.end_at = n * 93 / 100;
    t.target = launder_target(n);
    t.mules = vec![Vec::new(); w.econ.exchanges.len()];
    // Lax-KYC venues take more of the loot (the victim is excluded later).
    let base = [0.12, 0.12, 0.12, 0.09, 0.20, 0.10, 0.25];
    t.cash_weights = (0..w.econ.exchanges.len()).map(|i| base[i % 7]).collect();
    t.consolidate_at = w.rng.range(3, 12) as usize;
}

impl World<'_> {
    fn thief_meta(&mut self) -> TxMeta {
        if self.rng.chance(0.6) {
            TxMeta {
                version: 2,
                lock_time: self.chain.height,
                sequence: 0xffff_fffd,
            }
        } else {
            TxMeta::V2_FINAL
        }
    }

    /// A fresh thief address of a random type.
    fn thief_addr(&mut self, like: Option<ScriptKind>) -> AddrRef {
        const KINDS: [ScriptKind; 4] = [
            ScriptKind::P2wpkh,
            ScriptKind::P2pkh,
            ScriptKind::P2shP2wpkh,
            ScriptKind::P2tr,
        ];
        let kind = match like {
            Some(k) if k != ScriptKind::P2pk && self.rng.chance(0.85) => k,
            _ => KINDS[self.rng.weighted(&[0.55, 0.2, 0.1, 0.15])],
        };
        self.book.create(self.thief.entity, kind)
    }

    /// Pays `plan`'s coin to a fresh thief address.
    fn thief_out(&mut self, p: &mut TxPlan, value: u64, plan: Plan, like: Option<ScriptKind>) {
        let a = self.thief_addr(like);
        let tag = self.thief.tag(plan);
        p.pay(value, a, Credit::Thief(tag));
    }

    /// A deposit address of one of the thief's accounts at exchange `ex`.
    fn mule_addr(&mut self, ex: usize) -> AddrRef {
        let n = self.thief.mules[ex].len();
        if n == 0 || (n < 40 && self.rng.chance(0.12)) {
            self.thief.mule_count += 1;
            let a = self.deposit_addr((1 << 40) + self.thief.mule_count, ex);
            self.thief.mules[ex].push(a.id);
            return a;
        }
        let id = self.thief.mules[ex][self.rng.index(n)];
        self.book.get(id)
    }

    /// Adds cash-out outputs worth `value` in total (one or two exchanges).
    fn cashout_outs(&mut self, p: &mut TxPlan, value: u64) {
        let two = value > 2 * COIN / 100 && self.rng.chance(0.3);
        let parts = if two {
            let a = (value as f64 * self.rng.uniform(0.3, 0.7)) as u64;
            vec![a, value - a]
        } else {
            vec![value]
        };
        for v in parts {
            let ex = self.rng.weighted(&self.thief.cash_weights);
            let a = self.mule_addr(ex);
            p.pay(v, a, Credit::Wallet(self.econ.exchanges[ex].deposits));
        }
    }

    /// Emits a thief transaction and records its cash-outs.
    fn thief_emit(&mut self, p: &TxPlan) {
        let meta = self.thief_meta();
        let txid = self.emit(p, meta);
        self.thief.steps += 1;
        for (i, (o, c)) in p.outs.iter().zip(&p.credits).enumerate() {
            if let (Dest::Addr(a), Credit::Wallet(wl)) = (o.dest, c) {
                if let Some(ex) = self.econ.exchanges.iter().position(|e| e.deposits == *wl) {
                    self.thief.cashouts.push(CashRec {
                        ex,
                        addr: a.id,
                        txid,
                        vout: i as u32,
                        sats: o.value,
                    });
                }
            }
        }
    }

    /// The hack: the victim's hot wallet is drained into thief addresses.
    pub(crate) fn start_incident(&mut self) {
        self.thief.started = true;
        // The attackers go for the exchange holding the most.
        let bal = |w: u32| self.wallets[w as usize].balance;
        let ex = (0..self.econ.exchanges.len())
            .max_by_key(|&i| {
                let e = &self.econ.exchanges[i];
                (bal(e.hot) + bal(e.cold), i)
            })
            .expect("exchanges exist");
        self.thief.victim = ex;
        self.thief.cash_weights[ex] = 0.0;
        let (hot, cold) = (self.econ.exchanges[ex].hot, self.econ.exchanges[ex].cold);
        // The attackers strike right after a large hot-wallet top-up.
        let (hb, cb) = (
            self.wallets[hot as usize].balance,
            self.wallets[cold as usize].balance,
        );
        if cb > hb + COIN {
            let mut p = self.plan();
            let a = self.hot_addr(ex);
            p.pay(
                humanize((cb - hb) * 6 / 10, &mut self.rng),
                a,
                Credit::Wallet(hot),
            );
            let rate = self.fee_rate(0.7);
            if let Some(change) =
                self.fund(cold, &mut p, rate, ScriptKind::P2wsh.output_weight(), 200)
            {
                if change > 0 {
                    let c = self.fresh(cold);
                    self.econ.exchanges[ex].cold_addrs.push(c.id);
                    p.pay(change, c, Credit::Wallet(cold));
                }
                let meta = self.meta(crate::wallet::Profile::Legacy);
                self.emit(&p, meta);
            }
            self.recycle(p);
        }
        self.thief.active = true;
        self.thief.height = self.next_height();
        let mut utxos = std::mem::take(&mut self.wallets[hot as usize].utxos);
        let bal: u64 = utxos.iter().map(|u| u.value).sum();
        utxos.sort_by(|a, b| {
            b.value
                .cmp(&a.value)
                .then(a.txid.cmp(&b.txid))
                .then(a.vout.cmp(&b.vout))
        });
        let goal = (bal as f64 * self.rng.uniform(0.85, 0.95)) as u64;
        let mut taken = 0;
        let mut cut = 0;
        while cut < utxos.len() && taken < goal {
            taken += utxos[cut].value;
            cut += 1;
        }
        let loot: Vec<Utxo> = utxos.drain(..cut).collect();
        self.wallets[hot as usize].balance = utxos.iter().map(|u| u.value).sum();
        self.wallets[hot as usize].utxos = utxos;

        let chunks: Vec<Vec<Utxo>> = loot.chunks(150).map(<[Utxo]>::to_vec).collect();
        let mut groups = self.build_deck();
        let masters = chunks.len() * 2;
        let mut per_master: Vec<Vec<Vec<Role>>> = vec![Vec::new(); masters];
        for (i, g) in groups.drain(..).enumerate() {
            per_master[i % masters].push(g);
        }
        let mut per_master = per_master.into_iter();
        for chunk in chunks {
            let mut p = self.plan();
            p.ins = chunk;
            let plans: Vec<Plan> = (0..2)
                .map(|_| per_master.next().expect("two masters per chunk"))
                .filter(|g| !g.is_empty())
                .map(Plan::Groups)
                .collect();
            let plans = if plans.is_empty() {
                vec![Plan::Role(Role::Peel { left: 10 })]
            } else {
                plans
            };
            for _ in &plans {
                let a = self.thief_addr(Some(ScriptKind::P2wpkh));
                p.pay(0, a, Credit::None);
            }
            let rate = self.fee_rate(3.0);
            let fee = fee_for(p.weight(), rate);
            if p.in_value() < fee + MIN_COIN * plans.len() as u64 {
                // Dust is not worth stealing (only in tiny chains).
                for u in p.ins.drain(..) {
                    self.wallets[hot as usize].push(u);
                }
                self.recycle(p);
                continue;
            }
            let weights: Vec<f64> = plans.iter().map(plan_weight).collect();
            let values = split_by(p.in_value() - fee, &weights, &mut self.rng);
            for (i, (plan, v)) in plans.into_iter().zip(values).enumerate() {
                p.outs[i].value = v;
                p.credits[i] = Credit::Thief(self.thief.tag(plan));
            }
            self.thief.stolen += p.in_value();
            let txid = self.emit(&p, TxMeta::V2_FINAL);
            self.thief.theft_txids.push(txid);
            self.recycle(p);
        }
    }

    /// The laundering plan: peel chains worth 60 % of the target plus the
    /// other routes, shuffled into fan-out groups.
    fn build_deck(&mut self) -> Vec<Vec<Role>> {
        let t = self.thief.target.max(50);
        let t_peel = (t * 3).div_ceil(5);
        let n_peel = t_peel.div_ceil(110).max(3);
        let mut lens: Vec<u64> = (0..n_peel)
            .map(|_| ((t_peel / n_peel) as f64 * self.rng.uniform(0.6, 1.4)) as u64)
            .collect();
        let mut sum: u64 = lens.iter().sum();
        while sum != t_peel {
            let i = self.rng.index(lens.len());
            if sum < t_peel {
                lens[i] += 1;
                sum += 1;
            } else if lens[i] > 10 {
                lens[i] -= 1;
                sum -= 1;
            }
        }
        let mut roles: Vec<Role> = lens
            .iter()
            .map(|&l| Role::Peel { left: l as u32 })
            .collect();
        let n = n_peel as usize;
        roles.extend(std::iter::repeat_n(Role::Whirl, (n / 10).max(1)));
        roles.extend(std::iter::repeat_n(Role::Wasabi1Split, (n / 12).max(1)));
        roles.extend(std::iter::repeat_n(Role::Wasabi2Split, (n / 8).max(1)));
        for _ in 0..(n / 6).max(2) {
            roles.push(Role::Hop {
                left: self.rng.range(1, 3) as u8,
                then: Then::Stock,
            });
        }
        for _ in 0..(n / 4).max(2) {
            roles.push(Role::Hop {
                left: self.rng.range(2, 8) as u8,
                then: Then::Cashout,
            });
        }
        let leaves = roles.len() as u64;
        self.rng.shuffle(&mut roles);
        let mut groups = Vec::new();
        while !roles.is_empty() {
            let k = (self.rng.range(6, 14) as usize).min(roles.len());
            groups.push(roles.drain(..k).collect::<Vec<_>>());
        }
        // Own transactions: every peel step plus the hop chains a third of
        // the peels start, about four per other leaf (split, hops,
        // cash-outs), the fan-outs, and consolidations.
        self.thief.est_steps = 2 * t_peel + 4 * leaves + groups.len() as u64;
        groups
    }

    /// One laundering transaction, if the thief has anything to move.
    pub(crate) fn thief_step(&mut self) -> bool {
        let t = &self.thief;
        if (t.postmix.len() >= t.consolidate_at || (t.coins.is_empty() && !t.postmix.is_empty()))
            && self.consolidate_postmix()
        {
            return true;
        }
        loop {
            if self.thief.coins.is_empty() {
                return false;
            }
            let i = self.rng.index(self.thief.coins.len());
            let (u, plan) = self.thief.coins.swap_remove(i);
            if u.value < MIN_COIN {
                self.thief.stuck.push(u);
                continue;
            }
            match plan {
                Plan::Groups(gs) => self.fan_out(u, gs.into_iter().map(Plan::Leaves).collect()),
                Plan::Leaves(rs) => self.fan_out(u, rs.into_iter().map(Plan::Role).collect()),
                Plan::Role(Role::Wasabi1Join) => {
                    self.thief.wasabi1_q.push(u);
                    continue;
                }
                Plan::Role(Role::Wasabi2Join) => {
                    self.thief.wasabi2_q.push(u);
                    continue;
                }
                Plan::Role(Role::Dormant) => {
                    self.thief.stockpile.push(u);
                    continue;
                }
                Plan::Role(r) => self.exec_role(u, r),
            }
            return true;
        }
    }

    /// One input fanned out to one output per plan, value by plan weight.
    fn fan_out(&mut self, u: Utxo, plans: Vec<Plan>) {
        let mut p = self.plan();
        p.ins.push(u);
        let weights: Vec<f64> = plans.iter().map(plan_weight).collect();
        for _ in &plans {
            let a = self.thief_addr(None);
            p.pay(0, a, Credit::None);
        }
        let rate = self.fee_rate(1.3);
        let fee = fee_for(p.weight(), rate);
        let values = split_by(u.value - fee, &weights, &mut self.rng);
        for (i, (plan, v)) in plans.into_iter().zip(values).enumerate() {
            p.outs[i].value = v;
            p.credits[i] = Credit::Thief(self.thief.tag(plan));
        }
        self.thief_emit(&p);
        self.recycle(p);
    }

    /// Splits a coin into `n` parts of the given sizes with the given plan,
    /// remainder to `rest` (if worth keeping).
    fn split_into(&mut self, u: Utxo, sizes: &[u64], plan: Plan, rest: Plan) {
        let mut p = self.plan();
        p.ins.push(u);
        let rate = self.fee_rate(1.2);
        let mut total = 0;
        for &s in sizes {
            let est = fee_for(p.weight() + 2 * ScriptKind::P2pkh.output_weight(), rate);
            if total + s + est > u.value {
                break;
            }
            total += s;
            self.thief_out(&mut p, s, plan.clone(), None);
        }
        if p.outs.is_empty() {
            self.recycle(p);
            return self.exec_role(u, Role::Cashout);
        }
        let fee = fee_for(p.weight() + ScriptKind::P2pkh.output_weight(), rate);
        let change = u.value - total - fee;
        if change >= MIN_COIN {
            self.thief_out(&mut p, change, rest, Some(u.kind));
        }
        p.shuffle_outs(&mut self.rng);
        self.thief_emit(&p);
        self.recycle(p);
    }

    fn exec_role(&mut self, u: Utxo, role: Role) {
        let rate = self.fee_rate(1.5);
        let v = u.value;
        match role {
            Role::Peel { left } if left > 0 && v >= 200_000 => {
                let mut p = self.plan();
                p.ins.push(u);
                let peel = (v as f64 * self.rng.uniform(0.5, 1.5) / f64::from(left + 1)) as u64;
                let peel = humanize(peel.max(20_000), &mut self.rng).min(v / 2);
                let fee_est = fee_for(p.weight() + 3 * ScriptKind::P2pkh.output_weight(), rate);
                if v < peel + fee_est + MIN_COIN {
                    self.recycle(p);
                    return self.exec_role(u, Role::Cashout);
                }
                let r = self.rng.unit();
                if r < 0.6 {
                    self.cashout_outs(&mut p, peel);
                } else if r < 0.88 {
                    let hops = self.rng.range(1, 3) as u8;
                    self.thief_out(
                        &mut p,
                        peel,
                        Plan::Role(Role::Hop {
                            left: hops,
                            then: Then::Cashout,
                        }),
                        None,
                    );
                } else if r < 0.94 {
                    let hops = self.rng.range(1, 2) as u8;
                    self.thief_out(
                        &mut p,
                        peel,
                        Plan::Role(Role::Hop {
                            left: hops,
                            then: Then::Stock,
                        }),
                        None,
                    );
                } else {
                    self.thief_out(&mut p, peel, Plan::Role(Role::Wasabi2Join), None);
                }
                let fee = fee_for(p.weight() + u.kind.output_weight(), rate);
                let rest = v - p.out_value() - fee;
                self.thief_out(
                    &mut p,
                    rest,
                    Plan::Role(Role::Peel { left: left - 1 }),
                    Some(u.kind),
                );
                p.shuffle_outs(&mut self.rng);
                self.thief_emit(&p);
                self.recycle(p);
            }
            Role::Hop { left, then } => {
                let next = if left <= 1 {
                    match then {
                        Then::Cashout => Role::Cashout,
                        Then::Stock => Role::StockSplit,
                    }
                } else {
                    Role::Hop {
                        left: left - 1,
                        then,
                    }
                };
                let mut p = self.plan();
                p.ins.push(u);
                let fee = fee_for(p.weight() + u.kind.output_weight(), rate);
                self.thief_out(&mut p, v - fee, Plan::Role(next), Some(u.kind));
                self.thief_emit(&p);
                self.recycle(p);
            }
            Role::Whirl => self.thief_tx0(u, rate),
            Role::Wasabi1Split => {
                let m = (v / (COIN * 13 / 100)).min(25);
                let sizes: Vec<u64> = (0..m)
                    .map(|_| (COIN as f64 / 10.0 * self.rng.uniform(1.05, 1.6)) as u64)
                    .collect();
                let rest = Plan::Role(Role::Hop {
                    left: 2,
                    then: Then::Cashout,
                });
                self.split_into(u, &sizes, Plan::Role(Role::Wasabi1Join), rest);
            }
            Role::Wasabi2Split => {
                let m = self.rng.range(3, 20);
                let sizes: Vec<u64> = (0..m)
                    .map(|_| (v / m) * self.rng.range(60, 95) / 100)
                    .collect();
                self.split_into(
                    u,
                    &sizes,
                    Plan::Role(Role::Wasabi2Join),
                    Plan::Role(Role::Cashout),
                );
            }
            Role::StockSplit => {
                let m = self.rng.range(2, 6);
                let sizes: Vec<u64> = (0..m)
                    .map(|_| humanize((v / m) * 9 / 10, &mut self.rng))
                    .collect();
                self.split_into(
                    u,
                    &sizes,
                    Plan::Role(Role::Dormant),
                    Plan::Role(Role::Dormant),
                );
            }
            // Cash-outs, and peel chains that ran out of length or value.
            _ => {
                let mut p = self.plan();
                p.ins.push(u);
                let fee = fee_for(p.weight() + 2 * ScriptKind::P2pkh.output_weight(), rate);
                self.cashout_outs(&mut p, v - fee);
                self.thief_emit(&p);
                self.recycle(p);
            }
        }
    }

    /// A tx0 into the largest Whirlpool pool the coin affords.
    fn thief_tx0(&mut self, u: Utxo, rate: f64) {
        let v = u.value;
        // Mostly the busy 0.05 and 0.01 pools; the 0.5 pool only for big coins.
        let top = if v >= 10 * self.premix_value(3) && self.rng.chance(0.2) {
            3
        } else {
            2
        };
        let pool = (1..=top)
            .rev()
            .find(|&i| v >= 4 * self.premix_value(i) + self.cj.whirl[i].pool_fee);
        let Some(pool) = pool else {
            return self.exec_role(u, Role::Cashout);
        };
        let premix = self.premix_value(pool);
        let fee_room = fee_for(
            u.kind.input_weight() + 20 * ScriptKind::P2wpkh.output_weight() + 400,
            rate,
        );
        let backlog = self.cj.whirl[pool]
            .premix
            .iter()
            .filter(|x| x.0 == crate::world::THIEF)
            .count() as u64;
        let n = ((v - self.cj.whirl[pool].pool_fee - fee_room) / premix).clamp(1, 10);
        let mut p = self.plan();
        p.ins.push(u);
        let entity = self.thief.entity;
        self.tx0_outputs(&mut p, entity, crate::world::THIEF, pool, n);
        let fee = fee_for(p.weight() + ScriptKind::P2wpkh.output_weight(), rate);
        let change = v - p.out_value() - fee;
        if change >= MIN_COIN {
            // Another tx0 later, unless the pool is already full of ours.
            let next = if change >= 4 * premix && backlog < 10 {
                Role::Whirl
            } else {
                Role::Hop {
                    left: 2,
                    then: Then::Cashout,
                }
            };
            let a = self.book.create(entity, ScriptKind::P2wpkh);
            let tag = self.thief.tag(Plan::Role(next));
            p.pay(change, a, Credit::Thief(tag));
        }
        let txid = self.emit(
            &p,
            TxMeta {
                version: 1,
                lock_time: 0,
                sequence: 0xffff_ffff,
            },
        );
        self.thief.steps += 1;
        self.record_coinjoin(txid, crate::truth::CoinJoinKind::WhirlpoolTx0, true);
        self.recycle(p);
    }

    /// Merges mixed coins and sends them on to cash-out. False (the coins
    /// set aside as stuck) when they are not worth the fee.
    fn consolidate_postmix(&mut self) -> bool {
        let k = self.thief.postmix.len().min(self.rng.range(3, 12) as usize);
        let mut p = self.plan();
        for _ in 0..k {
            let i = self.rng.index(self.thief.postmix.len());
            p.ins.push(self.thief.postmix.swap_remove(i));
        }
        let rate = self.fee_rate(1.2);
        let fee = fee_for(p.weight() + ScriptKind::P2wpkh.output_weight(), rate);
        let plan = if self.rng.chance(0.5) {
            Role::Cashout
        } else {
            Role::Hop {
                left: self.rng.range(1, 3) as u8,
                then: Then::Cashout,
            }
        };
        self.thief.consolidate_at = self.rng.range(3, 12) as usize;
        if p.in_value() < fee + MIN_COIN {
            self.thief.stuck.append(&mut p.ins);
            self.recycle(p);
            return false;
        }
        let v = p.in_value() - fee;
        self.thief_out(&mut p, v, Plan::Role(plan), None);
        self.thief_emit(&p);
        self.recycle(p);
        true
    }
}
