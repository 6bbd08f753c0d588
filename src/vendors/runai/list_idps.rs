//! `identity_idp` list resource: the Run:ai identity providers, for `terraform query`
//! (one list request answers them all).

use async_trait::async_trait;

use crate::provider::ProviderData;
use crate::tfplugin::resource::{ListRequest, ListResource, ListSink, ListedObject};
use crate::tfplugin::{Attribute, Diagnostics, Schema, Validator, Value};

pub struct IdpsList;

#[async_trait]
impl ListResource<ProviderData> for IdpsList {
    fn type_name(&self) -> &'static str {
        crate::vendors::runai::idp::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Finds the Run:ai identity providers, for `terraform query`: each result is an `identity_idp` with its identity (the `alias`), shown as `alias (type)`.",
            vec![
                Attribute::string("type")
                    .optional()
                    .describe("Only identity providers of this type: `oidc`, `saml` or `openshift-v4`. All when unset.")
                    .validate(Validator::one_of(&["oidc", "saml", "openshift-v4"])),
            ],
        )
    }

    async fn list(&self, data: &ProviderData, req: &ListRequest, sink: &ListSink) -> Result<(), Diagnostics> {
        let kind = req.config.get("type").as_str().map(str::to_string);
        let idps =
            data.runai()?.list_idps().await.map_err(|e| crate::vendors::failure::api_diag("Unable to list identity providers", &e))?;
        for idp in idps.into_iter().filter(|i| kind.as_deref().is_none_or(|k| i.kind == k)) {
            let display_name = format!("{} ({})", idp.alias, idp.kind);
            if !sink.send(ListedObject { identity: Value::object_of(&[("alias", Value::string(idp.alias))]), display_name }).await {
                break;
            }
        }
        Ok(())
    }
}
