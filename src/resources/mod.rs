//! Managed resources, one file each.

use std::sync::Arc;

use crate::provider::ProviderData;
use crate::tfplugin::Resource;

pub mod idp;

/// Every resource the provider serves.
pub fn all() -> Vec<Arc<dyn Resource<ProviderData>>> {
    vec![Arc::new(idp::IdpResource)]
}
