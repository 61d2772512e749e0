//! Throughput of `chainhound-scan`, printed as figures (BENCHMARKS.md):
//!
//! * file scanning (MB/s) with the built-in rules plus every rule file of
//!   `../shared/data/cryptojacking-indicators`, side by side with the C
//!   `yara` tool (Debian `yara`) on the same files and rules, same thread
//!   count, warm page cache, median of several runs, and the ratio;
//! * pcap scanning (packets/s, MB/s) on a capture written here.
//!
//! `cargo run --release -p chainhound-scan --example bench_scan [-- RUNS [DIR...]]`
//! With DIRs, those directories are scanned as well (e.g. /usr/bin).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use chainhound_scan::files::{scan_paths, FileScanOptions};
use chainhound_scan::indicators::Indicators;
use chainhound_scan::net::scan_capture;
use chainhound_scan::net::write::{FrameBuilder, PcapWriter, TcpSession, FRAME_LINKTYPE};
use chainhound_scan::rules::{RuleInput, Rules};

/// User plus system CPU seconds of this process (`RUSAGE_SELF`) or of its
/// waited-for children (`RUSAGE_CHILDREN`).
fn cpu(who: i32) -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Deterministic bytes (xorshift), half binary noise, half text-like.
fn fill(buf: &mut [u8], mut x: u64) {
    for (i, b) in buf.iter_mut().enumerate() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = if (i / 4096) % 2 == 0 {
            x as u8
        } else {
            b" etaoinshrdlucmfwypvbgkqjxz0123456789\n"[(x % 38) as usize]
        };
    }
}

fn corpus(dir: &Path) -> u64 {
    let mut total = 0;
    for i in 0..64u64 {
        let mut buf = vec![0u8; 2 << 20];
        fill(&mut buf, 0x9e37_79b9_7f4a_7c15 ^ i);
        if i % 16 == 0 {
            // A few files carry miner strings, as an infected tree would.
            let s = b"stratum+tcp://pool.minexmr.com:4444 --donate-level 1 mining.subscribe mining.authorize mining.notify";
            buf[1000..1000 + s.len()].copy_from_slice(s);
        }
        std::fs::write(dir.join(format!("f{i:02}.bin")), &buf).unwrap();
        total += buf.len() as u64;
    }
    total
}

fn du(paths: &[PathBuf]) -> u64 {
    fn walk(p: &Path) -> u64 {
        let Ok(m) = std::fs::symlink_metadata(p) else {
            return 0;
        };
        if m.is_dir() {
            std::fs::read_dir(p)
                .map(|r| r.filter_map(|e| e.ok()).map(|e| walk(&e.path())).sum())
                .unwrap_or(0)
        } else if m.is_file() {
            m.len()
        } else {
            0
        }
    }
    paths.iter().map(|p| walk(p)).sum()
}

fn yara_args(rule_files: &[PathBuf]) -> Vec<String> {
    rule_files
        .iter()
        .map(|f| {
            let ns = f.file_stem().unwrap().to_string_lossy().replace('-', "_");
            format!("{ns}:{}", f.display())
        })
        .collect()
}

