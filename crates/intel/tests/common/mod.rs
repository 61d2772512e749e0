//! Shared helpers: locating `../shared/data`, reading the TagPack archive
//! independently of the importer, importing into a temporary store.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};

use chainhound_intel::{Edition, ImportOptions, ImportReport, TagStore, TagWriter};

/// `../shared/data/<sub>`, or `None` (with a message) when it is absent.
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

pub const TAGPACKS: &str = "graphsense-tagpacks/graphsense-tagpacks-packs-actors.tar.xz";
pub const SDN_2025: &str = "ofac-sdn/sdn_advanced_2025-11-19.xml.bz2";

/// Every regular file of a `.tar.xz` (path, bytes), read with lzma-rust2 and
/// tar directly (not through the importer).
pub fn untar_xz(path: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let mut a = tar::Archive::new(lzma_rust2::XzReader::new(&bytes[..], true));
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if !e.header().entry_type().is_file() {
            continue;
        }
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut b = Vec::new();
        e.read_to_end(&mut b).unwrap();
        out.push((name, b));
    }
    out
}

/// Imports `edition` into the store in `dir` with every change listed.
pub fn import(dir: &Path, edition: Edition) -> ImportReport {
    let mut w = TagWriter::open(dir).unwrap();
    w.import(
        edition,
        &ImportOptions {
            now: Some(1_700_000_000),
            list_limit: usize::MAX,
        },
    )
    .unwrap()
}

pub fn open(dir: &Path) -> TagStore {
    TagStore::open(dir).unwrap()
}
