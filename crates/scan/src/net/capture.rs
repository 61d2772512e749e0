//! Streaming readers of pcap and pcapng captures.
//!
//! [`CaptureReader`] reads one record at a time into a reused buffer, so a
//! capture of any size is read in constant memory. A damaged capture is not
//! an error: the reader stops at the damage and reports where
//! ([`CaptureReader::warning`]); the packets before it have been delivered.

use std::io::{self, Read};

/// Link-layer types (tcpdump.org LINKTYPE_*) the decoder understands.
pub mod linktype {
    /// BSD loopback: a 4-byte address family in host order.
    pub const NULL: u32 = 0;
    /// Ethernet II (with optional 802.1Q tags).
    pub const ETHERNET: u32 = 1;
    /// Raw IPv4 or IPv6 (version from the first nibble).
    pub const RAW: u32 = 101;
    /// OpenBSD loopback: a 4-byte address family in network order.
    pub const LOOP: u32 = 108;
    /// Linux "cooked" capture v1 (`tcpdump -i any`).
    pub const LINUX_SLL: u32 = 113;
    /// Raw IPv4.
    pub const IPV4: u32 = 228;
    /// Raw IPv6.
    pub const IPV6: u32 = 229;
    /// Linux "cooked" capture v2.
    pub const LINUX_SLL2: u32 = 276;
}

/// A record larger than this is taken as corruption, not as a packet.
pub const MAX_RECORD: u32 = 16 << 20;

/// One captured packet, borrowed from the reader's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// 1-based frame number in the capture.
    pub number: u64,
    /// Byte offset of the record (its header) in the file.
    pub offset: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// The link-layer type ([`linktype`]).
    pub linktype: u32,
    /// Length on the wire (the captured bytes may be fewer).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// The capture's format.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// libpcap.
    Pcap,
    /// pcapng.
    Pcapng,
}

#[derive(Clone, Copy)]
struct Iface {
    linktype: u32,
    snaplen: u32,
    /// Ticks per second of the timestamps.
    ts_per_sec: u64,
}

/// Reads pcap or pcapng from any `Read` (wrap files in a `BufReader`).
pub struct CaptureReader<R> {
    inner: R,
    format: Format,
    big_endian: bool,
    nanos: bool,
    pcap_linktype: u32,
    ifaces: Vec<Iface>,
    offset: u64,
    number: u64,
    buf: Vec<u8>,
    warning: Option<(u64, String)>,
    done: bool,
}

/// Reads exactly `buf.len()` bytes; `Ok(false)` on a clean end of input
/// (nothing read), an `UnexpectedEof` error when it ends midway.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<bool> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) if n == 0 => return Ok(false),
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} of {} bytes", n, buf.len()),
                ))
            }
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn ts_per_sec(tsresol: u8) -> u64 {
    let exp = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(exp).unwrap_or(0)
    } else {
        1u64.checked_shl(exp).unwrap_or(0)
    }
}

fn ticks_to_ns(ticks: u64, per_sec: u64) -> i64 {
    if per_sec == 0 {
        return 0;
    }
    let ns = u128::from(ticks) * 1_000_000_000 / u128::from(per_sec);
    i64::try_from(ns).unwrap_or(i64::MAX)
}

