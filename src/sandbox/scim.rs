//! OCI IAM identity domain: the OAuth2 token endpoint and SCIM 2.0 (RFC 7643 / 7644)
//! Users, Groups, Bulk and Oracle's UserPasswordChanger, under `/oci` (see
//! `specs/oci-iam-scim.txt` and the quirks in `specs/README.md`).
//!
//! Emulated behaviour, in short:
//! - `POST /oci/oauth2/v1/token`: HTTP Basic client credentials, form body with
//!   `grant_type=client_credentials` or `grant_type=password&username=..&password=..`,
//!   optional `scope`. Answers `{"access_token", "token_type":"Bearer", "expires_in"}`
//!   (`--scim-token-ttl-secs`); errors in the OAuth2 shape `{"error","error_description"}`:
//!   401 `invalid_client` (with `WWW-Authenticate: Basic`), 400 `invalid_request`,
//!   `invalid_grant`, `unsupported_grant_type`. Tokens are random, kept in memory only
//!   (they survive `/_sandbox/reset`, not a restart).
//! - Everything under `/oci/admin/v1` needs `Authorization: Bearer <token>`: an unexpired
//!   issued token or `--scim-static-token`; otherwise 401 with a SCIM error.
//! - `POST /oci/oauth2/v1/revoke`: RFC 7009 revocation (client credentials as for the
//!   token endpoint, form body `token=...`); a revoked token answers 401 afterwards.
//! - Answers are `application/scim+json`; errors are
//!   `{"schemas":[Error],"status":"<code>","detail":..,"scimType"?:..}`.
//! - Users and Groups are addressed by `id` (32 hex) or `ocid`; lists filter (see
//!   [`filter`]), page (`startIndex`, `count` capped at [`MAX_PAGE_SIZE`]) and project
//!   (`attributes`, `excludedAttributes`); `POST /Users/.search` and `/Groups/.search`
//!   take the same parameters in a SearchRequest body.
//! - PATCH (see [`patch`]) answers 204, or 200 with the resource when the query has
//!   `attributes` or `excludedAttributes`.
//! - `POST /Bulk` runs its operations in order with `bulkId` references; each one is also
//!   logged (`"bulk": true`) while the stats count the Bulk once.
//! - `PUT /UserPasswordChanger/{id}` enforces a 12-character minimum with Oracle's error
//!   body; passwords are never kept, only counted.

pub mod filter;
pub mod model;
pub mod patch;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use self::filter::{AttrPath, Filter, get_ci};
use self::model::{GroupInput, OciData, UserInput, View, project, require_schema};
use super::store::{LogEntry, SharedState, mask_secrets};

/// URL prefix of the OCI emulation.
pub const PREFIX: &str = "/oci";
/// The OAuth2 token endpoint (the provider's `token_url` is `<sandbox>` + this).
pub const TOKEN_PATH: &str = "/oci/oauth2/v1/token";
/// The OAuth2 token revocation endpoint (RFC 7009).
pub const REVOKE_PATH: &str = "/oci/oauth2/v1/revoke";
/// The SCIM base (the provider's SCIM `url` is `<sandbox>` + this).
pub const SCIM_BASE: &str = "/oci/admin/v1";
/// Default lifetime of issued access tokens (`--scim-token-ttl-secs`).
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 3600;
/// Default always-valid bearer token (`--scim-static-token`).
pub const DEFAULT_STATIC_TOKEN: &str = "sandbox-scim-token";
/// The scope a token request gets when it names none.
pub const DEFAULT_SCOPE: &str = "urn:opc:idm:__myscopes__";
/// The largest page: `count` above it is capped, `itemsPerPage` never exceeds it.
pub const MAX_PAGE_SIZE: usize = 50;
/// The password policy's minimum length, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The most operations one Bulk request may carry (413 beyond).
pub const MAX_BULK_OPERATIONS: usize = 1000;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const USER_EXTENSION: &str = "urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User";
pub const USER_STATE_EXTENSION: &str = "urn:ietf:params:scim:schemas:oracle:idcs:extension:userState:User";
pub const GROUP_EXTENSION: &str = "urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group";
pub const PASSWORD_CHANGER_SCHEMA: &str = "urn:ietf:params:scim:schemas:oracle:idcs:UserPasswordChanger";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const ORACLE_ERROR_EXTENSION: &str = "urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error";
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// The password-policy violation `detail`, verbatim from the spec.
pub const PASSWORD_POLICY_DETAIL: &str =
    "The password does not meet the criteria of the password policy because: [The password must have at least 12 characters.]";
pub const PASSWORD_POLICY_MESSAGE_ID: &str = "error.identity.passwordmgmt.pwdpolicyViolation";
/// The identity domain and tenancy the sandbox pretends to be.
pub const DOMAIN_OCID: &str = "ocid1.domain.oc1..aaaaaaaasandboxdomainaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const TENANCY_OCID: &str = "ocid1.tenancy.oc1..aaaaaaaasandboxtenancyaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

