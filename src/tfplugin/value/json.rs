//! The JSON form of values: the DynamicValue fallback, `RawState.json` (stored state
//! attributes) and raw identities. Unknowns cannot be represented in JSON.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::{CodecError, Number, Type, Value};

pub fn decode_json_bytes(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let j: Json = serde_json::from_slice(bytes).map_err(|e| CodecError::new(format!("invalid JSON: {e}")))?;
    decode_json(&j, ty)
}

/// Decodes a JSON value under `ty`. Object attributes missing from the JSON are null
/// (stored states written under an older schema omit newer attributes).
pub fn decode_json(j: &Json, ty: &Type) -> Result<Value, CodecError> {
    decode(j, ty, 0)
}

fn decode(j: &Json, ty: &Type, depth: usize) -> Result<Value, CodecError> {
    // At most 128 levels (depth 0 to 127), as in the msgpack decoder: a value that decodes
    // from JSON also decodes from its msgpack encoding.
    if depth >= 128 {
        return Err(CodecError::new("JSON value is nested too deeply"));
    }
    if j.is_null() {
        return Ok(Value::Null);
    }
    let mismatch = || CodecError::new(format!("expected {}, found JSON {}", ty.friendly(), kind(j)));
    match ty {
        Type::Bool => j.as_bool().map(Value::Bool).ok_or_else(mismatch),
        Type::String => j.as_str().map(Value::string).ok_or_else(mismatch),
        Type::Number => match j {
            Json::Number(n) => Ok(Value::Number(number_from_json(n))),
            Json::String(s) => Number::parse(s).map(Value::Number).ok_or_else(mismatch),
            _ => Err(mismatch()),
        },
        Type::List(et) | Type::Set(et) => {
            let arr = j.as_array().ok_or_else(mismatch)?;
            let items = arr
                .iter()
                .enumerate()
                .map(|(i, e)| decode(e, et, depth + 1).map_err(|err| err.at(format!("[{i}]"))))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if matches!(ty, Type::Set(_)) { Value::Set(items) } else { Value::List(items) })
        }
        Type::Tuple(ets) => {
            let arr = j.as_array().ok_or_else(mismatch)?;
            if arr.len() != ets.len() {
                return Err(CodecError::new(format!("tuple needs {} elements, found {}", ets.len(), arr.len())));
            }
            let items = arr
                .iter()
                .zip(ets)
                .enumerate()
                .map(|(i, (e, et))| decode(e, et, depth + 1).map_err(|err| err.at(format!("[{i}]"))))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Tuple(items))
        }
        Type::Map(et) => {
            let obj = j.as_object().ok_or_else(mismatch)?;
            let mut out = BTreeMap::new();
            for (k, e) in obj {
                out.insert(k.clone(), decode(e, et, depth + 1).map_err(|err| err.at(format!("[{k:?}]")))?);
            }
            Ok(Value::Map(out))
        }
        Type::Object(attrs) => {
            let obj = j.as_object().ok_or_else(mismatch)?;
            if let Some(extra) = obj.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(CodecError::new(format!("unsupported attribute {extra:?}")));
            }
            let mut out = BTreeMap::new();
            for (k, at) in attrs {
                let v = match obj.get(k) {
                    Some(e) => decode(e, at, depth + 1).map_err(|err| err.at(k.clone()))?,
                    None => Value::Null,
                };
                out.insert(k.clone(), v);
            }
            Ok(Value::Object(out))
        }
        Type::Dynamic => {
            let obj = j.as_object().ok_or_else(mismatch)?;
            let (Some(tj), Some(vj)) = (obj.get("type"), obj.get("value")) else {
                return Err(CodecError::new("a dynamic value must be {\"value\": ..., \"type\": ...}"));
            };
            let inner_ty = Type::from_json(tj)?;
            Ok(match decode(vj, &inner_ty, depth + 1)? {
                Value::Null => Value::Null,
                v => Value::Dynamic(inner_ty, Box::new(v)),
            })
        }
    }
}

fn kind(j: &Json) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn number_from_json(n: &serde_json::Number) -> Number {
    if let Some(i) = n.as_i64() {
        Number::Int(i)
    } else if let Some(u) = n.as_u64() {
        Number::Big(u.to_string())
    } else {
        Number::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

fn number_to_json(n: &Number) -> Result<Json, CodecError> {
    match n {
        Number::Int(i) => Ok(Json::from(*i)),
        Number::Float(f) => {
            serde_json::Number::from_f64(*f).map(Json::Number).ok_or_else(|| CodecError::new("infinite or NaN numbers have no JSON form"))
        }
        Number::Big(s) => {
            if let Ok(u) = s.parse::<u64>() {
                return Ok(Json::from(u));
            }
            let f: f64 = s.parse().map_err(|_| CodecError::new(format!("{s:?} is not a number")))?;
            number_to_json(&Number::Float(f))
        }
    }
}

/// Encodes a value of `ty` as JSON. Fails on unknowns, which JSON cannot carry.
pub fn encode_json(v: &Value, ty: &Type) -> Result<Json, CodecError> {
    let mismatch = || CodecError::new(format!("value does not conform to type {}", ty.friendly()));
    Ok(match (v, ty) {
        (Value::Null, _) => Json::Null,
        (Value::Unknown(_), _) => return Err(CodecError::new("unknown values cannot be encoded as JSON")),
        (Value::Bool(b), Type::Bool) => Json::Bool(*b),
        (Value::Number(n), Type::Number) => number_to_json(n)?,
        (Value::String(s), Type::String) => Json::String(s.clone()),
        (Value::List(items), Type::List(et)) | (Value::Set(items), Type::Set(et)) => Json::Array(
            items.iter().enumerate().map(|(i, e)| encode_json(e, et).map_err(|err| err.at(format!("[{i}]")))).collect::<Result<_, _>>()?,
        ),
        (Value::Tuple(items), Type::Tuple(ets)) if items.len() == ets.len() => {
            Json::Array(items.iter().zip(ets).map(|(e, et)| encode_json(e, et)).collect::<Result<_, _>>()?)
        }
        (Value::Map(m), Type::Map(et)) => Json::Object(
            m.iter()
                .map(|(k, e)| Ok((k.clone(), encode_json(e, et).map_err(|err| err.at(format!("[{k:?}]")))?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        (Value::Object(m), Type::Object(attrs)) => {
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(CodecError::new(format!("unsupported attribute {extra:?}")));
            }
            Json::Object(
                attrs
                    .iter()
                    .map(|(k, at)| {
                        let e = m.get(k).unwrap_or(&Value::Null);
                        Ok((k.clone(), encode_json(e, at).map_err(|err| err.at(k.clone()))?))
                    })
                    .collect::<Result<_, CodecError>>()?,
            )
        }
        (Value::Dynamic(inner_ty, inner), Type::Dynamic) => {
            serde_json::json!({"value": encode_json(inner, inner_ty)?, "type": inner_ty.to_json()})
        }
        (v, Type::Dynamic) => {
            let inferred = super::msgpack::infer_type(v).ok_or_else(mismatch)?;
            serde_json::json!({"value": encode_json(v, &inferred)?, "type": inferred.to_json()})
        }
        _ => return Err(mismatch()),
    })
}
