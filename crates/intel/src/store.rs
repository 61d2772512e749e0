//! [`TagStore`]: the read side. Opening reads the manifest and each source's
//! file (one read and one CRC per source, no parsing); a lookup hashes the
//! normalized address and probes each source's index.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::chain::{self, Chain};
use crate::error::{IntelError, Result};
use crate::format::SourceFile;
use crate::manifest::{Manifest, SourceInfo};
use crate::tag::{confidence_score, CsvInfo, OfacInfo, Provenance, Tag, TagPackInfo, Tlp};
use crate::tagset::{record_chain, Record, KIND_CSV, KIND_OFAC, KIND_TAGPACK, NO_NUMBER, NO_TIME};

/// The directory holding source files inside a store.
pub(crate) const SOURCES: &str = "sources";

/// A read-only snapshot of the attribution store in one directory
/// (`<data>/intel`).
#[derive(Debug)]
pub struct TagStore {
    dir: PathBuf,
    manifest: Manifest,
    files: Vec<SourceFile>,
}

/// Which tags [`TagStore::select`] yields; `None` fields match everything.
#[derive(Clone, Debug, Default)]
pub struct TagFilter {
    /// Only this source.
    pub source: Option<String>,
    /// Only this category (exact, as stored).
    pub category: Option<String>,
    /// Only this chain.
    pub chain: Option<Chain>,
    /// Only this address (normalized before matching).
    pub address: Option<String>,
}

