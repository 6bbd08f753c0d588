//! The work of the managed-resource RPCs: state upgrade, read, plan (with the plan
//! engine of `plan.rs` and the resource's plan modifier), apply (create, update,
//! delete) and import. Each decodes against the resource's schema, calls the resource
//! (under StopProvider's cancellation), checks the result and encodes the answer;
//! failures are error diagnostics, which the RPC adapters turn into the answer.

use super::call::check_known;
use super::convert::{codec_diag, decode_dv, diags_to_pb, encode_dv, path_to_pb};
use super::identity::state_from_identity;
use super::proto::tfplugin6 as pb;
use super::service::ProviderService;
use crate::tfplugin::diag::{Diagnostic, Diagnostics};
use crate::tfplugin::plan::{null_write_only, plan_resource};
use crate::tfplugin::resource::{ApplyRequest, ModifyPlanRequest, Provider, StateResult};
use crate::tfplugin::timeouts::{Op, keep, only_timeouts_changed};
use crate::tfplugin::value::{Value, decode_json};

impl<P: Provider> ProviderService<P> {
    /// UpgradeResourceState: the stored JSON state, migrated by the resource from older
    /// schema versions, as a value of the current schema (write-only values null).
    pub(super) fn upgrade_state(
        &self,
        r: &pb::upgrade_resource_state::Request,
    ) -> Result<pb::upgrade_resource_state::Response, Diagnostics> {
        let e = self.resource(&r.type_name)?;
        let raw = r.raw_state.as_ref().map(|s| s.json.as_slice()).unwrap_or(&[]);
        if raw.is_empty() {
            return Ok(pb::upgrade_resource_state::Response {
                upgraded_state: Some(encode_dv(&Value::Null, &e.ty, "state")?),
                diagnostics: Vec::new(),
            });
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
        let mut state = decode_json(&json, &e.ty).map_err(|err| codec_diag("Stored state does not match the resource schema", err))?;
        null_write_only(&e.schema.block, &mut state);
        Ok(pb::upgrade_resource_state::Response {
            upgraded_state: Some(encode_dv(&state, &e.ty, "upgraded state")?),
            diagnostics: Vec::new(),
        })
    }

    /// ReadResource: the object as the resource reads it now (null when gone), its
    /// private data (the prior one unless the read returns some) and identity. A null
    /// current state is answered without a read.
    pub(super) async fn read(&self, r: &pb::read_resource::Request) -> Result<pb::read_resource::Response, Diagnostics> {
        let e = self.resource(&r.type_name)?;
        let current = decode_dv(r.current_state.as_ref(), &e.ty, "current state")?;
        if current.is_null() {
            return Ok(pb::read_resource::Response {
                new_state: Some(encode_dv(&Value::Null, &e.ty, "state")?),
                diagnostics: Vec::new(),
                private: r.private.clone(),
                new_identity: None,
                ..Default::default()
            });
        }
        let data = self.require_configured()?;
        let timeouts = e.imp.timeouts();
        let read = e.imp.read(&data, &current, &r.private);
        let mut res: StateResult = match timeouts.and_then(|t| t.deadline(Op::Read, &current)) {
            Some(d) => self.stop.run(d.bound(read)).await?,
            None => self.stop.run(read).await?,
        };
        if timeouts.is_some() {
            res.state = keep(res.state, &current);
        }
        null_write_only(&e.schema.block, &mut res.state);
        check_known(&res.state, &r.type_name, "read")?;
        let private = if res.private.is_empty() { r.private.clone() } else { res.private };
        let new_identity = e.identity_data(&res.state);
        Ok(pb::read_resource::Response {
            new_state: Some(encode_dv(&res.state, &e.ty, "new state")?),
            diagnostics: diags_to_pb(&res.diags),
            private,
            new_identity,
            ..Default::default()
        })
    }

    /// PlanResourceChange: the plan engine's plan, then the resource's plan modifier
    /// (with the configured data, if any; not cancellable), and the planned identity.
    pub(super) async fn plan(&self, r: &pb::plan_resource_change::Request) -> Result<pb::plan_resource_change::Response, Diagnostics> {
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
        let planned_identity =
            e.identity_data(&req.planned).or_else(|| if req.requires_replace.is_empty() { e.identity_data(&prior) } else { None });
        Ok(pb::plan_resource_change::Response {
            planned_state: Some(encode_dv(&req.planned, &e.ty, "planned state")?),
            requires_replace: req.requires_replace.iter().map(path_to_pb).collect(),
            planned_private: r.prior_private.clone(),
            diagnostics: diags_to_pb(&diags),
            planned_identity,
            ..Default::default()
        })
    }

    /// ApplyResourceChange: delete (planned null), create (prior null) or update; the
    /// new state (write-only values null), private data and identity.
    pub(super) async fn apply(&self, r: &pb::apply_resource_change::Request) -> Result<pb::apply_resource_change::Response, Diagnostics> {
        let e = self.resource(&r.type_name)?;
        let prior = decode_dv(r.prior_state.as_ref(), &e.ty, "prior state")?;
        let planned = decode_dv(r.planned_state.as_ref(), &e.ty, "planned state")?;
        let config = decode_dv(r.config.as_ref(), &e.ty, "configuration")?;
        let data = self.require_configured()?;
        let timeouts = e.imp.timeouts();
        if planned.is_null() {
            let delete = e.imp.delete(&data, &prior, &r.planned_private);
            match timeouts.and_then(|t| t.deadline(Op::Delete, &prior)) {
                Some(d) => self.stop.run(d.bound(delete)).await?,
                None => self.stop.run(delete).await?,
            }
            return Ok(pb::apply_resource_change::Response {
                new_state: Some(encode_dv(&Value::Null, &e.ty, "new state")?),
                private: Vec::new(),
                diagnostics: Vec::new(),
                new_identity: None,
                ..Default::default()
            });
        }
        let op = if prior.is_null() { Op::Create } else { Op::Update };
        let deadline = timeouts.and_then(|t| t.deadline(op, &planned));
        let req = ApplyRequest { planned, prior: prior.clone(), config, private: r.planned_private.clone(), deadline: deadline.clone() };
        let mut res = if timeouts.is_some() && op == Op::Update && only_timeouts_changed(&prior, &req.planned) {
            // Only `timeouts` changed: nothing to send.
            tracing::debug!("only timeouts changed: nothing to send");
            StateResult::state(prior.clone())
        } else {
            let call = async { if op == Op::Create { e.imp.create(&data, &req).await } else { e.imp.update(&data, &req).await } };
            match &deadline {
                Some(d) => self.stop.run(d.bound(call)).await?,
                None => self.stop.run(call).await?,
            }
        };
        if timeouts.is_some() {
            res.state = keep(res.state, &req.planned);
        }
        null_write_only(&e.schema.block, &mut res.state);
        if !res.state.is_null() {
            check_known(&res.state, &r.type_name, "apply")?;
        }
        let private = if res.private.is_empty() { r.planned_private.clone() } else { res.private };
        let new_identity = e.identity_data(&res.state);
        Ok(pb::apply_resource_change::Response {
            new_state: Some(encode_dv(&res.state, &e.ty, "new state")?),
            private,
            diagnostics: diags_to_pb(&res.diags),
            new_identity,
            ..Default::default()
        })
    }

    /// ImportResourceState: the state the resource imports for an id or, for an
    /// `import` block with `identity` and no id, the state holding the identity's
    /// attributes (the read that follows fills in the rest).
    pub(super) async fn import(&self, r: &pb::import_resource_state::Request) -> Result<pb::import_resource_state::Response, Diagnostics> {
        let e = self.resource(&r.type_name)?;
        let imp = e.imp.as_import().ok_or_else(|| {
            Diagnostics::from(Diagnostic::error("Resource import not supported", format!("{} cannot be imported.", r.type_name)))
        })?;
        let data = self.configured();
        let mut state = match e.given_identity(r.identity.as_ref())? {
            // `import { identity = {...} }`: the identity attributes are the state
            // attributes the read needs.
            Some(id) if r.id.is_empty() => {
                state_from_identity(&e.ty, id.fields().into_iter().flatten().map(|(k, v)| (k.as_str(), v.clone())))?
            }
            _ => self.stop.run(imp.import(data.as_deref(), &r.id)).await?,
        };
        null_write_only(&e.schema.block, &mut state);
        let imported = pb::import_resource_state::ImportedResource {
            type_name: r.type_name.clone(),
            state: Some(encode_dv(&state, &e.ty, "imported state")?),
            private: imp.import_private(&state),
            identity: e.identity_data(&state),
        };
        Ok(pb::import_resource_state::Response { imported_resources: vec![imported], ..Default::default() })
    }
}
