//! Acceptance tests for the SCIM resources (OCI IAM) through the real terraform CLI.

use crate::support;

use serde_json::{Value, json};
use support::{Sandbox, Workspace, actions};

const PASSWORD_1: &str = "Correct-Horse-Battery-1";
const PASSWORD_2: &str = "Correct-Horse-Battery-2";

fn users(sb: &Sandbox) -> Vec<Value> {
    sb.scim_users()
}

fn groups(sb: &Sandbox) -> Vec<Value> {
    sb.scim_groups()
}

fn user_hcl(name: &str, given: &str, password: Option<(&str, u32)>) -> String {
    let pw = password.map(|(p, v)| format!("password_wo = \"{p}\"\n  password_wo_version = {v}")).unwrap_or_default();
    format!(
        r#"resource "identity_scim_user" "jane" {{
  user_name   = "{name}"
  given_name  = "{given}"
  family_name = "Doe"
  emails = [{{
    value   = "Jane.Doe@Example.com"
    primary = true
  }}]
  {pw}
}}"#
    )
}

#[test]
fn user_lifecycle_with_password() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let addr = "identity_scim_user.jane";
    ws.write_main(&user_hcl("jane", "Jane", Some((PASSWORD_1, 1))));
    let before = sb.stats();
    ws.apply();
    let after = sb.stats();
    let posts = after["by_route"]["POST /oci/admin/v1/Users"].as_u64().unwrap_or(0)
        - before["by_route"]["POST /oci/admin/v1/Users"].as_u64().unwrap_or(0);
    assert_eq!(posts, 1, "one POST creates the user");
    let u = &users(&sb)[0];
    assert_eq!(u["passwordChanges"], 1, "the password was set: {u}");
    assert!(!ws.state_attr(addr, "ocid").as_str().unwrap_or("").is_empty());
    assert_eq!(ws.state_attr(addr, "emails.0.value"), "Jane.Doe@Example.com", "the configured case survives the server's lower-casing");
    assert_eq!(ws.state_attr(addr, "display_name"), "Jane Doe", "server default read back");

    // In place: a name change is one PATCH.
    ws.write_main(&user_hcl("jane", "Janet", Some((PASSWORD_1, 1))));
    assert_eq!(ws.resource_actions(addr), vec!["update"]);
    ws.apply();
    assert_eq!(users(&sb)[0]["name"]["givenName"], "Janet");
    assert_eq!(users(&sb)[0]["passwordChanges"], 1, "the password is not re-sent without a version change");

    // Rotation by version, with every log on: the password appears in no log line.
    ws.write_main(&user_hcl("jane", "Janet", Some((PASSWORD_2, 2))));
    assert_eq!(ws.resource_actions(addr), vec!["update"]);
    let mut traced = ws.sibling();
    traced.set_env("TF_LOG", "trace");
    std::fs::copy(ws.dir().join("terraform.tfstate"), traced.dir().join("terraform.tfstate")).expect("copy state");
    traced.write_main(&user_hcl("jane", "Janet", Some((PASSWORD_2, 2))));
    let out = traced.apply();
    assert!(out.stderr.len() > 10_000, "trace logs were captured");
    assert!(!out.stderr.contains(PASSWORD_2) && !out.stdout.contains(PASSWORD_2), "the password appears in the logs");
    std::fs::copy(traced.dir().join("terraform.tfstate"), ws.dir().join("terraform.tfstate")).expect("copy state back");
    assert_eq!(users(&sb)[0]["passwordChanges"], 2);
    ws.assert_plan_empty();

    // A password the policy rejects: the server's words, the version not recorded.
    ws.write_main(&user_hcl("jane", "Janet", Some(("short", 3))));
    let err = ws.apply_expect_err();
    assert!(err.contains("The password must have at least 12 characters"), "{err}");
    assert_eq!(ws.state_attr(addr, "password_wo_version"), 2, "the failed version is not recorded as applied");
    assert_eq!(users(&sb).len(), 1, "the user still exists");

    for text in [PASSWORD_1, PASSWORD_2, "short"] {
        ws.assert_state_lacks(text);
        let log = serde_json::to_string(&sb.requests()).unwrap_or_default();
        assert!(!log.contains(text), "password text in the sandbox's request log");
    }

    // Import by id, and by ocid, into fresh directories.
    ws.write_main(&user_hcl("jane", "Janet", Some((PASSWORD_2, 2))));
    ws.apply();
    let id = ws.state_attr(addr, "id").as_str().unwrap_or_default().to_string();
    let ocid = ws.state_attr(addr, "ocid").as_str().unwrap_or_default().to_string();
    for import_id in [&id, &ocid] {
        let fresh = ws.sibling();
        fresh.write_main(&user_hcl("jane", "Janet", None));
        fresh.import(addr, import_id);
        assert_eq!(fresh.state_attr(addr, "id"), id.as_str());
        fresh.assert_plan_empty();
    }

    // Deleted behind Terraform's back: a create.
    let (status, _) = sb.http("DELETE", &format!("/oci/admin/v1/Users/{id}"), None);
    assert_eq!(status, 204);
    assert_eq!(ws.resource_actions(addr), vec!["create"]);
    ws.apply();
    ws.destroy();
    assert!(users(&sb).is_empty());
}

