//! Acceptance tests for `identity_oidc_group_import` and `identity_oidc_staged_groups`:
//! the real terraform CLI drives the freshly built provider (through `dev_overrides`)
//! against `identity-sandbox`'s Landscape emulation.
//!
//! Sandbox seeds (see `src/sandbox/landscape.rs`): issuer 123 completes after
//! `--landscape-import-ms` (1500 ms by default) and stages 500 groups (520 with
//! `include_imported`); issuer 124 fails; issuer 125 takes 10 minutes.
//!
//! Each test starts its own sandbox, so they run in parallel and fail independently.
//! Figures (wait times, poll and page counts) are printed, never asserted, except that an
//! interrupted wait must end within a generous bound.

use crate::support;

use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Sandbox, Workspace, action_reason, actions, is_replace, replace_path_strings};

const ADDR: &str = "identity_oidc_group_import.corp";
const DS_DEFAULT: &str = "data.identity_oidc_staged_groups.corp";
const DS_ALL: &str = "data.identity_oidc_staged_groups.all";
const CREATE_ROUTE: &str = "POST /landscape/api/v2/oidc/groups/import_session";
const POLL_ROUTE: &str = "GET /landscape/api/v2/oidc/groups/import_session/{id}";
const STAGED_PATH: &str = "/landscape/api/v2/oidc/groups/staged";

/// `identity_oidc_group_import.corp` for `issuer`, with extra attribute lines.
fn import_hcl(issuer: i64, extra: &str) -> String {
    format!("resource \"identity_oidc_group_import\" \"corp\" {{\n  issuer_id = {issuer}\n{extra}}}\n")
}

fn triggers(rev: &str) -> String {
    format!("  triggers = {{\n    rev = \"{rev}\"\n  }}\n")
}

/// Both data sources on the resource's session, and outputs that read them.
const DATA_SOURCES: &str = r#"
data "identity_oidc_staged_groups" "corp" {
  import_session_id = identity_oidc_group_import.corp.id
}

data "identity_oidc_staged_groups" "all" {
  import_session_id = identity_oidc_group_import.corp.id
  include_imported  = true
}

output "staged_count" {
  value = data.identity_oidc_staged_groups.corp.group_count
}

output "first_group" {
  value = data.identity_oidc_staged_groups.corp.groups[0].name
}
"#;

/// Status of session `id` as the sandbox holds it.
fn sandbox_session(sb: &Sandbox, id: i64) -> Value {
    let state = sb.state();
    state["landscape"]["sessions"]
        .as_array()
        .and_then(|s| s.iter().find(|x| x["id"].as_i64() == Some(id)).cloned())
        .unwrap_or_else(|| panic!("the sandbox has no session {id}: {}", state["landscape"]["sessions"]))
}

