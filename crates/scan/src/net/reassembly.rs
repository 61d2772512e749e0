//! One direction of a TCP connection put back in order.
//!
//! Segments are placed by sequence number (with wrap-around): in-order data
//! is delivered at once, retransmitted bytes are dropped, overlapping
//! segments are trimmed, and segments from the future wait (up to
//! [`MAX_PENDING`] bytes). When the wait would exceed that, or the capture
//! ends, the missing bytes are given up as a gap and counted.

use std::collections::BTreeMap;

/// Bytes held back per direction while waiting for a missing segment.
pub const MAX_PENDING: usize = 256 << 10;
/// A segment further ahead than this is treated as not of this stream.
const MAX_AHEAD: i64 = 64 << 20;

/// A TCP byte stream being reassembled.
#[derive(Debug, Default)]
pub struct Stream {
    /// (absolute next sequence number, relative offset of it).
    next: Option<(u32, u64)>,
    /// Waiting segments by relative offset.
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    /// Bytes delivered in order.
    pub delivered: u64,
    /// Gaps given up (missing bytes never seen).
    pub gaps: u32,
    /// Bytes seen again (retransmissions and overlaps).
    pub retransmitted: u64,
}

/// What [`Stream::segment`] did besides delivering.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SegmentOutcome {
    /// A gap was given up before the delivered bytes: a consumer must not
    /// join bytes across it.
    pub gap: bool,
}

impl Stream {
    fn deliver(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if let Some((abs, rel)) = self.next.as_mut() {
            *abs = abs.wrapping_add(data.len() as u32);
            *rel += data.len() as u64;
        }
        self.delivered += data.len() as u64;
        out.extend_from_slice(data);
    }

    fn drain(&mut self, out: &mut Vec<u8>) {
        while let Some((&key, _)) = self.pending.first_key_value() {
            let Some((_, rel)) = self.next else { return };
            if key > rel {
                return;
            }
            let Some(data) = self.pending.remove(&key) else {
                return;
            };
            self.pending_bytes -= data.len();
            let skip = (rel - key) as usize;
            if skip < data.len() {
                self.retransmitted += skip as u64;
                self.deliver(&data[skip..], out);
            } else {
                self.retransmitted += data.len() as u64;
            }
        }
    }

    /// Gives up the first gap: jumps to the first waiting segment.
    fn skip_gap(&mut self, out: &mut Vec<u8>) -> bool {
        let Some((&key, _)) = self.pending.first_key_value() else {
            return false;
        };
        if let Some((abs, rel)) = self.next.as_mut() {
            if key > *rel {
                *abs = abs.wrapping_add((key - *rel) as u32);
                *rel = key;
                self.gaps += 1;
            }
        }
        self.drain(out);
        true
    }

    /// Adds a segment; in-order bytes (possibly several segments' worth) are
    /// appended to `out`.
    pub fn segment(
        &mut self,
        seq: u32,
        syn: bool,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> SegmentOutcome {
        let mut outcome = SegmentOutcome::default();
        let start = if syn { seq.wrapping_add(1) } else { seq };
        if syn && self.delivered == 0 && self.pending.is_empty() {
            self.next = Some((start, 0));
        }
        if payload.is_empty() {
            return outcome;
        }
        let (abs, rel) = *self.next.get_or_insert((start, 0));
        let mut diff = i64::from(start.wrapping_sub(abs) as i32);
        let mut payload = payload;
        if diff < 0 {
            let dup = (-diff) as usize;
            if dup >= payload.len() {
                self.retransmitted += payload.len() as u64;
                return outcome;
            }
            self.retransmitted += dup as u64;
            payload = &payload[dup..];
            diff = 0;
        }
        if diff == 0 {
            self.deliver(payload, out);
            self.drain(out);
            return outcome;
        }
        if diff > MAX_AHEAD {
            return outcome;
        }
        let key = rel + diff as u64;
        let keep = match self.pending.get(&key) {
            Some(old) => old.len() < payload.len(),
            None => true,
        };
        if keep {
            if let Some(old) = self.pending.insert(key, payload.to_vec()) {
                self.pending_bytes -= old.len();
                self.retransmitted += old.len() as u64;
            }
            self.pending_bytes += payload.len();
        } else {
            self.retransmitted += payload.len() as u64;
        }
        while self.pending_bytes > MAX_PENDING {
            outcome.gap |= self.skip_gap(out);
        }
        outcome
    }

    /// Bytes waiting for a missing segment.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// At the end of the capture: delivers what waits, across gaps. Each gap
    /// is reported to `on_gap` with the bytes before it, so that a consumer
    /// can cut there.
    pub fn flush(&mut self, out: &mut Vec<u8>, mut on_gap: impl FnMut(&mut Vec<u8>)) {
        while !self.pending.is_empty() {
            on_gap(out);
            self.skip_gap(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_out_of_order_retransmit() {
        let mut s = Stream::default();
        let mut out = Vec::new();
        s.segment(u32::MAX - 2, true, b"", &mut out);
        let isn = u32::MAX - 1; // data crosses the wrap-around
        s.segment(isn.wrapping_add(5), false, b"world", &mut out);
        assert!(out.is_empty());
        s.segment(isn, false, b"hel", &mut out);
        assert_eq!(out, b"hel");
        s.segment(isn, false, b"hello", &mut out); // overlaps: "lo" is new
        assert_eq!(out, b"helloworld");
        s.segment(isn.wrapping_add(2), false, b"llo", &mut out); // pure retransmit
        assert_eq!(out, b"helloworld");
        assert_eq!(s.delivered, 10);
        assert_eq!(s.retransmitted, 3 + 3);
    }

    #[test]
    fn gap_is_given_up() {
        let mut s = Stream::default();
        let mut out = Vec::new();
        s.segment(100, true, b"", &mut out);
        s.segment(101, false, b"ab", &mut out);
        s.segment(113, false, b"xy", &mut out); // 10 bytes never come
        let mut cuts = 0;
        s.flush(&mut out, |_| cuts += 1);
        assert_eq!((out.as_slice(), s.gaps, cuts), (&b"abxy"[..], 1, 1));
        // Too much waiting: the oldest gap goes.
        let mut s = Stream::default();
        let mut out = Vec::new();
        s.segment(0, false, b"a", &mut out);
        let big = vec![b'z'; MAX_PENDING];
        let o = s.segment(10, false, &big, &mut out);
        assert!(!o.gap);
        let o = s.segment(10 + MAX_PENDING as u32, false, b"!", &mut out);
        assert!(o.gap);
        assert_eq!(out.len(), 1 + MAX_PENDING + 1);
    }
}
