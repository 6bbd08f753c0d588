//! Fudo PAM: assignments of users to OpenID Connect configurations (`identity_user_oidc`).

use std::sync::Arc;

use crate::provider::ProviderData;
use crate::tfplugin::resource::ListResource;
use crate::tfplugin::{DataSource, Resource};
use crate::vendors::Vendor;

pub mod client;
pub mod config;
pub mod data_user_oidc_assignments;
pub mod id_functions;
pub mod list_user_oidc;
pub mod user_oidc;

/// How the provider's configuration and messages name this vendor.
pub const VENDOR: Vendor = Vendor {
    block: "fudo",
    label: "Fudo",
    url_env: "IDENTITY_FUDO_URL",
    example: "https://fudo.example.com",
    server: "the Fudo server",
    credential: "the Fudo API key",
    credential_settings: "`fudo.api_key` (or IDENTITY_FUDO_API_KEY): Fudo expects the raw API key in the Authorization header",
};

/// The vendor's managed resources.
pub fn resources() -> Vec<Arc<dyn Resource<ProviderData>>> {
    vec![Arc::new(user_oidc::UserOidcResource)]
}

/// The vendor's data sources.
pub fn data_sources() -> Vec<Arc<dyn DataSource<ProviderData>>> {
    vec![Arc::new(data_user_oidc_assignments::UserOidcAssignmentsDataSource)]
}

/// The vendor's list resources.
pub fn list_resources() -> Vec<Arc<dyn ListResource<ProviderData>>> {
    vec![Arc::new(list_user_oidc::UserOidcList)]
}

/// Provider-defined functions of this vendor.
pub fn functions() -> Vec<Arc<dyn crate::tfplugin::function::Function>> {
    vec![Arc::new(id_functions::UserOidcIdFunction), Arc::new(id_functions::ParseUserOidcIdFunction)]
}
