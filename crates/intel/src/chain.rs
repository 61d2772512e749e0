//! Which chain an address belongs to, inferred from its format, and the one
//! normalized spelling under which it is stored and looked up.
//!
//! Inference accepts a format only when its checksum holds (base58check,
//! bech32/bech32m, CashAddr); formats without a checksum are recognised by
//! shape (EVM `0x` + 40 hex, Monero, Solana's 32-byte base58). When a format
//! is shared by several chains (a `1…` address is valid on Bitcoin, Bitcoin
//! Cash and Bitcoin SV), the source's currency hint picks among them, and
//! without a usable hint the first (Bitcoin) is taken. Anything else is kept
//! with [`Chain::Unknown`], never dropped.
//!
//! Normalization depends on the string only, never on the hint, so an import
//! and a later lookup always agree: EVM addresses and bech32/CashAddr strings
//! are lower-cased (they are case-insensitive), the `bitcoincash:` prefix is
//! dropped, everything else is kept as given (base58 is case-sensitive),
//! trimmed of surrounding whitespace.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::codec::{
    base58_decode, base58check, bech32_check, cashaddr_check, single_case, BTC_ALPHABET,
};

/// A chain (or chain family) an address belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Chain {
    /// Bitcoin.
    Btc,
    /// Bitcoin Cash.
    Bch,
    /// Bitcoin SV.
    Bsv,
    /// Bitcoin Gold.
    Btg,
    /// Litecoin.
    Ltc,
    /// Dogecoin.
    Doge,
    /// Dash.
    Dash,
    /// Zcash (transparent addresses).
    Zec,
    /// Monero.
    Xmr,
    /// XRP Ledger.
    Xrp,
    /// Verge.
    Xvg,
    /// Solana.
    Sol,
    /// TRON (TRX and TRC-20 tokens such as USDT).
    Tron,
    /// Ethereum and every EVM chain (ETC, BSC, Arbitrum, …): one key, one
    /// address on all of them.
    Eth,
    /// BNB Beacon Chain (`bnb1…`).
    Bnb,
    /// A format not recognised; the address is kept as given.
    Unknown,
}

/// Every chain, in display order.
pub const ALL_CHAINS: [Chain; 16] = [
    Chain::Btc,
    Chain::Bch,
    Chain::Bsv,
    Chain::Btg,
    Chain::Ltc,
    Chain::Doge,
    Chain::Dash,
    Chain::Zec,
    Chain::Xmr,
    Chain::Xrp,
    Chain::Xvg,
    Chain::Sol,
    Chain::Tron,
    Chain::Eth,
    Chain::Bnb,
    Chain::Unknown,
];

impl Chain {
    /// The short lower-case name (`btc`, `eth`, `tron`, …, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            Chain::Btc => "btc",
            Chain::Bch => "bch",
            Chain::Bsv => "bsv",
            Chain::Btg => "btg",
            Chain::Ltc => "ltc",
            Chain::Doge => "doge",
            Chain::Dash => "dash",
            Chain::Zec => "zec",
            Chain::Xmr => "xmr",
            Chain::Xrp => "xrp",
            Chain::Xvg => "xvg",
            Chain::Sol => "sol",
            Chain::Tron => "tron",
            Chain::Eth => "eth",
            Chain::Bnb => "bnb",
            Chain::Unknown => "unknown",
        }
    }

    /// The on-disk code (stable across versions).
    pub(crate) fn code(self) -> u8 {
        ALL_CHAINS.iter().position(|&c| c == self).unwrap_or(15) as u8
    }

    /// The chain with on-disk code `code`.
    pub(crate) fn from_code(code: u8) -> Option<Chain> {
        ALL_CHAINS.get(usize::from(code)).copied()
    }

    /// The chain a source's currency or network name points to (`XBT`,
    /// `BTC`, `TRX`, `USDT`…), if it names one chain. Tokens that live on
    /// several chains (USDT, USDC) point to none: the format decides.
    pub fn from_currency(currency: &str) -> Option<Chain> {
        let c = currency.trim().to_ascii_uppercase();
        Some(match c.as_str() {
            "XBT" | "BTC" | "BITCOIN" => Chain::Btc,
            "BCH" | "BCHN" | "BITCOINCASH" => Chain::Bch,
            "BSV" => Chain::Bsv,
            "BTG" => Chain::Btg,
            "LTC" | "LITECOIN" => Chain::Ltc,
            "DOGE" => Chain::Doge,
            "DASH" => Chain::Dash,
            "ZEC" | "ZCASH" => Chain::Zec,
            "XMR" | "MONERO" => Chain::Xmr,
            "XRP" | "RIPPLE" => Chain::Xrp,
            "XVG" => Chain::Xvg,
            "SOL" | "SOLANA" => Chain::Sol,
            "TRX" | "TRON" => Chain::Tron,
            "ETH" | "ETC" | "ARB" | "BSC" | "BEP20" | "MATIC" | "POLYGON" | "AVAX" | "FTM"
            | "OP" => Chain::Eth,
            "BNB" | "BEP2" => Chain::Bnb,
            _ => return None,
        })
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Chain {
    type Err = String;

    fn from_str(s: &str) -> Result<Chain, String> {
        let l = s.trim().to_ascii_lowercase();
        ALL_CHAINS
            .iter()
            .copied()
            .find(|c| c.as_str() == l)
            .or_else(|| Chain::from_currency(&l))
            .ok_or_else(|| format!("unknown chain {s:?}"))
    }
}

/// An address in its normalized spelling, with the chain inferred for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    /// The normalized spelling (see the module docs).
    pub normalized: String,
    /// The inferred chain.
    pub chain: Chain,
}

