//! The one writer of `<data>/serve`'s append-only files: the audit log and
//! each tenant's event log. A request appends its events and its chained
//! audit entry under one lock (a `write` to the kernel, no thread hop) and
//! only then answers. A background thread syncs the files to disk at least
//! once a second, outside the lock, and then records the last synced
//! sequence number and hash in `audit.head`.
//!
//! Durability: an answered request's entries survive the server process
//! being killed; a power failure may lose the last second, and the head
//! file then still names an entry that survived or an older one.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::audit::{self, Draft};
use crate::error::{Result, ServeError};
use crate::registry::Change;
use crate::tenant::now_ms;

/// One request's changes.
pub struct Batch {
    /// Tenant event lines (`tenant`, line without newline).
    pub events: Vec<(String, String)>,
    /// The audit entry, if any.
    pub audit: Option<Draft>,
}

/// The writer; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    w: Arc<Mutex<Writer>>,
    stop: Arc<AtomicBool>,
    /// The last registry change audited (a copy readable without the lock).
    changes: Arc<AtomicU64>,
}

/// `<serve>/tenants/<tenant>/events.log`.
pub fn events_path(serve: &Path, tenant: &str) -> PathBuf {
    serve.join("tenants").join(tenant).join("events.log")
}

/// Frames an event line: `<crc32 hex> <json>`.
pub fn frame(json: &str) -> String {
    format!("{:08x} {json}", crc32fast::hash(json.as_bytes()))
}

/// Reads framed lines; a torn or corrupt line is skipped with a warning
/// (its write was never acknowledged unless the disk changed it).
pub fn read_events(path: &Path) -> Result<Vec<String>> {
    let text = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ServeError::io(path, e)),
    };
    let mut out = Vec::new();
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let ok = std::str::from_utf8(line).ok().and_then(|l| {
            let (crc, json) = l.split_once(' ')?;
            (u32::from_str_radix(crc, 16).ok()? == crc32fast::hash(json.as_bytes())).then_some(json)
        });
        match ok {
            Some(json) => out.push(json.to_string()),
            None => tracing::warn!(
                "{}: line {} fails its checksum; skipped",
                path.display(),
                n + 1
            ),
        }
    }
    Ok(out)
}

struct Writer {
    dir: PathBuf,
    audit: File,
    seq: u64,
    prev: String,
    tenants: HashMap<String, File>,
    /// Duplicated handles of every file, for the sync thread.
    handles: Vec<Arc<File>>,
    /// Bumped by every write.
    written: u64,
    /// The last registry change audited.
    changes: u64,
}

fn open_append(path: &Path) -> Result<File> {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).map_err(|e| ServeError::io(p, e))?;
    }
    let mut f = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| ServeError::io(path, e))?;
    // A torn last line (a crash mid-write) gets its newline, so the next
    // line starts clean.
    let len = f.metadata().map_err(|e| ServeError::io(path, e))?.len();
    if len > 0 {
        let mut last = [0u8];
        f.seek(SeekFrom::Start(len - 1))
            .map_err(|e| ServeError::io(path, e))?;
        f.read_exact(&mut last)
            .map_err(|e| ServeError::io(path, e))?;
        if last[0] != b'\n' {
            f.write_all(b"\n").map_err(|e| ServeError::io(path, e))?;
        }
    }
    Ok(f)
}

impl Writer {
    fn tenant(&mut self, t: &str) -> std::io::Result<&mut File> {
        if !self.tenants.contains_key(t) {
            let f = open_append(&events_path(&self.dir, t))
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            self.handles.push(Arc::new(f.try_clone()?));
            self.tenants.insert(t.to_string(), f);
        }
        Ok(self.tenants.get_mut(t).expect("just inserted"))
    }

    fn write(&mut self, batches: &[Batch]) -> std::io::Result<()> {
        let mut audit_buf = String::new();
        let mut per: HashMap<&str, String> = HashMap::new();
        let ts = now_ms();
        for b in batches {
            for (t, line) in &b.events {
                let s = per.entry(t.as_str()).or_default();
                s.push_str(line);
                s.push('\n');
            }
            if let Some(d) = &b.audit {
                let (e, line) = audit::chain(d.clone(), self.seq + 1, ts, &self.prev);
                self.seq = e.seq;
                self.prev = e.hash;
                audit_buf.push_str(&line);
            }
        }
        for (t, s) in per {
            self.tenant(t)?.write_all(s.as_bytes())?;
        }
        if !audit_buf.is_empty() {
            self.audit.write_all(audit_buf.as_bytes())?;
        }
        self.written += 1;
        Ok(())
    }
}

