use bitcoin::consensus::serialize;

use super::*;

fn genesis() -> Vec<u8> {
    serialize(&bitcoin::constants::genesis_block(
        bitcoin::Network::Bitcoin,
    ))
}

fn record(net: Network, block: &[u8]) -> Vec<u8> {
    let mut r = net.magic().to_vec();
    r.extend_from_slice(&(block.len() as u32).to_le_bytes());
    r.extend_from_slice(block);
    r
}

/// Two genesis records followed by `zeros` bytes of zero fill.
fn two_blocks(zeros: usize) -> Vec<u8> {
    let mut f = record(Network::Main, &genesis());
    f.extend(record(Network::Main, &genesis()));
    f.resize(f.len() + zeros, 0);
    f
}

fn file(bytes: Vec<u8>) -> BlockFile {
    BlockFile::from_bytes("/x/blk00007.dat", 7, bytes, None)
}

fn err(bytes: Vec<u8>) -> String {
    file(bytes).scan(Network::Main).unwrap_err().to_string()
}

#[test]
fn scans_records_and_stops_silently_at_zero_fill() {
    for zeros in [0, 3, 8, 1000] {
        let f = file(two_blocks(zeros));
        let r = f.scan(Network::Main).unwrap();
        assert_eq!(r.format, FileFormat::Blk);
        assert!(r.warnings.is_empty(), "{zeros}: {:?}", r.warnings);
        let offsets: Vec<u64> = r.blocks.iter().map(|l| l.offset).collect();
        assert_eq!(offsets, [8, 8 + 285 + 8]);
        for loc in &r.blocks {
            assert_eq!((loc.file_index, loc.len), (7, 285));
            assert_eq!(loc.hash, Network::Main.genesis_hash());
            assert_eq!(loc.header[..], genesis()[..80]);
            let mut b = Block::default();
            f.read_block(loc, &mut b).unwrap();
            assert_eq!(b.hash, loc.hash);
        }
    }
    assert!(file(Vec::new())
        .scan(Network::Main)
        .unwrap()
        .blocks
        .is_empty());
    assert!(file(vec![0; 4096])
        .scan(Network::Main)
        .unwrap()
        .blocks
        .is_empty());
}

#[test]
fn data_after_zero_fill_is_a_warning() {
    let mut f = two_blocks(100);
    let n = f.len();
    f[n - 10] = 7;
    let r = file(f).scan(Network::Main).unwrap();
    assert_eq!(r.blocks.len(), 2);
    let w = r.warnings[0].to_string();
    assert_eq!(
        w,
        format!(
            "ignored data at offset {} of /x/blk00007.dat after the zero fill starting at offset 586",
            n - 10
        )
    );
}

#[test]
fn truncated_last_record_is_skipped_with_a_warning() {
    let full = two_blocks(0);
    for cut in [1, 200, 285 - 79, 285, 289, 292] {
        let r = file(full[..full.len() - cut].to_vec())
            .scan(Network::Main)
            .unwrap();
        assert_eq!(r.blocks.len(), 1, "cut {cut}");
        assert_eq!(r.warnings.len(), 1, "cut {cut}");
        let w = r.warnings[0].to_string();
        assert!(
            w.starts_with("truncated record at offset 293 of /x/blk00007.dat"),
            "{w}"
        );
    }
}

#[test]
fn wrong_network_names_both() {
    let mut f = record(Network::Main, &genesis());
    f.extend(record(Network::Signet, &genesis()));
    assert_eq!(
        err(f),
        "wrong network: file /x/blk00007.dat at offset 293 has the signet magic, expected main"
    );
    let e = file(record(Network::Main, &genesis()))
        .scan(Network::Regtest)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "wrong network: file /x/blk00007.dat at offset 0 has the main magic, expected regtest"
    );
}

