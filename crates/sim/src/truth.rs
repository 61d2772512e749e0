//! The ground truth written next to the blocks: `truth.json` (this module's
//! [`Truth`]) and `truth-addresses.csv` (`address,entity_id`, one row per
//! standard address; read it with [`read_addresses`]).
//!
//! Hashes and txids are in display (byte-reversed) hex, as block explorers
//! show them. Addresses are regtest addresses as
//! `bitcoin::Address::from_script` renders them; P2PK outputs appear as the
//! P2PKH address of their key, bare multisig and `OP_RETURN` outputs have no
//! owner row.

use std::io::{self, BufRead};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::SimError;

/// Version of the truth format; bumped on incompatible changes.
pub const TRUTH_FORMAT_VERSION: u32 = 1;

/// Everything the simulator knows that a chain analyst has to infer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    /// [`TRUTH_FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The run's seed.
    pub seed: u64,
    /// The run's config.
    pub config: TruthConfig,
    /// Always `"regtest"`.
    pub network: String,
    /// Main-chain blocks, genesis included (tip height + 1).
    pub blocks: u32,
    /// Main-chain transactions, coinbases included.
    pub txs: u64,
    /// Hash of block 0.
    pub genesis_hash: String,
    /// Hash of the best block.
    pub tip_hash: String,
    /// Main-chain block hashes by height.
    pub main_chain: Vec<String>,
    /// Blocks written to disk that are not on the main chain.
    pub stale_blocks: Vec<StaleBlock>,
    /// Number of blk files written.
    pub blk_files: u32,
    /// Name of the address-owner CSV next to this file.
    pub addresses_file: String,
    /// Rows in the address-owner CSV.
    pub address_count: u64,
    /// Every entity; `id` is the index.
    pub entities: Vec<TruthEntity>,
    /// Every CoinJoin (and Whirlpool tx0) transaction, in chain order.
    pub coinjoins: Vec<TruthCoinJoin>,
    /// The hack and its laundering.
    pub incident: Incident,
}

/// The config of the run, as recorded in the truth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthConfig {
    /// See [`crate::SimConfig::txs`].
    pub txs: u64,
    /// See [`crate::SimConfig::seed`].
    pub seed: u64,
    /// See [`crate::SimConfig::txs_per_block`].
    pub txs_per_block: u32,
    /// See [`crate::SimConfig::xor_key`]; 16 hex digits.
    pub xor_key: Option<String>,
    /// See [`crate::SimConfig::stale_blocks`].
    pub stale_blocks: u32,
    /// See [`crate::SimConfig::shuffle_window`].
    pub shuffle_window: u32,
    /// See [`crate::SimConfig::max_file_bytes`].
    pub max_file_bytes: u64,
}

/// A block on a losing fork.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleBlock {
    /// Its hash.
    pub hash: String,
    /// Its height.
    pub height: u32,
    /// Its parent's hash.
    pub prev_hash: String,
}

/// What an entity is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A mining pool or solo miner.
    Miner,
    /// A person with a wallet.
    User,
    /// A custodial exchange.
    Exchange,
    /// A merchant or payment processor.
    Merchant,
    /// A CoinJoin coordinator (fee addresses only; it owns no inputs).
    CoinjoinCoordinator,
    /// The hacker.
    Thief,
}

/// One entity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthEntity {
    /// Entity id, as in the CSV.
    pub id: u32,
    /// Invented name.
    pub name: String,
    /// Kind.
    pub kind: EntityKind,
    /// ISO 3166 alpha-2 country, for exchanges.
    pub country: Option<String>,
    /// Rows this entity has in the address CSV.
    pub address_count: u64,
}

/// The shape of a CoinJoin transaction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoinJoinKind {
    /// Whirlpool tx0: one owner's inputs to equal premix outputs, a
    /// coordinator fee output, an `OP_RETURN` and change. Not a CoinJoin
    /// itself (its inputs have one owner), listed because it feeds one.
    WhirlpoolTx0,
    /// Whirlpool mix: 5 inputs, 5 equal outputs of the pool denomination.
    Whirlpool,
    /// Wasabi 1.x: many inputs, equal outputs of ~0.1 BTC, change outputs
    /// and a coordinator fee output.
    Wasabi1,
    /// Wasabi 2.x: many inputs, outputs in standard denominations, a
    /// coordinator fee output.
    Wasabi2,
}

/// One CoinJoin-related transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthCoinJoin {
    /// Its txid.
    pub txid: String,
    /// Its shape.
    pub kind: CoinJoinKind,
    /// Height of its block.
    pub height: u32,
    /// Whether the thief owned any of its inputs.
    pub thief_inputs: bool,
}

