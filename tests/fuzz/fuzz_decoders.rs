//! Fuzzing the Terraform value codecs (`tfplugin::value`: msgpack for DynamicValue, JSON
//! for the DynamicValue fallback, `RawState.json` and raw identities) with proptest, on
//! stable (cargo-fuzz needs nightly). The driver and its knobs (`IDENTITY_FUZZ_CASES`,
//! `IDENTITY_FUZZ_SECS`, `IDENTITY_FUZZ_SEED`) are described in `tests/fuzz/harness.rs`.
//!
//! Schemas: primitives, nested objects, lists/sets/maps of objects, tuples, dynamic, deep
//! nesting, random types, and the value type of every real schema of the provider (its
//! own, each resource's and its identity's, each data source's, ephemeral and list
//! resource's).
//!
//! Inputs:
//! - arbitrary bytes;
//! - "token soup": random msgpack documents that ignore the schema;
//! - schema-guided msgpack: mostly what the schema wants, with deviations at any depth
//!   (lying and huge length prefixes, wrong markers, unknown attributes, duplicate keys,
//!   unknown-value extensions with random refinement payloads, invalid UTF-8, NaN/inf,
//!   huge integers, numbers as junk strings, dynamic values with bad type JSON);
//! - mutations of valid encodings (bit flips, byte sets, inserts of interesting
//!   sequences, deletes, truncation, splices);
//! - the same three for JSON (arbitrary bytes, schema-guided `serde_json::Value`s, text
//!   mutations of valid encodings) through `decode_json` and `decode_json_bytes`;
//! - round trips of generated values of generated and real types;
//! - nesting far beyond the decoders' depth limits.
//!
//! Properties: no panic; a bounded amount of memory per decode (a length prefix that
//! claims 2^32 elements allocates nothing); a bounded time per case; an error is an `Err`;
//! a value that decodes re-encodes under the same type and decodes back to itself, in
//! msgpack and (when JSON can carry it) in JSON; encode-then-decode of a generated value
//! gives it back, refinements included.

use crate::harness;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use identity_provider::provider::IdentityProvider;
use identity_provider::tfplugin::Provider;
use identity_provider::tfplugin::value::{
    Number, Refinements, Type, Value, decode_json, decode_json_bytes, decode_msgpack, encode_json, encode_msgpack,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::Union;
use proptest::test_runner::TestCaseError;
use serde_json::Value as Json;

use harness::{Bytes, arb_mutation, mutate};

const TARGETS: &[&str] = &[
    "msgpack_arbitrary_bytes",
    "msgpack_token_soup",
    "msgpack_guided",
    "msgpack_mutated",
    "msgpack_round_trip",
    "json_arbitrary_bytes",
    "json_guided",
    "json_mutated_text",
    "json_round_trip",
    "deep_nesting",
    "number_and_type_parsers",
];

// ================================================================ schemas

fn attrs(pairs: &[(&str, Type)]) -> Type {
    Type::object(pairs.iter().map(|(k, t)| (k.to_string(), t.clone())))
}

fn nested(depth: usize, leaf: Type, wrap: fn(Type) -> Type) -> Type {
    (0..depth).fold(leaf, |t, _| wrap(t))
}

/// Every schema a target draws from: (name, type).
fn schemas() -> &'static [(String, Type)] {
    static SCHEMAS: OnceLock<Vec<(String, Type)>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let member = attrs(&[("value", Type::String), ("type", Type::String), ("primary", Type::Bool)]);
        let mut out: Vec<(String, Type)> = vec![
            ("string".into(), Type::String),
            ("number".into(), Type::Number),
            ("bool".into(), Type::Bool),
            ("dynamic".into(), Type::Dynamic),
            (
                "nested_object".into(),
                attrs(&[
                    ("id", Type::String),
                    ("count", Type::Number),
                    ("inner", attrs(&[("flag", Type::Bool), ("tags", Type::list(Type::String)), ("any", Type::Dynamic)])),
                ]),
            ),
            ("list_of_objects".into(), Type::list(member.clone())),
            ("set_of_objects".into(), Type::set(member.clone())),
            ("map_of_objects".into(), Type::map(member.clone())),
            ("map_of_strings".into(), Type::map(Type::String)),
            ("list_of_dynamic".into(), Type::list(Type::Dynamic)),
            ("tuple".into(), Type::Tuple(vec![Type::String, Type::Number, Type::list(Type::Bool), Type::Dynamic])),
            ("empty_object".into(), Type::object(Vec::<(String, Type)>::new())),
            ("deep_lists".into(), nested(40, Type::String, Type::list)),
            ("deep_objects".into(), nested(30, Type::Number, |t| Type::object([("x", t), ("y", Type::String)]))),
            ("deep_maps_of_sets".into(), nested(12, Type::Dynamic, |t| Type::map(Type::set(t)))),
        ];
        let p = IdentityProvider;
        out.push(("provider".into(), p.schema().value_type()));
        for r in p.resources() {
            out.push((format!("resource {}", r.type_name()), r.schema().value_type()));
            if let Some(id) = r.identity_schema() {
                out.push((format!("identity {}", r.type_name()), id.value_type()));
            }
        }
        for d in p.data_sources() {
            out.push((format!("data source {}", d.type_name()), d.schema().value_type()));
        }
        for e in p.ephemeral_resources() {
            out.push((format!("ephemeral {}", e.type_name()), e.schema().value_type()));
        }
        for l in p.list_resources() {
            out.push((format!("list resource {}", l.type_name()), l.schema().value_type()));
        }
        out
    })
}

/// An index into [`schemas`]; prints as the schema's name.
#[derive(Clone, Copy)]
struct Schema(usize);

impl Schema {
    fn ty(self) -> &'static Type {
        &schemas()[self.0].1
    }
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "schema {:?}", schemas()[self.0].0)
    }
}

/// A strategy per schema, as one union that yields (schema, item).
/// Values of generated types and of every real schema's type, with their type (and the
/// schema, for a real one).
fn typed_values(g: Gen) -> BoxedStrategy<(Option<Schema>, Type, Value)> {
    let random_types = arb_type(true).prop_flat_map(move |t| (Just(t.clone()), arb_value(&t, g))).prop_map(|(t, v)| (None, t, v));
    let real = per_schema(move |ty| arb_value(ty, g)).prop_map(|(s, v)| (Some(s), s.ty().clone(), v));
    prop_oneof![random_types, real].boxed()
}

fn per_schema<T: fmt::Debug + 'static>(make: impl Fn(&'static Type) -> BoxedStrategy<T>) -> BoxedStrategy<(Schema, T)> {
    Union::new(schemas().iter().enumerate().map(|(i, (_, ty))| make(ty).prop_map(move |t| (Schema(i), t)).boxed())).boxed()
}

// ================================================================ value strategies

fn attr_name() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(vec!["a", "b", "id", "name", "value", "type", "members", "", "ü", "x.y"]).prop_map(str::to_string),
        1 => "(?s).{0,8}",
    ]
    .boxed()
}

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "(?s).{0,24}",
        1 => prop::sample::select(vec!["", "https://", "\u{0}", "\u{feff}", "\u{10ffff}", "a\"b\\c"]).prop_map(str::to_string),
        1 => "[a-z]{100,400}",
    ]
    .boxed()
}

fn finite_f64() -> BoxedStrategy<f64> {
    use prop::num::f64 as f;
    (f::NORMAL | f::SUBNORMAL | f::ZERO | f::POSITIVE | f::NEGATIVE).boxed()
}

/// A number; `json_safe` keeps to what JSON carries exactly (i64, finite f64, u64).
fn arb_number(json_safe: bool) -> BoxedStrategy<Number> {
    let safe = prop_oneof![
        any::<i64>().prop_map(Number::Int),
        (-1000i64..1000).prop_map(Number::Int),
        finite_f64().prop_map(Number::Float),
        (i64::MAX as u64 + 1..=u64::MAX).prop_map(|u| Number::Big(u.to_string())),
    ];
    if json_safe {
        return safe.boxed();
    }
    let decimal = "-?[0-9]{1,40}(\\.[0-9]{1,30})?([eE][-+]?[0-9]{1,4})?"
        .prop_map(|s| Number::parse(&s).unwrap_or_else(|| panic!("{s:?} is a number")));
    prop_oneof![3 => safe, 1 => decimal].boxed()
}

fn arb_refinements() -> BoxedStrategy<Refinements> {
    let bound = || prop::option::of((arb_number(false), any::<bool>()));
    (any::<bool>(), prop::option::of(text()), bound(), bound(), prop::option::of(any::<i64>()), prop::option::of(any::<i64>()))
        .prop_map(|(not_null, string_prefix, number_lower, number_upper, length_min, length_max)| Refinements {
            not_null,
            string_prefix,
            number_lower,
            number_upper,
            length_min,
            length_max,
        })
        .boxed()
}

