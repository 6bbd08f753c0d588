//! Run:ai external identity providers, `/runai/api/v1/idps` (OpenAPI 3.0.3, v2.22, as
//! Run:ai's API documentation describes it, quirks included).
//!
//! Emulated behaviour, in short:
//! - Bearer auth with the configured token; 401 `{"code":401,"message":...}` otherwise.
//!   The read-only token (`--runai-readonly-token`) may GET; any write with it answers
//!   403 `{"code":403,"message":"Forbidden","details":...}`.
//! - Every error is `{"code": <status>, "message": ..., "details"?: ...}`; bodies are
//!   validated by hand so that malformed JSON and wrong field types answer 400 in that shape
//!   (never axum's plain-text rejections), with `details` naming the offending field.
//! - Reads mask `clientSecret` as `"********"` (oidc and openshift-v4); a PUT that sends the
//!   mask back stores it literally (the trap a careless client falls into).
//! - SAML: the metadata document comes inline (`samlData.metadataXmlFile`, raw XML or
//!   base64, with `fileName`, `metadataXmlType: "file"`) or by URL (`metadataXmlUrl`,
//!   `metadataXmlType: "url"`, fetched by the server, confined by [`super::saml_fetch`]:
//!   only from the sandbox itself and `--saml-metadata-allow` hosts, no redirects, at most
//!   [`MAX_METADATA_BYTES`], a 5 s timeout, certificates always checked). It is parsed with
//!   a real XML parser; `entityId`, `singleSignOnServiceUrl` and `signingCertificate` come
//!   from it (a non-empty `entityId` in the request wins). A malformed or unusable document
//!   answers 400 with `details` naming the input field. Reads return only the `SamlData`
//!   read model, never the creation fields.
//! - `PUT .../mappers` answers 202 and the change becomes visible after
//!   `--mapper-delay-ms` (stored as a pending change with a due time, applied lazily under
//!   the data lock before every read or write, so it also survives a restart with `--data`).
//!   A full `PUT` of the idp that carries `mappers` supersedes pending mapper changes.
//! - `GET /_sandbox/samples/saml-metadata.xml[?entity_id=..&sso_url=..]` (no auth, not
//!   counted) serves a valid IdP metadata document for tests and the quickstart.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::base_url;
use super::store::{AppState, SharedState};
use crate::vendors::runai::alias::{ALIAS_PATTERN, derive_alias};
use crate::vendors::runai::url_rule;

/// URL prefix of the Run:ai emulation; the client's `url` is `<sandbox>/runai`.
pub const PREFIX: &str = "/runai";
/// What reads return instead of a stored client secret.
pub const SECRET_MASK: &str = "********";

// ---------------------------------------------------------------------------------------
// Stored model (what `GET /_sandbox/state` shows under "runai" and `--data` persists)
// ---------------------------------------------------------------------------------------

/// All Run:ai objects, kept sorted by alias.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunaiData {
    #[serde(default)]
    pub idps: Vec<StoredIdp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdpType {
    #[serde(rename = "saml")]
    Saml,
    #[serde(rename = "oidc")]
    Oidc,
    #[serde(rename = "openshift-v4")]
    Ocp,
}

impl IdpType {
    pub fn as_str(self) -> &'static str {
        match self {
            IdpType::Saml => "saml",
            IdpType::Oidc => "oidc",
            IdpType::Ocp => "openshift-v4",
        }
    }

    fn parse(s: &str) -> Option<IdpType> {
        match s {
            "saml" => Some(IdpType::Saml),
            "oidc" => Some(IdpType::Oidc),
            "openshift-v4" => Some(IdpType::Ocp),
            _ => None,
        }
    }

    /// The request/response key holding this type's data.
    fn data_key(self) -> &'static str {
        match self {
            IdpType::Saml => "samlData",
            IdpType::Oidc => "oidcData",
            IdpType::Ocp => "ocpData",
        }
    }
}

