//! `trace`, `path` and `exposure`: following the money with
//! chainhound-trace. Glue only: flags in, reports out (table, `--json`,
//! CSV, GraphML, GEXF).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use chainhound_trace::{
    export, Destination, Direction, Engine, EntityInfo, ExposureOptions, Hop, Limits, Model,
    SpendShape, TraceReport, TraceRequest,
};
use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::fmt::utc;
use crate::Ctx;

mod demo;
mod pathexp;

pub use demo::demo_section;
pub use pathexp::{exposure, path};

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum ModelArg {
    /// Every output of a transaction with a tainted input is fully tainted.
    Poison,
    /// Outputs carry the tainted fraction of the inputs (fee proportional).
    Haircut,
    /// First in, first out along input and output order (fee last).
    Fifo,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum DirectionArg {
    /// Where the value went.
    Forward,
    /// Where the value came from.
    Backward,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// A table for people (or JSON with --json).
    Table,
    /// The destinations as CSV.
    Csv,
    /// The flow graph as GraphML.
    Graphml,
    /// The flow graph as GEXF 1.3.
    Gexf,
}

#[derive(Args, Debug)]
pub struct TraceArgs {
    /// Start: txid, txid:vout, address, or entity (e<id>). Repeat for
    /// several (e.g. every theft transaction).
    #[arg(long, required = true, num_args = 1)]
    pub from: Vec<String>,
    #[arg(long, value_enum, default_value = "forward")]
    pub direction: DirectionArg,
    #[arg(long, value_enum, default_value = "haircut")]
    pub model: ModelArg,
    /// Transactions to follow from the start (default: no limit).
    #[arg(long)]
    pub max_hops: Option<u32>,
    /// Do not follow tainted amounts below this many satoshis.
    #[arg(long, default_value_t = 0)]
    pub min_value: u64,
    /// Stop at this time: Unix seconds or YYYY-MM-DD[ HH:MM:SS] (UTC).
    #[arg(long)]
    pub until: Option<String>,
    /// Attribution categories that end a path (comma-separated; "none" for none).
    #[arg(long, default_value = "exchange", value_delimiter = ',')]
    pub stop_at: Vec<String>,
    /// Transactions the trace may visit before it is cut.
    #[arg(long, default_value_t = Limits::default().max_txs)]
    pub max_txs: u64,
    /// Transactions waiting at once before the trace is cut.
    #[arg(long, default_value_t = Limits::default().max_frontier)]
    pub max_frontier: u64,
    /// Outputs taken from an address or entity start.
    #[arg(long, default_value_t = Limits::default().max_sources)]
    pub max_sources: u64,
    /// Haircut: inside CoinJoins, give the taint first to the outputs judged
    /// the tainted inputs' owner's: spent alone or in a post-mix
    /// consolidation, and reaching an address that also received unmixed
    /// traced value (heuristic; see docs/tracing.md).
    #[arg(long)]
    pub demix: bool,
    /// Expand the explanation paths of this many destinations (the
    /// largest), or `all`. Every destination names the output its path ends
    /// at (`end`), and `--format json` carries the explanation tree that
    /// leads back from any of them to the source.
    #[arg(long, default_value = "100", value_parser = parse_explain)]
    pub explain: usize,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Destinations shown in the table (all are in the other formats).
    #[arg(long, default_value_t = 25)]
    pub top: usize,
}

#[derive(Args, Debug)]
pub struct PathArgs {
    /// From: txid, txid:vout, address or entity (e<id>).
    pub from: String,
    /// To: address or entity (e<id>).
    pub to: String,
    /// Most transactions on a path.
    #[arg(long, default_value_t = 12)]
    pub max_hops: u32,
    /// Transactions the search may visit.
    #[arg(long, default_value_t = 200_000)]
    pub max_txs: u64,
}

#[derive(Args, Debug)]
pub struct ExposureArgs {
    /// Address or entity (e<id>).
    pub target: String,
    /// Transactions to follow in each direction (1 = direct only).
    #[arg(long, default_value_t = 4)]
    pub hops: u32,
    /// Transactions visited per direction before the answer is cut.
    #[arg(long, default_value_t = ExposureOptions::default().max_txs)]
    pub max_txs: u64,
    /// Evidence paths per category.
    #[arg(long, default_value_t = 3)]
    pub paths: usize,
}

pub(super) fn open(ctx: &Ctx) -> Result<Engine> {
    Engine::open(&ctx.data).with_context(|| {
        format!(
            "opening the tracing engine over {} (ingest a chain and run `chainhound cluster` first)",
            ctx.data.display()
        )
    })
}

fn parse_time(s: &str) -> Result<u32> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u32>() {
        return Ok(n);
    }
    let t = chainhound_intel::time::parse_datetime(s).ok_or_else(|| {
        anyhow!("--until must be Unix seconds or YYYY-MM-DD[ HH:MM:SS], got {s:?}")
    })?;
    u32::try_from(t).map_err(|_| anyhow!("--until {s:?} is outside 1970-2106"))
}

