//! Tests of the discovery endpoints (`/ServiceProviderConfig`, `/Schemas`,
//! `/ResourceTypes`), and that what they tell is what the emulation does: PATCH's writable
//! and read-only lists, the filter's case sensitivity and the attributes a filter may name
//! follow the schemas; the limits the configuration claims are the ones enforced.

use super::super::discovery::RESOURCE_TYPES;
use super::super::filter::case_exact;
use super::super::patch::Kind as PatchKind;
use super::super::schema::{self, Attr, Mutability, SCHEMAS, Type};
use super::*;

const BASE_PATH: &str = "/oci/admin/v1";

#[tokio::test]
async fn service_provider_config_tells_what_the_sandbox_supports() {
    let sb = sandbox();
    let a = sb.scim("GET", &format!("{BASE_PATH}/ServiceProviderConfig"), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.header(header::CONTENT_TYPE), Some("application/scim+json"));
    let c = &a.json;
    assert_eq!(c["schemas"], json!([SERVICE_PROVIDER_CONFIG_SCHEMA]));
    assert_eq!(c["patch"], json!({"supported": true}));
    assert_eq!(c["bulk"], json!({"supported": true, "maxOperations": MAX_BULK_OPERATIONS, "maxPayloadSize": 2 * 1024 * 1024}));
    assert_eq!(c["filter"], json!({"supported": true, "maxResults": MAX_PAGE_SIZE}));
    assert_eq!(c["changePassword"], json!({"supported": true}));
    assert_eq!(c["sort"], json!({"supported": false}));
    assert_eq!(c["etag"], json!({"supported": true}));
    assert_eq!(c["authenticationSchemes"][0]["type"], json!("oauthbearertoken"));
    assert_eq!(c["meta"]["location"], json!(format!("{BASE}{BASE_PATH}/ServiceProviderConfig")));

    // filter.maxResults: a list never answers more.
    for i in 0..MAX_PAGE_SIZE + 2 {
        sb.create_user(&format!("u{i}")).await;
    }
    let page = list(&sb, USERS, "count=1000").await;
    assert_eq!(page.json["itemsPerPage"], json!(MAX_PAGE_SIZE));
    assert_eq!(page.json["Resources"].as_array().map(Vec::len), Some(MAX_PAGE_SIZE));

    // bulk.maxOperations: one more is refused.
    let op = json!({"method": "POST", "path": "/Groups", "data": {"schemas": [GROUP_SCHEMA], "displayName": "g"}});
    let too_many = json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": vec![op; MAX_BULK_OPERATIONS + 1]});
    let a = sb.scim("POST", BULK, Some(too_many)).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.raw);

    // changePassword: `password` is accepted on PUT and PATCH (and checked).
    let id = id_of(&sb.get(&format!("{USERS}?filter=userName%20eq%20%22u0%22")).await["Resources"][0]);
    let a = sb.patch(&format!("{USERS}/{id}"), json!([{"op": "replace", "path": "password", "value": "Long-enough-pw1"}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    let a = sb.patch(&format!("{USERS}/{id}"), json!([{"op": "replace", "path": "password", "value": "short"}])).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.raw);
}

#[tokio::test]
async fn schemas_list_and_items() {
    let sb = sandbox();
    let a = sb.scim("GET", &format!("{BASE_PATH}/Schemas"), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["schemas"], json!([LIST_RESPONSE_SCHEMA]));
    let ids: Vec<&str> = a.json["Resources"].as_array().expect("Resources").iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, [USER_SCHEMA, ENTERPRISE_USER_EXTENSION, USER_EXTENSION, USER_STATE_EXTENSION, GROUP_SCHEMA, GROUP_EXTENSION]);
    assert_eq!(a.json["totalResults"], json!(6));

    for id in ids {
        let one = sb.scim("GET", &format!("{BASE_PATH}/Schemas/{id}"), None).await;
        assert_eq!(one.status, StatusCode::OK, "{id}: {}", one.raw);
        assert_eq!(one.json["id"], json!(id));
        assert_eq!(one.json["schemas"], json!([SCHEMA_SCHEMA]));
        assert_eq!(one.json["meta"]["resourceType"], json!("Schema"));
        assert_eq!(one.json["meta"]["location"], json!(format!("{BASE}{BASE_PATH}/Schemas/{id}")));
        assert!(one.json["attributes"].as_array().is_some_and(|a| !a.is_empty()));
    }

    // One attribute in full (RFC 7643 section 7).
    let user = sb.get(&format!("{BASE_PATH}/Schemas/{USER_SCHEMA}")).await;
    let attr = |name: &str| user["attributes"].as_array().and_then(|a| a.iter().find(|x| x["name"] == json!(name)).cloned());
    assert_eq!(
        attr("userName"),
        Some(json!({
            "name": "userName", "type": "string", "multiValued": false, "description": schema::USER.attr("userName").map(|a| a.description),
            "required": true, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "server"
        }))
    );
    let password = attr("password").expect("password");
    assert_eq!((password["mutability"].clone(), password["returned"].clone()), (json!("writeOnly"), json!("never")));
    let groups = attr("groups").expect("groups");
    assert_eq!((groups["mutability"].clone(), groups["multiValued"].clone()), (json!("readOnly"), json!(true)));
    let photos = attr("photos").expect("photos");
    assert_eq!(photos["subAttributes"][0]["referenceTypes"], json!(["external"]));
    assert_eq!(photos["subAttributes"][2]["canonicalValues"], json!(["photo", "thumbnail"]));

    // Unknown schema: a SCIM 404. Not GET: 405. A filter: 403 (RFC 7644 section 4).
    assert_scim_error(&sb.scim("GET", &format!("{BASE_PATH}/Schemas/urn:nothing"), None).await, StatusCode::NOT_FOUND, None);
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        for path in ["Schemas", "ResourceTypes", "ServiceProviderConfig", "Schemas/x", "ResourceTypes/User"] {
            let a = sb.scim(method, &format!("{BASE_PATH}/{path}"), None).await;
            assert_scim_error(&a, StatusCode::METHOD_NOT_ALLOWED, None);
        }
    }
    let a = sb.scim("GET", &format!("{BASE_PATH}/Schemas?filter=id%20eq%20%22x%22"), None).await;
    assert_scim_error(&a, StatusCode::FORBIDDEN, None);
    // Authenticated like the rest of the SCIM API.
    let a = sb.send("GET", &format!("{BASE_PATH}/Schemas"), None, None, None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn resource_types_list_and_items() {
    let sb = sandbox();
    let a = sb.scim("GET", &format!("{BASE_PATH}/ResourceTypes"), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["totalResults"], json!(2));
    let user = &a.json["Resources"][0];
    assert_eq!(
        *user,
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User", "name": "User", "endpoint": "/Users", "description": "User Account",
            "schema": USER_SCHEMA,
            "schemaExtensions": [
                {"schema": ENTERPRISE_USER_EXTENSION, "required": false},
                {"schema": USER_EXTENSION, "required": false},
                {"schema": USER_STATE_EXTENSION, "required": false},
            ],
            "meta": {"resourceType": "ResourceType", "location": format!("{BASE}{BASE_PATH}/ResourceTypes/User")},
        })
    );
    let group = sb.get(&format!("{BASE_PATH}/ResourceTypes/Group")).await;
    assert_eq!(group, a.json["Resources"][1]);
    assert_eq!(group["schemaExtensions"], json!([{"schema": GROUP_EXTENSION, "required": false}]));
    assert_scim_error(&sb.scim("GET", &format!("{BASE_PATH}/ResourceTypes/Device"), None).await, StatusCode::NOT_FOUND, None);
    // Every schema a resource type names is served.
    for t in &RESOURCE_TYPES {
        assert!(schema::find(t.schema.id).is_some());
        assert!(t.extensions.iter().all(|e| schema::find(e).is_some()), "{}", t.name);
    }
}

