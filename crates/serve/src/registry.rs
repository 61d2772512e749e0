//! Tenants and API keys: `<data>/serve/registry.json`, replaced atomically
//! under a short-lived file lock so that the CLI and a running server can
//! both change it. Keys are stored only as Argon2id hashes.
//!
//! A key reads `chk_<id>_<secret>`: the 16-hex-digit id is public (it names
//! the key in logs, the audit log and `keys list`), the 64-hex-digit secret
//! is shown once, when the key is created, and never stored.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Result, ServeError};

/// The registry file inside `<data>/serve`.
pub const REGISTRY: &str = "registry.json";
const LOCK: &str = "registry.lock";
/// Default sustained requests per second of a new key.
pub const DEFAULT_RATE: u32 = 200;

/// What a key may do. Permissions: see [`Role::allows`] and `docs/api.md`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything in its tenant, including keys, policy and the audit log.
    Admin,
    /// Screening, lookups, traces, private tags, alerts, screenings; reads
    /// the policy.
    Analyst,
    /// Screening only: what an exchange's deposit/withdrawal pipeline needs.
    Integration,
}

/// One permission checked by a handler.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Perm {
    /// Screen addresses and transfers (single or batch).
    Screen,
    /// Entity lookups and trace jobs.
    Investigate,
    /// Read past screenings, alerts, private tags and the policy.
    Read,
    /// Add or delete private tags, acknowledge alerts.
    Write,
    /// Keys, policy changes and the audit log.
    Admin,
}

impl Role {
    /// True when this role has `p`.
    pub fn allows(self, p: Perm) -> bool {
        match self {
            Role::Admin => true,
            Role::Analyst => p != Perm::Admin,
            Role::Integration => p == Perm::Screen,
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Integration => "integration",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = ServeError;
    fn from_str(s: &str) -> Result<Role> {
        match s {
            "admin" => Ok(Role::Admin),
            "analyst" => Ok(Role::Analyst),
            "integration" => Ok(Role::Integration),
            _ => Err(ServeError::Invalid(format!(
                "unknown role {s:?}; roles are admin, analyst, integration"
            ))),
        }
    }
}

/// A tenant: one organisation whose data no other tenant sees.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tenant {
    /// Name (`[a-z0-9_-]`, 1–64 characters).
    pub name: String,
    /// Unix seconds.
    pub created: i64,
}

/// A stored key: everything but the secret.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Public id (16 hex digits).
    pub id: String,
    /// Its tenant.
    pub tenant: String,
    /// Its role.
    pub role: Role,
    /// A note for people (`deposit pipeline`).
    #[serde(default)]
    pub label: String,
    /// Unix seconds.
    pub created: i64,
    /// When revoked (Unix seconds).
    pub revoked: Option<i64>,
    /// Sustained requests per second (token bucket; burst twice that).
    pub rate: u32,
    /// Argon2id PHC string of the secret.
    pub hash: String,
}

/// The whole registry.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Registry {
    /// Bumped by every change.
    pub generation: u64,
    /// Tenants by name.
    pub tenants: BTreeMap<String, Tenant>,
    /// Keys by id.
    pub keys: BTreeMap<String, KeyRecord>,
    /// Changes made from the command line, oldest first. A running server
    /// (or the next one to start) writes an audit entry for each, so that
    /// the audit log records every key and tenant change, not only those
    /// made through the API.
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// A registry change made from the command line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Its number, from 1.
    pub seq: u64,
    /// Unix seconds.
    pub ts: i64,
    /// `keys.create`, `keys.revoke` or `tenants.create`.
    pub action: String,
    /// The tenant concerned.
    pub tenant: String,
    /// The key id or tenant name.
    pub target: String,
}

/// A new key's full text, shown once.
pub struct NewKey {
    /// The stored record.
    pub record: KeyRecord,
    /// `chk_<id>_<secret>`.
    pub plaintext: String,
}

/// Checks a tenant name.
pub fn check_tenant_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ServeError::Invalid(format!(
            "tenant name {name:?} must be 1-64 characters of a-z, 0-9, '-' and '_'"
        )))
    }
}

/// Splits `chk_<id>_<secret>` into id and secret, checking the shape.
pub fn split_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("chk_")?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id, 16) && hex(secret, 64)).then_some((id, secret))
}

