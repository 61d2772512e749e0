//! `/openapi.json` and the human-readable docs page (Redoc, vendored in
//! `assets/redoc/`, served from the binary).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Audited;
use crate::auth::Caller;

const REDOC: &str = include_str!("../../assets/redoc/redoc.standalone.js");

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ChainHound screening API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body>
<redoc spec-url="/openapi.json" hide-download-button="false"></redoc>
<script src="/docs/redoc.standalone.js"></script>
</body>
</html>
"#;

/// The OpenAPI 3.1 document of this service.
#[utoipa::path(get, path = "/openapi.json", tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub(crate) async fn openapi_json(_caller: Caller) -> Response {
    let body = super::openapi().to_json().unwrap_or_default();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// The API documentation as a web page (a browser asks for the key as the
/// password of HTTP Basic authentication; any user name).
#[utoipa::path(get, path = "/docs", tag = "service",
    responses((status = 200, description = "HTML page", content_type = "text/html", body = String)))]
pub(crate) async fn docs_page(_caller: Caller) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        PAGE,
    )
        .into_response()
}

/// The vendored Redoc bundle.
pub(crate) async fn redoc_js(_caller: Caller) -> Response {
    let mut r = (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        REDOC,
    )
        .into_response();
    r.extensions_mut().insert(Audited);
    r
}
