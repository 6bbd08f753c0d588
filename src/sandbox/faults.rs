//! Fault injection for vendor requests: `POST /_sandbox/faults`, `GET /_sandbox/faults`.
//!
//! The settings apply to every request under a vendor prefix (`/runai`, `/fudo`, `/oci`,
//! `/landscape`; never `/_sandbox`). The request recorder ([`super::control::record`]) asks
//! [`Faults::decide`] once per vendor request, after the body is read and before the vendor
//! handler (and its auth check) runs.
//!
//! Settings (the JSON body of `POST /_sandbox/faults`; unknown keys are refused):
//! - `rate` (required, `0..=1`): the share of requests that fail. `0` turns faults off.
//! - `statuses` (`400..=599`, non-empty when `rate > 0` unless a drop mode is on): a failing
//!   request answers one of them, chosen at random, with the vendor's own error body
//!   (see [`fault_response`]). It never reaches the vendor handler.
//! - `retry_after` (seconds): sent as `Retry-After` on injected 429 and 503 answers.
//! - `delay_ms` (at most [`MAX_DELAY_MS`]): every vendor request, failing or not, waits
//!   this long before it is handled (also when `rate` is 0).
//! - `drop`: a failing request gets no answer at all; the connection is closed instead
//!   (see [`dropped_response`]). The handler does not run.
//! - `drop_after_handler`: a failing request reaches the vendor handler (its side effect
//!   happens), then the answer is thrown away and the connection closed: "the request
//!   reached the server but the answer was lost". At most one of the two drop modes.
//! - `drop_share` (`0..=1`, default 1; only with a drop mode): the share of failing
//!   requests that are dropped; the others answer one of `statuses` (which must then be
//!   non-empty). So `{"rate": 0.2, "statuses": [429, 503], "drop_after_handler": true,
//!   "drop_share": 0.25}` fails 20% of requests: 15% with a status, 5% dropped after the
//!   handler ran.
//! - `seed` (u64): the random choices (fail or not, which status) come from a generator
//!   seeded with it, so the same sequence of requests gets the same faults.
//! - `rate_limit` (requests per second, above 0): a rate limit like a vendor's, a token
//!   bucket holding one second's worth: a request beyond it answers 429 (with
//!   `Retry-After`: `retry_after`, else 1) without reaching the handler. Counted in
//!   `injected` and in `rate_limited`.
//! - `after_n` (default 0) / `count` (default unlimited): only requests number
//!   `after_n + 1 ..= after_n + count`, counted from the moment the settings were posted,
//!   may fail (`rate` still applies inside the window; use `rate: 1` for an exact window).
//!
//! Every `POST` replaces all settings and restarts the request numbering (`seen`); the
//! counters `injected` (all faults, drops included) and `dropped` (connections closed)
//! accumulate until `POST /_sandbox/reset`, which also turns faults off.
//!
//! Dropped connections are an HTTP/1.1 mechanism (the sandbox serves HTTP/1.1 only over
//! TLS too): the answer's body fails on its first poll, and hyper then aborts the
//! connection before the buffered status line is ever written. A `HEAD` answer has no body
//! to fail, so a `HEAD` request chosen for a drop gets a status fault instead.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{fudo, runai, scim};

/// The longest `delay_ms` accepted (10 minutes).
pub const MAX_DELAY_MS: u64 = 600_000;

/// The status a `HEAD` request chosen for a drop gets when `statuses` is empty.
const HEAD_DROP_FALLBACK: u16 = 503;

/// What `POST /_sandbox/faults` takes and `GET` shows (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSettings {
    pub rate: f64,
    #[serde(default)]
    pub statuses: Vec<u16>,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default)]
    pub drop: bool,
    #[serde(default)]
    pub drop_after_handler: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_share: Option<f64>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub after_n: u64,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<f64>,
}

