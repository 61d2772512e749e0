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

/// Checks one line; returns the entry.
fn check_line(line: &str, n: u64, prev: &str) -> std::result::Result<Entry, String> {
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
    Ok(Entry {
        hash: hash.to_string(),
        ..e
    })
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
