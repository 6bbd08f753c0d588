//! The protocol framework with a provider of its own (no vendor): state upgrades,
//! write-only nulling, planning and resource dispatch through the gRPC service.

use std::sync::Arc;

use async_trait::async_trait;
use identity_provider::tfplugin::resource::{ApplyRequest, DataSource, ImportState, Provider, Resource, StateResult, UpgradeState};
use identity_provider::tfplugin::schema::IdentitySchema;
use identity_provider::tfplugin::server::ProviderService;
use identity_provider::tfplugin::server::proto::tfplugin6 as pb;
use identity_provider::tfplugin::server::proto::tfplugin6::provider_server::Provider as _;
use identity_provider::tfplugin::value::{decode_msgpack, encode_msgpack};
use identity_provider::tfplugin::{Attribute, Diagnostic, Diagnostics, Schema, Type, Value};
use tonic::Request;

struct TestProvider;
struct Widget;

fn widget_schema() -> Schema {
    Schema::new(
        "A widget whose schema moved from `size` (v0, a string) to `size_cm` (v1, a number).",
        vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("id"),
            Attribute::number("size_cm").required().describe("size"),
            Attribute::string("token_wo").optional().write_only().sensitive().describe("secret"),
        ],
    )
    .version(1)
}

#[async_trait]
impl Provider for TestProvider {
    type Data = ();
    fn type_name(&self) -> &'static str {
        "test"
    }
    fn schema(&self) -> Schema {
        Schema::new("test provider", vec![])
    }
    async fn configure(&self, _config: &Value, _diags: &mut Diagnostics) -> Option<()> {
        Some(())
    }
    fn resources(&self) -> Vec<Arc<dyn Resource<()>>> {
        vec![Arc::new(Widget)]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<()>>> {
        vec![]
    }
}

#[async_trait]
impl Resource<()> for Widget {
    fn type_name(&self) -> &'static str {
        "test_widget"
    }
    fn schema(&self) -> Schema {
        widget_schema()
    }
    async fn create(&self, _d: &(), req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let mut s = req.planned.clone();
        s.set("id", "w-1".into());
        // Echo the write-only value: the framework must null it anyway.
        s.set("token_wo", req.config.get("token_wo").clone());
        Ok(StateResult::state(s))
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
    fn as_upgrade_state(&self) -> Option<&dyn UpgradeState> {
        Some(self)
    }
    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::required(&[("id", Type::String, "widget id")]))
    }
    fn as_import(&self) -> Option<&dyn ImportState<()>> {
        Some(self)
    }
}

#[async_trait]
impl ImportState<()> for Widget {
    async fn import(&self, _d: Option<&()>, id: &str) -> Result<Value, Diagnostics> {
        Ok(Value::object_of(&[("id", id.into()), ("size_cm", Value::Null), ("token_wo", Value::Null)]))
    }
}

impl UpgradeState for Widget {
    fn upgrade_state(&self, version: i64, mut raw: serde_json::Value) -> Result<serde_json::Value, Diagnostics> {
        if version != 0 {
            return Err(Diagnostic::error("unknown version", version.to_string()).into());
        }
        // v0 stored `size` as text like "12cm".
        let size = raw.get("size").and_then(|s| s.as_str()).and_then(|s| s.trim_end_matches("cm").parse::<i64>().ok());
        let obj = raw.as_object_mut().ok_or_else(|| Diagnostics::from(Diagnostic::error("bad state", "not an object")))?;
        obj.remove("size");
        obj.insert("size_cm".into(), size.into());
        Ok(raw)
    }
}

fn ty() -> Type {
    widget_schema().value_type()
}

fn dv(v: &Value) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue { msgpack: encode_msgpack(v, &ty()).expect("encode"), json: vec![] })
}

#[tokio::test]
async fn upgrade_resource_state_migrates_old_versions() {
    let svc = ProviderService::new(TestProvider);
    let resp = svc
        .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: "test_widget".into(),
            version: 0,
            raw_state: Some(pb::RawState { json: br#"{"id":"w-1","size":"12cm"}"#.to_vec(), flatmap: Default::default() }),
        }))
        .await
        .expect("answer")
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let v = decode_msgpack(&resp.upgraded_state.expect("state").msgpack, &ty()).expect("decode");
    assert_eq!(v.get("size_cm"), &Value::int(12));
    assert_eq!(v.get("id"), &Value::string("w-1"));

    // The current version passes through; a newer one is refused.
    let current = svc
        .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: "test_widget".into(),
            version: 1,
            raw_state: Some(pb::RawState { json: br#"{"id":"w-1","size_cm":3}"#.to_vec(), flatmap: Default::default() }),
        }))
        .await
        .expect("answer")
        .into_inner();
    assert!(current.diagnostics.is_empty());
    let newer = svc
        .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: "test_widget".into(),
            version: 7,
            raw_state: Some(pb::RawState { json: br#"{}"#.to_vec(), flatmap: Default::default() }),
        }))
        .await
        .expect("answer")
        .into_inner();
    assert!(newer.diagnostics.iter().any(|d| d.summary.contains("newer")), "{:?}", newer.diagnostics);
}

