//! Runs the real `chainhound` binary in a temporary directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn shared(sub: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(sub);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: {} is absent; this test needs ../shared/data",
            p.display()
        );
        None
    }
}

pub struct Run {
    pub ok: bool,
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn chainhound(data: &Path, args: &[&str]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_chainhound"))
        .arg("--data")
        .arg(data)
        .arg("--quiet")
        .args(args)
        .output()
        .expect("the binary runs");
    Run {
        ok: out.status.success(),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs and requires success.
pub fn ok(data: &Path, args: &[&str]) -> String {
    let r = chainhound(data, args);
    assert!(r.ok, "chainhound {args:?} failed: {}", r.stderr);
    r.stdout
}

/// Runs and requires failure; returns stderr.
pub fn fails(data: &Path, args: &[&str]) -> String {
    let r = chainhound(data, args);
    assert!(
        !r.ok,
        "chainhound {args:?} should fail but printed {}",
        r.stdout
    );
    r.stderr
}

/// Simulates `txs` transactions into `dir/chain` and returns the ground
/// truth (`truth.json`).
pub fn simulate(dir: &Path, txs: &str, seed: &str) -> serde_json::Value {
    let chain = dir.join("chain");
    ok(
        dir,
        &[
            "simulate",
            "--out",
            chain.to_str().unwrap(),
            "--txs",
            txs,
            "--seed",
            seed,
        ],
    );
    let truth = std::fs::read_to_string(chain.join("truth.json")).unwrap();
    serde_json::from_str(&truth).unwrap_or_else(|e| panic!("{e}: {truth}"))
}

/// The arguments that ingest the chain [`simulate`] wrote into `dir`.
pub fn ingest_args(dir: &Path) -> Vec<String> {
    let blocks = dir.join("chain").join("blocks");
    [
        "ingest",
        "btc",
        "--network",
        "regtest",
        "--blocks-dir",
        blocks.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

/// Ingests the chain [`simulate`] wrote into `dir` into `data`.
pub fn ingest_simulated(data: &Path, dir: &Path) {
    let args = ingest_args(dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(data, &args);
}
