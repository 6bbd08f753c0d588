//! Tolerant readers: answers shaped as real servers send them, with what the documents
//! leave open (unknown fields, optional fields left out, `null` where an object was
//! expected, an extra schema URN, a number where the document shows a string), read by
//! each vendor's typed models. Every row must decode, and decode to what it says.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::vendors::fudo::client::UserOidc;
use crate::vendors::landscape::client::{ImportSession, StagedPage};
use crate::vendors::runai::client::{Idp, Mappers};
use crate::vendors::scim::client::ListResponse;
use crate::vendors::scim::model::{Group, GroupAttributes, User, UserAttributes};

#[track_caller]
fn decode<T: DeserializeOwned>(case: &str, v: Value) -> T {
    match serde_json::from_value(v) {
        Ok(t) => t,
        Err(e) => panic!("{case}: not read: {e}"),
    }
}

#[test]
fn scim_users_as_servers_send_them() {
    let rows: Vec<(&str, Value, Option<&str>, Option<bool>)> = vec![
        (
            "unknown fields and an extra schema URN",
            json!({"id": "u1", "userName": "a", "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:example:params:scim:schemas:extension:acme:2.0:User"], "urn:example:params:scim:schemas:extension:acme:2.0:User": {"badge": 7}, "x-vendor": [1, 2], "active": true}),
            Some("a"),
            Some(true),
        ),
        (
            "null where objects and lists were expected",
            json!({"id": "u1", "userName": "a", "name": null, "emails": null, "meta": null, "groups": null, "active": null}),
            Some("a"),
            Some(true),
        ),
        ("only an id (attributes=id)", json!({"id": "u1"}), None, Some(true)),
        (
            "active as the server's false",
            json!({"id": "u1", "userName": "a", "active": false, "meta": {"version": "W/\"1\"", "resourceType": "User", "created": "2026-01-01T00:00:00Z"}}),
            Some("a"),
            Some(false),
        ),
        ("meta of another shape", json!({"id": "u1", "userName": "a", "meta": "v1"}), Some("a"), Some(true)),
        ("meta.version not text", json!({"id": "u1", "userName": "a", "meta": {"version": 3, "location": null}}), Some("a"), Some(true)),
        (
            "emails with extra sub-attributes",
            json!({"id": "u1", "userName": "a", "emails": [{"value": "a@example.com", "type": "work", "primary": true, "secondary": false, "verified": true, "display": "A"}]}),
            Some("a"),
            Some(true),
        ),
    ];
    for (case, v, name, active) in rows {
        let u: User = decode(case, v);
        let a = UserAttributes::from_api(&u);
        assert_eq!((a.id.as_deref(), a.user_name.as_deref(), a.active), (Some("u1"), name, active), "{case}");
    }
}

#[test]
fn scim_groups_and_lists_as_servers_send_them() {
    let g: Group = decode(
        "members null, extension null, an unknown member type",
        json!({"id": "g1", "displayName": "eng", "members": null, "urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group": null}),
    );
    assert_eq!((g.members.as_ref(), GroupAttributes::from_api(&g).description), (None, None));
    let g: Group = decode(
        "members with $ref, display and a nested group",
        json!({"id": "g1", "displayName": "eng", "members": [{"value": "u1", "$ref": "https://x/Users/u1", "display": "A", "type": "User"}, {"value": "g2", "type": "Group"}]}),
    );
    assert_eq!(g.members.map(|m| m.len()), Some(2));

    // A page smaller than asked, `itemsPerPage` as a number or absent, no `Resources`
    // at all when empty, and an extra URN in `schemas`.
    let rows: Vec<(&str, Value, usize, usize)> = vec![
        (
            "itemsPerPage smaller than asked",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 120, "itemsPerPage": 2, "startIndex": 1, "Resources": [{"id": "u1"}, {"id": "u2"}]}),
            120,
            2,
        ),
        ("no itemsPerPage", json!({"totalResults": 1, "Resources": [{"id": "u1"}]}), 1, 1),
        ("empty: no Resources", json!({"totalResults": 0, "itemsPerPage": 0, "startIndex": 1}), 0, 0),
        ("Resources null", json!({"totalResults": 0, "Resources": null}), 0, 0),
    ];
    for (case, v, total, got) in rows {
        let page: ListResponse<User> = decode(case, v);
        assert_eq!((page.total_results, page.resources.len()), (total, got), "{case}");
    }
}

