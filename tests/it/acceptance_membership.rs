//! Membership is access: every apply that adds or removes a group membership shows it in
//! the plan by id, import and migrations never drop a member, and the server's
//! membership is asserted after every apply.
//!
//! Each scenario runs twice: against the sandbox as OCI IAM (it maintains `User.groups`)
//! and with `--scim-no-user-groups` (it does not, as RFC 7643 allows), so both read
//! paths of the provider are exercised.

use crate::support;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use support::{Sandbox, Workspace, actions, resource_change};

/// The two emulations of the sandbox's SCIM server.
const WITH_USER_GROUPS: &[&str] = &[];
const WITHOUT_USER_GROUPS: &[&str] = &["--scim-no-user-groups"];

fn set(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

/// The member user ids of a group, from the server (the group's own `members`).
#[track_caller]
fn members_on_server(sb: &Sandbox, group: &str) -> BTreeSet<String> {
    let (status, g) = sb.http("GET", &format!("/oci/admin/v1/Groups/{group}"), None);
    assert_eq!(status, 200, "GET group {group}: {g}");
    g["members"].as_array().map(|ms| ms.iter().filter_map(|m| m["value"].as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// The ids of the groups a user is in, from the server (every group's `members`).
#[track_caller]
fn groups_on_server(sb: &Sandbox, user: &str) -> BTreeSet<String> {
    let (status, list) = sb.http("GET", "/oci/admin/v1/Groups?count=50", None);
    assert_eq!(status, 200, "GET groups: {list}");
    assert!(list["totalResults"].as_u64().unwrap_or(0) <= 50, "more groups than one page: {list}");
    list["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["members"].as_array().is_some_and(|ms| ms.iter().any(|m| m["value"].as_str() == Some(user))))
        .filter_map(|g| g["id"].as_str().map(str::to_string))
        .collect()
}

/// Adds a member behind Terraform's back.
#[track_caller]
fn add_out_of_band(sb: &Sandbox, group: &str, user: &str) {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": user, "type": "User"}]}]});
    let (status, answer) = sb.http("PATCH", &format!("/oci/admin/v1/Groups/{group}"), Some(body));
    assert!((200..300).contains(&status), "PATCH group {group}: {status} {answer}");
}

/// Removes a member behind Terraform's back.
#[track_caller]
fn remove_out_of_band(sb: &Sandbox, group: &str, user: &str) {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]});
    let (status, answer) = sb.http("PATCH", &format!("/oci/admin/v1/Groups/{group}"), Some(body));
    assert!((200..300).contains(&status), "PATCH group {group}: {status} {answer}");
}

fn id(ws: &Workspace, addr: &str) -> String {
    ws.state_attr(addr, "id").as_str().unwrap_or_else(|| panic!("{addr} has no id in state")).to_string()
}

/// A set-valued attribute of a plan's `before` / `after`.
fn set_at(change: &Value, side: &str, attr: &str) -> BTreeSet<String> {
    change["change"][side][attr].as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// Every path of a plan whose planned value is unknown (`after_unknown` true).
fn unknown_paths(plan: &Value) -> Vec<String> {
    fn walk(v: &Value, path: String, out: &mut Vec<String>) {
        match v {
            Value::Bool(true) => out.push(path),
            Value::Object(o) => o.iter().for_each(|(k, x)| walk(x, format!("{path}.{k}"), out)),
            Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| walk(x, format!("{path}[{i}]"), out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for c in plan["resource_changes"].as_array().into_iter().flatten() {
        walk(&c["change"]["after_unknown"], c["address"].as_str().unwrap_or("?").to_string(), &mut out);
    }
    out
}

const USERS_AND_GROUPS: &str = r#"
resource "identity_scim_user" "u" {
  for_each  = toset(["u1", "u2"])
  user_name = "member-${each.key}@example.com"
}

resource "identity_scim_group" "g" {
  for_each     = toset(["a", "b", "c"])
  display_name = "membership-${each.key}"
}
"#;

fn memberships(groups: &[&str], exclusive: bool) -> String {
    let ids: Vec<String> = groups.iter().map(|g| format!("identity_scim_group.g[\"{g}\"].id")).collect();
    format!(
        r#"{USERS_AND_GROUPS}
resource "identity_scim_user_group_memberships" "m" {{
  user_id   = identity_scim_user.u["u1"].id
  group_ids = [{}]
  exclusive = {exclusive}
}}
"#,
        ids.join(", ")
    )
}

// ---------------------------------------------------------------------------------------
// identity_scim_user_group_memberships: exclusive switch, out-of-band adds, import
// ---------------------------------------------------------------------------------------

fn exclusive_switch_and_out_of_band_adds(mode: &[&str]) {
    let sb = Sandbox::start_with(mode);
    let ws = Workspace::new(&sb);
    ws.write_main(&memberships(&["a"], false));
    ws.apply();
    let (u1, a, b, c) = (
        id(&ws, "identity_scim_user.u[\"u1\"]"),
        id(&ws, "identity_scim_group.g[\"a\"]"),
        id(&ws, "identity_scim_group.g[\"b\"]"),
        id(&ws, "identity_scim_group.g[\"c\"]"),
    );
    let addr = "identity_scim_user_group_memberships.m";
    assert_eq!(groups_on_server(&sb, &u1), set(&[&a]));
    assert_eq!(ws.state_attr(addr, "all_group_ids"), json!([a]));

    // Non-exclusive: a group joined out of band is not this resource's business.
    add_out_of_band(&sb, &b, &u1);
    ws.apply();
    assert_eq!(groups_on_server(&sb, &u1), set(&[&a, &b]), "a non-exclusive apply leaves an unlisted group alone");

    // The exclusive switch: the plan names the group the user will leave.
    ws.write_main(&memberships(&["a"], true));
    let plan = ws.plan_json();
    let change = resource_change(&plan, addr);
    assert_eq!(actions(&plan, addr), ["update"]);
    assert!(set_at(&change, "before", "all_group_ids").contains(&b), "{change:#}");
    assert_eq!(set_at(&change, "after", "all_group_ids"), set(&[&a]), "the plan shows - b: {change:#}");
    assert_eq!(change["change"]["after_unknown"]["all_group_ids"], json!(null), "planned exactly: {change:#}");
    ws.apply();
    assert_eq!(groups_on_server(&sb, &u1), set(&[&a]), "the exclusive apply removed b");
    ws.assert_plan_empty();

    // Exclusive: a group joined out of band is planned for removal, by id.
    add_out_of_band(&sb, &c, &u1);
    let plan = ws.plan_json();
    let change = resource_change(&plan, addr);
    assert_eq!(set_at(&change, "before", "group_ids"), set(&[&a, &c]), "{change:#}");
    assert_eq!(set_at(&change, "after", "group_ids"), set(&[&a]), "{change:#}");
    assert_eq!(set_at(&change, "after", "all_group_ids"), set(&[&a]), "{change:#}");
    ws.apply();
    assert_eq!(groups_on_server(&sb, &u1), set(&[&a]), "the out-of-band membership was removed");

    // Removed out of band: planned back.
    remove_out_of_band(&sb, &a, &u1);
    let plan = ws.plan_json();
    assert_eq!(set_at(&resource_change(&plan, addr), "after", "group_ids"), set(&[&a]));
    ws.apply();
    assert_eq!(groups_on_server(&sb, &u1), set(&[&a]));

    // Non-exclusive again, joining b and c, then leaving c: only its own groups move.
    ws.write_main(&memberships(&["a", "b", "c"], false));
    ws.apply();
    assert_eq!(groups_on_server(&sb, &u1), set(&[&a, &b, &c]));
    ws.write_main(&memberships(&["a", "b"], false));
    let plan = ws.plan_json();
    let change = resource_change(&plan, addr);
    assert_eq!(set_at(&change, "after", "all_group_ids"), set(&[&a, &b]), "{change:#}");
    ws.apply();
    assert_eq!(groups_on_server(&sb, &u1), set(&[&a, &b]), "a non-exclusive removal is carried out on the server");

    // Destroying the memberships resource removes what it manages, nothing else.
    add_out_of_band(&sb, &c, &u1);
    ws.write_main(USERS_AND_GROUPS);
    ws.apply();
    assert_eq!(groups_on_server(&sb, &u1), set(&[&c]), "destroy removed a and b, left c");
    ws.destroy();
    assert!(sb.scim_groups().is_empty(), "{}", sb.state());
}

#[test]
fn exclusive_switch_and_out_of_band_adds_show_in_the_plan() {
    exclusive_switch_and_out_of_band_adds(WITH_USER_GROUPS);
}

#[test]
fn exclusive_switch_and_out_of_band_adds_show_in_the_plan_without_user_groups() {
    exclusive_switch_and_out_of_band_adds(WITHOUT_USER_GROUPS);
}

fn import_keeps_unlisted_groups(mode: &[&str]) {
    let sb = Sandbox::start_with(mode);
    let ws = Workspace::new(&sb);
    ws.write_main(&memberships(&["a"], false));
    ws.apply();
    let (u1, a, b, c) = (
        id(&ws, "identity_scim_user.u[\"u1\"]"),
        id(&ws, "identity_scim_group.g[\"a\"]"),
        id(&ws, "identity_scim_group.g[\"b\"]"),
        id(&ws, "identity_scim_group.g[\"c\"]"),
    );
    add_out_of_band(&sb, &b, &u1);
    add_out_of_band(&sb, &c, &u1);
    let addr = "identity_scim_user_group_memberships.m";
    let config = format!(
        r#"
resource "identity_scim_user_group_memberships" "m" {{
  user_id   = "{u1}"
  group_ids = ["{a}"]
}}
"#
    );

    // By user id alone: every group is recorded, and the next apply leaves none of them.
    let plain = ws.sibling();
    plain.write_main(&config);
    plain.import(addr, &u1);
    assert_eq!(plain.state_attr(addr, "all_group_ids").as_array().map(Vec::len), Some(3));
    let out = plain.plan(&[]);
    assert!(out.combined().contains("stay on the server"), "the plan warns: {}", out.combined());
    let plan = plain.plan_json();
    let change = resource_change(&plan, addr);
    assert_eq!(set_at(&change, "after", "all_group_ids"), set(&[&a, &b, &c]), "no group is planned away: {change:#}");
    plain.apply();
    assert_eq!(groups_on_server(&sb, &u1), set(&[&a, &b, &c]), "the apply after an import removed nothing");
    plain.assert_plan_empty();

    // Naming the managed groups reproduces the state: nothing to do.
    let scoped = ws.sibling();
    scoped.write_main(&config);
    scoped.import(addr, &format!("{u1}/{a}"));
    scoped.assert_plan_empty();
    assert_eq!(scoped.state_attr(addr, "group_ids"), json!([a]));

    // An exclusive resource by `<user_id>/*`, through an import block.
    let excl = ws.sibling();
    let mut all = vec![a.clone(), b.clone(), c.clone()];
    all.sort();
    excl.write_main(&format!(
        r#"
import {{
  to = {addr}
  id = "{u1}/*"
}}

resource "identity_scim_user_group_memberships" "m" {{
  user_id   = "{u1}"
  group_ids = {}
  exclusive = true
}}
"#,
        serde_json::to_string(&all).expect("ids")
    ));
    let plan = excl.plan_json();
    assert_eq!(actions(&plan, addr), ["no-op"], "{:#}", resource_change(&plan, addr));
    excl.apply();
    assert_eq!(groups_on_server(&sb, &u1), set(&[&a, &b, &c]));

    // Nothing that imported was destroyed by them: leave the state of the siblings alone
    // and destroy everything from the first workspace.
    ws.destroy();
}

#[test]
fn import_by_user_id_keeps_unlisted_groups() {
    import_keeps_unlisted_groups(WITH_USER_GROUPS);
}

#[test]
fn import_by_user_id_keeps_unlisted_groups_without_user_groups() {
    import_keeps_unlisted_groups(WITHOUT_USER_GROUPS);
}

// ---------------------------------------------------------------------------------------
// identity_scim_group.members and identity_scim_group_member
// ---------------------------------------------------------------------------------------

fn group_with_members(members: &[&str]) -> String {
    let ids: Vec<String> = members.iter().map(|u| format!("identity_scim_user.u[\"{u}\"].id")).collect();
    format!(
        r#"{USERS_AND_GROUPS}
resource "identity_scim_group" "auth" {{
  display_name = "authoritative"
  members      = [{}]
}}
"#,
        ids.join(", ")
    )
}

fn authoritative_members(mode: &[&str]) {
    let sb = Sandbox::start_with(mode);
    let ws = Workspace::new(&sb);
    ws.write_main(&group_with_members(&["u1", "u2"]));
    ws.apply();
    let (u1, u2) = (id(&ws, "identity_scim_user.u[\"u1\"]"), id(&ws, "identity_scim_user.u[\"u2\"]"));
    let g = id(&ws, "identity_scim_group.auth");
    let addr = "identity_scim_group.auth";
    assert_eq!(members_on_server(&sb, &g), set(&[&u1, &u2]));

    // A user removed from the list leaves the group on the server.
    ws.write_main(&group_with_members(&["u1"]));
    let plan = ws.plan_json();
    let change = resource_change(&plan, addr);
    assert_eq!(set_at(&change, "before", "members"), set(&[&u1, &u2]));
    assert_eq!(set_at(&change, "after", "members"), set(&[&u1]));
    ws.apply();
    assert_eq!(members_on_server(&sb, &g), set(&[&u1]), "u2 was removed on the server");

    // A member added out of band shows as a removal, by id, and is removed.
    add_out_of_band(&sb, &g, &u2);
    let plan = ws.plan_json();
    let change = resource_change(&plan, addr);
    assert_eq!(set_at(&change, "before", "members"), set(&[&u1, &u2]), "{change:#}");
    assert_eq!(set_at(&change, "after", "members"), set(&[&u1]), "{change:#}");
    ws.apply();
    assert_eq!(members_on_server(&sb, &g), set(&[&u1]));

    // Emptied.
    ws.write_main(&group_with_members(&[]));
    ws.apply();
    assert!(members_on_server(&sb, &g).is_empty());

    // Unmanaged again: the current members are shown, and nothing is sent.
    add_out_of_band(&sb, &g, &u2);
    ws.write_main(&format!("{USERS_AND_GROUPS}\nresource \"identity_scim_group\" \"auth\" {{\n  display_name = \"authoritative\"\n}}\n"));
    ws.assert_plan_empty();
    ws.apply();
    assert_eq!(members_on_server(&sb, &g), set(&[&u2]));
    assert_eq!(ws.state_attr(addr, "members"), json!([u2]));
    ws.destroy();
}

#[test]
fn authoritative_members_are_enforced_on_the_server() {
    authoritative_members(WITH_USER_GROUPS);
}

#[test]
fn authoritative_members_are_enforced_on_the_server_without_user_groups() {
    authoritative_members(WITHOUT_USER_GROUPS);
}

fn group_member_lifecycle(mode: &[&str]) {
    let sb = Sandbox::start_with(mode);
    let ws = Workspace::new(&sb);
    let config = |users: &[&str]| {
        let keys: Vec<String> = users.iter().map(|u| format!("\"{u}\"")).collect();
        format!(
            r#"{USERS_AND_GROUPS}
resource "identity_scim_group_member" "m" {{
  for_each = toset([{}])
  group_id = identity_scim_group.g["a"].id
  user_id  = identity_scim_user.u[each.key].id
}}
"#,
            keys.join(", ")
        )
    };
    ws.write_main(&config(&["u1", "u2"]));
    ws.apply();
    let (u1, u2, a) =
        (id(&ws, "identity_scim_user.u[\"u1\"]"), id(&ws, "identity_scim_user.u[\"u2\"]"), id(&ws, "identity_scim_group.g[\"a\"]"));
    assert_eq!(members_on_server(&sb, &a), set(&[&u1, &u2]));

    // Removed out of band: planned as a re-create, and re-added.
    remove_out_of_band(&sb, &a, &u2);
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, "identity_scim_group_member.m[\"u2\"]"), ["create"]);
    ws.apply();
    assert_eq!(members_on_server(&sb, &a), set(&[&u1, &u2]));

    // Import reproduces the state.
    let fresh = ws.sibling();
    fresh.write_main(&format!("resource \"identity_scim_group_member\" \"x\" {{\n  group_id = \"{a}\"\n  user_id  = \"{u1}\"\n}}\n"));
    fresh.import("identity_scim_group_member.x", &format!("{a}/{u1}"));
    fresh.assert_plan_empty();
    assert_eq!(fresh.state_attr("identity_scim_group_member.x", "id"), json!(format!("{a}/{u1}")));

    // Deleting one membership removes exactly that member, on the server.
    ws.write_main(&config(&["u1"]));
    ws.apply();
    assert_eq!(members_on_server(&sb, &a), set(&[&u1]), "the deleted membership is gone on the server, the other stays");
    ws.assert_plan_empty();
    ws.destroy();
}

#[test]
fn group_member_lifecycle_is_checked_on_the_server() {
    group_member_lifecycle(WITH_USER_GROUPS);
}

#[test]
fn group_member_lifecycle_is_checked_on_the_server_without_user_groups() {
    group_member_lifecycle(WITHOUT_USER_GROUPS);
}

// ---------------------------------------------------------------------------------------
// Migrations without an outage
// ---------------------------------------------------------------------------------------

fn migrate_group_member_to_members_and_back(mode: &[&str]) {
    let sb = Sandbox::start_with(mode);
    let ws = Workspace::new(&sb);
    let per_member = format!(
        r#"{USERS_AND_GROUPS}
resource "identity_scim_group_member" "m" {{
  for_each = identity_scim_user.u
  group_id = identity_scim_group.g["a"].id
  user_id  = each.value.id
}}
"#
    );
    ws.write_main(&per_member);
    ws.apply();
    let (u1, u2, a) =
        (id(&ws, "identity_scim_user.u[\"u1\"]"), id(&ws, "identity_scim_user.u[\"u2\"]"), id(&ws, "identity_scim_group.g[\"a\"]"));
    assert_eq!(members_on_server(&sb, &a), set(&[&u1, &u2]));

    // Forward: stop managing the single memberships without deleting them, and make the
    // group's list authoritative. Nothing is sent; nobody leaves.
    let authoritative = r#"
resource "identity_scim_user" "u" {
  for_each  = toset(["u1", "u2"])
  user_name = "member-${each.key}@example.com"
}

resource "identity_scim_group" "g" {
  for_each     = toset(["a", "b", "c"])
  display_name = "membership-${each.key}"
  members      = each.key == "a" ? [for u in identity_scim_user.u : u.id] : null
}

removed {
  from = identity_scim_group_member.m
  lifecycle {
    destroy = false
  }
}
"#;
    ws.write_main(authoritative);
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, "identity_scim_group.g[\"a\"]"), ["no-op"], "{:#}", resource_change(&plan, "identity_scim_group.g[\"a\"]"));
    ws.apply();
    assert_eq!(members_on_server(&sb, &a), set(&[&u1, &u2]), "no member lost in the forward migration");

    // Back: the group stops managing its members, and the single memberships are
    // imported (no request changes membership).
    let back = format!(
        r#"{USERS_AND_GROUPS}
resource "identity_scim_group_member" "m" {{
  for_each = identity_scim_user.u
  group_id = identity_scim_group.g["a"].id
  user_id  = each.value.id
}}

import {{
  for_each = {{ u1 = "{a}/{u1}", u2 = "{a}/{u2}" }}
  to       = identity_scim_group_member.m[each.key]
  id       = each.value
}}
"#
    );
    ws.write_main(&back);
    ws.apply();
    assert_eq!(members_on_server(&sb, &a), set(&[&u1, &u2]), "no member lost in the migration back");
    ws.destroy();
}

#[test]
fn group_member_to_authoritative_members_and_back_loses_nobody() {
    migrate_group_member_to_members_and_back(WITH_USER_GROUPS);
}

#[test]
fn group_member_to_authoritative_members_and_back_loses_nobody_without_user_groups() {
    migrate_group_member_to_members_and_back(WITHOUT_USER_GROUPS);
}

fn migrate_memberships_to_members_and_back(mode: &[&str]) {
    let sb = Sandbox::start_with(mode);
    let ws = Workspace::new(&sb);
    ws.write_main(&memberships(&["a", "b"], false));
    ws.apply();
    let (u1, a, b) =
        (id(&ws, "identity_scim_user.u[\"u1\"]"), id(&ws, "identity_scim_group.g[\"a\"]"), id(&ws, "identity_scim_group.g[\"b\"]"));
    assert_eq!(groups_on_server(&sb, &u1), set(&[&a, &b]));

    let authoritative = r#"
resource "identity_scim_user" "u" {
  for_each  = toset(["u1", "u2"])
  user_name = "member-${each.key}@example.com"
}

resource "identity_scim_group" "g" {
  for_each     = toset(["a", "b", "c"])
  display_name = "membership-${each.key}"
  members      = contains(["a", "b"], each.key) ? [identity_scim_user.u["u1"].id] : null
}

removed {
  from = identity_scim_user_group_memberships.m
  lifecycle {
    destroy = false
  }
}
"#;
    ws.write_main(authoritative);
    ws.apply();
    assert_eq!(groups_on_server(&sb, &u1), set(&[&a, &b]), "no membership lost in the forward migration");

    let back = format!(
        r#"{}
import {{
  to = identity_scim_user_group_memberships.m
  id = "{u1}/{a},{b}"
}}
"#,
        memberships(&["a", "b"], false)
    );
    ws.write_main(&back);
    ws.apply();
    assert_eq!(groups_on_server(&sb, &u1), set(&[&a, &b]), "no membership lost in the migration back");
    ws.destroy();
}

#[test]
fn memberships_to_authoritative_members_and_back_loses_nobody() {
    migrate_memberships_to_members_and_back(WITH_USER_GROUPS);
}

#[test]
fn memberships_to_authoritative_members_and_back_loses_nobody_without_user_groups() {
    migrate_memberships_to_members_and_back(WITHOUT_USER_GROUPS);
}

const IDP: &str = r#"
resource "identity_idp" "corp" {
  name = "corp"
  type = "oidc"
  oidc = {
    client_id             = "runai"
    client_secret         = "migration-secret"
    discover_document_url = "https://login.example.com/.well-known/openid-configuration"
  }
"#;

#[test]
fn idp_mappers_to_inline_mappers_and_back_never_blank_the_mappers() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let mappers = r#"{
    uid    = "sub"
    gid    = "gid_number"
    groups = "groups"
    email  = "email"
  }"#;
    let server_mappers = |sb: &Sandbox| sb.runai_idp("corp").expect("the idp exists")["mappers"].clone();
    let expect = |m: &Value, why: &str| {
        for (k, v) in [("uid", "sub"), ("gid", "gid_number"), ("groups", "groups"), ("email", "email")] {
            assert_eq!(m[k], v, "{why}: mapper {k} on the server: {m}");
        }
    };
    ws.write_main(&format!("{IDP}}}\n\nresource \"identity_idp_mappers\" \"corp\" {{\n  idp = identity_idp.corp.alias\n  uid    = \"sub\"\n  gid    = \"gid_number\"\n  groups = \"groups\"\n  email  = \"email\"\n}}\n"));
    ws.apply();
    expect(&server_mappers(&sb), "created by identity_idp_mappers");

    // Forward: the mappers move inline; the separate resource is forgotten, not destroyed.
    ws.write_main(&format!(
        "{IDP}  mappers = {mappers}\n}}\n\nremoved {{\n  from = identity_idp_mappers.corp\n  lifecycle {{\n    destroy = false\n  }}\n}}\n"
    ));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, "identity_idp.corp"), ["no-op"], "{:#}", resource_change(&plan, "identity_idp.corp"));
    ws.apply();
    expect(&server_mappers(&sb), "after the forward migration");

    // Back: inline mappers left out (kept as they are), the resource imported.
    ws.write_main(&format!(
        "{IDP}}}\n\nresource \"identity_idp_mappers\" \"corp\" {{\n  idp = identity_idp.corp.alias\n  uid    = \"sub\"\n  gid    = \"gid_number\"\n  groups = \"groups\"\n  email  = \"email\"\n}}\n\nimport {{\n  to = identity_idp_mappers.corp\n  id = \"corp\"\n}}\n"
    ));
    ws.apply();
    expect(&server_mappers(&sb), "after the migration back");
    ws.destroy();
    assert!(sb.runai_idp("corp").is_none());
}

