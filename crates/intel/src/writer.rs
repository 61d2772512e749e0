//! [`TagWriter`]: the one writer of a store directory. An import replaces
//! one source's edition atomically.
//!
//! Protocol: the importer has already parsed the whole input into a
//! [`TagSet`] (a bad file fails there, before the store is touched). The
//! writer then
//!
//! 1. writes the new source file as `sources/<name>-<generation>.tags.tmp`,
//!    fsyncs it, renames it to `sources/<name>-<generation>.tags` and fsyncs
//!    the directory (a new name: the old edition's file is untouched);
//! 2. writes `MANIFEST.tmp` naming the new file, fsyncs it, renames it over
//!    `MANIFEST` and fsyncs the directory — the commit point;
//! 3. deletes the replaced file and any file under `sources/` that the
//!    manifest does not name (leftovers of an import killed before step 2).
//!
//! A reader sees the old manifest and old file or the new manifest and new
//! file; a process killed at any instant leaves one of the two.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{debug, info, warn};

use crate::diff::{diff, ImportReport};
use crate::error::{IntelError, Result};
use crate::format::{encode, SourceFile};
use crate::manifest::{sync_dir, write_atomic, Manifest, SourceInfo};
use crate::store::SOURCES;
use crate::tagset::TagSet;

/// One edition of one source, parsed and ready to import.
#[derive(Clone, Debug)]
pub struct Edition {
    /// The source name (lower-case letters, digits, `.`, `_`, `-`).
    pub source: String,
    /// The input format (`ofac-xml`, `ofac-lists`, `tagpacks`, `csv`).
    pub kind: String,
    /// The edition.
    pub edition: String,
    /// The input as named by the user.
    pub input: String,
    /// SHA-256 (hex) of the input.
    pub input_sha256: String,
    /// The tags.
    pub tags: TagSet,
}

/// Options of [`TagWriter::import`].
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The import time to record (Unix seconds); `None` is now.
    pub now: Option<i64>,
    /// At most this many added and this many delisted tags are listed in the
    /// report (the counts are always complete).
    pub list_limit: usize,
}

impl Default for ImportOptions {
    fn default() -> ImportOptions {
        ImportOptions {
            now: None,
            list_limit: 1000,
        }
    }
}

/// The single writer of a store directory (an exclusive lock enforces it).
#[derive(Debug)]
pub struct TagWriter {
    dir: PathBuf,
    _lock: File,
}

/// Checks a source name: 1–64 of `a-z 0-9 . _ -`, starting with a letter or
/// digit.
pub fn check_source_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(IntelError::Invalid(format!(
            "bad source name {name:?}: use 1-64 of a-z 0-9 . _ - starting with a letter or digit"
        )))
    }
}

impl TagWriter {
    /// Opens (creating if needed) the store in `dir` for writing.
    pub fn open(dir: impl AsRef<Path>) -> Result<TagWriter> {
        let dir = dir.as_ref().to_path_buf();
        let sources = dir.join(SOURCES);
        fs::create_dir_all(&sources).map_err(|e| IntelError::io(&sources, e))?;
        let lock_path = dir.join("LOCK");
        let lock = File::create(&lock_path).map_err(|e| IntelError::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(IntelError::Locked(dir)),
            Err(fs::TryLockError::Error(e)) => return Err(IntelError::io(&lock_path, e)),
        }
        Ok(TagWriter { dir, _lock: lock })
    }

    /// Replaces the edition of `edition.source` (or adds the source) and
    /// reports what changed. On error the store is as it was.
    pub fn import(&mut self, edition: Edition, opts: &ImportOptions) -> Result<ImportReport> {
        check_source_name(&edition.source)?;
        let mut manifest = Manifest::load(&self.dir)?;
        let sources = self.dir.join(SOURCES);
        let old_info = manifest.source(&edition.source).cloned();
        let old = old_info.as_ref().and_then(|o| {
            let path = sources.join(&o.file);
            match fs::read(&path)
                .map_err(|e| IntelError::io(&path, e))
                .and_then(|b| SourceFile::from_bytes(b, &path))
            {
                Ok(f) => Some(f),
                Err(e) => {
                    warn!(error = %e, "previous edition unreadable; reporting every tag as added");
                    None
                }
            }
        });
        let mut report = diff(old.as_ref(), &edition.tags, opts.list_limit);
        drop(old);
        report.source = edition.source.clone();
        report.kind = edition.kind.clone();
        report.edition = edition.edition.clone();
        report.previous_edition = old_info.as_ref().map(|o| o.edition.clone());

        let generation = manifest.generation + 1;
        let file = format!("{}-{generation}.tags", edition.source);
        let bytes = encode(&edition.tags);
        let file_crc = u32::from_le_bytes([
            bytes[bytes.len() - 8],
            bytes[bytes.len() - 7],
            bytes[bytes.len() - 6],
            bytes[bytes.len() - 5],
        ]);
        write_atomic(&sources, &file, &bytes)?;
        let info = SourceInfo {
            name: edition.source.clone(),
            kind: edition.kind,
            edition: edition.edition,
            input: edition.input,
            input_sha256: edition.input_sha256,
            imported_at: opts.now.unwrap_or_else(now),
            tags: edition.tags.len() as u64,
            file,
            file_len: bytes.len() as u64,
            file_crc,
        };
        manifest.sources.retain(|s| s.name != info.name);
        manifest.sources.push(info);
        manifest.sources.sort_by(|a, b| a.name.cmp(&b.name));
        manifest.generation = generation;
        manifest.store(&self.dir)?;
        info!(
            source = %report.source,
            tags = report.tags,
            added = report.added,
            delisted = report.delisted,
            "imported"
        );
        self.collect_garbage(&manifest);
        Ok(report)
    }

    /// Removes a source; reports its tags as delisted. `None` if there was
    /// no such source.
    pub fn remove(&mut self, source: &str) -> Result<Option<ImportReport>> {
        let mut manifest = Manifest::load(&self.dir)?;
        let Some(old_info) = manifest.source(source).cloned() else {
            return Ok(None);
        };
        let path = self.dir.join(SOURCES).join(&old_info.file);
        let old = fs::read(&path)
            .map_err(|e| IntelError::io(&path, e))
            .and_then(|b| SourceFile::from_bytes(b, &path))
            .ok();
        let mut report = diff(old.as_ref(), &TagSet::new(), usize::MAX);
        report.source = source.to_owned();
        report.kind = old_info.kind.clone();
        report.previous_edition = Some(old_info.edition.clone());
        manifest.sources.retain(|s| s.name != source);
        manifest.generation += 1;
        manifest.store(&self.dir)?;
        self.collect_garbage(&manifest);
        Ok(Some(report))
    }

    /// Deletes files under `sources/` that the manifest does not name.
    fn collect_garbage(&self, manifest: &Manifest) {
        let dir = self.dir.join(SOURCES);
        let Ok(entries) = fs::read_dir(&dir) else {
            return;
        };
        let mut removed = false;
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if !manifest.sources.iter().any(|s| s.file == name) {
                debug!(file = %name, "removing unreferenced source file");
                if let Err(err) = fs::remove_file(e.path()) {
                    warn!(file = %name, error = %err, "could not remove unreferenced file");
                } else {
                    removed = true;
                }
            }
        }
        if removed {
            let _ = sync_dir(&dir);
        }
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
