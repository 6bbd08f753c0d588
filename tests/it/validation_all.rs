//! Bad input across every resource, data source and the provider block, refused by
//! `terraform plan` before any HTTP request.
//!
//! Each case is one configuration with one mistake. The plan must fail; the output must
//! name the attribute path (Terraform 1.11 points a diagnostic about a nested attribute
//! only at its block, so the message itself names the path, e.g. `emails[1].value`) and
//! say the rule in words; and the sandbox the provider points at must have seen no vendor
//! request at all. The Run:ai idp cases of `tests/it/validation_idp.rs` are not repeated.
//!
//! Speed: no `terraform init` is needed (`dev_overrides`), and the cases run on a few
//! worker threads, each with its own sandbox and working directory, so a request can be
//! traced to the case that made it.

use crate::support;

use std::sync::Mutex;
use std::thread;
use std::time::Instant;

use support::{Sandbox, Workspace, flat};

/// One invalid configuration.
struct Case {
    name: &'static str,
    /// The configuration after the `required_providers` block.
    hcl: String,
    /// Substrings the plan output must contain (compared with whitespace and the box
    /// characters of Terraform's diagnostics collapsed).
    wants: Vec<&'static str>,
}

fn case(name: &'static str, hcl: impl Into<String>, wants: &[&'static str]) -> Case {
    Case { name, hcl: hcl.into(), wants: wants.to_vec() }
}

fn user(body: &str) -> String {
    format!("resource \"identity_scim_user\" \"x\" {{\n{body}\n}}\n")
}

fn group(body: &str) -> String {
    format!("resource \"identity_scim_group\" \"x\" {{\n{body}\n}}\n")
}

fn member(group_id: &str, user_id: &str) -> String {
    format!("resource \"identity_scim_group_member\" \"x\" {{\n  group_id = {group_id:?}\n  user_id  = {user_id:?}\n}}\n")
}

fn memberships(body: &str) -> String {
    format!("resource \"identity_scim_user_group_memberships\" \"x\" {{\n{body}\n}}\n")
}

const USER_1: &str = "9124292845052624898";
const OKTA2: &str = "9124292845052624898";

fn assignment(user_id: &str, oidc_id: &str, sub: &str) -> String {
    format!("resource \"identity_user_oidc\" \"x\" {{\n  user_id  = {user_id:?}\n  oidc_id  = {oidc_id:?}\n  oidc_sub = {sub:?}\n}}\n")
}

fn import_session(body: &str) -> String {
    format!("resource \"identity_oidc_group_import\" \"x\" {{\n{body}\n}}\n")
}

fn idp(body: &str) -> String {
    format!("resource \"identity_idp\" \"x\" {{\n{body}\n}}\n")
}

/// A provider block plus one SCIM user, so that the provider is really used.
fn provider(body: &str) -> String {
    format!("provider \"identity\" {{\n{body}\n}}\n\n{}", user("  user_name = \"jane\""))
}