/// One identity provider as the server holds it (secrets in clear).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredIdp {
    pub alias: String,
    #[serde(rename = "type")]
    pub kind: IdpType,
    pub redirect_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml_data: Option<StoredSaml>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_data: Option<StoredOidc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocp_data: Option<StoredOcp>,
    pub mappers: Mappers,
    /// Accepted `PUT .../mappers` changes that are not visible yet, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_mappers: Vec<PendingMappers>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredOidc {
    pub client_id: String,
    pub client_secret: String,
    pub discover_document_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandatory_claim: Option<MandatoryClaim>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MandatoryClaim {
    pub claim: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredOcp {
    pub idp_base_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub client_secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

/// SAML data: the creation fields as sent (shown by `GET /_sandbox/state`, never by the
/// API) plus the read-model fields. `entity_id` is the effective one: the request's when
/// it was given and non-empty, else the metadata's `entityID`; `signing_certificate` and
/// `single_sign_on_service_url` come from the metadata document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSaml {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_xml_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_xml_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_xml_type: Option<String>,
    #[serde(default)]
    pub entity_id: String,
    #[serde(default)]
    pub signing_certificate: String,
    #[serde(default)]
    pub single_sign_on_service_url: String,
    #[serde(default)]
    pub service_provider_metadata_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mappers {
    pub gid: String,
    pub uid: String,
    pub groups: String,
    pub supplementary_groups: String,
    pub email: String,
}

impl Default for Mappers {
    /// What the server stores when a create request carries no mappers.
    fn default() -> Self {
        Mappers {
            gid: "GID".to_string(),
            uid: "UID".to_string(),
            groups: "GROUPS".to_string(),
            supplementary_groups: "SUPPLEMENTARY_GROUPS".to_string(),
            email: "email".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingMappers {
    pub due_at: DateTime<Utc>,
    pub mappers: Mappers,
}

impl RunaiData {
    /// Run:ai has no seeds: every idp is created by the provider.
    pub fn seeded() -> Self {
        RunaiData::default()
    }

    /// Keeps the idps sorted by alias (the list order).
    pub fn normalize(&mut self) {
        self.idps.sort_by(|a, b| a.alias.cmp(&b.alias));
    }

    /// Makes pending mapper changes that are due at `now` visible.
    pub fn settle(&mut self, now: DateTime<Utc>) {
        for idp in &mut self.idps {
            if idp.pending_mappers.is_empty() {
                continue;
            }
            idp.pending_mappers.sort_by_key(|p| p.due_at);
            while idp.pending_mappers.first().is_some_and(|p| p.due_at <= now) {
                let p = idp.pending_mappers.remove(0);
                idp.mappers = p.mappers;
            }
        }
    }

    pub fn find(&self, alias: &str) -> Option<&StoredIdp> {
        self.idps.iter().find(|i| i.alias == alias)
    }

    fn find_mut(&mut self, alias: &str) -> Option<&mut StoredIdp> {
        self.idps.iter_mut().find(|i| i.alias == alias)
    }

    fn insert(&mut self, idp: StoredIdp) {
        let at = self.idps.partition_point(|i| i.alias.as_str() < idp.alias.as_str());
        self.idps.insert(at, idp);
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// A Run:ai error answer: `{"code": <status>, "message": ..., "details"?: ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub details: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>, details: Option<String>) -> Self {
        ApiError { status, message: message.into(), details }
    }

    fn bad_request(message: impl Into<String>, field: &str) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message, Some(field.to_string()))
    }

    /// The wording of the spec's sample, with the field path in `details`.
    fn missing(field: &str) -> Self {
        ApiError::bad_request("Required parameter is missing", field)
    }

    fn wrong_type(field: &str, expected: &str) -> Self {
        ApiError::bad_request(format!("Invalid type for parameter \"{field}\": expected {expected}"), field)
    }

    fn invalid(field: &str, why: &str) -> Self {
        ApiError::bad_request(format!("Invalid value for parameter \"{field}\": {why}"), field)
    }

    fn conflict(alias: &str) -> Self {
        ApiError::new(StatusCode::CONFLICT, format!("idp with alias \"{alias}\" already exists"), None)
    }

    fn not_found(alias: &str) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, format!("idp \"{alias}\" not found"), None)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.status.as_u16(), "message": self.message });
        if let (Some(details), Some(obj)) = (self.details, body.as_object_mut()) {
            obj.insert("details".to_string(), Value::String(details));
        }
        (self.status, axum::Json(body)).into_response()
    }
}

// ---------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------

/// The Run:ai routes (full paths under [`PREFIX`]), guarded by the bearer token.
pub fn routes(state: SharedState) -> Router<SharedState> {
    Router::new()
        .route("/runai/api/v1/idps", get(list_idps).post(create_idp))
        .route("/runai/api/v1/idps/{idp}", get(get_idp).put(update_idp).delete(delete_idp))
        .route("/runai/api/v1/idps/{idp}/mappers", get(get_mappers).put(update_mappers))
        .route_layer(middleware::from_fn_with_state(state, auth))
        // Added after the auth layer: public, and outside the vendor prefix (not counted).
        .route(SAMPLE_METADATA_PATH, get(sample_metadata))
}

async fn auth(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let token = header.and_then(|h| {
        let (scheme, token) = h.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
    });
    match token {
        None => {
            ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", Some("an Authorization: Bearer <token> header is required".to_string()))
                .into_response()
        }
        Some(t) if t == state.config().runai_token => next.run(req).await,
        Some(t) if t == state.config().runai_readonly_token => {
            if matches!(*req.method(), Method::GET | Method::HEAD) {
                next.run(req).await
            } else {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    Some(format!("the token is read-only: {} is not permitted", req.method())),
                )
                .into_response()
            }
        }
        Some(_) => ApiError::new(StatusCode::UNAUTHORIZED, "Issuer is not familiar.", None).into_response(),
    }
}

async fn list_idps(State(state): State<SharedState>) -> Response {
    let idps: Vec<Value> = state.read(|d| d.runai.idps.iter().map(read_model).collect()).await;
    axum::Json(idps).into_response()
}

async fn create_idp(
    State(state): State<SharedState>,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = parse_object(body)?;
    let mut req = IdpRequest::parse(&body)?;
    let alias = derive_alias(req.name.as_deref(), req.kind.as_str())
        .map_err(|_| ApiError::invalid("name", &format!("must match {ALIAS_PATTERN}")))?;
    let base = base_url(&headers, &uri);
    // A conflict is reported before any metadata fetch; the write below checks again.
    if state.read(|d| d.runai.find(&alias).is_some()).await {
        return Err(ApiError::conflict(&alias));
    }
    req.data.resolve(&state).await?;
    state
        .write(|d| {
            if d.runai.find(&alias).is_some() {
                return Err(ApiError::conflict(&alias));
            }
            let redirect_uri = format!("{base}{PREFIX}/auth/realms/runai/broker/{alias}/endpoint");
            let mut idp = StoredIdp {
                alias: alias.clone(),
                kind: req.kind,
                redirect_uri,
                saml_data: None,
                oidc_data: None,
                ocp_data: None,
                mappers: req.mappers.as_ref().map(|m| m.over(&Mappers::default())).unwrap_or_default(),
                pending_mappers: Vec::new(),
            };
            idp.set_data(req.data, &base);
            d.runai.insert(idp);
            Ok(())
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "alias": alias }))).into_response())
}

