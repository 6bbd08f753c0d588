//! Tests of the OCI IAM emulation: the OAuth2 token endpoint, SCIM Users / Groups /
//! PatchOp / filters / paging / Bulk / UserPasswordChanger, and the sandbox state
//! (in-process with `oneshot`).

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::filter::{AttrPath, Filter, Literal, Op, PatchPath};
use super::*;
use crate::sandbox::{
    AppState, DEFAULT_SCIM_CLIENT_ID, DEFAULT_SCIM_CLIENT_SECRET, DEFAULT_SCIM_PASSWORD, DEFAULT_SCIM_USERNAME, SandboxConfig, router,
};

const HOST: &str = "sandbox.test:8080";
const BASE: &str = "http://sandbox.test:8080";
const STATIC: &str = DEFAULT_STATIC_TOKEN;
const USERS: &str = "/oci/admin/v1/Users";
const GROUPS: &str = "/oci/admin/v1/Groups";
const BULK: &str = "/oci/admin/v1/Bulk";

struct Sb {
    app: Router,
    state: SharedState,
}

fn sandbox_with(config: SandboxConfig) -> Sb {
    let state = AppState::new(config).expect("state");
    Sb { app: router(state.clone()), state }
}

fn sandbox() -> Sb {
    sandbox_with(SandboxConfig::default())
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    raw: String,
    json: Value,
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

impl Sb {
    async fn send(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: Option<String>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(path).header(header::HOST, HOST);
        if let Some(a) = authorization {
            req = req.header(header::AUTHORIZATION, a);
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let req = req.body(body.map(Body::from).unwrap_or_else(Body::empty)).expect("request");
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        Answer {
            status,
            headers,
            raw: String::from_utf8_lossy(&bytes).into_owned(),
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// A SCIM request with the static token.
    async fn scim(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.send(
            method,
            path,
            Some(&format!("Bearer {STATIC}")),
            body.as_ref().map(|_| "application/scim+json"),
            body.map(|b| b.to_string()),
        )
        .await
    }

    async fn token(&self, authorization: Option<&str>, form: &str) -> Answer {
        self.send("POST", TOKEN_PATH, authorization, Some("application/x-www-form-urlencoded"), Some(form.to_string())).await
    }

    async fn client_token(&self) -> String {
        let a = self.token(Some(&basic(DEFAULT_SCIM_CLIENT_ID, DEFAULT_SCIM_CLIENT_SECRET)), "grant_type=client_credentials").await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
        a.json["access_token"].as_str().expect("token").to_string()
    }

    async fn create_user(&self, user_name: &str) -> Value {
        let a = self.scim("POST", USERS, Some(user_body(user_name, "Given", "Family"))).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
        a.json
    }

    async fn create_group(&self, name: &str, members: &[&str]) -> Value {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m, "type": "User"})).collect();
        let a = self
            .scim(
                "POST",
                GROUPS,
                Some(json!({
                    "schemas": [GROUP_SCHEMA],
                    "displayName": name,
                    "members": members,
                })),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
        a.json
    }

    async fn get(&self, path: &str) -> Value {
        let a = self.scim("GET", path, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
        a.json
    }

    async fn patch(&self, path: &str, ops: Value) -> Answer {
        self.scim("PATCH", path, Some(json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops}))).await
    }

    async fn log(&self) -> Vec<Value> {
        let a = self.send("GET", "/_sandbox/requests", None, None, None).await;
        a.json.as_array().cloned().expect("log array")
    }

    async fn state_json(&self) -> Value {
        self.send("GET", "/_sandbox/state", None, None, None).await.json
    }
}

fn user_body(user_name: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
    })
}

fn assert_scim_error(a: &Answer, status: StatusCode, scim_type: Option<&str>) {
    assert_eq!(a.status, status, "body: {}", a.raw);
    assert_eq!(a.json["schemas"], json!([ERROR_SCHEMA]), "body: {}", a.raw);
    assert_eq!(a.json["status"], json!(status.as_u16().to_string()), "body: {}", a.raw);
    assert!(a.json["detail"].as_str().is_some_and(|d| !d.is_empty()), "body: {}", a.raw);
    match scim_type {
        Some(t) => assert_eq!(a.json["scimType"], json!(t), "body: {}", a.raw),
        None => assert!(a.json.get("scimType").is_none(), "body: {}", a.raw),
    }
    assert_eq!(a.header(header::CONTENT_TYPE), Some("application/scim+json"));
}

fn detail(a: &Answer) -> String {
    a.json["detail"].as_str().unwrap_or("").to_string()
}

async fn members_of(sb: &Sb, path: &str) -> Vec<String> {
    member_ids(&sb.get(path).await)
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn member_ids(group: &Value) -> Vec<String> {
    group["members"].as_array().map(|ms| ms.iter().map(|m| m["value"].as_str().unwrap_or("").to_string()).collect()).unwrap_or_default()
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

fn is_ocid(s: &str, kind: &str) -> bool {
    let Some(tail) = s.strip_prefix(&format!("ocid1.{kind}.oc1..")) else {
        return false;
    };
    tail.len() == 60 && tail.chars().all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c))
}

