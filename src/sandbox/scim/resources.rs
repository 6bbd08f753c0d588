//! Users and Groups: the operations on one resource ([`execute`], shared by the HTTP
//! handlers and Bulk; `PUT /UserPasswordChanger/{id}` is one of them too), their answers
//! ([`Outcome`]), and the handlers of `/Users`, `/Users/{id}`, `/Groups` and
//! `/Groups/{id}` (a collection `GET` is a list, see [`query`](super::query)).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::error::scim_json;
use super::etag::{Preconditions, Stop, entity_tag};
use super::model::{self, GroupInput, OciData, UserInput, project, require_schema};
use super::patch::{self, GROUP_PATCH, USER_PATCH};
use super::query::{self, Kind};
use super::request::{Ctx, Params, ScimRequest, members_in, parse_body, path_id, too_many_members};
use super::{GROUP_SCHEMA, SCIM_BASE, ScimError, SharedState, USER_SCHEMA, password};

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
    pub(super) fn parse(path: &str) -> Option<Target> {
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

    pub(super) fn path(&self) -> String {
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
    Resource { status: StatusCode, body: Map<String, Value>, core_urn: Option<&'static str> },
    /// 204; `version` is the resource's new one (an `ETag`) after a PATCH.
    NoContent { location: String, version: Option<String> },
    /// 304: `If-None-Match` names the current version of what a GET reads.
    NotModified { location: String, version: String },
}

impl Outcome {
    pub(super) fn status(&self) -> StatusCode {
        match self {
            Outcome::Resource { status, .. } => *status,
            Outcome::NoContent { .. } => StatusCode::NO_CONTENT,
            Outcome::NotModified { .. } => StatusCode::NOT_MODIFIED,
        }
    }

    pub(super) fn location(&self) -> Option<String> {
        match self {
            Outcome::Resource { body, .. } => body.get("meta").and_then(|m| m.get("location")).and_then(Value::as_str).map(str::to_string),
            Outcome::NoContent { location, .. } | Outcome::NotModified { location, .. } => Some(location.clone()),
        }
    }

    /// The version of the resource after the operation (its `meta.version`, an entity tag).
    pub(super) fn version(&self) -> Option<String> {
        match self {
            Outcome::Resource { body, .. } => body.get("meta").and_then(|m| m.get("version")).and_then(Value::as_str).map(str::to_string),
            Outcome::NoContent { version, .. } => version.clone(),
            Outcome::NotModified { version, .. } => Some(version.clone()),
        }
    }

    /// The body after `attributes` / `excludedAttributes`.
    pub(super) fn projected(self, params: &Params) -> Option<Map<String, Value>> {
        match self {
            Outcome::Resource { body, core_urn: Some(urn), .. } => {
                Some(project(body, &params.list("attributes"), &params.list("excludedAttributes"), urn))
            }
            Outcome::Resource { body, .. } => Some(body),
            Outcome::NoContent { .. } | Outcome::NotModified { .. } => None,
        }
    }

    fn into_response(self, params: &Params, max_members: usize) -> Response {
        let status = self.status();
        let location = self.location();
        let version = self.version();
        let mut resp = match self.projected(params) {
            Some(body) if members_in(&body) > max_members => return too_many_members(members_in(&body), max_members).into_response(),
            Some(body) => scim_json(status, &Value::Object(body)),
            None => status.into_response(),
        };
        let headers = resp.headers_mut();
        if let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, l);
        }
        if let Some(v) = version.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(header::ETAG, v);
        }
        resp
    }
}

fn user_resource(d: &OciData, ctx: &Ctx, i: usize, status: StatusCode) -> Outcome {
    Outcome::Resource { status, body: ctx.view(d).user(&d.users[i], false), core_urn: Some(USER_SCHEMA) }
}

fn group_resource(d: &OciData, ctx: &Ctx, i: usize, status: StatusCode) -> Outcome {
    Outcome::Resource { status, body: ctx.view(d).group(&d.groups[i]), core_urn: Some(GROUP_SCHEMA) }
}

/// A PATCH's answer: 204 with the new `version` as `ETag`, unless the query asks for
/// attributes: then 200 with the resource.
fn patch_outcome(params: &Params, version: &str, location: String, resource: impl FnOnce() -> Outcome) -> Outcome {
    if params.has("attributes") || params.has("excludedAttributes") {
        resource()
    } else {
        Outcome::NoContent { location, version: Some(entity_tag(version)) }
    }
}

/// A GET's answer when the preconditions hold for `version`: `ok`, else a 304 or a 412.
fn read_outcome(cond: &Preconditions, version: &str, location: String, ok: impl FnOnce() -> Outcome) -> Result<Outcome, ScimError> {
    match cond.check(true, version) {
        Ok(()) => Ok(ok()),
        Err(Stop::NotModified) => Ok(Outcome::NotModified { location, version: entity_tag(version) }),
        Err(Stop::Failed(e)) => Err(e),
    }
}

