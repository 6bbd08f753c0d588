//! `provider::identity::saml_metadata(xml)`: what an identity provider's SAML 2.0
//! metadata says, for a SAML `identity_idp`: its entity ID, its single sign-on URLs by
//! binding and its signing certificates with their expiry.
//!
//! The sandbox has a parser of its own (`sandbox::runai::parse_metadata`): it models what
//! Run:ai takes from a document (one URL, one certificate, the first IdP of an
//! EntitiesDescriptor), and stays independent of the provider it is used to check. This
//! one reports everything the document declares and refuses what is ambiguous.

use std::collections::BTreeMap;

use base64::Engine as _;
use roxmltree::{Document, Node, ParsingOptions};

use crate::tfplugin::function::{Function, FunctionError, Parameter, Signature, string_arg};
use crate::tfplugin::value::{Type, Value};

const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The largest document accepted, in bytes.
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;

/// A signing certificate of the IdP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningCertificate {
    /// PEM, 64 base64 characters a line, with a final newline.
    pub pem: String,
    /// The end of its validity, RFC 3339 in UTC (`2026-01-31T12:00:00Z`).
    pub not_after: String,
    /// Its subject's distinguished name, attributes in certificate order (`CN=..., O=...`).
    pub subject: String,
}

/// What the metadata of one identity provider says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamlMetadata {
    pub entity_id: String,
    /// SingleSignOnService `Location` by `Binding` (the first one of each binding).
    pub sso_urls: BTreeMap<String, String>,
    /// In document order, each certificate once.
    pub signing_certificates: Vec<SigningCertificate>,
}

/// Parses SAML 2.0 metadata: an `EntityDescriptor`, or an `EntitiesDescriptor` holding
/// exactly one `EntityDescriptor` with an `IDPSSODescriptor` (at any depth). Elements are
/// matched by namespace and local name, never by prefix. A DTD is refused (no entity
/// expansion). The error is a sentence about what is wrong.
pub fn parse_metadata(xml: &str) -> Result<SamlMetadata, String> {
    if xml.len() > MAX_METADATA_BYTES {
        return Err(format!("the document is {} bytes long; at most {MAX_METADATA_BYTES} bytes (1 MiB) are accepted", xml.len()));
    }
    let text = xml.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Err("the document is empty; expected SAML 2.0 metadata XML".into());
    }
    let options = ParsingOptions { allow_dtd: false, ..ParsingOptions::default() };
    let doc = Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => {
            "the document has a DTD (<!DOCTYPE ...>), which SAML metadata never needs; it is refused".to_string()
        }
        e => format!("the document is not well-formed XML: {e}"),
    })?;
    let root = doc.root_element();
    let entity = if root.has_tag_name((MD_NS, "EntityDescriptor")) {
        root
    } else if root.has_tag_name((MD_NS, "EntitiesDescriptor")) {
        let idps: Vec<Node<'_, '_>> =
            root.descendants().filter(|n| n.has_tag_name((MD_NS, "EntityDescriptor")) && idp_descriptor(*n).is_some()).collect();
        match idps.as_slice() {
            [one] => *one,
            [] => return Err("the EntitiesDescriptor holds no EntityDescriptor with an IDPSSODescriptor".into()),
            many => {
                let ids: Vec<String> = many.iter().map(|n| format!("{:?}", n.attribute("entityID").unwrap_or(""))).collect();
                return Err(format!(
                    "the EntitiesDescriptor holds {} identity providers ({}); pass the EntityDescriptor of one",
                    many.len(),
                    ids.join(", ")
                ));
            }
        }
    } else {
        let tag = root.tag_name();
        return Err(format!(
            "the root element is {{{}}}{}; expected an EntityDescriptor or EntitiesDescriptor in the namespace {MD_NS}",
            tag.namespace().unwrap_or(""),
            tag.name()
        ));
    };
    let entity_id = entity
        .attribute("entityID")
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or("the EntityDescriptor has no entityID attribute")?
        .to_string();
    let idp = idp_descriptor(entity)
        .ok_or_else(|| format!("the EntityDescriptor {entity_id:?} has no IDPSSODescriptor: it does not describe an identity provider"))?;

    let mut sso_urls = BTreeMap::new();
    for (i, sso) in idp.children().filter(|n| n.has_tag_name((MD_NS, "SingleSignOnService"))).enumerate() {
        let attr = |name: &str| sso.attribute(name).map(str::trim).filter(|v| !v.is_empty());
        let binding = attr("Binding").ok_or_else(|| format!("SingleSignOnService {} has no Binding attribute", i + 1))?;
        let location = attr("Location").ok_or_else(|| format!("SingleSignOnService {} ({binding}) has no Location attribute", i + 1))?;
        sso_urls.entry(binding.to_string()).or_insert_with(|| location.to_string());
    }
    if sso_urls.is_empty() {
        return Err("the IDPSSODescriptor has no SingleSignOnService".into());
    }

    let mut signing_certificates: Vec<SigningCertificate> = Vec::new();
    let key_descriptors = idp
        .children()
        .filter(|n| n.has_tag_name((MD_NS, "KeyDescriptor")))
        .filter(|n| n.attribute("use").is_none_or(|u| u.trim() == "signing"));
    let mut index = 0;
    for kd in key_descriptors {
        let certs = ds_children(kd, "KeyInfo").flat_map(|k| ds_children(k, "X509Data")).flat_map(|d| ds_children(d, "X509Certificate"));
        for cert in certs {
            index += 1;
            let b64: String = cert
                .descendants()
                .filter_map(|n| if n.is_text() { n.text() } else { None })
                .flat_map(str::chars)
                .filter(|c| !c.is_whitespace())
                .collect();
            let parsed = certificate(&b64).map_err(|why| format!("signing certificate {index} of the IDPSSODescriptor {why}"))?;
            if !signing_certificates.iter().any(|c| c.pem == parsed.pem) {
                signing_certificates.push(parsed);
            }
        }
    }
    Ok(SamlMetadata { entity_id, sso_urls, signing_certificates })
}

