//! `import ofac|tagpacks|csv` and `tags list|sources`: the attribution store
//! in `<data>/intel`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use chainhound_intel::import::{csv, ofac, tagpack};
use chainhound_intel::time::format_time;
use chainhound_intel::{
    Chain, Edition, ImportOptions, ImportReport, Listing, Provenance, Tag, TagFilter, TagStore,
    TagWriter, Tlp,
};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::query::emit;
use crate::Ctx;

#[derive(Subcommand, Debug)]
pub enum ImportCmd {
    /// OFAC SDN: SDN_ADVANCED.XML (.xml or .xml.bz2), or a directory of
    /// per-currency lists (sanctioned_addresses_<CUR>.txt).
    Ofac(OfacArgs),
    /// GraphSense TagPacks and ActorPacks: a directory, a .tar.xz or a .yaml file.
    Tagpacks(TagpacksArgs),
    /// CSV with a header: address,label[,category,actor,country,source,confidence,tlp,currency,abuse,lastmod].
    Csv(CsvArgs),
}

#[derive(Args, Debug)]
pub struct Common {
    /// Record this edition instead of the one detected.
    #[arg(long)]
    pub edition: Option<String>,
    /// List at most this many added and delisted tags.
    #[arg(long, default_value_t = 20)]
    pub show: usize,
}

