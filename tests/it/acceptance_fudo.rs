//! Acceptance tests for `identity_user_oidc` and `identity_user_oidc_assignments`: the real
//! terraform CLI drives the freshly built provider (through `dev_overrides`) against
//! `identity-sandbox`'s Fudo emulation, over HTTP and over HTTPS with a generated CA.
//!
//! Each test starts its own sandbox, so they run in parallel and fail independently.
//! The sandbox seeds users `9124292845052624898` (User_1) and `9124292845052624800`
//! (User_2), OIDC configurations `9124292845052624898` (OKTA2) and `9124292845052624897`
//! (AzureAD), and one built-in assignment, User_2 -> AzureAD.

use crate::support;

use serde_json::{Value, json};
use support::{Sandbox, Workspace, actions, flat, is_replace, replace_path_strings};

const ADDR: &str = "identity_user_oidc.john";
/// Wider than 2^53: as an f64 it would read 9124292845052624896.
const USER_1: &str = "9124292845052624898";
const USER_2: &str = "9124292845052624800";
const OKTA2: &str = "9124292845052624898";
const AZUREAD: &str = "9124292845052624897";
const POST_ROUTE: &str = "POST /fudo/api/v2/user/oidc";
const PATCH_ROUTE: &str = "PATCH /fudo/api/v2/user/{user_id}/oidc/{oidc_id}";
const DELETE_ROUTE: &str = "DELETE /fudo/api/v2/user/{user_id}/oidc/{oidc_id}";

/// `identity_user_oidc.john` with these values (ids quoted, as they should be).
fn assignment(user_id: &str, oidc_id: &str, sub: &str) -> String {
    format!(
        r#"
resource "identity_user_oidc" "john" {{
  user_id  = "{user_id}"
  oidc_id  = "{oidc_id}"
  oidc_sub = "{sub}"
}}
"#
    )
}

/// A provider block for the Fudo part (url and api key come from the environment).
fn fudo_provider(fields: &str) -> String {
    format!("provider \"identity\" {{\n  fudo = {{\n{fields}\n  }}\n}}\n")
}

fn fudo_requests(sb: &Sandbox) -> u64 {
    sb.stats()["by_vendor"]["fudo"].as_u64().unwrap_or(0)
}

fn assert_timestamp(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("timestamp is not a string: {v}"));
    let re = regex::Regex::new(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}(:\d{2})?$").expect("regex");
    assert!(re.is_match(s), "not a Fudo timestamp: {s:?}");
}

/// Asserts the state of `identity_user_oidc.john` for User_1 and returns it.
fn assert_state(ws: &Workspace, oidc_id: &str, oidc_name: &str, sub: &str) -> Value {
    let st = ws.state_resource(ADDR);
    assert_eq!(st["id"], json!(format!("{USER_1}/{oidc_id}")), "state: {st:#}");
    assert_eq!(st["user_id"], json!(USER_1), "the exact digits of the id: {st:#}");
    assert_eq!(st["oidc_id"], json!(oidc_id), "state: {st:#}");
    assert_eq!(st["oidc_sub"], json!(sub), "state: {st:#}");
    assert_eq!(st["user_name"], json!("User_1"), "state: {st:#}");
    assert_eq!(st["user_domain"], json!("zw.local"), "state: {st:#}");
    assert_eq!(st["user_email"], json!("user@fudosecurity.com"), "state: {st:#}");
    assert_eq!(st["user_role"], json!("operator"), "state: {st:#}");
    assert_eq!(st["user_organization"], Value::Null, "User_1 has no organization: {st:#}");
    assert_eq!(st["oidc_name"], json!(oidc_name), "state: {st:#}");
    assert_eq!(st["builtin"], json!(false), "state: {st:#}");
    assert_eq!(st["hidden"], json!(false), "state: {st:#}");
    assert_timestamp(&st["created_at"]);
    assert_timestamp(&st["modified_at"]);
    // In the state file itself the ids are JSON strings with every digit.
    let text = ws.state_file_text();
    assert!(text.contains(&format!("\"user_id\": \"{USER_1}\"")), "terraform.tfstate must hold the exact id as a string:\n{text}");
    assert!(text.contains(&format!("\"oidc_id\": \"{oidc_id}\"")), "terraform.tfstate must hold the exact id as a string:\n{text}");
    st
}