impl TagStore {
    /// Opens the store in `dir`. A directory with no manifest (nothing
    /// imported yet, or no directory at all) is an empty store.
    pub fn open(dir: impl AsRef<Path>) -> Result<TagStore> {
        let dir = dir.as_ref().to_path_buf();
        // A concurrent import may delete the file of the edition it replaced
        // between our reading the manifest and the file: read both again.
        let mut tries = 0;
        loop {
            let manifest = Manifest::load(&dir)?;
            match load_files(&dir, &manifest) {
                Ok(files) => {
                    return Ok(TagStore {
                        dir,
                        manifest,
                        files,
                    })
                }
                Err(IntelError::Io { source, .. })
                    if source.kind() == ErrorKind::NotFound && tries < 5 =>
                {
                    tries += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The sources, by name.
    pub fn sources(&self) -> &[SourceInfo] {
        &self.manifest.sources
    }

    /// Number of tags over all sources.
    pub fn len(&self) -> u64 {
        self.files.iter().map(|f| f.len() as u64).sum()
    }

    /// True when no tag is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every tag on `address` (any spelling that normalizes to the same
    /// string), from every source, in source-name then source order.
    pub fn tags_for(&self, address: &str) -> Vec<Tag> {
        let norm = chain::normalize(address);
        let mut out = Vec::new();
        for (info, f) in self.manifest.sources.iter().zip(&self.files) {
            for r in f.lookup(&norm) {
                out.push(materialize(info, f, f.record(r)));
            }
        }
        out
    }

    /// True when any source tags `address`.
    pub fn is_tagged(&self, address: &str) -> bool {
        let norm = chain::normalize(address);
        self.files.iter().any(|f| !f.lookup(&norm).is_empty())
    }

    /// Every tag, in source-name then source order.
    pub fn tags(&self) -> impl Iterator<Item = Tag> + '_ {
        self.manifest
            .sources
            .iter()
            .zip(&self.files)
            .flat_map(|(info, f)| {
                (0..f.len() as u32).map(move |r| materialize(info, f, f.record(r)))
            })
    }

    /// The tags of one source, in source order; `None` for an unknown source.
    pub fn source_tags(&self, source: &str) -> Option<impl Iterator<Item = Tag> + '_> {
        let i = self
            .manifest
            .sources
            .iter()
            .position(|s| s.name == source)?;
        let (info, f) = (&self.manifest.sources[i], &self.files[i]);
        Some((0..f.len() as u32).map(move |r| materialize(info, f, f.record(r))))
    }

    /// The tags matching `filter`. The address filter uses the index; the
    /// category and chain filters compare ids, decoding only matching tags.
    pub fn select<'a>(&'a self, filter: &'a TagFilter) -> impl Iterator<Item = Tag> + 'a {
        let norm = filter
            .address
            .as_deref()
            .map(|a| chain::normalize(a).into_owned());
        self.manifest
            .sources
            .iter()
            .zip(&self.files)
            .filter(move |(info, _)| filter.source.as_ref().is_none_or(|s| *s == info.name))
            .flat_map(move |(info, f)| {
                let ids: Box<dyn Iterator<Item = u32>> = match &norm {
                    Some(a) => Box::new(f.lookup(a).into_iter()),
                    None => Box::new(0..f.len() as u32),
                };
                let wanted_templates: Option<Vec<bool>> = filter.category.as_ref().map(|c| {
                    (0..f.n_templates() as u32)
                        .map(|t| f.string(f.template(t).category) == c)
                        .collect()
                });
                ids.map(move |r| f.record(r))
                    .filter(move |rec| {
                        filter.chain.is_none_or(|c| record_chain(rec) == c)
                            && wanted_templates
                                .as_ref()
                                .is_none_or(|w| w.get(rec.template as usize) == Some(&true))
                    })
                    .map(move |rec| materialize(info, f, rec))
            })
    }
}

fn load_files(dir: &Path, m: &Manifest) -> Result<Vec<SourceFile>> {
    let mut files = Vec::with_capacity(m.sources.len());
    for s in &m.sources {
        let path = dir.join(SOURCES).join(&s.file);
        let bytes = fs::read(&path).map_err(|e| IntelError::io(&path, e))?;
        if bytes.len() as u64 != s.file_len {
            return Err(IntelError::corrupt(
                &path,
                format!(
                    "length {} but the manifest says {}",
                    bytes.len(),
                    s.file_len
                ),
            ));
        }
        let f = SourceFile::from_bytes(bytes, &path)?;
        if f.len() as u64 != s.tags || f.crc() != s.file_crc {
            return Err(IntelError::corrupt(&path, "does not match the manifest"));
        }
        files.push(f);
    }
    Ok(files)
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn time(t: i64) -> Option<i64> {
    (t != NO_TIME).then_some(t)
}

/// Builds the public [`Tag`] of a record.
pub(crate) fn materialize(info: &SourceInfo, f: &SourceFile, r: Record) -> Tag {
    let t = f.template(r.template);
    let s = |id: u32| opt(f.string(id));
    let provenance = match t.kind {
        KIND_OFAC => Provenance::Ofac(OfacInfo {
            profile_id: (t.number != NO_NUMBER).then_some(t.number),
            name: s(t.p[0]),
            programs: f
                .string(t.p[1])
                .split(';')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            feature_type: f.string(t.p[2]).to_owned(),
            designated: time(t.designated),
            line: u64::from(r.line),
        }),
        KIND_TAGPACK => Provenance::TagPack(TagPackInfo {
            title: f.string(t.p[0]).to_owned(),
            creator: s(t.p[1]),
            is_public: match t.is_public {
                1 => Some(false),
                2 => Some(true),
                _ => None,
            },
            file: f.string(t.p[2]).to_owned(),
            line: u64::from(r.line),
            actor_label: s(t.p[3]),
        }),
        // KIND_CSV, and anything a newer writer might add
        _ => Provenance::Csv(CsvInfo {
            file: f.string(t.p[0]).to_owned(),
            line: u64::from(r.line),
        }),
    };
    debug_assert!(matches!(t.kind, KIND_OFAC | KIND_TAGPACK | KIND_CSV));
    let confidence = s(t.confidence);
    Tag {
        address: f.string(r.address).to_owned(),
        chain: record_chain(&r),
        currency: s(t.currency),
        label: f.string(t.label).to_owned(),
        source: info.name.clone(),
        category: s(t.category),
        abuse: s(t.abuse),
        actor: s(t.actor),
        country: s(t.country),
        confidence_score: confidence.as_deref().and_then(confidence_score),
        confidence,
        tlp: Tlp::from_code(t.tlp).unwrap_or(Tlp::Red),
        reference: s(t.reference),
        source_time: time(t.source_time),
        imported_at: info.imported_at,
        provenance,
    }
}
