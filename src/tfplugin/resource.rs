//! The traits a provider implements: the provider itself, resources and data sources,
//! with optional capabilities opted into through `as_*` accessors (like the framework's
//! `ResourceWith*` interfaces).

use std::sync::Arc;

use async_trait::async_trait;

use super::diag::Diagnostics;
use super::schema::{IdentitySchema, Schema};
use super::value::Value;

/// A provider: its schema, configuration, and the resources and data sources it serves.
/// `Data` is what configuration produces (typically the configured API clients); it is
/// handed to every resource call.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    type Data: Send + Sync + 'static;

    /// The provider's type name, e.g. `identity`.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Extra configuration checks beyond the schema's validators.
    fn validate_config(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    /// Builds the provider data from the configuration. Called once per
    /// ConfigureProvider; repeated calls replace the data. Warnings go into `diags`.
    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<Self::Data>;
    fn resources(&self) -> Vec<Arc<dyn Resource<Self::Data>>>;
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Self::Data>>>;
}

/// Inputs of create and update.
#[derive(Debug, Clone)]
pub struct ApplyRequest {
    /// The planned state; computed values may still be unknown.
    pub planned: Value,
    /// The prior state (null on create).
    pub prior: Value,
    /// The configuration, including write-only values.
    pub config: Value,
    pub private: Vec<u8>,
}

/// The outcome of create, update and read.
#[derive(Debug, Clone, Default)]
pub struct StateResult {
    /// The new state, wholly known. Null from read means the object is gone.
    pub state: Value,
    pub private: Vec<u8>,
    pub diags: Diagnostics,
}

impl StateResult {
    pub fn state(state: Value) -> Self {
        StateResult { state, private: Vec::new(), diags: Diagnostics::new() }
    }
    pub fn gone() -> Self {
        StateResult::state(Value::Null)
    }
    pub fn with_private(mut self, private: Vec<u8>) -> Self {
        self.private = private;
        self
    }
}

/// A managed resource: CRUD against its API. Planning is not done here: the plan engine
/// plans from the schema's declarations.
#[async_trait]
pub trait Resource<D>: Send + Sync {
    /// The full type name, e.g. `identity_idp`.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn create(&self, data: &D, req: &ApplyRequest) -> Result<StateResult, Diagnostics>;
    /// Refreshes `state` from the API; `StateResult::gone()` when the object is gone.
    async fn read(&self, data: &D, state: &Value, private: &[u8]) -> Result<StateResult, Diagnostics>;
    async fn update(&self, data: &D, req: &ApplyRequest) -> Result<StateResult, Diagnostics>;
    /// Deletes the object; an object already gone is not an error.
    async fn delete(&self, data: &D, state: &Value, private: &[u8]) -> Result<(), Diagnostics>;

    /// The resource identity (Terraform 1.12+): attributes named like state attributes.
    /// With one, `import` blocks may give `identity = {...}` instead of an id.
    fn identity_schema(&self) -> Option<IdentitySchema> {
        None
    }
    fn as_import(&self) -> Option<&dyn ImportState<D>> {
        None
    }
    fn as_validate_config(&self) -> Option<&dyn ValidateConfig> {
        None
    }
    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan<D>> {
        None
    }
    fn as_upgrade_state(&self) -> Option<&dyn UpgradeState> {
        None
    }
}

/// `terraform import` and `import` blocks.
#[async_trait]
pub trait ImportState<D>: Send + Sync {
    /// Turns an import ID into a state that `read` can complete (usually only the
    /// identifying attributes set, the rest null).
    async fn import(&self, data: Option<&D>, id: &str) -> Result<Value, Diagnostics>;
}

/// Resource-level configuration checks beyond the attribute validators (e.g. a nested
/// object required when another attribute has a given value).
pub trait ValidateConfig: Send + Sync {
    fn validate_config(&self, config: &Value) -> Diagnostics;
}

/// Input and output of a resource's plan modification, after the plan engine ran.
#[derive(Debug, Clone)]
pub struct ModifyPlanRequest<'a> {
    pub prior: &'a Value,
    pub config: &'a Value,
    pub planned: Value,
    pub requires_replace: Vec<super::diag::AttrPath>,
}

#[async_trait]
pub trait ModifyPlan<D>: Send + Sync {
    /// Adjusts the plan (e.g. a value derivable before apply). `data` is None when the
    /// provider is not configured yet (e.g. its configuration is unknown).
    async fn modify_plan(&self, data: Option<&D>, req: &mut ModifyPlanRequest<'_>, diags: &mut Diagnostics);
}

/// Migration of states stored under older schema versions.
pub trait UpgradeState: Send + Sync {
    /// `raw` is the stored state's JSON attributes, written under schema `version`.
    /// Returns the state as JSON under the current schema.
    fn upgrade_state(&self, version: i64, raw: serde_json::Value) -> Result<serde_json::Value, Diagnostics>;
}

/// A data source: reads something from an API into computed attributes.
#[async_trait]
pub trait DataSource<D>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn read(&self, data: &D, config: &Value) -> Result<StateResult, Diagnostics>;
    fn as_validate_config(&self) -> Option<&dyn ValidateConfig> {
        None
    }
}