fn assert_sandbox_sub(sb: &Sandbox, user_id: &str, oidc_id: &str, sub: &str) {
    let a = sb
        .fudo_assignment(user_id, oidc_id)
        .unwrap_or_else(|| panic!("the sandbox has no assignment {user_id}/{oidc_id}; it has {:?}", sb.fudo_pairs()));
    assert_eq!(a["oidc_sub"], json!(sub), "sandbox assignment: {a:#}");
}

fn builtin_pair() -> (String, String) {
    (USER_2.to_string(), AZUREAD.to_string())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list.iter().map(|(u, o)| (u.to_string(), o.to_string())).collect();
    v.sort();
    v
}

/// The whole lifecycle over HTTP: create, both plans empty, `oidc_sub` in place,
/// `oidc_id` replaced, import into a fresh directory, drift, destroy; the id
/// 9124292845052624898 survives every step exactly.
#[test]
fn user_oidc_lifecycle() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);

    // 1. Create.
    ws.write_main(&assignment(USER_1, OKTA2, "John"));
    ws.apply();
    let created = assert_state(&ws, OKTA2, "OKTA2", "John");
    assert_eq!(created["created_at"], created["modified_at"]);
    assert_eq!(sb.fudo_pairs(), pairs(&[(USER_2, AZUREAD), (USER_1, OKTA2)]));
    assert_sandbox_sub(&sb, USER_1, OKTA2, "John");
    let posts = sb.requests_to("POST", "/fudo/api/v2/user/oidc");
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0]["body"], json!({"user_id": USER_1, "oidc_id": OKTA2, "oidc_sub": "John"}), "ids go out as strings");

    // 2. Nothing to do, with and without refresh.

    // 3. oidc_sub changes in place (PATCH), keeping created_at.
    ws.write_main(&assignment(USER_1, OKTA2, "JohnD"));
    assert_eq!(actions(&ws.plan_json(), ADDR), ["update"], "an oidc_sub change is an in-place update");
    ws.apply();
    let updated = assert_state(&ws, OKTA2, "OKTA2", "JohnD");
    assert_eq!(updated["created_at"], created["created_at"]);
    assert_sandbox_sub(&sb, USER_1, OKTA2, "JohnD");
    assert_eq!(sb.route_count(PATCH_ROUTE), 1);
    assert_eq!(sb.route_count(POST_ROUTE), 1, "an update never re-creates");

    // 4. oidc_id change replaces the assignment.
    ws.write_main(&assignment(USER_1, AZUREAD, "JohnD"));
    let plan = ws.plan_json();
    let acts = actions(&plan, ADDR);
    assert!(is_replace(&acts), "an oidc_id change must replace, got {acts:?}");
    assert_eq!(replace_path_strings(&plan, ADDR), ["oidc_id"]);
    ws.apply();
    let managed = assert_state(&ws, AZUREAD, "AzureAD", "JohnD");
    assert_eq!(sb.fudo_pairs(), pairs(&[(USER_2, AZUREAD), (USER_1, AZUREAD)]), "the old pair is gone");

    // 5. Import into a fresh directory reproduces the state; the plan is empty.
    let imported = ws.sibling();
    imported.write_main(&assignment(USER_1, AZUREAD, "JohnD"));
    imported.import(ADDR, &format!("{USER_1}/{AZUREAD}"));
    let st = assert_state(&imported, AZUREAD, "AzureAD", "JohnD");
    assert_eq!(st, managed, "the imported state differs from the managed one");
    imported.assert_plan_empty();

    // 6. Deleted behind Terraform's back: the plan creates it again.
    sb.fudo_delete_assignment(USER_1, AZUREAD);
    assert_eq!(ws.resource_actions(ADDR), ["create"], "a vanished assignment must be planned for creation");
    ws.apply();
    assert_state(&ws, AZUREAD, "AzureAD", "JohnD");
    assert_sandbox_sub(&sb, USER_1, AZUREAD, "JohnD");

    // 7. Destroy leaves nothing but the seeds.
    ws.destroy();
    assert_eq!(sb.fudo_pairs(), [builtin_pair()], "destroy must delete the assignment");
    assert!(ws.state_addresses().is_empty(), "state must be empty after destroy: {:?}", ws.state_addresses());
}

