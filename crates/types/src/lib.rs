//! The vocabulary shared by every ChainHound crate: dense ids, amounts, hashes,
//! address identities and the normalized block that readers produce and the
//! store consumes.
//!
//! Architecture invariant: this crate does no IO, knows no chain library and no
//! serialization format. Everything here is plain data with checked constructors.

#![deny(missing_docs)]

mod addr;
mod amount;
mod block;
mod hash;
mod idhash;
mod ids;
pub mod time;

pub use addr::{mix64, AddrKey, AddrKind};
pub use amount::{Sats, MAX_MONEY};
pub use block::{Block, Input, Output, Tx};
pub use hash::{Hash32, HexError};
pub use idhash::{IdHasher, IdMap};
pub use ids::{AddrId, BlockHeight, InputId, OutputId, TxNum};
