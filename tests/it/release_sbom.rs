//! The release's SBOM: `scripts/release` ships a CycloneDX 1.5 SBOM beside each zip
//! (`terraform-provider-identity_<version>_<os>_<arch>.cdx.json`, written by crates.io's
//! cargo-cyclonedx; signed on its own, see `release_signing`), and the SBOM is:
//! - valid CycloneDX 1.5 by an independent implementation, PyPI's cyclonedx-python-lib (its
//!   strict JSON schema validator, which must also refuse a broken copy, so the check can
//!   fail);
//! - exactly the crates built into the binary for that target: the packages that
//!   `cargo metadata --filter-platform` resolves from the provider through normal and build
//!   dependencies, no dev-dependency, each with its Cargo.lock version and checksum.
//!
//! The static release test (`static_release`) checks that both platforms' SBOMs are there.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const NAME: &str = "terraform-provider-identity";
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn utf8(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn report(what: &str, out: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// This machine's Rust target triple (`rustc -vV`): `--binary` packages for it.
fn host_triple() -> String {
    let out = Command::new("rustc").arg("-vV").output().expect("run rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .expect("rustc -vV names the host")
}

fn os_arch(triple: &str) -> &'static str {
    match triple.split('-').next() {
        Some("x86_64") => "linux_amd64",
        Some("aarch64") => "linux_arm64",
        other => panic!("no release platform for {other:?}"),
    }
}

/// Runs cyclonedx-python-lib's strict JSON validator (CycloneDX 1.5) on `path`; returns its
/// errors, or None when the document is valid. The document is also read back into the
/// library's model, which fails on what the schema allows but the model cannot hold.
fn validate(path: &Path) -> Option<String> {
    const SCRIPT: &str = r#"
import json, sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
text = open(sys.argv[1], encoding="utf-8").read()
errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(text)
if errors is not None:
    print(errors)
    sys.exit(3)
from cyclonedx.model.bom import Bom
bom = Bom.from_json(json.loads(text))
print(bom.metadata.component.name, len(bom.components))
"#;
    let out = Command::new(support::supply_chain::python())
        .args(["-c", SCRIPT, utf8(path)])
        .stdin(Stdio::null())
        .output()
        .expect("run the CycloneDX validator");
    match out.status.code() {
        Some(0) => None,
        Some(3) => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        _ => panic!("{}", report("the CycloneDX validator", &out)),
    }
}

/// name@version -> checksum of every crates.io package in Cargo.lock.
fn lock_checksums() -> BTreeMap<String, String> {
    let lock = std::fs::read_to_string(repo().join("Cargo.lock")).expect("Cargo.lock");
    let mut sums = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| l.strip_prefix(&format!("{key} = \"")).and_then(|v| v.strip_suffix('"'))).map(str::to_string)
        };
        if let (Some(name), Some(version), Some(sum)) = (field("name"), field("version"), field("checksum")) {
            sums.insert(format!("{name}@{version}"), sum);
        }
    }
    sums
}

/// name@version of every package built into the provider for `triple`: cargo's resolve for
/// that platform, walked from this package along normal and build dependencies (a
/// dependency's dev-dependencies are never built, this package's are for tests only).
fn built_packages(triple: &str) -> BTreeSet<String> {
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--locked", "--filter-platform", triple, "--manifest-path"])
        .arg(repo().join("Cargo.toml"))
        .stdin(Stdio::null())
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "{}", report("cargo metadata", &out));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let ids: BTreeMap<&str, String> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (p["id"].as_str().expect("id"), format!("{}@{}", p["name"].as_str().expect("name"), p["version"].as_str().expect("version")))
        })
        .collect();
    let nodes: BTreeMap<&str, &Value> =
        meta["resolve"]["nodes"].as_array().expect("nodes").iter().map(|n| (n["id"].as_str().expect("id"), n)).collect();
    let root = meta["resolve"]["root"].as_str().expect("the package is the resolve root");
    let mut seen = BTreeSet::new();
    let mut todo = vec![root];
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().expect("deps") {
            let kinds = dep["dep_kinds"].as_array().expect("dep_kinds");
            if kinds.iter().any(|k| k["kind"].as_str() != Some("dev")) {
                todo.push(dep["pkg"].as_str().expect("pkg"));
            }
        }
    }
    seen.remove(root);
    seen.into_iter().map(|id| ids[id].clone()).collect()
}

