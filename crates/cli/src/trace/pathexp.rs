//! `path` and `exposure`.

use std::fmt::Write as _;

use anyhow::{bail, Result};
use chainhound_trace::{
    CategoryExposure, DirectionExposure, Exposure, ExposureOptions, PathReport, PathRequest,
    ValuePath,
};
use serde::Serialize;

use super::{btc, entity_json, hops_json, open, path_text, who, EntityJson, HopJson};
use super::{ExposureArgs, PathArgs};
use crate::query::emit;
use crate::Ctx;

// ---- path ----

#[derive(Serialize)]
struct ValuePathJson {
    bottleneck_sat: u64,
    hops: Vec<HopJson>,
}

#[derive(Serialize)]
struct PathJson {
    from: String,
    to: String,
    shortest: Option<ValuePathJson>,
    highest_value: Option<ValuePathJson>,
    txs_visited: u64,
    cut: bool,
}

fn vp_json(p: &Option<ValuePath>) -> Option<ValuePathJson> {
    p.as_ref().map(|p| ValuePathJson {
        bottleneck_sat: p.bottleneck,
        hops: hops_json(&p.hops),
    })
}

pub fn path(ctx: &Ctx, a: PathArgs) -> Result<()> {
    let engine = open(ctx)?;
    let from = engine.resolve(&a.from)?;
    let to = engine.resolve(&a.to)?;
    let mut req = PathRequest::new(from, to);
    req.max_hops = a.max_hops;
    req.max_txs = a.max_txs;
    let r: PathReport = engine.paths(&req)?;
    let j = PathJson {
        from: engine.describe(&from),
        to: engine.describe(&to),
        shortest: vp_json(&r.shortest),
        highest_value: vp_json(&r.highest_value),
        txs_visited: r.txs_visited,
        cut: r.cut,
    };
    emit(ctx, &j, || {
        let mut s = String::new();
        match (&r.shortest, &r.highest_value) {
            (None, _) => {
                let _ = writeln!(
                    s,
                    "no path from {} to {} within {} hops ({} transactions visited{})",
                    j.from,
                    j.to,
                    a.max_hops,
                    r.txs_visited,
                    if r.cut {
                        ", search cut by --max-txs"
                    } else {
                        ""
                    }
                );
            }
            (Some(sp), hv) => {
                let _ = writeln!(
                    s,
                    "shortest path: {} transactions, bottleneck {} BTC",
                    sp.hops.len() - 1,
                    btc(sp.bottleneck)
                );
                s.push_str(&path_text(&sp.hops));
                if let Some(hv) = hv {
                    let _ = writeln!(
                        s,
                        "highest-value path: {} transactions, bottleneck {} BTC",
                        hv.hops.len() - 1,
                        btc(hv.bottleneck)
                    );
                    s.push_str(&path_text(&hv.hops));
                }
                let _ = writeln!(s, "({} transactions visited)", r.txs_visited);
            }
        }
        s
    })
}

// ---- exposure ----

#[derive(Serialize)]
struct EvidenceJson {
    counterparty: String,
    amount_sat: u64,
    hops: Vec<HopJson>,
}

#[derive(Serialize)]
struct CategoryJson {
    category: String,
    direct_sat: u64,
    indirect_sat: u64,
    direct_share: f64,
    indirect_share: f64,
    entities: u32,
    paths: Vec<EvidenceJson>,
}

#[derive(Serialize)]
struct DirJson {
    total_sat: u64,
    unattributed_sat: u64,
    txs_visited: u64,
    cut: bool,
    categories: Vec<CategoryJson>,
}

#[derive(Serialize)]
struct ExposureJson {
    target: String,
    #[serde(flatten)]
    entity: EntityJson,
    hops: u32,
    incoming: DirJson,
    outgoing: DirJson,
}

fn cat_json(c: &CategoryExposure) -> CategoryJson {
    CategoryJson {
        category: c.category.clone(),
        direct_sat: c.direct,
        indirect_sat: c.indirect,
        direct_share: c.direct_share,
        indirect_share: c.indirect_share,
        entities: c.entities,
        paths: c
            .paths
            .iter()
            .map(|p| EvidenceJson {
                counterparty: format!("e{}", p.counterparty.0),
                amount_sat: p.amount,
                hops: hops_json(&p.hops),
            })
            .collect(),
    }
}

fn dir_json(d: &DirectionExposure) -> DirJson {
    DirJson {
        total_sat: d.total,
        unattributed_sat: d.unattributed,
        txs_visited: d.txs_visited,
        cut: d.cut,
        categories: d.categories.iter().map(cat_json).collect(),
    }
}

pub fn exposure(ctx: &Ctx, a: ExposureArgs) -> Result<()> {
    if a.hops == 0 {
        bail!("--hops must be at least 1");
    }
    let engine = open(ctx)?;
    let target = engine.resolve(&a.target)?;
    let opts = ExposureOptions {
        hops: a.hops,
        max_txs: a.max_txs,
        top_paths: a.paths,
        ..ExposureOptions::default()
    };
    let ex = engine.exposure(&target, &opts)?;
    let j = ExposureJson {
        target: engine.describe(&target),
        entity: entity_json(&ex.entity),
        hops: ex.hops,
        incoming: dir_json(&ex.incoming),
        outgoing: dir_json(&ex.outgoing),
    };
    emit(ctx, &j, || exposure_text(&j.target, &ex))
}

pub fn exposure_text(target: &str, ex: &Exposure) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "exposure of {target}, {} , within {} hops",
        who(&ex.entity),
        ex.hops
    );
    for (name, d) in [("incoming", &ex.incoming), ("outgoing", &ex.outgoing)] {
        let _ = writeln!(
            s,
            "\n{name}: {} BTC{}",
            btc(d.total),
            if d.cut {
                " (cut by a limit: lower bounds)"
            } else {
                ""
            }
        );
        if d.categories.is_empty() {
            let _ = writeln!(s, "  no attributed counterparty within {} hops", ex.hops);
        }
        for c in &d.categories {
            let _ = writeln!(
                s,
                "  {:<14} direct {:>16} ({:>6.2}%)  indirect {:>16} ({:>6.2}%)  {} entities",
                c.category,
                btc(c.direct),
                c.direct_share * 100.0,
                btc(c.indirect),
                c.indirect_share * 100.0,
                c.entities
            );
            if let Some(p) = c.paths.first() {
                let hops: Vec<String> = p
                    .hops
                    .iter()
                    .map(|h| format!("{}:{}", &h.txid.to_string()[..12], h.index))
                    .collect();
                let _ = writeln!(s, "    e.g. {} BTC via {}", btc(p.amount), hops.join(" > "));
            }
        }
        let _ = writeln!(s, "  unattributed   {:>16}", btc(d.unattributed));
    }
    s
}
