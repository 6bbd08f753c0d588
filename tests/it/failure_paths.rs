//! The failure paths of the two resources that wait for a vendor, through the CLI:
//! Landscape's import session (a poll that fails, a session that vanishes, a start that
//! runs out of time, a staged count that fails) and Run:ai's mapper changes (an idp that
//! does not exist, one that vanishes while its change waits, a change never visible in
//! time). Each checks the message, what the state keeps (tainted or nothing) and the
//! server.

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Sandbox, Workspace, flat};

const IMPORT: &str = "identity_oidc_group_import.corp";
const POLL_ROUTE: &str = "GET /landscape/api/v2/oidc/groups/import_session/{id}";
const INJECTED: &str = "injected by the sandbox's fault injection";

fn import_hcl(extra: &str) -> String {
    format!("resource \"identity_oidc_group_import\" \"corp\" {{\n  issuer_id = 123\n{extra}}}\n")
}

#[test]
fn landscape_poll_error_mid_wait_keeps_the_session_tainted() {
    // Sessions take a minute: the second poll is always made while it runs.
    let sb = Sandbox::start_with(&["--landscape-import-ms", "60000"]);
    let ws = Workspace::new(&sb);
    ws.write_main(&import_hcl(""));
    // Request 1 starts the session, 2 is the first poll, 3 the second: it fails.
    sb.set_faults(json!({"rate": 1, "statuses": [500], "after_n": 2, "count": 1}));
    let err = flat(&ws.apply_expect_err());
    assert!(err.contains("Unable to read the OIDC group import session") && err.contains("Polling Landscape import session 1"), "{err}");
    assert!(err.contains(INJECTED), "the vendor's words: {err}");
    let e = ws.state_entry(IMPORT);
    assert_eq!(e["tainted"], json!(true), "{e:#}");
    assert_eq!(e["values"]["id"], json!("1"), "the started session is kept, to be replaced: {e:#}");
    assert_eq!(e["values"]["status"], json!("IN_PROGRESS"), "{e:#}");
    sb.set_faults(json!({"rate": 0}));
}

#[test]
fn landscape_session_vanishing_mid_wait_is_named() {
    let sb = Sandbox::start_with(&["--landscape-import-ms", "60000"]);
    let ws = Workspace::new(&sb);
    ws.write_main(&import_hcl(""));
    let mut apply = ws.spawn(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    apply.wait_for("the first poll", Duration::from_secs(60), || sb.route_count(POLL_ROUTE) >= 1);
    sb.reset(); // Landscape forgets every session
    let (status, out, errs) = apply.finish(Duration::from_secs(60));
    assert!(!status.success(), "the apply fails:\n{out}\n{errs}");
    let err = flat(&format!("{out}\n{errs}"));
    assert!(err.contains("OIDC group import session disappeared") && err.contains("import session 1"), "{err}");
    let e = ws.state_entry(IMPORT);
    assert_eq!(e["tainted"], json!(true), "{e:#}");
}

#[test]
fn landscape_start_running_out_of_time_says_so() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&import_hcl("  timeouts = {\n    create = \"2s\"\n  }\n"));
    // Every request waits 5 s: starting the session cannot finish within 2 s.
    sb.set_faults(json!({"rate": 0, "delay_ms": 5000}));
    let err = flat(&ws.apply_expect_err());
    sb.set_faults(json!({"rate": 0}));
    assert!(err.contains("timeouts.create") && err.contains("2s"), "the timeout is named: {err}");
    // Whether the request reached Landscape is unknown: nothing is recorded as created.
    assert!(ws.state_addresses().is_empty(), "no session in state: {:?}", ws.state_addresses());
}

#[test]
fn landscape_staged_count_failure_after_completion_is_an_error_and_tainted() {
    // Sessions complete after 200 ms: the first poll (at 250 ms at the earliest) sees it.
    let sb = Sandbox::start_with(&["--landscape-import-ms", "200"]);
    let ws = Workspace::new(&sb);
    ws.write_main(&import_hcl(""));
    // 1 starts, 2 polls (completed), 3 counts the staged groups: it fails.
    sb.set_faults(json!({"rate": 1, "statuses": [500], "after_n": 2, "count": 1}));
    let err = flat(&ws.apply_expect_err());
    sb.set_faults(json!({"rate": 0}));
    assert!(err.contains("Unable to count the staged OIDC groups") && err.contains("Import session 1 completed"), "{err}");
    assert!(err.contains(INJECTED), "{err}");
    let e = ws.state_entry(IMPORT);
    assert_eq!(e["tainted"], json!(true), "{e:#}");
    assert_eq!(e["values"]["status"], json!("COMPLETED"), "{e:#}");
    assert_eq!(e["values"]["staged_count"], Value::Null, "{e:#}");
}

fn mappers_hcl(idp: &str) -> String {
    format!(
        r#"resource "identity_idp" "corp" {{
  name = "corp"
  type = "oidc"
  oidc = {{
    client_id             = "terraform"
    client_secret_wo      = "s3cret"
    discover_document_url = "https://idp.example.com/.well-known/openid-configuration"
  }}
}}
resource "identity_idp_mappers" "corp" {{
  idp = {idp}
  uid = "sub"
  timeouts = {{
    create = "3s"
  }}
}}
"#
    )
}

