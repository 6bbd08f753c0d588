//! `identity_user_oidc` list resource: Fudo's user-to-OIDC assignments, for
//! `terraform query` (one list request answers them all).

use async_trait::async_trait;

use crate::provider::ProviderData;
use crate::tfplugin::resource::{ListRequest, ListResource, ListSink, ListedObject};
use crate::tfplugin::{Attribute, Diagnostics, Schema, Validator, Value};

pub struct UserOidcList;

#[async_trait]
impl ListResource<ProviderData> for UserOidcList {
    fn type_name(&self) -> &'static str {
        crate::vendors::fudo::user_oidc::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Finds Fudo's user-to-OIDC assignments, for `terraform query`: each result is an `identity_user_oidc` with its identity (`user_id` and `oidc_id`), shown as `user name -> oidc_id`.",
            vec![
                Attribute::string("user_id")
                    .optional()
                    .describe("Only the assignments of this Fudo user id (decimal digits). All when unset.")
                    .validate(Validator::matches(r"^[0-9]+$", "a Fudo id: decimal digits")),
                Attribute::string("oidc_id")
                    .optional()
                    .describe("Only the assignments to this Fudo OIDC configuration id (decimal digits). All when unset.")
                    .validate(Validator::matches(r"^[0-9]+$", "a Fudo id: decimal digits")),
            ],
        )
    }

    async fn list(&self, data: &ProviderData, req: &ListRequest, sink: &ListSink) -> Result<(), Diagnostics> {
        let user = req.config.get("user_id").as_str().map(str::to_string);
        let oidc = req.config.get("oidc_id").as_str().map(str::to_string);
        let found =
            data.fudo_client()?.list().await.map_err(|e| crate::vendors::failure::api_diag("Unable to list user OIDC assignments", &e))?;
        for a in found {
            if user.as_deref().is_some_and(|u| u != a.user_id) || oidc.as_deref().is_some_and(|o| o != a.oidc_id) {
                continue;
            }
            let who = a.user_name.clone().unwrap_or_else(|| a.user_id.clone());
            let display_name = format!("{who} -> {}", a.oidc_id);
            let identity = Value::object_of(&[("user_id", Value::string(a.user_id)), ("oidc_id", Value::string(a.oidc_id))]);
            if !sink.send(ListedObject { identity, display_name }).await {
                break;
            }
        }
        Ok(())
    }
}
