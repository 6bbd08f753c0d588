//! The work of the ephemeral-resource RPCs (Terraform 1.10+): open and renew under
//! StopProvider's cancellation, and close, which runs even when Terraform is stopping.

use super::call::check_known;
use super::convert::{decode_dv, diags_to_pb, encode_dv};
use super::proto::tfplugin6 as pb;
use super::service::ProviderService;
use crate::tfplugin::diag::Diagnostics;
use crate::tfplugin::resource::Provider;

impl<P: Provider> ProviderService<P> {
    /// OpenEphemeralResource: the wholly known result, the private data Terraform hands
    /// back to renew and close, and when to renew.
    pub(super) async fn open_ephemeral(
        &self,
        r: &pb::open_ephemeral_resource::Request,
    ) -> Result<pb::open_ephemeral_resource::Response, Diagnostics> {
        let e = self.ephemeral_resource(&r.type_name)?;
        let config = decode_dv(r.config.as_ref(), &e.ty, "ephemeral resource configuration")?;
        let data = self.require_configured()?;
        let opened = self.stop.run(e.imp.open(&data, &config)).await?;
        check_known(&opened.result, &r.type_name, "open")?;
        let result = encode_dv(&opened.result, &e.ty, "ephemeral result")?;
        Ok(pb::open_ephemeral_resource::Response {
            diagnostics: diags_to_pb(&opened.diags),
            renew_at: opened.renew_at.map(prost_types::Timestamp::from),
            result: Some(result),
            private: Some(opened.private),
            deferred: None,
        })
    }

    /// RenewEphemeralResource: the next renewal, and the private data (the request's
    /// unless the renewal replaces it).
    pub(super) async fn renew_ephemeral(
        &self,
        r: &pb::renew_ephemeral_resource::Request,
    ) -> Result<pb::renew_ephemeral_resource::Response, Diagnostics> {
        let e = self.ephemeral_resource(&r.type_name)?;
        let data = self.require_configured()?;
        let renewed = self.stop.run(e.imp.renew(&data, r.private.as_deref().unwrap_or(&[]))).await?;
        Ok(pb::renew_ephemeral_resource::Response {
            diagnostics: diags_to_pb(&renewed.diags),
            renew_at: renewed.renew_at.map(prost_types::Timestamp::from),
            private: renewed.private.or_else(|| r.private.clone()),
        })
    }

    /// CloseEphemeralResource: the diagnostics of releasing what open obtained.
    pub(super) async fn close_ephemeral(&self, r: &pb::close_ephemeral_resource::Request) -> Result<Diagnostics, Diagnostics> {
        let e = self.ephemeral_resource(&r.type_name)?;
        let data = self.require_configured()?;
        // Closing must happen even when Terraform is stopping: not cancellable.
        Ok(e.imp.close(&data, r.private.as_deref().unwrap_or(&[])).await)
    }
}
