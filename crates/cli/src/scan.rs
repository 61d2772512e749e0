//! `chainhound scan files|pcap|zeek`: crypto-jacking detection
//! (chainhound-scan) and the payout wallets it finds as intel tags.
//!
//! Output: text, or with `--json` one JSON object per line (NDJSON) for SIEM
//! ingestion, each with an `event` field (`rule_file`, `file_match`, `flow`,
//! `dns`, `zeek_name`, `zeek_flow`, `warning`, `tags`, `summary`);
//! docs/cryptojacking.md documents the fields.
//!
//! Exit codes: 0 nothing found and everything scanned; 3 something found;
//! 4 nothing found but some input could not be (wholly) scanned (warnings);
//! 1 the scan could not run (as every chainhound command); 2 bad usage.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context, Result};
use chainhound_intel::{ImportOptions, TagWriter, Tlp};
use chainhound_scan::files::{scan_paths, FileScanOptions, DEFAULT_MAX_SIZE};
use chainhound_scan::indicators::{IndicatorHit, Indicators};
use chainhound_scan::rules::{RuleInput, Rules};
use chainhound_scan::wallet::{edition, wallets_in_match, TagOptions, WalletEvidence};
use chainhound_scan::{sha256_hex, Warning};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use crate::Ctx;

mod net;

/// Exit code: something was found.
pub const EXIT_FOUND: i32 = 3;
/// Exit code: nothing found, but not everything could be scanned.
pub const EXIT_INCOMPLETE: i32 = 4;

#[derive(Subcommand, Debug)]
pub enum ScanCmd {
    /// Scan files and directories (recursively, in parallel) with YARA rules:
    /// the built-in miner rules plus every --rules file or directory.
    Files(FilesArgs),
    /// Find mining traffic in pcap or pcapng captures: Stratum, XMRig login,
    /// pool and NoCoin names in DNS, TLS SNI and HTTP.
    Pcap(PcapArgs),
    /// Find pool and NoCoin names in Zeek dns.log/ssl.log and their
    /// connections in conn.log (TSV or JSON logs, or directories of them).
    Zeek(ZeekArgs),
}

#[derive(Args, Debug)]
pub struct TagArgs {
    /// Store the payout wallets found as tags of this intel source in
    /// <data>/intel (category miner, abuse cryptojacking). A source holds
    /// one edition: reusing a name replaces its earlier tags.
    #[arg(long, value_name = "SOURCE")]
    tag: Option<String>,
    /// The actor to record on the tags (e.g. lazarus).
    #[arg(long, requires = "tag")]
    actor: Option<String>,
    /// The case or report reference to record on the tags.
    #[arg(long, requires = "tag")]
    reference: Option<String>,
    /// TLP of the tags.
    #[arg(long, requires = "tag", default_value = "amber")]
    tlp: Tlp,
}

#[derive(Args, Debug)]
pub struct FilesArgs {
    /// Files or directories to scan.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// A YARA rule file, or a directory searched recursively for *.yar/*.yara
    /// (repeatable).
    #[arg(long, short)]
    rules: Vec<PathBuf>,
    /// Leave out the built-in rules.
    #[arg(long)]
    no_builtin: bool,
    /// Skip (with a warning) files larger than this many bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_SIZE)]
    max_size: u64,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Follow symbolic links inside directories (loops are detected).
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    tag: TagArgs,
}

#[derive(Args, Debug)]
pub struct PcapArgs {
    /// pcap or pcapng files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Indicator lists besides the built-in pool list: a file (hosts,
    /// Adblock/NoCoin, Suricata rules, one domain per line) or a
    /// cryptojacking-indicators directory (repeatable).
    #[arg(long, short)]
    indicators: Vec<PathBuf>,
    #[command(flatten)]
    tag: TagArgs,
}

#[derive(Args, Debug)]
pub struct ZeekArgs {
    /// Zeek logs, or directories holding *.log.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Indicator lists (as for `scan pcap`).
    #[arg(long, short)]
    indicators: Vec<PathBuf>,
}

pub fn run(ctx: &Ctx, cmd: ScanCmd) -> Result<()> {
    let (found, warnings) = match cmd {
        ScanCmd::Files(a) => files(ctx, a)?,
        ScanCmd::Pcap(a) => net::pcap(ctx, a)?,
        ScanCmd::Zeek(a) => net::zeek(ctx, a)?,
    };
    std::io::stdout().flush()?;
    if found {
        std::process::exit(EXIT_FOUND);
    }
    if warnings {
        std::process::exit(EXIT_INCOMPLETE);
    }
    Ok(())
}

