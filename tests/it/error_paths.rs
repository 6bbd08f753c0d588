//! Vendor errors on read, update and delete, through the CLI, for every resource: the
//! sandbox's fault injection answers 500 (never retried) to the first request of the
//! operation, and the test checks the message (the vendor's own words), that the state and
//! the server keep what they had, and that the next run, without the fault, converges.
//! Then the same resource's `timeouts.update` and `timeouts.delete` run out, under a 429
//! asking for an hour's wait, with the same checks.

use crate::support;

use serde_json::json;
use support::{Sandbox, Workspace};

/// The words the sandbox puts in every injected error, in each vendor's error shape.
const INJECTED: &str = "injected by the sandbox's fault injection";

struct Case {
    addr: &'static str,
    /// The configuration that creates the object.
    create: String,
    /// A change that the provider makes in place, if the resource has one.
    update: Option<String>,
    /// Whether deleting the object sends a request (an import session is only forgotten).
    delete_sends: bool,
    /// Whether a fresh provider process first asks for an OAuth2 token (SCIM), which the
    /// fault window must let through.
    token_first: bool,
}

/// Every later vendor request (after the token request, for SCIM) answers 500.
fn fail_from_now(sb: &Sandbox, case: &Case) {
    sb.set_faults(json!({"rate": 1, "statuses": [500], "after_n": u64::from(case.token_first)}));
}

/// Every later vendor request answers 429 and asks for an hour's wait.
fn rate_limit_from_now(sb: &Sandbox, case: &Case) {
    sb.set_faults(json!({"rate": 1, "statuses": [429], "retry_after": 3600, "after_n": u64::from(case.token_first)}));
}

/// `config` with `timeouts = { ... }` added to the resource at `addr`.
fn with_timeouts(config: &str, addr: &str, pairs: &str) -> String {
    let (kind, name) = addr.split_once('.').expect("an address");
    let head = format!("resource \"{kind}\" \"{name}\" {{\n");
    assert!(config.contains(&head), "{addr} is in the configuration:\n{config}");
    config.replacen(&head, &format!("{head}  timeouts = {{ {pairs} }}\n"), 1)
}

#[track_caller]
fn assert_timed_out(text: &str, gerund: &str, op: &str) {
    let flat = support::flat(text);
    assert!(
        flat.contains(&format!("Timed out {gerund}")) && flat.contains(&format!("took longer than timeouts.{op} (1s)")),
        "expected the {op} timeout's diagnostic:\n{text}"
    );
}

fn faults_off(sb: &Sandbox) {
    sb.set_faults(json!({"rate": 0}));
}

#[track_caller]
fn assert_vendor_error(text: &str, what: &str) {
    // Terraform wraps diagnostics at its terminal width.
    let flat = support::flat(text);
    assert!(
        flat.contains(INJECTED) && flat.contains("answered 500"),
        "{what}: expected the vendor's own words and its status 500:\n{text}"
    );
}

fn run(case: Case) {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&case.create);
    ws.apply();

    // Read: a refresh that fails changes nothing; without the fault all is as before.
    let state = ws.state_file_text();
    fail_from_now(&sb, &case);
    let err = ws.run_err(&["apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color"]);
    assert_vendor_error(&err, "read");
    faults_off(&sb);
    assert_eq!(ws.state_file_text(), state, "a failed refresh leaves the state as it was");
    ws.check_applied();

    // Update: the change fails, the server and the state keep the old values, and the
    // next plan still shows the change.
    if let Some(update) = &case.update {
        ws.write_main(update);
        fail_from_now(&sb, &case);
        let err = ws.run_err(&["apply", "-refresh=false", "-auto-approve", "-input=false", "-no-color"]);
        assert_vendor_error(&err, "update");
        faults_off(&sb);
        ws.assert_server_matches_state();
        assert_eq!(ws.resource_actions(case.addr), ["update"], "the failed update is planned again");
        ws.apply();
    }

    // Delete: the destroy fails, the object stays in the state and on the server; the
    // next destroy removes it.
    if case.delete_sends {
        fail_from_now(&sb, &case);
        let err = ws.run_err(&["destroy", "-refresh=false", "-auto-approve", "-input=false", "-no-color"]);
        assert_vendor_error(&err, "delete");
        faults_off(&sb);
        assert!(ws.state_addresses().iter().any(|a| a == case.addr), "a failed delete keeps {} in the state", case.addr);
        ws.assert_server_matches_state();
    }

    // Timeouts: a change of `timeouts` alone is applied to the state (standard checks).
    // Mappers have no `timeouts.delete`: their delete (a reset) is bounded by `update`.
    let delete_op = if case.addr.starts_with("identity_idp_mappers.") { "update" } else { "delete" };
    let pairs = match (case.update.is_some(), delete_op) {
        (true, "update") => r#"update = "1s""#,
        (true, _) => r#"update = "1s", delete = "1s""#,
        (false, _) => r#"delete = "1s""#,
    };
    let current = case.update.as_deref().unwrap_or(&case.create);
    if case.update.is_some() || case.delete_sends {
        ws.write_main(&with_timeouts(current, case.addr, pairs));
        ws.apply();
    }
    // An update that runs out of time keeps the old values on the server and in the state,
    // and is planned again.
    if case.update.is_some() {
        ws.write_main(&with_timeouts(&case.create, case.addr, pairs));
        rate_limit_from_now(&sb, &case);
        let err = ws.run_err(&["apply", "-refresh=false", "-auto-approve", "-input=false", "-no-color"]);
        assert_timed_out(&err, "updating", "update");
        faults_off(&sb);
        ws.assert_server_matches_state();
        assert_eq!(ws.resource_actions(case.addr), ["update"], "the timed-out update is planned again");
        ws.apply();
    }
    // A delete that runs out of time keeps the object in the state and on the server.
    if case.delete_sends {
        rate_limit_from_now(&sb, &case);
        // Only this resource: the others would wait out their own default timeouts.
        let target = format!("-target={}", case.addr);
        let err = ws.run_err(&["destroy", &target, "-refresh=false", "-auto-approve", "-input=false", "-no-color"]);
        assert_timed_out(&err, "deleting", delete_op);
        faults_off(&sb);
        assert!(ws.state_addresses().iter().any(|a| a == case.addr), "a timed-out delete keeps {} in the state", case.addr);
        ws.assert_server_matches_state();
    }
    ws.destroy();
}