#[test]
fn the_release_ships_a_valid_cyclonedx_sbom_of_exactly_the_crates_in_the_binary() {
    let tmp = tempfile::Builder::new().prefix("identity-sbom-").tempdir().expect("tempdir");
    let dist = tmp.path().join("dist");
    let out = Command::new(repo().join("scripts/release"))
        .args(["--profile", "debug", "--binary", utf8(&support::provider_bin()), "--out", utf8(&dist)])
        .current_dir(repo())
        .env_remove("GPG_FINGERPRINT")
        .env("CARGO_CYCLONEDX", support::supply_chain::bin_dir().join("cargo-cyclonedx"))
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/release");
    assert!(out.status.success(), "{}", report("scripts/release", &out));

    let triple = host_triple();
    let file = format!("{NAME}_{VERSION}_{}.cdx.json", os_arch(&triple));
    let sbom_path = dist.join(&file);
    assert!(sbom_path.is_file(), "scripts/release writes {file} beside the zip");
    let leftovers: Vec<_> = std::fs::read_dir(repo())
        .expect("read the repository")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".cdx.json"))
        .collect();
    assert!(leftovers.is_empty(), "cargo-cyclonedx's files are moved out of the repository: {leftovers:?}");

    // Not in SHA256SUMS: every line of it becomes a `zh:` hash in users' lock files, which
    // name the packages; the SBOM has a detached signature of its own (release_signing).
    let sums = std::fs::read_to_string(dist.join(format!("{NAME}_{VERSION}_SHA256SUMS"))).expect("SHA256SUMS");
    assert!(!sums.contains(".cdx.json"), "SHA256SUMS lists the packages and the manifest only:\n{sums}");

    // Valid CycloneDX 1.5, by an independent implementation; a broken copy is refused.
    assert_eq!(validate(&sbom_path), None, "{file} is valid CycloneDX 1.5");
    let mut broken: Value = serde_json::from_slice(&std::fs::read(&sbom_path).expect("read the SBOM")).expect("SBOM JSON");
    broken["components"][0]["hashes"][0]["alg"] = Value::from("SHA-257");
    let broken_path = tmp.path().join("broken.cdx.json");
    std::fs::write(&broken_path, serde_json::to_vec(&broken).expect("JSON")).expect("write");
    assert!(validate(&broken_path).is_some_and(|e| e.contains("SHA-257")), "the validator refuses an unknown hash algorithm");

    // What it describes: the provider binary of this version, for this target.
    let sbom: Value = serde_json::from_slice(&std::fs::read(&sbom_path).expect("read the SBOM")).expect("SBOM JSON");
    let component = &sbom["metadata"]["component"];
    assert_eq!(
        (component["name"].as_str(), component["version"].as_str(), component["type"].as_str()),
        (Some(NAME), Some(VERSION), Some("application"))
    );
    let triple_prop =
        sbom["metadata"]["properties"].as_array().expect("properties").iter().find(|p| p["name"] == "cdx:rustc:sbom:target:triple");
    assert_eq!(triple_prop.and_then(|p| p["value"].as_str()), Some(triple.as_str()), "the SBOM names its target");

    // Exactly the crates built into it, with Cargo.lock's versions and checksums.
    let checksums = lock_checksums();
    let mut listed = BTreeSet::new();
    for c in sbom["components"].as_array().expect("components") {
        let (name, version) = (c["name"].as_str().expect("name"), c["version"].as_str().expect("version"));
        let key = format!("{name}@{version}");
        assert_eq!(c["purl"].as_str(), Some(format!("pkg:cargo/{key}").as_str()), "{key}: a cargo purl");
        let sum = c["hashes"].as_array().and_then(|h| h.iter().find(|h| h["alg"] == "SHA-256")).and_then(|h| h["content"].as_str());
        assert_eq!(sum, checksums.get(&key).map(String::as_str), "{key}: the crates.io checksum of Cargo.lock");
        assert!(c["licenses"].as_array().is_some_and(|l| !l.is_empty()), "{key}: its licence is recorded");
        assert!(listed.insert(key.clone()), "{key} is listed once");
    }
    let built = built_packages(&triple);
    let missing: Vec<_> = built.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&built).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the SBOM lists the crates built into the binary:\nmissing: {missing:?}\nnot built in: {extra:?}"
    );
    for crate_ in ["rustls", "tonic", "aws-lc-sys", "reqwest"] {
        assert!(listed.iter().any(|k| k.starts_with(&format!("{crate_}@"))), "{crate_} is in the SBOM");
    }
    for dev_only in ["proptest", "plotters", "jsonschema"] {
        assert!(!listed.iter().any(|k| k.starts_with(&format!("{dev_only}@"))), "{dev_only} (a dev-dependency) is not in the SBOM");
    }
}
