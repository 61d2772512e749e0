//! `ingest evm --rpc`: blocks, receipts, internal calls and ERC-20
//! transfers from an Ethereum JSON-RPC node into the account store.
//!
//! Per block: `eth_getBlockByNumber(n, true)`; `eth_getBlockReceipts(n)`
//! (else one `eth_getTransactionReceipt` per transaction); internal value
//! transfers from `debug_traceBlockByNumber` with the `callTracer`, else
//! `trace_block`, else, only when the caller accepts it, none (with a
//! warning naming what is missing); ERC-20 `Transfer` logs (topic
//! `0xddf252ad…`, three topics, 32 data bytes; four-topic ERC-721 logs are
//! not value); token `symbol()`/`decimals()` through `eth_call`.
//!
//! Requests are batched (`batch` blocks per HTTP request) and `concurrency`
//! batches are fetched at once; blocks are appended strictly in order and
//! committed after every window, so a killed run resumes from the stored
//! tip. Blocks deeper than `confirmations` below the node's tip are
//! ingested; before each append the block's parent must be the stored
//! block below it, else the fork point is found by comparing hashes with
//! the node and the store rolls back to it. A block the node cannot give
//! (not yet there, pruned) is an error naming it, never a skipped block.

pub mod client;
mod convert;
mod types;

use std::collections::HashMap;
use std::time::Instant;

use alloy_primitives::{Address, Bytes, U64};
use serde_json::{json, Value};

pub use client::{redact, Client, RetryPolicy, RpcError};
pub use convert::{decode_abi_string, TRANSFER_TOPIC};

use crate::error::{EvmError, Result};
use crate::store::EvmWriter;
use crate::types::{NewBlock, TokenMeta, B256};
use types::{ParityTrace, RpcBlock, RpcReceipt, TxTrace};

/// How internal calls are obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InternalSource {
    /// `debug_traceBlockByNumber` with the `callTracer`.
    CallTracer,
    /// `trace_block`.
    TraceBlock,
    /// Neither: internal value transfers are missing.
    Missing,
}

impl InternalSource {
    /// A short name.
    pub fn as_str(self) -> &'static str {
        match self {
            InternalSource::CallTracer => "debug_traceBlockByNumber/callTracer",
            InternalSource::TraceBlock => "trace_block",
            InternalSource::Missing => "none (internal calls missing)",
        }
    }
}

/// Options of [`ingest_rpc`].
#[derive(Clone, Debug)]
pub struct RpcOptions {
    /// First block when the store is empty (default 0).
    pub from_block: Option<u64>,
    /// Last block (default: the node's tip less `confirmations`).
    pub to_block: Option<u64>,
    /// Blocks this deep below the node's tip are left for a later run.
    pub confirmations: u64,
    /// Blocks per HTTP request.
    pub batch: usize,
    /// Requests in flight.
    pub concurrency: usize,
    /// Accept a node without any tracing method (internal calls missing).
    pub allow_missing_internal: bool,
    /// Deepest reorg handled before giving up.
    pub max_reorg_depth: u64,
    /// Use this source of internal calls instead of probing (tests, or a
    /// node whose probe misleads).
    pub force_internal: Option<InternalSource>,
    /// Use `eth_getBlockReceipts` when the node has it (default); off reads
    /// receipts one transaction at a time.
    pub block_receipts: bool,
}

impl Default for RpcOptions {
    fn default() -> RpcOptions {
        RpcOptions {
            from_block: None,
            to_block: None,
            confirmations: 12,
            batch: 10,
            concurrency: 4,
            allow_missing_internal: false,
            max_reorg_depth: 10_000,
            force_internal: None,
            block_receipts: true,
        }
    }
}

/// Progress callbacks (the CLI draws a bar).
pub trait Progress {
    /// Work from `from` to `to` (inclusive) begins.
    fn begin(&mut self, from: u64, to: u64);
    /// `blocks` more blocks with `transfers` transfers are stored.
    fn advance(&mut self, blocks: u64, transfers: u64);
    /// Done.
    fn finish(&mut self);
}

