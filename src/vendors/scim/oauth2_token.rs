//! `identity_oauth2_token` ephemeral resource: an OAuth2 access token from the OCI IAM
//! identity domain's token endpoint (client credentials or password grant), for other
//! providers, provisioners or provider blocks to call the API with. The token never
//! reaches state or plan.
//!
//! - open: requests a token, with the inputs given here or else the provider's `scim`
//!   settings; `renew_at` is set shortly before the token expires. When the token lives
//!   shorter than `expected_run_duration` (30 minutes by default), open warns: this is
//!   the only warning Terraform shows, because it drops the diagnostics of renew
//!   (1.11 through 1.15 at least).
//! - renew: a bearer token cannot be extended. Terraform calls renew only while the
//!   token is still in use near its expiry; renew logs a warning line (stderr, JSON,
//!   shown with `TF_LOG_PROVIDER=warn` or more) naming the client and the expiry, never
//!   the token, and asks for no further renewal.
//! - close: when `revoke_url` is set, revokes the token (RFC 7009), so it does not
//!   outlive the Terraform run.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::http::{Auth, Http, Repeat, Request as HttpRequest};
use crate::provider::ProviderData;
use crate::tfplugin::resource::{EphemeralOpened, EphemeralRenewed, EphemeralResource};
use crate::tfplugin::timeouts::parse_duration;
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{AttrPath, Attribute, Diagnostic, Diagnostics, Schema, Value};
use crate::vendors::scim::client::TOKEN_DIALECT;

pub const TYPE_NAME: &str = "identity_oauth2_token";

pub struct OAuth2TokenEphemeral;

/// How long a plan or apply is expected to keep using the token when
/// `expected_run_duration` is not set.
const DEFAULT_EXPECTED_RUN: Duration = Duration::from_secs(30 * 60);
const DEFAULT_EXPECTED_RUN_TEXT: &str = "30m";

fn schema() -> Schema {
    Schema::new(
        "An OAuth2 access token for the OCI IAM identity domain (SCIM), obtained when Terraform needs it and never stored in state or plan. Use it in a provider block, a provisioner or another provider's write-only argument to call the API. Every input defaults to the provider's `scim` settings.\n\nEach plan and each apply obtains its own token. A bearer token cannot be extended: once it expires, every request made with it is refused (401), even in the middle of an apply. So when the token's lifetime is shorter than `expected_run_duration` (30 minutes by default), obtaining it warns, and says how to get a longer one. Terraform (1.11 through 1.15) shows no diagnostics from renewing an ephemeral resource, so nothing else warns: when Terraform still uses the token shortly before it expires, the provider only logs a warning line (visible with `TF_LOG_PROVIDER=warn` or a more detailed level). With `revoke_url`, the token is revoked (RFC 7009) when Terraform is done with it.",
        vec![
            Attribute::string("token_url")
                .optional()
                .describe("The token endpoint. Defaults to the provider's `scim.token_url` (by default `<domain>/oauth2/v1/token`).")
                .validate(Validator::matches(r"^https?://[^\s/]+(/\S*)?$", "an http:// or https:// URL")),
            Attribute::string("client_id")
                .optional()
                .describe("OAuth2 client id, sent with HTTP Basic authentication. Defaults to the provider's `scim.client_id`.")
                .validate(Validator::non_empty()),
            Attribute::string("client_secret")
                .optional()
                .sensitive()
                .describe("OAuth2 client secret. Defaults to the provider's `scim.client_secret`. May be an ephemeral value.")
                .validate(Validator::non_empty()),
            Attribute::string("grant_type")
                .optional()
                .describe("`client_credentials` or `password`. Defaults to the provider's `scim.grant_type` (itself `client_credentials` by default).")
                .validate(Validator::one_of(&["client_credentials", "password"])),
            Attribute::string("username")
                .optional()
                .describe("Resource owner for the `password` grant. Defaults to the provider's `scim.username`.")
                .validate(Validator::non_empty()),
            Attribute::string("password")
                .optional()
                .sensitive()
                .describe("Resource owner's password for the `password` grant. Defaults to the provider's `scim.password`.")
                .validate(Validator::non_empty()),
            Attribute::string("scope")
                .optional()
                .computed()
                .describe("The scope to request (defaults to the provider's `scim.scope`, `urn:opc:idm:__myscopes__`); after open, the scope granted when the server names it."),
            Attribute::string("revoke_url")
                .optional()
                .describe("An RFC 7009 token revocation endpoint. When set, the token is revoked when Terraform closes this ephemeral resource (at the end of each plan or apply).")
                .validate(Validator::matches(r"^https?://[^\s/]+(/\S*)?$", "an http:// or https:// URL")),
            Attribute::string("expected_run_duration")
                .optional()
                .describe(format!(
                    "How long Terraform is expected to keep using the token after obtaining it, i.e. how long one plan or one apply that uses it may take, as a duration such as \"90s\", \"30m\" or \"1h30m\" (units h, m, s, ms). Defaults to `{DEFAULT_EXPECTED_RUN_TEXT}`. When the token's lifetime (`expires_in`) is shorter, obtaining the token warns. It only decides the warning: the token requested is the same."
                ))
                .validate(Validator::custom("a duration longer than zero, such as \"90s\", \"30m\" or \"1h30m\"", |v| match v.as_str() {
                    None => Ok(()),
                    Some(s) => match parse_duration(s) {
                        Ok(d) if d.is_zero() => Err(format!("{s:?} is no time at all: give how long a run takes, e.g. \"30m\"")),
                        Ok(_) => Ok(()),
                        Err(e) => Err(e),
                    },
                })),
            Attribute::string("access_token").computed().sensitive().describe("The access token."),
            Attribute::string("token_type").computed().describe("The token type, normally `Bearer`."),
            Attribute::number("expires_in").computed().describe("The token's lifetime in seconds, as the server gave it (a lifetime beyond ten years is taken as ten years)."),
            Attribute::string("expires_at").computed().describe("When the token expires (RFC 3339, UTC)."),
        ],
    )
}

