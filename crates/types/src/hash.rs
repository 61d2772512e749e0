//! 32-byte hashes (txids, block hashes) in internal byte order.

use std::fmt;

/// A 32-byte hash kept in internal (little-endian, on-the-wire) byte order.
/// Its hex form, as block explorers show it, is byte-reversed.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash32(pub [u8; 32]);

/// A hex string that is not a 64-digit hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexError {
    /// The offending input.
    pub input: String,
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a 64-digit hex hash: {:?}", self.input)
    }
}

impl std::error::Error for HexError {}

impl Hash32 {
    /// Parses the display (byte-reversed) hex form.
    pub fn from_display_hex(s: &str) -> Result<Hash32, HexError> {
        let err = || HexError {
            input: s.to_string(),
        };
        let b = s.as_bytes();
        if b.len() != 64 {
            return Err(err());
        }
        let mut out = [0u8; 32];
        for i in 0..32 {
            let hi = hex_val(b[2 * i]).ok_or_else(err)?;
            let lo = hex_val(b[2 * i + 1]).ok_or_else(err)?;
            out[31 - i] = (hi << 4) | lo;
        }
        Ok(Hash32(out))
    }

    /// The display (byte-reversed) hex form.
    pub fn to_display_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for byte in self.0.iter().rev() {
            s.push(DIGITS[(byte >> 4) as usize] as char);
            s.push(DIGITS[(byte & 15) as usize] as char);
        }
        s
    }

    /// The first eight bytes as an integer: hashes are uniform, so this is a
    /// good hash-table key.
    #[inline]
    pub fn prefix_u64(&self) -> u64 {
        u64::from_le_bytes(self.0[..8].try_into().expect("32 > 8"))
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_display_hex())
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", self.to_display_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_hex_round_trips_reversed() {
        let s = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";
        let h = Hash32::from_display_hex(s).unwrap();
        assert_eq!(h.0[31], 0x00);
        assert_eq!(h.0[0], 0x6f);
        assert_eq!(h.to_display_hex(), s);
    }

    #[test]
    fn rejects_bad_hex() {
        assert!(Hash32::from_display_hex("zz").is_err());
        assert!(Hash32::from_display_hex(&"g".repeat(64)).is_err());
    }
}