/// A random type; `dynamic` allows `dynamic` inside it.
fn arb_type(dynamic: bool) -> BoxedStrategy<Type> {
    let leaf = if dynamic {
        prop_oneof![Just(Type::String), Just(Type::Number), Just(Type::Bool), Just(Type::Dynamic)].boxed()
    } else {
        prop_oneof![Just(Type::String), Just(Type::Number), Just(Type::Bool)].boxed()
    };
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::btree_map(attr_name(), inner.clone(), 0..4).prop_map(Type::Object),
            prop::collection::vec(inner, 0..3).prop_map(Type::Tuple),
        ]
    })
    .boxed()
}

/// How values are generated.
#[derive(Clone, Copy)]
struct Gen {
    /// Unknowns allowed (not in JSON).
    unknowns: bool,
    /// Numbers JSON carries exactly.
    json_safe: bool,
    /// How many `dynamic` levels may still pick a type with `dynamic` in it.
    dyn_budget: u32,
    /// How deep in the value this is: collections get smaller with depth, so that values
    /// of deeply nested types stay small.
    depth: u32,
}

impl Gen {
    fn new(unknowns: bool, json_safe: bool) -> Gen {
        Gen { unknowns, json_safe, dyn_budget: 2, depth: 0 }
    }
    fn deeper(self) -> Gen {
        Gen { depth: self.depth + 1, ..self }
    }
    fn sizes(self) -> std::ops::Range<usize> {
        if self.depth < 4 { 0..4 } else { 0..2 }
    }
}

/// A value of `ty`: null, unknown (refined or not) or known.
fn arb_value(ty: &Type, g: Gen) -> BoxedStrategy<Value> {
    let known = arb_known(ty, g);
    if g.unknowns {
        prop_oneof![1 => Just(Value::Null), 1 => arb_refinements().prop_map(Value::Unknown), 6 => known].boxed()
    } else {
        prop_oneof![1 => Just(Value::Null), 6 => known].boxed()
    }
}

/// A known, non-null value of `ty` (its elements may be null or unknown).
fn arb_known(ty: &Type, g: Gen) -> BoxedStrategy<Value> {
    match ty {
        Type::String => text().prop_map(Value::String).boxed(),
        Type::Number => arb_number(g.json_safe).prop_map(Value::Number).boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::List(et) => prop::collection::vec(arb_value(et, g.deeper()), g.sizes()).prop_map(Value::List).boxed(),
        Type::Set(et) => prop::collection::vec(arb_value(et, g.deeper()), g.sizes()).prop_map(Value::Set).boxed(),
        Type::Map(et) => prop::collection::btree_map(attr_name(), arb_value(et, g.deeper()), g.sizes()).prop_map(Value::Map).boxed(),
        Type::Object(attrs) => attrs
            .iter()
            .map(|(k, t)| {
                let k = k.clone();
                arb_value(t, g.deeper()).prop_map(move |v| (k.clone(), v))
            })
            .collect::<Vec<_>>()
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
            .boxed(),
        Type::Tuple(ets) => ets.iter().map(|t| arb_value(t, g.deeper())).collect::<Vec<_>>().prop_map(Value::Tuple).boxed(),
        Type::Dynamic => {
            let inner = Gen { dyn_budget: g.dyn_budget.saturating_sub(1), ..g.deeper() };
            arb_type(g.dyn_budget > 0)
                .prop_flat_map(move |t| arb_known(&t, inner).prop_map(move |v| Value::Dynamic(t.clone(), Box::new(v))))
                .boxed()
        }
    }
}

// ================================================================ comparing values

#[derive(Clone, Copy, PartialEq)]
enum Numbers {
    /// Same representation (an i64 and an equal f64 count as equal, as in `Value`'s own
    /// equality; NaN equals NaN).
    Exact,
    /// Equal as f64 (what JSON carries), or the same decimal text.
    AsF64,
    /// [`Numbers::AsF64`], give or take a few units in the last place: serde_json
    /// (without its `float_roundtrip` feature) parses some decimal texts to an f64 next to
    /// the right one (see `json_text_floats_parse_exactly`).
    JsonText,
}

fn same_number(a: &Number, b: &Number, mode: Numbers) -> bool {
    match (a, b) {
        (Number::Big(x), Number::Big(y)) if x == y => true,
        (Number::Big(_), _) | (_, Number::Big(_)) if mode == Numbers::Exact => false,
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) if x == y || (x.is_nan() && y.is_nan()) => true,
            (Some(x), Some(y)) if mode == Numbers::JsonText => {
                x.is_sign_negative() == y.is_sign_negative() && x.to_bits().abs_diff(y.to_bits()) <= 4
            }
            _ => false,
        },
    }
}

fn same_bound(a: &Option<(Number, bool)>, b: &Option<(Number, bool)>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some((x, xi)), Some((y, yi))) => xi == yi && same_number(x, y, Numbers::Exact),
        _ => false,
    }
}

/// Structural equality that, unlike `Value`'s, also compares refinements.
fn same(a: &Value, b: &Value, mode: Numbers) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Unknown(x), Value::Unknown(y)) => {
            x.not_null == y.not_null
                && x.string_prefix == y.string_prefix
                && same_bound(&x.number_lower, &y.number_lower)
                && same_bound(&x.number_upper, &y.number_upper)
                && x.length_min == y.length_min
                && x.length_max == y.length_max
        }
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => same_number(x, y, mode),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q, mode))
        }
        (Value::Set(x), Value::Set(y)) => {
            x.len() == y.len()
                && x.iter().all(|p| y.iter().any(|q| same(p, q, mode)))
                && y.iter().all(|q| x.iter().any(|p| same(p, q, mode)))
        }
        (Value::Map(x), Value::Map(y)) | (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((kp, p), (kq, q))| kp == kq && same(p, q, mode))
        }
        (Value::Dynamic(tx, x), Value::Dynamic(ty, y)) => tx == ty && same(x, y, mode),
        _ => false,
    }
}

/// Whether JSON can carry `v`: no unknowns, and every number finite.
fn json_can_carry(v: &Value) -> bool {
    match v {
        Value::Unknown(_) => false,
        Value::Number(n) => n.as_f64().is_some_and(f64::is_finite),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => items.iter().all(json_can_carry),
        Value::Map(m) | Value::Object(m) => m.values().all(json_can_carry),
        Value::Dynamic(_, inner) => json_can_carry(inner),
        Value::Null | Value::Bool(_) | Value::String(_) => true,
    }
}

// ================================================================ properties

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

/// What one decode may allocate at most: a fixed allowance plus a generous amount per
/// input byte (a value can be much bigger than its encoding: one byte can be an object
/// whose missing attributes are filled with nulls). A decoder that trusts a length
/// prefix allocates far more.
fn memory_bound(input_len: usize) -> usize {
    (1 << 20) + 32 * 1024 * input_len
}

/// The decoded value of a wrong input must still be a value of the type: it re-encodes,
/// decodes back to itself, and (when JSON can carry it) survives JSON too.
fn check_decoded(v: &Value, ty: &Type) -> Result<(), TestCaseError> {
    let again = encode_msgpack(v, ty).map_err(|e| fail(format!("a decoded value does not re-encode: {e}; value {v:?}")))?;
    let back = decode_msgpack(&again, ty).map_err(|e| fail(format!("a re-encoded value does not decode: {e}; value {v:?}")))?;
    if !same(&back, v, Numbers::Exact) {
        return Err(fail(format!("msgpack re-encoding changed the value: {v:?} became {back:?}")));
    }
    if json_can_carry(v) {
        let j = encode_json(v, ty).map_err(|e| fail(format!("a JSON-safe decoded value does not encode as JSON: {e}; value {v:?}")))?;
        let back = decode_json(&j, ty).map_err(|e| fail(format!("encode_json output does not decode: {e}; JSON {j}")))?;
        if !same(&back, v, Numbers::AsF64) {
            return Err(fail(format!("JSON round trip changed the value: {v:?} became {back:?}")));
        }
        let text = serde_json::to_vec(&j).map_err(|e| fail(format!("serde_json: {e}")))?;
        let back = match decode_json_bytes(&text, ty) {
            Ok(back) => back,
            // A dynamic value is two JSON levels (`{"value": ...}` and the value) for one
            // level of the value: near the depth limit the text is deeper than serde_json
            // parses (128), while the value is not. The in-memory path above covers it.
            Err(e) if e.message.contains("recursion limit") => return Ok(()),
            Err(e) => return Err(fail(format!("JSON text does not decode: {e}"))),
        };
        if !same(&back, v, Numbers::JsonText) {
            return Err(fail(format!("JSON text round trip changed the value: {v:?} became {back:?}")));
        }
    }
    Ok(())
}

