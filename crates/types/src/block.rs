//! The normalized block: what a chain reader hands to the store. Flat vectors,
//! so one block is four allocations that a reader can reuse.

use crate::{AddrKey, Hash32, Sats};

/// A decoded block in chain-neutral form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Block hash (internal byte order).
    pub hash: Hash32,
    /// The 80-byte header exactly as serialized.
    pub header: [u8; 80],
    /// Serialized size of the whole block in bytes.
    pub size: u32,
    /// Transactions in block order.
    pub txs: Vec<Tx>,
    /// All inputs of all transactions, in order; `Tx::n_inputs` splits them.
    pub inputs: Vec<Input>,
    /// All outputs of all transactions, in order; `Tx::n_outputs` splits them.
    pub outputs: Vec<Output>,
}

/// A transaction's own fields; its inputs and outputs live in the block's flat
/// vectors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tx {
    /// Transaction id (internal byte order).
    pub txid: Hash32,
    /// Version field.
    pub version: i32,
    /// Lock time field.
    pub lock_time: u32,
    /// Serialized size in bytes, witness included.
    pub size: u32,
    /// Weight units (BIP141); vsize is `(weight + 3) / 4`.
    pub weight: u32,
    /// Number of inputs.
    pub n_inputs: u32,
    /// Number of outputs.
    pub n_outputs: u32,
}

/// A transaction input: the coinbase marker or the outpoint it spends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The coinbase input (null outpoint).
    Coinbase,
    /// Spends output `vout` of transaction `txid`.
    Spend {
        /// Txid of the funding transaction.
        txid: Hash32,
        /// Index of the output within it.
        vout: u32,
    },
}

/// A transaction output.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Value.
    pub value: Sats,
    /// Address identity of the locking script.
    pub addr: AddrKey,
}

impl Default for Block {
    fn default() -> Block {
        Block {
            hash: Hash32::default(),
            header: [0u8; 80],
            size: 0,
            txs: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
        }
    }
}

impl Block {
    /// Empties the block, keeping its allocations.
    pub fn clear(&mut self) {
        self.txs.clear();
        self.inputs.clear();
        self.outputs.clear();
    }

    /// Header field: hash of the previous block (internal byte order).
    pub fn prev_hash(&self) -> Hash32 {
        Hash32(self.header[4..36].try_into().expect("header is 80 bytes"))
    }

    /// Header field: time (unix seconds).
    pub fn time(&self) -> u32 {
        u32::from_le_bytes(self.header[68..72].try_into().expect("header is 80 bytes"))
    }
}
