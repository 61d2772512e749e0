//! The parts of a node's JSON answers that ingestion reads, over alloy's
//! primitive types (hex quantities, addresses, hashes).

use alloy_primitives::{Address, Bytes, B256, U128, U256, U64};
use serde::Deserialize;

/// `eth_getBlockByNumber(n, true)`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcBlock {
    pub number: U64,
    pub hash: B256,
    pub parent_hash: B256,
    pub timestamp: U64,
    #[serde(default)]
    pub transactions: Vec<RpcTx>,
}

/// A transaction inside a block.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcTx {
    pub hash: B256,
    pub from: Address,
    pub to: Option<Address>,
    pub value: U256,
    pub gas_price: Option<U128>,
}

/// A receipt.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcReceipt {
    pub transaction_hash: B256,
    pub status: Option<U64>,
    pub gas_used: U64,
    pub effective_gas_price: Option<U128>,
    pub contract_address: Option<Address>,
    #[serde(default)]
    pub logs: Vec<RpcLog>,
}

/// A log.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcLog {
    pub address: Address,
    pub topics: Vec<B256>,
    pub data: Bytes,
    #[serde(default)]
    pub removed: bool,
}

/// A `callTracer` frame.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallFrame {
    #[serde(rename = "type")]
    pub kind: String,
    pub from: Address,
    pub to: Option<Address>,
    pub value: Option<U256>,
    pub error: Option<String>,
    #[serde(default)]
    pub calls: Vec<CallFrame>,
}

/// One entry of `debug_traceBlockByNumber` with the call tracer.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxTrace {
    pub tx_hash: Option<B256>,
    pub result: Option<CallFrame>,
    pub error: Option<String>,
}

/// One entry of `trace_block` (OpenEthereum/Erigon/Reth/Anvil style).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParityTrace {
    pub action: ParityAction,
    pub result: Option<ParityResult>,
    pub error: Option<String>,
    pub trace_address: Vec<u64>,
    pub transaction_hash: Option<B256>,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A trace's action (fields of all kinds; absent ones are `None`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParityAction {
    pub call_type: Option<String>,
    pub from: Option<Address>,
    pub to: Option<Address>,
    pub value: Option<U256>,
    pub address: Option<Address>,
    pub refund_address: Option<Address>,
    pub balance: Option<U256>,
}

/// A trace's result.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParityResult {
    pub address: Option<Address>,
}
