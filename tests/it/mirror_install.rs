//! Release packaging: `scripts/release` writes the registry's release layout, and Terraform
//! installs the zip from a packed `filesystem_mirror` (no dev_overrides, no `direct`, no
//! network), as an air-gapped or HCP Terraform agent user would, then applies against the
//! sandbox.
//!
//! The script packages the provider binary this `cargo test` already built (`--binary`),
//! so no second cargo runs while this one holds the build lock.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use serde_json::{Value, json};
use support::{Sandbox, Workspace, filesystem_mirror_cli_config, provider_bin};

const NAME: &str = "terraform-provider-identity";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const ADDR: &str = "identity_idp.mirror";

const IDP_HCL: &str = r#"
resource "identity_idp" "mirror" {
  name = "mirror-oidc"
  type = "oidc"
  oidc = {
    client_id                = "terraform"
    client_secret_wo         = "mirror-secret-3b9d"
    client_secret_wo_version = 1
    discover_document_url    = "https://idp.example.com/.well-known/openid-configuration"
    scopes                   = ["openid", "email"]
  }
}
"#;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Terraform's name for this machine's platform, e.g. `linux_amd64`.
fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

/// Runs `scripts/release <args>` from the repository root.
fn release(args: &[&str]) -> Output {
    let script = repo().join("scripts/release");
    Command::new(&script)
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()))
}

fn describe(what: &str, out: &Output) -> String {
    format!(
        "{what}: exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap_or_else(|| panic!("non-UTF-8 path {}", p.display()))
}

// ----- sha256 / h1 through coreutils (the project has no sha2 crate) -----

/// `sha256sum FILE`'s hex digest.
fn sha256_file(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("run sha256sum");
    assert!(out.status.success(), "{}", describe("sha256sum", &out));
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().expect("a digest").to_string()
}

/// The hex sha256 of `data`.
fn sha256_bytes(data: &[u8]) -> String {
    use std::io::Write as _;
    let mut child = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("run sha256sum");
    child.stdin.take().expect("stdin").write_all(data).expect("write to sha256sum");
    let out = child.wait_with_output().expect("sha256sum output");
    assert!(out.status.success(), "{}", describe("sha256sum", &out));
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().expect("a digest").to_string()
}

fn hex_decode(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit")).collect()
}

/// Terraform's `h1:` package hash (Go's dirhash.Hash1) of a package holding only `file`,
/// stored under its file name: base64(sha256("<sha256 hex>  <name>\n")).
fn h1_hash_single_file(file: &Path) -> String {
    let name = file.file_name().and_then(|n| n.to_str()).expect("a file name");
    let summary = format!("{}  {name}\n", sha256_file(file));
    let digest = hex_decode(&sha256_bytes(summary.as_bytes()));
    format!("h1:{}", base64::engine::general_purpose::STANDARD.encode(digest))
}

// ----- zip central directory, read independently of the writer -----

#[derive(Debug)]
struct ZipEntry {
    name: String,
    /// Upper byte of "version made by": 3 = Unix (external attributes carry st_mode).
    made_by_system: u8,
    /// `st_mode` from the external attributes.
    unix_mode: u32,
    uncompressed_size: u64,
}

fn zip_entries(bytes: &[u8]) -> Vec<ZipEntry> {
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    let search_from = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (search_from..=bytes.len().saturating_sub(22))
        .rev()
        .find(|&o| bytes[o..o + 4] == [0x50, 0x4b, 0x05, 0x06])
        .expect("zip: no end-of-central-directory record");
    let count = u16_at(eocd + 10) as usize;
    let mut at = u32_at(eocd + 16) as usize;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        assert_eq!(bytes[at..at + 4], [0x50, 0x4b, 0x01, 0x02], "zip: bad central directory header at {at}");
        let made_by_system = bytes[at + 5];
        let uncompressed_size = u64::from(u32_at(at + 24));
        let name_len = u16_at(at + 28) as usize;
        let extra_len = u16_at(at + 30) as usize;
        let comment_len = u16_at(at + 32) as usize;
        let external = u32_at(at + 38);
        let name = String::from_utf8_lossy(&bytes[at + 46..at + 46 + name_len]).into_owned();
        entries.push(ZipEntry { name, made_by_system, unix_mode: external >> 16, uncompressed_size });
        at += 46 + name_len + extra_len + comment_len;
    }
    entries
}

// ----- the tests -----

