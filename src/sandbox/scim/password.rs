//! Oracle's UserPasswordChanger: `PUT /UserPasswordChanger/{id}` sets a user's password
//! under the password policy (at least [`MIN_PASSWORD_CHARS`] characters, refused with
//! Oracle's own error body, see [`ScimError::password_policy`]). Passwords are never kept,
//! only counted (see [`OciData::change_password`]).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::model::OciData;
use super::request::ScimRequest;
use super::resources::{self, Outcome, Target};
use super::{DOMAIN_OCID, PASSWORD_CHANGER_SCHEMA, ScimError, SharedState, TENANCY_OCID};

/// The password policy's minimum length, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The password-policy violation `detail`, verbatim from the OCI IAM SCIM documentation.
pub const PASSWORD_POLICY_DETAIL: &str =
    "The password does not meet the criteria of the password policy because: [The password must have at least 12 characters.]";
pub const PASSWORD_POLICY_MESSAGE_ID: &str = "error.identity.passwordmgmt.pwdpolicyViolation";

/// Changes the password of the user `key` names; the answer is the UserPasswordChanger
/// resource at `location` (never the password).
pub(super) fn change(d: &mut OciData, key: &str, body: &Map<String, Value>, location: String) -> Result<Outcome, ScimError> {
    let i = d.change_password(key, body)?;
    let u = &d.users[i];
    let body = json!({
        "schemas": [PASSWORD_CHANGER_SCHEMA],
        "id": u.id,
        "ocid": u.ocid,
        "meta": {
            "resourceType": "UserPasswordChanger",
            "location": location,
        },
        "domainOcid": DOMAIN_OCID,
        "compartmentOcid": TENANCY_OCID,
        "tenancyOcid": TENANCY_OCID,
    });
    let Value::Object(body) = body else { unreachable!("an object literal") };
    Ok(Outcome::Resource { status: StatusCode::OK, body, core_urn: None })
}

pub(super) async fn password_changer(
    State(state): State<SharedState>,
    id: Result<Path<String>, PathRejection>,
    req: ScimRequest,
) -> Response {
    resources::item(&state, id, req, Target::PasswordChanger).await
}