fn check_msgpack(ty: &Type, bytes: &[u8]) -> Result<(), TestCaseError> {
    let (result, peak) = harness::peak_alloc(|| decode_msgpack(bytes, ty));
    if peak > memory_bound(bytes.len()) {
        return Err(fail(format!("decoding {} bytes allocated {peak} bytes at once", bytes.len())));
    }
    match result {
        Ok(v) => check_decoded(&v, ty),
        Err(e) => {
            // The error renders (messages and paths are shown to users).
            let _ = (e.to_string(), e.path.join("."));
            Ok(())
        }
    }
}

fn check_json_value(ty: &Type, j: &Json) -> Result<(), TestCaseError> {
    let (result, peak) = harness::peak_alloc(|| decode_json(j, ty));
    if peak > memory_bound(4096) {
        return Err(fail(format!("decode_json allocated {peak} bytes at once")));
    }
    if let Ok(v) = &result {
        check_decoded(v, ty)?;
    }
    // The same document as text (the RawState path) decodes the same way.
    let text = serde_json::to_vec(j).map_err(|e| fail(format!("serde_json: {e}")))?;
    let from_text = decode_json_bytes(&text, ty);
    match (&result, &from_text) {
        (Ok(a), Ok(b)) if same(a, b, Numbers::JsonText) => Ok(()),
        (Err(_), Err(_)) => Ok(()),
        // serde_json's parser stops at 128 levels, where the in-memory decoder allows one
        // more: not a disagreement about the value.
        (_, Err(e)) if e.message.contains("recursion limit") => Ok(()),
        _ => Err(fail(format!("decode_json and decode_json_bytes disagree: {result:?} vs {from_text:?}"))),
    }
}

fn check_json_bytes(ty: &Type, bytes: &[u8]) -> Result<(), TestCaseError> {
    let (result, peak) = harness::peak_alloc(|| decode_json_bytes(bytes, ty));
    if peak > memory_bound(bytes.len()) {
        return Err(fail(format!("decoding {} bytes of JSON allocated {peak} bytes at once", bytes.len())));
    }
    match result {
        Ok(v) => check_decoded(&v, ty),
        Err(e) => {
            let _ = e.to_string();
            Ok(())
        }
    }
}

// ================================================================ msgpack building blocks

/// How a length prefix relates to the items that follow it.
#[derive(Clone, Copy, Debug)]
enum Len {
    Exact,
    More(u8),
    Fewer(u8),
    Huge(u32),
}

fn arb_len() -> BoxedStrategy<Len> {
    prop_oneof![
        12 => Just(Len::Exact),
        1 => (1u8..4).prop_map(Len::More),
        1 => (1u8..4).prop_map(Len::Fewer),
        1 => prop::sample::select(vec![u32::MAX, 1 << 31, 1 << 16, 65_535, 4_097]).prop_map(Len::Huge),
    ]
    .boxed()
}

impl Len {
    fn apply(self, n: usize) -> u64 {
        match self {
            Len::Exact => n as u64,
            Len::More(k) => n as u64 + k as u64,
            Len::Fewer(k) => (n as u64).saturating_sub(k as u64),
            Len::Huge(h) => h as u64,
        }
    }
}

/// A header: `fix` marker base and its capacity, then the 8/16/32-bit markers (0 when the
/// kind has no such width). `wide` forces a wider form than needed.
fn header(out: &mut Vec<u8>, len: u64, fix: Option<(u8, u64)>, m8: u8, m16: u8, m32: u8, wide: u8) {
    let len = len.min(u32::MAX as u64);
    match fix {
        Some((base, cap)) if len < cap && wide == 0 => out.push(base | len as u8),
        _ if m8 != 0 && len <= 0xff && wide <= 1 => out.extend([m8, len as u8]),
        _ if len <= 0xffff && wide <= 2 => {
            out.push(m16);
            out.extend((len as u16).to_be_bytes());
        }
        _ => {
            out.push(m32);
            out.extend((len as u32).to_be_bytes());
        }
    }
}

fn str_bytes(out: &mut Vec<u8>, s: &[u8], len: u64, wide: u8) {
    header(out, len, Some((0xa0, 32)), 0xd9, 0xda, 0xdb, wide);
    out.extend(s);
}

fn bin_bytes(out: &mut Vec<u8>, s: &[u8], len: u64, wide: u8) {
    header(out, len, None, 0xc4, 0xc5, 0xc6, wide.max(1));
    out.extend(s);
}

fn array_header(out: &mut Vec<u8>, len: u64, wide: u8) {
    header(out, len, Some((0x90, 16)), 0, 0xdc, 0xdd, if wide == 1 { 2 } else { wide });
}

fn map_header(out: &mut Vec<u8>, len: u64, wide: u8) {
    header(out, len, Some((0x80, 16)), 0, 0xde, 0xdf, if wide == 1 { 2 } else { wide });
}

fn ext_bytes(out: &mut Vec<u8>, ext_type: i8, body: &[u8], len: u64, fixed: bool) {
    let fix = match len {
        1 => Some(0xd4),
        2 => Some(0xd5),
        4 => Some(0xd6),
        8 => Some(0xd7),
        16 => Some(0xd8),
        _ => None,
    };
    match fix {
        Some(m) if fixed => out.push(m),
        _ => header(out, len, None, 0xc7, 0xc8, 0xc9, 1),
    }
    out.push(ext_type as u8);
    out.extend(body);
}

fn arb_wide() -> BoxedStrategy<u8> {
    prop_oneof![6 => Just(0u8), 1 => 1u8..4].boxed()
}

/// A msgpack string: valid UTF-8 or not, its length exact or not.
fn arb_msgpack_str() -> BoxedStrategy<Vec<u8>> {
    let content = prop_oneof![
        4 => text().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..12),
        1 => prop::sample::select(vec![
            vec![0xff, 0xfe],
            vec![0xed, 0xa0, 0x80],
            vec![0xc0, 0xaf],
            vec![0xf4, 0x90, 0x80, 0x80],
            vec![0x80],
            vec![b'a', 0xe2, 0x82],
        ]),
    ];
    (content, arb_len(), arb_wide())
        .prop_map(|(s, len, wide)| {
            let mut out = Vec::new();
            str_bytes(&mut out, &s, len.apply(s.len()), wide);
            out
        })
        .boxed()
}

/// A msgpack number in any form, including NaN, infinities, the extremes, and decimal
/// strings (valid or not).
fn arb_msgpack_number() -> BoxedStrategy<Vec<u8>> {
    let junk = prop::sample::select(vec![
        "1e999",
        "-1e999",
        "1e-999",
        "NaN",
        "nan",
        "inf",
        "-inf",
        "Infinity",
        "0x10",
        " 1 ",
        "",
        "-",
        ".",
        "1.",
        ".5",
        "+5",
        "1e5",
        "--1",
        "1_000",
        "99999999999999999999999999999999999999",
        "-0",
        "0.1e",
        "١",
    ]);
    prop_oneof![
        any::<i64>().prop_map(|i| {
            let mut out = Vec::new();
            rmp::encode::write_sint(&mut out, i).map(drop).unwrap_or_default();
            out
        }),
        any::<u64>().prop_map(|u| {
            let mut out = Vec::new();
            rmp::encode::write_uint(&mut out, u).map(drop).unwrap_or_default();
            out
        }),
        (prop::sample::select(vec![0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3]), any::<u64>()).prop_map(|(m, bits)| {
            let width = [1, 2, 4, 8][(m as usize - 0xcc) % 4];
            let mut out = vec![m as u8];
            out.extend(&bits.to_be_bytes()[8 - width..]);
            out
        }),
        any::<u64>().prop_map(|bits| {
            let mut out = vec![0xcb];
            out.extend(bits.to_be_bytes());
            out
        }),
        any::<u32>().prop_map(|bits| {
            let mut out = vec![0xca];
            out.extend(bits.to_be_bytes());
            out
        }),
        prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, f64::MIN_POSITIVE, f64::MAX, 9.2e18, -9.3e18])
            .prop_map(|f| {
                let mut out = vec![0xcb];
                out.extend(f.to_bits().to_be_bytes());
                out
            }),
        junk.prop_map(|s| {
            let mut out = Vec::new();
            str_bytes(&mut out, s.as_bytes(), s.len() as u64, 0);
            out
        }),
        "-?[0-9]{1,40}(\\.[0-9]{0,30})?([eE][-+]?[0-9]{1,5})?".prop_map(|s: String| {
            let mut out = Vec::new();
            str_bytes(&mut out, s.as_bytes(), s.len() as u64, 0);
            out
        }),
    ]
    .boxed()
}

