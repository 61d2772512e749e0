//! The HTTP surface: the router, the middleware (auth, rate limit, audit),
//! extractors whose rejections are problem documents, and the OpenAPI 3.1
//! document generated from the handlers' annotations.

mod admin;
mod docs;
mod entities;
mod saved_traces;
mod screening;
mod tags;
pub(crate) mod traces;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::Problem;
use crate::state::App;

/// Marks a response whose request the handler already audited.
#[derive(Clone, Copy)]
pub(crate) struct Audited;

/// A JSON body whose rejections are problem documents (400 syntax, 413 too
/// large, 415 content type, 422 data).
pub(crate) struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;
    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(r) => Err(json_problem(r)),
        }
    }
}

fn json_problem(r: JsonRejection) -> Problem {
    let slug = match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => "too-large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid-request",
        _ => "malformed-json",
    };
    Problem::new(r.status(), slug, r.body_text())
}

/// Path parameters with problem rejections (400).
pub(crate) struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(PathParam(v)),
            Err(r) => Err(path_problem(r)),
        }
    }
}

fn path_problem(r: PathRejection) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "bad-path", r.body_text())
}

/// Query parameters with problem rejections (400).
pub(crate) struct QueryParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParam<T> {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(QueryParam(v)),
            Err(r) => Err(query_problem(r)),
        }
    }
}

fn query_problem(r: QueryRejection) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "bad-query", r.body_text())
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| Problem::unauthorized("an API key is required"))
    }
}

/// A JSON answer marked as audited.
pub(crate) fn answer<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.extensions_mut().insert(Audited);
    r
}

/// Authenticates, rate-limits and audits every request but `/health`.
async fn guard(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let caller = match app.0.auth.authenticate(req.headers()).await {
        Ok(c) => c,
        Err(p) => {
            let p = if path.starts_with("/docs") && p.status == 401 {
                Problem::unauthorized_basic(p.detail)
            } else {
                p
            };
            return p.at(&path).into_response();
        }
    };
    req.extensions_mut().insert(caller.clone());
    // A key or tenant made from the command line is audited before the
    // first request that uses it.
    app.audit_registry_changes();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    let action = format!("{} {route}", req.method());
    let resp = next.run(req).await;
    if resp.extensions().get::<Audited>().is_none() {
        let status = resp.status().as_u16();
        if let Err(p) = app
            .commit(&caller, &action, &path, status, Vec::new())
            .await
        {
            return p.into_response();
        }
    }
    resp
}

/// A panicking handler is a bug: answer 500 (problem+json) and log it,
/// instead of dropping the connection.
async fn catch_panics(req: Request, next: Next) -> Response {
    use futures_util::FutureExt;
    let path = req.uri().path().to_string();
    match std::panic::AssertUnwindSafe(next.run(req))
        .catch_unwind()
        .await
    {
        Ok(r) => r,
        Err(_) => Problem::internal(&format!("a handler panicked on {path}")).into_response(),
    }
}

async fn not_found(req: Request) -> Problem {
    Problem::not_found(format!("no endpoint {}", req.uri().path())).at(req.uri().path())
}

async fn method_not_allowed(req: Request) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
    .at(req.uri().path())
}

/// Liveness.
#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    status: String,
    /// Crate version.
    version: String,
}

/// Liveness probe; the only endpoint that needs no key.
#[utoipa::path(get, path = "/health", tag = "service", security(()),
    responses((status = 200, description = "The service is up", body = Health)))]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ChainHound screening API",
        description = "Know-your-transaction screening of Bitcoin and Ethereum addresses and transfers against sanctions and attribution tags, with tenant-private tags, alerts, trace jobs and a hash-chained audit log. Every endpoint but /health needs an API key (`Authorization: Bearer chk_…` or `X-API-Key`). Errors are RFC 9457 problem documents.",
        license(name = "Apache-2.0")
    ),
    paths(
        health,
        docs::openapi_json,
        docs::docs_page,
        screening::screen_address,
        screening::screen_transfer,
        screening::screen_batch,
        screening::list_screenings,
        screening::get_screening,
        screening::rescreen,
        entities::entity,
        traces::start,
        traces::status,
        traces::result,
        tags::add,
        tags::list,
        tags::remove,
        admin::list_alerts,
        admin::ack_alert,
        admin::get_policy,
        admin::put_policy,
        admin::list_keys,
        admin::create_key,
        admin::revoke_key,
        admin::audit,
    ),
    components(schemas(Problem)),
    security(("bearer" = []), ("api_key" = [])),
)]
struct ApiDoc;

