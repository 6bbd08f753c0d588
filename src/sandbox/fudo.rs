//! Fudo PAM, assignment of OpenID Connect configurations to users, `/fudo/api/v2/user/oidc`
//! (as Fudo's API documentation describes it, quirks included).
//!
//! Emulated behaviour, in short:
//! - The `Authorization` header carries the raw API key (no scheme); anything else is a 401.
//! - Every answer is a `result` envelope: `{"result": "success", ...}` on success,
//!   `{"result": "error", "message": ..., "field"?: ...}` with the HTTP status on failure.
//! - Ids are decimal strings wider than 2^53 (`"9124292845052624898"`); the server never
//!   turns them into JSON numbers, and refuses a request that sends them as numbers.
//! - Users and OIDC configurations are seeded (the provider does not create them), as is
//!   one `builtin` assignment, which cannot be modified or deleted (403).
//! - `POST /api/v2/user/oidc` answers only `{"result":"success"}`; the `(user_id, oidc_id)`
//!   pair is unique (409 on a duplicate); an unknown user or configuration is a 404.
//! - `GET /api/v2/user/<user_id>/oidc/<oidc_id>` answers a list under `user_oidc`: empty
//!   when the pair is not assigned, 404 when the user or the configuration is unknown.
//! - Timestamps look like Fudo's (PostgreSQL's): `2024-06-19 08:39:55.351137-07`.
//! - Request bodies are read as JSON whatever their `Content-Type` (the docs say
//!   `Application/HTML`, the examples send `application/json`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::store::SharedState;

/// URL prefix of the Fudo emulation; the provider's `fudo.url` is `<sandbox>/fudo`.
pub const PREFIX: &str = "/fudo";

/// The seeded users, OIDC configurations and built-in assignment (see [`FudoData::seeded`]).
pub const USER_1: &str = "9124292845052624898";
pub const USER_2: &str = "9124292845052624800";
pub const OIDC_OKTA2: &str = "9124292845052624898";
pub const OIDC_AZUREAD: &str = "9124292845052624897";
/// The timestamp of the seeds, as in the spec's examples.
pub const SEED_TIMESTAMP: &str = "2024-06-19 08:39:55.351137-07";
/// Ids the sandbox gives new assignments start above this one.
const FIRST_ASSIGNMENT_ID: u128 = 9_124_292_845_052_625_000;

// ---------------------------------------------------------------------------------------
// Stored model (what `GET /_sandbox/state` shows under "fudo" and `--data` persists)
// ---------------------------------------------------------------------------------------

/// All Fudo objects. Ids are strings everywhere, also in the state file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FudoData {
    #[serde(default)]
    pub users: Vec<FudoUser>,
    #[serde(default)]
    pub oidc_configurations: Vec<FudoOidcConfig>,
    /// Assignments, sorted by `(user_id, oidc_id)` in numeric order.
    #[serde(default)]
    pub user_oidc: Vec<StoredUserOidc>,
}

/// A Fudo user (seeded; read-only here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FudoUser {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    pub role: String,
}

/// A Fudo OpenID Connect configuration (seeded; read-only here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FudoOidcConfig {
    pub id: String,
    pub name: String,
}

/// One assignment as the server holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredUserOidc {
    /// Read-only and protected: never part of an API answer.
    pub id: String,
    pub user_id: String,
    pub oidc_id: String,
    pub oidc_sub: String,
    pub created_at: String,
    pub modified_at: String,
    #[serde(default)]
    pub builtin: bool,
    #[serde(default)]
    pub hidden: bool,
}

