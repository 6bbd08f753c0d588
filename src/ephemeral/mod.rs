//! Ephemeral resources, one file each.

use std::sync::Arc;

use crate::provider::ProviderData;
use crate::tfplugin::resource::EphemeralResource;

pub mod oauth2_token;

/// Every ephemeral resource the provider serves.
pub fn all() -> Vec<Arc<dyn EphemeralResource<ProviderData>>> {
    vec![Arc::new(oauth2_token::OAuth2TokenEphemeral)]
}
