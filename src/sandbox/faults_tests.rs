//! Tests of `/_sandbox/faults`: in-process (through the shared test client) and over real
//! TCP for dropped connections.

use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::test_client::{Answer, sandbox};
use super::*;

const IDPS: &str = "/runai/api/v1/idps";
const FUDO_OIDC: &str = "/fudo/api/v2/user/oidc";
const SCIM_USERS: &str = "/oci/admin/v1/Users";
const STAGED: &str = "/landscape/api/v2/oidc/groups/staged?import_session_id=1";

fn oidc_idp(name: &str) -> Value {
    json!({
        "name": name,
        "type": "oidc",
        "oidcData": {
            "clientId": "c",
            "clientSecret": "s3cret",
            "discoverDocumentUrl": "https://idp.example.com/.well-known/openid-configuration"
        }
    })
}

fn retry_after(a: &Answer) -> Option<&str> {
    a.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn rate_one_fails_every_vendor_in_its_own_error_shape() {
    let sb = sandbox();
    let a = sb.faults(json!({"rate": 1.0, "statuses": [429, 503], "retry_after": 1, "delay_ms": 0, "drop": false})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["rate"], json!(1.0));
    assert_eq!(a.json["statuses"], json!([429, 503]));

    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..10 {
        // Run:ai {code, message}
        let a = sb.call("GET", IDPS, None).await;
        assert!(matches!(a.status.as_u16(), 429 | 503), "{a:?}");
        seen.insert(a.status.as_u16());
        assert_eq!(a.json["code"], json!(a.status.as_u16()), "{}", a.raw);
        assert!(a.json["message"].is_string());
        assert_eq!(retry_after(&a), Some("1"));

        // Fudo {"result": "error", "message"}
        let a = sb.call("GET", FUDO_OIDC, None).await;
        assert!(matches!(a.status.as_u16(), 429 | 503), "{a:?}");
        seen.insert(a.status.as_u16());
        assert_eq!(a.json["result"], json!("error"), "{}", a.raw);
        assert!(a.json["message"].is_string());
        assert_eq!(retry_after(&a), Some("1"));

        // SCIM error schema, string status, application/scim+json
        let a = sb.call("GET", SCIM_USERS, None).await;
        assert!(matches!(a.status.as_u16(), 429 | 503), "{a:?}");
        assert_eq!(a.json["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]), "{}", a.raw);
        assert_eq!(a.json["status"], json!(a.status.as_u16().to_string()));
        assert!(a.json["detail"].is_string());
        assert_eq!(a.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("application/scim+json"));
        assert_eq!(retry_after(&a), Some("1"));

        // OCI token endpoint: OAuth2 shape
        let a = sb.call("POST", "/oci/oauth2/v1/token", None).await;
        assert!(matches!(a.status.as_u16(), 429 | 503), "{a:?}");
        assert_eq!(a.json["error"], json!("temporarily_unavailable"), "{}", a.raw);
        assert!(a.json["error_description"].is_string());
        assert_eq!(retry_after(&a), Some("1"));

        // Landscape {error, message}
        let a = sb.call("GET", STAGED, None).await;
        assert!(matches!(a.status.as_u16(), 429 | 503), "{a:?}");
        let want = if a.status == StatusCode::TOO_MANY_REQUESTS { "TooManyRequests" } else { "ServiceUnavailable" };
        assert_eq!(a.json["error"], json!(want), "{}", a.raw);
        assert!(a.json["message"].is_string());
        assert_eq!(retry_after(&a), Some("1"));

        // Unmatched vendor paths are vendor requests too.
        let a = sb.call("GET", "/runai/nowhere", None).await;
        assert!(matches!(a.status.as_u16(), 429 | 503), "{a:?}");
    }
    assert_eq!(seen.len(), 2, "both statuses are chosen: {seen:?}");

    // The control plane is never faulted.
    let f = sb.call("GET", "/_sandbox/faults", None).await;
    assert_eq!(f.status, StatusCode::OK);
    assert_eq!(f.json["injected"], json!(60));
    assert_eq!(f.json["dropped"], json!(0));
    assert_eq!(f.json["seen"], json!(60));
    assert_eq!(sb.call("GET", "/_sandbox/stats", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn retry_after_only_on_429_and_503_and_only_when_set() {
    let sb = sandbox();
    sb.faults(json!({"rate": 1, "statuses": [500], "retry_after": 7})).await;
    let a = sb.call("GET", IDPS, None).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(retry_after(&a), None);

    sb.faults(json!({"rate": 1, "statuses": [503]})).await;
    let a = sb.call("GET", IDPS, None).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after(&a), None);

    sb.faults(json!({"rate": 1, "statuses": [429], "retry_after": 0})).await;
    let a = sb.call("GET", IDPS, None).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&a), Some("0"));
}

#[tokio::test]
async fn rate_zero_is_off() {
    let sb = sandbox();
    // Off by default.
    let f = sb.call("GET", "/_sandbox/faults", None).await;
    assert_eq!(
        f.json,
        json!({
            "rate": 0.0, "statuses": [], "retry_after": null, "delay_ms": 0, "drop": false,
            "drop_after_handler": false, "seed": null, "after_n": 0, "count": null,
            "injected": 0, "dropped": 0, "seen": 0, "rate_limited": 0
        })
    );
    sb.faults(json!({"rate": 0, "statuses": [503], "drop": true})).await;
    for _ in 0..50 {
        let a = sb.call("GET", IDPS, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
        assert!(!a.dropped);
    }
    let f = sb.call("GET", "/_sandbox/faults", None).await.json;
    assert_eq!((f["injected"].clone(), f["seen"].clone()), (json!(0), json!(50)));
    assert!(sb.log().await.iter().all(|e| e.get("fault").is_none()));
}

#[tokio::test]
async fn delay_applies_to_every_vendor_request() {
    let sb = sandbox();
    sb.faults(json!({"rate": 0, "delay_ms": 200})).await;
    let t = Instant::now();
    let a = sb.call("GET", IDPS, None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(200), "{:?}", t.elapsed());

    // Failing requests wait too.
    sb.faults(json!({"rate": 1, "statuses": [503], "delay_ms": 150})).await;
    let t = Instant::now();
    let a = sb.call("GET", FUDO_OIDC, None).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(t.elapsed() >= Duration::from_millis(150), "{:?}", t.elapsed());

    // The control plane does not: with the longest delay there is (10 minutes), it still
    // answers within 30 s.
    sb.faults(json!({"rate": 0, "delay_ms": super::faults::MAX_DELAY_MS})).await;
    let stats = tokio::time::timeout(Duration::from_secs(30), sb.call("GET", "/_sandbox/stats", None)).await;
    assert_eq!(stats.expect("the control plane is not delayed").status, StatusCode::OK);
}

#[tokio::test]
async fn faulted_requests_have_no_side_effect_and_are_recorded() {
    let sb = sandbox();
    sb.faults(json!({"rate": 1, "statuses": [503], "retry_after": 2})).await;
    let a = sb.call("POST", IDPS, Some(oidc_idp("corp"))).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    let a = sb.call("POST", FUDO_OIDC, Some(json!({"user_id": fudo::USER_2, "oidc_id": fudo::OIDC_AZUREAD, "oidc_sub": "x"}))).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    let a = sb.call("POST", SCIM_USERS, Some(json!({"schemas": [scim::USER_SCHEMA], "userName": "ann"}))).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    let state = sb.state.snapshot().await;
    assert_eq!(state["runai"]["idps"], json!([]));
    assert_eq!(state["fudo"]["user_oidc"].as_array().map(Vec::len), Some(1), "only the built-in seed: {}", state["fudo"]);
    assert_eq!(state["oci"]["users"], json!([]));

    // Stats count them; the log shows the injected status and `"fault": true`, secrets masked.
    let stats = sb.state.stats();
    assert_eq!(stats.total, 3);
    assert_eq!(stats.by_route.get("POST /runai/api/v1/idps"), Some(&1));
    let log = sb.log().await;
    assert_eq!(log.len(), 3);
    assert_eq!(log[0]["status"], json!(503));
    assert_eq!(log[0]["fault"], json!(true));
    assert_eq!(log[0]["body"]["oidcData"]["clientSecret"], json!("***"));
    assert!(log.iter().all(|e| e["fault"] == json!(true) && e["status"] == json!(503)));

    // Faults off: the same create goes through.
    sb.faults(json!({"rate": 0})).await;
    let a = sb.call("POST", IDPS, Some(oidc_idp("corp"))).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert!(sb.log().await[3].get("fault").is_none());
}

#[tokio::test]
async fn drop_in_process_never_reaches_the_handler() {
    let sb = sandbox();
    sb.faults(json!({"rate": 1, "drop": true})).await;
    let a = sb.call("POST", IDPS, Some(oidc_idp("corp"))).await;
    assert!(a.dropped, "{a:?}");
    assert_eq!(sb.state.snapshot().await["runai"]["idps"], json!([]));
    let log = sb.log().await;
    assert_eq!(log[0]["status"], json!(0));
    assert_eq!(log[0]["fault"], json!(true));
    assert!(log[0].get("handler_status").is_none());
    assert_eq!(sb.state.faults().counters(), (1, 1));

    // HEAD has no body to fail: it gets a status fault (503 when statuses is empty).
    let a = sb.call("HEAD", IDPS, None).await;
    assert!(!a.dropped);
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(sb.log().await[1]["status"], json!(503));
    assert_eq!(sb.state.faults().counters(), (2, 1));
}

#[tokio::test]
async fn reset_turns_faults_off_and_zeroes_the_counters() {
    let sb = sandbox();
    sb.faults(json!({"rate": 1, "statuses": [502], "delay_ms": 10, "seed": 3})).await;
    sb.call("GET", IDPS, None).await;
    sb.call("GET", IDPS, None).await;
    assert_eq!(sb.state.faults().counters(), (2, 0));
    let a = sb.call("POST", "/_sandbox/reset", None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let f = sb.call("GET", "/_sandbox/faults", None).await.json;
    assert_eq!(f["rate"], json!(0.0));
    assert_eq!(f["statuses"], json!([]));
    assert_eq!(f["delay_ms"], json!(0));
    assert_eq!((f["injected"].clone(), f["dropped"].clone(), f["seen"].clone()), (json!(0), json!(0), json!(0)));
    assert_eq!(sb.call("GET", IDPS, None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn invalid_settings_are_400_json_and_change_nothing() {
    let sb = sandbox();
    sb.faults(json!({"rate": 0.5, "statuses": [503]})).await;
    let cases: Vec<(&str, &str)> = vec![
        (r#"{"rate": 1.5, "statuses": [503]}"#, "rate"),
        (r#"{"rate": -0.1, "statuses": [503]}"#, "rate"),
        (r#"{"rate": 0.5, "statuses": [200]}"#, "statuses"),
        (r#"{"rate": 0.5, "statuses": [600]}"#, "statuses"),
        (r#"{"rate": 0.5, "statuses": []}"#, "statuses"),
        (r#"{"rate": 0.5}"#, "statuses"),
        (r#"{"statuses": [503]}"#, "rate"),
        (r#"{"rate": 0.5, "statuses": [503], "bogus": 1}"#, "bogus"),
        (r#"{"rate": "high", "statuses": [503]}"#, "invalid type"),
        (r#"{"rate": 0.5, "statuses": [70000]}"#, "70000"),
        (r#"{"rate": 1, "drop": true, "drop_after_handler": true}"#, "drop"),
        (r#"{"rate": 0, "delay_ms": 600001}"#, "delay_ms"),
        (r#"{"rate": 0, "seed": -1}"#, "u64"),
        (r#"{"rate": 1,"#, "invalid"),
        ("", "invalid"),
    ];
    for (body, mention) in cases {
        let a = sb.send("POST", "/_sandbox/faults", None, None, Some(body)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        let v: Value = serde_json::from_str(&a.raw).expect("JSON error body");
        assert_eq!(v["code"], json!(400), "{body}: {v}");
        let message = v["message"].as_str().expect("message");
        assert!(message.contains(mention), "{body}: {message}");
    }
    let f = sb.call("GET", "/_sandbox/faults", None).await.json;
    assert_eq!(f["rate"], json!(0.5));
    assert_eq!(f["statuses"], json!([503]));

    // The edges are accepted; a drop needs no statuses.
    for ok in [
        json!({"rate": 0}),
        json!({"rate": 1, "statuses": [400, 599]}),
        json!({"rate": 1, "drop": true}),
        json!({"rate": 1, "drop_after_handler": true}),
        json!({"rate": 0, "delay_ms": 600000, "retry_after": null, "seed": u64::MAX}),
    ] {
        let a = sb.faults(ok.clone()).await;
        assert_eq!(a.status, StatusCode::OK, "{ok}: {}", a.raw);
    }
    assert_eq!(sb.call("GET", "/_sandbox/faults", None).await.json["seed"], json!(u64::MAX));
}

async fn statuses_with_seed(seed: u64) -> Vec<u16> {
    let sb = sandbox();
    sb.faults(json!({"rate": 0.5, "statuses": [429, 500, 503], "seed": seed})).await;
    let mut out = Vec::new();
    for _ in 0..40 {
        out.push(sb.call("GET", IDPS, None).await.status.as_u16());
    }
    out
}

#[tokio::test]
async fn a_seed_makes_the_faults_reproducible() {
    let a = statuses_with_seed(42).await;
    assert_eq!(a, statuses_with_seed(42).await);
    assert!(a.contains(&200), "{a:?}");
    assert!(a.iter().any(|s| *s != 200), "{a:?}");
    assert_ne!(a, statuses_with_seed(43).await);

    // Re-posting the same settings restarts the same sequence.
    let sb = sandbox();
    let settings = json!({"rate": 0.5, "statuses": [429, 500, 503], "seed": 42});
    sb.faults(settings.clone()).await;
    for want in &a[..10] {
        assert_eq!(sb.call("GET", IDPS, None).await.status.as_u16(), *want);
    }
    sb.faults(settings).await;
    for want in &a[..10] {
        assert_eq!(sb.call("GET", IDPS, None).await.status.as_u16(), *want);
    }
}

#[tokio::test]
async fn after_n_and_count_fail_an_exact_window() {
    let sb = sandbox();
    sb.call("GET", IDPS, None).await; // before the settings: not numbered
    sb.faults(json!({"rate": 1, "statuses": [503], "after_n": 2, "count": 3})).await;
    let mut got = Vec::new();
    for _ in 0..8 {
        got.push(sb.call("GET", IDPS, None).await.status.as_u16());
    }
    assert_eq!(got, [200, 200, 503, 503, 503, 200, 200, 200]);
    let f = sb.call("GET", "/_sandbox/faults", None).await.json;
    assert_eq!((f["injected"].clone(), f["seen"].clone()), (json!(3), json!(8)));

    // after_n alone: everything after the first N fails. Posting restarts the numbering;
    // the counters keep counting until reset.
    sb.faults(json!({"rate": 1, "statuses": [429], "after_n": 1})).await;
    let got: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(sb.call("GET", IDPS, None).await.status.as_u16());
        }
        v
    };
    assert_eq!(got, [200, 429, 429, 429]);
    assert_eq!(sb.state.faults().counters(), (6, 0));

    // count alone: the first M fail (a crash test's "next create fails once").
    sb.faults(json!({"rate": 1, "drop": true, "count": 1})).await;
    assert!(sb.call("POST", IDPS, Some(oidc_idp("once"))).await.dropped);
    assert_eq!(sb.call("POST", IDPS, Some(oidc_idp("once"))).await.status, StatusCode::CREATED);
}

// ---------------------------------------------------------------------------------------
// Real TCP
// ---------------------------------------------------------------------------------------

async fn post_faults(http: &reqwest::Client, sb: &RunningSandbox, settings: Value) {
    let resp = http.post(format!("{}/_sandbox/faults", sb.url)).json(&settings).send().await.expect("send");
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
}

/// Sends one raw HTTP/1.1 request and reads until the server closes: the bytes it got,
/// or the error (a reset) reading them.
async fn raw_exchange(sb: &RunningSandbox, request: &str) -> Result<Vec<u8>, std::io::Error> {
    let mut s = tokio::net::TcpStream::connect(sb.addr).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut got))
        .await
        .expect("the server closes the connection instead of hanging")
        .map(|_| got)
}

#[tokio::test]
async fn drop_closes_the_connection_without_an_answer_over_tcp() {
    let sb = spawn(SandboxConfig::default()).await.expect("spawn");
    let http = reqwest::Client::new();
    post_faults(&http, &sb, json!({"rate": 1, "statuses": [503], "drop": true})).await;

    // A raw client: not one byte of an answer, the connection just ends (`Connection:
    // close` makes a real answer end the connection too, so an answer would be seen here).
    let body = oidc_idp("raw").to_string();
    let request = format!(
        "POST {IDPS} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {DEFAULT_RUNAI_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        sb.addr,
        body.len()
    );
    match raw_exchange(&sb, &request).await {
        Ok(got) => assert!(got.is_empty(), "got an answer: {}", String::from_utf8_lossy(&got)),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }

    // reqwest (hyper) sees a connection error, not an HTTP status.
    for _ in 0..3 {
        let err = http
            .post(format!("{}/api/v1/idps", sb.runai_url()))
            .bearer_auth(DEFAULT_RUNAI_TOKEN)
            .json(&oidc_idp("tcp"))
            .send()
            .await
            .expect_err("the connection is dropped");
        assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
        assert!(err.is_request() || err.is_connect(), "{err:?}");
    }

    // No side effect; logged with status 0; counted as dropped.
    assert_eq!(sb.state.snapshot().await["runai"]["idps"], json!([]));
    let log = sb.state.requests();
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|e| e.status == 0 && e.fault));
    assert_eq!(sb.state.faults().counters(), (4, 4));

    // Off again: the same client gets answers.
    post_faults(&http, &sb, json!({"rate": 0})).await;
    let resp = http
        .post(format!("{}/api/v1/idps", sb.runai_url()))
        .bearer_auth(DEFAULT_RUNAI_TOKEN)
        .json(&oidc_idp("tcp"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
}

#[tokio::test]
async fn status_faults_over_tcp_are_complete_answers() {
    let sb = spawn(SandboxConfig::default()).await.expect("spawn");
    let http = reqwest::Client::new();
    post_faults(&http, &sb, json!({"rate": 1, "statuses": [429], "retry_after": 3})).await;
    let resp = http
        .get(format!("{}/api/v2/user/oidc", sb.fudo_url()))
        .header(reqwest::header::AUTHORIZATION, DEFAULT_FUDO_API_KEY)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("3"));
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["result"], json!("error"));
}

#[tokio::test]
async fn drop_after_handler_loses_the_answer_but_keeps_the_side_effect() {
    let sb = spawn(SandboxConfig::default()).await.expect("spawn");
    let http = reqwest::Client::new();
    post_faults(&http, &sb, json!({"rate": 1, "drop_after_handler": true, "count": 1})).await;
    let create = || http.post(format!("{}/api/v1/idps", sb.runai_url())).bearer_auth(DEFAULT_RUNAI_TOKEN).json(&oidc_idp("lost")).send();
    let err = create().await.expect_err("the answer is lost");
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");

    // The create happened.
    let idps = sb.state.snapshot().await["runai"]["idps"].clone();
    assert_eq!(idps.as_array().map(Vec::len), Some(1), "{idps}");
    assert_eq!(idps[0]["alias"], json!("lost"));
    let log = sb.state.requests();
    assert_eq!((log[0].status, log[0].fault, log[0].handler_status), (0, true, Some(201)));
    assert_eq!(sb.state.faults().counters(), (1, 1));

    // A blind retry now conflicts: what the client's non-idempotent retry logic must handle.
    let resp = create().await.expect("answered");
    assert_eq!(resp.status(), reqwest::StatusCode::CONFLICT);
    let v: Value = sb.state.requests().last().map(|e| serde_json::to_value(e).expect("json")).expect("entry");
    assert!(v.get("fault").is_none() && v.get("handler_status").is_none(), "{v}");
}
