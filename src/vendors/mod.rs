//! The four vendors, one folder each: its client (typed models of its objects over the
//! shared HTTP layer in [`crate::http`]), its provider block, and its resources, data
//! sources, list resources and ephemeral resources. What they share sits here: the
//! [`Vendor`] table the provider's configuration and the failure messages read, the
//! failure messages themselves ([`failure`]) and the plan-time [`rules`].

use std::sync::Arc;

use crate::provider::ProviderData;
use crate::tfplugin::resource::{EphemeralResource, ListResource};
use crate::tfplugin::{DataSource, Resource};

pub mod failure;
pub mod fudo;
pub mod landscape;
pub mod rules;
pub mod runai;
pub mod scim;
#[cfg(test)]
mod tolerance_tests;

/// Every resource the provider serves.
pub fn resources() -> Vec<Arc<dyn Resource<ProviderData>>> {
    [runai::resources(), landscape::resources(), fudo::resources(), scim::resources()].concat()
}

/// Every data source the provider serves.
pub fn data_sources() -> Vec<Arc<dyn DataSource<ProviderData>>> {
    [runai::data_sources(), landscape::data_sources(), fudo::data_sources(), scim::data_sources()].concat()
}

/// Every ephemeral resource the provider serves.
pub fn ephemeral_resources() -> Vec<Arc<dyn EphemeralResource<ProviderData>>> {
    scim::ephemeral_resources()
}

/// Every list resource (`terraform query`, Terraform 1.14+) the provider serves. Each
/// names the objects of one managed resource type by their resource identity; the
/// framework reads the full objects through the resource when Terraform asks for them.
pub fn list_resources() -> Vec<Arc<dyn ListResource<ProviderData>>> {
    [scim::list_resources(), runai::list_resources(), fudo::list_resources()].concat()
}

/// Every provider-defined function (`provider::identity::<name>`).
pub fn functions() -> Vec<Arc<dyn crate::tfplugin::function::Function>> {
    [scim::functions(), runai::functions(), fudo::functions(), landscape::functions()].concat()
}

/// Every action (Terraform 1.14+).
pub fn actions() -> Vec<Arc<dyn crate::tfplugin::action::Action<ProviderData>>> {
    [landscape::actions(), scim::actions()].concat()
}

/// One vendor block: its name, its name in messages, the environment variable of its URL,
/// an example URL, what serves it and the credential sent to it.
pub struct Vendor {
    pub block: &'static str,
    pub label: &'static str,
    pub url_env: &'static str,
    pub example: &'static str,
    pub server: &'static str,
    pub credential: &'static str,
    /// The settings of that credential, for a diagnostic that says which to check.
    pub credential_settings: &'static str,
}

/// Every vendor, in the order of the provider's blocks.
pub const VENDORS: [&Vendor; 4] = [&runai::VENDOR, &fudo::VENDOR, &scim::VENDOR, &landscape::VENDOR];

/// The vendor whose HTTP layer uses `label` in messages ("Run:ai", "SCIM", ...).
pub fn by_label(label: &str) -> Option<&'static Vendor> {
    VENDORS.into_iter().find(|v| v.label == label)
}
