//! What the SCIM handlers read from a request: [`ScimRequest`] (method, headers, URI and
//! body in one extractor), the request context [`Ctx`], query parameters ([`Params`],
//! [`parse_urlencoded`]), the JSON body and the path id; and the cap on the group members
//! of one answer (`--scim-max-members`).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, Path, Request};
use axum::http::{HeaderMap, Method, Uri};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::ScimError;
use super::model::{OciData, View};
use crate::sandbox::SandboxConfig;

/// The parts of a request every SCIM handler reads; extracting it never fails (a body that
/// cannot be read is kept as its rejection).
#[derive(Debug)]
pub(super) struct ScimRequest {
    pub(super) method: Method,
    pub(super) headers: HeaderMap,
    pub(super) uri: Uri,
    pub(super) body: Result<Bytes, BytesRejection>,
}

impl<S: Send + Sync> FromRequest<S> for ScimRequest {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let method = req.method().clone();
        let headers = req.headers().clone();
        let uri = req.uri().clone();
        let body = Bytes::from_request(req, state).await;
        Ok(ScimRequest { method, headers, uri, body })
    }
}

impl ScimRequest {
    /// The request context, with the emulation switches of `config`.
    pub(super) fn ctx(&self, config: &SandboxConfig) -> Ctx {
        Ctx::new(&self.headers, &self.uri).configured(config)
    }
}

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
    pub(super) fn new(headers: &HeaderMap, uri: &Uri) -> Self {
        Ctx { base: crate::sandbox::base_url(headers, uri), now: Utc::now(), user_groups: true, max_members: usize::MAX }
    }

    /// The context with the emulation switches of `config`.
    fn configured(mut self, config: &SandboxConfig) -> Self {
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
pub(super) fn members_in(body: &Map<String, Value>) -> usize {
    let own = body.get("members").and_then(Value::as_array).map_or(0, Vec::len);
    let listed: usize =
        body.get("Resources").and_then(Value::as_array).map(|rs| rs.iter().filter_map(Value::as_object).map(members_in).sum()).unwrap_or(0);
    own + listed
}

/// OCI IAM's refusal of an answer with too many group members.
pub(super) fn too_many_members(n: usize, max: usize) -> ScimError {
    ScimError::bad_request(
        "tooMany",
        format!(
            "The response would contain {n} group members, more than the {max} one response may hold. \
             Read the members in pages (for example users filtered by groups.value)."
        ),
    )
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

/// The names of a comma-separated list, trimmed, empty ones left out.
pub(super) fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The body as a JSON object, or a 400 `invalidSyntax`.
pub(super) fn parse_body(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, ScimError> {
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

/// The `{id}` of an item path, or a 400 `invalidValue`.
pub(super) fn path_id(p: Result<Path<String>, PathRejection>) -> Result<String, ScimError> {
    p.map(|Path(id)| id).map_err(|e| ScimError::bad_request("invalidValue", e.body_text()))
}
