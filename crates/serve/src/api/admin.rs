//! Alerts, policy, keys and the audit log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{answer, Body, PathParam, QueryParam};
use crate::audit::{self, Entry};
use crate::auth::Caller;
use crate::error::Problem;
use crate::policy::Policy;
use crate::registry::{Perm, Registry, Role, DEFAULT_RATE};
use crate::state::App;
use crate::tenant::{Ack, Alert, Event, POLICY_FILE};

/// Alert filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// `open` (default: not acknowledged) or `all`.
    #[param(inline)]
    pub state: Option<AlertState>,
}

/// Which alerts.
#[derive(Copy, Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Not acknowledged.
    Open,
    /// All.
    All,
}

/// This tenant's alerts.
#[derive(Serialize, ToSchema)]
pub struct AlertList {
    /// Alerts, newest first.
    pub alerts: Vec<Alert>,
}

/// Lists alerts: past screenings whose level changed.
#[utoipa::path(get, path = "/v1/alerts", tag = "alerts", params(AlertQuery),
    responses((status = 200, description = "Alerts", body = AlertList)))]
pub(crate) async fn list_alerts(
    State(app): State<App>,
    caller: Caller,
    QueryParam(q): QueryParam<AlertQuery>,
) -> Result<Response, Problem> {
    caller.require(Perm::Read)?;
    let all = matches!(q.state, Some(AlertState::All));
    let t = app.tenant(&caller.tenant)?;
    let alerts = t
        .lock()
        .expect("tenant lock")
        .alerts
        .values()
        .rev()
        .filter(|a| all || a.acked.is_none())
        .take(10_000)
        .cloned()
        .collect();
    app.commit(&caller, "alerts.list", "", 200, Vec::new())
        .await?;
    Ok(answer(StatusCode::OK, &AlertList { alerts }))
}

/// Acknowledges an alert.
#[utoipa::path(post, path = "/v1/alerts/{id}/ack", tag = "alerts",
    params(("id" = u64, Path, description = "Alert id")),
    responses((status = 200, description = "The alert", body = Alert)))]
pub(crate) async fn ack_alert(
    State(app): State<App>,
    caller: Caller,
    PathParam(id): PathParam<u64>,
) -> Result<Response, Problem> {
    caller.require(Perm::Write)?;
    let t = app.tenant(&caller.tenant)?;
    let (alert, line) = {
        let mut t = t.lock().expect("tenant lock");
        let Some(a) = t.alerts.get(&id) else {
            return Err(Problem::not_found(format!("no alert {id}")));
        };
        if a.acked.is_some() {
            (a.clone(), None)
        } else {
            let ev = Event::AlertAcked {
                id,
                ack: Ack {
                    ts: crate::tenant::now_ms(),
                    key: caller.key.clone(),
                },
            };
            let line = ev.line();
            t.apply(ev);
            (t.alerts[&id].clone(), Some(line))
        }
    };
    app.commit(
        &caller,
        "alerts.ack",
        &id.to_string(),
        200,
        line.into_iter().collect(),
    )
    .await?;
    Ok(answer(StatusCode::OK, &alert))
}

/// The tenant's risk policy.
#[utoipa::path(get, path = "/v1/policy", tag = "policy",
    responses((status = 200, description = "The policy in force", body = Policy)))]
pub(crate) async fn get_policy(
    State(app): State<App>,
    caller: Caller,
) -> Result<Response, Problem> {
    caller.require(Perm::Read)?;
    let p = app
        .tenant(&caller.tenant)?
        .lock()
        .expect("tenant lock")
        .policy
        .clone();
    app.commit(&caller, "policy.get", "", 200, Vec::new())
        .await?;
    Ok(answer(StatusCode::OK, &*p))
}

/// Replaces the tenant's risk policy and re-screens (admin).
#[utoipa::path(put, path = "/v1/policy", tag = "policy", request_body = Policy,
    responses((status = 200, description = "The policy in force", body = Policy)))]
pub(crate) async fn put_policy(
    State(app): State<App>,
    caller: Caller,
    Body(p): Body<Policy>,
) -> Result<Response, Problem> {
    caller.require(Perm::Admin)?;
    p.check().map_err(Problem::from)?;
    let dir = app.dir().join("tenants").join(&caller.tenant);
    std::fs::create_dir_all(&dir).map_err(|e| Problem::internal(&e))?;
    let bytes = serde_json::to_vec_pretty(&p).map_err(|e| Problem::internal(&e))?;
    chainhound_store::write_atomic(&dir, POLICY_FILE, &bytes).map_err(|e| Problem::internal(&e))?;
    app.tenant(&caller.tenant)?
        .lock()
        .expect("tenant lock")
        .policy = std::sync::Arc::new(p.clone());
    app.commit(
        &caller,
        "policy.put",
        &format!("{} v{}", p.name, p.version),
        200,
        Vec::new(),
    )
    .await?;
    app.rescreen(&caller.tenant, "policy changed").await?;
    Ok(answer(StatusCode::OK, &p))
}

/// A key as listed (never its secret).
#[derive(Serialize, ToSchema)]
pub struct KeyView {
    /// Key id.
    pub id: String,
    /// Role.
    pub role: Role,
    /// Label.
    pub label: String,
    /// Unix seconds.
    pub created: i64,
    /// When revoked.
    pub revoked: Option<i64>,
    /// Requests per second.
    pub rate: u32,
}

