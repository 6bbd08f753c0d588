//! An independent SCIM 2.0 server for interop tests: PyPI's `scim2-server` (in memory,
//! static bearer token, `/Users`, `/Groups`, `/Bulk` at the root), installed by
//! `scripts/install-scim2-server`.
//!
//! ```ignore
//! let server = Scim2Server::start();
//! let ws = server.workspace(); // IDENTITY_SCIM_URL / IDENTITY_SCIM_TOKEN point at it
//! ws.write_main(r#"resource "identity_scim_user" "u" { user_name = "u" }"#);
//! ws.apply();
//! assert_eq!(server.users().len(), 1);
//! ```
//!
//! Which executable: `$IDENTITY_SCIM2_SERVER` (scripts/test sets it), else the one in the
//! installer's default venv. When there is none, [`Scim2Server::start`] panics with the
//! command that installs it: interop tests fail, never skip.
//!
//! The HTTP helpers are blocking and talk to the server directly (never through the
//! provider): they are what the tests assert with, and how they change things behind
//! Terraform's back. Membership is always read from the groups' own `members` attribute,
//! since scim2-server does not maintain the optional `User.groups`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{LogTail, Workspace, drain_into};

/// The version `scripts/install-scim2-server` installs (keep in step with it).
pub const SCIM2_SERVER_VERSION: &str = "0.8.3";
/// The environment variable naming the `scim2-server` executable.
pub const SCIM2_SERVER_ENV: &str = "IDENTITY_SCIM2_SERVER";

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Page size of the list helpers (small enough that listing pages on a busy server).
const PAGE: usize = 50;
const START_TIMEOUT: Duration = Duration::from_secs(30);
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The `scim2-server` executable: `$IDENTITY_SCIM2_SERVER`, else the installer's default
/// venv (`$SCIM2_SERVER_VENV`, else `${XDG_CACHE_HOME:-~/.cache}/terraform-provider-identity/
/// scim2-server-<version>/venv`). Panics with the install command when it is missing.
pub fn scim2_server_bin() -> PathBuf {
    if let Some(explicit) = std::env::var_os(SCIM2_SERVER_ENV).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(explicit);
        if !super::is_executable(&p) {
            panic!(
                "{SCIM2_SERVER_ENV}={} is not an executable file. The SCIM interop tests need PyPI's scim2-server \
                 {SCIM2_SERVER_VERSION}: run scripts/install-scim2-server and set {SCIM2_SERVER_ENV} to the path it prints \
                 (scripts/test does both).",
                p.display()
            );
        }
        return p;
    }
    let venv = super::installer_venv("SCIM2_SERVER_VENV", &format!("scim2-server-{SCIM2_SERVER_VERSION}"));
    let exe = venv.join("bin").join("scim2-server");
    if !super::is_executable(&exe) {
        panic!(
            "PyPI's scim2-server {SCIM2_SERVER_VERSION} is not installed ({} is missing and {SCIM2_SERVER_ENV} is not set). \
             The SCIM interop tests never skip: install it with\n\n    {}/scripts/install-scim2-server\n\n(it needs PyPI once; \
             scripts/test runs it before the tests).",
            exe.display(),
            env!("CARGO_MANIFEST_DIR")
        );
    }
    exe
}

/// A running `scim2-server` on a free loopback port, killed on drop.
pub struct Scim2Server {
    child: Child,
    url: String,
    token: String,
    stderr: LogTail,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

/// A started process and the tail of what it writes (stdout lines prefixed).
fn spawn(bin: &Path, port: u16, token: &str) -> (Child, LogTail) {
    let mut child = Command::new(bin)
        .args(["--hostname", "127.0.0.1", "--port", &port.to_string(), "--bearer-token", token])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("PYTHONUNBUFFERED", "1")
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let tail = LogTail::default();
    drain_into(child.stderr.take().expect("piped stderr"), tail.clone(), "");
    let stdout = child.stdout.take().expect("piped stdout");
    let stdout_tail = tail.clone();
    std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        while r.read_line(&mut line).unwrap_or(0) > 0 {
            stdout_tail.push(format!("[stdout] {}", line.trim_end()));
            line.clear();
        }
    });
    (child, tail)
}

