//! The account model: who an account belongs to (tags, deposit addresses,
//! contract awareness) and how value flows through accounts (FIFO and
//! haircut tracing per asset). Precise definitions: `docs/evm.md`.

mod deposit;
mod roles;
mod trace;

pub use deposit::{detect_deposits, DepositHit};
pub use roles::{role_of, Label, LabelSource, Labels, Role};
pub use trace::{
    exposure, trace, Exposure, Model, Seed, TaintedTransfer, TraceConfig, TraceResult,
};

#[cfg(test)]
mod tests;
