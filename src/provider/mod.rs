//! The `identity` provider: its configuration schema, and configuration into clients.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use regex::Regex;

use crate::http::HttpSettings;
use crate::http::{DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_RESPONSE_MB};
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{AttrPath, Attribute, DataSource, Diagnostic, Diagnostics, Provider, Resource, Schema, Value};
use crate::vendors::fudo::VENDOR as FUDO;
use crate::vendors::fudo::client::FudoClient;
use crate::vendors::landscape::VENDOR as LANDSCAPE;
use crate::vendors::landscape::client::LandscapeClient;
use crate::vendors::runai::VENDOR as RUNAI;
use crate::vendors::runai::client::RunaiClient;
use crate::vendors::scim::VENDOR as SCIM;
use crate::vendors::scim::client::{Grant, ScimAuth, ScimClient};
use crate::vendors::{VENDORS, Vendor};

pub const TYPE_NAME: &str = "identity";
/// The registry address used in examples, tests and the debug reattach line.
pub const REGISTRY_ADDRESS: &str = "registry.terraform.io/idfabric/identity";

/// The identity provider.
#[derive(Default)]
pub struct IdentityProvider;

/// What configuration produces: one client (or resolved settings) per vendor; an `Err`
/// says how to configure a vendor that is not.
pub struct ProviderData {
    runai: Result<RunaiClient, String>,
    fudo: Result<FudoSettings, String>,
    fudo_client: Result<FudoClient, String>,
    scim: Result<ScimSettings, String>,
    scim_client: Result<std::sync::Arc<ScimClient>, String>,
    landscape: Result<LandscapeSettings, String>,
    landscape_client: Result<LandscapeClient, String>,
    pub http: HttpSettings,
    /// Who manages which group's membership, in the plan being made (for warnings).
    pub membership_claims: crate::vendors::scim::membership_conflicts::MembershipClaims,
}

/// Fudo settings, resolved from the configuration and the environment.
#[derive(Clone)]
pub struct FudoSettings {
    pub url: String,
    pub api_key: String,
    pub ca_cert_pem: Option<String>,
    pub insecure_skip_verify: bool,
}

/// SCIM settings: a static token, or OAuth2 client credentials (or password grant).
#[derive(Clone)]
pub struct ScimSettings {
    pub url: String,
    pub token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub grant_type: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub scope: String,
    pub token_url: String,
    pub ca_cert_pem: Option<String>,
}

/// Landscape settings.
#[derive(Clone)]
pub struct LandscapeSettings {
    pub url: String,
    pub token: String,
}

fn not_configured(vendor: &str) -> impl Fn(&String) -> Diagnostics + '_ {
    move |why| Diagnostic::error(format!("{vendor} is not configured"), why.clone()).into()
}

impl ProviderData {
    /// The Run:ai client, or a diagnostic saying how to configure it.
    pub fn runai(&self) -> Result<&RunaiClient, Diagnostics> {
        self.runai.as_ref().map_err(not_configured("Run:ai"))
    }
    pub fn fudo(&self) -> Result<&FudoSettings, Diagnostics> {
        self.fudo.as_ref().map_err(not_configured("Fudo"))
    }
    /// The Fudo client (built from [`ProviderData::fudo`]), or how to configure it.
    pub fn fudo_client(&self) -> Result<&FudoClient, Diagnostics> {
        self.fudo_client.as_ref().map_err(not_configured("Fudo"))
    }
    pub fn scim(&self) -> Result<&ScimSettings, Diagnostics> {
        self.scim.as_ref().map_err(not_configured("SCIM"))
    }
    /// The SCIM client (one per provider process: its token cache is shared by every
    /// resource), or how to configure it.
    pub fn scim_client(&self) -> Result<&ScimClient, Diagnostics> {
        self.scim_client.as_deref().map_err(not_configured("SCIM"))
    }
    pub fn landscape(&self) -> Result<&LandscapeSettings, Diagnostics> {
        self.landscape.as_ref().map_err(not_configured("Landscape"))
    }
    /// The Landscape client (one connection pool per provider process), or how to
    /// configure it.
    pub fn landscape_client(&self) -> Result<&LandscapeClient, Diagnostics> {
        self.landscape_client.as_ref().map_err(not_configured("Landscape"))
    }
}

const UNKNOWN_UNTIL_APPLY: &str = "The settings are not known until apply (they depend on other resources).";

/// Where a setting missing from the configuration is looked up: the process environment
/// (tests pass a table instead, so they neither read nor race on the real one).
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, as an [`Env`].
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// An example of `scim.token_url`.
const TOKEN_URL_EXAMPLE: &str = "https://idcs-xxxx.identity.oraclecloud.com/oauth2/v1/token";

fn how_to(block: &str, pairs: &[(&str, &str)]) -> String {
    let list = pairs.iter().map(|(a, e)| format!("`{block}.{a}` (or {e})")).collect::<Vec<_>>().join(" and ");
    format!("Set {list} in the provider configuration.")
}

/// A vendor's required setting: Ok(None) when the whole vendor is absent.
fn require(
    block_name: &str,
    block: &Value,
    name: &str,
    var: &str,
    env: Env<'_>,
    diags: &mut Diagnostics,
    what: &str,
) -> Result<Option<String>, ()> {
    let v = setting(block, name, Some(var), env)?;
    if v.is_none() {
        diags.error_at(
            AttrPath::attrs(&[block_name, name]),
            format!("Missing {what}"),
            format!("`{block_name}.url` is set but `{block_name}.{name}` is not: set it, or the {var} environment variable."),
        );
    }
    Ok(v)
}

/// The rule of every URL setting: the `url` attributes' validator (plan time) and the
/// check of the same settings at configure time, where they may come from the
/// environment.
const URL_PATTERN: &str = r"^https?://[^\s/]+(/\S*)?$";
const URL_RULE: &str = "an http:// or https:// URL";

fn url_validator() -> Validator {
    Validator::matches(URL_PATTERN, URL_RULE)
}

/// What is wrong with a URL setting, as "not ...", or None: it follows [`URL_PATTERN`] and
/// reqwest can use it (so a bad port, say, is refused here rather than at apply).
fn url_problem(url: &str) -> Option<String> {
    static PATTERN: OnceLock<Option<Regex>> = OnceLock::new();
    let follows_rule = PATTERN.get_or_init(|| Regex::new(URL_PATTERN).ok()).as_ref().is_some_and(|re| re.is_match(url));
    if !follows_rule {
        return Some(format!("not {URL_RULE}"));
    }
    reqwest::Url::parse(url).err().map(|e| format!("not a valid URL: {e}"))
}

/// A URL as shown in a message: without its query and fragment, and with any user
/// information (`user:password@`) masked, whether or not it parses.
fn shown_url(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => url.to_string(),
    }
}

