use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::consensus::serialize;
use bitcoin::hashes::Hash as _;
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction, TxIn,
    TxMerkleNode, TxOut, Witness,
};
use chainhound_types::AddrKind;

use super::*;
use crate::{render, Network};

fn out(value: u64, tag: u8) -> TxOut {
    TxOut {
        value: Amount::from_sat(value),
        script_pubkey: ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([tag; 20])),
    }
}

fn tx(inputs: Vec<TxIn>, outputs: Vec<TxOut>) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: inputs,
        output: outputs,
    }
}

fn coinbase(height: u8) -> Transaction {
    tx(
        vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: ScriptBuf::from_bytes(vec![1, height, 0xaa]),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        vec![out(50_0000_0000, 0xcb)],
    )
}

fn spend(prev: &Transaction, witness: &[&[u8]]) -> Transaction {
    tx(
        vec![TxIn {
            previous_output: OutPoint {
                txid: prev.compute_txid(),
                vout: 0,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::from_slice(witness),
        }],
        vec![out(1000, 1), out(2000, 2)],
    )
}

/// A block with valid merkle root, witness commitment (if `commit` and any
/// witness) and regtest proof of work.
fn mine(mut txs: Vec<Transaction>, commit: bool) -> Vec<u8> {
    let has_witness = txs
        .iter()
        .any(|t| t.input.iter().any(|i| !i.witness.is_empty()));
    let header = Header {
        version: BlockVersion::TWO,
        prev_blockhash: BlockHash::all_zeros(),
        merkle_root: TxMerkleNode::all_zeros(),
        time: 1_600_000_000,
        bits: CompactTarget::from_consensus(0x207f_ffff),
        nonce: 0,
    };
    if has_witness && commit {
        let reserved = [0u8; 32];
        txs[0].input[0].witness = Witness::from_slice(&[reserved]);
        let tmp = bitcoin::Block {
            header,
            txdata: txs.clone(),
        };
        let root = tmp.witness_root().unwrap();
        let c = bitcoin::Block::compute_witness_commitment(&root, &reserved);
        let mut script = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
        script.extend_from_slice(c.as_byte_array());
        txs[0].output.push(TxOut {
            value: Amount::ZERO,
            script_pubkey: ScriptBuf::from_bytes(script),
        });
    }
    let mut block = bitcoin::Block {
        header,
        txdata: txs,
    };
    block.header.merkle_root = block.compute_merkle_root().unwrap();
    while block.header.validate_pow(block.header.target()).is_err() {
        block.header.nonce += 1;
    }
    assert!(!has_witness || !commit || block.check_witness_commitment());
    serialize(&block)
}

fn decode(bytes: &[u8]) -> Result<Block, String> {
    let mut b = Block::default();
    let mut s = Scratch::default();
    match decode_block(bytes, &mut b, &mut s, &ReadOptions::default()) {
        Ok(()) => Ok(b),
        Err(BlockFault::Decode(e)) => Err(format!("decode: {e}")),
        Err(BlockFault::ProofOfWork) => Err("pow".into()),
        Err(BlockFault::MerkleMismatch) => Err("merkle".into()),
        Err(BlockFault::MerkleMutated) => Err("mutated".into()),
        Err(BlockFault::WitnessCommitment) => Err("witness".into()),
    }
}

fn genesis() -> Vec<u8> {
    serialize(&bitcoin::constants::genesis_block(
        bitcoin::Network::Bitcoin,
    ))
}

#[test]
fn decodes_genesis() {
    let b = decode(&genesis()).unwrap();
    assert_eq!(b.hash, Network::Main.genesis_hash());
    assert_eq!(b.size, 285);
    assert_eq!(b.txs.len(), 1);
    let t = &b.txs[0];
    assert_eq!(
        t.txid.to_display_hex(),
        "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
    );
    assert_eq!((t.version, t.lock_time, t.size, t.weight), (1, 0, 204, 816));
    assert_eq!((t.n_inputs, t.n_outputs), (1, 1));
    assert_eq!(b.inputs, vec![Input::Coinbase]);
    assert_eq!(b.outputs[0].value, Sats(50_0000_0000));
    assert_eq!(b.outputs[0].addr.kind, AddrKind::PubkeyHash);
    assert_eq!(
        render(&b.outputs[0].addr, Network::Main),
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    );
}

#[test]
fn matches_rust_bitcoin_on_a_segwit_block() {
    let cb = coinbase(1);
    let legacy = spend(&cb, &[]);
    let segwit = spend(&legacy, &[&[0x30; 71], &[0x02; 33]]);
    let segwit2 = spend(&segwit, &[&[]]);
    let bytes = mine(vec![cb, legacy, segwit, segwit2], true);
    let reference: bitcoin::Block = bitcoin::consensus::deserialize(&bytes).unwrap();
    let b = decode(&bytes).unwrap();
    assert_eq!(b.hash.0, reference.block_hash().to_byte_array());
    assert_eq!(b.txs.len(), 4);
    let (mut i, mut o) = (0, 0);
    for (ours, theirs) in b.txs.iter().zip(&reference.txdata) {
        assert_eq!(ours.txid.0, theirs.compute_txid().to_byte_array());
        assert_eq!(ours.size as usize, theirs.total_size());
        assert_eq!(u64::from(ours.weight), theirs.weight().to_wu());
        assert_eq!(ours.version, theirs.version.0);
        for txin in &theirs.input {
            let want = if txin.previous_output.is_null() {
                Input::Coinbase
            } else {
                Input::Spend {
                    txid: Hash32(txin.previous_output.txid.to_byte_array()),
                    vout: txin.previous_output.vout,
                }
            };
            assert_eq!(b.inputs[i], want);
            i += 1;
        }
        for txout in &theirs.output {
            assert_eq!(b.outputs[o].value.0, txout.value.to_sat());
            assert_eq!(b.outputs[o].addr, classify(&txout.script_pubkey));
            o += 1;
        }
    }
    assert_eq!((i, o), (b.inputs.len(), b.outputs.len()));
    assert!(b.txs[2].weight < 4 * b.txs[2].size);
    assert_eq!(b.txs[1].weight, 4 * b.txs[1].size);
}

#[test]
fn reuses_the_output_block() {
    let mut b = Block::default();
    let mut s = Scratch::default();
    let cb = coinbase(2);
    let bytes = mine(vec![cb.clone(), spend(&cb, &[])], false);
    decode_block(&bytes, &mut b, &mut s, &ReadOptions::default())
        .ok()
        .unwrap();
    decode_block(&genesis(), &mut b, &mut s, &ReadOptions::default())
        .ok()
        .unwrap();
    assert_eq!((b.txs.len(), b.inputs.len(), b.outputs.len()), (1, 1, 1));
}

#[test]
fn every_flipped_header_byte_fails_proof_of_work() {
    let g = genesis();
    for i in 0..80 {
        let mut bad = g.clone();
        bad[i] ^= 1;
        assert_eq!(decode(&bad).unwrap_err(), "pow", "byte {i}");
    }
}

#[test]
fn flipped_transaction_byte_breaks_the_merkle_root() {
    let g = genesis();
    // Byte 150 is inside the coinbase's "The Times 03/Jan/2009" text; 250 in
    // the output's public key.
    for i in [150, 250, g.len() - 1] {
        let mut bad = g.clone();
        bad[i] ^= 0x20;
        assert_eq!(decode(&bad).unwrap_err(), "merkle", "byte {i}");
    }
}

#[test]
fn flipped_witness_byte_breaks_the_commitment() {
    let cb = coinbase(3);
    let sw = spend(&cb, &[&[0x30; 71]]);
    let bytes = mine(vec![cb, sw.clone()], true);
    decode(&bytes).unwrap();
    // The witness item sits just before the last tx's 4-byte lock time.
    let pos = bytes.len() - 4 - 10;
    let mut bad = bytes.clone();
    bad[pos] ^= 1;
    assert_eq!(decode(&bad).unwrap_err(), "witness");
    // Without the commitment check, the (unused) witness content goes unchecked.
    let lax = ReadOptions {
        witness_commitment: false,
    };
    assert!(decode_block(&bad, &mut Block::default(), &mut Scratch::default(), &lax).is_ok());
    // Witness data without any commitment is rejected too.
    let cb = coinbase(4);
    let sw = spend(&cb, &[&[0x30; 71]]);
    assert_eq!(decode(&mine(vec![cb, sw], false)).unwrap_err(), "witness");
}

#[test]
fn duplicated_transactions_are_a_mutated_tree() {
    let cb = coinbase(5);
    let a = spend(&cb, &[]);
    let b = spend(&a, &[]);
    let bytes = mine(vec![cb, a, b.clone(), b], false);
    assert_eq!(decode(&bytes).unwrap_err(), "mutated");
}

#[test]
fn malformed_bytes_are_decode_errors() {
    let g = genesis();
    let e = decode(&g[..g.len() - 1]).unwrap_err();
    assert!(e.starts_with("decode: data ends early at byte"), "{e}");
    let mut long = g.clone();
    long.push(0);
    assert_eq!(
        decode(&long).unwrap_err(),
        "decode: 1 bytes left over after decoding at byte 285"
    );
    // Tx count 1 written as 0xfd 0x01 0x00.
    let mut nc = g[..80].to_vec();
    nc.extend_from_slice(&[0xfd, 1, 0]);
    nc.extend_from_slice(&g[81..]);
    assert_eq!(
        decode(&nc).unwrap_err(),
        "decode: non-canonical compact size at byte 80"
    );
    let mut none = g[..80].to_vec();
    none.push(0);
    assert_eq!(
        decode(&none).unwrap_err(),
        "decode: block has no transactions at byte 80"
    );
    assert!(decode(&g[..50])
        .unwrap_err()
        .starts_with("decode: data ends early at byte 0"));
}

#[test]
fn raw_transactions() {
    let cb = coinbase(6);
    for t in [cb.clone(), spend(&cb, &[]), spend(&cb, &[&[1, 2, 3], &[]])] {
        let bytes = serialize(&t);
        let d = decode_raw_tx(&bytes).unwrap();
        assert_eq!(d.tx.txid.0, t.compute_txid().to_byte_array());
        assert_eq!(d.tx.size as usize, t.total_size());
        assert_eq!(u64::from(d.tx.weight), t.weight().to_wu());
        assert_eq!(d.inputs.len(), t.input.len());
        assert_eq!(d.outputs.len(), t.output.len());
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode_raw_tx(&extra).is_err());
    }
    // Segwit marker with flag 2, and a witness flag with only empty stacks.
    let legacy = serialize(&spend(&cb, &[]));
    let mut flag2 = legacy[..4].to_vec();
    flag2.extend_from_slice(&[0, 2]);
    flag2.extend_from_slice(&legacy[4..]);
    let e = decode_raw_tx(&flag2).unwrap_err();
    let src = std::error::Error::source(&e).unwrap().to_string();
    assert_eq!(src, "unsupported segwit flag 0x02 at byte 5");
    let mut empty_witness = legacy[..4].to_vec();
    empty_witness.extend_from_slice(&[0, 1]);
    empty_witness.extend_from_slice(&legacy[4..legacy.len() - 4]);
    empty_witness.push(0); // one input, zero witness items
    empty_witness.extend_from_slice(&legacy[legacy.len() - 4..]);
    let e = decode_raw_tx(&empty_witness).unwrap_err();
    let src = std::error::Error::source(&e).unwrap().to_string();
    assert!(
        src.starts_with("witness flag set but every witness is empty"),
        "{src}"
    );
}