#[test]
fn garbage_is_an_error_with_offset_and_bytes() {
    let mut f = two_blocks(0);
    f.splice(293..293, [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
    assert_eq!(
        err(f),
        "unknown magic in /x/blk00007.dat at offset 293: found bytes deadbeef, expected the main magic f9beb4d9"
    );
}

#[test]
fn unknown_magic_at_start_hints_at_xor() {
    let e = err(vec![0x11; 1000]);
    assert!(e.contains("at offset 0: found bytes 11111111"), "{e}");
    assert!(
        e.ends_with("; if this is Bitcoin Core 28+ data, is blocks/xor.dat missing?"),
        "{e}"
    );
    let key = XorKey::new([0x11; 8]);
    let wrong_key = BlockFile::from_bytes("f", 0, vec![0x33; 1000], key);
    let e = wrong_key.scan(Network::Main).unwrap_err().to_string();
    assert!(
        e.contains("found bytes 22222222") && !e.contains("xor.dat"),
        "{e}"
    );
}

#[test]
fn bad_lengths_are_errors() {
    for len in [0u32, 79, 4_000_001, u32::MAX] {
        let mut f = record(Network::Main, &genesis());
        f.extend(Network::Main.magic());
        f.extend(len.to_le_bytes());
        f.resize(f.len() + 100, 0xaa);
        assert_eq!(
            err(f),
            format!("bad block length {len} in the record at offset 293 of /x/blk00007.dat: must be between 80 and 4000000")
        );
    }
}

#[test]
fn raw_blocks_are_detected_by_proof_of_work() {
    let f = file(genesis());
    let r = f.scan(Network::Main).unwrap();
    assert_eq!(r.format, FileFormat::RawBlock);
    assert_eq!(r.blocks.len(), 1);
    assert_eq!((r.blocks[0].offset, r.blocks[0].len), (0, 285));
    let mut b = Block::default();
    f.read_block(&r.blocks[0], &mut b).unwrap();
    assert_eq!(b.txs.len(), 1);
    // A header above the network's limit is not taken for a raw block.
    let mut easy = genesis();
    easy[72..76].copy_from_slice(&0x207f_ffffu32.to_le_bytes());
    let e = err(easy);
    assert!(
        e.starts_with("unknown magic in /x/blk00007.dat at offset 0"),
        "{e}"
    );
}

#[test]
fn obfuscated_files_read_like_plain_ones() {
    let key = XorKey::new([0x5a, 0x01, 0, 0xff, 0x80, 0x13, 0x37, 0x42]).unwrap();
    let plain = two_blocks(77);
    let mut obf = plain.clone();
    key.apply(&mut obf, 0);
    let a = file(plain).scan(Network::Main).unwrap();
    let f = BlockFile::from_bytes("/x/blk00007.dat", 7, obf.clone(), Some(key));
    let b = f.scan(Network::Main).unwrap();
    assert_eq!(a, b);
    let mut block = Block::default();
    for loc in &b.blocks {
        f.read_block(loc, &mut block).unwrap();
        assert_eq!(block.hash, Network::Main.genesis_hash());
    }
    let e = err(obf);
    assert!(
        e.contains("offset 0") && e.contains("is blocks/xor.dat missing?"),
        "{e}"
    );
}

#[test]
fn read_block_errors_name_file_offset_and_hash() {
    let mut f = two_blocks(0);
    f[293 + 8 + 150] ^= 0x20; // second block, coinbase text
    let bf = file(f);
    let r = bf.scan(Network::Main).unwrap();
    let mut b = Block::default();
    bf.read_block(&r.blocks[0], &mut b).unwrap();
    let e = bf.read_block(&r.blocks[1], &mut b).unwrap_err().to_string();
    assert_eq!(
        e,
        "merkle root mismatch in block 000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f \
         at offset 301 of /x/blk00007.dat: the transactions are corrupt"
    );

    let mut f = two_blocks(0);
    f[8 + 5] ^= 1; // first block, prev hash
    let bf = file(f);
    let r = bf.scan(Network::Main).unwrap();
    let e = bf.read_block(&r.blocks[0], &mut b).unwrap_err().to_string();
    let hash = r.blocks[0].hash.to_display_hex();
    assert_eq!(
        e,
        format!("block {hash} at offset 8 of /x/blk00007.dat fails proof of work (bits 1d00ffff): the header is corrupt")
    );

    let bad = BlockLoc {
        offset: 500,
        ..r.blocks[1]
    };
    let e = bf.read_block(&bad, &mut b).unwrap_err().to_string();
    assert_eq!(
        e,
        "block location (offset 500, length 285) lies outside /x/blk00007.dat (586 bytes)"
    );
}

#[test]
fn blocks_dir_lists_blk_files_in_number_order() {
    let dir = tempfile::tempdir().unwrap();
    let key = XorKey::new([1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    for name in [
        "blk00002.dat",
        "blk00000.dat",
        "blk00010.dat",
        "blk100000.dat",
    ] {
        let mut data = record(Network::Main, &genesis());
        key.apply(&mut data, 0);
        std::fs::write(dir.path().join(name), data).unwrap();
    }
    for name in [
        "rev00000.dat",
        "blk0001.dat",
        "blk0000x.dat",
        "notes.txt",
        "blk00003.dat.tmp",
    ] {
        std::fs::write(dir.path().join(name), b"junk").unwrap();
    }
    std::fs::write(dir.path().join("xor.dat"), key.bytes()).unwrap();
    let d = BlocksDir::open(dir.path(), Network::Main).unwrap();
    assert_eq!(d.xor(), Some(key));
    let idx: Vec<u32> = d.files().iter().map(|f| f.index).collect();
    assert_eq!(idx, [0, 2, 10, 100000]);
    assert!(d.files()[1].path.ends_with("blk00002.dat"));
    let f = d.open_file(&d.files()[2]).unwrap();
    assert_eq!(f.file_index(), 10);
    let r = f.scan(d.network()).unwrap();
    let mut b = Block::default();
    f.read_block(&r.blocks[0], &mut b).unwrap();
    assert_eq!(b.hash, Network::Main.genesis_hash());

    let missing = dir.path().join("nope");
    let e = BlocksDir::open(&missing, Network::Main)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!("cannot list blocks directory {}", missing.display())
    );
    let e = BlockFile::open(&missing, 0, None).unwrap_err().to_string();
    assert_eq!(e, format!("cannot read {}", missing.display()));
}

#[test]
fn explicit_files_are_indexed_by_position() {
    let d = BlocksDir::from_files(vec!["b.blk".into(), "a.dat".into()], Network::Signet);
    assert_eq!(
        d.files()[1],
        BlockFileEntry {
            path: "a.dat".into(),
            index: 1
        }
    );
    assert_eq!(d.xor(), None);
    assert_eq!(d.network(), Network::Signet);
}

#[test]
fn empty_file_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("blk00000.dat");
    std::fs::write(&p, b"").unwrap();
    let f = BlockFile::open(&p, 0, None).unwrap();
    assert!(f.is_empty());
    assert!(f.scan(Network::Main).unwrap().blocks.is_empty());
}

#[test]
fn short_location_reports_no_stale_hash() {
    let bf = file(two_blocks(0));
    let r = bf.scan(Network::Main).unwrap();
    let mut b = Block::default();
    bf.read_block(&r.blocks[0], &mut b).unwrap();
    let short = BlockLoc {
        len: 50,
        ..r.blocks[1]
    };
    let e = bf.read_block(&short, &mut b).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "cannot decode block {} at offset 301 of /x/blk00007.dat",
            Hash32::default()
        )
    );
}

