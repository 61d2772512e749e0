//! Bad input gets one clear error naming what and where, and never damages
//! the store.

mod util;

use std::fs;

use util::{chainhound, fails, ok, shared};

/// A blocks dir holding `bytes` as blk00000.dat.
fn blocks_dir(root: &std::path::Path, bytes: &[u8]) -> std::path::PathBuf {
    let d = root.join("blocks");
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join("blk00000.dat"), bytes).unwrap();
    d
}

#[test]
fn truncated_file_is_a_warning_and_a_skip() {
    let Some(src) = shared("btc-mainnet-blocks/bitcoinj/first-100k-blocks.dat") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let bytes = fs::read(&src).unwrap();
    // cut the file inside the 200th record
    let d = blocks_dir(tmp.path(), &bytes[..bytes.len() / 2]);
    let data = tmp.path().join("data");
    let r = chainhound(
        &data,
        &[
            "ingest",
            "btc",
            "--blocks-dir",
            d.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(r.ok, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let warnings = v["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = warnings[0].as_str().unwrap();
    assert!(w.contains("blk00000.dat") && w.contains("offset"), "{w}");
    let stored = v["appended"].as_u64().unwrap();
    assert!(stored > 100 && stored < 439, "{stored}");
}

#[test]
fn flipped_byte_names_file_and_offset_and_keeps_the_store() {
    let Some(src) = shared("btc-mainnet-blocks/bitcoinj/first-100k-blocks.dat") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let good = fs::read(&src).unwrap();
    let data = tmp.path().join("data");
    // first ingest the first 100 blocks cleanly
    let d = blocks_dir(tmp.path(), &good);
    ok(
        &data,
        &[
            "ingest",
            "btc",
            "--blocks-dir",
            d.to_str().unwrap(),
            "--max-blocks",
            "100",
        ],
    );
    let before = ok(&data, &["dump"]);
    // flip a byte in the last block's transaction data
    let mut bad = good.clone();
    let at = bad.len() - 60;
    bad[at] ^= 0x55;
    fs::write(d.join("blk00000.dat"), &bad).unwrap();
    let err = fails(
        &data,
        &["ingest", "btc", "--blocks-dir", d.to_str().unwrap()],
    );
    assert!(err.contains("blk00000.dat"), "{err}");
    assert!(err.contains("offset"), "{err}");
    assert!(err.to_lowercase().contains("merkle"), "{err}");
    // the blocks before the bad one were stored; nothing already stored changed
    let after = ok(&data, &["dump"]);
    assert!(after.len() > before.len());
    let stats: serde_json::Value = serde_json::from_str(&ok(&data, &["stats", "--json"])).unwrap();
    assert_eq!(
        stats["tip_height"], 437,
        "everything up to the damaged block 438"
    );
    // repairing the file lets the next run finish
    fs::write(d.join("blk00000.dat"), &good).unwrap();
    ok(
        &data,
        &["ingest", "btc", "--blocks-dir", d.to_str().unwrap()],
    );
    let fresh = tmp.path().join("fresh");
    ok(
        &fresh,
        &["ingest", "btc", "--blocks-dir", d.to_str().unwrap()],
    );
    assert_eq!(ok(&data, &["dump"]), ok(&fresh, &["dump"]));
}

#[test]
fn wrong_network_and_wrong_magic() {
    let Some(src) = shared("btc-mainnet-blocks/btcd/blk_0_to_4.dat") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = blocks_dir(tmp.path(), &fs::read(&src).unwrap());
    let data = tmp.path().join("data");
    let err = fails(
        &data,
        &[
            "ingest",
            "btc",
            "--blocks-dir",
            d.to_str().unwrap(),
            "--network",
            "regtest",
        ],
    );
    assert!(
        err.contains("blk00000.dat") && err.contains("main") && err.contains("regtest"),
        "{err}"
    );
    // garbage in place of a magic
    let mut bytes = fs::read(&src).unwrap();
    bytes[0] = 0x00;
    bytes[1] = 0x42;
    fs::write(d.join("blk00000.dat"), &bytes).unwrap();
    let err = fails(
        &data,
        &["ingest", "btc", "--blocks-dir", d.to_str().unwrap()],
    );
    assert!(
        err.contains("blk00000.dat") && err.contains("offset 0"),
        "{err}"
    );
    // the main store was never created with the wrong network
    ok(&data, &["ingest", "btc", "--file", src.to_str().unwrap()]);
    let err = fails(
        &data,
        &[
            "ingest",
            "btc",
            "--file",
            src.to_str().unwrap(),
            "--network",
            "signet",
        ],
    );
    assert!(err.contains("store holds the main chain"), "{err}");
}

#[test]
fn obfuscated_files_need_their_xor_key() {
    let Some(src) = shared("btc-mainnet-blocks/bitcoinj/first-100k-blocks.dat") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let key = [0x3c, 0xa1, 0x07, 0xfe, 0x55, 0x00, 0x91, 0x2b];
    let mut bytes = fs::read(&src).unwrap();
    for (i, b) in bytes.iter_mut().enumerate() {
        *b ^= key[i % 8];
    }
    let d = blocks_dir(tmp.path(), &bytes);
    fs::write(d.join("xor.dat"), key).unwrap();
    let a = tmp.path().join("a");
    ok(&a, &["ingest", "btc", "--blocks-dir", d.to_str().unwrap()]);
    let plain = tmp.path().join("b");
    ok(&plain, &["ingest", "btc", "--file", src.to_str().unwrap()]);
    assert_eq!(ok(&a, &["dump"]), ok(&plain, &["dump"]));
    fs::remove_file(d.join("xor.dat")).unwrap();
    let err = fails(
        &tmp.path().join("c"),
        &["ingest", "btc", "--blocks-dir", d.to_str().unwrap()],
    );
    assert!(
        err.contains("xor.dat") && err.contains("blk00000.dat"),
        "{err}"
    );
}

#[test]
fn unreadable_directory_and_bad_queries() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let missing = tmp.path().join("no-such-dir");
    let err = fails(
        &data,
        &["ingest", "btc", "--blocks-dir", missing.to_str().unwrap()],
    );
    assert!(err.contains("no-such-dir"), "{err}");
    let err = fails(&data, &["block", "0"]);
    assert!(err.contains("no store"), "{err}");
    let Some(src) = shared("btc-mainnet-blocks/btcd/blocks1-256.dat") else {
        return;
    };
    let g = shared("btc-mainnet-blocks/hadoopcryptoledger/genesis.blk").unwrap();
    ok(
        &data,
        &[
            "ingest",
            "btc",
            "--file",
            g.to_str().unwrap(),
            "--file",
            src.to_str().unwrap(),
        ],
    );
    for (args, needle) in [
        (vec!["tx", "xyz"], "64 hex digits"),
        (vec!["tx", &"ab".repeat(32)], "not in the store"),
        (vec!["block", "99999"], "not in the store"),
        (vec!["block", "-1"], "height or a 64-digit hash"),
        (
            vec!["address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyX"],
            "address",
        ),
        (vec!["address", "bc1qnotanaddress"], "bc1qnotanaddress"),
        (
            vec!["address", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"],
            "network",
        ),
    ] {
        let err = fails(&data, &args);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // queries still work afterwards
    assert!(ok(&data, &["block", "170"])
        .contains("00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"));
}

/// `chainhound dump | head -1`: a reader that hangs up ends the command
/// quietly (SIGPIPE), never with a panic message from `println!`.
#[test]
fn closed_stdout_ends_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    util::simulate(dir.path(), "2000", "3");
    let data = dir.path().join("data");
    util::ingest_simulated(&data, dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_chainhound"))
        .arg("--data")
        .arg(&data)
        .arg("dump")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is closed here, long before the dump is written out.
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    const SIGPIPE: i32 = 13; // Linux and the BSDs
    assert_eq!(
        status.signal(),
        Some(SIGPIPE),
        "status {status:?}, stderr {err}"
    );
    assert!(!err.contains("panicked"), "stderr: {err}");
}
