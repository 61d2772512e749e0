//! Authentication and rate limits.
//!
//! A key is verified against its Argon2id hash once; then a keyed SHA-256
//! digest of its secret (the key is a random per-process pepper) is cached
//! in memory, so later requests cost one hash. The registry is re-read when
//! its file changes (the CLI may create or revoke keys while the server
//! runs); a revoked or removed key leaves the cache then, and every request
//! checks the key's record anyway.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime};

use axum::http::{header, HeaderMap};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::Problem;
use crate::registry::{split_key, verify_secret, Registry, Role, REGISTRY};

/// Who is calling.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Tenant.
    pub tenant: String,
    /// Key id.
    pub key: String,
    /// Role.
    pub role: Role,
}

impl Caller {
    /// Requires a permission.
    pub fn require(&self, p: crate::registry::Perm) -> Result<(), Problem> {
        if self.role.allows(p) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "a key with role {} may not do this",
                self.role.as_str()
            )))
        }
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Key verification, its cache and the rate limiter.
pub struct Auth {
    dir: PathBuf,
    registry: RwLock<Arc<Registry>>,
    mtime: Mutex<FileId>,
    pepper: [u8; 32],
    verified: RwLock<HashMap<String, [u8; 32]>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    gate: tokio::sync::Semaphore,
}

/// What identifies one version of the registry file: it is replaced by
/// rename, so the inode changes with every write (the time may not).
type FileId = Option<(SystemTime, u64, u64)>;

fn registry_mtime(dir: &std::path::Path) -> FileId {
    let m = std::fs::metadata(dir.join(REGISTRY)).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some((m.modified().ok()?, ino, m.len()))
}

/// The key text of a request: `Authorization: Bearer <key>`, `X-API-Key`,
/// or HTTP Basic with the key as password (for browsers on the docs page).
fn key_of(headers: &HeaderMap) -> Option<String> {
    if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(k.trim().to_string());
    }
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if let Some(k) = v.strip_prefix("Bearer ") {
        return Some(k.trim().to_string());
    }
    let b = v.strip_prefix("Basic ")?;
    let raw = base64_decode(b.trim())?;
    let s = String::from_utf8(raw).ok()?;
    let (_, pass) = s.split_once(':')?;
    Some(pass.to_string())
}

/// [`key_of`] on one `Authorization` header value (fuzzing).
pub fn key_of_header(v: &str) -> Option<String> {
    let mut h = HeaderMap::new();
    h.insert(header::AUTHORIZATION, v.parse().ok()?);
    key_of(&h)
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        if c == b'=' {
            break;
        }
        let v = T.iter().position(|&t| t == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    /// Loads the registry in `dir` (`<data>/serve`).
    pub fn open(dir: PathBuf) -> crate::Result<Auth> {
        let reg = Registry::load(&dir)?;
        let mut pepper = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut pepper);
        Ok(Auth {
            mtime: Mutex::new(registry_mtime(&dir)),
            dir,
            registry: RwLock::new(Arc::new(reg)),
            pepper,
            verified: RwLock::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            gate: tokio::sync::Semaphore::new(2),
        })
    }

    /// The registry as last loaded.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.read().expect("registry lock").clone()
    }

    /// Re-reads the registry if its file changed (one `stat`); drops cached
    /// keys that are revoked or gone.
    pub fn reload_if_changed(&self, force: bool) {
        let m = registry_mtime(&self.dir);
        {
            let mut g = self.mtime.lock().expect("mtime lock");
            if *g == m && !force {
                return;
            }
            *g = m;
        }
        match Registry::load(&self.dir) {
            Ok(r) => self.install(r),
            Err(e) => tracing::error!("re-reading the registry: {e}"),
        }
    }

    /// Installs a registry (after the server changed it itself).
    pub fn install(&self, r: Registry) {
        {
            let mut v = self.verified.write().expect("cache lock");
            v.retain(|id, _| r.keys.get(id).is_some_and(|k| k.revoked.is_none()));
        }
        *self.registry.write().expect("registry lock") = Arc::new(r);
    }

    /// Authenticates a request's headers and charges its key's bucket.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, Problem> {
        let Some(key) = key_of(headers) else {
            return Err(Problem::unauthorized(
                "an API key is required: send 'Authorization: Bearer chk_…' or 'X-API-Key'",
            ));
        };
        let Some((id, secret)) = split_key(&key) else {
            return Err(Problem::unauthorized(
                "the API key is malformed: keys read chk_<16 hex digits>_<64 hex digits>",
            ));
        };
        let mut rec = self.registry().keys.get(id).cloned();
        if rec.is_none() {
            self.reload_if_changed(false);
            rec = self.registry().keys.get(id).cloned();
        }
        let Some(rec) = rec else {
            return Err(Problem::unauthorized(format!("unknown API key {id}")));
        };
        if rec.revoked.is_some() {
            return Err(Problem::unauthorized(format!("API key {id} is revoked")));
        }
        self.charge(id, rec.rate)?;
        let mut h = Sha256::new();
        h.update(self.pepper);
        h.update(secret.as_bytes());
        let digest: [u8; 32] = h.finalize().into();
        let cached = self
            .verified
            .read()
            .expect("cache lock")
            .get(id)
            .is_some_and(|d| ct_eq(d, &digest));
        if !cached {
            let _permit = self
                .gate
                .acquire()
                .await
                .map_err(|_| Problem::unavailable("shutting down"))?;
            let (hash, s) = (rec.hash.clone(), secret.to_string());
            let ok = tokio::task::spawn_blocking(move || verify_secret(&hash, &s))
                .await
                .unwrap_or(false);
            if !ok {
                return Err(Problem::unauthorized(format!(
                    "wrong secret for API key {id}"
                )));
            }
            // Only cache a key that is still unrevoked now.
            let still = self
                .registry()
                .keys
                .get(id)
                .is_some_and(|k| k.revoked.is_none());
            if !still {
                return Err(Problem::unauthorized(format!("API key {id} is revoked")));
            }
            self.verified
                .write()
                .expect("cache lock")
                .insert(id.to_string(), digest);
        }
        Ok(Caller {
            tenant: rec.tenant,
            key: rec.id,
            role: rec.role,
        })
    }

    fn charge(&self, id: &str, rate: u32) -> Result<(), Problem> {
        let rate = f64::from(rate.max(1));
        let burst = rate * 2.0;
        let mut b = self.buckets.lock().expect("bucket lock");
        let now = Instant::now();
        let e = b.entry(id.to_string()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        e.tokens = (e.tokens + now.duration_since(e.last).as_secs_f64() * rate).min(burst);
        e.last = now;
        if e.tokens >= 1.0 {
            e.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - e.tokens) / rate).ceil().max(1.0) as u64;
            Err(Problem::rate_limited(wait))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_decodes() {
        let mut h = HeaderMap::new();
        // "x:chk_k" in base64
        h.insert(header::AUTHORIZATION, "Basic eDpjaGtfaw==".parse().unwrap());
        assert_eq!(key_of(&h).as_deref(), Some("chk_k"));
        h.insert(header::AUTHORIZATION, "Bearer chk_a".parse().unwrap());
        assert_eq!(key_of(&h).as_deref(), Some("chk_a"));
    }
}