impl FaultSettings {
    /// Parses and validates a `POST /_sandbox/faults` body; the error is a message for a 400.
    pub fn parse(body: &[u8]) -> Result<FaultSettings, String> {
        let s: FaultSettings = serde_json::from_slice(body).map_err(|e| format!("invalid fault settings: {e}"))?;
        s.validate()?;
        Ok(s)
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.rate) {
            return Err(format!("rate must be between 0 and 1, got {}", self.rate));
        }
        if let Some(bad) = self.statuses.iter().find(|s| !(400..=599).contains(*s)) {
            return Err(format!("statuses must be HTTP error codes between 400 and 599, got {bad}"));
        }
        if self.drop && self.drop_after_handler {
            return Err("drop and drop_after_handler cannot both be true".to_string());
        }
        if self.rate > 0.0 && self.statuses.is_empty() && !self.drops() {
            return Err("statuses must not be empty when rate is above 0 (or set drop)".to_string());
        }
        if let Some(share) = self.drop_share {
            if !(0.0..=1.0).contains(&share) {
                return Err(format!("drop_share must be between 0 and 1, got {share}"));
            }
            if !self.drops() {
                return Err("drop_share needs drop or drop_after_handler".to_string());
            }
            if share < 1.0 && self.rate > 0.0 && self.statuses.is_empty() {
                return Err("statuses must not be empty when drop_share is below 1".to_string());
            }
        }
        if let Some(limit) = self.rate_limit {
            if !(limit > 0.0 && limit <= 1e6) {
                return Err(format!("rate_limit must be above 0 and at most 1000000 requests per second, got {limit}"));
            }
        }
        if self.delay_ms > MAX_DELAY_MS {
            return Err(format!("delay_ms must be at most {MAX_DELAY_MS}, got {}", self.delay_ms));
        }
        Ok(())
    }

    fn drops(&self) -> bool {
        self.drop || self.drop_after_handler
    }
}

/// How a request chosen to fail fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer `status` (with `Retry-After` when set and the status is 429 or 503); the
    /// handler does not run.
    Status,
    /// Close the connection without an answer; the handler does not run.
    Drop,
    /// Run the handler, then close the connection without an answer.
    DropAfterHandler,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// The injected status (for [`FaultKind::Status`]).
    pub status: u16,
    /// The `Retry-After` seconds to send with an injected 429 or 503.
    pub retry_after: Option<u64>,
}

/// What happens to one vendor request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    /// Wait this long before handling the request (or failing it).
    pub delay: Duration,
    pub fault: Option<Fault>,
}

#[derive(Debug)]
struct Inner {
    settings: FaultSettings,
    rng: StdRng,
    /// Vendor requests seen since the settings were posted (numbers the `after_n` window).
    seen: u64,
    injected: u64,
    dropped: u64,
    /// Requests refused by `rate_limit`.
    rate_limited: u64,
    /// The `rate_limit` bucket: requests it allows now, and when it was last filled.
    tokens: f64,
    filled: std::time::Instant,
}

impl Inner {
    fn off() -> Inner {
        Inner {
            settings: FaultSettings::default(),
            rng: StdRng::from_os_rng(),
            seen: 0,
            injected: 0,
            dropped: 0,
            rate_limited: 0,
            tokens: 0.0,
            filled: std::time::Instant::now(),
        }
    }

    /// Whether `rate_limit` refuses a request now (and takes its token when not).
    fn over_limit(&mut self) -> bool {
        let Some(limit) = self.settings.rate_limit else { return false };
        let now = std::time::Instant::now();
        let burst = limit.max(1.0);
        self.tokens = (self.tokens + now.duration_since(self.filled).as_secs_f64() * limit).min(burst);
        self.filled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            false
        } else {
            true
        }
    }
}