/// The source message of `decode_raw_tx(bytes)`'s error.
fn raw_err(bytes: &[u8]) -> String {
    let e = decode_raw_tx(bytes).unwrap_err();
    std::error::Error::source(&e).unwrap().to_string()
}

#[test]
fn rust_bitcoin_errors_keep_kind_and_position() {
    let cb = coinbase(8);
    let legacy = serialize(&spend(&cb, &[]));
    // One input: version 4, count 1, outpoint 36, empty script 1, sequence 4.
    let n_out_at = 4 + 1 + 36 + 1 + 4;
    assert_eq!(legacy[n_out_at], 2);
    // Output count 2 written as 0xfd 0x02 0x00.
    let mut nc = legacy[..n_out_at].to_vec();
    nc.extend_from_slice(&[0xfd, 2, 0]);
    nc.extend_from_slice(&legacy[n_out_at + 1..]);
    let want = format!("non-canonical compact size at byte {n_out_at}");
    assert_eq!(raw_err(&nc), want);
    // Cut inside the first output's value: the error names the value's start.
    assert_eq!(
        raw_err(&legacy[..n_out_at + 3]),
        format!("data ends early at byte {}", n_out_at + 1)
    );
    // Witness flag, no inputs: Core's superfluous witness.
    let none = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        raw_err(&none),
        "witness flag set but every witness is empty at byte 5"
    );
    // A witness of 4,000,001 items: over rust-bitcoin's limit.
    let sw = serialize(&spend(&cb, &[&[7]]));
    let w_at = sw.len() - 4 - 3;
    assert_eq!(sw[w_at..w_at + 3], [1, 1, 7]);
    let mut big = sw[..w_at].to_vec();
    big.push(0xfe);
    big.extend_from_slice(&4_000_001u32.to_le_bytes());
    big.extend_from_slice(&sw[w_at + 1..]);
    assert_eq!(
        raw_err(&big),
        format!("compact size 4000001 exceeds the size limit at byte {w_at}")
    );
}

