//! Store tests: a model of the chain kept in plain Rust collections, checked
//! against what the store answers after commits, crashes and rollbacks.

use std::collections::BTreeMap;
use std::path::Path;

use chainhound_types::{
    AddrId, AddrKey, AddrKind, Block, BlockHeight, Hash32, Input, InputId, Output, OutputId, Sats,
    Tx, TxNum,
};
use proptest::prelude::*;

use crate::{Funding, SourceLoc, Store, StoreWriter};

const MAGIC: [u8; 4] = [0xfa, 0xbf, 0xb5, 0xda];

fn h(tag: u64, n: u64) -> Hash32 {
    let mut b = [0u8; 32];
    let x = crate::hashtab::mix(tag.wrapping_mul(0x0010_0000_0001) ^ n);
    b[..8].copy_from_slice(&x.to_le_bytes());
    b[8..16].copy_from_slice(&n.to_le_bytes());
    b[16..24].copy_from_slice(&tag.to_le_bytes());
    Hash32(b)
}

/// A deterministic random chain: each block has a coinbase and a few txs
/// spending random unspent outputs, paying a small pool of addresses.
struct ChainGen {
    rng: u64,
    utxos: Vec<(Hash32, u32, u64)>,
    next_tx: u64,
    tag: u64,
}

impl ChainGen {
    fn new(seed: u64, tag: u64) -> ChainGen {
        ChainGen {
            rng: seed | 1,
            utxos: Vec::new(),
            next_tx: 0,
            tag,
        }
    }
    fn rand(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }
    fn addr(&mut self) -> AddrKey {
        let n = self.rand() % 23;
        let kind = [
            AddrKind::PubkeyHash,
            AddrKind::WitnessPubkeyHash,
            AddrKind::Taproot,
            AddrKind::OpReturn,
        ][(n % 4) as usize];
        AddrKey::new(kind, &h(99, n).0[..20])
    }
    fn block(&mut self, prev: Hash32, height: u64) -> Block {
        let mut b = Block {
            hash: h(self.tag, height),
            size: 1000,
            ..Block::default()
        };
        b.header[4..36].copy_from_slice(&prev.0);
        let n_txs = 1 + self.rand() % 5;
        for i in 0..n_txs {
            let txid = h(self.tag + 1, self.next_tx);
            self.next_tx += 1;
            let mut total = 0u64;
            let n_in = if i == 0 {
                1
            } else {
                (1 + self.rand() % 3).min(self.utxos.len() as u64)
            };
            if i == 0 || n_in == 0 {
                b.inputs.push(Input::Coinbase);
                total = 50 * 100_000_000 + self.rand() % 7_000_000_000;
            } else {
                for _ in 0..n_in {
                    let k = (self.rand() as usize) % self.utxos.len();
                    let (t, v, val) = self.utxos.swap_remove(k);
                    b.inputs.push(Input::Spend { txid: t, vout: v });
                    total += val;
                }
                if self.rand().is_multiple_of(5) {
                    b.inputs.push(Input::Spend {
                        txid: h(7777, self.rand()),
                        vout: 3,
                    });
                }
            }
            let n_out = 1 + self.rand() % 3;
            for v in 0..n_out {
                let val = if v + 1 == n_out { total } else { total / 2 };
                total -= val;
                let addr = self.addr();
                b.outputs.push(Output {
                    value: Sats(val),
                    addr,
                });
                self.utxos.push((txid, v as u32, val));
            }
            let n_inputs =
                (b.inputs.len() - b.txs.iter().map(|t| t.n_inputs as usize).sum::<usize>()) as u32;
            b.txs.push(Tx {
                txid,
                version: 2,
                lock_time: 0,
                size: 200,
                weight: 800,
                n_inputs,
                n_outputs: n_out as u32,
            });
        }
        b
    }
}