const SCIM_CONTENT_TYPE: &str = "application/scim+json";

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// A SCIM error answer (RFC 7644 section 3.12).
#[derive(Debug, Clone, PartialEq)]
pub struct ScimError {
    pub status: StatusCode,
    pub detail: String,
    pub scim_type: Option<&'static str>,
    /// A complete body that replaces the standard one (Oracle's password-policy error).
    body: Option<Value>,
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError { status, detail: detail.into(), scim_type, body: None }
    }

    pub fn bad_request(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn not_found(kind: &str, key: &str) -> Self {
        ScimError::new(StatusCode::NOT_FOUND, None, format!("{kind} {key} not found."))
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::UNAUTHORIZED, None, detail)
    }

    fn method_not_allowed(method: &Method, path: &str) -> Self {
        ScimError::new(StatusCode::METHOD_NOT_ALLOWED, None, format!("Method {method} is not supported on {path}."))
    }

    /// Exactly the spec's 400 for a password shorter than the policy allows.
    pub fn password_policy() -> Self {
        ScimError {
            status: StatusCode::BAD_REQUEST,
            detail: PASSWORD_POLICY_DETAIL.to_string(),
            scim_type: None,
            body: Some(json!({
                "schemas": [ERROR_SCHEMA, ORACLE_ERROR_EXTENSION],
                "detail": PASSWORD_POLICY_DETAIL,
                "status": "400",
                ORACLE_ERROR_EXTENSION: { "messageId": PASSWORD_POLICY_MESSAGE_ID },
            })),
        }
    }

    pub fn to_json(&self) -> Value {
        if let Some(body) = &self.body {
            return body.clone();
        }
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        body
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut resp = scim_json(self.status, &self.to_json());
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"identity-sandbox\", error=\"invalid_token\""));
        }
        resp
    }
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE))], body.to_string()).into_response()
}

// ---------------------------------------------------------------------------------------
// Access tokens
// ---------------------------------------------------------------------------------------

/// Issued access tokens and their expiry (in memory; not part of the vendor data).
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: Mutex<HashMap<String, Instant>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Valid,
    Expired,
    Unknown,
}

impl TokenStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new random token valid for `ttl`; forgets tokens that expired long ago.
    pub fn issue(&self, ttl: Duration) -> String {
        let token = format!("sbx.{}", model::random_hex(24));
        let now = Instant::now();
        let mut tokens = self.lock();
        // Expired tokens are kept a while so that using one answers "expired", not "unknown".
        tokens.retain(|_, exp| now.saturating_duration_since(*exp) < Duration::from_secs(3600));
        tokens.insert(token.clone(), now + ttl);
        token
    }

    /// Forgets a token (RFC 7009 revocation); later uses answer "invalid".
    pub fn revoke(&self, token: &str) -> bool {
        self.lock().remove(token).is_some()
    }

    pub fn check(&self, token: &str) -> TokenStatus {
        match self.lock().get(token) {
            Some(exp) if Instant::now() < *exp => TokenStatus::Valid,
            Some(_) => TokenStatus::Expired,
            None => TokenStatus::Unknown,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------

/// The OCI routes (full paths under [`PREFIX`]); SCIM routes are guarded by the bearer
/// check, the token endpoint by client credentials.
pub fn routes(state: SharedState) -> Router<SharedState> {
    Router::new()
        .route("/oci/admin/v1/Users", any(users_collection))
        .route("/oci/admin/v1/Users/.search", any(users_search))
        .route("/oci/admin/v1/Users/{id}", any(user_item))
        .route("/oci/admin/v1/Groups", any(groups_collection))
        .route("/oci/admin/v1/Groups/.search", any(groups_search))
        .route("/oci/admin/v1/Groups/{id}", any(group_item))
        .route("/oci/admin/v1/UserPasswordChanger/{id}", any(password_changer))
        .route("/oci/admin/v1/Bulk", any(bulk))
        .route("/oci/admin/v1/ServiceProviderConfig", get(service_provider_config))
        .route("/oci/admin/v1/{*rest}", any(scim_not_found))
        .route_layer(middleware::from_fn_with_state(state, auth))
        .route(TOKEN_PATH, post(token))
        .route(REVOKE_PATH, post(revoke))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = h.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

async fn auth(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let status = match bearer(req.headers()) {
        None => {
            return ScimError::unauthorized("An \"Authorization: Bearer <access token>\" header is required.").into_response();
        }
        Some(t) if t == state.config().scim_static_token => TokenStatus::Valid,
        Some(t) => state.scim_tokens().check(t),
    };
    match status {
        TokenStatus::Valid => next.run(req).await,
        TokenStatus::Expired => ScimError::unauthorized("The access token has expired.").into_response(),
        TokenStatus::Unknown => ScimError::unauthorized("Invalid access token.").into_response(),
    }
}

// ---------------------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------------------

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut resp = (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store")), (header::PRAGMA, HeaderValue::from_static("no-cache"))],
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"identity-sandbox\""));
    }
    resp
}

/// `application/x-www-form-urlencoded` (also query strings): `+` is a space, `%XX` a
/// byte; malformed escapes stay as they are.
pub fn parse_urlencoded(s: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = |b: u8| (b as char).to_digit(16);
                    match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                        (Some(h), Some(l)) => {
                            out.push((h * 16 + l) as u8);
                            i += 2;
                        }
                        _ => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// `client_id:client_secret` from `Authorization: Basic`; also accepted form-urlencoded
/// (RFC 6749 section 2.3.1).
fn basic_credentials_match(headers: &HeaderMap, id: &str, secret: &str) -> bool {
    let Some(decoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| {
            let (scheme, rest) = h.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
        })
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
    else {
        return false;
    };
    let Some((got_id, got_secret)) = decoded.split_once(':') else {
        return false;
    };
    let unescape = |s: &str| parse_urlencoded(&format!("x={s}")).pop().map(|(_, v)| v).unwrap_or_default();
    (got_id == id && got_secret == secret) || (unescape(got_id) == id && unescape(got_secret) == secret)
}

async fn token(State(state): State<SharedState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let config = state.config();
    if !basic_credentials_match(&headers, &config.scim_client_id, &config.scim_client_secret) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed.");
    }
    let body = body.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let form = parse_urlencoded(&body);
    let param = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    match param("grant_type") {
        None => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "The request is missing the required parameter grant_type.");
        }
        Some("client_credentials") => {}
        Some("password") => match (param("username"), param("password")) {
            (Some(u), Some(p)) => {
                if u != config.scim_username || p != config.scim_password {
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "The user name or password is invalid.");
                }
            }
            _ => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The password grant requires the parameters username and password.",
                );
            }
        },
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("The grant type \"{other}\" is not supported; use client_credentials or password."),
            );
        }
    }
    let _scope = param("scope").unwrap_or(DEFAULT_SCOPE);
    let ttl = config.scim_token_ttl_secs;
    let access_token = state.scim_tokens().issue(Duration::from_secs(ttl));
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store")), (header::PRAGMA, HeaderValue::from_static("no-cache"))],
        axum::Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ttl,
        })),
    )
        .into_response()
}

