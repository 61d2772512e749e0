//! The tracing engine behind transfer screening (indirect exposure with
//! evidence paths) and trace jobs.

use chainhound_trace::{DirectionExposure, ExposureOptions, Hop, Target};

use crate::policy::{Direction, Exposure};
use crate::screen::{EvidenceView, HopView, IndirectStatus, ResolvedTransfer};
use crate::view::ChainView;

/// Indirect exposure of a transfer.
pub struct Indirect {
    /// Exposure items (hops ≥ 1).
    pub items: Vec<Exposure>,
    /// Evidence paths.
    pub evidence: Vec<EvidenceView>,
    /// Status.
    pub status: IndirectStatus,
}

/// A hop for the API.
pub fn hop_view(h: &Hop) -> HopView {
    HopView {
        txid: h.txid.to_string(),
        index: h.index,
        address: h.address.clone(),
        entity: h.entity.0,
        amount_sat: h.amount,
        amount: None,
        time: h.time,
    }
}

fn ppm(part: u64, total: u64) -> u32 {
    if total == 0 {
        0
    } else {
        (u128::from(part) * 1_000_000 / u128::from(total)).min(1_000_000) as u32
    }
}

fn unavailable(why: &str) -> Indirect {
    tracing::debug!("indirect exposure unavailable: {why}");
    Indirect {
        items: Vec::new(),
        evidence: Vec::new(),
        status: IndirectStatus {
            status: "unavailable".into(),
            hops: 0,
            txs_visited: 0,
        },
    }
}

/// Converts one direction's categories into exposure items (indirect part
/// only: the direct part comes from the counterparties themselves).
fn collect(
    d: &DirectionExposure,
    flow: &str,
    value: u64,
    items: &mut Vec<Exposure>,
    evidence: &mut Vec<EvidenceView>,
) {
    for c in &d.categories {
        if c.indirect == 0 {
            continue;
        }
        let share = ppm(c.indirect, d.total);
        // Hops between the counterparty and the tagged entity: the shortest
        // evidence path's transactions less the one with the counterparty.
        let hops = c
            .paths
            .iter()
            .map(|p| p.hops.len().saturating_sub(1) as u32)
            .filter(|&h| h >= 1)
            .min()
            .unwrap_or(1);
        let top = c.paths.first();
        items.push(Exposure {
            category: c.category.clone(),
            share_ppm: share,
            hops,
            value_sat: Some(
                u64::try_from(u128::from(value) * u128::from(share) / 1_000_000)
                    .unwrap_or(u64::MAX),
            ),
            amount: None,
            address: top
                .and_then(|p| p.hops.last().or(p.hops.first()))
                .map(|h| h.address.clone())
                .unwrap_or_default(),
            source: format!("trace: {flow} {} entities", c.entities),
        });
        for p in &c.paths {
            evidence.push(EvidenceView {
                category: c.category.clone(),
                flow: flow.to_string(),
                counterparty: p.counterparty.0,
                amount_sat: p.amount,
                amount: None,
                hops: p.hops.iter().map(hop_view).collect(),
            });
        }
    }
}

/// Computes the indirect exposure of a transfer: for a deposit, where the
/// deposited coins came from; for a withdrawal, where the beneficiary's
/// coins came from and went.
pub fn indirect(view: &ChainView, r: &ResolvedTransfer, d: Direction, value: u64) -> Indirect {
    let Some(engine) = view.engine() else {
        return unavailable("no tracing engine (entity clusters missing?)");
    };
    let Some(&vout) = r.vouts.first() else {
        return unavailable("no output");
    };
    let opts = ExposureOptions::default();
    // A deposit: where the deposited output's value came from. A
    // withdrawal: the beneficiary address's own history, both ways.
    let target = match d {
        Direction::Withdrawal => {
            let store = view
                .store()
                .expect("a resolved transfer comes from the view's store");
            let first = store.tx(r.tx).outputs.start;
            Target::Address(store.output(chainhound_types::OutputId(first + vout)).addr)
        }
        _ => Target::Output { tx: r.tx, vout },
    };
    let ex = match engine.exposure(&target, &opts) {
        Ok(e) => e,
        Err(e) => return unavailable(&e.to_string()),
    };
    let mut items = Vec::new();
    let mut evidence = Vec::new();
    let (cut, visited) = match d {
        Direction::Deposit | Direction::Any => {
            collect(&ex.incoming, "incoming", value, &mut items, &mut evidence);
            (ex.incoming.cut, ex.incoming.txs_visited)
        }
        Direction::Withdrawal => {
            collect(&ex.incoming, "incoming", value, &mut items, &mut evidence);
            collect(&ex.outgoing, "outgoing", value, &mut items, &mut evidence);
            (
                ex.incoming.cut || ex.outgoing.cut,
                ex.incoming.txs_visited + ex.outgoing.txs_visited,
            )
        }
    };
    Indirect {
        items,
        evidence,
        status: IndirectStatus {
            status: if cut { "cut" } else { "computed" }.into(),
            hops: ex.hops,
            txs_visited: visited,
        },
    }
}
