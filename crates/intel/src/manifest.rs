//! The manifest: which source file holds each source's current edition.
//!
//! Layout (little-endian): magic `CHIM`, version u32, generation u64, source
//! count u32, then per source the fields of [`SourceInfo`] in declaration
//! order (strings as u32 length + UTF-8, integers fixed width), then a CRC-32
//! of everything before it. Replacing it (temp file, fsync, rename, fsync of
//! the directory) is the commit point of an import.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{IntelError, Result};

pub(crate) const MANIFEST: &str = "MANIFEST";
const MAGIC: &[u8; 4] = b"CHIM";
const VERSION: u32 = 1;

/// What the store knows about one source: its current edition and the file
/// that holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    /// The source name (`ofac`, `graphsense`, or a CSV import's name).
    pub name: String,
    /// The input format (`ofac-xml`, `ofac-lists`, `tagpacks`, `csv`).
    pub kind: String,
    /// The edition (OFAC's date of issue, TagPacks' newest `lastmod`, or as
    /// given on import).
    pub edition: String,
    /// The input as named on import.
    pub input: String,
    /// SHA-256 (hex) of the input bytes as read (a directory: of its files'
    /// relative paths and contents, in path order).
    pub input_sha256: String,
    /// Import time (Unix seconds).
    pub imported_at: i64,
    /// Number of tags.
    pub tags: u64,
    /// The source file under `sources/`.
    pub(crate) file: String,
    /// Its length in bytes.
    pub(crate) file_len: u64,
    /// Its CRC-32.
    pub(crate) file_crc: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub generation: u64,
    pub sources: Vec<SourceInfo>,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Some(u64::from_le_bytes(a))
    }
    fn string(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

impl Manifest {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&(self.sources.len() as u32).to_le_bytes());
        for s in &self.sources {
            for v in [&s.name, &s.kind, &s.edition, &s.input, &s.input_sha256] {
                put_str(&mut out, v);
            }
            out.extend_from_slice(&s.imported_at.to_le_bytes());
            out.extend_from_slice(&s.tags.to_le_bytes());
            put_str(&mut out, &s.file);
            out.extend_from_slice(&s.file_len.to_le_bytes());
            out.extend_from_slice(&s.file_crc.to_le_bytes());
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8], path: &Path) -> Result<Manifest> {
        let bad = |what: &str| IntelError::corrupt(path, what.to_owned());
        if bytes.len() < 24 || &bytes[..4] != MAGIC {
            return Err(bad("not a tag-store manifest"));
        }
        let body = bytes.len() - 4;
        let crc = u32::from_le_bytes([
            bytes[body],
            bytes[body + 1],
            bytes[body + 2],
            bytes[body + 3],
        ]);
        if crc32fast::hash(&bytes[..body]) != crc {
            return Err(bad("manifest checksum mismatch"));
        }
        let mut c = Cursor {
            b: &bytes[..body],
            at: 4,
        };
        let parse = |c: &mut Cursor<'_>| -> Option<Manifest> {
            let version = c.u32()?;
            if version != VERSION {
                return None;
            }
            let generation = c.u64()?;
            let n = c.u32()?;
            let mut sources = Vec::new();
            for _ in 0..n {
                sources.push(SourceInfo {
                    name: c.string()?,
                    kind: c.string()?,
                    edition: c.string()?,
                    input: c.string()?,
                    input_sha256: c.string()?,
                    imported_at: c.u64()? as i64,
                    tags: c.u64()?,
                    file: c.string()?,
                    file_len: c.u64()?,
                    file_crc: c.u32()?,
                });
            }
            (c.at == c.b.len()).then_some(Manifest {
                generation,
                sources,
            })
        };
        parse(&mut c).ok_or_else(|| bad("manifest fields are malformed or of another version"))
    }

    /// The manifest in `dir`, or an empty one when there is none yet.
    pub(crate) fn load(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        match fs::read(&path) {
            Ok(b) => Manifest::decode(&b, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(IntelError::io(path, e)),
        }
    }

    pub(crate) fn store(&self, dir: &Path) -> Result<()> {
        write_atomic(dir, MANIFEST, &self.encode())
    }

    pub(crate) fn source(&self, name: &str) -> Option<&SourceInfo> {
        self.sources.iter().find(|s| s.name == name)
    }
}

/// Writes `dir/name` atomically: `name.tmp`, fsync, rename, fsync directory.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let dst = dir.join(name);
    let mut f = File::create(&tmp).map_err(|e| IntelError::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| IntelError::io(&tmp, e))?;
    f.sync_all().map_err(|e| IntelError::io(&tmp, e))?;
    drop(f);
    fs::rename(&tmp, &dst).map_err(|e| IntelError::io(&dst, e))?;
    sync_dir(dir)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| IntelError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_crc() {
        let m = Manifest {
            generation: 7,
            sources: vec![SourceInfo {
                name: "ofac".into(),
                kind: "ofac-xml".into(),
                edition: "2025-11-19".into(),
                input: "sdn.xml.bz2".into(),
                input_sha256: "ab".repeat(32),
                imported_at: 1_700_000_000,
                tags: 761,
                file: "ofac-7.tags".into(),
                file_len: 1234,
                file_crc: 0xdead_beef,
            }],
        };
        let b = m.encode();
        assert_eq!(Manifest::decode(&b, Path::new("m")).unwrap(), m);
        for at in 0..b.len() {
            let mut x = b.clone();
            x[at] ^= 1;
            assert!(Manifest::decode(&x, Path::new("m")).is_err(), "{at}");
        }
    }
}
