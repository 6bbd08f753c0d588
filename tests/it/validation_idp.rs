//! Bad input for the Run:ai resources, refused by `terraform plan` before any HTTP
//! request: each case names the attribute (the diagnostic's path shows as the source
//! line Terraform quotes, and the message names it) and says the rule in words.

use crate::support;

use support::{Sandbox, Workspace};

const URL: &str = "https://idp.example.com/.well-known/openid-configuration";

fn oidc(extra: &str) -> String {
    format!(
        r#"resource "identity_idp" "x" {{
  name = "corp"
  type = "oidc"
  oidc = {{
    client_id             = "terraform"
    client_secret_wo      = "s3cret"
    discover_document_url = "{URL}"
    {extra}
  }}
}}"#
    )
}

/// An oidc idp whose discovery document is at `url`.
fn oidc_url(url: &str) -> String {
    oidc("").replace(URL, url)
}

/// An idp of `kind` whose settings attribute `attr` holds `settings`.
fn idp_with(kind: &str, attr: &str, settings: &str) -> String {
    format!("resource \"identity_idp\" \"x\" {{\n  type = \"{kind}\"\n  {attr} = {{\n    {settings}\n  }}\n}}")
}

/// (name, configuration, substrings the error output must contain)
fn cases() -> Vec<(&'static str, String, Vec<&'static str>)> {
    vec![
        (
            "type/data mismatch",
            r#"resource "identity_idp" "x" {
  type = "oidc"
  saml = { metadata_xml_url = "https://idp.example.com/metadata.xml" }
}"#
            .into(),
            vec!["Settings do not match the idp type", "saml = {", "needs the \"oidc\" attribute"],
        ),
        (
            "two data blocks",
            format!(
                r#"resource "identity_idp" "x" {{
  type = "oidc"
  oidc = {{
    client_id             = "a"
    client_secret_wo      = "s"
    discover_document_url = "{URL}"
  }}
  ocp = {{
    idp_base_url     = "https://api.example.com"
    client_secret_wo = "s"
  }}
}}"#
            ),
            vec!["\"ocp\" holds settings for type \"openshift-v4\"", "ocp = {"],
        ),
        ("bad scope", oidc(r#"scopes = ["openid,email"]"#), vec!["oidc.scopes[0]", "scope names separated by single spaces"]),
        (
            "empty claim values",
            oidc(r#"mandatory_claim = { claim = "groups", values = [] }"#),
            vec!["oidc.mandatory_claim.values", "at least 1 element"],
        ),
        (
            "claim without a letter",
            oidc(r#"mandatory_claim = { claim = "123", values = ["admins"] }"#),
            vec!["oidc.mandatory_claim.claim", "at least one letter"],
        ),
        (
            "claim value with whitespace",
            oidc(r#"mandatory_claim = { claim = "groups", values = ["run ai"] }"#),
            vec!["oidc.mandatory_claim.values[0]", "without whitespace"],
        ),
        (
            "claim value without a letter",
            oidc(r#"mandatory_claim = { claim = "groups", values = ["42"] }"#),
            vec!["oidc.mandatory_claim.values[0]", "contains at least one letter"],
        ),
        (
            "bad URL",
            r#"resource "identity_idp" "x" {
  type = "oidc"
  oidc = {
    client_id             = "a"
    client_secret_wo      = "s"
    discover_document_url = "not a url"
  }
}"#
            .into(),
            vec!["oidc.discover_document_url", "host name with a dot"],
        ),
        (
            "URL with an IP address",
            oidc_url("https://10.1.2.3/.well-known/openid-configuration"),
            vec!["oidc.discover_document_url", "host name with a dot", "not an IP address"],
        ),
        (
            "URL with a host that is no IP address either",
            idp_with("openshift-v4", "ocp", "idp_base_url = \"https://999.999.1.1/x\"\n    client_secret_wo = \"s\""),
            vec!["ocp.idp_base_url", "host name with a dot"],
        ),
        (
            "SAML metadata URL on a LAN address",
            idp_with("saml", "saml", "metadata_xml_url = \"http://192.168.1.10:8080/metadata.xml\""),
            vec!["saml.metadata_xml_url", "host name with a dot"],
        ),
        (
            "upper-case name",
            r#"resource "identity_idp" "x" {
  name = "Corp"
  type = "oidc"
  oidc = {
    client_id             = "a"
    client_secret_wo      = "s"
    discover_document_url = "https://idp.example.com"
  }
}"#
            .into(),
            vec!["\"name\"", "lower-case letters, digits"],
        ),
        (
            "empty client_id",
            r#"resource "identity_idp" "x" {
  type = "oidc"
  oidc = {
    client_id             = ""
    client_secret_wo      = "s"
    discover_document_url = "https://idp.example.com"
  }
}"#
            .into(),
            vec!["oidc.client_id", "must not be empty"],
        ),
        (
            "unknown type",
            r#"resource "identity_idp" "x" {
  type = "ldap"
}"#
            .into(),
            vec!["\"type\"", "\"ldap\" is not allowed", "\"oidc\", \"saml\", \"openshift-v4\""],
        ),
        (
            "both secret forms",
            oidc(r#"client_secret = "plain""#),
            vec!["Exactly one of \"oidc.client_secret\", \"oidc.client_secret_wo\" must be set; 2 are"],
        ),
        (
            "no secret at all",
            r#"resource "identity_idp" "x" {
  type = "oidc"
  oidc = {
    client_id             = "a"
    discover_document_url = "https://idp.example.com"
  }
}"#
            .into(),
            vec!["Exactly one of \"oidc.client_secret\", \"oidc.client_secret_wo\" must be set; none is"],
        ),
        ("negative secret version", oidc("client_secret_wo_version = -1"), vec!["oidc.client_secret_wo_version", "whole number from 0"]),
        (
            "secret version without the write-only secret",
            r#"resource "identity_idp" "x" {
  type = "oidc"
  oidc = {
    client_id                = "a"
    client_secret            = "s"
    client_secret_wo_version = 2
    discover_document_url    = "https://idp.example.com"
  }
}"#
            .into(),
            vec!["oidc.client_secret_wo_version", "also requires \"oidc.client_secret_wo\""],
        ),
        (
            "saml without settings",
            r#"resource "identity_idp" "x" {
  type = "saml"
}"#
            .into(),
            vec!["needs the \"saml\" attribute"],
        ),
        (
            "saml url and file at once",
            r#"resource "identity_idp" "x" {
  type = "saml"
  saml = {
    metadata_xml_url  = "https://idp.example.com/metadata"
    metadata_xml_file = "<EntityDescriptor/>"
  }
}"#
            .into(),
            vec!["Exactly one of \"saml.metadata_xml_url\", \"saml.metadata_xml_file\""],
        ),
        (
            "saml file_name without a file",
            r#"resource "identity_idp" "x" {
  type = "saml"
  saml = {
    metadata_xml_url = "https://idp.example.com/metadata"
    file_name        = "idp.xml"
  }
}"#
            .into(),
            vec!["saml.file_name", "also requires \"saml.metadata_xml_file\""],
        ),
        (
            "ocp base URL with another scheme",
            r#"resource "identity_idp" "x" {
  type = "openshift-v4"
  ocp = {
    idp_base_url     = "ftp://api.example.com"
    client_secret_wo = "s"
  }
}"#
            .into(),
            vec!["ocp.idp_base_url", "http:// or https://"],
        ),
        (
            "mappers on a bad alias",
            r#"resource "identity_idp_mappers" "x" {
  idp = "Corp OIDC"
  uid = "sub"
}"#
            .into(),
            vec!["\"idp\"", "an idp alias"],
        ),
        (
            "mappers timeout that is no duration",
            r#"resource "identity_idp_mappers" "x" {
  idp      = "corp"
  uid      = "sub"
  timeouts = { create = "soon" }
}"#
            .into(),
            vec!["timeouts.create", "is not a duration like"],
        ),
    ]
}

