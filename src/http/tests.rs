//! Tests of the shared HTTP layer: Retry-After and backoff, retries and their limits,
//! secret scrubbing of vendor errors, and creates that survive lost answers (against the
//! in-process sandbox and its fault injection, or a tiny axum server).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::http::{HeaderValue, StatusCode as AxStatus};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::*;
use crate::sandbox::faults::FaultSettings;
use crate::sandbox::{self, RunningSandbox, SandboxConfig};
use crate::vendors::fudo::client::{FudoClient, NewUserOidc};
use crate::vendors::landscape::client::LandscapeClient;
use crate::vendors::runai::client::{IdpRequest, OidcData, RunaiClient};
use crate::vendors::scim::client::{BulkOperation, ScimAuth, ScimClient};
use crate::vendors::scim::model::{Group, Name, User};

// ----- Retry-After and backoff -----

#[test]
fn retry_after_in_seconds_fractions_and_http_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
    assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("0.25", now), Some(Duration::from_millis(250)));
    assert_eq!(parse_retry_after("86400", now), Some(MAX_RETRY_AFTER), "capped");
    // The three HTTP date formats of RFC 9110, 30 seconds after `now`.
    for date in ["Sun, 06 Nov 1994 08:50:07 GMT", "Sunday, 06-Nov-94 08:50:07 GMT", "Sun Nov  6 08:50:07 1994"] {
        assert_eq!(parse_retry_after(date, now), Some(Duration::from_secs(30)), "{date}");
    }
    assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO), "a date in the past: now");
    for bad in ["", "soon", "-1", "NaN", "inf", "1e999"] {
        assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
    }
}

#[test]
fn backoff_grows_exponentially_with_jitter_and_a_cap() {
    for attempt in 0..20 {
        let cap = BASE_BACKOFF.saturating_mul(1 << attempt.min(16)).min(MAX_BACKOFF);
        for _ in 0..20 {
            let d = backoff(attempt);
            assert!(d >= cap / 2 && d <= cap, "attempt {attempt}: {d:?} not in [{:?}, {cap:?}]", cap / 2);
        }
    }
    assert!(backoff(30) <= MAX_BACKOFF);
    // Jitter: not every wait is the same.
    let waits: std::collections::BTreeSet<Duration> = (0..50).map(|_| backoff(3)).collect();
    assert!(waits.len() > 1);
    // A server-given wait gets at most a tenth more, capped at 250 ms.
    for _ in 0..20 {
        let d = with_jitter(Duration::from_secs(1));
        assert!(d >= Duration::from_secs(1) && d <= Duration::from_millis(1100), "{d:?}");
        assert_eq!(with_jitter(Duration::ZERO), Duration::ZERO);
    }
}

// ----- a tiny server -----

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn settings(max_retries: u32) -> HttpSettings {
    HttpSettings { max_retries, request_timeout: Duration::from_secs(10), ..HttpSettings::default() }
}

fn plain_dialect() -> Dialect {
    fn text(body: &[u8]) -> Option<(String, Option<String>)> {
        let v: Value = serde_json::from_slice(body).ok()?;
        Some((v.get("message")?.as_str()?.to_string(), v.get("details").and_then(Value::as_str).map(str::to_string)))
    }
    Dialect { vendor: "Test", error_text: text, check_success: None }
}

