//! What the provider knows of each vendor's configuration: its provider block, its name
//! in messages, the environment variable of its URL, an example URL, and its credential.
//! The provider's schema and configuration and the failure messages (see
//! [`super::failure`]) read them from here.

/// One vendor block: its name, its name in messages, the environment variable of its URL,
/// an example URL, what serves it and the credential sent to it.
pub struct Vendor {
    pub block: &'static str,
    pub label: &'static str,
    pub url_env: &'static str,
    pub example: &'static str,
    pub server: &'static str,
    pub credential: &'static str,
    /// The settings of that credential, for a diagnostic that says which to check.
    pub credential_settings: &'static str,
}

pub const RUNAI: Vendor = Vendor {
    block: "runai",
    label: "Run:ai",
    url_env: "IDENTITY_RUNAI_URL",
    example: "https://app.run.ai",
    server: "the Run:ai server",
    credential: "the Run:ai token",
    credential_settings: "`runai.token` (or IDENTITY_RUNAI_TOKEN): an API application token of the tenant",
};
pub const FUDO: Vendor = Vendor {
    block: "fudo",
    label: "Fudo",
    url_env: "IDENTITY_FUDO_URL",
    example: "https://fudo.example.com",
    server: "the Fudo server",
    credential: "the Fudo API key",
    credential_settings: "`fudo.api_key` (or IDENTITY_FUDO_API_KEY): Fudo expects the raw API key in the Authorization header",
};
pub const SCIM: Vendor = Vendor {
    block: "scim",
    label: "SCIM",
    url_env: "IDENTITY_SCIM_URL",
    example: "https://idcs-xxxx.identity.oraclecloud.com/admin/v1",
    server: "the SCIM service and its token endpoint",
    credential: "the SCIM token or OAuth2 credentials and the access tokens",
    credential_settings: "`scim.token` (or IDENTITY_SCIM_TOKEN), or the OAuth2 client credentials `scim.client_id` / `scim.client_secret`",
};
pub const LANDSCAPE: Vendor = Vendor {
    block: "landscape",
    label: "Landscape",
    url_env: "IDENTITY_LANDSCAPE_URL",
    example: "https://landscape.canonical.com",
    server: "the Landscape server",
    credential: "the Landscape token",
    credential_settings: "`landscape.token` (or IDENTITY_LANDSCAPE_TOKEN): a JWT from Landscape's login endpoint, which expires",
};
pub const VENDORS: [&Vendor; 4] = [&RUNAI, &FUDO, &SCIM, &LANDSCAPE];

/// The vendor whose HTTP layer uses `label` in messages ("Run:ai", "SCIM", ...).
pub fn by_label(label: &str) -> Option<&'static Vendor> {
    VENDORS.into_iter().find(|v| v.label == label)
}
