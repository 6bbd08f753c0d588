//! Run:ai: external identity providers (`identity_idp`, with their mappers inline or in
//! `identity_idp_mappers`), their data sources and `terraform query` listing.

use std::sync::Arc;

use crate::provider::ProviderData;
use crate::tfplugin::resource::ListResource;
use crate::tfplugin::{DataSource, Resource};
use crate::vendors::Vendor;

pub mod alias;
pub mod client;
pub mod config;
pub mod data_idp;
pub mod data_idp_mappers;
pub mod data_idps;
pub mod idp;
pub mod idp_mappers;
pub mod list_idps;
pub mod saml_metadata;
pub mod url_rule;

/// How the provider's configuration and messages name this vendor.
pub const VENDOR: Vendor = Vendor {
    block: "runai",
    label: "Run:ai",
    url_env: "IDENTITY_RUNAI_URL",
    example: "https://app.run.ai",
    server: "the Run:ai server",
    credential: "the Run:ai token",
    credential_settings: "`runai.token` (or IDENTITY_RUNAI_TOKEN): an API application token of the tenant",
};

/// The vendor's managed resources.
pub fn resources() -> Vec<Arc<dyn Resource<ProviderData>>> {
    vec![Arc::new(idp::IdpResource), Arc::new(idp_mappers::IdpMappersResource)]
}

/// The vendor's data sources.
pub fn data_sources() -> Vec<Arc<dyn DataSource<ProviderData>>> {
    vec![Arc::new(data_idp::IdpDataSource), Arc::new(data_idps::IdpsDataSource), Arc::new(data_idp_mappers::IdpMappersDataSource)]
}

/// The vendor's list resources.
pub fn list_resources() -> Vec<Arc<dyn ListResource<ProviderData>>> {
    vec![Arc::new(list_idps::IdpsList)]
}

/// Provider-defined functions of this vendor.
pub fn functions() -> Vec<Arc<dyn crate::tfplugin::function::Function>> {
    vec![Arc::new(saml_metadata::SamlMetadataFunction), Arc::new(alias::IdpAliasFunction)]
}