pub fn trace(ctx: &Ctx, a: TraceArgs) -> Result<()> {
    let engine = open(ctx)?;
    let mut from = Vec::new();
    for s in &a.from {
        from.push(engine.resolve(s)?);
    }
    let mut req = TraceRequest::new(from[0]);
    req.from = from;
    req.direction = match a.direction {
        DirectionArg::Forward => Direction::Forward,
        DirectionArg::Backward => Direction::Backward,
    };
    req.model = match a.model {
        ModelArg::Poison => Model::Poison,
        ModelArg::Haircut => Model::Haircut,
        ModelArg::Fifo => Model::Fifo,
    };
    req.max_hops = a.max_hops;
    req.min_value = a.min_value;
    req.until = a.until.as_deref().map(parse_time).transpose()?;
    req.stop_at = a
        .stop_at
        .iter()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty() && s != "none")
        .collect();
    for c in &req.stop_at {
        if engine.attribution().entities_in(c).is_empty() && !ctx.quiet {
            eprintln!("note: no imported tag has category {c:?}; --stop-at {c} stops nothing");
        }
    }
    req.limits = Limits {
        max_txs: a.max_txs,
        max_frontier: a.max_frontier,
        max_sources: a.max_sources,
    };
    req.explain = a.explain;
    req.demix = a.demix;
    // Only the graph formats carry the flow graph.
    req.flows = matches!(a.format, Format::Graphml | Format::Gexf);
    let t0 = std::time::Instant::now();
    let report = engine.trace(&req)?;
    tracing::info!(ms = t0.elapsed().as_secs_f64() * 1e3, "trace done");
    let mut buf: Vec<u8> = Vec::new();
    match a.format {
        Format::Table => {
            if ctx.json {
                buf = serde_json::to_vec_pretty(&trace_json(&engine, &report))?;
                buf.push(b'\n');
            } else {
                buf = trace_text(&engine, &report, a.top).into_bytes();
            }
        }
        Format::Csv => export::write_csv(&report, &mut buf)?,
        Format::Graphml => export::write_graphml(&engine, &report, &mut buf)?,
        Format::Gexf => export::write_gexf(&engine, &report, &mut buf)?,
    }
    match &a.out {
        Some(p) => {
            std::fs::write(p, &buf).with_context(|| format!("writing {}", p.display()))?;
            if !ctx.quiet {
                eprintln!("wrote {}", p.display());
            }
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&buf)?;
        }
    }
    Ok(())
}

// ---- JSON ----

#[derive(Serialize)]
pub(super) struct EntityJson {
    entity: String,
    name: Option<String>,
    categories: Vec<String>,
    countries: Vec<String>,
}

pub(super) fn entity_json(e: &EntityInfo) -> EntityJson {
    EntityJson {
        entity: format!("e{}", e.entity.0),
        name: e.name.clone(),
        categories: e.categories.clone(),
        countries: e.countries.clone(),
    }
}

#[derive(Serialize)]
pub(super) struct HopJson {
    txid: String,
    index: u32,
    address: String,
    entity: String,
    amount_sat: u64,
    time: u32,
}

