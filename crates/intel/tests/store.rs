//! The store: layout, crash leftovers, locking, corruption, lookups by any
//! spelling, filters, conflicting tags.

mod common;

use std::fs;

use chainhound_intel::import::csv::{self, CsvOptions};
use chainhound_intel::{
    Chain, IntelError, NewProvenance, NewTag, TagFilter, TagSet, TagStore, TagWriter, Tlp,
};
use common::{import, open};

fn csv_edition(source: &str, text: &str) -> chainhound_intel::Edition {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join(format!("{source}.csv"));
    fs::write(&p, text).unwrap();
    csv::load(&p, &CsvOptions::new(source)).unwrap()
}

const A: &str = "address,label,category,actor,country,confidence,tlp
0x098B716B8Aaf21512996dC57EB0615e2383E2f96,Lazarus hot wallet,service_hack,lazarusgroup,KP,90,red
bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq,exchange deposit,exchange,bitkub,TH,service_data,
bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a,gambling,gambling,,,,green
";

const B: &str = "address,label,category
0x098b716b8aaf21512996dc57eb0615e2383e2f96,Upbit hack 2019,service_hack
";

#[test]
fn missing_store_is_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let s = TagStore::open(tmp.path().join("nothing-here")).unwrap();
    assert!(s.is_empty());
    assert!(s.sources().is_empty());
    assert!(s.tags_for("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa").is_empty());
}

#[test]
fn conflicting_sources_are_kept_side_by_side_and_found_by_any_spelling() {
    let tmp = tempfile::tempdir().unwrap();
    import(tmp.path(), csv_edition("case-a", A));
    import(tmp.path(), csv_edition("case-b", B));
    let s = open(tmp.path());
    assert_eq!(s.len(), 4);
    let names: Vec<&str> = s.sources().iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["case-a", "case-b"]);
    for spelling in [
        "0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
        "0x098b716b8aaf21512996dc57eb0615e2383e2f96",
        " 0X098B716B8AAF21512996DC57EB0615E2383E2F96 ",
    ] {
        let tags = s.tags_for(spelling);
        let labels: Vec<&str> = tags.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(
            labels,
            ["Lazarus hot wallet", "Upbit hack 2019"],
            "{spelling}"
        );
        assert!(s.is_tagged(spelling));
    }
    let t = &s.tags_for("0x098b716b8aaf21512996dc57eb0615e2383e2f96")[0];
    assert_eq!(
        (t.tlp, t.confidence_score, t.country.as_deref()),
        (Tlp::Red, Some(90), Some("KP"))
    );
    assert_eq!(t.chain, Chain::Eth);
    assert_eq!(t.imported_at, 1_700_000_000);
    assert_eq!(
        s.tags_for("BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ")[0].confidence_score,
        Some(50)
    );
    let bch = s.tags_for("qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a");
    assert_eq!(bch.len(), 1);
    assert_eq!((bch[0].chain, bch[0].tlp), (Chain::Bch, Tlp::Green));
    assert_eq!(
        s.tags_for("bitcoincash:QPM2QSZNHKS23Z7629MMS6S4CWEF74VCWVY22GDX6A")
            .len(),
        1
    );

    let f = |source: Option<&str>, category: Option<&str>, chain: Option<Chain>| TagFilter {
        source: source.map(str::to_owned),
        category: category.map(str::to_owned),
        chain,
        address: None,
    };
    assert_eq!(s.select(&f(None, Some("service_hack"), None)).count(), 2);
    assert_eq!(
        s.select(&f(Some("case-a"), Some("service_hack"), None))
            .count(),
        1
    );
    assert_eq!(s.select(&f(None, None, Some(Chain::Btc))).count(), 1);
    assert_eq!(s.select(&f(Some("nope"), None, None)).count(), 0);
    let by_addr = TagFilter {
        address: Some("0x098B716B8Aaf21512996dC57EB0615e2383E2f96".into()),
        source: Some("case-b".into()),
        ..TagFilter::default()
    };
    assert_eq!(s.select(&by_addr).count(), 1);
    assert_eq!(s.source_tags("case-a").unwrap().count(), 3);
    assert!(s.source_tags("nope").is_none());
}

