//! Interop: the SCIM resources, data sources and list resources against an independent
//! SCIM 2.0 server, PyPI's `scim2-server` (see tests/support/scim2_server.rs; installed by
//! scripts/install-scim2-server, which scripts/test runs first), through the real
//! terraform CLI. Nothing here uses our own sandbox: what passes here works with a SCIM
//! server we did not write.
//!
//! Every apply is followed by an assertion of what the server holds (users, groups and
//! who is in which group, read from the groups' own `members` through the server's HTTP
//! API), not only by a plan.
//!
//! Left out, because scim2-server cannot do them and the provider documents them as
//! Oracle OCI IAM only:
//! - `identity_scim_group.description` (Oracle's group extension schema, which
//!   scim2-server does not serve);
//! - `identity_scim_user.password_wo` / `password_wo_version` (set through Oracle's
//!   `UserPasswordChanger` endpoint);
//! - `ocid` (Oracle Cloud IDs): only checked to read back empty.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use support::scim2_server::Scim2Server;
use support::*;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The `id` of `addr` in the workspace's state.
#[track_caller]
fn id_of(ws: &Workspace, addr: &str) -> String {
    let id = ws.state_attr(addr, "id");
    id.as_str().filter(|s| !s.is_empty()).unwrap_or_else(|| panic!("{addr} has no id in state: {id}")).to_string()
}

/// A JSON array of strings as a set (an absent value is the empty set).
fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

