//! Installing a signed release through the provider registry protocol, the way HCP
//! Terraform runs, agents and CI runners get a provider: `scripts/release` packages the
//! provider this `cargo test` built and signs SHA256SUMS with a throwaway RSA key; a
//! registry on a loopback port serves that `dist/` over HTTPS (service discovery,
//! `versions`, `download` with `signing_keys`); `terraform init` installs the provider from
//! it, verifies the signature, and refuses a tampered zip and a signature by another key.
//! The same server speaks the provider network mirror protocol, and `terraform providers
//! lock` records the hashes of linux_amd64 and linux_arm64 from it.
//!
//! How Terraform reaches the test registry:
//! - **Host name.** The provider source is `localhost:<port>/idfabric/identity`: a provider
//!   address's hostname may carry a port, and `localhost` resolves through /etc/hosts. A
//!   name such as `registry.localhost` does not work: Terraform is built without cgo, and
//!   Go's own resolver sends `*.localhost` to DNS ("lookup registry.localhost ...: no such
//!   host"). Go never sends `localhost` through a proxy, so `HTTPS_PROXY` cannot interfere.
//! - **Trust.** The server's certificate is signed by a CA made for the test (rcgen, through
//!   the sandbox's generator). Terraform runs with `SSL_CERT_FILE` naming the CA's PEM and
//!   `SSL_CERT_DIR` an empty directory, which Go's crypto/x509 reads on Linux instead of the
//!   system's roots: Terraform trusts exactly the test CA, and nothing is installed in the
//!   system trust store.
//! - **No dev_overrides.** Each workspace gets a CLI config of its own whose only
//!   installation method is `direct` (the registry) or `network_mirror`.
//!
//! The registry serves what a registry serves from a release: the protocols come from the
//! release's manifest, the platforms from its zips, `shasum` from its SHA256SUMS, and the
//! signing key is the one registered for the namespace (not read from the release), so a
//! SHA256SUMS.sig made with another key is refused.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use identity_provider::sandbox::tls::{TlsListener, generate};
use serde_json::{Value, json};
use support::keyring::Keyring;
use support::{Sandbox, Workspace, flat, provider_bin};

const NAME: &str = "terraform-provider-identity";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const NAMESPACE: &str = "idfabric";
const TYPE: &str = "identity";
/// The host a provider source without a hostname (`idfabric/identity`) belongs to.
const DEFAULT_HOST: &str = "registry.terraform.io";
const ARM64_TARGET: &str = "aarch64-unknown-linux-musl";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

fn zip_name(platform: &str) -> String {
    format!("{NAME}_{VERSION}_{platform}.zip")
}

fn sums_name() -> String {
    format!("{NAME}_{VERSION}_SHA256SUMS")
}

fn sig_name() -> String {
    format!("{NAME}_{VERSION}_SHA256SUMS.sig")
}

fn manifest_name() -> String {
    format!("{NAME}_{VERSION}_manifest.json")
}

/// A temporary directory, kept when `IDENTITY_ACC_KEEP` is set (its path is printed).
fn tempdir(prefix: &str) -> tempfile::TempDir {
    let keep = std::env::var("IDENTITY_ACC_KEEP").is_ok_and(|v| !v.is_empty() && v != "0");
    let dir = tempfile::Builder::new().prefix(prefix).disable_cleanup(keep).tempdir().expect("tempdir");
    if keep {
        eprintln!("IDENTITY_ACC_KEEP: registry test files kept at {}", dir.path().display());
    }
    dir
}

// ----- hashes (coreutils and python3, independent of what Terraform computes) -----

/// `sha256sum FILE`'s hex digest.
fn sha256_file(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("run sha256sum");
    assert!(out.status.success(), "{}", describe("sha256sum", &out));
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().expect("a digest").to_string()
}

/// Terraform's `zh:` hash of a provider zip: the SHA-256 of the archive.
fn zh_hash(zip: &Path) -> String {
    format!("zh:{}", sha256_file(zip))
}

