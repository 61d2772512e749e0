//! Read-only snapshots of a store.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chainhound_types::{AddrId, AddrKey, BlockHeight, Hash32, InputId, OutputId, Sats, TxNum};

use crate::error::Result;
use crate::journal::{UndoJournal, JOURNAL, MAGIC};
use crate::manifest::{Counts, Manifest};
use crate::tables::{Tables, COINBASE, NONE, UNRESOLVED};

/// A consistent, read-only view of a store as of its last commit. Opening is
/// just mapping files; a writer may keep appending meanwhile.
pub struct Store {
    dir: PathBuf,
    m: Manifest,
    t: Tables,
    /// Address heads of an interrupted commit, restored virtually.
    undo_heads: HashMap<u32, u32>,
}

/// One block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// Height on the stored chain.
    pub height: BlockHeight,
    /// Block hash.
    pub hash: Hash32,
    /// Raw 80-byte header.
    pub header: [u8; 80],
    /// Serialized size.
    pub size: u32,
    /// Transactions.
    pub txs: Range<TxNum>,
    /// Cumulative chain work up to this block.
    pub chain_work: u128,
    /// Source blk file number and byte offset.
    pub source: (u32, u64),
}

/// One transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxInfo {
    /// Dense number.
    pub num: TxNum,
    /// Transaction id.
    pub txid: Hash32,
    /// Height of its block.
    pub height: BlockHeight,
    /// Position in the block (0 = coinbase).
    pub index: u32,
    /// Version.
    pub version: i32,
    /// Lock time.
    pub lock_time: u32,
    /// Serialized size in bytes.
    pub size: u32,
    /// Weight units.
    pub weight: u32,
    /// Its inputs.
    pub inputs: Range<u32>,
    /// Its outputs.
    pub outputs: Range<u32>,
}

/// What an input spends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Funding {
    /// New coins.
    Coinbase,
    /// A stored output.
    Output(OutputId),
    /// An output that is not in the store (the store does not start at genesis).
    Unresolved {
        /// Funding txid.
        txid: Hash32,
        /// Output index.
        vout: u32,
    },
}

/// One output.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OutputInfo {
    /// Dense id.
    pub id: OutputId,
    /// Transaction that created it.
    pub tx: TxNum,
    /// Index within that transaction.
    pub vout: u32,
    /// Value.
    pub value: Sats,
    /// Address identity.
    pub addr: AddrId,
    /// The input that spends it, if any.
    pub spent_by: Option<InputId>,
}

/// One input.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct InputInfo {
    /// Dense id.
    pub id: InputId,
    /// Transaction it belongs to.
    pub tx: TxNum,
    /// Index within that transaction.
    pub vin: u32,
    /// What it spends.
    pub funding: Funding,
}

