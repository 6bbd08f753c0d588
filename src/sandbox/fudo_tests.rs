//! In-process tests of the Fudo emulation (through the shared test client,
//! plus the client against the sandbox over HTTP and HTTPS).

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::http::HttpSettings;
use crate::sandbox::test_client::{Answer, Sb, sandbox};
use crate::sandbox::{AppState, DEFAULT_FUDO_API_KEY, SandboxConfig, router};
use crate::vendors::fudo::client::{FudoClient, NewUserOidc, UserOidcPatch};

const KEY: &str = DEFAULT_FUDO_API_KEY;
const LIST: &str = "/fudo/api/v2/user/oidc";

fn one(user_id: &str, oidc_id: &str) -> String {
    format!("/fudo/api/v2/user/{user_id}/oidc/{oidc_id}")
}

fn assert_error(a: &Answer, status: StatusCode, needle: &str) {
    assert_eq!(a.status, status, "body: {}", a.raw);
    assert_eq!(a.json["result"], json!("error"), "body: {}", a.raw);
    let msg = a.json["message"].as_str().unwrap_or_default();
    assert!(msg.contains(needle), "message {msg:?} should contain {needle:?}");
}

fn assign(user_id: &str, oidc_id: &str, sub: &str) -> Value {
    json!({"user_id": user_id, "oidc_id": oidc_id, "oidc_sub": sub})
}

