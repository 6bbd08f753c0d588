//! `identity_user_oidc`: a Fudo user's assignment to an OpenID Connect configuration
//! (`/api/v2/user/oidc`).
//!
//! The pair `user_id` + `oidc_id` is the identity (Fudo's POST returns no id, and both
//! are immutable: changing either replaces the assignment); `oidc_sub` changes in place
//! with a PATCH. Ids are decimal strings wider than 2^53 and stay strings throughout.
//! Create reads the assignment back for the server-made fields. A `builtin` assignment is
//! not editable: changing or deleting one is refused before any request is sent.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::tfplugin::timeouts::{self, TimedOut, Timeouts};

/// Every operation has a timeout; an assignment is named by its user and configuration.
const TIMEOUTS: Timeouts =
    Timeouts::all("the assignment", |v| what(v.get("user_id").as_str().unwrap_or_default(), v.get("oidc_id").as_str().unwrap_or_default()));
use crate::http::ApiError;
use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, from_value, to_value};
use crate::tfplugin::resource::{ImportState, ModifyPlan, ModifyPlanRequest};
use crate::tfplugin::schema::IdentitySchema;
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{ApplyRequest, AttrPath, Attribute, Diagnostic, Diagnostics, Resource, Schema, StateResult, Type, Value};
use crate::vendors::fudo::client::{FudoClient, NewUserOidc, UserOidc, UserOidcPatch};

pub const TYPE_NAME: &str = "identity_user_oidc";

/// What an id must look like, in words (for docs and plan-time diagnostics).
const ID_RULE: &str = "a Fudo id: a positive 64-bit number in decimal digits, without leading zeros, at most 18446744073709551615 (e.g. \"9124292845052624898\")";
const IMPORT_FORM: &str = "\"<user_id>/<oidc_id>\", both Fudo ids in decimal digits, e.g. \"9124292845052624898/9124292845052624897\"";

/// Why `s` is not a Fudo id. Fudo ids are 64-bit numbers written as decimal strings; a
/// leading zero or a number beyond 64 bits cannot be one (Fudo would answer with another
/// spelling, or not find it).
fn id_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        Some("it must consist of decimal digits only")
    } else if s.starts_with('0') {
        Some("it must not start with 0")
    } else if s.parse::<u64>().is_err() {
        Some("it is larger than a 64-bit id can be (18446744073709551615)")
    } else {
        None
    }
}

/// Whether `s` is a Fudo id.
pub fn is_id(s: &str) -> bool {
    id_problem(s).is_none()
}

/// The plan-time check of a Fudo id attribute.
pub fn id_validator() -> Validator {
    Validator::custom(ID_RULE, |v| match v.as_str().map(|s| (s, id_problem(s))) {
        Some((s, Some(why))) => Err(format!("{s:?} is not valid: {why}; it must be {ID_RULE}")),
        _ => Ok(()),
    })
}

/// `"<user_id>/<oidc_id>"`: the resource id and the import id.
pub fn compose_id(user_id: &str, oidc_id: &str) -> String {
    format!("{user_id}/{oidc_id}")
}

/// Splits an import id into `(user_id, oidc_id)`; the error says which form is expected.
pub fn parse_import_id(id: &str) -> Result<(String, String), String> {
    let t = id.trim();
    match t.split('/').collect::<Vec<_>>().as_slice() {
        [u, o] if is_id(u.trim()) && is_id(o.trim()) => Ok((u.trim().to_string(), o.trim().to_string())),
        _ => Err(format!("Expected an import ID of the form {IMPORT_FORM}; got {t:?}.")),
    }
}

/// One assignment as Terraform sees it: the resource's state and, with `id` being the
/// import ID, an element of the `identity_user_oidc_assignments` data source.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserOidcModel {
    pub id: Option<String>,
    pub user_id: Option<String>,
    pub oidc_id: Option<String>,
    pub oidc_sub: Option<String>,
    pub user_name: Option<String>,
    pub user_domain: Option<String>,
    pub user_email: Option<String>,
    pub user_organization: Option<String>,
    pub user_role: Option<String>,
    pub oidc_name: Option<String>,
    pub created_at: Option<String>,
    pub modified_at: Option<String>,
    pub builtin: Option<bool>,
    pub hidden: Option<bool>,
}

