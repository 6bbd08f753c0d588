//! `identity_scim_user`: a SCIM 2.0 user (`/Users`), with the OCI IAM password changer.
//!
//! Create is one POST whose answer is the full user, so creating a user costs one
//! request (plus one to set a password when one is given). Updates use PATCH rather
//! than PUT: a PUT replaces the whole user and would wipe attributes other tools (or
//! Oracle's extensions) set, while a PatchOp touches only what this resource manages.
//! Values the server adds or normalizes never cause a diff: its schema URN lists and
//! `meta` are not modelled, `recovery` emails are hidden unless the configuration lists
//! one (OCI IAM keeps, and the sandbox adds, a recovery copy of the primary address when
//! none is given; that copy cannot be configured, since an address may appear only once),
//! and emails read back in the configured case.
//!
//! The private state ([`Private`]) keeps the user's `meta.version`, which updates and
//! deletes send as `If-Match` (see [`super::versions`]). Import marks it (`imported`);
//! the next successful apply clears the mark.
//! While it is set, a plan that will send `password_wo` (because the configured
//! `password_wo_version` differs from the imported state's, which is always null) warns
//! that the server's current password will be replaced.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::tfplugin::timeouts::{self, TimedOut, Timeouts};

/// Every operation has a timeout; a user is named by its `userName` (or its id).
const TIMEOUTS: Timeouts = Timeouts::all("the user", |v| match v.get("user_name").as_str() {
    Some(name) => format!("the SCIM user \"{name}\""),
    None => format!("the SCIM user {}", v.get("id").as_str().unwrap_or_default()),
});
use crate::http::ApiError;
use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, from_value, to_value};
use crate::tfplugin::plan_modifier::PlanModifier;
use crate::tfplugin::resource::{ImportState, ModifyPlan, ModifyPlanRequest};
use crate::tfplugin::schema::IdentitySchema;
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{ApplyRequest, AttrPath, Attribute, Diagnostic, Diagnostics, Nesting, Resource, Schema, StateResult, Type, Value};
use crate::vendors::failure::api_diag;
use crate::vendors::rules;
use crate::vendors::scim::client::{PatchOperation, ScimClient};
use crate::vendors::scim::model::{self, User, UserAttributes};
use crate::vendors::scim::versions::{Private, changed_on_server, is_stale};

pub const TYPE_NAME: &str = "identity_scim_user";

pub struct ScimUserResource;

/// The user's attributes (shared with `identity_scim_users`), and what only this resource has.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Model {
    #[serde(flatten)]
    user: UserAttributes,
    emails: Option<Vec<Email>>,
    password_wo: Option<String>,
    password_wo_version: Option<i64>,
}

