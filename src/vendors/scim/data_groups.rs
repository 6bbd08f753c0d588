//! `identity_scim_groups` data source: SCIM groups matching an optional filter, or the
//! groups a user belongs to (`members[value eq "<id>"]`, as the membership resources read it), read in
//! pages until `totalResults`.

use async_trait::async_trait;
use serde::Serialize;

use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, to_value};
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{Attribute, DataSource, Diagnostics, Nesting, Schema, StateResult, Value};
use crate::vendors::failure::api_diag;
use crate::vendors::scim::client::quote;
use crate::vendors::scim::model::{Group, GroupAttributes};

pub const TYPE_NAME: &str = "identity_scim_groups";

pub struct ScimGroupsDataSource;

#[derive(Default, Serialize)]
struct Model {
    filter: Option<String>,
    member_user_id: Option<String>,
    /// Each group as `identity_scim_group` shows it, without its members.
    groups: Vec<GroupAttributes>,
}

impl crate::tfplugin::model::Model for Model {
    fn schema() -> Schema {
        schema()
    }
}

fn schema() -> Schema {
    Schema::new(
        "Lists SCIM groups, optionally filtered with a SCIM filter, or only the groups a given user belongs to.",
        vec![
            Attribute::string("filter")
                .optional()
                .describe(
                    "SCIM filter expression, e.g. `displayName sw \"eng-\"`; build it with `provider::identity::scim_filter(\"displayName\", \"sw\", \"eng-\")` so that values are quoted correctly. Combined with `member_user_id` by `and` when both are set.",
                )
                .validate(Validator::non_empty()),
            Attribute::string("member_user_id")
                .optional()
                .describe(
                    "Only groups this user (SCIM id) is a member of, via the filter `members[value eq \"<id>\"]` (from the groups' own members, on any SCIM 2.0 server).",
                )
                .validate(crate::vendors::rules::scim_id()),
            Attribute::nested(
                "groups",
                Nesting::List,
                vec![
                    Attribute::string("id").computed().describe("SCIM id."),
                    Attribute::string("ocid").computed().describe("Oracle Cloud ID (empty on other servers)."),
                    Attribute::string("display_name").computed().describe("Group name."),
                    Attribute::string("description").computed().describe("Description (Oracle's group extension)."),
                    Attribute::string("external_id").computed().describe("External id."),
                ],
            )
            .computed()
            .describe("The matching groups, in the server's order."),
        ],
    )
}

#[async_trait]
impl DataSource<ProviderData> for ScimGroupsDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(&self, data: &ProviderData, config: &Value) -> Result<StateResult, Diagnostics> {
        let c = data.scim_client()?;
        let filter = config.get("filter").as_str().map(str::to_string);
        let member = config.get("member_user_id").as_str().map(str::to_string);
        let member_filter = member.as_ref().map(|u| format!("members[value eq {}]", quote(u)));
        let combined = match (&filter, &member_filter) {
            (Some(f), Some(m)) => Some(format!("({f}) and {m}")),
            (Some(f), None) => Some(f.clone()),
            (None, Some(m)) => Some(m.clone()),
            (None, None) => None,
        };
        let found: Vec<Group> = c
            .list_all(combined.as_deref(), &[("excludedAttributes", "members".to_string())])
            .await
            .map_err(|e| api_diag("Unable to list groups", &e))?;
        let groups = found.iter().map(GroupAttributes::from_api).collect();
        Ok(StateResult::state(to_value(&Model { filter, member_user_id: member, groups }, Model::ty())?))
    }
}

#[cfg(test)]
mod model_tests {
    /// Every attribute of the schema has a field in the model, and no field is extra.
    #[test]
    fn the_model_and_the_schema_have_the_same_attributes() {
        assert_eq!(crate::tfplugin::model::model_mismatch::<super::Model>(), None);
    }
}
