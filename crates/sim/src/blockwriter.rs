//! Block assembly (coinbase, merkle root, witness commitment, proof of work)
//! and the blk-file writer (128 MiB files, optional XOR obfuscation,
//! out-of-order writes within a window).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use bitcoin::hashes::{sha256d, Hash};

use crate::error::SimError;
use crate::rng::{Keys, Rng};
use crate::script::{write_spk, write_varint};
use crate::tx::{AddrRef, Written};

/// Regtest network magic, the start of every blk record.
pub(crate) const MAGIC: [u8; 4] = [0xfa, 0xbf, 0xb5, 0xda];
/// Regtest difficulty bits.
pub(crate) const BITS: u32 = 0x207f_ffff;
/// Header version with BIP9 top bits, like Core's.
const VERSION: i32 = 0x2000_0000;

/// The non-coinbase transactions of the block being built.
#[derive(Default)]
pub(crate) struct BlockBody {
    pub buf: Vec<u8>,
    /// End offset in `buf` of each transaction.
    pub ends: Vec<u32>,
    pub txids: Vec<[u8; 32]>,
    pub wtxids: Vec<[u8; 32]>,
    /// Whether each transaction has witness data.
    pub segwit: Vec<bool>,
    pub fees: u64,
    pub weight: u64,
    pub inputs: u64,
    pub outputs: u64,
}

impl BlockBody {
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
        self.txids.clear();
        self.wtxids.clear();
        self.segwit.clear();
        self.fees = 0;
        self.weight = 0;
        self.inputs = 0;
        self.outputs = 0;
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Bytes of the first `k` transactions.
    pub(crate) fn prefix_len(&self, k: usize) -> usize {
        if k == 0 {
            0
        } else {
            self.ends[k - 1] as usize
        }
    }

    pub(crate) fn record(&mut self, w: &Written, fee: u64, n_in: usize, n_out: usize) {
        self.ends.push(self.buf.len() as u32);
        self.txids.push(w.txid);
        self.wtxids.push(w.wtxid);
        self.segwit.push(w.segwit);
        self.fees += fee;
        self.weight += w.weight;
        self.inputs += n_in as u64;
        self.outputs += n_out as u64;
    }
}

/// What makes a block besides its transactions: parent, time and coinbase.
pub(crate) struct BlockSpec<'a> {
    pub prev: [u8; 32],
    pub time: u32,
    pub height: u32,
    /// Pool tag in the coinbase scriptSig.
    pub tag: &'a [u8],
    pub extranonce: u32,
    pub payee: AddrRef,
    pub value: u64,
}

/// What assembling a block produced.
pub(crate) struct Assembled {
    pub hash: [u8; 32],
    pub coinbase_txid: [u8; 32],
}

/// `CScript() << height`, as Core's BIP34 check expects it.
fn push_height(buf: &mut Vec<u8>, height: u32) {
    match height {
        0 => buf.push(0x00),
        1..=16 => buf.push(0x50 + height as u8),
        _ => {
            let mut bytes = Vec::with_capacity(5);
            let mut h = height;
            while h > 0 {
                bytes.push((h & 0xff) as u8);
                h >>= 8;
            }
            if bytes.last().is_some_and(|b| b & 0x80 != 0) {
                bytes.push(0);
            }
            buf.push(bytes.len() as u8);
            buf.extend_from_slice(&bytes);
        }
    }
}

/// Merkle root of `leaves` (Bitcoin's: odd levels duplicate their last node).
pub(crate) fn merkle_root(leaves: &[[u8; 32]], scratch: &mut Vec<[u8; 32]>) -> [u8; 32] {
    scratch.clear();
    scratch.extend_from_slice(leaves);
    let mut pair = [0u8; 64];
    while scratch.len() > 1 {
        let n = scratch.len();
        for i in 0..n.div_ceil(2) {
            let a = scratch[2 * i];
            let b = if 2 * i + 1 < n { scratch[2 * i + 1] } else { a };
            pair[..32].copy_from_slice(&a);
            pair[32..].copy_from_slice(&b);
            scratch[i] = sha256d::Hash::hash(&pair).to_byte_array();
        }
        scratch.truncate(n.div_ceil(2));
    }
    scratch[0]
}

