//! The control plane under `/_sandbox/` (no auth, never counted) and the request
//! recorder that counts and logs every request to a vendor prefix.
//!
//! - `GET  /_sandbox/stats`    `{"total", "by_vendor", "by_route"}`
//! - `GET  /_sandbox/requests` the request log, oldest first, secrets masked
//! - `POST /_sandbox/reset`    seeds only, zero stats, empty log; 204
//! - `GET  /_sandbox/state`    the full vendor state, unmasked
//! - `POST/GET /_sandbox/faults` (fault injection) belongs to a later issue: its routes go
//!   in [`routes`] and its decision point is marked in [`record`].

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::store::{LogEntry, SharedState, mask_secrets};

/// Vendor prefixes (first path segment) whose requests are counted and logged.
pub const VENDORS: [&str; 4] = ["runai", "fudo", "oci", "landscape"];

/// The largest request body the recorder buffers (matches axum's default body limit).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/requests", get(requests))
        .route("/_sandbox/reset", post(reset))
        .route("/_sandbox/state", get(state))
    // Later issue: .route("/_sandbox/faults", get(list_faults).post(set_faults))
}

async fn stats(State(state): State<SharedState>) -> Response {
    axum::Json(state.stats()).into_response()
}

async fn requests(State(state): State<SharedState>) -> Response {
    axum::Json(state.requests()).into_response()
}

async fn reset(State(state): State<SharedState>) -> StatusCode {
    state.reset().await;
    StatusCode::NO_CONTENT
}

async fn state(State(state): State<SharedState>) -> Response {
    axum::Json(state.snapshot().await).into_response()
}

/// The vendor a path belongs to: its first segment, when that is a vendor prefix.
pub fn vendor_of(path: &str) -> Option<&'static str> {
    let first = path.strip_prefix('/')?.split('/').next()?;
    VENDORS.into_iter().find(|v| *v == first)
}

/// A generic JSON error (`{"code", "message"}`, the Run:ai shape) for answers produced
/// outside any vendor handler: unknown routes, wrong methods, unreadable bodies.
fn generic_error(status: StatusCode, message: String) -> Response {
    (
        status,
        axum::Json(json!({ "code": status.as_u16(), "message": message })),
    )
        .into_response()
}

pub async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    generic_error(
        StatusCode::NOT_FOUND,
        format!("no route for {method} {}", uri.path()),
    )
}

pub async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> Response {
    generic_error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on {}", uri.path()),
    )
}

/// Middleware (installed with `Router::layer`, so it runs after routing and sees
/// `MatchedPath`): counts every vendor request and logs it with its answer's status.
pub async fn record(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let Some(vendor) = vendor_of(&path) else {
        return next.run(req).await;
    };
    let method = req.method().clone();
    let query = req.uri().query().map(str::to_string);
    let route = match req.extensions().get::<MatchedPath>() {
        Some(p) => format!("{method} {}", p.as_str()),
        None => format!("{method} <unmatched>"),
    };
    let (parts, body) = req.into_parts();
    let (response, logged_body) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Err(e) => (
            generic_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body unreadable or larger than {MAX_BODY_BYTES} bytes: {e}"),
            ),
            None,
        ),
        Ok(bytes) => {
            let logged = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .map(|mut v| {
                    mask_secrets(&mut v);
                    v
                });
            // Later issue (/_sandbox/faults): decide here whether this request gets an
            // injected fault (status, delay, Retry-After, dropped connection) instead of
            // reaching the vendor handler.
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            (response, logged)
        }
    };
    let status = response.status().as_u16();
    tracing::info!(vendor, %method, path = %path, status, "request");
    state.record(
        vendor,
        route,
        LogEntry {
            method: method.to_string(),
            path,
            query,
            status,
            body: logged_body,
            bulk: false,
        },
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_prefixes() {
        assert_eq!(vendor_of("/runai/api/v1/idps"), Some("runai"));
        assert_eq!(vendor_of("/runai"), Some("runai"));
        assert_eq!(vendor_of("/oci/admin/v1/Users"), Some("oci"));
        assert_eq!(vendor_of("/runaix/api"), None);
        assert_eq!(vendor_of("/_sandbox/stats"), None);
        assert_eq!(vendor_of("/"), None);
        assert_eq!(vendor_of(""), None);
    }
}