/// The data source lists every assignment (built-in included) or one user's; an id
/// written as an unquoted number literal still arrives with every digit.
#[test]
fn user_oidc_assignments_data_source() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&format!(
        r#"
resource "identity_user_oidc" "okta" {{
  user_id  = {USER_1} # a number literal: Terraform turns it into the exact string
  oidc_id  = "{OKTA2}"
  oidc_sub = "john@okta"
}}

resource "identity_user_oidc" "azure" {{
  user_id  = "{USER_1}"
  oidc_id  = "{AZUREAD}"
  oidc_sub = "john@azure"
}}

data "identity_user_oidc_assignments" "all" {{
  depends_on = [identity_user_oidc.okta, identity_user_oidc.azure]
}}

data "identity_user_oidc_assignments" "user_1" {{
  user_id    = "{USER_1}"
  depends_on = [identity_user_oidc.okta, identity_user_oidc.azure]
}}

output "all" {{
  value = data.identity_user_oidc_assignments.all.assignments
}}

output "user_1" {{
  value = data.identity_user_oidc_assignments.user_1.assignments
}}
"#
    ));
    ws.apply();
    assert_eq!(ws.state_attr("identity_user_oidc.okta", "user_id"), json!(USER_1));
    assert_eq!(ws.state_attr("identity_user_oidc.okta", "id"), json!(format!("{USER_1}/{OKTA2}")));

    let out = ws.outputs_json();
    let all = out["all"]["value"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = all.iter().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(ids, [format!("{USER_2}/{AZUREAD}"), format!("{USER_1}/{AZUREAD}"), format!("{USER_1}/{OKTA2}")], "{all:#?}");
    let builtin = &all[0];
    assert_eq!(builtin["builtin"], json!(true));
    assert_eq!(builtin["user_organization"], json!("Fudo Security"));
    assert_eq!(builtin["user_id"], json!(USER_2));
    let user_1 = out["user_1"]["value"].as_array().cloned().unwrap_or_default();
    assert_eq!(user_1.len(), 2, "{user_1:#?}");
    assert!(user_1.iter().all(|a| a["user_id"] == json!(USER_1) && a["user_name"] == json!("User_1")), "{user_1:#?}");
    let okta = user_1.iter().find(|a| a["oidc_id"] == json!(OKTA2)).expect("the okta assignment");
    assert_eq!(okta["oidc_sub"], json!("john@okta"));
    assert_eq!(okta["oidc_name"], json!("OKTA2"));
    assert_timestamp(&okta["created_at"]);

    ws.destroy();
    assert_eq!(sb.fudo_pairs(), [builtin_pair()]);
}

/// The same lifecycle over HTTPS, trusting the sandbox's generated CA through
/// `fudo.ca_cert_pem`; without it the certificate is refused.
#[test]
fn user_oidc_over_https_with_ca_cert_pem() {
    let sb = Sandbox::start_tls();
    assert!(sb.url().starts_with("https://"), "{}", sb.url());
    let ws = Workspace::new(&sb);

    // No CA: the self-signed certificate is not trusted, and nothing is created.
    ws.write_main(&assignment(USER_1, OKTA2, "John"));
    let err = flat(&ws.apply_expect_err());
    assert!(err.contains("Unable to create user OIDC assignment"), "{err}");
    assert!(err.to_lowercase().contains("certificate"), "the error should say the certificate is not trusted: {err}");
    assert!(err.contains("set `fudo.ca_cert_pem`"), "the error should say how to trust it: {err}");
    assert_eq!(sb.fudo_pairs(), [builtin_pair()]);

    // With the CA.
    let config = format!("{}{}", fudo_provider("    ca_cert_pem = file(\"${path.module}/ca.pem\")"), assignment(USER_1, OKTA2, "John"));
    ws.write_file("ca.pem", sb.ca_pem());
    ws.write_main(&config);
    let applied = ws.apply();
    assert!(!applied.combined().contains("TLS verification is off"), "no insecure warning with a CA");
    let managed = assert_state(&ws, OKTA2, "OKTA2", "John");
    assert_sandbox_sub(&sb, USER_1, OKTA2, "John");

    ws.write_main(&format!(
        "{}{}",
        fudo_provider("    ca_cert_pem = file(\"${path.module}/ca.pem\")"),
        assignment(USER_1, OKTA2, "Johnny")
    ));
    assert_eq!(actions(&ws.plan_json(), ADDR), ["update"]);
    ws.apply();
    assert_sandbox_sub(&sb, USER_1, OKTA2, "Johnny");

    let imported = ws.sibling();
    imported.write_file("ca.pem", sb.ca_pem());
    imported.write_main(&format!(
        "{}{}",
        fudo_provider("    ca_cert_pem = file(\"${path.module}/ca.pem\")"),
        assignment(USER_1, OKTA2, "Johnny")
    ));
    imported.import(ADDR, &format!("{USER_1}/{OKTA2}"));
    assert_eq!(imported.state_attr(ADDR, "created_at"), managed["created_at"]);
    imported.assert_plan_empty();

    ws.destroy();
    assert_eq!(sb.fudo_pairs(), [builtin_pair()]);
}

