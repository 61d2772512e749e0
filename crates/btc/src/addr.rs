//! Address identity: locking script → [`AddrKey`] → address string, and back.

use bitcoin::address::{Address, AddressData, KnownHrp, NetworkUnchecked};
use bitcoin::hashes::{hash160, sha256, Hash as _};
use bitcoin::{PubkeyHash, Script, ScriptHash, WitnessProgram, WitnessVersion};
use chainhound_types::{AddrKey, AddrKind};

use crate::error::{AddressError, AddressErrorKind, BtcError};
use crate::network::Network;

const OP_0: u8 = 0x00;
const OP_1: u8 = 0x51;
const OP_16: u8 = 0x60;
const OP_RETURN: u8 = 0x6a;
const OP_DUP: u8 = 0x76;
const OP_EQUAL: u8 = 0x87;
const OP_EQUALVERIFY: u8 = 0x88;
const OP_HASH160: u8 = 0xa9;
const OP_CHECKSIG: u8 = 0xac;
const OP_CHECKMULTISIG: u8 = 0xae;

/// The address identity of a locking script.
///
/// * P2PKH → `PubkeyHash`; P2PK (a push of exactly 33 or 65 bytes, then
///   `OP_CHECKSIG`; the key need not be a valid curve point) → `PubkeyHash`
///   of HASH160(key), so P2PK coins show under their P2PKH address as
///   explorers show them;
/// * P2SH, P2WPKH, P2WSH, P2TR → their hash or program;
/// * bare multisig (`OP_m <33/65-byte keys> OP_n OP_CHECKMULTISIG`,
///   1 ≤ m ≤ n ≤ 16) → `Multisig`, anything starting with `OP_RETURN` →
///   `OpReturn`, and everything else (including witness v2–16, v1 programs
///   that are not 32 bytes, and the empty script) → `NonStandard`; these three
///   carry SHA256(script).
pub fn classify(script: &Script) -> AddrKey {
    let s = script.as_bytes();
    match s.len() {
        25 if s[0] == OP_DUP
            && s[1] == OP_HASH160
            && s[2] == 20
            && s[23] == OP_EQUALVERIFY
            && s[24] == OP_CHECKSIG =>
        {
            return key(AddrKind::PubkeyHash, &s[3..23]);
        }
        23 if s[0] == OP_HASH160 && s[1] == 20 && s[22] == OP_EQUAL => {
            return key(AddrKind::ScriptHash, &s[2..22]);
        }
        22 if s[0] == OP_0 && s[1] == 20 => {
            return key(AddrKind::WitnessPubkeyHash, &s[2..]);
        }
        34 if s[0] == OP_0 && s[1] == 32 => {
            return key(AddrKind::WitnessScriptHash, &s[2..]);
        }
        34 if s[0] == OP_1 && s[1] == 32 => return key(AddrKind::Taproot, &s[2..]),
        35 | 67 if usize::from(s[0]) == s.len() - 2 && s[s.len() - 1] == OP_CHECKSIG => {
            let h = hash160::Hash::hash(&s[1..s.len() - 1]);
            return key(AddrKind::PubkeyHash, h.as_byte_array());
        }
        _ => {}
    }
    let kind = if s.first() == Some(&OP_RETURN) {
        AddrKind::OpReturn
    } else if is_bare_multisig(s) {
        AddrKind::Multisig
    } else {
        AddrKind::NonStandard
    };
    AddrKey {
        kind,
        payload: sha256::Hash::hash(s).to_byte_array(),
    }
}

/// `AddrKey::new` without its length assertion, inlined into the hot path.
#[inline]
fn key(kind: AddrKind, payload: &[u8]) -> AddrKey {
    let mut p = [0u8; 32];
    p[..payload.len()].copy_from_slice(payload);
    AddrKey { kind, payload: p }
}

/// [`classify`] for raw script bytes, for callers without rust-bitcoin.
pub fn classify_bytes(script: &[u8]) -> AddrKey {
    classify(Script::from_bytes(script))
}

