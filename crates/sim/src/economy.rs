//! The everyday economy: who exists (pools, exchanges, coordinators, the
//! thief, merchants, users), and the actions drawn for each transaction —
//! miners paying out, users paying each other and merchants, depositing at
//! exchanges and consolidating, merchants settling; exchange actions live in
//! `exchange`, CoinJoins in `coinjoin`.
//!
//! Amounts are in satoshis. Regtest's supply is small (about 15,000 BTC ever,
//! most of it mined in the first few hundred blocks), so the economy
//! circulates the same coins: exchanges withdraw to users, users pay and
//! deposit, exchanges sweep the deposits back into their hot wallets.

use std::collections::HashMap;

pub(crate) use crate::exchange::Exchange;
use crate::rng::Rng;
use crate::script::ScriptKind;
use crate::truth::EntityKind;
use crate::tx::Dest;
use crate::wallet::{FundedSet, Profile, Wallet};
use crate::world::{Credit, TxPlan, World, COIN};

/// A mining pool or solo miner.
pub(crate) struct Pool {
    pub entity: u32,
    pub wallet: u32,
    pub kind: ScriptKind,
    /// Reused coinbase and change addresses.
    pub addrs: Vec<u32>,
    pub share: f64,
    pub tag: &'static [u8],
}

/// A merchant or payment processor.
pub(crate) struct Merchant {
    pub wallet: u32,
    pub exchange: usize,
}

/// The cast of the economy.
#[derive(Default)]
pub(crate) struct Econ {
    pub pools: Vec<Pool>,
    pub exchanges: Vec<Exchange>,
    pub merchants: Vec<Merchant>,
    pub user0: u32,
    pub n_users: u32,
    /// Home exchange of each user.
    pub home: Vec<u8>,
    /// Users who mix their coins.
    pub privacy: Vec<u32>,
    /// Deposit address per (customer key, exchange).
    pub deposit: HashMap<u64, u32>,
    pub whirl_coord: u32,
    pub wasabi_coord: u32,
    pub thief_entity: u32,
}

impl Econ {
    /// A pool drawn by hash share.
    pub(crate) fn pick_pool(&self, rng: &mut Rng) -> usize {
        let mut x = rng.unit();
        for (i, p) in self.pools.iter().enumerate() {
            if x < p.share {
                return i;
            }
            x -= p.share;
        }
        self.pools.len() - 1
    }

    /// An exchange drawn by market share.
    pub(crate) fn pick_exchange(&self, rng: &mut Rng) -> usize {
        let mut x = rng.unit() * self.exchanges.iter().map(|e| e.share).sum::<f64>();
        for (i, e) in self.exchanges.iter().enumerate() {
            if x < e.share {
                return i;
            }
            x -= e.share;
        }
        self.exchanges.len() - 1
    }

    /// A random user wallet.
    pub(crate) fn random_user(&self, rng: &mut Rng) -> u32 {
        self.user0 + rng.below(u64::from(self.n_users)) as u32
    }
}

/// The share of the circulating money exchanges tend to hold.
const EXCHANGE_SHARE: f64 = 0.35;

const POOLS: [(&str, ScriptKind, f64, &[u8]); 4] = [
    ("Garuda Pool", ScriptKind::P2wpkh, 0.36, b"/GarudaPool/"),
    ("Naga Hash", ScriptKind::P2shP2wpkh, 0.30, b"/NagaHash/"),
    ("Mekong Mining", ScriptKind::P2pkh, 0.24, b"/MekongMining/"),
    ("Old Solo Miner", ScriptKind::P2pk, 0.10, b"/solo/"),
];

