//! Scale benchmark (issue 8): `identity_scim_user` against the sandbox versus Terraform
//! core alone (`terraform_data`), for N = 100, 1000 and 5000 resources in one run.
//!
//! For every N and both configurations it measures the wall time of
//! `terraform apply -auto-approve`, `terraform plan` (with refresh, after the apply) and
//! `terraform destroy -auto-approve` (default `-parallelism`), and for each phase:
//! the API requests the sandbox counted (`GET /_sandbox/stats`, by route), the peak RSS
//! (VmHWM) of every `terraform-provider-identity` process that ran, sampled from `/proc`
//! every 20 ms, the CPU time of terraform plus its providers and of the sandbox. It also
//! measures the provider's exec-to-handshake latency, GetProviderSchema over gRPC
//! (mutual TLS, as Terraform calls it) and, as a proxy, `terraform providers schema -json`.
//!
//! It prints the tables to stdout and writes `benches/performance.md` and
//! `benches/performance.svg` (next to the benchmarks: the registry renders only
//! `docs/index.md` and its known subfolders). Nothing here asserts a timing.
//!
//! Run: `cargo bench --bench scale` (release build). Environment knobs:
//! - `SCALE_NS=100,1000`: the resource counts (default `100,1000,5000`).
//! - `SCALE_REPEATS=N`: runs per configuration; the best wall time is reported
//!   (default 2 for N <= 1000, 1 above).
//! - `SCALE_WRITE_DOCS=0`: print only, leave the pages alone.
//! - `SCALE_REFRESH=0`: leave out the refresh-under-latency part (`scale/refresh.rs`, which
//!   writes `benches/performance-refresh.md` and `.svg`); `SCALE_ONLY=refresh`: only it;
//!   `SCALE_REFRESH_N`, `SCALE_REFRESH_REPEATS`: its workspace size and runs.
//! - `SCALE_KEEP=1`: keep the temporary directory (workspaces, terraform output).
//! - `SCALE_TIMEOUT_SECS`: per terraform command (default 1800).
//! - `TERRAFORM`: the terraform binary (default: `terraform` on PATH).
//!
//! `cargo test --all-targets` builds and runs bench targets too (even with
//! `test = false`), without the `--bench` argument `cargo bench` passes: then this binary
//! only prints a line and exits.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use hyper_util::rt::TokioIo;
use identity_provider::tfplugin::server::proto::tfplugin6 as pb;
use identity_provider::tfplugin::server::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tonic::transport::{Channel, Endpoint, Uri};

#[path = "scale/refresh.rs"]
mod refresh;

const PROVIDER_BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-identity");
const SANDBOX_BIN: &str = env!("CARGO_BIN_EXE_identity-sandbox");
const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

const PROVIDER_SOURCE: &str = "idfabric/identity";
const SCIM_CLIENT_ID: &str = "sandbox-client";
const SCIM_CLIENT_SECRET: &str = "sandbox-secret";
const TOKEN_ROUTE: &str = "POST /oci/oauth2/v1/token";

const SAMPLE_EVERY: Duration = Duration::from_millis(20);
const STARTUP_RUNS: usize = 20;
const SCHEMA_PROXY_RUNS: usize = 5;
const RERUN: &str = "cargo bench --bench scale";

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("scale: skipped (not started by `cargo bench`); run `{RERUN}`");
        return;
    }
    if let Err(e) = run() {
        eprintln!("scale: error: {e:#}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------

struct Settings {
    ns: Vec<usize>,
    repeats: Option<usize>,
    write_docs: bool,
    keep: bool,
    timeout: Duration,
    terraform: PathBuf,
    /// The refresh-under-latency part (`SCALE_REFRESH`, default on).
    refresh: bool,
    /// Only that part (`SCALE_ONLY=refresh`).
    only_refresh: bool,
}

impl Settings {
    fn from_env() -> Result<Settings> {
        let ns = match std::env::var("SCALE_NS") {
            Ok(v) if !v.trim().is_empty() => v
                .split(',')
                .map(|s| s.trim().parse::<usize>().with_context(|| format!("SCALE_NS: {s:?} is not a number")))
                .collect::<Result<Vec<_>>>()?,
            _ => vec![100, 1000, 5000],
        };
        if ns.contains(&0) {
            bail!("SCALE_NS: counts must be positive");
        }
        let repeats = match std::env::var("SCALE_REPEATS") {
            Ok(v) if !v.trim().is_empty() => Some(v.trim().parse::<usize>().context("SCALE_REPEATS")?.max(1)),
            _ => None,
        };
        let flag = |k: &str, default: bool| match std::env::var(k) {
            Ok(v) => !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")),
            Err(_) => default,
        };
        let timeout = std::env::var("SCALE_TIMEOUT_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(1800);
        Ok(Settings {
            ns,
            repeats,
            write_docs: flag("SCALE_WRITE_DOCS", true),
            keep: flag("SCALE_KEEP", false),
            timeout: Duration::from_secs(timeout),
            terraform: terraform_bin()?,
            refresh: flag("SCALE_REFRESH", true),
            only_refresh: match std::env::var("SCALE_ONLY") {
                Ok(v) if v == "refresh" => true,
                Ok(v) if !v.is_empty() => bail!("SCALE_ONLY: only `refresh` is known, got {v:?}"),
                _ => false,
            },
        })
    }

    fn repeats_for(&self, n: usize) -> usize {
        self.repeats.unwrap_or(if n <= 1000 { 2 } else { 1 })
    }
}

fn terraform_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("TERRAFORM").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("terraform"))
        .find(|c| c.is_file())
        .ok_or_else(|| anyhow!("terraform is not on PATH (set TERRAFORM=/path/to/terraform)"))
}

// ---------------------------------------------------------------------------------------
// What is measured
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Baseline,
    Scim,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Baseline => "terraform_data",
            Kind::Scim => "identity_scim_user",
        }
    }

    fn config(self, n: usize) -> String {
        match self {
            Kind::Baseline => format!("resource \"terraform_data\" \"r\" {{\n  count = {n}\n  input = \"user-${{count.index}}\"\n}}\n"),
            Kind::Scim => format!(
                "terraform {{\n  required_providers {{\n    identity = {{\n      source = \"{PROVIDER_SOURCE}\"\n    }}\n  }}\n}}\n\n\
                 resource \"identity_scim_user\" \"u\" {{\n  count     = {n}\n  user_name = \"user-${{count.index}}\"\n}}\n"
            ),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Apply,
    Plan,
    Destroy,
}

const PHASES: [Phase; 3] = [Phase::Apply, Phase::Plan, Phase::Destroy];

impl Phase {
    fn label(self) -> &'static str {
        match self {
            Phase::Apply => "apply",
            Phase::Plan => "plan (refresh)",
            Phase::Destroy => "destroy",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            Phase::Apply => &["apply", "-auto-approve", "-input=false", "-no-color"],
            Phase::Plan => &["plan", "-detailed-exitcode", "-input=false", "-no-color"],
            Phase::Destroy => &["destroy", "-auto-approve", "-input=false", "-no-color"],
        }
    }

    fn file_stem(self) -> &'static str {
        match self {
            Phase::Apply => "apply",
            Phase::Plan => "plan",
            Phase::Destroy => "destroy",
        }
    }
}

