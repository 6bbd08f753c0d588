//! `identity_scim_group`: a SCIM 2.0 group (`/Groups`).
//!
//! `members` is authoritative when set and not managed at all when left out (it then
//! shows the current members, read-only). Updates send only the difference as one
//! PatchOp: `replace` for changed attributes, one `add` for new members and a `remove`
//! per departed member, never the full member list. Members are read from the group's
//! own `members` attribute, which every SCIM 2.0 server has (see
//! [`crate::vendors::scim::members`] for groups too large for one answer). The description lives in Oracle's
//! group extension, which is sent only when a description is set, so plain SCIM
//! servers work too.
//!
//! The private state ([`Private`]) keeps the group's `meta.version`, which updates and
//! deletes send as `If-Match` (see [`super::versions`]).

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::tfplugin::timeouts::Timeouts;

/// Every operation has a timeout; a group is named by its `displayName` (or its id).
const TIMEOUTS: Timeouts = Timeouts::all("the group", |v| match v.get("display_name").as_str() {
    Some(name) => format!("the SCIM group \"{name}\""),
    None => format!("the SCIM group {}", v.get("id").as_str().unwrap_or_default()),
});
use crate::http::ApiError;
use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, from_value, to_value};
use crate::tfplugin::resource::{ImportState, ModifyPlan, ModifyPlanRequest};
use crate::tfplugin::schema::IdentitySchema;
use crate::tfplugin::{ApplyRequest, Attribute, Diagnostic, Diagnostics, Resource, Schema, StateResult, Type, Value};
use crate::vendors::failure::api_diag;
use crate::vendors::rules;
use crate::vendors::scim::client::{PatchOperation, ScimClient};
use crate::vendors::scim::members::user_members;
use crate::vendors::scim::model::{self, Group, GroupAttributes, Member};
use crate::vendors::scim::versions::{Private, changed_on_server, is_stale};

pub const TYPE_NAME: &str = "identity_scim_group";

pub struct ScimGroupResource;

/// The group's attributes (shared with `identity_scim_groups`), and its members.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Model {
    #[serde(flatten)]
    group: GroupAttributes,
    members: Option<BTreeSet<String>>,
}

impl crate::tfplugin::model::Model for Model {
    fn schema() -> Schema {
        schema()
    }
}

fn schema() -> Schema {
    Schema::new(
        "A group of a SCIM 2.0 service, such as an Oracle OCI IAM identity domain.\n\n\
         Concurrent changes: where the server gives each group a version (`meta.version`, its ETag), updates and deletes are conditional (`If-Match` with the version Terraform last read), so a group changed on the server since then is not overwritten: the apply fails, says so, and the next plan shows the real difference. Without versions, the last writer wins. Members added or removed by membership resources in the same apply are not a conflict.",
        vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The SCIM id of the group."),
            Attribute::string("ocid").computed().use_state_for_unknown().describe("The Oracle Cloud ID of the group (OCI IAM only; empty elsewhere)."),
            Attribute::string("display_name").required().describe("Unique name of the group.").validate(rules::text()),
            Attribute::string("description")
                .optional()
                .describe("Description, kept in Oracle's group extension (`urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group`); leave unset on SCIM servers without it.")
                .validate(rules::text()),
            Attribute::string("external_id")
                .optional()
                .describe("Identifier of the group in the provisioning client's own system.")
                .validate(rules::text()),
            Attribute::set_of("members", Type::String)
                .optional()
                .computed()
                // Unmanaged members change only through a refresh, never through this
                // group's own apply: an unrelated change keeps them known in the plan.
                .use_state_for_unknown()
                .describe("SCIM ids of the member users. When set, exactly these users are members (authoritative); when left out, membership is not managed and this shows the current members. Do not combine a set `members` with `identity_scim_group_member` or `identity_scim_user_group_memberships` for the same group.")
                .validate(rules::scim_ids("user")),
            TIMEOUTS.attribute(),
        ],
    )
}

fn state_from_api(g: &Group, members: BTreeSet<String>) -> Model {
    Model { group: GroupAttributes::from_api(g), members: Some(members) }
}

