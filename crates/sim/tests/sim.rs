//! End-to-end checks of `chainhound-sim`: the written files are re-read with
//! rust-bitcoin and checked against consensus-style rules and the truth.
//!
//! One 60k-transaction chain is generated per test binary and shared.
//! Generation speed is measured by `chainhound-bench simulate`, not here.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bitcoin::blockdata::constants::genesis_block;
use bitcoin::consensus::deserialize;
use bitcoin::hashes::Hash;
use bitcoin::{Address, Block, BlockHash, Network, OutPoint, Target, TxOut, Txid};
use chainhound_sim::truth::{read_addresses, CoinJoinKind, EntityKind, Truth};
use chainhound_sim::{simulate, SimConfig, BOOT_BLOCKS};

const MAGIC: [u8; 4] = [0xfa, 0xbf, 0xb5, 0xda];

/// A simulated chain read back from disk.
struct Read {
    dir: PathBuf,
    truth: Truth,
    /// Every block record in disk order: (file number, block).
    disk: Vec<(u32, Block)>,
    by_hash: HashMap<BlockHash, usize>,
    summary: chainhound_sim::SimSummary,
}

impl Read {
    fn main_chain(&self) -> impl Iterator<Item = &Block> {
        self.truth
            .main_chain
            .iter()
            .map(|h| &self.disk[self.by_hash[&h.parse::<BlockHash>().unwrap()]].1)
    }
}

/// The raw (de-obfuscated) bytes of every blk file, in order.
fn raw_files(dir: &Path) -> Vec<Vec<u8>> {
    let blocks = dir.join("blocks");
    let key: Option<Vec<u8>> = std::fs::read(blocks.join("xor.dat")).ok();
    let mut out = Vec::new();
    for n in 0.. {
        let Ok(mut bytes) = std::fs::read(blocks.join(format!("blk{n:05}.dat"))) else {
            break;
        };
        if let Some(k) = &key {
            for (i, b) in bytes.iter_mut().enumerate() {
                *b ^= k[i % 8];
            }
        }
        out.push(bytes);
    }
    out
}

fn read_dir(dir: &Path, summary: chainhound_sim::SimSummary) -> Read {
    let mut disk = Vec::new();
    for (n, bytes) in raw_files(dir).iter().enumerate() {
        let mut at = 0;
        while at < bytes.len() {
            assert_eq!(bytes[at..at + 4], MAGIC, "magic at {n}:{at}");
            let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
            let block: Block = deserialize(&bytes[at + 8..at + 8 + len]).expect("block decodes");
            disk.push((n as u32, block));
            at += 8 + len;
        }
    }
    let by_hash = disk
        .iter()
        .enumerate()
        .map(|(i, (_, b))| (b.block_hash(), i))
        .collect();
    Read {
        dir: dir.to_path_buf(),
        truth: Truth::load(dir).unwrap(),
        disk,
        by_hash,
        summary,
    }
}

fn gen(dir: &Path, cfg: &SimConfig) -> chainhound_sim::SimSummary {
    let _ = std::fs::remove_dir_all(dir);
    let mut last = 0;
    let s = simulate(cfg, dir, &mut |n| {
        assert!(n > last, "progress grows");
        last = n;
    })
    .unwrap();
    assert_eq!(last, s.txs);
    s
}

/// A fixed directory under Cargo's test scratch space: the shared 60k chain
/// cannot be removed when the test binary exits, so the next run reuses
/// (and first empties) the same place instead of piling up copies.
fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("chainhound-sim-{name}"))
}

fn big() -> &'static Read {
    static BIG: OnceLock<Read> = OnceLock::new();
    BIG.get_or_init(|| {
        let dir = tmp("60k");
        let mut cfg = SimConfig::new(60_000, 2024);
        cfg.txs_per_block = 500;
        cfg.max_file_bytes = 8 << 20;
        cfg.stale_blocks = 5;
        let s = gen(&dir, &cfg);
        read_dir(&dir, s)
    })
}

