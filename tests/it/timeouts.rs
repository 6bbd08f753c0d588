//! `timeouts` through the real terraform CLI: a rate-limited vendor (every request
//! answered 429 with `Retry-After: 30`) makes operations wait, and `timeouts` stops them
//! with a diagnostic that names the operation, the timeout and how to raise it; Ctrl-C
//! (StopProvider) ends such a wait at once; and `timeouts` is provider-side only (a
//! change of it alone is an update that sends nothing; an import without it plans
//! nothing).

use crate::support;

use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Auth, Sandbox, Workspace, actions, flat, resource_change};

/// A hang guard, not a measurement: the vendor asks to wait an hour, which the provider
/// cuts to its longest honoured `Retry-After` (120 s); the timeouts in these tests are
/// 1-2 s. A timeout that was not honoured takes 120 s or more, an honoured one a few
/// seconds even on a slow machine. What is asserted exactly is the number of requests.
const PROMPT: Duration = Duration::from_secs(90);
const USER_1: &str = "9124292845052624898";
const OKTA2: &str = "9124292845052624898";
const DISCOVERY: &str = "https://idp.example.com/.well-known/openid-configuration";

/// Every vendor request answers 429 with `Retry-After: 3600`.
fn rate_limit(sb: &Sandbox) {
    sb.set_faults(json!({"rate": 1, "statuses": [429], "retry_after": 3600}));
}

/// How many vendor requests were answered with an injected fault so far.
fn injected(sb: &Sandbox) -> u64 {
    let (_, faults) = sb.http_with("GET", "/_sandbox/faults", None, Auth::None);
    faults["injected"].as_u64().expect("the sandbox counts injected faults")
}

/// Runs `f` under the rate limit and asserts that exactly one request was sent: the first
/// one's 429 asks for a wait past the deadline, so nothing is retried.
fn timed_once<T>(sb: &Sandbox, what: &str, f: impl FnOnce() -> T) -> (T, Duration) {
    let before = injected(sb);
    let r = timed(what, f);
    assert_eq!(injected(sb) - before, 1, "{what}: one request, answered 429, and no retry within the timeout");
    r
}

fn no_faults(sb: &Sandbox) {
    sb.set_faults(json!({"rate": 0}));
}

/// Vendor requests so far, by vendor.
fn by_vendor(sb: &Sandbox) -> Value {
    sb.stats()["by_vendor"].clone()
}

/// `timeouts = { k = "v", ... }`.
fn timeouts(pairs: &[(&str, &str)]) -> String {
    let body = pairs.iter().map(|(k, v)| format!("{k} = \"{v}\"")).collect::<Vec<_>>().join(", ");
    format!("  timeouts = {{ {body} }}\n")
}

fn scim_user(extra: &str) -> String {
    format!("resource \"identity_scim_user\" \"alice\" {{\n  user_name = \"alice@example.com\"\n{extra}}}\n")
}

fn idp(extra: &str) -> String {
    format!(
        "resource \"identity_idp\" \"corp\" {{\n  name = \"corp\"\n  type = \"oidc\"\n  oidc = {{\n    client_id        = \"terraform\"\n    \
         client_secret_wo = \"s3cret\"\n    discover_document_url = \"{DISCOVERY}\"\n  }}\n{extra}}}\n"
    )
}

/// Runs `f`, asserting it returned within [`PROMPT`]; returns its answer and the time taken.
fn timed<T>(what: &str, f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    let took = t.elapsed();
    eprintln!("timeouts figures: {what} took {} ms", took.as_millis());
    assert!(took < PROMPT, "{what} took {took:?}; a timeout of a few seconds must end it well within {PROMPT:?}");
    (r, took)
}

#[test]
fn scim_user_create_stops_at_its_timeout_and_a_rerun_converges() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&scim_user(&timeouts(&[("create", "2s")])));
    rate_limit(&sb);
    let (err, took) = timed_once(&sb, "a rate-limited SCIM user create with timeouts.create = 2s", || ws.apply_expect_err());
    let f = flat(&err);
    assert!(f.contains("Timed out creating the SCIM user \"alice@example.com\""), "{err}");
    assert!(f.contains("Creating the SCIM user \"alice@example.com\" took longer than timeouts.create (2s)"), "{err}");
    assert!(f.contains("timeouts = { create = \"4s\" }"), "the message says how to raise it:\n{err}");
    assert!(f.contains("Nothing was recorded in the Terraform state"), "{err}");
    assert!(took >= Duration::from_secs(2), "the timeout is 2 s, not less: {took:?}");
    assert!(ws.state_addresses().is_empty(), "nothing recorded: {:?}", ws.state_addresses());

    no_faults(&sb);
    ws.apply();
    assert_eq!(ws.state_attr("identity_scim_user.alice", "timeouts.create"), json!("2s"));
    let users = sb.scim_users();
    assert_eq!(users.len(), 1, "exactly one user, no duplicate: {users:?}");
}