/// Terraform's `h1:` hash of a provider zip: Go's `dirhash.Hash1` over the files it holds,
/// base64(sha256 of the lines "<sha256 hex>  <name>\n", sorted by name).
fn h1_hash(zip: &Path) -> String {
    const SCRIPT: &str = r#"
import base64, hashlib, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    names = sorted(i.filename for i in z.infolist() if not i.is_dir())
    summary = "".join("%s  %s\n" % (hashlib.sha256(z.read(n)).hexdigest(), n) for n in names)
print("h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode())
"#;
    let out = Command::new("python3").args(["-c", SCRIPT]).arg(zip).output().expect("run python3");
    assert!(out.status.success(), "{}", describe("h1 hash of the zip", &out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The `"...:..."` hashes of the lock file's block for `provider`, sorted.
fn locked_hashes(lock: &str, provider: &str) -> Vec<String> {
    let start =
        lock.find(&format!("provider \"{provider}\" {{")).unwrap_or_else(|| panic!("no block for {provider} in the lock file:\n{lock}"));
    let block = &lock[start..];
    let block = &block[..block.find("\n}").unwrap_or(block.len())];
    let mut hashes: Vec<String> = block
        .lines()
        .map(|l| l.trim().trim_end_matches(',').trim_matches('"'))
        .filter(|l| l.starts_with("h1:") || l.starts_with("zh:"))
        .map(str::to_string)
        .collect();
    hashes.sort();
    hashes
}

// ----- GnuPG -----

/// The 16-hex-digit key ID of a v4 key: the end of its fingerprint.
fn key_id(fingerprint: &str) -> String {
    fingerprint[fingerprint.len() - 16..].to_ascii_uppercase()
}

// ----- the release -----

/// `dist/` as `scripts/release` wrote it, signed with `signer` (an RSA key of `keys`).
struct Release {
    tmp: tempfile::TempDir,
    keys: Keyring,
    signer: String,
    dist: PathBuf,
    /// The linux_amd64 binary that was packaged (a private copy of the one cargo built).
    bin: PathBuf,
}

impl Release {
    /// Packages the provider `cargo test` built as the linux_amd64 zip, signed with a
    /// fresh RSA key. With `arm64`, first packages a linux_arm64 binary into the same
    /// `dist/` (see [`Release::package_arm64`]), so SHA256SUMS lists both zips.
    fn package(arm64: bool) -> Release {
        let tmp = tempdir("identity-registry-");
        let keys = Keyring::new();
        let signer = keys.add_key("Registry Test Signer <release@example.com>", "rsa3072");
        // A private copy, so a concurrent `cargo build` cannot swap the binary mid-test.
        let bin = tmp.path().join(NAME);
        std::fs::copy(provider_bin(), &bin).expect("copy the provider binary");
        let dist = tmp.path().join("dist");
        let release = Release { tmp, keys, signer, dist, bin };
        if arm64 {
            release.package_arm64();
        }
        let out = release.script(&["--profile", "debug", "--binary", path_str(&release.bin), "--out", path_str(&release.dist)]);
        assert!(out.status.success(), "{}", describe("scripts/release (linux_amd64)", &out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("signed {}/{} with {}", release.dist.display(), sums_name(), release.signer)), "{stderr}");
        release
    }

    /// `scripts/release <args>` with this keyring and `GPG_FINGERPRINT` = the signer.
    fn script(&self, args: &[&str]) -> Output {
        let script = repo().join("scripts/release");
        Command::new(&script)
            .args(args)
            .current_dir(repo())
            .env("GNUPGHOME", self.keys.home())
            .env("GPG_FINGERPRINT", &self.signer)
            .env_remove("GPG_PASSPHRASE")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()))
    }

    /// Puts the linux_arm64 zip into `dist/`: the static aarch64 binary
    /// (`target/aarch64-unknown-linux-musl/debug/terraform-provider-identity`) when it has
    /// been built, else `scripts/release --target aarch64-unknown-linux-musl` builds it.
    fn package_arm64(&self) {
        let target_dir = provider_bin().parent().and_then(Path::parent).expect("the provider binary is in <target>/debug").to_path_buf();
        let prebuilt = target_dir.join(ARM64_TARGET).join("debug").join(NAME);
        let started = Instant::now();
        let out = if prebuilt.is_file() {
            self.script(&["--profile", "debug", "--target", ARM64_TARGET, "--binary", path_str(&prebuilt), "--out", path_str(&self.dist)])
        } else {
            eprintln!("registry_install: {} is not built; scripts/release builds it", prebuilt.display());
            self.script(&["--profile", "debug", "--target", ARM64_TARGET, "--out", path_str(&self.dist)])
        };
        assert!(out.status.success(), "{}", describe(&format!("scripts/release --target {ARM64_TARGET} (linux_arm64)"), &out));
        eprintln!("registry_install: linux_arm64 zip packaged in {:.0?}", started.elapsed());
        assert!(self.dist.join(zip_name("linux_arm64")).is_file(), "{}", describe("no linux_arm64 zip", &out));
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dist.join(name)
    }
}

// ----- the registry -----

/// What the server needs to answer: the release directory it serves, its own base URL,
/// the signing key registered for the namespace, and a log of the requests.
#[derive(Clone)]
struct Served {
    dist: PathBuf,
    base: String,
    key: Value,
    seen: Arc<Mutex<Vec<String>>>,
}

/// A provider registry (and network mirror) over HTTPS on 127.0.0.1, reached as
/// `localhost:<port>`.
struct Registry {
    /// `localhost:<port>`: the hostname of provider addresses it serves.
    host: String,
    /// The PEM of the CA that signed its certificate.
    ca_file: PathBuf,
    /// An empty directory (`SSL_CERT_DIR`), so the test CA is the only root.
    no_certs: PathBuf,
    seen: Arc<Mutex<Vec<String>>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Registry {
    /// Serves `release.dist`, advertising `release.signer`'s public key.
    fn start(release: &Release) -> Registry {
        let key = json!({
            "key_id": key_id(&release.signer),
            "ascii_armor": release.keys.armored_public_key(&release.signer),
            "trust_signature": "",
            "source": "terraform-provider-identity tests",
            "source_url": null,
        });
        let cert = generate(&["localhost".to_string(), "127.0.0.1".to_string()]).expect("a test CA and a server certificate");
        let ca_file = release.tmp.path().join("registry-ca.pem");
        std::fs::write(&ca_file, &cert.ca_pem).expect("write the CA certificate");
        let no_certs = release.tmp.path().join("no-certs");
        std::fs::create_dir_all(&no_certs).expect("create an empty certificate directory");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a tokio runtime");
        let dist = release.dist.clone();
        let log = seen.clone();
        let port = rt.block_on(async move {
            let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
            let port = tcp.local_addr().expect("local address").port();
            let served = Served { dist, base: format!("https://localhost:{port}"), key, seen: log };
            let router = axum::Router::new().fallback(handle).with_state(served);
            let listener = TlsListener::new(tcp, cert.server_config.clone()).expect("TLS listener");
            tokio::spawn(async move { axum::serve(listener, router).await });
            port
        });
        Registry { host: format!("localhost:{port}"), ca_file, no_certs, seen, rt: Some(rt) }
    }

    /// The provider's address on this registry.
    fn source(&self) -> String {
        format!("{}/{NAMESPACE}/{TYPE}", self.host)
    }

    /// The base URL of its network mirror.
    fn mirror_url(&self) -> String {
        format!("https://{}/mirror/", self.host)
    }

    /// The requests it answered so far (`GET /path`, `HEAD /path`), in order.
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A workspace against `sb` whose terraform trusts this registry's CA and installs with
    /// `cli_config` (no dev_overrides).
    fn workspace(&self, sb: &Sandbox, cli_config: &str) -> Workspace {
        assert!(!cli_config.contains("dev_overrides"), "{cli_config}");
        let mut ws = Workspace::new(sb);
        ws.write_cli_config(cli_config);
        ws.set_env("SSL_CERT_FILE", path_str(&self.ca_file)).set_env("SSL_CERT_DIR", path_str(&self.no_certs));
        ws
    }

    /// A workspace that installs from this registry (`direct`), with `main.tf` requiring
    /// the provider from it, followed by `hcl`.
    fn registry_workspace(&self, sb: &Sandbox, hcl: &str) -> Workspace {
        let ws = self.workspace(sb, "provider_installation {\n  direct {}\n}\n");
        ws.write_main_raw(&format!(
            "terraform {{\n  required_providers {{\n    identity = {{\n      source  = \"{}\"\n      version = \"{VERSION}\"\n    }}\n  }}\n}}\n{hcl}",
            self.source()
        ));
        ws
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn not_found(what: &str) -> Response {
    json_response(StatusCode::NOT_FOUND, json!({"errors": [format!("not found: {what}")]}))
}

/// The registry and network mirror endpoints, GET (or HEAD); everything else is 404:
/// - `GET /.well-known/terraform.json` (service discovery) → `{"providers.v1": "/v1/providers/"}`
/// - `GET /v1/providers/idfabric/identity/versions`
/// - `GET /v1/providers/idfabric/identity/<version>/download/<os>/<arch>`
/// - `GET /files/<name>`: the files of `dist/`
/// - `GET /mirror/registry.terraform.io/idfabric/identity/index.json`, `.../<version>.json`
///   and `.../<zip>` (the network mirror protocol)
async fn handle(State(s): State<Served>, method: Method, uri: Uri) -> Response {
    let path = uri.path().to_string();
    s.seen.lock().unwrap_or_else(|e| e.into_inner()).push(format!("{method} {path}"));
    // HEAD as GET (hyper sends no body): Terraform's download of a mirror's zip asks HEAD first.
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, "GET and HEAD only").into_response();
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [".well-known", "terraform.json"] => json_response(StatusCode::OK, json!({"providers.v1": "/v1/providers/"})),
        ["v1", "providers", NAMESPACE, TYPE, "versions"] => s.versions().await,
        ["v1", "providers", NAMESPACE, TYPE, version, "download", os, arch] if *version == VERSION => s.download(os, arch).await,
        ["files", name] => s.file(name).await,
        ["mirror", DEFAULT_HOST, NAMESPACE, TYPE, "index.json"] => json_response(StatusCode::OK, json!({"versions": {VERSION: {}}})),
        ["mirror", DEFAULT_HOST, NAMESPACE, TYPE, file] if *file == format!("{VERSION}.json") => s.mirror_archives().await,
        ["mirror", DEFAULT_HOST, NAMESPACE, TYPE, file] if file.ends_with(".zip") => s.file(file).await,
        _ => not_found(&path),
    }
}

impl Served {
    /// The file `name` of the release directory.
    async fn read(&self, name: &str) -> Option<Vec<u8>> {
        if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
            return None;
        }
        tokio::fs::read(self.dist.join(name)).await.ok()
    }

    /// The platforms (`os`, `arch`) the release has a zip for.
    async fn platforms(&self) -> Vec<(String, String)> {
        let prefix = format!("{NAME}_{VERSION}_");
        let mut found = Vec::new();
        let Ok(mut dir) = tokio::fs::read_dir(&self.dist).await else { return found };
        while let Ok(Some(entry)) = dir.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some((os, arch)) = name.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".zip")).and_then(|p| p.split_once('_')) {
                found.push((os.to_string(), arch.to_string()));
            }
        }
        found.sort();
        found
    }

    /// `metadata.protocol_versions` of the release's manifest.
    async fn protocols(&self) -> Value {
        let manifest = self.read(&manifest_name()).await.unwrap_or_default();
        serde_json::from_slice::<Value>(&manifest).map(|m| m["metadata"]["protocol_versions"].clone()).unwrap_or(Value::Null)
    }

    /// The hex SHA-256 SHA256SUMS records for `file`.
    async fn listed_sha256(&self, file: &str) -> Option<String> {
        let sums = String::from_utf8(self.read(&sums_name()).await?).ok()?;
        sums.lines().find_map(|l| l.split_once("  ").filter(|(_, name)| *name == file).map(|(hash, _)| hash.to_string()))
    }

    async fn versions(&self) -> Response {
        let platforms: Vec<Value> = self.platforms().await.into_iter().map(|(os, arch)| json!({"os": os, "arch": arch})).collect();
        json_response(
            StatusCode::OK,
            json!({"versions": [{"version": VERSION, "protocols": self.protocols().await, "platforms": platforms}]}),
        )
    }

    async fn download(&self, os: &str, arch: &str) -> Response {
        let filename = zip_name(&format!("{os}_{arch}"));
        let Some(shasum) = self.listed_sha256(&filename).await else { return not_found(&filename) };
        let files = format!("{}/files", self.base);
        json_response(
            StatusCode::OK,
            json!({
                "protocols": self.protocols().await,
                "os": os,
                "arch": arch,
                "filename": filename,
                "download_url": format!("{files}/{filename}"),
                "shasums_url": format!("{files}/{}", sums_name()),
                "shasums_signature_url": format!("{files}/{}", sig_name()),
                "shasum": shasum,
                "signing_keys": {"gpg_public_keys": [self.key.clone()]},
            }),
        )
    }

    async fn mirror_archives(&self) -> Response {
        let mut archives = serde_json::Map::new();
        for (os, arch) in self.platforms().await {
            let filename = zip_name(&format!("{os}_{arch}"));
            let Some(sha) = self.listed_sha256(&filename).await else { continue };
            // Relative: Terraform resolves it against this document's URL.
            archives.insert(format!("{os}_{arch}"), json!({"url": filename, "hashes": [format!("zh:{sha}")]}));
        }
        json_response(StatusCode::OK, json!({"archives": archives}))
    }

    async fn file(&self, name: &str) -> Response {
        match self.read(name).await {
            Some(bytes) => {
                let kind = if name.ends_with(".zip") { "application/zip" } else { "application/octet-stream" };
                (StatusCode::OK, [(header::CONTENT_TYPE, kind)], bytes).into_response()
            }
            None => not_found(name),
        }
    }
}