/// Runs one non-list operation. `body` is required for POST, PUT and PATCH; `cond` (the
/// request's `If-Match` / `If-None-Match`, or a Bulk operation's `version`) applies to the
/// GET, PUT, PATCH and DELETE of a user or group.
pub fn execute(
    d: &mut OciData,
    ctx: &Ctx,
    method: &Method,
    target: &Target,
    params: &Params,
    body: Option<&Map<String, Value>>,
    cond: &Preconditions,
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
            read_outcome(cond, &d.users[i].meta.version, location(), || user_resource(d, ctx, i, StatusCode::OK))
        }
        ("PUT", Target::User(key)) => {
            let i = d.user_or_404(key)?;
            let body = need_body()?;
            require_schema(body, USER_SCHEMA)?;
            let input = UserInput::parse(body)?;
            d.set_user(i, input, ctx.now, cond)?;
            Ok(user_resource(d, ctx, i, StatusCode::OK))
        }
        ("PATCH", Target::User(key)) => {
            let i = d.user_or_404(key)?;
            let mut doc = model::writable_user(&d.users[i]);
            patch::apply(&mut doc, &USER_PATCH, need_body()?)?;
            let input = UserInput::parse(&doc)?;
            d.set_user(i, input, ctx.now, cond)?;
            Ok(patch_outcome(params, &d.users[i].meta.version, location(), || user_resource(d, ctx, i, StatusCode::OK)))
        }
        ("DELETE", Target::User(key)) => {
            let i = d.user_or_404(key)?;
            cond.check_change(&d.users[i].meta.version)?;
            d.delete_user(key)?;
            Ok(Outcome::NoContent { location: location(), version: None })
        }
        ("POST", Target::Groups) => {
            let i = d.create_group(need_body()?, ctx.now)?;
            Ok(group_resource(d, ctx, i, StatusCode::CREATED))
        }
        ("GET", Target::Group(key)) => {
            let i = d.group_or_404(key)?;
            read_outcome(cond, &d.groups[i].meta.version, location(), || group_resource(d, ctx, i, StatusCode::OK))
        }
        ("PUT", Target::Group(key)) => {
            let i = d.group_or_404(key)?;
            let body = need_body()?;
            require_schema(body, GROUP_SCHEMA)?;
            let input = GroupInput::parse(body)?;
            d.set_group(i, input, ctx.now, cond)?;
            Ok(group_resource(d, ctx, i, StatusCode::OK))
        }
        ("PATCH", Target::Group(key)) => {
            let i = d.group_or_404(key)?;
            let mut doc = model::writable_group(&d.groups[i], d);
            patch::apply(&mut doc, &GROUP_PATCH, need_body()?)?;
            let input = GroupInput::parse(&doc)?;
            d.set_group(i, input, ctx.now, cond)?;
            Ok(patch_outcome(params, &d.groups[i].meta.version, location(), || group_resource(d, ctx, i, StatusCode::OK)))
        }
        ("DELETE", Target::Group(key)) => {
            let i = d.group_or_404(key)?;
            cond.check_change(&d.groups[i].meta.version)?;
            d.delete_group(key)?;
            Ok(Outcome::NoContent { location: location(), version: None })
        }
        ("PUT", Target::PasswordChanger(key)) => password::change(d, key, need_body()?, location()),
        (_, t) => Err(ScimError::method_not_allowed(method, &format!("{SCIM_BASE}{}", t.path()))),
    }
}

// ---------------------------------------------------------------------------------------
// HTTP handlers
// ---------------------------------------------------------------------------------------

/// Runs one operation against the shared state: reads under the lock, writes persisted.
async fn run(state: &SharedState, req: ScimRequest, target: Target) -> Response {
    let ctx = req.ctx(state.config());
    let cond = Preconditions::from_headers(&req.headers);
    let ScimRequest { method, uri, body, .. } = req;
    let params = Params::parse(uri.query());
    let result = match method {
        Method::GET | Method::DELETE => {
            if method == Method::GET {
                state.read(|d| execute(&mut d.oci, &ctx, &method, &target, &params, None, &cond)).await
            } else {
                state.write(|d| execute(&mut d.oci, &ctx, &method, &target, &params, None, &cond)).await
            }
        }
        Method::POST | Method::PUT | Method::PATCH => match parse_body(body) {
            Ok(body) => state.write(|d| execute(&mut d.oci, &ctx, &method, &target, &params, Some(&body), &cond)).await,
            Err(e) => Err(e),
        },
        _ => Err(ScimError::method_not_allowed(&method, &format!("{SCIM_BASE}{}", target.path()))),
    };
    match result {
        Ok(outcome) => outcome.into_response(&params, if method == Method::GET { ctx.max_members } else { usize::MAX }),
        Err(e) => e.into_response(),
    }
}

/// A collection: `GET` lists it, anything else is an operation on it.
async fn collection(state: &SharedState, req: ScimRequest, kind: Kind, target: Target) -> Response {
    if req.method == Method::GET {
        return query::run_list(state, &req, kind).await;
    }
    run(state, req, target).await
}

/// An item: the operation on the resource the path's `{id}` names.
pub(super) async fn item(
    state: &SharedState,
    id: Result<Path<String>, PathRejection>,
    req: ScimRequest,
    target: fn(String) -> Target,
) -> Response {
    match path_id(id) {
        Ok(id) => run(state, req, target(id)).await,
        Err(e) => e.into_response(),
    }
}

pub(super) async fn users_collection(State(state): State<SharedState>, req: ScimRequest) -> Response {
    collection(&state, req, Kind::Users, Target::Users).await
}

pub(super) async fn groups_collection(State(state): State<SharedState>, req: ScimRequest) -> Response {
    collection(&state, req, Kind::Groups, Target::Groups).await
}

pub(super) async fn user_item(State(state): State<SharedState>, id: Result<Path<String>, PathRejection>, req: ScimRequest) -> Response {
    item(&state, id, req, Target::User).await
}

pub(super) async fn group_item(State(state): State<SharedState>, id: Result<Path<String>, PathRejection>, req: ScimRequest) -> Response {
    item(&state, id, req, Target::Group).await
}
