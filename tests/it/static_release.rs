//! Portable release binaries: `scripts/release` builds the provider for linux_amd64 and
//! linux_arm64 as static musl binaries, which run on any Linux of their architecture
//! (no glibc, whatever its version). This test builds both through the script, with the
//! debug profile to keep CI's time down (releases use the optimised profile; the toolchains
//! and flags are the same), and checks the binaries the zips hold:
//!
//! - each is an ELF for its architecture with no `PT_INTERP` program header (no dynamic
//!   loader) and no `DT_NEEDED` entry (no shared library), read here from the ELF itself;
//! - each runs: the amd64 one here, the arm64 one under `qemu-aarch64-static` (Debian's
//!   qemu-user-static). Each prints the Cargo.toml version for `--version`, then is started
//!   the way Terraform starts it and answers GetProviderSchema over mutual TLS, which
//!   exercises its crypto (aws-lc, C code compiled against musl) and its gRPC server.
//!
//! The toolchains come from `scripts/install-release-toolchains` (scripts/test runs it before
//! leg 1). Without them this test fails, naming that script; it never skips.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hyper_util::rt::TokioIo;
use identity_provider::tfplugin::server::proto::{plugin, tfplugin6 as pb};
use identity_provider::tfplugin::server::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tonic::transport::{Endpoint, Uri};

const NAME: &str = "terraform-provider-identity";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const INSTALL: &str = "scripts/install-release-toolchains";
/// How long a binary may take to print its handshake or to exit after Shutdown (a debug
/// build under qemu's emulation is slow to start).
const PATIENCE: Duration = Duration::from_secs(60);

const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

/// One platform of the release.
struct Platform {
    /// Terraform's os_arch, as in the zip's name.
    os_arch: &'static str,
    /// Rust's name of the architecture (`std::env::consts::ARCH`).
    arch: &'static str,
    e_machine: u16,
    /// Debian's qemu-user-static emulator that runs it on a machine of another architecture.
    qemu: &'static str,
}

impl Platform {
    /// The emulator this machine needs to run the platform's binary, if any.
    fn emulator(&self) -> Option<&'static str> {
        (std::env::consts::ARCH != self.arch).then_some(self.qemu)
    }
}

const PLATFORMS: [Platform; 2] = [
    Platform { os_arch: "linux_amd64", arch: "x86_64", e_machine: EM_X86_64, qemu: "qemu-x86_64-static" },
    Platform { os_arch: "linux_arm64", arch: "aarch64", e_machine: EM_AARCH64, qemu: "qemu-aarch64-static" },
];

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

// ----- the ELF, read directly ---------------------------------------------------------------

/// What the test needs to know of an ELF executable.
#[derive(Debug)]
struct Elf {
    e_machine: u16,
    /// The dynamic loader a `PT_INTERP` program header names.
    interpreter: Option<String>,
    /// `DT_NEEDED` entries of the dynamic section (a static-pie binary has a dynamic section,
    /// for its own relocations, but none of these).
    needed: usize,
}

fn read_at(file: &File, offset: u64, len: usize, path: &Path) -> Vec<u8> {
    let mut buf = vec![0; len];
    file.read_exact_at(&mut buf, offset).unwrap_or_else(|e| panic!("{}: cannot read {len} bytes at {offset}: {e}", path.display()));
    buf
}

