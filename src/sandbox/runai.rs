//! Run:ai external identity providers, `/runai/api/v1/idps` (OpenAPI 3.0.3, v2.22; see
//! `specs/runai-idps-openapi.md` and the quirks in `specs/README.md`).
//!
//! Emulated behaviour, in short:
//! - Bearer auth with the configured token; 401 `{"code":401,"message":...}` otherwise.
//! - Every error is `{"code": <status>, "message": ..., "details"?: ...}`; bodies are
//!   validated by hand so that malformed JSON and wrong field types answer 400 in that shape
//!   (never axum's plain-text rejections), with `details` naming the offending field.
//! - Reads mask `clientSecret` as `"********"`; a PUT that sends the mask back stores it
//!   literally (the trap a careless client falls into).
//! - `PUT .../mappers` answers 202 and the change becomes visible after
//!   `--mapper-delay-ms` (stored as a pending change with a due time, applied lazily under
//!   the data lock before every read or write, so it also survives a restart with `--data`).

use std::sync::LazyLock;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::store::SharedState;

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

/// SAML data: the creation fields as sent plus the read-model fields.
///
/// TO BE COMPLETED by the Run:ai SAML issue: fetch/parse the metadata XML and fill
/// `signing_certificate`, `single_sign_on_service_url` and `entity_id` from it. For now
/// the first two are empty strings and `entity_id` is the one sent (or empty).
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
        let at = self
            .idps
            .partition_point(|i| i.alias.as_str() < idp.alias.as_str());
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
        ApiError {
            status,
            message: message.into(),
            details,
        }
    }

    fn bad_request(message: impl Into<String>, field: &str) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message, Some(field.to_string()))
    }

    /// The wording of the spec's sample, with the field path in `details`.
    fn missing(field: &str) -> Self {
        ApiError::bad_request("Required parameter is missing", field)
    }

    fn wrong_type(field: &str, expected: &str) -> Self {
        ApiError::bad_request(
            format!("Invalid type for parameter \"{field}\": expected {expected}"),
            field,
        )
    }

    fn invalid(field: &str, why: &str) -> Self {
        ApiError::bad_request(
            format!("Invalid value for parameter \"{field}\": {why}"),
            field,
        )
    }

    fn not_found(alias: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("idp \"{alias}\" not found"),
            None,
        )
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
        .route(
            "/runai/api/v1/idps/{idp}",
            get(get_idp).put(update_idp).delete(delete_idp),
        )
        .route(
            "/runai/api/v1/idps/{idp}/mappers",
            get(get_mappers).put(update_mappers),
        )
        .route_layer(middleware::from_fn_with_state(state, auth))
}

async fn auth(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = header.and_then(|h| {
        let (scheme, token) = h.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    });
    match token {
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            Some("an Authorization: Bearer <token> header is required".to_string()),
        )
        .into_response(),
        Some(t) if t == state.config().runai_token => next.run(req).await,
        Some(_) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "Issuer is not familiar.", None).into_response()
        }
    }
}

async fn list_idps(State(state): State<SharedState>) -> Response {
    let idps: Vec<Value> = state
        .read(|d| d.runai.idps.iter().map(read_model).collect())
        .await;
    axum::Json(idps).into_response()
}

async fn create_idp(
    State(state): State<SharedState>,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = parse_object(body)?;
    let req = IdpRequest::parse(&body)?;
    let alias = match &req.name {
        Some(name) => {
            if !ALIAS_RE.is_match(name) {
                return Err(ApiError::invalid("name", "must match ^[a-z0-9_-]+$"));
            }
            name.clone()
        }
        None => req.kind.as_str().to_string(),
    };
    let base = base_url(&headers, &uri);
    state
        .write(|d| {
            if d.runai.find(&alias).is_some() {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!("idp with alias \"{alias}\" already exists"),
                    None,
                ));
            }
            let redirect_uri = format!("{base}{PREFIX}/auth/realms/runai/broker/{alias}/endpoint");
            let mut idp = StoredIdp {
                alias: alias.clone(),
                kind: req.kind,
                redirect_uri,
                saml_data: None,
                oidc_data: None,
                ocp_data: None,
                mappers: req
                    .mappers
                    .as_ref()
                    .map(|m| m.over(&Mappers::default()))
                    .unwrap_or_default(),
                pending_mappers: Vec::new(),
            };
            idp.set_data(req.data, &base);
            d.runai.insert(idp);
            Ok(())
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "alias": alias }))).into_response())
}