/// Any single msgpack value that is not a container.
fn arb_msgpack_leaf() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![0xc0u8, 0xc1, 0xc2, 0xc3, 0x00, 0x7f, 0xe0, 0xff, 0x90, 0x80, 0xa0]).prop_map(|b| vec![b]),
        arb_msgpack_number(),
        arb_msgpack_str(),
        (prop::collection::vec(any::<u8>(), 0..12), arb_len(), arb_wide()).prop_map(|(b, len, wide)| {
            let mut out = Vec::new();
            bin_bytes(&mut out, &b, len.apply(b.len()), wide);
            out
        }),
        (any::<i8>(), prop::collection::vec(any::<u8>(), 0..17), arb_len(), any::<bool>()).prop_map(|(t, b, len, fixed)| {
            let mut out = Vec::new();
            ext_bytes(&mut out, t, &b, len.apply(b.len()), fixed);
            out
        }),
        refined_unknown(),
    ]
    .boxed()
}

/// Random msgpack documents, schema or not ("token soup"): any value, arrays and maps of
/// them with keys biased towards attribute names.
fn arb_msgpack_doc() -> BoxedStrategy<Vec<u8>> {
    arb_msgpack_leaf()
        .prop_recursive(6, 64, 6, |inner| {
            let key = prop_oneof![
                3 => attr_name().prop_map(|k| {
                    let mut out = Vec::new();
                    str_bytes(&mut out, k.as_bytes(), k.len() as u64, 0);
                    out
                }),
                1 => inner.clone(),
            ];
            prop_oneof![
                (prop::collection::vec(inner.clone(), 0..6), arb_len(), arb_wide()).prop_map(|(items, len, wide)| {
                    let mut out = Vec::new();
                    array_header(&mut out, len.apply(items.len()), wide);
                    items.iter().for_each(|i| out.extend(i));
                    out
                }),
                (prop::collection::vec((key, inner.clone()), 0..6), arb_len(), arb_wide()).prop_map(|(entries, len, wide)| {
                    let mut out = Vec::new();
                    map_header(&mut out, len.apply(entries.len()), wide);
                    entries.iter().for_each(|(k, v)| {
                        out.extend(k);
                        out.extend(v);
                    });
                    out
                }),
                // A dynamic-looking pair: [type JSON bytes, value].
                (arb_type_json_bytes(), inner).prop_map(|(t, v)| {
                    let mut out = vec![0x92];
                    bin_bytes(&mut out, &t, t.len() as u64, 1);
                    out.extend(v);
                    out
                }),
            ]
        })
        .boxed()
}

/// An unknown-value extension (type 12) with a random refinements payload: the known keys
/// with right or wrong values, unknown keys, non-integer keys, lying counts.
fn refined_unknown() -> BoxedStrategy<Vec<u8>> {
    let int = |i: i64| {
        let mut out = Vec::new();
        rmp::encode::write_sint(&mut out, i).map(drop).unwrap_or_default();
        out
    };
    let bound = (arb_msgpack_number(), prop::sample::select(vec![0xc2u8, 0xc3, 0xc0, 0x01]), prop_oneof![4 => Just(2u64), 1 => 0u64..4])
        .prop_map(|(n, incl, count)| {
            let mut out = Vec::new();
            array_header(&mut out, count, 0);
            out.extend(n);
            out.push(incl);
            out
        });
    let value = prop_oneof![
        prop::sample::select(vec![vec![0xc2u8], vec![0xc3], vec![0xc0]]),
        arb_msgpack_str(),
        bound,
        arb_msgpack_number(),
        Just(vec![0x92, 0x01, 0x92, 0x02, 0x90]),
    ];
    let key = prop_oneof![
        4 => (1i64..=6).prop_map(int),
        1 => any::<i64>().prop_map(int),
        1 => Just(vec![0xa1, b'1']),
        1 => Just(vec![0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]),
        1 => Just(vec![0xc0]),
    ];
    (prop::collection::vec((key, value), 0..7), arb_len(), arb_len(), any::<bool>(), prop_oneof![6 => Just(12i8), 1 => any::<i8>()])
        .prop_map(|(entries, count, body_len, fixed, ext_type)| {
            let mut body = Vec::new();
            map_header(&mut body, count.apply(entries.len()), 0);
            entries.iter().for_each(|(k, v)| {
                body.extend(k);
                body.extend(v);
            });
            let mut out = Vec::new();
            ext_bytes(&mut out, ext_type, &body, body_len.apply(body.len()), fixed);
            out
        })
        .boxed()
}

/// The JSON of a type, valid or not.
fn arb_type_json_bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => arb_type(true).prop_map(|t| t.to_json_bytes()),
        1 => arb_type_json().prop_map(|j| j.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..16),
    ]
    .boxed()
}

/// Type JSON with mistakes: unknown kinds, missing parts, wrong shapes, extra elements.
fn arb_type_json() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        prop::sample::select(vec!["string", "number", "bool", "dynamic", "String", "list", "object", "", "any"])
            .prop_map(|s| Json::String(s.into())),
        Just(Json::Null),
        any::<i64>().prop_map(Json::from),
    ];
    leaf.prop_recursive(5, 32, 4, |inner| {
        let kind =
            prop::sample::select(vec!["list", "set", "map", "object", "tuple", "dynamic", "nope"]).prop_map(|s| Json::String(s.into()));
        prop_oneof![
            (kind.clone(), inner.clone()).prop_map(|(k, t)| Json::Array(vec![k, t])),
            (kind.clone(), prop::collection::vec(inner.clone(), 0..3)).prop_map(|(k, ts)| Json::Array(vec![k, Json::Array(ts)])),
            (kind.clone(), prop::collection::btree_map(attr_name(), inner.clone(), 0..3))
                .prop_map(|(k, m)| Json::Array(vec![k, Json::Object(m.into_iter().collect())])),
            (kind, inner.clone(), inner.clone()).prop_map(|(k, a, b)| Json::Array(vec![k, a, b])),
            prop::collection::vec(inner, 0..2).prop_map(Json::Array),
        ]
    })
    .boxed()
}

fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

// ================================================================ schema-guided msgpack

/// The encodings of a map key and its value.
type KeyValue = (Vec<u8>, Vec<u8>);