/// (name, country, market share, deposit script, hot script, batch sizes, sweep minimum)
type ExchangeSpec = (
    &'static str,
    &'static str,
    f64,
    ScriptKind,
    ScriptKind,
    (u64, u64),
    usize,
);
const EXCHANGES: [ExchangeSpec; 7] = [
    (
        "Nusantara Digital Exchange",
        "ID",
        0.20,
        ScriptKind::P2wpkh,
        ScriptKind::P2wpkh,
        (5, 40),
        10,
    ),
    (
        "Chao Phraya Bit",
        "TH",
        0.17,
        ScriptKind::P2shP2wpkh,
        ScriptKind::P2shP2wpkh,
        (3, 25),
        6,
    ),
    (
        "Bayanihan Coins",
        "PH",
        0.16,
        ScriptKind::P2wpkh,
        ScriptKind::P2wpkh,
        (5, 50),
        15,
    ),
    (
        "Merlion Digital Exchange",
        "SG",
        0.14,
        ScriptKind::P2wpkh,
        ScriptKind::P2wpkh,
        (4, 30),
        8,
    ),
    (
        "Saigon P2P",
        "VN",
        0.12,
        ScriptKind::P2pkh,
        ScriptKind::P2pkh,
        (2, 12),
        3,
    ),
    (
        "Harimau Exchange",
        "MY",
        0.12,
        ScriptKind::P2shP2wpkh,
        ScriptKind::P2wpkh,
        (3, 20),
        5,
    ),
    (
        "Tonle Pay OTC",
        "KH",
        0.09,
        ScriptKind::P2pkh,
        ScriptKind::P2pkh,
        (1, 8),
        2,
    ),
];

const MERCHANT_A: [&str; 12] = [
    "Kopi",
    "Batik",
    "Warung",
    "Pho",
    "Durian",
    "Jeepney",
    "Tuk-Tuk",
    "Satay",
    "Mango",
    "Orchid",
    "Lotus",
    "Teh Tarik",
];
const MERCHANT_B: [&str; 8] = [
    "Traders",
    "Mart",
    "Travel",
    "Electronics",
    "Games",
    "Hosting",
    "Exports",
    "Cafe",
];

/// Builds the cast. Sizes scale with the chain: about one user per 20
/// transactions and one merchant per 2,000.
pub(crate) fn setup(w: &mut World<'_>) {
    let n = w.cfg.txs;
    let n_users = (n / 20).clamp(300, 2_000_000) as u32;
    let n_merchants = (n / 2_000).clamp(12, 5_000) as u32;

    for (name, kind, share, tag) in POOLS {
        let entity = w.book.add_entity(name.to_string(), EntityKind::Miner, None);
        let wallet = w.wallets.len() as u32;
        w.wallets.push(Wallet::new(entity, kind, Profile::Legacy));
        w.econ.pools.push(Pool {
            entity,
            wallet,
            kind,
            addrs: Vec::new(),
            share,
            tag,
        });
    }
    for (name, country, share, dep_kind, hot_kind, batch, sweep_min) in EXCHANGES {
        let entity = w
            .book
            .add_entity(name.to_string(), EntityKind::Exchange, Some(country));
        let hot = w.wallets.len() as u32;
        w.wallets
            .push(Wallet::new(entity, hot_kind, Profile::Legacy));
        w.wallets
            .push(Wallet::new(entity, ScriptKind::P2wsh, Profile::Legacy));
        w.wallets
            .push(Wallet::new(entity, dep_kind, Profile::Legacy));
        let mut ex = Exchange {
            entity,
            name,
            country,
            hot,
            cold: hot + 1,
            deposits: hot + 2,
            hot_addrs: Vec::new(),
            cold_addrs: Vec::new(),
            dep_kind,
            batch,
            sweep_min,
            share,
        };
        for _ in 0..w.rng.range(2, 6) {
            ex.hot_addrs.push(w.fresh(hot).id);
        }
        for _ in 0..w.rng.range(1, 3) {
            ex.cold_addrs.push(w.fresh(hot + 1).id);
        }
        w.econ.exchanges.push(ex);
    }
    w.econ.whirl_coord = w.book.add_entity(
        "Cyclone Whirlpool-like coordinator".into(),
        EntityKind::CoinjoinCoordinator,
        None,
    );
    w.econ.wasabi_coord = w.book.add_entity(
        "Kaleido Wasabi-like coordinator".into(),
        EntityKind::CoinjoinCoordinator,
        None,
    );
    w.econ.thief_entity = w.book.add_entity(
        "Lazarus Group (TraderTraitor)".into(),
        EntityKind::Thief,
        None,
    );
    crate::coinjoin::setup(w);

    for i in 0..n_merchants {
        let name = if i < 2 {
            [
                "Kinta Pay (payment processor)",
                "Rizal Gateway (payment processor)",
            ][i as usize]
                .to_string()
        } else {
            let a = MERCHANT_A[w.rng.index(MERCHANT_A.len())];
            let b = MERCHANT_B[w.rng.index(MERCHANT_B.len())];
            format!("{a} {b} #{i}")
        };
        let entity = w.book.add_entity(name, EntityKind::Merchant, None);
        let kind = [
            ScriptKind::P2wpkh,
            ScriptKind::P2shP2wpkh,
            ScriptKind::P2pkh,
        ][w.rng.weighted(&[0.6, 0.25, 0.15])];
        let wallet = w.wallets.len() as u32;
        w.wallets.push(Wallet::new(entity, kind, Profile::Desktop));
        let exchange = w.econ.pick_exchange(&mut w.rng);
        w.econ.merchants.push(Merchant { wallet, exchange });
    }

    w.econ.user0 = w.wallets.len() as u32;
    w.econ.n_users = n_users;
    const KINDS: [ScriptKind; 5] = [
        ScriptKind::P2wpkh,
        ScriptKind::P2pkh,
        ScriptKind::P2shP2wpkh,
        ScriptKind::P2tr,
        ScriptKind::P2wsh,
    ];
    for i in 0..n_users {
        let entity = w
            .book
            .add_entity(format!("user-{i:07}"), EntityKind::User, None);
        let kind = KINDS[w.rng.weighted(&[0.45, 0.15, 0.17, 0.13, 0.10])];
        let profile = match kind {
            ScriptKind::P2pkh if w.rng.chance(0.6) => Profile::Legacy,
            _ => [Profile::Desktop, Profile::Mobile][w.rng.index(2)],
        };
        let wallet = w.wallets.len() as u32;
        w.wallets.push(Wallet::new(entity, kind, profile));
        let home = w.econ.pick_exchange(&mut w.rng) as u8;
        w.econ.home.push(home);
        if w.rng.chance(0.07) {
            w.econ.privacy.push(wallet);
        }
    }
    w.funded = FundedSet::new(w.econ.user0, n_users);
}

