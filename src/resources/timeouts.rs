//! `timeouts = { create, read, update, delete }` for resources whose operations wait on
//! the vendor: every vendor call may be retried with backoff (honouring `Retry-After`),
//! and a 429 pauses every request to that vendor in its rate governor. A [`Deadline`]
//! bounds one whole operation; when it passes, the operation is dropped (which cancels
//! its requests and waits, as StopProvider does) and the diagnostic names the operation,
//! the timeout and how to raise it, and says what may already have happened.
//!
//! `timeouts` is provider-side only: never sent to an API and never read from one. Create
//! and update take it from the plan; read and delete from the state (as the
//! terraform-plugin-framework's timeouts do), so a changed `read` or `delete` takes effect
//! once an apply has stored it. A change of `timeouts` alone is an in-place update that
//! sends nothing ([`timeouts_only_update`]): the plan engine cannot leave a configured
//! attribute out of the plan, so it shows as an update of `timeouts` only.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::tfplugin::schema::AttrKind;
use crate::tfplugin::timeouts::{parse_duration, timeout_for, timeouts_attribute};
use crate::tfplugin::{ApplyRequest, AttrPath, Attribute, Diagnostic, Diagnostics, StateResult, Value};

/// One operation of a resource, as named in `timeouts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Create,
    Read,
    Update,
    Delete,
}

impl Op {
    /// Every operation, in the order the attribute lists them.
    pub(crate) const ALL: [Op; 4] = [Op::Create, Op::Read, Op::Update, Op::Delete];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Read => "read",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }

    fn gerund(self) -> &'static str {
        match self {
            Op::Create => "creating",
            Op::Read => "reading",
            Op::Update => "updating",
            Op::Delete => "deleting",
        }
    }

    /// How long the operation may take when `timeouts` does not say.
    pub(crate) fn default_timeout(self) -> Duration {
        match self {
            Op::Read => Duration::from_secs(5 * 60),
            Op::Create | Op::Update | Op::Delete => Duration::from_secs(20 * 60),
        }
    }

    fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.name() == name)
    }

    fn description(self) -> String {
        let what = match self {
            Op::Create => "How long creating may take",
            Op::Read => "How long reading (refreshing) may take",
            Op::Update => "How long an in-place update may take",
            Op::Delete => "How long deleting may take",
        };
        let source = match self {
            Op::Create | Op::Update => "",
            Op::Read => " Refreshes use the value stored in the state by the last apply.",
            Op::Delete => " Destroying uses the value stored in the state by the last apply.",
        };
        format!(
            "{what}, as a duration such as \"90s\", \"10m\" or \"1h30m\" (units h, m, s, ms), longer than zero. \
             Defaults to `{}`.{source}",
            format_duration(self.default_timeout())
        )
    }
}

/// The `timeouts` attribute for `ops`, each with its own default, validated at plan time
/// (a duration, longer than zero).
pub(crate) fn attribute(ops: &[Op]) -> Attribute {
    let names: Vec<&str> = ops.iter().map(|o| o.name()).collect();
    let mut a = super::rules::positive_timeouts(timeouts_attribute(&names, Op::Create.default_timeout()));
    if let AttrKind::Nested { attributes, .. } = &mut a.kind {
        for attr in attributes.iter_mut() {
            if let Some(op) = Op::from_name(&attr.name) {
                attr.description = op.description();
            }
        }
    }
    a.describe(
        "How long each operation may take, including the retries of transient failures and the pauses a rate-limiting \
         API asks for (429 with Retry-After). An operation that runs out of time stops with an error naming the timeout. \
         Provider-side only: never sent to the API, so changing it alone changes nothing on the server.",
    )
}

/// The `timeouts` attribute with every operation.
pub(crate) fn all_operations() -> Attribute {
    attribute(&Op::ALL)
}

/// A Go-style rendering of a duration: `20m`, `1h`, `90s`, `250ms`.
pub(crate) fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() != 0 {
        format!("{}ms", d.as_millis())
    } else if secs != 0 && secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else if secs != 0 && secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// Copies `timeouts` from `from` (the plan, or the prior state) into a new state: the
