//! Trace jobs on disk: `<serve>/tenants/<tenant>/traces/<id>.json`, one file
//! per job, replaced atomically when the job starts and when it ends. A
//! restarted server finds its tenants' jobs again (results are read from
//! disk when asked for, so finished jobs cost no memory); a job that was
//! still running when the server stopped is reported as failed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::traces::TraceResult;

/// A job as saved.
#[derive(Serialize, Deserialize)]
pub(crate) struct SavedJob {
    pub id: u64,
    pub from: String,
    /// Milliseconds from start to end (0 while running).
    pub elapsed_ms: u64,
    #[serde(flatten)]
    pub outcome: SavedOutcome,
}

/// How a saved job stands.
#[derive(Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub(crate) enum SavedOutcome {
    Running,
    Done { result: Box<TraceResult> },
    Failed { error: String },
}

/// What a running job becomes when the server stopped under it.
pub(crate) const INTERRUPTED: &str =
    "interrupted: the server stopped before the trace finished; start it again";

/// The directory of `tenant`'s jobs.
pub(crate) fn dir(serve: &Path, tenant: &str) -> PathBuf {
    serve.join("tenants").join(tenant).join("traces")
}

fn file_name(id: u64) -> String {
    format!("{id}.json")
}

/// Saves a job (atomically).
pub(crate) fn save(serve: &Path, tenant: &str, job: &SavedJob) -> std::io::Result<()> {
    let d = dir(serve, tenant);
    std::fs::create_dir_all(&d)?;
    let bytes = serde_json::to_vec(job).map_err(std::io::Error::other)?;
    chainhound_store::write_atomic(&d, &file_name(job.id), &bytes)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Reads one saved job.
pub(crate) fn load(serve: &Path, tenant: &str, id: u64) -> std::io::Result<SavedJob> {
    let p = dir(serve, tenant).join(file_name(id));
    let bytes = std::fs::read(&p)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {e}", p.display()),
        )
    })
}

/// Removes a saved job (a missing file is fine).
pub(crate) fn remove(serve: &Path, tenant: &str, id: u64) {
    let p = dir(serve, tenant).join(file_name(id));
    if let Err(e) = std::fs::remove_file(&p) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!("removing {}: {e}", p.display());
        }
    }
}

/// Every saved job of `tenant`, without results: (id, from, elapsed,
/// Ok(txs visited) or Err(error)). A job saved as running is marked
/// interrupted (and saved so). Unreadable files are skipped with a
/// warning naming them.
pub(crate) type Listed = (u64, String, u64, Result<u64, String>);

pub(crate) fn list(serve: &Path, tenant: &str) -> Vec<Listed> {
    let d = dir(serve, tenant);
    let Ok(rd) = std::fs::read_dir(&d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ent in rd.flatten() {
        let name = ent.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let job = match load(serve, tenant, id) {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!("skipping saved trace job: {e}");
                continue;
            }
        };
        let state = match job.outcome {
            SavedOutcome::Done { result } => Ok(result.txs_visited),
            SavedOutcome::Failed { error } => Err(error),
            SavedOutcome::Running => {
                let marked = SavedJob {
                    id,
                    from: job.from.clone(),
                    elapsed_ms: job.elapsed_ms,
                    outcome: SavedOutcome::Failed {
                        error: INTERRUPTED.into(),
                    },
                };
                if let Err(e) = save(serve, tenant, &marked) {
                    tracing::warn!("marking trace job {id} interrupted: {e}");
                }
                Err(INTERRUPTED.into())
            }
        };
        out.push((id, job.from, job.elapsed_ms, state));
    }
    out.sort_by_key(|j| j.0);
    out
}