#[test]
fn block_files_are_shareable_across_threads() {
    fn check<T: Send + Sync>() {}
    check::<BlockFile>();
    check::<BlocksDir>();
    check::<BtcError>();
}

/// Bitcoin Core 28+ obfuscates what it writes but pre-allocates the rest of
/// a file with plain zeros: after de-obfuscation the fill reads as the key.
#[test]
fn obfuscated_file_with_plain_zero_fill() {
    let key = [0x3c, 0xa1, 0x07, 0xfe, 0x55, 0x00, 0x91, 0x2b];
    let xor = XorKey::new(key);
    for zeros in [3, 8, 1000] {
        let mut bytes = two_blocks(0);
        xor.unwrap().apply(&mut bytes, 0);
        bytes.resize(bytes.len() + zeros, 0);
        let f = BlockFile::from_bytes("/x/blk00007.dat", 7, bytes, xor);
        let r = f.scan(Network::Main).unwrap();
        assert!(r.warnings.is_empty(), "{zeros}: {:?}", r.warnings);
        assert_eq!(r.blocks.len(), 2);
        let mut b = Block::default();
        f.read_block(&r.blocks[1], &mut b).unwrap();
        assert_eq!(b.hash, Network::Main.genesis_hash());
    }
}

#[test]
fn extract_writes_the_chosen_blocks_as_plain_records() {
    let dir = tempfile::tempdir().unwrap();
    let key = [9, 8, 7, 6, 5, 4, 3, 2];
    let mut bytes = two_blocks(100);
    let n = bytes.len() - 100;
    XorKey::new(key).unwrap().apply(&mut bytes[..n], 0);
    std::fs::write(dir.path().join("blk00000.dat"), &bytes).unwrap();
    std::fs::write(dir.path().join("xor.dat"), key).unwrap();
    let src = BlocksDir::open(dir.path(), Network::Main).unwrap();
    let out = dir.path().join("out.dat");
    let genesis = Network::Main.genesis_hash();
    assert_eq!(src.extract(&[genesis], &out).unwrap(), 8 + 285);
    let plain = BlockFile::open(&out, 0, None).unwrap();
    let r = plain.scan(Network::Main).unwrap();
    assert_eq!(r.blocks.len(), 1);
    assert_eq!(r.blocks[0].hash, genesis);
    let missing = Hash32([1; 32]);
    let err = src.extract(&[missing], &out).unwrap_err().to_string();
    assert!(err.contains(&missing.to_string()), "{err}");
}
