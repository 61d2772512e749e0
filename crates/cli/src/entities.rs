//! `cluster`, `entity`, `explain` and `export clusters`: the entity view.
//! Glue only: the analysis lives in `chainhound-entities`, tags in
//! `chainhound-intel`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use chainhound_btc::{header_time, parse_address, render, Network};
use chainhound_entities::{
    entity_report, verify_link, Clusterer, Clusters, Config, ConfigChoice, EntityId, Heuristics,
    Party, ReportOptions, Supercluster,
};
use chainhound_store::Store;
use chainhound_types::{AddrId, Sats, TxNum};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::fmt::utc;
use crate::query::{emit, open};
use crate::Ctx;

#[derive(Args, Debug)]
pub struct ClusterArgs {
    /// Heuristics, comma-separated, from: multi-input, change-type,
    /// change-fresh, change-round, change-optimal, change-peel [default: the
    /// stored choice; multi-input for a new store]. A new choice recomputes.
    #[arg(long)]
    pub heuristics: Option<String>,
    /// Supercluster guard: report merges of two clusters that both hold at
    /// least this many addresses [default: the stored choice; 1000].
    #[arg(long)]
    pub guard_min_size: Option<u32>,
    /// Largest entities to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

#[derive(Args, Debug)]
pub struct EntityArgs {
    /// An address, or an entity id (a number).
    #[arg(required_unless_present = "superclusters")]
    pub id: Option<String>,
    /// List the supercluster events instead: merges of two large clusters,
    /// with whether a tag supports them.
    #[arg(long, conflicts_with = "id")]
    pub superclusters: bool,
    /// Counterparties to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Addresses to list.
    #[arg(long, default_value_t = 10)]
    pub addresses: usize,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The first address.
    pub a: String,
    /// The second address.
    pub b: String,
}

#[derive(Subcommand, Debug)]
pub enum ExportCmd {
    /// Write `address,entity_id` for every clustered address (CSV).
    Clusters {
        /// The file to write (replaced atomically).
        file: PathBuf,
    },
}

fn open_clusters(store: &Store) -> Result<Clusters> {
    let c = Clusters::open(store)?;
    let cov = c.coverage();
    if cov.blocks < cov.store_blocks {
        tracing::warn!(
            covered = cov.blocks,
            store = cov.store_blocks,
            "the clusters lag behind the store; run `chainhound cluster` to update them"
        );
    }
    Ok(c)
}

fn addr_of(store: &Store, net: Network, s: &str) -> Result<AddrId> {
    let key = parse_address(s.trim(), net)?;
    store
        .addr_id(&key)
        .ok_or_else(|| anyhow!("address {s} never appears in the store"))
}

fn show(store: &Store, net: Network, a: AddrId) -> String {
    render(&store.addr_key(a), net)
}

/// Where an entity id or address resolves to.
fn resolve(store: &Store, clusters: &Clusters, net: Network, s: &str) -> Result<EntityId> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let id: u32 = s.parse().context("entity id")?;
        return Ok(clusters.entity(id)?);
    }
    Ok(clusters.entity_of(addr_of(store, net, s)?)?)
}

// ---- cluster ----

#[derive(Serialize)]
struct LargestJson {
    entity_id: u32,
    addresses: u32,
    first_address: String,
}

#[derive(Serialize)]
struct ClusterJson {
    heuristics: String,
    guard_min_size: u32,
    covered_blocks: u32,
    tip_height: Option<u32>,
    blocks_added: u32,
    blocks_dropped: u32,
    seconds: f64,
    addresses: u64,
    entities: u64,
    singletons: u64,
    largest: Vec<LargestJson>,
    unions: BTreeMap<String, u64>,
    flagged: BTreeMap<String, u64>,
    superclusters: u64,
    bytes: u64,
}

