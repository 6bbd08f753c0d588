//! `identity_idp_mappers` data source: the claim mappers of one Run:ai identity provider.

use async_trait::async_trait;
use serde::Serialize;

use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, to_value};
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{Attribute, DataSource, Diagnostic, Diagnostics, Schema, StateResult, Value};
use crate::vendors::runai::idp::{ALIAS_PATTERN, MappersModel, mapper_attributes};

pub const TYPE_NAME: &str = "identity_idp_mappers";

pub struct IdpMappersDataSource;

#[derive(Default, Serialize)]
struct Model {
    idp: String,
    #[serde(flatten)]
    mappers: MappersModel,
}

impl crate::tfplugin::model::Model for Model {
    fn schema() -> Schema {
        IdpMappersDataSource::schema_static()
    }
}

impl IdpMappersDataSource {
    fn schema_static() -> Schema {
        let mut attrs = vec![
            Attribute::string("idp")
                .required()
                .describe("Alias of the identity provider.")
                .validate(Validator::matches(ALIAS_PATTERN, "an idp alias: lower-case letters, digits, '-' and '_'")),
        ];
        attrs.extend(mapper_attributes(|a| a.computed()));
        Schema::new("Reads the claim mappers of a Run:ai identity provider.", attrs)
    }
}

#[async_trait]
impl DataSource<ProviderData> for IdpMappersDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Self::schema_static()
    }

    async fn read(&self, data: &ProviderData, config: &Value) -> Result<StateResult, Diagnostics> {
        let c = data.runai()?;
        let alias = config.get("idp").as_str().unwrap_or_default().to_string();
        let m =
            c.get_mappers(&alias).await.map_err(|e| crate::vendors::failure::api_diag("Unable to read mappers", &e))?.ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "Identity provider not found",
                    format!("Run:ai has no identity provider with alias \"{alias}\"."),
                ))
            })?;
        Ok(StateResult::state(to_value(&Model { idp: alias, mappers: MappersModel::from_api(&m) }, Model::ty())?))
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
