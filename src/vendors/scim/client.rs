//! SCIM 2.0 (RFC 7643/7644) with Oracle OCI IAM's extensions: an OAuth2 token (or a
//! static bearer), Users, Groups, PatchOp, Bulk and the UserPasswordChanger.
//!
//! The access token is cached for the process, refreshed shortly before `expires_in`
//! runs out and once after a 401. Refresh is single-flight: the cache is behind an
//! async mutex held across the token request, so N concurrent calls fetch one token.
//! A failure is shared the same way: every call waiting for the token gets the same
//! error at once, and the endpoint is asked again only after a pause (never, within the
//! process, when the failure cannot change: credentials refused, no such host, TLS).
//!
//! Workload identity ([`ScimAuth::Assertion`]): a JWT from outside (HCP Terraform's
//! `TFC_WORKLOAD_IDENTITY_TOKEN`) is exchanged for an access token per RFC 7523, as a
//! client assertion or with the JWT assertion grant ([`AssertionGrant`]). Some issuers
//! accept an assertion only once, so the JWT is exchanged once per provider process and
//! the access token it brings is shared by every request of the process, like any other.
//! Unlike a client secret, it is not exchanged again after a 401: a replay would be
//! refused by such an issuer and hide the 401's own cause, so the 401 is the error (the
//! next Terraform run, a new provider process, exchanges its own token). A second
//! exchange happens only when the access token runs out within the process (shortly
//! before `expires_in`): it is then the only way to go on, and an issuer that refuses a
//! replay, or a JWT that has expired by then, ends the run with the issuer's words and
//! that explanation. The exchange is sent again at once only when it provably was not
//! processed (never sent, or 429), not after a lost answer; after a failure that may pass
//! (a 5xx, a timeout) it is tried again after [`TOKEN_RETRY_PAUSE`], as any token request.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::model::{Group, Member, ScimObject, User};
use crate::http::coalesce::{CoalesceSettings, CoalesceStats, Coalescer};
use crate::http::prefetch::{Lookup, Prefetch, PrefetchSettings, PrefetchStats};
use crate::http::{
    ApiError, Auth, Created, Dialect, Http, HttpSettings, Repeat, Reply, Request, has_dot_segment, is_addressable_id, path_segment,
};

const VENDOR: &str = super::VENDOR.label;
pub const TOKEN_VENDOR: &str = "SCIM token endpoint";
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const GROUP_EXTENSION: &str = "urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const PASSWORD_CHANGER: &str = "urn:ietf:params:scim:schemas:oracle:idcs:UserPasswordChanger";
/// What a right `scim.url` looks like (for a 404 that a wrong one causes).
const BASE_HINT: &str = "`scim.url` is the SCIM base URL, under which `/Users`, `/Groups` and `/ServiceProviderConfig` are \
                         found. For an OCI IAM identity domain it is the domain URL with `/admin/v1`, e.g. \
                         `https://idcs-0123456789abcdef.identity.oraclecloud.com/admin/v1`.";
/// The longest token lifetime believed: an absurd `expires_in` (up to `u64::MAX`) is
/// taken as ten years, so no date computed from it can overflow.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 365 * 86_400);

/// The lifetime of a token answer (`expires_in` seconds; an hour when absent), capped at
/// [`MAX_TOKEN_LIFETIME`].
pub fn token_lifetime(expires_in: Option<u64>) -> Duration {
    Duration::from_secs(expires_in.unwrap_or(3600)).min(MAX_TOKEN_LIFETIME)
}

/// Refresh this long before the token expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);
/// The largest page servers are expected to honour (OCI caps `count` at 50).
pub const PAGE_SIZE: usize = 50;
/// The most pages one listing reads (half a million resources at 50 a page): a server that
/// never stops paging is cut off there.
pub const MAX_LIST_PAGES: usize = 10_000;
/// The most resources one listing holds (about a kilobyte each in memory): a server that
/// sends endless fresh resources, or pages far larger than asked for, is cut off there
/// rather than filling the memory.
pub const MAX_LIST_ITEMS: usize = 100_000;
/// How concurrent user reads are batched (see [`ScimClient::get_user_coalesced`]): a
/// batch is one page of a filtered list, so it holds at most a page of ids.
const USER_READS: CoalesceSettings = CoalesceSettings { max_batch: PAGE_SIZE, ..CoalesceSettings::DEFAULT };
/// Group reads are batched the same way (see [`ScimClient::get_group_coalesced`]).
const GROUP_READS: CoalesceSettings = USER_READS;
/// When a refresh of many users is served from one listing of every user (see
/// [`crate::http::prefetch`]): once it has read one user for every 50 in an identity domain
/// of at most 2,000 users, one for every 5 in a larger one, and never for a domain of more
/// than 10,000 users (about 15 MB kept in memory).
const USER_PREFETCH: PrefetchSettings = PrefetchSettings { page_size: PAGE_SIZE, ..PrefetchSettings::DEFAULT };
/// How many pages of the listing are asked for at once (the vendor's governor bounds all
/// requests further: `max_concurrent_requests`, 10 by default, `max_requests_per_second`,
/// 429s).
const PREFETCH_PAGES_AT_ONCE: usize = 10;

/// Objects with an id, keyed by it.
fn by_id<T: ScimObject>(objects: impl IntoIterator<Item = T>) -> Vec<(String, T)> {
    objects.into_iter().filter_map(|r| r.id().map(str::to_string).map(|id| (id, r))).collect()
}

/// How the client authenticates. Its `Debug` shows no secret.
#[derive(Clone)]
pub enum ScimAuth {
    /// A static bearer token.
    Static(String),
    /// OAuth2 at `token_url` with HTTP Basic client credentials.
    OAuth2 { token_url: String, client_id: String, client_secret: String, grant: Grant, scope: String },
    /// OAuth2 at `token_url` with a JWT instead of a client secret (RFC 7523; workload
    /// identity): `assertion` is the JWT, `source` says where it came from (for messages:
    /// "the environment variable TFC_WORKLOAD_IDENTITY_TOKEN"), `client_id` is sent when
    /// set. Exchanged once per process (see the module documentation).
    Assertion { token_url: String, client_id: Option<String>, assertion: String, source: String, grant: AssertionGrant, scope: String },
}

impl std::fmt::Debug for ScimAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScimAuth::Static(_) => f.write_str("Static([redacted])"),
            ScimAuth::OAuth2 { token_url, client_id, grant, scope, .. } => f
                .debug_struct("OAuth2")
                .field("token_url", token_url)
                .field("client_id", client_id)
                .field("grant", &if matches!(grant, Grant::Password { .. }) { "password" } else { "client_credentials" })
                .field("scope", scope)
                .finish_non_exhaustive(),
            ScimAuth::Assertion { token_url, client_id, source, grant, scope, .. } => f
                .debug_struct("Assertion")
                .field("token_url", token_url)
                .field("client_id", client_id)
                .field("source", source)
                .field("grant", grant)
                .field("scope", scope)
                .finish_non_exhaustive(),
        }
    }
}

/// How a JWT is presented to the token endpoint (RFC 7523), named as OCI IAM's
/// "Client/User JWT Assertion" documentation names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssertionGrant {
    /// A client assertion (RFC 7523 section 2.2): `grant_type=client_credentials`,
    /// `client_assertion_type=`[`CLIENT_ASSERTION_TYPE`], `client_assertion=<jwt>`, no
    /// client secret. The issuer refuses a bad one with 401 `invalid_client`.
    ClientAssertion,
    /// The JWT assertion grant (RFC 7523 section 2.1):
    /// `grant_type=`[`JWT_BEARER_GRANT`], `assertion=<jwt>`, the client identified by
    /// `client_id` only. The issuer refuses a bad one with 400 `invalid_grant`.
    JwtBearer,
}

impl AssertionGrant {
    /// From the provider's `scim.workload_identity.grant`.
    pub fn from_name(name: &str) -> Option<AssertionGrant> {
        match name {
            "client_assertion" => Some(AssertionGrant::ClientAssertion),
            "jwt_bearer" => Some(AssertionGrant::JwtBearer),
            _ => None,
        }
    }
}

/// `client_assertion_type` of a JWT client assertion (RFC 7523 section 2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// `grant_type` of the JWT assertion grant (RFC 7523 section 2.1).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

#[derive(Clone, Debug)]
pub enum Grant {
    ClientCredentials,
    Password { username: String, password: String },
}

/// Where an access token comes from: the static one, or a token request.
enum Credential<'a> {
    Static(&'a str),
    /// The request to the token endpoint: where, the form body, and how the client
    /// authenticates.
    Exchange {
        url: &'a str,
        form: Vec<(String, String)>,
        auth: Auth<'a>,
    },
}

struct CachedToken {
    token: String,
    refresh_at: Instant,
}

/// The token endpoint's last failure, handed to every caller until `retry_at` (None: for
/// the rest of the process).
struct TokenFailure {
    error: ApiError,
    retry_at: Option<Instant>,
}

/// The token cache: the token, or the failure that stands in for it.
#[derive(Default)]
struct TokenState {
    cached: Option<CachedToken>,
    failure: Option<TokenFailure>,
    /// How many times the endpoint failed for a cause that may pass (the pause doubles).
    transient_failures: u32,
    /// How many access tokens the endpoint gave so far (a JWT assertion's second exchange
    /// is explained when it fails).
    exchanges: u32,
}

/// The pause after a token request that failed for a cause that may pass (refused, a
/// timeout, a 5xx): the first one; each further failure doubles it (up to 8 times).
pub const TOKEN_RETRY_PAUSE: Duration = Duration::from_secs(30);

/// Whether a token endpoint failure cannot change within the process: the credentials or
/// the grant refused (400/401/403: RFC 6749's `invalid_client`, `invalid_grant`,
/// `unauthorized_client`, ...), a host that does not exist, TLS or certificate failures,
/// a wrong token URL (404).
fn token_failure_is_final(e: &ApiError) -> bool {
    match e {
        ApiError::Status { status, .. } => matches!(status, 400 | 401 | 403 | 404 | 405),
        ApiError::Transport { cause, .. } => cause.is_permanent(),
        ApiError::Decode { .. } | ApiError::NotSent { .. } | ApiError::WrongBase { .. } => true,
        ApiError::Indeterminate { .. } => false,
    }
}

