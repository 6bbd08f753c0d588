//! The tfplugin6 `Provider` gRPC service: one thin adapter per RPC. Each takes the
//! request, hands it to the work in `managed.rs`, `data_source.rs`, `ephemeral.rs`,
//! `list.rs`, `identity.rs` or `service.rs`, and answers through the shared path in
//! `call.rs`: the work's answer, or the answer a failure gives (its diagnostics, plus
//! what the RPC must hand back unchanged).

use tonic::{Request, Response, Status};

use super::call::{Diagnosed, EventStream, PANICKED, panic_detail, respond, respond_diagnostics, unknown_type, validate_config};
use super::convert::diags_to_pb;
use super::proto::tfplugin6 as pb;
use super::service::{ProviderService, capabilities};
use crate::tfplugin::diag::Diagnostic;
use crate::tfplugin::resource::Provider;

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderService<P> {
    /// GetMetadata: the capabilities and the type names served.
    async fn get_metadata(&self, _r: Request<pb::get_metadata::Request>) -> Result<Response<pb::get_metadata::Response>, Status> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            resources: self.resources.keys().map(|k| pb::get_metadata::ResourceMetadata { type_name: k.clone() }).collect(),
            data_sources: self.data_sources.keys().map(|k| pb::get_metadata::DataSourceMetadata { type_name: k.clone() }).collect(),
            ephemeral_resources: self.ephemeral.keys().map(|k| pb::get_metadata::EphemeralMetadata { type_name: k.clone() }).collect(),
            list_resources: self.lists.keys().map(|k| pb::get_metadata::ListResourceMetadata { type_name: k.clone() }).collect(),
            actions: self.actions.keys().map(|k| pb::get_metadata::ActionMetadata { type_name: k.clone() }).collect(),
            functions: self.functions.keys().map(|k| pb::get_metadata::FunctionMetadata { name: k.clone() }).collect(),
            ..Default::default()
        }))
    }

    /// GetProviderSchema: every schema, built once.
    async fn get_provider_schema(
        &self,
        _r: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(self.schema_response.clone()))
    }

    /// GetResourceIdentitySchemas: the identity schema of every resource that has one.
    async fn get_resource_identity_schemas(
        &self,
        _r: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        Ok(Response::new(self.identity_schemas()))
    }

    /// ValidateProviderConfig: the diagnostics of the provider block.
    async fn validate_provider_config(
        &self,
        r: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let r = r.into_inner();
        respond_diagnostics(async { self.validate_provider(r.config.as_ref()) }).await
    }

    /// ValidateResourceConfig: the diagnostics of a resource block.
    async fn validate_resource_config(
        &self,
        r: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let r = r.into_inner();
        respond_diagnostics(async {
            let e = self.resource(&r.type_name)?;
            validate_config(&e.schema, &e.ty, r.config.as_ref(), e.imp.as_validate_config(), "resource configuration")
        })
        .await
    }

    /// ValidateDataResourceConfig: the diagnostics of a data block.
    async fn validate_data_resource_config(
        &self,
        r: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let r = r.into_inner();
        respond_diagnostics(async {
            let e = self.data_source(&r.type_name)?;
            validate_config(&e.schema, &e.ty, r.config.as_ref(), e.imp.as_validate_config(), "data source configuration")
        })
        .await
    }

    /// UpgradeResourceState: the stored state as a value of the current schema.
    async fn upgrade_resource_state(
        &self,
        r: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let r = r.into_inner();
        respond(async { self.upgrade_state(&r) }, Diagnosed::diagnosed).await
    }

    /// UpgradeResourceIdentity: the stored identity as a value of the current identity
    /// schema.
    async fn upgrade_resource_identity(
        &self,
        r: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        let r = r.into_inner();
        respond(async { self.upgrade_identity(&r) }, Diagnosed::diagnosed).await
    }

    /// ConfigureProvider: the diagnostics of configuring the provider.
    async fn configure_provider(
        &self,
        r: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let r = r.into_inner();
        respond_diagnostics(self.configure(r.config.as_ref())).await
    }

    /// ReadResource: on failure, the current state and private data, unchanged.
    async fn read_resource(&self, r: Request<pb::read_resource::Request>) -> Result<Response<pb::read_resource::Response>, Status> {
        let r = r.into_inner();
        respond(self.read(&r), |d| pb::read_resource::Response {
            new_state: r.current_state.clone(),
            diagnostics: diags_to_pb(&d),
            private: r.private.clone(),
            ..Default::default()
        })
        .await
    }

    /// PlanResourceChange: the planned state, what requires replacement, the identity.
    async fn plan_resource_change(
        &self,
        r: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let r = r.into_inner();
        respond(self.plan(&r), Diagnosed::diagnosed).await
    }

    /// ApplyResourceChange: on failure nothing changed, so the prior state and the
    /// planned private data go back.
    async fn apply_resource_change(
        &self,
        r: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let r = r.into_inner();
        respond(self.apply(&r), |d| pb::apply_resource_change::Response {
            new_state: r.prior_state.clone(),
            private: r.planned_private.clone(),
            diagnostics: diags_to_pb(&d),
            ..Default::default()
        })
        .await
    }

    /// ImportResourceState: the one imported object.
    async fn import_resource_state(
        &self,
        r: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let r = r.into_inner();
        respond(self.import(&r), Diagnosed::diagnosed).await
    }

    /// MoveResourceState: not supported.
    async fn move_resource_state(
        &self,
        r: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        let r = r.into_inner();
        let d = Diagnostic::error(
            "Move not supported",
            format!("Moving state from {} to {} is not supported by this provider.", r.source_type_name, r.target_type_name),
        );
        Ok(Response::new(Diagnosed::diagnosed(d.into())))
    }

    /// ReadDataSource: the data source's result.
    async fn read_data_source(
        &self,
        r: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let r = r.into_inner();
        respond(self.read_data(&r), Diagnosed::diagnosed).await
    }

    /// GenerateResourceConfig: the configuration that reproduces a state.
    async fn generate_resource_config(
        &self,
        r: Request<pb::generate_resource_config::Request>,
    ) -> Result<Response<pb::generate_resource_config::Response>, Status> {
        let r = r.into_inner();
        respond(async { self.generate_config(&r) }, Diagnosed::diagnosed).await
    }

    /// ValidateEphemeralResourceConfig: the diagnostics of an ephemeral block.
    async fn validate_ephemeral_resource_config(
        &self,
        r: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        let r = r.into_inner();
        respond_diagnostics(async {
            let e = self.ephemeral_resource(&r.type_name)?;
            validate_config(&e.schema, &e.ty, r.config.as_ref(), e.imp.as_validate_config(), "ephemeral resource configuration")
        })
        .await
    }

    /// OpenEphemeralResource: the result, private data and renewal time.
    async fn open_ephemeral_resource(
        &self,
        r: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        let r = r.into_inner();
        respond(self.open_ephemeral(&r), Diagnosed::diagnosed).await
    }

    /// RenewEphemeralResource: on failure, the private data unchanged.
    async fn renew_ephemeral_resource(
        &self,
        r: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        let r = r.into_inner();
        respond(self.renew_ephemeral(&r), |d| pb::renew_ephemeral_resource::Response {
            diagnostics: diags_to_pb(&d),
            renew_at: None,
            private: r.private.clone(),
        })
        .await
    }

    /// CloseEphemeralResource: the diagnostics of closing.
    async fn close_ephemeral_resource(
        &self,
        r: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        let r = r.into_inner();
        respond_diagnostics(self.close_ephemeral(&r)).await
    }

    /// The stream ListResource answers with.
    type ListResourceStream = EventStream<pb::list_resource::Event>;

    /// ListResource: the stream of what the list resource finds.
    async fn list_resource(&self, r: Request<pb::list_resource::Request>) -> Result<Response<Self::ListResourceStream>, Status> {
        Ok(Response::new(self.list(r.into_inner())))
    }

    /// ValidateListResourceConfig: the diagnostics of a list block's `config`.
    async fn validate_list_resource_config(
        &self,
        r: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        let r = r.into_inner();
        respond_diagnostics(async {
            let e = self.list_resource_entry(&r.type_name)?;
            validate_config(&e.schema, &e.ty, r.config.as_ref(), None, "list configuration")
        })
        .await
    }

    /// GetFunctions: every function's signature (Terraform takes them from
    /// GetProviderSchema; this RPC is for other clients).
    async fn get_functions(&self, _r: Request<pb::get_functions::Request>) -> Result<Response<pb::get_functions::Response>, Status> {
        Ok(Response::new(pb::get_functions::Response { functions: self.schema_response.functions.clone(), diagnostics: Vec::new() }))
    }

    /// CallFunction: the function's result, or its error with the argument's index.
    async fn call_function(&self, r: Request<pb::call_function::Request>) -> Result<Response<pb::call_function::Response>, Status> {
        let r = r.into_inner();
        // A panic in the function (a bug) is its error, as in every other RPC (call.rs).
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.function_result(&r))).unwrap_or_else(|payload| {
            Err(pb::FunctionError { text: format!("{}: {}", PANICKED, panic_detail(payload.as_ref())), function_argument: None })
        });
        Ok(Response::new(match result {
            Ok(result) => pb::call_function::Response { result: Some(result), error: None },
            Err(e) => pb::call_function::Response { result: None, error: Some(e) },
        }))
    }

    /// ValidateStateStoreConfig: this provider has no state stores.
    async fn validate_state_store_config(
        &self,
        r: Request<pb::validate_state_store::Request>,
    ) -> Result<Response<pb::validate_state_store::Response>, Status> {
        Ok(Response::new(Diagnosed::diagnosed(unknown_type("state store", &r.into_inner().type_name))))
    }

    /// ConfigureStateStore: this provider has no state stores.
    async fn configure_state_store(
        &self,
        r: Request<pb::configure_state_store::Request>,
    ) -> Result<Response<pb::configure_state_store::Response>, Status> {
        Ok(Response::new(Diagnosed::diagnosed(unknown_type("state store", &r.into_inner().type_name))))
    }

    /// GetStates: this provider has no state stores.
    async fn get_states(&self, r: Request<pb::get_states::Request>) -> Result<Response<pb::get_states::Response>, Status> {
        Ok(Response::new(Diagnosed::diagnosed(unknown_type("state store", &r.into_inner().type_name))))
    }

    /// DeleteState: this provider has no state stores.
    async fn delete_state(&self, r: Request<pb::delete_state::Request>) -> Result<Response<pb::delete_state::Response>, Status> {
        Ok(Response::new(Diagnosed::diagnosed(unknown_type("state store", &r.into_inner().type_name))))
    }

    /// PlanAction: the action's plan-time checks.
    async fn plan_action(&self, r: Request<pb::plan_action::Request>) -> Result<Response<pb::plan_action::Response>, Status> {
        let r = r.into_inner();
        respond_diagnostics(self.action_plan(&r)).await
    }

    /// The stream InvokeAction answers with.
    type InvokeActionStream = EventStream<pb::invoke_action::Event>;

    /// InvokeAction: progress events while the action runs, then one completed event.
    async fn invoke_action(&self, r: Request<pb::invoke_action::Request>) -> Result<Response<Self::InvokeActionStream>, Status> {
        Ok(Response::new(self.invocation(r.into_inner())))
    }

    /// ValidateActionConfig: the diagnostics of an action's configuration.
    async fn validate_action_config(
        &self,
        r: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        let r = r.into_inner();
        respond_diagnostics(async {
            let e = self.action(&r.type_name)?;
            validate_config(&e.schema, &e.ty, r.config.as_ref(), e.imp.as_validate_config(), "action configuration")
        })
        .await
    }

    /// StopProvider: cancels the provider code in flight; later calls do not start it.
    async fn stop_provider(&self, _r: Request<pb::stop_provider::Request>) -> Result<Response<pb::stop_provider::Response>, Status> {
        tracing::info!("StopProvider received: cancelling in-flight operations");
        self.stop.request();
        Ok(Response::new(pb::stop_provider::Response { error: String::new() }))
    }
}