/// The `IDPSSODescriptor` of an `EntityDescriptor`.
fn idp_descriptor<'a, 'i>(entity: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    entity.children().find(|n| n.has_tag_name((MD_NS, "IDPSSODescriptor")))
}

fn ds_children<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |n| n.has_tag_name((DS_NS, name)))
}

/// Reads one `X509Certificate` (base64 DER, whitespace removed).
fn certificate(b64: &str) -> Result<SigningCertificate, String> {
    if b64.is_empty() {
        return Err("is empty".into());
    }
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let der = lenient.decode(b64).map_err(|e| format!("is not base64: {e}"))?;
    let (rest, cert) = x509_parser::parse_x509_certificate(&der).map_err(|e| format!("is not an X.509 certificate: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("has {} bytes after the X.509 certificate", rest.len()));
    }
    let not_after = cert.validity().not_after.timestamp();
    let not_after = chrono::DateTime::from_timestamp(not_after, 0)
        .ok_or_else(|| format!("has an expiry time out of range ({not_after} seconds since 1970)"))?
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let subject = cert
        .subject()
        .to_string_with_registry(x509_parser::objects::oid_registry())
        .map_err(|e| format!("has a subject that cannot be read: {e}"))?;
    let body = base64::engine::general_purpose::STANDARD.encode(&der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    Ok(SigningCertificate { pem, not_after, subject })
}

/// The function's return type.
fn return_type() -> Type {
    Type::object([
        ("entity_id", Type::String),
        ("sso_urls", Type::map(Type::String)),
        ("signing_certificates", Type::list(Type::object([("pem", Type::String), ("not_after", Type::String), ("subject", Type::String)]))),
    ])
}

impl SamlMetadata {
    /// The function's result.
    pub fn to_value(&self) -> Value {
        let certs = self
            .signing_certificates
            .iter()
            .map(|c| {
                Value::object_of(&[
                    ("pem", Value::string(&c.pem)),
                    ("not_after", Value::string(&c.not_after)),
                    ("subject", Value::string(&c.subject)),
                ])
            })
            .collect();
        Value::object_of(&[
            ("entity_id", Value::string(&self.entity_id)),
            ("sso_urls", Value::Map(self.sso_urls.iter().map(|(k, v)| (k.clone(), Value::string(v))).collect())),
            ("signing_certificates", Value::List(certs)),
        ])
    }
}

/// `provider::identity::saml_metadata(xml)`.
pub struct SamlMetadataFunction;

impl Function for SamlMetadataFunction {
    fn name(&self) -> &'static str {
        "saml_metadata"
    }

    fn signature(&self) -> Signature {
        Signature {
            parameters: vec![Parameter::new(
                "xml",
                Type::String,
                "The identity provider's SAML 2.0 metadata document (at most 1 MiB), e.g. from `file()` or the `http` data source.",
            )],
            variadic: None,
            returns: return_type(),
            summary: "The entity ID, single sign-on URLs and signing certificates of SAML 2.0 IdP metadata.",
            description: "Reads an identity provider's SAML 2.0 metadata document and returns an object with:\n\n\
                 - `entity_id`: the `entityID` of its `EntityDescriptor`;\n\
                 - `sso_urls`: the `Location` of each `SingleSignOnService`, by its `Binding` (e.g. \
                 `urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect`; the first one of each binding);\n\
                 - `signing_certificates`: the X.509 certificates of its `KeyDescriptor`s for signing \
                 (`use=\"signing\"` or no `use`), each as `pem`, its expiry `not_after` (RFC 3339, UTC, so that \
                 `timecmp()` can compare it) and its `subject`, in document order.\n\n\
                 The document is an `EntityDescriptor`, or an `EntitiesDescriptor` with exactly one identity \
                 provider in it. Malformed XML, a document over 1 MiB, a DTD, metadata without an \
                 `IDPSSODescriptor` or `SingleSignOnService`, and a certificate that is not base64 DER X.509 are \
                 errors that say what is wrong. Use it to check a document before `identity_idp` sends it to \
                 Run:ai in `saml.metadata_xml_file`, or to alert before a signing certificate expires."
                .to_string(),
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let xml = string_arg(args, 0, "xml")?;
        parse_metadata(&xml).map(|m| m.to_value()).map_err(|why| FunctionError::at(0, format!("invalid SAML metadata: {why}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::runai::{SAMPLE_SIGNING_CERTIFICATE, sample_metadata_xml};

    const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
    const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

    fn entity(id: &str, idp_body: &str) -> String {
        format!(
            r#"<EntityDescriptor xmlns="{MD_NS}" xmlns:ds="{DS_NS}" entityID="{id}"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{idp_body}</IDPSSODescriptor></EntityDescriptor>"#
        )
    }

    fn key(use_: Option<&str>, cert: &str) -> String {
        let attr = use_.map(|u| format!(r#" use="{u}""#)).unwrap_or_default();
        format!(
            "<KeyDescriptor{attr}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>"
        )
    }

    fn sso(binding: &str, location: &str) -> String {
        format!(r#"<SingleSignOnService Binding="{binding}" Location="{location}"/>"#)
    }

    fn err(xml: &str) -> String {
        let e = SamlMetadataFunction.call(&[Value::string(xml)]).expect_err("an error");
        assert_eq!(e.argument, Some(0), "{}", e.text);
        assert!(e.text.starts_with("invalid SAML metadata: "), "{}", e.text);
        e.text
    }

    #[test]
    fn the_sandbox_sample_is_read_in_full() {
        let m = parse_metadata(&sample_metadata_xml("https://idp.example.com/meta", "https://idp.example.com/sso")).expect("parse");
        assert_eq!(m.entity_id, "https://idp.example.com/meta");
        assert_eq!(m.sso_urls.get(REDIRECT).map(String::as_str), Some("https://idp.example.com/sso"));
        assert_eq!(m.sso_urls.get(POST).map(String::as_str), Some("https://idp.example.com/sso"));
        assert_eq!(m.sso_urls.len(), 2);
        let [c] = m.signing_certificates.as_slice() else { panic!("one certificate: {m:?}") };
        assert_eq!(c.not_after, "2126-10-29T15:11:39Z");
        assert_eq!(c.subject, "CN=idp.sandbox.test, O=identity-sandbox");
        assert!(c.pem.starts_with("-----BEGIN CERTIFICATE-----\nMIIDTzCCAjegAwIBAgIU"), "{}", c.pem);
        assert!(c.pem.ends_with("\n-----END CERTIFICATE-----\n"));
        let body: String = c.pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(body, SAMPLE_SIGNING_CERTIFICATE);
        assert!(c.pem.lines().all(|l| l.len() <= 64));
    }

    #[test]
    fn the_result_has_the_declared_type() {
        let m = parse_metadata(&sample_metadata_xml("https://idp.example.com/meta", "https://idp.example.com/sso")).expect("parse");
        let v = SamlMetadataFunction.call(&[Value::string(sample_metadata_xml("e", "https://x.example.com"))]).expect("call");
        crate::tfplugin::value::encode_msgpack(&v, &return_type()).expect("encodes with the return type");
        assert_eq!(m.to_value().get("entity_id").as_str(), Some("https://idp.example.com/meta"));
    }

    #[test]
    fn keys_for_signing_or_any_use_count_and_encryption_keys_do_not() {
        let body = [
            key(Some("encryption"), "bm90IGEgY2VydA=="),
            key(None, SAMPLE_SIGNING_CERTIFICATE),
            key(Some("signing"), SAMPLE_SIGNING_CERTIFICATE),
            sso(POST, "https://idp.example.com/post"),
            sso(POST, "https://idp.example.com/second-post"),
        ]
        .concat();
        let m = parse_metadata(&entity("e1", &body)).expect("parse");
        assert_eq!(m.signing_certificates.len(), 1, "the same certificate twice is listed once");
        assert_eq!(m.sso_urls.get(POST).map(String::as_str), Some("https://idp.example.com/post"), "the first of a binding");
        let m = parse_metadata(&entity("e1", &sso(REDIRECT, "https://idp.example.com/r"))).expect("no keys");
        assert!(m.signing_certificates.is_empty());
    }

    #[test]
    fn an_entities_descriptor_with_one_idp_is_accepted() {
        let sp = r#"<EntityDescriptor entityID="sp"><SPSSODescriptor protocolSupportEnumeration="x"/></EntityDescriptor>"#;
        let idp = entity("the-idp", &sso(REDIRECT, "https://idp.example.com/r"));
        let idp = idp.replace(&format!(r#" xmlns="{MD_NS}" xmlns:ds="{DS_NS}""#), "");
        let doc = format!(
            r#"<?xml version="1.0"?><md:EntitiesDescriptor xmlns:md="{MD_NS}" xmlns="{MD_NS}" xmlns:ds="{DS_NS}">{sp}<EntitiesDescriptor>{idp}</EntitiesDescriptor></md:EntitiesDescriptor>"#
        );
        assert_eq!(parse_metadata(&doc).expect("parse").entity_id, "the-idp");
        let two = doc.replace(sp, &idp.replace("the-idp", "other-idp"));
        let e = err(&two);
        assert!(e.contains("holds 2 identity providers") && e.contains("\"other-idp\""), "{e}");
        let none = format!(r#"<EntitiesDescriptor xmlns="{MD_NS}">{sp}</EntitiesDescriptor>"#);
        assert!(err(&none).contains("no EntityDescriptor with an IDPSSODescriptor"));
    }

    #[test]
    fn every_error_says_what_is_wrong() {
        let ok_sso = sso(REDIRECT, "https://idp.example.com/r");
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut der = b64.decode(SAMPLE_SIGNING_CERTIFICATE).expect("sample");
        der.extend([0, 0, 0]);
        let trailing = b64.encode(der);
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "the document is empty"),
            ("<EntityDescriptor".into(), "not well-formed XML"),
            ("not xml at all".into(), "not well-formed XML"),
            (format!(r#"<!DOCTYPE x [<!ENTITY a "b">]><EntityDescriptor xmlns="{MD_NS}" entityID="e"/>"#), "has a DTD"),
            (r#"<EntityDescriptor entityID="e"/>"#.into(), "the root element is {}EntityDescriptor"),
            ("<html><body/></html>".into(), "the root element is {}html"),
            (format!(r#"<EntityDescriptor xmlns="{MD_NS}"><IDPSSODescriptor/></EntityDescriptor>"#), "no entityID"),
            (
                format!(r#"<EntityDescriptor xmlns="{MD_NS}" entityID="sp"><SPSSODescriptor/></EntityDescriptor>"#),
                "\"sp\" has no IDPSSODescriptor",
            ),
            (entity("e", ""), "no SingleSignOnService"),
            (entity("e", r#"<SingleSignOnService Location="https://x.example.com"/>"#), "SingleSignOnService 1 has no Binding"),
            (
                entity("e", &format!(r#"{ok_sso}<SingleSignOnService Binding="{POST}"/>"#)),
                "SingleSignOnService 2 (urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST) has no Location",
            ),
            (
                entity("e", &format!("{}{ok_sso}", key(Some("signing"), "!!!not base64!!!"))),
                "signing certificate 1 of the IDPSSODescriptor is not base64",
            ),
            (entity("e", &format!("{}{ok_sso}", key(None, "bm90IGEgY2VydA=="))), "is not an X.509 certificate"),
            (entity("e", &format!("{}{ok_sso}", key(None, ""))), "signing certificate 1 of the IDPSSODescriptor is empty"),
            (
                entity("e", &format!("{}{}{ok_sso}", key(None, SAMPLE_SIGNING_CERTIFICATE), key(None, &trailing))),
                "signing certificate 2 of the IDPSSODescriptor has 3 bytes after the X.509 certificate",
            ),
        ];
        for (xml, want) in cases {
            let e = err(&xml);
            assert!(e.contains(want), "{xml}\nwant {want:?} in: {e}");
        }
        let big = format!("{}<!-- {} -->", entity("e", &ok_sso), "x".repeat(MAX_METADATA_BYTES));
        assert!(err(&big).contains("at most 1048576 bytes (1 MiB)"));
    }
}