fn set_of(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// Asserts who is in which group on the server, by group display name and user name:
/// every group on the server must be listed, with exactly these members.
#[track_caller]
fn assert_memberships(server: &Scim2Server, want: &[(&str, &[&str])], when: &str) {
    let want: BTreeMap<String, BTreeSet<String>> = want.iter().map(|(g, us)| (g.to_string(), set_of(us))).collect();
    let have = server.memberships();
    assert_eq!(have, want, "memberships on scim2-server {when}");
}

/// Asserts the user names on the server.
#[track_caller]
fn assert_user_names(server: &Scim2Server, want: &[&str], when: &str) {
    let have: BTreeSet<String> = server.users().iter().filter_map(|u| u["userName"].as_str().map(str::to_string)).collect();
    assert_eq!(have, set_of(want), "users on scim2-server {when}");
}

/// The state of `addr` without `timeouts` (not part of what an import reproduces).
#[track_caller]
fn values_without_timeouts(ws: &Workspace, addr: &str) -> Value {
    let mut v = ws.state_resource(addr);
    if let Some(o) = v.as_object_mut() {
        o.remove("timeouts");
    }
    v
}

/// Imports `addr` by `import_id` into `fresh` and asserts that its state equals `addr`'s
/// in `ws` (every attribute but `timeouts`), then that `fresh` plans nothing.
#[track_caller]
fn assert_import_reproduces(ws: &Workspace, fresh: &Workspace, addr: &str, import_id: &str) {
    fresh.import(addr, import_id);
    let (want, have) = (values_without_timeouts(ws, addr), values_without_timeouts(fresh, addr));
    assert_eq!(have, want, "terraform import {addr} {import_id} reproduces the state");
    fresh.assert_plan_empty();
}

/// `change.before` / `change.after` of `addr` in `plan` at `attr`, as sets; `after` is
/// None when it is unknown until apply.
#[track_caller]
fn planned_sets(plan: &Value, addr: &str, attr: &str) -> (BTreeSet<String>, Option<BTreeSet<String>>) {
    let change = resource_change(plan, addr)["change"].clone();
    let before = strings(&change["before"][attr]);
    let after = if change["after_unknown"][attr] == json!(true) { None } else { Some(strings(&change["after"][attr])) };
    (before, after)
}

/// The human-readable plan (`terraform plan -no-color`), asserting that it has changes.
#[track_caller]
fn plan_text_with_changes(ws: &Workspace) -> String {
    let out = ws.plan(&[]);
    if out.code != 2 {
        ws.fail("expected a plan with changes (exit code 2)", &out);
    }
    out.stdout
}

// ---------------------------------------------------------------------------------------
// identity_scim_user
// ---------------------------------------------------------------------------------------

const JANE: &str = r#"
resource "identity_scim_user" "jane" {
  user_name    = "jane.doe"
  given_name   = "Jane"
  family_name  = "Doe"
  display_name = "Jane Doe"
  external_id  = "hr-1001"
  emails = [
    { value = "Jane.Doe@Example.com", type = "work", primary = true },
    { value = "jane@home.example.org", type = "home" },
  ]
}
"#;

const JANET: &str = r#"
resource "identity_scim_user" "jane" {
  user_name    = "jane.doe"
  given_name   = "Janet"
  family_name  = "Doe"
  display_name = "Janet Doe"
  external_id  = "hr-2002"
  active       = false
  emails = [
    { value = "janet.doe@example.com", type = "work", primary = true },
  ]
}
"#;

/// Janet without an external id and without a family name.
const JANET_FEWER: &str = r#"
resource "identity_scim_user" "jane" {
  user_name    = "jane.doe"
  given_name   = "Janet"
  display_name = "Janet Doe"
  active       = false
  emails = [
    { value = "janet.doe@example.com", type = "work", primary = true },
  ]
}
"#;

const MIN: &str = r#"
resource "identity_scim_user" "min" {
  user_name = "minimal"
}
"#;

/// The server's copy of a user, by id.
#[track_caller]
fn server_user(server: &Scim2Server, id: &str) -> Value {
    server.user(id).unwrap_or_else(|| panic!("user {id} does not exist on scim2-server"))
}

fn emails_on_server(u: &Value) -> Vec<(String, String, bool)> {
    let mut v: Vec<(String, String, bool)> = u["emails"]
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| {
                    (
                        e["value"].as_str().unwrap_or_default().to_lowercase(),
                        e["type"].as_str().unwrap_or_default().to_string(),
                        e["primary"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn user_lifecycle() {
    let server = Scim2Server::start();
    let ws = server.workspace();
    let addr = "identity_scim_user.jane";

    // Create.
    ws.write_main(&format!("{JANE}{MIN}"));
    ws.apply();
    let id = id_of(&ws, addr);
    let u = server_user(&server, &id);
    assert_eq!(u["userName"], "jane.doe", "{u}");
    assert_eq!(u["name"]["givenName"], "Jane", "{u}");
    assert_eq!(u["name"]["familyName"], "Doe", "{u}");
    assert_eq!(u["displayName"], "Jane Doe", "{u}");
    assert_eq!(u["externalId"], "hr-1001", "{u}");
    assert_ne!(u["active"], false, "{u}");
    assert_eq!(
        emails_on_server(&u),
        vec![("jane.doe@example.com".into(), "work".into(), true), ("jane@home.example.org".into(), "home".into(), false)],
        "{u}"
    );
    assert_user_names(&server, &["jane.doe", "minimal"], "after create");
    assert_memberships(&server, &[], "after create");
    assert_eq!(ws.state_attr(addr, "ocid"), "", "no ocid outside OCI IAM");
    assert_eq!(ws.state_attr(addr, "emails.0.value"), "Jane.Doe@Example.com", "the configured case is kept");
    assert_eq!(ws.state_attr(addr, "active"), true);

    // In-place update of every attribute but user_name.
    ws.write_main(&format!("{JANET}{MIN}"));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, addr), ["update"]);
    assert_eq!(actions(&plan, "identity_scim_user.min"), ["no-op"]);
    ws.apply();
    assert_eq!(id_of(&ws, addr), id, "updated in place");
    let u = server_user(&server, &id);
    assert_eq!(u["name"]["givenName"], "Janet", "{u}");
    assert_eq!(u["displayName"], "Janet Doe", "{u}");
    assert_eq!(u["externalId"], "hr-2002", "{u}");
    assert_eq!(u["active"], false, "{u}");
    assert_eq!(emails_on_server(&u), vec![("janet.doe@example.com".into(), "work".into(), true)], "{u}");
    assert_memberships(&server, &[], "after the update");

    // Attributes dropped from the configuration are removed on the server.
    ws.write_main(&format!("{JANET_FEWER}{MIN}"));
    assert_eq!(ws.resource_actions(addr), ["update"]);
    ws.apply();
    let u = server_user(&server, &id);
    assert!(u.get("externalId").is_none_or(Value::is_null), "externalId removed: {u}");
    assert!(u["name"].get("familyName").is_none_or(Value::is_null), "familyName removed: {u}");
    assert_eq!(u["name"]["givenName"], "Janet", "{u}");
    assert_memberships(&server, &[], "after removing attributes");

    // Import into fresh directories reproduces both users.
    for (a, hcl) in [(addr, JANET_FEWER), ("identity_scim_user.min", MIN)] {
        let fresh = ws.sibling();
        fresh.write_main(hcl);
        assert_import_reproduces(&ws, &fresh, a, &id_of(&ws, a));
    }

    // Deleted behind Terraform's back: planned as a create.
    server.delete_user(&id);
    assert_eq!(ws.resource_actions(addr), ["create"]);
    ws.apply();
    let new_id = id_of(&ws, addr);
    assert_ne!(new_id, id);
    assert_eq!(server_user(&server, &new_id)["name"]["givenName"], "Janet");
    assert_user_names(&server, &["jane.doe", "minimal"], "after the re-create");
    assert_memberships(&server, &[], "after the re-create");

    ws.destroy();
    assert_user_names(&server, &[], "after destroy");
    assert_memberships(&server, &[], "after destroy");
}

// ---------------------------------------------------------------------------------------
// identity_scim_group with authoritative members
// ---------------------------------------------------------------------------------------

/// Users ann, bob, cat and dan.
const PEOPLE: &str = r#"
resource "identity_scim_user" "p" {
  for_each  = toset(["ann", "bob", "cat", "dan"])
  user_name = each.key
}
"#;

/// `identity_scim_user.p["<name>"].id` for each name, as an HCL list.
fn user_refs(names: &[&str]) -> String {
    let refs: Vec<String> = names.iter().map(|n| format!("identity_scim_user.p[\"{n}\"].id")).collect();
    format!("[{}]", refs.join(", "))
}

fn quoted_list(ids: &[&str]) -> String {
    let q: Vec<String> = ids.iter().map(|i| hcl_string(i)).collect();
    format!("[{}]", q.join(", "))
}

/// The group `eng` (authoritative members) and the group `ops` (members not managed).
fn groups_hcl(name: &str, external_id: Option<&str>, members: &[&str]) -> String {
    let ext = external_id.map(|x| format!("external_id  = {}", hcl_string(x))).unwrap_or_default();
    format!(
        r#"{PEOPLE}
resource "identity_scim_group" "eng" {{
  display_name = {name}
  {ext}
  members      = {members}
}}

resource "identity_scim_group" "ops" {{
  display_name = "ops"
}}
"#,
        name = hcl_string(name),
        members = user_refs(members)
    )
}

/// `identity_scim_user.p["<name>"]`'s id.
#[track_caller]
fn person(ws: &Workspace, name: &str) -> String {
    id_of(ws, &format!("identity_scim_user.p[\"{name}\"]"))
}

#[test]
fn group_lifecycle_with_authoritative_members() {
    let server = Scim2Server::start();
    let ws = server.workspace();
    let eng = "identity_scim_group.eng";
    let ops = "identity_scim_group.ops";

    // Create with two members.
    ws.write_main(&groups_hcl("eng", Some("eng-1"), &["ann", "bob"]));
    ws.apply();
    assert_memberships(&server, &[("eng", &["ann", "bob"]), ("ops", &[])], "after create");
    let gid = id_of(&ws, eng);
    let g = server.group(&gid).unwrap_or_else(|| panic!("group {gid} is not on the server"));
    assert_eq!(g["externalId"], "eng-1", "{g}");
    let (ann, bob, cat, dan) = (person(&ws, "ann"), person(&ws, "bob"), person(&ws, "cat"), person(&ws, "dan"));
    assert_eq!(strings(&ws.state_attr(eng, "members")), set_of(&[&ann, &bob]));
    assert_eq!(ws.state_attr(eng, "ocid"), "", "no ocid outside OCI IAM");

    // In place: rename, new external id, one member in and one out.
    ws.write_main(&groups_hcl("engineering", Some("eng-2"), &["bob", "cat"]));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, eng), ["update"]);
    assert_eq!(planned_sets(&plan, eng, "members"), (set_of(&[&ann, &bob]), Some(set_of(&[&bob, &cat]))));
    ws.apply();
    assert_eq!(id_of(&ws, eng), gid, "updated in place");
    assert_memberships(&server, &[("engineering", &["bob", "cat"]), ("ops", &[])], "after the update");
    assert_eq!(server.group(&gid).map(|g| g["externalId"].clone()), Some(json!("eng-2")));

    // An extra member added out of band shows in the plan and the apply removes it.
    server.add_member(&gid, &dan);
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, eng), ["update"]);
    assert_eq!(planned_sets(&plan, eng, "members"), (set_of(&[&bob, &cat, &dan]), Some(set_of(&[&bob, &cat]))));
    let text = plan_text_with_changes(&ws);
    assert!(text.contains(&format!("- \"{dan}\"")), "the plan shows dan leaving:\n{text}");
    ws.apply();
    assert_memberships(&server, &[("engineering", &["bob", "cat"]), ("ops", &[])], "after removing the extra member");

    // A member removed out of band is added back.
    server.remove_member(&gid, &bob);
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, eng), ["update"]);
    assert_eq!(planned_sets(&plan, eng, "members"), (set_of(&[&cat]), Some(set_of(&[&bob, &cat]))));
    ws.apply();
    assert_memberships(&server, &[("engineering", &["bob", "cat"]), ("ops", &[])], "after adding back the removed member");

    // Members of a group whose members are not managed are left alone and read back.
    let ops_id = id_of(&ws, ops);
    server.add_member(&ops_id, &ann);
    ws.assert_plan_empty();
    ws.apply();
    assert_memberships(&server, &[("engineering", &["bob", "cat"]), ("ops", &["ann"])], "after a refresh with unmanaged members");
    assert_eq!(strings(&ws.state_attr(ops, "members")), set_of(&[&ann]), "unmanaged members are read back");

    // The external id dropped from the configuration is removed on the server.
    ws.write_main(&groups_hcl("engineering", None, &["bob", "cat"]));
    assert_eq!(ws.resource_actions(eng), ["update"]);
    ws.apply();
    let g = server.group(&gid).unwrap_or_else(|| panic!("group {gid} is gone"));
    assert!(g.get("externalId").is_none_or(Value::is_null), "externalId removed: {g}");
    assert_memberships(&server, &[("engineering", &["bob", "cat"]), ("ops", &["ann"])], "after removing the external id");

    // Import of both groups into fresh directories reproduces their state.
    let fresh = ws.sibling();
    fresh.write_main(&format!(
        "resource \"identity_scim_group\" \"eng\" {{\n  display_name = \"engineering\"\n  members      = {}\n}}\n",
        quoted_list(&[&bob, &cat])
    ));
    assert_import_reproduces(&ws, &fresh, eng, &gid);
    let fresh = ws.sibling();
    fresh.write_main("resource \"identity_scim_group\" \"ops\" {\n  display_name = \"ops\"\n}\n");
    assert_import_reproduces(&ws, &fresh, ops, &ops_id);

    // Deleted behind Terraform's back: planned as a create, with its members.
    server.delete_group(&gid);
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, eng), ["create"]);
    assert_eq!(actions(&plan, ops), ["no-op"]);
    ws.apply();
    assert_ne!(id_of(&ws, eng), gid);
    assert_memberships(&server, &[("engineering", &["bob", "cat"]), ("ops", &["ann"])], "after the re-create");

    ws.destroy();
    assert_memberships(&server, &[], "after destroy");
    assert_user_names(&server, &[], "after destroy");
}

