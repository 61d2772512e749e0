//! Crypto-jacking detection: miners in files and mining traffic in network
//! captures, with the miners' payout wallets handed to the intelligence.
//!
//! * **Files** ([`files::scan_paths`]): YARA rules ([`rules::Rules`], on the
//!   pure-Rust engine boreal) over files found recursively, on several
//!   threads. Rule files are compiled one by one; one that does not compile
//!   is listed with its error, never dropped silently.
//! * **Captures** ([`net::scan_capture`]): pcap and pcapng, TCP reassembly,
//!   Stratum v1 / XMRig / EthProxy / getblocktemplate on any port, TLS SNI,
//!   DNS and HTTP against mining-pool and NoCoin lists ([`indicators`]).
//! * **Zeek logs** ([`zeek::scan_logs`]): `conn.log`, `dns.log`, `ssl.log`
//!   (TSV or JSON lines), the same indicators.
//! * **Wallets** ([`wallet`]): the payout wallet in a pool login is told from
//!   an account name by its address format (`chainhound-intel`'s
//!   inference) and becomes an intel tag (category `miner`, abuse
//!   `cryptojacking`, source named by the investigator).
//!
//! **Invariant:** input is untrusted: no parser panics or allocates beyond
//! fixed bounds on any bytes (fuzzed in `fuzz/`); what cannot be read is a
//! [`Warning`] naming the input and byte offset, and the scan goes on.

#![deny(missing_docs)]

mod error;
pub mod files;
pub mod indicators;
pub mod net;
mod report;
pub mod rules;
pub mod wallet;
pub mod zeek;

pub use error::{Result, ScanError};
pub use report::{sha256_hex, HashingReader, Warning};

/// Entry points for the fuzz targets in `fuzz/` (not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    use std::path::Path;
    use std::sync::OnceLock;

    use crate::indicators::Indicators;
    use crate::net::capture::CaptureReader;
    use crate::net::reassembly::Stream;
    use crate::net::NetScanner;

    fn indicators() -> &'static Indicators {
        static IND: OnceLock<Indicators> = OnceLock::new();
        IND.get_or_init(Indicators::builtin)
    }

    /// `bytes` as a pcap or pcapng file, every packet through the scanner.
    /// Returns the number of flows reported.
    pub fn capture(bytes: &[u8]) -> usize {
        let Ok(mut r) = CaptureReader::new(bytes) else {
            return 0;
        };
        let mut s = NetScanner::new(indicators(), "fuzz");
        while let Some(p) = r.next_packet() {
            assert!(p.data.len() <= crate::net::capture::MAX_RECORD as usize);
            s.packet(&p);
        }
        s.finish().flows.len()
    }

    /// `bytes[0]` picks a link type, the rest is one frame, fed twice (the
    /// second time as if retransmitted) to a scanner.
    pub fn frame(bytes: &[u8]) -> usize {
        use crate::net::capture::{linktype, Packet};
        let Some((&sel, data)) = bytes.split_first() else {
            return 0;
        };
        let lts = [
            linktype::ETHERNET,
            linktype::LINUX_SLL,
            linktype::LINUX_SLL2,
            linktype::RAW,
            linktype::NULL,
            linktype::LOOP,
            linktype::IPV4,
            linktype::IPV6,
        ];
        let lt = lts[usize::from(sel) % lts.len()];
        let _ = crate::net::packet::decode(lt, data);
        let mut s = NetScanner::new(indicators(), "fuzz");
        for number in 1..=2 {
            s.packet(&Packet {
                number,
                offset: 0,
                ts_ns: 0,
                linktype: lt,
                orig_len: data.len() as u32,
                data,
            });
        }
        s.finish().flows.len()
    }

    /// Reassembly: `bytes` = a control prefix and a stream. The stream is
    /// cut into segments, which are sent shuffled and partly twice; all
    /// bytes arrive, so the delivered stream must equal the original.
    pub fn reassembly(bytes: &[u8]) {
        if bytes.len() < 4 {
            return;
        }
        let (ctl, data) = bytes.split_at(4);
        let isn = u32::from_le_bytes([ctl[0], ctl[1], ctl[2], ctl[3]]);
        // Segment lengths from the data itself (1..=64).
        let mut segs = Vec::new();
        let mut at = 0usize;
        while at < data.len() {
            let len = (usize::from(data[at]) % 64 + 1).min(data.len() - at);
            segs.push((at, len));
            at += len;
        }
        // Deterministic shuffle and duplicates driven by the data.
        let n = segs.len();
        for i in 0..n {
            let j = usize::from(data[segs[i].0]) % n;
            segs.swap(i, j);
        }
        let dups: Vec<(usize, usize)> = segs.iter().step_by(3).copied().collect();
        segs.extend(dups);
        let mut s = Stream::default();
        let mut out = Vec::new();
        s.segment(isn, true, &[], &mut out);
        for (off, len) in segs {
            let seq = isn.wrapping_add(1).wrapping_add(off as u32);
            s.segment(seq, false, &data[off..off + len], &mut out);
        }
        s.flush(&mut out, |_| {});
        if data.len() <= crate::net::reassembly::MAX_PENDING {
            assert_eq!(out, data, "every byte arrived, in some order");
            assert_eq!(s.gaps, 0);
        }
    }

    /// `bytes` as lines of a TCP stream: mining messages, HTTP requests and
    /// hosts, logins and wallets; and as a DNS message and a ClientHello.
    pub fn lines(bytes: &[u8]) -> usize {
        let mut n = 0;
        for line in bytes.split(|&b| b == b'\n') {
            if let Some(m) = crate::net::stratum::parse_line(line) {
                n += 1;
                if let Some(l) = &m.login {
                    let p = crate::net::stratum::split_login(l);
                    assert!(l.contains(&p.account));
                    let _ = crate::wallet::wallet_in_login(l);
                }
            }
            let _ = crate::net::proto::http_request_line(line);
            let _ = crate::net::proto::http_host(line);
        }
        if let Ok(s) = std::str::from_utf8(bytes) {
            let _ = crate::net::stratum::split_login(s);
            let _ = crate::wallet::wallet_in_login(s);
            let _ = indicators().domain(s);
            let _ = indicators().script_path(s);
        }
        if let Some(m) = crate::net::proto::dns_message(bytes) {
            assert!(m.questions.len() <= 16 && m.answers.len() <= 64);
        }
        if let Some(name) = crate::net::proto::client_hello_sni(bytes) {
            assert!(!name.is_empty());
        }
        n
    }

    /// `bytes` as a Zeek log (TSV or JSON lines) and as an indicator list.
    pub fn zeek_and_lists(bytes: &[u8]) -> u64 {
        let mut warnings = Vec::new();
        let mut records = 0;
        let _ = crate::zeek::read_log(Path::new("fuzz.log"), bytes, &mut warnings, |_, line, _| {
            records += 1;
            assert!(line >= records, "line numbers count every line");
        });
        let mut ind = Indicators::default();
        if ind.load_bytes(Path::new("fuzz.txt"), bytes).is_ok() {
            for l in ind.lists() {
                assert_eq!(l.name, "fuzz.txt");
            }
        }
        records
    }
}