#[test]
fn invalid_configurations_are_refused_at_plan_time_without_api_calls() {
    let sandbox = Sandbox::start();
    let ws = Workspace::new(&sandbox);
    let all = cases();
    assert!(all.len() >= 15);
    let mut failures = Vec::new();
    for (name, hcl, wants) in all {
        ws.write_main(&hcl);
        let err = ws.plan_expect_err(&[]);
        let flat = err.split_whitespace().collect::<Vec<_>>().join(" ");
        for w in wants {
            let w_flat = w.split_whitespace().collect::<Vec<_>>().join(" ");
            if !flat.contains(&w_flat) {
                failures.push(format!("case {name:?}: output lacks {w:?}:\n{err}"));
            }
        }
        assert!(!err.contains("s3cret"), "case {name:?}: a secret leaked into the error output");
        assert_eq!(sandbox.total_requests(), 0, "case {name:?} reached the API");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// One idp per URL attribute, each URL on a loopback host.
fn loopback_urls() -> String {
    r#"resource "identity_idp" "oidc" {
  type = "oidc"
  oidc = {
    client_id             = "a"
    client_secret_wo      = "s3cret"
    discover_document_url = "http://localhost:8080/.well-known/openid-configuration"
  }
}

resource "identity_idp" "saml" {
  type = "saml"
  saml = {
    metadata_xml_url = "http://127.0.0.1:8080/_sandbox/samples/saml-metadata.xml"
  }
}

resource "identity_idp" "ocp" {
  type = "openshift-v4"
  ocp = {
    idp_base_url     = "https://[::1]:6443"
    client_secret_wo = "s3cret"
  }
}"#
    .to_string()
}

/// Run:ai refuses loopback hosts (`localhost`, IP addresses); the provider accepts them
/// only against identity-sandbox (a `runai.url` on a loopback address), for tests and the
/// quickstart. Against any other endpoint the plan fails, naming each attribute, before any
/// request.
#[test]
fn loopback_urls_are_for_the_sandbox_only() {
    let sandbox = Sandbox::start();
    let mut elsewhere = Workspace::new(&sandbox);
    elsewhere.set_env("IDENTITY_RUNAI_URL", "https://runai.example.com");
    elsewhere.write_main(&loopback_urls());
    let err = support::flat(&elsewhere.plan_expect_err(&[]));
    let refused = [
        ("oidc", "oidc.discover_document_url", "localhost"),
        ("saml", "saml.metadata_xml_url", "127.0.0.1"),
        ("ocp", "ocp.idp_base_url", "[::1]"),
    ];
    for (resource, attr, host) in refused {
        for want in [
            format!("Error: URL refused by Run:ai's rule with identity_idp.{resource},"),
            format!("\"{attr}\" is"),
            format!("whose host {host} is a loopback address"),
            "when `runai.url` is itself a loopback address; it is https://runai.example.com".to_string(),
        ] {
            assert!(err.contains(&want), "{attr}: the error lacks {want:?}:\n{err}");
        }
    }
    assert!(!err.contains("s3cret"), "{err}");

    // Against the sandbox itself, the same configuration plans.
    let local = Workspace::new(&sandbox);
    local.write_main(&loopback_urls());
    assert_eq!(local.plan_exit_code(&[]), 2, "three idps to create");
    assert_eq!(sandbox.total_requests(), 0, "planning creates sends no request");
}
