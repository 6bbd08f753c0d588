//! `identity_oidc_group_import`: a Canonical Landscape OIDC group import session
//! (`POST /api/v2/oidc/groups/import_session`, polled at `GET .../import_session/<id>`).
//!
//! Create starts a session and (unless `wait_for_completion = false`) waits until it
//! leaves `IN_PROGRESS`, polling with a capped exponential backoff ([`Backoff::DEFAULT`]:
//! 250 ms, doubling, at most 5 s between polls) within `timeouts.create` (10 minutes by
//! default). Once Landscape has the session, it is never lost: a session that ends in any
//! state but `COMPLETED`, that is still running at the deadline, or whose polling fails,
//! is returned as state *and* an error, so Terraform records it tainted and the next apply
//! replaces it. When Terraform stops the provider (Ctrl-C), the server cancels the wait
//! (the call is raced against StopProvider); the session then keeps running in Landscape
//! and is not recorded.
//!
//! Landscape has no API to delete an import session: destroy only forgets it. Update
//! changes only provider-side settings (`wait_for_completion`, `timeouts`); `issuer_id`
//! and `triggers` force a new session.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::http::ApiError;
use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, from_value, to_value};
use crate::tfplugin::resource::ImportState;
use crate::tfplugin::schema::IdentitySchema;
use crate::tfplugin::timeouts::{Op, Timeouts};
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{ApplyRequest, AttrPath, Attribute, Diagnostic, Diagnostics, Resource, Schema, StateResult, Type, Value};
use crate::vendors::landscape::client::{ImportSession, LandscapeClient};

pub const TYPE_NAME: &str = "identity_oidc_group_import";

/// How long create waits when `timeouts.create` is not set.
/// Only a create waits (for the session to finish); a session is named by its issuer.
const TIMEOUTS: Timeouts = Timeouts::only(&[Op::Create], Op::Delete, "the import session", |v| {
    format!("the OIDC group import of issuer {}", v.get("issuer_id").as_i64().unwrap_or_default())
});

pub struct OidcGroupImportResource;

/// The delays between polls: `initial`, doubling each time, never more than `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const DEFAULT: Backoff = Backoff { initial: Duration::from_millis(250), max: Duration::from_secs(5) };

    /// The delay before poll number `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        self.initial.saturating_mul(1u32 << attempt.min(20)).min(self.max)
    }
}

/// How a completed wait went.
#[derive(Clone, Debug)]
pub struct WaitReport {
    /// The session as last read (no longer `IN_PROGRESS`).
    pub session: ImportSession,
    /// `GET .../import_session/<id>` requests made.
    pub polls: u32,
    pub waited: Duration,
}

/// Why a wait ended without the session leaving `IN_PROGRESS`. Each carries the session
/// as last known, so that it can still be recorded in state.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("import session {} is still running after {waited:?} ({polls} polls)", last.id)]
    TimedOut { last: ImportSession, polls: u32, waited: Duration },
    #[error("import session {} could not be read: {source}", last.id)]
    Api { last: ImportSession, source: ApiError },
    #[error("import session {} disappeared while it was running", last.id)]
    Vanished { last: ImportSession },
}

impl WaitError {
    pub fn last(&self) -> &ImportSession {
        match self {
            WaitError::TimedOut { last, .. } | WaitError::Api { last, .. } | WaitError::Vanished { last } => last,
        }
    }
}

/// Polls the session until it leaves `IN_PROGRESS` or `deadline` passes. The last poll
/// happens at the deadline, so a session that ends just in time is not reported as
/// timed out.
pub async fn wait_for_session(
    c: &LandscapeClient,
    session: ImportSession,
    deadline: Instant,
    backoff: Backoff,
) -> Result<WaitReport, WaitError> {
    wait_for_session_reporting(c, session, deadline, backoff, |_, _| async {}).await
}

