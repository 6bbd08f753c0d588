//! OCI IAM identity domain: the OAuth2 token endpoint and SCIM 2.0 (RFC 7643 / 7644)
//! Users, Groups, Bulk and Oracle's UserPasswordChanger, under `/oci`, as the OCI IAM SCIM
//! documentation describes them (quirks included).
//!
//! Emulated behaviour, in short:
//! - `POST /oci/oauth2/v1/token`: HTTP Basic client credentials, form body with
//!   `grant_type=client_credentials` or `grant_type=password&username=..&password=..`,
//!   optional `scope`. Answers `{"access_token", "token_type":"Bearer", "expires_in"}`
//!   (`--scim-token-ttl-secs`); errors in the OAuth2 shape `{"error","error_description"}`:
//!   401 `invalid_client` (with `WWW-Authenticate: Basic`), 400 `invalid_request`,
//!   `invalid_grant`, `unsupported_grant_type`. Tokens are random, kept in memory only
//!   (they survive `/_sandbox/reset`, not a restart).
//! - JWT assertions (RFC 7523, OCI IAM's "client assertion" and "JWT assertion" grant),
//!   for workload identity: a client assertion
//!   (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=<jwt>`)
//!   instead of the client secret, or `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>`.
//!   The JWT is verified against `--scim-jwks FILE` (signature, `kid`), `--scim-jwt-issuer`
//!   (`iss`), `--scim-jwt-audience` (`aud`) and its `exp`/`nbf`; a bad client assertion
//!   answers 401 `invalid_client`, a bad grant assertion 400 `invalid_grant`, each with an
//!   `error_description` naming the cause. A second use of an assertion is accepted (OCI
//!   does not document refusing one) unless `--scim-jwt-single-use` is given. Without
//!   `--scim-jwks`, every assertion is refused. See `auth`.
//! - Everything under `/oci/admin/v1` needs `Authorization: Bearer <token>`: an unexpired
//!   issued token or `--scim-static-token`; otherwise 401 with a SCIM error.
//! - `POST /oci/oauth2/v1/revoke`: RFC 7009 revocation (client credentials as for the
//!   token endpoint, form body `token=...`); a revoked token answers 401 afterwards.
//! - Answers are `application/scim+json`; errors are
//!   `{"schemas":[Error],"status":"<code>","detail":..,"scimType"?:..}`.
//! - Users and Groups are addressed by `id` (32 hex) or `ocid`; lists filter (see
//!   [`filter`]), page (`startIndex`, `count` capped at [`MAX_PAGE_SIZE`]) and project
//!   (`attributes`, `excludedAttributes`); `POST /Users/.search` and `/Groups/.search`
//!   take the same parameters in a SearchRequest body.
//! - PATCH (see [`patch`]) answers 204, or 200 with the resource when the query has
//!   `attributes` or `excludedAttributes`.
//! - `POST /Bulk` runs its operations in order with `bulkId` references (a `version`
//!   acts as `If-Match`); each one is also logged (`"bulk": true`) while the stats count
//!   the Bulk once.
//! - Versions (see [`etag`]): `meta.version` and the `ETag` header are the same weak
//!   entity tag `W/"<32 hex>"`; `If-Match` (412 when stale) and `If-None-Match` (304 for a
//!   GET, 412 otherwise) apply to one user or group.
//! - Discovery: `GET /ServiceProviderConfig`, `/Schemas[/{urn}]`, `/ResourceTypes[/{name}]`
//!   tell what the emulation does (see [`schema`]); the optional User attributes of RFC
//!   7643 (`nickName`, `phoneNumbers`, `addresses`, ...) and the Enterprise User extension
//!   are checked against their definitions and stored as given.
//! - `PUT /UserPasswordChanger/{id}` enforces a 12-character minimum with Oracle's error
//!   body; passwords are never kept, only counted.
//!
//! Layout (this file holds the shared names and the routing):
//! - `auth`: the token endpoint, revocation, issued tokens, the bearer check
//! - `request`: the request extractor and context, query parameters, body parsing
//! - `error`: [`ScimError`] and the `application/scim+json` answers
//! - `resources`: Users and Groups, one resource at a time ([`execute`], shared with Bulk)
//! - `query`: lists and searches (filter, paging, projection)
//! - [`patch`]: PatchOp and what a PATCH may change on users and groups
//! - `bulk`: `POST /Bulk`
//! - `password`: the UserPasswordChanger and the password policy
//! - `discovery`: `GET /ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`
//! - [`schema`]: the schema definitions, and the checks of the attributes stored as given
//! - [`etag`]: versions as entity tags, `If-Match` / `If-None-Match`
//! - [`model`]: the stored users and groups, validation and rendering
//! - [`filter`]: filter expressions and attribute paths