// ---------------------------------------------------------------------------------------
// No spurious unknowns
// ---------------------------------------------------------------------------------------

#[test]
fn an_unrelated_change_plans_no_unknown_values() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let config = |active: bool, version: u32| {
        format!(
            r#"
resource "identity_scim_user" "owner" {{
  user_name           = "owner@example.com"
  given_name          = "Olive"
  family_name         = "Owner"
  active              = {active}
  password_wo         = "Correct-Horse-{version}-Battery"
  password_wo_version = {version}
}}

resource "identity_scim_group" "team" {{
  display_name = "team"
  description  = "owned by ${{identity_scim_user.owner.display_name}}"
  members      = [identity_scim_user.owner.id]
}}

resource "identity_scim_group" "watchers" {{
  display_name = "watchers-of-${{identity_scim_user.owner.display_name}}"
}}

resource "identity_scim_user_group_memberships" "m" {{
  user_id   = identity_scim_user.owner.id
  group_ids = [identity_scim_group.watchers.id]
}}
"#
        )
    };
    ws.write_main(&config(true, 1));
    ws.apply();
    for (active, version, what) in [(false, 1, "active"), (false, 2, "password_wo_version")] {
        ws.write_main(&config(active, version));
        let plan = ws.plan_json();
        assert_eq!(actions(&plan, "identity_scim_user.owner"), ["update"], "{what}");
        let unknown = unknown_paths(&plan);
        assert!(unknown.is_empty(), "changing only {what} plans no unknown value, got: {unknown:?}");
        for other in ["identity_scim_group.team", "identity_scim_group.watchers", "identity_scim_user_group_memberships.m"] {
            assert_eq!(actions(&plan, other), ["no-op"], "{what}: {other}");
        }
        ws.apply();
    }
    ws.destroy();
}