fn bench_files(
    label: &str,
    targets: &[PathBuf],
    runs: usize,
    rule_files: &[PathBuf],
    threads: usize,
) {
    let bytes = du(targets);
    let inputs: Vec<RuleInput> = std::iter::once(RuleInput::Builtin)
        .chain(rule_files.iter().skip(1).cloned().map(RuleInput::Path))
        .collect();
    let t = Instant::now();
    let rules = Rules::compile(&inputs).unwrap();
    let compile = t.elapsed().as_secs_f64();
    let opts = FileScanOptions {
        threads,
        ..FileScanOptions::default()
    };
    let mut ours = Vec::new();
    let mut ours_cpu = Vec::new();
    let mut matched = 0;
    for i in 0..=runs {
        let (t, c) = (Instant::now(), cpu(libc::RUSAGE_SELF));
        let r = scan_paths(&rules, targets, &opts, &|_| {});
        if i > 0 {
            // run 0 warms the page cache
            ours.push(t.elapsed().as_secs_f64());
            ours_cpu.push(cpu(libc::RUSAGE_SELF) - c);
        }
        matched = r.matches.len();
    }
    let (ours_s, ours_c) = (median(ours), median(ours_cpu));
    let mb = bytes as f64 / 1e6;
    println!(
        "{label}: {:.1} MiB, {} rules; boreal: compile {:.3} s, scan median {:.3} s wall = {:.1} MB/s, {:.3} CPU-s = {:.1} MB per CPU-s ({} files matched, {threads} threads)",
        bytes as f64 / (1 << 20) as f64,
        rules.rule_count(),
        compile,
        ours_s,
        mb / ours_s,
        ours_c,
        mb / ours_c,
        matched
    );
    let yara = Command::new("yara").arg("--version").output();
    let Ok(v) = yara else {
        println!("{label}: yara not installed (apt-get install yara): no comparison");
        return;
    };
    let version = String::from_utf8_lossy(&v.stdout).trim().to_string();
    let args = yara_args(rule_files);
    // yara's own compile time: the same rules on an empty input.
    let mut compile_y = Vec::new();
    let mut compile_yc = Vec::new();
    for _ in 0..3 {
        let (t, c) = (Instant::now(), cpu(libc::RUSAGE_CHILDREN));
        let o = Command::new("yara")
            .args(&args)
            .arg("/dev/null")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        compile_y.push(t.elapsed().as_secs_f64());
        compile_yc.push(cpu(libc::RUSAGE_CHILDREN) - c);
    }
    let (compile_y, compile_yc) = (median(compile_y), median(compile_yc));
    let mut theirs = Vec::new();
    let mut theirs_cpu = Vec::new();
    let mut ymatched = 0;
    for i in 0..=runs {
        let (t, c) = (Instant::now(), cpu(libc::RUSAGE_CHILDREN));
        let o = Command::new("yara")
            .args(["-r", "-N", "-p", &threads.to_string()])
            .args(&args)
            .args(targets)
            .output()
            .unwrap();
        let s = t.elapsed().as_secs_f64();
        if i > 0 {
            theirs.push(s - compile_y);
            theirs_cpu.push(cpu(libc::RUSAGE_CHILDREN) - c - compile_yc);
        }
        let out = String::from_utf8_lossy(&o.stdout);
        let mut files: Vec<&str> = out
            .lines()
            .filter_map(|l| l.split_once(' ').map(|x| x.1))
            .collect();
        files.sort();
        files.dedup();
        ymatched = files.len();
    }
    let (theirs_s, theirs_c) = (median(theirs), median(theirs_cpu));
    println!(
        "{label}: yara {version}: compile {:.3} s, scan median {:.3} s wall = {:.1} MB/s, {:.3} CPU-s = {:.1} MB per CPU-s ({} files matched)",
        compile_y,
        theirs_s,
        mb / theirs_s,
        theirs_c,
        mb / theirs_c,
        ymatched,
    );
    println!(
        "{label}: boreal/yara throughput ratio: wall {:.2}, per CPU-second {:.2}",
        theirs_s / ours_s,
        theirs_c / ours_c
    );
}