// ----- the tests -----

const USER_HCL: &str = r#"
resource "identity_scim_user" "installed" {
  user_name = "registry-install"
}
"#;

const ADDR: &str = "identity_scim_user.installed";

/// Apply, an empty plan, destroy, with the provider `ws` installed; `provider` is its
/// address in the state.
fn apply_and_destroy(ws: &Workspace, sb: &Sandbox, provider: &str) {
    let applied = ws.apply();
    assert!(!applied.combined().contains("development overrides"), "{}", ws.report("dev_overrides in effect", &applied));
    assert_eq!(ws.state_attr(ADDR, "user_name"), json!("registry-install"));
    let state = ws.show_json();
    assert_eq!(state["values"]["root_module"]["resources"][0]["provider_name"], json!(provider), "state: {state:#}");
    let users: Vec<Value> = sb.scim_users().iter().map(|u| u["userName"].clone()).collect();
    assert_eq!(users, [json!("registry-install")]);
    ws.assert_plan_empty();
    ws.destroy();
    assert!(sb.scim_users().is_empty(), "destroy deletes the user; left: {:?}", sb.scim_users());
}

#[test]
fn init_installs_from_the_registry_verifies_the_signature_and_applies_and_so_does_a_network_mirror() {
    let started = Instant::now();
    let release = Release::package(false);
    let registry = Registry::start(&release);
    let zip = release.path(&zip_name("linux_amd64"));
    let (h1, zh) = (h1_hash(&zip), zh_hash(&zip));
    let sb = Sandbox::start();

    // 1. The registry protocol: discovery, versions, download, then the signed sums.
    let ws = registry.registry_workspace(&sb, USER_HCL);
    let init = ws.run_ok(&["init", "-input=false", "-no-color"]);
    let text = flat(&init.combined());
    let source = registry.source();
    let key = key_id(&release.signer);
    assert!(
        text.contains(&format!("Installed {source} v{VERSION} (self-signed, key ID {key})")),
        "{}",
        ws.report("init did not install the provider from the registry with its signature verified", &init)
    );
    assert!(!text.contains("development overrides") && !text.contains("unauthenticated"), "{}", ws.report("init", &init));
    let seen = registry.seen();
    for request in [
        "GET /.well-known/terraform.json".to_string(),
        format!("GET /v1/providers/{NAMESPACE}/{TYPE}/versions"),
        format!("GET /v1/providers/{NAMESPACE}/{TYPE}/{VERSION}/download/linux/amd64"),
        format!("GET /files/{}", sums_name()),
        format!("GET /files/{}", sig_name()),
        format!("GET /files/{}", zip_name("linux_amd64")),
    ] {
        assert!(seen.contains(&request), "the registry never answered {request}; it saw:\n{}", seen.join("\n"));
    }

    // The lock file: the version, the h1 hash of the package, and a zh hash for every
    // line of the signed SHA256SUMS (Terraform trusts them all once the signature
    // verifies): the zip's and the manifest's.
    let lock = ws.read_file(".terraform.lock.hcl");
    assert!(lock.contains(&format!("provider \"{source}\" {{")), "lock file:\n{lock}");
    assert!(lock.contains(&format!("version     = \"{VERSION}\"")), "lock file:\n{lock}");
    let mut want = vec![h1.clone(), zh.clone(), zh_hash(&release.path(&manifest_name()))];
    want.sort();
    assert_eq!(locked_hashes(&lock, &source), want, "lock file:\n{lock}");

    // The unpacked binary is the packaged one, executable.
    let installed = ws
        .dir()
        .join(".terraform/providers")
        .join(&registry.host)
        .join(NAMESPACE)
        .join(TYPE)
        .join(VERSION)
        .join("linux_amd64")
        .join(format!("{NAME}_v{VERSION}"));
    let meta = std::fs::metadata(&installed).unwrap_or_else(|e| panic!("{} is not installed ({e})\n{text}", installed.display()));
    assert_eq!(meta.permissions().mode() & 0o777, 0o755, "{} must be executable", installed.display());
    assert_eq!(sha256_file(&installed), sha256_file(&release.bin), "the installed binary is the packaged one");

    apply_and_destroy(&ws, &sb, &source);

    // 2. The network mirror protocol, from the same server, for the provider's usual
    //    address (registry.terraform.io/idfabric/identity, never contacted).
    let before = registry.seen().len();
    let config = format!(
        "provider_installation {{\n  network_mirror {{\n    url     = \"{}\"\n    include = [\"{DEFAULT_HOST}/{NAMESPACE}/*\"]\n  }}\n}}\n",
        registry.mirror_url()
    );
    let mirror_ws = registry.workspace(&sb, &config);
    mirror_ws.write_main(USER_HCL);
    let init = mirror_ws.run_ok(&["init", "-input=false", "-no-color"]);
    let text = flat(&init.combined());
    assert!(
        text.contains(&format!("Installed {NAMESPACE}/{TYPE} v{VERSION} (verified checksum)")),
        "{}",
        mirror_ws.report("init did not install the provider from the network mirror", &init)
    );
    let seen: Vec<String> = registry.seen()[before..].iter().filter(|r| r.starts_with("GET ")).cloned().collect();
    let base = format!("/mirror/{DEFAULT_HOST}/{NAMESPACE}/{TYPE}");
    assert_eq!(
        seen,
        [format!("GET {base}/index.json"), format!("GET {base}/{VERSION}.json"), format!("GET {base}/{}", zip_name("linux_amd64"))],
        "the network mirror requests"
    );
    let lock = mirror_ws.read_file(".terraform.lock.hcl");
    let hashes = locked_hashes(&lock, &format!("{DEFAULT_HOST}/{NAMESPACE}/{TYPE}"));
    // Only the h1 hash of the package installed: Terraform checks the zip against the
    // mirror's zh hash, but records no hash it has from an unsigned source.
    assert_eq!(hashes, std::slice::from_ref(&h1), "the lock file has the package's h1 hash only:\n{lock}");
    apply_and_destroy(&mirror_ws, &sb, &format!("{DEFAULT_HOST}/{NAMESPACE}/{TYPE}"));
    eprintln!("registry_install: registry and network mirror installs took {:.0?}", started.elapsed());
}