impl FudoData {
    /// The users, OIDC configurations and built-in assignment a fresh server has.
    pub fn seeded() -> Self {
        FudoData {
            users: vec![
                FudoUser {
                    id: USER_1.to_string(),
                    name: "User_1".to_string(),
                    domain: "zw.local".to_string(),
                    email: "user@fudosecurity.com".to_string(),
                    organization: None,
                    role: "operator".to_string(),
                },
                FudoUser {
                    id: USER_2.to_string(),
                    name: "User_2".to_string(),
                    domain: "zw.local".to_string(),
                    email: "user2@fudosecurity.com".to_string(),
                    organization: Some("Fudo Security".to_string()),
                    role: "user".to_string(),
                },
            ],
            oidc_configurations: vec![
                FudoOidcConfig { id: OIDC_OKTA2.to_string(), name: "OKTA2".to_string() },
                FudoOidcConfig { id: OIDC_AZUREAD.to_string(), name: "AzureAD".to_string() },
            ],
            user_oidc: vec![StoredUserOidc {
                id: "9124292845052624001".to_string(),
                user_id: USER_2.to_string(),
                oidc_id: OIDC_AZUREAD.to_string(),
                oidc_sub: "user2@fudosecurity.com".to_string(),
                created_at: SEED_TIMESTAMP.to_string(),
                modified_at: SEED_TIMESTAMP.to_string(),
                builtin: true,
                hidden: false,
            }],
        }
    }

    /// Keeps the assignments in list order.
    pub fn normalize(&mut self) {
        self.user_oidc.sort_by(|a, b| pair_key(&a.user_id, &a.oidc_id).cmp(&pair_key(&b.user_id, &b.oidc_id)));
    }

    pub fn user(&self, id: &str) -> Option<&FudoUser> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn oidc_configuration(&self, id: &str) -> Option<&FudoOidcConfig> {
        self.oidc_configurations.iter().find(|o| o.id == id)
    }

    pub fn assignment(&self, user_id: &str, oidc_id: &str) -> Option<&StoredUserOidc> {
        self.user_oidc.iter().find(|a| a.user_id == user_id && a.oidc_id == oidc_id)
    }

    fn assignment_mut(&mut self, user_id: &str, oidc_id: &str) -> Option<&mut StoredUserOidc> {
        self.user_oidc.iter_mut().find(|a| a.user_id == user_id && a.oidc_id == oidc_id)
    }

    /// The next protected id: one above the largest in use (ids are compared as numbers,
    /// which u128 holds exactly for any 20-digit id).
    fn next_id(&self) -> String {
        let max = self.user_oidc.iter().filter_map(|a| a.id.parse::<u128>().ok()).max().unwrap_or(0);
        (max.max(FIRST_ASSIGNMENT_ID) + 1).to_string()
    }

    fn insert(&mut self, a: StoredUserOidc) {
        let key = pair_key(&a.user_id, &a.oidc_id);
        let at = self.user_oidc.partition_point(|x| pair_key(&x.user_id, &x.oidc_id) < key);
        self.user_oidc.insert(at, a);
    }

    /// Checks that the user and the configuration exist (404 otherwise).
    fn check_refs(&self, user_id: &str, oidc_id: &str) -> Result<(), FudoError> {
        if self.user(user_id).is_none() {
            return Err(FudoError::new(StatusCode::NOT_FOUND, format!("User with id {user_id} does not exist.")));
        }
        if self.oidc_configuration(oidc_id).is_none() {
            return Err(FudoError::new(StatusCode::NOT_FOUND, format!("OpenID Connect configuration with id {oidc_id} does not exist.")));
        }
        Ok(())
    }
}

/// Numeric order for decimal ids without parsing them: shorter first, then by digits.
fn pair_key<'a>(user_id: &'a str, oidc_id: &'a str) -> ((usize, &'a str), (usize, &'a str)) {
    ((user_id.len(), user_id), (oidc_id.len(), oidc_id))
}

/// A timestamp the way Fudo (PostgreSQL) prints it: microseconds and an hour offset.
pub fn fudo_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// A Fudo error answer: `{"result": "error", "message": ..., "field"?: ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FudoError {
    pub status: StatusCode,
    pub message: String,
    pub field: Option<String>,
}