/// `insecure_skip_verify = true` works against the self-signed sandbox and warns on
/// every run (plan, apply, and a later plan with nothing to do).
#[test]
fn insecure_skip_verify_warns_every_run() {
    const WARNING: &str = "Warning: TLS verification is off for Fudo";
    let sb = Sandbox::start_tls();
    let ws = Workspace::new(&sb);
    ws.write_main(&format!("{}{}", fudo_provider("    insecure_skip_verify = true"), assignment(USER_1, OKTA2, "John")));

    let plan = ws.plan(&[]);
    assert_eq!(plan.code, 2, "{}", ws.report("expected a create plan", &plan));
    assert!(plan.combined().contains(WARNING), "{}", ws.report("plan must warn", &plan));
    let applied = ws.apply();
    assert!(applied.combined().contains(WARNING), "{}", ws.report("apply must warn", &applied));
    assert_state(&ws, OKTA2, "OKTA2", "John");
    let again = ws.plan(&[]);
    assert_eq!(again.code, 0, "{}", ws.report("expected an empty plan", &again));
    assert!(again.combined().contains(WARNING), "{}", ws.report("every run must warn", &again));
    assert!(flat(&again.combined()).contains("fudo.ca_cert_pem"), "the warning points to the safe alternative");

    let destroyed = ws.destroy();
    assert!(destroyed.combined().contains(WARNING));
    assert_eq!(sb.fudo_pairs(), [builtin_pair()]);
}

/// Bad input: ids that are not decimal digits are refused while planning, with the
/// attribute named, and never reach Fudo.
#[test]
fn non_numeric_ids_are_refused_at_plan_time() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&assignment("john", "9124292845052624897x", "John"));
    let err = flat(&ws.plan_expect_err(&[]));
    assert!(err.contains("user_id") && err.contains("\"john\" is not valid"), "{err}");
    assert!(err.contains("oidc_id") && err.contains("\"9124292845052624897x\" is not valid"), "{err}");
    assert!(err.contains("decimal digits"), "the rule is explained: {err}");

    ws.write_main("data \"identity_user_oidc_assignments\" \"x\" {\n  user_id = \"12 34\"\n}\n");
    let err = flat(&ws.plan_expect_err(&[]));
    assert!(err.contains("user_id") && err.contains("decimal digits"), "{err}");

    assert_eq!(fudo_requests(&sb), 0, "invalid configurations must not reach the API");
}

/// Bad input: an unknown user is Fudo's 404, and its message reaches the user.
#[test]
fn unknown_user_surfaces_the_servers_404() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&assignment("123", OKTA2, "John"));
    let err = flat(&ws.apply_expect_err());
    assert!(err.contains("Unable to create user OIDC assignment"), "{err}");
    assert!(err.contains("Fudo answered 404: User with id 123 does not exist."), "the server's message: {err}");
    assert_eq!(sb.fudo_pairs(), [builtin_pair()]);
    assert!(ws.state_addresses().is_empty());
}