#[derive(Args, Debug)]
pub struct OfacArgs {
    /// The SDN advanced XML file (plain or .bz2) or a directory of lists.
    pub path: PathBuf,
    /// Source name.
    #[arg(long, default_value = ofac::SOURCE)]
    pub source: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct TagpacksArgs {
    /// A directory of packs, a .tar.xz/.tar archive, or one .yaml file.
    pub path: PathBuf,
    /// Source name.
    #[arg(long, default_value = tagpack::SOURCE)]
    pub source: String,
    /// TLP of packs that do not set is_public (clear, green, amber, amber+strict, red).
    #[arg(long, default_value = "amber")]
    pub tlp: Tlp,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct CsvArgs {
    /// The CSV file.
    pub path: PathBuf,
    /// Source name (required: what these tags are).
    #[arg(long)]
    pub source: String,
    /// TLP of rows without a tlp column value.
    #[arg(long, default_value = "amber")]
    pub tlp: Tlp,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Subcommand, Debug)]
pub enum TagsCmd {
    /// List tags, optionally filtered; with --address, every tag on that address in full.
    List(ListArgs),
    /// The imported sources: edition, tag count, import time, input digest.
    Sources,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Only this category (e.g. sanction, exchange, mixing_service).
    #[arg(long)]
    pub category: Option<String>,
    /// Only this chain (btc, eth, tron, ...).
    #[arg(long)]
    pub chain: Option<Chain>,
    /// Only this address (any spelling: checksum case, bitcoincash: prefix).
    #[arg(long)]
    pub address: Option<String>,
    /// At most this many tags (0: all).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

pub fn dir(ctx: &Ctx) -> PathBuf {
    ctx.data.join("intel")
}

// ---- import ----

#[derive(Serialize)]
struct ListingJson {
    chain: &'static str,
    address: String,
    label: String,
}

#[derive(Serialize)]
struct ChainJson {
    chain: &'static str,
    tags: u64,
    added: u64,
    delisted: u64,
    unchanged: u64,
}

#[derive(Serialize)]
struct ImportJson {
    source: String,
    kind: String,
    edition: String,
    previous_edition: Option<String>,
    input: String,
    input_sha256: String,
    tags: u64,
    previous_tags: u64,
    added: u64,
    delisted: u64,
    unchanged: u64,
    by_chain: Vec<ChainJson>,
    added_listed: Vec<ListingJson>,
    delisted_listed: Vec<ListingJson>,
    seconds: f64,
}

fn listing_json(l: &Listing) -> ListingJson {
    ListingJson {
        chain: l.chain.as_str(),
        address: l.address.clone(),
        label: l.label.clone(),
    }
}

pub fn import(ctx: &Ctx, cmd: ImportCmd) -> Result<()> {
    let t = Instant::now();
    let (path, show, edition) = match &cmd {
        ImportCmd::Ofac(a) => {
            let opts = ofac::OfacOptions {
                source: a.source.clone(),
                edition: a.common.edition.clone(),
                ..Default::default()
            };
            (&a.path, a.common.show, ofac::load(&a.path, &opts))
        }
        ImportCmd::Tagpacks(a) => {
            let opts = tagpack::TagPackOptions {
                source: a.source.clone(),
                edition: a.common.edition.clone(),
                default_tlp: a.tlp,
            };
            (&a.path, a.common.show, tagpack::load(&a.path, &opts))
        }
        ImportCmd::Csv(a) => {
            let mut opts = csv::CsvOptions::new(a.source.clone());
            opts.edition = a.common.edition.clone();
            opts.default_tlp = a.tlp;
            (&a.path, a.common.show, csv::load(&a.path, &opts))
        }
    };
    let edition = edition.with_context(|| format!("importing {}", path.display()))?;
    let (input, sha) = (edition.input.clone(), edition.input_sha256.clone());
    let report = store_edition(ctx, edition, show)?;
    let secs = t.elapsed().as_secs_f64();
    let j = ImportJson {
        source: report.source.clone(),
        kind: report.kind.clone(),
        edition: report.edition.clone(),
        previous_edition: report.previous_edition.clone(),
        input,
        input_sha256: sha,
        tags: report.tags,
        previous_tags: report.previous_tags,
        added: report.added,
        delisted: report.delisted,
        unchanged: report.unchanged,
        by_chain: report
            .by_chain
            .iter()
            .map(|c| ChainJson {
                chain: c.chain.as_str(),
                tags: c.tags,
                added: c.added,
                delisted: c.delisted,
                unchanged: c.unchanged,
            })
            .collect(),
        added_listed: report.added_listings.iter().map(listing_json).collect(),
        delisted_listed: report.delisted_listings.iter().map(listing_json).collect(),
        seconds: secs,
    };
    if ctx.quiet && !ctx.json {
        return Ok(());
    }
    emit(ctx, &j, || import_text(&report, path, secs))
}

fn store_edition(ctx: &Ctx, edition: Edition, show: usize) -> Result<ImportReport> {
    let dir = dir(ctx);
    let mut w = TagWriter::open(&dir)
        .with_context(|| format!("opening the tag store in {}", dir.display()))?;
    let opts = ImportOptions {
        now: None,
        list_limit: show,
    };
    Ok(w.import(edition, &opts)?)
}

fn import_text(r: &ImportReport, path: &Path, secs: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: imported {} tags, edition {:?} ({}), from {} in {secs:.2}s",
        r.source,
        r.tags,
        r.edition,
        r.kind,
        path.display()
    );
    match &r.previous_edition {
        Some(p) => {
            let _ = writeln!(s, "replaced edition {p:?} ({} tags)", r.previous_tags);
        }
        None => {
            let _ = writeln!(s, "new source");
        }
    }
    let _ = writeln!(
        s,
        "added {}, delisted {}, unchanged {}",
        r.added, r.delisted, r.unchanged
    );
    let _ = writeln!(
        s,
        "  {:<8} {:>8} {:>8} {:>9} {:>10}",
        "chain", "tags", "added", "delisted", "unchanged"
    );
    for c in &r.by_chain {
        let _ = writeln!(
            s,
            "  {:<8} {:>8} {:>8} {:>9} {:>10}",
            c.chain.as_str(),
            c.tags,
            c.added,
            c.delisted,
            c.unchanged
        );
    }
    for (what, total, list) in [
        ("delisted", r.delisted, &r.delisted_listings),
        ("added", r.added, &r.added_listings),
    ] {
        if list.is_empty() {
            continue;
        }
        let more = total.saturating_sub(list.len() as u64);
        let _ = writeln!(
            s,
            "{what}{}:",
            if more > 0 {
                format!(" (first {} of {total}; --show N for more)", list.len())
            } else {
                String::new()
            }
        );
        for l in list.iter() {
            let _ = writeln!(s, "  {:<7} {}  {}", l.chain.as_str(), l.address, l.label);
        }
    }
    s
}

// ---- tags ----

#[derive(Serialize)]
struct TagJson {
    address: String,
    chain: &'static str,
    currency: Option<String>,
    label: String,
    source: String,
    category: Option<String>,
    abuse: Option<String>,
    actor: Option<String>,
    country: Option<String>,
    confidence: Option<String>,
    confidence_score: Option<u8>,
    tlp: &'static str,
    reference: Option<String>,
    source_time: Option<String>,
    imported_at: String,
    provenance: ProvenanceJson,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ProvenanceJson {
    Ofac {
        profile_id: Option<u64>,
        name: Option<String>,
        programs: Vec<String>,
        feature_type: String,
        designated: Option<String>,
        line: u64,
    },
    Tagpack {
        title: String,
        creator: Option<String>,
        is_public: Option<bool>,
        file: String,
        line: u64,
        actor_label: Option<String>,
    },
    Csv {
        file: String,
        line: u64,
    },
}

fn tag_json(t: &Tag) -> TagJson {
    TagJson {
        address: t.address.clone(),
        chain: t.chain.as_str(),
        currency: t.currency.clone(),
        label: t.label.clone(),
        source: t.source.clone(),
        category: t.category.clone(),
        abuse: t.abuse.clone(),
        actor: t.actor.clone(),
        country: t.country.clone(),
        confidence: t.confidence.clone(),
        confidence_score: t.confidence_score,
        tlp: t.tlp.as_str(),
        reference: t.reference.clone(),
        source_time: t.source_time.map(format_time),
        imported_at: format_time(t.imported_at),
        provenance: match &t.provenance {
            Provenance::Ofac(o) => ProvenanceJson::Ofac {
                profile_id: o.profile_id,
                name: o.name.clone(),
                programs: o.programs.clone(),
                feature_type: o.feature_type.clone(),
                designated: o.designated.map(format_time),
                line: o.line,
            },
            Provenance::TagPack(p) => ProvenanceJson::Tagpack {
                title: p.title.clone(),
                creator: p.creator.clone(),
                is_public: p.is_public,
                file: p.file.clone(),
                line: p.line,
                actor_label: p.actor_label.clone(),
            },
            Provenance::Csv(c) => ProvenanceJson::Csv {
                file: c.file.clone(),
                line: c.line,
            },
            _ => ProvenanceJson::Csv {
                file: String::new(),
                line: 0,
            },
        },
    }
}

#[derive(Serialize)]
struct ListJson {
    total: u64,
    shown: usize,
    tags: Vec<TagJson>,
}

fn open(ctx: &Ctx) -> Result<TagStore> {
    let dir = dir(ctx);
    TagStore::open(&dir).with_context(|| format!("opening the tag store in {}", dir.display()))
}

pub fn tags(ctx: &Ctx, cmd: TagsCmd) -> Result<()> {
    match cmd {
        TagsCmd::List(a) => list(ctx, a),
        TagsCmd::Sources => sources(ctx),
    }
}

fn list(ctx: &Ctx, a: ListArgs) -> Result<()> {
    let store = open(ctx)?;
    if let Some(s) = &a.source {
        if !store.sources().iter().any(|i| &i.name == s) {
            return Err(anyhow!("no source {s:?} (imported: {})", names(&store)));
        }
    }
    let filter = TagFilter {
        source: a.source.clone(),
        category: a.category.clone(),
        chain: a.chain,
        address: a.address.clone(),
    };
    let limit = if a.limit == 0 { usize::MAX } else { a.limit };
    let mut tags = Vec::new();
    let mut total = 0u64;
    for t in store.select(&filter) {
        if tags.len() < limit {
            tags.push(t);
        }
        total += 1;
    }
    let j = ListJson {
        total,
        shown: tags.len(),
        tags: tags.iter().map(tag_json).collect(),
    };
    emit(ctx, &j, || {
        let mut s = String::new();
        if store.sources().is_empty() {
            let _ = writeln!(
                s,
                "no tags imported yet (chainhound import ofac|tagpacks|csv ...)"
            );
            return s;
        }
        if a.address.is_some() {
            if tags.is_empty() {
                let _ = writeln!(s, "no tags on {}", a.address.as_deref().unwrap_or(""));
            }
            for t in &tags {
                s.push_str(&tag_long(t));
            }
        } else {
            if !tags.is_empty() {
                let _ = writeln!(
                    s,
                    "{:<10} {:<7} {:<44} {:<32} {:<16} {:<16} tlp",
                    "source", "chain", "address", "label", "category", "actor"
                );
            }
            for t in &tags {
                s.push_str(&tag_line(t));
            }
        }
        if total > tags.len() as u64 {
            let _ = writeln!(
                s,
                "... {} of {total} tags shown (--limit N, 0 for all)",
                tags.len()
            );
        } else if a.address.is_none() {
            let _ = writeln!(s, "{total} tags");
        }
        s
    })
}

fn names(store: &TagStore) -> String {
    let v: Vec<&str> = store.sources().iter().map(|s| s.name.as_str()).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn tag_line(t: &Tag) -> String {
    format!(
        "{:<10} {:<7} {:<44} {:<32} {:<16} {:<16} {}\n",
        t.source,
        t.chain.as_str(),
        t.address,
        t.label,
        t.category.as_deref().unwrap_or("-"),
        t.actor.as_deref().unwrap_or("-"),
        t.tlp.as_str()
    )
}

fn tag_long(t: &Tag) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} ({}{}): {}",
        t.address,
        t.chain.as_str(),
        t.currency
            .as_deref()
            .map(|c| format!(", {c}"))
            .unwrap_or_default(),
        t.label
    );
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let _ = writeln!(
        s,
        "  source {}; category {}; abuse {}; actor {}; country {}",
        t.source,
        opt(&t.category),
        opt(&t.abuse),
        opt(&t.actor),
        opt(&t.country)
    );
    let _ = writeln!(
        s,
        "  confidence {}{}; TLP:{}",
        opt(&t.confidence),
        t.confidence_score
            .map(|c| format!(" ({c}/100)"))
            .unwrap_or_default(),
        t.tlp.as_str().to_uppercase()
    );
    match &t.provenance {
        Provenance::Ofac(o) => {
            let _ = writeln!(
                s,
                "  OFAC SDN profile {}; programmes {}; {}; designated {}; line {}",
                o.profile_id.map_or("-".into(), |p| p.to_string()),
                if o.programs.is_empty() {
                    "-".into()
                } else {
                    o.programs.join(", ")
                },
                o.feature_type,
                o.designated.map_or("-".into(), format_time),
                o.line
            );
        }
        Provenance::TagPack(p) => {
            let _ = writeln!(
                s,
                "  TagPack {:?} by {}; {} line {}{}{}",
                p.title,
                opt(&p.creator),
                p.file,
                p.line,
                p.actor_label
                    .as_deref()
                    .map(|l| format!("; actor {l:?}"))
                    .unwrap_or_default(),
                p.is_public
                    .map(|b| format!("; is_public {b}"))
                    .unwrap_or_default()
            );
        }
        Provenance::Csv(c) => {
            let _ = writeln!(s, "  CSV {} line {}", c.file, c.line);
        }
        _ => {}
    }
    let _ = writeln!(
        s,
        "  reference {}; source date {}; imported {}",
        opt(&t.reference),
        t.source_time.map_or("-".into(), format_time),
        format_time(t.imported_at)
    );
    s
}

