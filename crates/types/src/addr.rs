//! Address identities: what "the same address" means to ChainHound.

/// The kind of an address identity. The numeric values are stored on disk and
/// must never change.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum AddrKind {
    /// A public-key hash: P2PKH outputs, and P2PK outputs whose key hashes to
    /// it (shown as the P2PKH address, as block explorers do). Payload: the
    /// 20-byte HASH160, zero-padded.
    PubkeyHash = 1,
    /// P2SH. Payload: the 20-byte script hash, zero-padded.
    ScriptHash = 2,
    /// P2WPKH. Payload: the 20-byte witness program, zero-padded.
    WitnessPubkeyHash = 3,
    /// P2WSH. Payload: the 32-byte witness program.
    WitnessScriptHash = 4,
    /// P2TR. Payload: the 32-byte output key.
    Taproot = 5,
    /// Bare multisig (m-of-n CHECKMULTISIG). Payload: SHA256 of the script.
    Multisig = 6,
    /// OP_RETURN data carrier. Payload: SHA256 of the script.
    OpReturn = 7,
    /// Any other script, including future witness versions and
    /// unparseable scripts. Payload: SHA256 of the script.
    NonStandard = 8,
}

impl AddrKind {
    /// Decodes the on-disk byte.
    pub fn from_u8(b: u8) -> Option<AddrKind> {
        Some(match b {
            1 => AddrKind::PubkeyHash,
            2 => AddrKind::ScriptHash,
            3 => AddrKind::WitnessPubkeyHash,
            4 => AddrKind::WitnessScriptHash,
            5 => AddrKind::Taproot,
            6 => AddrKind::Multisig,
            7 => AddrKind::OpReturn,
            8 => AddrKind::NonStandard,
            _ => return None,
        })
    }

    /// A short lower-case name for display and JSON.
    pub fn name(self) -> &'static str {
        match self {
            AddrKind::PubkeyHash => "p2pkh",
            AddrKind::ScriptHash => "p2sh",
            AddrKind::WitnessPubkeyHash => "p2wpkh",
            AddrKind::WitnessScriptHash => "p2wsh",
            AddrKind::Taproot => "p2tr",
            AddrKind::Multisig => "multisig",
            AddrKind::OpReturn => "op_return",
            AddrKind::NonStandard => "nonstandard",
        }
    }

    /// Whether coins sent here can ever be spent. OP_RETURN outputs are
    /// provably unspendable.
    pub fn is_spendable(self) -> bool {
        self != AddrKind::OpReturn
    }
}

/// The identity of an address: its kind plus a 32-byte payload (a hash or
/// witness program, zero-padded when shorter). Two outputs belong to the same
/// address exactly when their keys are equal.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AddrKey {
    /// The kind.
    pub kind: AddrKind,
    /// Hash or program, zero-padded to 32 bytes.
    pub payload: [u8; 32],
}

impl AddrKey {
    /// Builds a key from a payload of at most 32 bytes, zero-padding it.
    pub fn new(kind: AddrKind, payload: &[u8]) -> AddrKey {
        assert!(payload.len() <= 32, "address payload longer than 32 bytes");
        let mut p = [0u8; 32];
        p[..payload.len()].copy_from_slice(payload);
        AddrKey { kind, payload: p }
    }

    /// The meaningful payload bytes: 20 for hash160 kinds, 32 otherwise.
    pub fn payload_bytes(&self) -> &[u8] {
        match self.kind {
            AddrKind::PubkeyHash | AddrKind::ScriptHash | AddrKind::WitnessPubkeyHash => {
                &self.payload[..20]
            }
            _ => &self.payload,
        }
    }

    /// A well-mixed 64-bit hash for hash tables.
    #[inline]
    pub fn hash64(&self) -> u64 {
        let a = u64::from_le_bytes(self.payload[..8].try_into().expect("32 > 8"));
        let b = u64::from_le_bytes(self.payload[8..16].try_into().expect("32 > 16"));
        mix64(a ^ b.rotate_left(29) ^ (self.kind as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

/// The splitmix64 finalizer: spreads the bits of a 64-bit key, for hash
/// tables keyed by values that may share prefixes.
#[inline]
pub fn mix64(x: u64) -> u64 {
    let x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_bytes_round_trip() {
        for b in 0..=255u8 {
            if let Some(k) = AddrKind::from_u8(b) {
                assert_eq!(k as u8, b);
            }
        }
        assert_eq!(AddrKind::from_u8(0), None);
        assert_eq!(AddrKind::from_u8(9), None);
    }

    #[test]
    fn payload_is_padded() {
        let k = AddrKey::new(AddrKind::PubkeyHash, &[7u8; 20]);
        assert_eq!(k.payload_bytes(), &[7u8; 20]);
        assert_eq!(&k.payload[20..], &[0u8; 12]);
        assert_ne!(
            k.hash64(),
            AddrKey::new(AddrKind::ScriptHash, &[7u8; 20]).hash64()
        );
    }
}
