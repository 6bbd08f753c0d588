//! `identity-sandbox`: one local HTTP server that emulates the vendor APIs the provider
//! manages, for the tests and the quickstart.
//!
//! Layout:
//! - [`store`]: the shared state (vendor data, stats, request log) and `--data` persistence
//! - [`control`]: the `/_sandbox/` control plane and the request recorder
//! - [`faults`]: fault injection for vendor requests (`/_sandbox/faults`)
//! - [`runai`]: Run:ai `/runai/api/v1/idps`
//! - [`saml_fetch`]: the only request the sandbox sends, Run:ai's `metadataXmlUrl` fetch,
//!   and what confines it (itself and `--saml-metadata-allow` hosts only, no redirects,
//!   capped, short timeout, certificates checked)
//! - [`fudo`]: Fudo `/fudo/api/v2/user/oidc`
//! - [`tls`]: `--tls`, HTTPS with a generated certificate
//! - [`landscape`]: Landscape `/landscape/api/v2/oidc/groups` (import sessions, staged groups)
//! - [`scim`]: OCI IAM `/oci` (OAuth2 token endpoint, SCIM 2.0 Users, Groups, Bulk,
//!   UserPasswordChanger), one file per concern
//!
//! The unit tests drive the router in process through one shared test client
//! (`test_client`: requests with each vendor's credentials, the control plane).
//!
//! Embedding in a test:
//! ```no_run
//! # async fn t() -> anyhow::Result<()> {
//! use identity_provider::sandbox::{self, SandboxConfig};
//! let sb = sandbox::spawn(SandboxConfig::default()).await?;
//! let runai_url = format!("{}/runai", sb.url); // the provider's `runai.url`
//! # Ok(()) }
//! ```
//!
//! Exposure: the demo credentials are public and the control plane has no authentication,
//! so `identity-sandbox` warns loudly when it listens beyond loopback
//! ([`exposure_warnings`]); `GET /_sandbox/state` masks credentials; `--data FILE` is
//! written with mode 0600.

pub mod control;
pub mod faults;
pub mod fudo;
pub mod landscape;
pub mod runai;
pub mod saml_fetch;
pub mod scim;
pub mod store;
pub mod tls;

#[cfg(test)]
mod faults_tests;
#[cfg(test)]
mod hardening_tests;
#[cfg(test)]
mod test_client;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use axum::Router;
use axum::http::{HeaderMap, Uri, header};
use axum::middleware;
use tokio::net::TcpListener;

pub use store::{AppState, LogEntry, SandboxData, SharedState, Stats};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_RUNAI_TOKEN: &str = "sandbox-runai-token";
pub const DEFAULT_RUNAI_READONLY_TOKEN: &str = "sandbox-runai-readonly";
pub const DEFAULT_FUDO_API_KEY: &str = "sandbox-fudo-key";
pub const DEFAULT_SCIM_CLIENT_ID: &str = "sandbox-client";
pub const DEFAULT_SCIM_CLIENT_SECRET: &str = "sandbox-secret";
pub const DEFAULT_SCIM_USERNAME: &str = "admin";
pub const DEFAULT_SCIM_PASSWORD: &str = "Sandbox-Passw0rd!";
pub const DEFAULT_SCIM_STATIC_TOKEN: &str = scim::DEFAULT_STATIC_TOKEN;
pub const DEFAULT_SCIM_TOKEN_TTL_SECS: u64 = scim::DEFAULT_TOKEN_TTL_SECS;
pub const DEFAULT_LANDSCAPE_TOKEN: &str = "sandbox-landscape-jwt";
pub const DEFAULT_MAPPER_DELAY_MS: u64 = 300;
/// OCI IAM's limit on the group members of one answer (`--scim-max-members`).
pub const DEFAULT_SCIM_MAX_MEMBERS: usize = 10_000;