#[tokio::test]
async fn plan_and_apply_null_write_only_values() {
    let svc = ProviderService::new(TestProvider);
    let config = Value::object_of(&[("id", Value::Null), ("size_cm", Value::int(5)), ("token_wo", "s3cret".into())]);
    let plan = svc
        .plan_resource_change(Request::new(pb::plan_resource_change::Request {
            type_name: "test_widget".into(),
            prior_state: dv(&Value::Null),
            proposed_new_state: dv(&config),
            config: dv(&config),
            ..Default::default()
        }))
        .await
        .expect("answer")
        .into_inner();
    let planned = decode_msgpack(&plan.planned_state.expect("plan").msgpack, &ty()).expect("decode");
    assert!(planned.get("id").is_unknown());
    assert_eq!(planned.get("token_wo"), &Value::Null);

    svc.configure_provider(Request::new(pb::configure_provider::Request::default())).await.expect("configure");
    let applied = svc
        .apply_resource_change(Request::new(pb::apply_resource_change::Request {
            type_name: "test_widget".into(),
            prior_state: dv(&Value::Null),
            planned_state: dv(&planned),
            config: dv(&config),
            ..Default::default()
        }))
        .await
        .expect("answer")
        .into_inner();
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    let state = decode_msgpack(&applied.new_state.expect("state").msgpack, &ty()).expect("decode");
    assert_eq!(state.get("id"), &Value::string("w-1"));
    assert_eq!(state.get("token_wo"), &Value::Null, "write-only values never reach the state");
}

fn identity_ty() -> Type {
    Type::object([("id", Type::String)])
}

fn identity_of(d: Option<pb::ResourceIdentityData>) -> Value {
    let dv = d.and_then(|i| i.identity_data).expect("identity");
    decode_msgpack(&dv.msgpack, &identity_ty()).expect("identity decodes")
}

#[tokio::test]
async fn resource_identity_flows_through_every_rpc() {
    let svc = ProviderService::new(TestProvider);
    let schemas =
        svc.get_resource_identity_schemas(Request::new(pb::get_resource_identity_schemas::Request {})).await.expect("answer").into_inner();
    let w = &schemas.identity_schemas["test_widget"];
    assert_eq!(w.identity_attributes.len(), 1);
    assert_eq!(w.identity_attributes[0].name, "id");
    assert!(w.identity_attributes[0].required_for_import);

    svc.configure_provider(Request::new(pb::configure_provider::Request::default())).await.expect("configure");
    let config = Value::object_of(&[("id", Value::Null), ("size_cm", Value::int(5)), ("token_wo", Value::Null)]);
    let mut planned = config.clone();
    planned.set("id", Value::unknown());
    let plan = svc
        .plan_resource_change(Request::new(pb::plan_resource_change::Request {
            type_name: "test_widget".into(),
            prior_state: dv(&Value::Null),
            proposed_new_state: dv(&config),
            config: dv(&config),
            ..Default::default()
        }))
        .await
        .expect("answer")
        .into_inner();
    assert!(plan.planned_identity.is_none(), "no identity while the id is unknown");
    let applied = svc
        .apply_resource_change(Request::new(pb::apply_resource_change::Request {
            type_name: "test_widget".into(),
            prior_state: dv(&Value::Null),
            planned_state: dv(&planned),
            config: dv(&config),
            ..Default::default()
        }))
        .await
        .expect("answer")
        .into_inner();
    assert_eq!(identity_of(applied.new_identity).get("id"), &Value::string("w-1"));

    // Import by identity (an `import` block with `identity = {...}`, no id).
    let ident = pb::ResourceIdentityData {
        identity_data: Some(pb::DynamicValue {
            msgpack: encode_msgpack(&Value::object_of(&[("id", "w-9".into())]), &identity_ty()).expect("encode"),
            json: vec![],
        }),
    };
    let imported = svc
        .import_resource_state(Request::new(pb::import_resource_state::Request {
            type_name: "test_widget".into(),
            id: String::new(),
            identity: Some(ident),
            ..Default::default()
        }))
        .await
        .expect("answer")
        .into_inner();
    assert!(imported.diagnostics.is_empty(), "{:?}", imported.diagnostics);
    let ir = imported.imported_resources.into_iter().next().expect("imported");
    let st = decode_msgpack(&ir.state.expect("state").msgpack, &ty()).expect("decode");
    assert_eq!(st.get("id"), &Value::string("w-9"));
    assert_eq!(identity_of(ir.identity).get("id"), &Value::string("w-9"));

    // Stored identities upgrade from JSON.
    let up = svc
        .upgrade_resource_identity(Request::new(pb::upgrade_resource_identity::Request {
            type_name: "test_widget".into(),
            version: 0,
            raw_identity: Some(pb::RawState { json: br#"{"id":"w-3"}"#.to_vec(), flatmap: Default::default() }),
        }))
        .await
        .expect("answer")
        .into_inner();
    assert_eq!(identity_of(up.upgraded_identity).get("id"), &Value::string("w-3"));
}