/// [`wait_for_session`], calling `report` with the session and the time waited after
/// every poll (the action streams these as progress).
pub async fn wait_for_session_reporting<F, Fut>(
    c: &LandscapeClient,
    session: ImportSession,
    deadline: Instant,
    backoff: Backoff,
    mut report: F,
) -> Result<WaitReport, WaitError>
where
    F: FnMut(&ImportSession, Duration) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    let mut last = session;
    let mut polls = 0u32;
    while last.in_progress() {
        let now = Instant::now();
        if now >= deadline {
            return Err(WaitError::TimedOut { last, polls, waited: started.elapsed() });
        }
        tokio::time::sleep(backoff.delay(polls).min(deadline - now)).await;
        polls += 1;
        match c.get_import_session(last.id).await {
            Ok(Some(s)) => last = s,
            Ok(None) => return Err(WaitError::Vanished { last }),
            Err(source) => return Err(WaitError::Api { last, source }),
        }
        tracing::debug!(session_id = last.id, status = %last.status, polls, "polled OIDC group import session");
        report(&last, started.elapsed()).await;
    }
    Ok(WaitReport { session: last, polls, waited: started.elapsed() })
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Model {
    id: Option<String>,
    issuer_id: Option<i64>,
    triggers: Option<BTreeMap<String, Option<String>>>,
    wait_for_completion: Option<bool>,
    timeouts: Option<TimeoutsModel>,
    status: Option<String>,
    account_id: Option<i64>,
    synced_at: Option<String>,
    staged_count: Option<i64>,
}

