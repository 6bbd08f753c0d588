//! SCIM error answers (RFC 7644 section 3.12): [`ScimError`], its JSON body and the
//! `application/scim+json` answers every SCIM handler gives.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{ERROR_SCHEMA, ORACLE_ERROR_EXTENSION, PASSWORD_POLICY_DETAIL, PASSWORD_POLICY_MESSAGE_ID};

const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// A SCIM error answer (RFC 7644 section 3.12).
#[derive(Debug, Clone, PartialEq)]
pub struct ScimError {
    pub status: StatusCode,
    pub detail: String,
    pub scim_type: Option<&'static str>,
    /// A complete body that replaces the standard one (Oracle's password-policy error).
    body: Option<Value>,
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError { status, detail: detail.into(), scim_type, body: None }
    }

    pub fn bad_request(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn not_found(kind: &str, key: &str) -> Self {
        ScimError::new(StatusCode::NOT_FOUND, None, format!("{kind} {key} not found."))
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::UNAUTHORIZED, None, detail)
    }

    pub(super) fn method_not_allowed(method: &Method, path: &str) -> Self {
        ScimError::new(StatusCode::METHOD_NOT_ALLOWED, None, format!("Method {method} is not supported on {path}."))
    }

    /// Exactly OCI IAM's 400 for a password shorter than the policy allows.
    pub fn password_policy() -> Self {
        ScimError {
            status: StatusCode::BAD_REQUEST,
            detail: PASSWORD_POLICY_DETAIL.to_string(),
            scim_type: None,
            body: Some(json!({
                "schemas": [ERROR_SCHEMA, ORACLE_ERROR_EXTENSION],
                "detail": PASSWORD_POLICY_DETAIL,
                "status": "400",
                ORACLE_ERROR_EXTENSION: { "messageId": PASSWORD_POLICY_MESSAGE_ID },
            })),
        }
    }

    pub fn to_json(&self) -> Value {
        if let Some(body) = &self.body {
            return body.clone();
        }
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        body
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut resp = scim_json(self.status, &self.to_json());
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"identity-sandbox\", error=\"invalid_token\""));
        }
        resp
    }
}

/// `body` with `status` as `application/scim+json`.
pub(super) fn scim_json(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE))], body.to_string()).into_response()
}
