//! `chainhound evm …`: queries on an EVM chain's account store.

use anyhow::{anyhow, Context, Result};
use chainhound_evm::model::{detect_deposits, LabelSource, Labels, Role};
use chainhound_evm::store::{BlockRow, NONE32, NONE64};
use chainhound_evm::{
    address, AccountId, Address, AssetId, EvmStore, TransferId, TxId, B256, U256,
};
use chainhound_intel::TagStore;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::chain_dir;
use crate::query::emit;
use crate::Ctx;

#[derive(Args, Debug)]
pub struct EvmArgs {
    /// The chain (store <data>/evm/<chain>).
    #[arg(long, default_value = "eth", global = true)]
    pub chain: String,
    #[command(subcommand)]
    pub cmd: EvmCmd,
}

#[derive(Subcommand, Debug)]
pub enum EvmCmd {
    /// Row counts and tip.
    Stats,
    /// An account: balances seen, labels, transfers.
    Account(AccountArgs),
    /// A transaction and the value it moved.
    Tx(TxArgs),
    /// Follow stolen or sanctioned funds (FIFO or haircut) to where they are now.
    Trace(TraceArgs),
    /// How much of what an account received came from accounts of given roles.
    Exposure(ExposureArgs),
    /// Deposit addresses detected for tagged exchanges.
    Deposits,
}

#[derive(Args, Debug)]
pub struct AccountArgs {
    /// The address (0x…; a mixed-case one must be a valid EIP-55 checksum).
    pub address: String,
    /// Transfers to list (newest first).
    #[arg(long, default_value_t = 25)]
    pub limit: usize,
}

#[derive(Args, Debug)]
pub struct TxArgs {
    /// The transaction hash.
    pub hash: String,
}

#[derive(Args, Debug)]
pub struct TraceArgs {
    /// Taint every transfer of this transaction (a theft); repeatable.
    #[arg(long)]
    pub tx: Vec<String>,
    /// Taint everything this account sends (a thief); repeatable.
    #[arg(long)]
    pub account: Vec<String>,
    /// haircut or fifo.
    #[arg(long, default_value = "haircut")]
    pub model: String,
    /// Replay from this block.
    #[arg(long, default_value_t = 0)]
    pub from_block: u64,
    /// Do not carry taint across DEX swaps.
    #[arg(long)]
    pub no_swaps: bool,
    /// Let taint pass through exchanges, mixers, bridges and DEXs.
    #[arg(long)]
    pub through_services: bool,
    /// Rows per list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Args, Debug)]
pub struct ExposureArgs {
    /// The address.
    pub address: String,
    /// Roles to measure (sanctioned, theft, mixer, bridge, exchange, dex).
    #[arg(long, value_delimiter = ',', default_value = "sanctioned,theft,mixer")]
    pub roles: Vec<String>,
    /// haircut or fifo.
    #[arg(long, default_value = "haircut")]
    pub model: String,
}

pub fn run(ctx: &Ctx, a: EvmArgs) -> Result<()> {
    let dir = chain_dir(ctx, &a.chain)?;
    let s = EvmStore::open(&dir)
        .with_context(|| format!("opening the evm store in {}", dir.display()))?;
    match a.cmd {
        EvmCmd::Stats => stats(ctx, &s),
        EvmCmd::Account(x) => account(ctx, &s, x),
        EvmCmd::Tx(x) => tx(ctx, &s, x),
        EvmCmd::Trace(x) => super::flow::trace_cmd(ctx, &s, x),
        EvmCmd::Exposure(x) => super::flow::exposure_cmd(ctx, &s, x),
        EvmCmd::Deposits => deposits(ctx, &s),
    }
}

/// Labels from `<data>/intel` (if present) plus detected deposit addresses.
pub(super) fn labels(ctx: &Ctx, s: &EvmStore) -> Result<Labels> {
    let intel = ctx.data.join("intel");
    let mut l = if intel.join("MANIFEST").exists() || intel.is_dir() {
        match TagStore::open(&intel) {
            Ok(t) => Labels::from_tags(s, &t),
            Err(e) => {
                tracing::warn!("no tags: {e}");
                Labels::default()
            }
        }
    } else {
        Labels::default()
    };
    detect_deposits(s, &mut l, 1);
    Ok(l)
}

fn parse_addr(s: &str) -> Result<Address> {
    address::parse(s).map_err(|e| anyhow!("{e}"))
}

pub(super) fn find_account(s: &EvmStore, a: &str) -> Result<AccountId> {
    let addr = parse_addr(a)?;
    s.account(&addr).ok_or_else(|| {
        anyhow!(
            "{} is not in the {} store",
            address::checksummed(&addr),
            s.chain()
        )
    })
}

pub(super) fn parse_tx(s: &EvmStore, h: &str) -> Result<TxId> {
    let hash: B256 = h
        .trim()
        .parse()
        .map_err(|_| anyhow!("a transaction hash is 0x and 64 hex digits, got {h:?}"))?;
    s.tx_by_hash(&hash)
        .ok_or_else(|| anyhow!("transaction {hash} is not in the {} store", s.chain()))
}

pub(super) fn symbol(s: &EvmStore, a: AssetId) -> String {
    let row = s.asset(a);
    if a == AssetId::NATIVE {
        return "ETH".into();
    }
    row.meta
        .symbol
        .clone()
        .unwrap_or_else(|| format!("token {}", address::checksummed(&row.contract)))
}

fn decimals(s: &EvmStore, a: AssetId) -> Option<u8> {
    if a == AssetId::NATIVE {
        Some(18)
    } else {
        s.asset(a).meta.decimals
    }
}

/// `12.5 ETH`; base units when the decimals are unknown.
pub(super) fn amount(s: &EvmStore, a: AssetId, v: U256) -> String {
    match decimals(s, a) {
        Some(d) if d > 0 => {
            let digits = v.to_string();
            let d = d as usize;
            let (int, frac) = if digits.len() > d {
                (
                    digits[..digits.len() - d].to_string(),
                    digits[digits.len() - d..].to_string(),
                )
            } else {
                (
                    "0".to_string(),
                    format!("{}{}", "0".repeat(d - digits.len()), digits),
                )
            };
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                format!("{int} {}", symbol(s, a))
            } else {
                format!("{int}.{frac} {}", symbol(s, a))
            }
        }
        _ => format!("{v} {} (base units)", symbol(s, a)),
    }
}

