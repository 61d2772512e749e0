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
