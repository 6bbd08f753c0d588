//! Managed resources, one file each.

use std::sync::Arc;

use crate::provider::ProviderData;
use crate::tfplugin::Resource;

pub mod idp;
pub mod idp_mappers;
pub mod oidc_group_import;
pub mod user_oidc;

/// Every resource the provider serves.
pub fn all() -> Vec<Arc<dyn Resource<ProviderData>>> {
    vec![
        Arc::new(idp::IdpResource),
        Arc::new(idp_mappers::IdpMappersResource),
        Arc::new(oidc_group_import::OidcGroupImportResource),
        Arc::new(user_oidc::UserOidcResource),
    ]
}