fn problem_response(desc: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(desc)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

fn add_problems(op: &mut Operation, public: bool) {
    let mut codes: Vec<(&str, &str)> = vec![
        (
            "400",
            "Malformed request (JSON syntax, path or query parameter)",
        ),
        ("404", "Not found"),
        ("405", "Method not allowed"),
        ("413", "Request body too large"),
        ("415", "Content type is not application/json"),
        (
            "422",
            "Well-formed but invalid request (unknown chain, bad checksum, out of range)",
        ),
    ];
    if !public {
        codes.push(("401", "Missing, unknown, malformed or revoked API key"));
        codes.push(("403", "The key's role does not allow this"));
        codes.push(("429", "The key's rate limit is exhausted"));
    }
    for (c, d) in codes {
        op.responses
            .responses
            .entry(c.to_string())
            .or_insert_with(|| problem_response(d).into());
    }
}

/// The OpenAPI 3.1 document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let comps = doc.components.get_or_insert_with(Default::default);
    comps.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("chk_<id>_<secret>")
                .build(),
        ),
    );
    comps.add_security_scheme(
        "api_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        let public = path == "/health";
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_problems(op, public);
        }
    }
    doc
}

/// Parses `bytes` as every request body type (fuzzing); counts successes.
pub(crate) fn fuzz_bodies(bytes: &[u8]) -> usize {
    fn ok<T: DeserializeOwned>(b: &[u8]) -> usize {
        usize::from(serde_json::from_slice::<T>(b).is_ok())
    }
    ok::<screening::AddressRequest>(bytes)
        + ok::<screening::TransferRequest>(bytes)
        + ok::<screening::BatchRequest>(bytes)
        + ok::<tags::NewTag>(bytes)
        + ok::<traces::TraceStart>(bytes)
        + ok::<admin::NewKeyRequest>(bytes)
        + ok::<crate::policy::Policy>(bytes)
}

/// The service's router.
pub fn router(app: App) -> Router {
    let max_body = app.0.opts.max_body;
    let protected = Router::new()
        .route("/openapi.json", get(docs::openapi_json))
        .route("/docs", get(docs::docs_page))
        .route("/docs/redoc.standalone.js", get(docs::redoc_js))
        .route("/v1/screen/address", post(screening::screen_address))
        .route("/v1/screen/transfer", post(screening::screen_transfer))
        .route("/v1/screen/batch", post(screening::screen_batch))
        .route("/v1/screenings", get(screening::list_screenings))
        .route("/v1/screenings/{id}", get(screening::get_screening))
        .route("/v1/rescreen", post(screening::rescreen))
        .route("/v1/entities/{chain}/{address}", get(entities::entity))
        .route("/v1/traces", post(traces::start))
        .route("/v1/traces/{id}", get(traces::status))
        .route("/v1/traces/{id}/result", get(traces::result))
        .route("/v1/tags", post(tags::add).get(tags::list))
        .route("/v1/tags/{id}", delete(tags::remove))
        .route("/v1/alerts", get(admin::list_alerts))
        .route("/v1/alerts/{id}/ack", post(admin::ack_alert))
        .route("/v1/policy", get(admin::get_policy).put(admin::put_policy))
        .route("/v1/keys", get(admin::list_keys).post(admin::create_key))
        .route("/v1/keys/{id}", delete(admin::revoke_key))
        .route("/v1/audit", get(admin::audit))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(app.clone(), guard));
    Router::new()
        .route("/health", get(health))
        .merge(protected)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn(catch_panics))
        .with_state(app)
}
