//! Access to the OCI emulation: the OAuth2 token endpoint (`POST /oci/oauth2/v1/token`),
//! RFC 7009 revocation (`POST /oci/oauth2/v1/revoke`), the issued tokens
//! ([`TokenStore`]), the bearer check in front of every SCIM route ([`auth`]), and the
//! verification of JWT assertions (RFC 7523) against a JWKS ([`Jwks`]).
//!
//! Assertions, as OCI IAM's "Client/User JWT Assertion" documentation has them (a JWT
//! signed with a key the identity domain trusts, `exp` required, the domain among `aud`):
//! - a client assertion authenticates the client instead of its secret:
//!   `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and
//!   `client_assertion=<jwt>`, with any grant (RFC 7523 section 2.2); a bad one answers 401
//!   `invalid_client` (section 3.2);
//! - the JWT assertion grant, `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and
//!   `assertion=<jwt>` (section 2.1); a bad one answers 400 `invalid_grant` (section 3.1).
//!   The client authenticates with Basic credentials or a client assertion, or not at all
//!   (section 2.1 makes it optional; a `client_id` sent must then be the configured one).
//!
//! Trust comes from `--scim-jwks FILE` (the keys), `--scim-jwt-issuer` and
//! `--scim-jwt-audience`: the signature must verify with a key of the set (the one the
//! header's `kid` names, when it names one; never an HMAC), `iss` must be the issuer, `aud`
//! (a string or a list) must hold the audience, `exp` must be in the future and `nbf`, when
//! present, in the past ([`ASSERTION_LEEWAY_SECS`] of clock skew allowed). The sandbox does
//! not require `sub` to be the client id (RFC 7523 section 3 and OCI do; an HCP Terraform
//! token's `sub` names the workspace and run phase). OCI IAM does not document refusing a
//! second use of an assertion, so the sandbox accepts one unless `--scim-jwt-single-use`
//! is given; then a `jti` (or, without one, the whole token) is accepted once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value, json};

use super::model;
use super::request::parse_urlencoded;
use super::{ScimError, SharedState};
use crate::sandbox::SandboxConfig;

/// Default lifetime of issued access tokens (`--scim-token-ttl-secs`).
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 3600;
/// Default always-valid bearer token (`--scim-static-token`).
pub const DEFAULT_STATIC_TOKEN: &str = "sandbox-scim-token";
/// The scope a token request gets when it names none.
pub const DEFAULT_SCOPE: &str = "urn:opc:idm:__myscopes__";
/// `client_assertion_type` of a JWT client assertion (RFC 7523 section 2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// `grant_type` of the JWT assertion grant (RFC 7523 section 2.1).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The clock skew allowed when `exp` and `nbf` are checked, in seconds.
pub const ASSERTION_LEEWAY_SECS: u64 = 30;

// ---------------------------------------------------------------------------------------
// Access tokens
// ---------------------------------------------------------------------------------------

/// Issued access tokens and their expiry (in memory; not part of the vendor data), and the
/// assertions already used (with `--scim-jwt-single-use`).
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: Mutex<HashMap<String, Instant>>,
    /// `jti` (or the whole token) -> its `exp`, of the assertions accepted so far.
    used_assertions: Mutex<HashMap<String, u64>>,
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

    /// Records the use of the assertion `key` (valid until `exp`): false when it was used
    /// before. Assertions past their expiry are forgotten (they are refused as expired).
    fn first_use(&self, key: &str, exp: u64, now: u64) -> bool {
        let mut used = self.used_assertions.lock().unwrap_or_else(|p| p.into_inner());
        used.retain(|_, e| e.saturating_add(ASSERTION_LEEWAY_SECS) >= now);
        used.insert(key.to_string(), exp).is_none()
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
// JWT assertions (RFC 7523)
// ---------------------------------------------------------------------------------------

/// The keys that sign the assertions the token endpoint accepts (`--scim-jwks FILE`, an
/// RFC 7517 JWK Set), read when the flags are parsed. Symmetric (`oct`) keys are left out:
/// whoever can verify with one can also sign.
#[derive(Clone)]
pub struct Jwks {
    /// Where the set came from (for messages).
    source: String,
    keys: Vec<Jwk>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks").field("source", &self.source).field("keys", &self.keys.len()).finish()
    }
}

