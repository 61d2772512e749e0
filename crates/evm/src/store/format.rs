//! Row and manifest encodings.

use std::path::Path;

use crate::error::{EvmError, Result};
use crate::types::{Address, TokenMeta, TransferKind, TxStatus, B256, U256};

pub(crate) const MANIFEST: &str = "MANIFEST";
pub(crate) const MAGIC: &[u8; 4] = b"CHEV";
/// Version of the on-disk format; bumped on any incompatible change.
pub(crate) const VERSION: u32 = 1;

pub(crate) const BLOCKS: &str = "blocks.dat";
pub(crate) const TXS: &str = "txs.dat";
pub(crate) const TRANSFERS: &str = "transfers.dat";
pub(crate) const ACCOUNTS: &str = "accounts.dat";
pub(crate) const ASSETS: &str = "assets.dat";

/// (file, row size) in manifest order.
pub(crate) const FILES: [(&str, usize); 5] = [
    (BLOCKS, BlockRow::SIZE),
    (TXS, TxRow::SIZE),
    (TRANSFERS, TransferRow::SIZE),
    (ACCOUNTS, 20),
    (ASSETS, AssetRow::SIZE),
];

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let v: [u8; N] = self.b[self.at..self.at + N]
            .try_into()
            .expect("callers pass whole rows");
        self.at += N;
        v
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn u128(&mut self) -> u128 {
        u128::from_le_bytes(self.take())
    }
    fn b256(&mut self) -> B256 {
        B256::from(self.take::<32>())
    }
    fn u256(&mut self) -> U256 {
        U256::from_le_bytes(self.take::<32>())
    }
}

/// A stored block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRow {
    /// Block number.
    pub number: u64,
    /// Hash (zero if the source gave none).
    pub hash: B256,
    /// Parent hash (zero if unknown).
    pub parent: B256,
    /// Unix seconds.
    pub timestamp: u64,
    /// Transactions stored up to and including this block.
    pub tx_end: u64,
    /// Transfers stored up to and including this block.
    pub transfer_end: u64,
    /// Accounts known after this block.
    pub account_end: u32,
    /// Assets known after this block.
    pub asset_end: u32,
}

impl BlockRow {
    pub(crate) const SIZE: usize = 104;

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.number.to_le_bytes());
        out.extend_from_slice(self.hash.as_slice());
        out.extend_from_slice(self.parent.as_slice());
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        out.extend_from_slice(&self.tx_end.to_le_bytes());
        out.extend_from_slice(&self.transfer_end.to_le_bytes());
        out.extend_from_slice(&self.account_end.to_le_bytes());
        out.extend_from_slice(&self.asset_end.to_le_bytes());
    }

    pub(crate) fn decode(b: &[u8]) -> BlockRow {
        let mut c = Cursor { b, at: 0 };
        BlockRow {
            number: c.u64(),
            hash: c.b256(),
            parent: c.b256(),
            timestamp: c.u64(),
            tx_end: c.u64(),
            transfer_end: c.u64(),
            account_end: c.u32(),
            asset_end: c.u32(),
        }
    }
}

/// A stored transaction. Account fields are dense ids ([`super::NONE32`] when absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxRow {
    /// Hash.
    pub hash: B256,
    /// Row of its block.
    pub block: u32,
    /// Position in the block.
    pub index: u32,
    /// Sender.
    pub from: u32,
    /// Recipient, [`super::NONE32`] for a creation.
    pub to: u32,
    /// Created contract, [`super::NONE32`] if none or unknown.
    pub created: u32,
    /// Outcome.
    pub status: TxStatus,
    /// Gas used (or limit, when no receipt was available).
    pub gas: u64,
    /// Fee in wei (0 when unknown).
    pub fee: u128,
    /// Native value sent (wei). A failed transaction's value did not move.
    pub value: U256,
}

impl TxRow {
    pub(crate) const SIZE: usize = 112;

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.hash.as_slice());
        for v in [self.block, self.index, self.from, self.to, self.created] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&[self.status.code(), 0, 0, 0]);
        out.extend_from_slice(&self.gas.to_le_bytes());
        out.extend_from_slice(&self.fee.to_le_bytes());
        out.extend_from_slice(&self.value.to_le_bytes::<32>());
    }

    pub(crate) fn decode(b: &[u8]) -> Option<TxRow> {
        let mut c = Cursor { b, at: 0 };
        let hash = c.b256();
        let (block, index, from, to, created) = (c.u32(), c.u32(), c.u32(), c.u32(), c.u32());
        let status = TxStatus::from_code(c.take::<4>()[0])?;
        Some(TxRow {
            hash,
            block,
            index,
            from,
            to,
            created,
            status,
            gas: c.u64(),
            fee: c.u128(),
            value: c.u256(),
        })
    }
}

/// A stored transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferRow {
    /// Row of its transaction, [`super::NONE64`] if the source named none.
    pub tx: u64,
    /// Row of its block.
    pub block: u32,
    /// Asset id (0 = native).
    pub asset: u32,
    /// Sender account.
    pub from: u32,
    /// Recipient account.
    pub to: u32,
    /// How it moved.
    pub kind: TransferKind,
    /// Amount in base units.
    pub amount: U256,
}

impl TransferRow {
    pub(crate) const SIZE: usize = 64;

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.tx.to_le_bytes());
        for v in [self.block, self.asset, self.from, self.to] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&[self.kind.code(), 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&self.amount.to_le_bytes::<32>());
    }

    pub(crate) fn decode(b: &[u8]) -> Option<TransferRow> {
        let mut c = Cursor { b, at: 0 };
        let tx = c.u64();
        let (block, asset, from, to) = (c.u32(), c.u32(), c.u32(), c.u32());
        let kind = TransferKind::from_code(c.take::<8>()[0])?;
        Some(TransferRow {
            tx,
            block,
            asset,
            from,
            to,
            kind,
            amount: c.u256(),
        })
    }
}