#[derive(Serialize)]
struct SourceJson {
    name: String,
    kind: String,
    edition: String,
    tags: u64,
    imported_at: String,
    input: String,
    input_sha256: String,
}

fn sources(ctx: &Ctx) -> Result<()> {
    let store = open(ctx)?;
    let list: Vec<SourceJson> = store
        .sources()
        .iter()
        .map(|s| SourceJson {
            name: s.name.clone(),
            kind: s.kind.clone(),
            edition: s.edition.clone(),
            tags: s.tags,
            imported_at: format_time(s.imported_at),
            input: s.input.clone(),
            input_sha256: s.input_sha256.clone(),
        })
        .collect();
    emit(ctx, &list, || {
        let mut s = String::new();
        if list.is_empty() {
            let _ = writeln!(
                s,
                "no sources imported yet (chainhound import ofac|tagpacks|csv ...)"
            );
            return s;
        }
        let _ = writeln!(
            s,
            "{:<12} {:<10} {:<22} {:>8}  {:<23}  input (sha256)",
            "source", "kind", "edition", "tags", "imported"
        );
        for x in &list {
            let _ = writeln!(
                s,
                "{:<12} {:<10} {:<22} {:>8}  {:<23}  {} ({}…)",
                x.name,
                x.kind,
                x.edition,
                x.tags,
                x.imported_at,
                x.input,
                &x.input_sha256[..x.input_sha256.len().min(12)]
            );
        }
        s
    })
}
