//! The integration tests: one test binary (`it`), one module per subject, so that the crate,
//! the harness (`tests/support`) and the dependencies are compiled and linked once for all
//! of them. Only the fuzzers live in a binary of their own (`tests/fuzz/`), because they
//! install a counting global allocator.
//!
//! A test's name is `<module>::<test>`; run one module with
//! `cargo test --test it acceptance_idp::`, one test with
//! `cargo test --test it -- --exact acceptance_idp::<test>`.
//!
//! The modules run in one process, in parallel: a test must not change process-wide
//! state (environment variables, the working directory, a panic hook or signal
//! dispositions); child processes get their environment through `Command`.
//!
//! A module whose tests drive terraform through `support::Workspace` runs on both
//! Terraform versions of `scripts/test` (see `leg2_once` and `leg2_skip` there).

#[path = "../support/mod.rs"]
mod support;

mod acceptance_fudo;
mod acceptance_idp;
mod acceptance_landscape;
mod acceptance_membership;
mod acceptance_quickstart;
mod acceptance_runai;
mod acceptance_scim;
mod actions;
mod coalescing;
mod concurrency_scim;
mod conformance_scim;
mod contract_runai;
mod crash;
mod docs;
mod drift;
mod ephemeral_token;
mod error_paths;
mod examples_validate;
mod failure_paths;
mod failures;
mod framework;
mod functions;
mod generate_config;
mod hostile;
mod identity_import;
mod interop_scim;
mod mirror_install;
mod module_tests;
mod protocol;
mod query;
mod registry_install;
mod release_sbom;
mod release_signing;
mod reliability_faults;
mod secrets;
mod static_release;
mod timeouts;
mod validation_all;
mod validation_idp;
mod workload_identity;
