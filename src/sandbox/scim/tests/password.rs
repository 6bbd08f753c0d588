//! Tests of the UserPasswordChanger: the password policy, and that passwords are never
//! shown or kept.

use super::*;

#[tokio::test]
async fn password_changer_policy_and_secrecy() {
    let sb = sandbox();
    let u = sb.create_user("pw").await;
    let id = id_of(&u);
    let ocid = u["ocid"].as_str().expect("ocid").to_string();
    let body = |p: &str| json!({"password": p, "schemas": [PASSWORD_CHANGER_SCHEMA]});

    let a = sb.scim("PUT", &format!("/oci/admin/v1/UserPasswordChanger/{id}"), Some(body("Short1!"))).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.header(header::CONTENT_TYPE), Some("application/scim+json"));
    assert_eq!(
        a.json,
        json!({
            "schemas": [
                "urn:ietf:params:scim:api:messages:2.0:Error",
                "urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error"
            ],
            "detail": "The password does not meet the criteria of the password policy because: [The password must have at least 12 characters.]",
            "status": "400",
            "urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error": {
                "messageId": "error.identity.passwordmgmt.pwdpolicyViolation"
            }
        })
    );
    // Eleven characters (multi-byte ones count as one) are still too short.
    let a = sb.scim("PUT", &format!("/oci/admin/v1/UserPasswordChanger/{id}"), Some(body("ééééééééééé"))).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    let location = format!("{BASE}/oci/admin/v1/UserPasswordChanger/{ocid}");
    let a = sb.scim("PUT", &format!("/oci/admin/v1/UserPasswordChanger/{ocid}"), Some(body("Welcome@123Bro"))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["schemas"], json!([PASSWORD_CHANGER_SCHEMA]));
    assert_eq!(a.json["id"], json!(id));
    assert_eq!(a.json["ocid"], json!(ocid));
    assert_eq!(a.json["meta"], json!({"resourceType": "UserPasswordChanger", "location": location}));
    for k in ["domainOcid", "compartmentOcid", "tenancyOcid"] {
        assert!(a.json[k].as_str().is_some_and(|s| s.starts_with("ocid1.")), "{k}");
    }
    assert!(!a.raw.contains("Welcome@123Bro"));
    let a = sb.scim("PUT", &format!("/oci/admin/v1/UserPasswordChanger/{id}"), Some(body("Another-Passw0rd"))).await;
    assert_eq!(a.status, StatusCode::OK);

    // Errors.
    let a = sb.scim("PUT", "/oci/admin/v1/UserPasswordChanger/ghost", Some(body("Welcome@123Bro"))).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
    let a = sb.scim("PUT", &format!("/oci/admin/v1/UserPasswordChanger/{id}"), Some(json!({"schemas": [PASSWORD_CHANGER_SCHEMA]}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));

    // The state counts; the text is nowhere (state, log, user resource).
    let state = sb.state_json().await;
    let user = &state["oci"]["users"][0];
    assert_eq!(user["passwordChanges"], json!(2));
    assert_eq!(user["passwordSet"], json!(true));
    let everything = format!("{state}{}{}", Value::Array(sb.log().await), sb.get(&format!("{USERS}/{id}")).await);
    for secret in ["Short1!", "Welcome@123Bro", "Another-Passw0rd", "ééé"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
    let log = sb.log().await;
    assert_eq!(log[2]["body"]["password"], json!("***"));
    let fresh = sb.create_user("nopw").await;
    let state = sb.state_json().await;
    let fresh = state["oci"]["users"].as_array().and_then(|us| us.iter().find(|u| u["id"] == fresh["id"]).cloned()).expect("user in state");
    assert_eq!(fresh["passwordChanges"], json!(0));
    assert_eq!(fresh["passwordSet"], json!(false));
}