/// RFC 7009 token revocation: client authentication as for the token endpoint, form
/// body `token=...` (`token_type_hint` optional). Unknown or already revoked tokens
/// answer 200 too, as the RFC requires.
async fn revoke(State(state): State<SharedState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let config = state.config();
    if !basic_credentials_match(&headers, &config.scim_client_id, &config.scim_client_secret) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed.");
    }
    let body = body.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let form = parse_urlencoded(&body);
    let Some(token) = form.iter().find(|(k, _)| k == "token").map(|(_, v)| v.as_str()).filter(|v| !v.is_empty()) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "The request is missing the required parameter token.");
    };
    state.scim_tokens().revoke(token);
    (StatusCode::OK, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]).into_response()
}

// ---------------------------------------------------------------------------------------
// Request context
// ---------------------------------------------------------------------------------------

/// What every operation needs besides the data: the server URL (for `meta.location` and
/// `$ref`) and the time of the request.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub base: String,
    pub now: DateTime<Utc>,
    /// Whether users carry the `groups` attribute (`--scim-no-user-groups` turns it off).
    pub user_groups: bool,
    /// The most group members one GET or search answer may hold (`--scim-max-members`).
    pub max_members: usize,
}

impl Ctx {
    fn new(headers: &HeaderMap, uri: &Uri) -> Self {
        let host = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string))
            .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_')))
            .unwrap_or_else(|| "localhost".to_string());
        Ctx { base: format!("http://{host}"), now: Utc::now(), user_groups: true, max_members: usize::MAX }
    }

    /// The context with the emulation switches of `config`.
    fn configured(mut self, config: &super::SandboxConfig) -> Self {
        self.user_groups = !config.scim_no_user_groups;
        self.max_members = config.scim_max_members;
        self
    }

    /// The renderer of `d` for this request.
    pub fn view<'a>(&'a self, d: &'a OciData) -> View<'a> {
        View::new(d, &self.base).with_user_groups(self.user_groups)
    }
}

/// The number of group members an answer holds (a group, or a ListResponse of groups).
fn members_in(body: &Map<String, Value>) -> usize {
    let own = body.get("members").and_then(Value::as_array).map_or(0, Vec::len);
    let listed: usize =
        body.get("Resources").and_then(Value::as_array).map(|rs| rs.iter().filter_map(Value::as_object).map(members_in).sum()).unwrap_or(0);
    own + listed
}

/// OCI IAM's refusal of an answer with too many group members.
fn too_many_members(n: usize, max: usize) -> ScimError {
    ScimError::bad_request(
        "tooMany",
        format!(
            "The response would contain {n} group members, more than the {max} one response may hold. \
             Read the members in pages (for example users filtered by groups.value)."
        ),
    )
}

/// Query parameters, looked up case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>) -> Self {
        Params(query.map(parse_urlencoded).unwrap_or_default())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A comma-separated list parameter (`attributes`, `excludedAttributes`).
    pub fn list(&self, name: &str) -> Vec<String> {
        split_list(self.get(name).unwrap_or(""))
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The body as a JSON object, or a 400 `invalidSyntax`.
fn parse_body(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, ScimError> {
    let bytes = body.map_err(|e| ScimError::new(e.status(), Some("invalidSyntax"), e.body_text()))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::bad_request("invalidSyntax", "The request body is missing."));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ScimError::bad_request("invalidSyntax", "The request body must be a JSON object.")),
        Err(e) => Err(ScimError::bad_request("invalidSyntax", format!("The request body is not valid JSON: {e}."))),
    }
}

// ---------------------------------------------------------------------------------------
// Operations (shared by the HTTP handlers and Bulk)
// ---------------------------------------------------------------------------------------

/// The resource an operation addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Users,
    User(String),
    Groups,
    Group(String),
    PasswordChanger(String),
}

impl Target {
    /// A Bulk `path` (`/Users`, `/Groups/<id>`, ...), without the query.
    fn parse(path: &str) -> Option<Target> {
        let path = path.trim_end_matches('/');
        let mut parts = path.strip_prefix('/')?.splitn(2, '/');
        let collection = parts.next()?;
        let id = parts.next().map(str::to_string).filter(|s| !s.is_empty() && !s.contains('/'));
        Some(match (collection, id) {
            ("Users", None) => Target::Users,
            ("Users", Some(id)) => Target::User(id),
            ("Groups", None) => Target::Groups,
            ("Groups", Some(id)) => Target::Group(id),
            ("UserPasswordChanger", Some(id)) => Target::PasswordChanger(id),
            _ => return None,
        })
    }

    fn path(&self) -> String {
        match self {
            Target::Users => "/Users".to_string(),
            Target::User(id) => format!("/Users/{id}"),
            Target::Groups => "/Groups".to_string(),
            Target::Group(id) => format!("/Groups/{id}"),
            Target::PasswordChanger(id) => format!("/UserPasswordChanger/{id}"),
        }
    }
}

