use bitcoin::blockdata::opcodes::all::{OP_CHECKMULTISIG, OP_CHECKSIG, OP_PUSHNUM_1, OP_PUSHNUM_2};
use bitcoin::script::Builder;
use bitcoin::{ScriptBuf, WPubkeyHash, WScriptHash};

use super::*;

fn h20(b: u8) -> [u8; 20] {
    [b; 20]
}

fn sha(s: &Script) -> [u8; 32] {
    sha256::Hash::hash(s.as_bytes()).to_byte_array()
}

fn p2pk(key: &[u8]) -> ScriptBuf {
    let push: &bitcoin::script::PushBytes = key.try_into().unwrap();
    Builder::new()
        .push_slice(push)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

fn multisig(m: u8, keys: &[&[u8]], n: u8) -> ScriptBuf {
    let mut b = Builder::new().push_int(i64::from(m));
    for k in keys {
        let push: &bitcoin::script::PushBytes = (*k).try_into().unwrap();
        b = b.push_slice(push);
    }
    b.push_int(i64::from(n))
        .push_opcode(OP_CHECKMULTISIG)
        .into_script()
}

#[test]
fn classifies_standard_templates() {
    let cases: Vec<(ScriptBuf, AddrKey)> = vec![
        (
            ScriptBuf::new_p2pkh(&PubkeyHash::from_byte_array(h20(1))),
            AddrKey::new(AddrKind::PubkeyHash, &h20(1)),
        ),
        (
            ScriptBuf::new_p2sh(&ScriptHash::from_byte_array(h20(2))),
            AddrKey::new(AddrKind::ScriptHash, &h20(2)),
        ),
        (
            ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array(h20(3))),
            AddrKey::new(AddrKind::WitnessPubkeyHash, &h20(3)),
        ),
        (
            ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array([4; 32])),
            AddrKey::new(AddrKind::WitnessScriptHash, &[4; 32]),
        ),
        (
            ScriptBuf::new_witness_program(
                &WitnessProgram::new(WitnessVersion::V1, &[5u8; 32]).unwrap(),
            ),
            AddrKey::new(AddrKind::Taproot, &[5; 32]),
        ),
    ];
    for (script, key) in cases {
        assert_eq!(classify(&script), key, "{script}");
    }
}

#[test]
fn p2pk_is_shown_as_its_p2pkh_address() {
    // The genesis coinbase pays to an uncompressed key with P2PK.
    let genesis = bitcoin::constants::genesis_block(bitcoin::Network::Bitcoin);
    let script = &genesis.txdata[0].output[0].script_pubkey;
    assert!(script.is_p2pk());
    let key = classify(script);
    assert_eq!(key.kind, AddrKind::PubkeyHash);
    assert_eq!(
        render(&key, Network::Main),
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    );

    // Compressed, and keys that are not curve points, still count.
    for k in [&[2u8; 33][..], &[0xffu8; 33][..], &[0u8; 65][..]] {
        let got = classify(&p2pk(k));
        assert_eq!(got.kind, AddrKind::PubkeyHash);
        assert_eq!(got.payload_bytes(), hash160::Hash::hash(k).as_byte_array());
    }
    // Near misses are non-standard: other lengths, PUSHDATA1 encoding, no CHECKSIG.
    let near = [
        p2pk(&[2u8; 34]),
        p2pk(&[2u8; 32]),
        ScriptBuf::from_bytes([&[0x4c, 33][..], &[2u8; 33], &[0xac]].concat()),
        ScriptBuf::from_bytes([&[33][..], &[2u8; 33], &[0xad]].concat()),
    ];
    for s in near {
        assert_eq!(classify(&s).kind, AddrKind::NonStandard, "{s}");
    }
}

#[test]
fn classifies_script_hash_kinds() {
    let k33 = [2u8; 33];
    let k65 = [4u8; 65];
    let ms = multisig(1, &[&k33, &k65], 2);
    assert!(ms.is_multisig());
    assert_eq!(
        classify(&ms),
        AddrKey {
            kind: AddrKind::Multisig,
            payload: sha(&ms)
        }
    );
    let ms16 = multisig(16, &[&k33[..]; 16], 16);
    assert_eq!(classify(&ms16).kind, AddrKind::Multisig);

    let bad = [
        multisig(3, &[&k33, &k33], 2), // m > n
        multisig(1, &[&k33, &k33], 3), // n != number of keys
        multisig(1, &[&[2u8; 20]], 1), // not a key-sized push
        Builder::new()
            .push_opcode(OP_PUSHNUM_1)
            .push_opcode(OP_PUSHNUM_2)
            .into_script(),
    ];
    for s in bad {
        assert_eq!(classify(&s).kind, AddrKind::NonStandard, "{s}");
    }

    let op_return = ScriptBuf::new_op_return([1u8, 2, 3]);
    assert_eq!(
        classify(&op_return),
        AddrKey {
            kind: AddrKind::OpReturn,
            payload: sha(&op_return)
        }
    );
    // Anything starting with OP_RETURN is a data carrier, even unparseable.
    assert_eq!(
        classify(Script::from_bytes(&[0x6a, 0x4d])).kind,
        AddrKind::OpReturn
    );

    let v2 = ScriptBuf::new_witness_program(
        &WitnessProgram::new(WitnessVersion::V2, &[7u8; 32]).unwrap(),
    );
    let anchor = ScriptBuf::from_bytes(vec![0x51, 0x02, 0x4e, 0x73]);
    let empty = ScriptBuf::new();
    for s in [v2, anchor, empty, ScriptBuf::from_bytes(vec![0xff; 3])] {
        assert_eq!(
            classify(&s),
            AddrKey {
                kind: AddrKind::NonStandard,
                payload: sha(&s)
            },
            "{s}"
        );
    }
}

