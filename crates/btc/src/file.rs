//! Block files: finding the blocks in a file (scan) and reading one (decode).

use std::fmt;
use std::path::{Path, PathBuf};

use chainhound_types::{Block, Hash32};

use crate::decode::{decode_block, fault_to_error, ReadOptions, SCRATCH};
use crate::error::BtcError;
use crate::header::{compact_to_target, hash_meets, header_bits, header_hash};
use crate::network::Network;
use crate::xor::{read_array, XorKey};

/// Bitcoin Core's `MAX_BLOCK_SERIALIZED_SIZE`.
pub const MAX_BLOCK_SERIALIZED_SIZE: u32 = 4_000_000;

/// Where one block lies in a block file, with its header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BlockLoc {
    /// Index of the file (`N` of `blkN.dat`, or the position in an explicit
    /// file list).
    pub file_index: u32,
    /// Byte offset of the block's first byte (after magic and length).
    pub offset: u64,
    /// Serialized length of the block.
    pub len: u32,
    /// The 80-byte header (de-obfuscated).
    pub header: [u8; 80],
    /// The block hash (internal byte order).
    pub hash: Hash32,
}

/// How a file holds its blocks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// Bitcoin Core's `blkNNNNN.dat`: records of magic, u32-LE length and
    /// block.
    Blk,
    /// One serialized block with no prefix.
    RawBlock,
}

/// The blocks found in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanReport {
    /// How the file holds its blocks.
    pub format: FileFormat,
    /// The blocks, in file order.
    pub blocks: Vec<BlockLoc>,
    /// Oddities that did not stop the scan.
    pub warnings: Vec<ScanWarning>,
}

/// Something odd but survivable found while scanning a file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScanWarning {
    /// The file ends inside a record (a node stopped mid-write): the record
    /// is skipped, as Bitcoin Core does on reindex.
    TruncatedRecord {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// Bytes the record needs (prefix included).
        needed: u64,
        /// Bytes left in the file.
        available: u64,
    },
    /// Non-zero bytes after the zero fill that ends the file's records.
    DataAfterZeroFill {
        /// The block file.
        path: PathBuf,
        /// Byte offset where the zero fill starts.
        offset: u64,
        /// Byte offset of the first non-zero byte after it.
        data_offset: u64,
    },
}

impl fmt::Display for ScanWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanWarning::TruncatedRecord { path, offset, needed, available } => write!(
                f,
                "truncated record at offset {offset} of {}: needs {needed} bytes, only {available} left; skipped",
                path.display()
            ),
            ScanWarning::DataAfterZeroFill { path, offset, data_offset } => write!(
                f,
                "ignored data at offset {data_offset} of {} after the zero fill starting at offset {offset}",
                path.display()
            ),
        }
    }
}

enum Data {
    Mmap(memmap2::Mmap),
    Owned(Vec<u8>),
}

/// One block file, memory-mapped read-only (or held in memory).
pub struct BlockFile {
    path: PathBuf,
    file_index: u32,
    xor: Option<XorKey>,
    data: Data,
}

impl fmt::Debug for BlockFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockFile")
            .field("path", &self.path)
            .field("file_index", &self.file_index)
            .field("xor", &self.xor)
            .field("len", &self.len())
            .finish()
    }
}

impl BlockFile {
    /// Maps the file at `path` read-only. `xor` is the directory's
    /// obfuscation key ([`XorKey::load`]).
    ///
    /// The map assumes nobody truncates the file while it is open (reading
    /// vanished pages would kill the process with SIGBUS). Bitcoin Core only
    /// ever appends to blk files, and pruning deletes whole files, which is
    /// harmless to an open map, so reading a live node's files is safe.
    pub fn open(
        path: impl AsRef<Path>,
        file_index: u32,
        xor: Option<XorKey>,
    ) -> Result<BlockFile, BtcError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| BtcError::Io {
            path: path.clone(),
            source,
        };
        let file = std::fs::File::open(&path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let data = if len == 0 {
            Data::Owned(Vec::new())
        } else {
            // SAFETY: read-only private map; see the doc comment for why the
            // file is not truncated under us.
            Data::Mmap(unsafe { memmap2::Mmap::map(&file) }.map_err(io)?)
        };
        Ok(BlockFile {
            path,
            file_index,
            xor,
            data,
        })
    }

    /// A block file held in memory; `path` is only used in messages.
    pub fn from_bytes(
        path: impl Into<PathBuf>,
        file_index: u32,
        bytes: Vec<u8>,
        xor: Option<XorKey>,
    ) -> BlockFile {
        BlockFile {
            path: path.into(),
            file_index,
            xor,
            data: Data::Owned(bytes),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's index.
    pub fn file_index(&self) -> u32 {
        self.file_index
    }

    /// The file's length in bytes.
    pub fn len(&self) -> u64 {
        self.bytes().len() as u64
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }

    fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Mmap(m) => m,
            Data::Owned(v) => v,
        }
    }