/// Mostly an encoding of a value of `ty`, with deviations anywhere: another value, null, a
/// (refined) unknown, lying length prefixes, unknown attributes, duplicate keys.
fn guided(ty: &Type, dyn_budget: u32, depth: u32) -> BoxedStrategy<Vec<u8>> {
    let n = if depth < 4 { 4 } else { 2 };
    let on_type: BoxedStrategy<Vec<u8>> = match ty {
        Type::String => arb_msgpack_str(),
        Type::Number => arb_msgpack_number(),
        Type::Bool => prop::sample::select(vec![vec![0xc2u8], vec![0xc3]]).boxed(),
        Type::List(et) | Type::Set(et) => (prop::collection::vec(guided(et, dyn_budget, depth + 1), 0..n), arb_len(), arb_wide())
            .prop_map(|(items, len, wide)| {
                let mut out = Vec::new();
                array_header(&mut out, len.apply(items.len()), wide);
                out.extend(concat(&items));
                out
            })
            .boxed(),
        Type::Tuple(ets) => {
            let elems: Vec<_> = ets.iter().map(|t| guided(t, dyn_budget, depth + 1)).collect();
            (elems, prop::collection::vec(arb_msgpack_leaf(), 0..2), any::<bool>(), arb_len())
                .prop_map(|(items, extra, add_extra, len)| {
                    let mut items = items;
                    if add_extra {
                        items.extend(extra);
                    }
                    let mut out = Vec::new();
                    array_header(&mut out, len.apply(items.len()), 0);
                    out.extend(concat(&items));
                    out
                })
                .boxed()
        }
        Type::Map(et) => {
            let key = prop_oneof![
                4 => prop::sample::select(vec!["a", "b", "a", ""]).prop_map(|k| {
                    let mut out = Vec::new();
                    str_bytes(&mut out, k.as_bytes(), k.len() as u64, 0);
                    out
                }),
                1 => arb_msgpack_str(),
                1 => arb_msgpack_leaf(),
            ];
            (prop::collection::vec((key, guided(et, dyn_budget, depth + 1)), 0..n + 1), arb_len(), arb_wide())
                .prop_map(|(entries, len, wide)| {
                    let mut out = Vec::new();
                    map_header(&mut out, len.apply(entries.len()), wide);
                    entries.iter().for_each(|(k, v)| {
                        out.extend(k);
                        out.extend(v);
                    });
                    out
                })
                .boxed()
        }
        Type::Object(attrs) => {
            let mut entry_kinds: Vec<BoxedStrategy<KeyValue>> = attrs
                .iter()
                .map(|(k, t)| {
                    let mut key = Vec::new();
                    str_bytes(&mut key, k.as_bytes(), k.len() as u64, 0);
                    guided(t, dyn_budget, depth + 1).prop_map(move |v| (key.clone(), v)).boxed()
                })
                .collect();
            // An attribute the schema does not have, or a key that is not a string.
            entry_kinds.push((arb_msgpack_str(), arb_msgpack_leaf()).boxed());
            entry_kinds.push((arb_msgpack_leaf(), arb_msgpack_leaf()).boxed());
            let weights: Vec<(u32, BoxedStrategy<KeyValue>)> =
                entry_kinds.into_iter().enumerate().map(|(i, s)| (if i < attrs.len() { 20 } else { 1 }, s)).collect();
            let entries = Union::new_weighted(weights);
            (prop::collection::vec(entries, 0..attrs.len() + 2), arb_len(), arb_wide())
                .prop_map(|(entries, len, wide)| {
                    let mut out = Vec::new();
                    map_header(&mut out, len.apply(entries.len()), wide);
                    entries.iter().for_each(|(k, v)| {
                        out.extend(k);
                        out.extend(v);
                    });
                    out
                })
                .boxed()
        }
        Type::Dynamic => {
            let pair = (if dyn_budget > 0 { arb_type(true) } else { arb_type(false) }).prop_flat_map(move |t| {
                let tj = t.to_json_bytes();
                (Just(tj), guided(&t, dyn_budget.saturating_sub(1), depth + 1), any::<bool>(), arb_len())
            });
            prop_oneof![
                8 => pair.prop_map(|(tj, v, as_str, len)| {
                    let mut out = Vec::new();
                    array_header(&mut out, len.apply(2), 0);
                    if as_str {
                        str_bytes(&mut out, &tj, tj.len() as u64, 0);
                    } else {
                        bin_bytes(&mut out, &tj, tj.len() as u64, 1);
                    }
                    out.extend(v);
                    out
                }),
                // A bad type, or a value without its type.
                2 => (arb_type_json_bytes(), arb_msgpack_leaf(), arb_len()).prop_map(|(tj, v, len)| {
                    let mut out = Vec::new();
                    array_header(&mut out, len.apply(2), 0);
                    bin_bytes(&mut out, &tj, tj.len() as u64, 1);
                    out.extend(v);
                    out
                }),
                1 => arb_msgpack_leaf(),
            ]
            .boxed()
        }
    };
    prop_oneof![
        24 => on_type,
        1 => Just(vec![0xc0]),
        1 => Just(vec![0xd4, 0x00, 0x00]),
        1 => refined_unknown(),
        1 => arb_msgpack_leaf(),
    ]
    .boxed()
}

// ================================================================ mutations

/// Byte sequences that are interesting to a msgpack decoder.
fn interesting_msgpack() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = vec![
        vec![0xc0],
        vec![0xc1],
        vec![0xc2],
        vec![0xc3],
        vec![0xdc, 0xff, 0xff],
        vec![0xdd, 0xff, 0xff, 0xff, 0xff],
        vec![0xdd, 0x80, 0x00, 0x00, 0x00],
        vec![0xde, 0xff, 0xff],
        vec![0xdf, 0xff, 0xff, 0xff, 0xff],
        vec![0xd9, 0xff],
        vec![0xda, 0xff, 0xff],
        vec![0xdb, 0xff, 0xff, 0xff, 0xff],
        vec![0xc4, 0xff],
        vec![0xc5, 0xff, 0xff],
        vec![0xc6, 0xff, 0xff, 0xff, 0xff],
        vec![0xc7, 0xff, 0x0c],
        vec![0xc8, 0xff, 0xff, 0x0c],
        vec![0xc9, 0xff, 0xff, 0xff, 0xff, 0x0c],
        vec![0xd4, 0x0c, 0x00],
        vec![0xd5, 0x0c, 0x81, 0x01],
        vec![0xd6, 0x0c, 0x81, 0x01, 0xc2, 0x00],
        vec![0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0],
        vec![0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0],
        vec![0xcb, 0xff, 0xf0, 0, 0, 0, 0, 0, 0],
        vec![0xca, 0x7f, 0xc0, 0, 0],
        vec![0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0],
        vec![0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0],
        vec![0xa2, 0xff, 0xfe],
        vec![0xa3, 0xed, 0xa0, 0x80],
        vec![0xa1, 0x80],
        vec![0x92, 0xc4, 0x08, b'"', b's', b't', b'r', b'i', b'n', b'g', b'"'],
        vec![0x92, 0xa3, b'f', b'o', b'o', 0xc0],
        vec![0x91],
        vec![0x81, 0xa1, b'a'],
        vec![0x82, 0xa1, b'a', 0xc0, 0xa1, b'a', 0xc3],
    ];
    for s in ["1e999", "NaN", "-inf", "99999999999999999999999", "0x10", ""] {
        let mut out = Vec::new();
        str_bytes(&mut out, s.as_bytes(), s.len() as u64, 0);
        v.push(out);
    }
    v
}

fn msgpack_of(v: &Value, ty: &Type) -> Vec<u8> {
    encode_msgpack(v, ty).unwrap_or_else(|e| panic!("a generated value does not encode: {e}; {v:?}"))
}

// ================================================================ JSON strategies

/// Mostly a JSON encoding of a value of `ty`, with deviations anywhere.
fn guided_json(ty: &Type, dyn_budget: u32, depth: u32) -> BoxedStrategy<Json> {
    let n = if depth < 4 { 4 } else { 2 };
    let on_type: BoxedStrategy<Json> = match ty {
        Type::String => text().prop_map(Json::String).boxed(),
        Type::Bool => any::<bool>().prop_map(Json::Bool).boxed(),
        Type::Number => prop_oneof![
            any::<i64>().prop_map(Json::from),
            any::<u64>().prop_map(Json::from),
            finite_f64().prop_map(|f| serde_json::Number::from_f64(f).map(Json::Number).unwrap_or(Json::Null)),
            prop::sample::select(vec![
                "1e999",
                "-1e999",
                "NaN",
                "inf",
                "-Infinity",
                "0x10",
                " 12 ",
                "-0",
                "1.5",
                "",
                "1e5",
                "١٢",
                "18446744073709551616",
                "123456789012345678901234567890.5",
            ])
            .prop_map(|s| Json::String(s.into())),
            "-?[0-9]{1,30}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{1,4})?".prop_map(Json::String),
        ]
        .boxed(),
        Type::List(et) | Type::Set(et) => prop::collection::vec(guided_json(et, dyn_budget, depth + 1), 0..n).prop_map(Json::Array).boxed(),
        Type::Tuple(ets) => {
            let elems: Vec<_> = ets.iter().map(|t| guided_json(t, dyn_budget, depth + 1)).collect();
            (elems, any::<bool>(), any::<bool>())
                .prop_map(|(mut items, extra, short)| {
                    if extra {
                        items.push(Json::Null);
                    }
                    if short {
                        items.pop();
                    }
                    Json::Array(items)
                })
                .boxed()
        }
        Type::Map(et) => prop::collection::btree_map(attr_name(), guided_json(et, dyn_budget, depth + 1), 0..n)
            .prop_map(|m| Json::Object(m.into_iter().collect()))
            .boxed(),
        Type::Object(attrs) => {
            let fields: Vec<_> = attrs
                .iter()
                .map(|(k, t)| {
                    let k = k.clone();
                    prop::option::weighted(0.8, guided_json(t, dyn_budget, depth + 1)).prop_map(move |v| (k.clone(), v))
                })
                .collect();
            (fields, prop::option::weighted(0.1, (attr_name(), any_json())))
                .prop_map(|(fields, extra)| {
                    let mut m: serde_json::Map<String, Json> = fields.into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
                    if let Some((k, v)) = extra {
                        m.insert(k, v);
                    }
                    Json::Object(m)
                })
                .boxed()
        }
        Type::Dynamic => {
            let good = (if dyn_budget > 0 { arb_type(true) } else { arb_type(false) })
                .prop_flat_map(move |t| (Just(t.to_json()), guided_json(&t, dyn_budget.saturating_sub(1), depth + 1)))
                .prop_map(|(t, v)| serde_json::json!({"type": t, "value": v}));
            let bad = (arb_type_json(), any_json(), any::<u8>()).prop_map(|(t, v, shape)| match shape % 4 {
                0 => serde_json::json!({"type": t, "value": v}),
                1 => serde_json::json!({"type": t}),
                2 => serde_json::json!({"value": v}),
                _ => serde_json::json!([t, v]),
            });
            prop_oneof![6 => good, 2 => bad].boxed()
        }
    };
    prop_oneof![20 => on_type, 1 => Just(Json::Null), 1 => any_json()].boxed()
}

