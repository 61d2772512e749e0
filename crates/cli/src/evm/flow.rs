//! `chainhound evm trace` and `chainhound evm exposure`.

use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use chainhound_evm::model::{exposure, trace, Model, Role, Seed, TraceConfig};
use chainhound_evm::{address, AccountId, AssetId, EvmStore, U256};
use serde::Serialize;

use super::query::{
    amount, amount_json, find_account, labels, labels_json, parse_tx, symbol, AmountJson,
    ExposureArgs, LabelJson, TraceArgs,
};
use crate::query::emit;
use crate::Ctx;

fn model(m: &str) -> Result<Model> {
    match m {
        "haircut" => Ok(Model::Haircut),
        "fifo" => Ok(Model::Fifo),
        _ => bail!("--model is haircut or fifo, got {m:?}"),
    }
}

#[derive(Serialize)]
struct TotalsJson {
    asset: String,
    seeded: String,
    swapped_in: String,
    held: String,
    absorbed: String,
    fees: String,
    returned: String,
    swapped_out: String,
}

#[derive(Serialize)]
struct PlaceJson {
    address: String,
    role: Option<&'static str>,
    labels: Vec<LabelJson>,
    #[serde(flatten)]
    amount: AmountJson,
}

#[derive(Serialize)]
struct TraceJson {
    model: String,
    seeds: Vec<String>,
    totals: Vec<TotalsJson>,
    absorbed_by_services: Vec<PlaceJson>,
    held: Vec<PlaceJson>,
    tainted_transfers: u64,
    seconds: f64,
}

pub(super) fn trace_cmd(ctx: &Ctx, s: &EvmStore, a: TraceArgs) -> Result<()> {
    let t0 = Instant::now();
    let mut seeds = Vec::new();
    let mut names = Vec::new();
    for h in &a.tx {
        seeds.push(Seed::Tx(parse_tx(s, h)?));
        names.push(format!("tx {h}"));
    }
    for x in &a.account {
        seeds.push(Seed::Account(find_account(s, x)?));
        names.push(format!("account {x}"));
    }
    if seeds.is_empty() {
        bail!("give at least one --tx HASH or --account ADDRESS to trace from");
    }
    let l = labels(ctx, s)?;
    let cfg = TraceConfig {
        model: model(&a.model)?,
        from_block: a.from_block,
        stop_at_services: !a.through_services,
        follow_swaps: !a.no_swaps,
        max_edges: 0,
    };
    let r = trace(s, &l, &seeds, &cfg);
    let place = |acc: AccountId, asset: AssetId, v: U256, role: Option<Role>| PlaceJson {
        address: address::checksummed(&s.address(acc)),
        role: role.map(Role::as_str),
        labels: labels_json(s, &l, acc),
        amount: amount_json(s, asset, v),
    };
    let j = TraceJson {
        model: a.model.clone(),
        seeds: names,
        totals: r
            .totals
            .iter()
            .map(|(asset, t)| TotalsJson {
                asset: symbol(s, *asset),
                seeded: t.seeded.to_string(),
                swapped_in: t.swapped_in.to_string(),
                held: t.held.to_string(),
                absorbed: t.absorbed.to_string(),
                fees: t.fees.to_string(),
                returned: t.returned.to_string(),
                swapped_out: t.swapped_out.to_string(),
            })
            .collect(),
        absorbed_by_services: r
            .absorbed
            .iter()
            .take(a.limit)
            .map(|(acc, asset, role, v)| place(*acc, *asset, *v, Some(*role)))
            .collect(),
        held: r
            .holdings
            .iter()
            .take(a.limit)
            .map(|(acc, asset, v)| place(*acc, *asset, *v, None))
            .collect(),
        tainted_transfers: r.edge_count,
        seconds: t0.elapsed().as_secs_f64(),
    };
    emit(ctx, &j, || {
        let mut o = format!(
            "{} trace from {}: {} tainted transfers\n",
            j.model,
            j.seeds.join(", "),
            j.tainted_transfers
        );
        for (asset, t) in &r.totals {
            let f = |v: U256| amount(s, *asset, v);
            o += &format!(
                "  {}: seeded {}, swapped in {}; held {}, at services {}, fees {}, back to seeds {}, swapped out {}\n",
                symbol(s, *asset),
                f(t.seeded),
                f(t.swapped_in),
                f(t.held),
                f(t.absorbed),
                f(t.fees),
                f(t.returned),
                f(t.swapped_out)
            );
        }
        o += "reached services:\n";
        for (acc, asset, role, v) in r.absorbed.iter().take(a.limit) {
            let lb = l.of(*acc).first().map_or(String::new(), |x| x.text.clone());
            o += &format!(
                "  {:<10} {} {} {}\n",
                role.as_str(),
                address::checksummed(&s.address(*acc)),
                amount(s, *asset, *v),
                lb
            );
        }
        o += "still held:\n";
        for (acc, asset, v) in r.holdings.iter().take(a.limit) {
            o += &format!(
                "  {} {}\n",
                address::checksummed(&s.address(*acc)),
                amount(s, *asset, *v)
            );
        }
        o
    })
}

#[derive(Serialize)]
struct ExposureJson {
    address: String,
    model: String,
    direct: Vec<RoleAmountJson>,
    indirect: Vec<RoleAmountJson>,
}

#[derive(Serialize)]
struct RoleAmountJson {
    role: &'static str,
    #[serde(flatten)]
    amount: AmountJson,
}

pub(super) fn exposure_cmd(ctx: &Ctx, s: &EvmStore, a: ExposureArgs) -> Result<()> {
    let id = find_account(s, &a.address)?;
    let roles = a
        .roles
        .iter()
        .map(|r| {
            Role::parse(r.trim()).ok_or_else(|| {
                anyhow!("unknown role {r:?} (sanctioned, theft, mixer, bridge, exchange, dex)")
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let l = labels(ctx, s)?;
    let e = exposure(s, &l, id, &roles, model(&a.model)?);
    let conv = |m: &std::collections::BTreeMap<(Role, AssetId), U256>| {
        m.iter()
            .map(|((r, asset), v)| RoleAmountJson {
                role: r.as_str(),
                amount: amount_json(s, *asset, *v),
            })
            .collect::<Vec<_>>()
    };
    let j = ExposureJson {
        address: address::checksummed(&s.address(id)),
        model: a.model.clone(),
        direct: conv(&e.direct),
        indirect: conv(&e.indirect),
    };
    emit(ctx, &j, || {
        let mut o = format!("exposure of {} ({}):\n", j.address, j.model);
        if e.direct.is_empty() && e.indirect.is_empty() {
            o += "  none found\n";
        }
        for ((r, asset), v) in &e.direct {
            o += &format!("  direct   {:<10} {}\n", r.as_str(), amount(s, *asset, *v));
        }
        for ((r, asset), v) in &e.indirect {
            o += &format!("  traced   {:<10} {}\n", r.as_str(), amount(s, *asset, *v));
        }
        o
    })
}
