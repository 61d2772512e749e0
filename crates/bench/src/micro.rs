//! Component figures: block decoding and header scanning on a real block, and
//! the simulator's generation speed. Printed, never asserted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bitcoin::consensus::deserialize;
use chainhound_btc::{BlockFile, Network, ReadOptions, XorKey};
use chainhound_sim::{simulate, SimConfig};
use chainhound_types::Block;

/// Median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    t[t.len() / 2]
}

/// Decodes mainnet block 702,861 (2,500 txs) `rounds` times three ways, then
/// scans and reads a ~130 MB blk file of copies of it, plain and obfuscated.
pub fn decode(block: &Path, rounds: usize) -> Result<()> {
    let bytes = std::fs::read(block).with_context(|| format!("reading {}", block.display()))?;
    let mb = bytes.len() as f64 / 1e6;
    let file = BlockFile::from_bytes(block, 0, bytes.clone(), None);
    let loc = file.scan(Network::Main)?.blocks[0];
    let mut out = Block::default();
    let ours = median(rounds, || {
        file.read_block(&loc, &mut out)
            .expect("a real block decodes")
    });
    let mut lax = ReadOptions::default();
    lax.witness_commitment = false;
    let ours_lax = median(rounds, || {
        file.read_block_with(&loc, &mut out, &lax).expect("decodes")
    });
    let bare = median(rounds, || {
        let b: bitcoin::Block = deserialize(&bytes).expect("decodes");
        assert!(b.check_merkle_root());
        let txids: usize = b
            .txdata
            .iter()
            .map(|t| usize::from(bitcoin::hashes::Hash::to_byte_array(t.compute_txid())[0]))
            .sum();
        std::hint::black_box(txids);
    });
    println!(
        "block {} ({:.2} MB), median of {rounds} runs:",
        block.display(),
        mb
    );
    for (name, d) in [
        ("read_block (all checks)", ours),
        ("read_block without witness commitment", ours_lax),
        ("rust-bitcoin deserialize + txids + merkle", bare),
    ] {
        println!(
            "  {name:<42} {:>8.3} ms  {:>6.0} MB/s",
            d.as_secs_f64() * 1e3,
            mb / d.as_secs_f64()
        );
    }
    let dir = tempfile::tempdir()?;
    let mut big = Vec::new();
    for _ in 0..95 {
        big.extend_from_slice(&Network::Main.magic());
        big.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        big.extend_from_slice(&bytes);
    }
    for xor in [None, XorKey::new(*b"chainhnd")] {
        let mut data = big.clone();
        if let Some(k) = xor {
            k.apply(&mut data, 0);
        }
        let p = dir.path().join("blk00000.dat");
        std::fs::write(&p, &data)?;
        let f = BlockFile::open(&p, 0, xor)?;
        let t = Instant::now();
        let r = f.scan(Network::Main)?;
        let scan = t.elapsed();
        let t = Instant::now();
        for loc in &r.blocks {
            f.read_block(loc, &mut out)?;
        }
        let read = t.elapsed();
        println!(
            "  {} MB blk file, xor {:<5}: header scan of {} blocks {:?}, read all {:?} ({:.0} MB/s)",
            data.len() / 1_000_000,
            xor.is_some(),
            r.blocks.len(),
            scan,
            read,
            data.len() as f64 / 1e6 / read.as_secs_f64()
        );
    }
    Ok(())
}

/// Times the simulator at each size.
pub fn simulate_speed(sizes: &[u64], work: Option<PathBuf>) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let base = work.unwrap_or_else(|| tmp.path().to_path_buf());
    for &n in sizes {
        let dir = base.join(format!("sim-speed-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        let t = Instant::now();
        let s = simulate(&SimConfig::new(n, 1), &dir, &mut |_| {})?;
        let dt = t.elapsed().as_secs_f64();
        println!(
            "{n} txs: {dt:.2} s, {:.0} tx/s, {} blocks, {} MB in {} files, {} addresses, {} laundering txs",
            n as f64 / dt,
            s.blocks,
            s.bytes / 1_000_000,
            s.files,
            s.addresses,
            s.laundering_txs
        );
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}