/// API never returns it.
pub(crate) fn keep(mut state: Value, from: &Value) -> Value {
    if !state.is_null() {
        state.set("timeouts", from.get("timeouts").clone());
    }
    state
}

/// The planned state with every value still unknown made null: the state of an object
/// that was created but could not be read back in time (saved only together with the
/// timeout error, so Terraform does not hold it to the plan; the next refresh fills it).
pub(crate) fn unknowns_as_null(v: &Value) -> Value {
    match v {
        Value::Unknown(_) => Value::Null,
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), unknowns_as_null(x))).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, x)| (k.clone(), unknowns_as_null(x))).collect()),
        Value::List(e) => Value::List(e.iter().map(unknowns_as_null).collect()),
        Value::Set(e) => Value::Set(e.iter().map(unknowns_as_null).collect()),
        Value::Tuple(e) => Value::Tuple(e.iter().map(unknowns_as_null).collect()),
        other => other.clone(),
    }
}

/// Whether the plan changes nothing but `timeouts`: every other planned value is either
/// unknown (a computed value the plan engine left open because something changed) or
/// equal to the prior one.
pub(crate) fn only_timeouts_changed(prior: &Value, planned: &Value) -> bool {
    let (Some(p), Some(n)) = (prior.fields(), planned.fields()) else { return false };
    static NULL: Value = Value::Null;
    n.iter().all(|(k, v)| k == "timeouts" || compatible(p.get(k).unwrap_or(&NULL), v))
}

fn compatible(prior: &Value, planned: &Value) -> bool {
    match (prior, planned) {
        (_, Value::Unknown(_)) => true,
        (Value::Object(a), Value::Object(b)) | (Value::Map(a), Value::Map(b)) => {
            a.len() == b.len() && b.iter().all(|(k, v)| a.get(k).is_some_and(|x| compatible(x, v)))
        }
        (Value::List(a), Value::List(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| compatible(x, y)),
        _ => prior == planned,
    }
}

/// For an update that changes only `timeouts`: the prior state with the new `timeouts`,
/// and no request sent. None when anything else changes.
pub(crate) fn timeouts_only_update(req: &ApplyRequest) -> Option<StateResult> {
    only_timeouts_changed(&req.prior, &req.planned).then(|| {
        tracing::debug!("only timeouts changed: nothing to send");
        StateResult::state(keep(req.prior.clone(), &req.planned))
    })
}

/// Time ran out (the future was dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimedOut;

/// The time limit of one operation on one object.
#[derive(Debug, Clone)]
pub(crate) struct Deadline {
    op: Op,
    /// What the operation is about, e.g. `the SCIM user "alice"`.
    what: String,
    limit: Duration,
    /// The configured value as written, when there is one.
    configured: Option<String>,
    at: Instant,
}

impl Deadline {
    /// Starts the clock for `op` on `what`, with the limit from `resource`'s `timeouts`
    /// (the plan for create and update, the state for read and delete).
    pub(crate) fn start(op: Op, what: impl Into<String>, resource: &Value) -> Deadline {
        let limit = timeout_for(resource, op.name(), op.default_timeout());
        let configured = resource.get("timeouts").get(op.name()).as_str().filter(|s| parse_duration(s).is_ok()).map(str::to_string);
        // A limit too far away for the clock is no limit.
        let at = Instant::now().checked_add(limit).unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 86_400));
        Deadline { op, what: what.into(), limit, configured, at }
    }

    #[cfg(test)]
    pub(crate) fn limit(&self) -> Duration {
        self.limit
    }

    /// Runs `fut` until the deadline; past it, `fut` is dropped (cancelling its requests
    /// and waits) and the answer is [`TimedOut`].
    pub(crate) async fn run<T>(&self, fut: impl Future<Output = T>) -> Result<T, TimedOut> {
        tokio::time::timeout_at(self.at, fut).await.map_err(|_| TimedOut)
    }

    /// [`Deadline::run`], with time running out as the error [`Deadline::exceeded`] with
    /// `consequence`.
    pub(crate) async fn within<T>(&self, consequence: &str, fut: impl Future<Output = T>) -> Result<T, Diagnostics> {
        self.run(fut).await.map_err(|TimedOut| self.exceeded(consequence).into())
    }

    /// [`Deadline::within`] for a step whose failures are diagnostics already.
    pub(crate) async fn guard<T>(&self, consequence: &str, fut: impl Future<Output = Result<T, Diagnostics>>) -> Result<T, Diagnostics> {
        self.within(consequence, fut).await?
    }

    /// The error for an operation that ran out of time. `consequence` says what may
    /// already have happened and what the state holds.
    pub(crate) fn exceeded(&self, consequence: &str) -> Diagnostic {
        let op = self.op.name();
        let gerund = self.op.gerund();
        let shown = match &self.configured {
            Some(s) => s.clone(),
            None => format!("{}, the default", format_duration(self.limit)),
        };
        let suggestion = format_duration(self.limit.saturating_mul(2));
        let raise = match self.op {
            Op::Create | Op::Update => {
                format!(
                    "To allow more time, raise it in this resource's configuration, e.g. `timeouts = {{ {op} = \"{suggestion}\" }}`, and apply again."
                )
            }
            Op::Read => format!(
                "To allow more time, set e.g. `timeouts = {{ read = \"{suggestion}\" }}` in this resource's configuration. Refreshes use \
                 the value stored in the state, so store it first with `terraform apply -refresh=false`."
            ),
            Op::Delete => format!(
                "To allow more time, set e.g. `timeouts = {{ delete = \"{suggestion}\" }}` in this resource's configuration. Destroying \
                 uses the value stored in the state, so apply the new value (`terraform apply -refresh=false`) before destroying."
            ),
        };
        let mut first = gerund.to_string();
        if let Some(c) = first.get_mut(0..1) {
            c.make_ascii_uppercase();
        }
        let d = Diagnostic::error(
            format!("Timed out {gerund} {}", self.what),
            format!(
                "{first} {} took longer than timeouts.{op} ({shown}), so the provider stopped and cancelled its requests. {consequence}\n\
                 A slow or rate-limiting API makes operations wait: the provider retries 429 and 5xx answers (up to `max_retries`), and \
                 after a 429 it pauses every request to that API for as long as Retry-After asks. {raise}",
                self.what
            ),
        );
        tracing::warn!(operation = op, timeout_ms = self.limit.as_millis() as u64, "operation timed out");
        // Point at the configured value when the configuration is what set it.
        match (&self.configured, self.op) {
            (Some(_), Op::Create | Op::Update) => d.at(AttrPath::attrs(&["timeouts", op])),
            _ => d,
        }
    }
}