impl Jwks {
    /// A JWK Set from its JSON; Err says why it cannot be used (not a set, no public
    /// signing key in it).
    pub fn from_json(json: &str, source: &str) -> Result<Jwks, String> {
        let set: JwkSet = serde_json::from_str(json).map_err(|e| format!("{source} is not a JWK Set ({{\"keys\": [...]}}): {e}"))?;
        let keys: Vec<Jwk> = set.keys.into_iter().filter(|k| !matches!(k.algorithm, AlgorithmParameters::OctetKey(_))).collect();
        if keys.is_empty() {
            return Err(format!("{source} holds no public key (RSA, EC or OKP) to verify assertions with"));
        }
        Ok(Jwks { source: source.to_string(), keys })
    }

    /// The JWK Set in the file `path` (the `--scim-jwks` value parser).
    pub fn from_file(path: &str) -> Result<Jwks, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the JWKS file {path}: {e}"))?;
        Jwks::from_json(&text, path)
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key (never, once built).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Seconds since the epoch.
fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A NumericDate claim (RFC 7519: seconds, possibly with a fraction).
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Option<u64> {
    let v = claims.get(name)?;
    v.as_u64().or_else(|| v.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64))
}

/// A NumericDate as a UTC time, for messages.
fn shown_date(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or_else(|| secs.to_string(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Checks an assertion against the trust the sandbox was started with; Err is why it is
/// refused, in the words of the answer's `error_description`.
fn verify_assertion(config: &SandboxConfig, store: &TokenStore, jwt: &str) -> Result<(), String> {
    let (Some(jwks), Some(issuer), Some(audience)) = (&config.scim_jwks, &config.scim_jwt_issuer, &config.scim_jwt_audience) else {
        return Err("JWT assertions are not accepted: this identity domain trusts no issuer (the sandbox runs without \
                    --scim-jwks, --scim-jwt-issuer and --scim-jwt-audience)."
            .into());
    };
    let malformed = || "The assertion is not a well-formed JWT.".to_string();
    let head = jsonwebtoken::decode_header(jwt).map_err(|_| malformed())?;
    if matches!(head.alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return Err(format!(
            "The assertion is signed with {:?}, a shared-secret algorithm, which is not accepted: it must be signed with a \
             trusted key (RS256).",
            head.alg
        ));
    }
    let candidates: Vec<&Jwk> = match head.kid.as_deref() {
        Some(kid) => jwks.keys.iter().filter(|k| k.common.key_id.as_deref() == Some(kid)).collect(),
        None => jwks.keys.iter().collect(),
    };
    if candidates.is_empty() {
        return Err(format!("The assertion's signing key (kid {:?}) is not a trusted key.", head.kid.unwrap_or_default()));
    }
    // The signature only: the claims are checked below, each with its own message.
    let mut validation = Validation::new(head.alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let mut claims = None;
    for jwk in candidates {
        let Ok(key) = DecodingKey::from_jwk(jwk) else { continue };
        match jsonwebtoken::decode::<Map<String, Value>>(jwt, &key, &validation) {
            Ok(data) => {
                claims = Some(data.claims);
                break;
            }
            Err(e) => match e.kind() {
                jsonwebtoken::errors::ErrorKind::Base64(_)
                | jsonwebtoken::errors::ErrorKind::Json(_)
                | jsonwebtoken::errors::ErrorKind::Utf8(_)
                | jsonwebtoken::errors::ErrorKind::InvalidToken => return Err(malformed()),
                // A wrong signature, or a key of another kind than the algorithm: the next key.
                _ => {}
            },
        }
    }
    let Some(claims) = claims else {
        return Err(match head.kid.as_deref() {
            Some(kid) => format!("The assertion's signature is invalid: it does not verify with the trusted key {kid:?}."),
            None => "The assertion's signature is invalid: it does not verify with any trusted key.".to_string(),
        });
    };

    let now = unix_now();
    let Some(exp) = numeric_date(&claims, "exp") else {
        return Err("The assertion has no exp (expiration time) claim.".into());
    };
    if exp.saturating_add(ASSERTION_LEEWAY_SECS) < now {
        return Err(format!("The assertion has expired: its exp is {} ({} seconds ago).", shown_date(exp), now - exp));
    }
    if let Some(nbf) = numeric_date(&claims, "nbf")
        && nbf > now.saturating_add(ASSERTION_LEEWAY_SECS)
    {
        return Err(format!("The assertion is not valid yet: its nbf is {}.", shown_date(nbf)));
    }
    match claims.get("iss").and_then(Value::as_str) {
        None => return Err("The assertion has no iss (issuer) claim.".into()),
        Some(iss) if iss != issuer => {
            return Err(format!("The assertion's issuer {iss:?} is not trusted: this identity domain trusts {issuer:?}."));
        }
        Some(_) => {}
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => return Err("The assertion has no aud (audience) claim.".into()),
    };
    if !audiences.contains(&audience.as_str()) {
        return Err(format!("The assertion's audience {audiences:?} does not include {audience:?}, this identity domain."));
    }
    if config.scim_jwt_single_use {
        let key = match claims.get("jti").and_then(Value::as_str) {
            Some(jti) => format!("jti:{jti}"),
            None => format!("jwt:{jwt}"),
        };
        if !store.first_use(&key, exp, now) {
            return Err(match claims.get("jti").and_then(Value::as_str) {
                Some(jti) => format!("The assertion has already been used (jti {jti:?}): an assertion is accepted once."),
                None => "The assertion has already been used: an assertion is accepted once.".to_string(),
            });
        }
    }
    Ok(())
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

/// A form-urlencoded request body.
fn form_of(body: Result<Bytes, BytesRejection>) -> ClientForm {
    let body = body.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    ClientForm(parse_urlencoded(&body))
}

/// The form of a request from the configured OAuth2 client, authenticated with Basic
/// credentials (revocation); `None` when the client did not authenticate.
fn client_form(state: &SharedState, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Option<ClientForm> {
    let config = state.config();
    if !basic_credentials_match(headers, &config.scim_client_id, &config.scim_client_secret) {
        return None;
    }
    Some(form_of(body))
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

/// Client authentication at the token endpoint (RFC 6749 section 2.3, RFC 7523 section
/// 2.2): Basic credentials, a client assertion, or (for the JWT assertion grant only)
/// none. The refusal, or None when the client is let in.
fn client_refusal(state: &SharedState, headers: &HeaderMap, form: &ClientForm) -> Option<Response> {
    let config = state.config();
    let unknown_client_id = || match form.param("client_id") {
        Some(id) if id != config.scim_client_id => Some(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            &format!("Client authentication failed: the client_id {id:?} is not a client of this identity domain."),
        )),
        _ => None,
    };
    let assertion_type = form.param("client_assertion_type");
    let assertion = form.param("client_assertion");
    if assertion_type.is_some() || assertion.is_some() {
        if headers.contains_key(header::AUTHORIZATION) {
            return Some(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The client authenticated in more than one way (an Authorization header and a client assertion); use one.",
            ));
        }
        let jwt = match (assertion_type, assertion) {
            (Some(CLIENT_ASSERTION_TYPE), Some(jwt)) => jwt,
            (Some(CLIENT_ASSERTION_TYPE), None) => {
                return Some(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The request is missing the parameter client_assertion.",
                ));
            }
            (None, _) => {
                return Some(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The request is missing the parameter client_assertion_type.",
                ));
            }
            (Some(other), _) => {
                return Some(oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    &format!("The client_assertion_type {other:?} is not supported; use {CLIENT_ASSERTION_TYPE}."),
                ));
            }
        };
        if let Some(refused) = unknown_client_id() {
            return Some(refused);
        }
        return verify_assertion(config, state.scim_tokens(), jwt).err().map(|why| {
            tracing::info!(reason = %why, "refused a client assertion");
            oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &why)
        });
    }
    if basic_credentials_match(headers, &config.scim_client_id, &config.scim_client_secret) {
        return None;
    }
    // RFC 7523 section 2.1: with the JWT assertion grant, client authentication is optional.
    if form.param("grant_type") == Some(JWT_BEARER_GRANT) && !headers.contains_key(header::AUTHORIZATION) {
        return unknown_client_id();
    }
    Some(invalid_client())
}

pub(super) async fn token(State(state): State<SharedState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let form = form_of(body);
    if let Some(refused) = client_refusal(&state, &headers, &form) {
        return refused;
    }
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
        Some(JWT_BEARER_GRANT) => match form.param("assertion") {
            None => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The JWT assertion grant requires the parameter assertion.",
                );
            }
            Some(jwt) => {
                if let Err(why) = verify_assertion(config, state.scim_tokens(), jwt) {
                    tracing::info!(reason = %why, "refused a JWT assertion grant");
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &why);
                }
            }
        },
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("The grant type \"{other}\" is not supported; use client_credentials, password or {JWT_BEARER_GRANT}."),
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

