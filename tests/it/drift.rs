//! Drift by change, not only by deletion: an object changed behind Terraform's back shows
//! in the next plan as an update back to the configuration (the plan's `before` is what
//! the server has now), and the apply puts the configuration back on the server. And an
//! import of an object that does not exist is an error, for every resource type.

use crate::support;

use serde_json::{Value, json};
use support::{Sandbox, Workspace, actions, resource_change};

const USER_1: &str = "9124292845052624898";
const OKTA2: &str = "9124292845052624898";

/// The plan after the out-of-band change: an in-place update of `addr` whose `before`
/// has `field` = `server_value` (what the refresh read); then the apply, whose checks
/// compare the server with the configuration again.
#[track_caller]
fn assert_drift_repaired(ws: &Workspace, addr: &str, field: &str, server_value: Value) {
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, addr), ["update"], "the change made outside Terraform is planned back");
    let before = support::value_at(&resource_change(&plan, addr)["change"]["before"], field);
    assert_eq!(before, server_value, "the refresh read the server's new {field}");
    ws.apply();
}

#[track_caller]
fn ok(sb: &Sandbox, method: &str, path: &str, body: Value) {
    let (status, answer) = sb.http(method, path, Some(body));
    assert!((200..300).contains(&status), "{method} {path} answered {status}: {answer}");
}

fn scim_replace(path: &str, value: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": path, "value": value}]})
}

fn scim_remove_member(user: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]})
}

#[test]
fn scim_user_changed_outside_terraform() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main("resource \"identity_scim_user\" \"u\" {\n  user_name    = \"drift@example.com\"\n  display_name = \"Drift\"\n  active       = true\n}\n");
    ws.apply();
    let id = ws.state_attr("identity_scim_user.u", "id");
    let path = format!("/oci/admin/v1/Users/{}", id.as_str().unwrap_or_default());
    ok(&sb, "PATCH", &path, scim_replace("displayName", json!("Changed by hand")));
    assert_drift_repaired(&ws, "identity_scim_user.u", "display_name", json!("Changed by hand"));
    ok(&sb, "PATCH", &path, scim_replace("active", json!(false)));
    assert_drift_repaired(&ws, "identity_scim_user.u", "active", json!(false));
    ws.destroy();
}

#[test]
fn scim_group_changed_outside_terraform() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(
        "resource \"identity_scim_user\" \"u\" {\n  user_name = \"drift.member@example.com\"\n}\n\
         resource \"identity_scim_group\" \"g\" {\n  display_name = \"drift-group\"\n  members      = [identity_scim_user.u.id]\n}\n",
    );
    ws.apply();
    let group = ws.state_attr("identity_scim_group.g", "id");
    let user = ws.state_attr("identity_scim_user.u", "id");
    let path = format!("/oci/admin/v1/Groups/{}", group.as_str().unwrap_or_default());
    ok(&sb, "PATCH", &path, scim_replace("displayName", json!("renamed-by-hand")));
    assert_drift_repaired(&ws, "identity_scim_group.g", "display_name", json!("renamed-by-hand"));
    // Membership is access: a member removed by hand is planned back, by id.
    ok(&sb, "PATCH", &path, scim_remove_member(user.as_str().unwrap_or_default()));
    assert_drift_repaired(&ws, "identity_scim_group.g", "members", json!([]));
    ws.destroy();
}

#[test]
fn scim_memberships_changed_outside_terraform() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(
        "resource \"identity_scim_user\" \"u\" {\n  user_name = \"drift.m@example.com\"\n}\n\
         resource \"identity_scim_group\" \"a\" {\n  display_name = \"drift-a\"\n}\n\
         resource \"identity_scim_group\" \"b\" {\n  display_name = \"drift-b\"\n}\n\
         resource \"identity_scim_user_group_memberships\" \"m\" {\n  user_id   = identity_scim_user.u.id\n  group_ids = [identity_scim_group.a.id]\n}\n\
         resource \"identity_scim_group_member\" \"b\" {\n  group_id = identity_scim_group.b.id\n  user_id  = identity_scim_user.u.id\n}\n",
    );
    ws.apply();
    let user = ws.state_attr("identity_scim_user.u", "id").as_str().unwrap_or_default().to_string();
    let group = |name: &str| ws.state_attr(&format!("identity_scim_group.{name}"), "id").as_str().unwrap_or_default().to_string();
    let (a, b) = (group("a"), group("b"));
    ok(&sb, "PATCH", &format!("/oci/admin/v1/Groups/{a}"), scim_remove_member(&user));
    assert_drift_repaired(&ws, "identity_scim_user_group_memberships.m", "group_ids", json!([]));
    ok(&sb, "PATCH", &format!("/oci/admin/v1/Groups/{b}"), scim_remove_member(&user));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, "identity_scim_group_member.b"), ["create"], "a membership removed by hand is planned back");
    ws.apply();
    ws.destroy();
}

