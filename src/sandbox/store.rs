//! Shared server state: the vendor objects (persisted), the request statistics and the
//! request log (both in memory only).
//!
//! Locking: the vendor data sits behind one async mutex. Every handler takes it for the
//! whole of its read-modify-write, and a change is written to `--data FILE` while the lock
//! is still held, so the file always reflects a prefix of the accepted changes in order.
//! Stats and the log use short-lived std mutexes (never held across an await).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::SandboxConfig;
use super::faults::Faults;
use super::fudo::FudoData;
use super::landscape::LandscapeData;
use super::runai::RunaiData;
use super::saml_fetch::OwnAddress;
use super::scim::TokenStore;
use super::scim::model::OciData;

/// The most request-log entries kept; older ones are dropped first.
pub const REQUEST_LOG_CAP: usize = 10_000;

/// Everything the emulated vendors hold. This is what `--data FILE` persists (secrets in
/// clear, mode 0600) and what `GET /_sandbox/state` returns (secrets masked, see
/// [`AppState::state_json`]). Each vendor owns one field; a vendor added
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
    /// With `--record-responses`: the size of the request body in bytes (0 without one), so
    /// that a body that is not JSON (`body` null) shows; omitted otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_bytes: Option<usize>,
    /// With `--record-responses`: the answer as sent (absent for a dropped connection);
    /// omitted otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<LoggedResponse>,
}

/// The answer of a logged request (`--record-responses`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoggedResponse {
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The size of the body in bytes.
    pub bytes: usize,
    /// The body parsed as JSON with secrets masked (like the request `body`); null when it
    /// is empty or not JSON.
    pub body: Option<serde_json::Value>,
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
    /// Where the server listens, once bound (the SAML metadata fetch recognises itself).
    own_address: OnceLock<OwnAddress>,
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
            own_address: OnceLock::new(),
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

    /// The full state as JSON, secrets in clear: for in-process assertions only (the
    /// control plane answers [`AppState::state_json`]).
    pub async fn snapshot(&self) -> serde_json::Value {
        self.read(|data| serde_json::to_value(&*data)).await.unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
    }

    /// `GET /_sandbox/state`: the full state with every credential-like value replaced by
    /// [`STATE_SECRET_MASK`] (see [`mask_state_secrets`]); in clear only with
    /// `--unmask-state`.
    pub async fn state_json(&self) -> serde_json::Value {
        let mut state = self.snapshot().await;
        if !self.config.unmask_state {
            mask_state_secrets(&mut state);
        }
        state
    }

    /// Records where the server listens (and, with `--tls`, the PEM of its CA). Set once,
    /// when the listener is bound; later calls are ignored.
    pub fn set_own_address(&self, addr: SocketAddr, ca_pem: Option<String>) {
        let _ = self.own_address.set(OwnAddress { addr, ca_pem });
    }

    /// Where the server listens, when [`AppState::set_own_address`] was called.
    pub fn own_address(&self) -> Option<&OwnAddress> {
        self.own_address.get()
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

/// The mode of the `--data` file: it holds client secrets in clear.
pub const DATA_FILE_MODE: u32 = 0o600;

/// Writes `data` to `path` through a temporary file renamed over it. The temporary file is
/// created new with [`DATA_FILE_MODE`] (narrowed to the existing file's mode, so a file is
/// never made more permissive) before any content is written.
async fn write_atomic(path: &Path, data: &SandboxData) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt as _;

    let mut bytes = serde_json::to_vec_pretty(data).context("serialize state")?;
    bytes.push(b'\n');
    let tmp = tmp_path(path);
    let mut file = create_private(&tmp, data_file_mode(path).await).await?;
    file.write_all(&bytes).await.with_context(|| format!("write {}", tmp.display()))?;
    file.flush().await.with_context(|| format!("write {}", tmp.display()))?;
    drop(file);
    tokio::fs::rename(&tmp, path).await.with_context(|| format!("rename {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

/// [`DATA_FILE_MODE`], without the permissions `path` (when it exists) does not grant.
async fn data_file_mode(path: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = tokio::fs::metadata(path).await {
            return DATA_FILE_MODE & meta.permissions().mode();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    DATA_FILE_MODE
}

/// Creates `path` anew, empty, with `mode` (on Unix; the umask may narrow it further). A
/// leftover file of an interrupted write is removed first: `create_new` then guarantees
/// the file is this one, with this mode, and not a link to elsewhere.
pub(super) async fn create_private(path: &Path, mode: u32) -> anyhow::Result<tokio::fs::File> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("remove {}", path.display())),
    }
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(mode);
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path).await.with_context(|| format!("create {}", path.display()))
}

/// What `GET /_sandbox/state` shows instead of a secret: fixed, so it reveals nothing of
/// the value (not its length, a prefix or a hash). The mask Run:ai reads use.
pub const STATE_SECRET_MASK: &str = super::runai::SECRET_MASK;

/// Whether an object key names a credential: it contains `secret`, `password`, `passwd`,
/// `passphrase`, `token`, `apikey`, `credential` or `privatekey`, ignoring case, `_` and
/// `-`.
pub fn is_secret_key(key: &str) -> bool {
    const PARTS: [&str; 8] = ["secret", "password", "passwd", "passphrase", "token", "apikey", "credential", "privatekey"];
    let key: String = key.chars().filter(|c| !matches!(c, '_' | '-')).map(|c| c.to_ascii_lowercase()).collect();
    PARTS.iter().any(|p| key.contains(p))
}

/// Replaces the value of every credential-like key ([`is_secret_key`]) by `"***"`, at any
/// depth (the request log). An empty string and null stay as they are: they hide nothing,
/// and a check of what a client sent (e.g. a contract test: a secret must not be empty)
/// needs to see them.
pub fn mask_secrets(value: &mut serde_json::Value) {
    use serde_json::Value;
    mask_secret_keys(value, "***", &|v| !matches!(v, Value::Null) && v.as_str() != Some(""));
}

/// Replaces the value of every credential-like key ([`is_secret_key`]) by
/// [`STATE_SECRET_MASK`], at any depth (`GET /_sandbox/state`). Numbers, booleans and
/// nulls stay: they are counters and flags such as SCIM's `passwordChanges`, not secrets.
pub fn mask_state_secrets(value: &mut serde_json::Value) {
    use serde_json::Value;
    mask_secret_keys(value, STATE_SECRET_MASK, &|v| matches!(v, Value::String(_) | Value::Array(_) | Value::Object(_)));
}

fn mask_secret_keys(value: &mut serde_json::Value, mask: &str, maskable: &dyn Fn(&serde_json::Value) -> bool) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_secret_key(key) && maskable(v) {
                    *v = serde_json::Value::String(mask.to_string());
                } else {
                    mask_secret_keys(v, mask, maskable);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| mask_secret_keys(v, mask, maskable)),
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
            "tokenish": {"nested": "whole value masked"},
            "empty": {"password": "", "token": null, "secret": 0}
        });
        mask_secrets(&mut v);
        assert_eq!(
            v,
            json!({
                "oidcData": {"clientId": "c", "clientSecret": "***", "scopes": ["a"]},
                "PASSWORD": "***",
                "list": [{"access_token": "***", "keep": 1}],
                "tokenish": "***",
                "empty": {"password": "", "token": null, "secret": "***"}
            })
        );
    }

    #[test]
    fn tmp_path_appends_suffix() {
        assert_eq!(tmp_path(Path::new("/x/state.json")), PathBuf::from("/x/state.json.tmp"));
    }
}