/// The token request's inputs, resolved against the provider settings.
struct Request {
    token_url: String,
    client_id: String,
    client_secret: String,
    grant: Grant,
    scope: String,
    revoke_url: Option<String>,
    ca_cert_pem: Option<String>,
}

enum Grant {
    ClientCredentials,
    Password { username: String, password: String },
}

/// What open keeps for renew and close (in Terraform's memory only).
#[derive(Serialize, Deserialize)]
struct Private {
    token: String,
    expires_at: i64,
    /// For the renewal log line (not secret).
    #[serde(default)]
    token_url: String,
    revoke_url: Option<String>,
    client_id: String,
    client_secret: String,
    ca_cert_pem: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

fn text(config: &Value, name: &str) -> Option<String> {
    config.get(name).as_str().map(str::to_string)
}

fn missing(attr: &str, provider_attr: &str) -> Diagnostic {
    Diagnostic::error(
        "Missing OAuth2 setting",
        format!("identity_oauth2_token needs `{attr}`: set it here, or `scim.{provider_attr}` in the provider configuration."),
    )
    .at(AttrPath::attrs(&[attr]))
}

fn resolve(data: &ProviderData, config: &Value) -> Result<Request, Diagnostics> {
    let scim = data.scim().ok();
    let mut diags = Diagnostics::new();
    let token_url = text(config, "token_url").or_else(|| scim.map(|s| s.token_url.clone()));
    let client_id = text(config, "client_id").or_else(|| scim.and_then(|s| s.client_id.clone()));
    let client_secret = text(config, "client_secret").or_else(|| scim.and_then(|s| s.client_secret.clone()));
    let grant_type =
        text(config, "grant_type").or_else(|| scim.map(|s| s.grant_type.clone())).unwrap_or_else(|| "client_credentials".into());
    let scope = text(config, "scope").or_else(|| scim.map(|s| s.scope.clone())).unwrap_or_else(|| "urn:opc:idm:__myscopes__".into());
    for (v, attr) in [(&token_url, "token_url"), (&client_id, "client_id"), (&client_secret, "client_secret")] {
        if v.is_none() {
            diags.push(missing(attr, attr));
        }
    }
    let grant = if grant_type == "password" {
        let username = text(config, "username").or_else(|| scim.and_then(|s| s.username.clone()));
        let password = text(config, "password").or_else(|| scim.and_then(|s| s.password.clone()));
        match (username, password) {
            (Some(username), Some(password)) => Some(Grant::Password { username, password }),
            (u, p) => {
                if u.is_none() {
                    diags.push(missing("username", "username"));
                }
                if p.is_none() {
                    diags.push(missing("password", "password"));
                }
                None
            }
        }
    } else {
        Some(Grant::ClientCredentials)
    };
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(Request {
        token_url: token_url.unwrap_or_default(),
        client_id: client_id.unwrap_or_default(),
        client_secret: client_secret.unwrap_or_default(),
        grant: grant.unwrap_or(Grant::ClientCredentials),
        scope,
        revoke_url: text(config, "revoke_url"),
        ca_cert_pem: scim.and_then(|s| s.ca_cert_pem.clone()),
    })
}

/// The SCIM vendor's HTTP layer for the token endpoint (sharing its connection pool and
/// rate governor) when the provider has a `scim` block, else one of its own.
fn token_http(data: &ProviderData, ca_cert_pem: Option<&str>, secrets: &[&str]) -> Result<Http, Diagnostics> {
    let http = match data.scim_client() {
        Ok(c) => c.http().with_dialect(TOKEN_DIALECT),
        Err(_) => Http::new(TOKEN_DIALECT, data.http.clone(), ca_cert_pem, false)
            .map_err(|e| Diagnostics::from(Diagnostic::error("Unable to set up the HTTPS client", e)))?,
    };
    Ok(http.with_secrets(secrets))
}

/// The moment to renew: shortly before expiry (a fifth of the lifetime, at most a minute).
fn renew_at(issued: SystemTime, lifetime: Duration) -> SystemTime {
    let margin = (lifetime / 5).min(Duration::from_secs(60));
    issued + lifetime.saturating_sub(margin)
}

fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `expected_run_duration`, or its default (the validator already refused a bad value).
fn expected_run(config: &Value) -> Duration {
    config.get("expected_run_duration").as_str().and_then(|s| parse_duration(s).ok()).unwrap_or(DEFAULT_EXPECTED_RUN)
}

/// A duration the way the configuration writes one: "1h30m", "10m", "45s", "0s".
fn duration_text(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{sec}s"));
    }
    out
}

