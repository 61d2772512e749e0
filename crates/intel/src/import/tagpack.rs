//! GraphSense TagPacks and ActorPacks.
//!
//! A TagPack is one YAML mapping: header fields (`title`, `creator`,
//! `label`, `source`, `category`, `abuse`, `actor`, `currency`/`network`,
//! `confidence`, `is_public`, `lastmod`, `concepts`) and `tags:`, a list of
//! mappings each with an `address` and any of the header fields, which
//! override the header's for that tag. An ActorPack is a mapping with
//! `actors:`, a list of `{id, label, jurisdictions, categories, …}`; a tag's
//! `actor` is such an id, and resolves to the actor's label and countries.
//!
//! The reference a tag cites is its `source` field; the import's source
//! name is something else (`graphsense` by default).
//!
//! TLP: `is_public: true` is TLP:CLEAR, `false` TLP:AMBER, and a pack that
//! does not say gets [`TagPackOptions::default_tlp`].

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

use saphyr_parser::Event;
use tracing::{debug, warn};

use crate::error::{IntelError, Result};
use crate::tag::Tlp;
use crate::tagset::{NewProvenance, NewTag, TagSet};
use crate::time::{format_time, parse_datetime};
use crate::writer::Edition;

use super::archive::{self, PackFile};
use super::yaml::{Events, Value};

/// The source name TagPack imports use by default.
pub const SOURCE: &str = "graphsense";

/// Options of a TagPack import.
#[derive(Clone, Debug)]
pub struct TagPackOptions {
    /// The source name (default `graphsense`).
    pub source: String,
    /// The edition to record instead of the newest `lastmod`.
    pub edition: Option<String>,
    /// TLP of tags whose pack does not set `is_public` (default amber).
    pub default_tlp: Tlp,
}

impl Default for TagPackOptions {
    fn default() -> TagPackOptions {
        TagPackOptions {
            source: SOURCE.to_owned(),
            edition: None,
            default_tlp: Tlp::Amber,
        }
    }
}

/// An actor of an ActorPack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actor {
    /// The id tags refer to (`lazarusgroup`).
    pub id: String,
    /// The display label (`Lazarus Group`).
    pub label: Option<String>,
    /// ISO country codes.
    pub jurisdictions: Vec<String>,
    /// Categories (`exchange`, `sanction`, …).
    pub categories: Vec<String>,
}

struct Field<'a> {
    v: Cow<'a, str>,
}

#[derive(Default)]
struct Fields<'a> {
    line: u64,
    address: Option<Field<'a>>,
    label: Option<Field<'a>>,
    source: Option<Field<'a>>,
    category: Option<Field<'a>>,
    abuse: Option<Field<'a>>,
    actor: Option<Field<'a>>,
    currency: Option<Field<'a>>,
    network: Option<Field<'a>>,
    confidence: Option<Field<'a>>,
    title: Option<Field<'a>>,
    creator: Option<Field<'a>>,
    concept: Option<Field<'a>>,
    lastmod: Option<i64>,
    is_public: Option<bool>,
}

fn text<'a>(ev: &Events<'a>, key: &str, line: u64, v: Value<'a>) -> Result<Option<Field<'a>>> {
    match v {
        Value::Null => Ok(None),
        Value::Str(s) => Ok((!s.trim().is_empty()).then_some(Field { v: s })),
        Value::Bool(b) => Ok(Some(Field {
            v: Cow::Borrowed(if b { "true" } else { "false" }),
        })),
        Value::List(_) | Value::Complex => Err(ev.err(
            line,
            key,
            "expected a single value, found a list or mapping",
        )),
    }
}

fn assign<'a>(
    ev: &Events<'a>,
    f: &mut Fields<'a>,
    key: &str,
    line: u64,
    v: Value<'a>,
) -> Result<()> {
    let slot = match key {
        "address" => &mut f.address,
        "label" => &mut f.label,
        "source" => &mut f.source,
        "category" => &mut f.category,
        "abuse" => &mut f.abuse,
        "actor" => &mut f.actor,
        "currency" => &mut f.currency,
        "network" => &mut f.network,
        "confidence" => &mut f.confidence,
        "title" => &mut f.title,
        "creator" => &mut f.creator,
        "lastmod" => {
            f.lastmod = match text(ev, key, line, v)? {
                None => None,
                Some(s) => Some(parse_datetime(&s.v).ok_or_else(|| {
                    ev.err(line, key, format!("not a date (YYYY-MM-DD): {:?}", s.v))
                })?),
            };
            return Ok(());
        }
        "is_public" => {
            f.is_public = match v {
                Value::Null => None,
                Value::Bool(b) => Some(b),
                Value::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
                Value::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
                _ => return Err(ev.err(line, key, "expected true or false")),
            };
            return Ok(());
        }
        "concepts" => {
            f.concept = match v {
                Value::List(items) => items.into_iter().next().map(|v| Field { v }),
                other => text(ev, key, line, other)?,
            };
            return Ok(());
        }
        _ => return Ok(()), // description, context, is_cluster_definer, …
    };
    *slot = text(ev, key, line, v)?;
    Ok(())
}