#[test]
fn release_zip_installs_from_a_filesystem_mirror_and_applies() {
    let keep = std::env::var("IDENTITY_ACC_KEEP").is_ok_and(|v| !v.is_empty() && v != "0");
    let tmp = tempfile::Builder::new().prefix("identity-release-").disable_cleanup(keep).tempdir().expect("tempdir");
    if keep {
        eprintln!("IDENTITY_ACC_KEEP: release test files kept at {}", tmp.path().display());
    }
    // A private copy, so a concurrent `cargo build` cannot swap the binary mid-test.
    let bin = tmp.path().join(NAME);
    std::fs::copy(provider_bin(), &bin).expect("copy the provider binary");
    let bin_sha = sha256_file(&bin);
    let dist = tmp.path().join("dist");

    // 1. Package it.
    let out = release(&["--profile", "debug", "--binary", path_str(&bin), "--out", path_str(&dist)]);
    assert!(out.status.success(), "{}", describe("scripts/release", &out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(printed.trim(), path_str(&dist), "the script prints the output directory last");

    // 2. The registry release layout and the zip's SBOM (release_sbom checks it), and
    // nothing else.
    let zip_name = format!("{NAME}_{VERSION}_{}.zip", platform());
    let sums_name = format!("{NAME}_{VERSION}_SHA256SUMS");
    let manifest_name = format!("{NAME}_{VERSION}_manifest.json");
    let sbom_name = format!("{NAME}_{VERSION}_{}.cdx.json", platform());
    let mut files: Vec<String> =
        std::fs::read_dir(&dist).expect("read dist").map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    let mut expected = vec![zip_name.clone(), sums_name.clone(), manifest_name.clone(), sbom_name];
    expected.sort();
    assert_eq!(files, expected, "files in {}", dist.display());

    // The manifest: protocol 6.0, a byte copy of the repository's file.
    let manifest = std::fs::read(dist.join(&manifest_name)).expect("read the manifest");
    assert_eq!(manifest, std::fs::read(repo().join("terraform-registry-manifest.json")).expect("repo manifest"));
    let manifest: Value = serde_json::from_slice(&manifest).expect("the manifest is JSON");
    assert_eq!(manifest, json!({"version": 1, "metadata": {"protocol_versions": ["6.0"]}}));

    // SHA256SUMS: `sha256sum` format, one line per zip and the manifest, and they verify.
    let sums = std::fs::read_to_string(dist.join(&sums_name)).expect("read SHA256SUMS");
    let listed: Vec<(String, String)> = sums
        .lines()
        .map(|l| {
            let (hash, name) = l.split_once("  ").unwrap_or_else(|| panic!("not a sha256sum line: {l:?}"));
            assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "bad digest in {l:?}");
            (name.to_string(), hash.to_string())
        })
        .collect();
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, [zip_name.as_str(), manifest_name.as_str()], "SHA256SUMS:\n{sums}");
    let check =
        Command::new("sha256sum").args(["--check", "--strict", &sums_name]).current_dir(&dist).output().expect("run sha256sum --check");
    assert!(check.status.success(), "{}", describe("sha256sum --check", &check));

    // The zip holds exactly the binary, named as the registry wants, mode 0755.
    let zip = std::fs::read(dist.join(&zip_name)).expect("read the zip");
    let entries = zip_entries(&zip);
    assert_eq!(entries.len(), 1, "exactly one file in the zip: {entries:?}");
    let entry = &entries[0];
    assert_eq!(entry.name, format!("{NAME}_v{VERSION}"));
    assert_eq!(entry.made_by_system, 3, "made on Unix, so unzip and Terraform read the mode: {entry:?}");
    assert_eq!(entry.unix_mode, 0o100755, "a regular file with mode 0755: {entry:?}");
    assert_eq!(entry.uncompressed_size, std::fs::metadata(&bin).expect("stat binary").len());

    // 3. A packed filesystem mirror holding the zip.
    let mirror = tmp.path().join("mirror");
    let pkg_dir = mirror.join("registry.terraform.io/idfabric/identity");
    std::fs::create_dir_all(&pkg_dir).expect("create the mirror");
    std::fs::copy(dist.join(&zip_name), pkg_dir.join(&zip_name)).expect("copy the zip into the mirror");

    let sb = Sandbox::start();
    let mut ws = Workspace::new(&sb);
    let cli_config = filesystem_mirror_cli_config(&mirror, &["registry.terraform.io/idfabric/*"]);
    assert!(!cli_config.contains("dev_overrides") && !cli_config.contains("direct"), "{cli_config}");
    ws.write_cli_config(&cli_config);
    ws.write_main(IDP_HCL);

    // 4. init: offline (any network access would hit a dead proxy), from the mirror.
    for var in ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"] {
        ws.set_env(var, "http://127.0.0.1:9");
    }
    ws.remove_env("NO_PROXY").remove_env("no_proxy");
    let init = ws.run_ok(&["init", "-input=false", "-no-color"]);
    for var in ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"] {
        ws.remove_env(var);
    }
    let init_text = init.combined();
    assert!(
        init_text.contains(&format!("Installed idfabric/identity v{VERSION} (unauthenticated)")),
        "{}",
        ws.report("init did not install the provider from the mirror", &init)
    );
    assert!(!init_text.contains("development overrides"), "{}", ws.report("dev_overrides in effect", &init));

    // The lock file records the version and the h1 hash of the package.
    let lock = ws.read_file(".terraform.lock.hcl");
    assert!(lock.contains(r#"provider "registry.terraform.io/idfabric/identity" {"#), "lock file:\n{lock}");
    let version_line = lock.lines().map(str::trim).find(|l| l.starts_with("version")).unwrap_or_default();
    assert_eq!(version_line.split_once('=').map(|(_, v)| v.trim()), Some(format!("\"{VERSION}\"").as_str()), "lock file:\n{lock}");
    let hashes: Vec<&str> =
        lock.lines().map(|l| l.trim().trim_end_matches(',').trim_matches('"')).filter(|l| l.starts_with("h1:")).collect();

    // The unpacked binary: where Terraform puts it, executable, identical to what we packed.
    let installed = ws
        .dir()
        .join(".terraform/providers/registry.terraform.io/idfabric/identity")
        .join(VERSION)
        .join(platform())
        .join(format!("{NAME}_v{VERSION}"));
    let meta = std::fs::metadata(&installed).unwrap_or_else(|e| panic!("{} is not installed ({e})\n{}", installed.display(), init_text));
    assert!(meta.is_file(), "{} is not a file", installed.display());
    assert_eq!(meta.permissions().mode() & 0o777, 0o755, "{} must be executable (mode 0755)", installed.display());
    assert_eq!(sha256_file(&installed), bin_sha, "the installed binary is the packaged one");
    assert_eq!(hashes, [h1_hash_single_file(&installed)], "the lock file's h1 hash is the package's:\n{lock}");

    // `--version` prints the Cargo version.
    let version = Command::new(&installed).arg("--version").output().expect("run --version");
    assert!(version.status.success(), "{}", describe("--version", &version));
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("{NAME} {VERSION}"));

    // 5. apply, an empty plan, destroy: all through the mirror-installed provider.
    let applied = ws.apply();
    assert!(!applied.combined().contains("development overrides"), "{}", ws.report("dev_overrides in effect", &applied));
    assert_eq!(sb.runai_aliases(), ["mirror-oidc"]);
    assert_eq!(ws.state_attr(ADDR, "name"), json!("mirror-oidc"));
    let state = ws.show_json();
    let provider_name = &state["values"]["root_module"]["resources"][0]["provider_name"];
    assert_eq!(provider_name, &json!("registry.terraform.io/idfabric/identity"), "state: {state:#}");
    ws.assert_state_lacks("mirror-secret-3b9d");
    ws.assert_plan_empty();
    ws.destroy();
    assert!(sb.runai_aliases().is_empty(), "destroy deletes the idp; left: {:?}", sb.runai_aliases());
}

