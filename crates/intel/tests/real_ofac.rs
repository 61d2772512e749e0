//! The real OFAC SDN advanced XML of 2025-11-19, cross-checked against the
//! third-party per-currency lists generated from it, and the 2024 lists →
//! 2025 XML delisting of Tornado Cash.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use chainhound_intel::import::ofac::{self, OfacOptions};
use chainhound_intel::{normalize, Chain, Provenance, Tag};
use common::{import, open, shared, untar_xz, SDN_2025, TAGPACKS};

/// (currency, normalized address) of every line of every
/// `sanctioned_addresses_<CUR>.txt` in `dir`.
fn list_entries(dir: &Path) -> BTreeSet<(String, String)> {
    let mut set = BTreeSet::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(cur) = name
            .strip_prefix("sanctioned_addresses_")
            .and_then(|n| n.strip_suffix(".txt"))
        else {
            continue;
        };
        for line in fs::read_to_string(e.path()).unwrap().lines() {
            if !line.trim().is_empty() {
                set.insert((cur.to_owned(), normalize(line).into_owned()));
            }
        }
    }
    set
}

fn ofac_tags(dir: &Path) -> Vec<Tag> {
    open(dir).source_tags("ofac").unwrap().collect()
}

fn ofac_info(t: &Tag) -> &chainhound_intel::OfacInfo {
    match &t.provenance {
        Provenance::Ofac(o) => o,
        other => panic!("not an OFAC tag: {other:?}"),
    }
}

/// Counts digital-currency address features by plain string search in the
/// decompressed XML: the ids of FeatureTypes named "Digital Currency
/// Address - …", then `<Feature … FeatureTypeID="id">` occurrences.
fn independent_feature_count(xml: &str) -> usize {
    let mut ids = Vec::new();
    for line in xml.lines().take(5000) {
        let l = line.trim();
        if l.starts_with("<FeatureType ID=\"") && l.contains(">Digital Currency Address - ") {
            let id = &l["<FeatureType ID=\"".len()..];
            ids.push(id[..id.find('"').unwrap()].to_owned());
        }
    }
    assert!(ids.len() >= 19, "{ids:?}");
    xml.lines()
        .filter(|l| {
            let l = l.trim_start();
            l.starts_with("<Feature ID=")
                && ids
                    .iter()
                    .any(|id| l.ends_with(&format!("FeatureTypeID=\"{id}\">")))
        })
        .count()
}

#[test]
fn sdn_2025_yields_every_address_and_matches_the_third_party_lists() {
    let (Some(sdn), Some(brave)) = (shared(SDN_2025), shared("ofac-sdn/brave-lists-2025-12"))
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let edition = ofac::load(&sdn, &OfacOptions::default()).unwrap();
    assert_eq!(edition.edition, "2025-11-19");
    assert_eq!(edition.kind, "ofac-xml");
    let report = import(tmp.path(), edition);
    assert_eq!(report.tags, 761);
    let tags = ofac_tags(tmp.path());
    assert_eq!(tags.len(), 761);

    // independent count of the features in the XML itself
    let xml = String::from_utf8(ofac::bunzip(&fs::read(&sdn).unwrap()).unwrap()).unwrap();
    assert_eq!(independent_feature_count(&xml), 761);

    // per currency, as PROVENANCE.md counts them
    let mut by_cur: BTreeMap<String, usize> = BTreeMap::new();
    for t in &tags {
        *by_cur.entry(t.currency.clone().unwrap()).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = [
        ("XBT", 519),
        ("USDT", 93),
        ("ETH", 77),
        ("TRX", 29),
        ("LTC", 11),
        ("XMR", 8),
        ("BCH", 7),
        ("ZEC", 3),
        ("DASH", 3),
        ("USDC", 2),
        ("ETC", 1),
        ("BTG", 1),
        ("BSV", 1),
        ("XVG", 1),
        ("XRP", 1),
        ("ARB", 1),
        ("BSC", 1),
        ("BNB", 1),
        ("SOL", 1),
    ]
    .into_iter()
    .map(|(c, n)| (c.to_owned(), n))
    .collect();
    assert_eq!(by_cur, expected);
    let profiles: BTreeSet<u64> = tags
        .iter()
        .map(|t| ofac_info(t).profile_id.unwrap())
        .collect();
    assert_eq!(profiles.len(), 79);

    // the same (currency, address) set as the lists generated from this file
    let ours: BTreeSet<(String, String)> = tags
        .iter()
        .map(|t| (t.currency.clone().unwrap(), t.address.clone()))
        .collect();
    let theirs = list_entries(&brave);
    let only_ours: Vec<_> = ours.difference(&theirs).collect();
    let only_theirs: Vec<_> = theirs.difference(&ours).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "only in our import: {only_ours:?}; only in the third-party lists: {only_theirs:?}"
    );

    // Lazarus Group: 8 ETH addresses under profile 27307, programme DPRK3
    let lazarus: Vec<&Tag> = tags
        .iter()
        .filter(|t| ofac_info(t).profile_id == Some(27307))
        .collect();
    assert_eq!(lazarus.len(), 8);
    for t in &lazarus {
        let o = ofac_info(t);
        assert_eq!(t.label, "Lazarus Group");
        assert_eq!(t.chain, Chain::Eth);
        assert_eq!(t.currency.as_deref(), Some("ETH"));
        assert_eq!(t.category.as_deref(), Some("sanction"));
        assert_eq!(t.actor.as_deref(), Some("Lazarus Group"));
        assert_eq!(o.programs, vec!["DPRK3".to_owned()]);
        assert_eq!(o.feature_type, "Digital Currency Address - ETH");
        assert_eq!(o.designated, Some(1_568_332_800), "2019-09-13");
        assert!(t.address.starts_with("0x") && t.address == t.address.to_lowercase());
    }
    // most USDT entries are TRON addresses
    let usdt: Vec<&Tag> = tags
        .iter()
        .filter(|t| t.currency.as_deref() == Some("USDT"))
        .collect();
    let tron = usdt.iter().filter(|t| t.chain == Chain::Tron).count();
    assert!(tron * 2 > usdt.len(), "{tron} of {}", usdt.len());
    // multi-programme entries
    let li = tags
        .iter()
        .find(|t| t.label.starts_with("Li Jiadong"))
        .expect("Li Jiadong");
    let mut programs = ofac_info(li).programs.clone();
    programs.sort();
    assert_eq!(programs, vec!["CYBER2", "DPRK3"]);
    // lookups with another spelling
    let store = open(tmp.path());
    let hits = store.tags_for("0x098B716B8Aaf21512996dC57EB0615e2383E2f96");
    assert_eq!(hits.len(), 1);
    assert_eq!(ofac_info(&hits[0]).profile_id, Some(27307));
}