/// Any JSON value, keys biased towards attribute names.
fn any_json() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        finite_f64().prop_map(|f| serde_json::Number::from_f64(f).map(Json::Number).unwrap_or(Json::Null)),
        text().prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::btree_map(attr_name(), inner, 0..4).prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn interesting_json() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        "[",
        "]",
        "{",
        "}",
        "\"",
        "\\",
        ",",
        ":",
        "null",
        "true",
        "-",
        "0",
        "1e999999",
        "-1e999999",
        "18446744073709551616",
        "-9223372036854775809",
        "1.7976931348623157e309",
        "\\u0000",
        "\\ud800",
        "\\udc00\\ud800",
        "\"type\":",
        "\"value\":",
        "{\"type\":\"dynamic\",\"value\":",
        "[\"list\",\"string\"]",
        "NaN",
        "Infinity",
        "\u{feff}",
        " ",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    v.push(vec![0xff]);
    v.push(vec![0xed, 0xa0, 0x80]);
    v.push(vec![b'['; 200]);
    v.push(vec![b'{'; 1]);
    v
}

// ================================================================ targets

#[test]
fn msgpack_arbitrary_bytes() {
    let strategy = per_schema(|_| prop::collection::vec(any::<u8>(), 0..512).prop_map(Bytes).boxed());
    harness::fuzz(TARGETS, "msgpack_arbitrary_bytes", 6000, strategy, |(schema, bytes)| check_msgpack(schema.ty(), &bytes.0));
}

#[test]
fn msgpack_token_soup() {
    let strategy = (any::<Index>(), arb_msgpack_doc().prop_map(Bytes));
    harness::fuzz(TARGETS, "msgpack_token_soup", 1500, strategy, |(i, bytes)| {
        // The same document under every schema: a mismatch can be anywhere.
        let all = schemas();
        check_msgpack(&all[i.index(all.len())].1, &bytes.0)?;
        check_msgpack(&Type::Dynamic, &bytes.0)?;
        check_msgpack(&Type::list(Type::Dynamic), &bytes.0)
    });
}

#[test]
fn msgpack_guided() {
    let strategy = per_schema(|ty| guided(ty, 2, 0).prop_map(Bytes).boxed());
    harness::fuzz(TARGETS, "msgpack_guided", 1500, strategy, |(schema, bytes)| check_msgpack(schema.ty(), &bytes.0));
}

#[test]
fn msgpack_mutated() {
    let interesting = interesting_msgpack();
    let g = Gen::new(true, false);
    let strategy = per_schema(move |ty| {
        (arb_value(ty, g), prop::collection::vec(arb_mutation(), 1..6)).prop_map(move |(v, ms)| (Bytes(msgpack_of(&v, ty)), ms)).boxed()
    });
    harness::fuzz(TARGETS, "msgpack_mutated", 1500, strategy, |(schema, (valid, mutations))| {
        check_msgpack(schema.ty(), &mutate(valid.0, &mutations, &interesting))
    });
}

/// Generated values of generated and real types: decode(encode(v)) is v, refinements
/// included.
#[test]
fn msgpack_round_trip() {
    let g = Gen::new(true, false);
    let strategy = typed_values(g);
    harness::fuzz(TARGETS, "msgpack_round_trip", 1500, strategy, |(_, ty, v)| {
        let bytes = msgpack_of(&v, &ty);
        let back = decode_msgpack(&bytes, &ty).map_err(|e| fail(format!("an encoded value does not decode: {e}")))?;
        prop_assert!(same(&back, &v, Numbers::Exact), "round trip changed the value: {:?} became {:?}", v, back);
        Ok(())
    });
}

#[test]
fn json_arbitrary_bytes() {
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        // Bytes from JSON's alphabet get further into the parser.
        prop::collection::vec(prop::sample::select(b"[]{}\",:0123456789-+.eEtruefalsn \\u\"abc".to_vec()), 0..256),
    ];
    let strategy = per_schema(move |_| bytes.clone().prop_map(Bytes).boxed());
    harness::fuzz(TARGETS, "json_arbitrary_bytes", 6000, strategy, |(schema, bytes)| check_json_bytes(schema.ty(), &bytes.0));
}

#[test]
fn json_guided() {
    let strategy = per_schema(|ty| guided_json(ty, 2, 0));
    harness::fuzz(TARGETS, "json_guided", 1500, strategy, |(schema, j)| check_json_value(schema.ty(), &j));
}

#[test]
fn json_mutated_text() {
    let interesting = interesting_json();
    let g = Gen::new(false, true);
    let strategy = per_schema(move |ty| {
        (arb_value(ty, g), prop::collection::vec(arb_mutation(), 1..5))
            .prop_map(move |(v, ms)| {
                let j = encode_json(&v, ty).unwrap_or_else(|e| panic!("a generated value does not encode as JSON: {e}; {v:?}"));
                (Bytes(serde_json::to_vec(&j).unwrap_or_default()), ms)
            })
            .boxed()
    });
    harness::fuzz(TARGETS, "json_mutated_text", 1500, strategy, |(schema, (valid, mutations))| {
        check_json_bytes(schema.ty(), &mutate(valid.0, &mutations, &interesting))
    });
}

#[test]
fn json_round_trip() {
    let g = Gen::new(false, true);
    let strategy = typed_values(g);
    harness::fuzz(TARGETS, "json_round_trip", 1500, strategy, |(_, ty, v)| {
        let j = encode_json(&v, &ty).map_err(|e| fail(format!("a JSON-safe value does not encode: {e}")))?;
        let back = decode_json(&j, &ty).map_err(|e| fail(format!("encode_json output does not decode: {e}; {j}")))?;
        prop_assert!(same(&back, &v, Numbers::Exact), "JSON round trip changed the value: {:?} became {:?}", v, back);
        let text = serde_json::to_vec(&j).map_err(|e| fail(e.to_string()))?;
        let back = decode_json_bytes(&text, &ty).map_err(|e| fail(format!("JSON text does not decode: {e}")))?;
        prop_assert!(same(&back, &v, Numbers::JsonText), "JSON text round trip changed the value: {:?} became {:?}", v, back);
        Ok(())
    });
}

/// What nests: lists, objects, maps, tuples, dynamic (whose type nests on its own).
#[derive(Clone, Copy, Debug)]
enum Nest {
    List,
    Object,
    Map,
    Tuple,
    Dynamic,
}

fn nest_type(kinds: &[Nest]) -> Type {
    kinds.iter().rev().fold(Type::String, |t, k| match k {
        Nest::List => Type::list(t),
        Nest::Object => Type::object([("x", t)]),
        Nest::Map => Type::map(t),
        Nest::Tuple => Type::Tuple(vec![t]),
        Nest::Dynamic => Type::Dynamic,
    })
}

/// A value nesting `kinds` (outermost first), with a string at the bottom; `dynamic`
/// levels carry the type of what is below them.
fn nest_value(kinds: &[Nest]) -> Value {
    let mut v = Value::string("bottom");
    for (i, k) in kinds.iter().enumerate().rev() {
        v = match k {
            Nest::List => Value::List(vec![v]),
            Nest::Object => Value::Object(BTreeMap::from([("x".to_string(), v)])),
            Nest::Map => Value::Map(BTreeMap::from([("k".to_string(), v)])),
            Nest::Tuple => Value::Tuple(vec![v]),
            Nest::Dynamic => Value::Dynamic(nest_type(&kinds[i + 1..]), Box::new(v)),
        };
    }
    v
}

/// The msgpack of [`nest_value`], built by hand (the encoders are recursive and meant
/// for values the decoders accept, not for thousands of levels).
fn nest_msgpack(kinds: &[Nest]) -> Vec<u8> {
    let mut v = vec![0xa6];
    v.extend(b"bottom");
    for (i, k) in kinds.iter().enumerate().rev() {
        let mut out = match k {
            Nest::List | Nest::Tuple => vec![0x91],
            Nest::Object => vec![0x81, 0xa1, b'x'],
            Nest::Map => vec![0x81, 0xa1, b'k'],
            Nest::Dynamic => {
                let tj = nest_type_json(&kinds[i + 1..]).into_bytes();
                let mut out = vec![0x92];
                bin_bytes(&mut out, &tj, tj.len() as u64, 1);
                out
            }
        };
        out.extend(v);
        v = out;
    }
    v
}

