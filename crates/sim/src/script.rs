//! Script types: locking scripts, realistically sized dummy unlocking data,
//! size estimates for fees, and address rendering.

use bitcoin::hashes::{hash160, sha256, Hash};
use bitcoin::{
    Address, KnownHrp, NetworkKind, PubkeyHash, ScriptHash, WitnessProgram, WitnessVersion,
};

use crate::rng::{Keys, Rng};

/// The spendable script types the economy pays to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub(crate) enum ScriptKind {
    /// Pay to public-key hash (legacy).
    P2pkh = 0,
    /// P2WPKH nested in P2SH.
    P2shP2wpkh = 1,
    /// Native segwit v0 key hash.
    P2wpkh = 2,
    /// Native segwit v0 script hash (2-of-3 multisig wallets).
    P2wsh = 3,
    /// Taproot, key-path spends.
    P2tr = 4,
    /// Bare public key (old-style coinbases).
    P2pk = 5,
}

impl ScriptKind {
    /// Every kind the simulator writes.
    #[cfg(test)]
    pub(crate) const ALL: [ScriptKind; 6] = [
        ScriptKind::P2pkh,
        ScriptKind::P2shP2wpkh,
        ScriptKind::P2wpkh,
        ScriptKind::P2wsh,
        ScriptKind::P2tr,
        ScriptKind::P2pk,
    ];

    /// Decodes the byte stored in the address table.
    pub(crate) fn from_u8(b: u8) -> ScriptKind {
        match b {
            0 => ScriptKind::P2pkh,
            1 => ScriptKind::P2shP2wpkh,
            2 => ScriptKind::P2wpkh,
            3 => ScriptKind::P2wsh,
            4 => ScriptKind::P2tr,
            _ => ScriptKind::P2pk,
        }
    }

    /// Whether spending it puts data in the witness.
    #[inline]
    pub(crate) fn is_segwit(self) -> bool {
        matches!(
            self,
            ScriptKind::P2shP2wpkh | ScriptKind::P2wpkh | ScriptKind::P2wsh | ScriptKind::P2tr
        )
    }

    /// Length of the locking script.
    #[inline]
    pub(crate) fn spk_len(self) -> usize {
        match self {
            ScriptKind::P2pkh => 25,
            ScriptKind::P2shP2wpkh => 23,
            ScriptKind::P2wpkh => 22,
            ScriptKind::P2wsh | ScriptKind::P2tr => 34,
            ScriptKind::P2pk => 35,
        }
    }

    /// Upper bound of the weight of an input spending this type (72-byte
    /// signatures assumed).
    #[inline]
    pub(crate) fn input_weight(self) -> u64 {
        match self {
            ScriptKind::P2pkh => 4 * (41 + 107),
            ScriptKind::P2pk => 4 * (41 + 73),
            ScriptKind::P2shP2wpkh => 4 * (41 + 23) + 108,
            ScriptKind::P2wpkh => 4 * 41 + 108,
            ScriptKind::P2wsh => 4 * 41 + 254,
            ScriptKind::P2tr => 4 * 41 + 66,
        }
    }

    /// Weight of an output paying this type.
    #[inline]
    pub(crate) fn output_weight(self) -> u64 {
        4 * (9 + self.spk_len() as u64)
    }
}

/// Weight of the fixed transaction fields (version, counts, lock time) plus
/// the segwit marker.
pub(crate) const TX_OVERHEAD_WEIGHT: u64 = 4 * 10 + 2;

/// The 20- or 32-byte program (hash or key) that identifies an address,
/// derived from its keys. For P2PK it is the key's HASH160, which is how the
/// address is shown.
pub(crate) fn program(keys: &Keys, kind: ScriptKind, id: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    match kind {
        ScriptKind::P2pkh | ScriptKind::P2wpkh | ScriptKind::P2pk => {
            let h = hash160::Hash::hash(&keys.pubkey(id, 0));
            out[..20].copy_from_slice(h.as_byte_array());
        }
        ScriptKind::P2shP2wpkh => {
            let h = hash160::Hash::hash(&redeem_script(keys, id));
            out[..20].copy_from_slice(h.as_byte_array());
        }
        ScriptKind::P2wsh => {
            let mut ws = [0u8; 105];
            witness_script(keys, id, &mut ws);
            out = sha256::Hash::hash(&ws).to_byte_array();
        }
        ScriptKind::P2tr => out = keys.bytes32(id, 7),
    }
    out
}

/// `0014 <hash160(pubkey)>`: the P2SH-P2WPKH redeem script.
fn redeem_script(keys: &Keys, id: u32) -> [u8; 22] {
    let mut rs = [0u8; 22];
    rs[0] = 0x00;
    rs[1] = 0x14;
    rs[2..].copy_from_slice(hash160::Hash::hash(&keys.pubkey(id, 0)).as_byte_array());
    rs
}

