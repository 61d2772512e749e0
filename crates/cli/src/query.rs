//! `block`, `tx`, `address`, `stats` and `dump`.

use std::fmt::Write as _;

use anyhow::{anyhow, bail, Context, Result};
use chainhound_btc::{header_bits, header_time, parse_address, render, Network};
use chainhound_store::{BlockInfo, Funding, Store};
use chainhound_types::{AddrId, BlockHeight, Hash32, InputId, OutputId, Sats, TxNum};
use clap::Args;
use serde::Serialize;

use crate::fmt::{subsidy, utc};
use crate::Ctx;

#[derive(Args, Debug)]
pub struct BlockArgs {
    /// Height or block hash.
    #[arg(allow_hyphen_values = true)]
    pub id: String,
    /// Also list the block's txids.
    #[arg(long)]
    pub txs: bool,
}

#[derive(Args, Debug)]
pub struct TxArgs {
    /// Transaction id (hex, as explorers show it).
    pub txid: String,
}

#[derive(Args, Debug)]
pub struct AddressArgs {
    /// The address (base58, bech32, or a pseudo-address such as script-<hex>).
    pub address: String,
    /// Transactions per page.
    #[arg(long, default_value_t = 25)]
    pub limit: usize,
    /// Transactions to skip (newest first).
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
}

/// Opens the store read-only, with its network.
pub fn open(ctx: &Ctx) -> Result<(Store, Network)> {
    let dir = ctx.btc_dir();
    let store =
        Store::open(&dir).with_context(|| format!("opening the store in {}", dir.display()))?;
    let net = Network::from_magic(store.network_magic())
        .ok_or_else(|| anyhow!("store {} has an unknown network magic", dir.display()))?;
    Ok((store, net))
}

fn parse_hash(s: &str, what: &str) -> Result<Hash32> {
    Hash32::from_display_hex(s.trim())
        .map_err(|_| anyhow!("{what} must be 64 hex digits, got {s:?}"))
}

/// Prints `value` as JSON with `--json`, else the text `text` builds.
pub fn emit<T: Serialize>(ctx: &Ctx, value: &T, text: impl FnOnce() -> String) -> Result<()> {
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        print!("{}", text());
    }
    Ok(())
}

// ---- block ----

#[derive(Serialize)]
struct BlockJson {
    height: u32,
    hash: String,
    prev_hash: String,
    merkle_root: String,
    version: i32,
    time: u32,
    time_utc: String,
    bits: String,
    nonce: u32,
    size: u32,
    tx_count: u32,
    output_total_sat: u64,
    fees_sat: Option<u64>,
    chain_work_hex: String,
    source_file: u32,
    source_offset: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    txids: Option<Vec<String>>,
}

fn block_json(store: &Store, net: Network, b: &BlockInfo, with_txs: bool) -> BlockJson {
    let h = &b.header;
    let mut merkle = [0u8; 32];
    merkle.copy_from_slice(&h[36..68]);
    let mut prev = [0u8; 32];
    prev.copy_from_slice(&h[4..36]);
    let txs = b.txs.start.0..b.txs.end.0;
    let output_total: Sats = txs.clone().map(|t| store.tx_output_total(TxNum(t))).sum();
    // Fees: sum of per-tx fees when every input is known, else what the
    // coinbase claimed beyond the subsidy.
    let per_tx: Option<u64> = txs
        .clone()
        .skip(1)
        .map(|t| store.tx_fee(TxNum(t)).map(|f| f.0))
        .sum::<Option<u64>>();
    let fees = per_tx.or_else(|| {
        let cb = store.tx_output_total(b.txs.start);
        cb.0.checked_sub(subsidy(net, b.height.0))
    });
    BlockJson {
        height: b.height.0,
        hash: b.hash.to_string(),
        prev_hash: Hash32(prev).to_string(),
        merkle_root: Hash32(merkle).to_string(),
        version: i32::from_le_bytes(h[0..4].try_into().expect("4 bytes")),
        time: header_time(h),
        time_utc: utc(header_time(h)),
        bits: format!("{:08x}", header_bits(h)),
        nonce: u32::from_le_bytes(h[76..80].try_into().expect("4 bytes")),
        size: b.size,
        tx_count: txs.end - txs.start,
        output_total_sat: output_total.0,
        fees_sat: fees,
        chain_work_hex: format!("{:x}", b.chain_work),
        source_file: b.source.0,
        source_offset: b.source.1,
        txids: with_txs.then(|| txs.map(|t| store.tx(TxNum(t)).txid.to_string()).collect()),
    }
}

