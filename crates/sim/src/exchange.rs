//! Exchanges: deposit addresses per customer, sweeps of deposits into the
//! hot wallet, batched withdrawals with change back to the hot wallet, and
//! transfers between hot and cold storage.

use crate::economy::humanize;
use crate::script::ScriptKind;
use crate::tx::AddrRef;
use crate::wallet::Profile;
use crate::world::{Credit, World, COIN};

/// A custodial exchange.
pub(crate) struct Exchange {
    pub entity: u32,
    pub name: &'static str,
    pub country: &'static str,
    pub hot: u32,
    pub cold: u32,
    /// Wallet holding all unswept deposits.
    pub deposits: u32,
    pub hot_addrs: Vec<u32>,
    pub cold_addrs: Vec<u32>,
    pub dep_kind: ScriptKind,
    /// Withdrawal batch size range.
    pub batch: (u64, u64),
    /// Deposits it waits for before sweeping.
    pub sweep_min: usize,
    pub share: f64,
}

impl World<'_> {
    /// The deposit address an exchange assigned to a customer.
    pub(crate) fn deposit_addr(&mut self, customer: u64, ex: usize) -> AddrRef {
        let key = (customer << 8) | ex as u64;
        if let Some(&id) = self.econ.deposit.get(&key) {
            return self.book.get(id);
        }
        let e = &self.econ.exchanges[ex];
        let a = self.book.create(e.entity, e.dep_kind);
        self.econ.deposit.insert(key, a.id);
        a
    }

    /// A hot-wallet address of exchange `ex`: mostly the reused ones.
    pub(crate) fn hot_addr(&mut self, ex: usize) -> AddrRef {
        if self.rng.chance(0.85) {
            let e = &self.econ.exchanges[ex];
            let id = e.hot_addrs[self.rng.index(e.hot_addrs.len())];
            return self.book.get(id);
        }
        let hot = self.econ.exchanges[ex].hot;
        let a = self.fresh(hot);
        self.econ.exchanges[ex].hot_addrs.push(a.id);
        a
    }

    fn cold_addr(&mut self, ex: usize) -> AddrRef {
        let e = &self.econ.exchanges[ex];
        let id = e.cold_addrs[self.rng.index(e.cold_addrs.len())];
        self.book.get(id)
    }

    pub(crate) fn exchange_withdraw(&mut self) -> bool {
        // Busier where more coins sit (per output of a typical batch), which
        // keeps each exchange's holdings in line with its market share.
        let weights: Vec<f64> = self
            .econ
            .exchanges
            .iter()
            .map(|e| {
                let held =
                    self.wallets[e.hot as usize].balance + self.wallets[e.cold as usize].balance;
                held as f64 / (e.batch.0 + e.batch.1) as f64 + 1.0
            })
            .collect();
        let ex = self.rng.weighted(&weights);
        let hot = self.econ.exchanges[ex].hot;
        let bal = self.wallets[hot as usize].balance;
        if bal < COIN / 10 {
            return self.exchange_rebalance(Some(ex));
        }
        let (lo, hi) = self.econ.exchanges[ex].batch;
        let n = self.rng.range(lo, hi);
        let budget = bal / 2;
        let rate = self.fee_rate(0.8);
        let mut p = self.plan();
        let mut total = 0;
        let m = self.money_per_user();
        for _ in 0..n {
            let amount = if self.rng.chance(0.02) {
                self.rng
                    .log_uniform(m.max(100_000), (m * 10).max(1_000_000))
            } else {
                self.rng
                    .log_uniform((m / 100).max(20_000), (m * 3 / 2).max(100_000))
            };
            let amount = humanize(amount, &mut self.rng);
            if total + amount > budget {
                break;
            }
            total += amount;
            let u = self.econ.random_user(&mut self.rng);
            let a = self.recv_addr(u, 0.25);
            p.pay(amount, a, Credit::Wallet(u));
        }
        if p.outs.is_empty() {
            self.recycle(p);
            return false;
        }
        let kind = self.wallets[hot as usize].kind;
        let ok = match self.fund(hot, &mut p, rate, kind.output_weight(), 30) {
            Some(change) => {
                if change > 0 {
                    let a = self.hot_addr(ex);
                    p.pay(change, a, Credit::Wallet(hot));
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

    pub(crate) fn exchange_sweep(&mut self) -> bool {
        let ex = self.econ.pick_exchange(&mut self.rng);
        let dep = self.econ.exchanges[ex].deposits;
        let n = self.wallets[dep as usize].utxos.len();
        if n == 0 || (n < self.econ.exchanges[ex].sweep_min && !self.rng.chance(0.1)) {
            return false;
        }
        let rate = self.fee_rate(0.5);
        let mut p = self.plan();
        let (a, credit) = if self.rng.chance(0.1) {
            (
                self.cold_addr(ex),
                Credit::Wallet(self.econ.exchanges[ex].cold),
            )
        } else {
            (
                self.hot_addr(ex),
                Credit::Wallet(self.econ.exchanges[ex].hot),
            )
        };
        p.pay(0, a, credit);
        let max = self.rng.range(50, 200) as usize;
        self.take_all(dep, &mut p, max);
        let ok = self.pay_max(dep, &mut p, 0, rate);
        if ok {
            let meta = self.meta(Profile::Legacy);
            self.emit(&p, meta);
        }
        self.recycle(p);
        ok
    }

    /// Moves coins between the hot and cold wallets of an exchange when the
    /// hot share leaves 10–50 %. `ex` None picks one.
    pub(crate) fn exchange_rebalance(&mut self, ex: Option<usize>) -> bool {
        let ex = ex.unwrap_or_else(|| self.econ.pick_exchange(&mut self.rng));
        let (hot, cold) = (self.econ.exchanges[ex].hot, self.econ.exchanges[ex].cold);
        let (hb, cb) = (
            self.wallets[hot as usize].balance,
            self.wallets[cold as usize].balance,
        );
        let total = hb + cb;
        if total < COIN {
            return false;
        }
        let (from, amount, to_cold) = if hb > total / 2 {
            (hot, hb - total * 3 / 10, true)
        } else if hb < total / 10 && cb > COIN {
            (cold, (total * 3 / 10 - hb).min(cb - cb / 20), false)
        } else {
            return false;
        };
        let amount = humanize(amount, &mut self.rng);
        let rate = self.fee_rate(0.7);
        let mut p = self.plan();
        let (a, credit) = if to_cold {
            (self.cold_addr(ex), Credit::Wallet(cold))
        } else {
            (self.hot_addr(ex), Credit::Wallet(hot))
        };
        p.pay(amount, a, credit);
        let kind = self.wallets[from as usize].kind;
        let ok = match self.fund(from, &mut p, rate, kind.output_weight(), 100) {
            Some(change) => {
                if change > 0 {
                    let c = if to_cold {
                        self.hot_addr(ex)
                    } else {
                        self.cold_addr(ex)
                    };
                    p.pay(change, c, Credit::Wallet(from));
                }
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
