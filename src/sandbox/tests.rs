//! In-process tests of the sandbox through the shared test client (the Run:ai API, stats,
//! request log, reset, the `--data` file), plus one over real TCP.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::test_client::{Answer, HOST, sandbox, sandbox_with};
use super::*;

const TOKEN: &str = DEFAULT_RUNAI_TOKEN;
const IDPS: &str = "/runai/api/v1/idps";

fn oidc_body(name: Option<&str>, secret: &str) -> Value {
    let mut b = json!({
        "type": "oidc",
        "oidcData": {
            "clientId": "runai-client",
            "clientSecret": secret,
            "discoverDocumentUrl": "https://idp.example.com/.well-known/openid-configuration"
        }
    });
    if let Some(n) = name {
        b["name"] = json!(n);
    }
    b
}

fn assert_error(a: &Answer, status: StatusCode) {
    assert_eq!(a.status, status, "body: {}", a.raw);
    assert_eq!(a.json["code"], json!(status.as_u16()), "body: {}", a.raw);
    assert!(a.json["message"].is_string(), "body: {}", a.raw);
}

#[tokio::test]
async fn unauthorized_without_or_with_wrong_token() {
    let sb = sandbox();
    let a = sb.bearer("GET", IDPS, None, None).await;
    assert_error(&a, StatusCode::UNAUTHORIZED);
    let a = sb.bearer("GET", IDPS, Some("nope"), None).await;
    assert_error(&a, StatusCode::UNAUTHORIZED);
    let body = oidc_body(None, "s").to_string();
    let a = sb.bearer("POST", IDPS, None, Some(&body)).await;
    assert_error(&a, StatusCode::UNAUTHORIZED);
    // Nothing was created.
    assert_eq!(sb.state.snapshot().await["runai"]["idps"], json!([]));
    let a = sb.runai("GET", IDPS, None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json, json!([]));
}

#[tokio::test]
async fn create_returns_alias_and_conflicts_on_duplicate() {
    let sb = sandbox();
    let a = sb.runai("POST", IDPS, Some(oidc_body(None, "s3cret"))).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.json, json!({"alias": "oidc"}));

    let a = sb.runai("POST", IDPS, Some(oidc_body(Some("corp-sso"), "s3cret"))).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.json, json!({"alias": "corp-sso"}));

    let a = sb.runai("POST", IDPS, Some(oidc_body(Some("corp-sso"), "other"))).await;
    assert_error(&a, StatusCode::CONFLICT);
    assert!(a.json["message"].as_str().unwrap_or("").contains("corp-sso"));

    let a = sb.runai("POST", IDPS, Some(oidc_body(None, "again"))).await;
    assert_error(&a, StatusCode::CONFLICT);

    // The list is sorted by alias.
    let a = sb.runai("GET", IDPS, None).await;
    let aliases: Vec<&str> = a.json.as_array().expect("array").iter().filter_map(|i| i["alias"].as_str()).collect();
    assert_eq!(aliases, ["corp-sso", "oidc"]);
}

