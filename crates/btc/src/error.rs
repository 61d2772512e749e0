//! Errors of this crate. Messages are lower-case and name the file, the byte
//! offset and the block hash wherever they are known; causes are reachable
//! through `source()` rather than repeated in the message.

use std::fmt;
use std::path::PathBuf;

use chainhound_types::Hash32;

use crate::network::Network;

/// Everything that can go wrong reading Bitcoin data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BtcError {
    /// A file could not be opened, mapped or read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A blocks directory could not be listed.
    #[error("cannot list blocks directory {}", path.display())]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `xor.dat` does not hold exactly 8 bytes.
    #[error("{} is {len} bytes long, expected an 8-byte obfuscation key", path.display())]
    XorKeyLength {
        /// The key file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// A record starts with the magic of another network.
    #[error(
        "wrong network: file {} at offset {offset} has the {found} magic, expected {expected}",
        path.display()
    )]
    WrongNetwork {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the magic.
        offset: u64,
        /// The network whose magic was found.
        found: Network,
        /// The network that was asked for.
        expected: Network,
    },
    /// Bytes that are neither a known magic nor zero fill where a record
    /// should start.
    #[error(
        "unknown magic in {} at offset {offset}: found bytes {}, expected the {expected} magic {}{}",
        path.display(),
        hex4(found),
        hex4(&expected.magic()),
        if *xor_hint { "; if this is Bitcoin Core 28+ data, is blocks/xor.dat missing?" } else { "" }
    )]
    UnknownMagic {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the bytes.
        offset: u64,
        /// The four bytes found (after de-obfuscation).
        found: [u8; 4],
        /// The network that was asked for.
        expected: Network,
        /// Whether the message suggests a missing `xor.dat`.
        xor_hint: bool,
    },
    /// A record's length field is outside 80..=4,000,000.
    #[error(
        "bad block length {len} in the record at offset {offset} of {}: must be between 80 and 4000000",
        path.display()
    )]
    BadLength {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the record (its magic).
        offset: u64,
        /// The length field.
        len: u32,
    },
    /// A [`BlockLoc`](crate::BlockLoc) that does not lie inside the file.
    #[error(
        "block location (offset {offset}, length {len}) lies outside {} ({file_len} bytes)",
        path.display()
    )]
    BadLocation {
        /// The block file.
        path: PathBuf,
        /// Requested offset.
        offset: u64,
        /// Requested length.
        len: u32,
        /// Length of the file.
        file_len: u64,
    },
    /// The block bytes do not parse.
    #[error("cannot decode block {hash} at offset {offset} of {}", path.display())]
    Decode {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the block (its header).
        offset: u64,
        /// Hash of the block's header.
        hash: Hash32,
        /// What failed, and where inside the block.
        #[source]
        source: DecodeError,
    },
    /// The transactions do not hash to the header's merkle root: they are
    /// corrupt.
    #[error(
        "merkle root mismatch in block {hash} at offset {offset} of {}: the transactions are corrupt",
        path.display()
    )]
    MerkleMismatch {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the block.
        offset: u64,
        /// Hash of the block's header.
        hash: Hash32,
    },
    /// The merkle tree has duplicated transactions (CVE-2012-2459).
    #[error(
        "block {hash} at offset {offset} of {} has a mutated merkle tree (duplicated transactions)",
        path.display()
    )]
    MerkleMutated {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the block.
        offset: u64,
        /// Hash of the block's header.
        hash: Hash32,
    },
    /// The witness data does not match the coinbase's witness commitment
    /// (BIP141), or witness data is present without one.
    #[error(
        "witness commitment mismatch in block {hash} at offset {offset} of {}: the witness data is corrupt",
        path.display()
    )]
    WitnessCommitment {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the block.
        offset: u64,
        /// Hash of the block's header.
        hash: Hash32,
    },
    /// The header hash is above the target its bits encode, or the bits
    /// encode no valid target: the header is corrupt.
    #[error(
        "block {hash} at offset {offset} of {} fails proof of work (bits {bits:08x}): the header is corrupt",
        path.display()
    )]
    ProofOfWork {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the block.
        offset: u64,
        /// Hash of the (corrupt) header.
        hash: Hash32,
        /// The header's bits field.
        bits: u32,
    },
    /// A raw transaction does not parse.
    #[error("cannot decode raw transaction")]
    RawTx {
        /// What failed, and where.
        #[source]
        source: DecodeError,
    },
    /// An address string that cannot be parsed for the network.
    #[error("invalid address {input:?} for {network}")]
    Address {
        /// The input string.
        input: String,
        /// The network asked for.
        network: Network,
        /// Why.
        #[source]
        source: AddressError,
    },
    /// An unknown network name.
    #[error("unknown network {input:?}: expected main, testnet3, testnet4, signet or regtest")]
    UnknownNetwork {
        /// The input string.
        input: String,
    },
    /// A block asked for by hash is in none of the files.
    #[error("block {hash} is not in the block files")]
    BlockNotFound {
        /// The block hash.
        hash: Hash32,
    },
}

fn hex4(b: &[u8; 4]) -> String {
    format!("{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3])
}

/// Why block or transaction bytes do not parse, and at which byte (counted
/// from the start of the block or transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pos: usize,
    kind: DecodeErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecodeErrorKind {
    UnexpectedEnd,
    NonCanonicalVarint,
    OversizedVarint(u64),
    UnsupportedSegwitFlag(u8),
    SuperfluousWitness,
    NoTransactions,
    TrailingBytes(usize),
}

impl DecodeError {
    pub(crate) fn new(pos: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { pos, kind }
    }

    /// Byte position of the problem, from the start of the block or
    /// transaction.
    pub fn pos(&self) -> usize {
        self.pos
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DecodeErrorKind::UnexpectedEnd => f.write_str("data ends early")?,
            DecodeErrorKind::NonCanonicalVarint => f.write_str("non-canonical compact size")?,
            DecodeErrorKind::OversizedVarint(v) => {
                write!(f, "compact size {v} exceeds the size limit")?
            }
            DecodeErrorKind::UnsupportedSegwitFlag(x) => {
                write!(f, "unsupported segwit flag {x:#04x}")?
            }
            DecodeErrorKind::SuperfluousWitness => {
                f.write_str("witness flag set but every witness is empty")?
            }
            DecodeErrorKind::NoTransactions => f.write_str("block has no transactions")?,
            DecodeErrorKind::TrailingBytes(n) => write!(f, "{n} bytes left over after decoding")?,
        }
        write!(f, " at byte {}", self.pos)
    }
}

impl std::error::Error for DecodeError {}

/// Why an address string was rejected.
#[derive(Debug)]
pub struct AddressError {
    kind: AddressErrorKind,
}

#[derive(Debug)]
pub(crate) enum AddressErrorKind {
    Parse(bitcoin::address::ParseError),
    WrongNetwork,
    BadPseudoHex,
}

impl AddressError {
    pub(crate) fn new(kind: AddressErrorKind) -> AddressError {
        AddressError { kind }
    }
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            AddressErrorKind::Parse(_) => f.write_str("not a valid base58 or bech32 address"),
            AddressErrorKind::WrongNetwork => f.write_str("address belongs to another network"),
            AddressErrorKind::BadPseudoHex => {
                f.write_str("pseudo-address must end in 64 hex digits")
            }
        }
    }
}

impl std::error::Error for AddressError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            AddressErrorKind::Parse(e) => Some(e),
            _ => None,
        }
    }
}
