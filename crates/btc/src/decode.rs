//! The block decoder: the hot path of ingest.
//!
//! It walks the consensus serialization in place (no per-transaction
//! allocation), hashing the txid straight from the input slices, and
//! classifies each output script as a borrowed [`bitcoin::Script`]. It does
//! not trust itself: the txids must rebuild the header's merkle root, the
//! wtxids the coinbase's witness commitment, and the header must meet its
//! own proof-of-work target, so a decoding bug or a flipped byte anywhere in
//! the block is an error, never a silently wrong block. The integration
//! tests check it against rust-bitcoin's `Block` decoder on real blocks.

use std::cell::RefCell;

use bitcoin::hashes::{sha256d, Hash as _, HashEngine as _};
use chainhound_types::{Block, Hash32, Input, Output, Sats, Tx};

use crate::addr::classify;
use crate::error::{BtcError, DecodeError, DecodeErrorKind};
use crate::header::{check_pow, header_bits, header_hash};

/// Bitcoin Core's `MAX_SIZE`: the largest compact size it deserializes.
const MAX_SIZE: u64 = 0x0200_0000;

/// Why a block was rejected; the caller adds file, offset and hash.
pub(crate) enum BlockFault {
    Decode(DecodeError),
    ProofOfWork,
    MerkleMismatch,
    MerkleMutated,
    WitnessCommitment,
}

impl From<DecodeError> for BlockFault {
    fn from(e: DecodeError) -> BlockFault {
        BlockFault::Decode(e)
    }
}

/// Reusable buffers of one thread.
#[derive(Default)]
pub(crate) struct Scratch {
    /// De-obfuscated block bytes.
    pub(crate) buf: Vec<u8>,
    txids: Vec<[u8; 32]>,
    wtxids: Vec<[u8; 32]>,
}

thread_local! {
    pub(crate) static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A cursor over consensus-encoded bytes.
struct Cur<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Cur<'a> {
    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.b.len() - self.p < n {
            return Err(DecodeError::new(self.p, DecodeErrorKind::UnexpectedEnd));
        }
        let s = &self.b[self.p..self.p + n];
        self.p += n;
        Ok(s)
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }

    #[inline]
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    #[inline]
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A compact size, canonical and at most `MAX_SIZE`, as Core requires.
    #[inline]
    fn size(&mut self) -> Result<usize, DecodeError> {
        let at = self.p;
        let v = match self.u8()? {
            n @ 0..=0xfc => return Ok(usize::from(n)),
            0xfd => u64::from(u16::from_le_bytes(self.array()?)),
            0xfe => u64::from(u32::from_le_bytes(self.array()?)),
            0xff => u64::from_le_bytes(self.array()?),
        };
        let min = match self.b[at] {
            0xfd => 0xfd,
            0xfe => 0x1_0000,
            _ => 0x1_0000_0000,
        };
        if v < min {
            return Err(DecodeError::new(at, DecodeErrorKind::NonCanonicalVarint));
        }
        if v > MAX_SIZE {
            return Err(DecodeError::new(at, DecodeErrorKind::OversizedVarint(v)));
        }
        Ok(v as usize)
    }

    /// Skips a length-prefixed byte string and returns it.
    #[inline]
    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.size()?;
        self.take(n)
    }
}

/// What decoding one transaction learns besides the normalized fields.
struct TxExtra<'a> {
    /// Whether the transaction has witness data.
    segwit: bool,
    /// wtxid, for transactions with witness data when asked for.
    wtxid: Option<[u8; 32]>,
    /// The first input's witness stack, if it is exactly one 32-byte item
    /// (the coinbase's witness reserved value).
    reserved: Option<&'a [u8]>,
}

