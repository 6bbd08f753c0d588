//! Tests of `POST /Bulk`: `bulkId` references, per-operation failures, `failOnErrors`,
//! request errors, and the log and stats of a Bulk.

use super::*;

#[tokio::test]
async fn bulk_with_bulk_ids_and_per_operation_failures() {
    let sb = sandbox();
    let existing = id_of(&sb.create_user("existing").await);
    let g1 = id_of(&sb.create_group("g1", &[]).await);
    let g2 = id_of(&sb.create_group("g2", &[]).await);
    let add = |who: &str| {
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": who, "type": "User"}]}
        ]})
    };
    let a = sb
        .scim(
            "POST",
            BULK,
            Some(json!({
                "schemas": [BULK_REQUEST_SCHEMA],
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "u1",
                     "data": user_body("bulk-user", "Bulk", "User")},
                    {"method": "POST", "path": "/Groups", "bulkId": "g3",
                     "data": {"schemas": [GROUP_SCHEMA], "displayName": "g3",
                              "members": [{"value": "bulkId:u1", "type": "User"}]}},
                    {"method": "PATCH", "path": format!("/Groups/{g1}"), "data": add("bulkId:u1")},
                    {"method": "PATCH", "path": "/Groups/0000000000000000000000000000dead", "data": add(&existing)},
                    {"method": "PATCH", "path": format!("/Groups/{g2}"), "data": add("nobody")},
                    {"method": "patch", "path": format!("/Groups/{g2}?attributes=members"), "data": add(&existing)},
                    {"method": "PATCH", "path": "/Groups/bulkId:g3", "data": add(&existing)},
                    {"method": "PUT", "path": "/Users/bulkId:u1",
                     "data": user_body("bulk-user", "Bulk", "Renamed")},
                    {"method": "PATCH", "path": "/Groups/bulkId:missing", "data": add(&existing)},
                    {"method": "POST", "path": "/Users", "bulkId": "dup",
                     "data": user_body("EXISTING", "x", "y")},
                    {"method": "DELETE", "path": format!("/Users/{existing}")},
                    {"method": "GET", "path": "/Users"},
                    {"method": "POST", "path": "/Nowhere", "data": {}}
                ]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["schemas"], json!([BULK_RESPONSE_SCHEMA]));
    let ops = a.json["Operations"].as_array().expect("Operations").clone();
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap_or("?")).collect();
    assert_eq!(statuses, vec!["201", "201", "204", "404", "400", "200", "204", "200", "409", "409", "204", "400", "404"], "{}", a.raw);
    let new_user = id_of(&ops[0]["response"]);
    assert_eq!(ops[0]["bulkId"], json!("u1"));
    assert_eq!(ops[0]["method"], json!("POST"));
    assert_eq!(ops[0]["location"], json!(format!("{BASE}{USERS}/{new_user}")));
    let g3 = id_of(&ops[1]["response"]);
    assert_eq!(member_ids(&ops[1]["response"]), vec![new_user.clone()]);
    assert_eq!(ops[2]["location"], json!(format!("{BASE}{GROUPS}/{g1}")));
    assert!(ops[2].get("response").is_none());
    assert_eq!(ops[3]["response"]["schemas"], json!([ERROR_SCHEMA]));
    assert_eq!(ops[3]["response"]["status"], json!("404"));
    assert_eq!(ops[4]["response"]["scimType"], json!("invalidValue"));
    assert_eq!(ops[5]["method"], json!("PATCH"));
    assert_eq!(member_ids(&ops[5]["response"]), vec![existing.clone()]);
    assert_eq!(ops[6]["location"], json!(format!("{BASE}{GROUPS}/{g3}")));
    assert_eq!(ops[7]["response"]["displayName"], json!("Bulk Renamed"));
    assert!(ops[8]["response"]["detail"].as_str().unwrap_or("").contains("missing"));
    assert_eq!(ops[9]["response"]["scimType"], json!("uniqueness"));
    assert!(ops[9].get("location").is_none(), "a failed POST has no location");

    // The effects.
    assert_eq!(member_ids(&sb.get(&format!("{GROUPS}/{g1}")).await), vec![new_user.clone()]);
    assert_eq!(member_ids(&sb.get(&format!("{GROUPS}/{g2}")).await), Vec::<String>::new(), "existing was deleted later");
    assert_eq!(member_ids(&sb.get(&format!("{GROUPS}/{g3}")).await), vec![new_user.clone()]);

    // Stats count the Bulk once; the log has every operation with "bulk": true.
    let stats = sb.state.stats();
    assert_eq!(stats.by_route.get("POST /oci/admin/v1/Bulk"), Some(&1));
    let log = sb.log().await;
    let bulk_entries: Vec<&Value> = log.iter().filter(|e| e["bulk"] == json!(true)).collect();
    assert_eq!(bulk_entries.len(), 13);
    assert_eq!(bulk_entries[2]["method"], json!("PATCH"));
    assert_eq!(bulk_entries[2]["path"], json!(format!("{GROUPS}/{g1}")));
    assert_eq!(bulk_entries[2]["status"], json!(204));
    assert_eq!(bulk_entries[2]["body"]["Operations"][0]["value"][0]["value"], json!(new_user));
    assert_eq!(bulk_entries[5]["query"], json!("attributes=members"));
    assert_eq!(bulk_entries[6]["path"], json!(format!("{GROUPS}/{g3}")));
    // The operations are logged just before the Bulk request itself, which has no
    // "bulk" key (like every ordinary entry).
    let at = log.iter().position(|e| e["path"] == json!(BULK)).expect("Bulk entry");
    assert!(log[at].get("bulk").is_none());
    assert_eq!(log[at]["status"], json!(200));
    assert!(log[at - 13..at].iter().all(|e| e["bulk"] == json!(true)));
    assert!(log[..at - 13].iter().all(|e| e.get("bulk").is_none()));
}