pub fn cluster(ctx: &Ctx, a: ClusterArgs) -> Result<()> {
    let (store, net) = open(ctx)?;
    let t = Instant::now();
    let dir = store.dir().to_path_buf();
    let stored = Clusterer::open(&dir, ConfigChoice::Stored)
        .with_context(|| format!("opening the clusters of {}", dir.display()))?;
    let mut cfg: Config = stored.config().clone();
    if let Some(h) = &a.heuristics {
        cfg.heuristics = Heuristics::parse(h)?;
    }
    if let Some(g) = a.guard_min_size {
        cfg.guard.min_size = g;
    }
    let mut c = if &cfg == stored.config() {
        stored
    } else {
        drop(stored);
        Clusterer::open(&dir, ConfigChoice::Use(cfg.clone()))?
    };
    let r = c.update(&store)?;
    drop(c);
    let clusters = Clusters::open(&store)?;
    let s = clusters.summary(a.top);
    let j = ClusterJson {
        heuristics: cfg.heuristics.to_string(),
        guard_min_size: cfg.guard.min_size,
        covered_blocks: r.covered_blocks,
        tip_height: r.tip_height,
        blocks_added: r.blocks_added,
        blocks_dropped: r.blocks_dropped,
        seconds: t.elapsed().as_secs_f64(),
        addresses: s.addresses,
        entities: s.entities,
        singletons: s.singletons,
        largest: s
            .largest
            .iter()
            .map(|(e, n)| LargestJson {
                entity_id: e.0,
                addresses: *n,
                first_address: show(&store, net, AddrId(e.0)),
            })
            .collect(),
        unions: s
            .edges
            .iter()
            .map(|(h, n)| (h.name().to_string(), *n))
            .collect(),
        flagged: s
            .detections
            .iter()
            .map(|(c, n)| (c.name().to_string(), *n))
            .collect(),
        superclusters: s.superclusters,
        bytes: clusters.sizes().iter().map(|x| x.1).sum(),
    };
    emit(ctx, &j, || {
        let mut o = String::new();
        let tip = j.tip_height.map_or("-".to_string(), |h| h.to_string());
        o += &format!(
            "clusters: {} blocks (tip height {tip}); {} added, {} dropped, in {:.2}s\n",
            j.covered_blocks, j.blocks_added, j.blocks_dropped, j.seconds
        );
        o += &format!(
            "heuristics: {}; supercluster guard: both sides ≥ {} addresses\n",
            j.heuristics, j.guard_min_size
        );
        o += &format!(
            "addresses: {}; entities: {} ({} of one address)\n",
            j.addresses, j.entities, j.singletons
        );
        for (h, n) in &j.unions {
            o += &format!("unions by {h}: {n}\n");
        }
        for (c, n) in &j.flagged {
            o += &format!("flagged {c}: {n}\n");
        }
        o += &format!(
            "supercluster events: {} (chainhound entity --superclusters)\n",
            j.superclusters
        );
        if !j.largest.is_empty() {
            o += "largest entities:\n";
            for l in &j.largest {
                o += &format!(
                    "  {:>10}  {:>9} addresses  e.g. {}\n",
                    l.entity_id, l.addresses, l.first_address
                );
            }
        }
        o
    })
}

// ---- tags (chainhound-intel) ----

/// Tags of a set of addresses, grouped; `None` when no attribution store
/// can be read.
struct TagView {
    store: Option<chainhound_intel::TagStore>,
    note: String,
}

/// (source, label, category, actor).
type TagKey = (String, String, Option<String>, Option<String>);

#[derive(Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct TagJson {
    source: String,
    label: String,
    category: Option<String>,
    actor: Option<String>,
    addresses: u64,
    example: String,
}

impl TagView {
    fn open(ctx: &Ctx) -> TagView {
        let dir = ctx.data.join("intel");
        match chainhound_intel::TagStore::open(&dir) {
            Ok(s) if s.is_empty() => TagView {
                store: Some(s),
                note: format!("no tags imported in {}", dir.display()),
            },
            Ok(s) => TagView {
                store: Some(s),
                note: String::new(),
            },
            Err(e) => TagView {
                store: None,
                note: format!("attribution store unavailable: {e}"),
            },
        }
    }

    /// Tag groups over `addrs` (rendered), most addresses first.
    fn of(&self, addrs: impl Iterator<Item = String>) -> Option<Vec<TagJson>> {
        let s = self.store.as_ref()?;
        if s.is_empty() {
            return Some(Vec::new());
        }
        let mut groups: BTreeMap<TagKey, (u64, String)> = BTreeMap::new();
        for a in addrs {
            for t in s.tags_for(&a) {
                let g = groups
                    .entry((t.source, t.label, t.category, t.actor))
                    .or_insert((0, a.clone()));
                g.0 += 1;
            }
        }
        let mut v: Vec<TagJson> = groups
            .into_iter()
            .map(|((source, label, category, actor), (n, example))| TagJson {
                source,
                label,
                category,
                actor,
                addresses: n,
                example,
            })
            .collect();
        v.sort_by(|a, b| b.addresses.cmp(&a.addresses).then(a.cmp(b)));
        Some(v)
    }
}

// ---- entity ----

#[derive(Serialize)]
struct WhenJson {
    txid: String,
    height: u32,
    time_utc: String,
}

#[derive(Serialize)]
struct PartyJson {
    party: String,
    entity_id: Option<u32>,
    entity_addresses: Option<u32>,
    first_address: Option<String>,
    sent_to_sat: u64,
    received_from_sat: u64,
    txs: u64,
}

