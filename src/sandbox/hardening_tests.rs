//! Tests of the sandbox's exposure limits (issue 15, "Sandbox"): the warning when listening
//! beyond loopback, masked secrets in `GET /_sandbox/state`, the 0600 `--data` file, and
//! the confinement of the SAML `metadataXmlUrl` fetch. Over real TCP, the way the binary
//! and the provider's tests use the sandbox.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::runai::{MAX_METADATA_BYTES, SAMPLE_METADATA_PATH, sample_metadata_xml};
use super::saml_fetch::{AllowedHost, Host, METADATA_FETCH_TIMEOUT, Route, route};
use super::store::{STATE_SECRET_MASK, create_private, mask_state_secrets};
use super::*;

const OIDC_SECRET: &str = "oidc-S3cret-never-shown-4711";
const OCP_SECRET: &str = "ocp-S3cret-never-shown-0815";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// POSTs `body` to the sandbox's Run:ai idps; the status and the JSON answer.
async fn create_idp(sb: &RunningSandbox, body: Value) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/idps", sb.runai_url()))
        .bearer_auth(DEFAULT_RUNAI_TOKEN)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = StatusCode::from_u16(resp.status().as_u16()).expect("status");
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Creates a SAML idp named `name` whose metadata is at `url`.
async fn create_saml(sb: &RunningSandbox, name: &str, url: &str) -> (StatusCode, Value) {
    create_idp(sb, json!({"name": name, "type": "saml", "samlData": {"metadataXmlType": "url", "metadataXmlUrl": url}})).await
}

/// Asserts a 400 for `samlData.metadataXmlUrl` whose message contains `needle`.
#[track_caller]
fn assert_url_refused(answer: &(StatusCode, Value), needle: &str) {
    let (status, body) = answer;
    assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["details"], json!("samlData.metadataXmlUrl"), "{body}");
    let message = body["message"].as_str().unwrap_or("");
    assert!(message.contains(needle), "{message:?} should contain {needle:?}");
}

// ---------------------------------------------------------------------------------------
// --listen beyond loopback
// ---------------------------------------------------------------------------------------

#[test]
fn listening_beyond_loopback_is_warned_about() {
    let config = SandboxConfig::default();
    for exposed in ["0.0.0.0:8080", "[::]:8080", "192.168.1.10:0", "10.0.0.7:443", "[fe80::1]:8080"] {
        let warnings = exposure_warnings(addr(exposed), &config);
        assert_eq!(warnings.len(), 1, "{exposed}: {warnings:?}");
        for needle in ["not a loopback address", "demo credentials are public", "/_sandbox/state", "no authentication", "127.0.0.1"] {
            assert!(warnings[0].contains(needle), "{exposed}: {:?} should contain {needle:?}", warnings[0]);
        }
    }
    for local in ["127.0.0.1:0", "127.0.0.2:8080", "[::1]:8080", "[::ffff:127.0.0.1]:8080"] {
        assert_eq!(exposure_warnings(addr(local), &config), Vec::<String>::new(), "{local}");
    }
    let unmasked = SandboxConfig { unmask_state: true, ..SandboxConfig::default() };
    let warnings = exposure_warnings(addr("127.0.0.1:0"), &unmasked);
    assert_eq!(warnings, ["--unmask-state: GET /_sandbox/state shows client secrets in clear"]);
}

/// A `MakeWriter` for the log lines of one test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

