//! The one path every RPC's work takes, written once: StopProvider's cancellation of
//! the provider code in flight ([`Stop`]), the folding of the work's outcome (its
//! answer, or the error diagnostics that replace it) into the RPC's response
//! ([`respond`], [`respond_diagnostics`]), a panic in provider code turned into that
//! call's error ([`unless_panicked`]), and the standard diagnostics and checks the RPCs
//! share.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use futures_util::{FutureExt as _, Stream};
use tokio::sync::watch;
use tonic::{Response, Status};

use super::convert::{decode_dv, diags_to_pb};
use super::proto::tfplugin6 as pb;
use crate::tfplugin::AttrPath;
use crate::tfplugin::diag::{Diagnostic, Diagnostics};
use crate::tfplugin::resource::ValidateConfig;
use crate::tfplugin::schema::Schema;
use crate::tfplugin::validator::validate_attributes;
use crate::tfplugin::value::{Type, Value};

/// A streamed answer (ListResource, InvokeAction).
pub(super) type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// StopProvider's signal. Once set it stays set: provider code in flight ends with
/// "Interrupted" and provider code of later calls does not start.
pub(super) struct Stop(watch::Sender<bool>);

impl Stop {
    /// A signal not set yet.
    pub(super) fn new() -> Self {
        Stop(watch::channel(false).0)
    }

    /// Sets the signal (StopProvider).
    pub(super) fn request(&self) {
        self.0.send_replace(true);
    }

    /// A receiver of the signal, for work that outlives the RPC call (a list stream).
    pub(super) fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }

    /// Runs provider code, cancelling it when Terraform asks the provider to stop.
    pub(super) async fn run<T>(&self, fut: impl Future<Output = Result<T, Diagnostics>>) -> Result<T, Diagnostics> {
        until_stopped(self.subscribe(), fut).await
    }
}

/// Runs `fut` unless `stop` is set before it starts or while it runs; then it is
/// dropped (cancelled) and the answer is "Interrupted". A panic in `fut` is its error.
pub(super) async fn until_stopped<T>(
    mut stop: watch::Receiver<bool>,
    fut: impl Future<Output = Result<T, Diagnostics>>,
) -> Result<T, Diagnostics> {
    if *stop.borrow() {
        return Err(interrupted());
    }
    tokio::select! {
        r = unless_panicked(fut) => r,
        _ = stop.wait_for(|s| *s) => Err(interrupted()),
    }
}

/// Runs `fut`; a panic in it (a bug in provider code) becomes an error diagnostic of this
/// call instead of unwinding into tonic, which would drop the call and leave Terraform
/// with "plugin did not respond" and no word of what went wrong. Other calls go on; what
/// the panicking call was doing stays undone, as with any other error.
pub(super) async fn unless_panicked<T>(fut: impl Future<Output = Result<T, Diagnostics>>) -> Result<T, Diagnostics> {
    // AssertUnwindSafe: after a panic the call's own values are dropped, never used; state
    // it shares with other calls is behind tokio locks (which do not poison) or std locks
    // (a poisoned one makes the later calls that take it fail the same way, with an error).
    AssertUnwindSafe(fut).catch_unwind().await.unwrap_or_else(|payload| Err(panicked(payload.as_ref())))
}

/// The error of a call whose provider code panicked, with the panic's message.
pub(super) fn panicked(payload: &(dyn Any + Send)) -> Diagnostics {
    Diagnostic::error(PANICKED, panic_detail(payload)).into()
}

/// The summary of [`panicked`]'s error.
pub(super) const PANICKED: &str = "Provider bug: the operation panicked";

/// What [`panicked`] says of a panic: its message, what Terraform keeps, what to do.
pub(super) fn panic_detail(payload: &(dyn Any + Send)) -> String {
    let message = crate::logging::panic_message(payload);
    format!(
        "The provider stopped this operation because of an internal error: {message}. Terraform keeps the state it had \
         before the operation; if the vendor had already acted (an object created, say), check the vendor before applying \
         again. Please report this bug with the provider's log (TF_LOG_PROVIDER=debug)."
    )
}

/// Ends an RPC: the answer its work produced or, when the work failed (or panicked), the
/// answer `failed` builds from the error diagnostics.
pub(super) async fn respond<M>(
    work: impl Future<Output = Result<M, Diagnostics>>,
    failed: impl FnOnce(Diagnostics) -> M,
) -> Result<Response<M>, Status> {
    Ok(Response::new(unless_panicked(work).await.unwrap_or_else(failed)))
}

/// Ends an RPC whose only answer is diagnostics (validation, configuration, close):
/// the work's diagnostics, whether it ran (warnings, validation errors) or failed.
pub(super) async fn respond_diagnostics<M: Diagnosed>(
    work: impl Future<Output = Result<Diagnostics, Diagnostics>>,
) -> Result<Response<M>, Status> {
    respond(async { work.await.map(M::diagnosed) }, M::diagnosed).await
}

/// A response message with a `diagnostics` field: the answer that carries diagnostics
/// and leaves every other field at its default (what a failed RPC answers, unless it
/// must hand something back).
pub(super) trait Diagnosed: Default {
    /// The message's `diagnostics` field.
    fn diagnostics_mut(&mut self) -> &mut Vec<pb::Diagnostic>;

    /// The answer with these diagnostics and nothing else.
    fn diagnosed(d: Diagnostics) -> Self {
        let mut m = Self::default();
        *m.diagnostics_mut() = diags_to_pb(&d);
        m
    }
}

/// Implements [`Diagnosed`] for the `Response` message of each named RPC module.
macro_rules! diagnosed {
    ($($rpc:ident),* $(,)?) => {$(
        impl Diagnosed for pb::$rpc::Response {
            fn diagnostics_mut(&mut self) -> &mut Vec<pb::Diagnostic> {
                &mut self.diagnostics
            }
        }
    )*};
}

diagnosed!(
    validate_provider_config,
    validate_resource_config,
    validate_data_resource_config,
    validate_ephemeral_resource_config,
    validate_list_resource_config,
    configure_provider,
    upgrade_resource_state,
    upgrade_resource_identity,
    plan_resource_change,
    import_resource_state,
    move_resource_state,
    read_data_source,
    generate_resource_config,
    open_ephemeral_resource,
    close_ephemeral_resource,
    validate_state_store,
    configure_state_store,
    get_states,
    delete_state,
    plan_action,
    validate_action_config,
);

/// The answer of work that StopProvider cancelled.
pub(super) fn interrupted() -> Diagnostics {
    Diagnostic::error("Interrupted", "Terraform asked the provider to stop; the operation was cancelled.").into()
}

/// Terraform named a type this provider does not have.
pub(super) fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(format!("Unknown {kind} type"), format!("This provider has no {kind} named \"{name}\".")).into()
}

/// Terraform asked for something this provider does not do for `name`.
pub(super) fn unsupported(what: &str, name: &str) -> Diagnostics {
    Diagnostic::error(format!("{what} not supported"), format!("{what} is not supported for \"{name}\".")).into()
}

/// A state handed to Terraform after apply or read must be wholly known.
pub(super) fn check_known(state: &Value, type_name: &str, op: &str) -> Result<(), Diagnostics> {
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

/// Decodes a configuration and runs the schema's validators and the optional
/// object-level check; the diagnostics of both.
pub(super) fn validate_config(
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