/// Error of [`CaptureReader::new`]: not a capture, or unreadable.
#[derive(Debug)]
pub enum OpenError {
    /// The first bytes are no pcap or pcapng magic.
    NotACapture(Vec<u8>),
    /// Reading failed (or the file is shorter than a header).
    Io(io::Error),
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header (pcap) or first section header (pcapng).
    pub fn new(mut inner: R) -> Result<CaptureReader<R>, OpenError> {
        let mut magic = [0u8; 4];
        match read_full(&mut inner, &mut magic) {
            Ok(true) => {}
            Ok(false) => return Err(OpenError::NotACapture(Vec::new())),
            Err(e) => return Err(OpenError::Io(e)),
        }
        let mut r = CaptureReader {
            inner,
            format: Format::Pcap,
            big_endian: false,
            nanos: false,
            pcap_linktype: 0,
            ifaces: Vec::new(),
            offset: 4,
            number: 0,
            buf: Vec::new(),
            warning: None,
            done: false,
        };
        match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => {}
            [0xa1, 0xb2, 0xc3, 0xd4] => r.big_endian = true,
            [0x4d, 0x3c, 0xb2, 0xa1] => r.nanos = true,
            [0xa1, 0xb2, 0x3c, 0x4d] => (r.big_endian, r.nanos) = (true, true),
            [0x0a, 0x0d, 0x0d, 0x0a] => {
                r.format = Format::Pcapng;
                r.read_shb_rest().map_err(OpenError::Io)?;
                return Ok(r);
            }
            m => return Err(OpenError::NotACapture(m.to_vec())),
        }
        let mut hdr = [0u8; 20];
        match read_full(&mut r.inner, &mut hdr) {
            Ok(true) => {}
            Ok(false) => {
                return Err(OpenError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "pcap file header truncated",
                )))
            }
            Err(e) => return Err(OpenError::Io(e)),
        }
        r.offset += 20;
        r.pcap_linktype = r.u32(&hdr[16..20]) & 0x0fff_ffff;
        Ok(r)
    }

    /// pcap or pcapng.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Where and why reading stopped early, if it did (byte offset, reason).
    pub fn warning(&self) -> Option<&(u64, String)> {
        self.warning.as_ref()
    }

    /// The underlying reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The underlying reader, mutably (reading from it desynchronises the
    /// capture reader: only for draining it after the last packet).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn u16(&self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.big_endian {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }

    fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    fn stop(&mut self, at: u64, why: String) {
        tracing::debug!("capture stops at byte {at}: {why}");
        self.warning = Some((at, why));
        self.done = true;
    }

    /// The next packet; `None` at the end (or at damage: see
    /// [`CaptureReader::warning`]).
    pub fn next_packet(&mut self) -> Option<Packet<'_>> {
        if self.done {
            return None;
        }
        let got = match self.format {
            Format::Pcap => self.next_pcap(),
            Format::Pcapng => self.next_pcapng(),
        };
        match got {
            Some((ts_ns, linktype, orig_len, offset, len)) => Some(Packet {
                number: self.number,
                offset,
                ts_ns,
                linktype,
                orig_len,
                data: &self.buf[..len],
            }),
            None => None,
        }
    }

    fn next_pcap(&mut self) -> Option<(i64, u32, u32, u64, usize)> {
        let start = self.offset;
        let mut hdr = [0u8; 16];
        match read_full(&mut self.inner, &mut hdr) {
            Ok(true) => {}
            Ok(false) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.stop(start, format!("truncated record header ({e})"));
                return None;
            }
        }
        let sec = u64::from(self.u32(&hdr[0..4]));
        let frac = u64::from(self.u32(&hdr[4..8]));
        let incl = self.u32(&hdr[8..12]);
        let orig = self.u32(&hdr[12..16]);
        if incl > MAX_RECORD {
            self.stop(
                start,
                format!("record claims {incl} captured bytes (corrupt header); stopping"),
            );
            return None;
        }
        self.offset += 16;
        self.buf.resize(incl as usize, 0);
        if let Err(e) = read_full(&mut self.inner, &mut self.buf).and_then(|ok| {
            if ok || incl == 0 {
                Ok(())
            } else {
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no bytes"))
            }
        }) {
            self.stop(
                start,
                format!("truncated packet: record claims {incl} bytes ({e})"),
            );
            return None;
        }
        self.offset += u64::from(incl);
        self.number += 1;
        let ns = if self.nanos { frac } else { frac * 1000 };
        let ts = i64::try_from(sec * 1_000_000_000 + ns).unwrap_or(i64::MAX);
        Some((ts, self.pcap_linktype, orig, start, incl as usize))
    }

    /// After the 4-byte block type of a section header block.
    fn read_shb_rest(&mut self) -> io::Result<()> {
        let mut h = [0u8; 8];
        if !read_full(&mut self.inner, &mut h)? {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "pcapng section header truncated",
            ));
        }
        self.big_endian = match &h[4..8] {
            [0x4d, 0x3c, 0x2b, 0x1a] => false,
            [0x1a, 0x2b, 0x3c, 0x4d] => true,
            m => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("pcapng byte-order magic {m:02x?}"),
                ))
            }
        };
        let total = self.u32(&h[0..4]);
        if !(28..=MAX_RECORD).contains(&total) || !total.is_multiple_of(4) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("pcapng section header length {total}"),
            ));
        }
        let mut rest = vec![0u8; total as usize - 12];
        if !read_full(&mut self.inner, &mut rest)? {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "pcapng section header truncated",
            ));
        }
        self.offset += u64::from(total) - 4;
        self.ifaces.clear();
        Ok(())
    }

    fn next_pcapng(&mut self) -> Option<(i64, u32, u32, u64, usize)> {
        loop {
            let start = self.offset;
            let mut h = [0u8; 8];
            match read_full(&mut self.inner, &mut h) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.stop(start, format!("truncated block header ({e})"));
                    return None;
                }
            }
            if h[0..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
                // A new section: its byte order may differ.
                let mut rest = [0u8; 4];
                match read_full(&mut self.inner, &mut rest) {
                    Ok(true) => {}
                    _ => {
                        self.stop(start, "truncated section header".into());
                        return None;
                    }
                }
                self.big_endian = rest != [0x4d, 0x3c, 0x2b, 0x1a];
                let total = self.u32(&h[4..8]);
                if !(28..=MAX_RECORD).contains(&total) || !total.is_multiple_of(4) {
                    self.stop(start, format!("section header length {total}"));
                    return None;
                }
                let mut skip = vec![0u8; total as usize - 12];
                if !matches!(read_full(&mut self.inner, &mut skip), Ok(true)) {
                    self.stop(start, "truncated section header".into());
                    return None;
                }
                self.offset += u64::from(total);
                self.ifaces.clear();
                continue;
            }
            let btype = self.u32(&h[0..4]);
            let total = self.u32(&h[4..8]);
            if total < 12 || !total.is_multiple_of(4) || total > MAX_RECORD {
                self.stop(
                    start,
                    format!("block of type {btype:#x} has length {total} (corrupt)"),
                );
                return None;
            }
            self.buf.resize(total as usize - 8, 0);
            if let Err(e) = read_full(&mut self.inner, &mut self.buf).and_then(|ok| {
                if ok {
                    Ok(())
                } else {
                    Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no bytes"))
                }
            }) {
                self.stop(start, format!("truncated block of {total} bytes ({e})"));
                return None;
            }
            self.offset += u64::from(total);
            let body_len = total as usize - 12;
            if self.u32(&self.buf[body_len..body_len + 4]) != total {
                self.stop(
                    start,
                    format!("block of type {btype:#x}: trailing length differs from {total}"),
                );
                return None;
            }
            match btype {
                1 => {
                    if body_len < 8 {
                        self.stop(start, "interface description block too short".into());
                        return None;
                    }
                    let linktype = u32::from(self.u16(&self.buf[0..2]));
                    let snaplen = self.u32(&self.buf[4..8]);
                    let mut ts_per_sec = 1_000_000;
                    let mut o = 8;
                    while o + 4 <= body_len {
                        let code = self.u16(&self.buf[o..o + 2]);
                        let len = usize::from(self.u16(&self.buf[o + 2..o + 4]));
                        if code == 0 || o + 4 + len > body_len {
                            break;
                        }
                        if code == 9 && len >= 1 {
                            ts_per_sec = ts_per_sec_checked(self.buf[o + 4]);
                        }
                        o += 4 + len.div_ceil(4) * 4;
                    }
                    self.ifaces.push(Iface {
                        linktype,
                        snaplen,
                        ts_per_sec,
                    });
                }
                6 | 2 => {
                    if body_len < 20 {
                        self.stop(start, "packet block too short".into());
                        return None;
                    }
                    let iface_id = if btype == 6 {
                        self.u32(&self.buf[0..4]) as usize
                    } else {
                        usize::from(self.u16(&self.buf[0..2]))
                    };
                    let Some(iface) = self.ifaces.get(iface_id).copied() else {
                        self.stop(
                            start,
                            format!("packet names interface {iface_id}, which was not described"),
                        );
                        return None;
                    };
                    let ts = (u64::from(self.u32(&self.buf[4..8])) << 32)
                        | u64::from(self.u32(&self.buf[8..12]));
                    let caplen = self.u32(&self.buf[12..16]) as usize;
                    let orig = self.u32(&self.buf[16..20]);
                    if 20 + caplen > body_len {
                        self.stop(
                            start,
                            format!(
                                "packet claims {caplen} bytes, block holds {}",
                                body_len - 20
                            ),
                        );
                        return None;
                    }
                    self.buf.copy_within(20..20 + caplen, 0);
                    self.number += 1;
                    return Some((
                        ticks_to_ns(ts, iface.ts_per_sec),
                        iface.linktype,
                        orig,
                        start,
                        caplen,
                    ));
                }
                3 => {
                    let Some(iface) = self.ifaces.first().copied() else {
                        self.stop(start, "simple packet block before any interface".into());
                        return None;
                    };
                    if body_len < 4 {
                        self.stop(start, "simple packet block too short".into());
                        return None;
                    }
                    let orig = self.u32(&self.buf[0..4]);
                    let mut caplen = (orig as usize).min(body_len - 4);
                    if iface.snaplen != 0 {
                        caplen = caplen.min(iface.snaplen as usize);
                    }
                    self.buf.copy_within(4..4 + caplen, 0);
                    self.number += 1;
                    return Some((0, iface.linktype, orig, start, caplen));
                }
                _ => {} // statistics, name resolution, custom blocks: skipped
            }
        }
    }
}

