//! Tests of the OCI IAM emulation, one file per concern of `scim/` (in process, through
//! the sandbox's shared test client); this file holds the SCIM helpers they share.

mod attributes;
mod auth;
mod bulk;
mod discovery;
mod etag;
mod groups;
mod password;
mod patch;
mod query;
mod routes;
mod state;
mod switches;
mod users;

use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use base64::Engine as _;
use chrono::Utc;
use serde_json::{Value, json};

use super::filter::{AttrPath, Filter, Literal, Op, PatchPath};
use super::*;
use crate::sandbox::test_client::{Answer, Sb, sandbox, sandbox_with};
use crate::sandbox::{DEFAULT_SCIM_CLIENT_ID, DEFAULT_SCIM_CLIENT_SECRET, DEFAULT_SCIM_PASSWORD, DEFAULT_SCIM_USERNAME, SandboxConfig};

const BASE: &str = "http://sandbox.test:8080";
const STATIC: &str = DEFAULT_STATIC_TOKEN;
const USERS: &str = "/oci/admin/v1/Users";
const GROUPS: &str = "/oci/admin/v1/Groups";
const BULK: &str = "/oci/admin/v1/Bulk";

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

/// SCIM requests of the tests below (the shared client's [`Sb::scim`] sends one with the
/// static token).
impl Sb {
    async fn token(&self, authorization: Option<&str>, form: &str) -> Answer {
        self.send("POST", TOKEN_PATH, authorization, Some("application/x-www-form-urlencoded"), Some(form)).await
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

    /// [`Sb::scim`] with extra headers (`If-Match`, ...).
    async fn scim_with(&self, method: &str, path: &str, extra: &[(header::HeaderName, &str)], body: Option<Value>) -> Answer {
        let body = body.map(|b| b.to_string());
        let authorization = format!("Bearer {STATIC}");
        let mut headers = vec![(header::AUTHORIZATION, authorization.as_str())];
        if body.is_some() {
            headers.push((header::CONTENT_TYPE, "application/scim+json"));
        }
        headers.extend(extra.iter().cloned());
        self.send_with(method, path, &headers, body.as_deref()).await
    }

    async fn get(&self, path: &str) -> Value {
        let a = self.scim("GET", path, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
        a.json
    }

    async fn patch(&self, path: &str, ops: Value) -> Answer {
        self.scim("PATCH", path, Some(json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops}))).await
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

/// `W/"<32 hex>"`, the shape of every version.
fn is_version(s: &str) -> bool {
    s.strip_prefix("W/\"").and_then(|s| s.strip_suffix('"')).is_some_and(is_hex32)
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

fn path(s: &str) -> AttrPath {
    AttrPath::parse(s).expect("path")
}
