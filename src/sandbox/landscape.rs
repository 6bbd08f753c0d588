//! Canonical Landscape API v2, OIDC group import sessions and staged groups, under
//! `/landscape/api/v2/oidc/groups/...`, as Landscape's API documentation describes them.
//!
//! Emulated behaviour:
//! - Bearer auth with the configured token (`--landscape-token`); 401 otherwise.
//! - Errors are `{"error": "<Code>", "message": "<text>"}` (400 `BadRequest`, 401
//!   `Unauthorized`, 404 `NotFound`).
//! - Seeds (account 312): issuer **123** with 520 groups at the identity provider, 20 of
//!   which are already imported (every 26th), so a completed session stages 500 groups by
//!   default and 520 with `include_imported=true`; issuer **124**, whose imports always
//!   end `FAILED`; issuer **125**, whose imports are slow (`--landscape-slow-import-ms`,
//!   10 minutes by default) for timeout and interruption tests.
//! - `POST .../import_session {"issuer_id": N}` answers 201 with the session, status
//!   `IN_PROGRESS`. It stays so for `--landscape-import-ms` (1500 ms by default), then ends
//!   `COMPLETED` (its groups become staged, with fresh ids) or `FAILED` (issuer 124).
//!   `synced_at` is the creation time, then the completion time. The change is applied
//!   lazily under the data lock (like Run:ai's delayed mappers), so it survives `--data`.
//! - `GET .../import_session/<id>`: the session; 404 for an unknown id.
//! - `GET .../staged?import_session_id=N[&include_imported=true][&limit=L][&offset=O]`:
//!   `{"count", "next", "previous", "results"}` in the style of Django REST framework's
//!   limit/offset pagination. `count` is the total after filtering; `limit` defaults to 50
//!   and is capped at 100 ([`MAX_PAGE_SIZE`]); `offset` defaults to 0; `next` / `previous`
//!   are absolute URLs or null. Results are ordered by id. A session that is still running
//!   or failed has no staged groups; an unknown session is 404; a missing or malformed
//!   parameter is 400.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;

use super::store::SharedState;

/// URL prefix of the Landscape emulation; the provider's `landscape.url` is `<sandbox>/landscape`.
pub const PREFIX: &str = "/landscape";
/// Where the OIDC group routes live.
pub const GROUPS_PATH: &str = "/landscape/api/v2/oidc/groups";

/// The account every seeded object belongs to (the spec's sample).
pub const ACCOUNT_ID: i64 = 312;
/// The issuer seeded with groups whose imports complete.
pub const ISSUER_OK: i64 = 123;
/// The issuer whose imports always fail.
pub const ISSUER_FAILING: i64 = 124;
/// The issuer whose imports take `--landscape-slow-import-ms`.
pub const ISSUER_SLOW: i64 = 125;
/// Groups of issuer 123 that a completed session stages by default (not yet imported).
pub const SEEDED_GROUPS: usize = 500;
/// Further groups of issuer 123 that are already imported (listed only with `include_imported`).
pub const SEEDED_IMPORTED_GROUPS: usize = 20;

/// Default of `--landscape-import-ms`.
pub const DEFAULT_IMPORT_MS: u64 = 1500;
/// Default of `--landscape-slow-import-ms` (10 minutes).
pub const DEFAULT_SLOW_IMPORT_MS: u64 = 600_000;

/// The longest import duration honoured (about 100 years).
const MAX_IMPORT_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// Page size of `GET .../staged` when `limit` is absent.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page `GET .../staged` serves; a larger `limit` is capped to it.
pub const MAX_PAGE_SIZE: usize = 100;

// ---------------------------------------------------------------------------------------
// Stored model (`GET /_sandbox/state` under "landscape"; persisted by `--data`)
// ---------------------------------------------------------------------------------------

