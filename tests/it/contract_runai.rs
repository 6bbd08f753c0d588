//! The Run:ai contract test: every exchange the provider has with the sandbox over a whole
//! lifecycle (driven by the real terraform CLI), checked against Run:ai's own OpenAPI
//! document, `../shared/specs/runai-idps-openapi.md`.
//!
//! The document is assembled at test time, never copied: each ```json block of the
//! markdown file is a self-contained OpenAPI 3.0.3 document for one operation (the `##`
//! heading above it names the operation). Each operation is checked against its own block,
//! components included (same-named schemas of different blocks are compared and any
//! difference is reported, but never merged).
//!
//! Before use, each block goes through:
//! - the standard OpenAPI 3.0 to JSON Schema translation: `nullable: true` becomes
//!   `type: [<type>, "null"]` (and `null` joins an `enum`). It is not a patch: OpenAPI
//!   3.0 has no null type, JSON Schema has no `nullable`. Schemas are then read as JSON
//!   Schema draft 4, whose `$ref` (like OpenAPI 3.0's) ignores sibling keywords.
//! - the patches of the defects `specs/README.md` documents, and only those (each printed
//!   with where it applied; the test fails when a patch applies in other places than
//!   expected, which means the document changed and the patches need a review):
//!   1. `IdpCreationRequest.required` names `data`, which is no property: it becomes
//!      `["type"]` plus "exactly one of `samlData`, `oidcData`, `ocpData`", what the README
//!      says real requests carry.
//!   2. The URL `pattern`s are written with JavaScript delimiters (`"/^...$|^$/"`), which
//!      taken literally match nothing: the delimiters are stripped, leaving the intended
//!      rule. That rule must be the provider's plan-time rule (`url_rule::PATTERN`).
//!   3. `Mappers.required: ["alias"]` names no property: the `required` goes.
//!
//! What is checked, for every exchange the sandbox recorded (`--record-responses`):
//! - it maps to a documented path and method (`/runai` is the sandbox's prefix), with no
//!   query string (no operation declares query parameters);
//! - the request body: present, JSON and valid against the operation's `requestBody`
//!   schema when the operation has one (all of them are `required`), absent otherwise;
//! - the answer: its status is declared for the operation; a declared `content` means an
//!   `application/json` answer that is valid against the schema given (the single-idp GET
//!   declares `application/json` with no schema: any JSON); no declared `content` (PUT 200,
//!   DELETE 200, PUT mappers 202) means an empty body (0 bytes).
//!
//! Two checks go beyond the document, and say so in their messages: the single-idp GET
//! answers the list's item schema `Idp1` (the document gives that 200 no schema, but it is
//! the same read model), and an error body's `code` is the HTTP status.
//!
//! So that the test cannot pass vacuously, it requires a minimum number of exchanges, every
//! documented operation, and each of the statuses 200, 201, 202, 400, 401, 403, 404 and
//! 409 among them. 403 is the sandbox's real answer to a write with its read-only token.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::support::{Sandbox, Workspace, flat};

/// The vendor's document, next to the repository (`/work/shared/specs`).
const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/specs/runai-idps-openapi.md");
/// Where the sandbox serves Run:ai.
const PREFIX: &str = "/runai";
/// The statuses the lifecycle must produce.
const STATUSES: [u16; 8] = [200, 201, 202, 400, 401, 403, 404, 409];
/// Fewer exchanges than this means the lifecycle did not run as written.
const MIN_EXCHANGES: usize = 60;

// ---------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------

/// One documented operation and the (translated, patched) block that documents it.
struct Operation {
    method: String,
    /// e.g. `/api/v1/idps/{idp}`
    template: String,
    doc: Value,
}

impl Operation {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    fn op(&self) -> &Value {
        &self.doc["paths"][&self.template][self.method.to_lowercase()]
    }

    /// Follows a local `$ref` (`#/components/...`) within this operation's block.
    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
            Some(pointer) => self.doc.pointer(pointer).unwrap_or_else(|| panic!("{}: dangling $ref {pointer}", self.name())),
            None => v,
        }
    }

    fn matches(&self, path: &str) -> bool {
        let (t, p): (Vec<&str>, Vec<&str>) = (self.template.split('/').collect(), path.split('/').collect());
        t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| if t.starts_with('{') { !p.is_empty() } else { t == p })
    }
}