// ---------------------------------------------------------------------------------------
// Combining authoritative and additive membership on one group
// ---------------------------------------------------------------------------------------

#[test]
fn authoritative_and_additive_membership_of_one_group_warns() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&group_with_members(&["u1"]));
    ws.apply();
    let u2 = id(&ws, "identity_scim_user.u[\"u2\"]");
    let g = id(&ws, "identity_scim_group.auth");
    // The additive resource for a user the list leaves out: every plan warns.
    ws.write_main(&format!(
        "{}\nresource \"identity_scim_group_member\" \"extra\" {{\n  group_id = identity_scim_group.auth.id\n  user_id  = identity_scim_user.u[\"u2\"].id\n}}\n",
        group_with_members(&["u1"])
    ));
    let out = ws.plan(&[]);
    assert!(out.combined().contains("Group membership managed in two places"), "{}", out.combined());
    assert!(out.combined().contains(&u2) && out.combined().contains(&g), "the warning names the group and the user: {}", out.combined());
    // Listed in both places, the two agree: no warning.
    ws.write_main(&format!(
        "{}\nresource \"identity_scim_group_member\" \"extra\" {{\n  group_id = identity_scim_group.auth.id\n  user_id  = identity_scim_user.u[\"u2\"].id\n}}\n",
        group_with_members(&["u1", "u2"])
    ));
    ws.apply();
    let out = ws.plan(&[]);
    assert!(!out.combined().contains("managed in two places"), "{}", out.combined());
    ws.destroy();
}