#[derive(Serialize)]
pub(super) struct AmountJson {
    asset: String,
    contract: Option<String>,
    decimals: Option<u8>,
    /// Base units, decimal.
    amount: String,
}

pub(super) fn amount_json(s: &EvmStore, a: AssetId, v: U256) -> AmountJson {
    AmountJson {
        asset: symbol(s, a),
        contract: (a != AssetId::NATIVE).then(|| address::lower(&s.asset(a).contract)),
        decimals: decimals(s, a),
        amount: v.to_string(),
    }
}

#[derive(Serialize)]
pub(super) struct LabelJson {
    role: Option<&'static str>,
    label: String,
    source: String,
}

pub(super) fn labels_json(s: &EvmStore, l: &Labels, a: AccountId) -> Vec<LabelJson> {
    l.of(a)
        .iter()
        .map(|x| LabelJson {
            role: x.role.map(Role::as_str),
            label: x.text.clone(),
            source: match &x.source {
                LabelSource::Tag(src) => src.clone(),
                LabelSource::Deposit(hot) => format!(
                    "deposit-detection (forwards to {})",
                    address::checksummed(&s.address(*hot))
                ),
            },
        })
        .collect()
}

fn block_of(s: &EvmStore, row: u32) -> &BlockRow {
    &s.blocks()[row as usize]
}

#[derive(Serialize)]
struct StatsJson {
    chain: String,
    blocks: usize,
    first_block: Option<u64>,
    tip: Option<u64>,
    tip_hash: Option<String>,
    txs: usize,
    transfers: usize,
    accounts: usize,
    assets: usize,
}