    /// Finds the blocks of `network` in the file, reading only each record's
    /// 8-byte prefix and 80-byte header.
    ///
    /// Like Bitcoin Core's reindex it stops at zero fill (Core pre-allocates
    /// files) and skips a truncated last record, with a warning. Another
    /// network's magic, unknown bytes where a record should start and a
    /// length outside 80..=4,000,000 are errors. A file whose first four
    /// bytes are no magic is read as one raw block if its header meets the
    /// network's proof-of-work limit.
    pub fn scan(&self, network: Network) -> Result<ScanReport, BtcError> {
        let d = self.bytes();
        let xor = self.xor.as_ref();
        let mut report = ScanReport {
            format: FileFormat::Blk,
            blocks: Vec::new(),
            warnings: Vec::new(),
        };
        if d.len() >= 4 && Network::from_magic(read_array(d, 0, xor)).is_none() {
            if let Some(loc) = self.raw_block(network) {
                report.format = FileFormat::RawBlock;
                report.blocks.push(loc);
                return Ok(report);
            }
        }
        let mut pos = 0usize;
        while pos < d.len() {
            let left = d.len() - pos;
            if left < 8 {
                if self.first_nonzero(pos).is_some() {
                    report.warnings.push(self.truncated(pos, 8, left));
                }
                break;
            }
            let magic: [u8; 4] = read_array(d, pos, xor);
            // Fill is zero on disk (Core pre-allocates files without
            // obfuscating the padding) or zero after de-obfuscation.
            if magic == [0; 4] || d[pos..pos + 4] == [0; 4] {
                if let Some(data_offset) = self.first_nonzero(pos) {
                    report.warnings.push(ScanWarning::DataAfterZeroFill {
                        path: self.path.clone(),
                        offset: pos as u64,
                        data_offset: data_offset as u64,
                    });
                }
                break;
            }
            if magic != network.magic() {
                return Err(self.bad_magic(pos, magic, network));
            }
            let len = u32::from_le_bytes(read_array(d, pos + 4, xor));
            if !(80..=MAX_BLOCK_SERIALIZED_SIZE).contains(&len) {
                return Err(BtcError::BadLength {
                    path: self.path.clone(),
                    offset: pos as u64,
                    len,
                });
            }
            let body = pos + 8;
            if d.len() - body < len as usize {
                report
                    .warnings
                    .push(self.truncated(pos, 8 + u64::from(len), left));
                break;
            }
            let header: [u8; 80] = read_array(d, body, xor);
            report.blocks.push(BlockLoc {
                file_index: self.file_index,
                offset: body as u64,
                len,
                hash: header_hash(&header),
                header,
            });
            pos = body + len as usize;
        }
        Ok(report)
    }

    /// The whole file as one raw block, if its size is plausible and its
    /// header meets the network's proof-of-work limit.
    fn raw_block(&self, network: Network) -> Option<BlockLoc> {
        let d = self.bytes();
        if d.len() < 81 || d.len() > MAX_BLOCK_SERIALIZED_SIZE as usize {
            return None;
        }
        let header: [u8; 80] = read_array(d, 0, self.xor.as_ref());
        let hash = header_hash(&header);
        let limit = compact_to_target(network.pow_limit_bits()).expect("pow limits are valid");
        let target = compact_to_target(header_bits(&header))?;
        if target > limit || !hash_meets(&hash, &target) {
            return None;
        }
        Some(BlockLoc {
            file_index: self.file_index,
            offset: 0,
            len: d.len() as u32,
            header,
            hash,
        })
    }

    /// Offset of the first byte at or after `from` that is not fill: zero
    /// on disk, or (in an obfuscated file) zero after de-obfuscation.
    fn first_nonzero(&self, from: usize) -> Option<usize> {
        let d = &self.bytes()[from..];
        match &self.xor {
            None => d.iter().position(|&b| b != 0).map(|i| from + i),
            Some(x) => {
                let key = x.bytes();
                d.iter()
                    .enumerate()
                    .position(|(i, &b)| b != 0 && b != key[(from + i) % 8])
                    .map(|i| from + i)
            }
        }
    }

    fn truncated(&self, pos: usize, needed: u64, available: usize) -> ScanWarning {
        ScanWarning::TruncatedRecord {
            path: self.path.clone(),
            offset: pos as u64,
            needed,
            available: available as u64,
        }
    }

    fn bad_magic(&self, pos: usize, found: [u8; 4], expected: Network) -> BtcError {
        let path = self.path.clone();
        let offset = pos as u64;
        match Network::from_magic(found) {
            Some(found) => BtcError::WrongNetwork {
                path,
                offset,
                found,
                expected,
            },
            None => BtcError::UnknownMagic {
                path,
                offset,
                found,
                expected,
                xor_hint: pos == 0 && self.xor.is_none(),
            },
        }
    }

    /// Decodes the block at `loc` into `out` (cleared first, allocations
    /// reused), verifying that it parses to exactly `loc.len` bytes, that its
    /// transactions match the header's merkle root and the witness
    /// commitment, and that the header meets the proof of work its bits ask
    /// for. Errors name the file, the offset and the block hash; after an
    /// error `out` holds partial data.
    pub fn read_block(&self, loc: &BlockLoc, out: &mut Block) -> Result<(), BtcError> {
        self.read_block_with(loc, out, &ReadOptions::default())
    }

