//! The `Provider` gRPC service with a probe provider of its own (no vendor): every RPC's
//! answer on success and on failure, StopProvider cancelling calls in flight and later
//! ones, timeouts of data source reads, and the list stream.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures_util::StreamExt;
use tonic::Request;

use super::proto::tfplugin6 as pb;
use super::proto::tfplugin6::provider_server::Provider as _;
use super::service::ProviderService;
use crate::tfplugin::resource::{
    ApplyRequest, DataSource, EphemeralOpened, EphemeralRenewed, EphemeralResource, ImportState, ListRequest, ListResource, ListSink,
    ListedObject, ModifyPlan, ModifyPlanRequest, Provider, Resource, StateResult, UpgradeState, ValidateConfig,
};
use crate::tfplugin::schema::IdentitySchema;
use crate::tfplugin::value::encode_msgpack;
use crate::tfplugin::{Attribute, Diagnostic, Diagnostics, Schema, Type, Value};

/// The probe provider: `mode = "fail"` fails configuration, `mode = "warn"` warns
/// in validation.
struct Probe;
/// A managed resource whose behaviour is chosen by its `name` (create) or `id` (read,
/// delete, import): `hang` never finishes, `fail` fails, `gone` is not found.
struct Thing;
/// A data source: `name = "hang"` outlasts its 100 ms read timeout.
struct Info;
/// An ephemeral resource: `name` chooses open's behaviour, the private bytes renew's.
struct Token;
/// The list resource of `probe_thing`: `name` chooses what it finds.
struct Things;

/// Future that never finishes, as a stuck vendor call would.
async fn hang<T>() -> T {
    std::future::pending().await
}

/// The error a probe gives when told to fail.
fn fail(what: &str) -> Diagnostics {
    Diagnostic::error(format!("{what} failed"), "the probe said so").into()
}

/// The warning a probe gives on success.
fn warn(what: &str) -> Diagnostics {
    Diagnostic::warning(format!("{what} warns"), "a probe warning").into()
}

#[async_trait]
impl Provider for Probe {
    type Data = ();
    fn type_name(&self) -> &'static str {
        "probe"
    }
    fn schema(&self) -> Schema {
        Schema::new("probe provider", vec![Attribute::string("mode").optional().describe("mode")])
    }
    fn validate_config(&self, config: &Value) -> Diagnostics {
        if config.get("mode").as_str() == Some("warn") { warn("provider validation") } else { Diagnostics::new() }
    }
    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<()> {
        if config.get("mode").as_str() == Some("fail") {
            diags.extend(fail("configure"));
            return None;
        }
        diags.extend(warn("configure"));
        Some(())
    }
    fn resources(&self) -> Vec<Arc<dyn Resource<()>>> {
        vec![Arc::new(Thing)]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<()>>> {
        vec![Arc::new(Info)]
    }
    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource<()>>> {
        vec![Arc::new(Token)]
    }
    fn list_resources(&self) -> Vec<Arc<dyn ListResource<()>>> {
        vec![Arc::new(Things)]
    }
}

/// `probe_thing`'s schema (version 1).
fn thing_schema() -> Schema {
    Schema::new(
        "a probe thing",
        vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("id"),
            Attribute::string("name").optional().describe("name"),
            Attribute::string("secret_wo").optional().write_only().sensitive().describe("secret"),
        ],
    )
    .version(1)
}

/// `probe_thing`'s value type.
fn ty() -> Type {
    thing_schema().value_type()
}

/// The schema of the data source and the ephemeral resource: `name` in, `out` computed.
fn name_schema(what: &str) -> Schema {
    Schema::new(what, vec![Attribute::string("name").optional().describe("name"), Attribute::string("out").computed().describe("out")])
}

/// The value type of [`name_schema`].
fn name_ty() -> Type {
    name_schema("x").value_type()
}

/// A state's `id` (empty when null).
fn id_of(v: &Value) -> &str {
    v.get("id").as_str().unwrap_or_default()
}

#[async_trait]
impl Resource<()> for Thing {
    fn type_name(&self) -> &'static str {
        "probe_thing"
    }
    fn schema(&self) -> Schema {
        thing_schema()
    }
    async fn create(&self, _d: &(), req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let mut s = req.planned.clone();
        match req.planned.get("name").as_str() {
            Some("hang") => hang().await,
            Some("fail") => Err(fail("create")),
            Some("panic") => panic!("probe panicked on create"),
            Some("unknown") => Ok(StateResult::state(s)),
            _ => {
                s.set("id", "t-1".into());
                s.set("secret_wo", req.config.get("secret_wo").clone());
                Ok(StateResult { state: s, private: b"created".to_vec(), diags: warn("create") })
            }
        }
    }
    async fn read(&self, _d: &(), state: &Value, _p: &[u8]) -> Result<StateResult, Diagnostics> {
        match id_of(state) {
            "hang" => hang().await,
            "fail" => Err(fail("read")),
            "panic" => panic!("probe panicked on read"),
            "gone" => Ok(StateResult::gone()),
            "unknown" => Ok(StateResult::state(Value::object_of(&[("id", Value::unknown())]))),
            "private" => Ok(StateResult::state(state.clone()).with_private(b"read".to_vec())),
            id => {
                let mut s = state.clone();
                s.set("name", format!("named-{id}").into());
                s.set("secret_wo", "leak".into());
                Ok(StateResult { state: s, private: Vec::new(), diags: warn("read") })
            }
        }
    }
    async fn update(&self, _d: &(), req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        match req.planned.get("name").as_str() {
            Some("hang") => hang().await,
            Some("fail") => Err(fail("update")),
            _ => Ok(StateResult::state(req.planned.clone())),
        }
    }
    async fn delete(&self, _d: &(), s: &Value, _p: &[u8]) -> Result<(), Diagnostics> {
        match id_of(s) {
            "hang" => hang().await,
            "fail" => Err(fail("delete")),
            _ => Ok(()),
        }
    }
    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::required(&[("id", Type::String, "thing id")]))
    }
    fn as_import(&self) -> Option<&dyn ImportState<()>> {
        Some(self)
    }
    fn as_validate_config(&self) -> Option<&dyn ValidateConfig> {
        Some(self)
    }
    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan<()>> {
        Some(self)
    }
    fn as_upgrade_state(&self) -> Option<&dyn UpgradeState> {
        Some(self)
    }
}

