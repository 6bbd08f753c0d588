//! The tfplugin6 `Provider` gRPC service: one thin function per RPC, decoding values
//! against the schema, calling the provider's resources, and planning with `plan.rs`.

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use futures_util::Stream;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

use super::convert::{decode_dv, diags_to_pb, encode_dv, path_to_pb, schema_to_pb};
use super::proto::tfplugin6 as pb;
use crate::tfplugin::AttrPath;
use crate::tfplugin::diag::{Diagnostic, Diagnostics};
use crate::tfplugin::plan::{null_write_only, plan_resource};
use crate::tfplugin::resource::{
    ApplyRequest, DataSource, EphemeralResource, ListRequest, ListResource, ListSink, ListedObject, ModifyPlanRequest, Provider, Resource,
    StateResult, ValidateConfig,
};
use crate::tfplugin::schema::{IdentitySchema, Schema};
use crate::tfplugin::validator::validate_attributes;
use crate::tfplugin::value::{Type, Value, decode_json, decode_json_bytes};

struct Entry<T: ?Sized> {
    imp: Arc<T>,
    schema: Schema,
    ty: Type,
    /// Resources with a resource identity: its schema and value type.
    identity: Option<(IdentitySchema, Type)>,
}

impl<T: ?Sized> Entry<T> {
    /// The identity of a state, as Terraform wants it (None without an identity schema,
    /// or while the identifying attributes are not known).
    fn identity_data(&self, state: &Value) -> Option<pb::ResourceIdentityData> {
        let (schema, ty) = self.identity.as_ref()?;
        let v = schema.identity_of(state)?;
        let dv = encode_dv(&v, ty, "identity").ok()?;
        Some(pb::ResourceIdentityData { identity_data: Some(dv) })
    }
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
    provider: P,
    provider_schema: Schema,
    provider_ty: Type,
    resources: HashMap<String, Entry<dyn Resource<P::Data>>>,
    data_sources: HashMap<String, Entry<dyn DataSource<P::Data>>>,
    ephemeral: HashMap<String, Entry<dyn EphemeralResource<P::Data>>>,
    /// List resources; each has the name of a managed resource with an identity.
    lists: HashMap<String, Entry<dyn ListResource<P::Data>>>,
    /// GetProviderSchema's answer, built once.
    schema_response: pb::get_provider_schema::Response,
    data: RwLock<Option<Arc<P::Data>>>,
    stop: watch::Sender<bool>,
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: true,
        get_provider_schema_optional: true,
        move_resource_state: false,
        generate_resource_config: false,
    }
}

impl<P: Provider> ProviderService<P> {
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
        let schema_response = pb::get_provider_schema::Response {
            provider: Some(schema_to_pb(&provider_schema)),
            resource_schemas: resources.iter().map(|(k, e)| (k.clone(), schema_to_pb(&e.schema))).collect(),
            data_source_schemas: data_sources.iter().map(|(k, e)| (k.clone(), schema_to_pb(&e.schema))).collect(),
            ephemeral_resource_schemas: ephemeral.iter().map(|(k, e)| (k.clone(), schema_to_pb(&e.schema))).collect(),
            list_resource_schemas: lists.iter().map(|(k, e)| (k.clone(), schema_to_pb(&e.schema))).collect(),
            server_capabilities: Some(capabilities()),
            ..Default::default()
        };
        let (stop, _) = watch::channel(false);
        ProviderService {
            provider,
            provider_schema,
            provider_ty,
            resources,
            data_sources,
            ephemeral,
            lists,
            schema_response,
            data: RwLock::new(None),
            stop,
        }
    }

    fn resource(&self, name: &str) -> Result<&Entry<dyn Resource<P::Data>>, Diagnostics> {
        self.resources.get(name).ok_or_else(|| {
            Diagnostic::error("Unknown resource type", format!("This provider has no resource type named \"{name}\".")).into()
        })
    }

    fn data_source(&self, name: &str) -> Result<&Entry<dyn DataSource<P::Data>>, Diagnostics> {
        self.data_sources
            .get(name)
            .ok_or_else(|| Diagnostic::error("Unknown data source", format!("This provider has no data source named \"{name}\".")).into())
    }

    fn ephemeral_resource(&self, name: &str) -> Result<&Entry<dyn EphemeralResource<P::Data>>, Diagnostics> {
        self.ephemeral.get(name).ok_or_else(|| unknown_type("ephemeral resource", name))
    }

    fn list_resource_entry(&self, name: &str) -> Result<&Entry<dyn ListResource<P::Data>>, Diagnostics> {
        self.lists.get(name).ok_or_else(|| unknown_type("list resource", name))
    }

    fn configured(&self) -> Option<Arc<P::Data>> {
        self.data.read().ok().and_then(|g| g.clone())
    }

    fn require_configured(&self) -> Result<Arc<P::Data>, Diagnostics> {
        self.configured().ok_or_else(|| {
            Diagnostic::error(
                "Provider not configured",
                "Terraform called the provider before configuring it; this is a bug in the caller.",
            )
            .into()
        })
    }

    /// Runs a resource call, cancelling it when Terraform asks the provider to stop.
    async fn stoppable<T>(&self, fut: impl Future<Output = Result<T, Diagnostics>>) -> Result<T, Diagnostics> {
        let mut rx = self.stop.subscribe();
        if *rx.borrow() {
            return Err(interrupted());
        }
        tokio::select! {
            r = fut => r,
            _ = rx.wait_for(|s| *s) => Err(interrupted()),
        }
    }

    /// The provider's stop signal, set by StopProvider.
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }
}

