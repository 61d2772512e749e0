//! A process killed with SIGKILL in the middle of an ingest loses nothing
//! committed, and the resumed run answers every query byte-identically to an
//! uninterrupted one.

mod util;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::ok;

fn manifest_generation(data: &Path) -> Option<u64> {
    let bytes = std::fs::read(data.join("btc/MANIFEST")).ok()?;
    Some(u64::from_le_bytes(bytes.get(8..16)?.try_into().ok()?))
}

#[test]
fn sigkill_midway_then_resume_is_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = tmp.path().join("chain");
    ok(
        tmp.path(),
        &[
            "simulate",
            "--out",
            chain.to_str().unwrap(),
            "--txs",
            "60000",
            "--seed",
            "11",
            "--xor",
        ],
    );
    let blocks = chain.join("blocks");
    let blocks = blocks.to_str().unwrap();
    let ingest = [
        "ingest",
        "btc",
        "--network",
        "regtest",
        "--blocks-dir",
        blocks,
        "--commit-every",
        "2",
    ];

    let clean = tmp.path().join("clean");
    ok(&clean, &ingest);
    let want = ok(&clean, &["dump"]);

    let data = tmp.path().join("killed");
    let mut kills = 0;
    let mut killed_at = Vec::new();
    for round in 0..3u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chainhound"))
            .arg("--data")
            .arg(&data)
            .arg("--quiet")
            .args(ingest)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // wait for a few more commits than last time, then kill -9
        let start_gen = manifest_generation(&data).unwrap_or(0);
        let target = start_gen + 2 + round * 3;
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut finished = false;
        while Instant::now() < deadline {
            if let Some(_status) = child.try_wait().unwrap() {
                finished = true;
                break;
            }
            if manifest_generation(&data).unwrap_or(0) >= target {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if !finished {
            child.kill().unwrap(); // SIGKILL on Unix
            kills += 1;
        }
        child.wait().unwrap();
        if !finished {
            killed_at.push(manifest_generation(&data).unwrap_or(0));
        }
    }
    assert!(kills >= 1, "the ingest finished before it could be killed");
    // the store opens and reads after the kills
    ok(&data, &["stats"]);
    // resume to the end
    ok(&data, &ingest);
    let got = ok(&data, &["dump"]);
    assert_eq!(
        got.len(),
        want.len(),
        "killed {kills} times at generations {killed_at:?}"
    );
    assert!(
        got == want,
        "dump differs after {kills} kills at generations {killed_at:?}"
    );
}