/// Everything the sandbox is configured with (the CLI flags other than `--listen`).
/// `Default` gives the documented demo credentials, in-memory state and a 300 ms mapper delay.
#[derive(Clone, clap::Args)]
pub struct SandboxConfig {
    /// Persist all vendor state to this JSON file (atomic write-rename after every change);
    /// loaded at start when it exists. Without it, state lives in memory.
    #[arg(long = "data", value_name = "FILE")]
    pub data: Option<PathBuf>,

    /// Bearer token the Run:ai API accepts.
    #[arg(long, value_name = "TOKEN", default_value = DEFAULT_RUNAI_TOKEN)]
    pub runai_token: String,

    /// Read-only bearer token for the Run:ai API: GET requests succeed, any write (POST,
    /// PUT, DELETE) answers 403 {"code":403,"message":"Forbidden","details":...}.
    #[arg(long, value_name = "TOKEN", default_value = DEFAULT_RUNAI_READONLY_TOKEN)]
    pub runai_readonly_token: String,

    /// API key the Fudo API accepts (raw `Authorization` header).
    #[arg(long, value_name = "KEY", default_value = DEFAULT_FUDO_API_KEY)]
    pub fudo_api_key: String,

    /// OAuth2 client id of the OCI IAM (SCIM) token endpoint.
    #[arg(long, value_name = "ID", default_value = DEFAULT_SCIM_CLIENT_ID)]
    pub scim_client_id: String,

    /// OAuth2 client secret of the OCI IAM (SCIM) token endpoint.
    #[arg(long, value_name = "SECRET", default_value = DEFAULT_SCIM_CLIENT_SECRET)]
    pub scim_client_secret: String,

    /// User name for the SCIM password grant.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_SCIM_USERNAME)]
    pub scim_username: String,

    /// Password for the SCIM password grant.
    #[arg(long, value_name = "PASSWORD", default_value = DEFAULT_SCIM_PASSWORD)]
    pub scim_password: String,

    /// Lifetime (`expires_in`) of the access tokens the SCIM token endpoint issues, in s.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_SCIM_TOKEN_TTL_SECS)]
    pub scim_token_ttl_secs: u64,

    /// A bearer token the SCIM API always accepts (for the provider's static `token`).
    #[arg(long, value_name = "TOKEN", default_value = DEFAULT_SCIM_STATIC_TOKEN)]
    pub scim_static_token: String,

    /// A JWK Set (RFC 7517, `{"keys": [...]}`) whose public keys sign the JWTs the SCIM
    /// token endpoint accepts as assertions (RFC 7523, for workload identity): a client
    /// assertion instead of the client secret, or the
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` grant. Read at start; needs
    /// --scim-jwt-issuer and --scim-jwt-audience. Without it, assertions are refused.
    #[arg(
        long = "scim-jwks",
        value_name = "FILE",
        value_parser = scim::Jwks::from_file,
        requires_all = ["scim_jwt_issuer", "scim_jwt_audience"]
    )]
    pub scim_jwks: Option<scim::Jwks>,

    /// The issuer (`iss`) an assertion must name, e.g. `https://app.terraform.io` for HCP
    /// Terraform's workload identity tokens.
    #[arg(long, value_name = "ISS", requires = "scim_jwks")]
    pub scim_jwt_issuer: Option<String>,

    /// The audience an assertion's `aud` must hold (the identity domain).
    #[arg(long, value_name = "AUD", requires = "scim_jwks")]
    pub scim_jwt_audience: Option<String>,

    /// Accept each assertion once (by its `jti`, else the whole token), as issuers that
    /// refuse a replayed token do; a second use answers `invalid_client` /
    /// `invalid_grant`. OCI IAM does not document this, so it is off by default.
    #[arg(long)]
    pub scim_jwt_single_use: bool,

    /// Bearer token (JWT) the Landscape API accepts.
    #[arg(long, value_name = "TOKEN", default_value = DEFAULT_LANDSCAPE_TOKEN)]
    pub landscape_token: String,

