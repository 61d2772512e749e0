//! Trace jobs: long traces run in the background; the client polls their
//! progress and fetches the result. Jobs are per tenant and saved to disk
//! (`super::saved_traces`): a restarted server still answers for them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chainhound_trace::{Direction, Engine, Limits, Model, TraceReport, TraceRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::saved_traces::{self, SavedJob, SavedState};
use super::{answer, Body, PathParam};
use crate::auth::Caller;
use crate::error::Problem;
use crate::registry::Perm;
use crate::screen::HopView;
use crate::state::App;
use crate::tenant::ChainName;
use crate::trace::hop_view;

/// Destinations a trace result lists (the largest), each with its path.
const SHOWN_DESTINATIONS: usize = 500;

/// Running jobs per tenant.
const MAX_RUNNING: usize = 4;
/// Finished jobs kept per tenant.
const MAX_KEPT: usize = 1000;

/// Which way to follow value.
#[derive(Copy, Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TraceDirection {
    /// Where the value went.
    Forward,
    /// Where it came from.
    Backward,
}

/// Taint model (see docs/tracing.md).
#[derive(Copy, Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TraceModel {
    /// Every output of a tainted transaction is tainted.
    Poison,
    /// Proportional shares (conserves value).
    Haircut,
    /// First in, first out (conserves value).
    Fifo,
}

/// A trace to run.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceStart {
    /// Chain (`bitcoin`; `ethereum` is refused with 422: use
    /// `chainhound evm trace`).
    pub chain: ChainName,
    /// Start: `txid:vout`, a txid or an address.
    #[schema(min_length = 1, max_length = 200)]
    pub from: String,
    /// Forward or backward.
    pub direction: TraceDirection,
    /// Taint model (default haircut).
    #[serde(default)]
    pub model: Option<TraceModel>,
    /// Transactions to follow (1-100; default 20).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub max_hops: Option<u32>,
    /// Amounts below this many satoshis are not followed (default 0).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub min_value_sat: Option<u64>,
    /// Forward haircut only: inside CoinJoins, give the taint first to the
    /// outputs judged to be the source owner's, each judgment listed in the
    /// result with its evidence (a heuristic; default false;
    /// docs/tracing.md, "CoinJoin demixing").
    #[serde(default)]
    pub demix: Option<bool>,
}

/// A job's state.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TraceJob {
    /// Job id (per tenant).
    pub id: u64,
    /// `running`, `done` or `failed`.
    pub status: String,
    /// What it traces.
    pub from: String,
    /// Milliseconds since it started (to its end when finished).
    pub elapsed_ms: u64,
    /// Transactions visited (when done).
    pub txs_visited: Option<u64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Where traced value ended.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DestinationView {
    /// Entity id.
    pub entity: u32,
    /// Its name from the tags.
    pub name: Option<String>,
    /// Its categories.
    pub categories: Vec<String>,
    /// Why value stopped there (`stop-at`, `unspent`, `max-hops`, …).
    pub reason: String,
    /// Satoshis.
    pub amount_sat: u64,
    /// Share of the source value, ppm.
    pub share_ppm: u32,
    /// Fewest hops.
    pub min_hops: u32,
    /// Most hops.
    pub max_hops: u32,
    /// One explanation path.
    pub path: Vec<HopView>,
}

/// A CoinJoin the value passed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MixerView {
    /// Transaction id.
    pub txid: String,
    /// Detector.
    pub kind: String,
    /// Tainted satoshis in.
    pub amount_in_sat: u64,
    /// Tainted satoshis out.
    pub amount_out_sat: u64,
}

/// A CoinJoin output a `demix` trace judged to be the source owner's, and
/// why: how it was spent, and the address it reached that also received
/// value wholly traced to the source (`prior`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DemixView {
    /// The CoinJoin output (`txid:vout`).
    pub output: String,
    /// Its address.
    pub address: String,
    /// Its value.
    pub value_sat: u64,
    /// The CoinJoin's detector.
    pub coinjoin_kind: String,
    /// The transaction that spent it.
    pub spent_by: String,
    /// `alone` or `consolidation`.
    pub shape: String,
    /// The output (`txid:vout`) at the corroborating address.
    pub reached: String,
    /// Transactions from `spent_by` to `reached`, both counted.
    pub hops: u32,
    /// The corroborating address.
    pub reached_address: String,
    /// The wholly traced output (`txid:vout`) that address received.
    pub prior: String,
}

