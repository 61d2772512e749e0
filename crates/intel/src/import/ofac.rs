//! OFAC: the official `SDN_ADVANCED.XML` (plain or `.bz2`) and the
//! third-party per-currency address lists (`sanctioned_addresses_<CUR>.txt`),
//! both imported as the source `ofac`.

use std::io::Read;
use std::path::Path;

use crate::error::{IntelError, Result};
use crate::tag::Tlp;
use crate::writer::Edition;

use super::{detect, display, pipelined, read_file, sha256_hex, Compression};

pub use super::ofac_lists::read_lists_dir;
pub use super::ofac_xml::{parse_sdn_xml, SdnXml};

/// The source name OFAC imports use by default.
pub const SOURCE: &str = "ofac";

/// Options of an OFAC import.
#[derive(Clone, Debug)]
pub struct OfacOptions {
    /// The source name (default `ofac`).
    pub source: String,
    /// The edition to record instead of the detected one.
    pub edition: Option<String>,
    /// TLP of the tags (default clear: the list is public).
    pub tlp: Tlp,
}

impl Default for OfacOptions {
    fn default() -> OfacOptions {
        OfacOptions {
            source: SOURCE.to_owned(),
            edition: None,
            tlp: Tlp::Clear,
        }
    }
}

/// Reads an OFAC input, detecting its format: a directory is a set of
/// per-currency lists; a file is the SDN advanced XML, bzip2-compressed or
/// not.
pub fn load(path: &Path, opts: &OfacOptions) -> Result<Edition> {
    if path.is_dir() {
        return read_lists_dir(path, opts);
    }
    let bytes = read_file(path)?;
    let digest = sha256_hex(&bytes);
    let name = display(path);
    let xml = match detect(&bytes) {
        Compression::Bzip2 => pipelined(bzip2::read::MultiBzDecoder::new(&bytes[..]), |r| {
            parse_sdn_xml(r, &name, opts.tlp)
        })?,
        Compression::None => parse_sdn_xml(&bytes[..], &name, opts.tlp)?,
        Compression::Xz => {
            return Err(IntelError::Invalid(format!(
                "{name}: xz-compressed; OFAC input must be the SDN advanced XML, plain or .bz2, or a directory of per-currency lists"
            )))
        }
    };
    Ok(Edition {
        source: opts.source.clone(),
        kind: "ofac-xml".into(),
        edition: opts.edition.clone().unwrap_or(xml.date_of_issue),
        input: name,
        input_sha256: digest,
        tags: xml.tags,
    })
}

/// Parses SDN advanced XML from any reader (for fuzzing and tests).
pub fn parse_sdn_bytes(bytes: &[u8], file: &str) -> Result<SdnXml> {
    parse_sdn_xml(bytes, file, Tlp::Clear)
}

/// Decompresses bzip2 input fully (for tests).
#[doc(hidden)]
pub fn bunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    bzip2::read::MultiBzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}
