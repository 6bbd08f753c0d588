//! The msgpack wire format of DynamicValue, driven by the cty type.
//!
//! Unknown values are msgpack extensions: any extension with a body of at most one byte
//! is a plain unknown; extension 12 carries refinements as a map with integer keys.

use std::collections::BTreeMap;

use rmp::Marker;
use rmp::encode as enc;

use super::{CodecError, Number, Refinements, Type, Value};

const EXT_REFINED: i8 = 12;

/// Decodes msgpack bytes as a value of `ty`. Empty input is null.
pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let mut r = Reader { buf: bytes, pos: 0, depth: 0 };
    let v = r.value(ty)?;
    if r.pos != bytes.len() {
        return Err(CodecError::new(format!("{} trailing bytes after the value", bytes.len() - r.pos)));
    }
    Ok(v)
}

/// Encodes a value of `ty` as msgpack. Objects always carry every attribute of the type.
pub fn encode_msgpack(v: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(64);
    write(&mut out, v, ty)?;
    Ok(out)
}

// ---------------------------------------------------------------- decoding

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    depth: usize,
}

const MAX_DEPTH: usize = 128;

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(CodecError::new("msgpack input ends in the middle of a value")),
        }
    }
    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }
    fn be(&mut self, n: usize) -> Result<u64, CodecError> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64))
    }
    fn marker(&mut self) -> Result<Marker, CodecError> {
        Ok(Marker::from_u8(self.u8()?))
    }

    /// Reads the extension following `m` if it is one: Some(Ok(type, body)).
    fn ext(&mut self, m: Marker) -> Result<Option<(i8, &'a [u8])>, CodecError> {
        let len = match m {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 => self.be(1)? as usize,
            Marker::Ext16 => self.be(2)? as usize,
            Marker::Ext32 => self.be(4)? as usize,
            _ => return Ok(None),
        };
        let t = self.u8()? as i8;
        let body = self.take(len)?;
        Ok(Some((t, body)))
    }

    fn str_len(&mut self, m: Marker) -> Result<Option<usize>, CodecError> {
        Ok(Some(match m {
            Marker::FixStr(n) => n as usize,
            Marker::Str8 => self.be(1)? as usize,
            Marker::Str16 => self.be(2)? as usize,
            Marker::Str32 => self.be(4)? as usize,
            _ => return Ok(None),
        }))
    }
    fn bin_len(&mut self, m: Marker) -> Result<Option<usize>, CodecError> {
        Ok(Some(match m {
            Marker::Bin8 => self.be(1)? as usize,
            Marker::Bin16 => self.be(2)? as usize,
            Marker::Bin32 => self.be(4)? as usize,
            _ => return Ok(None),
        }))
    }
    fn array_len(&mut self, m: Marker) -> Result<Option<usize>, CodecError> {
        Ok(Some(match m {
            Marker::FixArray(n) => n as usize,
            Marker::Array16 => self.be(2)? as usize,
            Marker::Array32 => self.be(4)? as usize,
            _ => return Ok(None),
        }))
    }
    fn map_len(&mut self, m: Marker) -> Result<Option<usize>, CodecError> {
        Ok(Some(match m {
            Marker::FixMap(n) => n as usize,
            Marker::Map16 => self.be(2)? as usize,
            Marker::Map32 => self.be(4)? as usize,
            _ => return Ok(None),
        }))
    }
    fn string_body(&mut self, len: usize) -> Result<String, CodecError> {
        let b = self.take(len)?;
        String::from_utf8(b.to_vec()).map_err(|_| CodecError::new("string is not valid UTF-8"))
    }
    /// A map key: must be a string.
    fn key(&mut self) -> Result<String, CodecError> {
        let m = self.marker()?;
        match self.str_len(m)? {
            Some(n) => self.string_body(n),
            None => Err(CodecError::new("map key is not a string")),
        }
    }

    /// Reads a number in any msgpack numeric form (or a decimal string).
    fn number(&mut self, m: Marker) -> Result<Option<Number>, CodecError> {
        Ok(Some(match m {
            Marker::FixPos(n) => Number::Int(n as i64),
            Marker::FixNeg(n) => Number::Int(n as i64),
            Marker::U8 => Number::Int(self.be(1)? as i64),
            Marker::U16 => Number::Int(self.be(2)? as i64),
            Marker::U32 => Number::Int(self.be(4)? as i64),
            Marker::U64 => {
                let u = self.be(8)?;
                match i64::try_from(u) {
                    Ok(i) => Number::Int(i),
                    Err(_) => Number::Big(u.to_string()),
                }
            }
            Marker::I8 => Number::Int(self.be(1)? as u8 as i8 as i64),
            Marker::I16 => Number::Int(self.be(2)? as u16 as i16 as i64),
            Marker::I32 => Number::Int(self.be(4)? as u32 as i32 as i64),
            Marker::I64 => Number::Int(self.be(8)? as i64),
            Marker::F32 => Number::Float(f32::from_bits(self.be(4)? as u32) as f64),
            Marker::F64 => Number::Float(f64::from_bits(self.be(8)?)),
            m => match self.str_len(m)? {
                Some(n) => {
                    let s = self.string_body(n)?;
                    Number::parse(&s).ok_or_else(|| CodecError::new(format!("{s:?} is not a number")))?
                }
                None => return Ok(None),
            },
        }))
    }

    /// Skips any one msgpack value (used for refinement keys we do not know).
    fn skip(&mut self) -> Result<(), CodecError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CodecError::new("msgpack value is nested too deeply"));
        }
        let m = self.marker()?;
        match m {
            Marker::Null | Marker::True | Marker::False | Marker::FixPos(_) | Marker::FixNeg(_) => {}
            Marker::U8 | Marker::I8 => drop(self.take(1)?),
            Marker::U16 | Marker::I16 => drop(self.take(2)?),
            Marker::U32 | Marker::I32 | Marker::F32 => drop(self.take(4)?),
            Marker::U64 | Marker::I64 | Marker::F64 => drop(self.take(8)?),
            m => {
                if let Some(n) = self.str_len(m)? {
                    self.take(n)?;
                } else if let Some(n) = self.bin_len(m)? {
                    self.take(n)?;
                } else if let Some(n) = self.array_len(m)? {
                    for _ in 0..n {
                        self.skip()?;
                    }
                } else if let Some(n) = self.map_len(m)? {
                    for _ in 0..n * 2 {
                        self.skip()?;
                    }
                } else if self.ext(m)?.is_none() {
                    return Err(CodecError::new("invalid msgpack marker"));
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn value(&mut self, ty: &Type) -> Result<Value, CodecError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CodecError::new("msgpack value is nested too deeply"));
        }
        let v = self.value_inner(ty);
        self.depth -= 1;
        v
    }

    fn value_inner(&mut self, ty: &Type) -> Result<Value, CodecError> {
        let m = self.marker()?;
        if m == Marker::Null {
            return Ok(Value::Null);
        }
        if let Some((t, body)) = self.ext(m)? {
            return unknown_from_ext(t, body);
        }
        let mismatch = |what: &str| CodecError::new(format!("expected {}, found msgpack {what}", ty.friendly()));
        match ty {
            Type::Bool => match m {
                Marker::True => Ok(Value::Bool(true)),
                Marker::False => Ok(Value::Bool(false)),
                _ => Err(mismatch("non-bool")),
            },
            Type::Number => match self.number(m)? {
                Some(n) => Ok(Value::Number(n)),
                None => Err(mismatch("non-number")),
            },
            Type::String => match self.str_len(m)? {
                Some(n) => Ok(Value::String(self.string_body(n)?)),
                None => Err(mismatch("non-string")),
            },
            Type::List(et) | Type::Set(et) => {
                let n = self.array_len(m)?.ok_or_else(|| mismatch("non-array"))?;
                // The length prefix is not to be trusted: reserve little (every element
                // takes at least one of the remaining bytes) and let the vector grow.
                let mut items = Vec::with_capacity(n.min(self.buf.len() - self.pos).min(16));
                for i in 0..n {
                    items.push(self.value(et).map_err(|e| e.at(format!("[{i}]")))?);
                }
                Ok(if matches!(ty, Type::Set(_)) { Value::Set(items) } else { Value::List(items) })
            }
            Type::Tuple(ets) => {
                let n = self.array_len(m)?.ok_or_else(|| mismatch("non-array"))?;
                if n != ets.len() {
                    return Err(CodecError::new(format!("tuple needs {} elements, found {n}", ets.len())));
                }
                let items =
                    ets.iter().enumerate().map(|(i, et)| self.value(et).map_err(|e| e.at(format!("[{i}]")))).collect::<Result<_, _>>()?;
                Ok(Value::Tuple(items))
            }
            Type::Map(et) => {
                let n = self.map_len(m)?.ok_or_else(|| mismatch("non-map"))?;
                let mut out = BTreeMap::new();
                for _ in 0..n {
                    let k = self.key()?;
                    let v = self.value(et).map_err(|e| e.at(format!("[{k:?}]")))?;
                    out.insert(k, v);
                }
                Ok(Value::Map(out))
            }
            Type::Object(attrs) => {
                let n = self.map_len(m)?.ok_or_else(|| mismatch("non-map"))?;
                let mut out = BTreeMap::new();
                for _ in 0..n {
                    let k = self.key()?;
                    let at = attrs.get(&k).ok_or_else(|| CodecError::new(format!("unsupported attribute {k:?}")))?;
                    let v = self.value(at).map_err(|e| e.at(k.clone()))?;
                    out.insert(k, v);
                }
                for k in attrs.keys() {
                    out.entry(k.clone()).or_insert(Value::Null);
                }
                Ok(Value::Object(out))
            }
            Type::Dynamic => {
                let n = self.array_len(m)?.ok_or_else(|| mismatch("value without its type"))?;
                if n != 2 {
                    return Err(CodecError::new("a dynamic value must be a [type, value] pair"));
                }
                let tm = self.marker()?;
                let tlen = match self.bin_len(tm)? {
                    Some(n) => n,
                    None => self.str_len(tm)?.ok_or_else(|| CodecError::new("dynamic type must be bytes"))?,
                };
                let tbytes = self.take(tlen)?;
                let inner_ty = Type::from_json_bytes(tbytes)?;
                let inner = self.value(&inner_ty)?;
                Ok(match inner {
                    Value::Null => Value::Null,
                    Value::Unknown(r) => Value::Unknown(r),
                    v => Value::Dynamic(inner_ty, Box::new(v)),
                })
            }
        }
    }
}