fn bench_pcap(runs: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.pcap");
    let mut w = PcapWriter::new(
        std::io::BufWriter::new(std::fs::File::create(&path).unwrap()),
        FRAME_LINKTYPE,
    )
    .unwrap();
    let mut fb = FrameBuilder::new();
    let mut packets = 0u64;
    let mut noise = vec![0u8; 1400];
    let pool: SocketAddr = "198.51.100.20:3333".parse().unwrap();
    let web: SocketAddr = "203.0.113.80:443".parse().unwrap();
    let t0 = 1_763_776_800_000_000_000i64;
    for i in 0..20_000u32 {
        let client = SocketAddr::from((
            [10, (i >> 16) as u8, (i >> 8) as u8, i as u8],
            40_000 + (i % 20_000) as u16,
        ));
        let mut s = if i % 10 == 0 {
            let mut s = TcpSession::open(client, pool, t0 + i64::from(i) * 1_000_000, 1460);
            s.send(
                true,
                b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"cgminer/4.10.0\"]}\n",
            );
            s.send(false, b"{\"id\":1,\"result\":[[[\"mining.notify\",\"ae68\"]],\"08000002\",4],\"error\":null}\n");
            s.send(true, b"{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"4AQe5sAFWZKECiaeNTt59LG7kVtqRoSRJMjrmQ6GiMFAeUvoL3MFeTE6zwwHkFPrAyNw2JHDxUSWL82RiZThPpk4SEg7Vqe.w1\",\"x\"]}\n");
            for _ in 0..5 {
                s.send(false, b"{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"bf\",\"4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000\",\"01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff\",\"072f736c7573682f\",[],\"00000002\",\"1c2ac4af\",\"504e86b9\",false]}\n");
            }
            s
        } else {
            // Other traffic: a request and a megabyte-ish of binary answer.
            let mut s = TcpSession::open(client, web, t0 + i64::from(i) * 1_000_000, 1460);
            s.send(true, b"\x16\x03\x01\x00\x05hello");
            fill(&mut noise, u64::from(i) + 1);
            for _ in 0..8 {
                s.send(false, &noise);
            }
            s
        };
        s.close();
        for (ts, f) in &s.frames {
            w.packet(*ts, f).unwrap();
            packets += 1;
        }
        if i % 100 == 0 {
            let dns = chainhound_scan::net::proto::dns_query(i as u16, "pool.supportxmr.com");
            let f = fb.udp(
                SocketAddr::new(client.ip(), 5353),
                "10.0.0.1:53".parse().unwrap(),
                &dns,
            );
            w.packet(t0, &f).unwrap();
            packets += 1;
        }
    }
    w.finish().unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    let ind = Indicators::builtin();
    let mut times = Vec::new();
    let mut flows = 0;
    for i in 0..=runs {
        let t = Instant::now();
        let r = scan_capture(&path, &ind, &mut |_| {}).unwrap();
        if i > 0 {
            times.push(t.elapsed().as_secs_f64());
        }
        assert_eq!(r.packets, packets);
        flows = r.flows.len();
    }
    let s = median(times);
    println!(
        "pcap: {packets} packets, {:.1} MiB, 20000 TCP flows ({flows} mining flows reported): median {:.3} s = {:.0} packets/s, {:.1} MB/s (incl. SHA-256 of the file)",
        size as f64 / (1 << 20) as f64,
        s,
        packets as f64 / s,
        size as f64 / 1e6 / s
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(5);
    let extra: Vec<PathBuf> = args.iter().skip(1).map(PathBuf::from).collect();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "runs {runs} (median; one warm-up run first); load average at start: {}",
        load.trim()
    );
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cryptojacking-indicators");
    // rule_files[0] is the built-in file (on disk for yara's sake).
    let mut rule_files =
        vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/chainhound_miners.yar")];
    for sub in ["yara-signature-base", "yara-rules-project"] {
        if let Ok(rd) = std::fs::read_dir(shared.join(sub)) {
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "yar"))
                .collect();
            v.sort();
            rule_files.extend(v);
        }
    }
    if rule_files.len() == 1 {
        println!("note: {} is absent: built-in rules only", shared.display());
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let target = [dir.path().to_path_buf()];
    let sets: [(&str, &[PathBuf]); 2] = [
        ("all rules", &rule_files),
        ("built-in rules", &rule_files[..1]),
    ];
    for (name, set) in sets {
        bench_files(
            &format!("synthetic 64 x 2 MiB, {name}"),
            &target,
            runs,
            set,
            threads,
        );
    }
    for d in &extra {
        for (name, set) in sets {
            let label = format!("{}, {name}", d.display());
            bench_files(&label, std::slice::from_ref(d), runs, set, threads);
        }
    }
    bench_pcap(runs);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at end: {}", load.trim());
}