const CASHADDR_PREFIX: &str = "bitcoincash:";

fn is_evm(s: &str) -> bool {
    s.len() == 42
        && (s.starts_with("0x") || s.starts_with("0X"))
        && s.as_bytes()[2..].iter().all(u8::is_ascii_hexdigit)
}

/// Looks like a bech32 string of a known human-readable part, or a CashAddr
/// payload: single case, data characters from the bech32 set.
fn bech32_shaped(s: &str) -> bool {
    let l = s.as_bytes();
    let known = [&b"bc1"[..], b"ltc1", b"bnb1", b"tb1", b"bcrt1"];
    let prefixed = known.iter().any(|p| {
        l.len() > p.len() && l[..p.len()].eq_ignore_ascii_case(p) && l.len() >= 14 && l.len() <= 90
    });
    prefixed && single_case(s)
}

fn cashaddr_shaped(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 42
        && matches!(b[0], b'q' | b'p' | b'Q' | b'P')
        && single_case(s)
        && b.iter()
            .all(|&c| b"qpzry9x8gf2tvdw0s3jn54khce6mua7l".contains(&c.to_ascii_lowercase()))
}

/// The normalized spelling of an address (see the module docs). Cheap: no
/// checksum is computed.
pub fn normalize(address: &str) -> Cow<'_, str> {
    let s = address.trim();
    if is_evm(s) {
        return Cow::Owned(s.to_ascii_lowercase());
    }
    if s.len() > CASHADDR_PREFIX.len()
        && s.as_bytes()[..CASHADDR_PREFIX.len()].eq_ignore_ascii_case(CASHADDR_PREFIX.as_bytes())
    {
        let rest = &s[CASHADDR_PREFIX.len()..];
        if cashaddr_shaped(rest) {
            return Cow::Owned(rest.to_ascii_lowercase());
        }
    }
    if (bech32_shaped(s) || cashaddr_shaped(s)) && s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Cow::Owned(s.to_ascii_lowercase());
    }
    Cow::Borrowed(s)
}