/// A URL setting (`block.attr`, else the environment variable `var`), checked by the same
/// rule as the attribute's validator: Ok(None) when it is not set; Err (with the reason
/// the vendor is unusable) when it is unknown or invalid, the latter with an error at the
/// attribute's path that names where the value came from.
fn url_setting(
    block_name: &str,
    block: &Value,
    attr: &str,
    var: Option<&str>,
    example: &str,
    env: Env<'_>,
    diags: &mut Diagnostics,
) -> Result<Option<String>, String> {
    let from_config = matches!(block.get(attr), Value::String(s) if !s.is_empty());
    let Some(url) = setting(block, attr, var, env).map_err(|()| UNKNOWN_UNTIL_APPLY.to_string())? else {
        return Ok(None);
    };
    let Some(problem) = url_problem(&url) else {
        return Ok(Some(url));
    };
    let shown = shown_url(&url);
    let path = AttrPath::attrs(&[block_name, attr]);
    match var.filter(|_| !from_config) {
        Some(var) => diags.error_at(
            path,
            format!("Invalid {var}"),
            format!("The environment variable {var} is {shown:?}, which is {problem} (e.g. {example})."),
        ),
        None => diags.error_at(
            path,
            format!("Invalid {block_name}.{attr}"),
            format!("`{block_name}.{attr}` is {shown:?}, which is {problem} (e.g. {example})."),
        ),
    }
    Err(format!("`{block_name}.{attr}` is not a valid URL."))
}

/// A vendor's `url` (or its environment variable), checked; see [`url_setting`].
fn vendor_url(v: &Vendor, config: &Value, env: Env<'_>, diags: &mut Diagnostics) -> Result<Option<String>, String> {
    url_setting(v.block, config.get(v.block), "url", Some(v.url_env), v.example, env, diags)
}

/// A vendor block's TLS settings (`ca_cert_pem`, `insecure_skip_verify`), checked: Err
/// (with the reason the vendor is unusable) when they are unknown, or when the CA bundle
/// is not usable (then with an error at `<vendor>.ca_cert_pem`).
fn check_tls(v: &Vendor, config: &Value, diags: &mut Diagnostics) -> Result<(), String> {
    let b = config.get(v.block);
    if b.get("ca_cert_pem").is_unknown() || b.get("insecure_skip_verify").is_unknown() {
        return Err(UNKNOWN_UNTIL_APPLY.into());
    }
    let Some(pem) = b.get("ca_cert_pem").as_str().filter(|p| !p.trim().is_empty()) else { return Ok(()) };
    match crate::http::ca_problem(pem) {
        None => Ok(()),
        Some(problem) => {
            let block = v.block;
            diags.error_at(
                AttrPath::attrs(&[block, "ca_cert_pem"]),
                format!("Invalid {block}.ca_cert_pem"),
                format!(
                    "`{block}.ca_cert_pem` cannot be used: {problem}. It must hold the PEM of the CA that signed the {} server's \
                     certificate (one or more -----BEGIN CERTIFICATE----- blocks).",
                    v.label
                ),
            );
            Err(format!("`{block}.ca_cert_pem` is not usable."))
        }
    }
}

/// The warning shown on every run while a vendor's certificate checks are off.
/// `credential` says what is exposed (the vendor's own phrase when None).
fn insecure_warning(v: &Vendor, credential: Option<&str>) -> Diagnostic {
    let block = v.block;
    Diagnostic::warning(
        format!("TLS verification is off for {}", v.label),
        format!(
            "`{block}.insecure_skip_verify` is true: the TLS certificate of {} is not checked, so anyone on the network path \
             can impersonate it and read {}. Prefer `{block}.ca_cert_pem` with the CA that signed the server's certificate.",
            v.server,
            credential.unwrap_or(v.credential)
        ),
    )
    .at(AttrPath::attrs(&[block, "insecure_skip_verify"]))
}

fn resolve_runai(config: &Value, env: Env<'_>, diags: &mut Diagnostics) -> Result<(String, String), String> {
    let b = config.get("runai");
    let url = vendor_url(&RUNAI, config, env, diags)?
        .ok_or_else(|| how_to("runai", &[("url", "IDENTITY_RUNAI_URL"), ("token", "IDENTITY_RUNAI_TOKEN")]))?;
    let token = require("runai", b, "token", "IDENTITY_RUNAI_TOKEN", env, diags, "Run:ai token")
        .map_err(|()| UNKNOWN_UNTIL_APPLY.to_string())?
        .ok_or("The Run:ai token is missing.")?;
    Ok((url, token))
}

fn resolve_fudo(config: &Value, env: Env<'_>, diags: &mut Diagnostics) -> Result<FudoSettings, String> {
    let b = config.get("fudo");
    let url = vendor_url(&FUDO, config, env, diags)?
        .ok_or_else(|| how_to("fudo", &[("url", "IDENTITY_FUDO_URL"), ("api_key", "IDENTITY_FUDO_API_KEY")]))?;
    let api_key = require("fudo", b, "api_key", "IDENTITY_FUDO_API_KEY", env, diags, "Fudo API key")
        .map_err(|()| UNKNOWN_UNTIL_APPLY.to_string())?
        .ok_or("The Fudo API key is missing.")?;
    Ok(FudoSettings {
        url,
        api_key,
        ca_cert_pem: b.get("ca_cert_pem").as_str().map(str::to_string),
        insecure_skip_verify: b.get("insecure_skip_verify").as_bool().unwrap_or(false),
    })
}

fn resolve_scim(config: &Value, env: Env<'_>, diags: &mut Diagnostics) -> Result<ScimSettings, String> {
    let b = config.get("scim");
    let unknown = |_| UNKNOWN_UNTIL_APPLY.to_string();
    let url = vendor_url(&SCIM, config, env, diags)?.ok_or_else(|| {
        how_to("scim", &[("url", "IDENTITY_SCIM_URL"), ("token", "IDENTITY_SCIM_TOKEN")])
            + " Instead of a token, OAuth2 works too: `scim.client_id` and `scim.client_secret` (IDENTITY_SCIM_CLIENT_ID, IDENTITY_SCIM_CLIENT_SECRET)."
    })?;
    let token = setting(b, "token", Some("IDENTITY_SCIM_TOKEN"), env).map_err(unknown)?;
    let client_id = setting(b, "client_id", Some("IDENTITY_SCIM_CLIENT_ID"), env).map_err(unknown)?;
    let client_secret = setting(b, "client_secret", Some("IDENTITY_SCIM_CLIENT_SECRET"), env).map_err(unknown)?;
    let username = setting(b, "username", Some("IDENTITY_SCIM_USERNAME"), env).map_err(unknown)?;
    let password = setting(b, "password", Some("IDENTITY_SCIM_PASSWORD"), env).map_err(unknown)?;
    let grant_type = setting(b, "grant_type", None, env).map_err(unknown)?.unwrap_or_else(|| "client_credentials".into());
    if token.is_none() {
        for (name, v, var) in
            [("client_id", &client_id, "IDENTITY_SCIM_CLIENT_ID"), ("client_secret", &client_secret, "IDENTITY_SCIM_CLIENT_SECRET")]
        {
            if v.is_none() {
                diags.error_at(
                    AttrPath::attrs(&["scim", name]),
                    "Missing SCIM credentials",
                    format!("`scim.url` is set but there is neither a `scim.token` (IDENTITY_SCIM_TOKEN) nor OAuth2 client credentials: set `scim.{name}` or {var}."),
                );
            }
        }
        if grant_type == "password" {
            for (name, v, var) in [("username", &username, "IDENTITY_SCIM_USERNAME"), ("password", &password, "IDENTITY_SCIM_PASSWORD")] {
                if v.is_none() {
                    diags.error_at(
                        AttrPath::attrs(&["scim", name]),
                        "Missing SCIM credentials",
                        format!("grant_type is \"password\": set `scim.{name}` or {var}."),
                    );
                }
            }
        }
    }
    let token_url = url_setting("scim", b, "token_url", None, TOKEN_URL_EXAMPLE, env, diags)?.unwrap_or_else(|| default_token_url(&url));
    Ok(ScimSettings {
        token,
        client_id,
        client_secret,
        grant_type,
        username,
        password,
        scope: setting(b, "scope", None, env).map_err(unknown)?.unwrap_or_else(|| "urn:opc:idm:__myscopes__".into()),
        token_url,
        ca_cert_pem: b.get("ca_cert_pem").as_str().map(str::to_string),
        url,
    })
}