impl ScimGroupResource {
    /// The group and its members, with the version the server gave.
    async fn read_group(c: &ScimClient, id: &str) -> Result<Option<(Model, Option<String>)>, Diagnostics> {
        let g = c.group_with_members(id).await.map_err(|e| api_diag("Unable to read group", &e))?;
        Ok(g.map(|g| {
            let version = g.group.version().map(str::to_string);
            (state_from_api(&g.group, g.members), version)
        }))
    }
}

/// How messages name the group.
fn what(m: &Model) -> String {
    match &m.group.display_name {
        Some(name) => format!("the SCIM group \"{name}\""),
        None => format!("the SCIM group {}", m.group.id.as_deref().unwrap_or_default()),
    }
}

/// Whether two readings agree on what the resource manages: its attributes, and its
/// members when `members` is managed.
fn managed_equal(a: &Model, b: &Model, members_managed: bool) -> bool {
    a.group == b.group && (!members_managed || a.members == b.members)
}

/// The private state that records `version`.
fn private_with(version: Option<&str>) -> Vec<u8> {
    Private::default().with_version(version).to_bytes()
}

#[async_trait]
impl Resource<ProviderData> for ScimGroupResource {
    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::required(&[("id", Type::String, "SCIM id of the group.")]))
    }

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn create(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let c = data.scim_client()?;
        let planned: Model = req.planned_model()?;
        let members = planned.members.as_ref().map(|m| m.iter().map(|u| Member::user(u)).collect());
        let created = model::create(c, req, &Group { members, ..planned.group.to_api() }, TYPE_NAME).await?;
        let members = user_members(&created);
        Ok(StateResult::state(to_value(&state_from_api(&created, members), Model::ty())?).with_private(private_with(created.version())))
    }

    async fn read(&self, data: &ProviderData, state: &Value, _private: &[u8]) -> Result<StateResult, Diagnostics> {
        let c = data.scim_client()?;
        let id = state.get("id").as_str().unwrap_or_default().to_string();
        match Self::read_group(c, &id).await? {
            Some((m, version)) => Ok(StateResult::state(to_value(&m, Model::ty())?).with_private(private_with(version.as_deref()))),
            None => Ok(StateResult::gone()),
        }
    }

    async fn update(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        self.update_now(data, req).await
    }

    async fn delete(&self, data: &ProviderData, state: &Value, private: &[u8]) -> Result<(), Diagnostics> {
        let c = data.scim_client()?;
        let prior: Model = from_value(state)?;
        let id = prior.group.id.clone().unwrap_or_default();
        let fail = |e: &ApiError| api_diag("Unable to delete group", e);
        match c.delete_if::<Group>(&id, Private::parse(private).version.as_deref()).await {
            Ok(_) => Ok(()),
            Err(e) if is_stale(&e) => {
                // Deleted only if the group's attributes are as Terraform read them. Members
                // are not compared: membership resources leave the group in this same
                // destroy, and a deleted group takes its members' access with it anyway.
                let Some((current, version)) = Self::read_group(c, &id).await? else {
                    return Ok(());
                };
                if !managed_equal(&current, &prior, false) {
                    return Err(changed_on_server(&what(&prior), "delete").into());
                }
                match c.delete_if::<Group>(&id, version.as_deref()).await {
                    Ok(_) => Ok(()),
                    Err(e) if is_stale(&e) => Err(changed_on_server(&what(&prior), "delete").into()),
                    Err(e) => Err(fail(&e)),
                }
            }
            Err(e) => Err(fail(&e)),
        }
    }

    fn timeouts(&self) -> Option<Timeouts> {
        Some(TIMEOUTS)
    }

    fn as_import(&self) -> Option<&dyn ImportState<ProviderData>> {
        Some(self)
    }

    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan<ProviderData>> {
        Some(self)
    }
}