/// Reads mapping entries into `f` until the mapping ends.
fn mapping<'a>(ev: &mut Events<'a>, f: &mut Fields<'a>) -> Result<()> {
    loop {
        let Some(key) = ev.next_key()? else {
            return Ok(());
        };
        let line = ev.line;
        let first = ev.next()?;
        let v = ev.value(first)?;
        assign(ev, f, &key, line, v)?;
    }
}

/// Reads a `tags:` list, handing each tag to `sink` as soon as it is read.
fn read_tags<'a>(
    ev: &mut Events<'a>,
    first: Event<'a>,
    sink: &mut dyn FnMut(&Events<'a>, Fields<'a>) -> Result<()>,
) -> Result<()> {
    match first {
        Event::SequenceStart(..) => {}
        Event::Scalar(v, ..) if v.is_empty() || v == "~" || v == "null" => return Ok(()),
        _ => return Err(ev.err(ev.line, "tags", "expected a list of tags")),
    }
    loop {
        match ev.next()? {
            Event::SequenceEnd => return Ok(()),
            Event::MappingStart(..) => {
                let mut t = Fields {
                    line: ev.line,
                    ..Fields::default()
                };
                mapping(ev, &mut t)?;
                sink(ev, t)?;
            }
            _ => return Err(ev.err(ev.line, "tags", "each tag must be a mapping")),
        }
    }
}

fn pick<'b>(t: &'b Option<Field<'_>>, h: &'b Option<Field<'_>>) -> Option<&'b str> {
    t.as_ref().or(h.as_ref()).map(|f| f.v.trim())
}

/// What one pack contributed.
#[derive(Clone, Copy, Debug, Default)]
pub struct PackSummary {
    /// Tags added.
    pub tags: usize,
    /// Newest `lastmod` of the pack or its tags.
    pub lastmod: Option<i64>,
}

/// What every tag of one pack needs besides the header.
struct Pack<'c> {
    rel: &'c str,
    actors: &'c HashMap<String, Actor>,
    opts: &'c TagPackOptions,
    unknown_actors: usize,
    summary: PackSummary,
}

impl Pack<'_> {
    /// Merges tag `t` with the pack `header` and adds it to `out`.
    fn emit(
        &mut self,
        ev: &Events<'_>,
        t: &Fields<'_>,
        h: &Fields<'_>,
        out: &mut TagSet,
    ) -> Result<()> {
        let address = pick(&t.address, &None)
            .ok_or_else(|| ev.err(t.line, "address", "tag without an address"))?;
        let label = pick(&t.label, &h.label).ok_or_else(|| {
            ev.err(
                t.line,
                "label",
                "tag without a label (none in the tag or the header)",
            )
        })?;
        let actor_id = pick(&t.actor, &h.actor);
        let actor = actor_id.and_then(|a| self.actors.get(a));
        if actor_id.is_some() && actor.is_none() {
            self.unknown_actors += 1;
        }
        let country = actor
            .filter(|a| !a.jurisdictions.is_empty())
            .map(|a| a.jurisdictions.join(","));
        let is_public = t.is_public.or(h.is_public);
        if let Some(l) = t.lastmod {
            self.summary.lastmod = Some(self.summary.lastmod.map_or(l, |s| s.max(l)));
        }
        self.summary.tags += 1;
        out.push(&NewTag {
            address,
            currency: pick(&t.currency, &t.network).or_else(|| pick(&h.currency, &h.network)),
            label,
            category: pick(&t.category, &h.category).or_else(|| pick(&t.concept, &h.concept)),
            abuse: pick(&t.abuse, &h.abuse),
            actor: actor_id,
            country: country.as_deref(),
            confidence: pick(&t.confidence, &h.confidence),
            tlp: match is_public {
                Some(true) => Tlp::Clear,
                Some(false) => Tlp::Amber,
                None => self.opts.default_tlp,
            },
            reference: pick(&t.source, &h.source),
            source_time: t.lastmod.or(h.lastmod),
            line: t.line,
            provenance: NewProvenance::TagPack {
                title: pick(&None, &h.title).unwrap_or(self.rel),
                creator: pick(&None, &h.creator),
                is_public,
                file: self.rel,
                actor_label: actor.and_then(|a| a.label.as_deref()),
            },
        });
        Ok(())
    }
}

