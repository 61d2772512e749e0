//! Rows of the recognised files into blocks: receipts joined to their
//! transactions, token transfers to their transactions, blocks sorted.

use super::*;

#[derive(Default)]
struct BlockAcc {
    hash: Option<B256>,
    timestamp: u64,
    /// (transaction index, tx, nonce) — the index orders the block.
    txs: Vec<(u64, NewTx)>,
    /// (transaction index or hash, log index, transfer)
    tokens: Vec<(TokenLink, u64, NewTransfer)>,
}

#[derive(Clone, Debug)]
enum TokenLink {
    Hash(B256),
    Index(u64),
}

struct Receipt {
    status: TxStatus,
    gas_used: Option<u64>,
    price: Option<u128>,
    contract: Option<Address>,
}

pub(super) fn build(tables: Vec<(EtlKind, Table)>, mut out: EtlImport) -> Result<EtlImport> {
    let mut tokens: HashMap<Address, TokenMeta> = KNOWN_DECIMALS
        .iter()
        .map(|(a, s, d)| {
            (
                a.parse().expect("table addresses are valid"),
                TokenMeta {
                    symbol: Some(s.to_string()),
                    decimals: Some(*d),
                },
            )
        })
        .collect();
    for (kind, t) in &tables {
        if *kind != EtlKind::Tokens {
            continue;
        }
        for (line, r) in &t.rows {
            let a = parse_address(t.req(*line, r, "address")?, || t.at(*line, "address"))?;
            let decimals = match t.get(r, "decimals") {
                Some(d) => Some(d.parse::<u8>().map_err(|_| {
                    EvmError::input(t.at(*line, "decimals"), format!("not 0-255: {d:?}"))
                })?),
                None => None,
            };
            tokens.insert(
                a,
                TokenMeta {
                    symbol: t.get(r, "symbol").map(str::to_string),
                    decimals,
                },
            );
        }
    }
    let mut receipts: HashMap<B256, Receipt> = HashMap::new();
    for (kind, t) in &tables {
        if *kind != EtlKind::Receipts {
            continue;
        }
        for (line, r) in &t.rows {
            let h = parse_hash(t.req(*line, r, "transaction_hash")?, || {
                t.at(*line, "transaction_hash")
            })?;
            receipts.insert(h, receipt(t, *line, r, "")?);
        }
    }
    let mut blocks: BTreeMap<u64, BlockAcc> = BTreeMap::new();
    for (kind, t) in &tables {
        match kind {
            EtlKind::Transactions => {
                for (line, r) in &t.rows {
                    let line = *line;
                    let at = |c: &str| t.at(line, c);
                    let number = parse_u64(t.req(line, r, "block_number")?, || at("block_number"))?;
                    let hash = parse_hash(t.req(line, r, "hash")?, || at("hash"))?;
                    let from =
                        parse_address(t.req(line, r, "from_address")?, || at("from_address"))?;
                    let to = t
                        .get(r, "to_address")
                        .map(|s| parse_address(s, || at("to_address")))
                        .transpose()?;
                    let value = parse_u256(t.req(line, r, "value")?)
                        .map_err(|e| EvmError::input(at("value"), e))?;
                    let index = t
                        .get(r, "transaction_index")
                        .map(|s| parse_u64(s, || at("transaction_index")))
                        .transpose()?;
                    let nonce = t
                        .get(r, "nonce")
                        .map(|s| parse_u64(s, || at("nonce")))
                        .transpose()?;
                    let gas = t
                        .get(r, "gas")
                        .map(|s| parse_u64(s, || at("gas")))
                        .transpose()?
                        .unwrap_or(0);
                    let gas_price = t
                        .get(r, "gas_price")
                        .map(|s| {
                            s.parse::<u128>().map_err(|_| {
                                EvmError::input(at("gas_price"), format!("not an integer: {s:?}"))
                            })
                        })
                        .transpose()?;
                    let inline = if t.cols.contains_key("receipt_status")
                        && t.get(r, "receipt_status").is_some()
                    {
                        Some(receipt(t, line, r, "receipt_")?)
                    } else {
                        None
                    };
                    let rc = inline.as_ref().or_else(|| receipts.get(&hash));
                    let status = rc.map_or(TxStatus::Unknown, |r| r.status);
                    let created = match to {
                        Some(_) => None,
                        None => rc
                            .and_then(|r| r.contract)
                            .or_else(|| nonce.map(|n| from.create(n))),
                    };
                    let gas_used = rc.and_then(|r| r.gas_used);
                    let price = rc.and_then(|r| r.price).or(gas_price);
                    let fee = match (gas_used, price) {
                        (Some(g), Some(p)) => (g as u128).saturating_mul(p),
                        _ => 0,
                    };
                    let acc = blocks.entry(number).or_default();
                    if let Some(bh) = t.get(r, "block_hash") {
                        let bh = parse_hash(bh, || at("block_hash"))?;
                        if acc.hash.is_some_and(|h| h != bh) {
                            return Err(EvmError::input(
                                at("block_hash"),
                                format!("block {number} has two hashes in the export"),
                            ));
                        }
                        acc.hash = Some(bh);
                    }
                    if let Some(ts) = t.get(r, "block_timestamp") {
                        acc.timestamp = parse_timestamp(ts).ok_or_else(|| {
                            EvmError::input(
                                at("block_timestamp"),
                                format!("not a timestamp: {ts:?}"),
                            )
                        })?;
                    }
                    let order = index.unwrap_or(acc.txs.len() as u64);
                    acc.txs.push((
                        order,
                        NewTx {
                            hash,
                            from,
                            to,
                            created,
                            value,
                            status,
                            gas: gas_used.unwrap_or(gas),
                            fee,
                        },
                    ));
                }
            }
            EtlKind::TokenTransfers | EtlKind::TokenTransfersScaled => {
                let scaled = *kind == EtlKind::TokenTransfersScaled;
                let tcol = if scaled {
                    "contract_address"
                } else {
                    "token_address"
                };
                for (line, r) in &t.rows {
                    let line = *line;
                    let at = |c: &str| t.at(line, c);
                    let number = parse_u64(t.req(line, r, "block_number")?, || at("block_number"))?;
                    let token = parse_address(t.req(line, r, tcol)?, || at(tcol))?;
                    let from =
                        parse_address(t.req(line, r, "from_address")?, || at("from_address"))?;
                    let to = parse_address(t.req(line, r, "to_address")?, || at("to_address"))?;
                    let v = t.req(line, r, "value")?;
                    let amount = if scaled {
                        match tokens.get(&token).and_then(|m| m.decimals) {
                            Some(d) => {
                                unscale(v, d).map_err(|e| EvmError::input(at("value"), e))?
                            }
                            None => {
                                out.skipped.push(format!(
                                    "{}: token {token:#x} has its decimals applied and unknown (add a tokens csv); transfer skipped",
                                    at("value")
                                ));
                                continue;
                            }
                        }
                    } else {
                        parse_u256(v).map_err(|e| EvmError::input(at("value"), e))?
                    };
                    let link = match t.get(r, "transaction_hash") {
                        Some(h) => TokenLink::Hash(parse_hash(h, || at("transaction_hash"))?),
                        None => TokenLink::Index(parse_u64(
                            t.req(line, r, "transaction_index")?,
                            || at("transaction_index"),
                        )?),
                    };
                    let log = t
                        .get(r, "log_index")
                        .map(|s| parse_u64(s, || at("log_index")))
                        .transpose()?
                        .unwrap_or(line);
                    let acc = blocks.entry(number).or_default();
                    if acc.timestamp == 0 {
                        if let Some(ts) = t
                            .get(r, "time_stamp")
                            .or_else(|| t.get(r, "block_timestamp"))
                        {
                            acc.timestamp = parse_timestamp(ts).unwrap_or(0);
                        }
                    }
                    acc.tokens.push((
                        link,
                        log,
                        NewTransfer {
                            tx: None,
                            asset: AssetRef::Token(token),
                            from,
                            to,
                            amount,
                            kind: TransferKind::Erc20,
                        },
                    ));
                }
            }
            _ => {}
        }
    }
    for (number, mut acc) in blocks {
        acc.txs.sort_by_key(|(i, t)| (*i, t.hash));
        let mut nb = NewBlock {
            number,
            hash: acc.hash.unwrap_or(B256::ZERO),
            timestamp: acc.timestamp,
            ..Default::default()
        };
        let by_hash: HashMap<B256, u32> = acc
            .txs
            .iter()
            .enumerate()
            .map(|(i, (_, t))| (t.hash, i as u32))
            .collect();
        let by_index: HashMap<u64, u32> = acc
            .txs
            .iter()
            .enumerate()
            .map(|(i, (o, _))| (*o, i as u32))
            .collect();
        let mut token_moves: Vec<(Option<u32>, u64, NewTransfer)> = Vec::new();
        for (link, log, mut tr) in acc.tokens {
            let tx = match link {
                TokenLink::Hash(h) => by_hash.get(&h).copied(),
                TokenLink::Index(i) => by_index.get(&i).copied(),
            };
            if let Some(i) = tx {
                if acc.txs[i as usize].1.status == TxStatus::Failed {
                    out.skipped.push(format!("block {number}: a token transfer of failed transaction {} (a failed transaction moves no value)", acc.txs[i as usize].1.hash));
                    continue;
                }
            }
            tr.tx = tx;
            token_moves.push((tx, log, tr));
        }
        token_moves.sort_by_key(|(tx, log, _)| (tx.unwrap_or(u32::MAX), *log));
        let mut by_tx: HashMap<Option<u32>, Vec<NewTransfer>> = HashMap::new();
        for (tx, _, tr) in token_moves {
            by_tx.entry(tx).or_default().push(tr);
        }
        for (i, (_, t)) in acc.txs.iter().enumerate() {
            if t.status != TxStatus::Failed && t.value > U256::ZERO {
                if let Some(to) = t.to.or(t.created) {
                    nb.transfers.push(NewTransfer {
                        tx: Some(i as u32),
                        asset: AssetRef::Native,
                        from: t.from,
                        to,
                        amount: t.value,
                        kind: TransferKind::Call,
                    });
                }
            }
            if let Some(v) = by_tx.remove(&Some(i as u32)) {
                nb.transfers.extend(v);
            }
        }
        if let Some(v) = by_tx.remove(&None) {
            nb.transfers.extend(v);
        }
        for tr in &nb.transfers {
            if let AssetRef::Token(a) = tr.asset {
                if let Some(m) = tokens.get(&a) {
                    if !nb.tokens.iter().any(|(x, _)| *x == a) {
                        nb.tokens.push((a, m.clone()));
                    }
                }
            }
        }
        nb.txs = acc.txs.into_iter().map(|(_, t)| t).collect();
        out.blocks.push(nb);
    }
    Ok(out)
}