/// What a list stream needs of the managed resource, owned so the stream can outlive
/// the RPC call.
struct ListCtx<D> {
    type_name: String,
    resource: Arc<dyn Resource<D>>,
    schema: Schema,
    ty: Type,
    identity_schema: IdentitySchema,
    identity_ty: Type,
    data: Arc<D>,
}

impl<D> ListCtx<D> {
    /// One list event: the identity, the display name and, when asked for, the object as
    /// the resource reads it (from a state holding only the identity, as an `import`
    /// block with `identity` would).
    async fn event(&self, o: ListedObject, include_object: bool) -> Option<pb::list_resource::Event> {
        let out: Result<_, Diagnostics> = async {
            let mut identity = Value::Null;
            let mut fields = Vec::new();
            for a in &self.identity_schema.attributes {
                fields.push((a.name.as_str(), o.identity.get(&a.name).clone()));
            }
            if !fields.is_empty() {
                identity = Value::object_of(&fields);
            }
            let identity_dv = encode_dv(&identity, &self.identity_ty, "identity")?;
            let mut object = None;
            if include_object {
                let mut st =
                    decode_json(&serde_json::json!({}), &self.ty).map_err(|err| super::convert::codec_diag("Internal error", err))?;
                for (k, v) in fields {
                    st.set(k, v);
                }
                let mut res = self.resource.read(&self.data, &st, &[]).await?;
                if res.state.is_null() {
                    return Ok(None);
                }
                null_write_only(&self.schema.block, &mut res.state);
                check_known(&res.state, &self.type_name, "read")?;
                object = Some(encode_dv(&res.state, &self.ty, "resource object")?);
            }
            Ok(Some((identity_dv, object)))
        }
        .await;
        match out {
            Ok(Some((identity, resource_object))) => Some(pb::list_resource::Event {
                identity: Some(pb::ResourceIdentityData { identity_data: Some(identity) }),
                display_name: o.display_name,
                resource_object,
                diagnostic: Vec::new(),
            }),
            // Gone between the listing and the read: nothing to report.
            Ok(None) => None,
            Err(d) => Some(pb::list_resource::Event { display_name: o.display_name, diagnostic: diags_to_pb(&d), ..Default::default() }),
        }
    }
}

fn interrupted() -> Diagnostics {
    Diagnostic::error("Interrupted", "Terraform asked the provider to stop; the operation was cancelled.").into()
}

/// Collapses a `Result<T, Diagnostics>` body into its response with diagnostics.
macro_rules! respond {
    ($body:expr, |$ok:ident, $d:ident| $build:expr, |$err:ident| $fail:expr) => {{
        let r: Result<_, Diagnostics> = $body;
        Ok(Response::new(match r {
            Ok(($ok, $d)) => $build,
            Err($err) => $fail,
        }))
    }};
}

