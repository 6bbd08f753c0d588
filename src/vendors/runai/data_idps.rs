//! `identity_idps` data source: every Run:ai identity provider, in one request.

use async_trait::async_trait;
use serde::Serialize;

use super::data_idp::{IdpInfo, idp_info_attributes};
use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, to_value};
use crate::tfplugin::{Attribute, DataSource, Diagnostics, Nesting, Schema, StateResult, Value};

pub const TYPE_NAME: &str = "identity_idps";

pub struct IdpsDataSource;

#[derive(Default, Serialize)]
struct Model {
    idps: Vec<IdpInfo>,
}

impl crate::tfplugin::model::Model for Model {
    fn schema() -> Schema {
        IdpsDataSource::schema_static()
    }
}

impl IdpsDataSource {
    fn schema_static() -> Schema {
        let mut item = vec![Attribute::string("alias").computed().describe("Alias of the identity provider.")];
        item.extend(idp_info_attributes());
        Schema::new(
            "Lists every Run:ai identity provider, sorted by alias. Secrets are never exposed.",
            vec![Attribute::nested("idps", Nesting::List, item).computed().describe("The identity providers.")],
        )
    }
}

#[async_trait]
impl DataSource<ProviderData> for IdpsDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Self::schema_static()
    }

    async fn read(&self, data: &ProviderData, _config: &Value) -> Result<StateResult, Diagnostics> {
        let c = data.runai()?;
        let mut idps = c.list_idps().await.map_err(|e| crate::vendors::failure::api_diag("Unable to list identity providers", &e))?;
        idps.sort_by(|a, b| a.alias.cmp(&b.alias));
        let model = Model { idps: idps.iter().map(IdpInfo::from_api).collect() };
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
