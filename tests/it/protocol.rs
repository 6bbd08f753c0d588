//! Protocol tests: the provider binary spawned as Terraform spawns it (magic cookie,
//! client certificate), reached over mutual TLS with a tonic client.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use hyper_util::rt::TokioIo;
use identity_provider::tfplugin::server::proto::plugin;
use identity_provider::tfplugin::server::proto::tfplugin6 as pb;
use identity_provider::tfplugin::server::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tonic::transport::{Channel, Endpoint, Uri};

const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-identity");

/// A client certificate like Terraform's: ECDSA P-521, self-signed, CN=localhost.
struct ClientIdentity {
    pem: String,
    der: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

fn client_identity() -> ClientIdentity {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("P-521 key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "HashiCorp");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key).expect("self-signed");
    ClientIdentity { pem: cert.pem(), der: cert.der().clone(), key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())) }
}

struct Plugin {
    child: Child,
    addr: String,
    server_cert: Vec<u8>,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_plugin(client_pem: &str) -> Plugin {
    let mut child = Command::new(BIN)
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "20000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_CLIENT_CERT", client_pem)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn provider");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("handshake line");
    let parts: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(parts.len(), 6, "handshake line: {line:?}");
    assert_eq!(&parts[..3], &["1", "6", "tcp"], "handshake line: {line:?}");
    assert_eq!(parts[4], "grpc");
    let addr = parts[3].to_string();
    assert!(addr.starts_with("127.0.0.1:"), "listens on loopback only: {addr}");
    let port: u16 = addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    assert!((20000..=25000).contains(&port), "port {port} honours PLUGIN_MIN_PORT/PLUGIN_MAX_PORT");
    assert_listening_on_loopback_only(port);
    assert!(!parts[5].contains('='), "certificate is base64 without padding");
    let server_cert = base64::engine::general_purpose::STANDARD_NO_PAD.decode(parts[5]).expect("certificate base64");
    Plugin { child, addr, server_cert }
}

/// The kernel's view of the listening socket (`/proc/net/tcp` and `tcp6`): every socket
/// listening on `port` is bound to 127.0.0.1, none to a wildcard or another address, so
/// nothing off this machine can reach the plugin.
fn assert_listening_on_loopback_only(port: u16) {
    let mut listeners = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // local_address is "ADDR:PORT" in hex; st 0A is LISTEN.
            let (Some(local), Some(state)) = (cols.get(1), cols.get(3)) else { continue };
            let Some((addr, p)) = local.split_once(':') else { continue };
            if *state == "0A" && u16::from_str_radix(p, 16).ok() == Some(port) {
                listeners.push(format!("{table} {addr}"));
            }
        }
    }
    assert!(!listeners.is_empty(), "no listening socket found for port {port} in /proc/net/tcp*");
    // 127.0.0.1 is 0100007F in the little-endian hex of /proc/net/tcp.
    assert!(listeners.iter().all(|l| l.ends_with(" 0100007F")), "the plugin listens on loopback only; found {listeners:?}");
}

async fn connect(p: &Plugin, client: Option<&ClientIdentity>) -> Result<Channel, tonic::transport::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(p.server_cert.clone())).expect("server cert as root");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let mut cfg = match client {
        Some(c) => builder.with_client_auth_cert(vec![c.der.clone()], c.key.clone_key()).expect("client auth"),
        None => builder.with_no_client_auth(),
    };
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let addr = p.addr.clone();
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let connector = connector.clone();
            let addr = addr.clone();
            async move {
                let tcp = tokio::net::TcpStream::connect(&addr).await?;
                let tls = connector.connect(ServerName::try_from("localhost").expect("name"), tcp).await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        }))
        .await
}

fn has_error(diags: &[pb::Diagnostic], needle: &str) -> bool {
    diags.iter().any(|d| d.severity == pb::diagnostic::Severity::Error as i32 && (d.summary.contains(needle) || d.detail.contains(needle)))
}

