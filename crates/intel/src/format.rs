//! The source file: one edition of one source, immutable once written.
//!
//! Layout (little-endian; every section starts 8-aligned):
//!
//! ```text
//! header    48 bytes: magic "CHTG", version u32 = 1, strings u32, templates u32,
//!           records u32, log2(slots) u32, string bytes u64, 16 reserved zero bytes
//! ends      (strings) × u32: end offset of each string in the string bytes
//!           (string 0 is "", meaning absent)
//! bytes     the strings' UTF-8, concatenated
//! templates (templates) × 80 bytes: label, category, abuse, actor, country,
//!           currency, confidence, reference, p0..p3 (string ids, u32 each),
//!           kind u8, tlp u8, is_public u8, 0u8, number u64, source time i64,
//!           designated i64, 4 zero bytes
//! records   (records) × 16 bytes: address string u32, template u32, line u32,
//!           chain u8, 3 zero bytes
//! slots     2^log2 × u32: open-addressing address index; 0 is empty, else
//!           record + 1, at hash(address) & mask, linear probing
//! footer    CRC-32 of everything before it (u32), magic "GTHC"
//! ```
//!
//! The hash is FNV-1a-64 with a final mix ([`crate::tagset::addr_hash`]); it is
//! part of the format. Load factor is at most one half, so a lookup touches
//! a few slots.

use std::path::Path;

use crate::error::{IntelError, Result};
use crate::tagset::{addr_hash, Record, TagSet, Template};

const MAGIC: &[u8; 4] = b"CHTG";
const END_MAGIC: &[u8; 4] = b"GTHC";
/// Version of the source-file format.
pub(crate) const VERSION: u32 = 1;
const HEADER: usize = 48;
const TEMPLATE: usize = 80;
const RECORD: usize = 16;

fn pad8(n: usize) -> usize {
    (n + 7) & !7
}

fn slots_log2(records: usize) -> u32 {
    let mut log2 = 4;
    while (1usize << log2) < records.saturating_mul(2) {
        log2 += 1;
    }
    log2
}

