//! The provider's `scim` block: its attributes (a static token, OAuth2 client credentials
//! or the password grant, or a workload identity token exchanged per RFC 7523), and the
//! SCIM client configured from it.

use std::sync::Arc;

use super::VENDOR;
use super::client::{AssertionGrant, Grant, ScimAuth, ScimClient};
use crate::provider::settings::{self, Configured, Context, Env, UNKNOWN_UNTIL_APPLY};
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{AttrPath, Attribute, Diagnostics, Value};

/// An example of `scim.token_url`.
const TOKEN_URL_EXAMPLE: &str = "https://idcs-xxxx.identity.oraclecloud.com/oauth2/v1/token";

/// HCP Terraform's workload identity token (`TFC_WORKLOAD_IDENTITY_TOKEN_<tag>` with a tag).
pub const TFC_TOKEN_ENV: &str = "TFC_WORKLOAD_IDENTITY_TOKEN";
/// The environment fallbacks of `scim.workload_identity`'s attributes.
pub const WI_GRANT_ENV: &str = "IDENTITY_SCIM_WORKLOAD_IDENTITY_GRANT";
pub const WI_TAG_ENV: &str = "IDENTITY_SCIM_WORKLOAD_IDENTITY_TAG";
pub const WI_FILE_ENV: &str = "IDENTITY_SCIM_WORKLOAD_IDENTITY_FILE";
/// What a tag may be: the end of an environment variable name.
const TAG_PATTERN: &str = r"^[A-Za-z0-9_]+$";
const TAG_RULE: &str = "letters, digits and underscores (the end of an environment variable name)";
/// The credentials workload identity replaces: attribute and environment variable.
const REPLACED: [(&str, &str); 3] =
    [("token", "IDENTITY_SCIM_TOKEN"), ("client_secret", "IDENTITY_SCIM_CLIENT_SECRET"), ("password", "IDENTITY_SCIM_PASSWORD")];

/// A workload identity token (a JWT), read once when the provider is configured, and how
/// it is presented to the token endpoint. Its `Debug` shows no token.
#[derive(Clone)]
pub struct WorkloadIdentity {
    pub grant: AssertionGrant,
    /// Where the token came from, for messages ("the environment variable
    /// TFC_WORKLOAD_IDENTITY_TOKEN", "the file /run/token").
    pub source: String,
    /// The JWT.
    pub jwt: String,
}

impl std::fmt::Debug for WorkloadIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkloadIdentity").field("grant", &self.grant).field("source", &self.source).finish_non_exhaustive()
    }
}

/// SCIM settings, resolved from the configuration and the environment: a static token,
/// OAuth2 client credentials (or password grant), or a workload identity token.
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
    /// Set when the access token comes from a workload identity token (then `token`,
    /// `client_secret` and `password` are not).
    pub workload_identity: Option<WorkloadIdentity>,
}

/// The `scim` block of the provider schema.
pub(crate) fn block() -> Attribute {
    settings::vendor_block(
        &VENDOR,
        vec![
            settings::secret_attr("token", "Static bearer token; alternative to OAuth2 client credentials", "IDENTITY_SCIM_TOKEN"),
            Attribute::string("client_id").optional().describe(
                "OAuth2 client id: required with `client_secret`; optional with `workload_identity`, which sends it as \
                 `client_id` in the token request when set. Environment variable: `IDENTITY_SCIM_CLIENT_ID`.",
            ),
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
            workload_identity_attr(),
            settings::batch_reads_attr(
                "SCIM",
                "a list filtered by `id eq \"a\" or id eq \"b\" ...`; once a refresh has read one user for every 50 in an \
                 identity domain of at most 2,000 users (one for every 5 in a larger one, up to 10,000 users), the listing of \
                 every user, its pages read in parallel and kept for the rest of the run; after 20 reads of one group's memberships (`identity_scim_group_member`), \
                 that group's members, read once",
            ),
        ],
        "the SCIM service (its token endpoint included)",
        "A SCIM 2.0 service, such as an Oracle OCI IAM identity domain: users, groups and memberships.",
    )
}