pub fn block(ctx: &Ctx, args: BlockArgs) -> Result<()> {
    let (store, net) = open(ctx)?;
    let id = args.id.trim();
    let b = if id.len() == 64 {
        store.block_by_hash(&parse_hash(id, "block hash")?)
    } else {
        let h: u32 = id
            .parse()
            .map_err(|_| anyhow!("block must be a height or a 64-digit hash, got {id:?}"))?;
        store.block(BlockHeight(h))
    };
    let b = b.ok_or_else(|| anyhow!("block {id} is not in the store"))?;
    let j = block_json(&store, net, &b, args.txs);
    emit(ctx, &j, || {
        let mut s = String::new();
        let _ = writeln!(s, "Block {} at height {}", j.hash, j.height);
        let _ = writeln!(s, "  time        {}", j.time_utc);
        let _ = writeln!(s, "  previous    {}", j.prev_hash);
        let _ = writeln!(s, "  merkle root {}", j.merkle_root);
        let _ = writeln!(
            s,
            "  version {:#x}, bits {}, nonce {}",
            j.version, j.bits, j.nonce
        );
        let _ = writeln!(s, "  size {} bytes, {} transactions", j.size, j.tx_count);
        let _ = writeln!(s, "  outputs total {}", Sats(j.output_total_sat));
        match j.fees_sat {
            Some(f) => {
                let _ = writeln!(s, "  fees {}", Sats(f));
            }
            None => {
                let _ = writeln!(s, "  fees unknown");
            }
        }
        if let Some(t) = &j.txids {
            for (i, txid) in t.iter().enumerate() {
                let _ = writeln!(s, "  tx {i:>5} {txid}");
            }
        }
        s
    })
}

// ---- tx ----

#[derive(Serialize)]
struct TxJson {
    txid: String,
    block_height: u32,
    block_hash: String,
    block_time: u32,
    block_time_utc: String,
    index: u32,
    coinbase: bool,
    version: i32,
    lock_time: u32,
    size: u32,
    vsize: u32,
    weight: u32,
    input_total_sat: Option<u64>,
    output_total_sat: u64,
    fee_sat: Option<u64>,
    inputs: Vec<InputJson>,
    outputs: Vec<OutputJson>,
}

#[derive(Serialize)]
struct InputJson {
    vin: u32,
    coinbase: bool,
    prev_txid: Option<String>,
    prev_vout: Option<u32>,
    prev_height: Option<u32>,
    /// False when the funding output is not in the store.
    resolved: bool,
    value_sat: Option<u64>,
    address: Option<String>,
    address_type: Option<&'static str>,
}

#[derive(Serialize)]
struct OutputJson {
    vout: u32,
    value_sat: u64,
    address: String,
    address_type: &'static str,
    spent: bool,
    spent_by_txid: Option<String>,
    spent_by_vin: Option<u32>,
    spent_by_height: Option<u32>,
}

