//! The benchmark chain: generated once by the simulator, reused afterwards.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use chainhound_btc::Network;
use chainhound_sim::truth::Truth;
use chainhound_sim::{simulate, SimConfig};

/// What the benchmark knows about its input.
pub struct Chain {
    /// The directory holding `blk*.dat` (and `xor.dat`).
    pub blocks_dir: PathBuf,
    /// Total bytes of the blk files.
    pub blk_bytes: u64,
    /// Number of blk files.
    pub files: usize,
    /// Main-chain blocks and transactions according to the simulator's truth.
    pub truth: Option<(u64, u64)>,
    /// Stale blocks written besides the main chain (from the truth).
    pub stale_blocks: Option<usize>,
}

/// The key `--xor` obfuscates the simulated blk files with.
pub const XOR_KEY: [u8; 8] = [0x5a, 0x3c, 0x96, 0xe1, 0x0f, 0x77, 0xb2, 0x48];

/// `target/bench-data/sim-<txs>-<seed>[-xor]` of this workspace.
pub fn default_work_dir(txs: u64, seed: u64, xor: bool) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/bench-data")
        .join(format!("sim-{txs}-{seed}{}", if xor { "-xor" } else { "" }))
}

/// Generates the simulated chain into `dir` unless a complete one (its
/// `truth.json`, written last, matches `txs`, `seed` and obfuscation) is
/// already there.
pub fn ensure_sim(dir: &Path, txs: u64, seed: u64, xor: bool) -> Result<Chain> {
    let reusable = Truth::load(dir).ok().filter(|t| {
        t.config.txs == txs && t.config.seed == seed && t.config.xor_key.is_some() == xor
    });
    let truth = match reusable {
        Some(t) => {
            eprintln!("reusing simulated chain in {}", dir.display());
            t
        }
        None => {
            // Remove what a different or interrupted run may have left.
            let _ = fs::remove_file(dir.join(chainhound_sim::TRUTH_FILE));
            let _ = fs::remove_dir_all(dir.join("blocks"));
            eprintln!(
                "simulating {txs} transactions (seed {seed}) into {}",
                dir.display()
            );
            let mut cfg = SimConfig::new(txs, seed);
            cfg.xor_key = xor.then_some(XOR_KEY);
            let t0 = Instant::now();
            let mut next = 0u64;
            let s = simulate(&cfg, dir, &mut |n| {
                if n >= next {
                    eprint!("\r  {n} txs");
                    next = n + 100_000;
                }
            })
            .with_context(|| format!("simulating into {}", dir.display()))?;
            eprintln!(
                "\r  {} blocks (+{} stale), {} txs, {} inputs, {} outputs, {} bytes in {} files, {:.1} s",
                s.blocks,
                s.stale_blocks,
                s.txs,
                s.inputs,
                s.outputs,
                s.bytes,
                s.files,
                t0.elapsed().as_secs_f64()
            );
            Truth::load(dir).context("reading the truth just written")?
        }
    };
    let mut chain = existing(&dir.join("blocks"))?;
    chain.truth = Some((u64::from(truth.blocks), truth.txs));
    chain.stale_blocks = Some(truth.stale_blocks.len());
    Ok(chain)
}

/// A blocks directory given by the user (no truth to check against).
pub fn existing(blocks_dir: &Path) -> Result<Chain> {
    let blocks_dir = &fs::canonicalize(blocks_dir)
        .with_context(|| format!("no directory {}", blocks_dir.display()))?;
    let files = blk_files(blocks_dir)?;
    anyhow::ensure!(!files.is_empty(), "no blk*.dat in {}", blocks_dir.display());
    let mut blk_bytes = 0;
    for f in &files {
        blk_bytes += fs::metadata(f)?.len();
    }
    Ok(Chain {
        blocks_dir: blocks_dir.to_path_buf(),
        blk_bytes,
        files: files.len(),
        truth: None,
        stale_blocks: None,
    })
}

/// `blk*.dat` of `dir` in file-number order.
pub fn blk_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| {
            let p = e.ok()?.path();
            let name = p.file_name()?.to_str()?;
            let num = name
                .strip_prefix("blk")?
                .strip_suffix(".dat")?
                .parse()
                .ok()?;
            Some((num, p))
        })
        .collect();
    v.sort();
    Ok(v.into_iter().map(|x| x.1).collect())
}

/// The obfuscation key of `xor.dat`, if present and not all zeros.
pub fn xor_key(dir: &Path) -> Result<Option<[u8; 8]>> {
    let p = dir.join("xor.dat");
    if !p.exists() {
        return Ok(None);
    }
    let b = fs::read(&p)?;
    let k: [u8; 8] = b
        .as_slice()
        .try_into()
        .with_context(|| format!("{} is not 8 bytes", p.display()))?;
    Ok((k != [0; 8]).then_some(k))
}

/// The network whose magic starts the first blk file.
pub fn detect_network(dir: &Path) -> Result<Network> {
    let first = blk_files(dir)?.into_iter().next().context("no blk files")?;
    let mut magic = [0u8; 4];
    std::io::Read::read_exact(&mut fs::File::open(&first)?, &mut magic)?;
    if let Some(k) = xor_key(dir)? {
        for (i, b) in magic.iter_mut().enumerate() {
            *b ^= k[i];
        }
    }
    Network::from_magic(magic)
        .with_context(|| format!("{}: unknown magic {magic:02x?}", first.display()))
}