/// A validator for `schema` (a schema of `doc`, typically `{"$ref": ...}`): the schema
/// with the block's components beside it, so that its references resolve.
fn validator(doc: &Value, schema: &Value, what: &str) -> jsonschema::Validator {
    let mut root = match schema {
        Value::Object(m) => m.clone(),
        other => panic!("{what}: the schema is not an object: {other}"),
    };
    root.insert("components".into(), doc["components"].clone());
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&Value::Object(root))
        .unwrap_or_else(|e| panic!("{what}: the document's schema does not compile: {e}"))
}

/// Every error of `instance` against `v`, one line each.
fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance).map(|e| format!("at {:?}: {e}", e.instance_path().to_string())).collect()
}

/// The ```json blocks of the markdown file, each with its `## METHOD /path` heading.
fn blocks(markdown: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut heading = None;
    let mut body: Option<String> = None;
    for line in markdown.lines() {
        match &mut body {
            Some(text) if line.trim() == "```" => {
                let h: String = heading.clone().unwrap_or_else(|| panic!("a json block without a `## METHOD /path` heading"));
                let doc = serde_json::from_str(text).unwrap_or_else(|e| panic!("the block of {h:?} is not JSON: {e}"));
                out.push((h, doc));
                body = None;
            }
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
            None if line.trim() == "```json" => body = Some(String::new()),
            None => {
                if let Some(h) = line.strip_prefix("## ") {
                    heading = Some(h.trim().to_string());
                }
            }
        }
    }
    assert!(body.is_none(), "an unterminated json block in {SPEC}");
    out
}