/// Every query answer of the store, as text: equal text = equal answers.
pub(crate) fn dump(s: &Store) -> String {
    let mut out = String::new();
    let c = s.counts();
    for hgt in 0..c.blocks {
        let b = s.block(BlockHeight(s.base_height() + hgt)).unwrap();
        out += &format!(
            "block {} {} txs {:?} work {}\n",
            b.height, b.hash, b.txs, b.chain_work
        );
    }
    for t in 0..c.txs {
        let tx = s.tx(TxNum(t));
        out += &format!(
            "tx {} {} h{} i{} fee {:?}\n",
            t,
            tx.txid,
            tx.height,
            tx.index,
            s.tx_fee(TxNum(t))
        );
        for i in tx.inputs.clone() {
            out += &format!("  in {:?}\n", s.input(InputId(i)));
        }
        for o in tx.outputs.clone() {
            out += &format!("  out {:?}\n", s.output(OutputId(o)));
        }
        assert_eq!(s.tx_by_txid(&tx.txid), Some(TxNum(t)));
    }
    for a in 0..c.addrs {
        let key = s.addr_key(AddrId(a));
        assert_eq!(s.addr_id(&key), Some(AddrId(a)));
        let outs: Vec<_> = s.addr_outputs(AddrId(a)).collect();
        out += &format!(
            "addr {a} {:?} {:?} {:?}\n",
            key.kind,
            outs,
            s.addr_summary(AddrId(a))
        );
    }
    out += &format!("sum {}\n", s.sum_output_values());
    out
}

fn build(dir: &Path, blocks: &[Block], commit_every: usize) -> String {
    let mut w = StoreWriter::open(dir, MAGIC, "regtest").unwrap();
    for (i, b) in blocks.iter().enumerate() {
        w.append_block(
            b,
            SourceLoc {
                file: 0,
                offset: i as u64,
            },
            1,
        )
        .unwrap();
        if (i + 1) % commit_every == 0 {
            w.commit().unwrap();
        }
    }
    w.commit().unwrap();
    drop(w);
    dump(&Store::open(dir).unwrap())
}

fn chain(
    seed: u64,
    tag: u64,
    n: usize,
    prev: Hash32,
    start: u64,
    g: Option<ChainGen>,
) -> (Vec<Block>, ChainGen) {
    let mut g = g.unwrap_or_else(|| ChainGen::new(seed, tag));
    g.tag = tag;
    let mut prev = prev;
    let mut v = Vec::new();
    for i in 0..n {
        let b = g.block(prev, start + i as u64);
        prev = b.hash;
        v.push(b);
    }
    (v, g)
}

#[test]
fn links_values_and_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let (mut blocks, _) = chain(5, 1, 30, Hash32::default(), 0, None);
    // one huge output to exercise the value exception table
    blocks[3].outputs[0].value = Sats(20_000_000 * 100_000_000);
    let text = build(dir.path(), &blocks, 7);
    let s = Store::open(dir.path()).unwrap();
    // model: every input of the chain, resolved by hand
    let mut by_txid: BTreeMap<Hash32, (u32, u32)> = BTreeMap::new();
    let (mut t_num, mut o_num, mut i_num) = (0u32, 0u32, 0u32);
    let mut expect_sum: u128 = 0;
    for b in &blocks {
        let mut ins = b.inputs.iter();
        let mut outs = b.outputs.iter();
        for tx in &b.txs {
            for _ in 0..tx.n_inputs {
                let want = match ins.next().unwrap() {
                    Input::Coinbase => Funding::Coinbase,
                    Input::Spend { txid, vout } => match by_txid.get(txid) {
                        Some(&(first, n)) if *vout < n => Funding::Output(OutputId(first + vout)),
                        _ => Funding::Unresolved {
                            txid: *txid,
                            vout: *vout,
                        },
                    },
                };
                assert_eq!(s.input(InputId(i_num)).funding, want);
                if let Funding::Output(o) = want {
                    assert_eq!(s.spender(o), Some(InputId(i_num)));
                }
                i_num += 1;
            }
            for _ in 0..tx.n_outputs {
                let o = outs.next().unwrap();
                assert_eq!(s.output_value(OutputId(o_num)), o.value);
                assert_eq!(s.addr_key(s.output(OutputId(o_num)).addr), o.addr);
                expect_sum += u128::from(o.value.0);
                o_num += 1;
            }
            by_txid.insert(tx.txid, (o_num - tx.n_outputs, tx.n_outputs));
            t_num += 1;
        }
    }
    assert_eq!(s.counts().txs, t_num);
    assert_eq!(s.sum_output_values(), expect_sum);
    assert!(s.counts().value_exts >= 1);
    assert!(
        s.counts().unresolved >= 1,
        "the generator spends some unknown outpoints"
    );
    assert_eq!(
        s.block_by_hash(&blocks[29].hash).unwrap().height,
        BlockHeight(29)
    );
    // balances add up to the unspent total
    let unspent: u128 = (0..s.counts().outputs)
        .filter(|&o| s.spender(OutputId(o)).is_none())
        .map(|o| u128::from(s.output_value(OutputId(o)).0))
        .sum();
    let balances: u128 = (0..s.counts().addrs)
        .map(|a| u128::from(s.addr_summary(AddrId(a)).balance.0))
        .sum();
    assert_eq!(unspent, balances);
    // commit cadence does not change answers
    let dir2 = tempfile::tempdir().unwrap();
    assert_eq!(build(dir2.path(), &blocks, 1), text);
}

