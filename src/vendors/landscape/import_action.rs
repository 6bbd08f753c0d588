//! The `identity_oidc_group_import` action: starts a Canonical Landscape OIDC group
//! import session for an issuer and follows it to its end, streaming its status and the
//! time elapsed, then the number of staged groups. Nothing is stored in the state.
//!
//! It is the on-demand counterpart of the `identity_oidc_group_import` resource: the
//! resource records one session in the state and starts a new one only when it is
//! replaced (its `triggers` change); the action starts a new session every time it is
//! invoked, by `terraform apply -invoke=action.identity_oidc_group_import.<name>` or by
//! an `action_trigger` of another resource (for example after an identity provider is
//! created or changed).

use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::provider::ProviderData;
use crate::tfplugin::action::{Action, InvokeRequest, Progress, timeout_attribute};
use crate::tfplugin::{AttrPath, Attribute, Diagnostic, Diagnostics, Schema, Value};
use crate::vendors::landscape::client::{ImportSession, LandscapeClient};
use crate::vendors::landscape::oidc_group_import::{Backoff, WaitError, positive_whole_number, wait_for_session_reporting};

pub const TYPE_NAME: &str = "identity_oidc_group_import";

/// How long an invocation may take when `timeout` is not set.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

pub struct OidcGroupImportAction;

/// Elapsed time as people read it: `0.8s`, `12.3s`, `2m05s`.
fn elapsed(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 { format!("{s:.1}s") } else { format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60) }
}

/// The text of a limit, as configured or as the default.
fn limit_text(config: &Value, limit: Duration) -> String {
    config
        .get("timeout")
        .as_str()
        .map_or_else(|| format!("{}, the default", crate::tfplugin::timeouts::format_duration(limit)), str::to_string)
}

/// The error for a session that ended in a state other than `COMPLETED`.
fn failed(session: &ImportSession, issuer: i64, took: Duration) -> Diagnostic {
    Diagnostic::error(
        format!("OIDC group import session {} failed", session.id),
        format!(
            "Landscape import session {} (issuer {issuer}) ended with status {} after {}. No groups were staged by it; \
             check the issuer's configuration in Landscape and invoke the action again.",
            session.id,
            session.status,
            elapsed(took)
        ),
    )
}

fn wait_error(e: &WaitError, issuer: i64, limit: &str) -> Diagnostic {
    let id = e.last().id;
    match e {
        WaitError::TimedOut { last, waited, .. } => Diagnostic::error(
            format!("OIDC group import session {id} did not finish within the timeout ({limit})"),
            format!(
                "Landscape import session {id} (issuer {issuer}) is still {} after {}. Landscape continues it in the \
                 background; its groups are staged when it completes. To wait longer, raise `timeout` in the action's config.",
                last.status,
                elapsed(*waited)
            ),
        )
        .at(AttrPath::root().attr("timeout")),
        WaitError::Api { source, .. } => Diagnostic::error(
            format!("Unable to follow OIDC group import session {id}"),
            format!("Polling Landscape import session {id} (issuer {issuer}) failed: {}", source.detail()),
        ),
        WaitError::Vanished { .. } => Diagnostic::error(
            format!("OIDC group import session {id} disappeared"),
            format!("Landscape no longer knows import session {id} (issuer {issuer}), which was running."),
        ),
    }
}

impl OidcGroupImportAction {
    /// Starts the session, within the deadline (starting may wait on retries or the
    /// rate governor).
    async fn start(c: &LandscapeClient, issuer: i64, deadline: Instant, limit: &str) -> Result<ImportSession, Diagnostics> {
        match tokio::time::timeout_at(deadline, c.create_import_session(issuer)).await {
            Err(_) => Err(Diagnostic::error(
                format!("Timed out starting the OIDC group import of issuer {issuer}"),
                format!(
                    "Starting the import session took longer than the timeout ({limit}): Landscape was slow or rate-limiting. A \
                     session may have been started anyway. Raise `timeout` in the action's config to allow more time."
                ),
            )
            .at(AttrPath::root().attr("timeout"))
            .into()),
            Ok(Err(e)) => {
                let x = crate::vendors::failure::explain("Unable to start the OIDC group import", &e);
                let d = Diagnostic::error(x.summary, x.detail);
                Err(if e.is_not_found() { d.at(AttrPath::root().attr("issuer_id")) } else { d }.into())
            }
            Ok(Ok(s)) => Ok(s),
        }
    }
}