/// Warns when an authoritative member list leaves out a user whom additive membership
/// resources add to the same group.
#[async_trait]
impl ModifyPlan<ProviderData> for ScimGroupResource {
    async fn modify_plan(&self, data: Option<&ProviderData>, req: &mut ModifyPlanRequest<'_>, diags: &mut Diagnostics) {
        let (Some(d), Some(id)) = (data, req.planned.get("id").as_str()) else { return };
        let members = req.config.get("members");
        if members.is_null() || !members.is_wholly_known() {
            return;
        }
        let members: BTreeSet<String> = members.elements().unwrap_or(&[]).iter().filter_map(|m| m.as_str().map(str::to_string)).collect();
        if let Some(w) = d.membership_claims.authoritative(id, &members) {
            diags.push(w);
        }
    }
}

impl ScimGroupResource {
    /// The update itself, without its time limit.
    async fn update_now(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let c = data.scim_client()?;
        let planned: Model = req.planned_model()?;
        let prior: Model = req.prior_model()?;
        let id = prior.group.id.clone().unwrap_or_default();
        // `replace` for what changed, `remove` for what the configuration dropped (the
        // description at `urn:...:Group:description`).
        let mut ops = PatchOperation::changes(&prior.group.to_api(), &planned.group.to_api());
        // Members: only when managed (set in the configuration), and only the change.
        if !req.config.get("members").is_null() {
            let want = planned.members.clone().unwrap_or_default();
            let have = prior.members.clone().unwrap_or_default();
            let add: Vec<String> = want.difference(&have).cloned().collect();
            if !add.is_empty() {
                ops.push(PatchOperation::add_members(&add));
            }
            ops.extend(have.difference(&want).map(|u| PatchOperation::remove_member(u)));
        }
        let vanished = || Diagnostics::from(Diagnostic::error("Group vanished", format!("Group {id} disappeared during the update.")));
        if !ops.is_empty() {
            let managed = !req.config.get("members").is_null();
            let fail = |e: &ApiError| api_diag("Unable to update group", e);
            match c.patch_if::<Group>(&id, &ops, Private::parse(&req.private).version.as_deref()).await {
                Ok(_) => {}
                Err(e) if is_stale(&e) => {
                    let (current, version) = Self::read_group(c, &id).await?.ok_or_else(vanished)?;
                    if managed_equal(&current, &planned, managed) {
                        // An earlier attempt of this PatchOp was applied; its answer was lost.
                    } else if managed_equal(&current, &prior, managed) {
                        // Only what this resource does not manage changed: the same change, once more.
                        match c.patch_if::<Group>(&id, &ops, version.as_deref()).await {
                            Ok(_) => {}
                            Err(e) if is_stale(&e) => return Err(changed_on_server(&what(&prior), "update").into()),
                            Err(e) => return Err(fail(&e)),
                        }
                    } else {
                        return Err(changed_on_server(&what(&prior), "update").into());
                    }
                }
                Err(e) => return Err(fail(&e)),
            }
        }
        let (mut state, version) = Self::read_group(c, &id).await?.ok_or_else(vanished)?;
        // Unmanaged members were planned as they were; other resources (such as
        // `identity_scim_group_member`) may change them in this same apply, which the
        // next refresh shows. Answering the planned value keeps the result consistent.
        if req.config.get("members").is_null() && !req.planned.get("members").is_unknown() {
            state.members = planned.members.clone();
        }
        Ok(StateResult::state(to_value(&state, Model::ty())?).with_private(private_with(version.as_deref())))
    }
}

#[async_trait]
impl ImportState<ProviderData> for ScimGroupResource {
    async fn import(&self, _data: Option<&ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let id = id.trim();
        if id.is_empty() {
            return Err(Diagnostic::error("Invalid import ID", "Import a group by its SCIM id or its OCI ocid.").into());
        }
        to_value(&Model { group: GroupAttributes { id: Some(id.to_string()), ..Default::default() }, ..Default::default() }, Model::ty())
    }
}

#[cfg(test)]
mod model_tests {
    /// Every attribute of the schema has a field in the model, and no field is extra (a
    /// missing one would silently become null).
    #[test]
    fn the_model_and_the_schema_have_the_same_attributes() {
        assert_eq!(crate::tfplugin::model::model_mismatch::<super::Model>(), None);
    }
}