/// A stored asset: the native coin (row 0, zero contract) or a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetRow {
    /// Token contract; zero for the native coin.
    pub contract: Address,
    /// Symbol and decimals.
    pub meta: TokenMeta,
}

impl AssetRow {
    pub(crate) const SIZE: usize = 56;

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.contract.as_slice());
        out.push(self.meta.decimals.map_or(0, |_| 1));
        out.push(self.meta.decimals.unwrap_or(0));
        let sym = self.meta.symbol.as_deref().map(|s| truncate(s, 32));
        match sym {
            Some(s) => {
                out.push(1);
                out.push(s.len() as u8);
                let mut pad = [0u8; 32];
                pad[..s.len()].copy_from_slice(s.as_bytes());
                out.extend_from_slice(&pad);
            }
            None => {
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&[0u8; 32]);
            }
        }
    }

    pub(crate) fn decode(b: &[u8]) -> Option<AssetRow> {
        let contract = Address::from_slice(&b[..20]);
        let decimals = (b[20] == 1).then_some(b[21]);
        let symbol = if b[22] == 1 {
            let n = b[23] as usize;
            Some(std::str::from_utf8(b.get(24..24 + n)?).ok()?.to_string())
        } else {
            None
        };
        Some(AssetRow {
            contract,
            meta: TokenMeta { symbol, decimals },
        })
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The manifest: what is committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub generation: u64,
    pub chain: String,
    /// Rows per file, in [`FILES`] order.
    pub counts: [u64; 5],
}

impl Manifest {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(96);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.extend_from_slice(&self.generation.to_le_bytes());
        b.extend_from_slice(&(self.chain.len() as u16).to_le_bytes());
        b.extend_from_slice(self.chain.as_bytes());
        for c in self.counts {
            b.extend_from_slice(&c.to_le_bytes());
        }
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    pub(crate) fn decode(b: &[u8], path: &Path) -> Result<Manifest> {
        let bad = |what: &str| EvmError::corrupt(path, what);
        if b.len() < 4 + 4 + 8 + 2 + 40 + 4 || &b[..4] != MAGIC {
            return Err(bad("not an evm store manifest"));
        }
        let (body, crc) = b.split_at(b.len() - 4);
        if crc32fast::hash(body).to_le_bytes() != crc {
            return Err(bad("manifest checksum mismatch"));
        }
        let mut c = Cursor { b: body, at: 4 };
        let version = c.u32();
        if version != VERSION {
            return Err(bad(&format!(
                "format version {version}, this build reads {VERSION}"
            )));
        }
        let generation = c.u64();
        let n = u16::from_le_bytes(c.take()) as usize;
        if body.len() != 18 + n + 40 {
            return Err(bad("manifest length"));
        }
        let chain = std::str::from_utf8(&body[c.at..c.at + n])
            .map_err(|_| bad("chain name is not utf-8"))?
            .to_string();
        c.at += n;
        let mut counts = [0u64; 5];
        for v in &mut counts {
            *v = c.u64();
        }
        Ok(Manifest {
            generation,
            chain,
            counts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_at_their_size() {
        let b = BlockRow {
            number: 7,
            hash: B256::repeat_byte(1),
            parent: B256::repeat_byte(2),
            timestamp: 9,
            tx_end: 3,
            transfer_end: 4,
            account_end: 5,
            asset_end: 1,
        };
        let mut v = Vec::new();
        b.encode(&mut v);
        assert_eq!(v.len(), BlockRow::SIZE);
        assert_eq!(BlockRow::decode(&v), b);

        let t = TxRow {
            hash: B256::repeat_byte(3),
            block: 1,
            index: 2,
            from: 3,
            to: u32::MAX,
            created: 4,
            status: TxStatus::Failed,
            gas: 21000,
            fee: 1 << 100,
            value: U256::MAX,
        };
        v.clear();
        t.encode(&mut v);
        assert_eq!(v.len(), TxRow::SIZE);
        assert_eq!(TxRow::decode(&v), Some(t));

        let r = TransferRow {
            tx: u64::MAX,
            block: 1,
            asset: 2,
            from: 3,
            to: 4,
            kind: TransferKind::Erc20,
            amount: U256::from(10u64).pow(U256::from(30u64)),
        };
        v.clear();
        r.encode(&mut v);
        assert_eq!(v.len(), TransferRow::SIZE);
        assert_eq!(TransferRow::decode(&v), Some(r));

        for meta in [
            TokenMeta::default(),
            TokenMeta {
                symbol: Some("USDT".into()),
                decimals: Some(6),
            },
        ] {
            let a = AssetRow {
                contract: Address::repeat_byte(9),
                meta,
            };
            v.clear();
            a.encode(&mut v);
            assert_eq!(v.len(), AssetRow::SIZE);
            assert_eq!(AssetRow::decode(&v), Some(a));
        }
    }

    #[test]
    fn manifest_round_trip_and_damage() {
        let m = Manifest {
            generation: 3,
            chain: "eth".into(),
            counts: [1, 2, 3, 4, 5],
        };
        let b = m.encode();
        assert_eq!(Manifest::decode(&b, Path::new("M")).unwrap(), m);
        let mut bad = b.clone();
        bad[10] ^= 1;
        assert!(Manifest::decode(&bad, Path::new("M")).is_err());
        assert!(Manifest::decode(&b[..b.len() - 1], Path::new("M")).is_err());
    }

    #[test]
    fn symbol_is_cut_on_a_char_boundary() {
        assert_eq!(truncate("ab€", 3), "ab");
        assert_eq!(truncate("abc", 32), "abc");
    }
}
