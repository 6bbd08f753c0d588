//! `identity_scim_user_group_memberships`: the groups one user belongs to, applied with
//! a single `POST /Bulk` of PatchOps (one per group to join or leave).
//!
//! Each operation of the BulkResponse is checked: failures are reported per group, and
//! the state records only the memberships that really hold afterwards. With
//! `exclusive = true` the user also leaves every group not listed.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::timeouts::{self, Deadline, Op};
use super::{rules, scim_diag};
use crate::clients::scim::{PatchOperation, ScimClient, patch_body};
use crate::provider::ProviderData;
use crate::tfplugin::model::{from_value, to_value};
use crate::tfplugin::resource::ImportState;
use crate::tfplugin::schema::IdentitySchema;
use crate::tfplugin::{ApplyRequest, Attribute, Diagnostic, Diagnostics, Resource, Schema, StateResult, Type, Value};

pub const TYPE_NAME: &str = "identity_scim_user_group_memberships";

pub struct ScimUserGroupMembershipsResource;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Model {
    id: Option<String>,
    user_id: Option<String>,
    group_ids: Option<BTreeSet<String>>,
    exclusive: Option<bool>,
}

fn schema() -> Schema {
    Schema::new(
        "The SCIM groups one user belongs to, applied in one Bulk request. Non-exclusive by default: groups not listed are left alone; \
         with `exclusive = true` the user leaves every group not listed.",
        vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The user's SCIM id; the import ID."),
            Attribute::string("user_id").required().requires_replace().describe("SCIM id of the user.").validate(rules::scim_id()),
            Attribute::set_of("group_ids", Type::String)
                .required()
                .describe("SCIM ids of the groups the user belongs to.")
                .validate(rules::scim_ids("group")),
            Attribute::bool("exclusive").default_value(false).describe("When true, the user also leaves every group not in `group_ids`."),
            timeouts::all_operations(),
        ],
    )
}

/// What an operation is about, for timeout diagnostics.
fn what(user: &str) -> String {
    format!("the SCIM group memberships of user {user}")
}

/// What a delete that ran out of time may have done.
const DELETE_UNFINISHED: &str = "The user may already have left some of the groups. The memberships stay in the Terraform \
     state, and the next destroy or apply tries again (leaving a group twice is harmless).";

/// What a create or update that ran out of time may have done.
const CONVERGE_UNFINISHED: &str = "Some of the group changes may already have been made; the Terraform state does not record \
     them yet. The next plan reads the user's groups again, and the next apply completes what is left (joining or leaving \
     a group twice is harmless).";

fn ty() -> Type {
    schema().value_type()
}

async fn groups_of(c: &ScimClient, user: &str) -> Result<Option<BTreeSet<String>>, crate::clients::ApiError> {
    let Some(u) = c.get("/Users", user, &[("attributes", "groups".to_string())]).await? else { return Ok(None) };
    Ok(Some(
        u.get("groups")
            .and_then(Json::as_array)
            .map(|gs| gs.iter().filter_map(|g| g.get("value").and_then(Json::as_str).map(str::to_string)).collect())
            .unwrap_or_default(),
    ))
}

/// One Bulk operation patching a group.
fn bulk_patch(group: &str, op: PatchOperation, n: usize) -> Json {
    json!({"method": "PATCH", "path": format!("/Groups/{group}"), "bulkId": format!("membership-{n}"), "data": patch_body(&[op])})
}

impl ScimUserGroupMembershipsResource {
    /// Joins `add` and leaves `remove` in one Bulk request; returns the diagnostics of
    /// the operations that failed.
    async fn apply(c: &ScimClient, user: &str, add: &BTreeSet<String>, remove: &BTreeSet<String>) -> Result<Diagnostics, Diagnostics> {
        let mut diags = Diagnostics::new();
        if add.is_empty() && remove.is_empty() {
            return Ok(diags);
        }
        let mut ops = Vec::new();
        let mut targets = Vec::new();
        for g in add {
            ops.push(bulk_patch(g, PatchOperation::add_members(&[user.to_string()]), ops.len()));
            targets.push(("join", g));
        }
        for g in remove {
            ops.push(bulk_patch(g, PatchOperation::remove_member(user), ops.len()));
            targets.push(("leave", g));
        }
        let outcomes = c.bulk(ops).await.map_err(|e| scim_diag("Unable to apply group memberships", &e))?;
        for (i, (what, g)) in targets.iter().enumerate() {
            match outcomes.get(i) {
                Some(o) if o.is_success() => {}
                // Leaving a group that no longer exists leaves nothing to do.
                Some(o) if *what == "leave" && o.status_code() == 404 => {}
                Some(o) => diags
                    .error(format!("Unable to {what} group {g}"), format!("The server refused it ({}): {}", o.status_code(), o.detail())),
                None => diags.error(format!("Unable to {what} group {g}"), "The BulkResponse has no result for this operation."),
            }
        }
        Ok(diags)
    }

