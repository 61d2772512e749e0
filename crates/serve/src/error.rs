//! Errors: [`ServeError`] for the library's own operations (files, keys,
//! policy), and [`Problem`], the RFC 9457 `application/problem+json` answer
//! every failed request gets.

use std::path::PathBuf;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// An error of the service's own state (registry, audit log, policy files).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A stored file is not what this version writes.
    #[error("{path}: {msg}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line or entry.
        msg: String,
    },
    /// The chain data could not be opened.
    #[error("opening {what}: {msg}")]
    Data {
        /// Which part of the data directory.
        what: &'static str,
        /// The underlying error.
        msg: String,
    },
    /// A name, role or other argument is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// Not found (tenant, key).
    #[error("{0}")]
    NotFound(String),
}

impl ServeError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> ServeError {
        ServeError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = ServeError> = std::result::Result<T, E>;

/// An RFC 9457 problem detail. `type` is a stable URI naming the kind of
/// problem; `detail` says what was wrong and where.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this request, naming the field or value.
    pub detail: String,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip)]
    #[schema(ignore)]
    retry_after: Option<u64>,
    #[serde(skip)]
    #[schema(ignore)]
    basic_challenge: bool,
}

impl Problem {
    /// A problem of `status`, with a type slug (`/problems/<slug>`).
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("https://chainhound.invalid/problems/{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            instance: None,
            retry_after: None,
            basic_challenge: false,
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }
    /// 401: no or an unknown key.
    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
    /// 401 that also asks a browser for credentials (the docs page).
    pub fn unauthorized_basic(detail: impl Into<String>) -> Problem {
        let mut p = Problem::unauthorized(detail);
        p.basic_challenge = true;
        p
    }
    /// 403: the key's role may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }
    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", detail)
    }
    /// 409.
    pub fn conflict(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::CONFLICT, "conflict", detail)
    }
    /// 422: well-formed JSON with a wrong value.
    pub fn invalid(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-request", detail)
    }
    /// 429 with a `Retry-After`.
    pub fn rate_limited(retry_after: u64) -> Problem {
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            format!("this key's rate limit is exhausted; retry after {retry_after} s"),
        );
        p.retry_after = Some(retry_after);
        p
    }
    /// 500 with a generic detail; the real cause is logged, never sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Problem {
        tracing::error!("internal error: {cause}");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to answer; the cause is in its log",
        )
    }
    /// 503: the service is shutting down or its writer is gone.
    pub fn unavailable(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }

    /// Sets the `instance` member.
    pub fn at(mut self, path: &str) -> Problem {
        self.instance = Some(path.to_string());
        self
    }
}

impl From<ServeError> for Problem {
    fn from(e: ServeError) -> Problem {
        match e {
            ServeError::Invalid(m) => Problem::invalid(m),
            ServeError::NotFound(m) => Problem::not_found(m),
            other => Problem::internal(&other),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut r = (status, body).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.basic_challenge {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"chainhound\", charset=\"UTF-8\""),
            );
        }
        r
    }
}
