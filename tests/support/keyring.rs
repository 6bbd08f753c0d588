//! A throwaway GnuPG home (`GNUPGHOME`) for the release tests: signing keys made for the
//! test, so the caller's keyring is never touched. The gpg-agent it starts is stopped
//! when the keyring is dropped.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub struct Keyring {
    home: tempfile::TempDir,
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

impl Keyring {
    pub fn new() -> Keyring {
        let home = tempfile::Builder::new().prefix("identity-gpg-").tempdir().expect("tempdir");
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
        Keyring { home }
    }

    /// The GnuPG home, for `GNUPGHOME` (and a place for the test's files).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    fn gpg(&self, args: &[&str]) -> Output {
        Command::new("gpg")
            .args(["--batch", "--no-tty"])
            .args(args)
            .env("GNUPGHOME", self.home.path())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run gpg (Debian package gnupg; scripts/test installs it): {e}"))
    }

    /// Makes a signing key of `algo` (`rsa3072`, `ed25519`, ...) without a passphrase; its
    /// fingerprint.
    pub fn add_key(&self, uid: &str, algo: &str) -> String {
        let out = self.gpg(&["--passphrase", "", "--quick-gen-key", uid, algo, "sign", "never"]);
        assert!(out.status.success(), "{}", describe(&format!("gpg --quick-gen-key {algo}"), &out));
        let list = self.gpg(&["--with-colons", "--list-secret-keys", uid]);
        String::from_utf8_lossy(&list.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:").map(|r| r.trim_matches(':').to_string()))
            .unwrap_or_else(|| panic!("no fingerprint for {uid}"))
    }

    /// The binary public key of `fingerprint`, written to `to`.
    pub fn export(&self, fingerprint: &str, to: &Path) {
        let out = self.gpg(&["--yes", "--output", path_str(to), "--export", fingerprint]);
        assert!(out.status.success(), "{}", describe("gpg --export", &out));
    }

    /// The ASCII-armored public key of `fingerprint`.
    pub fn armored_public_key(&self, fingerprint: &str) -> String {
        let out = self.gpg(&["--armor", "--export", fingerprint]);
        assert!(out.status.success(), "{}", describe("gpg --armor --export", &out));
        let armor = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(armor.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"), "not an armored public key:\n{armor}");
        armor
    }

    /// A binary detached signature of `file` by `fingerprint`, written to `to`.
    pub fn sign(&self, fingerprint: &str, file: &Path, to: &Path) {
        let out = self.gpg(&["--yes", "--local-user", fingerprint, "--detach-sign", "--output", path_str(to), path_str(file)]);
        assert!(out.status.success(), "{}", describe("gpg --detach-sign", &out));
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        // The agent gpg started for this home; it would otherwise linger until it notices
        // that its socket is gone.
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