/// One terraform command, measured.
#[derive(Clone, Debug)]
struct PhaseRun {
    kind: Kind,
    n: usize,
    rep: usize,
    phase: Phase,
    wall: f64,
    /// User+system CPU of terraform and the providers it started (waited-for children).
    cpu_terraform_and_provider: f64,
    /// User+system CPU of the provider processes (last /proc sample of each; a lower bound).
    cpu_provider: f64,
    cpu_sandbox: f64,
    provider_processes: usize,
    provider_hwm_kb: u64,
    terraform_hwm_kb: u64,
    api_total: u64,
    api_routes: BTreeMap<String, u64>,
    /// `plan -detailed-exitcode`: 0 = empty, 2 = changes.
    exit_code: i32,
}

impl PhaseRun {
    fn token_requests(&self) -> u64 {
        self.api_routes.get(TOKEN_ROUTE).copied().unwrap_or(0)
    }
}

#[derive(Clone, Debug, Default)]
struct Startup {
    handshake_ms: Vec<f64>,
    connect_ms: Vec<f64>,
    schema_cold_ms: Vec<f64>,
    schema_warm_ms: Vec<f64>,
    schema_bytes: usize,
    proxy_ms: Vec<f64>,
    proxy_error: Option<String>,
}

struct Environment {
    date: String,
    nproc: usize,
    kernel: String,
    cpu: String,
    mem_total: String,
    terraform_version: String,
    commit: String,
    dirty: Vec<String>,
    provider_bytes: u64,
    sandbox_bytes: u64,
    load_before: String,
    load_after: String,
    clk_tck: f64,
}

struct Report {
    env: Environment,
    ns: Vec<usize>,
    runs: Vec<PhaseRun>,
    startup: Startup,
    total_secs: f64,
}

impl Report {
    /// The run with the best wall time for (kind, n, phase).
    fn best(&self, kind: Kind, n: usize, phase: Phase) -> Option<&PhaseRun> {
        self.runs.iter().filter(|r| r.kind == kind && r.n == n && r.phase == phase).min_by(|a, b| a.wall.total_cmp(&b.wall))
    }

    /// The highest provider VmHWM over every run of (kind, n), any phase.
    fn peak_provider_kb(&self, kind: Kind, n: usize) -> u64 {
        self.runs.iter().filter(|r| r.kind == kind && r.n == n).map(|r| r.provider_hwm_kb).max().unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------

fn run() -> Result<()> {
    let settings = Settings::from_env()?;
    let started = Instant::now();
    let load_before = load_average();

    let tmp = tempfile::Builder::new().prefix("identity-scale-").tempdir().context("temporary directory")?;
    let tmp_path = tmp.path().to_path_buf();
    if settings.keep {
        let _ = tmp.keep();
        eprintln!("[scale] SCALE_KEEP: working files kept in {}", tmp_path.display());
    }

    // Snapshot the binaries: other builds may replace target/release while this runs.
    let bin_dir = tmp_path.join("bin");
    std::fs::create_dir_all(&bin_dir)?;
    let provider = bin_dir.join("terraform-provider-identity");
    let sandbox_bin = bin_dir.join("identity-sandbox");
    std::fs::copy(PROVIDER_BIN, &provider).with_context(|| format!("copy {PROVIDER_BIN}"))?;
    std::fs::copy(SANDBOX_BIN, &sandbox_bin).with_context(|| format!("copy {SANDBOX_BIN}"))?;
    let provider = std::fs::canonicalize(&provider)?;
    let terraform = std::fs::canonicalize(&settings.terraform).with_context(|| format!("terraform at {}", settings.terraform.display()))?;

    let cli_config = tmp_path.join("dev.tfrc");
    std::fs::write(
        &cli_config,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = {}\n  }}\n  direct {{}}\n}}\n",
            serde_json::Value::String(bin_dir.to_string_lossy().into_owned())
        ),
    )?;

    let sandbox = Sandbox::start(&sandbox_bin)?;
    eprintln!("[scale] sandbox at {}", sandbox.url);
    let tf = Terraform {
        bin: terraform.clone(),
        cli_config: cli_config.clone(),
        env: vec![
            ("IDENTITY_SCIM_URL".into(), format!("{}/oci/admin/v1", sandbox.url)),
            ("IDENTITY_SCIM_CLIENT_ID".into(), SCIM_CLIENT_ID.into()),
            ("IDENTITY_SCIM_CLIENT_SECRET".into(), SCIM_CLIENT_SECRET.into()),
        ],
        timeout: settings.timeout,
    };

    let env = environment(&tf, &provider, &sandbox_bin, load_before)?;
    eprintln!("[scale] terraform {}, {} CPUs, kernel {}, N = {:?}", env.terraform_version, env.nproc, env.kernel, settings.ns);

    if settings.only_refresh {
        let report = refresh::run(&tf, &sandbox_bin, &provider, &terraform, &tmp_path)?;
        let mut env = env;
        env.load_after = load_average();
        write_refresh(&settings, &report, &env, started)?;
        return Ok(());
    }

    eprintln!("[scale] start-up latencies ({STARTUP_RUNS} runs each)");
    let startup = measure_startup(&provider, &tf, &tmp_path)?;

    let mut runs = Vec::new();
    for &n in &settings.ns {
        for rep in 1..=settings.repeats_for(n) {
            for kind in [Kind::Baseline, Kind::Scim] {
                let dir = tmp_path.join(format!("{}-{n}-{rep}", kind.label()));
                std::fs::create_dir_all(&dir)?;
                std::fs::write(dir.join("main.tf"), kind.config(n))?;
                for phase in PHASES {
                    let r = measure_phase(&tf, &sandbox, &provider, &terraform, &dir, kind, n, rep, phase, env.clk_tck)?;
                    eprintln!(
                        "[scale] {:<18} N={n:<5} rep {rep}  {:<14} {:>8.2} s  api {:>5}  provider RSS {:>6.1} MB  procs {}",
                        kind.label(),
                        phase.label(),
                        r.wall,
                        r.api_total,
                        mb(r.provider_hwm_kb),
                        r.provider_processes
                    );
                    if phase == Phase::Plan && r.exit_code != 0 {
                        eprintln!("[scale] warning: the plan after apply was not empty (see {}/plan.out)", dir.display());
                    }
                    runs.push(r);
                }
                let left = sandbox.scim_user_count()?;
                if kind == Kind::Scim && left != 0 {
                    bail!("{left} SCIM users left on the sandbox after destroy ({})", dir.display());
                }
            }
        }
    }

    let refreshed = if settings.refresh { Some(refresh::run(&tf, &sandbox_bin, &provider, &terraform, &tmp_path)?) } else { None };

    let mut env = env;
    env.load_after = load_average();
    if let Some(r) = &refreshed {
        write_refresh(&settings, r, &env, started)?;
    }
    let report = Report { env, ns: settings.ns.clone(), runs, startup, total_secs: started.elapsed().as_secs_f64() };

    let md = render_markdown(&report);
    let svg = render_svg(&report)?;
    println!("{}", stdout_tables(&report));
    if settings.write_docs {
        let dir = Path::new(MANIFEST_DIR).join("benches");
        std::fs::write(dir.join("performance.md"), md)?;
        std::fs::write(dir.join("performance.svg"), svg)?;
        println!("wrote benches/performance.md and benches/performance.svg");
    }
    drop(sandbox);
    Ok(())
}