async fn get_idp(State(state): State<SharedState>, alias: Result<Path<String>, PathRejection>) -> Result<Response, ApiError> {
    let alias = path_alias(alias)?;
    let found = state.read(|d| d.runai.find(&alias).map(read_model)).await.ok_or_else(|| ApiError::not_found(&alias))?;
    Ok(axum::Json(found).into_response())
}

async fn update_idp(
    State(state): State<SharedState>,
    headers: HeaderMap,
    uri: Uri,
    alias: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let alias = path_alias(alias)?;
    let body = parse_object(body)?;
    let mut req = IdpRequest::parse(&body)?;
    let base = base_url(&headers, &uri);
    // 404 and type/name mismatches are reported before any metadata fetch; the write
    // below checks again.
    state.read(|d| check_update(&d.runai, &alias, &req).map(|_| ())).await?;
    req.data.resolve(&state).await?;
    state
        .write(|d| {
            check_update(&d.runai, &alias, &req)?;
            let idp = d.runai.find_mut(&alias).ok_or_else(|| ApiError::not_found(&alias))?;
            if let Some(m) = &req.mappers {
                // The latest write wins over mapper changes accepted before it.
                idp.pending_mappers.clear();
                idp.mappers = m.over(&Mappers::default());
            }
            idp.set_data(req.data, &base);
            Ok(())
        })
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// What a PUT must satisfy against the stored idp: it exists, the type is unchanged, and a
/// `name`, when sent, is the alias.
fn check_update<'a>(runai: &'a RunaiData, alias: &str, req: &IdpRequest) -> Result<&'a StoredIdp, ApiError> {
    let idp = runai.find(alias).ok_or_else(|| ApiError::not_found(alias))?;
    if req.kind != idp.kind {
        return Err(ApiError::invalid("type", &format!("the type of idp \"{alias}\" is \"{}\" and cannot be changed", idp.kind.as_str())));
    }
    if req.name.as_ref().is_some_and(|name| name != alias) {
        return Err(ApiError::invalid("name", &format!("must equal the idp alias \"{alias}\"")));
    }
    Ok(idp)
}

async fn delete_idp(State(state): State<SharedState>, alias: Result<Path<String>, PathRejection>) -> Result<Response, ApiError> {
    let alias = path_alias(alias)?;
    state
        .write(|d| {
            let before = d.runai.idps.len();
            d.runai.idps.retain(|i| i.alias != alias);
            if d.runai.idps.len() == before { Err(ApiError::not_found(&alias)) } else { Ok(()) }
        })
        .await?;
    Ok(StatusCode::OK.into_response())
}

async fn get_mappers(State(state): State<SharedState>, alias: Result<Path<String>, PathRejection>) -> Result<Response, ApiError> {
    let alias = path_alias(alias)?;
    let mappers = state.read(|d| d.runai.find(&alias).map(|i| i.mappers.clone())).await.ok_or_else(|| ApiError::not_found(&alias))?;
    Ok(axum::Json(mappers).into_response())
}