#[tokio::test]
async fn terraform_style_client_completes_tls_grpc_and_bad_input_is_diagnosed() {
    let id = client_identity();
    let mut p = start_plugin(&id.pem);
    let channel = connect(&p, Some(&id)).await.expect("mTLS connection with the announced client cert");
    let mut client = pb::provider_client::ProviderClient::new(channel.clone()).max_decoding_message_size(64 << 20);

    let schema = client.get_provider_schema(pb::get_provider_schema::Request {}).await.expect("GetProviderSchema").into_inner();
    assert!(schema.provider.is_some(), "provider schema present");
    assert!(schema.resource_schemas.contains_key("identity_idp"));
    let caps = schema.server_capabilities.expect("capabilities");
    assert!(caps.plan_destroy && caps.get_provider_schema_optional);

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = health.check(tonic_health::pb::HealthCheckRequest { service: "plugin".into() }).await.expect("health").into_inner();
    assert_eq!(status.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);

    // Malformed msgpack: a diagnostic, and the server keeps serving.
    for garbage in [vec![0xc1], vec![0x81], vec![0xdd, 0xff, 0xff, 0xff, 0xff], b"\x82\xa4name".to_vec()] {
        let resp = client
            .validate_resource_config(pb::validate_resource_config::Request {
                type_name: "identity_idp".into(),
                config: Some(pb::DynamicValue { msgpack: garbage.clone(), json: vec![] }),
                client_capabilities: None,
            })
            .await
            .expect("ValidateResourceConfig answers")
            .into_inner();
        assert!(has_error(&resp.diagnostics, "Invalid resource configuration"), "{garbage:?}: {:?}", resp.diagnostics);
        let resp = client
            .plan_resource_change(pb::plan_resource_change::Request {
                type_name: "identity_idp".into(),
                proposed_new_state: Some(pb::DynamicValue { msgpack: garbage.clone(), json: vec![] }),
                ..Default::default()
            })
            .await
            .expect("PlanResourceChange answers")
            .into_inner();
        assert!(has_error(&resp.diagnostics, "Invalid"), "{garbage:?}: {:?}", resp.diagnostics);
    }

    // Unknown type names.
    let resp = client
        .validate_resource_config(pb::validate_resource_config::Request { type_name: "identity_nope".into(), ..Default::default() })
        .await
        .expect("answers")
        .into_inner();
    assert!(has_error(&resp.diagnostics, "identity_nope"), "{:?}", resp.diagnostics);
    let resp = client
        .read_resource(pb::read_resource::Request { type_name: "identity_nope".into(), ..Default::default() })
        .await
        .expect("answers")
        .into_inner();
    assert!(has_error(&resp.diagnostics, "identity_nope"));
    let resp = client
        .read_data_source(pb::read_data_source::Request { type_name: "identity_nope".into(), ..Default::default() })
        .await
        .expect("answers")
        .into_inner();
    assert!(has_error(&resp.diagnostics, "identity_nope"));
    let resp = client
        .upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: "identity_idp".into(),
            version: 0,
            raw_state: Some(pb::RawState { json: b"{not json".to_vec(), flatmap: Default::default() }),
        })
        .await
        .expect("answers")
        .into_inner();
    assert!(has_error(&resp.diagnostics, "not valid JSON"), "{:?}", resp.diagnostics);

    // A resource call before ConfigureProvider is a diagnostic, not a crash.
    let state = identity_provider::tfplugin::value::encode_msgpack(
        &identity_provider::tfplugin::Value::object_of(&[("id", "x".into()), ("alias", "x".into())]),
        &identity_provider::tfplugin::Resource::<identity_provider::provider::ProviderData>::schema(
            &identity_provider::vendors::runai::idp::IdpResource,
        )
        .value_type(),
    )
    .expect("encode");
    let resp = client
        .read_resource(pb::read_resource::Request {
            type_name: "identity_idp".into(),
            current_state: Some(pb::DynamicValue { msgpack: state, json: vec![] }),
            ..Default::default()
        })
        .await
        .expect("answers")
        .into_inner();
    assert!(has_error(&resp.diagnostics, "not configured"), "{:?}", resp.diagnostics);

    // ConfigureProvider accepts repeated calls.
    for _ in 0..2 {
        let resp = client.configure_provider(pb::configure_provider::Request::default()).await.expect("configure").into_inner();
        assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    }

    // Shutdown through GRPCController ends the process.
    let mut controller = plugin::grpc_controller_client::GrpcControllerClient::new(channel);
    controller.shutdown(plugin::Empty {}).await.expect("shutdown");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = p.child.try_wait().expect("wait") {
            assert!(status.success(), "clean exit after Shutdown: {status}");
            break;
        }
        assert!(Instant::now() < deadline, "process still running 5 s after Shutdown");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_different_client_certificate_is_refused() {
    let announced = client_identity();
    let intruder = client_identity();
    let p = start_plugin(&announced.pem);
    let refused = match connect(&p, Some(&intruder)).await {
        Err(_) => true,
        Ok(ch) => pb::provider_client::ProviderClient::new(ch).get_provider_schema(pb::get_provider_schema::Request {}).await.is_err(),
    };
    assert!(refused, "a client with another certificate must not get an answer");
}