/// Prints the refresh part and, unless `SCALE_WRITE_DOCS=0`, writes
/// `benches/performance-refresh.md` and `.svg`.
fn write_refresh(settings: &Settings, r: &refresh::RefreshReport, e: &Environment, started: Instant) -> Result<()> {
    let mut run = String::new();
    let _ = writeln!(run, "- date: {}", e.date);
    let _ = writeln!(run, "- machine: {} CPUs ({}), {} RAM, Linux {}", e.nproc, e.cpu, e.mem_total, e.kernel);
    let _ = writeln!(run, "- load average (1, 5, 15 min) before: {}; after: {}", e.load_before, e.load_after);
    let _ = writeln!(run, "- Terraform {}", e.terraform_version);
    let _ = writeln!(
        run,
        "- commit: {}{}",
        if e.commit.is_empty() { "unknown" } else { &e.commit },
        if e.dirty.is_empty() { String::new() } else { format!(" with local changes to {}", e.dirty.join(", ")) }
    );
    let _ = writeln!(run, "- benchmark wall time (up to this part's end): {:.0} s", started.elapsed().as_secs_f64());
    let md = refresh::markdown(r, &run);
    println!("{md}");
    if settings.write_docs {
        let dir = Path::new(MANIFEST_DIR).join("benches");
        std::fs::write(dir.join("performance-refresh.md"), md)?;
        std::fs::write(dir.join("performance-refresh.svg"), refresh::svg(r)?)?;
        println!("wrote benches/performance-refresh.md and benches/performance-refresh.svg");
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn measure_phase(
    tf: &Terraform,
    sandbox: &Sandbox,
    provider: &Path,
    terraform: &Path,
    dir: &Path,
    kind: Kind,
    n: usize,
    rep: usize,
    phase: Phase,
    clk_tck: f64,
) -> Result<PhaseRun> {
    let (total0, routes0) = sandbox.stats()?;
    let sandbox_cpu0 = proc_cpu_ticks(sandbox.pid).unwrap_or(0);
    let children0 = children_cpu_ticks();
    let sampler = Sampler::start(provider.to_path_buf(), terraform.to_path_buf());

    let (wall, code) = tf.run(dir, phase.args(), phase.file_stem())?;

    let sampled = sampler.stop();
    let children1 = children_cpu_ticks();
    let sandbox_cpu1 = proc_cpu_ticks(sandbox.pid).unwrap_or(0);
    let (total1, routes1) = sandbox.stats()?;

    let ok = match phase {
        Phase::Plan => code == 0 || code == 2,
        _ => code == 0,
    };
    if !ok {
        let err = std::fs::read_to_string(dir.join(format!("{}.err", phase.file_stem()))).unwrap_or_default();
        let out = std::fs::read_to_string(dir.join(format!("{}.out", phase.file_stem()))).unwrap_or_default();
        bail!(
            "`terraform {}` for {} N={n} failed with exit code {code} in {}\n--- stdout (tail) ---\n{}\n--- stderr (tail) ---\n{}\n--- sandbox stderr (tail) ---\n{}",
            phase.args().join(" "),
            kind.label(),
            dir.display(),
            tail(&out, 40),
            tail(&err, 60),
            sandbox.log_tail()
        );
    }

    let mut api_routes = BTreeMap::new();
    for (route, after) in &routes1 {
        let d = after.saturating_sub(routes0.get(route).copied().unwrap_or(0));
        if d > 0 {
            api_routes.insert(route.clone(), d);
        }
    }
    Ok(PhaseRun {
        kind,
        n,
        rep,
        phase,
        wall: wall.as_secs_f64(),
        cpu_terraform_and_provider: children1.saturating_sub(children0) as f64 / clk_tck,
        cpu_provider: sampled.provider.values().map(|p| p.ticks).sum::<u64>() as f64 / clk_tck,
        cpu_sandbox: sandbox_cpu1.saturating_sub(sandbox_cpu0) as f64 / clk_tck,
        provider_processes: sampled.provider.len(),
        provider_hwm_kb: sampled.provider.values().map(|p| p.hwm_kb).max().unwrap_or(0),
        terraform_hwm_kb: sampled.terraform.values().map(|p| p.hwm_kb).max().unwrap_or(0),
        api_total: total1.saturating_sub(total0),
        api_routes,
        exit_code: code,
    })
}

// ---------------------------------------------------------------------------------------
// Terraform
// ---------------------------------------------------------------------------------------

struct Terraform {
    bin: PathBuf,
    cli_config: PathBuf,
    env: Vec<(String, String)>,
    timeout: Duration,
}

impl Terraform {
    fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args).current_dir(dir).stdin(Stdio::null());
        for (k, _) in std::env::vars_os() {
            let ks = k.to_string_lossy();
            if ks.starts_with("TF_") || ks.starts_with("IDENTITY_") || ks == "CHECKPOINT_DISABLE" {
                cmd.env_remove(&k);
            }
        }
        cmd.env("TF_CLI_CONFIG_FILE", &self.cli_config).env("TF_IN_AUTOMATION", "1").env("TF_INPUT", "0").env("CHECKPOINT_DISABLE", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `terraform <args>` in `dir` with stdout and stderr in `<stem>.out` and
    /// `<stem>.err`; returns the wall time and the exit code.
    fn run(&self, dir: &Path, args: &[&str], stem: &str) -> Result<(Duration, i32)> {
        let out = std::fs::File::create(dir.join(format!("{stem}.out")))?;
        let err = std::fs::File::create(dir.join(format!("{stem}.err")))?;
        let mut cmd = self.command(dir, args);
        cmd.stdout(out).stderr(err);
        let start = Instant::now();
        let mut child = cmd.spawn().with_context(|| format!("cannot start {}", self.bin.display()))?;
        let status = loop {
            if let Some(s) = child.try_wait()? {
                break s;
            }
            if start.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                bail!("`terraform {}` in {} ran longer than {:?} (SCALE_TIMEOUT_SECS)", args.join(" "), dir.display(), self.timeout);
            }
            thread::sleep(Duration::from_millis(2));
        };
        Ok((start.elapsed(), status.code().unwrap_or(-1)))
    }

    fn output(&self, dir: &Path, args: &[&str]) -> Result<std::process::Output> {
        let mut cmd = self.command(dir, args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        Ok(cmd.output()?)
    }
}

// ---------------------------------------------------------------------------------------
// The sandbox
// ---------------------------------------------------------------------------------------

struct Sandbox {
    child: Child,
    pid: u32,
    url: String,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl Sandbox {
    fn start(bin: &Path) -> Result<Sandbox> {
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id();
        let log: Arc<Mutex<VecDeque<String>>> = Arc::default();
        let stderr = child.stderr.take().expect("piped stderr");
        let log2 = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut q = log2.lock().unwrap_or_else(|e| e.into_inner());
                if q.len() == 100 {
                    q.pop_front();
                }
                q.push_back(line);
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut first = String::new();
            let _ = r.read_line(&mut first);
            let _ = tx.send(first);
            let mut sink = Vec::new();
            let _ = r.read_to_end(&mut sink);
        });
        let first = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let Some(url) = first.trim().strip_prefix("listening on ").map(|u| u.trim_end_matches('/').to_string()) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the sandbox did not announce its address (first line {first:?})");
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let http = {
            let _guard = rt.enter();
            reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build()?
        };
        Ok(Sandbox { child, pid, url, rt, http, log })
    }

    fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        let url = format!("{}{path}", self.url);
        let text = self.rt.block_on(async {
            let resp = self.http.get(&url).send().await?.error_for_status()?;
            resp.text().await
        })?;
        Ok(serde_json::from_str(&text)?)
    }

    /// `total` and `by_route` of `GET /_sandbox/stats`.
    fn stats(&self) -> Result<(u64, BTreeMap<String, u64>)> {
        let v = self.get_json("/_sandbox/stats")?;
        let total = v["total"].as_u64().ok_or_else(|| anyhow!("/_sandbox/stats without total: {v}"))?;
        let routes = v["by_route"]
            .as_object()
            .map(|m| m.iter().filter_map(|(k, v)| v.as_u64().map(|c| (k.clone(), c))).collect())
            .unwrap_or_default();
        Ok((total, routes))
    }

    /// How many SCIM users the sandbox holds (from `/_sandbox/state`).
    fn scim_user_count(&self) -> Result<usize> {
        let v = self.get_json("/_sandbox/state")?;
        Ok(find_users(&v)
            .map(|u| match u {
                serde_json::Value::Array(a) => a.len(),
                serde_json::Value::Object(o) => o.len(),
                _ => 0,
            })
            .unwrap_or(0))
    }

    fn log_tail(&self) -> String {
        let q = self.log.lock().unwrap_or_else(|e| e.into_inner());
        q.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

/// The SCIM users in a `/_sandbox/state` document (`scim.users`, or any `users` under
/// the OCI vendor).
fn find_users(state: &serde_json::Value) -> Option<&serde_json::Value> {
    for vendor in ["scim", "oci"] {
        if let Some(u) = state.get(vendor).and_then(|v| v.get("users")) {
            return Some(u);
        }
    }
    None
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// /proc sampling
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Default)]
struct ProcSample {
    hwm_kb: u64,
    ticks: u64,
}

#[derive(Default)]
struct Sampled {
    provider: BTreeMap<u32, ProcSample>,
    terraform: BTreeMap<u32, ProcSample>,
}

/// Polls `/proc` every 20 ms for processes running the provider (or terraform) binary
/// and keeps each one's highest VmHWM and last CPU time.
struct Sampler {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<Sampled>,
}

impl Sampler {
    fn start(provider: PathBuf, terraform: PathBuf) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::spawn(move || {
            let mut sampled = Sampled::default();
            let mut others = std::collections::HashSet::new();
            loop {
                let last = flag.load(Ordering::Relaxed);
                scan_proc(&provider, &terraform, &mut sampled, &mut others);
                if last {
                    break;
                }
                thread::sleep(SAMPLE_EVERY);
            }
            sampled
        });
        Sampler { stop, handle }
    }

    fn stop(self) -> Sampled {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}

/// `others` remembers live processes running some other binary (or none: kernel threads),
/// so each scan reads only new and matching pids. Pids running terraform or this benchmark
/// are always re-read: their children fork before they exec terraform or the provider.
fn scan_proc(provider: &Path, terraform: &Path, into: &mut Sampled, others: &mut std::collections::HashSet<u32>) {
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    let mut live = std::collections::HashSet::with_capacity(others.len() + 16);
    let me = std::fs::read_link("/proc/self/exe").unwrap_or_default();
    let me = me.to_string_lossy();
    let me = Path::new(me.strip_suffix(" (deleted)").unwrap_or(&me));
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        live.insert(pid);
        if others.contains(&pid) {
            continue;
        }
        let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) else {
            others.insert(pid); // kernel threads, zombies
            continue;
        };
        let exe = exe.to_string_lossy();
        let exe = Path::new(exe.strip_suffix(" (deleted)").unwrap_or(&exe));
        let map = if exe == provider {
            &mut into.provider
        } else if exe == terraform {
            &mut into.terraform
        } else {
            // Our own children show this binary until they exec terraform.
            if exe != me {
                others.insert(pid);
            }
            continue;
        };
        let hwm = vm_hwm_kb(pid);
        let ticks = proc_cpu_ticks(pid);
        let slot = map.entry(pid).or_default();
        if let Some(h) = hwm {
            slot.hwm_kb = slot.hwm_kb.max(h);
        }
        if let Some(t) = ticks {
            slot.ticks = slot.ticks.max(t);
        }
    }
    // A pid can only be reused after its process is gone.
    others.retain(|p| live.contains(p));
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Fields of `/proc/<pid>/stat` after the command name (field 3 is index 0).
fn stat_fields(path: &str) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(path).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(|f| f.parse::<u64>().unwrap_or(0)).collect())
}