pub struct ScimClient {
    base: String,
    auth: ScimAuth,
    http: Http,
    /// The token endpoint: the same pool and governor, OAuth2's error format.
    token_http: Http,
    token: Mutex<TokenState>,
    /// Concurrent user reads, batched (see [`ScimClient::get_user_coalesced`]).
    user_reads: Coalescer<String, User>,
    /// Every user, listed once a refresh reads many (see [`ScimClient::get_user_coalesced`]).
    user_snapshot: Prefetch<User>,
    /// Per group, its members, read once a refresh reads many of its memberships (see
    /// [`ScimClient::is_member_prefetched`]).
    pub(super) member_snapshots: std::sync::Mutex<HashMap<String, std::sync::Arc<Prefetch<()>>>>,
    /// Concurrent group reads, batched (see [`ScimClient::get_group_coalesced`]).
    group_reads: Coalescer<String, Group>,
    /// Concurrent reads of groups with their members (see
    /// [`ScimClient::get_group_with_members_coalesced`]).
    group_member_reads: Coalescer<String, Group>,
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient").field("base", &self.base).finish_non_exhaustive()
    }
}

/// A SCIM error body: `status` is a string, `detail` the human message.
#[derive(Deserialize)]
struct ScimErrorBody {
    #[serde(default)]
    detail: Option<String>,
    #[serde(default, rename = "scimType")]
    scim_type: Option<String>,
}

/// An OAuth2 error body (RFC 6749 section 5.2).
#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// SCIM's message (`detail`) and details (`scimType`) in an error body.
fn scim_error_text(body: &[u8]) -> Option<(String, Option<String>)> {
    let b: ScimErrorBody = serde_json::from_slice(body).ok()?;
    Some((b.detail.unwrap_or_default(), b.scim_type))
}

/// OAuth2's `error: error_description`.
pub fn oauth_error_text(body: &[u8]) -> Option<(String, Option<String>)> {
    let b: OAuthErrorBody = serde_json::from_slice(body).ok()?;
    Some((
        match b.error_description.filter(|d| !d.is_empty()) {
            Some(d) => format!("{}: {d}", b.error),
            None => b.error,
        },
        None,
    ))
}

/// A 401 to a request sent with a fresh token after a 401 to the cached one.
fn refused_twice() -> ApiError {
    ApiError::Status { vendor: VENDOR, status: 401, message: "the access token was refused twice".into(), details: None, request: None }
}

const DIALECT: Dialect = Dialect { vendor: VENDOR, error_text: scim_error_text, check_success: None };
pub const TOKEN_DIALECT: Dialect = Dialect { vendor: TOKEN_VENDOR, error_text: oauth_error_text, check_success: None };

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// A SCIM ListResponse page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct ListResponse<T> {
    #[serde(default)]
    pub total_results: usize,
    /// Empty when left out or `null` (servers send both for an empty page).
    #[serde(default = "Vec::new", rename = "Resources", deserialize_with = "null_as_empty")]
    pub resources: Vec<T>,
    #[serde(default)]
    pub items_per_page: Option<usize>,
}

/// A list that a server may send as `null`.
fn null_as_empty<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// One operation of a PatchOp.
#[derive(Clone, Debug, Serialize)]
pub struct PatchOperation {
    pub op: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// JSON of a value the provider sends (its own models: text keys only, so never an error).
fn json_of(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

impl PatchOperation {
    pub fn replace(path: &str, value: impl Serialize) -> Self {
        PatchOperation { op: "replace".into(), path: Some(path.into()), value: Some(json_of(&value)) }
    }
    /// A `replace` without a path: every attribute `value` sets is replaced, the others are
    /// left as they are.
    pub fn replace_attributes<T: ScimObject>(value: &T) -> Self {
        PatchOperation { op: "replace".into(), path: None, value: Some(json_of(value)) }
    }
    pub fn remove(path: &str) -> Self {
        PatchOperation { op: "remove".into(), path: Some(path.into()), value: None }
    }
    pub fn add_members(user_ids: &[String]) -> Self {
        let members: Vec<Member> = user_ids.iter().map(|u| Member::user(u)).collect();
        PatchOperation { op: "add".into(), path: Some("members".into()), value: Some(json_of(&members)) }
    }
    pub fn remove_member(user_id: &str) -> Self {
        PatchOperation { op: "remove".into(), path: Some(format!("members[value eq {}]", quote(user_id))), value: None }
    }

    /// The operations that turn `was` into `now`, attribute by attribute: a `replace` of
    /// each attribute `now` sets to another value, a `remove` of each one `was` sets and
    /// `now` leaves out (see [`PatchOperation::removals`] for what counts as an attribute).
    pub fn changes<T: ScimObject>(was: &T, now: &T) -> Vec<Self> {
        let (was, now) = (json_of(was), json_of(now));
        let (before, after) = (attributes(&was), attributes(&now));
        let mut paths: Vec<&String> = before.keys().chain(after.keys()).collect();
        paths.sort();
        paths.dedup();
        paths
            .into_iter()
            .filter_map(|p| match after.get(p) {
                Some(v) if before.get(p) != Some(v) => Some(PatchOperation::replace(p, v)),
                Some(_) => None,
                None => before.get(p).is_some_and(|v| is_set(v)).then(|| PatchOperation::remove(p)),
            })
            .collect()
    }

    /// The `remove` operations for what `was` sets and `now` leaves out, but for the paths
    /// in `kept` (attributes the server fills in when they are left out). An attribute is
    /// a top-level one or a sub-attribute of a complex one (`name.givenName`; in an
    /// extension `urn:...:Group:description`); a multi-valued one is set when it has a value.
    pub fn removals<T: ScimObject>(was: &T, now: &T, kept: &[&str]) -> Vec<Self> {
        let (was, now) = (json_of(was), json_of(now));
        let after = attributes(&now);
        attributes(&was)
            .into_iter()
            .filter(|(p, v)| is_set(v) && !after.contains_key(p) && !kept.contains(&p.as_str()))
            .map(|(p, _)| PatchOperation::remove(&p))
            .collect()
    }
}

/// The attributes a SCIM object's JSON sets, by PatchOp path (see
/// [`PatchOperation::removals`]); null ones are left out.
fn attributes(v: &Value) -> std::collections::BTreeMap<String, &Value> {
    let mut out = std::collections::BTreeMap::new();
    for (k, x) in v.as_object().into_iter().flatten() {
        match x {
            Value::Null => {}
            Value::Object(sub) => {
                let sep = if k.starts_with("urn:") { ':' } else { '.' };
                out.extend(sub.iter().filter(|(_, y)| !y.is_null()).map(|(sk, y)| (format!("{k}{sep}{sk}"), y)));
            }
            x => {
                out.insert(k.clone(), x);
            }
        }
    }
    out
}

/// Whether an attribute's value sets something (an empty list sets nothing).
fn is_set(v: &Value) -> bool {
    !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty())
}

/// The PatchOp message for a list of operations.
pub fn patch_body(ops: &[PatchOperation]) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// One operation of a BulkRequest.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    pub method: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl BulkOperation {
    /// A PatchOp of the `T` whose id is `id`.
    pub fn patch<T: ScimObject>(id: &str, ops: &[PatchOperation], bulk_id: String) -> Self {
        BulkOperation {
            method: "PATCH".into(),
            path: format!("{}/{}", T::COLLECTION, path_segment(id)),
            bulk_id: Some(bulk_id),
            data: Some(patch_body(ops)),
        }
    }
}

/// The `If-Match` value for a `meta.version`: as it is when it is already an entity tag
/// (`W/"3"`, `"3"`, as RFC 7644 §3.14 has it), quoted when it is bare (OCI IAM sends a
/// bare hex string).
pub fn entity_tag(version: &str) -> String {
    let v = version.trim();
    if v.starts_with("W/\"") || v.starts_with('"') { v.to_string() } else { format!("\"{v}\"") }
}

/// A SCIM filter string literal.
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// One operation's outcome in a BulkResponse.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOutcome {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub bulk_id: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    /// A string in SCIM ("204"); some servers send a number or an object.
    #[serde(default)]
    pub status: Value,
    #[serde(default)]
    pub response: Option<Value>,
}

impl BulkOutcome {
    pub fn status_code(&self) -> u16 {
        match &self.status {
            Value::String(s) => s.parse().unwrap_or(0),
            Value::Number(n) => n.as_u64().unwrap_or(0) as u16,
            Value::Object(o) => {
                o.get("code").and_then(|c| c.as_str().and_then(|s| s.parse().ok()).or(c.as_u64().map(|n| n as u16))).unwrap_or(0)
            }
            _ => 0,
        }
    }
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status_code())
    }
    /// The server's message for a failed operation.
    pub fn detail(&self) -> String {
        self.response
            .as_ref()
            .and_then(|r| r.get("detail").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| format!("status {}", self.status_code()))
    }
}

#[derive(Debug, Deserialize)]
struct BulkResponse {
    #[serde(default, rename = "Operations")]
    operations: Vec<BulkOutcome>,
}