#[tokio::test]
async fn a_client_without_certificate_is_refused() {
    let announced = client_identity();
    let p = start_plugin(&announced.pem);
    let refused = match connect(&p, None).await {
        Err(_) => true,
        Ok(ch) => pb::provider_client::ProviderClient::new(ch).get_provider_schema(pb::get_provider_schema::Request {}).await.is_err(),
    };
    assert!(refused, "a client without a certificate must not get an answer");
}

#[test]
fn started_by_hand_it_explains_itself() {
    let out = Command::new(BIN).env_remove(MAGIC_COOKIE_KEY).output().expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Terraform provider plugin") && stderr.contains("terraform"), "{stderr}");
    assert!(out.stdout.is_empty(), "no handshake line without the cookie");
}

#[test]
fn without_a_client_certificate_it_refuses_to_serve_plaintext() {
    for cert in [None, Some(""), Some("  \n")] {
        let mut cmd = Command::new(BIN);
        cmd.env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE).env("PLUGIN_PROTOCOL_VERSIONS", "6").env_remove("PLUGIN_CLIENT_CERT");
        if let Some(c) = cert {
            cmd.env("PLUGIN_CLIENT_CERT", c);
        }
        let out = cmd.output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cert:?}: exits non-zero");
        assert!(out.stdout.is_empty(), "{cert:?}: no handshake line, so nothing to connect to: {}", String::from_utf8_lossy(&out.stdout));
        assert!(stderr.contains("PLUGIN_CLIENT_CERT is not set") && stderr.contains("--debug"), "{cert:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().filter(|l| l.contains("PLUGIN_CLIENT_CERT")).count(), 1, "one line: {stderr}");
    }
}

#[test]
fn garbage_client_certificates_are_refused_in_one_line() {
    for (cert, words) in [
        ("not pem at all", "is not a PEM certificate"),
        ("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "is not a PEM certificate"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a DER certificate"),
    ] {
        let out = Command::new(BIN)
            .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "6")
            .env("PLUGIN_CLIENT_CERT", cert)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && out.stdout.is_empty(), "{cert:?}: refused before any handshake");
        assert!(stderr.contains(words) && stderr.trim_end().lines().count() == 1, "{cert:?}: {stderr}");
        assert!(!stderr.contains('['), "{cert:?}: no raw byte array: {stderr}");
    }
}

#[test]
fn unsupported_protocol_versions_are_refused() {
    let out = Command::new(BIN).env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE).env("PLUGIN_PROTOCOL_VERSIONS", "5").output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("version 6"));
}

#[test]
fn debug_mode_prints_a_reattach_line() {
    let mut child =
        Command::new(BIN).arg("--debug").env_remove(MAGIC_COOKIE_KEY).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !text.contains("TF_REATTACH_PROVIDERS='") && Instant::now() < deadline {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        text.push_str(&line);
    }
    let _ = child.kill();
    let _ = child.wait();
    let json = text.split("TF_REATTACH_PROVIDERS='").nth(1).and_then(|s| s.split('\'').next()).expect("reattach line");
    let v: serde_json::Value = serde_json::from_str(json).expect("reattach JSON");
    let entry = &v["registry.terraform.io/idfabric/identity"];
    assert_eq!(entry["Test"], true);
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Protocol"], "grpc");
    assert!(entry["Addr"]["String"].as_str().unwrap_or("").starts_with("127.0.0.1:"));
    let mut rest = String::new();
    let _ = out.read_to_string(&mut rest);
}