#[tokio::test]
async fn idempotent_requests_retry_up_to_max_retries_and_post_does_not() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/x",
        get(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                (AxStatus::SERVICE_UNAVAILABLE, [("retry-after", "0")], axum::Json(json!({"message": "busy"})))
            }
        })
        .post({
            let h = hits.clone();
            move || async move {
                h.fetch_add(1, Ordering::SeqCst);
                (AxStatus::SERVICE_UNAVAILABLE, axum::Json(json!({"message": "busy"})))
            }
        }),
    );
    let base = serve(app).await;
    let http = Http::new(plain_dialect(), settings(3), None, false).expect("http");
    let url = format!("{base}/x");
    let err = http.send(&Request::new(Method::GET, &url)).await.expect_err("503");
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.to_string(), "Test answered 503: busy");
    assert_eq!(hits.swap(0, Ordering::SeqCst), 4, "one attempt and three retries");
    // A plain POST that reached the server is not sent again.
    let err = http.send(&Request::new(Method::POST, &url)).await.expect_err("503");
    assert_eq!(err.status(), Some(503));
    assert_eq!(hits.swap(0, Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_429_pauses_the_whole_vendor_for_its_retry_after() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/x",
        get(move || {
            let h = h.clone();
            async move {
                if h.fetch_add(1, Ordering::SeqCst) == 0 {
                    // Fractional seconds: not standard HTTP, but taken (and keeps this test quick).
                    (AxStatus::TOO_MANY_REQUESTS, [("retry-after", HeaderValue::from_static("0.3"))], "slow down").into_response()
                } else {
                    (AxStatus::OK, axum::Json(json!({"ok": true}))).into_response()
                }
            }
        }),
    );
    let base = serve(app).await;
    let http = Http::new(plain_dialect(), settings(3), None, false).expect("http");
    let url = format!("{base}/x");
    let t0 = Instant::now();
    let reply = http.send(&Request::new(Method::GET, &url)).await.expect("retried");
    assert_eq!(reply.status, StatusCode::OK);
    assert!(t0.elapsed() >= Duration::from_millis(300), "waited for Retry-After: {:?}", t0.elapsed());
    let snap = http.governor().snapshot();
    assert_eq!(snap.throttled, 1);
    assert!(snap.rate.is_some(), "the vendor's rate was lowered: {snap:?}");
    // A second client of the same vendor (a clone) shares the governor.
    assert_eq!(http.clone().governor().snapshot().throttled, 1);
}

#[tokio::test]
async fn vendor_errors_are_scrubbed_of_secrets() {
    // A server that echoes the request body and headers in its error message.
    let app = Router::new().route(
        "/api/v1/idps",
        post(|headers: axum::http::HeaderMap, body: String| async move {
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            (
                AxStatus::BAD_REQUEST,
                axum::Json(json!({"code": 400, "message": format!("invalid request {body}"), "details": format!("sent with {auth}")})),
            )
        }),
    );
    let base = serve(app).await;
    let c = RunaiClient::new(&base, "the-runai-token", settings(0)).expect("client");
    let req = IdpRequest {
        name: Some("corp".into()),
        kind: "oidc".into(),
        oidc_data: Some(OidcData { client_id: "runai".into(), client_secret: Some("s3cr3t-Value".into()), ..Default::default() }),
        ..Default::default()
    };
    let err = c.create_idp(&req).await.expect_err("400");
    let text = format!("{} {:?}", err.detail(), err);
    assert!(!text.contains("s3cr3t-Value") && !text.contains("the-runai-token"), "{text}");
    assert!(text.contains("clientId") && text.contains("[redacted]"), "the rest of the message stays: {text}");
}

#[tokio::test]
async fn transport_errors_are_scrubbed_too() {
    let http = Http::new(plain_dialect(), settings(0), None, false).expect("http").with_secrets(&["hunter2-pass"]);
    let url = "http://admin:hunter2-pass@127.0.0.1:9/x?token=abcdef123";
    let err = http.send(&Request::new(Method::GET, url)).await.expect_err("nothing listens on port 9");
    let text = format!("{} {:?}", err.detail(), err);
    assert!(!text.contains("hunter2-pass") && !text.contains("abcdef123"), "{text}");
}