#[async_trait]
impl ImportState<()> for Thing {
    async fn import(&self, _d: Option<&()>, id: &str) -> Result<Value, Diagnostics> {
        match id {
            "hang" => hang().await,
            "fail" => Err(fail("import")),
            _ => Ok(Value::object_of(&[("id", id.into()), ("name", Value::Null), ("secret_wo", "leak".into())])),
        }
    }
    fn import_private(&self, _state: &Value) -> Vec<u8> {
        b"imported".to_vec()
    }
}

impl ValidateConfig for Thing {
    fn validate_config(&self, config: &Value) -> Diagnostics {
        if config.get("name").as_str() == Some("bad") { warn("thing validation") } else { Diagnostics::new() }
    }
}

#[async_trait]
impl ModifyPlan<()> for Thing {
    async fn modify_plan(&self, data: Option<&()>, req: &mut ModifyPlanRequest<'_>, diags: &mut Diagnostics) {
        if data.is_some() && req.config.get("name").as_str() == Some("derive") {
            req.planned.set("id", "derived".into());
        }
        diags.extend(warn("modify plan"));
    }
}

impl UpgradeState for Thing {
    fn upgrade_state(&self, version: i64, mut raw: serde_json::Value) -> Result<serde_json::Value, Diagnostics> {
        if version == 0
            && let Some(o) = raw.as_object_mut()
        {
            o.insert("name".into(), "upgraded".into());
            return Ok(raw);
        }
        Err(fail("upgrade"))
    }
}

#[async_trait]
impl DataSource<()> for Info {
    fn type_name(&self) -> &'static str {
        "probe_info"
    }
    fn schema(&self) -> Schema {
        name_schema("probe info")
    }
    async fn read(&self, _d: &(), config: &Value) -> Result<StateResult, Diagnostics> {
        let mut s = config.clone();
        match config.get("name").as_str() {
            Some("hang") => hang().await,
            Some("fail") => Err(fail("data read")),
            Some("unknown") => {
                s.set("out", Value::unknown());
                Ok(StateResult::state(s))
            }
            _ => {
                s.set("out", "read".into());
                Ok(StateResult { state: s, private: Vec::new(), diags: warn("data read") })
            }
        }
    }
    fn read_timeout(&self) -> Duration {
        Duration::from_millis(100)
    }
}

#[async_trait]
impl EphemeralResource<()> for Token {
    fn type_name(&self) -> &'static str {
        "probe_token"
    }
    fn schema(&self) -> Schema {
        name_schema("probe token")
    }
    async fn open(&self, _d: &(), config: &Value) -> Result<EphemeralOpened, Diagnostics> {
        let mut s = config.clone();
        match config.get("name").as_str() {
            Some("hang") => hang().await,
            Some("fail") => Err(fail("open")),
            Some("unknown") => {
                s.set("out", Value::unknown());
                Ok(EphemeralOpened { result: s, ..Default::default() })
            }
            _ => {
                s.set("out", "opened".into());
                Ok(EphemeralOpened {
                    result: s,
                    private: b"p".to_vec(),
                    renew_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000)),
                    diags: warn("open"),
                })
            }
        }
    }
    async fn renew(&self, _d: &(), private: &[u8]) -> Result<EphemeralRenewed, Diagnostics> {
        match private {
            b"hang" => hang().await,
            b"fail" => Err(fail("renew")),
            b"keep" => Ok(EphemeralRenewed { private: None, renew_at: None, diags: warn("renew") }),
            _ => Ok(EphemeralRenewed {
                private: Some(b"renewed".to_vec()),
                renew_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000)),
                diags: Diagnostics::new(),
            }),
        }
    }
    async fn close(&self, _d: &(), private: &[u8]) -> Diagnostics {
        if private == b"slow" {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        warn(&format!("close {}", String::from_utf8_lossy(private)))
    }
}

#[async_trait]
impl ListResource<()> for Things {
    fn type_name(&self) -> &'static str {
        "probe_thing"
    }
    fn schema(&self) -> Schema {
        Schema::new("list config", vec![Attribute::string("name").optional().describe("name")])
    }
    async fn list(&self, _d: &(), req: &ListRequest, sink: &ListSink) -> Result<(), Diagnostics> {
        let found = |id: &str| ListedObject { identity: Value::object_of(&[("id", id.into())]), display_name: format!("thing {id}") };
        match req.config.get("name").as_str() {
            Some("hang") => {
                sink.send(found("a")).await;
                hang().await
            }
            Some("fail") => {
                sink.send(found("a")).await;
                Err(fail("list"))
            }
            Some("panic") => {
                sink.send(found("a")).await;
                panic!("probe panicked while listing")
            }
            _ => {
                for id in ["a", "gone", "fail", "unknown", "b", "c"] {
                    if !sink.send(found(id)).await {
                        break;
                    }
                }
                Ok(())
            }
        }
    }
}

/// A value as Terraform sends it.
fn dv(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue { msgpack: encode_msgpack(v, ty).expect("encode"), json: vec![] })
}

/// A `probe_thing` object without a write-only value.
fn thing(id: Value, name: &str) -> Value {
    Value::object_of(&[("id", id), ("name", name.into()), ("secret_wo", Value::Null)])
}

/// The configuration of the data source or the ephemeral resource.
fn named(name: &str) -> Option<pb::DynamicValue> {
    dv(&Value::object_of(&[("name", name.into()), ("out", Value::Null)]), &name_ty())
}

/// The provider block.
fn provider_config(mode: Option<&str>) -> Option<pb::DynamicValue> {
    let ty = Type::object([("mode", Type::String)]);
    dv(&Value::object_of(&[("mode", mode.into())]), &ty)
}