type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderService<P> {
    async fn get_metadata(&self, _r: Request<pb::get_metadata::Request>) -> Result<Response<pb::get_metadata::Response>, Status> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            resources: self.resources.keys().map(|k| pb::get_metadata::ResourceMetadata { type_name: k.clone() }).collect(),
            data_sources: self.data_sources.keys().map(|k| pb::get_metadata::DataSourceMetadata { type_name: k.clone() }).collect(),
            ephemeral_resources: self.ephemeral.keys().map(|k| pb::get_metadata::EphemeralMetadata { type_name: k.clone() }).collect(),
            list_resources: self.lists.keys().map(|k| pb::get_metadata::ListResourceMetadata { type_name: k.clone() }).collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _r: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(self.schema_response.clone()))
    }

    async fn get_resource_identity_schemas(
        &self,
        _r: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
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
        Ok(Response::new(pb::get_resource_identity_schemas::Response { identity_schemas, diagnostics: Vec::new() }))
    }

    async fn validate_provider_config(
        &self,
        r: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let r = r.into_inner();
        let diags = match decode_dv(r.config.as_ref(), &self.provider_ty, "provider configuration") {
            Ok(config) => {
                let mut d = Diagnostics::new();
                validate_attributes(&self.provider_schema.block.attributes, &config, &AttrPath::root(), &mut d);
                d.extend(self.provider.validate_config(&config));
                d
            }
            Err(d) => d,
        };
        Ok(Response::new(pb::validate_provider_config::Response { diagnostics: diags_to_pb(&diags) }))
    }

    async fn validate_resource_config(
        &self,
        r: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let r = r.into_inner();
        let diags = self
            .resource(&r.type_name)
            .and_then(|e| validate_config(&e.schema, &e.ty, r.config.as_ref(), e.imp.as_validate_config(), "resource configuration"))
            .unwrap_or_else(|d| d);
        Ok(Response::new(pb::validate_resource_config::Response { diagnostics: diags_to_pb(&diags) }))
    }

    async fn validate_data_resource_config(
        &self,
        r: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let r = r.into_inner();
        let diags = self
            .data_source(&r.type_name)
            .and_then(|e| validate_config(&e.schema, &e.ty, r.config.as_ref(), e.imp.as_validate_config(), "data source configuration"))
            .unwrap_or_else(|d| d);
        Ok(Response::new(pb::validate_data_resource_config::Response { diagnostics: diags_to_pb(&diags) }))
    }

    async fn upgrade_resource_state(
        &self,
        r: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let r = r.into_inner();
        respond!(
            (|| {
                let e = self.resource(&r.type_name)?;
                let raw = r.raw_state.as_ref().map(|s| s.json.as_slice()).unwrap_or(&[]);
                if raw.is_empty() {
                    return Ok((encode_dv(&Value::Null, &e.ty, "state")?, Diagnostics::new()));
                }
                let mut json: serde_json::Value = serde_json::from_slice(raw).map_err(|err| {
                    Diagnostics::from(Diagnostic::error("Invalid stored state", format!("The stored state is not valid JSON: {err}")))
                })?;
                if r.version > e.schema.version {
                    return Err(Diagnostic::error(
                        "Stored state is newer than this provider",
                        format!(
                            "The state of this {} was written by a newer provider (schema version {}, this provider knows up to {}). Upgrade the provider.",
                            r.type_name, r.version, e.schema.version
                        ),
                    )
                    .into());
                }
                if r.version < e.schema.version {
                    let up = e.imp.as_upgrade_state().ok_or_else(|| {
                        Diagnostics::from(Diagnostic::error(
                            "Unable to upgrade stored state",
                            format!("No migration from schema version {} of {} is defined.", r.version, r.type_name),
                        ))
                    })?;
                    json = up.upgrade_state(r.version, json)?;
                }
                let mut state = decode_json(&json, &e.ty)
                    .map_err(|err| super::convert::codec_diag("Stored state does not match the resource schema", err))?;
                null_write_only(&e.schema.block, &mut state);
                Ok((encode_dv(&state, &e.ty, "upgraded state")?, Diagnostics::new()))
            })(),
            |dv, d| pb::upgrade_resource_state::Response { upgraded_state: Some(dv), diagnostics: diags_to_pb(&d) },
            |d| pb::upgrade_resource_state::Response { upgraded_state: None, diagnostics: diags_to_pb(&d) }
        )
    }

    async fn upgrade_resource_identity(
        &self,
        r: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        let r = r.into_inner();
        let out = (|| {
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
            let v = decode_json_bytes(raw, ty)
                .map_err(|err| super::convert::codec_diag("Stored identity does not match the identity schema", err))?;
            Ok(pb::ResourceIdentityData { identity_data: Some(encode_dv(&v, ty, "identity")?) })
        })();
        Ok(Response::new(match out {
            Ok(id) => pb::upgrade_resource_identity::Response { upgraded_identity: Some(id), diagnostics: Vec::new() },
            Err(d) => pb::upgrade_resource_identity::Response { upgraded_identity: None, diagnostics: diags_to_pb(&d) },
        }))
    }

    async fn configure_provider(
        &self,
        r: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let r = r.into_inner();
        let mut diags = Diagnostics::new();
        match decode_dv(r.config.as_ref(), &self.provider_ty, "provider configuration") {
            Ok(config) => {
                if let Some(data) = self.provider.configure(&config, &mut diags).await
                    && let Ok(mut g) = self.data.write()
                {
                    *g = Some(Arc::new(data));
                }
            }
            Err(d) => diags.extend(d),
        }
        Ok(Response::new(pb::configure_provider::Response { diagnostics: diags_to_pb(&diags) }))
    }

    async fn read_resource(&self, r: Request<pb::read_resource::Request>) -> Result<Response<pb::read_resource::Response>, Status> {
        let r = r.into_inner();
        let body = async {
            let e = self.resource(&r.type_name)?;
            let current = decode_dv(r.current_state.as_ref(), &e.ty, "current state")?;
            if current.is_null() {
                return Ok((encode_dv(&Value::Null, &e.ty, "state")?, r.private.clone(), Diagnostics::new(), None));
            }
            let data = self.require_configured()?;
            let mut res: StateResult = self.stoppable(e.imp.read(&data, &current, &r.private)).await?;
            null_write_only(&e.schema.block, &mut res.state);
            check_known(&res.state, &r.type_name, "read")?;
            let private = if res.private.is_empty() { r.private.clone() } else { res.private };
            let identity = e.identity_data(&res.state);
            Ok((encode_dv(&res.state, &e.ty, "new state")?, private, res.diags, identity))
        };
        let out: Result<_, Diagnostics> = body.await;
        Ok(Response::new(match out {
            Ok((dv, private, d, new_identity)) => pb::read_resource::Response {
                new_state: Some(dv),
                diagnostics: diags_to_pb(&d),
                private,
                new_identity,
                ..Default::default()
            },
            Err(d) => pb::read_resource::Response {
                new_state: r.current_state.clone(),
                diagnostics: diags_to_pb(&d),
                private: r.private.clone(),
                ..Default::default()
            },
        }))
    }

    async fn plan_resource_change(
        &self,
        r: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let r = r.into_inner();
        let body = async {
            let e = self.resource(&r.type_name)?;
            let prior = decode_dv(r.prior_state.as_ref(), &e.ty, "prior state")?;
            let proposed = decode_dv(r.proposed_new_state.as_ref(), &e.ty, "proposed new state")?;
            let config = decode_dv(r.config.as_ref(), &e.ty, "configuration")?;
            let change = plan_resource(&e.schema, &prior, &proposed, &config);
            let mut diags = Diagnostics::new();
            let mut req = ModifyPlanRequest {
                prior: &prior,
                prior_private: &r.prior_private,
                config: &config,
                planned: change.planned,
                requires_replace: change.requires_replace,
            };
            if let Some(m) = e.imp.as_modify_plan()
                && !req.planned.is_null()
            {
                let data = self.configured();
                m.modify_plan(data.as_deref(), &mut req, &mut diags).await;
            }
            // The identity once known: from the plan, else (in place) the prior one.
            let identity =
                e.identity_data(&req.planned).or_else(|| if req.requires_replace.is_empty() { e.identity_data(&prior) } else { None });
            Ok((encode_dv(&req.planned, &e.ty, "planned state")?, req.requires_replace, diags, identity))
        };
        let out: Result<_, Diagnostics> = body.await;
        Ok(Response::new(match out {
            Ok((dv, rr, d, planned_identity)) => pb::plan_resource_change::Response {
                planned_state: Some(dv),
                requires_replace: rr.iter().map(path_to_pb).collect(),
                planned_private: r.prior_private.clone(),
                diagnostics: diags_to_pb(&d),
                planned_identity,
                ..Default::default()
            },
            Err(d) => pb::plan_resource_change::Response { diagnostics: diags_to_pb(&d), ..Default::default() },
        }))
    }

    async fn apply_resource_change(
        &self,
        r: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let r = r.into_inner();
        let body = async {
            let e = self.resource(&r.type_name)?;
            let prior = decode_dv(r.prior_state.as_ref(), &e.ty, "prior state")?;
            let planned = decode_dv(r.planned_state.as_ref(), &e.ty, "planned state")?;
            let config = decode_dv(r.config.as_ref(), &e.ty, "configuration")?;
            let data = self.require_configured()?;
            if planned.is_null() {
                self.stoppable(e.imp.delete(&data, &prior, &r.planned_private)).await?;
                return Ok((encode_dv(&Value::Null, &e.ty, "new state")?, Vec::new(), Diagnostics::new(), None));
            }
            let req = ApplyRequest { planned, prior: prior.clone(), config, private: r.planned_private.clone() };
            let mut res = if prior.is_null() {
                self.stoppable(e.imp.create(&data, &req)).await?
            } else {
                self.stoppable(e.imp.update(&data, &req)).await?
            };
            null_write_only(&e.schema.block, &mut res.state);
            if !res.state.is_null() {
                check_known(&res.state, &r.type_name, "apply")?;
            }
            let private = if res.private.is_empty() { r.planned_private.clone() } else { res.private };
            let identity = e.identity_data(&res.state);
            Ok((encode_dv(&res.state, &e.ty, "new state")?, private, res.diags, identity))
        };
        let out: Result<_, Diagnostics> = body.await;
        Ok(Response::new(match out {
            Ok((dv, private, d, new_identity)) => pb::apply_resource_change::Response {
                new_state: Some(dv),
                private,
                diagnostics: diags_to_pb(&d),
                new_identity,
                ..Default::default()
            },
            // On failure nothing changed: hand back the prior state.
            Err(d) => pb::apply_resource_change::Response {
                new_state: r.prior_state.clone(),
                private: r.planned_private.clone(),
                diagnostics: diags_to_pb(&d),
                ..Default::default()
            },
        }))
    }

    async fn import_resource_state(
        &self,
        r: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let r = r.into_inner();
        let body = async {
            let e = self.resource(&r.type_name)?;
            let imp = e.imp.as_import().ok_or_else(|| {
                Diagnostics::from(Diagnostic::error("Resource import not supported", format!("{} cannot be imported.", r.type_name)))
            })?;
            let data = self.configured();
            let given_identity = match (&e.identity, r.identity.as_ref().and_then(|i| i.identity_data.as_ref())) {
                (Some((_, ity)), Some(dv)) => Some(decode_dv(Some(dv), ity, "identity")?).filter(|v| !v.is_null()),
                _ => None,
            };
            let mut state = match given_identity {
                // `import { identity = {...} }`: the identity attributes are the state
                // attributes the read needs.
                Some(id) if r.id.is_empty() => {
                    let mut st =
                        decode_json(&serde_json::json!({}), &e.ty).map_err(|err| super::convert::codec_diag("Internal error", err))?;
                    if let Some(fields) = id.fields() {
                        for (k, v) in fields {
                            st.set(k, v.clone());
                        }
                    }
                    st
                }
                _ => self.stoppable(imp.import(data.as_deref(), &r.id)).await?,
            };
            null_write_only(&e.schema.block, &mut state);
            Ok(pb::import_resource_state::ImportedResource {
                type_name: r.type_name.clone(),
                state: Some(encode_dv(&state, &e.ty, "imported state")?),
                private: imp.import_private(&state),
                identity: e.identity_data(&state),
            })
        };
        let out: Result<_, Diagnostics> = body.await;
        Ok(Response::new(match out {
            Ok(ir) => pb::import_resource_state::Response { imported_resources: vec![ir], ..Default::default() },
            Err(d) => pb::import_resource_state::Response { diagnostics: diags_to_pb(&d), ..Default::default() },
        }))
    }

    async fn move_resource_state(
        &self,
        r: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        let r = r.into_inner();
        let d: Diagnostics = Diagnostic::error(
            "Move not supported",
            format!("Moving state from {} to {} is not supported by this provider.", r.source_type_name, r.target_type_name),
        )
        .into();
        Ok(Response::new(pb::move_resource_state::Response { diagnostics: diags_to_pb(&d), ..Default::default() }))
    }

    async fn read_data_source(
        &self,
        r: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let r = r.into_inner();
        let body = async {
            let e = self.data_source(&r.type_name)?;
            let config = decode_dv(r.config.as_ref(), &e.ty, "data source configuration")?;
            let data = self.require_configured()?;
            let limit = e.imp.read_timeout();
            let res = match tokio::time::timeout(limit, self.stoppable(e.imp.read(&data, &config))).await {
                Ok(res) => res?,
                Err(_) => {
                    return Err(Diagnostic::error(
                        format!("Reading {} timed out", r.type_name),
                        format!(
                            "The read did not finish within {}s (every request, retry and page included); it was stopped. \
                             The server may be overloaded or may not stop sending pages.",
                            limit.as_secs()
                        ),
                    )
                    .into());
                }
            };
            check_known(&res.state, &r.type_name, "read")?;
            Ok((encode_dv(&res.state, &e.ty, "data source state")?, res.diags))
        };
        let out: Result<_, Diagnostics> = body.await;
        Ok(Response::new(match out {
            Ok((dv, d)) => pb::read_data_source::Response { state: Some(dv), diagnostics: diags_to_pb(&d), deferred: None },
            Err(d) => pb::read_data_source::Response { diagnostics: diags_to_pb(&d), ..Default::default() },
        }))
    }

    async fn generate_resource_config(
        &self,
        r: Request<pb::generate_resource_config::Request>,
    ) -> Result<Response<pb::generate_resource_config::Response>, Status> {
        let name = r.into_inner().type_name;
        let d = unsupported("Configuration generation", &name);
        Ok(Response::new(pb::generate_resource_config::Response { config: None, diagnostics: diags_to_pb(&d) }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        r: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        let r = r.into_inner();
        let diags = self
            .ephemeral_resource(&r.type_name)
            .and_then(|e| {
                validate_config(&e.schema, &e.ty, r.config.as_ref(), e.imp.as_validate_config(), "ephemeral resource configuration")
            })
            .unwrap_or_else(|d| d);
        Ok(Response::new(pb::validate_ephemeral_resource_config::Response { diagnostics: diags_to_pb(&diags) }))
    }

    async fn open_ephemeral_resource(
        &self,
        r: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        let r = r.into_inner();
        let body = async {
            let e = self.ephemeral_resource(&r.type_name)?;
            let config = decode_dv(r.config.as_ref(), &e.ty, "ephemeral resource configuration")?;
            let data = self.require_configured()?;
            let opened = self.stoppable(e.imp.open(&data, &config)).await?;
            check_known(&opened.result, &r.type_name, "open")?;
            Ok((encode_dv(&opened.result, &e.ty, "ephemeral result")?, opened))
        };
        let out: Result<_, Diagnostics> = body.await;
        Ok(Response::new(match out {
            Ok((dv, opened)) => pb::open_ephemeral_resource::Response {
                diagnostics: diags_to_pb(&opened.diags),
                renew_at: opened.renew_at.map(prost_types::Timestamp::from),
                result: Some(dv),
                private: Some(opened.private),
                deferred: None,
            },
            Err(d) => pb::open_ephemeral_resource::Response { diagnostics: diags_to_pb(&d), ..Default::default() },
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        r: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        let r = r.into_inner();
        let body = async {
            let e = self.ephemeral_resource(&r.type_name)?;
            let data = self.require_configured()?;
            self.stoppable(e.imp.renew(&data, r.private.as_deref().unwrap_or(&[]))).await
        };
        let out: Result<_, Diagnostics> = body.await;
        Ok(Response::new(match out {
            Ok(renewed) => pb::renew_ephemeral_resource::Response {
                diagnostics: diags_to_pb(&renewed.diags),
                renew_at: renewed.renew_at.map(prost_types::Timestamp::from),
                private: renewed.private.or(r.private),
            },
            Err(d) => pb::renew_ephemeral_resource::Response { diagnostics: diags_to_pb(&d), renew_at: None, private: r.private },
        }))
    }

    async fn close_ephemeral_resource(
        &self,
        r: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        let r = r.into_inner();
        let body = async {
            let e = self.ephemeral_resource(&r.type_name)?;
            let data = self.require_configured()?;
            // Closing must happen even when Terraform is stopping: not cancellable.
            Ok::<_, Diagnostics>(e.imp.close(&data, r.private.as_deref().unwrap_or(&[])).await)
        };
        let d = body.await.unwrap_or_else(|d| d);
        Ok(Response::new(pb::close_ephemeral_resource::Response { diagnostics: diags_to_pb(&d) }))
    }

    type ListResourceStream = EventStream<pb::list_resource::Event>;

    async fn list_resource(&self, r: Request<pb::list_resource::Request>) -> Result<Response<Self::ListResourceStream>, Status> {
        let r = r.into_inner();
        let prepared = (|| {
            let l = self.list_resource_entry(&r.type_name)?;
            let res = self.resource(&r.type_name)?;
            let (ischema, ity) = res.identity.clone().ok_or_else(|| unknown_type("list resource", &r.type_name))?;
            let config = decode_dv(r.config.as_ref(), &l.ty, "list configuration")?;
            let data = self.require_configured()?;
            let ctx = ListCtx {
                type_name: r.type_name.clone(),
                resource: res.imp.clone(),
                schema: res.schema.clone(),
                ty: res.ty.clone(),
                identity_schema: ischema,
                identity_ty: ity,
                data: data.clone(),
            };
            Ok::<_, Diagnostics>((l.imp.clone(), ctx, config, data))
        })();
        let (imp, ctx, config, data) = match prepared {
            Ok(p) => p,
            Err(d) => {
                let event = pb::list_resource::Event { diagnostic: diags_to_pb(&d), ..Default::default() };
                return Ok(Response::new(Box::pin(futures_util::stream::iter([Ok(event)]))));
            }
        };
        let req = ListRequest { config, include_resource_object: r.include_resource_object, limit: r.limit };
        let (out, rx) = tokio::sync::mpsc::channel::<Result<pb::list_resource::Event, Status>>(32);
        let mut stop = self.stop.subscribe();
        tokio::spawn(async move {
            use futures_util::StreamExt;
            let (sink, found) = ListSink::new(req.limit, 64);
            let include = req.include_resource_object;
            let lister = async {
                let sink = sink;
                imp.list(&data, &req, &sink).await
            };
            let ctx = &ctx;
            let forward = async {
                let mut events = tokio_stream::wrappers::ReceiverStream::new(found).map(|o| ctx.event(o, include)).buffered(8);
                while let Some(ev) = events.next().await {
                    let Some(ev) = ev else { continue };
                    if out.send(Ok(ev)).await.is_err() {
                        break;
                    }
                }
            };
            let listed = tokio::select! {
                (listed, ()) = async { tokio::join!(lister, forward) } => listed,
                _ = stop.wait_for(|s| *s) => Err(interrupted()),
            };
            if let Err(d) = listed {
                let _ = out.send(Ok(pb::list_resource::Event { diagnostic: diags_to_pb(&d), ..Default::default() })).await;
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }

    async fn validate_list_resource_config(
        &self,
        r: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        let r = r.into_inner();
        let diags = self
            .list_resource_entry(&r.type_name)
            .and_then(|e| validate_config(&e.schema, &e.ty, r.config.as_ref(), None, "list configuration"))
            .unwrap_or_else(|d| d);
        Ok(Response::new(pb::validate_list_resource_config::Response { diagnostics: diags_to_pb(&diags) }))
    }

    async fn get_functions(&self, _r: Request<pb::get_functions::Request>) -> Result<Response<pb::get_functions::Response>, Status> {
        Ok(Response::new(pb::get_functions::Response { functions: BTreeMap::new().into_iter().collect(), diagnostics: Vec::new() }))
    }

    async fn call_function(&self, r: Request<pb::call_function::Request>) -> Result<Response<pb::call_function::Response>, Status> {
        let name = r.into_inner().name;
        Ok(Response::new(pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError { text: format!("This provider has no function named \"{name}\"."), function_argument: None }),
        }))
    }

    async fn validate_state_store_config(
        &self,
        r: Request<pb::validate_state_store::Request>,
    ) -> Result<Response<pb::validate_state_store::Response>, Status> {
        let d = unknown_type("state store", &r.into_inner().type_name);
        Ok(Response::new(pb::validate_state_store::Response { diagnostics: diags_to_pb(&d) }))
    }

    async fn configure_state_store(
        &self,
        r: Request<pb::configure_state_store::Request>,
    ) -> Result<Response<pb::configure_state_store::Response>, Status> {
        let d = unknown_type("state store", &r.into_inner().type_name);
        Ok(Response::new(pb::configure_state_store::Response { diagnostics: diags_to_pb(&d) }))
    }

    async fn get_states(&self, r: Request<pb::get_states::Request>) -> Result<Response<pb::get_states::Response>, Status> {
        let d = unknown_type("state store", &r.into_inner().type_name);
        Ok(Response::new(pb::get_states::Response { state_id: Vec::new(), diagnostics: diags_to_pb(&d) }))
    }

    async fn delete_state(&self, r: Request<pb::delete_state::Request>) -> Result<Response<pb::delete_state::Response>, Status> {
        let d = unknown_type("state store", &r.into_inner().type_name);
        Ok(Response::new(pb::delete_state::Response { diagnostics: diags_to_pb(&d) }))
    }

    async fn plan_action(&self, r: Request<pb::plan_action::Request>) -> Result<Response<pb::plan_action::Response>, Status> {
        let d = unknown_type("action", &r.into_inner().action_type);
        Ok(Response::new(pb::plan_action::Response { diagnostics: diags_to_pb(&d), deferred: None }))
    }

    type InvokeActionStream = EventStream<pb::invoke_action::Event>;

    async fn invoke_action(&self, r: Request<pb::invoke_action::Request>) -> Result<Response<Self::InvokeActionStream>, Status> {
        let d = unknown_type("action", &r.into_inner().action_type);
        let event = pb::invoke_action::Event {
            r#type: Some(pb::invoke_action::event::Type::Completed(pb::invoke_action::event::Completed { diagnostics: diags_to_pb(&d) })),
        };
        Ok(Response::new(Box::pin(futures_util::stream::iter([Ok(event)]))))
    }

    async fn validate_action_config(
        &self,
        r: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        let d = unknown_type("action", &r.into_inner().type_name);
        Ok(Response::new(pb::validate_action_config::Response { diagnostics: diags_to_pb(&d) }))
    }

    async fn stop_provider(&self, _r: Request<pb::stop_provider::Request>) -> Result<Response<pb::stop_provider::Response>, Status> {
        tracing::info!("StopProvider received: cancelling in-flight operations");
        self.stop.send_replace(true);
        Ok(Response::new(pb::stop_provider::Response { error: String::new() }))
    }
}

/// Decodes a configuration and runs the schema's validators and the optional
/// object-level check; the diagnostics of both.
fn validate_config(
    schema: &Schema,
    ty: &Type,
    config: Option<&pb::DynamicValue>,
    extra: Option<&dyn ValidateConfig>,
    what: &str,
) -> Result<Diagnostics, Diagnostics> {
    let config = decode_dv(config, ty, what)?;
    let mut d = Diagnostics::new();
    validate_attributes(&schema.block.attributes, &config, &AttrPath::root(), &mut d);
    if let Some(v) = extra {
        d.extend(v.validate_config(&config));
    }
    Ok(d)
}

fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(format!("Unknown {kind} type"), format!("This provider has no {kind} named \"{name}\".")).into()
}

fn unsupported(what: &str, name: &str) -> Diagnostics {
    Diagnostic::error(format!("{what} not supported"), format!("{what} is not supported for \"{name}\".")).into()
}

/// A state handed to Terraform after apply or read must be wholly known.
fn check_known(state: &Value, type_name: &str, op: &str) -> Result<(), Diagnostics> {
    if state.is_wholly_known() {
        Ok(())
    } else {
        Err(Diagnostic::error(
            "Provider produced an incomplete result",
            format!("After {op}, {type_name} still had unknown values. This is a bug in the provider."),
        )
        .into())
    }
}