impl ScimClient {
    /// `base` is the SCIM base URL (e.g. `https://idcs-x.identity.oraclecloud.com/admin/v1`).
    pub fn new(base: &str, auth: ScimAuth, extra_ca_pem: Option<&str>, settings: HttpSettings) -> Result<Self, String> {
        let secrets: Vec<&str> = match &auth {
            ScimAuth::Static(t) => vec![t],
            ScimAuth::OAuth2 { client_secret, grant: Grant::Password { password, .. }, .. } => vec![client_secret, password],
            ScimAuth::OAuth2 { client_secret, .. } => vec![client_secret],
            ScimAuth::Assertion { assertion, .. } => vec![assertion],
        };
        let base = base.trim_end_matches('/').to_string();
        let batch = settings.batch_reads;
        let http = Http::new(DIALECT, settings, extra_ca_pem, false)?.with_secrets(&secrets);
        let token_http = http.with_dialect(TOKEN_DIALECT);
        // RFC 7644 section 4: every SCIM service provider SHALL serve it.
        let http = http.with_base_probe(format!("{base}/ServiceProviderConfig"), BASE_HINT);
        Ok(ScimClient {
            base,
            auth,
            http,
            token_http,
            token: Mutex::new(TokenState::default()),
            user_reads: Coalescer::new("SCIM user reads", USER_READS.enabled(batch)),
            user_snapshot: Prefetch::new("SCIM users", PrefetchSettings { enabled: batch, ..USER_PREFETCH }),
            member_snapshots: std::sync::Mutex::new(HashMap::new()),
            group_reads: Coalescer::new("SCIM group reads", GROUP_READS.enabled(batch)),
            group_member_reads: Coalescer::new("SCIM group reads with members", GROUP_READS.enabled(batch)),
        })
    }

    /// Whether a 401 to a request is answered by asking for a new access token and sending
    /// the request once more: with client credentials, yes; with a static token there is
    /// no other; with a JWT assertion, no (see the module documentation).
    fn renews_after_401(&self) -> bool {
        matches!(self.auth, ScimAuth::OAuth2 { .. })
    }

    /// A 401 to a request made with an access token from a JWT assertion, with why the
    /// provider does not exchange the JWT again.
    fn explain_401(&self, e: ApiError) -> ApiError {
        let ScimAuth::Assertion { source, .. } = &self.auth else { return e };
        match e {
            ApiError::Status { vendor, status: 401, message, details, request } => {
                let why = format!(
                    "the access token was obtained with the workload identity token from {source}, which this provider exchanges \
                     once per provider process and not again after a 401, because issuers may refuse a second use of the same token; the next \
                     Terraform run exchanges a new one"
                );
                let details = Some(match details.filter(|d| !d.is_empty()) {
                    Some(d) => format!("{d}; {why}"),
                    None => why,
                });
                ApiError::Status { vendor, status: 401, message, details, request }
            }
            other => other,
        }
    }

    /// A token endpoint failure with the JWT assertion's source, and why a second exchange
    /// happened when it is one.
    fn explain_exchange_failure(&self, e: ApiError, exchanges: u32) -> ApiError {
        let ScimAuth::Assertion { source, grant, .. } = &self.auth else { return e };
        match e {
            ApiError::Status { vendor, status, message, details, request } => {
                let how = match grant {
                    AssertionGrant::ClientAssertion => "as an RFC 7523 client assertion",
                    AssertionGrant::JwtBearer => "with the RFC 7523 JWT assertion grant",
                };
                let mut why = format!("the workload identity token from {source} was presented {how}");
                if exchanges > 0 {
                    why.push_str(
                        "; this was its second exchange in this run: the access token it brought first ran out, and only a new \
                         exchange can renew it. An issuer that accepts a token once, or a workload identity token that has expired \
                         since, refuses it: give the access tokens a lifetime longer than a run",
                    );
                }
                let details = Some(match details.filter(|d| !d.is_empty()) {
                    Some(d) => format!("{d}; {why}"),
                    None => why,
                });
                ApiError::Status { vendor, status, message, details, request }
            }
            other => other,
        }
    }

