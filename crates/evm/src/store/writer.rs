//! [`EvmWriter`]: the one writer of a chain's account store.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chainhound_store::{lock_dir, sync_dir, write_atomic};

use super::format::{
    AssetRow, BlockRow, Manifest, TransferRow, TxRow, ACCOUNTS, ASSETS, BLOCKS, FILES, MANIFEST,
};
use super::{NONE32, NONE64};
use crate::error::{EvmError, Result};
use crate::types::{Address, AssetRef, NewBlock, TokenMeta, TxStatus, B256};

/// What [`EvmWriter::append`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The block was appended.
    Appended,
    /// The store already holds this block (same number and hash): nothing
    /// changed. Re-running an import is a no-op.
    AlreadyStored,
}

/// Appends blocks to `<data>/evm/<chain>/` and commits them; rolls back
/// above a fork. Holds the directory's lock while it lives.
///
/// Invariants: blocks are stored in increasing number (gaps allowed, for
/// exports that hold some blocks only); a transfer's accounts and asset
/// exist before it; a failed transaction has no transfers.
pub struct EvmWriter {
    dir: PathBuf,
    _lock: File,
    manifest: Manifest,
    files: Vec<File>,
    /// Uncommitted bytes per file, in [`FILES`] order.
    pending: [Vec<u8>; 5],
    /// Row counts including pending rows.
    counts: [u64; 5],
    blocks: Vec<BlockRow>,
    accounts: Vec<Address>,
    account_ids: HashMap<Address, u32>,
    asset_ids: HashMap<Address, u32>,
}

impl EvmWriter {
    /// Opens (creating if needed) the store in `dir` for chain `chain`;
    /// uncommitted rows left by a killed writer are truncated.
    pub fn open(dir: &Path, chain: &str) -> Result<EvmWriter> {
        fs::create_dir_all(dir).map_err(|e| EvmError::io(dir, e))?;
        let lock = lock_dir(dir)?;
        let mpath = dir.join(MANIFEST);
        let manifest = match fs::read(&mpath) {
            Ok(b) => Manifest::decode(&b, &mpath)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest {
                generation: 0,
                chain: chain.to_string(),
                counts: [0; 5],
            },
            Err(e) => return Err(EvmError::io(&mpath, e)),
        };
        if manifest.chain != chain {
            return Err(EvmError::corrupt(
                &mpath,
                format!("store holds chain {:?}, not {chain:?}", manifest.chain),
            ));
        }
        let mut files = Vec::with_capacity(5);
        let mut contents: Vec<Vec<u8>> = Vec::with_capacity(5);
        for (i, (name, size)) in FILES.iter().enumerate() {
            let path = dir.join(name);
            let f = OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(&path)
                .map_err(|e| EvmError::io(&path, e))?;
            let want = manifest.counts[i] * *size as u64;
            let have = f.metadata().map_err(|e| EvmError::io(&path, e))?.len();
            if have < want {
                return Err(EvmError::corrupt(
                    &path,
                    format!("{have} bytes, the manifest commits {want}"),
                ));
            }
            if have > want {
                tracing::info!(file = %path.display(), dropped = have - want, "truncating uncommitted rows");
                f.set_len(want).map_err(|e| EvmError::io(&path, e))?;
                f.sync_all().map_err(|e| EvmError::io(&path, e))?;
            }
            // The writer needs blocks, accounts and assets in memory.
            let mut bytes = Vec::new();
            if *name == BLOCKS || *name == ACCOUNTS || *name == ASSETS {
                (&f).read_to_end(&mut bytes)
                    .map_err(|e| EvmError::io(&path, e))?;
            }
            contents.push(bytes);
            files.push(f);
        }
        sync_dir(dir)?;
        let blocks = contents[0]
            .chunks_exact(BlockRow::SIZE)
            .map(BlockRow::decode)
            .collect();
        let accounts: Vec<Address> = contents[3]
            .chunks_exact(20)
            .map(Address::from_slice)
            .collect();
        let account_ids = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (*a, i as u32))
            .collect();
        let mut asset_ids = HashMap::new();
        for (i, row) in contents[4].chunks_exact(AssetRow::SIZE).enumerate() {
            let a = AssetRow::decode(row)
                .ok_or_else(|| EvmError::corrupt(dir.join(ASSETS), format!("asset row {i}")))?;
            if i > 0 {
                asset_ids.insert(a.contract, i as u32);
            }
        }
        let counts = manifest.counts;
        let mut w = EvmWriter {
            dir: dir.to_path_buf(),
            _lock: lock,
            manifest,
            files,
            pending: Default::default(),
            counts,
            blocks,
            accounts,
            account_ids,
            asset_ids,
        };
        if w.counts[4] == 0 {
            // Asset 0 is the native coin.
            AssetRow {
                contract: Address::ZERO,
                meta: TokenMeta::default(),
            }
            .encode(&mut w.pending[4]);
            w.counts[4] = 1;
            w.commit()?;
        }
        Ok(w)
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The chain name the store was created for.
    pub fn chain(&self) -> &str {
        &self.manifest.chain
    }

