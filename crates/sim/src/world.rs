//! The world state of a run and its chain machinery: emitting transactions
//! into the open block, crediting outputs to their holders, closing blocks
//! (coinbase, stale forks, disk writes) and maturing coinbases.

use std::collections::VecDeque;
use std::path::Path;

use crate::blockwriter::{assemble, BlkSink, BlockBody, BlockSpec};
use crate::coinjoin::CoinJoins;
use crate::config::SimConfig;
use crate::economy::Econ;
use crate::error::SimError;
use crate::incident::Thief;
use crate::rng::{Keys, Rng};
use crate::script::ScriptKind;
use crate::truth::CoinJoinKind;
use crate::tx::{estimate_weight, fee_for, write_tx, AddrRef, Dest, Out, TxMeta, Utxo};
use crate::wallet::{AddrBook, FundedSet, Profile, Wallet};

/// Satoshis per bitcoin.
pub(crate) const COIN: u64 = 100_000_000;
/// Blocks a coinbase must wait before it can be spent.
pub(crate) const MATURITY: u32 = 100;
/// Owner code of the thief in CoinJoin queues.
pub(crate) const THIEF: u32 = u32::MAX;
/// Change below this is left to the miner.
pub(crate) const DUST_CHANGE: u64 = 1_000;
/// Time of block 1: 2024-01-01T00:00:00Z.
const START_TIME: u32 = 1_704_067_200;
/// A block closes early once its weight passes this.
const MAX_BLOCK_WEIGHT: u64 = 3_600_000;
/// A transaction that would take the block past this goes into the next one
/// (4M minus room for the coinbase).
const MAX_BLOCK_WEIGHT_HARD: u64 = 3_980_000;

/// Where a new output goes once its transaction is written.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Credit {
    /// Nobody tracks it (data carriers, bare multisig).
    None,
    /// Into a wallet.
    Wallet(u32),
    /// To the thief, with the plan registered under this tag
    /// (`Thief::tag`).
    Thief(u32),
    /// A thief's mixed output, to be consolidated.
    ThiefPostmix,
    /// A Whirlpool premix output waiting for a mix.
    Premix { pool: u8, owner: u32 },
    /// A Whirlpool mix output: remixes or goes home to its owner.
    Postmix { pool: u8, owner: u32 },
}

/// A transaction being put together.
#[derive(Default)]
pub(crate) struct TxPlan {
    pub ins: Vec<Utxo>,
    pub outs: Vec<Out>,
    pub credits: Vec<Credit>,
}

impl TxPlan {
    pub(crate) fn clear(&mut self) {
        self.ins.clear();
        self.outs.clear();
        self.credits.clear();
    }

    pub(crate) fn out(&mut self, value: u64, dest: Dest, credit: Credit) {
        self.outs.push(Out { value, dest });
        self.credits.push(credit);
    }

    pub(crate) fn pay(&mut self, value: u64, a: AddrRef, credit: Credit) {
        self.out(value, Dest::Addr(a), credit);
    }

    pub(crate) fn in_value(&self) -> u64 {
        self.ins.iter().map(|u| u.value).sum()
    }

    pub(crate) fn out_value(&self) -> u64 {
        self.outs.iter().map(|o| o.value).sum()
    }

    pub(crate) fn weight(&self) -> u64 {
        estimate_weight(
            self.ins.iter().map(|u| u.kind),
            self.outs.iter().map(|o| &o.dest),
        )
    }

    /// Shuffles outputs (with their credits), as most wallets do.
    pub(crate) fn shuffle_outs(&mut self, rng: &mut Rng) {
        for i in (1..self.outs.len()).rev() {
            let j = rng.index(i + 1);
            self.outs.swap(i, j);
            self.credits.swap(i, j);
        }
    }
}

/// A stale block written to disk.
pub(crate) struct StaleRec {
    pub hash: [u8; 32],
    pub height: u32,
    pub prev: [u8; 32],
}

/// The main chain under construction.
pub(crate) struct Chain {
    /// Height of the last closed main-chain block.
    pub height: u32,
    pub prev_hash: [u8; 32],
    pub prev_time: u32,
    /// Whether a block is open (its coinbase counts as a transaction).
    pub open: bool,
    pub body: BlockBody,
    pub sink: BlkSink,
    /// Immature coinbases: (height, pool index, output).
    pub pending_cb: VecDeque<(u32, usize, Utxo)>,
    /// Main-chain hashes by height.
    pub hashes: Vec<[u8; 32]>,
    /// Planned forks (height, length), sorted by descending height.
    pub stale_plan: Vec<(u32, u32)>,
    pub stale: Vec<StaleRec>,
    pub txs_closed: u64,
    pub inputs: u64,
    pub outputs: u64,
    scratch: Vec<[u8; 32]>,
}