/// `https://x/admin/v1` -> `https://x/oauth2/v1/token`.
pub fn default_token_url(scim_url: &str) -> String {
    let base = scim_url.trim_end_matches('/');
    match base.strip_suffix("/admin/v1") {
        Some(root) => format!("{root}/oauth2/v1/token"),
        None => format!("{base}/oauth2/v1/token"),
    }
}

fn resolve_landscape(config: &Value, env: Env<'_>, diags: &mut Diagnostics) -> Result<LandscapeSettings, String> {
    let b = config.get("landscape");
    let url = vendor_url(&LANDSCAPE, config, env, diags)?
        .ok_or_else(|| how_to("landscape", &[("url", "IDENTITY_LANDSCAPE_URL"), ("token", "IDENTITY_LANDSCAPE_TOKEN")]))?;
    let token = require("landscape", b, "token", "IDENTITY_LANDSCAPE_TOKEN", env, diags, "Landscape token")
        .map_err(|()| UNKNOWN_UNTIL_APPLY.to_string())?
        .ok_or("The Landscape token is missing.")?;
    Ok(LandscapeSettings { url, token })
}

fn url_attr(v: &Vendor) -> Attribute {
    Attribute::string("url")
        .optional()
        .describe(format!("Base URL of the API, e.g. `{}`. Environment variable: `{}`.", v.example, v.url_env))
        .validate(url_validator())
}

/// Where the system's trusted roots come from (the provider and `ca_cert_pem`
/// descriptions say it).
const SYSTEM_ROOTS: &str = "The system's trusted roots are those of the operating system's certificate store; on Linux, \
     the `SSL_CERT_FILE` (a PEM bundle) and `SSL_CERT_DIR` (directories of PEM files) environment variables, when set, \
     replace the places they are read from.";

/// The description of a `ca_cert_pem` attribute.
fn ca_cert_description(server: &str) -> String {
    format!(
        "PEM bundle of one or more CAs to trust for {server}, in addition to the system's trusted roots (it does not \
         replace them). {SYSTEM_ROOTS} It must be the CA that signed the server's certificate; a bundle that holds no usable \
         CA certificate is an error when the provider is configured. A self-signed server \
         certificate that is marked as a CA itself (`CA:TRUE`, which `openssl req -x509` makes by default) is refused as \
         `CaUsedAsEndEntity`: make the server certificate with `-addext basicConstraints=critical,CA:FALSE`, or sign it \
         with a separate CA and give that CA here."
    )
}

/// The TLS settings every vendor block has: `ca_cert_pem` and `insecure_skip_verify`.
fn tls_attrs(v: &Vendor) -> [Attribute; 2] {
    [
        Attribute::string("ca_cert_pem").optional().describe(ca_cert_description(v.server)),
        Attribute::bool("insecure_skip_verify").optional().describe(format!(
            "Skip TLS certificate verification for {} (`ca_cert_pem` then has no effect). Insecure: anyone on the network \
             path can impersonate the server and read {}, and every run shows a warning. Defaults to `false`.",
            v.server, v.credential
        )),
    ]
}

/// The rate settings every vendor block has.
fn rate_attrs(vendor: &str) -> [Attribute; 3] {
    [
        Attribute::number("max_concurrent_requests")
            .optional()
            .describe(format!("How many requests to {vendor} may be in flight at once. Defaults to `{DEFAULT_MAX_CONCURRENT_REQUESTS}`."))
            .validate(Validator::IntBetween { min: 1, max: 1000 }),
        Attribute::number("max_requests_per_second")
            .optional()
            .describe(format!(
                "The most requests per second sent to {vendor} (fractions allowed, e.g. `0.5`). Unlimited by default. \
                 Either way, every `429 Too Many Requests` pauses all requests to {vendor} until its `Retry-After` has passed and \
                 halves the request rate, which then recovers gradually."
            ))
            .validate(Validator::custom("a number greater than 0 and at most 10000", |v| match v {
                Value::Number(n) => match n.as_f64() {
                    Some(r) if r > 0.0 && r <= 10_000.0 => Ok(()),
                    _ => Err(format!("must be greater than 0 and at most 10000, got {n}")),
                },
                _ => Ok(()),
            })),
        Attribute::number("max_response_mb")
            .optional()
            .describe(format!(
                "The largest answer read from {vendor}, in MiB. A larger answer is an error, and reading it stops at the limit, so \
                 a broken or hostile server cannot exhaust the memory of the Terraform run. Defaults to `{DEFAULT_MAX_RESPONSE_MB}`."
            ))
            .validate(Validator::IntBetween { min: 1, max: 4096 }),
    ]
}

fn secret_attr(name: &str, what: &str, env: &str) -> Attribute {
    Attribute::string(name).optional().sensitive().describe(format!("{what}. Environment variable: `{env}`."))
}

