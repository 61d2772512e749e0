//! EVM chains: ingest over JSON-RPC, RLP blocks and ethereum-etl exports
//! into an account-transfer store; account-model tracing.
//!
//! Readers ([`rlp`], [`etl`]) turn outside data into normalized
//! [`NewBlock`]s; [`EvmWriter`] appends them to an append-only store in
//! `<data>/evm/<chain>/` ([`store`], layout in `docs/evm.md`) and rolls back
//! above a fork; [`EvmStore`] is a read-only snapshot with indexes by
//! address, transaction and account.
//!
//! The account model ([`model`]) labels accounts from attribution tags
//! (exchanges, mixers, bridges and DEXs are services, not owners), finds
//! exchange deposit addresses and traces each asset with FIFO or haircut:
//!
//! ```no_run
//! use chainhound_evm::model::{self, Labels, Model, Role, Seed, TraceConfig};
//! use chainhound_evm::EvmStore;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let data = std::path::Path::new("chainhound-data");
//! let store = EvmStore::open_chain(data, "eth")?;
//! let tags = chainhound_intel::TagStore::open(data.join("intel"))?;
//! let mut labels = Labels::from_tags(&store, &tags);
//! model::detect_deposits(&store, &mut labels, 1);
//! let thief = store
//!     .account(&chainhound_evm::address::parse("0x098B716B8Aaf21512996dC57EB0615e2383E2f96")?)
//!     .ok_or("not in the store")?;
//! let r = model::trace(&store, &labels, &[Seed::Account(thief)], &TraceConfig::default());
//! for (service, asset, role, amount) in &r.absorbed {
//!     println!("{} {:?} {:?} {amount}", role.as_str(), store.address(*service), asset);
//! }
//! let e = model::exposure(&store, &labels, thief, &[Role::Sanctioned], Model::Haircut);
//! println!("{:?}", e.indirect);
//! # Ok(()) }
//! ```
//!
//! **Invariants.** Amounts are integers in the asset's base unit ([`U256`]);
//! accounts and assets are dense ids in order of first appearance, so two
//! stores built from the same blocks are byte-identical; a failed
//! transaction has no transfers; rows past the manifest's counts are
//! invisible and a killed writer loses nothing committed. This crate is the
//! only one that uses alloy; it never writes the Bitcoin store.

#![deny(missing_docs)]

pub mod address;
mod error;
pub mod etherscan;
pub mod etl;
pub mod model;
pub mod rlp;
pub mod rpc;
pub mod store;
mod types;

pub use error::{EvmError, Result};
pub use store::{AppendOutcome, EvmStore, EvmWriter};
pub use types::{
    AccountId, Address, AssetId, AssetRef, NewBlock, NewTransfer, NewTx, TokenMeta, TransferId,
    TransferKind, TxId, TxStatus, B256, U256,
};

/// Entry points for the fuzz targets in `fuzz/` (not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::rpc::fuzz_block_json as rpc_block_json;
}
