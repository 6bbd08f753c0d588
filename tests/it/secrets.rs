//! Secret hygiene through the real terraform CLI.
//!
//! 1. A full lifecycle across the four vendors (create, update with secret rotation
//!    through `*_wo_version`, refresh, import, destroy) with `TF_LOG=trace` and
//!    `TF_LOG_PATH` (Terraform's and the provider's logs). No secret may appear in the
//!    state files, in any command's stdout or stderr, in the log file, or in the sandbox's
//!    request log: not the credentials of the four vendors, not the OCI access tokens the
//!    sandbox issued, not the write-only client secrets and passwords, and no
//!    `Authorization` header value.
//! 2. Vendors that echo the request (body and `Authorization` header) in their error
//!    answers: a proxy in front of the sandbox answers chosen requests with such an echo;
//!    the diagnostics must show the vendor's message, scrubbed of every secret.
//!
//! Every secret is a distinctive string, and each test first proves the secrets really
//! flowed (the sandbox stored them, or the proxy echoed them), so that not finding them
//! means something.

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use base64::Engine as _;
use regex::Regex;
use serde_json::{Value, json};
use support::{CmdOutput, SCIM_CLIENT_ID, Sandbox, Workspace, flat};

const RUNAI_TOKEN: &str = "runai-tok-Zq81Xw4Lm2";
const FUDO_KEY: &str = "fudo-key-Pv73Kd9Qs1";
const SCIM_CLIENT_SECRET: &str = "scim-sec-Hn52Rt8Yc4";
const SCIM_USERNAME: &str = "admin";
const SCIM_GRANT_PASSWORD: &str = "scim-grant-pw-Jd64Wm1Ex7";
const LANDSCAPE_TOKEN: &str = "landscape-jwt-Bf39Ug6Tz0";
const OIDC_SECRET_1: &str = "oidc-secret-one-Kc28Vn5Pw3";
const OIDC_SECRET_2: &str = "oidc-secret-two-Ry94Fa7Qe6";
const OCP_SECRET_1: &str = "ocp-secret-one-Ld16Sx3Hg8";
const OCP_SECRET_2: &str = "ocp-secret-two-Tm45Gb2Jz9";
/// At least 12 characters: the sandbox's password policy.
const USER_PASSWORD_1: &str = "user-pw-one-Wf83Mh6Dk1";
const USER_PASSWORD_2: &str = "user-pw-two-Nb27Qp4Cs5";

const USER_1: &str = "9124292845052624898";
const OKTA2: &str = "9124292845052624898";

/// Every secret value of these tests, with a label for reports.
fn secret_values() -> Vec<(&'static str, String)> {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{SCIM_CLIENT_ID}:{SCIM_CLIENT_SECRET}"));
    vec![
        ("Run:ai token", RUNAI_TOKEN.into()),
        ("Fudo API key", FUDO_KEY.into()),
        ("SCIM client secret", SCIM_CLIENT_SECRET.into()),
        ("SCIM client credentials as HTTP Basic", basic),
        ("SCIM password-grant password", SCIM_GRANT_PASSWORD.into()),
        ("Landscape token", LANDSCAPE_TOKEN.into()),
        ("OIDC client secret 1", OIDC_SECRET_1.into()),
        ("OIDC client secret 2", OIDC_SECRET_2.into()),
        ("OpenShift client secret 1", OCP_SECRET_1.into()),
        ("OpenShift client secret 2", OCP_SECRET_2.into()),
        ("user password 1", USER_PASSWORD_1.into()),
        ("user password 2", USER_PASSWORD_2.into()),
    ]
}

fn sandbox_args() -> Vec<&'static str> {
    vec![
        // The test reads the secrets the sandbox stored, which its state masks by default.
        "--unmask-state",
        "--runai-token",
        RUNAI_TOKEN,
        "--fudo-api-key",
        FUDO_KEY,
        "--scim-client-secret",
        SCIM_CLIENT_SECRET,
        "--scim-username",
        SCIM_USERNAME,
        "--scim-password",
        SCIM_GRANT_PASSWORD,
        "--landscape-token",
        LANDSCAPE_TOKEN,
    ]
}

/// Access tokens the sandbox's OCI token endpoint issues (`sbx.` and random hex).
fn issued_token_pattern() -> Regex {
    Regex::new(r"sbx\.[0-9a-f]{16,}").expect("token pattern")
}

/// An `Authorization` header value in any form: a scheme and its credentials.
fn auth_header_pattern() -> Regex {
    Regex::new(r"(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}").expect("header pattern")
}

