//! Acceptance tests for `identity_idp` (type `oidc`): the real terraform CLI drives the
//! freshly built provider (through `dev_overrides`) against `identity-sandbox`.
//!
//! Each test starts its own sandbox, so they run in parallel and fail independently.

use crate::support;

use serde_json::{Value, json};
use support::{Sandbox, Workspace, actions, all_actions, importing_id, is_replace, replace_path_strings};

const ADDR: &str = "identity_idp.corp";
const DISCOVERY: &str = "https://idp.example.com/.well-known/openid-configuration";

/// How the configuration passes the client secret.
#[derive(Clone, Copy)]
enum Secret<'a> {
    /// `client_secret_wo` (+ `client_secret_wo_version` when `Some`).
    WriteOnly(&'a str, Option<u32>),
    /// `client_secret` (sensitive, stored in state).
    Plain(&'a str),
    /// Both forms at once (invalid).
    Both(&'a str, &'a str),
    /// Neither form (invalid).
    Neither,
}

#[derive(Clone, Copy)]
struct Idp<'a> {
    name: &'a str,
    scopes: &'a [&'a str],
    secret: Secret<'a>,
}

impl Idp<'_> {
    fn hcl(&self) -> String {
        let scopes = self.scopes.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
        let secret = match self.secret {
            Secret::WriteOnly(v, None) => format!("client_secret_wo = {v:?}"),
            Secret::WriteOnly(v, Some(n)) => {
                format!("client_secret_wo = {v:?}\n    client_secret_wo_version = {n}")
            }
            Secret::Plain(v) => format!("client_secret = {v:?}"),
            Secret::Both(a, b) => format!("client_secret = {a:?}\n    client_secret_wo = {b:?}"),
            Secret::Neither => String::new(),
        };
        format!(
            r#"
resource "identity_idp" "corp" {{
  name = {name:?}
  type = "oidc"
  oidc = {{
    client_id = "terraform"
    {secret}
    discover_document_url = {DISCOVERY:?}
    scopes = [{scopes}]
    mandatory_claim = {{
      claim  = "groups"
      values = ["admins"]
    }}
  }}
}}
"#,
            name = self.name
        )
    }
}

fn scopes_json(scopes: &[&str]) -> Value {
    json!(scopes)
}

/// Asserts what the sandbox stores for `alias`: the oidc fields and the secret it received.
fn assert_sandbox_idp(sb: &Sandbox, alias: &str, scopes: &[&str], secret: &str) {
    let idp = sb.runai_idp(alias).unwrap_or_else(|| panic!("sandbox has no idp {alias:?}; it has {:?}", sb.runai_aliases()));
    assert_eq!(idp["type"], json!("oidc"), "sandbox idp: {idp:#}");
    let oidc = &idp["oidcData"];
    assert_eq!(oidc["clientId"], json!("terraform"), "sandbox idp: {idp:#}");
    assert_eq!(oidc["clientSecret"], json!(secret), "the sandbox must hold the secret Terraform sent: {idp:#}");
    assert_eq!(oidc["discoverDocumentUrl"], json!(DISCOVERY), "sandbox idp: {idp:#}");
    assert_eq!(oidc["scopes"], scopes_json(scopes), "sandbox idp: {idp:#}");
    assert_eq!(oidc["mandatoryClaim"], json!({"claim": "groups", "values": ["admins"]}), "sandbox idp: {idp:#}");
}

/// Asserts the Terraform state of `identity_idp.corp` for an oidc idp named `name`.
fn assert_state(ws: &Workspace, name: &str, scopes: &[&str]) -> Value {
    let st = ws.state_resource(ADDR);
    assert_eq!(st["name"], json!(name), "state: {st:#}");
    assert_eq!(st["alias"], json!(name), "the Run:ai alias equals the name; state: {st:#}");
    assert_eq!(st["id"], json!(name), "id = alias; state: {st:#}");
    assert_eq!(st["type"], json!("oidc"), "state: {st:#}");
    assert!(st["redirect_uri"].as_str().is_some_and(|s| !s.is_empty()), "redirect_uri must be a non-empty string; state: {st:#}");
    let oidc = &st["oidc"];
    assert_eq!(oidc["client_id"], json!("terraform"), "state: {st:#}");
    assert_eq!(oidc["discover_document_url"], json!(DISCOVERY), "state: {st:#}");
    assert_eq!(oidc["scopes"], scopes_json(scopes), "state: {st:#}");
    assert_eq!(oidc["mandatory_claim"], json!({"claim": "groups", "values": ["admins"]}), "state: {st:#}");
    assert_eq!(oidc["client_secret_wo"], Value::Null, "write-only attributes are null in state: {st:#}");
    st
}

