//! Actions and functions through the `Provider` gRPC service, with a provider of their
//! own (no vendor): the event stream of InvokeAction, its timeout, StopProvider and
//! unknown types; CallFunction's decoding, variadic arguments, null and unknown rules
//! and errors with the argument's index; what GetProviderSchema declares.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use tonic::Request;

use super::proto::tfplugin6 as pb;
use super::proto::tfplugin6::provider_server::Provider as _;
use super::service::ProviderService;
use crate::tfplugin::action::{Action, InvokeRequest, Progress, timeout_attribute};
use crate::tfplugin::function::{Function, FunctionError, Parameter, Signature, string_arg};
use crate::tfplugin::resource::{DataSource, Provider, Resource};
use crate::tfplugin::value::encode_msgpack;
use crate::tfplugin::{Attribute, Diagnostic, Diagnostics, Schema, Type, Value};

struct Host;
/// `mode`: "ok" reports two lines and succeeds; "fail" reports one and fails; "hang"
/// reports one and never ends.
struct Step;
/// `join(sep, parts...)`: the parts joined by `sep`; a part "bad" is an error at its index.
struct Join;

#[async_trait]
impl Provider for Host {
    type Data = ();
    fn type_name(&self) -> &'static str {
        "host"
    }
    fn schema(&self) -> Schema {
        Schema::new("host provider", vec![])
    }
    async fn configure(&self, _config: &Value, _diags: &mut Diagnostics) -> Option<()> {
        Some(())
    }
    fn resources(&self) -> Vec<Arc<dyn Resource<()>>> {
        Vec::new()
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<()>>> {
        Vec::new()
    }
    fn actions(&self) -> Vec<Arc<dyn Action<()>>> {
        vec![Arc::new(Step)]
    }
    fn functions(&self) -> Vec<Arc<dyn Function>> {
        vec![Arc::new(Join)]
    }
}

#[async_trait]
impl Action<()> for Step {
    fn type_name(&self) -> &'static str {
        "host_step"
    }
    fn schema(&self) -> Schema {
        Schema::new("a step", vec![Attribute::string("mode").required().describe("mode"), timeout_attribute(Duration::from_secs(60))])
    }
    fn default_timeout(&self) -> Option<Duration> {
        Some(Duration::from_secs(60))
    }
    async fn plan(&self, _data: Option<&()>, config: &Value) -> Diagnostics {
        if config.get("mode").as_str() == Some("fail") { Diagnostic::warning("will fail", "as asked").into() } else { Diagnostics::new() }
    }
    async fn invoke(&self, _data: &(), req: &InvokeRequest, progress: &Progress) -> Result<Diagnostics, Diagnostics> {
        progress.send("started").await;
        match req.config.get("mode").as_str() {
            Some("ok") => {
                progress.send("done").await;
                Ok(Diagnostic::warning("finished", "with a warning").into())
            }
            Some("hang") => std::future::pending().await,
            Some("panic") => panic!("step panicked"),
            _ => Err(Diagnostic::error("step failed", "as asked").into()),
        }
    }
}

impl Function for Join {
    fn name(&self) -> &'static str {
        "join"
    }
    fn signature(&self) -> Signature {
        Signature {
            parameters: vec![Parameter::new("sep", Type::String, "Separator.")],
            variadic: Some(Parameter::new("parts", Type::String, "Parts.")),
            returns: Type::object([("text", Type::String), ("count", Type::Number)]),
            summary: "Joins.",
            description: "Joins parts.".into(),
        }
    }
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let sep = string_arg(args, 0, "sep")?;
        let mut parts = Vec::new();
        for i in 1..args.len() {
            let p = string_arg(args, i, "parts")?;
            if p == "bad" {
                return Err(FunctionError::at(i, "\"bad\" is not a part"));
            }
            if p == "panic" {
                panic!("join panicked");
            }
            parts.push(p);
        }
        Ok(Value::object_of(&[("text", Value::string(parts.join(&sep))), ("count", Value::int(parts.len() as i64))]))
    }
}

fn service() -> ProviderService<Host> {
    ProviderService::new(Host)
}

async fn configured() -> ProviderService<Host> {
    let s = service();
    let config =
        pb::DynamicValue { msgpack: encode_msgpack(&Value::object_of(&[]), &Type::object::<_, String>([])).expect("encode"), json: vec![] };
    s.configure_provider(Request::new(pb::configure_provider::Request { config: Some(config), ..Default::default() }))
        .await
        .expect("configure");
    s
}

