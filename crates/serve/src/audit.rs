//! The audit log: `<data>/serve/audit.log`, append-only and hash-chained.
//!
//! Each line is `<body>\t<hash>`: `body` is a JSON object (sequence number,
//! time, tenant, key id, role, action, target, HTTP status and `prev`, the
//! previous entry's hash) and `hash` is the hex SHA-256 of `body`'s bytes.
//! The first entry's `prev` is 64 zeros. Changing, inserting or deleting any
//! byte of an entry breaks its own hash or the next entry's `prev`;
//! [`verify`] names the first broken entry. `audit.head` (replaced
//! atomically on every sync) holds the last synced sequence number and hash,
//! so that cutting entries off the end is detected too.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{Result, ServeError};

/// The log file name inside `<data>/serve`.
pub const AUDIT_LOG: &str = "audit.log";
/// The head file name inside `<data>/serve`.
pub const AUDIT_HEAD: &str = "audit.head";
/// `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a request did, before it is chained.
#[derive(Clone, Debug)]
pub struct Draft {
    /// The tenant it acted for.
    pub tenant: String,
    /// The key id (`cli` for the command line).
    pub key: String,
    /// The key's role.
    pub role: String,
    /// What it did (`screen.address`, `entity.lookup`, `keys.create`, …).
    pub action: String,
    /// What it acted on (an address, `txid:vout`, a key id, …).
    pub target: String,
    /// The HTTP status answered.
    pub status: u16,
    /// For a registry change made from the command line: its number in
    /// the registry's change list (see `crate::registry::Change`).
    pub change: Option<u64>,
}

/// One chained entry.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Entry {
    /// Sequence number, from 1, over all tenants.
    pub seq: u64,
    /// Unix milliseconds.
    pub ts: i64,
    /// Tenant.
    pub tenant: String,
    /// Key id.
    pub key: String,
    /// Role of the key.
    pub role: String,
    /// Action.
    pub action: String,
    /// Target.
    pub target: String,
    /// HTTP status.
    pub status: u16,
    /// For a registry change made from the command line (a key created or
    /// revoked, a tenant created): its number in the registry's change
    /// list. The server writes these entries when it sees the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<u64>,
    /// Hash of the previous entry.
    pub prev: String,
    /// Hash of this entry's body (not part of the body).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub hash: String,
}

/// Turns a draft into the next line, given the chain's state; returns the
/// line (with its newline) and the new head hash.
pub fn chain(d: Draft, seq: u64, ts: i64, prev: &str) -> (Entry, String) {
    let mut e = Entry {
        seq,
        ts,
        tenant: d.tenant,
        key: d.key,
        role: d.role,
        action: d.action,
        target: d.target,
        status: d.status,
        change: d.change,
        prev: prev.to_string(),
        hash: String::new(),
    };
    let body = serde_json::to_string(&e).expect("entries serialize");
    e.hash = hex::encode(Sha256::digest(body.as_bytes()));
    let line = format!("{body}\t{}\n", e.hash);
    (e, line)
}

/// The state after the last valid entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Verified {
    /// Entries checked.
    pub entries: u64,
    /// The last entry's hash (the genesis zeros when empty).
    pub head: String,
    /// The last registry change (made from the command line) the log
    /// records; 0 if none.
    pub registry_changes: u64,
}

/// Checks one line's hash and parses it.
fn parse_line(line: &str) -> std::result::Result<Entry, String> {
    let (body, hash) = line
        .rsplit_once('\t')
        .ok_or("no tab between the body and the hash")?;
    let actual = hex::encode(Sha256::digest(body.as_bytes()));
    if actual != hash {
        return Err(format!(
            "its body hashes to {actual}, but the entry says {hash}: the entry was changed"
        ));
    }
    let e: Entry = serde_json::from_str(body).map_err(|e| format!("body is not an entry: {e}"))?;
    Ok(Entry {
        hash: hash.to_string(),
        ..e
    })
}

/// Checks one line against the entry before it; returns the entry.
fn check_line(line: &str, n: u64, prev: &str) -> std::result::Result<Entry, String> {
    let e = parse_line(line)?;
    if e.seq != n {
        return Err(format!(
            "sequence number {} where {n} was expected: entries were removed or inserted",
            e.seq
        ));
    }
    if e.prev != prev {
        return Err(format!(
            "prev is {} but the previous entry's hash is {prev}: the chain is broken",
            e.prev
        ));
    }
    Ok(e)
}

