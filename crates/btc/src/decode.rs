//! The block decoder: the hot path of ingest.
//!
//! Decoding is rust-bitcoin's: every transaction is parsed by its
//! `Transaction` decoder straight from the block slice (the memory map
//! itself when the file is not obfuscated), through a cursor that counts the
//! bytes consumed so that errors carry their position. Our own code reads
//! only the 80-byte header and the transaction count; it adds the checks and
//! the normalization. It does not trust the decoder: the txids (computed
//! once per transaction) must rebuild the header's merkle root, the wtxids
//! the coinbase's witness commitment, and the header must meet its own
//! proof-of-work target, so a decoding bug or a flipped byte anywhere in the
//! block is an error, never a silently wrong block.

use std::cell::RefCell;

use bitcoin::consensus::encode::Error as EncodeError;
use bitcoin::consensus::Decodable as _;
use bitcoin::hashes::{sha256d, Hash as _};
use bitcoin::Transaction;
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

/// A cursor over consensus-encoded bytes, read by our code (header and
/// transaction count) and by rust-bitcoin's decoder (as a
/// [`bitcoin::io::Read`]).
struct Cur<'a> {
    b: &'a [u8],
    /// Bytes consumed.
    p: usize,
    /// Start of the last one-byte read: the first byte of the compact size
    /// (or the segwit flag) that rust-bitcoin read last.
    mark: usize,
}

