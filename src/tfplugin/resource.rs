//! The traits a provider implements: the provider itself, resources and data sources,
//! with optional capabilities opted into through `as_*` accessors (like the framework's
//! `ResourceWith*` interfaces).

use std::sync::Arc;

use async_trait::async_trait;

use super::diag::Diagnostics;
use super::model::Model;
use super::schema::{IdentitySchema, Schema};
use super::timeouts::{Deadline, TimedOut, Timeouts};
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
    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource<Self::Data>>> {
        Vec::new()
    }
    fn list_resources(&self) -> Vec<Arc<dyn ListResource<Self::Data>>> {
        Vec::new()
    }
    /// Provider-defined functions (they never see the configuration).
    fn functions(&self) -> Vec<Arc<dyn super::function::Function>> {
        Vec::new()
    }
    /// Actions.
    fn actions(&self) -> Vec<Arc<dyn super::action::Action<Self::Data>>> {
        Vec::new()
    }
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
    /// The operation's deadline, for a resource that declares [`Resource::timeouts`]: the
    /// framework stops the call shortly after it passes; a resource that makes progress
    /// in steps runs them against it to save what it made (see [`super::timeouts`]).
    pub deadline: Option<Deadline>,
}

impl ApplyRequest {
    /// Runs one step of the operation against its deadline (see [`Deadline::run`]); with
    /// no deadline, to its end.
    pub async fn run<T>(&self, fut: impl std::future::Future<Output = T>) -> Result<T, TimedOut> {
        match &self.deadline {
            Some(d) => d.run(fut).await,
            None => Ok(fut.await),
        }
    }

    /// The planned state as the resource's model.
    pub fn planned_model<M: Model + serde::de::DeserializeOwned>(&self) -> Result<M, Diagnostics> {
        M::from_value(&self.planned)
    }

    /// The prior state as the resource's model (every field `None` on create).
    pub fn prior_model<M: Model + serde::de::DeserializeOwned>(&self) -> Result<M, Diagnostics> {
        M::from_value(&self.prior)
    }

    /// The configuration as the resource's model (write-only values included).
    pub fn config_model<M: Model + serde::de::DeserializeOwned>(&self) -> Result<M, Diagnostics> {
        M::from_value(&self.config)
    }

    /// The error for a step that ran out of time (see [`Deadline::exceeded`]).
    pub fn exceeded(&self, consequence: &str) -> super::diag::Diagnostic {
        match &self.deadline {
            Some(d) => d.exceeded(consequence),
            None => super::diag::Diagnostic::error("Timed out", consequence),
        }
    }
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
    /// A new state from the resource's model, as a value of its schema's type.
    pub fn from_model<M: Model>(m: &M) -> Result<Self, Diagnostics> {
        Ok(StateResult::state(m.to_value()?))
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

    /// The resource's `timeouts`: which operations have one and how its objects are
    /// named. With them the framework bounds every create, read, update and delete (see
    /// [`super::timeouts`]); the schema must hold [`Timeouts::attribute`].
    fn timeouts(&self) -> Option<Timeouts> {
        None
    }

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

    /// Adjusts the configuration generated for an existing object (`terraform query
    /// -generate-config-out`, `plan -generate-config-out`; Terraform 1.14+). `config`
    /// arrives as the framework built it from `state` and the schema: computed-only,
    /// write-only and `timeouts` attributes null, values equal to their schema default
    /// null, the rest as in `state`. Terraform writes the HCL from it (a null attribute
    /// is left out when it is computed, written `= null` otherwise; a sensitive one is
    /// written `= null # sensitive`). Set null here what another resource type manages
    /// (only where leaving it out plans no change): its value stays out of the file.
    /// Nothing by default.
    fn generate_config(&self, _state: &Value, _config: &mut Value) {}
}

/// `terraform import` and `import` blocks.
#[async_trait]
pub trait ImportState<D>: Send + Sync {
    /// Turns an import ID into a state that `read` can complete (usually only the
    /// identifying attributes set, the rest null).
    async fn import(&self, data: Option<&D>, id: &str) -> Result<Value, Diagnostics>;

