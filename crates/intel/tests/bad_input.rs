//! Malformed XML, YAML and CSV: one error naming the file, line and field,
//! and the edition already in the store stays whole.

mod common;

use std::fs;
use std::path::Path;

use chainhound_intel::import::csv::{self, CsvOptions};
use chainhound_intel::import::ofac::{self, OfacOptions};
use chainhound_intel::import::tagpack::{self, TagPackOptions};
use chainhound_intel::{IntelError, Tag, TagStore};
use common::{import, open};

const GOOD_CSV: &str = "address,label,category,actor,country,source,confidence
1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,genesis,miner,satoshi,,https://example.org/a,ownership
0x098B716B8Aaf21512996dC57EB0615e2383E2f96,case 42 suspect,scam,lazarus,KP,case file 42,80
TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7,mule,scam,,VN,,web_crawl
";

fn snapshot(dir: &Path) -> Vec<Tag> {
    open(dir).tags().collect()
}

fn err_text(e: IntelError) -> String {
    e.to_string()
}

/// Imports `good`, then fails to import `bad` with an error containing every
/// one of `expect`; the store is unchanged.
fn check_atomic(
    dir: &Path,
    good: impl FnOnce() -> chainhound_intel::Edition,
    bad: impl FnOnce() -> Result<chainhound_intel::Edition, IntelError>,
    expect: &[&str],
) {
    import(dir, good());
    let before = snapshot(dir);
    let sources_before = open(dir).sources().to_vec();
    assert!(!before.is_empty());
    let e = err_text(bad().expect_err("the broken edition must not parse"));
    for x in expect {
        assert!(e.contains(x), "error {e:?} does not mention {x:?}");
    }
    assert_eq!(snapshot(dir), before, "the old edition changed");
    assert_eq!(open(dir).sources(), &sources_before[..]);
}

#[test]
fn csv_errors_name_file_line_and_field_and_keep_the_old_edition() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.csv");
    fs::write(&good, GOOD_CSV).unwrap();
    let bad = tmp.path().join("bad.csv");
    // line 4 has a field too many
    fs::write(
        &bad,
        format!("{GOOD_CSV}1BoatSLRHtKNngkdXEeobR76b53LETtpyT,x,y,z,,,,extra\n").replace(
            "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7,mule,scam,,VN,,web_crawl\n",
            "",
        ),
    )
    .unwrap();
    let store = tmp.path().join("intel");
    check_atomic(
        &store,
        || csv::load(&good, &CsvOptions::new("case42")).unwrap(),
        || csv::load(&bad, &CsvOptions::new("case42")),
        &["bad.csv", "line 4", "fields"],
    );
    for (name, text, expect) in [
        (
            "conf.csv",
            "address,label,confidence\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,x,very high\n",
            &["conf.csv", "line 2", "field \"confidence\""][..],
        ),
        (
            "nolabel.csv",
            "address,category\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,x\n",
            &["nolabel.csv", "line 1", "field \"label\""][..],
        ),
        (
            "empty.csv",
            "address,label\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,x\n,y\n",
            &["empty.csv", "line 3", "field \"address\""][..],
        ),
        (
            "tlp.csv",
            "address,label,tlp\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,x,purple\n",
            &["tlp.csv", "line 2", "field \"tlp\""][..],
        ),
        (
            "quote.csv",
            "address,label\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,\"x\n",
            &["quote.csv"][..],
        ),
        (
            "latin1.csv",
            "address,label\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,caf\u{e9}\n",
            &[][..],
        ),
    ] {
        let p = tmp.path().join(name);
        let bytes = if name == "latin1.csv" {
            b"address,label\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,caf\xe9\n".to_vec()
        } else {
            text.as_bytes().to_vec()
        };
        fs::write(&p, bytes).unwrap();
        match csv::load(&p, &CsvOptions::new("case42")) {
            Err(e) => {
                let e = e.to_string();
                for x in expect {
                    assert!(e.contains(x), "{name}: {e:?} lacks {x:?}");
                }
                if name == "latin1.csv" {
                    assert!(e.contains("latin1.csv") && e.contains("line 2"), "{e}");
                }
            }
            Ok(ed) => panic!("{name} imported {} tags", ed.tags.len()),
        }
    }
    // the first edition is still whole
    let tags = snapshot(&store);
    assert_eq!(tags.len(), 3);
    assert_eq!(
        tags[1].address,
        "0x098b716b8aaf21512996dc57eb0615e2383e2f96"
    );
    assert_eq!(tags[1].confidence_score, Some(80));
    assert_eq!(tags[1].country.as_deref(), Some("KP"));
    assert_eq!(tags[1].reference.as_deref(), Some("case file 42"));
}