impl Progress for () {
    fn begin(&mut self, _: u64, _: u64) {}
    fn advance(&mut self, _: u64, _: u64) {}
    fn finish(&mut self) {}
}

/// What [`ingest_rpc`] did.
#[derive(Clone, Debug, Default)]
pub struct RpcReport {
    /// `eth_chainId`.
    pub chain_id: u64,
    /// The node's tip when the run started.
    pub node_tip: u64,
    /// First and last block fetched (None if nothing was to do).
    pub range: Option<(u64, u64)>,
    /// Blocks appended.
    pub appended: u64,
    /// Blocks removed by reorgs.
    pub rolled_back: u64,
    /// Transactions and transfers appended.
    pub txs: u64,
    /// Transfers appended.
    pub transfers: u64,
    /// Internal transfers among them.
    pub internal_transfers: u64,
    /// Where internal calls came from.
    pub internal: Option<InternalSource>,
    /// Whether receipts came per block (`eth_getBlockReceipts`).
    pub block_receipts: bool,
    /// Wall time.
    pub seconds: f64,
}

fn hex(n: u64) -> String {
    format!("{n:#x}")
}

/// What the node offers, probed once.
#[derive(Clone, Copy, Debug)]
struct Caps {
    internal: InternalSource,
    block_receipts: bool,
}

fn probe(c: &Client, block: u64, opts: &RpcOptions) -> Result<Caps> {
    let pruned = |e: &RpcError, what: &str| {
        c.node_error(format!(
            "{what} at block {block}: the node has pruned what is needed ({}); use an archive node or a later --from-block",
            e.message
        ))
    };
    let block_receipts = opts.block_receipts
        && match c.call_raw("eth_getBlockReceipts", json!([hex(block)]))? {
            Ok(v) => !v.is_null(),
            Err(e) if e.is_pruned() => return Err(pruned(&e, "eth_getBlockReceipts")),
            Err(_) => false,
        };
    if let Some(internal) = opts.force_internal {
        return Ok(Caps {
            internal,
            block_receipts,
        });
    }
    let internal = match c.call_raw("debug_traceBlockByNumber", json!([hex(block), {"tracer": "callTracer"}]))? {
        Ok(_) => InternalSource::CallTracer,
        Err(e) if e.is_pruned() => return Err(pruned(&e, "debug_traceBlockByNumber")),
        Err(e1) => match c.call_raw("trace_block", json!([hex(block)]))? {
            Ok(_) => InternalSource::TraceBlock,
            Err(e) if e.is_pruned() => return Err(pruned(&e, "trace_block")),
            Err(e2) if opts.allow_missing_internal => {
                tracing::warn!(
                    "the node offers neither debug_traceBlockByNumber ({}) nor trace_block ({}): \
                     internal value transfers (ETH sent by contracts) will be missing",
                    e1.message, e2.message
                );
                InternalSource::Missing
            }
            Err(e2) => {
                return Err(c.node_error(format!(
                    "the node offers neither debug_traceBlockByNumber with the callTracer ({}) nor trace_block ({}), \
                     so ETH sent by contracts (internal calls: mixer withdrawals, DEX payouts) cannot be seen; \
                     use a node with the debug or trace API, or pass --no-internal-calls to ingest without them",
                    e1.message, e2.message
                )))
            }
        },
    };
    Ok(Caps {
        internal,
        block_receipts,
    })
}

fn answer<T: serde::de::DeserializeOwned>(
    c: &Client,
    r: std::result::Result<Value, RpcError>,
    method: &str,
    block: u64,
) -> Result<T> {
    match r {
        Ok(v) => serde_json::from_value(v).map_err(|e| c.node_error(format!("{method} for block {block}: unexpected answer: {e}"))),
        Err(e) if e.is_pruned() => Err(c.node_error(format!(
            "{method} for block {block}: the node has pruned this history ({}); use an archive node",
            e.message
        ))),
        Err(e) => Err(c.node_error(format!("{method} for block {block}: error {}: {}", e.code, e.message))),
    }
}