fn cases() -> Vec<Case> {
    let long_sub = "s".repeat(256);
    vec![
        // ----- identity_scim_user -----
        case("scim_user: empty user_name", user("  user_name = \"\""), &["\"user_name\"", "must not be empty"]),
        case("scim_user: blank user_name", user("  user_name = \"   \""), &["\"user_name\"", "is only whitespace"]),
        case(
            "scim_user: user_name with a trailing space",
            user("  user_name = \"jane \""),
            &["\"user_name\"", "starts or ends with whitespace", "write \"jane\""],
        ),
        case(
            "scim_user: email value that is no address",
            user("  user_name = \"jane\"\n  emails = [{ value = \"jane.example.com\" }]"),
            &["\"emails[0].value\"", "\"jane.example.com\" is not valid", "an email address"],
        ),
        case(
            "scim_user: unknown email type",
            user("  user_name = \"jane\"\n  emails = [{ value = \"jane@example.com\", type = \"office\" }]"),
            &["\"emails[0].type\"", "\"office\" is not allowed", "\"work\", \"home\", \"other\", \"recovery\""],
        ),
        case(
            "scim_user: the same email twice (case differs)",
            user("  user_name = \"jane\"\n  emails = [{ value = \"jane@example.com\" }, { value = \"Jane@Example.com\" }]"),
            &["\"emails\"", "emails[1].value \"Jane@Example.com\" repeats emails[0].value", "without regard to case"],
        ),
        case(
            "scim_user: two primary emails",
            user(
                "  user_name = \"jane\"\n  emails = [\n    { value = \"a@example.com\", primary = true },\n    { value = \"b@example.com\", primary = true },\n  ]",
            ),
            &["\"emails\"", "at most one element may have primary = true", "emails[0], emails[1]"],
        ),
        case(
            "scim_user: password version without a password",
            user("  user_name = \"jane\"\n  password_wo_version = 1"),
            &["\"password_wo_version\" also requires \"password_wo\""],
        ),
        case(
            "scim_user: negative password version",
            user("  user_name = \"jane\"\n  password_wo = \"Correct-Horse-9\"\n  password_wo_version = -1"),
            &["\"password_wo_version\"", "whole number from 0"],
        ),
        case("scim_user: empty password", user("  user_name = \"jane\"\n  password_wo = \"\""), &["\"password_wo\"", "must not be empty"]),
        case(
            "scim_user: empty display_name",
            user("  user_name = \"jane\"\n  display_name = \"\""),
            &["\"display_name\"", "must not be empty"],
        ),
        case(
            "scim_user: blank external_id",
            user("  user_name = \"jane\"\n  external_id = \"  \""),
            &["\"external_id\"", "is only whitespace"],
        ),
        case(
            "scim_user: given_name with a leading space",
            user("  user_name = \"jane\"\n  given_name = \" Jane\""),
            &["\"given_name\"", "starts or ends with whitespace"],
        ),
        // ----- identity_scim_group -----
        case("scim_group: empty display_name", group("  display_name = \"\""), &["\"display_name\"", "must not be empty"]),
        case(
            "scim_group: display_name with a trailing tab",
            group("  display_name = \"eng\\t\""),
            &["\"display_name\"", "starts or ends with whitespace"],
        ),
        case(
            "scim_group: empty member id",
            group("  display_name = \"eng\"\n  members = [\"4f0c2b7e\", \"\"]"),
            &["\"members\"", "the element \"\" is not a user id", "it is empty"],
        ),
        case(
            "scim_group: member id with a space",
            group("  display_name = \"eng\"\n  members = [\"4f0c 2b7e\"]"),
            &["\"members\"", "\"4f0c 2b7e\" is not a user id", "contains whitespace"],
        ),
        case(
            "scim_group: empty description",
            group("  display_name = \"eng\"\n  description = \"\""),
            &["\"description\"", "must not be empty"],
        ),
        case(
            "scim_group: external_id with a space",
            group("  display_name = \"eng\"\n  external_id = \" x1\""),
            &["\"external_id\"", "starts or ends with whitespace"],
        ),
        // ----- identity_scim_group_member -----
        case("scim_group_member: empty group_id", member("", "4f0c2b7e"), &["\"group_id\"", "is not a SCIM id: it is empty"]),
        case(
            "scim_group_member: composite id as user_id",
            member("4f0c2b7e", "4f0c2b7e/9c1e"),
            &["\"user_id\"", "\"4f0c2b7e/9c1e\" is not a SCIM id", "contains \"/\"", "only an import ID"],
        ),
        case("scim_group_member: user_id with a space", member("4f0c2b7e", "9c1e 77"), &["\"user_id\"", "contains whitespace"]),
        case("scim_group_member: group_id with a quote", member("4f0c\"2b7e", "9c1e"), &["\"group_id\"", "contains a quote"]),
        case("scim_group_member: group_id \"..\"", member("..", "9c1e"), &["\"group_id\"", "address another resource"]),
        case("scim_group_member: user_id \".\"", member("4f0c", "."), &["\"user_id\"", "address another resource"]),
        // ----- identity_scim_user_group_memberships -----
        case(
            "scim_user_group_memberships: empty user_id",
            memberships("  user_id = \"\"\n  group_ids = []"),
            &["\"user_id\"", "it is empty"],
        ),
        case(
            "scim_user_group_memberships: empty group id",
            memberships("  user_id = \"9c1e\"\n  group_ids = [\"4f0c\", \"\"]"),
            &["\"group_ids\"", "the element \"\" is not a group id"],
        ),
        case(
            "scim_user_group_memberships: group id with a space",
            memberships("  user_id = \"9c1e\"\n  group_ids = [\"eng team\"]"),
            &["\"group_ids\"", "\"eng team\" is not a group id", "contains whitespace"],
        ),
        case(
            "scim_user_group_memberships: composite user id",
            memberships("  user_id = \"4f0c/9c1e\"\n  group_ids = [\"4f0c\"]"),
            &["\"user_id\"", "contains \"/\""],
        ),
        // ----- identity_user_oidc -----
        case(
            "user_oidc: user_id is a name",
            assignment("john", OKTA2, "John"),
            &["\"user_id\"", "\"john\" is not valid", "decimal digits"],
        ),
        case("user_oidc: oidc_id with a leading zero", assignment(USER_1, "0123", "John"), &["\"oidc_id\"", "must not start with 0"]),
        case(
            "user_oidc: oidc_id beyond 64 bits",
            assignment(USER_1, "99999999999999999999", "John"),
            &["\"oidc_id\"", "larger than a 64-bit id", "18446744073709551615"],
        ),
        case("user_oidc: user_id in exponent notation", assignment("9.1e18", OKTA2, "John"), &["\"user_id\"", "decimal digits only"]),
        case("user_oidc: empty user_id", assignment("", OKTA2, "John"), &["\"user_id\"", "\"\" is not valid", "decimal digits"]),
        case("user_oidc: empty oidc_sub", assignment(USER_1, OKTA2, ""), &["\"oidc_sub\"", "must not be empty"]),
        case(
            "user_oidc: oidc_sub longer than 255",
            assignment(USER_1, OKTA2, &long_sub),
            &["\"oidc_sub\"", "at most 255 characters long, got 256"],
        ),
        // ----- identity_oidc_group_import -----
        case("oidc_group_import: issuer_id 0", import_session("  issuer_id = 0"), &["\"issuer_id\"", "positive whole number"]),
        case("oidc_group_import: negative issuer_id", import_session("  issuer_id = -3"), &["\"issuer_id\"", "positive whole number"]),
        case("oidc_group_import: fractional issuer_id", import_session("  issuer_id = 1.5"), &["\"issuer_id\"", "positive whole number"]),
        case(
            "oidc_group_import: timeout in words",
            import_session("  issuer_id = 123\n  timeouts = { create = \"10 minutes\" }"),
            &["\"timeouts.create\"", "is not a duration like \"90s\""],
        ),
        case(
            "oidc_group_import: timeout without a unit",
            import_session("  issuer_id = 123\n  timeouts = { create = \"5\" }"),
            &["\"timeouts.create\"", "units: h, m, s, ms"],
        ),
        case(
            "oidc_group_import: zero timeout",
            import_session("  issuer_id = 123\n  timeouts = { create = \"0s\" }"),
            &["\"timeouts.create\"", "must be longer than zero"],
        ),
        // ----- identity_idp_mappers -----
        case(
            "idp_mappers: empty idp alias",
            "resource \"identity_idp_mappers\" \"x\" {\n  idp = \"\"\n  uid = \"sub\"\n}\n",
            &["\"idp\"", "an idp alias"],
        ),
        case(
            "idp_mappers: zero update timeout",
            "resource \"identity_idp_mappers\" \"x\" {\n  idp      = \"corp\"\n  uid      = \"sub\"\n  timeouts = { update = \"0ms\" }\n}\n",
            &["\"timeouts.update\"", "must be longer than zero"],
        ),
        // ----- identity_idp (cases tests/it/validation_idp.rs does not have) -----
        case(
            "idp: ocp scope with a comma",
            idp(
                "  type = \"openshift-v4\"\n  ocp = {\n    idp_base_url     = \"https://api.example.com\"\n    client_secret_wo = \"s\"\n    scopes           = [\"user:info,user:full\"]\n  }",
            ),
            &["\"ocp.scopes[0]\"", "scope names separated by single spaces"],
        ),
        case(
            "idp: saml metadata URL without a domain",
            idp("  type = \"saml\"\n  saml = { metadata_xml_url = \"https://metadata/idp.xml\" }"),
            &["\"saml.metadata_xml_url\"", "host name with a dot"],
        ),
        case(
            "idp: empty saml metadata file",
            idp("  type = \"saml\"\n  saml = { metadata_xml_file = \"\" }"),
            &["\"saml.metadata_xml_file\"", "must not be empty"],
        ),
        case(
            "idp: empty ocp client_id",
            idp(
                "  type = \"openshift-v4\"\n  ocp = {\n    idp_base_url     = \"https://api.example.com\"\n    client_id        = \"\"\n    client_secret_wo = \"s\"\n  }",
            ),
            &["\"ocp.client_id\"", "must not be empty"],
        ),
        case(
            "idp: ocp secret version without the write-only secret",
            idp(
                "  type = \"openshift-v4\"\n  ocp = {\n    idp_base_url             = \"https://api.example.com\"\n    client_secret            = \"s\"\n    client_secret_wo_version = 1\n  }",
            ),
            &["\"ocp.client_secret_wo_version\" also requires \"ocp.client_secret_wo\""],
        ),
        case(
            "idp: empty plain oidc client_secret",
            idp(
                "  type = \"oidc\"\n  oidc = {\n    client_id             = \"a\"\n    client_secret         = \"\"\n    discover_document_url = \"https://idp.example.com\"\n  }",
            ),
            &["\"oidc.client_secret\"", "must not be empty"],
        ),
        case(
            "idp: empty mandatory claim value",
            idp(
                "  type = \"oidc\"\n  oidc = {\n    client_id             = \"a\"\n    client_secret_wo      = \"s\"\n    discover_document_url = \"https://idp.example.com\"\n    mandatory_claim       = { claim = \"groups\", values = [\"admins\", \"\"] }\n  }",
            ),
            &["\"oidc.mandatory_claim.values[1]\"", "contains at least one letter"],
        ),
        // ----- data sources -----
        case(
            "data identity_idp: alias with capitals",
            "data \"identity_idp\" \"x\" {\n  alias = \"Corp\"\n}\n",
            &["\"alias\"", "an idp alias"],
        ),
        case(
            "data identity_idp_mappers: alias with a space",
            "data \"identity_idp_mappers\" \"x\" {\n  idp = \"corp oidc\"\n}\n",
            &["\"idp\"", "an idp alias"],
        ),
        case(
            "data identity_user_oidc_assignments: id with a leading zero",
            "data \"identity_user_oidc_assignments\" \"x\" {\n  user_id = \"007\"\n}\n",
            &["\"user_id\"", "must not start with 0"],
        ),
        case(
            "data identity_scim_users: empty filter",
            "data \"identity_scim_users\" \"x\" {\n  filter = \"\"\n}\n",
            &["\"filter\"", "must not be empty"],
        ),
        case(
            "data identity_scim_groups: empty filter",
            "data \"identity_scim_groups\" \"x\" {\n  filter = \"\"\n}\n",
            &["\"filter\"", "must not be empty"],
        ),
        case(
            "data identity_scim_groups: member_user_id that is a composite id",
            "data \"identity_scim_groups\" \"x\" {\n  member_user_id = \"4f0c/9c1e\"\n}\n",
            &["\"member_user_id\"", "is not a SCIM id", "contains \"/\""],
        ),
        case(
            "data identity_oidc_staged_groups: import_session_id 0",
            "data \"identity_oidc_staged_groups\" \"x\" {\n  import_session_id = 0\n}\n",
            &["\"import_session_id\"", "positive whole number"],
        ),
        // ----- the provider block -----
        case(
            "provider: runai url without a scheme",
            provider("  runai = { url = \"app.run.ai\" }"),
            &["\"runai.url\"", "an http:// or https:// URL"],
        ),
        case(
            "provider: fudo url with another scheme",
            provider("  fudo = { url = \"ftp://fudo.example.com\" }"),
            &["\"fudo.url\"", "an http:// or https:// URL"],
        ),
        case(
            "provider: landscape url with a space",
            provider("  landscape = { url = \"https://landscape .example.com\" }"),
            &["\"landscape.url\"", "an http:// or https:// URL"],
        ),
        case("provider: zero request_timeout", provider("  request_timeout = 0"), &["\"request_timeout\"", "whole number from 1 to 3600"]),
        case("provider: negative max_retries", provider("  max_retries = -1"), &["\"max_retries\"", "whole number from 0 to 100"]),
        case(
            "provider: unknown scim grant_type",
            provider("  scim = { grant_type = \"implicit\" }"),
            &["\"scim.grant_type\"", "\"implicit\" is not allowed", "\"client_credentials\", \"password\""],
        ),
        case(
            "provider: password grant without a username",
            provider("  scim = { grant_type = \"password\" }"),
            &["scim.username", "IDENTITY_SCIM_USERNAME", "scim.password", "IDENTITY_SCIM_PASSWORD"],
        ),
    ]
}