    /// Do not maintain the optional `User.groups` attribute (RFC 7643 section 4.1.2 lets a
    /// SCIM server leave it out): users are rendered without `groups`, and filters on
    /// `groups.value` match nothing. Membership then shows only in the groups' `members`,
    /// as on SCIM servers that do not maintain it.
    #[arg(long)]
    pub scim_no_user_groups: bool,

    /// The most group members one SCIM GET or search answer may hold; a larger answer is
    /// refused with 400, as OCI IAM refuses group reads of more than 10,000 members.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SCIM_MAX_MEMBERS)]
    pub scim_max_members: usize,

    /// Delay before a Run:ai `PUT .../mappers` (answered 202) becomes visible to reads.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAPPER_DELAY_MS)]
    pub mapper_delay_ms: u64,

    /// How long a Landscape OIDC group import session stays IN_PROGRESS, in ms, before it
    /// ends COMPLETED (or FAILED for issuer 124).
    #[arg(long, value_name = "N", default_value_t = landscape::DEFAULT_IMPORT_MS)]
    pub landscape_import_ms: u64,

    /// How long an import session of the slow Landscape issuer 125 stays IN_PROGRESS, in ms.
    #[arg(long, value_name = "N", default_value_t = landscape::DEFAULT_SLOW_IMPORT_MS)]
    pub landscape_slow_import_ms: u64,

    /// A host the Run:ai SAML `metadataXmlUrl` fetch may reach besides the sandbox itself
    /// (repeatable): `HOST` for every port of it, `HOST:PORT` (`[ADDR]:PORT` for IPv6)
    /// for one. Without it, only the sandbox's own address is fetched from.
    #[arg(long = "saml-metadata-allow", value_name = "HOST[:PORT]")]
    pub saml_metadata_allow: Vec<saml_fetch::AllowedHost>,

    /// Show the secrets `GET /_sandbox/state` holds in clear instead of masked (for tests
    /// that check what a vendor received; warned about at start).
    #[arg(long)]
    pub unmask_state: bool,

    /// Record whole exchanges in `GET /_sandbox/requests`: with each vendor request, the
    /// size of its body (`body_bytes`) and its answer (`response`: content type, size, JSON
    /// body with secrets masked), for contract tests. Off by default: answers can be large.
    #[arg(long)]
    pub record_responses: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            data: None,
            runai_token: DEFAULT_RUNAI_TOKEN.to_string(),
            runai_readonly_token: DEFAULT_RUNAI_READONLY_TOKEN.to_string(),
            fudo_api_key: DEFAULT_FUDO_API_KEY.to_string(),
            scim_client_id: DEFAULT_SCIM_CLIENT_ID.to_string(),
            scim_client_secret: DEFAULT_SCIM_CLIENT_SECRET.to_string(),
            scim_username: DEFAULT_SCIM_USERNAME.to_string(),
            scim_password: DEFAULT_SCIM_PASSWORD.to_string(),
            scim_token_ttl_secs: DEFAULT_SCIM_TOKEN_TTL_SECS,
            scim_static_token: DEFAULT_SCIM_STATIC_TOKEN.to_string(),
            scim_jwks: None,
            scim_jwt_issuer: None,
            scim_jwt_audience: None,
            scim_jwt_single_use: false,
            landscape_token: DEFAULT_LANDSCAPE_TOKEN.to_string(),
            scim_no_user_groups: false,
            scim_max_members: DEFAULT_SCIM_MAX_MEMBERS,
            mapper_delay_ms: DEFAULT_MAPPER_DELAY_MS,
            landscape_import_ms: landscape::DEFAULT_IMPORT_MS,
            landscape_slow_import_ms: landscape::DEFAULT_SLOW_IMPORT_MS,
            saml_metadata_allow: Vec::new(),
            unmask_state: false,
            record_responses: false,
        }
    }
}