fn bip34_height(block: &Block) -> u64 {
    let sig = block.txdata[0].input[0].script_sig.as_bytes();
    match sig[0] {
        0x00 => 0,
        op @ 0x51..=0x60 => u64::from(op - 0x50),
        n @ 1..=4 => {
            let mut v = 0u64;
            for (i, b) in sig[1..1 + n as usize].iter().enumerate() {
                v |= u64::from(*b) << (8 * i);
            }
            v
        }
        _ => panic!("no BIP34 push"),
    }
}

fn subsidy(h: u64) -> u64 {
    (50 * 100_000_000u64)
        .checked_shr((h / 150) as u32)
        .unwrap_or(0)
}

#[test]
fn chain_is_valid_and_conserves_value() {
    let r = big();
    assert_eq!(r.truth.txs, 60_000);
    assert!(r.summary.files > 1, "several blk files at 8 MiB");
    let unspent = check_chain(r);
    // Script mix: every type shows up.
    let mut kinds = HashSet::new();
    for o in &unspent {
        let s = &o.script_pubkey;
        kinds.insert(if s.is_p2pkh() {
            "p2pkh"
        } else if s.is_p2sh() {
            "p2sh"
        } else if s.is_p2wpkh() {
            "p2wpkh"
        } else if s.is_p2wsh() {
            "p2wsh"
        } else if s.is_p2tr() {
            "p2tr"
        } else if s.is_p2pk() {
            "p2pk"
        } else if s.is_multisig() {
            "multisig"
        } else {
            "other"
        });
    }
    for k in [
        "p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr", "p2pk", "multisig",
    ] {
        assert!(kinds.contains(k), "no unspent {k} outputs");
    }
    assert!(!kinds.contains("other"));
}