#[tokio::test]
async fn root_search_is_not_implemented() {
    let sb = sandbox();
    let a = sb.scim("POST", &format!("{BASE_PATH}/.search"), Some(json!({"schemas": [SEARCH_REQUEST_SCHEMA]}))).await;
    assert_scim_error(&a, StatusCode::NOT_IMPLEMENTED, None);
}

/// Every attribute and sub-attribute of `attrs`, with its path.
fn walk<'a>(prefix: &str, attrs: &'a [Attr], out: &mut Vec<(String, &'a Attr)>) {
    for a in attrs {
        let path = if prefix.is_empty() { a.name.to_string() } else { format!("{prefix}.{}", a.name) };
        walk(&path, a.sub, out);
        out.push((path, a));
    }
}

#[test]
fn patch_lists_follow_the_schemas() {
    for (core, patch_schema, extensions) in [
        (&schema::USER, &USER_PATCH, vec![&schema::ENTERPRISE_USER, &schema::ORACLE_USER, &schema::ORACLE_USER_STATE]),
        (&schema::GROUP, &GROUP_PATCH, vec![&schema::ORACLE_GROUP]),
    ] {
        let writable = |name: &str| patch_schema.writable.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, k)| *k);
        let read_only = |name: &str| patch_schema.read_only.iter().any(|n| n.eq_ignore_ascii_case(name));
        for a in core.attributes {
            if a.writable() {
                let want = match (a.multi, a.ty) {
                    (true, _) => PatchKind::Multi,
                    (false, Type::Complex) => PatchKind::Complex,
                    (false, _) => PatchKind::Simple,
                };
                assert_eq!(writable(a.name), Some(want), "{}: {} is writable in the schema", core.name, a.name);
            } else {
                assert!(read_only(a.name) && writable(a.name).is_none(), "{}: {} is read-only in the schema", core.name, a.name);
            }
        }
        for (name, _) in patch_schema.writable {
            // externalId is a common attribute (RFC 7643 section 3.1), in no schema.
            assert!(
                *name == "externalId" || core.attr(name).is_some_and(Attr::writable) || extensions.iter().any(|e| e.id == *name),
                "{}: PATCH may write {name}, which the schemas do not publish as writable",
                core.name
            );
        }
        for e in extensions {
            let all_read_only = e.attributes.iter().all(|a| !a.writable());
            assert_eq!(read_only(e.id), all_read_only, "{}: {} read-only in PATCH iff in its schema", core.name, e.id);
        }
    }
}