/// Everything the Landscape emulation holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LandscapeData {
    #[serde(default)]
    pub issuers: Vec<Issuer>,
    /// Import sessions, by id.
    #[serde(default)]
    pub sessions: Vec<ImportSession>,
    /// Staged groups of completed sessions, by id.
    #[serde(default)]
    pub staged: Vec<StagedGroup>,
    #[serde(default = "one")]
    pub next_session_id: i64,
    #[serde(default = "one")]
    pub next_group_id: i64,
}

fn one() -> i64 {
    1
}

/// How an issuer's imports behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuerBehavior {
    /// Completes after `--landscape-import-ms`.
    Completes,
    /// Fails after `--landscape-import-ms`.
    Fails,
    /// Completes after `--landscape-slow-import-ms`.
    Slow,
}

/// An OIDC issuer and the groups its identity provider holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Issuer {
    pub id: i64,
    pub name: String,
    pub behavior: IssuerBehavior,
    pub groups: Vec<IssuerGroup>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuerGroup {
    pub group_id: String,
    pub name: String,
    /// Already imported into Landscape: staged, but listed only with `include_imported`.
    #[serde(default)]
    pub imported: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionStatus {
    InProgress,
    Completed,
    Failed,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::InProgress => "IN_PROGRESS",
            SessionStatus::Completed => "COMPLETED",
            SessionStatus::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportSession {
    pub id: i64,
    pub account_id: i64,
    pub issuer_id: i64,
    pub status: SessionStatus,
    pub synced_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// When an `IN_PROGRESS` session ends, and how.
    pub due_at: DateTime<Utc>,
    pub outcome: SessionStatus,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StagedGroup {
    pub id: i64,
    pub account_id: i64,
    pub issuer_id: i64,
    pub group_id: String,
    pub name: String,
    pub import_session_id: i64,
    #[serde(default)]
    pub imported: bool,
}

const DEPARTMENTS: &[&str] = &[
    "Marketing",
    "Engineering",
    "Sales",
    "Finance",
    "Legal",
    "Support",
    "Operations",
    "Security",
    "Research",
    "Design",
    "Platform",
    "Data",
    "People",
    "Facilities",
    "Procurement",
    "Quality",
];

/// A 20-character lower-case alphanumeric id, deterministic per (issuer, index).
fn group_id(issuer: i64, index: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut x = (issuer as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (index as u64).wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let mut out = String::with_capacity(20);
    for _ in 0..20 {
        // splitmix64 step
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.push(ALPHABET[(z % 36) as usize] as char);
    }
    out
}

fn seeded_groups(issuer: i64, total: usize, imported_every: Option<usize>) -> Vec<IssuerGroup> {
    (0..total)
        .map(|i| {
            let dept = DEPARTMENTS[i % DEPARTMENTS.len()];
            let (group_id, name) = match (issuer, i) {
                // The two groups of the spec's sample.
                (ISSUER_OK, 0) => ("1239fzxv39fvzcz3fcwp".to_string(), dept.to_string()),
                (ISSUER_OK, 1) => ("ij9v3490vjxczl209jxc".to_string(), dept.to_string()),
                _ => (group_id(issuer, i), format!("{dept} {:03}", i + 1)),
            };
            let imported = imported_every.is_some_and(|n| i % n == n - 1);
            IssuerGroup { group_id, name, imported }
        })
        .collect()
}

impl LandscapeData {
    /// The seeded issuers; no sessions yet.
    pub fn seeded() -> Self {
        let total = SEEDED_GROUPS + SEEDED_IMPORTED_GROUPS;
        LandscapeData {
            issuers: vec![
                Issuer {
                    id: ISSUER_OK,
                    name: "Corporate SSO".into(),
                    behavior: IssuerBehavior::Completes,
                    // Every 26th of the 520 is imported: 20 imported, 500 not.
                    groups: seeded_groups(ISSUER_OK, total, Some(total / SEEDED_IMPORTED_GROUPS)),
                },
                Issuer {
                    id: ISSUER_FAILING,
                    name: "Broken issuer (imports fail)".into(),
                    behavior: IssuerBehavior::Fails,
                    groups: seeded_groups(ISSUER_FAILING, 5, None),
                },
                Issuer {
                    id: ISSUER_SLOW,
                    name: "Slow issuer (imports take --landscape-slow-import-ms)".into(),
                    behavior: IssuerBehavior::Slow,
                    groups: seeded_groups(ISSUER_SLOW, 10, None),
                },
            ],
            sessions: Vec::new(),
            staged: Vec::new(),
            next_session_id: 1,
            next_group_id: 1,
        }
    }

    /// Restores invariants a hand-edited `--data` file may break.
    pub fn normalize(&mut self) {
        self.issuers.sort_by_key(|i| i.id);
        self.sessions.sort_by_key(|s| s.id);
        self.staged.sort_by_key(|g| g.id);
        let max_session = self.sessions.iter().map(|s| s.id).max().unwrap_or(0);
        self.next_session_id = self.next_session_id.max(max_session + 1);
        let max_group = self.staged.iter().map(|g| g.id).max().unwrap_or(0);
        self.next_group_id = self.next_group_id.max(max_group + 1);
    }

    /// Ends the sessions that are due at `now`, staging the groups of completed ones.
    pub fn settle(&mut self, now: DateTime<Utc>) {
        for i in 0..self.sessions.len() {
            let s = &self.sessions[i];
            if s.status != SessionStatus::InProgress || s.due_at > now {
                continue;
            }
            let (id, issuer_id, account_id, outcome, due_at) = (s.id, s.issuer_id, s.account_id, s.outcome, s.due_at);
            if outcome == SessionStatus::Completed {
                let groups = self.issuers.iter().find(|x| x.id == issuer_id).map(|x| x.groups.clone()).unwrap_or_default();
                for g in groups {
                    let gid = self.next_group_id;
                    self.next_group_id += 1;
                    self.staged.push(StagedGroup {
                        id: gid,
                        account_id,
                        issuer_id,
                        group_id: g.group_id,
                        name: g.name,
                        import_session_id: id,
                        imported: g.imported,
                    });
                }
            }
            let s = &mut self.sessions[i];
            s.status = outcome;
            s.synced_at = due_at;
        }
    }

    pub fn session(&self, id: i64) -> Option<&ImportSession> {
        self.sessions.iter().find(|s| s.id == id)
    }

    pub fn issuer(&self, id: i64) -> Option<&Issuer> {
        self.issuers.iter().find(|i| i.id == id)
    }

    /// Starts an import session for `issuer_id` at `now` that runs for `duration`.
    fn start_session(&mut self, issuer_id: i64, now: DateTime<Utc>, duration: chrono::Duration, outcome: SessionStatus) -> ImportSession {
        let id = self.next_session_id;
        self.next_session_id += 1;
        let s = ImportSession {
            id,
            account_id: ACCOUNT_ID,
            issuer_id,
            status: SessionStatus::InProgress,
            synced_at: now,
            created_at: now,
            due_at: now + duration,
            outcome,
        };
        self.sessions.push(s.clone());
        s
    }
}

/// The API view of a session (the spec's sample shape).
fn session_json(s: &ImportSession) -> Value {
    json!({
        "id": s.id,
        "account_id": s.account_id,
        "status": s.status.as_str(),
        "issuer_id": s.issuer_id,
        "synced_at": s.synced_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    })
}

fn staged_json(g: &StagedGroup) -> Value {
    json!({
        "id": g.id,
        "account_id": g.account_id,
        "issuer_id": g.issuer_id,
        "group_id": g.group_id,
        "name": g.name,
        "import_session_id": g.import_session_id,
    })
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// A Landscape error answer: `{"error": "<Code>", "message": "<text>"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into() }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
    fn code(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "BadRequest",
            StatusCode::UNAUTHORIZED => "Unauthorized",
            StatusCode::NOT_FOUND => "NotFound",
            _ => "Error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({ "error": self.code(), "message": self.message }))).into_response()
    }
}

// ---------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------

/// The Landscape routes (full paths under [`PREFIX`]), guarded by the bearer token.
pub fn routes(state: SharedState) -> Router<SharedState> {
    Router::new()
        .route("/landscape/api/v2/oidc/groups/import_session", post(create_session))
        .route("/landscape/api/v2/oidc/groups/import_session/{id}", get(get_session))
        .route("/landscape/api/v2/oidc/groups/staged", get(list_staged))
        .route_layer(middleware::from_fn_with_state(state, auth))
}

async fn auth(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let token = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|h| {
        let (scheme, token) = h.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
    });
    match token {
        Some(t) if t == state.config().landscape_token => next.run(req).await,
        Some(_) => ApiError::new(StatusCode::UNAUTHORIZED, "Invalid or expired token.").into_response(),
        None => ApiError::new(StatusCode::UNAUTHORIZED, "Authentication required: send Authorization: Bearer <JWT>.").into_response(),
    }
}

/// `issuer_id` from the body: an integer (or a string of digits, as a form-minded client
/// might send).
fn parse_issuer_id(body: Result<Bytes, BytesRejection>) -> Result<i64, ApiError> {
    let bytes = body.map_err(|e| ApiError::bad_request(format!("Invalid request body: {}", e.body_text())))?;
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("Invalid request body: malformed JSON ({e}).")))?;
    let Value::Object(obj) = v else {
        return Err(ApiError::bad_request("Invalid request body: expected a JSON object."));
    };
    match obj.get("issuer_id") {
        None | Some(Value::Null) => Err(ApiError::bad_request("Missing required parameter: issuer_id.")),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| ApiError::bad_request("Invalid issuer_id: expected an integer.")),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| ApiError::bad_request("Invalid issuer_id: expected an integer.")),
        Some(_) => Err(ApiError::bad_request("Invalid issuer_id: expected an integer.")),
    }
}