#[derive(Serialize)]
struct EntityJson {
    entity_id: u32,
    addresses: u32,
    first_addresses: Vec<String>,
    balance_sat: u64,
    received_sat: u64,
    spent_sat: u64,
    outputs: u64,
    unspent_outputs: u64,
    txs: u64,
    first_activity: Option<WhenJson>,
    last_activity: Option<WhenJson>,
    coinjoins: u64,
    tags: Option<Vec<TagJson>>,
    tags_note: String,
    counterparties: Vec<PartyJson>,
    heuristics: String,
    clusters_tip_height: Option<u32>,
}

fn when(store: &Store, t: TxNum) -> WhenJson {
    let tx = store.tx(t);
    let time = store.block(tx.height).map_or(0, |b| header_time(&b.header));
    WhenJson {
        txid: tx.txid.to_string(),
        height: tx.height.0,
        time_utc: utc(time),
    }
}

pub fn entity(ctx: &Ctx, a: EntityArgs) -> Result<()> {
    let (store, net) = open(ctx)?;
    let clusters = open_clusters(&store)?;
    if a.superclusters {
        return superclusters(ctx, &store, net, &clusters);
    }
    let id =
        a.id.as_deref()
            .ok_or_else(|| anyhow!("give an address or an entity id"))?;
    let e = resolve(&store, &clusters, net, id)?;
    let r = entity_report(
        &store,
        &clusters,
        e,
        ReportOptions {
            top: a.top,
            sample: a.addresses,
        },
    )?;
    let tags = TagView::open(ctx);
    let tag_list = tags.of(clusters.members(e).map(|m| show(&store, net, m)));
    let party = |p: &Party| -> PartyJson {
        let (name, id) = match p {
            Party::Entity(x) => ("entity", Some(x.0)),
            Party::CoinJoin => ("coinjoin", None),
            Party::Coinbase => ("coinbase", None),
            Party::Several => ("several entities", None),
            Party::Unknown => ("unknown", None),
        };
        PartyJson {
            party: name.to_string(),
            entity_id: id,
            entity_addresses: id.and_then(|x| clusters.size(EntityId(x)).ok()),
            first_address: id.map(|x| show(&store, net, AddrId(x))),
            sent_to_sat: 0,
            received_from_sat: 0,
            txs: 0,
        }
    };
    let j = EntityJson {
        entity_id: e.0,
        addresses: r.addresses,
        first_addresses: r.sample.iter().map(|x| show(&store, net, *x)).collect(),
        balance_sat: r.balance.0,
        received_sat: r.received.0,
        spent_sat: r.spent.0,
        outputs: r.outputs,
        unspent_outputs: r.unspent,
        txs: r.txs,
        first_activity: r.first_tx.map(|t| when(&store, t)),
        last_activity: r.last_tx.map(|t| when(&store, t)),
        coinjoins: r.coinjoins,
        tags: tag_list,
        tags_note: tags.note.clone(),
        counterparties: r
            .counterparties
            .iter()
            .map(|c| PartyJson {
                sent_to_sat: c.sent_to.0,
                received_from_sat: c.received_from.0,
                txs: c.txs,
                ..party(&c.party)
            })
            .collect(),
        heuristics: clusters.config().heuristics.to_string(),
        clusters_tip_height: clusters.coverage().tip_height,
    };
    emit(ctx, &j, || {
        let mut o = String::new();
        o += &format!(
            "entity {}: {} address(es) (heuristics: {}; clusters up to height {})\n",
            j.entity_id,
            j.addresses,
            j.heuristics,
            j.clusters_tip_height.map_or("-".into(), |h| h.to_string())
        );
        match &j.tags {
            Some(t) if !t.is_empty() => {
                o += "tags:\n";
                for g in t.iter().take(10) {
                    o += &format!(
                        "  {} [{}] {}{} on {} address(es), e.g. {}\n",
                        g.label,
                        g.source,
                        g.category.as_deref().unwrap_or("-"),
                        g.actor
                            .as_ref()
                            .map_or(String::new(), |a| format!(", actor {a}")),
                        g.addresses,
                        g.example
                    );
                }
            }
            Some(_) => o += &format!("tags: none ({})\n", j.tags_note).replace(" ()", ""),
            None => o += &format!("tags: unavailable ({})\n", j.tags_note),
        }
        o += &format!(
            "balance: {} in {} unspent outputs (received {}, spent {}, {} outputs)\n",
            Sats(j.balance_sat),
            j.unspent_outputs,
            Sats(j.received_sat),
            Sats(j.spent_sat),
            j.outputs
        );
        o += &format!("transactions: {}", j.txs);
        if let (Some(f), Some(l)) = (&j.first_activity, &j.last_activity) {
            o += &format!(
                "; first {} (height {}, tx {}), last {} (height {}, tx {})",
                f.time_utc, f.height, f.txid, l.time_utc, l.height, l.txid
            );
        }
        o += "\n";
        if j.coinjoins > 0 {
            o += &format!("took part in {} flagged CoinJoins\n", j.coinjoins);
        }
        o += &format!(
            "addresses (lowest ids first): {}\n",
            j.first_addresses.join(" ")
        );
        if !j.counterparties.is_empty() {
            o += "top counterparties (value the entity sent to them / received from them):\n";
            for c in &j.counterparties {
                let who = match (c.entity_id, &c.first_address, c.entity_addresses) {
                    (Some(id), Some(a), Some(n)) => format!("entity {id} ({n} addr, e.g. {a})"),
                    _ => c.party.clone(),
                };
                o += &format!(
                    "  {who}\n      sent {}   received {}   in {} txs\n",
                    Sats(c.sent_to_sat),
                    Sats(c.received_from_sat),
                    c.txs
                );
            }
        }
        o
    })
}

