//! `timeouts = { create, read, update, delete }`, owned by the framework: a resource
//! declares which operations have one and how its objects are named ([`Timeouts`]); the
//! framework builds the attribute, bounds every create, read, update and delete with a
//! [`Deadline`], words the one standard message when time runs out, answers an update
//! of `timeouts` alone without calling the resource, and carries `timeouts` into every
//! new state. Durations are Go-style ("90s", "10m", "1h30m").
//!
//! `timeouts` is provider-side only: never sent to an API and never read from one. Create
//! and update take it from the plan; read and delete from the state (as the
//! terraform-plugin-framework's timeouts do), so a changed `read` or `delete` takes effect
//! once an apply has stored it. A change of `timeouts` alone is an in-place update that
//! sends nothing: the plan engine cannot leave a configured attribute out of the plan,
//! so it shows as an update of `timeouts` only.
//!
//! A resource whose create makes progress in steps (create, then set a password, then
//! read back) gets the deadline in [`super::ApplyRequest::deadline`] and runs its steps
//! against it, so that it can save what it made when time runs out; the framework's own
//! bound of the whole call comes a moment later.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::diag::{AttrPath, Diagnostic, Diagnostics};
use super::schema::Attribute;
use super::validator::Validator;
use super::value::Value;

/// Parses a Go-style duration: a sequence of number+unit pairs (`h`, `m`, `s`, `ms`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("{s:?} is not a duration like \"90s\", \"10m\" or \"1h30m\""));
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| format!("{s:?} is not a duration like \"90s\", \"10m\" or \"1h30m\""))?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return Err(format!("{s:?} is not a duration like \"90s\", \"10m\" or \"1h30m\" (units: h, m, s, ms)")),
        };
        rest = &rest[unit_len..];
        let part = Duration::try_from_secs_f64(n * secs).map_err(|_| format!("{s:?} is too long a duration"))?;
        total = total.checked_add(part).ok_or_else(|| format!("{s:?} is too long a duration"))?;
    }
    Ok(total)
}

/// One operation of a resource, as named in `timeouts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Create,
    Read,
    Update,
    Delete,
}

impl Op {
    /// Every operation, in the order the attribute lists them.
    pub const ALL: [Op; 4] = [Op::Create, Op::Read, Op::Update, Op::Delete];

    pub fn name(self) -> &'static str {
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

    /// How long the operation may take when `timeouts` does not say: the one set of
    /// defaults of every resource.
    pub fn default_timeout(self) -> Duration {
        match self {
            Op::Read => Duration::from_secs(5 * 60),
            Op::Create | Op::Update | Op::Delete => Duration::from_secs(20 * 60),
        }
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

    /// What an operation that ran out of time may have done, when the resource does not
    /// say more.
    fn consequence(self, kind: &str) -> String {
        match self {
            Op::Create => create_unanswered(kind),
            Op::Read => READ_UNFINISHED.to_string(),
            Op::Update => UPDATE_UNFINISHED.to_string(),
            Op::Delete => DELETE_UNFINISHED.to_string(),
        }
    }
}

/// What a resource declares about its `timeouts`: which operations have one, and how an
/// object is named in the message when time runs out. The framework does the rest: it
/// builds the attribute, starts the deadline of each create, read, update and delete,
/// stops the operation when it passes (with [`Deadline::exceeded`]), answers an update
/// of `timeouts` alone without calling the resource, and carries `timeouts` into every
/// new state (the API never returns it).
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// The operations with a timeout; an operation left out is never limited (only where
    /// it cannot wait: a delete that sends one request, say).
    pub ops: &'static [Op],
    /// What one object is, in the standard words of a create that ran out of time ("the
    /// server may still have created the user").
    pub kind: &'static str,
    /// How one object is named in messages, from its plan or state: `the SCIM user
    /// "alice"`.
    pub name: fn(&Value) -> String,
    /// What an operation that ran out of time may have done, where the standard words
    /// (see [`Op`]) do not fit; indexed like [`Op::ALL`].
    pub unfinished: [Option<&'static str>; 4],
    /// The operation whose timeout bounds a delete, when it is not `delete` itself.
    pub delete_uses: Op,
}

impl Timeouts {
    /// Every operation, deletes bounded by `timeouts.delete`, the standard words.
    pub const fn all(kind: &'static str, name: fn(&Value) -> String) -> Timeouts {
        Timeouts { ops: &Op::ALL, kind, name, unfinished: [None; 4], delete_uses: Op::Delete }
    }

