//! `terraform validate` on every example under `examples/` (the registry docs show them,
//! so they must be valid against the current schema), through dev_overrides. The list
//! resource examples (`*.tfquery.hcl`) are validated with `terraform validate -query`
//! when the terraform under test has it (1.14+; leg 2 of scripts/test runs 1.15).

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
    for kind in ["resources", "data-sources", "ephemeral-resources", "list-resources"] {
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
fn validate(dir: &Path, query: bool) -> Result<(), String> {
    let ws = Workspace::bare(LogTail::default());
    let tf = files_with(dir, ".tf");
    let tfquery = files_with(dir, ".tfquery.hcl");
    if !tf.iter().any(|(_, text)| text.contains("required_providers")) {
        ws.write_file("versions.tf", REQUIRED_PROVIDERS);
    }
    for (name, text) in &tf {
        ws.write_file(name, text);
    }
    let mut args = vec!["validate", "-no-color"];
    if !tfquery.is_empty() {
        if !query {
            return Ok(());
        }
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
    let query = terraform_at_least(1, 14);
    let dirs = example_dirs();
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .chunks(dirs.len().div_ceil(4))
            .map(|chunk| s.spawn(move || chunk.iter().filter_map(|d| validate(d, query).err()).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|_| vec!["a validation thread panicked".into()])).collect()
    });
    if !query {
        eprintln!(
            "note: the list-resource examples (*.tfquery.hcl) need `terraform validate -query` (1.14+); scripts/test validates them on its Terraform 1.15 leg"
        );
    }
    assert!(failures.is_empty(), "{} example(s) do not validate:\n{}", failures.len(), failures.join("\n"));
}