fn step_config(mode: &str, timeout: Option<&str>) -> pb::DynamicValue {
    let ty = Type::object([("mode", Type::String), ("timeout", Type::String)]);
    let v = Value::object_of(&[("mode", Value::string(mode)), ("timeout", timeout.map_or(Value::Null, Value::string))]);
    pb::DynamicValue { msgpack: encode_msgpack(&v, &ty).expect("encode"), json: vec![] }
}

/// Every event of one invocation: the progress lines, then the completed diagnostics.
async fn invoke(s: &ProviderService<Host>, action: &str, config: pb::DynamicValue) -> (Vec<String>, Vec<pb::Diagnostic>) {
    let req = pb::invoke_action::Request { action_type: action.into(), config: Some(config), client_capabilities: None };
    let mut stream = s.invoke_action(Request::new(req)).await.expect("invoke").into_inner();
    let (mut lines, mut completed) = (Vec::new(), None);
    while let Some(ev) = stream.next().await {
        assert!(completed.is_none(), "nothing follows the completed event");
        match ev.expect("event").r#type.expect("event type") {
            pb::invoke_action::event::Type::Progress(p) => lines.push(p.message),
            pb::invoke_action::event::Type::Completed(c) => completed = Some(c.diagnostics),
        }
    }
    (lines, completed.expect("a completed event ends the stream"))
}

#[tokio::test]
async fn an_invocation_streams_progress_then_completes() {
    let s = configured().await;
    let (lines, diags) = invoke(&s, "host_step", step_config("ok", None)).await;
    assert_eq!(lines, ["started", "done"]);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].summary, "finished");

    let (lines, diags) = invoke(&s, "host_step", step_config("fail", None)).await;
    assert_eq!(lines, ["started"]);
    assert_eq!(diags[0].summary, "step failed");
    assert_eq!(diags[0].severity, pb::diagnostic::Severity::Error as i32);

    let (lines, diags) = invoke(&s, "host_nope", step_config("ok", None)).await;
    assert!(lines.is_empty());
    assert!(diags[0].detail.contains("host_nope"), "{diags:?}");
}

#[tokio::test(start_paused = true)]
async fn an_invocation_ends_at_its_timeout() {
    let s = configured().await;
    let (lines, diags) = invoke(&s, "host_step", step_config("hang", Some("2s"))).await;
    assert_eq!(lines, ["started"]);
    assert!(diags[0].summary.contains("did not finish within its timeout (2s)"), "{diags:?}");
    let path = diags[0].attribute.as_ref().expect("the diagnostic points at timeout");
    assert_eq!(path.steps.len(), 1);
}