/// Test issuers of JWTs: an RSA key (made with rcgen), its JWKS, and assertions it signs.
#[cfg(test)]
pub mod testing {
    use jsonwebtoken::jwk::{Jwk, JwkSet};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::{Value, json};

    use super::{Jwks, unix_now};

    pub const ISSUER: &str = "https://app.terraform.io";
    pub const AUDIENCE: &str = "sandbox.identity.oraclecloud.test";

    /// A signing key and its `kid`.
    pub struct TestIssuer {
        pub kid: String,
        key: EncodingKey,
        jwk: Jwk,
    }

    impl TestIssuer {
        /// A new 2048-bit RSA key named `kid`.
        pub fn new(kid: &str) -> TestIssuer {
            let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("an RSA key");
            let key = EncodingKey::from_rsa_pem(pair.serialize_pem().as_bytes()).expect("the key as PEM");
            let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("the public JWK");
            jwk.common.key_id = Some(kid.to_string());
            TestIssuer { kid: kid.to_string(), key, jwk }
        }

        /// The JWKS that holds this key.
        pub fn jwks_json(&self) -> String {
            serde_json::to_string(&JwkSet { keys: vec![self.jwk.clone()] }).expect("JWKS")
        }

        pub fn jwks(&self) -> Jwks {
            Jwks::from_json(&self.jwks_json(), "test").expect("JWKS")
        }