fn ts_per_sec_checked(tsresol: u8) -> u64 {
    match ts_per_sec(tsresol) {
        0 => 1_000_000,
        n => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions() {
        assert_eq!(ts_per_sec(6), 1_000_000);
        assert_eq!(ts_per_sec(9), 1_000_000_000);
        assert_eq!(ts_per_sec(0x80 | 10), 1024);
        assert_eq!(ts_per_sec_checked(200), 1_000_000);
        assert_eq!(ticks_to_ns(1_500_000, 1_000_000), 1_500_000_000);
    }

    /// A big-endian, nanosecond pcap, written field by field.
    #[test]
    fn big_endian_nanosecond_pcap() {
        let mut f = Vec::new();
        f.extend_from_slice(&[0xa1, 0xb2, 0x3c, 0x4d]);
        f.extend_from_slice(&2u16.to_be_bytes());
        f.extend_from_slice(&4u16.to_be_bytes());
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&65535u32.to_be_bytes());
        f.extend_from_slice(&linktype::RAW.to_be_bytes());
        for (sec, ns, data) in [(10u32, 5u32, &b"abc"[..]), (11, 999_999_999, &b"de"[..])] {
            f.extend_from_slice(&sec.to_be_bytes());
            f.extend_from_slice(&ns.to_be_bytes());
            f.extend_from_slice(&(data.len() as u32).to_be_bytes());
            f.extend_from_slice(&100u32.to_be_bytes());
            f.extend_from_slice(data);
        }
        let mut r = CaptureReader::new(&f[..]).unwrap();
        let p = r.next_packet().unwrap();
        assert_eq!(
            (p.number, p.ts_ns, p.linktype, p.orig_len, p.data),
            (1, 10_000_000_005, linktype::RAW, 100, &b"abc"[..])
        );
        let p = r.next_packet().unwrap();
        assert_eq!(
            (p.offset, p.ts_ns, p.data),
            (24 + 16 + 3, 11_999_999_999, &b"de"[..])
        );
        assert!(r.next_packet().is_none());
        assert!(r.warning().is_none());
    }

    fn block(ty: u32, body: &[u8], be: bool) -> Vec<u8> {
        let u = |x: u32| if be { x.to_be_bytes() } else { x.to_le_bytes() };
        let total = 12 + body.len() as u32;
        let mut b = u(ty).to_vec();
        b.extend_from_slice(&u(total));
        b.extend_from_slice(body);
        b.extend_from_slice(&u(total));
        b
    }

    /// Two sections of opposite byte order; an interface with microsecond
    /// default resolution and one with 2^-10 s; a simple packet block; an
    /// unknown block skipped.
    #[test]
    fn pcapng_sections_interfaces_and_blocks() {
        let mut f = Vec::new();
        // Section 1, little-endian.
        let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        f.extend(block(0x0a0d_0d0a, &shb, false));
        let mut idb = (linktype::RAW as u16).to_le_bytes().to_vec();
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&0u32.to_le_bytes());
        f.extend(block(1, &idb, false));
        f.extend(block(0x0bad, &[1, 2, 3, 4], false));
        let mut spb = 3u32.to_le_bytes().to_vec();
        spb.extend_from_slice(b"xyz\0");
        f.extend(block(3, &spb, false));
        // Section 2, big-endian, interface with if_tsresol = 2^-10.
        let mut shb = 0x1a2b_3c4du32.to_be_bytes().to_vec();
        shb.extend_from_slice(&[0, 1, 0, 0]);
        shb.extend_from_slice(&(-1i64).to_be_bytes());
        f.extend(block(0x0a0d_0d0a, &shb, true));
        let mut idb = (linktype::ETHERNET as u16).to_be_bytes().to_vec();
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&0u32.to_be_bytes());
        idb.extend_from_slice(&9u16.to_be_bytes());
        idb.extend_from_slice(&1u16.to_be_bytes());
        idb.extend_from_slice(&[0x80 | 10, 0, 0, 0]);
        idb.extend_from_slice(&[0, 0, 0, 0]);
        f.extend(block(1, &idb, true));
        let mut epb = 0u32.to_be_bytes().to_vec();
        epb.extend_from_slice(&0u32.to_be_bytes());
        epb.extend_from_slice(&2048u32.to_be_bytes()); // 2 s in 1/1024 s
        epb.extend_from_slice(&2u32.to_be_bytes());
        epb.extend_from_slice(&2u32.to_be_bytes());
        epb.extend_from_slice(b"hi\0\0");
        f.extend(block(6, &epb, true));
        let mut r = CaptureReader::new(&f[..]).unwrap();
        assert_eq!(r.format(), Format::Pcapng);
        let p = r.next_packet().unwrap();
        assert_eq!(
            (p.linktype, p.data, p.ts_ns),
            (linktype::RAW, &b"xyz"[..], 0)
        );
        let p = r.next_packet().unwrap();
        assert_eq!(
            (p.number, p.linktype, p.data, p.ts_ns),
            (2, linktype::ETHERNET, &b"hi"[..], 2_000_000_000)
        );
        assert!(r.next_packet().is_none());
        assert!(r.warning().is_none(), "{:?}", r.warning());
        // Cut anywhere: never a panic; a cut inside a block is a warning.
        for cut in 0..f.len() {
            if let Ok(mut r) = CaptureReader::new(&f[..cut]) {
                while r.next_packet().is_some() {}
            }
        }
        let mut r = CaptureReader::new(&f[..f.len() - 3]).unwrap();
        while r.next_packet().is_some() {}
        assert!(r.warning().unwrap().1.contains("truncated block"));
    }

    #[test]
    fn not_a_capture() {
        assert!(matches!(
            CaptureReader::new(&b"hello world, this is text"[..]),
            Err(OpenError::NotACapture(_))
        ));
        assert!(matches!(
            CaptureReader::new(&b"\xd4\xc3\xb2\xa1\x02\x00"[..]),
            Err(OpenError::Io(_))
        ));
    }
}