impl crate::tfplugin::model::Model for Model {
    fn schema() -> Schema {
        OidcGroupImportResource::schema_static()
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct TimeoutsModel {
    create: Option<String>,
}

fn client(data: &ProviderData) -> Result<&LandscapeClient, Diagnostics> {
    data.landscape_client()
}

/// The state for `session`, keeping the provider-side settings from `base` (plan or
/// prior state).
fn state_from(session: &ImportSession, base: &Model, staged_count: Option<i64>) -> Model {
    Model {
        id: Some(session.id.to_string()),
        issuer_id: session.issuer_id.or(base.issuer_id),
        triggers: base.triggers.clone(),
        wait_for_completion: Some(base.wait_for_completion.unwrap_or(true)),
        timeouts: base.timeouts.clone(),
        status: Some(session.status.clone()),
        account_id: session.account_id,
        synced_at: session.synced_at.clone(),
        staged_count,
    }
}

/// Ids are positive whole numbers.
pub fn positive_whole_number() -> Validator {
    Validator::custom("a positive whole number", |v| match v.as_i64() {
        Some(n) if n > 0 => Ok(()),
        _ => Err("must be a positive whole number".into()),
    })
}

const TAINTED: &str = "The session is recorded in the Terraform state and marked tainted, so nothing is orphaned: \
     the next apply replaces it with a new import session.";

impl OidcGroupImportResource {
    fn schema_static() -> Schema {
        Schema::new(
            "An OIDC group import session of Canonical Landscape. Creating it starts the session (Landscape stages the \
             issuer's groups in a background job) and waits until the session leaves `IN_PROGRESS`, polling with a \
             capped exponential backoff (250 ms, doubling, at most 5 s between polls). Read the staged groups with the \
             `identity_oidc_staged_groups` data source.\n\n\
             A session that ends `FAILED`, or is still running when `timeouts.create` passes, is an error; the session \
             is still recorded in the state, marked tainted, and the next apply starts a new one.\n\n\
             If Terraform is interrupted (Ctrl-C) during the wait, the wait stops at once; the session keeps running \
             in Landscape but is not recorded in the state.\n\n\
             Landscape has no API to delete an import session: destroying this resource only removes it from the \
             Terraform state. To import again, change `triggers`.\n\n\
             Concurrent imports: Landscape's API offers no preconditions; each apply that creates this resource starts \
             a session of its own, and sessions started elsewhere for the same issuer run beside it.\n\n\
             To import on demand, or every time another resource changes, without recording a session in the state, use \
             the `identity_oidc_group_import` action (Terraform 1.14+) instead.",
            vec![
                Attribute::string("id").computed().use_state_for_unknown().describe("The import session id; also the import ID."),
                Attribute::number("issuer_id")
                    .required()
                    .requires_replace()
                    .describe("Id of the OIDC issuer whose groups are imported.")
                    .validate(positive_whole_number()),
                Attribute::map_of("triggers", Type::String).optional().requires_replace().describe(
                    "Arbitrary values that, when changed, replace the resource, which starts a new import session \
                     (for example a date or a version number). Null after `terraform import`.",
                ),
                Attribute::bool("wait_for_completion").default_value(true).describe(
                    "Wait for the session to leave `IN_PROGRESS` during apply. When `false`, apply returns as soon as the \
                     session has started, and `status` is refreshed by later plans. Changing it later has no effect on \
                     the existing session.",
                ),
                TIMEOUTS.attribute(),
                Attribute::string("status")
                    .computed()
                    .use_state_for_unknown()
                    .describe("The session's status: `IN_PROGRESS`, then `COMPLETED` or `FAILED`. Refreshed on every plan."),
                Attribute::number("account_id")
                    .computed()
                    .use_state_for_unknown()
                    .describe("The Landscape account the session belongs to."),
                Attribute::string("synced_at")
                    .computed()
                    .use_state_for_unknown()
                    .describe("When Landscape last synced the groups (RFC 3339)."),
                Attribute::number("staged_count").computed().use_state_for_unknown().describe(
                    "How many groups the session staged, not counting groups already imported; null until the session has completed.",
                ),
            ],
        )
    }

    /// `staged_count` for a completed session; None otherwise.
    async fn staged_count(c: &LandscapeClient, session: &ImportSession) -> Result<Option<i64>, ApiError> {
        if !session.completed() {
            return Ok(None);
        }
        let n = c.staged_count(session.id, false).await?;
        Ok(Some(i64::try_from(n).unwrap_or(i64::MAX)))
    }
}

fn wait_diagnostic(e: &WaitError, issuer: i64, timeout_text: &str) -> Diagnostic {
    let id = e.last().id;
    match e {
        WaitError::TimedOut { last, .. } => Diagnostic::error(
            "Timed out waiting for the OIDC group import",
            format!(
                "Landscape import session {id} (issuer {issuer}) is still running (status {}) after {timeout_text} \
                 (`timeouts.create`). Landscape continues it in the background. {TAINTED} To keep this session instead, \
                 wait until it has completed and run `terraform untaint` on this resource; or raise `timeouts.create`.",
                last.status
            ),
        ),
        WaitError::Api { source, .. } => Diagnostic::error(
            "Unable to read the OIDC group import session",
            format!("Polling Landscape import session {id} (issuer {issuer}) failed: {}. {TAINTED}", source.detail()),
        ),
        WaitError::Vanished { .. } => Diagnostic::error(
            "OIDC group import session disappeared",
            format!("Landscape no longer knows import session {id} (issuer {issuer}), which was running. {TAINTED}"),
        ),
    }
}

#[async_trait]
impl Resource<ProviderData> for OidcGroupImportResource {
    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::required(&[("id", Type::String, "Landscape import session id.")]))
    }

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Self::schema_static()
    }

    async fn create(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let started = Instant::now();
        let c = client(data)?;
        let planned: Model = req.planned_model()?;
        let issuer = planned.issuer_id.ok_or_else(|| {
            Diagnostics::from(Diagnostic::error("Missing issuer_id", "issuer_id is required.").at(AttrPath::attrs(&["issuer_id"])))
        })?;
        let timeout = req.deadline.as_ref().map_or(Op::Create.default_timeout(), |d| d.limit());
        let timeout_text = planned.timeouts.as_ref().and_then(|t| t.create.clone()).unwrap_or_else(|| format!("{}s", timeout.as_secs()));

        // Starting the session may itself wait (retries, the rate governor): bounded by the
        // same create timeout.
        let session = tokio::time::timeout(timeout, c.create_import_session(issuer))
            .await
            .map_err(|_| {
                Diagnostics::from(Diagnostic::error(
                    "Timed out starting the OIDC group import",
                    format!(
                        "Starting the import session of issuer {issuer} took longer than timeouts.create ({timeout_text}): Landscape was slow or rate-limiting. A session may have been started anyway (Landscape has no way to look it up by issuer); applying again starts a new one. Raise timeouts.create to allow more time."
                    ),
                ))
            })?
            .map_err(|e| {
                let x = crate::vendors::failure::explain("Unable to start the OIDC group import", &e);
                let d = Diagnostic::error(x.summary, x.detail);
                Diagnostics::from(if e.is_not_found() { d.at(AttrPath::attrs(&["issuer_id"])) } else { d })
            })?;
        tracing::info!(session_id = session.id, issuer_id = issuer, status = %session.status, "started OIDC group import session");

        let mut diags = Diagnostics::new();
        let session = if planned.wait_for_completion.unwrap_or(true) && session.in_progress() {
            match wait_for_session(c, session, started + timeout, Backoff::DEFAULT).await {
                Ok(r) => {
                    tracing::info!(
                        session_id = r.session.id,
                        status = %r.session.status,
                        polls = r.polls,
                        waited_ms = r.waited.as_millis() as u64,
                        "OIDC group import session finished"
                    );
                    r.session
                }
                Err(e) => {
                    tracing::warn!(error = %e, "waiting for the OIDC group import session ended early");
                    diags.push(wait_diagnostic(&e, issuer, &timeout_text));
                    e.last().clone()
                }
            }
        } else {
            session
        };
        if !diags.has_errors() && !session.in_progress() && !session.completed() {
            diags.push(Diagnostic::error(
                "OIDC group import failed",
                format!("Landscape import session {} (issuer {issuer}) ended with status {}. {TAINTED}", session.id, session.status),
            ));
        }
        let staged_count = match Self::staged_count(c, &session).await {
            Ok(n) => n,
            Err(e) => {
                diags.push(Diagnostic::error(
                    "Unable to count the staged OIDC groups",
                    format!("Import session {} completed, but listing its staged groups failed: {}. {TAINTED}", session.id, e.detail()),
                ));
                None
            }
        };
        let mut m = state_from(&session, &planned, staged_count);
        m.issuer_id = Some(issuer);
        Ok(StateResult { state: to_value(&m, Model::ty())?, private: Vec::new(), diags })
    }

    async fn read(&self, data: &ProviderData, state: &Value, _private: &[u8]) -> Result<StateResult, Diagnostics> {
        let c = client(data)?;
        let prior: Model = from_value(state)?;
        let Some(id) = prior.id.as_deref().and_then(|s| s.trim().parse::<i64>().ok()) else {
            return Err(Diagnostic::error("Invalid state", "The stored import session id is not a number.").into());
        };
        let session = match c.get_import_session(id).await {
            Ok(Some(s)) => s,
            Ok(None) => return Ok(StateResult::gone()),
            Err(e) => return Err(crate::vendors::failure::api_diag("Unable to read the OIDC group import session", &e)),
        };
        let staged_count = Self::staged_count(c, &session)
            .await
            .map_err(|e| crate::vendors::failure::api_diag("Unable to count the staged OIDC groups", &e))?;
        Ok(StateResult::state(to_value(&state_from(&session, &prior, staged_count), Model::ty())?))
    }

    async fn update(&self, _data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        // Only provider-side settings can change in place: nothing to send to Landscape.
        let planned: Model = req.planned_model()?;
        let prior: Model = req.prior_model()?;
        let m = Model {
            triggers: planned.triggers,
            wait_for_completion: planned.wait_for_completion.or(prior.wait_for_completion),
            timeouts: planned.timeouts,
            ..prior
        };
        Ok(StateResult::state(to_value(&m, Model::ty())?))
    }

    async fn delete(&self, _data: &ProviderData, state: &Value, _private: &[u8]) -> Result<(), Diagnostics> {
        // Landscape has no API to delete an import session: forgetting it is all there is.
        tracing::info!(session_id = state.get("id").as_str().unwrap_or_default(), "removing the OIDC group import session from state only");
        Ok(())
    }

    fn timeouts(&self) -> Option<Timeouts> {
        Some(TIMEOUTS)
    }

    fn as_import(&self) -> Option<&dyn ImportState<ProviderData>> {
        Some(self)
    }
}

