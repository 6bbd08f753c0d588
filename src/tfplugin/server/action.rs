//! Actions: PlanAction checks an invocation at plan time; InvokeAction runs it in a task
//! of its own and streams its progress lines as `Progress` events, then one `Completed`
//! event with its diagnostics. The invocation is bounded by the action's `timeout` and
//! cancelled promptly when Terraform asks the provider to stop (Ctrl-C) or stops
//! listening.

use std::time::Duration;

use tonic::Status;

use super::call::{EventStream, until_stopped};
use super::convert::{decode_dv, diags_to_pb};
use super::proto::tfplugin6 as pb;
use super::service::ProviderService;
use crate::tfplugin::action::{InvokeRequest, Progress, deadline_of, timed_out};
use crate::tfplugin::diag::{Diagnostic, Diagnostics};
use crate::tfplugin::resource::Provider;

/// How much longer than its `timeout` an action that handles its own deadline (to say
/// what it saw last) gets before the framework stops it.
const GRACE: Duration = Duration::from_millis(500);

/// The `Completed` event carrying `d`.
fn completed(d: &Diagnostics) -> pb::invoke_action::Event {
    pb::invoke_action::Event {
        r#type: Some(pb::invoke_action::event::Type::Completed(pb::invoke_action::event::Completed { diagnostics: diags_to_pb(d) })),
    }
}

/// A `Progress` event.
fn progress(message: String) -> pb::invoke_action::Event {
    pb::invoke_action::Event { r#type: Some(pb::invoke_action::event::Type::Progress(pb::invoke_action::event::Progress { message })) }
}

impl<P: Provider> ProviderService<P> {
    /// PlanAction: the action's plan-time checks (the configuration may hold unknowns).
    pub(super) async fn action_plan(&self, r: &pb::plan_action::Request) -> Result<Diagnostics, Diagnostics> {
        let e = self.action(&r.action_type)?;
        let config = decode_dv(r.config.as_ref(), &e.ty, "action configuration")?;
        let data = self.configured();
        self.stop.run(async { Ok(e.imp.plan(data.as_deref(), &config).await) }).await
    }

    /// InvokeAction: the stream of the invocation's progress and its end.
    pub(super) fn invocation(&self, r: pb::invoke_action::Request) -> EventStream<pb::invoke_action::Event> {
        let prepared = (|| -> Result<_, Diagnostics> {
            let e = self.action(&r.action_type)?;
            let config = decode_dv(r.config.as_ref(), &e.ty, "action configuration")?;
            if !config.is_wholly_known() {
                return Err(Diagnostic::error(
                    "Action configuration not known",
                    format!("{} was invoked with values that are not known yet; this is a bug in the caller.", r.action_type),
                )
                .into());
            }
            Ok((e.imp.clone(), config, self.require_configured()?, e.imp.default_timeout()))
        })();
        let (imp, config, data, default_timeout) = match prepared {
            Ok(p) => p,
            Err(d) => return Box::pin(futures_util::stream::iter([Ok(completed(&d))])),
        };
        let type_name = r.action_type;
        let (out, rx) = tokio::sync::mpsc::channel::<Result<pb::invoke_action::Event, Status>>(32);
        let stop = self.stop.subscribe();
        tokio::spawn(async move {
            let (sink, mut lines) = Progress::channel(32);
            let deadline = deadline_of(&config, default_timeout);
            let req = InvokeRequest { config, deadline: deadline.map(|d| d.0), limit: deadline.map(|d| d.1) };
            let work = async move {
                let sink = sink;
                let run = imp.invoke(&data, &req, &sink);
                match deadline {
                    Some((at, limit)) => match tokio::time::timeout_at(at.checked_add(GRACE).unwrap_or(at), run).await {
                        Ok(r) => r,
                        Err(_) => Err(timed_out(&type_name, limit, &req.config).into()),
                    },
                    None => run.await,
                }
            };
            let out_ref = &out;
            let forward = async move {
                while let Some(line) = lines.recv().await {
                    tracing::info!(progress = %line, "action progress");
                    if out_ref.send(Ok(progress(line))).await.is_err() {
                        break;
                    }
                }
            };
            let outcome = until_stopped(stop, async {
                tokio::select! {
                    (r, ()) = async { tokio::join!(work, forward) } => r,
                    () = out_ref.closed() => Err(Diagnostic::error("Terraform stopped listening", "The action was cancelled.").into()),
                }
            })
            .await;
            let d = outcome.unwrap_or_else(|d| d);
            let _ = out.send(Ok(completed(&d))).await;
        });
        Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
    }
}