async fn get_idp(
    State(state): State<SharedState>,
    alias: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let alias = path_alias(alias)?;
    let found = state
        .read(|d| d.runai.find(&alias).map(read_model))
        .await
        .ok_or_else(|| ApiError::not_found(&alias))?;
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
    let req = IdpRequest::parse(&body)?;
    let base = base_url(&headers, &uri);
    state
        .write(|d| {
            let idp = d
                .runai
                .find_mut(&alias)
                .ok_or_else(|| ApiError::not_found(&alias))?;
            if req.kind != idp.kind {
                return Err(ApiError::invalid(
                    "type",
                    &format!(
                        "the type of idp \"{alias}\" is \"{}\" and cannot be changed",
                        idp.kind.as_str()
                    ),
                ));
            }
            if req.name.as_ref().is_some_and(|name| name != &alias) {
                return Err(ApiError::invalid(
                    "name",
                    &format!("must equal the idp alias \"{alias}\""),
                ));
            }
            if let Some(m) = &req.mappers {
                idp.mappers = m.over(&Mappers::default());
            }
            idp.set_data(req.data, &base);
            Ok(())
        })
        .await?;
    Ok(StatusCode::OK.into_response())
}

async fn delete_idp(
    State(state): State<SharedState>,
    alias: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let alias = path_alias(alias)?;
    state
        .write(|d| {
            let before = d.runai.idps.len();
            d.runai.idps.retain(|i| i.alias != alias);
            if d.runai.idps.len() == before {
                Err(ApiError::not_found(&alias))
            } else {
                Ok(())
            }
        })
        .await?;
    Ok(StatusCode::OK.into_response())
}

async fn get_mappers(
    State(state): State<SharedState>,
    alias: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let alias = path_alias(alias)?;
    let mappers = state
        .read(|d| d.runai.find(&alias).map(|i| i.mappers.clone()))
        .await
        .ok_or_else(|| ApiError::not_found(&alias))?;
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
            let idp = d
                .runai
                .find_mut(&alias)
                .ok_or_else(|| ApiError::not_found(&alias))?;
            // Fields left out keep the latest accepted value (pending or visible).
            let latest = idp
                .pending_mappers
                .last()
                .map(|p| &p.mappers)
                .unwrap_or(&idp.mappers);
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
                    Some(old) if !old.service_provider_metadata_url.is_empty() => {
                        old.service_provider_metadata_url.clone()
                    }
                    _ => format!(
                        "{base}{PREFIX}/auth/realms/runai/broker/{}/endpoint/descriptor",
                        self.alias
                    ),
                };
                self.saml_data = Some(s);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Request parsing and validation
// ---------------------------------------------------------------------------------------

static ALIAS_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9_-]+$").expect("constant regex"));

/// The spec's URL rule as intended (see specs/README.md): optional http(s) scheme, a host
/// with a dot and a 2+ letter TLD, optional port, optional path. The sandbox also admits
/// `localhost` and `127.0.0.1` so tests can point at loopback servers.
static URL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(https?://)?([a-zA-Z0-9.-]+\.[a-zA-Z]{2,}|localhost|127\.0\.0\.1)(:[0-9]{1,5})?(/[^\s]*)?$",
    )
    .expect("constant regex")
});

static SCOPE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([a-zA-Z0-9._:-]+)(\s[a-zA-Z0-9._:-]+)*$").expect("constant regex")
});

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
        let kind = IdpType::parse(&kind_str).ok_or_else(|| {
            ApiError::invalid(
                "type",
                "must be one of \"saml\", \"oidc\", \"openshift-v4\"",
            )
        })?;
        let name = opt_str(body, "name", "name")?;

        for other in [IdpType::Saml, IdpType::Oidc, IdpType::Ocp] {
            if other != kind && opt_obj(body, other.data_key(), other.data_key())?.is_some() {
                return Err(ApiError::invalid(
                    other.data_key(),
                    &format!("not allowed for an idp of type \"{}\"", kind.as_str()),
                ));
            }
        }
        let key = kind.data_key();
        let data_obj = opt_obj(body, key, key)?.ok_or_else(|| ApiError::missing(key))?;
        let data = match kind {
            IdpType::Oidc => IdpData::Oidc(parse_oidc(data_obj)?),
            IdpType::Ocp => IdpData::Ocp(parse_ocp(data_obj)?),
            IdpType::Saml => IdpData::Saml(parse_saml(data_obj)?),
        };
        let mappers = opt_obj(body, "mappers", "mappers")?
            .map(|m| MappersInput::parse(m, "mappers"))
            .transpose()?;
        Ok(IdpRequest {
            name,
            kind,
            data,
            mappers,
        })
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
    Ok(StoredOidc {
        client_id,
        client_secret,
        discover_document_url,
        scopes,
        mandatory_claim,
    })
}

