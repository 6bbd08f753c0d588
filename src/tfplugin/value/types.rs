//! cty types and their JSON form (the `type` bytes of a schema attribute).

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::CodecError;

/// The deepest type specification [`Type::from_json`] parses (as deep as the value
/// decoders nest).
const MAX_TYPE_DEPTH: usize = 128;

/// A cty type, as Terraform describes attribute types.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    String,
    Number,
    Bool,
    /// Any type; values carry their concrete type with them.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }
    pub fn object<I: IntoIterator<Item = (S, Type)>, S: Into<String>>(attrs: I) -> Type {
        Type::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The type's JSON form: `"string"`, `["list","string"]`, `["object",{...}]`.
    pub fn to_json(&self) -> Json {
        match self {
            Type::String => json!("string"),
            Type::Number => json!("number"),
            Type::Bool => json!("bool"),
            Type::Dynamic => json!("dynamic"),
            Type::List(t) => json!(["list", t.to_json()]),
            Type::Set(t) => json!(["set", t.to_json()]),
            Type::Map(t) => json!(["map", t.to_json()]),
            Type::Object(attrs) => {
                let m: serde_json::Map<String, Json> = attrs.iter().map(|(k, t)| (k.clone(), t.to_json())).collect();
                json!(["object", m])
            }
            Type::Tuple(elems) => json!(["tuple", elems.iter().map(Type::to_json).collect::<Vec<_>>()]),
        }
    }

    /// The JSON form as bytes, as carried in `Schema.Attribute.type`.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Parses the JSON form. Optional-attribute markers (a third element of an object
    /// type) are accepted and ignored. Types nested more than 128 levels deep are
    /// refused (a `serde_json::Value` built in memory has no parser depth limit, and the
    /// parse is recursive).
    pub fn from_json(j: &Json) -> Result<Type, CodecError> {
        Type::from_json_at(j, 0)
    }

    fn from_json_at(j: &Json, depth: usize) -> Result<Type, CodecError> {
        if depth > MAX_TYPE_DEPTH {
            return Err(CodecError::new(format!("type specification is nested more than {MAX_TYPE_DEPTH} levels deep")));
        }
        let bad = || CodecError::new(format!("invalid type specification: {j}"));
        let inner = |j: &Json| Type::from_json_at(j, depth + 1);
        match j {
            Json::String(s) => match s.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(bad()),
            },
            Json::Array(parts) if parts.len() >= 2 => {
                let kind = parts[0].as_str().ok_or_else(bad)?;
                match kind {
                    "list" => Ok(Type::list(inner(&parts[1])?)),
                    "set" => Ok(Type::set(inner(&parts[1])?)),
                    "map" => Ok(Type::map(inner(&parts[1])?)),
                    "object" => {
                        let m = parts[1].as_object().ok_or_else(bad)?;
                        let mut attrs = BTreeMap::new();
                        for (k, v) in m {
                            attrs.insert(k.clone(), inner(v)?);
                        }
                        Ok(Type::Object(attrs))
                    }
                    "tuple" => {
                        let elems = parts[1].as_array().ok_or_else(bad)?;
                        Ok(Type::Tuple(elems.iter().map(inner).collect::<Result<_, _>>()?))
                    }
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }

    pub fn from_json_bytes(b: &[u8]) -> Result<Type, CodecError> {
        let j: Json = serde_json::from_slice(b).map_err(|e| CodecError::new(format!("invalid type JSON: {e}")))?;
        Type::from_json(&j)
    }

    /// A short human name, for error messages.
    pub fn friendly(&self) -> String {
        match self {
            Type::String => "string".into(),
            Type::Number => "number".into(),
            Type::Bool => "bool".into(),
            Type::Dynamic => "dynamic".into(),
            Type::List(t) => format!("list of {}", t.friendly()),
            Type::Set(t) => format!("set of {}", t.friendly()),
            Type::Map(t) => format!("map of {}", t.friendly()),
            Type::Object(_) => "object".into(),
            Type::Tuple(_) => "tuple".into(),
        }
    }
}
