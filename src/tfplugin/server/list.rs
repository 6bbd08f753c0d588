//! List resources (`list` blocks of `terraform query`, Terraform 1.14+): ListResource
//! streams what the list resource finds as it finds it, each object as its identity and
//! display name and, when asked for, the object as the managed resource reads it. The
//! listing runs in a task of its own, under StopProvider's cancellation.

use std::sync::Arc;

use futures_util::StreamExt;
use tonic::Status;

use super::call::{EventStream, check_known, unknown_type, until_stopped};
use super::convert::{decode_dv, diags_to_pb, encode_dv};
use super::identity::state_from_identity;
use super::proto::tfplugin6 as pb;
use super::service::ProviderService;
use crate::tfplugin::diag::Diagnostics;
use crate::tfplugin::plan::null_write_only;
use crate::tfplugin::resource::{ListRequest, ListResource, ListSink, ListedObject, Provider, Resource};
use crate::tfplugin::schema::{IdentitySchema, Schema};
use crate::tfplugin::value::{Type, Value};

/// What a list stream needs of the managed resource, owned so the stream can outlive
/// the RPC call.
struct ListCtx<D> {
    /// The managed resource's (and the list resource's) type name.
    type_name: String,
    /// The managed resource.
    resource: Arc<dyn Resource<D>>,
    /// Its schema.
    schema: Schema,
    /// Its value type.
    ty: Type,
    /// Its identity schema.
    identity_schema: IdentitySchema,
    /// The identity's value type.
    identity_ty: Type,
    /// The configured provider data.
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
                let st = state_from_identity(&self.ty, fields)?;
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

/// A list stream of one event carrying these diagnostics.
fn failed_list(d: &Diagnostics) -> EventStream<pb::list_resource::Event> {
    let event = pb::list_resource::Event { diagnostic: diags_to_pb(d), ..Default::default() };
    Box::pin(futures_util::stream::iter([Ok(event)]))
}

/// What a listing needs, checked before it starts.
struct Listing<D> {
    /// The list resource.
    imp: Arc<dyn ListResource<D>>,
    /// What the events need of the managed resource.
    ctx: ListCtx<D>,
    /// The decoded `config` block.
    config: Value,
    /// The configured provider data.
    data: Arc<D>,
}

impl<P: Provider> ProviderService<P> {
    /// What a listing needs: the list resource, its managed resource with an identity,
    /// the decoded `config` block and the configured data.
    fn prepare_list(&self, r: &pb::list_resource::Request) -> Result<Listing<P::Data>, Diagnostics> {
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
        Ok(Listing { imp: l.imp.clone(), ctx, config, data })
    }

    /// ListResource: the stream of what the list resource finds (at most `limit`);
    /// objects gone before they could be read are skipped, an object that cannot be read
    /// is an event with its diagnostics, and a failed listing ends the stream with an
    /// event carrying the listing's diagnostics.
    pub(super) fn list(&self, r: pb::list_resource::Request) -> EventStream<pb::list_resource::Event> {
        let Listing { imp, ctx, config, data } = match self.prepare_list(&r) {
            Ok(p) => p,
            Err(d) => return failed_list(&d),
        };
        let req = ListRequest { config, include_resource_object: r.include_resource_object, limit: r.limit };
        let (out, rx) = tokio::sync::mpsc::channel::<Result<pb::list_resource::Event, Status>>(32);
        let stop = self.stop.subscribe();
        tokio::spawn(async move {
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
            let listed = until_stopped(stop, async {
                let (listed, ()) = tokio::join!(lister, forward);
                listed
            })
            .await;
            if let Err(d) = listed {
                let _ = out.send(Ok(pb::list_resource::Event { diagnostic: diags_to_pb(&d), ..Default::default() })).await;
            }
        });
        Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
    }
}
