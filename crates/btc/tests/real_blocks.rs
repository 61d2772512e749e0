//! Scans and decodes every real mainnet block in `../shared/data` and checks
//! the results against the data's PROVENANCE files, known chain facts and
//! rust-bitcoin's own decoder.

mod util;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash as _;
use chainhound_btc::{
    classify, decode_raw_tx, header_prev, header_time, parse_address, render, BlockFile, BlocksDir,
    BtcError, FileFormat, Network, ScanReport,
};
use chainhound_types::{AddrKind, Block, Hash32, Input, Sats};

/// One "Contents (parsed)" line of a PROVENANCE file.
#[derive(Debug)]
struct Expected {
    file: String,
    blocks: usize,
    txs: usize,
    inputs: usize,
    outputs: usize,
    first: String,
    prev: String,
    ts: (u32, u32),
}

fn provenance(dir: &Path) -> Vec<Expected> {
    let text = std::fs::read_to_string(dir.join("PROVENANCE.md")).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((file, rest)) = line.split_once(": blocks=") else {
            continue;
        };
        let field = |name: &str| {
            let pat = format!(" {name}=");
            let start = rest
                .find(&pat)
                .map(|i| i + pat.len())
                .unwrap_or_else(|| panic!("{name} in {line}"));
            rest[start..].split_whitespace().next().unwrap().to_string()
        };
        let blocks = rest.split_whitespace().next().unwrap().parse().unwrap();
        let (t0, t1) = field("ts")
            .split_once('-')
            .map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap()))
            .unwrap();
        out.push(Expected {
            file: file.to_string(),
            blocks,
            txs: field("txs").parse().unwrap(),
            inputs: field("inputs").parse().unwrap(),
            outputs: field("outputs").parse().unwrap(),
            first: field("first"),
            prev: field("prev"),
            ts: (t0, t1),
        });
    }
    out
}

/// Scans and decodes a whole file, checking every block against rust-bitcoin.
fn read_file(path: &Path, index: u32) -> (ScanReport, Vec<Block>) {
    let file = BlockFile::open(path, index, None).unwrap();
    let report = file.scan(Network::Main).unwrap_or_else(|e| panic!("{e}"));
    let raw = std::fs::read(path).unwrap();
    let mut blocks = Vec::new();
    for loc in &report.blocks {
        let mut b = Block::default();
        file.read_block(loc, &mut b)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.hash, loc.hash);
        let bytes = &raw[loc.offset as usize..][..loc.len as usize];
        check_against_rust_bitcoin(bytes, &b);
        blocks.push(b);
    }
    (report, blocks)
}

fn check_against_rust_bitcoin(bytes: &[u8], ours: &Block) {
    let theirs: bitcoin::Block = deserialize(bytes).unwrap();
    assert!(theirs.check_merkle_root());
    assert!(theirs.check_witness_commitment());
    assert_eq!(ours.hash.0, theirs.block_hash().to_byte_array());
    assert_eq!(ours.size as usize, bytes.len());
    assert_eq!(ours.txs.len(), theirs.txdata.len());
    let (mut i, mut o) = (0, 0);
    for (t, r) in ours.txs.iter().zip(&theirs.txdata) {
        assert_eq!(t.txid.0, r.compute_txid().to_byte_array());
        assert_eq!(t.version, r.version.0);
        assert_eq!(t.lock_time, r.lock_time.to_consensus_u32());
        assert_eq!(t.size as usize, r.total_size());
        assert_eq!(u64::from(t.weight), r.weight().to_wu());
        assert_eq!(
            (t.n_inputs as usize, t.n_outputs as usize),
            (r.input.len(), r.output.len())
        );
        for txin in &r.input {
            let p = txin.previous_output;
            let want = if p.is_null() {
                Input::Coinbase
            } else {
                Input::Spend {
                    txid: Hash32(p.txid.to_byte_array()),
                    vout: p.vout,
                }
            };
            assert_eq!(ours.inputs[i], want);
            i += 1;
        }
        for txout in &r.output {
            assert_eq!(ours.outputs[o].value.0, txout.value.to_sat());
            assert_eq!(ours.outputs[o].addr, classify(&txout.script_pubkey));
            o += 1;
        }
    }
    assert_eq!((i, o), (ours.inputs.len(), ours.outputs.len()));
}

fn mainnet_blocks() -> Option<PathBuf> {
    Some(util::shared_data()?.join("btc-mainnet-blocks"))
}

fn hex(h: &str) -> Hash32 {
    Hash32::from_display_hex(h).unwrap()
}

fn txs_of(blocks: &[Block]) -> impl Iterator<Item = (&Block, usize)> {
    blocks
        .iter()
        .flat_map(|b| (0..b.txs.len()).map(move |i| (b, i)))
}