/// Every leak found in `text` (from `place`), as readable lines.
fn leaks_in(place: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let context = |at: usize, len: usize| {
        let from = text[..at].char_indices().rev().nth(80).map(|(i, _)| i).unwrap_or(0);
        let to = text[at + len..].char_indices().nth(80).map(|(i, _)| at + len + i).unwrap_or(text.len());
        text[from..to].replace('\n', "\\n")
    };
    for (label, secret) in secret_values() {
        if let Some(at) = text.find(&secret) {
            found.push(format!("{place}: the {label} ({secret}) appears: ...{}...", context(at, secret.len())));
        }
    }
    for (label, re) in [("an issued OCI access token", issued_token_pattern()), ("an Authorization header value", auth_header_pattern())] {
        if let Some(m) = re.find(text) {
            found.push(format!("{place}: {label} appears ({}): ...{}...", m.as_str(), context(m.start(), m.len())));
        }
    }
    found
}

const CONFIG: &str = r#"
variable "runai_token" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "landscape_token" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "scim_grant_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "oidc_secret" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "ocp_secret" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "user_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "secret_version" {
  type = number
}
variable "given_name" {
  type = string
}
variable "oidc_sub" {
  type = string
}
variable "runai_url" {
  type = string
}
variable "landscape_url" {
  type = string
}
variable "scim_url" {
  type = string
}

provider "identity" {
  runai     = { url = var.runai_url, token = var.runai_token }
  landscape = { url = var.landscape_url, token = var.landscape_token }
}

# The same SCIM service through the OAuth2 password grant.
provider "identity" {
  alias = "pw"
  scim = {
    url        = var.scim_url
    grant_type = "password"
    username   = "admin"
    password   = var.scim_grant_password
  }
}

resource "identity_idp" "oidc" {
  name = "corp-oidc"
  type = "oidc"
  oidc = {
    client_id                = "runai"
    client_secret_wo         = var.oidc_secret
    client_secret_wo_version = var.secret_version
    discover_document_url    = "https://login.example.com/.well-known/openid-configuration"
    scopes                   = ["openid", "email"]
  }
}

resource "identity_idp" "ocp" {
  name = "corp-ocp"
  type = "openshift-v4"
  ocp = {
    idp_base_url             = "https://api.ocp.example.com:6443"
    client_id                = "runai"
    client_secret_wo         = var.ocp_secret
    client_secret_wo_version = var.secret_version
  }
}

resource "identity_idp_mappers" "ocp" {
  idp   = identity_idp.ocp.alias
  uid   = "sub"
  email = "email"
}

resource "identity_user_oidc" "john" {
  user_id  = "9124292845052624898"
  oidc_id  = "9124292845052624898"
  oidc_sub = var.oidc_sub
}

resource "identity_scim_user" "jane" {
  user_name           = "jane.secret-test"
  given_name          = var.given_name
  family_name         = "Doe"
  emails              = [{ value = "jane@example.com", primary = true }]
  password_wo         = var.user_password
  password_wo_version = var.secret_version
}

resource "identity_scim_user" "bob" {
  user_name = "bob.secret-test"
}

resource "identity_scim_group" "eng" {
  provider     = identity.pw
  display_name = "eng-secret-test"
  description  = "Engineering"
  members      = [identity_scim_user.jane.id]
}

resource "identity_scim_group" "ops" {
  display_name = "ops-secret-test"
}

resource "identity_scim_user_group_memberships" "bob" {
  user_id   = identity_scim_user.bob.id
  group_ids = [identity_scim_group.ops.id]
}

resource "identity_oidc_group_import" "corp" {
  issuer_id = 123
}

data "identity_scim_users" "jane" {
  filter     = "userName sw \"jane\""
  depends_on = [identity_scim_user.jane]
}

data "identity_idps" "all" {
  depends_on = [identity_idp.oidc, identity_idp.ocp]
}

data "identity_oidc_staged_groups" "corp" {
  import_session_id = identity_oidc_group_import.corp.id
}

output "summary" {
  value = {
    users         = length(data.identity_scim_users.jane.users)
    idps          = length(data.identity_idps.all.idps)
    staged_groups = length(data.identity_oidc_staged_groups.corp.groups)
  }
}
"#;

/// A workspace for the lifecycle: the sandbox's URLs, the secrets in `TF_VAR_*` and the
/// vendors' environment variables, trace logs into `log_name` in the working directory.
fn lifecycle_workspace(ws: &mut Workspace, sb: &Sandbox, log_name: &str) {
    let log = ws.dir().join(log_name);
    ws.set_env("TF_LOG", "trace")
        .set_env("TF_LOG_PATH", &log.to_string_lossy())
        .remove_env("IDENTITY_RUNAI_URL")
        .remove_env("IDENTITY_RUNAI_TOKEN")
        .remove_env("IDENTITY_LANDSCAPE_URL")
        .remove_env("IDENTITY_LANDSCAPE_TOKEN")
        .set_env("IDENTITY_FUDO_API_KEY", FUDO_KEY)
        .set_env("IDENTITY_SCIM_CLIENT_SECRET", SCIM_CLIENT_SECRET)
        .set_env("TF_VAR_runai_url", &sb.runai_url())
        .set_env("TF_VAR_landscape_url", &sb.landscape_url())
        .set_env("TF_VAR_scim_url", &sb.scim_url())
        .set_env("TF_VAR_runai_token", RUNAI_TOKEN)
        .set_env("TF_VAR_landscape_token", LANDSCAPE_TOKEN)
        .set_env("TF_VAR_scim_grant_password", SCIM_GRANT_PASSWORD);
    set_round(ws, 1);
    ws.write_main(CONFIG);
}

