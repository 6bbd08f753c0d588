//! Group membership on any SCIM 2.0 server.
//!
//! RFC 7643 makes a group's `members` the source of truth and the user's `groups`
//! attribute optional (a server "MAY" maintain it, and some do not). So membership is
//! read the way every RFC 7644 server supports:
//! - the members of a group: the group's own `members` attribute (`GET /Groups/{id}`, or
//!   a filtered list when Terraform refreshes several groups at once);
//! - the groups of a user: `GET /Groups?filter=members[value eq "<user id>"]`, paged (the
//!   filter OCI IAM documents for "groups of a user", without its `type eq "User"` term,
//!   which would miss members added without a `type`);
//! - one membership: `GET /Groups?filter=id eq "<group>" and members[value eq "<user>"]`.
//!
//! `User.groups` is used only as a fallback, where a server refuses to return a group's
//! members in one answer (OCI IAM fails a group read with more than 10,000 members): the
//! members are then paged as users filtered by `groups.value`. That path is trusted only
//! when it finds members, which proves the server maintains `User.groups`; a server that
//! does not gets an error naming the problem, never an empty member list.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::client::{ScimClient, quote};
use super::model::{Group, User};
use crate::http::ApiError;
use crate::http::prefetch::{Lookup, Prefetch, PrefetchSettings};

/// When a refresh of many memberships of one group (`identity_scim_group_member`) reads
/// the group's members once and answers the rest from them: after 20 reads of that
/// group's memberships, one read of the group (its `members`, at most 10,000 in one
/// answer on OCI IAM). A group too large to read in one answer is never prefetched.
const MEMBER_PREFETCH: PrefetchSettings = PrefetchSettings {
    probe_after: 20,
    reads_per_page_tenths: 0,
    large_reads_per_page_tenths: 0,
    page_size: 1,
    max_objects: 10_000,
    ..PrefetchSettings::DEFAULT
};

/// A group and its member user ids.
#[derive(Debug, Clone)]
pub struct GroupWithMembers {
    /// The group as the server answered (`members` taken out).
    pub group: Group,
    pub members: BTreeSet<String>,
}

/// The user ids among a group's `members` (entries of `type` "Group" are nested groups,
/// not users, and are left out; an entry without a `type` is taken as a user).
pub fn user_members(group: &Group) -> BTreeSet<String> {
    group
        .members
        .iter()
        .flatten()
        .filter(|m| m.kind.as_deref().is_none_or(|t| t.eq_ignore_ascii_case("User")))
        .filter_map(|m| m.value.clone())
        .collect()
}

/// The filter term that selects a resource by `id`, or by `ocid` for an OCI ocid.
fn id_term(id: &str) -> String {
    let attr = if id.starts_with("ocid1.") { "ocid" } else { "id" };
    format!("{attr} eq {}", quote(id))
}

/// Whether an error may mean "too many members for one answer" (and not: gone, refused
/// credentials, throttled or unreachable), so that reading the members in pages may help.
fn may_be_too_large(e: &ApiError) -> bool {
    matches!(e.status(), Some(s) if s == 400 || s == 413 || (500..600).contains(&s))
}

impl ScimClient {
    /// A group with its members; None when the group does not exist.
    pub async fn group_with_members(&self, id: &str) -> Result<Option<GroupWithMembers>, ApiError> {
        match self.get_group_with_members_coalesced(id).await {
            Ok(None) => Ok(None),
            Ok(Some(mut group)) => {
                let members = user_members(&group);
                group.members = None;
                Ok(Some(GroupWithMembers { group, members }))
            }
            Err(e) if may_be_too_large(&e) => self.group_with_paged_members(id, e).await,
            Err(e) => Err(e),
        }
    }

    /// The fallback of [`ScimClient::group_with_members`] after `first` refused the
    /// whole group: the group without members, then its members in pages of users.
    async fn group_with_paged_members(&self, id: &str, first: ApiError) -> Result<Option<GroupWithMembers>, ApiError> {
        let group = match self.get::<Group>(id, &[("excludedAttributes", "members".to_string())]).await {
            Ok(Some(g)) => g,
            Ok(None) => return Ok(None),
            // The group cannot be read at all: the first error is the one to report.
            Err(_) => return Err(first),
        };
        let gid = group.id.clone().unwrap_or_else(|| id.to_string());
        let users: Vec<User> =
            self.list_all(Some(&format!("groups.value eq {}", quote(&gid))), &[("attributes", "id".to_string())]).await?;
        let members: BTreeSet<String> = users.into_iter().filter_map(|u| u.id).collect();
        if members.is_empty() {
            // A group too large to read has members: an empty answer means the server does
            // not maintain `User.groups`, and an empty set would be a lie.
            return Err(ApiError::Status {
                vendor: "SCIM",
                status: first.status().unwrap_or(0),
                message: format!(
                    "the server refused to return the members of group {gid} ({first}), and reading them in pages \
                     through the users' `groups` attribute found none, so the server does not maintain `User.groups`. \
                     The group's membership cannot be read"
                ),
                details: None,
                request: None,
            });
        }
        Ok(Some(GroupWithMembers { group, members }))
    }