/// Decodes one transaction at the cursor, appending its inputs and outputs.
fn decode_tx<'a>(
    c: &mut Cur<'a>,
    inputs: &mut Vec<Input>,
    outputs: &mut Vec<Output>,
    want_wtxid: bool,
) -> Result<(Tx, TxExtra<'a>), DecodeError> {
    let start = c.p;
    let version = c.array::<4>()?;
    let mut n_in = c.size()?;
    let mut segwit = false;
    if n_in == 0 {
        let at = c.p;
        match c.u8()? {
            1 => segwit = true,
            flag => {
                return Err(DecodeError::new(
                    at,
                    DecodeErrorKind::UnsupportedSegwitFlag(flag),
                ))
            }
        }
        n_in = c.size()?;
    }
    let body_start = c.p - varint_len(n_in);
    let in_base = inputs.len();
    for _ in 0..n_in {
        let txid: [u8; 32] = c.array()?;
        let vout = c.u32()?;
        c.bytes()?;
        c.take(4)?;
        inputs.push(if vout == u32::MAX && txid == [0; 32] {
            Input::Coinbase
        } else {
            Input::Spend {
                txid: Hash32(txid),
                vout,
            }
        });
    }
    let n_out = c.size()?;
    for _ in 0..n_out {
        let value = u64::from_le_bytes(c.array()?);
        let script = c.bytes()?;
        outputs.push(Output {
            value: Sats(value),
            addr: classify(bitcoin::Script::from_bytes(script)),
        });
    }
    let body_end = c.p;
    let mut reserved = None;
    let mut any_witness = false;
    if segwit {
        for i in 0..n_in {
            let items = c.size()?;
            any_witness |= items > 0;
            for _ in 0..items {
                let item = c.bytes()?;
                if i == 0 && items == 1 && item.len() == 32 {
                    reserved = Some(item);
                }
            }
        }
        if !any_witness {
            return Err(DecodeError::new(
                start + 5,
                DecodeErrorKind::SuperfluousWitness,
            ));
        }
    }
    let lock_time = c.array::<4>()?;
    let end = c.p;
    let size = end - start;

    let txid = if segwit {
        let mut e = sha256d::Hash::engine();
        e.input(&version);
        e.input(&c.b[body_start..body_end]);
        e.input(&lock_time);
        sha256d::Hash::from_engine(e).to_byte_array()
    } else {
        sha256d::Hash::hash(&c.b[start..end]).to_byte_array()
    };
    let wtxid =
        (segwit && want_wtxid).then(|| sha256d::Hash::hash(&c.b[start..end]).to_byte_array());
    let base_size = if segwit {
        4 + (body_end - body_start) + 4
    } else {
        size
    };
    let tx = Tx {
        txid: Hash32(txid),
        version: i32::from_le_bytes(version),
        lock_time: u32::from_le_bytes(lock_time),
        size: size as u32,
        weight: (base_size * 3 + size) as u32,
        n_inputs: (inputs.len() - in_base) as u32,
        n_outputs: n_out as u32,
    };
    Ok((
        tx,
        TxExtra {
            segwit,
            wtxid,
            reserved,
        },
    ))
}

fn varint_len(n: usize) -> usize {
    match n {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        _ => 5,
    }
}

/// The witness commitment of a coinbase: the last output script that starts
/// with `OP_RETURN 36 aa21a9ed` (BIP141).
fn find_commitment(block: &[u8], coinbase_start: usize) -> Option<[u8; 32]> {
    // Re-walk the coinbase's outputs; its layout was validated by decode_tx.
    let mut c = Cur {
        b: block,
        p: coinbase_start + 4,
    };
    let mut n_in = c.size().ok()?;
    if n_in == 0 {
        c.u8().ok()?;
        n_in = c.size().ok()?;
    }
    for _ in 0..n_in {
        c.take(36).ok()?;
        c.bytes().ok()?;
        c.take(4).ok()?;
    }
    let mut found = None;
    for _ in 0..c.size().ok()? {
        c.take(8).ok()?;
        let s = c.bytes().ok()?;
        if s.len() >= 38 && s[..6] == [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed] {
            found = Some(s[6..38].try_into().expect("32 bytes"));
        }
    }
    found
}

/// Merkle root of `hashes` (consumed as scratch space), and whether the tree
/// is mutated (two identical siblings: CVE-2012-2459), as Core computes it.
fn merkle_root(hashes: &mut Vec<[u8; 32]>) -> ([u8; 32], bool) {
    let mut mutated = false;
    while hashes.len() > 1 {
        for pair in hashes.chunks_exact(2) {
            mutated |= pair[0] == pair[1];
        }
        if hashes.len() % 2 == 1 {
            hashes.push(*hashes.last().expect("non-empty"));
        }
        let half = hashes.len() / 2;
        for i in 0..half {
            let mut cat = [0u8; 64];
            cat[..32].copy_from_slice(&hashes[2 * i]);
            cat[32..].copy_from_slice(&hashes[2 * i + 1]);
            hashes[i] = sha256d::Hash::hash(&cat).to_byte_array();
        }
        hashes.truncate(half);
    }
    (hashes.first().copied().unwrap_or_default(), mutated)
}

/// What [`BlockFile::read_block_with`](crate::BlockFile::read_block_with)
/// verifies beyond what decoding itself needs. The merkle root and the proof
/// of work are always checked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// Check the BIP141 witness commitment, so that corrupt witness data is
    /// an error too (the merkle root does not cover witnesses). Witness bytes
    /// feed no field of the normalized block except through their lengths,
    /// which the merkle check already pins; skipping this roughly halves the
    /// hashing of SegWit-era blocks. Default: on.
    pub witness_commitment: bool,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            witness_commitment: true,
        }
    }
}