fn parse_mandatory_claim(mc: &Map<String, Value>, p: &str) -> Result<MandatoryClaim, ApiError> {
    let claim_field = join(p, "claim");
    let claim =
        opt_str(mc, "claim", &claim_field)?.ok_or_else(|| ApiError::missing(&claim_field))?;
    if !claim.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(ApiError::invalid(&claim_field, "must contain a letter"));
    }
    let values_field = join(p, "values");
    let values = opt_str_array(mc, "values", &values_field)?
        .ok_or_else(|| ApiError::missing(&values_field))?;
    if values.is_empty() {
        return Err(ApiError::invalid(
            &values_field,
            "must have at least 1 item",
        ));
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
    Ok(StoredOcp {
        idp_base_url,
        client_id,
        client_secret,
        scopes,
    })
}

/// TO BE COMPLETED by the Run:ai SAML issue (metadata fetching/parsing). For now: the
/// creation fields are type-checked and stored; the metadata must be given by URL or file.
fn parse_saml(s: &Map<String, Value>) -> Result<StoredSaml, ApiError> {
    let p = "samlData";
    let url_field = join(p, "metadataXmlUrl");
    let metadata_xml_url = opt_str(s, "metadataXmlUrl", &url_field)?;
    if let Some(url) = metadata_xml_url.as_deref().filter(|u| !u.is_empty()) {
        check_url(url, &url_field)?;
    }
    let file_field = join(p, "metadataXmlFile");
    let metadata_xml_file = opt_str(s, "metadataXmlFile", &file_field)?;
    let file_name = opt_str(s, "fileName", &join(p, "fileName"))?;
    let type_field = join(p, "metadataXmlType");
    let metadata_xml_type = opt_str(s, "metadataXmlType", &type_field)?;
    let has_url = metadata_xml_url.as_deref().is_some_and(|u| !u.is_empty());
    let has_file = metadata_xml_file.as_deref().is_some_and(|f| !f.is_empty());
    match metadata_xml_type.as_deref() {
        Some("url") if !has_url => return Err(ApiError::missing(&url_field)),
        Some("file") if !has_file => return Err(ApiError::missing(&file_field)),
        Some("url") | Some("file") => {}
        Some(_) => {
            return Err(ApiError::invalid(
                &type_field,
                "must be one of \"url\", \"file\"",
            ));
        }
        None if !has_url && !has_file => return Err(ApiError::missing(&url_field)),
        None => {}
    }
    let entity_id = opt_str(s, "entityId", &join(p, "entityId"))?.unwrap_or_default();
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

fn parse_scopes(o: &Map<String, Value>, prefix: &str) -> Result<Option<Vec<String>>, ApiError> {
    let field = join(prefix, "scopes");
    let scopes = opt_str_array(o, "scopes", &field)?;
    if let Some(scopes) = &scopes {
        for (i, s) in scopes.iter().enumerate() {
            if !SCOPE_RE.is_match(s) {
                return Err(ApiError::invalid(
                    &format!("{field}[{i}]"),
                    &format!("must match {SCOPE_PATTERN}"),
                ));
            }
        }
    }
    Ok(scopes)
}

fn check_url(url: &str, field: &str) -> Result<(), ApiError> {
    if URL_RE.is_match(url) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            "must be a URL: optional http(s) scheme, a host with a dot and a 2+ letter TLD, optional port and path",
        ))
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
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

fn opt_obj<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(ApiError::wrong_type(field, "object")),
    }
}

fn opt_str_array(
    obj: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<Vec<String>>, ApiError> {
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
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Required request body is missing",
            None,
        ));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Invalid request body: expected a JSON object",
            None,
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Invalid request body: malformed JSON",
            Some(e.to_string()),
        )),
    }
}

fn path_alias(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    p.map(|Path(a)| a).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "Invalid path parameter \"idp\"",
            Some(e.body_text()),
        )
    })
}

/// `http://` + the authority the client addressed (HTTP/2 `:authority` or the `Host`
/// header); `http://localhost` when neither is usable.
fn base_url(headers: &HeaderMap, uri: &Uri) -> String {
    let host = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .filter(|h| {
            !h.is_empty()
                && h.chars().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_')
                })
        })
        .unwrap_or_else(|| "localhost".to_string());
    format!("http://{host}")
}
