//! The account-transfer store: one directory per chain, `<data>/evm/<chain>/`.
//!
//! Five append-only files of fixed-size little-endian rows plus a manifest
//! (layout in `docs/evm.md`):
//!
//! | file | row | bytes |
//! |---|---|---|
//! | `blocks.dat` | number, hash, parent, timestamp, end counts of txs, transfers, accounts, assets | 104 |
//! | `txs.dat` | hash, block row, index, from, to, created, status, gas, fee, value | 112 |
//! | `transfers.dat` | tx row, block row, asset, from, to, kind, amount | 64 |
//! | `accounts.dat` | the 20-byte address | 20 |
//! | `assets.dat` | contract, decimals, symbol | 56 |
//!
//! **Commit protocol.** Rows are appended past the committed counts, the
//! files are fsynced, then `MANIFEST` (counts, generation, CRC-32) is
//! replaced atomically ([`chainhound_store::write_atomic`]). Rows past the
//! manifest's counts are invisible; the writer truncates them when it opens.
//! A rollback (reorg) writes the smaller counts first and truncates after,
//! so a kill at any point leaves either the old or the new state. One writer
//! per directory ([`chainhound_store::lock_dir`]).

mod format;
mod reader;
mod writer;

pub use format::{AssetRow, BlockRow, TransferRow, TxRow};
pub use reader::EvmStore;
pub use writer::{AppendOutcome, EvmWriter};

/// Marks an absent id (`to` of a creation, `tx` of a transfer without one).
pub const NONE32: u32 = u32::MAX;
/// Marks an absent 64-bit id.
pub const NONE64: u64 = u64::MAX;

#[cfg(test)]
mod tests;
