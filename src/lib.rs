//! terraform-provider-identity: a Terraform provider (plugin protocol 6) for identity
//! federation, plus `identity-sandbox`, an emulator of the vendor APIs it manages.
//!
//! - [`tfplugin`]: the protocol framework (knows nothing about vendors).
//! - [`provider`]: the provider schema and configuration.
//! - [`clients`]: one HTTP client module per vendor.
//! - [`resources`] / [`data_sources`]: one file per Terraform resource or data source.
//! - [`sandbox`]: the emulator.

pub mod clients;
pub mod data_sources;
pub mod ephemeral;
pub mod list_resources;
pub mod logging;
pub mod provider;
pub mod resources;
pub mod sandbox;
pub mod tfplugin;