const PACK: &str = "title: Test pack
creator: ChainHound tests
label: test label
category: exchange
currency: BTC
lastmod: 2024-01-02
tags:
- address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa
- address: 1BoatSLRHtKNngkdXEeobR76b53LETtpyT
  label: other
  actor: someone
";

#[test]
fn yaml_errors_name_file_line_and_field_and_keep_the_old_edition() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    fs::create_dir_all(good.join("packs")).unwrap();
    fs::write(good.join("packs/a.yaml"), PACK).unwrap();
    let bad = tmp.path().join("bad");
    fs::create_dir_all(bad.join("packs")).unwrap();
    fs::write(bad.join("packs/a.yaml"), PACK).unwrap();
    // an unterminated quote on line 9
    fs::write(
        bad.join("packs/b.yaml"),
        PACK.replace(
            "- address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "- address: \"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        ),
    )
    .unwrap();
    let store = tmp.path().join("intel");
    check_atomic(
        &store,
        || tagpack::load(&good, &TagPackOptions::default()).unwrap(),
        || tagpack::load(&bad, &TagPackOptions::default()),
        &["b.yaml", "line", "malformed yaml"],
    );
    for (name, text, expect) in [
        (
            "date.yaml",
            PACK.replace("lastmod: 2024-01-02", "lastmod: last tuesday"),
            &["date.yaml", "line 6", "field \"lastmod\""][..],
        ),
        (
            "noaddr.yaml",
            PACK.replace(
                "- address: 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
                "- addr: 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
            ),
            &["noaddr.yaml", "line 9", "field \"address\""][..],
        ),
        (
            "nolabel.yaml",
            PACK.replace("label: test label\n", ""),
            &["nolabel.yaml", "line 7", "field \"label\""][..],
        ),
        (
            "list.yaml",
            PACK.replace("label: other", "label: [a, b]"),
            &["list.yaml", "line 10", "field \"label\""][..],
        ),
        (
            "public.yaml",
            PACK.replace("category: exchange", "is_public: maybe"),
            &["public.yaml", "line 4", "field \"is_public\""][..],
        ),
        (
            "tags.yaml",
            PACK.replace("tags:\n", "tags: 5\nx:\n"),
            &["tags.yaml", "field \"tags\""][..],
        ),
        (
            "indent.yaml",
            PACK.replace("  label: other", " label: other"),
            &["indent.yaml", "line 10"][..],
        ),
        (
            "scalar.yaml",
            "just a string\n".to_owned(),
            &["scalar.yaml", "mapping"][..],
        ),
        ("empty.yaml", String::new(), &["empty.yaml", "empty"][..]),
        (
            "twodocs.yaml",
            format!("{PACK}---\n{PACK}"),
            &["twodocs.yaml", "more than one"][..],
        ),
    ] {
        let p = tmp.path().join(name);
        fs::write(&p, &text).unwrap();
        let e = tagpack::load(&p, &TagPackOptions::default())
            .map(|e| e.tags.len())
            .expect_err(name)
            .to_string();
        for x in expect {
            assert!(e.contains(x), "{name}: {e:?} lacks {x:?}");
        }
    }
    // a damaged archive names the archive
    let Some(archive) = common::shared(common::TAGPACKS) else {
        return;
    };
    let mut bytes = fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x55;
    }
    let damaged = tmp.path().join("damaged.tar.xz");
    fs::write(&damaged, &bytes).unwrap();
    let e = tagpack::load(&damaged, &TagPackOptions::default())
        .map(|e| e.tags.len())
        .expect_err("damaged archive")
        .to_string();
    assert!(e.contains("damaged.tar.xz"), "{e}");
    let truncated = tmp.path().join("truncated.tar.xz");
    fs::write(&truncated, &fs::read(&archive).unwrap()[..mid]).unwrap();
    let e = tagpack::load(&truncated, &TagPackOptions::default())
        .map(|e| e.tags.len())
        .expect_err("truncated archive")
        .to_string();
    assert!(e.contains("truncated.tar.xz"), "{e}");
}

