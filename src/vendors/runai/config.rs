//! The provider's `runai` block: its attributes, and the Run:ai client configured from it.

use super::VENDOR;
use super::client::RunaiClient;
use crate::provider::settings::{self, Configured, Context};
use crate::tfplugin::{AttrPath, Attribute, Diagnostics};

/// The `runai` block of the provider schema.
pub(crate) fn block() -> Attribute {
    settings::vendor_block(
        &VENDOR,
        vec![
            settings::secret_attr("token", "Bearer token (API application token)", "IDENTITY_RUNAI_TOKEN"),
            settings::batch_reads_attr("Run:ai", "one `GET /api/v1/idps`, which lists every idp"),
        ],
        "Run:ai",
        "Run:ai control plane: external identity providers and their mappers.",
    )
}

/// The Run:ai client, or why Run:ai cannot be used.
pub(crate) fn configure(cx: &Context<'_>, diags: &mut Diagnostics) -> Configured<RunaiClient> {
    let resolved = settings::url_and_credential(&VENDOR, cx, "token", "IDENTITY_RUNAI_TOKEN", "Run:ai token", diags);
    let sends = resolved.as_ref().ok().map(|(url, _)| ("url", url.clone(), "the Run:ai token")).into_iter().collect();
    let client = settings::check_tls(&VENDOR, cx.config, diags).and(resolved).and_then(|(url, token)| {
        RunaiClient::new(&url, &token, settings::vendor_http_settings(cx.http, cx.config.get(VENDOR.block))).inspect_err(|e| {
            diags.error_at(AttrPath::attrs(&[VENDOR.block]), "Invalid Run:ai configuration", e.clone());
        })
    });
    Configured { client, sends, exposed: None }
}
