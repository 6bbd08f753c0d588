//! Canonical Landscape: OIDC group import sessions (`identity_oidc_group_import`) and
//! the groups they stage.

use std::sync::Arc;

use crate::provider::ProviderData;
use crate::tfplugin::{DataSource, Resource};
use crate::vendors::Vendor;

pub mod client;
pub mod config;
pub mod data_oidc_staged_groups;
pub mod import_action;
pub mod oidc_group_import;

/// How the provider's configuration and messages name this vendor.
pub const VENDOR: Vendor = Vendor {
    block: "landscape",
    label: "Landscape",
    url_env: "IDENTITY_LANDSCAPE_URL",
    example: "https://landscape.canonical.com",
    server: "the Landscape server",
    credential: "the Landscape token",
    credential_settings: "`landscape.token` (or IDENTITY_LANDSCAPE_TOKEN): a JWT from Landscape's login endpoint, which expires",
};

/// The vendor's managed resources.
pub fn resources() -> Vec<Arc<dyn Resource<ProviderData>>> {
    vec![Arc::new(oidc_group_import::OidcGroupImportResource)]
}

/// The vendor's data sources.
pub fn data_sources() -> Vec<Arc<dyn DataSource<ProviderData>>> {
    vec![Arc::new(data_oidc_staged_groups::OidcStagedGroupsDataSource)]
}

/// Provider-defined functions of this vendor.
pub fn functions() -> Vec<Arc<dyn crate::tfplugin::function::Function>> {
    Vec::new()
}

/// Actions of this vendor.
pub fn actions() -> Vec<Arc<dyn crate::tfplugin::action::Action<ProviderData>>> {
    vec![Arc::new(import_action::OidcGroupImportAction)]
}