#[test]
fn odd_configs_still_make_valid_chains() {
    // Tiny blocks, in-order writes, many stale forks, obfuscation.
    let dir = tmp("odd");
    let mut cfg = SimConfig::new(3_000, 99);
    cfg.txs_per_block = 10;
    cfg.shuffle_window = 1;
    cfg.stale_blocks = 12;
    cfg.xor_key = Some(*b"chainhnd");
    let s = gen(&dir, &cfg);
    let r = read_dir(&dir, s);
    check_chain(&r);
    assert_eq!(r.truth.stale_blocks.len(), 12);
    // In-order writes: every main-chain block after its parent.
    let pos: HashMap<BlockHash, usize> = r
        .disk
        .iter()
        .enumerate()
        .map(|(i, (_, b))| (b.block_hash(), i))
        .collect();
    assert!(r
        .disk
        .iter()
        .enumerate()
        .skip(1)
        .all(|(i, (_, b))| pos[&b.header.prev_blockhash] < i));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Consensus-style checks of the main chain, replaying every transaction
/// against an in-memory UTXO map.
fn check_chain(r: &Read) -> Vec<TxOut> {
    let t = &r.truth;
    assert_eq!(r.summary.txs, t.config.txs);
    assert_eq!(t.txs, t.config.txs);
    assert_eq!(t.blocks as usize, t.main_chain.len());
    let genesis = genesis_block(Network::Regtest);
    assert_eq!(r.disk[0].1, genesis, "genesis is the first record");
    assert_eq!(t.genesis_hash, genesis.block_hash().to_string());

    let mut utxos: HashMap<OutPoint, (TxOut, u64, bool)> = HashMap::new();
    let (mut prev_hash, mut prev_time) = (BlockHash::all_zeros(), 0u32);
    let (mut n_txs, mut n_in, mut n_out) = (0u64, 0u64, 0u64);
    let limit = Target::from_compact(bitcoin::CompactTarget::from_consensus(0x207f_ffff));
    for (h, block) in r.main_chain().enumerate() {
        let h = h as u64;
        assert_eq!(block.header.prev_blockhash, prev_hash, "link at {h}");
        assert!(block.check_merkle_root(), "merkle at {h}");
        assert!(
            block.check_witness_commitment(),
            "witness commitment at {h}"
        );
        block.header.validate_pow(limit).expect("pow");
        assert!(block.header.time > prev_time, "time increases at {h}");
        if h == 1 {
            assert_eq!(block.header.time, 1_704_067_200);
        }
        if h > 0 {
            assert_eq!(bip34_height(block), h);
        }
        assert!(block.weight().to_wu() <= 4_000_000);
        prev_hash = block.block_hash();
        prev_time = block.header.time;
        let mut fees = 0u64;
        for (i, tx) in block.txdata.iter().enumerate() {
            n_txs += 1;
            n_in += tx.input.len() as u64;
            n_out += tx.output.len() as u64;
            assert_eq!(tx.is_coinbase(), i == 0, "coinbase first, only once");
            let mut sum_in = 0u64;
            if !tx.is_coinbase() {
                for inp in &tx.input {
                    let (prev, created, coinbase) =
                        utxos.remove(&inp.previous_output).unwrap_or_else(|| {
                            panic!(
                                "{} spends missing or spent {}",
                                tx.compute_txid(),
                                inp.previous_output
                            )
                        });
                    if coinbase {
                        assert!(h >= created + 100, "immature coinbase spent at {h}");
                    }
                    sum_in += prev.value.to_sat();
                }
            }
            let sum_out: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
            assert!(tx
                .output
                .iter()
                .all(|o| o.value.to_sat() <= 21_000_000 * 100_000_000));
            if !tx.is_coinbase() {
                assert!(sum_in >= sum_out, "tx {} creates value", tx.compute_txid());
                let vsize = tx.vsize() as u64;
                let fee = sum_in - sum_out;
                assert!(
                    fee >= vsize / 2,
                    "fee rate of {} too low: {fee} for {vsize} vB",
                    tx.compute_txid()
                );
                assert!(
                    fee <= vsize * 1_000 + 200_000,
                    "fee of {} absurd: {fee}",
                    tx.compute_txid()
                );
                fees += fee;
            }
            let txid = tx.compute_txid();
            for (vout, o) in tx.output.iter().enumerate() {
                if !o.script_pubkey.is_op_return() {
                    utxos.insert(
                        OutPoint::new(txid, vout as u32),
                        (o.clone(), h, tx.is_coinbase()),
                    );
                }
            }
        }
        let cb: u64 = block.txdata[0]
            .output
            .iter()
            .map(|o| o.value.to_sat())
            .sum();
        assert!(cb <= subsidy(h) + fees, "coinbase too large at {h}");
        if h > 0 {
            assert_eq!(
                cb,
                subsidy(h) + fees,
                "our miners claim exactly subsidy + fees"
            );
        }
    }
    assert_eq!(n_txs, r.summary.txs);
    assert_eq!(n_in, r.summary.inputs);
    assert_eq!(n_out, r.summary.outputs);
    assert_eq!(prev_hash.to_string(), t.tip_hash);

    utxos.into_values().map(|(o, _, _)| o).collect()
}

#[test]
fn stale_blocks_and_out_of_order_writes() {
    let r = big();
    let main: HashSet<&String> = r.truth.main_chain.iter().collect();
    assert_eq!(r.truth.stale_blocks.len(), 5);
    assert_eq!(
        r.disk.len(),
        r.truth.main_chain.len() + 5,
        "every block is written once"
    );
    let tip_height = r.truth.main_chain.len() as u32 - 1;
    for s in &r.truth.stale_blocks {
        assert!(!main.contains(&s.hash));
        let b = &r.disk[r.by_hash[&s.hash.parse::<BlockHash>().unwrap()]].1;
        assert_eq!(b.header.prev_blockhash.to_string(), s.prev_hash);
        assert_eq!(bip34_height(b), u64::from(s.height));
        assert!(s.height + 2 <= tip_height, "stale fork never catches up");
        assert!(b.check_merkle_root());
        let parent_known = main.contains(&s.prev_hash)
            || r.truth.stale_blocks.iter().any(|o| o.hash == s.prev_hash);
        assert!(parent_known);
        if main.contains(&s.prev_hash) {
            // The competing block shares transactions with the winner.
            let winner = &r.disk[r.by_hash[&r.truth.main_chain[s.height as usize]
                .parse::<BlockHash>()
                .unwrap()]]
                .1;
            let theirs: HashSet<Txid> = winner.txdata.iter().map(|t| t.compute_txid()).collect();
            assert!(b.txdata[1..]
                .iter()
                .all(|t| theirs.contains(&t.compute_txid())));
        }
    }
    let pos: HashMap<BlockHash, usize> = r
        .disk
        .iter()
        .enumerate()
        .map(|(i, (_, b))| (b.block_hash(), i))
        .collect();
    let before_parent = r
        .disk
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(i, (_, b))| pos[&b.header.prev_blockhash] > *i)
        .count();
    assert!(
        before_parent > 10,
        "only {before_parent} blocks precede their parent on disk"
    );
}

