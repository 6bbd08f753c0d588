//! Refresh at the speed of Terraform, not of the API (issue 21): the refresh-plan of
//! `identity_scim_user` resources measured in one run
//! - at 0, 50 and 150 ms of API latency per request (the sandbox's `delay_ms` fault
//!   setting), with `batch_reads` on (batched reads, and the prefetching listing) and off
//!   (one request per resource, as the Go identity providers read);
//! - at 50 ms under a per-second rate limit (the sandbox's `rate_limit`), counting 429s;
//! - with the identity domain grown to 10,000 and then 50,000 users by direct SCIM
//!   requests (the provider's peak RSS: the listing is capped at 10,000 users);
//! - for one group of 10,000 members, imported into a workspace of its own.
//!
//! Part of `cargo bench --bench scale`, which writes `benches/performance-refresh.md` and
//! `benches/performance-refresh.svg` from it (`SCALE_REFRESH=0` leaves it out,
//! `SCALE_ONLY=refresh` runs only this part). Nothing here asserts a timing.

use super::{ChartLine, Sampler, Sandbox, Terraform, draw_chart, mb, tail};

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

/// API latencies measured, in ms per request.
const LATENCIES_MS: [u64; 3] = [0, 50, 150];
/// The rate limit of the rate-limited runs, in requests per second.
const RATE_LIMIT: f64 = 20.0;
/// The latency of the rate-limited runs, in ms.
const RATE_LIMITED_LATENCY_MS: u64 = 50;
/// The domain sizes of the memory runs.
const DOMAIN_SIZES: [usize; 2] = [10_000, 50_000];
/// The members of the large group.
const GROUP_MEMBERS: usize = 10_000;
/// Direct SCIM requests in flight while the domain grows.
const SEED_CONCURRENCY: usize = 32;

/// Settings of this part.
pub(super) struct RefreshSettings {
    /// Resources in the refreshed workspace (`SCALE_REFRESH_N`, default 1000).
    pub n: usize,
    /// Runs per latency and mode; the best wall time is kept (`SCALE_REFRESH_REPEATS`, default 2).
    pub repeats: usize,
}

impl RefreshSettings {
    pub(super) fn from_env() -> Result<RefreshSettings> {
        let num = |k: &str, default: usize| -> Result<usize> {
            match std::env::var(k) {
                Ok(v) if !v.trim().is_empty() => Ok(v.trim().parse::<usize>().with_context(|| format!("{k}: {v:?}"))?.max(1)),
                _ => Ok(default),
            }
        };
        Ok(RefreshSettings { n: num("SCALE_REFRESH_N", 1000)?, repeats: num("SCALE_REFRESH_REPEATS", 2)? })
    }
}

/// One measured terraform command.
#[derive(Clone, Debug)]
pub(super) struct Run {
    pub case: String,
    pub latency_ms: u64,
    pub batching: bool,
    pub rate_limit: Option<f64>,
    /// SCIM users the domain held.
    pub domain: usize,
    pub wall: f64,
    pub requests: u64,
    pub tokens: u64,
    /// Requests answered 429 by the sandbox's rate limit.
    pub rate_limited: u64,
    /// Unfiltered pages of `GET /Users` (the prefetching listing, and its size probe).
    pub listing_pages: u64,
    pub provider_hwm_kb: u64,
    pub exit_code: i32,
}

/// What this part measured.
pub(super) struct RefreshReport {
    pub n: usize,
    pub repeats: usize,
    pub apply: Run,
    pub latency: Vec<Run>,
    pub rate_limited: Vec<Run>,
    pub memory: Vec<Run>,
    pub group: Run,
}

impl RefreshReport {
    /// The best (fastest) run of a latency and mode.
    pub fn best(&self, latency_ms: u64, batching: bool) -> Option<&Run> {
        self.latency
            .iter()
            .filter(|r| r.latency_ms == latency_ms && r.batching == batching)
            .min_by(|a, b| a.wall.partial_cmp(&b.wall).unwrap_or(std::cmp::Ordering::Equal))
    }
}

