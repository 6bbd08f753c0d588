//! The `identity_oauth2_token` ephemeral resource through the real CLI: a token that
//! configures a second provider instance and a provisioner, never reaches state, plan or
//! logs, is revoked when Terraform closes it, warns when it is obtained with a lifetime
//! shorter than `expected_run_duration`, and logs (Terraform shows no diagnostics of
//! renew) when still in use near expiry.

use crate::support;

use support::*;

/// A config: the default provider has SCIM client credentials (from the environment),
/// the ephemeral token configures `identity.with_token` (static token only), and a
/// provisioner calls the SCIM API with it and writes the HTTP status to `status.txt`.
fn config(sb: &Sandbox, user: &str, sleep_secs: f64, revoke: bool) -> String {
    let revoke_url = if revoke { format!("\n  revoke_url = \"{}/oci/oauth2/v1/revoke\"", sb.url()) } else { String::new() };
    let scim_url = sb.scim_url();
    format!(
        r#"
ephemeral "identity_oauth2_token" "t" {{{revoke_url}
}}

provider "identity" {{
  alias = "with_token"
  scim = {{
    url   = "{scim_url}"
    token = ephemeral.identity_oauth2_token.t.access_token
  }}
}}

resource "identity_scim_user" "u" {{
  provider  = identity.with_token
  user_name = "{user}"
}}

resource "terraform_data" "call" {{
  provisioner "local-exec" {{
    command = "sleep {sleep_secs}; python3 -c 'import os, urllib.request as u; r = u.urlopen(u.Request(os.environ[\"URL\"], headers={{\"Authorization\": \"Bearer \" + os.environ[\"TOKEN\"]}})); open(\"status.txt\", \"w\").write(str(r.status))'"
    environment = {{
      TOKEN = ephemeral.identity_oauth2_token.t.access_token
      URL   = "{scim_url}/Users?count=1"
    }}
  }}
}}
"#
    )
}

/// How many SCIM users are named `name` (asked with the sandbox's static token, so the
/// count of issued tokens stays the provider's).
fn users_named(sb: &Sandbox, name: &str) -> u64 {
    let path = format!("/oci/admin/v1/Users?filter=userName%20eq%20%22{name}%22");
    let (code, users) = sb.http_with("GET", &path, None, Auth::Header("Bearer sandbox-scim-token".into()));
    assert_eq!(code, 200, "{users}");
    users["totalResults"].as_u64().unwrap_or_else(|| panic!("no totalResults in {users}"))
}

fn assert_no_token(text: &str, what: &str) {
    // Every token the sandbox issues starts with "sbx." (the static token is not issued).
    assert!(!text.contains("sbx."), "{what} contains an issued access token:\n{text}");
}