#[tokio::test]
async fn the_api_key_is_the_raw_authorization_header() {
    let sb = sandbox();
    assert_error(&sb.send("GET", LIST, None, None, None).await, StatusCode::UNAUTHORIZED, "API key");
    assert_error(&sb.send("GET", LIST, Some("wrong"), None, None).await, StatusCode::UNAUTHORIZED, "Invalid API key");
    let bearer = format!("Bearer {KEY}");
    assert_error(&sb.send("GET", LIST, Some(&bearer), None, None).await, StatusCode::UNAUTHORIZED, "raw key");
    let a = sb.send("GET", LIST, Some(KEY), None, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["result"], json!("success"));
    // Nothing is created without the key.
    let body = assign(USER_1, OIDC_OKTA2, "John").to_string();
    assert_error(&sb.send("POST", LIST, Some("wrong"), Some("application/json"), Some(&body)).await, StatusCode::UNAUTHORIZED, "");
    assert_eq!(sb.state.snapshot().await["fudo"]["user_oidc"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn seeds_match_the_spec() {
    let sb = sandbox();
    let a = sb.fudo("GET", LIST, None).await;
    assert_eq!(
        a.json,
        json!({"result": "success", "user_oidc": [{
            "user_id": USER_2, "oidc_id": OIDC_AZUREAD, "oidc_sub": "user2@fudosecurity.com",
            "user_name": "User_2", "user_domain": "zw.local", "user_email": "user2@fudosecurity.com",
            "user_organization": "Fudo Security", "user_role": "user", "oidc_name": "AzureAD",
            "created_at": SEED_TIMESTAMP, "modified_at": SEED_TIMESTAMP, "builtin": true, "hidden": false
        }]})
    );
    let state = sb.state.snapshot().await;
    assert_eq!(state["fudo"]["users"][0]["id"], json!(USER_1), "ids are strings in the state too");
    assert_eq!(state["fudo"]["oidc_configurations"][0], json!({"id": OIDC_OKTA2, "name": "OKTA2"}));
}

#[tokio::test]
async fn create_read_update_delete_like_the_spec_examples() {
    let sb = sandbox();
    let path = one(USER_1, OIDC_OKTA2);
    assert_eq!(sb.fudo("GET", &path, None).await.json, json!({"result": "success", "user_oidc": []}), "unassigned: an empty list");

    // The docs' Content-Type is `Application/HTML`; the body is JSON all the same.
    let body = assign(USER_1, OIDC_OKTA2, "John").to_string();
    let a = sb.send("POST", LIST, Some(KEY), Some("Application/HTML"), Some(&body)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json, json!({"result": "success"}), "POST answers only the envelope");

    let a = sb.fudo("GET", &path, None).await;
    let item = &a.json["user_oidc"][0];
    assert_eq!(a.json["user_oidc"].as_array().map(Vec::len), Some(1));
    assert_eq!(item["user_id"], json!(USER_1));
    assert_eq!(item["oidc_id"], json!(OIDC_OKTA2));
    assert_eq!(item["oidc_sub"], json!("John"));
    assert_eq!(item["user_name"], json!("User_1"));
    assert_eq!(item["user_email"], json!("user@fudosecurity.com"));
    assert_eq!(item["user_role"], json!("operator"));
    assert_eq!(item["oidc_name"], json!("OKTA2"));
    assert!(item.get("user_organization").is_none(), "User_1 has no organization: {item}");
    assert!(item.get("id").is_none(), "the protected id is not returned: {item}");
    assert_eq!(item["builtin"], json!(false));
    // The raw text carries the ids as strings, never as numbers.
    assert!(a.raw.contains(&format!("\"user_id\":\"{USER_1}\"")), "{}", a.raw);
    let created = item["created_at"].as_str().expect("created_at").to_string();
    let re = regex::Regex::new(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}[+-]\d{2}$").expect("regex");
    assert!(re.is_match(&created), "Fudo timestamp format: {created}");

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let a = sb.fudo("PATCH", &path, Some(json!({"oidc_sub": "JohnD"}))).await;
    assert_eq!(a.json, json!({"result": "success"}), "{}", a.raw);
    let item = sb.fudo("GET", &path, None).await.json["user_oidc"][0].clone();
    assert_eq!(item["oidc_sub"], json!("JohnD"));
    assert_eq!(item["created_at"], json!(created));
    assert_ne!(item["modified_at"], json!(created), "PATCH moves modified_at");

    let a = sb.fudo("GET", LIST, None).await;
    let pairs: Vec<(String, String)> = a.json["user_oidc"]
        .as_array()
        .expect("list")
        .iter()
        .map(|i| (i["user_id"].as_str().unwrap_or_default().to_string(), i["oidc_id"].as_str().unwrap_or_default().to_string()))
        .collect();
    assert_eq!(pairs, [(USER_2.to_string(), OIDC_AZUREAD.to_string()), (USER_1.to_string(), OIDC_OKTA2.to_string())], "numeric order");

    assert_eq!(sb.fudo("DELETE", &path, None).await.json, json!({"result": "success"}));
    assert_eq!(sb.fudo("GET", &path, None).await.json["user_oidc"], json!([]));
    assert_error(&sb.fudo("DELETE", &path, None).await, StatusCode::NOT_FOUND, "is not assigned");
    assert_error(&sb.fudo("PATCH", &path, Some(json!({"oidc_sub": "x"}))).await, StatusCode::NOT_FOUND, "is not assigned");
}

#[tokio::test]
async fn the_pair_is_unique() {
    let sb = sandbox();
    assert_eq!(sb.fudo("POST", LIST, Some(assign(USER_1, OIDC_OKTA2, "a"))).await.status, StatusCode::OK);
    assert_error(&sb.fudo("POST", LIST, Some(assign(USER_1, OIDC_OKTA2, "b"))).await, StatusCode::CONFLICT, "Uniqueness");
    // Same user, other configuration; same configuration, other user: fine.
    assert_eq!(sb.fudo("POST", LIST, Some(assign(USER_1, OIDC_AZUREAD, "a"))).await.status, StatusCode::OK);
    assert_eq!(sb.fudo("POST", LIST, Some(assign(USER_2, OIDC_OKTA2, "a"))).await.status, StatusCode::OK);
    // The seeded built-in pair exists too.
    assert_error(&sb.fudo("POST", LIST, Some(assign(USER_2, OIDC_AZUREAD, "a"))).await, StatusCode::CONFLICT, "already assigned");
    assert_eq!(sb.state.snapshot().await["fudo"]["user_oidc"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn unknown_users_and_configurations_are_404s() {
    let sb = sandbox();
    for (u, o, needle) in [("123", OIDC_OKTA2, "User with id 123"), (USER_1, "456", "configuration with id 456")] {
        assert_error(&sb.fudo("POST", LIST, Some(assign(u, o, "x"))).await, StatusCode::NOT_FOUND, needle);
        assert_error(&sb.fudo("GET", &one(u, o), None).await, StatusCode::NOT_FOUND, needle);
        assert_error(&sb.fudo("PATCH", &one(u, o), Some(json!({"oidc_sub": "x"}))).await, StatusCode::NOT_FOUND, needle);
        assert_error(&sb.fudo("DELETE", &one(u, o), None).await, StatusCode::NOT_FOUND, needle);
    }
}

#[tokio::test]
async fn builtin_assignments_are_not_editable() {
    let sb = sandbox();
    let path = one(USER_2, OIDC_AZUREAD);
    assert_error(&sb.fudo("PATCH", &path, Some(json!({"oidc_sub": "x"}))).await, StatusCode::FORBIDDEN, "not editable");
    assert_error(&sb.fudo("DELETE", &path, None).await, StatusCode::FORBIDDEN, "built-in");
    let item = sb.fudo("GET", &path, None).await.json["user_oidc"][0].clone();
    assert_eq!(item["oidc_sub"], json!("user2@fudosecurity.com"));
    assert_eq!(item["modified_at"], json!(SEED_TIMESTAMP));
}

#[tokio::test]
async fn invalid_requests_are_400s_in_the_envelope() {
    let sb = sandbox();
    let cases: Vec<(Option<&str>, &str)> = vec![
        (None, "Missing request body"),
        (Some("{\"user_id\":"), "malformed JSON"),
        (Some("[1]"), "JSON object"),
        (Some(r#"{"oidc_id": "9124292845052624898", "oidc_sub": "x"}"#), "user_id"),
        // Ids as JSON numbers: the one mistake this API punishes most (2^53).
        (Some(r#"{"user_id": 9124292845052624898, "oidc_id": "9124292845052624898", "oidc_sub": "x"}"#), "expected a string"),
        (Some(r#"{"user_id": "12a", "oidc_id": "9124292845052624898", "oidc_sub": "x"}"#), "not an identifier"),
        (Some(r#"{"user_id": "9124292845052624898", "oidc_id": "9124292845052624898"}"#), "oidc_sub"),
        (Some(r#"{"user_id": "9124292845052624898", "oidc_id": "9124292845052624898", "oidc_sub": " "}"#), "must not be empty"),
    ];
    for (body, needle) in cases {
        let a = sb.send("POST", LIST, Some(KEY), Some("application/json"), body).await;
        assert_error(&a, StatusCode::BAD_REQUEST, needle);
    }
    assert_error(&sb.fudo("GET", &one("abc", OIDC_OKTA2), None).await, StatusCode::BAD_REQUEST, "not an identifier");

    sb.fudo("POST", LIST, Some(assign(USER_1, OIDC_OKTA2, "a"))).await;
    let path = one(USER_1, OIDC_OKTA2);
    let a = sb.fudo("PATCH", &path, Some(json!({"oidc_id": OIDC_AZUREAD, "oidc_sub": "b"}))).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "immutable");
    assert_eq!(a.json["field"], json!("oidc_id"));
    // Sending the unchanged ids back is fine.
    let a = sb.fudo("PATCH", &path, Some(json!({"user_id": USER_1, "oidc_id": OIDC_OKTA2, "oidc_sub": "b"}))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(sb.state.snapshot().await["fudo"]["user_oidc"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn objspec_lists_the_model() {
    let sb = sandbox();
    let a = sb.fudo("GET", "/fudo/api/v2/objspec/user_oidc", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["result"], json!("success"));
    let names: Vec<&str> =
        a.json["objspec"]["attributes"].as_array().expect("attributes").iter().filter_map(|x| x["name"].as_str()).collect();
    assert_eq!(names.len(), 15);
    assert_eq!(&names[..4], ["id", "user_id", "oidc_id", "oidc_sub"]);
    assert_eq!(a.json["objspec"]["attributes"][1]["immutable"], json!(true));
    assert_error(&sb.send("GET", "/fudo/api/v2/objspec/user_oidc", None, None, None).await, StatusCode::UNAUTHORIZED, "");
}

#[tokio::test]
async fn stats_state_and_reset_cover_fudo() {
    let sb = sandbox();
    sb.fudo("POST", LIST, Some(assign(USER_1, OIDC_OKTA2, "a"))).await;
    sb.fudo("GET", &one(USER_1, OIDC_OKTA2), None).await;
    sb.send("GET", LIST, None, None, None).await;
    let stats = sb.send("GET", "/_sandbox/stats", None, None, None).await.json;
    assert_eq!(stats["by_vendor"]["fudo"], json!(3));
    assert_eq!(stats["by_route"]["POST /fudo/api/v2/user/oidc"], json!(1));
    assert_eq!(stats["by_route"]["GET /fudo/api/v2/user/{user_id}/oidc/{oidc_id}"], json!(1));
    let log = sb.send("GET", "/_sandbox/requests", None, None, None).await.json;
    assert_eq!(log[0]["body"], assign(USER_1, OIDC_OKTA2, "a"));

    let state = sb.send("GET", "/_sandbox/state", None, None, None).await.json;
    assert_eq!(state["fudo"]["user_oidc"].as_array().map(Vec::len), Some(2));
    assert_eq!(sb.send("POST", "/_sandbox/reset", None, None, None).await.status, StatusCode::NO_CONTENT);
    let state = sb.send("GET", "/_sandbox/state", None, None, None).await.json;
    assert_eq!(state["fudo"], serde_json::to_value(FudoData::seeded()).expect("seeds"));
}

#[tokio::test]
async fn a_state_file_without_fudo_gets_the_seeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state.json");
    std::fs::write(&file, r#"{"runai": {"idps": []}}"#).expect("write");
    let state = AppState::new(SandboxConfig { data: Some(file.clone()), ..SandboxConfig::default() }).expect("state");
    assert_eq!(state.snapshot().await["fudo"], serde_json::to_value(FudoData::seeded()).expect("seeds"));

    // Assignments persist, ids as strings.
    let sb = Sb { app: router(state.clone()), state };
    sb.fudo("POST", LIST, Some(assign(USER_1, OIDC_OKTA2, "a"))).await;
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(text.contains(&format!("\"user_id\": \"{USER_1}\"")), "{text}");
    let again = AppState::new(SandboxConfig { data: Some(file), ..SandboxConfig::default() }).expect("state");
    assert_eq!(again.snapshot().await["fudo"]["user_oidc"].as_array().map(Vec::len), Some(2));
}

fn client(url: &str, key: &str, ca: Option<&str>) -> FudoClient {
    FudoClient::new(url, key, ca, false, HttpSettings { max_retries: 0, ..HttpSettings::default() }).expect("client")
}

#[tokio::test]
async fn the_client_against_the_sandbox() {
    let sb = crate::sandbox::spawn(SandboxConfig::default()).await.expect("spawn");
    let c = client(&sb.fudo_url(), KEY, None);
    assert_eq!(c.get(USER_1, OIDC_OKTA2).await.expect("get"), None, "an empty list is gone");
    assert_eq!(c.get("1", OIDC_OKTA2).await.expect("get"), None, "a 404 is gone");
    c.create(&NewUserOidc { user_id: USER_1.into(), oidc_id: OIDC_OKTA2.into(), oidc_sub: "John".into() }).await.expect("create");
    let a = c.get(USER_1, OIDC_OKTA2).await.expect("get").expect("present");
    assert_eq!((a.user_id.as_str(), a.oidc_id.as_str(), a.oidc_sub.as_deref()), (USER_1, OIDC_OKTA2, Some("John")));
    assert_eq!(a.user_name.as_deref(), Some("User_1"));
    c.update(USER_1, OIDC_OKTA2, &UserOidcPatch { oidc_sub: "JohnD".into() }).await.expect("update");
    assert_eq!(c.list().await.expect("list").len(), 2);

    let err = c.create(&NewUserOidc { user_id: "123".into(), oidc_id: OIDC_OKTA2.into(), oidc_sub: "x".into() }).await.expect_err("404");
    assert_eq!(err.to_string(), "Fudo answered 404: User with id 123 does not exist.");
    let err = c.create(&NewUserOidc { user_id: USER_1.into(), oidc_id: OIDC_OKTA2.into(), oidc_sub: "x".into() }).await.expect_err("409");
    assert!(err.is_conflict(), "{err}");
    let err = c.update(USER_2, OIDC_AZUREAD, &UserOidcPatch { oidc_sub: "x".into() }).await.expect_err("403");
    assert_eq!(err.status(), Some(403));
    assert!(err.to_string().contains("not editable"), "{err}");

    assert!(c.delete(USER_1, OIDC_OKTA2).await.expect("delete"));
    assert!(!c.delete(USER_1, OIDC_OKTA2).await.expect("already gone"));
    assert!(c.objspec().await.expect("objspec")["objspec"]["attributes"].is_array());

    let err = client(&sb.fudo_url(), "wrong-key-value", None).list().await.expect_err("401");
    assert_eq!(err.status(), Some(401));
    assert!(!err.to_string().contains("wrong-key-value"), "the key is never echoed: {err}");
}

#[tokio::test]
async fn the_client_over_https_with_the_sandbox_ca() {
    let (sb, ca_pem) = crate::sandbox::tls::spawn_tls(SandboxConfig::default()).await.expect("spawn_tls");
    assert!(sb.url.starts_with("https://127.0.0.1:"), "{}", sb.url);
    let c = client(&sb.fudo_url(), KEY, Some(&ca_pem));
    assert_eq!(c.list().await.expect("list over https").len(), 1);

    // Without the CA the certificate is not trusted; insecure mode skips the check.
    let err = client(&sb.fudo_url(), KEY, None).list().await.expect_err("untrusted");
    assert!(matches!(err, crate::http::ApiError::Transport { .. }), "{err:?}");
    let insecure =
        FudoClient::new(&sb.fudo_url(), KEY, None, true, HttpSettings { max_retries: 0, ..HttpSettings::default() }).expect("client");
    assert_eq!(insecure.list().await.expect("insecure list").len(), 1);
    // Plain HTTP to the TLS port fails too.
    let plain = client(&sb.fudo_url().replacen("https://", "http://", 1), KEY, None);
    assert!(plain.list().await.is_err());
}
