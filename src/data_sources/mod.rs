//! Data sources, one file each.

use std::sync::Arc;

use crate::provider::ProviderData;
use crate::tfplugin::DataSource;

pub mod idp;
pub mod idp_mappers;
pub mod idps;
pub mod oidc_staged_groups;
pub mod scim_groups;
pub mod scim_users;
pub mod user_oidc_assignments;

/// Every data source the provider serves.
pub fn all() -> Vec<Arc<dyn DataSource<ProviderData>>> {
    vec![
        Arc::new(idp::IdpDataSource),
        Arc::new(idps::IdpsDataSource),
        Arc::new(idp_mappers::IdpMappersDataSource),
        Arc::new(oidc_staged_groups::OidcStagedGroupsDataSource),
        Arc::new(user_oidc_assignments::UserOidcAssignmentsDataSource),
        Arc::new(scim_users::ScimUsersDataSource),
        Arc::new(scim_groups::ScimGroupsDataSource),
    ]
}
