//! The release's signature: `scripts/release` signs SHA256SUMS with the key
//! `GPG_FINGERPRINT` names (a binary detached signature, `SHA256SUMS.sig`, as the
//! registries expect), refuses a key that is not RSA with a clear message, and says the
//! release is unsigned when no key is given. Keys are made for the test in a keyring of
//! its own (`GNUPGHOME`), so the caller's keyring is never touched.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::keyring::Keyring;

const SUMS: &str = concat!("terraform-provider-identity_", env!("CARGO_PKG_VERSION"), "_SHA256SUMS");

/// `scripts/release --binary <provider> --out <dir>` with this keyring and fingerprint.
fn release(keys: &Keyring, fingerprint: Option<&str>, out: &Path) -> Output {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(repo.join("scripts/release"));
    cmd.args(["--profile", "debug", "--binary", support::provider_bin().to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8")])
        .current_dir(&repo)
        .env("GNUPGHOME", keys.home())
        .env_remove("GPG_FINGERPRINT")
        .env_remove("GPG_PASSPHRASE")
        .stdin(Stdio::null());
    if let Some(f) = fingerprint {
        cmd.env("GPG_FINGERPRINT", f);
    }
    cmd.output().expect("run scripts/release")
}

/// Whether `gpgv` with only `public_key` in its keyring accepts `<file>.sig` as the
/// signature of `file` (in `dir`).
fn verifies_with(public_key: &Path, dir: &Path, file: &str) -> bool {
    Command::new("gpgv")
        .arg("--keyring")
        .arg(public_key)
        .arg(dir.join(format!("{file}.sig")))
        .arg(dir.join(file))
        .stdin(Stdio::null())
        .output()
        .expect("run gpgv")
        .status
        .success()
}

#[test]
fn releases_are_signed_by_the_rsa_key_given_and_only_by_it() {
    let keys = Keyring::new();
    let rsa = keys.add_key("Release Signer <release@example.com>", "rsa3072");
    let other = keys.add_key("Someone Else <else@example.com>", "rsa2048");
    let dist = keys.home().join("dist");

    let out = release(&keys, Some(&rsa), &dist);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "scripts/release failed:\n{stderr}");
    assert!(stderr.contains(&format!("signed {}/{SUMS} with {rsa}", dist.display())), "{stderr}");
    let sig = std::fs::read(dist.join(format!("{SUMS}.sig"))).expect("SHA256SUMS.sig");
    assert!(!sig.starts_with(b"-----BEGIN"), "the signature is binary, not armored");
    // An OpenPGP signature packet: old format tag 2 (0x88..0x8b) or new format (0xc2).
    assert!(matches!(sig.first(), Some(0x88..=0x8b | 0xc2)), "not an OpenPGP signature packet: {:02x?}", &sig[..sig.len().min(4)]);

    let (signer_pub, other_pub) = (keys.home().join("signer.gpg"), keys.home().join("other.gpg"));
    keys.export(&rsa, &signer_pub);
    keys.export(&other, &other_pub);
    assert!(verifies_with(&signer_pub, &dist, SUMS), "the signature verifies with the signer's public key");
    assert!(!verifies_with(&other_pub, &dist, SUMS), "and not with another key");
    // The SBOM beside the zip has a signature of its own (it is not in SHA256SUMS).
    let sbom = std::fs::read_dir(&dist)
        .expect("read dist")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .find(|n| n.ends_with(".cdx.json"))
        .expect("scripts/release writes an SBOM");
    assert!(verifies_with(&signer_pub, &dist, &sbom), "{sbom}.sig verifies with the signer's public key");
    assert!(!verifies_with(&other_pub, &dist, &sbom), "{sbom}.sig: not with another key");

    // A changed SHA256SUMS no longer verifies.
    let sums = dist.join(SUMS);
    let text = std::fs::read_to_string(&sums).expect("sums");
    std::fs::write(&sums, text.replacen('0', "1", 1)).expect("tamper");
    assert!(!verifies_with(&signer_pub, &dist, SUMS), "a tampered SHA256SUMS fails verification");
}

#[test]
fn a_key_that_is_not_rsa_is_refused_and_no_key_means_unsigned() {
    let keys = Keyring::new();
    let ed = keys.add_key("Modern Key <ed@example.com>", "ed25519");
    let dist = keys.home().join("dist");

    let out = release(&keys, Some(&ed), &dist);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a non-RSA key is refused:\n{stderr}");
    assert!(stderr.contains("is not an RSA key") && stderr.contains("accept only RSA signing keys"), "{stderr}");
    assert!(!dist.join(format!("{SUMS}.sig")).exists(), "no signature is written");

    let out = release(&keys, Some("0000000000000000000000000000000000000000"), &dist);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no such secret key"), "{stderr}");

    let out = release(&keys, None, &dist);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("the release is UNSIGNED"), "{stderr}");
    assert!(!dist.join(format!("{SUMS}.sig")).exists(), "no signature without a key");
    let sigs: Vec<_> = std::fs::read_dir(&dist)
        .expect("read dist")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".sig"))
        .collect();
    assert!(sigs.is_empty(), "an unsigned release has no signature at all (the earlier run's are removed): {sigs:?}");
    assert!(dist.join(SUMS).exists());
}