fn unknown_from_ext(t: i8, body: &[u8]) -> Result<Value, CodecError> {
    if body.len() <= 1 {
        return Ok(Value::unknown());
    }
    if t != EXT_REFINED {
        return Err(CodecError::new(format!("unsupported msgpack extension type {t}")));
    }
    let mut r = Reader { buf: body, pos: 0, depth: 0 };
    let m = r.marker()?;
    let n = r.map_len(m)?.ok_or_else(|| CodecError::new("refinements must be a map"))?;
    let mut refs = Refinements::default();
    for _ in 0..n {
        let km = r.marker()?;
        let key = match r.number(km)? {
            Some(Number::Int(k)) => k,
            _ => return Err(CodecError::new("refinement keys must be integers")),
        };
        match key {
            1 => match r.marker()? {
                Marker::False => refs.not_null = true,
                Marker::True => {}
                _ => return Err(CodecError::new("nullness refinement must be a bool")),
            },
            2 => {
                let m = r.marker()?;
                let len = r.str_len(m)?.ok_or_else(|| CodecError::new("string prefix must be a string"))?;
                refs.string_prefix = Some(r.string_body(len)?);
            }
            3 | 4 => {
                let m = r.marker()?;
                if r.array_len(m)? != Some(2) {
                    return Err(CodecError::new("number bound must be [number, inclusive]"));
                }
                let nm = r.marker()?;
                let num = r.number(nm)?.ok_or_else(|| CodecError::new("number bound must be a number"))?;
                let inclusive = match r.marker()? {
                    Marker::True => true,
                    Marker::False => false,
                    _ => return Err(CodecError::new("bound inclusiveness must be a bool")),
                };
                if key == 3 {
                    refs.number_lower = Some((num, inclusive));
                } else {
                    refs.number_upper = Some((num, inclusive));
                }
            }
            5 | 6 => {
                let m = r.marker()?;
                let len = r.number(m)?.and_then(|n| n.as_i64()).ok_or_else(|| CodecError::new("length bound must be an integer"))?;
                if key == 5 {
                    refs.length_min = Some(len);
                } else {
                    refs.length_max = Some(len);
                }
            }
            _ => r.skip()?,
        }
    }
    Ok(Value::Unknown(refs))
}

