//! The work of ReadDataSource: the data source's read under StopProvider's
//! cancellation and its own time limit (every request, retry and page included), and
//! the wholly known result.

use super::call::check_known;
use super::convert::{decode_dv, diags_to_pb, encode_dv};
use super::proto::tfplugin6 as pb;
use super::service::ProviderService;
use crate::tfplugin::diag::{Diagnostic, Diagnostics};
use crate::tfplugin::resource::Provider;

impl<P: Provider> ProviderService<P> {
    /// ReadDataSource: the data source's result, or an error once its read timeout ran
    /// out.
    pub(super) async fn read_data(&self, r: &pb::read_data_source::Request) -> Result<pb::read_data_source::Response, Diagnostics> {
        let e = self.data_source(&r.type_name)?;
        let config = decode_dv(r.config.as_ref(), &e.ty, "data source configuration")?;
        let data = self.require_configured()?;
        let limit = e.imp.read_timeout();
        let res = match tokio::time::timeout(limit, self.stop.run(e.imp.read(&data, &config))).await {
            Ok(res) => res?,
            Err(_) => {
                return Err(Diagnostic::error(
                    format!("Reading {} timed out", r.type_name),
                    format!(
                        "The read did not finish within {}s (every request, retry and page included); it was stopped. \
                         The server may be overloaded or may not stop sending pages.",
                        limit.as_secs()
                    ),
                )
                .into());
            }
        };
        check_known(&res.state, &r.type_name, "read")?;
        Ok(pb::read_data_source::Response {
            state: Some(encode_dv(&res.state, &e.ty, "data source state")?),
            diagnostics: diags_to_pb(&res.diags),
            deferred: None,
        })
    }
}