impl FudoError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        FudoError { status, message: message.into(), field: None }
    }

    fn bad_field(field: &str, message: impl Into<String>) -> Self {
        FudoError { status: StatusCode::BAD_REQUEST, message: message.into(), field: Some(field.to_string()) }
    }

    fn not_assigned(user_id: &str, oidc_id: &str) -> Self {
        FudoError::new(StatusCode::NOT_FOUND, format!("OpenID Connect configuration {oidc_id} is not assigned to user {user_id}."))
    }

    fn builtin(user_id: &str, oidc_id: &str) -> Self {
        FudoError::new(
            StatusCode::FORBIDDEN,
            format!("The assignment of OpenID Connect configuration {oidc_id} to user {user_id} is a built-in object and is not editable."),
        )
    }
}

impl IntoResponse for FudoError {
    fn into_response(self) -> Response {
        let mut body = json!({ "result": "error", "message": self.message });
        if let (Some(field), Some(obj)) = (self.field, body.as_object_mut()) {
            obj.insert("field".to_string(), Value::String(field));
        }
        (self.status, axum::Json(body)).into_response()
    }
}

fn success() -> Response {
    axum::Json(json!({ "result": "success" })).into_response()
}

// ---------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------

/// The Fudo routes (full paths under [`PREFIX`]), guarded by the API key.
pub fn routes(state: SharedState) -> Router<SharedState> {
    Router::new()
        .route("/fudo/api/v2/user/oidc", get(list).post(create))
        .route("/fudo/api/v2/user/{user_id}/oidc/{oidc_id}", get(get_one).patch(update).delete(remove))
        .route("/fudo/api/v2/objspec/user_oidc", get(objspec))
        .route_layer(middleware::from_fn_with_state(state, auth))
}

/// The raw API key in `Authorization`, as Fudo expects (`curl -H 'Authorization: <key>'`).
async fn auth(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let key = state.config().fudo_api_key.as_str();
    let sent = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::trim);
    match sent {
        Some(s) if !s.is_empty() && s == key => next.run(req).await,
        None | Some("") => {
            FudoError::new(StatusCode::UNAUTHORIZED, "Authentication required: send the API key in the Authorization header.")
                .into_response()
        }
        Some(s) if s.split_once(' ').is_some_and(|(_, rest)| rest.trim() == key) => FudoError::new(
            StatusCode::UNAUTHORIZED,
            "Invalid API key: the Authorization header must carry the raw key, without a scheme such as Bearer.",
        )
        .into_response(),
        Some(_) => FudoError::new(StatusCode::UNAUTHORIZED, "Invalid API key.").into_response(),
    }
}

/// The read model of one assignment: the stored fields plus the "expensive" ones joined
/// from the user and the configuration. The protected `id` is left out, as in the spec's
/// examples, and so is `user_organization` when the user has none.
fn read_model(d: &FudoData, a: &StoredUserOidc) -> Value {
    let mut m = Map::new();
    m.insert("user_id".into(), json!(a.user_id));
    m.insert("oidc_id".into(), json!(a.oidc_id));
    m.insert("oidc_sub".into(), json!(a.oidc_sub));
    if let Some(u) = d.user(&a.user_id) {
        m.insert("user_name".into(), json!(u.name));
        m.insert("user_domain".into(), json!(u.domain));
        m.insert("user_email".into(), json!(u.email));
        if let Some(org) = &u.organization {
            m.insert("user_organization".into(), json!(org));
        }
        m.insert("user_role".into(), json!(u.role));
    }
    if let Some(o) = d.oidc_configuration(&a.oidc_id) {
        m.insert("oidc_name".into(), json!(o.name));
    }
    m.insert("created_at".into(), json!(a.created_at));
    m.insert("modified_at".into(), json!(a.modified_at));
    m.insert("builtin".into(), json!(a.builtin));
    m.insert("hidden".into(), json!(a.hidden));
    Value::Object(m)
}

fn list_answer(items: Vec<Value>) -> Response {
    axum::Json(json!({ "result": "success", "user_oidc": items })).into_response()
}

async fn list(State(state): State<SharedState>) -> Response {
    let items = state.read(|d| d.fudo.user_oidc.iter().map(|a| read_model(&d.fudo, a)).collect()).await;
    list_answer(items)
}