    /// The private state of the imported object, for imports by ID and by identity
    /// alike; `state` is what the import produced. Terraform hands it to the read that
    /// completes the import, and (when that read returns no private state of its own)
    /// on to the next plan's `prior_private`, until an apply returns another one. Empty
    /// by default.
    fn import_private(&self, _state: &Value) -> Vec<u8> {
        Vec::new()
    }
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
    /// The prior state's private data (what the last read or apply returned).
    pub prior_private: &'a [u8],
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
    /// How long one read may take in all (every request, retry and page); the framework
    /// stops it there with an error.
    fn read_timeout(&self) -> std::time::Duration {
        DATA_SOURCE_READ_TIMEOUT
    }
    fn as_validate_config(&self) -> Option<&dyn ValidateConfig> {
        None
    }
}

/// The default of [`DataSource::read_timeout`]: the default read timeout of resources.
pub const DATA_SOURCE_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// What an ephemeral resource's open produced.
#[derive(Debug, Clone, Default)]
pub struct EphemeralOpened {
    /// The result object, wholly known (configuration values plus computed ones).
    pub result: Value,
    /// Opaque data Terraform hands back to renew and close (kept in memory only, never
    /// in state or plan).
    pub private: Vec<u8>,
    /// When Terraform should call renew while the resource is still in use.
    pub renew_at: Option<std::time::SystemTime>,
    pub diags: Diagnostics,
}

/// What an ephemeral resource's renew produced.
#[derive(Debug, Clone, Default)]
pub struct EphemeralRenewed {
    /// Replaces the private data when set.
    pub private: Option<Vec<u8>>,
    /// The next renewal, if any.
    pub renew_at: Option<std::time::SystemTime>,
    pub diags: Diagnostics,
}

/// An ephemeral resource (Terraform 1.10+): a value that exists only while Terraform
/// runs (a token, a lease). It is opened in every phase that needs it, may be renewed
/// while in use, and is closed at the end of the phase; nothing reaches state or plan.
#[async_trait]
pub trait EphemeralResource<D>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Called only with a wholly known configuration (Terraform does not open an
    /// ephemeral resource whose configuration is unknown).
    async fn open(&self, data: &D, config: &Value) -> Result<EphemeralOpened, Diagnostics>;
    async fn renew(&self, data: &D, private: &[u8]) -> Result<EphemeralRenewed, Diagnostics>;
    /// Releases what open obtained. Problems are reported as diagnostics (typically
    /// warnings: the run's work is done by then).
    async fn close(&self, data: &D, private: &[u8]) -> Diagnostics;
    fn as_validate_config(&self) -> Option<&dyn ValidateConfig> {
        None
    }
}

/// A `list` block's request (`terraform query`, Terraform 1.14+).
#[derive(Debug, Clone)]
pub struct ListRequest {
    /// The `config` block of the list block (null when the block is absent).
    pub config: Value,
    /// Whether Terraform wants the full resource objects (e.g. for
    /// `-generate-config-out`). The framework fills them in; the list resource only
    /// names the objects.
    pub include_resource_object: bool,
    /// The most results Terraform wants (0 or negative: no limit).
    pub limit: i64,
}

/// One object found by a list resource.
#[derive(Debug, Clone)]
pub struct ListedObject {
    /// The object's resource identity, an object with the identity schema's attributes.
    pub identity: Value,
    /// A short human name shown by `terraform query`.
    pub display_name: String,
}

/// Where a list resource delivers what it finds, one object at a time.
pub struct ListSink {
    tx: tokio::sync::mpsc::Sender<ListedObject>,
    remaining: std::sync::atomic::AtomicI64,
}

impl ListSink {
    /// A sink and the receiving end; `limit <= 0` means no limit.
    pub fn new(limit: i64, buffer: usize) -> (ListSink, tokio::sync::mpsc::Receiver<ListedObject>) {
        let (tx, rx) = tokio::sync::mpsc::channel(buffer.max(1));
        (ListSink { tx, remaining: std::sync::atomic::AtomicI64::new(if limit > 0 { limit } else { i64::MAX }) }, rx)
    }

    /// Delivers one object. False when no more are wanted (the limit is reached or
    /// Terraform went away): the list resource should stop paging then.
    pub async fn send(&self, object: ListedObject) -> bool {
        use std::sync::atomic::Ordering;
        if self.remaining.load(Ordering::SeqCst) <= 0 {
            return false;
        }
        if self.tx.send(object).await.is_err() {
            return false;
        }
        self.remaining.fetch_sub(1, Ordering::SeqCst) > 1
    }

    /// Whether more objects are wanted.
    pub fn wants_more(&self) -> bool {
        self.remaining.load(std::sync::atomic::Ordering::SeqCst) > 0 && !self.tx.is_closed()
    }
}

/// A list resource (`list` blocks of `terraform query`, Terraform 1.14+). Its type
/// name is the type name of the managed resource it finds, which must have a resource
/// identity: the framework turns each identity into a full object (through the
/// resource's identity import and read) when Terraform asks for objects.
#[async_trait]
pub trait ListResource<D>: Send + Sync {
    fn type_name(&self) -> &'static str;
    /// The schema of the list block's `config` block.
    fn schema(&self) -> Schema;
    /// Finds objects and sends them to `sink` until there are no more or
    /// `sink.send` returns false.
    async fn list(&self, data: &D, req: &ListRequest, sink: &ListSink) -> Result<(), Diagnostics>;
}