/// utime + stime (fields 14, 15) in clock ticks.
fn proc_cpu_ticks(pid: u32) -> Option<u64> {
    let f = stat_fields(&format!("/proc/{pid}/stat"))?;
    Some(f.get(11)? + f.get(12)?)
}

/// cutime + cstime (fields 16, 17) of this process: CPU of waited-for descendants.
fn children_cpu_ticks() -> u64 {
    stat_fields("/proc/self/stat").and_then(|f| Some(f.get(13)? + f.get(14)?)).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Start-up: handshake, GetProviderSchema
// ---------------------------------------------------------------------------------------

struct ClientIdentity {
    pem: String,
    der: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

/// A client certificate like Terraform's: ECDSA P-521, self-signed, CN=localhost.
fn client_identity() -> Result<ClientIdentity> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512)?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()])?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "HashiCorp");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key)?;
    Ok(ClientIdentity {
        pem: cert.pem(),
        der: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    })
}

struct Plugin {
    child: Child,
    addr: String,
    server_cert: Vec<u8>,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns the provider as Terraform does; returns it with the exec-to-handshake time.
fn spawn_plugin(bin: &Path, client_pem: &str) -> Result<(Plugin, Duration)> {
    let start = Instant::now();
    let mut child = Command::new(bin)
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6,5")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_CLIENT_CERT", client_pem)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("spawn provider")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line)?;
    let elapsed = start.elapsed();
    let parts: Vec<&str> = line.trim_end().split('|').collect();
    if parts.len() != 6 || parts[..3] != ["1", "6", "tcp"] {
        let _ = child.kill();
        let _ = child.wait();
        bail!("unexpected handshake line {line:?}");
    }
    let server_cert = base64::engine::general_purpose::STANDARD_NO_PAD.decode(parts[5]).context("handshake certificate")?;
    Ok((Plugin { child, addr: parts[3].to_string(), server_cert }, elapsed))
}

