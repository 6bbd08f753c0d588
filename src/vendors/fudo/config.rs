//! The provider's `fudo` block: its attributes, and the Fudo client configured from it.

use super::VENDOR;
use super::client::FudoClient;
use crate::provider::settings::{self, Configured, Context};
use crate::tfplugin::{AttrPath, Attribute, Diagnostics};

/// The `fudo` block of the provider schema.
pub(crate) fn block() -> Attribute {
    settings::vendor_block(
        &VENDOR,
        vec![
            settings::secret_attr("api_key", "API key, sent as the raw `Authorization` header", "IDENTITY_FUDO_API_KEY"),
            settings::batch_reads_attr("Fudo", "one listing of the user-to-OIDC assignments"),
        ],
        "Fudo",
        "Fudo PAM: assignment of users to OpenID Connect configurations.",
    )
}

/// The Fudo client, or why Fudo cannot be used.
pub(crate) fn configure(cx: &Context<'_>, diags: &mut Diagnostics) -> Configured<FudoClient> {
    let resolved = settings::url_and_credential(&VENDOR, cx, "api_key", "IDENTITY_FUDO_API_KEY", "Fudo API key", diags);
    let sends = resolved.as_ref().ok().map(|(url, _)| ("url", url.clone(), "the Fudo API key")).into_iter().collect();
    let b = cx.config.get(VENDOR.block);
    let ca_cert_pem = b.get("ca_cert_pem").as_str();
    let insecure = b.get("insecure_skip_verify").as_bool().unwrap_or(false);
    let client = settings::check_tls(&VENDOR, cx.config, diags).and(resolved).and_then(|(url, api_key)| {
        FudoClient::new(&url, &api_key, ca_cert_pem, insecure, settings::vendor_http_settings(cx.http, b)).map_err(|e| {
            let path = if ca_cert_pem.is_some() { AttrPath::attrs(&["fudo", "ca_cert_pem"]) } else { AttrPath::attrs(&["fudo"]) };
            diags.error_at(path, "Invalid Fudo configuration", e.to_string());
            e.to_string()
        })
    });
    Configured { client, sends, exposed: None }
}