/// The warning of open when the token lives shorter than the run is expected to take.
/// Terraform shows open's diagnostics but drops renew's, so this is the one warning.
fn short_lifetime_warning(lifetime: Duration, expected: Duration, expires_at: SystemTime) -> Option<Diagnostic> {
    if lifetime >= expected {
        return None;
    }
    Some(
        Diagnostic::warning(
            "OAuth2 token expires before the run is expected to end",
            format!(
                "The token endpoint issued an access token that lives {} (expires_in = {}, until {}), shorter than `expected_run_duration` ({}). \
                 A bearer token cannot be extended, and Terraform shows no warning when it expires: every request made with it afterwards is refused (401), possibly in the middle of an apply.\n\
                 Get a longer-lived token: raise the access token expiration of the OCI confidential application (or of the resource application it calls), \
                 or ask for one in `scope` with `urn:opc:resource:expiry=<seconds>` (within the identity domain's limits). \
                 If plans and applies take less time than that, set `expected_run_duration` lower.",
                duration_text(lifetime),
                lifetime.as_secs(),
                rfc3339(expires_at),
                duration_text(expected),
            ),
        )
        .at(AttrPath::attrs(&["expected_run_duration"])),
    )
}

/// The renewal log line: what was "renewed" (nothing can be), and when it expires.
fn renew_log_message(client_id: &str, token_url: &str, expires_at: SystemTime, left: Duration) -> String {
    format!(
        "identity_oauth2_token is still in use close to its expiry: the access token of client {client_id:?} from {token_url} expires at {} (in {}). \
         A bearer token cannot be extended, so it was not renewed; requests made with it after that time will be refused (401). \
         Give the OAuth2 client a longer token lifetime, or set expected_run_duration to the real length of a run to be warned when the token is obtained.",
        rfc3339(expires_at),
        duration_text(left)
    )
}