fn group_hcl(members: &[&str]) -> String {
    let users: String = ["ann", "bob", "cat", "dan"]
        .iter()
        .map(|u| format!("resource \"identity_scim_user\" \"{u}\" {{\n  user_name = \"{u}\"\n}}\n"))
        .collect();
    let list = members.iter().map(|m| format!("identity_scim_user.{m}.id")).collect::<Vec<_>>().join(", ");
    format!(
        r#"{users}
resource "identity_scim_group" "eng" {{
  display_name = "engineering"
  description  = "Ships code"
  members      = [{list}]
}}"#
    )
}

#[test]
fn group_members_change_by_difference_only() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let addr = "identity_scim_group.eng";
    ws.write_main(&group_hcl(&["ann", "bob", "cat"]));
    ws.apply();
    assert_eq!(groups(&sb)[0]["members"].as_array().map(Vec::len), Some(3));

    // One member leaves: one PATCH with one operation.
    let mark = sb.requests().len();
    ws.write_main(&group_hcl(&["ann", "bob"]));
    assert_eq!(ws.resource_actions(addr), vec!["update"]);
    ws.apply();
    let patches: Vec<Value> = sb.requests()[mark..]
        .iter()
        .filter(|r| r["method"] == "PATCH" && r["path"].as_str().unwrap_or("").contains("/Groups/"))
        .cloned()
        .collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(patches[0]["body"]["Operations"].as_array().map(Vec::len), Some(1), "{}", patches[0]);

    // Drift: a member removed out of band is an in-place update that adds it back.
    let gid = ws.state_attr(addr, "id").as_str().unwrap_or_default().to_string();
    let bob = ws.state_attr("identity_scim_user.bob", "id").as_str().unwrap_or_default().to_string();
    let (status, _) = sb.http(
        "PATCH",
        &format!("/oci/admin/v1/Groups/{gid}"),
        Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove", "path": format!("members[value eq \"{bob}\"]")}]})),
    );
    assert!(status == 200 || status == 204);
    assert_eq!(ws.resource_actions(addr), vec!["update"]);
    ws.apply();

    // Import into a fresh directory reproduces the group and its members.
    let fresh = ws.sibling();
    fresh.write_main(&format!(
        r#"resource "identity_scim_group" "eng" {{
  display_name = "engineering"
  description  = "Ships code"
  members      = ["{}", "{bob}"]
}}"#,
        ws.state_attr("identity_scim_user.ann", "id").as_str().unwrap_or_default()
    ));
    fresh.import(addr, &gid);
    fresh.assert_plan_empty();

    ws.destroy();
    assert!(users(&sb).is_empty() && groups(&sb).is_empty(), "destroy leaves no users or groups");
}