/// The logged `GET .../staged` requests from index `from` on, as query strings.
fn staged_queries(sb: &Sandbox, from: usize) -> Vec<String> {
    sb.requests()
        .into_iter()
        .skip(from)
        .filter(|r| r["method"] == "GET" && r["path"] == STAGED_PATH)
        .map(|r| r["query"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn assert_groups(ds: &Value, session: i64, total: usize) {
    let groups = ds["groups"].as_array().unwrap_or_else(|| panic!("no groups: {ds:#}"));
    assert_eq!(groups.len(), total, "groups of session {session}");
    assert_eq!(ds["group_count"], json!(total));
    let mut ids: Vec<i64> = groups.iter().map(|g| g["id"].as_i64().expect("numeric id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "group ids must be unique");
    for g in groups {
        assert_eq!(g["import_session_id"], json!(session), "{g}");
        assert_eq!(g["issuer_id"], json!(123), "{g}");
        assert_eq!(g["account_id"], json!(312), "{g}");
        assert!(g["group_id"].as_str().is_some_and(|s| s.len() == 20), "{g}");
        assert!(g["name"].as_str().is_some_and(|s| !s.is_empty()), "{g}");
    }
    assert_eq!(groups[0]["name"], json!("Marketing"));
    assert_eq!(groups[0]["group_id"], json!("1239fzxv39fvzcz3fcwp"));
    assert_eq!(groups[1]["name"], json!("Engineering"));
}

/// The whole lifecycle: apply waits for COMPLETED; the data sources page through all 500
/// (520) groups; empty plans; in-place update of provider-side settings; `triggers`
/// replaces (a new session); import by session id; out-of-band loss is detected; destroy
/// only forgets.
#[test]
fn landscape_import_lifecycle() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);

    // 1. Apply waits until the session has completed.
    ws.write_main(&import_hcl(123, &triggers("1")));
    let started = Instant::now();
    ws.apply();
    let took = started.elapsed();
    let polls = sb.route_count(POLL_ROUTE);
    eprintln!("landscape figures: apply of one import (1500 ms session) took {} ms with {polls} polls", took.as_millis());
    assert_eq!(sb.route_count(CREATE_ROUTE), 1);
    assert!(polls >= 1, "apply must poll the session");
    let st = ws.state_resource(ADDR);
    assert_eq!(st["id"], json!("1"), "{st:#}");
    assert_eq!(st["status"], json!("COMPLETED"), "{st:#}");
    assert_eq!(st["issuer_id"], json!(123), "{st:#}");
    assert_eq!(st["account_id"], json!(312), "{st:#}");
    assert_eq!(st["staged_count"], json!(500), "{st:#}");
    assert_eq!(st["wait_for_completion"], json!(true), "{st:#}");
    assert_eq!(st["triggers"], json!({"rev": "1"}), "{st:#}");
    assert!(st["synced_at"].as_str().is_some_and(|s| s.ends_with('Z') && s.len() == 20), "{st:#}");
    assert_eq!(sandbox_session(&sb, 1)["status"], json!("COMPLETED"));
    ws.assert_plan_empty();

    // 2. The data sources return every group, across pages of 100.
    ws.write_main(&format!("{}{DATA_SOURCES}", import_hcl(123, &triggers("1"))));
    let log_from = sb.requests().len();
    ws.apply_unchecked("the page requests of this apply are counted first; checked below");
    let queries = staged_queries(&sb, log_from);
    let default_pages: Vec<&String> = queries.iter().filter(|q| q.contains("limit=100") && !q.contains("include_imported")).collect();
    let all_pages: Vec<&String> = queries.iter().filter(|q| q.contains("limit=100") && q.contains("include_imported=true")).collect();
    eprintln!(
        "landscape figures: data source read 500 groups in {} page requests, 520 (include_imported) in {}",
        default_pages.len(),
        all_pages.len()
    );
    assert_eq!(default_pages.len(), 5, "500 groups are 5 pages of 100: {queries:#?}");
    assert_eq!(all_pages.len(), 6, "520 groups are 6 pages of 100: {queries:#?}");
    for (i, q) in default_pages.iter().enumerate() {
        assert!(q.contains("import_session_id=1") && q.contains(&format!("offset={}", i * 100)), "page {i}: {q}");
    }
    assert_groups(&ws.state_resource(DS_DEFAULT), 1, 500);
    ws.check_applied();
    assert_eq!(ws.state_resource(DS_DEFAULT)["include_imported"], json!(false));
    assert_eq!(ws.state_resource(DS_ALL)["group_count"], json!(520));
    let outputs = ws.outputs_json();
    assert_eq!(outputs["staged_count"]["value"], json!(500), "{outputs:#}");
    assert_eq!(outputs["first_group"]["value"], json!("Marketing"), "{outputs:#}");

    // 3. Provider-side settings change in place, without a new session.
    ws.write_main(&format!(
        "{}{DATA_SOURCES}",
        import_hcl(123, &format!("{}  timeouts = {{\n    create = \"20m\"\n  }}\n", triggers("1")))
    ));
    assert_eq!(ws.resource_actions(ADDR), ["update"]);
    ws.apply();
    assert_eq!(sb.route_count(CREATE_ROUTE), 1, "an update must not start a session");
    assert_eq!(ws.state_attr(ADDR, "timeouts.create"), json!("20m"));
    assert_eq!(ws.state_attr(ADDR, "status"), json!("COMPLETED"));

    // 4. Changing triggers replaces: a new session, which the data source follows.
    ws.write_main(&format!("{}{DATA_SOURCES}", import_hcl(123, &triggers("2"))));
    let plan = ws.plan_json();
    let acts = actions(&plan, ADDR);
    assert!(is_replace(&acts), "a triggers change must replace, got {acts:?}");
    assert_eq!(replace_path_strings(&plan, ADDR), ["triggers"]);
    ws.apply();
    assert_eq!(sb.route_count(CREATE_ROUTE), 2);
    let st = ws.state_resource(ADDR);
    assert_eq!(st["id"], json!("2"), "{st:#}");
    assert_eq!(st["status"], json!("COMPLETED"), "{st:#}");
    assert_groups(&ws.state_resource(DS_DEFAULT), 2, 500);
    assert_eq!(sandbox_session(&sb, 1)["status"], json!("COMPLETED"), "replacing only forgets the old session");
    let managed = ws.state_resource(ADDR);

    // 5. Import by session id into a fresh directory reproduces the state.
    let imported = ws.sibling();
    imported.write_main(&import_hcl(123, ""));
    imported.import(ADDR, "2");
    let st = imported.state_resource(ADDR);
    for attr in ["id", "issuer_id", "status", "account_id", "synced_at", "staged_count", "wait_for_completion"] {
        assert_eq!(st[attr], managed[attr], "imported {attr} differs: {st:#}");
    }
    assert_eq!(st["triggers"], Value::Null);
    imported.assert_plan_empty();
    let bad = ws.sibling();
    bad.write_main(&import_hcl(123, ""));
    let err = bad.import_expect_err(ADDR, "not-a-number");
    assert!(err.contains("numeric Landscape session id"), "{err}");

    // 6. Destroy only forgets: the session stays in Landscape.
    imported.destroy();
    assert!(imported.state_addresses().is_empty());
    assert_eq!(sandbox_session(&sb, 2)["status"], json!("COMPLETED"));

    // 7. A session Landscape no longer knows is planned for creation.
    sb.reset();
    assert_eq!(ws.resource_actions(ADDR), ["create"], "a vanished session must be planned for creation");
    ws.destroy();
    assert!(ws.state_addresses().is_empty(), "{:?}", ws.state_addresses());
    assert_eq!(sb.route_count(CREATE_ROUTE), 0, "destroy starts nothing");
}

/// A failing issuer: apply fails with the status and session id, and the session is in
/// state, tainted, so the next plan replaces it.
#[test]
fn landscape_failed_session_is_an_error_and_tainted() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&import_hcl(124, ""));
    let out = ws.apply_expect_err();
    assert!(out.contains("OIDC group import failed"), "{out}");
    assert!(out.contains("session 1") && out.contains("FAILED"), "the error names the session and its status:\n{out}");
    let entry = ws.state_entry(ADDR);
    assert_eq!(entry["tainted"], json!(true), "{entry:#}");
    assert_eq!(entry["values"]["status"], json!("FAILED"), "{entry:#}");
    assert_eq!(entry["values"]["id"], json!("1"), "{entry:#}");
    let plan = ws.plan_json();
    assert!(is_replace(&actions(&plan, ADDR)));
    assert_eq!(action_reason(&plan, ADDR).as_deref(), Some("replace_because_tainted"));
    ws.destroy();
    assert!(ws.state_addresses().is_empty());
}

/// A session slower than `timeouts.create`: the error names the session and says it is
/// still running; the session is recorded tainted.
#[test]
fn landscape_timeout_names_the_running_session() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&import_hcl(125, "  timeouts = {\n    create = \"2s\"\n  }\n"));
    let started = Instant::now();
    let out = ws.apply_expect_err();
    eprintln!(
        "landscape figures: a 2s timeout ended the apply after {} ms with {} polls",
        started.elapsed().as_millis(),
        sb.route_count(POLL_ROUTE)
    );
    assert!(out.contains("Timed out waiting for the OIDC group import"), "{out}");
    assert!(out.contains("import session 1") && out.contains("still running") && out.contains("2s"), "{out}");
    let entry = ws.state_entry(ADDR);
    assert_eq!(entry["tainted"], json!(true), "{entry:#}");
    assert_eq!(entry["values"]["status"], json!("IN_PROGRESS"), "{entry:#}");
    assert_eq!(entry["values"]["staged_count"], Value::Null, "{entry:#}");
    assert_eq!(sandbox_session(&sb, 1)["status"], json!("IN_PROGRESS"));
}

