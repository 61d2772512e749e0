//! Address spelling: `0x` + 40 hex digits; EIP-55 checksums are checked
//! where the case is mixed.
//!
//! An all-lower-case or all-upper-case address carries no checksum and is
//! accepted as is. A mixed-case one is an EIP-55 checksum and must be
//! right: a wrong one is a typo, and a typo in a sanctions screening is a
//! missed hit. Lookups then compare addresses as bytes, so case never
//! matters for matching.

use crate::types::Address;

/// Parses an address, validating the EIP-55 checksum of a mixed-case one.
pub fn parse(s: &str) -> Result<Address, String> {
    let s = s.trim();
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| format!("{s:?} is not a 0x address"))?;
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{s:?} is not 0x followed by 40 hex digits"));
    }
    let a: Address = hex
        .parse()
        .map_err(|e| format!("{s:?} is not an address: {e}"))?;
    let upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    let lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    if upper && lower {
        let want = a.to_checksum(None);
        if want[2..] != *hex {
            return Err(format!(
                "{s:?} fails its EIP-55 checksum (mixed case; expected {want})"
            ));
        }
    }
    Ok(a)
}

/// The EIP-55 spelling of an address.
pub fn checksummed(a: &Address) -> String {
    a.to_checksum(None)
}

/// The lower-case spelling, as the attribution store keys EVM addresses.
pub fn lower(a: &Address) -> String {
    format!("{a:#x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eip55_examples() {
        // The EIP-55 test vectors.
        for s in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let a = parse(s).unwrap();
            assert_eq!(checksummed(&a), s);
            assert_eq!(parse(&s.to_ascii_lowercase()).unwrap(), a);
            assert_eq!(
                parse(&format!("0x{}", s[2..].to_ascii_uppercase())).unwrap(),
                a
            );
        }
        let bad = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
        assert!(parse(bad).unwrap_err().contains("EIP-55"));
        assert!(parse("0x123").is_err());
        assert!(parse("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").is_err());
        assert!(parse("0xzaaeb6053f3e94c9b9a09f33669435e7ef1beaed").is_err());
        assert_eq!(
            lower(&parse(bad.to_ascii_lowercase().as_str()).unwrap()),
            bad.to_ascii_lowercase()
        );
    }
}
