//! Acceptance tests for the rest of Run:ai: SAML (metadata by URL and by file) and
//! OpenShift v4 idps, `identity_idp_mappers`, the data sources, and the 409 error.

use crate::support;

use serde_json::{Value, json};
use support::{Sandbox, Workspace, actions, importing_id, is_replace, replace_path_strings};

fn sample_url(sb: &Sandbox, entity: &str) -> String {
    format!("{}/_sandbox/samples/saml-metadata.xml?entity_id={entity}", sb.url())
}

fn saml_url_hcl(name: &str, url: &str) -> String {
    format!(
        r#"resource "identity_idp" "saml" {{
  name = "{name}"
  type = "saml"
  saml = {{
    metadata_xml_url = "{url}"
  }}
}}"#
    )
}

#[test]
fn saml_from_url_lifecycle() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let addr = "identity_idp.saml";
    ws.write_main(&saml_url_hcl("corp-saml", &sample_url(&sb, "https://idp.example.com/one")));
    ws.apply();
    assert_eq!(ws.state_attr(addr, "alias"), "corp-saml");
    assert_eq!(ws.state_attr(addr, "saml.entity_id"), "https://idp.example.com/one");
    for a in ["saml.signing_certificate", "saml.single_sign_on_service_url", "saml.service_provider_metadata_url"] {
        assert!(!ws.state_attr(addr, a).as_str().unwrap_or("").is_empty(), "{a} filled from the metadata");
    }
    ws.assert_plan_empty();

    // Other metadata: in place, and the derived values follow.
    ws.write_main(&saml_url_hcl("corp-saml", &sample_url(&sb, "https://idp.example.com/two")));
    assert_eq!(ws.resource_actions(addr), vec!["update"]);
    ws.apply();
    assert_eq!(ws.state_attr(addr, "saml.entity_id"), "https://idp.example.com/two");
    ws.assert_plan_empty();

    // A new name replaces.
    ws.write_main(&saml_url_hcl("corp-saml2", &sample_url(&sb, "https://idp.example.com/two")));
    let plan = ws.plan_json();
    assert!(is_replace(&actions(&plan, addr)), "{:?}", actions(&plan, addr));
    assert!(replace_path_strings(&plan, addr).contains(&"name".to_string()));
    ws.apply();
    assert_eq!(sb.runai_aliases(), vec!["corp-saml2"]);

    // Import: Run:ai never returns the metadata source, so the first plan re-sends it
    // (an in-place update of that input only), and then nothing is left to do.
    let fresh = ws.sibling();
    fresh.write_main(&saml_url_hcl("corp-saml2", &sample_url(&sb, "https://idp.example.com/two")));
    fresh.import(addr, "corp-saml2");
    assert_eq!(fresh.state_attr(addr, "saml.entity_id"), "https://idp.example.com/two");
    let plan = fresh.plan_json();
    assert_eq!(actions(&plan, addr), vec!["update"]);
    let change = support::resource_change(&plan, addr);
    assert_eq!(change["change"]["before"]["saml"]["metadata_xml_url"], Value::Null);
    assert_eq!(change["change"]["after"]["saml"]["metadata_xml_url"], Value::String(sample_url(&sb, "https://idp.example.com/two")));
    fresh.apply();
    assert_eq!(fresh.state_attr(addr, "saml.entity_id"), "https://idp.example.com/two", "the same metadata gives the same values");
    fresh.assert_plan_empty();

    // Drift: deleted behind Terraform's back shows as a create.
    sb.runai_delete_idp("corp-saml2");
    assert_eq!(ws.resource_actions(addr), vec!["create"]);
    ws.apply();
    ws.destroy();
    assert!(sb.runai_aliases().is_empty());
}

