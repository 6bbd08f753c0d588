//! Tests of Users: create, read (by id and ocid), defaults and email rules, validation
//! and uniqueness, PUT, DELETE.

use super::*;

#[tokio::test]
async fn create_user_answers_the_full_resource() {
    let sb = sandbox();
    let a = sb
        .scim(
            "POST",
            USERS,
            Some(json!({
                "schemas": [USER_SCHEMA],
                "name": {"givenName": "user", "familyName": "test"},
                "userName": "user@oracle.com",
                "externalId": "ext-1",
                "emails": [{"value": "User@Oracle.COM", "type": "work", "primary": true}]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.header(header::CONTENT_TYPE), Some("application/scim+json"));
    let u = &a.json;
    let id = id_of(u);
    assert!(is_hex32(&id), "{id}");
    assert!(is_ocid(u["ocid"].as_str().unwrap_or(""), "user"), "{}", u["ocid"]);
    assert_eq!(u["schemas"], json!([USER_SCHEMA, USER_EXTENSION, USER_STATE_EXTENSION]));
    assert_eq!(u["userName"], json!("user@oracle.com"));
    assert_eq!(u["name"], json!({"givenName": "user", "familyName": "test", "formatted": "user test"}));
    assert_eq!(u["displayName"], json!("user test"));
    assert_eq!(u["active"], json!(true));
    assert_eq!(u["externalId"], json!("ext-1"));
    assert_eq!(
        u["emails"],
        json!([
            {"value": "user@oracle.com", "type": "work", "primary": true, "secondary": false, "verified": false},
            {"value": "user@oracle.com", "type": "recovery", "primary": false, "secondary": false, "verified": false}
        ])
    );
    assert_eq!(u["groups"], json!([]));
    let location = format!("{BASE}{USERS}/{id}");
    assert_eq!(u["meta"]["resourceType"], json!("User"));
    assert_eq!(u["meta"]["location"], json!(location));
    assert_eq!(u["meta"]["created"], u["meta"]["lastModified"]);
    assert!(u["meta"]["created"].as_str().unwrap_or("").ends_with('Z'));
    let version = u["meta"]["version"].as_str().unwrap_or("");
    assert!(is_version(version), "{version}");
    assert_eq!(a.header(header::LOCATION), Some(location.as_str()));
    assert_eq!(a.header(header::ETAG), Some(version), "the ETag header is meta.version");
    assert_eq!(u[USER_EXTENSION]["isFederatedUser"], json!(false));
    assert!(u.get("password").is_none() && u.get("passwordChanges").is_none());

    // The same by id and by ocid.
    let by_id = sb.get(&format!("{USERS}/{id}")).await;
    let by_ocid = sb.get(&format!("{USERS}/{}", u["ocid"].as_str().unwrap_or(""))).await;
    assert_eq!(by_id, *u);
    assert_eq!(by_ocid, *u);
}

#[tokio::test]
async fn user_defaults_and_email_rules() {
    let sb = sandbox();
    // Explicit displayName, active false, a recovery email given: nothing appended.
    let a = sb
        .scim(
            "POST",
            USERS,
            Some(json!({
                "schemas": [USER_SCHEMA],
                "userName": "alice",
                "displayName": "Alice A.",
                "active": false,
                "emails": [
                    {"value": "A@X.io", "type": "work", "primary": true},
                    {"value": "Rec@X.io", "type": "recovery"}
                ]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.json["displayName"], json!("Alice A."));
    assert_eq!(a.json["active"], json!(false));
    assert_eq!(
        a.json["emails"],
        json!([
            {"value": "a@x.io", "type": "work", "primary": true, "secondary": false, "verified": false},
            {"value": "rec@x.io", "type": "recovery", "secondary": false, "verified": false}
        ])
    );
    assert!(a.json.get("name").is_none());

    // No primary email: no recovery copy. No name: displayName falls back to userName.
    let a = sb
        .scim(
            "POST",
            USERS,
            Some(json!({
                "schemas": [USER_SCHEMA],
                "userName": "bob",
                "emails": [{"value": "Bob@X.io", "type": "home"}]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.json["displayName"], json!("bob"));
    assert_eq!(a.json["emails"].as_array().map(Vec::len), Some(1));
    assert_eq!(a.json["emails"][0]["value"], json!("bob@x.io"));
    assert!(a.json.get("externalId").is_none());

    // Only a given name.
    let a = sb.scim("POST", USERS, Some(json!({"schemas": [USER_SCHEMA], "userName": "carol", "name": {"givenName": "Carol"}}))).await;
    assert_eq!(a.json["displayName"], json!("Carol"));
    assert_eq!(a.json["name"]["formatted"], json!("Carol"));
}

#[tokio::test]
async fn user_validation_and_uniqueness() {
    let sb = sandbox();
    sb.create_user("Dup@Example.com").await;
    let a = sb.scim("POST", USERS, Some(user_body("dup@example.COM", "a", "b"))).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));
    assert!(detail(&a).contains("dup@example.COM"), "{}", a.raw);

    let a = sb.scim("POST", USERS, Some(json!({"schemas": [USER_SCHEMA], "name": {"givenName": "x"}}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(detail(&a).contains("userName"));
    let a = sb.scim("POST", USERS, Some(json!({"schemas": [USER_SCHEMA], "userName": "  "}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb.scim("POST", USERS, Some(json!({"userName": "noschemas"}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let a = sb.scim("POST", USERS, Some(json!({"schemas": [GROUP_SCHEMA], "userName": "wrong"}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let a = sb.scim("POST", USERS, Some(json!({"schemas": [USER_SCHEMA], "userName": "x", "active": "yes"}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(detail(&a).contains("active"));
    let a = sb.scim("POST", USERS, Some(json!({"schemas": [USER_SCHEMA], "userName": "x", "emails": [{"type": "work"}]}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb
        .scim(
            "POST",
            USERS,
            Some(json!({"schemas": [USER_SCHEMA], "userName": "x", "emails": [
                {"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}
            ]})),
        )
        .await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));

    // Malformed bodies.
    let token = format!("Bearer {STATIC}");
    for body in ["", "{not json", "[1,2]"] {
        let a = sb.send("POST", USERS, Some(&token), Some("application/json"), Some(body)).await;
        assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    }
    // Plain application/json is accepted.
    let a = sb.send("POST", USERS, Some(&token), Some("application/json"), Some(&user_body("json", "a", "b").to_string())).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(sb.state.snapshot().await["oci"]["users"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn unknown_user_is_404_naming_it() {
    let sb = sandbox();
    for method in ["GET", "PUT", "PATCH", "DELETE"] {
        let body = match method {
            "PUT" => Some(user_body("x", "a", "b")),
            "PATCH" => Some(json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [
                {"op": "replace", "path": "active", "value": false}
            ]})),
            _ => None,
        };
        let a = sb.scim(method, &format!("{USERS}/ghost42"), body).await;
        assert_scim_error(&a, StatusCode::NOT_FOUND, None);
        assert!(detail(&a).contains("ghost42"), "{}", a.raw);
    }
}

#[tokio::test]
async fn put_replaces_a_user() {
    let sb = sandbox();
    let u = sb
        .scim(
            "POST",
            USERS,
            Some(json!({
                "schemas": [USER_SCHEMA], "userName": "pat", "externalId": "e1",
                "name": {"givenName": "Pat", "familyName": "One"},
                "emails": [{"value": "pat@x.io", "type": "work", "primary": true}]
            })),
        )
        .await
        .json;
    sb.create_user("other").await;
    let id = id_of(&u);
    let a = sb
        .scim(
            "PUT",
            &format!("{USERS}/{}", u["ocid"].as_str().unwrap_or("")),
            Some(json!({
                "schemas": [USER_SCHEMA], "id": "ignored", "userName": "Pat2",
                "name": {"givenName": "Pat", "familyName": "Two"}, "active": false
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let v = &a.json;
    assert_eq!(v["id"], json!(id));
    assert_eq!(v["ocid"], u["ocid"]);
    assert_eq!(v["meta"]["created"], u["meta"]["created"]);
    assert_ne!(v["meta"]["version"], u["meta"]["version"]);
    assert_eq!(v["userName"], json!("Pat2"));
    assert_eq!(v["displayName"], json!("Pat Two"));
    assert_eq!(v["active"], json!(false));
    assert!(v.get("externalId").is_none(), "PUT clears what it omits");
    assert!(v.get("emails").is_none());

    let a = sb.scim("PUT", &format!("{USERS}/{id}"), Some(user_body("OTHER", "a", "b"))).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));
    // Its own name (in another case) is fine.
    let a = sb.scim("PUT", &format!("{USERS}/{id}"), Some(user_body("pat2", "a", "b"))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
}

#[tokio::test]
async fn delete_user_leaves_every_group() {
    let sb = sandbox();
    let u1 = id_of(&sb.create_user("u1").await);
    let u2 = id_of(&sb.create_user("u2").await);
    let g1 = id_of(&sb.create_group("g1", &[&u1, &u2]).await);
    let g2 = id_of(&sb.create_group("g2", &[&u1]).await);
    let user = sb.get(&format!("{USERS}/{u1}")).await;
    let groups: Vec<&str> = user["groups"].as_array().expect("groups").iter().map(|g| g["value"].as_str().unwrap_or("")).collect();
    assert_eq!(groups, vec![g1.as_str(), g2.as_str()]);
    assert_eq!(user["groups"][0]["display"], json!("g1"));
    assert_eq!(user["groups"][0]["$ref"], json!(format!("{BASE}{GROUPS}/{g1}")));

    let a = sb.scim("DELETE", &format!("{USERS}/{u1}"), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(a.raw.is_empty());
    let a = sb.scim("GET", &format!("{USERS}/{u1}"), None).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
    let a = sb.scim("DELETE", &format!("{USERS}/{u1}"), None).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
    assert_eq!(member_ids(&sb.get(&format!("{GROUPS}/{g1}")).await), vec![u2]);
    assert_eq!(member_ids(&sb.get(&format!("{GROUPS}/{g2}")).await), Vec::<String>::new());
}
