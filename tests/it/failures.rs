//! The failure table (issue 16): for each vendor, what `terraform plan` says when the
//! endpoint is down, the host does not exist, the scheme is wrong either way, the CA is
//! not trusted, the base path is wrong, a URL from the environment is not a URL, or the
//! credentials are refused. Each case asserts the summary, the URL it names, that no
//! secret appears in the output or the provider's log, and how many requests (or
//! connection attempts) were made.
//!
//! Every case reads one data source of the vendor during `terraform plan`. Connection
//! attempts are counted from the provider's debug log ("HTTP request failed" lines);
//! requests that arrive are counted by the sandbox.

use crate::support;

use support::*;

/// `max_retries` in every case: a refused connection is tried 1 + this many times.
const MAX_RETRIES: usize = 2;

/// Secrets that must never appear in any output or log line.
const WRONG_SECRET: &str = "wrong-secret-7c1e9a44d2";
const SECRETS: [&str; 6] = [RUNAI_TOKEN, FUDO_API_KEY, SCIM_CLIENT_SECRET, LANDSCAPE_TOKEN, "sandbox-scim-token", WRONG_SECRET];

#[derive(Clone, Copy)]
struct Vendor {
    /// The name in messages.
    name: &'static str,
    /// The provider block.
    block: &'static str,
    url_env: &'static str,
    /// The sandbox's path prefix of the vendor's base URL.
    prefix: &'static str,
    /// The environment variable of the credential, for the wrong-credentials case.
    secret_env: &'static str,
    /// A data source read at plan time.
    data: &'static str,
}

const VENDORS: [Vendor; 4] = [
    Vendor {
        name: "Run:ai",
        block: "runai",
        url_env: "IDENTITY_RUNAI_URL",
        prefix: "/runai",
        secret_env: "IDENTITY_RUNAI_TOKEN",
        data: "data \"identity_idps\" \"x\" {}",
    },
    Vendor {
        name: "Fudo",
        block: "fudo",
        url_env: "IDENTITY_FUDO_URL",
        prefix: "/fudo",
        secret_env: "IDENTITY_FUDO_API_KEY",
        data: "data \"identity_user_oidc_assignments\" \"x\" {}",
    },
    Vendor {
        name: "SCIM",
        block: "scim",
        url_env: "IDENTITY_SCIM_URL",
        prefix: "/oci/admin/v1",
        secret_env: "IDENTITY_SCIM_CLIENT_SECRET",
        data: "data \"identity_scim_users\" \"x\" {\n  filter = \"userName eq \\\"nobody\\\"\"\n}",
    },
    Vendor {
        name: "Landscape",
        block: "landscape",
        url_env: "IDENTITY_LANDSCAPE_URL",
        prefix: "/landscape",
        secret_env: "IDENTITY_LANDSCAPE_TOKEN",
        data: "data \"identity_oidc_staged_groups\" \"x\" {\n  import_session_id = 1\n}",
    },
];

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A workspace for `v` with its base URL set to `url`, the provider's debug log in a file,
/// and `extra` provider settings for the vendor's block.
fn workspace(sb: &Sandbox, v: Vendor, url: &str, block_extra: &str) -> (Workspace, std::path::PathBuf) {
    let mut ws = Workspace::new(sb);
    ws.set_env(v.url_env, url);
    let log = ws.dir().join("terraform.log");
    ws.set_env("TF_LOG_PROVIDER", "debug").set_env("TF_LOG_PATH", &log.to_string_lossy());
    let block = if block_extra.is_empty() { String::new() } else { format!("  {} = {{\n{block_extra}\n  }}\n", v.block) };
    ws.write_main(&format!("provider \"identity\" {{\n  max_retries = {MAX_RETRIES}\n{block}}}\n\n{}\n", v.data));
    (ws, log)
}

/// For SCIM: the static token instead of OAuth2 (so that SCIM itself is asked first).
fn static_token_for_scim(ws: &mut Workspace, v: Vendor) {
    if v.name != "SCIM" {
        return;
    }
    ws.set_env("IDENTITY_SCIM_TOKEN", "sandbox-scim-token").remove_env("IDENTITY_SCIM_CLIENT_ID").remove_env("IDENTITY_SCIM_CLIENT_SECRET");
}