/// The full oidc lifecycle: create, no-op plans, in-place update, replacement on rename,
/// `terraform import`, `import {}` blocks, out-of-band deletion, destroy; and the
/// write-only secret never reaches any state file.
#[test]
fn idp_oidc_lifecycle() {
    const SECRET: &str = "wo-secret-LIFECYCLE-7f3a9c1e";
    let sb = Sandbox::start_with(&["--unmask-state"]);
    let ws = Workspace::new(&sb);

    // 1. Create.
    let mut cfg = Idp { name: "corp-oidc", scopes: &["openid", "email"], secret: Secret::WriteOnly(SECRET, Some(1)) };
    ws.write_main(&cfg.hcl());
    ws.apply();
    let st = assert_state(&ws, "corp-oidc", &["openid", "email"]);
    assert_eq!(st["oidc"]["client_secret_wo_version"], json!(1), "state: {st:#}");
    assert_eq!(sb.runai_aliases(), ["corp-oidc"]);
    assert_sandbox_idp(&sb, "corp-oidc", &["openid", "email"], SECRET);
    let server_redirect = sb.runai_idp("corp-oidc").expect("the idp is on the server")["redirectUri"].clone();
    assert!(server_redirect.as_str().is_some_and(|u| u.contains("/broker/corp-oidc/")), "the server's redirect URI: {server_redirect}");
    assert_eq!(st["redirect_uri"], server_redirect, "redirect_uri comes from the server");
    ws.assert_state_lacks(SECRET);

    // 2. Nothing to do, with and without refresh.
    ws.assert_plan_empty();

    // 3. Scopes change in place, and the stored secret survives the update.
    cfg.scopes = &["openid", "email", "profile"];
    ws.write_main(&cfg.hcl());
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["update"], "a scopes change is an in-place update");
    ws.apply();
    assert_state(&ws, "corp-oidc", cfg.scopes);
    assert_sandbox_idp(&sb, "corp-oidc", cfg.scopes, SECRET);
    ws.assert_state_lacks(SECRET);

    // 4. A new name replaces the idp.
    cfg.name = "corp-oidc-v2";
    ws.write_main(&cfg.hcl());
    let plan = ws.plan_json();
    let acts = actions(&plan, ADDR);
    assert!(is_replace(&acts), "a name change must replace, got {acts:?}");
    let paths = replace_path_strings(&plan, ADDR);
    assert!(paths.iter().any(|p| p == "name"), "replace_paths must include name, got {paths:?}");
    ws.apply();
    assert_state(&ws, "corp-oidc-v2", cfg.scopes);
    assert_eq!(sb.runai_aliases(), ["corp-oidc-v2"], "only the new alias remains");
    assert_sandbox_idp(&sb, "corp-oidc-v2", cfg.scopes, SECRET);
    ws.assert_plan_empty();
    ws.assert_state_lacks(SECRET);
    let managed = ws.state_resource(ADDR);

    // 5. `terraform import` into a fresh directory reproduces the state. The API never
    //    returns secrets, so the config uses client_secret_wo WITHOUT a version: a
    //    write-only value never diffs, and a null version matches the imported null.
    //    (`client_secret_wo_version = 1` would plan an update null -> 1, and a plain
    //    `client_secret` would plan setting the secret.)
    let imported = ws.sibling();
    let import_cfg = Idp { secret: Secret::WriteOnly(SECRET, None), ..cfg };
    imported.write_main(&import_cfg.hcl());
    imported.import(ADDR, "corp-oidc-v2");
    let st = assert_state(&imported, "corp-oidc-v2", cfg.scopes);
    for attr in ["id", "alias", "name", "type", "redirect_uri"] {
        assert_eq!(st[attr], managed[attr], "imported {attr} differs from the managed state");
    }
    for attr in ["client_id", "discover_document_url", "scopes", "mandatory_claim"] {
        assert_eq!(st["oidc"][attr], managed["oidc"][attr], "imported oidc.{attr} differs from the managed state");
    }
    imported.assert_plan_empty();
    imported.assert_state_lacks(SECRET);

    // 6. An `import {}` block: the plan imports and does nothing else; apply; empty plan.
    let by_block = ws.sibling();
    by_block.write_main(&format!("import {{\n  to = {ADDR}\n  id = \"corp-oidc-v2\"\n}}\n{}", import_cfg.hcl()));
    let plan = by_block.plan_json();
    assert_eq!(importing_id(&plan, ADDR).as_deref(), Some("corp-oidc-v2"), "the plan must import {ADDR}");
    assert_eq!(actions(&plan, ADDR), ["no-op"], "an import of a matching object is a no-op");
    assert_eq!(all_actions(&plan), [(ADDR.to_string(), vec!["no-op".to_string()])], "nothing else is planned");
    let text = by_block.plan(&[]);
    assert!(
        text.stdout.contains("1 to import, 0 to add, 0 to change, 0 to destroy"),
        "{}",
        by_block.report("plan summary should be import-only", &text)
    );
    let applied = by_block.apply();
    assert!(
        applied.stdout.contains("1 imported, 0 added, 0 changed, 0 destroyed"),
        "{}",
        by_block.report("apply summary should be import-only", &applied)
    );
    assert_state(&by_block, "corp-oidc-v2", cfg.scopes);
    by_block.assert_plan_empty();
    by_block.assert_state_lacks(SECRET);

    // 7. Deleted behind Terraform's back: the plan recreates it.
    sb.runai_delete_idp("corp-oidc-v2");
    assert!(sb.runai_aliases().is_empty());
    assert_eq!(ws.resource_actions(ADDR), ["create"], "a vanished idp must be planned for creation");
    ws.apply();
    assert_sandbox_idp(&sb, "corp-oidc-v2", cfg.scopes, SECRET);

    // 8. Destroy leaves nothing on the server and nothing in state.
    ws.destroy();
    assert!(sb.runai_aliases().is_empty(), "destroy must delete the idp; sandbox still has {:?}", sb.runai_aliases());
    assert!(ws.state_addresses().is_empty(), "state must be empty after destroy: {:?}", ws.state_addresses());

    // 9. The write-only secret never reached any state file.
    for w in [&ws, &imported, &by_block] {
        w.assert_state_lacks(SECRET);
    }
}

