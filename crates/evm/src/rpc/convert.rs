//! A node's block, receipts and traces into a [`NewBlock`].

use std::collections::HashMap;

use alloy_primitives::{b256, Address, B256, U256};

use super::types::{CallFrame, ParityTrace, RpcBlock, RpcReceipt, TxTrace};
use crate::types::{AssetRef, NewBlock, NewTransfer, NewTx, TransferKind, TxStatus};

/// `keccak256("Transfer(address,address,uint256)")`.
pub const TRANSFER_TOPIC: B256 =
    b256!("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");

/// A block's traces, as the node gave them.
pub(crate) enum Traces {
    Calls(Vec<TxTrace>),
    Parity(Vec<ParityTrace>),
    None,
}

/// Decodes an ABI `string` return value, or a `bytes32` one (old tokens
/// such as MKR). `None` if neither fits or it is not UTF-8.
pub fn decode_abi_string(b: &[u8]) -> Option<String> {
    let word = |i: usize| b.get(i..i + 32);
    let small = |w: &[u8]| -> Option<usize> {
        if w[..24].iter().any(|&x| x != 0) {
            return None;
        }
        Some(u64::from_be_bytes(w[24..].try_into().ok()?) as usize)
    };
    if b.len() >= 64 {
        if let (Some(off), true) = (word(0).and_then(small), true) {
            if let Some(len) = word(off).and_then(small) {
                let data = b.get(off + 32..(off + 32).checked_add(len)?)?;
                return std::str::from_utf8(data).ok().map(str::to_string);
            }
        }
    }
    if b.len() == 32 {
        let end = b.iter().position(|&x| x == 0).unwrap_or(32);
        if end == 0 {
            return None;
        }
        return std::str::from_utf8(&b[..end]).ok().map(str::to_string);
    }
    None
}

/// Value moved by the sub-calls of `f` (not `f` itself), depth first;
/// reverted frames and everything below them moved nothing.
fn walk_calls(f: &CallFrame, out: &mut Vec<(Address, Address, U256)>) {
    for c in &f.calls {
        if c.error.is_some() {
            continue;
        }
        let kind = c.kind.to_ascii_uppercase();
        let moves = matches!(
            kind.as_str(),
            "CALL" | "CREATE" | "CREATE2" | "SELFDESTRUCT"
        );
        if let (true, Some(to), Some(v)) = (moves, c.to, c.value) {
            if !v.is_zero() && to != c.from {
                out.push((c.from, to, v));
            }
        }
        walk_calls(c, out);
    }
}

/// Internal transfers of `trace_block` entries of one transaction.
fn parity_internal(ts: &[&ParityTrace], out: &mut Vec<(Address, Address, U256)>) {
    let failed: Vec<&[u64]> = ts
        .iter()
        .filter(|t| t.error.is_some())
        .map(|t| &t.trace_address[..])
        .collect();
    for t in ts {
        if t.trace_address.is_empty() || failed.iter().any(|f| t.trace_address.starts_with(f)) {
            continue;
        }
        let a = &t.action;
        let m = match t.kind.as_str() {
            "call" if a.call_type.as_deref().is_none_or(|c| c == "call") => {
                a.from.zip(a.to).zip(a.value)
            }
            "create" => a
                .from
                .zip(t.result.as_ref().and_then(|r| r.address))
                .zip(a.value),
            "suicide" | "selfdestruct" => a.address.zip(a.refund_address).zip(a.balance),
            _ => None,
        };
        if let Some(((from, to), v)) = m {
            if !v.is_zero() && from != to {
                out.push((from, to, v));
            }
        }
    }
}