impl crate::tfplugin::model::Model for Model {
    fn schema() -> Schema {
        schema()
    }
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Email {
    value: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    primary: Option<bool>,
}

fn schema() -> Schema {
    Schema::new(
        "A user of a SCIM 2.0 service, such as an Oracle OCI IAM identity domain. The password can be set write-only (never stored in state).\n\n\
         Concurrent changes: where the server gives each user a version (`meta.version`, its ETag), updates and deletes are conditional (`If-Match` with the version Terraform last read), so a user changed on the server since then is not overwritten: the apply fails, says so, and the next plan shows the real difference. Without versions, the last writer wins.\n\n\
         To rotate a password without recording a version in the configuration and the state, use the `identity_scim_user_password` action (Terraform 1.14+).",
        vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The SCIM id of the user."),
            Attribute::string("ocid").computed().use_state_for_unknown().describe("The Oracle Cloud ID of the user (OCI IAM only; empty on other SCIM servers)."),
            Attribute::string("user_name")
                .required()
                .modifier(PlanModifier::CaseInsensitive)
                .describe("Unique user name (often the email address); unique without regard to case.")
                .validate(rules::text()),
            Attribute::string("given_name").optional().describe("Given (first) name.").validate(rules::text()),
            Attribute::string("family_name").optional().describe("Family (last) name.").validate(rules::text()),
            Attribute::string("display_name")
                .optional()
                .computed()
                // Left to the server, it derives from the names: another change (`active`,
                // a password rotation) keeps it known in the plan.
                .modifier(PlanModifier::UseStateUnlessChanged(&["given_name", "family_name"]))
                .describe("Name shown in user interfaces. Defaults to the server's choice (on OCI IAM, \"given family\"); null when the server sets none.")
                .validate(rules::text()),
            Attribute::nested(
                "emails",
                Nesting::List,
                vec![
                    Attribute::string("value")
                        .required()
                        .modifier(PlanModifier::CaseInsensitive)
                        .describe("The email address. Compared without regard to case: the server may lower-case it.").validate(Validator::matches(r"^[^@\s]+@[^@\s]+$", "an email address")),
                    Attribute::string("type").default_value("work").describe("Kind of address: `work`, `home`, `other` or `recovery`.").validate(Validator::one_of(&["work", "home", "other", "recovery"])),
                    Attribute::bool("primary").default_value(false).describe("Whether this is the primary address."),
                ],
            )
            .optional()
            .describe("Email addresses, each at most once (compared without regard to case); at most one is `primary`. When the configuration lists no `recovery` address, the server's `recovery` addresses are not shown (OCI IAM keeps a recovery copy of the primary address; that copy cannot be listed, since the primary entry already uses the address). A `recovery` entry with an address of its own can be configured; then every `recovery` address the server holds is shown.")
            .validate(rules::unique_with_one_flag("emails", "value", true, "primary")),
            Attribute::bool("active").default_value(true).describe("Whether the user may sign in."),
            Attribute::string("external_id")
                .optional()
                .describe("Identifier of the user in the provisioning client's own system.")
                .validate(rules::text()),
            Attribute::string("password_wo")
                .optional()
                .sensitive()
                .write_only()
                .describe("Password, write-only: set through the password changer after create and whenever `password_wo_version` changes; never stored in plan or state. The server's password policy applies; a rejection is shown as the server words it.")
                .validate(Validator::non_empty()),
            Attribute::number("password_wo_version")
                .optional()
                .describe("Any whole number; change it to set `password_wo` again (rotation). Recorded only once the password was accepted.")
                .validate(Validator::IntBetween { min: 0, max: i64::MAX })
                .validate(Validator::also_requires(&["password_wo"])),
            TIMEOUTS.attribute(),
        ],
    )
}

/// The user to send: the shared attributes, and the emails (`work`, not primary, unless set).
fn user_of(m: &Model) -> User {
    let email = |e: &Email| model::Email {
        value: e.value.clone(),
        kind: Some(e.kind.clone().unwrap_or_else(|| "work".into())),
        primary: Some(e.primary.unwrap_or(false)),
    };
    User { emails: m.emails.as_ref().map(|list| list.iter().map(email).collect()), ..m.user.to_api() }
}