pub(super) fn hops_json(h: &[Hop]) -> Vec<HopJson> {
    h.iter()
        .map(|h| HopJson {
            txid: h.txid.to_string(),
            index: h.index,
            address: h.address.clone(),
            entity: format!("e{}", h.entity.0),
            amount_sat: h.amount,
            time: h.time,
        })
        .collect()
}

#[derive(Serialize)]
struct DestJson {
    #[serde(flatten)]
    entity: EntityJson,
    reason: &'static str,
    amount_sat: u64,
    share: f64,
    outputs: u64,
    min_hops: u32,
    max_hops: u32,
    first_time: u32,
    last_time: u32,
    /// `txid:vout` where the explanation path ends (forward) or starts.
    end: String,
    end_amount_sat: u64,
    path: Vec<HopJson>,
}

/// One edge of the explanation tree: `txid` got the most traced value
/// from output `from`.
#[derive(Serialize)]
struct TreeJson {
    txid: String,
    from: String,
    amount_sat: u64,
}

#[derive(Serialize)]
struct MixerJson {
    txid: String,
    kind: &'static str,
    amount_in_sat: u64,
    amount_out_sat: u64,
    time: u32,
}

#[derive(Serialize)]
struct DemixJson {
    /// The CoinJoin output judged to be the source owner's.
    output: String,
    address: String,
    value_sat: u64,
    coinjoin_kind: &'static str,
    /// The transaction that spent it.
    spent_by: String,
    /// How it was spent: `alone` or `consolidation`.
    shape: &'static str,
    /// Where the value went: an output at an address that also received
    /// unmixed traced value (`prior`).
    reached: String,
    hops: u32,
    reached_address: String,
    prior: String,
}

#[derive(Serialize)]
struct CutJson {
    limit: &'static str,
    value: u64,
    at_txid: Option<String>,
    unfollowed_sat: u64,
}

#[derive(Serialize)]
struct TraceJson {
    from: Vec<String>,
    direction: &'static str,
    model: &'static str,
    max_hops: Option<u32>,
    min_value_sat: u64,
    until: Option<u32>,
    stop_at: Vec<String>,
    source_value_sat: u64,
    source_outputs: u64,
    accounted_sat: u64,
    fees_sat: u64,
    below_min_value_sat: u64,
    overlap_sat: u64,
    unspent_sat: u64,
    txs_visited: u64,
    hops_reached: u32,
    cut: Option<CutJson>,
    destinations: Vec<DestJson>,
    mixers: Vec<MixerJson>,
    /// With `--demix`: the CoinJoin outputs judged to be the source
    /// owner's, each with its evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    demixed: Option<Vec<DemixJson>>,
    /// With `--demix`: the judgment ran out of its budget (`--max-txs`
    /// transactions read); outputs of later CoinJoins were not judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    demix_exhausted: Option<bool>,
    /// The explanation tree (chain order): from any destination's `end`,
    /// the edge of the transaction that created it (forward) leads one hop
    /// nearer the source.
    tree: Vec<TreeJson>,
}

fn dir_name(d: Direction) -> &'static str {
    match d {
        Direction::Forward => "forward",
        Direction::Backward => "backward",
    }
}