    /// Only `ops` have a timeout (the others are never limited), deletes bounded by
    /// `delete_uses`'s.
    pub const fn only(ops: &'static [Op], delete_uses: Op, kind: &'static str, name: fn(&Value) -> String) -> Timeouts {
        Timeouts { ops, kind, name, unfinished: [None; 4], delete_uses }
    }

    /// Other words for what `op` may have done when it ran out of time.
    pub const fn unfinished(mut self, op: Op, words: &'static str) -> Timeouts {
        self.unfinished[op as usize] = Some(words);
        self
    }

    /// The `timeouts` attribute: one duration per operation, each with its default,
    /// validated at plan time (a duration, longer than zero).
    pub fn attribute(&self) -> Attribute {
        Attribute::object(
            "timeouts",
            self.ops
                .iter()
                .map(|op| {
                    Attribute::string(op.name())
                        .optional()
                        .describe(op.description())
                        .validate(Validator::custom("a duration such as \"90s\", \"10m\" or \"1h30m\"", |v| {
                            v.as_str().map(parse_duration).transpose().map(drop)
                        }))
                        .validate(Validator::custom("longer than zero", |v: &Value| match v.as_str().map(parse_duration) {
                            Some(Ok(d)) if d.is_zero() => Err(format!(
                                "{:?} is no time at all: a timeout must be longer than zero, e.g. \"30s\" or \"10m\"",
                                v.as_str().unwrap_or("")
                            )),
                            _ => Ok(()),
                        }))
                })
                .collect(),
        )
        .optional()
        .describe(
            "How long each operation may take, including the retries of transient failures and the pauses a rate-limiting \
             API asks for (429 with Retry-After). An operation that runs out of time stops with an error naming the timeout. \
             Provider-side only: never sent to the API, so changing it alone changes nothing on the server.",
        )
    }

