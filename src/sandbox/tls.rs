//! `identity-sandbox --tls`: HTTPS with a certificate generated at start, the way Fudo
//! appliances commonly run (self-signed TLS).
//!
//! At start the sandbox makes a throw-away CA and a server certificate it signs, for
//! `localhost`, `127.0.0.1`, `::1`, the listen address and any `--tls-san`. The CA
//! certificate (PEM) is written to `--tls-cert-out FILE` *before* the `listening on
//! https://...` line is printed, so a test that has read the line can read the file; it
//! is what a client trusts (the provider's `fudo.ca_cert_pem`).
//!
//! axum 0.8 has no TLS of its own: [`TlsListener`] implements `axum::serve::Listener`.
//! A background task accepts TCP connections and runs each TLS handshake in its own task
//! (with a timeout), so a slow or broken client never holds up the others; finished
//! handshakes are handed to axum through a channel.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Finished handshakes waiting for axum to pick them up.
const BACKLOG: usize = 64;

/// The TLS flags of `identity-sandbox`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct TlsOptions {
    /// Serve HTTPS (with a generated certificate) instead of plain HTTP.
    #[arg(long)]
    pub tls: bool,

    /// Write the PEM of the CA that signed the generated certificate to FILE (trust it
    /// with the provider's `fudo.ca_cert_pem`). Written before the `listening on` line.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub tls_cert_out: Option<PathBuf>,

    /// An extra DNS name or IP address for the certificate (repeatable); `localhost`,
    /// `127.0.0.1`, `::1` and the listen address are always included.
    #[arg(long = "tls-san", value_name = "NAME", requires = "tls")]
    pub tls_sans: Vec<String>,
}

/// Why the certificate or the TLS configuration could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate the sandbox certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot build the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    #[error("cannot write the CA certificate to {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// A generated CA and the server configuration using the certificate it signed.
pub struct SandboxCert {
    /// PEM of the CA certificate: what clients trust.
    pub ca_pem: String,
    /// PEM of the server (leaf) certificate.
    pub leaf_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for SandboxCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxCert").finish_non_exhaustive()
    }
}

fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The certificate's subject alternative names: the loopback names, `listen`'s address
/// when it is a specific one, and `extra`, without duplicates.
pub fn subject_alt_names(listen: Option<SocketAddr>, extra: &[String]) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    if let Some(addr) = listen.filter(|a| !a.ip().is_unspecified()) {
        names.push(addr.ip().to_string());
    }
    names.extend(extra.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()));
    let mut seen = std::collections::BTreeSet::new();
    names.retain(|n| seen.insert(n.parse::<IpAddr>().map(|ip| ip.to_string()).unwrap_or_else(|_| n.to_ascii_lowercase())));
    names
}

/// Generates a CA and a server certificate for `names` (valid from an hour ago for 30 days).
pub fn generate(names: &[String]) -> Result<SandboxCert, TlsError> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};

    let now = std::time::SystemTime::now();
    let not_before = now - Duration::from_secs(3600);
    let not_after = now + Duration::from_secs(30 * 24 * 3600);

    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name.push(DnType::CommonName, "identity-sandbox CA");
    ca.distinguished_name.push(DnType::OrganizationName, "terraform-provider-identity");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    ca.not_before = not_before.into();
    ca.not_after = not_after.into();
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut leaf = CertificateParams::new(names.to_vec())?;
    leaf.distinguished_name.push(DnType::CommonName, "identity-sandbox");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = not_before.into();
    leaf.not_after = not_after.into();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;

    let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // axum serves HTTP/1.1 here (its http2 feature is off).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(SandboxCert { ca_pem: ca_cert.pem(), leaf_pem: leaf_cert.pem(), server_config: Arc::new(config) })
}

/// Writes `pem` to `path` atomically (temporary file, then rename).
pub fn write_pem(path: &Path, pem: &str) -> Result<(), TlsError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let err = |source| TlsError::Write { path: path.to_path_buf(), source };
    std::fs::write(&tmp, pem).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// A TCP listener that hands axum connections whose TLS handshake has completed.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `tcp` (in a background task of the current runtime).
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(BACKLOG);
        let acceptor = TlsAcceptor::from(config);
        let task = tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, as axum does.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    return;
                }
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { rx, local, task })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept task is gone (only when the listener is being dropped).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Starts a sandbox over HTTPS on `127.0.0.1:0` in the background (like
/// [`super::spawn`]); returns it with the PEM of the CA to trust.
pub async fn spawn_tls(config: super::SandboxConfig) -> anyhow::Result<(super::RunningSandbox, String)> {
    use anyhow::Context as _;

    let tcp = TcpListener::bind("127.0.0.1:0").await.context("bind 127.0.0.1:0")?;
    let addr = tcp.local_addr().context("local address")?;
    let cert = generate(&subject_alt_names(Some(addr), &[]))?;
    let state = super::AppState::new(config)?;
    state.set_own_address(addr, Some(cert.ca_pem.clone()));
    let app = super::router(state.clone());
    let listener = TlsListener::new(tcp, cert.server_config.clone()).context("TLS listener")?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "sandbox server failed");
        }
    });
    Ok((super::RunningSandbox { url: format!("https://{addr}"), addr, state, task }, cert.ca_pem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cover_loopback_listen_address_and_extras_once() {
        let listen: SocketAddr = "10.1.2.3:8443".parse().expect("addr");
        let names = subject_alt_names(Some(listen), &["fudo.local".into(), "LOCALHOST".into(), "127.0.0.1".into(), " ".into()]);
        assert_eq!(names, ["localhost", "127.0.0.1", "::1", "10.1.2.3", "fudo.local"]);
        let any: SocketAddr = "0.0.0.0:0".parse().expect("addr");
        assert_eq!(subject_alt_names(Some(any), &[]), ["localhost", "127.0.0.1", "::1"]);
    }

    #[test]
    fn generates_a_ca_and_a_leaf() {
        let cert = generate(&subject_alt_names(None, &[])).expect("generate");
        assert!(cert.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"), "{}", cert.ca_pem);
        assert!(cert.leaf_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_ne!(cert.ca_pem, cert.leaf_pem);
        assert_eq!(cert.server_config.alpn_protocols, [b"http/1.1".to_vec()]);
    }

    #[test]
    fn pem_is_written_atomically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ca.pem");
        write_pem(&path, "PEM").expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "PEM");
        assert!(!dir.path().join("ca.pem.tmp").exists());
        let err = write_pem(&dir.path().join("missing/ca.pem"), "PEM").expect_err("no such directory");
        assert!(err.to_string().contains("missing/ca.pem"), "{err}");
    }
}
