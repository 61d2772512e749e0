//! One TCP connection's state: its two reassembled streams cut into lines,
//! and what the lines (and the client's first bytes) say.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use super::capture::Packet;
use super::findings::{FlowReport, HttpFetch, Login, NameSource, ServerName};
use super::proto;
use super::reassembly::Stream;
use super::stratum;
use crate::indicators::{IndicatorHit, Indicators};
use crate::wallet::wallet_in_login;

/// Lines longer than this are cut (the rest, to the next newline, skipped).
pub const MAX_LINE: usize = 64 << 10;
/// At most this many logins are kept per flow.
const MAX_LOGINS: usize = 64;
/// At most this many of the client's first bytes are kept for the TLS
/// ClientHello.
const HEAD_MAX: usize = 16 << 10;

#[derive(Default)]
pub(super) struct LineBuf {
    buf: Vec<u8>,
    overflow: bool,
}

pub(super) struct PendingHttp {
    method: String,
    target: String,
    host: Option<String>,
    frame: u64,
}

pub(super) struct Flow {
    pub report: FlowReport,
    pub streams: [Stream; 2],
    pub lines: [LineBuf; 2],
    /// The client's first bytes, for the TLS ClientHello.
    head: Vec<u8>,
    head_done: bool,
    http: Option<PendingHttp>,
    pub fin: [bool; 2],
    logins: HashSet<String>,
    /// Frame number of the flow's latest packet.
    pub last_frame: u64,
    /// The client is known from the handshake (else guessed by port).
    oriented: bool,
    /// Messages only a client sends (logins, requests), per direction.
    client_msgs: [u32; 2],
}

impl Flow {
    pub(super) fn new(
        client: SocketAddr,
        server: SocketAddr,
        ts_ns: i64,
        frame: u64,
        oriented: bool,
    ) -> Flow {
        Flow {
            report: FlowReport {
                client,
                server,
                first_seen_ns: ts_ns,
                last_seen_ns: ts_ns,
                first_frame: frame,
                packets: [0; 2],
                bytes: [0; 2],
                stream_bytes: [0; 2],
                gaps: [0; 2],
                protocols: BTreeSet::new(),
                methods: BTreeSet::new(),
                agents: BTreeSet::new(),
                algos: BTreeSet::new(),
                logins: Vec::new(),
                server_names: Vec::new(),
                http: Vec::new(),
                closed: false,
            },
            streams: [Stream::default(), Stream::default()],
            lines: [LineBuf::default(), LineBuf::default()],
            head: Vec::new(),
            head_done: false,
            http: None,
            fin: [false; 2],
            logins: HashSet::new(),
            last_frame: frame,
            oriented,
            client_msgs: [0; 2],
        }
    }
}

pub(super) fn has_finding(f: &FlowReport) -> bool {
    !f.protocols.is_empty()
        || !f.http.is_empty()
        || f.server_names.iter().any(|n| n.indicator.is_some())
}

/// Delivers what waits in one direction across its gaps (at the end of the
/// capture, or when too much waits overall), cutting lines at each gap.
/// Lines completed here are dated by `p` (the flow's last packet, or the
/// current one).
pub(super) fn flush_stream(ind: &Indicators, flow: &mut Flow, dir: usize, p: &Packet<'_>) {
    let mut out = Vec::new();
    let mut cuts = Vec::new();
    flow.streams[dir].flush(&mut out, |o| cuts.push(o.len()));
    let mut at = 0;
    for cut in cuts.into_iter().chain(std::iter::once(out.len())) {
        consume(ind, flow, dir, &out[at..cut], p);
        flow.lines[dir] = LineBuf::default();
        at = cut;
    }
}

pub(super) fn finish_flow(
    ind: &Indicators,
    resolved: &HashMap<IpAddr, (String, IndicatorHit)>,
    flow: &mut Flow,
) {
    for d in 0..2 {
        flow.report.stream_bytes[d] = flow.streams[d].delivered;
        flow.report.gaps[d] = flow.streams[d].gaps;
    }
    if !flow.oriented && flow.client_msgs[1] > flow.client_msgs[0] {
        // The port guess was wrong: the "server" sent the logins.
        let r = &mut flow.report;
        std::mem::swap(&mut r.client, &mut r.server);
        r.packets.swap(0, 1);
        r.bytes.swap(0, 1);
        r.stream_bytes.swap(0, 1);
        r.gaps.swap(0, 1);
    }
    if !flow.head_done {
        check_sni(ind, flow);
    }
    if let Some((name, hit)) = resolved.get(&flow.report.server.ip()) {
        add_name(&mut flow.report, name, NameSource::Dns, Some(hit.clone()));
    }
}

fn add_name(r: &mut FlowReport, name: &str, source: NameSource, indicator: Option<IndicatorHit>) {
    if !r
        .server_names
        .iter()
        .any(|n| n.name == name && n.source == source)
    {
        r.server_names.push(ServerName {
            name: name.to_string(),
            source,
            indicator,
        });
    }
}