/// The error diagnostics' summaries and details of an answer, as one text.
fn error_text(diags: &[pb::Diagnostic]) -> String {
    diags
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .map(|d| format!("{} | {}\n", d.summary, d.detail))
        .collect()
}

/// A panic in provider code fails that one call with an error that quotes it, in the
/// shape the RPC answers any failure with; the service goes on answering.
#[tokio::test]
async fn a_panic_in_provider_code_is_the_calls_error() {
    let svc = configured().await;

    let r = svc.apply_resource_change(apply_req(&Value::Null, &thing(Value::unknown(), "panic"))).await.expect("answer").into_inner();
    let text = error_text(&r.diagnostics);
    assert!(text.contains("Provider bug: the operation panicked") && text.contains("probe panicked on create"), "{text}");
    assert_eq!(r.new_state, dv(&Value::Null, &ty()), "a failed create hands back the prior (null) state");

    let r = svc.read_resource(read_req("probe_thing", "panic")).await.expect("answer").into_inner();
    let text = error_text(&r.diagnostics);
    assert!(text.contains("probe panicked on read"), "{text}");
    assert_eq!(r.new_state, dv(&thing("panic".into(), "n"), &ty()), "a failed read hands back the current state");
    assert_eq!(r.private, b"before");

    let events = list(&svc, "probe_thing", "panic", false, 0).await;
    let text: String = events.iter().map(|e| error_text(&e.diagnostic)).collect();
    assert!(text.contains("probe panicked while listing"), "{events:?}");

    // The same service still answers.
    let r = svc.read_resource(read_req("probe_thing", "x")).await.expect("answer").into_inner();
    assert_eq!(error_text(&r.diagnostics), "");
}

#[test]
fn panic_messages_are_quoted_and_bounded() {
    use crate::logging::panic_message;
    assert_eq!(panic_message(&"static words"), "static words");
    assert_eq!(panic_message(&String::from("formatted 7")), "formatted 7");
    assert_eq!(panic_message(&42_u8), "(no message)");
    let long = panic_message(&"é".repeat(800));
    assert_eq!(long.chars().count(), 501, "500 characters and an ellipsis");
}

/// A record of the answers, one line per call: `label: answer` (the answer's `Debug`).
/// With `SERVICE_TRANSCRIPT=<file>` the test writes it there, to compare the answers
/// before and after a change of the server.
#[derive(Default)]
struct Transcript(String);

impl Transcript {
    /// Records one answer.
    fn note(&mut self, what: &str, answer: &impl std::fmt::Debug) {
        let _ = writeln!(self.0, "{what}: {answer:?}");
    }

    /// Checks that the answer labelled `what` holds each of `has` and none of `lacks`.
    fn check(&self, what: &str, has: &[&str], lacks: &[&str]) {
        let prefix = format!("{what}: ");
        let answer = self.0.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no answer labelled {what:?}"));
        for h in has {
            assert!(answer.contains(h), "{what}: expected {h:?} in {answer}");
        }
        for l in lacks {
            assert!(!answer.contains(l), "{what}: unexpected {l:?} in {answer}");
        }
    }
}

/// `Debug` of these bytes, as a transcript shows a `Vec<u8>`.
fn bytes(b: &str) -> String {
    format!("{:?}", b.as_bytes())
}

/// The transcript's `Debug` of a diagnostic summary.
fn summary(s: &str) -> String {
    format!("summary: {s:?}")
}

/// A service whose provider is configured.
async fn configured() -> ProviderService<Probe> {
    let svc = ProviderService::new(Probe);
    svc.configure_provider(Request::new(pb::configure_provider::Request { config: provider_config(None), ..Default::default() }))
        .await
        .expect("answer");
    svc
}

/// Every event of one ListResource call.
async fn list(svc: &ProviderService<Probe>, type_name: &str, name: &str, include: bool, limit: i64) -> Vec<pb::list_resource::Event> {
    let stream = svc
        .list_resource(Request::new(pb::list_resource::Request {
            type_name: type_name.into(),
            config: dv(&Value::object_of(&[("name", name.into())]), &Type::object([("name", Type::String)])),
            include_resource_object: include,
            limit,
        }))
        .await
        .expect("answer")
        .into_inner();
    stream.map(|e| e.expect("event")).collect().await
}

/// ReadResource of a state with this id and private data `before`.
fn read_req(type_name: &str, id: &str) -> Request<pb::read_resource::Request> {
    Request::new(pb::read_resource::Request {
        type_name: type_name.into(),
        current_state: dv(&thing(id.into(), "n"), &ty()),
        private: b"before".to_vec(),
        ..Default::default()
    })
}

/// ApplyResourceChange from `prior` to `planned`, with planned private data `planned`.
fn apply_req(prior: &Value, planned: &Value) -> Request<pb::apply_resource_change::Request> {
    Request::new(pb::apply_resource_change::Request {
        type_name: "probe_thing".into(),
        prior_state: dv(prior, &ty()),
        planned_state: dv(planned, &ty()),
        config: dv(&thing(Value::Null, planned.get("name").as_str().unwrap_or_default()), &ty()),
        planned_private: b"planned".to_vec(),
        ..Default::default()
    })
}

