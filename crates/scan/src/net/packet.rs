//! Decoding a captured frame down to TCP or UDP: Ethernet (with 802.1Q/QinQ
//! tags), Linux cooked v1/v2, BSD/OpenBSD loopback and raw IP; IPv4 and
//! IPv6 (hop-by-hop, routing and destination-option headers skipped).
//! Fragments are not reassembled (counted by the caller). Every length is
//! checked; a frame that lies about a length is [`Malformed`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::capture::linktype;

/// Why a frame could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// The transport layer of a decoded frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport<'a> {
    /// A TCP segment.
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Sequence number.
        seq: u32,
        /// Flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10).
        flags: u8,
        /// The segment's payload (as captured: may be cut by the snap length).
        payload: &'a [u8],
    },
    /// A UDP datagram.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// The payload.
        payload: &'a [u8],
    },
}

/// An IP packet with its transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// TCP or UDP.
    pub transport: Transport<'a>,
}

/// What a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// TCP or UDP over IP.
    Ip(Decoded<'a>),
    /// An IP fragment (not reassembled).
    Fragment,
    /// Not IP, or IP carrying something else (ARP, ICMP, …).
    Other,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Decodes one frame of link type `lt`.
pub fn decode(lt: u32, data: &[u8]) -> Result<Frame<'_>, Malformed> {
    let (ethertype, rest): (u16, &[u8]) = match lt {
        linktype::ETHERNET => {
            let mut et = be16(data, 12).ok_or(Malformed("ethernet header truncated"))?;
            let mut at = 14;
            while et == 0x8100 || et == 0x88a8 || et == 0x9100 {
                et = be16(data, at + 2).ok_or(Malformed("vlan tag truncated"))?;
                at += 4;
            }
            (et, &data[at..])
        }
        linktype::LINUX_SLL => {
            let et = be16(data, 14).ok_or(Malformed("linux cooked header truncated"))?;
            (et, &data[16..])
        }
        linktype::LINUX_SLL2 => {
            let et = be16(data, 0).ok_or(Malformed("linux cooked v2 header truncated"))?;
            if data.len() < 20 {
                return Err(Malformed("linux cooked v2 header truncated"));
            }
            (et, &data[20..])
        }
        linktype::NULL | linktype::LOOP => {
            if data.len() < 4 {
                return Err(Malformed("loopback header truncated"));
            }
            (ip_version_ethertype(&data[4..]), &data[4..])
        }
        linktype::RAW | linktype::IPV4 | linktype::IPV6 => (ip_version_ethertype(data), data),
        _ => return Ok(Frame::Other),
    };
    match ethertype {
        0x0800 => ipv4(rest),
        0x86dd => ipv6(rest),
        _ => Ok(Frame::Other),
    }
}

fn ip_version_ethertype(b: &[u8]) -> u16 {
    match b.first().map(|v| v >> 4) {
        Some(4) => 0x0800,
        Some(6) => 0x86dd,
        _ => 0,
    }
}

fn ipv4(b: &[u8]) -> Result<Frame<'_>, Malformed> {
    if b.len() < 20 {
        return Err(Malformed("ipv4 header truncated"));
    }
    if b[0] >> 4 != 4 {
        return Err(Malformed("ipv4 version field is not 4"));
    }
    let ihl = usize::from(b[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([b[2], b[3]]));
    if ihl < 20 || total < ihl || b.len() < ihl {
        return Err(Malformed("ipv4 header length inconsistent"));
    }
    let flags_frag = u16::from_be_bytes([b[6], b[7]]);
    if flags_frag & 0x3fff != 0 {
        return Ok(Frame::Fragment);
    }
    let src = IpAddr::V4(Ipv4Addr::new(b[12], b[13], b[14], b[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(b[16], b[17], b[18], b[19]));
    // A capture may cut the packet (snap length); Ethernet may pad it.
    let end = total.min(b.len());
    transport(src, dst, b[9], &b[ihl..end])
}

fn ipv6(b: &[u8]) -> Result<Frame<'_>, Malformed> {
    if b.len() < 40 {
        return Err(Malformed("ipv6 header truncated"));
    }
    if b[0] >> 4 != 6 {
        return Err(Malformed("ipv6 version field is not 6"));
    }
    let plen = usize::from(u16::from_be_bytes([b[4], b[5]]));
    let mut next = b[6];
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&b[8..24]);
    dst.copy_from_slice(&b[24..40]);
    let end = (40 + plen).min(b.len());
    let mut at = 40;
    loop {
        match next {
            0 | 43 | 60 => {
                if at + 8 > end {
                    return Err(Malformed("ipv6 extension header truncated"));
                }
                next = b[at];
                at += (usize::from(b[at + 1]) + 1) * 8;
                if at > end {
                    return Err(Malformed("ipv6 extension header length beyond the packet"));
                }
            }
            44 => return Ok(Frame::Fragment),
            _ => break,
        }
    }
    transport(
        IpAddr::V6(Ipv6Addr::from(src)),
        IpAddr::V6(Ipv6Addr::from(dst)),
        next,
        &b[at..end],
    )
}

