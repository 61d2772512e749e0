//! Ids, amounts and the normalized block that every reader produces.

pub use alloy_primitives::{Address, B256, U256};

/// Dense id of an account (an address) in one chain's store, in order of
/// first appearance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub u32);

/// Dense id of an asset: 0 is the chain's native coin, then ERC-20 tokens in
/// order of first appearance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssetId(pub u32);

impl AssetId {
    /// The native coin (ETH on Ethereum).
    pub const NATIVE: AssetId = AssetId(0);
}

/// Row number of a stored transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub u64);

/// Row number of a stored transfer; transfers are stored in chain order, so
/// ids order them in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferId(pub u64);

/// Outcome of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// Executed (receipt status 1, or pre-Byzantium without an error trace).
    Success,
    /// Reverted: it moved no value (only its fee was paid).
    Failed,
    /// The source does not say (an export without receipts, an RLP block
    /// without receipts). Its value is counted as moved; see docs/evm.md.
    Unknown,
}

impl TxStatus {
    pub(crate) fn code(self) -> u8 {
        match self {
            TxStatus::Success => 1,
            TxStatus::Failed => 0,
            TxStatus::Unknown => 2,
        }
    }

    pub(crate) fn from_code(c: u8) -> Option<TxStatus> {
        match c {
            1 => Some(TxStatus::Success),
            0 => Some(TxStatus::Failed),
            2 => Some(TxStatus::Unknown),
            _ => None,
        }
    }

    /// `success`, `failed` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            TxStatus::Success => "success",
            TxStatus::Failed => "failed",
            TxStatus::Unknown => "unknown",
        }
    }
}

/// How value moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferKind {
    /// The native value of a top-level transaction.
    Call,
    /// Native value moved by an internal call (a contract sending ETH).
    Internal,
    /// An ERC-20 `Transfer` event.
    Erc20,
}

impl TransferKind {
    pub(crate) fn code(self) -> u8 {
        match self {
            TransferKind::Call => 0,
            TransferKind::Internal => 1,
            TransferKind::Erc20 => 2,
        }
    }

    pub(crate) fn from_code(c: u8) -> Option<TransferKind> {
        match c {
            0 => Some(TransferKind::Call),
            1 => Some(TransferKind::Internal),
            2 => Some(TransferKind::Erc20),
            _ => None,
        }
    }

    /// `call`, `internal` or `erc20`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Call => "call",
            TransferKind::Internal => "internal",
            TransferKind::Erc20 => "erc20",
        }
    }
}

/// Which asset a transfer moves, before it has an id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssetRef {
    /// The native coin.
    Native,
    /// An ERC-20 token, by contract address.
    Token(Address),
}

/// Token metadata (what `symbol()` and `decimals()` return).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenMeta {
    /// The symbol (at most 32 bytes are kept), if known.
    pub symbol: Option<String>,
    /// The decimals, if known.
    pub decimals: Option<u8>,
}

/// A transaction as a reader hands it over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTx {
    /// The transaction hash.
    pub hash: B256,
    /// The sender.
    pub from: Address,
    /// The recipient; `None` for a contract creation.
    pub to: Option<Address>,
    /// The contract a creation made, when known.
    pub created: Option<Address>,
    /// The native value sent (wei).
    pub value: U256,
    /// Success, failure or unknown.
    pub status: TxStatus,
    /// Gas used (from the receipt), else the gas limit.
    pub gas: u64,
    /// The fee paid in wei (gas used × effective price), when known, else 0.
    pub fee: u128,
}

/// A value transfer as a reader hands it over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTransfer {
    /// Index into the block's `txs`; `None` when the source names no
    /// transaction the block holds (an export of token transfers only).
    pub tx: Option<u32>,
    /// The asset.
    pub asset: AssetRef,
    /// Sender.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Amount in the asset's base unit (wei, token units).
    pub amount: U256,
    /// How it moved.
    pub kind: TransferKind,
}

/// A block as every reader (RLP, ethereum-etl, JSON-RPC) produces it.
///
/// Readers emit transfers only for value that moved: a failed transaction
/// has no transfers ([`crate::store::EvmWriter::append`] refuses them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewBlock {
    /// Block number.
    pub number: u64,
    /// Block hash (zero when the source does not give one).
    pub hash: B256,
    /// Parent hash (zero when unknown).
    pub parent: B256,
    /// Unix seconds.
    pub timestamp: u64,
    /// Transactions in block order.
    pub txs: Vec<NewTx>,
    /// Transfers in execution order.
    pub transfers: Vec<NewTransfer>,
    /// Metadata of tokens this block's transfers move, when the reader knows it.
    pub tokens: Vec<(Address, TokenMeta)>,
}
