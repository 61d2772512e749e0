//! `scan pcap` and `scan zeek`: flows, DNS questions and Zeek records as
//! text or NDJSON events (see the parent module for the event list).

use anyhow::Result;
use chainhound_scan::indicators::Indicators;
use chainhound_scan::net::{scan_capture, FlowReport, NetReport};
use chainhound_scan::wallet::WalletEvidence;
use chainhound_scan::zeek::{scan_logs, ZeekReport};
use serde_json::{json, Value};

use super::{
    bytes_bar, hit_json, line, load_indicators, print_warnings, store_tags, time, PcapArgs,
    ZeekArgs,
};
use crate::Ctx;

// ---- pcap ----

fn flow_json(ind: &Indicators, r: &NetReport, f: &FlowReport) -> Value {
    json!({
        "event": "flow",
        "capture": r.input,
        "capture_sha256": r.sha256,
        "transport": "tcp",
        "client_ip": f.client.ip().to_string(),
        "client_port": f.client.port(),
        "server_ip": f.server.ip().to_string(),
        "server_port": f.server.port(),
        "first_seen": time(f.first_seen_ns),
        "last_seen": time(f.last_seen_ns),
        "first_frame": f.first_frame,
        "packets_to_server": f.packets[0],
        "packets_to_client": f.packets[1],
        "bytes_to_server": f.bytes[0],
        "bytes_to_client": f.bytes[1],
        "stream_gaps": f.gaps[0] + f.gaps[1],
        "closed": f.closed,
        "protocols": f.protocols.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "methods": f.methods,
        "pool_sent_work": f.pool_sent_work(),
        "agents": f.agents,
        "algorithms": f.algos,
        "server_names": f.server_names.iter().map(|n| json!({"name": n.name, "source": n.source.as_str(), "indicator": n.indicator.as_ref().map(|h| hit_json(ind, h))})).collect::<Vec<_>>(),
        "logins": f.logins.iter().map(|l| json!({"method": l.method, "login": l.login, "password": l.password, "worker": l.worker, "wallet": l.wallet.as_ref().map(|w| &w.address), "chain": l.wallet.as_ref().map(|w| w.chain.as_str()),
                    "network": l.wallet.as_ref().and_then(|w| w.test_network), "frame": l.frame, "time": time(l.ts_ns)})).collect::<Vec<_>>(),
        "http": f.http.iter().map(|h| json!({"method": h.method, "host": h.host, "target": h.target, "frame": h.frame, "indicator": hit_json(ind, &h.indicator)})).collect::<Vec<_>>(),
    })
}

fn flow_text(ind: &Indicators, f: &FlowReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let protos: Vec<&str> = f.protocols.iter().map(|p| p.as_str()).collect();
    let _ = writeln!(
        s,
        "flow {} -> {}  {} .. {}  {}/{} packets  {}/{} bytes  {}",
        f.client,
        f.server,
        time(f.first_seen_ns),
        time(f.last_seen_ns),
        f.packets[0],
        f.packets[1],
        f.bytes[0],
        f.bytes[1],
        if protos.is_empty() {
            "no mining protocol".to_string()
        } else {
            protos.join(",")
        }
    );
    if !f.methods.is_empty() {
        let _ = writeln!(
            s,
            "    methods: {}{}",
            f.methods.iter().cloned().collect::<Vec<_>>().join(" "),
            if f.pool_sent_work() {
                "  (the pool sent work: mining took place)"
            } else {
                ""
            }
        );
    }
    for a in &f.agents {
        let _ = writeln!(s, "    agent: {a}");
    }
    for n in &f.server_names {
        let _ = writeln!(
            s,
            "    server name {} ({}){}",
            n.name,
            n.source.as_str(),
            n.indicator
                .as_ref()
                .map(|h| format!(
                    ": {} {} in {}",
                    h.kind.as_str(),
                    h.entry,
                    ind.lists()[h.list].name
                ))
                .unwrap_or_default()
        );
    }
    for l in &f.logins {
        let _ = writeln!(
            s,
            "    login {:?} ({}, frame {}){}",
            l.login,
            l.method,
            l.frame,
            l.wallet
                .as_ref()
                .map(|w| format!(": payout wallet {} ({})", w.address, w.chain.as_str()))
                .unwrap_or_else(|| ": account name, no wallet format".into())
        );
    }
    for h in &f.http {
        let _ = writeln!(
            s,
            "    http {} {}{} (frame {}): {} {}",
            h.method,
            h.host.as_deref().unwrap_or(""),
            h.target,
            h.frame,
            h.indicator.kind.as_str(),
            h.indicator.entry
        );
    }
    s
}