/// Converts one block; an inconsistency is a message naming the block.
pub(crate) fn block(
    b: RpcBlock,
    receipts: Vec<RpcReceipt>,
    traces: Traces,
) -> Result<NewBlock, String> {
    let number = b.number.to::<u64>();
    let mut by_hash: HashMap<B256, RpcReceipt> = receipts
        .into_iter()
        .map(|r| (r.transaction_hash, r))
        .collect();
    let calls: Option<Vec<TxTrace>> = match &traces {
        Traces::Calls(v) => {
            if v.len() != b.transactions.len() {
                return Err(format!(
                    "debug_traceBlockByNumber for block {number}: {} traces for {} transactions",
                    v.len(),
                    b.transactions.len()
                ));
            }
            Some(v.clone())
        }
        _ => None,
    };
    let mut parity: HashMap<B256, Vec<&ParityTrace>> = HashMap::new();
    if let Traces::Parity(v) = &traces {
        for t in v {
            if let Some(h) = t.transaction_hash {
                parity.entry(h).or_default().push(t);
            }
        }
    }
    let mut nb = NewBlock {
        number,
        hash: b.hash,
        parent: b.parent_hash,
        timestamp: b.timestamp.to::<u64>(),
        ..Default::default()
    };
    for (i, t) in b.transactions.iter().enumerate() {
        let r = by_hash
            .remove(&t.hash)
            .ok_or_else(|| format!("block {number}: no receipt for transaction {}", t.hash))?;
        let top = calls.as_ref().map(|c| &c[i]);
        if let Some(h) = top.and_then(|c| c.tx_hash) {
            if h != t.hash {
                return Err(format!(
                    "block {number}: trace {i} is of transaction {h}, not {}",
                    t.hash
                ));
            }
        }
        if let Some(e) = top.and_then(|c| c.error.as_ref()) {
            return Err(format!(
                "block {number}: the node could not trace transaction {}: {e}",
                t.hash
            ));
        }
        let frame = top.and_then(|c| c.result.as_ref());
        let status = match r.status.map(|s| s.to::<u64>()) {
            Some(1) => TxStatus::Success,
            Some(0) => TxStatus::Failed,
            Some(s) => {
                return Err(format!(
                    "block {number}: transaction {} has status {s}",
                    t.hash
                ))
            }
            // Before Byzantium receipts carry no status; a trace tells.
            None => match (frame, parity.get(&t.hash)) {
                (Some(f), _) => {
                    if f.error.is_some() {
                        TxStatus::Failed
                    } else {
                        TxStatus::Success
                    }
                }
                (None, Some(ts)) => {
                    if ts
                        .iter()
                        .any(|x| x.trace_address.is_empty() && x.error.is_some())
                    {
                        TxStatus::Failed
                    } else {
                        TxStatus::Success
                    }
                }
                (None, None) => TxStatus::Unknown,
            },
        };
        let gas_used = r.gas_used.to::<u64>();
        let price = r
            .effective_gas_price
            .or(t.gas_price)
            .map_or(0u128, |p| p.to::<u128>());
        let created = if t.to.is_none() {
            r.contract_address
        } else {
            None
        };
        let ti = i as u32;
        nb.txs.push(NewTx {
            hash: t.hash,
            from: t.from,
            to: t.to,
            created,
            value: t.value,
            status,
            gas: gas_used,
            fee: (gas_used as u128).saturating_mul(price),
        });
        if status == TxStatus::Failed {
            continue;
        }
        if !t.value.is_zero() {
            if let Some(to) = t.to.or(created) {
                nb.transfers.push(NewTransfer {
                    tx: Some(ti),
                    asset: AssetRef::Native,
                    from: t.from,
                    to,
                    amount: t.value,
                    kind: TransferKind::Call,
                });
            }
        }
        let mut internal = Vec::new();
        if let Some(f) = frame {
            walk_calls(f, &mut internal);
        } else if let Some(ts) = parity.get(&t.hash) {
            parity_internal(ts, &mut internal);
        }
        for (from, to, v) in internal {
            nb.transfers.push(NewTransfer {
                tx: Some(ti),
                asset: AssetRef::Native,
                from,
                to,
                amount: v,
                kind: TransferKind::Internal,
            });
        }
        for l in &r.logs {
            if l.removed
                || l.topics.len() != 3
                || l.topics[0] != TRANSFER_TOPIC
                || l.data.len() != 32
            {
                continue;
            }
            let from = Address::from_word(l.topics[1]);
            let to = Address::from_word(l.topics[2]);
            let amount = U256::from_be_slice(&l.data);
            nb.transfers.push(NewTransfer {
                tx: Some(ti),
                asset: AssetRef::Token(l.address),
                from,
                to,
                amount,
                kind: TransferKind::Erc20,
            });
        }
    }
    if !by_hash.is_empty() {
        return Err(format!(
            "block {number}: {} receipts of transactions not in the block",
            by_hash.len()
        ));
    }
    Ok(nb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_strings() {
        let mut s = vec![0u8; 96];
        s[31] = 32;
        s[63] = 4;
        s[64..68].copy_from_slice(b"USDT");
        assert_eq!(decode_abi_string(&s).as_deref(), Some("USDT"));
        let mut b = [0u8; 32];
        b[..3].copy_from_slice(b"MKR");
        assert_eq!(decode_abi_string(&b).as_deref(), Some("MKR"));
        assert_eq!(decode_abi_string(&[0u8; 32]), None);
        s[63] = 200;
        assert_eq!(decode_abi_string(&s), None);
        assert_eq!(decode_abi_string(b"x"), None);
    }

    fn parse(j: &str) -> (RpcBlock, Vec<RpcReceipt>, Vec<TxTrace>) {
        let v: serde_json::Value = serde_json::from_str(j).unwrap();
        (
            serde_json::from_value(v["block"].clone()).unwrap(),
            serde_json::from_value(v["receipts"].clone()).unwrap(),
            serde_json::from_value(v["traces"].clone()).unwrap(),
        )
    }

    #[test]
    fn internal_calls_logs_and_reverts() {
        let j = r#"{
 "block": {"number":"0x5","hash":"0x1111111111111111111111111111111111111111111111111111111111111111","parentHash":"0x2222222222222222222222222222222222222222222222222222222222222222","timestamp":"0x10",
   "transactions":[
    {"hash":"0xaa00000000000000000000000000000000000000000000000000000000000000","from":"0x00000000000000000000000000000000000000a1","to":"0x00000000000000000000000000000000000000c1","value":"0x0","gas":"0x5208","gasPrice":"0x2","nonce":"0x0"},
    {"hash":"0xbb00000000000000000000000000000000000000000000000000000000000000","from":"0x00000000000000000000000000000000000000a1","to":"0x00000000000000000000000000000000000000c1","value":"0x7","gas":"0x5208","gasPrice":"0x2","nonce":"0x1"}]},
 "receipts": [
  {"transactionHash":"0xaa00000000000000000000000000000000000000000000000000000000000000","status":"0x1","gasUsed":"0x10","effectiveGasPrice":"0x3","contractAddress":null,
   "logs":[{"address":"0x00000000000000000000000000000000000000e1","topics":["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef","0x00000000000000000000000000000000000000000000000000000000000000c1","0x00000000000000000000000000000000000000000000000000000000000000b2"],"data":"0x0000000000000000000000000000000000000000000000000000000000000064"},
           {"address":"0x00000000000000000000000000000000000000e2","topics":["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef","0x00000000000000000000000000000000000000000000000000000000000000c1","0x00000000000000000000000000000000000000000000000000000000000000b2","0x0000000000000000000000000000000000000000000000000000000000000001"],"data":"0x"}]},
  {"transactionHash":"0xbb00000000000000000000000000000000000000000000000000000000000000","status":"0x0","gasUsed":"0x10","effectiveGasPrice":"0x3","contractAddress":null,"logs":[]}],
 "traces": [
  {"txHash":"0xaa00000000000000000000000000000000000000000000000000000000000000","result":{"type":"CALL","from":"0x00000000000000000000000000000000000000a1","to":"0x00000000000000000000000000000000000000c1","value":"0x0",
     "calls":[{"type":"CALL","from":"0x00000000000000000000000000000000000000c1","to":"0x00000000000000000000000000000000000000b1","value":"0x9"},
              {"type":"CALL","from":"0x00000000000000000000000000000000000000c1","to":"0x00000000000000000000000000000000000000b3","value":"0x5","error":"execution reverted",
                 "calls":[{"type":"CALL","from":"0x00000000000000000000000000000000000000b3","to":"0x00000000000000000000000000000000000000b4","value":"0x5"}]},
              {"type":"DELEGATECALL","from":"0x00000000000000000000000000000000000000c1","to":"0x00000000000000000000000000000000000000d1","value":"0x9"}]}},
  {"txHash":"0xbb00000000000000000000000000000000000000000000000000000000000000","result":{"type":"CALL","from":"0x00000000000000000000000000000000000000a1","to":"0x00000000000000000000000000000000000000c1","value":"0x7","error":"execution reverted"}}]
}"#;
        let (b, r, t) = parse(j);
        let nb = block(b, r, Traces::Calls(t)).unwrap();
        assert_eq!(nb.txs[0].fee, 48);
        assert_eq!(nb.txs[1].status, TxStatus::Failed);
        let kinds: Vec<(TransferKind, u64)> = nb
            .transfers
            .iter()
            .map(|t| (t.kind, t.amount.to::<u64>()))
            .collect();
        // One internal call (the reverted one and its child, and the
        // delegatecall, move nothing), one ERC-20 log (the 4-topic ERC-721
        // log is not value); the failed transaction moves nothing.
        assert_eq!(
            kinds,
            vec![(TransferKind::Internal, 9), (TransferKind::Erc20, 100)]
        );
        assert!(nb.transfers.iter().all(|t| t.tx == Some(0)));
    }
}
