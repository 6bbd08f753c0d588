//! The sandbox test client shared by the sandbox's unit tests: the whole router (vendor
//! routes, control plane, recorder, faults) driven in process with
//! `tower::ServiceExt::oneshot`, one request at a time, and the answer read whole.
//!
//! - [`sandbox`] / [`sandbox_with`] build a [`Sb`]: the router plus its live state.
//! - [`Sb::send`] is the one request: raw `Authorization` and `Content-Type` values, an
//!   optional body, `Host: sandbox.test:8080` ([`HOST`]).
//! - Per vendor, with that vendor's demo credentials: [`Sb::runai`], [`Sb::fudo`],
//!   [`Sb::scim`]; [`Sb::bearer`] with any bearer token; [`Sb::call`] with whatever
//!   credentials the path's vendor expects.
//! - The control plane: [`Sb::log`], [`Sb::state_json`], [`Sb::faults`].

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt as _;

use super::faults::DroppedConnection;
use super::{
    AppState, DEFAULT_FUDO_API_KEY, DEFAULT_LANDSCAPE_TOKEN, DEFAULT_RUNAI_TOKEN, DEFAULT_SCIM_STATIC_TOKEN, SandboxConfig, SharedState,
    router,
};

/// The `Host` every request names (answers build their URLs from it).
pub const HOST: &str = "sandbox.test:8080";

/// A sandbox router and the state behind it.
pub struct Sb {
    pub app: Router,
    /// The live state (stats, request log, data) for assertions.
    pub state: SharedState,
}

/// A sandbox with the default configuration (demo credentials, in-memory state).
pub fn sandbox() -> Sb {
    sandbox_with(SandboxConfig::default())
}

pub fn sandbox_with(config: SandboxConfig) -> Sb {
    let state = AppState::new(config).expect("state");
    Sb { app: router(state.clone()), state }
}

/// One answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as text (lossy).
    pub raw: String,
    /// The body as JSON; `null` when it is not JSON.
    pub json: Value,
    /// The answer was the fault injector's "drop the connection" response (its body
    /// fails to read; `raw` is then empty).
    pub dropped: bool,
}

impl Answer {
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The credentials header each vendor expects: none for the control plane, the token
/// endpoint and unknown prefixes.
fn credentials_for(path: &str) -> Option<String> {
    if path.starts_with("/runai") {
        Some(format!("Bearer {DEFAULT_RUNAI_TOKEN}"))
    } else if path.starts_with("/fudo") {
        Some(DEFAULT_FUDO_API_KEY.to_string())
    } else if path.starts_with("/oci/admin") {
        Some(format!("Bearer {DEFAULT_SCIM_STATIC_TOKEN}"))
    } else if path.starts_with("/landscape") {
        Some(format!("Bearer {DEFAULT_LANDSCAPE_TOKEN}"))
    } else {
        None
    }
}

impl Sb {
    /// One request: `authorization` and `content_type` are the raw header values (left
    /// out when `None`).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        let headers: Vec<(header::HeaderName, &str)> =
            [authorization.map(|a| (header::AUTHORIZATION, a)), content_type.map(|ct| (header::CONTENT_TYPE, ct))]
                .into_iter()
                .flatten()
                .collect();
        self.send_with(method, path, &headers, body).await
    }

    /// One request with the given headers (besides `Host`).
    pub async fn send_with(&self, method: &str, path: &str, headers: &[(header::HeaderName, &str)], body: Option<&str>) -> Answer {
        let mut req = Request::builder().method(method).uri(path).header(header::HOST, HOST);
        for (name, value) in headers {
            req = req.header(name, *value);
        }
        let req = req.body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty)).expect("request");
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let marked = resp.extensions().get::<DroppedConnection>().is_some();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
        let dropped = marked || bytes.is_err();
        if dropped {
            assert!(marked && bytes.is_err(), "a dropped answer is marked and its body fails");
        }
        let bytes = bytes.unwrap_or_default();
        Answer {
            status,
            headers,
            raw: String::from_utf8_lossy(&bytes).into_owned(),
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            dropped,
        }
    }

    /// With `Authorization: Bearer <token>` when `token` is given, and
    /// `Content-Type: application/json` when `body` is.
    pub async fn bearer(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Answer {
        let authorization = token.map(|t| format!("Bearer {t}"));
        self.send(method, path, authorization.as_deref(), body.map(|_| "application/json"), body).await
    }

    /// A Run:ai request with the default token.
    pub async fn runai(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let body = body.map(|b| b.to_string());
        self.bearer(method, path, Some(DEFAULT_RUNAI_TOKEN), body.as_deref()).await
    }

    /// A Fudo request with the default API key, always `Content-Type: application/json`.
    pub async fn fudo(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let body = body.map(|b| b.to_string());
        self.send(method, path, Some(DEFAULT_FUDO_API_KEY), Some("application/json"), body.as_deref()).await
    }

    /// A SCIM request with the static token; a body goes as `application/scim+json`.
    pub async fn scim(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let body = body.map(|b| b.to_string());
        let authorization = format!("Bearer {DEFAULT_SCIM_STATIC_TOKEN}");
        self.send(method, path, Some(&authorization), body.as_ref().map(|_| "application/scim+json"), body.as_deref()).await
    }

    /// A request with the credentials the path's vendor expects (none elsewhere) and,
    /// when `body` is given, `Content-Type: application/json`.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let body = body.map(|b| b.to_string());
        let authorization = credentials_for(path);
        self.send(method, path, authorization.as_deref(), body.as_ref().map(|_| "application/json"), body.as_deref()).await
    }

    /// `GET /_sandbox/requests`: the request log.
    pub async fn log(&self) -> Vec<Value> {
        let a = self.send("GET", "/_sandbox/requests", None, None, None).await;
        a.json.as_array().cloned().expect("log array")
    }

    /// `GET /_sandbox/state`.
    pub async fn state_json(&self) -> Value {
        self.send("GET", "/_sandbox/state", None, None, None).await.json
    }

    /// `POST /_sandbox/faults` with `settings`.
    pub async fn faults(&self, settings: Value) -> Answer {
        self.call("POST", "/_sandbox/faults", Some(settings)).await
    }
}