/// Verifies `secret` against a stored PHC hash (slow, by design).
pub fn verify_secret(hash: &str, secret: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

impl Registry {
    /// Loads `<dir>/registry.json`; an absent file is an empty registry.
    pub fn load(dir: &Path) -> Result<Registry> {
        let path = dir.join(REGISTRY);
        match fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| ServeError::Corrupt {
                path,
                msg: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Registry::default()),
            Err(e) => Err(ServeError::io(path, e)),
        }
    }

    /// Loads, applies `f` and, if it succeeds, writes the registry back
    /// atomically, all under the registry lock. Returns `f`'s value.
    pub fn update<T>(dir: &Path, f: impl FnOnce(&mut Registry) -> Result<T>) -> Result<T> {
        fs::create_dir_all(dir).map_err(|e| ServeError::io(dir, e))?;
        let lock_path = dir.join(LOCK);
        let lock = fs::File::create(&lock_path).map_err(|e| ServeError::io(&lock_path, e))?;
        lock.lock().map_err(|e| ServeError::io(&lock_path, e))?;
        let mut reg = Registry::load(dir)?;
        let out = f(&mut reg)?;
        reg.generation += 1;
        let bytes =
            serde_json::to_vec_pretty(&reg).map_err(|e| ServeError::Invalid(e.to_string()))?;
        chainhound_store::write_atomic(dir, REGISTRY, &bytes).map_err(|e| ServeError::Data {
            what: "the registry",
            msg: e.to_string(),
        })?;
        drop(lock);
        Ok(out)
    }

    /// Records a change made from the command line (call inside
    /// [`Registry::update`], after making it).
    pub fn record(&mut self, action: &str, tenant: &str, target: &str) {
        let seq = self.changes.last().map_or(1, |c| c.seq + 1);
        self.changes.push(Change {
            seq,
            ts: now(),
            action: action.to_string(),
            tenant: tenant.to_string(),
            target: target.to_string(),
        });
    }

    /// Adds a tenant; an existing one is an error.
    pub fn create_tenant(&mut self, name: &str) -> Result<&Tenant> {
        check_tenant_name(name)?;
        if self.tenants.contains_key(name) {
            return Err(ServeError::Invalid(format!("tenant {name:?} exists")));
        }
        self.tenants.insert(
            name.to_string(),
            Tenant {
                name: name.to_string(),
                created: now(),
            },
        );
        Ok(&self.tenants[name])
    }

    /// Creates a key for an existing tenant. The plaintext is returned once.
    pub fn create_key(
        &mut self,
        tenant: &str,
        role: Role,
        label: &str,
        rate: u32,
    ) -> Result<NewKey> {
        if !self.tenants.contains_key(tenant) {
            return Err(ServeError::NotFound(format!("no tenant {tenant:?}")));
        }
        if rate == 0 {
            return Err(ServeError::Invalid(
                "a key's rate must be at least 1 request/s".into(),
            ));
        }
        if label.len() > 200 {
            return Err(ServeError::Invalid(
                "a key's label is at most 200 bytes".into(),
            ));
        }
        let mut id = random_hex(8);
        while self.keys.contains_key(&id) {
            id = random_hex(8);
        }
        let secret = random_hex(32);
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| ServeError::Invalid(e.to_string()))?;
        let hash = Argon2::default()
            .hash_password(secret.as_bytes(), &salt)
            .map_err(|e| ServeError::Invalid(e.to_string()))?
            .to_string();
        let record = KeyRecord {
            id: id.clone(),
            tenant: tenant.to_string(),
            role,
            label: label.to_string(),
            created: now(),
            revoked: None,
            rate,
            hash,
        };
        self.keys.insert(id.clone(), record.clone());
        Ok(NewKey {
            record,
            plaintext: format!("chk_{id}_{secret}"),
        })
    }

    /// Revokes key `id` (of `tenant`, when given). Revoking twice is fine.
    pub fn revoke(&mut self, id: &str, tenant: Option<&str>) -> Result<KeyRecord> {
        let k = self
            .keys
            .get_mut(id)
            .filter(|k| tenant.is_none_or(|t| k.tenant == t))
            .ok_or_else(|| ServeError::NotFound(format!("no key {id:?}")))?;
        if k.revoked.is_none() {
            k.revoked = Some(now());
        }
        Ok(k.clone())
    }
}

/// `<data>/serve`.
pub fn serve_dir(data: &Path) -> PathBuf {
    data.join("serve")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_roundtrip_and_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let k = Registry::update(dir.path(), |r| {
            r.create_tenant("acme")?;
            r.create_key("acme", Role::Integration, "deposits", 50)
        })
        .unwrap();
        let (id, secret) = split_key(&k.plaintext).unwrap();
        assert_eq!(id, k.record.id);
        let reg = Registry::load(dir.path()).unwrap();
        let rec = &reg.keys[id];
        assert!(
            !reg.keys[id].hash.contains(secret),
            "the secret is never stored"
        );
        assert!(verify_secret(&rec.hash, secret));
        assert!(!verify_secret(&rec.hash, &"0".repeat(64)));
        assert!(
            Registry::update(dir.path(), |r| r.create_key("nope", Role::Admin, "", 1)).is_err()
        );
        Registry::update(dir.path(), |r| r.revoke(id, Some("acme"))).unwrap();
        assert!(Registry::load(dir.path()).unwrap().keys[id]
            .revoked
            .is_some());
        assert!(Registry::update(dir.path(), |r| r.revoke(id, Some("other"))).is_err());
    }

    #[test]
    fn key_shape() {
        assert!(split_key("chk_0123456789abcdef_0000").is_none());
        assert!(split_key(&format!("chk_0123456789abcdef_{}", "a".repeat(64))).is_some());
        assert!(split_key(&format!("xx_0123456789abcdef_{}", "a".repeat(64))).is_none());
        assert!(check_tenant_name("Acme").is_err());
        assert!(check_tenant_name("acme-1").is_ok());
        assert!(Role::Integration.allows(Perm::Screen));
        assert!(!Role::Integration.allows(Perm::Read));
        assert!(!Role::Analyst.allows(Perm::Admin));
    }
}