impl std::fmt::Debug for SandboxConfig {
    /// Credentials are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("data", &self.data)
            .field("scim_client_id", &self.scim_client_id)
            .field("scim_username", &self.scim_username)
            .field("scim_jwks", &self.scim_jwks)
            .field("scim_jwt_issuer", &self.scim_jwt_issuer)
            .field("scim_jwt_audience", &self.scim_jwt_audience)
            .field("scim_jwt_single_use", &self.scim_jwt_single_use)
            .field("scim_no_user_groups", &self.scim_no_user_groups)
            .field("scim_max_members", &self.scim_max_members)
            .field("mapper_delay_ms", &self.mapper_delay_ms)
            .field("saml_metadata_allow", &self.saml_metadata_allow)
            .field("unmask_state", &self.unmask_state)
            .field("record_responses", &self.record_responses)
            .finish_non_exhaustive()
    }
}

/// The whole HTTP surface: vendor routes, control plane, JSON fallbacks, and the recorder
/// that counts and logs vendor requests.
pub fn router(state: SharedState) -> Router {
    Router::new()
        .merge(runai::routes(state.clone()))
        .merge(fudo::routes(state.clone()))
        .merge(landscape::routes(state.clone()))
        .merge(scim::routes(state.clone()))
        .merge(control::routes())
        // Both fallbacks must come after every route is added (axum applies the 405
        // fallback to the routes present at the time of the call).
        .method_not_allowed_fallback(control::method_not_allowed)
        .fallback(control::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), control::record))
        .with_state(state)
}

/// `http://` + the authority the client addressed (HTTP/2 `:authority` or the `Host`
/// header); `http://localhost` when neither is usable.
pub(crate) fn base_url(headers: &HeaderMap, uri: &Uri) -> String {
    let host = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string))
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_')))
        .unwrap_or_else(|| "localhost".to_string());
    format!("http://{host}")
}

/// Serves `config` on `listener` until the process ends.
pub async fn serve(config: SandboxConfig, listener: TcpListener) -> anyhow::Result<()> {
    serve_with_shutdown(config, listener, std::future::pending()).await
}

/// Serves `config` on `listener` until `shutdown` completes (then drains gracefully).
pub async fn serve_with_shutdown(
    config: SandboxConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::new(config)?;
    serve_state(state, listener, shutdown).await
}

/// Serves an existing state (lets a caller keep a handle on it).
pub async fn serve_state(
    state: SharedState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        state.set_own_address(addr, None);
    }
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await.context("sandbox server failed")
}

/// What the `identity-sandbox` binary does: bind `listen`, load the state, warn on stderr
/// when the address is reachable beyond this machine ([`exposure_warnings`]), print the
/// one stdout line `listening on http://ADDR`, then serve until Ctrl-C or SIGTERM.
pub async fn run(listen: &str, config: SandboxConfig) -> anyhow::Result<()> {
    run_with_tls(listen, config, &tls::TlsOptions::default()).await
}

/// [`run`], over HTTPS when `tls.tls` is set: the CA certificate is written to
/// `tls.tls_cert_out` first, then the line reads `listening on https://ADDR`.
pub async fn run_with_tls(listen: &str, config: SandboxConfig, tls: &tls::TlsOptions) -> anyhow::Result<()> {
    use std::io::Write as _;

    let listener = TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr().context("local address")?;
    emit_warnings(&exposure_warnings(addr, &config), &mut std::io::stderr().lock());
    let state = AppState::new(config)?;
    let cert = if tls.tls {
        let cert = tls::generate(&tls::subject_alt_names(Some(addr), &tls.tls_sans))?;
        match &tls.tls_cert_out {
            Some(path) => tls::write_pem(path, &cert.ca_pem)?,
            None => {
                tracing::warn!("--tls without --tls-cert-out: clients cannot trust the generated certificate (pass --tls-cert-out FILE)")
            }
        }
        Some(cert)
    } else {
        None
    };
    let scheme = if cert.is_some() { "https" } else { "http" };
    state.set_own_address(addr, cert.as_ref().map(|c| c.ca_pem.clone()));
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {scheme}://{addr}").context("write stdout")?;
        out.flush().context("flush stdout")?;
    }
    tracing::info!(%addr, scheme, "identity-sandbox started");
    match cert {
        None => serve_state(state, listener, shutdown_signal()).await,
        Some(cert) => {
            let listener = tls::TlsListener::new(listener, cert.server_config).context("TLS listener")?;
            axum::serve(listener, router(state)).with_graceful_shutdown(shutdown_signal()).await.context("sandbox server failed")
        }
    }
}