#[test]
fn uncommitted_rows_vanish_and_resume_is_identical() {
    let (blocks, _) = chain(9, 1, 40, Hash32::default(), 0, None);
    let clean = tempfile::tempdir().unwrap();
    let want = build(clean.path(), &blocks, 40);

    for crash_step in [None, Some(1u8), Some(2), Some(3)] {
        let dir = tempfile::tempdir().unwrap();
        let mut w = StoreWriter::open(dir.path(), MAGIC, "regtest").unwrap();
        for (i, b) in blocks[..20].iter().enumerate() {
            w.append_block(
                b,
                SourceLoc {
                    file: 0,
                    offset: i as u64,
                },
                1,
            )
            .unwrap();
        }
        w.commit().unwrap();
        for (i, b) in blocks[20..33].iter().enumerate() {
            w.append_block(
                b,
                SourceLoc {
                    file: 0,
                    offset: 20 + i as u64,
                },
                1,
            )
            .unwrap();
        }
        w.crash_at = crash_step;
        if crash_step.is_some() {
            assert!(w.commit().is_err());
        }
        drop(w); // no commit: as if killed
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.counts().blocks, 20, "crash step {crash_step:?}");
        let partial = dump(&s);
        let ref_dir = tempfile::tempdir().unwrap();
        assert_eq!(
            partial,
            build(ref_dir.path(), &blocks[..20], 20),
            "crash step {crash_step:?}"
        );
        let mut w = StoreWriter::open(dir.path(), MAGIC, "regtest").unwrap();
        assert_eq!(w.counts().blocks, 20);
        for (i, b) in blocks[20..].iter().enumerate() {
            w.append_block(
                b,
                SourceLoc {
                    file: 0,
                    offset: 20 + i as u64,
                },
                1,
            )
            .unwrap();
        }
        w.commit().unwrap();
        drop(w);
        assert_eq!(
            dump(&Store::open(dir.path()).unwrap()),
            want,
            "crash step {crash_step:?}"
        );
    }
}

#[test]
fn rollback_equals_fresh_build() {
    let (a, _) = chain(3, 1, 30, Hash32::default(), 0, None);
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), &a, 10);
    // fork at height 18: blocks 18.. are replaced by another branch that
    // spends the same prefix outputs differently (stale spent_by links)
    let (prefix, g18) = chain(3, 1, 18, Hash32::default(), 0, None);
    assert_eq!(prefix[17].hash, a[17].hash);
    let (mut b, _) = chain(0, 50, 15, a[17].hash, 18, Some(g18));
    assert!(b
        .iter()
        .any(|blk| blk.inputs.iter().any(|i| matches!(i, Input::Spend { .. }))));
    let mut w = StoreWriter::open(dir.path(), MAGIC, "regtest").unwrap();
    w.rollback_to(18).unwrap();
    assert_eq!(w.tip().unwrap().0, 17);
    for (i, blk) in b.iter_mut().enumerate() {
        w.append_block(
            blk,
            SourceLoc {
                file: 1,
                offset: i as u64,
            },
            1,
        )
        .unwrap();
    }
    w.commit().unwrap();
    drop(w);
    let got = dump(&Store::open(dir.path()).unwrap());
    let fresh = tempfile::tempdir().unwrap();
    let mut w = StoreWriter::open(fresh.path(), MAGIC, "regtest").unwrap();
    for (i, blk) in prefix.iter().enumerate() {
        w.append_block(
            blk,
            SourceLoc {
                file: 0,
                offset: i as u64,
            },
            1,
        )
        .unwrap();
    }
    for (i, blk) in b.iter().enumerate() {
        w.append_block(
            blk,
            SourceLoc {
                file: 1,
                offset: i as u64,
            },
            1,
        )
        .unwrap();
    }
    w.commit().unwrap();
    drop(w);
    assert_eq!(got, dump(&Store::open(fresh.path()).unwrap()));
}

