//! One module per vendor API (serde models + endpoint functions), over a shared HTTP
//! layer ([`http`]).

pub mod fudo;
pub mod http;
pub mod landscape;
pub mod runai;
pub mod scim;

pub use http::{ApiError, HttpSettings};