/// Every RPC on the paths a configured provider takes, successes and failures.
async fn transcript_of_a_configured_provider(t: &mut Transcript) {
    let unconfigured = ProviderService::new(Probe);
    let r = unconfigured.read_resource(read_req("probe_thing", "x")).await.expect("answer").into_inner();
    t.note("read before configure", &r);
    let r = unconfigured
        .open_ephemeral_resource(Request::new(pb::open_ephemeral_resource::Request {
            type_name: "probe_token".into(),
            config: named("ok"),
            ..Default::default()
        }))
        .await
        .expect("answer")
        .into_inner();
    t.note("open before configure", &r);
    t.note("list before configure", &list(&unconfigured, "probe_thing", "ok", false, 0).await);
    let bad = unconfigured
        .configure_provider(Request::new(pb::configure_provider::Request { config: provider_config(Some("fail")), ..Default::default() }))
        .await
        .expect("answer")
        .into_inner();
    t.note("configure failing", &bad);
    let garbled = unconfigured
        .configure_provider(Request::new(pb::configure_provider::Request {
            config: Some(pb::DynamicValue { msgpack: vec![0xc1], json: vec![] }),
            ..Default::default()
        }))
        .await
        .expect("answer")
        .into_inner();
    t.note("configure garbled", &garbled);

    let mut metadata = unconfigured.get_metadata(Request::new(pb::get_metadata::Request {})).await.expect("answer").into_inner();
    metadata.resources.sort_by(|a, b| a.type_name.cmp(&b.type_name));
    metadata.data_sources.sort_by(|a, b| a.type_name.cmp(&b.type_name));
    metadata.ephemeral_resources.sort_by(|a, b| a.type_name.cmp(&b.type_name));
    metadata.list_resources.sort_by(|a, b| a.type_name.cmp(&b.type_name));
    t.note("metadata", &metadata);
    let schema = unconfigured.get_provider_schema(Request::new(pb::get_provider_schema::Request {})).await.expect("answer").into_inner();
    let sorted =
        |m: &std::collections::HashMap<String, pb::Schema>| format!("{:?}", m.iter().collect::<std::collections::BTreeMap<_, _>>());
    t.note("schema provider", &schema.provider);
    t.note("schema resources", &sorted(&schema.resource_schemas));
    t.note("schema data sources", &sorted(&schema.data_source_schemas));
    t.note("schema ephemeral", &sorted(&schema.ephemeral_resource_schemas));
    t.note("schema lists", &sorted(&schema.list_resource_schemas));
    t.note("schema capabilities", &(schema.server_capabilities, schema.diagnostics, schema.functions, schema.action_schemas.len()));
    let ids = unconfigured
        .get_resource_identity_schemas(Request::new(pb::get_resource_identity_schemas::Request {}))
        .await
        .expect("answer")
        .into_inner();
    t.note("identity schemas", &ids);

    for mode in [None, Some("warn")] {
        let r = unconfigured
            .validate_provider_config(Request::new(pb::validate_provider_config::Request { config: provider_config(mode) }))
            .await
            .expect("answer")
            .into_inner();
        t.note(&format!("validate provider {mode:?}"), &r);
    }
    for (ty_name, name) in [("probe_thing", "bad"), ("probe_thing", "ok"), ("nope", "ok")] {
        let r = unconfigured
            .validate_resource_config(Request::new(pb::validate_resource_config::Request {
                type_name: ty_name.into(),
                config: dv(&thing(Value::Null, name), &ty()),
                ..Default::default()
            }))
            .await
            .expect("answer")
            .into_inner();
        t.note(&format!("validate resource {ty_name} {name}"), &r);
        let r = unconfigured
            .validate_data_resource_config(Request::new(pb::validate_data_resource_config::Request {
                type_name: ty_name.replace("thing", "info"),
                config: named(name),
            }))
            .await
            .expect("answer")
            .into_inner();
        t.note(&format!("validate data source {ty_name} {name}"), &r);
        let r = unconfigured
            .validate_ephemeral_resource_config(Request::new(pb::validate_ephemeral_resource_config::Request {
                type_name: ty_name.replace("thing", "token"),
                config: named(name),
            }))
            .await
            .expect("answer")
            .into_inner();
        t.note(&format!("validate ephemeral {ty_name} {name}"), &r);
        let r = unconfigured
            .validate_list_resource_config(Request::new(pb::validate_list_resource_config::Request {
                type_name: ty_name.into(),
                config: dv(&Value::object_of(&[("name", name.into())]), &Type::object([("name", Type::String)])),
                ..Default::default()
            }))
            .await
            .expect("answer")
            .into_inner();
        t.note(&format!("validate list {ty_name} {name}"), &r);
    }
    let r = unconfigured
        .validate_resource_config(Request::new(pb::validate_resource_config::Request {
            type_name: "probe_thing".into(),
            config: Some(pb::DynamicValue { msgpack: vec![0x01], json: vec![] }),
            ..Default::default()
        }))
        .await
        .expect("answer")
        .into_inner();
    t.note("validate resource garbled", &r);

    // Upgrades.
    for (ty_name, version, json) in [
        ("probe_thing", 0, r#"{"id":"a"}"#),
        ("probe_thing", 1, r#"{"id":"a","name":"n","secret_wo":"x"}"#),
        ("probe_thing", 2, r#"{}"#),
        ("probe_thing", 1, r#"{"#),
        ("probe_thing", 1, r#"{"id":1,"zzz":2}"#),
        ("probe_thing", 1, ""),
        ("nope", 1, "{}"),
    ] {
        let r = unconfigured
            .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
                type_name: ty_name.into(),
                version,
                raw_state: Some(pb::RawState { json: json.as_bytes().to_vec(), flatmap: Default::default() }),
            }))
            .await
            .expect("answer")
            .into_inner();
        t.note(&format!("upgrade state {ty_name} v{version} {json}"), &r);
        let r = unconfigured
            .upgrade_resource_identity(Request::new(pb::upgrade_resource_identity::Request {
                type_name: ty_name.into(),
                version: version - 1,
                raw_identity: Some(pb::RawState { json: json.as_bytes().to_vec(), flatmap: Default::default() }),
            }))
            .await
            .expect("answer")
            .into_inner();
        t.note(&format!("upgrade identity {ty_name} v{} {json}", version - 1), &r);
    }
    let r = unconfigured
        .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: "probe_thing".into(),
            version: 1,
            raw_state: None,
        }))
        .await
        .expect("answer")
        .into_inner();
    t.note("upgrade state without raw state", &r);

    // Planning, configured or not.
    let svc = configured().await;
    for (label, s) in [("unconfigured", &unconfigured), ("configured", &svc)] {
        for (prior, name) in [(Value::Null, "derive"), (thing("t-1".into(), "old"), "new"), (thing("t-1".into(), "old"), "")] {
            let proposed = if name.is_empty() { Value::Null } else { thing(prior.get("id").clone(), name) };
            let r = s
                .plan_resource_change(Request::new(pb::plan_resource_change::Request {
                    type_name: "probe_thing".into(),
                    prior_state: dv(&prior, &ty()),
                    proposed_new_state: dv(&proposed, &ty()),
                    config: dv(&thing(Value::Null, name), &ty()),
                    prior_private: b"prior".to_vec(),
                    ..Default::default()
                }))
                .await
                .expect("answer")
                .into_inner();
            t.note(&format!("plan {label} {prior:?} -> {name}"), &r);
        }
    }
    let r = svc
        .plan_resource_change(Request::new(pb::plan_resource_change::Request { type_name: "nope".into(), ..Default::default() }))
        .await
        .expect("answer")
        .into_inner();
    t.note("plan unknown type", &r);

    // Reads.
    for id in ["x", "fail", "gone", "unknown", "private"] {
        let r = svc.read_resource(read_req("probe_thing", id)).await.expect("answer").into_inner();
        t.note(&format!("read {id}"), &r);
    }
    let r = svc.read_resource(read_req("nope", "x")).await.expect("answer").into_inner();
    t.note("read unknown type", &r);
    let r = svc
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: "probe_thing".into(),
            current_state: dv(&Value::Null, &ty()),
            private: b"p".to_vec(),
            ..Default::default()
        }))
        .await
        .expect("answer")
        .into_inner();
    t.note("read null", &r);

    // Applies.
    let unknown_id = thing(Value::unknown(), "ok");
    for (label, prior, planned) in [
        ("create", Value::Null, unknown_id.clone()),
        ("create fail", Value::Null, thing(Value::unknown(), "fail")),
        ("create unknown", Value::Null, thing(Value::unknown(), "unknown")),
        ("update", thing("t-1".into(), "a"), thing("t-1".into(), "b")),
        ("update fail", thing("t-1".into(), "a"), thing("t-1".into(), "fail")),
        ("delete", thing("t-1".into(), "a"), Value::Null),
        ("delete fail", thing("fail".into(), "a"), Value::Null),
    ] {
        let r = svc.apply_resource_change(apply_req(&prior, &planned)).await.expect("answer").into_inner();
        t.note(&format!("apply {label}"), &r);
    }
    let r = unconfigured.apply_resource_change(apply_req(&Value::Null, &unknown_id)).await.expect("answer").into_inner();
    t.note("apply before configure", &r);

    // Imports, by id and by identity, configured or not.
    let identity = |id: &str| pb::ResourceIdentityData {
        identity_data: dv(&Value::object_of(&[("id", id.into())]), &Type::object([("id", Type::String)])),
    };
    for (label, s) in [("unconfigured", &unconfigured), ("configured", &svc)] {
        for (ty_name, id, ident) in [
            ("probe_thing", "i-1", None),
            ("probe_thing", "fail", None),
            ("probe_thing", "", Some(identity("by-identity"))),
            ("probe_thing", "i-2", Some(identity("ignored"))),
            ("probe_thing", "i-3", Some(pb::ResourceIdentityData { identity_data: None })),
            ("nope", "i-1", None),
        ] {
            let r = s
                .import_resource_state(Request::new(pb::import_resource_state::Request {
                    type_name: ty_name.into(),
                    id: id.into(),
                    identity: ident.clone(),
                    ..Default::default()
                }))
                .await
                .expect("answer")
                .into_inner();
            t.note(&format!("import {label} {ty_name} {id:?} {ident:?}"), &r);
        }
    }

    // Data sources.
    for (ty_name, name) in [("probe_info", "ok"), ("probe_info", "fail"), ("probe_info", "unknown"), ("probe_info", "hang"), ("nope", "ok")]
    {
        let r = svc
            .read_data_source(Request::new(pb::read_data_source::Request {
                type_name: ty_name.into(),
                config: named(name),
                ..Default::default()
            }))
            .await
            .expect("answer")
            .into_inner();
        t.note(&format!("read data source {ty_name} {name}"), &r);
    }

    // Ephemeral resources.
    for (ty_name, name) in [("probe_token", "ok"), ("probe_token", "fail"), ("probe_token", "unknown"), ("nope", "ok")] {
        let r = svc
            .open_ephemeral_resource(Request::new(pb::open_ephemeral_resource::Request {
                type_name: ty_name.into(),
                config: named(name),
                ..Default::default()
            }))
            .await
            .expect("answer")
            .into_inner();
        t.note(&format!("open {ty_name} {name}"), &r);
    }
    for (ty_name, private) in [
        ("probe_token", Some("p")),
        ("probe_token", Some("keep")),
        ("probe_token", Some("fail")),
        ("probe_token", None),
        ("nope", Some("p")),
    ] {
        let r = svc
            .renew_ephemeral_resource(Request::new(pb::renew_ephemeral_resource::Request {
                type_name: ty_name.into(),
                private: private.map(|p| p.as_bytes().to_vec()),
            }))
            .await
            .expect("answer")
            .into_inner();
        t.note(&format!("renew {ty_name} {private:?}"), &r);
        let r = svc
            .close_ephemeral_resource(Request::new(pb::close_ephemeral_resource::Request {
                type_name: ty_name.into(),
                private: private.map(|p| p.as_bytes().to_vec()),
            }))
            .await
            .expect("answer")
            .into_inner();
        t.note(&format!("close {ty_name} {private:?}"), &r);
    }
    let r = unconfigured
        .close_ephemeral_resource(Request::new(pb::close_ephemeral_resource::Request { type_name: "probe_token".into(), private: None }))
        .await
        .expect("answer")
        .into_inner();
    t.note("close before configure", &r);
    let r = unconfigured
        .renew_ephemeral_resource(Request::new(pb::renew_ephemeral_resource::Request {
            type_name: "probe_token".into(),
            private: Some(b"p".to_vec()),
        }))
        .await
        .expect("answer")
        .into_inner();
    t.note("renew before configure", &r);

    // Lists.
    for (ty_name, name, include, limit) in [
        ("probe_thing", "ok", false, 0),
        ("probe_thing", "ok", true, 0),
        ("probe_thing", "ok", true, 2),
        ("probe_thing", "ok", false, 3),
        ("probe_thing", "fail", true, 0),
        ("nope", "ok", false, 0),
    ] {
        t.note(&format!("list {ty_name} {name} include={include} limit={limit}"), &list(&svc, ty_name, name, include, limit).await);
    }
    let r = svc
        .list_resource(Request::new(pb::list_resource::Request {
            type_name: "probe_thing".into(),
            config: Some(pb::DynamicValue { msgpack: vec![0xc1], json: vec![] }),
            include_resource_object: false,
            limit: 0,
        }))
        .await
        .expect("answer")
        .into_inner();
    t.note("list garbled", &r.map(|e| e.expect("event")).collect::<Vec<_>>().await);

    // What this provider does not do.
    let r = svc
        .move_resource_state(Request::new(pb::move_resource_state::Request {
            source_type_name: "a".into(),
            target_type_name: "b".into(),
            ..Default::default()
        }))
        .await
        .expect("answer")
        .into_inner();
    t.note("move", &r);
    let r = svc
        .generate_resource_config(Request::new(pb::generate_resource_config::Request {
            type_name: "probe_thing".into(),
            ..Default::default()
        }))
        .await
        .expect("answer")
        .into_inner();
    t.note("generate", &r);
    t.note("functions", &svc.get_functions(Request::new(pb::get_functions::Request {})).await.expect("answer").into_inner());
    let r = svc
        .call_function(Request::new(pb::call_function::Request { name: "f".into(), ..Default::default() }))
        .await
        .expect("answer")
        .into_inner();
    t.note("call function", &r);
    let r = svc
        .validate_state_store_config(Request::new(pb::validate_state_store::Request { type_name: "s".into(), ..Default::default() }))
        .await
        .expect("answer")
        .into_inner();
    t.note("validate state store", &r);
    let r = svc
        .configure_state_store(Request::new(pb::configure_state_store::Request { type_name: "s".into(), ..Default::default() }))
        .await
        .expect("answer")
        .into_inner();
    t.note("configure state store", &r);
    let r = svc.get_states(Request::new(pb::get_states::Request { type_name: "s".into() })).await.expect("answer").into_inner();
    t.note("get states", &r);
    let r = svc
        .delete_state(Request::new(pb::delete_state::Request { type_name: "s".into(), ..Default::default() }))
        .await
        .expect("answer")
        .into_inner();
    t.note("delete state", &r);
    let r = svc
        .plan_action(Request::new(pb::plan_action::Request { action_type: "a".into(), ..Default::default() }))
        .await
        .expect("answer")
        .into_inner();
    t.note("plan action", &r);
    let r = svc
        .invoke_action(Request::new(pb::invoke_action::Request { action_type: "a".into(), ..Default::default() }))
        .await
        .expect("answer")
        .into_inner();
    t.note("invoke action", &r.map(|e| e.expect("event")).collect::<Vec<_>>().await);
    let r = svc
        .validate_action_config(Request::new(pb::validate_action_config::Request { type_name: "a".into(), ..Default::default() }))
        .await
        .expect("answer")
        .into_inner();
    t.note("validate action", &r);
}