const MINI_SDN: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Sanctions>
  <DateOfIssue><Year>2025</Year><Month>1</Month><Day>2</Day></DateOfIssue>
  <ReferenceValueSets>
    <FeatureTypeValues><FeatureType ID="7">Digital Currency Address - XBT</FeatureType></FeatureTypeValues>
    <SanctionsTypeValues><SanctionsType ID="1">Program</SanctionsType></SanctionsTypeValues>
  </ReferenceValueSets>
  <DistinctParties>
    <DistinctParty><Profile ID="10"><Identity Primary="true"><Alias Primary="true"><DocumentedName><DocumentedNamePart><NamePartValue>Test Party</NamePartValue></DocumentedNamePart></DocumentedName></Alias></Identity>
      <Feature ID="1" FeatureTypeID="7"><FeatureVersion><VersionDetail>1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa</VersionDetail></FeatureVersion></Feature>
    </Profile></DistinctParty>
  </DistinctParties>
  <SanctionsEntries><SanctionsEntry ProfileID="10"><SanctionsMeasure SanctionsTypeID="1"><Comment>DPRK3</Comment></SanctionsMeasure></SanctionsEntry></SanctionsEntries>
</Sanctions>
"#;

#[test]
fn xml_errors_name_file_and_line_and_keep_the_old_edition() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("sdn.xml");
    fs::write(&good, MINI_SDN).unwrap();
    let store = tmp.path().join("intel");
    for (name, text, expect) in [
        (
            "cut.xml",
            MINI_SDN[..MINI_SDN.find("</DistinctParties>").unwrap()].to_owned(),
            &["cut.xml", "unexpected end of file"][..],
        ),
        (
            "mismatch.xml",
            MINI_SDN.replace("</Profile></DistinctParty>", "</Profile></DistinctPartyX>"),
            &["mismatch.xml", "line 11", "malformed xml"][..],
        ),
        (
            "year.xml",
            MINI_SDN.replace("<Year>2025</Year>", "<Year>MMXXV</Year>"),
            &["year.xml", "line 3", "field \"Year\""][..],
        ),
        (
            "attr.xml",
            MINI_SDN.replace("FeatureTypeID=\"7\"", "FeatureTypeID=\"seven\""),
            &["attr.xml", "line 10", "field \"FeatureTypeID\""][..],
        ),
        (
            "entity.xml",
            MINI_SDN.replace("Test Party", "Test &bogus; Party"),
            &["entity.xml", "line 9"][..],
        ),
    ] {
        let bad = tmp.path().join(name);
        fs::write(&bad, &text).unwrap();
        check_atomic(
            &store,
            || ofac::load(&good, &OfacOptions::default()).unwrap(),
            || ofac::load(&bad, &OfacOptions::default()),
            expect,
        );
    }
    let t = &TagStore::open(&store)
        .unwrap()
        .tags_for("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")[0];
    assert_eq!(t.label, "Test Party");
    // a damaged .bz2 names the file
    let Some(sdn) = common::shared(common::SDN_2025) else {
        return;
    };
    let mut bytes = fs::read(&sdn).unwrap();
    let n = bytes.len();
    bytes.truncate(n / 3);
    let cut = tmp.path().join("cut.xml.bz2");
    fs::write(&cut, &bytes).unwrap();
    let e = ofac::load(&cut, &OfacOptions::default())
        .map(|e| e.tags.len())
        .expect_err("cut bz2");
    assert!(e.to_string().contains("cut.xml.bz2"), "{e}");
}