fn tx_json(store: &Store, net: Network, num: TxNum) -> TxJson {
    let tx = store.tx(num);
    let block = store
        .block(tx.height)
        .expect("a stored tx's block is stored");
    let mut inputs = Vec::new();
    let mut input_total = Some(0u64);
    for i in tx.inputs.clone() {
        let info = store.input(InputId(i));
        let j = match info.funding {
            Funding::Coinbase => {
                input_total = None;
                InputJson {
                    vin: info.vin,
                    coinbase: true,
                    prev_txid: None,
                    prev_vout: None,
                    prev_height: None,
                    resolved: true,
                    value_sat: None,
                    address: None,
                    address_type: None,
                }
            }
            Funding::Output(o) => {
                let out = store.output(o);
                let ftx = store.tx(out.tx);
                let key = store.addr_key(out.addr);
                input_total = input_total.map(|t| t + out.value.0);
                InputJson {
                    vin: info.vin,
                    coinbase: false,
                    prev_txid: Some(ftx.txid.to_string()),
                    prev_vout: Some(out.vout),
                    prev_height: Some(ftx.height.0),
                    resolved: true,
                    value_sat: Some(out.value.0),
                    address: Some(render(&key, net)),
                    address_type: Some(key.kind.name()),
                }
            }
            Funding::Unresolved { txid, vout } => {
                input_total = None;
                InputJson {
                    vin: info.vin,
                    coinbase: false,
                    prev_txid: Some(txid.to_string()),
                    prev_vout: Some(vout),
                    prev_height: None,
                    resolved: false,
                    value_sat: None,
                    address: None,
                    address_type: None,
                }
            }
        };
        inputs.push(j);
    }
    let mut outputs = Vec::new();
    for o in tx.outputs.clone() {
        let out = store.output(OutputId(o));
        let key = store.addr_key(out.addr);
        let spender = out.spent_by.map(|i| {
            let inp = store.input(i);
            let stx = store.tx(inp.tx);
            (stx.txid.to_string(), inp.vin, stx.height.0)
        });
        outputs.push(OutputJson {
            vout: out.vout,
            value_sat: out.value.0,
            address: render(&key, net),
            address_type: key.kind.name(),
            spent: spender.is_some(),
            spent_by_txid: spender.as_ref().map(|s| s.0.clone()),
            spent_by_vin: spender.as_ref().map(|s| s.1),
            spent_by_height: spender.as_ref().map(|s| s.2),
        });
    }
    let output_total = store.tx_output_total(num).0;
    TxJson {
        txid: tx.txid.to_string(),
        block_height: tx.height.0,
        block_hash: block.hash.to_string(),
        block_time: header_time(&block.header),
        block_time_utc: utc(header_time(&block.header)),
        index: tx.index,
        coinbase: tx.index == 0,
        version: tx.version,
        lock_time: tx.lock_time,
        size: tx.size,
        vsize: tx.weight.div_ceil(4),
        weight: tx.weight,
        input_total_sat: input_total,
        output_total_sat: output_total,
        fee_sat: input_total.and_then(|i| i.checked_sub(output_total)),
        inputs,
        outputs,
    }
}

fn tx_text(j: &TxJson) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Transaction {}", j.txid);
    let _ = writeln!(
        s,
        "  block {} ({}), position {}, {}",
        j.block_height, j.block_hash, j.index, j.block_time_utc
    );
    let _ = writeln!(
        s,
        "  size {} B, vsize {} vB, weight {} WU, version {}, locktime {}",
        j.size, j.vsize, j.weight, j.version, j.lock_time
    );
    match (j.coinbase, j.fee_sat) {
        (true, _) => {
            let _ = writeln!(s, "  coinbase: creates {}", Sats(j.output_total_sat));
        }
        (false, Some(f)) => {
            let _ = writeln!(
                s,
                "  in {} out {} fee {}",
                Sats(j.input_total_sat.unwrap_or(0)),
                Sats(j.output_total_sat),
                Sats(f)
            );
        }
        (false, None) => {
            let _ = writeln!(
                s,
                "  out {}; fee unknown (some inputs spend outputs not in the store)",
                Sats(j.output_total_sat)
            );
        }
    }
    let _ = writeln!(s, "Inputs ({}):", j.inputs.len());
    for i in &j.inputs {
        if i.coinbase {
            let _ = writeln!(s, "  #{:<3} coinbase (new coins)", i.vin);
        } else if !i.resolved {
            let _ = writeln!(
                s,
                "  #{:<3} spends {}:{} (not in the store)",
                i.vin,
                i.prev_txid.as_deref().unwrap_or(""),
                i.prev_vout.unwrap_or(0)
            );
        } else {
            let _ = writeln!(
                s,
                "  #{:<3} {:>20}  {}  from {}:{} (block {})",
                i.vin,
                Sats(i.value_sat.unwrap_or(0)).to_string(),
                i.address.as_deref().unwrap_or(""),
                i.prev_txid.as_deref().unwrap_or(""),
                i.prev_vout.unwrap_or(0),
                i.prev_height.unwrap_or(0)
            );
        }
    }
    let _ = writeln!(s, "Outputs ({}):", j.outputs.len());
    for o in &j.outputs {
        let spent = match (&o.spent_by_txid, o.spent_by_vin, o.spent_by_height) {
            (Some(t), Some(v), Some(h)) => format!("spent in {t}:{v} (block {h})"),
            _ => "unspent".to_string(),
        };
        let _ = writeln!(
            s,
            "  #{:<3} {:>20}  {} [{}]  {}",
            o.vout,
            Sats(o.value_sat).to_string(),
            o.address,
            o.address_type,
            spent
        );
    }
    s
}