fn stats(ctx: &Ctx, s: &EvmStore) -> Result<()> {
    let j = StatsJson {
        chain: s.chain().to_string(),
        blocks: s.blocks().len(),
        first_block: s.blocks().first().map(|b| b.number),
        tip: s.blocks().last().map(|b| b.number),
        tip_hash: s.blocks().last().map(|b| b.hash.to_string()),
        txs: s.txs().len(),
        transfers: s.transfers().len(),
        accounts: s.account_count(),
        assets: s.assets().len(),
    };
    emit(ctx, &j, || {
        format!(
            "chain {}: {} blocks ({}..{}), {} txs, {} transfers, {} accounts, {} assets\n",
            j.chain,
            j.blocks,
            j.first_block.map_or("-".into(), |n| n.to_string()),
            j.tip.map_or("-".into(), |n| n.to_string()),
            j.txs,
            j.transfers,
            j.accounts,
            j.assets
        )
    })
}

#[derive(Serialize)]
struct TransferJson {
    block: u64,
    tx: Option<String>,
    kind: &'static str,
    from: String,
    to: String,
    #[serde(flatten)]
    amount: AmountJson,
}

fn transfer_json(s: &EvmStore, id: TransferId) -> TransferJson {
    let t = s.transfer(id);
    TransferJson {
        block: block_of(s, t.block).number,
        tx: (t.tx != NONE64).then(|| s.tx(TxId(t.tx)).hash.to_string()),
        kind: t.kind.as_str(),
        from: address::checksummed(&s.address(AccountId(t.from))),
        to: address::checksummed(&s.address(AccountId(t.to))),
        amount: amount_json(s, AssetId(t.asset), t.amount),
    }
}

fn transfer_line(s: &EvmStore, id: TransferId) -> String {
    let t = s.transfer(id);
    format!(
        "  block {:>9} {:<8} {} -> {} {}\n",
        block_of(s, t.block).number,
        t.kind.as_str(),
        address::checksummed(&s.address(AccountId(t.from))),
        address::checksummed(&s.address(AccountId(t.to))),
        amount(s, AssetId(t.asset), t.amount)
    )
}

#[derive(Serialize)]
struct AccountJson {
    address: String,
    is_contract: bool,
    labels: Vec<LabelJson>,
    /// Per asset: received, sent, and received − sent (the balance if the
    /// store covers the account's whole history).
    flows: Vec<FlowJson>,
    transfers_in: usize,
    transfers_out: usize,
    transfers: Vec<TransferJson>,
}

#[derive(Serialize)]
struct FlowJson {
    asset: String,
    received: String,
    sent: String,
    net: String,
}

fn account(ctx: &Ctx, s: &EvmStore, a: AccountArgs) -> Result<()> {
    let id = find_account(s, &a.address)?;
    let l = labels(ctx, s)?;
    let mut flows: std::collections::BTreeMap<u32, (U256, U256)> = Default::default();
    for t in s.incoming(id) {
        let r = s.transfer(t);
        flows.entry(r.asset).or_default().0 += r.amount;
    }
    for t in s.outgoing(id) {
        let r = s.transfer(t);
        flows.entry(r.asset).or_default().1 += r.amount;
    }
    let mut ids: Vec<TransferId> = s.incoming(id).chain(s.outgoing(id)).collect();
    ids.sort_by(|a, b| b.cmp(a));
    ids.dedup();
    let shown: Vec<TransferId> = ids.iter().take(a.limit).copied().collect();
    let net = |r: U256, x: U256| {
        if r >= x {
            (r - x).to_string()
        } else {
            format!("-{}", x - r)
        }
    };
    let j = AccountJson {
        address: address::checksummed(&s.address(id)),
        is_contract: s.is_contract(id),
        labels: labels_json(s, &l, id),
        flows: flows
            .iter()
            .map(|(asset, (r, x))| FlowJson {
                asset: symbol(s, AssetId(*asset)),
                received: r.to_string(),
                sent: x.to_string(),
                net: net(*r, *x),
            })
            .collect(),
        transfers_in: s.incoming(id).len(),
        transfers_out: s.outgoing(id).len(),
        transfers: shown.iter().map(|t| transfer_json(s, *t)).collect(),
    };
    emit(ctx, &j, || {
        let mut o = format!(
            "account {}{}\n",
            j.address,
            if j.is_contract { " (contract)" } else { "" }
        );
        for lb in &j.labels {
            o += &format!(
                "  label: {} [{}] ({})\n",
                lb.label,
                lb.role.unwrap_or("-"),
                lb.source
            );
        }
        for (asset, (r, x)) in &flows {
            let a = AssetId(*asset);
            o += &format!(
                "  {}: received {}, sent {}\n",
                symbol(s, a),
                amount(s, a, *r),
                amount(s, a, *x)
            );
        }
        o += &format!(
            "  {} transfers in, {} out; newest {}:\n",
            j.transfers_in,
            j.transfers_out,
            shown.len()
        );
        for t in &shown {
            o += &transfer_line(s, *t);
        }
        o
    })
}

