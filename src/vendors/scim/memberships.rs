//! `identity_scim_user_group_memberships`: the groups one user belongs to, applied with
//! a single `POST /Bulk` of PatchOps (one per group to join or leave).
//!
//! Each operation of the BulkResponse is checked: failures are reported per group, and
//! the state records only the memberships that really hold afterwards. With
//! `exclusive = true` the user also leaves every group not listed.
//!
//! Every access change shows in the plan by group id: `all_group_ids` (every group the
//! user is in) is planned exactly, so leaving a group shows as `- "<group id>"` even when
//! only `exclusive` changes.
//!
//! The managed set: a non-exclusive resource leaves only groups it managed before (its
//! prior `group_ids`). After an import by user id alone nothing is known to be managed
//! (the private state says so): the next apply leaves no group, and the plan warns which
//! groups stop being managed.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, from_value, to_value};
use crate::tfplugin::resource::{ImportState, ModifyPlan, ModifyPlanRequest};
use crate::tfplugin::schema::IdentitySchema;
use crate::tfplugin::timeouts::{Op, Timeouts};
use crate::tfplugin::{ApplyRequest, AttrPath, Attribute, Diagnostic, Diagnostics, Resource, Schema, StateResult, Type, Value};
use crate::vendors::failure::api_diag;
use crate::vendors::rules;
use crate::vendors::scim::client::{BulkOperation, PatchOperation, ScimClient};
use crate::vendors::scim::model::Group;

pub const TYPE_NAME: &str = "identity_scim_user_group_memberships";

pub struct ScimUserGroupMembershipsResource;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Model {
    id: Option<String>,
    user_id: Option<String>,
    group_ids: Option<BTreeSet<String>>,
    exclusive: Option<bool>,
    all_group_ids: Option<BTreeSet<String>>,
}

impl crate::tfplugin::model::Model for Model {
    fn schema() -> Schema {
        schema()
    }
}

/// Private state after an import by user id alone: the recorded `group_ids` are every
/// group of the user, none of them known to be managed.
const UNSCOPED: &[u8] = br#"{"unscoped_import":true}"#;
/// Private state once an apply has settled what is managed.
const SCOPED: &[u8] = b"{}";

fn schema() -> Schema {
    Schema::new(
        "The SCIM groups one user belongs to, applied in one Bulk request. Non-exclusive by default: groups not listed are left alone; \
         with `exclusive = true` the user leaves every group not listed. `all_group_ids` shows every group the user is in, so a plan \
         shows each group the user will join or leave.",
        vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The user's SCIM id; the import ID."),
            Attribute::string("user_id").required().requires_replace().describe("SCIM id of the user.").validate(rules::scim_id()),
            Attribute::set_of("group_ids", Type::String)
                .required()
                .describe("SCIM ids of the groups the user belongs to (the groups this resource manages).")
                .validate(rules::scim_ids("group")),
            Attribute::bool("exclusive").default_value(false).describe("When true, the user also leaves every group not in `group_ids`."),
            Attribute::set_of("all_group_ids", Type::String).computed().describe(
                "SCIM ids of every group the user is a member of on the server, managed here or not. Planned exactly: a group the \
                 apply makes the user leave shows as a removal here.",
            ),
            TIMEOUTS.attribute(),
        ],
    )
}

/// What an operation is about, for timeout diagnostics.
/// Every operation has a timeout; the memberships are named by their user.
const TIMEOUTS: Timeouts = Timeouts::all("the memberships", |v| {
    format!("the SCIM group memberships of user {}", v.get("user_id").as_str().or(v.get("id").as_str()).unwrap_or_default())
})
.unfinished(Op::Create, CONVERGE_UNFINISHED)
.unfinished(Op::Update, CONVERGE_UNFINISHED)
.unfinished(Op::Delete, DELETE_UNFINISHED);

/// What a delete that ran out of time may have done.
const DELETE_UNFINISHED: &str = "The user may already have left some of the groups. The memberships stay in the Terraform \
     state, and the next destroy or apply tries again (leaving a group twice is harmless).";

/// What a create or update that ran out of time may have done.
const CONVERGE_UNFINISHED: &str = "Some of the group changes may already have been made; the Terraform state does not record \
     them yet. The next plan reads the user's groups again, and the next apply completes what is left (joining or leaving \
     a group twice is harmless).";

/// The user's groups; None when the user does not exist.
async fn groups_of(c: &ScimClient, user: &str) -> Result<Option<BTreeSet<String>>, crate::http::ApiError> {
    if c.get_user_coalesced(user).await?.is_none() {
        return Ok(None);
    }
    c.groups_of_user(user).await.map(Some)
}