impl crate::tfplugin::model::Model for UserOidcModel {
    fn schema() -> Schema {
        UserOidcResource::schema_static()
    }
}

impl UserOidcModel {
    /// The model of what Fudo holds. Ids are the server's strings, verbatim.
    pub fn from_api(a: &UserOidc) -> Self {
        UserOidcModel {
            id: Some(compose_id(&a.user_id, &a.oidc_id)),
            user_id: Some(a.user_id.clone()),
            oidc_id: Some(a.oidc_id.clone()),
            oidc_sub: a.oidc_sub.clone(),
            user_name: a.user_name.clone(),
            user_domain: a.user_domain.clone(),
            user_email: a.user_email.clone(),
            user_organization: a.user_organization.clone(),
            user_role: a.user_role.clone(),
            oidc_name: a.oidc_name.clone(),
            created_at: a.created_at.clone(),
            modified_at: a.modified_at.clone(),
            builtin: Some(a.builtin),
            hidden: Some(a.hidden),
        }
    }

    /// `(user_id, oidc_id)` from the attributes, else from `id`.
    fn pair(&self) -> Option<(String, String)> {
        match (&self.user_id, &self.oidc_id) {
            (Some(u), Some(o)) if !u.is_empty() && !o.is_empty() => Some((u.clone(), o.clone())),
            _ => self.id.as_deref().and_then(|id| parse_import_id(id).ok()),
        }
    }
}

/// The read-only attributes Fudo fills in (the spec's "expensive" ones and the
/// timestamps), without plan modifiers; shared with the data source.
pub fn read_only_attributes() -> Vec<Attribute> {
    vec![
        Attribute::string("user_name").computed().describe("Login name of the user."),
        Attribute::string("user_domain").computed().describe("Domain of the user (e.g. `zw.local`)."),
        Attribute::string("user_email").computed().describe("Email address of the user."),
        Attribute::string("user_organization").computed().describe("Organization of the user; null when the user has none."),
        Attribute::string("user_role").computed().describe("Fudo role of the user (e.g. `operator`)."),
        Attribute::string("oidc_name").computed().describe("Name of the OpenID Connect configuration."),
        Attribute::string("created_at")
            .computed()
            .describe("When the assignment was created, as Fudo writes it (e.g. `2024-06-19 08:39:55.351137-07`)."),
        Attribute::string("modified_at").computed().describe("When the assignment was last modified, as Fudo writes it."),
        Attribute::bool("builtin").computed().describe("Whether this is a built-in assignment of Fudo, which is not editable."),
        Attribute::bool("hidden").computed().describe("Whether Fudo hides the assignment in its web UI."),
    ]
}

fn client(data: &ProviderData) -> Result<&FudoClient, Diagnostics> {
    data.fudo_client()
}

/// The refusal for a built-in assignment: `what` is the change that was asked for.
fn builtin_refusal(user_id: &str, oidc_id: &str, what: &str) -> Diagnostic {
    Diagnostic::error(
        "Built-in Fudo assignment cannot be changed",
        format!(
            "The assignment of OpenID Connect configuration {oidc_id} to user {user_id} is built into Fudo (builtin = true): \
             Fudo does not allow it to be modified or deleted, so {what} is refused before any request is sent.\n\
             Leave it unchanged, or stop managing the assignment without deleting it: \
             `terraform state rm {TYPE_NAME}.<name>` (or a `removed` block with `lifecycle {{ destroy = false }}`). \
             To only read it, use the identity_user_oidc_assignments data source."
        ),
    )
}

pub struct UserOidcResource;

