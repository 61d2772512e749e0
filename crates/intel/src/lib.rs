//! Attribution: who is behind an address, according to whom.
//!
//! A [`Tag`] is one source's claim about one address — a label, a category
//! (GraphSense/INTERPOL taxonomy), an actor, a country, a confidence, a TLP
//! level, the reference the source cites, timestamps and source-specific
//! [`Provenance`] (the OFAC SDN profile and programmes, the TagPack and its
//! line). Tags are never merged or overwritten: conflicting claims stay side
//! by side, each with its provenance, for an analyst (or a court) to weigh.
//!
//! * **Importers** ([`import`]) turn outside files into an [`Edition`] of a
//!   source: the official OFAC `SDN_ADVANCED.XML` (plain or `.bz2`) and the
//!   per-currency lists ([`import::ofac`]), GraphSense TagPacks and
//!   ActorPacks as a directory or `.tar.xz` ([`import::tagpack`]), and CSV
//!   ([`import::csv`]). Each reads and checks its whole input first; a bad
//!   file is an error naming the file, line and field, and leaves the store
//!   untouched.
//! * **The store** keeps one immutable file per source plus a manifest,
//!   replaced atomically ([`TagWriter`] documents the protocol). Importing a
//!   newer edition replaces that source and reports what was added and
//!   delisted ([`ImportReport`]).
//! * **Lookups** ([`TagStore`]) read each source file once (no parsing) and
//!   find an address's tags through a hash index in each file.
//!
//! ```no_run
//! use chainhound_intel::{import, ImportOptions, TagStore, TagWriter};
//! # fn main() -> chainhound_intel::Result<()> {
//! let dir = std::path::Path::new("chainhound-data/intel");
//! let edition = import::ofac::load(
//!     "sdn_advanced.xml.bz2".as_ref(),
//!     &import::ofac::OfacOptions::default(),
//! )?;
//! let report = TagWriter::open(dir)?.import(edition, &ImportOptions::default())?;
//! println!("{} added, {} delisted", report.added, report.delisted);
//!
//! let store = TagStore::open(dir)?;
//! for tag in store.tags_for("0x098B716B8Aaf21512996dC57EB0615e2383E2f96") {
//!     println!("{} {} ({})", tag.source, tag.label, tag.category.unwrap_or_default());
//! }
//! # Ok(()) }
//! ```
//!
//! The chain of an address is inferred from its format ([`chain`]); this
//! crate knows no chain library and nothing of the block store.

#![deny(missing_docs)]

pub mod chain;
mod codec;
mod diff;
mod error;
mod format;
pub mod import;
mod manifest;
mod store;
mod tag;
mod tagset;
pub mod time;
mod writer;

pub use chain::{infer, normalize, Address, Chain};
pub use diff::{ChainCounts, ImportReport, Listing};
pub use error::{IntelError, Location, Result};
pub use manifest::SourceInfo;
pub use store::{TagFilter, TagStore};
pub use tag::{
    confidence_score, CsvInfo, OfacInfo, Provenance, Tag, TagPackInfo, Tlp, CONFIDENCE_LEVELS,
};
pub use tagset::{NewProvenance, NewTag, TagSet};
pub use writer::{check_source_name, Edition, ImportOptions, TagWriter};

/// Entry points for the fuzz targets in `fuzz/` (not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    use std::path::Path;

    /// Reads `bytes` as a stored source file and, if it is valid, decodes
    /// every tag and looks each address up: must never panic.
    pub fn source_file(bytes: &[u8]) -> usize {
        let Ok(f) = crate::format::SourceFile::from_bytes(bytes.to_vec(), Path::new("fuzz")) else {
            return 0;
        };
        let info = crate::manifest::SourceInfo {
            name: "fuzz".into(),
            kind: String::new(),
            edition: String::new(),
            input: String::new(),
            input_sha256: String::new(),
            imported_at: 0,
            tags: f.len() as u64,
            file: String::new(),
            file_len: bytes.len() as u64,
            file_crc: f.crc(),
        };
        let mut n = 0;
        for r in 0..f.len() as u32 {
            let t = crate::store::materialize(&info, &f, f.record(r));
            n += f.lookup(&t.address).len();
        }
        n
    }

    /// [`source_file`] after giving `bytes` a valid footer (checksum and end
    /// magic), so that mutations reach the structural checks behind the CRC.
    pub fn source_file_with_valid_crc(bytes: &[u8]) -> usize {
        let mut b = bytes.to_vec();
        if b.len() >= 8 {
            let body = b.len() - 8;
            let crc = crc32fast::hash(&b[..body]);
            b[body..body + 4].copy_from_slice(&crc.to_le_bytes());
            b[body + 4..].copy_from_slice(b"GTHC");
        }
        source_file(&b)
    }

    /// Encodes a tag set as a source file (to seed the `source_file` target).
    pub fn encode(set: &crate::TagSet) -> Vec<u8> {
        crate::format::encode(set)
    }
}