/// The chains a (normalized) address's format allows, most likely first.
fn candidates(s: &str) -> &'static [Chain] {
    use Chain::*;
    if is_evm(s) {
        return &[Eth];
    }
    if s.len() >= 14 && (s.starts_with("bc1") || s.starts_with("ltc1") || s.starts_with("bnb1")) {
        return match bech32_check(s) {
            Some((hrp, _)) if hrp == "bc" => &[Btc],
            Some((hrp, _)) if hrp == "ltc" => &[Ltc],
            Some((hrp, _)) if hrp == "bnb" => &[Bnb],
            _ => &[],
        };
    }
    if cashaddr_shaped(s) && cashaddr_check("bitcoincash", s) {
        return &[Bch];
    }
    if s.starts_with('r') {
        if let Some((d, 21)) = base58check(s, true) {
            if d.bytes()[0] == 0 {
                return &[Xrp];
            }
        }
    }
    let xmr_shape = (s.len() == 95 && (s.starts_with('4') || s.starts_with('8')))
        || (s.len() == 106 && s.starts_with('4'));
    if xmr_shape && s.bytes().all(|b| BTC_ALPHABET.contains(&b)) {
        return &[Xmr];
    }
    if let Some((d, n)) = base58check(s, false) {
        let b = d.bytes();
        return match (n, b[0], b.get(1).copied().unwrap_or(0)) {
            (21, 0x00, _) => &[Btc, Bch, Bsv],
            (21, 0x05, _) => &[Btc, Bch, Bsv, Ltc],
            (21, 0x30 | 0x32, _) => &[Ltc],
            (21, 0x41, _) => &[Tron],
            (21, 0x1e, _) => &[Doge, Xvg],
            (21, 0x16, _) => &[Doge],
            (21, 0x4c | 0x10, _) => &[Dash],
            (21, 0x26 | 0x17, _) => &[Btg],
            (22, 0x1c, 0xb8 | 0xbd) => &[Zec],
            _ => &[],
        };
    }
    if (32..=44).contains(&s.len()) {
        if let Some(d) = base58_decode(s, false) {
            if d.bytes().len() == 32 {
                return &[Sol];
            }
        }
    }
    &[]
}

/// Infers the chain of `address`, using the source's currency `hint` to choose
/// among chains that share a format, and normalizes it.
pub fn infer(address: &str, hint: Option<&str>) -> Address {
    let normalized = normalize(address).into_owned();
    let chain = infer_normalized(&normalized, hint);
    Address { normalized, chain }
}

/// [`infer`] for an address already in its normalized spelling.
pub(crate) fn infer_normalized(normalized: &str, hint: Option<&str>) -> Chain {
    let cands = candidates(normalized);
    let hinted = hint.and_then(Chain::from_currency);
    match (cands, hinted) {
        ([], _) => Chain::Unknown,
        (c, Some(h)) if c.contains(&h) => h,
        (c, _) => c[0],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(addr: &str, hint: Option<&str>, chain: Chain, normalized: &str) {
        let a = infer(addr, hint);
        assert_eq!(
            (a.chain, a.normalized.as_str()),
            (chain, normalized),
            "{addr}"
        );
        assert_eq!(normalize(addr), normalized, "{addr}");
    }

    #[test]
    fn formats() {
        use Chain::*;
        let eth = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
        check(eth, None, Eth, &eth.to_lowercase());
        check(eth, Some("USDT"), Eth, &eth.to_lowercase());
        let b = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
        check(b, None, Btc, b);
        check(b, Some("BCH"), Bch, b);
        check(b, Some("TRX"), Btc, b);
        check(
            "  BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ ",
            None,
            Btc,
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        );
        let t = "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7";
        check(t, Some("USDT"), Tron, t);
        check(
            "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
            None,
            Bch,
            "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
        );
        let x = "rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66";
        check(x, None, Xrp, x);
        let l = "LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb";
        check(l, None, Ltc, l);
        let z = "t1MMXtBrSp1XG38Lx9cePcNUCJj5vdWfUWL";
        check(z, None, Zec, z);
        let d = "XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz2";
        check(d, None, Dash, d);
        let g = "GPwg61XoHqQPNmAucFACuQ5H9sGCDv9TpS";
        check(g, None, Btg, g);
        let v = "DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z";
        check(v, Some("XVG"), Xvg, v);
        let s = "42RLPACwZPx3vYYmxSueqsogfynBDqXK298EDsNoyoHi";
        check(s, None, Sol, s);
        let m = "49HqitRzdnhYjgTEAhgGpCfsjdTeMbUTU6cyR4JV1R7k2Eej9rGT8JpFiYDa4tZM6RZiFrHmMzgSrhHEqpDYKBe5B2ufNsL";
        check(m, None, Xmr, m);
        let n = "bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23";
        check(n, None, Bnb, n);
        // kept, never dropped
        check("not an address", None, Unknown, "not an address");
        check("eosbetdice11", Some("EOS"), Unknown, "eosbetdice11");
        // a flipped checksum character is not Bitcoin
        check(
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
            None,
            Unknown,
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
        );
    }

    #[test]
    fn names_round_trip() {
        for c in ALL_CHAINS {
            assert_eq!(c.as_str().parse::<Chain>(), Ok(c));
            assert_eq!(Chain::from_code(c.code()), Some(c));
        }
        assert_eq!("XBT".parse::<Chain>(), Ok(Chain::Btc));
    }
}