/// StopProvider: calls in flight end with "Interrupted", later calls do not start,
/// close still runs.
async fn transcript_of_stopping(t: &mut Transcript) {
    let svc = configured().await;
    let stop_soon = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        svc.stop_provider(Request::new(pb::stop_provider::Request {})).await.expect("answer").into_inner()
    };
    let in_flight = async {
        let read = svc.read_resource(read_req("probe_thing", "hang"));
        let create = svc.apply_resource_change(apply_req(&Value::Null, &thing(Value::unknown(), "hang")));
        let update = svc.apply_resource_change(apply_req(&thing("t-1".into(), "a"), &thing("t-1".into(), "hang")));
        let delete = svc.apply_resource_change(apply_req(&thing("hang".into(), "a"), &Value::Null));
        let import = svc.import_resource_state(Request::new(pb::import_resource_state::Request {
            type_name: "probe_thing".into(),
            id: "hang".into(),
            ..Default::default()
        }));
        let data = svc.read_data_source(Request::new(pb::read_data_source::Request {
            type_name: "probe_info".into(),
            config: named("hang"),
            ..Default::default()
        }));
        let open = svc.open_ephemeral_resource(Request::new(pb::open_ephemeral_resource::Request {
            type_name: "probe_token".into(),
            config: named("hang"),
            ..Default::default()
        }));
        let renew = svc.renew_ephemeral_resource(Request::new(pb::renew_ephemeral_resource::Request {
            type_name: "probe_token".into(),
            private: Some(b"hang".to_vec()),
        }));
        let listed = list(&svc, "probe_thing", "hang", false, 0);
        let (read, create, update, delete, import, data, open, renew, listed) =
            tokio::join!(read, create, update, delete, import, data, open, renew, listed);
        t.note("stopped read", &read.expect("answer").into_inner());
        t.note("stopped create", &create.expect("answer").into_inner());
        t.note("stopped update", &update.expect("answer").into_inner());
        t.note("stopped delete", &delete.expect("answer").into_inner());
        t.note("stopped import", &import.expect("answer").into_inner());
        t.note("stopped data source read (its timeout is longer)", &data.expect("answer").into_inner());
        t.note("stopped open", &open.expect("answer").into_inner());
        t.note("stopped renew", &renew.expect("answer").into_inner());
        t.note("stopped list", &listed);
    };
    let (stopped, ()) = tokio::join!(stop_soon, in_flight);
    t.note("stop provider", &stopped);

    // After the stop nothing starts, but what needs no resource call still answers.
    let r = svc.read_resource(read_req("probe_thing", "x")).await.expect("answer").into_inner();
    t.note("read after stop", &r);
    let r = svc.apply_resource_change(apply_req(&Value::Null, &thing(Value::unknown(), "ok"))).await.expect("answer").into_inner();
    t.note("create after stop", &r);
    let r = svc.read_resource(read_req("nope", "x")).await.expect("answer").into_inner();
    t.note("read unknown type after stop", &r);
    t.note("list after stop", &list(&svc, "probe_thing", "ok", true, 0).await);
    let r = svc
        .import_resource_state(Request::new(pb::import_resource_state::Request {
            type_name: "probe_thing".into(),
            id: "i-1".into(),
            ..Default::default()
        }))
        .await
        .expect("answer")
        .into_inner();
    t.note("import after stop", &r);
    let r = svc
        .renew_ephemeral_resource(Request::new(pb::renew_ephemeral_resource::Request {
            type_name: "probe_token".into(),
            private: Some(b"p".to_vec()),
        }))
        .await
        .expect("answer")
        .into_inner();
    t.note("renew after stop", &r);
    let r = svc
        .close_ephemeral_resource(Request::new(pb::close_ephemeral_resource::Request {
            type_name: "probe_token".into(),
            private: Some(b"slow".to_vec()),
        }))
        .await
        .expect("answer")
        .into_inner();
    t.note("close after stop (not cancellable)", &r);
    let r = svc
        .plan_resource_change(Request::new(pb::plan_resource_change::Request {
            type_name: "probe_thing".into(),
            prior_state: dv(&Value::Null, &ty()),
            proposed_new_state: dv(&thing(Value::Null, "derive"), &ty()),
            config: dv(&thing(Value::Null, "derive"), &ty()),
            ..Default::default()
        }))
        .await
        .expect("answer")
        .into_inner();
    t.note("plan after stop (not cancellable)", &r);
    let mut signal = svc.stop_signal();
    t.note("stop signal", &*signal.borrow_and_update());
}