/// Syncs what was written up to now, then records the head. Runs outside
/// the writer lock except for two short reads.
fn sync(w: &Mutex<Writer>, last: &mut u64) {
    let (written, seq, prev, handles, dir) = {
        let g = w.lock().expect("journal lock");
        (
            g.written,
            g.seq,
            g.prev.clone(),
            g.handles.clone(),
            g.dir.clone(),
        )
    };
    if written == *last {
        return;
    }
    let mut ok = true;
    for f in &handles {
        ok &= f.sync_data().is_ok();
    }
    if !ok {
        tracing::error!("syncing {} failed", dir.display());
        return;
    }
    let head = format!("{seq} {prev}\n");
    if let Err(e) = chainhound_store::write_atomic(&dir, audit::AUDIT_HEAD, head.as_bytes()) {
        tracing::error!("writing audit.head: {e}");
        return;
    }
    *last = written;
}

impl Journal {
    /// Opens the audit log in `dir` (verifying its chain) and starts the
    /// sync thread.
    pub fn start(dir: &Path) -> Result<Journal> {
        fs::create_dir_all(dir).map_err(|e| ServeError::io(dir, e))?;
        let v = audit::verify(dir)?;
        let audit = open_append(&dir.join(audit::AUDIT_LOG))?;
        let dup = audit.try_clone().map_err(|e| ServeError::io(dir, e))?;
        let w = Arc::new(Mutex::new(Writer {
            dir: dir.to_path_buf(),
            audit,
            seq: v.entries,
            prev: v.head,
            tenants: HashMap::new(),
            handles: vec![Arc::new(dup)],
            written: 0,
            changes: v.registry_changes,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (w2, stop2) = (Arc::downgrade(&w), stop.clone());
        std::thread::Builder::new()
            .name("chainhound-sync".into())
            .spawn(move || {
                let mut last = 0;
                while !stop2.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(250));
                    let Some(w) = w2.upgrade() else { break };
                    sync(&w, &mut last);
                }
            })
            .map_err(|e| ServeError::io(dir, e))?;
        let changes = Arc::new(AtomicU64::new(v.registry_changes));
        Ok(Journal { w, stop, changes })
    }

    /// Appends a batch (chaining its audit entry); false when the write
    /// failed (the request must then fail).
    pub fn commit(&self, b: Batch) -> bool {
        let mut g = self.w.lock().expect("journal lock");
        match g.write(std::slice::from_ref(&b)) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!("journal write failed: {e}");
                false
            }
        }
    }

    /// Writes an audit entry for every registry change (made from the
    /// command line) newer than the last one the log records, in order;
    /// false when the write failed (they are tried again next time).
    pub fn audit_changes(&self, changes: &[Change]) -> bool {
        // Changes are appended in order: the last is the newest.
        let newest = changes.last().map_or(0, |c| c.seq);
        if newest <= self.changes.load(Ordering::Acquire) {
            return true;
        }
        let mut g = self.w.lock().expect("journal lock");
        let done = g.changes;
        let batches: Vec<Batch> = changes
            .iter()
            .filter(|c| c.seq > done)
            .map(|c| Batch {
                events: Vec::new(),
                audit: Some(Draft {
                    tenant: c.tenant.clone(),
                    key: "cli".into(),
                    role: "admin".into(),
                    action: c.action.clone(),
                    target: format!(
                        "{} (made from the command line at Unix time {})",
                        c.target, c.ts
                    ),
                    status: 200,
                    change: Some(c.seq),
                }),
            })
            .collect();
        let Some(last) = changes.iter().map(|c| c.seq).max().filter(|&m| m > done) else {
            return true;
        };
        match g.write(&batches) {
            Ok(()) => {
                g.changes = last;
                self.changes.store(last, Ordering::Release);
                true
            }
            Err(e) => {
                tracing::error!("journal write failed: {e}");
                false
            }
        }
    }

    /// Syncs everything written so far to disk and records the head.
    pub fn sync(&self) {
        let mut last = u64::MAX;
        sync(&self.w, &mut last);
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if Arc::strong_count(&self.w) == 1 {
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_chain_and_survive_torn_tails() {
        let d = tempfile::tempdir().unwrap();
        let j = Journal::start(d.path()).unwrap();
        for i in 0..10 {
            let ok = j.commit(Batch {
                events: vec![("acme".into(), frame(&format!("{{\"n\":{i}}}")))],
                audit: Some(Draft {
                    tenant: "acme".into(),
                    key: "k".into(),
                    role: "admin".into(),
                    action: "test".into(),
                    target: i.to_string(),
                    status: 200,
                    change: None,
                }),
            });
            assert!(ok);
        }
        j.sync();
        assert_eq!(audit::verify(d.path()).unwrap().entries, 10);
        let p = events_path(d.path(), "acme");
        assert_eq!(read_events(&p).unwrap().len(), 10);
        // a torn tail is skipped, and the next append starts on a new line
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"0000abcd {\"tor").unwrap();
        drop(f);
        drop(j);
        let j = Journal::start(d.path()).unwrap();
        assert!(j.commit(Batch {
            events: vec![("acme".into(), frame("{\"n\":10}"))],
            audit: None,
        }));
        j.sync();
        let ev = read_events(&p).unwrap();
        assert_eq!(ev.len(), 11);
        assert_eq!(ev[10], "{\"n\":10}");
    }
}