impl UserOidcResource {
    fn schema_static() -> Schema {
        let mut attributes = vec![
            Attribute::string("id")
                .computed()
                .use_state_for_unknown()
                .describe("`<user_id>/<oidc_id>`, the import ID. Fudo identifies an assignment by this pair."),
            Attribute::string("user_id")
                .required()
                .requires_replace()
                .describe("Id of the Fudo user, as a string: Fudo ids are 64-bit numbers, wider than a JSON number keeps exactly.")
                .validate(id_validator()),
            Attribute::string("oidc_id")
                .required()
                .requires_replace()
                .describe("Id of the Fudo OpenID Connect configuration the user logs in with, as a string.")
                .validate(id_validator()),
            Attribute::string("oidc_sub")
                .required()
                .describe("The `sub` claim the identity provider sends for this user; Fudo matches the login to the user by it. Changes in place. At most 255 characters (OpenID Connect Core 1.0).")
                .validate(Validator::Length { min: 1, max: Some(255) }),
        ];
        // Fixed once created (the ids that determine them never change in place), except
        // modified_at, which every update moves.
        attributes.extend(read_only_attributes().into_iter().map(|a| if a.name == "modified_at" { a } else { a.use_state_for_unknown() }));
        attributes.push(TIMEOUTS.attribute());
        Schema::new(
            "Assigns a Fudo PAM OpenID Connect configuration to a Fudo user, so that the user can log in through \
             that identity provider (`/api/v2/user/oidc`). Users and OpenID Connect configurations themselves are \
             not managed here. Built-in assignments of Fudo (`builtin = true`) cannot be changed or deleted.\n\n\
             Concurrent changes: Fudo's API offers no preconditions, so an update sets `oidc_sub` to the planned value \
             whatever it is on the server by then (the last writer wins). A refresh before the apply (a plan without \
             `-refresh=false`) shows a change made elsewhere as drift first.",
            attributes,
        )
    }

    /// Reads the assignment back after a create or update.
    async fn read_back(&self, c: &FudoClient, user_id: &str, oidc_id: &str, op: &str) -> Result<Value, Diagnostics> {
        let a = c
            .get(user_id, oidc_id)
            .await
            .map_err(|e| crate::vendors::failure::api_diag(&format!("Unable to read user OIDC assignment after {op}"), &e))?
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    format!("User OIDC assignment vanished after {op}"),
                    format!("Fudo accepted the {op} of the assignment of OpenID Connect configuration {oidc_id} to user {user_id}, but does not return it."),
                ))
            })?;
        to_value(&UserOidcModel::from_api(&a), UserOidcModel::ty())
    }

    /// The diagnostic for a refused create: an existing pair gets an import hint (or, when
    /// it is built in, says that it cannot be managed).
    async fn create_error(&self, c: &FudoClient, e: &ApiError, user_id: &str, oidc_id: &str) -> Diagnostics {
        if !e.is_conflict() {
            return crate::vendors::failure::api_diag("Unable to create user OIDC assignment", e);
        }
        let id = compose_id(user_id, oidc_id);
        let builtin = matches!(c.get(user_id, oidc_id).await, Ok(Some(a)) if a.builtin);
        let detail = if builtin {
            format!(
                "{}\nThe existing assignment is built into Fudo (builtin = true) and cannot be managed: remove this resource, \
                 and read it with the identity_user_oidc_assignments data source instead.",
                e.detail()
            )
        } else {
            format!(
                "{}\nThe assignment already exists. To manage it with Terraform, import it:\n  terraform import {TYPE_NAME}.<name> {id}\n\
                 or add an import block: import {{ to = {TYPE_NAME}.<name>  id = \"{id}\" }}",
                e.detail()
            )
        };
        Diagnostic::error("User OIDC assignment already exists", detail).into()
    }
}

/// What an operation is about, for timeout diagnostics.
fn what(user_id: &str, oidc_id: &str) -> String {
    format!("the assignment of OpenID Connect configuration {oidc_id} to Fudo user {user_id}")
}

/// A required attribute of a planned value (known at apply: required and validated).
fn required(v: &Option<String>, name: &str) -> Result<String, Diagnostics> {
    v.clone().filter(|s| !s.is_empty()).ok_or_else(|| {
        Diagnostic::error("Missing attribute value", format!("\"{name}\" has no value at apply time.")).at(AttrPath::attrs(&[name])).into()
    })
}

