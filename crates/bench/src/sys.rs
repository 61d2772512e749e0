//! Process plumbing: CPU pinning, child processes with their own resource
//! usage, and the peak resident set.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Pins the calling process (and every thread it creates afterwards) to `cpu`
/// with `sched_setaffinity(2)`.
pub fn pin_to_cpu(cpu: usize) -> Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET only write into it and
    // sched_setaffinity reads it. pid 0 is the calling thread (the main
    // thread, before any other thread exists, so the whole process).
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc != 0 {
        bail!(
            "sched_setaffinity(cpu {cpu}): {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// `VmHWM` (peak resident set, file-backed pages included) of this process, in KiB.
pub fn vm_hwm_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// `RssAnon` (anonymous resident memory: heap, not mapped files) now, KiB.
pub fn rss_anon_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Samples [`rss_anon_kib`] every 10 ms on a thread of its own until
/// [`AnonSampler::stop`], which returns the largest value seen. The kernel
/// keeps a peak only for the whole resident set (`VmHWM`, mapped files
/// included), so the anonymous peak has to be sampled.
pub struct AnonSampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<u64>,
}

impl AnonSampler {
    /// Starts sampling.
    pub fn start() -> AnonSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut peak = rss_anon_kib();
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
                peak = peak.max(rss_anon_kib());
            }
            peak
        });
        AnonSampler { stop, handle }
    }

    /// Stops sampling; the peak in KiB (one last sample included).
    pub fn stop(self) -> u64 {
        let now = rss_anon_kib();
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or(0).max(now)
    }
}

/// User + system CPU seconds used by this process so far.
pub fn self_cpu_s() -> f64 {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn tv(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

/// What a finished child process used.
pub struct ChildRun {
    /// Its stdout.
    pub stdout: String,
    /// Wall seconds from spawn to exit.
    pub wall_s: f64,
    /// `ru_maxrss` of this child alone (from `wait4`), KiB.
    pub maxrss_kib: u64,
    /// User + system CPU seconds of this child.
    pub cpu_s: f64,
}

/// Runs `cmd` to completion, stdout captured, stderr passed through, and
/// reaps it with `wait4(2)` so that its resource usage is its own (unlike
/// `RUSAGE_CHILDREN`, which is a maximum over every child reaped so far).
pub fn run_child(cmd: &mut Command) -> Result<ChildRun> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let t0 = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("spawning {cmd:?}"))?;
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .context("child stdout")?
        .read_to_string(&mut stdout)?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: wait4 writes the status and the zeroed rusage it is given; the
    // child is ours and not yet reaped (std only reaps in wait/try_wait).
    let (rc, ru) = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        let rc = libc::wait4(pid, &mut status, 0, &mut ru);
        (rc, ru)
    };
    let wall_s = t0.elapsed().as_secs_f64();
    if rc != pid {
        bail!("wait4({pid}): {}", std::io::Error::last_os_error());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("{cmd:?} failed (wait status {status:#x})");
    }
    Ok(ChildRun {
        stdout,
        wall_s,
        maxrss_kib: ru.ru_maxrss as u64,
        cpu_s: tv(ru.ru_utime) + tv(ru.ru_stime),
    })
}

/// The CPU model name from `/proc/cpuinfo`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Online CPUs.
pub fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The 1-, 5- and 15-minute load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