/// A short entity view for `demo`.
#[derive(Serialize)]
pub struct EntityBrief {
    pub entity_id: u32,
    pub first_address: String,
    pub addresses: u32,
    pub balance_sat: u64,
    pub txs: u64,
    pub coinjoins: u64,
}

/// The entity of `address`, if the clusters cover it.
pub fn brief(store: &Store, address: &str) -> Option<EntityBrief> {
    let net = Network::from_magic(store.network_magic())?;
    let clusters = Clusters::open(store).ok()?;
    let e = clusters
        .entity_of(addr_of(store, net, address).ok()?)
        .ok()?;
    let r = entity_report(store, &clusters, e, ReportOptions { top: 0, sample: 0 }).ok()?;
    Some(EntityBrief {
        entity_id: e.0,
        first_address: address.to_string(),
        addresses: r.addresses,
        balance_sat: r.balance.0,
        txs: r.txs,
        coinjoins: r.coinjoins,
    })
}

// ---- superclusters ----

#[derive(Serialize)]
struct EventJson {
    union: u32,
    txid: String,
    height: u32,
    heuristic: String,
    from: String,
    to: String,
    size_from: u32,
    size_to: u32,
    entity_id: u32,
    /// A tag (actor or label) found on both sides, if any; `None` when no
    /// tag supports the merge (or no attribution store is available).
    supported_by: Option<String>,
}

#[derive(Serialize)]
struct SupersJson {
    guard_min_size: u32,
    tags_note: String,
    events: Vec<EventJson>,
}

fn support(
    tags: &TagView,
    store: &Store,
    net: Network,
    clusters: &Clusters,
    s: &Supercluster,
) -> Option<String> {
    let (x, y) = clusters.sides(s, 200_000);
    let keys = |side: &[AddrId]| -> BTreeSet<String> {
        tags.of(side.iter().map(|a| show(store, net, *a)))
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.actor.unwrap_or(t.label))
            .collect()
    };
    keys(&x).intersection(&keys(&y)).next().cloned()
}

fn superclusters(ctx: &Ctx, store: &Store, net: Network, clusters: &Clusters) -> Result<()> {
    let tags = TagView::open(ctx);
    let events: Vec<EventJson> = clusters
        .superclusters()
        .iter()
        .map(|s| {
            let tx = store.tx(s.link.tx);
            EventJson {
                union: s.edge,
                txid: tx.txid.to_string(),
                height: tx.height.0,
                heuristic: s.link.heuristic.name().to_string(),
                from: show(store, net, s.link.from),
                to: show(store, net, s.link.to),
                size_from: s.size_from,
                size_to: s.size_to,
                entity_id: s.entity.0,
                supported_by: support(&tags, store, net, clusters, s),
            }
        })
        .collect();
    let j = SupersJson {
        guard_min_size: clusters.config().guard.min_size,
        tags_note: tags.note.clone(),
        events,
    };
    emit(ctx, &j, || {
        let mut o = format!(
            "{} supercluster events (merges of two clusters of ≥ {} addresses each)\n",
            j.events.len(),
            j.guard_min_size
        );
        if !j.tags_note.is_empty() {
            o += &format!("({})\n", j.tags_note);
        }
        for e in &j.events {
            o += &format!(
                "  union #{} at height {}: {} + {} addresses by {} in tx {}\n    {} — {} (now entity {}); {}\n",
                e.union,
                e.height,
                e.size_from,
                e.size_to,
                e.heuristic,
                e.txid,
                e.from,
                e.to,
                e.entity_id,
                match &e.supported_by {
                    Some(t) => format!("supported by tag {t}"),
                    None => "NOT supported by any tag: review".to_string(),
                }
            );
        }
        o
    })
}

