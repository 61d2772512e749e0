//! The KYT screening service: an HTTP API (axum on tokio) over the store,
//! the entity clusters, the attribution tags and the tracing engine, with
//! tenants, API keys, roles, rate limits, a hash-chained audit log and a
//! risk policy per tenant.
//!
//! * [`registry`] — tenants and keys (`<data>/serve/registry.json`), keys
//!   stored only as Argon2id hashes.
//! * [`audit`] — the append-only, hash-chained audit log and its verifier.
//! * [`policy`] — exposure → LOW/MEDIUM/HIGH/SEVERE.
//! * [`view`] — a snapshot of the chain data with the tags resolved.
//! * [`evm`] — Ethereum: the `chainhound-evm` account store, its labels
//!   and the per-transfer taint precomputed for screening.
//! * [`App`] / [`router`] — the HTTP service; `docs/api.md` documents it.
//!
//! Architecture invariants:
//! - The only crate that knows HTTP and JSON of the service; the analysis
//!   crates know nothing of it.
//! - Every answer but `/health` needs a valid, unrevoked key; every error is
//!   an RFC 9457 `application/problem+json` document with a 4xx status for
//!   anything the client did wrong. A 5xx means a bug or a failing disk.
//! - A tenant's private tags, screenings, alerts and audit entries are
//!   reached only through that tenant's keys.
//! - A request's audit entry is written (and chained) before it is answered.
//! - Reads the chain data; never writes the store, the clusters or the tags.

#![deny(missing_docs)]

mod api;
pub mod audit;
mod auth;
mod error;
pub mod evm;
mod journal;
pub mod policy;
pub mod registry;
mod screen;
mod screen_evm;
mod state;
pub mod tenant;
mod trace;
pub mod view;

pub use api::{openapi, router};
pub use error::{Problem, Result, ServeError};
pub use state::{App, ServeOptions};

/// Runs the service on `bind` until Ctrl-C (or SIGTERM), on a tokio runtime
/// of its own. `ready` is called with the bound address once the socket
/// listens (port 0 picks a free port).
pub fn run(
    opts: ServeOptions,
    bind: std::net::SocketAddr,
    ready: impl FnOnce(std::net::SocketAddr, &App),
) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("chainhound-serve")
        .build()?;
    rt.block_on(async move {
        let app = App::open(opts).map_err(std::io::Error::other)?;
        let listener = tokio::net::TcpListener::bind(bind).await?;
        ready(listener.local_addr()?, &app);
        app.spawn_watcher();
        let shutdown = async {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .expect("SIGTERM handler");
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            #[cfg(not(unix))]
            let _ = ctrl_c.await;
        };
        axum::serve(listener, router(app.clone()))
            .with_graceful_shutdown(shutdown)
            .await?;
        tracing::info!("shutting down: syncing the logs");
        app.sync();
        Ok(())
    })
}

/// Entry points for the fuzz targets in `fuzz/` (not a stable API): every
/// parser of outside input this crate owns. None may panic.
#[doc(hidden)]
pub mod fuzzing {
    use std::path::Path;

    /// An audit log's bytes through the chain verifier and the backwards
    /// reader: on a log the verifier accepts, reading backwards (in small
    /// chunks, so lines cross chunk ends) gives the same entries, newest
    /// first; on any log it must not panic.
    pub fn audit_log(bytes: &[u8]) -> usize {
        let mut all = Vec::new();
        let scanned = crate::audit::scan_reader(bytes, Path::new("fuzz"), |e| all.push(e.seq));
        let back = crate::audit::newest_in(
            std::io::Cursor::new(bytes),
            bytes.len() as u64,
            Path::new("fuzz"),
            usize::MAX,
            |_| true,
            7,
        );
        if scanned.is_ok() {
            let back: Vec<u64> = back
                .expect("a log the verifier accepts reads backwards")
                .iter()
                .map(|e| e.seq)
                .collect();
            all.reverse();
            assert_eq!(back, all, "backwards reading differs from the scan");
        }
        match scanned {
            Ok(v) => v.entries as usize,
            Err(e) => {
                assert!(
                    e.to_string().contains("entry"),
                    "errors name the entry: {e}"
                );
                0
            }
        }
    }

    /// A policy document, evaluated on a few exposure items.
    pub fn policy(bytes: &[u8]) -> usize {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return 0;
        };
        let Ok(p) = crate::policy::Policy::parse(text) else {
            return 0;
        };
        let items = [
            ("sanction", 1_000_000, 0),
            ("theft", 5, 7),
            ("*", 0, u32::MAX),
        ]
        .map(|(c, share_ppm, hops)| crate::policy::Exposure {
            category: c.into(),
            share_ppm,
            hops,
            value_sat: None,
            amount: None,
            address: String::new(),
            source: String::new(),
        });
        let (_, m) = p.evaluate(crate::policy::Direction::Deposit, &items);
        m.len()
    }

    /// A tenant event log, a key header, and EVM request fields (address,
    /// amount, transaction hash).
    pub fn events_and_keys(bytes: &[u8]) -> usize {
        let mut n = 0;
        let dir = std::env::temp_dir().join(format!("chainhound-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let p = dir.join("events.log");
        if std::fs::write(&p, bytes).is_ok() {
            for json in crate::journal::read_events(&p).unwrap_or_default() {
                n += usize::from(serde_json::from_str::<crate::tenant::Event>(&json).is_ok());
            }
        }
        if let Ok(s) = std::str::from_utf8(bytes) {
            n += usize::from(crate::registry::split_key(s).is_some());
            n += usize::from(crate::registry::check_tenant_name(s).is_ok());
            n += usize::from(crate::auth::key_of_header(s).is_some());
            n += usize::from(crate::evm::parse_address(s).is_ok());
            n += usize::from(crate::evm::parse_amount(s).is_ok());
            n += usize::from(crate::evm::parse_txid(s).is_ok());
        }
        n
    }

    /// A request body as every endpoint's JSON type.
    pub fn request_json(bytes: &[u8]) -> usize {
        crate::api::fuzz_bodies(bytes)
    }
}