/// `wait_for_completion = false`: apply returns at once with IN_PROGRESS; read refreshes
/// the status (and staged_count) once Landscape has finished.
#[test]
fn landscape_no_wait_then_refresh() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&import_hcl(123, "  wait_for_completion = false\n"));
    ws.apply_unchecked("the next plan refreshes the session, which this test observes step by step");
    assert_eq!(sb.route_count(POLL_ROUTE), 0, "no polling without wait_for_completion");
    let st = ws.state_resource(ADDR);
    assert_eq!(st["status"], json!("IN_PROGRESS"), "{st:#}");
    assert_eq!(st["staged_count"], Value::Null, "{st:#}");

    let deadline = Instant::now() + Duration::from_secs(60);
    while sandbox_session(&sb, 1)["status"] != json!("COMPLETED") {
        assert!(Instant::now() < deadline, "the sandbox session never completed");
        thread::sleep(Duration::from_millis(100));
    }
    ws.run_ok(&["apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color"]);
    let st = ws.state_resource(ADDR);
    assert_eq!(st["status"], json!("COMPLETED"), "{st:#}");
    assert_eq!(st["staged_count"], json!(500), "{st:#}");
    assert_eq!(st["wait_for_completion"], json!(false), "{st:#}");
    ws.check_applied();
}