    /// The static token, or the token request: its URL, form body and client
    /// authentication.
    fn credential(&self) -> Credential<'_> {
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        match &self.auth {
            ScimAuth::Static(t) => Credential::Static(t),
            ScimAuth::OAuth2 { token_url, client_id, client_secret, grant, scope } => {
                let mut form = vec![pair("scope", scope)];
                match grant {
                    Grant::ClientCredentials => form.push(pair("grant_type", "client_credentials")),
                    Grant::Password { username, password } => {
                        form.push(pair("grant_type", "password"));
                        form.push(pair("username", username));
                        form.push(pair("password", password));
                    }
                }
                Credential::Exchange { url: token_url, form, auth: Auth::Basic(client_id, client_secret) }
            }
            ScimAuth::Assertion { token_url, client_id, assertion, grant, scope, .. } => {
                let mut form = match grant {
                    AssertionGrant::ClientAssertion => vec![
                        pair("grant_type", "client_credentials"),
                        pair("client_assertion_type", CLIENT_ASSERTION_TYPE),
                        pair("client_assertion", assertion),
                    ],
                    AssertionGrant::JwtBearer => vec![pair("grant_type", JWT_BEARER_GRANT), pair("assertion", assertion)],
                };
                if let Some(id) = client_id {
                    form.push(pair("client_id", id));
                }
                form.push(pair("scope", scope));
                Credential::Exchange { url: token_url, form, auth: Auth::None }
            }
        }
    }

    /// A valid access token: the cached one, or a new one (single-flight).
    async fn access_token(&self, stale: Option<&str>) -> Result<String, ApiError> {
        let (token_url, form, auth) = match self.credential() {
            Credential::Static(t) => return Ok(t.to_string()),
            Credential::Exchange { url, form, auth } => (url, form, auth),
        };
        let mut guard = self.token.lock().await;
        if let Some(c) = guard.cached.as_ref()
            && Instant::now() < c.refresh_at
            && stale != Some(c.token.as_str())
        {
            return Ok(c.token.clone());
        }
        if let Some(f) = guard.failure.as_ref()
            && f.retry_at.is_none_or(|at| Instant::now() < at)
        {
            return Err(f.error.clone());
        }
        // Asking for a token twice has the effect of asking once: safe to repeat, but only
        // once per round: the callers waiting for it are better served by a quick answer,
        // and a failure is shared with all of them. A JWT assertion only when the request
        // provably went unprocessed (never sent, or throttled): an issuer that accepts an
        // assertion once would refuse the repeat of a request whose answer was lost.
        let repeat = if matches!(self.auth, ScimAuth::Assertion { .. }) { Repeat::UnsentOrThrottled } else { Repeat::Safe };
        let req = Request::new(Method::POST, token_url).auth(auth).form(form).repeat(repeat).retries(1);
        let fetched = match self.token_http.send(&req).await {
            Ok(reply) => self.token_http.decode::<TokenResponse>(&reply),
            Err(e) => Err(e),
        };
        let fetched = fetched.map_err(|e| self.explain_exchange_failure(e, guard.exchanges));
        let t = match fetched {
            Ok(t) => t,
            Err(e) => {
                let retry_at = if token_failure_is_final(&e) {
                    None
                } else {
                    let pause = TOKEN_RETRY_PAUSE * (1u32 << guard.transient_failures.min(8));
                    guard.transient_failures += 1;
                    Some(Instant::now() + pause)
                };
                tracing::warn!(
                    final_for_this_run = retry_at.is_none(),
                    "the SCIM token endpoint failed; every request waiting for a token gets the same error"
                );
                guard.failure = Some(TokenFailure { error: e.clone(), retry_at });
                return Err(e);
            }
        };
        guard.failure = None;
        guard.transient_failures = 0;
        guard.exchanges += 1;
        // A lifetime beyond ten years is taken as ten years (an absurd `expires_in` must not
        // overflow the clock).
        let lifetime = token_lifetime(t.expires_in);
        let refresh_in = if lifetime > TOKEN_MARGIN * 2 { lifetime - TOKEN_MARGIN } else { lifetime / 2 };
        tracing::debug!(expires_in = lifetime.as_secs(), "obtained a SCIM access token");
        guard.cached = Some(CachedToken { token: t.access_token.clone(), refresh_at: Instant::now() + refresh_in });
        Ok(t.access_token)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// One SCIM request with auth; retries once with a fresh token after a 401.
    async fn call(&self, method: Method, path: &str, query: &[(&str, String)], body: Option<&Value>) -> Result<Reply, ApiError> {
        let url = self.url(path);
        self.call_url(&url, method, query, body, None, None).await
    }

    fn request<'a>(
        &self,
        url: &'a str,
        method: Method,
        query: &'a [(&'a str, String)],
        body: Option<&Value>,
        token: &'a str,
        repeat: Option<Repeat>,
    ) -> Request<'a> {
        let mut req = Request::new(method, url).auth(Auth::Bearer(token)).accept("application/scim+json, application/json").query(query);
        if let Some(b) = body {
            req = req.body(b.to_string().into_bytes(), "application/scim+json");
        }
        match repeat {
            Some(r) => req.repeat(r),
            None => req,
        }
    }

    /// A call, with `If-Match` when `if_match` gives the version last read.
    async fn call_url(
        &self,
        url: &str,
        method: Method,
        query: &[(&str, String)],
        body: Option<&Value>,
        repeat: Option<Repeat>,
        if_match: Option<&str>,
    ) -> Result<Reply, ApiError> {
        let mut stale: Option<String> = None;
        for attempt in 0..2 {
            let token = self.access_token(stale.as_deref()).await?;
            let mut req = self.request(url, method.clone(), query, body, &token, repeat);
            if let Some(version) = if_match {
                req = req.header(reqwest::header::IF_MATCH, entity_tag(version));
            }
            let reply = self.http.send_any(&req).await?;
            if reply.status.as_u16() == 401 && attempt == 0 && self.renews_after_401() {
                stale = Some(token);
                continue;
            }
            return self.http.accept(&req, reply).map_err(|e| self.explain_401(e));
        }
        Err(refused_twice())
    }

    /// Decodes an answer; serde quotes the offending value, so the error is scrubbed of the
    /// access token obtained at run time too (the client's configured secrets already are).
    fn json<T: serde::de::DeserializeOwned>(&self, reply: &Reply) -> Result<T, ApiError> {
        self.http.decode(reply).map_err(|e| match self.token.try_lock() {
            Ok(state) => match state.cached.as_ref() {
                Some(c) => e.scrubbed(std::slice::from_ref(&c.token)),
                None => e,
            },
            // The token is being renewed at this very moment: scrub by shape only.
            Err(_) => e.scrubbed(&[]),
        })
    }

    /// The shared HTTP layer (its settings and governor).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Creates a user or group; returns it as the server answered.
    ///
    /// The natural key ([`ScimObject::KEY`]) is `userName` for users and `displayName` for
    /// groups (both unique: the server answers 409 for a taken one). When an attempt's
    /// answer is lost (see [`Http::create`]), the object with that key is adopted if it is
    /// what the request asked for ([`matches_request`]), read in full as a POST answer
    /// would have been. The 401-and-fresh-token retry of [`ScimClient::call`] applies here
    /// too: a 401 is answered before anything is created.
    pub async fn create<T: ScimObject>(&self, obj: &T) -> Result<T, ApiError> {
        let url = self.url(T::COLLECTION);
        let mut body = json_of(obj);
        if let Some(o) = body.as_object_mut() {
            o.insert("schemas".into(), json!(obj.schemas()));
        }
        let what = match obj.key() {
            Some(v) => format!("{} \"{v}\"", T::NOUN),
            None => format!("resource in {}", T::COLLECTION),
        };
        let lookup = || async {
            let Some(value) = obj.key() else {
                return Ok(None); // no natural key: nothing can be adopted
            };
            let Some(id) = self.lookup_id::<T>(value).await? else {
                return Ok(None);
            };
            match self.get_reply(T::COLLECTION, &id, &[]).await? {
                Some(reply) if matches_request(&self.json::<Value>(&reply)?, &body) => self.json::<T>(&reply).map(Some),
                _ => Ok(None),
            }
        };
        let mut stale: Option<String> = None;
        for attempt in 0..2 {
            let token = self.access_token(stale.as_deref()).await?;
            let req = self.request(&url, Method::POST, &[], Some(&body), &token, None);
            match self.http.create(&req, &what, &lookup).await {
                Ok(Created::New(reply)) => return self.json(&reply).and_then(checked_id),
                Ok(Created::Adopted(found)) => return Ok(found),
                Err(e) if e.status() == Some(401) && attempt == 0 && self.renews_after_401() => stale = Some(token),
                Err(e) => return Err(self.explain_401(e)),
            }
        }
        Err(refused_twice())
    }

    /// Reads a user or group by id (or OCI ocid), with the `attributes` /
    /// `excludedAttributes` of `query`; None when it does not exist.
    pub async fn get<T: ScimObject>(&self, id: &str, query: &[(&str, String)]) -> Result<Option<T>, ApiError> {
        match self.get_reply(T::COLLECTION, id, query).await? {
            Some(reply) => self.json(&reply).map(Some),
            None => Ok(None),
        }
    }

    /// The answer to a GET of `collection`/`id`; None when it does not exist.
    async fn get_reply(&self, collection: &str, id: &str, query: &[(&str, String)]) -> Result<Option<Reply>, ApiError> {
        match self.call(Method::GET, &format!("{collection}/{}", path_segment(id)), query, None).await {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Applies a PatchOp. RFC 7644 allows 200 with the object or 204 without a body;
    /// both are success, and the object comes back only in the first case.
    pub async fn patch<T: ScimObject>(&self, id: &str, ops: &[PatchOperation]) -> Result<Option<T>, ApiError> {
        self.patch_if(id, ops, None).await
    }

    /// [`ScimClient::patch`] with `If-Match` when `version` (the `meta.version` last read)
    /// is given: a server that supports ETags answers 412 when the object changed since
    /// ([`ApiError::status`] `Some(412)`), and changes nothing.
    pub async fn patch_if<T: ScimObject>(&self, id: &str, ops: &[PatchOperation], version: Option<&str>) -> Result<Option<T>, ApiError> {
        // The provider's PatchOps set state (replace, add members, remove members by
        // value; a remove that matches nothing does nothing): applying one twice has the
        // effect of applying it once, so it is safe to repeat. (With `If-Match`, a repeat
        // of one that was applied answers 412; the resources tell that from a conflict.)
        self.written::<T>(id);
        let url = self.url(&format!("{}/{}", T::COLLECTION, path_segment(id)));
        let reply = self.call_url(&url, Method::PATCH, &[], Some(&patch_body(ops)), Some(Repeat::Safe), version).await?;
        if reply.status.as_u16() == 204 || reply.is_empty() {
            return Ok(None);
        }
        self.json(&reply).map(Some)
    }

    /// Forgets the prefetched copy of the `T` `id`, which is being written: later reads in
    /// this process ask the server.
    fn written<T: ScimObject>(&self, id: &str) {
        if T::COLLECTION == User::COLLECTION {
            self.user_snapshot.forget(id);
        } else if T::COLLECTION == Group::COLLECTION {
            self.forget_members(id);
        }
    }

    /// Deletes a user or group; Ok(false) when it was already gone.
    pub async fn delete<T: ScimObject>(&self, id: &str) -> Result<bool, ApiError> {
        self.delete_if::<T>(id, None).await
    }

    /// [`ScimClient::delete`] with `If-Match` when `version` is given (see
    /// [`ScimClient::patch_if`]).
    pub async fn delete_if<T: ScimObject>(&self, id: &str, version: Option<&str>) -> Result<bool, ApiError> {
        self.written::<T>(id);
        let url = self.url(&format!("{}/{}", T::COLLECTION, path_segment(id)));
        match self.call_url(&url, Method::DELETE, &[], None, None, version).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// One page of a list; `start` is 1-based.
    pub async fn list_page<T: ScimObject>(
        &self,
        filter: Option<&str>,
        extra: &[(&str, String)],
        start: usize,
        count: usize,
    ) -> Result<ListResponse<T>, ApiError> {
        let mut q: Vec<(&str, String)> = vec![("startIndex", start.to_string()), ("count", count.to_string())];
        if let Some(f) = filter {
            q.push(("filter", f.to_string()));
        }
        q.extend(extra.iter().cloned());
        self.json(&self.call(Method::GET, T::COLLECTION, &q, None).await?)
    }

    /// Every user or group matching `filter`, paging with startIndex/count until
    /// totalResults.
    ///
    /// Bounded whatever the server answers: a page that brings no object with a new `id`
    /// (a server repeating itself, or claiming more results than it sends) ends the
    /// listing with an error, and so does a listing longer than [`MAX_LIST_PAGES`] pages.
    pub async fn list_all<T: ScimObject>(&self, filter: Option<&str>, extra: &[(&str, String)]) -> Result<Vec<T>, ApiError> {
        let collection = T::COLLECTION;
        let mut out = Vec::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut start = 1;
        let mut pages = 0;
        loop {
            pages += 1;
            let page = self.list_page::<T>(filter, extra, start, PAGE_SIZE).await?;
            let got = page.resources.len();
            let mut new = 0;
            for r in page.resources {
                if r.id().is_some_and(|id| seen.insert(id.to_string())) {
                    new += 1;
                    out.push(r);
                }
            }
            if got == 0 || out.len() >= page.total_results {
                return Ok(out);
            }
            let stop = if new == 0 {
                Some(format!(
                    "listing {collection} made no progress: the page at startIndex {start} brought no resource with a new id, \
                     while totalResults says {} and {} were read",
                    page.total_results,
                    out.len()
                ))
            } else if out.len() > MAX_LIST_ITEMS {
                Some(format!(
                    "listing {collection} was stopped at {} resources, more than the {MAX_LIST_ITEMS} one listing may hold; \
                     narrow it with a filter",
                    out.len()
                ))
            } else if pages >= MAX_LIST_PAGES {
                Some(format!("listing {collection} was stopped after {MAX_LIST_PAGES} pages ({} resources)", out.len()))
            } else {
                None
            };
            if let Some(message) = stop {
                return Err(ApiError::Decode { vendor: VENDOR, reason: message });
            }
            start += got;
        }
    }

    /// Reads a user like [`ScimClient::get`], coalescing concurrent reads into one list
    /// request (`filter=id eq "a" or id eq "b" ...`). Terraform refreshes every resource
    /// with its own ReadResource call, about 10 at a time; this turns those into one
    /// request per batch, sent when it is full or quiet (see [`crate::http::coalesce`]).
    /// Correctness first: a user missing from the batch's answer (or any batch failure)
    /// falls back to a single GET, so a deleted user still reads as gone and a server
    /// without id filters still works.
    ///
    /// A refresh of many users is served from one listing of every user instead, its pages
    /// fetched in parallel, when the identity domain is small enough for it to pay (see
    /// [`crate::http::prefetch`] for when, and what such a read sees); a user the listing
    /// lacks is read with a single GET.
    pub async fn get_user_coalesced(&self, id: &str) -> Result<Option<User>, ApiError> {
        if !id.is_empty() && !id.starts_with("ocid1.") {
            self.user_snapshot.wait_for_listing().await;
            match self.user_snapshot.lookup(id) {
                Lookup::Hit(user) => return Ok(Some(user)),
                Lookup::Miss => return self.get(id, &[]).await,
                Lookup::NoSnapshot => {}
            }
            self.user_snapshot.after_read(|| self.first_page::<User>(), |total| self.list_in_parallel::<User>(total)).await;
            match self.user_snapshot.lookup(id) {
                Lookup::Hit(user) => return Ok(Some(user)),
                Lookup::Miss => return self.get(id, &[]).await,
                Lookup::NoSnapshot => {}
            }
        }
        self.get_coalesced(&self.user_reads, id, &[]).await
    }

    /// How user reads have been batched so far.
    pub fn user_read_stats(&self) -> CoalesceStats {
        self.user_reads.stats()
    }

    /// How user reads have been prefetched so far.
    pub fn user_prefetch_stats(&self) -> PrefetchStats {
        self.user_snapshot.stats()
    }

    /// How many `T` the server holds (`totalResults`), with the first page of the listing.
    async fn first_page<T: ScimObject>(&self) -> Result<(usize, Vec<(String, T)>), ApiError> {
        let page = self.list_page::<T>(None, &[], 1, PAGE_SIZE).await?;
        Ok((page.total_results, by_id(page.resources.into_iter().take(PAGE_SIZE))))
    }

    /// Every `T` of a collection of `total` but the first page, by id: its pages fetched
    /// [`PREFETCH_PAGES_AT_ONCE`] at a time. A page the server shortens leaves a gap,
    /// which the reads fill one by one (the snapshot only ever says "found"). A page
    /// holding more than asked for is cut to the page size, so what is kept is bounded by
    /// the page count (itself bounded by the prefetcher's `max_objects`), whatever the
    /// server sends.
    async fn list_in_parallel<T: ScimObject>(&self, total: usize) -> Result<Vec<(String, T)>, ApiError> {
        use futures_util::stream::{StreamExt, TryStreamExt};
        let starts: Vec<usize> = (1..total.div_ceil(PAGE_SIZE)).map(|p| 1 + p * PAGE_SIZE).collect();
        futures_util::stream::iter(starts)
            .map(|start| self.list_page::<T>(None, &[], start, PAGE_SIZE))
            .buffer_unordered(PREFETCH_PAGES_AT_ONCE)
            .try_fold(Vec::new(), |mut all, page| async move {
                all.extend(by_id(page.resources.into_iter().take(PAGE_SIZE)));
                Ok(all)
            })
            .await
    }

    /// Reads a group without its members (`excludedAttributes=members`; the members are
    /// read apart, in pages), coalescing concurrent reads into one filtered list like
    /// [`ScimClient::get_user_coalesced`], with the same fallback to a single GET.
    pub async fn get_group_coalesced(&self, id: &str) -> Result<Option<Group>, ApiError> {
        self.get_coalesced(&self.group_reads, id, &[("excludedAttributes", "members".to_string())]).await
    }

    /// Reads a group with its members, coalescing concurrent reads into one filtered list
    /// like [`ScimClient::get_group_coalesced`]. A batch whose answer the server refuses
    /// (OCI IAM refuses a search answer with more than 10,000 members in all) falls back
    /// to single GETs, as any failed batch does.
    pub async fn get_group_with_members_coalesced(&self, id: &str) -> Result<Option<Group>, ApiError> {
        self.get_coalesced(&self.group_member_reads, id, &[]).await
    }

    /// A read of the `T` `id` through `reads`: batched into filtered lists, a single GET
    /// (with the same `extra` parameters) when the batch does not find it.
    async fn get_coalesced<T: ScimObject>(
        &self,
        reads: &Coalescer<String, T>,
        id: &str,
        extra: &[(&str, String)],
    ) -> Result<Option<T>, ApiError> {
        // OCI ocids address resources too, but an `id` filter does not match them.
        if id.is_empty() || id.starts_with("ocid1.") {
            return self.get(id, extra).await;
        }
        reads.read(id.to_string(), |ids| self.by_id(ids, extra), || self.get(id, extra)).await
    }

    /// How group reads have been batched so far.
    pub fn group_read_stats(&self) -> CoalesceStats {
        self.group_reads.stats()
    }

    /// The objects among `ids` that a filtered list returns, a page of ids per request. A
    /// failed page is logged and left out: its objects are read one by one.
    async fn by_id<T: ScimObject>(&self, ids: Vec<String>, extra: &[(&str, String)]) -> Result<HashMap<String, T>, ApiError> {
        let mut found: HashMap<String, T> = HashMap::new();
        for chunk in ids.chunks(PAGE_SIZE) {
            if chunk.len() == 1 {
                continue; // alone anyway: a plain GET is as cheap
            }
            let filter = chunk.iter().map(|i| format!("id eq {}", quote(i))).collect::<Vec<_>>().join(" or ");
            match self.list_page::<T>(Some(&filter), extra, 1, chunk.len()).await {
                Ok(page) => {
                    for r in page.resources {
                        if let Some(i) = r.id() {
                            found.insert(i.to_string(), r);
                        }
                    }
                }
                Err(e) if ids.len() <= PAGE_SIZE => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, collection = T::COLLECTION, "a page of coalesced reads failed; reading those one by one")
                }
            }
        }
        Ok(found)
    }

    /// The id of the first `T` whose natural key ([`ScimObject::KEY`]) is `value` (e.g.
    /// to name the object a 409 collided with); None also when the lookup fails.
    pub async fn find_id<T: ScimObject>(&self, value: &str) -> Option<String> {
        self.lookup_id::<T>(value).await.ok().flatten()
    }

    /// [`ScimClient::find_id`] that tells a failed lookup from a miss.
    async fn lookup_id<T: ScimObject>(&self, value: &str) -> Result<Option<String>, ApiError> {
        let filter = format!("{} eq {}", T::KEY, quote(value));
        let page = self.list_page::<T>(Some(&filter), &[("attributes", "id".to_string())], 1, 1).await?;
        Ok(page.resources.first().and_then(|r| r.id()).map(str::to_string))
    }

    /// Sets a user's password (`PUT /UserPasswordChanger/{id}`; the docs say GET, the
    /// example and SCIM use PUT).
    pub async fn set_password(&self, user_id: &str, password: &str) -> Result<(), ApiError> {
        let body = json!({"password": password, "schemas": [PASSWORD_CHANGER]});
        self.call(Method::PUT, &format!("/UserPasswordChanger/{}", path_segment(user_id)), &[], Some(&body)).await.map(drop)
    }

    /// Sends a BulkRequest; returns each operation's outcome, in order.
    pub async fn bulk(&self, operations: Vec<BulkOperation>) -> Result<Vec<BulkOutcome>, ApiError> {
        // The operations' paths are resolved by the server: refuse `.` / `..` ids there too.
        if let Some(op) = operations.iter().find(|op| has_dot_segment(&op.path)) {
            return Err(ApiError::NotSent {
                vendor: VENDOR,
                reason: format!(
                    "Bulk operation on {}: an id in the path is \".\" or \"..\", which would address another resource",
                    op.path
                ),
            });
        }
        // A Bulk request of PATCH, PUT and DELETE operations only is as repeatable as they
        // are (see [`ScimClient::patch`]); one with a POST is not.
        let repeat = operations.iter().all(|op| ["PATCH", "PUT", "DELETE"].iter().any(|x| op.method.eq_ignore_ascii_case(x)));
        for op in &operations {
            if let Some(group) = op.path.strip_prefix(Group::COLLECTION).and_then(|p| p.strip_prefix('/')) {
                self.forget_members(group);
            }
        }
        let body = json!({"schemas": [BULK_REQUEST], "Operations": operations});
        let url = self.url("/Bulk");
        let reply = self.call_url(&url, Method::POST, &[], Some(&body), repeat.then_some(Repeat::Safe), None).await?;
        let r: BulkResponse = self.json(&reply)?;
        Ok(r.operations)
    }
}

