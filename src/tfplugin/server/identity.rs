//! Resource identity (Terraform 1.12+): the identity schemas Terraform asks for, the
//! identity of a state, upgrading a stored identity, the identity an `import` block
//! gives, and the state that holds an identity's attributes (for import by identity and
//! for list results).

use super::convert::{codec_diag, decode_dv, encode_dv};
use super::proto::tfplugin6 as pb;
use super::service::{Entry, ProviderService};
use crate::tfplugin::diag::{Diagnostic, Diagnostics};
use crate::tfplugin::resource::Provider;
use crate::tfplugin::value::{Type, Value, decode_json, decode_json_bytes};

impl<T: ?Sized> Entry<T> {
    /// The identity of a state, as Terraform wants it (None without an identity schema,
    /// or while the identifying attributes are not known).
    pub(super) fn identity_data(&self, state: &Value) -> Option<pb::ResourceIdentityData> {
        let (schema, ty) = self.identity.as_ref()?;
        let v = schema.identity_of(state)?;
        let dv = encode_dv(&v, ty, "identity").ok()?;
        Some(pb::ResourceIdentityData { identity_data: Some(dv) })
    }

    /// The identity an import request gives, decoded (None when the resource has no
    /// identity schema, or the request none or a null one).
    pub(super) fn given_identity(&self, given: Option<&pb::ResourceIdentityData>) -> Result<Option<Value>, Diagnostics> {
        Ok(match (&self.identity, given.and_then(|i| i.identity_data.as_ref())) {
            (Some((_, ity)), Some(dv)) => Some(decode_dv(Some(dv), ity, "identity")?).filter(|v| !v.is_null()),
            _ => None,
        })
    }
}

/// A state of type `ty` whose only known attributes are these identity attributes (all
/// others null): what a resource's read needs to find the object again.
pub(super) fn state_from_identity<'a>(ty: &Type, fields: impl IntoIterator<Item = (&'a str, Value)>) -> Result<Value, Diagnostics> {
    let mut state = decode_json(&serde_json::json!({}), ty).map_err(|err| codec_diag("Internal error", err))?;
    for (k, v) in fields {
        state.set(k, v);
    }
    Ok(state)
}

impl<P: Provider> ProviderService<P> {
    /// GetResourceIdentitySchemas: the identity schema of every resource that has one.
    pub(super) fn identity_schemas(&self) -> pb::get_resource_identity_schemas::Response {
        let identity_schemas = self
            .resources
            .iter()
            .filter_map(|(name, e)| {
                let (schema, _) = e.identity.as_ref()?;
                Some((
                    name.clone(),
                    pb::ResourceIdentitySchema {
                        version: schema.version,
                        identity_attributes: schema
                            .attributes
                            .iter()
                            .map(|a| pb::resource_identity_schema::IdentityAttribute {
                                name: a.name.clone(),
                                r#type: a.ty.to_json_bytes(),
                                required_for_import: a.required_for_import,
                                optional_for_import: !a.required_for_import,
                                description: a.description.clone(),
                            })
                            .collect(),
                    },
                ))
            })
            .collect();
        pb::get_resource_identity_schemas::Response { identity_schemas, diagnostics: Vec::new() }
    }

    /// UpgradeResourceIdentity: a stored identity of the current version, decoded from
    /// its JSON (no identity has had an older version yet).
    pub(super) fn upgrade_identity(
        &self,
        r: &pb::upgrade_resource_identity::Request,
    ) -> Result<pb::upgrade_resource_identity::Response, Diagnostics> {
        let e = self.resource(&r.type_name)?;
        let (schema, ty) = e.identity.as_ref().ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Resource identity not supported",
                format!("{} has no resource identity schema.", r.type_name),
            ))
        })?;
        if r.version != schema.version {
            return Err(Diagnostics::from(Diagnostic::error(
                "Unable to upgrade the resource identity",
                format!("No migration from identity version {} of {} is defined.", r.version, r.type_name),
            )));
        }
        let raw = r.raw_identity.as_ref().map(|s| s.json.as_slice()).unwrap_or(&[]);
        let v = decode_json_bytes(raw, ty).map_err(|err| codec_diag("Stored identity does not match the identity schema", err))?;
        let id = pb::ResourceIdentityData { identity_data: Some(encode_dv(&v, ty, "identity")?) };
        Ok(pb::upgrade_resource_identity::Response { upgraded_identity: Some(id), diagnostics: Vec::new() })
    }
}