#[async_trait]
impl Resource<ProviderData> for UserOidcResource {
    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::required(&[
            ("user_id", Type::String, "Fudo user id."),
            ("oidc_id", Type::String, "Fudo OIDC configuration id."),
        ]))
    }

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Self::schema_static()
    }

    async fn create(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let c = client(data)?;
        let planned: UserOidcModel = req.planned_model()?;
        let user_id = required(&planned.user_id, "user_id")?;
        let oidc_id = required(&planned.oidc_id, "oidc_id")?;
        let oidc_sub = required(&planned.oidc_sub, "oidc_sub")?;
        let body = NewUserOidc { user_id: user_id.clone(), oidc_id: oidc_id.clone(), oidc_sub };
        match req.run(c.create(&body)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return match req.run(self.create_error(c, &e, &user_id, &oidc_id)).await {
                    Ok(d) => Err(d),
                    Err(TimedOut) => Err(crate::vendors::failure::api_diag("Unable to create user OIDC assignment", &e)),
                };
            }
            Err(TimedOut) => return Err(req.exceeded(&timeouts::create_unanswered("the assignment")).into()),
        }
        match req.run(self.read_back(c, &user_id, &oidc_id, "create")).await {
            Ok(state) => Ok(StateResult::state(state?)),
            // Created, but not read back: record what is known (the rest null until the
            // next refresh), with the error, so that it is not orphaned.
            Err(TimedOut) => {
                let mut partial = timeouts::unknowns_as_null(&req.planned);
                partial.set("id", Value::string(compose_id(&user_id, &oidc_id)));
                let why = timeouts::created_tainted(
                    "The assignment",
                    &compose_id(&user_id, &oidc_id),
                    TYPE_NAME,
                    "reading it back did not finish in time",
                );
                Ok(StateResult { state: partial, private: Vec::new(), diags: req.exceeded(&why).into() })
            }
        }
    }

    async fn read(&self, data: &ProviderData, state: &Value, private: &[u8]) -> Result<StateResult, Diagnostics> {
        self.read_now(data, state, private).await
    }

    async fn update(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        required(&req.prior.get("user_id").as_str().map(str::to_string), "user_id")?;
        required(&req.prior.get("oidc_id").as_str().map(str::to_string), "oidc_id")?;
        self.update_now(data, req).await
    }

    async fn delete(&self, data: &ProviderData, state: &Value, _private: &[u8]) -> Result<(), Diagnostics> {
        let c = client(data)?;
        let prior: UserOidcModel = from_value(state)?;
        let Some((user_id, oidc_id)) = prior.pair() else {
            return Ok(());
        };
        if prior.builtin == Some(true) {
            return Err(builtin_refusal(&user_id, &oidc_id, "the deletion").into());
        }
        c.delete(&user_id, &oidc_id)
            .await
            .map(drop)
            .map_err(|e| crate::vendors::failure::api_diag("Unable to delete user OIDC assignment", &e))
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

impl UserOidcResource {
    /// The read itself, without its time limit.
    async fn read_now(&self, data: &ProviderData, state: &Value, _private: &[u8]) -> Result<StateResult, Diagnostics> {
        let c = client(data)?;
        let prior: UserOidcModel = from_value(state)?;
        let Some((user_id, oidc_id)) = prior.pair() else {
            return Err(Diagnostic::error(
                "Invalid state",
                format!("The state has no user_id and oidc_id, and its id is not of the form {IMPORT_FORM}."),
            )
            .into());
        };
        match c.get_coalesced(&user_id, &oidc_id).await {
            Ok(Some(a)) => Ok(StateResult::state(to_value(&UserOidcModel::from_api(&a), UserOidcModel::ty())?)),
            Ok(None) => Ok(StateResult::gone()),
            Err(e) => Err(crate::vendors::failure::api_diag("Unable to read user OIDC assignment", &e)),
        }
    }

    /// The update itself, without its time limit.
    async fn update_now(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let c = client(data)?;
        let planned: UserOidcModel = req.planned_model()?;
        let prior: UserOidcModel = req.prior_model()?;
        let user_id = required(&prior.user_id, "user_id")?;
        let oidc_id = required(&prior.oidc_id, "oidc_id")?;
        if prior.builtin == Some(true) {
            return Err(builtin_refusal(&user_id, &oidc_id, "the change").at(AttrPath::attrs(&["oidc_sub"])).into());
        }
        let patch = UserOidcPatch { oidc_sub: required(&planned.oidc_sub, "oidc_sub")? };
        c.update(&user_id, &oidc_id, &patch)
            .await
            .map_err(|e| crate::vendors::failure::api_diag("Unable to update user OIDC assignment", &e))?;
        Ok(StateResult::state(self.read_back(c, &user_id, &oidc_id, "update").await?))
    }
}

#[async_trait]
impl ImportState<ProviderData> for UserOidcResource {
    async fn import(&self, _data: Option<&ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let (user_id, oidc_id) = parse_import_id(id).map_err(|why| Diagnostics::from(Diagnostic::error("Invalid import ID", why)))?;
        let m = UserOidcModel {
            id: Some(compose_id(&user_id, &oidc_id)),
            user_id: Some(user_id),
            oidc_id: Some(oidc_id),
            ..Default::default()
        };
        to_value(&m, UserOidcModel::ty())
    }
}

/// Not planning (the plan engine did that): a plan that would change a built-in
/// assignment is refused here, at plan time, so no doomed request is ever sent.
#[async_trait]
impl ModifyPlan<ProviderData> for UserOidcResource {
    async fn modify_plan(&self, _data: Option<&ProviderData>, req: &mut ModifyPlanRequest<'_>, diags: &mut Diagnostics) {
        if req.prior.is_null() || req.prior.get("builtin").as_bool() != Some(true) {
            return;
        }
        let Some(changed) = ["user_id", "oidc_id", "oidc_sub"].into_iter().find(|n| req.planned.get(n) != req.prior.get(n)) else {
            return;
        };
        let user_id = req.prior.get("user_id").as_str().unwrap_or_default();
        let oidc_id = req.prior.get("oidc_id").as_str().unwrap_or_default();
        let what = if changed == "oidc_sub" { "the change" } else { "the replacement" };
        diags.push(builtin_refusal(user_id, oidc_id, what).at(AttrPath::attrs(&[changed])));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfplugin::plan::plan_resource;
    use crate::tfplugin::validator::validate_attributes;

    const U: &str = "9124292845052624898";
    const O: &str = "9124292845052624897";

    fn config(user_id: &str, oidc_id: &str, sub: &str) -> Value {
        let mut v = to_value(&UserOidcModel::default(), UserOidcModel::ty()).expect("value");
        v.set("user_id", user_id.into());
        v.set("oidc_id", oidc_id.into());
        v.set("oidc_sub", sub.into());
        v
    }

    fn state(builtin: bool) -> Value {
        let a = UserOidc {
            user_id: U.into(),
            oidc_id: O.into(),
            oidc_sub: Some("john".into()),
            user_name: Some("User_1".into()),
            created_at: Some("2024-06-19 08:39:55.351137-07".into()),
            modified_at: Some("2024-06-19 08:39:55.351137-07".into()),
            builtin,
            ..Default::default()
        };
        to_value(&UserOidcModel::from_api(&a), UserOidcModel::ty()).expect("state")
    }

    #[test]
    fn import_ids() {
        assert_eq!(parse_import_id(&format!(" {U}/{O} ")), Ok((U.to_string(), O.to_string())));
        for bad in ["", U, &format!("{U}/"), &format!("/{O}"), "a/b", &format!("{U}/{O}/1"), &format!("{U}:{O}"), "123456789012345678901/1"]
        {
            let err = parse_import_id(bad).expect_err(bad);
            assert!(err.contains("<user_id>/<oidc_id>") && err.contains(&format!("{:?}", bad.trim())), "{bad}: {err}");
        }
    }

    #[test]
    fn import_state_keeps_the_wide_ids_exactly() {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let v = rt.block_on(UserOidcResource.import(None, &format!("{U}/{O}"))).expect("import");
        assert_eq!(v.get("user_id").as_str(), Some(U));
        assert_eq!(v.get("oidc_id").as_str(), Some(O));
        assert_eq!(v.get("id").as_str(), Some(format!("{U}/{O}").as_str()));
        assert!(v.get("builtin").is_null());
        let err = rt.block_on(UserOidcResource.import(None, "12345")).expect_err("malformed");
        assert!(err.to_string().contains("\"<user_id>/<oidc_id>\""), "{err}");
    }

    #[test]
    fn ids_are_validated_at_plan_time_with_the_attribute_path() {
        let schema = UserOidcResource::schema_static();
        let mut d = Diagnostics::new();
        validate_attributes(&schema.block.attributes, &config("abc", "9124292845052624897x", "john"), &AttrPath::root(), &mut d);
        let paths: Vec<String> = d.iter().filter_map(|x| x.path.as_ref().map(ToString::to_string)).collect();
        assert_eq!(paths, ["user_id", "oidc_id"], "{d}");
        assert!(d.to_string().contains("decimal digits"), "{d}");
        let mut d = Diagnostics::new();
        validate_attributes(&schema.block.attributes, &config(U, O, ""), &AttrPath::root(), &mut d);
        assert_eq!(d.iter().filter_map(|x| x.path.as_ref().map(ToString::to_string)).collect::<Vec<_>>(), ["oidc_sub"]);
    }

    #[test]
    fn plans_sub_in_place_and_ids_as_replacement() {
        let schema = UserOidcResource::schema_static();
        let prior = state(false);
        // oidc_sub: in place; created_at etc. keep their values, modified_at is unknown.
        let cfg = config(U, O, "john.d");
        let mut proposed = prior.clone();
        proposed.set("oidc_sub", "john.d".into());
        let change = plan_resource(&schema, &prior, &proposed, &cfg);
        assert!(change.requires_replace.is_empty());
        assert_eq!(change.planned.get("created_at"), prior.get("created_at"));
        assert_eq!(change.planned.get("id"), prior.get("id"));
        assert!(change.planned.get("modified_at").is_unknown());
        // oidc_id: replacement.
        let cfg = config(U, "9124292845052624898", "john");
        let mut proposed = prior.clone();
        proposed.set("oidc_id", "9124292845052624898".into());
        let change = plan_resource(&schema, &prior, &proposed, &cfg);
        assert_eq!(change.requires_replace, [AttrPath::attrs(&["oidc_id"])]);
    }

    #[test]
    fn builtin_assignments_are_refused_at_plan_time() {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let run = |prior: &Value, planned: Value| {
            let cfg = planned.clone();
            let mut req = ModifyPlanRequest { prior, prior_private: &[], config: &cfg, planned, requires_replace: Vec::new() };
            let mut d = Diagnostics::new();
            rt.block_on(UserOidcResource.modify_plan(None, &mut req, &mut d));
            d
        };
        let builtin = state(true);
        let mut changed = builtin.clone();
        changed.set("oidc_sub", "other".into());
        let d = run(&builtin, changed.clone());
        assert!(d.has_errors());
        assert_eq!(d.0[0].path, Some(AttrPath::attrs(&["oidc_sub"])));
        assert!(d.0[0].detail.contains("builtin = true") && d.0[0].detail.contains("terraform state rm"), "{d}");
        // Unchanged builtin, or a change of an ordinary assignment: nothing to say.
        assert!(run(&builtin, builtin.clone()).is_empty());
        let ordinary = state(false);
        let mut changed = ordinary.clone();
        changed.set("oidc_sub", "other".into());
        assert!(run(&ordinary, changed).is_empty());
    }
}

#[cfg(test)]
mod model_tests {
    /// Every attribute of the schema has a field in the model, and no field is extra (a
    /// missing one would silently become null).
    #[test]
    fn the_model_and_the_schema_have_the_same_attributes() {
        assert_eq!(crate::tfplugin::model::model_mismatch::<super::UserOidcModel>(), None);
    }
}
