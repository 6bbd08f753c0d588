//! What every vendor block of the provider has in common: the `url`, TLS and rate
//! attributes, how a setting is read from the configuration or else the environment, the
//! URL and CA checks, and what configuring a block gives the provider ([`Configured`]).
//! Each vendor's own block is in `src/vendors/<vendor>/config.rs`.

use std::sync::OnceLock;

use regex::Regex;

use crate::http::{DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_RESPONSE_MB, HttpSettings};
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{AttrPath, Attribute, Diagnostic, Diagnostics, Value};
use crate::vendors::Vendor;

/// What configuring a vendor block reads: the provider's configuration, the environment
/// for settings it leaves out, and the HTTP settings of the provider's top level.
pub(crate) struct Context<'a> {
    pub config: &'a Value,
    pub env: Env<'a>,
    pub http: &'a HttpSettings,
}

/// Where a vendor block sends credentials: the attribute, its URL and what travels there.
pub(crate) type Sends = Vec<(&'static str, String, &'static str)>;

/// What configuring one vendor block gives the provider.
pub(crate) struct Configured<C> {
    /// The client, or why the vendor cannot be used (said when a resource needs it).
    pub client: Result<C, String>,
    /// Where credentials are sent (for the warning about plain http).
    pub sends: Sends,
    /// What `insecure_skip_verify` exposes when that depends on the settings; the vendor's
    /// own phrase ([`Vendor::credential`]) otherwise.
    pub exposed: Option<&'static str>,
}

pub(crate) const UNKNOWN_UNTIL_APPLY: &str = "The settings are not known until apply (they depend on other resources).";

/// Where a setting missing from the configuration is looked up: the process environment
/// (tests pass a table instead, so they neither read nor race on the real one).
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, as an [`Env`].
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

pub(crate) fn how_to(block: &str, pairs: &[(&str, &str)]) -> String {
    let list = pairs.iter().map(|(a, e)| format!("`{block}.{a}` (or {e})")).collect::<Vec<_>>().join(" and ");
    format!("Set {list} in the provider configuration.")
}