/// `2 <pk0> <pk1> <pk2> 3 CHECKMULTISIG`: the P2WSH witness script.
fn witness_script(keys: &Keys, id: u32, ws: &mut [u8; 105]) {
    ws[0] = 0x52;
    for n in 0..3u8 {
        let at = 1 + usize::from(n) * 34;
        ws[at] = 33;
        ws[at + 1..at + 34].copy_from_slice(&keys.pubkey(id, n));
    }
    ws[103] = 0x53;
    ws[104] = 0xae;
}

/// Appends a compact-size integer.
#[inline]
pub(crate) fn write_varint(buf: &mut Vec<u8>, n: u64) {
    if n < 0xfd {
        buf.push(n as u8);
    } else if n <= 0xffff {
        buf.push(0xfd);
        buf.extend_from_slice(&(n as u16).to_le_bytes());
    } else if n <= 0xffff_ffff {
        buf.push(0xfe);
        buf.extend_from_slice(&(n as u32).to_le_bytes());
    } else {
        buf.push(0xff);
        buf.extend_from_slice(&n.to_le_bytes());
    }
}

/// Appends the length-prefixed locking script of an address.
pub(crate) fn write_spk(
    buf: &mut Vec<u8>,
    keys: &Keys,
    kind: ScriptKind,
    id: u32,
    prog: &[u8; 32],
) {
    buf.push(kind.spk_len() as u8);
    match kind {
        ScriptKind::P2pkh => {
            buf.extend_from_slice(&[0x76, 0xa9, 0x14]);
            buf.extend_from_slice(&prog[..20]);
            buf.extend_from_slice(&[0x88, 0xac]);
        }
        ScriptKind::P2shP2wpkh => {
            buf.extend_from_slice(&[0xa9, 0x14]);
            buf.extend_from_slice(&prog[..20]);
            buf.push(0x87);
        }
        ScriptKind::P2wpkh => {
            buf.extend_from_slice(&[0x00, 0x14]);
            buf.extend_from_slice(&prog[..20]);
        }
        ScriptKind::P2wsh => {
            buf.extend_from_slice(&[0x00, 0x20]);
            buf.extend_from_slice(prog);
        }
        ScriptKind::P2tr => {
            buf.extend_from_slice(&[0x51, 0x20]);
            buf.extend_from_slice(prog);
        }
        ScriptKind::P2pk => {
            buf.push(0x21);
            buf.extend_from_slice(&keys.pubkey(id, 0));
            buf.push(0xac);
        }
    }
}

/// Appends a DER-encoded ECDSA signature shape (71 or 72 bytes with the
/// sighash byte), preceded by its push length.
fn push_ecdsa_sig(buf: &mut Vec<u8>, rng: &mut Rng) {
    let mut rs = [0u8; 64];
    rng.fill(&mut rs);
    rs[0] |= 1; // r has no leading zero byte
    rs[32] = (rs[32] & 0x7f) | 1; // low s, 32 bytes
    let rlen = if rs[0] >= 0x80 { 33 } else { 32 };
    let total = 6 + rlen + 32;
    buf.push(total as u8 + 1);
    buf.extend_from_slice(&[0x30, total as u8 - 2, 0x02, rlen as u8]);
    if rlen == 33 {
        buf.push(0);
    }
    buf.extend_from_slice(&rs[..32]);
    buf.extend_from_slice(&[0x02, 0x20]);
    buf.extend_from_slice(&rs[32..]);
    buf.push(0x01); // SIGHASH_ALL
}

/// Appends the length-prefixed scriptSig spending an output of `kind` owned by
/// address `id`.
pub(crate) fn write_script_sig(
    buf: &mut Vec<u8>,
    keys: &Keys,
    kind: ScriptKind,
    id: u32,
    rng: &mut Rng,
) {
    match kind {
        ScriptKind::P2pkh => {
            let at = buf.len();
            buf.push(0);
            push_ecdsa_sig(buf, rng);
            buf.push(33);
            buf.extend_from_slice(&keys.pubkey(id, 0));
            buf[at] = (buf.len() - at - 1) as u8;
        }
        ScriptKind::P2pk => {
            let at = buf.len();
            buf.push(0);
            push_ecdsa_sig(buf, rng);
            buf[at] = (buf.len() - at - 1) as u8;
        }
        ScriptKind::P2shP2wpkh => {
            buf.extend_from_slice(&[23, 22]);
            buf.extend_from_slice(&redeem_script(keys, id));
        }
        ScriptKind::P2wpkh | ScriptKind::P2wsh | ScriptKind::P2tr => buf.push(0),
    }
}