async fn update_mappers(
    State(state): State<SharedState>,
    alias: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let alias = path_alias(alias)?;
    let body = parse_object(body)?;
    let input = MappersInput::parse(&body, "")?;
    let delay_ms = state.config().mapper_delay_ms;
    state
        .write(|d| {
            let idp = d.runai.find_mut(&alias).ok_or_else(|| ApiError::not_found(&alias))?;
            // Fields left out keep the latest accepted value (pending or visible).
            let latest = idp.pending_mappers.last().map(|p| &p.mappers).unwrap_or(&idp.mappers);
            let mappers = input.over(latest);
            if delay_ms == 0 {
                idp.pending_mappers.clear();
                idp.mappers = mappers;
            } else {
                let due_at = i64::try_from(delay_ms)
                    .ok()
                    .and_then(chrono::Duration::try_milliseconds)
                    .and_then(|delay| Utc::now().checked_add_signed(delay))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                idp.pending_mappers.push(PendingMappers { due_at, mappers });
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

// ---------------------------------------------------------------------------------------
// Read model
// ---------------------------------------------------------------------------------------

/// `Idp1`: `{alias, type, redirectUri, <one of samlData|oidcData|ocpData>, mappers}`;
/// no `name`; secrets masked; optional fields that were never set are omitted.
fn read_model(idp: &StoredIdp) -> Value {
    let mut m = Map::new();
    m.insert("alias".into(), json!(idp.alias));
    m.insert("type".into(), json!(idp.kind.as_str()));
    m.insert("redirectUri".into(), json!(idp.redirect_uri));
    if let Some(s) = &idp.saml_data {
        m.insert(
            "samlData".into(),
            json!({
                "signingCertificate": s.signing_certificate,
                "singleSignOnServiceUrl": s.single_sign_on_service_url,
                "entityId": s.entity_id,
                "serviceProviderMetadataUrl": s.service_provider_metadata_url,
            }),
        );
    }
    if let Some(o) = &idp.oidc_data {
        let mut d = Map::new();
        d.insert("clientId".into(), json!(o.client_id));
        d.insert("clientSecret".into(), json!(SECRET_MASK));
        d.insert("discoverDocumentUrl".into(), json!(o.discover_document_url));
        if let Some(scopes) = &o.scopes {
            d.insert("scopes".into(), json!(scopes));
        }
        if let Some(mc) = &o.mandatory_claim {
            d.insert("mandatoryClaim".into(), json!(mc));
        }
        m.insert("oidcData".into(), Value::Object(d));
    }
    if let Some(o) = &idp.ocp_data {
        let mut d = Map::new();
        d.insert("idpBaseUrl".into(), json!(o.idp_base_url));
        if let Some(id) = &o.client_id {
            d.insert("clientId".into(), json!(id));
        }
        d.insert("clientSecret".into(), json!(SECRET_MASK));
        if let Some(scopes) = &o.scopes {
            d.insert("scopes".into(), json!(scopes));
        }
        m.insert("ocpData".into(), Value::Object(d));
    }
    m.insert("mappers".into(), json!(idp.mappers));
    Value::Object(m)
}

impl StoredIdp {
    fn set_data(&mut self, data: IdpData, base: &str) {
        self.saml_data = None;
        self.oidc_data = None;
        self.ocp_data = None;
        match data {
            IdpData::Oidc(o) => self.oidc_data = Some(o),
            IdpData::Ocp(o) => self.ocp_data = Some(o),
            IdpData::Saml(mut s) => {
                // Keep the SP metadata URL stable across updates, like the redirect URI.
                s.service_provider_metadata_url = match &self.saml_data {
                    Some(old) if !old.service_provider_metadata_url.is_empty() => old.service_provider_metadata_url.clone(),
                    _ => format!("{base}{PREFIX}/auth/realms/runai/broker/{}/endpoint/descriptor", self.alias),
                };
                self.saml_data = Some(s);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Request parsing and validation
// ---------------------------------------------------------------------------------------

static SCOPE_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^([a-zA-Z0-9._:-]+)(\s[a-zA-Z0-9._:-]+)*$").expect("constant regex"));

const SCOPE_PATTERN: &str = r"^([a-zA-Z0-9-._:]+)(\s[a-zA-Z0-9-._:]+)*$";

/// A validated `IdpCreationRequest` (POST and PUT bodies).
#[derive(Debug)]
struct IdpRequest {
    name: Option<String>,
    kind: IdpType,
    data: IdpData,
    mappers: Option<MappersInput>,
}

#[derive(Debug)]
enum IdpData {
    Saml(StoredSaml),
    Oidc(StoredOidc),
    Ocp(StoredOcp),
}

/// `Mappers` as sent: every field optional.
#[derive(Debug, Default)]
struct MappersInput {
    gid: Option<String>,
    uid: Option<String>,
    groups: Option<String>,
    supplementary_groups: Option<String>,
    email: Option<String>,
}

impl MappersInput {
    fn parse(obj: &Map<String, Value>, prefix: &str) -> Result<Self, ApiError> {
        let f = |key: &str| opt_str(obj, key, &join(prefix, key));
        Ok(MappersInput {
            gid: f("gid")?,
            uid: f("uid")?,
            groups: f("groups")?,
            supplementary_groups: f("supplementaryGroups")?,
            email: f("email")?,
        })
    }

    /// The given fields over `base`.
    fn over(&self, base: &Mappers) -> Mappers {
        let pick = |v: &Option<String>, b: &String| v.clone().unwrap_or_else(|| b.clone());
        Mappers {
            gid: pick(&self.gid, &base.gid),
            uid: pick(&self.uid, &base.uid),
            groups: pick(&self.groups, &base.groups),
            supplementary_groups: pick(&self.supplementary_groups, &base.supplementary_groups),
            email: pick(&self.email, &base.email),
        }
    }
}

impl IdpRequest {
    fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let kind_str = opt_str(body, "type", "type")?.ok_or_else(|| ApiError::missing("type"))?;
        let kind =
            IdpType::parse(&kind_str).ok_or_else(|| ApiError::invalid("type", "must be one of \"saml\", \"oidc\", \"openshift-v4\""))?;
        let name = opt_str(body, "name", "name")?;

        for other in [IdpType::Saml, IdpType::Oidc, IdpType::Ocp] {
            if other != kind && opt_obj(body, other.data_key(), other.data_key())?.is_some() {
                return Err(ApiError::invalid(other.data_key(), &format!("not allowed for an idp of type \"{}\"", kind.as_str())));
            }
        }
        let key = kind.data_key();
        let data_obj = opt_obj(body, key, key)?.ok_or_else(|| ApiError::missing(key))?;
        let data = match kind {
            IdpType::Oidc => IdpData::Oidc(parse_oidc(data_obj)?),
            IdpType::Ocp => IdpData::Ocp(parse_ocp(data_obj)?),
            IdpType::Saml => IdpData::Saml(parse_saml(data_obj)?),
        };
        let mappers = opt_obj(body, "mappers", "mappers")?.map(|m| MappersInput::parse(m, "mappers")).transpose()?;
        Ok(IdpRequest { name, kind, data, mappers })
    }
}

fn parse_oidc(o: &Map<String, Value>) -> Result<StoredOidc, ApiError> {
    let p = "oidcData";
    let client_id = req_nonempty(o, "clientId", &join(p, "clientId"))?;
    let client_secret = req_nonempty(o, "clientSecret", &join(p, "clientSecret"))?;
    let url_field = join(p, "discoverDocumentUrl");
    let discover_document_url = req_nonempty(o, "discoverDocumentUrl", &url_field)?;
    check_url(&discover_document_url, &url_field)?;
    let scopes = parse_scopes(o, p)?;
    let mandatory_claim = match opt_obj(o, "mandatoryClaim", &join(p, "mandatoryClaim"))? {
        None => None,
        Some(mc) => Some(parse_mandatory_claim(mc, &join(p, "mandatoryClaim"))?),
    };
    Ok(StoredOidc { client_id, client_secret, discover_document_url, scopes, mandatory_claim })
}

fn parse_mandatory_claim(mc: &Map<String, Value>, p: &str) -> Result<MandatoryClaim, ApiError> {
    let claim_field = join(p, "claim");
    let claim = opt_str(mc, "claim", &claim_field)?.ok_or_else(|| ApiError::missing(&claim_field))?;
    if !claim.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(ApiError::invalid(&claim_field, "must contain a letter"));
    }
    let values_field = join(p, "values");
    let values = opt_str_array(mc, "values", &values_field)?.ok_or_else(|| ApiError::missing(&values_field))?;
    if values.is_empty() {
        return Err(ApiError::invalid(&values_field, "must have at least 1 item"));
    }
    for (i, v) in values.iter().enumerate() {
        let field = format!("{values_field}[{i}]");
        if v.is_empty() {
            return Err(ApiError::invalid(&field, "must not be empty"));
        }
        if v.chars().any(char::is_whitespace) {
            return Err(ApiError::invalid(&field, "must not contain whitespace"));
        }
        if !v.chars().any(|c| c.is_ascii_alphabetic()) {
            return Err(ApiError::invalid(&field, "must contain a letter"));
        }
    }
    Ok(MandatoryClaim { claim, values })
}

fn parse_ocp(o: &Map<String, Value>) -> Result<StoredOcp, ApiError> {
    let p = "ocpData";
    let url_field = join(p, "idpBaseUrl");
    let idp_base_url = req_nonempty(o, "idpBaseUrl", &url_field)?;
    check_url(&idp_base_url, &url_field)?;
    let id_field = join(p, "clientId");
    let client_id = opt_str(o, "clientId", &id_field)?;
    if client_id.as_deref() == Some("") {
        return Err(ApiError::invalid(&id_field, "must not be empty"));
    }
    let client_secret = req_nonempty(o, "clientSecret", &join(p, "clientSecret"))?;
    let scopes = parse_scopes(o, p)?;
    Ok(StoredOcp { idp_base_url, client_id, client_secret, scopes })
}

const SAML_URL_FIELD: &str = "samlData.metadataXmlUrl";
const SAML_FILE_FIELD: &str = "samlData.metadataXmlFile";

/// Checks the SAML creation fields (no I/O). Rules:
/// - exactly one of `metadataXmlUrl` / `metadataXmlFile` is given (empty = not given);
/// - `metadataXmlType`, when given, is `"url"` or `"file"` and names the input given;
/// - a file needs a non-empty `fileName`; a URL must pass the spec's (intended) URL rule.
///
/// The metadata itself is fetched and parsed afterwards by [`IdpData::resolve`].
fn parse_saml(s: &Map<String, Value>) -> Result<StoredSaml, ApiError> {
    let p = "samlData";
    let metadata_xml_url = opt_str(s, "metadataXmlUrl", SAML_URL_FIELD)?;
    let metadata_xml_file = opt_str(s, "metadataXmlFile", SAML_FILE_FIELD)?;
    let name_field = join(p, "fileName");
    let file_name = opt_str(s, "fileName", &name_field)?;
    let type_field = join(p, "metadataXmlType");
    let metadata_xml_type = opt_str(s, "metadataXmlType", &type_field)?;
    let entity_id = opt_str(s, "entityId", &join(p, "entityId"))?.unwrap_or_default();

    let given_type = metadata_xml_type.as_deref();
    if given_type.is_some_and(|t| t != "url" && t != "file") {
        return Err(ApiError::invalid(&type_field, "must be one of \"url\", \"file\""));
    }
    let has_url = metadata_xml_url.as_deref().is_some_and(|u| !u.is_empty());
    let has_file = metadata_xml_file.as_deref().is_some_and(|f| !f.is_empty());
    match (has_url, has_file) {
        (false, false) if given_type == Some("file") => {
            return Err(ApiError::missing(SAML_FILE_FIELD));
        }
        (false, false) => return Err(ApiError::missing(SAML_URL_FIELD)),
        (true, true) => {
            return Err(ApiError::invalid(p, "give exactly one of metadataXmlUrl and metadataXmlFile"));
        }
        (true, false) => {
            if given_type == Some("file") {
                return Err(ApiError::invalid(
                    &type_field,
                    "is \"file\" but metadataXmlUrl is given (use \"url\", or send the document in metadataXmlFile)",
                ));
            }
            if let Some(url) = &metadata_xml_url {
                check_url(url, SAML_URL_FIELD)?;
            }
        }
        (false, true) => {
            if given_type == Some("url") {
                return Err(ApiError::invalid(
                    &type_field,
                    "is \"url\" but metadataXmlFile is given (use \"file\", or send the address in metadataXmlUrl)",
                ));
            }
            if file_name.as_deref().is_none_or(str::is_empty) {
                return Err(ApiError::missing(&name_field));
            }
        }
    }
    Ok(StoredSaml {
        metadata_xml_url,
        metadata_xml_file,
        file_name,
        metadata_xml_type,
        entity_id,
        signing_certificate: String::new(),
        single_sign_on_service_url: String::new(),
        service_provider_metadata_url: String::new(),
    })
}

impl IdpData {
    /// Completes what needs I/O: for SAML, obtains the metadata document (inline or by
    /// URL), parses it and fills the read-model fields. Called outside the data lock.
    async fn resolve(&mut self, state: &AppState) -> Result<(), ApiError> {
        let IdpData::Saml(s) = self else {
            return Ok(());
        };
        let inline = s.metadata_xml_file.as_deref().filter(|f| !f.is_empty());
        let url = s.metadata_xml_url.as_deref().filter(|u| !u.is_empty());
        let (text, field) = match (inline, url) {
            (Some(file), _) => (metadata_text_from_file(file).map_err(|why| ApiError::invalid(SAML_FILE_FIELD, &why))?, SAML_FILE_FIELD),
            (None, Some(url)) => (fetch_metadata(state, url).await.map_err(|why| ApiError::invalid(SAML_URL_FIELD, &why))?, SAML_URL_FIELD),
            (None, None) => return Err(ApiError::missing(SAML_URL_FIELD)),
        };
        let md = parse_metadata(&text).map_err(|why| ApiError::invalid(field, &format!("not valid SAML metadata: {why}")))?;
        if s.entity_id.is_empty() {
            s.entity_id = md.entity_id;
        }
        s.signing_certificate = md.signing_certificate;
        s.single_sign_on_service_url = md.single_sign_on_service_url;
        Ok(())
    }
}

fn parse_scopes(o: &Map<String, Value>, prefix: &str) -> Result<Option<Vec<String>>, ApiError> {
    let field = join(prefix, "scopes");
    let scopes = opt_str_array(o, "scopes", &field)?;
    if let Some(scopes) = &scopes {
        for (i, s) in scopes.iter().enumerate() {
            if !SCOPE_RE.is_match(s) {
                return Err(ApiError::invalid(&format!("{field}[{i}]"), &format!("must match {SCOPE_PATTERN}")));
            }
        }
    }
    Ok(scopes)
}

/// The URL rule of Run:ai's API documentation, as intended ([`url_rule::PATTERN`]: optional
/// http(s) scheme, a host with a dot and a 2+ letter TLD, optional port, optional path).
/// The sandbox also admits loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`), so that
/// tests and the quickstart can point at loopback servers; the provider accepts them only
/// against a sandbox (see [`url_rule`]). Empty values are refused before this check.
fn check_url(url: &str, field: &str) -> Result<(), ApiError> {
    if url_rule::vendor_accepts(url) || url_rule::loopback_host(url).is_some() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            "must be a URL: optional http(s) scheme, a host with a dot and a 2+ letter TLD, optional port and path",
        ))
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
}

/// Absent and null both read as "not given".
fn opt_str(obj: &Map<String, Value>, key: &str, field: &str) -> Result<Option<String>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::wrong_type(field, "string")),
    }
}

fn req_nonempty(obj: &Map<String, Value>, key: &str, field: &str) -> Result<String, ApiError> {
    match opt_str(obj, key, field)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::missing(field)),
    }
}