/// A successful operation's answer.
#[derive(Debug)]
pub enum Outcome {
    /// A body; `core_urn` is set for Users and Groups (which `attributes` may project).
    Resource {
        status: StatusCode,
        body: Map<String, Value>,
        core_urn: Option<&'static str>,
    },
    NoContent {
        location: String,
    },
}

impl Outcome {
    fn status(&self) -> StatusCode {
        match self {
            Outcome::Resource { status, .. } => *status,
            Outcome::NoContent { .. } => StatusCode::NO_CONTENT,
        }
    }

    fn location(&self) -> Option<String> {
        match self {
            Outcome::Resource { body, .. } => body.get("meta").and_then(|m| m.get("location")).and_then(Value::as_str).map(str::to_string),
            Outcome::NoContent { location } => Some(location.clone()),
        }
    }

    /// The body after `attributes` / `excludedAttributes`.
    fn projected(self, params: &Params) -> Option<Map<String, Value>> {
        match self {
            Outcome::Resource { body, core_urn: Some(urn), .. } => {
                Some(project(body, &params.list("attributes"), &params.list("excludedAttributes"), urn))
            }
            Outcome::Resource { body, .. } => Some(body),
            Outcome::NoContent { .. } => None,
        }
    }

    fn into_response(self, params: &Params, max_members: usize) -> Response {
        let status = self.status();
        let location = self.location();
        let version = match &self {
            Outcome::Resource { body, .. } => body.get("meta").and_then(|m| m.get("version")).and_then(Value::as_str).map(str::to_string),
            Outcome::NoContent { .. } => None,
        };
        let mut resp = match self.projected(params) {
            Some(body) if members_in(&body) > max_members => return too_many_members(members_in(&body), max_members).into_response(),
            Some(body) => scim_json(status, &Value::Object(body)),
            None => status.into_response(),
        };
        let headers = resp.headers_mut();
        if let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, l);
        }
        if let Some(v) = version.and_then(|v| HeaderValue::from_str(&format!("W/\"{v}\"")).ok()) {
            headers.insert(header::ETAG, v);
        }
        resp
    }
}

/// What a PATCH may change on a user, and what it may not (also fuzzed by `tests/fuzz_vendor.rs`).
pub const USER_PATCH: patch::Schema = patch::Schema {
    core_urn: USER_SCHEMA,
    writable: &[
        ("userName", patch::Kind::Simple),
        ("name", patch::Kind::Complex),
        ("displayName", patch::Kind::Simple),
        ("active", patch::Kind::Simple),
        ("externalId", patch::Kind::Simple),
        ("emails", patch::Kind::Multi),
        ("password", patch::Kind::Simple),
    ],
    read_only: &["id", "ocid", "meta", "schemas", "groups", USER_EXTENSION, USER_STATE_EXTENSION],
};

/// What a PATCH may change on a group, and what it may not.
pub const GROUP_PATCH: patch::Schema = patch::Schema {
    core_urn: GROUP_SCHEMA,
    writable: &[
        ("displayName", patch::Kind::Simple),
        ("externalId", patch::Kind::Simple),
        ("members", patch::Kind::Multi),
        (GROUP_EXTENSION, patch::Kind::Complex),
    ],
    read_only: &["id", "ocid", "meta", "schemas"],
};

fn user_resource(d: &OciData, ctx: &Ctx, i: usize, status: StatusCode) -> Outcome {
    Outcome::Resource { status, body: ctx.view(d).user(&d.users[i], false), core_urn: Some(USER_SCHEMA) }
}

fn group_resource(d: &OciData, ctx: &Ctx, i: usize, status: StatusCode) -> Outcome {
    Outcome::Resource { status, body: ctx.view(d).group(&d.groups[i]), core_urn: Some(GROUP_SCHEMA) }
}

/// 204 for a PATCH, unless the query asks for attributes: then 200 with the resource.
fn wants_resource(params: &Params) -> bool {
    params.has("attributes") || params.has("excludedAttributes")
}