impl Store {
    /// Opens a snapshot of the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        let m = Manifest::load(dir)?;
        let t = Tables::open(dir, &m, false)?;
        let mut undo_heads = HashMap::new();
        if let Some(j) = UndoJournal::<1>::read(dir, JOURNAL, MAGIC)? {
            if j.generation == m.generation {
                undo_heads.extend(j.entries.into_iter().map(|(a, [old])| (a, old)));
            }
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            m,
            t,
            undo_heads,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn tables(&self) -> &Tables {
        &self.t
    }

    /// Committed row counts.
    pub fn counts(&self) -> Counts {
        self.m.counts
    }

    /// Network magic bytes of the stored chain.
    pub fn network_magic(&self) -> [u8; 4] {
        self.m.network_magic
    }

    /// Commit generation (increases with every commit).
    pub fn generation(&self) -> u64 {
        self.m.generation
    }

    /// Height of the first stored block.
    pub fn base_height(&self) -> u32 {
        self.m.base_height
    }

    /// The tip block, if any.
    pub fn tip(&self) -> Option<BlockInfo> {
        let n = self.m.counts.blocks.checked_sub(1)?;
        self.block(BlockHeight(self.m.base_height + n))
    }

    /// The block at `height`.
    pub fn block(&self, height: BlockHeight) -> Option<BlockInfo> {
        let i = height.0.checked_sub(self.m.base_height)?;
        if i >= self.m.counts.blocks {
            return None;
        }
        let t = &self.t;
        let k = i as usize;
        let txs = t.block_txs(i, &self.m.counts);
        Some(BlockInfo {
            height,
            hash: Hash32(t.blk_hash.get(k)),
            header: t.blk_header.get(k),
            size: t.blk_size.get(k),
            txs: TxNum(txs.start)..TxNum(txs.end),
            chain_work: t.blk_work.get(k),
            source: (t.blk_file.get(k), t.blk_offset.get(k)),
        })
    }

    /// The block with this hash (a scan of the hash column: a few ms per
    /// million blocks).
    pub fn block_by_hash(&self, hash: &Hash32) -> Option<BlockInfo> {
        let i = self
            .t
            .blk_hash
            .as_slice()
            .iter()
            .position(|h| *h == hash.0)?;
        self.block(BlockHeight(self.m.base_height + i as u32))
    }

    /// The newest transaction with this txid.
    pub fn tx_by_txid(&self, txid: &Hash32) -> Option<TxNum> {
        self.t.find_tx(txid, &self.m.counts).map(TxNum)
    }

    /// The txid of transaction `num` alone (cheaper than [`Store::tx`]);
    /// panics if `num` is not below `counts().txs`.
    pub fn txid(&self, num: TxNum) -> Hash32 {
        Hash32(self.t.tx_id.get(num.index()))
    }

    /// Transaction `num`; panics if `num` is not below `counts().txs`.
    pub fn tx(&self, num: TxNum) -> TxInfo {
        let t = &self.t;
        let n = num.0;
        let b = t.block_of_tx(n);
        let i = n as usize;
        TxInfo {
            num,
            txid: Hash32(t.tx_id.get(i)),
            height: BlockHeight(self.m.base_height + b),
            index: n - t.blk_first_tx.get(b as usize),
            version: t.tx_version.get(i),
            lock_time: t.tx_lock_time.get(i),
            size: t.tx_size.get(i),
            weight: t.tx_weight.get(i),
            inputs: t.tx_inputs(n, &self.m.counts),
            outputs: t.tx_outputs(n, &self.m.counts),
        }
    }

    /// Input `id`.
    pub fn input(&self, id: InputId) -> InputInfo {
        let tx = self.t.tx_of_input(id.0);
        let vin = id.0 - self.t.tx_first_in.get(tx as usize);
        let funding = match self.t.in_prevout.get(id.index()) {
            COINBASE => Funding::Coinbase,
            UNRESOLVED => {
                let c = self.m.counts.unresolved as usize;
                let rows = &self.t.unres_input.as_slice()[..c];
                match rows.binary_search(&id.0) {
                    Ok(r) => Funding::Unresolved {
                        txid: Hash32(self.t.unres_txid.get(r)),
                        vout: self.t.unres_vout.get(r),
                    },
                    Err(_) => Funding::Unresolved {
                        txid: Hash32::default(),
                        vout: u32::MAX,
                    },
                }
            }
            o => Funding::Output(OutputId(o)),
        };
        InputInfo {
            id,
            tx: TxNum(tx),
            vin,
            funding,
        }
    }

    /// Output `id`.
    pub fn output(&self, id: OutputId) -> OutputInfo {
        let tx = self.t.tx_of_output(id.0);
        OutputInfo {
            id,
            tx: TxNum(tx),
            vout: id.0 - self.t.tx_first_out.get(tx as usize),
            value: self.t.value(id.0, &self.m.counts),
            addr: AddrId(self.t.out_addr.get(id.index())),
            spent_by: self.t.spent_by(id.0, &self.m.counts).map(InputId),
        }
    }

    /// Value of output `id` (the hot path of every scan).
    #[inline]
    pub fn output_value(&self, id: OutputId) -> Sats {
        self.t.value(id.0, &self.m.counts)
    }

    /// The input spending output `id`, if any.
    #[inline]
    pub fn spender(&self, id: OutputId) -> Option<InputId> {
        self.t.spent_by(id.0, &self.m.counts).map(InputId)
    }

    /// The address identity with this key.
    pub fn addr_id(&self, key: &AddrKey) -> Option<AddrId> {
        self.t.find_addr(key, &self.m.counts).map(AddrId)
    }

    /// The key of address `id`.
    pub fn addr_key(&self, id: AddrId) -> AddrKey {
        self.t.addr_key(id.0)
    }

    /// Outputs paid to address `id`, newest first.
    pub fn addr_outputs(&self, id: AddrId) -> impl Iterator<Item = OutputId> + '_ {
        let stored = self
            .undo_heads
            .get(&id.0)
            .copied()
            .unwrap_or_else(|| self.t.addr_last_out.get(id.index()));
        let mut cur = self.t.visible_addr_head(stored, &self.m.counts);
        std::iter::from_fn(move || {
            if cur == NONE {
                return None;
            }
            let o = cur;
            let prev = self.t.out_prev_same_addr.get(o as usize);
            cur = if prev < o { prev } else { NONE };
            Some(OutputId(o))
        })
    }

    /// The first output ever paid to address `id`.
    pub fn addr_first_output(&self, id: AddrId) -> OutputId {
        OutputId(self.t.addr_first_out.get(id.index()))
    }

    /// Sum of every output value in the store: a full column scan.
    pub fn sum_output_values(&self) -> u128 {
        let n = self.m.counts.outputs as usize;
        let vals = &self.t.out_value.as_slice()[..n];
        // Sum in u64 chunks small enough that they cannot overflow.
        let mut total: u128 = 0;
        for chunk in vals.chunks(1 << 20) {
            let s: u64 = chunk.iter().map(|&v| u64::from(v)).sum();
            total += u128::from(s);
        }
        let e = self.m.counts.value_exts as usize;
        for v in &self.t.ext_value.as_slice()[..e] {
            total += u128::from(*v) - u128::from(u32::MAX);
        }
        total
    }

    /// Bytes of every column, by name.
    pub fn sizes(&self) -> Vec<(&'static str, u64)> {
        self.t.sizes()
    }
}
