//! The `identity` provider: its configuration schema, and configuration into clients.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::clients::HttpSettings;
use crate::clients::fudo::FudoClient;
use crate::clients::http::{DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_RESPONSE_MB};
use crate::clients::landscape::LandscapeClient;
use crate::clients::runai::RunaiClient;
use crate::clients::scim::{Grant, ScimAuth, ScimClient};
use crate::data_sources;
use crate::resources;
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{AttrPath, Attribute, DataSource, Diagnostic, Diagnostics, Provider, Resource, Schema, Value};

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
    pub membership_claims: crate::resources::membership_conflicts::MembershipClaims,
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

fn how_to(block: &str, pairs: &[(&str, &str)]) -> String {
    let list = pairs.iter().map(|(a, e)| format!("`{block}.{a}` (or {e})")).collect::<Vec<_>>().join(" and ");
    format!("Set {list} in the provider configuration.")
}

/// A vendor's required setting: Ok(None) when the whole vendor is absent.
fn require(block_name: &str, block: &Value, name: &str, env: &str, diags: &mut Diagnostics, what: &str) -> Result<Option<String>, ()> {
    let v = setting(block, name, Some(env))?;
    if v.is_none() {
        diags.error_at(
            AttrPath::attrs(&[block_name, name]),
            format!("Missing {what}"),
            format!("`{block_name}.url` is set but `{block_name}.{name}` is not: set it, or the {env} environment variable."),
        );
    }
    Ok(v)
}

fn resolve_fudo(config: &Value, diags: &mut Diagnostics) -> Result<FudoSettings, String> {
    let b = config.get("fudo");
    let url = match setting(b, "url", Some("IDENTITY_FUDO_URL")) {
        Err(()) => return Err(UNKNOWN_UNTIL_APPLY.into()),
        Ok(None) => return Err(how_to("fudo", &[("url", "IDENTITY_FUDO_URL"), ("api_key", "IDENTITY_FUDO_API_KEY")])),
        Ok(Some(u)) => u,
    };
    let api_key = require("fudo", b, "api_key", "IDENTITY_FUDO_API_KEY", diags, "Fudo API key")
        .map_err(|()| UNKNOWN_UNTIL_APPLY.to_string())?
        .ok_or("The Fudo API key is missing.")?;
    let insecure = b.get("insecure_skip_verify").as_bool().unwrap_or(false);
    if insecure {
        diags.push(
            Diagnostic::warning(
                "TLS verification is off for Fudo",
                "fudo.insecure_skip_verify is true: the Fudo server's certificate is not checked, so anyone on the network path can \
                 impersonate it and read the API key. Prefer fudo.ca_cert_pem with the server's CA.",
            )
            .at(AttrPath::attrs(&["fudo", "insecure_skip_verify"])),
        );
    }
    Ok(FudoSettings { url, api_key, ca_cert_pem: b.get("ca_cert_pem").as_str().map(str::to_string), insecure_skip_verify: insecure })
}

