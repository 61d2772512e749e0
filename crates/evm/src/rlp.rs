//! RLP block files (a node's raw export: one or more consecutive blocks,
//! each `[header, transactions, ommers(, withdrawals)]`) into [`NewBlock`]s.
//!
//! Decoding uses alloy's consensus types. Every block is checked before it
//! is returned: the transactions root and the ommers hash recomputed from
//! the body must equal the header's, so the header hash (keccak of the
//! header's RLP) commits to everything returned. Senders are recovered from
//! the signatures (pure-Rust secp256k1).
//!
//! Raw blocks carry no receipts: a transaction's status is
//! [`TxStatus::Unknown`], its gas is the gas limit and its fee is unknown
//! (0); internal calls and token transfers are not visible. `docs/evm.md`
//! says what this means for tracing.

use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{Block, Transaction, TxEnvelope};
use alloy_rlp::Decodable;

use crate::error::{EvmError, Result};
use crate::types::{AssetRef, NewBlock, NewTransfer, NewTx, TransferKind, TxStatus, B256, U256};

/// A decoded block and where it was in its file.
#[derive(Clone, Debug)]
pub struct RlpBlock {
    /// Byte offset of the block in the input.
    pub offset: usize,
    /// Encoded length.
    pub len: usize,
    /// Number of ommer (uncle) headers.
    pub ommers: usize,
    /// The normalized block.
    pub block: NewBlock,
}

/// Decodes every block in `bytes` (named `file` in errors).
pub fn decode_blocks(bytes: &[u8], file: &str) -> Result<Vec<RlpBlock>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let b = decode_one(&bytes[at..], file, at)?;
        at += b.len;
        out.push(b);
    }
    Ok(out)
}

fn decode_one(bytes: &[u8], file: &str, offset: usize) -> Result<RlpBlock> {
    let where_ = |what: &str| format!("{file}: byte {offset}{what}");
    let mut peek = bytes;
    let h = alloy_rlp::Header::decode(&mut peek)
        .map_err(|e| EvmError::input(where_(""), format!("not an rlp block: {e}")))?;
    if !h.list {
        return Err(EvmError::input(
            where_(""),
            "not an rlp list (a block is a list)",
        ));
    }
    let len = (bytes.len() - peek.len())
        .checked_add(h.payload_length)
        .filter(|&n| n <= bytes.len())
        .ok_or_else(|| {
            EvmError::input(
                where_(""),
                format!(
                    "block of {} payload bytes is cut off ({} bytes left)",
                    h.payload_length,
                    bytes.len()
                ),
            )
        })?;
    let mut item = &bytes[..len];
    let block = Block::<TxEnvelope>::decode(&mut item)
        .map_err(|e| EvmError::input(where_(""), format!("undecodable block: {e}")))?;
    if !item.is_empty() {
        return Err(EvmError::input(
            where_(""),
            "trailing bytes inside the block",
        ));
    }
    let number = block.header.number;
    let at = |what: String| where_(&format!(" (block {number}){what}"));
    let tx_root = alloy_consensus::proofs::calculate_transaction_root(&block.body.transactions);
    if tx_root != block.header.transactions_root {
        return Err(EvmError::input(
            at(String::new()),
            format!(
                "transactions root {tx_root} differs from the header's {}",
                block.header.transactions_root
            ),
        ));
    }
    let ommers_root = alloy_consensus::proofs::calculate_ommers_root(&block.body.ommers);
    if ommers_root != block.header.ommers_hash {
        return Err(EvmError::input(
            at(String::new()),
            format!(
                "ommers hash {ommers_root} differs from the header's {}",
                block.header.ommers_hash
            ),
        ));
    }
    let mut nb = NewBlock {
        number,
        hash: block.header.hash_slow(),
        parent: block.header.parent_hash,
        timestamp: block.header.timestamp,
        ..Default::default()
    };
    for (i, tx) in block.body.transactions.iter().enumerate() {
        let from = tx.recover_signer().map_err(|e| {
            EvmError::input(
                at(format!(" tx {i}")),
                format!("sender not recoverable: {e}"),
            )
        })?;
        let to = tx.to();
        let created = to.is_none().then(|| from.create(tx.nonce()));
        let value = tx.value();
        nb.txs.push(NewTx {
            hash: *tx.tx_hash(),
            from,
            to,
            created,
            value,
            status: TxStatus::Unknown,
            gas: tx.gas_limit(),
            fee: 0,
        });
        if value > U256::ZERO {
            nb.transfers.push(NewTransfer {
                tx: Some(i as u32),
                asset: AssetRef::Native,
                from,
                to: to.or(created).expect("a creation has a created address"),
                amount: value,
                kind: TransferKind::Call,
            });
        }
    }
    Ok(RlpBlock {
        offset,
        len,
        ommers: block.body.ommers.len(),
        block: nb,
    })
}

/// The well-known mainnet genesis hash.
pub const MAINNET_GENESIS: B256 =
    alloy_primitives::b256!("d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_naming_the_offset() {
        for bad in [
            &b"\x01\x02"[..],
            &b"\xf9\xff\xff\x00"[..],
            &b"\xc2\x01"[..],
            &b"\xc0"[..],
        ] {
            let e = decode_blocks(bad, "x.bin").unwrap_err().to_string();
            assert!(e.contains("x.bin: byte 0"), "{e}");
        }
        assert!(decode_blocks(b"", "x.bin").unwrap().is_empty());
    }
}
