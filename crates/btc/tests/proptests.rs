//! Property tests on the public API: arbitrary bytes never panic the reader,
//! and address keys round-trip through scripts and strings.

use bitcoin::hashes::Hash as _;
use bitcoin::{
    Address, PubkeyHash, ScriptBuf, ScriptHash, WPubkeyHash, WScriptHash, WitnessProgram,
    WitnessVersion,
};
use chainhound_btc::{classify, parse_address, render, BlockFile, Network, XorKey};
use chainhound_types::{AddrKey, AddrKind, Block};
use proptest::prelude::*;

fn genesis_record() -> Vec<u8> {
    let g = bitcoin::consensus::serialize(&bitcoin::constants::genesis_block(
        bitcoin::Network::Bitcoin,
    ));
    let mut r = Network::Main.magic().to_vec();
    r.extend_from_slice(&(g.len() as u32).to_le_bytes());
    r.extend(g);
    r
}

/// Scans `bytes` as every network and reads every block found.
fn exercise(bytes: Vec<u8>, xor: Option<XorKey>) {
    let f = BlockFile::from_bytes("fuzz.dat", 0, bytes, xor);
    let mut out = Block::default();
    for net in Network::ALL {
        if let Ok(report) = f.scan(net) {
            for loc in &report.blocks {
                let _ = f.read_block(loc, &mut out);
            }
        }
    }
}

fn network() -> impl Strategy<Value = Network> {
    prop::sample::select(Network::ALL.to_vec())
}

/// Scripts near the standard templates: a template, sometimes with one byte
/// changed.
fn near_template() -> impl Strategy<Value = Vec<u8>> {
    let body = prop::collection::vec(any::<u8>(), 67);
    (0usize..8, body, any::<bool>(), 0usize..67, any::<u8>()).prop_map(
        |(t, mut body, mutate, pos, b)| {
            let (len, fixed): (usize, &[(usize, u8)]) = match t {
                0 => (
                    25,
                    &[(0, 0x76), (1, 0xa9), (2, 0x14), (23, 0x88), (24, 0xac)],
                ),
                1 => (23, &[(0, 0xa9), (1, 0x14), (22, 0x87)]),
                2 => (22, &[(0, 0), (1, 0x14)]),
                3 => (34, &[(0, 0), (1, 0x20)]),
                4 => (34, &[(0, 0x51), (1, 0x20)]),
                5 => (35, &[(0, 0x21), (34, 0xac)]),
                6 => (67, &[(0, 0x41), (66, 0xac)]),
                _ => (10, &[(0, 0x6a)]),
            };
            body.truncate(len);
            for &(i, v) in fixed {
                body[i] = v;
            }
            if mutate {
                body[pos % len] = b;
            }
            body
        },
    )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), key in any::<[u8; 8]>()) {
        exercise(bytes.clone(), None);
        exercise(bytes, XorKey::new(key));
    }

    #[test]
    fn framed_garbage_never_panics(len in 0u32..700, body in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut bytes = Network::Main.magic().to_vec();
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend(body);
        exercise(bytes, None);
    }

    #[test]
    fn corrupted_real_records_never_panic(
        edits in prop::collection::vec((0usize..400, any::<u8>()), 1..4),
        cut in 0usize..300,
    ) {
        let mut bytes = genesis_record();
        bytes.extend(genesis_record());
        for (pos, b) in edits {
            let p = pos % bytes.len();
            bytes[p] = b;
        }
        bytes.truncate(bytes.len() - cut);
        exercise(bytes, None);
    }

    #[test]
    fn hash_kinds_round_trip(h20 in any::<[u8; 20]>(), h32 in any::<[u8; 32]>(), net in network()) {
        let scripts = [
            (ScriptBuf::new_p2pkh(&PubkeyHash::from_byte_array(h20)), AddrKey::new(AddrKind::PubkeyHash, &h20)),
            (ScriptBuf::new_p2sh(&ScriptHash::from_byte_array(h20)), AddrKey::new(AddrKind::ScriptHash, &h20)),
            (ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array(h20)), AddrKey::new(AddrKind::WitnessPubkeyHash, &h20)),
            (ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array(h32)), AddrKey::new(AddrKind::WitnessScriptHash, &h32)),
            (
                ScriptBuf::new_witness_program(&WitnessProgram::new(WitnessVersion::V1, &h32).unwrap()),
                AddrKey::new(AddrKind::Taproot, &h32),
            ),
        ];
        for (script, key) in scripts {
            prop_assert_eq!(classify(&script), key);
            let s = render(&key, net);
            prop_assert_eq!(&s, &Address::from_script(&script, net.to_bitcoin()).unwrap().to_string());
            prop_assert_eq!(parse_address(&s, net).unwrap(), key);
        }
        for kind in [AddrKind::Multisig, AddrKind::OpReturn, AddrKind::NonStandard] {
            let key = AddrKey { kind, payload: h32 };
            prop_assert_eq!(parse_address(&render(&key, net), net).unwrap(), key);
        }
    }

    #[test]
    fn classify_agrees_with_rust_bitcoin(
        bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..80), near_template()],
    ) {
        let s = ScriptBuf::from_bytes(bytes);
        let k = classify(&s).kind;
        let want = if s.is_p2pkh() || s.is_p2pk() {
            AddrKind::PubkeyHash
        } else if s.is_p2sh() {
            AddrKind::ScriptHash
        } else if s.is_p2wpkh() {
            AddrKind::WitnessPubkeyHash
        } else if s.is_p2wsh() {
            AddrKind::WitnessScriptHash
        } else if s.is_p2tr() {
            AddrKind::Taproot
        } else if s.is_op_return() {
            AddrKind::OpReturn
        } else {
            k // multisig and the rest: rust-bitcoin's looser rules differ
        };
        prop_assert_eq!(k, want);
        if k == AddrKind::Multisig {
            prop_assert!(s.is_multisig());
        }
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,90}", net in network()) {
        let _ = parse_address(&s, net);
    }
}