impl IdentityProvider {
    pub fn provider_schema() -> Schema {
        Schema::new(
            "Manages identity federation: Run:ai identity providers, Fudo user-to-OIDC assignments, \
             OCI IAM identity domains over SCIM 2.0 and Canonical Landscape OIDC group imports. \
             Every vendor block is optional; configure only the vendors your configuration uses. \
             TLS: every vendor block takes `ca_cert_pem`, a CA trusted in addition to the system's roots, and \
             `insecure_skip_verify`. The system's roots are those of the operating system's certificate store; on Linux, \
             `SSL_CERT_FILE` (a PEM bundle) and `SSL_CERT_DIR` replace the places they are read from.",
            vec![
                Attribute::object(
                    "runai",
                    vec![url_attr(&RUNAI), secret_attr("token", "Bearer token (API application token)", "IDENTITY_RUNAI_TOKEN")]
                        .into_iter()
                        .chain(tls_attrs(&RUNAI))
                        .chain(rate_attrs("Run:ai"))
                        .collect(),
                )
                .optional()
                .describe("Run:ai control plane: external identity providers and their mappers."),
                Attribute::object(
                    "fudo",
                    vec![
                        url_attr(&FUDO),
                        secret_attr("api_key", "API key, sent as the raw `Authorization` header", "IDENTITY_FUDO_API_KEY"),
                    ]
                    .into_iter()
                    .chain(tls_attrs(&FUDO))
                    .chain(rate_attrs("Fudo"))
                    .collect(),
                )
                .optional()
                .describe("Fudo PAM: assignment of users to OpenID Connect configurations."),
                Attribute::object(
                    "scim",
                    vec![
                        url_attr(&SCIM),
                        secret_attr("token", "Static bearer token; alternative to OAuth2 client credentials", "IDENTITY_SCIM_TOKEN"),
                        Attribute::string("client_id")
                            .optional()
                            .describe("OAuth2 client id. Environment variable: `IDENTITY_SCIM_CLIENT_ID`."),
                        secret_attr("client_secret", "OAuth2 client secret", "IDENTITY_SCIM_CLIENT_SECRET"),
                        Attribute::string("grant_type")
                            .optional()
                            .describe("OAuth2 grant: `client_credentials` (default) or `password`.")
                            .validate(Validator::one_of(&["client_credentials", "password"])),
                        Attribute::string("username")
                            .optional()
                            .describe("User for the `password` grant. Environment variable: `IDENTITY_SCIM_USERNAME`."),
                        secret_attr("password", "Password for the `password` grant", "IDENTITY_SCIM_PASSWORD"),
                        Attribute::string("scope").optional().describe("OAuth2 scope. Defaults to `urn:opc:idm:__myscopes__`."),
                        Attribute::string("token_url")
                            .optional()
                            .describe(
                                "OAuth2 token endpoint. Defaults to `url` with a trailing `/admin/v1` replaced by `/oauth2/v1/token`.",
                            )
                            .validate(url_validator()),
                    ]
                    .into_iter()
                    .chain(tls_attrs(&SCIM))
                    .chain(rate_attrs("the SCIM service (its token endpoint included)"))
                    .collect(),
                )
                .optional()
                .describe("A SCIM 2.0 service, such as an Oracle OCI IAM identity domain: users, groups and memberships."),
                Attribute::object(
                    "landscape",
                    vec![url_attr(&LANDSCAPE), secret_attr("token", "Bearer token (JWT)", "IDENTITY_LANDSCAPE_TOKEN")]
                        .into_iter()
                        .chain(tls_attrs(&LANDSCAPE))
                        .chain(rate_attrs("Landscape"))
                        .collect(),
                )
                .optional()
                .describe("Canonical Landscape: OIDC group import sessions and staged groups."),
                Attribute::number("request_timeout")
                    .optional()
                    .describe("Timeout of one HTTP request, in seconds. Defaults to `30`.")
                    .validate(Validator::IntBetween { min: 1, max: 3600 }),
                Attribute::number("max_retries")
                    .optional()
                    .describe(
                        "How many times a request that failed transiently (429, 502, 503, 504, connection errors) is retried, with \
                         jittered exponential backoff and `Retry-After` honoured. A create (POST) is sent again only when it provably \
                         never reached the server, or after the object it would create was looked up by its natural key and not \
                         found (found, it is adopted). Defaults to `5`.",
                    )
                    .validate(Validator::IntBetween { min: 0, max: 100 }),
            ],
        )
    }
}

/// The HTTP settings of one vendor: the top-level ones plus the block's rate settings
/// (validated at plan time; anything else falls back to the defaults) and its TLS
/// settings (`ca_cert_pem` checked by [`check_tls`]), which every vendor client takes
/// from here.
fn vendor_http_settings(top: &HttpSettings, block: &Value) -> HttpSettings {
    HttpSettings {
        ca_cert_pem: block.get("ca_cert_pem").as_str().filter(|p| !p.trim().is_empty()).map(str::to_string),
        insecure_skip_verify: block.get("insecure_skip_verify").as_bool().unwrap_or(false),
        max_concurrent_requests: block
            .get("max_concurrent_requests")
            .as_i64()
            .filter(|n| *n >= 1)
            .map_or(DEFAULT_MAX_CONCURRENT_REQUESTS, |n| n.min(1000) as usize),
        max_requests_per_second: match block.get("max_requests_per_second") {
            Value::Number(n) => n.as_f64().filter(|r| r.is_finite() && *r > 0.0),
            _ => None,
        },
        max_response_bytes: block
            .get("max_response_mb")
            .as_i64()
            .filter(|n| (1..=4096).contains(n))
            .map_or(top.max_response_bytes, |n| (n as usize) << 20),
        ..top.clone()
    }
}

/// Whether `url` is plain http to a host other than this machine (loopback addresses and
/// `localhost` are exempt: nothing leaves the machine).
fn is_cleartext_remote(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else { return false };
    if u.scheme() != "http" {
        return false;
    }
    match u.host_str() {
        Some(h) if h.eq_ignore_ascii_case("localhost") => false,
        Some(h) => h.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().map_or(true, |ip| !ip.is_loopback()),
        None => false,
    }
}

/// A setting from the configuration, else from the environment. `Err` when unknown.
/// Tokens and API keys are trimmed: one read with `file()` (or from a file into the
/// environment) ends with a newline, which is never part of the token and is not allowed
/// in an HTTP header.
fn setting(block: &Value, name: &str, var: Option<&str>, env: Env<'_>) -> Result<Option<String>, ()> {
    let trim = matches!(name, "token" | "api_key");
    let tidy = |s: String| if trim { s.trim().to_string() } else { s };
    match block.get(name) {
        Value::Unknown(_) => Err(()),
        Value::String(s) if !s.is_empty() => Ok(Some(tidy(s.clone())).filter(|s| !s.is_empty())),
        _ => Ok(var.and_then(env).map(tidy).filter(|s| !s.is_empty())),
    }
}

/// The URL and CA checks of [`IdentityProvider::validate_config`] (configure makes the
/// same ones while resolving the settings).
fn check_settings(config: &Value, env: Env<'_>, diags: &mut Diagnostics) {
    for v in VENDORS {
        let _ = vendor_url(v, config, env, diags);
        let _ = check_tls(v, config, diags);
    }
    let _ = url_setting("scim", config.get("scim"), "token_url", None, TOKEN_URL_EXAMPLE, env, diags);
}