#[test]
fn renders_known_vectors() {
    let cases = [
        // BIP173 / BIP350 / BIP86 test vectors.
        (
            AddrKind::WitnessPubkeyHash,
            "751e76e8199196d454941c45d1b3a323f1433bd6",
            Network::Main,
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        ),
        (
            AddrKind::WitnessPubkeyHash,
            "751e76e8199196d454941c45d1b3a323f1433bd6",
            Network::Testnet,
            "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
        ),
        (
            AddrKind::WitnessScriptHash,
            "1863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
            Network::Main,
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
        ),
        (
            AddrKind::Taproot,
            "a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
            Network::Main,
            "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
        ),
        (
            AddrKind::PubkeyHash,
            "62e907b15cbf27d5425399ebf6f0fb50ebb88f18",
            Network::Main,
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        ),
    ];
    for (kind, hex, net, want) in cases {
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let key = AddrKey::new(kind, &bytes);
        assert_eq!(render(&key, net), want);
        assert_eq!(parse_address(want, net).unwrap(), key);
        if kind != AddrKind::PubkeyHash {
            let upper = want.to_uppercase();
            assert_eq!(parse_address(&upper, net).unwrap(), key, "{upper}");
        }
    }
}

#[test]
fn round_trips_on_every_network() {
    let keys = [
        AddrKey::new(AddrKind::PubkeyHash, &h20(0x11)),
        AddrKey::new(AddrKind::ScriptHash, &h20(0x22)),
        AddrKey::new(AddrKind::WitnessPubkeyHash, &h20(0x33)),
        AddrKey::new(AddrKind::WitnessScriptHash, &[0x44; 32]),
        AddrKey::new(AddrKind::Taproot, &[0x55; 32]),
        AddrKey::new(AddrKind::Multisig, &[0x66; 32]),
        AddrKey::new(AddrKind::OpReturn, &[0x77; 32]),
        AddrKey::new(AddrKind::NonStandard, &[0x88; 32]),
    ];
    for net in Network::ALL {
        for key in keys {
            let s = render(&key, net);
            assert_eq!(parse_address(&s, net).unwrap(), key, "{s} on {net}");
        }
    }
    let pk = &keys[0];
    assert!(render(pk, Network::Main).starts_with('1'));
    for net in [
        Network::Testnet,
        Network::Testnet4,
        Network::Signet,
        Network::Regtest,
    ] {
        let s = render(pk, net);
        assert!(s.starts_with('m') || s.starts_with('n'), "{s}");
        assert!(render(&keys[1], net).starts_with('2'));
    }
    assert!(render(&keys[2], Network::Testnet4).starts_with("tb1q"));
    assert!(render(&keys[2], Network::Signet).starts_with("tb1q"));
    assert!(render(&keys[2], Network::Regtest).starts_with("bcrt1q"));
    assert!(render(&keys[4], Network::Regtest).starts_with("bcrt1p"));
    assert_eq!(
        render(&keys[5], Network::Main),
        format!("multisig-{}", "66".repeat(32))
    );
    assert_eq!(
        render(&keys[6], Network::Main),
        format!("opreturn-{}", "77".repeat(32))
    );
    assert_eq!(
        render(&keys[7], Network::Main),
        format!("script-{}", "88".repeat(32))
    );
    // Testnet prefixes are shared, so a testnet3 address is valid on signet.
    let tb = render(&keys[2], Network::Testnet);
    assert_eq!(parse_address(&tb, Network::Signet).unwrap(), keys[2]);
}

#[test]
fn renders_like_rust_bitcoin_from_script() {
    let scripts = [
        ScriptBuf::new_p2pkh(&PubkeyHash::from_byte_array(h20(9))),
        ScriptBuf::new_p2sh(&ScriptHash::from_byte_array(h20(8))),
        ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array(h20(7))),
        ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array([6; 32])),
    ];
    for net in Network::ALL {
        for s in &scripts {
            let want = Address::from_script(s, net.to_bitcoin())
                .unwrap()
                .to_string();
            assert_eq!(render(&classify(s), net), want);
        }
    }
}

#[test]
fn parse_errors_name_the_input() {
    let good = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
    let bad_checksum = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5";
    let mixed = "bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
    let bad_b58 = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb";
    for input in [
        bad_checksum,
        mixed,
        bad_b58,
        "",
        "hello",
        "multisig-12",
        "script-zz",
    ] {
        let e = parse_address(input, Network::Main).unwrap_err().to_string();
        assert!(e.contains(&format!("{input:?}")), "{e}");
        assert!(e.starts_with("invalid address"), "{e}");
    }
    let e = parse_address(good, Network::Testnet).unwrap_err();
    assert!(
        std::error::Error::source(&e)
            .unwrap()
            .to_string()
            .contains("another network"),
        "{e}"
    );
    let e = parse_address("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", Network::Regtest).unwrap_err();
    assert!(e.to_string().contains("regtest"), "{e}");
    // Upper-case hex is fine in pseudo-addresses.
    let up = format!("script-{}", "AB".repeat(32));
    assert_eq!(
        parse_address(&up, Network::Main).unwrap().payload,
        [0xab; 32]
    );
}

#[test]
fn other_witness_versions_parse_to_their_script_key() {
    let wp = WitnessProgram::new(WitnessVersion::V2, &[1u8; 16]).unwrap();
    let addr = Address::from_witness_program(wp, KnownHrp::Mainnet);
    let key = parse_address(&addr.to_string(), Network::Main).unwrap();
    assert_eq!(key, classify(&addr.script_pubkey()));
    assert_eq!(key.kind, AddrKind::NonStandard);
}