async fn connect(p: &Plugin, id: &ClientIdentity) -> Result<Channel> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(p.server_cert.clone()))?;
    let crypto = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(crypto)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![id.der.clone()], id.key.clone_key())?;
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let addr = p.addr.clone();
    let channel = Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let connector = connector.clone();
            let addr = addr.clone();
            async move {
                let tcp = tokio::net::TcpStream::connect(&addr).await?;
                tcp.set_nodelay(true)?;
                let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
                let tls = connector.connect(name, tcp).await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        }))
        .await?;
    Ok(channel)
}

fn measure_startup(provider: &Path, tf: &Terraform, tmp: &Path) -> Result<Startup> {
    let id = client_identity()?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut s = Startup::default();

    // Exec to handshake line, the method of benches/handshake.rs.
    for _ in 0..STARTUP_RUNS {
        let (plugin, t) = spawn_plugin(provider, &id.pem)?;
        s.handshake_ms.push(ms(t));
        drop(plugin);
    }

    // GetProviderSchema over mutual TLS: the first call of a fresh process (what
    // Terraform pays per provider start), then repeated calls on that connection.
    for _ in 0..STARTUP_RUNS {
        let (plugin, _) = spawn_plugin(provider, &id.pem)?;
        rt.block_on(async {
            let t0 = Instant::now();
            let channel = connect(&plugin, &id).await?;
            s.connect_ms.push(ms(t0.elapsed()));
            let mut client = pb::provider_client::ProviderClient::new(channel).max_decoding_message_size(64 << 20);
            let t1 = Instant::now();
            let resp = client.get_provider_schema(pb::get_provider_schema::Request {}).await?.into_inner();
            s.schema_cold_ms.push(ms(t1.elapsed()));
            s.schema_bytes = prost::Message::encoded_len(&resp);
            let t2 = Instant::now();
            client.get_provider_schema(pb::get_provider_schema::Request {}).await?;
            s.schema_warm_ms.push(ms(t2.elapsed()));
            anyhow::Ok(())
        })?;
        drop(plugin);
    }

    // Proxy: `terraform providers schema -json` (terraform start, config load, provider
    // start and GetProviderSchema, JSON output).
    let dir = tmp.join("schema-proxy");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("main.tf"), Kind::Scim.config(1))?;
    for _ in 0..SCHEMA_PROXY_RUNS {
        let t0 = Instant::now();
        let out = tf.output(&dir, &["providers", "schema", "-json"])?;
        let t = t0.elapsed();
        if !out.status.success() || !String::from_utf8_lossy(&out.stdout).contains("identity_scim_user") {
            s.proxy_error = Some(tail(&String::from_utf8_lossy(&out.stderr), 5));
            s.proxy_ms.clear();
            break;
        }
        s.proxy_ms.push(ms(t));
    }
    Ok(s)
}

// ---------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------

fn environment(tf: &Terraform, provider: &Path, sandbox: &Path, load_before: String) -> Result<Environment> {
    let tf_version = tf
        .output(Path::new(MANIFEST_DIR), &["version", "-json"])
        .ok()
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
        .and_then(|v| v["terraform_version"].as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    let git = |args: &[&str]| -> String {
        Command::new("git")
            .args(args)
            .current_dir(MANIFEST_DIR)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim_end().to_string())
            .unwrap_or_default()
    };
    let commit = git(&["log", "-1", "--format=%h %s"]);
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .lines()
        .map(|l| l.get(3..).unwrap_or(l).to_string())
        .filter(|p| !p.starts_with("benches/performance."))
        .collect();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())))
        .unwrap_or_else(|| "unknown".into());
    let mem_total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| l.strip_prefix("MemTotal:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    let clk_tck = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok())
        .unwrap_or(100.0);
    Ok(Environment {
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        nproc: thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        kernel: read_trim("/proc/sys/kernel/osrelease"),
        cpu,
        mem_total,
        terraform_version: tf_version,
        commit,
        dirty,
        provider_bytes: std::fs::metadata(provider).map(|m| m.len()).unwrap_or(0),
        sandbox_bytes: std::fs::metadata(sandbox).map(|m| m.len()).unwrap_or(0),
        load_before,
        load_after: String::new(),
        clk_tck,
    })
}

// ---------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