// ---------------------------------------------------------------------------------------
// identity_scim_group_member
// ---------------------------------------------------------------------------------------

/// The group `team` (members not managed there) and one `identity_scim_group_member`
/// per name in `members`.
fn team_hcl(members: &[&str]) -> String {
    let names: Vec<String> = members.iter().map(|m| hcl_string(m)).collect();
    format!(
        r#"{PEOPLE}
resource "identity_scim_group" "team" {{
  display_name = "team"
}}

resource "identity_scim_group_member" "m" {{
  for_each = toset([{names}])
  group_id = identity_scim_group.team.id
  user_id  = identity_scim_user.p[each.key].id
}}
"#,
        names = names.join(", ")
    )
}

#[test]
fn group_member_lifecycle() {
    let server = Scim2Server::start();
    let ws = server.workspace();
    let m = |n: &str| format!("identity_scim_group_member.m[\"{n}\"]");

    ws.write_main(&team_hcl(&["ann"]));
    ws.apply();
    assert_memberships(&server, &[("team", &["ann"])], "after create");
    let gid = id_of(&ws, "identity_scim_group.team");
    let (ann, bob, cat) = (person(&ws, "ann"), person(&ws, "bob"), person(&ws, "cat"));
    assert_eq!(ws.state_attr(&m("ann"), "id"), json!(format!("{gid}/{ann}")));

    // Add a membership; a member added out of band is left alone (non-authoritative).
    server.add_member(&gid, &cat);
    ws.write_main(&team_hcl(&["ann", "bob"]));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, &m("bob")), ["create"]);
    assert_eq!(actions(&plan, &m("ann")), ["no-op"]);
    ws.apply();
    assert_memberships(&server, &[("team", &["ann", "bob", "cat"])], "after adding bob");

    // Remove a membership: only that user leaves.
    ws.write_main(&team_hcl(&["bob"]));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, &m("ann")), ["delete"]);
    assert_eq!(actions(&plan, &m("bob")), ["no-op"]);
    ws.apply();
    assert_memberships(&server, &[("team", &["bob", "cat"])], "after removing ann");

    // A membership removed out of band is planned as a re-create.
    server.remove_member(&gid, &bob);
    assert_eq!(ws.resource_actions(&m("bob")), ["create"]);
    ws.apply();
    assert_memberships(&server, &[("team", &["bob", "cat"])], "after re-creating bob's membership");

    // Import by `<group_id>/<user_id>` reproduces the state.
    let fresh = ws.sibling();
    fresh.write_main(&format!(
        "resource \"identity_scim_group_member\" \"m\" {{\n  for_each = toset([\"bob\"])\n  group_id = {}\n  user_id  = {}\n}}\n",
        hcl_string(&gid),
        hcl_string(&bob)
    ));
    assert_import_reproduces(&ws, &fresh, &m("bob"), &format!("{gid}/{bob}"));
    let bad = fresh.import_expect_err(&m("bob"), "no-slash");
    assert!(bad.contains("<group_id>/<user_id>"), "{bad}");

    ws.destroy();
    assert_memberships(&server, &[], "after destroy");
    assert_user_names(&server, &[], "after destroy");
}