impl Sandbox {
    fn post_json(&self, path: &str, body: &Value, bearer: Option<&str>) -> Result<Value> {
        let url = format!("{}{path}", self.url);
        let (status, text) = self.rt.block_on(async {
            let mut req = self.http.post(&url).json(body);
            if let Some(t) = bearer {
                req = req.bearer_auth(t);
            }
            let resp = req.send().await?;
            let status = resp.status();
            Ok::<_, anyhow::Error>((status, resp.text().await?))
        })?;
        if !status.is_success() {
            bail!("POST {path}: {status}: {text}");
        }
        Ok(if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text)? })
    }

    /// Sets the sandbox's fault settings (`POST /_sandbox/faults`).
    fn faults(&self, settings: Value) -> Result<()> {
        self.post_json("/_sandbox/faults", &settings, None).map(drop)
    }

    /// The `rate_limited` counter of `GET /_sandbox/faults`.
    fn rate_limited(&self) -> Result<u64> {
        Ok(self.get_json("/_sandbox/faults")?["rate_limited"].as_u64().unwrap_or(0))
    }

    /// The logged requests (`GET /_sandbox/requests`).
    fn requests(&self) -> Result<Vec<Value>> {
        match self.get_json("/_sandbox/requests")? {
            Value::Array(a) => Ok(a),
            Value::Object(mut o) => match o.remove("requests") {
                Some(Value::Array(a)) => Ok(a),
                _ => bail!("/_sandbox/requests answered no list"),
            },
            other => bail!("/_sandbox/requests answered {other}"),
        }
    }

    /// Creates `count` SCIM users directly (not through Terraform), `SEED_CONCURRENCY` at
    /// a time; returns their ids.
    fn create_users(&self, prefix: &str, count: usize) -> Result<Vec<String>> {
        use futures_util::stream::{StreamExt, TryStreamExt};
        let token = identity_provider::sandbox::DEFAULT_SCIM_STATIC_TOKEN;
        let url = format!("{}/oci/admin/v1/Users", self.url);
        self.rt.block_on(async {
            futures_util::stream::iter(0..count)
                .map(|i| {
                    let body = json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": format!("{prefix}-{i}@example.com"),
                        "name": {"givenName": "Seeded", "familyName": format!("User {i}")},
                        "emails": [{"value": format!("{prefix}-{i}@example.com"), "type": "work", "primary": true}],
                    });
                    let req = self.http.post(&url).bearer_auth(token).json(&body);
                    async move {
                        let resp = req.send().await?;
                        let status = resp.status();
                        let v: Value = resp.json().await?;
                        v["id"].as_str().map(str::to_string).ok_or_else(|| anyhow!("creating a user answered {status}: {v}"))
                    }
                })
                .buffer_unordered(SEED_CONCURRENCY)
                .try_collect()
                .await
        })
    }
}