fn read_trim(p: &str) -> String {
    std::fs::read_to_string(p).map(|s| s.trim().to_string()).unwrap_or_default()
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    read_trim("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 { format!("{:.2}x", a / b) } else { "-".into() }
}

fn opt_secs(r: Option<&PhaseRun>) -> String {
    r.map(|r| format!("{:.2}", r.wall)).unwrap_or_else(|| "-".into())
}

fn routes_text(routes: &BTreeMap<String, u64>) -> String {
    if routes.is_empty() {
        return "-".into();
    }
    routes.iter().map(|(r, c)| format!("`{r}` {c}")).collect::<Vec<_>>().join(", ")
}

/// Wall time per phase, both configurations side by side.
fn table_wall(r: &Report) -> String {
    let mut s = String::new();
    s.push_str("| N | phase | terraform_data (s) | identity_scim_user (s) | ratio | per resource (ms) |\n");
    s.push_str("|---:|---|---:|---:|---:|---:|\n");
    for &n in &r.ns {
        for phase in PHASES {
            let b = r.best(Kind::Baseline, n, phase);
            let p = r.best(Kind::Scim, n, phase);
            let rat = match (p, b) {
                (Some(p), Some(b)) => ratio(p.wall, b.wall),
                _ => "-".into(),
            };
            let per = p.map(|p| format!("{:.2}", p.wall * 1000.0 / n as f64)).unwrap_or_else(|| "-".into());
            let _ = writeln!(s, "| {n} | {} | {} | {} | {rat} | {per} |", phase.label(), opt_secs(b), opt_secs(p));
        }
    }
    s
}

/// Requests, processes, memory and CPU per phase (best run of each).
fn table_detail(r: &Report) -> String {
    let mut s = String::new();
    s.push_str("| N | resource | phase | wall (s) | API requests | token requests | provider processes | provider peak RSS (MB) | terraform peak RSS (MB) | CPU terraform+provider (s) | CPU provider (s) | CPU sandbox (s) |\n");
    s.push_str("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for &n in &r.ns {
        for kind in [Kind::Baseline, Kind::Scim] {
            for phase in PHASES {
                let Some(x) = r.best(kind, n, phase) else { continue };
                let _ = writeln!(
                    s,
                    "| {n} | {} | {} | {:.2} | {} | {} | {} | {} | {:.1} | {:.2} | {} | {:.2} |",
                    kind.label(),
                    phase.label(),
                    x.wall,
                    x.api_total,
                    x.token_requests(),
                    x.provider_processes,
                    if x.provider_processes > 0 { format!("{:.1}", mb(x.provider_hwm_kb)) } else { "-".into() },
                    mb(x.terraform_hwm_kb),
                    x.cpu_terraform_and_provider,
                    if x.provider_processes > 0 { format!("{:.2}", x.cpu_provider) } else { "-".into() },
                    x.cpu_sandbox,
                );
            }
        }
    }
    s
}

/// API requests by route for the provider runs.
fn table_routes(r: &Report) -> String {
    let mut s = String::new();
    s.push_str("| N | phase | requests | by route |\n|---:|---|---:|---|\n");
    for &n in &r.ns {
        for phase in PHASES {
            let Some(x) = r.best(Kind::Scim, n, phase) else { continue };
            let _ = writeln!(s, "| {n} | {} | {} | {} |", phase.label(), x.api_total, routes_text(&x.api_routes));
        }
    }
    s
}

fn table_startup(r: &Report) -> String {
    let st = &r.startup;
    let row = |what: &str, v: &[f64], how: &str| {
        if v.is_empty() {
            format!("| {what} | - | - | - | {how} |\n")
        } else {
            format!("| {what} | {:.2} | {:.2} | {:.2} | {how} |\n", median(v), min(v), max(v))
        }
    };
    let mut s = String::from("| what | median (ms) | min (ms) | max (ms) | how |\n|---|---:|---:|---:|---|\n");
    s.push_str(&row(
        "exec to handshake",
        &st.handshake_ms,
        &format!(
            "{} runs: spawn with the magic cookie and a client certificate, until the handshake line on stdout",
            st.handshake_ms.len()
        ),
    ));
    s.push_str(&row("mTLS connect", &st.connect_ms, "TCP + TLS 1.3 with the client certificate, HTTP/2 setup"));
    s.push_str(&row(
        "GetProviderSchema, first call",
        &st.schema_cold_ms,
        &format!("gRPC over mTLS, first call of a fresh process; response {} bytes", st.schema_bytes),
    ));
    s.push_str(&row("GetProviderSchema, repeated", &st.schema_warm_ms, "second call on the same connection"));
    let proxy_how = match &st.proxy_error {
        Some(e) => format!("proxy, failed: {}", e.replace('\n', " ").replace('|', "/")),
        None => format!("proxy (whole CLI: terraform start, config load, provider start, schema, JSON): {} runs", st.proxy_ms.len()),
    };
    s.push_str(&row("`terraform providers schema -json`", &st.proxy_ms, &proxy_how));
    s
}

struct Target {
    what: &'static str,
    target: String,
    measured: String,
    met: Option<bool>,
}

fn targets(r: &Report) -> Vec<Target> {
    let mut t = Vec::new();
    let n1k = 1000;
    for (phase, what) in
        [(Phase::Apply, "apply of 1000 users vs terraform_data"), (Phase::Plan, "refresh-plan of 1000 users vs terraform_data")]
    {
        let (measured, met) = match (r.best(Kind::Scim, n1k, phase), r.best(Kind::Baseline, n1k, phase)) {
            (Some(p), Some(b)) => (format!("{:.2} s vs {:.2} s = {}", p.wall, b.wall, ratio(p.wall, b.wall)), Some(p.wall <= 1.3 * b.wall)),
            _ => ("not measured (N=1000 not in SCALE_NS)".into(), None),
        };
        t.push(Target { what, target: "<= 1.3x".into(), measured, met });
    }
    // API calls per created user: every request of the apply except token fetches, per user.
    if let Some(x) = r.ns.iter().max().and_then(|&n| r.best(Kind::Scim, n, Phase::Apply)) {
        let tokens = x.token_requests();
        let per = (x.api_total - tokens) as f64 / x.n as f64;
        t.push(Target {
            what: "API calls to create a user",
            target: "1 per user + 1 token per provider process".into(),
            measured: format!(
                "N={}: {} requests = {:.2} per user + {tokens} token fetches for {} provider processes",
                x.n, x.api_total, per, x.provider_processes
            ),
            met: Some(per <= 1.0 + 1e-9 && tokens as usize <= x.provider_processes.max(1)),
        });
    }
    let (measured, met) = if r.ns.contains(&5000) {
        let kb = r.peak_provider_kb(Kind::Scim, 5000);
        (format!("{:.1} MB", mb(kb)), Some(mb(kb) < 50.0))
    } else {
        let n = r.ns.iter().max().copied().unwrap_or(0);
        (format!("not measured at 5000 ({:.1} MB at N={n})", mb(r.peak_provider_kb(Kind::Scim, n))), None)
    };
    t.push(Target { what: "provider peak RSS at N=5000", target: "< 50 MB".into(), measured, met });
    let hs = median(&r.startup.handshake_ms);
    t.push(Target { what: "exec-to-handshake (median)", target: "< 20 ms".into(), measured: format!("{hs:.2} ms"), met: Some(hs < 20.0) });
    for phase in PHASES {
        let (measured, met) = match (r.best(Kind::Scim, 1000, phase), r.best(Kind::Scim, 5000, phase)) {
            (Some(a), Some(b)) => {
                let core = match (r.best(Kind::Baseline, 1000, phase), r.best(Kind::Baseline, 5000, phase)) {
                    (Some(c), Some(d)) => format!("; terraform_data {}", ratio(d.wall, c.wall)),
                    _ => String::new(),
                };
                (format!("{:.2} s -> {:.2} s = {}{core}", a.wall, b.wall, ratio(b.wall, a.wall)), Some(b.wall <= 6.0 * a.wall))
            }
            _ => ("not measured (needs N=1000 and N=5000)".into(), None),
        };
        let what = match phase {
            Phase::Apply => "linear growth, apply 5000 vs 1000",
            Phase::Plan => "linear growth, refresh-plan 5000 vs 1000",
            Phase::Destroy => "linear growth, destroy 5000 vs 1000",
        };
        t.push(Target { what, target: "~5x (counted met at <= 6x)".into(), measured, met });
    }
    // Terraform itself grows faster than N (it writes the whole state after every
    // resource, and copies the resource's state for every instance); what the provider
    // adds should grow like N.
    for phase in PHASES {
        let (measured, met) = match (r.best(Kind::Scim, 1000, phase), r.best(Kind::Scim, 5000, phase)) {
            (Some(a), Some(b)) => {
                // Ratios of the figures as shown (2 decimals), so the row can be checked by hand.
                let shown = |x: f64| (x * 100.0).round() / 100.0;
                let (ca, cb) = (shown(a.cpu_provider), shown(b.cpu_provider));
                let (qa, qb) = (a.api_total as f64, b.api_total as f64);
                (
                    format!(
                        "provider CPU {ca:.2} s -> {cb:.2} s = {}; API requests {} -> {} = {}",
                        ratio(cb, ca),
                        a.api_total,
                        b.api_total,
                        ratio(qb, qa)
                    ),
                    Some(ca > 0.0 && qa > 0.0 && cb <= 6.0 * ca && qb <= 6.0 * qa),
                )
            }
            _ => ("not measured (needs N=1000 and N=5000)".into(), None),
        };
        let what = match phase {
            Phase::Apply => "linear growth of the provider's own cost, apply 5000 vs 1000",
            Phase::Plan => "linear growth of the provider's own cost, refresh-plan 5000 vs 1000",
            Phase::Destroy => "linear growth of the provider's own cost, destroy 5000 vs 1000",
        };
        t.push(Target { what, target: "~5x (counted met at <= 6x)".into(), measured, met });
    }
    let (measured, met) = match r.best(Kind::Scim, 1000, Phase::Plan) {
        Some(x) => (format!("{} requests", x.api_total), Some(x.api_total <= 150)),
        None => ("not measured (N=1000 not in SCALE_NS)".into(), None),
    };
    t.push(Target { what: "API requests to refresh 1000 users", target: "<= 150".into(), measured, met });
    t
}

fn table_targets(r: &Report) -> String {
    let mut s = String::from("| target | wanted | measured | met |\n|---|---|---|---|\n");
    for t in targets(r) {
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "-",
        };
        let _ = writeln!(s, "| {} | {} | {} | {met} |", t.what, t.target, t.measured);
    }
    s
}