/// The write-only secrets and the versions of round 1 or 2 (rotation), with an in-place
/// change of a plain attribute on each vendor.
fn set_round(ws: &mut Workspace, round: u32) {
    let (oidc, ocp, pw, given, sub) = if round == 1 {
        (OIDC_SECRET_1, OCP_SECRET_1, USER_PASSWORD_1, "Jane", "john-1")
    } else {
        (OIDC_SECRET_2, OCP_SECRET_2, USER_PASSWORD_2, "Janet", "john-2")
    };
    ws.set_env("TF_VAR_oidc_secret", oidc)
        .set_env("TF_VAR_ocp_secret", ocp)
        .set_env("TF_VAR_user_password", pw)
        .set_env("TF_VAR_secret_version", &round.to_string())
        .set_env("TF_VAR_given_name", given)
        .set_env("TF_VAR_oidc_sub", sub);
}

fn oci_users(sb: &Sandbox) -> Vec<Value> {
    sb.scim_users()
}

fn oci_groups(sb: &Sandbox) -> Vec<Value> {
    sb.scim_groups()
}

/// What the server holds for the write-only secrets: (oidc secret, ocp secret, jane's
/// password changes).
fn stored_secrets(sb: &Sandbox) -> (String, String, u64) {
    let idp = |alias: &str| sb.runai_idp(alias).unwrap_or_else(|| panic!("no idp {alias} in the sandbox"));
    let oidc = idp("corp-oidc")["oidcData"]["clientSecret"].as_str().unwrap_or_default().to_string();
    let ocp = idp("corp-ocp")["ocpData"]["clientSecret"].as_str().unwrap_or_default().to_string();
    let jane = oci_users(sb).into_iter().find(|u| u["userName"] == "jane.secret-test").unwrap_or_else(|| panic!("no user jane"));
    (oidc, ocp, jane["passwordChanges"].as_u64().unwrap_or(0))
}