#[test]
fn incident_truth_matches_the_chain() {
    let r = big();
    let inc = &r.truth.incident;
    assert!(
        inc.laundering_txids.len() >= 5_000,
        "{} laundering txs",
        inc.laundering_txids.len()
    );
    assert_eq!(r.summary.laundering_txs, inc.laundering_txids.len() as u64);
    assert!(
        inc.stolen_sats > 50 * 100_000_000,
        "stolen {}",
        inc.stolen_sats
    );
    let ents = &r.truth.entities;
    assert_eq!(
        ents[inc.victim_exchange as usize].kind,
        EntityKind::Exchange
    );
    assert_eq!(ents[inc.thief_entity as usize].kind, EntityKind::Thief);

    let mut where_tx: HashMap<Txid, (u32, &bitcoin::Transaction)> = HashMap::new();
    for (h, b) in r.main_chain().enumerate() {
        for tx in &b.txdata {
            where_tx.insert(tx.compute_txid(), (h as u32, tx));
        }
    }
    let owners: HashMap<String, u32> = read_addresses(&r.dir).unwrap().into_iter().collect();
    let owner_of = |o: &TxOut| -> Option<u32> {
        let a = Address::from_script(&o.script_pubkey, Network::Regtest).ok()?;
        owners.get(&a.to_string()).copied()
    };
    let mut spent: HashSet<OutPoint> = HashSet::new();
    for (_, tx) in where_tx.values() {
        spent.extend(tx.input.iter().map(|i| i.previous_output));
    }

    // Theft: spends victim hot-wallet coins into thief addresses.
    let hot: HashSet<&String> = inc.hot_wallet_addresses.iter().collect();
    let mut stolen = 0;
    for id in &inc.theft_txids {
        let (h, tx) = where_tx[&id.parse::<Txid>().unwrap()];
        assert!(h >= inc.height);
        for o in &tx.output {
            assert_eq!(owner_of(o), Some(inc.thief_entity));
        }
        for i in &tx.input {
            let (_, prev) = where_tx[&i.previous_output.txid];
            let o = &prev.output[i.previous_output.vout as usize];
            let a = Address::from_script(&o.script_pubkey, Network::Regtest)
                .unwrap()
                .to_string();
            assert!(hot.contains(&a));
            assert_eq!(owners[&a], inc.victim_exchange);
            stolen += o.value.to_sat();
        }
    }
    assert_eq!(stolen, inc.stolen_sats);

    // Laundering: all in the chain, after the theft, each spending a thief coin.
    let mut seen = HashSet::new();
    for id in &inc.laundering_txids {
        let (h, tx) = where_tx[&id.parse::<Txid>().unwrap()];
        assert!(seen.insert(id), "duplicate laundering txid");
        assert!(h >= inc.height);
        assert!(tx.input.iter().any(|i| {
            let (_, prev) = where_tx[&i.previous_output.txid];
            owner_of(&prev.output[i.previous_output.vout as usize]) == Some(inc.thief_entity)
        }));
    }
    assert!(
        !inc.laundering_coinjoin_txids.is_empty(),
        "the thief used CoinJoins"
    );

    // Cash-outs: the recorded outputs exist, pay the exchange's deposit
    // address, and the per-exchange totals add up.
    let mut per_ex: HashMap<u32, u64> = HashMap::new();
    let mut countries = HashSet::new();
    for c in &inc.cashouts {
        let (_, tx) = where_tx[&c.txid.parse::<Txid>().unwrap()];
        let o = &tx.output[c.vout as usize];
        assert_eq!(o.value.to_sat(), c.sats);
        assert_eq!(
            Address::from_script(&o.script_pubkey, Network::Regtest)
                .unwrap()
                .to_string(),
            c.deposit_address
        );
        assert_eq!(owners[&c.deposit_address], c.exchange);
        assert_ne!(c.exchange, inc.victim_exchange);
        assert!(seen.contains(&c.txid));
        *per_ex.entry(c.exchange).or_default() += c.sats;
        countries.insert(c.country.clone());
    }
    assert!(countries.len() >= 4, "cash-outs in {countries:?}");
    // The on-chain view of the same: every output to a thief deposit address
    // in a laundering tx.
    let deposit_addrs: HashSet<&String> = inc.cashouts.iter().map(|c| &c.deposit_address).collect();
    let mut onchain: HashMap<u32, u64> = HashMap::new();
    for id in &inc.laundering_txids {
        let (_, tx) = where_tx[&id.parse::<Txid>().unwrap()];
        for o in &tx.output {
            if let Ok(a) = Address::from_script(&o.script_pubkey, Network::Regtest) {
                if deposit_addrs.contains(&a.to_string()) {
                    *onchain.entry(owners[&a.to_string()]).or_default() += o.value.to_sat();
                }
            }
        }
    }
    assert_eq!(onchain, per_ex);
    for t in &inc.received_by_exchange {
        assert_eq!(per_ex[&t.exchange], t.sats);
    }
    assert_eq!(inc.received_by_exchange.len(), per_ex.len());
    // Exchanges sweep the loot like any deposit.
    let swept = inc
        .cashouts
        .iter()
        .filter(|c| spent.contains(&OutPoint::new(c.txid.parse().unwrap(), c.vout)))
        .count();
    assert!(
        swept * 2 > inc.cashouts.len(),
        "only {swept} of {} cash-outs swept",
        inc.cashouts.len()
    );

    // Stockpile: thief-owned and never spent.
    assert!(inc.stockpile.sats > 0 && !inc.stockpile.addresses.is_empty());
    let stock: HashSet<&String> = inc.stockpile.addresses.iter().collect();
    let mut stock_sats = 0;
    for (_, tx) in where_tx.values() {
        let txid = tx.compute_txid();
        for (v, o) in tx.output.iter().enumerate() {
            if let Ok(a) = Address::from_script(&o.script_pubkey, Network::Regtest) {
                if stock.contains(&a.to_string()) {
                    assert_eq!(owners[&a.to_string()], inc.thief_entity);
                    assert!(
                        !spent.contains(&OutPoint::new(txid, v as u32)),
                        "stockpile coin moved"
                    );
                    stock_sats += o.value.to_sat();
                }
            }
        }
    }
    assert_eq!(stock_sats, inc.stockpile.sats);
}