pub fn tx(ctx: &Ctx, args: TxArgs) -> Result<()> {
    let (store, net) = open(ctx)?;
    let txid = parse_hash(&args.txid, "txid")?;
    let num = store
        .tx_by_txid(&txid)
        .ok_or_else(|| anyhow!("transaction {} is not in the store", args.txid.trim()))?;
    let j = tx_json(&store, net, num);
    emit(ctx, &j, || tx_text(&j))
}

// ---- address ----

#[derive(Serialize)]
struct SeenJson {
    txid: String,
    height: u32,
    time: u32,
    time_utc: String,
}

#[derive(Serialize)]
struct AddrTxJson {
    txid: String,
    height: u32,
    time_utc: String,
    received_sat: u64,
    spent_sat: u64,
}

#[derive(Serialize)]
struct AddressJson {
    address: String,
    address_type: &'static str,
    balance_sat: u64,
    received_sat: u64,
    sent_sat: u64,
    output_count: u64,
    unspent_output_count: u64,
    tx_count: u64,
    first_seen: Option<SeenJson>,
    last_seen: Option<SeenJson>,
    offset: usize,
    limit: usize,
    txs: Vec<AddrTxJson>,
}

fn seen(store: &Store, t: TxNum) -> SeenJson {
    let tx = store.tx(t);
    let time = store
        .block(tx.height)
        .map(|b| header_time(&b.header))
        .unwrap_or(0);
    SeenJson {
        txid: tx.txid.to_string(),
        height: tx.height.0,
        time,
        time_utc: utc(time),
    }
}

pub fn address(ctx: &Ctx, args: AddressArgs) -> Result<()> {
    let (store, net) = open(ctx)?;
    let key = parse_address(args.address.trim(), net)?;
    let Some(id) = store.addr_id(&key) else {
        bail!(
            "address {} has never received coins in the stored chain",
            args.address.trim()
        );
    };
    let j = address_json(&store, net, id, args.offset, args.limit);
    emit(ctx, &j, || {
        let mut s = String::new();
        let _ = writeln!(s, "Address {} [{}]", j.address, j.address_type);
        let _ = writeln!(s, "  balance  {}", Sats(j.balance_sat));
        let _ = writeln!(
            s,
            "  received {} in {} outputs ({} unspent)",
            Sats(j.received_sat),
            j.output_count,
            j.unspent_output_count
        );
        let _ = writeln!(s, "  sent     {}", Sats(j.sent_sat));
        if let (Some(f), Some(l)) = (&j.first_seen, &j.last_seen) {
            let _ = writeln!(
                s,
                "  first seen {} (block {}), last seen {} (block {})",
                f.time_utc, f.height, l.time_utc, l.height
            );
        }
        let _ = writeln!(
            s,
            "Transactions {}-{} of {} (newest first):",
            j.offset + 1,
            j.offset + j.txs.len(),
            j.tx_count
        );
        for t in &j.txs {
            let _ = writeln!(
                s,
                "  {} block {:>7} {}  +{} -{}",
                t.txid,
                t.height,
                t.time_utc,
                Sats(t.received_sat),
                Sats(t.spent_sat)
            );
        }
        s
    })
}

fn address_json(
    store: &Store,
    net: Network,
    id: AddrId,
    offset: usize,
    limit: usize,
) -> AddressJson {
    let key = store.addr_key(id);
    let sum = store.addr_summary(id);
    let history = store.addr_history(id);
    let txs = history
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| {
            let s = seen(store, r.tx);
            AddrTxJson {
                txid: s.txid,
                height: s.height,
                time_utc: s.time_utc,
                received_sat: r.received.0,
                spent_sat: r.spent.0,
            }
        })
        .collect();
    AddressJson {
        address: render(&key, net),
        address_type: key.kind.name(),
        balance_sat: sum.balance.0,
        received_sat: sum.received.0,
        sent_sat: sum.sent.0,
        output_count: sum.outputs,
        unspent_output_count: sum.unspent,
        tx_count: sum.txs,
        first_seen: sum.first_tx.map(|t| seen(store, t)),
        last_seen: sum.last_tx.map(|t| seen(store, t)),
        offset,
        limit,
        txs,
    }
}

