//! Property: re-import diffs are consistent. For any two editions,
//! `added − delisted = new count − old count`, per chain too, and
//! re-importing the same edition adds and delists nothing.

mod common;

use chainhound_intel::{
    Edition, ImportOptions, NewProvenance, NewTag, TagSet, TagStore, TagWriter, Tlp,
};
use proptest::prelude::*;

const ADDRS: [&str; 6] = [
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
    "0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
    "0x098b716b8aaf21512996dc57eb0615e2383e2f96", // same address, other spelling
    "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7",
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    "not-an-address",
];
const LABELS: [&str; 3] = ["exchange", "mixer", "Lazarus"];

/// (address index, label index, OFAC provenance?)
type Row = (usize, usize, bool);

fn edition(rows: &[Row]) -> Edition {
    let mut tags = TagSet::new();
    for &(a, l, ofac) in rows {
        tags.push(&NewTag {
            address: ADDRS[a],
            currency: None,
            label: LABELS[l],
            category: None,
            abuse: None,
            actor: None,
            country: None,
            confidence: None,
            tlp: Tlp::Clear,
            reference: None,
            source_time: None,
            line: 1,
            provenance: if ofac {
                NewProvenance::Ofac {
                    profile_id: Some(1),
                    name: None,
                    programs: "",
                    feature_type: "Digital Currency Address - XBT",
                    designated: None,
                }
            } else {
                NewProvenance::Csv { file: "x.csv" }
            },
        });
    }
    Edition {
        source: "prop".into(),
        kind: "csv".into(),
        edition: "e".into(),
        input: "-".into(),
        input_sha256: String::new(),
        tags,
    }
}

fn rows() -> impl Strategy<Value = Vec<Row>> {
    prop::collection::vec((0..ADDRS.len(), 0..LABELS.len(), any::<bool>()), 0..24)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn diffs_add_up(old in rows(), new in rows()) {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = TagWriter::open(tmp.path()).unwrap();
        let opts = ImportOptions { now: Some(0), list_limit: usize::MAX };
        let first = w.import(edition(&old), &opts).unwrap();
        prop_assert_eq!(first.added, old.len() as u64);
        prop_assert_eq!(first.delisted, 0);

        let r = w.import(edition(&new), &opts).unwrap();
        prop_assert_eq!(r.tags, new.len() as u64);
        prop_assert_eq!(r.previous_tags, old.len() as u64);
        prop_assert_eq!(r.added as i64 - r.delisted as i64, new.len() as i64 - old.len() as i64);
        prop_assert_eq!(r.added + r.unchanged, new.len() as u64);
        prop_assert_eq!(r.delisted + r.unchanged, old.len() as u64);
        prop_assert_eq!(r.added_listings.len() as u64, r.added);
        prop_assert_eq!(r.delisted_listings.len() as u64, r.delisted);
        let sum = |f: fn(&chainhound_intel::ChainCounts) -> u64| r.by_chain.iter().map(f).sum::<u64>();
        prop_assert_eq!(sum(|c| c.added), r.added);
        prop_assert_eq!(sum(|c| c.delisted), r.delisted);
        prop_assert_eq!(sum(|c| c.unchanged), r.unchanged);
        prop_assert_eq!(sum(|c| c.tags), r.tags);

        let same = w.import(edition(&new), &opts).unwrap();
        prop_assert_eq!((same.added, same.delisted, same.unchanged), (0, 0, new.len() as u64));
        drop(w);
        prop_assert_eq!(TagStore::open(tmp.path()).unwrap().len(), new.len() as u64);
    }
}
