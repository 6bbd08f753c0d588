//! Provider-defined functions (`provider::identity::<name>(...)`, Terraform 1.8+) through
//! the real CLI: every function's happy path and each of its errors, in workspaces with no
//! `provider "identity"` block and no IDENTITY_* variables (functions never need the
//! provider's configuration), and `terraform test` with `mock_provider "identity"`, under
//! which Terraform still calls the real functions (checked on Terraform 1.11 and 1.15:
//! scripts/test runs this module in both legs).

use crate::support;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use identity_provider::sandbox::runai::{SAMPLE_ENTITY_ID, SAMPLE_SIGNING_CERTIFICATE, SAMPLE_SSO_URL, sample_metadata_xml};
use serde_json::json;
use support::*;

const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// A workspace whose configuration only requires the provider: no provider block, no
/// sandbox, no IDENTITY_* variables (the harness removes inherited ones).
fn unconfigured() -> Workspace {
    let ws = Workspace::bare(LogTail::default());
    ws.write_main("");
    ws.write_file("idp-metadata.xml", &sample_metadata_xml(SAMPLE_ENTITY_ID, SAMPLE_SSO_URL));
    ws
}

/// `terraform console` with `expr` on its standard input (one expression per run: in a
/// piped session Terraform stops at the first error).
fn console(ws: &Workspace, expr: &str) -> CmdOutput {
    let command = format!("terraform console <<< {expr}");
    let mut cmd = ws.command(&["console", "-no-color"]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(format!("{expr}\n").as_bytes()).expect("write the expression");
    drop(stdin);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let started = Instant::now();
    let out = rx
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| panic!("`{command}` did not finish within {:?}", started.elapsed()))
        .unwrap_or_else(|e| panic!("`{command}`: {e}"));
    CmdOutput {
        command,
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `f` over `items` on two threads, each in a workspace of its own that `setup`
/// makes (`terraform console` holds the workspace's state lock while it runs).
fn in_parallel<T: Sync>(
    items: &[T],
    setup: impl Fn() -> Workspace + Sync,
    f: impl Fn(&Workspace, &T) -> Option<String> + Sync,
) -> Vec<String> {
    std::thread::scope(|s| {
        let (f, setup) = (&f, &setup);
        let handles: Vec<_> = items
            .chunks(items.len().div_ceil(2).max(1))
            .map(|chunk| {
                s.spawn(move || {
                    let ws = setup();
                    chunk.iter().filter_map(|item| f(&ws, item)).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|_| vec!["a thread panicked".into()])).collect()
    })
}

/// `terraform console` evaluates every function in a directory with no provider
/// configuration at all.
#[test]
fn console_evaluates_every_function_without_provider_configuration() {
    let main = unconfigured().read_file("main.tf");
    assert!(!main.contains("provider \"identity\""), "the configuration must have no provider block:\n{main}");
    let entity_id = format!("{SAMPLE_ENTITY_ID:?}");
    let cases: &[(&str, &str)] = &[
        (r#"provider::identity::scim_filter("userName", "EQ", "jane@example.com")"#, r#""userName eq \"jane@example.com\"""#),
        (r#"provider::identity::scim_filter("emails.value", "pr")"#, r#""emails.value pr""#),
        (r#"provider::identity::idp_alias("corp-sso")"#, r#""corp-sso""#),
        (
            r#"provider::identity::user_oidc_id("9124292845052624898", "9124292845052624897")"#,
            r#""9124292845052624898/9124292845052624897""#,
        ),
        (r#"provider::identity::parse_user_oidc_id("9124292845052624898/9124292845052624897").user_id"#, r#""9124292845052624898""#),
        (r#"provider::identity::saml_metadata(file("idp-metadata.xml")).entity_id"#, &entity_id),
    ];
    let failures = in_parallel(cases, unconfigured, |ws, (expr, want)| {
        let out = console(ws, expr);
        (out.code != 0 || out.stdout.trim() != *want)
            .then(|| format!("{expr}: expected {want}, got exit {}:\n{}", out.code, out.combined()))
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every happy path, with exact values, through outputs of an apply (a plan cannot show
/// them all), in a configuration without provider configuration.
#[test]
fn outputs_hold_every_function_result_exactly() {
    let ws = unconfigured();
    ws.write_main(
        r#"
output "filters" {
  value = [
    provider::identity::scim_filter("userName", "eq", "jane@example.com"),
    provider::identity::scim_filter("displayName", "co", "say \"hi\" \\ bye"),
    provider::identity::scim_filter("title", "sw", "tab\tnew\nline"),
    provider::identity::scim_filter("active", "Ne", false),
    provider::identity::scim_filter("age", "ge", 21),
    provider::identity::scim_filter("score", "lt", 1.5),
    provider::identity::scim_filter("x", "gt", 18446744073709551617),
    provider::identity::scim_filter("manager.value", "eq", null),
    provider::identity::scim_filter("title", "PR"),
    provider::identity::scim_filter("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "eq", "701984"),
  ]
}

# Not known when planning: the function runs at apply.
output "later" {
  value = provider::identity::scim_filter("meta.lastModified", "gt", timestamp())
}

output "alias" {
  value = provider::identity::idp_alias("corp-sso_2")
}

output "assignment_id" {
  value = provider::identity::user_oidc_id("18446744073709551615", "9124292845052624897")
}

output "assignment" {
  value = provider::identity::parse_user_oidc_id(" 18446744073709551615/9124292845052624897 ")
}

output "idp" {
  value = provider::identity::saml_metadata(file("idp-metadata.xml"))
}
"#,
    );
    let plan = ws.run_ok(&["plan", "-no-color"]);
    assert!(plan.stdout.contains("later") && plan.stdout.contains("(known after apply)"), "{}", plan.stdout);
    ws.run_ok(&["apply", "-auto-approve", "-no-color"]);
    let outputs = ws.outputs_json();
    let value = |name: &str| outputs[name]["value"].clone();
    assert_eq!(
        value("filters"),
        json!([
            r#"userName eq "jane@example.com""#,
            r#"displayName co "say \"hi\" \\ bye""#,
            r#"title sw "tab\tnew\nline""#,
            "active ne false",
            "age ge 21",
            "score lt 1.5",
            "x gt 18446744073709551617",
            "manager.value eq null",
            "title pr",
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        ])
    );
    let later = value("later");
    let later = later.as_str().unwrap_or_default();
    assert!(later.starts_with("meta.lastModified gt \"20") && later.ends_with("Z\""), "{later}");
    assert_eq!(value("alias"), json!("corp-sso_2"));
    assert_eq!(value("assignment_id"), json!("18446744073709551615/9124292845052624897"));
    assert_eq!(value("assignment"), json!({"user_id": "18446744073709551615", "oidc_id": "9124292845052624897"}));
    let idp = value("idp");
    assert_eq!(idp["entity_id"], json!(SAMPLE_ENTITY_ID));
    assert_eq!(idp["sso_urls"], json!({ REDIRECT: SAMPLE_SSO_URL, POST: SAMPLE_SSO_URL }));
    let certs = idp["signing_certificates"].as_array().cloned().unwrap_or_default();
    assert_eq!(certs.len(), 1, "{idp}");
    assert_eq!(certs[0]["not_after"], json!("2126-10-29T15:11:39Z"));
    assert_eq!(certs[0]["subject"], json!("CN=idp.sandbox.test, O=identity-sandbox"));
    let pem = certs[0]["pem"].as_str().unwrap_or_default();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n") && pem.ends_with("-----END CERTIFICATE-----\n"), "{pem}");
    assert_eq!(body, SAMPLE_SIGNING_CERTIFICATE);
}

/// Every error of every function, through `terraform console`: Terraform names the
/// argument the function blames (`Invalid value for "<parameter>" parameter`), then the
/// function's words.
#[test]
fn every_error_names_its_argument() {
    let entity = |idp: &str| {
        format!(
            r#"<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="e">{idp}</EntityDescriptor>"#
        )
    };
    let sso = format!(r#"<SingleSignOnService Binding="{REDIRECT}" Location="https://idp.example.com/sso"/>"#);
    let key = |cert: &str| {
        format!(
            r#"<KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>"#
        )
    };
    let files: &[(&str, String)] = &[
        ("malformed.xml", "<EntityDescriptor entityID=\"e\">".to_string()),
        ("sp.xml", entity("<SPSSODescriptor/>")),
        ("no-sso.xml", entity("<IDPSSODescriptor/>")),
        ("not-base64.xml", entity(&format!("<IDPSSODescriptor>{}{sso}</IDPSSODescriptor>", key("%%%")))),
        ("not-x509.xml", entity(&format!("<IDPSSODescriptor>{}{sso}</IDPSSODescriptor>", key("bm90IGEgY2VydGlmaWNhdGU=")))),
        ("big.xml", format!("{}<!-- {} -->", entity(&format!("<IDPSSODescriptor>{sso}</IDPSSODescriptor>")), "x".repeat(1024 * 1024))),
    ];
    let setup = || {
        let ws = unconfigured();
        for (name, text) in files {
            ws.write_file(name, text);
        }
        ws
    };
    let saml = |file: &str| format!(r#"provider::identity::saml_metadata(file("{file}"))"#);
    let cases: Vec<(String, &str, &str)> = vec![
        // scim_filter
        (r#"provider::identity::scim_filter("user name", "eq", "x")"#.into(), "attribute", r#""user name" is not a SCIM attribute path"#),
        (r#"provider::identity::scim_filter("name.given.more", "pr")"#.into(), "attribute", "more than one sub-attribute"),
        (r#"provider::identity::scim_filter("urn:x:userName", "pr")"#.into(), "attribute", "nothing after its namespace"),
        (r#"provider::identity::scim_filter("emails[type eq \"work\"]", "pr")"#.into(), "attribute", "is not a SCIM attribute path"),
        (r#"provider::identity::scim_filter("userName", "equals", "x")"#.into(), "operator", r#""equals" is not a SCIM filter operator"#),
        (r#"provider::identity::scim_filter("userName", "eq")"#.into(), "operator", "pass exactly one value after the operator, got none"),
        (
            r#"provider::identity::scim_filter("userName", "eq", "a", "b")"#.into(),
            "value",
            r#"the operator "eq" takes exactly one value, got 2"#,
        ),
        (r#"provider::identity::scim_filter("title", "pr", "x")"#.into(), "value", r#""pr" (present) takes no value"#),
        (r#"provider::identity::scim_filter("emails", "eq", ["a"])"#.into(), "value", "must be a string, number, bool or null"),
        (r#"provider::identity::scim_filter("userName", "co", 1)"#.into(), "value", r#""co" compares strings"#),
        (r#"provider::identity::scim_filter("active", "gt", true)"#.into(), "value", r#""gt" orders strings and numbers"#),
        // saml_metadata
        (saml("malformed.xml"), "xml", "invalid SAML metadata: the document is not well-formed XML"),
        (saml("sp.xml"), "xml", "has no IDPSSODescriptor"),
        (saml("no-sso.xml"), "xml", "has no SingleSignOnService"),
        (saml("not-base64.xml"), "xml", "signing certificate 1 of the IDPSSODescriptor is not base64"),
        (saml("not-x509.xml"), "xml", "signing certificate 1 of the IDPSSODescriptor is not an X.509 certificate"),
        (saml("big.xml"), "xml", "at most 1048576 bytes (1 MiB) are accepted"),
        (r#"provider::identity::saml_metadata("")"#.into(), "xml", "the document is empty"),
        // idp_alias
        (r#"provider::identity::idp_alias("Corp SSO")"#.into(), "name", r#""Corp SSO" cannot be an idp name"#),
        (r#"provider::identity::idp_alias("")"#.into(), "name", "cannot be an idp name"),
        // user_oidc_id
        (r#"provider::identity::user_oidc_id("12a", "1")"#.into(), "user_id", r#""12a" is not a Fudo id"#),
        (
            r#"provider::identity::user_oidc_id("1", "18446744073709551616")"#.into(),
            "oidc_id",
            r#""18446744073709551616" is not a Fudo id"#,
        ),
        (r#"provider::identity::user_oidc_id("1", "007")"#.into(), "oidc_id", "without leading zeros"),
        // parse_user_oidc_id
        (r#"provider::identity::parse_user_oidc_id("9124292845052624898")"#.into(), "id", r#"of the form "<user_id>/<oidc_id>""#),
        (r#"provider::identity::parse_user_oidc_id("1/2/3")"#.into(), "id", r#"got "1/2/3""#),
        (r#"provider::identity::parse_user_oidc_id("a/b")"#.into(), "id", r#"got "a/b""#),
    ];
    let failures = in_parallel(&cases, setup, |ws, (expr, parameter, words)| {
        let out = console(ws, expr);
        let text = flat(&out.combined());
        let names = format!("Invalid value for \"{parameter}\" parameter:");
        let ok = out.code == 1 && text.contains("Error: Invalid function argument") && text.contains(&names) && text.contains(&flat(words));
        (!ok).then(|| format!("{expr}: expected exit 1 and {names:?} then {words:?}; got exit {}:\n{}", out.code, out.combined()))
    });
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n\n"));
}

/// A function error in a configuration fails the plan, pointing at the call's line and
/// naming the argument.
#[test]
fn an_error_in_a_configuration_points_at_the_call() {
    let ws = unconfigured();
    ws.write_main(
        r#"
output "ok" {
  value = provider::identity::scim_filter("userName", "eq", "jane")
}

output "bad" {
  value = provider::identity::scim_filter("userName", "like", "jane")
}
"#,
    );
    let err = ws.run_err(&["plan", "-no-color"]);
    let text = flat(&err);
    assert!(text.contains("Error: Invalid function argument"), "{err}");
    assert!(text.contains(r#"in output "bad""#) && !text.contains(r#"in output "ok""#), "{err}");
    assert!(text.contains(r#"Invalid value for "operator" parameter: "like" is not a SCIM filter operator"#), "{err}");
}

/// The configuration and test file of tests/it/functions/.
fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/functions").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// `terraform test` with `mock_provider "identity"`: the real functions run (their
/// results are asserted exactly), a mocked resource takes a function's result, and a
/// wrong expectation fails the test (the assertions are not vacuous).
#[test]
fn terraform_test_with_a_mock_provider_calls_the_functions() {
    let ws = unconfigured();
    ws.write_main_raw(&fixture("main.tf"));
    let tftest = fixture("functions.tftest.hcl");
    assert!(tftest.contains("mock_provider \"identity\" {}"), "the test file must mock the provider");
    ws.write_file("functions.tftest.hcl", &tftest);
    let out = ws.run(&["test", "-no-color"]);
    let runs = tftest.matches("\nrun \"").count();
    if out.code != 0 || !out.stdout.contains(&format!("Success! {runs} passed, 0 failed.")) {
        ws.fail(&format!("terraform test (Terraform {:?}) must pass all {runs} runs", terraform_version()), &out);
    }

    // A wrong expectation fails: the functions' real results are what is compared.
    let wrong = tftest.replace(r#"output.present == "title pr""#, r#"output.present == "title PR""#);
    assert_ne!(wrong, tftest, "the expectation to break was not found");
    ws.write_file("functions.tftest.hcl", &wrong);
    let out = ws.run(&["test", "-no-color"]);
    let text = flat(&out.combined());
    if out.code != 1
        || !text.contains(&format!("Failure! {} passed, 1 failed.", runs - 1))
        || !text.contains("scim_filter with pr gave title pr")
    {
        ws.fail("a wrong expectation must fail exactly one run, in the function's words", &out);
    }
}

#[test]
fn the_mock_provider_test_fixture_is_terraform_fmt_clean() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/functions");
    let out = std::process::Command::new(terraform_bin())
        .args(["fmt", "-check", "-diff", "."])
        .current_dir(&dir)
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("run terraform fmt");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
