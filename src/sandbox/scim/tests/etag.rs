//! Tests of versions and preconditions: `meta.version` and `ETag` are the same weak entity
//! tag, new at every change; `If-Match` (PUT, PATCH, DELETE, GET, Bulk `version`) answers
//! 412 when stale; `If-None-Match` answers 304 to a GET of the current version.

use super::*;

fn etag(a: &Answer) -> String {
    a.header(header::ETAG).unwrap_or_default().to_string()
}

fn version(v: &Value) -> String {
    v["meta"]["version"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn etag_header_is_meta_version() {
    let sb = sandbox();
    let created = sb.scim("POST", USERS, Some(user_body("eve", "Eve", "E"))).await;
    let v1 = version(&created.json);
    assert!(is_version(&v1), "{v1}");
    assert_eq!(etag(&created), v1);
    let path = format!("{USERS}/{}", id_of(&created.json));

    let read = sb.scim("GET", &path, None).await;
    assert_eq!((etag(&read), version(&read.json)), (v1.clone(), v1.clone()), "reads do not change the version");
    // A projection without meta still carries the ETag.
    let projected = sb.scim("GET", &format!("{path}?attributes=userName"), None).await;
    assert!(projected.json.get("meta").is_none());
    assert_eq!(etag(&projected), v1);

    // PATCH (204) answers the new version in ETag; PUT in both.
    let patched = sb.patch(&path, json!([{"op": "replace", "path": "title", "value": "Boss"}])).await;
    assert_eq!(patched.status, StatusCode::NO_CONTENT, "{}", patched.raw);
    let v2 = etag(&patched);
    assert!(is_version(&v2) && v2 != v1, "{v2}");
    assert_eq!(version(&sb.get(&path).await), v2);
    let put = sb.scim("PUT", &path, Some(user_body("eve", "Eve", "F"))).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.raw);
    assert_eq!(etag(&put), version(&put.json));
    assert_ne!(etag(&put), v2);

    // Groups too.
    let g = sb.scim("POST", GROUPS, Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "G"}))).await;
    assert!(is_version(&version(&g.json)));
    assert_eq!(etag(&g), version(&g.json));
}

#[tokio::test]
async fn if_match_guards_changes() {
    let sb = sandbox();
    let u = sb.create_user("ann").await;
    let path = format!("{USERS}/{}", id_of(&u));
    let v1 = version(&u);
    let stale = "W/\"00000000000000000000000000000000\"";
    let replace_title = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "path": "title", "value": "T"}]});

    // Stale: 412 with a SCIM error, nothing changed.
    for (method, body) in [("PATCH", Some(replace_title.clone())), ("PUT", Some(user_body("ann", "A", "B"))), ("DELETE", None)] {
        let a = sb.scim_with(method, &path, &[(header::IF_MATCH, stale)], body).await;
        assert_scim_error(&a, StatusCode::PRECONDITION_FAILED, None);
        assert!(detail(&a).contains(&v1), "{}", detail(&a));
    }
    let now = sb.get(&path).await;
    assert_eq!(version(&now), v1);
    assert!(now.get("title").is_none());

    // Current: applied. The weak tag, its strong form and a bare value all name it.
    let a = sb.scim_with("PATCH", &path, &[(header::IF_MATCH, &v1)], Some(replace_title.clone())).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    let v2 = etag(&a);
    // The old tag is stale now.
    let a = sb.scim_with("PATCH", &path, &[(header::IF_MATCH, &v1)], Some(replace_title.clone())).await;
    assert_scim_error(&a, StatusCode::PRECONDITION_FAILED, None);
    let bare2 = v2.trim_start_matches("W/").trim_matches('"').to_string();
    let a = sb.scim_with("PUT", &path, &[(header::IF_MATCH, &format!("\"{bare2}\""))], Some(user_body("ann", "A", "B"))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let v3 = etag(&a);
    let bare3 = v3.trim_start_matches("W/").trim_matches('"').to_string();
    let a = sb.scim_with("PATCH", &path, &[(header::IF_MATCH, &bare3)], Some(replace_title.clone())).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "a bare value (OCI's meta.version shape) names its tag: {}", a.raw);
    // A list naming the current one, and `*`.
    let v4 = etag(&a);
    let a = sb.scim_with("PATCH", &path, &[(header::IF_MATCH, &format!("{stale}, {v4}"))], Some(replace_title.clone())).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    let a = sb.scim_with("PATCH", &path, &[(header::IF_MATCH, "*")], Some(replace_title.clone())).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);

    // Errors the request has anyway come first: 404, 400, 409.
    let a = sb.scim_with("PATCH", &format!("{USERS}/nobody"), &[(header::IF_MATCH, stale)], Some(replace_title.clone())).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
    let a = sb.scim_with("PUT", &path, &[(header::IF_MATCH, stale)], Some(json!({"schemas": [USER_SCHEMA]}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    sb.create_user("taken").await;
    let a = sb.scim_with("PUT", &path, &[(header::IF_MATCH, stale)], Some(user_body("taken", "A", "B"))).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));

    // DELETE with the current version.
    let current = version(&sb.get(&path).await);
    let a = sb.scim_with("DELETE", &path, &[(header::IF_MATCH, &current)], None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);

    // Groups: PATCH of members with a stale version changes nothing.
    let member = id_of(&sb.create_user("m").await);
    let g = sb.create_group("G", &[]).await;
    let gpath = format!("{GROUPS}/{}", id_of(&g));
    let add = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "add", "path": "members", "value": [{"value": member}]}]});
    let a = sb.scim_with("PATCH", &gpath, &[(header::IF_MATCH, stale)], Some(add.clone())).await;
    assert_scim_error(&a, StatusCode::PRECONDITION_FAILED, None);
    assert!(members_of(&sb, &gpath).await.is_empty());
    let a = sb.scim_with("PATCH", &gpath, &[(header::IF_MATCH, &version(&g))], Some(add)).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    assert_eq!(members_of(&sb, &gpath).await, [member]);
    let a = sb.scim_with("DELETE", &gpath, &[(header::IF_MATCH, &version(&g))], None).await;
    assert_scim_error(&a, StatusCode::PRECONDITION_FAILED, None);
}

