//! Typed models through serde: a resource reads its plan or state into a struct whose
//! fields are named like the attributes, and turns a struct back into a value.
//!
//! The bridge goes through `serde_json`: a value becomes JSON (unknown becomes null,
//! which is what a model means by "not known yet"), and a model becomes JSON decoded
//! under the schema type, so every attribute the model omits is null.

use std::any::TypeId;
use std::collections::{BTreeSet, HashMap};
use std::sync::{LazyLock, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::diag::{Diagnostic, Diagnostics};
use super::schema::Schema;
use super::value::{Number, Type, Value, decode_json};

/// A resource's (or data source's) typed state: a struct whose fields are named like the
/// schema's attributes. The schema's value type is built once per process, so a resource
/// converts with `M::from_value(v)` / `m.to_value()` without rebuilding its schema, and
/// [`model_mismatch`] tells (in a test per resource) when the fields and the attributes
/// differ, which would otherwise make an attribute silently null.
pub trait Model: Serialize + Sized + 'static {
    /// The schema this model is the state of.
    fn schema() -> Schema;

    /// The schema's value type, built once per process.
    fn ty() -> &'static Type {
        static TYPES: LazyLock<Mutex<HashMap<TypeId, &'static Type>>> = LazyLock::new(Default::default);
        let mut types = TYPES.lock().unwrap_or_else(|p| p.into_inner());
        types.entry(TypeId::of::<Self>()).or_insert_with(|| Box::leak(Box::new(Self::schema().value_type())))
    }

    /// Reads a value (a plan, a state, a configuration) into the model.
    fn from_value(v: &Value) -> Result<Self, Diagnostics>
    where
        Self: DeserializeOwned + Sized,
    {
        from_value(v)
    }

    /// The model as a value of the schema's type.
    fn to_value(&self) -> Result<Value, Diagnostics> {
        to_value(self, Self::ty())
    }
}

/// Why the model's fields and the schema's top-level attributes differ, if they do: the
/// fields of `M::default()` as serialized (so `#[serde(flatten)]` and renames count)
/// against the attribute names. `timeouts` belongs to the framework (see
/// [`super::timeouts`]), so a model may leave it out.
pub fn model_mismatch<M: Model + Default>() -> Option<String> {
    let mut fields: BTreeSet<String> = match serde_json::to_value(M::default()) {
        Ok(Json::Object(m)) => m.keys().cloned().collect(),
        other => return Some(format!("the model does not serialize as an object: {other:?}")),
    };
    let attrs: BTreeSet<String> = M::schema().block.attributes.iter().map(|a| a.name.clone()).collect();
    if attrs.contains("timeouts") {
        fields.insert("timeouts".to_string());
    }
    let missing: Vec<&String> = attrs.difference(&fields).collect();
    let extra: Vec<&String> = fields.difference(&attrs).collect();
    (!missing.is_empty() || !extra.is_empty())
        .then(|| format!("attributes without a model field: {missing:?}; model fields without an attribute: {extra:?}"))
}

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

    /// A typed state whose schema has one attribute more than it has fields, and one
    /// whose fields match (with `timeouts`, which the framework owns, left out).
    #[derive(Debug, Default, Serialize, Deserialize)]
    struct Short {
        id: Option<String>,
    }
    impl super::Model for Short {
        fn schema() -> Schema {
            use crate::tfplugin::Attribute;
            Schema::new("t", vec![Attribute::string("id").computed(), Attribute::string("name").optional()])
        }
    }
    #[derive(Debug, Default, Serialize, Deserialize)]
    struct Full {
        id: Option<String>,
        name: Option<String>,
    }
    impl super::Model for Full {
        fn schema() -> Schema {
            use crate::tfplugin::Attribute;
            let timeouts = crate::tfplugin::timeouts::Timeouts::all("x", |_| String::new()).attribute();
            Schema::new("t", vec![Attribute::string("id").computed(), Attribute::string("name").optional(), timeouts])
        }
    }

    #[test]
    fn a_model_missing_an_attribute_is_told() {
        let why = super::model_mismatch::<Short>().expect("a mismatch");
        assert!(why.contains("[\"name\"]"), "{why}");
        assert_eq!(super::model_mismatch::<Full>(), None);
        // The type is built once and converts both ways.
        use super::Model as _;
        assert!(std::ptr::eq(Full::ty(), Full::ty()));
        let v = Full { id: Some("1".into()), name: None }.to_value().unwrap();
        assert_eq!(v.get("id"), &Value::string("1"));
        assert!(v.get("timeouts").is_null());
        assert_eq!(Full::from_value(&v).unwrap().id.as_deref(), Some("1"));
    }
}
