//! [`TagSet`]: the tags of one edition of one source, in memory, as an
//! importer produces them and as the store writes them.
//!
//! Everything but the address, chain and line is shared by many tags (a
//! TagPack's 40,000 tags differ only in their address), so a tag is a record
//! `(address, template, line, chain)` and the other fields live once in a
//! deduplicated *template* of interned strings.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::chain::{self, Chain};
use crate::tag::Tlp;

/// A 64-bit FNV-1a hasher: fast on short strings, stable across versions and
/// platforms (it also hashes the on-disk address index).
#[derive(Default, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub(crate) type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// FNV-1a of a string, then a final mix (the on-disk index hash).
pub(crate) fn addr_hash(s: &str) -> u64 {
    let mut h = Fnv::default();
    h.write(s.as_bytes());
    let mut x = h.finish();
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 33)
}

/// The kind of provenance a template carries.
pub(crate) const KIND_OFAC: u8 = 1;
pub(crate) const KIND_TAGPACK: u8 = 2;
pub(crate) const KIND_CSV: u8 = 3;

/// "No value" for the numeric template fields.
pub(crate) const NO_NUMBER: u64 = u64::MAX;
pub(crate) const NO_TIME: i64 = i64::MIN;

/// Interned string ids of a template, and its scalar fields. String id 0 is
/// the empty string and means "absent".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub(crate) struct Template {
    pub label: u32,
    pub category: u32,
    pub abuse: u32,
    pub actor: u32,
    pub country: u32,
    pub currency: u32,
    pub confidence: u32,
    pub reference: u32,
    /// OFAC: name, programs (`;`-joined), feature type. TagPack: title,
    /// creator, file, actor label. CSV: file.
    pub p: [u32; 4],
    pub kind: u8,
    pub tlp: u8,
    /// 0 absent, 1 false, 2 true.
    pub is_public: u8,
    /// OFAC profile id, or [`NO_NUMBER`].
    pub number: u64,
    pub source_time: i64,
    pub designated: i64,
}

/// One tag: its address, its template, the line it came from and its chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    pub address: u32,
    pub template: u32,
    pub line: u32,
    pub chain: u8,
}

/// Provenance of a new tag, borrowed from the importer's buffers.
#[derive(Clone, Copy, Debug)]
pub enum NewProvenance<'a> {
    /// OFAC SDN.
    Ofac {
        /// SDN profile id.
        profile_id: Option<u64>,
        /// Primary name.
        name: Option<&'a str>,
        /// Programmes, `;`-joined.
        programs: &'a str,
        /// `Digital Currency Address - XBT` etc.
        feature_type: &'a str,
        /// Designation date (Unix seconds).
        designated: Option<i64>,
    },
    /// GraphSense TagPack.
    TagPack {
        /// Pack title.
        title: &'a str,
        /// Pack creator.
        creator: Option<&'a str>,
        /// `is_public`, when given.
        is_public: Option<bool>,
        /// Pack file.
        file: &'a str,
        /// Actor label from the ActorPack.
        actor_label: Option<&'a str>,
    },
    /// CSV.
    Csv {
        /// The file.
        file: &'a str,
    },
}

/// A tag as an importer hands it over: borrowed fields, address not yet
/// normalized.
#[derive(Clone, Copy, Debug)]
pub struct NewTag<'a> {
    /// The address as the source writes it.
    pub address: &'a str,
    /// The asset/network as the source names it; also the chain hint.
    pub currency: Option<&'a str>,
    /// The label.
    pub label: &'a str,
    /// Category.
    pub category: Option<&'a str>,
    /// Abuse type.
    pub abuse: Option<&'a str>,
    /// Actor.
    pub actor: Option<&'a str>,
    /// Country.
    pub country: Option<&'a str>,
    /// Confidence as given.
    pub confidence: Option<&'a str>,
    /// TLP level.
    pub tlp: Tlp,
    /// Cited reference.
    pub reference: Option<&'a str>,
    /// When the source made the claim (Unix seconds).
    pub source_time: Option<i64>,
    /// 1-based line in the input file (0 when not meaningful).
    pub line: u64,
    /// Provenance.
    pub provenance: NewProvenance<'a>,
}