/// The (inputs, outputs) slices of transaction `i` of `b`.
fn tx_io(b: &Block, i: usize) -> (&[Input], &[chainhound_types::Output]) {
    let ins: usize = b.txs[..i].iter().map(|t| t.n_inputs as usize).sum();
    let outs: usize = b.txs[..i].iter().map(|t| t.n_outputs as usize).sum();
    let t = &b.txs[i];
    (
        &b.inputs[ins..][..t.n_inputs as usize],
        &b.outputs[outs..][..t.n_outputs as usize],
    )
}

#[test]
fn every_file_matches_provenance() {
    let Some(dir) = mainnet_blocks() else { return };
    let expected = provenance(&dir);
    assert_eq!(expected.len(), 22);

    // Every data file except the raw transaction is listed.
    let mut on_disk = BTreeSet::new();
    for sub in ["bitcoinj", "btcd", "hadoopcryptoledger"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let name = format!("{sub}/{}", e.unwrap().file_name().to_string_lossy());
            if name != "btcd/megatx.bin" {
                on_disk.insert(name);
            }
        }
    }
    let listed: BTreeSet<String> = expected.iter().map(|e| e.file.clone()).collect();
    assert_eq!(on_disk, listed);

    let paths: Vec<PathBuf> = expected.iter().map(|e| dir.join(&e.file)).collect();
    let set = BlocksDir::from_files(paths, Network::Main);
    let (mut total_blocks, mut total_txs) = (0, 0);
    for (entry, exp) in set.files().iter().zip(&expected) {
        let (report, blocks) = read_file(&entry.path, entry.index);
        let want_format = if exp.file.starts_with("bitcoinj/block") {
            FileFormat::RawBlock
        } else {
            FileFormat::Blk
        };
        assert_eq!(report.format, want_format, "{}", exp.file);
        assert!(
            report.warnings.is_empty(),
            "{}: {:?}",
            exp.file,
            report.warnings
        );
        assert_eq!(blocks.len(), exp.blocks, "{}", exp.file);
        assert_eq!(
            blocks.iter().map(|b| b.txs.len()).sum::<usize>(),
            exp.txs,
            "{}",
            exp.file
        );
        assert_eq!(
            blocks.iter().map(|b| b.inputs.len()).sum::<usize>(),
            exp.inputs,
            "{}",
            exp.file
        );
        assert_eq!(
            blocks.iter().map(|b| b.outputs.len()).sum::<usize>(),
            exp.outputs,
            "{}",
            exp.file
        );
        assert_eq!(blocks[0].hash, hex(&exp.first), "{}", exp.file);
        assert_eq!(
            header_prev(&blocks[0].header),
            hex(&exp.prev),
            "{}",
            exp.file
        );
        let times = blocks.iter().map(|b| header_time(&b.header));
        let ts = (times.clone().min().unwrap(), times.max().unwrap());
        assert_eq!(ts, exp.ts, "{}", exp.file);
        total_blocks += blocks.len();
        total_txs += exp.txs;
    }
    // The PROVENANCE headline: 19,758 transactions.
    assert_eq!(total_txs, 19_758);
    eprintln!(
        "decoded {total_blocks} blocks, {total_txs} txs from {} files",
        expected.len()
    );
}

#[test]
fn block_702861() {
    let Some(data) = util::shared_data() else {
        return;
    };
    let dir = data.join("btc-mainnet-block-702861");
    let (report, blocks) = read_file(&dir.join("mainnet_block_702861.raw"), 0);
    assert_eq!(report.format, FileFormat::RawBlock);
    let b = &blocks[0];
    assert_eq!(
        b.hash,
        hex("000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae")
    );
    assert_eq!(b.size, 1_381_836);
    assert_eq!(header_time(&b.header), 1_633_002_641);
    assert_eq!(
        (b.txs.len(), b.inputs.len(), b.outputs.len()),
        (2500, 6518, 6015)
    );
    // PROVENANCE: 2,065 SegWit-serialised transactions; all of them carry
    // witness data, so each weighs less than 4 × size.
    assert_eq!(b.txs.iter().filter(|t| t.weight < 4 * t.size).count(), 2065);
    let fee = coinbase_value(b).0 - 625_000_000;
    eprintln!("block 702861 fees: {} sat", fee);
    assert_eq!(fee, FEES_702861);
}

/// Coinbase outputs of block 702861 minus the 6.25 BTC subsidy (computed by
/// this crate; the block's prevouts are not in the data set).
const FEES_702861: u64 = 4_948_405;

fn coinbase_value(b: &Block) -> Sats {
    tx_io(b, 0).1.iter().map(|o| o.value).sum()
}