/// The newest `limit` entries that `keep` accepts, newest first, reading
/// the log backwards from its end (a recent page costs what it shows, not
/// the whole log). Every entry read has its hash and its link to the entry
/// before it checked; [`verify`] checks the chain from the start.
pub fn newest(dir: &Path, limit: usize, keep: impl FnMut(&Entry) -> bool) -> Result<Vec<Entry>> {
    newest_chunked(dir, limit, keep, 1 << 16)
}

/// [`newest`], reading `chunk` bytes at a time.
fn newest_chunked(
    dir: &Path,
    limit: usize,
    keep: impl FnMut(&Entry) -> bool,
    chunk_len: u64,
) -> Result<Vec<Entry>> {
    let path = dir.join(AUDIT_LOG);
    let file = match fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ServeError::io(&path, e)),
    };
    let len = file.metadata().map_err(|e| ServeError::io(&path, e))?.len();
    newest_in(file, len, &path, limit, keep, chunk_len)
}

/// [`newest`] over the `len` bytes of any seekable reader (`path` names
/// it in errors).
pub fn newest_in(
    mut file: impl std::io::Read + std::io::Seek,
    len: u64,
    path: &Path,
    limit: usize,
    mut keep: impl FnMut(&Entry) -> bool,
    chunk_len: u64,
) -> Result<Vec<Entry>> {
    use std::io::SeekFrom;
    let path = path.to_path_buf();
    let chunk_len = chunk_len.max(1);
    let mut out = Vec::new();
    if len == 0 || limit == 0 {
        return Ok(out);
    }
    let mut pos = len;
    // Bytes of a line that began before `pos` (its end is known).
    let mut carry: Vec<u8> = Vec::new();
    // The entry after the ones still to read, checked already.
    let mut later: Option<(u64, String)> = None;
    let mut chunk = Vec::new();
    loop {
        let start = pos.saturating_sub(chunk_len);
        chunk.clear();
        chunk.resize((pos - start) as usize, 0);
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut chunk))
            .map_err(|e| ServeError::io(&path, e))?;
        chunk.extend_from_slice(&carry);
        if pos == len && chunk.last() != Some(&b'\n') {
            return Err(corrupt(
                &path,
                "the last entry is cut short (no newline): the log was truncated".into(),
            ));
        }
        pos = start;
        // Before the first newline, a line may continue further back.
        let from = if start == 0 {
            0
        } else {
            match chunk.iter().position(|&b| b == b'\n') {
                Some(i) if i + 1 < chunk.len() => i + 1,
                // Only the final newline: all of it is one line that
                // began further back.
                _ => {
                    carry = std::mem::take(&mut chunk);
                    continue;
                }
            }
        };
        let body = &chunk[from..chunk.len() - 1];
        for raw in body.rsplit(|&b| b == b'\n') {
            let at = |m: String| corrupt(&path, m);
            let line = std::str::from_utf8(raw)
                .map_err(|_| at("an entry is not UTF-8: the entry was changed".into()))?;
            let e = parse_line(line).map_err(|m| at(format!("an entry near the end: {m}")))?;
            if let Some((seq, prev)) = &later {
                if e.seq + 1 != *seq || e.hash != *prev {
                    return Err(at(format!(
                        "entry {} does not chain to entry {seq} after it: entries were removed, inserted or changed",
                        e.seq
                    )));
                }
            }
            later = Some((e.seq, e.prev.clone()));
            if keep(&e) {
                out.push(e);
                if out.len() == limit {
                    return Ok(out);
                }
            }
        }
        carry = chunk[..from].to_vec();
        if start == 0 {
            if let Some((seq, prev)) = &later {
                if *seq != 1 || prev != GENESIS {
                    return Err(corrupt(
                        &path,
                        format!("the first entry is number {seq}, with prev {prev}: the chain does not start at the genesis"),
                    ));
                }
            }
            return Ok(out);
        }
    }
}

/// Reads the log and returns every entry, checking the chain as it goes.
/// `Err` names the first bad entry (1-based line and sequence number).
pub fn read(dir: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    scan(dir, |e| out.push(e))?;
    Ok(out)
}