#[async_trait]
impl ImportState<ProviderData> for OidcGroupImportResource {
    async fn import(&self, _data: Option<&ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        match id.trim().parse::<i64>() {
            Ok(n) if n > 0 => to_value(&Model { id: Some(n.to_string()), ..Default::default() }, Model::ty()),
            _ => Err(Diagnostic::error(
                "Invalid import ID",
                format!(
                    "Import an OIDC group import session by its numeric Landscape session id, e.g. `terraform import {TYPE_NAME}.example 42`; got {:?}.",
                    id.chars().take(64).collect::<String>()
                ),
            )
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpSettings;
    use crate::sandbox::{self, SandboxConfig, landscape as sb};

    #[test]
    fn landscape_backoff_doubles_and_is_capped() {
        let b = Backoff::DEFAULT;
        let delays: Vec<u128> = (0..8).map(|i| b.delay(i).as_millis()).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(5));
    }

    async fn sandbox_client(import_ms: u64) -> (sandbox::RunningSandbox, LandscapeClient) {
        let config = SandboxConfig { landscape_import_ms: import_ms, landscape_slow_import_ms: 60_000, ..SandboxConfig::default() };
        let s = sandbox::spawn(config).await.expect("sandbox");
        let c = LandscapeClient::new(&s.landscape_url(), sandbox::DEFAULT_LANDSCAPE_TOKEN, HttpSettings::default()).expect("client");
        (s, c)
    }

    /// The figures for the default sandbox session (1500 ms): how long the wait takes and
    /// how many polls it makes.
    #[tokio::test]
    async fn landscape_wait_figures_for_a_default_session() {
        let (_s, c) = sandbox_client(sb::DEFAULT_IMPORT_MS).await;
        let session = c.create_import_session(sb::ISSUER_OK).await.expect("create");
        let r = wait_for_session(&c, session, Instant::now() + Duration::from_secs(60), Backoff::DEFAULT).await.expect("wait");
        println!(
            "landscape wait: session of {} ms -> {} after {} polls in {} ms",
            sb::DEFAULT_IMPORT_MS,
            r.session.status,
            r.polls,
            r.waited.as_millis()
        );
        assert!(r.session.completed());
        // Polls at 0.25 s, 0.75 s and 1.75 s at the earliest; a loaded machine makes them
        // later, so the second may already see the end. The third always does (1.75 s
        // after the wait began is after the session's 1.5 s), so there is never a fourth.
        assert!((1..=3).contains(&r.polls), "{} polls", r.polls);
    }

    #[tokio::test]
    async fn landscape_wait_times_out_at_the_deadline_with_the_session() {
        let (_s, c) = sandbox_client(0).await;
        let session = c.create_import_session(sb::ISSUER_SLOW).await.expect("create");
        let id = session.id;
        let err =
            wait_for_session(&c, session, Instant::now() + Duration::from_millis(900), Backoff::DEFAULT).await.expect_err("times out");
        match &err {
            // Polls at 0.25 s, 0.75 s and the deadline (0.9 s) at the earliest; a loaded
            // machine makes them later and fewer, never more (a poll is never made after
            // the deadline).
            WaitError::TimedOut { last, polls, waited } => {
                assert_eq!(last.id, id);
                assert!(last.in_progress());
                assert!((1..=3).contains(polls), "{polls} polls");
                assert!(*waited >= Duration::from_millis(900), "gave up at the deadline, not before: {waited:?}");
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
        let d = wait_diagnostic(&err, sb::ISSUER_SLOW, "900ms");
        assert!(d.detail.contains(&format!("session {id}")) && d.detail.contains("still running"), "{}", d.detail);
    }

    #[tokio::test]
    async fn landscape_wait_ends_on_failure_and_unknown_session() {
        let (_s, c) = sandbox_client(100).await;
        let session = c.create_import_session(sb::ISSUER_FAILING).await.expect("create");
        let r = wait_for_session(&c, session.clone(), Instant::now() + Duration::from_secs(10), Backoff::DEFAULT).await.expect("ends");
        assert_eq!(r.session.status, "FAILED");
        let ghost = ImportSession { id: 4242, ..session };
        let err = wait_for_session(&c, ghost, Instant::now() + Duration::from_secs(10), Backoff::DEFAULT).await.expect_err("vanished");
        assert!(matches!(err, WaitError::Vanished { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn landscape_import_id_must_be_a_positive_number() {
        let r = OidcGroupImportResource;
        let v = r.import(None, " 17 ").await.expect("imports");
        assert_eq!(v.get("id").as_str(), Some("17"));
        assert!(v.get("issuer_id").is_null());
        for bad in ["", "abc", "-1", "0", "1.5"] {
            let e = r.import(None, bad).await.expect_err(bad);
            assert!(e.to_string().contains("numeric Landscape session id"), "{e}");
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
