//! The demo's tracing section.

use anyhow::{Context, Result};
use chainhound_trace::TraceRequest;

use super::{btc, demix_line, open, trace_text};
use crate::Ctx;

/// The demo's tracing section (text mode): imports the simulation's
/// analyst attribution (`attribution.csv`), traces the theft forward under
/// haircut and compares the exchanges reached with the ground truth.
pub fn demo_section(
    ctx: &Ctx,
    chain: &std::path::Path,
    truth: &chainhound_sim::Truth,
) -> Result<()> {
    let csv = chain.join(chainhound_sim::ATTRIBUTION_FILE);
    if !csv.exists() {
        println!(
            "\n(no {} in {}: simulate again to see the trace section)",
            chainhound_sim::ATTRIBUTION_FILE,
            chain.display()
        );
        return Ok(());
    }
    let edition = chainhound_intel::import::csv::load(
        &csv,
        &chainhound_intel::import::csv::CsvOptions::new("sim-analyst"),
    )
    .with_context(|| format!("reading {}", csv.display()))?;
    chainhound_intel::TagWriter::open(ctx.data.join("intel"))?
        .import(edition, &chainhound_intel::ImportOptions::default())?;
    let engine = open(ctx)?;
    let mut from = Vec::new();
    for t in &truth.incident.theft_txids {
        from.push(engine.resolve(t)?);
    }
    let mut req = TraceRequest::new(from[0]);
    req.from = from;
    req.explain = 10;
    let t0 = std::time::Instant::now();
    let r = engine.trace(&req)?;
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    println!(
        "\nFollowing the money (chainhound trace --model haircut, exchanges known from {}, {ms:.0} ms)",
        chainhound_sim::ATTRIBUTION_FILE
    );
    for line in trace_text(&engine, &r, 10).lines().skip(1) {
        if line.starts_with("path to the largest") {
            break;
        }
        println!("  {line}");
    }
    // The same with --demix: the thief followed through the CoinJoins.
    req.demix = true;
    let t0 = std::time::Instant::now();
    let dm = engine.trace(&req)?;
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    println!(
        "\n  with --demix ({ms:.0} ms): {}",
        demix_line(&dm).trim_start_matches("demix: ")
    );
    println!("  traced vs ground truth at each cash-out exchange:");
    println!(
        "    {:<31}  {:>16}  {:>16}  {:>16}",
        "", "haircut BTC", "--demix BTC", "truth BTC"
    );
    let at = |r: &chainhound_trace::TraceReport, name: &str| -> u64 {
        r.destinations
            .iter()
            .filter(|d| d.reason == chainhound_trace::EndReason::Stop)
            .filter(|d| d.entity.name.as_deref() == Some(name))
            .map(|d| d.amount)
            .sum()
    };
    for e in &truth.incident.received_by_exchange {
        println!(
            "    {:<28} {:>2}  {:>16}  {:>16}  {:>16}",
            e.name,
            e.country,
            btc(at(&r, &e.name)),
            btc(at(&dm, &e.name)),
            btc(e.sats)
        );
    }
    println!(
        "  (haircut spreads taint over every CoinJoin participant by definition; --demix \
         gives it to the coins judged the thief's, each judgment with its evidence: \
         docs/tracing.md)"
    );
    Ok(())
}
