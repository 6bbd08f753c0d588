//! List resources for `terraform query` (Terraform 1.14+), one file each. Each names the
//! objects of one managed resource type by their resource identity; the framework reads
//! the full objects through the resource when Terraform asks for them.

use std::sync::Arc;

use crate::provider::ProviderData;
use crate::tfplugin::resource::ListResource;

pub mod idps;
pub mod scim_groups;
pub mod scim_users;
pub mod user_oidc;

/// Every list resource the provider serves.
pub fn all() -> Vec<Arc<dyn ListResource<ProviderData>>> {
    vec![
        Arc::new(scim_users::ScimUsersList),
        Arc::new(scim_groups::ScimGroupsList),
        Arc::new(idps::IdpsList),
        Arc::new(user_oidc::UserOidcList),
    ]
}

/// Pages through a SCIM collection, sending each resource's identity (its `id`) with
/// the display name `name_attr` gives, until the sink wants no more.
pub(crate) async fn list_scim(
    data: &ProviderData,
    collection: &str,
    filter: Option<&str>,
    name_attr: &str,
    sink: &crate::tfplugin::resource::ListSink,
) -> Result<(), crate::tfplugin::Diagnostics> {
    use crate::tfplugin::Value;
    use crate::tfplugin::resource::ListedObject;
    const PAGE: usize = 100;
    let c = data.scim_client()?;
    let mut start = 1;
    loop {
        let page = c
            .list_page(collection, filter, &[], start, PAGE)
            .await
            .map_err(|e| crate::resources::scim_diag(&format!("Unable to list {}", collection.trim_start_matches('/')), &e))?;
        let got = page.resources.len();
        for r in &page.resources {
            let Some(id) = r.get("id").and_then(|v| v.as_str()) else { continue };
            let name = r.get(name_attr).and_then(|v| v.as_str()).unwrap_or(id);
            if !sink.send(ListedObject { identity: Value::object_of(&[("id", Value::string(id))]), display_name: name.to_string() }).await {
                return Ok(());
            }
        }
        if got == 0 || start - 1 + got >= page.total_results {
            return Ok(());
        }
        start += got;
    }
}