/// Serializes the head of a block — header, transaction count, coinbase —
/// into `out` (cleared first), grinding the nonce for regtest work. The
/// block is that head followed by the first `k` body transactions,
/// `body.buf[..body.prefix_len(k)]`.
pub(crate) fn assemble(
    body: &BlockBody,
    k: usize,
    cb: &BlockSpec<'_>,
    keys: &Keys,
    scratch: &mut Vec<[u8; 32]>,
    out: &mut Vec<u8>,
) -> Assembled {
    let segwit = body.segwit[..k].iter().any(|s| *s);
    // Coinbase.
    let mut cbuf = Vec::with_capacity(256);
    cbuf.extend_from_slice(&1i32.to_le_bytes());
    if segwit {
        cbuf.extend_from_slice(&[0x00, 0x01]);
    }
    let body_start = cbuf.len();
    cbuf.extend_from_slice(&[1]);
    cbuf.extend_from_slice(&[0u8; 32]);
    cbuf.extend_from_slice(&u32::MAX.to_le_bytes());
    let mut sig = Vec::with_capacity(64);
    push_height(&mut sig, cb.height);
    sig.push(4);
    sig.extend_from_slice(&cb.extranonce.to_le_bytes());
    let tag = &cb.tag[..cb.tag.len().min(60)];
    sig.push(tag.len() as u8);
    sig.extend_from_slice(tag);
    write_varint(&mut cbuf, sig.len() as u64);
    cbuf.extend_from_slice(&sig);
    cbuf.extend_from_slice(&u32::MAX.to_le_bytes());
    cbuf.push(if segwit { 2 } else { 1 });
    cbuf.extend_from_slice(&cb.value.to_le_bytes());
    write_spk(&mut cbuf, keys, cb.payee.kind, cb.payee.id, &cb.payee.prog);
    if segwit {
        // BIP141 commitment: wtxid root (coinbase wtxid = 0) with a zero
        // reserved value.
        scratch.clear();
        let mut leaves = Vec::with_capacity(k + 1);
        leaves.push([0u8; 32]);
        leaves.extend_from_slice(&body.wtxids[..k]);
        let root = merkle_root(&leaves, scratch);
        let mut c = [0u8; 64];
        c[..32].copy_from_slice(&root);
        let commitment = sha256d::Hash::hash(&c).to_byte_array();
        cbuf.extend_from_slice(&0u64.to_le_bytes());
        cbuf.extend_from_slice(&[38, 0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed]);
        cbuf.extend_from_slice(&commitment);
    }
    let body_end = cbuf.len();
    if segwit {
        cbuf.extend_from_slice(&[1, 32]);
        cbuf.extend_from_slice(&[0u8; 32]);
    }
    let wit_end = cbuf.len();
    cbuf.extend_from_slice(&0u32.to_le_bytes());
    let coinbase_txid = {
        let mut nw = Vec::with_capacity(cbuf.len());
        nw.extend_from_slice(&cbuf[..4]);
        nw.extend_from_slice(&cbuf[body_start..body_end]);
        nw.extend_from_slice(&cbuf[wit_end..]);
        sha256d::Hash::hash(&nw).to_byte_array()
    };

    // Header.
    let mut leaves = Vec::with_capacity(k + 1);
    leaves.push(coinbase_txid);
    leaves.extend_from_slice(&body.txids[..k]);
    let merkle = merkle_root(&leaves, scratch);
    let mut header = [0u8; 80];
    header[..4].copy_from_slice(&VERSION.to_le_bytes());
    header[4..36].copy_from_slice(&cb.prev);
    header[36..68].copy_from_slice(&merkle);
    header[68..72].copy_from_slice(&cb.time.to_le_bytes());
    header[72..76].copy_from_slice(&BITS.to_le_bytes());
    let mut nonce = 0u32;
    let hash = loop {
        header[76..80].copy_from_slice(&nonce.to_le_bytes());
        let h = sha256d::Hash::hash(&header).to_byte_array();
        // Target of 0x207fffff is 0x7fffff << 232: a hash whose top byte is
        // below 0x7f is always under it.
        if h[31] < 0x7f {
            break h;
        }
        nonce += 1;
    };

    out.clear();
    out.extend_from_slice(&header);
    write_varint(out, k as u64 + 1);
    out.extend_from_slice(&cbuf);
    Assembled {
        hash,
        coinbase_txid,
    }
}

/// A block ready for disk: its head (header, count, coinbase) and the
/// serialized transactions after it.
#[derive(Default)]
pub(crate) struct BlockBytes {
    pub head: Vec<u8>,
    pub body: Vec<u8>,
}

impl BlockBytes {
    fn len(&self) -> usize {
        self.head.len() + self.body.len()
    }
}

/// Writes blk records into numbered files, rotating at the size limit and
/// obfuscating with the XOR key, shuffling within a window of blocks.
pub(crate) struct BlkSink {
    dir: PathBuf,
    file: Option<File>,
    file_no: u32,
    pos: u64,
    max: u64,
    xor: Option<[u8; 8]>,
    window: Vec<BlockBytes>,
    window_size: usize,
    spare: Vec<BlockBytes>,
    scratch: Vec<u8>,
    /// Bytes written to blk files.
    pub bytes: u64,
    /// Blocks written.
    pub records: u64,
}

