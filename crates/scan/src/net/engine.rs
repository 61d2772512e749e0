//! The flow table: packets in, flows and DNS questions out.

use std::collections::HashMap;
use std::io::BufReader;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use super::capture::{CaptureReader, OpenError, Packet};
use super::findings::{DnsFinding, NetReport};
use super::flow::{consume, finish_flow, flush_stream, has_finding, Flow, LineBuf};
use super::packet::{decode, Frame, Transport};
use super::proto;
use crate::error::{Result, ScanError};
use crate::indicators::{IndicatorHit, Indicators};
use crate::report::{HashingReader, Warning};

/// At most this many flows are tracked at once; later ones are counted only.
pub const MAX_FLOWS: usize = 1 << 18;
/// Bytes waiting for missing segments, over all flows; beyond it, the
/// current direction gives up its gaps (each direction also has its own
/// limit, `reassembly::MAX_PENDING`).
pub const MAX_PENDING_TOTAL: usize = 64 << 20;
/// At most this many malformed-packet warnings are listed (all are counted).
const MAX_PACKET_WARNINGS: usize = 20;

type FlowKey = (SocketAddr, SocketAddr);

fn key(a: SocketAddr, b: SocketAddr) -> FlowKey {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Scans packets one at a time; [`NetScanner::finish`] gives the report.
pub struct NetScanner<'i> {
    ind: &'i Indicators,
    flows: HashMap<FlowKey, Flow>,
    /// Addresses that listed names resolved to: address → (name, hit).
    resolved: HashMap<IpAddr, (String, IndicatorHit)>,
    /// DNS findings by (client, id, name), to attach answers.
    dns_index: HashMap<(IpAddr, u16, String), usize>,
    report: NetReport,
    scratch: Vec<u8>,
    packet_warnings: usize,
    /// Sum of the streams' waiting bytes.
    pending_total: usize,
}