// ---------------------------------------------------------------------------------------
// identity_scim_user_group_memberships
// ---------------------------------------------------------------------------------------

const GROUP_KEYS: [&str; 5] = ["a", "b", "c", "d", "e"];

fn memberships_hcl(groups: &[&str], exclusive: bool) -> String {
    let refs: Vec<String> = groups.iter().map(|g| format!("identity_scim_group.g[\"{g}\"].id")).collect();
    format!(
        r#"
resource "identity_scim_user" "u" {{
  user_name = "member"
}}

resource "identity_scim_group" "g" {{
  for_each     = toset(["a", "b", "c", "d", "e"])
  display_name = "group-${{each.key}}"
}}

resource "identity_scim_user_group_memberships" "m" {{
  user_id   = identity_scim_user.u.id
  group_ids = [{refs}]
  exclusive = {exclusive}
}}
"#,
        refs = refs.join(", ")
    )
}

/// Asserts that the user `member` is in exactly the groups `keys` (of a..e) on the server.
#[track_caller]
fn assert_member_of(server: &Scim2Server, keys: &[&str], when: &str) {
    let want: Vec<(String, Vec<&str>)> =
        GROUP_KEYS.iter().map(|k| (format!("group-{k}"), if keys.contains(k) { vec!["member"] } else { vec![] })).collect();
    let want: Vec<(&str, &[&str])> = want.iter().map(|(g, m)| (g.as_str(), m.as_slice())).collect();
    assert_memberships(server, &want, when);
}

