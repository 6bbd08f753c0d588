//! Logs as JSON lines on stderr in the shape of go-hclog, which Terraform's plugin
//! client parses (`@level`, `@message`, `@timestamp`, `@module`), so
//! `TF_LOG_PROVIDER=debug` shows the provider's logs at their real levels.

use std::fmt::Write as _;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The level asked for by `TF_LOG_PROVIDER`, else `TF_LOG`, else warnings only.
pub fn level_from_env() -> LevelFilter {
    let raw = std::env::var("TF_LOG_PROVIDER").ok().filter(|v| !v.is_empty()).or_else(|| std::env::var("TF_LOG").ok());
    match raw.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("trace") | Some("json") => LevelFilter::TRACE,
        Some("debug") => LevelFilter::DEBUG,
        Some("info") => LevelFilter::INFO,
        Some("error") => LevelFilter::ERROR,
        Some("off") => LevelFilter::OFF,
        _ => LevelFilter::WARN,
    }
}

/// Installs the JSON-lines logger for `module` (e.g. `provider.terraform-provider-identity`).
pub fn init(module: &'static str, level: LevelFilter) {
    let _ = tracing_subscriber::registry().with(HclogLayer { module }.with_filter(level)).try_init();
}

/// Logs panics as one error line of the JSON log (with where the panic happened) instead of
/// the standard hook's plain text, which Terraform's log would show unparsed. The provider
/// turns a panic in its code into the call's error diagnostic; this is the record of it.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        tracing::error!(location = %location, "panic: {}", panic_message(info.payload()));
    }));
}

/// The text a panic was raised with (`panic!`'s message, an `expect`'s words), cut to 500
/// characters; "(no message)" for a panic with a payload of another type.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload.downcast_ref::<&str>().copied().or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    match text {
        Some(t) if t.chars().count() > 500 => format!("{}…", t.chars().take(500).collect::<String>()),
        Some(t) => t.to_string(),
        None => "(no message)".to_string(),
    }
}

struct HclogLayer {
    module: &'static str,
}

struct Fields {
    message: String,
    extra: serde_json::Map<String, serde_json::Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        if field.name() == "message" {
            self.message = s;
        } else {
            self.extra.insert(field.name().to_string(), serde_json::Value::String(s));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.extra.insert(field.name().to_string(), serde_json::Value::String(value.to_string()));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.extra.insert(field.name().to_string(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.extra.insert(field.name().to_string(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.extra.insert(field.name().to_string(), value.into());
    }
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut f = Fields { message: String::new(), extra: serde_json::Map::new() };
        event.record(&mut f);
        let level = match *event.metadata().level() {
            Level::TRACE => "trace",
            Level::DEBUG => "debug",
            Level::INFO => "info",
            Level::WARN => "warn",
            Level::ERROR => "error",
        };
        let mut line = f.extra;
        line.insert("@level".into(), level.into());
        line.insert("@message".into(), f.message.into());
        line.insert("@module".into(), self.module.into());
        line.insert("@timestamp".into(), chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false).into());
        let mut text = serde_json::Value::Object(line).to_string();
        text.push('\n');
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}