/// True when no top-level key follows the top-level `tags:` key, so the
/// header is complete when the first tag is read. A cheap line scan; a key
/// it misses after `tags:` is caught by the parser, which then re-reads the
/// pack the slow way.
fn tags_come_last(text: &str) -> bool {
    let mut lines = text.lines();
    if !lines.any(|l| l.strip_prefix("tags:").is_some_and(|r| r.trim().is_empty())) {
        return false;
    }
    lines.all(|l| l.is_empty() || l.starts_with([' ', '\t', '-', '#']) || l.trim_end() == "...")
}

/// Parses one TagPack (`text`, named `file` in errors, `rel` in provenance)
/// and adds its tags to `out`.
///
/// Header fields apply to every tag wherever they stand in the file. When
/// `tags:` is the last top-level key (every real pack), tags are added as
/// they are read; otherwise they are collected and added at the end.
pub fn parse_tagpack(
    text: &str,
    file: &str,
    rel: &str,
    actors: &HashMap<String, Actor>,
    opts: &TagPackOptions,
    out: &mut TagSet,
) -> Result<PackSummary> {
    if tags_come_last(text) {
        let mut local = TagSet::new();
        if let Some(s) = parse_pack(text, file, rel, actors, opts, &mut local, true)? {
            if out.is_empty() {
                *out = local;
            } else {
                out.append(local);
            }
            return Ok(s);
        }
    }
    parse_pack(text, file, rel, actors, opts, out, false).map(|s| s.unwrap_or_default())
}

/// One pass over a pack; in `streaming` mode, `None` when a header key
/// turns up after `tags:` (the caller starts again without streaming).
fn parse_pack(
    text: &str,
    file: &str,
    rel: &str,
    actors: &HashMap<String, Actor>,
    opts: &TagPackOptions,
    out: &mut TagSet,
    streaming: bool,
) -> Result<Option<PackSummary>> {
    let mut ev = Events::new(text, file);
    match ev.document_start()? {
        Event::MappingStart(..) => {}
        _ => return Err(ev.err(ev.line, "title", "a TagPack must be a mapping")),
    }
    let mut header = Fields {
        line: ev.line,
        ..Fields::default()
    };
    let mut pack = Pack {
        rel,
        actors,
        opts,
        unknown_actors: 0,
        summary: PackSummary::default(),
    };
    let mut collected: Vec<Fields<'_>> = Vec::new();
    let mut tags_seen = false;
    while let Some(key) = ev.next_key()? {
        let line = ev.line;
        let first = ev.next()?;
        match key.as_ref() {
            "actors" => return Err(ev.err(line, "actors", "an ActorPack, not a TagPack")),
            "tags" if streaming => {
                let h = &header;
                read_tags(&mut ev, first, &mut |ev, t| pack.emit(ev, &t, h, out))?;
                tags_seen = true;
            }
            "tags" => read_tags(&mut ev, first, &mut |_, t| {
                collected.push(t);
                Ok(())
            })?,
            _ if streaming && tags_seen => return Ok(None),
            _ => {
                let v = ev.value(first)?;
                assign(&ev, &mut header, &key, line, v)?;
            }
        }
    }
    ev.document_end()?;
    out.reserve(collected.len(), collected.len() * 40);
    for t in &collected {
        pack.emit(&ev, t, &header, out)?;
    }
    if pack.unknown_actors > 0 && !actors.is_empty() {
        debug!(
            file,
            unknown_actors = pack.unknown_actors,
            "actor ids not in any ActorPack"
        );
    }
    let mut summary = pack.summary;
    summary.lastmod = match (summary.lastmod, header.lastmod) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    Ok(Some(summary))
}

/// Parses an ActorPack.
pub fn parse_actorpack(text: &str, file: &str) -> Result<Vec<Actor>> {
    let mut ev = Events::new(text, file);
    match ev.document_start()? {
        Event::MappingStart(..) => {}
        _ => return Err(ev.err(ev.line, "actors", "an ActorPack must be a mapping")),
    }
    let mut actors = Vec::new();
    while let Some(key) = ev.next_key()? {
        let first = ev.next()?;
        if key != "actors" {
            ev.value(first)?;
            continue;
        }
        match first {
            Event::SequenceStart(..) => {}
            _ => return Err(ev.err(ev.line, "actors", "expected a list of actors")),
        }
        loop {
            match ev.next()? {
                Event::SequenceEnd => break,
                Event::MappingStart(..) => actors.push(actor(&mut ev)?),
                _ => return Err(ev.err(ev.line, "actors", "each actor must be a mapping")),
            }
        }
    }
    ev.document_end()?;
    Ok(actors)
}