#[test]
fn mappers_of_an_idp_that_does_not_exist() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main("resource \"identity_idp_mappers\" \"corp\" {\n  idp = \"nope\"\n  uid = \"sub\"\n}\n");
    let err = flat(&ws.apply_expect_err());
    assert!(err.contains("Identity provider not found") && err.contains("Run:ai has no identity provider \"nope\""), "{err}");
    assert!(ws.state_addresses().is_empty(), "{:?}", ws.state_addresses());
}

#[test]
fn mappers_change_not_visible_in_time() {
    // A change becomes visible a minute after its 202; the create may take 3 s.
    let sb = Sandbox::start_with(&["--mapper-delay-ms", "60000"]);
    let ws = Workspace::new(&sb);
    ws.write_main(&mappers_hcl("identity_idp.corp.alias"));
    let err = flat(&ws.apply_expect_err());
    assert!(
        err.contains("Mapper change not visible in time")
            && err.contains("Run:ai accepted the mapper change of \"corp\" (202) but it was not visible after 3s"),
        "{err}"
    );
    // The idp exists; the mappers are not recorded as applied.
    assert_eq!(ws.state_addresses(), ["identity_idp.corp"], "the mappers are not in state");
}

#[test]
fn mappers_of_an_idp_that_vanishes_while_waiting() {
    let sb = Sandbox::start_with(&["--mapper-delay-ms", "60000"]);
    let ws = Workspace::new(&sb);
    // The idp first, on its own.
    ws.write_main(mappers_hcl("identity_idp.corp.alias").split("resource \"identity_idp_mappers\"").next().unwrap_or_default());
    ws.apply();
    ws.write_main(&mappers_hcl("identity_idp.corp.alias").replace("create = \"3s\"", "create = \"60s\""));
    let mut apply = ws.spawn(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    apply.wait_for("the mapper change", Duration::from_secs(60), || !sb.requests_to("PUT", "/runai/api/v1/idps/corp/mappers").is_empty());
    sb.runai_delete_idp("corp");
    let (status, out, errs) = apply.finish(Duration::from_secs(60));
    assert!(!status.success(), "the apply fails:\n{out}\n{errs}");
    let err = flat(&format!("{out}\n{errs}"));
    assert!(err.contains("Identity provider vanished") && err.contains("\"corp\" disappeared"), "{err}");
}

/// A create whose answer arrived but whose read-back ran out of time: the object is in
/// the state, tainted (so the next apply replaces it), and not orphaned on the server.
#[test]
fn a_create_whose_read_back_runs_out_of_time_is_kept_tainted() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(
        r#"resource "identity_idp" "corp" {
  name = "slowread"
  type = "oidc"
  oidc = {
    client_id             = "terraform"
    client_secret_wo      = "s3cret"
    discover_document_url = "https://idp.example.com/.well-known/openid-configuration"
  }
  timeouts = {
    create = "2s"
  }
}"#,
    );
    // The create (request 1) is answered; every later request is a 503 asking for a 1 s
    // pause, so the read-back keeps waiting until the 2 s are over.
    sb.set_faults(json!({"rate": 1, "statuses": [503], "retry_after": 1, "after_n": 1}));
    let err = flat(&ws.apply_expect_err());
    sb.set_faults(json!({"rate": 0}));
    assert!(err.contains("timeouts.create") && err.contains("2s"), "the timeout is named: {err}");
    let e = ws.state_entry("identity_idp.corp");
    assert_eq!(e["tainted"], json!(true), "{e:#}");
    assert_eq!(e["values"]["alias"], json!("slowread"), "{e:#}");
    assert!(sb.runai_idp("slowread").is_some(), "the idp exists and is in the state, not orphaned");
    // The next apply replaces the tainted object.
    assert_eq!(support::actions(&ws.plan_json(), "identity_idp.corp"), ["delete", "create"]);
    ws.apply();
    ws.destroy();
}

/// An in-place update that runs out of `timeouts.update`: the message names it, and the
/// next apply (without the slowness) makes the change.
#[test]
fn an_update_that_runs_out_of_time_says_so_and_the_next_apply_converges() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let user = |display: &str| {
        format!(
            "resource \"identity_scim_user\" \"u\" {{\n  user_name    = \"slow.update@example.com\"\n  display_name = \"{display}\"\n  timeouts = {{\n    update = \"2s\"\n  }}\n}}\n"
        )
    };
    ws.write_main(&user("Before"));
    ws.apply();
    ws.write_main(&user("After"));
    sb.set_faults(json!({"rate": 0, "delay_ms": 5000}));
    let err = flat(&ws.run_err(&["apply", "-refresh=false", "-auto-approve", "-input=false", "-no-color"]));
    sb.set_faults(json!({"rate": 0}));
    assert!(err.contains("Timed out") && err.contains("timeouts.update") && err.contains("2s"), "{err}");
    assert_eq!(support::actions(&ws.plan_json(), "identity_scim_user.u"), ["update"], "the change is planned again");
    ws.apply();
    let id = ws.state_attr("identity_scim_user.u", "id");
    let user = sb.scim_users().into_iter().find(|u| u["id"] == id).expect("the user");
    assert_eq!(user["displayName"], json!("After"));
    ws.destroy();
}
