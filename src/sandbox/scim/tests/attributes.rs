//! Tests of the optional User attributes of RFC 7643 section 4.1 (`nickName`,
//! `phoneNumbers`, `addresses`, ...) and the Enterprise User extension: stored and returned
//! as given, checked against their schema, patched, filtered (kept in the data file: see
//! `state.rs`); and
//! `name.formatted`, made only when the client gave none.

use super::super::schema::OPAQUE_USER_ATTRIBUTES;
use super::*;

/// A user with every optional attribute and the Enterprise User extension.
pub(super) fn full_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_EXTENSION],
        "userName": user_name,
        "name": {"givenName": "Bea", "familyName": "Jensen", "middleName": "J", "honorificPrefix": "Ms."},
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "phoneNumbers": [{"value": "555-555-5555", "type": "work", "primary": true}, {"value": "555-555-4444", "type": "mobile"}],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}],
        "addresses": [{
            "type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "region": "CA",
            "postalCode": "91608", "country": "USA", "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": true
        }],
        "entitlements": [{"value": "Vault access"}],
        "roles": [{"value": "Tour guides", "primary": false}],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
        ENTERPRISE_USER_EXTENSION: {
            "employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios", "division": "Theme Park",
            "department": "Tour Operations", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "ignored"}
        }
    })
}

#[tokio::test]
async fn optional_attributes_are_stored_and_returned() {
    let sb = sandbox();
    let body = full_user("bjensen");
    let a = sb.scim("POST", USERS, Some(body.clone())).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let path = format!("{USERS}/{}", id_of(&a.json));
    for u in [a.json.clone(), sb.get(&path).await] {
        for name in OPAQUE_USER_ATTRIBUTES {
            assert!(body.get(name).is_some(), "full_user sets {name}");
            assert_eq!(u[name], body[name], "{name}");
        }
        assert_eq!(u["schemas"], json!([USER_SCHEMA, USER_EXTENSION, USER_STATE_EXTENSION, ENTERPRISE_USER_EXTENSION]));
        let mut enterprise = body[ENTERPRISE_USER_EXTENSION].clone();
        enterprise["manager"] = json!({"value": "26118915-6090-4610-87e4-49d8ca9f808d"});
        assert_eq!(u[ENTERPRISE_USER_EXTENSION], enterprise, "read-only manager.displayName is not stored");
        assert_eq!(u["name"]["formatted"], json!("Bea Jensen"));
        assert_eq!(u["name"]["honorificPrefix"], json!("Ms."));
    }

    // In lists, filters and projections.
    assert_eq!(filter_users(&sb, "title eq \"tour guide\"").await, ["bjensen"]);
    assert_eq!(filter_users(&sb, "phoneNumbers[type eq \"mobile\" and value sw \"555\"]").await, ["bjensen"]);
    assert_eq!(filter_users(&sb, "addresses.locality eq \"Hollywood\"").await, ["bjensen"]);
    assert_eq!(filter_users(&sb, &format!("{ENTERPRISE_USER_EXTENSION}:employeeNumber eq \"701984\"")).await, ["bjensen"]);
    let a = list(&sb, USERS, "attributes=nickName,addresses.locality").await;
    assert_eq!(a.json["Resources"][0]["nickName"], json!("Babs"));
    assert_eq!(a.json["Resources"][0]["addresses"], json!([{"locality": "Hollywood"}]));

    // PUT replaces them all: what is not sent is gone.
    let a = sb.scim("PUT", &path, Some(json!({"schemas": [USER_SCHEMA], "userName": "bjensen", "title": "Lead"}))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["title"], json!("Lead"));
    for name in OPAQUE_USER_ATTRIBUTES.iter().filter(|n| **n != "title") {
        assert!(a.json.get(*name).is_none(), "{name} left after PUT");
    }
    assert!(a.json.get(ENTERPRISE_USER_EXTENSION).is_none());
    assert_eq!(a.json["schemas"], json!([USER_SCHEMA, USER_EXTENSION, USER_STATE_EXTENSION]));
}