/// Tornado Cash contract addresses, from GraphSense's tornado_cash.yaml
/// (read from the archive by plain line matching).
fn tornado_addresses(archive: &Path) -> BTreeSet<String> {
    let files = untar_xz(archive);
    let (_, bytes) = files
        .iter()
        .find(|(n, _)| n.ends_with("packs/tornado_cash.yaml"))
        .expect("tornado_cash.yaml in the archive");
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- address:"))
        .map(|a| a.trim().trim_matches('\'').trim_matches('"').to_lowercase())
        .collect()
}

#[test]
fn lists_of_2024_then_xml_of_2025_delist_tornado_cash() {
    let (Some(lists), Some(sdn), Some(packs)) = (
        shared("ofac-sdn/0xb10c-lists"),
        shared(SDN_2025),
        shared(TAGPACKS),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let first = import(
        tmp.path(),
        ofac::load(&lists, &OfacOptions::default()).unwrap(),
    );
    assert_eq!(first.previous_edition, None);
    assert_eq!(first.tags as usize, list_entries(&lists).len());
    let second = import(
        tmp.path(),
        ofac::load(&sdn, &OfacOptions::default()).unwrap(),
    );
    assert_eq!(
        second.previous_edition.as_deref(),
        Some("lists 0xb10c-lists")
    );
    assert_eq!(second.edition, "2025-11-19");
    assert_eq!(
        second.added as i64 - second.delisted as i64,
        second.tags as i64 - second.previous_tags as i64
    );
    let delisted: BTreeSet<&str> = second
        .delisted_listings
        .iter()
        .map(|l| l.address.as_str())
        .collect();
    assert_eq!(delisted.len() as u64, second.delisted);

    let tornado = tornado_addresses(&packs);
    let in_2024: BTreeSet<String> = list_entries(&lists)
        .into_iter()
        .filter(|(c, a)| c == "ETH" && tornado.contains(a))
        .map(|(_, a)| a)
        .collect();
    assert!(
        in_2024.len() >= 30,
        "Tornado Cash addresses in the 2024 list: {}",
        in_2024.len()
    );
    let missing: Vec<&String> = in_2024
        .iter()
        .filter(|a| !delisted.contains(a.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "Tornado Cash addresses not reported as delisted: {missing:?}"
    );
    // and none of them is in the store any more; Lazarus still is
    let store = open(tmp.path());
    for a in &in_2024 {
        assert!(store.tags_for(a).is_empty(), "{a}");
    }
    assert_eq!(
        store.tags_for("0x098b716b8aaf21512996dc57eb0615e2383e2f96")[0].label,
        "Lazarus Group"
    );
    // every delisting is an ETH-family address that the 2025 list dropped
    assert!(second
        .delisted_listings
        .iter()
        .all(|l| l.chain == Chain::Eth));
    assert_eq!(
        second.by_chain.iter().map(|c| c.delisted).sum::<u64>(),
        second.delisted
    );

    // re-importing the same edition changes nothing
    let again = import(
        tmp.path(),
        ofac::load(&sdn, &OfacOptions::default()).unwrap(),
    );
    assert_eq!((again.added, again.delisted, again.unchanged), (0, 0, 761));
}
