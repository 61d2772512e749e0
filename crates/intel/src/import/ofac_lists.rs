//! The third-party per-currency OFAC lists: a directory of
//! `sanctioned_addresses_<CUR>.txt` files, one address per line, as
//! published by the `ofac-sanctioned-digital-currency-addresses` mirrors.
//! They carry no names, profiles or programmes: each address becomes a tag
//! labelled `OFAC SDN (<CUR> list)`.

use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{IntelError, Location, Result};
use crate::tagset::{NewProvenance, NewTag, TagSet};
use crate::writer::Edition;

use super::ofac::OfacOptions;
use super::{display, hex, read_file, utf8};

const PREFIX: &str = "sanctioned_addresses_";

/// Parses one list file's text; `currency` is the `<CUR>` of its name.
pub(crate) fn parse_list(
    text: &str,
    currency: &str,
    file: &str,
    tags: &mut TagSet,
    opts: &OfacOptions,
) -> Result<()> {
    let feature_type = format!("Digital Currency Address - {currency}");
    let label = format!("OFAC SDN ({currency} list)");
    for (i, line) in text.lines().enumerate() {
        let a = line.trim();
        if a.is_empty() || a.starts_with('#') {
            continue;
        }
        if a.contains(char::is_whitespace) || a.contains(['"', ',', '[', ']']) {
            return Err(IntelError::input(
                Location::file(file).at_line(i as u64 + 1).field("address"),
                format!("not one address per line: {a:?}"),
            ));
        }
        tags.push(&NewTag {
            address: a,
            currency: Some(currency),
            label: &label,
            category: Some("sanction"),
            abuse: None,
            actor: None,
            country: None,
            confidence: Some("authority_data"),
            tlp: opts.tlp,
            reference: None,
            source_time: None,
            line: i as u64 + 1,
            provenance: NewProvenance::Ofac {
                profile_id: None,
                name: None,
                programs: "",
                feature_type: &feature_type,
                designated: None,
            },
        });
    }
    Ok(())
}

/// Reads every `sanctioned_addresses_<CUR>.txt` in `dir` (in name order).
pub fn read_lists_dir(dir: &Path, opts: &OfacOptions) -> Result<Edition> {
    let mut files: Vec<(String, std::path::PathBuf)> = fs::read_dir(dir)
        .map_err(|e| IntelError::io(dir, e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let cur = name.strip_prefix(PREFIX)?.strip_suffix(".txt")?.to_owned();
            (!cur.is_empty()).then(|| (cur, e.path()))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(IntelError::Invalid(format!(
            "{}: no {PREFIX}<CUR>.txt lists in this directory",
            display(dir)
        )));
    }
    let mut tags = TagSet::new();
    let mut digest = Sha256::new();
    for (cur, path) in &files {
        let bytes = read_file(path)?;
        let name = display(path);
        digest.update(format!("{PREFIX}{cur}.txt\n").as_bytes());
        digest.update(&bytes);
        parse_list(utf8(&bytes, &name)?, cur, &name, &mut tags, opts)?;
    }
    let dir_name = dir
        .file_name()
        .map_or_else(|| display(dir), |n| n.to_string_lossy().into_owned());
    Ok(Edition {
        source: opts.source.clone(),
        kind: "ofac-lists".into(),
        edition: opts
            .edition
            .clone()
            .unwrap_or_else(|| format!("lists {dir_name}")),
        input: display(dir),
        input_sha256: hex(&digest.finalize()),
        tags,
    })
}