#[test]
fn user_group_memberships_lifecycle() {
    let server = Scim2Server::start();
    let ws = server.workspace();
    let addr = "identity_scim_user_group_memberships.m";

    ws.write_main(&memberships_hcl(&["a", "b"], false));
    ws.apply();
    assert_member_of(&server, &["a", "b"], "after create");
    let uid = id_of(&ws, "identity_scim_user.u");
    let g: BTreeMap<&str, String> = GROUP_KEYS.iter().map(|k| (*k, id_of(&ws, &format!("identity_scim_group.g[\"{k}\"]")))).collect();
    let ids = |keys: &[&str]| -> BTreeSet<String> { keys.iter().map(|k| g[k].clone()).collect() };
    assert_eq!(ws.state_attr(addr, "id"), json!(uid));
    assert_eq!(strings(&ws.state_attr(addr, "group_ids")), ids(&["a", "b"]));
    assert_eq!(strings(&ws.state_attr(addr, "all_group_ids")), ids(&["a", "b"]));

    // Non-exclusive: one group in, one out.
    ws.write_main(&memberships_hcl(&["b", "c"], false));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, addr), ["update"]);
    ws.apply();
    assert_member_of(&server, &["b", "c"], "after a non-exclusive change");
    assert_eq!(strings(&ws.state_attr(addr, "all_group_ids")), ids(&["b", "c"]));

    // Non-exclusive: a group joined out of band is left alone, and shows in all_group_ids.
    server.add_member(&g["d"], &uid);
    ws.assert_plan_empty();
    ws.apply();
    assert_member_of(&server, &["b", "c", "d"], "after an apply that must leave the unmanaged group d alone");
    assert_eq!(strings(&ws.state_attr(addr, "group_ids")), ids(&["b", "c"]));
    assert_eq!(strings(&ws.state_attr(addr, "all_group_ids")), ids(&["b", "c", "d"]));

    // Exclusive: the user leaves d, and the plan says so by group id.
    ws.write_main(&memberships_hcl(&["b", "c"], true));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, addr), ["update"]);
    assert_eq!(planned_sets(&plan, addr, "all_group_ids"), (ids(&["b", "c", "d"]), Some(ids(&["b", "c"]))));
    let text = plan_text_with_changes(&ws);
    assert!(text.contains(&format!("- \"{}\"", g["d"])), "the plan shows leaving group d:\n{text}");
    ws.apply();
    assert_member_of(&server, &["b", "c"], "after turning exclusive on");

    // Exclusive drift: a group joined out of band is planned as a removal and removed.
    server.add_member(&g["e"], &uid);
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, addr), ["update"]);
    assert_eq!(planned_sets(&plan, addr, "all_group_ids"), (ids(&["b", "c", "e"]), Some(ids(&["b", "c"]))));
    assert_eq!(planned_sets(&plan, addr, "group_ids"), (ids(&["b", "c", "e"]), Some(ids(&["b", "c"]))));
    let text = plan_text_with_changes(&ws);
    assert!(text.contains(&format!("- \"{}\"", g["e"])), "the plan shows leaving group e:\n{text}");
    ws.apply();
    assert_member_of(&server, &["b", "c"], "after the exclusive drift was corrected");

    // Exclusive: one group in, one out.
    ws.write_main(&memberships_hcl(&["c", "d"], true));
    assert_eq!(ws.resource_actions(addr), ["update"]);
    ws.apply();
    assert_member_of(&server, &["c", "d"], "after an exclusive change");
    assert_eq!(strings(&ws.state_attr(addr, "all_group_ids")), ids(&["c", "d"]));

    // Back to non-exclusive with fewer groups: the group dropped from the list is left.
    ws.write_main(&memberships_hcl(&["c"], false));
    assert_eq!(ws.resource_actions(addr), ["update"]);
    ws.apply();
    assert_member_of(&server, &["c"], "after going back to non-exclusive");

    // A managed membership removed out of band is added back.
    server.remove_member(&g["c"], &uid);
    assert_eq!(ws.resource_actions(addr), ["update"]);
    ws.apply();
    assert_member_of(&server, &["c"], "after re-joining c");

    // An unmanaged group for the imports below: the user is in a (unmanaged) and c.
    server.add_member(&g["a"], &uid);
    ws.apply();
    assert_member_of(&server, &["a", "c"], "after a refresh");
    assert_eq!(strings(&ws.state_attr(addr, "group_ids")), ids(&["c"]));
    assert_eq!(strings(&ws.state_attr(addr, "all_group_ids")), ids(&["a", "c"]));
    let config = |groups: &[&str], exclusive: bool| {
        let list: Vec<&str> = groups.iter().map(|k| g[k].as_str()).collect();
        format!(
            "resource \"identity_scim_user_group_memberships\" \"m\" {{\n  user_id   = {}\n  group_ids = {}\n  exclusive = {exclusive}\n}}\n",
            hcl_string(&uid),
            quoted_list(&list)
        )
    };

    // Import naming the managed groups reproduces the non-exclusive state exactly.
    let fresh = ws.sibling();
    fresh.write_main(&config(&["c"], false));
    assert_import_reproduces(&ws, &fresh, addr, &format!("{uid}/{}", g["c"]));

    // Import by user id alone records every group; the next non-exclusive apply removes none.
    let fresh = ws.sibling();
    fresh.write_main(&config(&["c"], false));
    fresh.import(addr, &uid);
    assert_eq!(strings(&fresh.state_attr(addr, "group_ids")), ids(&["a", "c"]), "every current group is imported");
    assert_eq!(fresh.state_attr(addr, "exclusive"), false);
    let plan = fresh.plan_json();
    assert_eq!(actions(&plan, addr), ["update"]);
    assert_eq!(planned_sets(&plan, addr, "group_ids"), (ids(&["a", "c"]), Some(ids(&["c"]))), "a stops being managed");
    assert_eq!(planned_sets(&plan, addr, "all_group_ids"), (ids(&["a", "c"]), Some(ids(&["a", "c"]))), "and the user stays in a");
    fresh.apply();
    assert_member_of(&server, &["a", "c"], "after applying a non-exclusive config to an import by user id");
    assert_eq!(strings(&fresh.state_attr(addr, "group_ids")), ids(&["c"]));
    assert_eq!(strings(&fresh.state_attr(addr, "all_group_ids")), ids(&["a", "c"]));
    fresh.assert_plan_empty();

    // Import with `/*`: exclusive, every group managed.
    let fresh = ws.sibling();
    fresh.write_main(&config(&["a", "c"], true));
    fresh.import(addr, &format!("{uid}/*"));
    assert_eq!(fresh.state_attr(addr, "exclusive"), true);
    assert_eq!(strings(&fresh.state_attr(addr, "group_ids")), ids(&["a", "c"]));
    assert_eq!(strings(&fresh.state_attr(addr, "all_group_ids")), ids(&["a", "c"]));
    fresh.assert_plan_empty();

    // The user deleted behind Terraform's back: user and memberships are planned as creates.
    server.delete_user(&uid);
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, "identity_scim_user.u"), ["create"]);
    assert_eq!(actions(&plan, addr), ["create"]);
    ws.apply();
    let new_uid = id_of(&ws, "identity_scim_user.u");
    assert_ne!(new_uid, uid);
    assert_eq!(server.group_ids_of(&new_uid), ids(&["c"]), "the re-created user is in c only");
    // scim2-server keeps a deleted user's id in the groups' `members` (it has no
    // referential integrity), so the old id is still listed in a and c.
    let gone = format!("?{uid}");
    assert_memberships(
        &server,
        &[("group-a", &[&gone]), ("group-b", &[]), ("group-c", &["member", &gone]), ("group-d", &[]), ("group-e", &[])],
        "after re-creating the user",
    );
    ws.assert_plan_empty();

    ws.destroy();
    assert_user_names(&server, &[], "after destroy");
    assert!(server.groups().is_empty(), "destroy leaves no groups: {:?}", server.groups());
}