/// Verifies the whole log and the head file.
pub fn verify(dir: &Path) -> Result<Verified> {
    let head_path = dir.join(AUDIT_HEAD);
    let synced = match fs::read_to_string(&head_path) {
        Ok(h) => {
            let (seq, hash) = h
                .trim()
                .split_once(' ')
                .ok_or_else(|| corrupt(&head_path, "expected '<seq> <hash>'".into()))?;
            let seq: u64 = seq
                .parse()
                .map_err(|_| corrupt(&head_path, format!("bad sequence number {seq:?}")))?;
            Some((seq, hash.to_string()))
        }
        Err(_) => None,
    };
    // One pass: the chain, and the hash of the entry the head names.
    let want = synced.as_ref().map_or(0, |s| s.0);
    let mut at_want = GENESIS.to_string();
    let v = scan(dir, |e| {
        if e.seq == want {
            at_want = e.hash;
        }
    })?;
    if let Some((seq, hash)) = synced {
        if seq > v.entries {
            return Err(corrupt(
                &dir.join(AUDIT_LOG),
                format!(
                    "the log ends at entry {} but entry {seq} was synced: entries were cut off the end",
                    v.entries
                ),
            ));
        }
        if seq > 0 && at_want != hash {
            return Err(corrupt(
                &dir.join(AUDIT_LOG),
                format!("entry {seq} hashes to {at_want}, but audit.head recorded {hash}"),
            ));
        }
    }
    Ok(v)
}

fn corrupt(path: &Path, msg: String) -> ServeError {
    ServeError::Corrupt {
        path: path.to_path_buf(),
        msg,
    }
}

/// Walks the log, checking each entry against the previous one.
pub fn scan(dir: &Path, f: impl FnMut(Entry)) -> Result<Verified> {
    let path = dir.join(AUDIT_LOG);
    let file = match fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Verified {
                entries: 0,
                head: GENESIS.to_string(),
                registry_changes: 0,
            })
        }
        Err(e) => return Err(ServeError::io(&path, e)),
    };
    scan_reader(BufReader::new(file), &path, f)
}