/// Prefers the configured spelling when the server's differs only in case.
fn same_case(api: Option<&str>, base: Option<&String>) -> Option<String> {
    match (api, base) {
        (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => Some(b.clone()),
        (a, _) => a.map(str::to_string),
    }
}

/// The state from the server's user, keeping from `base` what the server cannot say.
fn state_from_api(u: &User, base: &Model) -> Model {
    let base_emails = base.emails.clone().unwrap_or_default();
    let wants_recovery = base_emails.iter().any(|e| e.kind.as_deref() == Some("recovery"));
    let emails: Vec<Email> = u
        .emails
        .iter()
        .flatten()
        .filter(|e| wants_recovery || e.kind.as_deref() != Some("recovery"))
        .map(|e| {
            let value = e.value.as_deref();
            let configured =
                base_emails.iter().find(|b| b.value.as_deref().is_some_and(|v| value.is_some_and(|x| x.eq_ignore_ascii_case(v))));
            Email {
                value: same_case(value, configured.and_then(|c| c.value.as_ref())),
                kind: Some(e.kind.clone().unwrap_or_else(|| "work".into())),
                primary: Some(e.primary.unwrap_or(false)),
            }
        })
        .collect();
    let mut user = UserAttributes::from_api(u);
    user.user_name = same_case(u.user_name.as_deref(), base.user.user_name.as_ref());
    Model {
        user,
        // No address reads back as the configured form of "none" (null or empty list).
        emails: if emails.is_empty() && base.emails.as_ref().is_none_or(|e| e.is_empty()) { base.emails.clone() } else { Some(emails) },
        password_wo: None,
        password_wo_version: base.password_wo_version,
    }
}

fn password_error(e: &crate::http::ApiError) -> Diagnostic {
    Diagnostic::error(
        "Password not accepted",
        format!("{}\nThe user exists; the password was not set and its version is not recorded as applied.", e.detail()),
    )
}

impl ScimUserResource {
    async fn set_password(c: &ScimClient, id: &str, config: &Value) -> Result<bool, crate::http::ApiError> {
        match config.get("password_wo").as_str() {
            Some(p) => c.set_password(id, p).await.map(|_| true),
            None => Ok(false),
        }
    }
}

#[async_trait]
impl Resource<ProviderData> for ScimUserResource {
    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::required(&[("id", Type::String, "SCIM id of the user.")]))
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
        let created = model::create(c, req, &user_of(&planned), TYPE_NAME).await?;
        let version = created.version().map(str::to_string);
        let mut state = state_from_api(&created, &planned);
        let id = state.user.id.clone().unwrap_or_default();
        let mut result = StateResult::default();
        match req.run(Self::set_password(c, &id, &req.config)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                state.password_wo_version = None;
                result.diags.push(password_error(&e));
            }
            Err(TimedOut) => {
                state.password_wo_version = None;
                result.diags.push(req.exceeded(&timeouts::created_tainted(
                    "The user",
                    &format!("id {id}"),
                    TYPE_NAME,
                    "its password was not set in time (its version is not recorded as applied)",
                )));
            }
        }
        result.state = to_value(&state, Model::ty())?;
        result.private = applied_private(&result, &req.private, version.as_deref());
        Ok(result)
    }

    async fn read(&self, data: &ProviderData, state: &Value, private: &[u8]) -> Result<StateResult, Diagnostics> {
        let c = data.scim_client()?;
        let prior: Model = from_value(state)?;
        let id = prior.user.id.clone().unwrap_or_default();
        match c.get_user_coalesced(&id).await {
            Ok(Some(u)) => Ok(StateResult::state(to_value(&state_from_api(&u, &prior), Model::ty())?)
                .with_private(Private::parse(private).with_version(u.version()).to_bytes())),
            Ok(None) => Ok(StateResult::gone()),
            Err(e) => Err(api_diag("Unable to read user", &e)),
        }
    }

    async fn update(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let (mut res, version) = self.update_now(data, req).await?;
        res.private = applied_private(&res, &req.private, version.as_deref());
        Ok(res)
    }

    async fn delete(&self, data: &ProviderData, state: &Value, private: &[u8]) -> Result<(), Diagnostics> {
        let c = data.scim_client()?;
        let prior: Model = from_value(state)?;
        let id = prior.user.id.clone().unwrap_or_default();
        let fail = |e: &ApiError| api_diag("Unable to delete user", e);
        match c.delete_if::<User>(&id, Private::parse(private).version.as_deref()).await {
            Ok(_) => Ok(()),
            Err(e) if is_stale(&e) => {
                // Deleted only if what this resource manages is as Terraform read it.
                let Some(current) = c.get::<User>(&id, &[]).await.map_err(|e| api_diag("Unable to read user", &e))? else {
                    return Ok(());
                };
                if !managed_equal(&state_from_api(&current, &prior), &prior) {
                    return Err(changed_on_server(&what(&prior), "delete").into());
                }
                match c.delete_if::<User>(&id, current.version()).await {
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

/// The private state after an apply: the version the apply read; the import marker is
/// cleared unless the apply failed (then the password may not have been set).
fn applied_private(res: &StateResult, before: &[u8], version: Option<&str>) -> Vec<u8> {
    let before = Private::parse(before);
    let imported = before.imported && res.diags.has_errors();
    Private { imported, ..before }.with_version(version).to_bytes()
}

/// How messages name the user.
fn what(m: &Model) -> String {
    match &m.user.user_name {
        Some(name) => format!("the SCIM user \"{name}\""),
        None => format!("the SCIM user {}", m.user.id.as_deref().unwrap_or_default()),
    }
}

/// Whether two readings agree on everything the resource manages.
fn managed_equal(a: &Model, b: &Model) -> bool {
    a.user == b.user && a.emails == b.emails
}

/// The plan warning of the first plans after an import: the configured
/// `password_wo_version` differs from the imported state's (null), so the apply will
/// set `password_wo` and replace whatever password the user has now.
fn password_after_import_warning(prior: &Value, prior_private: &[u8], config: &Value, planned: &Value) -> Option<Diagnostic> {
    if prior.is_null() || !Private::parse(prior_private).imported || config.get("password_wo").is_null() {
        return None;
    }
    let (was, now) = (prior.get("password_wo_version"), planned.get("password_wo_version"));
    if now.is_null() || was == now {
        return None;
    }
    let version = now.as_i64().map(|v| format!(" ({v})")).unwrap_or_default();
    Some(
        Diagnostic::warning(
            "Imported user: this apply sets the password",
            format!(
                "identity_scim_user was imported, and an imported user has no recorded `password_wo_version`. The configured `password_wo_version`{version} makes the next apply send `password_wo`, \
                 which replaces the user's current password on the server, even if the user or an administrator changed it since. Terraform cannot compare the two.\n\
                 To keep the server's password, leave `password_wo_version` out of the configuration for now (`password_wo` alone is only sent when a user is created) and add it when you mean to set the password. \
                 Otherwise nothing is needed: the configured password replaces the current one. This warning stops after the next successful apply."
            ),
        )
        .at(AttrPath::attrs(&["password_wo_version"])),
    )
}

#[async_trait]
impl ModifyPlan<ProviderData> for ScimUserResource {
    async fn modify_plan(&self, _data: Option<&ProviderData>, req: &mut ModifyPlanRequest<'_>, diags: &mut Diagnostics) {
        if let Some(w) = password_after_import_warning(req.prior, req.prior_private, req.config, &req.planned) {
            diags.push(w);
        }
    }
}

impl ScimUserResource {
    /// The update itself, without its time limit; with the version it leaves.
    async fn update_now(&self, data: &ProviderData, req: &ApplyRequest) -> Result<(StateResult, Option<String>), Diagnostics> {
        let c = data.scim_client()?;
        let planned: Model = req.planned_model()?;
        let prior: Model = req.prior_model()?;
        let id = prior.user.id.clone().unwrap_or_default();
        // One PatchOp: replace what is set, remove what the configuration dropped. A
        // `display_name` left out is the server's to choose, not removed.
        let (was, now) = (user_of(&prior), user_of(&planned));
        let mut ops = vec![PatchOperation::replace_attributes(&now)];
        ops.extend(PatchOperation::removals(&was, &now, &["displayName"]));
        let fail = |e: &ApiError| api_diag("Unable to update user", e);
        let answered = match c.patch_if::<User>(&id, &ops, Private::parse(&req.private).version.as_deref()).await {
            Ok(answered) => answered,
            Err(e) if is_stale(&e) => {
                let current = c.get::<User>(&id, &[]).await.map_err(|e| api_diag("Unable to read user", &e))?.ok_or_else(|| {
                    Diagnostics::from(Diagnostic::error("User vanished", format!("User {id} disappeared during the update.")))
                })?;
                if managed_equal(&state_from_api(&current, &planned), &planned) {
                    // An earlier attempt of this PatchOp was applied; its answer was lost.
                    Some(current)
                } else if managed_equal(&state_from_api(&current, &prior), &prior) {
                    // Only what this resource does not manage changed: the same change, once more.
                    match c.patch_if::<User>(&id, &ops, current.version()).await {
                        Ok(answered) => answered,
                        Err(e) if is_stale(&e) => return Err(changed_on_server(&what(&prior), "update").into()),
                        Err(e) => return Err(fail(&e)),
                    }
                } else {
                    return Err(changed_on_server(&what(&prior), "update").into());
                }
            }
            Err(e) => return Err(fail(&e)),
        };
        let user = match answered {
            Some(u) => u,
            None => c.get::<User>(&id, &[]).await.map_err(|e| api_diag("Unable to read user after update", &e))?.ok_or_else(|| {
                Diagnostics::from(Diagnostic::error("User vanished", format!("User {id} disappeared during the update.")))
            })?,
        };
        let mut state = state_from_api(&user, &planned);
        let mut result = StateResult::default();
        if planned.password_wo_version != prior.password_wo_version {
            if let Err(e) = Self::set_password(c, &id, &req.config).await {
                state.password_wo_version = prior.password_wo_version;
                result.diags.push(password_error(&e));
            }
        }
        result.state = to_value(&state, Model::ty())?;
        Ok((result, user.version().map(str::to_string)))
    }
}

#[async_trait]
impl ImportState<ProviderData> for ScimUserResource {
    async fn import(&self, _data: Option<&ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let id = id.trim();
        if id.is_empty() {
            return Err(Diagnostic::error("Invalid import ID", "Import a user by its SCIM id or its OCI ocid.").into());
        }
        // The read resolves an ocid to the user's id.
        to_value(&Model { user: UserAttributes { id: Some(id.to_string()), ..Default::default() }, ..Default::default() }, Model::ty())
    }

    fn import_private(&self, _state: &Value) -> Vec<u8> {
        Private { imported: true, version: None }.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tfplugin::plan::plan_resource;

    /// A state as the server leaves it: `display_name` derived by the server.
    fn prior() -> Value {
        let mut v = to_value(&Model::default(), Model::ty()).expect("value");
        for (k, x) in
            [("id", "u1"), ("ocid", ""), ("user_name", "olive@example.com"), ("given_name", "Olive"), ("display_name", "Olive Owner")]
        {
            v.set(k, Value::string(x));
        }
        v.set("active", Value::Bool(true));
        v.set("emails", Value::List(vec![]));
        v
    }

    /// The configuration of `prior`, with `display_name` left to the server.
    fn config(prior: &Value) -> Value {
        let mut c = prior.clone();
        for k in ["id", "ocid", "display_name", "emails"] {
            c.set(k, Value::Null);
        }
        c
    }

    /// The private state of an imported user, and of one applied since.
    const IMPORTED: &[u8] = br#"{"imported":true}"#;
    const APPLIED: &[u8] = b"{}";

    #[test]
    fn first_plan_after_import_warns_when_the_version_sends_the_password() {
        // The state right after import and read: no password version.
        let prior = prior();
        let mut config = config(&prior);
        config.set("password_wo", Value::string("secret-pw-123456"));
        config.set("password_wo_version", Value::int(1));
        let mut planned = prior.clone();
        planned.set("password_wo_version", Value::int(1));

        let w = password_after_import_warning(&prior, IMPORTED, &config, &planned).expect("a warning after import");
        assert_eq!(w.summary, "Imported user: this apply sets the password");
        assert_eq!(w.path, Some(AttrPath::attrs(&["password_wo_version"])));
        assert!(w.detail.contains("`password_wo_version` (1) makes the next apply send `password_wo`"), "{}", w.detail);
        assert!(w.detail.contains("leave `password_wo_version` out"), "{}", w.detail);
        assert!(!w.detail.contains("secret-pw-123456"), "never the password: {}", w.detail);

        // An unknown version (e.g. from another resource) will also send it.
        let mut unknown = planned.clone();
        unknown.set("password_wo_version", Value::unknown());
        assert!(password_after_import_warning(&prior, IMPORTED, &config, &unknown).is_some());

        // No marker (created by Terraform, or applied since the import): no warning.
        assert!(password_after_import_warning(&prior, APPLIED, &config, &planned).is_none());
        assert!(password_after_import_warning(&prior, b"", &config, &planned).is_none());
        // No version configured: the password is not sent.
        let mut no_version = config.clone();
        no_version.set("password_wo_version", Value::Null);
        assert!(password_after_import_warning(&prior, IMPORTED, &no_version, &prior).is_none());
        // The same version as the state: nothing sent.
        let mut same = prior.clone();
        same.set("password_wo_version", Value::int(1));
        assert!(password_after_import_warning(&same, IMPORTED, &config, &planned).is_none());
        // A create (no prior state).
        assert!(password_after_import_warning(&Value::Null, IMPORTED, &config, &planned).is_none());
    }

    #[test]
    fn an_apply_clears_the_import_marker_unless_it_failed() {
        let ok = StateResult::state(prior());
        assert_eq!(applied_private(&ok, IMPORTED, None), APPLIED);
        assert_eq!(applied_private(&ok, b"", None), APPLIED, "never empty: empty would keep the prior private state");
        let mut failed = StateResult::state(prior());
        failed.diags.push(Diagnostic::error("Password not accepted", "too short"));
        assert_eq!(applied_private(&failed, IMPORTED, None), IMPORTED);
        // The version read by the apply replaces the one before.
        assert_eq!(applied_private(&ok, br#"{"version":"W/\"1\""}"#, Some("W/\"2\"")), br#"{"version":"W/\"2\""}"#);
        assert_eq!(applied_private(&failed, br#"{"imported":true,"version":"1"}"#, Some("2")), br#"{"imported":true,"version":"2"}"#);
    }

    #[tokio::test]
    async fn import_marks_the_private_state() {
        let state = ScimUserResource.import(None, "u1").await.expect("import");
        assert_eq!(ScimUserResource.import_private(&state), IMPORTED);
    }

    /// A user as the server answers it.
    fn user(j: serde_json::Value) -> User {
        serde_json::from_value(j).expect("a user")
    }

    /// What the docs say of `recovery` addresses, against the server's answers.
    #[test]
    fn recovery_emails_are_hidden_unless_one_is_configured() {
        let email =
            |value: &str, kind: &str, primary: bool| Email { value: Some(value.into()), kind: Some(kind.into()), primary: Some(primary) };
        // OCI IAM (and the sandbox) add a recovery copy of the primary address.
        let server = user(json!({"id": "u1", "userName": "olive", "emails": [
            {"value": "olive@example.com", "type": "work", "primary": true},
            {"value": "olive@example.com", "type": "recovery", "primary": false}
        ]}));
        let work_only = Model { emails: Some(vec![email("Olive@example.com", "work", true)]), ..Default::default() };
        assert_eq!(state_from_api(&server, &work_only).emails, Some(vec![email("Olive@example.com", "work", true)]));

        // A recovery address of its own is configurable: the server adds no copy then.
        let server = user(json!({"id": "u1", "userName": "olive", "emails": [
            {"value": "olive@example.com", "type": "work", "primary": true},
            {"value": "backup@example.com", "type": "recovery"}
        ]}));
        let with_recovery = Model {
            emails: Some(vec![email("olive@example.com", "work", true), email("backup@example.com", "recovery", false)]),
            ..Default::default()
        };
        assert_eq!(state_from_api(&server, &with_recovery).emails, with_recovery.emails);

        // The server's copy itself cannot be configured: the address is already used.
        let check = |list: &[(&str, &str, bool)]| {
            let mut c = config(&prior());
            c.set(
                "emails",
                Value::List(
                    list.iter()
                        .map(|(v, k, p)| {
                            Value::object_of(&[("value", Value::string(*v)), ("type", Value::string(*k)), ("primary", Value::Bool(*p))])
                        })
                        .collect(),
                ),
            );
            let mut d = Diagnostics::new();
            crate::tfplugin::validator::validate_attributes(&schema().block.attributes, &c, &AttrPath::default(), &mut d);
            d
        };
        let refused = check(&[("olive@example.com", "work", true), ("olive@example.com", "recovery", false)]);
        assert!(refused.has_errors() && format!("{refused:?}").contains("each address may appear once"), "{refused:?}");
        assert!(!check(&[("olive@example.com", "work", true), ("backup@example.com", "recovery", false)]).has_errors());
    }

    #[test]
    fn display_name_stays_known_unless_a_name_changes() {
        let prior = prior();
        // Proposed new state: Terraform keeps the prior value of computed attributes the
        // configuration leaves null.
        let plan = |cfg: &Value| {
            let mut proposed = cfg.clone();
            for k in ["id", "ocid", "display_name", "emails"] {
                proposed.set(k, prior.get(k).clone());
            }
            plan_resource(&schema(), &prior, &proposed, cfg).planned
        };
        let mut inactive = config(&prior);
        inactive.set("active", Value::Bool(false));
        assert_eq!(plan(&inactive).get("display_name"), &Value::string("Olive Owner"), "an unrelated change keeps it known");
        let mut renamed = config(&prior);
        renamed.set("given_name", Value::string("Oliver"));
        assert!(plan(&renamed).get("display_name").is_unknown(), "a name change makes it unknown");
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