#[test]
fn no_secret_in_state_outputs_or_trace_logs_across_a_full_lifecycle() {
    let sb = Sandbox::start_with(&sandbox_args());
    let mut ws = Workspace::new(&sb);
    lifecycle_workspace(&mut ws, &sb, "trace.log");
    let mut outputs: Vec<(String, CmdOutput)> = Vec::new();
    let mut states: Vec<(String, String)> = Vec::new();
    let snapshot_state = |ws: &Workspace, label: &str, states: &mut Vec<(String, String)>| {
        for name in ["terraform.tfstate", "terraform.tfstate.backup"] {
            if let Ok(text) = std::fs::read_to_string(ws.dir().join(name)) {
                states.push((format!("{name} after {label}"), text));
            }
        }
    };

    // Create.
    outputs.push(("apply (create)".into(), ws.apply()));
    snapshot_state(&ws, "create", &mut states);
    let (oidc, ocp, changes) = stored_secrets(&sb);
    assert_eq!((oidc.as_str(), ocp.as_str(), changes), (OIDC_SECRET_1, OCP_SECRET_1, 1), "the round-1 secrets reached the vendors");
    assert!(sb.route_count("POST /oci/oauth2/v1/token") >= 2, "both SCIM provider configurations fetched tokens: {}", sb.stats());
    let plan = ws.plan(&[]);
    assert_eq!(plan.code, 0, "{}", ws.report("the plan after create is not empty", &plan));
    outputs.push(("plan after create".into(), plan));

    // Update: rotate every write-only secret by bumping the version, and change plain
    // attributes in place.
    set_round(&mut ws, 2);
    let plan = ws.plan(&[]);
    assert_eq!(plan.code, 2, "{}", ws.report("the rotation shows no change", &plan));
    outputs.push(("plan (rotation)".into(), plan));
    outputs.push(("apply (update and rotation)".into(), ws.apply()));
    snapshot_state(&ws, "rotation", &mut states);
    let (oidc, ocp, changes) = stored_secrets(&sb);
    assert_eq!((oidc.as_str(), ocp.as_str(), changes), (OIDC_SECRET_2, OCP_SECRET_2, 2), "the round-2 secrets reached the vendors");
    assert_eq!(ws.state_attr("identity_user_oidc.john", "oidc_sub"), "john-2");

    // Refresh.
    outputs.push(("apply -refresh-only".into(), ws.apply_with(&["-refresh-only"])));
    snapshot_state(&ws, "refresh", &mut states);
    let plan = ws.plan(&[]);
    assert_eq!(plan.code, 0, "{}", ws.report("the plan after the rotation is not empty", &plan));
    outputs.push(("plan after refresh".into(), plan));
    outputs.push(("show -json".into(), ws.run_ok(&["show", "-json", "-no-color"])));

    // Import into a fresh directory.
    let mut fresh = ws.sibling();
    lifecycle_workspace(&mut fresh, &sb, "trace-import.log");
    set_round(&mut fresh, 2);
    let id = |addr: &str, attr: &str| ws.state_attr(addr, attr).as_str().unwrap_or_default().to_string();
    let fudo_id = format!("{USER_1}/{OKTA2}");
    for (addr, import_id) in [
        ("identity_idp.oidc", id("identity_idp.oidc", "alias")),
        ("identity_idp.ocp", id("identity_idp.ocp", "alias")),
        ("identity_user_oidc.john", fudo_id),
        ("identity_scim_user.jane", id("identity_scim_user.jane", "id")),
        ("identity_scim_group.eng", id("identity_scim_group.eng", "id")),
        ("identity_oidc_group_import.corp", id("identity_oidc_group_import.corp", "id")),
    ] {
        outputs.push((format!("import {addr}"), fresh.import(addr, &import_id)));
    }
    snapshot_state(&fresh, "import", &mut states);
    // The imported objects match, but for the write-only secrets, which an import cannot
    // read back: their `*_wo_version` is set, so they are sent again (an update). What was
    // not imported is created.
    let plan = fresh.plan(&[]);
    assert_eq!(plan.code, 2, "{}", fresh.report("the plan after import has the write-only updates and the creates", &plan));
    let planned: Vec<(String, Vec<String>)> =
        support::all_actions(&fresh.plan_json()).into_iter().filter(|(addr, _)| !addr.starts_with("data.")).collect();
    let expected: Vec<(String, Vec<String>)> = [
        ("identity_idp.ocp", "update"),
        ("identity_idp.oidc", "update"),
        ("identity_idp_mappers.ocp", "create"),
        ("identity_oidc_group_import.corp", "no-op"),
        ("identity_scim_group.eng", "no-op"),
        ("identity_scim_group.ops", "create"),
        ("identity_scim_user.bob", "create"),
        ("identity_scim_user.jane", "update"),
        ("identity_scim_user_group_memberships.bob", "create"),
        ("identity_user_oidc.john", "no-op"),
    ]
    .into_iter()
    .map(|(a, x)| (a.to_string(), vec![x.to_string()]))
    .collect();
    assert_eq!(planned, expected, "the plan after import");
    outputs.push(("plan after import".into(), plan));
    assert_eq!(fresh.state_attr("identity_scim_user.jane", "given_name"), "Janet");

    // Destroy.
    outputs.push(("destroy".into(), ws.destroy()));
    snapshot_state(&ws, "destroy", &mut states);
    assert!(sb.runai_aliases().is_empty(), "idps left: {:?}", sb.runai_aliases());
    assert!(oci_users(&sb).is_empty() && oci_groups(&sb).is_empty(), "SCIM objects left: {}", sb.state()["oci"]);
    assert_eq!(sb.fudo_pairs().len(), 1, "only the built-in Fudo assignment is left: {:?}", sb.fudo_pairs());

    // The logs were really written, with the provider's own lines in them.
    let mut logs = Vec::new();
    for (w, name) in [(&ws, "trace.log"), (&fresh, "trace-import.log")] {
        let path = w.dir().join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("no trace log at {}: {e}", path.display()));
        logs.push((name.to_string(), text));
    }
    let main_log = &logs[0].1;
    assert!(main_log.len() > 100_000, "the trace log is {} bytes", main_log.len());
    for needle in ["[TRACE]", "HTTP request", "/runai/api/v1/idps", "/fudo/api/v2/user", "/oci/admin/v1/Users", "/landscape/api/v2/oidc"] {
        assert!(main_log.contains(needle), "the trace log has no {needle:?}: Terraform's and the provider's logs are both expected");
    }
    let issued = sb.scim_access_token_with(SCIM_CLIENT_ID, SCIM_CLIENT_SECRET);
    assert!(issued_token_pattern().is_match(&issued), "the pattern recognizes the sandbox's tokens: {issued}");

    let mut found = Vec::new();
    for (label, out) in &outputs {
        found.extend(leaks_in(&format!("{label}: stdout"), &out.stdout));
        found.extend(leaks_in(&format!("{label}: stderr"), &out.stderr));
    }
    for (label, text) in states.iter().chain(logs.iter()) {
        found.extend(leaks_in(label, text));
    }
    assert!(
        states
            .iter()
            .any(|(_, t)| t.contains("jane.secret-test") && t.contains("password_wo_version") && t.contains("client_secret_wo_version")),
        "the state snapshots hold the resources"
    );
    let requests = serde_json::to_string(&sb.requests()).unwrap_or_default();
    assert!(requests.contains("/oci/admin/v1/UserPasswordChanger"), "the request log covers the password changes");
    found.extend(leaks_in("the sandbox's request log", &requests));
    assert!(found.is_empty(), "{} secret leak(s):\n{}", found.len(), found.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Vendors that echo requests in their errors
// ---------------------------------------------------------------------------------------

/// Text every echoed error carries, so the test can tell the vendor's message reached the
/// diagnostics.
const ECHO_MARK: &str = "the server echoes the request";

/// A proxy in front of the sandbox. Chosen requests get a 400 in the vendor's error shape
/// whose message echoes the request body and its `Authorization` header; everything else
/// is passed through. One request per connection (`Connection: close`).
struct EchoProxy {
    addr: SocketAddr,
    /// Also echo the OCI token endpoint (otherwise it is passed through).
    echo_token: Arc<AtomicBool>,
    /// The messages sent, to prove that they held the secrets.
    echoed: Arc<Mutex<Vec<String>>>,
}

impl EchoProxy {
    fn start(upstream: &str) -> EchoProxy {
        let upstream: SocketAddr = upstream.trim_start_matches("http://").parse().expect("the sandbox address");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let echo_token = Arc::new(AtomicBool::new(false));
        let echoed = Arc::new(Mutex::new(Vec::new()));
        let (flag, log) = (echo_token.clone(), echoed.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (flag, log) = (flag.clone(), log.clone());
                thread::spawn(move || {
                    if let Err(e) = proxy_one(conn, upstream, &flag, &log) {
                        eprintln!("echo proxy: {e}");
                    }
                });
            }
        });
        EchoProxy { addr, echo_token, echoed }
    }

    fn url(&self, prefix: &str) -> String {
        format!("http://{}{prefix}", self.addr)
    }

    fn echoed(&self) -> String {
        self.echoed.lock().unwrap_or_else(|e| e.into_inner()).join("\n")
    }
}