fn u16_le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_le(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Parses a 64-bit little-endian ELF (both release platforms are): its machine, its
/// `PT_INTERP` and its `DT_NEEDED` count.
fn read_elf(path: &Path) -> Elf {
    const PT_DYNAMIC: u32 = 2;
    const PT_INTERP: u32 = 3;
    const DT_NULL: u64 = 0;
    const DT_NEEDED: u64 = 1;
    let file = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let header = read_at(&file, 0, 64, path);
    assert_eq!(&header[..4], b"\x7fELF", "{} is not an ELF file", path.display());
    assert_eq!(header[4], 2, "{}: not a 64-bit ELF (EI_CLASS {})", path.display(), header[4]);
    assert_eq!(header[5], 1, "{}: not little-endian (EI_DATA {})", path.display(), header[5]);
    let e_type = u16_le(&header, 16);
    assert!(e_type == 2 || e_type == 3, "{}: not an executable (e_type {e_type})", path.display());
    let e_machine = u16_le(&header, 18);
    let phoff = u64_le(&header, 32);
    let (phentsize, phnum) = (u16_le(&header, 54), u16_le(&header, 56));
    assert!(phentsize >= 56, "{}: program header entries of {phentsize} bytes", path.display());

    let mut elf = Elf { e_machine, interpreter: None, needed: 0 };
    for i in 0..u64::from(phnum) {
        let ph = read_at(&file, phoff + i * u64::from(phentsize), 56, path);
        let (p_type, p_offset, p_filesz) = (u32_le(&ph, 0), u64_le(&ph, 8), u64_le(&ph, 32));
        let size = usize::try_from(p_filesz).expect("segment size");
        match p_type {
            PT_INTERP => {
                let name = read_at(&file, p_offset, size, path);
                elf.interpreter = Some(String::from_utf8_lossy(&name).trim_end_matches('\0').to_string());
            }
            PT_DYNAMIC => {
                let dynamic = read_at(&file, p_offset, size, path);
                for entry in dynamic.chunks_exact(16) {
                    match u64_le(entry, 0) {
                        DT_NULL => break,
                        DT_NEEDED => elf.needed += 1,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    elf
}

// ----- running a binary -------------------------------------------------------------------

/// A command that runs `bin` on this machine: directly, or under its platform's emulator.
fn command_for(bin: &Path, platform: &Platform) -> Command {
    match platform.emulator() {
        None => Command::new(bin),
        Some(emulator) => {
            let mut cmd = Command::new(emulator);
            cmd.arg(bin);
            cmd
        }
    }
}

/// Fails (never skips) when the emulator a platform needs is not installed.
fn require_emulator(platform: &Platform) {
    if let Some(emulator) = platform.emulator() {
        let found = std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(emulator).is_file()));
        assert!(
            found,
            "{emulator} (Debian package qemu-user-static) is not installed, so the {} binary cannot run here: run {INSTALL}",
            platform.os_arch
        );
    }
}

/// The provider process, killed when dropped (also when an assertion fails).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary as Terraform does (magic cookie, protocol 6, a client certificate),
/// reads its handshake, calls GetProviderSchema over mutual TLS, then Shutdown, and
/// checks that it exits cleanly.
fn serves_terraform(bin: &Path, platform: &Platform, logs: &Path) {
    let what = format!("the {} binary", platform.os_arch);
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("P-521 key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let client_cert = params.self_signed(&key).expect("self-signed client certificate");

    let stderr_path = logs.join(format!("{}.stderr", platform.os_arch));
    let stderr = File::create(&stderr_path).expect("stderr log");
    let child = command_for(bin, platform)
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("PLUGIN_CLIENT_CERT", client_cert.pem())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut running = Running(child);
    let stderr_of = || std::fs::read_to_string(&stderr_path).unwrap_or_default();

    // The handshake line, read on a thread so a hung binary fails the test instead of it.
    let stdout = running.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line =
        rx.recv_timeout(PATIENCE).unwrap_or_else(|_| panic!("{what} printed no handshake in {PATIENCE:?}; stderr:\n{}", stderr_of()));
    let parts: Vec<&str> = line.trim_end().split('|').collect();
    assert!(
        parts.len() == 6 && parts[..3] == ["1", "6", "tcp"] && parts[4] == "grpc",
        "{what}: handshake {line:?}; stderr:\n{}",
        stderr_of()
    );
    let addr = parts[3].to_string();
    let server_cert = base64::engine::general_purpose::STANDARD_NO_PAD.decode(parts[5]).expect("handshake certificate (base64)");

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(server_cert)).expect("the announced certificate as root");
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_client_auth_cert(vec![client_cert.der().clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
            .expect("client certificate");
        config.alpn_protocols = vec![b"h2".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let channel = Endpoint::from_static("http://localhost")
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let (connector, addr) = (connector.clone(), addr.clone());
                async move {
                    let tcp = tokio::net::TcpStream::connect(&addr).await?;
                    let tls = connector.connect(ServerName::try_from("localhost").expect("server name"), tcp).await?;
                    Ok::<_, std::io::Error>(TokioIo::new(tls))
                }
            }))
            .await
            .unwrap_or_else(|e| panic!("{what}: no mutual TLS connection: {e:?}; stderr:\n{}", stderr_of()));
        let mut provider = pb::provider_client::ProviderClient::new(channel.clone()).max_decoding_message_size(64 << 20);
        let schema = provider.get_provider_schema(pb::get_provider_schema::Request {}).await.expect("GetProviderSchema").into_inner();
        assert!(schema.resource_schemas.contains_key("identity_idp"), "{what}: the schema has identity_idp");
        plugin::grpc_controller_client::GrpcControllerClient::new(channel).shutdown(plugin::Empty {}).await.expect("Shutdown");
    });

    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = running.0.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "{what} still runs {PATIENCE:?} after Shutdown");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{what} exits cleanly after Shutdown: {status}; stderr:\n{}", stderr_of());
}

// ----- the test -----------------------------------------------------------------------------

#[test]
fn release_binaries_are_static_for_amd64_and_arm64_and_run() {
    // The emulator first: a missing toolchain fails in a second, not after the builds.
    for platform in &PLATFORMS {
        require_emulator(platform);
    }
    let tmp = tempfile::Builder::new().prefix("identity-static-").tempdir().expect("tempdir");
    let dist = tmp.path().join("dist");

    // Both default targets, debug profile.
    let started = Instant::now();
    let out = Command::new(repo().join("scripts/release"))
        .args(["--profile", "debug", "--out", path_str(&dist)])
        .current_dir(repo())
        .env_remove("GPG_FINGERPRINT")
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/release");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scripts/release --profile debug failed; if a toolchain is missing, run {INSTALL}\n{}",
        describe("scripts/release", &out)
    );
    // For the record (CI's log): how long the two builds took.
    eprintln!("static_release: scripts/release --profile debug (both targets) took {:.0?}", started.elapsed());
    for line in stderr.lines().filter(|l| l.starts_with("release: built ")) {
        eprintln!("static_release: {line}");
    }

    let sums = std::fs::read_to_string(dist.join(format!("{NAME}_{VERSION}_SHA256SUMS"))).expect("SHA256SUMS");
    for platform in &PLATFORMS {
        let zip = format!("{NAME}_{VERSION}_{}.zip", platform.os_arch);
        assert!(sums.lines().any(|l| l.ends_with(&format!("  {zip}"))), "SHA256SUMS lists {zip}:\n{sums}");
        // Its SBOM (checked in depth by release_sbom), made for the musl target.
        let sbom_file = format!("{NAME}_{VERSION}_{}.cdx.json", platform.os_arch);
        assert!(dist.join(&sbom_file).is_file(), "scripts/release writes {sbom_file} beside {zip}");
        let sbom: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dist.join(&sbom_file)).expect("read the SBOM")).expect("SBOM JSON");
        let target = sbom["metadata"]["properties"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == "cdx:rustc:sbom:target:triple"))
            .and_then(|p| p["value"].as_str());
        assert_eq!(target, Some(format!("{}-unknown-linux-musl", platform.arch).as_str()), "{sbom_file}: the target it describes");

        // The binary as shipped: the zip's only entry.
        let bin = tmp.path().join(platform.os_arch).join(format!("{NAME}_v{VERSION}"));
        let unzip = Command::new("python3")
            .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.namelist() == [sys.argv[2]], z.namelist(); z.extractall(sys.argv[3])"])
            .args([path_str(&dist.join(&zip)), &format!("{NAME}_v{VERSION}"), path_str(bin.parent().expect("parent"))])
            .output()
            .expect("run python3");
        assert!(unzip.status.success(), "{}", describe(&format!("unzip {zip}"), &unzip));
        std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");

        let elf = read_elf(&bin);
        assert_eq!(elf.e_machine, platform.e_machine, "{zip}: the binary's e_machine");
        assert_eq!(elf.interpreter, None, "{zip}: a static binary has no dynamic loader (PT_INTERP)");
        assert_eq!(elf.needed, 0, "{zip}: a static binary needs no shared library (DT_NEEDED)");

        let version = command_for(&bin, platform).arg("--version").stdin(Stdio::null()).output().expect("run --version");
        assert!(version.status.success(), "{}", describe(&format!("{} --version", platform.os_arch), &version));
        assert_eq!(String::from_utf8_lossy(&version.stdout).trim_end(), format!("{NAME} {VERSION}"), "{zip}: --version");

        serves_terraform(&bin, platform, tmp.path());
    }
}
