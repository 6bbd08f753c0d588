//! Conversions between the framework's types and the generated protocol messages.

use super::proto::tfplugin6 as pb;
use crate::tfplugin::diag::{AttrPath, Diagnostic, Diagnostics, PathStep, Severity};
use crate::tfplugin::function::{Parameter, Signature};
use crate::tfplugin::schema::{AttrKind, Attribute, Block, NestedBlock, Nesting, Schema};
use crate::tfplugin::value::{CodecError, Type, Value, decode_json_bytes, decode_msgpack, encode_msgpack};

pub fn schema_to_pb(s: &Schema) -> pb::Schema {
    pb::Schema { version: s.version, block: Some(block_to_pb(&s.block, s.version)) }
}

fn block_to_pb(b: &Block, version: i64) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: b.attributes.iter().map(attr_to_pb).collect(),
        block_types: b.blocks.iter().map(nested_block_to_pb).collect(),
        description: b.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: b.deprecated,
    }
}

fn nested_block_to_pb(nb: &NestedBlock) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode as M;
    let nesting = match nb.nesting {
        Nesting::Single => M::Single,
        Nesting::List => M::List,
        Nesting::Set => M::Set,
        Nesting::Map => M::Map,
        Nesting::Group => M::Group,
    };
    pb::schema::NestedBlock {
        type_name: nb.type_name.clone(),
        block: Some(block_to_pb(&nb.block, 0)),
        nesting: nesting as i32,
        min_items: nb.min_items,
        max_items: nb.max_items,
    }
}

fn attr_to_pb(a: &Attribute) -> pb::schema::Attribute {
    use pb::schema::object::NestingMode as M;
    let (ty, nested_type) = match &a.kind {
        AttrKind::Typed(t) => (t.to_json_bytes(), None),
        AttrKind::Nested { nesting, attributes } => {
            let n = match nesting {
                Nesting::Single | Nesting::Group => M::Single,
                Nesting::List => M::List,
                Nesting::Set => M::Set,
                Nesting::Map => M::Map,
            };
            (
                Vec::new(),
                Some(pb::schema::Object {
                    attributes: attributes.iter().map(attr_to_pb).collect(),
                    nesting: n as i32,
                    ..Default::default()
                }),
            )
        }
    };
    pb::schema::Attribute {
        name: a.name.clone(),
        r#type: ty,
        nested_type,
        description: a.description.clone(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: a.deprecated,
        write_only: a.write_only,
    }
}

/// A function's signature as GetProviderSchema declares it.
pub fn function_to_pb(sig: &Signature) -> pb::Function {
    let param = |p: &Parameter| pb::function::Parameter {
        name: p.name.to_string(),
        r#type: p.ty.to_json_bytes(),
        allow_null_value: p.allow_null,
        allow_unknown_values: p.allow_unknown,
        description: p.description.to_string(),
        description_kind: pb::StringKind::Markdown as i32,
    };
    pb::Function {
        parameters: sig.parameters.iter().map(param).collect(),
        variadic_parameter: sig.variadic.as_ref().map(param),
        r#return: Some(pb::function::Return { r#type: sig.returns.to_json_bytes() }),
        summary: sig.summary.to_string(),
        description: sig.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecation_message: String::new(),
    }
}

pub fn path_to_pb(p: &AttrPath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .0
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attr(a) => Selector::AttributeName(a.clone()),
                    PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

pub fn diag_to_pb(d: &Diagnostic) -> pb::Diagnostic {
    pb::Diagnostic {
        severity: match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error,
            Severity::Warning => pb::diagnostic::Severity::Warning,
        } as i32,
        summary: d.summary.clone(),
        detail: d.detail.clone(),
        attribute: d.path.as_ref().map(path_to_pb),
    }
}

pub fn diags_to_pb(d: &Diagnostics) -> Vec<pb::Diagnostic> {
    d.iter().map(diag_to_pb).collect()
}

/// Decodes a DynamicValue: msgpack when present, else JSON; absent means null.
pub fn decode_dv(dv: Option<&pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostics> {
    let Some(dv) = dv else { return Ok(Value::Null) };
    let r = if !dv.msgpack.is_empty() { decode_msgpack(&dv.msgpack, ty) } else { decode_json_bytes(&dv.json, ty) };
    r.map_err(|e| codec_diag(&format!("Invalid {what} received from Terraform"), e))
}

pub fn encode_dv(v: &Value, ty: &Type, what: &str) -> Result<pb::DynamicValue, Diagnostics> {
    encode_msgpack(v, ty)
        .map(|msgpack| pb::DynamicValue { msgpack, json: Vec::new() })
        .map_err(|e| codec_diag(&format!("Internal error encoding the {what}"), e))
}

pub fn codec_diag(summary: &str, e: CodecError) -> Diagnostics {
    let detail = if e.path.is_empty() { e.message.clone() } else { format!("at {}: {}", e.path.join("."), e.message) };
    Diagnostic::error(summary, detail).into()
}