#[test]
fn init_refuses_a_tampered_zip_and_a_signature_by_another_key() {
    let started = Instant::now();
    let release = Release::package(false);
    let registry = Registry::start(&release);
    let sb = Sandbox::start();
    let source = registry.source();
    let zip = release.path(&zip_name("linux_amd64"));
    let listed = sha256_file(&zip);

    // 1. A zip changed after SHA256SUMS was signed: its SHA-256 no longer matches.
    let original = std::fs::read(&zip).expect("read the zip");
    let mut tampered = original.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0xff;
    std::fs::write(&zip, &tampered).expect("tamper with the zip");
    let served = sha256_file(&zip);
    let ws = registry.registry_workspace(&sb, "");
    let err = flat(&ws.run_err(&["init", "-input=false", "-no-color"]));
    let want = format!("Error while installing {source} v{VERSION}: archive has incorrect checksum zh:{served} (expected zh:{listed})");
    assert!(err.contains(&want), "init must refuse the tampered zip with\n  {want}\ngot:\n{err}");
    assert!(!ws.dir().join(".terraform.lock.hcl").exists(), "no lock file from a refused install");
    std::fs::write(&zip, &original).expect("restore the zip");

    // 2. SHA256SUMS signed by a key the registry does not list for the namespace.
    let other = release.keys.add_key("Someone Else <else@example.com>", "rsa2048");
    release.keys.sign(&other, &release.path(&sums_name()), &release.path(&sig_name()));
    let ws = registry.registry_workspace(&sb, "");
    let err = flat(&ws.run_err(&["init", "-input=false", "-no-color"]));
    let want = format!("Error while installing {source} v{VERSION}: authentication signature from unknown issuer");
    assert!(err.contains(&want), "init must refuse a signature by another key with\n  {want}\ngot:\n{err}");
    assert!(!ws.dir().join(".terraform.lock.hcl").exists(), "no lock file from a refused install");
    eprintln!("registry_install: refusals took {:.0?}", started.elapsed());
}

