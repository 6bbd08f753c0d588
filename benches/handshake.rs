//! Exec-to-handshake latency: spawns the provider binary the way Terraform does (magic
//! cookie, protocol versions, port range, a P-521 client certificate) and measures the
//! time until the handshake line arrives on stdout. Prints figures; asserts nothing.
//!
//! Run: `cargo bench --bench handshake` (release build). `HANDSHAKE_RUNS` sets the
//! number of runs (default 20).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-identity");

fn client_cert_pem() -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    params.self_signed(&key).expect("cert").pem()
}

fn main() {
    let runs: usize = std::env::var("HANDSHAKE_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let pem = client_cert_pem();
    let mut samples: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let mut child = Command::new(BIN)
            .env("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2")
            .env("PLUGIN_PROTOCOL_VERSIONS", "6,5")
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .env("PLUGIN_CLIENT_CERT", &pem)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn provider");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("handshake line");
        samples.push(start.elapsed());
        assert!(line.starts_with("1|6|tcp|127.0.0.1:"), "unexpected handshake line {line:?}");
        let _ = child.kill();
        let _ = child.wait();
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("binary: {BIN}");
    println!(
        "exec-to-handshake over {runs} runs: median {:.2} ms, min {:.2} ms, max {:.2} ms",
        ms(samples[runs / 2]),
        ms(samples[0]),
        ms(samples[runs - 1])
    );
}
