//! Writing captures: pcap and pcapng writers, and [`FrameBuilder`], which
//! turns bytes really exchanged over a socket into Ethernet/IP/TCP or UDP
//! frames with correct lengths, sequence numbers and checksums, as a
//! capture on the wire would show them. Used by the tests (which record a
//! live Stratum session on 127.0.0.1), the benchmark and the fuzz seeds.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};

use super::capture::linktype;

/// Writes a classic pcap file (microsecond timestamps, little-endian).
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header for `linktype`.
    pub fn new(mut out: W, linktype: u32) -> io::Result<PcapWriter<W>> {
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&262_144u32.to_le_bytes())?;
        out.write_all(&linktype.to_le_bytes())?;
        Ok(PcapWriter { out })
    }

    /// Appends one packet captured at `ts_ns` (nanoseconds since the epoch).
    pub fn packet(&mut self, ts_ns: i64, data: &[u8]) -> io::Result<()> {
        let ts = ts_ns.max(0) as u64;
        let len = u32::try_from(data.len()).map_err(io::Error::other)?;
        self.out
            .write_all(&((ts / 1_000_000_000) as u32).to_le_bytes())?;
        self.out
            .write_all(&((ts % 1_000_000_000 / 1000) as u32).to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(data)
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Writes a pcapng file: one section, one interface, nanosecond
/// timestamps, enhanced packet blocks.
pub struct PcapngWriter<W: Write> {
    out: W,
}

fn pad4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the section header and one interface description.
    pub fn new(mut out: W, linktype: u32) -> io::Result<PcapngWriter<W>> {
        // Section header block, no options.
        out.write_all(&0x0a0d_0d0au32.to_le_bytes())?;
        out.write_all(&28u32.to_le_bytes())?;
        out.write_all(&0x1a2b_3c4du32.to_le_bytes())?;
        out.write_all(&1u16.to_le_bytes())?;
        out.write_all(&0u16.to_le_bytes())?;
        out.write_all(&(-1i64).to_le_bytes())?;
        out.write_all(&28u32.to_le_bytes())?;
        // Interface description block with if_tsresol = 9 (nanoseconds).
        let total = 20u32 + 8 + 4;
        out.write_all(&1u32.to_le_bytes())?;
        out.write_all(&total.to_le_bytes())?;
        out.write_all(&(linktype as u16).to_le_bytes())?;
        out.write_all(&0u16.to_le_bytes())?;
        out.write_all(&262_144u32.to_le_bytes())?;
        out.write_all(&9u16.to_le_bytes())?;
        out.write_all(&1u16.to_le_bytes())?;
        out.write_all(&[9, 0, 0, 0])?;
        out.write_all(&0u32.to_le_bytes())?; // opt_endofopt
        out.write_all(&total.to_le_bytes())?;
        Ok(PcapngWriter { out })
    }

    /// Appends one packet captured at `ts_ns`.
    pub fn packet(&mut self, ts_ns: i64, data: &[u8]) -> io::Result<()> {
        let ts = ts_ns.max(0) as u64;
        let len = u32::try_from(data.len()).map_err(io::Error::other)?;
        let total = 32 + pad4(data.len()) as u32;
        self.out.write_all(&6u32.to_le_bytes())?;
        self.out.write_all(&total.to_le_bytes())?;
        self.out.write_all(&0u32.to_le_bytes())?;
        self.out.write_all(&((ts >> 32) as u32).to_le_bytes())?;
        self.out.write_all(&(ts as u32).to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(data)?;
        self.out
            .write_all(&[0u8; 3][..pad4(data.len()) - data.len()])?;
        self.out.write_all(&total.to_le_bytes())
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The link type [`FrameBuilder`] produces.
pub const FRAME_LINKTYPE: u32 = linktype::ETHERNET;

fn checksum_add(mut sum: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn checksum_fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// TCP flags.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// Builds Ethernet frames carrying IPv4/IPv6 and TCP/UDP.
#[derive(Clone, Debug, Default)]
pub struct FrameBuilder {
    ip_id: u16,
}

impl FrameBuilder {
    /// A builder.
    pub fn new() -> FrameBuilder {
        FrameBuilder::default()
    }

    fn frame(&mut self, src: IpAddr, dst: IpAddr, proto: u8, l4: &[u8]) -> Vec<u8> {
        let mut f = Vec::with_capacity(14 + 40 + l4.len());
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 2]); // dst MAC
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 1]); // src MAC
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                f.extend_from_slice(&0x0800u16.to_be_bytes());
                let total = (20 + l4.len()) as u16;
                self.ip_id = self.ip_id.wrapping_add(1);
                let mut ip = [0u8; 20];
                ip[0] = 0x45;
                ip[2..4].copy_from_slice(&total.to_be_bytes());
                ip[4..6].copy_from_slice(&self.ip_id.to_be_bytes());
                ip[6] = 0x40; // don't fragment
                ip[8] = 64;
                ip[9] = proto;
                ip[12..16].copy_from_slice(&s.octets());
                ip[16..20].copy_from_slice(&d.octets());
                let c = checksum_fold(checksum_add(0, &ip));
                ip[10..12].copy_from_slice(&c.to_be_bytes());
                f.extend_from_slice(&ip);
            }
            (s, d) => {
                let s = match s {
                    IpAddr::V4(a) => a.to_ipv6_mapped(),
                    IpAddr::V6(a) => a,
                };
                let d = match d {
                    IpAddr::V4(a) => a.to_ipv6_mapped(),
                    IpAddr::V6(a) => a,
                };
                f.extend_from_slice(&0x86ddu16.to_be_bytes());
                let mut ip = [0u8; 40];
                ip[0] = 0x60;
                ip[4..6].copy_from_slice(&(l4.len() as u16).to_be_bytes());
                ip[6] = proto;
                ip[7] = 64;
                ip[8..24].copy_from_slice(&s.octets());
                ip[24..40].copy_from_slice(&d.octets());
                f.extend_from_slice(&ip);
            }
        }
        f.extend_from_slice(l4);
        f
    }

    fn pseudo_sum(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u32 {
        let mut sum = 0;
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                sum = checksum_add(sum, &s.octets());
                sum = checksum_add(sum, &d.octets());
            }
            (s, d) => {
                let s = match s {
                    IpAddr::V4(a) => a.to_ipv6_mapped(),
                    IpAddr::V6(a) => a,
                };
                let d = match d {
                    IpAddr::V4(a) => a.to_ipv6_mapped(),
                    IpAddr::V6(a) => a,
                };
                sum = checksum_add(sum, &s.octets());
                sum = checksum_add(sum, &d.octets());
            }
        }
        sum + u32::from(proto) + len as u32
    }

    /// A TCP segment from `src` to `dst`.
    pub fn tcp(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut t = vec![0u8; 20 + payload.len()];
        t[0..2].copy_from_slice(&src.port().to_be_bytes());
        t[2..4].copy_from_slice(&dst.port().to_be_bytes());
        t[4..8].copy_from_slice(&seq.to_be_bytes());
        t[8..12].copy_from_slice(&ack.to_be_bytes());
        t[12] = 5 << 4;
        t[13] = flags;
        t[14..16].copy_from_slice(&65535u16.to_be_bytes());
        t[20..].copy_from_slice(payload);
        let sum = Self::pseudo_sum(src.ip(), dst.ip(), 6, t.len());
        let c = checksum_fold(checksum_add(sum, &t));
        t[16..18].copy_from_slice(&c.to_be_bytes());
        self.frame(src.ip(), dst.ip(), 6, &t)
    }

    /// A UDP datagram from `src` to `dst`.
    pub fn udp(&mut self, src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
        let mut u = vec![0u8; 8 + payload.len()];
        u[0..2].copy_from_slice(&src.port().to_be_bytes());
        u[2..4].copy_from_slice(&dst.port().to_be_bytes());
        let ulen = u.len() as u16;
        u[4..6].copy_from_slice(&ulen.to_be_bytes());
        u[8..].copy_from_slice(payload);
        let sum = Self::pseudo_sum(src.ip(), dst.ip(), 17, u.len());
        let c = checksum_fold(checksum_add(sum, &u));
        u[6..8].copy_from_slice(&c.to_be_bytes());
        self.frame(src.ip(), dst.ip(), 17, &u)
    }
}