impl BlkSink {
    pub(crate) fn new(
        dir: &Path,
        max: u64,
        xor: Option<[u8; 8]>,
        window: u32,
    ) -> Result<BlkSink, SimError> {
        std::fs::create_dir_all(dir).map_err(|e| SimError::io(dir, e))?;
        // Files of an earlier run would be read as part of this chain.
        for entry in std::fs::read_dir(dir).map_err(|e| SimError::io(dir, e))? {
            let path = entry.map_err(|e| SimError::io(dir, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let blk = name.len() == 12
                && name.starts_with("blk")
                && name.ends_with(".dat")
                && name[3..8].bytes().all(|b| b.is_ascii_digit());
            if blk || name == "xor.dat" {
                std::fs::remove_file(&path).map_err(|e| SimError::io(&path, e))?;
            }
        }
        if let Some(key) = xor {
            let p = dir.join("xor.dat");
            std::fs::write(&p, key).map_err(|e| SimError::io(&p, e))?;
        }
        Ok(BlkSink {
            dir: dir.to_path_buf(),
            file: None,
            file_no: 0,
            pos: 0,
            max,
            xor,
            window: Vec::new(),
            window_size: window.max(1) as usize,
            spare: Vec::new(),
            scratch: Vec::new(),
            bytes: 0,
            records: 0,
        })
    }

    /// A recycled, empty block buffer.
    pub(crate) fn buffer(&mut self) -> BlockBytes {
        let mut b = self.spare.pop().unwrap_or_default();
        b.head.clear();
        b.body.clear();
        b
    }

    fn path(&self, n: u32) -> PathBuf {
        self.dir.join(format!("blk{n:05}.dat"))
    }

    /// Writes one record now, in order.
    pub(crate) fn write_now(&mut self, head: &[u8], body: &[u8]) -> Result<(), SimError> {
        let len = head.len() + body.len();
        let rec_len = 8 + len as u64;
        if self.file.is_some() && self.pos > 0 && self.pos + rec_len > self.max {
            self.file = None;
            self.file_no += 1;
        }
        let p = self.path(self.file_no);
        if self.file.is_none() {
            self.file = Some(File::create(&p).map_err(|e| SimError::io(&p, e))?);
            self.pos = 0;
        }
        let mut rec = [0u8; 8];
        rec[..4].copy_from_slice(&MAGIC);
        rec[4..].copy_from_slice(&(len as u32).to_le_bytes());
        let f = self.file.as_mut().expect("opened above");
        let mut off = self.pos as usize;
        for part in [&rec[..], head, body] {
            let bytes = match self.xor {
                None => part,
                Some(key) => {
                    self.scratch.clear();
                    self.scratch
                        .extend(part.iter().enumerate().map(|(i, b)| b ^ key[(off + i) % 8]));
                    &self.scratch[..]
                }
            };
            f.write_all(bytes).map_err(|e| SimError::io(&p, e))?;
            off += part.len();
        }
        self.pos += rec_len;
        self.bytes += rec_len;
        self.records += 1;
        Ok(())
    }

    /// Queues a block; a full window is written in shuffled order.
    pub(crate) fn push(&mut self, block: BlockBytes, rng: &mut Rng) -> Result<(), SimError> {
        self.window.push(block);
        if self.window.len() >= self.window_size {
            self.flush_window(rng)?;
        }
        Ok(())
    }

    fn flush_window(&mut self, rng: &mut Rng) -> Result<(), SimError> {
        let mut w = std::mem::take(&mut self.window);
        rng.shuffle(&mut w);
        for b in w.drain(..) {
            debug_assert!(b.len() < u32::MAX as usize);
            self.write_now(&b.head, &b.body)?;
            self.spare.push(b);
        }
        self.window = w;
        Ok(())
    }

    /// Writes what is queued, closes the last file and returns the number of
    /// blk files.
    pub(crate) fn finish(&mut self, rng: &mut Rng) -> Result<u32, SimError> {
        self.flush_window(rng)?;
        self.file = None;
        Ok(if self.records == 0 {
            0
        } else {
            self.file_no + 1
        })
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn height_pushes_follow_core() {
        let enc = |h| {
            let mut b = Vec::new();
            push_height(&mut b, h);
            b
        };
        assert_eq!(enc(1), vec![0x51]);
        assert_eq!(enc(16), vec![0x60]);
        assert_eq!(enc(17), vec![1, 17]);
        assert_eq!(enc(128), vec![2, 0x80, 0]);
        assert_eq!(enc(255), vec![2, 0xff, 0]);
        assert_eq!(enc(256), vec![2, 0, 1]);
        assert_eq!(enc(70_000), vec![3, 0x70, 0x11, 0x01]);
    }

    #[test]
    fn merkle_of_one_is_the_leaf() {
        let mut s = Vec::new();
        assert_eq!(merkle_root(&[[7; 32]], &mut s), [7; 32]);
        let two = merkle_root(&[[1; 32], [2; 32]], &mut s);
        let three = merkle_root(&[[1; 32], [2; 32], [3; 32]], &mut s);
        assert_ne!(two, three);
    }
}
