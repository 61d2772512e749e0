//! Address encodings, decode-and-check only: base58 (Bitcoin and Ripple
//! alphabets) with the double-SHA-256 checksum, bech32/bech32m and CashAddr
//! checksums. Nothing here allocates; everything returns `None` or `false` on
//! bad input and never panics.

use sha2::{Digest, Sha256};

/// The Bitcoin base58 alphabet.
pub(crate) const BTC_ALPHABET: &[u8; 58] =
    b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
/// The Ripple base58 alphabet.
pub(crate) const XRP_ALPHABET: &[u8; 58] =
    b"rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz";

/// Longest base58 string decoded (a 64-byte payload is 88 characters).
const MAX_B58: usize = 90;
/// Bytes of the decode buffer.
const BUF: usize = 72;

/// A reverse table for one alphabet: 255 marks a byte outside it.
const fn reverse(alphabet: &[u8; 58]) -> [u8; 128] {
    let mut t = [255u8; 128];
    let mut i = 0;
    while i < 58 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
}

const BTC_REV: [u8; 128] = reverse(BTC_ALPHABET);
const XRP_REV: [u8; 128] = reverse(XRP_ALPHABET);

/// Decoded base58 bytes (a fixed buffer and its length).
pub(crate) struct Decoded {
    buf: [u8; BUF],
    len: usize,
}

impl Decoded {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[BUF - self.len..]
    }
}

/// Decodes base58 with the given alphabet; `None` on a foreign character or
/// an over-long string.
pub(crate) fn base58_decode(s: &str, ripple: bool) -> Option<Decoded> {
    let rev = if ripple { &XRP_REV } else { &BTC_REV };
    let zero = if ripple { b'r' } else { b'1' };
    let bytes = s.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_B58 {
        return None;
    }
    // Big-endian base-2^32 limbs, least significant last.
    let mut limbs = [0u32; BUF / 4];
    let mut used = 0usize; // limbs in use, counted from the end
    for &c in bytes {
        let d = *rev.get(usize::from(c))?;
        if d == 255 {
            return None;
        }
        let mut carry = u64::from(d);
        for limb in limbs.iter_mut().rev().take(used) {
            let v = u64::from(*limb) * 58 + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            if used == limbs.len() {
                return None;
            }
            used += 1;
            let i = limbs.len() - used;
            limbs[i] = carry as u32;
        }
    }
    let mut out = Decoded {
        buf: [0; BUF],
        len: 0,
    };
    for (i, limb) in limbs.iter().enumerate() {
        out.buf[i * 4..i * 4 + 4].copy_from_slice(&limb.to_be_bytes());
    }
    let significant = out.buf.iter().position(|&b| b != 0).map_or(0, |p| BUF - p);
    let leading = bytes.iter().take_while(|&&c| c == zero).count();
    let len = significant + leading;
    if len > BUF {
        return None;
    }
    out.len = len;
    Some(out)
}

/// Decodes base58check: the payload (version bytes included) when the last
/// four bytes are the first four of the payload's double SHA-256.
pub(crate) fn base58check(s: &str, ripple: bool) -> Option<(Decoded, usize)> {
    let d = base58_decode(s, ripple)?;
    let b = d.bytes();
    if b.len() < 5 {
        return None;
    }
    let (payload, check) = b.split_at(b.len() - 4);
    let h = Sha256::digest(Sha256::digest(payload));
    if h[..4] != *check {
        return None;
    }
    let n = payload.len();
    Some((d, n))
}

const BECH32_CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

const BECH32_REV: [u8; 128] = {
    let mut t = [255u8; 128];
    let mut i = 0;
    while i < 32 {
        let c = BECH32_CHARSET[i];
        t[c as usize] = i as u8;
        t[c.to_ascii_uppercase() as usize] = i as u8;
        i += 1;
    }
    t
};

fn bech32_value(c: u8) -> Option<u8> {
    match BECH32_REV.get(usize::from(c)) {
        Some(&v) if v != 255 => Some(v),
        _ => None,
    }
}

/// True when every letter of `s` has the same case (bech32 and CashAddr
/// forbid mixing).
pub(crate) fn single_case(s: &str) -> bool {
    let lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let upper = s.bytes().any(|b| b.is_ascii_uppercase());
    !(lower && upper)
}