/// Calls `f` on every schema object inside `v` (any depth), with its JSON pointer.
fn walk(v: &mut Value, at: &str, f: &mut dyn FnMut(&mut Map<String, Value>, &str)) {
    match v {
        Value::Object(m) => {
            f(m, at);
            for (k, child) in m.iter_mut() {
                walk(child, &format!("{at}/{k}"), f);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                walk(child, &format!("{at}/{i}"), f);
            }
        }
        _ => {}
    }
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema; returns the places changed.
fn translate_nullable(doc: &mut Value) -> Vec<String> {
    let mut changed = Vec::new();
    walk(doc, "", &mut |m, at| {
        if m.get("nullable") != Some(&Value::Bool(true)) {
            m.remove("nullable");
            return;
        }
        m.remove("nullable");
        match m.get("type").cloned() {
            Some(Value::String(t)) => {
                m.insert("type".into(), json!([t, "null"]));
            }
            _ => {
                let inner = Value::Object(std::mem::take(m));
                m.insert("anyOf".into(), json!([inner, {"type": "null"}]));
            }
        }
        if let Some(Value::Array(values)) = m.get_mut("enum") {
            values.push(Value::Null);
        }
        changed.push(at.to_string());
    });
    changed
}

/// One patch of a documented defect: what it repairs, where it is expected, and the edit
/// (which returns whether it applied to this schema).
struct Patch {
    what: &'static str,
    expected: usize,
    apply: fn(&mut Map<String, Value>, &str) -> bool,
}

const PATCHES: [Patch; 3] = [
    Patch {
        what: "IdpCreationRequest.required [\"type\",\"data\"] names no property `data`: [\"type\"] plus exactly one of samlData, oidcData, ocpData (specs/README.md)",
        expected: 2,
        apply: |m, at| {
            let defective = at.ends_with("/schemas/IdpCreationRequest")
                && m.get("required") == Some(&json!(["type", "data"]))
                && m.get("properties").is_some_and(|p| p.get("data").is_none());
            if defective {
                m.insert("required".into(), json!(["type"]));
                m.insert("oneOf".into(), json!([{"required": ["samlData"]}, {"required": ["oidcData"]}, {"required": ["ocpData"]}]));
            }
            defective
        },
    },
    Patch {
        what: "URL pattern written with JavaScript delimiters \"/.../\": the delimiters stripped (specs/README.md)",
        expected: 6,
        apply: |m, _| {
            let inner = match m.get("pattern") {
                Some(Value::String(p)) if p.len() > 2 && p.starts_with('/') && p.ends_with('/') => p[1..p.len() - 1].to_string(),
                _ => return false,
            };
            m.insert("pattern".into(), Value::String(inner));
            true
        },
    },
    Patch {
        what: "Mappers.required [\"alias\"] names no property `alias`: removed (specs/README.md)",
        expected: 5,
        apply: |m, at| {
            let defective = at.ends_with("/schemas/Mappers")
                && m.get("required") == Some(&json!(["alias"]))
                && m.get("properties").is_some_and(|p| p.get("alias").is_none());
            if defective {
                m.remove("required");
            }
            defective
        },
    },
];

/// The operations of the document, translated and patched, and what was done to them.
fn load() -> (Vec<Operation>, Vec<String>) {
    let markdown = std::fs::read_to_string(SPEC).unwrap_or_else(|e| {
        panic!(
            "cannot read Run:ai's OpenAPI document {SPEC}: {e}. The contract test needs it (it sits next to the repository, in ../shared)"
        )
    });
    let mut report = Vec::new();
    let mut ops = Vec::new();
    let mut schemas: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    for (heading, doc) in blocks(&markdown) {
        let version = doc["openapi"].as_str().unwrap_or_default();
        assert!(version.starts_with("3.0."), "{heading}: OpenAPI {version:?}, the test reads 3.0 documents");
        let paths = doc["paths"].as_object().unwrap_or_else(|| panic!("{heading}: no paths"));
        let found: Vec<(String, String)> = paths
            .iter()
            .flat_map(|(p, item)| {
                item.as_object().into_iter().flat_map(|m| m.keys()).filter(|k| *k != "parameters").map(|k| (k.to_uppercase(), p.clone()))
            })
            .collect();
        let [(method, template)] = found.as_slice() else {
            panic!("{heading}: expected one operation per block, found {found:?}");
        };
        assert_eq!(heading, format!("{method} {template}"), "the heading names the block's operation");
        for (name, schema) in doc["components"]["schemas"].as_object().into_iter().flatten() {
            schemas.entry(name.clone()).or_default().push((heading.clone(), schema.clone()));
        }
        ops.push(Operation { method: method.clone(), template: template.clone(), doc });
    }
    let mut seen = BTreeSet::new();
    for op in &ops {
        assert!(seen.insert(op.name()), "{} is documented twice", op.name());
    }
    for (name, defs) in &schemas {
        if defs.iter().any(|(_, d)| d != &defs[0].1) {
            let blocks: Vec<&str> = defs.iter().map(|(h, _)| h.as_str()).collect();
            report.push(format!("note: schema {name} differs between blocks ({blocks:?}); each operation uses its own block's"));
        }
    }

    let mut translated = 0;
    for op in &mut ops {
        translated += translate_nullable(&mut op.doc).len();
    }
    report.push(format!(
        "translation (OpenAPI 3.0 -> JSON Schema, not a patch): nullable: true -> type [t, \"null\"] in {translated} places"
    ));
    let mut stale = Vec::new();
    for (i, patch) in PATCHES.iter().enumerate() {
        let mut places = Vec::new();
        for op in &mut ops {
            let name = op.name();
            walk(&mut op.doc, "", &mut |m, at| {
                if (patch.apply)(m, at) {
                    places.push(format!("{name}: #{at}"));
                }
            });
        }
        report.push(format!("patch {}: {} -- applied in {} places:\n      {}", i + 1, patch.what, places.len(), places.join("\n      ")));
        if places.len() != patch.expected {
            stale.push(format!(
                "patch {} ({}) applied in {} places, expected {}: the document changed; review the patches",
                i + 1,
                patch.what,
                places.len(),
                patch.expected
            ));
        }
    }
    assert!(stale.is_empty(), "{}\n{}", stale.join("\n"), report.join("\n"));
    (ops, report)
}

#[test]
fn the_document_assembles_and_its_url_rule_is_the_providers() {
    let (ops, report) = load();
    println!("{}", report.join("\n"));
    let names: BTreeSet<String> = ops.iter().map(Operation::name).collect();
    let want = [
        "GET /api/v1/idps",
        "POST /api/v1/idps",
        "GET /api/v1/idps/{idp}",
        "PUT /api/v1/idps/{idp}",
        "DELETE /api/v1/idps/{idp}",
        "GET /api/v1/idps/{idp}/mappers",
        "PUT /api/v1/idps/{idp}/mappers",
    ];
    assert_eq!(names, want.iter().map(|s| s.to_string()).collect(), "the documented operations");
    // The provider refuses at plan time what Run:ai's rule refuses: the same rule.
    let post = ops.iter().find(|o| o.name() == "POST /api/v1/idps").expect("POST");
    for schema in [
        "OidcCreationData/properties/discoverDocumentUrl",
        "SamlCreationData/properties/metadataXmlUrl",
        "OcpCreationData/properties/idpBaseUrl",
    ] {
        let pattern = post.doc.pointer(&format!("/components/schemas/{schema}/pattern")).and_then(Value::as_str);
        assert_eq!(pattern, Some(identity_provider::vendors::runai::url_rule::PATTERN), "{schema}");
    }
    // The patched request schema: a data object is required, one only.
    let request = validator(&post.doc, &json!({"$ref": "#/components/schemas/IdpCreationRequest"}), "IdpCreationRequest");
    let oidc = json!({"clientId": "a", "clientSecret": "b", "discoverDocumentUrl": "https://idp.example.com"});
    assert!(request.is_valid(&json!({"type": "oidc", "oidcData": oidc})));
    assert!(!request.is_valid(&json!({"type": "oidc"})), "no data object");
    assert!(!request.is_valid(&json!({"type": "oidc", "oidcData": oidc, "ocpData": {"idpBaseUrl": "a.example.com", "clientSecret": "s"}})));
    for (url, ok) in [("https://idp.example.com/x", true), ("", true), ("https://10.1.2.3/x", false), ("http://localhost:8080/x", false)] {
        let body = json!({"type": "oidc", "oidcData": {"clientId": "a", "clientSecret": "b", "discoverDocumentUrl": url}});
        assert_eq!(request.is_valid(&body), ok, "{url:?}");
    }
}

// ---------------------------------------------------------------------------------------
// The exchanges
// ---------------------------------------------------------------------------------------

/// The violations of one recorded exchange (`GET /_sandbox/requests` entry).
fn check_exchange(ops: &[Operation], idp1: &jsonschema::Validator, e: &Value) -> (Option<String>, Vec<String>) {
    let method = e["method"].as_str().unwrap_or_default();
    let full = e["path"].as_str().unwrap_or_default();
    let status = e["status"].as_u64().unwrap_or(0);
    let mut v = Vec::new();
    if e.get("fault").is_some() {
        v.push("an injected fault (this test injects none)".to_string());
    }
    let Some(path) = full.strip_prefix(PREFIX) else {
        return (None, vec![format!("not under {PREFIX}")]);
    };
    let Some(op) = ops.iter().find(|o| o.method == method && o.matches(path)) else {
        let why = if ops.iter().any(|o| o.matches(path)) { "the method is not documented for this path" } else { "no documented path" };
        return (None, vec![why.to_string()]);
    };
    let name = op.name();
    let declared = op.op();
    if let Some(query) = e["query"].as_str() {
        let params: Vec<&Value> = declared["parameters"].as_array().into_iter().flatten().map(|p| op.resolve(p)).collect();
        if !params.iter().any(|p| p["in"] == "query") {
            v.push(format!("query {query:?}, but the operation declares no query parameter"));
        }
    }

    // The request.
    let body_bytes =
        e["body_bytes"].as_u64().unwrap_or_else(|| panic!("no body_bytes: was the sandbox started with --record-responses? {e}"));
    match declared.get("requestBody").map(|b| op.resolve(b)) {
        Some(rb) => match (&e["body"], body_bytes) {
            (_, 0) if rb["required"] == true => v.push("no request body, but the operation requires one".into()),
            (Value::Null, n) if n > 0 => v.push("a request body that is not JSON".into()),
            (body, _) => match rb.pointer("/content/application~1json/schema") {
                Some(schema) => v.extend(errors(&validator(&op.doc, schema, &name), body).into_iter().map(|m| format!("request body {m}"))),
                None => v.push("the operation's requestBody has no application/json schema".into()),
            },
        },
        None if body_bytes > 0 => v.push(format!("a request body of {body_bytes} bytes, but the operation takes none")),
        None => {}
    }

    // The answer.
    let resp = &e["response"];
    let (bytes, ctype, body) = (resp["bytes"].as_u64().unwrap_or(0), resp["content_type"].as_str().unwrap_or(""), &resp["body"]);
    let responses = &declared["responses"];
    let Some(declared_resp) = responses.get(status.to_string()).or_else(|| responses.get("default")).map(|r| op.resolve(r)) else {
        let known: Vec<&String> = responses.as_object().into_iter().flat_map(|m| m.keys()).collect();
        v.push(format!("status {status} is not declared (declared: {known:?})"));
        return (Some(name), v);
    };
    match declared_resp.get("content") {
        None if bytes > 0 => v.push(format!("a {bytes}-byte answer body, but {status} declares no content (it must be empty)")),
        None => {}
        Some(content) => match content.get("application/json") {
            None => v.push(format!("{status} declares no application/json content: {content}")),
            Some(media) => {
                if !ctype.starts_with("application/json") {
                    v.push(format!("answer Content-Type {ctype:?}, declared application/json"));
                }
                if body.is_null() {
                    v.push(format!("the answer ({bytes} bytes) is not JSON"));
                } else if let Some(schema) = media.get("schema") {
                    v.extend(errors(&validator(&op.doc, schema, &name), body).into_iter().map(|m| format!("answer {m}")));
                }
            }
        },
    }
    // Beyond the document.
    if name == "GET /api/v1/idps/{idp}" && status == 200 {
        v.extend(errors(idp1, body).into_iter().map(|m| format!("answer, against Idp1 (beyond the document: its 200 has no schema) {m}")));
    }
    if status >= 400 && body.get("code").and_then(Value::as_u64) != Some(status) {
        v.push(format!("error code {} is not the HTTP status (beyond the document)", body["code"]));
    }
    (Some(name), v)
}

/// A recorded exchange as `GET /_sandbox/requests` gives it (`--record-responses`).
fn exchange(method: &str, path: &str, status: u16, body: Option<Value>, response: Option<Value>) -> Value {
    let body_bytes = body.as_ref().map_or(0, |b| b.to_string().len());
    let (content_type, bytes) = match &response {
        Some(r) => (json!("application/json"), r.to_string().len()),
        None => (Value::Null, 0),
    };
    json!({
        "method": method, "path": path, "query": null, "status": status, "body": body, "body_bytes": body_bytes,
        "response": {"content_type": content_type, "bytes": bytes, "body": response}
    })
}

/// The checks find what they are for: each exchange of the table breaks the document in
/// one way (and the first ones in none).
#[test]
fn the_checks_find_each_kind_of_violation() {
    let (ops, _) = load();
    let list = ops.iter().find(|o| o.name() == "GET /api/v1/idps").expect("the list operation");
    let idp1 = validator(&list.doc, &json!({"$ref": "#/components/schemas/Idp1"}), "Idp1");
    let oidc =
        json!({"type": "oidc", "oidcData": {"clientId": "a", "clientSecret": "***", "discoverDocumentUrl": "https://idp.example.com"}});
    let read = json!({"alias": "oidc", "type": "oidc", "redirectUri": "https://r", "mappers": {"uid": "UID"},
        "oidcData": {"clientId": "a", "clientSecret": "********", "discoverDocumentUrl": "https://idp.example.com"}});
    let error = |code: u16| json!({"code": code, "message": "m"});
    let mut with_query = exchange("GET", "/runai/api/v1/idps", 200, None, Some(json!([])));
    with_query["query"] = json!("limit=5");
    let mut text_answer = exchange("GET", "/runai/api/v1/idps", 200, None, Some(json!([])));
    text_answer["response"]["content_type"] = json!("text/plain");
    let table: Vec<(Value, &str)> = vec![
        (exchange("POST", "/runai/api/v1/idps", 201, Some(oidc.clone()), Some(json!({"alias": "oidc"}))), ""),
        (exchange("GET", "/runai/api/v1/idps", 200, None, Some(json!([read.clone()]))), ""),
        (exchange("PUT", "/runai/api/v1/idps/oidc/mappers", 202, Some(json!({"uid": ""})), None), ""),
        (exchange("DELETE", "/runai/api/v1/idps/oidc", 404, None, Some(error(404))), ""),
        (exchange("GET", "/runai/api/v1/other", 200, None, Some(json!([]))), "no documented path"),
        (exchange("PATCH", "/runai/api/v1/idps/oidc", 200, None, None), "the method is not documented"),
        (with_query, "declares no query parameter"),
        (exchange("POST", "/runai/api/v1/idps", 400, None, Some(error(400))), "no request body, but the operation requires one"),
        (exchange("GET", "/runai/api/v1/idps/oidc", 200, Some(json!({})), Some(read.clone())), "the operation takes none"),
        (
            exchange(
                "POST",
                "/runai/api/v1/idps",
                201,
                Some(json!({"type": "oidc", "oidcData": {"clientId": "a", "discoverDocumentUrl": "https://10.1.2.3"}})),
                Some(json!({"alias": "oidc"})),
            ),
            "request body at \"/oidcData\"",
        ),
        (
            exchange("POST", "/runai/api/v1/idps", 201, Some(json!({"type": "oidc"})), Some(json!({"alias": "oidc"}))),
            "request body at \"\"",
        ),
        (
            exchange("PUT", "/runai/api/v1/idps/oidc/mappers", 404, Some(json!({"uid": "sub"})), Some(error(404))),
            "status 404 is not declared",
        ),
        (exchange("PUT", "/runai/api/v1/idps/oidc", 200, Some(oidc.clone()), Some(json!({}))), "declares no content (it must be empty)"),
        (exchange("GET", "/runai/api/v1/idps", 200, None, Some(json!([{"alias": "oidc", "type": "oidc"}]))), "answer at \"/0\""),
        (text_answer, "answer Content-Type \"text/plain\""),
        (
            exchange("GET", "/runai/api/v1/idps/oidc", 200, None, Some(json!({"alias": "Not An Alias"}))),
            "against Idp1 (beyond the document",
        ),
        (exchange("GET", "/runai/api/v1/idps/oidc", 404, None, Some(error(400))), "is not the HTTP status (beyond the document)"),
        (exchange("GET", "/runai/api/v1/idps/oidc/mappers", 500, None, Some(json!({"message": "m"}))), "answer at \"\""),
    ];
    let mut wrong = Vec::new();
    for (e, want) in &table {
        let (_, found) = check_exchange(&ops, &idp1, e);
        let ok = if want.is_empty() { found.is_empty() } else { found.iter().any(|f| f.contains(want)) };
        if !ok {
            wrong.push(format!("{} {} -> {}: want {want:?}, found {found:#?}", e["method"], e["path"], e["status"]));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn port_of(url: &str) -> &str {
    url.rsplit(':').next().unwrap_or_default()
}

fn oidc_hcl(name: &str, scopes: &str, version: u32) -> String {
    format!(
        r#"resource "identity_idp" "oidc" {{
  name = "{name}"
  type = "oidc"
  oidc = {{
    client_id                = "terraform"
    client_secret_wo         = "oidc-s3cret"
    client_secret_wo_version = {version}
    discover_document_url    = "https://idp.example.com/.well-known/openid-configuration"
    scopes                   = [{scopes}]
    mandatory_claim = {{
      claim  = "groups"
      values = ["admins", "ops"]
    }}
  }}
}}
"#
    )
}

/// The workspace's configuration: one idp of each kind, inline mappers on the OpenShift
/// one, and (when `mappers_uid` is given) `identity_idp_mappers` on the OIDC one.
fn lifecycle_hcl(sb: &Sandbox, step: u32, mappers_uid: Option<&str>) -> String {
    // A name under .localhost reaches the sandbox itself and follows Run:ai's URL rule.
    let metadata = format!(
        "http://sandbox.localhost:{}/_sandbox/samples/saml-metadata.xml?entity_id=https://idp.example.com/saml-{step}",
        port_of(sb.url())
    );
    let (scopes, ocp_scopes, file_name, ocp_uid) = match step {
        1 => (r#""openid", "email""#, r#""user:info""#, "idp.xml", "sub"),
        _ => (r#""openid", "email", "profile""#, r#""user:info", "user:check-access""#, "renamed.xml", "preferred_username"),
    };
    let mappers = mappers_uid
        .map(|uid| {
            format!(
                r#"resource "identity_idp_mappers" "oidc" {{
  idp    = identity_idp.oidc.alias
  uid    = "{uid}"
  groups = "memberOf"
}}
"#
            )
        })
        .unwrap_or_default();
    format!(
        r#"{oidc}
resource "identity_idp" "saml_url" {{
  name = "corp-saml"
  type = "saml"
  saml = {{
    metadata_xml_url = "{metadata}"
  }}
}}

resource "identity_idp" "saml_file" {{
  name = "file-saml"
  type = "saml"
  saml = {{
    metadata_xml_file = file("${{path.module}}/idp-metadata.xml")
    file_name         = "{file_name}"
    entity_id         = "https://files.example.com/idp"
  }}
}}

resource "identity_idp" "ocp" {{
  name = "openshift"
  type = "openshift-v4"
  ocp = {{
    idp_base_url  = "https://api.cluster.example.com:6443"
    client_id     = "runai"
    client_secret = "ocp-s3cret"
    scopes        = [{ocp_scopes}]
  }}
  mappers = {{
    uid    = "{ocp_uid}"
    groups = "groups"
  }}
}}

{mappers}"#,
        oidc = oidc_hcl("corp-oidc", scopes, step)
    )
}

/// A workspace like `ws` whose Run:ai token is `token`.
fn with_token(ws: &Workspace, token: &str) -> Workspace {
    let mut other = ws.sibling();
    other.set_env("IDENTITY_RUNAI_TOKEN", token);
    other
}

/// The lifecycle of `acceptance_runai` and `acceptance_idp`, in one sandbox, with the
/// error cases; then every exchange against the document.
#[test]
fn every_exchange_of_the_lifecycle_follows_the_document() {
    let (ops, report) = load();
    println!("Run:ai's OpenAPI document, {} operations:\n  {}", ops.len(), report.join("\n  "));
    let list = ops.iter().find(|o| o.name() == "GET /api/v1/idps").expect("the list operation");
    let idp1 = validator(&list.doc, &json!({"$ref": "#/components/schemas/Idp1"}), "Idp1");

    let sb = Sandbox::start_with(&["--record-responses"]);
    let ws = Workspace::new(&sb);
    let (status, xml) = sb.http("GET", "/_sandbox/samples/saml-metadata.xml?entity_id=https://files.example.com/metadata", None);
    assert_eq!(status, 200, "{xml}");
    ws.write_file("idp-metadata.xml", xml.as_str().expect("the sample metadata is text"));

    // Create one idp of each kind (SAML by URL and by file), mappers inline and alone.
    ws.write_main(&lifecycle_hcl(&sb, 1, Some("sub")));
    ws.apply();
    assert_eq!(sb.runai_aliases(), ["corp-oidc", "corp-saml", "file-saml", "openshift"]);
    // Update every one of them in place.
    ws.write_main(&lifecycle_hcl(&sb, 2, Some("preferred_username")));
    for addr in ["identity_idp.oidc", "identity_idp.saml_url", "identity_idp.saml_file", "identity_idp.ocp", "identity_idp_mappers.oidc"] {
        assert_eq!(ws.resource_actions(addr), ["update"], "{addr}");
    }
    ws.apply();
    assert_eq!(sb.runai_idp("corp-oidc").expect("stored")["mappers"]["uid"], "preferred_username");

    // Import (and an import of nothing: 404).
    let fresh = ws.sibling();
    fresh.write_file("idp-metadata.xml", xml.as_str().unwrap_or_default());
    fresh.write_main(&lifecycle_hcl(&sb, 2, Some("preferred_username")));
    fresh.import("identity_idp.oidc", "corp-oidc");
    fresh.import("identity_idp_mappers.oidc", "corp-oidc");
    let err = flat(&fresh.import_expect_err("identity_idp.ocp", "no-such-idp"));
    assert!(err.contains("Cannot import non-existent remote object"), "{err}");

    // The data sources (and one of an idp that does not exist: 404).
    let ds = ws.sibling();
    ds.write_main(
        r#"data "identity_idps" "all" {}
data "identity_idp" "oidc" {
  alias = "corp-oidc"
}
data "identity_idp_mappers" "oidc" {
  idp = "corp-oidc"
}
output "aliases" { value = [for i in data.identity_idps.all.idps : i.alias] }
output "uid" { value = data.identity_idp_mappers.oidc.uid }"#,
    );
    ds.apply();
    let out = ds.outputs_json();
    assert_eq!(out["aliases"]["value"], json!(["corp-oidc", "corp-saml", "file-saml", "openshift"]));
    assert_eq!(out["uid"]["value"], "preferred_username");
    ds.write_main("data \"identity_idp\" \"gone\" {\n  alias = \"no-such-idp\"\n}\n");
    let err = ds.plan_expect_err(&[]);
    assert!(err.contains("no-such-idp"), "{err}");

    // The mappers resource goes: its destroy resets the mappers.
    ws.write_main(&lifecycle_hcl(&sb, 2, None));
    ws.apply();
    assert_eq!(sb.runai_idp("corp-oidc").expect("stored")["mappers"]["uid"], "");

    // Deleted behind Terraform's back: the refresh reads 404, the apply creates it again.
    sb.runai_delete_idp("file-saml");
    assert_eq!(ws.resource_actions("identity_idp.saml_file"), ["create"]);
    ws.apply();

    // 409: the alias exists.
    let dup = ws.sibling();
    dup.write_main(&oidc_hcl("corp-oidc", r#""openid""#, 1));
    let err = dup.apply_expect_err();
    assert!(err.contains("already exists"), "{err}");
    // 400: a metadata document that is none, and a metadata URL the server may not fetch.
    let bad = ws.sibling();
    bad.write_main(
        r#"resource "identity_idp" "not_xml" {
  name = "bad-file"
  type = "saml"
  saml = {
    metadata_xml_file = "this is not SAML metadata"
  }
}

resource "identity_idp" "far" {
  name = "bad-url"
  type = "saml"
  saml = {
    metadata_xml_url = "https://metadata.example.com/idp.xml"
  }
}"#,
    );
    let err = bad.apply_expect_err();
    assert!(err.contains("samlData.metadataXmlFile") && err.contains("samlData.metadataXmlUrl"), "{err}");
    // 401: a token the server does not know; 403: its read-only token writing.
    for (token, want) in [("not-a-runai-token", "401"), ("sandbox-runai-readonly", "403")] {
        let other = with_token(&ws, token);
        other.write_main(&oidc_hcl(&format!("denied-{want}"), r#""openid""#, 1));
        let err = other.apply_expect_err();
        assert!(err.contains(want), "{token}: {err}");
    }

    ws.destroy();
    assert!(sb.runai_aliases().is_empty());

    // Every exchange against the document.
    let exchanges = sb.requests();
    let mut violations = Vec::new();
    let mut seen: BTreeMap<String, BTreeMap<u64, usize>> = BTreeMap::new();
    for (i, e) in exchanges.iter().enumerate() {
        let (op, wrong) = check_exchange(&ops, &idp1, e);
        let label = format!("#{i} {} {} -> {}", e["method"].as_str().unwrap_or("?"), e["path"].as_str().unwrap_or("?"), e["status"]);
        if let Some(op) = op {
            *seen.entry(op).or_default().entry(e["status"].as_u64().unwrap_or(0)).or_default() += 1;
        }
        violations.extend(wrong.into_iter().map(|w| format!("{label}: {w}")));
    }
    let summary: Vec<String> = seen.iter().map(|(op, by_status)| format!("{op}: {by_status:?}")).collect();
    println!("{} exchanges, by operation and status:\n  {}", exchanges.len(), summary.join("\n  "));
    assert!(
        violations.is_empty(),
        "{} of {} exchanges break Run:ai's document:\n{}\n--- exchanges by operation and status ---\n{}",
        violations.len(),
        exchanges.len(),
        violations.join("\n"),
        summary.join("\n")
    );

    // Not vacuous.
    assert!(exchanges.len() >= MIN_EXCHANGES, "only {} exchanges (at least {MIN_EXCHANGES} expected)", exchanges.len());
    let statuses: BTreeSet<u64> = seen.values().flat_map(|m| m.keys().copied()).collect();
    let missing: Vec<u16> = STATUSES.into_iter().filter(|s| !statuses.contains(&u64::from(*s))).collect();
    assert!(missing.is_empty(), "statuses never seen: {missing:?}; seen: {statuses:?}");
    let unexercised: Vec<String> = ops.iter().map(Operation::name).filter(|n| !seen.contains_key(n)).collect();
    assert!(unexercised.is_empty(), "operations never exercised: {unexercised:?}");
}