/// Plans, expecting a failure; returns the flattened output and the provider log.
#[track_caller]
fn plan_fails(ws: &Workspace, log: &std::path::Path) -> (String, String) {
    let out = ws.run(&["plan", "-no-color"]);
    if out.success() {
        ws.fail("the plan succeeded but a failure was expected", &out);
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    for s in SECRETS {
        assert!(!out.combined().contains(s), "a secret ({s}) in the output:\n{}", out.combined());
        assert!(!log.contains(s), "a secret ({s}) in the provider's log");
    }
    (flat(&out.combined()), log)
}

/// How many requests failed without an answer (from the provider's debug log).
fn failed_attempts(log: &str) -> usize {
    log.lines().filter(|l| l.contains("HTTP request failed")).count()
}

/// The `Error: ` summaries of an output.
fn summaries(out: &str) -> Vec<String> {
    out.split("Error: ").skip(1).map(|s| s.to_string()).collect()
}

#[test]
fn endpoint_down_says_connection_refused_and_gives_up_after_its_retries() {
    let sb = Sandbox::start();
    for v in VENDORS {
        let port = closed_port();
        let base = format!("http://127.0.0.1:{port}{}", v.prefix);
        let (ws, log) = workspace(&sb, v, &base, "");
        let (out, log) = plan_fails(&ws, &log);
        if v.name == "SCIM" {
            // OAuth2: the token endpoint (derived from the URL) is the first thing asked.
            let token_url = format!("http://127.0.0.1:{port}/oci/oauth2/v1/token");
            assert!(out.contains(&format!("Error: Cannot connect to SCIM token endpoint at {token_url} (connection refused)")), "{out}");
            assert_eq!(failed_attempts(&log), 2, "a token request is tried twice at most (one retry)");
            assert!(out.contains("`scim.token_url` (when it is not set: derived from `scim.url`"), "{out}");
            continue;
        } else {
            assert!(out.contains(&format!("Error: Cannot connect to {} at {base}", v.name)), "{}: {out}", v.name);
            assert!(out.contains("(connection refused)"), "{out}");
            assert_eq!(failed_attempts(&log), 1 + MAX_RETRIES, "{}: one request and its retries", v.name);
        }
        assert!(out.contains(&format!("`{}.url` (or {})", v.block, v.url_env)), "{}: names the setting: {out}", v.name);
    }
    assert_eq!(sb.total_requests(), 0);
}

#[test]
fn a_host_that_does_not_exist_is_named_and_not_retried() {
    let sb = Sandbox::start();
    for v in VENDORS {
        let base = format!("https://no-such-host.invalid{}", v.prefix);
        let (mut ws, log) = workspace(&sb, v, &base, "");
        static_token_for_scim(&mut ws, v);
        let (out, log) = plan_fails(&ws, &log);
        assert!(
            out.contains(&format!("Error: Cannot resolve host no-such-host.invalid for {} (https://no-such-host.invalid", v.name)),
            "{out}"
        );
        assert_eq!(failed_attempts(&log), 1, "{}: NXDOMAIN is not retried", v.name);
    }
    assert_eq!(sb.total_requests(), 0);
}

#[test]
fn https_to_a_plain_http_server_suggests_http_and_is_not_retried() {
    let sb = Sandbox::start();
    let https = sb.url().replacen("http://", "https://", 1);
    for v in VENDORS {
        let base = format!("{https}{}", v.prefix);
        let (mut ws, log) = workspace(&sb, v, &base, "");
        static_token_for_scim(&mut ws, v);
        let (out, log) = plan_fails(&ws, &log);
        assert!(out.contains(&format!("Error: TLS handshake with {} at {base}", v.name)), "{out}");
        assert!(out.contains("the server does not speak TLS (use http://?)"), "{out}");
        assert_eq!(failed_attempts(&log), 1, "{}: never retried", v.name);
    }
    assert_eq!(sb.total_requests(), 0, "nothing reached the sandbox as a request");
}

#[test]
fn http_to_a_tls_server_suggests_https_and_is_not_retried() {
    let sb = Sandbox::start_tls();
    let http = sb.url().replacen("https://", "http://", 1);
    for v in VENDORS {
        let base = format!("{http}{}", v.prefix);
        let (mut ws, log) = workspace(&sb, v, &base, "");
        static_token_for_scim(&mut ws, v);
        let (out, log) = plan_fails(&ws, &log);
        assert!(out.contains(&format!("Error: {} at {base}", v.name)), "{out}");
        assert!(out.contains("did not answer in HTTP: the server may expect TLS (use https://?)"), "{out}");
        assert_eq!(failed_attempts(&log), 1, "{}: never retried", v.name);
    }
    assert_eq!(sb.total_requests(), 0);
}

#[test]
fn an_untrusted_ca_names_ca_cert_pem_and_ca_cert_pem_mends_it_for_every_vendor() {
    let sb = Sandbox::start_tls();
    for v in VENDORS {
        let base = format!("{}{}", sb.url(), v.prefix);
        let (ws, log) = workspace(&sb, v, &base, "");
        let (out, log) = plan_fails(&ws, &log);
        let shown = if v.name == "SCIM" { "SCIM token endpoint" } else { v.name };
        let summary = format!("Error: The server's certificate is not trusted: set `{}.ca_cert_pem` ({shown} at {}/", v.block, sb.url());
        assert!(out.contains(&summary), "{out}");
        assert_eq!(failed_attempts(&log), 1, "{}: never retried", v.name);
        assert_eq!(sb.total_requests(), 0);

        // The same vendor with its CA: the plan goes through.
        let (ws, _) = workspace(&sb, v, &base, &format!("    ca_cert_pem = {}", serde_json::Value::String(sb.ca_pem().to_string())));
        if v.name == "Landscape" {
            // Session 1 does not exist: a 404 of the API (not of the base URL).
            let out = flat(&ws.run_err(&["plan", "-no-color"]));
            assert!(out.contains("Landscape has no import session 1"), "an answer of the API: {out}");
        } else {
            ws.run_ok(&["plan", "-no-color"]);
        }
        sb.reset();
    }
}

#[test]
fn a_wrong_base_path_says_so_with_an_example_and_is_never_taken_as_not_found() {
    let sb = Sandbox::start();
    let cases = [
        ("Run:ai", format!("{}/runai/api", sb.url()), "https://<company>.run.ai"),
        ("Fudo", format!("{}/fudo/api/v2", sb.url()), "https://fudo.example.com"),
        ("SCIM", format!("{}/oci/scim/v2", sb.url()), "/admin/v1"),
        ("Landscape", format!("{}/landscape/api", sb.url()), "https://landscape.canonical.com"),
    ];
    for (v, (name, base, example)) in VENDORS.into_iter().zip(cases) {
        assert_eq!(v.name, name);
        let (mut ws, log) = workspace(&sb, v, &base, "");
        static_token_for_scim(&mut ws, v);
        let before = sb.total_requests();
        let (out, _) = plan_fails(&ws, &log);
        assert!(out.contains(&format!("Error: The {name} base URL looks wrong: its API answers 404 Not Found")), "{out}");
        assert!(out.contains(&base), "the URL is named: {out}");
        assert!(out.contains(example), "{name}: what a right URL looks like: {out}");
        assert!(out.contains(&format!("`{}.url` (or {})", v.block, v.url_env)), "{out}");
        assert_eq!(sb.total_requests() - before, 2, "{name}: the request, and one check of the base URL");
    }
}

#[test]
fn a_wrong_token_url_is_named() {
    let sb = Sandbox::start();
    let v = VENDORS[2];
    let (ws, log) = workspace(&sb, v, &sb.scim_url(), &format!("    token_url = \"{}/oci/oauth2/v2/token\"", sb.url()));
    let (out, _) = plan_fails(&ws, &log);
    assert!(out.contains("Error: The SCIM token endpoint was not found (404): check `scim.token_url`"), "{out}");
    assert!(out.contains(&format!("POST {}/oci/oauth2/v2/token", sb.url())), "{out}");
    assert_eq!(sb.total_requests(), 1, "one token request, not retried");
}

#[test]
fn a_url_from_the_environment_is_checked_like_the_attribute() {
    let sb = Sandbox::start();
    for v in VENDORS {
        let bad = format!("{}{}", sb.url().trim_start_matches("http://"), v.prefix);
        let (ws, log) = workspace(&sb, v, &bad, "");
        let (out, _) = plan_fails(&ws, &log);
        assert!(out.contains(&format!("Error: Invalid {}", v.url_env)), "{out}");
        assert!(out.contains(&format!("The environment variable {} is \"{bad}\"", v.url_env)), "{out}");
        assert!(!out.contains("relative URL without a base"), "{out}");
    }
    assert_eq!(sb.total_requests(), 0, "refused before any request");
}

#[test]
fn wrong_credentials_are_named_and_asked_once() {
    let sb = Sandbox::start();
    for v in VENDORS {
        let base = format!("{}{}", sb.url(), v.prefix);
        let (mut ws, log) = workspace(&sb, v, &base, "");
        ws.set_env(v.secret_env, WRONG_SECRET);
        let before = sb.total_requests();
        let (out, _) = plan_fails(&ws, &log);
        if v.name == "SCIM" {
            assert!(out.contains("Error: Credentials refused by the SCIM token endpoint (401 invalid_client)"), "{out}");
            assert!(out.contains(&format!("POST {}/oci/oauth2/v1/token", sb.url())), "{out}");
            assert!(out.contains("IDENTITY_SCIM_CLIENT_SECRET"), "{out}");
        } else {
            assert!(out.contains(&format!("Error: {} refused the credentials (401)", v.name)), "{out}");
            assert!(out.contains(&base), "the URL is named: {out}");
            assert!(out.contains(v.secret_env), "the setting is named: {out}");
        }
        assert_eq!(sb.total_requests() - before, 1, "{}: one request, a 401 is not retried", v.name);
    }
}

#[test]
fn a_token_failure_is_shared_by_every_waiting_read() {
    // Twelve SCIM data sources read at once: one token request per cause, whatever the
    // number of readers.
    let sb = Sandbox::start();
    let v = VENDORS[2];
    let many: String =
        (0..12).map(|i| format!("data \"identity_scim_users\" \"u{i}\" {{\n  filter = \"userName eq \\\"n{i}\\\"\"\n}}\n")).collect();

    // Wrong secret: one token request, twelve identical errors.
    let (mut ws, log) = workspace(&sb, v, &sb.scim_url(), "");
    ws.set_env("IDENTITY_SCIM_CLIENT_SECRET", WRONG_SECRET);
    ws.write_main(&format!("provider \"identity\" {{\n  max_retries = {MAX_RETRIES}\n}}\n{many}"));
    let (out, _) = plan_fails(&ws, &log);
    assert_eq!(summaries(&out).len(), 12, "{out}");
    assert!(summaries(&out).iter().all(|s| s.starts_with("Credentials refused by the SCIM token endpoint (401 invalid_client)")), "{out}");
    assert_eq!(sb.route_count("POST /oci/oauth2/v1/token"), 1, "one token request for twelve readers");

    // Token endpoint down: two attempts (one retry), twelve identical errors.
    let port = closed_port();
    let (ws, log) = workspace(&sb, v, &format!("http://127.0.0.1:{port}/oci/admin/v1"), "");
    ws.write_main(&format!("provider \"identity\" {{\n  max_retries = {MAX_RETRIES}\n}}\n{many}"));
    let (out, log) = plan_fails(&ws, &log);
    assert_eq!(summaries(&out).len(), 12, "{out}");
    assert!(summaries(&out).iter().all(|s| s.starts_with("Cannot connect to SCIM token endpoint")), "{out}");
    assert_eq!(failed_attempts(&log), 2, "two token requests for twelve readers");
}

#[test]
fn a_409_during_a_create_before_destroy_replacement_explains_unique_names() {
    // An idp whose type changes is replaced; with create_before_destroy the new one is
    // created while the old one still holds the name (Run:ai derives the alias from it).
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    let idp = |body: &str| {
        format!(
            "resource \"identity_idp\" \"corp\" {{\n  name = \"corp\"\n{body}\n  lifecycle {{\n    create_before_destroy = true\n  }}\n}}\n"
        )
    };
    ws.write_main(&idp(
        "  type = \"oidc\"\n  oidc = {\n    client_id             = \"a\"\n    client_secret_wo      = \"b\"\n    discover_document_url = \"https://idp.example.com\"\n  }",
    ));
    ws.run_ok(&["apply", "-auto-approve", "-no-color"]);
    ws.write_main(&idp(
        "  type = \"openshift-v4\"\n  ocp = {\n    idp_base_url     = \"https://api.cluster.example.com:6443\"\n    client_id        = \"runai\"\n    client_secret_wo = \"c\"\n  }",
    ));
    let out = flat(&ws.run_err(&["apply", "-auto-approve", "-no-color"]));
    assert!(out.contains("Error: Identity provider already exists"), "{out}");
    assert!(out.contains("This apply replaces it with `create_before_destroy = true`"), "{out}");
    assert!(out.contains("remove `create_before_destroy`"), "{out}");
    // Nothing was lost: the old idp is still there, still in the state.
    assert_eq!(sb.runai_aliases(), ["corp"]);
    assert_eq!(sb.runai_idp("corp").expect("the old idp")["type"], "oidc");
    assert_eq!(ws.state_addresses(), ["identity_idp.corp"]);
}