/// Calls `method` once per block of `numbers` in one batch; yields each
/// block's decoded answer in order (errors name the method and the block).
fn per_block<'a, T: serde::de::DeserializeOwned>(
    c: &'a Client,
    numbers: &'a [u64],
    method: &'static str,
    params: impl Fn(u64) -> Value,
) -> Result<impl Iterator<Item = Result<(u64, T)>> + 'a> {
    let calls: Vec<(&str, Value)> = numbers.iter().map(|&n| (method, params(n))).collect();
    let answers = c.batch_raw(&calls)?;
    Ok(answers
        .into_iter()
        .zip(numbers)
        .map(move |(r, &n)| answer(c, r, method, n).map(|v| (n, v))))
}

/// Fetches and converts blocks `from..=to` (without token metadata).
fn fetch(c: &Client, caps: Caps, from: u64, to: u64) -> Result<Vec<NewBlock>> {
    let numbers: Vec<u64> = (from..=to).collect();
    let mut blocks = Vec::with_capacity(numbers.len());
    for a in per_block(c, &numbers, "eth_getBlockByNumber", |n| {
        json!([hex(n), true])
    })? {
        let (n, b): (u64, Option<RpcBlock>) = a?;
        let b = b.ok_or_else(|| {
            c.node_error(format!(
                "the node has no block {n} (not synced that far, or pruned)"
            ))
        })?;
        if b.number.to::<u64>() != n {
            return Err(c.node_error(format!("asked for block {n}, got block {}", b.number)));
        }
        blocks.push(b);
    }
    let mut receipts: Vec<Vec<RpcReceipt>> = Vec::with_capacity(blocks.len());
    if caps.block_receipts {
        for a in per_block(c, &numbers, "eth_getBlockReceipts", |n| json!([hex(n)]))? {
            let (n, v): (u64, Option<Vec<RpcReceipt>>) = a?;
            receipts.push(v.ok_or_else(|| {
                c.node_error(format!("eth_getBlockReceipts: no receipts for block {n}"))
            })?);
        }
    } else {
        for b in &blocks {
            let n = b.number.to::<u64>();
            let calls: Vec<(&str, Value)> = b
                .transactions
                .iter()
                .map(|t| ("eth_getTransactionReceipt", json!([t.hash])))
                .collect();
            let mut v = Vec::with_capacity(calls.len());
            for (r, t) in c.batch_raw(&calls)?.into_iter().zip(&b.transactions) {
                let rc: Option<RpcReceipt> = answer(c, r, "eth_getTransactionReceipt", n)?;
                v.push(rc.ok_or_else(|| {
                    c.node_error(format!(
                        "no receipt for transaction {} of block {n}",
                        t.hash
                    ))
                })?);
            }
            receipts.push(v);
        }
    }
    let mut traces: Vec<convert::Traces> = Vec::with_capacity(blocks.len());
    match caps.internal {
        InternalSource::CallTracer => {
            for a in per_block(
                c,
                &numbers,
                "debug_traceBlockByNumber",
                |n| json!([hex(n), {"tracer": "callTracer"}]),
            )? {
                let (_, v): (u64, Vec<TxTrace>) = a?;
                traces.push(convert::Traces::Calls(v));
            }
        }
        InternalSource::TraceBlock => {
            for a in per_block(c, &numbers, "trace_block", |n| json!([hex(n)]))? {
                let (_, v): (u64, Option<Vec<ParityTrace>>) = a?;
                traces.push(convert::Traces::Parity(v.unwrap_or_default()));
            }
        }
        InternalSource::Missing => traces.resize_with(blocks.len(), || convert::Traces::None),
    }
    blocks
        .into_iter()
        .zip(receipts)
        .zip(traces)
        .map(|((b, r), t)| convert::block(b, r, t).map_err(|what| c.node_error(what)))
        .collect()
}

