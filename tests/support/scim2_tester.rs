//! An independent SCIM 2.0 conformance checker: PyPI's `scim2-tester` (RFC 7643 / 7644
//! checks of a live server: discovery endpoints, CRUD, PATCH add / remove / replace of every
//! attribute its `/Schemas` publish), installed by `scripts/install-scim2-tester` and run by
//! `scripts/scim2-conformance.py`, which prints its results as JSON.
//!
//! ```ignore
//! let report = scim2_tester::check(&sandbox.scim_url(), SCIM_STATIC_TOKEN);
//! for r in report.failures() { ... }
//! ```
//!
//! Which Python: `$IDENTITY_SCIM2_TESTER_PYTHON` (scripts/test sets it to what the
//! installer prints), else the one of the installer's default venv. When there is none,
//! [`check`] panics with the command that installs it: conformance tests fail, never skip.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The version `scripts/install-scim2-tester` installs (keep in step with it).
pub const SCIM2_TESTER_VERSION: &str = "0.5.2";
/// The environment variable naming the Python of the checker's venv.
pub const SCIM2_TESTER_ENV: &str = "IDENTITY_SCIM2_TESTER_PYTHON";
/// A hang guard: one run takes a few seconds.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// The Python of the checker's venv: `$IDENTITY_SCIM2_TESTER_PYTHON`, else the installer's
/// default venv (`$SCIM2_TESTER_VENV`, else `${XDG_CACHE_HOME:-~/.cache}/
/// terraform-provider-identity/scim2-tester-<version>/venv`). Panics with the install
/// command when it is missing.
pub fn scim2_tester_python() -> PathBuf {
    let install = format!("{}/scripts/install-scim2-tester", env!("CARGO_MANIFEST_DIR"));
    if let Some(explicit) = std::env::var_os(SCIM2_TESTER_ENV).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(explicit);
        if !super::is_executable(&p) {
            panic!(
                "{SCIM2_TESTER_ENV}={} is not an executable file. The SCIM conformance tests need PyPI's scim2-tester \
                 {SCIM2_TESTER_VERSION}: run {install} and set {SCIM2_TESTER_ENV} to the path it prints (scripts/test does both).",
                p.display()
            );
        }
        return p;
    }
    let venv = super::installer_venv("SCIM2_TESTER_VENV", &format!("scim2-tester-{SCIM2_TESTER_VERSION}"));
    let python = venv.join("bin").join("python");
    if !super::is_executable(&python) {
        panic!(
            "PyPI's scim2-tester {SCIM2_TESTER_VERSION} is not installed ({} is missing and {SCIM2_TESTER_ENV} is not set). \
             The SCIM conformance tests never skip: install it with\n\n    {install}\n\n(it needs PyPI once; scripts/test runs it \
             before the tests).",
            python.display()
        );
    }
    python
}

/// One check's result, as scim2-tester reports it.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// SUCCESS, COMPLIANT, ACCEPTABLE, DEVIATION, ERROR, CRITICAL or SKIPPED.
    pub status: String,
    /// The checker function (`object_creation`, `check_add_attribute`, ...).
    pub title: String,
    /// `User`, `Group`, or empty for the discovery checks.
    pub resource_type: String,
    pub reason: String,
}

impl CheckResult {
    /// ERROR and CRITICAL break a MUST of the RFCs, DEVIATION a SHOULD.
    pub fn failed(&self) -> bool {
        matches!(self.status.as_str(), "ERROR" | "CRITICAL" | "DEVIATION")
    }

    /// `[status] ResourceType check: reason` on one line.
    pub fn line(&self) -> String {
        let what = if self.resource_type.is_empty() { self.title.clone() } else { format!("{} {}", self.resource_type, self.title) };
        format!("[{}] {what}: {}", self.status, self.reason.replace('\n', " "))
    }
}

/// What one run found.
#[derive(Debug, Clone)]
pub struct Report {
    /// `scim2-tester <version>`.
    pub checker: String,
    pub results: Vec<CheckResult>,
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.results.iter().filter(|r| r.failed())
    }

    /// How many results have each status, `STATUS=n` sorted by status.
    pub fn counts(&self) -> String {
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for r in &self.results {
            *counts.entry(r.status.as_str()).or_default() += 1;
        }
        counts.iter().map(|(s, n)| format!("{s}={n}")).collect::<Vec<_>>().join(" ")
    }
}

/// Runs the checker against the SCIM base `url` with a bearer `token` (passed in the
/// environment, never on the command line). Panics when the checker cannot run or its
/// output is not the expected JSON.
pub fn check(url: &str, token: &str) -> Report {
    let python = scim2_tester_python();
    let script = format!("{}/scripts/scim2-conformance.py", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(&python)
        .args([script.as_str(), "--url", url])
        .env("SCIM2_CONFORMANCE_TOKEN", token)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} {script}: {e}", python.display()));
    let read = |mut r: Box<dyn Read + Send>| {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
        });
        rx
    };
    let out = read(Box::new(child.stdout.take().expect("piped stdout")));
    let err = read(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > RUN_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("scim2-tester did not finish within {RUN_TIMEOUT:?}; stderr:\n{}", err.recv().unwrap_or_default());
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for scim2-tester: {e}"),
        }
    };
    let stdout = out.recv().unwrap_or_default();
    let stderr = err.recv().unwrap_or_default();
    if !status.success() {
        panic!("scim2-tester could not run against {url} ({status}):\n{stderr}\n{stdout}");
    }
    let doc: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("scim2-tester's output is not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let results = doc["results"]
        .as_array()
        .unwrap_or_else(|| panic!("scim2-tester's output has no results:\n{stdout}"))
        .iter()
        .map(|r| CheckResult {
            status: text(r, "status"),
            title: text(r, "title"),
            resource_type: text(r, "resource_type"),
            reason: text(r, "reason"),
        })
        .collect();
    Report { checker: format!("{} {}", text(&doc, "checker"), text(&doc, "version")), results }
}