#[test]
fn the_warning_is_a_warn_log_line_and_a_plain_stderr_line() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).finish();
    let mut stderr = Vec::new();
    tracing::subscriber::with_default(subscriber, || {
        emit_warnings(&exposure_warnings(addr("0.0.0.0:8080"), &SandboxConfig::default()), &mut stderr);
    });
    let logs = logs.text();
    assert_eq!(logs.lines().count(), 1, "{logs}");
    assert!(logs.contains(" WARN ") && logs.contains("listening on 0.0.0.0:8080, which is not a loopback address"), "{logs}");
    let stderr = String::from_utf8(stderr).expect("utf-8");
    assert!(stderr.starts_with("identity-sandbox: WARNING: listening on 0.0.0.0:8080, which is not a loopback address"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // Nothing at all for loopback.
    let mut quiet = Vec::new();
    emit_warnings(&exposure_warnings(addr("127.0.0.1:8080"), &SandboxConfig::default()), &mut quiet);
    assert!(quiet.is_empty());
}

// ---------------------------------------------------------------------------------------
// GET /_sandbox/state masks secrets
// ---------------------------------------------------------------------------------------

#[test]
fn state_mask_replaces_every_credential_and_keeps_counters() {
    let mut v = json!({
        "oidcData": {"clientId": "c", "clientSecret": "s3cret", "scopes": ["a"]},
        "users": [{"userName": "jane", "passwordChanges": 2, "passwordSet": true, "password": "pw"}],
        "apiKey": "k", "api_key": "k", "X-Api-Key": "k", "refresh_token": "t", "credentials": {"user": "u", "pass": "p"},
        "private-key": ["pem"], "passphrase": "p", "passwd": "p", "none": null,
        "entityId": "https://idp.example.com", "signingCertificate": "MIIB"
    });
    mask_state_secrets(&mut v);
    let m = STATE_SECRET_MASK;
    assert_eq!(
        v,
        json!({
            "oidcData": {"clientId": "c", "clientSecret": m, "scopes": ["a"]},
            "users": [{"userName": "jane", "passwordChanges": 2, "passwordSet": true, "password": m}],
            "apiKey": m, "api_key": m, "X-Api-Key": m, "refresh_token": m, "credentials": m,
            "private-key": m, "passphrase": m, "passwd": m, "none": null,
            "entityId": "https://idp.example.com", "signingCertificate": "MIIB"
        })
    );
    assert_eq!(STATE_SECRET_MASK, "********");
}

async fn get_state(sb: &RunningSandbox) -> (String, Value) {
    let text = reqwest::get(format!("{}/_sandbox/state", sb.url)).await.expect("GET").text().await.expect("text");
    let json = serde_json::from_str(&text).expect("JSON");
    (text, json)
}

async fn create_secret_idps(sb: &RunningSandbox) {
    let oidc = json!({"name": "corp-oidc", "type": "oidc", "oidcData": {
        "clientId": "runai", "clientSecret": OIDC_SECRET, "discoverDocumentUrl": "https://idp.example.com/.well-known/openid-configuration"}});
    let ocp = json!({"name": "corp-ocp", "type": "openshift-v4", "ocpData": {
        "idpBaseUrl": "https://api.ocp.example.com:6443", "clientId": "runai", "clientSecret": OCP_SECRET}});
    for body in [oidc, ocp] {
        assert_eq!(create_idp(sb, body).await.0, StatusCode::CREATED);
    }
}

#[tokio::test]
async fn control_plane_state_masks_client_secrets() {
    let sb = spawn(SandboxConfig::default()).await.expect("spawn");
    create_secret_idps(&sb).await;
    let (text, state) = get_state(&sb).await;
    for secret in [OIDC_SECRET, OCP_SECRET] {
        assert!(!text.contains(secret), "GET /_sandbox/state shows {secret:?}: {text}");
        assert!(!text.contains(&secret[..8]), "a prefix of {secret:?} shows: {text}");
    }
    let idps = &state["runai"]["idps"];
    assert_eq!(idps[0]["alias"], json!("corp-ocp"));
    assert_eq!(idps[0]["ocpData"]["clientSecret"], json!("********"));
    assert_eq!(idps[1]["oidcData"]["clientSecret"], json!("********"));
    // Everything else is shown as stored.
    assert_eq!(idps[1]["oidcData"]["clientId"], json!("runai"));
    assert_eq!(idps[0]["ocpData"]["idpBaseUrl"], json!("https://api.ocp.example.com:6443"));
    assert_eq!(state["fudo"], serde_json::to_value(super::fudo::FudoData::seeded()).expect("seeds"));
    // The server itself still holds the secrets (in-process view).
    assert_eq!(sb.state.snapshot().await["runai"]["idps"][1]["oidcData"]["clientSecret"], json!(OIDC_SECRET));
}

#[tokio::test]
async fn unmask_state_shows_client_secrets() {
    let sb = spawn(SandboxConfig { unmask_state: true, ..SandboxConfig::default() }).await.expect("spawn");
    create_secret_idps(&sb).await;
    let (_, state) = get_state(&sb).await;
    assert_eq!(state["runai"]["idps"][0]["ocpData"]["clientSecret"], json!(OCP_SECRET));
    assert_eq!(state["runai"]["idps"][1]["oidcData"]["clientSecret"], json!(OIDC_SECRET));
}

// ---------------------------------------------------------------------------------------
// --data FILE is 0600
// ---------------------------------------------------------------------------------------

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn data_file_is_written_0600_and_never_loosened() {
    use std::os::unix::fs::PermissionsExt as _;

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state.json");
    let tmp = dir.path().join("state.json.tmp");
    let write_once = |data: std::path::PathBuf| async move {
        let state = AppState::new(SandboxConfig { data: Some(data), ..SandboxConfig::default() }).expect("state");
        state.write(|_| Ok::<(), ()>(())).await.expect("write");
    };

    // A new file.
    write_once(file.clone()).await;
    assert_eq!(mode(&file), 0o600);
    assert!(!tmp.exists());

    // An existing 0644 file (an older sandbox wrote it) is narrowed; a leftover temporary
    // file of an interrupted write does not lend its mode.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::write(&tmp, "leftover").expect("write tmp");
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    write_once(file.clone()).await;
    assert_eq!(mode(&file), 0o600);
    assert!(!tmp.exists());

    // An owner-read-only file stays so.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).expect("chmod");
    write_once(file.clone()).await;
    assert_eq!(mode(&file), 0o400);
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    assert!(on_disk.get("runai").is_some(), "{on_disk}");
}

#[cfg(unix)]
#[tokio::test]
async fn the_temporary_file_has_its_mode_before_any_content_and_replaces_a_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmp = dir.path().join("state.json.tmp");
    let file = create_private(&tmp, 0o600).await.expect("create");
    assert_eq!(mode(&tmp), 0o600);
    assert_eq!(std::fs::metadata(&tmp).expect("meta").len(), 0, "created empty");
    drop(file);

    // A symbolic link planted at the temporary path is removed, never written through.
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "untouched").expect("write");
    std::fs::remove_file(&tmp).expect("rm");
    std::os::unix::fs::symlink(&victim, &tmp).expect("symlink");
    drop(create_private(&tmp, 0o600).await.expect("create"));
    assert!(!std::fs::symlink_metadata(&tmp).expect("meta").file_type().is_symlink());
    assert_eq!(mode(&tmp), 0o600);
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "untouched");
}