#[tokio::test]
async fn unknown_idp_is_404_everywhere() {
    let sb = sandbox();
    let path = format!("{IDPS}/ghost");
    let a = sb.runai("GET", &path, None).await;
    assert_error(&a, StatusCode::NOT_FOUND);
    assert_eq!(a.json["message"], json!("idp \"ghost\" not found"));
    assert_error(&sb.runai("DELETE", &path, None).await, StatusCode::NOT_FOUND);
    assert_error(&sb.runai("PUT", &path, Some(oidc_body(None, "s"))).await, StatusCode::NOT_FOUND);
    let mappers = format!("{path}/mappers");
    assert_error(&sb.runai("GET", &mappers, None).await, StatusCode::NOT_FOUND);
    assert_error(&sb.runai("PUT", &mappers, Some(json!({"gid": "g"}))).await, StatusCode::NOT_FOUND);
    // Unknown route under the prefix, and a wrong method: JSON errors too.
    assert_error(&sb.runai("GET", "/runai/api/v1/nothing", None).await, StatusCode::NOT_FOUND);
    assert_error(&sb.runai("PATCH", IDPS, None).await, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn invalid_bodies_are_json_400s_naming_the_field() {
    let sb = sandbox();
    let bad_json = sb.bearer("POST", IDPS, Some(TOKEN), Some("{\"type\": \"oidc\",")).await;
    assert_error(&bad_json, StatusCode::BAD_REQUEST);
    let empty = sb.bearer("POST", IDPS, Some(TOKEN), None).await;
    assert_error(&empty, StatusCode::BAD_REQUEST);
    let not_object = sb.bearer("POST", IDPS, Some(TOKEN), Some("[1]")).await;
    assert_error(&not_object, StatusCode::BAD_REQUEST);

    let cases: Vec<(Value, &str)> = vec![
        (json!({"oidcData": {}}), "type"),
        (json!({"type": "ldap"}), "type"),
        (json!({"type": 7}), "type"),
        (json!({"type": "oidc"}), "oidcData"),
        (json!({"type": "oidc", "oidcData": "x"}), "oidcData"),
        (
            {
                let mut b = oidc_body(None, "s");
                b["samlData"] = json!({"metadataXmlUrl": "https://a.example.com/m"});
                b
            },
            "samlData",
        ),
        (
            {
                let mut b = oidc_body(None, "s");
                b["oidcData"]["scopes"] = json!(["openid", "bad scope!"]);
                b
            },
            "oidcData.scopes[1]",
        ),
        (
            {
                let mut b = oidc_body(None, "s");
                b["oidcData"]["scopes"] = json!("openid");
                b
            },
            "oidcData.scopes",
        ),
        (
            {
                let mut b = oidc_body(None, "s");
                b["oidcData"]["clientId"] = json!(42);
                b
            },
            "oidcData.clientId",
        ),
        (
            {
                let mut b = oidc_body(None, "s");
                b["oidcData"]["clientId"] = json!("");
                b
            },
            "oidcData.clientId",
        ),
        (
            {
                let mut b = oidc_body(None, "s");
                b["oidcData"].as_object_mut().map(|o| o.remove("clientSecret"));
                b
            },
            "oidcData.clientSecret",
        ),
        (oidc_body(None, ""), "oidcData.clientSecret"),
        (
            {
                let mut b = oidc_body(None, "s");
                b["oidcData"]["discoverDocumentUrl"] = json!("not a url");
                b
            },
            "oidcData.discoverDocumentUrl",
        ),
        (
            {
                let mut b = oidc_body(None, "s");
                b["oidcData"]["discoverDocumentUrl"] = json!("https://nodot/x");
                b
            },
            "oidcData.discoverDocumentUrl",
        ),
        (
            {
                let mut b = oidc_body(None, "s");
                b["oidcData"]["mandatoryClaim"] = json!({"claim": "123", "values": ["a"]});
                b
            },
            "oidcData.mandatoryClaim.claim",
        ),
        (
            {
                let mut b = oidc_body(None, "s");
                b["oidcData"]["mandatoryClaim"] = json!({"claim": "grp", "values": []});
                b
            },
            "oidcData.mandatoryClaim.values",
        ),
        (
            {
                let mut b = oidc_body(None, "s");
                b["oidcData"]["mandatoryClaim"] = json!({"claim": "grp", "values": ["a b"]});
                b
            },
            "oidcData.mandatoryClaim.values[0]",
        ),
        (
            {
                let mut b = oidc_body(None, "s");
                b["oidcData"]["mandatoryClaim"] = json!({"claim": "grp", "values": ["123"]});
                b
            },
            "oidcData.mandatoryClaim.values[0]",
        ),
        (oidc_body(Some("Upper"), "s"), "name"),
        (oidc_body(Some(""), "s"), "name"),
        (
            {
                let mut b = oidc_body(None, "s");
                b["mappers"] = json!({"gid": 5});
                b
            },
            "mappers.gid",
        ),
        (json!({"type": "openshift-v4", "ocpData": {"idpBaseUrl": "https://ocp.example.com"}}), "ocpData.clientSecret"),
        (json!({"type": "openshift-v4", "ocpData": {"clientSecret": "s"}}), "ocpData.idpBaseUrl"),
        (
            json!({"type": "openshift-v4", "ocpData": {"idpBaseUrl": "https://ocp.example.com", "clientSecret": "s", "clientId": ""}}),
            "ocpData.clientId",
        ),
        (json!({"type": "saml", "samlData": {}}), "samlData.metadataXmlUrl"),
        (
            json!({"type": "saml", "samlData": {"metadataXmlType": "ftp", "metadataXmlUrl": "https://a.example.com"}}),
            "samlData.metadataXmlType",
        ),
    ];
    for (body, field) in cases {
        let a = sb.runai("POST", IDPS, Some(body.clone())).await;
        assert_error(&a, StatusCode::BAD_REQUEST);
        assert_eq!(a.json["details"], json!(field), "body {body}: answer {}", a.raw);
        let message = a.json["message"].as_str().unwrap_or("");
        assert!(message == "Required parameter is missing" || message.contains(field), "message {message:?} should name {field}");
    }
    let missing = sb.runai("POST", IDPS, Some(oidc_body(None, ""))).await;
    assert_eq!(missing.json, json!({"code": 400, "message": "Required parameter is missing", "details": "oidcData.clientSecret"}));
    assert_eq!(sb.state.snapshot().await["runai"]["idps"], json!([]));
}

#[tokio::test]
async fn valid_edge_cases_are_accepted() {
    let sb = sandbox();
    let mut b = oidc_body(Some("loop"), "s");
    b["oidcData"]["discoverDocumentUrl"] = json!("http://127.0.0.1:9999/.well-known/openid-configuration");
    b["oidcData"]["scopes"] = json!(["openid", "profile email", "urn:x.y:read"]);
    b["oidcData"]["mandatoryClaim"] = json!({"claim": "groups", "values": ["admins", "ops-1"]});
    b["samlData"] = Value::Null; // null data of another type is "not given"
    let a = sb.runai("POST", IDPS, Some(b)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let a = sb.runai("GET", &format!("{IDPS}/loop"), None).await;
    assert_eq!(a.json["oidcData"]["scopes"], json!(["openid", "profile email", "urn:x.y:read"]));
    assert_eq!(a.json["oidcData"]["mandatoryClaim"], json!({"claim": "groups", "values": ["admins", "ops-1"]}));

    let mut b = oidc_body(Some("local"), "s");
    b["oidcData"]["discoverDocumentUrl"] = json!("localhost:8443");
    assert_eq!(sb.runai("POST", IDPS, Some(b)).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn get_masks_secret_and_omits_unset_fields() {
    let sb = sandbox();
    sb.runai("POST", IDPS, Some(oidc_body(Some("corp"), "s3cret"))).await;
    let a = sb.runai("GET", &format!("{IDPS}/corp"), None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.json,
        json!({
            "alias": "corp",
            "type": "oidc",
            "redirectUri": format!("http://{HOST}/runai/auth/realms/runai/broker/corp/endpoint"),
            "oidcData": {
                "clientId": "runai-client",
                "clientSecret": "********",
                "discoverDocumentUrl": "https://idp.example.com/.well-known/openid-configuration"
            },
            "mappers": {
                "gid": "GID", "uid": "UID", "groups": "GROUPS",
                "supplementaryGroups": "SUPPLEMENTARY_GROUPS", "email": "email"
            }
        })
    );
    let list = sb.runai("GET", IDPS, None).await;
    assert_eq!(list.json, json!([a.json]));
    // The server itself still holds the secret.
    let state = sb.state.snapshot().await;
    assert_eq!(state["runai"]["idps"][0]["oidcData"]["clientSecret"], json!("s3cret"));
}

#[tokio::test]
async fn ocp_and_saml_read_models() {
    let sb = sandbox();
    let a = sb
        .runai(
            "POST",
            IDPS,
            Some(json!({"type": "openshift-v4", "ocpData": {"idpBaseUrl": "https://ocp.example.com:6443", "clientSecret": "x", "scopes": ["user:full"]}})),
        )
        .await;
    assert_eq!(a.json, json!({"alias": "openshift-v4"}));
    let a = sb.runai("GET", &format!("{IDPS}/openshift-v4"), None).await;
    assert_eq!(
        a.json["ocpData"],
        json!({"idpBaseUrl": "https://ocp.example.com:6443", "clientSecret": "********", "scopes": ["user:full"]})
    );
    assert!(a.json.get("oidcData").is_none() && a.json.get("samlData").is_none());

    let a = sb
        .runai(
            "POST",
            IDPS,
            Some(json!({"type": "saml", "samlData": {"metadataXmlType": "file", "metadataXmlFile": runai::sample_metadata_xml("urn:from-metadata", "https://saml.example.com/sso"), "fileName": "idp.xml", "entityId": "urn:corp"}, "mappers": {"email": "mail"}})),
        )
        .await;
    assert_eq!(a.json, json!({"alias": "saml"}));
    let a = sb.runai("GET", &format!("{IDPS}/saml"), None).await;
    assert_eq!(
        a.json["samlData"],
        json!({
            "signingCertificate": runai::SAMPLE_SIGNING_CERTIFICATE,
            "singleSignOnServiceUrl": "https://saml.example.com/sso",
            "entityId": "urn:corp",
            "serviceProviderMetadataUrl": format!("http://{HOST}/runai/auth/realms/runai/broker/saml/endpoint/descriptor")
        })
    );
    assert_eq!(a.json["mappers"]["email"], json!("mail"));
    assert_eq!(a.json["mappers"]["gid"], json!("GID"));
}

#[tokio::test]
async fn put_replaces_and_never_wipes_the_secret() {
    let sb = sandbox();
    let mut create = oidc_body(Some("corp"), "s3cret");
    create["oidcData"]["scopes"] = json!(["openid"]);
    create["mappers"] = json!({"gid": "g", "uid": "u", "groups": "gr", "supplementaryGroups": "sg", "email": "e"});
    sb.runai("POST", IDPS, Some(create)).await;
    let path = format!("{IDPS}/corp");
    let before = sb.runai("GET", &path, None).await.json;

    // Missing or empty secret: 400 and nothing changes.
    let mut no_secret = oidc_body(None, "");
    no_secret["oidcData"]["clientId"] = json!("changed");
    let a = sb.runai("PUT", &path, Some(no_secret)).await;
    assert_eq!(a.json, json!({"code": 400, "message": "Required parameter is missing", "details": "oidcData.clientSecret"}));
    assert_eq!(sb.runai("GET", &path, None).await.json, before);
    assert_eq!(sb.state.snapshot().await["runai"]["idps"][0]["oidcData"]["clientSecret"], json!("s3cret"));

    // Type change and foreign name are refused.
    let a = sb
        .runai("PUT", &path, Some(json!({"type": "openshift-v4", "ocpData": {"idpBaseUrl": "https://o.example.com", "clientSecret": "x"}})))
        .await;
    assert_error(&a, StatusCode::BAD_REQUEST);
    assert_eq!(a.json["details"], json!("type"));
    let a = sb.runai("PUT", &path, Some(oidc_body(Some("other"), "x"))).await;
    assert_error(&a, StatusCode::BAD_REQUEST);
    assert_eq!(a.json["details"], json!("name"));

    // Full replacement: scopes dropped, mappers kept (not sent), redirectUri stable.
    let mut update = oidc_body(Some("corp"), "n3w");
    update["oidcData"]["clientId"] = json!("new-client");
    let a = sb.bearer("PUT", &path, Some(TOKEN), Some(&update.to_string())).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let after = sb.runai("GET", &path, None).await.json;
    assert_eq!(after["oidcData"]["clientId"], json!("new-client"));
    assert!(after["oidcData"].get("scopes").is_none());
    assert_eq!(after["mappers"], before["mappers"]);
    assert_eq!(after["redirectUri"], before["redirectUri"]);
    assert_eq!(sb.state.snapshot().await["runai"]["idps"][0]["oidcData"]["clientSecret"], json!("n3w"));

    // Sending the mask back stores it literally: the trap a client must avoid.
    sb.runai("PUT", &path, Some(oidc_body(None, "********"))).await;
    assert_eq!(sb.state.snapshot().await["runai"]["idps"][0]["oidcData"]["clientSecret"], json!("********"));

    // Mappers in a PUT replace (missing fields take the defaults).
    let mut with_mappers = oidc_body(None, "x");
    with_mappers["mappers"] = json!({"email": "mail"});
    sb.runai("PUT", &path, Some(with_mappers)).await;
    let after = sb.runai("GET", &path, None).await.json;
    assert_eq!(after["mappers"]["email"], json!("mail"));
    assert_eq!(after["mappers"]["gid"], json!("GID"));

    // Delete.
    assert_eq!(sb.runai("DELETE", &path, None).await.status, StatusCode::OK);
    assert_error(&sb.runai("GET", &path, None).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn mapper_updates_are_accepted_then_visible_after_the_delay() {
    let sb = sandbox_with(SandboxConfig { mapper_delay_ms: 150, ..SandboxConfig::default() });
    sb.runai("POST", IDPS, Some(oidc_body(Some("corp"), "s"))).await;
    let mappers_path = format!("{IDPS}/corp/mappers");
    let a = sb.runai("GET", &mappers_path, None).await;
    assert_eq!(a.json["groups"], json!("GROUPS"));

    let a = sb
        .runai(
            "PUT",
            &mappers_path,
            Some(json!({"gid": "gidNumber", "uid": "uidNumber", "groups": "memberOf", "supplementaryGroups": "sg", "email": "mail"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.raw);
    // A partial follow-up builds on the accepted (not yet visible) values.
    let a = sb.runai("PUT", &mappers_path, Some(json!({"email": "upn"}))).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    // Wrong types are refused at once.
    let a = sb.runai("PUT", &mappers_path, Some(json!({"gid": ["x"]}))).await;
    assert_error(&a, StatusCode::BAD_REQUEST);
    assert_eq!(a.json["details"], json!("gid"));

    // Not visible yet.
    assert_eq!(sb.runai("GET", &mappers_path, None).await.json["groups"], json!("GROUPS"));
    assert_eq!(sb.runai("GET", &format!("{IDPS}/corp"), None).await.json["mappers"]["groups"], json!("GROUPS"));

    tokio::time::sleep(Duration::from_millis(400)).await;
    let expected = json!({"gid": "gidNumber", "uid": "uidNumber", "groups": "memberOf", "supplementaryGroups": "sg", "email": "upn"});
    assert_eq!(sb.runai("GET", &mappers_path, None).await.json, expected);
    assert_eq!(sb.runai("GET", &format!("{IDPS}/corp"), None).await.json["mappers"], expected);
    assert!(sb.state.snapshot().await["runai"]["idps"][0].get("pendingMappers").is_none());
}

#[tokio::test]
async fn mapper_updates_with_zero_delay_apply_at_once() {
    let sb = sandbox_with(SandboxConfig { mapper_delay_ms: 0, ..SandboxConfig::default() });
    sb.runai("POST", IDPS, Some(oidc_body(Some("corp"), "s"))).await;
    let path = format!("{IDPS}/corp/mappers");
    assert_eq!(sb.runai("PUT", &path, Some(json!({"uid": "sub"}))).await.status, StatusCode::ACCEPTED);
    assert_eq!(sb.runai("GET", &path, None).await.json["uid"], json!("sub"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_are_consistent() {
    let sb = std::sync::Arc::new(sandbox_with(SandboxConfig { mapper_delay_ms: 50, ..SandboxConfig::default() }));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let sb = sb.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("idp-{i:02}");
            let a = sb.runai("POST", IDPS, Some(oidc_body(Some(&name), "s"))).await;
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
            let path = format!("{IDPS}/{name}/mappers");
            let a = sb.runai("PUT", &path, Some(json!({"email": name}))).await;
            assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.raw);
            sb.runai("GET", IDPS, None).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task"), StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let list = sb.runai("GET", IDPS, None).await.json;
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 20);
    for (i, idp) in list.iter().enumerate() {
        let name = format!("idp-{i:02}");
        assert_eq!(idp["alias"], json!(name));
        assert_eq!(idp["mappers"]["email"], json!(name));
    }
    assert_eq!(sb.state.stats().total, 61);
}

#[tokio::test]
async fn stats_and_request_log() {
    let sb = sandbox();
    sb.bearer("GET", IDPS, None, None).await; // 401, counted
    sb.runai("POST", &format!("{IDPS}?dryRun=false"), Some(oidc_body(Some("corp"), "s3cret"))).await;
    sb.runai("GET", &format!("{IDPS}/corp"), None).await;
    sb.runai("GET", &format!("{IDPS}/ghost"), None).await; // 404, counted
    sb.runai("GET", "/runai/nowhere", None).await; // unmatched
    sb.bearer("GET", "/_sandbox/state", None, None).await; // control plane: not counted
    sb.bearer("GET", "/elsewhere", None, None).await; // no vendor prefix: not counted

    let stats = sb.bearer("GET", "/_sandbox/stats", None, None).await.json;
    assert_eq!(stats["total"], json!(5));
    assert_eq!(stats["by_vendor"], json!({"runai": 5}));
    assert_eq!(
        stats["by_route"],
        json!({
            "GET /runai/api/v1/idps": 1,
            "POST /runai/api/v1/idps": 1,
            "GET /runai/api/v1/idps/{idp}": 2,
            "GET <unmatched>": 1
        })
    );

    let log = sb.bearer("GET", "/_sandbox/requests", None, None).await.json;
    let log = log.as_array().expect("array");
    assert_eq!(log.len(), 5);
    assert_eq!(log[0], json!({"method": "GET", "path": IDPS, "query": null, "status": 401, "body": null}));
    assert_eq!(log[1]["method"], json!("POST"));
    assert_eq!(log[1]["query"], json!("dryRun=false"));
    assert_eq!(log[1]["status"], json!(201));
    assert_eq!(log[1]["body"]["oidcData"]["clientSecret"], json!("***"));
    assert_eq!(log[1]["body"]["oidcData"]["clientId"], json!("runai-client"));
    assert_eq!(log[3]["status"], json!(404));
    assert!(!log.iter().any(|e| e.to_string().contains("s3cret")));
}

#[tokio::test]
async fn record_responses_logs_whole_exchanges() {
    let sb = sandbox_with(SandboxConfig { record_responses: true, mapper_delay_ms: 0, ..SandboxConfig::default() });
    sb.runai("POST", IDPS, Some(oidc_body(Some("corp"), "s3cret"))).await;
    sb.runai("GET", &format!("{IDPS}/corp"), None).await;
    sb.runai("PUT", &format!("{IDPS}/corp/mappers"), Some(json!({"uid": "sub"}))).await;
    sb.runai("GET", &format!("{IDPS}/ghost"), None).await;

    let log = sb.bearer("GET", "/_sandbox/requests", None, None).await.json;
    let log = log.as_array().expect("array");
    assert_eq!(log.len(), 4);
    assert_eq!(log[0]["response"], json!({"content_type": "application/json", "bytes": 16, "body": {"alias": "corp"}}));
    assert!(log[0]["body_bytes"].as_u64().is_some_and(|n| n > 0), "{:#}", log[0]);
    assert_eq!(log[1]["body_bytes"], json!(0));
    assert_eq!(log[1]["response"]["body"]["oidcData"]["clientSecret"], json!("***"), "secrets masked in answers too");
    assert_eq!(log[2]["status"], json!(202));
    assert_eq!(log[2]["response"], json!({"content_type": null, "bytes": 0, "body": null}));
    assert_eq!(log[3]["response"]["body"], json!({"code": 404, "message": "idp \"ghost\" not found"}));
    assert!(!log.iter().any(|e| e.to_string().contains("s3cret")));

    // Off by default: no sizes, no answers.
    let plain = sandbox();
    plain.runai("GET", IDPS, None).await;
    let log = plain.bearer("GET", "/_sandbox/requests", None, None).await.json;
    assert_eq!(log[0].get("response"), None);
    assert_eq!(log[0].get("body_bytes"), None);
}

#[tokio::test]
async fn reset_clears_objects_stats_and_log() {
    let sb = sandbox();
    sb.runai("POST", IDPS, Some(oidc_body(None, "s"))).await;
    let a = sb.bearer("POST", "/_sandbox/reset", None, None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(sb.runai("GET", IDPS, None).await.json, json!([]));
    // Only the GET above remains.
    let stats = sb.bearer("GET", "/_sandbox/stats", None, None).await.json;
    assert_eq!(stats["total"], json!(1));
    let log = sb.bearer("GET", "/_sandbox/requests", None, None).await.json;
    assert_eq!(log.as_array().map(Vec::len), Some(1));
    // Every vendor is back to its seeds (each vendor's own tests check its seeds).
    assert_eq!(sb.bearer("GET", "/_sandbox/state", None, None).await.json["runai"], json!({"idps": []}));
}

#[tokio::test]
async fn data_file_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state.json");
    let config = SandboxConfig { data: Some(file.clone()), mapper_delay_ms: 60_000, ..SandboxConfig::default() };
    {
        let sb = sandbox_with(config.clone());
        sb.runai("POST", IDPS, Some(oidc_body(Some("corp"), "s3cret"))).await;
        sb.runai("POST", IDPS, Some(oidc_body(Some("gone"), "x"))).await;
        sb.runai("DELETE", &format!("{IDPS}/gone"), None).await;
        let a = sb.runai("PUT", &format!("{IDPS}/corp/mappers"), Some(json!({"uid": "sub"}))).await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
    }
    assert!(file.exists());
    assert!(!dir.path().join("state.json.tmp").exists());
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    assert_eq!(on_disk["runai"]["idps"].as_array().map(Vec::len), Some(1));

    // A new server on the same file has the same objects, secrets and pending changes.
    let sb = sandbox_with(config);
    let a = sb.runai("GET", &format!("{IDPS}/corp"), None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["mappers"]["uid"], json!("UID"));
    let state = sb.state.snapshot().await;
    assert_eq!(state["runai"]["idps"][0]["oidcData"]["clientSecret"], json!("s3cret"));
    assert_eq!(state["runai"]["idps"][0]["pendingMappers"][0]["mappers"]["uid"], json!("sub"));
    assert_error(&sb.runai("GET", &format!("{IDPS}/gone"), None).await, StatusCode::NOT_FOUND);

    // Reset persists too.
    sb.bearer("POST", "/_sandbox/reset", None, None).await;
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    assert_eq!(on_disk["runai"], json!({"idps": []}));
}

#[tokio::test]
async fn corrupt_data_file_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state.json");
    std::fs::write(&file, "{not json").expect("write");
    let err = AppState::new(SandboxConfig { data: Some(file), ..SandboxConfig::default() }).expect_err("must fail");
    assert!(format!("{err:#}").contains("cannot parse"));
}

#[tokio::test]
async fn over_tcp_with_spawn() {
    let sb = spawn(SandboxConfig::default()).await.expect("spawn");
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/api/v1/idps", sb.runai_url()))
        .bearer_auth(TOKEN)
        .json(&oidc_body(Some("tcp"), "s"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
    let got: Value =
        http.get(format!("{}/api/v1/idps/tcp", sb.runai_url())).bearer_auth(TOKEN).send().await.expect("send").json().await.expect("json");
    assert_eq!(got["redirectUri"], json!(format!("{}/runai/auth/realms/runai/broker/tcp/endpoint", sb.url)));
    assert_eq!(sb.state.stats().total, 2);
}
