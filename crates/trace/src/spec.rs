//! Target strings as users and API clients write them, read without the
//! store (the store lookups are [`crate::Engine::resolve`]).

use chainhound_types::Hash32;

use crate::error::{Result, TraceError};

/// What a target string names, before any lookup.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec<'a> {
    /// `e<id>` or `entity:<id>`.
    Entity(u32),
    /// A 64-hex-digit txid.
    Tx(Hash32),
    /// `txid:vout`.
    Output(Hash32, u32),
    /// Anything else: an address, to be parsed for the store's network.
    Address(&'a str),
}

/// Reads a target string (surrounding whitespace ignored). Errors name the
/// input and say why.
pub fn parse_target(s: &str) -> Result<TargetSpec<'_>> {
    let s = s.trim();
    let bad = |why: &str| TraceError::BadTarget {
        input: s.to_string(),
        why: why.to_string(),
    };
    if s.is_empty() {
        return Err(bad("empty"));
    }
    let entity = s.strip_prefix("entity:").or_else(|| {
        s.strip_prefix('e')
            .filter(|r| s.len() < 64 && r.bytes().all(|b| b.is_ascii_digit()))
    });
    if let Some(id) = entity {
        let id: u32 = id.parse().map_err(|_| bad("entity ids are numbers"))?;
        return Ok(TargetSpec::Entity(id));
    }
    let (hash, vout) = match s.split_once(':') {
        Some((h, v)) => (h, Some(v)),
        None => (s, None),
    };
    if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        let txid = Hash32::from_display_hex(hash).map_err(|_| bad("not hex"))?;
        return match vout {
            None => Ok(TargetSpec::Tx(txid)),
            Some(v) => {
                let vout: u32 = v.parse().map_err(|_| bad("vout must be a number"))?;
                Ok(TargetSpec::Output(txid, vout))
            }
        };
    }
    if vout.is_some() {
        return Err(bad("txid:vout needs a 64-hex-digit txid"));
    }
    Ok(TargetSpec::Address(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let h = "ab".repeat(32);
        assert_eq!(parse_target(" e42 ").unwrap(), TargetSpec::Entity(42));
        assert_eq!(parse_target("entity:7").unwrap(), TargetSpec::Entity(7));
        let t = Hash32::from_display_hex(&h).unwrap();
        assert_eq!(parse_target(&h).unwrap(), TargetSpec::Tx(t));
        assert_eq!(
            parse_target(&format!("{h}:3")).unwrap(),
            TargetSpec::Output(t, 3)
        );
        assert_eq!(
            parse_target("bc1qxyz").unwrap(),
            TargetSpec::Address("bc1qxyz")
        );
        for bad in [
            "",
            "  ",
            "e99999999999",
            "entity:x",
            &format!("{h}:x"),
            "abc:1",
        ] {
            assert!(parse_target(bad).is_err(), "{bad:?}");
        }
        // a txid that happens to start with e and digits is still a txid
        let e = format!("e{}", "1".repeat(63));
        assert!(matches!(parse_target(&e).unwrap(), TargetSpec::Tx(_)));
    }
}