#[test]
fn providers_lock_records_the_hashes_of_linux_amd64_and_linux_arm64() {
    let started = Instant::now();
    let release = Release::package(true);
    let registry = Registry::start(&release);
    let sb = Sandbox::start();
    let source = registry.source();
    let (amd64, arm64) = (release.path(&zip_name("linux_amd64")), release.path(&zip_name("linux_arm64")));
    let sums = std::fs::read_to_string(release.path(&sums_name())).expect("read SHA256SUMS");
    for zip in [&amd64, &arm64] {
        let name = zip.file_name().and_then(|n| n.to_str()).expect("a file name");
        assert!(sums.contains(&format!("{}  {name}", sha256_file(zip))), "SHA256SUMS lists {name}:\n{sums}");
    }

    let ws = registry.registry_workspace(&sb, "");
    let out = ws.run_ok(&["providers", "lock", "-platform=linux_amd64", "-platform=linux_arm64", "-no-color"]);
    let text = flat(&out.combined());
    let key = key_id(&release.signer);
    for platform in ["linux_amd64", "linux_arm64"] {
        let want = format!("Obtained {source} checksums for {platform}");
        assert!(text.contains(&want), "{}", ws.report(&format!("providers lock did not say: {want}"), &out));
    }
    assert!(text.contains(&format!("(self-signed, key ID {key})")), "{}", ws.report("the packages were not verified with the key", &out));
    let lock = ws.read_file(".terraform.lock.hcl");
    let manifest = release.path(&manifest_name());
    let mut want = vec![h1_hash(&amd64), h1_hash(&arm64), zh_hash(&amd64), zh_hash(&arm64), zh_hash(&manifest)];
    want.sort();
    assert_eq!(
        locked_hashes(&lock, &source),
        want,
        "the h1 (package) and zh (zip) hashes of both platforms, and the manifest's zh (a line of SHA256SUMS); lock file:\n{lock}"
    );
    eprintln!("registry_install: providers lock for two platforms took {:.0?}", started.elapsed());
}