    /// [`read_block`](Self::read_block) with a choice of checks.
    pub fn read_block_with(
        &self,
        loc: &BlockLoc,
        out: &mut Block,
        opts: &ReadOptions,
    ) -> Result<(), BtcError> {
        let d = self.bytes();
        let bad = || BtcError::BadLocation {
            path: self.path.clone(),
            offset: loc.offset,
            len: loc.len,
            file_len: d.len() as u64,
        };
        let start = usize::try_from(loc.offset).map_err(|_| bad())?;
        let end = start
            .checked_add(loc.len as usize)
            .filter(|&e| e <= d.len())
            .ok_or_else(bad)?;
        let raw = &d[start..end];
        let result = SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            match &self.xor {
                None => decode_block(raw, out, &mut s, opts),
                Some(x) => {
                    let mut buf = std::mem::take(&mut s.buf);
                    buf.clear();
                    buf.extend_from_slice(raw);
                    x.apply(&mut buf, loc.offset);
                    let r = decode_block(&buf, out, &mut s, opts);
                    s.buf = buf;
                    r
                }
            }
        });
        result.map_err(|f| fault_to_error(f, &self.path, loc.offset, out))
    }
}

/// One file of a [`BlocksDir`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockFileEntry {
    /// The file.
    pub path: PathBuf,
    /// Its index: `N` of `blkN.dat`, or the position in an explicit list.
    pub index: u32,
}

/// The block files of a node (a `blocks/` directory) or an explicit list of
/// files.
#[derive(Clone, Debug)]
pub struct BlocksDir {
    network: Network,
    xor: Option<XorKey>,
    files: Vec<BlockFileEntry>,
}

impl BlocksDir {
    /// Lists the `blkNNNNN.dat` files of a Bitcoin Core `blocks` directory in
    /// number order and loads its `xor.dat`.
    pub fn open(dir: impl AsRef<Path>, network: Network) -> Result<BlocksDir, BtcError> {
        let dir = dir.as_ref();
        let read_err = |source| BtcError::ReadDir {
            path: dir.to_path_buf(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            let name = entry.file_name();
            if let Some(index) = name.to_str().and_then(blk_number) {
                files.push(BlockFileEntry {
                    path: entry.path(),
                    index,
                });
            }
        }
        files.sort_by_key(|f| f.index);
        if files.is_empty() {
            tracing::warn!(dir = %dir.display(), "no blk*.dat files found (is this the blocks directory?)");
        }
        let xor = XorKey::load(dir)?;
        Ok(BlocksDir {
            network,
            xor,
            files,
        })
    }

    /// Explicit files, indexed by position, without obfuscation.
    pub fn from_files(paths: Vec<PathBuf>, network: Network) -> BlocksDir {
        let files = paths
            .into_iter()
            .enumerate()
            .map(|(i, path)| BlockFileEntry {
                path,
                index: i as u32,
            })
            .collect();
        BlocksDir {
            network,
            xor: None,
            files,
        }
    }

    /// The files, in index order.
    pub fn files(&self) -> &[BlockFileEntry] {
        &self.files
    }

    /// The network.
    pub fn network(&self) -> Network {
        self.network
    }

    /// The obfuscation key, if any.
    pub fn xor(&self) -> Option<XorKey> {
        self.xor
    }

    /// Opens one of the files.
    pub fn open_file(&self, entry: &BlockFileEntry) -> Result<BlockFile, BtcError> {
        BlockFile::open(&entry.path, entry.index, self.xor)
    }

    /// Writes the blocks with the given hashes, in that order, as one plain
    /// (unobfuscated) blk file at `dest`: a fixture, or a node's view of the
    /// chain at some earlier moment. Returns the bytes written; a hash that
    /// is not in these files is an error naming it.
    pub fn extract(&self, hashes: &[Hash32], dest: &Path) -> Result<u64, BtcError> {
        let mut files = Vec::with_capacity(self.files.len());
        let mut at = std::collections::HashMap::new();
        for entry in &self.files {
            let f = self.open_file(entry)?;
            for loc in f.scan(self.network)?.blocks {
                at.entry(loc.hash).or_insert((files.len(), loc));
            }
            files.push(f);
        }
        let mut out = Vec::new();
        for h in hashes {
            let Some((fi, loc)) = at.get(h) else {
                return Err(BtcError::BlockNotFound { hash: *h });
            };
            let f = &files[*fi];
            let start = loc.offset as usize;
            let mut body = f.bytes()[start..start + loc.len as usize].to_vec();
            if let Some(x) = f.xor {
                x.apply(&mut body, loc.offset);
            }
            out.extend_from_slice(&self.network.magic());
            out.extend_from_slice(&loc.len.to_le_bytes());
            out.extend_from_slice(&body);
        }
        std::fs::write(dest, &out).map_err(|source| BtcError::Io {
            path: dest.to_path_buf(),
            source,
        })?;
        Ok(out.len() as u64)
    }
}

/// `N` of a `blkN.dat` name with at least five digits.
fn blk_number(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("blk")?.strip_suffix(".dat")?;
    if digits.len() < 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests;
