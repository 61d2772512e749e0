//! What the flows, DNS questions and captures were found to be.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use super::stratum::Protocol;
use crate::indicators::IndicatorHit;
use crate::report::Warning;
use crate::wallet::Wallet;

/// How a server's name became known.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NameSource {
    /// TLS ClientHello server name.
    Sni,
    /// HTTP `Host` header.
    HttpHost,
    /// A DNS answer in the same capture resolved the name to the server.
    Dns,
}

impl NameSource {
    /// Short name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::Sni => "tls-sni",
            NameSource::HttpHost => "http-host",
            NameSource::Dns => "dns",
        }
    }
}

/// A name of a flow's server, with how it was learnt and the indicator it
/// matches, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerName {
    /// The host name.
    pub name: String,
    /// How it became known.
    pub source: NameSource,
    /// The indicator list entry it falls under.
    pub indicator: Option<IndicatorHit>,
}

/// A pool login seen in a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    /// The method that carried it (`mining.authorize`, `login`, …).
    pub method: String,
    /// The login as sent.
    pub login: String,
    /// The password field as sent.
    pub password: Option<String>,
    /// The payout wallet, when the login's account part is an address.
    pub wallet: Option<Wallet>,
    /// The worker name, if any.
    pub worker: Option<String>,
    /// Frame number of the packet that completed the line (for bytes
    /// delivered across a gap at the end of the capture, the flow's last
    /// frame).
    pub frame: u64,
    /// Its time (ns since the epoch).
    pub ts_ns: i64,
}

/// An HTTP request for a listed host or a browser-miner script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpFetch {
    /// `GET`, `POST`, …
    pub method: String,
    /// The `Host` header (lower-case), if sent.
    pub host: Option<String>,
    /// The request target.
    pub target: String,
    /// What matched: a script path pattern or the host's domain.
    pub indicator: IndicatorHit,
    /// Frame number.
    pub frame: u64,
}

/// A TCP connection with a finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowReport {
    /// The side that opened the connection (or sent first).
    pub client: SocketAddr,
    /// The other side (the pool, for a miner).
    pub server: SocketAddr,
    /// Time of the first and last packet (ns since the epoch).
    pub first_seen_ns: i64,
    /// See `first_seen_ns`.
    pub last_seen_ns: i64,
    /// Frame number of the first packet.
    pub first_frame: u64,
    /// Packets client → server and back.
    pub packets: [u64; 2],
    /// Bytes on the wire client → server and back.
    pub bytes: [u64; 2],
    /// Payload bytes reassembled per direction.
    pub stream_bytes: [u64; 2],
    /// Gaps (missing segments given up) per direction.
    pub gaps: [u32; 2],
    /// Mining protocols spoken.
    pub protocols: BTreeSet<Protocol>,
    /// Mining methods seen (both directions).
    pub methods: BTreeSet<String>,
    /// Miner user agents.
    pub agents: BTreeSet<String>,
    /// Algorithms announced or assigned.
    pub algos: BTreeSet<String>,
    /// Pool logins, in order (duplicates dropped).
    pub logins: Vec<Login>,
    /// The server's names.
    pub server_names: Vec<ServerName>,
    /// HTTP requests that matched an indicator.
    pub http: Vec<HttpFetch>,
    /// The connection was seen to end (FIN or RST).
    pub closed: bool,
}

impl FlowReport {
    /// Whether the pool answered with work (`mining.notify`, a job), i.e.
    /// mining really took place rather than an attempt.
    pub fn pool_sent_work(&self) -> bool {
        ["mining.notify", "job", "login-result", "subscribe-result"]
            .iter()
            .any(|m| self.methods.contains(*m))
    }
}

/// A DNS question for a listed domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsFinding {
    /// Frame number.
    pub frame: u64,
    /// Time (ns since the epoch).
    pub ts_ns: i64,
    /// The asking host.
    pub client: IpAddr,
    /// The resolver.
    pub resolver: IpAddr,
    /// The name asked for.
    pub name: String,
    /// The list entry it falls under.
    pub indicator: IndicatorHit,
    /// Addresses the answer gave (if the answer was captured).
    pub answers: Vec<IpAddr>,
}

/// What a capture showed.
#[derive(Clone, Debug, Default)]
pub struct NetReport {
    /// The capture.
    pub input: String,
    /// `pcap` or `pcapng`.
    pub format: String,
    /// SHA-256 of the whole file (hex).
    pub sha256: String,
    /// Packets read.
    pub packets: u64,
    /// Bytes of packets read (as captured).
    pub bytes: u64,
    /// Packets that could not be decoded.
    pub malformed: u64,
    /// IP fragments (not reassembled).
    pub fragments: u64,
    /// TCP connections tracked.
    pub tcp_flows: u64,
    /// Flows not tracked because the table was full.
    pub flows_untracked: u64,
    /// Connections with a finding, by first frame.
    pub flows: Vec<FlowReport>,
    /// DNS questions for listed domains, by frame.
    pub dns: Vec<DnsFinding>,
    /// Warnings (damage, malformed packets), each naming the byte offset.
    pub warnings: Vec<Warning>,
}
