//! Shared server state: the vendor objects (persisted), the request statistics and the
//! request log (both in memory only).
//!
//! Locking: the vendor data sits behind one async mutex. Every handler takes it for the
//! whole of its read-modify-write, and a change is written to `--data FILE` while the lock
//! is still held, so the file always reflects a prefix of the accepted changes in order.
//! Stats and the log use short-lived std mutexes (never held across an await).

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::SandboxConfig;
use super::faults::Faults;
use super::fudo::FudoData;
use super::landscape::LandscapeData;
use super::runai::RunaiData;
use super::scim::TokenStore;
use super::scim::model::OciData;

/// The most request-log entries kept; older ones are dropped first.
pub const REQUEST_LOG_CAP: usize = 10_000;

/// Everything the emulated vendors hold. This is what `--data FILE` persists and what
/// `GET /_sandbox/state` returns (unmasked). Each vendor owns one field; a vendor added
/// later adds a `#[serde(default)]` field here, its seeds in [`SandboxData::seeded`] and its
/// deferred work in [`SandboxData::settle`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SandboxData {
    #[serde(default)]
    pub runai: RunaiData,
    /// A state file written before Fudo existed gets the Fudo seeds.
    #[serde(default = "FudoData::seeded")]
    pub fudo: FudoData,
    /// A state file written before Landscape existed gets the Landscape seeds.
    #[serde(default = "LandscapeData::seeded")]
    pub landscape: LandscapeData,
    /// OCI IAM (SCIM) users and groups; no seeds.
    #[serde(default)]
    pub oci: OciData,
}

impl SandboxData {
    /// A fresh server: no provider-created objects, only the vendor seeds.
    pub fn seeded() -> Self {
        SandboxData { runai: RunaiData::seeded(), fudo: FudoData::seeded(), landscape: LandscapeData::seeded(), oci: OciData::default() }
    }

    /// Restores invariants a hand-edited `--data` file may break (e.g. list order).
    pub fn normalize(&mut self) {
        self.runai.normalize();
        self.fudo.normalize();
        self.landscape.normalize();
        self.oci.normalize();
    }

    /// Applies deferred changes that are due at `now` (e.g. Run:ai's 202 mapper updates).
    /// Called under the data lock before every read or write, so every observer sees the
    /// same moment-consistent view.
    pub fn settle(&mut self, now: DateTime<Utc>) {
        self.runai.settle(now);
        self.landscape.settle(now);
    }
}

/// Request counters for `GET /_sandbox/stats`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub total: u64,
    pub by_vendor: BTreeMap<String, u64>,
    pub by_route: BTreeMap<String, u64>,
}

/// One entry of `GET /_sandbox/requests`. `body` is the parsed JSON request body with
/// secrets masked, or null when the body was empty or not JSON.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogEntry {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    pub body: Option<serde_json::Value>,
    /// True for an operation run inside a SCIM `POST /Bulk` (logged, not counted);
    /// omitted when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub bulk: bool,
    /// True when the answer was injected by `/_sandbox/faults` (then `status` is the
    /// injected status, or 0 when the connection was dropped); omitted when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fault: bool,
    /// For a `drop_after_handler` fault: the status the vendor handler answered before the
    /// connection was dropped; omitted otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler_status: Option<u16>,
}

/// The state behind every handler; share it as [`SharedState`].
#[derive(Debug)]
pub struct AppState {
    config: SandboxConfig,
    data: tokio::sync::Mutex<SandboxData>,
    stats: Mutex<Stats>,
    log: Mutex<VecDeque<LogEntry>>,
    /// Access tokens issued by the OCI token endpoint (memory only; survive reset).
    scim_tokens: TokenStore,
    /// `/_sandbox/faults` settings and counters (memory only; cleared by reset).
    faults: Faults,
}