/// The 400 answer echoing `body` and `auth` for `path`, in the shape of its vendor.
fn echo_answer(method: &str, path: &str, body: &str, auth: &str, echo_token: bool) -> Option<Value> {
    let message = format!("Bad request ({ECHO_MARK}): {method} {path} with Authorization: {auth} and body {body}");
    if method == "POST" && path.ends_with("/api/v1/idps") {
        Some(json!({"code": 400, "message": message, "details": "oidcData"}))
    } else if method == "PUT" && path.contains("/UserPasswordChanger/") {
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400", "scimType": "invalidValue", "detail": message}),
        )
    } else if method == "POST" && path.ends_with("/api/v2/user/oidc") {
        Some(json!({"result": "error", "message": message}))
    } else if method == "POST" && path.ends_with("/oidc/groups/import_session") {
        Some(json!({"error": "BadRequest", "message": message}))
    } else if method == "POST" && path.ends_with("/oauth2/v1/token") && echo_token {
        Some(json!({"error": "invalid_request", "error_description": message}))
    } else {
        None
    }
}

fn proxy_one(client: TcpStream, upstream: SocketAddr, echo_token: &AtomicBool, echoed: &Mutex<Vec<String>>) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(());
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            break;
        }
        headers.push(line);
    }
    let header = |name: &str| {
        headers
            .iter()
            .find_map(|h| h.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string()))
    };
    if header("transfer-encoding").is_some() {
        return Err(std::io::Error::other("chunked request bodies are not supported by this proxy"));
    }
    let len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default().to_string(), parts.next().unwrap_or_default().to_string());
    let path = target.split('?').next().unwrap_or_default().to_string();
    let mut client = client;
    let auth = header("authorization").unwrap_or_default();
    let body_text = String::from_utf8_lossy(&body).into_owned();
    if let Some(answer) = echo_answer(&method, &path, &body_text, &auth, echo_token.load(Ordering::SeqCst)) {
        let text = answer.to_string();
        echoed.lock().unwrap_or_else(|e| e.into_inner()).push(text.clone());
        let head = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            text.len()
        );
        client.write_all(head.as_bytes())?;
        client.write_all(text.as_bytes())?;
        return client.flush();
    }
    let mut up = TcpStream::connect(upstream)?;
    up.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut out = request_line.into_bytes();
    for h in &headers {
        let name = h.split(':').next().unwrap_or_default().trim().to_ascii_lowercase();
        if name != "connection" && name != "keep-alive" {
            out.extend_from_slice(h.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&body);
    up.write_all(&out)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    client.write_all(&answer)?;
    client.flush()
}

const ECHO_CONFIG: &str = r#"
variable "oidc_secret" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "user_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "identity_idp" "oidc" {
  name = "echo-oidc"
  type = "oidc"
  oidc = {
    client_id             = "runai"
    client_secret_wo      = var.oidc_secret
    discover_document_url = "https://login.example.com/.well-known/openid-configuration"
  }
}