        /// An RS256 JWT of `claims` signed with this key (header `kid` set).
        pub fn sign(&self, claims: &Value) -> String {
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(self.kid.clone());
            jsonwebtoken::encode(&header, claims, &self.key).expect("signed")
        }

        /// A valid assertion for [`ISSUER`] and [`AUDIENCE`], good for ten minutes, with
        /// `extra` claims added (or replacing the defaults).
        pub fn assertion(&self, extra: Value) -> String {
            let now = unix_now();
            let mut claims = json!({
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "organization:acme:project:default:workspace:identity:run_phase:apply",
                "iat": now,
                "nbf": now,
                "exp": now + 600,
                "jti": format!("jti-{}", super::model::random_hex(8)),
            });
            if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
                for (k, v) in e {
                    c.insert(k.clone(), v.clone());
                }
            }
            self.sign(&claims)
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{StatusCode, header};
    use base64::Engine as _;
    use serde_json::{Value, json};

    use super::testing::{AUDIENCE, ISSUER, TestIssuer};
    use super::*;
    use crate::sandbox::test_client::{Answer, Sb, sandbox_with};
    use crate::sandbox::{DEFAULT_SCIM_CLIENT_ID, DEFAULT_SCIM_CLIENT_SECRET};

    const TOKEN: &str = "/oci/oauth2/v1/token";

    fn trusting(issuer: &TestIssuer, single_use: bool) -> Sb {
        sandbox_with(SandboxConfig {
            scim_jwks: Some(issuer.jwks()),
            scim_jwt_issuer: Some(ISSUER.into()),
            scim_jwt_audience: Some(AUDIENCE.into()),
            scim_jwt_single_use: single_use,
            ..SandboxConfig::default()
        })
    }

    async fn post(sb: &Sb, authorization: Option<&str>, form: &[(&str, &str)]) -> Answer {
        let body: String =
            form.iter().map(|(k, v)| format!("{k}={}", v.replace(':', "%3A").replace(' ', "+"))).collect::<Vec<_>>().join("&");
        sb.send("POST", TOKEN, authorization, Some("application/x-www-form-urlencoded"), Some(&body)).await
    }

    fn client_assertion(jwt: &str) -> Vec<(&'static str, String)> {
        vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", DEFAULT_SCIM_CLIENT_ID.into()),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE.into()),
            ("client_assertion", jwt.into()),
            ("scope", DEFAULT_SCOPE.into()),
        ]
    }

    fn jwt_bearer(jwt: &str) -> Vec<(&'static str, String)> {
        vec![("grant_type", JWT_BEARER_GRANT.into()), ("assertion", jwt.into()), ("scope", DEFAULT_SCOPE.into())]
    }