/// The hack of one exchange's hot wallet and the laundering that followed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Entity id of the robbed exchange.
    pub victim_exchange: u32,
    /// Its name.
    pub victim_name: String,
    /// Its country.
    pub victim_country: String,
    /// Entity id of the thief.
    pub thief_entity: u32,
    /// Height of the block holding the first theft transaction.
    pub height: u32,
    /// Every hot-wallet address of the victim.
    pub hot_wallet_addresses: Vec<String>,
    /// The transactions that drained the hot wallet.
    pub theft_txids: Vec<String>,
    /// Value of the victim's outputs the theft spent.
    pub stolen_sats: u64,
    /// Every transaction after the theft that spends a thief-owned output:
    /// the thief's own transactions (peels, hops, fan-outs, consolidations,
    /// tx0s, cash-outs) and the CoinJoins it took part in. Chain order.
    pub laundering_txids: Vec<String>,
    /// The subset of `laundering_txids` that are multi-party CoinJoins.
    pub laundering_coinjoin_txids: Vec<String>,
    /// Every payment into another exchange's deposit address.
    pub cashouts: Vec<Cashout>,
    /// Coins the thief parked deliberately and never moved.
    pub stockpile: Holding,
    /// Other thief coins still unspent when the chain ends (mid-route).
    pub in_flight: Holding,
    /// Cash-out totals per receiving exchange.
    pub received_by_exchange: Vec<ExchangeTotal>,
}

/// One cash-out output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cashout {
    /// Entity id of the receiving exchange.
    pub exchange: u32,
    /// Its name.
    pub name: String,
    /// Its country.
    pub country: String,
    /// The deposit address (owned by the exchange).
    pub deposit_address: String,
    /// The paying transaction.
    pub txid: String,
    /// Output index in it.
    pub vout: u32,
    /// Value.
    pub sats: u64,
}

/// Coins at a set of addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    /// Total value.
    pub sats: u64,
    /// Number of unspent outputs.
    pub utxos: u64,
    /// The distinct addresses holding them.
    pub addresses: Vec<String>,
}

/// Stolen value received by one exchange.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeTotal {
    /// Entity id of the exchange.
    pub exchange: u32,
    /// Its name.
    pub name: String,
    /// Its country.
    pub country: String,
    /// Total value deposited by the thief.
    pub sats: u64,
    /// Number of deposit outputs.
    pub deposits: u64,
}

impl Truth {
    /// A node's view just before `stale` lost: the main chain up to the
    /// stale block's parent, then the stale block (hashes in chain order).
    pub fn view_before_reorg(&self, stale: &StaleBlock) -> Vec<chainhound_types::Hash32> {
        let parse = |h: &str| {
            chainhound_types::Hash32::from_display_hex(h).expect("truth.json holds 64-digit hashes")
        };
        let mut view: Vec<_> = self.main_chain[..stale.height as usize]
            .iter()
            .map(|h| parse(h))
            .collect();
        view.push(parse(&stale.hash));
        view
    }

    /// Reads `truth.json` from a simulation output directory.
    pub fn load(out_dir: &Path) -> Result<Truth, SimError> {
        let path = out_dir.join(crate::TRUTH_FILE);
        let bytes = std::fs::read(&path).map_err(|e| SimError::io(&path, e))?;
        serde_json::from_slice(&bytes).map_err(|source| SimError::Truth { path, source })
    }
}

/// Reads `truth-addresses.csv` from a simulation output directory into
/// `(address, entity_id)` rows.
pub fn read_addresses(out_dir: &Path) -> Result<Vec<(String, u32)>, SimError> {
    let path = out_dir.join(crate::ADDRESSES_FILE);
    let f = std::fs::File::open(&path).map_err(|e| SimError::io(&path, e))?;
    let bad = |line: &str| {
        SimError::io(
            &path,
            io::Error::new(io::ErrorKind::InvalidData, format!("bad row {line:?}")),
        )
    };
    let mut rows = Vec::new();
    for (i, line) in io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| SimError::io(&path, e))?;
        if i == 0 {
            continue;
        }
        let (a, e) = line.split_once(',').ok_or_else(|| bad(&line))?;
        rows.push((a.to_string(), e.parse().map_err(|_| bad(&line))?));
    }
    Ok(rows)
}