/// One Bulk operation patching a group.
fn bulk_patch(group: &str, op: PatchOperation, n: usize) -> BulkOperation {
    BulkOperation::patch::<Group>(group, &[op], format!("membership-{n}"))
}

/// A set of strings as a value.
fn set_value(s: &BTreeSet<String>) -> Value {
    Value::Set(s.iter().map(|g| Value::string(g.as_str())).collect())
}

/// A wholly known set of strings.
fn known_set(v: &Value) -> Option<BTreeSet<String>> {
    if !v.is_wholly_known() || v.is_null() {
        return None;
    }
    v.elements().map(|e| e.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
}

fn list(s: &BTreeSet<String>) -> String {
    s.iter().map(|g| format!("\"{g}\"")).collect::<Vec<_>>().join(", ")
}

/// The groups a non-exclusive apply may leave: those managed before and no longer wanted.
fn managed_before(prior: &Model, private: &[u8]) -> BTreeSet<String> {
    if private == UNSCOPED { BTreeSet::new() } else { prior.group_ids.clone().unwrap_or_default() }
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
        let outcomes = c.bulk(ops).await.map_err(|e| api_diag("Unable to apply group memberships", &e))?;
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

    /// The state: `group_ids` are the memberships that hold within `managed` (all of them
    /// when exclusive or when nothing is known to be managed).
    fn state(user: &str, actual: &BTreeSet<String>, managed: Option<&BTreeSet<String>>, exclusive: bool) -> Result<Value, Diagnostics> {
        let group_ids = match (exclusive, managed) {
            (false, Some(m)) => actual.intersection(m).cloned().collect(),
            _ => actual.clone(),
        };
        to_value(
            &Model {
                id: Some(user.into()),
                user_id: Some(user.into()),
                group_ids: Some(group_ids),
                exclusive: Some(exclusive),
                all_group_ids: Some(actual.clone()),
            },
            Model::ty(),
        )
    }

    async fn converge(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let c = data.scim_client()?;
        let planned: Model = req.planned_model()?;
        let prior: Model = req.prior_model()?;
        let user = planned.user_id.clone().unwrap_or_default();
        let exclusive = planned.exclusive.unwrap_or(false);
        let want = planned.group_ids.clone().unwrap_or_default();
        let actual = groups_of(c, &user)
            .await
            .map_err(|e| api_diag("Unable to read the user's groups", &e))?
            .ok_or_else(|| Diagnostics::from(Diagnostic::error("User not found", format!("There is no user {user}."))))?;
        let before = managed_before(&prior, &req.private);
        let add: BTreeSet<String> = want.difference(&actual).cloned().collect();
        let remove: BTreeSet<String> = if exclusive {
            actual.difference(&want).cloned().collect()
        } else {
            before.difference(&want).filter(|g| actual.contains(*g)).cloned().collect()
        };
        let failures = Self::apply(c, &user, &add, &remove).await?;
        if !failures.has_errors() {
            // Everything planned holds. `all_group_ids` is the planned value when it was
            // known: a membership another resource changes in this same apply shows at the
            // next refresh rather than as an inconsistent result.
            let all = match known_set(&req.planned.get("all_group_ids").clone()) {
                Some(all) => all,
                None => groups_of(c, &user).await.map_err(|e| api_diag("Unable to read the user's groups", &e))?.unwrap_or_default(),
            };
            let mut state = Self::state(&user, &all, Some(&want), exclusive)?;
            state.set("group_ids", set_value(&want));
            let mut res = StateResult::state(state).with_private(SCOPED.to_vec());
            res.diags = failures;
            return Ok(res);
        }
        let after = groups_of(c, &user).await.map_err(|e| api_diag("Unable to read the user's groups", &e))?.unwrap_or_default();
        let managed: BTreeSet<String> = want.union(&before).cloned().collect();
        let mut res = StateResult::state(Self::state(&user, &after, Some(&managed), exclusive)?).with_private(SCOPED.to_vec());
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
        self.converge(data, req).await
    }

    async fn read(&self, data: &ProviderData, current: &Value, private: &[u8]) -> Result<StateResult, Diagnostics> {
        let c = data.scim_client()?;
        let m: Model = from_value(current)?;
        let user = m.user_id.clone().or(m.id.clone()).unwrap_or_default();
        let exclusive = m.exclusive.unwrap_or(false);
        match groups_of(c, &user).await.map_err(|e| api_diag("Unable to read the user's groups", &e))? {
            None => Ok(StateResult::gone()),
            Some(actual) => {
                // Just imported by user id alone: every group is shown, none is managed yet.
                let unscoped = m.group_ids.is_none() && !exclusive;
                let res = StateResult::state(Self::state(&user, &actual, m.group_ids.as_ref(), exclusive)?);
                Ok(if unscoped || private.is_empty() { res.with_private(if unscoped { UNSCOPED } else { SCOPED }.to_vec()) } else { res })
            }
        }
    }

    async fn update(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        self.converge(data, req).await
    }

    async fn delete(&self, data: &ProviderData, current: &Value, private: &[u8]) -> Result<(), Diagnostics> {
        let c = data.scim_client()?;
        let m: Model = from_value(current)?;
        let user = m.user_id.clone().unwrap_or_default();
        // After an import by user id alone no group is known to be managed: leave them all.
        let leave = if m.exclusive == Some(true) { m.group_ids.clone().unwrap_or_default() } else { managed_before(&m, private) };
        let failures = Self::apply(c, &user, &BTreeSet::new(), &leave).await?;
        if failures.has_errors() { Err(failures) } else { Ok(()) }
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

/// Plans `all_group_ids` exactly, and warns where a plan changes access in a way the
/// attribute diff alone would not make plain.
#[async_trait]
impl ModifyPlan<ProviderData> for ScimUserGroupMembershipsResource {
    async fn modify_plan(&self, data: Option<&ProviderData>, req: &mut ModifyPlanRequest<'_>, diags: &mut Diagnostics) {
        if req.planned.is_null() {
            return;
        }
        let (Some(want), Some(exclusive)) = (known_set(req.planned.get("group_ids")), req.planned.get("exclusive").as_bool()) else {
            return; // unknown until apply
        };
        let user = req.planned.get("user_id").as_str().map(str::to_string);
        if let (Some(d), Some(u)) = (data, &user) {
            for w in d.membership_claims.additive(u, &want, "group_ids") {
                diags.push(w);
            }
        }
        if !req.prior.is_null() && req.planned == *req.prior {
            return; // nothing changes: every value is the prior one
        }
        let creating = req.prior.is_null() || !req.requires_replace.is_empty();
        let all = if creating {
            // The user's current groups, when the user exists already.
            let current = match (data.and_then(|d| d.scim_client().ok()), &user) {
                (Some(c), Some(u)) => groups_of(c, u).await.ok().flatten(),
                _ => None,
            };
            match (current, exclusive) {
                (Some(current), true) => {
                    let leaving: BTreeSet<String> = current.difference(&want).cloned().collect();
                    if !leaving.is_empty() {
                        diags.push(
                            Diagnostic::warning(
                                "The user will leave groups not listed",
                                format!(
                                    "With exclusive = true, user {} will leave {} group(s) not in group_ids: {}.",
                                    user.as_deref().unwrap_or_default(),
                                    leaving.len(),
                                    list(&leaving)
                                ),
                            )
                            .at(AttrPath::attrs(&["exclusive"])),
                        );
                    }
                    Some(want.clone())
                }
                (Some(current), false) => Some(current.union(&want).cloned().collect()),
                (None, true) => Some(want.clone()),
                (None, false) => None,
            }
        } else {
            let prior: Model = match from_value(req.prior) {
                Ok(m) => m,
                Err(_) => return,
            };
            if exclusive {
                Some(want.clone())
            } else {
                let before = managed_before(&prior, req.prior_private);
                if req.prior_private == UNSCOPED {
                    let dropped: BTreeSet<String> = prior.group_ids.clone().unwrap_or_default().difference(&want).cloned().collect();
                    if !dropped.is_empty() {
                        diags.push(
                            Diagnostic::warning(
                                "Imported memberships not in group_ids stay on the server",
                                format!(
                                    "This resource was imported by user id alone, so every group of the user was recorded. The \
                                     group(s) {} are not in group_ids: they stop being managed by this resource, and the user \
                                     stays a member (all_group_ids keeps them). To name the managed groups at import, use the \
                                     import ID \"<user_id>/<group_id>,<group_id>\".",
                                    list(&dropped)
                                ),
                            )
                            .at(AttrPath::attrs(&["group_ids"])),
                        );
                    }
                }
                prior.all_group_ids.map(|prior_all| {
                    let removed: BTreeSet<String> = before.difference(&want).cloned().collect();
                    prior_all.difference(&removed).cloned().chain(want.iter().cloned()).collect()
                })
            }
        };
        if let Some(all) = all {
            req.planned.set("all_group_ids", set_value(&all));
        }
    }
}

#[async_trait]
impl ImportState<ProviderData> for ScimUserGroupMembershipsResource {
    async fn import(&self, _data: Option<&ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let bad = || {
            Diagnostics::from(Diagnostic::error(
                "Invalid import ID",
                format!(
                    "Expected `<user_id>` (every current group recorded; none managed until the next apply), \
                     `<user_id>/<group_id>,<group_id>` (the managed groups of a non-exclusive resource) or `<user_id>/*` \
                     (exclusive = true); got {id:?}."
                ),
            ))
        };
        let id = id.trim();
        let (user, groups, exclusive) = match id.split_once('/') {
            None => (id, None, false),
            Some((u, "*")) => (u, None, true),
            Some((u, list)) => {
                let groups: BTreeSet<String> = list.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_string).collect();
                if groups.is_empty() || groups.iter().any(|g| g.contains('/') || g.contains('"') || g.chars().any(char::is_whitespace)) {
                    return Err(bad());
                }
                (u, Some(groups), false)
            }
        };
        if user.is_empty() || user.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        to_value(
            &Model {
                id: Some(user.into()),
                user_id: Some(user.into()),
                group_ids: groups,
                exclusive: Some(exclusive),
                all_group_ids: None,
            },
            Model::ty(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(xs: &[&str]) -> BTreeSet<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn import_ids_name_the_managed_groups() {
        let r = ScimUserGroupMembershipsResource;
        let plain = r.import(None, "u1").await.expect("plain");
        assert_eq!(plain.get("user_id").as_str(), Some("u1"));
        assert!(plain.get("group_ids").is_null(), "nothing known to be managed");
        assert_eq!(plain.get("exclusive").as_bool(), Some(false));
        let scoped = r.import(None, "u1/g1, g2").await.expect("scoped");
        assert_eq!(known_set(scoped.get("group_ids")), Some(set(&["g1", "g2"])));
        let excl = r.import(None, "u1/*").await.expect("exclusive");
        assert_eq!(excl.get("exclusive").as_bool(), Some(true));
        for bad in ["", "u1/", "u1/,", "/g1", "u 1", "u1/g 1"] {
            assert!(r.import(None, bad).await.is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn an_unscoped_import_manages_nothing() {
        let m = Model { group_ids: Some(set(&["a", "b"])), ..Default::default() };
        assert!(managed_before(&m, UNSCOPED).is_empty());
        assert_eq!(managed_before(&m, SCOPED), set(&["a", "b"]));
        assert_eq!(managed_before(&m, &[]), set(&["a", "b"]));
    }

    fn state(groups: &[&str], all: &[&str], exclusive: bool) -> Value {
        to_value(
            &Model {
                id: Some("u".into()),
                user_id: Some("u".into()),
                group_ids: Some(set(groups)),
                exclusive: Some(exclusive),
                all_group_ids: Some(set(all)),
            },
            Model::ty(),
        )
        .expect("state")
    }

    async fn plan(prior: &Value, private: &[u8], groups: &[&str], exclusive: bool) -> (Value, Diagnostics) {
        let mut config = state(groups, &[], exclusive);
        config.set("all_group_ids", Value::Null);
        config.set("id", Value::Null);
        let change = crate::tfplugin::plan::plan_resource(&schema(), prior, &config, &config);
        let mut req =
            ModifyPlanRequest { prior, prior_private: private, config: &config, planned: change.planned, requires_replace: vec![] };
        let mut diags = Diagnostics::new();
        ScimUserGroupMembershipsResource.modify_plan(None, &mut req, &mut diags).await;
        (req.planned, diags)
    }

    #[tokio::test]
    async fn the_exclusive_switch_plans_every_group_the_user_leaves() {
        let prior = state(&["a"], &["a", "x", "y"], false);
        let (planned, _) = plan(&prior, SCOPED, &["a"], true).await;
        assert_eq!(known_set(planned.get("all_group_ids")), Some(set(&["a"])), "x and y are planned away");
    }

    #[tokio::test]
    async fn a_non_exclusive_change_plans_only_its_own_groups() {
        let prior = state(&["a", "b"], &["a", "b", "x"], false);
        let (planned, d) = plan(&prior, SCOPED, &["a", "c"], false).await;
        assert_eq!(known_set(planned.get("all_group_ids")), Some(set(&["a", "c", "x"])), "b leaves, c joins, x stays");
        assert!(d.is_empty());
    }

    #[tokio::test]
    async fn after_an_unscoped_import_nothing_is_left_and_the_plan_warns() {
        let prior = state(&["a", "x", "y"], &["a", "x", "y"], false);
        let (planned, d) = plan(&prior, UNSCOPED, &["a"], false).await;
        assert_eq!(known_set(planned.get("all_group_ids")), Some(set(&["a", "x", "y"])), "no group is left");
        let w: Vec<_> = d.iter().collect();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(format!("{:?}", w[0]).contains("\\\"x\\\", \\\"y\\\"") || format!("{:?}", w[0]).contains("\"x\", \"y\""), "{w:?}");
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