#[derive(Serialize)]
struct TxJson {
    hash: String,
    block: u64,
    block_hash: String,
    timestamp: u64,
    index: u32,
    from: String,
    to: Option<String>,
    created: Option<String>,
    value: String,
    status: &'static str,
    gas: u64,
    fee: String,
    transfers: Vec<TransferJson>,
}

fn tx(ctx: &Ctx, s: &EvmStore, a: TxArgs) -> Result<()> {
    let id = parse_tx(s, &a.hash)?;
    let t = s.tx(id);
    let b = block_of(s, t.block);
    let acc = |x: u32| (x != NONE32).then(|| address::checksummed(&s.address(AccountId(x))));
    let trs: Vec<TransferId> = s.tx_transfers(id).collect();
    let j = TxJson {
        hash: t.hash.to_string(),
        block: b.number,
        block_hash: b.hash.to_string(),
        timestamp: b.timestamp,
        index: t.index,
        from: address::checksummed(&s.address(AccountId(t.from))),
        to: acc(t.to),
        created: acc(t.created),
        value: t.value.to_string(),
        status: t.status.as_str(),
        gas: t.gas,
        fee: t.fee.to_string(),
        transfers: trs.iter().map(|x| transfer_json(s, *x)).collect(),
    };
    emit(ctx, &j, || {
        let mut o = format!(
            "tx {}\n  block {} ({}) index {}\n  from {}\n  to {}\n  value {}\n  status {}, gas {}, fee {}\n  {} transfers:\n",
            j.hash,
            j.block,
            j.block_hash,
            j.index,
            j.from,
            j.to.clone().or(j.created.as_ref().map(|c| format!("(creates {c})"))).unwrap_or_default(),
            amount(s, AssetId::NATIVE, t.value),
            j.status,
            j.gas,
            amount(s, AssetId::NATIVE, U256::from(t.fee)),
            trs.len()
        );
        for x in &trs {
            o += &transfer_line(s, *x);
        }
        o
    })
}

#[derive(Serialize)]
struct DepositJson {
    deposit: String,
    hot_wallet: String,
    exchange: String,
    forwards: usize,
}

fn deposits(ctx: &Ctx, s: &EvmStore) -> Result<()> {
    let intel = ctx.data.join("intel");
    let mut l = match TagStore::open(&intel) {
        Ok(t) => Labels::from_tags(s, &t),
        Err(_) => Labels::default(),
    };
    let hits = detect_deposits(s, &mut l, 1);
    let j: Vec<DepositJson> = hits
        .iter()
        .map(|h| DepositJson {
            deposit: address::checksummed(&s.address(h.deposit)),
            hot_wallet: address::checksummed(&s.address(h.hot_wallet)),
            exchange: l
                .of(h.hot_wallet)
                .iter()
                .find(|x| x.role == Some(Role::Exchange))
                .map_or(String::new(), |x| x.text.clone()),
            forwards: h.forwards,
        })
        .collect();
    emit(ctx, &j, || {
        let mut o = format!("{} deposit addresses\n", j.len());
        for d in &j {
            o += &format!(
                "  {} -> {} {} ({} forwards)\n",
                d.deposit, d.hot_wallet, d.exchange, d.forwards
            );
        }
        o
    })
}