/// The data source on a session that is still running: empty, with a warning. On an
/// unknown session: an error at `import_session_id`.
#[test]
fn landscape_staged_groups_of_running_and_unknown_sessions() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&format!(
        "{}\ndata \"identity_oidc_staged_groups\" \"corp\" {{\n  import_session_id = identity_oidc_group_import.corp.id\n}}\n",
        import_hcl(125, "  wait_for_completion = false\n")
    ));
    let out = ws.apply();
    assert!(out.combined().contains("OIDC group import still running"), "{}", ws.report("expected a warning", &out));
    assert_eq!(ws.state_resource(DS_DEFAULT)["group_count"], json!(0));
    assert_eq!(ws.state_resource(DS_DEFAULT)["groups"], json!([]));

    let other = ws.sibling();
    other.write_main("data \"identity_oidc_staged_groups\" \"x\" {\n  import_session_id = 999\n}\n");
    let err = other.plan_expect_err(&[]);
    assert!(err.contains("Landscape has no import session 999") && err.contains("import_session_id"), "{err}");
}

/// Configuration errors are caught at plan time with the attribute path; an unknown issuer
/// fails the apply at `issuer_id` without leaving anything in state.
#[test]
fn landscape_configuration_errors() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&import_hcl(123, "  timeouts = {\n    create = \"ten minutes\"\n  }\n"));
    let err = ws.plan_expect_err(&[]);
    assert!(err.contains("timeouts.create") && err.contains("duration"), "{err}");
    ws.write_main(&import_hcl(0, ""));
    let err = ws.plan_expect_err(&[]);
    assert!(err.contains("issuer_id"), "{err}");
    assert_eq!(sb.route_count(CREATE_ROUTE), 0, "an invalid configuration must not reach the API");

    ws.write_main(&import_hcl(999, ""));
    let err = ws.apply_expect_err();
    assert!(err.contains("Unable to start the OIDC group import") && err.contains("Issuer 999 not found"), "{err}");
    assert!(ws.state_addresses().is_empty(), "{:?}", ws.state_addresses());
}

/// Ctrl-C during a long wait: terraform sends StopProvider, and the wait ends promptly
/// (the session keeps running in Landscape and is not recorded).
#[test]
fn landscape_interrupt_ends_the_wait_promptly() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&import_hcl(125, ""));

    let mut apply = ws.spawn(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    // Wait until the provider is inside the wait (the session exists and was polled).
    apply.wait_for("the wait", Duration::from_secs(120), || sb.route_count(POLL_ROUTE) >= 2);

    let (exit, took, stdout, stderr) = apply.interrupt();
    eprintln!("landscape figures: terraform apply exited {} ms after SIGINT during a wait", took.as_millis());
    assert!(!exit.success(), "an interrupted apply fails\n{stdout}\n{stderr}");
    // The provider's own diagnostic (from StopProvider), not just terraform's notice.
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("Interrupted") && all.contains("Terraform asked the provider to stop"),
        "the provider's diagnostic says why:\n{stdout}\n{stderr}"
    );
    // A hang guard, not a measurement: without StopProvider the wait would last until
    // the session ends or the 20 minute default timeout. What is asserted exactly is
    // that no poll follows the interrupt (below).
    assert!(took < Duration::from_secs(60), "the wait must end promptly after StopProvider, took {took:?}");

    // The provider stopped polling.
    let polls = sb.route_count(POLL_ROUTE);
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(sb.route_count(POLL_ROUTE), polls, "polling went on after the interrupt");
    assert_eq!(sandbox_session(&sb, 1)["status"], json!("IN_PROGRESS"));
}