#[test]
fn every_output_address_has_an_owner_row() {
    let r = big();
    let rows = read_addresses(&r.dir).unwrap();
    assert_eq!(rows.len() as u64, r.truth.address_count);
    let owners: HashMap<String, u32> = rows.into_iter().collect();
    assert_eq!(
        owners.len() as u64,
        r.truth.address_count,
        "addresses are unique"
    );
    let n_entities = r.truth.entities.len() as u32;
    assert!(owners.values().all(|e| *e < n_entities));
    let counted: u64 = r.truth.entities.iter().map(|e| e.address_count).sum();
    assert_eq!(counted, r.truth.address_count);
    let mut reused = 0usize;
    let mut seen = HashSet::new();
    // The genesis coinbase belongs to nobody we simulate.
    for b in r.main_chain().skip(1) {
        for tx in &b.txdata {
            for o in &tx.output {
                let s = &o.script_pubkey;
                let a = if s.is_p2pk() {
                    // Dummy keys are not curve points; hash the raw bytes.
                    let h = bitcoin::PubkeyHash::hash(&s.as_bytes()[1..s.len() - 1]);
                    Some(Address::p2pkh(h, Network::Regtest).to_string())
                } else {
                    Address::from_script(s, Network::Regtest)
                        .ok()
                        .map(|a| a.to_string())
                };
                match a {
                    Some(a) => {
                        assert!(
                            owners.contains_key(&a),
                            "no owner row for {a} ({s:?}, tx {})",
                            tx.compute_txid()
                        );
                        if !seen.insert(a) {
                            reused += 1;
                        }
                    }
                    None => assert!(s.is_op_return() || s.is_multisig(), "unexpected script {s}"),
                }
            }
        }
    }
    assert!(reused > 1_000, "address reuse happens ({reused})");
    let kinds: HashSet<EntityKind> = r.truth.entities.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.len(), 6);
    let exchanges: Vec<_> = r
        .truth
        .entities
        .iter()
        .filter(|e| e.kind == EntityKind::Exchange)
        .collect();
    assert!(exchanges.len() >= 6 && exchanges.iter().all(|e| e.country.is_some()));
}

