//! Strict AutoMTLS as go-plugin does it: a server certificate generated at start, and a
//! client certificate that must be byte-for-byte the one Terraform put in
//! `PLUGIN_CLIENT_CERT`. Terraform's certificate is ECDSA P-521, which rustls verifies
//! with the aws-lc-rs provider.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use super::ServeError;

/// A freshly generated, self-signed server certificate for `localhost`.
pub struct ServerIdentity {
    pub cert_der: CertificateDer<'static>,
    pub key_der: PrivateKeyDer<'static>,
}

pub fn generate_server_identity() -> Result<ServerIdentity, ServeError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| ServeError::Tls(e.to_string()))?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).map_err(|e| ServeError::Tls(e.to_string()))?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "terraform-provider-identity");
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature, rcgen::KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let now = std::time::SystemTime::now();
    params.not_before = (now - std::time::Duration::from_secs(3600)).into();
    params.not_after = (now + std::time::Duration::from_secs(30 * 24 * 3600)).into();
    let cert = params.self_signed(&key).map_err(|e| ServeError::Tls(e.to_string()))?;
    Ok(ServerIdentity { cert_der: cert.der().clone(), key_der: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())) })
}

/// Accepts exactly one client certificate.
#[derive(Debug)]
pub struct PinnedClientCert {
    pinned: Vec<u8>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCert {
    /// `pem` is the content of `PLUGIN_CLIENT_CERT`.
    pub fn from_pem(pem: &str) -> Result<Self, ServeError> {
        let der = CertificateDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| ServeError::Tls(format!("PLUGIN_CLIENT_CERT is not a PEM certificate: {e}")))?;
        if !is_der_sequence(der.as_ref()) {
            return Err(ServeError::Tls(
                "PLUGIN_CLIENT_CERT holds a PEM block whose content is not a DER certificate (an ASN.1 SEQUENCE)".into(),
            ));
        }
        Ok(PinnedClientCert { pinned: der.as_ref().to_vec(), algorithms: crypto_provider().signature_verification_algorithms })
    }
}

impl ClientCertVerifier for PinnedClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        true
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_slice() {
            Ok(ClientCertVerified::assertion())
        } else {
            tracing::warn!("refused a TLS client whose certificate is not the one Terraform announced");
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure))
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

pub fn crypto_provider() -> CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

/// The server TLS configuration: our certificate, the pinned client, ALPN h2.
pub fn server_config(identity: &ServerIdentity, client_cert_pem: &str) -> Result<rustls::ServerConfig, ServeError> {
    let verifier = Arc::new(PinnedClientCert::from_pem(client_cert_pem)?);
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(crypto_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ServeError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![identity.cert_der.clone()], identity.key_der.clone_key())
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok(cfg)
}

/// Whether `der` is one whole DER SEQUENCE (what every X.509 certificate is): a tag of
/// 0x30 and a definite length that covers exactly the rest. A sanity check only: the
/// certificate is pinned, never parsed further.
fn is_der_sequence(der: &[u8]) -> bool {
    let [0x30, first, rest @ ..] = der else { return false };
    let (len, body) = if first & 0x80 == 0 {
        (usize::from(*first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return false;
        }
        (rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), &rest[n..])
    };
    len == body.len()
}

#[cfg(test)]
mod der_tests {
    use super::is_der_sequence;

    #[test]
    fn only_a_whole_der_sequence_passes() {
        assert!(is_der_sequence(&[0x30, 0x03, 1, 2, 3]));
        assert!(is_der_sequence(&[0x30, 0x81, 0x02, 9, 9]));
        let mut long = vec![0x30, 0x82, 0x01, 0x00];
        long.extend(std::iter::repeat_n(0u8, 256));
        assert!(is_der_sequence(&long));
        for bad in [&[][..], &[0, 0, 0], &[0x30], &[0x30, 0x05, 1], &[0x31, 0x01, 0], &[0x30, 0x80, 0, 0], &[0x30, 0x85, 1, 1, 1, 1, 1]] {
            assert!(!is_der_sequence(bad), "{bad:?}");
        }
    }
}