pub(super) fn pcap(ctx: &Ctx, a: PcapArgs) -> Result<(bool, bool)> {
    let ind = load_indicators(&a.indicators)?;
    let mut found = false;
    let mut warned = false;
    let mut evidence = Vec::new();
    let mut shas = Vec::new();
    for file in &a.files {
        let total = std::fs::metadata(file).map(|m| m.len()).ok();
        let bar = bytes_bar(ctx, total, "reading");
        let start = std::time::Instant::now();
        let r = scan_capture(file, &ind, &mut |n| bar.inc(n))?;
        bar.finish_and_clear();
        let secs = start.elapsed().as_secs_f64();
        shas.push((r.input.clone(), r.sha256.clone()));
        for f in &r.flows {
            for l in &f.logins {
                if let Some(w) = &l.wallet {
                    let names: Vec<&str> = f.server_names.iter().map(|n| n.name.as_str()).collect();
                    evidence.push(WalletEvidence {
                        wallet: w.clone(),
                        label: format!(
                            "payout wallet in a {} login from {} to pool {}{} (frame {})",
                            l.method,
                            f.client.ip(),
                            f.server,
                            if names.is_empty() {
                                String::new()
                            } else {
                                format!(" [{}]", names.join(", "))
                            },
                            l.frame
                        ),
                        input: r.input.clone(),
                        line: l.frame,
                        seen: Some(l.ts_ns.div_euclid(1_000_000_000)),
                    });
                }
            }
            if ctx.json {
                line(flow_json(&ind, &r, f));
            } else {
                print!("{}", flow_text(&ind, f));
            }
        }
        for d in &r.dns {
            if ctx.json {
                line(
                    json!({"event": "dns", "capture": r.input, "frame": d.frame, "time": time(d.ts_ns), "client_ip": d.client.to_string(), "resolver_ip": d.resolver.to_string(), "query": d.name, "answers": d.answers.iter().map(|a| a.to_string()).collect::<Vec<_>>(), "indicator": hit_json(&ind, &d.indicator)}),
                );
            } else {
                println!(
                    "dns {} asked {} for {} (frame {}, {}): {} {}{}",
                    d.client,
                    d.resolver,
                    d.name,
                    d.frame,
                    time(d.ts_ns),
                    d.indicator.kind.as_str(),
                    d.indicator.entry,
                    if d.answers.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " -> {}",
                            d.answers
                                .iter()
                                .map(|a| a.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                );
            }
        }
        print_warnings(ctx, &r.warnings);
        let summary = json!({"event": "summary", "command": "pcap", "capture": r.input, "format": r.format, "sha256": r.sha256, "packets": r.packets, "bytes": r.bytes, "tcp_flows": r.tcp_flows, "flows_reported": r.flows.len(), "dns_findings": r.dns.len(), "malformed_packets": r.malformed, "ip_fragments": r.fragments, "flows_untracked": r.flows_untracked, "warnings": r.warnings.len(), "seconds": secs});
        if ctx.json {
            line(summary);
        } else if !ctx.quiet {
            eprintln!(
                "{} ({}, sha256 {}): {} packets, {} TCP flows in {secs:.2}s; {} flows and {} DNS questions reported; {} malformed packets, {} warnings",
                r.input, r.format, r.sha256, r.packets, r.tcp_flows, r.flows.len(), r.dns.len(), r.malformed, r.warnings.len()
            );
        }
        found |= !r.flows.is_empty() || !r.dns.is_empty();
        warned |= !r.warnings.is_empty();
    }
    store_tags(ctx, &a.tag, &evidence, &a.files, &shas)?;
    Ok((found, warned))
}

// ---- zeek ----

pub(super) fn zeek(ctx: &Ctx, a: ZeekArgs) -> Result<(bool, bool)> {
    let ind = load_indicators(&a.indicators)?;
    let r: ZeekReport = scan_logs(&a.paths, &ind)?;
    for f in &r.findings {
        if ctx.json {
            line(
                json!({"event": "zeek_name", "log": f.input, "line": f.line, "kind": f.kind.as_str(), "time": time(f.ts_ns), "uid": f.uid, "client": f.client.map(|c| c.to_string()), "server": f.server.map(|c| c.to_string()), "name": f.name, "answers": f.answers.iter().map(|a| a.to_string()).collect::<Vec<_>>(), "indicator": hit_json(&ind, &f.indicator)}),
            );
        } else {
            println!(
                "{} {} line {}: {} {} -> {}: {} {}",
                f.kind.as_str(),
                f.input,
                f.line,
                time(f.ts_ns),
                f.client.map(|c| c.to_string()).unwrap_or_default(),
                f.name,
                f.indicator.kind.as_str(),
                f.indicator.entry
            );
        }
    }
    for f in &r.flows {
        if ctx.json {
            line(
                json!({"event": "zeek_flow", "log": f.input, "line": f.line, "uid": f.uid, "transport": f.proto, "client_ip": f.client.ip().to_string(), "client_port": f.client.port(), "server_ip": f.server.ip().to_string(), "server_port": f.server.port(), "first_seen": time(f.first_seen_ns), "last_seen": time(f.last_seen_ns), "bytes_to_server": f.bytes[0], "bytes_to_client": f.bytes[1], "packets_to_server": f.packets[0], "packets_to_client": f.packets[1], "name": f.name, "name_from": f.via.as_str(), "indicator": hit_json(&ind, &f.indicator)}),
            );
        } else {
            println!(
                "flow {} -> {} ({}, uid {}) {} .. {}  {}/{} bytes: {} ({} log)",
                f.client,
                f.server,
                f.proto,
                f.uid,
                time(f.first_seen_ns),
                time(f.last_seen_ns),
                f.bytes[0],
                f.bytes[1],
                f.name,
                f.via.as_str()
            );
        }
    }
    print_warnings(ctx, &r.warnings);
    let summary = json!({"event": "summary", "command": "zeek", "logs": r.inputs.iter().map(|i| json!({"path": i.path, "kind": i.kind.map(|k| k.as_str()), "sha256": i.sha256, "records": i.records})).collect::<Vec<_>>(), "records": r.records, "names": r.findings.len(), "flows": r.flows.len(), "warnings": r.warnings.len()});
    if ctx.json {
        line(summary);
    } else if !ctx.quiet {
        eprintln!(
            "{} logs, {} records: {} names and {} connections reported, {} warnings",
            r.inputs.len(),
            r.records,
            r.findings.len(),
            r.flows.len(),
            r.warnings.len()
        );
    }
    Ok((
        !r.findings.is_empty() || !r.flows.is_empty(),
        !r.warnings.is_empty(),
    ))
}
