//! Issue 8: a refresh makes fewer API requests than there are resources (concurrent reads
//! are coalesced into list requests; a refresh of many SCIM users is served from one
//! listing of every user, see `crate::http::prefetch`), and neither ever hides an
//! out-of-band deletion. With `batch_reads = false` every resource is read on its own.
//!
//! The request counts depend on timing (how Terraform spreads its reads), so the bounds
//! are loose, but they fail without coalescing (one request per resource).

use crate::support;

use serde_json::Value;
use support::{Sandbox, Workspace, actions, all_actions};

const USERS: usize = 60;
const IDPS: usize = 10;
const GROUPS: usize = 10;
/// The Fudo assignments the sandbox's seeded users and OIDC configurations allow (the
/// fourth pair is built in).
const PAIRS: [(&str, &str); 3] = [
    ("9124292845052624898", "9124292845052624898"),
    ("9124292845052624898", "9124292845052624897"),
    ("9124292845052624800", "9124292845052624898"),
];

fn config() -> String {
    resources("")
}

/// The resources, after `provider` (a provider block, or nothing for the defaults).
fn resources(provider: &str) -> String {
    format!(
        r#"
{provider}

resource "identity_scim_user" "u" {{
  count     = {USERS}
  user_name = "user-${{count.index}}"
}}

resource "identity_idp" "i" {{
  count = {IDPS}
  name  = "idp-${{count.index}}"
  type  = "oidc"
  oidc = {{
    client_id             = "terraform-${{count.index}}"
    client_secret         = "secret-${{count.index}}"
    discover_document_url = "https://idp.example.com/.well-known/openid-configuration"
  }}
}}

resource "identity_scim_group" "g" {{
  count        = {GROUPS}
  display_name = "group-${{count.index}}"
}}

resource "identity_user_oidc" "a" {{
  count    = {pairs}
  user_id  = local.pairs[count.index][0]
  oidc_id  = local.pairs[count.index][1]
  oidc_sub = "sub-${{count.index}}"
}}

locals {{
  pairs = {pair_list}
}}
"#,
        pairs = PAIRS.len(),
        pair_list = serde_json::to_string(&PAIRS).expect("pairs")
    )
}

/// Requests per route between two `/_sandbox/stats` snapshots.
fn delta(before: &Value, after: &Value, route: &str) -> u64 {
    let n = |s: &Value| s["by_route"][route].as_u64().unwrap_or(0);
    n(after) - n(before)
}

