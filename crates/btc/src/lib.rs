//! Reads Bitcoin Core block files into ChainHound's normalized
//! [`Block`](chainhound_types::Block)s. The only crate that knows
//! rust-bitcoin.
//!
//! * [`BlocksDir`] lists a node's `blocks/blkNNNNN.dat` files (or an explicit
//!   file list) and loads the obfuscation key [`XorKey`] from `xor.dat`.
//! * [`BlockFile::scan`] finds the blocks of a file, reading only record
//!   prefixes and headers, so a 130 MB file scans in milliseconds; it gives
//!   [`BlockLoc`]s for the caller to order into a chain (blk files are in
//!   arrival order, not height order).
//! * [`BlockFile::read_block`] decodes and verifies one block into a reusable
//!   [`Block`](chainhound_types::Block): the hot path of ingest.
//!   [`ReadOptions`] can skip the witness-commitment check, which costs
//!   about a third on SegWit-era blocks and guards only witness bytes that no
//!   normalized field depends on.
//! * [`classify`], [`render`] and [`parse_address`] map locking scripts to
//!   [`AddrKey`](chainhound_types::AddrKey)s and those to address strings.
//!
//! ```no_run
//! use chainhound_btc::{BlocksDir, Network};
//! # fn main() -> Result<(), chainhound_btc::BtcError> {
//! let dir = BlocksDir::open("/home/me/.bitcoin/blocks", Network::Main)?;
//! let mut block = chainhound_types::Block::default();
//! for entry in dir.files() {
//!     let file = dir.open_file(entry)?;
//!     let report = file.scan(dir.network())?;
//!     for w in &report.warnings {
//!         eprintln!("warning: {w}");
//!     }
//!     for loc in &report.blocks {
//!         file.read_block(loc, &mut block)?;
//!         println!("{} {} txs", block.hash, block.txs.len());
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Design: decoding is rust-bitcoin's (its `Transaction` decoder, run on the
//! block bytes in place, one transaction at a time); our own code only adds
//! the checks and the normalization. Every block must prove itself: the
//! txids must rebuild the header's merkle root (mutated trees rejected, as
//! Core does), the wtxids the witness commitment, the header must meet its
//! proof of work, and the transactions must use exactly the record's bytes.
//! rust-bitcoin also supplies hashing, targets and address encoding.
//!
//! Architecture invariant: this crate does not know the store; it only
//! produces `chainhound_types` values.

#![deny(missing_docs)]

mod addr;
mod decode;
mod error;
mod file;
mod header;
mod network;
mod xor;

pub use addr::{classify, classify_bytes, parse_address, render};
pub use decode::{decode_raw_tx, DecodedTx, ReadOptions};
pub use error::{AddressError, BtcError, DecodeError};
pub use file::{
    BlockFile, BlockFileEntry, BlockLoc, BlocksDir, FileFormat, ScanReport, ScanWarning,
    MAX_BLOCK_SERIALIZED_SIZE,
};
pub use header::{
    block_work, header_bits, header_hash, header_merkle_root, header_prev, header_time,
};
pub use network::Network;
pub use xor::XorKey;