/// Runs one non-list operation. `body` is required for POST, PUT and PATCH.
pub fn execute(
    d: &mut OciData,
    ctx: &Ctx,
    method: &Method,
    target: &Target,
    params: &Params,
    body: Option<&Map<String, Value>>,
) -> Result<Outcome, ScimError> {
    let need_body = || body.ok_or_else(|| ScimError::bad_request("invalidSyntax", "The request body is missing."));
    let location = || format!("{}{SCIM_BASE}{}", ctx.base, target.path());
    match (method.as_str(), target) {
        ("POST", Target::Users) => {
            let i = d.create_user(need_body()?, ctx.now)?;
            Ok(user_resource(d, ctx, i, StatusCode::CREATED))
        }
        ("GET", Target::User(key)) => {
            let i = d.user_or_404(key)?;
            Ok(user_resource(d, ctx, i, StatusCode::OK))
        }
        ("PUT", Target::User(key)) => {
            let i = d.user_or_404(key)?;
            let body = need_body()?;
            require_schema(body, USER_SCHEMA)?;
            let input = UserInput::parse(body)?;
            d.set_user(i, input, ctx.now)?;
            Ok(user_resource(d, ctx, i, StatusCode::OK))
        }
        ("PATCH", Target::User(key)) => {
            let i = d.user_or_404(key)?;
            let mut doc = model::writable_user(&d.users[i]);
            patch::apply(&mut doc, &USER_PATCH, need_body()?)?;
            let input = UserInput::parse(&doc)?;
            d.set_user(i, input, ctx.now)?;
            Ok(if wants_resource(params) { user_resource(d, ctx, i, StatusCode::OK) } else { Outcome::NoContent { location: location() } })
        }
        ("DELETE", Target::User(key)) => {
            d.delete_user(key)?;
            Ok(Outcome::NoContent { location: location() })
        }
        ("POST", Target::Groups) => {
            let i = d.create_group(need_body()?, ctx.now)?;
            Ok(group_resource(d, ctx, i, StatusCode::CREATED))
        }
        ("GET", Target::Group(key)) => {
            let i = d.group_or_404(key)?;
            Ok(group_resource(d, ctx, i, StatusCode::OK))
        }
        ("PUT", Target::Group(key)) => {
            let i = d.group_or_404(key)?;
            let body = need_body()?;
            require_schema(body, GROUP_SCHEMA)?;
            let input = GroupInput::parse(body)?;
            d.set_group(i, input, ctx.now)?;
            Ok(group_resource(d, ctx, i, StatusCode::OK))
        }
        ("PATCH", Target::Group(key)) => {
            let i = d.group_or_404(key)?;
            let mut doc = model::writable_group(&d.groups[i], d);
            patch::apply(&mut doc, &GROUP_PATCH, need_body()?)?;
            let input = GroupInput::parse(&doc)?;
            d.set_group(i, input, ctx.now)?;
            Ok(if wants_resource(params) { group_resource(d, ctx, i, StatusCode::OK) } else { Outcome::NoContent { location: location() } })
        }
        ("DELETE", Target::Group(key)) => {
            d.delete_group(key)?;
            Ok(Outcome::NoContent { location: location() })
        }
        ("PUT", Target::PasswordChanger(key)) => {
            let i = d.change_password(key, need_body()?)?;
            let u = &d.users[i];
            let body = json!({
                "schemas": [PASSWORD_CHANGER_SCHEMA],
                "id": u.id,
                "ocid": u.ocid,
                "meta": {
                    "resourceType": "UserPasswordChanger",
                    "location": location(),
                },
                "domainOcid": DOMAIN_OCID,
                "compartmentOcid": TENANCY_OCID,
                "tenancyOcid": TENANCY_OCID,
            });
            let Value::Object(body) = body else { unreachable!("an object literal") };
            Ok(Outcome::Resource { status: StatusCode::OK, body, core_urn: None })
        }
        (_, t) => Err(ScimError::method_not_allowed(method, &format!("{SCIM_BASE}{}", t.path()))),
    }
}

// ---------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------

/// The parameters of a list or search.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub start_index: usize,
    pub count: usize,
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Users,
    Groups,
}

impl Kind {
    fn core_urn(self) -> &'static str {
        match self {
            Kind::Users => USER_SCHEMA,
            Kind::Groups => GROUP_SCHEMA,
        }
    }

    fn extensions(self) -> &'static [&'static str] {
        match self {
            Kind::Users => &[USER_EXTENSION, USER_STATE_EXTENSION],
            Kind::Groups => &[GROUP_EXTENSION],
        }
    }

    /// The attribute paths a filter may use (lower-case `attr` / `attr.sub`).
    fn filter_attributes(self) -> &'static [&'static str] {
        const META: [&str; 6] = ["meta", "meta.created", "meta.lastmodified", "meta.version", "meta.resourcetype", "meta.location"];
        const USERS: &[&str] = &[
            "id",
            "ocid",
            "externalid",
            "username",
            "displayname",
            "active",
            "name",
            "name.givenname",
            "name.familyname",
            "name.formatted",
            "name.middlename",
            "name.honorificprefix",
            "name.honorificsuffix",
            "emails",
            "emails.value",
            "emails.type",
            "emails.primary",
            "emails.secondary",
            "emails.verified",
            "emails.display",
            "groups",
            "groups.value",
            "groups.display",
            "groups.ocid",
            "groups.$ref",
            "schemas",
            META[0],
            META[1],
            META[2],
            META[3],
            META[4],
            META[5],
        ];
        const GROUPS: &[&str] = &[
            "id",
            "ocid",
            "externalid",
            "displayname",
            "members",
            "members.value",
            "members.type",
            "members.display",
            "members.ocid",
            "members.$ref",
            "schemas",
            META[0],
            META[1],
            META[2],
            META[3],
            META[4],
            META[5],
        ];
        match self {
            Kind::Users => USERS,
            Kind::Groups => GROUPS,
        }
    }

    fn check_path(self, p: &AttrPath) -> bool {
        let known = |key: &str| self.filter_attributes().contains(&key);
        match &p.urn {
            None => known(&p.key()),
            Some(urn) if urn.eq_ignore_ascii_case(self.core_urn()) => known(&p.key()),
            Some(urn) => {
                let full = p.full();
                self.extensions().iter().any(|e| e.eq_ignore_ascii_case(urn) || (p.sub.is_none() && e.eq_ignore_ascii_case(&full)))
            }
        }
    }
}

fn invalid_filter(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidFilter", detail)
}

fn parse_filter(kind: Kind, s: &str) -> Result<Filter, ScimError> {
    let f = Filter::parse(s).map_err(|e| invalid_filter(format!("Invalid filter: {e}.")))?;
    for p in f.paths() {
        if !kind.check_path(&p) {
            return Err(invalid_filter(format!(
                "Invalid filter: the attribute \"{p}\" is not supported for {}.",
                match kind {
                    Kind::Users => "Users",
                    Kind::Groups => "Groups",
                }
            )));
        }
    }
    Ok(f)
}

