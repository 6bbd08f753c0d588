//! The state of the tfplugin6 `Provider` service: the provider, its resources, data
//! sources, ephemeral and list resources by type name with their schemas and value
//! types (built once), the configured provider data and the StopProvider signal; the
//! look-ups the RPCs share, and the provider's own validation and configuration.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use super::call::{Stop, unknown_type};
use super::convert::{decode_dv, function_to_pb, schema_to_pb};
use super::proto::tfplugin6 as pb;
use crate::tfplugin::AttrPath;
use crate::tfplugin::action::Action;
use crate::tfplugin::diag::{Diagnostic, Diagnostics};
use crate::tfplugin::function::{Function, Signature};
use crate::tfplugin::resource::{DataSource, EphemeralResource, ListResource, Provider, Resource};
use crate::tfplugin::schema::{IdentitySchema, Schema};
use crate::tfplugin::validator::validate_attributes;
use crate::tfplugin::value::Type;

/// One resource, data source, ephemeral or list resource, with what the RPCs need of
/// it computed once.
pub(super) struct Entry<T: ?Sized> {
    /// The implementation.
    pub(super) imp: Arc<T>,
    /// Its schema.
    pub(super) schema: Schema,
    /// The value type of its schema.
    pub(super) ty: Type,
    /// Resources with a resource identity: its schema and value type.
    pub(super) identity: Option<(IdentitySchema, Type)>,
}

/// Entries (without identity) by type name.
fn entries<T: ?Sized>(items: Vec<Arc<T>>, describe: impl Fn(&T) -> (&'static str, Schema)) -> HashMap<String, Entry<T>> {
    items
        .into_iter()
        .map(|imp| {
            let (name, schema) = describe(&imp);
            let ty = schema.value_type();
            (name.to_string(), Entry { imp, schema, ty, identity: None })
        })
        .collect()
}

/// Serves one provider over the plugin protocol.
pub struct ProviderService<P: Provider> {
    /// The provider.
    pub(super) provider: P,
    /// The provider block's schema.
    pub(super) provider_schema: Schema,
    /// The value type of the provider block.
    pub(super) provider_ty: Type,
    /// Managed resources.
    pub(super) resources: HashMap<String, Entry<dyn Resource<P::Data>>>,
    /// Data sources.
    pub(super) data_sources: HashMap<String, Entry<dyn DataSource<P::Data>>>,
    /// Ephemeral resources.
    pub(super) ephemeral: HashMap<String, Entry<dyn EphemeralResource<P::Data>>>,
    /// List resources; each has the name of a managed resource with an identity.
    pub(super) lists: HashMap<String, Entry<dyn ListResource<P::Data>>>,
    /// Actions.
    pub(super) actions: HashMap<String, Entry<dyn Action<P::Data>>>,
    /// Functions with their signatures.
    pub(super) functions: HashMap<String, (Arc<dyn Function>, Signature)>,
    /// GetProviderSchema's answer, built once.
    pub(super) schema_response: pb::get_provider_schema::Response,
    /// What ConfigureProvider produced, once it succeeded.
    pub(super) data: RwLock<Option<Arc<P::Data>>>,
    /// Set by StopProvider.
    pub(super) stop: Stop,
}

/// What this server supports beyond the basics (GetMetadata, GetProviderSchema).
pub(super) fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: true,
        get_provider_schema_optional: true,
        move_resource_state: false,
        generate_resource_config: true,
    }
}