fn idp_config(mappers: bool) -> String {
    let mut hcl = r#"resource "identity_idp" "corp" {
  name = "drift"
  type = "oidc"
  oidc = {
    client_id             = "terraform"
    client_secret_wo      = "s3cret"
    discover_document_url = "https://idp.example.com/.well-known/openid-configuration"
  }
}
"#
    .to_string();
    if mappers {
        hcl.push_str("resource \"identity_idp_mappers\" \"corp\" {\n  idp = identity_idp.corp.alias\n  uid = \"sub\"\n}\n");
    }
    hcl
}

#[test]
fn idp_and_mappers_changed_outside_terraform() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&idp_config(true));
    ws.apply();
    let body = json!({
        "name": "drift",
        "type": "oidc",
        "oidcData": {
            "clientId": "changed-by-hand",
            "clientSecret": "other",
            "discoverDocumentUrl": "https://idp.example.com/.well-known/openid-configuration"
        }
    });
    ok(&sb, "PUT", "/runai/api/v1/idps/drift", body);
    assert_drift_repaired(&ws, "identity_idp.corp", "oidc.client_id", json!("changed-by-hand"));
    // The PUT above reset the mappers too (the server's defaults): the mappers resource
    // sees it; the next change by hand is to the mappers alone.
    ok(&sb, "PUT", "/runai/api/v1/idps/drift/mappers", json!({"uid": "email"}));
    // Run:ai applies a mapper change some time after its 202: wait until it shows.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sb.runai_idp("drift").expect("the idp")["mappers"]["uid"] != json!("email") {
        assert!(std::time::Instant::now() < deadline, "the mapper change by hand never became visible");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_drift_repaired(&ws, "identity_idp_mappers.corp", "uid", json!("email"));
    ws.destroy();
}

#[test]
fn user_oidc_changed_outside_terraform() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&format!(
        "resource \"identity_user_oidc\" \"john\" {{\n  user_id  = \"{USER_1}\"\n  oidc_id  = \"{OKTA2}\"\n  oidc_sub = \"John\"\n}}\n"
    ));
    ws.apply();
    ok(&sb, "PATCH", &format!("/fudo/api/v2/user/{USER_1}/oidc/{OKTA2}"), json!({"oidc_sub": "Mallory"}));
    assert_drift_repaired(&ws, "identity_user_oidc.john", "oidc_sub", json!("Mallory"));
    ws.destroy();
}

/// Importing an id that names no object is an error naming the resource, for every type.
#[test]
fn importing_an_object_that_does_not_exist_is_an_error() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(
        r#"resource "identity_scim_user" "u" {
  user_name = "nobody@example.com"
}
resource "identity_scim_group" "g" {
  display_name = "nobody"
}
resource "identity_scim_group_member" "m" {
  group_id = "0000000000000000000000000000000a"
  user_id  = "0000000000000000000000000000000b"
}
resource "identity_scim_user_group_memberships" "m" {
  user_id   = "0000000000000000000000000000000b"
  group_ids = []
}
resource "identity_idp" "corp" {
  name = "nobody"
  type = "oidc"
  oidc = {
    client_id             = "terraform"
    client_secret_wo      = "s3cret"
    discover_document_url = "https://idp.example.com/.well-known/openid-configuration"
  }
}
resource "identity_idp_mappers" "m" {
  idp = "nobody"
}
resource "identity_user_oidc" "john" {
  user_id  = "9124292845052624898"
  oidc_id  = "9124292845052624800"
  oidc_sub = "John"
}
resource "identity_oidc_group_import" "corp" {
  issuer_id = 123
}
"#,
    );
    for (addr, id) in [
        ("identity_scim_user.u", "0000000000000000000000000000000b"),
        ("identity_scim_group.g", "0000000000000000000000000000000a"),
        ("identity_scim_group_member.m", "0000000000000000000000000000000a/0000000000000000000000000000000b"),
        ("identity_scim_user_group_memberships.m", "0000000000000000000000000000000b"),
        ("identity_idp.corp", "nobody"),
        ("identity_idp_mappers.m", "nobody"),
        ("identity_user_oidc.john", "9124292845052624898/9124292845052624800"),
        ("identity_oidc_group_import.corp", "424242"),
    ] {
        let err = ws.import_expect_err(addr, id);
        let flat = support::flat(&err);
        assert!(
            flat.contains("Cannot import non-existent remote object") && flat.contains(&format!("import an existing object to \"{addr}\"")),
            "{addr} {id}: the import says the object does not exist:\n{err}"
        );
        assert!(ws.state_addresses().is_empty(), "{addr}: nothing imported");
    }
}