#[test]
fn merkle_root_matches_rust_bitcoin() {
    for n in 1..20u8 {
        let hashes: Vec<[u8; 32]> = (0..n).map(|i| [i; 32]).collect();
        let (ours, mutated) = merkle_root(&mut hashes.clone());
        let theirs = bitcoin::merkle_tree::calculate_root(
            hashes.iter().map(|h| bitcoin::Txid::from_byte_array(*h)),
        )
        .unwrap();
        assert_eq!(ours, theirs.to_byte_array(), "{n}");
        assert!(!mutated);
    }
}

mod prop {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn arbitrary_tx_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_raw_tx(&bytes);
        }

        #[test]
        fn mutated_blocks_never_panic(pos in 0usize..2000, byte in any::<u8>(), cut in 0usize..2000) {
            let cb = coinbase(7);
            let sw = spend(&cb, &[&[0x30; 71], &[2; 33]]);
            let mut bytes = mine(vec![cb, sw], true);
            let p = pos % bytes.len();
            bytes[p] = byte;
            bytes.truncate(bytes.len() - cut % 100);
            let _ = decode(&bytes);
            // Past the header the body decoder runs whatever the proof of work says.
            let mut c = Cur::new(&bytes[80..]);
            if let Ok(n) = c.size() {
                for _ in 0..n.min(10) {
                    if c.tx().is_err() {
                        break;
                    }
                }
            }
        }

        #[test]
        fn random_transactions_match_rust_bitcoin(
            n_in in 1usize..4,
            n_out in 0usize..4,
            witness in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..3),
            script in proptest::collection::vec(any::<u8>(), 0..60),
            lock in any::<u32>(),
            version in any::<i32>(),
        ) {
            let inputs = (0..n_in)
                .map(|k| TxIn {
                    previous_output: OutPoint { txid: bitcoin::Txid::from_byte_array([k as u8 + 1; 32]), vout: k as u32 },
                    script_sig: ScriptBuf::from_bytes(script.clone()),
                    sequence: Sequence(k as u32),
                    witness: if k == 0 { Witness::from_slice(&witness) } else { Witness::new() },
                })
                .collect();
            let outputs = (0..n_out)
                .map(|k| TxOut { value: Amount::from_sat(k as u64 * 7), script_pubkey: ScriptBuf::from_bytes(script[..k.min(script.len())].to_vec()) })
                .collect();
            let t = Transaction {
                version: Version(version),
                lock_time: LockTime::from_consensus(lock),
                input: inputs,
                output: outputs,
            };
            let bytes = serialize(&t);
            let d = decode_raw_tx(&bytes).unwrap();
            prop_assert_eq!(d.tx.txid.0, t.compute_txid().to_byte_array());
            prop_assert_eq!(d.tx.size as usize, t.total_size());
            prop_assert_eq!(u64::from(d.tx.weight), t.weight().to_wu());
            prop_assert_eq!(d.tx.lock_time, lock);
            prop_assert_eq!(d.tx.version, version);
            prop_assert_eq!(d.outputs.len(), n_out);
        }
    }
}