/// Converts a JSON object `{"block", "receipts", "traces"}` (a node's
/// answers) into a block, or an error: must never panic (fuzzed).
#[doc(hidden)]
pub fn fuzz_block_json(bytes: &[u8]) -> Option<NewBlock> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let b: RpcBlock = serde_json::from_value(v.get("block")?.clone()).ok()?;
    let r: Vec<RpcReceipt> = serde_json::from_value(v.get("receipts")?.clone()).ok()?;
    let traces = match v.get("traces") {
        Some(t) if t.get(0).is_some_and(|x| x.get("action").is_some()) => {
            convert::Traces::Parity(serde_json::from_value(t.clone()).ok()?)
        }
        Some(t) => convert::Traces::Calls(serde_json::from_value(t.clone()).ok()?),
        None => convert::Traces::None,
    };
    convert::block(b, r, traces).ok()
}

/// Token metadata through `eth_call` at the latest block; a token that
/// does not answer keeps unknown metadata.
fn token_meta(c: &Client, tokens: &[Address]) -> Result<Vec<TokenMeta>> {
    let mut calls = Vec::with_capacity(tokens.len() * 2);
    for t in tokens {
        calls.push((
            "eth_call",
            json!([{"to": t, "data": "0x95d89b41"}, "latest"]),
        ));
        calls.push((
            "eth_call",
            json!([{"to": t, "data": "0x313ce567"}, "latest"]),
        ));
    }
    let answers = c.batch_raw(&calls)?;
    Ok(answers
        .chunks(2)
        .map(|a| {
            let bytes = |r: &std::result::Result<Value, RpcError>| {
                r.as_ref()
                    .ok()
                    .and_then(|v| serde_json::from_value::<Bytes>(v.clone()).ok())
            };
            let symbol = bytes(&a[0]).and_then(|b| decode_abi_string(&b));
            let decimals = bytes(&a[1])
                .filter(|b| b.len() == 32 && b[..31].iter().all(|&x| x == 0))
                .map(|b| b[31]);
            TokenMeta { symbol, decimals }
        })
        .collect())
}

fn node_hash(c: &Client, n: u64) -> Result<Option<B256>> {
    #[derive(serde::Deserialize)]
    struct H {
        hash: B256,
    }
    let h: Option<H> = c.call("eth_getBlockByNumber", json!([hex(n), false]))?;
    Ok(h.map(|h| h.hash))
}

/// Rolls the store back to the highest block at or below `below` whose
/// hash the node agrees with; returns the number of blocks removed.
fn resolve_fork(c: &Client, w: &mut EvmWriter, below: u64, max_depth: u64) -> Result<u64> {
    let first = w.first().map_or(0, |b| b.number);
    let mut n = below;
    loop {
        if let Some(stored) = w.block(n).map(|b| b.hash) {
            if node_hash(c, n)? == Some(stored) {
                let removed = w.rollback_to(n)?;
                tracing::warn!(fork = n, removed, "reorg: rolled back to the common block");
                return Ok(removed);
            }
        }
        if n <= first {
            return Err(EvmError::Chain {
                number: n,
                what: format!(
                    "the node's chain shares no block with the store from block {first} up \
                     (another chain, or a reorg below the first stored block)"
                ),
            });
        }
        if below - n >= max_depth {
            return Err(EvmError::Chain {
                number: n,
                what: format!("reorg deeper than {max_depth} blocks; refusing to roll back"),
            });
        }
        n -= 1;
    }
}

