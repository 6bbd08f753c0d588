//! `identity_oidc_staged_groups`: every OIDC group a Landscape import session staged
//! (`GET /api/v2/oidc/groups/staged`), fetched page by page (see
//! [`crate::vendors::landscape::client`] for the paging parameters).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, from_value, to_value};
use crate::tfplugin::schema::Nesting;
use crate::tfplugin::{AttrPath, Attribute, DataSource, Diagnostic, Diagnostics, Schema, StateResult, Value};
use crate::vendors::landscape::client::{STAGED_PAGE_SIZE, StagedGroup};
use crate::vendors::landscape::oidc_group_import::positive_whole_number;

pub const TYPE_NAME: &str = "identity_oidc_staged_groups";

pub struct OidcStagedGroupsDataSource;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Model {
    import_session_id: Option<i64>,
    include_imported: Option<bool>,
    groups: Option<Vec<GroupModel>>,
    group_count: Option<i64>,
}

impl crate::tfplugin::model::Model for Model {
    fn schema() -> Schema {
        OidcStagedGroupsDataSource::schema_static()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct GroupModel {
    id: i64,
    group_id: String,
    name: String,
    issuer_id: Option<i64>,
    account_id: Option<i64>,
    import_session_id: Option<i64>,
}

impl From<StagedGroup> for GroupModel {
    fn from(g: StagedGroup) -> Self {
        GroupModel {
            id: g.id,
            group_id: g.group_id,
            name: g.name,
            issuer_id: g.issuer_id,
            account_id: g.account_id,
            import_session_id: g.import_session_id,
        }
    }
}

impl OidcStagedGroupsDataSource {
    fn schema_static() -> Schema {
        Schema::new(
            format!(
                "The OIDC groups a Canonical Landscape import session staged (see the `identity_oidc_group_import` \
                 resource). The provider pages through Landscape's listing ({STAGED_PAGE_SIZE} groups a request, \
                 `limit`/`offset`) until it holds every group. A session that is still running has staged nothing yet: \
                 the list is empty, with a warning."
            ),
            vec![
                Attribute::number("import_session_id")
                    .required()
                    .describe("Id of the import session, e.g. `identity_oidc_group_import.example.id`.")
                    .validate(positive_whole_number()),
                Attribute::bool("include_imported")
                    .default_value(false)
                    .describe("Also list the groups that have already been imported into Landscape."),
                Attribute::nested(
                    "groups",
                    Nesting::List,
                    vec![
                        Attribute::number("id").computed().describe("Id of the staged group."),
                        Attribute::string("group_id").computed().describe("The group's id at the OIDC identity provider."),
                        Attribute::string("name").computed().describe("The group's name."),
                        Attribute::number("issuer_id").computed().describe("Id of the OIDC issuer."),
                        Attribute::number("account_id").computed().describe("The Landscape account."),
                        Attribute::number("import_session_id").computed().describe("The import session that staged the group."),
                    ],
                )
                .computed()
                .describe("The staged groups, in Landscape's order (by id)."),
                // Not `count`: Terraform refuses references to an attribute of that name
                // ("Invalid resource count attribute"), so it could never be read.
                Attribute::number("group_count").computed().describe("How many groups `groups` holds."),
            ],
        )
    }
}

#[async_trait]
impl DataSource<ProviderData> for OidcStagedGroupsDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Self::schema_static()
    }

    async fn read(&self, data: &ProviderData, config: &Value) -> Result<StateResult, Diagnostics> {
        let c = data.landscape_client()?;
        let cfg: Model = from_value(config)?;
        let path = AttrPath::attrs(&["import_session_id"]);
        let id = cfg.import_session_id.ok_or_else(|| {
            Diagnostics::from(Diagnostic::error("Missing import_session_id", "import_session_id is required.").at(path.clone()))
        })?;
        let include_imported = cfg.include_imported.unwrap_or(false);

        let mut diags = Diagnostics::new();
        let session = c
            .get_import_session(id)
            .await
            .map_err(|e| crate::vendors::failure::api_diag("Unable to read the OIDC group import session", &e))?
            .ok_or_else(|| {
                Diagnostics::from(
                    Diagnostic::error("OIDC group import session not found", format!("Landscape has no import session {id}."))
                        .at(path.clone()),
                )
            })?;
        if session.in_progress() {
            diags.push(
                Diagnostic::warning(
                    "OIDC group import still running",
                    format!(
                        "Import session {id} is {}: Landscape stages its groups when it completes, so the list is empty for now. \
                         Let identity_oidc_group_import wait for it (wait_for_completion = true).",
                        session.status
                    ),
                )
                .at(path.clone()),
            );
        } else if !session.completed() {
            diags.push(
                Diagnostic::warning(
                    "OIDC group import did not complete",
                    format!("Import session {id} ended with status {}: it staged no groups.", session.status),
                )
                .at(path.clone()),
            );
        }

        let listing = c
            .list_staged(id, include_imported)
            .await
            .map_err(|e| crate::vendors::failure::api_diag("Unable to list the staged OIDC groups", &e))?;
        tracing::debug!(session_id = id, groups = listing.groups.len(), pages = listing.pages, "listed staged OIDC groups");
        if let Some(reported) = listing.reported_count.filter(|n| *n != listing.groups.len() as u64) {
            diags.warning(
                "Staged OIDC groups changed while they were listed",
                format!("Landscape reported {reported} staged groups for import session {id} but returned {}.", listing.groups.len()),
            );
        }
        let groups: Vec<GroupModel> = listing.groups.into_iter().map(GroupModel::from).collect();
        let m = Model {
            import_session_id: Some(id),
            include_imported: Some(include_imported),
            group_count: Some(groups.len() as i64),
            groups: Some(groups),
        };
        Ok(StateResult { state: to_value(&m, Model::ty())?, private: Vec::new(), diags })
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
