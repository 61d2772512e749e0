//! Small parsers of what else gives a miner away on the network: the TLS
//! ClientHello's server name, DNS questions and answers, and HTTP request
//! lines with their `Host`. All take untrusted bytes and check every length.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The SNI host name of a TLS ClientHello at the start of `b` (a client's
/// first bytes on a connection). `None` if `b` is not a ClientHello with a
/// server name, or is cut before it.
pub fn client_hello_sni(b: &[u8]) -> Option<String> {
    // Record: type 22 (handshake), version, length.
    if b.len() < 5 || b[0] != 0x16 || b[1] != 0x03 {
        return None;
    }
    let rec_len = usize::from(u16::from_be_bytes([b[3], b[4]]));
    let rec = b.get(5..(5 + rec_len).min(b.len()))?;
    // Handshake: type 1 (ClientHello), 3-byte length.
    if rec.len() < 4 || rec[0] != 1 {
        return None;
    }
    let mut p = Cursor { b: rec, at: 4 };
    p.skip(2 + 32)?; // version, random
    let sid = usize::from(p.u8()?);
    p.skip(sid)?;
    let cs = usize::from(p.u16()?);
    p.skip(cs)?;
    let comp = usize::from(p.u8()?);
    p.skip(comp)?;
    let ext_len = usize::from(p.u16()?);
    let end = (p.at + ext_len).min(rec.len());
    while p.at + 4 <= end {
        let ty = p.u16()?;
        let len = usize::from(p.u16()?);
        if ty == 0 {
            let mut q = Cursor {
                b: p.take(len)?,
                at: 0,
            };
            let _list = q.u16()?;
            while q.at < q.b.len() {
                let name_type = q.u8()?;
                let n = usize::from(q.u16()?);
                let name = q.take(n)?;
                if name_type == 0 {
                    return host_name(name);
                }
            }
            return None;
        }
        p.skip(len)?;
    }
    None
}

/// A DNS host name as text: printable ASCII, lower-cased, without the
/// trailing dot; `None` if it contains anything else.
fn host_name(b: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(b).ok()?;
    let s = s.trim_end_matches('.');
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    Some(s.to_ascii_lowercase())
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.at)?;
        self.at += 1;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        let v = u16::from_be_bytes([*self.b.get(self.at)?, *self.b.get(self.at + 1)?]);
        self.at += 2;
        Some(v)
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        if self.at + n > self.b.len() {
            return None;
        }
        self.at += n;
        Some(())
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at + n)?;
        self.at += n;
        Some(s)
    }
}

/// A DNS message's questions and address answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsMessage {
    /// The transaction id.
    pub id: u16,
    /// A response (QR bit set).
    pub response: bool,
    /// Question names.
    pub questions: Vec<String>,
    /// A and AAAA answers: (owner name, address).
    pub answers: Vec<(String, IpAddr)>,
}

/// Reads a (possibly compressed) name at `at`; returns it and the offset
/// after it in the original position.
fn dns_name(msg: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut name = Vec::new();
    let mut after = None;
    let mut jumps = 0;
    loop {
        let len = *msg.get(at)?;
        match len >> 6 {
            0 => {
                if len == 0 {
                    at += 1;
                    break;
                }
                let label = msg.get(at + 1..at + 1 + usize::from(len))?;
                if !name.is_empty() {
                    name.push(b'.');
                }
                name.extend_from_slice(label);
                if name.len() > 255 {
                    return None;
                }
                at += 1 + usize::from(len);
            }
            3 => {
                let ptr = usize::from(u16::from_be_bytes([len, *msg.get(at + 1)?]) & 0x3fff);
                if after.is_none() {
                    after = Some(at + 2);
                }
                jumps += 1;
                if jumps > 32 {
                    return None;
                }
                at = ptr;
            }
            _ => return None,
        }
    }
    let s = if name.is_empty() {
        ".".to_string()
    } else {
        host_name(&name)?
    };
    Some((s, after.unwrap_or(at)))
}