    async fn send(sb: &Sb, authorization: Option<&str>, form: &[(&'static str, String)]) -> Answer {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post(sb, authorization, &pairs).await
    }

    fn refused(a: &Answer, status: StatusCode, error: &str, words: &str) {
        assert_eq!(a.status, status, "{}", a.raw);
        assert_eq!(a.json["error"], json!(error), "{}", a.raw);
        let d = a.json["error_description"].as_str().unwrap_or_default();
        assert!(d.contains(words), "{words:?} in {d:?}");
    }

    /// The access token an answer holds works on the SCIM API.
    async fn works(sb: &Sb, a: &Answer) {
        assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
        let t = a.json["access_token"].as_str().expect("access_token");
        let users = sb.send("GET", "/oci/admin/v1/Users", Some(&format!("Bearer {t}")), None, None).await;
        assert_eq!(users.status, StatusCode::OK, "{}", users.raw);
    }

    #[tokio::test]
    async fn a_valid_assertion_gets_a_token_either_way_and_may_be_used_again() {
        let issuer = TestIssuer::new("k1");
        let sb = trusting(&issuer, false);
        let jwt = issuer.assertion(json!({"aud": ["other", AUDIENCE]}));
        for _ in 0..2 {
            works(&sb, &send(&sb, None, &client_assertion(&jwt)).await).await;
            works(&sb, &send(&sb, None, &jwt_bearer(&jwt)).await).await;
        }
        // The JWT assertion grant with Basic client credentials, and with a client assertion.
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{DEFAULT_SCIM_CLIENT_ID}:{DEFAULT_SCIM_CLIENT_SECRET}"))
        );
        works(&sb, &send(&sb, Some(&basic), &jwt_bearer(&jwt)).await).await;
        let mut both = jwt_bearer(&jwt);
        both.extend(client_assertion(&issuer.assertion(json!({})))[1..4].iter().cloned());
        works(&sb, &send(&sb, None, &both).await).await;
        assert_eq!(sb.state.stats().by_route.get("POST /oci/oauth2/v1/token"), Some(&6));
    }

    #[tokio::test]
    async fn bad_assertions_are_refused_naming_the_cause() {
        let issuer = TestIssuer::new("k1");
        let sb = trusting(&issuer, false);
        let now = unix_now();
        let cases: Vec<(String, &str)> = vec![
            (issuer.assertion(json!({"exp": now - 600, "iat": now - 1200, "nbf": now - 1200})), "has expired"),
            (issuer.assertion(json!({"nbf": now + 600})), "not valid yet"),
            (issuer.assertion(json!({"aud": "somebody-else"})), "does not include"),
            (issuer.assertion(json!({"aud": ["a", "b"]})), "does not include"),
            (issuer.assertion(json!({"iss": "https://evil.example"})), "issuer \"https://evil.example\" is not trusted"),
            (issuer.assertion(json!({"exp": null})), "no exp"),
            (issuer.assertion(json!({"aud": null})), "no aud"),
            (issuer.assertion(json!({"iss": null})), "no iss"),
            // The same kid, another key: the signature does not verify.
            (TestIssuer::new("k1").assertion(json!({})), "signature is invalid"),
            (TestIssuer::new("k2").assertion(json!({})), "kid \"k2\") is not a trusted key"),
            ("not.a.jwt".to_string(), "not a well-formed JWT"),
            ("eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c2ln".to_string(), "shared-secret algorithm"),
        ];
        for (jwt, words) in &cases {
            refused(&send(&sb, None, &client_assertion(jwt)).await, StatusCode::UNAUTHORIZED, "invalid_client", words);
            refused(&send(&sb, None, &jwt_bearer(jwt)).await, StatusCode::BAD_REQUEST, "invalid_grant", words);
        }
        // A tampered payload keeps a signature that no longer matches.
        let good = issuer.assertion(json!({}));
        let parts: Vec<&str> = good.split('.').collect();
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({"iss": ISSUER, "aud": AUDIENCE, "exp": now + 999_999, "sub": "admin"}).to_string());
        let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
        refused(&send(&sb, None, &jwt_bearer(&tampered)).await, StatusCode::BAD_REQUEST, "invalid_grant", "signature is invalid");
        assert_eq!(sb.state.stats().by_route.get("POST /oci/oauth2/v1/token").copied(), Some(2 * cases.len() as u64 + 1));
    }