fn opt_obj<'a>(obj: &'a Map<String, Value>, key: &str, field: &str) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(ApiError::wrong_type(field, "object")),
    }
}

fn opt_str_array(obj: &Map<String, Value>, key: &str, field: &str) -> Result<Option<Vec<String>>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(ApiError::wrong_type(&format!("{field}[{i}]"), "string")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ApiError::wrong_type(field, "array of strings")),
    }
}

fn parse_object(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, ApiError> {
    let bytes = body.map_err(|e| {
        let status = e.status();
        ApiError::new(status, "Invalid request body", Some(e.body_text()))
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "Required request body is missing", None));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::new(StatusCode::BAD_REQUEST, "Invalid request body: expected a JSON object", None)),
        Err(e) => Err(ApiError::new(StatusCode::BAD_REQUEST, "Invalid request body: malformed JSON", Some(e.to_string()))),
    }
}

fn path_alias(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    p.map(|Path(a)| a).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "Invalid path parameter \"idp\"", Some(e.body_text())))
}

// ---------------------------------------------------------------------------------------
// SAML metadata: obtaining, parsing, and the sample document
// ---------------------------------------------------------------------------------------

/// Where the sandbox serves a sample IdP metadata document (no auth, not counted).
pub const SAMPLE_METADATA_PATH: &str = "/_sandbox/samples/saml-metadata.xml";
/// The sample's `entityID` unless `?entity_id=` overrides it.
pub const SAMPLE_ENTITY_ID: &str = "https://idp.example.com/saml/metadata";
/// The sample's SingleSignOnService `Location` unless `?sso_url=` overrides it.
pub const SAMPLE_SSO_URL: &str = "https://idp.example.com/saml/sso";
/// The sample's signing certificate (base64 DER, one line): a real self-signed RSA 2048
/// certificate, `CN=idp.sandbox.test, O=identity-sandbox`, valid until 2126. Its key was
/// discarded: it signs nothing, it only has to look and parse like the real thing.
pub const SAMPLE_SIGNING_CERTIFICATE: &str = concat!(
    "MIIDTzCCAjegAwIBAgIUQvmSBbQq3iyNd5LraMbhXZ70vJ8wDQYJKoZIhvcNAQELBQAwNjEZMBcG",
    "A1UEAwwQaWRwLnNhbmRib3gudGVzdDEZMBcGA1UECgwQaWRlbnRpdHktc2FuZGJveDAgFw0yNjEx",
    "MjIxNTExMzlaGA8yMTI2MTAyOTE1MTEzOVowNjEZMBcGA1UEAwwQaWRwLnNhbmRib3gudGVzdDEZ",
    "MBcGA1UECgwQaWRlbnRpdHktc2FuZGJveDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEB",
    "AM34A+cnaxOYn6R4bshWQv3fblLd3j2fRT6CIqRlXOcYspIWBsqz0zPWOC4D2d34uU4AT1gPtvY/",
    "QJb2SbtNXKs1QejA6Xc2jIfvxs5ev45YTDw0kulPhqt/yVkoSoRO0YcRsqZV1MehkNybuqlVu0yz",
    "GzbQOq33H//VLVqhQ2i8qmimRcLG0pjxie05bhyAlbS0qi0G0/eyWsPc8ETlDHc3DwsvUOLGQW0S",
    "da90VrISZ5jyfIS4a3Nrq5EOzgWqdg5ZGht+qS747DYkf0KPpLtXuHUaRkaxVr/G0gY4PWN4KXn1",
    "+/UwKyg/zG/zQPykfPlWeGobBDhfdSdO2hk3nGcCAwEAAaNTMFEwHQYDVR0OBBYEFKcgUz2jebD+",
    "ntB1VMmZGOxTHZxEMB8GA1UdIwQYMBaAFKcgUz2jebD+ntB1VMmZGOxTHZxEMA8GA1UdEwEB/wQF",
    "MAMBAf8wDQYJKoZIhvcNAQELBQADggEBALaBO6oYgRuwYyl0/M/4HAbHMywgSqrlG1KF2japq2KT",
    "L8p5CFhacHcZVHmJ+Lk+PhQB2fN9YlXCYkcmWBatJDJb9znETZmUXtDR9ztB2EaFZXaEbbjtSC5z",
    "GfMgGH6rc9OkegYagW+4uuK0+EpIytUO4xAQHGta89FUPvmYn65mvF8wyom/V3ximDo4AwL39S92",
    "3Md/2zPisYsqfJTfWu3x3uTfCT8DVZlYm7oe12qI5YRuSnlnZSwNjMPeu8ZLGgXFk7zPx53hyuik",
    "uMBBgD0lc8qDEIsMdBBy8Qw1sgrY6UHo9YbkWf6kaxXdBwchOuEizOew1Axlhp6RGF2L9ro=",
);