/// `scim.workload_identity`: the access token from a JWT instead of a client secret.
fn workload_identity_attr() -> Attribute {
    Attribute::object(
        "workload_identity",
        vec![
            Attribute::string("grant")
                .optional()
                .describe(format!(
                    "How the token is presented to the token endpoint, as OCI IAM's JWT assertion documentation names the two \
                     ways: `client_assertion` (the default), a client assertion in place of a client secret \
                     (`grant_type=client_credentials` with `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` \
                     and `client_assertion=<token>`, RFC 7523 section 2.2; the token endpoint refuses a bad one with \
                     `invalid_client`); or `jwt_bearer`, the JWT assertion grant (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` \
                     and `assertion=<token>`, RFC 7523 section 2.1; refused with `invalid_grant`). Environment variable: `{WI_GRANT_ENV}`."
                ))
                .validate(Validator::one_of(&["client_assertion", "jwt_bearer"])),
            Attribute::string("tag")
                .optional()
                .describe(format!(
                    "Read the token from `{TFC_TOKEN_ENV}_<tag>` instead of `{TFC_TOKEN_ENV}`: HCP Terraform's convention for \
                     several workload identities in one run (a workspace variable `TFC_WORKLOAD_IDENTITY_AUDIENCE_<tag>` has it \
                     issue that token). Used as written: environment variable names are case-sensitive. Environment variable: \
                     `{WI_TAG_ENV}`."
                ))
                .validate(Validator::matches(TAG_PATTERN, TAG_RULE)),
            Attribute::string("file")
                .optional()
                .describe(format!(
                    "Read the token from this file instead of the environment (for other CI systems, or a token a script \
                     writes), once, when the provider starts; whitespace around it is ignored. A relative path is relative to \
                     the directory Terraform runs in. Environment variable: `{WI_FILE_ENV}`."
                ))
                .validate(Validator::non_empty())
                .validate(Validator::conflicts_with(&["tag"])),
        ],
    )
    .optional()
    .describe(format!(
        "Obtain the access token with a workload identity token, a JWT, instead of a client secret (RFC 7523), so that no \
         long-lived secret is stored: HCP Terraform's `{TFC_TOKEN_ENV}` (or `{TFC_TOKEN_ENV}_<tag>`), or a JWT in a file. \
         `workload_identity = {{}}` presents `{TFC_TOKEN_ENV}` as a client assertion; when this attribute is not set, any of \
         `{WI_GRANT_ENV}`, `{WI_TAG_ENV}` or `{WI_FILE_ENV}` turns it on. `client_id` is sent when set. The identity domain \
         must trust the token's issuer and signing keys, and the token's audience must name the domain. The token is read \
         once when the provider starts and exchanged once per provider process (a plan, an apply); the access token it \
         brings serves every request of that process. Because some issuers accept a token only once, it is not exchanged \
         again after a 401 (the 401 is the error; the next run exchanges its own token); only when the access token runs out \
         within the process is it exchanged a second time, as the only way to go on, which an issuer that accepts a token \
         once (or a token expired by then) refuses: give the access tokens a lifetime longer than a run. The token is a \
         secret: it never reaches the state, the logs or an error message. `grant_type = \"password\"` conflicts with it, \
         and so do the credentials it replaces when their environment variables set them (IDENTITY_SCIM_TOKEN, \
         IDENTITY_SCIM_CLIENT_SECRET, IDENTITY_SCIM_PASSWORD)."
    ))
    .validate(Validator::conflicts_with(&["token", "client_secret", "password"]))
}

/// The checks of `scim.token_url` that validation makes before configuration (beside
/// the URL and TLS checks every block has).
pub(crate) fn validate_token_url(config: &Value, env: Env<'_>, diags: &mut Diagnostics) {
    let _ = settings::url_setting("scim", config.get("scim"), "token_url", None, TOKEN_URL_EXAMPLE, env, diags);
}

/// `scim.workload_identity`'s settings, from the configuration or the environment, before
/// the token is read.
struct WiSettings {
    grant: AssertionGrant,
    tag: Option<String>,
    file: Option<String>,
}

/// Whether `name` of the block `b` comes from the configuration (not its environment
/// variable).
fn configured(b: &Value, name: &str) -> bool {
    matches!(b.get(name), Value::String(s) if !s.is_empty())
}