// ---- stats / dump ----

#[derive(Serialize)]
struct StatsJson {
    network: &'static str,
    format_version: u32,
    generation: u64,
    base_height: u32,
    tip_height: Option<u32>,
    tip_hash: Option<String>,
    blocks: u32,
    txs: u32,
    inputs: u32,
    outputs: u32,
    addresses: u32,
    unresolved_inputs: u32,
    value_exceptions: u32,
    total_bytes: u64,
    bytes_per_input: f64,
    bytes_per_output: f64,
    bytes_per_output_record: f64,
    bytes_per_input_or_output: f64,
    bytes_per_tx_total: f64,
    columns: Vec<(String, u64)>,
}

pub fn stats(ctx: &Ctx) -> Result<()> {
    let (store, net) = open(ctx)?;
    let c = store.counts();
    let tip = store.tip();
    let sizes = store.sizes();
    let rb = store.row_bytes();
    let j = StatsJson {
        network: net.name(),
        format_version: chainhound_store::FORMAT_VERSION,
        generation: store.generation(),
        base_height: store.base_height(),
        tip_height: tip.as_ref().map(|b| b.height.0),
        tip_hash: tip.as_ref().map(|b| b.hash.to_string()),
        blocks: c.blocks,
        txs: c.txs,
        inputs: c.inputs,
        outputs: c.outputs,
        addresses: c.addrs,
        unresolved_inputs: c.unresolved,
        value_exceptions: c.value_exts,
        total_bytes: rb.total,
        bytes_per_input: rb.per_input,
        bytes_per_output: rb.per_output,
        bytes_per_output_record: rb.per_output_record,
        bytes_per_input_or_output: rb.per_input_or_output,
        bytes_per_tx_total: rb.total_per_tx,
        columns: sizes.iter().map(|(n, b)| (n.to_string(), *b)).collect(),
    };
    emit(ctx, &j, || {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Store {} ({} chain, format v{}, commit {})",
            ctx.btc_dir().display(),
            j.network,
            j.format_version,
            j.generation
        );
        match (&j.tip_height, &j.tip_hash) {
            (Some(h), Some(hash)) => {
                let _ = writeln!(s, "  tip height {h} {hash}");
            }
            _ => {
                let _ = writeln!(s, "  empty");
            }
        }
        let _ = writeln!(
            s,
            "  {} blocks, {} txs, {} inputs, {} outputs, {} addresses",
            j.blocks, j.txs, j.inputs, j.outputs, j.addresses
        );
        if j.unresolved_inputs > 0 {
            let _ = writeln!(
                s,
                "  {} inputs spend outputs not in the store",
                j.unresolved_inputs
            );
        }
        let _ = writeln!(
            s,
            "  {} bytes; per input {:.2}, per output {:.2} ({:.2} without the address index), \
             per input or output {:.2}, per tx in all {:.1}",
            j.total_bytes,
            j.bytes_per_input,
            j.bytes_per_output,
            j.bytes_per_output_record,
            j.bytes_per_input_or_output,
            j.bytes_per_tx_total
        );
        for (n, b) in &j.columns {
            let _ = writeln!(s, "    {n:<20} {b:>14}");
        }
        s
    })
}

/// Every block, transaction and address as JSON lines: two stores with equal
/// dumps answer every query equally.
pub fn dump(ctx: &Ctx) -> Result<()> {
    use std::io::Write;
    let (store, net) = open(ctx)?;
    let c = store.counts();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for h in 0..c.blocks {
        let b = store
            .block(BlockHeight(store.base_height() + h))
            .expect("height below count");
        writeln!(
            out,
            "{}",
            serde_json::to_string(&block_json(&store, net, &b, false))?
        )?;
    }
    for t in 0..c.txs {
        writeln!(
            out,
            "{}",
            serde_json::to_string(&tx_json(&store, net, TxNum(t)))?
        )?;
    }
    for a in 0..c.addrs {
        writeln!(
            out,
            "{}",
            serde_json::to_string(&address_json(&store, net, AddrId(a), 0, usize::MAX))?
        )?;
    }
    writeln!(out, "sum_output_values {}", store.sum_output_values())?;
    Ok(())
}