// ---------------------------------------------------------------- encoding

fn io(e: impl std::fmt::Display) -> CodecError {
    CodecError::new(format!("msgpack write failed: {e}"))
}

fn write_number(out: &mut Vec<u8>, n: &Number) -> Result<(), CodecError> {
    match n {
        Number::Int(i) => enc::write_sint(out, *i).map(|_| ()).map_err(io),
        Number::Float(f) => enc::write_f64(out, *f).map_err(io),
        Number::Big(s) => enc::write_str(out, s).map_err(io),
    }
}

fn write_unknown(out: &mut Vec<u8>, r: &Refinements) -> Result<(), CodecError> {
    if r.is_empty() {
        out.extend_from_slice(&[0xd4, 0x00, 0x00]);
        return Ok(());
    }
    let mut body = Vec::new();
    let count = r.not_null as u32
        + r.string_prefix.is_some() as u32
        + r.number_lower.is_some() as u32
        + r.number_upper.is_some() as u32
        + r.length_min.is_some() as u32
        + r.length_max.is_some() as u32;
    enc::write_map_len(&mut body, count).map_err(io)?;
    if r.not_null {
        enc::write_sint(&mut body, 1).map_err(io)?;
        enc::write_bool(&mut body, false).map_err(io)?;
    }
    if let Some(p) = &r.string_prefix {
        enc::write_sint(&mut body, 2).map_err(io)?;
        enc::write_str(&mut body, p).map_err(io)?;
    }
    for (key, bound) in [(3, &r.number_lower), (4, &r.number_upper)] {
        if let Some((n, incl)) = bound {
            enc::write_sint(&mut body, key).map_err(io)?;
            enc::write_array_len(&mut body, 2).map_err(io)?;
            write_number(&mut body, n)?;
            enc::write_bool(&mut body, *incl).map_err(io)?;
        }
    }
    for (key, len) in [(5, r.length_min), (6, r.length_max)] {
        if let Some(l) = len {
            enc::write_sint(&mut body, key).map_err(io)?;
            enc::write_sint(&mut body, l).map_err(io)?;
        }
    }
    enc::write_ext_meta(out, body.len() as u32, EXT_REFINED).map_err(io)?;
    out.extend_from_slice(&body);
    Ok(())
}

