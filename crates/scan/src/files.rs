//! `scan files`: walks paths recursively and scans every regular file with
//! the [`Rules`] on several threads.
//!
//! What cannot be scanned is a [`Warning`], never an abort: unreadable files
//! and directories, FIFOs, sockets and devices (skipped without opening them
//! for reading, so a FIFO never blocks the scan), symlink loops, dangling
//! links, and files over the size limit. Files are read whole into memory
//! (no memory maps: a file truncated under a map would kill the process), so
//! memory is bounded by `threads × max_size`.

use std::collections::HashSet;
use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};

use crate::report::Warning;
use crate::rules::{RuleMatch, Rules};

/// Default size limit: larger files are skipped with a warning.
pub const DEFAULT_MAX_SIZE: u64 = 256 << 20;

/// Options of [`scan_paths`].
#[derive(Clone, Debug)]
pub struct FileScanOptions {
    /// Files larger than this are skipped with a warning.
    pub max_size: u64,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Follow symbolic links met while walking directories (links named on
    /// the command line are always followed). Loops are detected and warned.
    pub follow_links: bool,
}

impl Default for FileScanOptions {
    fn default() -> Self {
        FileScanOptions {
            max_size: DEFAULT_MAX_SIZE,
            threads: 0,
            follow_links: false,
        }
    }
}

/// The rules that matched one file.
#[derive(Clone, Debug)]
pub struct FileMatch {
    /// The file as found (under the path given).
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes scanned (hex).
    pub sha256: String,
    /// The rules that matched, in rule order.
    pub matches: Vec<RuleMatch>,
}

/// Result of [`scan_paths`].
#[derive(Clone, Debug, Default)]
pub struct FileScanReport {
    /// Files scanned (read whole and run through the rules).
    pub files_scanned: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Files with at least one matching rule, sorted by path.
    pub matches: Vec<FileMatch>,
    /// What could not be scanned, sorted by path.
    pub warnings: Vec<Warning>,
}

struct Walker<'a> {
    opts: &'a FileScanOptions,
    /// (device, inode) of directories entered, to break loops.
    dirs: HashSet<(u64, u64)>,
    jobs: mpsc::SyncSender<(PathBuf, u64)>,
    warnings: Vec<Warning>,
}

fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

impl Walker<'_> {
    fn warn(&mut self, path: &Path, message: String) {
        tracing::debug!("{}: {message}", path.display());
        self.warnings.push(Warning::file(path, None, message));
    }

    fn visit(&mut self, path: &Path, explicit: bool) {
        let lmeta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) => return self.warn(path, format!("cannot read metadata: {e}")),
        };
        let meta = if lmeta.file_type().is_symlink() {
            if !explicit && !self.opts.follow_links {
                return; // like ripgrep and find: links are not followed by default
            }
            match std::fs::metadata(path) {
                Ok(m) => m,
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    return self.warn(path, "symbolic link loop; skipped".into())
                }
                Err(e) => return self.warn(path, format!("dangling or unreadable link: {e}")),
            }
        } else {
            lmeta
        };
        if meta.is_dir() {
            if !self.dirs.insert((meta.dev(), meta.ino())) {
                return self.warn(
                    path,
                    "directory already visited (symbolic link loop); skipped".into(),
                );
            }
            let entries = match std::fs::read_dir(path) {
                Ok(r) => r,
                Err(e) => return self.warn(path, format!("cannot read directory: {e}")),
            };
            let mut names: Vec<PathBuf> = Vec::new();
            for e in entries {
                match e {
                    Ok(e) => names.push(e.path()),
                    Err(e) => self.warn(path, format!("cannot read directory entry: {e}")),
                }
            }
            names.sort();
            for p in names {
                self.visit(&p, false);
            }
        } else if meta.is_file() {
            if meta.len() > self.opts.max_size {
                return self.warn(
                    path,
                    format!(
                        "{} bytes exceeds the size limit of {} bytes (--max-size); skipped",
                        meta.len(),
                        self.opts.max_size
                    ),
                );
            }
            // The receiver only goes away if every worker panicked.
            let _ = self.jobs.send((path.to_path_buf(), meta.len()));
        } else {
            self.warn(path, format!("{}; skipped", kind_of(&meta)));
        }
    }
}

