//! terraform-provider-identity: started by Terraform as a plugin.

use std::process::ExitCode;

use clap::Parser;
use identity_provider::provider::{IdentityProvider, REGISTRY_ADDRESS};
use identity_provider::tfplugin::server::{ServeError, ServeOptions, not_a_terraform_launch_help, serve};

/// Terraform provider for identity federation. Terraform starts this binary; run it by
/// hand only with --debug (or --version).
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Start without Terraform's handshake and print TF_REATTACH_PROVIDERS for
    /// attaching Terraform to this process.
    #[arg(long)]
    debug: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    identity_provider::logging::init("provider.terraform-provider-identity", identity_provider::logging::level_from_env());
    identity_provider::logging::log_panics();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("terraform-provider-identity: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = ServeOptions { address: REGISTRY_ADDRESS.to_string(), debug: args.debug };
    match runtime.block_on(serve(IdentityProvider, opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(ServeError::NotLaunchedByTerraform) => {
            eprint!("{}", not_a_terraform_launch_help("terraform-provider-identity"));
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("terraform-provider-identity: {e}");
            ExitCode::FAILURE
        }
    }
}