const USER: &str = r#"resource "identity_scim_user" "u" {
  user_name    = "err.paths@example.com"
  display_name = "DISPLAY"
}
"#;

const GROUPS: &str = r#"resource "identity_scim_group" "a" {
  display_name = "err-a"
}
resource "identity_scim_group" "b" {
  display_name = "err-b"
}
"#;

fn idp(client_id: &str, mappers: &str) -> String {
    format!(
        r#"resource "identity_idp" "corp" {{
  name = "errpaths"
  type = "oidc"
  oidc = {{
    client_id             = "{client_id}"
    client_secret_wo      = "s3cret"
    discover_document_url = "https://idp.example.com/.well-known/openid-configuration"
  }}
}}
{mappers}"#
    )
}

#[test]
fn scim_user_vendor_errors() {
    run(Case {
        addr: "identity_scim_user.u",
        create: USER.replace("DISPLAY", "Err Paths"),
        update: Some(USER.replace("DISPLAY", "Err Paths Renamed")),
        delete_sends: true,
        token_first: true,
    });
}

#[test]
fn scim_group_vendor_errors() {
    let group = |name: &str| format!("resource \"identity_scim_group\" \"g\" {{\n  display_name = \"{name}\"\n}}\n");
    run(Case {
        addr: "identity_scim_group.g",
        create: group("err-g"),
        update: Some(group("err-g2")),
        delete_sends: true,
        token_first: true,
    });
}

#[test]
fn scim_group_member_vendor_errors() {
    let config = format!(
        "{}{GROUPS}resource \"identity_scim_group_member\" \"m\" {{\n  group_id = identity_scim_group.a.id\n  user_id  = identity_scim_user.u.id\n}}\n",
        USER.replace("DISPLAY", "Err Paths")
    );
    run(Case { addr: "identity_scim_group_member.m", create: config, update: None, delete_sends: true, token_first: true });
}

#[test]
fn scim_user_group_memberships_vendor_errors() {
    let config = |groups: &str| {
        format!(
            "{}{GROUPS}resource \"identity_scim_user_group_memberships\" \"m\" {{\n  user_id   = identity_scim_user.u.id\n  group_ids = [{groups}]\n}}\n",
            USER.replace("DISPLAY", "Err Paths")
        )
    };
    run(Case {
        addr: "identity_scim_user_group_memberships.m",
        create: config("identity_scim_group.a.id"),
        update: Some(config("identity_scim_group.a.id, identity_scim_group.b.id")),
        delete_sends: true,
        token_first: true,
    });
}

#[test]
fn idp_vendor_errors() {
    run(Case {
        addr: "identity_idp.corp",
        create: idp("terraform", ""),
        update: Some(idp("terraform-2", "")),
        delete_sends: true,
        token_first: false,
    });
}

#[test]
fn idp_mappers_vendor_errors() {
    let mappers =
        |uid: &str| format!("resource \"identity_idp_mappers\" \"m\" {{\n  idp = identity_idp.corp.alias\n  uid = \"{uid}\"\n}}\n");
    run(Case {
        addr: "identity_idp_mappers.m",
        create: idp("terraform", &mappers("sub")),
        update: Some(idp("terraform", &mappers("preferred_username"))),
        delete_sends: true,
        token_first: false,
    });
}

#[test]
fn user_oidc_vendor_errors() {
    let assignment = |sub: &str| {
        format!(
            "resource \"identity_user_oidc\" \"john\" {{\n  user_id  = \"9124292845052624898\"\n  oidc_id  = \"9124292845052624898\"\n  oidc_sub = \"{sub}\"\n}}\n"
        )
    };
    run(Case {
        addr: "identity_user_oidc.john",
        create: assignment("John"),
        update: Some(assignment("JohnD")),
        delete_sends: true,
        token_first: false,
    });
}

#[test]
fn oidc_group_import_vendor_errors() {
    run(Case {
        addr: "identity_oidc_group_import.corp",
        create: "resource \"identity_oidc_group_import\" \"corp\" {\n  issuer_id = 123\n}\n".to_string(),
        update: None,
        delete_sends: false,
        token_first: false,
    });
}
