//! Clustering a whole store in memory, writing nothing: for measurements
//! (accuracy per heuristic, throughput) and for tests.

use std::time::{Duration, Instant};

use chainhound_store::Store;
use chainhound_types::{AddrId, TxNum};

use crate::clusters::Link;
use crate::coinjoin::TxClass;
use crate::config::{Config, Heuristic};
use crate::engine::{Engine, PassStats};
use crate::error::Result;

/// The clusters of a store, computed in memory.
pub struct MemoryClusters {
    engine: Engine,
    elapsed: Duration,
}

impl MemoryClusters {
    /// Clusters every block of `store` with `cfg`.
    pub fn compute(store: &Store, cfg: Config) -> Result<MemoryClusters> {
        cfg.validate()?;
        let t = Instant::now();
        let mut engine = Engine::new(cfg);
        let cols = store.columns();
        engine.grow(cols.counts().addrs);
        // The unions form a spanning forest: fewer edges than addresses.
        engine.edges.reserve(cols.counts().addrs as usize);
        // Fewer page faults as the edges are pushed.
        crate::hugepages::advise(&mut engine.edges);
        for row in 0..cols.counts().blocks {
            engine.process_block(store, &cols, row);
        }
        Ok(MemoryClusters {
            engine,
            elapsed: t.elapsed(),
        })
    }

    /// Time [`MemoryClusters::compute`] took (allocation included).
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Counters of the pass.
    pub fn stats(&self) -> &PassStats {
        &self.engine.stats
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.engine.cfg
    }

    /// Entity id (smallest member) of every address, by address id.
    pub fn entity_ids(&mut self) -> Vec<u32> {
        let n = self.engine.uf.len();
        (0..n).map(|a| self.engine.uf.entity(a)).collect()
    }

    /// Every recorded union, in the order made.
    pub fn links(&self) -> impl Iterator<Item = Link> + '_ {
        self.engine.edges.iter().map(|e| Link {
            from: AddrId(e.a),
            to: AddrId(e.b),
            tx: TxNum(e.tx),
            heuristic: Heuristic::from_u8(e.heuristic).unwrap_or(Heuristic::MultiInput),
        })
    }

    /// Every flagged transaction, chain order.
    pub fn detections(&self) -> Vec<(TxNum, TxClass)> {
        self.engine
            .mixes
            .iter()
            .filter_map(|m| Some((TxNum(m.tx), TxClass::from_code(m.class)?)))
            .collect()
    }
}