/// The live fault settings and counters (one per server, in [`super::AppState`]).
#[derive(Debug)]
pub struct Faults {
    inner: Mutex<Inner>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults { inner: Mutex::new(Inner::off()) }
    }
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the settings (already validated) and restarts the request numbering; the
    /// counters keep counting.
    pub fn set(&self, settings: FaultSettings) {
        let mut inner = self.lock();
        inner.rng = match settings.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        inner.tokens = settings.rate_limit.map_or(0.0, |l| l.max(1.0));
        inner.filled = std::time::Instant::now();
        inner.settings = settings;
        inner.seen = 0;
    }

    /// Faults off, counters zeroed (`POST /_sandbox/reset`).
    pub fn reset(&self) {
        *self.lock() = Inner::off();
    }

    pub fn settings(&self) -> FaultSettings {
        self.lock().settings.clone()
    }

    /// `(injected, dropped)`.
    pub fn counters(&self) -> (u64, u64) {
        let inner = self.lock();
        (inner.injected, inner.dropped)
    }

    /// What `GET /_sandbox/faults` answers: the settings plus `injected`, `dropped`, `seen`.
    pub fn to_json(&self) -> Value {
        let inner = self.lock();
        let mut v = serde_json::to_value(&inner.settings).unwrap_or_else(|_| json!({}));
        if let Some(obj) = v.as_object_mut() {
            obj.insert("injected".into(), json!(inner.injected));
            obj.insert("dropped".into(), json!(inner.dropped));
            obj.insert("seen".into(), json!(inner.seen));
            obj.insert("rate_limited".into(), json!(inner.rate_limited));
        }
        v
    }

    /// Decides the fate of one vendor request (and counts it). `can_drop` is false when the
    /// connection cannot be dropped for this request (`HEAD`): a drop becomes a status fault.
    pub fn decide(&self, can_drop: bool) -> Decision {
        let mut guard = self.lock();
        let inner = &mut *guard;
        inner.seen += 1;
        let delay = Duration::from_millis(inner.settings.delay_ms);
        if inner.over_limit() {
            inner.injected += 1;
            inner.rate_limited += 1;
            let retry_after = Some(inner.settings.retry_after.unwrap_or(1));
            return Decision { delay, fault: Some(Fault { kind: FaultKind::Status, status: 429, retry_after }) };
        }
        let s = &inner.settings;
        let n = inner.seen;
        let in_window = n > s.after_n && s.count.is_none_or(|c| n - s.after_n <= c);
        if !in_window || s.rate <= 0.0 || inner.rng.random::<f64>() >= s.rate {
            return Decision { delay, fault: None };
        }
        let status = if s.statuses.is_empty() { HEAD_DROP_FALLBACK } else { s.statuses[inner.rng.random_range(0..s.statuses.len())] };
        // Only drawn when set, so seeded sequences without it stay as they were.
        let can_drop = can_drop && s.drop_share.is_none_or(|share| inner.rng.random::<f64>() < share);
        let kind = match (s.drop, s.drop_after_handler, can_drop) {
            (true, _, true) => FaultKind::Drop,
            (_, true, true) => FaultKind::DropAfterHandler,
            _ => FaultKind::Status,
        };
        let retry_after = s.retry_after;
        inner.injected += 1;
        if kind != FaultKind::Status {
            inner.dropped += 1;
        }
        Decision { delay, fault: Some(Fault { kind, status, retry_after }) }
    }
}

