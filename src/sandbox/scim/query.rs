//! Lists and searches of Users and Groups: `GET /Users`, `GET /Groups` (query
//! parameters) and `POST /Users/.search`, `POST /Groups/.search` (a SearchRequest body).
//! Both filter (see [`filter`](super::filter); the attributes a filter may name are
//! checked per resource type), page (`startIndex`, `count` capped at [`MAX_PAGE_SIZE`])
//! and project (`attributes`, `excludedAttributes`).

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::discovery::{RESOURCE_TYPES, ResourceType};
use super::error::scim_json;
use super::filter::{AttrPath, Filter, get_ci};
use super::model::{OciData, project, require_schema};
use super::request::{Ctx, Params, ScimRequest, members_in, parse_body, split_list, too_many_members};
use super::schema;
use super::{LIST_RESPONSE_SCHEMA, SEARCH_REQUEST_SCHEMA, ScimError, SharedState};

/// The largest page: `count` above it is capped, `itemsPerPage` never exceeds it.
pub const MAX_PAGE_SIZE: usize = 50;

/// The `meta` attribute paths a filter may use on either resource type (lower-case).
const META_FILTER_ATTRIBUTES: [&str; 6] =
    ["meta", "meta.created", "meta.lastmodified", "meta.version", "meta.resourcetype", "meta.location"];

/// The parameters of a list or search.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub start_index: usize,
    pub count: usize,
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

/// The resource type a list or search is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Users,
    Groups,
}

impl Kind {
    fn core_urn(self) -> &'static str {
        self.resource_type().schema.id
    }

    /// The resource type's schema and its extensions'.
    fn resource_type(self) -> &'static ResourceType {
        match self {
            Kind::Users => &RESOURCE_TYPES[0],
            Kind::Groups => &RESOURCE_TYPES[1],
        }
    }

    /// Whether a filter may name `p`: `id`, `externalId`, `schemas`, `meta` and its
    /// sub-attributes, or an attribute (or sub-attribute) of the core schema; for an
    /// extension, any name of it.
    fn check_path(self, p: &AttrPath) -> bool {
        let t = self.resource_type();
        let known = |p: &AttrPath| {
            ["id", "externalid", "schemas"].contains(&p.key().as_str())
                || META_FILTER_ATTRIBUTES.contains(&p.key().as_str())
                || schema::has_path(t.schema, &p.attr, p.sub.as_deref())
        };
        match &p.urn {
            None => known(p),
            Some(urn) if urn.eq_ignore_ascii_case(t.schema.id) => known(p),
            Some(urn) => {
                let full = p.full();
                t.extensions.iter().any(|e| e.eq_ignore_ascii_case(urn) || (p.sub.is_none() && e.eq_ignore_ascii_case(&full)))
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

/// The page `q` asks for, as an answer.
async fn answer(state: &SharedState, ctx: &Ctx, kind: Kind, q: Result<ListQuery, ScimError>) -> Response {
    match q {
        Ok(q) => match state.read(|d| list(&d.oci, ctx, kind, &q)).await {
            Ok(page) => scim_json(StatusCode::OK, &page),
            Err(e) => e.into_response(),
        },
        Err(e) => e.into_response(),
    }
}

/// `GET /Users` or `GET /Groups`: the query parameters.
pub(super) async fn run_list(state: &SharedState, req: &ScimRequest, kind: Kind) -> Response {
    let ctx = req.ctx(state.config());
    let params = Params::parse(req.uri.query());
    answer(state, &ctx, kind, ListQuery::from_params(kind, &params)).await
}

/// `POST /Users/.search` or `POST /Groups/.search`: a SearchRequest body.
async fn run_search(state: &SharedState, req: ScimRequest, kind: Kind) -> Response {
    if req.method != Method::POST {
        return ScimError::method_not_allowed(&req.method, req.uri.path()).into_response();
    }
    let ctx = req.ctx(state.config());
    let q = parse_body(req.body).and_then(|b| ListQuery::from_search(kind, &b));
    answer(state, &ctx, kind, q).await
}

pub(super) async fn users_search(State(state): State<SharedState>, req: ScimRequest) -> Response {
    run_search(&state, req, Kind::Users).await
}

pub(super) async fn groups_search(State(state): State<SharedState>, req: ScimRequest) -> Response {
    run_search(&state, req, Kind::Groups).await
}

/// `POST /.search` at the SCIM base: a search of several resource types at once (RFC 7644
/// section 3.4.3), which OCI IAM's documented API does not offer: 501.
pub(super) async fn root_search(req: ScimRequest) -> Response {
    if req.method != Method::POST {
        return ScimError::method_not_allowed(&req.method, req.uri.path()).into_response();
    }
    ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "Searching several resource types at once is not supported: search /Users/.search or /Groups/.search.",
    )
    .into_response()
}