async fn get_one(State(state): State<SharedState>, ids: Result<Path<(String, String)>, PathRejection>) -> Result<Response, FudoError> {
    let (user_id, oidc_id) = path_ids(ids)?;
    let items = state
        .read(|d| {
            d.fudo.check_refs(&user_id, &oidc_id)?;
            Ok::<_, FudoError>(d.fudo.assignment(&user_id, &oidc_id).map(|a| read_model(&d.fudo, a)).into_iter().collect())
        })
        .await?;
    Ok(list_answer(items))
}

async fn create(State(state): State<SharedState>, body: Result<Bytes, BytesRejection>) -> Result<Response, FudoError> {
    let body = parse_object(body)?;
    let user_id = required_id(&body, "user_id")?;
    let oidc_id = required_id(&body, "oidc_id")?;
    let oidc_sub = required_sub(&body)?;
    state
        .write(|d| {
            d.fudo.check_refs(&user_id, &oidc_id)?;
            if d.fudo.assignment(&user_id, &oidc_id).is_some() {
                return Err(FudoError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "Uniqueness violated: OpenID Connect configuration {oidc_id} is already assigned to user {user_id} \
                         (the combination of user_id and oidc_id must be unique)."
                    ),
                ));
            }
            let now = fudo_timestamp(Utc::now());
            let id = d.fudo.next_id();
            d.fudo.insert(StoredUserOidc {
                id,
                user_id,
                oidc_id,
                oidc_sub,
                created_at: now.clone(),
                modified_at: now,
                builtin: false,
                hidden: false,
            });
            Ok(())
        })
        .await?;
    Ok(success())
}

async fn update(
    State(state): State<SharedState>,
    ids: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, FudoError> {
    let (user_id, oidc_id) = path_ids(ids)?;
    let body = parse_object(body)?;
    for (field, current) in [("user_id", &user_id), ("oidc_id", &oidc_id)] {
        match body.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s == current => {}
            Some(_) => return Err(FudoError::bad_field(field, format!("{field} is immutable and cannot be changed."))),
        }
    }
    let oidc_sub = match body.get("oidc_sub") {
        None | Some(Value::Null) => None,
        Some(_) => Some(required_sub(&body)?),
    };
    state
        .write(|d| {
            d.fudo.check_refs(&user_id, &oidc_id)?;
            let a = d.fudo.assignment_mut(&user_id, &oidc_id).ok_or_else(|| FudoError::not_assigned(&user_id, &oidc_id))?;
            if a.builtin {
                return Err(FudoError::builtin(&user_id, &oidc_id));
            }
            if let Some(sub) = oidc_sub {
                a.oidc_sub = sub;
            }
            a.modified_at = fudo_timestamp(Utc::now());
            Ok(())
        })
        .await?;
    Ok(success())
}

async fn remove(State(state): State<SharedState>, ids: Result<Path<(String, String)>, PathRejection>) -> Result<Response, FudoError> {
    let (user_id, oidc_id) = path_ids(ids)?;
    state
        .write(|d| {
            d.fudo.check_refs(&user_id, &oidc_id)?;
            let a = d.fudo.assignment(&user_id, &oidc_id).ok_or_else(|| FudoError::not_assigned(&user_id, &oidc_id))?;
            if a.builtin {
                return Err(FudoError::builtin(&user_id, &oidc_id));
            }
            d.fudo.user_oidc.retain(|x| !(x.user_id == user_id && x.oidc_id == oidc_id));
            Ok(())
        })
        .await?;
    Ok(success())
}