/// The vendor's own error answer for an injected `status`, with `Retry-After` when
/// `retry_after` is set and the status is 429 or 503:
/// - Run:ai: `{"code", "message", "details"}`
/// - Fudo: `{"result": "error", "message"}`
/// - OCI SCIM (`/oci/admin/v1`): `{"schemas": [Error], "status": "<code>", "detail"}` as
///   `application/scim+json`; the OAuth2 token endpoint: `{"error", "error_description"}`
/// - Landscape: `{"error": "<Code>", "message"}` (`TooManyRequests`, `ServiceUnavailable`...)
pub fn fault_response(vendor: &str, path: &str, status: u16, retry_after: Option<u64>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let reason = code.canonical_reason().unwrap_or("Error");
    let message = format!("{reason} (injected by the sandbox's fault injection)");
    let mut resp = match vendor {
        "runai" => runai::ApiError::new(code, reason, Some("injected by the sandbox's fault injection".to_string())).into_response(),
        "fudo" => fudo::FudoError::new(code, message).into_response(),
        "oci" if path == scim::TOKEN_PATH || path.starts_with("/oci/oauth2/") => {
            let error = match status {
                429 | 503 => "temporarily_unavailable",
                401 => "invalid_client",
                500..=599 => "server_error",
                _ => "invalid_request",
            };
            (
                code,
                [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
                axum::Json(json!({ "error": error, "error_description": message })),
            )
                .into_response()
        }
        "oci" => scim::ScimError::new(code, None, message).into_response(),
        _ => (code, axum::Json(json!({ "error": landscape_code(reason), "message": message }))).into_response(),
    };
    if let Some(secs) = retry_after {
        if matches!(status, 429 | 503) {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
    }
    resp
}

/// Landscape's error codes are reason phrases in CamelCase (`BadRequest`, `NotFound`).
fn landscape_code(reason: &str) -> String {
    reason
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// Marks a response that must never reach the client (in-process tests look for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DroppedConnection;

/// An answer that makes hyper close the connection without sending anything: its body
/// fails on the first poll. hyper's HTTP/1.1 dispatcher buffers the status line and
/// headers, polls the body in the same write pass, and on the body's error returns the
/// error from the connection future before flushing, so the socket is closed with no
/// byte of the answer written. The status is never sent (and is not 204/304, which would
/// make hyper skip the body).
pub fn dropped_response() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by the sandbox's fault injection",
        ))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    resp.extensions_mut().insert(DroppedConnection);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landscape_codes() {
        assert_eq!(landscape_code("Too Many Requests"), "TooManyRequests");
        assert_eq!(landscape_code("Service Unavailable"), "ServiceUnavailable");
        assert_eq!(landscape_code("Bad Gateway"), "BadGateway");
        assert_eq!(landscape_code("Error"), "Error");
    }

    #[test]
    fn window_and_rate() {
        let f = Faults::default();
        f.set(FaultSettings { rate: 1.0, statuses: vec![503], after_n: 2, count: Some(3), ..FaultSettings::default() });
        let faulted: Vec<bool> = (0..8).map(|_| f.decide(true).fault.is_some()).collect();
        assert_eq!(faulted, [false, false, true, true, true, false, false, false]);
        assert_eq!(f.counters(), (3, 0));
        // Off by default and after reset.
        f.reset();
        assert!((0..50).all(|_| f.decide(true) == Decision::default()));
        assert_eq!(f.counters(), (0, 0));
    }

    #[test]
    fn a_rate_limit_refuses_what_exceeds_a_second_s_worth_with_429() {
        let f = Faults::default();
        f.set(FaultSettings::parse(br#"{"rate": 0, "rate_limit": 5}"#).expect("valid"));
        // A burst: the bucket holds 5 (one second's worth); the rest answer 429, Retry-After 1.
        let got: Vec<Option<Fault>> = (0..8).map(|_| f.decide(true).fault).collect();
        assert!(got[..5].iter().all(Option::is_none), "{got:?}");
        for fault in &got[5..] {
            assert_eq!(*fault, Some(Fault { kind: FaultKind::Status, status: 429, retry_after: Some(1) }));
        }
        assert_eq!(f.counters(), (3, 0));
        assert_eq!(f.to_json()["rate_limited"], 3);
        assert!(FaultSettings::parse(br#"{"rate": 0, "rate_limit": 0}"#).is_err());
        assert!(FaultSettings::parse(br#"{"rate": 0, "rate_limit": -2}"#).is_err());
    }

    #[test]
    fn drop_share_mixes_drops_and_statuses() {
        let f = Faults::default();
        let parse = |body: &str| FaultSettings::parse(body.as_bytes());
        assert!(parse(r#"{"rate": 1, "statuses": [503], "drop_share": 0.5}"#).is_err(), "needs a drop mode");
        assert!(parse(r#"{"rate": 1, "drop": true, "drop_share": 0.5}"#).is_err(), "needs statuses");
        assert!(parse(r#"{"rate": 1, "statuses": [503], "drop": true, "drop_share": 1.5}"#).is_err());
        let s = parse(r#"{"rate": 1, "statuses": [429], "drop_after_handler": true, "drop_share": 0.25, "seed": 1}"#).expect("valid");
        f.set(s);
        let kinds: Vec<FaultKind> = (0..400).filter_map(|_| f.decide(true).fault.map(|x| x.kind)).collect();
        let dropped = kinds.iter().filter(|k| **k == FaultKind::DropAfterHandler).count();
        assert_eq!(kinds.len(), 400);
        assert!((60..=140).contains(&dropped), "about a quarter dropped: {dropped}");
        assert!(kinds.iter().all(|k| matches!(k, FaultKind::DropAfterHandler | FaultKind::Status)));
    }

    #[test]
    fn head_requests_are_not_dropped() {
        let f = Faults::default();
        f.set(FaultSettings { rate: 1.0, drop: true, ..FaultSettings::default() });
        let d = f.decide(false).fault.expect("fault");
        assert_eq!((d.kind, d.status), (FaultKind::Status, 503));
        assert_eq!(f.decide(true).fault.map(|d| d.kind), Some(FaultKind::Drop));
        assert_eq!(f.counters(), (2, 1));
    }
}