/// Collects the truth of a finished run.
pub(crate) fn build(w: &crate::world::World<'_>, files: u32) -> Truth {
    use chainhound_types::Hash32;
    use std::collections::{BTreeMap, BTreeSet};
    let hex = |h: &[u8; 32]| Hash32(*h).to_display_hex();
    let cfg = &w.cfg;
    let ex_info = |i: usize| {
        let e = &w.econ.exchanges[i];
        (e.entity, e.name.to_string(), e.country.to_string())
    };
    let holding = |coins: &mut dyn Iterator<Item = &crate::tx::Utxo>| {
        let mut h = Holding::default();
        let mut addrs = BTreeSet::new();
        for u in coins {
            h.sats += u.value;
            h.utxos += 1;
            addrs.insert(u.addr);
        }
        h.addresses = addrs.into_iter().map(|a| w.book.render(a)).collect();
        h
    };
    let t = &w.thief;
    let (victim_exchange, victim_name, victim_country) = ex_info(t.victim);
    let mut totals: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
    for c in &t.cashouts {
        let e = totals.entry(c.ex).or_default();
        e.0 += c.sats;
        e.1 += 1;
    }
    let thief_cj: BTreeSet<[u8; 32]> = w
        .coinjoins
        .iter()
        .filter(|c| c.3 && c.1 != CoinJoinKind::WhirlpoolTx0)
        .map(|c| c.0)
        .collect();
    let whirl_held: Vec<crate::tx::Utxo> =
        w.cj.whirl
            .iter()
            .flat_map(|p| p.premix.iter().chain(&p.liquidity))
            .filter(|(o, _)| *o == crate::world::THIEF)
            .map(|(_, u)| *u)
            .collect();
    let mut in_flight = t
        .coins
        .iter()
        .map(|(u, _)| u)
        .chain(&t.postmix)
        .chain(&t.wasabi1_q)
        .chain(&t.wasabi2_q)
        .chain(&t.stuck)
        .chain(&whirl_held);
    let hot = &w.econ.exchanges[t.victim].hot_addrs;
    Truth {
        format_version: TRUTH_FORMAT_VERSION,
        seed: cfg.seed,
        config: TruthConfig {
            txs: cfg.txs,
            seed: cfg.seed,
            txs_per_block: cfg.txs_per_block,
            xor_key: cfg
                .xor_key
                .map(|k| k.iter().map(|b| format!("{b:02x}")).collect()),
            stale_blocks: cfg.stale_blocks,
            shuffle_window: cfg.shuffle_window,
            max_file_bytes: cfg.max_file_bytes,
        },
        network: "regtest".into(),
        blocks: w.chain.hashes.len() as u32,
        txs: w.chain.txs_closed,
        genesis_hash: hex(&w.chain.hashes[0]),
        tip_hash: hex(w.chain.hashes.last().expect("genesis at least")),
        main_chain: w.chain.hashes.iter().map(hex).collect(),
        stale_blocks: w
            .chain
            .stale
            .iter()
            .map(|s| StaleBlock {
                hash: hex(&s.hash),
                height: s.height,
                prev_hash: hex(&s.prev),
            })
            .collect(),
        blk_files: files,
        addresses_file: crate::ADDRESSES_FILE.into(),
        address_count: w.book.len(),
        entities: w
            .book
            .entities
            .iter()
            .enumerate()
            .map(|(i, e)| TruthEntity {
                id: i as u32,
                name: e.name.clone(),
                kind: e.kind,
                country: e.country.map(str::to_string),
                address_count: e.addresses,
            })
            .collect(),
        coinjoins: w
            .coinjoins
            .iter()
            .map(|(txid, kind, height, thief)| TruthCoinJoin {
                txid: hex(txid),
                kind: *kind,
                height: *height,
                thief_inputs: *thief,
            })
            .collect(),
        incident: Incident {
            victim_exchange,
            victim_name,
            victim_country,
            thief_entity: t.entity,
            height: t.height,
            hot_wallet_addresses: hot.iter().map(|a| w.book.render(*a)).collect(),
            theft_txids: t.theft_txids.iter().map(hex).collect(),
            stolen_sats: t.stolen,
            laundering_txids: t.laundering.iter().map(hex).collect(),
            laundering_coinjoin_txids: t
                .laundering
                .iter()
                .filter(|x| thief_cj.contains(*x))
                .map(hex)
                .collect(),
            cashouts: t
                .cashouts
                .iter()
                .map(|c| {
                    let (exchange, name, country) = ex_info(c.ex);
                    Cashout {
                        exchange,
                        name,
                        country,
                        deposit_address: w.book.render(c.addr),
                        txid: hex(&c.txid),
                        vout: c.vout,
                        sats: c.sats,
                    }
                })
                .collect(),
            stockpile: holding(&mut t.stockpile.iter()),
            in_flight: holding(&mut in_flight),
            received_by_exchange: totals
                .into_iter()
                .map(|(i, (sats, deposits))| {
                    let (exchange, name, country) = ex_info(i);
                    ExchangeTotal {
                        exchange,
                        name,
                        country,
                        sats,
                        deposits,
                    }
                })
                .collect(),
        },
    }
}
