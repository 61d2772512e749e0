//! Etherscan label scrapes (found by [`crate::etl::read_dir`]) as an
//! attribution source: an [`Edition`] for `chainhound_intel::TagWriter`.
//!
//! Each row becomes one tag: the label is the name (or the family when the
//! name is empty), the category is the family as Etherscan writes it
//! (`exchange`, `tornado-cash`, `upbit-hack`, …; [`crate::model::role_of`]
//! maps the ones that matter for flows), the currency is `ETH`, TLP:CLEAR
//! (public labels), provenance the file and line.

use chainhound_intel::{Edition, NewProvenance, NewTag, TagSet, Tlp};
use sha2::{Digest, Sha256};

use crate::etl::LabelFile;

/// The edition of source `source` holding `file`'s labels.
pub fn edition(file: &LabelFile, source: &str) -> Edition {
    let sha: String = Sha256::digest(&file.raw)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let name = file.path.display().to_string();
    let mut tags = TagSet::new();
    for r in &file.rows {
        let label = if r.name.is_empty() {
            r.family.as_str()
        } else {
            r.name.as_str()
        };
        if label.is_empty() {
            continue;
        }
        tags.push(&NewTag {
            address: &r.address,
            currency: Some("ETH"),
            label,
            category: (!r.family.is_empty()).then_some(r.family.as_str()),
            abuse: None,
            actor: None,
            country: None,
            confidence: None,
            tlp: Tlp::Clear,
            reference: Some("etherscan.io label"),
            source_time: None,
            line: r.line,
            provenance: NewProvenance::Csv { file: &name },
        });
    }
    Edition {
        source: source.to_string(),
        kind: "etherscan-csv".into(),
        edition: format!("sha256:{}", &sha[..12]),
        input: name,
        input_sha256: sha,
        tags,
    }
}