    #[tokio::test]
    async fn malformed_requests_and_an_untrusting_sandbox() {
        let issuer = TestIssuer::new("k1");
        let sb = trusting(&issuer, false);
        let jwt = issuer.assertion(json!({}));
        let mut wrong_type = client_assertion(&jwt);
        wrong_type[2].1 = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer".into();
        refused(&send(&sb, None, &wrong_type).await, StatusCode::UNAUTHORIZED, "invalid_client", "is not supported");
        let mut no_type = client_assertion(&jwt);
        no_type.remove(2);
        refused(&send(&sb, None, &no_type).await, StatusCode::BAD_REQUEST, "invalid_request", "client_assertion_type");
        let mut no_assertion = client_assertion(&jwt);
        no_assertion.remove(3);
        refused(&send(&sb, None, &no_assertion).await, StatusCode::BAD_REQUEST, "invalid_request", "client_assertion");
        let mut other_client = client_assertion(&jwt);
        other_client[1].1 = "someone-else".into();
        refused(&send(&sb, None, &other_client).await, StatusCode::UNAUTHORIZED, "invalid_client", "\"someone-else\"");
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("sandbox-client:sandbox-secret"));
        refused(&send(&sb, Some(&basic), &client_assertion(&jwt)).await, StatusCode::BAD_REQUEST, "invalid_request", "more than one way");
        refused(&send(&sb, None, &jwt_bearer("")).await, StatusCode::BAD_REQUEST, "invalid_request", "parameter assertion");
        // A wrong Basic header is refused even with the JWT assertion grant.
        let wrong = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("sandbox-client:nope"));
        refused(
            &send(&sb, Some(&wrong), &jwt_bearer(&jwt)).await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
        // Without a client assertion, only the JWT assertion grant goes without client authentication.
        let plain = vec![("grant_type", "client_credentials".to_string())];
        refused(&send(&sb, None, &plain).await, StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed");

        let untrusting = sandbox_with(SandboxConfig::default());
        refused(&send(&untrusting, None, &client_assertion(&jwt)).await, StatusCode::UNAUTHORIZED, "invalid_client", "--scim-jwks");
        refused(&send(&untrusting, None, &jwt_bearer(&jwt)).await, StatusCode::BAD_REQUEST, "invalid_grant", "trusts no issuer");
    }

    #[tokio::test]
    async fn single_use_refuses_a_replayed_assertion() {
        let issuer = TestIssuer::new("k1");
        let sb = trusting(&issuer, true);
        let jwt = issuer.assertion(json!({"jti": "run-1"}));
        works(&sb, &send(&sb, None, &client_assertion(&jwt)).await).await;
        refused(
            &send(&sb, None, &client_assertion(&jwt)).await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "already been used (jti \"run-1\")",
        );
        refused(&send(&sb, None, &jwt_bearer(&jwt)).await, StatusCode::BAD_REQUEST, "invalid_grant", "already been used");
        works(&sb, &send(&sb, None, &jwt_bearer(&issuer.assertion(json!({"jti": "run-2"})))).await).await;
        // Without a jti, the token itself is the key.
        let bare = issuer.assertion(json!({"jti": null}));
        works(&sb, &send(&sb, None, &jwt_bearer(&bare)).await).await;
        refused(&send(&sb, None, &jwt_bearer(&bare)).await, StatusCode::BAD_REQUEST, "invalid_grant", "already been used");
    }

    #[test]
    fn a_jwks_needs_a_public_key() {
        let issuer = TestIssuer::new("k1");
        assert_eq!(Jwks::from_json(&issuer.jwks_json(), "f").expect("usable").len(), 1);
        let secret_only = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}).to_string();
        assert!(Jwks::from_json(&secret_only, "f.json").expect_err("no public key").contains("no public key"));
        assert!(Jwks::from_json("[]", "f.json").expect_err("not a set").contains("not a JWK Set"));
        let e = Jwks::from_file("/nonexistent/jwks.json").expect_err("no file");
        assert!(e.contains("cannot read the JWKS file /nonexistent/jwks.json"), "{e}");
        let parsed: Value = serde_json::from_str(&issuer.jwks_json()).expect("json");
        assert_eq!(parsed["keys"][0]["kid"], json!("k1"));
        assert!(parsed["keys"][0].get("d").is_none(), "no private part in the JWKS");
    }

    #[test]
    fn the_token_endpoint_sends_no_store() {
        let a = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "x");
        assert_eq!(a.headers().get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("no-store"));
    }
}