/// Configuration into clients, with settings missing from `config` looked up in `env`.
fn configure_with(config: &Value, env: Env<'_>, diags: &mut Diagnostics) -> Option<ProviderData> {
    let settings = HttpSettings {
        request_timeout: Duration::from_secs(config.get("request_timeout").as_i64().filter(|v| *v > 0).unwrap_or(30) as u64),
        max_retries: config.get("max_retries").as_i64().filter(|v| *v >= 0).unwrap_or(5) as u32,
        ..HttpSettings::default()
    };
    let vendor_settings = |block: &str| vendor_http_settings(&settings, config.get(block));

    let runai_settings = resolve_runai(config, env, diags);
    let runai = check_tls(&RUNAI, config, diags).and_then(|()| runai_settings.clone()).and_then(|(url, token)| {
        RunaiClient::new(&url, &token, vendor_settings("runai")).inspect_err(|e| {
            diags.error_at(AttrPath::attrs(&["runai"]), "Invalid Run:ai configuration", e.clone());
        })
    });

    let fudo = resolve_fudo(config, env, diags);
    let fudo_client = check_tls(&FUDO, config, diags).and_then(|()| fudo.clone()).and_then(|f| {
        FudoClient::new(&f.url, &f.api_key, f.ca_cert_pem.as_deref(), f.insecure_skip_verify, vendor_settings("fudo")).map_err(|e| {
            let path = if f.ca_cert_pem.is_some() { AttrPath::attrs(&["fudo", "ca_cert_pem"]) } else { AttrPath::attrs(&["fudo"]) };
            diags.error_at(path, "Invalid Fudo configuration", e.to_string());
            e.to_string()
        })
    });
    let scim = resolve_scim(config, env, diags);
    let scim_client = check_tls(&SCIM, config, diags).and_then(|()| scim.clone()).and_then(|sc| {
        let auth = match &sc.token {
            Some(t) => ScimAuth::Static(t.clone()),
            None => ScimAuth::OAuth2 {
                token_url: sc.token_url.clone(),
                client_id: sc.client_id.clone().unwrap_or_default(),
                client_secret: sc.client_secret.clone().unwrap_or_default(),
                grant: if sc.grant_type == "password" {
                    Grant::Password { username: sc.username.clone().unwrap_or_default(), password: sc.password.clone().unwrap_or_default() }
                } else {
                    Grant::ClientCredentials
                },
                scope: sc.scope.clone(),
            },
        };
        ScimClient::new(&sc.url, auth, sc.ca_cert_pem.as_deref(), vendor_settings("scim")).map(Arc::new).inspect_err(|e| {
            diags.error_at(AttrPath::attrs(&["scim"]), "Invalid SCIM configuration", e.clone());
        })
    });
    let landscape = resolve_landscape(config, env, diags);
    let landscape_client = check_tls(&LANDSCAPE, config, diags).and_then(|()| landscape.clone()).and_then(|l| {
        LandscapeClient::new(&l.url, &l.token, vendor_settings("landscape")).inspect_err(|e| {
            diags.error_at(AttrPath::attrs(&["landscape"]), "Invalid Landscape configuration", e.clone());
        })
    });

    // Certificate checks off: say so on every run, naming what is exposed.
    let scim_credential = scim.as_ref().ok().map(|sc| match (&sc.token, sc.grant_type.as_str()) {
        (Some(_), _) => "the SCIM token",
        (None, "password") => "the OAuth2 client secret, the user's password and the access tokens",
        (None, _) => "the OAuth2 client secret and the access tokens",
    });
    for v in VENDORS {
        if config.get(v.block).get("insecure_skip_verify").as_bool() == Some(true) {
            diags.push(insecure_warning(v, if v.block == "scim" { scim_credential } else { None }));
        }
    }

    // Credentials over plain http travel in cleartext: say so (loopback excepted).
    let mut cleartext = vec![("runai", "url", runai_settings.as_ref().ok().map(|(u, _)| u.clone()), "the Run:ai token")];
    cleartext.push(("fudo", "url", fudo.as_ref().ok().map(|f| f.url.clone()), "the Fudo API key"));
    if let Ok(sc) = &scim {
        let what = if sc.token.is_some() { "the SCIM token" } else { "access tokens" };
        cleartext.push(("scim", "url", Some(sc.url.clone()), what));
        if sc.token.is_none() {
            cleartext.push(("scim", "token_url", Some(sc.token_url.clone()), "the OAuth2 client credentials"));
        }
    }
    cleartext.push(("landscape", "url", landscape.as_ref().ok().map(|l| l.url.clone()), "the Landscape token"));
    for (block, attr, url, what) in cleartext {
        if let Some(url) = url.filter(|u| is_cleartext_remote(u)) {
            diags.push(
                Diagnostic::warning(
                    "Credentials sent over plain http",
                    format!(
                        "`{block}.{attr}` is {}: {what} would travel unencrypted to a host that is not this machine. \
                         Use an https:// URL.",
                        crate::http::strip_url_queries(&url)
                    ),
                )
                .at(AttrPath::attrs(&[block, attr])),
            );
        }
    }

    if diags.has_errors() {
        return None;
    }
    Some(ProviderData {
        runai,
        fudo,
        fudo_client,
        scim,
        scim_client,
        landscape,
        landscape_client,
        http: settings,
        membership_claims: Default::default(),
    })
}

