//! One module per vendor API (serde models + endpoint functions), over a shared HTTP
//! layer ([`http`]: retries, safe creates, error messages) with a per-vendor rate
//! [`governor`] and a secret [`scrub`]ber for everything that leaves the provider.
//! [`coalesce`] turns concurrent reads of one kind into one list request.

pub mod coalesce;
pub mod failure;
pub mod fudo;
pub mod governor;
pub mod http;
pub mod landscape;
pub mod runai;
pub mod scim;
pub mod scim_members;
pub mod scrub;
pub mod vendor;

pub use http::{ApiError, HttpSettings};
