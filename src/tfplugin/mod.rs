//! The Terraform plugin protocol framework. It knows nothing about vendors: a provider
//! implements the traits in [`resource`], declares schemas with [`schema`], and
//! [`server::serve`] does the rest (handshake, mTLS, gRPC, codecs, planning).

pub mod action;
pub mod diag;
pub mod docs;
pub mod function;
pub mod model;
pub mod plan;
pub mod plan_modifier;
pub mod resource;
pub mod schema;
pub mod server;
pub mod timeouts;
pub mod validator;
pub mod value;

pub use diag::{AttrPath, Diagnostic, Diagnostics};
pub use resource::{ApplyRequest, DataSource, Provider, Resource, StateResult};
pub use schema::{Attribute, Nesting, Schema};
pub use validator::Validator;
pub use value::{Type, Value};