/// Block subsidy on regtest: 50 BTC halving every 150 blocks.
pub(crate) fn subsidy(height: u32) -> u64 {
    let halvings = height / 150;
    if halvings >= 64 {
        0
    } else {
        (50 * COIN) >> halvings
    }
}

/// Everything a run knows.
pub(crate) struct World<'p> {
    pub cfg: SimConfig,
    pub rng: Rng,
    pub keys: Keys,
    pub book: AddrBook,
    pub wallets: Vec<Wallet>,
    pub funded: FundedSet,
    pub chain: Chain,
    /// The fee market's current base rate (sat/vB).
    pub fee_base: f64,
    pub econ: Econ,
    pub cj: CoinJoins,
    pub thief: Thief,
    /// CoinJoin txids: (txid, kind, height, thief inputs).
    pub coinjoins: Vec<([u8; 32], CoinJoinKind, u32, bool)>,
    plans: Vec<TxPlan>,
    progress: &'p mut dyn FnMut(u64),
    /// The first deferred IO error.
    pub err: Option<SimError>,
    /// Counter for bare-multisig data keys.
    pub bare_keys: u32,
    /// Value of all matured coinbases.
    pub matured: u64,
    /// Fees paid by all transactions so far.
    pub fees_paid: u64,
}

impl<'p> World<'p> {
    pub(crate) fn new(
        cfg: &SimConfig,
        out_dir: &Path,
        progress: &'p mut dyn FnMut(u64),
    ) -> Result<World<'p>, SimError> {
        let keys = Keys::new(cfg.seed);
        let blocks = out_dir.join("blocks");
        let sink = BlkSink::new(&blocks, cfg.max_file_bytes, cfg.xor_key, cfg.shuffle_window)?;
        let book = AddrBook::new(keys.clone(), out_dir.join(crate::ADDRESSES_FILE))?;
        let mut w = World {
            cfg: cfg.clone(),
            rng: Rng::new(cfg.seed),
            keys,
            book,
            wallets: Vec::new(),
            funded: FundedSet::new(0, 0),
            chain: Chain {
                height: 0,
                prev_hash: [0; 32],
                prev_time: 0,
                open: false,
                body: BlockBody::default(),
                sink,
                pending_cb: VecDeque::new(),
                hashes: Vec::new(),
                stale_plan: Vec::new(),
                stale: Vec::new(),
                txs_closed: 0,
                inputs: 0,
                outputs: 0,
                scratch: Vec::new(),
            },
            fee_base: 5.0,
            econ: Econ::default(),
            cj: CoinJoins::default(),
            thief: Thief::default(),
            coinjoins: Vec::new(),
            plans: Vec::new(),
            progress,
            err: None,
            bare_keys: 0,
            matured: 0,
            fees_paid: 0,
        };
        w.write_genesis()?;
        Ok(w)
    }

    fn write_genesis(&mut self) -> Result<(), SimError> {
        use bitcoin::hashes::Hash;
        let g = bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Regtest);
        let bytes = bitcoin::consensus::serialize(&g);
        self.chain.sink.write_now(&bytes, &[])?;
        let hash = g.block_hash().to_byte_array();
        self.chain.hashes.push(hash);
        self.chain.prev_hash = hash;
        self.chain.prev_time = g.header.time;
        self.chain.txs_closed = 1;
        self.chain.inputs = 1;
        self.chain.outputs = 1;
        Ok(())
    }

    /// Main-chain transactions so far, the open block's coinbase included.
    pub(crate) fn total_txs(&self) -> u64 {
        self.chain.txs_closed
            + if self.chain.open {
                1 + self.chain.body.len() as u64
            } else {
                0
            }
    }

    /// Height the next transaction lands in.
    pub(crate) fn next_height(&self) -> u32 {
        self.chain.height + 1
    }

    /// A cleared plan from the pool.
    pub(crate) fn plan(&mut self) -> TxPlan {
        let mut p = self.plans.pop().unwrap_or_default();
        p.clear();
        p
    }

    /// Returns a plan to the pool.
    pub(crate) fn recycle(&mut self, p: TxPlan) {
        self.plans.push(p);
    }

    /// A fee rate for a transaction, `mult` times the market.
    pub(crate) fn fee_rate(&mut self, mult: f64) -> f64 {
        (self.fee_base * mult * self.rng.uniform(0.8, 1.5)).max(1.0)
    }

    /// The version/lock time/sequence a wallet of this profile writes.
    pub(crate) fn meta(&self, profile: Profile) -> TxMeta {
        match profile {
            Profile::Desktop => TxMeta {
                version: 2,
                lock_time: self.chain.height,
                sequence: 0xffff_fffd,
            },
            Profile::Mobile => TxMeta {
                version: 2,
                lock_time: 0,
                sequence: 0xffff_ffff,
            },
            Profile::Legacy => TxMeta {
                version: 1,
                lock_time: 0,
                sequence: 0xffff_ffff,
            },
        }
    }

    /// A fresh address of wallet `w`.
    pub(crate) fn fresh(&mut self, w: u32) -> AddrRef {
        let wl = &self.wallets[w as usize];
        self.book.create(wl.entity, wl.kind)
    }

    /// A receive address of wallet `w`: one handed out before with
    /// probability `reuse`, else a fresh one that is remembered.
    pub(crate) fn recv_addr(&mut self, w: u32, reuse: f64) -> AddrRef {
        let n = self.wallets[w as usize].recv.len();
        if n > 0 && self.rng.chance(reuse) {
            let id = self.wallets[w as usize].recv[self.rng.index(n)];
            return self.book.get(id);
        }
        let a = self.fresh(w);
        self.wallets[w as usize].remember(a.id, &mut self.rng);
        a
    }

    /// Change destination for wallet `w`: usually fresh, with probability
    /// `reuse` back to one of the spent inputs' addresses.
    pub(crate) fn change_addr(&mut self, w: u32, p: &TxPlan, reuse: f64) -> AddrRef {
        if !p.ins.is_empty() && self.rng.chance(reuse) {
            let u = p.ins[self.rng.index(p.ins.len())];
            if self.book.owner(u.addr) == self.wallets[w as usize].entity {
                return self.book.get(u.addr);
            }
        }
        self.fresh(w)
    }

    /// Spendable money in the economy: matured coinbases minus the fees
    /// that went back to miners since.
    pub(crate) fn circulating(&self) -> u64 {
        self.matured.saturating_sub(self.fees_paid).max(1)
    }

    /// Updates the funded set after wallet `w` changed.
    #[inline]
    pub(crate) fn touch(&mut self, w: u32) {
        self.funded.update(w, &self.wallets[w as usize]);
    }

    /// Moves random UTXOs of wallet `w` into `p.ins` until they pay the
    /// outputs plus the fee at `rate`, counting a change output of
    /// `change_weight`. Returns the change (0 when too small to keep), or
    /// `None` with the wallet untouched when it cannot pay.
    pub(crate) fn fund(
        &mut self,
        w: u32,
        p: &mut TxPlan,
        rate: f64,
        change_weight: u64,
        max_in: usize,
    ) -> Option<u64> {
        let start = p.ins.len();
        let out_sum = p.out_value();
        let mut sum = p.in_value();
        let mut weight = p.weight() + change_weight;
        let wi = w as usize;
        let result = loop {
            let fee = fee_for(weight, rate);
            if sum >= out_sum + fee && !p.ins.is_empty() {
                let change = sum - out_sum - fee;
                break Some(if change >= DUST_CHANGE { change } else { 0 });
            }
            let n = self.wallets[wi].utxos.len();
            if n == 0 || p.ins.len() - start >= max_in {
                for u in p.ins.drain(start..) {
                    self.wallets[wi].push(u);
                }
                break None;
            }
            let u = self.wallets[wi].take(self.rng.index(n));
            weight += u.kind.input_weight();
            sum += u.value;
            p.ins.push(u);
        };
        self.touch(w);
        result
    }

    /// Moves up to `max_in` UTXOs of wallet `w` (all of them if fewer) into
    /// `p.ins`.
    pub(crate) fn take_all(&mut self, w: u32, p: &mut TxPlan, max_in: usize) {
        let wi = w as usize;
        while p.ins.len() < max_in && !self.wallets[wi].utxos.is_empty() {
            let n = self.wallets[wi].utxos.len();
            let u = self.wallets[wi].take(self.rng.index(n));
            p.ins.push(u);
        }
        self.touch(w);
    }

    /// Writes `p` into the open block, credits its outputs and returns the
    /// txid. Closes the block when it is full.
    pub(crate) fn emit(&mut self, p: &TxPlan, meta: TxMeta) -> [u8; 32] {
        if self.chain.open && self.chain.body.weight + p.weight() > MAX_BLOCK_WEIGHT_HARD {
            self.close_block();
        }
        if !self.chain.open {
            self.open_block();
        }
        let in_v = p.in_value();
        let out_v = p.out_value();
        assert!(
            in_v >= out_v,
            "simulator bug: outputs {out_v} exceed inputs {in_v}"
        );
        assert!(
            !p.ins.is_empty(),
            "simulator bug: transaction without inputs"
        );
        let w = write_tx(
            &mut self.chain.body.buf,
            &p.ins,
            &p.outs,
            &meta,
            &self.keys,
            &mut self.rng,
        );
        self.chain
            .body
            .record(&w, in_v - out_v, p.ins.len(), p.outs.len());
        self.fees_paid += in_v - out_v;
        if self.thief.active
            && p.ins
                .iter()
                .any(|u| self.book.owner(u.addr) == self.thief.entity)
        {
            self.thief.laundering.push(w.txid);
        }
        for (i, (o, c)) in p.outs.iter().zip(&p.credits).enumerate() {
            if let Dest::Addr(a) = o.dest {
                let u = Utxo {
                    txid: w.txid,
                    value: o.value,
                    addr: a.id,
                    vout: i as u16,
                    kind: a.kind,
                };
                self.credit(*c, u);
            }
        }
        self.thief.pending.clear();
        if self.chain.body.len() >= self.cfg.txs_per_block as usize
            || self.chain.body.weight >= MAX_BLOCK_WEIGHT
        {
            self.close_block();
        }
        w.txid
    }

    fn credit(&mut self, c: Credit, u: Utxo) {
        match c {
            Credit::None => {}
            Credit::Wallet(w) => {
                self.wallets[w as usize].push(u);
                self.touch(w);
            }
            Credit::Thief(tag) => self.thief.accept(tag, u),
            Credit::ThiefPostmix => self.thief.postmix.push(u),
            Credit::Premix { pool, owner } => {
                self.cj.whirl[usize::from(pool)].premix.push((owner, u))
            }
            Credit::Postmix { pool, owner } => {
                let leave = if owner == THIEF { 0.5 } else { 0.3 };
                if self.rng.chance(leave) {
                    self.release_postmix(owner, u);
                } else {
                    self.cj.whirl[usize::from(pool)].liquidity.push((owner, u));
                }
            }
        }
    }

    /// Hands a mixed output back to its owner's wallet.
    pub(crate) fn release_postmix(&mut self, owner: u32, u: Utxo) {
        if owner == THIEF {
            self.thief.postmix.push(u);
        } else {
            self.wallets[owner as usize].push(u);
            self.touch(owner);
        }
    }

    fn open_block(&mut self) {
        self.chain.open = true;
        let h = self.next_height();
        while let Some(&(ch, pool, u)) = self.chain.pending_cb.front() {
            if ch + MATURITY > h {
                break;
            }
            self.chain.pending_cb.pop_front();
            let w = self.econ.pools[pool].wallet;
            self.wallets[w as usize].push(u);
            self.matured += u.value;
        }
        let ln = self.fee_base.ln() * 0.97 + 6f64.ln() * 0.03 + 0.12 * self.rng.normal();
        self.fee_base = ln.exp().clamp(1.0, 80.0);
    }

    /// Closes the open block (opening an empty one first if none is open):
    /// coinbase, proof of work, disk, stale forks.
    pub(crate) fn close_block(&mut self) {
        if !self.chain.open {
            self.open_block();
        }
        let h = self.next_height();
        let time = if h == 1 {
            START_TIME
        } else {
            self.chain.prev_time + self.rng.exp(600.0).clamp(1.0, 3600.0) as u32
        };
        let pool = self.econ.pick_pool(&mut self.rng);
        let payee = self.coinbase_addr(pool, true);
        let value = subsidy(h) + self.chain.body.fees;
        let mut buf = self.chain.sink.buffer();
        let tag = self.econ.pools[pool].tag;
        let spec = BlockSpec {
            prev: self.chain.prev_hash,
            time,
            height: h,
            tag,
            extranonce: self.rng.next_u64() as u32,
            payee,
            value,
        };
        let a = assemble(
            &self.chain.body,
            self.chain.body.len(),
            &spec,
            &self.keys,
            &mut self.chain.scratch,
            &mut buf.head,
        );
        let cb = Utxo {
            txid: a.coinbase_txid,
            value,
            addr: payee.id,
            vout: 0,
            kind: payee.kind,
        };
        self.chain.pending_cb.push_back((h, pool, cb));
        let body = &self.chain.body;
        self.chain.txs_closed += 1 + body.len() as u64;
        self.chain.inputs += 1 + body.inputs;
        self.chain.outputs += body.outputs + if body.segwit.iter().any(|s| *s) { 2 } else { 1 };
        self.chain.hashes.push(a.hash);
        while self.chain.stale_plan.last().is_some_and(|s| s.0 == h) {
            let (_, len) = self.chain.stale_plan.pop().expect("checked");
            self.write_stale(h, time, pool, len);
        }
        // The body moves to disk without a copy; its buffer comes back
        // through the sink's spares.
        std::mem::swap(&mut buf.body, &mut self.chain.body.buf);
        let pushed = self.chain.sink.push(buf, &mut self.rng);
        self.defer(pushed);
        self.chain.prev_hash = a.hash;
        self.chain.prev_time = time;
        self.chain.height = h;
        self.chain.body.clear();
        self.chain.open = false;
        let total = self.chain.txs_closed;
        (self.progress)(total);
    }

    /// A coinbase address of pool `pool` (reused; the P2PK miner takes a
    /// fresh key per block when `fresh_p2pk`).
    fn coinbase_addr(&mut self, pool: usize, fresh_p2pk: bool) -> AddrRef {
        let p = &self.econ.pools[pool];
        let (w, kind, n) = (p.wallet, p.kind, p.addrs.len());
        if n == 0 || (kind == ScriptKind::P2pk && fresh_p2pk) || (n < 3 && self.rng.chance(0.01)) {
            let a = self.fresh(w);
            self.econ.pools[pool].addrs.push(a.id);
            return a;
        }
        let id = self.econ.pools[pool].addrs[self.rng.index(n)];
        self.book.get(id)
    }

    /// Writes a fork of `len` blocks off the parent of main block `h`: a
    /// competitor's block with a prefix of the same transactions, then (for
    /// two-block forks) a coinbase-only child. Never longer than the main
    /// chain, which the caller guarantees continues past `h + len - 1`.
    fn write_stale(&mut self, h: u32, main_time: u32, main_pool: usize, len: u32) {
        let npools = self.econ.pools.len();
        let pool = (main_pool + 1 + self.rng.index(npools - 1)) % npools;
        let payee = self.coinbase_addr(pool, false);
        let k = (self.chain.body.len() as f64 * self.rng.uniform(0.3, 0.9)) as usize;
        let mut prev = self.chain.prev_hash;
        let mut time = main_time + self.rng.range(1, 40) as u32;
        let tag = self.econ.pools[pool].tag;
        for i in 0..len {
            let height = h + i;
            let spec = BlockSpec {
                prev,
                time,
                height,
                tag,
                extranonce: self.rng.next_u64() as u32,
                payee,
                value: subsidy(height),
            };
            let mut buf = self.chain.sink.buffer();
            let kk = if i == 0 { k } else { 0 };
            let a = assemble(
                &self.chain.body,
                kk,
                &spec,
                &self.keys,
                &mut self.chain.scratch,
                &mut buf.head,
            );
            buf.body
                .extend_from_slice(&self.chain.body.buf[..self.chain.body.prefix_len(kk)]);
            self.chain.stale.push(StaleRec {
                hash: a.hash,
                height,
                prev,
            });
            let pushed = self.chain.sink.push(buf, &mut self.rng);
            self.defer(pushed);
            prev = a.hash;
            time += self.rng.range(30, 600) as u32;
        }
    }

    /// Keeps the first error of a deferred IO step.
    pub(crate) fn defer(&mut self, r: Result<(), SimError>) {
        if let Err(e) = r {
            if self.err.is_none() {
                self.err = Some(e);
            }
        }
    }

    /// Records a CoinJoin transaction for the truth.
    pub(crate) fn record_coinjoin(
        &mut self,
        txid: [u8; 32],
        kind: CoinJoinKind,
        thief_inputs: bool,
    ) {
        // The block may have closed right after the tx: its height is the
        // last closed one then.
        let height = if self.chain.open {
            self.next_height()
        } else {
            self.chain.height
        };
        self.coinjoins.push((txid, kind, height, thief_inputs));
    }

    /// Closes the last block and the files. Returns the number of blk files.
    pub(crate) fn finish_chain(&mut self) -> Result<u32, SimError> {
        if self.chain.open {
            self.close_block();
        }
        if let Some(e) = self.err.take() {
            return Err(e);
        }
        self.chain.sink.finish(&mut self.rng)
    }
}