#[test]
fn case_exactness_follows_the_schemas() {
    for s in SCHEMAS {
        let mut all = Vec::new();
        walk("", s.attributes, &mut all);
        for (path, a) in all {
            let p = AttrPath::parse(&path).expect("path");
            assert_eq!(case_exact(&p), a.case_exact, "{}: {path} caseExact", s.name);
        }
    }
}

#[test]
fn schema_attributes_are_well_formed() {
    for s in SCHEMAS {
        let mut all = Vec::new();
        walk("", s.attributes, &mut all);
        for (path, a) in all {
            assert_eq!(a.ty == Type::Complex, !a.sub.is_empty(), "{}: {path}", s.name);
            assert_eq!(a.ty == Type::Reference, !a.reference_types.is_empty(), "{}: {path}", s.name);
            assert!(!a.description.is_empty(), "{}: {path}", s.name);
            if a.mutability == Mutability::WriteOnly {
                assert_eq!(a.returned, schema::Returned::Never, "{}: {path}", s.name);
            }
        }
    }
}

#[tokio::test]
async fn filters_may_name_every_published_attribute() {
    let sb = sandbox();
    for (collection, core) in [(USERS, &schema::USER), (GROUPS, &schema::GROUP)] {
        let mut all = Vec::new();
        walk("", core.attributes, &mut all);
        for (path, a) in all {
            let a_status = list(&sb, collection, &format!("filter={}", query(&format!("{path} pr")))).await.status;
            let want = if a.returned == schema::Returned::Never { StatusCode::BAD_REQUEST } else { StatusCode::OK };
            assert_eq!(a_status, want, "{collection}: filter on {path}");
        }
    }
    // An attribute no schema has is still refused.
    let a = list(&sb, USERS, &format!("filter={}", query("shoeSize pr"))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidFilter"));
}
