//! The paging shared by the SCIM list resources (`identity_scim_users`,
//! `identity_scim_groups` in `terraform query`).

use super::model::ScimObject;
use crate::provider::ProviderData;

/// Pages through the users or groups, sending each one's identity (its `id`) with its
/// natural key (`userName`, `displayName`; the id when it has none) as the display name,
/// until the sink wants no more.
pub(crate) async fn list_scim<T: ScimObject>(
    data: &ProviderData,
    filter: Option<&str>,
    sink: &crate::tfplugin::resource::ListSink,
) -> Result<(), crate::tfplugin::Diagnostics> {
    use crate::tfplugin::Value;
    use crate::tfplugin::resource::ListedObject;
    const PAGE: usize = 100;
    let c = data.scim_client()?;
    let what = T::COLLECTION.trim_start_matches('/');
    let mut start = 1;
    // Bounded whatever the server answers: a page without a new id, or too many pages,
    // ends the listing with an error (a server claiming more results forever).
    let mut seen = std::collections::HashSet::new();
    for _ in 0..crate::vendors::scim::client::MAX_LIST_PAGES {
        let page = c
            .list_page::<T>(filter, &[], start, PAGE)
            .await
            .map_err(|e| crate::vendors::failure::api_diag(&format!("Unable to list {what}"), &e))?;
        let got = page.resources.len();
        let mut new = 0;
        for r in &page.resources {
            let Some(id) = r.id() else { continue };
            if !seen.insert(id.to_string()) {
                continue;
            }
            new += 1;
            let name = r.key().unwrap_or(id);
            if !sink.send(ListedObject { identity: Value::object_of(&[("id", Value::string(id))]), display_name: name.to_string() }).await {
                return Ok(());
            }
        }
        if got == 0 || start - 1 + got >= page.total_results {
            return Ok(());
        }
        if new == 0 {
            return Err(crate::tfplugin::Diagnostic::error(
                format!("Unable to list {what}"),
                format!(
                    "The SCIM server's page at startIndex {start} brought no {what} with a new id, while totalResults says {}: \
                     the listing stopped here.",
                    page.total_results
                ),
            )
            .into());
        }
        start += got;
    }
    Err(crate::tfplugin::Diagnostic::error(
        format!("Unable to list {what}"),
        format!("The listing was stopped after {} pages.", crate::vendors::scim::client::MAX_LIST_PAGES),
    )
    .into())
}