#[async_trait]
impl Action<ProviderData> for OidcGroupImportAction {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Starts a Canonical Landscape OIDC group import session for an issuer and waits for it to end, showing its \
             status and the time elapsed while it runs and the number of staged groups when it completes. A session that \
             ends `FAILED`, or is still running when `timeout` passes, is an error naming the session. Ctrl-C stops the \
             wait at once; the session keeps running in Landscape.\n\n\
             **Action or resource?** Use this action to import on demand (`terraform apply \
             -invoke=action.identity_oidc_group_import.<name>`) or whenever something else changes, with an \
             `action_trigger` (for example after an `identity_idp` is created or updated); nothing is stored in the \
             state. Use the `identity_oidc_group_import` resource when the state should record one import session \
             (its status, `staged_count`, and the session id that `identity_oidc_staged_groups` reads), starting a new \
             session only when its `triggers` change.",
            vec![
                Attribute::number("issuer_id")
                    .required()
                    .describe("Id of the OIDC issuer whose groups are imported.")
                    .validate(positive_whole_number()),
                timeout_attribute(DEFAULT_TIMEOUT),
            ],
        )
    }

    fn default_timeout(&self) -> Option<Duration> {
        Some(DEFAULT_TIMEOUT)
    }

    async fn plan(&self, data: Option<&ProviderData>, _config: &Value) -> Diagnostics {
        // An invocation needs the Landscape block; say so at plan time rather than halfway
        // through an apply.
        match data.map(|d| d.landscape_client()) {
            Some(Err(d)) => d,
            _ => Diagnostics::new(),
        }
    }

    async fn invoke(&self, data: &ProviderData, req: &InvokeRequest, progress: &Progress) -> Result<Diagnostics, Diagnostics> {
        let c = data.landscape_client()?;
        let issuer = req.config.get("issuer_id").as_i64().ok_or_else(|| {
            Diagnostics::from(Diagnostic::error("Missing issuer_id", "issuer_id is required.").at(AttrPath::root().attr("issuer_id")))
        })?;
        let limit = req.limit.unwrap_or(DEFAULT_TIMEOUT);
        let limit_shown = limit_text(&req.config, limit);
        let started = Instant::now();
        let deadline = req.deadline.unwrap_or(started + limit);

        let session = Self::start(c, issuer, deadline, &limit_shown).await?;
        tracing::info!(session_id = session.id, issuer_id = issuer, status = %session.status, "action started OIDC group import session");
        progress.send(format!("Import session {} for issuer {issuer} started: {}", session.id, session.status)).await;

        let session = if session.in_progress() {
            let report = |s: &ImportSession, _waited: Duration| {
                let line = format!("Import session {}: {} ({} elapsed)", s.id, s.status, elapsed(started.elapsed()));
                async move { progress.send(line).await }
            };
            match wait_for_session_reporting(c, session, deadline, Backoff::DEFAULT, report).await {
                Ok(r) => r.session,
                Err(e) => return Err(wait_error(&e, issuer, &limit_shown).into()),
            }
        } else {
            session
        };
        if !session.completed() {
            return Err(failed(&session, issuer, started.elapsed()).into());
        }
        let staged = tokio::time::timeout_at(deadline, c.staged_count(session.id, false)).await;
        match staged {
            Ok(Ok(n)) => {
                progress
                    .send(format!("Import session {} completed after {}: {n} groups staged", session.id, elapsed(started.elapsed())))
                    .await;
                Ok(Diagnostics::new())
            }
            Ok(Err(e)) => Err(Diagnostic::error(
                "Unable to count the staged OIDC groups",
                format!("Import session {} completed, but listing its staged groups failed: {}", session.id, e.detail()),
            )
            .into()),
            Err(_) => Err(Diagnostic::error(
                format!("Import session {} completed, but counting its staged groups ran out of time ({limit_shown})", session.id),
                "The import itself completed. Raise `timeout` in the action's config to allow more time.",
            )
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_reads_naturally() {
        assert_eq!(elapsed(Duration::from_millis(800)), "0.8s");
        assert_eq!(elapsed(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(elapsed(Duration::from_secs(125)), "2m05s");
    }

    #[test]
    fn a_failed_session_is_named_with_the_vendors_status() {
        let s = ImportSession { id: 7, account_id: None, status: "FAILED".into(), issuer_id: Some(124), synced_at: None };
        let d = failed(&s, 124, Duration::from_secs(1));
        assert!(d.summary.contains("session 7"), "{d:?}");
        assert!(d.detail.contains("status FAILED"), "{d:?}");
    }
}