#[async_trait]
impl Provider for IdentityProvider {
    type Data = ProviderData;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Self::provider_schema()
    }

    /// Checks what can be checked before configuration: the URL settings, whether from
    /// the configuration or the environment (the schema's validators see only the
    /// former), and the CA bundles. Configure checks them again (values unknown here).
    fn validate_config(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        check_settings(config, &process_env, &mut diags);
        diags
    }

    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<ProviderData> {
        configure_with(config, &process_env, diags)
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<ProviderData>>> {
        crate::vendors::resources()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<ProviderData>>> {
        crate::vendors::data_sources()
    }

    fn ephemeral_resources(&self) -> Vec<Arc<dyn crate::tfplugin::resource::EphemeralResource<ProviderData>>> {
        crate::vendors::ephemeral_resources()
    }

    fn list_resources(&self) -> Vec<Arc<dyn crate::tfplugin::resource::ListResource<ProviderData>>> {
        crate::vendors::list_resources()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Value)]) -> Value {
        let mut c = Value::object_of(&[
            ("runai", Value::Null),
            ("fudo", Value::Null),
            ("scim", Value::Null),
            ("landscape", Value::Null),
            ("request_timeout", Value::Null),
            ("max_retries", Value::Null),
        ]);
        for (k, v) in pairs {
            c.set(k, v.clone());
        }
        c
    }

    /// An environment holding only `vars` (tests never read or set the process's own).
    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    /// Configures with `vars` as the whole environment.
    fn configure_in(c: &Value, vars: &[(&str, &str)]) -> (Option<ProviderData>, Diagnostics) {
        let mut d = Diagnostics::new();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let _in_runtime = rt.enter();
        let data = configure_with(c, &env_of(vars), &mut d);
        (data, d)
    }

    fn configure(c: &Value) -> (Option<ProviderData>, Diagnostics) {
        configure_in(c, &[])
    }

    /// The ValidateProviderConfig checks, with `vars` as the whole environment.
    fn validate_in(c: &Value, vars: &[(&str, &str)]) -> Diagnostics {
        let mut d = Diagnostics::new();
        check_settings(c, &env_of(vars), &mut d);
        d
    }

    fn errors(d: &Diagnostics) -> Vec<&Diagnostic> {
        d.iter().filter(|x| x.severity == crate::tfplugin::diag::Severity::Error).collect()
    }

    fn path_of(x: &Diagnostic) -> String {
        x.path.as_ref().map(|p| p.to_string()).unwrap_or_default()
    }

    /// A vendor block with its URL and credential set (`extra` added).
    fn vendor_block(v: &Vendor, extra: &[(&str, Value)]) -> Value {
        let credential = if v.block == "fudo" { "api_key" } else { "token" };
        let mut b =
            Value::object_of(&[("url", format!("https://{}.example.com/api", v.block).into()), (credential, "s3cret-value".into())]);
        for (k, val) in extra {
            b.set(k, val.clone());
        }
        b
    }

    #[test]
    fn unconfigured_vendor_names_the_attribute_and_env_variable() {
        let (data, d) = configure(&config(&[]));
        assert!(!d.has_errors(), "{d}");
        let err = data.expect("data").runai().expect_err("not configured").to_string();
        assert!(err.contains("runai.url") && err.contains("IDENTITY_RUNAI_URL") && err.contains("IDENTITY_RUNAI_TOKEN"), "{err}");
    }

    #[test]
    fn url_without_credentials_is_an_error_at_the_attribute() {
        let c = config(&[
            ("runai", Value::object_of(&[("url", "https://app.run.ai".into()), ("token", Value::Null)])),
            ("landscape", Value::object_of(&[("url", "https://landscape.example.com".into()), ("token", Value::Null)])),
        ]);
        let (data, d) = configure(&c);
        assert!(data.is_none());
        let paths: Vec<String> = d.iter().filter_map(|x| x.path.as_ref().map(|p| p.to_string())).collect();
        assert!(paths.contains(&"runai.token".to_string()), "{paths:?}");
        assert!(paths.contains(&"landscape.token".to_string()), "{paths:?}");
    }

    #[test]
    fn insecure_fudo_warns_every_run() {
        let c = config(&[(
            "fudo",
            Value::object_of(&[
                ("url", "https://fudo.example.com".into()),
                ("api_key", "k".into()),
                ("ca_cert_pem", Value::Null),
                ("insecure_skip_verify", true.into()),
            ]),
        )]);
        let (data, d) = configure(&c);
        assert!(data.is_some());
        assert!(d.iter().any(|x| x.severity == crate::tfplugin::diag::Severity::Warning && x.summary.contains("TLS")));
    }

    #[test]
    fn every_validator_pattern_compiles() {
        use crate::tfplugin::schema::{AttrKind, Attribute};
        fn walk(attrs: &[Attribute], n: &mut usize) {
            for a in attrs {
                let mut vs: Vec<&Validator> = a.validators.iter().collect();
                while let Some(v) = vs.pop() {
                    match v {
                        Validator::Matches { pattern, .. } => {
                            regex::Regex::new(pattern).unwrap_or_else(|e| panic!("{}: {pattern:?}: {e}", a.name));
                            *n += 1;
                        }
                        Validator::Each(inner) => vs.push(inner),
                        _ => {}
                    }
                }
                if let AttrKind::Nested { attributes, .. } = &a.kind {
                    walk(attributes, n);
                }
            }
        }
        let p = IdentityProvider;
        let mut n = 0;
        walk(&p.schema().block.attributes, &mut n);
        for r in p.resources() {
            walk(&r.schema().block.attributes, &mut n);
        }
        for d in p.data_sources() {
            walk(&d.schema().block.attributes, &mut n);
        }
        assert!(n > 10, "found {n} patterns");
    }

    #[test]
    fn plain_http_beyond_this_machine_is_flagged() {
        for u in ["http://scim.example.com/admin/v1", "http://10.0.0.5:8080/x", "http://[2001:db8::1]/x"] {
            assert!(is_cleartext_remote(u), "{u}");
        }
        for u in ["https://scim.example.com", "http://127.0.0.1:9/x", "http://localhost/x", "http://[::1]:80/", "not a url"] {
            assert!(!is_cleartext_remote(u), "{u}");
        }
    }

    #[test]
    fn tokens_read_from_files_lose_their_newline() {
        let b = Value::object_of(&[("token", "abc.def\n".into()), ("api_key", " k1 \r\n".into()), ("password", " p \n".into())]);
        let env = env_of(&[("IDENTITY_X_TOKEN", "from-env\n")]);
        assert_eq!(setting(&b, "token", None, &env), Ok(Some("abc.def".to_string())));
        assert_eq!(setting(&b, "api_key", None, &env), Ok(Some("k1".to_string())));
        assert_eq!(setting(&b, "password", None, &env), Ok(Some(" p \n".to_string())), "a password is taken as it is");
        let blank = Value::object_of(&[("token", "\n".into())]);
        assert_eq!(setting(&blank, "token", None, &env), Ok(None), "a blank token is no token");
        assert_eq!(setting(&Value::Null, "token", Some("IDENTITY_X_TOKEN"), &env), Ok(Some("from-env".to_string())));
    }

    #[test]
    fn rate_settings_are_validated_at_plan_time_and_reach_each_vendor() {
        use crate::tfplugin::value::Number;
        let schema = IdentityProvider::provider_schema();
        let float = |f: f64| Value::Number(Number::Float(f));
        let validate = |c: &Value| {
            let mut d = Diagnostics::new();
            crate::tfplugin::validator::validate_attributes(&schema.block.attributes, c, &AttrPath::root(), &mut d);
            d
        };
        for (block, attr, bad) in [
            ("scim", "max_concurrent_requests", Value::int(0)),
            ("runai", "max_concurrent_requests", Value::int(-3)),
            ("fudo", "max_requests_per_second", float(0.0)),
            ("landscape", "max_requests_per_second", float(-1.5)),
            ("scim", "max_response_mb", Value::int(0)),
            ("fudo", "max_response_mb", Value::int(5000)),
        ] {
            let c = config(&[(block, Value::object_of(&[(attr, bad.clone())]))]);
            let d = validate(&c);
            let paths: Vec<String> = d.iter().filter_map(|x| x.path.as_ref().map(|p| p.to_string())).collect();
            assert!(d.has_errors() && paths.contains(&format!("{block}.{attr}")), "{block}.{attr} = {bad:?}: {paths:?} {d}");
        }
        let good =
            config(&[("scim", Value::object_of(&[("max_concurrent_requests", Value::int(4)), ("max_requests_per_second", float(2.5))]))]);
        assert!(!validate(&good).has_errors());

        let top = HttpSettings { max_retries: 7, ..HttpSettings::default() };
        let s = vendor_http_settings(&top, good.get("scim"));
        assert_eq!((s.max_concurrent_requests, s.max_requests_per_second, s.max_retries), (4, Some(2.5), 7));
        let s = vendor_http_settings(&top, good.get("runai"));
        assert_eq!((s.max_concurrent_requests, s.max_requests_per_second), (DEFAULT_MAX_CONCURRENT_REQUESTS, None));
        assert_eq!(s.max_response_bytes, DEFAULT_MAX_RESPONSE_MB << 20, "the default");
        let small = config(&[("fudo", Value::object_of(&[("max_response_mb", Value::int(3))]))]);
        assert_eq!(vendor_http_settings(&top, small.get("fudo")).max_response_bytes, 3 << 20);
        // Every attribute is described (the docs are generated from the descriptions).
        for block in ["runai", "fudo", "scim", "landscape"] {
            let a = schema.block.attributes.iter().find(|a| a.name == block).expect("block");
            let crate::tfplugin::schema::AttrKind::Nested { attributes, .. } = &a.kind else { panic!("{block} is nested") };
            for name in ["max_concurrent_requests", "max_requests_per_second", "max_response_mb"] {
                let attr = attributes.iter().find(|x| x.name == name).unwrap_or_else(|| panic!("{block}.{name}"));
                assert!(!attr.description.is_empty(), "{block}.{name} has a description");
            }
        }
    }

    #[test]
    fn every_vendor_block_has_the_same_tls_options() {
        let schema = IdentityProvider::provider_schema();
        assert!(schema.block.description.contains("SSL_CERT_FILE"), "the provider description documents SSL_CERT_FILE");
        for v in VENDORS {
            let a = schema.block.attributes.iter().find(|a| a.name == v.block).expect("block");
            let crate::tfplugin::schema::AttrKind::Nested { attributes, .. } = &a.kind else { panic!("{} is nested", v.block) };
            let find = |name: &str| attributes.iter().find(|x| x.name == name).unwrap_or_else(|| panic!("{}.{name}", v.block));
            let (ca, insecure) = (find("ca_cert_pem"), find("insecure_skip_verify"));
            assert!(ca.optional && !ca.sensitive && insecure.optional, "{}", v.block);
            assert_eq!(ca.description, ca_cert_description(v.server), "{}: the same words, with its server", v.block);
            for words in ["in addition to the system's trusted roots", "SSL_CERT_FILE", "SSL_CERT_DIR", "CaUsedAsEndEntity"] {
                assert!(ca.description.contains(words), "{}.ca_cert_pem: {words}", v.block);
            }
            for words in ["every run shows a warning", v.credential, "Defaults to `false`"] {
                assert!(insecure.description.contains(words), "{}.insecure_skip_verify: {words}", v.block);
            }

            // They reach the vendor's HTTP settings, which every client is built from.
            let top = HttpSettings::default();
            let pem = "-----BEGIN CERTIFICATE-----\n...";
            let c = config(&[(v.block, Value::object_of(&[("ca_cert_pem", pem.into()), ("insecure_skip_verify", true.into())]))]);
            let s = vendor_http_settings(&top, c.get(v.block));
            assert_eq!((s.ca_cert_pem.as_deref(), s.insecure_skip_verify), (Some(pem), true), "{}", v.block);
            let blank = config(&[(v.block, Value::object_of(&[("ca_cert_pem", " \n".into())]))]);
            let s = vendor_http_settings(&top, blank.get(v.block));
            assert_eq!((s.ca_cert_pem, s.insecure_skip_verify), (None, false), "{}: a blank bundle is none", v.block);
        }
    }

    #[test]
    fn an_unusable_ca_is_an_error_at_the_vendors_ca_cert_pem() {
        for v in VENDORS {
            for pem in ["not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"] {
                let c = config(&[(v.block, vendor_block(v, &[("ca_cert_pem", pem.into())]))]);
                let (data, d) = configure(&c);
                assert!(data.is_none(), "{}: {pem:?}", v.block);
                let errs = errors(&d);
                assert_eq!(errs.len(), 1, "{}: one error, not one per layer: {d}", v.block);
                assert_eq!(path_of(errs[0]), format!("{}.ca_cert_pem", v.block));
                assert_eq!(errs[0].summary, format!("Invalid {}.ca_cert_pem", v.block));
                assert!(errs[0].detail.contains("BEGIN CERTIFICATE"), "{}", errs[0].detail);
                // ValidateProviderConfig says the same, before anything is configured.
                let early = validate_in(&c, &[]);
                assert_eq!(
                    errors(&early).iter().map(|x| (path_of(x), &x.summary)).collect::<Vec<_>>(),
                    [(path_of(errs[0]), &errs[0].summary)]
                );
            }
        }
        // A usable CA (and one set for a vendor whose URL is not) is fine everywhere.
        let ca = crate::sandbox::tls::generate(&["localhost".to_string()]).expect("certificate").ca_pem;
        let mut pairs: Vec<(&str, Value)> =
            VENDORS.iter().map(|v| (v.block, vendor_block(v, &[("ca_cert_pem", ca.as_str().into())]))).collect();
        let (data, d) = configure(&config(&pairs));
        assert!(d.is_empty(), "{d}");
        let data = data.expect("configured");
        assert!(data.runai().is_ok() && data.fudo_client().is_ok() && data.scim_client().is_ok() && data.landscape_client().is_ok());
        pairs[0].1 = Value::object_of(&[("ca_cert_pem", "garbage".into())]);
        let (_, d) = configure(&config(&pairs));
        assert_eq!(errors(&d).iter().map(|x| path_of(x)).collect::<Vec<_>>(), ["runai.ca_cert_pem"], "checked without a URL too");
    }

    #[test]
    fn insecure_skip_verify_warns_for_every_vendor_naming_what_is_exposed() {
        for v in VENDORS {
            let c = config(&[(v.block, vendor_block(v, &[("insecure_skip_verify", true.into())]))]);
            let (data, d) = configure(&c);
            assert!(data.is_some() && !d.has_errors(), "{}: {d}", v.block);
            let w: Vec<&Diagnostic> = d.iter().filter(|x| x.severity == crate::tfplugin::diag::Severity::Warning).collect();
            assert_eq!(w.len(), 1, "{}: {d}", v.block);
            assert_eq!(w[0].summary, format!("TLS verification is off for {}", v.label));
            assert_eq!(path_of(w[0]), format!("{}.insecure_skip_verify", v.block));
            let exposed = if v.block == "scim" { "the SCIM token" } else { v.credential };
            for words in [exposed, &format!("`{}.ca_cert_pem`", v.block), &format!("`{}.insecure_skip_verify` is true", v.block)] {
                assert!(w[0].detail.contains(words), "{}: {words}: {}", v.block, w[0].detail);
            }
            assert!(!format!("{d}").contains("s3cret-value"));
            let off = config(&[(v.block, vendor_block(v, &[("insecure_skip_verify", false.into())]))]);
            assert!(configure(&off).1.is_empty(), "{}: no warning when false", v.block);
        }
        let oauth2 = Value::object_of(&[
            ("url", "https://idcs-x.identity.oraclecloud.com/admin/v1".into()),
            ("client_id", "id".into()),
            ("client_secret", "s3cret-value".into()),
            ("insecure_skip_verify", true.into()),
        ]);
        let (_, d) = configure(&config(&[("scim", oauth2)]));
        let w = d.iter().find(|x| x.summary == "TLS verification is off for SCIM").expect("warning");
        assert!(w.detail.contains("the OAuth2 client secret and the access tokens"), "{}", w.detail);
    }

    #[test]
    fn urls_from_the_environment_are_checked_like_the_attribute() {
        let secrets = [
            ("IDENTITY_RUNAI_TOKEN", "s3cret-runai"),
            ("IDENTITY_FUDO_API_KEY", "s3cret-fudo"),
            ("IDENTITY_SCIM_TOKEN", "s3cret-scim"),
            ("IDENTITY_LANDSCAPE_TOKEN", "s3cret-landscape"),
        ];
        for v in VENDORS {
            let mut vars = secrets.to_vec();
            vars.push((v.url_env, "idcs.example.com/admin/v1"));
            for (when, d) in [("configure", configure_in(&config(&[]), &vars).1), ("validate", validate_in(&config(&[]), &vars))] {
                let errs = errors(&d);
                assert_eq!(errs.len(), 1, "{when} {}: {d}", v.url_env);
                assert_eq!(errs[0].summary, format!("Invalid {}", v.url_env));
                assert_eq!(path_of(errs[0]), format!("{}.url", v.block));
                assert_eq!(
                    errs[0].detail,
                    format!(
                        "The environment variable {} is \"idcs.example.com/admin/v1\", which is not an http:// or https:// URL (e.g. {}).",
                        v.url_env, v.example
                    )
                );
                assert!(!format!("{d}").contains("s3cret"), "{when}: no secret in {d}");
            }
        }
        // The exact text for SCIM.
        let (data, d) = configure_in(&config(&[]), &[("IDENTITY_SCIM_URL", "idcs.example.com/admin/v1"), ("IDENTITY_SCIM_TOKEN", "t")]);
        assert!(data.is_none());
        assert_eq!(
            errors(&d)[0].detail,
            "The environment variable IDENTITY_SCIM_URL is \"idcs.example.com/admin/v1\", which is not an http:// or https:// URL \
             (e.g. https://idcs-xxxx.identity.oraclecloud.com/admin/v1)."
        );

        // What the pattern lets through but reqwest refuses is caught too, from either place.
        let bad_port = "https://scim.example.com:99999/admin/v1";
        let (_, d) = configure_in(&config(&[]), &[("IDENTITY_SCIM_URL", bad_port), ("IDENTITY_SCIM_TOKEN", "t")]);
        assert_eq!(
            errors(&d)[0].detail,
            format!(
                "The environment variable IDENTITY_SCIM_URL is \"{bad_port}\", which is not a valid URL: invalid port number (e.g. {}).",
                SCIM.example
            )
        );
        let c = config(&[("scim", Value::object_of(&[("url", bad_port.into()), ("token", "t".into())]))]);
        let (_, d) = configure(&c);
        let e = errors(&d);
        assert_eq!((e.len(), e[0].summary.as_str(), path_of(e[0])), (1, "Invalid scim.url", "scim.url".to_string()), "{d}");
        assert!(e[0].detail.starts_with(&format!("`scim.url` is \"{bad_port}\", which is not a valid URL")), "{}", e[0].detail);
        let c = config(&[(
            "scim",
            Value::object_of(&[
                ("url", "https://x/admin/v1".into()),
                ("client_id", "i".into()),
                ("client_secret", "s3cret".into()),
                ("token_url", "x/oauth2/v1/token".into()),
            ]),
        )]);
        let (_, d) = configure(&c);
        let e = errors(&d);
        assert_eq!((e.len(), e[0].summary.as_str(), path_of(e[0])), (1, "Invalid scim.token_url", "scim.token_url".to_string()), "{d}");
        assert!(!format!("{d}").contains("s3cret"));

        // User information and query values in a URL are not shown.
        let (_, d) =
            configure_in(&config(&[]), &[("IDENTITY_RUNAI_URL", "ftp://admin:hunter2@host/x?sig=s3cret#f"), ("IDENTITY_RUNAI_TOKEN", "t")]);
        let detail = &errors(&d)[0].detail;
        assert!(detail.contains("\"ftp://***@host/x\"") && !detail.contains("hunter2") && !detail.contains("s3cret"), "{detail}");

        // A valid URL passes; a configured URL wins over (and hides) a bad variable.
        let (data, d) =
            configure_in(&config(&[]), &[("IDENTITY_SCIM_URL", "https://idcs-x.example.com/admin/v1"), ("IDENTITY_SCIM_TOKEN", "t")]);
        assert!(d.is_empty() && data.expect("configured").scim_client().is_ok(), "{d}");
        let c = config(&[("scim", Value::object_of(&[("url", "https://idcs-x.example.com/admin/v1".into())]))]);
        let (data, d) = configure_in(&c, &[("IDENTITY_SCIM_URL", "not a url"), ("IDENTITY_SCIM_TOKEN", "t")]);
        assert!(d.is_empty() && data.is_some(), "{d}");
        // An unknown URL is not checked (nor configured) until it is known.
        let c = config(&[("scim", Value::object_of(&[("url", Value::unknown())]))]);
        let (data, d) = configure_in(&c, &[("IDENTITY_SCIM_URL", "not a url")]);
        assert!(d.is_empty() && data.expect("configured").scim().is_err(), "{d}");
    }

    #[test]
    fn the_configure_time_url_check_applies_the_attributes_rule() {
        let schema = IdentityProvider::provider_schema();
        let mut url_attrs = 0;
        for v in VENDORS {
            let a = schema.block.attributes.iter().find(|a| a.name == v.block).expect("block");
            let crate::tfplugin::schema::AttrKind::Nested { attributes, .. } = &a.kind else { panic!("{} is nested", v.block) };
            for x in attributes.iter().filter(|x| x.name == "url" || x.name == "token_url") {
                assert!(
                    matches!(x.validators.as_slice(), [Validator::Matches { pattern, .. }] if *pattern == URL_PATTERN),
                    "{}.{} is validated by URL_PATTERN",
                    v.block,
                    x.name
                );
                url_attrs += 1;
            }
        }
        assert_eq!(url_attrs, 5, "four `url`s and `scim.token_url`");
        // The same verdict at plan time (on the configuration) and at configure time.
        for u in [
            "https://a",
            "http://127.0.0.1:9/x",
            "idcs.example.com/admin/v1",
            "https://",
            "ftp://x",
            "https://h st/x",
            " https://a",
            "https://a\n",
        ] {
            let c = config(&[("scim", Value::object_of(&[("url", u.into())]))]);
            let mut d = Diagnostics::new();
            crate::tfplugin::validator::validate_attributes(&schema.block.attributes, &c, &AttrPath::root(), &mut d);
            let at_configure = url_problem(u);
            assert_eq!(d.has_errors(), at_configure.as_deref() == Some("not an http:// or https:// URL"), "{u:?}: {d} / {at_configure:?}");
        }
    }

    #[test]
    fn validator_descriptions_do_not_repeat_themselves() {
        let p = IdentityProvider;
        let mut schemas = vec![("provider".to_string(), p.schema())];
        schemas.extend(p.resources().iter().map(|r| (r.type_name().to_string(), r.schema())));
        schemas.extend(p.data_sources().iter().map(|d| (d.type_name().to_string(), d.schema())));
        schemas.extend(p.ephemeral_resources().iter().map(|e| (e.type_name().to_string(), e.schema())));
        schemas.extend(p.list_resources().iter().map(|l| (l.type_name().to_string(), l.schema())));
        let doubled = regex::Regex::new(r"(?i)\bmust be must be\b|[^.]\.\.(\s|$)").expect("pattern");
        for (name, schema) in &schemas {
            let page = crate::tfplugin::docs::render_schema(schema);
            assert!(!doubled.is_match(&page), "{name}: {:?}", doubled.find(&page).map(|m| &page[m.start().saturating_sub(80)..m.end()]));
        }
        assert!(crate::tfplugin::docs::render_schema(&schemas[0].1).contains("Must be a number greater than 0 and at most 10000."));
    }

    #[test]
    fn scim_token_url_defaults_from_the_scim_url() {
        assert_eq!(
            default_token_url("https://idcs-x.identity.oraclecloud.com/admin/v1"),
            "https://idcs-x.identity.oraclecloud.com/oauth2/v1/token"
        );
        assert_eq!(default_token_url("http://127.0.0.1:9/oci/admin/v1/"), "http://127.0.0.1:9/oci/oauth2/v1/token");
    }
}