/// A vendor's required setting: Ok(None) when the whole vendor is absent.
pub(crate) fn require(
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
pub(crate) const URL_PATTERN: &str = r"^https?://[^\s/]+(/\S*)?$";
pub(crate) const URL_RULE: &str = "an http:// or https:// URL";

pub(crate) fn url_validator() -> Validator {
    Validator::matches(URL_PATTERN, URL_RULE)
}

/// What is wrong with a URL setting, as "not ...", or None: it follows [`URL_PATTERN`] and
/// reqwest can use it (so a bad port, say, is refused here rather than at apply).
pub(crate) fn url_problem(url: &str) -> Option<String> {
    static PATTERN: OnceLock<Option<Regex>> = OnceLock::new();
    let follows_rule = PATTERN.get_or_init(|| Regex::new(URL_PATTERN).ok()).as_ref().is_some_and(|re| re.is_match(url));
    if !follows_rule {
        return Some(format!("not {URL_RULE}"));
    }
    reqwest::Url::parse(url).err().map(|e| format!("not a valid URL: {e}"))
}

/// A URL as shown in a message: without its query and fragment, and with any user
/// information (`user:password@`) masked, whether or not it parses.
pub(crate) fn shown_url(url: &str) -> String {
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
pub(crate) fn url_setting(
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
pub(crate) fn vendor_url(v: &Vendor, config: &Value, env: Env<'_>, diags: &mut Diagnostics) -> Result<Option<String>, String> {
    url_setting(v.block, config.get(v.block), "url", Some(v.url_env), v.example, env, diags)
}

/// A vendor block's TLS settings (`ca_cert_pem`, `insecure_skip_verify`), checked: Err
/// (with the reason the vendor is unusable) when they are unknown, or when the CA bundle
/// is not usable (then with an error at `<vendor>.ca_cert_pem`).
pub(crate) fn check_tls(v: &Vendor, config: &Value, diags: &mut Diagnostics) -> Result<(), String> {
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
pub(crate) fn insecure_warning(v: &Vendor, credential: Option<&str>) -> Diagnostic {
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

pub(crate) fn url_attr(v: &Vendor) -> Attribute {
    Attribute::string("url")
        .optional()
        .describe(format!("Base URL of the API, e.g. `{}`. Environment variable: `{}`.", v.example, v.url_env))
        .validate(url_validator())
}

/// Where the system's trusted roots come from (the provider and `ca_cert_pem`
/// descriptions say it).
pub(crate) const SYSTEM_ROOTS: &str = "The system's trusted roots are those of the operating system's certificate store; on Linux, \
     the `SSL_CERT_FILE` (a PEM bundle) and `SSL_CERT_DIR` (directories of PEM files) environment variables, when set, \
     replace the places they are read from.";

/// The description of a `ca_cert_pem` attribute.
pub(crate) fn ca_cert_description(server: &str) -> String {
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
pub(crate) fn tls_attrs(v: &Vendor) -> [Attribute; 2] {
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
pub(crate) fn rate_attrs(vendor: &str) -> [Attribute; 3] {
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

/// The `batch_reads` setting of a vendor whose reads are batched; `how` says how (the
/// request one batch becomes).
pub(crate) fn batch_reads_attr(vendor: &str, how: &str) -> Attribute {
    Attribute::bool("batch_reads").optional().describe(format!(
        "Whether reads of many {vendor} objects are combined. Terraform refreshes every resource with a read of its own, 10 at \
         a time; with `true` (the default) reads that arrive together become one request ({how}), and anything the combined \
         answer lacks is read on its own, so an object deleted behind Terraform's back still shows as gone. A refresh then \
         sees each object as that combined answer showed it, a snapshot no older than the run (changes the provider itself \
         makes are always read afresh). `false` sends one \
         request per resource read, as most providers do: slower against a distant server, but it needs nothing beyond \
         reading one object, for servers whose filters or listings misbehave."
    ))
}

pub(crate) fn secret_attr(name: &str, what: &str, env: &str) -> Attribute {
    Attribute::string(name).optional().sensitive().describe(format!("{what}. Environment variable: `{env}`."))
}

/// The HTTP settings of one vendor: the top-level ones plus the block's rate settings
/// (validated at plan time; anything else falls back to the defaults) and its TLS
/// settings (`ca_cert_pem` checked by [`check_tls`]), which every vendor client takes
/// from here.
pub(crate) fn vendor_http_settings(top: &HttpSettings, block: &Value) -> HttpSettings {
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
        batch_reads: block.get("batch_reads").as_bool().unwrap_or(true),
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
pub(crate) fn is_cleartext_remote(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else { return false };
    if u.scheme() != "http" {
        return false;
    }
    u.host_str().is_some_and(|h| !crate::http::is_loopback_host(h))
}

/// A setting from the configuration, else from the environment. `Err` when unknown.
/// Tokens and API keys are trimmed: one read with `file()` (or from a file into the
/// environment) ends with a newline, which is never part of the token and is not allowed
/// in an HTTP header.
pub(crate) fn setting(block: &Value, name: &str, var: Option<&str>, env: Env<'_>) -> Result<Option<String>, ()> {
    let trim = matches!(name, "token" | "api_key");
    let tidy = |s: String| if trim { s.trim().to_string() } else { s };
    match block.get(name) {
        Value::Unknown(_) => Err(()),
        Value::String(s) if !s.is_empty() => Ok(Some(tidy(s.clone())).filter(|s| !s.is_empty())),
        _ => Ok(var.and_then(env).map(tidy).filter(|s| !s.is_empty())),
    }
}

/// A vendor's block: its `url`, its own attributes, then the TLS and rate attributes every
/// block has. `rate_target` names what the rate settings limit.
pub(crate) fn vendor_block(v: &Vendor, own: Vec<Attribute>, rate_target: &str, description: &str) -> Attribute {
    let attrs = std::iter::once(url_attr(v)).chain(own).chain(tls_attrs(v)).chain(rate_attrs(rate_target)).collect();
    Attribute::object(v.block, attrs).optional().describe(description)
}

/// A vendor's URL and its one required credential (`name` in the block, else the
/// environment variable `var`; `what` names it in messages): Err says why the vendor
/// cannot be used.
pub(crate) fn url_and_credential(
    v: &Vendor,
    cx: &Context<'_>,
    name: &str,
    var: &str,
    what: &str,
    diags: &mut Diagnostics,
) -> Result<(String, String), String> {
    let url = vendor_url(v, cx.config, cx.env, diags)?.ok_or_else(|| how_to(v.block, &[("url", v.url_env), (name, var)]))?;
    let credential = require(v.block, cx.config.get(v.block), name, var, cx.env, diags, what)
        .map_err(|()| UNKNOWN_UNTIL_APPLY.to_string())?
        .ok_or_else(|| format!("The {what} is missing."))?;
    Ok((url, credential))
}
