//! Access to the OCI emulation: the OAuth2 token endpoint (`POST /oci/oauth2/v1/token`),
//! RFC 7009 revocation (`POST /oci/oauth2/v1/revoke`), the issued tokens
//! ([`TokenStore`]) and the bearer check in front of every SCIM route ([`auth`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;

use super::model;
use super::request::parse_urlencoded;
use super::{ScimError, SharedState};

/// Default lifetime of issued access tokens (`--scim-token-ttl-secs`).
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 3600;
/// Default always-valid bearer token (`--scim-static-token`).
pub const DEFAULT_STATIC_TOKEN: &str = "sandbox-scim-token";
/// The scope a token request gets when it names none.
pub const DEFAULT_SCOPE: &str = "urn:opc:idm:__myscopes__";

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
// The bearer check (a route layer over every SCIM route)
// ---------------------------------------------------------------------------------------

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = h.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Lets a request through with an unexpired issued token or the static token; 401 with a
/// SCIM error otherwise.
pub(super) async fn auth(State(state): State<SharedState>, req: Request, next: Next) -> Response {
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
// Token endpoint and revocation
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

/// The form of a request from the configured OAuth2 client (what the token and revocation
/// endpoints share); `None` when the client did not authenticate.
fn client_form(state: &SharedState, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Option<ClientForm> {
    let config = state.config();
    if !basic_credentials_match(headers, &config.scim_client_id, &config.scim_client_secret) {
        return None;
    }
    let body = body.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    Some(ClientForm(parse_urlencoded(&body)))
}

/// The answer to a request whose client did not authenticate.
fn invalid_client() -> Response {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed.")
}

/// A form-urlencoded request body.
struct ClientForm(Vec<(String, String)>);

impl ClientForm {
    /// A parameter's value; an empty one counts as missing.
    fn param(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
}

pub(super) async fn token(State(state): State<SharedState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let Some(form) = client_form(&state, &headers, body) else {
        return invalid_client();
    };
    let config = state.config();
    match form.param("grant_type") {
        None => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "The request is missing the required parameter grant_type.");
        }
        Some("client_credentials") => {}
        Some("password") => match (form.param("username"), form.param("password")) {
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
    let _scope = form.param("scope").unwrap_or(DEFAULT_SCOPE);
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
pub(super) async fn revoke(State(state): State<SharedState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let Some(form) = client_form(&state, &headers, body) else {
        return invalid_client();
    };
    let Some(token) = form.param("token") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "The request is missing the required parameter token.");
    };
    state.scim_tokens().revoke(token);
    (StatusCode::OK, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]).into_response()
}