/// One TCP connection's frames, built from the bytes each side sent, in
/// order: handshake, data (split at `mss`), each acknowledged, and FINs.
#[derive(Debug)]
pub struct TcpSession {
    builder: FrameBuilder,
    client: SocketAddr,
    server: SocketAddr,
    client_seq: u32,
    server_seq: u32,
    mss: usize,
    /// Frames so far, with their timestamps.
    pub frames: Vec<(i64, Vec<u8>)>,
    clock_ns: i64,
}

impl TcpSession {
    /// Starts a connection (three-way handshake) at `start_ns`.
    pub fn open(client: SocketAddr, server: SocketAddr, start_ns: i64, mss: usize) -> TcpSession {
        let mut s = TcpSession {
            builder: FrameBuilder::new(),
            client,
            server,
            client_seq: 0x1000_0000,
            server_seq: 0x7000_0000,
            mss: mss.max(1),
            frames: Vec::new(),
            clock_ns: start_ns,
        };
        use tcp_flags::*;
        let (c, sv) = (s.client_seq, s.server_seq);
        s.push(true, c, 0, SYN, &[]);
        s.push(false, sv, c + 1, SYN | ACK, &[]);
        s.client_seq += 1;
        s.server_seq += 1;
        let (c, sv) = (s.client_seq, s.server_seq);
        s.push(true, c, sv, ACK, &[]);
        s
    }

    fn push(&mut self, from_client: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) {
        self.clock_ns += 1_000_000;
        let (src, dst) = if from_client {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let f = self.builder.tcp(src, dst, seq, ack, flags, payload);
        self.frames.push((self.clock_ns, f));
    }

    /// Bytes sent by the client (`true`) or the server, split into segments
    /// of at most the MSS, each acknowledged by the other side.
    pub fn send(&mut self, from_client: bool, data: &[u8]) {
        use tcp_flags::*;
        for chunk in data.chunks(self.mss) {
            let (seq, ack) = if from_client {
                (self.client_seq, self.server_seq)
            } else {
                (self.server_seq, self.client_seq)
            };
            self.push(from_client, seq, ack, PSH | ACK, chunk);
            let n = chunk.len() as u32;
            if from_client {
                self.client_seq = self.client_seq.wrapping_add(n);
            } else {
                self.server_seq = self.server_seq.wrapping_add(n);
            }
            let (seq, ack) = if from_client {
                (self.server_seq, self.client_seq)
            } else {
                (self.client_seq, self.server_seq)
            };
            self.push(!from_client, seq, ack, ACK, &[]);
        }
    }

    /// Closes both directions (FIN, FIN, ACK).
    pub fn close(&mut self) {
        use tcp_flags::*;
        let (c, s) = (self.client_seq, self.server_seq);
        self.push(true, c, s, FIN | ACK, &[]);
        self.push(false, s, c + 1, FIN | ACK, &[]);
        self.push(true, c + 1, s + 1, ACK, &[]);
    }
}