mod auth;
mod bulk;
mod discovery;
mod error;
pub mod etag;
pub mod filter;
pub mod model;
mod password;
pub mod patch;
mod query;
mod request;
mod resources;
pub mod schema;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};

#[cfg(test)]
pub use self::auth::testing as jwt_testing;
pub use self::auth::{
    ASSERTION_LEEWAY_SECS, CLIENT_ASSERTION_TYPE, DEFAULT_SCOPE, DEFAULT_STATIC_TOKEN, DEFAULT_TOKEN_TTL_SECS, JWT_BEARER_GRANT, Jwks,
    TokenStatus, TokenStore,
};
pub use self::bulk::MAX_BULK_OPERATIONS;
pub use self::discovery::{RESOURCE_TYPE_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA};
pub use self::error::ScimError;
pub use self::password::{MIN_PASSWORD_CHARS, PASSWORD_POLICY_DETAIL, PASSWORD_POLICY_MESSAGE_ID};
pub use self::patch::{GROUP_PATCH, USER_PATCH};
pub use self::query::{Kind, ListQuery, MAX_PAGE_SIZE, list};
pub use self::request::{Ctx, Params, parse_urlencoded};
pub use self::resources::{Outcome, Target, execute};
use super::store::SharedState;

/// URL prefix of the OCI emulation.
pub const PREFIX: &str = "/oci";
/// The OAuth2 token endpoint (the provider's `token_url` is `<sandbox>` + this).
pub const TOKEN_PATH: &str = "/oci/oauth2/v1/token";
/// The OAuth2 token revocation endpoint (RFC 7009).
pub const REVOKE_PATH: &str = "/oci/oauth2/v1/revoke";
/// The SCIM base (the provider's SCIM `url` is `<sandbox>` + this).
pub const SCIM_BASE: &str = "/oci/admin/v1";

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const USER_EXTENSION: &str = "urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User";
pub const USER_STATE_EXTENSION: &str = "urn:ietf:params:scim:schemas:oracle:idcs:extension:userState:User";
pub const GROUP_EXTENSION: &str = "urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group";
pub const ENTERPRISE_USER_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
pub const PASSWORD_CHANGER_SCHEMA: &str = "urn:ietf:params:scim:schemas:oracle:idcs:UserPasswordChanger";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const ORACLE_ERROR_EXTENSION: &str = "urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error";
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// The identity domain and tenancy the sandbox pretends to be.
pub const DOMAIN_OCID: &str = "ocid1.domain.oc1..aaaaaaaasandboxdomainaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const TENANCY_OCID: &str = "ocid1.tenancy.oc1..aaaaaaaasandboxtenancyaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// The OCI routes (full paths under [`PREFIX`]); SCIM routes are guarded by the bearer
/// check, the token endpoint by client credentials.
pub fn routes(state: SharedState) -> Router<SharedState> {
    Router::new()
        .route("/oci/admin/v1/Users", any(resources::users_collection))
        .route("/oci/admin/v1/Users/.search", any(query::users_search))
        .route("/oci/admin/v1/Users/{id}", any(resources::user_item))
        .route("/oci/admin/v1/Groups", any(resources::groups_collection))
        .route("/oci/admin/v1/Groups/.search", any(query::groups_search))
        .route("/oci/admin/v1/Groups/{id}", any(resources::group_item))
        .route("/oci/admin/v1/UserPasswordChanger/{id}", any(password::password_changer))
        .route("/oci/admin/v1/Bulk", any(bulk::bulk))
        .route("/oci/admin/v1/.search", any(query::root_search))
        .route("/oci/admin/v1/ServiceProviderConfig", any(discovery::service_provider_config_handler))
        .route("/oci/admin/v1/Schemas", any(discovery::schemas))
        .route("/oci/admin/v1/Schemas/{id}", any(discovery::schema_item))
        .route("/oci/admin/v1/ResourceTypes", any(discovery::resource_types))
        .route("/oci/admin/v1/ResourceTypes/{id}", any(discovery::resource_type_item))
        .route("/oci/admin/v1/{*rest}", any(scim_not_found))
        .route_layer(middleware::from_fn_with_state(state, auth::auth))
        .route(TOKEN_PATH, post(auth::token))
        .route(REVOKE_PATH, post(auth::revoke))
}

async fn scim_not_found(uri: Uri) -> Response {
    ScimError::new(StatusCode::NOT_FOUND, None, format!("No SCIM endpoint at {}.", uri.path())).into_response()
}

#[cfg(test)]
mod tests;
