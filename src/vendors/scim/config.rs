//! The provider's `scim` block: its attributes (a static token, or OAuth2 client
//! credentials or the password grant), and the SCIM client configured from it.

use std::sync::Arc;

use super::VENDOR;
use super::client::{Grant, ScimAuth, ScimClient};
use crate::provider::settings::{self, Configured, Context, Env, UNKNOWN_UNTIL_APPLY};
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{AttrPath, Attribute, Diagnostics, Value};

/// An example of `scim.token_url`.
const TOKEN_URL_EXAMPLE: &str = "https://idcs-xxxx.identity.oraclecloud.com/oauth2/v1/token";

/// SCIM settings, resolved from the configuration and the environment: a static token,
/// or OAuth2 client credentials (or password grant).
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

/// The `scim` block of the provider schema.
pub(crate) fn block() -> Attribute {
    settings::vendor_block(
        &VENDOR,
        vec![
            settings::secret_attr("token", "Static bearer token; alternative to OAuth2 client credentials", "IDENTITY_SCIM_TOKEN"),
            Attribute::string("client_id").optional().describe("OAuth2 client id. Environment variable: `IDENTITY_SCIM_CLIENT_ID`."),
            settings::secret_attr("client_secret", "OAuth2 client secret", "IDENTITY_SCIM_CLIENT_SECRET"),
            Attribute::string("grant_type")
                .optional()
                .describe("OAuth2 grant: `client_credentials` (default) or `password`.")
                .validate(Validator::one_of(&["client_credentials", "password"])),
            Attribute::string("username")
                .optional()
                .describe("User for the `password` grant. Environment variable: `IDENTITY_SCIM_USERNAME`."),
            settings::secret_attr("password", "Password for the `password` grant", "IDENTITY_SCIM_PASSWORD"),
            Attribute::string("scope").optional().describe("OAuth2 scope. Defaults to `urn:opc:idm:__myscopes__`."),
            Attribute::string("token_url")
                .optional()
                .describe("OAuth2 token endpoint. Defaults to `url` with a trailing `/admin/v1` replaced by `/oauth2/v1/token`.")
                .validate(settings::url_validator()),
        ],
        "the SCIM service (its token endpoint included)",
        "A SCIM 2.0 service, such as an Oracle OCI IAM identity domain: users, groups and memberships.",
    )
}

/// The checks of `scim.token_url` that validation makes before configuration (beside
/// the URL and TLS checks every block has).
pub(crate) fn validate_token_url(config: &Value, env: Env<'_>, diags: &mut Diagnostics) {
    let _ = settings::url_setting("scim", config.get("scim"), "token_url", None, TOKEN_URL_EXAMPLE, env, diags);
}

/// The settings, from the block or the environment.
fn resolve(cx: &Context<'_>, diags: &mut Diagnostics) -> Result<ScimSettings, String> {
    let (config, env) = (cx.config, cx.env);
    let b = config.get("scim");
    let unknown = |()| UNKNOWN_UNTIL_APPLY.to_string();
    let url = settings::vendor_url(&VENDOR, config, env, diags)?.ok_or_else(|| {
        settings::how_to("scim", &[("url", "IDENTITY_SCIM_URL"), ("token", "IDENTITY_SCIM_TOKEN")])
            + " Instead of a token, OAuth2 works too: `scim.client_id` and `scim.client_secret` (IDENTITY_SCIM_CLIENT_ID, IDENTITY_SCIM_CLIENT_SECRET)."
    })?;
    let token = settings::setting(b, "token", Some("IDENTITY_SCIM_TOKEN"), env).map_err(unknown)?;
    let client_id = settings::setting(b, "client_id", Some("IDENTITY_SCIM_CLIENT_ID"), env).map_err(unknown)?;
    let client_secret = settings::setting(b, "client_secret", Some("IDENTITY_SCIM_CLIENT_SECRET"), env).map_err(unknown)?;
    let username = settings::setting(b, "username", Some("IDENTITY_SCIM_USERNAME"), env).map_err(unknown)?;
    let password = settings::setting(b, "password", Some("IDENTITY_SCIM_PASSWORD"), env).map_err(unknown)?;
    let grant_type = settings::setting(b, "grant_type", None, env).map_err(unknown)?.unwrap_or_else(|| "client_credentials".into());
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
    let token_url =
        settings::url_setting("scim", b, "token_url", None, TOKEN_URL_EXAMPLE, env, diags)?.unwrap_or_else(|| default_token_url(&url));
    Ok(ScimSettings {
        token,
        client_id,
        client_secret,
        grant_type,
        username,
        password,
        scope: settings::setting(b, "scope", None, env).map_err(unknown)?.unwrap_or_else(|| "urn:opc:idm:__myscopes__".into()),
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

/// The SCIM settings and client (one per provider process: its token cache is shared by
/// every resource), or why SCIM cannot be used.
pub(crate) fn configure(cx: &Context<'_>, diags: &mut Diagnostics) -> (Result<ScimSettings, String>, Configured<Arc<ScimClient>>) {
    let resolved = resolve(cx, diags);
    let mut sends = Vec::new();
    let mut exposed = None;
    if let Ok(sc) = &resolved {
        sends.push(("url", sc.url.clone(), if sc.token.is_some() { "the SCIM token" } else { "access tokens" }));
        if sc.token.is_none() {
            sends.push(("token_url", sc.token_url.clone(), "the OAuth2 client credentials"));
        }
        exposed = Some(match (&sc.token, sc.grant_type.as_str()) {
            (Some(_), _) => "the SCIM token",
            (None, "password") => "the OAuth2 client secret, the user's password and the access tokens",
            (None, _) => "the OAuth2 client secret and the access tokens",
        });
    }
    let client = settings::check_tls(&VENDOR, cx.config, diags).and_then(|()| resolved.clone()).and_then(|sc| {
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
        let http = settings::vendor_http_settings(cx.http, cx.config.get(VENDOR.block));
        ScimClient::new(&sc.url, auth, sc.ca_cert_pem.as_deref(), http).map(Arc::new).inspect_err(|e| {
            diags.error_at(AttrPath::attrs(&[VENDOR.block]), "Invalid SCIM configuration", e.clone());
        })
    });
    (resolved, Configured { client, sends, exposed })
}