/// Parses a DNS message (UDP payload). `None` if it is not one.
pub fn dns_message(msg: &[u8]) -> Option<DnsMessage> {
    if msg.len() < 12 {
        return None;
    }
    let id = u16::from_be_bytes([msg[0], msg[1]]);
    let flags = u16::from_be_bytes([msg[2], msg[3]]);
    let opcode = (flags >> 11) & 0xf;
    if opcode != 0 {
        return None;
    }
    let qd = u16::from_be_bytes([msg[4], msg[5]]);
    let an = u16::from_be_bytes([msg[6], msg[7]]);
    if qd == 0 || qd > 16 {
        return None;
    }
    let mut out = DnsMessage {
        id,
        response: flags & 0x8000 != 0,
        ..DnsMessage::default()
    };
    let mut at = 12;
    for _ in 0..qd {
        let (name, next) = dns_name(msg, at)?;
        at = next + 4;
        if at > msg.len() {
            return None;
        }
        out.questions.push(name);
    }
    for _ in 0..an.min(64) {
        let Some((name, next)) = dns_name(msg, at) else {
            break;
        };
        let Some(h) = msg.get(next..next + 10) else {
            break;
        };
        let ty = u16::from_be_bytes([h[0], h[1]]);
        let rdlen = usize::from(u16::from_be_bytes([h[8], h[9]]));
        let Some(rdata) = msg.get(next + 10..next + 10 + rdlen) else {
            break;
        };
        match (ty, rdlen) {
            (1, 4) => out.answers.push((
                name,
                IpAddr::V4(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3])),
            )),
            (28, 16) => {
                let mut a = [0u8; 16];
                a.copy_from_slice(rdata);
                out.answers.push((name, IpAddr::V6(Ipv6Addr::from(a))));
            }
            _ => {}
        }
        at = next + 10 + rdlen;
    }
    Some(out)
}

/// Builds a DNS query for `name` (type A), e.g. for tests.
pub fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(18 + name.len());
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        m.push(label.len().min(63) as u8);
        m.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    m
}

/// Builds the response to [`dns_query`] with one A record.
pub fn dns_response(id: u16, name: &str, addr: Ipv4Addr) -> Vec<u8> {
    let mut m = dns_query(id, name);
    m[2] = 0x81;
    m[3] = 0x80;
    m[7] = 1; // ancount
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
    m.extend_from_slice(&addr.octets());
    m
}

/// An HTTP request line: method and target (path, or an absolute URL).
pub fn http_request_line(line: &[u8]) -> Option<(&str, &str)> {
    let s = std::str::from_utf8(line).ok()?.trim_end();
    let mut it = s.split(' ');
    let method = it.next()?;
    let target = it.next()?;
    let version = it.next()?;
    if !matches!(
        method,
        "GET" | "POST" | "HEAD" | "PUT" | "OPTIONS" | "CONNECT"
    ) || !version.starts_with("HTTP/1.")
        || target.is_empty()
    {
        return None;
    }
    Some((method, target))
}

/// The value of a `Host:` header line, lower-cased, without the port.
pub fn http_host(line: &[u8]) -> Option<String> {
    if line.len() < 6 || !line[..5].eq_ignore_ascii_case(b"host:") {
        return None;
    }
    let v = std::str::from_utf8(&line[5..]).ok()?.trim();
    let host = if v.starts_with('[') {
        v.split(']').next()?.trim_start_matches('[')
    } else {
        v.split(':').next()?
    };
    host_name(host.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_hello(name: &str) -> Vec<u8> {
        let mut ext = Vec::new();
        ext.extend_from_slice(&0u16.to_be_bytes());
        let n = name.len() as u16;
        ext.extend_from_slice(&(n + 5).to_be_bytes());
        ext.extend_from_slice(&(n + 3).to_be_bytes());
        ext.push(0);
        ext.extend_from_slice(&n.to_be_bytes());
        ext.extend_from_slice(name.as_bytes());
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7u8; 32]);
        body.push(0);
        body.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut hs = vec![1, 0];
        hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn sni() {
        let ch = client_hello("Pool.SupportXMR.com");
        assert_eq!(
            client_hello_sni(&ch).as_deref(),
            Some("pool.supportxmr.com")
        );
        for cut in 0..ch.len() {
            assert_eq!(client_hello_sni(&ch[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn dns() {
        let q = dns_query(7, "coinhive.com");
        let m = dns_message(&q).unwrap();
        assert_eq!(
            (m.response, m.questions.as_slice()),
            (false, &["coinhive.com".to_string()][..])
        );
        let r = dns_response(7, "coinhive.com", Ipv4Addr::new(192, 0, 2, 9));
        let m = dns_message(&r).unwrap();
        assert_eq!(
            m.answers,
            vec![("coinhive.com".to_string(), "192.0.2.9".parse().unwrap())]
        );
        // A pointer loop is refused, not followed forever.
        let mut l = dns_query(1, "a");
        l[12] = 0xc0;
        l[13] = 12;
        assert!(dns_message(&l).is_none());
    }

    #[test]
    fn http() {
        assert_eq!(
            http_request_line(b"GET /lib/coinhive.min.js HTTP/1.1\r"),
            Some(("GET", "/lib/coinhive.min.js"))
        );
        assert_eq!(http_request_line(b"{\"id\":1}"), None);
        assert_eq!(
            http_host(b"Host: CoinHive.com:443").as_deref(),
            Some("coinhive.com")
        );
        assert_eq!(http_host(b"Hostile: x"), None);
    }
}