#[tokio::test]
async fn bulk_fail_on_errors_and_request_errors() {
    let sb = sandbox();
    let uid = id_of(&sb.create_user("x").await);
    let g = id_of(&sb.create_group("g", &[]).await);
    let add = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": uid, "type": "User"}]}
    ]});
    let a = sb
        .scim(
            "POST",
            BULK,
            Some(json!({
                "schemas": [BULK_REQUEST_SCHEMA],
                "failOnErrors": 1,
                "Operations": [
                    {"method": "PATCH", "path": "/Groups/nope", "data": add},
                    {"method": "PATCH", "path": format!("/Groups/{g}"), "data": add}
                ]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["Operations"].as_array().map(Vec::len), Some(1));
    assert_eq!(member_ids(&sb.get(&format!("{GROUPS}/{g}")).await), Vec::<String>::new());

    let a = sb.scim("POST", BULK, Some(json!({"Operations": []}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let a = sb.scim("POST", BULK, Some(json!({"schemas": [BULK_REQUEST_SCHEMA]}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let a = sb.scim("POST", BULK, Some(json!({"schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 0, "Operations": []}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let many: Vec<Value> = (0..=MAX_BULK_OPERATIONS).map(|_| json!({"method": "DELETE", "path": "/Users/x"})).collect();
    let a = sb.scim("POST", BULK, Some(json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": many}))).await;
    assert_scim_error(&a, StatusCode::PAYLOAD_TOO_LARGE, None);
    let a = sb.scim("POST", BULK, Some(json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": []}))).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["Operations"], json!([]));
}

#[tokio::test]
async fn bulk_memberships_for_three_groups_is_one_request() {
    let sb = sandbox();
    let uid = id_of(&sb.create_user("member").await);
    let mut gids = Vec::new();
    for n in ["a", "b", "c"] {
        gids.push(id_of(&sb.create_group(n, &[]).await));
    }
    let before = sb.state.stats().total;
    let ops: Vec<Value> = gids
        .iter()
        .map(|g| {
            json!({"method": "PATCH", "path": format!("/Groups/{g}"),
                   "data": {"schemas": [PATCH_OP_SCHEMA],
                            "Operations": [{"op": "add", "path": "members",
                                            "value": [{"value": uid, "type": "User"}]}]}})
        })
        .collect();
    let a = sb.scim("POST", BULK, Some(json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": ops}))).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(sb.state.stats().total, before + 1);
    let user = sb.get(&format!("{USERS}/{uid}")).await;
    assert_eq!(user["groups"].as_array().map(Vec::len), Some(3));
}