/// Bumping `client_secret_wo_version` re-sends the write-only secret in place; changing the
/// secret alone does not (write-only values never diff).
#[test]
fn idp_oidc_write_only_secret_rotation() {
    const FIRST: &str = "wo-secret-FIRST-2b81d0";
    const SECOND: &str = "wo-secret-SECOND-94ce17";
    let sb = Sandbox::start_with(&["--unmask-state"]);
    let ws = Workspace::new(&sb);
    let scopes: &[&str] = &["openid"];

    let mut cfg = Idp { name: "rotating", scopes, secret: Secret::WriteOnly(FIRST, Some(1)) };
    ws.write_main(&cfg.hcl());
    ws.apply();
    assert_sandbox_idp(&sb, "rotating", scopes, FIRST);

    // A new secret without a version bump is invisible to Terraform.
    cfg.secret = Secret::WriteOnly(SECOND, Some(1));
    ws.write_main(&cfg.hcl());
    ws.assert_plan_empty();

    // Bumping the version updates in place and sends the new secret.
    cfg.secret = Secret::WriteOnly(SECOND, Some(2));
    ws.write_main(&cfg.hcl());
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["update"], "a version bump is an in-place update");
    ws.apply();
    assert_sandbox_idp(&sb, "rotating", scopes, SECOND);
    assert_eq!(ws.state_attr(ADDR, "oidc.client_secret_wo_version"), json!(2));
    assert_eq!(ws.state_attr(ADDR, "alias"), json!("rotating"), "an update keeps the alias");

    ws.destroy();
    assert!(sb.runai_aliases().is_empty());
    ws.assert_state_lacks(FIRST);
    ws.assert_state_lacks(SECOND);
}

/// A plain `client_secret` is sensitive: plan, apply and show print `(sensitive value)`
/// and never the secret; the API never returns it, yet refreshes do not produce a diff.
#[test]
fn idp_oidc_plain_client_secret_is_sensitive() {
    const PLAIN: &str = "plain-secret-SENSITIVE-5d2e6a";
    let sb = Sandbox::start_with(&["--unmask-state"]);
    let ws = Workspace::new(&sb);
    let scopes: &[&str] = &["openid", "email"];
    ws.write_main(&Idp { name: "plain", scopes, secret: Secret::Plain(PLAIN) }.hcl());

    let plan = ws.plan(&[]);
    assert_eq!(plan.code, 2, "{}", ws.report("expected a create plan", &plan));
    assert!(plan.stdout.contains("(sensitive value)"), "{}", ws.report("client_secret must show as (sensitive value)", &plan));
    assert!(!plan.combined().contains(PLAIN), "{}", ws.report("the secret leaked into plan output", &plan));

    let applied = ws.apply();
    assert!(!applied.combined().contains(PLAIN), "{}", ws.report("the secret leaked into apply output", &applied));
    assert_sandbox_idp(&sb, "plain", scopes, PLAIN);
    assert_eq!(ws.state_attr(ADDR, "oidc.client_secret"), json!(PLAIN), "client_secret is kept in state");

    ws.assert_plan_empty();
    let shown = ws.run_ok(&["show", "-no-color"]);
    assert!(!shown.combined().contains(PLAIN), "{}", ws.report("the secret leaked into show output", &shown));

    ws.destroy();
    assert!(sb.runai_aliases().is_empty());
}

