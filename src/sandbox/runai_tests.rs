//! Tests of the Run:ai emulation's SAML metadata handling, the read-only token, the
//! openshift-v4 data and mapper visibility (in process through the shared test client,
//! plus real TCP where the server must fetch from itself).

use std::time::Duration;

use axum::http::{StatusCode, header};
use base64::Engine as _;
use serde_json::{Value, json};

use super::*;
use crate::sandbox::test_client::{Answer, HOST, Sb, sandbox, sandbox_with};
use crate::sandbox::{DEFAULT_RUNAI_READONLY_TOKEN, DEFAULT_RUNAI_TOKEN, SandboxConfig, spawn};

const TOKEN: &str = DEFAULT_RUNAI_TOKEN;
const READONLY: &str = DEFAULT_RUNAI_READONLY_TOKEN;
const IDPS: &str = "/runai/api/v1/idps";

impl Sb {
    /// The stored Run:ai identity providers (`GET /_sandbox/state` would mask them).
    async fn stored_idps(&self) -> Value {
        self.state.snapshot().await["runai"]["idps"].clone()
    }
}

fn assert_error(a: &Answer, status: StatusCode, details: Option<&str>) {
    assert_eq!(a.status, status, "body: {}", a.raw);
    assert_eq!(a.json["code"], json!(status.as_u16()), "body: {}", a.raw);
    assert!(a.json["message"].is_string(), "body: {}", a.raw);
    if let Some(d) = details {
        assert_eq!(a.json["details"], json!(d), "body: {}", a.raw);
    }
}

fn message(a: &Answer) -> &str {
    a.json["message"].as_str().unwrap_or("")
}

fn saml_file_body(name: Option<&str>, xml: &str) -> Value {
    let mut b = json!({
        "type": "saml",
        "samlData": {
            "metadataXmlType": "file",
            "metadataXmlFile": xml,
            "fileName": "idp-metadata.xml"
        }
    });
    if let Some(n) = name {
        b["name"] = json!(n);
    }
    b
}

fn saml_url_body(name: Option<&str>, url: &str) -> Value {
    let mut b = json!({
        "type": "saml",
        "samlData": {"metadataXmlType": "url", "metadataXmlUrl": url}
    });
    if let Some(n) = name {
        b["name"] = json!(n);
    }
    b
}

fn ocp_body(secret: &str) -> Value {
    json!({
        "type": "openshift-v4",
        "ocpData": {
            "idpBaseUrl": "https://api.ocp.example.com:6443",
            "clientId": "runai",
            "clientSecret": secret,
            "scopes": ["user:info", "user:check-access"]
        }
    })
}

fn sp_metadata_url(alias: &str) -> String {
    format!("http://{HOST}/runai/auth/realms/runai/broker/{alias}/endpoint/descriptor")
}

// ---------------------------------------------------------------------------------------
// Metadata parsing (unit)
// ---------------------------------------------------------------------------------------

#[test]
fn parses_the_sample_document() {
    let xml = sample_metadata_xml("urn:idp:test", "https://sso.example.com/saml2");
    let md = parse_metadata(&xml).expect("valid");
    assert_eq!(
        md,
        IdpMetadata {
            entity_id: "urn:idp:test".into(),
            single_sign_on_service_url: "https://sso.example.com/saml2".into(),
            signing_certificate: SAMPLE_SIGNING_CERTIFICATE.into(),
        }
    );
    // The certificate is wrapped in the document and really is DER.
    assert!(xml.contains(&SAMPLE_SIGNING_CERTIFICATE[..64]));
    assert!(!xml.contains(SAMPLE_SIGNING_CERTIFICATE));
    let der = base64::engine::general_purpose::STANDARD.decode(SAMPLE_SIGNING_CERTIFICATE).expect("base64");
    assert_eq!(der[0], 0x30, "a DER SEQUENCE");
}

#[test]
fn sample_escapes_its_parameters() {
    let xml = sample_metadata_xml("urn:a&b\"<c>'", "https://sso.example.com/x?a=1&b=2");
    let md = parse_metadata(&xml).expect("valid");
    assert_eq!(md.entity_id, "urn:a&b\"<c>'");
    assert_eq!(md.single_sign_on_service_url, "https://sso.example.com/x?a=1&b=2");
}

const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const ARTIFACT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact";

