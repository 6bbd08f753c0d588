//! A SCIM 2.0 service such as an OCI IAM identity domain: users, groups, memberships
//! (three ways, with [`membership_conflicts`] warning when two manage one group), their
//! data sources and listing, and OAuth2 access tokens as an ephemeral resource.

use std::sync::Arc;

use crate::provider::ProviderData;
use crate::tfplugin::resource::{EphemeralResource, ListResource};
use crate::tfplugin::{DataSource, Resource};
use crate::vendors::Vendor;

pub mod client;
pub mod config;
pub mod data_groups;
pub mod data_users;
pub mod filter_function;
pub mod group;
pub mod group_member;
pub mod list;
pub mod list_groups;
pub mod list_users;
pub mod members;
pub mod membership_conflicts;
pub mod memberships;
pub mod model;
pub mod oauth2_token;
pub mod user;
pub mod user_password_action;
pub mod versions;

/// How the provider's configuration and messages name this vendor.
pub const VENDOR: Vendor = Vendor {
    block: "scim",
    label: "SCIM",
    url_env: "IDENTITY_SCIM_URL",
    example: "https://idcs-xxxx.identity.oraclecloud.com/admin/v1",
    server: "the SCIM service and its token endpoint",
    credential: "the SCIM token or OAuth2 credentials and the access tokens",
    credential_settings: "`scim.token` (or IDENTITY_SCIM_TOKEN), or the OAuth2 client credentials `scim.client_id` / `scim.client_secret`",
};

/// The vendor's managed resources.
pub fn resources() -> Vec<Arc<dyn Resource<ProviderData>>> {
    vec![
        Arc::new(user::ScimUserResource),
        Arc::new(group::ScimGroupResource),
        Arc::new(group_member::ScimGroupMemberResource),
        Arc::new(memberships::ScimUserGroupMembershipsResource),
    ]
}

/// The vendor's data sources.
pub fn data_sources() -> Vec<Arc<dyn DataSource<ProviderData>>> {
    vec![Arc::new(data_users::ScimUsersDataSource), Arc::new(data_groups::ScimGroupsDataSource)]
}

/// The vendor's list resources.
pub fn list_resources() -> Vec<Arc<dyn ListResource<ProviderData>>> {
    vec![Arc::new(list_users::ScimUsersList), Arc::new(list_groups::ScimGroupsList)]
}

/// The vendor's ephemeral resources.
pub fn ephemeral_resources() -> Vec<Arc<dyn EphemeralResource<ProviderData>>> {
    vec![Arc::new(oauth2_token::OAuth2TokenEphemeral)]
}

/// Provider-defined functions of this vendor.
pub fn functions() -> Vec<Arc<dyn crate::tfplugin::function::Function>> {
    vec![Arc::new(filter_function::ScimFilterFunction)]
}

/// Actions of this vendor.
pub fn actions() -> Vec<Arc<dyn crate::tfplugin::action::Action<ProviderData>>> {
    vec![Arc::new(user_password_action::UserPasswordAction)]
}
