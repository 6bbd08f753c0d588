//! `identity_scim_user` list resource: SCIM users of the identity domain, optionally
//! filtered, for `terraform query`.

use async_trait::async_trait;

use crate::provider::ProviderData;
use crate::tfplugin::resource::{ListRequest, ListResource, ListSink};
use crate::tfplugin::{Attribute, Diagnostics, Schema, Validator};

pub struct ScimUsersList;

#[async_trait]
impl ListResource<ProviderData> for ScimUsersList {
    fn type_name(&self) -> &'static str {
        crate::vendors::scim::user::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Finds SCIM users of the identity domain, for `terraform query`: each result is an `identity_scim_user` with its identity (the SCIM `id`), shown by its `userName`.",
            vec![
                Attribute::string("filter")
                    .optional()
                    .describe("SCIM filter expression (RFC 7644 section 3.4.2.2), e.g. `userName sw \"a\"`; `provider::identity::scim_filter(\"userName\", \"sw\", \"a\")` builds it with the value correctly quoted. All users when unset.")
                    .validate(Validator::non_empty()),
            ],
        )
    }

    async fn list(&self, data: &ProviderData, req: &ListRequest, sink: &ListSink) -> Result<(), Diagnostics> {
        let filter = req.config.get("filter").as_str().map(str::to_string);
        super::list::list_scim::<super::model::User>(data, filter.as_deref(), sink).await
    }
}
