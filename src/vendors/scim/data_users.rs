//! `identity_scim_users` data source: SCIM users matching an optional filter, read in
//! pages (`startIndex` / `count`) until `totalResults`.

use async_trait::async_trait;
use serde::Serialize;

use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, to_value};
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{Attribute, DataSource, Diagnostics, Nesting, Schema, StateResult, Type, Value};
use crate::vendors::failure::api_diag;
use crate::vendors::scim::model::{User, UserAttributes};

pub const TYPE_NAME: &str = "identity_scim_users";

pub struct ScimUsersDataSource;

#[derive(Default, Serialize)]
struct Model {
    filter: Option<String>,
    users: Vec<UserInfo>,
}

impl crate::tfplugin::model::Model for Model {
    fn schema() -> Schema {
        schema()
    }
}

/// A user as `identity_scim_user` shows it, but for the emails: every address the
/// server holds, as text.
#[derive(Serialize)]
struct UserInfo {
    #[serde(flatten)]
    user: UserAttributes,
    emails: Vec<String>,
}

impl UserInfo {
    fn from_api(u: &User) -> Self {
        UserInfo { user: UserAttributes::from_api(u), emails: u.emails.iter().flatten().filter_map(|e| e.value.clone()).collect() }
    }
}

fn schema() -> Schema {
    Schema::new(
        "Lists SCIM users, optionally filtered with a SCIM filter (RFC 7644 section 3.4.2.2), e.g. `userName sw \"a\"`.",
        vec![
            Attribute::string("filter")
                .optional()
                .describe("SCIM filter expression, e.g. `userName eq \"jane@example.com\"` or `active eq true and name.familyName co \"son\"`; build it with `provider::identity::scim_filter(\"userName\", \"eq\", var.email)` so that values are quoted correctly. All users when unset.")
                .validate(Validator::non_empty()),
            Attribute::nested(
                "users",
                Nesting::List,
                vec![
                    Attribute::string("id").computed().describe("SCIM id."),
                    Attribute::string("ocid").computed().describe("Oracle Cloud ID (empty on other servers)."),
                    Attribute::string("user_name").computed().describe("User name."),
                    Attribute::string("display_name").computed().describe("Display name."),
                    Attribute::string("given_name").computed().describe("Given name."),
                    Attribute::string("family_name").computed().describe("Family name."),
                    Attribute::bool("active").computed().describe("Whether the user may sign in."),
                    Attribute::string("external_id").computed().describe("External id."),
                    Attribute::list_of("emails", Type::String).computed().describe("Email addresses."),
                ],
            )
            .computed()
            .describe("The matching users, in the server's order."),
        ],
    )
}

#[async_trait]
impl DataSource<ProviderData> for ScimUsersDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(&self, data: &ProviderData, config: &Value) -> Result<StateResult, Diagnostics> {
        let c = data.scim_client()?;
        let filter = config.get("filter").as_str().map(str::to_string);
        let found: Vec<User> = c.list_all(filter.as_deref(), &[]).await.map_err(|e| api_diag("Unable to list users", &e))?;
        let users = found.iter().map(UserInfo::from_api).collect();
        Ok(StateResult::state(to_value(&Model { filter, users }, Model::ty())?))
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