/// This tenant's keys.
#[derive(Serialize, ToSchema)]
pub struct KeyList {
    /// Keys.
    pub keys: Vec<KeyView>,
}

/// A new key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    /// Role.
    pub role: Role,
    /// Label (at most 200 bytes).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub label: String,
    /// Requests per second (1-1,000,000; default 200).
    #[schema(minimum = 1, maximum = 1000000)]
    pub rate: Option<u32>,
}

/// A created key: the only time its secret is shown.
#[derive(Serialize, ToSchema)]
pub struct CreatedKey {
    /// The key.
    pub key: KeyView,
    /// `chk_<id>_<secret>`: store it now; it is not shown again.
    pub secret: String,
}

fn key_view(k: &crate::registry::KeyRecord) -> KeyView {
    KeyView {
        id: k.id.clone(),
        role: k.role,
        label: k.label.clone(),
        created: k.created,
        revoked: k.revoked,
        rate: k.rate,
    }
}

/// Lists this tenant's keys (admin).
#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    responses((status = 200, description = "Keys", body = KeyList)))]
pub(crate) async fn list_keys(State(app): State<App>, caller: Caller) -> Result<Response, Problem> {
    caller.require(Perm::Admin)?;
    let reg = app.0.auth.registry();
    let keys = reg
        .keys
        .values()
        .filter(|k| k.tenant == caller.tenant)
        .map(key_view)
        .collect();
    app.commit(&caller, "keys.list", "", 200, Vec::new())
        .await?;
    Ok(answer(StatusCode::OK, &KeyList { keys }))
}

/// Creates a key in this tenant (admin).
#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = NewKeyRequest,
    responses((status = 201, description = "The key, with its secret shown once", body = CreatedKey)))]
pub(crate) async fn create_key(
    State(app): State<App>,
    caller: Caller,
    Body(req): Body<NewKeyRequest>,
) -> Result<Response, Problem> {
    caller.require(Perm::Admin)?;
    let rate = req.rate.unwrap_or(DEFAULT_RATE);
    if !(1..=1_000_000).contains(&rate) {
        return Err(Problem::invalid(format!(
            "rate must be 1-1000000, got {rate}"
        )));
    }
    let dir = app.dir().to_path_buf();
    let tenant = caller.tenant.clone();
    let (k, reg) = tokio::task::spawn_blocking(move || {
        let k = Registry::update(&dir, |r| r.create_key(&tenant, req.role, &req.label, rate))?;
        Ok::<_, crate::ServeError>((k, Registry::load(&dir)?))
    })
    .await
    .map_err(|e| Problem::internal(&e))?
    .map_err(Problem::from)?;
    app.0.auth.install(reg);
    app.commit(&caller, "keys.create", &k.record.id, 201, Vec::new())
        .await?;
    Ok(answer(
        StatusCode::CREATED,
        &CreatedKey {
            key: key_view(&k.record),
            secret: k.plaintext,
        },
    ))
}

/// Revokes a key of this tenant (admin); it stops working at once.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys",
    params(("id" = String, Path, description = "Key id")),
    responses((status = 200, description = "The revoked key", body = KeyView),
              (status = 409, description = "A key cannot revoke itself", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn revoke_key(
    State(app): State<App>,
    caller: Caller,
    PathParam(id): PathParam<String>,
) -> Result<Response, Problem> {
    caller.require(Perm::Admin)?;
    if id == caller.key {
        return Err(Problem::conflict(
            "a key cannot revoke itself: use another admin key or `chainhound keys revoke`",
        ));
    }
    let dir = app.dir().to_path_buf();
    let tenant = caller.tenant.clone();
    let id2 = id.clone();
    let (k, reg) = tokio::task::spawn_blocking(move || {
        let k = Registry::update(&dir, |r| r.revoke(&id2, Some(&tenant)))?;
        Ok::<_, crate::ServeError>((k, Registry::load(&dir)?))
    })
    .await
    .map_err(|e| Problem::internal(&e))?
    .map_err(Problem::from)?;
    app.0.auth.install(reg);
    app.commit(&caller, "keys.revoke", &id, 200, Vec::new())
        .await?;
    Ok(answer(StatusCode::OK, &key_view(&k)))
}

/// Audit query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries to return (1-1000, default 100), newest first.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// This tenant's audit entries.
#[derive(Serialize, ToSchema)]
pub struct AuditList {
    /// Entries, newest first. The chain spans all tenants; verify it with
    /// `chainhound audit verify`.
    pub entries: Vec<Entry>,
}

/// This tenant's audit entries (admin).
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "Entries", body = AuditList)))]
pub(crate) async fn audit(
    State(app): State<App>,
    caller: Caller,
    QueryParam(q): QueryParam<AuditQuery>,
) -> Result<Response, Problem> {
    caller.require(Perm::Admin)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::invalid(format!(
            "limit must be 1-1000, got {limit}"
        )));
    }
    let dir = app.dir().to_path_buf();
    let tenant = caller.tenant.clone();
    let entries = tokio::task::spawn_blocking(move || {
        audit::newest(&dir, limit as usize, |e| e.tenant == tenant)
    })
    .await
    .map_err(|e| Problem::internal(&e))?
    .map_err(Problem::from)?;
    app.commit(&caller, "audit.list", "", 200, Vec::new())
        .await?;
    Ok(answer(StatusCode::OK, &AuditList { entries }))
}