#[test]
fn idp_create_read_and_delete_stop_at_their_timeouts() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&idp(&timeouts(&[("create", "2s"), ("read", "1s"), ("delete", "1s")])));

    rate_limit(&sb);
    let (err, _) = timed_once(&sb, "a rate-limited idp create with timeouts.create = 2s", || ws.apply_expect_err());
    let f = flat(&err);
    assert!(f.contains("Timed out creating the identity provider \"corp\""), "{err}");
    assert!(f.contains("took longer than timeouts.create (2s)") && f.contains("timeouts = { create = \"4s\" }"), "{err}");
    assert!(!err.contains("s3cret"), "no secret in the output:\n{err}");
    assert!(ws.state_addresses().is_empty(), "{:?}", ws.state_addresses());

    no_faults(&sb);
    ws.apply();
    assert_eq!(sb.runai_aliases(), ["corp"]);

    // A refresh under the rate limit stops at timeouts.read, stored in the state.
    rate_limit(&sb);
    let (out, _) = timed_once(&sb, "a rate-limited refresh with timeouts.read = 1s", || ws.plan_expect_err(&[]));
    let f = flat(&out);
    assert!(f.contains("Timed out reading the identity provider \"corp\""), "{out}");
    assert!(f.contains("took longer than timeouts.read (1s)") && f.contains("terraform apply -refresh=false"), "{out}");

    // So does a destroy, which keeps the idp in the state.
    let (out, _) = timed_once(&sb, "a rate-limited destroy with timeouts.delete = 1s", || {
        ws.run_err(&["destroy", "-auto-approve", "-input=false", "-no-color", "-refresh=false"])
    });
    let f = flat(&out);
    assert!(f.contains("Timed out deleting the identity provider \"corp\""), "{out}");
    assert!(f.contains("took longer than timeouts.delete (1s)") && f.contains("It stays in the Terraform state"), "{out}");
    assert_eq!(ws.state_addresses(), ["identity_idp.corp"]);

    no_faults(&sb);
    ws.destroy();
    assert!(sb.runai_aliases().is_empty(), "{:?}", sb.runai_aliases());
}

/// Ctrl-C while every request waits on a long Retry-After: terraform sends StopProvider
/// and the apply ends at once, long before the 20 minute default timeout or the 30 s
/// Retry-After.
#[test]
fn interrupt_ends_a_rate_limited_wait_promptly() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(&scim_user(""));
    rate_limit(&sb);

    let mut apply = ws.spawn(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    // Wait until the provider has been told to wait (a 429 was answered), then a little
    // more so that it sits in the pause.
    apply.wait_for("the rate-limited request", Duration::from_secs(60), || {
        let (_, faults) = sb.http_with("GET", "/_sandbox/faults", None, Auth::None);
        faults["injected"].as_u64().unwrap_or(0) >= 1
    });
    thread::sleep(Duration::from_millis(500));

    let (exit, took, stdout, stderr) = apply.interrupt();
    eprintln!("timeouts figures: terraform apply exited {} ms after SIGINT during a 429 pause", took.as_millis());
    assert!(!exit.success(), "an interrupted apply fails\n{stdout}\n{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("Interrupted") && all.contains("Terraform asked the provider to stop"),
        "the provider's own diagnostic says why:\n{stdout}\n{stderr}"
    );
    // The pause asked for is an hour (120 s once cut): a prompt end is well within PROMPT.
    assert!(took < PROMPT, "the wait must end promptly after StopProvider, took {took:?}");
    assert_eq!(injected(&sb), 1, "the one rate-limited request was not retried");
    no_faults(&sb);
    assert!(ws.state_addresses().is_empty(), "{:?}", ws.state_addresses());
}