fn parse_index(name: &str, v: Option<&Value>) -> Result<Option<i64>, ScimError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_i64().map(Some).ok_or_else(|| ScimError::bad_request("invalidValue", format!("\"{name}\" must be an integer.")))
        }
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ScimError::bad_request("invalidValue", format!("\"{name}\" must be an integer, got \"{s}\"."))),
        Some(other) => Err(ScimError::bad_request("invalidValue", format!("\"{name}\" must be an integer, got {other}."))),
    }
}

impl ListQuery {
    fn build(
        kind: Kind,
        filter: Option<&str>,
        start_index: Option<i64>,
        count: Option<i64>,
        attributes: Vec<String>,
        excluded: Vec<String>,
    ) -> Result<ListQuery, ScimError> {
        let filter = match filter {
            Some(f) => Some(parse_filter(kind, f)?),
            None => None,
        };
        Ok(ListQuery {
            filter,
            // RFC 7644 3.4.2.4: below 1 means 1; a negative count means 0.
            start_index: usize::try_from(start_index.unwrap_or(1).max(1)).unwrap_or(1),
            count: usize::try_from(count.unwrap_or(MAX_PAGE_SIZE as i64).max(0)).unwrap_or(0).min(MAX_PAGE_SIZE),
            attributes,
            excluded,
        })
    }

    fn from_params(kind: Kind, params: &Params) -> Result<ListQuery, ScimError> {
        let num = |name: &str| parse_index(name, params.get(name).map(|s| Value::String(s.to_string())).as_ref());
        ListQuery::build(
            kind,
            params.get("filter"),
            num("startIndex")?,
            num("count")?,
            params.list("attributes"),
            params.list("excludedAttributes"),
        )
    }

    /// A SearchRequest body (`POST /Users/.search`).
    fn from_search(kind: Kind, body: &Map<String, Value>) -> Result<ListQuery, ScimError> {
        require_schema(body, SEARCH_REQUEST_SCHEMA)?;
        let names = |key: &str| -> Result<Vec<String>, ScimError> {
            match get_ci(body, key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => Ok(items.iter().filter_map(Value::as_str).flat_map(split_list).collect()),
                Some(Value::String(s)) => Ok(split_list(s)),
                Some(other) => Err(ScimError::bad_request("invalidValue", format!("\"{key}\" must be an array of strings, got {other}."))),
            }
        };
        let filter = match get_ci(body, "filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                return Err(invalid_filter("Invalid filter: \"filter\" must be a string."));
            }
        };
        ListQuery::build(
            kind,
            filter,
            parse_index("startIndex", get_ci(body, "startIndex"))?,
            parse_index("count", get_ci(body, "count"))?,
            names("attributes")?,
            names("excludedAttributes")?,
        )
    }
}

/// A ListResponse page, resources in creation order.
pub fn list(d: &OciData, ctx: &Ctx, kind: Kind, q: &ListQuery) -> Result<Value, ScimError> {
    let view = ctx.view(d);
    let render = |i: usize| match kind {
        Kind::Users => view.user(&d.users[i], false),
        Kind::Groups => view.group(&d.groups[i]),
    };
    let ids: Vec<(&str, &str)> = match kind {
        Kind::Users => d.users.iter().map(|u| (u.id.as_str(), u.ocid.as_str())).collect(),
        Kind::Groups => d.groups.iter().map(|g| (g.id.as_str(), g.ocid.as_str())).collect(),
    };
    let mut candidates: Vec<usize> = (0..ids.len()).collect();
    if let Some(set) = q.filter.as_ref().and_then(Filter::id_set) {
        candidates.retain(|&i| set.contains(ids[i].0) || set.contains(ids[i].1));
    }
    let skip = q.start_index - 1;
    let (total, page): (usize, Vec<Map<String, Value>>) = match &q.filter {
        None => (candidates.len(), candidates.iter().skip(skip).take(q.count).map(|&i| render(i)).collect()),
        Some(f) => {
            let core = kind.core_urn();
            let matched: Vec<Map<String, Value>> = candidates.iter().map(|&i| render(i)).filter(|r| f.matches(r, core)).collect();
            let total = matched.len();
            (total, matched.into_iter().skip(skip).take(q.count).collect())
        }
    };
    let resources: Vec<Map<String, Value>> = page.into_iter().map(|r| project(r, &q.attributes, &q.excluded, kind.core_urn())).collect();
    let members: usize = resources.iter().map(members_in).sum();
    if members > ctx.max_members {
        return Err(too_many_members(members, ctx.max_members));
    }
    Ok(json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": q.start_index,
        "Resources": resources,
    }))
}

// ---------------------------------------------------------------------------------------
// HTTP handlers
// ---------------------------------------------------------------------------------------

fn path_id(p: Result<Path<String>, PathRejection>) -> Result<String, ScimError> {
    p.map(|Path(id)| id).map_err(|e| ScimError::bad_request("invalidValue", e.body_text()))
}

/// Runs one operation against the shared state: reads under the lock, writes persisted.
async fn run(
    state: &SharedState,
    method: Method,
    headers: &HeaderMap,
    uri: &Uri,
    target: Target,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let ctx = Ctx::new(headers, uri).configured(state.config());
    let params = Params::parse(uri.query());
    let result = match method {
        Method::GET | Method::DELETE => {
            if method == Method::GET {
                state.read(|d| execute(&mut d.oci, &ctx, &method, &target, &params, None)).await
            } else {
                state.write(|d| execute(&mut d.oci, &ctx, &method, &target, &params, None)).await
            }
        }
        Method::POST | Method::PUT | Method::PATCH => match parse_body(body) {
            Ok(body) => state.write(|d| execute(&mut d.oci, &ctx, &method, &target, &params, Some(&body))).await,
            Err(e) => Err(e),
        },
        _ => Err(ScimError::method_not_allowed(&method, &format!("{SCIM_BASE}{}", target.path()))),
    };
    match result {
        Ok(outcome) => outcome.into_response(&params, if method == Method::GET { ctx.max_members } else { usize::MAX }),
        Err(e) => e.into_response(),
    }
}