    /// The state: the memberships that hold, within what this resource manages.
    fn state(user: &str, actual: &BTreeSet<String>, managed: Option<&BTreeSet<String>>, exclusive: bool) -> Result<Value, Diagnostics> {
        let group_ids = match (exclusive, managed) {
            (false, Some(m)) => actual.intersection(m).cloned().collect(),
            _ => actual.clone(),
        };
        to_value(
            &Model { id: Some(user.into()), user_id: Some(user.into()), group_ids: Some(group_ids), exclusive: Some(exclusive) },
            &ty(),
        )
    }

    async fn converge(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let c = data.scim_client()?;
        let planned: Model = from_value(&req.planned)?;
        let prior: Model = from_value(&req.prior)?;
        let user = planned.user_id.clone().unwrap_or_default();
        let exclusive = planned.exclusive.unwrap_or(false);
        let want = planned.group_ids.clone().unwrap_or_default();
        let actual = groups_of(c, &user)
            .await
            .map_err(|e| scim_diag("Unable to read the user's groups", &e))?
            .ok_or_else(|| Diagnostics::from(Diagnostic::error("User not found", format!("There is no user {user}."))))?;
        let add: BTreeSet<String> = want.difference(&actual).cloned().collect();
        let remove: BTreeSet<String> = if exclusive {
            actual.difference(&want).cloned().collect()
        } else {
            prior.group_ids.clone().unwrap_or_default().difference(&want).filter(|g| actual.contains(*g)).cloned().collect()
        };
        let failures = Self::apply(c, &user, &add, &remove).await?;
        let after = groups_of(c, &user).await.map_err(|e| scim_diag("Unable to read the user's groups", &e))?.unwrap_or_default();
        let managed: BTreeSet<String> = want.union(&prior.group_ids.clone().unwrap_or_default()).cloned().collect();
        let mut res = StateResult::state(Self::state(&user, &after, Some(&managed), exclusive)?);
        res.diags = failures;
        Ok(res)
    }
}

#[async_trait]
impl Resource<ProviderData> for ScimUserGroupMembershipsResource {
    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::required(&[("user_id", Type::String, "SCIM id of the user.")]))
    }

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn create(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let user = req.planned.get("user_id").as_str().unwrap_or_default();
        let mut res = Deadline::start(Op::Create, what(user), &req.planned).guard(CONVERGE_UNFINISHED, self.converge(data, req)).await?;
        res.state = timeouts::keep(res.state, &req.planned);
        Ok(res)
    }

    async fn read(&self, data: &ProviderData, current: &Value, _private: &[u8]) -> Result<StateResult, Diagnostics> {
        let c = data.scim_client()?;
        let m: Model = from_value(current)?;
        let user = m.user_id.clone().or(m.id.clone()).unwrap_or_default();
        let exclusive = m.exclusive.unwrap_or(false);
        let deadline = Deadline::start(Op::Read, what(&user), current);
        match deadline
            .within(timeouts::READ_UNFINISHED, groups_of(c, &user))
            .await?
            .map_err(|e| scim_diag("Unable to read the user's groups", &e))?
        {
            None => Ok(StateResult::gone()),
            // After an import nothing is known to be managed: show every group.
            Some(actual) => Ok(StateResult::state(timeouts::keep(Self::state(&user, &actual, m.group_ids.as_ref(), exclusive)?, current))),
        }
    }

    async fn update(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        if let Some(r) = timeouts::timeouts_only_update(req) {
            return Ok(r);
        }
        let user = req.planned.get("user_id").as_str().unwrap_or_default();
        let mut res = Deadline::start(Op::Update, what(user), &req.planned).guard(CONVERGE_UNFINISHED, self.converge(data, req)).await?;
        res.state = timeouts::keep(res.state, &req.planned);
        Ok(res)
    }

    async fn delete(&self, data: &ProviderData, current: &Value, _private: &[u8]) -> Result<(), Diagnostics> {
        let c = data.scim_client()?;
        let m: Model = from_value(current)?;
        let user = m.user_id.unwrap_or_default();
        let deadline = Deadline::start(Op::Delete, what(&user), current);
        let leave = m.group_ids.unwrap_or_default();
        let failures = deadline.guard(DELETE_UNFINISHED, Self::apply(c, &user, &BTreeSet::new(), &leave)).await?;
        if failures.has_errors() { Err(failures) } else { Ok(()) }
    }

    fn as_import(&self) -> Option<&dyn ImportState<ProviderData>> {
        Some(self)
    }
}

#[async_trait]
impl ImportState<ProviderData> for ScimUserGroupMembershipsResource {
    async fn import(&self, _data: Option<&ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let id = id.trim();
        if id.is_empty() {
            return Err(Diagnostic::error("Invalid import ID", "Import by the user's SCIM id.").into());
        }
        to_value(&Model { id: Some(id.into()), user_id: Some(id.into()), group_ids: None, exclusive: Some(false) }, &ty())
    }
}