/// [`scan`] over any reader (`path` names it in errors).
pub fn scan_reader(mut r: impl BufRead, path: &Path, mut f: impl FnMut(Entry)) -> Result<Verified> {
    let path = path.to_path_buf();
    let mut prev = GENESIS.to_string();
    let mut n = 0u64;
    let mut changes = 0u64;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let got = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| ServeError::io(&path, e))?;
        if got == 0 {
            break;
        }
        n += 1;
        let Some(body) = buf.strip_suffix(b"\n") else {
            return Err(corrupt(
                &path,
                format!("entry {n} (line {n}) is cut short (no newline): the log was truncated"),
            ));
        };
        let line = std::str::from_utf8(body).map_err(|_| {
            corrupt(
                &path,
                format!("entry {n} (line {n}) is not UTF-8: the entry was changed"),
            )
        })?;
        let e = check_line(line, n, &prev)
            .map_err(|m| corrupt(&path, format!("entry {n} (line {n}): {m}")))?;
        prev = e.hash.clone();
        changes = changes.max(e.change.unwrap_or(0));
        f(e);
    }
    Ok(Verified {
        entries: n,
        head: prev,
        registry_changes: changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn draft(i: u32) -> Draft {
        Draft {
            tenant: "acme".into(),
            key: "0123456789abcdef".into(),
            role: "analyst".into(),
            action: "screen.address".into(),
            target: format!("addr{i}"),
            status: 200,
            change: None,
        }
    }

    fn write_log(dir: &Path, n: u32) {
        let mut f = fs::File::create(dir.join(AUDIT_LOG)).unwrap();
        let mut prev = GENESIS.to_string();
        for i in 1..=n {
            let (e, line) = chain(draft(i), u64::from(i), 1_700_000_000_000, &prev);
            f.write_all(line.as_bytes()).unwrap();
            prev = e.hash;
        }
    }

    /// Reading backwards gives what a forward scan gives, at any chunk
    /// size (lines cut across chunks), and catches every flipped bit.
    #[test]
    fn newest_reads_backwards_like_a_scan() {
        let d = tempfile::tempdir().unwrap();
        let mut f = fs::File::create(d.path().join(AUDIT_LOG)).unwrap();
        let mut prev = GENESIS.to_string();
        for i in 1..=40u32 {
            let mut dr = draft(i);
            dr.tenant = ["acme", "bank", "fiu"][i as usize % 3].into();
            // Some long targets: lines longer than the small chunks.
            dr.target = "x".repeat((i as usize * 37) % 300);
            let (e, line) = chain(dr, u64::from(i), 1_700_000_000_000, &prev);
            f.write_all(line.as_bytes()).unwrap();
            prev = e.hash;
        }
        drop(f);
        let all = read(d.path()).unwrap();
        for chunk in [1, 7, 100, 333, 1 << 16] {
            for limit in [1, 5, 13, 100] {
                for t in ["acme", "bank", "nobody"] {
                    let got = newest_chunked(d.path(), limit, |e| e.tenant == t, chunk).unwrap();
                    let want: Vec<u64> = all
                        .iter()
                        .rev()
                        .filter(|e| e.tenant == t)
                        .take(limit)
                        .map(|e| e.seq)
                        .collect();
                    assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), want);
                }
            }
        }
        let orig = fs::read(d.path().join(AUDIT_LOG)).unwrap();
        for i in (0..orig.len()).step_by(13) {
            let mut b = orig.clone();
            b[i] ^= 0x01;
            fs::write(d.path().join(AUDIT_LOG), &b).unwrap();
            assert!(
                newest_chunked(d.path(), 1000, |_| true, 100).is_err(),
                "byte {i} flipped, not caught"
            );
        }
        // A removed line, and a cut-off tail.
        let text = String::from_utf8(orig).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let without: String = lines
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != 20)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        fs::write(d.path().join(AUDIT_LOG), without).unwrap();
        assert!(newest(d.path(), 1000, |_| true).is_err());
        fs::write(d.path().join(AUDIT_LOG), &text[..text.len() - 5]).unwrap();
        assert!(newest(d.path(), 1, |_| true).is_err());
    }

    /// The fuzz entry point's differential check on a valid log and on
    /// damaged copies (the fuzz target runs it on arbitrary bytes).
    #[test]
    fn fuzz_entry_point_agrees_on_sample_logs() {
        let d = tempfile::tempdir().unwrap();
        write_log(d.path(), 12);
        let log = fs::read(d.path().join(AUDIT_LOG)).unwrap();
        assert_eq!(crate::fuzzing::audit_log(&log), 12);
        for i in (0..log.len()).step_by(17) {
            let mut b = log.clone();
            b[i] ^= 0x20;
            crate::fuzzing::audit_log(&b);
            crate::fuzzing::audit_log(&log[..i]);
        }
    }

    #[test]
    fn intact_log_verifies() {
        let d = tempfile::tempdir().unwrap();
        write_log(d.path(), 5);
        let v = verify(d.path()).unwrap();
        assert_eq!(v.entries, 5);
        assert_eq!(read(d.path()).unwrap()[4].target, "addr5");
    }

    #[test]
    fn every_byte_edit_is_caught_and_named() {
        let d = tempfile::tempdir().unwrap();
        write_log(d.path(), 3);
        let orig = fs::read(d.path().join(AUDIT_LOG)).unwrap();
        let second = orig.iter().position(|&b| b == b'\n').unwrap() + 1;
        for i in 0..orig.len() {
            let mut b = orig.clone();
            b[i] ^= 0x01;
            fs::write(d.path().join(AUDIT_LOG), &b).unwrap();
            let err = verify(d.path())
                .expect_err("a flipped bit must be caught")
                .to_string();
            let want = if i < second { "entry 1" } else { "entry 2" };
            if i < second {
                assert!(err.contains(want), "byte {i}: {err}");
            } else {
                assert!(
                    err.contains("entry 2") || err.contains("entry 3"),
                    "byte {i}: {err}"
                );
            }
        }
    }

    #[test]
    fn removal_is_caught() {
        let d = tempfile::tempdir().unwrap();
        write_log(d.path(), 3);
        let text = fs::read_to_string(d.path().join(AUDIT_LOG)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        fs::write(
            d.path().join(AUDIT_LOG),
            format!("{}\n{}\n", lines[0], lines[2]),
        )
        .unwrap();
        assert!(verify(d.path())
            .unwrap_err()
            .to_string()
            .contains("entry 2"));
        // cutting off the end is caught through the head file
        fs::write(
            d.path().join(AUDIT_LOG),
            format!("{}\n{}\n", lines[0], lines[1]),
        )
        .unwrap();
        let last: Entry = serde_json::from_str(lines[2].rsplit_once('\t').unwrap().0).unwrap();
        let h = lines[2].rsplit_once('\t').unwrap().1;
        assert_eq!(last.seq, 3);
        fs::write(d.path().join(AUDIT_HEAD), format!("3 {h}\n")).unwrap();
        assert!(verify(d.path())
            .unwrap_err()
            .to_string()
            .contains("cut off"));
    }
}