fn table_all_runs(r: &Report) -> String {
    let mut s = String::from(
        "| N | resource | run | phase | wall (s) | API requests | provider peak RSS (MB) | plan exit code |\n|---:|---|---:|---|---:|---:|---:|---:|\n",
    );
    for x in &r.runs {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.2} | {} | {} | {} |",
            x.n,
            x.kind.label(),
            x.rep,
            x.phase.label(),
            x.wall,
            x.api_total,
            if x.provider_processes > 0 { format!("{:.1}", mb(x.provider_hwm_kb)) } else { "-".into() },
            if x.phase == Phase::Plan { x.exit_code.to_string() } else { "-".into() },
        );
    }
    s
}

fn stdout_tables(r: &Report) -> String {
    format!(
        "== wall time (best of the runs)\n{}\n== per phase\n{}\n== API requests by route (identity_scim_user)\n{}\n== start-up\n{}\n== targets\n{}\nterraform {}, {} CPUs, kernel {}, provider binary {:.1} MB, commit {}{}; load average before {} / after {}; total {:.0} s",
        table_wall(r),
        table_detail(r),
        table_routes(r),
        table_startup(r),
        table_targets(r),
        r.env.terraform_version,
        r.env.nproc,
        r.env.kernel,
        r.env.provider_bytes as f64 / 1024.0 / 1024.0,
        r.env.commit,
        if r.env.dirty.is_empty() { String::new() } else { format!(" (dirty: {})", r.env.dirty.join(", ")) },
        r.env.load_before,
        r.env.load_after,
        r.total_secs
    )
}

