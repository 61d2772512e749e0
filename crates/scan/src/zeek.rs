//! Zeek logs: `dns.log` questions and `ssl.log` server names for listed
//! domains, and the `conn.log` records of those connections (by `uid`) or
//! of connections to addresses a listed name resolved to.
//!
//! Both Zeek formats are read: TSV with the `#separator`/`#fields` header,
//! and JSON lines (`LogAscii::use_json`). The log kind comes from `#path`,
//! else from the fields present. A line that does not fit its header is a
//! warning naming the file and line; the rest of the log is still read.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Result, ScanError};
use crate::indicators::{IndicatorHit, Indicators};
use crate::report::{HashingReader, Warning};

/// Which Zeek log.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogKind {
    /// `dns.log`.
    Dns,
    /// `ssl.log`.
    Ssl,
    /// `conn.log`.
    Conn,
}

impl LogKind {
    /// `dns`, `ssl`, `conn`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Dns => "dns",
            LogKind::Ssl => "ssl",
            LogKind::Conn => "conn",
        }
    }
}

/// A DNS question or TLS server name for a listed domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZeekFinding {
    /// The log.
    pub input: String,
    /// 1-based line.
    pub line: u64,
    /// `dns` or `ssl`.
    pub kind: LogKind,
    /// Time (ns since the epoch).
    pub ts_ns: i64,
    /// Zeek's connection id.
    pub uid: Option<String>,
    /// The client.
    pub client: Option<SocketAddr>,
    /// The server (resolver, for DNS).
    pub server: Option<SocketAddr>,
    /// The name.
    pub name: String,
    /// The list entry it falls under.
    pub indicator: IndicatorHit,
    /// DNS answers that are addresses.
    pub answers: Vec<IpAddr>,
}

/// A `conn.log` connection to a listed server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZeekFlow {
    /// The log.
    pub input: String,
    /// 1-based line.
    pub line: u64,
    /// Zeek's connection id.
    pub uid: String,
    /// `tcp`, `udp`, …
    pub proto: String,
    /// Originator.
    pub client: SocketAddr,
    /// Responder.
    pub server: SocketAddr,
    /// Start (ns since the epoch).
    pub first_seen_ns: i64,
    /// Start plus duration.
    pub last_seen_ns: i64,
    /// Payload bytes originator → responder and back (`orig_bytes`,
    /// `resp_bytes`).
    pub bytes: [u64; 2],
    /// Packets both ways (`orig_pkts`, `resp_pkts`).
    pub packets: [u64; 2],
    /// Why it is reported: the name (SNI or resolved DNS name) and entry.
    pub name: String,
    /// How the name is known (`ssl` or `dns`).
    pub via: LogKind,
    /// The list entry.
    pub indicator: IndicatorHit,
}

/// One log read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZeekInput {
    /// The file.
    pub path: String,
    /// Its kind (`None`: not a conn, dns or ssl log; skipped).
    pub kind: Option<LogKind>,
    /// SHA-256 of the file (hex).
    pub sha256: String,
    /// Records read.
    pub records: u64,
}

/// What the logs showed.
#[derive(Clone, Debug, Default)]
pub struct ZeekReport {
    /// The logs read, in reading order (dns and ssl before conn).
    pub inputs: Vec<ZeekInput>,
    /// Log lines read (records, not headers).
    pub records: u64,
    /// Names for listed domains, by input and line.
    pub findings: Vec<ZeekFinding>,
    /// Connections to listed servers.
    pub flows: Vec<ZeekFlow>,
    /// Lines or files that could not be read.
    pub warnings: Vec<Warning>,
}

/// One record: field name → value (`-` and `(empty)` are absent).
pub(crate) type Record = HashMap<String, Value>;

fn ts_ns(v: Option<&Value>) -> i64 {
    let secs = match v {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.parse::<f64>().unwrap_or(0.0),
        _ => 0.0,
    };
    (secs * 1e9) as i64
}

fn text<'a>(r: &'a Record, k: &str) -> Option<&'a str> {
    r.get(k).and_then(Value::as_str)
}

