//! The `identity` provider: its configuration schema, and configuration into clients.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::clients::HttpSettings;
use crate::clients::runai::RunaiClient;
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

/// What configuration produces: one client per configured vendor.
pub struct ProviderData {
    runai: Result<RunaiClient, String>,
}

impl ProviderData {
    /// The Run:ai client, or a diagnostic saying how to configure it.
    pub fn runai(&self) -> Result<&RunaiClient, Diagnostics> {
        self.runai.as_ref().map_err(|why| Diagnostic::error("Run:ai is not configured", why.clone()).into())
    }
}

fn url_attr(example: &str, env: &str) -> Attribute {
    Attribute::string("url")
        .optional()
        .describe(format!("Base URL of the API, e.g. `{example}`. Environment variable: `{env}`."))
        .validate(Validator::matches(r"^https?://[^\s/]+(/\S*)?$", "an http:// or https:// URL"))
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
                    ],
                )
                .optional()
                .describe("Run:ai control plane: external identity providers and their mappers."),
                Attribute::object(
                    "fudo",
                    vec![
                        url_attr("https://fudo.example.com", "IDENTITY_FUDO_URL"),
                        secret_attr("api_key", "API key, sent as the raw `Authorization` header", "IDENTITY_FUDO_API_KEY"),
                        Attribute::string("ca_cert_pem")
                            .optional()
                            .describe("PEM bundle of the CA that signed the Fudo server certificate (for self-signed deployments)."),
                        Attribute::bool("insecure_skip_verify")
                            .optional()
                            .describe("Skip TLS certificate verification. Insecure: every run shows a warning. Defaults to `false`."),
                    ],
                )
                .optional()
                .describe("Fudo PAM: assignment of users to OpenID Connect configurations."),
                Attribute::object(
                    "scim",
                    vec![
                        url_attr("https://idcs-xxxx.identity.oraclecloud.com/admin/v1", "IDENTITY_SCIM_URL"),
                        secret_attr("token", "Static bearer token; alternative to OAuth2 client credentials", "IDENTITY_SCIM_TOKEN"),
                        Attribute::string("client_id").optional().describe("OAuth2 client id. Environment variable: `IDENTITY_SCIM_CLIENT_ID`."),
                        secret_attr("client_secret", "OAuth2 client secret", "IDENTITY_SCIM_CLIENT_SECRET"),
                        Attribute::string("grant_type")
                            .optional()
                            .describe("OAuth2 grant: `client_credentials` (default) or `password`.")
                            .validate(Validator::one_of(&["client_credentials", "password"])),
                        Attribute::string("username").optional().describe("User for the `password` grant. Environment variable: `IDENTITY_SCIM_USERNAME`."),
                        secret_attr("password", "Password for the `password` grant", "IDENTITY_SCIM_PASSWORD"),
                        Attribute::string("scope").optional().describe("OAuth2 scope. Defaults to `urn:opc:idm:__myscopes__`."),
                        Attribute::string("token_url")
                            .optional()
                            .describe("OAuth2 token endpoint. Defaults to `url` with a trailing `/admin/v1` replaced by `/oauth2/v1/token`."),
                        Attribute::string("ca_cert_pem").optional().describe("PEM bundle of an extra CA to trust for the SCIM service."),
                    ],
                )
                .optional()
                .describe("A SCIM 2.0 service, such as an Oracle OCI IAM identity domain: users, groups and memberships."),
                Attribute::object(
                    "landscape",
                    vec![
                        url_attr("https://landscape.canonical.com", "IDENTITY_LANDSCAPE_URL"),
                        secret_attr("token", "Bearer token (JWT)", "IDENTITY_LANDSCAPE_TOKEN"),
                    ],
                )
                .optional()
                .describe("Canonical Landscape: OIDC group import sessions and staged groups."),
                Attribute::number("request_timeout")
                    .optional()
                    .describe("Timeout of one HTTP request, in seconds. Defaults to `30`.")
                    .validate(Validator::IntBetween { min: 1, max: 3600 }),
                Attribute::number("max_retries")
                    .optional()
                    .describe("How many times a failed idempotent request (429, 502, 503, 504, connection errors) is retried. Defaults to `5`.")
                    .validate(Validator::IntBetween { min: 0, max: 100 }),
            ],
        )
    }
}

/// A setting from the configuration, else from the environment. `Err` when unknown.
fn setting(block: &Value, name: &str, env: Option<&str>) -> Result<Option<String>, ()> {
    match block.get(name) {
        Value::Unknown(_) => Err(()),
        Value::String(s) if !s.is_empty() => Ok(Some(s.clone())),
        _ => Ok(env.and_then(|e| std::env::var(e).ok()).filter(|s| !s.is_empty())),
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
        };

        let runai_block = config.get("runai");
        let runai = match (setting(runai_block, "url", Some("IDENTITY_RUNAI_URL")), setting(runai_block, "token", Some("IDENTITY_RUNAI_TOKEN"))) {
            (Err(()), _) | (_, Err(())) => Err("The Run:ai settings are not known until apply (they depend on other resources).".to_string()),
            (Ok(None), _) => Err("Set `runai.url` in the provider configuration or the IDENTITY_RUNAI_URL environment variable \
                                  (and `runai.token` or IDENTITY_RUNAI_TOKEN)."
                .to_string()),
            (Ok(Some(_)), Ok(None)) => {
                diags.error_at(
                    AttrPath::attrs(&["runai", "token"]),
                    "Missing Run:ai token",
                    "`runai.url` is set but no token is: set `runai.token` or the IDENTITY_RUNAI_TOKEN environment variable.",
                );
                Err("The Run:ai token is missing.".to_string())
            }
            (Ok(Some(url)), Ok(Some(token))) => RunaiClient::new(&url, &token, settings.clone()).map_err(|e| {
                diags.error_at(AttrPath::attrs(&["runai"]), "Invalid Run:ai configuration", e.clone());
                e
            }),
        };

        if diags.has_errors() {
            return None;
        }
        Some(ProviderData { runai })
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<ProviderData>>> {
        resources::all()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<ProviderData>>> {
        data_sources::all()
    }
}