#[test]
fn one_writer_and_right_network() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = StoreWriter::open(dir.path(), MAGIC, "regtest").unwrap();
    let err = StoreWriter::open(dir.path(), MAGIC, "regtest")
        .err()
        .unwrap();
    assert!(err.to_string().contains("locked"), "{err}");
    drop(w);
    // a writer that never committed leaves no store behind
    assert!(Store::open(dir.path()).is_err());
    drop(StoreWriter::open(dir.path(), [0xf9, 0xbe, 0xb4, 0xd9], "main").unwrap());
    w = StoreWriter::open(dir.path(), MAGIC, "regtest").unwrap();
    w.commit().unwrap();
    drop(w);
    assert_eq!(Store::open(dir.path()).unwrap().counts().blocks, 0);
    let err = StoreWriter::open(dir.path(), [0xf9, 0xbe, 0xb4, 0xd9], "main")
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "store holds the regtest chain, not main");
    let mut w = StoreWriter::open(dir.path(), MAGIC, "regtest").unwrap();
    let (blocks, _) = chain(1, 1, 2, Hash32::default(), 0, None);
    w.append_block(&blocks[0], SourceLoc::default(), 1).unwrap();
    let err = w
        .append_block(&blocks[0], SourceLoc::default(), 1)
        .unwrap_err();
    assert!(err.to_string().contains("does not extend"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whatever the commit points, crash points and rollbacks, the store
    /// answers exactly like a store built in one go from the final chain.
    #[test]
    fn any_history_converges(seed in 1u64..u64::MAX, n in 5usize..40, cuts in proptest::collection::vec((0usize..40, 0u8..4), 0..6), fork in 0usize..40) {
        let (blocks, _) = chain(seed, 1, n, Hash32::default(), 0, None);
        let dir = tempfile::tempdir().unwrap();
        let mut w = StoreWriter::open(dir.path(), MAGIC, "regtest").unwrap();
        for (i, b) in blocks.iter().enumerate() {
            if w.tip().map(|t| t.0 + 1).unwrap_or(0) as usize != i { break; }
            w.append_block(b, SourceLoc::default(), 1).unwrap();
            for &(at, step) in &cuts {
                if at == i {
                    w.crash_at = (step > 0).then_some(step);
                    let _ = w.commit();
                    drop(w);
                    w = StoreWriter::open(dir.path(), MAGIC, "regtest").unwrap();
                    // re-append what the crash lost
                    let have = w.counts().blocks as usize;
                    for b in &blocks[have..=i] {
                        w.append_block(b, SourceLoc::default(), 1).unwrap();
                    }
                }
            }
        }
        let fork = fork % n;
        w.rollback_to(fork as u32).unwrap();
        for b in &blocks[fork..] {
            w.append_block(b, SourceLoc::default(), 1).unwrap();
        }
        w.commit().unwrap();
        drop(w);
        let fresh = tempfile::tempdir().unwrap();
        prop_assert_eq!(dump(&Store::open(dir.path()).unwrap()), build(fresh.path(), &blocks, n));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Value is conserved: the generator's transactions pay out exactly what
    /// their stored inputs hold, so the unspent outputs hold exactly what the
    /// coinbases created, and the address balances add up to the same sum.
    #[test]
    fn value_is_conserved(seed in 1u64..u64::MAX, n in 1usize..30) {
        let (blocks, _) = chain(seed, 1, n, Hash32::default(), 0, None);
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), &blocks, 5);
        let s = Store::open(dir.path()).unwrap();
        let c = s.counts();
        let created: u128 = (0..c.txs)
            .filter(|&t| s.tx(TxNum(t)).index == 0)
            .map(|t| u128::from(s.tx_output_total(TxNum(t)).0))
            .sum();
        let unspent: u128 = (0..c.outputs)
            .filter(|&o| s.spender(OutputId(o)).is_none())
            .map(|o| u128::from(s.output_value(OutputId(o)).0))
            .sum();
        let balances: u128 = (0..c.addrs).map(|a| u128::from(s.addr_summary(AddrId(a)).balance.0)).sum();
        // generator txs without stored inputs are coinbase-like issuers too
        let issued: u128 = (0..c.txs)
            .filter(|&t| s.tx(TxNum(t)).index != 0)
            .filter(|&t| s.tx(TxNum(t)).inputs.clone().all(|i| !matches!(s.input(InputId(i)).funding, Funding::Output(_))))
            .map(|t| u128::from(s.tx_output_total(TxNum(t)).0))
            .sum();
        prop_assert_eq!(unspent, created + issued);
        prop_assert_eq!(balances, unspent);
        // and the full-column scan agrees with row-by-row reads
        let all: u128 = (0..c.outputs).map(|o| u128::from(s.output_value(OutputId(o)).0)).sum();
        prop_assert_eq!(s.sum_output_values(), all);
    }
}