#[tokio::test]
async fn a_post_that_never_connected_is_sent_again() {
    // Reserve a port, leave it closed for a while (connections are refused: the request
    // provably never reached a server), then serve on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let app = Router::new().route(
            "/x",
            post(move || {
                let h = h.clone();
                async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    (AxStatus::CREATED, axum::Json(json!({"id": "1"})))
                }
            }),
        );
        if let Ok(l) = tokio::net::TcpListener::bind(addr).await {
            let _ = axum::serve(l, app).await;
        }
    });
    let http = Http::new(plain_dialect(), settings(8), None, false).expect("http");
    let url = format!("http://{addr}/x");
    let lookups = AtomicUsize::new(0);
    let created = http
        .create(&Request::new(Method::POST, &url), "thing", || async {
            lookups.fetch_add(1, Ordering::SeqCst);
            Ok::<Option<()>, ApiError>(None)
        })
        .await
        .expect("created once the server is up");
    assert!(matches!(created, Created::New(ref r) if r.status == StatusCode::CREATED));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(lookups.load(Ordering::SeqCst), 0, "nothing to look up after a refused connection");
}

// ----- creates against the sandbox's fault injection -----

async fn sandbox() -> RunningSandbox {
    sandbox::spawn(SandboxConfig { mapper_delay_ms: 0, landscape_import_ms: 0, ..SandboxConfig::default() }).await.expect("sandbox")
}

/// The next `count` vendor requests fail as `f` says.
fn fail_next(s: &RunningSandbox, count: u64, f: FaultSettings) {
    s.state.faults().set(FaultSettings { rate: 1.0, count: Some(count), ..f });
}

fn posts(s: &RunningSandbox, path: &str) -> usize {
    s.state.requests().iter().filter(|r| r.method == "POST" && r.path == path).count()
}

fn scim(s: &RunningSandbox) -> ScimClient {
    ScimClient::new(&s.scim_url(), ScimAuth::Static(sandbox::DEFAULT_SCIM_STATIC_TOKEN.into()), None, settings(5)).expect("client")
}

async fn users_named(s: &RunningSandbox, name: &str) -> usize {
    let name = name.to_string();
    s.state.read(move |d| d.oci.users.iter().filter(|u| u.user_name.eq_ignore_ascii_case(&name)).count()).await
}

#[tokio::test]
async fn scim_create_adopts_the_user_an_answer_was_lost_for() {
    let s = sandbox().await;
    let c = scim(&s);
    // The handler runs (the user is created), then the connection is dropped.
    fail_next(&s, 1, FaultSettings { drop_after_handler: true, ..Default::default() });
    let name = Name { given_name: Some("Ada".into()), family_name: None };
    let u = c.create(&User { user_name: Some("ada".into()), name: Some(name), ..User::default() }).await.expect("adopted");
    assert_eq!(u.user_name.as_deref(), Some("ada"));
    assert!(u.id.as_deref().is_some_and(|i| !i.is_empty()));
    assert_eq!(users_named(&s, "ada").await, 1, "no duplicate");
    assert_eq!(posts(&s, "/oci/admin/v1/Users"), 1, "the POST was not sent again");

    // A 503 before the handler ran: the lookup finds nothing, the POST goes again.
    fail_next(&s, 1, FaultSettings { statuses: vec![503], ..Default::default() });
    let g = c.create(&Group { display_name: Some("Eng".into()), ..Group::default() }).await.expect("created");
    assert_eq!(g.display_name.as_deref(), Some("Eng"));
    assert_eq!(posts(&s, "/oci/admin/v1/Groups"), 2);
    let groups = s.state.read(|d| d.oci.groups.len()).await;
    assert_eq!(groups, 1);
}

#[tokio::test]
async fn scim_create_never_adopts_an_unrelated_object_of_the_same_name() {
    let s = sandbox().await;
    let c = scim(&s);
    let bob = |hr: &str| User { user_name: Some("bob".into()), external_id: Some(hr.into()), ..User::default() };
    c.create(&bob("hr-1")).await.expect("created");
    // An ambiguous failure, then a lookup that finds a "bob" that is not what was asked for.
    fail_next(&s, 1, FaultSettings { statuses: vec![502], ..Default::default() });
    let err = c.create(&bob("hr-2")).await.expect_err("conflict");
    assert!(err.is_conflict(), "{err}");
    assert_eq!(users_named(&s, "bob").await, 1);
}