enum Outcome {
    Scanned {
        path: PathBuf,
        size: u64,
        sha256: String,
        matches: Vec<RuleMatch>,
        warning: Option<String>,
    },
    Skipped(Warning),
}

/// Opens without blocking (a file replaced by a FIFO after the walk must
/// not hang the scan) and checks it is still a regular file.
fn open_regular(path: &Path) -> std::io::Result<File> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(format!(
            "{} (changed since the walk)",
            kind_of(&meta)
        )));
    }
    Ok(f)
}

fn scan_one(rules: &Rules, path: PathBuf, max_size: u64, buf: &mut Vec<u8>) -> Outcome {
    buf.clear();
    let mut f = match open_regular(&path) {
        Ok(f) => f,
        Err(e) => return Outcome::Skipped(Warning::file(&path, None, format!("cannot open: {e}"))),
    };
    // Read at most max_size + 1 bytes: a file that grew past the limit is
    // noticed without reading it all.
    if let Err(e) = (&mut f).take(max_size + 1).read_to_end(buf) {
        let at = buf.len() as u64;
        return Outcome::Skipped(Warning::file(&path, Some(at), format!("read error: {e}")));
    }
    if buf.len() as u64 > max_size {
        return Outcome::Skipped(Warning::file(
            &path,
            None,
            format!("grew past the size limit of {max_size} bytes while scanning; skipped"),
        ));
    }
    let size = buf.len() as u64;
    let (matches, warning) = match rules.scan(buf) {
        Ok(matches) => (matches, None),
        Err((e, matches)) => (matches, Some(format!("scan incomplete: {e}"))),
    };
    let sha256 = if matches.is_empty() {
        String::new()
    } else {
        crate::report::sha256_hex(buf)
    };
    Outcome::Scanned {
        path,
        size,
        sha256,
        matches,
        warning,
    }
}

/// Scans `paths` (files or directories, recursively). `progress` is called
/// after each file with its size.
pub fn scan_paths(
    rules: &Rules,
    paths: &[PathBuf],
    opts: &FileScanOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> FileScanReport {
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let (job_tx, job_rx) = mpsc::sync_channel::<(PathBuf, u64)>(threads * 4);
    let job_rx: Arc<Mutex<Receiver<(PathBuf, u64)>>> = Arc::new(Mutex::new(job_rx));
    let (out_tx, out_rx) = mpsc::channel::<Outcome>();
    let mut report = FileScanReport::default();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let job_rx = Arc::clone(&job_rx);
            let out_tx = out_tx.clone();
            let rules = rules.clone();
            let max_size = opts.max_size;
            s.spawn(move || {
                let mut buf = Vec::new();
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((path, _)) = job else { return };
                    let out = scan_one(&rules, path, max_size, &mut buf);
                    if let Outcome::Scanned { size, .. } = &out {
                        progress(*size);
                    }
                    if out_tx.send(out).is_err() {
                        return;
                    }
                }
            });
        }
        drop(out_tx);
        let collector = s.spawn(move || out_rx.into_iter().collect::<Vec<Outcome>>());
        let mut walker = Walker {
            opts,
            dirs: HashSet::new(),
            jobs: job_tx,
            warnings: Vec::new(),
        };
        for p in paths {
            walker.visit(p, true);
        }
        report.warnings = std::mem::take(&mut walker.warnings);
        drop(walker); // closes the job channel: the workers finish
        for out in collector.join().unwrap_or_default() {
            match out {
                Outcome::Scanned {
                    path,
                    size,
                    sha256,
                    matches,
                    warning,
                } => {
                    report.files_scanned += 1;
                    report.bytes_scanned += size;
                    if let Some(w) = warning {
                        report.warnings.push(Warning::file(&path, None, w));
                    }
                    if !matches.is_empty() {
                        report.matches.push(FileMatch {
                            path,
                            size,
                            sha256,
                            matches,
                        });
                    }
                }
                Outcome::Skipped(w) => {
                    tracing::debug!("{w}");
                    report.warnings.push(w);
                }
            }
        }
    });
    report.matches.sort_by(|a, b| a.path.cmp(&b.path));
    report.warnings.sort_by(|a, b| a.input.cmp(&b.input));
    report
}
