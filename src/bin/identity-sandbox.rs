//! `identity-sandbox`: a local emulator of the vendor APIs (see `identity_provider::sandbox`).
//! Stdout carries exactly one line, `listening on http://ADDR` (`https://` with `--tls`);
//! logs go to stderr, and so does a loud warning when ADDR is not a loopback address.

use clap::Parser;
use identity_provider::sandbox::tls::TlsOptions;
use identity_provider::sandbox::{self, DEFAULT_LISTEN, SandboxConfig};

#[derive(Debug, Parser)]
#[command(name = "identity-sandbox", version, about = "Local emulator of the Run:ai, Fudo, OCI IAM (SCIM) and Landscape APIs")]
struct Args {
    /// Address to listen on; port 0 picks a free port. Anything but a loopback address
    /// (0.0.0.0, ::, a LAN address) exposes the public demo credentials and the
    /// unauthenticated control plane, and is warned about on stderr.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    listen: String,

    #[command(flatten)]
    config: SandboxConfig,

    #[command(flatten)]
    tls: TlsOptions,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match sandbox::run_with_tls(&args.listen, args.config, &args.tls).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One readable line (with causes), no backtrace dump.
            eprintln!("identity-sandbox: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