fn check_sni(ind: &Indicators, flow: &mut Flow) {
    flow.head_done = true;
    if let Some(name) = proto::client_hello_sni(&flow.head) {
        let hit = ind.domain(&name);
        add_name(&mut flow.report, &name, NameSource::Sni, hit);
    }
    flow.head = Vec::new();
}

/// Takes newly reassembled bytes of one direction.
pub(super) fn consume(ind: &Indicators, flow: &mut Flow, dir: usize, data: &[u8], p: &Packet<'_>) {
    if data.is_empty() {
        return;
    }
    if dir == 0 && !flow.head_done {
        let take = (HEAD_MAX - flow.head.len()).min(data.len());
        flow.head.extend_from_slice(&data[..take]);
        let first = flow.head[0];
        if first != 0x16 {
            flow.head_done = true;
            flow.head = Vec::new();
        } else if proto::client_hello_sni(&flow.head).is_some() || flow.head.len() >= HEAD_MAX {
            check_sni(ind, flow);
        }
    }
    if flow
        .report
        .server_names
        .iter()
        .any(|n| n.source == NameSource::Sni)
    {
        return; // TLS: the rest is ciphertext
    }
    let mut rest = data;
    while !rest.is_empty() {
        let lb = &mut flow.lines[dir];
        match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => {
                let part = &rest[..nl];
                rest = &rest[nl + 1..];
                if lb.overflow {
                    *lb = LineBuf::default();
                    continue;
                }
                if lb.buf.is_empty() {
                    line(ind, flow, dir, part, p);
                } else {
                    let room = MAX_LINE.saturating_sub(lb.buf.len());
                    lb.buf.extend_from_slice(&part[..part.len().min(room)]);
                    let full = std::mem::take(&mut lb.buf);
                    line(ind, flow, dir, &full, p);
                    flow.lines[dir].buf = full;
                    flow.lines[dir].buf.clear();
                }
            }
            None => {
                if !lb.overflow {
                    let room = MAX_LINE.saturating_sub(lb.buf.len());
                    if rest.len() > room {
                        lb.overflow = true;
                        lb.buf = Vec::new();
                    } else {
                        lb.buf.extend_from_slice(rest);
                    }
                }
                rest = &[];
            }
        }
    }
}

fn line(ind: &Indicators, flow: &mut Flow, dir: usize, raw: &[u8], p: &Packet<'_>) {
    let l = raw.strip_suffix(b"\r").unwrap_or(raw);
    if let Some(m) = stratum::parse_line(l) {
        let r = &mut flow.report;
        r.protocols.insert(m.protocol);
        r.methods.insert(m.method.clone());
        if let Some(a) = &m.agent {
            r.agents.insert(a.clone());
        }
        if let Some(a) = &m.algo {
            r.algos.insert(a.clone());
        }
        let from_client = m.from_client();
        if from_client {
            flow.client_msgs[dir] += 1;
        }
        if let Some(login) = m.login.filter(|_| from_client) {
            if r.logins.len() < MAX_LOGINS && flow.logins.insert(login.clone()) {
                let parts = stratum::split_login(&login);
                r.logins.push(Login {
                    method: m.method,
                    wallet: wallet_in_login(&login),
                    worker: parts.worker,
                    login,
                    password: m.password,
                    frame: p.number,
                    ts_ns: p.ts_ns,
                });
            }
        }
        return;
    }
    if let Some((method, target)) = proto::http_request_line(l) {
        flow.client_msgs[dir] += 1;
        end_http(ind, flow);
        flow.http = Some(PendingHttp {
            method: method.to_string(),
            target: target.to_string(),
            host: None,
            frame: p.number,
        });
        return;
    }
    if let Some(h) = flow.http.as_mut() {
        if l.is_empty() {
            end_http(ind, flow);
        } else if let Some(host) = proto::http_host(l) {
            h.host = Some(host);
        }
    }
}

fn end_http(ind: &Indicators, flow: &mut Flow) {
    let Some(h) = flow.http.take() else { return };
    // An absolute target (proxy request) carries the host itself.
    let (host, path) = match h.target.split_once("://") {
        Some((_, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            (
                Some(
                    authority
                        .split(':')
                        .next()
                        .unwrap_or("")
                        .to_ascii_lowercase(),
                ),
                path.to_string(),
            )
        }
        None => (h.host.clone(), h.target.clone()),
    };
    let host_hit = host.as_deref().and_then(|x| ind.domain(x));
    if let Some(x) = &host {
        add_name(&mut flow.report, x, NameSource::HttpHost, host_hit.clone());
    }
    if let Some(hit) = ind.script_path(&path).or(host_hit) {
        flow.report.http.push(HttpFetch {
            method: h.method,
            host,
            target: h.target,
            indicator: hit,
            frame: h.frame,
        });
    }
}