impl<'a> Cur<'a> {
    fn new(b: &'a [u8]) -> Cur<'a> {
        Cur { b, p: 0, mark: 0 }
    }

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

    /// A compact size, canonical and at most `MAX_SIZE`, as Core requires.
    fn size(&mut self) -> Result<usize, DecodeError> {
        let at = self.p;
        let v = match self.array::<1>()?[0] {
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

    /// Decodes one transaction with rust-bitcoin; returns it with the bytes
    /// it was decoded from.
    fn tx(&mut self) -> Result<(Transaction, &'a [u8]), DecodeError> {
        let start = self.p;
        let tx = Transaction::consensus_decode_from_finite_reader(self)
            .map_err(|e| self.tx_error(e, start))?;
        if tx.input.is_empty() {
            // Only the witness serialization has no inputs (a zero input
            // count is its marker), and then no witness: Core rejects it.
            return Err(DecodeError::new(
                start + 5,
                DecodeErrorKind::SuperfluousWitness,
            ));
        }
        Ok((tx, &self.b[start..self.p]))
    }

    /// Our error for rust-bitcoin's `e`, raised decoding the transaction
    /// that starts at `start`.
    fn tx_error(&self, e: EncodeError, start: usize) -> DecodeError {
        use DecodeErrorKind as K;
        let (pos, kind) = match e {
            // The cursor stopped at the start of the read that ran out.
            EncodeError::Io(_) => (self.p, K::UnexpectedEnd),
            EncodeError::NonMinimalVarInt => (self.mark, K::NonCanonicalVarint),
            EncodeError::UnsupportedSegwitFlag(f) => (self.mark, K::UnsupportedSegwitFlag(f)),
            // A witness over rust-bitcoin's 4 MB limit, at its last
            // compact size (an item count, or an item size).
            EncodeError::OversizedVectorAllocation { requested, .. } => {
                (self.mark, K::OversizedVarint(requested as u64))
            }
            // The only parse failure of a transaction: a witness flag (byte
            // 5) with every witness empty.
            EncodeError::ParseFailed(_) => (start + 5, K::SuperfluousWitness),
            // Checksums and the unused `OversizedVarInt` are not raised by
            // transaction decoding.
            _ => (self.p, K::UnexpectedEnd),
        };
        DecodeError::new(pos, kind)
    }

    /// An error if bytes are left.
    fn finish(&self) -> Result<(), DecodeError> {
        match self.b.len() - self.p {
            0 => Ok(()),
            n => Err(DecodeError::new(self.p, DecodeErrorKind::TrailingBytes(n))),
        }
    }
}

impl bitcoin::io::Read for Cur<'_> {
    /// All or nothing: a read that does not fit consumes nothing and reports
    /// the end of the data, leaving the cursor at the field that runs out.
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> bitcoin::io::Result<usize> {
        let n = buf.len();
        if self.b.len() - self.p < n {
            return Ok(0);
        }
        buf.copy_from_slice(&self.b[self.p..self.p + n]);
        if n == 1 {
            self.mark = self.p;
        }
        self.p += n;
        Ok(n)
    }

    #[inline]
    fn read_exact(&mut self, buf: &mut [u8]) -> bitcoin::io::Result<()> {
        if self.read(buf)? == buf.len() {
            Ok(())
        } else {
            Err(bitcoin::io::ErrorKind::UnexpectedEof.into())
        }
    }
}

/// Appends `tx`'s inputs and outputs and returns its normalized fields;
/// `size` is its serialized size (the bytes it was decoded from).
fn normalize(
    tx: &Transaction,
    size: usize,
    txid: [u8; 32],
    inputs: &mut Vec<Input>,
    outputs: &mut Vec<Output>,
) -> Tx {
    inputs.extend(tx.input.iter().map(|i| {
        let p = i.previous_output;
        if p.is_null() {
            Input::Coinbase
        } else {
            Input::Spend {
                txid: Hash32(p.txid.to_byte_array()),
                vout: p.vout,
            }
        }
    }));
    outputs.extend(tx.output.iter().map(|o| Output {
        value: Sats(o.value.to_sat()),
        addr: classify(&o.script_pubkey),
    }));
    // The bytes consumed are `total_size()`, without walking the witnesses.
    debug_assert_eq!(size, tx.total_size());
    Tx {
        txid: Hash32(txid),
        version: tx.version.0,
        lock_time: tx.lock_time.to_consensus_u32(),
        size: size as u32,
        // `Transaction::weight`, with the size already known.
        weight: (tx.base_size() * 3 + size) as u32,
        n_inputs: tx.input.len() as u32,
        n_outputs: tx.output.len() as u32,
    }
}

/// Whether `tx` has witness data.
fn has_witness(tx: &Transaction) -> bool {
    tx.input.iter().any(|i| !i.witness.is_empty())
}

/// The coinbase's witness reserved value (its input's witness, if that is a
/// single 32-byte item) and witness commitment (the last output script that
/// starts with `OP_RETURN 36 aa21a9ed`), as BIP141 defines them.
fn commitment_parts(coinbase: &Transaction) -> Option<([u8; 32], [u8; 32])> {
    let w = &coinbase.input.first()?.witness;
    let reserved = if w.len() == 1 { w.nth(0) } else { None }?;
    let commitment = coinbase.output.iter().rev().find_map(|o| {
        let s = o.script_pubkey.as_bytes();
        (s.len() >= 38 && s[..6] == [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed]).then(|| &s[6..38])
    })?;
    Some((reserved.try_into().ok()?, commitment.try_into().ok()?))
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
    let mut c = Cur::new(bytes);
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
    let mut any_witness = false;
    let mut parts = None;
    for i in 0..n_tx {
        let (tx, raw) = c.tx()?;
        let txid = tx.compute_txid().to_byte_array();
        let witness = has_witness(&tx);
        any_witness |= witness;
        scratch.txids.push(txid);
        if opts.witness_commitment {
            scratch.wtxids.push(if i == 0 {
                parts = commitment_parts(&tx);
                [0; 32]
            } else if witness {
                // `compute_wtxid` re-serializes the transaction, which is
                // exactly the bytes it was decoded from: hash those (faster).
                sha256d::Hash::hash(raw).to_byte_array()
            } else {
                txid
            });
        }
        let t = normalize(&tx, raw.len(), txid, &mut out.inputs, &mut out.outputs);
        out.txs.push(t);
    }
    c.finish()?;
    let (root, mutated) = merkle_root(&mut scratch.txids);
    if root != header[36..68] {
        return Err(BlockFault::MerkleMismatch);
    }
    if mutated {
        return Err(BlockFault::MerkleMutated);
    }
    if any_witness && opts.witness_commitment {
        let Some((reserved, commitment)) = parts else {
            return Err(BlockFault::WitnessCommitment);
        };
        let (wroot, _) = merkle_root(&mut scratch.wtxids);
        let mut cat = [0u8; 64];
        cat[..32].copy_from_slice(&wroot);
        cat[32..].copy_from_slice(&reserved);
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
    let mut c = Cur::new(bytes);
    let raw = |source| BtcError::RawTx { source };
    let (t, _) = c.tx().map_err(raw)?;
    c.finish().map_err(raw)?;
    let txid = t.compute_txid().to_byte_array();
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    let tx = normalize(&t, bytes.len(), txid, &mut inputs, &mut outputs);
    Ok(DecodedTx {
        tx,
        inputs,
        outputs,
    })
}

#[cfg(test)]
mod tests;
