//! `chainhound` commands of chainhound-scan.