#[test]
fn runai_answers_as_servers_send_them() {
    let rows: Vec<(&str, Value)> = vec![
        (
            "unknown fields, other data null",
            json!({"alias": "corp", "type": "oidc", "redirectUri": "https://x/cb", "oidcData": {"clientId": "c", "clientSecret": "", "discoverDocumentUrl": "https://i.example.com/.well-known/openid-configuration", "extra": 1}, "samlData": null, "ocpData": null, "mappers": null, "createdAt": "2026-01-01"}),
        ),
        (
            "no redirectUri, no mappers",
            json!({"alias": "corp", "type": "saml", "samlData": {"entityId": "e", "signingCertificate": "MII", "singleSignOnServiceUrl": "https://sso.example.com"}}),
        ),
        (
            "mappers with an unknown mapper",
            json!({"alias": "corp", "type": "openshift-v4", "ocpData": {"idpBaseUrl": "https://ocp.example.com", "clientId": "c"}, "mappers": {"uid": "sub", "shell": "loginShell"}}),
        ),
    ];
    for (case, v) in rows {
        let idp: Idp = decode(case, v);
        assert_eq!(idp.alias, "corp", "{case}");
    }
    let m: Mappers =
        decode("mappers: some null, an alias, unknown", json!({"alias": "corp", "uid": null, "gid": "gidNumber", "groups": "", "x": true}));
    assert_eq!((m.uid.as_deref(), m.gid.as_deref()), (None, Some("gidNumber")));
}

#[test]
fn fudo_assignments_as_servers_send_them() {
    let rows: Vec<(&str, Value)> = vec![
        (
            "ids as strings, all fields",
            json!({"id": "1", "user_id": "9124292845052624898", "oidc_id": "9124292845052624898", "oidc_sub": "John", "builtin": false, "removed": false, "hidden": false, "created_at": "2024-06-19 08:39:55.351137-07"}),
        ),
        (
            "ids as numbers, flags null, unknown fields",
            json!({"user_id": 12, "oidc_id": 13, "oidc_sub": "John", "builtin": null, "removed": null, "hidden": null, "weight": 3}),
        ),
        ("optional fields left out", json!({"user_id": "12", "oidc_id": "13"})),
    ];
    for (case, v) in rows {
        let a: UserOidc = decode(case, v);
        assert!(!a.user_id.is_empty() && !a.oidc_id.is_empty() && !a.builtin, "{case}");
    }
    // Wide ids are kept exactly, never read through a float.
    let a: UserOidc = decode("wide ids", json!({"user_id": 9124292845052624898u64, "oidc_id": "9124292845052624899"}));
    assert_eq!((a.user_id.as_str(), a.oidc_id.as_str()), ("9124292845052624898", "9124292845052624899"));
}

#[test]
fn landscape_answers_as_servers_send_them() {
    let s: ImportSession = decode(
        "unknown fields, optional ones null",
        json!({"id": 7, "status": "COMPLETED", "account_id": null, "issuer_id": null, "synced_at": null, "progress": 100}),
    );
    assert!(s.completed());
    let s: ImportSession = decode("status in another case", json!({"id": 7, "status": "in_progress"}));
    assert!(s.in_progress());
    let p: StagedPage = decode(
        "a page with next and unknown fields",
        json!({"count": 3, "next": "/oidc/groups/staged?offset=2", "previous": null, "results": [{"id": 1, "group_id": "g", "name": "G", "imported": false}]}),
    );
    assert_eq!((p.count, p.results.len()), (Some(3), 1));
    let p: StagedPage = decode("no count, results null-free", json!({"results": []}));
    assert_eq!((p.count, p.results.len()), (None, 0));
}