impl<'i> NetScanner<'i> {
    /// A scanner for the capture named `input`.
    pub fn new(ind: &'i Indicators, input: &str) -> NetScanner<'i> {
        NetScanner {
            ind,
            flows: HashMap::new(),
            resolved: HashMap::new(),
            dns_index: HashMap::new(),
            report: NetReport {
                input: input.to_string(),
                ..NetReport::default()
            },
            scratch: Vec::new(),
            packet_warnings: 0,
            pending_total: 0,
        }
    }

    fn warn(&mut self, offset: u64, message: String) {
        self.report.warnings.push(Warning {
            input: self.report.input.clone(),
            offset: Some(offset),
            message,
        });
    }

    /// Takes one captured packet.
    pub fn packet(&mut self, p: &Packet<'_>) {
        self.report.packets += 1;
        self.report.bytes += p.data.len() as u64;
        let d = match decode(p.linktype, p.data) {
            Ok(Frame::Ip(d)) => d,
            Ok(Frame::Fragment) => {
                self.report.fragments += 1;
                return;
            }
            Ok(Frame::Other) => return,
            Err(m) => {
                self.report.malformed += 1;
                if self.packet_warnings < MAX_PACKET_WARNINGS {
                    self.packet_warnings += 1;
                    self.warn(
                        p.offset,
                        format!("frame {}: malformed packet: {}", p.number, m.0),
                    );
                }
                return;
            }
        };
        match d.transport {
            Transport::Udp {
                src_port,
                dst_port,
                payload,
            } => {
                if src_port == 53 || dst_port == 53 || src_port == 5353 || dst_port == 5353 {
                    self.dns(p, d.src, d.dst, payload);
                }
            }
            Transport::Tcp {
                src_port,
                dst_port,
                seq,
                flags,
                payload,
            } => self.tcp(
                p,
                SocketAddr::new(d.src, src_port),
                SocketAddr::new(d.dst, dst_port),
                seq,
                flags,
                payload,
            ),
        }
    }

    fn dns(&mut self, p: &Packet<'_>, src: IpAddr, dst: IpAddr, payload: &[u8]) {
        let Some(m) = proto::dns_message(payload) else {
            return;
        };
        let (client, resolver) = if m.response { (dst, src) } else { (src, dst) };
        for q in &m.questions {
            let Some(hit) = self.ind.domain(q) else {
                continue;
            };
            let k = (client, m.id, q.clone());
            let idx = match self.dns_index.get(&k) {
                Some(&i) => i,
                None => {
                    self.report.dns.push(DnsFinding {
                        frame: p.number,
                        ts_ns: p.ts_ns,
                        client,
                        resolver,
                        name: q.clone(),
                        indicator: hit.clone(),
                        answers: Vec::new(),
                    });
                    self.dns_index.insert(k, self.report.dns.len() - 1);
                    self.report.dns.len() - 1
                }
            };
            if m.response {
                for (_, a) in &m.answers {
                    let f = &mut self.report.dns[idx];
                    if !f.answers.contains(a) {
                        f.answers.push(*a);
                    }
                    self.resolved.insert(*a, (q.clone(), hit.clone()));
                }
            }
        }
    }

    fn tcp(
        &mut self,
        p: &Packet<'_>,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let k = key(src, dst);
        if !self.flows.contains_key(&k) {
            if payload.is_empty() && flags & 0x02 == 0 {
                // A lone ACK, FIN or RST (often the last of a flow already
                // retired) starts nothing.
                return;
            }
            if self.flows.len() >= MAX_FLOWS {
                self.report.flows_untracked += 1;
                return;
            }
            // The opener is the client. Without the handshake (a capture
            // started mid-connection), the side with the higher port (the
            // ephemeral one), and on equal ports the first sender.
            let (client, server) = match flags & 0x12 {
                0x02 => (src, dst),
                0x12 => (dst, src),
                _ if dst.port() > src.port() => (dst, src),
                _ => (src, dst),
            };
            self.report.tcp_flows += 1;
            self.flows.insert(
                k,
                Flow::new(client, server, p.ts_ns, p.number, flags & 0x02 != 0),
            );
        }
        let Some(flow) = self.flows.get_mut(&k) else {
            return;
        };
        let dir = usize::from(src != flow.report.client);
        flow.report.packets[dir] += 1;
        flow.report.bytes[dir] += u64::from(p.orig_len);
        flow.report.last_seen_ns = flow.report.last_seen_ns.max(p.ts_ns);
        flow.report.first_seen_ns = flow.report.first_seen_ns.min(p.ts_ns);
        flow.last_frame = p.number;
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let before = flow.streams[dir].pending_bytes();
        let o = flow.streams[dir].segment(seq, flags & 0x02 != 0, payload, &mut out);
        if o.gap {
            flow.lines[dir] = LineBuf::default();
        }
        consume(self.ind, flow, dir, &out, p);
        self.scratch = out;
        self.pending_total = self.pending_total - before + flow.streams[dir].pending_bytes();
        if self.pending_total > MAX_PENDING_TOTAL {
            self.pending_total -= flow.streams[dir].pending_bytes();
            flush_stream(self.ind, flow, dir, p);
        }
        if flags & 0x01 != 0 {
            flow.fin[dir] = true;
        }
        if flags & 0x04 != 0 || (flow.fin[0] && flow.fin[1]) {
            flow.report.closed = true;
            self.retire(k);
        }
    }

    /// Drops a finished flow unless it has a finding.
    fn retire(&mut self, k: FlowKey) {
        let Some(mut flow) = self.flows.remove(&k) else {
            return;
        };
        self.pending_total -= flow.streams[0].pending_bytes() + flow.streams[1].pending_bytes();
        finish_flow(self.ind, &self.resolved, &mut flow);
        if has_finding(&flow.report) {
            self.report.flows.push(flow.report);
        }
    }

    /// The report (flows still open are finished as they are).
    pub fn finish(mut self) -> NetReport {
        let keys: Vec<FlowKey> = self.flows.keys().copied().collect();
        for k in keys {
            if let Some(flow) = self.flows.get_mut(&k) {
                let last = Packet {
                    number: flow.last_frame,
                    offset: 0,
                    ts_ns: flow.report.last_seen_ns,
                    linktype: 0,
                    orig_len: 0,
                    data: &[],
                };
                for dir in 0..2 {
                    self.pending_total -= flow.streams[dir].pending_bytes();
                    flush_stream(self.ind, flow, dir, &last);
                }
            }
            self.retire(k);
        }
        self.report
            .flows
            .sort_by_key(|f| (f.first_frame, f.client, f.server));
        self.report
    }
}

/// Scans a pcap or pcapng file.
pub fn scan_capture(
    path: &Path,
    ind: &Indicators,
    progress: &mut dyn FnMut(u64),
) -> Result<NetReport> {
    let f = std::fs::File::open(path).map_err(|e| ScanError::io(path, e))?;
    let mut reader =
        match CaptureReader::new(HashingReader::new(BufReader::with_capacity(1 << 20, f))) {
            Ok(r) => r,
            Err(OpenError::NotACapture(magic)) => {
                return Err(ScanError::NotACapture {
                    path: path.to_path_buf(),
                    magic,
                })
            }
            Err(OpenError::Io(e)) => return Err(ScanError::io(path, e)),
        };
    let name = path.display().to_string();
    let mut scanner = NetScanner::new(ind, &name);
    let mut last = 0;
    while let Some(p) = reader.next_packet() {
        scanner.packet(&p);
        if p.number % 4096 == 0 {
            let off = reader.offset();
            progress(off - last);
            last = off;
        }
    }
    progress(reader.offset() - last);
    let warning = reader.warning().cloned();
    // Hash the whole file, also past damage where reading stopped.
    std::io::copy(reader.get_mut(), &mut std::io::sink()).map_err(|e| ScanError::io(path, e))?;
    let sha256 = reader.get_ref().hex();
    let mut report = scanner.finish();
    report.sha256 = sha256;
    report.format = match reader.format() {
        super::capture::Format::Pcap => "pcap".into(),
        super::capture::Format::Pcapng => "pcapng".into(),
    };
    if report.malformed as usize > MAX_PACKET_WARNINGS {
        report.warnings.push(Warning {
            input: name.clone(),
            offset: None,
            message: format!(
                "{} malformed packets in all (the first {MAX_PACKET_WARNINGS} are listed)",
                report.malformed
            ),
        });
    }
    if let Some((at, why)) = warning {
        tracing::debug!("{name}: at byte offset {at}: {why}");
        report.warnings.push(Warning {
            input: name,
            offset: Some(at),
            message: why,
        });
    }
    Ok(report)
}