/// Rounds to two significant digits some of the time: people pay round sums.
pub(crate) fn humanize(v: u64, rng: &mut Rng) -> u64 {
    if v < 10_000 || !rng.chance(0.35) {
        return v;
    }
    let mut m = 1u64;
    while v / m >= 100 {
        m *= 10;
    }
    (v / m) * m
}

impl World<'_> {
    /// One everyday transaction. Returns false when the drawn action had
    /// nothing to do (the caller draws again).
    pub(crate) fn economy_step(&mut self) -> bool {
        // Exchanges hover around a third of the money: when they hold more,
        // customers withdraw more and deposit less, and vice versa.
        let k = (self.exchange_share() / EXCHANGE_SHARE).clamp(0.2, 5.0);
        let w = [
            38.0,
            13.0 / k,
            4.0,
            9.0 * k,
            4.5,
            0.6,
            3.0,
            2.5,
            0.4,
            1.0,
            0.06,
            0.08,
        ];
        match self.rng.weighted(&w) {
            0 => self.user_pay(),
            1 => self.user_deposit(),
            2 => self.user_consolidate(),
            3 => self.exchange_withdraw(),
            4 => self.exchange_sweep(),
            5 => self.exchange_rebalance(None),
            6 => self.merchant_settle(),
            7 => self.pool_payout(),
            8 => self.whirlpool_tx0(),
            9 => self.whirlpool_mix(),
            10 => self.wasabi1_round(),
            _ => self.wasabi2_round(),
        }
    }

    /// Share of the circulating money held by exchanges.
    fn exchange_share(&self) -> f64 {
        let bal = |w: u32| self.wallets[w as usize].balance;
        let held: u64 = self
            .econ
            .exchanges
            .iter()
            .map(|e| bal(e.hot) + bal(e.cold) + bal(e.deposits))
            .sum();
        held as f64 / self.circulating() as f64
    }

    /// A typical user's holdings: the money per user.
    pub(crate) fn money_per_user(&self) -> u64 {
        self.circulating() / u64::from(self.econ.n_users)
    }

    fn user_pay(&mut self) -> bool {
        let Some(w) = self.funded.pick(&mut self.rng) else {
            return false;
        };
        let bal = self.wallets[w as usize].balance;
        let rate = self.fee_rate(1.0);
        let mut p = self.plan();
        let frac = self.rng.log_uniform(20, 1000) as f64 / 1000.0;
        let send_max = frac > 0.96;
        let n_pay = if self.rng.chance(0.04) {
            self.rng.range(2, 5)
        } else {
            1
        };
        let total = (bal as f64 * frac.min(0.9)) as u64;
        for _ in 0..n_pay {
            let amount = humanize(total / n_pay, &mut self.rng);
            if amount < 5_000 {
                break;
            }
            if self.rng.chance(0.3) && !self.econ.merchants.is_empty() {
                let m = self.pick_merchant();
                let a = self.recv_addr(m, 0.05);
                p.pay(amount, a, Credit::Wallet(m));
            } else {
                let mut u = self.econ.random_user(&mut self.rng);
                if u == w {
                    u = self.econ.user0 + (u - self.econ.user0 + 1) % self.econ.n_users;
                }
                let a = self.recv_addr(u, 0.2);
                p.pay(amount, a, Credit::Wallet(u));
            }
        }
        if p.outs.is_empty() {
            self.recycle(p);
            return false;
        }
        if self.rng.chance(0.01) {
            p.out(0, Dest::OpReturn(self.rng.range(8, 80) as u8), Credit::None);
        } else if self.rng.chance(0.002) {
            self.bare_keys += 1;
            p.out(1_000, Dest::Bare1of2(self.bare_keys), Credit::None);
        }
        let ok = if send_max && n_pay == 1 {
            self.take_all(w, &mut p, 40);
            self.pay_max(w, &mut p, 0, rate)
        } else {
            let kind = self.wallets[w as usize].kind;
            match self.fund(w, &mut p, rate, kind.output_weight(), 60) {
                Some(change) => {
                    if change > 0 {
                        let a = self.change_addr(w, &p, 0.12);
                        p.pay(change, a, Credit::Wallet(w));
                    }
                    true
                }
                None => false,
            }
        };
        if ok {
            p.shuffle_outs(&mut self.rng);
            let meta = self.meta(self.wallets[w as usize].profile);
            self.emit(&p, meta);
        }
        self.recycle(p);
        ok
    }

    /// Makes output `i` take everything the inputs (all from wallet `w`)
    /// leave after the fee. When that is too little to be worth sending the
    /// inputs go back to `w` and the plan is abandoned.
    pub(crate) fn pay_max(&mut self, w: u32, p: &mut TxPlan, i: usize, rate: f64) -> bool {
        let fee = crate::tx::fee_for(p.weight(), rate);
        let others: u64 = p
            .outs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, o)| o.value)
            .sum();
        match p.in_value().checked_sub(fee + others) {
            Some(v) if v >= 5_000 && !p.ins.is_empty() => {
                p.outs[i].value = v;
                true
            }
            _ => {
                for u in p.ins.drain(..) {
                    self.wallets[w as usize].push(u);
                }
                self.touch(w);
                false
            }
        }
    }

    fn pick_merchant(&mut self) -> u32 {
        let n = self.econ.merchants.len();
        let i = if self.rng.chance(0.3) {
            self.rng.index(2.min(n))
        } else {
            self.rng.index(n)
        };
        self.econ.merchants[i].wallet
    }

    fn user_deposit(&mut self) -> bool {
        let Some(w) = self.funded.pick(&mut self.rng) else {
            return false;
        };
        let ui = (w - self.econ.user0) as usize;
        let ex = if self.rng.chance(0.8) {
            usize::from(self.econ.home[ui])
        } else {
            self.econ.pick_exchange(&mut self.rng)
        };
        let a = self.deposit_addr(u64::from(w), ex);
        let credit = Credit::Wallet(self.econ.exchanges[ex].deposits);
        let rate = self.fee_rate(1.0);
        let mut p = self.plan();
        let ok = if self.rng.chance(0.5) {
            p.pay(0, a, credit);
            self.take_all(w, &mut p, 30);
            self.pay_max(w, &mut p, 0, rate)
        } else {
            let bal = self.wallets[w as usize].balance;
            let amount = humanize(
                (bal as f64 * self.rng.uniform(0.2, 0.9)) as u64,
                &mut self.rng,
            );
            p.pay(amount, a, credit);
            let kind = self.wallets[w as usize].kind;
            match self.fund(w, &mut p, rate, kind.output_weight(), 40) {
                Some(change) => {
                    if change > 0 {
                        let c = self.change_addr(w, &p, 0.12);
                        p.pay(change, c, Credit::Wallet(w));
                    }
                    p.shuffle_outs(&mut self.rng);
                    true
                }
                None => false,
            }
        };
        if ok {
            let meta = self.meta(self.wallets[w as usize].profile);
            self.emit(&p, meta);
        }
        self.recycle(p);
        ok
    }

    fn user_consolidate(&mut self) -> bool {
        for _ in 0..8 {
            let Some(w) = self.funded.pick(&mut self.rng) else {
                return false;
            };
            if self.wallets[w as usize].utxos.len() < 5 {
                continue;
            }
            let rate = self.fee_rate(0.6);
            let mut p = self.plan();
            let a = self.recv_addr(w, 0.2);
            p.pay(0, a, Credit::Wallet(w));
            self.take_all(w, &mut p, 80);
            let ok = self.pay_max(w, &mut p, 0, rate);
            if ok {
                let meta = self.meta(self.wallets[w as usize].profile);
                self.emit(&p, meta);
            }
            self.recycle(p);
            return ok;
        }
        false
    }

    fn merchant_settle(&mut self) -> bool {
        if self.econ.merchants.is_empty() {
            return false;
        }
        let i = self.rng.index(self.econ.merchants.len());
        let (w, ex) = (
            self.econ.merchants[i].wallet,
            self.econ.merchants[i].exchange,
        );
        let wl = &self.wallets[w as usize];
        if wl.utxos.len() < 3 && wl.balance < COIN / 50 {
            return false;
        }
        let rate = self.fee_rate(0.7);
        let a = self.deposit_addr(u64::from(w), ex);
        let mut p = self.plan();
        p.pay(0, a, Credit::Wallet(self.econ.exchanges[ex].deposits));
        self.take_all(w, &mut p, 120);
        let ok = self.pay_max(w, &mut p, 0, rate);
        if ok {
            let meta = self.meta(self.wallets[w as usize].profile);
            self.emit(&p, meta);
        }
        self.recycle(p);
        ok
    }

    fn pool_payout(&mut self) -> bool {
        let pi = self.econ.pick_pool(&mut self.rng);
        let w = self.econ.pools[pi].wallet;
        let bal = self.wallets[w as usize].balance;
        if bal < COIN {
            return false;
        }
        let budget = (bal as f64 * self.rng.uniform(0.5, 0.95)) as u64;
        let budget = budget.min(self.rng.range(20, 200) * COIN);
        let rate = self.fee_rate(0.6);
        let mut p = self.plan();
        let n = self.rng.range(10, 120);
        let mut total = 0;
        for _ in 0..n {
            let amount = self.rng.log_uniform(100_000, COIN / 5);
            if total + amount > budget / 2 {
                break;
            }
            total += amount;
            let u = self.econ.random_user(&mut self.rng);
            let a = self.recv_addr(u, 0.5);
            p.pay(amount, a, Credit::Wallet(u));
        }
        // The pool sells the rest at exchanges (it is a customer there too).
        let n_ex = self.rng.range(1, 3);
        let per = (budget - total) / n_ex;
        for _ in 0..n_ex {
            let ex = self.econ.pick_exchange(&mut self.rng);
            let a = self.deposit_addr(u64::from(w), ex);
            p.pay(
                humanize(per, &mut self.rng),
                a,
                Credit::Wallet(self.econ.exchanges[ex].deposits),
            );
        }
        let kind = self.wallets[w as usize].kind;
        let ok = match self.fund(w, &mut p, rate, kind.output_weight(), 60) {
            Some(change) => {
                if change > 0 {
                    let n = self.econ.pools[pi].addrs.len();
                    let a = if n > 0 && kind != ScriptKind::P2pk {
                        self.book.get(self.econ.pools[pi].addrs[self.rng.index(n)])
                    } else {
                        let k = if kind == ScriptKind::P2pk {
                            ScriptKind::P2pkh
                        } else {
                            kind
                        };
                        let a = self.book.create(self.econ.pools[pi].entity, k);
                        if kind != ScriptKind::P2pk {
                            self.econ.pools[pi].addrs.push(a.id);
                        }
                        a
                    };
                    p.pay(change, a, Credit::Wallet(w));
                }
                p.shuffle_outs(&mut self.rng);
                let meta = self.meta(Profile::Legacy);
                self.emit(&p, meta);
                true
            }
            None => false,
        };
        self.recycle(p);
        ok
    }
}