/// A finished trace.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TraceResult {
    /// Job id.
    pub id: u64,
    /// Model used.
    pub model: String,
    /// Satoshis at the start.
    pub source_value_sat: u64,
    /// Destinations, largest first (at most 500).
    pub destinations: Vec<DestinationView>,
    /// Destinations in all.
    pub destination_count: usize,
    /// Tainted fees.
    pub fees_sat: u64,
    /// Not followed (below min_value_sat).
    pub below_min_value_sat: u64,
    /// Still unspent.
    pub unspent_sat: u64,
    /// CoinJoins passed.
    pub mixers: Vec<MixerView>,
    /// With `demix`: the judged CoinJoin outputs (at most 500), by CoinJoin.
    #[serde(default)]
    pub demixed: Vec<DemixView>,
    /// Judged CoinJoin outputs in all.
    #[serde(default)]
    pub demixed_count: usize,
    /// The judgment ran out of its budget; later CoinJoins were not judged.
    #[serde(default)]
    pub demix_exhausted: bool,
    /// Transactions visited.
    pub txs_visited: u64,
    /// Most hops reached.
    pub hops_reached: u32,
    /// A limit that cut the trace, with the satoshis left unfollowed.
    pub cut: Option<String>,
}

struct Job {
    from: String,
    started: Instant,
    finished: Option<Instant>,
    /// Jobs found on disk at start: their saved run time.
    saved_elapsed: Option<u64>,
    outcome: Option<Outcome>,
}

/// How a finished job ended.
#[derive(Clone)]
enum Outcome {
    /// The result, or `None` when it is on disk (read when asked for).
    Done {
        txs_visited: u64,
        result: Option<Arc<TraceResult>>,
    },
    Failed(String),
}

/// `tenant`'s jobs, read from disk on first use.
fn tenant_jobs<'a>(
    all: &'a mut HashMap<String, TenantJobs>,
    serve: &Path,
    tenant: &str,
) -> &'a mut TenantJobs {
    all.entry(tenant.to_string()).or_insert_with(|| {
        let mut map = std::collections::BTreeMap::new();
        for job in saved_traces::list(serve, tenant) {
            let outcome = match job.state {
                SavedState::Done { txs_visited } => Outcome::Done {
                    txs_visited,
                    result: None,
                },
                SavedState::Failed { error } => Outcome::Failed(error),
                SavedState::Running => Outcome::Failed(saved_traces::INTERRUPTED.into()),
            };
            map.insert(
                job.id,
                Job {
                    from: job.from,
                    started: Instant::now(),
                    finished: Some(Instant::now()),
                    saved_elapsed: Some(job.elapsed_ms),
                    outcome: Some(outcome),
                },
            );
        }
        (map.keys().last().copied().unwrap_or(0), map)
    })
}

/// One tenant's jobs: the last id given and the jobs by id.
type TenantJobs = (u64, std::collections::BTreeMap<u64, Job>);

/// Jobs of all tenants.
#[derive(Default)]
pub(crate) struct Jobs {
    inner: Mutex<HashMap<String, TenantJobs>>,
}

fn ppm(part: u64, total: u64) -> u32 {
    if total == 0 {
        0
    } else {
        (u128::from(part) * 1_000_000 / u128::from(total)).min(1_000_000) as u32
    }
}

fn result_view(engine: &Engine, id: u64, r: &TraceReport) -> TraceResult {
    TraceResult {
        id,
        model: r.request.model.name().into(),
        source_value_sat: r.source_value,
        destinations: r
            .destinations
            .iter()
            .take(SHOWN_DESTINATIONS)
            .map(|d| DestinationView {
                entity: d.entity.entity.0,
                name: d.entity.name.clone(),
                categories: d.entity.categories.clone(),
                reason: d.reason.name().into(),
                amount_sat: d.amount,
                share_ppm: ppm(d.amount, r.source_value),
                min_hops: d.min_hops,
                max_hops: d.max_hops,
                path: d.path.iter().map(hop_view).collect(),
            })
            .collect(),
        destination_count: r.destinations.len(),
        fees_sat: r.fees,
        below_min_value_sat: r.below_min_value,
        unspent_sat: r.unspent,
        mixers: r
            .mixers
            .iter()
            .map(|m| MixerView {
                txid: m.txid.to_string(),
                kind: m.kind.into(),
                amount_in_sat: m.amount_in,
                amount_out_sat: m.amount_out,
            })
            .collect(),
        demixed: r
            .demixed
            .iter()
            .take(SHOWN_DESTINATIONS)
            .map(|j| DemixView {
                output: engine.outpoint(j.output),
                address: j.output_address.clone(),
                value_sat: j.value,
                coinjoin_kind: j.coinjoin_kind.into(),
                spent_by: engine.store().txid(j.spent_by).to_string(),
                shape: j.shape.name().into(),
                reached: engine.outpoint(j.reached),
                hops: j.hops,
                reached_address: j.address.clone(),
                prior: engine.outpoint(j.prior),
            })
            .collect(),
        demixed_count: r.demixed.len(),
        demix_exhausted: r.demix_exhausted,
        txs_visited: r.txs_visited,
        hops_reached: r.hops_reached,
        cut: r.cut.as_ref().map(|c| {
            format!(
                "{} = {} reached; {} sat unfollowed",
                c.limit, c.value, c.unfollowed
            )
        }),
    }
}