/// Bad input: the built-in assignment cannot be created over, changed or deleted; the
/// provider refuses without sending the doomed request.
#[test]
fn builtin_assignment_is_refused() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let seed_sub = "user2@fudosecurity.com";
    let builtin = |sub: &str, oidc_id: &str| assignment(USER_2, oidc_id, sub);

    // Creating the built-in pair: Fudo's uniqueness error, explained.
    ws.write_main(&builtin("mine", AZUREAD));
    let err = flat(&ws.apply_expect_err());
    assert!(err.contains("User OIDC assignment already exists"), "{err}");
    assert!(err.contains("built into Fudo"), "{err}");
    assert!(ws.state_addresses().is_empty());

    // Imported, it is readable and planning is quiet while nothing changes.
    let imported = ws.sibling();
    imported.write_main(&builtin(seed_sub, AZUREAD));
    imported.import(ADDR, &format!("{USER_2}/{AZUREAD}"));
    assert_eq!(imported.state_attr(ADDR, "builtin"), json!(true));
    imported.assert_plan_empty();

    // Changing it in place or replacing it is refused while planning.
    imported.write_main(&builtin("someone-else", AZUREAD));
    let err = flat(&imported.plan_expect_err(&[]));
    assert!(err.contains("Built-in Fudo assignment cannot be changed") && err.contains("oidc_sub"), "{err}");
    assert!(err.contains("terraform state rm"), "the way out is shown: {err}");
    imported.write_main(&builtin(seed_sub, OKTA2));
    let err = flat(&imported.plan_expect_err(&[]));
    assert!(err.contains("Built-in Fudo assignment cannot be changed") && err.contains("oidc_id"), "{err}");

    // Destroying it is refused too.
    imported.write_main(&builtin(seed_sub, AZUREAD));
    let err = flat(&imported.run_err(&["destroy", "-auto-approve", "-input=false", "-no-color"]));
    assert!(err.contains("Built-in Fudo assignment cannot be changed"), "{err}");

    assert_eq!(sb.route_count(PATCH_ROUTE), 0, "no doomed PATCH");
    assert_eq!(sb.route_count(DELETE_ROUTE), 0, "no doomed DELETE");
    assert_sandbox_sub(&sb, USER_2, AZUREAD, seed_sub);
    imported.run_ok(&["state", "rm", ADDR]);
    assert_eq!(sb.fudo_pairs(), [builtin_pair()]);
}

/// Bad input: a malformed import id is refused with the expected form.
#[test]
fn malformed_import_id_shows_the_expected_form() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&assignment(USER_1, OKTA2, "John"));
    let wrong = [USER_1.to_string(), "abc/def".into(), format!("{USER_1}/{OKTA2}/1"), format!("{USER_1}/"), format!("{USER_1}:{OKTA2}")];
    for id in &wrong {
        let err = flat(&ws.import_expect_err(ADDR, id));
        assert!(err.contains("Invalid import ID"), "{id}: {err}");
        assert!(err.contains("\"<user_id>/<oidc_id>\""), "{id}: the expected form is shown: {err}");
        assert!(err.contains(&format!("got {id:?}")), "{id}: the given id is echoed: {err}");
    }
    assert_eq!(sb.route_count("GET /fudo/api/v2/user/{user_id}/oidc/{oidc_id}"), 0);
    assert!(ws.state_addresses().is_empty());
}

/// Bad input: a wrong API key is Fudo's 401 with its message, and the key is not echoed.
#[test]
fn wrong_api_key_is_reported() {
    const WRONG: &str = "not-the-fudo-key-5e2b9c";
    let sb = Sandbox::start();
    let mut ws = Workspace::new(&sb);
    ws.set_env("IDENTITY_FUDO_API_KEY", WRONG);
    ws.write_main(&assignment(USER_1, OKTA2, "John"));
    let out = ws.apply_expect_err();
    let err = flat(&out);
    assert!(err.contains("Unable to create user OIDC assignment"), "{err}");
    assert!(err.contains("Fudo answered 401: Invalid API key."), "{err}");
    assert!(err.contains("Check `fudo.api_key` (or IDENTITY_FUDO_API_KEY)"), "{err}");
    assert!(!out.contains(WRONG), "the API key must never be echoed:\n{out}");
    assert_eq!(sb.fudo_pairs(), [builtin_pair()]);
}