/// Text that would mean a message meant for developers, not people.
const JARGON: &[&str] = &["Value::", "Some(", "None)", "panicked", "internal error", "rpc error", "Unknown(", "DynamicValue"];

#[test]
fn invalid_configurations_everywhere_are_refused_at_plan_time_without_api_calls() {
    let all = cases();
    let per_resource = |prefix: &str| all.iter().filter(|c| c.name.starts_with(prefix)).count();
    let outside_idp = all.iter().filter(|c| !c.name.starts_with("idp:")).count();
    assert!(all.len() >= 40, "at least 40 cases, have {}", all.len());
    assert!(outside_idp >= 35, "at least 35 cases outside identity_idp, have {outside_idp}");
    for prefix in [
        "scim_user:",
        "scim_group:",
        "scim_group_member:",
        "scim_user_group_memberships:",
        "user_oidc:",
        "oidc_group_import:",
        "idp_mappers:",
        "idp:",
        "data ",
        "provider:",
    ] {
        assert!(per_resource(prefix) >= 2, "{prefix} has {} cases", per_resource(prefix));
    }
    let mut names: Vec<&str> = all.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all.len(), "case names are unique");

    let started = Instant::now();
    let total = all.len();
    let queue = Mutex::new(all.into_iter().enumerate().collect::<Vec<_>>());
    let failures = Mutex::new(Vec::<String>::new());
    let workers = 3;
    thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let sandbox = Sandbox::start();
                let ws = Workspace::new(&sandbox);
                loop {
                    let Some((i, c)) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop() else { break };
                    if let Err(why) = run_case(&sandbox, &ws, &c) {
                        failures.lock().unwrap_or_else(|e| e.into_inner()).push(format!("case {i} {:?}: {why}", c.name));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    eprintln!("{total} invalid configurations checked in {:.1?} on {workers} threads", started.elapsed());
    assert!(failures.is_empty(), "{} of {total} cases failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

fn run_case(sandbox: &Sandbox, ws: &Workspace, c: &Case) -> Result<(), String> {
    ws.write_main(&c.hcl);
    let out = ws.run(&["plan", "-input=false", "-no-color"]);
    let text = out.combined();
    let report = || format!("exit code {}\n--- configuration ---\n{}\n--- output ---\n{text}", out.code, c.hcl);
    if out.code != 1 {
        return Err(format!("plan did not fail with an error\n{}", report()));
    }
    let requests = sandbox.total_requests();
    if requests != 0 {
        return Err(format!("{requests} request(s) reached the sandbox: {:?}\n{}", sandbox.requests(), report()));
    }
    let flat_text = flat(&text);
    if !flat_text.contains("Error: ") {
        return Err(format!("no error diagnostic\n{}", report()));
    }
    for w in &c.wants {
        if !flat_text.contains(&flat(w)) {
            return Err(format!("the output lacks {w:?}\n{}", report()));
        }
    }
    if let Some(j) = JARGON.iter().find(|j| text.contains(**j)) {
        return Err(format!("the output contains {j:?}, which is not meant for people\n{}", report()));
    }
    Ok(())
}