/// The six resources with `timeouts` added later: the plan is an update of `timeouts`
/// alone, applying it sends no request, and the next plan is empty. Invalid durations are
/// refused at plan time with the attribute path; an import without `timeouts` plans
/// nothing.
#[test]
fn timeouts_are_provider_side_only() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let config = |t: &str| {
        format!(
            r#"
resource "identity_scim_user" "u" {{
  user_name = "uma@example.com"
{t}}}

resource "identity_scim_group" "g" {{
  display_name = "eng"
{t}}}

resource "identity_scim_group" "h" {{
  display_name = "ops"
{t}}}

resource "identity_scim_group_member" "m" {{
  group_id = identity_scim_group.g.id
  user_id  = identity_scim_user.u.id
{t}}}

resource "identity_scim_user_group_memberships" "ms" {{
  user_id   = identity_scim_user.u.id
  group_ids = [identity_scim_group.h.id]
{t}}}

{idp}
resource "identity_user_oidc" "john" {{
  user_id  = "{USER_1}"
  oidc_id  = "{OKTA2}"
  oidc_sub = "john"
{t}}}
"#,
            idp = idp(t)
        )
    };
    let addrs = [
        "identity_scim_user.u",
        "identity_scim_group.g",
        "identity_scim_group.h",
        "identity_scim_group_member.m",
        "identity_scim_user_group_memberships.ms",
        "identity_idp.corp",
        "identity_user_oidc.john",
    ];
    ws.write_main(&config(""));
    ws.apply();

    let t = timeouts(&[("create", "30m"), ("read", "2m"), ("update", "30m"), ("delete", "30m")]);
    ws.write_main(&config(&t));
    let plan = ws.plan_json_with(&["-refresh=false"]);
    for addr in addrs {
        assert_eq!(actions(&plan, addr), ["update"], "{addr}");
        let change = resource_change(&plan, addr)["change"].clone();
        let (mut before, mut after) = (change["before"].clone(), change["after"].clone());
        for v in [&mut before, &mut after] {
            if let Some(o) = v.as_object_mut() {
                o.remove("timeouts");
                // Computed values the plan leaves open: the update keeps them.
                for k in change["after_unknown"].as_object().map(|u| u.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
                    o.remove(&k);
                }
            }
        }
        assert_eq!(before, after, "{addr}: only timeouts changes");
        assert_eq!(change["after"]["timeouts"]["read"], json!("2m"), "{addr}");
    }
    let requests = by_vendor(&sb);
    ws.apply_with(&["-refresh=false"]);
    assert_eq!(by_vendor(&sb), requests, "a change of timeouts alone sends no request");
    ws.assert_plan_empty();
    for addr in addrs {
        assert_eq!(ws.state_attr(addr, "timeouts.update"), json!("30m"), "{addr}");
    }

    // Refused at plan time, with the path, before any request.
    let requests = by_vendor(&sb);
    for (bad, wants) in [
        (timeouts(&[("create", "0s")]), "must be longer than zero"),
        (timeouts(&[("read", "soon")]), "is not a duration like"),
        (timeouts(&[("delete", "5")]), "units: h, m, s, ms"),
    ] {
        ws.write_main(&config(&bad));
        let err = flat(&ws.plan_expect_err(&["-refresh=false"]));
        assert!(err.contains(wants), "{bad}: {err}");
        for key in ["create", "read", "delete"] {
            if bad.contains(&format!("{key} =")) {
                assert!(err.contains(&format!("timeouts.{key}")), "{bad}: {err}");
            }
        }
        // (Terraform does not validate resources whose dependencies failed validation.)
        for addr in ["identity_scim_user.u", "identity_scim_group.g", "identity_idp.corp", "identity_user_oidc.john"] {
            assert!(err.contains(&format!("with {addr}")), "every resource checks its timeouts ({addr}): {err}");
        }
    }
    ws.write_main(&format!(
        "resource \"identity_scim_group_member\" \"x\" {{\n  group_id = \"g1\"\n  user_id = \"u1\"\n{t}}}\n\
         resource \"identity_scim_user_group_memberships\" \"x\" {{\n  user_id = \"u1\"\n  group_ids = [\"g1\"]\n{t}}}\n",
        t = timeouts(&[("update", "0ms")])
    ));
    let err = flat(&ws.plan_expect_err(&["-refresh=false"]));
    for addr in ["identity_scim_group_member.x", "identity_scim_user_group_memberships.x"] {
        assert!(err.contains(&format!("with {addr}")) && err.contains("\"timeouts.update\": \"0ms\" is no time at all"), "{addr}: {err}");
    }
    assert_eq!(by_vendor(&sb), requests, "invalid timeouts never reach an API");

    // An import without timeouts in the configuration plans nothing.
    let other = ws.sibling();
    other.write_main("resource \"identity_scim_user\" \"u\" {\n  user_name = \"uma@example.com\"\n}\n");
    let id = ws.state_attr("identity_scim_user.u", "id").as_str().expect("a user id").to_string();
    other.import("identity_scim_user.u", &id);
    other.assert_plan_empty();
    assert_eq!(other.state_attr("identity_scim_user.u", "timeouts"), Value::Null);

    ws.write_main(&config(&t));
    ws.destroy();
    assert!(ws.state_addresses().is_empty());
}