/// What a create that ran out of time before the server answered may have done.
pub(crate) fn create_unanswered(kind: &str) -> String {
    format!(
        "Nothing was recorded in the Terraform state. The server may still have created {kind} before the provider stopped: \
         if the next apply reports that it already exists, import it with the command that error shows."
    )
}

/// What a create that ran out of time after the object was created left behind: the
/// object, recorded in the state and (because the create failed) tainted.
pub(crate) fn created_tainted(kind: &str, id: &str, type_name: &str, unfinished: &str) -> String {
    format!(
        "{kind} was created ({id}), but {unfinished}. It is recorded in the Terraform state, so nothing is orphaned; because the \
         create did not finish, Terraform marks it tainted and the next apply replaces it. To keep it instead, run \
         `terraform untaint {type_name}.<name>` before the next apply."
    )
}

/// What an update that ran out of time may have done.
pub(crate) const UPDATE_UNFINISHED: &str = "The change may have been applied in part. The Terraform state still holds the values \
     from before the update; the next plan reads the object again and shows what is left to change.";

/// What a delete that ran out of time may have done.
pub(crate) const DELETE_UNFINISHED: &str = "It may already be deleted. It stays in the Terraform state, and the next destroy or \
     apply tries again (an object that is already gone counts as deleted).";

/// What a read that ran out of time did.
pub(crate) const READ_UNFINISHED: &str = "The state was not refreshed; nothing was changed.";

#[cfg(test)]
mod tests {
    use super::*;

    fn with_timeouts(pairs: &[(&str, &str)]) -> Value {
        let t = Value::object_of(&pairs.iter().map(|(k, v)| (*k, Value::string(*v))).collect::<Vec<_>>());
        Value::object_of(&[("id", Value::string("x")), ("timeouts", t)])
    }