// ---- explain ----

#[derive(Serialize)]
struct LinkJson {
    step: usize,
    from: String,
    to: String,
    txid: String,
    height: u32,
    heuristic: String,
    why: String,
    verified: bool,
    verify_error: Option<String>,
}

#[derive(Serialize)]
struct ExplainJson {
    a: String,
    b: String,
    entity_a: u32,
    entity_b: u32,
    same_entity: bool,
    heuristics: String,
    links: Vec<LinkJson>,
}

pub fn explain(ctx: &Ctx, a: ExplainArgs) -> Result<()> {
    let (store, net) = open(ctx)?;
    let clusters = open_clusters(&store)?;
    let (x, y) = (addr_of(&store, net, &a.a)?, addr_of(&store, net, &a.b)?);
    let (ex, ey) = (clusters.entity_of(x)?, clusters.entity_of(y)?);
    let cfg = clusters.config();
    if !clusters.default_detectors() {
        bail!("these clusters were built with custom CoinJoin detectors; explain re-checks links with the default ones");
    }
    let path = clusters.explain(x, y)?.unwrap_or_default();
    let links: Vec<LinkJson> = path
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let tx = store.tx(l.tx);
            let check = verify_link(&store, &cfg, l);
            LinkJson {
                step: i + 1,
                from: show(&store, net, l.from),
                to: show(&store, net, l.to),
                txid: tx.txid.to_string(),
                height: tx.height.0,
                heuristic: l.heuristic.name().to_string(),
                why: l.heuristic.describe().to_string(),
                verified: check.is_ok(),
                verify_error: check.err(),
            }
        })
        .collect();
    let j = ExplainJson {
        a: a.a.trim().to_string(),
        b: a.b.trim().to_string(),
        entity_a: ex.0,
        entity_b: ey.0,
        same_entity: ex == ey,
        heuristics: cfg.heuristics.to_string(),
        links,
    };
    emit(ctx, &j, || {
        let mut o = String::new();
        if !j.same_entity {
            return format!(
                "{} (entity {}) and {} (entity {}) are in different entities: no transaction links them under {}\n",
                j.a, j.entity_a, j.b, j.entity_b, j.heuristics
            );
        }
        if j.links.is_empty() {
            return format!("{} is {} (entity {})\n", j.a, j.b, j.entity_a);
        }
        o += &format!(
            "{} and {} are one entity ({}): {} step(s) of evidence\n",
            j.a,
            j.b,
            j.entity_a,
            j.links.len()
        );
        for l in &j.links {
            o += &format!(
                "{:>3}. {} — {}\n     tx {} (height {}), {}: {}\n     {}\n",
                l.step,
                l.from,
                l.to,
                l.txid,
                l.height,
                l.heuristic,
                l.why,
                if l.verified {
                    "re-checked against the store: holds".to_string()
                } else {
                    format!(
                        "re-check FAILED: {}",
                        l.verify_error.as_deref().unwrap_or("?")
                    )
                }
            );
        }
        o
    })
}

// ---- export ----

#[derive(Serialize)]
struct ExportJson {
    file: String,
    rows: u64,
    entities: u64,
}

pub fn export(ctx: &Ctx, cmd: ExportCmd) -> Result<()> {
    let ExportCmd::Clusters { file } = cmd;
    let (store, net) = open(ctx)?;
    let clusters = open_clusters(&store)?;
    let tmp = file.with_extension("tmp");
    let f = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    writeln!(w, "address,entity_id")?;
    let mut rows = 0u64;
    let mut entities: HashSet<u32> = HashSet::new();
    for (a, e) in clusters.entity_ids() {
        writeln!(w, "{},{}", show(&store, net, a), e.0)?;
        rows += 1;
        entities.insert(e.0);
    }
    w.into_inner()
        .map_err(|e| anyhow!("writing {}: {}", tmp.display(), e.error()))?
        .sync_all()?;
    std::fs::rename(&tmp, &file).with_context(|| format!("writing {}", file.display()))?;
    let j = ExportJson {
        file: file.display().to_string(),
        rows,
        entities: entities.len() as u64,
    };
    emit(ctx, &j, || {
        format!(
            "wrote {} addresses in {} entities to {}\n",
            j.rows, j.entities, j.file
        )
    })
}
