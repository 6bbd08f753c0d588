//! Tests of the routing: unknown SCIM paths and unsupported methods are SCIM errors;
//! `GET /ServiceProviderConfig`.

use super::*;

#[tokio::test]
async fn unknown_paths_and_methods_are_scim_errors() {
    let sb = sandbox();
    let a = sb.scim("GET", "/oci/admin/v1/Nowhere", None).await;
    assert_scim_error(&a, StatusCode::NOT_FOUND, None);
    let a = sb.scim("DELETE", USERS, None).await;
    assert_scim_error(&a, StatusCode::METHOD_NOT_ALLOWED, None);
    let a = sb.scim("GET", "/oci/admin/v1/UserPasswordChanger/x", None).await;
    assert_scim_error(&a, StatusCode::METHOD_NOT_ALLOWED, None);
    let a = sb.scim("GET", BULK, None).await;
    assert_scim_error(&a, StatusCode::METHOD_NOT_ALLOWED, None);
    let a = sb.scim("GET", "/oci/admin/v1/ServiceProviderConfig", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["bulk"]["supported"], json!(true));
    assert_eq!(a.json["filter"]["maxResults"], json!(50));
}