fn resolve_scim(config: &Value, diags: &mut Diagnostics) -> Result<ScimSettings, String> {
    let b = config.get("scim");
    let unknown = |_| UNKNOWN_UNTIL_APPLY.to_string();
    let url = match setting(b, "url", Some("IDENTITY_SCIM_URL")) {
        Err(()) => return Err(UNKNOWN_UNTIL_APPLY.into()),
        Ok(None) => {
            return Err(how_to("scim", &[("url", "IDENTITY_SCIM_URL"), ("token", "IDENTITY_SCIM_TOKEN")])
                + " Instead of a token, OAuth2 works too: `scim.client_id` and `scim.client_secret` (IDENTITY_SCIM_CLIENT_ID, IDENTITY_SCIM_CLIENT_SECRET).");
        }
        Ok(Some(u)) => u,
    };
    let token = setting(b, "token", Some("IDENTITY_SCIM_TOKEN")).map_err(unknown)?;
    let client_id = setting(b, "client_id", Some("IDENTITY_SCIM_CLIENT_ID")).map_err(unknown)?;
    let client_secret = setting(b, "client_secret", Some("IDENTITY_SCIM_CLIENT_SECRET")).map_err(unknown)?;
    let username = setting(b, "username", Some("IDENTITY_SCIM_USERNAME")).map_err(unknown)?;
    let password = setting(b, "password", Some("IDENTITY_SCIM_PASSWORD")).map_err(unknown)?;
    let grant_type = setting(b, "grant_type", None).map_err(unknown)?.unwrap_or_else(|| "client_credentials".into());
    if token.is_none() {
        for (name, v, env) in
            [("client_id", &client_id, "IDENTITY_SCIM_CLIENT_ID"), ("client_secret", &client_secret, "IDENTITY_SCIM_CLIENT_SECRET")]
        {
            if v.is_none() {
                diags.error_at(
                    AttrPath::attrs(&["scim", name]),
                    "Missing SCIM credentials",
                    format!("`scim.url` is set but there is neither a `scim.token` (IDENTITY_SCIM_TOKEN) nor OAuth2 client credentials: set `scim.{name}` or {env}."),
                );
            }
        }
        if grant_type == "password" {
            for (name, v, env) in [("username", &username, "IDENTITY_SCIM_USERNAME"), ("password", &password, "IDENTITY_SCIM_PASSWORD")] {
                if v.is_none() {
                    diags.error_at(
                        AttrPath::attrs(&["scim", name]),
                        "Missing SCIM credentials",
                        format!("grant_type is \"password\": set `scim.{name}` or {env}."),
                    );
                }
            }
        }
    }
    let token_url = setting(b, "token_url", None).map_err(unknown)?.unwrap_or_else(|| default_token_url(&url));
    Ok(ScimSettings {
        token,
        client_id,
        client_secret,
        grant_type,
        username,
        password,
        scope: setting(b, "scope", None).map_err(unknown)?.unwrap_or_else(|| "urn:opc:idm:__myscopes__".into()),
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

fn resolve_landscape(config: &Value, diags: &mut Diagnostics) -> Result<LandscapeSettings, String> {
    let b = config.get("landscape");
    let url = match setting(b, "url", Some("IDENTITY_LANDSCAPE_URL")) {
        Err(()) => return Err(UNKNOWN_UNTIL_APPLY.into()),
        Ok(None) => return Err(how_to("landscape", &[("url", "IDENTITY_LANDSCAPE_URL"), ("token", "IDENTITY_LANDSCAPE_TOKEN")])),
        Ok(Some(u)) => u,
    };
    let token = require("landscape", b, "token", "IDENTITY_LANDSCAPE_TOKEN", diags, "Landscape token")
        .map_err(|()| UNKNOWN_UNTIL_APPLY.to_string())?
        .ok_or("The Landscape token is missing.")?;
    Ok(LandscapeSettings { url, token })
}

fn url_attr(example: &str, env: &str) -> Attribute {
    Attribute::string("url")
        .optional()
        .describe(format!("Base URL of the API, e.g. `{example}`. Environment variable: `{env}`."))
        .validate(Validator::matches(r"^https?://[^\s/]+(/\S*)?$", "an http:// or https:// URL"))
}

/// The description of a `ca_cert_pem` attribute.
fn ca_cert_description(server: &str) -> String {
    format!(
        "PEM bundle of a CA to trust for {server}, in addition to the system's trusted roots (it does not replace \
         them). It must be the CA that signed the server's certificate. A self-signed server \
         certificate that is marked as a CA itself (`CA:TRUE`, which `openssl req -x509` makes by default) is refused as \
         `CaUsedAsEndEntity`: make the server certificate with `-addext basicConstraints=critical,CA:FALSE`, or sign it \
         with a separate CA and give that CA here."
    )
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
            .validate(Validator::custom("Must be a number greater than 0 and at most 10000.", |v| match v {
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
             Every vendor block is optional; configure only the vendors your configuration uses.",
            vec![
                Attribute::object(
                    "runai",
                    vec![
                        url_attr("https://app.run.ai", "IDENTITY_RUNAI_URL"),
                        secret_attr("token", "Bearer token (API application token)", "IDENTITY_RUNAI_TOKEN"),
                    ]
                    .into_iter()
                    .chain(rate_attrs("Run:ai"))
                    .collect(),
                )
                .optional()
                .describe("Run:ai control plane: external identity providers and their mappers."),
                Attribute::object(
                    "fudo",
                    vec![
                        url_attr("https://fudo.example.com", "IDENTITY_FUDO_URL"),
                        secret_attr("api_key", "API key, sent as the raw `Authorization` header", "IDENTITY_FUDO_API_KEY"),
                        Attribute::string("ca_cert_pem").optional().describe(ca_cert_description("the Fudo server")),
                        Attribute::bool("insecure_skip_verify")
                            .optional()
                            .describe("Skip TLS certificate verification. Insecure: every run shows a warning. Defaults to `false`."),
                    ]
                    .into_iter()
                    .chain(rate_attrs("Fudo"))
                    .collect(),
                )
                .optional()
                .describe("Fudo PAM: assignment of users to OpenID Connect configurations."),
                Attribute::object(
                    "scim",
                    vec![
                        url_attr("https://idcs-xxxx.identity.oraclecloud.com/admin/v1", "IDENTITY_SCIM_URL"),
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
                        Attribute::string("token_url").optional().describe(
                            "OAuth2 token endpoint. Defaults to `url` with a trailing `/admin/v1` replaced by `/oauth2/v1/token`.",
                        ),
                        Attribute::string("ca_cert_pem")
                            .optional()
                            .describe(ca_cert_description("the SCIM service and its token endpoint")),
                    ]
                    .into_iter()
                    .chain(rate_attrs("the SCIM service (its token endpoint included)"))
                    .collect(),
                )
                .optional()
                .describe("A SCIM 2.0 service, such as an Oracle OCI IAM identity domain: users, groups and memberships."),
                Attribute::object(
                    "landscape",
                    vec![
                        url_attr("https://landscape.canonical.com", "IDENTITY_LANDSCAPE_URL"),
                        secret_attr("token", "Bearer token (JWT)", "IDENTITY_LANDSCAPE_TOKEN"),
                    ]
                    .into_iter()
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
/// (validated at plan time; anything else falls back to the defaults).
fn vendor_http_settings(top: &HttpSettings, block: &Value) -> HttpSettings {
    HttpSettings {
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
fn setting(block: &Value, name: &str, env: Option<&str>) -> Result<Option<String>, ()> {
    let trim = matches!(name, "token" | "api_key");
    let tidy = |s: String| if trim { s.trim().to_string() } else { s };
    match block.get(name) {
        Value::Unknown(_) => Err(()),
        Value::String(s) if !s.is_empty() => Ok(Some(tidy(s.clone())).filter(|s| !s.is_empty())),
        _ => Ok(env.and_then(|e| std::env::var(e).ok()).map(tidy).filter(|s| !s.is_empty())),
    }
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

    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<ProviderData> {
        let settings = HttpSettings {
            request_timeout: Duration::from_secs(config.get("request_timeout").as_i64().filter(|v| *v > 0).unwrap_or(30) as u64),
            max_retries: config.get("max_retries").as_i64().filter(|v| *v >= 0).unwrap_or(5) as u32,
            ..HttpSettings::default()
        };
        let vendor_settings = |block: &str| vendor_http_settings(&settings, config.get(block));

        let runai_block = config.get("runai");
        let runai =
            match (setting(runai_block, "url", Some("IDENTITY_RUNAI_URL")), setting(runai_block, "token", Some("IDENTITY_RUNAI_TOKEN"))) {
                (Err(()), _) | (_, Err(())) => Err(UNKNOWN_UNTIL_APPLY.to_string()),
                (Ok(None), _) => Err(how_to("runai", &[("url", "IDENTITY_RUNAI_URL"), ("token", "IDENTITY_RUNAI_TOKEN")])),
                (Ok(Some(_)), Ok(None)) => {
                    diags.error_at(
                        AttrPath::attrs(&["runai", "token"]),
                        "Missing Run:ai token",
                        "`runai.url` is set but no token is: set `runai.token` or the IDENTITY_RUNAI_TOKEN environment variable.",
                    );
                    Err("The Run:ai token is missing.".to_string())
                }
                (Ok(Some(url)), Ok(Some(token))) => RunaiClient::new(&url, &token, vendor_settings("runai")).map_err(|e| {
                    diags.error_at(AttrPath::attrs(&["runai"]), "Invalid Run:ai configuration", e.clone());
                    e
                }),
            };

        let fudo = resolve_fudo(config, diags);
        let fudo_client = fudo.as_ref().map_err(String::clone).and_then(|f| {
            FudoClient::new(&f.url, &f.api_key, f.ca_cert_pem.as_deref(), f.insecure_skip_verify, vendor_settings("fudo")).map_err(|e| {
                let path = if f.ca_cert_pem.is_some() { AttrPath::attrs(&["fudo", "ca_cert_pem"]) } else { AttrPath::attrs(&["fudo"]) };
                diags.error_at(path, "Invalid Fudo configuration", e.to_string());
                e.to_string()
            })
        });
        let scim = resolve_scim(config, diags);
        let scim_client = scim.as_ref().map_err(String::clone).and_then(|sc| {
            let auth = match &sc.token {
                Some(t) => ScimAuth::Static(t.clone()),
                None => ScimAuth::OAuth2 {
                    token_url: sc.token_url.clone(),
                    client_id: sc.client_id.clone().unwrap_or_default(),
                    client_secret: sc.client_secret.clone().unwrap_or_default(),
                    grant: if sc.grant_type == "password" {
                        Grant::Password {
                            username: sc.username.clone().unwrap_or_default(),
                            password: sc.password.clone().unwrap_or_default(),
                        }
                    } else {
                        Grant::ClientCredentials
                    },
                    scope: sc.scope.clone(),
                },
            };
            ScimClient::new(&sc.url, auth, sc.ca_cert_pem.as_deref(), vendor_settings("scim")).map(std::sync::Arc::new).map_err(|e| {
                diags.error_at(AttrPath::attrs(&["scim", "ca_cert_pem"]), "Invalid SCIM configuration", e.clone());
                e
            })
        });
        let landscape = resolve_landscape(config, diags);
        let landscape_client = landscape.as_ref().map_err(String::clone).and_then(|l| {
            LandscapeClient::new(&l.url, &l.token, vendor_settings("landscape")).map_err(|e| {
                diags.error_at(AttrPath::attrs(&["landscape"]), "Invalid Landscape configuration", e.clone());
                e
            })
        });

        // Credentials over plain http travel in cleartext: say so (loopback excepted).
        let runai_url = setting(runai_block, "url", Some("IDENTITY_RUNAI_URL")).ok().flatten();
        let mut cleartext = vec![("runai", "url", runai_url.filter(|_| runai.is_ok()), "the Run:ai token")];
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
                            crate::clients::http::strip_url_queries(&url)
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

    fn resources(&self) -> Vec<Arc<dyn Resource<ProviderData>>> {
        resources::all()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<ProviderData>>> {
        data_sources::all()
    }

    fn ephemeral_resources(&self) -> Vec<Arc<dyn crate::tfplugin::resource::EphemeralResource<ProviderData>>> {
        crate::ephemeral::all()
    }

    fn list_resources(&self) -> Vec<Arc<dyn crate::tfplugin::resource::ListResource<ProviderData>>> {
        crate::list_resources::all()
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

    fn configure(c: &Value) -> (Option<ProviderData>, Diagnostics) {
        let mut d = Diagnostics::new();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let data = rt.block_on(IdentityProvider.configure(c, &mut d));
        (data, d)
    }

    #[test]
    fn unconfigured_vendor_names_the_attribute_and_env_variable() {
        if std::env::var("IDENTITY_RUNAI_URL").is_ok() {
            return; // the environment configures it
        }
        let (data, d) = configure(&config(&[]));
        assert!(!d.has_errors(), "{d}");
        let err = data.expect("data").runai().err().expect("not configured").to_string();
        assert!(err.contains("runai.url") && err.contains("IDENTITY_RUNAI_URL") && err.contains("IDENTITY_RUNAI_TOKEN"), "{err}");
    }

    #[test]
    fn url_without_credentials_is_an_error_at_the_attribute() {
        if std::env::var("IDENTITY_RUNAI_TOKEN").is_ok() || std::env::var("IDENTITY_LANDSCAPE_TOKEN").is_ok() {
            return;
        }
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
        assert_eq!(setting(&b, "token", None), Ok(Some("abc.def".to_string())));
        assert_eq!(setting(&b, "api_key", None), Ok(Some("k1".to_string())));
        assert_eq!(setting(&b, "password", None), Ok(Some(" p \n".to_string())), "a password is taken as it is");
        let blank = Value::object_of(&[("token", "\n".into())]);
        assert_eq!(setting(&blank, "token", None), Ok(None), "a blank token is no token");
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
    fn scim_token_url_defaults_from_the_scim_url() {
        assert_eq!(
            default_token_url("https://idcs-x.identity.oraclecloud.com/admin/v1"),
            "https://idcs-x.identity.oraclecloud.com/oauth2/v1/token"
        );
        assert_eq!(default_token_url("http://127.0.0.1:9/oci/admin/v1/"), "http://127.0.0.1:9/oci/oauth2/v1/token");
    }
}
