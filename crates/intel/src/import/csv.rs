//! CSV tags: a header row naming the columns, then one tag per row.
//!
//! Columns (any order, names case-insensitive): `address` and `label` are
//! required; `category`, `actor`, `country`, `source` (the cited reference),
//! `confidence` (a GraphSense id or 0–100), `tlp`, `currency` (or `chain`,
//! `network`: the chain hint), `abuse` and `lastmod` (or `date`) are optional;
//! other columns are ignored.

use std::path::Path;

use crate::error::{IntelError, Location, Result};
use crate::tag::{confidence_score, Tlp};
use crate::tagset::{NewProvenance, NewTag, TagSet};
use crate::time::parse_datetime;
use crate::writer::Edition;

use super::{display, read_file, sha256_hex};

/// Options of a CSV import.
#[derive(Clone, Debug)]
pub struct CsvOptions {
    /// The source name (required: there is no default).
    pub source: String,
    /// The edition to record (default: `sha256:` and the first 12 hex digits
    /// of the file's digest).
    pub edition: Option<String>,
    /// TLP of rows without a `tlp` value (default amber).
    pub default_tlp: Tlp,
}

impl CsvOptions {
    /// Options for source `source`, other fields at their defaults.
    pub fn new(source: impl Into<String>) -> CsvOptions {
        CsvOptions {
            source: source.into(),
            edition: None,
            default_tlp: Tlp::Amber,
        }
    }
}

#[derive(Default)]
struct Columns {
    address: Option<usize>,
    label: Option<usize>,
    category: Option<usize>,
    actor: Option<usize>,
    country: Option<usize>,
    source: Option<usize>,
    confidence: Option<usize>,
    tlp: Option<usize>,
    currency: Option<usize>,
    abuse: Option<usize>,
    lastmod: Option<usize>,
}

fn csv_error(file: &str, e: &csv::Error) -> IntelError {
    let mut at = Location::file(file);
    if let Some(p) = e.position() {
        at = at.at_line(p.line()).at_offset(p.byte());
    }
    let what = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("row has {len} fields, the header has {expected_len}"),
        csv::ErrorKind::Utf8 { err, .. } => format!("field {} is not valid utf-8", err.field() + 1),
        _ => format!("malformed csv: {e}"),
    };
    IntelError::input(at, what)
}

/// Parses CSV bytes (named `file` in errors and provenance) into tags.
pub fn parse_csv(bytes: &[u8], file: &str, opts: &CsvOptions) -> Result<TagSet> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers = rdr.headers().map_err(|e| csv_error(file, &e))?.clone();
    let mut c = Columns::default();
    for (i, h) in headers.iter().enumerate() {
        let slot = match h.trim().to_ascii_lowercase().as_str() {
            "address" => &mut c.address,
            "label" => &mut c.label,
            "category" => &mut c.category,
            "actor" => &mut c.actor,
            "country" => &mut c.country,
            "source" => &mut c.source,
            "confidence" => &mut c.confidence,
            "tlp" => &mut c.tlp,
            "currency" | "chain" | "network" => &mut c.currency,
            "abuse" => &mut c.abuse,
            "lastmod" | "date" => &mut c.lastmod,
            _ => continue,
        };
        slot.get_or_insert(i);
    }
    let header_at = Location::file(file).at_line(1);
    let (Some(ac), Some(lc)) = (c.address, c.label) else {
        let missing = if c.address.is_none() {
            "address"
        } else {
            "label"
        };
        return Err(IntelError::input(
            header_at.field(missing),
            format!("the header has no {missing:?} column (need address,label,…)"),
        ));
    };
    // The csv crate ends an unterminated quoted field at end of file; a
    // well-formed file has an even number of quote characters.
    let unbalanced = bytes.iter().filter(|&&b| b == b'"').count() % 2 == 1;
    let mut tags = TagSet::new();
    let mut rec = csv::StringRecord::new();
    let mut last_line = 1;
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(file, &e)),
        }
        let line = rec.position().map_or(0, |p| p.line());
        last_line = line;
        let at = |field: &str| Location::file(file).at_line(line).field(field);
        let get = |i: Option<usize>| {
            i.and_then(|i| rec.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let address =
            get(Some(ac)).ok_or_else(|| IntelError::input(at("address"), "empty address"))?;
        let label = get(Some(lc)).ok_or_else(|| IntelError::input(at("label"), "empty label"))?;
        let confidence = get(c.confidence);
        if let Some(conf) = confidence {
            if confidence_score(conf).is_none() {
                return Err(IntelError::input(
                    at("confidence"),
                    format!("{conf:?} is neither a GraphSense confidence id nor a number 0-100"),
                ));
            }
        }
        let tlp = match get(c.tlp) {
            None => opts.default_tlp,
            Some(t) => t
                .parse::<Tlp>()
                .map_err(|e| IntelError::input(at("tlp"), e))?,
        };
        let source_time = match get(c.lastmod) {
            None => None,
            Some(d) => Some(parse_datetime(d).ok_or_else(|| {
                IntelError::input(at("lastmod"), format!("not a date (YYYY-MM-DD): {d:?}"))
            })?),
        };
        tags.push(&NewTag {
            address,
            currency: get(c.currency),
            label,
            category: get(c.category),
            abuse: get(c.abuse),
            actor: get(c.actor),
            country: get(c.country),
            confidence,
            tlp,
            reference: get(c.source),
            source_time,
            line,
            provenance: NewProvenance::Csv { file },
        });
    }
    if unbalanced {
        return Err(IntelError::input(
            Location::file(file).at_line(last_line),
            "unterminated quoted field (odd number of '\"' in the file)",
        ));
    }
    Ok(tags)
}

/// Reads a CSV file into an edition of `opts.source`.
pub fn load(path: &Path, opts: &CsvOptions) -> Result<Edition> {
    crate::writer::check_source_name(&opts.source)?;
    let bytes = read_file(path)?;
    let sha = sha256_hex(&bytes);
    let name = display(path);
    let tags = parse_csv(&bytes, &name, opts)?;
    Ok(Edition {
        source: opts.source.clone(),
        kind: "csv".into(),
        edition: opts
            .edition
            .clone()
            .unwrap_or_else(|| format!("sha256:{}", &sha[..12])),
        input: name,
        input_sha256: sha,
        tags,
    })
}