/// Checks a bech32 or bech32m string; returns its human-readable part
/// (lower-case) and the data length in 5-bit groups (checksum excluded).
pub(crate) fn bech32_check(s: &str) -> Option<(String, usize)> {
    if s.len() < 8 || s.len() > 90 || !single_case(s) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let sep = lower.rfind('1')?;
    let (hrp, data) = (&lower[..sep], &lower[sep + 1..]);
    if hrp.is_empty() || data.len() < 6 || !hrp.bytes().all(|b| (33..=126).contains(&b)) {
        return None;
    }
    let mut chk: u32 = 1;
    let step = |chk: &mut u32, v: u8| {
        let top = *chk >> 25;
        *chk = ((*chk & 0x1ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in [
            0x3b6a_57b2u32,
            0x2650_8e6d,
            0x1ea1_19fa,
            0x3d42_33dd,
            0x2a14_62b3,
        ]
        .iter()
        .enumerate()
        {
            if (top >> i) & 1 == 1 {
                *chk ^= g;
            }
        }
    };
    for b in hrp.bytes() {
        step(&mut chk, b >> 5);
    }
    step(&mut chk, 0);
    for b in hrp.bytes() {
        step(&mut chk, b & 31);
    }
    for c in data.bytes() {
        step(&mut chk, bech32_value(c)?);
    }
    // bech32 (BIP-173) or bech32m (BIP-350)
    if chk == 1 || chk == 0x2bc8_30a3 {
        Some((hrp.to_owned(), data.len() - 6))
    } else {
        None
    }
}

/// Checks a CashAddr payload (without prefix) against `prefix`.
pub(crate) fn cashaddr_check(prefix: &str, payload: &str) -> bool {
    if payload.len() < 9 || !single_case(payload) {
        return false;
    }
    let mut c: u64 = 1;
    let step = |c: &mut u64, d: u8| {
        let c0 = (*c >> 35) as u8;
        *c = ((*c & 0x07_ffff_ffff) << 5) ^ u64::from(d);
        if c0 & 0x01 != 0 {
            *c ^= 0x98_f2bc_8e61;
        }
        if c0 & 0x02 != 0 {
            *c ^= 0x79_b76d_99e2;
        }
        if c0 & 0x04 != 0 {
            *c ^= 0xf3_3e5f_b3c4;
        }
        if c0 & 0x08 != 0 {
            *c ^= 0xae_2eab_e2a8;
        }
        if c0 & 0x10 != 0 {
            *c ^= 0x1e_4f43_e470;
        }
    };
    for b in prefix.bytes() {
        step(&mut c, b & 0x1f);
    }
    step(&mut c, 0);
    for ch in payload.bytes() {
        match bech32_value(ch) {
            Some(v) => step(&mut c, v),
            None => return false,
        }
    }
    c ^ 1 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base58check_known() {
        let (d, n) = base58check("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", false).unwrap();
        assert_eq!(n, 21);
        assert_eq!(d.bytes()[0], 0);
        assert!(base58check("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", false).is_none());
        let (d, _) = base58check("TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7", false).unwrap();
        assert_eq!(d.bytes()[0], 0x41);
        let (d, n) = base58check("rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66", true).unwrap();
        assert_eq!((d.bytes()[0], n), (0, 21));
        assert!(base58_decode("0OIl", false).is_none());
        assert!(base58_decode("", false).is_none());
        assert!(base58_decode(&"z".repeat(200), false).is_none());
    }

    #[test]
    fn leading_zeros_are_kept() {
        let d = base58_decode("111", false).unwrap();
        assert_eq!(d.bytes(), &[0, 0, 0]);
    }

    #[test]
    fn bech32_known() {
        assert_eq!(
            bech32_check("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
            Some(("bc".into(), 33))
        );
        assert!(bech32_check("BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ").is_some());
        assert!(bech32_check("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr").is_none());
        assert!(bech32_check("Bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq").is_none());
        // taproot (bech32m)
        assert!(
            bech32_check("bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297")
                .is_some()
        );
    }

    #[test]
    fn cashaddr_known() {
        assert!(cashaddr_check(
            "bitcoincash",
            "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"
        ));
        assert!(!cashaddr_check(
            "bitcoincash",
            "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6b"
        ));
    }
}
