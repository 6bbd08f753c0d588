//! Tests of the OCI data in the sandbox state: `GET /_sandbox/state`, reset, the `--data`
//! file, and older state files without OCI data.

use super::attributes::full_user;
use super::*;

#[tokio::test]
async fn state_reset_and_persistence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state.json");
    let config = SandboxConfig { data: Some(file.clone()), ..SandboxConfig::default() };
    let (u1, u2, g1, g2);
    {
        let sb = sandbox_with(config.clone());
        assert_eq!(sb.state_json().await["oci"], json!({"users": [], "groups": []}));
        let a = sb.create_user("first").await;
        u1 = id_of(&a);
        u2 = id_of(&sb.create_user("second").await);
        let a = sb
            .scim(
                "POST",
                GROUPS,
                Some(json!({
                    "schemas": [GROUP_SCHEMA, GROUP_EXTENSION], "displayName": "G1",
                    "members": [{"value": u2, "type": "User"}, {"value": u1, "type": "User"}],
                    GROUP_EXTENSION: {"description": "persisted"}
                })),
            )
            .await;
        g1 = id_of(&a.json);
        g2 = id_of(&sb.create_group("G2", &[]).await);
        sb.scim(
            "PUT",
            &format!("/oci/admin/v1/UserPasswordChanger/{u1}"),
            Some(json!({"password": "Long-enough-pw", "schemas": [PASSWORD_CHANGER_SCHEMA]})),
        )
        .await;
        let state = sb.state_json().await;
        let oci = &state["oci"];
        assert_eq!(oci["users"][0]["userName"], json!("first"));
        assert_eq!(oci["users"][0]["passwordChanges"], json!(1));
        assert_eq!(oci["users"][0]["meta"]["location"], json!(format!("{USERS}/{u1}")));
        assert_eq!(oci["users"][1]["groups"][0]["value"], json!(g1));
        assert_eq!(member_ids(&oci["groups"][0]), vec![u2.clone(), u1.clone()]);
        assert_eq!(oci["groups"][0][GROUP_EXTENSION]["description"], json!("persisted"));
        assert!(!state.to_string().contains("Long-enough-pw"));
    }
    let on_disk = std::fs::read_to_string(&file).expect("read");
    assert!(!on_disk.contains("Long-enough-pw"));

    // A new server on the same file has the same objects, in the same order.
    let sb = sandbox_with(config);
    let before = sb.state_json().await;
    let g = sb.get(&format!("{GROUPS}/{g1}")).await;
    assert_eq!(member_ids(&g), vec![u2.clone(), u1.clone()]);
    assert_eq!(g["schemas"], json!([GROUP_SCHEMA, GROUP_EXTENSION]));
    assert_eq!(g[GROUP_EXTENSION]["description"], json!("persisted"));
    let names: Vec<String> = sb.get(USERS).await["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|u| u["userName"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(names, vec!["first", "second"]);
    assert_eq!(before["oci"]["users"][0]["passwordChanges"], json!(1));
    assert_eq!(before["oci"]["users"][0]["passwordSet"], json!(true));
    let u = sb.get(&format!("{USERS}/{u1}")).await;
    assert_eq!(u["meta"]["created"], before["oci"]["users"][0]["meta"]["created"]);
    assert_eq!(sb.get(&format!("{GROUPS}/{g2}")).await["displayName"], json!("G2"));
    // Still unique after the reload.
    let a = sb.scim("POST", USERS, Some(user_body("FIRST", "a", "b"))).await;
    assert_scim_error(&a, StatusCode::CONFLICT, Some("uniqueness"));

    // Reset empties the domain (and persists that), but issued tokens stay valid.
    let token = sb.client_token().await;
    let a = sb.send("POST", "/_sandbox/reset", None, None, None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(sb.state_json().await["oci"], json!({"users": [], "groups": []}));
    let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
    assert_eq!(on_disk["oci"], json!({"users": [], "groups": []}));
    let a = sb.send("GET", USERS, Some(&format!("Bearer {token}")), None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["totalResults"], json!(0));
}

#[tokio::test]
async fn older_state_files_load_without_oci() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state.json");
    std::fs::write(&file, r#"{"runai": {"idps": []}}"#).expect("write");
    let sb = sandbox_with(SandboxConfig { data: Some(file), ..SandboxConfig::default() });
    assert_eq!(sb.state_json().await["oci"], json!({"users": [], "groups": []}));
}

#[tokio::test]
async fn optional_attributes_and_versions_survive_the_data_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = SandboxConfig { data: Some(dir.path().join("state.json")), ..SandboxConfig::default() };
    let (path, before);
    {
        let sb = sandbox_with(config.clone());
        let a = sb.scim("POST", USERS, Some(full_user("kept"))).await;
        path = format!("{USERS}/{}", id_of(&a.json));
        before = sb.get(&path).await;
        assert_eq!(sb.state_json().await["oci"]["users"][0]["meta"]["version"], before["meta"]["version"]);
    }
    let sb = sandbox_with(config);
    let after = sb.get(&path).await;
    assert_eq!(after, before, "optional attributes, the made name.formatted and the version (not wrapped twice) are kept");
    let version = before["meta"]["version"].as_str().unwrap_or_default();
    let a = sb.scim_with("GET", &path, &[(header::IF_NONE_MATCH, version)], None).await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
    // The made `formatted` is still made: it follows a new given name.
    let a = sb.patch(&path, json!([{"op": "replace", "path": "name.givenName", "value": "Zed"}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.raw);
    assert_eq!(sb.get(&path).await["name"]["formatted"], json!("Zed Jensen"));
}