const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// The largest metadata document accepted (inline or fetched).
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;

/// What the sandbox takes from an IdP metadata document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    /// `EntityDescriptor/@entityID`.
    pub entity_id: String,
    /// `IDPSSODescriptor/SingleSignOnService/@Location`: HTTP-Redirect binding preferred,
    /// else HTTP-POST, else the first.
    pub single_sign_on_service_url: String,
    /// `IDPSSODescriptor/KeyDescriptor[@use="signing" or no @use]/ds:KeyInfo/ds:X509Data/
    /// ds:X509Certificate`, whitespace removed; empty when the document has none.
    pub signing_certificate: String,
}

/// Parses SAML 2.0 metadata (elements matched by namespace and local name, never by
/// prefix). The root is an `EntityDescriptor`, or an `EntitiesDescriptor` whose first
/// `EntityDescriptor` with an `IDPSSODescriptor` is used. Errors are short sentences
/// meant for the `message` of a 400.
pub fn parse_metadata(xml: &str) -> Result<IdpMetadata, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("malformed XML: {e}"))?;
    let root = doc.root_element();
    let entity = if root.has_tag_name((MD_NS, "EntityDescriptor")) {
        root
    } else if root.has_tag_name((MD_NS, "EntitiesDescriptor")) {
        root.descendants()
            .filter(|n| n.has_tag_name((MD_NS, "EntityDescriptor")))
            .find(|n| md_child(*n, "IDPSSODescriptor").is_some())
            .ok_or("the EntitiesDescriptor holds no EntityDescriptor with an IDPSSODescriptor")?
    } else {
        let tag = root.tag_name();
        return Err(format!(
            "the root element is {{{}}}{}, expected EntityDescriptor in namespace {MD_NS}",
            tag.namespace().unwrap_or(""),
            tag.name()
        ));
    };
    let entity_id = entity
        .attribute("entityID")
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or("the EntityDescriptor has no entityID attribute")?
        .to_string();
    let idp = md_child(entity, "IDPSSODescriptor")
        .ok_or("the EntityDescriptor has no IDPSSODescriptor (it does not describe an identity provider)")?;

    let services: Vec<_> = idp.children().filter(|n| n.has_tag_name((MD_NS, "SingleSignOnService"))).collect();
    let by_binding = |b: &str| services.iter().find(|n| n.attribute("Binding").map(str::trim) == Some(b));
    let service = by_binding(BINDING_REDIRECT)
        .or_else(|| by_binding(BINDING_POST))
        .or(services.first())
        .ok_or("the IDPSSODescriptor has no SingleSignOnService")?;
    let single_sign_on_service_url = service
        .attribute("Location")
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or("the chosen SingleSignOnService has no Location attribute")?
        .to_string();

    let mut signing_certificate = String::new();
    let key_descriptors = idp
        .children()
        .filter(|n| n.has_tag_name((MD_NS, "KeyDescriptor")))
        .filter(|n| n.attribute("use").is_none_or(|u| u.trim() == "signing"));
    'found: for kd in key_descriptors {
        for key_info in ds_children(kd, "KeyInfo") {
            for data in ds_children(key_info, "X509Data") {
                for cert in ds_children(data, "X509Certificate") {
                    let text: String = cert
                        .descendants()
                        .filter(|n| n.is_text())
                        .filter_map(|n| n.text())
                        .flat_map(str::chars)
                        .filter(|c| !c.is_whitespace())
                        .collect();
                    if !text.is_empty() {
                        signing_certificate = text;
                        break 'found;
                    }
                }
            }
        }
    }
    if !signing_certificate.is_empty() && b64_lenient().decode(&signing_certificate).is_err() {
        return Err("the signing X509Certificate is not base64".to_string());
    }
    Ok(IdpMetadata { entity_id, single_sign_on_service_url, signing_certificate })
}

