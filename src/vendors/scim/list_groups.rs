//! `identity_scim_group` list resource: SCIM groups of the identity domain, optionally
//! filtered, for `terraform query`.

use async_trait::async_trait;

use crate::provider::ProviderData;
use crate::tfplugin::resource::{ListRequest, ListResource, ListSink};
use crate::tfplugin::{Attribute, Diagnostics, Schema, Validator};

pub struct ScimGroupsList;

#[async_trait]
impl ListResource<ProviderData> for ScimGroupsList {
    fn type_name(&self) -> &'static str {
        crate::vendors::scim::group::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Finds SCIM groups of the identity domain, for `terraform query`: each result is an `identity_scim_group` with its identity (the SCIM `id`), shown by its `displayName`.",
            vec![
                Attribute::string("filter")
                    .optional()
                    .describe("SCIM filter expression (RFC 7644 section 3.4.2.2), e.g. `displayName co \"admins\"`; `provider::identity::scim_filter(\"displayName\", \"co\", \"admins\")` builds it with the value correctly quoted. All groups when unset.")
                    .validate(Validator::non_empty()),
            ],
        )
    }

    async fn list(&self, data: &ProviderData, req: &ListRequest, sink: &ListSink) -> Result<(), Diagnostics> {
        let filter = req.config.get("filter").as_str().map(str::to_string);
        super::list::list_scim::<super::model::Group>(data, filter.as_deref(), sink).await
    }
}
