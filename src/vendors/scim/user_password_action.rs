//! The `identity_scim_user_password` action: sets a user's password through the OCI IAM
//! password changer (`PUT /UserPasswordChanger/{id}`), from a write-only input, so that
//! a rotation can run on demand or after a change with no state involved: the password
//! is in no plan, no state and no output. A password the server's policy refuses is an
//! error in the server's words, scrubbed of the password.

use std::time::Duration;

use async_trait::async_trait;

use crate::provider::ProviderData;
use crate::tfplugin::action::{Action, InvokeRequest, Progress, timeout_attribute};
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{AttrPath, Attribute, Diagnostic, Diagnostics, Schema, Value};

pub const TYPE_NAME: &str = "identity_scim_user_password";

/// How long an invocation may take when `timeout` is not set.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

pub struct UserPasswordAction;

#[async_trait]
impl Action<ProviderData> for UserPasswordAction {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Sets the password of a SCIM user through the OCI IAM password changer. The password is write-only: it can \
             come from an ephemeral resource or a variable marked `ephemeral`, and it appears in no plan, no state and no \
             output. Invoke it on demand to rotate a password (`terraform apply \
             -invoke=action.identity_scim_user_password.<name>`), or after a change with an `action_trigger`.\n\n\
             A password the server's password policy refuses is an error in the server's words; the user keeps the \
             password it had.\n\n\
             **Action or `password_wo`?** The `identity_scim_user` resource's `password_wo` sets a password when the user \
             is created and whenever `password_wo_version` changes, and records that version in the state. This action \
             records nothing: use it for rotations that should not depend on a version kept in the configuration, or for \
             users that Terraform does not manage.",
            vec![
                Attribute::string("user_id").required().validate(Validator::non_empty()).describe("SCIM id of the user."),
                Attribute::string("password").required().sensitive().write_only().validate(Validator::non_empty()).describe(
                    "The new password. Write-only: never stored, and may come from an ephemeral value. The server's \
                     password policy decides what it accepts.",
                ),
                timeout_attribute(DEFAULT_TIMEOUT),
            ],
        )
    }

    fn default_timeout(&self) -> Option<Duration> {
        Some(DEFAULT_TIMEOUT)
    }

    async fn plan(&self, data: Option<&ProviderData>, _config: &Value) -> Diagnostics {
        match data.map(|d| d.scim_client()) {
            Some(Err(d)) => d,
            _ => Diagnostics::new(),
        }
    }

    async fn invoke(&self, data: &ProviderData, req: &InvokeRequest, progress: &Progress) -> Result<Diagnostics, Diagnostics> {
        let c = data.scim_client()?;
        let user_id = req.config.get("user_id").as_str().unwrap_or_default().to_string();
        let Some(password) = req.config.get("password").as_str() else {
            return Err(Diagnostic::error("Missing password", "password is required.").at(AttrPath::root().attr("password")).into());
        };
        progress.send(format!("Setting the password of SCIM user {user_id}")).await;
        match c.set_password(&user_id, password).await {
            Ok(()) => {
                tracing::info!(user_id = %user_id, "password set by action");
                progress.send(format!("Password of SCIM user {user_id} set")).await;
                Ok(Diagnostics::new())
            }
            Err(e) if e.is_not_found() => Err(Diagnostic::error(
                format!("SCIM user {user_id} not found"),
                format!("The server has no user with this id, so no password was set: {}", e.detail()),
            )
            .at(AttrPath::root().attr("user_id"))
            .into()),
            Err(e) => Err(Diagnostic::error(
                format!("Password of SCIM user {user_id} not accepted"),
                format!("{}\nThe user keeps the password it had.", e.detail()),
            )
            .at(AttrPath::root().attr("password"))
            .into()),
        }
    }
}
