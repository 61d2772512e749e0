//! `scan pcap`: mining traffic in packet captures.
//!
//! [`NetScanner`] takes decoded packets one by one: TCP streams are put back
//! in order ([`reassembly`]) and cut into lines, and each line is tried as a
//! mining message ([`stratum`]) or an HTTP request; a client's first bytes
//! are tried as a TLS ClientHello (SNI); UDP port 53 is read as DNS. A flow
//! is reported when it speaks a mining protocol or names a listed domain
//! (SNI, HTTP `Host`, or an address a listed name resolved to in the same
//! capture). Memory: flows that end (FIN both ways, or RST) without a
//! finding are dropped; lines are cut at [`MAX_LINE`] bytes.

pub mod capture;
pub mod packet;
pub mod proto;
pub mod reassembly;
pub mod stratum;
pub mod write;

mod engine;
mod findings;
mod flow;

pub use engine::{scan_capture, NetScanner, MAX_FLOWS};
pub use findings::{DnsFinding, FlowReport, HttpFetch, Login, NameSource, NetReport, ServerName};
pub use flow::MAX_LINE;
