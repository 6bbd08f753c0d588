//! Tests of Groups: create with members and the Oracle extension, GET, PUT, DELETE.

use super::*;

#[tokio::test]
async fn create_group_with_members_and_extension() {
    let sb = sandbox();
    let u = sb.create_user("member1").await;
    let uid = id_of(&u);
    let a = sb
        .scim(
            "POST",
            GROUPS,
            Some(json!({
                "schemas": [GROUP_SCHEMA, GROUP_EXTENSION],
                "displayName": "Admins",
                "externalId": "123456",
                "members": [{"value": uid, "type": "User"}],
                GROUP_EXTENSION: {"description": "Example Description"}
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let g = &a.json;
    let gid = id_of(g);
    assert!(is_hex32(&gid));
    assert!(is_ocid(g["ocid"].as_str().unwrap_or(""), "group"), "{}", g["ocid"]);
    assert_eq!(g["schemas"], json!([GROUP_SCHEMA, GROUP_EXTENSION]));
    assert_eq!(g["displayName"], json!("Admins"));
    assert_eq!(g["externalId"], json!("123456"));
    assert_eq!(g[GROUP_EXTENSION], json!({"description": "Example Description"}));
    assert_eq!(
        g["members"],
        json!([{
            "value": uid, "type": "User", "display": "Given Family",
            "ocid": u["ocid"], "$ref": format!("{BASE}{USERS}/{uid}")
        }])
    );
    assert_eq!(g["meta"]["resourceType"], json!("Group"));
    assert_eq!(g["meta"]["location"], json!(format!("{BASE}{GROUPS}/{gid}")));
    assert_eq!(a.header(header::LOCATION), g["meta"]["location"].as_str());

    // Without the extension: core schema only; no members: an empty list.
    let plain = sb.create_group("Plain", &[]).await;
    assert_eq!(plain["schemas"], json!([GROUP_SCHEMA]));
    assert!(plain.get(GROUP_EXTENSION).is_none());
    assert_eq!(plain["members"], json!([]));

    // Member given by ocid is stored by id; duplicates collapse.
    let g2 = sb.create_group("ByOcid", &[u["ocid"].as_str().unwrap_or(""), uid.as_str()]).await;
    assert_eq!(member_ids(&g2), vec![uid.clone()]);

    // Errors.
    let a = sb
        .scim(
            "POST",
            GROUPS,
            Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "x", "members": [{"value": "nobody", "type": "User"}]})),
        )
        .await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(detail(&a).contains("nobody"));
    let a = sb
        .scim("POST", GROUPS, Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "y", "members": [{"value": uid, "type": "Group"}]})))
        .await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb.scim("POST", GROUPS, Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "admins"}))).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));
    let a = sb.scim("POST", GROUPS, Some(json!({"schemas": [GROUP_SCHEMA]}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb.scim("POST", GROUPS, Some(json!({"displayName": "noschemas"}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    assert_eq!(sb.state.snapshot().await["oci"]["groups"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn get_put_delete_group() {
    let sb = sandbox();
    let u1 = id_of(&sb.create_user("a1").await);
    let u2 = id_of(&sb.create_user("a2").await);
    let a = sb
        .scim(
            "POST",
            GROUPS,
            Some(json!({
                "schemas": [GROUP_SCHEMA, GROUP_EXTENSION], "displayName": "G",
                "members": [{"value": u1, "type": "User"}],
                GROUP_EXTENSION: {"description": "d"}
            })),
        )
        .await;
    let g = a.json;
    let gid = id_of(&g);
    let by_ocid = sb.get(&format!("{GROUPS}/{}", g["ocid"].as_str().unwrap_or(""))).await;
    assert_eq!(by_ocid, g);
    let lean = sb.get(&format!("{GROUPS}/{gid}?excludedAttributes=members")).await;
    assert!(lean.get("members").is_none());
    assert_eq!(lean["displayName"], json!("G"));
    let only = sb.get(&format!("{GROUPS}/{gid}?attributes=displayName")).await;
    assert_eq!(only, json!({"schemas": [GROUP_SCHEMA, GROUP_EXTENSION], "id": gid, "displayName": "G"}));
    let a = sb.scim("GET", &format!("{GROUPS}/nope"), None).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
    assert!(detail(&a).contains("nope"));

    // PUT replaces everything: members, and the extension when it is left out.
    let a = sb
        .scim(
            "PUT",
            &format!("{GROUPS}/{gid}"),
            Some(json!({
                "schemas": [GROUP_SCHEMA], "displayName": "G2",
                "members": [{"value": u2, "type": "User"}]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["schemas"], json!([GROUP_SCHEMA]));
    assert!(a.json.get(GROUP_EXTENSION).is_none());
    assert_eq!(member_ids(&a.json), vec![u2.clone()]);
    assert_eq!(a.json["meta"]["created"], g["meta"]["created"]);
    assert_eq!(a.json["ocid"], g["ocid"]);

    sb.create_group("Other", &[]).await;
    let a = sb.scim("PUT", &format!("{GROUPS}/{gid}"), Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "other"}))).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));

    let a = sb.scim("DELETE", &format!("{GROUPS}/{gid}"), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = sb.scim("GET", &format!("{GROUPS}/{gid}"), None).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
    assert_eq!(sb.get(&format!("{USERS}/{u2}")).await["groups"], json!([]));
}
