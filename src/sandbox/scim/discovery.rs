//! The discovery endpoints (RFC 7644 section 4, RFC 7643 sections 5 to 7):
//! `GET /ServiceProviderConfig` (what the emulation supports: PATCH, Bulk and its limits,
//! filters and the page size, password change, ETags; how clients authenticate),
//! `GET /Schemas[/{urn}]` (the definitions of [`schema`](super::schema)) and
//! `GET /ResourceTypes[/{name}]` (Users and Groups with their schema extensions).
//!
//! Only `GET` is allowed (405 otherwise). Query parameters are ignored, except `filter`:
//! RFC 7644 section 4 has a server answer 403 to a filter on these endpoints, so that no
//! client takes its conditions for granted.

use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::scim_json;
use super::request::{Ctx, Params, ScimRequest, path_id};
use super::schema::{self, Schema};
use super::{
    ENTERPRISE_USER_EXTENSION, GROUP_EXTENSION, LIST_RESPONSE_SCHEMA, MAX_BULK_OPERATIONS, MAX_PAGE_SIZE, SCIM_BASE, ScimError,
    USER_EXTENSION, USER_STATE_EXTENSION,
};

pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// One resource type (RFC 7643 section 6).
pub struct ResourceType {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub description: &'static str,
    pub schema: &'static Schema,
    /// The extensions' schemas; none is required of a client.
    pub extensions: &'static [&'static str],
}

/// Users and Groups.
pub const RESOURCE_TYPES: [ResourceType; 2] = [
    ResourceType {
        name: "User",
        endpoint: "/Users",
        description: "User Account",
        schema: &schema::USER,
        extensions: &[ENTERPRISE_USER_EXTENSION, USER_EXTENSION, USER_STATE_EXTENSION],
    },
    ResourceType { name: "Group", endpoint: "/Groups", description: "Group", schema: &schema::GROUP, extensions: &[GROUP_EXTENSION] },
];

impl ResourceType {
    fn to_json(&self, base: &str) -> Value {
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": self.extensions.iter().map(|e| json!({"schema": e, "required": false})).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base}{SCIM_BASE}/ResourceTypes/{}", self.name),
            },
        })
    }
}

/// The configuration; every claim is something the sandbox does.
fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": { "supported": true },
        "bulk": {
            "supported": true,
            "maxOperations": MAX_BULK_OPERATIONS,
            "maxPayloadSize": crate::sandbox::control::MAX_BODY_BYTES,
        },
        "filter": { "supported": true, "maxResults": MAX_PAGE_SIZE },
        "changePassword": { "supported": true },
        "sort": { "supported": false },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with an OAuth2 access token from the token endpoint (RFC 6750).",
            "specUri": "https://datatracker.ietf.org/doc/html/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}{SCIM_BASE}/ServiceProviderConfig"),
        },
    })
}

fn list_response(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": resources.len(),
        "itemsPerPage": resources.len(),
        "startIndex": 1,
        "Resources": resources,
    })
}

/// The checks every discovery request passes: `GET` only, no `filter`.
fn check(req: &ScimRequest) -> Result<Ctx, ScimError> {
    if req.method != Method::GET {
        return Err(ScimError::method_not_allowed(&req.method, req.uri.path()));
    }
    if Params::parse(req.uri.query()).has("filter") {
        return Err(ScimError::new(StatusCode::FORBIDDEN, None, format!("Filtering is not supported on {}.", req.uri.path())));
    }
    Ok(Ctx::new(&req.headers, &req.uri))
}

fn answer(r: Result<Value, ScimError>) -> Response {
    match r {
        Ok(body) => scim_json(StatusCode::OK, &body),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn service_provider_config_handler(req: ScimRequest) -> Response {
    answer(check(&req).map(|ctx| service_provider_config(&ctx.base)))
}

pub(super) async fn schemas(req: ScimRequest) -> Response {
    answer(check(&req).map(|ctx| list_response(schema::SCHEMAS.iter().map(|s| s.to_json(&ctx.base)).collect())))
}

pub(super) async fn schema_item(id: Result<Path<String>, PathRejection>, req: ScimRequest) -> Response {
    answer(check(&req).and_then(|ctx| {
        let id = path_id(id)?;
        schema::find(&id).map(|s| s.to_json(&ctx.base)).ok_or_else(|| ScimError::not_found("Schema", &id))
    }))
}

pub(super) async fn resource_types(req: ScimRequest) -> Response {
    answer(check(&req).map(|ctx| list_response(RESOURCE_TYPES.iter().map(|t| t.to_json(&ctx.base)).collect())))
}

pub(super) async fn resource_type_item(id: Result<Path<String>, PathRejection>, req: ScimRequest) -> Response {
    answer(check(&req).and_then(|ctx| {
        let id = path_id(id)?;
        RESOURCE_TYPES
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(&id))
            .map(|t| t.to_json(&ctx.base))
            .ok_or_else(|| ScimError::not_found("ResourceType", &id))
    }))
}