#[test]
fn coinjoins_have_their_claimed_shape() {
    let r = big();
    let mut where_tx: HashMap<Txid, &bitcoin::Transaction> = HashMap::new();
    for b in r.main_chain() {
        for tx in &b.txdata {
            where_tx.insert(tx.compute_txid(), tx);
        }
    }
    let owners: HashMap<String, u32> = read_addresses(&r.dir).unwrap().into_iter().collect();
    let owner = |o: &TxOut| {
        Address::from_script(&o.script_pubkey, Network::Regtest)
            .ok()
            .and_then(|a| owners.get(&a.to_string()).copied())
    };
    let denoms = [100_000u64, 1_000_000, 5_000_000, 50_000_000];
    let mut counts: HashMap<CoinJoinKind, usize> = HashMap::new();
    for cj in &r.truth.coinjoins {
        let tx = where_tx[&cj.txid.parse::<Txid>().unwrap()];
        *counts.entry(cj.kind).or_default() += 1;
        let values: Vec<u64> = tx.output.iter().map(|o| o.value.to_sat()).collect();
        let mut freq: HashMap<u64, usize> = HashMap::new();
        for v in &values {
            *freq.entry(*v).or_default() += 1;
        }
        let input_owners: HashSet<u32> = tx
            .input
            .iter()
            .map(|i| {
                owner(&where_tx[&i.previous_output.txid].output[i.previous_output.vout as usize])
                    .unwrap()
            })
            .collect();
        match cj.kind {
            CoinJoinKind::Whirlpool => {
                assert_eq!((tx.input.len(), tx.output.len()), (5, 5));
                assert!(denoms.contains(&values[0]) && values.iter().all(|v| *v == values[0]));
                assert!(input_owners.len() >= 3, "a mix has several owners");
            }
            CoinJoinKind::WhirlpoolTx0 => {
                assert!(tx.output.iter().any(|o| o.script_pubkey.is_op_return()));
                assert_eq!(input_owners.len(), 1);
                // Equal premixes of one pool (plus the pool's fee, the
                // OP_RETURN and at most one change output).
                let fees = [5_000u64, 50_000, 175_000, 1_750_000];
                let n = tx.output.len() - 1;
                let ok = freq.iter().any(|(v, k)| {
                    *k + 2 >= n
                        && (0..4).any(|i| {
                            *v > denoms[i] && *v < denoms[i] + 200_000 && values.contains(&fees[i])
                        })
                });
                assert!(ok, "tx0 shape: {values:?}");
            }
            CoinJoinKind::Wasabi1 => {
                let (_, top) = freq.iter().max_by_key(|(_, n)| **n).unwrap();
                // participants' equal outputs, their change outputs, the fee
                assert!(
                    *top >= 5 && *top * 2 + 1 >= tx.output.len(),
                    "equal outputs: {values:?}"
                );
                assert!(input_owners.len() >= 5);
            }
            CoinJoinKind::Wasabi2 => {
                assert!(input_owners.len() >= 3);
                let std = chainhound_sim_denoms();
                let non_std = values
                    .iter()
                    .filter(|v| std.binary_search(v).is_err())
                    .count();
                assert!(non_std <= 1, "only the coordinator fee is non-standard");
                assert!(freq.values().any(|n| *n >= 2));
            }
        }
    }
    for k in [
        CoinJoinKind::Whirlpool,
        CoinJoinKind::WhirlpoolTx0,
        CoinJoinKind::Wasabi1,
        CoinJoinKind::Wasabi2,
    ] {
        assert!(
            counts.get(&k).copied().unwrap_or(0) > 0,
            "no {k:?} transactions: {counts:?}"
        );
    }
}