/// The JSON text of a nested type, built by hand.
fn nest_type_json(kinds: &[Nest]) -> String {
    kinds.iter().rev().fold("\"string\"".to_string(), |t, k| match k {
        Nest::List => format!("[\"list\",{t}]"),
        Nest::Object => format!("[\"object\",{{\"x\":{t}}}]"),
        Nest::Map => format!("[\"map\",{t}]"),
        Nest::Tuple => format!("[\"tuple\",[{t}]]"),
        Nest::Dynamic => "\"dynamic\"".to_string(),
    })
}

/// The JSON of [`nest_value`], in memory and as text, built by hand.
fn nest_json(kinds: &[Nest]) -> (Json, String) {
    let mut j = Json::String("bottom".into());
    let mut text = "\"bottom\"".to_string();
    for (i, k) in kinds.iter().enumerate().rev() {
        (j, text) = match k {
            Nest::List | Nest::Tuple => (Json::Array(vec![j]), format!("[{text}]")),
            Nest::Object => (obj_json([("x", j)]), format!("{{\"x\":{text}}}")),
            Nest::Map => (obj_json([("k", j)]), format!("{{\"k\":{text}}}")),
            Nest::Dynamic => {
                let tj = nest_type_json(&kinds[i + 1..]);
                // serde_json refuses to parse more than 128 levels: build the type in memory.
                let t = nest_type(&kinds[i + 1..]);
                (obj_json([("type", type_json_iterative(&t)), ("value", j)]), format!("{{\"type\":{tj},\"value\":{text}}}"))
            }
        };
    }
    (j, text)
}

/// `Type::to_json` without recursion on the Rust stack deeper than the type's attributes
/// (lists of lists only, which is what deep types here are made of).
fn type_json_iterative(t: &Type) -> Json {
    let mut chain = Vec::new();
    let mut cur = t;
    loop {
        match cur {
            Type::List(inner) => {
                chain.push("list");
                cur = inner;
            }
            Type::Map(inner) => {
                chain.push("map");
                cur = inner;
            }
            Type::Set(inner) => {
                chain.push("set");
                cur = inner;
            }
            _ => break,
        }
    }
    let leaf = if chain.len() < 100 { cur.to_json() } else { Json::String("string".into()) };
    chain.iter().rev().fold(leaf, |j, k| Json::Array(vec![Json::String(k.to_string()), j]))
}

/// Nesting from shallow to far beyond the decoders' limits (128): decoding either works
/// or is an `Err`; it never overflows the stack.
#[test]
fn deep_nesting() {
    let kinds =
        prop_oneof![4 => Just(Nest::List), 2 => Just(Nest::Object), 1 => Just(Nest::Map), 1 => Just(Nest::Tuple), 1 => Just(Nest::Dynamic)];
    let strategy = (prop::collection::vec(kinds, 1..400), any::<Index>());
    harness::fuzz(TARGETS, "deep_nesting", 150, strategy, |(kinds, cut)| {
        let ty = nest_type(&kinds);
        let bytes = nest_msgpack(&kinds);
        let (j, text) = nest_json(&kinds);
        if kinds.len() < 100 {
            // Shallow enough for everything: the hand-made encodings are the encoders' own,
            // and decode to the value.
            let v = nest_value(&kinds);
            prop_assert_eq!(Bytes(msgpack_of(&v, &ty)).0, bytes.clone());
            let back = decode_msgpack(&bytes, &ty).map_err(|e| fail(format!("a {}-level value does not decode: {e}", kinds.len())))?;
            prop_assert!(same(&back, &v, Numbers::Exact));
            let back = decode_json(&j, &ty).map_err(|e| fail(format!("a {}-level JSON value does not decode: {e}", kinds.len())))?;
            prop_assert!(same(&back, &v, Numbers::Exact));
        }
        check_msgpack(&ty, &bytes)?;
        check_msgpack(&ty, &bytes[..cut.index(bytes.len() + 1)])?;
        check_msgpack(&Type::Dynamic, &bytes)?;
        let arrays = vec![0x91u8; kinds.len() * 2];
        check_msgpack(&ty, &arrays)?;
        check_msgpack(&nested(kinds.len(), Type::String, Type::list), &arrays)?;
        // JSON in memory (no parser depth limit) and as text (serde_json's own limit).
        check_json_value(&ty, &j)?;
        check_json_bytes(&ty, text.as_bytes())?;
        check_json_bytes(&ty, &text.as_bytes()[..cut.index(text.len() + 1)])?;
        // A type nested far too deep, in memory, under dynamic.
        let deep_type = (0..kinds.len() * 2).fold(Json::String("string".into()), |t, _| Json::Array(vec![Json::String("list".into()), t]));
        let _ = decode_json(&obj_json([("type", deep_type), ("value", Json::Null)]), &Type::Dynamic);
        Ok(())
    });
}

