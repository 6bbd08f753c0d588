//! `examples/quickstart` (what `scripts/quickstart` applies) works against the sandbox:
//! apply, both plans empty, destroy leaves nothing behind.

use crate::support;

use support::{Sandbox, Workspace};

#[test]
fn quickstart_applies_cleanly_and_destroys() {
    let sb = Sandbox::start();
    let mut ws = Workspace::new(&sb);
    let main = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart/main.tf")).expect("quickstart example");
    ws.write_main_raw(&main);
    ws.set_env("TF_VAR_sandbox_url", sb.url());
    ws.apply();
    let out = ws.outputs_json();
    assert_eq!(out["alias"]["value"], "corp-oidc");
    assert_eq!(out["staged_groups"]["value"], 500);
    ws.destroy();
    let state = sb.state();
    assert!(state["runai"]["idps"].as_array().is_some_and(|a| a.is_empty()), "{}", state["runai"]);
    assert!(state["oci"]["users"].as_array().is_some_and(|a| a.is_empty()));
    assert!(state["oci"]["groups"].as_array().is_some_and(|a| a.is_empty()));
}
