//! Tests of the emulation switches: `--scim-no-user-groups` (no `User.groups`) and
//! `--scim-max-members` (a cap on the group members of one answer).

use super::*;

#[tokio::test]
async fn without_user_groups_membership_shows_only_in_the_groups() {
    let sb = sandbox_with(SandboxConfig { scim_no_user_groups: true, ..SandboxConfig::default() });
    let u = sb.create_user("no-groups").await;
    let g = sb.create_group("team", &[&id_of(&u)]).await;
    let user = sb.get(&format!("{USERS}/{}", id_of(&u))).await;
    assert!(user.get("groups").is_none(), "users carry no groups attribute: {user}");
    assert!(filter_users(&sb, &format!("groups.value eq \"{}\"", id_of(&g))).await.is_empty(), "groups.value matches nothing");
    assert_eq!(filter_groups(&sb, &format!("members[value eq \"{}\"]", id_of(&u))).await, ["team"], "the group's members still match");

    // The default keeps User.groups.
    let sb = sandbox();
    let u = sb.create_user("with-groups").await;
    let g = sb.create_group("team", &[&id_of(&u)]).await;
    assert_eq!(sb.get(&format!("{USERS}/{}", id_of(&u))).await["groups"][0]["value"], json!(id_of(&g)));
}

#[tokio::test]
async fn answers_with_more_members_than_the_cap_are_refused() {
    let sb = sandbox_with(SandboxConfig { scim_max_members: 2, ..SandboxConfig::default() });
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(id_of(&sb.create_user(&format!("cap-{i}")).await));
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let big = sb.create_group("big", &refs).await;
    let small = sb.create_group("small", &refs[..2]).await;
    let path = format!("{GROUPS}/{}", id_of(&big));
    assert_scim_error(&sb.scim("GET", &path, None).await, StatusCode::BAD_REQUEST, Some("tooMany"));
    // Without the members, or a group within the cap, it answers.
    let a = sb.scim("GET", &format!("{path}?excludedAttributes=members"), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(member_ids(&sb.get(&format!("{GROUPS}/{}", id_of(&small))).await).len(), 2);
    // A list counts the members of every group it holds.
    assert_scim_error(&list(&sb, GROUPS, "").await, StatusCode::BAD_REQUEST, Some("tooMany"));
    assert_eq!(list(&sb, GROUPS, "attributes=displayName").await.status, StatusCode::OK);
    // The members can be paged as users filtered by groups.value.
    let a = list(&sb, USERS, &format!("filter={}&count=2", query(&format!("groups.value eq \"{}\"", id_of(&big))))).await;
    assert_eq!((a.status, a.json["totalResults"].as_u64()), (StatusCode::OK, Some(3)), "{}", a.raw);
}