/// A JSON object from its members, without `json!` (which serializes its arguments again,
/// recursively: too deep for the nesting built here).
fn obj_json<const N: usize>(members: [(&str, Json); N]) -> Json {
    Json::Object(members.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn deep_type_json(depth: usize) -> Json {
    (0..depth).fold(Json::String("string".into()), |t, _| Json::Array(vec![Json::String("list".into()), t]))
}

#[test]
fn number_and_type_parsers() {
    let numeric = prop_oneof![
        "(?s).{0,40}",
        "[-+ ]?[0-9.eE+\\-]{0,40}[ ]?",
        "-?[0-9]{1,400}(\\.[0-9]{0,400})?([eE][-+]?[0-9]{1,6})?",
        prop::sample::select(vec![
            "inf",
            "-inf",
            "+infinity",
            "NaN",
            "-nan",
            "1e-400",
            "-0",
            "0e0",
            "9223372036854775808",
            "-9223372036854775809"
        ])
        .prop_map(str::to_string),
    ];
    let type_bytes = prop_oneof![arb_type_json_bytes(), prop::collection::vec(any::<u8>(), 0..64)];
    harness::fuzz(TARGETS, "number_and_type_parsers", 6000, (numeric, type_bytes.prop_map(Bytes)), |(s, tb)| {
        if let Some(n) = Number::parse(&s) {
            // Whatever parses is a number: it has an f64 value and a text form.
            let f = n.as_f64().ok_or_else(|| fail(format!("Number::parse({s:?}) = {n:?} has no f64 value")))?;
            let _ = (n.as_i64(), n.to_string(), f);
            check_decoded(&Value::Number(n), &Type::Number)?;
        }
        if let Ok(t) = Type::from_json_bytes(&tb.0) {
            // A parsed type prints back to JSON that parses to the same type.
            let again = Type::from_json_bytes(&t.to_json_bytes()).map_err(|e| fail(format!("{t:?} does not re-parse: {e}")))?;
            prop_assert_eq!(&again, &t);
            let _ = t.friendly();
        }
        Ok(())
    });
}

// ================================================================ plain tests and regressions

/// A length prefix that claims 2^32 - 1 elements (or bytes) is refused, and nothing near
/// that size is allocated.
#[test]
fn huge_length_prefixes_are_refused_without_allocating() {
    let obj = Type::object([("a", Type::String)]);
    let cases: Vec<(&str, Type, Vec<u8>)> = vec![
        ("array32", Type::list(Type::String), vec![0xdd, 0xff, 0xff, 0xff, 0xff]),
        ("array32 of objects", Type::list(obj.clone()), vec![0xdd, 0xff, 0xff, 0xff, 0xff, 0x80]),
        ("set array32", Type::set(Type::Number), vec![0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]),
        ("map32", Type::map(Type::String), vec![0xdf, 0xff, 0xff, 0xff, 0xff]),
        ("object map32", obj.clone(), vec![0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, b'a', 0xc0]),
        ("str32", Type::String, vec![0xdb, 0xff, 0xff, 0xff, 0xff, b'a']),
        ("bin32 dynamic type", Type::Dynamic, vec![0x92, 0xc6, 0xff, 0xff, 0xff, 0xff]),
        ("ext32", Type::String, vec![0xc9, 0xff, 0xff, 0xff, 0xff, 0x0c, 0x80]),
        ("refinements map32", Type::String, vec![0xc7, 0x05, 0x0c, 0xdf, 0xff, 0xff, 0xff, 0xff]),
        ("tuple array32", Type::Tuple(vec![Type::String]), vec![0xdd, 0xff, 0xff, 0xff, 0xff]),
        ("nested array32", Type::list(Type::list(Type::list(Type::String))), [0xdd, 0xff, 0xff, 0xff, 0xff].repeat(3)),
    ];
    for (what, ty, bytes) in cases {
        let (r, peak) = harness::peak_alloc(|| decode_msgpack(&bytes, &ty));
        assert!(r.is_err(), "{what}: {r:?}");
        assert!(peak < 64 * 1024, "{what}: a decode of {} bytes allocated {peak} bytes", bytes.len());
    }
}

/// Nested length prefixes that each claim 2^32 elements: what one decode allocates stays
/// proportional to its input, not to the claims. (Before the fix each level reserved
/// 4096 elements up front: ~75 MiB for 640 bytes of input at the depth limit.)
#[test]
fn nested_huge_length_prefixes_allocate_in_proportion_to_the_input() {
    let ty = nested(127, Type::String, Type::list);
    let bytes = [0xdd, 0xff, 0xff, 0xff, 0xff].repeat(127);
    let (r, peak) = harness::peak_alloc(|| decode_msgpack(&bytes, &ty));
    assert!(r.is_err());
    assert!(peak < 2 << 20, "decoding {} bytes allocated {peak} bytes", bytes.len());
    let dynamic = {
        let tj = deep_type_json(126).to_string().into_bytes();
        let mut out = vec![0x92];
        bin_bytes(&mut out, &tj, tj.len() as u64, 1);
        out.extend([0xdd, 0xff, 0xff, 0xff, 0xff].repeat(126));
        out
    };
    let (r, peak) = harness::peak_alloc(|| decode_msgpack(&dynamic, &Type::Dynamic));
    assert!(r.is_err());
    assert!(peak < 2 << 20, "decoding {} bytes under dynamic allocated {peak} bytes", dynamic.len());
}

#[test]
fn decoded_specials_keep_their_meaning() {
    // NaN and infinities decode (cty has no NaN, but a decoder must not panic on it).
    let nan = [0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0];
    assert!(matches!(decode_msgpack(&nan, &Type::Number), Ok(Value::Number(Number::Float(f))) if f.is_nan()));
    // u64::MAX is kept exactly.
    let max = [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    assert_eq!(decode_msgpack(&max, &Type::Number).ok(), Some(Value::Number(Number::Big(u64::MAX.to_string()))));
    // Invalid UTF-8 is an error, in strings, map keys and refinement prefixes.
    assert!(decode_msgpack(&[0xa2, 0xff, 0xfe], &Type::String).is_err());
    assert!(decode_msgpack(&[0x81, 0xa1, 0xff, 0xc0], &Type::map(Type::String)).is_err());
    assert!(decode_msgpack(&[0xc7, 0x04, 0x0c, 0x81, 0x02, 0xa1, 0xff], &Type::String).is_err());
    // Duplicate keys: the last one wins.
    let dup = [0x82, 0xa1, b'a', 0xa1, b'x', 0xa1, b'a', 0xa1, b'y'];
    assert_eq!(decode_msgpack(&dup, &Type::map(Type::String)).ok(), Some(Value::Map(BTreeMap::from([("a".into(), Value::string("y"))]))));
    // "1e999" is a number too big for f64: kept as text; JSON cannot carry it.
    let big = [0xa5, b'1', b'e', b'9', b'9', b'9'];
    let v = decode_msgpack(&big, &Type::Number).expect("decimal text");
    assert_eq!(v, Value::Number(Number::Big("1e999".into())));
    assert!(encode_json(&v, &Type::Number).is_err());
}

/// Found by `msgpack_guided` (a float that went msgpack -> value -> JSON text -> value).
/// serde_json, built without its `float_roundtrip` feature, parses some decimal texts to
/// the f64 one unit in the last place away from the right one, so a number in a stored
/// state (`RawState.json`) can read back different from what was written: Terraform then
/// sees a changed value. Fix: `serde_json = { version = "1", features = ["float_roundtrip"] }`
/// in Cargo.toml (about 2x the cost of parsing floats, which state has few of).
#[test]
fn json_text_floats_parse_exactly() {
    let mut wrong = Vec::new();
    for f in [1.187023694898408e178f64, 9.658954629511437e89, 2.2250738585072014e-308, 9007199254740993.0, 0.1, 1.7976931348623157e308] {
        let text = serde_json::to_string(&f).expect("text");
        match decode_json_bytes(text.as_bytes(), &Type::Number) {
            Ok(Value::Number(Number::Float(x))) if x == f => {}
            Ok(Value::Number(Number::Float(x))) => {
                wrong.push(format!("{text} read back as {x:?}, {} ULP off", x.to_bits().abs_diff(f.to_bits())))
            }
            other => wrong.push(format!("{text} read back as {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Found by `deep_nesting`: the JSON decoder accepted one level more than the msgpack
/// decoder (129 against 128), so a value decoded from JSON (a stored state) could fail to
/// decode once encoded as msgpack. Both now stop at 128 levels.
#[test]
fn json_and_msgpack_accept_the_same_depth() {
    for containers in [126, 127, 128, 129] {
        let ty = nested(containers, Type::String, Type::list);
        let j = (0..containers).fold(Json::String("x".into()), |j, _| Json::Array(vec![j]));
        let v = (0..containers).fold(Value::string("x"), |v, _| Value::List(vec![v]));
        let from_json = decode_json(&j, &ty);
        let from_msgpack = decode_msgpack(&msgpack_of(&v, &ty), &ty);
        assert_eq!(from_json.is_ok(), from_msgpack.is_ok(), "{containers} nested lists: {from_json:?} vs {from_msgpack:?}");
        assert_eq!(from_json.is_ok(), containers < 128, "{containers} nested lists");
    }
}

/// Found by `deep_nesting`: `Type::from_json` recursed without a limit, so a dynamic
/// value whose type JSON was built in memory thousands of levels deep (no parser limit
/// applies to a `serde_json::Value` passed to `decode_json`) overflowed the stack and
/// aborted the process. Types deeper than 128 levels are now refused.
#[test]
fn deep_type_specifications_are_refused_not_a_stack_overflow() {
    let deep = deep_type_json(2_000);
    assert!(Type::from_json(&deep).is_err());
    let r = decode_json(&obj_json([("type", deep), ("value", Json::Null)]), &Type::Dynamic);
    assert!(r.is_err(), "{r:?}");
    // 128 levels are fine.
    let t = Type::from_json(&deep_type_json(127)).expect("127 nested lists");
    assert_eq!(t, nested(127, Type::String, Type::list));
}

/// Found by `msgpack_round_trip`: Terraform sends a number that no i64 or f64 holds
/// exactly as a msgpack string of its digits; `Number::parse` took
/// "13122606323402525000" for an exact f64 (the f64 prints with those digits, but its
/// value is 13122606323402524672), so the provider answered with another number than it
/// was given. Integers too wide for an i64 now keep their digits; an f64 is used only when
/// it is that very integer.
#[test]
fn wide_integers_keep_their_digits() {
    for (text, want) in [
        ("13122606323402525000", Number::Big("13122606323402525000".into())),
        ("12345678901234567000", Number::Big("12345678901234567000".into())),
        ("+18446744073709551615", Number::Big("18446744073709551615".into())),
        ("123456789012345680000000000000", Number::Big("123456789012345680000000000000".into())),
        ("-9223372036854775809", Number::Big("-9223372036854775809".into())),
        ("100000000000000000000", Number::Float(1e20)),
        ("-9223372036854775808", Number::Int(i64::MIN)),
    ] {
        let mut bytes = Vec::new();
        rmp::encode::write_str(&mut bytes, text).expect("msgpack");
        let v = decode_msgpack(&bytes, &Type::Number).expect(text);
        match (&v, &want) {
            (Value::Number(Number::Big(a)), Number::Big(b)) => assert_eq!(a, b, "{text}"),
            (Value::Number(Number::Float(a)), Number::Float(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{text}"),
            (Value::Number(Number::Int(a)), Number::Int(b)) => assert_eq!(a, b, "{text}"),
            _ => panic!("{text} decoded as {v:?}, want {want:?}"),
        }
        // What goes back to Terraform is the same number.
        let back = decode_msgpack(&encode_msgpack(&v, &Type::Number).expect("encodes"), &Type::Number).expect("decodes");
        assert!(same(&back, &v, Numbers::Exact), "{text}: {v:?} became {back:?}");
    }
}