/// RFC 3339 UTC with microseconds.
fn time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let micros = ns.rem_euclid(1_000_000_000) / 1000;
    let (y, m, d) = chainhound_types::time::civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn line(v: Value) {
    println!("{v}");
}

fn warning_json(w: &Warning) -> Value {
    json!({"event": "warning", "input": w.input, "offset": w.offset, "message": w.message})
}

fn print_warnings(ctx: &Ctx, ws: &[Warning]) {
    for w in ws {
        if ctx.json {
            line(warning_json(w));
        } else {
            eprintln!("warning: {w}");
        }
    }
}

fn bytes_bar(ctx: &Ctx, total: Option<u64>, what: &str) -> ProgressBar {
    if ctx.quiet || ctx.json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let tpl = if total.is_some() {
        "{msg:>10} [{bar:40}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}"
    } else {
        "{msg:>10} {spinner} {binary_bytes} {binary_bytes_per_sec} {elapsed}"
    };
    bar.set_style(
        ProgressStyle::with_template(tpl)
            .expect("static template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

fn load_indicators(paths: &[PathBuf]) -> Result<Indicators> {
    let mut ind = Indicators::builtin();
    for p in paths {
        if p.is_dir() {
            let n = ind.load_dir(p)?;
            if n == 0 {
                bail!(
                    "{}: no indicator lists found (nocoin/*.txt, et-open-suricata/*.rules)",
                    p.display()
                );
            }
        } else {
            ind.load_file(p)?;
        }
    }
    Ok(ind)
}

fn hit_json(ind: &Indicators, h: &IndicatorHit) -> Value {
    json!({"kind": h.kind.as_str(), "entry": h.entry, "list": ind.lists()[h.list].name})
}

/// Stores the wallets as tags, if asked and if there are any, naming the
/// scanned `inputs` and the `(path, sha256)` of what was read.
fn store_tags(
    ctx: &Ctx,
    t: &TagArgs,
    ev: &[WalletEvidence],
    inputs: &[PathBuf],
    shas: &[(String, String)],
) -> Result<()> {
    let Some(source) = &t.tag else { return Ok(()) };
    if ev.is_empty() {
        if ctx.json {
            line(
                json!({"event": "tags", "source": source, "stored": false, "reason": "no payout wallet found"}),
            );
        } else if !ctx.quiet {
            eprintln!("no payout wallet found: source {source} left unchanged");
        }
        return Ok(());
    }
    let mut opts = TagOptions::new(source.clone());
    opts.actor = t.actor.clone();
    opts.reference = t.reference.clone();
    opts.tlp = t.tlp;
    let input: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    let ed = edition(ev, &opts, &input.join(" "), &combined_sha(shas));
    let dir = crate::intel::dir(ctx);
    let mut w = TagWriter::open(&dir)
        .with_context(|| format!("opening the tag store in {}", dir.display()))?;
    let r = w.import(
        ed,
        &ImportOptions {
            now: None,
            list_limit: 0,
        },
    )?;
    if ctx.json {
        line(
            json!({"event": "tags", "source": r.source, "stored": true, "tags": r.tags, "added": r.added, "delisted": r.delisted, "unchanged": r.unchanged, "store": dir.display().to_string()}),
        );
    } else if !ctx.quiet {
        println!(
            "tagged {} payout wallet(s) as source {:?} in {} (added {}, delisted {}, unchanged {})",
            r.tags,
            r.source,
            dir.display(),
            r.added,
            r.delisted,
            r.unchanged
        );
    }
    Ok(())
}

/// A digest naming several inputs at once: SHA-256 over `sha256  path` lines.
fn combined_sha(items: &[(String, String)]) -> String {
    if let [(_, one)] = items {
        return one.clone();
    }
    let text: String = items.iter().map(|(p, s)| format!("{s}  {p}\n")).collect();
    sha256_hex(text.as_bytes())
}

// ---- files ----

fn files(ctx: &Ctx, a: FilesArgs) -> Result<(bool, bool)> {
    let mut inputs = Vec::new();
    if !a.no_builtin {
        inputs.push(RuleInput::Builtin);
    }
    inputs.extend(a.rules.iter().cloned().map(RuleInput::Path));
    if inputs.is_empty() {
        bail!("no rules: --no-builtin needs at least one --rules");
    }
    let rules = Rules::compile(&inputs)?;
    let failed: Vec<_> = rules.files().iter().filter(|f| f.error.is_some()).collect();
    for f in rules.files() {
        if ctx.json {
            line(
                json!({"event": "rule_file", "file": f.file, "namespace": f.namespace, "rules": f.rules, "error": f.error, "warnings": f.warnings}),
            );
        } else if let Some(e) = &f.error {
            eprintln!("rule file {} does not compile; left out: {e}", f.file);
        }
    }
    let opts = FileScanOptions {
        max_size: a.max_size,
        threads: a.threads,
        follow_links: a.follow,
    };
    let bar = bytes_bar(ctx, None, "scanning");
    let done = AtomicU64::new(0);
    let start = std::time::Instant::now();
    let report = scan_paths(&rules, &a.paths, &opts, &|n| {
        done.fetch_add(n, Ordering::Relaxed);
        bar.inc(n);
    });
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let mut evidence = Vec::new();
    let mut hits = 0usize;
    for m in &report.matches {
        let path = m.path.display().to_string();
        for r in &m.matches {
            hits += 1;
            let wallets = wallets_in_match(r);
            for w in &wallets {
                let at = r
                    .strings
                    .iter()
                    .find(|s| s.name.starts_with("$wallet"))
                    .map_or(0, |s| s.offset);
                evidence.push(WalletEvidence {
                    wallet: w.clone(),
                    label: format!(
                        "payout wallet in a miner file: rule {} matched {path} at offset {at}",
                        r.rule
                    ),
                    input: path.clone(),
                    line: 0,
                    seen: None,
                });
            }
            if ctx.json {
                let strings: Vec<Value> = r
                    .strings
                    .iter()
                    .map(|s| json!({"id": s.name, "offset": s.offset, "length": s.length, "data": String::from_utf8_lossy(&s.data)}))
                    .collect();
                let ws: Vec<Value> = wallets
                    .iter()
                    .map(|w| json!({"address": w.address, "chain": w.chain.as_str(), "network": w.test_network}))
                    .collect();
                line(
                    json!({"event": "file_match", "path": path, "size": m.size, "sha256": m.sha256, "rule": r.rule, "namespace": r.namespace, "tags": r.tags, "description": r.description, "strings": strings, "wallets": ws}),
                );
            } else {
                println!("{} {path}", r.rule);
                if let Some(d) = &r.description {
                    println!("    {d}");
                }
                for s in r.strings.iter().take(8) {
                    println!(
                        "    0x{:x} {}: {:?}",
                        s.offset,
                        s.name,
                        String::from_utf8_lossy(&s.data)
                    );
                }
                if r.strings.len() > 8 {
                    println!("    … {} more string matches", r.strings.len() - 8);
                }
                for w in &wallets {
                    println!("    payout wallet {} ({})", w.address, w.chain.as_str());
                }
            }
        }
    }
    print_warnings(ctx, &report.warnings);
    let shas: Vec<(String, String)> = report
        .matches
        .iter()
        .map(|m| (m.path.display().to_string(), m.sha256.clone()))
        .collect();
    store_tags(ctx, &a.tag, &evidence, &a.paths, &shas)?;
    let summary = json!({"event": "summary", "command": "files", "files_scanned": report.files_scanned, "bytes_scanned": report.bytes_scanned, "files_matched": report.matches.len(), "rule_matches": hits, "warnings": report.warnings.len(), "rules": rules.rule_count(), "rule_files": rules.files().len(), "rule_files_failed": failed.len(), "seconds": secs});
    if ctx.json {
        line(summary);
    } else if !ctx.quiet {
        eprintln!(
            "{} files ({} bytes) scanned with {} rules from {} files ({} failed) in {secs:.2}s: {} matched, {} warnings",
            report.files_scanned,
            report.bytes_scanned,
            rules.rule_count(),
            rules.files().len(),
            failed.len(),
            report.matches.len(),
            report.warnings.len()
        );
    }
    Ok((!report.matches.is_empty(), !report.warnings.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(
            time(1_763_776_801_001_000_123),
            "2025-11-22T02:00:01.001000Z"
        );
        assert_eq!(time(0), "1970-01-01T00:00:00.000000Z");
    }
}