async fn create_session(State(state): State<SharedState>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let issuer_id = parse_issuer_id(body)?;
    let normal = state.config().landscape_import_ms;
    let slow = state.config().landscape_slow_import_ms;
    let session = state
        .write(|d| {
            let issuer = d.landscape.issuer(issuer_id).ok_or_else(|| ApiError::not_found(format!("Issuer {issuer_id} not found.")))?;
            let (ms, outcome) = match issuer.behavior {
                IssuerBehavior::Completes => (normal, SessionStatus::Completed),
                IssuerBehavior::Fails => (normal, SessionStatus::Failed),
                IssuerBehavior::Slow => (slow, SessionStatus::Completed),
            };
            // Capped at about 100 years, so the due time can never overflow.
            let duration = chrono::Duration::milliseconds(i64::try_from(ms.min(MAX_IMPORT_MS)).unwrap_or(0));
            Ok(d.landscape.start_session(issuer_id, Utc::now(), duration, outcome))
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(session_json(&session))).into_response())
}

fn path_id(p: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let raw = p.map(|Path(s)| s).unwrap_or_default();
    raw.parse::<i64>().map_err(|_| ApiError::not_found(format!("Import session {raw:?} not found.")))
}

async fn get_session(State(state): State<SharedState>, id: Result<Path<String>, PathRejection>) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    let found = state.read(|d| d.landscape.session(id).map(session_json)).await;
    found.map(|s| axum::Json(s).into_response()).ok_or_else(|| ApiError::not_found(format!("Import session {id} not found.")))
}

