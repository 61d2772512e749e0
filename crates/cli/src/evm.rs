//! `chainhound` commands of chainhound-evm.