impl<P: Provider> ProviderService<P> {
    /// Builds the schemas and tables of the provider's resources once; list resources
    /// without a managed resource of their name with an identity are left out (logged).
    pub fn new(provider: P) -> Self {
        let provider_schema = provider.schema();
        let provider_ty = provider_schema.value_type();
        let resources: HashMap<_, _> = provider
            .resources()
            .into_iter()
            .map(|r| {
                let schema = r.schema();
                let ty = schema.value_type();
                let identity = r.identity_schema().map(|i| {
                    let t = i.value_type();
                    (i, t)
                });
                (r.type_name().to_string(), Entry { imp: r, schema, ty, identity })
            })
            .collect();
        let data_sources = entries(provider.data_sources(), |d| (d.type_name(), d.schema()));
        let ephemeral = entries(provider.ephemeral_resources(), |e| (e.type_name(), e.schema()));
        let lists = entries(
            provider
                .list_resources()
                .into_iter()
                .filter(|l| {
                    let ok = resources.get(l.type_name()).is_some_and(|r| r.identity.is_some());
                    if !ok {
                        tracing::error!(list = l.type_name(), "list resource ignored: no managed resource of that name with an identity");
                    }
                    ok
                })
                .collect(),
            |l| (l.type_name(), l.schema()),
        );
        let actions = entries(provider.actions(), |a| (a.type_name(), a.schema()));
        let functions: HashMap<_, _> = provider
            .functions()
            .into_iter()
            .map(|f| {
                let sig = f.signature();
                (f.name().to_string(), (f, sig))
            })
            .collect();
        let schema_response = pb::get_provider_schema::Response {
            provider: Some(schema_to_pb(&provider_schema)),
            resource_schemas: resources.iter().map(|(k, e)| (k.clone(), schema_to_pb(&e.schema))).collect(),
            data_source_schemas: data_sources.iter().map(|(k, e)| (k.clone(), schema_to_pb(&e.schema))).collect(),
            ephemeral_resource_schemas: ephemeral.iter().map(|(k, e)| (k.clone(), schema_to_pb(&e.schema))).collect(),
            list_resource_schemas: lists.iter().map(|(k, e)| (k.clone(), schema_to_pb(&e.schema))).collect(),
            action_schemas: actions.iter().map(|(k, e)| (k.clone(), pb::ActionSchema { schema: Some(schema_to_pb(&e.schema)) })).collect(),
            functions: functions.iter().map(|(k, (_, sig))| (k.clone(), function_to_pb(sig))).collect(),
            server_capabilities: Some(capabilities()),
            ..Default::default()
        };
        ProviderService {
            provider,
            provider_schema,
            provider_ty,
            resources,
            data_sources,
            ephemeral,
            lists,
            actions,
            functions,
            schema_response,
            data: RwLock::new(None),
            stop: Stop::new(),
        }
    }

    /// The managed resource of this type name.
    pub(super) fn resource(&self, name: &str) -> Result<&Entry<dyn Resource<P::Data>>, Diagnostics> {
        self.resources.get(name).ok_or_else(|| {
            Diagnostic::error("Unknown resource type", format!("This provider has no resource type named \"{name}\".")).into()
        })
    }

    /// The data source of this type name.
    pub(super) fn data_source(&self, name: &str) -> Result<&Entry<dyn DataSource<P::Data>>, Diagnostics> {
        self.data_sources
            .get(name)
            .ok_or_else(|| Diagnostic::error("Unknown data source", format!("This provider has no data source named \"{name}\".")).into())
    }

    /// The ephemeral resource of this type name.
    pub(super) fn ephemeral_resource(&self, name: &str) -> Result<&Entry<dyn EphemeralResource<P::Data>>, Diagnostics> {
        self.ephemeral.get(name).ok_or_else(|| unknown_type("ephemeral resource", name))
    }

    /// The list resource of this type name.
    pub(super) fn list_resource_entry(&self, name: &str) -> Result<&Entry<dyn ListResource<P::Data>>, Diagnostics> {
        self.lists.get(name).ok_or_else(|| unknown_type("list resource", name))
    }

    /// The action of this type name.
    pub(super) fn action(&self, name: &str) -> Result<&Entry<dyn Action<P::Data>>, Diagnostics> {
        self.actions.get(name).ok_or_else(|| unknown_type("action", name))
    }

    /// The configured provider data, if ConfigureProvider succeeded.
    pub(super) fn configured(&self) -> Option<Arc<P::Data>> {
        self.data.read().ok().and_then(|g| g.clone())
    }

    /// The configured provider data, which calls that reach the vendor need.
    pub(super) fn require_configured(&self) -> Result<Arc<P::Data>, Diagnostics> {
        self.configured().ok_or_else(|| {
            Diagnostic::error(
                "Provider not configured",
                "Terraform called the provider before configuring it; this is a bug in the caller.",
            )
            .into()
        })
    }

    /// ValidateProviderConfig: the schema's validators and the provider's own check.
    pub(super) fn validate_provider(&self, config: Option<&pb::DynamicValue>) -> Result<Diagnostics, Diagnostics> {
        let config = decode_dv(config, &self.provider_ty, "provider configuration")?;
        let mut d = Diagnostics::new();
        validate_attributes(&self.provider_schema.block.attributes, &config, &AttrPath::root(), &mut d);
        d.extend(self.provider.validate_config(&config));
        Ok(d)
    }

    /// ConfigureProvider: configures the provider and keeps what it produced for the
    /// calls that follow; the diagnostics of the configuration.
    pub(super) async fn configure(&self, config: Option<&pb::DynamicValue>) -> Result<Diagnostics, Diagnostics> {
        let config = decode_dv(config, &self.provider_ty, "provider configuration")?;
        let mut diags = Diagnostics::new();
        if let Some(data) = self.provider.configure(&config, &mut diags).await
            && let Ok(mut g) = self.data.write()
        {
            *g = Some(Arc::new(data));
        }
        Ok(diags)
    }

    /// The provider's stop signal, set by StopProvider.
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }
}
