//! `identity_scim_group_member`: one user's membership in one SCIM group,
//! non-authoritative (other members are left alone). Its id is `group_id/user_id`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, from_value, to_value};
use crate::tfplugin::resource::{ImportState, ModifyPlan, ModifyPlanRequest};
use crate::tfplugin::schema::IdentitySchema;
use crate::tfplugin::timeouts::{Op, Timeouts};
use crate::tfplugin::{ApplyRequest, Attribute, Diagnostic, Diagnostics, Resource, Schema, StateResult, Type, Value};
use crate::vendors::failure::api_diag;
use crate::vendors::rules;
use crate::vendors::scim::client::PatchOperation;
use crate::vendors::scim::model::Group;

pub const TYPE_NAME: &str = "identity_scim_group_member";

pub struct ScimGroupMemberResource;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Model {
    id: Option<String>,
    group_id: Option<String>,
    user_id: Option<String>,
}

impl crate::tfplugin::model::Model for Model {
    fn schema() -> Schema {
        schema()
    }
}

fn schema() -> Schema {
    Schema::new(
        "One user's membership in a SCIM group. Non-authoritative: other members of the group are left alone. \
         Do not combine with an authoritative `members` on `identity_scim_group` for the same group.",
        vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("`<group_id>/<user_id>`; the import ID."),
            Attribute::string("group_id").required().requires_replace().describe("SCIM id of the group.").validate(rules::scim_id()),
            Attribute::string("user_id").required().requires_replace().describe("SCIM id of the user.").validate(rules::scim_id()),
            TIMEOUTS.attribute(),
        ],
    )
}

/// What an operation is about, for timeout diagnostics.
/// Every operation has a timeout; a membership is named by its user and group.
const TIMEOUTS: Timeouts = Timeouts::all("the membership", |v| {
    format!(
        "the membership of user {} in SCIM group {}",
        v.get("user_id").as_str().unwrap_or_default(),
        v.get("group_id").as_str().unwrap_or_default()
    )
})
.unfinished(Op::Create, CREATE_UNFINISHED);

/// What a create that ran out of time may have done.
const CREATE_UNFINISHED: &str = "The user may already have been added to the group; nothing was recorded in the Terraform \
     state. Adding a member again is harmless: the next apply completes it.";

fn state(group: &str, user: &str) -> Result<Value, Diagnostics> {
    to_value(&Model { id: Some(format!("{group}/{user}")), group_id: Some(group.into()), user_id: Some(user.into()) }, Model::ty())
}

#[async_trait]
impl Resource<ProviderData> for ScimGroupMemberResource {
    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::required(&[
            ("group_id", Type::String, "SCIM id of the group."),
            ("user_id", Type::String, "SCIM id of the user."),
        ]))
    }

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn create(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let c = data.scim_client()?;
        let m: Model = req.planned_model()?;
        let (g, u) = (m.group_id.unwrap_or_default(), m.user_id.unwrap_or_default());
        c.patch::<Group>(&g, &[PatchOperation::add_members(std::slice::from_ref(&u))])
            .await
            .map_err(|e| api_diag("Unable to add the group member", &e))?;
        Ok(StateResult::state(state(&g, &u)?))
    }

    async fn read(&self, data: &ProviderData, current: &Value, _private: &[u8]) -> Result<StateResult, Diagnostics> {
        let c = data.scim_client()?;
        let m: Model = from_value(current)?;
        let (g, u) = (m.group_id.unwrap_or_default(), m.user_id.unwrap_or_default());
        match c.is_member_prefetched(&g, &u).await.map_err(|e| api_diag("Unable to read the group membership", &e))? {
            // From the group's own `members`: false also when the group or user is gone.
            true => Ok(StateResult::state(state(&g, &u)?)),
            false => Ok(StateResult::gone()),
        }
    }

    async fn update(&self, _data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        // Every attribute but `timeouts` forces replacement: nothing to send.
        Ok(StateResult::state(req.planned.clone()))
    }

    async fn delete(&self, data: &ProviderData, current: &Value, _private: &[u8]) -> Result<(), Diagnostics> {
        let c = data.scim_client()?;
        let m: Model = from_value(current)?;
        let (g, u) = (m.group_id.unwrap_or_default(), m.user_id.unwrap_or_default());
        match c.patch::<Group>(&g, &[PatchOperation::remove_member(&u)]).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(api_diag("Unable to remove the group member", &e)),
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

/// Warns when the group's membership is also managed authoritatively without this user.
#[async_trait]
impl ModifyPlan<ProviderData> for ScimGroupMemberResource {
    async fn modify_plan(&self, data: Option<&ProviderData>, req: &mut ModifyPlanRequest<'_>, diags: &mut Diagnostics) {
        let (Some(d), Some(g), Some(u)) = (data, req.planned.get("group_id").as_str(), req.planned.get("user_id").as_str()) else {
            return;
        };
        for w in d.membership_claims.additive(u, &[g.to_string()].into_iter().collect(), "group_id") {
            diags.push(w);
        }
    }
}

#[async_trait]
impl ImportState<ProviderData> for ScimGroupMemberResource {
    async fn import(&self, _data: Option<&ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        match id.trim().split_once('/') {
            Some((g, u)) if !g.is_empty() && !u.is_empty() && !u.contains('/') => state(g, u),
            _ => Err(Diagnostic::error(
                "Invalid import ID",
                format!(
                    "Expected `<group_id>/<user_id>`, e.g. `terraform import identity_scim_group_member.x 2a7f.../9c1e...`; got {id:?}."
                ),
            )
            .into()),
        }
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