fn is_bare_multisig(s: &[u8]) -> bool {
    let (Some(&m), Some(&OP_CHECKMULTISIG)) = (s.first(), s.last()) else {
        return false;
    };
    if !(OP_1..=OP_16).contains(&m) || s.len() < 3 {
        return false;
    }
    let mut i = 1;
    let mut keys = 0u8;
    while i < s.len() - 2 {
        let push = usize::from(s[i]);
        if push != 33 && push != 65 {
            return false;
        }
        i += 1 + push;
        keys += 1;
    }
    if i != s.len() - 2 {
        return false;
    }
    let n = s[i];
    (OP_1..=OP_16).contains(&n) && n - OP_1 + 1 == keys && m <= n
}

/// The address string of a key: base58 (P2PKH, P2SH), bech32 (v0) or
/// bech32m (taproot) exactly as block explorers show them; for the
/// script-hash kinds a pseudo-address `multisig-<hex>`, `opreturn-<hex>` or
/// `script-<hex>` with the SHA256 in natural byte order.
pub fn render(key: &AddrKey, network: Network) -> String {
    let net = network.to_bitcoin();
    let h20: [u8; 20] = key.payload[..20].try_into().expect("20 bytes inside 32");
    let program = |v: WitnessVersion, p: &[u8]| {
        let wp = WitnessProgram::new(v, p).expect("20 or 32 bytes is a valid program length");
        Address::from_witness_program(wp, KnownHrp::from(net)).to_string()
    };
    match key.kind {
        AddrKind::PubkeyHash => Address::p2pkh(PubkeyHash::from_byte_array(h20), net).to_string(),
        AddrKind::ScriptHash => {
            Address::p2sh_from_hash(ScriptHash::from_byte_array(h20), net).to_string()
        }
        AddrKind::WitnessPubkeyHash => program(WitnessVersion::V0, &h20),
        AddrKind::WitnessScriptHash => program(WitnessVersion::V0, &key.payload),
        AddrKind::Taproot => program(WitnessVersion::V1, &key.payload),
        AddrKind::Multisig => pseudo("multisig-", &key.payload),
        AddrKind::OpReturn => pseudo("opreturn-", &key.payload),
        AddrKind::NonStandard => pseudo("script-", &key.payload),
    }
}

fn pseudo(prefix: &str, payload: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(prefix.len() + 64);
    s.push_str(prefix);
    for b in payload {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Parses an address string for `network` into its key: the inverse of
/// [`render`]. Checks the base58 or bech32/bech32m checksum and the
/// network prefix; bech32 may be all lower or all upper case (BIP173 forbids
/// mixing). Valid addresses of other witness versions give the
/// `NonStandard` key that [`classify`] gives their script.
pub fn parse_address(s: &str, network: Network) -> Result<AddrKey, BtcError> {
    let fail = |kind| BtcError::Address {
        input: s.to_string(),
        network,
        source: AddressError::new(kind),
    };
    for (prefix, kind) in [
        ("multisig-", AddrKind::Multisig),
        ("opreturn-", AddrKind::OpReturn),
        ("script-", AddrKind::NonStandard),
    ] {
        if let Some(hex) = s.strip_prefix(prefix) {
            let payload = parse_hex32(hex).ok_or_else(|| fail(AddressErrorKind::BadPseudoHex))?;
            return Ok(AddrKey { kind, payload });
        }
    }
    let unchecked: Address<NetworkUnchecked> =
        s.parse().map_err(|e| fail(AddressErrorKind::Parse(e)))?;
    if !unchecked.is_valid_for_network(network.to_bitcoin()) {
        return Err(fail(AddressErrorKind::WrongNetwork));
    }
    let addr = unchecked.assume_checked();
    Ok(match addr.to_address_data() {
        AddressData::P2pkh { pubkey_hash } => {
            AddrKey::new(AddrKind::PubkeyHash, pubkey_hash.as_byte_array())
        }
        AddressData::P2sh { script_hash } => {
            AddrKey::new(AddrKind::ScriptHash, script_hash.as_byte_array())
        }
        _ => classify(&addr.script_pubkey()),
    })
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (b[2 * i] as char).to_digit(16)?;
        let lo = (b[2 * i + 1] as char).to_digit(16)?;
        *o = (hi << 4 | lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests;