    /// The ids of every group the user is a member of (`members[value eq ...]`, paged).
    pub async fn groups_of_user(&self, user_id: &str) -> Result<BTreeSet<String>, ApiError> {
        let filter = format!("members[value eq {}]", quote(user_id));
        let groups: Vec<Group> = self.list_all(Some(&filter), &[("attributes", "id".to_string())]).await?;
        Ok(groups.into_iter().filter_map(|g| g.id).collect())
    }

    /// [`ScimClient::is_member`], answered from the group's members once a refresh has
    /// read many memberships of that group (see [`MEMBER_PREFETCH`] and
    /// [`crate::http::prefetch`]): a membership they hold is answered from them, one they
    /// lack is asked on its own, so a removed member still reads as gone.
    pub async fn is_member_prefetched(&self, group_id: &str, user_id: &str) -> Result<bool, ApiError> {
        if !self.http().settings().batch_reads || group_id.is_empty() || group_id.starts_with("ocid1.") {
            return self.is_member(group_id, user_id).await;
        }
        let members = self.member_prefetch(group_id);
        members.wait_for_listing().await;
        match members.lookup(user_id) {
            Lookup::Hit(()) => return Ok(true),
            Lookup::Miss => return self.is_member(group_id, user_id).await,
            Lookup::NoSnapshot => {}
        }
        let list = |_| async {
            let group = self.get::<Group>(group_id, &[]).await?;
            Ok::<_, ApiError>(group.map(|g| user_members(&g).into_iter().map(|u| (u, ())).collect()).unwrap_or_default())
        };
        members.after_read(|| async { Ok::<_, ApiError>((0, Vec::new())) }, list).await;
        match members.lookup(user_id) {
            Lookup::Hit(()) => Ok(true),
            Lookup::Miss | Lookup::NoSnapshot => self.is_member(group_id, user_id).await,
        }
    }

    /// The member prefetcher of `group_id`.
    fn member_prefetch(&self, group_id: &str) -> Arc<Prefetch<()>> {
        let mut all = self.member_snapshots.lock().unwrap_or_else(|e| e.into_inner());
        all.entry(group_id.to_string()).or_insert_with(|| Arc::new(Prefetch::new("SCIM group members", MEMBER_PREFETCH))).clone()
    }

    /// Forgets what was prefetched of `group_id`'s members (its membership is being
    /// written: later reads ask the server).
    pub(super) fn forget_members(&self, group_id: &str) {
        self.member_snapshots.lock().unwrap_or_else(|e| e.into_inner()).remove(group_id);
    }