fn names_both_forms(diagnostics: &str) -> bool {
    diagnostics.contains("client_secret_wo") && diagnostics.replace("client_secret_wo", "").contains("client_secret")
}

/// `client_secret` and `client_secret_wo` are mutually exclusive, and one is required.
#[test]
fn idp_oidc_secret_forms_are_exclusive() {
    let sb = Sandbox::start_with(&["--unmask-state"]);
    let ws = Workspace::new(&sb);
    let scopes: &[&str] = &["openid"];

    // Rejected while planning, with diagnostics that name both attributes.
    ws.write_main(&Idp { name: "both", scopes, secret: Secret::Both("a-secret", "b-secret") }.hcl());
    let err = ws.plan_expect_err(&[]);
    assert!(names_both_forms(&err), "the diagnostic should name both forms:\n{err}");
    assert!(!err.contains("a-secret") && !err.contains("b-secret"), "diagnostics must not echo secrets:\n{err}");

    ws.write_main(&Idp { name: "neither", scopes, secret: Secret::Neither }.hcl());
    let err = ws.plan_expect_err(&[]);
    assert!(names_both_forms(&err), "the diagnostic should name both forms:\n{err}");

    assert!(sb.runai_aliases().is_empty(), "nothing may be created: {:?}", sb.runai_aliases());
    assert_eq!(sb.route_count("POST /runai/api/v1/idps"), 0, "an invalid config must not reach the API");
}

/// `mappers` set on the idp itself: created with it, changed in place, drift repaired,
/// and what the server holds after each apply is what the configuration says.
#[test]
fn idp_with_inline_mappers() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let config = |uid: &str| {
        format!(
            r#"resource "identity_idp" "corp" {{
  name = "inline"
  type = "oidc"
  oidc = {{
    client_id             = "terraform"
    client_secret_wo      = "s3cret"
    discover_document_url = "https://idp.example.com/.well-known/openid-configuration"
  }}
  mappers = {{
    uid    = "{uid}"
    groups = "memberOf"
  }}
}}"#
        )
    };
    ws.write_main(&config("sub"));
    ws.apply();
    let mappers = |sb: &Sandbox| sb.runai_idp("inline").expect("the idp")["mappers"].clone();
    assert_eq!(mappers(&sb)["uid"], json!("sub"));
    assert_eq!(mappers(&sb)["groups"], json!("memberOf"));
    assert_eq!(mappers(&sb)["gid"], json!("GID"), "unset mappers keep Run:ai's defaults");

    ws.write_main(&config("preferred_username"));
    assert_eq!(ws.resource_actions("identity_idp.corp"), ["update"], "a mapper change is in place");
    ws.apply();
    assert_eq!(mappers(&sb)["uid"], json!("preferred_username"));

    let (status, answer) = sb.http("PUT", "/runai/api/v1/idps/inline/mappers", Some(json!({"groups": "roles"})));
    assert!((200..300).contains(&status), "{status} {answer}");
    // The change by hand becomes visible after Run:ai's delay; wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while mappers(&sb)["groups"] != json!("roles") {
        assert!(std::time::Instant::now() < deadline, "the change by hand never became visible");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(ws.resource_actions("identity_idp.corp"), ["update"], "inline mappers changed by hand are planned back");
    ws.apply();
    assert_eq!(mappers(&sb)["groups"], json!("memberOf"));
    ws.destroy();
}

/// An idp without `name`: the name defaults to the type, and Run:ai derives the alias
/// from it.
#[test]
fn idp_without_a_name_is_named_after_its_type() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(
        r#"resource "identity_idp" "corp" {
  type = "oidc"
  oidc = {
    client_id             = "terraform"
    client_secret_wo      = "s3cret"
    discover_document_url = "https://idp.example.com/.well-known/openid-configuration"
  }
}"#,
    );
    ws.apply();
    assert_eq!(ws.state_attr("identity_idp.corp", "name"), json!("oidc"));
    assert_eq!(ws.state_attr("identity_idp.corp", "alias"), json!("oidc"));
    assert_eq!(sb.runai_aliases(), ["oidc"]);
    ws.destroy();
}
