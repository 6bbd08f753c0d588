//! `identity_oauth2_token` ephemeral resource: an OAuth2 access token from the OCI IAM
//! identity domain's token endpoint (client credentials or password grant), for other
//! providers, provisioners or provider blocks to call the API with. The token never
//! reaches state or plan.
//!
//! - open: requests a token, with the inputs given here or else the provider's `scim`
//!   settings; `renew_at` is set shortly before the token expires.
//! - renew: a bearer token cannot be extended. Terraform calls renew only while the
//!   token is still in use near its expiry, so renew warns that requests made with it
//!   after `expires_at` will be refused (give tokens a longer lifetime, or split the run).
//! - close: when `revoke_url` is set, revokes the token (RFC 7009), so it does not
//!   outlive the Terraform run.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::clients::http::{ApiError, Auth, Http, Repeat, Request as HttpRequest};
use crate::clients::scim::TOKEN_DIALECT;
use crate::provider::ProviderData;
use crate::tfplugin::resource::{EphemeralOpened, EphemeralRenewed, EphemeralResource};
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{AttrPath, Attribute, Diagnostic, Diagnostics, Schema, Value};

pub const TYPE_NAME: &str = "identity_oauth2_token";

pub struct OAuth2TokenEphemeral;

fn schema() -> Schema {
    Schema::new(
        "An OAuth2 access token for the OCI IAM identity domain (SCIM), obtained when Terraform needs it and never stored in state or plan. Use it in a provider block, a provisioner or another provider's write-only argument to call the API. Every input defaults to the provider's `scim` settings.\n\nA bearer token cannot be extended: when Terraform still uses the token shortly before it expires, a warning says so. With `revoke_url`, the token is revoked (RFC 7009) when Terraform is done with it.",
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

fn api_diag(summary: &str, e: &ApiError) -> Diagnostics {
    Diagnostic::error(summary, e.detail()).into()
}

/// The moment to renew: shortly before expiry (a fifth of the lifetime, at most a minute).
fn renew_at(issued: SystemTime, lifetime: Duration) -> SystemTime {
    let margin = (lifetime / 5).min(Duration::from_secs(60));
    issued + lifetime.saturating_sub(margin)
}

fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
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
        let reply = http.send(&request).await.map_err(|e| api_diag("Unable to obtain an OAuth2 token", &e))?;
        let answer: TokenAnswer = http.decode(&reply).map_err(|e| api_diag("Unable to obtain an OAuth2 token", &e))?;
        // Capped: a server's `expires_in` of u64::MAX must not overflow the dates below.
        let lifetime = crate::clients::scim::token_lifetime(answer.expires_in);
        let expires_at = issued + lifetime;
        tracing::debug!(expires_in = lifetime.as_secs(), "obtained an OAuth2 token for identity_oauth2_token");
        let mut result = config.clone();
        result.set("access_token", Value::string(answer.access_token.clone()));
        result.set("token_type", Value::string(answer.token_type.unwrap_or_else(|| "Bearer".into())));
        result.set("expires_in", Value::int(lifetime.as_secs() as i64));
        result.set("expires_at", Value::string(rfc3339(expires_at)));
        result.set("scope", Value::string(answer.scope.unwrap_or(req.scope.clone())));
        let private = Private {
            token: answer.access_token,
            expires_at: expires_at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0),
            revoke_url: req.revoke_url,
            client_id: req.client_id,
            client_secret: req.client_secret,
            ca_cert_pem: req.ca_cert_pem,
        };
        Ok(EphemeralOpened {
            result,
            private: serde_json::to_vec(&private).unwrap_or_default(),
            renew_at: Some(renew_at(issued, lifetime)),
            diags: Diagnostics::new(),
        })
    }

    async fn renew(&self, _data: &ProviderData, private: &[u8]) -> Result<EphemeralRenewed, Diagnostics> {
        let expires = serde_json::from_slice::<Private>(private)
            .map(|p| rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(p.expires_at.max(0) as u64)))
            .unwrap_or_else(|_| "soon".into());
        tracing::warn!(expires_at = %expires, "identity_oauth2_token is still in use close to its expiry");
        let mut diags = Diagnostics::new();
        diags.push(Diagnostic::warning(
            "OAuth2 token about to expire",
            format!(
                "The access token of identity_oauth2_token expires at {expires} and an OAuth2 bearer token cannot be extended. Requests made with it after that time will be refused. Give the OAuth2 client a longer token lifetime, or split the run."
            ),
        ));
        Ok(EphemeralRenewed { private: None, renew_at: None, diags })
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
    use crate::clients::scim::oauth_error_text;

    #[test]
    fn renews_shortly_before_expiry() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        assert_eq!(renew_at(t0, Duration::from_secs(3600)), t0 + Duration::from_secs(3540));
        assert_eq!(renew_at(t0, Duration::from_secs(10)), t0 + Duration::from_secs(8));
        assert_eq!(renew_at(t0, Duration::ZERO), t0);
    }

    #[test]
    fn extreme_lifetimes_are_capped_and_never_overflow() {
        use crate::clients::scim::{MAX_TOKEN_LIFETIME, token_lifetime};
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
    fn oauth_errors_read_in_the_servers_words() {
        let body = br#"{"error":"invalid_client","error_description":"Client authentication failed."}"#;
        assert_eq!(oauth_error_text(body).map(|(m, _)| m).as_deref(), Some("invalid_client: Client authentication failed."));
        assert_eq!(oauth_error_text(b"<html>"), None);
    }
}