#[tokio::test]
async fn if_none_match_answers_304_to_a_current_read() {
    let sb = sandbox();
    let u = sb.create_user("nat").await;
    let path = format!("{USERS}/{}", id_of(&u));
    let v1 = version(&u);

    let a = sb.scim_with("GET", &path, &[(header::IF_NONE_MATCH, &v1)], None).await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED, "{}", a.raw);
    assert!(a.raw.is_empty());
    assert_eq!(etag(&a), v1);
    let a = sb.scim_with("GET", &path, &[(header::IF_NONE_MATCH, "*")], None).await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);

    // Another version: the resource.
    let a = sb.scim_with("GET", &path, &[(header::IF_NONE_MATCH, "W/\"0123\"")], None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["userName"], json!("nat"));

    // After a change the old tag no longer matches.
    sb.patch(&path, json!([{"op": "replace", "path": "nickName", "value": "N"}])).await;
    let a = sb.scim_with("GET", &path, &[(header::IF_NONE_MATCH, &v1)], None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["nickName"], json!("N"));

    // If-Match on a GET: 412 when stale. If-None-Match on a change: 412 when current.
    let a = sb.scim_with("GET", &path, &[(header::IF_MATCH, &v1)], None).await;
    assert_scim_error(&a, StatusCode::PRECONDITION_FAILED, None);
    let a = sb.scim_with("DELETE", &path, &[(header::IF_NONE_MATCH, "*")], None).await;
    assert_scim_error(&a, StatusCode::PRECONDITION_FAILED, None);

    // Groups, and a missing resource (404, not 304).
    let g = sb.create_group("G", &[]).await;
    let a = sb.scim_with("GET", &format!("{GROUPS}/{}", id_of(&g)), &[(header::IF_NONE_MATCH, &version(&g))], None).await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
    let a = sb.scim_with("GET", &format!("{GROUPS}/nothing"), &[(header::IF_NONE_MATCH, "*")], None).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
}

#[tokio::test]
async fn bulk_version_acts_as_if_match() {
    let sb = sandbox();
    let member = id_of(&sb.create_user("bm").await);
    let g1 = sb.create_group("B1", &[]).await;
    let g2 = sb.create_group("B2", &[]).await;
    let stale = "W/\"ffffffffffffffffffffffffffffffff\"";
    let add = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "add", "path": "members", "value": [{"value": member}]}]});
    let a = sb
        .scim(
            "POST",
            BULK,
            Some(json!({
                "schemas": [BULK_REQUEST_SCHEMA],
                "Operations": [
                    {"method": "PATCH", "path": format!("/Groups/{}", id_of(&g1)), "version": version(&g1), "data": add},
                    {"method": "PATCH", "path": format!("/Groups/{}", id_of(&g2)), "version": stale, "data": add},
                    {"method": "DELETE", "path": format!("/Groups/{}", id_of(&g2)), "version": stale},
                    {"method": "PUT", "path": format!("/Users/{member}"), "version": stale, "data": user_body("bm", "B", "M")},
                    {"method": "PATCH", "path": format!("/Groups/{}", id_of(&g2)), "version": 7, "data": add},
                ]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let ops = a.json["Operations"].as_array().expect("Operations");
    assert_eq!(ops[0]["status"], json!("204"));
    let new_version = ops[0]["version"].as_str().unwrap_or_default();
    assert!(is_version(new_version) && new_version != version(&g1), "{}", ops[0]);
    for (i, op) in ops.iter().enumerate().skip(1).take(3) {
        assert_eq!(op["status"], json!("412"), "operation {i}: {op}");
        assert_eq!(op["response"]["status"], json!("412"), "operation {i}: {op}");
        assert_eq!(op["response"]["schemas"], json!([ERROR_SCHEMA]));
        assert!(op["location"].as_str().is_some_and(|l| l.starts_with(BASE)), "operation {i}: {op}");
    }
    assert_eq!(ops[4]["status"], json!("400"), "{}", ops[4]);
    assert_eq!(members_of(&sb, &format!("{GROUPS}/{}", id_of(&g1))).await, std::slice::from_ref(&member));
    assert!(members_of(&sb, &format!("{GROUPS}/{}", id_of(&g2))).await.is_empty(), "stale operations changed nothing");
    assert_eq!(sb.get(&format!("{USERS}/{member}")).await["name"]["givenName"], json!("Given"));
    assert_eq!(version(&sb.get(&format!("{GROUPS}/{}", id_of(&g1))).await), new_version);
}