async fn run_list(state: &SharedState, headers: &HeaderMap, uri: &Uri, kind: Kind) -> Response {
    let ctx = Ctx::new(headers, uri).configured(state.config());
    let params = Params::parse(uri.query());
    match ListQuery::from_params(kind, &params) {
        Ok(q) => match state.read(|d| list(&d.oci, &ctx, kind, &q)).await {
            Ok(page) => scim_json(StatusCode::OK, &page),
            Err(e) => e.into_response(),
        },
        Err(e) => e.into_response(),
    }
}

async fn run_search(
    state: &SharedState,
    method: Method,
    headers: &HeaderMap,
    uri: &Uri,
    kind: Kind,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if method != Method::POST {
        return ScimError::method_not_allowed(&method, uri.path()).into_response();
    }
    let ctx = Ctx::new(headers, uri).configured(state.config());
    let q = parse_body(body).and_then(|b| ListQuery::from_search(kind, &b));
    match q {
        Ok(q) => match state.read(|d| list(&d.oci, &ctx, kind, &q)).await {
            Ok(page) => scim_json(StatusCode::OK, &page),
            Err(e) => e.into_response(),
        },
        Err(e) => e.into_response(),
    }
}

async fn users_collection(
    State(state): State<SharedState>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if method == Method::GET {
        return run_list(&state, &headers, &uri, Kind::Users).await;
    }
    run(&state, method, &headers, &uri, Target::Users, body).await
}

async fn groups_collection(
    State(state): State<SharedState>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if method == Method::GET {
        return run_list(&state, &headers, &uri, Kind::Groups).await;
    }
    run(&state, method, &headers, &uri, Target::Groups, body).await
}

async fn users_search(
    State(state): State<SharedState>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    run_search(&state, method, &headers, &uri, Kind::Users, body).await
}

async fn groups_search(
    State(state): State<SharedState>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    run_search(&state, method, &headers, &uri, Kind::Groups, body).await
}

async fn user_item(
    State(state): State<SharedState>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match path_id(id) {
        Ok(id) => run(&state, method, &headers, &uri, Target::User(id), body).await,
        Err(e) => e.into_response(),
    }
}

async fn group_item(
    State(state): State<SharedState>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match path_id(id) {
        Ok(id) => run(&state, method, &headers, &uri, Target::Group(id), body).await,
        Err(e) => e.into_response(),
    }
}

async fn password_changer(
    State(state): State<SharedState>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match path_id(id) {
        Ok(id) => run(&state, method, &headers, &uri, Target::PasswordChanger(id), body).await,
        Err(e) => e.into_response(),
    }
}

async fn scim_not_found(uri: Uri) -> Response {
    ScimError::new(StatusCode::NOT_FOUND, None, format!("No SCIM endpoint at {}.", uri.path())).into_response()
}

async fn service_provider_config(headers: HeaderMap, uri: Uri) -> Response {
    let ctx = Ctx::new(&headers, &uri);
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": { "supported": true },
            "bulk": {
                "supported": true,
                "maxOperations": MAX_BULK_OPERATIONS,
                "maxPayloadSize": super::control::MAX_BODY_BYTES,
            },
            "filter": { "supported": true, "maxResults": MAX_PAGE_SIZE },
            "changePassword": { "supported": true },
            "sort": { "supported": false },
            "etag": { "supported": true },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with an OAuth2 access token from the token endpoint.",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{}{SCIM_BASE}/ServiceProviderConfig", ctx.base),
            },
        }),
    )
}

// ---------------------------------------------------------------------------------------
// Bulk
// ---------------------------------------------------------------------------------------

