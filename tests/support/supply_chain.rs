//! The supply-chain tools `scripts/install-supply-chain-tools` installs from package
//! registries (cargo-cyclonedx, cargo-deny, and a Python with PyPI's cyclonedx-python-lib,
//! the CycloneDX implementation that validates the SBOMs).
//!
//! Which: `$IDENTITY_SUPPLY_CHAIN_BIN` (scripts/test sets it to the directory the installer
//! prints), else what the installer reports as installed. When neither, [`bin_dir`] panics
//! with the command that installs them: the SBOM tests fail, never skip.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The environment variable naming the tools' directory.
pub const SUPPLY_CHAIN_ENV: &str = "IDENTITY_SUPPLY_CHAIN_BIN";

/// The directory holding `cargo-cyclonedx`, `cargo-deny` and `python`.
pub fn bin_dir() -> PathBuf {
    let install = format!("{}/scripts/install-supply-chain-tools", env!("CARGO_MANIFEST_DIR"));
    if let Some(explicit) = std::env::var_os(SUPPLY_CHAIN_ENV).filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(explicit);
        if !super::is_executable(&dir.join("python")) || !super::is_executable(&dir.join("cargo-cyclonedx")) {
            panic!(
                "{SUPPLY_CHAIN_ENV}={} does not hold the supply-chain tools: run {install} and set {SUPPLY_CHAIN_ENV} to the \
                 directory it prints (scripts/test does both).",
                dir.display()
            );
        }
        return dir;
    }
    let out = Command::new(&install).arg("--installed").stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("run {install}: {e}"));
    if !out.status.success() {
        panic!(
            "the supply-chain tools (cargo-cyclonedx, cargo-deny, cyclonedx-python-lib) are not installed and {SUPPLY_CHAIN_ENV} \
             is not set. The SBOM tests never skip: install them with\n\n    {install}\n\n(it needs crates.io and PyPI once; \
             scripts/test runs it before the tests)."
        );
    }
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The Python with cyclonedx-python-lib.
pub fn python() -> PathBuf {
    bin_dir().join("python")
}