/// Serializes a tag set.
pub(crate) fn encode(set: &TagSet) -> Vec<u8> {
    let strings = &set.strings;
    let n_strings = strings.len();
    let log2 = slots_log2(set.records.len());
    let mut out = Vec::with_capacity(
        HEADER
            + pad8(n_strings * 4)
            + pad8(strings.bytes.len())
            + set.templates.len() * TEMPLATE
            + set.records.len() * RECORD
            + (4usize << log2)
            + 8,
    );
    out.extend_from_slice(MAGIC);
    for v in [
        VERSION,
        n_strings as u32,
        set.templates.len() as u32,
        set.records.len() as u32,
        log2,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(strings.bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(&[0; 16]);
    for e in &strings.ends {
        out.extend_from_slice(&e.to_le_bytes());
    }
    out.resize(pad8(out.len()), 0);
    out.extend_from_slice(strings.bytes.as_bytes());
    out.resize(pad8(out.len()), 0);
    for t in &set.templates {
        for v in [
            t.label,
            t.category,
            t.abuse,
            t.actor,
            t.country,
            t.currency,
            t.confidence,
            t.reference,
        ]
        .iter()
        .chain(&t.p)
        {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&[t.kind, t.tlp, t.is_public, 0]);
        out.extend_from_slice(&t.number.to_le_bytes());
        out.extend_from_slice(&t.source_time.to_le_bytes());
        out.extend_from_slice(&t.designated.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
    }
    for r in &set.records {
        let mut b = [0u8; RECORD];
        b[0..4].copy_from_slice(&r.address.to_le_bytes());
        b[4..8].copy_from_slice(&r.template.to_le_bytes());
        b[8..12].copy_from_slice(&r.line.to_le_bytes());
        b[12] = r.chain;
        out.extend_from_slice(&b);
    }
    let mask = (1usize << log2) - 1;
    let mut slots = vec![0u32; 1 << log2];
    for (i, r) in set.records.iter().enumerate() {
        let h = match set.hashes.get(i) {
            Some(&h) => h,
            None => addr_hash(strings.get(r.address)),
        };
        let mut s = h as usize & mask;
        while slots[s] != 0 {
            s = (s + 1) & mask;
        }
        slots[s] = i as u32 + 1;
    }
    out.extend(slots.iter().flat_map(|s| s.to_le_bytes()));
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(END_MAGIC);
    out
}

/// A validated, read-only source file in memory.
#[derive(Debug)]
pub(crate) struct SourceFile {
    bytes: Vec<u8>,
    n_strings: usize,
    n_templates: usize,
    n_records: usize,
    mask: usize,
    ends: usize,
    strs: usize,
    str_len: usize,
    templates: usize,
    records: usize,
    slots: usize,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

impl SourceFile {
    /// Validates `bytes` as a source file: magic, version, length, CRC, string
    /// offsets, UTF-8, and every id in range. After this, no accessor can
    /// fail or panic.
    pub(crate) fn from_bytes(bytes: Vec<u8>, path: &Path) -> Result<SourceFile> {
        let bad = |what: &str| IntelError::corrupt(path, what.to_owned());
        if bytes.len() < HEADER + 8 || &bytes[..4] != MAGIC {
            return Err(bad("not a tag source file (bad magic or too short)"));
        }
        let version = u32_at(&bytes, 4);
        if version != VERSION {
            return Err(bad(&format!(
                "format version {version}, this build reads version {VERSION}"
            )));
        }
        let n_strings = u32_at(&bytes, 8) as usize;
        let n_templates = u32_at(&bytes, 12) as usize;
        let n_records = u32_at(&bytes, 16) as usize;
        let log2 = u32_at(&bytes, 20);
        let str_len = usize::try_from(u64_at(&bytes, 24)).map_err(|_| bad("string bytes"))?;
        if log2 > 31 || n_strings == 0 || (1usize << log2) <= n_records {
            return Err(bad("header fields out of range"));
        }
        // checked: a damaged header must not overflow into a "valid" length
        let layout = || -> Option<(usize, usize, usize, usize, usize)> {
            let pad8 = |n: usize| n.checked_add(7).map(|n| n & !7);
            let strs = pad8(HEADER.checked_add(n_strings.checked_mul(4)?)?)?;
            let templates = pad8(strs.checked_add(str_len)?)?;
            let records = templates.checked_add(n_templates.checked_mul(TEMPLATE)?)?;
            let slots = records.checked_add(n_records.checked_mul(RECORD)?)?;
            let total = slots
                .checked_add(4usize.checked_shl(log2)?)?
                .checked_add(8)?;
            Some((strs, templates, records, slots, total))
        };
        let (strs, templates, records, slots, total) =
            layout().ok_or_else(|| bad("header sizes overflow"))?;
        let ends = HEADER;
        if bytes.len() != total {
            return Err(bad(&format!(
                "length {} but the header implies {total}",
                bytes.len()
            )));
        }
        let body = total - 8;
        let crc = u32_at(&bytes, body);
        if crc32fast::hash(&bytes[..body]) != crc || &bytes[body + 4..] != END_MAGIC {
            return Err(bad("checksum mismatch"));
        }
        let blob = std::str::from_utf8(&bytes[strs..strs + str_len])
            .map_err(|_| bad("strings are not utf-8"))?;
        let mut prev = 0usize;
        for i in 0..n_strings {
            let end = u32_at(&bytes, ends + i * 4) as usize;
            if end < prev || end > str_len || !blob.is_char_boundary(end) {
                return Err(bad("string offsets out of order"));
            }
            prev = end;
        }
        if u32_at(&bytes, ends) != 0 {
            return Err(bad("string 0 must be empty"));
        }
        let f = SourceFile {
            bytes,
            n_strings,
            n_templates,
            n_records,
            mask: (1usize << log2) - 1,
            ends,
            strs,
            str_len,
            templates,
            records,
            slots,
        };
        for t in 0..n_templates {
            let tpl = f.template(t as u32);
            let ids = [
                tpl.label,
                tpl.category,
                tpl.abuse,
                tpl.actor,
                tpl.country,
                tpl.currency,
                tpl.confidence,
                tpl.reference,
            ];
            if ids.iter().chain(&tpl.p).any(|&s| s as usize >= n_strings) {
                return Err(bad("template refers to a missing string"));
            }
        }
        for r in 0..n_records {
            let rec = f.record(r as u32);
            if rec.address as usize >= n_strings || rec.template as usize >= n_templates {
                return Err(bad("record refers to a missing string or template"));
            }
        }
        for s in 0..=f.mask {
            if u32_at(&f.bytes, f.slots + s * 4) as usize > n_records {
                return Err(bad("index slot out of range"));
            }
        }
        Ok(f)
    }

    pub(crate) fn len(&self) -> usize {
        self.n_records
    }

    /// The footer CRC (of everything before it).
    pub(crate) fn crc(&self) -> u32 {
        u32_at(&self.bytes, self.bytes.len() - 8)
    }

    /// The bytes of string `id` (empty when out of range). Valid UTF-8 at
    /// char boundaries: [`SourceFile::from_bytes`] checked it.
    pub(crate) fn string_bytes(&self, id: u32) -> &[u8] {
        let i = id as usize;
        if i == 0 || i >= self.n_strings {
            return b"";
        }
        let start = u32_at(&self.bytes, self.ends + (i - 1) * 4) as usize;
        let end = u32_at(&self.bytes, self.ends + i * 4) as usize;
        if end > self.str_len || start > end {
            return b"";
        }
        &self.bytes[self.strs + start..self.strs + end]
    }

    pub(crate) fn string(&self, id: u32) -> &str {
        std::str::from_utf8(self.string_bytes(id)).unwrap_or("")
    }

    pub(crate) fn record(&self, i: u32) -> Record {
        let at = self.records + i as usize * RECORD;
        Record {
            address: u32_at(&self.bytes, at),
            template: u32_at(&self.bytes, at + 4),
            line: u32_at(&self.bytes, at + 8),
            chain: self.bytes.get(at + 12).copied().unwrap_or(0),
        }
    }

    pub(crate) fn template(&self, i: u32) -> Template {
        let at = self.templates + i as usize * TEMPLATE;
        let b = &self.bytes;
        let s = |k: usize| u32_at(b, at + 4 * k);
        Template {
            label: s(0),
            category: s(1),
            abuse: s(2),
            actor: s(3),
            country: s(4),
            currency: s(5),
            confidence: s(6),
            reference: s(7),
            p: [s(8), s(9), s(10), s(11)],
            kind: b.get(at + 48).copied().unwrap_or(0),
            tlp: b.get(at + 49).copied().unwrap_or(0),
            is_public: b.get(at + 50).copied().unwrap_or(0),
            number: u64_at(b, at + 52),
            source_time: u64_at(b, at + 60) as i64,
            designated: u64_at(b, at + 68) as i64,
        }
    }

    /// The label string id and provenance kind of template `i` (cheaper than
    /// [`SourceFile::template`]).
    pub(crate) fn label_kind(&self, i: u32) -> (u32, u8) {
        let at = self.templates + i as usize * TEMPLATE;
        (
            u32_at(&self.bytes, at),
            self.bytes.get(at + 48).copied().unwrap_or(0),
        )
    }

    pub(crate) fn n_templates(&self) -> usize {
        self.n_templates
    }

    /// Record ids whose address is exactly `normalized`, in record order.
    pub(crate) fn lookup(&self, normalized: &str) -> Vec<u32> {
        let mut out = Vec::new();
        if self.n_records == 0 {
            return out;
        }
        let mut s = addr_hash(normalized) as usize & self.mask;
        // at most one pass over the table, even if a damaged one has no
        // empty slot
        for _ in 0..=self.mask {
            let v = u32_at(&self.bytes, self.slots + s * 4);
            if v == 0 {
                break;
            }
            let r = v - 1;
            if self.string_bytes(self.record(r).address) == normalized.as_bytes() {
                out.push(r);
            }
            s = (s + 1) & self.mask;
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tag::Tlp;
    use crate::tagset::{NewProvenance, NewTag};

    fn sample() -> TagSet {
        let mut set = TagSet::new();
        for (i, a) in [
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "0xABCDEFabcdef0123456789abcdefABCDEF012345",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        ]
        .iter()
        .enumerate()
        {
            set.push(&NewTag {
                address: a,
                currency: Some("BTC"),
                label: if i == 2 { "other" } else { "genesis" },
                category: Some("miner"),
                abuse: None,
                actor: None,
                country: Some("JP"),
                confidence: Some("web_crawl"),
                tlp: Tlp::Green,
                reference: None,
                source_time: Some(86_400),
                line: i as u64 + 1,
                provenance: NewProvenance::Csv { file: "x.csv" },
            });
        }
        set
    }

    #[test]
    fn round_trip_and_lookup() {
        let set = sample();
        let bytes = encode(&set);
        let f = SourceFile::from_bytes(bytes.clone(), Path::new("t")).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f.n_templates(), 2);
        assert_eq!(f.lookup("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"), vec![0, 2]);
        assert_eq!(
            f.lookup("0xabcdefabcdef0123456789abcdefabcdef012345"),
            vec![1]
        );
        assert!(f.lookup("nope").is_empty());
        for i in 0..3 {
            assert_eq!(f.record(i), set.records[i as usize]);
        }
        assert_eq!(f.template(0), set.templates[0]);
        // every single flipped byte is caught
        for at in (0..bytes.len()).step_by(7) {
            let mut b = bytes.clone();
            b[at] ^= 0x20;
            assert!(SourceFile::from_bytes(b, Path::new("t")).is_err(), "{at}");
        }
        assert!(SourceFile::from_bytes(bytes[..bytes.len() - 1].to_vec(), Path::new("t")).is_err());
    }

    #[test]
    fn empty_set() {
        let f = SourceFile::from_bytes(encode(&TagSet::new()), Path::new("t")).unwrap();
        assert_eq!(f.len(), 0);
        assert!(f.lookup("x").is_empty());
    }
}
