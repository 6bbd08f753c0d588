//! `GET /ServiceProviderConfig` (RFC 7643 section 5): what the emulation supports (PATCH,
//! Bulk and its limits, filters and the page size, password change, ETags) and how clients
//! authenticate.

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::json;

use super::error::scim_json;
use super::request::Ctx;
use super::{MAX_BULK_OPERATIONS, MAX_PAGE_SIZE, SCIM_BASE};

pub(super) async fn service_provider_config(headers: HeaderMap, uri: Uri) -> Response {
    let ctx = Ctx::new(&headers, &uri);
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
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
                "description": "Authentication with an OAuth2 access token from the token endpoint.",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{}{SCIM_BASE}/ServiceProviderConfig", ctx.base),
            },
        }),
    )
}