/// Every RPC answers as the server always has (see the checks at the end).
#[tokio::test]
async fn every_rpc_answers_as_recorded() {
    let mut t = Transcript::default();
    transcript_of_a_configured_provider(&mut t).await;
    transcript_of_stopping(&mut t).await;
    if let Ok(path) = std::env::var("SERVICE_TRANSCRIPT") {
        std::fs::write(path, &t.0).expect("write transcript");
    }

    let null = "msgpack: [192]";
    let interrupted = summary("Interrupted");
    // Failures hand back what the RPC must keep: the current state and private data
    // (read), the prior state and planned private data (apply), the private data (renew).
    t.check("read before configure", &[&summary("Provider not configured"), &bytes("before")], &[null]);
    t.check("read fail", &[&summary("read failed"), &bytes("before")], &[null, "new_identity: Some"]);
    t.check("read x", &[&summary("read warns"), &bytes("before"), "new_identity: Some"], &[]);
    t.check("read private", &[&bytes("read")], &[&bytes("before")]);
    t.check("read gone", &[null], &[]);
    t.check("read unknown", &[&summary("Provider produced an incomplete result")], &[]);
    t.check("read unknown type", &[&summary("Unknown resource type")], &[]);
    t.check("apply create", &[&summary("create warns"), &bytes("created"), "new_identity: Some"], &[]);
    t.check("apply create fail", &[&summary("create failed"), null, &bytes("planned")], &[]);
    t.check("apply delete fail", &[&summary("delete failed"), &bytes("planned")], &[null]);
    t.check("apply before configure", &[&summary("Provider not configured"), null, &bytes("planned")], &[]);
    t.check("renew probe_token Some(\"fail\")", &[&summary("renew failed"), &bytes("fail")], &[]);
    t.check("renew probe_token Some(\"keep\")", &[&summary("renew warns"), &bytes("keep")], &[]);
    t.check("read data source probe_info hang", &[&summary("Reading probe_info timed out")], &[]);
    t.check("configure garbled", &[&summary("Invalid provider configuration received from Terraform")], &[]);
    t.check("upgrade state probe_thing v2 {}", &[&summary("Stored state is newer than this provider")], &[]);
    // A listing skips objects gone before their read and reports unreadable ones.
    t.check(
        "list probe_thing ok include=true limit=0",
        &["thing a", "thing fail", &summary("read failed"), "thing unknown", "thing b", "thing c"],
        &["thing gone"],
    );
    t.check("list probe_thing fail include=true limit=0", &["thing a", &summary("list failed")], &[]);
    t.check("list nope ok include=false limit=0", &[&summary("Unknown list resource type")], &[]);
    // StopProvider cancels provider code in flight and keeps later calls from starting
    // it; close and plan modification are not cancelled.
    for what in [
        "stopped read",
        "stopped create",
        "stopped update",
        "stopped delete",
        "stopped import",
        "stopped data source read (its timeout is longer)",
        "stopped open",
        "stopped renew",
        "stopped list",
        "read after stop",
        "create after stop",
        "list after stop",
        "import after stop",
        "renew after stop",
    ] {
        t.check(what, &[&interrupted], &[]);
    }
    t.check("stopped list", &["thing a"], &[]);
    t.check("list after stop", &[], &["thing a"]);
    t.check("read unknown type after stop", &[&summary("Unknown resource type")], &[&interrupted]);
    t.check("close after stop (not cancellable)", &[&summary("close slow warns")], &[&interrupted]);
    t.check("plan after stop (not cancellable)", &[&summary("modify plan warns")], &[&interrupted]);
    t.check("stop signal", &["true"], &[]);
}

