//! The real GraphSense TagPacks (86 packs + the ActorPack): every tag
//! imports, from the archive and from an extracted directory alike, and
//! conflicting claims from two sources are both kept.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use chainhound_intel::import::ofac::{self, OfacOptions};
use chainhound_intel::import::tagpack::{self, TagPackOptions};
use chainhound_intel::{Chain, Provenance, Tag, Tlp};
use common::{import, open, shared, untar_xz, SDN_2025, TAGPACKS};

/// True for a line that starts a tag: a list item (`- key:` at any
/// indentation) of a TagPack (the packs have no other lists of mappings).
fn starts_tag(line: &str) -> bool {
    let t = line.trim_start();
    let Some(item) = t.strip_prefix("- ") else {
        return false;
    };
    match item.split_once(':') {
        Some((k, _)) => !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
        None => false,
    }
}

#[test]
fn every_tag_imports_from_the_archive_and_from_a_directory() {
    let Some(archive) = shared(TAGPACKS) else {
        return;
    };
    // independent count: tag list items in the packs (not the ActorPack)
    let files = untar_xz(&archive);
    let packs: Vec<&(String, Vec<u8>)> = files
        .iter()
        .filter(|(n, _)| n.starts_with("packs/") && n.ends_with(".yaml"))
        .collect();
    assert_eq!(packs.len(), 86);
    let expected: usize = packs
        .iter()
        .map(|(_, b)| {
            String::from_utf8_lossy(b)
                .lines()
                .filter(|l| starts_tag(l))
                .count()
        })
        .sum();
    assert_eq!(expected, 524_170, "independent count of tag entries");

    let tmp = tempfile::tempdir().unwrap();
    let edition = tagpack::load(&archive, &TagPackOptions::default()).unwrap();
    assert_eq!(edition.tags.len(), expected);
    assert_eq!(edition.source, "graphsense");
    let report = import(&tmp.path().join("a"), edition);
    assert_eq!(
        (report.tags, report.added, report.delisted),
        (524_170, 524_170, 0)
    );

    // the same packs from an extracted directory: the same tags
    let dir = tmp.path().join("extracted");
    for (name, bytes) in &files {
        let p = dir.join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }
    let from_dir = tagpack::load(&dir, &TagPackOptions::default()).unwrap();
    assert_eq!(from_dir.tags.len(), expected);
    let b = tmp.path().join("b");
    import(&b, from_dir);
    let key = |t: &Tag| {
        (
            t.address.clone(),
            t.label.clone(),
            t.chain,
            t.actor.clone(),
            t.country.clone(),
        )
    };
    let mut from_archive: Vec<_> = open(&tmp.path().join("a"))
        .tags()
        .map(|t| key(&t))
        .collect();
    let mut from_directory: Vec<_> = open(&b).tags().map(|t| key(&t)).collect();
    from_archive.sort();
    from_directory.sort();
    assert!(
        from_archive == from_directory,
        "archive and directory imports differ"
    );

    let store = open(&tmp.path().join("a"));
    // header fields are inherited; actors resolve through the ActorPack
    let fbi = store.tags_for("3LU8wRu4ZnXP4UM8Yo6kkTiGHM9BubgyiG");
    assert_eq!(fbi.len(), 1, "{fbi:?}");
    let t = &fbi[0];
    assert_eq!(t.label, "Lazarus group");
    assert_eq!(t.abuse.as_deref(), Some("sanction"));
    assert_eq!(t.actor.as_deref(), Some("lazarusgroup"));
    assert_eq!(t.confidence.as_deref(), Some("authority_data"));
    assert_eq!(t.confidence_score, Some(60));
    assert_eq!(t.chain, Chain::Btc);
    assert_eq!(t.tlp, Tlp::Amber, "no is_public: the import default");
    assert_eq!(t.source_time, Some(1_693_180_800), "lastmod 2023-08-28");
    let Provenance::TagPack(p) = &t.provenance else {
        panic!("{t:?}")
    };
    assert_eq!(
        p.title,
        "FBI Identifies Cryptocurrency Funds Stolen by DPRK"
    );
    assert_eq!(p.file, "packs/lazarus2.yaml");
    assert_eq!(p.actor_label.as_deref(), Some("Lazarus Group"));
    assert!(p.line > 10);

    // per-tag overrides: hacks.yaml tags carry their own category and label
    let bitstamp = store.tags_for("1JoktQJhCzuCQkt3GnQ8Xddcq4mUgNyXEa");
    assert!(bitstamp
        .iter()
        .any(|t| t.label == "Bitstamp" && t.category.as_deref() == Some("exchange")));
    // actor countries from the ActorPack jurisdictions
    let with_country = store.tags().filter(|t| t.country.is_some()).count();
    assert!(with_country > 0);
    // is_public: true gives TLP:CLEAR
    assert!(store.tags().any(
        |t| matches!(&t.provenance, Provenance::TagPack(p) if p.is_public == Some(true))
            && t.tlp == Tlp::Clear
    ));
    // categories are kept as given (GraphSense taxonomy)
    let cats: BTreeSet<String> = store.tags().filter_map(|t| t.category).collect();
    for c in ["exchange", "miner", "mixing_service", "user"] {
        assert!(cats.contains(c), "{c} not in {cats:?}");
    }
}

#[test]
fn conflicting_tags_from_two_sources_are_both_kept() {
    let (Some(archive), Some(sdn)) = (shared(TAGPACKS), shared(SDN_2025)) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    import(
        tmp.path(),
        ofac::load(&sdn, &OfacOptions::default()).unwrap(),
    );
    import(
        tmp.path(),
        tagpack::load(&archive, &TagPackOptions::default()).unwrap(),
    );
    let store = open(tmp.path());
    assert_eq!(store.sources().len(), 2);
    assert_eq!(store.len(), 761 + 524_170);
    // addresses tagged by both sources
    let ofac_addrs: BTreeSet<String> = store
        .source_tags("ofac")
        .unwrap()
        .map(|t| t.address)
        .collect();
    let mut both: BTreeMap<String, Vec<Tag>> = BTreeMap::new();
    for a in &ofac_addrs {
        let tags = store.tags_for(a);
        if tags.iter().any(|t| t.source == "graphsense") {
            both.insert(a.clone(), tags);
        }
    }
    assert!(
        both.len() >= 10,
        "only {} addresses in both sources",
        both.len()
    );
    for (a, tags) in &both {
        let sources: BTreeSet<&str> = tags.iter().map(|t| t.source.as_str()).collect();
        assert_eq!(sources, BTreeSet::from(["graphsense", "ofac"]), "{a}");
        // each keeps its own label and provenance
        assert!(tags
            .iter()
            .any(|t| matches!(t.provenance, Provenance::Ofac(_))));
        assert!(tags
            .iter()
            .any(|t| matches!(t.provenance, Provenance::TagPack(_))));
    }
    // the same address, differently labelled by the two sources
    assert!(both.values().any(|tags| {
        let labels: BTreeSet<&str> = tags.iter().map(|t| t.label.as_str()).collect();
        labels.len() > 1
    }));
}
