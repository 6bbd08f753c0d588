//! Tests of PATCH on users and groups (every PatchOp form the emulation accepts or
//! refuses) and of PATCH path parsing.

use super::*;

#[tokio::test]
async fn patch_user_forms() {
    let sb = sandbox();
    let u = sb.create_user("patty").await;
    let path = format!("{USERS}/{}", id_of(&u));

    let a = sb
        .patch(
            &path,
            json!([
                {"op": "Replace", "path": "userName", "value": "patty2"},
                {"op": "replace", "path": "displayName", "value": "Patty"},
                {"op": "REPLACE", "path": "active", "value": false},
                {"op": "add", "path": "externalId", "value": "x-9"},
                {"op": "replace", "path": "name.givenName", "value": "Pat"},
                {"op": "replace", "path": "emails", "value": [
                    {"value": "P@X.IO", "type": "work", "primary": true}
                ]}
            ]),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    assert!(a.raw.is_empty());
    let v = sb.get(&path).await;
    assert_eq!(v["userName"], json!("patty2"));
    assert_eq!(v["displayName"], json!("Patty"));
    assert_eq!(v["active"], json!(false));
    assert_eq!(v["externalId"], json!("x-9"));
    assert_eq!(v["name"], json!({"givenName": "Pat", "familyName": "Family", "formatted": "Pat Family"}));
    assert_eq!(
        v["emails"],
        json!([
            {"value": "p@x.io", "type": "work", "primary": true, "secondary": false, "verified": false},
            {"value": "p@x.io", "type": "recovery", "primary": false, "secondary": false, "verified": false}
        ])
    );

    // Path-less replace with an object (read-only keys in it are ignored); 200 with
    // `attributes`.
    let a = sb
        .patch(
            &format!("{path}?attributes=userName,name.familyName"),
            json!([{"op": "replace", "value": {
                "id": "not-changed", "meta": {}, "active": true,
                "name": {"familyName": "Fam"},
                "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "P. Fam"
            }}]),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(
        a.json,
        json!({
            "schemas": [USER_SCHEMA, USER_EXTENSION, USER_STATE_EXTENSION],
            "id": id_of(&u),
            "userName": "patty2",
            "name": {"familyName": "Fam"}
        })
    );
    let v = sb.get(&path).await;
    assert_eq!(v["active"], json!(true));
    assert_eq!(v["displayName"], json!("P. Fam"));
    assert_eq!(v["name"]["givenName"], json!("Pat"), "replace merges complex values");
    assert_eq!(v["name"]["formatted"], json!("Pat Fam"));

    // Remove.
    let a = sb
        .patch(
            &format!("{path}?excludedAttributes=groups"),
            json!([
                {"op": "remove", "path": "externalId"},
                {"op": "remove", "path": "emails[type eq \"recovery\"]"}
            ]),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert!(a.json.get("externalId").is_none());
    assert!(a.json.get("groups").is_none());
    // The recovery email comes back: the primary has none.
    assert_eq!(a.json["emails"].as_array().map(Vec::len), Some(2));

    // Errors leave the user unchanged (a PATCH applies whole or not at all).
    let before = sb.get(&path).await;
    let cases = [
        (json!([{"op": "replace", "path": "id", "value": "x"}]), StatusCode::BAD_REQUEST, "mutability"),
        (json!([{"op": "replace", "path": "groups", "value": []}]), StatusCode::BAD_REQUEST, "mutability"),
        (json!([{"op": "replace", "path": "nickName2", "value": "x"}]), StatusCode::BAD_REQUEST, "invalidPath"),
        (json!([{"op": "replace", "path": "name[", "value": "x"}]), StatusCode::BAD_REQUEST, "invalidPath"),
        (json!([{"op": "move", "path": "userName", "value": "x"}]), StatusCode::BAD_REQUEST, "invalidSyntax"),
        (json!([{"op": "remove"}]), StatusCode::BAD_REQUEST, "noTarget"),
        (json!([{"op": "replace", "path": "active", "value": "false"}]), StatusCode::BAD_REQUEST, "invalidValue"),
        (json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x@y"}]), StatusCode::BAD_REQUEST, "noTarget"),
        (
            json!([
                {"op": "replace", "path": "userName", "value": "changed"},
                {"op": "remove", "path": "userName"}
            ]),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (json!([]), StatusCode::BAD_REQUEST, "invalidSyntax"),
    ];
    for (ops, status, scim_type) in cases {
        let a = sb.patch(&path, ops.clone()).await;
        assert_scim_error(&a, status, Some(scim_type));
        assert_eq!(sb.get(&path).await, before, "{ops}");
    }
    let a = sb.scim("PATCH", &path, Some(json!({"Operations": [{"op": "replace", "path": "active", "value": true}]}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidSyntax"));

    // userName uniqueness applies to PATCH too.
    sb.create_user("taken").await;
    let a = sb.patch(&path, json!([{"op": "replace", "path": "userName", "value": "TAKEN"}])).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));
}

#[tokio::test]
async fn patch_group_forms() {
    let sb = sandbox();
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(sb.create_user(&format!("m{i}")).await);
    }
    let ids: Vec<String> = users.iter().map(id_of).collect();
    let ocid_of = |id: &str| users.iter().find(|u| u["id"] == json!(id)).and_then(|u| u["ocid"].as_str()).unwrap_or("").to_string();
    let g = sb.create_group("team", &[&ids[0]]).await;
    let path = format!("{GROUPS}/{}", id_of(&g));

    // The forms of the OCI IAM SCIM documentation: replace displayName; add members.
    let a = sb.patch(&path, json!([{"op": "replace", "path": "displayName", "value": "Team"}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    let a = sb
        .patch(
            &path,
            json!([{"op": "add", "path": "members", "value": [
                {"value": ids[1], "type": "User"}, {"value": ids[2], "type": "User"}
            ]}]),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(members_of(&sb, &path).await, ids[..3].to_vec());
    // Adding an existing member is a no-op.
    let a = sb.patch(&path, json!([{"op": "add", "path": "members", "value": [{"value": ids[1], "type": "User"}]}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(members_of(&sb, &path).await, ids[..3].to_vec());

    // Description through the extension path: the extension schema appears.
    let a = sb
        .patch(
            &format!("{path}?attributes=displayName"),
            json!([
                {"op": "replace", "path": format!("{GROUP_EXTENSION}:description"), "value": "Desc"},
                {"op": "replace", "path": "externalId", "value": "ext-7"}
            ]),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["displayName"], json!("Team"));
    assert_eq!(a.json["schemas"], json!([GROUP_SCHEMA, GROUP_EXTENSION]));
    assert!(a.json.get("members").is_none(), "projected by attributes");
    let full = sb.get(&path).await;
    assert_eq!(full[GROUP_EXTENSION], json!({"description": "Desc"}));
    assert_eq!(full["externalId"], json!("ext-7"));

    // remove members[value eq "<id>"].
    let a = sb.patch(&path, json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    assert_eq!(members_of(&sb, &path).await, ids[1..3].to_vec());
    // remove members[type eq "User" and value eq "<ocid>"] (an ocid names the member too).
    let a = sb
        .patch(&path, json!([{"op": "remove", "path": format!("members[type eq \"User\" and value eq \"{}\"]", ocid_of(&ids[1]))}]))
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    assert_eq!(members_of(&sb, &path).await, ids[2..3].to_vec());
    // Removing a member that is not there is a no-op.
    let a = sb.patch(&path, json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[4])}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);

    // remove "members" with a value array (Azure style).
    sb.patch(
        &path,
        json!([{"op": "add", "path": "members", "value": [
            {"value": ids[3], "type": "User"}, {"value": ids[4], "type": "User"}
        ]}]),
    )
    .await;
    let a = sb.patch(&path, json!([{"op": "remove", "path": "members", "value": [{"value": ids[2]}, {"value": ids[4]}]}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    assert_eq!(members_of(&sb, &path).await, vec![ids[3].clone()]);

    // One PATCH, several operations, applied in order.
    let a = sb
        .patch(
            &format!("{path}?attributes=members"),
            json!([
                {"op": "add", "path": "members", "value": [{"value": ids[0], "type": "User"}]},
                {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[3])},
                {"op": "add", "path": "members", "value": [{"value": ids[1], "type": "User"}]}
            ]),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(member_ids(&a.json), vec![ids[0].clone(), ids[1].clone()]);

    // replace members: the whole list.
    let a = sb.patch(&path, json!([{"op": "replace", "path": "members", "value": [{"value": ids[4], "type": "User"}]}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(members_of(&sb, &path).await, vec![ids[4].clone()]);

    // Path-less add with an object; path-less replace of the extension.
    let a = sb
        .patch(
            &path,
            json!([
                {"op": "add", "value": {"members": [{"value": ids[0], "type": "User"}]}},
                {"op": "replace", "value": {"displayName": "Team2", GROUP_EXTENSION: {"description": "D2"}}}
            ]),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    let v = sb.get(&path).await;
    assert_eq!(member_ids(&v), vec![ids[4].clone(), ids[0].clone()]);
    assert_eq!(v["displayName"], json!("Team2"));
    assert_eq!(v[GROUP_EXTENSION]["description"], json!("D2"));

    // remove "members": all of them.
    let a = sb.patch(&path, json!([{"op": "remove", "path": "members"}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(members_of(&sb, &path).await, Vec::<String>::new());

    // Errors change nothing.
    let before = sb.get(&path).await;
    let a = sb
        .patch(
            &path,
            json!([
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "add", "path": "members", "value": [{"value": "nobody", "type": "User"}]}
            ]),
        )
        .await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb.patch(&path, json!([{"op": "add", "path": "members", "value": ["not-an-object"]}])).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb.patch(&path, json!([{"op": "remove", "path": "members[value eq ]"}])).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidPath"));
    let a = sb.patch(&path, json!([{"op": "remove", "path": "displayName"}])).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb.patch(&path, json!([{"op": "replace", "path": "ocid", "value": "x"}])).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("mutability"));
    sb.create_group("Taken", &[]).await;
    let a = sb.patch(&path, json!([{"op": "replace", "path": "displayName", "value": "taken"}])).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));
    assert_eq!(sb.get(&path).await, before);

    let a = sb.patch(&format!("{GROUPS}/unknown"), json!([{"op": "remove", "path": "members"}])).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
}

#[test]
fn patch_paths() {
    let p = PatchPath::parse("members[value eq \"a]b\"]").expect("parse");
    assert_eq!(p.attr, path("members"));
    assert!(p.filter.is_some() && p.filter_sub.is_none());
    let p = PatchPath::parse("emails[type eq \"work\"].value").expect("parse");
    assert_eq!(p.filter_sub.as_deref(), Some("value"));
    let p = PatchPath::parse(&format!("{GROUP_EXTENSION}:description")).expect("parse");
    assert_eq!(p.attr.urn.as_deref(), Some(GROUP_EXTENSION));
    assert_eq!(p.attr.attr, "description");
    for bad in ["members[", "members[value eq \"x\"]x", "a.b.c", "name.givenName[x pr]", ""] {
        assert!(PatchPath::parse(bad).is_err(), "{bad}");
    }
}
