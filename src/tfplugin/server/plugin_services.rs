//! go-plugin's auxiliary services: GRPCController (shutdown), GRPCStdio and GRPCBroker.
//! Terraform opens the stdio and broker streams on connect; tfplugin6 never brokers
//! connections and our logs go to stderr directly, so both streams stay open and quiet
//! until shutdown.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use tokio::sync::watch;
use tonic::{Request, Response, Status, Streaming};

use super::proto::plugin;

type Quiet<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// A stream that yields nothing and ends at shutdown.
fn quiet_until<T: Send + 'static>(mut shutdown: watch::Receiver<bool>) -> Quiet<T> {
    Box::pin(
        futures_util::stream::once(async move {
            let _ = shutdown.wait_for(|s| *s).await;
        })
        .filter_map(|_| async { None }),
    )
}

pub struct Controller {
    pub shutdown: watch::Sender<bool>,
}

#[tonic::async_trait]
impl plugin::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _r: Request<plugin::Empty>) -> Result<Response<plugin::Empty>, Status> {
        tracing::debug!("shutdown requested through GRPCController");
        self.shutdown.send_replace(true);
        Ok(Response::new(plugin::Empty {}))
    }
}

pub struct Stdio {
    pub shutdown: watch::Receiver<bool>,
}

#[tonic::async_trait]
impl plugin::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = Quiet<plugin::StdioData>;

    async fn stream_stdio(&self, _r: Request<()>) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(quiet_until(self.shutdown.clone())))
    }
}

pub struct Broker {
    pub shutdown: watch::Receiver<bool>,
}

#[tonic::async_trait]
impl plugin::grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = Quiet<plugin::ConnInfo>;

    async fn start_stream(&self, r: Request<Streaming<plugin::ConnInfo>>) -> Result<Response<Self::StartStreamStream>, Status> {
        let mut incoming = r.into_inner();
        tokio::spawn(async move {
            while let Some(Ok(info)) = incoming.next().await {
                tracing::debug!(service_id = info.service_id, "ignoring broker connection info: this provider brokers nothing");
            }
        });
        Ok(Response::new(quiet_until(self.shutdown.clone())))
    }
}