#[async_trait]
impl EphemeralResource<ProviderData> for OAuth2TokenEphemeral {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn open(&self, data: &ProviderData, config: &Value) -> Result<EphemeralOpened, Diagnostics> {
        let req = resolve(data, config)?;
        let http = token_http(data, req.ca_cert_pem.as_deref(), &[&req.client_secret])?;
        let mut form = vec![("scope".to_string(), req.scope.clone())];
        match &req.grant {
            Grant::ClientCredentials => form.push(("grant_type".into(), "client_credentials".into())),
            Grant::Password { username, password } => {
                form.push(("grant_type".into(), "password".into()));
                form.push(("username".into(), username.clone()));
                form.push(("password".into(), password.clone()));
            }
        }
        let issued = SystemTime::now();
        // A token request has no side effect worth guarding: safe to send again.
        let request = HttpRequest::new(Method::POST, &req.token_url)
            .form(form)
            .auth(Auth::Basic(&req.client_id, &req.client_secret))
            .repeat(Repeat::Safe);
        let reply = http.send(&request).await.map_err(|e| crate::vendors::failure::api_diag("Unable to obtain an OAuth2 token", &e))?;
        let answer: TokenAnswer =
            http.decode(&reply).map_err(|e| crate::vendors::failure::api_diag("Unable to obtain an OAuth2 token", &e))?;
        // Capped: a server's `expires_in` of u64::MAX must not overflow the dates below.
        let lifetime = crate::vendors::scim::client::token_lifetime(answer.expires_in);
        let expires_at = issued + lifetime;
        tracing::debug!(expires_in = lifetime.as_secs(), "obtained an OAuth2 token for identity_oauth2_token");
        let mut diags = Diagnostics::new();
        if let Some(w) = short_lifetime_warning(lifetime, expected_run(config), expires_at) {
            diags.push(w);
        }
        let mut result = config.clone();
        result.set("access_token", Value::string(answer.access_token.clone()));
        result.set("token_type", Value::string(answer.token_type.unwrap_or_else(|| "Bearer".into())));
        result.set("expires_in", Value::int(lifetime.as_secs() as i64));
        result.set("expires_at", Value::string(rfc3339(expires_at)));
        result.set("scope", Value::string(answer.scope.unwrap_or(req.scope.clone())));
        let private = Private {
            token: answer.access_token,
            expires_at: expires_at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0),
            token_url: req.token_url,
            revoke_url: req.revoke_url,
            client_id: req.client_id,
            client_secret: req.client_secret,
            ca_cert_pem: req.ca_cert_pem,
        };
        Ok(EphemeralOpened {
            result,
            private: serde_json::to_vec(&private).unwrap_or_default(),
            renew_at: Some(renew_at(issued, lifetime)),
            diags,
        })
    }

    async fn renew(&self, _data: &ProviderData, private: &[u8]) -> Result<EphemeralRenewed, Diagnostics> {
        // Terraform (1.11 through 1.15) drops the diagnostics of renew: a log line is all
        // that reaches anyone. The warning that matters was given at open.
        match serde_json::from_slice::<Private>(private) {
            Ok(p) => {
                let expires_at = SystemTime::UNIX_EPOCH + Duration::from_secs(p.expires_at.max(0) as u64);
                let left = expires_at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
                tracing::warn!(
                    client_id = %p.client_id,
                    token_url = %p.token_url,
                    expires_at = %rfc3339(expires_at),
                    seconds_left = left.as_secs(),
                    "{}",
                    renew_log_message(&p.client_id, &p.token_url, expires_at, left)
                );
            }
            Err(_) => {
                tracing::warn!("identity_oauth2_token: renewal requested for a token whose details are unreadable; it cannot be extended")
            }
        }
        Ok(EphemeralRenewed { private: None, renew_at: None, diags: Diagnostics::new() })
    }

    async fn close(&self, data: &ProviderData, private: &[u8]) -> Diagnostics {
        let Ok(p) = serde_json::from_slice::<Private>(private) else {
            return Diagnostics::new();
        };
        let Some(url) = p.revoke_url.as_deref() else {
            return Diagnostics::new();
        };
        // A token that could not be revoked stays valid until it expires: worth a
        // warning, not a failed run.
        let warn = |detail: String| -> Diagnostics {
            let mut d = Diagnostics::new();
            d.push(Diagnostic::warning(
                "Unable to revoke the OAuth2 token",
                format!(
                    "{detail}\nThe token stays valid until it expires at {}.",
                    rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(p.expires_at.max(0) as u64))
                ),
            ));
            d
        };
        let http = match token_http(data, p.ca_cert_pem.as_deref(), &[&p.client_secret, &p.token]) {
            Ok(h) => h,
            Err(d) => return d,
        };
        let form = vec![("token".to_string(), p.token.clone()), ("token_type_hint".to_string(), "access_token".to_string())];
        // Revoking twice is revoking once (RFC 7009 answers 200 for unknown tokens).
        let request = HttpRequest::new(Method::POST, url).form(form).auth(Auth::Basic(&p.client_id, &p.client_secret)).repeat(Repeat::Safe);
        match http.send(&request).await {
            Ok(_) => {
                tracing::debug!("revoked the identity_oauth2_token access token");
                Diagnostics::new()
            }
            Err(e) => warn(format!("The revocation endpoint at {url}: {}", e.detail())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendors::scim::client::oauth_error_text;

    #[test]
    fn renews_shortly_before_expiry() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        assert_eq!(renew_at(t0, Duration::from_secs(3600)), t0 + Duration::from_secs(3540));
        assert_eq!(renew_at(t0, Duration::from_secs(10)), t0 + Duration::from_secs(8));
        assert_eq!(renew_at(t0, Duration::ZERO), t0);
    }

    #[test]
    fn extreme_lifetimes_are_capped_and_never_overflow() {
        use crate::vendors::scim::client::{MAX_TOKEN_LIFETIME, token_lifetime};
        let now = SystemTime::now();
        for (given, want) in [
            (None, Duration::from_secs(3600)),
            (Some(0), Duration::ZERO),
            (Some(1_000_000_000_000_000), MAX_TOKEN_LIFETIME),
            (Some(u64::MAX), MAX_TOKEN_LIFETIME),
        ] {
            let lifetime = token_lifetime(given);
            assert_eq!(lifetime, want, "{given:?}");
            // What open computes from it: no overflow, no panic.
            let expires_at = now + lifetime;
            assert!(renew_at(now, lifetime) <= expires_at);
            assert!(!rfc3339(expires_at).is_empty());
        }
    }

    #[test]
    fn open_warns_when_the_token_lives_shorter_than_the_expected_run() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let config = |expected: Option<&str>| {
            let mut c = crate::tfplugin::value::decode_json(&serde_json::json!({}), &schema().value_type()).expect("config");
            if let Some(e) = expected {
                c.set("expected_run_duration", Value::string(e));
            }
            c
        };
        // The default: 30 minutes.
        assert_eq!(expected_run(&config(None)), Duration::from_secs(1800));
        assert_eq!(expected_run(&config(Some("1h30m"))), Duration::from_secs(5400));

        let ten_minutes = Duration::from_secs(600);
        let w =
            short_lifetime_warning(ten_minutes, expected_run(&config(None)), t0 + ten_minutes).expect("a 10m token for a 30m run warns");
        assert_eq!(w.summary, "OAuth2 token expires before the run is expected to end");
        for needle in [
            "lives 10m (expires_in = 600, until 2023-11-14T22:23:20Z)",
            "shorter than `expected_run_duration` (30m)",
            "refused (401)",
            "access token expiration of the OCI confidential application",
            "urn:opc:resource:expiry=<seconds>",
            "set `expected_run_duration` lower",
        ] {
            assert!(w.detail.contains(needle), "{needle:?} in {}", w.detail);
        }
        assert_eq!(w.path, Some(AttrPath::attrs(&["expected_run_duration"])));
        // As long as or longer than the run: no warning.
        assert!(short_lifetime_warning(ten_minutes, expected_run(&config(Some("10m"))), t0).is_none());
        assert!(short_lifetime_warning(Duration::from_secs(3600), expected_run(&config(None)), t0).is_none());
        // A token that is already expired (expires_in = 0) warns.
        assert!(short_lifetime_warning(Duration::ZERO, Duration::from_secs(1), t0).is_some());
    }

    #[test]
    fn expected_run_duration_is_checked_at_plan_time() {
        use crate::tfplugin::validator::validate_attributes;
        let check = |text: &str| {
            let mut c = crate::tfplugin::value::decode_json(&serde_json::json!({}), &schema().value_type()).expect("config");
            c.set("expected_run_duration", Value::string(text));
            let mut d = Diagnostics::new();
            validate_attributes(&schema().block.attributes, &c, &AttrPath::default(), &mut d);
            d
        };
        assert!(!check("45m").has_errors());
        assert!(!check("1h30m").has_errors());
        for bad in ["0s", "30", "half an hour", ""] {
            let d = check(bad);
            assert!(d.has_errors(), "{bad:?} is refused");
            let text = format!("{d:?}");
            assert!(text.contains("expected_run_duration"), "{bad:?}: the attribute is named: {text}");
        }
    }

    #[test]
    fn durations_read_like_the_configuration() {
        for (secs, text) in [(0, "0s"), (45, "45s"), (600, "10m"), (3600, "1h"), (5430, "1h30m30s")] {
            assert_eq!(duration_text(Duration::from_secs(secs)), text);
        }
    }

    #[test]
    fn the_renewal_log_line_says_what_expires_and_never_the_token() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let line = renew_log_message("terraform-ci", "https://idcs.example.com/oauth2/v1/token", t, Duration::from_secs(90));
        for needle in [
            "still in use close to its expiry",
            "client \"terraform-ci\"",
            "https://idcs.example.com/oauth2/v1/token",
            "expires at 2023-11-14T22:13:20Z (in 1m30s)",
            "cannot be extended",
        ] {
            assert!(line.contains(needle), "{needle:?} in {line}");
        }
        // The private data holds the token and the secret; the line is built from neither.
        let p = Private {
            token: "sbx.secret-token".into(),
            expires_at: 1_700_000_000,
            token_url: "https://idcs.example.com/oauth2/v1/token".into(),
            revoke_url: None,
            client_id: "terraform-ci".into(),
            client_secret: "client-secret".into(),
            ca_cert_pem: None,
        };
        let line = renew_log_message(&p.client_id, &p.token_url, t, Duration::ZERO);
        assert!(!line.contains(&p.token) && !line.contains(&p.client_secret), "{line}");
    }

    #[test]
    fn the_docs_no_longer_promise_a_renewal_warning() {
        let s = schema();
        assert!(s.block.description.contains("shows no diagnostics from renewing"), "{}", s.block.description);
        assert!(!s.block.description.contains("a warning says so"));
    }

    #[test]
    fn oauth_errors_read_in_the_servers_words() {
        let body = br#"{"error":"invalid_client","error_description":"Client authentication failed."}"#;
        assert_eq!(oauth_error_text(body).map(|(m, _)| m).as_deref(), Some("invalid_client: Client authentication failed."));
        assert_eq!(oauth_error_text(b"<html>"), None);
    }
}