/// Decodes and verifies a whole serialized block into `out`.
pub(crate) fn decode_block(
    bytes: &[u8],
    out: &mut Block,
    scratch: &mut Scratch,
    opts: &ReadOptions,
) -> Result<(), BlockFault> {
    out.clear();
    out.hash = Hash32::default();
    out.header = [0; 80];
    out.size = bytes.len() as u32;
    let mut c = Cur { b: bytes, p: 0 };
    let header: [u8; 80] = c.array()?;
    out.header = header;
    out.hash = header_hash(&header);
    if !check_pow(&header, &out.hash) {
        return Err(BlockFault::ProofOfWork);
    }
    let n_tx = c.size()?;
    if n_tx == 0 {
        return Err(DecodeError::new(80, DecodeErrorKind::NoTransactions).into());
    }
    // A transaction is at least 10 bytes: bound the reservation by the data.
    let cap = n_tx.min(bytes.len() / 10);
    out.txs.reserve(cap);
    scratch.txids.clear();
    scratch.wtxids.clear();
    let mut has_witness = false;
    let mut reserved = None;
    for i in 0..n_tx {
        let (tx, extra) = decode_tx(
            &mut c,
            &mut out.inputs,
            &mut out.outputs,
            opts.witness_commitment,
        )?;
        if i == 0 {
            reserved = extra.reserved;
        }
        has_witness |= extra.segwit;
        scratch.txids.push(tx.txid.0);
        if opts.witness_commitment {
            scratch.wtxids.push(if i == 0 {
                [0; 32]
            } else {
                extra.wtxid.unwrap_or(tx.txid.0)
            });
        }
        out.txs.push(tx);
    }
    if c.p != bytes.len() {
        let extra = bytes.len() - c.p;
        return Err(DecodeError::new(c.p, DecodeErrorKind::TrailingBytes(extra)).into());
    }
    let (root, mutated) = merkle_root(&mut scratch.txids);
    if root != header[36..68] {
        return Err(BlockFault::MerkleMismatch);
    }
    if mutated {
        return Err(BlockFault::MerkleMutated);
    }
    if has_witness && opts.witness_commitment {
        let commitment = find_commitment(bytes, 80 + varint_len(n_tx));
        let (Some(commitment), Some(reserved)) = (commitment, reserved) else {
            return Err(BlockFault::WitnessCommitment);
        };
        let (wroot, _) = merkle_root(&mut scratch.wtxids);
        let mut cat = [0u8; 64];
        cat[..32].copy_from_slice(&wroot);
        cat[32..].copy_from_slice(reserved);
        if sha256d::Hash::hash(&cat).to_byte_array() != commitment {
            return Err(BlockFault::WitnessCommitment);
        }
    }
    Ok(())
}

/// The error for `f`, naming the block's file, offset and hash.
pub(crate) fn fault_to_error(
    f: BlockFault,
    path: &std::path::Path,
    offset: u64,
    out: &Block,
) -> BtcError {
    let path = path.to_path_buf();
    let hash = out.hash;
    match f {
        BlockFault::Decode(source) => BtcError::Decode {
            path,
            offset,
            hash,
            source,
        },
        BlockFault::ProofOfWork => BtcError::ProofOfWork {
            path,
            offset,
            hash,
            bits: header_bits(&out.header),
        },
        BlockFault::MerkleMismatch => BtcError::MerkleMismatch { path, offset, hash },
        BlockFault::MerkleMutated => BtcError::MerkleMutated { path, offset, hash },
        BlockFault::WitnessCommitment => BtcError::WitnessCommitment { path, offset, hash },
    }
}

/// One transaction decoded on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedTx {
    /// The transaction's fields.
    pub tx: Tx,
    /// Its inputs.
    pub inputs: Vec<Input>,
    /// Its outputs.
    pub outputs: Vec<Output>,
}

/// Decodes one serialized transaction (legacy or BIP144), which must use all
/// of `bytes`.
pub fn decode_raw_tx(bytes: &[u8]) -> Result<DecodedTx, BtcError> {
    let mut c = Cur { b: bytes, p: 0 };
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    let (tx, _) = decode_tx(&mut c, &mut inputs, &mut outputs, false)
        .map_err(|source| BtcError::RawTx { source })?;
    if c.p != bytes.len() {
        let source = DecodeError::new(c.p, DecodeErrorKind::TrailingBytes(bytes.len() - c.p));
        return Err(BtcError::RawTx { source });
    }
    Ok(DecodedTx {
        tx,
        inputs,
        outputs,
    })
}

#[cfg(test)]
mod tests;