/// A non-negative integer query parameter.
fn uint_param(q: &HashMap<String, String>, name: &str) -> Result<Option<usize>, ApiError> {
    match q.get(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("Invalid {name}: expected a non-negative integer."))),
    }
}

fn bool_param(q: &HashMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match q.get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if matches!(v.as_str(), "true" | "1" | "yes") => Ok(true),
        Some(v) if matches!(v.as_str(), "false" | "0" | "no" | "") => Ok(false),
        Some(_) => Err(ApiError::bad_request(format!("Invalid {name}: expected true or false."))),
    }
}

/// The page link for `offset` (absolute, like Django REST framework's).
fn page_link(headers: &HeaderMap, session: i64, include_imported: bool, limit: usize, offset: usize) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')))
        .unwrap_or("localhost");
    let mut url = format!("http://{host}{GROUPS_PATH}/staged?import_session_id={session}");
    if include_imported {
        url.push_str("&include_imported=true");
    }
    url.push_str(&format!("&limit={limit}&offset={offset}"));
    url
}

async fn list_staged(
    State(state): State<SharedState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(format!("Invalid query string: {}", e.body_text())))?;
    let session_id = match q.get("import_session_id").map(|v| v.trim()) {
        None | Some("") => {
            return Err(ApiError::bad_request("Missing required parameter: import_session_id."));
        }
        Some(v) => v.parse::<i64>().map_err(|_| ApiError::bad_request("Invalid import_session_id: expected an integer."))?,
    };
    let include_imported = bool_param(&q, "include_imported")?;
    let limit = match uint_param(&q, "limit")? {
        Some(0) => return Err(ApiError::bad_request("Invalid limit: must be at least 1.")),
        Some(l) => l.min(MAX_PAGE_SIZE),
        None => DEFAULT_PAGE_SIZE,
    };
    let offset = uint_param(&q, "offset")?.unwrap_or(0);
    let (count, results) = state
        .read(|d| {
            d.landscape.session(session_id).ok_or_else(|| ApiError::not_found(format!("Import session {session_id} not found.")))?;
            let matching: Vec<&StagedGroup> =
                d.landscape.staged.iter().filter(|g| g.import_session_id == session_id && (include_imported || !g.imported)).collect();
            let page: Vec<Value> = matching.iter().skip(offset).take(limit).map(|g| staged_json(g)).collect();
            Ok::<_, ApiError>((matching.len(), page))
        })
        .await?;
    let next = (offset + results.len() < count).then(|| page_link(&headers, session_id, include_imported, limit, offset + limit));
    let previous = (offset > 0).then(|| page_link(&headers, session_id, include_imported, limit, offset.saturating_sub(limit)));
    Ok(axum::Json(json!({ "count": count, "next": next, "previous": previous, "results": results })).into_response())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::SandboxConfig;
    use super::super::test_client::{Sb, sandbox_with};
    use super::*;

    const TOKEN: &str = super::super::DEFAULT_LANDSCAPE_TOKEN;

    fn app(import_ms: u64) -> (Sb, SharedState) {
        let config = SandboxConfig { landscape_import_ms: import_ms, landscape_slow_import_ms: 60_000, ..SandboxConfig::default() };
        let sb = sandbox_with(config);
        let state = sb.state.clone();
        (sb, state)
    }

    async fn call(sb: &Sb, method: &str, path: &str, auth: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let a = sb.send(method, path, auth, None, body.map(|b| b.to_string()).as_deref()).await;
        (a.status, a.json)
    }

    async fn landscape(sb: &Sb, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        call(sb, method, path, Some(&format!("Bearer {TOKEN}")), body).await
    }

    fn assert_error(status: StatusCode, body: &Value, want: StatusCode) {
        assert_eq!(status, want, "{body}");
        assert!(body["error"].is_string() && body["message"].is_string(), "error shape: {body}");
    }

    const SESSIONS: &str = "/landscape/api/v2/oidc/groups/import_session";
    const STAGED: &str = "/landscape/api/v2/oidc/groups/staged";

    #[tokio::test]
    async fn landscape_requires_the_bearer_token() {
        let (app, state) = app(0);
        for auth in [None, Some("Bearer wrong"), Some(TOKEN), Some("Basic c2FuZGJveA==")] {
            let (s, b) = call(&app, "POST", SESSIONS, auth, Some(json!({"issuer_id": 123}))).await;
            assert_error(s, &b, StatusCode::UNAUTHORIZED);
            let (s, b) = call(&app, "GET", &format!("{STAGED}?import_session_id=1"), auth, None).await;
            assert_error(s, &b, StatusCode::UNAUTHORIZED);
        }
        assert!(state.snapshot().await["landscape"]["sessions"].as_array().is_some_and(Vec::is_empty));
    }

    #[tokio::test]
    async fn landscape_session_completes_and_stages_500_groups() {
        let (app, _state) = app(200);
        let (s, created) = landscape(&app, "POST", SESSIONS, Some(json!({"issuer_id": 123}))).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        assert_eq!(created["status"], "IN_PROGRESS");
        assert_eq!(created["account_id"], ACCOUNT_ID);
        assert_eq!(created["issuer_id"], 123);
        let id = created["id"].as_i64().expect("id");
        let synced = created["synced_at"].as_str().expect("synced_at").to_string();
        assert!(DateTime::parse_from_rfc3339(&synced).is_ok() && synced.ends_with('Z'), "{synced}");

        // While running: no staged groups yet.
        let (s, page) = landscape(&app, "GET", &format!("{STAGED}?import_session_id={id}"), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(page["count"], 0);
        let (_, got) = landscape(&app, "GET", &format!("{SESSIONS}/{id}"), None).await;
        assert_eq!(got["status"], "IN_PROGRESS");

        tokio::time::sleep(Duration::from_millis(250)).await;
        let (s, got) = landscape(&app, "GET", &format!("{SESSIONS}/{id}"), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(got["status"], "COMPLETED", "{got}");
        assert_eq!(got["id"], id);

        // Default filter: 500 not-yet-imported groups; first page of the default size.
        let (_, page) = landscape(&app, "GET", &format!("{STAGED}?import_session_id={id}"), None).await;
        assert_eq!(page["count"], SEEDED_GROUPS);
        assert_eq!(page["results"].as_array().map(Vec::len), Some(DEFAULT_PAGE_SIZE));
        assert_eq!(page["previous"], Value::Null);
        assert_eq!(page["next"], json!(format!("http://sandbox.test:8080{STAGED}?import_session_id={id}&limit=50&offset=50")));
        let first = &page["results"][0];
        assert_eq!(first["name"], "Marketing");
        assert_eq!(first["group_id"], "1239fzxv39fvzcz3fcwp");
        assert_eq!(first["import_session_id"], id);
        assert_eq!(first["issuer_id"], 123);
        assert_eq!(first["account_id"], ACCOUNT_ID);
        assert_eq!(page["results"][1]["name"], "Engineering");
        // With imported groups: 520.
        let (_, page) = landscape(&app, "GET", &format!("{STAGED}?import_session_id={id}&include_imported=true&limit=1"), None).await;
        assert_eq!(page["count"], SEEDED_GROUPS + SEEDED_IMPORTED_GROUPS);
    }

    #[tokio::test]
    async fn landscape_staged_pages_cover_every_group_once() {
        let (app, _state) = app(0);
        let (_, created) = landscape(&app, "POST", SESSIONS, Some(json!({"issuer_id": 123}))).await;
        let id = created["id"].as_i64().expect("id");
        for (include, total) in [(false, SEEDED_GROUPS), (true, SEEDED_GROUPS + SEEDED_IMPORTED_GROUPS)] {
            let mut ids = Vec::new();
            let mut offset = 0;
            let mut pages = 0;
            loop {
                // A limit above the maximum is capped.
                let path = format!("{STAGED}?import_session_id={id}&include_imported={include}&limit=1000&offset={offset}");
                let (s, page) = landscape(&app, "GET", &path, None).await;
                assert_eq!(s, StatusCode::OK, "{page}");
                pages += 1;
                assert_eq!(page["count"], total);
                let results = page["results"].as_array().expect("results");
                assert!(results.len() <= MAX_PAGE_SIZE);
                ids.extend(results.iter().map(|g| g["id"].as_i64().expect("id")));
                offset += results.len();
                if page["next"].is_null() {
                    break;
                }
            }
            assert_eq!(pages, total.div_ceil(MAX_PAGE_SIZE));
            assert_eq!(ids.len(), total);
            let mut sorted = ids.clone();
            sorted.dedup();
            assert_eq!(sorted, ids, "ids ascending and unique");
        }
        // Past the end: an empty page, no next.
        let (_, page) = landscape(&app, "GET", &format!("{STAGED}?import_session_id={id}&offset=10000"), None).await;
        assert_eq!(page["results"], json!([]));
        assert_eq!(page["next"], Value::Null);
    }

    #[tokio::test]
    async fn landscape_failing_issuer_ends_failed_without_groups() {
        let (app, _state) = app(0);
        let (s, created) = landscape(&app, "POST", SESSIONS, Some(json!({"issuer_id": 124}))).await;
        assert_eq!(s, StatusCode::CREATED);
        let id = created["id"].as_i64().expect("id");
        let (_, got) = landscape(&app, "GET", &format!("{SESSIONS}/{id}"), None).await;
        assert_eq!(got["status"], "FAILED");
        let (_, page) = landscape(&app, "GET", &format!("{STAGED}?import_session_id={id}&include_imported=true"), None).await;
        assert_eq!(page["count"], 0);
    }

    #[tokio::test]
    async fn landscape_slow_issuer_stays_in_progress() {
        let (app, _state) = app(0);
        let (_, created) = landscape(&app, "POST", SESSIONS, Some(json!({"issuer_id": ISSUER_SLOW}))).await;
        let id = created["id"].as_i64().expect("id");
        let (_, got) = landscape(&app, "GET", &format!("{SESSIONS}/{id}"), None).await;
        assert_eq!(got["status"], "IN_PROGRESS");
    }

    #[tokio::test]
    async fn landscape_unknown_issuer_and_session_are_404_and_bad_input_400() {
        let (app, _state) = app(0);
        let (s, b) = landscape(&app, "POST", SESSIONS, Some(json!({"issuer_id": 999}))).await;
        assert_error(s, &b, StatusCode::NOT_FOUND);
        assert!(b["message"].as_str().is_some_and(|m| m.contains("999")), "{b}");
        for path in [format!("{SESSIONS}/42"), format!("{SESSIONS}/abc"), format!("{STAGED}?import_session_id=42")] {
            let (s, b) = landscape(&app, "GET", &path, None).await;
            assert_error(s, &b, StatusCode::NOT_FOUND);
        }
        for body in [json!({}), json!({"issuer_id": "x"}), json!({"issuer_id": 1.5}), json!([123])] {
            let (s, b) = landscape(&app, "POST", SESSIONS, Some(body)).await;
            assert_error(s, &b, StatusCode::BAD_REQUEST);
        }
        let (s, b) = landscape(&app, "POST", SESSIONS, None).await;
        assert_error(s, &b, StatusCode::BAD_REQUEST);
        let (_, created) = landscape(&app, "POST", SESSIONS, Some(json!({"issuer_id": "123"}))).await;
        let id = created["id"].as_i64().expect("a numeric string is accepted");
        for q in [
            "",
            "import_session_id=x",
            &format!("import_session_id={id}&limit=0"),
            &format!("import_session_id={id}&offset=-1"),
            &format!("import_session_id={id}&include_imported=maybe"),
        ] {
            let (s, b) = landscape(&app, "GET", &format!("{STAGED}?{q}"), None).await;
            assert_error(s, &b, StatusCode::BAD_REQUEST);
        }
    }

    #[tokio::test]
    async fn landscape_state_reset_and_stats() {
        let (app, state) = app(0);
        let (_, created) = landscape(&app, "POST", SESSIONS, Some(json!({"issuer_id": 123}))).await;
        let id = created["id"].as_i64().expect("id");
        landscape(&app, "GET", &format!("{SESSIONS}/{id}"), None).await;
        landscape(&app, "GET", &format!("{STAGED}?import_session_id={id}"), None).await;
        landscape(&app, "GET", &format!("{STAGED}?import_session_id={id}&offset=50"), None).await;

        let snap = state.snapshot().await;
        let issuers: Vec<i64> = snap["landscape"]["issuers"].as_array().expect("issuers").iter().filter_map(|i| i["id"].as_i64()).collect();
        assert_eq!(issuers, [123, 124, 125]);
        assert_eq!(snap["landscape"]["sessions"][0]["status"], "COMPLETED");
        assert_eq!(snap["landscape"]["staged"].as_array().map(Vec::len), Some(SEEDED_GROUPS + SEEDED_IMPORTED_GROUPS));

        let stats = state.stats();
        assert_eq!(stats.by_vendor.get("landscape"), Some(&4));
        assert_eq!(stats.by_route.get("POST /landscape/api/v2/oidc/groups/import_session"), Some(&1));
        assert_eq!(stats.by_route.get("GET /landscape/api/v2/oidc/groups/import_session/{id}"), Some(&1));
        assert_eq!(stats.by_route.get("GET /landscape/api/v2/oidc/groups/staged"), Some(&2));

        state.reset().await;
        let snap = state.snapshot().await;
        assert_eq!(snap["landscape"]["sessions"], json!([]));
        assert_eq!(snap["landscape"]["staged"], json!([]));
        assert_eq!(snap["landscape"]["issuers"].as_array().map(Vec::len), Some(3));
        assert!(state.stats().by_vendor.is_empty());
        let (_, created) = landscape(&app, "POST", SESSIONS, Some(json!({"issuer_id": 123}))).await;
        assert_eq!(created["id"], 1, "ids restart after a reset");
    }

    #[test]
    fn landscape_seeds_are_deterministic_and_distinct() {
        let a = LandscapeData::seeded();
        let b = LandscapeData::seeded();
        let ga: Vec<&str> = a.issuers[0].groups.iter().map(|g| g.group_id.as_str()).collect();
        let gb: Vec<&str> = b.issuers[0].groups.iter().map(|g| g.group_id.as_str()).collect();
        assert_eq!(ga, gb);
        let mut uniq = ga.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), ga.len());
        assert!(ga.iter().all(|g| { g.len() == 20 && g.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) }));
        assert_eq!(a.issuers[0].groups.iter().filter(|g| g.imported).count(), SEEDED_IMPORTED_GROUPS);
        assert!(!a.issuers[0].groups[0].imported && !a.issuers[0].groups[1].imported);
    }

    #[test]
    fn landscape_settle_is_lazy_and_persists_across_normalize() {
        let mut d = LandscapeData::seeded();
        let t0 = Utc::now();
        let s = d.start_session(123, t0, chrono::Duration::milliseconds(1000), SessionStatus::Completed);
        d.settle(t0 + chrono::Duration::milliseconds(999));
        assert_eq!(d.session(s.id).map(|s| s.status), Some(SessionStatus::InProgress));
        assert!(d.staged.is_empty());
        d.settle(t0 + chrono::Duration::milliseconds(1000));
        let done = d.session(s.id).expect("session");
        assert_eq!(done.status, SessionStatus::Completed);
        assert_eq!(done.synced_at, t0 + chrono::Duration::milliseconds(1000));
        assert_eq!(d.staged.len(), SEEDED_GROUPS + SEEDED_IMPORTED_GROUPS);
        // Settling again stages nothing more.
        d.settle(t0 + chrono::Duration::seconds(10));
        assert_eq!(d.staged.len(), SEEDED_GROUPS + SEEDED_IMPORTED_GROUPS);
        // A file round trip keeps the counters ahead of the stored ids.
        let mut back: LandscapeData = serde_json::from_value(serde_json::to_value(&d).expect("json")).expect("parse");
        back.next_session_id = 1;
        back.next_group_id = 1;
        back.normalize();
        assert_eq!(back.next_session_id, 2);
        assert_eq!(back.next_group_id, (SEEDED_GROUPS + SEEDED_IMPORTED_GROUPS) as i64 + 1);
    }
}