#[test]
fn saml_from_file_lifecycle() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let addr = "identity_idp.saml";
    let (status, _) = sb.http("GET", "/_sandbox/samples/saml-metadata.xml?entity_id=https://files.example.com/idp", None);
    assert_eq!(status, 200);
    let xml = reqwest_get(&format!("{}/_sandbox/samples/saml-metadata.xml?entity_id=https://files.example.com/idp", sb.url()));
    ws.write_file("idp-metadata.xml", &xml);
    let hcl = |file_name: &str| {
        format!(
            r#"resource "identity_idp" "saml" {{
  name = "file-saml"
  type = "saml"
  saml = {{
    metadata_xml_file = file("${{path.module}}/idp-metadata.xml")
    file_name         = "{file_name}"
  }}
}}"#
        )
    };
    ws.write_main(&hcl("idp.xml"));
    ws.apply();
    assert_eq!(ws.state_attr(addr, "saml.entity_id"), "https://files.example.com/idp");
    let saml = |sb: &Sandbox| sb.runai_idp("file-saml").expect("stored")["samlData"].clone();
    let stored = saml(&sb);
    assert_eq!(stored["metadataXmlType"], json!("file"), "metadata type derived as file: {stored:#}");
    assert_eq!(stored["fileName"], json!("idp.xml"), "{stored:#}");
    assert!(stored["metadataXmlFile"].as_str().is_some_and(|x| x.contains("https://files.example.com/idp")), "{stored:#}");
    ws.write_main(&hcl("renamed.xml"));
    assert_eq!(ws.resource_actions(addr), vec!["update"]);
    ws.apply();
    let renamed = saml(&sb);
    assert_eq!(renamed["fileName"], json!("renamed.xml"), "the rename reached the server: {renamed:#}");
    assert_eq!(renamed["metadataXmlType"], json!("file"), "{renamed:#}");
    ws.destroy();
    assert!(sb.runai_aliases().is_empty());
}

fn reqwest_get(url: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async { reqwest::get(url).await.expect("GET").text().await.expect("body") })
}

fn ocp_hcl(name: &str, scopes: &str, version: Option<u32>) -> String {
    let version = version.map(|v| format!("client_secret_wo_version = {v}")).unwrap_or_default();
    format!(
        r#"resource "identity_idp" "ocp" {{
  name = "{name}"
  type = "openshift-v4"
  ocp = {{
    idp_base_url     = "https://api.cluster.example.com:6443"
    client_id        = "runai"
    client_secret_wo = "ocp-s3cret"
    {version}
    scopes           = [{scopes}]
  }}
}}"#
    )
}

#[test]
fn openshift_lifecycle() {
    // The state is read for the stored client secret, which the sandbox masks by default.
    let sb = Sandbox::start_with(&["--unmask-state"]);
    let ws = Workspace::new(&sb);
    let addr = "identity_idp.ocp";
    ws.write_main(&ocp_hcl("openshift", "\"user:info\"", Some(1)));
    ws.apply();
    let stored = sb.runai_idp("openshift").expect("stored");
    assert_eq!(stored["ocpData"]["clientSecret"], "ocp-s3cret");
    assert_eq!(ws.state_attr(addr, "mappers.uid"), "UID", "server defaults read back");
    ws.assert_plan_empty();
    ws.assert_state_lacks("ocp-s3cret");

    ws.write_main(&ocp_hcl("openshift", "\"user:info\", \"user:check-access\"", Some(1)));
    assert_eq!(ws.resource_actions(addr), vec!["update"]);
    ws.apply();
    assert_eq!(sb.runai_idp("openshift").expect("stored")["ocpData"]["clientSecret"], "ocp-s3cret", "update never blanks the secret");
    ws.assert_plan_empty();

    ws.write_main(&ocp_hcl("openshift2", "\"user:info\"", Some(1)));
    assert!(is_replace(&ws.resource_actions(addr)));
    ws.apply();

    // Import into a fresh directory (write-only secret without a version: nothing to diff).
    let fresh = ws.sibling();
    fresh.write_main(&ocp_hcl("openshift2", "\"user:info\"", None));
    fresh.import(addr, "openshift2");
    fresh.assert_plan_empty();

    // An import block.
    let blocked = ws.sibling();
    blocked.write_main(&format!("import {{\n  to = {addr}\n  id = \"openshift2\"\n}}\n{}", ocp_hcl("openshift2", "\"user:info\"", None)));
    let plan = blocked.plan_json();
    assert_eq!(importing_id(&plan, addr).as_deref(), Some("openshift2"));
    assert_eq!(actions(&plan, addr), vec!["no-op"]);

    sb.runai_delete_idp("openshift2");
    assert_eq!(ws.resource_actions(addr), vec!["create"]);
    ws.destroy();
    assert!(sb.runai_aliases().is_empty());
}

fn mappers_hcl(uid: &str) -> String {
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
  idp    = identity_idp.corp.alias
  uid    = "{uid}"
  groups = "memberOf"
}}"#
    )
}