/// Ingests from the node into `w` (see the module docs).
pub fn ingest_rpc(
    w: &mut EvmWriter,
    c: &Client,
    opts: &RpcOptions,
    progress: &mut dyn Progress,
) -> Result<RpcReport> {
    let started = Instant::now();
    let mut rep = RpcReport {
        chain_id: c.call::<U64>("eth_chainId", json!([]))?.to::<u64>(),
        ..Default::default()
    };
    let tip: u64 = c.call::<U64>("eth_blockNumber", json!([]))?.to::<u64>();
    rep.node_tip = tip;
    let Some(safe_tip) = tip.checked_sub(opts.confirmations) else {
        rep.seconds = started.elapsed().as_secs_f64();
        return Ok(rep);
    };
    let target = opts.to_block.map_or(safe_tip, |t| t.min(safe_tip));
    // Is the stored tip still on the node's chain?
    if let Some(t) = w.tip().copied() {
        if node_hash(c, t.number)? != Some(t.hash) {
            rep.rolled_back +=
                resolve_fork(c, w, t.number.saturating_sub(1), opts.max_reorg_depth)?;
        }
    }
    let mut next = match w.tip() {
        Some(t) => (t.number + 1).max(opts.from_block.unwrap_or(0)),
        None => opts.from_block.unwrap_or(0),
    };
    if next > target {
        rep.seconds = started.elapsed().as_secs_f64();
        return Ok(rep);
    }
    // Probe above the genesis block, which some nodes refuse to trace.
    let caps = probe(c, next.max(1).min(target.max(next)), opts)?;
    rep.internal = Some(caps.internal);
    rep.block_receipts = caps.block_receipts;
    rep.range = Some((next, target));
    progress.begin(next, target);
    let batch = opts.batch.max(1) as u64;
    let conc = opts.concurrency.max(1) as u64;
    let mut meta_cache: HashMap<Address, TokenMeta> = HashMap::new();
    'outer: while next <= target {
        let window_end = (next + batch * conc - 1).min(target);
        let chunks: Vec<(u64, u64)> = (next..=window_end)
            .step_by(batch as usize)
            .map(|a| (a, (a + batch - 1).min(window_end)))
            .collect();
        let fetched: Vec<Result<Vec<NewBlock>>> = std::thread::scope(|s| {
            let hs: Vec<_> = chunks
                .iter()
                .map(|&(a, b)| s.spawn(move || fetch(c, caps, a, b)))
                .collect();
            hs.into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(c.node_error("a fetch thread panicked")))
                })
                .collect()
        });
        let mut new_tokens: Vec<Address> = Vec::new();
        let mut blocks = Vec::new();
        for f in fetched {
            blocks.extend(f?);
        }
        for b in &blocks {
            for t in &b.transfers {
                if let crate::types::AssetRef::Token(a) = t.asset {
                    if !w.knows_token(&a)
                        && !meta_cache.contains_key(&a)
                        && !new_tokens.contains(&a)
                    {
                        new_tokens.push(a);
                    }
                }
            }
        }
        if !new_tokens.is_empty() {
            for (a, m) in new_tokens.iter().zip(token_meta(c, &new_tokens)?) {
                meta_cache.insert(*a, m);
            }
        }
        let (mut appended, mut transfers) = (0u64, 0u64);
        for mut b in blocks {
            if b.number > 0 {
                if let Some(prev) = w.block(b.number - 1) {
                    if prev.hash != b.parent {
                        w.commit()?;
                        progress.advance(appended, transfers);
                        rep.rolled_back += resolve_fork(c, w, b.number - 1, opts.max_reorg_depth)?;
                        next = w
                            .tip()
                            .map_or(opts.from_block.unwrap_or(0), |t| t.number + 1);
                        continue 'outer;
                    }
                }
            }
            for t in &b.transfers {
                if let crate::types::AssetRef::Token(a) = t.asset {
                    if let Some(m) = meta_cache.get(&a) {
                        if !b.tokens.iter().any(|(x, _)| *x == a) {
                            b.tokens.push((a, m.clone()));
                        }
                    }
                }
            }
            if w.append(&b)? == crate::AppendOutcome::Appended {
                appended += 1;
                transfers += b.transfers.len() as u64;
                rep.txs += b.txs.len() as u64;
                rep.internal_transfers += b
                    .transfers
                    .iter()
                    .filter(|t| t.kind == crate::TransferKind::Internal)
                    .count() as u64;
            }
            next = b.number + 1;
        }
        w.commit()?;
        rep.appended += appended;
        rep.transfers += transfers;
        progress.advance(appended, transfers);
    }
    progress.finish();
    rep.seconds = started.elapsed().as_secs_f64();
    Ok(rep)
}
