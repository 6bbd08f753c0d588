//! The plugin server: go-plugin handshake, strict AutoMTLS, and the gRPC services.

mod action;
mod call;
mod convert;
mod data_source;
mod ephemeral;
mod function;
mod generate;
mod identity;
mod list;
mod managed;
mod plugin_services;
pub mod proto;
mod rpc;
mod service;
pub mod tls;

#[cfg(test)]
mod action_tests;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use futures_util::StreamExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};

pub use service::ProviderService;

use crate::tfplugin::resource::Provider;

/// The value go-plugin's client puts in `TF_PLUGIN_MAGIC_COOKIE` for Terraform plugins.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
pub const PROTOCOL_VERSION: u32 = 6;
/// Terraform allows 64 MiB for schemas; allow more for any message.
const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;

/// Why the server could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("not started by Terraform (the plugin magic cookie is missing)")]
    NotLaunchedByTerraform,
    #[error("Terraform asked for plugin protocol versions {0:?}; this provider speaks only version 6")]
    UnsupportedProtocol(String),
    #[error("could not listen on 127.0.0.1: {0}")]
    Listen(std::io::Error),
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error(
        "PLUGIN_CLIENT_CERT is not set: this plugin serves only over mutual TLS with the Terraform that started it \
         (go-plugin AutoMTLS), and refuses to serve plaintext; run it from Terraform, or with --debug to attach by hand"
    )]
    NoClientCertificate,
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("writing the handshake failed: {0}")]
    Io(#[from] std::io::Error),
}

/// How to run the server.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The provider's registry address, used in the reattach line of debug mode.
    pub address: String,
    /// Debug mode: no cookie, no TLS; print a TF_REATTACH_PROVIDERS line for attaching
    /// Terraform by hand, and serve until interrupted.
    pub debug: bool,
}

/// The explanation printed when the binary is started by hand.
pub fn not_a_terraform_launch_help(binary: &str) -> String {
    format!(
        "This binary is a Terraform provider plugin ({binary}).\n\
         It is not meant to be run directly: Terraform starts it and talks to it over gRPC.\n\
         Use it through terraform (for development, with dev_overrides in a CLI config file),\n\
         or run `{binary} --debug` to start it for attaching Terraform by hand.\n"
    )
}

/// Runs the provider as a Terraform plugin until Terraform shuts it down.
pub async fn serve<P: Provider>(provider: P, opts: ServeOptions) -> Result<(), ServeError> {
    if !opts.debug && std::env::var(MAGIC_COOKIE_KEY).ok().as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(ServeError::NotLaunchedByTerraform);
    }
    if !opts.debug
        && let Ok(versions) = std::env::var("PLUGIN_PROTOCOL_VERSIONS")
        && !versions.split(',').any(|v| v.trim() == PROTOCOL_VERSION.to_string())
    {
        return Err(ServeError::UnsupportedProtocol(versions));
    }

    let listener = if opts.debug { TcpListener::bind("127.0.0.1:0").await.map_err(ServeError::Listen)? } else { bind_in_range().await? };
    let addr = listener.local_addr().map_err(ServeError::Listen)?;

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let service = ProviderService::new(provider);
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_service_status("plugin", tonic_health::ServingStatus::Serving).await;

    let router = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .layer(tower::util::MapRequestLayer::new(|req: http::Request<tonic::body::Body>| {
            tracing::debug!(rpc = req.uri().path(), "gRPC call");
            req
        }))
        .add_service(
            proto::tfplugin6::provider_server::ProviderServer::new(service)
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE),
        )
        .add_service(health_service)
        .add_service(proto::plugin::grpc_controller_server::GrpcControllerServer::new(plugin_services::Controller {
            shutdown: shutdown_tx.clone(),
        }))
        .add_service(proto::plugin::grpc_stdio_server::GrpcStdioServer::new(plugin_services::Stdio { shutdown: shutdown_rx.clone() }))
        .add_service(proto::plugin::grpc_broker_server::GrpcBrokerServer::new(plugin_services::Broker { shutdown: shutdown_rx.clone() }));

    // go-plugin servers ignore interrupts: Terraform handles Ctrl-C and calls
    // StopProvider. In debug mode an interrupt ends the server.
    spawn_interrupt_handler(opts.debug, shutdown_tx.clone());

    let mut stop_rx = shutdown_rx.clone();
    let shutdown = async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    };

    let client_cert = match std::env::var("PLUGIN_CLIENT_CERT") {
        Ok(c) => Some(c).filter(|c| !c.trim().is_empty()),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => return Err(ServeError::Tls("PLUGIN_CLIENT_CERT is not text (a PEM certificate)".into())),
    };
    // Strict AutoMTLS: outside debug mode, no client certificate means no server at all.
    if !opts.debug && client_cert.is_none() {
        return Err(ServeError::NoClientCertificate);
    }
    let server = if let (false, Some(client_pem)) = (opts.debug, client_cert) {
        let identity = tls::generate_server_identity()?;
        let config = Arc::new(tls::server_config(&identity, &client_pem)?);
        announce(addr, Some(identity.cert_der.as_ref()), &opts)?;
        let incoming = tls_incoming(listener, tokio_rustls::TlsAcceptor::from(config));
        tokio::spawn(router.serve_with_incoming_shutdown(incoming, shutdown))
    } else {
        announce(addr, None, &opts)?;
        let incoming = TcpListenerStream::new(listener).map(|c| {
            if let Ok(s) = &c {
                let _ = s.set_nodelay(true);
            }
            c
        });
        tokio::spawn(router.serve_with_incoming_shutdown(incoming, shutdown))
    };

    // Once shutdown is requested, give in-flight calls a moment, then exit regardless
    // (go-plugin's client kills the process 2 s after asking).
    let mut after = shutdown_rx.clone();
    tokio::select! {
        r = server => match r {
            Ok(r) => r?,
            Err(e) => tracing::error!(error = %e, "gRPC server task failed"),
        },
        _ = async move {
            let _ = after.wait_for(|s| *s).await;
            tokio::time::sleep(Duration::from_millis(1500)).await;
        } => tracing::warn!("in-flight calls did not finish within the shutdown grace period"),
    }
    Ok(())
}