#[test]
fn memberships_use_one_bulk_request() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let hcl = |groups: &str, exclusive: bool| {
        format!(
            r#"resource "identity_scim_user" "u" {{
  user_name = "member"
}}
resource "identity_scim_group" "g" {{
  for_each     = toset(["a", "b", "c", "d"])
  display_name = "group-${{each.key}}"
}}
resource "identity_scim_user_group_memberships" "m" {{
  user_id   = identity_scim_user.u.id
  group_ids = [{groups}]
  exclusive = {exclusive}
}}
resource "identity_scim_group_member" "extra" {{
  group_id = identity_scim_group.g["d"].id
  user_id  = identity_scim_user.u.id
}}"#
        )
    };
    let three = r#"identity_scim_group.g["a"].id, identity_scim_group.g["b"].id, identity_scim_group.g["c"].id"#;
    let before = sb.route_count("POST /oci/admin/v1/Bulk");
    ws.write_main(&hcl(three, false));
    ws.apply();
    assert_eq!(sb.route_count("POST /oci/admin/v1/Bulk") - before, 1, "three groups joined in one Bulk request");
    let addr = "identity_scim_user_group_memberships.m";
    assert_eq!(ws.state_attr(addr, "group_ids").as_array().map(Vec::len), Some(3));

    // Import of both membership resources.
    let uid = ws.state_attr("identity_scim_user.u", "id").as_str().unwrap_or_default().to_string();
    let gd = ws.state_attr("identity_scim_group.g[\"d\"]", "id").as_str().unwrap_or_default().to_string();
    let fresh = ws.sibling();
    fresh.write_main(&format!("resource \"identity_scim_group_member\" \"extra\" {{\n  group_id = \"{gd}\"\n  user_id  = \"{uid}\"\n}}\n"));
    fresh.import("identity_scim_group_member.extra", &format!("{gd}/{uid}"));
    fresh.assert_plan_empty();
    let ga = ws.state_attr("identity_scim_group.g[\"a\"]", "id").as_str().unwrap_or_default().to_string();
    let gb = ws.state_attr("identity_scim_group.g[\"b\"]", "id").as_str().unwrap_or_default().to_string();
    let gc = ws.state_attr("identity_scim_group.g[\"c\"]", "id").as_str().unwrap_or_default().to_string();
    let imported = ws.sibling();
    imported.write_main(&format!(
        "resource \"identity_scim_user_group_memberships\" \"m\" {{\n  user_id   = \"{uid}\"\n  group_ids = [\"{ga}\", \"{gb}\", \"{gc}\", \"{gd}\"]\n}}\n"
    ));
    imported.import(addr, &uid);
    imported.assert_plan_empty();
    let bad = fresh.import_expect_err("identity_scim_group_member.extra", "no-slash");
    assert!(bad.contains("<group_id>/<user_id>"), "{bad}");

    // An unknown group id fails for that group only; the others hold.
    ws.write_main(&hcl(&format!("{three}, \"no-such-group\""), false));
    let err = ws.apply_expect_err();
    assert!(err.contains("no-such-group"), "{err}");
    assert_eq!(ws.state_attr(addr, "group_ids").as_array().map(Vec::len), Some(3), "state records only what succeeded");

    // Exclusive: the user also leaves the group joined through identity_scim_group_member.
    ws.write_main(&hcl(three, true));
    ws.apply_unchecked("the exclusive set removes the membership identity_scim_group_member.extra declares, so the next plan re-creates it: what this step shows");
    let extra_plan = ws.plan_json();
    assert_eq!(actions(&extra_plan, "identity_scim_group_member.extra"), vec!["create"], "the exclusive set removed the extra membership");
    ws.destroy();
    assert!(users(&sb).is_empty() && groups(&sb).is_empty());
}

#[test]
fn data_sources_filter_and_page() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(
        r#"resource "identity_scim_user" "u" {
  count     = 60
  user_name = "user-${count.index}"
}
resource "identity_scim_group" "g" {
  display_name = "pagers"
  members      = [identity_scim_user.u[0].id]
}"#,
    );
    ws.apply();

    // Refresh coalesces the 60 reads into few list requests; a user deleted out of
    // band still shows as gone.
    let gone = ws.state_attr("identity_scim_user.u[7]", "id").as_str().unwrap_or_default().to_string();
    let (status, _) = sb.http("DELETE", &format!("/oci/admin/v1/Users/{gone}"), None);
    assert_eq!(status, 204);
    let before = sb.stats();
    let plan = ws.plan_json();
    let after = sb.stats();
    let reads = |s: &Value| {
        s["by_route"]["GET /oci/admin/v1/Users"].as_u64().unwrap_or(0) + s["by_route"]["GET /oci/admin/v1/Users/{id}"].as_u64().unwrap_or(0)
    };
    let used = reads(&after) - reads(&before);
    assert!(used > 0 && used < 30, "refreshing 61 resources took {used} read requests");
    assert_eq!(actions(&plan, "identity_scim_user.u[7]"), vec!["create"]);
    ws.apply();
    let ds = ws.sibling();
    let uid = ws.state_attr("identity_scim_user.u[0]", "id").as_str().unwrap_or_default().to_string();
    ds.write_main(&format!(
        r#"data "identity_scim_users" "all" {{}}
data "identity_scim_users" "some" {{
  filter = "userName sw \"user-1\""
}}
data "identity_scim_groups" "of" {{
  member_user_id = "{uid}"
}}
output "all" {{ value = length(data.identity_scim_users.all.users) }}
output "some" {{ value = length(data.identity_scim_users.some.users) }}
output "groups" {{ value = [for g in data.identity_scim_groups.of.groups : g.display_name] }}"#
    ));
    ds.apply();
    let out = ds.outputs_json();
    assert_eq!(out["all"]["value"], 60, "paged past the 50-item page cap");
    assert_eq!(out["some"]["value"], 11, "user-1 and user-10..19");
    assert_eq!(out["groups"]["value"], json!(["pagers"]));

    ds.write_main(
        r#"data "identity_scim_users" "bad" {
  filter = "userName eq"
}"#,
    );
    let err = ds.plan_expect_err(&[]);
    assert!(err.contains("Unable to list users") && err.contains("filter"), "{err}");
    ws.destroy();
}