fn trace_json(engine: &Engine, r: &TraceReport) -> TraceJson {
    TraceJson {
        from: r.request.from.iter().map(|t| engine.describe(t)).collect(),
        direction: dir_name(r.request.direction),
        model: r.request.model.name(),
        max_hops: r.request.max_hops,
        min_value_sat: r.request.min_value,
        until: r.request.until,
        stop_at: r.request.stop_at.clone(),
        source_value_sat: r.source_value,
        source_outputs: r.source_outputs,
        accounted_sat: r.accounted(),
        fees_sat: r.fees,
        below_min_value_sat: r.below_min_value,
        overlap_sat: r.overlap,
        unspent_sat: r.unspent,
        txs_visited: r.txs_visited,
        hops_reached: r.hops_reached,
        cut: r.cut.as_ref().map(|c| CutJson {
            limit: c.limit,
            value: c.value,
            at_txid: c.at_tx.map(|t| t.to_string()),
            unfollowed_sat: c.unfollowed,
        }),
        destinations: r
            .destinations
            .iter()
            .map(|d| dest_json(engine, d))
            .collect(),
        mixers: r
            .mixers
            .iter()
            .map(|m| MixerJson {
                txid: m.txid.to_string(),
                kind: m.kind,
                amount_in_sat: m.amount_in,
                amount_out_sat: m.amount_out,
                time: m.time,
            })
            .collect(),
        demixed: r.request.demix.then(|| {
            r.demixed
                .iter()
                .map(|j| DemixJson {
                    output: engine.outpoint(j.output),
                    address: j.output_address.clone(),
                    value_sat: j.value,
                    coinjoin_kind: j.coinjoin_kind,
                    spent_by: engine.store().txid(j.spent_by).to_string(),
                    shape: j.shape.name(),
                    reached: engine.outpoint(j.reached),
                    hops: j.hops,
                    reached_address: j.address.clone(),
                    prior: engine.outpoint(j.prior),
                })
                .collect()
        }),
        demix_exhausted: r.request.demix.then_some(r.demix_exhausted),
        tree: r
            .tree
            .iter()
            .map(|e| TreeJson {
                txid: engine.store().txid(e.tx).to_string(),
                from: engine.outpoint(e.from),
                amount_sat: e.amount,
            })
            .collect(),
    }
}

fn dest_json(engine: &Engine, d: &Destination) -> DestJson {
    DestJson {
        entity: entity_json(&d.entity),
        reason: d.reason.name(),
        amount_sat: d.amount,
        share: d.share,
        outputs: d.outputs,
        min_hops: d.min_hops,
        max_hops: d.max_hops,
        first_time: d.first_time,
        last_time: d.last_time,
        end: engine.outpoint(d.end),
        end_amount_sat: d.end_amount,
        path: hops_json(&d.path),
    }
}

/// Parses `--explain`: a count or `all`.
fn parse_explain(s: &str) -> Result<usize, String> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(usize::MAX);
    }
    s.parse()
        .map_err(|_| format!("{s:?} is neither a number of destinations nor \"all\""))
}

// ---- text ----

pub(super) fn btc(s: u64) -> String {
    format!("{}.{:08}", s / 100_000_000, s % 100_000_000)
}

pub(super) fn who(e: &EntityInfo) -> String {
    let mut s = match &e.name {
        Some(n) => format!("{n} (e{})", e.entity.0),
        None => format!("e{} (unattributed)", e.entity.0),
    };
    if !e.categories.is_empty() {
        let _ = write!(s, " [{}]", e.categories.join(","));
    }
    s
}

