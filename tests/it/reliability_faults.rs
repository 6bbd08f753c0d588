//! Reliability under faults, through the real terraform CLI: 150 SCIM users, 10 SCIM
//! groups with members and 5 Run:ai identity providers are applied while 20% of the
//! vendor requests fail (429 and 503 with `Retry-After: 1`, and a quarter of the failures
//! are connections dropped after the handler ran: the server acted, the answer is lost).
//!
//! Checks: the apply succeeds; once faults stop, the plan is empty; the server holds
//! exactly the configured objects (no duplicate from a retried POST, no orphan from a lost
//! answer); destroy leaves nothing. Prints the figures (retries, faults, wall times with
//! and without faults); timing is reported, never asserted.
//!
//! The provider gets `max_retries = 10` (the default is 5): at a 20% failure rate a
//! request fails 6 times in a row with probability 0.2^6 = 6.4e-5, and this apply sends
//! some 250 requests, so the default would fail about one run in 60; with 10 retries,
//! 0.2^11 per request, about one in 80,000.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde_json::{Value, json};
use support::{Auth, Sandbox, Workspace, scim_list};

const USERS: usize = 150;
const GROUPS: usize = 10;
const MEMBERS_PER_GROUP: usize = 15;
const IDPS: usize = 5;

fn config() -> String {
    format!(
        r#"
provider "identity" {{
  # Headroom for a 20% failure rate (see the module docs).
  max_retries = 10
  scim = {{
    max_concurrent_requests = 10
  }}
}}

locals {{
  users = toset([for i in range({USERS}) : format("user%03d", i)])
}}

resource "identity_scim_user" "u" {{
  for_each    = local.users
  user_name   = each.key
  given_name  = "Test"
  family_name = each.key
  emails = [{{
    value   = "${{each.key}}@example.com"
    primary = true
  }}]
}}

resource "identity_scim_group" "g" {{
  count        = {GROUPS}
  display_name = format("group%02d", count.index)
  description  = "fault test group ${{count.index}}"
  members      = toset([for i in range({MEMBERS_PER_GROUP}) : identity_scim_user.u[format("user%03d", count.index * {MEMBERS_PER_GROUP} + i)].id])
}}

resource "identity_idp" "idp" {{
  count = {IDPS}
  name  = "corp-${{count.index}}"
  type  = "oidc"
  oidc = {{
    client_id                = "terraform-${{count.index}}"
    client_secret_wo         = "fault-test-secret-${{count.index}}"
    client_secret_wo_version = 1
    discover_document_url    = "https://idp.example.com/.well-known/openid-configuration"
    scopes                   = ["openid", "email"]
  }}
}}
"#
    )
}

fn faults(sb: &Sandbox) -> Value {
    let (status, v) = sb.http_with("GET", "/_sandbox/faults", None, Auth::None);
    assert_eq!(status, 200, "{v}");
    v
}

