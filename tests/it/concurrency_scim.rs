//! Optimistic concurrency of SCIM users and groups: a saved plan applied after someone
//! changed the object on the server fails with a clear error instead of overwriting the
//! change (the update and the delete send `If-Match` with the version Terraform read);
//! the change is still on the server, and the next plan shows the real difference.
//! Membership resources that change a group in the same apply are not conflicts.

use crate::support;

use serde_json::{Value, json};
use support::{Sandbox, Workspace, actions, resource_change};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP_EXTENSION: &str = "urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group";

fn replace(path: &str, value: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": path, "value": value}]})
}

#[track_caller]
fn ok(sb: &Sandbox, method: &str, path: &str, body: Value) {
    let (status, answer) = sb.http(method, path, Some(body));
    assert!((200..300).contains(&status), "{method} {path} answered {status}: {answer}");
}

/// The SCIM object at `path`, as the server has it.
fn server_object(sb: &Sandbox, path: &str) -> Value {
    let (status, answer) = sb.http("GET", path, None);
    assert_eq!(status, 200, "GET {path}: {answer}");
    answer
}

#[track_caller]
fn assert_conflict(err: &str, what: &str, action: &str) {
    let flat = support::flat(err);
    assert!(
        flat.contains(&format!("{what} changed on the server"))
            && flat.contains(&format!("did not {action} it"))
            && flat.contains("412")
            && flat.contains("nothing was overwritten"),
        "expected the conflict error for {what}:\n{err}"
    );
}

const GROUP: &str = r#"resource "identity_scim_group" "g" {
  display_name = "NAME"
  description  = "DESCRIPTION"
}
"#;

fn group(name: &str, description: &str) -> String {
    GROUP.replace("NAME", name).replace("DESCRIPTION", description)
}

#[test]
fn a_saved_plan_does_not_overwrite_a_group_changed_since() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&group("cc-eng", "Engineering"));
    ws.apply();
    let id = ws.state_attr("identity_scim_group.g", "id").as_str().unwrap_or_default().to_string();
    let path = format!("/oci/admin/v1/Groups/{id}");

    // 1. The plan, saved: a new description.
    ws.write_main(&group("cc-eng", "Engineering, all of it"));
    ws.run_ok(&["plan", "-input=false", "-no-color", "-out=tfplan"]);
    // 2. Someone renames the group meanwhile.
    ok(&sb, "PATCH", &path, replace("displayName", json!("cc-eng-by-hand")));
    // 3. The saved plan fails with the conflict, and changes nothing.
    let err = ws.run_err(&["apply", "-input=false", "-no-color", "tfplan"]);
    assert_conflict(&err, "The SCIM group \"cc-eng\"", "update");
    // 4. The change made by hand is still there, and the description was not written.
    let now = server_object(&sb, &path);
    assert_eq!(now["displayName"], json!("cc-eng-by-hand"), "{now:#}");
    assert_eq!(now[GROUP_EXTENSION]["description"], json!("Engineering"), "{now:#}");
    // 5. The next plan shows the real difference: the name back, the new description.
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, "identity_scim_group.g"), ["update"]);
    let change = &resource_change(&plan, "identity_scim_group.g")["change"];
    assert_eq!(change["before"]["display_name"], json!("cc-eng-by-hand"));
    assert_eq!(change["after"]["display_name"], json!("cc-eng"));
    assert_eq!(change["after"]["description"], json!("Engineering, all of it"));
    ws.apply();

    // A saved destroy plan does not delete a group changed since either.
    ws.run_ok(&["plan", "-destroy", "-input=false", "-no-color", "-out=tfplan"]);
    ok(&sb, "PATCH", &path, replace("displayName", json!("cc-eng-kept")));
    let err = ws.run_err(&["apply", "-input=false", "-no-color", "tfplan"]);
    assert_conflict(&err, "The SCIM group \"cc-eng\"", "delete");
    assert_eq!(server_object(&sb, &path)["displayName"], json!("cc-eng-kept"), "the group was not deleted");
    assert_eq!(ws.state_addresses(), ["identity_scim_group.g"]);
    ws.destroy();
}

#[test]
fn a_saved_plan_does_not_overwrite_a_user_changed_since() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let user = |display: &str| {
        format!("resource \"identity_scim_user\" \"u\" {{\n  user_name    = \"cc.user@example.com\"\n  display_name = \"{display}\"\n}}\n")
    };
    ws.write_main(&user("CC User"));
    ws.apply();
    let id = ws.state_attr("identity_scim_user.u", "id").as_str().unwrap_or_default().to_string();
    let path = format!("/oci/admin/v1/Users/{id}");

    ws.write_main(&user("CC User (renamed)"));
    ws.run_ok(&["plan", "-input=false", "-no-color", "-out=tfplan"]);
    ok(&sb, "PATCH", &path, replace("active", json!(false)));
    let err = ws.run_err(&["apply", "-input=false", "-no-color", "tfplan"]);
    assert_conflict(&err, "The SCIM user \"cc.user@example.com\"", "update");
    let now = server_object(&sb, &path);
    assert_eq!((now["active"].clone(), now["displayName"].clone()), (json!(false), json!("CC User")), "{now:#}");
    let plan = ws.plan_json();
    let change = &resource_change(&plan, "identity_scim_user.u")["change"];
    assert_eq!((change["before"]["active"].clone(), change["after"]["active"].clone()), (json!(false), json!(true)));
    assert_eq!(change["after"]["display_name"], json!("CC User (renamed)"));
    ws.apply();
    ws.destroy();
}

/// Members added and removed by membership resources change the group's version in the
/// same apply; the group's own update and delete still go through, and the server's
/// membership is as the configuration says after each apply.
#[test]
fn membership_changes_in_the_same_run_are_not_conflicts() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let config = |name: &str, member: bool| {
        let mut c = format!(
            "resource \"identity_scim_user\" \"u\" {{\n  user_name = \"cc.member@example.com\"\n}}\n\
             resource \"identity_scim_group\" \"g\" {{\n  display_name = \"{name}\"\n}}\n"
        );
        if member {
            c.push_str("resource \"identity_scim_group_member\" \"m\" {\n  group_id = identity_scim_group.g.id\n  user_id  = identity_scim_user.u.id\n}\n");
        }
        c
    };
    ws.write_main(&config("cc-members", true));
    ws.apply();
    let user = ws.state_attr("identity_scim_user.u", "id");
    let group = ws.state_attr("identity_scim_group.g", "id").as_str().unwrap_or_default().to_string();
    let members = |sb: &Sandbox| server_object(sb, &format!("/oci/admin/v1/Groups/{group}"))["members"].clone();
    assert!(members(&sb).to_string().contains(user.as_str().unwrap_or_default()), "the member is in the group");
    // The member leaves and the group is renamed in one apply, with the version the
    // refresh read before the member left.
    ws.write_main(&config("cc-members-renamed", false));
    ws.apply();
    assert!(!members(&sb).to_string().contains(user.as_str().unwrap_or_default()), "the member left: {}", members(&sb));
    // And back: the member is added again, then everything is destroyed.
    ws.write_main(&config("cc-members-renamed", true));
    ws.apply();
    assert!(members(&sb).to_string().contains(user.as_str().unwrap_or_default()), "the member is back");
    ws.destroy();
}
