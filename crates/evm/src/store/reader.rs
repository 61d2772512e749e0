//! [`EvmStore`]: a read-only snapshot of a chain's account store.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::format::{AssetRow, BlockRow, Manifest, TransferRow, TxRow, FILES, MANIFEST};
use super::{NONE32, NONE64};
use crate::error::{EvmError, Result};
use crate::types::{AccountId, Address, AssetId, TransferId, TxId, B256};

/// A committed snapshot of one chain's account store, loaded into memory
/// with indexes by address, transaction hash and account.
///
/// Opening reads exactly the committed rows; a writer appending at the same
/// time is not seen until the store is opened again.
pub struct EvmStore {
    dir: PathBuf,
    chain: String,
    blocks: Vec<BlockRow>,
    txs: Vec<TxRow>,
    transfers: Vec<TransferRow>,
    accounts: Vec<Address>,
    assets: Vec<AssetRow>,
    account_ids: HashMap<Address, u32>,
    tx_ids: HashMap<B256, u64>,
    /// Per account, its outgoing transfer ids, then its incoming ones (CSR).
    out_start: Vec<u64>,
    out_ids: Vec<u64>,
    in_start: Vec<u64>,
    in_ids: Vec<u64>,
}

fn read_prefix(path: &Path, len: u64) -> Result<Vec<u8>> {
    let f = File::open(path).map_err(|e| EvmError::io(path, e))?;
    let have = f.metadata().map_err(|e| EvmError::io(path, e))?.len();
    if have < len {
        return Err(EvmError::corrupt(
            path,
            format!("{have} bytes, the manifest commits {len}"),
        ));
    }
    let mut b = Vec::with_capacity(len as usize);
    f.take(len)
        .read_to_end(&mut b)
        .map_err(|e| EvmError::io(path, e))?;
    Ok(b)
}