/// Why the way the sandbox is started is risky, one sentence each (none for the usual
/// loopback setup): listening on an address that is not loopback (`0.0.0.0`, `::`, a LAN
/// address), where anyone who can reach it knows the demo credentials and can use the
/// unauthenticated control plane; and `--unmask-state`.
pub fn exposure_warnings(addr: SocketAddr, config: &SandboxConfig) -> Vec<String> {
    let mut warnings = Vec::new();
    if !addr.ip().to_canonical().is_loopback() {
        warnings.push(format!(
            "listening on {addr}, which is not a loopback address: other machines can reach this sandbox, its demo \
             credentials are public and its control plane (/_sandbox/state, /_sandbox/reset, /_sandbox/faults) has \
             no authentication; use --listen 127.0.0.1:PORT unless other machines must reach it"
        ));
    }
    if config.unmask_state {
        warnings.push("--unmask-state: GET /_sandbox/state shows client secrets in clear".to_string());
    }
    warnings
}

/// Gives each warning twice: as a `warn` log line (the sandbox's log format), and as a
/// plain `identity-sandbox: WARNING: ...` line written to `out` (stderr) whatever the log
/// filter, so that it cannot be filtered away.
pub fn emit_warnings(warnings: &[String], out: &mut dyn std::io::Write) {
    for warning in warnings {
        tracing::warn!("{warning}");
        let _ = writeln!(out, "identity-sandbox: WARNING: {warning}");
    }
    let _ = out.flush();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("identity-sandbox shutting down");
}

/// A sandbox running in the current tokio runtime on a free loopback port; stops when
/// dropped. For client and acceptance tests.
#[derive(Debug)]
pub struct RunningSandbox {
    /// `http://127.0.0.1:PORT` (no trailing slash); vendor URLs append `/runai` etc.
    pub url: String,
    pub addr: SocketAddr,
    /// The live state (stats, request log, data) for assertions.
    pub state: SharedState,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSandbox {
    /// The Run:ai base URL to configure a client with (`<url>/runai`).
    pub fn runai_url(&self) -> String {
        format!("{}{}", self.url, runai::PREFIX)
    }

    /// The Fudo base URL to configure a client with (`<url>/fudo`).
    pub fn fudo_url(&self) -> String {
        format!("{}{}", self.url, fudo::PREFIX)
    }

    /// The SCIM base URL to configure a client with (`<url>/oci/admin/v1`).
    pub fn scim_url(&self) -> String {
        format!("{}{}", self.url, scim::SCIM_BASE)
    }

    /// The OAuth2 token URL of the OCI emulation (`<url>/oci/oauth2/v1/token`).
    pub fn scim_token_url(&self) -> String {
        format!("{}{}", self.url, scim::TOKEN_PATH)
    }

    /// The Landscape base URL to configure a client with (`<url>/landscape`).
    pub fn landscape_url(&self) -> String {
        format!("{}{}", self.url, landscape::PREFIX)
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a sandbox on `127.0.0.1:0` in the background.
pub async fn spawn(config: SandboxConfig) -> anyhow::Result<RunningSandbox> {
    let listener = TcpListener::bind("127.0.0.1:0").await.context("bind 127.0.0.1:0")?;
    let addr = listener.local_addr().context("local address")?;
    let state = AppState::new(config)?;
    state.set_own_address(addr, None);
    let app = router(state.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "sandbox server failed");
        }
    });
    Ok(RunningSandbox { url: format!("http://{addr}"), addr, state, task })
}
