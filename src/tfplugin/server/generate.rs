//! GenerateResourceConfig (Terraform 1.14+): the configuration that reproduces a state,
//! for `terraform plan -generate-config-out` and `terraform query -generate-config-out`.

use super::proto::tfplugin6 as pb;
use super::service::ProviderService;
use crate::tfplugin::diag::Diagnostics;
use crate::tfplugin::resource::Provider;

impl<P: Provider> ProviderService<P> {
    /// The configuration for `r.state`.
    pub(super) fn generate_config(
        &self,
        r: &pb::generate_resource_config::Request,
    ) -> Result<pb::generate_resource_config::Response, Diagnostics> {
        Err(super::call::unsupported("Configuration generation", &r.type_name))
    }
}