/// Percent-encodes everything but unreserved characters.
fn query(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

async fn list(sb: &Sb, collection: &str, params: &str) -> Answer {
    sb.scim("GET", &format!("{collection}?{params}"), None).await
}

async fn filter_users(sb: &Sb, filter: &str) -> Vec<String> {
    let a = list(sb, USERS, &format!("filter={}", query(filter))).await;
    assert_eq!(a.status, StatusCode::OK, "{filter}: {}", a.raw);
    a.json["Resources"].as_array().expect("Resources").iter().map(|r| r["userName"].as_str().unwrap_or("").to_string()).collect()
}

async fn filter_groups(sb: &Sb, filter: &str) -> Vec<String> {
    let a = list(sb, GROUPS, &format!("filter={}", query(filter))).await;
    assert_eq!(a.status, StatusCode::OK, "{filter}: {}", a.raw);
    a.json["Resources"].as_array().expect("Resources").iter().map(|r| r["displayName"].as_str().unwrap_or("").to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn token_grants() {
    let sb = sandbox();
    let auth = basic(DEFAULT_SCIM_CLIENT_ID, DEFAULT_SCIM_CLIENT_SECRET);
    let a = sb.token(Some(&auth), "grant_type=client_credentials&scope=urn%3Aopc%3Aidm%3A__myscopes__").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["token_type"], json!("Bearer"));
    assert_eq!(a.json["expires_in"], json!(3600));
    assert_eq!(a.json.as_object().map(|o| o.len()), Some(3), "{}", a.raw);
    assert_eq!(a.header(header::CACHE_CONTROL), Some("no-store"));
    let t1 = a.json["access_token"].as_str().expect("token").to_string();
    assert!(t1.len() >= 32);

    let form = format!(
        "grant_type=password&username={}&password={}&scope=urn%3Aopc%3Aidm%3A__myscopes__+offline_access",
        DEFAULT_SCIM_USERNAME,
        DEFAULT_SCIM_PASSWORD.replace('!', "%21")
    );
    let a = sb.token(Some(&auth), &form).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let t2 = a.json["access_token"].as_str().expect("token").to_string();
    assert_ne!(t1, t2, "tokens are random");

    for t in [&t1, &t2] {
        let a = sb.send("GET", USERS, Some(&format!("Bearer {t}")), None, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    }

    // Counted like any route.
    let stats = sb.state.stats();
    assert_eq!(stats.by_route.get("POST /oci/oauth2/v1/token"), Some(&2));
    assert_eq!(stats.by_vendor.get("oci"), Some(&4));
}

#[tokio::test]
async fn token_errors() {
    let sb = sandbox();
    let good = basic(DEFAULT_SCIM_CLIENT_ID, DEFAULT_SCIM_CLIENT_SECRET);
    let check = |a: &Answer, status: StatusCode, error: &str| {
        assert_eq!(a.status, status, "{}", a.raw);
        assert_eq!(a.json["error"], json!(error), "{}", a.raw);
        assert!(a.json["error_description"].is_string(), "{}", a.raw);
    };
    let form = "grant_type=client_credentials";

    let a = sb.token(None, form).await;
    check(&a, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(a.json["error_description"], json!("Client authentication failed."));
    assert!(a.header(header::WWW_AUTHENTICATE).is_some_and(|h| h.starts_with("Basic")));
    let a = sb.token(Some(&basic(DEFAULT_SCIM_CLIENT_ID, "wrong")), form).await;
    check(&a, StatusCode::UNAUTHORIZED, "invalid_client");
    let a = sb.token(Some("Basic !!!notbase64"), form).await;
    check(&a, StatusCode::UNAUTHORIZED, "invalid_client");
    let a = sb.token(Some(&format!("Bearer {STATIC}")), form).await;
    check(&a, StatusCode::UNAUTHORIZED, "invalid_client");

    let a = sb.token(Some(&good), "grant_type=password&username=admin&password=nope").await;
    check(&a, StatusCode::BAD_REQUEST, "invalid_grant");
    let a = sb.token(Some(&good), "grant_type=password&username=someone&password=Sandbox-Passw0rd%21").await;
    check(&a, StatusCode::BAD_REQUEST, "invalid_grant");
    let a = sb.token(Some(&good), "grant_type=password&username=admin").await;
    check(&a, StatusCode::BAD_REQUEST, "invalid_request");
    let a = sb.token(Some(&good), "grant_type=authorization_code&code=x").await;
    check(&a, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let a = sb.token(Some(&good), "scope=urn%3Aopc%3Aidm%3A__myscopes__").await;
    check(&a, StatusCode::BAD_REQUEST, "invalid_request");
    let a = sb.token(Some(&good), "").await;
    check(&a, StatusCode::BAD_REQUEST, "invalid_request");

    // A GET is not a token request.
    let a = sb.send("GET", TOKEN_PATH, Some(&good), None, None).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn tokens_expire_after_the_ttl() {
    let sb = sandbox_with(SandboxConfig { scim_token_ttl_secs: 1, ..SandboxConfig::default() });
    let a = sb.token(Some(&basic(DEFAULT_SCIM_CLIENT_ID, DEFAULT_SCIM_CLIENT_SECRET)), "grant_type=client_credentials").await;
    assert_eq!(a.json["expires_in"], json!(1));
    let token = a.json["access_token"].as_str().expect("token").to_string();
    let bearer = format!("Bearer {token}");
    let a = sb.send("GET", USERS, Some(&bearer), None, None).await;
    assert_eq!(a.status, StatusCode::OK);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let a = sb.send("GET", USERS, Some(&bearer), None, None).await;
    assert_scim_error(&a, StatusCode::UNAUTHORIZED, None);
    assert!(detail(&a).contains("expired"), "{}", a.raw);

    // A fresh token works; the static token never expires.
    let fresh = sb.client_token().await;
    let a = sb.send("GET", USERS, Some(&format!("Bearer {fresh}")), None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = sb.scim("GET", USERS, None).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn scim_needs_a_valid_bearer_token() {
    let sb = sandbox_with(SandboxConfig { scim_static_token: "my-static".into(), ..SandboxConfig::default() });
    for auth in [
        None,
        Some("Bearer nope".to_string()),
        Some("Bearer sandbox-scim-token".to_string()),
        Some(basic(DEFAULT_SCIM_CLIENT_ID, DEFAULT_SCIM_CLIENT_SECRET)),
        Some("Bearer ".to_string()),
    ] {
        for (method, path) in [
            ("GET", USERS.to_string()),
            ("POST", GROUPS.to_string()),
            ("GET", format!("{USERS}/x")),
            ("POST", BULK.to_string()),
            ("PUT", "/oci/admin/v1/UserPasswordChanger/x".to_string()),
            ("GET", "/oci/admin/v1/Nowhere".to_string()),
        ] {
            let a = sb.send(method, &path, auth.as_deref(), None, None).await;
            assert_scim_error(&a, StatusCode::UNAUTHORIZED, None);
            assert!(a.header(header::WWW_AUTHENTICATE).is_some());
        }
    }
    let a = sb.send("GET", USERS, Some("Bearer my-static"), None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = sb.send("GET", USERS, Some("bearer my-static"), None, None).await;
    assert_eq!(a.status, StatusCode::OK, "the scheme is case-insensitive");
}

#[tokio::test]
async fn unknown_paths_and_methods_are_scim_errors() {
    let sb = sandbox();
    let a = sb.scim("GET", "/oci/admin/v1/Nowhere", None).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
    let a = sb.scim("DELETE", USERS, None).await;
    assert_scim_error(&a, StatusCode::METHOD_NOT_ALLOWED, None);
    let a = sb.scim("GET", "/oci/admin/v1/UserPasswordChanger/x", None).await;
    assert_scim_error(&a, StatusCode::METHOD_NOT_ALLOWED, None);
    let a = sb.scim("GET", BULK, None).await;
    assert_scim_error(&a, StatusCode::METHOD_NOT_ALLOWED, None);
    let a = sb.scim("GET", "/oci/admin/v1/ServiceProviderConfig", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["bulk"]["supported"], json!(true));
    assert_eq!(a.json["filter"]["maxResults"], json!(50));
}

// ---------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn create_user_answers_the_full_resource() {
    let sb = sandbox();
    let a = sb
        .scim(
            "POST",
            USERS,
            Some(json!({
                "schemas": [USER_SCHEMA],
                "name": {"givenName": "user", "familyName": "test"},
                "userName": "user@oracle.com",
                "externalId": "ext-1",
                "emails": [{"value": "User@Oracle.COM", "type": "work", "primary": true}]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.header(header::CONTENT_TYPE), Some("application/scim+json"));
    let u = &a.json;
    let id = id_of(u);
    assert!(is_hex32(&id), "{id}");
    assert!(is_ocid(u["ocid"].as_str().unwrap_or(""), "user"), "{}", u["ocid"]);
    assert_eq!(u["schemas"], json!([USER_SCHEMA, USER_EXTENSION, USER_STATE_EXTENSION]));
    assert_eq!(u["userName"], json!("user@oracle.com"));
    assert_eq!(u["name"], json!({"givenName": "user", "familyName": "test", "formatted": "user test"}));
    assert_eq!(u["displayName"], json!("user test"));
    assert_eq!(u["active"], json!(true));
    assert_eq!(u["externalId"], json!("ext-1"));
    assert_eq!(
        u["emails"],
        json!([
            {"value": "user@oracle.com", "type": "work", "primary": true, "secondary": false, "verified": false},
            {"value": "user@oracle.com", "type": "recovery", "primary": false, "secondary": false, "verified": false}
        ])
    );
    assert_eq!(u["groups"], json!([]));
    let location = format!("{BASE}{USERS}/{id}");
    assert_eq!(u["meta"]["resourceType"], json!("User"));
    assert_eq!(u["meta"]["location"], json!(location));
    assert_eq!(u["meta"]["created"], u["meta"]["lastModified"]);
    assert!(u["meta"]["created"].as_str().unwrap_or("").ends_with('Z'));
    assert!(is_hex32(u["meta"]["version"].as_str().unwrap_or("")));
    assert_eq!(a.header(header::LOCATION), Some(location.as_str()));
    assert!(a.header(header::ETAG).is_some_and(|e| e.starts_with("W/\"")));
    assert_eq!(u[USER_EXTENSION]["isFederatedUser"], json!(false));
    assert!(u.get("password").is_none() && u.get("passwordChanges").is_none());

    // The same by id and by ocid.
    let by_id = sb.get(&format!("{USERS}/{id}")).await;
    let by_ocid = sb.get(&format!("{USERS}/{}", u["ocid"].as_str().unwrap_or(""))).await;
    assert_eq!(by_id, *u);
    assert_eq!(by_ocid, *u);
}

#[tokio::test]
async fn user_defaults_and_email_rules() {
    let sb = sandbox();
    // Explicit displayName, active false, a recovery email given: nothing appended.
    let a = sb
        .scim(
            "POST",
            USERS,
            Some(json!({
                "schemas": [USER_SCHEMA],
                "userName": "alice",
                "displayName": "Alice A.",
                "active": false,
                "emails": [
                    {"value": "A@X.io", "type": "work", "primary": true},
                    {"value": "Rec@X.io", "type": "recovery"}
                ]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.json["displayName"], json!("Alice A."));
    assert_eq!(a.json["active"], json!(false));
    assert_eq!(
        a.json["emails"],
        json!([
            {"value": "a@x.io", "type": "work", "primary": true, "secondary": false, "verified": false},
            {"value": "rec@x.io", "type": "recovery", "secondary": false, "verified": false}
        ])
    );
    assert!(a.json.get("name").is_none());

    // No primary email: no recovery copy. No name: displayName falls back to userName.
    let a = sb
        .scim(
            "POST",
            USERS,
            Some(json!({
                "schemas": [USER_SCHEMA],
                "userName": "bob",
                "emails": [{"value": "Bob@X.io", "type": "home"}]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.json["displayName"], json!("bob"));
    assert_eq!(a.json["emails"].as_array().map(Vec::len), Some(1));
    assert_eq!(a.json["emails"][0]["value"], json!("bob@x.io"));
    assert!(a.json.get("externalId").is_none());

    // Only a given name.
    let a = sb.scim("POST", USERS, Some(json!({"schemas": [USER_SCHEMA], "userName": "carol", "name": {"givenName": "Carol"}}))).await;
    assert_eq!(a.json["displayName"], json!("Carol"));
    assert_eq!(a.json["name"]["formatted"], json!("Carol"));
}

#[tokio::test]
async fn user_validation_and_uniqueness() {
    let sb = sandbox();
    sb.create_user("Dup@Example.com").await;
    let a = sb.scim("POST", USERS, Some(user_body("dup@example.COM", "a", "b"))).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));
    assert!(detail(&a).contains("dup@example.COM"), "{}", a.raw);

    let a = sb.scim("POST", USERS, Some(json!({"schemas": [USER_SCHEMA], "name": {"givenName": "x"}}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(detail(&a).contains("userName"));
    let a = sb.scim("POST", USERS, Some(json!({"schemas": [USER_SCHEMA], "userName": "  "}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb.scim("POST", USERS, Some(json!({"userName": "noschemas"}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let a = sb.scim("POST", USERS, Some(json!({"schemas": [GROUP_SCHEMA], "userName": "wrong"}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let a = sb.scim("POST", USERS, Some(json!({"schemas": [USER_SCHEMA], "userName": "x", "active": "yes"}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(detail(&a).contains("active"));
    let a = sb.scim("POST", USERS, Some(json!({"schemas": [USER_SCHEMA], "userName": "x", "emails": [{"type": "work"}]}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb
        .scim(
            "POST",
            USERS,
            Some(json!({"schemas": [USER_SCHEMA], "userName": "x", "emails": [
                {"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}
            ]})),
        )
        .await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));

    // Malformed bodies.
    let token = format!("Bearer {STATIC}");
    for body in ["", "{not json", "[1,2]"] {
        let a = sb.send("POST", USERS, Some(&token), Some("application/json"), Some(body.into())).await;
        assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    }
    // Plain application/json is accepted.
    let a = sb.send("POST", USERS, Some(&token), Some("application/json"), Some(user_body("json", "a", "b").to_string())).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(sb.state.snapshot().await["oci"]["users"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn unknown_user_is_404_naming_it() {
    let sb = sandbox();
    for method in ["GET", "PUT", "PATCH", "DELETE"] {
        let body = match method {
            "PUT" => Some(user_body("x", "a", "b")),
            "PATCH" => Some(json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [
                {"op": "replace", "path": "active", "value": false}
            ]})),
            _ => None,
        };
        let a = sb.scim(method, &format!("{USERS}/ghost42"), body).await;
        assert_scim_error(&a, StatusCode::NOT_FOUND, None);
        assert!(detail(&a).contains("ghost42"), "{}", a.raw);
    }
}

#[tokio::test]
async fn put_replaces_a_user() {
    let sb = sandbox();
    let u = sb
        .scim(
            "POST",
            USERS,
            Some(json!({
                "schemas": [USER_SCHEMA], "userName": "pat", "externalId": "e1",
                "name": {"givenName": "Pat", "familyName": "One"},
                "emails": [{"value": "pat@x.io", "type": "work", "primary": true}]
            })),
        )
        .await
        .json;
    sb.create_user("other").await;
    let id = id_of(&u);
    let a = sb
        .scim(
            "PUT",
            &format!("{USERS}/{}", u["ocid"].as_str().unwrap_or("")),
            Some(json!({
                "schemas": [USER_SCHEMA], "id": "ignored", "userName": "Pat2",
                "name": {"givenName": "Pat", "familyName": "Two"}, "active": false
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let v = &a.json;
    assert_eq!(v["id"], json!(id));
    assert_eq!(v["ocid"], u["ocid"]);
    assert_eq!(v["meta"]["created"], u["meta"]["created"]);
    assert_ne!(v["meta"]["version"], u["meta"]["version"]);
    assert_eq!(v["userName"], json!("Pat2"));
    assert_eq!(v["displayName"], json!("Pat Two"));
    assert_eq!(v["active"], json!(false));
    assert!(v.get("externalId").is_none(), "PUT clears what it omits");
    assert!(v.get("emails").is_none());

    let a = sb.scim("PUT", &format!("{USERS}/{id}"), Some(user_body("OTHER", "a", "b"))).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));
    // Its own name (in another case) is fine.
    let a = sb.scim("PUT", &format!("{USERS}/{id}"), Some(user_body("pat2", "a", "b"))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
}

#[tokio::test]
async fn patch_user_forms() {
    let sb = sandbox();
    let u = sb.create_user("patty").await;
    let path = format!("{USERS}/{}", id_of(&u));

    let a = sb
        .patch(
            &path,
            json!([
                {"op": "Replace", "path": "userName", "value": "patty2"},
                {"op": "replace", "path": "displayName", "value": "Patty"},
                {"op": "REPLACE", "path": "active", "value": false},
                {"op": "add", "path": "externalId", "value": "x-9"},
                {"op": "replace", "path": "name.givenName", "value": "Pat"},
                {"op": "replace", "path": "emails", "value": [
                    {"value": "P@X.IO", "type": "work", "primary": true}
                ]}
            ]),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    assert!(a.raw.is_empty());
    let v = sb.get(&path).await;
    assert_eq!(v["userName"], json!("patty2"));
    assert_eq!(v["displayName"], json!("Patty"));
    assert_eq!(v["active"], json!(false));
    assert_eq!(v["externalId"], json!("x-9"));
    assert_eq!(v["name"], json!({"givenName": "Pat", "familyName": "Family", "formatted": "Pat Family"}));
    assert_eq!(
        v["emails"],
        json!([
            {"value": "p@x.io", "type": "work", "primary": true, "secondary": false, "verified": false},
            {"value": "p@x.io", "type": "recovery", "primary": false, "secondary": false, "verified": false}
        ])
    );

    // Path-less replace with an object (read-only keys in it are ignored); 200 with
    // `attributes`.
    let a = sb
        .patch(
            &format!("{path}?attributes=userName,name.familyName"),
            json!([{"op": "replace", "value": {
                "id": "not-changed", "meta": {}, "active": true,
                "name": {"familyName": "Fam"},
                "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "P. Fam"
            }}]),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(
        a.json,
        json!({
            "schemas": [USER_SCHEMA, USER_EXTENSION, USER_STATE_EXTENSION],
            "id": id_of(&u),
            "userName": "patty2",
            "name": {"familyName": "Fam"}
        })
    );
    let v = sb.get(&path).await;
    assert_eq!(v["active"], json!(true));
    assert_eq!(v["displayName"], json!("P. Fam"));
    assert_eq!(v["name"]["givenName"], json!("Pat"), "replace merges complex values");
    assert_eq!(v["name"]["formatted"], json!("Pat Fam"));

    // Remove.
    let a = sb
        .patch(
            &format!("{path}?excludedAttributes=groups"),
            json!([
                {"op": "remove", "path": "externalId"},
                {"op": "remove", "path": "emails[type eq \"recovery\"]"}
            ]),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert!(a.json.get("externalId").is_none());
    assert!(a.json.get("groups").is_none());
    // The recovery email comes back: the primary has none.
    assert_eq!(a.json["emails"].as_array().map(Vec::len), Some(2));

    // Errors leave the user unchanged (a PATCH applies whole or not at all).
    let before = sb.get(&path).await;
    let cases = [
        (json!([{"op": "replace", "path": "id", "value": "x"}]), StatusCode::BAD_REQUEST, "mutability"),
        (json!([{"op": "replace", "path": "groups", "value": []}]), StatusCode::BAD_REQUEST, "mutability"),
        (json!([{"op": "replace", "path": "nickName2", "value": "x"}]), StatusCode::BAD_REQUEST, "invalidPath"),
        (json!([{"op": "replace", "path": "name[", "value": "x"}]), StatusCode::BAD_REQUEST, "invalidPath"),
        (json!([{"op": "move", "path": "userName", "value": "x"}]), StatusCode::BAD_REQUEST, "invalidSyntax"),
        (json!([{"op": "remove"}]), StatusCode::BAD_REQUEST, "noTarget"),
        (json!([{"op": "replace", "path": "active", "value": "false"}]), StatusCode::BAD_REQUEST, "invalidValue"),
        (json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x@y"}]), StatusCode::BAD_REQUEST, "noTarget"),
        (
            json!([
                {"op": "replace", "path": "userName", "value": "changed"},
                {"op": "remove", "path": "userName"}
            ]),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (json!([]), StatusCode::BAD_REQUEST, "invalidSyntax"),
    ];
    for (ops, status, scim_type) in cases {
        let a = sb.patch(&path, ops.clone()).await;
        assert_scim_error(&a, status, Some(scim_type));
        assert_eq!(sb.get(&path).await, before, "{ops}");
    }
    let a = sb.scim("PATCH", &path, Some(json!({"Operations": [{"op": "replace", "path": "active", "value": true}]}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidSyntax"));

    // userName uniqueness applies to PATCH too.
    sb.create_user("taken").await;
    let a = sb.patch(&path, json!([{"op": "replace", "path": "userName", "value": "TAKEN"}])).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));
}

#[tokio::test]
async fn delete_user_leaves_every_group() {
    let sb = sandbox();
    let u1 = id_of(&sb.create_user("u1").await);
    let u2 = id_of(&sb.create_user("u2").await);
    let g1 = id_of(&sb.create_group("g1", &[&u1, &u2]).await);
    let g2 = id_of(&sb.create_group("g2", &[&u1]).await);
    let user = sb.get(&format!("{USERS}/{u1}")).await;
    let groups: Vec<&str> = user["groups"].as_array().expect("groups").iter().map(|g| g["value"].as_str().unwrap_or("")).collect();
    assert_eq!(groups, vec![g1.as_str(), g2.as_str()]);
    assert_eq!(user["groups"][0]["display"], json!("g1"));
    assert_eq!(user["groups"][0]["$ref"], json!(format!("{BASE}{GROUPS}/{g1}")));

    let a = sb.scim("DELETE", &format!("{USERS}/{u1}"), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(a.raw.is_empty());
    let a = sb.scim("GET", &format!("{USERS}/{u1}"), None).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
    let a = sb.scim("DELETE", &format!("{USERS}/{u1}"), None).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
    assert_eq!(member_ids(&sb.get(&format!("{GROUPS}/{g1}")).await), vec![u2]);
    assert_eq!(member_ids(&sb.get(&format!("{GROUPS}/{g2}")).await), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// UserPasswordChanger
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn password_changer_policy_and_secrecy() {
    let sb = sandbox();
    let u = sb.create_user("pw").await;
    let id = id_of(&u);
    let ocid = u["ocid"].as_str().expect("ocid").to_string();
    let body = |p: &str| json!({"password": p, "schemas": [PASSWORD_CHANGER_SCHEMA]});

    let a = sb.scim("PUT", &format!("/oci/admin/v1/UserPasswordChanger/{id}"), Some(body("Short1!"))).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.header(header::CONTENT_TYPE), Some("application/scim+json"));
    assert_eq!(
        a.json,
        json!({
            "schemas": [
                "urn:ietf:params:scim:api:messages:2.0:Error",
                "urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error"
            ],
            "detail": "The password does not meet the criteria of the password policy because: [The password must have at least 12 characters.]",
            "status": "400",
            "urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error": {
                "messageId": "error.identity.passwordmgmt.pwdpolicyViolation"
            }
        })
    );
    // Eleven characters (multi-byte ones count as one) are still too short.
    let a = sb.scim("PUT", &format!("/oci/admin/v1/UserPasswordChanger/{id}"), Some(body("ééééééééééé"))).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    let location = format!("{BASE}/oci/admin/v1/UserPasswordChanger/{ocid}");
    let a = sb.scim("PUT", &format!("/oci/admin/v1/UserPasswordChanger/{ocid}"), Some(body("Welcome@123Bro"))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["schemas"], json!([PASSWORD_CHANGER_SCHEMA]));
    assert_eq!(a.json["id"], json!(id));
    assert_eq!(a.json["ocid"], json!(ocid));
    assert_eq!(a.json["meta"], json!({"resourceType": "UserPasswordChanger", "location": location}));
    for k in ["domainOcid", "compartmentOcid", "tenancyOcid"] {
        assert!(a.json[k].as_str().is_some_and(|s| s.starts_with("ocid1.")), "{k}");
    }
    assert!(!a.raw.contains("Welcome@123Bro"));
    let a = sb.scim("PUT", &format!("/oci/admin/v1/UserPasswordChanger/{id}"), Some(body("Another-Passw0rd"))).await;
    assert_eq!(a.status, StatusCode::OK);

    // Errors.
    let a = sb.scim("PUT", "/oci/admin/v1/UserPasswordChanger/ghost", Some(body("Welcome@123Bro"))).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
    let a = sb.scim("PUT", &format!("/oci/admin/v1/UserPasswordChanger/{id}"), Some(json!({"schemas": [PASSWORD_CHANGER_SCHEMA]}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));

    // The state counts; the text is nowhere (state, log, user resource).
    let state = sb.state_json().await;
    let user = &state["oci"]["users"][0];
    assert_eq!(user["passwordChanges"], json!(2));
    assert_eq!(user["passwordSet"], json!(true));
    let everything = format!("{state}{}{}", Value::Array(sb.log().await), sb.get(&format!("{USERS}/{id}")).await);
    for secret in ["Short1!", "Welcome@123Bro", "Another-Passw0rd", "ééé"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
    let log = sb.log().await;
    assert_eq!(log[2]["body"]["password"], json!("***"));
    let fresh = sb.create_user("nopw").await;
    let state = sb.state_json().await;
    let fresh = state["oci"]["users"].as_array().and_then(|us| us.iter().find(|u| u["id"] == fresh["id"]).cloned()).expect("user in state");
    assert_eq!(fresh["passwordChanges"], json!(0));
    assert_eq!(fresh["passwordSet"], json!(false));
}

// ---------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn create_group_with_members_and_extension() {
    let sb = sandbox();
    let u = sb.create_user("member1").await;
    let uid = id_of(&u);
    let a = sb
        .scim(
            "POST",
            GROUPS,
            Some(json!({
                "schemas": [GROUP_SCHEMA, GROUP_EXTENSION],
                "displayName": "Admins",
                "externalId": "123456",
                "members": [{"value": uid, "type": "User"}],
                GROUP_EXTENSION: {"description": "Example Description"}
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let g = &a.json;
    let gid = id_of(g);
    assert!(is_hex32(&gid));
    assert!(is_ocid(g["ocid"].as_str().unwrap_or(""), "group"), "{}", g["ocid"]);
    assert_eq!(g["schemas"], json!([GROUP_SCHEMA, GROUP_EXTENSION]));
    assert_eq!(g["displayName"], json!("Admins"));
    assert_eq!(g["externalId"], json!("123456"));
    assert_eq!(g[GROUP_EXTENSION], json!({"description": "Example Description"}));
    assert_eq!(
        g["members"],
        json!([{
            "value": uid, "type": "User", "display": "Given Family",
            "ocid": u["ocid"], "$ref": format!("{BASE}{USERS}/{uid}")
        }])
    );
    assert_eq!(g["meta"]["resourceType"], json!("Group"));
    assert_eq!(g["meta"]["location"], json!(format!("{BASE}{GROUPS}/{gid}")));
    assert_eq!(a.header(header::LOCATION), g["meta"]["location"].as_str());

    // Without the extension: core schema only; no members: an empty list.
    let plain = sb.create_group("Plain", &[]).await;
    assert_eq!(plain["schemas"], json!([GROUP_SCHEMA]));
    assert!(plain.get(GROUP_EXTENSION).is_none());
    assert_eq!(plain["members"], json!([]));

    // Member given by ocid is stored by id; duplicates collapse.
    let g2 = sb.create_group("ByOcid", &[u["ocid"].as_str().unwrap_or(""), uid.as_str()]).await;
    assert_eq!(member_ids(&g2), vec![uid.clone()]);

    // Errors.
    let a = sb
        .scim(
            "POST",
            GROUPS,
            Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "x", "members": [{"value": "nobody", "type": "User"}]})),
        )
        .await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(detail(&a).contains("nobody"));
    let a = sb
        .scim("POST", GROUPS, Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "y", "members": [{"value": uid, "type": "Group"}]})))
        .await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb.scim("POST", GROUPS, Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "admins"}))).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));
    let a = sb.scim("POST", GROUPS, Some(json!({"schemas": [GROUP_SCHEMA]}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb.scim("POST", GROUPS, Some(json!({"displayName": "noschemas"}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    assert_eq!(sb.state.snapshot().await["oci"]["groups"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn get_put_delete_group() {
    let sb = sandbox();
    let u1 = id_of(&sb.create_user("a1").await);
    let u2 = id_of(&sb.create_user("a2").await);
    let a = sb
        .scim(
            "POST",
            GROUPS,
            Some(json!({
                "schemas": [GROUP_SCHEMA, GROUP_EXTENSION], "displayName": "G",
                "members": [{"value": u1, "type": "User"}],
                GROUP_EXTENSION: {"description": "d"}
            })),
        )
        .await;
    let g = a.json;
    let gid = id_of(&g);
    let by_ocid = sb.get(&format!("{GROUPS}/{}", g["ocid"].as_str().unwrap_or(""))).await;
    assert_eq!(by_ocid, g);
    let lean = sb.get(&format!("{GROUPS}/{gid}?excludedAttributes=members")).await;
    assert!(lean.get("members").is_none());
    assert_eq!(lean["displayName"], json!("G"));
    let only = sb.get(&format!("{GROUPS}/{gid}?attributes=displayName")).await;
    assert_eq!(only, json!({"schemas": [GROUP_SCHEMA, GROUP_EXTENSION], "id": gid, "displayName": "G"}));
    let a = sb.scim("GET", &format!("{GROUPS}/nope"), None).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
    assert!(detail(&a).contains("nope"));

    // PUT replaces everything: members, and the extension when it is left out.
    let a = sb
        .scim(
            "PUT",
            &format!("{GROUPS}/{gid}"),
            Some(json!({
                "schemas": [GROUP_SCHEMA], "displayName": "G2",
                "members": [{"value": u2, "type": "User"}]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["schemas"], json!([GROUP_SCHEMA]));
    assert!(a.json.get(GROUP_EXTENSION).is_none());
    assert_eq!(member_ids(&a.json), vec![u2.clone()]);
    assert_eq!(a.json["meta"]["created"], g["meta"]["created"]);
    assert_eq!(a.json["ocid"], g["ocid"]);

    sb.create_group("Other", &[]).await;
    let a = sb.scim("PUT", &format!("{GROUPS}/{gid}"), Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "other"}))).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));

    let a = sb.scim("DELETE", &format!("{GROUPS}/{gid}"), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = sb.scim("GET", &format!("{GROUPS}/{gid}"), None).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
    assert_eq!(sb.get(&format!("{USERS}/{u2}")).await["groups"], json!([]));
}

#[tokio::test]
async fn patch_group_forms() {
    let sb = sandbox();
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(sb.create_user(&format!("m{i}")).await);
    }
    let ids: Vec<String> = users.iter().map(id_of).collect();
    let ocid_of = |id: &str| users.iter().find(|u| u["id"] == json!(id)).and_then(|u| u["ocid"].as_str()).unwrap_or("").to_string();
    let g = sb.create_group("team", &[&ids[0]]).await;
    let path = format!("{GROUPS}/{}", id_of(&g));

    // The spec's forms: replace displayName; add members.
    let a = sb.patch(&path, json!([{"op": "replace", "path": "displayName", "value": "Team"}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    let a = sb
        .patch(
            &path,
            json!([{"op": "add", "path": "members", "value": [
                {"value": ids[1], "type": "User"}, {"value": ids[2], "type": "User"}
            ]}]),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(members_of(&sb, &path).await, ids[..3].to_vec());
    // Adding an existing member is a no-op.
    let a = sb.patch(&path, json!([{"op": "add", "path": "members", "value": [{"value": ids[1], "type": "User"}]}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(members_of(&sb, &path).await, ids[..3].to_vec());

    // Description through the extension path: the extension schema appears.
    let a = sb
        .patch(
            &format!("{path}?attributes=displayName"),
            json!([
                {"op": "replace", "path": format!("{GROUP_EXTENSION}:description"), "value": "Desc"},
                {"op": "replace", "path": "externalId", "value": "ext-7"}
            ]),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["displayName"], json!("Team"));
    assert_eq!(a.json["schemas"], json!([GROUP_SCHEMA, GROUP_EXTENSION]));
    assert!(a.json.get("members").is_none(), "projected by attributes");
    let full = sb.get(&path).await;
    assert_eq!(full[GROUP_EXTENSION], json!({"description": "Desc"}));
    assert_eq!(full["externalId"], json!("ext-7"));

    // remove members[value eq "<id>"].
    let a = sb.patch(&path, json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    assert_eq!(members_of(&sb, &path).await, ids[1..3].to_vec());
    // remove members[type eq "User" and value eq "<ocid>"] (an ocid names the member too).
    let a = sb
        .patch(&path, json!([{"op": "remove", "path": format!("members[type eq \"User\" and value eq \"{}\"]", ocid_of(&ids[1]))}]))
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    assert_eq!(members_of(&sb, &path).await, ids[2..3].to_vec());
    // Removing a member that is not there is a no-op.
    let a = sb.patch(&path, json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[4])}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);

    // remove "members" with a value array (Azure style).
    sb.patch(
        &path,
        json!([{"op": "add", "path": "members", "value": [
            {"value": ids[3], "type": "User"}, {"value": ids[4], "type": "User"}
        ]}]),
    )
    .await;
    let a = sb.patch(&path, json!([{"op": "remove", "path": "members", "value": [{"value": ids[2]}, {"value": ids[4]}]}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    assert_eq!(members_of(&sb, &path).await, vec![ids[3].clone()]);

    // One PATCH, several operations, applied in order.
    let a = sb
        .patch(
            &format!("{path}?attributes=members"),
            json!([
                {"op": "add", "path": "members", "value": [{"value": ids[0], "type": "User"}]},
                {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[3])},
                {"op": "add", "path": "members", "value": [{"value": ids[1], "type": "User"}]}
            ]),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(member_ids(&a.json), vec![ids[0].clone(), ids[1].clone()]);

    // replace members: the whole list.
    let a = sb.patch(&path, json!([{"op": "replace", "path": "members", "value": [{"value": ids[4], "type": "User"}]}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(members_of(&sb, &path).await, vec![ids[4].clone()]);

    // Path-less add with an object; path-less replace of the extension.
    let a = sb
        .patch(
            &path,
            json!([
                {"op": "add", "value": {"members": [{"value": ids[0], "type": "User"}]}},
                {"op": "replace", "value": {"displayName": "Team2", GROUP_EXTENSION: {"description": "D2"}}}
            ]),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    let v = sb.get(&path).await;
    assert_eq!(member_ids(&v), vec![ids[4].clone(), ids[0].clone()]);
    assert_eq!(v["displayName"], json!("Team2"));
    assert_eq!(v[GROUP_EXTENSION]["description"], json!("D2"));

    // remove "members": all of them.
    let a = sb.patch(&path, json!([{"op": "remove", "path": "members"}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(members_of(&sb, &path).await, Vec::<String>::new());

    // Errors change nothing.
    let before = sb.get(&path).await;
    let a = sb
        .patch(
            &path,
            json!([
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "add", "path": "members", "value": [{"value": "nobody", "type": "User"}]}
            ]),
        )
        .await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb.patch(&path, json!([{"op": "add", "path": "members", "value": ["not-an-object"]}])).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb.patch(&path, json!([{"op": "remove", "path": "members[value eq ]"}])).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidPath"));
    let a = sb.patch(&path, json!([{"op": "remove", "path": "displayName"}])).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb.patch(&path, json!([{"op": "replace", "path": "ocid", "value": "x"}])).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("mutability"));
    sb.create_group("Taken", &[]).await;
    let a = sb.patch(&path, json!([{"op": "replace", "path": "displayName", "value": "taken"}])).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));
    assert_eq!(sb.get(&path).await, before);

    let a = sb.patch(&format!("{GROUPS}/unknown"), json!([{"op": "remove", "path": "members"}])).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
}

// ---------------------------------------------------------------------------------------
// Lists: filters, paging, projection
// ---------------------------------------------------------------------------------------

async fn filter_fixture(sb: &Sb) -> (Vec<Value>, Vec<Value>) {
    let mut users = Vec::new();
    for (name, given, family, email, active, ext) in [
        ("alice@example.com", "Alice", "Smith", "Alice@Example.com", true, "A-1"),
        ("bob@example.com", "Bob", "Jones", "bob@other.org", false, "b-2"),
        ("carol@corp.io", "Carol", "Smith", "carol@corp.io", true, "C-3"),
        ("dave \"the\" user", "Dave", "Quote", "dave@corp.io", true, "D-4"),
    ] {
        let a = sb
            .scim(
                "POST",
                USERS,
                Some(json!({
                    "schemas": [USER_SCHEMA], "userName": name, "active": active,
                    "externalId": ext,
                    "name": {"givenName": given, "familyName": family},
                    "emails": [{"value": email, "type": "work", "primary": true}]
                })),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
        users.push(a.json);
    }
    let uid = |i: usize| id_of(&users[i]);
    let groups = vec![
        sb.create_group("Admins", &[&uid(0), &uid(2)]).await,
        sb.create_group("Readers", &[&uid(1)]).await,
        sb.create_group("Empty", &[]).await,
    ];
    (users, groups)
}

#[tokio::test]
async fn filter_operators() {
    let sb = sandbox();
    let (users, groups) = filter_fixture(&sb).await;
    let all = ["alice@example.com", "bob@example.com", "carol@corp.io", "dave \"the\" user"];
    let pick = |idx: &[usize]| idx.iter().map(|&i| all[i].to_string()).collect::<Vec<_>>();

    let cases: Vec<(String, Vec<usize>)> = vec![
        // eq is case-insensitive for userName, and so are attribute names and operators.
        ("userName eq \"ALICE@example.com\"".into(), vec![0]),
        ("USERNAME EQ \"alice@example.com\"".into(), vec![0]),
        ("userName ne \"alice@example.com\"".into(), vec![1, 2, 3]),
        ("userName co \"EXAMPLE\"".into(), vec![0, 1]),
        ("userName sw \"b\"".into(), vec![1]),
        ("userName ew \".io\"".into(), vec![2]),
        ("userName eq \"dave \\\"the\\\" user\"".into(), vec![3]),
        ("emails.value eq \"ALICE@example.com\"".into(), vec![0]),
        ("emails.value co \"corp\"".into(), vec![2, 3]),
        ("emails.type eq \"recovery\"".into(), vec![0, 1, 2, 3]),
        ("emails[type eq \"work\" and value ew \"other.org\"]".into(), vec![1]),
        ("name.familyName eq \"smith\"".into(), vec![0, 2]),
        ("name.givenName sw \"Ca\"".into(), vec![2]),
        ("urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"carol\"".into(), vec![2]),
        ("active eq true".into(), vec![0, 2, 3]),
        ("active eq false".into(), vec![1]),
        ("active ne true".into(), vec![1]),
        ("externalId pr".into(), vec![0, 1, 2, 3]),
        ("externalId eq \"A-1\"".into(), vec![0]),
        // externalId is caseExact.
        ("externalId eq \"a-1\"".into(), vec![]),
        ("displayName eq \"bob jones\"".into(), vec![1]),
        (format!("id eq \"{}\"", id_of(&users[3])), vec![3]),
        (format!("ocid eq \"{}\"", users[1]["ocid"].as_str().unwrap_or("")), vec![1]),
        // Groups of a user.
        (format!("groups.value eq \"{}\"", id_of(&groups[0])), vec![0, 2]),
        (format!("groups[value eq \"{}\"]", id_of(&groups[1])), vec![1]),
        (format!("groups.value eq \"{}\"", groups[1]["ocid"].as_str().unwrap_or("")), vec![1]),
        ("groups pr".into(), vec![0, 1, 2]),
        ("not (groups pr)".into(), vec![3]),
        // Precedence: and binds tighter than or.
        ("userName sw \"a\" or userName sw \"b\" and active eq true".into(), vec![0]),
        ("(userName sw \"a\" or userName sw \"b\") and active eq false".into(), vec![1]),
        ("userName sw \"b\" and active eq true or userName sw \"c\"".into(), vec![2]),
        ("not (name.familyName eq \"Smith\") and active eq true".into(), vec![3]),
        ("not(userName co \"example\" or userName co \"corp\")".into(), vec![3]),
        ("meta.created pr and meta.resourceType eq \"User\"".into(), vec![0, 1, 2, 3]),
        ("meta.lastModified gt \"2000-01-01T00:00:00Z\"".into(), vec![0, 1, 2, 3]),
        ("meta.created lt \"2000-01-01T00:00:00Z\"".into(), vec![]),
        ("externalId eq null".into(), vec![]),
        ("userName gt \"bob\"".into(), vec![1, 2, 3]),
        ("userName le \"bob@example.com\"".into(), vec![0, 1]),
    ];
    for (f, expected) in cases {
        assert_eq!(filter_users(&sb, &f).await, pick(&expected), "filter: {f}");
    }

    // Groups: the members value filter in every form.
    let u0 = id_of(&users[0]);
    let u1_ocid = users[1]["ocid"].as_str().unwrap_or("").to_string();
    let gcases: Vec<(String, Vec<&str>)> = vec![
        (format!("members[type eq \"User\" and value eq \"{u0}\"]"), vec!["Admins"]),
        (format!("members[value eq \"{u0}\"]"), vec!["Admins"]),
        (format!("members.value eq \"{u0}\""), vec!["Admins"]),
        (format!("members[type eq \"User\" and value eq \"{u1_ocid}\"]"), vec!["Readers"]),
        ("members[type eq \"User\" and value eq \"nobody\"]".into(), vec![]),
        ("members pr".into(), vec!["Admins", "Readers"]),
        ("displayName eq \"admins\"".into(), vec!["Admins"]),
        ("displayName sw \"R\" or displayName ew \"pty\"".into(), vec!["Readers", "Empty"]),
        (format!("id eq \"{}\"", id_of(&groups[2])), vec!["Empty"]),
    ];
    for (f, expected) in gcases {
        assert_eq!(filter_groups(&sb, &f).await, expected, "filter: {f}");
    }
    // The spec's literal query string (spaces as %20, quotes as %22, raw brackets).
    let a = sb.scim("GET", &format!("{GROUPS}?filter=members[type%20eq%20%22User%22%20and%20value%20eq%20%22{u0}%22]"), None).await;
    assert_eq!(a.json["totalResults"], json!(1), "{}", a.raw);
    // '+' as a space works as well.
    let a = sb.scim("GET", &format!("{USERS}?filter=userName+eq+%22bob%40example.com%22"), None).await;
    assert_eq!(a.json["totalResults"], json!(1), "{}", a.raw);
}

#[tokio::test]
async fn invalid_filters_are_400_invalid_filter() {
    let sb = sandbox();
    filter_fixture(&sb).await;
    for (f, hint) in [
        ("userName eq", "value"),
        ("userName", "operator"),
        ("userName xx \"a\"", "unknown operator"),
        ("userName eq alice", "double quotes"),
        ("userName eq \"alice", "unterminated"),
        ("(userName eq \"a\"", "\")\""),
        ("userName eq \"a\")", "end of the filter"),
        ("userName eq \"a\" and", "attribute path"),
        ("userName eq \"a\" xor userName eq \"b\"", "\"and\", \"or\""),
        ("members[value eq \"x\"", "\"]\""),
        ("nickName9 eq \"x\"", "not supported"),
        ("name.nope eq \"x\"", "not supported"),
        ("urn:x:y:userName eq \"a\"", "not supported"),
        ("1abc eq \"x\"", "invalid attribute path"),
        ("userName eq \"\\q\"", "escape"),
        ("", "empty"),
    ] {
        let a = list(&sb, USERS, &format!("filter={}", query(f))).await;
        assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidFilter"));
        assert!(detail(&a).contains(hint), "filter {f:?}: detail {:?} lacks {hint:?}", detail(&a));
    }
    let a = list(&sb, GROUPS, &format!("filter={}", query("userName eq \"x\""))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidFilter"));
    let deep = format!("{}userName pr{}", "(".repeat(40), ")".repeat(40));
    let a = list(&sb, USERS, &format!("filter={}", query(&deep))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidFilter"));
}

#[tokio::test]
async fn batched_id_filters_are_fast() {
    let sb = sandbox();
    {
        // Many users, created directly (the API path is exercised elsewhere).
        let now = Utc::now();
        sb.state
            .write(|d| {
                for i in 0..600 {
                    d.oci.create_user(user_body(&format!("bulk{i}"), "B", &i.to_string()).as_object().expect("object"), now)?;
                }
                Ok::<_, ScimError>(())
            })
            .await
            .expect("users");
    }
    let state = sb.state.snapshot().await;
    let users = state["oci"]["users"].as_array().expect("users").clone();
    let wanted: Vec<String> = users.iter().step_by(4).take(150).map(id_of).collect();
    let mut terms: Vec<String> = wanted.iter().map(|id| format!("id eq \"{id}\"")).collect();
    terms.push("id eq \"not-there\"".into());
    let f = terms.join(" or ");
    let started = Instant::now();
    let mut got = Vec::new();
    let mut start = 1;
    loop {
        let a = list(&sb, USERS, &format!("filter={}&startIndex={start}&count=50", query(&f))).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
        assert_eq!(a.json["totalResults"], json!(150));
        let page = a.json["Resources"].as_array().expect("page");
        got.extend(page.iter().map(id_of));
        if page.is_empty() || got.len() >= 150 {
            break;
        }
        start += page.len();
    }
    let elapsed = started.elapsed();
    assert_eq!(got, wanted, "creation order");
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");

    // Mixed ids and ocids in one batch.
    let f = format!("id eq \"{}\" or ocid eq \"{}\"", id_of(&users[0]), users[1]["ocid"].as_str().unwrap_or(""));
    let a = list(&sb, USERS, &format!("filter={}", query(&f))).await;
    assert_eq!(a.json["totalResults"], json!(2));
}

#[tokio::test]
async fn paging() {
    let sb = sandbox();
    let now = Utc::now();
    sb.state
        .write(|d| {
            for i in 0..120 {
                d.oci.create_user(user_body(&format!("p{i:03}"), "P", "Q").as_object().expect("object"), now)?;
            }
            Ok::<_, ScimError>(())
        })
        .await
        .expect("users");
    let page = |params: &'static str| {
        let sb = &sb;
        async move {
            let a = list(sb, USERS, params).await;
            assert_eq!(a.status, StatusCode::OK, "{params}: {}", a.raw);
            a.json
        }
    };
    let names = |v: &Value| -> Vec<String> {
        v["Resources"].as_array().expect("Resources").iter().map(|r| r["userName"].as_str().unwrap_or("").to_string()).collect()
    };

    let first = page("").await;
    assert_eq!(first["schemas"], json!([LIST_RESPONSE_SCHEMA]));
    assert_eq!(first["totalResults"], json!(120));
    assert_eq!(first["itemsPerPage"], json!(50));
    assert_eq!(first["startIndex"], json!(1));
    assert_eq!(names(&first)[0], "p000");
    assert_eq!(names(&first)[49], "p049");

    let last = page("startIndex=101").await;
    assert_eq!(last["itemsPerPage"], json!(20));
    assert_eq!(last["startIndex"], json!(101));
    assert_eq!(names(&last)[0], "p100");

    let capped = page("count=500&startIndex=51").await;
    assert_eq!(capped["itemsPerPage"], json!(50));
    assert_eq!(names(&capped)[0], "p050");

    let small = page("count=3&startIndex=2").await;
    assert_eq!(names(&small), vec!["p001", "p002", "p003"]);
    assert_eq!(small["totalResults"], json!(120));

    let zero = page("count=0").await;
    assert_eq!(zero["itemsPerPage"], json!(0));
    assert_eq!(zero["Resources"], json!([]));
    assert_eq!(zero["totalResults"], json!(120));

    let below = page("startIndex=0&count=-5").await;
    assert_eq!(below["startIndex"], json!(1));
    assert_eq!(below["itemsPerPage"], json!(0));

    let beyond = page("startIndex=500").await;
    assert_eq!(beyond["Resources"], json!([]));
    assert_eq!(beyond["totalResults"], json!(120));

    let filtered = page("filter=userName%20sw%20%22p1%22&startIndex=11&count=5").await;
    assert_eq!(filtered["totalResults"], json!(20));
    assert_eq!(names(&filtered), vec!["p110", "p111", "p112", "p113", "p114"]);

    for bad in ["count=abc", "startIndex=1.5"] {
        let a = list(&sb, USERS, bad).await;
        assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    }
    // An empty domain answers an empty list.
    let empty = list(&sb, GROUPS, "").await;
    assert_eq!(
        empty.json,
        json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []})
    );
}

#[tokio::test]
async fn list_projection_and_search() {
    let sb = sandbox();
    let (users, _groups) = filter_fixture(&sb).await;
    let a = list(&sb, GROUPS, "excludedAttributes=members").await;
    let rs = a.json["Resources"].as_array().expect("Resources");
    assert_eq!(rs.len(), 3);
    assert!(rs.iter().all(|g| g.get("members").is_none() && g.get("displayName").is_some()));

    let a = list(&sb, USERS, "attributes=userName,emails.value&count=1").await;
    assert_eq!(
        a.json["Resources"][0],
        json!({
            "schemas": [USER_SCHEMA, USER_EXTENSION, USER_STATE_EXTENSION],
            "id": id_of(&users[0]),
            "userName": "alice@example.com",
            "emails": [{"value": "alice@example.com"}, {"value": "alice@example.com"}]
        })
    );
    let a = list(&sb, GROUPS, &format!("filter={}&attributes=members.value", query("displayName eq \"Readers\""))).await;
    assert_eq!(a.json["Resources"][0]["members"], json!([{"value": id_of(&users[1])}]));

    // POST /.search: the same in a body.
    let a = sb
        .scim(
            "POST",
            "/oci/admin/v1/Users/.search",
            Some(json!({
                "schemas": [SEARCH_REQUEST_SCHEMA],
                "filter": "name.familyName eq \"Smith\"",
                "attributes": ["userName"],
                "startIndex": 2,
                "count": 10
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["totalResults"], json!(2));
    assert_eq!(a.json["startIndex"], json!(2));
    assert_eq!(a.json["Resources"][0]["userName"], json!("carol@corp.io"));
    assert!(a.json["Resources"][0].get("emails").is_none());
    let a = sb.scim("POST", "/oci/admin/v1/Groups/.search", Some(json!({"schemas": [SEARCH_REQUEST_SCHEMA], "filter": "bogus"}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidFilter"));
}

// ---------------------------------------------------------------------------------------
// Bulk
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn bulk_with_bulk_ids_and_per_operation_failures() {
    let sb = sandbox();
    let existing = id_of(&sb.create_user("existing").await);
    let g1 = id_of(&sb.create_group("g1", &[]).await);
    let g2 = id_of(&sb.create_group("g2", &[]).await);
    let add = |who: &str| {
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": who, "type": "User"}]}
        ]})
    };
    let a = sb
        .scim(
            "POST",
            BULK,
            Some(json!({
                "schemas": [BULK_REQUEST_SCHEMA],
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "u1",
                     "data": user_body("bulk-user", "Bulk", "User")},
                    {"method": "POST", "path": "/Groups", "bulkId": "g3",
                     "data": {"schemas": [GROUP_SCHEMA], "displayName": "g3",
                              "members": [{"value": "bulkId:u1", "type": "User"}]}},
                    {"method": "PATCH", "path": format!("/Groups/{g1}"), "data": add("bulkId:u1")},
                    {"method": "PATCH", "path": "/Groups/0000000000000000000000000000dead", "data": add(&existing)},
                    {"method": "PATCH", "path": format!("/Groups/{g2}"), "data": add("nobody")},
                    {"method": "patch", "path": format!("/Groups/{g2}?attributes=members"), "data": add(&existing)},
                    {"method": "PATCH", "path": "/Groups/bulkId:g3", "data": add(&existing)},
                    {"method": "PUT", "path": "/Users/bulkId:u1",
                     "data": user_body("bulk-user", "Bulk", "Renamed")},
                    {"method": "PATCH", "path": "/Groups/bulkId:missing", "data": add(&existing)},
                    {"method": "POST", "path": "/Users", "bulkId": "dup",
                     "data": user_body("EXISTING", "x", "y")},
                    {"method": "DELETE", "path": format!("/Users/{existing}")},
                    {"method": "GET", "path": "/Users"},
                    {"method": "POST", "path": "/Nowhere", "data": {}}
                ]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["schemas"], json!([BULK_RESPONSE_SCHEMA]));
    let ops = a.json["Operations"].as_array().expect("Operations").clone();
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap_or("?")).collect();
    assert_eq!(statuses, vec!["201", "201", "204", "404", "400", "200", "204", "200", "409", "409", "204", "400", "404"], "{}", a.raw);
    let new_user = id_of(&ops[0]["response"]);
    assert_eq!(ops[0]["bulkId"], json!("u1"));
    assert_eq!(ops[0]["method"], json!("POST"));
    assert_eq!(ops[0]["location"], json!(format!("{BASE}{USERS}/{new_user}")));
    let g3 = id_of(&ops[1]["response"]);
    assert_eq!(member_ids(&ops[1]["response"]), vec![new_user.clone()]);
    assert_eq!(ops[2]["location"], json!(format!("{BASE}{GROUPS}/{g1}")));
    assert!(ops[2].get("response").is_none());
    assert_eq!(ops[3]["response"]["schemas"], json!([ERROR_SCHEMA]));
    assert_eq!(ops[3]["response"]["status"], json!("404"));
    assert_eq!(ops[4]["response"]["scimType"], json!("invalidValue"));
    assert_eq!(ops[5]["method"], json!("PATCH"));
    assert_eq!(member_ids(&ops[5]["response"]), vec![existing.clone()]);
    assert_eq!(ops[6]["location"], json!(format!("{BASE}{GROUPS}/{g3}")));
    assert_eq!(ops[7]["response"]["displayName"], json!("Bulk Renamed"));
    assert!(ops[8]["response"]["detail"].as_str().unwrap_or("").contains("missing"));
    assert_eq!(ops[9]["response"]["scimType"], json!("uniqueness"));
    assert!(ops[9].get("location").is_none(), "a failed POST has no location");

    // The effects.
    assert_eq!(member_ids(&sb.get(&format!("{GROUPS}/{g1}")).await), vec![new_user.clone()]);
    assert_eq!(member_ids(&sb.get(&format!("{GROUPS}/{g2}")).await), Vec::<String>::new(), "existing was deleted later");
    assert_eq!(member_ids(&sb.get(&format!("{GROUPS}/{g3}")).await), vec![new_user.clone()]);

    // Stats count the Bulk once; the log has every operation with "bulk": true.
    let stats = sb.state.stats();
    assert_eq!(stats.by_route.get("POST /oci/admin/v1/Bulk"), Some(&1));
    let log = sb.log().await;
    let bulk_entries: Vec<&Value> = log.iter().filter(|e| e["bulk"] == json!(true)).collect();
    assert_eq!(bulk_entries.len(), 13);
    assert_eq!(bulk_entries[2]["method"], json!("PATCH"));
    assert_eq!(bulk_entries[2]["path"], json!(format!("{GROUPS}/{g1}")));
    assert_eq!(bulk_entries[2]["status"], json!(204));
    assert_eq!(bulk_entries[2]["body"]["Operations"][0]["value"][0]["value"], json!(new_user));
    assert_eq!(bulk_entries[5]["query"], json!("attributes=members"));
    assert_eq!(bulk_entries[6]["path"], json!(format!("{GROUPS}/{g3}")));
    // The operations are logged just before the Bulk request itself, which has no
    // "bulk" key (like every ordinary entry).
    let at = log.iter().position(|e| e["path"] == json!(BULK)).expect("Bulk entry");
    assert!(log[at].get("bulk").is_none());
    assert_eq!(log[at]["status"], json!(200));
    assert!(log[at - 13..at].iter().all(|e| e["bulk"] == json!(true)));
    assert!(log[..at - 13].iter().all(|e| e.get("bulk").is_none()));
}

#[tokio::test]
async fn bulk_fail_on_errors_and_request_errors() {
    let sb = sandbox();
    let uid = id_of(&sb.create_user("x").await);
    let g = id_of(&sb.create_group("g", &[]).await);
    let add = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": uid, "type": "User"}]}
    ]});
    let a = sb
        .scim(
            "POST",
            BULK,
            Some(json!({
                "schemas": [BULK_REQUEST_SCHEMA],
                "failOnErrors": 1,
                "Operations": [
                    {"method": "PATCH", "path": "/Groups/nope", "data": add},
                    {"method": "PATCH", "path": format!("/Groups/{g}"), "data": add}
                ]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["Operations"].as_array().map(Vec::len), Some(1));
    assert_eq!(member_ids(&sb.get(&format!("{GROUPS}/{g}")).await), Vec::<String>::new());

    let a = sb.scim("POST", BULK, Some(json!({"Operations": []}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let a = sb.scim("POST", BULK, Some(json!({"schemas": [BULK_REQUEST_SCHEMA]}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let a = sb.scim("POST", BULK, Some(json!({"schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 0, "Operations": []}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let many: Vec<Value> = (0..=MAX_BULK_OPERATIONS).map(|_| json!({"method": "DELETE", "path": "/Users/x"})).collect();
    let a = sb.scim("POST", BULK, Some(json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": many}))).await;
    assert_scim_error(&a, StatusCode::PAYLOAD_TOO_LARGE, None);
    let a = sb.scim("POST", BULK, Some(json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": []}))).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["Operations"], json!([]));
}

#[tokio::test]
async fn bulk_memberships_for_three_groups_is_one_request() {
    let sb = sandbox();
    let uid = id_of(&sb.create_user("member").await);
    let mut gids = Vec::new();
    for n in ["a", "b", "c"] {
        gids.push(id_of(&sb.create_group(n, &[]).await));
    }
    let before = sb.state.stats().total;
    let ops: Vec<Value> = gids
        .iter()
        .map(|g| {
            json!({"method": "PATCH", "path": format!("/Groups/{g}"),
                   "data": {"schemas": [PATCH_OP_SCHEMA],
                            "Operations": [{"op": "add", "path": "members",
                                            "value": [{"value": uid, "type": "User"}]}]}})
        })
        .collect();
    let a = sb.scim("POST", BULK, Some(json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": ops}))).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(sb.state.stats().total, before + 1);
    let user = sb.get(&format!("{USERS}/{uid}")).await;
    assert_eq!(user["groups"].as_array().map(Vec::len), Some(3));
}

// ---------------------------------------------------------------------------------------
// Sandbox state, reset, persistence
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn state_reset_and_persistence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state.json");
    let config = SandboxConfig { data: Some(file.clone()), ..SandboxConfig::default() };
    let (u1, u2, g1, g2);
    {
        let sb = sandbox_with(config.clone());
        assert_eq!(sb.state_json().await["oci"], json!({"users": [], "groups": []}));
        let a = sb.create_user("first").await;
        u1 = id_of(&a);
        u2 = id_of(&sb.create_user("second").await);
        let a = sb
            .scim(
                "POST",
                GROUPS,
                Some(json!({
                    "schemas": [GROUP_SCHEMA, GROUP_EXTENSION], "displayName": "G1",
                    "members": [{"value": u2, "type": "User"}, {"value": u1, "type": "User"}],
                    GROUP_EXTENSION: {"description": "persisted"}
                })),
            )
            .await;
        g1 = id_of(&a.json);
        g2 = id_of(&sb.create_group("G2", &[]).await);
        sb.scim(
            "PUT",
            &format!("/oci/admin/v1/UserPasswordChanger/{u1}"),
            Some(json!({"password": "Long-enough-pw", "schemas": [PASSWORD_CHANGER_SCHEMA]})),
        )
        .await;
        let state = sb.state_json().await;
        let oci = &state["oci"];
        assert_eq!(oci["users"][0]["userName"], json!("first"));
        assert_eq!(oci["users"][0]["passwordChanges"], json!(1));
        assert_eq!(oci["users"][0]["meta"]["location"], json!(format!("{USERS}/{u1}")));
        assert_eq!(oci["users"][1]["groups"][0]["value"], json!(g1));
        assert_eq!(member_ids(&oci["groups"][0]), vec![u2.clone(), u1.clone()]);
        assert_eq!(oci["groups"][0][GROUP_EXTENSION]["description"], json!("persisted"));
        assert!(!state.to_string().contains("Long-enough-pw"));
    }
    let on_disk = std::fs::read_to_string(&file).expect("read");
    assert!(!on_disk.contains("Long-enough-pw"));

    // A new server on the same file has the same objects, in the same order.
    let sb = sandbox_with(config);
    let before = sb.state_json().await;
    let g = sb.get(&format!("{GROUPS}/{g1}")).await;
    assert_eq!(member_ids(&g), vec![u2.clone(), u1.clone()]);
    assert_eq!(g["schemas"], json!([GROUP_SCHEMA, GROUP_EXTENSION]));
    assert_eq!(g[GROUP_EXTENSION]["description"], json!("persisted"));
    let names: Vec<String> = sb.get(USERS).await["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|u| u["userName"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(names, vec!["first", "second"]);
    assert_eq!(before["oci"]["users"][0]["passwordChanges"], json!(1));
    assert_eq!(before["oci"]["users"][0]["passwordSet"], json!(true));
    let u = sb.get(&format!("{USERS}/{u1}")).await;
    assert_eq!(u["meta"]["created"], before["oci"]["users"][0]["meta"]["created"]);
    assert_eq!(sb.get(&format!("{GROUPS}/{g2}")).await["displayName"], json!("G2"));
    // Still unique after the reload.
    let a = sb.scim("POST", USERS, Some(user_body("FIRST", "a", "b"))).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));

    // Reset empties the domain (and persists that), but issued tokens stay valid.
    let token = sb.client_token().await;
    let a = sb.send("POST", "/_sandbox/reset", None, None, None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(sb.state_json().await["oci"], json!({"users": [], "groups": []}));
    let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
    assert_eq!(on_disk["oci"], json!({"users": [], "groups": []}));
    let a = sb.send("GET", USERS, Some(&format!("Bearer {token}")), None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["totalResults"], json!(0));
}

#[tokio::test]
async fn older_state_files_load_without_oci() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state.json");
    std::fs::write(&file, r#"{"runai": {"idps": []}}"#).expect("write");
    let sb = sandbox_with(SandboxConfig { data: Some(file), ..SandboxConfig::default() });
    assert_eq!(sb.state_json().await["oci"], json!({"users": [], "groups": []}));
}

// ---------------------------------------------------------------------------------------
// Filter and path parsing (unit)
// ---------------------------------------------------------------------------------------

fn path(s: &str) -> AttrPath {
    AttrPath::parse(s).expect("path")
}

#[test]
fn filter_precedence_and_shapes() {
    let cmp = |p: &str, v: &str| Filter::Compare(path(p), Op::Eq, Literal::Str(v.into()));
    assert_eq!(
        Filter::parse("a eq \"1\" or b eq \"2\" and c eq \"3\"").expect("parse"),
        Filter::Or(vec![cmp("a", "1"), Filter::And(vec![cmp("b", "2"), cmp("c", "3")])])
    );
    assert_eq!(
        Filter::parse("(a eq \"1\" or b eq \"2\") and not (c pr)").expect("parse"),
        Filter::And(vec![Filter::Or(vec![cmp("a", "1"), cmp("b", "2")]), Filter::Not(Box::new(Filter::Present(path("c"))))])
    );
    assert_eq!(
        Filter::parse("members[type eq \"User\" and value eq \"x\"]").expect("parse"),
        Filter::ValuePath(path("members"), Box::new(Filter::And(vec![cmp("type", "User"), cmp("value", "x")])))
    );
    assert_eq!(
        Filter::parse("a EQ true or b Ne null or c gt 5").expect("parse"),
        Filter::Or(vec![
            Filter::Compare(path("a"), Op::Eq, Literal::Bool(true)),
            Filter::Compare(path("b"), Op::Ne, Literal::Null),
            Filter::Compare(path("c"), Op::Gt, Literal::Num(5.into())),
        ])
    );
    assert_eq!(Filter::parse(r#"a eq "q\"uo\\te\u00e9""#).expect("parse"), cmp("a", "q\"uo\\teé"));
    let p = path("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName");
    assert_eq!(p.urn.as_deref(), Some(USER_SCHEMA));
    assert_eq!((p.attr.as_str(), p.sub.as_deref()), ("name", Some("givenName")));

    // 500 or-terms: one flat node, and an id set.
    let f = (0..500).map(|i| format!("id eq \"{i}\"")).collect::<Vec<_>>().join(" or ");
    let parsed = Filter::parse(&f).expect("parse");
    assert!(matches!(&parsed, Filter::Or(terms) if terms.len() == 500));
    assert_eq!(parsed.id_set().map(|s| s.len()), Some(500));
    assert!(Filter::parse("id eq \"1\" or userName eq \"x\"").expect("parse").id_set().is_none());
}

#[test]
fn patch_paths() {
    let p = PatchPath::parse("members[value eq \"a]b\"]").expect("parse");
    assert_eq!(p.attr, path("members"));
    assert!(p.filter.is_some() && p.filter_sub.is_none());
    let p = PatchPath::parse("emails[type eq \"work\"].value").expect("parse");
    assert_eq!(p.filter_sub.as_deref(), Some("value"));
    let p = PatchPath::parse(&format!("{GROUP_EXTENSION}:description")).expect("parse");
    assert_eq!(p.attr.urn.as_deref(), Some(GROUP_EXTENSION));
    assert_eq!(p.attr.attr, "description");
    for bad in ["members[", "members[value eq \"x\"]x", "a.b.c", "name.givenName[x pr]", ""] {
        assert!(PatchPath::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn urlencoded_parsing() {
    assert_eq!(
        parse_urlencoded("a=1+2&b=%22x%22&c&d=%zz&e=%E2%82%AC&f=%"),
        vec![
            ("a".to_string(), "1 2".to_string()),
            ("b".to_string(), "\"x\"".to_string()),
            ("c".to_string(), String::new()),
            ("d".to_string(), "%zz".to_string()),
            ("e".to_string(), "€".to_string()),
            ("f".to_string(), "%".to_string()),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Emulation switches: no User.groups, a cap on the members of one answer
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn without_user_groups_membership_shows_only_in_the_groups() {
    let sb = sandbox_with(SandboxConfig { scim_no_user_groups: true, ..SandboxConfig::default() });
    let u = sb.create_user("no-groups").await;
    let g = sb.create_group("team", &[&id_of(&u)]).await;
    let user = sb.get(&format!("{USERS}/{}", id_of(&u))).await;
    assert!(user.get("groups").is_none(), "users carry no groups attribute: {user}");
    assert!(filter_users(&sb, &format!("groups.value eq \"{}\"", id_of(&g))).await.is_empty(), "groups.value matches nothing");
    assert_eq!(filter_groups(&sb, &format!("members[value eq \"{}\"]", id_of(&u))).await, ["team"], "the group's members still match");

    // The default keeps User.groups.
    let sb = sandbox();
    let u = sb.create_user("with-groups").await;
    let g = sb.create_group("team", &[&id_of(&u)]).await;
    assert_eq!(sb.get(&format!("{USERS}/{}", id_of(&u))).await["groups"][0]["value"], json!(id_of(&g)));
}

#[tokio::test]
async fn answers_with_more_members_than_the_cap_are_refused() {
    let sb = sandbox_with(SandboxConfig { scim_max_members: 2, ..SandboxConfig::default() });
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(id_of(&sb.create_user(&format!("cap-{i}")).await));
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let big = sb.create_group("big", &refs).await;
    let small = sb.create_group("small", &refs[..2]).await;
    let path = format!("{GROUPS}/{}", id_of(&big));
    assert_scim_error(&sb.scim("GET", &path, None).await, StatusCode::BAD_REQUEST, Some("tooMany"));
    // Without the members, or a group within the cap, it answers.
    let a = sb.scim("GET", &format!("{path}?excludedAttributes=members"), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(member_ids(&sb.get(&format!("{GROUPS}/{}", id_of(&small))).await).len(), 2);
    // A list counts the members of every group it holds.
    assert_scim_error(&list(&sb, GROUPS, "").await, StatusCode::BAD_REQUEST, Some("tooMany"));
    assert_eq!(list(&sb, GROUPS, "attributes=displayName").await.status, StatusCode::OK);
    // The members can be paged as users filtered by groups.value.
    let a = list(&sb, USERS, &format!("filter={}&count=2", query(&format!("groups.value eq \"{}\"", id_of(&big))))).await;
    assert_eq!((a.status, a.json["totalResults"].as_u64()), (StatusCode::OK, Some(3)), "{}", a.raw);
}