fn job_view(id: u64, j: &Job) -> TraceJob {
    let end = j.finished.unwrap_or_else(Instant::now);
    let (status, txs, error) = match &j.outcome {
        None => ("running", None, None),
        Some(Outcome::Done { txs_visited, .. }) => ("done", Some(*txs_visited), None),
        Some(Outcome::Failed(e)) => ("failed", None, Some(e.clone())),
    };
    TraceJob {
        id,
        status: status.into(),
        from: j.from.clone(),
        elapsed_ms: j
            .saved_elapsed
            .unwrap_or_else(|| end.duration_since(j.started).as_millis() as u64),
        txs_visited: txs,
        error,
    }
}

/// Starts a trace job.
#[utoipa::path(post, path = "/v1/traces", tag = "traces", request_body = TraceStart,
    responses((status = 202, description = "Started", body = TraceJob),
              (status = 409, description = "Too many running jobs", body = Problem, content_type = "application/problem+json"),
              (status = 503, description = "No tracing engine over this data", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn start(
    State(app): State<App>,
    caller: Caller,
    Body(req): Body<TraceStart>,
) -> Result<Response, Problem> {
    caller.require(Perm::Investigate)?;
    let view = app.view();
    if view.evm(req.chain).is_some() {
        return Err(Problem::invalid(format!(
            "trace jobs run on bitcoin; trace {:?} accounts with `chainhound evm trace` (transfer screening reports EVM exposure with its evidence)",
            req.chain
        )));
    }
    if req.chain == ChainName::Tron {
        return Err(Problem::invalid(
            "trace jobs run on bitcoin: this server has no TRON chain data",
        ));
    }
    let Some(engine) = view.engine() else {
        return Err(Problem::unavailable(
            "no tracing engine over this data (build the entity clusters with `chainhound cluster`)",
        ));
    };
    let max_hops = req.max_hops.unwrap_or(20);
    if !(1..=100).contains(&max_hops) {
        return Err(Problem::invalid(format!(
            "max_hops must be 1-100, got {max_hops}"
        )));
    }
    let from = engine
        .resolve(req.from.trim())
        .map_err(|e| Problem::invalid(format!("from: {e}")))?;
    let mut tr = TraceRequest::new(from);
    tr.direction = match req.direction {
        TraceDirection::Forward => Direction::Forward,
        TraceDirection::Backward => Direction::Backward,
    };
    tr.model = match req.model.unwrap_or(TraceModel::Haircut) {
        TraceModel::Poison => Model::Poison,
        TraceModel::Haircut => Model::Haircut,
        TraceModel::Fifo => Model::Fifo,
    };
    tr.max_hops = Some(max_hops);
    tr.min_value = req.min_value_sat.unwrap_or(0);
    tr.demix = req.demix.unwrap_or(false);
    if tr.demix && (tr.model != Model::Haircut || tr.direction != Direction::Forward) {
        return Err(Problem::invalid(
            "demix applies to forward haircut traces only",
        ));
    }
    // The result shows the largest destinations only: expand just their
    // paths (a trace through CoinJoins ends in tens of thousands).
    tr.explain = SHOWN_DESTINATIONS;
    tr.limits = Limits {
        max_txs: 200_000,
        max_frontier: 100_000,
        max_sources: 10_000,
    };
    let jobs = &app.0.jobs;
    let started = Instant::now();
    let id = {
        let mut g = jobs.inner.lock().expect("jobs lock");
        let (next, map) = tenant_jobs(&mut g, app.dir(), &caller.tenant);
        if map.values().filter(|j| j.outcome.is_none()).count() >= MAX_RUNNING {
            return Err(Problem::conflict(format!(
                "{MAX_RUNNING} trace jobs are already running for this tenant"
            )));
        }
        while map.len() >= MAX_KEPT {
            let Some(first) = map.keys().next().copied() else {
                break;
            };
            map.remove(&first);
            saved_traces::remove(app.dir(), &caller.tenant, first);
        }
        *next += 1;
        map.insert(
            *next,
            Job {
                from: req.from.clone(),
                started,
                finished: None,
                saved_elapsed: None,
                outcome: None,
            },
        );
        *next
    };
    let running = SavedJob {
        id,
        from: req.from.clone(),
        elapsed_ms: 0,
        state: SavedState::Running,
    };
    if let Err(e) = saved_traces::save(app.dir(), &caller.tenant, &running) {
        tracing::error!("saving trace job {id}: {e}");
    }
    let app2 = app.clone();
    let tenant = caller.tenant.clone();
    let view2 = view.clone();
    let from = req.from.clone();
    tokio::task::spawn_blocking(move || {
        let out: Result<TraceResult, String> = match view2.engine() {
            Some(e) => e
                .trace(&tr)
                .map(|r| result_view(e, id, &r))
                .map_err(|e| e.to_string()),
            None => Err("the tracing engine went away".into()),
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        // Saved, the result is read from disk when asked for; if saving
        // fails it stays in memory.
        let (outcome, saved) = match out {
            Ok(r) => {
                let txs_visited = r.txs_visited;
                let job = SavedJob {
                    id,
                    from,
                    elapsed_ms,
                    state: SavedState::Done { txs_visited },
                };
                // The result first: "done" on disk always has its result.
                let saved = saved_traces::save_result(app2.dir(), &tenant, id, &r)
                    .and_then(|()| saved_traces::save(app2.dir(), &tenant, &job));
                let keep = saved.is_err().then(|| Arc::new(r));
                (
                    Outcome::Done {
                        txs_visited,
                        result: keep,
                    },
                    saved,
                )
            }
            Err(e) => {
                let job = SavedJob {
                    id,
                    from,
                    elapsed_ms,
                    state: SavedState::Failed { error: e.clone() },
                };
                (
                    Outcome::Failed(e),
                    saved_traces::save(app2.dir(), &tenant, &job),
                )
            }
        };
        if let Err(e) = saved {
            tracing::error!("saving trace job {id}: {e}");
        }
        let mut g = app2.0.jobs.inner.lock().expect("jobs lock");
        if let Some(j) = g.get_mut(&tenant).and_then(|(_, m)| m.get_mut(&id)) {
            j.finished = Some(Instant::now());
            j.saved_elapsed = Some(elapsed_ms);
            j.outcome = Some(outcome);
        }
    });
    let view = {
        let g = jobs.inner.lock().expect("jobs lock");
        job_view(id, &g[&caller.tenant].1[&id])
    };
    let target = format!("{id} {:?} {}", req.chain, req.from);
    app.commit(&caller, "trace.start", &target, 202, Vec::new())
        .await?;
    Ok(answer(StatusCode::ACCEPTED, &view))
}

fn with_job<T>(
    app: &App,
    caller: &Caller,
    id: u64,
    f: impl FnOnce(&Job) -> T,
) -> Result<T, Problem> {
    let mut g = app.0.jobs.inner.lock().expect("jobs lock");
    tenant_jobs(&mut g, app.dir(), &caller.tenant)
        .1
        .get(&id)
        .map(f)
        .ok_or_else(|| Problem::not_found(format!("no trace job {id}")))
}

/// A trace job's progress.
#[utoipa::path(get, path = "/v1/traces/{id}", tag = "traces",
    params(("id" = u64, Path, description = "Job id")),
    responses((status = 200, description = "The job", body = TraceJob)))]
pub(crate) async fn status(
    State(app): State<App>,
    caller: Caller,
    PathParam(id): PathParam<u64>,
) -> Result<Response, Problem> {
    caller.require(Perm::Investigate)?;
    let v = with_job(&app, &caller, id, |j| job_view(id, j))?;
    app.commit(&caller, "trace.status", &id.to_string(), 200, Vec::new())
        .await?;
    Ok(answer(StatusCode::OK, &v))
}

/// A finished trace job's result.
#[utoipa::path(get, path = "/v1/traces/{id}/result", tag = "traces",
    params(("id" = u64, Path, description = "Job id")),
    responses((status = 200, description = "The result", body = TraceResult),
              (status = 409, description = "Not finished, or failed", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn result(
    State(app): State<App>,
    caller: Caller,
    PathParam(id): PathParam<u64>,
) -> Result<Response, Problem> {
    caller.require(Perm::Investigate)?;
    let out = with_job(&app, &caller, id, |j| j.outcome.clone())?;
    let r = match out {
        None => {
            return Err(Problem::conflict(format!(
                "trace job {id} is still running"
            )))
        }
        Some(Outcome::Failed(e)) => {
            return Err(Problem::conflict(format!("trace job {id} failed: {e}")))
        }
        Some(Outcome::Done {
            result: Some(r), ..
        }) => r,
        Some(Outcome::Done { result: None, .. }) => {
            let (dir, tenant) = (app.dir().to_path_buf(), caller.tenant.clone());
            let r =
                tokio::task::spawn_blocking(move || saved_traces::load_result(&dir, &tenant, id))
                    .await
                    .map_err(|e| Problem::internal(&e))?
                    .map_err(|e| Problem::internal(&format!("reading trace job {id}: {e}")))?;
            Arc::new(r)
        }
    };
    app.commit(&caller, "trace.result", &id.to_string(), 200, Vec::new())
        .await?;
    Ok(answer(StatusCode::OK, &*r))
}