/// A metadata document with a default-namespace `md` and prefix `dsig` for xmldsig.
fn doc(services: &[(&str, &str)], keys: &str) -> String {
    let services: String = services.iter().map(|(b, l)| format!(r#"<SingleSignOnService Binding="{b}" Location="{l}"/>"#)).collect();
    format!(
        r#"<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:dsig="http://www.w3.org/2000/09/xmldsig#" entityID="urn:e">
             <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}{services}</IDPSSODescriptor>
           </EntityDescriptor>"#
    )
}

fn key(usage: Option<&str>, cert: &str) -> String {
    let usage = usage.map(|u| format!(r#" use="{u}""#)).unwrap_or_default();
    format!(
        "<KeyDescriptor{usage}><dsig:KeyInfo><dsig:X509Data><dsig:X509Certificate>{cert}</dsig:X509Certificate></dsig:X509Data></dsig:KeyInfo></KeyDescriptor>"
    )
}

#[test]
fn sso_binding_preference() {
    let sso = |services: &[(&str, &str)]| parse_metadata(&doc(services, "")).expect("valid").single_sign_on_service_url;
    assert_eq!(
        sso(&[(ARTIFACT, "https://a.example.com"), (POST, "https://p.example.com"), (REDIRECT, "https://r.example.com")]),
        "https://r.example.com"
    );
    assert_eq!(sso(&[(ARTIFACT, "https://a.example.com"), (POST, "https://p.example.com")]), "https://p.example.com");
    assert_eq!(sso(&[(ARTIFACT, "https://a.example.com"), ("urn:other", "https://o.example.com")]), "https://a.example.com");
}

#[test]
fn signing_certificate_selection() {
    let cert = |keys: &str| parse_metadata(&doc(&[(POST, "https://p.example.com")], keys)).expect("valid").signing_certificate;
    // Encryption keys are skipped; whitespace (line breaks, indentation) is removed.
    let keys = key(Some("encryption"), "RU5D") + &key(Some("signing"), "\n  U0lH\n  TkVE\n");
    assert_eq!(cert(&keys), "U0lHTkVE");
    // A key without `use` serves both purposes.
    assert_eq!(cert(&key(None, "QU5Z")), "QU5Z");
    // No usable key: empty, not an error.
    assert_eq!(cert(&key(Some("encryption"), "RU5D")), "");
    assert_eq!(cert(""), "");
    // Not base64: refused.
    let err = parse_metadata(&doc(&[(POST, "https://p.example.com")], &key(None, "not*base64"))).expect_err("bad cert");
    assert!(err.contains("not base64"), "{err}");
}

#[test]
fn elements_match_by_namespace_not_prefix() {
    // Unusual prefixes are fine.
    let xml = r#"<saml2md:EntityDescriptor xmlns:saml2md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:p">
        <saml2md:IDPSSODescriptor><saml2md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://p.example.com"/></saml2md:IDPSSODescriptor>
      </saml2md:EntityDescriptor>"#;
    assert_eq!(parse_metadata(xml).expect("valid").entity_id, "urn:p");
    // The usual prefix bound to another namespace is not SAML metadata.
    let xml = r#"<md:EntityDescriptor xmlns:md="urn:not-saml" entityID="urn:p">
        <md:IDPSSODescriptor><md:SingleSignOnService Location="https://p.example.com"/></md:IDPSSODescriptor>
      </md:EntityDescriptor>"#;
    let err = parse_metadata(xml).expect_err("wrong namespace");
    assert!(err.contains("root element"), "{err}");
    // An IDPSSODescriptor in another namespace does not count.
    let xml = r#"<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:x="urn:x" entityID="urn:p">
        <x:IDPSSODescriptor><SingleSignOnService Location="https://p.example.com"/></x:IDPSSODescriptor>
      </EntityDescriptor>"#;
    assert!(parse_metadata(xml).expect_err("foreign").contains("IDPSSODescriptor"));
}

#[test]
fn entities_descriptor_uses_the_first_idp() {
    let xml = r#"<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">
        <EntityDescriptor entityID="urn:sp"><SPSSODescriptor/></EntityDescriptor>
        <EntityDescriptor entityID="urn:idp"><IDPSSODescriptor><SingleSignOnService Binding="x" Location="https://i.example.com"/></IDPSSODescriptor></EntityDescriptor>
      </EntitiesDescriptor>"#;
    let md = parse_metadata(xml).expect("valid");
    assert_eq!(md.entity_id, "urn:idp");
    assert_eq!(md.single_sign_on_service_url, "https://i.example.com");
}

#[test]
fn unusable_documents_are_refused() {
    let cases: &[(&str, &str)] = &[
        ("", "malformed XML"),
        ("<EntityDescriptor", "malformed XML"),
        ("<a><b></a>", "malformed XML"),
        ("not xml at all", "malformed XML"),
        ("<html><body>login</body></html>", "root element"),
        (r#"<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"><IDPSSODescriptor/></EntityDescriptor>"#, "entityID"),
        (
            r#"<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:e"><SPSSODescriptor/></EntityDescriptor>"#,
            "no IDPSSODescriptor",
        ),
        (
            r#"<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:e"><IDPSSODescriptor/></EntityDescriptor>"#,
            "no SingleSignOnService",
        ),
        (
            r#"<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:e"><IDPSSODescriptor><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"/></IDPSSODescriptor></EntityDescriptor>"#,
            "no Location",
        ),
        (
            r#"<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"><EntityDescriptor entityID="urn:sp"/></EntitiesDescriptor>"#,
            "no EntityDescriptor with an IDPSSODescriptor",
        ),
        (
            r#"<!DOCTYPE x [<!ENTITY a "aaaa">]><EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&a;"/>"#,
            "malformed XML",
        ),
    ];
    for (xml, expected) in cases {
        let err = parse_metadata(xml).expect_err(xml);
        assert!(err.contains(expected), "{xml:?}: {err:?} should contain {expected:?}");
    }
}

#[test]
fn file_content_raw_or_base64() {
    let xml = sample_metadata_xml(SAMPLE_ENTITY_ID, SAMPLE_SSO_URL);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&xml);
    assert_eq!(metadata_text_from_file(&xml).expect("raw"), xml.trim());
    assert_eq!(metadata_text_from_file(&format!("\u{feff}\n  {xml}")).expect("bom"), xml.trim());
    assert_eq!(metadata_text_from_file(&b64).expect("b64"), xml);
    // Wrapped like `base64` (76 columns) and with a data: URL prefix.
    let wrapped: String = b64.as_bytes().chunks(76).map(|c| format!("{}\n", String::from_utf8_lossy(c))).collect();
    assert_eq!(metadata_text_from_file(&wrapped).expect("wrapped"), xml);
    assert_eq!(metadata_text_from_file(&format!("data:application/xml;base64,{b64}")).expect("data url"), xml);
    // A base64 BOM-prefixed document.
    let with_bom = base64::engine::general_purpose::STANDARD.encode(format!("\u{feff}{xml}"));
    assert_eq!(metadata_text_from_file(&with_bom).expect("b64 bom"), xml);

    // Not '<' and not base64; base64 of something that is not XML; base64 of non-UTF-8.
    for garbage in ["%%% not xml %%%", "just some text", "{\"a\": 1}"] {
        let err = metadata_text_from_file(garbage).expect_err(garbage);
        assert!(err.contains("neither"), "{garbage}: {err}");
    }
    let latin1 = base64::engine::general_purpose::STANDARD.encode([0x3c, 0x61, 0xe9, 0x3e]);
    assert!(metadata_text_from_file(&latin1).expect_err("latin1").contains("UTF-8"));
}

// ---------------------------------------------------------------------------------------
// SAML over the API
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn saml_from_inline_xml_file() {
    let sb = sandbox();
    let xml = sample_metadata_xml("https://idp.corp.example.com/meta", "https://idp.corp.example.com/sso");
    let a = sb.runai("POST", IDPS, Some(saml_file_body(None, &xml))).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.json, json!({"alias": "saml"}));

    let a = sb.runai("GET", &format!("{IDPS}/saml"), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(
        a.json,
        json!({
            "alias": "saml",
            "type": "saml",
            "redirectUri": format!("http://{HOST}/runai/auth/realms/runai/broker/saml/endpoint"),
            "samlData": {
                "signingCertificate": SAMPLE_SIGNING_CERTIFICATE,
                "singleSignOnServiceUrl": "https://idp.corp.example.com/sso",
                "entityId": "https://idp.corp.example.com/meta",
                "serviceProviderMetadataUrl": sp_metadata_url("saml")
            },
            "mappers": {
                "gid": "GID", "uid": "UID", "groups": "GROUPS",
                "supplementaryGroups": "SUPPLEMENTARY_GROUPS", "email": "email"
            }
        })
    );
    // The list shows the same read model.
    assert_eq!(sb.runai("GET", IDPS, None).await.json, json!([a.json]));

    // The state keeps everything, creation fields included.
    let stored = &sb.stored_idps().await[0]["samlData"];
    assert_eq!(stored["metadataXmlType"], json!("file"));
    assert_eq!(stored["metadataXmlFile"], json!(xml));
    assert_eq!(stored["fileName"], json!("idp-metadata.xml"));
    assert!(stored.get("metadataXmlUrl").is_none());
    assert_eq!(stored["signingCertificate"], json!(SAMPLE_SIGNING_CERTIFICATE));
}

#[tokio::test]
async fn saml_from_base64_file_and_entity_id_override() {
    let sb = sandbox();
    let xml = sample_metadata_xml("urn:from-metadata", "https://sso.example.com/a");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&xml);

    let mut body = saml_file_body(Some("b64"), &b64);
    body["samlData"]["entityId"] = json!("urn:from-request");
    let a = sb.runai("POST", IDPS, Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let got = sb.runai("GET", &format!("{IDPS}/b64"), None).await.json;
    assert_eq!(got["samlData"]["entityId"], json!("urn:from-request"));
    assert_eq!(got["samlData"]["singleSignOnServiceUrl"], json!("https://sso.example.com/a"));
    assert_eq!(got["samlData"]["signingCertificate"], json!(SAMPLE_SIGNING_CERTIFICATE));

    // An empty entityId means "take the metadata's".
    let mut body = saml_file_body(Some("empty-entity"), &b64);
    body["samlData"]["entityId"] = json!("");
    assert_eq!(sb.runai("POST", IDPS, Some(body)).await.status, StatusCode::CREATED);
    let got = sb.runai("GET", &format!("{IDPS}/empty-entity"), None).await.json;
    assert_eq!(got["samlData"]["entityId"], json!("urn:from-metadata"));

    // metadataXmlType may be left out: the input given decides.
    let mut body = saml_file_body(Some("no-type"), &xml);
    body["samlData"].as_object_mut().map(|o| o.remove("metadataXmlType"));
    assert_eq!(sb.runai("POST", IDPS, Some(body)).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn saml_input_rules_are_400s_naming_the_field() {
    let sb = sandbox();
    let xml = sample_metadata_xml(SAMPLE_ENTITY_ID, SAMPLE_SSO_URL);
    let url = "https://idp.example.com/metadata";
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = saml_file_body(None, &xml);
        f(&mut b);
        b
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        // Malformed documents.
        (saml_file_body(None, "<md:EntityDescriptor"), "samlData.metadataXmlFile", "malformed XML"),
        (saml_file_body(None, "<a><b></a>"), "samlData.metadataXmlFile", "malformed XML"),
        (saml_file_body(None, "<html/>"), "samlData.metadataXmlFile", "root element"),
        (saml_file_body(None, &base64::engine::general_purpose::STANDARD.encode("<unclosed")), "samlData.metadataXmlFile", "malformed XML"),
        (saml_file_body(None, "%%% not xml %%%"), "samlData.metadataXmlFile", "neither"),
        (
            saml_file_body(
                None,
                r#"<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:e"><SPSSODescriptor/></EntityDescriptor>"#,
            ),
            "samlData.metadataXmlFile",
            "IDPSSODescriptor",
        ),
        (
            saml_file_body(
                None,
                r#"<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:e"><IDPSSODescriptor/></EntityDescriptor>"#,
            ),
            "samlData.metadataXmlFile",
            "SingleSignOnService",
        ),
        // metadataXmlType must name the input given.
        (with(&|b| b["samlData"]["metadataXmlType"] = json!("url")), "samlData.metadataXmlType", "\"url\""),
        (json!({"type": "saml", "samlData": {"metadataXmlType": "file", "metadataXmlUrl": url}}), "samlData.metadataXmlType", "\"file\""),
        (with(&|b| b["samlData"]["metadataXmlType"] = json!("xml")), "samlData.metadataXmlType", "url"),
        // Exactly one input.
        (with(&|b| b["samlData"]["metadataXmlUrl"] = json!(url)), "samlData", "exactly one"),
        (json!({"type": "saml", "samlData": {"metadataXmlType": "url"}}), "samlData.metadataXmlUrl", "Required parameter is missing"),
        (json!({"type": "saml", "samlData": {"metadataXmlType": "file"}}), "samlData.metadataXmlFile", "Required parameter is missing"),
        (
            json!({"type": "saml", "samlData": {"metadataXmlUrl": "", "metadataXmlFile": ""}}),
            "samlData.metadataXmlUrl",
            "Required parameter is missing",
        ),
        // A file needs its name.
        (
            with(&|b| {
                b["samlData"].as_object_mut().map(|o| o.remove("fileName"));
            }),
            "samlData.fileName",
            "Required parameter is missing",
        ),
        (with(&|b| b["samlData"]["fileName"] = json!("")), "samlData.fileName", "Required parameter is missing"),
        // Types and URL shape.
        (with(&|b| b["samlData"]["metadataXmlFile"] = json!(5)), "samlData.metadataXmlFile", "expected string"),
        (
            json!({"type": "saml", "samlData": {"metadataXmlType": "url", "metadataXmlUrl": "ftp://idp.example.com/m"}}),
            "samlData.metadataXmlUrl",
            "must be a URL",
        ),
        (json!({"type": "saml"}), "samlData", "Required parameter is missing"),
    ];
    for (body, details, needle) in cases {
        let a = sb.runai("POST", IDPS, Some(body.clone())).await;
        assert_error(&a, StatusCode::BAD_REQUEST, Some(details));
        assert!(message(&a).contains(needle), "body {body}: {} should contain {needle:?}", a.raw);
    }
    assert_eq!(sb.stored_idps().await, json!([]));
}

#[tokio::test]
async fn saml_put_reparses_and_requires_a_source() {
    let sb = sandbox();
    let v1 = sample_metadata_xml("urn:v1", "https://sso.example.com/v1");
    sb.runai("POST", IDPS, Some(saml_file_body(Some("corp"), &v1))).await;
    let path = format!("{IDPS}/corp");
    let before = sb.runai("GET", &path, None).await.json;

    // No metadata at all: 400, nothing changes.
    let a = sb.runai("PUT", &path, Some(json!({"type": "saml", "samlData": {"entityId": "urn:x"}}))).await;
    assert_eq!(a.json, json!({"code": 400, "message": "Required parameter is missing", "details": "samlData.metadataXmlUrl"}));
    // A malformed replacement: 400, nothing changes.
    let a = sb.runai("PUT", &path, Some(saml_file_body(None, "<broken"))).await;
    assert_error(&a, StatusCode::BAD_REQUEST, Some("samlData.metadataXmlFile"));
    assert_eq!(sb.runai("GET", &path, None).await.json, before);

    // A new document replaces everything taken from the metadata.
    let v2 = sample_metadata_xml("urn:v2", "https://sso.example.com/v2");
    let a = sb.runai("PUT", &path, Some(saml_file_body(Some("corp"), &v2))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let after = sb.runai("GET", &path, None).await.json;
    assert_eq!(after["samlData"]["entityId"], json!("urn:v2"));
    assert_eq!(after["samlData"]["singleSignOnServiceUrl"], json!("https://sso.example.com/v2"));
    assert_eq!(after["samlData"]["serviceProviderMetadataUrl"], json!(sp_metadata_url("corp")));
    assert_eq!(after["redirectUri"], before["redirectUri"]);
    assert_eq!(sb.stored_idps().await[0]["samlData"]["metadataXmlFile"], json!(v2));

    // The type cannot change, and an unknown alias is 404 before any fetch.
    let a = sb.runai("PUT", &path, Some(ocp_body("s"))).await;
    assert_error(&a, StatusCode::BAD_REQUEST, Some("type"));
    let a = sb.runai("PUT", &format!("{IDPS}/ghost"), Some(saml_url_body(None, "http://127.0.0.1:1/m"))).await;
    assert_error(&a, StatusCode::NOT_FOUND, None);
}

#[tokio::test]
async fn saml_from_url_served_by_the_sandbox_itself() {
    let sb = spawn(SandboxConfig::default()).await.expect("spawn");
    let http = reqwest::Client::new();
    let api = format!("{}/api/v1/idps", sb.runai_url());
    let sample = format!("{}{SAMPLE_METADATA_PATH}?entity_id=urn%3Acorp%3Aidp&sso_url=https%3A%2F%2Fsso.corp.example.com%2Fsaml", sb.url);
    let post = |body: Value| http.post(&api).bearer_auth(TOKEN).json(&body).send();

    let resp = post(saml_url_body(Some("by-url"), &sample)).await.expect("send");
    let status = resp.status();
    let text = resp.text().await.expect("text");
    assert_eq!(status, reqwest::StatusCode::CREATED, "{text}");
    let got: Value = http.get(format!("{api}/by-url")).bearer_auth(TOKEN).send().await.expect("send").json().await.expect("json");
    assert_eq!(
        got["samlData"],
        json!({
            "signingCertificate": SAMPLE_SIGNING_CERTIFICATE,
            "singleSignOnServiceUrl": "https://sso.corp.example.com/saml",
            "entityId": "urn:corp:idp",
            "serviceProviderMetadataUrl": format!("{}/runai/auth/realms/runai/broker/by-url/endpoint/descriptor", sb.url)
        })
    );
    let stored = sb.state.snapshot().await["runai"]["idps"][0]["samlData"].clone();
    assert_eq!(stored["metadataXmlUrl"], json!(sample));
    assert_eq!(stored["metadataXmlType"], json!("url"));
    // The server's fetch of the sample is not a counted vendor request.
    assert_eq!(sb.state.stats().total, 2);

    // Non-2xx, a loopback port other than the sandbox's own (refused before connecting),
    // and a 2xx that is not XML: 400 naming the URL field.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        drop(l);
        format!("http://127.0.0.1:{port}/metadata")
    };
    let cases = [
        (format!("{}/_sandbox/samples/nothing.xml", sb.url), "could not be fetched"),
        (format!("{}/_sandbox/samples/nothing.xml", sb.url), "404"),
        (refused, "is not allowed"),
        (format!("{}/_sandbox/stats", sb.url), "malformed XML"),
    ];
    for (i, (url, needle)) in cases.iter().enumerate() {
        let resp = post(saml_url_body(Some(&format!("bad-{i}")), url)).await.expect("send");
        assert_eq!(resp.status(), reqwest::StatusCode::BAD_REQUEST);
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["code"], json!(400));
        assert_eq!(body["details"], json!("samlData.metadataXmlUrl"), "{body}");
        let msg = body["message"].as_str().unwrap_or("");
        assert!(msg.contains(needle), "{msg:?} should contain {needle:?}");
    }

    // A conflict is reported before the (failing) fetch.
    let resp = post(saml_url_body(Some("by-url"), "http://127.0.0.1:1/nothing")).await.expect("send");
    assert_eq!(resp.status(), reqwest::StatusCode::CONFLICT);
    assert_eq!(sb.state.snapshot().await["runai"]["idps"].as_array().map(Vec::len), Some(1));

    // PUT by URL re-fetches.
    let v2 = format!("{}{SAMPLE_METADATA_PATH}?entity_id=urn%3Av2", sb.url);
    let resp = http.put(format!("{api}/by-url")).bearer_auth(TOKEN).json(&saml_url_body(None, &v2)).send().await.expect("send");
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let got: Value = http.get(format!("{api}/by-url")).bearer_auth(TOKEN).send().await.expect("send").json().await.expect("json");
    assert_eq!(got["samlData"]["entityId"], json!("urn:v2"));
    assert_eq!(got["samlData"]["singleSignOnServiceUrl"], json!(SAMPLE_SSO_URL));
}

#[tokio::test]
async fn sample_endpoint_needs_no_auth_and_is_not_counted() {
    let sb = sandbox();
    let a = sb.bearer("GET", SAMPLE_METADATA_PATH, None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header(header::CONTENT_TYPE), Some("application/samlmetadata+xml; charset=utf-8"));
    let md = parse_metadata(&a.raw).expect("valid");
    assert_eq!(md.entity_id, SAMPLE_ENTITY_ID);
    assert_eq!(md.single_sign_on_service_url, SAMPLE_SSO_URL);
    assert_eq!(md.signing_certificate, SAMPLE_SIGNING_CERTIFICATE);
    // Stable within the process.
    assert_eq!(sb.bearer("GET", SAMPLE_METADATA_PATH, None, None).await.raw, a.raw);

    let a = sb.bearer("GET", &format!("{SAMPLE_METADATA_PATH}?entity_id=urn%3Ax%26y&sso_url="), None, None).await;
    let md = parse_metadata(&a.raw).expect("valid");
    assert_eq!(md.entity_id, "urn:x&y");
    assert_eq!(md.single_sign_on_service_url, SAMPLE_SSO_URL);
    assert_eq!(sb.state.stats().total, 0);
}

// ---------------------------------------------------------------------------------------
// Read-only token
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn readonly_token_reads_but_cannot_write() {
    let sb = sandbox();
    sb.runai("POST", IDPS, Some(ocp_body("s3cret"))).await;
    let path = format!("{IDPS}/openshift-v4");
    let mappers = format!("{path}/mappers");
    let snapshot = sb.stored_idps().await;

    for p in [IDPS, path.as_str(), mappers.as_str()] {
        let a = sb.bearer("GET", p, Some(READONLY), None).await;
        assert_eq!(a.status, StatusCode::OK, "GET {p}: {}", a.raw);
    }
    let read = sb.bearer("GET", &path, Some(READONLY), None).await;
    assert_eq!(read.json["ocpData"]["clientSecret"], json!(SECRET_MASK));

    let body = ocp_body("x").to_string();
    let writes = [
        ("POST", IDPS, Some(body.as_str())),
        ("POST", IDPS, Some("{not json")), // refused before the body is looked at
        ("PUT", path.as_str(), Some(body.as_str())),
        ("DELETE", path.as_str(), None),
        ("PUT", mappers.as_str(), Some(r#"{"gid":"g"}"#)),
        ("DELETE", &format!("{IDPS}/ghost"), None),
    ];
    for (method, p, b) in writes {
        let a = sb.bearer(method, p, Some(READONLY), b).await;
        assert_error(&a, StatusCode::FORBIDDEN, None);
        assert_eq!(a.json["message"], json!("Forbidden"), "{method} {p}");
        assert_eq!(a.json["details"], json!(format!("the token is read-only: {method} is not permitted")));
    }
    assert_eq!(sb.stored_idps().await, snapshot);

    // A custom read-only token; the old default is then just a wrong token.
    let sb = sandbox_with(SandboxConfig { runai_readonly_token: "viewer".into(), ..SandboxConfig::default() });
    assert_eq!(sb.bearer("GET", IDPS, Some("viewer"), None).await.status, StatusCode::OK);
    assert_error(&sb.bearer("GET", IDPS, Some(READONLY), None).await, StatusCode::UNAUTHORIZED, None);
    assert_error(&sb.bearer("DELETE", &format!("{IDPS}/x"), Some("viewer"), None).await, StatusCode::FORBIDDEN, None);
}

// ---------------------------------------------------------------------------------------
// openshift-v4
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn ocp_create_read_put() {
    let sb = sandbox();
    let a = sb.runai("POST", IDPS, Some(ocp_body("s3cret"))).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.json, json!({"alias": "openshift-v4"}));
    let path = format!("{IDPS}/openshift-v4");
    let got = sb.runai("GET", &path, None).await.json;
    assert_eq!(
        got,
        json!({
            "alias": "openshift-v4",
            "type": "openshift-v4",
            "redirectUri": format!("http://{HOST}/runai/auth/realms/runai/broker/openshift-v4/endpoint"),
            "ocpData": {
                "idpBaseUrl": "https://api.ocp.example.com:6443",
                "clientId": "runai",
                "clientSecret": SECRET_MASK,
                "scopes": ["user:info", "user:check-access"]
            },
            "mappers": {
                "gid": "GID", "uid": "UID", "groups": "GROUPS",
                "supplementaryGroups": "SUPPLEMENTARY_GROUPS", "email": "email"
            }
        })
    );
    assert_eq!(sb.stored_idps().await[0]["ocpData"]["clientSecret"], json!("s3cret"));

    // Same secret rules as oidc: a PUT without a secret (or with an empty one) is refused
    // and wipes nothing.
    for secret in [None, Some("")] {
        let mut b = ocp_body("x");
        match secret {
            None => {
                b["ocpData"].as_object_mut().map(|o| o.remove("clientSecret"));
            }
            Some(s) => b["ocpData"]["clientSecret"] = json!(s),
        }
        let a = sb.runai("PUT", &path, Some(b)).await;
        assert_eq!(a.json, json!({"code": 400, "message": "Required parameter is missing", "details": "ocpData.clientSecret"}));
    }
    assert_eq!(sb.runai("GET", &path, None).await.json, got);
    assert_eq!(sb.stored_idps().await[0]["ocpData"]["clientSecret"], json!("s3cret"));

    // A full PUT replaces: clientId and scopes dropped when not sent.
    let put = json!({"type": "openshift-v4", "ocpData": {"idpBaseUrl": "ocp2.example.com", "clientSecret": "n3w"}});
    assert_eq!(sb.runai("PUT", &path, Some(put)).await.status, StatusCode::OK);
    let after = sb.runai("GET", &path, None).await.json;
    assert_eq!(after["ocpData"], json!({"idpBaseUrl": "ocp2.example.com", "clientSecret": SECRET_MASK}));
    assert_eq!(sb.stored_idps().await[0]["ocpData"]["clientSecret"], json!("n3w"));

    // Bad scope and bad URL are 400s naming the field.
    let mut b = ocp_body("x");
    b["ocpData"]["scopes"] = json!(["ok", "not ok!"]);
    assert_error(&sb.runai("PUT", &path, Some(b)).await, StatusCode::BAD_REQUEST, Some("ocpData.scopes[1]"));
    let mut b = ocp_body("x");
    b["ocpData"]["idpBaseUrl"] = json!("https://nodot");
    assert_error(&sb.runai("PUT", &path, Some(b)).await, StatusCode::BAD_REQUEST, Some("ocpData.idpBaseUrl"));
    // Another type's data is refused.
    let mut b = ocp_body("x");
    b["oidcData"] = json!({"clientId": "c"});
    assert_error(&sb.runai("PUT", &path, Some(b)).await, StatusCode::BAD_REQUEST, Some("oidcData"));
}

// ---------------------------------------------------------------------------------------
// Mappers
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn mapper_delay_applies_to_every_read_and_a_full_put_wins() {
    let sb = sandbox_with(SandboxConfig { mapper_delay_ms: 150, ..SandboxConfig::default() });
    let xml = sample_metadata_xml(SAMPLE_ENTITY_ID, SAMPLE_SSO_URL);
    sb.runai("POST", IDPS, Some(saml_file_body(Some("corp"), &xml))).await;
    let path = format!("{IDPS}/corp");
    let mappers = format!("{path}/mappers");

    let a = sb.runai("PUT", &mappers, Some(json!({"email": "mail"}))).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.raw);
    assert_eq!(a.raw, "");
    // Not yet visible through any read: mappers, the idp, the list.
    assert_eq!(sb.runai("GET", &mappers, None).await.json["email"], json!("email"));
    assert_eq!(sb.runai("GET", &path, None).await.json["mappers"]["email"], json!("email"));
    assert_eq!(sb.runai("GET", IDPS, None).await.json[0]["mappers"]["email"], json!("email"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sb.runai("GET", &mappers, None).await.json["email"], json!("mail"));
    assert_eq!(sb.runai("GET", &path, None).await.json["mappers"]["email"], json!("mail"));
    assert_eq!(sb.runai("GET", IDPS, None).await.json[0]["mappers"]["email"], json!("mail"));

    // A pending mapper change followed by a full PUT carrying mappers: the PUT wins, now
    // and after the delay.
    sb.runai("PUT", &mappers, Some(json!({"uid": "pending"}))).await;
    let mut put = saml_file_body(None, &xml);
    put["mappers"] = json!({"uid": "from-put"});
    assert_eq!(sb.runai("PUT", &path, Some(put)).await.status, StatusCode::OK);
    assert_eq!(sb.runai("GET", &mappers, None).await.json["uid"], json!("from-put"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sb.runai("GET", &mappers, None).await.json["uid"], json!("from-put"));

    // Unknown idp: 404 for both mapper routes, in the error shape.
    let a = sb.runai("PUT", &format!("{IDPS}/ghost/mappers"), Some(json!({"gid": "g"}))).await;
    assert_eq!(a.json, json!({"code": 404, "message": "idp \"ghost\" not found"}));
    assert_error(&sb.runai("GET", &format!("{IDPS}/ghost/mappers"), None).await, StatusCode::NOT_FOUND, None);
}

#[tokio::test]
async fn saml_url_fetch_from_itself_over_tls() {
    let (sb, ca_pem) = crate::sandbox::tls::spawn_tls(SandboxConfig::default()).await.expect("spawn_tls");
    assert!(sb.url.starts_with("https://"), "{}", sb.url);
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("ca");
    let http = reqwest::Client::builder().add_root_certificate(ca).build().expect("client");
    let sample = format!("{}{SAMPLE_METADATA_PATH}?entity_id=urn%3Atls", sb.url);
    let resp = http
        .post(format!("{}/api/v1/idps", sb.runai_url()))
        .bearer_auth(TOKEN)
        .json(&saml_url_body(Some("tls"), &sample))
        .send()
        .await
        .expect("send");
    let status = resp.status();
    assert_eq!(status, reqwest::StatusCode::CREATED, "{}", resp.text().await.unwrap_or_default());
    let got: Value =
        http.get(format!("{}/api/v1/idps/tls", sb.runai_url())).bearer_auth(TOKEN).send().await.expect("send").json().await.expect("json");
    assert_eq!(got["samlData"]["entityId"], json!("urn:tls"));
    assert_eq!(got["samlData"]["signingCertificate"], json!(SAMPLE_SIGNING_CERTIFICATE));
}