#[tokio::test]
async fn scim_create_survives_a_lost_answer_after_the_retries_run_out() {
    let s = sandbox().await;
    let c = ScimClient::new(&s.scim_url(), ScimAuth::Static(sandbox::DEFAULT_SCIM_STATIC_TOKEN.into()), None, settings(0)).expect("client");
    fail_next(&s, 1, FaultSettings { drop_after_handler: true, ..Default::default() });
    let u = c.create(&User { user_name: Some("cy".into()), ..User::default() }).await.expect("adopted");
    assert_eq!(u.user_name.as_deref(), Some("cy"));
    assert_eq!(users_named(&s, "cy").await, 1);
}

#[tokio::test]
async fn runai_create_adopts_the_idp_an_answer_was_lost_for() {
    let s = sandbox().await;
    let c = RunaiClient::new(&s.runai_url(), sandbox::DEFAULT_RUNAI_TOKEN, settings(5)).expect("client");
    let req = IdpRequest {
        name: Some("corp-oidc".into()),
        kind: "oidc".into(),
        oidc_data: Some(OidcData {
            client_id: "runai".into(),
            client_secret: Some("oidc-secret".into()),
            discover_document_url: Some("https://login.example.com/.well-known/openid-configuration".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    fail_next(&s, 1, FaultSettings { drop_after_handler: true, ..Default::default() });
    assert_eq!(c.create_idp(&req).await.expect("adopted"), "corp-oidc");
    assert_eq!(posts(&s, "/runai/api/v1/idps"), 1);
    let n = s.state.read(|d| d.runai.idps.iter().filter(|i| i.alias == "corp-oidc").count()).await;
    assert_eq!(n, 1);
    // Created for real afterwards: a second create is a plain 409.
    let err = c.create_idp(&req).await.expect_err("exists");
    assert!(err.is_conflict(), "{err}");
}

#[tokio::test]
async fn fudo_create_adopts_the_assignment_an_answer_was_lost_for() {
    let s = sandbox().await;
    let c = FudoClient::new(&s.fudo_url(), sandbox::DEFAULT_FUDO_API_KEY, None, false, settings(5)).expect("client");
    let req = NewUserOidc {
        user_id: sandbox::fudo::USER_1.into(),
        oidc_id: sandbox::fudo::OIDC_OKTA2.into(),
        oidc_sub: "ada@example.com".into(),
    };
    assert!(c.get(&req.user_id, &req.oidc_id).await.expect("get").is_none());
    fail_next(&s, 1, FaultSettings { drop_after_handler: true, ..Default::default() });
    c.create(&req).await.expect("adopted");
    assert_eq!(posts(&s, "/fudo/api/v2/user/oidc"), 1);
    let a = c.get(&req.user_id, &req.oidc_id).await.expect("get").expect("exists");
    assert_eq!(a.oidc_sub.as_deref(), Some("ada@example.com"));
}

#[tokio::test]
async fn landscape_sessions_have_no_natural_key_so_only_refusals_are_retried() {
    let s = sandbox().await;
    let c = LandscapeClient::new(&s.landscape_url(), sandbox::DEFAULT_LANDSCAPE_TOKEN, settings(5)).expect("client");
    let path = "/landscape/api/v2/oidc/groups/import_session";
    // A 429 (Retry-After 0) is a refusal: sent again.
    fail_next(&s, 1, FaultSettings { statuses: vec![429], retry_after: Some(0), ..Default::default() });
    c.create_import_session(sandbox::landscape::ISSUER_OK).await.expect("created after the 429");
    assert_eq!(posts(&s, path), 2);
    // A dropped connection may have started a session: reported, not repeated.
    fail_next(&s, 1, FaultSettings { drop: true, ..Default::default() });
    let err = c.create_import_session(sandbox::landscape::ISSUER_OK).await.expect_err("not repeated");
    assert!(matches!(err, ApiError::Transport { .. }), "{err:?}");
    assert_eq!(posts(&s, path), 3);
}

// ----- redirects are never followed -----

/// A server that counts every request it gets (where a redirect points).
async fn counting_server() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = Router::new().fallback(move || {
        let h = h.clone();
        async move {
            h.fetch_add(1, Ordering::SeqCst);
            (AxStatus::OK, axum::Json(json!({"alias": "stolen", "access_token": "x", "expires_in": 3600})))
        }
    });
    (serve(app).await, hits)
}

/// A server that answers everything with `status` and `Location: to`.
async fn redirecting_server(status: AxStatus, to: String) -> String {
    let app = Router::new().fallback(move || {
        let to = to.clone();
        async move { (status, [(axum::http::header::LOCATION, to)]).into_response() }
    });
    serve(app).await
}

#[tokio::test]
async fn redirects_with_secret_bodies_are_refused_and_deliver_nothing() {
    let (elsewhere, hits) = counting_server().await;
    for status in [AxStatus::TEMPORARY_REDIRECT, AxStatus::PERMANENT_REDIRECT, AxStatus::FOUND] {
        let target = format!("{elsewhere}/steal?who=me");
        let base = redirecting_server(status, target).await;

        // Run:ai: the idp create body carries the OIDC client secret.
        let c = RunaiClient::new(&base, "the-runai-token", settings(2)).expect("client");
        let req = IdpRequest {
            name: Some("corp".into()),
            kind: "oidc".into(),
            oidc_data: Some(OidcData { client_id: "runai".into(), client_secret: Some("s3cr3t-Value".into()), ..Default::default() }),
            ..Default::default()
        };
        let err = c.create_idp(&req).await.expect_err("a redirect is an error");
        let text = err.to_string();
        assert!(text.contains(&format!("{base}/api/v1/idps")) && text.contains(&format!("{elsewhere}/steal")), "{text}");
        assert!(!text.contains("who=me") && !text.contains("s3cr3t-Value"), "no query, no secret: {text}");

        // SCIM: the password grant's token request carries the admin's password.
        let auth = ScimAuth::OAuth2 {
            token_url: format!("{base}/oauth2/v1/token"),
            client_id: "client".into(),
            client_secret: "client-s3cret".into(),
            grant: crate::vendors::scim::client::Grant::Password { username: "admin".into(), password: "admin-Passw0rd".into() },
            scope: "urn:opc:idm:__myscopes__".into(),
        };
        let c = ScimClient::new(&format!("{base}/admin/v1"), auth, None, settings(2)).expect("client");
        let err = c.get::<User>("u1", &[]).await.expect_err("the token request was redirected");
        let text = err.to_string();
        assert!(text.contains("/oauth2/v1/token") && text.contains("/steal"), "{text}");
        assert!(!text.contains("admin-Passw0rd") && !text.contains("client-s3cret"), "{text}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the server the redirects pointed at");
}

// ----- answers are read within a size limit -----

#[tokio::test]
async fn huge_answers_are_cut_off_at_the_limit() {
    // Endless, without Content-Length: 64 KiB chunks forever.
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let endless = Router::new().fallback(move || async move {
        counter.fetch_add(1, Ordering::SeqCst);
        let chunk = bytes_of(64 << 10);
        let stream = futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
        axum::body::Body::from_stream(stream).into_response()
    });
    // Announced: a Content-Length of 2 GiB (nothing is read at all); a raw server, since
    // hyper refuses to send a body shorter than its Content-Length.
    let raw = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let announced = format!("http://{}", raw.local_addr().expect("addr"));
    let connected = Arc::new(AtomicUsize::new(0));
    let counter = connected.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut sock, _)) = raw.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2147483648\r\n\r\nxxxx").await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    for (base, count) in [(serve(endless).await, asked), (announced, connected)] {
        let s = HttpSettings { max_response_bytes: 1 << 20, ..settings(3) };
        let http = Http::new(plain_dialect(), s, None, false).expect("http");
        // A hang guard only: an answer read to its end would never finish.
        let url = format!("{base}/Users?filter=secret");
        let request = Request::new(Method::GET, &url);
        let err = tokio::time::timeout(Duration::from_secs(120), http.send(&request))
            .await
            .expect("cut off, not read to the end")
            .expect_err("too large");
        let text = err.to_string();
        assert!(
            text.contains("larger than 1 MiB") && text.contains("max_response_mb") && text.contains(&format!("{base}/Users")),
            "{text}"
        );
        assert!(!text.contains("filter=secret"), "no query in the message: {text}");
        assert_eq!(count.load(Ordering::SeqCst), 1, "{base}: a too-large answer is not retried");
    }
}

fn bytes_of(n: usize) -> axum::body::Bytes {
    axum::body::Bytes::from(vec![b'a'; n])
}

// ----- `.` and `..` never reach a URL path -----

#[test]
fn dot_segments_are_recognised_in_every_spelling() {
    for url in [
        "https://h/admin/v1/Users/..",
        "https://h/admin/v1/Users/.",
        "https://h/admin/v1/Users/%2e%2E",
        "https://h/admin/v1/Users/%2E/x",
        "https://h/runai/api/v1/idps/../mappers?x=1",
        "/Groups/..",
    ] {
        assert!(has_dot_segment(url), "{url}");
    }
    for url in
        ["https://h/admin/v1/Users/a.b", "https://h/admin/v1/Users/...", "https://h/x?path=/../", "https://h.example.com/x", "/Groups/.x"]
    {
        assert!(!has_dot_segment(url), "{url}");
    }
    assert_eq!(path_segment("a b/c?d"), "a%20b%2Fc%3Fd");
}

#[tokio::test]
async fn requests_with_dot_ids_are_not_sent() {
    let (base, hits) = counting_server().await;
    let c = ScimClient::new(&base, ScimAuth::Static("t".into()), None, settings(0)).expect("client");
    for id in [".", ".."] {
        let e = c.delete::<User>(id).await.expect_err("refused");
        assert!(matches!(e, ApiError::NotSent { .. }) && e.to_string().contains("\"..\""), "{e}");
        assert!(c.get::<Group>(id, &[]).await.is_err());
    }
    let op = BulkOperation { method: "PATCH".into(), path: "/Groups/..".into(), bulk_id: None, data: Some(json!({})) };
    assert!(matches!(c.bulk(vec![op]).await, Err(ApiError::NotSent { .. })));
    let r = RunaiClient::new(&base, "t", settings(0)).expect("client");
    assert!(matches!(r.delete_idp("..").await, Err(ApiError::NotSent { .. })));
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing was sent");
}

// ----- no URL query in any message -----

#[test]
fn url_queries_are_removed_from_error_text() {
    let t = "error sending request for url (https://idcs.example.com/admin/v1/Users?filter=userName%20eq%20%22ceo%40example.com%22&count=1): \
             connection refused; see http://x/y#frag, and https://h/p?q=1";
    let s = strip_url_queries(t);
    assert_eq!(
        s,
        "error sending request for url (https://idcs.example.com/admin/v1/Users): connection refused; see http://x/y, and https://h/p"
    );
}

#[tokio::test]
async fn transport_errors_name_the_url_without_its_query() {
    let http = Http::new(plain_dialect(), settings(0), None, false).expect("http");
    let q = [("filter", "userName eq \"ceo.private@example.com\"".to_string())];
    let err = http.send(&Request::new(Method::GET, "http://127.0.0.1:9/Users").query(&q)).await.expect_err("nothing listens on port 9");
    let text = format!("{} {:?}", err.detail(), err);
    assert!(text.contains("http://127.0.0.1:9/Users"), "{text}");
    assert!(!text.contains("ceo.private") && !text.contains("filter"), "{text}");
}

// ----- TLS failures: classified, never retried -----

#[tokio::test]
async fn untrusted_certificates_are_tls_failures_and_not_retried() {
    let (s, _ca_pem) = crate::sandbox::tls::spawn_tls(SandboxConfig::default()).await.expect("tls sandbox");
    let (front, connections) = counting_proxy(s.addr).await;
    // Without the sandbox's CA: the platform verifier refuses the certificate.
    let http = Http::new(plain_dialect(), settings(5), None, false).expect("http");
    let url = format!("https://{front}/runai/api/v1/idps");
    let err = http.send(&Request::new(Method::GET, &url)).await.expect_err("untrusted");
    let text = err.to_string();
    assert!(text.to_ascii_lowercase().contains("certificate"), "{text}");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "one TLS handshake, not retried: {text}");
    assert_eq!(s.state.requests().len(), 0, "no request was made over the refused connection");
    // Plain http to the TLS port: a protocol mismatch, not retried either.
    let plain = url.replacen("https://", "http://", 1);
    assert!(http.send(&Request::new(Method::GET, &plain)).await.is_err());
    assert_eq!(connections.load(Ordering::SeqCst), 2, "one more connection for the plain-http attempt, not retried");
}