// ---------------------------------------------------------------------------------------
// Data sources
// ---------------------------------------------------------------------------------------

#[test]
fn data_sources_filter_and_page() {
    let server = Scim2Server::start();
    // 55 users made behind Terraform's back: more than one page of 50.
    let bulk: Vec<String> = (0..55).map(|i| server.create_user(&format!("bulk-{i:02}"))).collect();
    server.create_group("ds-a", &[&bulk[0], &bulk[1]]);
    server.create_group("ds-b", &[&bulk[1]]);
    server.create_group("other", &[]);

    let ws = server.workspace();
    ws.write_main(&format!(
        r#"
resource "identity_scim_user" "tf" {{
  user_name   = "tf-user"
  given_name  = "Tee"
  family_name = "Eff"
  emails      = [{{ value = "tf@example.com", primary = true }}]
}}

resource "identity_scim_group" "tf" {{
  display_name = "ds-tf"
  external_id  = "x-tf"
  members      = [identity_scim_user.tf.id, {bulk0}]
}}

data "identity_scim_users" "all" {{
  depends_on = [identity_scim_user.tf]
}}

data "identity_scim_users" "some" {{
  filter = "userName sw \"bulk-1\""
}}

data "identity_scim_users" "one" {{
  filter     = "userName eq \"tf-user\""
  depends_on = [identity_scim_user.tf]
}}

data "identity_scim_groups" "all" {{
  depends_on = [identity_scim_group.tf]
}}

data "identity_scim_groups" "ds" {{
  filter     = "displayName sw \"ds-\""
  depends_on = [identity_scim_group.tf]
}}

data "identity_scim_groups" "of" {{
  member_user_id = {bulk1}
  depends_on     = [identity_scim_group.tf]
}}

data "identity_scim_groups" "of_tf" {{
  member_user_id = identity_scim_user.tf.id
  depends_on     = [identity_scim_group.tf]
}}

data "identity_scim_groups" "both" {{
  filter         = "displayName eq \"ds-a\""
  member_user_id = {bulk1}
}}

output "all"   {{ value = length(data.identity_scim_users.all.users) }}
output "some"  {{ value = sort([for u in data.identity_scim_users.some.users : u.user_name]) }}
output "one"   {{ value = data.identity_scim_users.one.users }}
output "groups" {{ value = sort([for g in data.identity_scim_groups.all.groups : g.display_name]) }}
output "ds"    {{ value = sort([for g in data.identity_scim_groups.ds.groups : g.display_name]) }}
output "of"    {{ value = sort([for g in data.identity_scim_groups.of.groups : g.display_name]) }}
output "of_tf" {{ value = data.identity_scim_groups.of_tf.groups }}
output "both"  {{ value = [for g in data.identity_scim_groups.both.groups : g.display_name] }}
"#,
        bulk0 = hcl_string(&bulk[0]),
        bulk1 = hcl_string(&bulk[1]),
    ));
    ws.apply();
    assert_memberships(
        &server,
        &[("ds-a", &["bulk-00", "bulk-01"]), ("ds-b", &["bulk-01"]), ("other", &[]), ("ds-tf", &["tf-user", "bulk-00"])],
        "after apply",
    );
    let tf_user = id_of(&ws, "identity_scim_user.tf");
    let tf_group = id_of(&ws, "identity_scim_group.tf");
    let out = ws.outputs_json();
    assert_eq!(out["all"]["value"], 56, "paged past 50 users");
    let tens: Vec<String> = (10..20).map(|i| format!("bulk-{i}")).collect();
    assert_eq!(out["some"]["value"], json!(tens), "the server applies the filter");
    assert_eq!(
        out["one"]["value"],
        json!([{
            "id": tf_user, "ocid": "", "user_name": "tf-user", "display_name": null, "given_name": "Tee", "family_name": "Eff",
            "active": true, "external_id": null, "emails": ["tf@example.com"],
        }]),
        "every attribute of a user"
    );
    assert_eq!(out["groups"]["value"], json!(["ds-a", "ds-b", "ds-tf", "other"]));
    assert_eq!(out["ds"]["value"], json!(["ds-a", "ds-b", "ds-tf"]));
    assert_eq!(out["of"]["value"], json!(["ds-a", "ds-b"]), "groups by member, read from the groups' members");
    assert_eq!(
        out["of_tf"]["value"],
        json!([{"id": tf_group, "ocid": "", "display_name": "ds-tf", "description": null, "external_id": "x-tf"}]),
        "every attribute of a group"
    );
    assert_eq!(out["both"]["value"], json!(["ds-a"]), "filter and member_user_id combined");
    ws.assert_plan_empty();

    // A filter the server refuses: the server's own words.
    let bad = ws.sibling();
    bad.write_main("data \"identity_scim_users\" \"bad\" {\n  filter = \"userName eq\"\n}\n");
    let err = bad.plan_expect_err(&[]);
    assert!(err.contains("Unable to list users"), "{err}");

    ws.destroy();
    assert_memberships(&server, &[("ds-a", &["bulk-00", "bulk-01"]), ("ds-b", &["bulk-01"]), ("other", &[])], "after destroy");
    assert_eq!(server.users().len(), 55, "destroy removes only what Terraform made");
}