/// A port nobody listens on right now (bound, then released).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    l.local_addr().expect("local address").port()
}

impl Scim2Server {
    /// Starts `scim2-server --hostname 127.0.0.1 --port P --bearer-token T` and waits
    /// until it answers `GET /ServiceProviderConfig` with that token. Panics (with the
    /// server's output) when it does not come up.
    #[track_caller]
    pub fn start() -> Scim2Server {
        let bin = scim2_server_bin();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime for the scim2-server helpers");
        let client = {
            let _guard = rt.enter();
            reqwest::Client::builder().no_proxy().timeout(HTTP_TIMEOUT).build().expect("reqwest client")
        };
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let token = format!("interop-{}-{nanos}", std::process::id());
        // Another process may take the free port before the server binds it: a server
        // that exits at once is tried again on another port.
        let mut failures = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let (mut child, tail) = spawn(&bin, port, &token);
            let url = format!("http://127.0.0.1:{port}");
            match wait_ready(&rt, &client, &mut child, &url, &token) {
                Ok(()) => return Scim2Server { child, url, token, stderr: tail, rt, client },
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // Give the drain threads a moment to collect the last lines.
                    std::thread::sleep(Duration::from_millis(100));
                    failures.push(format!("on port {port}: {why}\n--- scim2-server output ---\n{}", tail.text()));
                }
            }
        }
        panic!("scim2-server ({}) did not start:\n{}", bin.display(), failures.join("\n"))
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash); the SCIM base.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bearer token the server accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The provider's environment fallbacks for this server: `IDENTITY_SCIM_URL` and
    /// `IDENTITY_SCIM_TOKEN` (a static bearer token; no OAuth2).
    pub fn provider_env(&self) -> Vec<(String, String)> {
        vec![("IDENTITY_SCIM_URL".into(), self.url.clone()), ("IDENTITY_SCIM_TOKEN".into(), self.token.clone())]
    }

    /// A fresh workspace whose provider talks to this server (and only SCIM is configured);
    /// failure reports show the server's output.
    #[track_caller]
    pub fn workspace(&self) -> Workspace {
        let mut ws = Workspace::bare(self.log_tail());
        for (k, v) in self.provider_env() {
            ws.set_env(&k, &v);
        }
        // Every apply and destroy is checked against this server's own users and groups.
        ws.check_against(super::server_check::ServerProbe::Scim { url: self.url.clone(), token: self.token.clone() });
        ws
    }

    /// What the server wrote lately (its request log is on stderr).
    pub fn stderr_tail(&self) -> String {
        self.stderr.text()
    }

    /// A cheap handle on the output tail (workspaces keep one for failure reports).
    pub fn log_tail(&self) -> LogTail {
        self.stderr.clone()
    }

    // ----- HTTP -----

    /// One request with the bearer token. `path` starts with `/` (e.g. `/Users`), `query`
    /// is URL-encoded. Returns the status and the body: parsed JSON, a JSON string for
    /// other text, `Null` when empty.
    #[track_caller]
    pub fn http(&self, method: &str, path: &str, query: &[(&str, &str)], body: Option<Value>) -> (u16, Value) {
        assert!(path.starts_with('/'), "scim2-server path must start with '/': {path}");
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_else(|e| panic!("bad HTTP method {method:?}: {e}"));
        let url = format!("{}{path}", self.url);
        let result = self.rt.block_on(async {
            let mut req = self.client.request(m, &url).bearer_auth(&self.token).query(query);
            if let Some(b) = &body {
                req = req.header(reqwest::header::CONTENT_TYPE, "application/scim+json").body(b.to_string());
            }
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            let text = resp.text().await?;
            Ok::<_, reqwest::Error>((status, text))
        });
        let (status, text) =
            result.unwrap_or_else(|e| panic!("{method} {url} failed: {e}\n--- scim2-server output ---\n{}", self.stderr_tail()));
        let value = if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, value)
    }

    /// [`Scim2Server::http`] that asserts a 2xx answer.
    #[track_caller]
    fn http_ok(&self, method: &str, path: &str, query: &[(&str, &str)], body: Option<Value>) -> Value {
        let (status, value) = self.http(method, path, query, body.clone());
        if !(200..300).contains(&status) {
            panic!(
                "{method} {path} {query:?} answered {status}: {value}\nrequest body: {}\n--- scim2-server output ---\n{}",
                body.map(|b| b.to_string()).unwrap_or_default(),
                self.stderr_tail()
            );
        }
        value
    }

    /// Every resource of `collection` (`/Users`, `/Groups`) matching `filter`, paging
    /// with `startIndex` / `count` until `totalResults`.
    #[track_caller]
    pub fn list(&self, collection: &str, filter: Option<&str>) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        loop {
            let start = (out.len() + 1).to_string();
            let count = PAGE.to_string();
            let mut query = vec![("startIndex", start.as_str()), ("count", count.as_str())];
            if let Some(f) = filter {
                query.push(("filter", f));
            }
            let page = self.http_ok("GET", collection, &query, None);
            let total = page["totalResults"].as_u64().unwrap_or_else(|| panic!("GET {collection}: no totalResults in {page}")) as usize;
            let resources = page["Resources"].as_array().cloned().unwrap_or_default();
            let got = resources.len();
            out.extend(resources);
            if got == 0 || out.len() >= total {
                return out;
            }
        }
    }

    /// Every user on the server.
    #[track_caller]
    pub fn users(&self) -> Vec<Value> {
        self.list("/Users", None)
    }

    /// Every group on the server (with its `members`).
    #[track_caller]
    pub fn groups(&self) -> Vec<Value> {
        self.list("/Groups", None)
    }

    /// One user, or None when there is none with this id.
    #[track_caller]
    pub fn user(&self, id: &str) -> Option<Value> {
        self.get("/Users", id)
    }

    /// One group (with its `members`), or None when there is none with this id.
    #[track_caller]
    pub fn group(&self, id: &str) -> Option<Value> {
        self.get("/Groups", id)
    }

    #[track_caller]
    fn get(&self, collection: &str, id: &str) -> Option<Value> {
        let path = format!("{collection}/{id}");
        match self.http("GET", &path, &[], None) {
            (200, v) => Some(v),
            (404, _) => None,
            (status, v) => panic!("GET {path} answered {status}: {v}\n--- scim2-server output ---\n{}", self.stderr_tail()),
        }
    }

    /// The user ids in a group's own `members` (panics when the group does not exist).
    #[track_caller]
    pub fn member_ids(&self, group_id: &str) -> BTreeSet<String> {
        let g = self.group(group_id).unwrap_or_else(|| panic!("group {group_id} does not exist on scim2-server"));
        members_of(&g)
    }

    /// The ids of the groups whose `members` hold `user_id` (read from every group, not
    /// from `User.groups`, which scim2-server does not maintain).
    #[track_caller]
    pub fn group_ids_of(&self, user_id: &str) -> BTreeSet<String> {
        self.groups().iter().filter(|g| members_of(g).contains(user_id)).filter_map(|g| g["id"].as_str().map(str::to_string)).collect()
    }

    /// Who is in which group: display name -> user names of its members (a member that
    /// is not a known user shows as `?<id>`). Every group is listed, empty ones too.
    #[track_caller]
    pub fn memberships(&self) -> BTreeMap<String, BTreeSet<String>> {
        let names: BTreeMap<String, String> =
            self.users().iter().filter_map(|u| Some((u["id"].as_str()?.to_string(), u["userName"].as_str()?.to_string()))).collect();
        self.groups()
            .iter()
            .map(|g| {
                let members = members_of(g).into_iter().map(|id| names.get(&id).cloned().unwrap_or_else(|| format!("?{id}"))).collect();
                (g["displayName"].as_str().unwrap_or_default().to_string(), members)
            })
            .collect()
    }

    /// Creates a user behind Terraform's back; returns its id.
    #[track_caller]
    pub fn create_user(&self, user_name: &str) -> String {
        let u = self.http_ok("POST", "/Users", &[], Some(json!({"schemas": [USER_SCHEMA], "userName": user_name})));
        u["id"].as_str().unwrap_or_else(|| panic!("POST /Users answered no id: {u}")).to_string()
    }

    /// Creates a group with these member user ids behind Terraform's back; returns its id.
    #[track_caller]
    pub fn create_group(&self, display_name: &str, member_ids: &[&str]) -> String {
        let members: Vec<Value> = member_ids.iter().map(|m| json!({"value": m, "type": "User"})).collect();
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": display_name, "members": members});
        let g = self.http_ok("POST", "/Groups", &[], Some(body));
        g["id"].as_str().unwrap_or_else(|| panic!("POST /Groups answered no id: {g}")).to_string()
    }

    /// Deletes a user behind Terraform's back (asserts a 2xx answer).
    #[track_caller]
    pub fn delete_user(&self, id: &str) {
        self.http_ok("DELETE", &format!("/Users/{id}"), &[], None);
    }

    /// Deletes a group behind Terraform's back (asserts a 2xx answer).
    #[track_caller]
    pub fn delete_group(&self, id: &str) {
        self.http_ok("DELETE", &format!("/Groups/{id}"), &[], None);
    }

    /// Adds a user to a group behind Terraform's back (PatchOp `add` on `members`).
    #[track_caller]
    pub fn add_member(&self, group_id: &str, user_id: &str) {
        let op = json!({"op": "add", "path": "members", "value": [{"value": user_id, "type": "User"}]});
        self.http_ok("PATCH", &format!("/Groups/{group_id}"), &[], Some(json!({"schemas": [PATCH_OP], "Operations": [op]})));
        assert!(self.member_ids(group_id).contains(user_id), "scim2-server did not add {user_id} to group {group_id}");
    }

    /// Removes a user from a group behind Terraform's back (PatchOp `remove` with a
    /// `members[value eq "..."]` path).
    #[track_caller]
    pub fn remove_member(&self, group_id: &str, user_id: &str) {
        let op = json!({"op": "remove", "path": format!("members[value eq {}]", Value::String(user_id.to_string()))});
        self.http_ok("PATCH", &format!("/Groups/{group_id}"), &[], Some(json!({"schemas": [PATCH_OP], "Operations": [op]})));
        assert!(!self.member_ids(group_id).contains(user_id), "scim2-server did not remove {user_id} from group {group_id}");
    }
}

/// The user ids in a group resource's `members`.
pub fn members_of(group: &Value) -> BTreeSet<String> {
    group["members"].as_array().map(|ms| ms.iter().filter_map(|m| m["value"].as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// Polls `GET /ServiceProviderConfig` until it answers 200 with the token; an error when
/// the process exits first or [`START_TIMEOUT`] passes.
fn wait_ready(rt: &tokio::runtime::Runtime, client: &reqwest::Client, child: &mut Child, url: &str, token: &str) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    let probe = format!("{url}/ServiceProviderConfig");
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited ({status}) before answering"));
        }
        let answer = rt.block_on(async {
            let resp = client.get(&probe).bearer_auth(token).timeout(Duration::from_secs(2)).send().await?;
            Ok::<_, reqwest::Error>(resp.status().as_u16())
        });
        let last = match answer {
            Ok(200) => return Ok(()),
            Ok(status) => format!("GET /ServiceProviderConfig answered {status}"),
            Err(e) => format!("GET /ServiceProviderConfig: {e}"),
        };
        if Instant::now() > deadline {
            return Err(format!("not ready within {START_TIMEOUT:?} ({last})"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