#[test]
fn mappers_lifecycle_waits_for_the_accepted_change() {
    // A mapper change becomes visible 700 ms after its 202.
    let sb = Sandbox::start_with(&["--mapper-delay-ms", "700"]);
    let ws = Workspace::new(&sb);
    let addr = "identity_idp_mappers.corp";
    ws.write_main(&mappers_hcl("sub"));
    ws.apply();
    assert_eq!(ws.state_attr(addr, "uid"), "sub");
    assert_eq!(ws.state_attr(addr, "groups"), "memberOf");
    assert_eq!(ws.state_attr(addr, "gid"), "GID", "unset fields keep the server's values");
    assert!(sb.route_count("GET /runai/api/v1/idps/{idp}/mappers") >= 2, "apply polled until the change was visible");
    ws.assert_plan_empty();

    ws.write_main(&mappers_hcl("preferred_username"));
    assert_eq!(ws.resource_actions(addr), vec!["update"]);
    ws.apply();
    assert_eq!(sb.runai_idp("corp").expect("idp")["mappers"]["uid"], "preferred_username");
    ws.assert_plan_empty();

    // Import by the idp's alias.
    let fresh = ws.sibling();
    fresh.write_main(&mappers_hcl("preferred_username"));
    fresh.import("identity_idp.corp", "corp");
    fresh.import(addr, "corp");
    fresh.assert_plan_empty();

    // Data sources see the same.
    let ds = ws.sibling();
    ds.write_main(
        r#"data "identity_idps" "all" {}
data "identity_idp" "corp" {
  alias = "corp"
}
data "identity_idp_mappers" "corp" {
  idp = "corp"
}
output "aliases" { value = [for i in data.identity_idps.all.idps : i.alias] }
output "redirect" { value = data.identity_idp.corp.redirect_uri }
output "client_id" { value = data.identity_idp.corp.oidc.client_id }
output "uid" { value = data.identity_idp_mappers.corp.uid }"#,
    );
    ds.apply();
    let out = ds.outputs_json();
    assert_eq!(out["aliases"]["value"], serde_json::json!(["corp"]));
    assert_eq!(out["uid"]["value"], "preferred_username");
    assert_eq!(out["client_id"]["value"], "terraform");
    assert!(out["redirect"]["value"].as_str().unwrap_or("").contains("/broker/corp/"));
    assert!(
        !ds.state_file_text().contains("s3cret") && !ds.state_file_text().contains("********"),
        "no secret, not even masked, in data source state"
    );

    // Drift: the idp (and so its mappers) deleted behind Terraform's back.
    sb.runai_delete_idp("corp");
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, addr), vec!["create"]);

    // Destroy resets the mappers (shown here on a fresh idp), then removes the idp.
    ws.apply();
    ws.write_main(
        r#"resource "identity_idp" "corp" {
  name = "corp"
  type = "oidc"
  oidc = {
    client_id             = "terraform"
    client_secret_wo      = "s3cret"
    discover_document_url = "https://idp.example.com/.well-known/openid-configuration"
  }
}"#,
    );
    ws.apply();
    let m = &sb.runai_idp("corp").expect("idp")["mappers"];
    for f in ["uid", "gid", "groups", "supplementaryGroups", "email"] {
        assert_eq!(m[f], "", "destroying identity_idp_mappers resets {f}");
    }
    ws.destroy();
    assert!(sb.runai_aliases().is_empty());
}

#[test]
fn an_existing_alias_tells_how_to_import() {
    let sb = Sandbox::start();
    let (status, _) = sb.http(
        "POST",
        "/runai/api/v1/idps",
        Some(serde_json::json!({"name": "taken", "type": "oidc", "oidcData": {"clientId": "a", "clientSecret": "b", "discoverDocumentUrl": "https://idp.example.com"}})),
    );
    assert_eq!(status, 201);
    let ws = Workspace::new(&sb);
    ws.write_main(
        r#"resource "identity_idp" "x" {
  name = "taken"
  type = "oidc"
  oidc = {
    client_id             = "a"
    client_secret_wo      = "b"
    discover_document_url = "https://idp.example.com"
  }
}"#,
    );
    let err = ws.apply_expect_err();
    assert!(err.contains("already exists"), "{err}");
    assert!(err.contains("terraform import identity_idp.<name> taken"), "{err}");
    assert!(err.contains("import {"), "{err}");
}