    /// The deadline of `op` on the object `v` (the plan for create and update, the state
    /// for read and delete), or None when `op` has no timeout.
    pub fn deadline(&self, op: Op, v: &Value) -> Option<Deadline> {
        let limited = if op == Op::Delete { self.delete_uses } else { op };
        let unfinished = self.unfinished[op as usize].map_or_else(|| op.consequence(self.kind), str::to_string);
        self.ops.contains(&limited).then(|| Deadline::start(op, limited, (self.name)(v), unfinished, v))
    }
}

/// A Go-style rendering of a duration: `20m`, `1h`, `90s`, `250ms`.
pub fn format_duration(d: Duration) -> String {
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
pub fn keep(mut state: Value, from: &Value) -> Value {
    if !state.is_null() && state.fields().is_some_and(|f| f.contains_key("timeouts")) {
        state.set("timeouts", from.get("timeouts").clone());
    }
    state
}

/// The planned state with every value still unknown made null: the state of an object
/// that was created but could not be read back in time (saved only together with the
/// timeout error, so Terraform does not hold it to the plan; the next refresh fills it).
pub fn unknowns_as_null(v: &Value) -> Value {
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
pub fn only_timeouts_changed(prior: &Value, planned: &Value) -> bool {
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

/// Time ran out (the future was dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut;

/// The time limit of one operation on one object.
#[derive(Debug, Clone)]
pub struct Deadline {
    op: Op,
    /// The operation whose configured value sets the limit (a delete may use `update`'s).
    limited_by: Op,
    /// What the operation is about, e.g. `the SCIM user "alice"`.
    what: String,
    /// What the operation may have done when it ran out of time.
    unfinished: String,
    limit: Duration,
    /// The configured value as written, when there is one.
    configured: Option<String>,
    at: Instant,
}

/// How much longer than the deadline the framework waits for a resource that handles
/// its own deadline (to save partial progress) before it stops the operation itself.
const GRACE: Duration = Duration::from_millis(500);

impl Deadline {
    /// Starts the clock for `op` on `what`, with the limit of `limited_by` from
    /// `resource`'s `timeouts` (the plan for create and update, the state for read and
    /// delete).
    fn start(op: Op, limited_by: Op, what: String, unfinished: String, resource: &Value) -> Deadline {
        let name = limited_by.name();
        let configured = resource.get("timeouts").get(name).as_str().filter(|s| parse_duration(s).is_ok()).map(str::to_string);
        let limit = configured.as_deref().and_then(|s| parse_duration(s).ok()).unwrap_or(limited_by.default_timeout());
        // A limit too far away for the clock is no limit.
        let at = Instant::now().checked_add(limit).unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 86_400));
        Deadline { op, limited_by, what, unfinished, limit, configured, at }
    }

    /// The limit.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// The limit as configured (`"2s"`), else as a duration with "the default".
    fn shown(&self) -> String {
        match &self.configured {
            Some(s) => s.clone(),
            None => format!("{}, the default", format_duration(self.limit)),
        }
    }

    /// Runs `fut` until the deadline; past it, `fut` is dropped (cancelling its requests
    /// and waits) and the answer is [`TimedOut`].
    pub async fn run<T>(&self, fut: impl Future<Output = T>) -> Result<T, TimedOut> {
        tokio::time::timeout_at(self.at, fut).await.map_err(|_| TimedOut)
    }

    /// The framework's bound of a whole CRUD call: the deadline plus a short grace, so
    /// that a resource that runs its own steps against the deadline (and saves partial
    /// progress when it passes) is stopped by its own handling first. Past it, the call is
    /// dropped and the error says what the operation may have done.
    pub(crate) async fn bound<T>(&self, fut: impl Future<Output = Result<T, Diagnostics>>) -> Result<T, Diagnostics> {
        let at = self.at.checked_add(GRACE).unwrap_or(self.at);
        match tokio::time::timeout_at(at, fut).await {
            Ok(r) => r,
            Err(_) => Err(self.exceeded(&self.unfinished).into()),
        }
    }

    /// The error for an operation that ran out of time. `consequence` says what may
    /// already have happened and what the state holds.
    pub fn exceeded(&self, consequence: &str) -> Diagnostic {
        let op = self.limited_by.name();
        let gerund = self.op.gerund();
        let shown = self.shown();
        let suggestion = format_duration(self.limit.saturating_mul(2));
        let raise = match self.limited_by {
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
        tracing::warn!(operation = self.op.name(), timeout_ms = self.limit.as_millis() as u64, "operation timed out");
        // Point at the configured value when the configuration is what set it.
        match (&self.configured, self.op) {
            (Some(_), Op::Create | Op::Update) => d.at(AttrPath::attrs(&["timeouts", op])),
            _ => d,
        }
    }
}

/// What a create that ran out of time before the server answered may have done.
pub fn create_unanswered(kind: &str) -> String {
    format!(
        "Nothing was recorded in the Terraform state. The server may still have created {kind} before the provider stopped: \
         if the next apply reports that it already exists, import it with the command that error shows."
    )
}

/// What a create that ran out of time after the object was created left behind: the
/// object, recorded in the state and (because the create failed) tainted.
pub fn created_tainted(kind: &str, id: &str, type_name: &str, unfinished: &str) -> String {
    format!(
        "{kind} was created ({id}), but {unfinished}. It is recorded in the Terraform state, so nothing is orphaned; because the \
         create did not finish, Terraform marks it tainted and the next apply replaces it. To keep it instead, run \
         `terraform untaint {type_name}.<name>` before the next apply."
    )
}

/// What an update that ran out of time may have done.
pub const UPDATE_UNFINISHED: &str = "The change may have been applied in part. The Terraform state still holds the values \
     from before the update; the next plan reads the object again and shows what is left to change.";

/// What a delete that ran out of time may have done.
pub const DELETE_UNFINISHED: &str = "It may already be deleted. It stays in the Terraform state, and the next destroy or \
     apply tries again (an object that is already gone counts as deleted).";

/// What a read that ran out of time did.
pub const READ_UNFINISHED: &str = "The state was not refreshed; nothing was changed.";

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tfplugin::schema::AttrKind;

    fn with_timeouts(pairs: &[(&str, &str)]) -> Value {
        let t = Value::object_of(&pairs.iter().map(|(k, v)| (*k, Value::string(*v))).collect::<Vec<_>>());
        Value::object_of(&[("id", Value::string("x")), ("name", Value::string("alice")), ("timeouts", t)])
    }

    const ALL: Timeouts = Timeouts::all("the user", |v| format!("the SCIM user \"{}\"", v.get("name").as_str().unwrap_or_default()));

    #[test]
    fn durations_render_go_style() {
        assert_eq!(format_duration(Duration::from_secs(1200)), "20m");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn the_attribute_has_per_operation_defaults_and_checks() {
        let a = ALL.attribute();
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
        let only = Timeouts::only(&[Op::Create], Op::Delete, "x", |_| String::new()).attribute();
        let AttrKind::Nested { attributes, .. } = &only.kind else { panic!("nested") };
        assert_eq!(attributes.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_cuts_a_wait_short_and_says_so() {
        let planned = with_timeouts(&[("create", "200ms")]);
        let d = ALL.deadline(Op::Create, &planned).expect("create has a timeout");
        assert_eq!(d.limit(), Duration::from_millis(200));
        let started = Instant::now();
        let r = d.run(tokio::time::sleep(Duration::from_secs(30))).await;
        assert_eq!(r, Err(TimedOut));
        // On the paused clock: exactly at the deadline, not at the end of the wait.
        assert_eq!(started.elapsed(), Duration::from_millis(200));
        let diag = d.exceeded(&create_unanswered("the user"));
        assert_eq!(diag.summary, "Timed out creating the SCIM user \"alice\"");
        assert!(diag.detail.starts_with("Creating the SCIM user \"alice\" took longer than timeouts.create (200ms)"), "{}", diag.detail);
        assert!(diag.detail.contains("`timeouts = { create = \"400ms\" }`"), "{}", diag.detail);
        assert_eq!(diag.path, Some(AttrPath::attrs(&["timeouts", "create"])));
        // The framework's bound of a whole call: the standard words of the operation.
        let bounded = d.bound(async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<(), Diagnostics>(())
        });
        let started = Instant::now();
        let err = bounded.await.expect_err("bounded");
        assert_eq!(started.elapsed(), GRACE, "the deadline had passed: the bound ends after the grace");
        assert!(err.iter().any(|x| x.detail.contains("Nothing was recorded in the Terraform state")), "{err:?}");
        // In time: the answer comes through.
        let d = ALL.deadline(Op::Create, &planned).expect("deadline");
        assert_eq!(d.run(async { 7 }).await, Ok(7));
    }

    #[tokio::test]
    async fn defaults_apply_and_read_and_delete_point_at_the_state() {
        let state = with_timeouts(&[("create", "1m")]);
        let d = ALL.deadline(Op::Read, &state).expect("read");
        assert_eq!(d.limit(), Duration::from_secs(300));
        let diag = d.exceeded(READ_UNFINISHED);
        assert!(diag.detail.contains("took longer than timeouts.read (5m, the default)"), "{}", diag.detail);
        assert!(diag.detail.contains("terraform apply -refresh=false"), "{}", diag.detail);
        assert_eq!(diag.path, None);
        assert_eq!(ALL.deadline(Op::Delete, &Value::Null).expect("delete").limit(), Duration::from_secs(1200));
        // Without a read timeout, reads are not limited; a delete may be bounded by update's.
        let some = Timeouts::only(&[Op::Create, Op::Update], Op::Update, "x", |_| "the x".into());
        assert!(some.deadline(Op::Read, &state).is_none());
        let d = some.deadline(Op::Delete, &with_timeouts(&[("update", "3s")])).expect("delete bounded by update");
        assert_eq!(d.limit(), Duration::from_secs(3));
        assert!(d.exceeded("gone?").summary.starts_with("Timed out deleting the x"));
        assert!(d.exceeded("gone?").detail.contains("timeouts.update (3s)"));
        // Other words for what an operation may have done.
        let custom = ALL.unfinished(Op::Update, "Half done.");
        assert!(custom.deadline(Op::Update, &state).is_some());
        assert_eq!(custom.unfinished[Op::Update as usize], Some("Half done."));
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
        // `keep` carries the planned timeouts into a state that has the attribute.
        let kept = keep(prior.clone(), &planned);
        assert_eq!(kept.get("timeouts").get("create"), &Value::string("1m"));
        assert!(keep(Value::Null, &planned).is_null());
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        for bad in ["", "10", "m", "10x", "-1s", "1h 30m", "99999999999999999999h", "1e400s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