#[test]
fn block_170_spends_block_9_coinbase() {
    let Some(dir) = mainnet_blocks() else { return };
    let spend = hex("f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16");
    for file in ["btcd/blocks1-256.dat", "bitcoinj/first-100k-blocks.dat"] {
        let (_, blocks) = read_file(&dir.join(file), 0);
        let (b, i) = txs_of(&blocks)
            .find(|(b, i)| b.txs[*i].txid == spend)
            .expect(file);
        assert_eq!(
            b.hash,
            hex("00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee")
        );
        let (ins, outs) = tx_io(b, i);
        let block9_coinbase =
            hex("0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9");
        assert_eq!(
            ins,
            [Input::Spend {
                txid: block9_coinbase,
                vout: 0
            }]
        );
        let paid: Vec<(u64, String)> = outs
            .iter()
            .map(|o| (o.value.0, render(&o.addr, Network::Main)))
            .collect();
        assert_eq!(
            paid,
            [
                (
                    10_0000_0000,
                    "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3".to_string()
                ),
                (
                    40_0000_0000,
                    "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S".to_string()
                ),
            ]
        );
        // Both outputs are P2PK, identified with their P2PKH addresses.
        let k = parse_address("1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", Network::Main).unwrap();
        assert_eq!(outs[0].addr, k);
        assert_eq!(k.kind, AddrKind::PubkeyHash);
        // And block 9's coinbase is in the file, paying 50 BTC to the key
        // block 170 spends from.
        let (b9, j) = txs_of(&blocks)
            .find(|(b, i)| b.txs[*i].txid == block9_coinbase)
            .unwrap();
        assert_eq!(tx_io(b9, j).1[0].value, Sats(50_0000_0000));
        assert_eq!(
            render(&tx_io(b9, j).1[0].addr, Network::Main),
            "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
        );
    }
}

#[test]
fn genesis_coinbase_renders_as_satoshis_address() {
    let Some(dir) = mainnet_blocks() else { return };
    let (_, blocks) = read_file(&dir.join("hadoopcryptoledger/genesis.blk"), 0);
    let g = &blocks[0];
    assert_eq!(g.hash, Network::Main.genesis_hash());
    assert_eq!(g.inputs, [Input::Coinbase]);
    assert_eq!(
        render(&g.outputs[0].addr, Network::Main),
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    );
    assert_eq!(g.outputs[0].value, Sats(50_0000_0000));
}

#[test]
fn blocks_1_to_255_form_a_chain() {
    let Some(dir) = mainnet_blocks() else { return };
    let (_, blocks) = read_file(&dir.join("btcd/blocks1-256.dat"), 0);
    assert_eq!(header_prev(&blocks[0].header), Network::Main.genesis_hash());
    for w in blocks.windows(2) {
        assert_eq!(header_prev(&w[1].header), w[0].hash);
    }
    let work: u128 = blocks
        .iter()
        .map(|b| chainhound_btc::block_work(&b.header))
        .sum();
    assert_eq!(work, 255 * 4_295_032_833); // all at difficulty 1
}

#[test]
fn segwit_blocks_get_the_witness_discount() {
    let Some(dir) = mainnet_blocks() else { return };
    for file in [
        "hadoopcryptoledger/scriptwitness.blk",
        "hadoopcryptoledger/scriptwitness2.blk",
    ] {
        let path = dir.join(file);
        let (report, blocks) = read_file(&path, 0);
        let raw = std::fs::read(&path).unwrap();
        for (b, loc) in blocks.iter().zip(&report.blocks) {
            let discounted = b.txs.iter().filter(|t| t.weight < 4 * t.size).count();
            assert!(discounted > 0, "{file}");
            // Block weight: header and tx count count 4× (no witness there).
            let prefix = (b.size - b.txs.iter().map(|t| t.size).sum::<u32>()) * 4;
            let weight: u32 = prefix + b.txs.iter().map(|t| t.weight).sum::<u32>();
            assert!(weight <= 4_000_000, "{file}: {weight}");
            eprintln!(
                "{file} block {}: {} txs, {discounted} with witness, weight {weight}",
                b.hash,
                b.txs.len()
            );

            // One concrete tx, checked from the raw bytes independently.
            let rb: bitcoin::Block =
                deserialize(&raw[loc.offset as usize..][..loc.len as usize]).unwrap();
            let i = rb
                .txdata
                .iter()
                .position(|t| !t.input[0].witness.is_empty() && !t.is_coinbase())
                .unwrap();
            let full = serialize(&rb.txdata[i]);
            let mut stripped = rb.txdata[i].clone();
            for inp in &mut stripped.input {
                inp.witness.clear();
            }
            let base = serialize(&stripped);
            let t = &b.txs[i];
            assert_eq!(t.size as usize, full.len());
            assert_eq!(t.weight as usize, 3 * base.len() + full.len());
            assert_eq!(
                t.txid.0,
                bitcoin::hashes::sha256d::Hash::hash(&base).to_byte_array()
            );
            eprintln!(
                "  tx {} size {} base {} weight {}",
                t.txid,
                t.size,
                base.len(),
                t.weight
            );
        }
    }
}