/// Replaces `bulkId:<x>` strings (whole values) with the ids created earlier.
fn resolve_bulk_ids(v: &mut Value, ids: &HashMap<String, String>) -> Result<(), String> {
    match v {
        Value::String(s) => {
            if let Some(key) = s.strip_prefix("bulkId:") {
                *s = ids.get(key).cloned().ok_or_else(|| key.to_string())?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter_mut().try_for_each(|i| resolve_bulk_ids(i, ids)),
        Value::Object(m) => m.values_mut().try_for_each(|i| resolve_bulk_ids(i, ids)),
        _ => Ok(()),
    }
}

fn unresolved_bulk_id(key: &str) -> ScimError {
    ScimError::new(
        StatusCode::CONFLICT,
        Some("invalidValue"),
        format!("bulkId \"{key}\" cannot be resolved: no earlier successful POST in this request has it."),
    )
}

/// Runs the operations of a Bulk request in order; returns the response operations and
/// a log entry per operation.
fn run_bulk(d: &mut OciData, ctx: &Ctx, ops: &[Value], fail_on_errors: Option<u64>) -> (Vec<Value>, Vec<LogEntry>) {
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut results = Vec::new();
    let mut logs = Vec::new();
    let mut errors = 0u64;
    for (n, op) in ops.iter().enumerate() {
        let empty = Map::new();
        let op = op.as_object().unwrap_or(&empty);
        let method_raw = get_ci(op, "method").and_then(Value::as_str).unwrap_or("");
        let method_name = method_raw.to_ascii_uppercase();
        let bulk_id = get_ci(op, "bulkId").and_then(Value::as_str).map(str::to_string);
        let mut data = get_ci(op, "data").cloned();
        let raw_path = get_ci(op, "path").and_then(Value::as_str).unwrap_or("").to_string();

        // Resolve bulkId references in the path and the data.
        let mut path = raw_path.clone();
        let mut failure: Option<ScimError> = None;
        if let Some(at) = path.find("bulkId:") {
            let end = path[at..].find(['/', '?']).map_or(path.len(), |e| at + e);
            let key = path[at + "bulkId:".len()..end].to_string();
            match ids.get(&key) {
                Some(id) => path = format!("{}{}{}", &path[..at], id, &path[end..]),
                None => failure = Some(unresolved_bulk_id(&key)),
            }
        }
        if failure.is_none() {
            if let Some(data) = data.as_mut() {
                if let Err(key) = resolve_bulk_ids(data, &ids) {
                    failure = Some(unresolved_bulk_id(&key));
                }
            }
        }
        let (path_only, query) = match path.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (path.clone(), None),
        };
        let params = Params::parse(query.as_deref());
        let method = match method_name.as_str() {
            "POST" => Some(Method::POST),
            "PUT" => Some(Method::PUT),
            "PATCH" => Some(Method::PATCH),
            "DELETE" => Some(Method::DELETE),
            _ => None,
        };
        let target = Target::parse(&path_only);

        let has_method = op.keys().any(|k| k.eq_ignore_ascii_case("method"));
        let result: Result<Outcome, ScimError> = match (failure, method, &target) {
            (Some(e), _, _) => Err(e),
            (None, None, _) => Err(ScimError::bad_request(
                "invalidSyntax",
                if has_method {
                    format!("Operations[{n}].method \"{method_raw}\" is not one of POST, PUT, PATCH, DELETE.")
                } else {
                    format!("Operations[{n}].method is required.")
                },
            )),
            (None, Some(_), None) => Err(ScimError::new(
                StatusCode::NOT_FOUND,
                None,
                if raw_path.is_empty() {
                    format!("Operations[{n}].path is required.")
                } else {
                    format!("Operations[{n}].path \"{raw_path}\" is not a SCIM resource path.")
                },
            )),
            (None, Some(m), Some(t)) => match &data {
                None => execute(d, ctx, &m, t, &params, None),
                Some(Value::Object(body)) => execute(d, ctx, &m, t, &params, Some(body)),
                Some(_) => Err(ScimError::bad_request("invalidSyntax", format!("Operations[{n}].data must be an object."))),
            },
        };

        let mut entry = Map::new();
        entry.insert("method".into(), json!(method_name));
        if let Some(b) = &bulk_id {
            entry.insert("bulkId".into(), json!(b));
        }
        let status = match result {
            Ok(outcome) => {
                let status = outcome.status();
                if let Some(l) = outcome.location() {
                    entry.insert("location".into(), json!(l));
                }
                if let (Some(b), Outcome::Resource { body, .. }) = (&bulk_id, &outcome) {
                    if method_name == "POST" {
                        if let Some(id) = body.get("id").and_then(Value::as_str) {
                            ids.insert(b.clone(), id.to_string());
                        }
                    }
                }
                entry.insert("status".into(), json!(status.as_u16().to_string()));
                if let Some(body) = outcome.projected(&params) {
                    entry.insert("response".into(), Value::Object(body));
                }
                status
            }
            Err(e) => {
                errors += 1;
                if method_name != "POST" {
                    if let Some(t) = &target {
                        entry.insert("location".into(), json!(format!("{}{SCIM_BASE}{}", ctx.base, t.path())));
                    }
                }
                entry.insert("status".into(), json!(e.status.as_u16().to_string()));
                entry.insert("response".into(), e.to_json());
                e.status
            }
        };
        results.push(Value::Object(entry));
        logs.push(LogEntry {
            method: method_name.clone(),
            path: format!("{SCIM_BASE}{path_only}"),
            query,
            status: status.as_u16(),
            body: data.map(|mut v| {
                mask_secrets(&mut v);
                v
            }),
            bulk: true,
            ..LogEntry::default()
        });
        if fail_on_errors.is_some_and(|limit| errors >= limit) {
            break;
        }
    }
    (results, logs)
}

async fn bulk(
    State(state): State<SharedState>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if method != Method::POST {
        return ScimError::method_not_allowed(&method, uri.path()).into_response();
    }
    let ctx = Ctx::new(&headers, &uri);
    let request = parse_body(body).and_then(|b| {
        require_schema(&b, BULK_REQUEST_SCHEMA)?;
        let ops = match get_ci(&b, "Operations") {
            Some(Value::Array(ops)) => ops.clone(),
            _ => {
                return Err(ScimError::bad_request("invalidSyntax", "The request body must have an \"Operations\" array."));
            }
        };
        if ops.len() > MAX_BULK_OPERATIONS {
            return Err(ScimError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                format!("A Bulk request may have at most {MAX_BULK_OPERATIONS} operations, this one has {}.", ops.len()),
            ));
        }
        let fail_on_errors = match get_ci(&b, "failOnErrors") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n >= 1) => n.as_u64(),
            Some(other) => {
                return Err(ScimError::bad_request("invalidValue", format!("\"failOnErrors\" must be a positive integer, got {other}.")));
            }
        };
        Ok((ops, fail_on_errors))
    });
    let (ops, fail_on_errors) = match request {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let (results, logs) = state.write(|d| Ok::<_, ScimError>(run_bulk(&mut d.oci, &ctx, &ops, fail_on_errors))).await.unwrap_or_default();
    for entry in logs {
        state.log_only(entry);
    }
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [BULK_RESPONSE_SCHEMA],
            "Operations": results,
        }),
    )
}

#[cfg(test)]
#[path = "scim_tests.rs"]
mod tests;
