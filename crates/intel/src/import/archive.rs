//! Gathering YAML pack files from a directory, a `.tar.xz`/`.tar` archive or
//! a single file.

use std::fs;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{IntelError, Location, Result};

use super::{detect, display, hex, read_file, sha256_hex, Compression};

/// One YAML file of an input.
pub(crate) struct PackFile {
    /// Path relative to the input (`packs/lazarus2.yaml`): the provenance.
    pub rel: String,
    /// How errors name it: `DIR/packs/x.yaml` or `ARCHIVE!packs/x.yaml`.
    pub error_name: String,
    pub bytes: Vec<u8>,
}

fn is_yaml(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

/// Calls `each` for every YAML file of `path` (a directory: in path order;
/// an archive: in archive order, decompressed as it is read; a single
/// file). Returns the input's SHA-256 and the number of files.
pub(crate) fn for_each_file(
    path: &Path,
    mut each: impl FnMut(PackFile) -> Result<()>,
) -> Result<(String, usize)> {
    if path.is_dir() {
        return for_each_in_dir(path, each);
    }
    let bytes = read_file(path)?;
    let sha256 = sha256_hex(&bytes);
    let name = display(path);
    let n = match detect(&bytes) {
        Compression::Xz => {
            let mut n = 0;
            untar(
                std::io::BufReader::with_capacity(1 << 16, lzma_rust2::XzReader::new(&bytes[..], true)),
                &name,
                &mut |f| {
                    n += 1;
                    each(f)
                },
            )?;
            n
        }
        Compression::Bzip2 => {
            return Err(IntelError::Invalid(format!(
                "{name}: bzip2-compressed; TagPacks must be a directory, a .tar.xz, a .tar or a .yaml file"
            )))
        }
        Compression::None if bytes.len() > 262 && &bytes[257..262] == b"ustar" => {
            let mut n = 0;
            untar(&bytes[..], &name, &mut |f| {
                n += 1;
                each(f)
            })?;
            n
        }
        Compression::None => {
            each(PackFile {
                rel: path
                    .file_name()
                    .map_or_else(|| name.clone(), |n| n.to_string_lossy().into_owned()),
                error_name: name,
                bytes,
            })?;
            1
        }
    };
    Ok((sha256, n))
}

fn untar<R: Read>(r: R, name: &str, each: &mut dyn FnMut(PackFile) -> Result<()>) -> Result<()> {
    let bad = |e: std::io::Error| {
        IntelError::input(
            Location::file(name),
            format!("cannot read the archive: {e}"),
        )
    };
    let mut archive = tar::Archive::new(r);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let rel = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let rel = rel.trim_start_matches("./").to_owned();
        if !is_yaml(&rel) {
            continue;
        }
        let mut bytes = Vec::with_capacity(entry.size().min(1 << 30) as usize);
        entry.read_to_end(&mut bytes).map_err(bad)?;
        each(PackFile {
            error_name: format!("{name}!{rel}"),
            rel,
            bytes,
        })?;
    }
    Ok(())
}

fn for_each_in_dir(
    root: &Path,
    mut each: impl FnMut(PackFile) -> Result<()>,
) -> Result<(String, usize)> {
    let mut paths = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).map_err(|e| IntelError::io(&dir, e))? {
            let e = e.map_err(|e| IntelError::io(&dir, e))?;
            let path = e.path();
            let ft = e.file_type().map_err(|e| IntelError::io(&path, e))?;
            if ft.is_dir() {
                stack.push(path);
            } else if is_yaml(&e.file_name().to_string_lossy()) {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                paths.push((rel, path));
            }
        }
    }
    paths.sort();
    let mut h = Sha256::new();
    for (rel, path) in &paths {
        let bytes = read_file(path)?;
        h.update(rel.as_bytes());
        h.update(b"\n");
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
        each(PackFile {
            error_name: display(path),
            rel: rel.clone(),
            bytes,
        })?;
    }
    Ok((hex(&h.finalize()), paths.len()))
}
