//! `chainhound` commands of chainhound-trace.