fn member_ids(group: &Value) -> BTreeSet<String> {
    group["members"]
        .as_array()
        .map(|ms| ms.iter().filter_map(|m| m.as_str().or_else(|| m["value"].as_str()).map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Asserts that the server holds exactly the configured objects, and that they are the
/// ones in the Terraform state.
fn assert_server_matches(sb: &Sandbox, ws: &Workspace, idps_before: &BTreeSet<String>) {
    let state = sb.state();
    let users = scim_list(&state, "users");
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for u in &users {
        by_name
            .entry(u["userName"].as_str().unwrap_or_default().to_lowercase())
            .or_default()
            .push(u["id"].as_str().unwrap_or_default().into());
    }
    let dups: Vec<_> = by_name.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(dups.is_empty(), "duplicate users on the server: {dups:?}");
    let want: BTreeSet<String> = (0..USERS).map(|i| format!("user{i:03}")).collect();
    let have: BTreeSet<String> = by_name.keys().cloned().collect();
    assert_eq!(have, want, "the server's users are exactly the configured ones");

    let groups = scim_list(&state, "groups");
    let names: Vec<&str> = groups.iter().filter_map(|g| g["displayName"].as_str()).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(names.len(), unique.len(), "duplicate groups on the server: {names:?}");
    assert_eq!(unique, (0..GROUPS).map(|i| format!("group{i:02}")).collect::<BTreeSet<_>>().iter().map(String::as_str).collect());
    let id_of = |name: &str| by_name[name][0].clone();
    for g in &groups {
        let n: usize = g["displayName"].as_str().unwrap_or_default()[5..].parse().expect("group number");
        let expected: BTreeSet<String> = (0..MEMBERS_PER_GROUP).map(|i| id_of(&format!("user{:03}", n * MEMBERS_PER_GROUP + i))).collect();
        assert_eq!(member_ids(g), expected, "members of {}", g["displayName"]);
    }

    let aliases: BTreeSet<String> = sb.runai_aliases().into_iter().filter(|a| !idps_before.contains(a)).collect();
    assert_eq!(
        aliases,
        (0..IDPS).map(|i| format!("corp-{i}")).collect::<BTreeSet<_>>(),
        "the server's idps are exactly the configured ones"
    );

    // No orphans: every object on the server is the one in the state.
    let state_ids: BTreeSet<String> = ws
        .show_json()
        .pointer("/values/root_module/resources")
        .and_then(Value::as_array)
        .map(|rs| rs.iter().filter_map(|r| r["values"]["id"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    for u in &users {
        let id = u["id"].as_str().unwrap_or_default();
        assert!(state_ids.contains(id), "user {} ({id}) is on the server but not in the state", u["userName"]);
    }
    for g in &groups {
        let id = g["id"].as_str().unwrap_or_default();
        assert!(state_ids.contains(id), "group {} ({id}) is on the server but not in the state", g["displayName"]);
    }
    for a in &aliases {
        assert!(state_ids.contains(a), "idp {a} is on the server but not in the state");
    }
}

fn route(stats: &Value, r: &str) -> u64 {
    stats["by_route"][r].as_u64().unwrap_or(0)
}

#[test]
fn apply_converges_under_twenty_percent_faults() {
    // Fault-free baseline: the same configuration in a second sandbox and workspace.
    let clean_sb = Sandbox::start();
    let clean = Workspace::new(&clean_sb);
    clean.write_main(&config());
    let t = Instant::now();
    clean.apply_unchecked("a baseline whose requests are counted, not a test of its own");
    let clean_secs = t.elapsed();
    let clean_stats = clean_sb.stats();
    drop(clean);
    drop(clean_sb);

    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&config());
    let idps_before: BTreeSet<String> = sb.runai_aliases().into_iter().collect();
    // 20% of vendor requests fail: 429 or 503 (Retry-After: 1) for three quarters of
    // them, a connection dropped after the handler ran for the other quarter. The
    // sandbox's Retry-After is whole seconds (as HTTP's is).
    sb.set_faults(json!({
        "rate": 0.2,
        "statuses": [429, 503],
        "retry_after": 1,
        "drop_after_handler": true,
        "drop_share": 0.25,
        "seed": 20240619,
    }));
    let t = Instant::now();
    ws.apply_unchecked("faults are still injected and its requests are counted; checked once they are off");
    let faulted_secs = t.elapsed();
    let faulted_stats = sb.stats();
    let f = faults(&sb);
    sb.set_faults(json!({"rate": 0}));

    let faulted_log = sb.requests();
    let by_status = |s: u64| faulted_log.iter().filter(|r| r["fault"] == true && r["status"].as_u64() == Some(s)).count();
    let total = faulted_stats["total"].as_u64().unwrap_or(0);
    let clean_total = clean_stats["total"].as_u64().unwrap_or(0);
    let posts = |stats: &Value| {
        route(stats, "POST /oci/admin/v1/Users") + route(stats, "POST /oci/admin/v1/Groups") + route(stats, "POST /runai/api/v1/idps")
    };
    // Creating POSTs the server carried out: answered 2xx, or 2xx before the answer was lost.
    let creating = |r: &&Value| {
        r["method"] == "POST"
            && ["/oci/admin/v1/Users", "/oci/admin/v1/Groups", "/runai/api/v1/idps"].contains(&r["path"].as_str().unwrap_or(""))
    };
    let handled_2xx = |r: &&Value| (200..300).contains(&r["handler_status"].as_u64().unwrap_or_else(|| r["status"].as_u64().unwrap_or(0)));
    let created = faulted_log.iter().filter(creating).filter(handled_2xx).count();
    let lost_after_create = faulted_log.iter().filter(creating).filter(|r| r["status"] == 0 && handled_2xx(r)).count();
    eprintln!(
        "fault test figures:\n  \
         fault-free apply: {:.1} s, {clean_total} requests ({} creating POSTs)\n  \
         faulted apply:    {:.1} s, {total} requests ({} creating POSTs)\n  \
         extra requests (retries and lookups): {}\n  \
         faults injected: {} ({} answered 429, {} answered 503, {} dropped after the handler ran)\n  \
         creates the server carried out: {created}, of which {lost_after_create} lost their answer (adopted, not sent again)",
        clean_secs.as_secs_f64(),
        posts(&clean_stats),
        faulted_secs.as_secs_f64(),
        posts(&faulted_stats),
        total.saturating_sub(clean_total),
        f["injected"],
        by_status(429),
        by_status(503),
        f["dropped"],
    );
    assert!(f["injected"].as_u64().unwrap_or(0) > 20, "faults were injected: {f}");
    assert!(f["dropped"].as_u64().unwrap_or(0) > 0, "some answers were lost: {f}");
    assert_eq!(created, USERS + GROUPS + IDPS, "every object was created exactly once on the server");

    // Faults off: nothing left to do, and the server holds exactly what is configured.
    ws.check_applied();
    assert_server_matches(&sb, &ws, &idps_before);

    let t = Instant::now();
    ws.destroy();
    eprintln!("  destroy: {:.1} s", t.elapsed().as_secs_f64());
    let state = sb.state();
    assert_eq!(scim_list(&state, "users").len(), 0, "users left after destroy");
    assert_eq!(scim_list(&state, "groups").len(), 0, "groups left after destroy");
    let left: Vec<String> = sb.runai_aliases().into_iter().filter(|a| !idps_before.contains(a)).collect();
    assert!(left.is_empty(), "idps left after destroy: {left:?}");
}