// ---------------------------------------------------------------------------------------
// SAML metadataXmlUrl: targets
// ---------------------------------------------------------------------------------------

fn url(s: &str) -> reqwest::Url {
    reqwest::Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn allow(entries: &[&str]) -> Vec<AllowedHost> {
    entries.iter().map(|e| e.parse().unwrap_or_else(|why| panic!("{e}: {why}"))).collect()
}

#[test]
fn allow_entries_parse_host_and_optional_port() {
    let parse = |s: &str| s.parse::<AllowedHost>();
    assert_eq!(parse("IdP.Example.com."), Ok(AllowedHost { host: Host::Name("idp.example.com".into()), port: None }));
    assert_eq!(parse("idp.example.com:8443"), Ok(AllowedHost { host: Host::Name("idp.example.com".into()), port: Some(8443) }));
    assert_eq!(parse("127.0.0.1:9000"), Ok(AllowedHost { host: Host::Ip(addr("127.0.0.1:0").ip()), port: Some(9000) }));
    assert_eq!(parse("[::1]:8443"), Ok(AllowedHost { host: Host::Ip(addr("[::1]:0").ip()), port: Some(8443) }));
    for v6 in ["::1", "[::1]"] {
        assert_eq!(parse(v6), Ok(AllowedHost { host: Host::Ip(addr("[::1]:0").ip()), port: None }), "{v6}");
    }
    for bad in
        ["", "*", "host:0", "host:99999", "host:", "https://idp.example.com", "idp.example.com/m", "a..b", "user@host", "[::1]80", "[::1"]
    {
        assert!(parse(bad).is_err(), "{bad:?} must be refused");
    }
    assert_eq!(allow(&["[::1]:8443", "localhost"]).iter().map(ToString::to_string).collect::<Vec<_>>(), ["[::1]:8443", "localhost"]);
}

#[test]
fn only_the_sandbox_itself_is_a_target_by_default() {
    let own = Some(addr("127.0.0.1:8080"));
    let itself = Ok(Route::Itself(addr("127.0.0.1:8080")));
    assert_eq!(route(&url("http://127.0.0.1:8080/_sandbox/samples/saml-metadata.xml"), own, &[]), itself);
    assert_eq!(route(&url("https://LOCALHOST:8080/m"), own, &[]), itself, "localhost is pinned to the bound address");
    assert_eq!(route(&url("http://sandbox.localhost:8080/m"), own, &[]), itself, "so are names under .localhost");
    for other in [
        "http://127.0.0.1:8081/m",
        "http://127.0.0.2:8080/m",
        "http://localhost:22/",
        "http://[::1]:8080/m",
        "https://idp.example.com/metadata",
        "http://192.168.1.10:8080/m",
    ] {
        let refused = route(&url(other), own, &[]).expect_err(other);
        assert!(refused.contains("not allowed") && refused.contains("--saml-metadata-allow"), "{refused}");
    }
    assert!(route(&url("ftp://127.0.0.1:8080/m"), own, &[]).is_err());
    // Not bound (an in-process router): nothing.
    assert!(route(&url("http://127.0.0.1:8080/m"), None, &[]).is_err());

    // A wildcard socket answers on loopback; a specific LAN socket only on its address.
    let any4 = Some(addr("0.0.0.0:8080"));
    assert_eq!(route(&url("http://127.0.0.5:8080/m"), any4, &[]), Ok(Route::Itself(addr("127.0.0.5:8080"))));
    assert_eq!(route(&url("http://localhost:8080/m"), any4, &[]), itself);
    assert!(route(&url("http://10.0.0.7:8080/m"), any4, &[]).is_err());
    let any6 = Some(addr("[::]:8080"));
    assert_eq!(route(&url("http://localhost:8080/m"), any6, &[]), Ok(Route::Itself(addr("[::1]:8080"))));
    let lan = Some(addr("10.0.0.7:8080"));
    assert_eq!(route(&url("http://10.0.0.7:8080/m"), lan, &[]), Ok(Route::Itself(addr("10.0.0.7:8080"))));
    assert!(route(&url("http://localhost:8080/m"), lan, &[]).is_err(), "loopback is not this socket");
}

#[test]
fn allowed_hosts_are_reachable_with_their_ports() {
    let own = Some(addr("127.0.0.1:8080"));
    let entries = allow(&["idp.example.com", "127.0.0.1:9000", "sso.example.org:8443"]);
    let proxied = Ok(Route::Allowed { direct: false });
    assert_eq!(route(&url("https://idp.example.com/m"), own, &entries), proxied);
    assert_eq!(route(&url("http://IDP.example.com:8081/m"), own, &entries), proxied, "a host without a port allows every port");
    assert_eq!(route(&url("http://127.0.0.1:9000/m"), own, &entries), Ok(Route::Allowed { direct: true }));
    assert_eq!(route(&url("https://sso.example.org:8443/m"), own, &entries), proxied);
    for refused in
        ["http://127.0.0.1:9001/m", "https://sso.example.org/m", "https://evil.example.com/m", "https://idp.example.com.evil.io/m"]
    {
        assert!(route(&url(refused), own, &entries).is_err(), "{refused}");
    }
}

// ---------------------------------------------------------------------------------------
// SAML metadataXmlUrl: over TCP
// ---------------------------------------------------------------------------------------

/// A small HTTP server on a free loopback port, standing for an IdP: `/metadata` (a valid
/// document), `/redirect?to=URL` (302 to URL), `/huge` (announces 10 GiB, then stalls),
/// `/stream` (2 MiB without a length), `/hang` (never answers). Counts the requests.
struct Idp {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Idp {
    async fn start() -> Idp {
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let app = axum::Router::new()
            .route("/metadata", get(|| async { sample_metadata_xml("urn:other:idp", "https://sso.other.example.com/saml") }))
            .route(
                "/redirect",
                get(|Query(q): Query<HashMap<String, String>>| async move {
                    (StatusCode::FOUND, [(header::LOCATION, q.get("to").cloned().unwrap_or_default())]).into_response()
                }),
            )
            .route(
                "/huge",
                get(|| async {
                    let stalled = tokio_stream::pending::<Result<Vec<u8>, std::io::Error>>();
                    Response::builder()
                        .header(header::CONTENT_LENGTH, (10u64 << 30).to_string())
                        .body(Body::from_stream(stalled))
                        .expect("response")
                }),
            )
            .route(
                "/stream",
                get(|| async { Body::from_stream(tokio_stream::iter((0..32).map(|_| Ok::<_, std::io::Error>(vec![b'<'; 64 * 1024])))) }),
            )
            .route(
                "/hang",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "late"
                }),
            )
            .layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
                counted.fetch_add(1, Ordering::SeqCst);
                next.run(req)
            }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Idp { addr, hits, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn allowing(idp: &Idp) -> SandboxConfig {
    SandboxConfig { saml_metadata_allow: allow(&[&idp.addr.to_string()]), ..SandboxConfig::default() }
}

#[tokio::test]
async fn another_loopback_port_is_refused_without_a_connection() {
    let sb = spawn(SandboxConfig::default()).await.expect("spawn");
    let idp = Idp::start().await;
    let refused = create_saml(&sb, "other-port", &idp.url("/metadata")).await;
    assert_url_refused(&refused, "is not allowed");
    assert_url_refused(&refused, "--saml-metadata-allow");
    assert_eq!(idp.hits(), 0, "the refused host was contacted");

    // The sandbox's own sample, by 127.0.0.1 and by localhost.
    let own = format!("{}{SAMPLE_METADATA_PATH}?entity_id=urn%3Aown", sb.url);
    assert_eq!(create_saml(&sb, "own", &own).await.0, StatusCode::CREATED);
    let by_name = format!("http://localhost:{}{SAMPLE_METADATA_PATH}", sb.addr.port());
    assert_eq!(create_saml(&sb, "own-by-name", &by_name).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn saml_metadata_allow_opens_one_host_and_port() {
    let idp = Idp::start().await;
    let sb = spawn(allowing(&idp)).await.expect("spawn");
    let (status, body) = create_saml(&sb, "allowed", &idp.url("/metadata")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(idp.hits(), 1);
    let stored = sb.state.snapshot().await["runai"]["idps"][0]["samlData"].clone();
    assert_eq!(stored["entityId"], json!("urn:other:idp"));

    // A closed port of the same host is not covered by HOST:PORT.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    assert_url_refused(&create_saml(&sb, "closed", &format!("http://127.0.0.1:{closed}/m")).await, "is not allowed");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    // The redirect points at the sandbox's own sample, which is allowed: only following
    // it could succeed.
    let idp = Idp::start().await;
    let sb = spawn(allowing(&idp)).await.expect("spawn");
    let before = sb.state.stats().total;
    let to = format!("{}{SAMPLE_METADATA_PATH}", sb.url);
    let refused = create_saml(&sb, "redirected", &idp.url(&format!("/redirect?to={to}"))).await;
    assert_url_refused(&refused, "302 Found: redirects are not followed");
    assert_eq!(idp.hits(), 1);
    assert_eq!(sb.state.stats().total, before + 1, "only the POST");
}

#[tokio::test]
async fn oversized_answers_are_refused_early() {
    let idp = Idp::start().await;
    let sb = spawn(allowing(&idp)).await.expect("spawn");
    let started = Instant::now();
    let refused = create_saml(&sb, "huge", &idp.url("/huge")).await;
    assert_url_refused(&refused, &format!("larger than {MAX_METADATA_BYTES} bytes"));
    assert!(started.elapsed() < METADATA_FETCH_TIMEOUT, "refused on its Content-Length, not after the timeout");
    assert_url_refused(&create_saml(&sb, "stream", &idp.url("/stream")).await, &format!("larger than {MAX_METADATA_BYTES} bytes"));
}

#[tokio::test]
async fn a_silent_host_times_out() {
    let idp = Idp::start().await;
    let sb = spawn(allowing(&idp)).await.expect("spawn");
    let started = Instant::now();
    assert_url_refused(&create_saml(&sb, "silent", &idp.url("/hang")).await, "could not be fetched");
    let took = started.elapsed();
    assert!(
        took >= METADATA_FETCH_TIMEOUT - Duration::from_millis(200) && took < METADATA_FETCH_TIMEOUT + Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn certificates_are_checked_on_loopback_too() {
    // Another TLS sandbox: its CA is not the fetching sandbox's, so its certificate is
    // untrusted even though the host is loopback and allowed.
    let (other, _other_ca) = tls::spawn_tls(SandboxConfig::default()).await.expect("spawn_tls");
    let entries = allow(&[&other.addr.to_string()]);
    let (sb, ca_pem) = tls::spawn_tls(SandboxConfig { saml_metadata_allow: entries, ..SandboxConfig::default() }).await.expect("spawn_tls");
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("ca");
    let http = reqwest::Client::builder().tls_certs_merge([ca]).build().expect("client");
    let post = |name: &str, url: String| {
        http.post(format!("{}/api/v1/idps", sb.runai_url()))
            .bearer_auth(DEFAULT_RUNAI_TOKEN)
            .json(&json!({"name": name, "type": "saml", "samlData": {"metadataXmlType": "url", "metadataXmlUrl": url}}))
            .send()
    };
    let resp = post("untrusted", format!("{}{SAMPLE_METADATA_PATH}", other.url)).await.expect("send");
    let answer = (StatusCode::from_u16(resp.status().as_u16()).expect("status"), resp.json::<Value>().await.expect("json"));
    assert_url_refused(&answer, "could not be fetched");
    let message = answer.1["message"].as_str().unwrap_or("").to_ascii_lowercase();
    assert!(message.contains("certificate"), "{message}");

    // Itself, over TLS: verified against its own CA.
    let resp = post("itself", format!("{}{SAMPLE_METADATA_PATH}", sb.url)).await.expect("send");
    assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
}
