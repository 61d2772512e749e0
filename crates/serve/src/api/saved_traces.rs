//! Trace jobs on disk, per tenant in `<serve>/tenants/<tenant>/traces/`:
//! `<id>.meta.json` (what the job is and how it stands, a few hundred bytes)
//! and, once it is done, `<id>.result.json` (the result, which can be
//! megabytes). Both are replaced atomically; the result is written before
//! the metadata says "done". A restarted server lists the small files only
//! and reads a result when it is asked for, so finished jobs cost neither
//! memory nor start-up time; a job that was still running when the server
//! stopped is reported as failed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::traces::TraceResult;

/// A job's metadata as saved.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SavedJob {
    pub id: u64,
    pub from: String,
    /// Milliseconds from start to end (0 while running).
    pub elapsed_ms: u64,
    #[serde(flatten)]
    pub state: SavedState,
}

/// How a saved job stands.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub(crate) enum SavedState {
    Running,
    Done { txs_visited: u64 },
    Failed { error: String },
}

/// What a running job becomes when the server stopped under it.
pub(crate) const INTERRUPTED: &str =
    "interrupted: the server stopped before the trace finished; start it again";

/// The directory of `tenant`'s jobs.
pub(crate) fn dir(serve: &Path, tenant: &str) -> PathBuf {
    serve.join("tenants").join(tenant).join("traces")
}

fn meta_name(id: u64) -> String {
    format!("{id}.meta.json")
}

fn result_name(id: u64) -> String {
    format!("{id}.result.json")
}

fn write(serve: &Path, tenant: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let d = dir(serve, tenant);
    std::fs::create_dir_all(&d)?;
    chainhound_store::write_atomic(&d, name, bytes)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Saves a job's metadata (atomically).
pub(crate) fn save(serve: &Path, tenant: &str, job: &SavedJob) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(job).map_err(std::io::Error::other)?;
    write(serve, tenant, &meta_name(job.id), &bytes)
}

/// Saves a finished job's result (atomically); save the metadata after.
pub(crate) fn save_result(
    serve: &Path,
    tenant: &str,
    id: u64,
    r: &TraceResult,
) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(r).map_err(std::io::Error::other)?;
    write(serve, tenant, &result_name(id), &bytes)
}

fn read_json<T: serde::de::DeserializeOwned>(p: &Path) -> std::io::Result<T> {
    let bytes = std::fs::read(p)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {e}", p.display()),
        )
    })
}

/// Reads a finished job's result.
pub(crate) fn load_result(serve: &Path, tenant: &str, id: u64) -> std::io::Result<TraceResult> {
    read_json(&dir(serve, tenant).join(result_name(id)))
}

/// Removes a saved job (missing files are fine).
pub(crate) fn remove(serve: &Path, tenant: &str, id: u64) {
    for name in [meta_name(id), result_name(id)] {
        let p = dir(serve, tenant).join(name);
        if let Err(e) = std::fs::remove_file(&p) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("removing {}: {e}", p.display());
            }
        }
    }
}

/// Every saved job of `tenant`, by id. A job saved as running is marked
/// interrupted (and saved so); a file that cannot be read is skipped with a
/// warning naming it.
pub(crate) fn list(serve: &Path, tenant: &str) -> Vec<SavedJob> {
    let Ok(rd) = std::fs::read_dir(dir(serve, tenant)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ent in rd.flatten() {
        let name = ent.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".meta.json"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let mut job: SavedJob = match read_json(&ent.path()) {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!("skipping saved trace job: {e}");
                continue;
            }
        };
        if job.id != id {
            tracing::warn!("skipping {}: it holds job {}", ent.path().display(), job.id);
            continue;
        }
        if let SavedState::Running = job.state {
            job.state = SavedState::Failed {
                error: INTERRUPTED.into(),
            };
            if let Err(e) = save(serve, tenant, &job) {
                tracing::warn!("marking trace job {id} interrupted: {e}");
            }
        }
        out.push(job);
    }
    out.sort_by_key(|j| j.id);
    out
}