/// Cheap to clone; what the router and the handlers carry.
pub type SharedState = Arc<AppState>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these short locks cannot leave the counters or the log
    // half-updated in a harmful way, so poisoning is ignored rather than propagated.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AppState {
    /// Builds the state: loads `config.data` when that file exists, otherwise starts from
    /// the seeds. Fails when the file exists but cannot be read or parsed.
    pub fn new(config: SandboxConfig) -> anyhow::Result<SharedState> {
        let data = match &config.data {
            Some(path) => load(path)?,
            None => SandboxData::seeded(),
        };
        Ok(Arc::new(AppState {
            config,
            data: tokio::sync::Mutex::new(data),
            stats: Mutex::new(Stats::default()),
            log: Mutex::new(VecDeque::new()),
            scim_tokens: TokenStore::default(),
            faults: Faults::default(),
        }))
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Runs `f` on the settled data without persisting (reads; `&mut` only because settling
    /// deferred changes may update the in-memory view).
    pub async fn read<T>(&self, f: impl FnOnce(&mut SandboxData) -> T) -> T {
        let mut data = self.data.lock().await;
        data.settle(Utc::now());
        f(&mut data)
    }

    /// Runs `f` on the settled data and, when it returns `Ok`, persists the result.
    pub async fn write<T, E>(&self, f: impl FnOnce(&mut SandboxData) -> Result<T, E>) -> Result<T, E> {
        let mut data = self.data.lock().await;
        data.settle(Utc::now());
        let result = f(&mut data);
        if result.is_ok() {
            self.persist(&data).await;
        }
        result
    }

    /// The full state as JSON, unmasked (`GET /_sandbox/state`).
    pub async fn snapshot(&self) -> serde_json::Value {
        self.read(|data| serde_json::to_value(&*data)).await.unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
    }

    /// `POST /_sandbox/reset`: seeds only, zero stats, empty request log, faults off.
    pub async fn reset(&self) {
        self.faults.reset();
        {
            let mut data = self.data.lock().await;
            *data = SandboxData::seeded();
            self.persist(&data).await;
        }
        *lock(&self.stats) = Stats::default();
        lock(&self.log).clear();
    }

    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    pub fn requests(&self) -> Vec<LogEntry> {
        lock(&self.log).iter().cloned().collect()
    }

    /// Counts one vendor request and appends it to the log.
    pub fn record(&self, vendor: &str, route: String, entry: LogEntry) {
        {
            let mut stats = lock(&self.stats);
            stats.total += 1;
            *stats.by_vendor.entry(vendor.to_string()).or_default() += 1;
            *stats.by_route.entry(route).or_default() += 1;
        }
        let mut log = lock(&self.log);
        while log.len() >= REQUEST_LOG_CAP {
            log.pop_front();
        }
        log.push_back(entry);
    }

    /// Appends a log entry without counting it (the operations inside a SCIM Bulk).
    pub fn log_only(&self, entry: LogEntry) {
        let mut log = lock(&self.log);
        while log.len() >= REQUEST_LOG_CAP {
            log.pop_front();
        }
        log.push_back(entry);
    }

    /// Fault injection settings and counters (`/_sandbox/faults`).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The OCI token endpoint's issued tokens.
    pub fn scim_tokens(&self) -> &TokenStore {
        &self.scim_tokens
    }

    async fn persist(&self, data: &SandboxData) {
        let Some(path) = &self.config.data else {
            return;
        };
        if let Err(e) = write_atomic(path, data).await {
            // The change stays in memory; the operator sees why the file is stale.
            tracing::error!(path = %path.display(), error = %format!("{e:#}"), "cannot persist sandbox state");
        }
    }
}

fn load(path: &Path) -> anyhow::Result<SandboxData> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let mut data: SandboxData =
                serde_json::from_slice(&bytes).with_context(|| format!("cannot parse sandbox state file {}", path.display()))?;
            data.normalize();
            Ok(data)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SandboxData::seeded()),
        Err(e) => Err(e).with_context(|| format!("cannot read sandbox state file {}", path.display())),
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

async fn write_atomic(path: &Path, data: &SandboxData) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(data).context("serialize state")?;
    bytes.push(b'\n');
    let tmp = tmp_path(path);
    tokio::fs::write(&tmp, &bytes).await.with_context(|| format!("write {}", tmp.display()))?;
    tokio::fs::rename(&tmp, path).await.with_context(|| format!("rename {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

/// Replaces the value of every object key that looks secret (contains `secret`,
/// `password` or `token`, case-insensitively) by `"***"`, at any depth.
pub fn mask_secrets(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let k = key.to_ascii_lowercase();
                if k.contains("secret") || k.contains("password") || k.contains("token") {
                    *v = serde_json::Value::String("***".to_string());
                } else {
                    mask_secrets(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_nested_secret_keys() {
        let mut v = json!({
            "oidcData": {"clientId": "c", "clientSecret": "s", "scopes": ["a"]},
            "PASSWORD": "p",
            "list": [{"access_token": "t", "keep": 1}],
            "tokenish": {"nested": "whole value masked"}
        });
        mask_secrets(&mut v);
        assert_eq!(
            v,
            json!({
                "oidcData": {"clientId": "c", "clientSecret": "***", "scopes": ["a"]},
                "PASSWORD": "***",
                "list": [{"access_token": "***", "keep": 1}],
                "tokenish": "***"
            })
        );
    }

    #[test]
    fn tmp_path_appends_suffix() {
        assert_eq!(tmp_path(Path::new("/x/state.json")), PathBuf::from("/x/state.json.tmp"));
    }
}
