//! terraform-provider-identity: a Terraform provider (plugin protocol 6) for identity
//! federation, plus `identity-sandbox`, an emulator of the vendor APIs it manages.
//!
//! From the bottom up:
//! - [`tfplugin`]: the protocol framework (knows nothing about vendors);
//! - [`http`]: the HTTP layer every vendor client uses (retries, safe creates, rate
//!   governor, read coalescing, secret scrubbing);
//! - [`vendors`]: one folder per vendor (client, resources, data sources, list and
//!   ephemeral resources);
//! - [`provider`]: the provider schema and configuration, which builds each vendor's client;
//! - [`sandbox`]: the emulator.

pub mod http;
pub mod logging;
pub mod provider;
pub mod sandbox;
pub mod tfplugin;
pub mod vendors;