/// The path of an attribute of `scim.workload_identity`.
fn wi_path(attr: Option<&str>) -> AttrPath {
    match attr {
        Some(a) => AttrPath::attrs(&["scim", "workload_identity", a]),
        None => AttrPath::attrs(&["scim", "workload_identity"]),
    }
}

/// The workload identity settings, checked: Ok(None) when workload identity is off, Err
/// when they are unknown (Err(None)) or invalid (Err(Some(why)), with errors at their
/// paths). Used at validation and at configuration, which report the same errors; a
/// conflict that lies wholly in the configuration is left to the schema's validators.
fn workload_identity_settings(b: &Value, env: Env<'_>, diags: &mut Diagnostics) -> Result<Option<WiSettings>, Option<String>> {
    let w = b.get("workload_identity");
    if b.is_unknown() || w.is_unknown() {
        return Err(None);
    }
    let read = |name: &str, var: &str| settings::setting(w, name, Some(var), env).map_err(|()| None);
    let (grant, tag, file) = (read("grant", WI_GRANT_ENV)?, read("tag", WI_TAG_ENV)?, read("file", WI_FILE_ENV)?);
    if w.is_null() && grant.is_none() && tag.is_none() && file.is_none() {
        return Ok(None);
    }
    let mut valid = true;
    let from_env = |name: &str| !configured(w, name);
    let grant = match grant.as_deref() {
        None => AssertionGrant::ClientAssertion,
        Some(g) => {
            match AssertionGrant::from_name(g) {
                Some(g) => g,
                None => {
                    // A configured value is refused by the schema's validator already.
                    if from_env("grant") {
                        diags.error_at(
                        wi_path(Some("grant")),
                        format!("Invalid {WI_GRANT_ENV}"),
                        format!("The environment variable {WI_GRANT_ENV} is {g:?}, which is not one of \"client_assertion\", \"jwt_bearer\"."),
                    );
                    }
                    valid = false;
                    AssertionGrant::ClientAssertion
                }
            }
        }
    };
    if let Some(t) = tag.as_deref().filter(|t| !regex::Regex::new(TAG_PATTERN).is_ok_and(|re| re.is_match(t))) {
        if from_env("tag") {
            diags.error_at(
                wi_path(Some("tag")),
                format!("Invalid {WI_TAG_ENV}"),
                format!("The environment variable {WI_TAG_ENV} is {t:?}, which is not made of {TAG_RULE}."),
            );
        }
        valid = false;
    }
    if tag.is_some() && file.is_some() && (from_env("tag") || from_env("file")) {
        diags.error_at(
            wi_path(Some("file")),
            "Conflicting workload identity settings",
            format!(
                "The workload identity token comes either from the environment (`scim.workload_identity.tag`, {WI_TAG_ENV}) or \
                 from a file (`scim.workload_identity.file`, {WI_FILE_ENV}), not both; both are set."
            ),
        );
        valid = false;
    }
    if tag.is_some() && file.is_some() {
        valid = false;
    }
    for (attr, var) in REPLACED {
        let in_config = configured(b, attr);
        let set = in_config || env(var).is_some_and(|v| !v.trim().is_empty());
        if !set {
            continue;
        }
        valid = false;
        // Both in the configuration: the schema's `conflicts_with` says so.
        if in_config && !w.is_null() {
            continue;
        }
        let wi_where = if w.is_null() { "the IDENTITY_SCIM_WORKLOAD_IDENTITY_* environment variables" } else { "the configuration" };
        let other_where = if in_config { "in the configuration".to_string() } else { format!("by the environment variable {var}") };
        diags.error_at(
            wi_path(None),
            "Conflicting SCIM credentials",
            format!(
                "`scim.workload_identity` (set by {wi_where}) obtains the access token with a workload identity token instead \
                 of a secret, and `scim.{attr}` is set too ({other_where}). Use one of them: with workload identity, remove \
                 `scim.{attr}`{}.",
                if in_config { String::new() } else { format!(" and unset {var}") }
            ),
        );
    }
    if b.get("grant_type").as_str() == Some("password") {
        diags.error_at(
            AttrPath::attrs(&["scim", "grant_type"]),
            "Conflicting SCIM credentials",
            "`scim.grant_type` is \"password\", which logs in with a user's password, while `scim.workload_identity` obtains the \
             access token with a workload identity token. Use one of them.",
        );
        valid = false;
    }
    if valid { Ok(Some(WiSettings { grant, tag, file })) } else { Err(Some("The SCIM workload identity settings are not valid.".into())) }
}