#[test]
fn fees_of_the_2019_block() {
    let Some(dir) = mainnet_blocks() else { return };
    let (_, blocks) = read_file(&dir.join("hadoopcryptoledger/block2019Jan.blk"), 0);
    let b = &blocks[0];
    assert_eq!(b.txs.len(), 2898);
    let coinbase = coinbase_value(b);
    let fees = coinbase.checked_sub(Sats(12_5000_0000)).unwrap();
    eprintln!("block {} coinbase {} fees {}", b.hash, coinbase, fees);
    assert!(fees > Sats::ZERO);
    assert_eq!(fees, Sats(FEES_2019));
}

/// Coinbase outputs of block2019Jan.blk minus the 12.5 BTC subsidy.
const FEES_2019: u64 = 18_959_903;

#[test]
fn megatx_round_trips() {
    let Some(dir) = mainnet_blocks() else { return };
    let bytes = std::fs::read(dir.join("btcd/megatx.bin")).unwrap();
    let ours = decode_raw_tx(&bytes).unwrap();
    let theirs: bitcoin::Transaction = deserialize(&bytes).unwrap();
    assert_eq!(serialize(&theirs), bytes);
    assert_eq!(ours.tx.size as usize, bytes.len());
    assert_eq!(ours.tx.size, 999_657);
    assert_eq!(ours.tx.txid.0, theirs.compute_txid().to_byte_array());
    assert_eq!(
        ours.tx.txid.0,
        bitcoin::hashes::sha256d::Hash::hash(&bytes).to_byte_array()
    );
    assert_eq!(u64::from(ours.tx.weight), theirs.weight().to_wu());
    assert_eq!(
        (ours.inputs.len(), ours.outputs.len()),
        (theirs.input.len(), theirs.output.len())
    );
    eprintln!(
        "megatx {} size {} inputs {} outputs {}",
        ours.tx.txid,
        ours.tx.size,
        ours.inputs.len(),
        ours.outputs.len()
    );
    // A raw transaction is not a block file.
    let f = BlockFile::open(dir.join("btcd/megatx.bin"), 0, None).unwrap();
    assert!(matches!(
        f.scan(Network::Main),
        Err(BtcError::UnknownMagic { offset: 0, .. })
    ));
}

#[test]
fn corrupt_real_blocks_are_rejected() {
    let Some(dir) = mainnet_blocks() else { return };
    let path = dir.join("hadoopcryptoledger/scriptwitness.blk");
    let (report, blocks) = read_file(&path, 0);
    let (loc, b) = (&report.blocks[0], &blocks[0]);
    let raw = std::fs::read(&path).unwrap();
    let rb: bitcoin::Block = deserialize(&raw[loc.offset as usize..][..loc.len as usize]).unwrap();
    let tx_start = |i: usize| {
        let count_len = serialize(&bitcoin::VarInt(b.txs.len() as u64)).len();
        loc.offset as usize
            + 80
            + count_len
            + b.txs[..i].iter().map(|t| t.size as usize).sum::<usize>()
    };
    let read = |bytes: Vec<u8>| {
        let f = BlockFile::from_bytes(&path, 0, bytes, None);
        let mut out = Block::default();
        f.read_block(loc, &mut out).unwrap_err()
    };

    // A byte of tx 1's first prevout txid: the merkle root breaks.
    let segwit1 = !rb.txdata[1].input.iter().all(|i| i.witness.is_empty());
    let pos = tx_start(1) + 4 + if segwit1 { 2 } else { 0 } + 1 + 10;
    let mut bad = raw.clone();
    bad[pos] ^= 0x40;
    let e = read(bad);
    assert!(matches!(e, BtcError::MerkleMismatch { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&b.hash.to_display_hex())
            && msg.contains("offset 8 ")
            && msg.contains("scriptwitness.blk"),
        "{msg}"
    );

    // The last byte of a witness item: only the witness commitment notices.
    let i = rb
        .txdata
        .iter()
        .position(|t| {
            t.input
                .last()
                .unwrap()
                .witness
                .last()
                .is_some_and(|w| !w.is_empty())
        })
        .unwrap();
    let end = tx_start(i) + b.txs[i].size as usize;
    let mut bad = raw.clone();
    bad[end - 5] ^= 1;
    let e = read(bad);
    assert!(matches!(e, BtcError::WitnessCommitment { .. }), "{e}");

    // A header byte: proof of work fails.
    let mut bad = raw.clone();
    bad[loc.offset as usize + 40] ^= 1;
    let e = read(bad);
    assert!(matches!(e, BtcError::ProofOfWork { .. }), "{e}");
}
