//! Typed models through serde: a resource reads its plan or state into a struct whose
//! fields are named like the attributes, and turns a struct back into a value.
//!
//! The bridge goes through `serde_json`: a value becomes JSON (unknown becomes null,
//! which is what a model means by "not known yet"), and a model becomes JSON decoded
//! under the schema type, so every attribute the model omits is null.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::diag::{Diagnostic, Diagnostics};
use super::value::{Number, Type, Value, decode_json};

/// Reads a value into a model. Unknown values read as null (`None`); a null object (a
/// prior state on create) reads as a model with every field `None`.
pub fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, Diagnostics> {
    let j = match v {
        Value::Null => Json::Object(serde_json::Map::new()),
        v => to_json_lossy(v),
    };
    serde_json::from_value(j).map_err(|e| Diagnostic::error("Internal error reading a value into its model", e.to_string()).into())
}

/// Turns a model into a value of `ty` (the schema's type).
pub fn to_value<T: Serialize>(m: &T, ty: &Type) -> Result<Value, Diagnostics> {
    let j = serde_json::to_value(m).map_err(|e| Diagnostics::from(Diagnostic::error("Internal error encoding a model", e.to_string())))?;
    decode_json(&j, ty).map_err(|e| Diagnostic::error("Internal error encoding a model", format!("{}: {e}", e.path.join("."))).into())
}

/// JSON for a value, with unknowns as null.
pub fn to_json_lossy(v: &Value) -> Json {
    match v {
        Value::Null | Value::Unknown(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(Number::Int(i)) => Json::from(*i),
        Value::Number(Number::Float(f)) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
        Value::Number(Number::Big(s)) => s.parse::<u64>().map(Json::from).unwrap_or_else(|_| Json::String(s.clone())),
        Value::String(s) => Json::String(s.clone()),
        Value::List(e) | Value::Set(e) | Value::Tuple(e) => Json::Array(e.iter().map(to_json_lossy).collect()),
        Value::Map(m) | Value::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), to_json_lossy(v))).collect()),
        Value::Dynamic(_, inner) => to_json_lossy(inner),
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Model {
        name: String,
        count: Option<i64>,
        tags: Option<Vec<String>>,
        inner: Option<Inner>,
    }
    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Inner {
        a: Option<String>,
    }

    fn ty() -> Type {
        Type::object([
            ("name", Type::String),
            ("count", Type::Number),
            ("tags", Type::set(Type::String)),
            ("inner", Type::object([("a", Type::String)])),
            ("extra", Type::String),
        ])
    }

    #[test]
    fn model_round_trip_and_missing_fields_are_null() {
        let m = Model { name: "x".into(), count: Some(3), tags: Some(vec!["a".into()]), inner: Some(Inner { a: None }) };
        let v = to_value(&m, &ty()).unwrap();
        assert_eq!(v.get("extra"), &Value::Null);
        assert!(matches!(v.get("tags"), Value::Set(_)));
        let back: Model = from_value(&v).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn unknown_reads_as_none() {
        let v = Value::object_of(&[("name", "x".into()), ("count", Value::unknown()), ("tags", Value::Null), ("inner", Value::Null)]);
        let m: Model = from_value(&v).unwrap();
        assert_eq!(m.count, None);
    }
}