fn spawn_interrupt_handler(debug: bool, shutdown: watch::Sender<bool>) {
    tokio::spawn(async move {
        loop {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            if debug {
                shutdown.send_replace(true);
                return;
            }
            tracing::debug!("ignoring interrupt: Terraform will ask the provider to stop");
        }
    });
}

/// Binds 127.0.0.1 on the first free port of PLUGIN_MIN_PORT..=PLUGIN_MAX_PORT, or any
/// free port when they are not set.
async fn bind_in_range() -> Result<TcpListener, ServeError> {
    let min = std::env::var("PLUGIN_MIN_PORT").ok().and_then(|v| v.parse::<u16>().ok());
    let max = std::env::var("PLUGIN_MAX_PORT").ok().and_then(|v| v.parse::<u16>().ok());
    match (min, max) {
        (Some(min), Some(max)) if min <= max && min > 0 => {
            let mut last_err = None;
            for port in min..=max {
                match TcpListener::bind(("127.0.0.1", port)).await {
                    Ok(l) => return Ok(l),
                    Err(e) => last_err = Some(e),
                }
            }
            Err(ServeError::Listen(last_err.unwrap_or_else(|| std::io::Error::other("no port in range"))))
        }
        _ => TcpListener::bind("127.0.0.1:0").await.map_err(ServeError::Listen),
    }
}

/// Prints the handshake line (or, in debug mode, the reattach instructions).
fn announce(addr: SocketAddr, cert_der: Option<&[u8]>, opts: &ServeOptions) -> Result<(), ServeError> {
    let mut out = std::io::stdout().lock();
    if opts.debug {
        let reattach = serde_json::json!({
            opts.address.clone(): {
                "Protocol": "grpc",
                "ProtocolVersion": PROTOCOL_VERSION,
                "Pid": std::process::id(),
                "Test": true,
                "Addr": {"Network": "tcp", "String": addr.to_string()},
            }
        });
        writeln!(
            out,
            "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment variable with the following:\n\n\tTF_REATTACH_PROVIDERS='{reattach}'\n"
        )?;
    } else {
        let cert = cert_der.map(|d| base64::engine::general_purpose::STANDARD_NO_PAD.encode(d)).unwrap_or_default();
        writeln!(out, "1|{PROTOCOL_VERSION}|tcp|{addr}|grpc|{cert}")?;
    }
    out.flush()?;
    Ok(())
}

/// Accepts TCP connections, sets TCP_NODELAY, and completes TLS handshakes off the
/// accept loop; failed handshakes (wrong or missing client certificate) are dropped.
fn tls_incoming(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
) -> ReceiverStream<Result<tokio_rustls::server::TlsStream<TcpStream>, std::io::Error>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        let _ = tx.send(Ok(tls)).await;
                    }
                    Ok(Err(e)) => tracing::warn!(%peer, error = %e, "TLS handshake refused"),
                    Err(_) => tracing::warn!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}
