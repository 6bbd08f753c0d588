//! The reusable module example (`examples/modules/team`) and its own `terraform test`
//! files: the mocked one with no API at all, and the one against the sandbox, which
//! checks memberships on the server through a helper module. Both must pass, and the
//! sandbox run must leave nothing behind.

use crate::support;

use std::path::{Path, PathBuf};

use support::*;

fn module_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/modules/team")
}

/// Copies the module (with its tests) into the workspace.
fn copy_module(ws: &Workspace) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("mkdir {}: {e}", to.display()));
        for e in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
            let e = e.expect("dir entry");
            let (src, dst) = (e.path(), to.join(e.file_name()));
            if src.is_dir() {
                copy(&src, &dst);
            } else {
                std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
            }
        }
    }
    copy(&module_dir(), ws.dir());
}

/// The `N passed, M failed` summary of `terraform test`.
fn summary(out: &str) -> Option<(u32, u32)> {
    let line = out.lines().find(|l| l.starts_with("Success!") || l.starts_with("Failure!"))?;
    let nums: Vec<u32> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|t| t.parse().ok()).collect();
    match nums.as_slice() {
        [passed, failed, ..] => Some((*passed, *failed)),
        _ => None,
    }
}

#[test]
fn module_mock_tests_need_no_api() {
    // No sandbox and no IDENTITY_* variables: the mocked provider is all there is.
    let ws = Workspace::bare(LogTail::default());
    copy_module(&ws);
    ws.run_ok(&["get", "-no-color"]);
    let out = ws.run_ok(&["test", "-no-color", "-filter=tests/mock.tftest.hcl"]);
    assert_eq!(summary(&out.stdout), Some((2, 0)), "{}", out.stdout);
    assert!(out.stdout.contains("run \"everyone_is_in_the_group\"... pass"), "{}", out.stdout);
    assert!(out.stdout.contains("run \"bad_names_are_refused\"... pass"), "{}", out.stdout);
}

#[test]
fn module_tests_pass_against_the_sandbox_and_clean_up() {
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    copy_module(&ws);
    ws.run_ok(&["get", "-no-color"]);
    let out = ws.run_ok(&["test", "-no-color"]);
    assert_eq!(summary(&out.stdout), Some((7, 0)), "{}", out.stdout);
    for run in ["create_the_team", "grace_is_a_member_on_the_server", "a_member_leaves", "after_grace_left_on_the_server"] {
        assert!(out.stdout.contains(&format!("run \"{run}\"... pass")), "{run}:\n{}", out.stdout);
    }
    // The sandbox run really reached the server, and its teardown left nothing there.
    assert!(sb.route_count("POST /oci/admin/v1/Users") >= 2, "the users were created on the server");
    assert!(sb.route_count("POST /runai/api/v1/idps") >= 1, "the idp was created on the server");
    assert!(sb.scim_users().is_empty(), "users left: {:?}", sb.scim_users());
    assert!(sb.scim_groups().is_empty(), "groups left: {:?}", sb.scim_groups());
    assert!(sb.runai_aliases().is_empty(), "idps left: {:?}", sb.runai_aliases());
}

#[test]
fn a_failing_module_assertion_fails_terraform_test() {
    // The module tests can fail: a wrong expectation makes `terraform test` exit 1.
    let ws = Workspace::bare(LogTail::default());
    copy_module(&ws);
    let broken = std::fs::read_to_string(ws.dir().join("tests/mock.tftest.hcl"))
        .expect("read")
        .replace("length(identity_scim_group.team.members) == 2", "length(identity_scim_group.team.members) == 3");
    ws.write_file("tests/mock.tftest.hcl", &broken);
    ws.run_ok(&["get", "-no-color"]);
    let out = ws.run(&["test", "-no-color", "-filter=tests/mock.tftest.hcl"]);
    assert_eq!(out.code, 1, "{}", out.combined());
    assert_eq!(summary(&out.stdout), Some((1, 1)), "{}", out.stdout);
}
