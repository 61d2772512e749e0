//! ChainHound's embedded store: a Bitcoin chain as plain typed columns.
//!
//! Every table (blocks, transactions, inputs, outputs, addresses) is a set of
//! memory-mapped column files of fixed-size records, indexed by dense ids in
//! chain order. Links run both ways: each input names the output it spends,
//! each output the input that spends it, and each output the previous output
//! of the same address (so an address's history is a walk, newest first).
//! A small manifest, replaced atomically, says how many rows of each table are
//! committed; everything past those counts is invisible.
//!
//! Architecture invariants:
//! - One writer ([`StoreWriter`]) per directory, any number of readers
//!   ([`Store`]) in any process, each a consistent snapshot.
//! - A process killed at any instant loses nothing committed, and the next
//!   writer resumes from the last commit (see `docs/store-format.md`).
//! - Columns map one-to-one onto Arrow/Parquet columns of the same name and
//!   type; the only encoding is the 32-bit value column with its exception
//!   table.
//! - This crate knows no chain library: it stores [`chainhound_types::Block`].

#![deny(missing_docs)]

mod column;
mod columns;
mod error;
mod hashtab;
mod journal;
mod manifest;
mod query;
mod reader;
mod tables;
mod writer;

pub use column::Column;
pub use columns::{prefetch, Columns};
pub use error::{Result, StoreError};
pub use journal::{lock_dir, UndoJournal};
pub use manifest::{sync_dir, write_atomic, Counts, FORMAT_VERSION};
pub use query::{AddrSummary, AddrTx, RowBytes};
pub use reader::{BlockInfo, Funding, InputInfo, OutputInfo, Store, TxInfo};
pub use tables::{COINBASE, MAX_ID, NONE, UNRESOLVED};
pub use writer::{AppendStats, SourceLoc, StoreWriter};

/// A human name for a network magic, for messages.
pub fn network_name(magic: [u8; 4]) -> &'static str {
    match magic {
        [0xf9, 0xbe, 0xb4, 0xd9] => "main",
        [0x0b, 0x11, 0x09, 0x07] => "testnet3",
        [0x1c, 0x16, 0x3f, 0x28] => "testnet4",
        [0x0a, 0x03, 0xcf, 0x40] => "signet",
        [0xfa, 0xbf, 0xb5, 0xda] => "regtest",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests;