fn actor(ev: &mut Events<'_>) -> Result<Actor> {
    let start = ev.line;
    let mut a = Actor::default();
    while let Some(key) = ev.next_key()? {
        let line = ev.line;
        let first = ev.next()?;
        let v = ev.value(first)?;
        let list = |v: Value<'_>| -> Vec<String> {
            match v {
                Value::List(items) => items.iter().map(|s| s.trim().to_owned()).collect(),
                Value::Str(s) => vec![s.trim().to_owned()],
                _ => Vec::new(),
            }
        };
        match key.as_ref() {
            "id" => {
                a.id = text(ev, "id", line, v)?
                    .map(|f| f.v.trim().to_owned())
                    .unwrap_or_default()
            }
            "label" => a.label = text(ev, "label", line, v)?.map(|f| f.v.trim().to_owned()),
            "jurisdictions" => a.jurisdictions = list(v),
            "categories" => a.categories = list(v),
            _ => {}
        }
    }
    if a.id.is_empty() {
        return Err(ev.err(start, "id", "actor without an id"));
    }
    Ok(a)
}

/// True when `text` looks like an ActorPack (a top-level `actors:` key).
fn is_actorpack(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("actors:"))
}

/// What one input file turned into.
enum Parsed {
    Actors(Vec<Actor>),
    Pack(Box<TagSet>, PackSummary),
}

fn parse_file(f: &PackFile, opts: &TagPackOptions) -> Result<Parsed> {
    let text = super::utf8(&f.bytes, &f.error_name)?;
    if is_actorpack(text) {
        return parse_actorpack(text, &f.error_name).map(Parsed::Actors);
    }
    let mut set = TagSet::new();
    let s = parse_tagpack(text, &f.error_name, &f.rel, &HashMap::new(), opts, &mut set)?;
    Ok(Parsed::Pack(Box::new(set), s))
}

/// Reads TagPacks from a directory (recursively: `*.yaml`, `*.yml`, in path
/// order), a `.tar.xz` or `.tar` archive (in archive order), or a single
/// YAML file. ActorPacks among them (files with a top-level `actors:` key)
/// are read wherever they are, and tags' actors resolved once all are read.
///
/// One thread reads (and decompresses) the input while worker threads parse
/// files; the results are merged in input order, so the edition is the same
/// whatever the number of threads, and the first bad file in input order is
/// the one reported.
pub fn load(path: &Path, opts: &TagPackOptions) -> Result<Edition> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
    let mut tags = TagSet::new();
    let mut actors: HashMap<String, Actor> = HashMap::new();
    let mut newest: Option<i64> = None;
    let (file_tx, file_rx) = mpsc::sync_channel::<(usize, PackFile)>(2 * workers);
    let file_rx = Mutex::new(file_rx);
    let (res_tx, res_rx) = mpsc::channel::<(usize, Result<Parsed>)>();
    // Set on the first error: the reader stops, workers drain what is queued.
    let stop = AtomicBool::new(false);
    let (sha256, n_files) = std::thread::scope(|s| -> Result<(String, usize)> {
        let stop = &stop;
        let producer = s.spawn(move || {
            let mut i = 0;
            archive::for_each_file(path, |f| {
                if stop.load(Ordering::Relaxed) {
                    return Err(IntelError::Invalid("import stopped".into()));
                }
                file_tx
                    .send((i, f))
                    .map_err(|_| IntelError::Invalid("import stopped".into()))?;
                i += 1;
                Ok(())
            })
        });
        for _ in 0..workers {
            let (file_rx, res_tx) = (&file_rx, res_tx.clone());
            s.spawn(move || loop {
                let next = match file_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((i, f)) = next else { return };
                if stop.load(Ordering::Relaxed) {
                    continue;
                }
                if res_tx.send((i, parse_file(&f, opts))).is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
            });
        }
        drop(res_tx);
        // merge in input order
        let merged = (|| -> Result<()> {
            let mut pending: BTreeMap<usize, Result<Parsed>> = BTreeMap::new();
            let mut next = 0usize;
            for (i, r) in res_rx {
                pending.insert(i, r);
                while let Some(r) = pending.remove(&next) {
                    next += 1;
                    match r? {
                        Parsed::Actors(list) => {
                            for a in list {
                                if actors.contains_key(&a.id) {
                                    warn!(actor = %a.id, "duplicate actor id; keeping the first");
                                } else {
                                    actors.insert(a.id.clone(), a);
                                }
                            }
                        }
                        Parsed::Pack(set, summary) => {
                            tags.append(*set);
                            newest = match (newest, summary.lastmod) {
                                (Some(a), Some(b)) => Some(a.max(b)),
                                (a, b) => a.or(b),
                            };
                        }
                    }
                }
            }
            Ok(())
        })();
        if merged.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        let read = match producer.join() {
            Ok(r) => r,
            Err(_) => Err(IntelError::Invalid("the reader thread panicked".into())),
        };
        merged?;
        read
    })?;
    if n_files == 0 {
        return Err(IntelError::Invalid(format!(
            "{}: no .yaml or .yml files",
            path.display()
        )));
    }
    let unknown = tags.resolve_actors(|id| {
        actors.get(id).map(|a| {
            let country = (!a.jurisdictions.is_empty()).then(|| a.jurisdictions.join(","));
            (country, a.label.clone())
        })
    });
    if unknown > 0 {
        debug!(unknown, "tag templates whose actor id is in no ActorPack");
    }
    Ok(Edition {
        source: opts.source.clone(),
        kind: "tagpacks".into(),
        edition: opts.edition.clone().unwrap_or_else(|| {
            newest.map_or_else(
                || "undated".to_owned(),
                |t| format!("lastmod {}", format_time(t)),
            )
        }),
        input: path.display().to_string(),
        input_sha256: sha256,
        tags,
    })
}