#[tokio::test]
async fn optional_attributes_are_checked() {
    let sb = sandbox();
    let bad = [
        json!({"nickName": 5}),
        json!({"profileUrl": true}),
        json!({"phoneNumbers": {"value": "1"}}),
        json!({"phoneNumbers": ["555"]}),
        json!({"phoneNumbers": [{"value": 555}]}),
        json!({"phoneNumbers": [{"value": "1", "primary": "yes"}]}),
        json!({"ims": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}),
        json!({"addresses": [{"postalCode": 91608}]}),
        json!({"x509Certificates": [{"value": "not base64!"}]}),
        json!({ENTERPRISE_USER_EXTENSION: "x"}),
        json!({ENTERPRISE_USER_EXTENSION: {"manager": "boss"}}),
    ];
    for extra in bad {
        let mut body = user_body("checked", "C", "D");
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        let a = sb.scim("POST", USERS, Some(body)).await;
        assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
        assert!(detail(&a).contains("must") || detail(&a).contains("primary"), "{extra}: {}", detail(&a));
    }
    // Null and empty values leave an attribute unassigned; unknown sub-attributes and
    // attribute names in another case are accepted (names are case-insensitive).
    let mut body = user_body("loose", "L", "M");
    body["nickname"] = json!("Lo");
    body["title"] = Value::Null;
    body["phoneNumbers"] = json!([]);
    body["ims"] = json!([{"value": "x", "color": "red"}]);
    let a = sb.scim("POST", USERS, Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.json["nickName"], json!("Lo"));
    assert!(a.json.get("title").is_none() && a.json.get("phoneNumbers").is_none());
    assert_eq!(a.json["ims"], json!([{"value": "x"}]));
}

#[tokio::test]
async fn optional_attributes_patch() {
    let sb = sandbox();
    let u = sb.create_user("pat").await;
    let path = format!("{USERS}/{}", id_of(&u));
    let ops = json!([
        {"op": "add", "path": "nickName", "value": "P"},
        {"op": "add", "path": "phoneNumbers", "value": [{"value": "1", "type": "work"}]},
        {"op": "add", "path": "phoneNumbers", "value": [{"value": "2", "type": "home"}]},
        {"op": "replace", "path": "phoneNumbers[type eq \"home\"].value", "value": "3"},
        {"op": "add", "path": format!("{ENTERPRISE_USER_EXTENSION}:department"), "value": "Ops"},
        {"op": "replace", "path": "addresses", "value": [{"locality": "Paris", "type": "home"}]},
    ]);
    let a = sb.patch(&path, ops).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    let v = sb.get(&path).await;
    assert_eq!(v["nickName"], json!("P"));
    assert_eq!(v["phoneNumbers"], json!([{"value": "1", "type": "work"}, {"value": "3", "type": "home"}]));
    assert_eq!(v[ENTERPRISE_USER_EXTENSION], json!({"department": "Ops"}));
    assert_eq!(v["addresses"], json!([{"locality": "Paris", "type": "home"}]));
    assert!(v["schemas"].as_array().is_some_and(|s| s.contains(&json!(ENTERPRISE_USER_EXTENSION))));

    let a = sb
        .patch(
            &path,
            json!([
                {"op": "remove", "path": "phoneNumbers[type eq \"work\"]"},
                {"op": "remove", "path": "nickName"},
                {"op": "remove", "path": ENTERPRISE_USER_EXTENSION},
            ]),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    let v = sb.get(&path).await;
    assert!(v.get("nickName").is_none() && v.get(ENTERPRISE_USER_EXTENSION).is_none());
    assert_eq!(v["phoneNumbers"], json!([{"value": "3", "type": "home"}]));

    // A PATCH is checked like a PUT.
    let a = sb.patch(&path, json!([{"op": "add", "path": "title", "value": 3}])).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let a = sb
        .patch(&path, json!([{"op": "add", "path": "roles", "value": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}]))
        .await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
}

#[tokio::test]
async fn formatted_name_is_kept_when_given() {
    let sb = sandbox();
    let a = sb
        .scim(
            "POST",
            USERS,
            Some(
                json!({"schemas": [USER_SCHEMA], "userName": "f", "name": {"givenName": "A", "familyName": "B", "formatted": "Dr. A. B."}}),
            ),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.json["name"]["formatted"], json!("Dr. A. B."));
    assert_eq!(a.json["displayName"], json!("Dr. A. B."));
    let path = format!("{USERS}/{}", id_of(&a.json));
    // Removing it makes one again.
    let a = sb.patch(&path, json!([{"op": "remove", "path": "name.formatted"}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    assert_eq!(sb.get(&path).await["name"]["formatted"], json!("A B"));
}