    /// The last stored block (committed or pending).
    pub fn tip(&self) -> Option<&BlockRow> {
        self.blocks.last()
    }

    /// The first stored block.
    pub fn first(&self) -> Option<&BlockRow> {
        self.blocks.first()
    }

    /// The stored block with number `number`, if any.
    pub fn block(&self, number: u64) -> Option<&BlockRow> {
        self.blocks
            .binary_search_by_key(&number, |b| b.number)
            .ok()
            .map(|i| &self.blocks[i])
    }

    /// Whether the store has an asset for token contract `a`.
    pub fn knows_token(&self, a: &Address) -> bool {
        self.asset_ids.contains_key(a)
    }

    /// Rows stored (committed plus pending): blocks, txs, transfers, accounts, assets.
    pub fn counts(&self) -> [u64; 5] {
        self.counts
    }

    /// Whether appended rows await [`EvmWriter::commit`].
    pub fn has_pending(&self) -> bool {
        self.pending.iter().any(|p| !p.is_empty())
    }

    fn account(&mut self, a: Address) -> u32 {
        if let Some(&id) = self.account_ids.get(&a) {
            return id;
        }
        let id = self.accounts.len() as u32;
        self.accounts.push(a);
        self.account_ids.insert(a, id);
        self.pending[3].extend_from_slice(a.as_slice());
        self.counts[3] += 1;
        id
    }

    fn asset(&mut self, r: AssetRef, tokens: &[(Address, TokenMeta)]) -> u32 {
        let AssetRef::Token(c) = r else { return 0 };
        if let Some(&id) = self.asset_ids.get(&c) {
            return id;
        }
        let id = self.counts[4] as u32;
        let meta = tokens
            .iter()
            .find(|(a, _)| *a == c)
            .map(|(_, m)| m.clone())
            .unwrap_or_default();
        AssetRow { contract: c, meta }.encode(&mut self.pending[4]);
        self.counts[4] += 1;
        self.asset_ids.insert(c, id);
        id
    }

    /// Checks a block before anything of it is written.
    fn check(&self, b: &NewBlock) -> Result<()> {
        let err = |what: String| EvmError::Chain {
            number: b.number,
            what,
        };
        if let Some(tip) = self.tip() {
            if b.number <= tip.number {
                return Err(err(format!(
                    "is not above the stored tip {} (import blocks in increasing order)",
                    tip.number
                )));
            }
            if b.number == tip.number + 1
                && b.parent != B256::ZERO
                && tip.hash != B256::ZERO
                && b.parent != tip.hash
            {
                return Err(err(format!(
                    "parent {} is not the stored block {} ({}): a reorg; roll back first",
                    b.parent, tip.number, tip.hash
                )));
            }
        }
        if b.txs.len() > u32::MAX as usize {
            return Err(err("too many transactions".into()));
        }
        for (i, t) in b.transfers.iter().enumerate() {
            if let Some(ti) = t.tx {
                let tx = b.txs.get(ti as usize).ok_or_else(|| {
                    err(format!(
                        "transfer {i} names transaction {ti}, the block has {}",
                        b.txs.len()
                    ))
                })?;
                if tx.status == TxStatus::Failed {
                    return Err(err(format!(
                        "transfer {i} belongs to failed transaction {}: failed transactions move no value",
                        tx.hash
                    )));
                }
            }
        }
        Ok(())
    }