/// Parses one TagPack from bytes with no actors (for fuzzing): the number of
/// tags, or the error.
pub fn parse_tagpack_bytes(bytes: &[u8], file: &str) -> Result<usize> {
    let text = super::utf8(bytes, file)?;
    let mut set = TagSet::new();
    if is_actorpack(text) {
        return parse_actorpack(text, file).map(|a| a.len());
    }
    parse_tagpack(
        text,
        file,
        file,
        &HashMap::new(),
        &TagPackOptions::default(),
        &mut set,
    )
    .map(|s| s.tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(text: &str) -> Vec<(String, Option<String>)> {
        let mut set = TagSet::new();
        let mut actors = HashMap::new();
        actors.insert(
            "lazarusgroup".to_owned(),
            Actor {
                id: "lazarusgroup".into(),
                label: Some("Lazarus Group".into()),
                jurisdictions: vec!["KP".into()],
                categories: vec![],
            },
        );
        parse_tagpack(
            text,
            "t.yaml",
            "t.yaml",
            &actors,
            &TagPackOptions::default(),
            &mut set,
        )
        .unwrap();
        let f = crate::format::SourceFile::from_bytes(crate::format::encode(&set), Path::new("t"))
            .unwrap();
        (0..f.len() as u32)
            .map(|r| {
                let t = f.template(f.record(r).template);
                (
                    f.string(t.label).to_owned(),
                    Some(f.string(t.country).to_owned()).filter(|c| !c.is_empty()),
                )
            })
            .collect()
    }

    #[test]
    fn header_fields_apply_wherever_they_stand() {
        let last = "title: t\nlabel: L\nactor: lazarusgroup\ntags:\n- address: a1\n- address: a2\n  label: own\n";
        assert!(tags_come_last(last));
        let first = "title: t\ntags:\n- address: a1\n- address: a2\n  label: own\nlabel: L\nactor: lazarusgroup\n";
        assert!(!tags_come_last(first));
        // a key after tags that the line scan cannot see (it starts with
        // '-'): the parser notices and reads the pack again without streaming
        let sneaky = "title: t\nlabel: L\nactor: lazarusgroup\ntags:\n- address: a1\n- address: a2\n  label: own\n-x: y\n";
        assert!(tags_come_last(sneaky));
        let want = vec![
            ("L".to_owned(), Some("KP".to_owned())),
            ("own".to_owned(), Some("KP".to_owned())),
        ];
        for text in [last, first, sneaky] {
            assert_eq!(labels(text), want, "{text}");
        }
    }

    #[test]
    fn scan_cases() {
        assert!(!tags_come_last("title: x\n"));
        assert!(tags_come_last("tags:\n  - address: a\n# done\n...\n"));
        assert!(tags_come_last("tags:   \n- address: a\n\n"));
        assert!(!tags_come_last(
            "tags:\n- address: a\nlastmod: 2020-01-01\n"
        ));
    }
}