pub fn trace_text(engine: &Engine, r: &TraceReport, top: usize) -> String {
    let mut s = String::new();
    let from: Vec<String> = r.request.from.iter().map(|t| engine.describe(t)).collect();
    let _ = writeln!(
        s,
        "{} {} trace from {} ({} outputs, {} BTC)",
        r.request.model.name(),
        dir_name(r.request.direction),
        if from.len() > 2 {
            format!("{} and {} more", from[0], from.len() - 1)
        } else {
            from.join(", ")
        },
        r.source_outputs,
        btc(r.source_value)
    );
    let _ = writeln!(
        s,
        "visited {} transactions, up to {} hops; {} destinations",
        r.txs_visited,
        r.hops_reached,
        r.destinations.len()
    );
    if let Some(c) = &r.cut {
        let _ = writeln!(
            s,
            "CUT by {} = {}{}: {} BTC left unfollowed (reason \"cut\")",
            c.limit,
            c.value,
            c.at_tx.map(|t| format!(" at {t}")).unwrap_or_default(),
            btc(c.unfollowed)
        );
    }
    let _ = writeln!(
        s,
        "\n{:>16} {:>7}  {:<10} {:>5} {:>9}  {:<20} destination",
        "BTC", "share", "reason", "outs", "hops", "first arrival"
    );
    for d in r.destinations.iter().take(top) {
        let country = if d.entity.countries.is_empty() {
            String::new()
        } else {
            format!(" {{{}}}", d.entity.countries.join(","))
        };
        let _ = writeln!(
            s,
            "{:>16} {:>6.2}%  {:<10} {:>5} {:>9}  {:<20} {}{}",
            btc(d.amount),
            d.share * 100.0,
            d.reason.name(),
            d.outputs,
            format!("{}-{}", d.min_hops, d.max_hops),
            utc(d.first_time).trim_end_matches(" UTC"),
            who(&d.entity),
            country
        );
    }
    if r.destinations.len() > top {
        let rest: u64 = r.destinations[top..].iter().map(|d| d.amount).sum();
        let _ = writeln!(
            s,
            "{:>16}          ... {} more destinations",
            btc(rest),
            r.destinations.len() - top
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "{:>16}  fees", btc(r.fees));
    if r.below_min_value > 0 {
        let _ = writeln!(
            s,
            "{:>16}  below --min-value (not followed)",
            btc(r.below_min_value)
        );
    }
    if r.overlap > 0 {
        let _ = writeln!(
            s,
            "{:>16}  flowed into another start output",
            btc(r.overlap)
        );
    }
    let _ = writeln!(s, "{:>16}  still unspent (stockpile)", btc(r.unspent));
    let _ = writeln!(
        s,
        "{:>16}  accounted of {} ({})",
        btc(r.accounted()),
        btc(r.source_value),
        if r.request.model == Model::Poison {
            "poison does not conserve"
        } else if r.accounted() == r.source_value {
            "conserved to the satoshi"
        } else {
            "NOT conserved"
        }
    );
    if !r.mixers.is_empty() {
        let tin: u64 = r.mixers.iter().map(|m| m.amount_in).sum();
        let mut kinds: Vec<&str> = r.mixers.iter().map(|m| m.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let _ = writeln!(
            s,
            "passed through {} CoinJoins ({}), {} BTC tainted in",
            r.mixers.len(),
            kinds.join(", "),
            btc(tin)
        );
    }
    if r.request.demix {
        let _ = writeln!(s, "{}", demix_line(r));
    } else if !r.mixers.is_empty()
        && r.request.model == Model::Haircut
        && r.request.direction == Direction::Forward
    {
        let _ = writeln!(
            s,
            "  (haircut spreads the taint over every participant of a CoinJoin; --demix \
             follows the source's owner through them where the evidence allows)"
        );
    }
    if let Some(d) = r.destinations.first() {
        let _ = writeln!(s, "\npath to the largest destination:");
        s.push_str(&path_text(&d.path));
    }
    s
}

pub(super) fn path_text(hops: &[Hop]) -> String {
    let mut s = String::new();
    for (i, h) in hops.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {i:>3}. {}:{} -> {} (e{}) {} BTC  {}",
            h.txid,
            h.index,
            h.address,
            h.entity.0,
            btc(h.amount),
            utc(h.time)
        );
    }
    s
}

/// The `--demix` summary of the text report.
pub(super) fn demix_line(r: &TraceReport) -> String {
    let cut = if r.demix_exhausted {
        "; the judgment read --max-txs transactions and stopped: later CoinJoins' outputs \
         were not judged"
    } else {
        ""
    };
    if r.demixed.is_empty() {
        return format!(
            "demix: no CoinJoin output could be judged the source owner's; the trace is plain \
             haircut{cut}"
        );
    }
    let alone = r
        .demixed
        .iter()
        .filter(|j| j.shape == SpendShape::Alone)
        .count();
    let mut at: Vec<&str> = r.demixed.iter().map(|j| j.address.as_str()).collect();
    at.sort_unstable();
    at.dedup();
    format!(
        "demix: {} CoinJoin outputs ({} BTC) judged the source owner's ({} spent alone, {} in \
         post-mix consolidations), each reaching one of {} addresses that also received \
         unmixed traced value (evidence per output in --format json){cut}",
        r.demixed.len(),
        btc(r.demixed.iter().map(|j| j.value).sum()),
        alone,
        r.demixed.len() - alone,
        at.len()
    )
}