#[test]
fn duplicate_user_name_tells_how_to_import() {
    let sb = Sandbox::start();
    let (status, body) = sb.http(
        "POST",
        "/oci/admin/v1/Users",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "taken"})),
    );
    assert_eq!(status, 201);
    let id = body["id"].as_str().unwrap_or_default().to_string();
    let ws = Workspace::new(&sb);
    ws.write_main(
        r#"resource "identity_scim_user" "t" {
  user_name = "taken"
}"#,
    );
    let err = ws.apply_expect_err();
    assert!(err.contains(&format!("terraform import identity_scim_user.<name> {id}")), "{err}");
}

#[test]
fn wrong_client_secret_is_a_configuration_error() {
    let sb = Sandbox::start();
    let mut ws = Workspace::new(&sb);
    ws.set_env("IDENTITY_SCIM_CLIENT_SECRET", "wrong-secret");
    ws.write_main(
        r#"resource "identity_scim_user" "t" {
  user_name = "nobody"
}"#,
    );
    let err = ws.apply_expect_err();
    assert!(err.contains("Credentials refused by the SCIM token endpoint (401 invalid_client)"), "{err}");
    assert!(err.contains("IDENTITY_SCIM_CLIENT_SECRET"), "{err}");
    assert!(!err.contains("wrong-secret"), "the secret is not echoed");
}

#[test]
fn one_token_request_serves_concurrent_resources() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(
        r#"resource "identity_scim_user" "u" {
  count     = 20
  user_name = "concurrent-${count.index}"
}"#,
    );
    let before = sb.route_count("POST /oci/oauth2/v1/token");
    ws.apply_unchecked("the token requests of this apply are counted first; checked below");
    assert_eq!(sb.route_count("POST /oci/oauth2/v1/token") - before, 1, "20 concurrent creates share one token (single-flight)");
    ws.check_applied();
    ws.destroy();
}

const TOKEN_ROUTE: &str = "POST /oci/oauth2/v1/token";

/// An access token that expires during one apply is replaced, never an error: tokens live
/// 1 s (the provider renews one after half of so short a life) and every vendor request
/// waits 300 ms, so the 30 creates, at most 10 at a time (Terraform's parallelism), take
/// at least three rounds after the first token arrived: the third starts at least 0.6 s
/// later, when that token is due for renewal. One provider process, so the count is of
/// renewals, not of processes.
#[test]
fn tokens_are_renewed_when_they_expire_within_one_run() {
    let sb = Sandbox::start_with(&["--scim-token-ttl-secs", "1"]);
    let ws = Workspace::new(&sb);
    ws.write_main(
        r#"resource "identity_scim_user" "u" {
  count     = 30
  user_name = "u${count.index}"
}"#,
    );
    sb.set_faults(json!({"rate": 0, "delay_ms": 300}));
    let before = sb.route_count(TOKEN_ROUTE);
    let started = std::time::Instant::now();
    ws.apply_unchecked("its token requests are counted first; checked below");
    let took = started.elapsed();
    let tokens = sb.route_count(TOKEN_ROUTE) - before;
    assert!(tokens >= 2, "the token that expired during the apply was renewed: {tokens} token request(s)");
    // A token is renewed half a second after it arrived, never sooner (no 401 below), so
    // however slow the machine, an apply of `took` asks for at most 1 + took / 0.5 s.
    let most = 1 + (took.as_millis() / 500) as u64;
    assert!(tokens <= most, "tokens are renewed when due, not per request: {tokens} token requests in {took:?}");
    let refused: Vec<Value> = sb.requests().into_iter().filter(|r| r["status"] == json!(401)).collect();
    assert!(refused.is_empty(), "renewed before it expired, so the server never refused one: {refused:#?}");
    assert_eq!(sb.scim_users().len(), 30);
    sb.set_faults(json!({"rate": 0}));
    ws.check_applied();
    ws.destroy();
}

/// A token the server refuses (401) is dropped, a new one fetched, and the request sent
/// again: the first SCIM request of a refresh (request 2, after the token request) is
/// answered 401, once.
#[test]
fn a_refused_token_is_replaced_and_the_request_sent_again() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(
        r#"resource "identity_scim_user" "u" {
  count     = 3
  user_name = "r${count.index}"
}"#,
    );
    ws.apply();
    sb.set_faults(json!({"rate": 1, "statuses": [401], "after_n": 1, "count": 1}));
    let before = sb.route_count(TOKEN_ROUTE);
    let out = ws.plan(&[]);
    assert_eq!(out.code, 0, "{}", ws.report("the plan after a refused token is empty", &out));
    let faults = sb.http("GET", "/_sandbox/faults", None).1;
    assert_eq!(faults["injected"], json!(1), "one 401 was served: {faults}");
    assert_eq!(sb.route_count(TOKEN_ROUTE) - before, 2, "the first token, and one more after the 401");
    sb.set_faults(json!({"rate": 0}));
    ws.destroy();
}