fn write(out: &mut Vec<u8>, v: &Value, ty: &Type) -> Result<(), CodecError> {
    let mismatch = || CodecError::new(format!("value does not conform to type {}", ty.friendly()));
    match (v, ty) {
        (Value::Null, _) => enc::write_nil(out).map_err(io),
        (Value::Unknown(r), _) => write_unknown(out, r),
        (Value::Bool(b), Type::Bool) => enc::write_bool(out, *b).map_err(io),
        (Value::Number(n), Type::Number) => write_number(out, n),
        (Value::String(s), Type::String) => enc::write_str(out, s).map_err(io),
        (Value::List(items), Type::List(et)) | (Value::Set(items), Type::Set(et)) => {
            enc::write_array_len(out, items.len() as u32).map_err(io)?;
            for (i, item) in items.iter().enumerate() {
                write(out, item, et).map_err(|e| e.at(format!("[{i}]")))?;
            }
            Ok(())
        }
        (Value::Tuple(items), Type::Tuple(ets)) if items.len() == ets.len() => {
            enc::write_array_len(out, items.len() as u32).map_err(io)?;
            for (i, (item, et)) in items.iter().zip(ets).enumerate() {
                write(out, item, et).map_err(|e| e.at(format!("[{i}]")))?;
            }
            Ok(())
        }
        (Value::Map(m), Type::Map(et)) => {
            enc::write_map_len(out, m.len() as u32).map_err(io)?;
            for (k, item) in m {
                enc::write_str(out, k).map_err(io)?;
                write(out, item, et).map_err(|e| e.at(format!("[{k:?}]")))?;
            }
            Ok(())
        }
        (Value::Object(m), Type::Object(attrs)) => {
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(CodecError::new(format!("unsupported attribute {extra:?}")));
            }
            enc::write_map_len(out, attrs.len() as u32).map_err(io)?;
            for (k, at) in attrs {
                enc::write_str(out, k).map_err(io)?;
                match m.get(k) {
                    Some(item) => write(out, item, at).map_err(|e| e.at(k.clone()))?,
                    None => enc::write_nil(out).map_err(io)?,
                }
            }
            Ok(())
        }
        (Value::Dynamic(inner_ty, inner), Type::Dynamic) => {
            enc::write_array_len(out, 2).map_err(io)?;
            let tj = inner_ty.to_json_bytes();
            enc::write_bin(out, &tj).map_err(io)?;
            write(out, inner, inner_ty)
        }
        (v, Type::Dynamic) => {
            // A known value without an attached type: infer it.
            let inferred = infer_type(v).ok_or_else(mismatch)?;
            write(out, &Value::Dynamic(inferred.clone(), Box::new(v.clone())), &Type::Dynamic)
        }
        _ => Err(mismatch()),
    }
}

/// The type of a known value that carries no type of its own (for `dynamic`).
pub(crate) fn infer_type(v: &Value) -> Option<Type> {
    Some(match v {
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::Dynamic(t, _) => t.clone(),
        Value::Object(m) => Type::Object(m.iter().map(|(k, v)| Some((k.clone(), infer_type(v)?))).collect::<Option<_>>()?),
        Value::Tuple(items) => Type::Tuple(items.iter().map(infer_type).collect::<Option<_>>()?),
        _ => return None,
    })
}