fn transport(src: IpAddr, dst: IpAddr, proto: u8, b: &[u8]) -> Result<Frame<'_>, Malformed> {
    let transport = match proto {
        6 => {
            if b.len() < 20 {
                return Err(Malformed("tcp header truncated"));
            }
            let off = usize::from(b[12] >> 4) * 4;
            if off < 20 || off > b.len() {
                return Err(Malformed("tcp data offset inconsistent"));
            }
            Transport::Tcp {
                src_port: u16::from_be_bytes([b[0], b[1]]),
                dst_port: u16::from_be_bytes([b[2], b[3]]),
                seq: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                flags: b[13],
                payload: &b[off..],
            }
        }
        17 => {
            if b.len() < 8 {
                return Err(Malformed("udp header truncated"));
            }
            let len = usize::from(u16::from_be_bytes([b[4], b[5]]));
            if len < 8 {
                return Err(Malformed("udp length below 8"));
            }
            Transport::Udp {
                src_port: u16::from_be_bytes([b[0], b[1]]),
                dst_port: u16::from_be_bytes([b[2], b[3]]),
                payload: &b[8..len.min(b.len())],
            }
        }
        _ => return Ok(Frame::Other),
    };
    Ok(Frame::Ip(Decoded {
        src,
        dst,
        transport,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::write::{tcp_flags, FrameBuilder};

    #[test]
    fn round_trip_v4_and_v6() {
        let mut fb = FrameBuilder::new();
        for (a, b) in [
            ("10.0.0.1:40000", "192.0.2.7:3333"),
            ("[2001:db8::1]:40000", "[2001:db8::2]:3333"),
        ] {
            let (a, b) = (a.parse().unwrap(), b.parse().unwrap());
            let f = fb.tcp(a, b, 7, 9, tcp_flags::PSH | tcp_flags::ACK, b"hello");
            let Frame::Ip(d) = decode(linktype::ETHERNET, &f).unwrap() else {
                panic!("not ip")
            };
            assert_eq!((d.src, d.dst), (a.ip(), b.ip()));
            assert_eq!(
                d.transport,
                Transport::Tcp {
                    src_port: 40000,
                    dst_port: 3333,
                    seq: 7,
                    flags: 0x18,
                    payload: b"hello"
                }
            );
            let u = fb.udp(a, b, b"q");
            let Frame::Ip(d) = decode(linktype::ETHERNET, &u).unwrap() else {
                panic!("not ip")
            };
            assert!(matches!(d.transport, Transport::Udp { payload: b"q", .. }));
        }
    }

    #[test]
    fn cooked_raw_and_vlan() {
        let mut fb = FrameBuilder::new();
        let a = "10.0.0.1:5000".parse().unwrap();
        let b = "10.0.0.2:3333".parse().unwrap();
        let eth = fb.tcp(a, b, 1, 1, tcp_flags::ACK, b"{}");
        let ip = &eth[14..];
        let want = decode(linktype::ETHERNET, &eth).unwrap();
        // Linux cooked v1: 16-byte header, protocol at 14.
        let mut sll = vec![0, 0, 3, 4, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(ip);
        assert_eq!(decode(linktype::LINUX_SLL, &sll).unwrap(), want);
        // Linux cooked v2: 20-byte header, protocol first.
        let mut sll2 = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 1, 3, 4, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
        ];
        sll2.extend_from_slice(ip);
        assert_eq!(decode(linktype::LINUX_SLL2, &sll2).unwrap(), want);
        assert_eq!(decode(linktype::RAW, ip).unwrap(), want);
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(ip);
        assert_eq!(decode(linktype::NULL, &null).unwrap(), want);
        // 802.1Q tag between MACs and ethertype.
        let mut vlan = eth[..12].to_vec();
        vlan.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
        vlan.extend_from_slice(&eth[12..]);
        assert_eq!(decode(linktype::ETHERNET, &vlan).unwrap(), want);
    }

    #[test]
    fn lies_are_malformed() {
        let mut fb = FrameBuilder::new();
        let a = "10.0.0.1:1".parse().unwrap();
        let b = "10.0.0.2:2".parse().unwrap();
        let mut f = fb.tcp(a, b, 1, 1, 0x10, b"x");
        f[14 + 20 + 12] = 0xf0; // data offset 60 bytes beyond the segment
        assert!(decode(linktype::ETHERNET, &f).is_err());
        assert!(decode(linktype::ETHERNET, &f[..20]).is_err());
        assert_eq!(
            decode(linktype::ETHERNET, &[0u8; 3]),
            Err(Malformed("ethernet header truncated"))
        );
        assert_eq!(decode(9999, &[1, 2, 3]), Ok(Frame::Other));
    }
}