#[test]
fn refresh_uses_fewer_requests_than_resources_and_still_sees_deletions() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&config());
    ws.apply();

    let before = sb.stats();
    assert_eq!(ws.plan_exit_code(&[]), 0, "the refresh-plan after apply is empty");
    let after = sb.stats();
    let total = after["total"].as_u64().unwrap_or(0) - before["total"].as_u64().unwrap_or(0);
    let user_lists = delta(&before, &after, "GET /oci/admin/v1/Users");
    let user_gets = delta(&before, &after, "GET /oci/admin/v1/Users/{id}");
    let idp_lists = delta(&before, &after, "GET /runai/api/v1/idps");
    let idp_gets = delta(&before, &after, "GET /runai/api/v1/idps/{idp}");
    let group_lists = delta(&before, &after, "GET /oci/admin/v1/Groups");
    let group_gets = delta(&before, &after, "GET /oci/admin/v1/Groups/{id}");
    let fudo_reads =
        delta(&before, &after, "GET /fudo/api/v2/user/oidc") + delta(&before, &after, "GET /fudo/api/v2/user/{user_id}/oidc/{oidc_id}");
    let report = format!(
        "{total} requests for {} resources: users {user_lists} lists + {user_gets} GETs, idps {idp_lists} lists + {idp_gets} GETs, \
         groups {group_lists} lists + {group_gets} GETs (and a member list each), Fudo assignments {fudo_reads} reads; \
         all requests so far, by route: {}",
        USERS + IDPS + GROUPS + PAIRS.len(),
        after["by_route"]
    );
    eprintln!("{report}");
    // Without coalescing: USERS + IDPS + 2 * GROUPS (a group and its member list) + PAIRS
    // reads (+ a token); the bound leaves the assignments out. A group's member list is a
    // `GET /Users` with a `groups.value` filter, so it counts among the user lists. Three assignments among
    // 70 other reads may or may not meet in one batch (the client tests show they do
    // when they come together): here they only must not cost more than one read each.
    assert!(fudo_reads as usize <= PAIRS.len(), "{report}");
    assert!(
        (total as usize) * 10 < (USERS + IDPS + 2 * GROUPS) * 6,
        "the refresh used at least 60% as many requests as resources: {report}"
    );
    assert!(((user_lists + user_gets) as usize) * 10 < (USERS + GROUPS) * 6, "{report}");
    assert!(((idp_lists + idp_gets) as usize) < IDPS, "{report}");
    assert!(((group_lists + group_gets) as usize) < GROUPS, "{report}");
    assert!(user_lists > 0 && idp_lists > 0 && group_lists > 0, "every kind was read in batches: {report}");

    // Deleted behind Terraform's back: a batch does not find them, a single read confirms
    // they are gone, and the plan creates them again (and changes nothing else).
    let user = ws.state_attr("identity_scim_user.u[7]", "id").as_str().unwrap_or_default().to_string();
    let (status, body) = sb.http("DELETE", &format!("/oci/admin/v1/Users/{user}"), None);
    assert!((200..300).contains(&status), "DELETE user answered {status}: {body}");
    sb.runai_delete_idp("idp-3");
    sb.fudo_delete_assignment(PAIRS[1].0, PAIRS[1].1);
    let group = ws.state_attr("identity_scim_group.g[4]", "id").as_str().unwrap_or_default().to_string();
    let (status, body) = sb.http("DELETE", &format!("/oci/admin/v1/Groups/{group}"), None);
    assert!((200..300).contains(&status), "DELETE group answered {status}: {body}");
    let logged = sb.requests().len();
    let plan = ws.plan_json();
    // The users were listed in full (the listing's second page, unfiltered), and the user
    // the listing lacked was read on its own: a 404, so it is gone.
    let refresh = &sb.requests()[logged..];
    let user_list = |r: &&Value| r["method"] == "GET" && r["path"] == "/oci/admin/v1/Users";
    let query = |r: &Value| r["query"].as_str().unwrap_or_default().to_string();
    assert!(
        refresh.iter().filter(user_list).any(|r| query(r).contains("startIndex=51") && !query(r).contains("filter")),
        "the refresh listed every user, page by page: {:?}",
        refresh.iter().filter(user_list).map(query).collect::<Vec<_>>()
    );
    assert!(
        refresh.iter().any(|r| r["path"] == format!("/oci/admin/v1/Users/{user}") && r["status"] == 404),
        "the deleted user was confirmed gone by a GET of its own"
    );
    assert_eq!(actions(&plan, "identity_scim_user.u[7]"), ["create"]);
    assert_eq!(actions(&plan, "identity_idp.i[3]"), ["create"]);
    assert_eq!(actions(&plan, "identity_user_oidc.a[1]"), ["create"]);
    assert_eq!(actions(&plan, "identity_scim_group.g[4]"), ["create"]);
    let changed: Vec<_> = all_actions(&plan).into_iter().filter(|(_, a)| a != &["no-op"]).collect();
    assert_eq!(changed.len(), 4, "only the deleted objects change: {changed:?}");
}

#[test]
fn with_batch_reads_off_every_resource_is_read_on_its_own() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let provider = r#"
provider "identity" {
  scim  = { batch_reads = false }
  runai = { batch_reads = false }
  fudo  = { batch_reads = false }
}
"#;
    ws.write_main(&resources(provider));
    ws.apply();

    let before = sb.stats();
    assert_eq!(ws.plan_exit_code(&[]), 0, "the refresh-plan after apply is empty");
    let after = sb.stats();
    let report = format!("requests by route: {}", after["by_route"]);
    assert_eq!(delta(&before, &after, "GET /oci/admin/v1/Users/{id}"), USERS as u64, "one GET per user: {report}");
    assert_eq!(delta(&before, &after, "GET /runai/api/v1/idps/{idp}"), IDPS as u64, "one GET per idp: {report}");
    assert_eq!(delta(&before, &after, "GET /runai/api/v1/idps"), 0, "no idp list: {report}");
    assert_eq!(delta(&before, &after, "GET /oci/admin/v1/Groups/{id}"), GROUPS as u64, "one GET per group: {report}");
    assert_eq!(delta(&before, &after, "GET /oci/admin/v1/Groups"), 0, "no group list: {report}");
    assert_eq!(delta(&before, &after, "GET /fudo/api/v2/user/{user_id}/oidc/{oidc_id}"), PAIRS.len() as u64, "{report}");
    // The user lists left are the groups' member lists (a `groups.value` filter), never a
    // batch or a listing of every user.
    let lists = sb.requests_to("GET", "/oci/admin/v1/Users");
    assert!(lists.iter().all(|r| r["query"].as_str().unwrap_or_default().contains("groups.value")), "{lists:?}");
}