fn num(r: &Record, k: &str) -> u64 {
    match r.get(k) {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn endpoint(r: &Record, h: &str, p: &str) -> Option<SocketAddr> {
    let ip: IpAddr = text(r, h)?.parse().ok()?;
    let port = u16::try_from(num(r, p)).unwrap_or(0);
    Some(SocketAddr::new(ip, port))
}

fn answers(r: &Record) -> Vec<IpAddr> {
    match r.get("answers") {
        Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str()?.parse().ok()).collect(),
        Some(Value::String(s)) => s.split(',').filter_map(|x| x.parse().ok()).collect(),
        _ => Vec::new(),
    }
}

/// Reads a log's records, calling `f` with each and its line; returns the
/// kind, or `None` if the file is no dns/ssl/conn log.
/// Also returns the SHA-256 of the whole file.
pub(crate) fn read_log<R: std::io::Read>(
    path: &Path,
    input: R,
    warnings: &mut Vec<Warning>,
    mut f: impl FnMut(LogKind, u64, &Record),
) -> Result<(Option<LogKind>, String)> {
    let mut reader = BufReader::new(HashingReader::new(input));
    let mut sep = "\t".to_string();
    let mut fields: Vec<String> = Vec::new();
    let mut kind: Option<LogKind> = None;
    let mut path_kind: Option<LogKind> = None;
    let name = path.display().to_string();
    let kind_of = |fields: &[&str]| -> Option<LogKind> {
        if fields.contains(&"query") {
            Some(LogKind::Dns)
        } else if fields.contains(&"server_name") {
            Some(LogKind::Ssl)
        } else if fields.contains(&"conn_state") || fields.contains(&"orig_bytes") {
            Some(LogKind::Conn)
        } else {
            None
        }
    };
    let mut foreign = false;
    for (i, line) in (&mut reader).split(b'\n').enumerate() {
        let lineno = i as u64 + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                warnings.push(Warning {
                    input: name.clone(),
                    offset: None,
                    message: format!("line {lineno}: read error: {e}"),
                });
                break;
            }
        };
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        if let Some(h) = line.strip_prefix('#') {
            let (key, rest) = h.split_once([' ', '\t']).unwrap_or((h, ""));
            match key {
                "separator" => {
                    sep = rest.trim().replace("\\x09", "\t").replace("\\x20", " ");
                    if sep.is_empty() {
                        sep = "\t".into();
                    }
                }
                "path" => {
                    path_kind = match rest.trim() {
                        "dns" => Some(LogKind::Dns),
                        "ssl" => Some(LogKind::Ssl),
                        "conn" => Some(LogKind::Conn),
                        _ => None,
                    }
                }
                "fields" => {
                    fields = rest.split(sep.as_str()).map(str::to_string).collect();
                    let fr: Vec<&str> = fields.iter().map(String::as_str).collect();
                    kind = path_kind.or_else(|| kind_of(&fr));
                }
                _ => {}
            }
            continue;
        }
        let rec: Record = if line.starts_with('{') {
            match serde_json::from_str::<serde_json::Map<String, Value>>(line) {
                Ok(m) => {
                    if kind.is_none() {
                        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                        kind = kind_of(&keys);
                    }
                    m.into_iter().collect()
                }
                Err(e) => {
                    warnings.push(Warning {
                        input: name.clone(),
                        offset: None,
                        message: format!("line {lineno}: not a JSON object: {e}"),
                    });
                    continue;
                }
            }
        } else {
            if fields.is_empty() {
                return Err(ScanError::BadZeekLog {
                    path: path.to_path_buf(),
                    reason: format!("line {lineno}: data before a #fields header"),
                });
            }
            let vals: Vec<&str> = line.split(sep.as_str()).collect();
            if vals.len() != fields.len() {
                warnings.push(Warning {
                    input: name.clone(),
                    offset: None,
                    message: format!(
                        "line {lineno}: {} values for {} fields; skipped",
                        vals.len(),
                        fields.len()
                    ),
                });
                continue;
            }
            fields
                .iter()
                .zip(vals)
                .filter(|(_, v)| *v != "-" && *v != "(empty)")
                .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
                .collect()
        };
        match kind {
            Some(k) => f(k, lineno, &rec),
            None => {
                foreign = true;
                break;
            }
        }
    }
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(|e| ScanError::io(path, e))?;
    let sha = reader.get_ref().hex();
    Ok((if foreign { None } else { kind }, sha))
}

fn log_kind_hint(path: &Path) -> u8 {
    let n = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if n.starts_with("conn") {
        1 // after dns and ssl: their names decide which connections matter
    } else {
        0
    }
}