/// Runs `terraform <args>` in `dir` and measures it (requests, 429s, listing pages, the
/// provider's peak RSS).
#[allow(clippy::too_many_arguments)]
fn measure(
    tf: &Terraform,
    sb: &Sandbox,
    provider: &Path,
    terraform: &Path,
    dir: &Path,
    args: &[&str],
    stem: &str,
    case: &str,
    latency_ms: u64,
    batching: bool,
    rate_limit: Option<f64>,
    domain: usize,
) -> Result<Run> {
    let (total0, routes0) = sb.stats()?;
    let limited0 = sb.rate_limited()?;
    let sampler = Sampler::start(provider.to_path_buf(), terraform.to_path_buf());
    let (wall, code) = tf.run(dir, args, stem)?;
    let sampled = sampler.stop();
    let (total1, routes1) = sb.stats()?;
    let limited1 = sb.rate_limited()?;
    let logged = sb.requests()?;
    let ok = if args.first() == Some(&"plan") { code == 0 || code == 2 } else { code == 0 };
    if !ok {
        let err = std::fs::read_to_string(dir.join(format!("{stem}.err"))).unwrap_or_default();
        bail!(
            "`terraform {}` ({case}) failed with exit code {code} in {}\n{}\n{}",
            args.join(" "),
            dir.display(),
            tail(&err, 40),
            sb.log_tail()
        );
    }
    let route = |m: &std::collections::BTreeMap<String, u64>, r: &str| m.get(r).copied().unwrap_or(0);
    // The log keeps the latest 10,000 requests: this command's are its last `requests`.
    let requests = total1.saturating_sub(total0);
    let listing_pages = logged[logged.len().saturating_sub(requests as usize)..]
        .iter()
        .filter(|r| {
            r["method"] == "GET" && r["path"] == "/oci/admin/v1/Users" && !r["query"].as_str().unwrap_or_default().contains("filter")
        })
        .count() as u64;
    let run = Run {
        case: case.to_string(),
        latency_ms,
        batching,
        rate_limit,
        domain,
        wall: wall.as_secs_f64(),
        requests,
        tokens: route(&routes1, super::TOKEN_ROUTE).saturating_sub(route(&routes0, super::TOKEN_ROUTE)),
        rate_limited: limited1.saturating_sub(limited0),
        listing_pages,
        provider_hwm_kb: sampled.provider.values().map(|p| p.hwm_kb).max().unwrap_or(0),
        exit_code: code,
    };
    eprintln!(
        "[scale] refresh {case:<34} {:>7.2} s  api {:>5}  429s {:>4}  listing pages {:>3}  provider RSS {:>6.1} MB  exit {code}",
        run.wall,
        run.requests,
        run.rate_limited,
        run.listing_pages,
        mb(run.provider_hwm_kb)
    );
    Ok(run)
}

fn workspace_config(n: usize) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    identity = {{ source = "idfabric/identity" }}
  }}
}}

variable "batch_reads" {{
  type    = bool
  default = true
}}

provider "identity" {{
  scim = {{ batch_reads = var.batch_reads }}
}}

resource "identity_scim_user" "u" {{
  count     = {n}
  user_name = "user-${{count.index}}@example.com"
}}
"#
    )
}

fn group_config(id: &str) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    identity = {{ source = "idfabric/identity" }}
  }}
}}

provider "identity" {{}}

import {{
  to = identity_scim_group.big
  id = "{id}"
}}

resource "identity_scim_group" "big" {{
  display_name = "big"
  members      = jsondecode(file("${{path.module}}/members.json"))
}}
"#
    )
}