fn render_markdown(r: &Report) -> String {
    let e = &r.env;
    let mut s = String::new();
    s.push_str("# Performance\n\n");
    s.push_str(
        "Generated by `cargo bench --bench scale` (`benches/scale.rs`); the figures change from \
         run to run, re-run it to refresh this page. It compares `identity_scim_user` against the \
         sandbox with Terraform core alone (`terraform_data`, same N, same `count`), so what the \
         table shows above the baseline is the provider's (and the sandbox's) share, and Terraform's \
         own extra work for a resource served by a plugin. Where the CPU goes in an apply and \
         a refresh-plan, profiled: [performance-profile.md](performance-profile.md) (`benches/profile-terraform`). \
         Refresh under API latency and rate limits, with read batching on and off, a 50,000-user domain and a \
         10,000-member group: [performance-refresh.md](performance-refresh.md).\n\n",
    );
    s.push_str("## Run\n\n");
    let _ = writeln!(s, "- date: {}", e.date);
    let _ = writeln!(s, "- machine: {} CPUs ({}), {} RAM, Linux {}", e.nproc, e.cpu, e.mem_total, e.kernel);
    let _ = writeln!(s, "- load average (1, 5, 15 min) before: {}; after: {}", e.load_before, e.load_after);
    let _ = writeln!(s, "- Terraform {} (default `-parallelism`, 10)", e.terraform_version);
    let _ = writeln!(
        s,
        "- commit: {}{}",
        if e.commit.is_empty() { "unknown" } else { &e.commit },
        if e.dirty.is_empty() { String::new() } else { format!(" with local changes to {}", e.dirty.join(", ")) }
    );
    let _ = writeln!(
        s,
        "- release binaries (LTO, stripped): provider {:.1} MB ({} bytes), sandbox {:.1} MB",
        e.provider_bytes as f64 / 1024.0 / 1024.0,
        e.provider_bytes,
        e.sandbox_bytes as f64 / 1024.0 / 1024.0
    );
    let repeats: Vec<String> =
        r.ns.iter()
            .map(|&n| format!("N={n}: {}", r.runs.iter().filter(|x| x.n == n && x.kind == Kind::Scim && x.phase == Phase::Apply).count()))
            .collect();
    let _ = writeln!(s, "- runs per configuration (best wall time shown): {}", repeats.join(", "));
    let _ = writeln!(s, "- benchmark wall time: {:.0} s\n", r.total_secs);

    s.push_str("## Wall time\n\n![time against N](performance.svg)\n\n");
    s.push_str(&table_wall(r));
    s.push_str("\n## Targets (issue 8)\n\n");
    s.push_str(&table_targets(r));
    s.push_str("\n## Requests, processes, memory and CPU per phase\n\n");
    s.push_str(&table_detail(r));
    s.push_str("\n### API requests by route (identity_scim_user)\n\n");
    s.push_str(&table_routes(r));
    s.push_str("\n## Provider start-up\n\n");
    s.push_str(&table_startup(r));
    s.push_str("\n## Method\n\n");
    s.push_str(
        "- The benchmark copies the release `terraform-provider-identity` and `identity-sandbox` \
         to a temporary directory, starts the sandbox on `127.0.0.1:0`, points a `dev_overrides` CLI \
         configuration at the copy and sets `IDENTITY_SCIM_URL`, `IDENTITY_SCIM_CLIENT_ID` and \
         `IDENTITY_SCIM_CLIENT_SECRET` (client-credentials token from the sandbox's OAuth2 endpoint).\n\
         - Per N and configuration, in a fresh directory: `terraform apply -auto-approve`, then \
         `terraform plan -detailed-exitcode` (with refresh; exit code 0 means the plan was empty), then \
         `terraform destroy -auto-approve`. Wall time is from spawn to exit of the terraform process.\n\
         - API requests: the difference of `GET /_sandbox/stats` (`total`, `by_route`) before and after \
         each command. Token requests are `POST /oci/oauth2/v1/token`.\n\
         - Provider peak RSS: a thread scans `/proc` every 20 ms for processes whose executable is the \
         provider binary and keeps the highest `VmHWM` of each; terraform's own peak the same way. \
         Processes that live less than 20 ms may be missed.\n\
         - CPU: terraform+provider is the `cutime + cstime` growth of the benchmark process (terraform \
         and the providers it waited for); provider CPU is the sum of each provider process's last \
         sampled `utime + stime` (a lower bound); sandbox CPU from its `/proc/<pid>/stat`. The sandbox, \
         terraform and the provider share the machine's CPUs.\n\
         - Start-up: exec-to-handshake as in `benches/handshake.rs`; GetProviderSchema with a tonic \
         client over mutual TLS, like Terraform (and `tests/it/protocol.rs`); \
         `terraform providers schema -json` is a proxy that includes Terraform's own start-up.\n",
    );
    s.push_str("\n## Re-run\n\n");
    let _ = writeln!(
        s,
        "```sh\n{RERUN}                      # N = 100, 1000, 5000; writes this page and performance.svg\nSCALE_NS=100,1000 {RERUN}    # other sizes\nSCALE_WRITE_DOCS=0 {RERUN}   # print only\n```\n"
    );
    s.push_str(
        "Other knobs: `SCALE_REPEATS` (runs per configuration; default 2 up to N=1000, 1 above), \
         `SCALE_KEEP=1` (keep the workspaces and terraform output), `SCALE_TIMEOUT_SECS`, `TERRAFORM`.\n",
    );
    s.push_str("\n## All runs\n\n");
    s.push_str(&table_all_runs(r));
    s
}

fn render_svg(r: &Report) -> Result<String> {
    use plotters::prelude::*;

    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (1000, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let (left, right) = root.split_horizontally(500);
        let x_max = r.ns.iter().copied().max().unwrap_or(1) as f64 * 1.05;
        for (area, phase, title) in [(left, Phase::Apply, "apply"), (right, Phase::Plan, "plan (with refresh)")] {
            let series = |kind: Kind| -> Vec<(f64, f64)> {
                r.ns.iter().filter_map(|&n| r.best(kind, n, phase).map(|x| (n as f64, x.wall))).collect()
            };
            let lines = [
                ChartLine { label: "identity_scim_user", points: series(Kind::Scim), color: RGBColor(31, 119, 180), dashed: false },
                ChartLine {
                    label: "terraform_data (core only)",
                    points: series(Kind::Baseline),
                    color: RGBColor(110, 110, 110),
                    dashed: true,
                },
            ];
            draw_chart(&area, &format!("{title}: wall time against N"), "resources (N)", x_max, &lines)?;
        }
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(buf)
}

/// One line of a chart: solid with filled points, or dashed with hollow ones.
struct ChartLine<'a> {
    label: &'a str,
    points: Vec<(f64, f64)>,
    color: plotters::style::RGBColor,
    dashed: bool,
}

/// Draws `lines` (seconds against `x_desc`, from 0 to `x_max`) with a legend on `area`.
fn draw_chart(
    area: &plotters::drawing::DrawingArea<plotters::backend::SVGBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    x_desc: &str,
    x_max: f64,
    lines: &[ChartLine<'_>],
) -> Result<()> {
    use plotters::prelude::*;
    let y_max = lines.iter().flat_map(|l| l.points.iter()).map(|p| p.1).fold(0.0, f64::max).max(0.1) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(52)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("seconds")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    for line in lines {
        let color = line.color;
        let legend = move |(x, y): (i32, i32)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2));
        if line.dashed {
            chart
                .draw_series(DashedLineSeries::new(line.points.clone(), 6, 4, color.stroke_width(2)))
                .map_err(|e| anyhow!("{e}"))?
                .label(line.label)
                .legend(legend);
            chart.draw_series(line.points.iter().map(|&p| Circle::new(p, 4, color.stroke_width(2)))).map_err(|e| anyhow!("{e}"))?;
        } else {
            chart
                .draw_series(LineSeries::new(line.points.clone(), color.stroke_width(2)))
                .map_err(|e| anyhow!("{e}"))?
                .label(line.label)
                .legend(legend);
            chart.draw_series(line.points.iter().map(|&p| Circle::new(p, 4, color.filled()))).map_err(|e| anyhow!("{e}"))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}