/// Scans Zeek logs (files, or directories holding `*.log`). `dns.log` and
/// `ssl.log` are read before `conn.log`.
pub fn scan_logs(paths: &[PathBuf], ind: &Indicators) -> Result<ZeekReport> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| ScanError::io(p, e))?;
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "log" || e == "json"))
                .collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(p.clone());
        }
    }
    files.sort_by_key(|p| log_kind_hint(p));
    let mut report = ZeekReport::default();
    let mut flagged_uids: HashMap<String, (String, IndicatorHit)> = HashMap::new();
    let mut resolved: HashMap<IpAddr, (String, IndicatorHit)> = HashMap::new();
    let mut seen_conn: HashSet<(String, String)> = HashSet::new();
    for path in &files {
        let name = path.display().to_string();
        let mut warnings = Vec::new();
        let mut records = 0u64;
        let mut findings = Vec::new();
        let mut flows = Vec::new();
        let file = std::fs::File::open(path).map_err(|e| ScanError::io(path, e))?;
        let (kind, sha256) = read_log(path, file, &mut warnings, |kind, line, r| {
            records += 1;
            match kind {
                LogKind::Dns | LogKind::Ssl => {
                    let field = if kind == LogKind::Dns {
                        "query"
                    } else {
                        "server_name"
                    };
                    let Some(q) = text(r, field) else { return };
                    let Some(hit) = ind.domain(q) else { return };
                    let ans = answers(r);
                    for a in &ans {
                        resolved.insert(*a, (q.to_ascii_lowercase(), hit.clone()));
                    }
                    if let Some(uid) = text(r, "uid").filter(|_| kind == LogKind::Ssl) {
                        flagged_uids.insert(uid.to_string(), (q.to_ascii_lowercase(), hit.clone()));
                    }
                    findings.push(ZeekFinding {
                        input: name.clone(),
                        line,
                        kind,
                        ts_ns: ts_ns(r.get("ts")),
                        uid: text(r, "uid").map(str::to_string),
                        client: endpoint(r, "id.orig_h", "id.orig_p"),
                        server: endpoint(r, "id.resp_h", "id.resp_p"),
                        name: q.to_ascii_lowercase(),
                        indicator: hit,
                        answers: ans,
                    });
                }
                LogKind::Conn => {
                    let uid = text(r, "uid").unwrap_or("").to_string();
                    let (Some(client), Some(server)) = (
                        endpoint(r, "id.orig_h", "id.orig_p"),
                        endpoint(r, "id.resp_h", "id.resp_p"),
                    ) else {
                        return;
                    };
                    let why = flagged_uids
                        .get(&uid)
                        .map(|(n, h)| (n.clone(), LogKind::Ssl, h.clone()))
                        .or_else(|| {
                            resolved
                                .get(&server.ip())
                                .map(|(n, h)| (n.clone(), LogKind::Dns, h.clone()))
                        });
                    let Some((nm, via, indicator)) = why else {
                        return;
                    };
                    if !seen_conn.insert((name.clone(), uid.clone())) {
                        return;
                    }
                    let first = ts_ns(r.get("ts"));
                    let dur = match r.get("duration") {
                        Some(v) => ts_ns(Some(v)),
                        None => 0,
                    };
                    flows.push(ZeekFlow {
                        input: name.clone(),
                        line,
                        uid,
                        proto: text(r, "proto").unwrap_or("").to_string(),
                        client,
                        server,
                        first_seen_ns: first,
                        last_seen_ns: first.saturating_add(dur),
                        bytes: [num(r, "orig_bytes"), num(r, "resp_bytes")],
                        packets: [num(r, "orig_pkts"), num(r, "resp_pkts")],
                        name: nm,
                        via,
                        indicator,
                    });
                }
            }
        })?;
        if kind.is_none() {
            warnings.push(Warning {
                input: name.clone(),
                offset: None,
                message: "not a Zeek conn, dns or ssl log; skipped".into(),
            });
        }
        report.inputs.push(ZeekInput {
            path: name.clone(),
            kind,
            sha256,
            records,
        });
        report.records += records;
        report.findings.extend(findings);
        report.flows.extend(flows);
        report.warnings.extend(warnings);
    }
    report
        .findings
        .sort_by(|a, b| (&a.input, a.line).cmp(&(&b.input, b.line)));
    report
        .flows
        .sort_by(|a, b| (&a.input, a.line).cmp(&(&b.input, b.line)));
    Ok(report)
}