fn md_child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|n| n.has_tag_name((MD_NS, name)))
}

fn ds_children<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    node.children().filter(move |n| n.has_tag_name((DS_NS, name)))
}

/// Standard alphabet, padding optional.
fn b64_lenient() -> base64::engine::GeneralPurpose {
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    )
}

/// The XML text of `samlData.metadataXmlFile`: raw XML when it starts with `<` (after a
/// BOM and whitespace), else standard base64 (line breaks allowed; a `data:...;base64,`
/// prefix is tolerated) of a UTF-8 document.
fn metadata_text_from_file(content: &str) -> Result<String, String> {
    const NEITHER: &str = "is neither an XML document (it does not start with '<') nor base64 of a UTF-8 XML document";
    let trimmed = content.trim_start_matches('\u{feff}').trim();
    if trimmed.starts_with('<') {
        return xml_text(trimmed.as_bytes().to_vec());
    }
    let encoded = match trimmed.strip_prefix("data:") {
        Some(rest) => rest.split_once(";base64,").map(|(_, b)| b).ok_or("a data: URL must be base64-encoded (;base64,)")?,
        None => trimmed,
    };
    let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = b64_lenient().decode(compact).map_err(|_| NEITHER.to_string())?;
    let text = xml_text(bytes).map_err(|why| format!("{NEITHER}: {why}"))?;
    if !text.trim_start().starts_with('<') {
        return Err(NEITHER.to_string());
    }
    Ok(text)
}