/// Wasabi 2 standard denominations, written out independently.
fn chainhound_sim_denoms() -> Vec<u64> {
    let mut v = Vec::new();
    let max = 1u64 << 37;
    let mut p = 1u64;
    while p <= max {
        v.extend([p, 2 * p, 5 * p]);
        p *= 10;
    }
    for i in 0..38 {
        v.push(1 << i);
    }
    let mut p = 1u64;
    while p <= max {
        v.extend([p, 2 * p]);
        p *= 3;
    }
    v.retain(|d| (5_000..=max).contains(d));
    v.sort_unstable();
    v.dedup();
    v
}

fn dir_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for sub in [dir.to_path_buf(), dir.join("blocks")] {
        let mut names: Vec<_> = std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        names.sort();
        for p in names {
            files.push((
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            ));
        }
    }
    files
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let small = |seed| {
        let mut c = SimConfig::new(12_000, seed);
        c.txs_per_block = 300;
        c
    };
    let (a, b, c) = (tmp("det-a"), tmp("det-b"), tmp("det-c"));
    gen(&a, &small(7));
    gen(&b, &small(7));
    gen(&c, &small(8));
    let (fa, fb, fc) = (dir_bytes(&a), dir_bytes(&b), dir_bytes(&c));
    assert!(fa.len() >= 3);
    assert_eq!(fa, fb);
    assert_ne!(fa[0].1, fc[0].1);
    assert_ne!(
        fa.iter().find(|f| f.0 == "blk00000.dat").unwrap().1,
        fc.iter().find(|f| f.0 == "blk00000.dat").unwrap().1
    );
    // A small chain scales the laundering down but keeps its shape.
    let t = Truth::load(&a).unwrap();
    assert!(t.incident.laundering_txids.len() as u64 >= chainhound_sim::launder_target(12_000));
    assert_eq!(t.blocks as u64, t.main_chain.len() as u64);
    assert!(t.blocks > BOOT_BLOCKS);
    for d in [a, b, c] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn xor_obfuscation_round_trips() {
    let mut cfg = SimConfig::new(5_000, 3);
    cfg.txs_per_block = 200;
    cfg.max_file_bytes = 4 << 20;
    let (plain, xored) = (tmp("plain"), tmp("xor"));
    gen(&plain, &cfg);
    cfg.xor_key = Some([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    gen(&xored, &cfg);
    assert_eq!(
        std::fs::read(xored.join("blocks/xor.dat")).unwrap(),
        cfg.xor_key.unwrap()
    );
    assert!(!plain.join("blocks/xor.dat").exists());
    // Re-running into a used directory leaves no stale files behind.
    std::fs::write(plain.join("blocks/blk00042.dat"), b"junk").unwrap();
    std::fs::write(plain.join("blocks/xor.dat"), [1u8; 8]).unwrap();
    std::fs::write(plain.join("blocks/notes.txt"), b"keep").unwrap();
    cfg.xor_key = None;
    simulate(&cfg, &plain, &mut |_| {}).unwrap();
    assert!(!plain.join("blocks/blk00042.dat").exists() && !plain.join("blocks/xor.dat").exists());
    assert!(plain.join("blocks/notes.txt").exists());
    let raw = std::fs::read(xored.join("blocks/blk00000.dat")).unwrap();
    assert_ne!(raw[..4], MAGIC, "obfuscated on disk");
    assert_eq!(raw_files(&plain), raw_files(&xored));
    let t1 = Truth::load(&plain).unwrap();
    let t2 = Truth::load(&xored).unwrap();
    assert_eq!(t2.config.xor_key.as_deref(), Some("1122334455667788"));
    assert_eq!(t1.main_chain, t2.main_chain);
    for d in [plain, xored] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn rejects_bad_configs() {
    let dir = tmp("bad");
    let e = simulate(&SimConfig::new(10, 1), &dir, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("txs"));
    assert!(!dir.exists(), "nothing written");
}