    /// Whether the user is a member of the group (false also when either is gone).
    pub async fn is_member(&self, group_id: &str, user_id: &str) -> Result<bool, ApiError> {
        let filter = format!("{} and members[value eq {}]", id_term(group_id), quote(user_id));
        let page = self.list_page::<Group>(Some(&filter), &[("attributes", "id".to_string())], 1, 1).await?;
        Ok(page.total_results > 0 || !page.resources.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn user_members_leave_out_nested_groups() {
        let g: Group = serde_json::from_value(json!({"members": [
            {"value": "u1", "type": "User"},
            {"value": "u2"},
            {"value": "g9", "type": "Group"},
            {"value": "u3", "type": "user"},
            {"type": "User"}
        ]}))
        .expect("a group");
        assert_eq!(user_members(&g), ["u1", "u2", "u3"].into_iter().map(String::from).collect());
        assert!(user_members(&serde_json::from_value(json!({"displayName": "x"})).expect("a group")).is_empty());
    }

    use crate::http::HttpSettings;
    use crate::sandbox::{SandboxConfig, spawn};
    use crate::vendors::scim::client::ScimAuth;
    use crate::vendors::scim::model::Member;

    /// A sandbox, a client, three users and a group holding all of them.
    async fn fixture(config: SandboxConfig) -> (crate::sandbox::RunningSandbox, ScimClient, Vec<String>, String) {
        let s = spawn(config).await.expect("sandbox");
        let token = ScimAuth::Static(crate::sandbox::DEFAULT_SCIM_STATIC_TOKEN.into());
        let c = ScimClient::new(&s.scim_url(), token, None, HttpSettings { max_retries: 0, ..Default::default() }).expect("client");
        let mut users = Vec::new();
        for i in 0..3 {
            let u = c.create(&User { user_name: Some(format!("m{i}")), ..User::default() }).await.expect("user");
            users.push(u.id.expect("id"));
        }
        let members = users.iter().map(|u| Member::user(u)).collect();
        let g = c.create(&Group { display_name: Some("all".into()), members: Some(members), ..Group::default() }).await.expect("group");
        (s, c, users, g.id.expect("id"))
    }

    #[tokio::test]
    async fn membership_reads_work_without_user_groups() {
        let (_s, c, users, g) = fixture(SandboxConfig { scim_no_user_groups: true, ..SandboxConfig::default() }).await;
        let read = c.group_with_members(&g).await.expect("read").expect("found");
        assert_eq!(read.members, users.iter().cloned().collect());
        assert!(read.group.members.is_none());
        assert_eq!(c.groups_of_user(&users[1]).await.expect("groups"), [g.clone()].into_iter().collect());
        assert!(c.is_member(&g, &users[2]).await.expect("is member"));
        assert!(!c.is_member(&g, "nobody").await.expect("is member"));
        assert!(!c.is_member("no-such-group", &users[2]).await.expect("is member"));
        assert!(c.group_with_members("no-such-group").await.expect("read").is_none());
    }

    #[tokio::test]
    async fn a_group_over_the_answer_cap_is_paged_through_user_groups() {
        let (_s, c, users, g) = fixture(SandboxConfig { scim_max_members: 2, ..SandboxConfig::default() }).await;
        let read = c.group_with_members(&g).await.expect("read").expect("found");
        assert_eq!(read.members, users.iter().cloned().collect(), "all three members, read in pages of users");
        assert_eq!(read.group.display_name.as_deref(), Some("all"));
    }

    #[tokio::test]
    async fn a_group_over_the_cap_without_user_groups_is_an_error_not_an_empty_group() {
        let config = SandboxConfig { scim_max_members: 2, scim_no_user_groups: true, ..SandboxConfig::default() };
        let (_s, c, _users, g) = fixture(config).await;
        let e = c.group_with_members(&g).await.expect_err("cannot be read");
        let text = e.to_string();
        assert!(text.contains("does not maintain `User.groups`") && text.contains("more than the 2"), "{text}");
    }

    #[tokio::test]
    async fn many_membership_reads_of_one_group_read_its_members_once() {
        let s = spawn(SandboxConfig::default()).await.expect("sandbox");
        let token = || ScimAuth::Static(crate::sandbox::DEFAULT_SCIM_STATIC_TOKEN.into());
        let c = ScimClient::new(&s.scim_url(), token(), None, HttpSettings { max_retries: 0, ..Default::default() }).expect("client");
        let mut users = Vec::new();
        for i in 0..40 {
            users.push(c.create(&User { user_name: Some(format!("m{i}")), ..User::default() }).await.expect("user").id.expect("id"));
        }
        let members = users.iter().map(|u| Member::user(u)).collect();
        let g = c.create(&Group { display_name: Some("big".into()), members: Some(members), ..Group::default() }).await.expect("group");
        let g = g.id.expect("id");
        // Removed behind the refresh's back, before it starts.
        c.patch::<Group>(&g, &[super::super::client::PatchOperation::remove_member(&users[35])]).await.expect("remove");

        let from = s.state.requests().len();
        for (i, u) in users.iter().enumerate() {
            assert_eq!(c.is_member_prefetched(&g, u).await.expect("read"), i != 35, "member {i}");
        }
        let requests = &s.state.requests()[from..];
        let group_reads = requests.iter().filter(|r| r.path.ends_with(&format!("/Groups/{g}"))).count();
        let filtered = requests.iter().filter(|r| r.path.ends_with("/Groups")).count();
        assert_eq!(group_reads, 1, "the group's members were read once: {requests:?}");
        assert_eq!(filtered, 19 + 1, "19 reads on their own (the 20th reads the members), then the one they lacked: {requests:?}");

        // This client's own writes are read afresh.
        c.patch::<Group>(&g, &[super::super::client::PatchOperation::remove_member(&users[36])]).await.expect("remove");
        assert!(!c.is_member_prefetched(&g, &users[36]).await.expect("read"), "removed by this client");
        // With batch_reads off, every read asks.
        let off = ScimClient::new(&s.scim_url(), token(), None, HttpSettings { batch_reads: false, ..Default::default() }).expect("client");
        let from = s.state.requests().len();
        for u in &users[..25] {
            assert!(off.is_member_prefetched(&g, u).await.expect("read"));
        }
        assert_eq!(s.state.requests()[from..].len(), 25);
    }

    #[test]
    fn id_terms_address_ocids_by_ocid() {
        assert_eq!(id_term("abc"), "id eq \"abc\"");
        assert_eq!(id_term("ocid1.group.oc1..x"), "ocid eq \"ocid1.group.oc1..x\"");
    }
}
