//! `identity_user_oidc_assignments` data source: Fudo's assignments of OpenID Connect
//! configurations to users (`GET /api/v2/user/oidc`), optionally for one user.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, from_value, to_value};
use crate::tfplugin::{Attribute, DataSource, Diagnostics, Nesting, Schema, StateResult, Value};
use crate::vendors::fudo::user_oidc::{UserOidcModel, id_validator, read_only_attributes};

pub const TYPE_NAME: &str = "identity_user_oidc_assignments";

pub struct UserOidcAssignmentsDataSource;

#[derive(Default, Serialize, Deserialize)]
struct Model {
    user_id: Option<String>,
    assignments: Option<Vec<UserOidcModel>>,
}

impl crate::tfplugin::model::Model for Model {
    fn schema() -> Schema {
        UserOidcAssignmentsDataSource::schema_static()
    }
}

impl UserOidcAssignmentsDataSource {
    fn schema_static() -> Schema {
        let mut item = vec![
            Attribute::string("id").computed().describe("`<user_id>/<oidc_id>`: the import ID of the matching `identity_user_oidc`."),
            Attribute::string("user_id").computed().describe("Id of the Fudo user (a decimal string)."),
            Attribute::string("oidc_id").computed().describe("Id of the OpenID Connect configuration (a decimal string)."),
            Attribute::string("oidc_sub").computed().describe("The `sub` claim that identifies the user to the identity provider."),
        ];
        item.extend(read_only_attributes());
        Schema::new(
            "Lists Fudo PAM's assignments of OpenID Connect configurations to users (including built-in ones), \
             in the order Fudo returns them; optionally only those of one user.",
            vec![
                Attribute::string("user_id")
                    .optional()
                    .describe("Only the assignments of this Fudo user (its id, as a string). All users when unset.")
                    .validate(id_validator()),
                Attribute::nested("assignments", Nesting::List, item).computed().describe("The assignments."),
            ],
        )
    }
}

#[async_trait]
impl DataSource<ProviderData> for UserOidcAssignmentsDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Self::schema_static()
    }

    async fn read(&self, data: &ProviderData, config: &Value) -> Result<StateResult, Diagnostics> {
        let c = data.fudo_client()?;
        let cfg: Model = from_value(config)?;
        let all = c.list().await.map_err(|e| crate::vendors::failure::api_diag("Unable to list user OIDC assignments", &e))?;
        let assignments =
            all.iter().filter(|a| cfg.user_id.as_deref().is_none_or(|u| a.user_id == u)).map(UserOidcModel::from_api).collect();
        let model = Model { user_id: cfg.user_id, assignments: Some(assignments) };
        Ok(StateResult::state(to_value(&model, Model::ty())?))
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
