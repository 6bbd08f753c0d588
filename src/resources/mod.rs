//! Managed resources, one file each.

use std::sync::Arc;

use crate::clients::ApiError;
use crate::clients::scim::ScimClient;
use crate::provider::ProviderData;
use crate::tfplugin::{Diagnostic, Diagnostics, Resource};

pub mod idp;
pub mod idp_mappers;
pub mod oidc_group_import;
pub mod scim_group;
pub mod scim_group_member;
pub mod scim_user;
pub mod scim_user_group_memberships;
pub mod user_oidc;

/// Every resource the provider serves.
pub fn all() -> Vec<Arc<dyn Resource<ProviderData>>> {
    vec![
        Arc::new(idp::IdpResource),
        Arc::new(idp_mappers::IdpMappersResource),
        Arc::new(oidc_group_import::OidcGroupImportResource),
        Arc::new(user_oidc::UserOidcResource),
        Arc::new(scim_user::ScimUserResource),
        Arc::new(scim_group::ScimGroupResource),
        Arc::new(scim_group_member::ScimGroupMemberResource),
        Arc::new(scim_user_group_memberships::ScimUserGroupMembershipsResource),
    ]
}

/// The error for a create that finds the object already there (409), with the exact
/// commands to adopt it into the state instead.
pub(crate) fn already_exists(e: &ApiError, type_name: &str, id: &str, what: &str) -> Diagnostics {
    Diagnostic::error(
        format!("{what} already exists"),
        format!(
            "{}\nIt exists on the server but not in this Terraform state. To manage it with Terraform, import it:\n  terraform import {type_name}.<name> {id}\nor add an import block:\n  import {{\n    to = {type_name}.<name>\n    id = \"{id}\"\n  }}",
            e.detail()
        ),
    )
    .into()
}

/// A SCIM error as a diagnostic; token endpoint failures read as configuration errors.
pub(crate) fn scim_diag(summary: &str, e: &ApiError) -> Diagnostics {
    if ScimClient::is_auth_error(e) {
        Diagnostic::error(
            "SCIM authentication failed",
            format!(
                "{}\nCheck the provider's scim settings: client_id / client_secret (IDENTITY_SCIM_CLIENT_ID, IDENTITY_SCIM_CLIENT_SECRET), \
                 the grant type, username / password for the password grant, and token_url.",
                e.detail()
            ),
        )
        .into()
    } else {
        Diagnostic::error(summary, e.detail()).into()
    }
}