#[test]
fn oauth2_token_configures_a_provider_and_never_reaches_state() {
    let sb = Sandbox::start();
    let mut ws = Workspace::new(&sb);
    ws.set_env("TF_LOG_PROVIDER", "debug");
    ws.write_main(&config(&sb, "ephemeral.user@example.com", 0.0, true));

    let out = ws.run_ok(&["apply", "-auto-approve", "-no-color"]);
    assert_no_token(&out.combined(), "apply output");
    assert_eq!(ws.read_file("status.txt").trim(), "200", "the provisioner called the SCIM API with the token");
    assert_eq!(users_named(&sb, "ephemeral.user@example.com"), 1, "the provider configured with the token created the user");

    let state = ws.state_file_text();
    assert_no_token(&state, "the state");
    assert!(!state.contains("\"type\": \"identity_oauth2_token\""), "ephemeral resources never appear in state:\n{state}");

    // Plan and apply each open (one token) and close (one revocation) the resource.
    let tokens = sb.route_count("POST /oci/oauth2/v1/token");
    let revoked = sb.route_count("POST /oci/oauth2/v1/revoke");
    assert!(tokens >= 2, "a token per phase (plan, apply); got {tokens}");
    assert_eq!(revoked, tokens, "every token obtained was revoked when Terraform closed the ephemeral resource");

    let out = ws.run(&["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(out.code, 0, "no changes after apply:\n{}", out.combined());
    assert_no_token(&out.combined(), "plan output");

    ws.run_ok(&["destroy", "-auto-approve", "-no-color"]);
    assert_eq!(users_named(&sb, "ephemeral.user@example.com"), 0, "destroy removed the user");
}

#[test]
fn oauth2_token_with_explicit_inputs_and_bad_credentials() {
    let sb = Sandbox::start();
    let mut ws = Workspace::new(&sb);
    // No SCIM settings in the provider at all: the inputs come from the ephemeral block.
    for k in ["IDENTITY_SCIM_URL", "IDENTITY_SCIM_CLIENT_ID", "IDENTITY_SCIM_CLIENT_SECRET"] {
        ws.remove_env(k);
    }
    let token_url = sb.scim_token_url();
    let scim_url = sb.scim_url();
    let block = |secret: &str| {
        format!(
            r#"
ephemeral "identity_oauth2_token" "t" {{
  token_url     = "{token_url}"
  client_id     = "{SCIM_CLIENT_ID}"
  client_secret = "{secret}"
}}

provider "identity" {{
  alias = "with_token"
  scim = {{
    url   = "{scim_url}"
    token = ephemeral.identity_oauth2_token.t.access_token
  }}
}}

data "identity_scim_users" "all" {{
  provider = identity.with_token
}}
"#
        )
    };
    ws.write_main(&block(SCIM_CLIENT_SECRET));
    ws.run_ok(&["apply", "-auto-approve", "-no-color"]);

    // A wrong secret: the server's OAuth2 error, and not the secret itself.
    ws.write_main(&block("wrong-secret-4711"));
    let err = ws.run_err(&["plan", "-no-color"]);
    assert!(err.contains("Unable to obtain an OAuth2 token"), "{err}");
    assert!(err.contains("invalid_client"), "the server's own error code is shown:\n{err}");
    assert!(!err.contains("wrong-secret-4711"), "the secret is not echoed:\n{err}");

    // Nothing to get credentials from: a plan-time error naming the attribute.
    ws.write_main(
        r#"
ephemeral "identity_oauth2_token" "t" {}

output "ok" {
  value = true
}
"#,
    );
    let err = ws.run_err(&["plan", "-no-color"]);
    assert!(err.contains("Missing OAuth2 setting") && err.contains("token_url"), "{err}");
    assert!(err.contains("client_secret"), "{err}");
}

/// The warning Terraform shows when the token is obtained with a short lifetime.
const SHORT_TOKEN_WARNING: &str = "Warning: OAuth2 token expires before the run is expected to end";

#[test]
fn oauth2_token_still_in_use_near_expiry_warns_at_open_and_logs_at_renew() {
    // Tokens live 10 s; the provider asks Terraform to renew 2 s before expiry. The
    // provisioner keeps the token in use for 9 s, so Terraform calls renew. Terraform
    // drops renew's diagnostics, so the warning users see is open's (10 s is shorter
    // than the default `expected_run_duration` of 30m), and renew only logs.
    let sb = Sandbox::start_with(&["--scim-token-ttl-secs", "10"]);
    let mut ws = Workspace::new(&sb);
    ws.set_env("TF_LOG_PROVIDER", "debug");
    ws.write_main(&config(&sb, "renew.user@example.com", 9.0, false));
    let out = ws.run_ok(&["apply", "-auto-approve", "-no-color"]);
    let text = flat(&out.combined());
    assert!(text.contains(SHORT_TOKEN_WARNING), "open warned about the short lifetime:\n{text}");
    assert!(text.contains("lives 10s (expires_in = 10,"), "the warning gives the lifetime:\n{text}");
    assert!(text.contains("shorter than `expected_run_duration` (30m)"), "and the expected run:\n{text}");
    assert!(text.contains("RenewEphemeralResource"), "Terraform called RenewEphemeralResource:\n{text}");
    assert!(text.contains("still in use close to its expiry"), "the provider logged the renewal:\n{text}");
    assert!(text.contains("cannot be extended, so it was not renewed"), "the log line says nothing was renewed:\n{text}");
    assert!(
        text.contains(&format!("client \\\"{SCIM_CLIENT_ID}\\\"")) || text.contains(&format!("client \"{SCIM_CLIENT_ID}\"")),
        "the log line names the client:\n{text}"
    );
    assert!(!text.contains("Warning: OAuth2 token about to expire"), "no renew warning is promised any more:\n{text}");
    assert_no_token(&text, "apply output with provider logs");
    assert_eq!(ws.read_file("status.txt").trim(), "200", "the token was still valid when used");
    assert_eq!(sb.route_count("POST /oci/oauth2/v1/revoke"), 0, "no revoke_url, no revocation");
    ws.run_ok(&["destroy", "-auto-approve", "-no-color"]);
}

#[test]
fn oauth2_token_shorter_than_the_expected_run_warns_at_open() {
    // Tokens live 10 minutes: shorter than the default expected run of 30 minutes.
    let sb = Sandbox::start_with(&["--scim-token-ttl-secs", "600"]);
    let ws = Workspace::new(&sb);
    let block = |expected: Option<&str>| {
        let setting = expected.map(|e| format!("\n  expected_run_duration = \"{e}\"\n")).unwrap_or_default();
        format!(
            r#"
ephemeral "identity_oauth2_token" "t" {{{setting}}}

output "ok" {{
  value = true
}}
"#
        )
    };

    ws.write_main(&block(None));
    let out = ws.plan(&[]);
    let text = flat(&out.combined());
    assert!(text.contains(SHORT_TOKEN_WARNING), "{}", ws.report("the default expected run (30m) warns for a 10m token", &out));
    for needle in [
        "lives 10m (expires_in = 600,",
        "shorter than `expected_run_duration` (30m)",
        "refused (401)",
        "access token expiration of the OCI confidential application",
        "urn:opc:resource:expiry=<seconds>",
        "set `expected_run_duration` lower",
    ] {
        assert!(text.contains(needle), "{needle:?} is missing:\n{text}");
    }
    assert_no_token(&text, "plan output");
    // The apply opens its own token and warns again; the run itself succeeds.
    let out = ws.run_ok(&["apply", "-auto-approve", "-no-color"]);
    assert!(out.combined().contains(SHORT_TOKEN_WARNING), "{}", ws.report("apply warns too", &out));

    // A run expected to fit in the token's lifetime: no warning.
    ws.write_main(&block(Some("5m")));
    let out = ws.plan(&[]);
    assert!(!out.combined().contains(SHORT_TOKEN_WARNING), "{}", ws.report("5m fits in a 10m token", &out));
    ws.write_main(&block(Some("10m")));
    let out = ws.plan(&[]);
    assert!(!out.combined().contains(SHORT_TOKEN_WARNING), "{}", ws.report("10m fits in a 10m token", &out));
    ws.write_main(&block(Some("2h")));
    let out = ws.plan(&[]);
    assert!(flat(&out.combined()).contains("shorter than `expected_run_duration` (2h)"), "{}", ws.report("2h does not", &out));

    // Checked at plan time, before any token is requested.
    let before = sb.route_count("POST /oci/oauth2/v1/token");
    for bad in ["30", "0s"] {
        ws.write_main(&block(Some(bad)));
        let err = flat(&ws.plan_expect_err(&[]));
        assert!(err.contains("Invalid attribute value") && err.contains("\"expected_run_duration\":"), "{bad:?}:\n{err}");
    }
    assert_eq!(sb.route_count("POST /oci/oauth2/v1/token"), before, "an invalid duration requests no token");
}