/// Interned strings: id 0 is "".
#[derive(Clone, Debug)]
pub(crate) struct Strings {
    pub bytes: String,
    /// `ends[i]` is the end of string `i` in `bytes`; string `i` starts at
    /// `ends[i-1]` (0 for i = 0).
    pub ends: Vec<u32>,
    ids: FnvMap<Box<str>, u32>,
}

impl Default for Strings {
    fn default() -> Strings {
        Strings {
            bytes: String::new(),
            ends: vec![0],
            ids: FnvMap::default(),
        }
    }
}

impl Strings {
    /// Appends `s` without deduplication.
    fn push(&mut self, s: &str) -> u32 {
        self.bytes.push_str(s);
        self.ends.push(self.bytes.len() as u32);
        (self.ends.len() - 1) as u32
    }

    /// The id of `s`, adding it if new. `None` and "" are id 0.
    fn intern(&mut self, s: Option<&str>) -> u32 {
        let s = match s.map(str::trim) {
            None | Some("") => return 0,
            Some(s) => s,
        };
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.push(s);
        self.ids.insert(s.into(), id);
        id
    }

    pub(crate) fn get(&self, id: u32) -> &str {
        let i = id as usize;
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).copied().unwrap_or(0) as usize
        };
        let end = self.ends.get(i).copied().unwrap_or(0) as usize;
        self.bytes.get(start..end).unwrap_or("")
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }
}

/// The tags of one edition of one source, ready to be stored.
#[derive(Clone, Debug, Default)]
pub struct TagSet {
    pub(crate) strings: Strings,
    pub(crate) templates: Vec<Template>,
    template_ids: FnvMap<Template, u32>,
    pub(crate) records: Vec<Record>,
    /// [`addr_hash`] of each record's address, computed where the tag is
    /// parsed (on a worker thread) rather than when the index is written.
    pub(crate) hashes: Vec<u64>,
    /// The last string interned for each template field, and its id.
    field_cache: [(String, u32); 12],
    last_template: Option<(Template, u32)>,
}

/// The id of `v` (trimmed; `None` and "" are 0), through a one-entry cache.
fn cached(strings: &mut Strings, cache: &mut (String, u32), v: Option<&str>) -> u32 {
    let v = match v.map(str::trim) {
        None | Some("") => return 0,
        Some(v) => v,
    };
    if cache.1 != 0 && cache.0 == v {
        return cache.1;
    }
    let id = strings.intern(Some(v));
    cache.0.clear();
    cache.0.push_str(v);
    cache.1 = id;
    id
}

/// Saturating conversion of a line number to the record's 32 bits.
fn line32(line: u64) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

impl TagSet {
    /// An empty set.
    pub fn new() -> TagSet {
        TagSet::default()
    }

    /// Makes room for `tags` more tags with `bytes` more bytes of addresses.
    pub fn reserve(&mut self, tags: usize, bytes: usize) {
        self.records.reserve(tags);
        self.hashes.reserve(tags);
        self.strings.ends.reserve(tags);
        self.strings.bytes.reserve(bytes);
    }

    /// Number of tags.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when there are no tags.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Adds a tag: normalizes its address and infers its chain.
    pub fn push(&mut self, t: &NewTag<'_>) {
        let normalized = chain::normalize(t.address);
        let chain = chain::infer_normalized(&normalized, t.currency).code();
        let template = self.template(t);
        self.hashes.push(addr_hash(&normalized));
        let address = self.strings.push(&normalized);
        self.records.push(Record {
            address,
            template,
            line: line32(t.line),
            chain,
        });
    }