/// The checks of `scim.workload_identity` that validation makes before configuration:
/// conflicts with other credentials (in the configuration or the environment) and the
/// values of its environment variables.
pub(crate) fn validate_workload_identity(config: &Value, env: Env<'_>, diags: &mut Diagnostics) {
    let _ = workload_identity_settings(config.get("scim"), env, diags);
}

/// Whether `s` looks like a JWT (JWS compact serialization): three base64url parts
/// separated by dots, the first two not empty. Nothing of it is shown when it does not.
fn looks_like_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && !parts[0].is_empty()
        && !parts[1].is_empty()
        && parts.iter().all(|p| p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'))
}

/// The workload identity token: read from its file or environment variable, once.
fn read_workload_identity(wi: WiSettings, env: Env<'_>, diags: &mut Diagnostics) -> Result<WorkloadIdentity, String> {
    let (source, path, jwt) = match (&wi.file, &wi.tag) {
        (Some(file), _) => {
            let source = format!("the file {file}");
            match std::fs::read_to_string(file) {
                Ok(text) => (source, wi_path(Some("file")), text.trim().to_string()),
                Err(e) => {
                    diags.error_at(
                        wi_path(Some("file")),
                        "Cannot read the workload identity token",
                        format!("`scim.workload_identity.file` (or {WI_FILE_ENV}) is {file:?}, which cannot be read: {e}."),
                    );
                    return Err(format!("The workload identity token file {file} cannot be read."));
                }
            }
        }
        (None, tag) => {
            let var = match tag {
                Some(t) => format!("{TFC_TOKEN_ENV}_{t}"),
                None => TFC_TOKEN_ENV.to_string(),
            };
            let path = wi_path(tag.as_ref().map(|_| "tag"));
            match env(&var).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
                Some(jwt) => (format!("the environment variable {var}"), path, jwt),
                None => {
                    let audience_var = var.replacen("_TOKEN", "_AUDIENCE", 1);
                    diags.error_at(
                        path,
                        "Missing workload identity token",
                        format!(
                            "`scim.workload_identity` reads the token from the environment variable {var}, which is not set. In \
                             HCP Terraform, set the workspace variable {audience_var} (the audience the identity domain expects) \
                             so that each run gets that token; elsewhere, write the token to a file and set \
                             `scim.workload_identity.file`."
                        ),
                    );
                    return Err(format!("The workload identity token ({var}) is missing."));
                }
            }
        }
    };
    if jwt.is_empty() || !looks_like_jwt(&jwt) {
        diags.error_at(
            path,
            "Invalid workload identity token",
            format!(
                "The workload identity token from {source} is {}: a JWT is three base64url parts separated by dots.",
                if jwt.is_empty() { "empty" } else { "not a JWT" }
            ),
        );
        return Err(format!("The workload identity token from {source} is not usable."));
    }
    Ok(WorkloadIdentity { grant: wi.grant, source, jwt })
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
    let workload_identity = match workload_identity_settings(b, env, diags) {
        Ok(None) => None,
        Ok(Some(wi)) => Some(read_workload_identity(wi, env, diags)?),
        Err(None) => return Err(UNKNOWN_UNTIL_APPLY.to_string()),
        Err(Some(why)) => return Err(why),
    };
    if token.is_none() && workload_identity.is_none() {
        for (name, v, var) in
            [("client_id", &client_id, "IDENTITY_SCIM_CLIENT_ID"), ("client_secret", &client_secret, "IDENTITY_SCIM_CLIENT_SECRET")]
        {
            if v.is_none() {
                diags.error_at(
                    AttrPath::attrs(&["scim", name]),
                    "Missing SCIM credentials",
                    format!("`scim.url` is set but there is neither a `scim.token` (IDENTITY_SCIM_TOKEN) nor OAuth2 client credentials: set `scim.{name}` or {var} (or, instead of a client secret, `scim.workload_identity`)."),
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
        workload_identity,
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
            let credentials = if sc.workload_identity.is_some() { "the workload identity token" } else { "the OAuth2 client credentials" };
            sends.push(("token_url", sc.token_url.clone(), credentials));
        }
        exposed = Some(match (&sc.token, &sc.workload_identity, sc.grant_type.as_str()) {
            (Some(_), _, _) => "the SCIM token",
            (None, Some(_), _) => "the workload identity token and the access tokens",
            (None, None, "password") => "the OAuth2 client secret, the user's password and the access tokens",
            (None, None, _) => "the OAuth2 client secret and the access tokens",
        });
    }
    let client = settings::check_tls(&VENDOR, cx.config, diags).and_then(|()| resolved.clone()).and_then(|sc| {
        let auth = match (&sc.token, &sc.workload_identity) {
            (Some(t), _) => ScimAuth::Static(t.clone()),
            (None, Some(wi)) => ScimAuth::Assertion {
                token_url: sc.token_url.clone(),
                client_id: sc.client_id.clone(),
                assertion: wi.jwt.clone(),
                source: wi.source.clone(),
                grant: wi.grant,
                scope: sc.scope.clone(),
            },
            (None, None) => ScimAuth::OAuth2 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpSettings;
    use crate::tfplugin::validator::validate_attributes;

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FwcC50ZXJyYWZvcm0uaW8ifQ.c2lnbmF0dXJl";

    fn scim(pairs: &[(&str, Value)]) -> Value {
        let mut b = Value::object_of(&[("url", "https://idcs-x.identity.oraclecloud.com/admin/v1".into())]);
        for (k, v) in pairs {
            b.set(k, v.clone());
        }
        Value::object_of(&[("scim", b)])
    }

    fn wi(pairs: &[(&str, &str)]) -> Value {
        Value::object_of(&pairs.iter().map(|(k, v)| (*k, Value::from(*v))).collect::<Vec<_>>())
    }

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    /// The schema's validators and the provider's own checks, as ValidateProviderConfig runs them.
    fn validate(config: &Value, vars: &[(&str, &str)]) -> Diagnostics {
        let mut d = Diagnostics::new();
        validate_attributes(&[block()], config, &AttrPath::root(), &mut d);
        validate_workload_identity(config, &env_of(vars), &mut d);
        d
    }

    fn configure_in(config: &Value, vars: &[(&str, &str)]) -> (Result<ScimSettings, String>, Result<Arc<ScimClient>, String>, Diagnostics) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let _in_runtime = rt.enter();
        let env = env_of(vars);
        let http = HttpSettings::default();
        let mut d = Diagnostics::new();
        let (settings, configured) = configure(&Context { config, env: &env, http: &http }, &mut d);
        (settings, configured.client, d)
    }

    /// (path, summary, detail) of each error.
    fn errors(d: &Diagnostics) -> Vec<(String, String, String)> {
        d.iter()
            .filter(|x| x.severity == crate::tfplugin::diag::Severity::Error)
            .map(|x| (x.path.as_ref().map(|p| p.to_string()).unwrap_or_default(), x.summary.clone(), x.detail.clone()))
            .collect()
    }

    #[test]
    fn the_token_comes_from_hcp_terraforms_variable_a_tagged_one_or_a_file() {
        let (s, client, d) = configure_in(&scim(&[("workload_identity", wi(&[]))]), &[("TFC_WORKLOAD_IDENTITY_TOKEN", JWT)]);
        assert!(d.is_empty(), "{d}");
        let w = s.expect("settings").workload_identity.expect("workload identity");
        assert_eq!(
            (w.grant, w.source.as_str(), w.jwt.as_str()),
            (AssertionGrant::ClientAssertion, "the environment variable TFC_WORKLOAD_IDENTITY_TOKEN", JWT)
        );
        assert!(!format!("{w:?}").contains(JWT), "{w:?}");
        assert!(client.is_ok());

        let c = scim(&[("workload_identity", wi(&[("tag", "OCI"), ("grant", "jwt_bearer")])), ("client_id", "app".into())]);
        let vars = [("TFC_WORKLOAD_IDENTITY_TOKEN", "eyJ.untagged.x"), ("TFC_WORKLOAD_IDENTITY_TOKEN_OCI", &format!(" {JWT}\n"))];
        let (s, _, d) = configure_in(&c, &vars);
        assert!(d.is_empty(), "{d}");
        let s = s.expect("settings");
        let w = s.workload_identity.expect("workload identity");
        assert_eq!(
            (w.grant, w.source.as_str(), w.jwt.as_str()),
            (AssertionGrant::JwtBearer, "the environment variable TFC_WORKLOAD_IDENTITY_TOKEN_OCI", JWT)
        );
        assert_eq!(s.client_id.as_deref(), Some("app"));

        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("token.jwt");
        std::fs::write(&file, format!("{JWT}\n")).expect("write");
        let path = file.to_string_lossy().into_owned();
        // Turned on by the environment alone.
        let (s, _, d) = configure_in(&scim(&[]), &[(WI_FILE_ENV, &path), (WI_GRANT_ENV, "jwt_bearer")]);
        assert!(d.is_empty(), "{d}");
        let w = s.expect("settings").workload_identity.expect("workload identity");
        assert_eq!((w.grant, w.source, w.jwt.as_str()), (AssertionGrant::JwtBearer, format!("the file {path}"), JWT));
        // Off without the block or its variables, whatever TFC_WORKLOAD_IDENTITY_TOKEN holds.
        let (s, _, _) = configure_in(&scim(&[("token", "t".into())]), &[("TFC_WORKLOAD_IDENTITY_TOKEN", JWT)]);
        assert!(s.expect("settings").workload_identity.is_none());
    }

    #[test]
    fn a_missing_or_unusable_token_is_an_error_at_its_attribute() {
        let (s, _, d) = configure_in(&scim(&[("workload_identity", wi(&[("tag", "OCI")]))]), &[("TFC_WORKLOAD_IDENTITY_TOKEN", JWT)]);
        assert!(s.is_err());
        let e = errors(&d);
        assert_eq!((e.len(), e[0].0.as_str(), e[0].1.as_str()), (1, "scim.workload_identity.tag", "Missing workload identity token"));
        assert!(e[0].2.contains("TFC_WORKLOAD_IDENTITY_TOKEN_OCI") && e[0].2.contains("TFC_WORKLOAD_IDENTITY_AUDIENCE_OCI"), "{}", e[0].2);

        let (_, _, d) = configure_in(&scim(&[("workload_identity", wi(&[]))]), &[]);
        assert_eq!(errors(&d)[0].0, "scim.workload_identity");

        let (_, _, d) = configure_in(&scim(&[("workload_identity", wi(&[("file", "/nonexistent/token")]))]), &[]);
        let e = errors(&d);
        assert_eq!((e[0].0.as_str(), e[0].1.as_str()), ("scim.workload_identity.file", "Cannot read the workload identity token"));
        assert!(e[0].2.contains("/nonexistent/token"), "{}", e[0].2);

        for bad in ["s3cret-not-a-jwt", "a.b", "eyJ.x.y.z", "eyJ.x y.z", "  "] {
            let (s, _, d) = configure_in(&scim(&[("workload_identity", wi(&[]))]), &[("TFC_WORKLOAD_IDENTITY_TOKEN", bad)]);
            assert!(s.is_err(), "{bad:?}");
            let e = errors(&d);
            assert_eq!(e.len(), 1, "{bad:?}: {d}");
            assert!(e[0].1 == "Invalid workload identity token" || e[0].1 == "Missing workload identity token", "{bad:?}: {d}");
            assert!(!format!("{d}").contains("s3cret"), "the value is not shown: {d}");
        }
    }

    #[test]
    fn workload_identity_conflicts_with_other_credentials_wherever_they_are_set() {
        let block = wi(&[]);
        // In the configuration: the schema's validators, at the path.
        for attr in ["token", "client_secret", "password"] {
            let d = validate(&scim(&[("workload_identity", block.clone()), (attr, "s3cret".into())]), &[]);
            let e = errors(&d);
            assert_eq!(e.len(), 1, "{attr}: {d}");
            assert_eq!((e[0].0.as_str(), e[0].1.as_str()), ("scim.workload_identity", "Conflicting attributes"), "{attr}");
            assert!(e[0].2.contains(&format!("scim.{attr}")), "{}", e[0].2);
        }
        let d = validate(&scim(&[("workload_identity", wi(&[("tag", "A"), ("file", "/t")]))]), &[]);
        assert_eq!(errors(&d).iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["scim.workload_identity.file"], "{d}");
        let d = validate(&scim(&[("workload_identity", wi(&[("grant", "client_secret_jwt"), ("tag", "a-b")]))]), &[]);
        let paths: Vec<String> = errors(&d).into_iter().map(|e| e.0).collect();
        assert_eq!(paths, ["scim.workload_identity.grant", "scim.workload_identity.tag"], "{d}");
        let d = validate(&scim(&[("workload_identity", block.clone()), ("grant_type", "password".into())]), &[]);
        assert_eq!(
            errors(&d).iter().map(|e| (e.0.as_str(), e.1.as_str())).collect::<Vec<_>>(),
            [("scim.grant_type", "Conflicting SCIM credentials")]
        );

        // One side from the environment: the provider's own check, naming the variable.
        for (attr, var) in REPLACED {
            let d = validate(&scim(&[("workload_identity", block.clone())]), &[(var, "s3cret")]);
            let e = errors(&d);
            assert_eq!((e.len(), e[0].0.as_str(), e[0].1.as_str()), (1, "scim.workload_identity", "Conflicting SCIM credentials"), "{d}");
            assert!(e[0].2.contains(&format!("`scim.{attr}`")) && e[0].2.contains(&format!("unset {var}")), "{}", e[0].2);
            let d = validate(&scim(&[(attr, "s3cret".into())]), &[(WI_TAG_ENV, "OCI")]);
            let e = errors(&d);
            assert_eq!(e.len(), 1, "{d}");
            assert!(e[0].2.contains("IDENTITY_SCIM_WORKLOAD_IDENTITY_*") && e[0].2.contains("in the configuration"), "{}", e[0].2);
            assert!(!format!("{d}").contains("s3cret"));
            // Configure says the same (and so does not configure SCIM).
            let (s, _, d) =
                configure_in(&scim(&[("workload_identity", block.clone())]), &[(var, "s3cret"), ("TFC_WORKLOAD_IDENTITY_TOKEN", JWT)]);
            assert!(s.is_err() && errors(&d)[0].1 == "Conflicting SCIM credentials", "{d}");
        }
        let d = validate(&scim(&[]), &[(WI_GRANT_ENV, "nope"), (WI_TAG_ENV, "bad tag")]);
        let e = errors(&d);
        assert_eq!(
            e.iter().map(|x| x.1.as_str()).collect::<Vec<_>>(),
            [format!("Invalid {WI_GRANT_ENV}"), format!("Invalid {WI_TAG_ENV}")]
        );
        let d = validate(&scim(&[("workload_identity", wi(&[("tag", "A")]))]), &[(WI_FILE_ENV, "/t")]);
        assert_eq!(errors(&d).iter().map(|e| e.1.as_str()).collect::<Vec<_>>(), ["Conflicting workload identity settings"]);
        // Unknown until apply: nothing is checked yet.
        let d = validate(&scim(&[("workload_identity", Value::unknown()), ("client_secret", "s".into())]), &[]);
        assert!(d.is_empty(), "{d}");
        // A client id without a secret is fine with workload identity.
        let d = validate(&scim(&[("workload_identity", block), ("client_id", "app".into())]), &[]);
        assert!(d.is_empty(), "{d}");
    }

    #[test]
    fn every_workload_identity_attribute_is_described() {
        let b = block();
        let crate::tfplugin::schema::AttrKind::Nested { attributes, .. } = &b.kind else { panic!("scim is nested") };
        let w = attributes.iter().find(|a| a.name == "workload_identity").expect("workload_identity");
        assert!(w.description.contains("TFC_WORKLOAD_IDENTITY_TOKEN") && w.description.contains("once per provider process"));
        let crate::tfplugin::schema::AttrKind::Nested { attributes, .. } = &w.kind else { panic!("workload_identity is nested") };
        for (name, var) in [("grant", WI_GRANT_ENV), ("tag", WI_TAG_ENV), ("file", WI_FILE_ENV)] {
            let a = attributes.iter().find(|a| a.name == name).unwrap_or_else(|| panic!("{name}"));
            assert!(a.optional && a.description.contains(var), "{name}");
        }
    }
}
