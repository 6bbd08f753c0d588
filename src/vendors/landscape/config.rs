//! The provider's `landscape` block: its attributes, and the Landscape client configured
//! from it.

use super::VENDOR;
use super::client::LandscapeClient;
use crate::provider::settings::{self, Configured, Context};
use crate::tfplugin::{AttrPath, Attribute, Diagnostics};

/// The `landscape` block of the provider schema.
pub(crate) fn block() -> Attribute {
    settings::vendor_block(
        &VENDOR,
        vec![settings::secret_attr("token", "Bearer token (JWT)", "IDENTITY_LANDSCAPE_TOKEN")],
        "Landscape",
        "Canonical Landscape: OIDC group import sessions and staged groups.",
    )
}

/// cannot be used.
pub(crate) fn configure(cx: &Context<'_>, diags: &mut Diagnostics) -> Configured<LandscapeClient> {
    let resolved = settings::url_and_credential(&VENDOR, cx, "token", "IDENTITY_LANDSCAPE_TOKEN", "Landscape token", diags);
    let sends = resolved.as_ref().ok().map(|(url, _)| ("url", url.clone(), "the Landscape token")).into_iter().collect();
    let client = settings::check_tls(&VENDOR, cx.config, diags).and(resolved).and_then(|(url, token)| {
        LandscapeClient::new(&url, &token, settings::vendor_http_settings(cx.http, cx.config.get(VENDOR.block))).inspect_err(|e| {
            diags.error_at(AttrPath::attrs(&[VENDOR.block]), "Invalid Landscape configuration", e.clone());
        })
    });
    Configured { client, sends, exposed: None }
}