/// GenerateResourceConfig through the service: the framework's rules from the schema,
/// then the resource's own adjustment; refused for a resource that cannot be imported.
mod generate_config {
    use super::*;
    use crate::tfplugin::timeouts::Timeouts;

    const TIMEOUTS: Timeouts = Timeouts::all("the gadget", |_| "the gadget".to_string());

    /// A provider with `probe_gadget` (importable, with timeouts and a hook that leaves
    /// out `extra`) and `probe_fixed` (not importable).
    struct Gen;
    struct Gadget;
    struct Fixed;

    fn gadget_schema() -> Schema {
        Schema::new(
            "a gadget",
            vec![
                Attribute::string("id").computed().describe("id"),
                Attribute::string("name").required().describe("name"),
                Attribute::bool("enabled").default_value(true).describe("enabled"),
                Attribute::string("extra").optional().computed().describe("managed elsewhere"),
                Attribute::string("secret_wo").optional().sensitive().write_only().describe("secret"),
                TIMEOUTS.attribute(),
            ],
        )
    }

    #[async_trait]
    impl Provider for Gen {
        type Data = ();
        fn type_name(&self) -> &'static str {
            "probe"
        }
        fn schema(&self) -> Schema {
            Schema::new("probe provider", Vec::new())
        }
        async fn configure(&self, _config: &Value, _diags: &mut Diagnostics) -> Option<()> {
            Some(())
        }
        fn resources(&self) -> Vec<Arc<dyn Resource<()>>> {
            vec![Arc::new(Gadget), Arc::new(Fixed)]
        }
        fn data_sources(&self) -> Vec<Arc<dyn DataSource<()>>> {
            Vec::new()
        }
    }

    #[async_trait]
    impl Resource<()> for Gadget {
        fn type_name(&self) -> &'static str {
            "probe_gadget"
        }
        fn schema(&self) -> Schema {
            gadget_schema()
        }
        async fn create(&self, _d: &(), req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
            Ok(StateResult::state(req.planned.clone()))
        }
        async fn read(&self, _d: &(), state: &Value, _p: &[u8]) -> Result<StateResult, Diagnostics> {
            Ok(StateResult::state(state.clone()))
        }
        async fn update(&self, _d: &(), req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
            Ok(StateResult::state(req.planned.clone()))
        }
        async fn delete(&self, _d: &(), _s: &Value, _p: &[u8]) -> Result<(), Diagnostics> {
            Ok(())
        }
        fn timeouts(&self) -> Option<Timeouts> {
            Some(TIMEOUTS)
        }
        fn as_import(&self) -> Option<&dyn ImportState<()>> {
            Some(self)
        }
        fn generate_config(&self, state: &Value, config: &mut Value) {
            assert_eq!(state.get("id").as_str(), Some("g-1"), "the hook sees the state");
            config.set("extra", Value::Null);
        }
    }

    #[async_trait]
    impl ImportState<()> for Gadget {
        async fn import(&self, _d: Option<&()>, id: &str) -> Result<Value, Diagnostics> {
            Ok(Value::object_of(&[("id", id.into())]))
        }
    }

    #[async_trait]
    impl Resource<()> for Fixed {
        fn type_name(&self) -> &'static str {
            "probe_fixed"
        }
        fn schema(&self) -> Schema {
            gadget_schema()
        }
        async fn create(&self, _d: &(), req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
            Ok(StateResult::state(req.planned.clone()))
        }
        async fn read(&self, _d: &(), state: &Value, _p: &[u8]) -> Result<StateResult, Diagnostics> {
            Ok(StateResult::state(state.clone()))
        }
        async fn update(&self, _d: &(), req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
            Ok(StateResult::state(req.planned.clone()))
        }
        async fn delete(&self, _d: &(), _s: &Value, _p: &[u8]) -> Result<(), Diagnostics> {
            Ok(())
        }
    }

    /// A gadget's state.
    fn state(enabled: bool) -> Value {
        Value::object_of(&[
            ("id", "g-1".into()),
            ("name", "gizmo".into()),
            ("enabled", enabled.into()),
            ("extra", "server value".into()),
            ("secret_wo", "leaked".into()),
            (
                "timeouts",
                Value::object_of(&[("create", "5m".into()), ("read", Value::Null), ("update", Value::Null), ("delete", Value::Null)]),
            ),
        ])
    }

    async fn generate(svc: &ProviderService<Gen>, type_name: &str, state: Option<&Value>) -> pb::generate_resource_config::Response {
        let ty = gadget_schema().value_type();
        svc.generate_resource_config(Request::new(pb::generate_resource_config::Request {
            type_name: type_name.into(),
            state: state.and_then(|s| dv(s, &ty)),
        }))
        .await
        .expect("answer")
        .into_inner()
    }

    #[tokio::test]
    async fn generated_configuration_follows_the_schema_then_the_resource() {
        let svc = ProviderService::new(Gen);
        let caps = svc.schema_response.server_capabilities.expect("capabilities");
        assert!(caps.generate_resource_config, "Terraform asks only a provider that says it can");
        let ty = gadget_schema().value_type();
        for enabled in [true, false] {
            let r = generate(&svc, "probe_gadget", Some(&state(enabled))).await;
            assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
            let config = crate::tfplugin::value::decode_msgpack(&r.config.expect("config").msgpack, &ty).expect("decode");
            let want = Value::object_of(&[
                ("id", Value::Null),
                ("name", "gizmo".into()),
                // The default is left out; another value stays.
                ("enabled", if enabled { Value::Null } else { false.into() }),
                ("extra", Value::Null),
                ("secret_wo", Value::Null),
                ("timeouts", Value::Null),
            ]);
            assert_eq!(config, want, "enabled = {enabled}");
        }
        let summaries = |r: pb::generate_resource_config::Response| r.diagnostics.into_iter().map(|d| d.summary).collect::<Vec<_>>();
        assert_eq!(summaries(generate(&svc, "probe_fixed", Some(&state(true))).await), ["Configuration generation not supported"]);
        assert_eq!(summaries(generate(&svc, "probe_gadget", None).await), ["Invalid state received from Terraform"]);
        assert_eq!(summaries(generate(&svc, "probe_nope", Some(&state(true))).await), ["Unknown resource type"]);
    }
}