#[test]
fn release_refuses_a_binary_of_another_version() {
    let tmp = tempfile::Builder::new().prefix("identity-release-").tempdir().expect("tempdir");
    let fake = tmp.path().join(NAME);
    std::fs::write(&fake, format!("#!/bin/sh\necho '{NAME} 9.9.9'\n")).expect("write the fake binary");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let dist = tmp.path().join("dist");

    let out = release(&["--binary", path_str(&fake), "--out", path_str(&dist)]);
    assert_eq!(out.status.code(), Some(1), "{}", describe("scripts/release with a 9.9.9 binary", &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("9.9.9") && stderr.contains(VERSION), "the error names both versions: {stderr}");
    let written: Vec<_> = std::fs::read_dir(&dist).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(written.is_empty(), "nothing is released from a wrong binary: {written:?}");
}

#[test]
fn release_usage() {
    let help = release(&["--help"]);
    assert!(help.status.success(), "{}", describe("--help", &help));
    let text = String::from_utf8_lossy(&help.stdout);
    for option in ["--profile", "--out", "--target", "--binary"] {
        assert!(text.contains(option), "--help documents {option}:\n{text}");
    }

    let bad = release(&["--profile", "fast"]);
    assert_eq!(bad.status.code(), Some(2), "{}", describe("--profile fast", &bad));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--profile must be release or debug"), "{}", describe("", &bad));

    let two = release(&["--binary", "/nonexistent", "--target", "x86_64-unknown-linux-gnu", "--target", "aarch64-unknown-linux-gnu"]);
    assert_eq!(two.status.code(), Some(2), "{}", describe("--binary with two targets", &two));

    let unknown = release(&["--sign"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", describe("unknown option", &unknown));
}