/// `GET /api/v2/objspec/user_oidc`: the attributes of `UserOpenIDModel`, in spec order.
async fn objspec() -> Response {
    let attr = |name: &str, ty: &str, required: bool, flags: &[&str], description: &str| {
        json!({
            "name": name,
            "type": ty,
            "required": required,
            "readonly": flags.contains(&"readonly"),
            "immutable": flags.contains(&"immutable"),
            "protected": flags.contains(&"protected"),
            "expensive": flags.contains(&"expensive"),
            "description": description,
        })
    };
    let attributes = vec![
        attr("id", "string", false, &["readonly", "protected"], "Unique identifier."),
        attr(
            "user_id",
            "string",
            true,
            &["immutable"],
            "Uniqueness is required in the combination of attribute user_id with attribute oidc_id.",
        ),
        attr(
            "oidc_id",
            "string",
            true,
            &["immutable"],
            "Uniqueness is required in the combination of attribute oidc_id with attribute user_id.",
        ),
        attr("oidc_sub", "string", true, &[], "OpenID Connect sub claim."),
        attr("user_name", "string", false, &["readonly", "expensive"], ""),
        attr("user_domain", "string", false, &["readonly", "expensive"], ""),
        attr("user_email", "string", false, &["readonly", "expensive"], ""),
        attr("user_organization", "string", false, &["readonly", "expensive"], ""),
        attr("user_role", "string", false, &["readonly", "expensive"], ""),
        attr("oidc_name", "string", false, &["readonly", "expensive"], ""),
        attr("created_at", "datetime", false, &["readonly"], "Timestamp of creation."),
        attr("modified_at", "datetime", false, &["readonly"], "Timestamp of modification."),
        attr("removed", "boolean", false, &["readonly"], ""),
        attr("builtin", "boolean", false, &["readonly", "expensive"], "If true, the object is not editable."),
        attr("hidden", "boolean", false, &["readonly", "expensive"], "If true, the object is hidden in UI."),
    ];
    axum::Json(json!({
        "result": "success",
        "objspec": {
            "name": "user_oidc",
            "methods": ["GET", "POST", "PATCH", "DELETE"],
            "attributes": attributes,
        }
    }))
    .into_response()
}

// ---------------------------------------------------------------------------------------
// Request parsing
// ---------------------------------------------------------------------------------------

/// A Fudo id: decimal digits, at most 20 (a 64-bit id).
pub fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

fn check_id(field: &str, s: &str) -> Result<(), FudoError> {
    if is_id(s) {
        Ok(())
    } else {
        Err(FudoError::bad_field(field, format!("Invalid value of {field}: {s:?} is not an identifier (decimal digits).")))
    }
}

fn path_ids(p: Result<Path<(String, String)>, PathRejection>) -> Result<(String, String), FudoError> {
    let Path((user_id, oidc_id)) = p.map_err(|e| FudoError::new(StatusCode::BAD_REQUEST, format!("Invalid path: {}", e.body_text())))?;
    check_id("user_id", &user_id)?;
    check_id("oidc_id", &oidc_id)?;
    Ok((user_id, oidc_id))
}

fn required_id(body: &Map<String, Value>, field: &str) -> Result<String, FudoError> {
    match body.get(field) {
        None | Some(Value::Null) => Err(FudoError::bad_field(field, format!("Missing required attribute {field}."))),
        Some(Value::String(s)) => {
            check_id(field, s)?;
            Ok(s.clone())
        }
        Some(_) => Err(FudoError::bad_field(field, format!("Invalid type of {field}: expected a string."))),
    }
}

fn required_sub(body: &Map<String, Value>) -> Result<String, FudoError> {
    match body.get("oidc_sub") {
        None | Some(Value::Null) => Err(FudoError::bad_field("oidc_sub", "Missing required attribute oidc_sub.")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(FudoError::bad_field("oidc_sub", "oidc_sub must not be empty.")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(FudoError::bad_field("oidc_sub", "Invalid type of oidc_sub: expected a string.")),
    }
}

fn parse_object(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, FudoError> {
    let bytes = body.map_err(|e| FudoError::new(e.status(), format!("Invalid request body: {}", e.body_text())))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FudoError::new(StatusCode::BAD_REQUEST, "Missing request body."));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(FudoError::new(StatusCode::BAD_REQUEST, "Invalid request body: expected a JSON object.")),
        Err(e) => Err(FudoError::new(StatusCode::BAD_REQUEST, format!("Invalid request body: malformed JSON ({e})."))),
    }
}

#[cfg(test)]
#[path = "fudo_tests.rs"]
mod tests;