    fn template(&mut self, t: &NewTag<'_>) -> u32 {
        // Consecutive tags mostly share their fields (a pack's header): a
        // one-entry cache per field skips most hash lookups.
        let s = &mut self.strings;
        let c = &mut self.field_cache;
        let mut f = |slot: usize, v: Option<&str>| cached(s, &mut c[slot], v);
        let mut tpl = Template {
            label: f(0, Some(t.label)),
            category: f(1, t.category),
            abuse: f(2, t.abuse),
            actor: f(3, t.actor),
            country: f(4, t.country),
            currency: f(5, t.currency),
            confidence: f(6, t.confidence),
            reference: f(7, t.reference),
            tlp: t.tlp.code(),
            number: NO_NUMBER,
            source_time: t.source_time.unwrap_or(NO_TIME),
            designated: NO_TIME,
            ..Template::default()
        };
        match t.provenance {
            NewProvenance::Ofac {
                profile_id,
                name,
                programs,
                feature_type,
                designated,
            } => {
                tpl.kind = KIND_OFAC;
                tpl.p = [
                    f(8, name),
                    f(9, Some(programs)),
                    f(10, Some(feature_type)),
                    0,
                ];
                tpl.number = profile_id.unwrap_or(NO_NUMBER);
                tpl.designated = designated.unwrap_or(NO_TIME);
            }
            NewProvenance::TagPack {
                title,
                creator,
                is_public,
                file,
                actor_label,
            } => {
                tpl.kind = KIND_TAGPACK;
                tpl.p = [
                    f(8, Some(title)),
                    f(9, creator),
                    f(10, Some(file)),
                    f(11, actor_label),
                ];
                tpl.is_public = match is_public {
                    None => 0,
                    Some(false) => 1,
                    Some(true) => 2,
                };
            }
            NewProvenance::Csv { file } => {
                tpl.kind = KIND_CSV;
                tpl.p = [f(8, Some(file)), 0, 0, 0];
            }
        }
        self.add_template(tpl)
    }
}

impl TagSet {
    /// Moves every tag of `other` to the end of `self`, in order.
    pub fn append(&mut self, other: TagSet) {
        let mut map = Vec::with_capacity(other.templates.len());
        for t in &other.templates {
            let mut n = *t;
            let s = &mut self.strings;
            let mut re = |id: u32| s.intern(Some(other.strings.get(id)));
            n.label = re(t.label);
            n.category = re(t.category);
            n.abuse = re(t.abuse);
            n.actor = re(t.actor);
            n.country = re(t.country);
            n.currency = re(t.currency);
            n.confidence = re(t.confidence);
            n.reference = re(t.reference);
            n.p = [re(t.p[0]), re(t.p[1]), re(t.p[2]), re(t.p[3])];
            map.push(self.add_template(n));
        }
        self.reserve(other.records.len(), other.strings.bytes.len());
        self.hashes.extend_from_slice(&other.hashes);
        for r in &other.records {
            let address = self.strings.push(other.strings.get(r.address));
            self.records.push(Record {
                address,
                template: map[r.template as usize],
                ..*r
            });
        }
    }

    fn add_template(&mut self, tpl: Template) -> u32 {
        if let Some((last, id)) = self.last_template {
            if last == tpl {
                return id;
            }
        }
        let id = self.add_template_slow(tpl);
        self.last_template = Some((tpl, id));
        id
    }

    fn add_template_slow(&mut self, tpl: Template) -> u32 {
        if let Some(&id) = self.template_ids.get(&tpl) {
            return id;
        }
        let id = self.templates.len() as u32;
        self.templates.push(tpl);
        self.template_ids.insert(tpl, id);
        id
    }

    /// Fills in the country and actor label of TagPack templates whose actor
    /// `lookup` resolves (and that have neither yet). Returns how many
    /// templates name an actor `lookup` does not know.
    pub(crate) fn resolve_actors(
        &mut self,
        lookup: impl Fn(&str) -> Option<(Option<String>, Option<String>)>,
    ) -> usize {
        let mut unknown = 0;
        for i in 0..self.templates.len() {
            let t = self.templates[i];
            if t.kind != KIND_TAGPACK || t.actor == 0 || t.p[3] != 0 || t.country != 0 {
                continue;
            }
            match lookup(self.strings.get(t.actor)) {
                None => unknown += 1,
                Some((country, label)) => {
                    let country = self.strings.intern(country.as_deref());
                    let label = self.strings.intern(label.as_deref());
                    let t = &mut self.templates[i];
                    t.country = country;
                    t.p[3] = label;
                }
            }
        }
        // templates changed: the dedup maps no longer describe them
        self.template_ids.clear();
        self.last_template = None;
        unknown
    }
}

/// Chain of a record.
pub(crate) fn record_chain(r: &Record) -> Chain {
    Chain::from_code(r.chain).unwrap_or(Chain::Unknown)
}