/// A TCP relay in front of `upstream` that counts the connections made to it.
async fn counting_proxy(upstream: std::net::SocketAddr) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (addr, count)
}

// ----- transport causes, the outage memory, the base URL check -----

/// A raw TCP server that counts connections and answers each with `reply` (then closes).
async fn raw_server(reply: &'static [u8]) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(reply).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, count)
}

/// A TLS server (the sandbox's listener) for a certificate made for `names`; returns its
/// address and the CA's PEM.
async fn tls_server(names: &[&str]) -> (std::net::SocketAddr, String) {
    let cert = crate::sandbox::tls::generate(&names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("certificate");
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let listener = crate::sandbox::tls::TlsListener::new(tcp, cert.server_config.clone()).expect("listener");
    tokio::spawn(async move { axum::serve(listener, Router::new().route("/x", get(|| async { "ok" }))).await });
    (addr, cert.ca_pem)
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

async fn cause_of(http: &Http, url: &str) -> Cause {
    match http.send(&Request::new(Method::GET, url)).await {
        Err(e @ ApiError::Transport { .. }) => e.cause().expect("a cause"),
        other => panic!("{url}: expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn transport_causes_are_told_apart_and_the_permanent_ones_are_not_retried() {
    let http = Http::new(plain_dialect(), settings(3), None, false).expect("http");
    assert_eq!(cause_of(&http, "http://no-such-host.invalid/x").await, Cause::NoSuchHost);

    // https:// to a server answering plain HTTP: one connection, no retry.
    let (plain, count) = raw_server(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
    assert_eq!(cause_of(&http, &format!("https://{plain}/x")).await, Cause::NotTls);
    assert_eq!(count.load(Ordering::SeqCst), 1);

    // http:// to a server answering with a TLS alert: one connection, no retry.
    let (tls_like, count) = raw_server(b"\x15\x03\x03\x00\x02\x02\x46").await;
    assert_eq!(cause_of(&http, &format!("http://{tls_like}/x")).await, Cause::NotHttp);
    assert_eq!(count.load(Ordering::SeqCst), 1);

    // A certificate of an unknown CA; with the CA trusted, one made for another name.
    let (tls, ca) = tls_server(&["127.0.0.1"]).await;
    assert_eq!(cause_of(&http, &format!("https://{tls}/x")).await, Cause::UntrustedCertificate);
    let trusting = Http::new(plain_dialect(), settings(3), Some(&ca), false).expect("http");
    assert_eq!(trusting.send(&Request::new(Method::GET, &format!("https://{tls}/x"))).await.expect("trusted").status, StatusCode::OK);
    let (other, ca) = tls_server(&["idp.example.test"]).await;
    let trusting = Http::new(plain_dialect(), settings(3), Some(&ca), false).expect("http");
    assert_eq!(cause_of(&trusting, &format!("https://{other}/x")).await, Cause::BadCertificate);

    for c in [Cause::NoSuchHost, Cause::NotTls, Cause::NotHttp, Cause::UntrustedCertificate, Cause::BadCertificate] {
        assert!(c.is_permanent() && c.is_server_wide(), "{c:?}");
    }
    assert!(!Cause::Refused.is_permanent() && Cause::Refused.is_server_wide());
    assert!(!Cause::Timeout.is_server_wide() && !Cause::Closed.is_server_wide());
}

#[tokio::test]
async fn a_refused_origin_fails_every_later_request_at_once() {
    let http = Http::new(plain_dialect(), settings(2), None, false).expect("http");
    let url = format!("http://127.0.0.1:{}/x", closed_port());
    let first = http.send(&Request::new(Method::GET, &url)).await.expect_err("refused");
    assert_eq!(first.cause(), Some(Cause::Refused));
    assert!(first.to_string().contains(&format!("GET {url}")), "{first}");

    // Every later request to the origin (any path, any method) fails at once, unsent.
    for path in ["/x", "/y"] {
        let other = url.replace("/x", path);
        let e = http.send(&Request::new(Method::POST, &other)).await.expect_err("remembered");
        assert_eq!(e.cause(), Some(Cause::Refused));
        assert!(e.to_string().contains("not sent again") && e.to_string().contains(&format!("POST {other}")), "{e}");
    }
    // A clone shares the memory; another origin does not.
    let e = http.clone().send(&Request::new(Method::GET, &url)).await.expect_err("remembered");
    assert!(e.to_string().contains("not sent again"), "{e}");
    let elsewhere = format!("http://127.0.0.1:{}/x", closed_port());
    let e = http.send(&Request::new(Method::GET, &elsewhere)).await.expect_err("refused");
    assert!(!e.to_string().contains("not sent again"), "{e}");
}

#[tokio::test]
async fn a_404_asks_the_base_probe_once_and_names_a_wrong_base_url() {
    let probes = Arc::new(AtomicUsize::new(0));
    let seen = probes.clone();
    let app = Router::new().route(
        "/api/probe",
        get(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async { (AxStatus::NOT_FOUND, "no such page") }
        }),
    );
    let base = serve(app).await;
    let http = Http::new(plain_dialect(), settings(0), None, false).expect("http").with_base_probe(format!("{base}/api/probe"), "the hint");
    for _ in 0..3 {
        let e = http.send(&Request::new(Method::GET, &format!("{base}/api/users/1"))).await.expect_err("404");
        assert!(matches!(e, ApiError::WrongBase { .. }) && !e.is_not_found(), "{e:?}");
        assert!(e.detail().contains("the hint") && e.detail().contains(&format!("GET {base}/api/users/1")), "{}", e.detail());
    }
    assert_eq!(probes.load(Ordering::SeqCst), 1, "asked once");

    // A probe that answers: a 404 is a missing object.
    let app = Router::new().route("/api/probe", get(|| async { "ok" }));
    let base = serve(app).await;
    let http = Http::new(plain_dialect(), settings(0), None, false).expect("http").with_base_probe(format!("{base}/api/probe"), "the hint");
    let e = http.send(&Request::new(Method::GET, &format!("{base}/api/users/1"))).await.expect_err("404");
    assert!(e.is_not_found(), "{e:?}");
    assert!(e.detail().contains(&format!("Request: GET {base}/api/users/1")), "{}", e.detail());
}
