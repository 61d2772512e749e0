//! `chainhound` commands of chainhound-serve.