#[tokio::test]
async fn stop_provider_cancels_a_running_invocation() {
    let s = Arc::new(configured().await);
    let req =
        pb::invoke_action::Request { action_type: "host_step".into(), config: Some(step_config("hang", None)), client_capabilities: None };
    let mut stream = s.invoke_action(Request::new(req)).await.expect("invoke").into_inner();
    let first = stream.next().await.expect("an event").expect("ok");
    assert!(matches!(first.r#type, Some(pb::invoke_action::event::Type::Progress(_))), "{first:?}");
    s.stop_provider(Request::new(pb::stop_provider::Request {})).await.expect("stop");
    let last = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("ended promptly").expect("event").expect("ok");
    match last.r#type {
        Some(pb::invoke_action::event::Type::Completed(c)) => assert_eq!(c.diagnostics[0].summary, "Interrupted", "{c:?}"),
        other => panic!("expected the completed event, got {other:?}"),
    }
}

#[tokio::test]
async fn plan_and_validate_answer_with_the_actions_diagnostics() {
    let s = configured().await;
    let r =
        pb::plan_action::Request { action_type: "host_step".into(), config: Some(step_config("fail", None)), client_capabilities: None };
    let d = s.plan_action(Request::new(r)).await.expect("plan").into_inner().diagnostics;
    assert_eq!(d[0].summary, "will fail");
    let r = pb::validate_action_config::Request { type_name: "host_step".into(), config: Some(step_config("ok", Some("soon"))) };
    let d = s.validate_action_config(Request::new(r)).await.expect("validate").into_inner().diagnostics;
    assert!(d.iter().any(|d| d.detail.contains("soon") || d.summary.contains("timeout")), "{d:?}");
}

fn string_dv(s: &str) -> pb::DynamicValue {
    pb::DynamicValue { msgpack: encode_msgpack(&Value::string(s), &Type::String).expect("encode"), json: vec![] }
}

async fn call(s: &ProviderService<Host>, name: &str, args: Vec<pb::DynamicValue>) -> pb::call_function::Response {
    s.call_function(Request::new(pb::call_function::Request { name: name.into(), arguments: args })).await.expect("call").into_inner()
}

#[tokio::test]
async fn functions_need_no_configuration_and_take_variadic_arguments() {
    let s = service();
    let ty = Type::object([("text", Type::String), ("count", Type::Number)]);
    let r = call(&s, "join", vec![string_dv("-"), string_dv("a"), string_dv("b"), string_dv("c")]).await;
    assert!(r.error.is_none(), "{r:?}");
    let v = crate::tfplugin::value::decode_msgpack(&r.result.expect("result").msgpack, &ty).expect("decode");
    assert_eq!(v.get("text").as_str(), Some("a-b-c"));
    assert_eq!(v.get("count").as_i64(), Some(3));
    let r = call(&s, "join", vec![string_dv("-")]).await;
    assert!(r.error.is_none(), "zero variadic arguments: {r:?}");
}

#[tokio::test]
async fn function_errors_name_the_argument() {
    let s = service();
    let r = call(&s, "join", vec![string_dv("-"), string_dv("a"), string_dv("bad")]).await;
    let e = r.error.expect("error");
    assert_eq!(e.function_argument, Some(2), "{e:?}");
    let null = pb::DynamicValue { msgpack: encode_msgpack(&Value::Null, &Type::String).expect("encode"), json: vec![] };
    let r = call(&s, "join", vec![string_dv("-"), null]).await;
    assert_eq!(r.error.expect("null refused").function_argument, Some(1));
    let r = call(&s, "join", vec![]).await;
    assert!(r.error.expect("too few").function_argument.is_none());
    let r = call(&s, "nope", vec![]).await;
    assert!(r.error.expect("unknown function").text.contains("nope"));
    // An unknown argument: the call is skipped and the result is unknown.
    let unknown = pb::DynamicValue { msgpack: encode_msgpack(&Value::unknown(), &Type::String).expect("encode"), json: vec![] };
    let r = call(&s, "join", vec![string_dv("-"), unknown]).await;
    assert!(r.error.is_none(), "{r:?}");
    let ty = Type::object([("text", Type::String), ("count", Type::Number)]);
    let v = crate::tfplugin::value::decode_msgpack(&r.result.expect("result").msgpack, &ty).expect("decode");
    assert!(v.is_unknown(), "{v:?}");
}

#[tokio::test]
async fn the_schema_declares_actions_and_functions() {
    let s = service();
    let r = s.get_provider_schema(Request::new(pb::get_provider_schema::Request {})).await.expect("schema").into_inner();
    let a = &r.action_schemas["host_step"];
    let names: Vec<_> =
        a.schema.as_ref().and_then(|s| s.block.as_ref()).map(|b| b.attributes.iter().map(|a| a.name.clone()).collect()).unwrap_or_default();
    assert_eq!(names, ["mode", "timeout"]);
    let f = &r.functions["join"];
    assert_eq!(f.parameters.len(), 1);
    assert_eq!(f.variadic_parameter.as_ref().map(|p| p.name.as_str()), Some("parts"));
    assert_eq!(String::from_utf8_lossy(&f.r#return.as_ref().expect("return").r#type), r#"["object",{"count":"number","text":"string"}]"#);
}

/// A panic in an action or a function is that call's error, quoting it; the service goes on.
#[tokio::test]
async fn a_panicking_action_or_function_fails_only_its_call() {
    let s = configured().await;
    // Progress lines not yet forwarded when the action panics are lost with it; the
    // completed event still ends the stream, with the panic as its error.
    let (_, diags) = invoke(&s, "host_step", step_config("panic", None)).await;
    assert_eq!(diags[0].severity, pb::diagnostic::Severity::Error as i32);
    assert_eq!(diags[0].summary, "Provider bug: the operation panicked");
    assert!(diags[0].detail.contains("step panicked"), "{diags:?}");

    let r = call(&s, "join", vec![string_dv("-"), string_dv("panic")]).await;
    let e = r.error.expect("the panic is the function's error");
    assert!(e.text.starts_with("Provider bug: the operation panicked: ") && e.text.contains("join panicked"), "{e:?}");
    assert!(r.result.is_none());

    let (lines, _) = invoke(&s, "host_step", step_config("ok", None)).await;
    assert_eq!(lines, ["started", "done"], "the service still answers");
}