/// Bytes of a metadata document as text (UTF-8, BOM removed).
fn xml_text(bytes: Vec<u8>) -> Result<String, String> {
    if bytes.len() > MAX_METADATA_BYTES {
        return Err(format!("the document is larger than {MAX_METADATA_BYTES} bytes"));
    }
    let text = String::from_utf8(bytes).map_err(|_| "the document is not UTF-8 text".to_string())?;
    Ok(text.trim_start_matches('\u{feff}').to_string())
}

/// Fetches `url` within the confinement of [`super::saml_fetch`] and reads the answer as
/// an XML document.
async fn fetch_metadata(state: &AppState, url: &str) -> Result<String, String> {
    let body = super::saml_fetch::fetch(state, url).await?;
    xml_text(body).map_err(|why| format!("the SAML metadata fetched from {url} is unusable: {why}"))
}

/// A valid IdP metadata document: one `EntityDescriptor` with an `IDPSSODescriptor`
/// carrying a signing certificate ([`SAMPLE_SIGNING_CERTIFICATE`], wrapped at 64
/// columns), HTTP-POST and HTTP-Redirect SSO services at `sso_url`, and a logout service.
pub fn sample_metadata_xml(entity_id: &str, sso_url: &str) -> String {
    let cert: String =
        SAMPLE_SIGNING_CERTIFICATE.as_bytes().chunks(64).map(|c| format!("            {}\n", String::from_utf8_lossy(c))).collect();
    let entity_id = xml_escape(entity_id);
    let sso_url = xml_escape(sso_url);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{MD_NS}" xmlns:ds="{DS_NS}" entityID="{entity_id}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo>
        <ds:X509Data>
          <ds:X509Certificate>
{cert}          </ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleLogoutService Binding="{BINDING_REDIRECT}" Location="{sso_url}/logout"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="{BINDING_POST}" Location="{sso_url}"/>
    <md:SingleSignOnService Binding="{BINDING_REDIRECT}" Location="{sso_url}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"#
    )
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `GET /_sandbox/samples/saml-metadata.xml?entity_id=..&sso_url=..` (both optional; an
/// empty value means the default).
async fn sample_metadata(query: Result<Query<HashMap<String, String>>, QueryRejection>) -> Response {
    let Ok(Query(q)) = query else {
        return (StatusCode::BAD_REQUEST, "unreadable query string; expected entity_id=..&sso_url=..").into_response();
    };
    let pick = |key: &str, default: &'static str| q.get(key).map(String::as_str).filter(|v| !v.is_empty()).unwrap_or(default).to_string();
    let xml = sample_metadata_xml(&pick("entity_id", SAMPLE_ENTITY_ID), &pick("sso_url", SAMPLE_SSO_URL));
    ([(header::CONTENT_TYPE, "application/samlmetadata+xml; charset=utf-8")], xml).into_response()
}

#[cfg(test)]
#[path = "runai_tests.rs"]
mod tests;
