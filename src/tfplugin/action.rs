//! Actions (Terraform 1.14+): operations run on demand (`terraform apply
//! -invoke=action.<type>.<name>`) or after a resource's change (`lifecycle {
//! action_trigger { ... } }`), with no state of their own.
//!
//! An action declares its configuration schema and may check it at validate and plan
//! time; invoking it streams progress lines to Terraform while it runs and ends with its
//! diagnostics. The framework owns what every action needs: decoding, the schema's
//! validators, the `timeout` attribute ([`timeout_attribute`]) and the bound of the whole
//! invocation by it, and cancellation when Terraform asks the provider to stop (Ctrl-C).

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::diag::{AttrPath, Diagnostic, Diagnostics};
use super::resource::ValidateConfig;
use super::schema::{Attribute, Schema};
use super::timeouts::{format_duration, parse_duration};
use super::validator::Validator;
use super::value::Value;

/// The name of the attribute that limits an invocation.
pub const TIMEOUT: &str = "timeout";

/// The `timeout` attribute of an action whose invocation may take a while: a Go-style
/// duration, `default` when not set.
pub fn timeout_attribute(default: Duration) -> Attribute {
    Attribute::string(TIMEOUT)
        .optional()
        .describe(format!(
            "How long the invocation may take, as a duration such as `\"90s\"`, `\"10m\"` or `\"1h30m\"`. Defaults to `\"{}\"`. When it \
             runs out, the action fails and says what may already have happened.",
            format_duration(default)
        ))
        .validate(Validator::custom("a duration such as \"90s\", \"10m\" or \"1h30m\"", |v: &Value| {
            v.as_str().map(parse_duration).transpose().map(drop)
        }))
        .validate(Validator::custom("longer than zero", |v: &Value| match v.as_str().map(parse_duration) {
            Some(Ok(d)) if d.is_zero() => Err(format!("{:?} is no time at all: use e.g. \"30s\" or \"10m\"", v.as_str().unwrap_or(""))),
            _ => Ok(()),
        }))
}

/// Where an action reports its progress: each line becomes a `Progress` event that
/// Terraform prints while the action runs.
#[derive(Clone)]
pub struct Progress {
    tx: mpsc::Sender<String>,
}

impl Progress {
    /// A sink and the receiver of its lines.
    pub fn channel(buffer: usize) -> (Progress, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(buffer.max(1));
        (Progress { tx }, rx)
    }

    /// Reports one line. A line Terraform no longer listens for is dropped.
    pub async fn send(&self, line: impl Into<String>) {
        let _ = self.tx.send(line.into()).await;
    }
}

/// One invocation.
pub struct InvokeRequest {
    /// The decoded configuration (write-only values included; wholly known).
    pub config: Value,
    /// When the invocation's `timeout` runs out (none for an action without one).
    pub deadline: Option<Instant>,
    /// The limit the deadline came from, for messages.
    pub limit: Option<Duration>,
}

/// An action.
#[async_trait]
pub trait Action<D: Send + Sync>: Send + Sync {
    fn type_name(&self) -> &'static str;
    /// The configuration schema of the `action` block's `config`.
    fn schema(&self) -> Schema;
    /// The default of `timeout`, for an action whose schema has [`timeout_attribute`].
    fn default_timeout(&self) -> Option<Duration> {
        None
    }
    /// Checks beyond the schema's validators, at validate time (values may be unknown).
    fn as_validate_config(&self) -> Option<&dyn ValidateConfig> {
        None
    }
    /// Checks at plan time, with the configured provider when there is one (values may
    /// be unknown). Errors stop the plan.
    async fn plan(&self, _data: Option<&D>, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    /// Runs the action, reporting progress as it goes. `Ok` carries warnings.
    async fn invoke(&self, data: &D, req: &InvokeRequest, progress: &Progress) -> Result<Diagnostics, Diagnostics>;
}

/// The deadline of one invocation: the configured `timeout`, else the action's default.
pub fn deadline_of(config: &Value, default: Option<Duration>) -> Option<(Instant, Duration)> {
    let configured = config.get(TIMEOUT).as_str().and_then(|s| parse_duration(s).ok());
    let limit = configured.or(default)?;
    let at = Instant::now().checked_add(limit).unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 86_400));
    Some((at, limit))
}

/// The error of an invocation that ran out of its `timeout`.
pub fn timed_out(type_name: &str, limit: Duration, config: &Value) -> Diagnostic {
    let shown = match config.get(TIMEOUT).as_str() {
        Some(s) => s.to_string(),
        None => format!("{}, the default", format_duration(limit)),
    };
    Diagnostic::error(
        format!("{type_name} did not finish within its timeout ({shown})"),
        format!(
            "The action was stopped after {shown}. What it started may still be running on the server. To allow more time, set e.g. \
             `timeout = \"{}\"` in the action's config.",
            format_duration(limit.saturating_mul(2))
        ),
    )
    .at(AttrPath::root().attr(TIMEOUT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_comes_from_the_config_or_the_default() {
        let v = Value::object_of(&[(TIMEOUT, Value::string("2s"))]);
        assert_eq!(deadline_of(&v, Some(Duration::from_secs(60))).map(|d| d.1), Some(Duration::from_secs(2)));
        let v = Value::object_of(&[(TIMEOUT, Value::Null)]);
        assert_eq!(deadline_of(&v, Some(Duration::from_secs(60))).map(|d| d.1), Some(Duration::from_secs(60)));
        assert!(deadline_of(&v, None).is_none());
    }

    #[test]
    fn the_timeout_error_names_the_limit_and_how_to_raise_it() {
        let v = Value::object_of(&[(TIMEOUT, Value::string("2s"))]);
        let d = timed_out("identity_x", Duration::from_secs(2), &v);
        assert!(d.summary.contains("(2s)"), "{d:?}");
        assert!(d.detail.contains("timeout = \"4s\""), "{d:?}");
    }
}