fn csr(n: usize, edges: impl Iterator<Item = (u32, u64)> + Clone) -> (Vec<u64>, Vec<u64>) {
    let mut start = vec![0u64; n + 1];
    for (a, _) in edges.clone() {
        start[a as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut ids = vec![0u64; start[n] as usize];
    for (a, id) in edges {
        ids[fill[a as usize] as usize] = id;
        fill[a as usize] += 1;
    }
    (start, ids)
}

impl EvmStore {
    /// Opens `<data>/evm/<chain>`.
    pub fn open_chain(data: &Path, chain: &str) -> Result<EvmStore> {
        EvmStore::open(&data.join("evm").join(chain))
    }

    /// Opens the store in `dir` and checks every row's references.
    pub fn open(dir: &Path) -> Result<EvmStore> {
        let mpath = dir.join(MANIFEST);
        let m = match fs::read(&mpath) {
            Ok(b) => Manifest::decode(&b, &mpath)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EvmError::Missing(dir.to_path_buf()))
            }
            Err(e) => return Err(EvmError::io(&mpath, e)),
        };
        let mut raw = Vec::with_capacity(5);
        for (i, (name, size)) in FILES.iter().enumerate() {
            raw.push(read_prefix(&dir.join(name), m.counts[i] * *size as u64)?);
        }
        let bad = |i: usize, what: String| EvmError::corrupt(dir.join(FILES[i].0), what);
        let blocks: Vec<BlockRow> = raw[0]
            .chunks_exact(BlockRow::SIZE)
            .map(BlockRow::decode)
            .collect();
        let txs = raw[1]
            .chunks_exact(TxRow::SIZE)
            .enumerate()
            .map(|(i, r)| TxRow::decode(r).ok_or_else(|| bad(1, format!("row {i}: bad status"))))
            .collect::<Result<Vec<_>>>()?;
        let transfers = raw[2]
            .chunks_exact(TransferRow::SIZE)
            .enumerate()
            .map(|(i, r)| {
                TransferRow::decode(r).ok_or_else(|| bad(2, format!("row {i}: bad kind")))
            })
            .collect::<Result<Vec<_>>>()?;
        let accounts: Vec<Address> = raw[3].chunks_exact(20).map(Address::from_slice).collect();
        let assets = raw[4]
            .chunks_exact(AssetRow::SIZE)
            .enumerate()
            .map(|(i, r)| AssetRow::decode(r).ok_or_else(|| bad(4, format!("row {i}: bad symbol"))))
            .collect::<Result<Vec<_>>>()?;
        let (na, nt, nb) = (accounts.len() as u32, txs.len() as u64, blocks.len() as u32);
        let acc_ok = |a: u32| a < na;
        for (i, t) in txs.iter().enumerate() {
            if t.block >= nb
                || !acc_ok(t.from)
                || (t.to != NONE32 && !acc_ok(t.to))
                || (t.created != NONE32 && !acc_ok(t.created))
            {
                return Err(bad(1, format!("row {i} references a missing row")));
            }
        }
        for (i, t) in transfers.iter().enumerate() {
            if t.block >= nb
                || !acc_ok(t.from)
                || !acc_ok(t.to)
                || t.asset as usize >= assets.len()
                || (t.tx != NONE64 && t.tx >= nt)
            {
                return Err(bad(2, format!("row {i} references a missing row")));
            }
        }
        let account_ids = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (*a, i as u32))
            .collect();
        let tx_ids = txs
            .iter()
            .enumerate()
            .map(|(i, t)| (t.hash, i as u64))
            .collect();
        let n = accounts.len();
        let (out_start, out_ids) = csr(
            n,
            transfers
                .iter()
                .enumerate()
                .map(|(i, t)| (t.from, i as u64)),
        );
        let (in_start, in_ids) = csr(
            n,
            transfers.iter().enumerate().map(|(i, t)| (t.to, i as u64)),
        );
        Ok(EvmStore {
            dir: dir.to_path_buf(),
            chain: m.chain,
            blocks,
            txs,
            transfers,
            accounts,
            assets,
            account_ids,
            tx_ids,
            out_start,
            out_ids,
            in_start,
            in_ids,
        })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The chain name.
    pub fn chain(&self) -> &str {
        &self.chain
    }

    /// All blocks, in increasing number.
    pub fn blocks(&self) -> &[BlockRow] {
        &self.blocks
    }

    /// All transactions, in chain order.
    pub fn txs(&self) -> &[TxRow] {
        &self.txs
    }

    /// All transfers, in chain order (a [`TransferId`] indexes this slice).
    pub fn transfers(&self) -> &[TransferRow] {
        &self.transfers
    }

    /// All assets (0 is the native coin).
    pub fn assets(&self) -> &[AssetRow] {
        &self.assets
    }

    /// Number of accounts.
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// The address of an account.
    pub fn address(&self, a: AccountId) -> Address {
        self.accounts[a.0 as usize]
    }

    /// The account of an address, if the store has seen it.
    pub fn account(&self, address: &Address) -> Option<AccountId> {
        self.account_ids.get(address).map(|&i| AccountId(i))
    }

    /// The stored block with number `number`.
    pub fn block_by_number(&self, number: u64) -> Option<&BlockRow> {
        self.blocks
            .binary_search_by_key(&number, |b| b.number)
            .ok()
            .map(|i| &self.blocks[i])
    }

    /// The stored block with hash `hash`.
    pub fn block_by_hash(&self, hash: &B256) -> Option<&BlockRow> {
        self.blocks.iter().find(|b| b.hash == *hash)
    }

    /// The transaction with hash `hash`.
    pub fn tx_by_hash(&self, hash: &B256) -> Option<TxId> {
        self.tx_ids.get(hash).map(|&i| TxId(i))
    }

    /// A transaction row.
    pub fn tx(&self, id: TxId) -> &TxRow {
        &self.txs[id.0 as usize]
    }

    /// A transfer row.
    pub fn transfer(&self, id: TransferId) -> &TransferRow {
        &self.transfers[id.0 as usize]
    }

    /// The transfers of transaction `id`, in order.
    pub fn tx_transfers(&self, id: TxId) -> impl Iterator<Item = TransferId> + '_ {
        let block = self.txs[id.0 as usize].block as usize;
        let start = if block == 0 {
            0
        } else {
            self.blocks[block - 1].transfer_end
        };
        let end = self.blocks[block].transfer_end;
        (start..end)
            .filter(move |&i| self.transfers[i as usize].tx == id.0)
            .map(TransferId)
    }

    /// The block number of a block row.
    pub fn block_number(&self, block_row: u32) -> u64 {
        self.blocks[block_row as usize].number
    }

    /// An account's outgoing transfers, in chain order.
    pub fn outgoing(&self, a: AccountId) -> impl ExactSizeIterator<Item = TransferId> + '_ {
        let i = a.0 as usize;
        self.out_ids[self.out_start[i] as usize..self.out_start[i + 1] as usize]
            .iter()
            .map(|&t| TransferId(t))
    }

    /// An account's incoming transfers, in chain order.
    pub fn incoming(&self, a: AccountId) -> impl ExactSizeIterator<Item = TransferId> + '_ {
        let i = a.0 as usize;
        self.in_ids[self.in_start[i] as usize..self.in_start[i + 1] as usize]
            .iter()
            .map(|&t| TransferId(t))
    }

    /// Whether an account created a contract in a stored transaction's
    /// `created` field, or is a token contract: it has code.
    pub fn is_contract(&self, a: AccountId) -> bool {
        self.txs.iter().any(|t| t.created == a.0)
            || self
                .assets
                .iter()
                .skip(1)
                .any(|s| s.contract == self.accounts[a.0 as usize])
    }

    /// Asset by id.
    pub fn asset(&self, id: AssetId) -> &AssetRow {
        &self.assets[id.0 as usize]
    }

    /// The asset id of a token contract (or the native coin for `Address::ZERO`).
    pub fn asset_of(&self, contract: &Address) -> Option<AssetId> {
        self.assets
            .iter()
            .position(|a| a.contract == *contract)
            .map(|i| AssetId(i as u32))
    }
}
