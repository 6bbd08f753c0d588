//! The control plane under `/_sandbox/` (no auth, never counted) and the request
//! recorder that counts and logs every request to a vendor prefix.
//!
//! - `GET  /_sandbox/stats`    `{"total", "by_vendor", "by_route"}`
//! - `GET  /_sandbox/requests` the request log, oldest first, secrets masked
//! - `POST /_sandbox/reset`    seeds only, zero stats, empty log; 204
//! - `GET  /_sandbox/state`    the full vendor state, credentials masked as `"********"`
//!   (in clear only with `--unmask-state`; see [`super::store::mask_state_secrets`])
//! - `POST /_sandbox/faults`   set fault injection (see [`super::faults`]); 200 with the
//!   settings and counters, 400 `{"code", "message"}` for an invalid body
//! - `GET  /_sandbox/faults`   the settings plus `injected`, `dropped` and `seen`
//!
//! Faulted requests are counted and logged like any other, with the injected status (0
//! when the connection was dropped) and `"fault": true`.
//!
//! With `--record-responses`, each entry also holds the request body's size and the answer
//! (content type, size, JSON body with secrets masked): whole exchanges, for the contract
//! tests that check them against the vendors' documents.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::faults::{self, FaultKind, FaultSettings};
use super::store::{LogEntry, LoggedResponse, SharedState, mask_secrets};

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
        .route("/_sandbox/faults", get(get_faults).post(set_faults))
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
    axum::Json(state.state_json().await).into_response()
}

async fn get_faults(State(state): State<SharedState>) -> Response {
    axum::Json(state.faults().to_json()).into_response()
}

async fn set_faults(State(state): State<SharedState>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return generic_error(StatusCode::BAD_REQUEST, format!("unreadable body: {e}")),
    };
    match FaultSettings::parse(&body) {
        Ok(settings) => {
            tracing::info!(?settings, "fault injection set");
            state.faults().set(settings);
            axum::Json(state.faults().to_json()).into_response()
        }
        Err(message) => generic_error(StatusCode::BAD_REQUEST, message),
    }
}

/// The vendor a path belongs to: its first segment, when that is a vendor prefix.
pub fn vendor_of(path: &str) -> Option<&'static str> {
    let first = path.strip_prefix('/')?.split('/').next()?;
    VENDORS.into_iter().find(|v| *v == first)
}

/// A generic JSON error (`{"code", "message"}`, the Run:ai shape) for answers produced
/// outside any vendor handler: unknown routes, wrong methods, unreadable bodies.
fn generic_error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(json!({ "code": status.as_u16(), "message": message }))).into_response()
}

pub async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    generic_error(StatusCode::NOT_FOUND, format!("no route for {method} {}", uri.path()))
}

pub async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> Response {
    generic_error(StatusCode::METHOD_NOT_ALLOWED, format!("method {method} is not allowed on {}", uri.path()))
}

/// Middleware (installed with `Router::layer`, so it runs after routing and sees
/// `MatchedPath`): counts every vendor request and logs it with its answer's status, and
/// applies `/_sandbox/faults` (delay, injected status, dropped connection) before the
/// vendor handler runs.
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
    let mut fault = None;
    let mut handler_status = None;
    let mut body_bytes = None;
    let (response, logged_body) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Err(e) => (
            generic_error(StatusCode::PAYLOAD_TOO_LARGE, format!("request body unreadable or larger than {MAX_BODY_BYTES} bytes: {e}")),
            None,
        ),
        Ok(bytes) => {
            body_bytes = Some(bytes.len());
            let logged = masked_json(&bytes);
            // A HEAD answer has no body to fail, so its connection cannot be dropped.
            let decision = state.faults().decide(method != Method::HEAD);
            if !decision.delay.is_zero() {
                tokio::time::sleep(decision.delay).await;
            }
            fault = decision.fault;
            let response = match decision.fault {
                Some(f) if f.kind == FaultKind::Status => faults::fault_response(vendor, &path, f.status, f.retry_after),
                Some(f) if f.kind == FaultKind::Drop => faults::dropped_response(),
                _ => {
                    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
                    if decision.fault.is_some() {
                        // drop_after_handler: the side effect happened, the answer is lost.
                        handler_status = Some(response.status().as_u16());
                        faults::dropped_response()
                    } else {
                        response
                    }
                }
            };
            (response, logged)
        }
    };
    let status = match fault {
        Some(f) if f.kind != FaultKind::Status => 0,
        _ => response.status().as_u16(),
    };
    let fault = fault.is_some();
    tracing::info!(vendor, %method, path = %path, status, fault, "request");
    let recording = state.config().record_responses;
    // A dropped connection (status 0) has no answer to record.
    let (response, logged_response) = if recording && status != 0 {
        let (response, logged) = buffer_response(response).await;
        (response, Some(logged))
    } else {
        (response, None)
    };
    let body_bytes = body_bytes.filter(|_| recording);
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
            fault,
            handler_status,
            body_bytes,
            response: logged_response,
        },
    );
    response
}

/// A body parsed as JSON with secrets masked; None when it is empty or not JSON.
fn masked_json(bytes: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_slice::<serde_json::Value>(bytes).ok().map(|mut v| {
        mask_secrets(&mut v);
        v
    })
}

/// Reads a whole answer (the vendor handlers' answers are in memory already) to log it, and
/// rebuilds it unchanged. An answer whose body fails to read becomes a 500 saying so.
async fn buffer_response(response: Response) -> (Response, LoggedResponse) {
    let (parts, body) = response.into_parts();
    let content_type = parts.headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            let logged = LoggedResponse { content_type, bytes: bytes.len(), body: masked_json(&bytes) };
            (Response::from_parts(parts, Body::from(bytes)), logged)
        }
        Err(e) => {
            let response = generic_error(StatusCode::INTERNAL_SERVER_ERROR, format!("the answer's body could not be read: {e}"));
            (response, LoggedResponse { content_type, bytes: 0, body: None })
        }
    }
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
