//! The knobs of a simulation run.

use crate::error::SimError;

/// What to simulate. Build one with [`SimConfig::new`] and adjust the public
/// fields; [`crate::simulate`] validates the whole struct before writing
/// anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// Total transactions in the main chain, coinbases (and the genesis
    /// coinbase) included. At least [`SimConfig::MIN_TXS`].
    pub txs: u64,
    /// Seed of every random choice. Same config, same bytes.
    pub seed: u64,
    /// Non-coinbase transactions per block (a block also closes early when
    /// its weight nears the 4M limit). Default 2,000.
    pub txs_per_block: u32,
    /// Obfuscate the blk files with this key and write `blocks/xor.dat`, as
    /// Bitcoin Core 28+ does. Default: none.
    pub xor_key: Option<[u8; 8]>,
    /// Stale (orphaned) side blocks to write, in forks of one or two blocks
    /// that never outgrow the main chain. Default 4.
    pub stale_blocks: u32,
    /// Blocks are written to disk in a shuffled order within each run of this
    /// many consecutive blocks, like Core's parallel download; 0 or 1 writes
    /// them in order. Default 4.
    pub shuffle_window: u32,
    /// Maximum size of one blk file in bytes (Core: 128 MiB).
    pub max_file_bytes: u64,
}

impl SimConfig {
    /// The smallest chain the economy can be built in (the first
    /// [`BOOT_BLOCKS`](crate::BOOT_BLOCKS) coinbases count towards it).
    pub const MIN_TXS: u64 = 1_000;

    /// A config with the defaults for everything but size and seed.
    pub fn new(txs: u64, seed: u64) -> Self {
        SimConfig {
            txs,
            seed,
            txs_per_block: 2_000,
            xor_key: None,
            stale_blocks: 4,
            shuffle_window: 4,
            max_file_bytes: 128 * 1024 * 1024,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), SimError> {
        let bad = |why: &str| Err(SimError::config(why));
        if self.txs < Self::MIN_TXS {
            return bad("txs must be at least 1000");
        }
        if self.txs > u64::from(u32::MAX) {
            return bad("txs must fit in 32 bits");
        }
        if !(10..=20_000).contains(&self.txs_per_block) {
            return bad("txs_per_block must be between 10 and 20000");
        }
        if self.max_file_bytes < 4 * 1024 * 1024 {
            return bad("max_file_bytes must be at least 4 MiB (a block must fit)");
        }
        if self.shuffle_window > 1_000 {
            return bad("shuffle_window must be at most 1000");
        }
        if self.stale_blocks > 1_000 {
            return bad("stale_blocks must be at most 1000");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        assert!(SimConfig::new(10_000, 1).validate().is_ok());
        assert!(SimConfig::new(10, 1).validate().is_err());
        let mut c = SimConfig::new(10_000, 1);
        c.txs_per_block = 1;
        assert!(c.validate().is_err());
    }
}
