//! OFAC `SDN_ADVANCED.XML`, streamed with quick-xml.
//!
//! What is read, and how it links:
//!
//! * `DateOfIssue/{Year,Month,Day}` → the edition.
//! * `ReferenceValueSets/FeatureTypeValues/FeatureType[@ID]` → feature type
//!   names. Digital-currency features are those whose type *name* starts with
//!   `Digital Currency Address - ` (the numeric ids differ between editions).
//! * `ReferenceValueSets/SanctionsTypeValues/SanctionsType[@ID]` → the id of
//!   the type named `Program`.
//! * `DistinctParties/DistinctParty/Profile[@ID]`: the primary name is the
//!   first `DocumentedName` of the primary `Alias` of the primary `Identity`,
//!   its `NamePartValue`s joined by spaces; each `Feature` of a
//!   digital-currency type gives one address per `FeatureVersion/VersionDetail`.
//! * `SanctionsEntries/SanctionsEntry[@ProfileID]`: `SanctionsMeasure`s of the
//!   `Program` type carry the programme code in their `Comment`
//!   (`DPRK3`); the earliest `EntryEvent/Date` is the designation date.
//!
//! The file is UTF-8 XML; anything malformed is an error naming the file,
//! line and byte offset.

use std::collections::HashMap;
use std::io::{BufReader, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::{IntelError, Location, Result};
use crate::tag::Tlp;
use crate::tagset::{NewProvenance, NewTag, TagSet};
use crate::time::date_to_unix;

const DCA: &str = "Digital Currency Address - ";

/// A parsed SDN advanced XML file.
#[derive(Debug)]
pub struct SdnXml {
    /// `YYYY-MM-DD` of `DateOfIssue`.
    pub date_of_issue: String,
    /// One tag per digital-currency address feature version.
    pub tags: TagSet,
    /// Profiles with at least one address.
    pub profiles: usize,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum El {
    Sanctions,
    DateOfIssue,
    Year,
    Month,
    Day,
    FeatureType,
    SanctionsType,
    Profile,
    Identity,
    Alias,
    DocumentedName,
    NamePartValue,
    Feature,
    VersionDetail,
    SanctionsEntry,
    EntryEvent,
    Date,
    SanctionsMeasure,
    Comment,
    Other,
}

fn element(name: &str) -> El {
    match name {
        "Sanctions" => El::Sanctions,
        "DateOfIssue" => El::DateOfIssue,
        "Year" => El::Year,
        "Month" => El::Month,
        "Day" => El::Day,
        "FeatureType" => El::FeatureType,
        "SanctionsType" => El::SanctionsType,
        "Profile" => El::Profile,
        "Identity" => El::Identity,
        "Alias" => El::Alias,
        "DocumentedName" => El::DocumentedName,
        "NamePartValue" => El::NamePartValue,
        "Feature" => El::Feature,
        "VersionDetail" => El::VersionDetail,
        "SanctionsEntry" => El::SanctionsEntry,
        "EntryEvent" => El::EntryEvent,
        "Date" => El::Date,
        "SanctionsMeasure" => El::SanctionsMeasure,
        "Comment" => El::Comment,
        _ => El::Other,
    }
}

struct Address {
    currency: String,
    feature_type: String,
    address: String,
    line: u64,
}

struct Profile {
    id: u64,
    name: Vec<String>,
    name_done: bool,
    addresses: Vec<Address>,
}

#[derive(Default)]
struct Entry {
    programs: Vec<String>,
    designated: Option<i64>,
}

#[derive(Default)]
struct Ymd {
    y: Option<i64>,
    m: Option<u32>,
    d: Option<u32>,
}

impl Ymd {
    fn unix(&self) -> Option<i64> {
        date_to_unix(self.y?, self.m?, self.d?)
    }
}

struct Parser<'f> {
    file: &'f str,
    line: u64,
    stack: Vec<El>,
    text: String,
    collecting: bool,
    issue: Ymd,
    feature_types: HashMap<u64, String>,
    program_type: Option<u64>,
    profiles: Vec<Profile>,
    profile_index: HashMap<u64, usize>,
    profile: Option<Profile>,
    primary_identity: bool,
    primary_alias: bool,
    feature: Option<(String, u64)>,
    feature_addresses: Vec<String>,
    entries: HashMap<u64, Entry>,
    entry: Option<(u64, Entry)>,
    measure_is_program: bool,
    date: Ymd,
    last_id: Option<u64>,
}

impl<'f> Parser<'f> {
    fn at(&self) -> Location {
        Location::file(self.file).at_line(self.line)
    }

    fn err(&self, field: &str, what: impl Into<String>) -> IntelError {
        IntelError::input(self.at().field(field), what)
    }

    fn attr_u64(&self, e: &BytesStart<'_>, name: &str) -> Result<Option<u64>> {
        let a = e
            .try_get_attribute(name)
            .map_err(|err| self.err(name, format!("malformed attribute: {err}")))?;
        match a {
            None => Ok(None),
            Some(a) => a
                .value
                .trim()
                .parse::<u64>()
                .map(Some)
                .map_err(|_| self.err(name, format!("not a number: {:?}", a.value))),
        }
    }

    fn attr_true(&self, e: &BytesStart<'_>, name: &str) -> bool {
        matches!(e.try_get_attribute(name), Ok(Some(a)) if a.value.trim() == "true")
    }

    fn parent(&self, n: usize) -> El {
        let len = self.stack.len();
        if len > n {
            self.stack[len - 1 - n]
        } else {
            El::Other
        }
    }

    fn start(&mut self, e: &BytesStart<'_>) -> Result<()> {
        let el = element(e.local_name().as_ref());
        if self.stack.is_empty() && el != El::Sanctions {
            return Err(self.err(
                "Sanctions",
                format!(
                    "not an OFAC SDN advanced XML file (root element <{}>)",
                    e.local_name().as_ref()
                ),
            ));
        }
        let parent = self.parent(0);
        self.collecting = false;
        match el {
            El::Year | El::Month | El::Day
                if parent == El::DateOfIssue || (parent == El::Date && self.entry.is_some()) =>
            {
                self.collecting = true
            }
            El::FeatureType | El::SanctionsType => {
                self.last_id = self.attr_u64(e, "ID")?;
                self.collecting = true;
            }
            El::Profile => {
                let id = self
                    .attr_u64(e, "ID")?
                    .ok_or_else(|| self.err("ID", "profile without an ID"))?;
                self.profile = Some(Profile {
                    id,
                    name: Vec::new(),
                    name_done: false,
                    addresses: Vec::new(),
                });
            }
            El::Identity if parent == El::Profile => {
                self.primary_identity = self.attr_true(e, "Primary");
            }
            El::Alias if parent == El::Identity => {
                self.primary_alias = self.primary_identity && self.attr_true(e, "Primary");
            }
            El::NamePartValue => {
                self.collecting = self.primary_alias
                    && self.profile.as_ref().is_some_and(|p| !p.name_done)
                    && self.stack.contains(&El::DocumentedName);
            }
            El::Feature if parent == El::Profile => {
                if self.feature_types.is_empty() {
                    return Err(self.err(
                        "FeatureType",
                        "features before any FeatureType values (FeatureTypeValues must come first)",
                    ));
                }
                let id = self
                    .attr_u64(e, "FeatureTypeID")?
                    .ok_or_else(|| self.err("FeatureTypeID", "feature without a FeatureTypeID"))?;
                self.feature = self
                    .feature_types
                    .get(&id)
                    .filter(|n| n.starts_with(DCA))
                    .map(|n| (n.clone(), self.line));
                self.feature_addresses.clear();
            }
            El::VersionDetail => self.collecting = self.feature.is_some(),
            El::SanctionsEntry => {
                let id = self
                    .attr_u64(e, "ProfileID")?
                    .ok_or_else(|| self.err("ProfileID", "sanctions entry without a ProfileID"))?;
                self.entry = Some((id, Entry::default()));
            }
            El::SanctionsMeasure if self.entry.is_some() => {
                self.measure_is_program = self.program_type.is_some()
                    && self.attr_u64(e, "SanctionsTypeID")? == self.program_type;
            }
            El::Comment => {
                self.collecting = parent == El::SanctionsMeasure && self.measure_is_program;
            }
            El::Date if parent == El::EntryEvent => self.date = Ymd::default(),
            _ => {}
        }
        if self.collecting {
            self.text.clear();
        }
        self.stack.push(el);
        Ok(())
    }

    fn number<T: std::str::FromStr>(&self, field: &str) -> Result<T> {
        self.text
            .trim()
            .parse()
            .map_err(|_| self.err(field, format!("not a number: {:?}", self.text.trim())))
    }

    fn end(&mut self) -> Result<()> {
        let Some(el) = self.stack.pop() else {
            return Ok(());
        };
        let parent = self.parent(0);
        let collected = std::mem::replace(&mut self.collecting, false);
        match el {
            El::Year | El::Month | El::Day if collected => {
                let name = match el {
                    El::Year => "Year",
                    El::Month => "Month",
                    _ => "Day",
                };
                let (y, m, d) = match el {
                    El::Year => (Some(self.number::<i64>(name)?), None, None),
                    El::Month => (None, Some(self.number::<u32>(name)?), None),
                    _ => (None, None, Some(self.number::<u32>(name)?)),
                };
                let target = if parent == El::DateOfIssue {
                    &mut self.issue
                } else {
                    &mut self.date
                };
                target.y = y.or(target.y);
                target.m = m.or(target.m);
                target.d = d.or(target.d);
            }
            El::FeatureType if collected => {
                if let Some(id) = self.last_id {
                    self.feature_types.insert(id, self.text.trim().to_owned());
                }
            }
            El::SanctionsType if collected && self.text.trim() == "Program" => {
                self.program_type = self.last_id;
            }
            El::NamePartValue if collected => {
                let part = self.text.trim().to_owned();
                if let Some(p) = self.profile.as_mut() {
                    if !part.is_empty() {
                        p.name.push(part);
                    }
                }
            }
            El::DocumentedName if self.primary_alias => {
                if let Some(p) = self.profile.as_mut() {
                    p.name_done = p.name_done || !p.name.is_empty();
                }
            }
            El::Alias if parent == El::Identity => self.primary_alias = false,
            El::Identity if parent == El::Profile => self.primary_identity = false,
            El::VersionDetail if collected => {
                let a = self.text.trim();
                if !a.is_empty() {
                    self.feature_addresses.push(a.to_owned());
                }
            }
            El::Feature if parent == El::Profile => {
                if let Some((name, line)) = self.feature.take() {
                    if self.feature_addresses.is_empty() {
                        return Err(IntelError::input(
                            Location::file(self.file)
                                .at_line(line)
                                .field("VersionDetail"),
                            format!("{name} feature without an address"),
                        ));
                    }
                    let currency = name[DCA.len()..].trim().to_owned();
                    let p = self.profile.as_mut().ok_or_else(|| {
                        IntelError::input(
                            Location::file(self.file).at_line(line),
                            "feature outside a profile",
                        )
                    })?;
                    for a in self.feature_addresses.drain(..) {
                        p.addresses.push(Address {
                            currency: currency.clone(),
                            feature_type: name.clone(),
                            address: a,
                            line,
                        });
                    }
                }
            }
            El::Profile => {
                if let Some(p) = self.profile.take() {
                    if !p.addresses.is_empty() {
                        self.profile_index.insert(p.id, self.profiles.len());
                        self.profiles.push(p);
                    }
                }
            }
            El::Comment if collected => {
                let code = self.text.trim();
                if let Some((_, entry)) = self.entry.as_mut() {
                    if !code.is_empty() && !entry.programs.iter().any(|p| p == code) {
                        entry.programs.push(code.to_owned());
                    }
                }
            }
            El::SanctionsMeasure => self.measure_is_program = false,
            El::Date if parent == El::EntryEvent => {
                if let (Some(t), Some((_, entry))) = (self.date.unix(), self.entry.as_mut()) {
                    entry.designated = Some(entry.designated.map_or(t, |d: i64| d.min(t)));
                }
            }
            El::SanctionsEntry => {
                if let Some((id, entry)) = self.entry.take() {
                    if self.profile_index.contains_key(&id) {
                        let e = self.entries.entry(id).or_default();
                        for p in entry.programs {
                            if !e.programs.contains(&p) {
                                e.programs.push(p);
                            }
                        }
                        e.designated = match (e.designated, entry.designated) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self, tlp: Tlp) -> Result<SdnXml> {
        let issued = self.issue.unix().ok_or_else(|| {
            IntelError::input(
                Location::file(self.file).field("DateOfIssue"),
                "no valid DateOfIssue (Year, Month, Day)",
            )
        })?;
        let date_of_issue = crate::time::format_time(issued);
        let mut tags = TagSet::new();
        let none = Entry::default();
        for p in &self.profiles {
            let name = p.name.join(" ");
            let entry = self.entries.get(&p.id).unwrap_or(&none);
            let programs = entry.programs.join(";");
            let reference = format!(
                "https://sanctionssearch.ofac.treas.gov/Details.aspx?id={}",
                p.id
            );
            let label = if name.is_empty() {
                format!("OFAC SDN profile {}", p.id)
            } else {
                name.clone()
            };
            for a in &p.addresses {
                tags.push(&NewTag {
                    address: &a.address,
                    currency: Some(&a.currency),
                    label: &label,
                    category: Some("sanction"),
                    abuse: None,
                    actor: (!name.is_empty()).then_some(name.as_str()),
                    country: None,
                    confidence: Some("authority_data"),
                    tlp,
                    reference: Some(&reference),
                    source_time: Some(issued),
                    line: a.line,
                    provenance: NewProvenance::Ofac {
                        profile_id: Some(p.id),
                        name: (!name.is_empty()).then_some(name.as_str()),
                        programs: &programs,
                        feature_type: &a.feature_type,
                        designated: entry.designated,
                    },
                });
            }
        }
        Ok(SdnXml {
            date_of_issue,
            tags,
            profiles: self.profiles.len(),
        })
    }
}

fn newlines(s: &str) -> u64 {
    s.bytes().filter(|&b| b == b'\n').count() as u64
}

/// Streams SDN advanced XML from `input`; `file` names it in errors.
pub fn parse_sdn_xml<R: Read>(input: R, file: &str, tlp: Tlp) -> Result<SdnXml> {
    let mut reader = Reader::from_reader(BufReader::with_capacity(1 << 16, input));
    reader.config_mut().check_end_names = true;
    let mut p = Parser {
        file,
        line: 1,
        stack: Vec::with_capacity(16),
        text: String::new(),
        collecting: false,
        issue: Ymd::default(),
        feature_types: HashMap::new(),
        program_type: None,
        profiles: Vec::new(),
        profile_index: HashMap::new(),
        profile: None,
        primary_identity: false,
        primary_alias: false,
        feature: None,
        feature_addresses: Vec::new(),
        entries: HashMap::new(),
        entry: None,
        measure_is_program: false,
        date: Ymd::default(),
        last_id: None,
    };
    let mut buf = Vec::with_capacity(1 << 12);
    let mut seen_root = false;
    loop {
        buf.clear();
        let ev = reader.read_event_into(&mut buf).map_err(|e| {
            IntelError::input(
                Location::file(file)
                    .at_line(p.line)
                    .at_offset(reader.error_position()),
                format!("malformed xml: {e}"),
            )
        })?;
        match ev {
            Event::Start(e) => {
                p.start(&e)?;
                seen_root = true;
                p.line += newlines(e.as_ref());
            }
            Event::Empty(e) => {
                // an empty element is a start and an end with no text
                p.start(&e)?;
                seen_root = true;
                p.end()?;
                p.line += newlines(e.as_ref());
            }
            Event::End(_) => p.end()?,
            Event::Text(t) => {
                let raw: &str = t.as_ref();
                if p.collecting {
                    p.text
                        .push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0));
                }
                p.line += newlines(raw);
            }
            Event::CData(t) => {
                let raw: &str = t.as_ref();
                if p.collecting {
                    p.text.push_str(raw);
                }
                p.line += newlines(raw);
            }
            Event::GeneralRef(r) => {
                if p.collecting {
                    let s = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => match r.as_ref() {
                            "amp" => "&".into(),
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "quot" => "\"".into(),
                            "apos" => "'".into(),
                            other => {
                                return Err(p.err("text", format!("unknown entity &{};", other)))
                            }
                        },
                    };
                    p.text.push_str(&s);
                }
            }
            Event::Comment(t) | Event::DocType(t) => p.line += newlines(t.as_ref()),
            Event::PI(t) => p.line += newlines(t.as_ref()),
            Event::Decl(t) => p.line += newlines(t.as_ref()),
            Event::Eof => break,
        }
    }
    if let Some(open) = p.stack.last() {
        return Err(IntelError::input(
            Location::file(file).at_line(p.line),
            format!("unexpected end of file inside <{open:?}>"),
        ));
    }
    if !seen_root {
        return Err(IntelError::input(
            Location::file(file).at_line(p.line),
            "empty document: no <Sanctions> element",
        ));
    }
    p.finish(tlp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Sanctions xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML">
  <DateOfIssue CalendarTypeID="1"><Year>2025</Year><Month>11</Month><Day>19</Day></DateOfIssue>
  <ReferenceValueSets>
    <FeatureTypeValues>
      <FeatureType ID="8" FeatureTypeGroupID="1">Birthdate</FeatureType>
      <FeatureType ID="9345" FeatureTypeGroupID="1">Digital Currency Address - ETH</FeatureType>
      <FeatureType ID="9887" FeatureTypeGroupID="1">Digital Currency Address - USDT</FeatureType>
    </FeatureTypeValues>
    <SanctionsTypeValues>
      <SanctionsType ID="1705">Block</SanctionsType>
      <SanctionsType ID="1">Program</SanctionsType>
    </SanctionsTypeValues>
  </ReferenceValueSets>
  <DistinctParties>
    <DistinctParty FixedRef="27307">
      <Profile ID="27307" PartySubTypeID="3">
        <Identity ID="19011" FixedRef="27307" Primary="true" False="false">
          <Alias FixedRef="27307" AliasTypeID="1400" Primary="false" LowQuality="true">
            <DocumentedName ID="1"><DocumentedNamePart><NamePartValue>APT 38</NamePartValue></DocumentedNamePart></DocumentedName>
          </Alias>
          <Alias FixedRef="27307" AliasTypeID="1403" Primary="true" LowQuality="false">
            <DocumentedName ID="37142" FixedRef="27307" DocNameStatusID="1">
              <DocumentedNamePart><NamePartValue>Lazarus</NamePartValue></DocumentedNamePart>
              <DocumentedNamePart><NamePartValue>Group &amp; Co</NamePartValue></DocumentedNamePart>
            </DocumentedName>
            <DocumentedName ID="2"><DocumentedNamePart><NamePartValue>라자루스</NamePartValue></DocumentedNamePart></DocumentedName>
          </Alias>
        </Identity>
        <Feature ID="1" FeatureTypeID="8"><FeatureVersion><VersionDetail>1990</VersionDetail></FeatureVersion></Feature>
        <Feature ID="50215" FeatureTypeID="9345">
          <FeatureVersion ID="47914" ReliabilityID="1560">
            <Comment />
            <VersionDetail DetailTypeID="1432">0x098B716B8Aaf21512996dC57EB0615e2383E2f96</VersionDetail>
          </FeatureVersion>
        </Feature>
        <Feature ID="50216" FeatureTypeID="9887">
          <FeatureVersion><VersionDetail>TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7</VersionDetail></FeatureVersion>
        </Feature>
      </Profile>
    </DistinctParty>
    <DistinctParty FixedRef="5"><Profile ID="5"><Feature ID="3" FeatureTypeID="8"/></Profile></DistinctParty>
  </DistinctParties>
  <SanctionsEntries>
    <SanctionsEntry ID="27307" ProfileID="27307" ListID="1550">
      <EntryEvent ID="27307" EntryEventTypeID="1"><Comment /><Date CalendarTypeID="1"><Year>2019</Year><Month>9</Month><Day>13</Day></Date></EntryEvent>
      <SanctionsMeasure ID="19425" SanctionsTypeID="1705"><Comment>not a programme</Comment></SanctionsMeasure>
      <SanctionsMeasure ID="154166" SanctionsTypeID="1"><Comment>DPRK3</Comment></SanctionsMeasure>
    </SanctionsEntry>
  </SanctionsEntries>
</Sanctions>
"#;

    #[test]
    fn mini_file() {
        let x = parse_sdn_xml(MINI.as_bytes(), "mini.xml", Tlp::Clear).unwrap();
        assert_eq!(x.date_of_issue, "2025-11-19");
        assert_eq!(x.profiles, 1);
        assert_eq!(x.tags.len(), 2);
        let mut store = crate::format::SourceFile::from_bytes(
            crate::format::encode(&x.tags),
            std::path::Path::new("m"),
        )
        .unwrap();
        let info = crate::manifest::SourceInfo {
            name: "ofac".into(),
            kind: String::new(),
            edition: String::new(),
            input: String::new(),
            input_sha256: String::new(),
            imported_at: 0,
            tags: 2,
            file: String::new(),
            file_len: 0,
            file_crc: 0,
        };
        let t = crate::store::materialize(&info, &store, store.record(0));
        assert_eq!(t.address, "0x098b716b8aaf21512996dc57eb0615e2383e2f96");
        assert_eq!(t.label, "Lazarus Group & Co");
        assert_eq!(t.chain, crate::Chain::Eth);
        let crate::Provenance::Ofac(o) = &t.provenance else {
            panic!("{t:?}")
        };
        assert_eq!(o.profile_id, Some(27307));
        assert_eq!(o.programs, vec!["DPRK3".to_owned()]);
        assert_eq!(o.feature_type, "Digital Currency Address - ETH");
        assert_eq!(o.designated, Some(1_568_332_800));
        assert_eq!(o.line, 31);
        let t = crate::store::materialize(&info, &store, store.record(1));
        assert_eq!(t.chain, crate::Chain::Tron);
        assert_eq!(t.currency.as_deref(), Some("USDT"));
        store = crate::format::SourceFile::from_bytes(
            crate::format::encode(&TagSet::new()),
            std::path::Path::new("m"),
        )
        .unwrap();
        assert_eq!(store.len(), 0);
    }

    fn err(xml: &str) -> String {
        parse_sdn_xml(xml.as_bytes(), "bad.xml", Tlp::Clear)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_files_name_line_and_field() {
        let e = err(&MINI.replace(
            "</DistinctParty>\n    <DistinctParty",
            "</DistinctPartyX>\n    <DistinctParty",
        ));
        assert!(e.starts_with("bad.xml, line 4"), "{e}");
        assert!(e.contains("malformed xml"), "{e}");
        let cut = &MINI[..MINI.find("<SanctionsEntries>").unwrap()];
        let e = err(cut);
        assert!(e.contains("unexpected end of file"), "{e}");
        let e = err(&MINI.replace("<Month>11</Month>", "<Month>eleven</Month>"));
        assert!(e.contains("line 3") && e.contains("field \"Month\""), "{e}");
        let e = err(&MINI.replace("0x098B716B8Aaf21512996dC57EB0615e2383E2f96", ""));
        assert!(e.contains("line 31") && e.contains("VersionDetail"), "{e}");
        let e = err("<html><body/></html>");
        assert!(e.contains("not an OFAC SDN"), "{e}");
        let e = err("");
        assert!(e.contains("empty document"), "{e}");
        let e = err(&MINI.replace("<DateOfIssue CalendarTypeID=\"1\"><Year>2025</Year><Month>11</Month><Day>19</Day></DateOfIssue>", ""));
        assert!(e.contains("DateOfIssue"), "{e}");
    }
}