fn receipt(t: &Table, line: u64, r: &csv::StringRecord, prefix: &str) -> Result<Receipt> {
    let col = |c: &str| format!("{prefix}{c}");
    let status = match t.get(r, &col("status")) {
        Some("1") => TxStatus::Success,
        Some("0") => TxStatus::Failed,
        None => TxStatus::Unknown,
        Some(s) => {
            return Err(EvmError::input(
                t.at(line, &col("status")),
                format!("not 0 or 1: {s:?}"),
            ))
        }
    };
    let gas_used = t
        .get(r, &col("gas_used"))
        .map(|s| parse_u64(s, || t.at(line, &col("gas_used"))))
        .transpose()?;
    let price = t
        .get(r, &col("effective_gas_price"))
        .map(|s| {
            s.parse::<u128>().map_err(|_| {
                EvmError::input(
                    t.at(line, &col("effective_gas_price")),
                    format!("not an integer: {s:?}"),
                )
            })
        })
        .transpose()?;
    let contract = t
        .get(r, &col("contract_address"))
        .map(|s| parse_address(s, || t.at(line, &col("contract_address"))))
        .transpose()?;
    Ok(Receipt {
        status,
        gas_used,
        price,
        contract,
    })
}

fn parse_hash(s: &str, at: impl Fn() -> String) -> Result<B256> {
    s.parse::<B256>()
        .map_err(|_| EvmError::input(at(), format!("not a 32-byte 0x hash: {s:?}")))
}

/// Unix seconds, or a BigQuery `YYYY-MM-DD HH:MM:SS UTC` timestamp.
fn parse_timestamp(s: &str) -> Option<u64> {
    if let Ok(n) = s.parse::<u64>() {
        return Some(n);
    }
    chainhound_intel::time::parse_datetime(s.trim_end_matches(" UTC"))
        .and_then(|t| u64::try_from(t).ok())
}