// ---------------------------------------------------------------------------------------
// List resources (terraform query, Terraform >= 1.14)
// ---------------------------------------------------------------------------------------

const QUERY: &str = r#"
list "identity_scim_user" "q" {
  provider         = identity
  include_resource = true
  config {
    filter = "userName ew \"@q.example.com\""
  }
}

list "identity_scim_group" "q" {
  provider         = identity
  include_resource = true
  config {
    filter = "displayName sw \"q-\""
  }
}
"#;

#[test]
fn query_finds_objects_and_generated_config_imports_them() {
    let server = Scim2Server::start();
    // What the query finds is made in a workspace whose state is then thrown away.
    let seed = server.workspace();
    seed.write_main(
        r#"
resource "identity_scim_user" "found" {
  for_each     = toset(["ann", "bob", "cyd"])
  user_name    = "${each.key}@q.example.com"
  given_name   = each.key
  family_name  = "Query"
  display_name = "${each.key} Query"
  emails       = [{ value = "${each.key}@q.example.com", type = "work", primary = true }]
}

resource "identity_scim_user" "other" {
  user_name = "zed@elsewhere.example.com"
}

resource "identity_scim_group" "team" {
  display_name = "q-team"
  external_id  = "q-ext"
  members      = [identity_scim_user.found["ann"].id, identity_scim_user.found["bob"].id]
}

resource "identity_scim_group" "elsewhere" {
  display_name = "not-found"
}
"#,
    );
    seed.apply();
    let seeded: &[(&str, &[&str])] = &[("q-team", &["ann@q.example.com", "bob@q.example.com"]), ("not-found", &[])];
    assert_memberships(&server, seeded, "after seeding");

    let mut ws = server.workspace();
    if let Some(tf) = newer_terraform(1, 14) {
        ws.use_terraform(tf);
    }
    ws.write_main("");
    ws.write_file("found.tfquery.hcl", QUERY);
    let out = ws.run_ok(&["query", "-no-color"]);
    let text = out.stdout;
    for who in ["ann@q.example.com", "bob@q.example.com", "cyd@q.example.com", "q-team"] {
        assert!(text.contains(who), "query lists {who}:\n{text}");
    }
    assert!(!text.contains("zed@elsewhere") && !text.contains("not-found"), "the server applies the filters:\n{text}");
    assert_eq!(text.matches("list.identity_scim_user.q").count(), 3, "{text}");
    assert_eq!(text.matches("list.identity_scim_group.q").count(), 1, "{text}");

    // A limit.
    ws.write_file("limited.tfquery.hcl", "list \"identity_scim_user\" \"two\" {\n  provider = identity\n  limit    = 2\n}\n");
    let out = ws.run_ok(&["query", "-no-color"]);
    assert_eq!(out.stdout.matches("list.identity_scim_user.two").count(), 2, "limit = 2:\n{}", out.stdout);
    ws.remove_file("limited.tfquery.hcl");

    // Generated configuration adopts them: 4 imports, then nothing to do.
    ws.run_ok(&["query", "-generate-config-out=generated.tf", "-no-color"]);
    let generated = ws.read_file("generated.tf");
    assert_eq!(generated.matches("resource \"identity_scim_user\"").count(), 3, "{generated}");
    assert_eq!(generated.matches("resource \"identity_scim_group\"").count(), 1, "{generated}");
    let out = ws.run(&["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(out.code, 2, "{}", out.combined());
    assert!(out.stdout.contains("4 to import, 0 to add, 0 to change, 0 to destroy"), "{}", out.stdout);
    let out = ws.run_ok(&["apply", "-auto-approve", "-no-color"]);
    assert!(out.stdout.contains("4 imported, 0 added, 0 changed, 0 destroyed"), "{}", out.stdout);
    assert_memberships(&server, seeded, "after adopting the generated configuration");
    let out = ws.run(&["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(out.code, 0, "the imported objects match the generated configuration:\n{}", out.combined());
    let state = ws.state_file_text();
    assert!(state.contains("ann@q.example.com") && state.contains("q-team") && state.contains("q-ext"), "{state}");
}