/// A created object whose `id` can address it in a URL: not empty, not `.` or `..`, no
/// `/` (a server answering otherwise would point later requests at another object).
fn checked_id<T: ScimObject>(created: T) -> Result<T, ApiError> {
    match created.id() {
        Some(id) if is_addressable_id(id) => Ok(created),
        other => Err(ApiError::Decode {
            vendor: VENDOR,
            reason: format!(
                "the server created the resource but answered the id {}, which cannot address it in a URL; nothing was \
                 recorded in the Terraform state",
                other.map_or("(none)".to_string(), |i| format!("{i:?}"))
            ),
        }),
    }
}

/// Whether an existing resource is what a create `body` asked for (so that it can be
/// adopted after a lost answer): every string the body sets at the top level and in
/// `name` (except secrets) has the same value on the server (`userName` compared without
/// case, as SCIM does), and so does `externalId` when set. Members and multi-valued
/// attributes are not compared (servers normalise them).
pub fn matches_request(found: &Value, body: &Value) -> bool {
    let Some(want) = body.as_object() else { return false };
    let same = |k: &str, w: &str, have: Option<&Value>| match have.and_then(Value::as_str) {
        Some(h) if k.eq_ignore_ascii_case("userName") => h.eq_ignore_ascii_case(w),
        Some(h) => h == w,
        None => false,
    };
    for (k, v) in want {
        if crate::http::scrub::is_secret_key(k) {
            continue;
        }
        match v {
            Value::String(w) if !same(k, w, found.get(k)) => return false,
            Value::String(_) => {}
            Value::Object(inner) if k == "name" => {
                for (ik, iv) in inner {
                    if let Some(w) = iv.as_str()
                        && !same(ik, w, found.get(k).and_then(|n| n.get(ik)))
                    {
                        return false;
                    }
                }
            }
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::extract::{Path, Query, State};
    use axum::http::StatusCode;
    use axum::routing::get;
    use axum::{Json, Router};

    use super::*;
    use crate::vendors::scim::model::{Email, Name, OracleGroup};

    #[derive(Default)]
    struct Fake {
        lists: AtomicUsize,
        gets: AtomicUsize,
        refuse_filters: bool,
    }

    const KNOWN: [&str; 10] = ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"];

    async fn list(State(f): State<Arc<Fake>>, Query(q): Query<HashMap<String, String>>) -> (StatusCode, Json<Value>) {
        f.lists.fetch_add(1, Ordering::SeqCst);
        if f.refuse_filters {
            return (StatusCode::BAD_REQUEST, Json(json!({"status": "400", "detail": "filter not supported"})));
        }
        let filter = q.get("filter").cloned().unwrap_or_default();
        let hits: Vec<Value> =
            KNOWN.iter().filter(|u| filter.contains(&format!("\"{u}\""))).map(|u| json!({"id": u, "userName": u})).collect();
        (StatusCode::OK, Json(json!({"totalResults": hits.len(), "Resources": hits})))
    }

    async fn one(State(f): State<Arc<Fake>>, Path(id): Path<String>) -> (StatusCode, Json<Value>) {
        f.gets.fetch_add(1, Ordering::SeqCst);
        if KNOWN.contains(&id.as_str()) {
            (StatusCode::OK, Json(json!({"id": id, "userName": id})))
        } else {
            (StatusCode::NOT_FOUND, Json(json!({"status": "404", "detail": "no such user"})))
        }
    }

    async fn serve(fake: Arc<Fake>) -> ScimClient {
        let spc = || async { Json(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]})) };
        let app = Router::new()
            .route("/Users", get(list))
            .route("/Users/{id}", get(one))
            .route("/ServiceProviderConfig", get(spc))
            .with_state(fake);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        ScimClient::new(
            &format!("http://{addr}"),
            ScimAuth::Static("t".into()),
            None,
            HttpSettings { max_retries: 0, ..Default::default() },
        )
        .expect("client")
    }

    async fn read_all(c: &ScimClient, ids: &[&str]) -> Vec<Option<User>> {
        futures_util::future::join_all(ids.iter().map(|i| c.get_user_coalesced(i))).await.into_iter().map(|r| r.expect("read")).collect()
    }

    #[tokio::test]
    async fn concurrent_reads_share_one_request_and_missing_users_are_gone() {
        let fake = Arc::new(Fake::default());
        let c = serve(fake.clone()).await;
        let mut ids: Vec<&str> = KNOWN[..9].to_vec();
        ids.push("deleted");
        let got = read_all(&c, &ids).await;
        assert_eq!(fake.lists.load(Ordering::SeqCst), 1, "one list request for ten reads");
        assert_eq!(fake.gets.load(Ordering::SeqCst), 1, "only the missing user is read alone (to confirm it is gone)");
        for (i, g) in got.iter().enumerate() {
            if ids[i] == "deleted" {
                assert!(g.is_none());
            } else {
                assert_eq!(g.as_ref().and_then(|u| u.id.as_deref()), Some(ids[i]));
            }
        }
    }

    #[test]
    fn error_bodies_are_read_whatever_the_type_of_status() {
        for body in [
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400", "scimType": "invalidValue", "detail": "bad"}),
            json!({"status": 400, "scimType": "invalidValue", "detail": "bad", "x": {}}),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error", "urn:example:error"], "status": null, "detail": "bad", "scimType": "invalidValue"}),
        ] {
            assert_eq!(scim_error_text(body.to_string().as_bytes()), Some(("bad".to_string(), Some("invalidValue".to_string()))), "{body}");
        }
    }

    #[test]
    fn versions_are_sent_as_entity_tags() {
        assert_eq!(entity_tag("W/\"3\""), "W/\"3\"");
        assert_eq!(entity_tag("\"3\""), "\"3\"");
        assert_eq!(entity_tag("7842e880cafc44d49f30cda44436cfc2"), "\"7842e880cafc44d49f30cda44436cfc2\"", "OCI IAM's bare version");
    }

    /// A user whose version is `W/"2"`: PATCH and DELETE answer 412 to any other
    /// `If-Match`, and record the `If-Match` they were sent.
    #[tokio::test]
    async fn patch_and_delete_send_the_version_as_if_match_and_a_412_is_told_apart() {
        use axum::http::HeaderMap;
        use axum::routing::patch;
        let seen: Arc<std::sync::Mutex<Vec<Option<String>>>> = Arc::default();
        let record = seen.clone();
        let check = move |headers: HeaderMap| {
            let record = record.clone();
            async move {
                let m = headers.get("if-match").and_then(|v| v.to_str().ok()).map(str::to_string);
                record.lock().unwrap().push(m.clone());
                match m.as_deref() {
                    Some("W/\"2\"") | None => (StatusCode::OK, Json(json!({"id": "u1", "userName": "u1", "meta": {"version": "W/\"3\""}}))),
                    Some(_) => (StatusCode::PRECONDITION_FAILED, Json(json!({"status": "412", "detail": "version mismatch"}))),
                }
            }
        };
        let app = Router::new().route("/Users/{id}", patch(check.clone()).delete(check));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let c = ScimClient::new(&format!("http://{addr}"), ScimAuth::Static("t".into()), None, HttpSettings::default()).expect("client");
        let ops = [PatchOperation::replace("displayName", "x")];

        let u = c.patch_if::<User>("u1", &ops, Some("W/\"2\"")).await.expect("current version").expect("the user");
        assert_eq!(u.version(), Some("W/\"3\""), "the answer's version is read");
        let e = c.patch_if::<User>("u1", &ops, Some("W/\"1\"")).await.expect_err("stale");
        assert_eq!(e.status(), Some(412));
        assert!(e.to_string().contains("version mismatch"), "{e}");
        assert!(c.patch::<User>("u1", &ops).await.is_ok(), "no version, no If-Match");
        assert_eq!(c.delete_if::<User>("u1", Some("7")).await.expect_err("stale").status(), Some(412));
        assert!(c.delete_if::<User>("u1", Some("W/\"2\"")).await.expect("deleted"));
        let sent = seen.lock().unwrap().clone();
        let expected: Vec<Option<String>> =
            vec![Some("W/\"2\"".into()), Some("W/\"1\"".into()), None, Some("\"7\"".into()), Some("W/\"2\"".into())];
        assert_eq!(sent, expected, "a 412 is not retried; a bare version is quoted");
    }

    #[tokio::test]
    async fn a_failed_batch_falls_back_to_single_reads() {
        let fake = Arc::new(Fake { refuse_filters: true, ..Default::default() });
        let c = serve(fake.clone()).await;
        let got = read_all(&c, &KNOWN).await;
        assert!(got.iter().all(Option::is_some));
        assert_eq!(fake.gets.load(Ordering::SeqCst), 10);
    }

    #[tokio::test]
    async fn waves_of_reads_against_the_sandbox_batch_up_and_a_deleted_user_is_gone() {
        let s = crate::sandbox::spawn(crate::sandbox::SandboxConfig::default()).await.expect("sandbox");
        let token = ScimAuth::Static(crate::sandbox::DEFAULT_SCIM_STATIC_TOKEN.into());
        let c = Arc::new(ScimClient::new(&s.scim_url(), token, None, HttpSettings::default()).expect("client"));
        let mut ids = Vec::new();
        for i in 0..40 {
            let u = c.create(&User { user_name: Some(format!("user{i}")), ..User::default() }).await.expect("create");
            ids.push(u.id.expect("id"));
        }
        let deleted = ids[7].clone();
        assert!(c.delete::<User>(&deleted).await.expect("delete"));
        let logged = s.state.requests().len();
        // Like Terraform: 10 workers; each reads its next user after a little work of its own.
        let got = refresh_like_terraform(&c, &ids).await;
        assert_eq!(got.len(), 40);
        for (id, u) in &got {
            if *id == deleted {
                assert!(u.is_none(), "the deleted user reads as gone");
            } else {
                assert_eq!(u.as_ref().and_then(|u| u.id.as_deref()), Some(id.as_str()));
            }
        }
        let requests = &s.state.requests()[logged..];
        let lists = requests.iter().filter(|r| r.method == "GET" && r.path.ends_with("/Users")).count();
        let gets: Vec<&str> =
            requests.iter().filter(|r| r.method == "GET" && r.path.contains("/Users/")).map(|r| r.path.as_str()).collect();
        assert!(gets.iter().any(|p| p.ends_with(&format!("/Users/{deleted}"))), "the missing user was confirmed by a GET: {gets:?}");
        assert!(lists + gets.len() <= 12, "40 reads took {lists} lists and {} GETs: {:?}", gets.len(), c.user_read_stats());
    }

    #[tokio::test]
    async fn a_listing_page_with_more_than_asked_for_is_cut_to_the_page_size() {
        // A hostile server: 1,000 users claimed, and every unfiltered page answers 5,000.
        let page = || async {
            let users: Vec<Value> = (0..5_000).map(|i| json!({"id": format!("x{i}"), "userName": format!("x{i}")})).collect();
            Json(json!({"totalResults": 1000, "itemsPerPage": 5000, "Resources": users}))
        };
        let app = Router::new().route("/Users", get(page));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let c = ScimClient::new(&format!("http://{addr}"), ScimAuth::Static("t".into()), None, HttpSettings::default()).expect("client");
        let (total, first) = c.first_page::<User>().await.expect("first page");
        assert_eq!((total, first.len()), (1000, PAGE_SIZE));
        let rest = c.list_in_parallel::<User>(total).await.expect("listing");
        assert_eq!(rest.len(), (total.div_ceil(PAGE_SIZE) - 1) * PAGE_SIZE, "19 more pages of at most {PAGE_SIZE}");
    }

    /// Reads every id with 10 workers, like Terraform's refresh; returns what each read found.
    async fn refresh_like_terraform(c: &Arc<ScimClient>, ids: &[String]) -> Vec<(String, Option<User>)> {
        let queue = Arc::new(std::sync::Mutex::new(ids.to_vec()));
        let workers = (0..10u64).map(|w| {
            let (c, queue) = (c.clone(), queue.clone());
            tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let Some(id) = queue.lock().expect("queue").pop() else { return got };
                    tokio::time::sleep(Duration::from_millis(w % 3)).await;
                    got.push((id.clone(), c.get_user_coalesced(&id).await.expect("read")));
                }
            })
        });
        futures_util::future::join_all(workers).await.into_iter().flat_map(|r| r.expect("worker")).collect()
    }

    #[tokio::test]
    async fn a_large_refresh_lists_every_user_once_and_what_the_listing_lacks_is_read_alone() {
        let s = crate::sandbox::spawn(crate::sandbox::SandboxConfig::default()).await.expect("sandbox");
        let token = || ScimAuth::Static(crate::sandbox::DEFAULT_SCIM_STATIC_TOKEN.into());
        let c = Arc::new(ScimClient::new(&s.scim_url(), token(), None, HttpSettings::default()).expect("client"));
        let mut ids = Vec::new();
        for i in 0..150 {
            let u = c.create(&User { user_name: Some(format!("user{i}")), ..User::default() }).await.expect("create");
            ids.push(u.id.expect("id"));
        }
        // Deleted behind the refresh's back, before it starts.
        let gone = ids[140].clone();
        assert!(c.delete::<User>(&gone).await.expect("delete"));
        let from = s.state.requests().len();
        let got = refresh_like_terraform(&c, &ids).await;
        assert_eq!(got.len(), 150);
        for (id, u) in &got {
            if *id == gone {
                assert!(u.is_none(), "the deleted user reads as gone");
            } else {
                assert_eq!(u.as_ref().and_then(|u| u.id.as_deref()), Some(id.as_str()));
            }
        }
        let stats = c.user_prefetch_stats();
        assert_eq!((stats.probes, stats.loads), (1, 1), "{stats:?}");
        assert!(stats.hits >= 100, "most reads came from the listing: {stats:?}");
        let requests = &s.state.requests()[from..];
        let pages = requests
            .iter()
            .filter(|r| r.method == "GET" && r.path.ends_with("/Users") && !r.query.as_deref().unwrap_or("").contains("filter"))
            .count();
        let gets: Vec<&str> = requests.iter().filter(|r| r.path.contains("/Users/")).map(|r| r.path.as_str()).collect();
        assert_eq!(pages, 3, "149 users (and the sandbox's own) in pages of 50, the first with the size: {requests:?}");
        assert_eq!(gets, [format!("/oci/admin/v1/Users/{gone}")], "only the user the listing lacked is read alone");
        assert!(requests.len() <= 12, "150 reads took {} requests: {requests:?}", requests.len());

        // A snapshot: the process does not see a deletion made after the listing ...
        let other = ScimClient::new(&s.scim_url(), token(), None, HttpSettings::default()).expect("client");
        assert!(other.delete::<User>(&ids[3]).await.expect("delete"));
        assert!(c.get_user_coalesced(&ids[3]).await.expect("read").is_some(), "read from the snapshot");
        // ... but its own writes it reads afresh.
        assert!(c.delete::<User>(&ids[5]).await.expect("delete"));
        assert!(c.get_user_coalesced(&ids[5]).await.expect("read").is_none(), "written by this client: asked again");
    }

    #[tokio::test]
    async fn with_batch_reads_off_every_read_is_one_get() {
        let s = crate::sandbox::spawn(crate::sandbox::SandboxConfig::default()).await.expect("sandbox");
        let token = ScimAuth::Static(crate::sandbox::DEFAULT_SCIM_STATIC_TOKEN.into());
        let c = Arc::new(
            ScimClient::new(&s.scim_url(), token, None, HttpSettings { batch_reads: false, ..Default::default() }).expect("client"),
        );
        let mut ids = Vec::new();
        for i in 0..60 {
            ids.push(c.create(&User { user_name: Some(format!("user{i}")), ..User::default() }).await.expect("create").id.expect("id"));
        }
        let from = s.state.requests().len();
        let got = refresh_like_terraform(&c, &ids).await;
        assert!(got.iter().all(|(id, u)| u.as_ref().and_then(|u| u.id.as_deref()) == Some(id.as_str())));
        let requests = &s.state.requests()[from..];
        assert_eq!(requests.len(), 60, "one request per read: {requests:?}");
        assert!(requests.iter().all(|r| r.method == "GET" && r.path.contains("/Users/")), "{requests:?}");
        assert_eq!(c.user_prefetch_stats().probes, 0);
    }

    #[tokio::test]
    async fn group_reads_share_one_list_without_members_and_a_deleted_group_is_gone() {
        let s = crate::sandbox::spawn(crate::sandbox::SandboxConfig::default()).await.expect("sandbox");
        let token = ScimAuth::Static(crate::sandbox::DEFAULT_SCIM_STATIC_TOKEN.into());
        let c = ScimClient::new(&s.scim_url(), token, None, HttpSettings { max_retries: 0, ..Default::default() }).expect("client");
        let user = c.create(&User { user_name: Some("member".into()), ..User::default() }).await.expect("user");
        let mut ids = Vec::new();
        for i in 0..6 {
            let member = Member { value: user.id.clone(), kind: None };
            let group = Group { display_name: Some(format!("group{i}")), members: Some(vec![member]), ..Group::default() };
            ids.push(c.create(&group).await.expect("group").id.expect("id"));
        }
        assert!(c.delete::<Group>(&ids[3]).await.expect("delete"));
        let from = s.state.requests().len();
        let got = futures_util::future::join_all(ids.iter().map(|i| c.get_group_coalesced(i))).await;
        for (i, (id, g)) in ids.iter().zip(got).enumerate() {
            let g = g.expect("read");
            if i == 3 {
                assert!(g.is_none(), "the deleted group reads as gone");
            } else {
                let g = g.expect("found");
                assert_eq!((g.id.as_deref(), g.display_name.as_deref()), (Some(id.as_str()), Some(format!("group{i}").as_str())));
                assert!(g.members.is_none(), "members are read apart: {g:?}");
            }
        }
        let requests = &s.state.requests()[from..];
        let lists: Vec<_> = requests.iter().filter(|r| r.method == "GET" && r.path.ends_with("/Groups")).collect();
        let gets: Vec<_> = requests.iter().filter(|r| r.method == "GET" && r.path.contains("/Groups/")).collect();
        assert_eq!((lists.len(), gets.len()), (1, 1), "one list, one GET to confirm the deleted group is gone: {requests:?}");
        assert!(gets[0].path.ends_with(&ids[3]));
        assert_eq!(c.group_read_stats().batches, 1);
    }

    #[test]
    fn patch_operations_replace_what_changed_and_remove_what_was_dropped() {
        let ops = |list: Vec<PatchOperation>| serde_json::to_value(list).expect("json");
        let user = |given: Option<&str>, external: Option<&str>, emails: Option<usize>| User {
            user_name: Some("ann".into()),
            name: given.map(|g| Name { given_name: Some(g.into()), family_name: Some("Lee".into()) }),
            display_name: Some("Ann Lee".into()),
            external_id: external.map(str::to_string),
            emails: emails.map(|n| vec![Email { value: Some("a@example.com".into()), ..Email::default() }; n]),
            ..User::default()
        };
        let was = user(Some("Ann"), Some("hr-1"), Some(1));
        let now = User { display_name: None, ..user(None, None, None) };
        assert_eq!(
            ops(PatchOperation::removals(&was, &now, &["displayName"])),
            json!([
                {"op": "remove", "path": "emails"},
                {"op": "remove", "path": "externalId"},
                {"op": "remove", "path": "name.familyName"},
                {"op": "remove", "path": "name.givenName"}
            ])
        );
        // An empty list sets nothing; a list configured empty is not dropped.
        assert!(PatchOperation::removals(&user(None, None, Some(0)), &user(None, None, None), &[]).is_empty());
        assert!(PatchOperation::removals(&was, &user(Some("Ann"), Some("hr-1"), Some(0)), &[]).is_empty());

        let group = |name: &str, external: Option<&str>, description: Option<&str>| Group {
            display_name: Some(name.into()),
            external_id: external.map(str::to_string),
            oracle: description.map(|d| OracleGroup { description: Some(d.into()) }),
            ..Group::default()
        };
        let was = group("eng", Some("x"), None);
        assert!(PatchOperation::changes(&was, &was).is_empty());
        assert_eq!(
            ops(PatchOperation::changes(&was, &group("dev", None, Some("Ships code")))),
            json!([
                {"op": "replace", "path": "displayName", "value": "dev"},
                {"op": "remove", "path": "externalId"},
                {"op": "replace", "path": format!("{GROUP_EXTENSION}:description"), "value": "Ships code"}
            ])
        );
        assert_eq!(
            ops(PatchOperation::changes(&group("eng", None, Some("old")), &group("eng", Some("y"), None))),
            json!([
                {"op": "replace", "path": "externalId", "value": "y"},
                {"op": "remove", "path": format!("{GROUP_EXTENSION}:description")}
            ])
        );
    }

    #[test]
    fn an_object_is_adopted_only_when_it_is_what_was_asked_for() {
        let asked = json!({"userName": "Ada", "name": {"givenName": "Ada"}, "password": "not compared", "active": true});
        assert!(matches_request(&json!({"id": "u1", "userName": "ada", "name": {"givenName": "Ada", "formatted": "Ada"}}), &asked));
        assert!(!matches_request(&json!({"id": "u1", "userName": "ada", "name": {"givenName": "Eve"}}), &asked));
        assert!(!matches_request(&json!({"id": "u1", "userName": "ada"}), &json!({"userName": "ada", "externalId": "hr-1"})));
    }

    /// A server that always claims more results: `mode` "same" repeats one page, "fresh"
    /// sends new ids forever, "idless" sends resources without ids.
    async fn endless(mode: &'static str) -> (ScimClient, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = calls.clone();
        let app = Router::new().route(
            "/Users",
            get(move |Query(q): Query<HashMap<String, String>>| {
                let calls = c2.clone();
                async move {
                    let n = calls.fetch_add(1, Ordering::SeqCst);
                    let start: usize = q.get("startIndex").and_then(|s| s.parse().ok()).unwrap_or(1);
                    let resources: Vec<Value> = (0..2)
                        .map(|i| match mode {
                            "same" => json!({"id": format!("u{i}")}),
                            "fresh" => json!({"id": format!("u{start}-{n}-{i}")}),
                            _ => json!({"userName": "no id"}),
                        })
                        .collect();
                    Json(json!({"totalResults": 1_000_000_000u64, "Resources": resources}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let c = ScimClient::new(
            &format!("http://{addr}"),
            ScimAuth::Static("t".into()),
            None,
            HttpSettings { max_retries: 0, ..Default::default() },
        )
        .expect("client");
        (c, calls)
    }

    #[tokio::test]
    async fn endless_paging_is_cut_off() {
        for mode in ["same", "idless"] {
            let (c, calls) = endless(mode).await;
            let e = c.list_all::<User>(None, &[]).await.expect_err("no progress");
            assert!(e.to_string().contains("made no progress"), "{mode}: {e}");
            assert!(calls.load(Ordering::SeqCst) <= 2, "{mode}: stopped at the first page without a new id");
        }
        let (c, calls) = endless("fresh").await;
        let e = c.list_all::<User>(None, &[]).await.expect_err("too many pages");
        assert!(e.to_string().contains(&format!("stopped after {MAX_LIST_PAGES} pages")), "{e}");
        assert_eq!(calls.load(Ordering::SeqCst), MAX_LIST_PAGES);
    }

    // ----- workload identity: RFC 7523 assertions -----

    use crate::sandbox::scim::jwt_testing::{AUDIENCE, ISSUER, TestIssuer};
    use crate::sandbox::{RunningSandbox, SandboxConfig};

    const TOKEN_ROUTE: &str = "POST /oci/oauth2/v1/token";

    /// A sandbox that trusts `issuer`'s key (`single_use`: each assertion accepted once).
    async fn trusting(issuer: &TestIssuer, single_use: bool, ttl_secs: u64) -> RunningSandbox {
        crate::sandbox::spawn(SandboxConfig {
            scim_jwks: Some(issuer.jwks()),
            scim_jwt_issuer: Some(ISSUER.into()),
            scim_jwt_audience: Some(AUDIENCE.into()),
            scim_jwt_single_use: single_use,
            scim_token_ttl_secs: ttl_secs,
            ..SandboxConfig::default()
        })
        .await
        .expect("sandbox")
    }

    fn assertion_auth(token_url: &str, jwt: &str, grant: AssertionGrant, client_id: Option<&str>) -> ScimAuth {
        ScimAuth::Assertion {
            token_url: token_url.to_string(),
            client_id: client_id.map(str::to_string),
            assertion: jwt.to_string(),
            source: "the environment variable TFC_WORKLOAD_IDENTITY_TOKEN".into(),
            grant,
            scope: "urn:opc:idm:__myscopes__".into(),
        }
    }

    fn assertion_client(s: &RunningSandbox, jwt: &str, grant: AssertionGrant) -> ScimClient {
        let auth = assertion_auth(&s.scim_token_url(), jwt, grant, Some(crate::sandbox::DEFAULT_SCIM_CLIENT_ID));
        ScimClient::new(&s.scim_url(), auth, None, HttpSettings { max_retries: 0, ..Default::default() }).expect("client")
    }

    fn token_requests(s: &RunningSandbox) -> u64 {
        s.state.stats().by_route.get(TOKEN_ROUTE).copied().unwrap_or(0)
    }

    #[tokio::test]
    async fn an_assertion_is_exchanged_once_for_all_the_requests_of_a_process() {
        let issuer = TestIssuer::new("hcp");
        for grant in [AssertionGrant::ClientAssertion, AssertionGrant::JwtBearer] {
            // An issuer that accepts each assertion once: a second exchange would fail.
            let s = trusting(&issuer, true, 3600).await;
            let c = assertion_client(&s, &issuer.assertion(json!({})), grant);
            let users: Vec<User> = (0..10).map(|i| User { user_name: Some(format!("wi-{i}")), ..User::default() }).collect();
            for r in futures_util::future::join_all(users.iter().map(|u| c.create(u))).await {
                r.expect("created with the exchanged token");
            }
            let listed = c.list_all::<User>(None, &[]).await.expect("list");
            assert_eq!(listed.len(), 10, "{grant:?}");
            assert_eq!(token_requests(&s), 1, "{grant:?}: one exchange serves every request");
        }
    }

    #[tokio::test]
    async fn a_401_does_not_exchange_the_assertion_again() {
        let issuer = TestIssuer::new("hcp");
        let s = trusting(&issuer, false, 3600).await;
        let jwt = issuer.assertion(json!({}));
        let c = assertion_client(&s, &jwt, AssertionGrant::ClientAssertion);
        c.create(&User { user_name: Some("before".into()), ..User::default() }).await.expect("create");
        let one_401 = crate::sandbox::faults::FaultSettings::parse(br#"{"rate": 1, "statuses": [401], "count": 1}"#).expect("faults");
        s.state.faults().set(one_401.clone());
        let e = c.get::<User>("whoever", &[]).await.expect_err("the 401 is the error");
        assert_eq!(e.status(), Some(401), "{e}");
        let detail = e.detail();
        assert!(detail.contains("not again after a 401") && detail.contains("TFC_WORKLOAD_IDENTITY_TOKEN"), "{detail}");
        assert!(!detail.contains(&jwt), "{detail}");
        assert_eq!(token_requests(&s), 1, "no second exchange after the 401");
        // The token still serves the next request.
        assert!(c.find_id::<User>("before").await.is_some());
        assert_eq!(token_requests(&s), 1);

        // With a client secret, a 401 is answered with a new token and the request sent again.
        let secret = ScimAuth::OAuth2 {
            token_url: s.scim_token_url(),
            client_id: crate::sandbox::DEFAULT_SCIM_CLIENT_ID.into(),
            client_secret: crate::sandbox::DEFAULT_SCIM_CLIENT_SECRET.into(),
            grant: Grant::ClientCredentials,
            scope: "urn:opc:idm:__myscopes__".into(),
        };
        let c = ScimClient::new(&s.scim_url(), secret, None, HttpSettings { max_retries: 0, ..Default::default() }).expect("client");
        assert!(c.find_id::<User>("before").await.is_some());
        s.state.faults().set(one_401);
        assert!(c.find_id::<User>("before").await.is_some(), "renewed after the 401");
        assert_eq!(token_requests(&s), 3, "one more exchange for the secret's client, and one after its 401");
    }

    #[tokio::test]
    async fn a_second_exchange_when_the_access_token_runs_out_is_explained() {
        let issuer = TestIssuer::new("hcp");
        // Access tokens live 1 s (renewed after half of that); the issuer accepts an assertion once.
        let s = trusting(&issuer, true, 1).await;
        let c = assertion_client(&s, &issuer.assertion(json!({"jti": "plan-1"})), AssertionGrant::JwtBearer);
        c.create(&User { user_name: Some("first".into()), ..User::default() }).await.expect("create");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let e = c.get::<User>("whoever", &[]).await.expect_err("the replay is refused");
        assert_eq!(e.status(), Some(400), "{e}");
        let (text, detail) = (e.to_string(), e.detail());
        assert!(text.contains("invalid_grant") && text.contains("already been used (jti \"plan-1\")"), "{text}");
        assert!(detail.contains("second exchange") && detail.contains("lifetime longer than a run"), "{detail}");
        assert_eq!(token_requests(&s), 2);
        // Final: the refused assertion is not sent again within the process.
        assert!(c.get::<User>("whoever", &[]).await.is_err());
        assert_eq!(token_requests(&s), 2);
    }

    /// A token endpoint that records each request (headers and form) and answers `status`
    /// with an OAuth2 error that echoes the whole form back.
    async fn echoing_token_endpoint(status: StatusCode) -> (String, Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>) {
        use axum::routing::post;
        let seen: Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::default();
        let record = seen.clone();
        let app = Router::new().route(
            "/oauth2/v1/token",
            post(move |headers: axum::http::HeaderMap, body: String| {
                let record = record.clone();
                async move {
                    record.lock().unwrap().push((headers, body.clone()));
                    (status, Json(json!({"error": "invalid_grant", "error_description": format!("cannot use {body}")})))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), seen)
    }

    #[tokio::test]
    async fn the_assertion_is_sent_as_rfc_7523_says_and_never_shown() {
        let issuer = TestIssuer::new("hcp");
        let jwt = issuer.assertion(json!({}));
        let (base, seen) = echoing_token_endpoint(StatusCode::BAD_REQUEST).await;
        let token_url = format!("{base}/oauth2/v1/token");
        let cases = [
            (AssertionGrant::ClientAssertion, Some("app-id")),
            (AssertionGrant::JwtBearer, None),
            (AssertionGrant::JwtBearer, Some("app-id")),
        ];
        for (grant, client_id) in cases {
            let auth = assertion_auth(&token_url, &jwt, grant, client_id);
            assert!(!format!("{auth:?}").contains(&jwt), "Debug shows no token: {auth:?}");
            let c = ScimClient::new(&format!("{base}/admin/v1"), auth, None, HttpSettings { max_retries: 2, ..Default::default() })
                .expect("client");
            let e = c.get::<User>("u1", &[]).await.expect_err("refused");
            for text in [e.to_string(), e.detail(), format!("{e:?}")] {
                assert!(!text.contains(&jwt), "the assertion is scrubbed: {text}");
                assert!(!text.contains(jwt.split('.').nth(1).unwrap_or("-")), "no part of it either: {text}");
            }
            assert!(e.detail().contains("TFC_WORKLOAD_IDENTITY_TOKEN"), "{}", e.detail());
            let (headers, body) = seen.lock().unwrap().pop().expect("one request");
            assert!(headers.get("authorization").is_none(), "no client secret, no Basic header: {headers:?}");
            let form: HashMap<String, String> = crate::sandbox::scim::parse_urlencoded(&body).into_iter().collect();
            let get = |k: &str| form.get(k).map(String::as_str);
            match grant {
                AssertionGrant::ClientAssertion => {
                    assert_eq!(get("grant_type"), Some("client_credentials"));
                    assert_eq!(get("client_assertion_type"), Some(CLIENT_ASSERTION_TYPE));
                    assert_eq!(get("client_assertion"), Some(jwt.as_str()));
                    assert_eq!(get("assertion"), None);
                }
                AssertionGrant::JwtBearer => {
                    assert_eq!(get("grant_type"), Some(JWT_BEARER_GRANT));
                    assert_eq!(get("assertion"), Some(jwt.as_str()));
                    assert_eq!(get("client_assertion"), None);
                }
            }
            assert_eq!(get("client_id"), client_id);
            assert_eq!(get("scope"), Some("urn:opc:idm:__myscopes__"));
            // Refused for good: not sent again within the process.
            assert!(c.get::<User>("u1", &[]).await.is_err());
            assert!(seen.lock().unwrap().is_empty(), "a refused assertion is not sent again");
        }

        // A 503 is not repeated at once (the issuer may have used the assertion).
        let (base, seen) = echoing_token_endpoint(StatusCode::SERVICE_UNAVAILABLE).await;
        let auth = assertion_auth(&format!("{base}/oauth2/v1/token"), &jwt, AssertionGrant::ClientAssertion, None);
        let c = ScimClient::new(&format!("{base}/admin/v1"), auth, None, HttpSettings { max_retries: 3, ..Default::default() })
            .expect("client");
        assert!(c.get::<User>("u1", &[]).await.is_err());
        assert_eq!(seen.lock().unwrap().len(), 1, "sent once");
    }
}