    /// Appends one block (pending until [`EvmWriter::commit`]). A block the
    /// store already holds with the same hash is skipped.
    pub fn append(&mut self, b: &NewBlock) -> Result<AppendOutcome> {
        if let Some(have) = self.block(b.number) {
            if have.hash == b.hash {
                return Ok(AppendOutcome::AlreadyStored);
            }
            return Err(EvmError::Chain {
                number: b.number,
                what: format!(
                    "the store holds hash {} at this number, the source {}: roll back first",
                    have.hash, b.hash
                ),
            });
        }
        self.check(b)?;
        let block_row = self.blocks.len() as u32;
        let tx_base = self.counts[1];
        for (i, t) in b.txs.iter().enumerate() {
            let from = self.account(t.from);
            let to = t.to.map_or(NONE32, |a| self.account(a));
            let created = t.created.map_or(NONE32, |a| self.account(a));
            TxRow {
                hash: t.hash,
                block: block_row,
                index: i as u32,
                from,
                to,
                created,
                status: t.status,
                gas: t.gas,
                fee: t.fee,
                value: t.value,
            }
            .encode(&mut self.pending[1]);
        }
        self.counts[1] += b.txs.len() as u64;
        for t in &b.transfers {
            let asset = self.asset(t.asset, &b.tokens);
            let from = self.account(t.from);
            let to = self.account(t.to);
            TransferRow {
                tx: t.tx.map_or(NONE64, |i| tx_base + i as u64),
                block: block_row,
                asset,
                from,
                to,
                kind: t.kind,
                amount: t.amount,
            }
            .encode(&mut self.pending[2]);
        }
        self.counts[2] += b.transfers.len() as u64;
        let row = BlockRow {
            number: b.number,
            hash: b.hash,
            parent: b.parent,
            timestamp: b.timestamp,
            tx_end: self.counts[1],
            transfer_end: self.counts[2],
            account_end: self.counts[3] as u32,
            asset_end: self.counts[4] as u32,
        };
        row.encode(&mut self.pending[0]);
        self.counts[0] += 1;
        self.blocks.push(row);
        Ok(AppendOutcome::Appended)
    }

    /// Makes everything appended so far durable: data files first, then the
    /// manifest.
    pub fn commit(&mut self) -> Result<()> {
        if !self.has_pending()
            && self.manifest.counts == self.counts
            && self.manifest.generation > 0
        {
            return Ok(());
        }
        for (i, (name, _)) in FILES.iter().enumerate() {
            if self.pending[i].is_empty() {
                continue;
            }
            let path = self.dir.join(name);
            let f = &mut self.files[i];
            f.write_all(&self.pending[i])
                .and_then(|()| f.sync_data())
                .map_err(|e| EvmError::io(&path, e))?;
            self.pending[i].clear();
        }
        let m = Manifest {
            generation: self.manifest.generation + 1,
            chain: self.manifest.chain.clone(),
            counts: self.counts,
        };
        write_atomic(&self.dir, MANIFEST, &m.encode())?;
        self.manifest = m;
        Ok(())
    }

    /// Removes every block above `number` (and their transactions,
    /// transfers, and the accounts and assets first seen in them), durably.
    /// Pending rows are committed first. Returns how many blocks were removed.
    pub fn rollback_to(&mut self, number: u64) -> Result<u64> {
        self.commit()?;
        let keep = self.blocks.partition_point(|b| b.number <= number);
        let removed = (self.blocks.len() - keep) as u64;
        let counts = match keep.checked_sub(1).map(|i| self.blocks[i]) {
            Some(b) => [
                keep as u64,
                b.tx_end,
                b.transfer_end,
                b.account_end as u64,
                b.asset_end as u64,
            ],
            None => [0, 0, 0, 0, 1],
        };
        self.blocks.truncate(keep);
        for a in self.accounts.drain(counts[3] as usize..) {
            self.account_ids.remove(&a);
        }
        self.asset_ids.retain(|_, id| (*id as u64) < counts[4]);
        self.counts = counts;
        let m = Manifest {
            generation: self.manifest.generation + 1,
            chain: self.manifest.chain.clone(),
            counts,
        };
        write_atomic(&self.dir, MANIFEST, &m.encode())?;
        self.manifest = m;
        for (i, (name, size)) in FILES.iter().enumerate() {
            let path = self.dir.join(name);
            let f = &self.files[i];
            f.set_len(counts[i] * *size as u64)
                .and_then(|()| f.sync_all())
                .map_err(|e| EvmError::io(&path, e))?;
        }
        if removed > 0 {
            tracing::info!(to = number, removed, "rolled back");
        }
        Ok(removed)
    }
}