resource "identity_user_oidc" "john" {
  user_id  = "9124292845052624898"
  oidc_id  = "9124292845052624898"
  oidc_sub = "john"
}

resource "identity_scim_user" "jane" {
  user_name           = "jane.echo"
  password_wo         = var.user_password
  password_wo_version = 1
}

resource "identity_oidc_group_import" "corp" {
  issuer_id = 123
}
"#;

const ECHO_TOKEN_CONFIG: &str = r#"
variable "scim_grant_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

provider "identity" {
  scim = {
    grant_type = "password"
    username   = "admin"
    password   = var.scim_grant_password
  }
}

resource "identity_scim_group" "eng" {
  display_name = "eng-echo"
}
"#;

#[test]
fn vendor_errors_that_echo_the_request_are_scrubbed() {
    let sb = Sandbox::start_with(&sandbox_args());
    let proxy = EchoProxy::start(sb.url());
    let mut ws = Workspace::new(&sb);
    let log = ws.dir().join("trace.log");
    ws.set_env("TF_LOG", "trace")
        .set_env("TF_LOG_PATH", &log.to_string_lossy())
        .set_env("IDENTITY_RUNAI_URL", &proxy.url("/runai"))
        .set_env("IDENTITY_RUNAI_TOKEN", RUNAI_TOKEN)
        .set_env("IDENTITY_FUDO_URL", &proxy.url("/fudo"))
        .set_env("IDENTITY_FUDO_API_KEY", FUDO_KEY)
        .set_env("IDENTITY_SCIM_URL", &proxy.url("/oci/admin/v1"))
        .set_env("IDENTITY_SCIM_CLIENT_SECRET", SCIM_CLIENT_SECRET)
        .set_env("IDENTITY_LANDSCAPE_URL", &proxy.url("/landscape"))
        .set_env("IDENTITY_LANDSCAPE_TOKEN", LANDSCAPE_TOKEN)
        .set_env("TF_VAR_oidc_secret", OIDC_SECRET_1)
        .set_env("TF_VAR_user_password", USER_PASSWORD_1)
        .set_env("TF_VAR_scim_grant_password", SCIM_GRANT_PASSWORD);

    // Creates refused with an echo by Run:ai, Fudo and Landscape; the SCIM user is
    // created, and its password change refused with an echo.
    ws.write_main(ECHO_CONFIG);
    let first = ws.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    assert_ne!(first.code, 0, "{}", ws.report("the vendors refused, the apply must fail", &first));

    // The token endpoint itself echoes the password grant's form and the client's Basic
    // credentials.
    proxy.echo_token.store(true, Ordering::SeqCst);
    let token_ws = ws.sibling();
    token_ws.write_main(ECHO_TOKEN_CONFIG);
    let second = token_ws.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    assert_ne!(second.code, 0, "{}", token_ws.report("the token endpoint refused, the apply must fail", &second));

    // The echoes really carried the secrets.
    let echoed = proxy.echoed();
    for (label, secret) in [
        ("OIDC client secret", OIDC_SECRET_1),
        ("user password", USER_PASSWORD_1),
        ("Run:ai token", RUNAI_TOKEN),
        ("Fudo API key", FUDO_KEY),
        ("Landscape token", LANDSCAPE_TOKEN),
        ("password-grant password", SCIM_GRANT_PASSWORD),
    ] {
        assert!(echoed.contains(secret), "the proxy's echo did not carry the {label}, so the test would prove nothing:\n{echoed}");
    }
    assert!(issued_token_pattern().is_match(&echoed), "the password changer's echo carried the access token:\n{echoed}");
    assert!(echoed.contains("Basic "), "the token endpoint's echo carried the Basic credentials:\n{echoed}");

    // Each vendor's message reached the diagnostics, without the secrets.
    let text = flat(&format!("{}\n{}", first.combined(), second.combined()));
    let summaries = [
        "Unable to create identity provider",
        "Unable to create user OIDC assignment",
        "Password not accepted",
        "Credentials refused by the SCIM token endpoint",
    ];
    for s in summaries {
        assert!(text.contains(s), "no {s:?} diagnostic:\n{text}");
    }
    let marks = text.matches(ECHO_MARK).count();
    assert!(marks >= 5, "the vendors' own messages are shown ({marks} of 5 echoes found):\n{text}");

    let mut found = Vec::new();
    found.extend(leaks_in("apply with echoing vendors: stdout", &first.stdout));
    found.extend(leaks_in("apply with echoing vendors: stderr", &first.stderr));
    found.extend(leaks_in("apply with an echoing token endpoint: stdout", &second.stdout));
    found.extend(leaks_in("apply with an echoing token endpoint: stderr", &second.stderr));
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(log_text.contains("HTTP request"), "the provider's logs are in the trace log");
    found.extend(leaks_in("the trace log", &log_text));
    for w in [&ws, &token_ws] {
        for name in ["terraform.tfstate", "terraform.tfstate.backup"] {
            if let Ok(state) = std::fs::read_to_string(w.dir().join(name)) {
                found.extend(leaks_in(name, &state));
            }
        }
    }
    assert!(found.is_empty(), "{} secret leak(s) from echoed requests:\n{}", found.len(), found.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Write-only secrets after an import
// ---------------------------------------------------------------------------------------

const IMPORT_CONFIG: &str = r#"
variable "oidc_secret" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "user_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "secret_version" {
  type    = number
  default = null
}

resource "identity_idp" "oidc" {
  name = "import-oidc"
  type = "oidc"
  oidc = {
    client_id                = "runai"
    client_secret_wo         = var.oidc_secret
    client_secret_wo_version = var.secret_version
    discover_document_url    = "https://login.example.com/.well-known/openid-configuration"
    scopes                   = ["openid", "email"]
  }
}

resource "identity_scim_user" "jane" {
  user_name           = "jane.import-test"
  password_wo         = var.user_password
  password_wo_version = var.secret_version
}
"#;

const USER_WARNING: &str = "Warning: Imported user: this apply sets the password";
const IDP_WARNING: &str = "Warning: Imported identity provider: this apply sends the client secret";

/// The write-only values of one round, and the version (None: `*_wo_version` unset).
fn import_round(ws: &mut Workspace, oidc: &str, password: &str, version: Option<u32>) {
    ws.set_env("TF_VAR_oidc_secret", oidc).set_env("TF_VAR_user_password", password);
    match version {
        Some(v) => ws.set_env("TF_VAR_secret_version", &v.to_string()),
        None => ws.remove_env("TF_VAR_secret_version"),
    };
}

/// What went to the server so far: (idp updates, password changes) as requests, and what
/// it holds: (the idp's client secret, jane's password change count).
fn sent_and_held(sb: &Sandbox, user_id: &str) -> ((usize, usize), (String, u64)) {
    let puts = sb.requests_to("PUT", "/runai/api/v1/idps/import-oidc").len();
    let changes = sb.requests_to("PUT", &format!("/oci/admin/v1/UserPasswordChanger/{user_id}")).len();
    let secret = sb.runai_idp("import-oidc").map(|i| i["oidcData"]["clientSecret"].as_str().unwrap_or_default().to_string());
    let jane = oci_users(sb).into_iter().find(|u| u["userName"] == "jane.import-test").unwrap_or_else(|| panic!("no user jane"));
    ((puts, changes), (secret.unwrap_or_default(), jane["passwordChanges"].as_u64().unwrap_or(0)))
}

#[track_caller]
fn assert_no_write_only_value(out: &CmdOutput, what: &str) {
    for s in [OIDC_SECRET_1, OIDC_SECRET_2, USER_PASSWORD_1, USER_PASSWORD_2] {
        assert!(!out.combined().contains(s), "{what} shows a write-only value");
    }
}

#[test]
fn the_first_plan_after_an_import_warns_that_write_only_secrets_will_be_sent() {
    let sb = Sandbox::start_with(&["--unmask-state"]);
    let mut ws = Workspace::new(&sb);
    import_round(&mut ws, OIDC_SECRET_1, USER_PASSWORD_1, Some(1));
    ws.write_main(IMPORT_CONFIG);
    let out = ws.apply();
    assert!(!flat(&out.combined()).contains("Warning: Imported"), "no import, no warning:\n{}", out.combined());
    let user_id = ws.state_attr("identity_scim_user.jane", "id").as_str().unwrap_or_default().to_string();
    let (sent, held) = sent_and_held(&sb, &user_id);
    assert_eq!(held, (OIDC_SECRET_1.to_string(), 1), "the round-1 secrets reached the servers");

    // `terraform import` into a fresh directory whose configuration has other secrets and
    // a version: the first plan warns on each `*_wo_version`.
    let mut fresh = ws.sibling();
    import_round(&mut fresh, OIDC_SECRET_2, USER_PASSWORD_2, Some(1));
    fresh.write_main(IMPORT_CONFIG);
    fresh.import("identity_idp.oidc", "import-oidc");
    fresh.import("identity_scim_user.jane", &user_id);
    let plan = fresh.plan(&[]);
    assert_eq!(plan.code, 2, "{}", fresh.report("the versions are planned", &plan));
    let text = flat(&plan.combined());
    // Terraform shows the configuration line of a top-level attribute; for a nested one
    // (`oidc.client_secret_wo_version`) 1.11 shows the resource line and 1.15 the
    // attribute's own line.
    let idp_at = [
        "with identity_idp.oidc, on main.tf line 25, in resource \"identity_idp\" \"oidc\"",
        "with identity_idp.oidc, on main.tf line 31, in resource \"identity_idp\" \"oidc\": 31: client_secret_wo_version = var.secret_version",
    ];
    let user_at = "with identity_scim_user.jane, on main.tf line 40, in resource \"identity_scim_user\" \"jane\": 40: password_wo_version = var.secret_version";
    for (warning, at) in [(USER_WARNING, &[user_at][..]), (IDP_WARNING, &idp_at[..])] {
        assert!(text.contains(warning), "{}", fresh.report(&format!("no {warning:?}"), &plan));
        assert!(
            at.iter().any(|a| text.contains(&format!("{warning} {a}"))),
            "the warning points at the attribute (one of {at:?}):\n{text}"
        );
    }
    for needle in [
        "The configured `password_wo_version` (1) makes the next apply send `password_wo`",
        "leave `password_wo_version` out of the configuration for now",
        "the configured `oidc.client_secret_wo_version` (1) makes the next apply update it",
        "leave `client_secret_wo_version` out of the configuration and make the other settings match the imported state",
    ] {
        assert!(text.contains(needle), "{needle:?} is missing:\n{text}");
    }
    assert_no_write_only_value(&plan, "the plan after import");
    assert_eq!(sent_and_held(&sb, &user_id).0, sent, "a plan sends nothing");

    // The apply sends both secrets, replacing the servers' ones; then the warning is gone.
    let out = fresh.apply();
    assert_no_write_only_value(&out, "the apply after import");
    let (now_sent, now_held) = sent_and_held(&sb, &user_id);
    assert_eq!(now_sent, (sent.0 + 1, sent.1 + 1), "one idp update and one password change were sent");
    assert_eq!(now_held, (OIDC_SECRET_2.to_string(), 2), "the configured secrets replaced the servers' ones");
    let plan = fresh.plan(&[]);
    assert_eq!(plan.code, 0, "{}", fresh.report("the plan after the apply is empty", &plan));
    assert!(!flat(&plan.combined()).contains("Warning: Imported"), "{}", fresh.report("the apply cleared the warning", &plan));

    // `import` blocks, without the versions: nothing will be sent, so no warning, and the
    // apply keeps the servers' secrets.
    let mut blocks = ws.sibling();
    import_round(&mut blocks, OIDC_SECRET_1, USER_PASSWORD_1, None);
    let with_imports = |ws: &Workspace| {
        ws.write_main(&format!(
            "{IMPORT_CONFIG}\nimport {{\n  to = identity_idp.oidc\n  id = \"import-oidc\"\n}}\n\nimport {{\n  to = identity_scim_user.jane\n  id = \"{user_id}\"\n}}\n"
        ))
    };
    with_imports(&blocks);
    let plan = blocks.plan(&[]);
    assert_eq!(plan.code, 2, "{}", blocks.report("the imports are planned", &plan));
    assert!(!flat(&plan.combined()).contains("Warning: Imported"), "{}", blocks.report("no version, no warning", &plan));
    let out = blocks.apply();
    assert!(!flat(&out.combined()).contains("Warning: Imported"), "{}", blocks.report("no version, no warning", &out));
    assert_eq!(sent_and_held(&sb, &user_id), (now_sent, now_held.clone()), "an import without versions sends no secret");
    assert_eq!(blocks.plan(&[]).code, 0, "imported as configured");

    // Adding the versions later sends the secrets: the import marker is still there (an
    // import-only apply calls no apply), so the plan warns, once.
    import_round(&mut blocks, OIDC_SECRET_1, USER_PASSWORD_1, Some(7));
    let plan = blocks.plan(&[]);
    let text = flat(&plan.combined());
    assert!(text.contains(USER_WARNING) && text.contains(IDP_WARNING), "{}", blocks.report("the versions warn", &plan));
    assert!(text.contains("`password_wo_version` (7)"), "{text}");
    blocks.apply();
    let (last_sent, last_held) = sent_and_held(&sb, &user_id);
    assert_eq!(last_sent, (now_sent.0 + 1, now_sent.1 + 1), "the versions sent both secrets");
    assert_eq!(last_held, (OIDC_SECRET_1.to_string(), 3));
    let plan = blocks.plan(&[]);
    assert_eq!(plan.code, 0, "{}", blocks.report("the plan after the apply is empty", &plan));
    assert!(!flat(&plan.combined()).contains("Warning: Imported"), "{}", blocks.report("the apply cleared the warning", &plan));
}