/// Runs this part with a sandbox of its own.
pub(super) fn run(base: &Terraform, sandbox_bin: &Path, provider: &Path, terraform: &Path, tmp: &Path) -> Result<RefreshReport> {
    let settings = RefreshSettings::from_env()?;
    let n = settings.n;
    let sb = Sandbox::start(sandbox_bin)?;
    let tf = Terraform {
        bin: base.bin.clone(),
        cli_config: base.cli_config.clone(),
        env: vec![
            ("IDENTITY_SCIM_URL".into(), format!("{}/oci/admin/v1", sb.url)),
            ("IDENTITY_SCIM_CLIENT_ID".into(), super::SCIM_CLIENT_ID.into()),
            ("IDENTITY_SCIM_CLIENT_SECRET".into(), super::SCIM_CLIENT_SECRET.into()),
        ],
        timeout: base.timeout,
    };
    let dir: PathBuf = tmp.join(format!("refresh-{n}"));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("main.tf"), workspace_config(n))?;
    let seeded = sb.scim_user_count()?;

    let apply = measure(&tf, &sb, provider, terraform, &dir, &["apply", "-auto-approve"], "apply", "apply", 0, true, None, seeded + n)?;
    let domain = seeded + n;

    let mut latency = Vec::new();
    for latency_ms in LATENCIES_MS {
        sb.faults(json!({"rate": 0, "delay_ms": latency_ms}))?;
        for batching in [true, false] {
            for rep in 1..=settings.repeats {
                let var = format!("batch_reads={batching}");
                let case = format!("{latency_ms} ms, batching {}, rep {rep}", if batching { "on" } else { "off" });
                let args = ["plan", "-detailed-exitcode", "-var", var.as_str()];
                latency.push(measure(&tf, &sb, provider, terraform, &dir, &args, "plan", &case, latency_ms, batching, None, domain)?);
            }
        }
    }

    let mut rate_limited = Vec::new();
    sb.faults(json!({"rate": 0, "delay_ms": RATE_LIMITED_LATENCY_MS, "rate_limit": RATE_LIMIT}))?;
    for batching in [true, false] {
        let var = format!("batch_reads={batching}");
        let case = format!("{RATE_LIMITED_LATENCY_MS} ms, {RATE_LIMIT} req/s, batching {}", if batching { "on" } else { "off" });
        let args = ["plan", "-detailed-exitcode", "-var", var.as_str()];
        rate_limited.push(measure(
            &tf,
            &sb,
            provider,
            terraform,
            &dir,
            &args,
            "plan",
            &case,
            RATE_LIMITED_LATENCY_MS,
            batching,
            Some(RATE_LIMIT),
            domain,
        )?);
    }
    sb.faults(json!({"rate": 0}))?;

    // The domain grows behind Terraform's back; the workspace still refreshes its N users.
    let mut memory = Vec::new();
    let mut extra_ids = Vec::new();
    let mut have = domain;
    for size in DOMAIN_SIZES {
        if size > have {
            let started = std::time::Instant::now();
            extra_ids.extend(sb.create_users(&format!("seeded-{size}"), size - have)?);
            eprintln!("[scale] refresh: the domain grew from {have} to {size} users in {:.1} s", started.elapsed().as_secs_f64());
            have = size;
        }
        let case = format!("domain of {size} users");
        let args = ["plan", "-detailed-exitcode"];
        memory.push(measure(&tf, &sb, provider, terraform, &dir, &args, "plan", &case, 0, true, None, have)?);
    }

    // One group of GROUP_MEMBERS members, imported, then refreshed.
    if extra_ids.len() < GROUP_MEMBERS {
        extra_ids.extend(sb.create_users("member", GROUP_MEMBERS - extra_ids.len())?);
        have += GROUP_MEMBERS;
    }
    let members: Vec<Value> = extra_ids[..GROUP_MEMBERS].iter().map(|id| json!({"value": id, "type": "User"})).collect();
    let group = sb.post_json(
        "/oci/admin/v1/Groups",
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "big", "members": members}),
        Some(identity_provider::sandbox::DEFAULT_SCIM_STATIC_TOKEN),
    )?;
    let gid = group["id"].as_str().ok_or_else(|| anyhow!("creating the group answered {group}"))?.to_string();
    let gdir = tmp.join("refresh-group");
    std::fs::create_dir_all(&gdir)?;
    std::fs::write(gdir.join("members.json"), serde_json::to_string(&extra_ids[..GROUP_MEMBERS])?)?;
    std::fs::write(gdir.join("main.tf"), group_config(&gid))?;
    measure(&tf, &sb, provider, terraform, &gdir, &["apply", "-auto-approve"], "apply", "import a group of 10,000", 0, true, None, have)?;
    let group = measure(
        &tf,
        &sb,
        provider,
        terraform,
        &gdir,
        &["plan", "-detailed-exitcode"],
        "plan",
        "a group of 10,000 members",
        0,
        true,
        None,
        have,
    )?;

    Ok(RefreshReport { n, repeats: settings.repeats, apply, latency, rate_limited, memory, group })
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// `benches/performance-refresh.md`; `run` describes the machine and the run.
pub(super) fn markdown(r: &RefreshReport, run: &str) -> String {
    let mut s = String::new();
    let n = r.n;
    s.push_str("# Refresh under API latency\n\n");
    s.push_str(
        "Generated by `cargo bench --bench scale` (`benches/scale.rs`, `benches/scale/refresh.rs`; \
         `SCALE_ONLY=refresh` runs only this part); the figures change from run to run. The rest of the \
         scale benchmark: [performance.md](performance.md).\n\n",
    );
    s.push_str(run);
    s.push_str("\n## Wall time and requests\n\n");
    let _ = writeln!(
        s,
        "A workspace of {n} `identity_scim_user`, refreshed with `terraform plan` (default `-parallelism`, 10) while every \
         request to the sandbox waits the latency given (`delay_ms`), with `batch_reads` on (the default: batched reads, and \
         the listing of every user once the refresh has read one user for every 50 in the domain, every 5 above 2,000 users) and off (one request per \
         resource). Best of {} runs each.\n",
        r.repeats
    );
    s.push_str("![refresh wall time against API latency](performance-refresh.svg)\n\n");
    s.push_str("| API latency | batching | wall (s) | requests | listing pages | tokens | provider peak RSS (MB) | plan exit |\n");
    s.push_str("|---:|---|---:|---:|---:|---:|---:|---:|\n");
    for latency in LATENCIES_MS {
        for batching in [true, false] {
            if let Some(x) = r.best(latency, batching) {
                let _ = writeln!(
                    s,
                    "| {latency} ms | {} | {:.2} | {} | {} | {} | {:.1} | {} |",
                    on_off(batching),
                    x.wall,
                    x.requests,
                    x.listing_pages,
                    x.tokens,
                    mb(x.provider_hwm_kb),
                    x.exit_code
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\nThe apply that created the {n} users: {:.2} s, {} requests ({:.2} per user).\n",
        r.apply.wall,
        r.apply.requests,
        r.apply.requests as f64 / n as f64
    );

    s.push_str("## Under a rate limit\n\n");
    let _ = writeln!(
        s,
        "The same refresh at {RATE_LIMITED_LATENCY_MS} ms with the sandbox limiting requests to {RATE_LIMIT} a second (a bucket of one \
         second's worth; beyond it 429 with `Retry-After: 1`). The provider has no `max_requests_per_second` set: it learns the \
         limit from the 429s.\n"
    );
    s.push_str("| rate limit | batching | wall (s) | requests | 429s | plan exit |\n|---:|---|---:|---:|---:|---:|\n");
    for x in &r.rate_limited {
        let limit = x.rate_limit.map_or("none".to_string(), |l| format!("{l} req/s"));
        let _ = writeln!(s, "| {limit} | {} | {:.2} | {} | {} | {} |", on_off(x.batching), x.wall, x.requests, x.rate_limited, x.exit_code);
    }

    s.push_str("\n## A large domain, and a large group\n\n");
    let _ = writeln!(
        s,
        "The domain grown by direct SCIM requests while the workspace still manages its {n} users: a domain above 2,000 users is \
         listed only once the refresh has read one user in 5, and one above 10,000 users never, so the provider's memory stays \
         bounded. Then one group of {GROUP_MEMBERS} members, \
         imported into a workspace of its own and refreshed.\n"
    );
    s.push_str("| case | users in the domain | wall (s) | requests | listing pages | provider peak RSS (MB) | plan exit |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for x in r.memory.iter().chain(std::iter::once(&r.group)) {
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} | {} | {} | {:.1} | {} |",
            x.case,
            x.domain,
            x.wall,
            x.requests,
            x.listing_pages,
            mb(x.provider_hwm_kb),
            x.exit_code
        );
    }

    s.push_str("\n## Targets (issue 21)\n\n| target | measured | met |\n|---|---|---|\n");
    let best = |l, b| r.best(l, b);
    if let (Some(on0), Some(on50), Some(off50)) = (best(0, true), best(50, true), best(50, false)) {
        let ratio = on50.wall / on0.wall.max(1e-9);
        let _ = writeln!(
            s,
            "| refresh of {n} users at 50 ms within 1.5x of 0 ms | {:.2} s vs {:.2} s: {ratio:.2}x | {} |",
            on50.wall,
            on0.wall,
            yes(ratio <= 1.5)
        );
        let speedup = off50.wall / on50.wall.max(1e-9);
        let _ = writeln!(
            s,
            "| at least 3x faster than batching off at 50 ms | {:.2} s vs {:.2} s: {speedup:.1}x | {} |",
            on50.wall,
            off50.wall,
            yes(speedup >= 3.0)
        );
        let _ = writeln!(s, "| at most 30 requests for that refresh | {} | {} |", on50.requests, yes(on50.requests <= 30));
    }
    let _ = writeln!(
        s,
        "| a group of 10,000 members refreshes in at most 20 requests | {} | {} |",
        r.group.requests,
        yes(r.group.requests <= 20)
    );
    if let Some(big) = r.memory.iter().find(|x| x.domain >= 50_000) {
        let _ = writeln!(
            s,
            "| provider peak RSS under 50 MB with a 50,000-user collection | {:.1} MB | {} |",
            mb(big.provider_hwm_kb),
            yes(mb(big.provider_hwm_kb) < 50.0)
        );
    }
    let _ = writeln!(
        s,
        "| apply unchanged, 1 request per user | {:.2} requests per user | {} |",
        r.apply.requests as f64 / n as f64,
        yes(r.apply.requests as f64 / n as f64 <= 1.05)
    );
    s.push_str(
        "\n## Method\n\n\
         - One sandbox for this part. The workspace's users are created by `terraform apply`; the domain's other users and \
         the group by direct SCIM requests (`POST /Users`, `POST /Groups`), 32 at a time.\n\
         - Latency: the sandbox's fault setting `delay_ms` makes every vendor request wait that long before it is handled; \
         the rate limit is its `rate_limit` setting. Both are set with `POST /_sandbox/faults` between runs.\n\
         - Requests: the growth of `GET /_sandbox/stats` `total` (token requests included); listing pages: the \
         unfiltered `GET /Users` in the request log (the prefetching listing and its size probe); 429s: the growth of \
         `rate_limited` in `GET /_sandbox/faults`.\n\
         - Provider peak RSS: the highest `VmHWM` of the provider processes, sampled from `/proc` every 20 ms.\n\
         - `batch_reads` is set through a variable in the provider block (`-var batch_reads=false`); provider \
         configuration is not in the state, so both modes refresh the same state.\n\n\
         ## Re-run\n\n```sh\ncargo bench --bench scale                       # everything, this page included\n\
         SCALE_ONLY=refresh cargo bench --bench scale    # only this page\n```\n\n\
         Knobs: `SCALE_REFRESH_N` (users in the workspace, default 1000), `SCALE_REFRESH_REPEATS` (runs per latency and \
         mode, default 2), `SCALE_WRITE_DOCS=0` (print only).\n",
    );
    s
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// `benches/performance-refresh.svg`: wall time against latency, batching on and off.
pub(super) fn svg(r: &RefreshReport) -> Result<String> {
    use plotters::prelude::*;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (640, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let series = |batching: bool| -> Vec<(f64, f64)> {
            LATENCIES_MS.iter().filter_map(|&l| r.best(l, batching).map(|x| (l as f64, x.wall))).collect()
        };
        let lines = [
            ChartLine { label: "batch_reads = true (default)", points: series(true), color: RGBColor(31, 119, 180), dashed: false },
            ChartLine {
                label: "batch_reads = false (one request per resource)",
                points: series(false),
                color: RGBColor(230, 120, 20),
                dashed: true,
            },
        ];
        let x_max = *LATENCIES_MS.last().unwrap_or(&150) as f64 * 1.05;
        let caption = format!("refresh-plan of {} users: wall time against API latency", r.n);
        draw_chart(&root, &caption, "API latency per request (ms)", x_max, &lines)?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(buf)
}