#[test]
fn one_writer_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let _w = TagWriter::open(tmp.path()).unwrap();
    match TagWriter::open(tmp.path()) {
        Err(IntelError::Locked(_)) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn leftovers_of_a_killed_import_are_ignored_then_removed() {
    let tmp = tempfile::tempdir().unwrap();
    import(tmp.path(), csv_edition("case-a", A));
    let before: Vec<_> = open(tmp.path()).tags().collect();
    // an import killed after writing its source file, before the manifest
    let sources = tmp.path().join("sources");
    fs::write(sources.join("case-a-99.tags"), b"half-written").unwrap();
    fs::write(sources.join("case-b-98.tags.tmp"), b"half").unwrap();
    fs::write(tmp.path().join("MANIFEST.tmp"), b"garbage").unwrap();
    assert_eq!(open(tmp.path()).tags().collect::<Vec<_>>(), before);
    // the next import removes them
    import(tmp.path(), csv_edition("case-b", B));
    let mut left: Vec<String> = fs::read_dir(&sources)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().all(|f| f.ends_with(".tags")));
    // replacing an edition removes the old file
    import(tmp.path(), csv_edition("case-b", B));
    assert_eq!(fs::read_dir(&sources).unwrap().count(), 2);
}

#[test]
fn a_damaged_source_file_is_reported_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    import(tmp.path(), csv_edition("case-a", A));
    let file = fs::read_dir(tmp.path().join("sources"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut b = fs::read(&file).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 1;
    fs::write(&file, &b).unwrap();
    let e = TagStore::open(tmp.path()).unwrap_err().to_string();
    assert!(
        e.contains("corrupt") && e.contains(&*file.file_name().unwrap().to_string_lossy()),
        "{e}"
    );
    // re-importing the source repairs it
    import(tmp.path(), csv_edition("case-a", A));
    assert_eq!(open(tmp.path()).len(), 3);
}

#[test]
fn remove_a_source() {
    let tmp = tempfile::tempdir().unwrap();
    import(tmp.path(), csv_edition("case-a", A));
    import(tmp.path(), csv_edition("case-b", B));
    let mut w = TagWriter::open(tmp.path()).unwrap();
    let r = w.remove("case-a").unwrap().unwrap();
    assert_eq!((r.delisted, r.tags), (3, 0));
    assert!(w.remove("case-a").unwrap().is_none());
    drop(w);
    assert_eq!(open(tmp.path()).len(), 1);
}

#[test]
fn source_names_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = TagWriter::open(tmp.path()).unwrap();
    for bad in ["", "../x", "Caps", "a b", &"x".repeat(65)] {
        let e = chainhound_intel::Edition {
            source: bad.to_owned(),
            kind: "csv".into(),
            edition: "1".into(),
            input: "-".into(),
            input_sha256: String::new(),
            tags: TagSet::new(),
        };
        assert!(w.import(e, &Default::default()).is_err(), "{bad:?}");
    }
}

#[test]
fn a_programmatic_tag_set_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let mut set = TagSet::new();
    set.push(&NewTag {
        address: "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7",
        currency: Some("USDT"),
        label: "Huione deposit",
        category: Some("exchange"),
        abuse: None,
        actor: Some("huione"),
        country: Some("KH"),
        confidence: Some("forensic"),
        tlp: Tlp::AmberStrict,
        reference: Some("case 7"),
        source_time: Some(1_700_000_000),
        line: 0,
        provenance: NewProvenance::Csv { file: "manual" },
    });
    let e = chainhound_intel::Edition {
        source: "manual".into(),
        kind: "csv".into(),
        edition: "1".into(),
        input: "-".into(),
        input_sha256: String::new(),
        tags: set,
    };
    import(tmp.path(), e);
    let t = &open(tmp.path()).tags_for("TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7")[0];
    assert_eq!(t.chain, Chain::Tron);
    assert_eq!(t.tlp, Tlp::AmberStrict);
    assert_eq!(t.source_time, Some(1_700_000_000));
    assert_eq!(t.confidence_score, Some(50));
}