/// Appends the witness stack (item count first) spending an output of `kind`;
/// legacy kinds get the empty stack.
pub(crate) fn write_witness(
    buf: &mut Vec<u8>,
    keys: &Keys,
    kind: ScriptKind,
    id: u32,
    rng: &mut Rng,
) {
    match kind {
        ScriptKind::P2pkh | ScriptKind::P2pk => buf.push(0),
        ScriptKind::P2shP2wpkh | ScriptKind::P2wpkh => {
            buf.push(2);
            push_ecdsa_sig(buf, rng);
            buf.push(33);
            buf.extend_from_slice(&keys.pubkey(id, 0));
        }
        ScriptKind::P2wsh => {
            buf.extend_from_slice(&[4, 0]);
            push_ecdsa_sig(buf, rng);
            push_ecdsa_sig(buf, rng);
            let mut ws = [0u8; 105];
            witness_script(keys, id, &mut ws);
            buf.push(105);
            buf.extend_from_slice(&ws);
        }
        ScriptKind::P2tr => {
            buf.extend_from_slice(&[1, 64]);
            let mut sig = [0u8; 64];
            rng.fill(&mut sig);
            buf.extend_from_slice(&sig);
        }
    }
}

/// The regtest address of a program, as `Address::from_script` renders the
/// locking script (P2PK shows as the P2PKH address of its key).
pub(crate) fn render_address(kind: ScriptKind, prog: &[u8; 32]) -> Address {
    let h20: [u8; 20] = prog[..20].try_into().expect("program is 32 bytes");
    match kind {
        ScriptKind::P2pkh | ScriptKind::P2pk => {
            Address::p2pkh(PubkeyHash::from_byte_array(h20), NetworkKind::Test)
        }
        ScriptKind::P2shP2wpkh => {
            Address::p2sh_from_hash(ScriptHash::from_byte_array(h20), NetworkKind::Test)
        }
        ScriptKind::P2wpkh => segwit(WitnessVersion::V0, &h20),
        ScriptKind::P2wsh => segwit(WitnessVersion::V0, prog),
        ScriptKind::P2tr => segwit(WitnessVersion::V1, prog),
    }
}

fn segwit(v: WitnessVersion, program: &[u8]) -> Address {
    let wp = WitnessProgram::new(v, program).expect("20- and 32-byte programs are valid");
    Address::from_witness_program(wp, KnownHrp::Regtest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::{Network, Script};

    #[test]
    fn rendering_matches_from_script() {
        let keys = Keys::new(3);
        for kind in ScriptKind::ALL {
            for id in 0..20 {
                let prog = program(&keys, kind, id);
                let mut buf = Vec::new();
                write_spk(&mut buf, &keys, kind, id, &prog);
                assert_eq!(buf.len(), kind.spk_len() + 1);
                let script = Script::from_bytes(&buf[1..]);
                let shown = render_address(kind, &prog).to_string();
                if kind == ScriptKind::P2pk {
                    assert!(script.is_p2pk());
                    assert!(shown.starts_with('m') || shown.starts_with('n'));
                } else {
                    let want = Address::from_script(script, Network::Regtest).unwrap();
                    assert_eq!(shown, want.to_string());
                }
            }
        }
    }

    #[test]
    fn unlocking_data_matches_the_program() {
        // The revealed key/script hashes to the program, as on a real chain.
        let keys = Keys::new(9);
        let mut rng = Rng::new(1);
        let mut ss = Vec::new();
        write_script_sig(&mut ss, &keys, ScriptKind::P2shP2wpkh, 4, &mut rng);
        let redeem = &ss[2..];
        let prog = program(&keys, ScriptKind::P2shP2wpkh, 4);
        assert_eq!(hash160::Hash::hash(redeem).as_byte_array(), &prog[..20]);
        let mut w = Vec::new();
        write_witness(&mut w, &keys, ScriptKind::P2wsh, 4, &mut rng);
        let ws = &w[w.len() - 105..];
        assert_eq!(
            sha256::Hash::hash(ws).to_byte_array(),
            program(&keys, ScriptKind::P2wsh, 4)
        );
    }

    #[test]
    fn signatures_are_der_shaped() {
        let mut rng = Rng::new(2);
        for _ in 0..200 {
            let mut b = Vec::new();
            push_ecdsa_sig(&mut b, &mut rng);
            let len = usize::from(b[0]);
            assert!(len == 71 || len == 72);
            assert_eq!(b.len(), len + 1);
            assert_eq!(b[1], 0x30);
            assert_eq!(usize::from(b[2]) + 3, len);
        }
    }
}