    #[test]
    fn durations_render_go_style() {
        assert_eq!(format_duration(Duration::from_secs(1200)), "20m");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn attribute_has_per_operation_defaults_and_checks() {
        let a = all_operations();
        let AttrKind::Nested { attributes, .. } = &a.kind else { panic!("timeouts is a nested object") };
        let names: Vec<&str> = attributes.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["create", "read", "update", "delete"]);
        for x in attributes {
            let want = if x.name == "read" { "Defaults to `5m`" } else { "Defaults to `20m`" };
            assert!(x.description.contains(want), "{}: {}", x.name, x.description);
            // The format check and "longer than zero".
            assert_eq!(x.validators.len(), 2, "{}", x.name);
        }
        assert!(a.optional && !a.computed && !a.required);
    }

    #[tokio::test]
    async fn a_deadline_cuts_a_wait_short_and_says_so() {
        let planned = with_timeouts(&[("create", "200ms")]);
        let d = Deadline::start(Op::Create, "the SCIM user \"alice\"", &planned);
        assert_eq!(d.limit(), Duration::from_millis(200));
        let started = Instant::now();
        let r = d.run(tokio::time::sleep(Duration::from_secs(30))).await;
        assert_eq!(r, Err(TimedOut));
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(200) && took < Duration::from_secs(10), "{took:?}");
        let diag = d.exceeded(&create_unanswered("the user"));
        assert_eq!(diag.summary, "Timed out creating the SCIM user \"alice\"");
        assert!(diag.detail.starts_with("Creating the SCIM user \"alice\" took longer than timeouts.create (200ms)"), "{}", diag.detail);
        assert!(diag.detail.contains("`timeouts = { create = \"400ms\" }`"), "{}", diag.detail);
        assert_eq!(diag.path, Some(AttrPath::attrs(&["timeouts", "create"])));
        // In time: the answer comes through.
        let d = Deadline::start(Op::Create, "x", &planned);
        assert_eq!(d.run(async { 7 }).await, Ok(7));
    }

    #[tokio::test]
    async fn defaults_apply_and_read_points_at_the_state() {
        let state = with_timeouts(&[("create", "1m")]);
        let d = Deadline::start(Op::Read, "the SCIM group \"ops\"", &state);
        assert_eq!(d.limit(), Duration::from_secs(300));
        let diag = d.exceeded(READ_UNFINISHED);
        assert!(diag.detail.contains("took longer than timeouts.read (5m, the default)"), "{}", diag.detail);
        assert!(diag.detail.contains("terraform apply -refresh=false"), "{}", diag.detail);
        assert_eq!(diag.path, None);
        let d = Deadline::start(Op::Delete, "x", &Value::Null);
        assert_eq!(d.limit(), Duration::from_secs(1200));
    }

    #[test]
    fn only_timeouts_changed_ignores_unknowns_and_timeouts() {
        let prior = Value::object_of(&[
            ("id", Value::string("1")),
            ("name", Value::string("a")),
            ("computed", Value::string("c")),
            ("nested", Value::object_of(&[("x", Value::string("y"))])),
            ("timeouts", Value::Null),
        ]);
        let mut planned = prior.clone();
        planned.set("timeouts", Value::object_of(&[("create", Value::string("1m"))]));
        planned.set("computed", Value::unknown());
        assert!(only_timeouts_changed(&prior, &planned));
        let mut changed = planned.clone();
        changed.set("name", Value::string("b"));
        assert!(!only_timeouts_changed(&prior, &changed));
        let mut nested = planned.clone();
        nested.set("nested", Value::object_of(&[("x", Value::string("z"))]));
        assert!(!only_timeouts_changed(&prior, &nested));
        assert!(!only_timeouts_changed(&Value::Null, &planned));

        let req = ApplyRequest { planned: planned.clone(), prior: prior.clone(), config: planned.clone(), private: Vec::new() };
        let r = timeouts_only_update(&req).expect("a timeouts-only update");
        assert_eq!(r.state.get("computed"), &Value::string("c"));
        assert_eq!(r.state.get("timeouts").get("create"), &Value::string("1m"));
    }
}
