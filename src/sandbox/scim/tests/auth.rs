//! Tests of the token endpoint and the bearer check: grants, OAuth2 errors, token
//! expiry, and the 401s of every SCIM route without a valid token.

use super::*;

#[tokio::test]
async fn token_grants() {
    let sb = sandbox();
    let auth = basic(DEFAULT_SCIM_CLIENT_ID, DEFAULT_SCIM_CLIENT_SECRET);
    let a = sb.token(Some(&auth), "grant_type=client_credentials&scope=urn%3Aopc%3Aidm%3A__myscopes__").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["token_type"], json!("Bearer"));
    assert_eq!(a.json["expires_in"], json!(3600));
    assert_eq!(a.json.as_object().map(|o| o.len()), Some(3), "{}", a.raw);
    assert_eq!(a.header(header::CACHE_CONTROL), Some("no-store"));
    let t1 = a.json["access_token"].as_str().expect("token").to_string();
    assert!(t1.len() >= 32);

    let form = format!(
        "grant_type=password&username={}&password={}&scope=urn%3Aopc%3Aidm%3A__myscopes__+offline_access",
        DEFAULT_SCIM_USERNAME,
        DEFAULT_SCIM_PASSWORD.replace('!', "%21")
    );
    let a = sb.token(Some(&auth), &form).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let t2 = a.json["access_token"].as_str().expect("token").to_string();
    assert_ne!(t1, t2, "tokens are random");

    for t in [&t1, &t2] {
        let a = sb.send("GET", USERS, Some(&format!("Bearer {t}")), None, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    }

    // Counted like any route.
    let stats = sb.state.stats();
    assert_eq!(stats.by_route.get("POST /oci/oauth2/v1/token"), Some(&2));
    assert_eq!(stats.by_vendor.get("oci"), Some(&4));
}

#[tokio::test]
async fn token_errors() {
    let sb = sandbox();
    let good = basic(DEFAULT_SCIM_CLIENT_ID, DEFAULT_SCIM_CLIENT_SECRET);
    let check = |a: &Answer, status: StatusCode, error: &str| {
        assert_eq!(a.status, status, "{}", a.raw);
        assert_eq!(a.json["error"], json!(error), "{}", a.raw);
        assert!(a.json["error_description"].is_string(), "{}", a.raw);
    };
    let form = "grant_type=client_credentials";

    let a = sb.token(None, form).await;
    check(&a, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(a.json["error_description"], json!("Client authentication failed."));
    assert!(a.header(header::WWW_AUTHENTICATE).is_some_and(|h| h.starts_with("Basic")));
    let a = sb.token(Some(&basic(DEFAULT_SCIM_CLIENT_ID, "wrong")), form).await;
    check(&a, StatusCode::UNAUTHORIZED, "invalid_client");
    let a = sb.token(Some("Basic !!!notbase64"), form).await;
    check(&a, StatusCode::UNAUTHORIZED, "invalid_client");
    let a = sb.token(Some(&format!("Bearer {STATIC}")), form).await;
    check(&a, StatusCode::UNAUTHORIZED, "invalid_client");

    let a = sb.token(Some(&good), "grant_type=password&username=admin&password=nope").await;
    check(&a, StatusCode::BAD_REQUEST, "invalid_grant");
    let a = sb.token(Some(&good), "grant_type=password&username=someone&password=Sandbox-Passw0rd%21").await;
    check(&a, StatusCode::BAD_REQUEST, "invalid_grant");
    let a = sb.token(Some(&good), "grant_type=password&username=admin").await;
    check(&a, StatusCode::BAD_REQUEST, "invalid_request");
    let a = sb.token(Some(&good), "grant_type=authorization_code&code=x").await;
    check(&a, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let a = sb.token(Some(&good), "scope=urn%3Aopc%3Aidm%3A__myscopes__").await;
    check(&a, StatusCode::BAD_REQUEST, "invalid_request");
    let a = sb.token(Some(&good), "").await;
    check(&a, StatusCode::BAD_REQUEST, "invalid_request");

    // A GET is not a token request.
    let a = sb.send("GET", TOKEN_PATH, Some(&good), None, None).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn tokens_expire_after_the_ttl() {
    let sb = sandbox_with(SandboxConfig { scim_token_ttl_secs: 1, ..SandboxConfig::default() });
    let a = sb.token(Some(&basic(DEFAULT_SCIM_CLIENT_ID, DEFAULT_SCIM_CLIENT_SECRET)), "grant_type=client_credentials").await;
    assert_eq!(a.json["expires_in"], json!(1));
    let token = a.json["access_token"].as_str().expect("token").to_string();
    let bearer = format!("Bearer {token}");
    let a = sb.send("GET", USERS, Some(&bearer), None, None).await;
    assert_eq!(a.status, StatusCode::OK);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let a = sb.send("GET", USERS, Some(&bearer), None, None).await;
    assert_scim_error(&a, StatusCode::UNAUTHORIZED, None);
    assert!(detail(&a).contains("expired"), "{}", a.raw);

    // A fresh token works; the static token never expires.
    let fresh = sb.client_token().await;
    let a = sb.send("GET", USERS, Some(&format!("Bearer {fresh}")), None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = sb.scim("GET", USERS, None).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn scim_needs_a_valid_bearer_token() {
    let sb = sandbox_with(SandboxConfig { scim_static_token: "my-static".into(), ..SandboxConfig::default() });
    for auth in [
        None,
        Some("Bearer nope".to_string()),
        Some("Bearer sandbox-scim-token".to_string()),
        Some(basic(DEFAULT_SCIM_CLIENT_ID, DEFAULT_SCIM_CLIENT_SECRET)),
        Some("Bearer ".to_string()),
    ] {
        for (method, path) in [
            ("GET", USERS.to_string()),
            ("POST", GROUPS.to_string()),
            ("GET", format!("{USERS}/x")),
            ("POST", BULK.to_string()),
            ("PUT", "/oci/admin/v1/UserPasswordChanger/x".to_string()),
            ("GET", "/oci/admin/v1/Nowhere".to_string()),
        ] {
            let a = sb.send(method, &path, auth.as_deref(), None, None).await;
            assert_scim_error(&a, StatusCode::UNAUTHORIZED, None);
            assert!(a.header(header::WWW_AUTHENTICATE).is_some());
        }
    }
    let a = sb.send("GET", USERS, Some("Bearer my-static"), None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = sb.send("GET", USERS, Some("bearer my-static"), None, None).await;
    assert_eq!(a.status, StatusCode::OK, "the scheme is case-insensitive");
}
