//! Tag import and lookup throughput (prints figures, asserts nothing).
//!
//! ```text
//! cargo run --release -p chainhound-intel --example bench_tags -- \
//!     [--tagpacks PATH] [--ofac PATH] [--runs N]
//! ```
//!
//! Defaults to the copies in `../shared/data` (TagPacks `.tar.xz`, OFAC
//! `.xml.bz2`); `--tagpacks` also takes an extracted directory. For each
//! input, medians of N runs:
//!
//! * **parse**: reading, decompressing and parsing into a tag set;
//! * **import**: parse plus writing the store (a new source) — the figure
//!   `chainhound import` users wait for;
//! * **re-import**: parse plus writing over the same edition (the diff
//!   against 524k old tags included);
//! * **open**: `TagStore::open`; **lookup**: `tags_for` over every stored
//!   address (hits) and over as many absent addresses (misses).
//!
//! Wall time and process CPU time (user + system, all threads, from
//! `/proc/self/stat`) are both shown: the importer reads and parses on
//! several threads.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chainhound_intel::import::{ofac, tagpack};
use chainhound_intel::{Edition, ImportOptions, Result, TagStore, TagWriter};

/// Process CPU seconds (user + system, all threads).
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // fields 14 and 15 of stat(5); `after` starts at field 3
    (ticks(11) + ticks(12)) / 100.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Timed {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

impl Timed {
    fn new() -> Timed {
        Timed {
            wall: Vec::new(),
            cpu: Vec::new(),
        }
    }
    fn run<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let (t, c) = (Instant::now(), cpu());
        let out = f();
        self.wall.push(t.elapsed().as_secs_f64());
        self.cpu.push(cpu() - c);
        out
    }
    fn line(&self, name: &str, what: &str, n: usize) {
        let w = median(self.wall.clone());
        println!(
            "{name:<9} {what:<10} {n:>8} tags  wall {w:>7.3} s  cpu {:>6.2} s  {:>9.0} tags/s",
            median(self.cpu.clone()),
            n as f64 / w
        );
    }
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "chainhound-bench-tags-{}-{tag}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn store(dir: &Path, e: Edition) -> Result<()> {
    TagWriter::open(dir)?.import(e, &ImportOptions::default())?;
    Ok(())
}

fn bench(name: &str, runs: usize, load: &dyn Fn() -> Result<Edition>) -> Result<()> {
    let (mut parse, mut import, mut reimport) = (Timed::new(), Timed::new(), Timed::new());
    let mut n = 0;
    for _ in 0..runs {
        n = parse.run(load)?.tags.len();
    }
    parse.line(name, "parse", n);
    let dir = scratch(name);
    for _ in 0..runs {
        let _ = std::fs::remove_dir_all(&dir);
        import.run(|| store(&dir, load()?))?;
    }
    import.line(name, "import", n);
    for _ in 0..runs {
        reimport.run(|| store(&dir, load()?))?;
    }
    reimport.line(name, "re-import", n);
    let mut open = Timed::new();
    let mut s = None;
    for _ in 0..runs.max(5) {
        s = Some(open.run(|| TagStore::open(&dir))?);
    }
    let s = s.expect("opened");
    let addrs: Vec<String> = s.tags().map(|t| t.address).collect();
    let t = Instant::now();
    let hits: usize = addrs.iter().map(|a| s.tags_for(a).len()).sum();
    let hit = t.elapsed().as_secs_f64() / addrs.len().max(1) as f64;
    let misses: Vec<String> = addrs.iter().map(|a| format!("{a}x")).collect();
    let t = Instant::now();
    let missed: usize = misses.iter().map(|a| s.tags_for(a).len()).sum();
    let miss = t.elapsed().as_secs_f64() / misses.len().max(1) as f64;
    println!(
        "{name:<9} open {:>6.1} ms; tags_for: {:.2} µs per hit ({} addresses, {hits} tags), {:.2} µs per miss ({missed})",
        median(open.wall.clone()) * 1e3,
        hit * 1e6,
        addrs.len(),
        miss * 1e6,
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn main() -> Result<()> {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let mut tagpacks = shared.join("graphsense-tagpacks/graphsense-tagpacks-packs-actors.tar.xz");
    let mut sdn = shared.join("ofac-sdn/sdn_advanced_2025-11-19.xml.bz2");
    let mut runs = 3;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--tagpacks" => tagpacks = v.into(),
            "--ofac" => sdn = v.into(),
            "--runs" => runs = v.parse().unwrap_or(3).max(1),
            _ => {
                eprintln!("usage: bench_tags [--tagpacks PATH] [--ofac PATH] [--runs N]");
                std::process::exit(2);
            }
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("runs: {runs} (medians); {threads} CPUs");
    println!("tagpacks: {}", tagpacks.display());
    bench("tagpacks", runs, &|| {
        tagpack::load(&tagpacks, &tagpack::TagPackOptions::default())
    })?;
    println!("ofac: {}", sdn.display());
    bench("ofac-xml", runs, &|| {
        ofac::load(&sdn, &ofac::OfacOptions::default())
    })?;
    Ok(())
}
