//! Codec tests: round trips for every type, unknowns inside collections, null vs empty,
//! refined unknowns, and malformed input.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

fn all_types() -> Type {
    Type::object([
        ("s", Type::String),
        ("n", Type::Number),
        ("b", Type::Bool),
        ("d", Type::Dynamic),
        ("l", Type::list(Type::String)),
        ("set", Type::set(Type::Number)),
        ("m", Type::map(Type::Bool)),
        ("o", Type::object([("x", Type::String), ("y", Type::list(Type::Number))])),
        ("t", Type::Tuple(vec![Type::String, Type::Number])),
    ])
}

fn sample() -> Value {
    obj(&[
        ("s", Value::string("hé")),
        ("n", Value::Number(Number::Float(1.5))),
        ("b", Value::Bool(true)),
        ("d", Value::Dynamic(Type::list(Type::String), Box::new(Value::List(vec![Value::string("a")])))),
        ("l", Value::List(vec![Value::string("a"), Value::unknown(), Value::Null])),
        ("set", Value::Set(vec![Value::int(1), Value::int(-70000)])),
        ("m", Value::Map(BTreeMap::from([("k".into(), Value::Bool(false)), ("u".into(), Value::unknown())]))),
        ("o", obj(&[("x", Value::Null), ("y", Value::List(vec![]))])),
        ("t", Value::Tuple(vec![Value::string("x"), Value::Number(Number::Big("123456789012345678901234567890".into()))])),
    ])
}

#[test]
fn msgpack_round_trip_all_types() {
    let ty = all_types();
    let v = sample();
    let bytes = encode_msgpack(&v, &ty).unwrap();
    let back = decode_msgpack(&bytes, &ty).unwrap();
    assert_eq!(back, v);
    // Unknowns stay unknown inside collections.
    assert!(back.get("l").elements().unwrap()[1].is_unknown());
    assert!(back.get("m").get("u").is_unknown());
}

#[test]
fn json_round_trip_known_values() {
    let ty = all_types();
    let mut v = sample();
    v.set("l", Value::List(vec![Value::string("a"), Value::Null]));
    v.set("m", Value::Map(BTreeMap::from([("k".into(), Value::Bool(false))])));
    v.set("t", Value::Tuple(vec![Value::string("x"), Value::int(3)]));
    let j = encode_json(&v, &ty).unwrap();
    assert_eq!(decode_json(&j, &ty).unwrap(), v);
    assert_eq!(j["d"], serde_json::json!({"value": ["a"], "type": ["list", "string"]}));
}

#[test]
fn null_and_empty_are_different() {
    let ty = Type::list(Type::String);
    let empty = encode_msgpack(&Value::List(vec![]), &ty).unwrap();
    let null = encode_msgpack(&Value::Null, &ty).unwrap();
    assert_eq!(empty, vec![0x90]);
    assert_eq!(null, vec![0xc0]);
    assert_eq!(decode_msgpack(&empty, &ty).unwrap(), Value::List(vec![]));
    assert_eq!(decode_msgpack(&null, &ty).unwrap(), Value::Null);
    assert_eq!(decode_msgpack(&[], &ty).unwrap(), Value::Null);
    assert_ne!(Value::List(vec![]), Value::Null);
}

#[test]
fn objects_always_carry_every_attribute() {
    let ty = Type::object([("a", Type::String), ("b", Type::String)]);
    let v = obj(&[("a", Value::string("x"))]);
    let bytes = encode_msgpack(&v, &ty).unwrap();
    assert_eq!(bytes[0], 0x82, "fixmap of 2");
    let back = decode_msgpack(&bytes, &ty).unwrap();
    assert_eq!(back.get("b"), &Value::Null);
}

#[test]
fn plain_unknown_is_cty_fixext() {
    assert_eq!(encode_msgpack(&Value::unknown(), &Type::String).unwrap(), vec![0xd4, 0, 0]);
    // Any extension with a body of <= 1 byte is unknown, whatever its type.
    assert!(decode_msgpack(&[0xd4, 5, 0], &Type::String).unwrap().is_unknown());
    assert!(decode_msgpack(&[0xc7, 0, 3], &Type::String).unwrap().is_unknown());
}

#[test]
fn refined_unknown_round_trip() {
    let r = Refinements {
        not_null: true,
        string_prefix: Some("https://".into()),
        number_lower: Some((Number::Int(1), true)),
        number_upper: Some((Number::Float(2.5), false)),
        length_min: Some(1),
        length_max: Some(9),
    };
    let bytes = encode_msgpack(&Value::Unknown(r.clone()), &Type::String).unwrap();
    match decode_msgpack(&bytes, &Type::String).unwrap() {
        Value::Unknown(back) => assert_eq!(back, r),
        other => panic!("expected unknown, got {other:?}"),
    }
}

#[test]
fn refinement_unknown_keys_are_ignored() {
    // ext8, len 7, type 12: {1: false, 99: [1, 2]}
    let body = [0x82, 0x01, 0xc2, 0x63, 0x92, 0x01, 0x02];
    let mut bytes = vec![0xc7, body.len() as u8, 12];
    bytes.extend_from_slice(&body);
    match decode_msgpack(&bytes, &Type::String).unwrap() {
        Value::Unknown(r) => assert!(r.not_null),
        other => panic!("expected unknown, got {other:?}"),
    }
}

#[test]
fn long_extension_of_other_type_is_an_error() {
    assert!(decode_msgpack(&[0xd5, 3, 1, 2], &Type::String).is_err());
}

#[test]
fn numbers_in_every_msgpack_form() {
    let cases: Vec<(Vec<u8>, Number)> = vec![
        (vec![0x05], Number::Int(5)),
        (vec![0xff], Number::Int(-1)),
        (vec![0xcc, 200], Number::Int(200)),
        (vec![0xd0, 0x80], Number::Int(-128)),
        (vec![0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], Number::Big(u64::MAX.to_string())),
        (vec![0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0], Number::Float(1.5)),
        (vec![0xa3, b'1', b'.', b'5'], Number::Float(1.5)),
    ];
    for (bytes, want) in cases {
        assert_eq!(decode_msgpack(&bytes, &Type::Number).unwrap(), Value::Number(want), "{bytes:?}");
    }
}

#[test]
fn malformed_msgpack_is_an_error_not_a_panic() {
    let ty = all_types();
    let inputs: Vec<Vec<u8>> = vec![
        vec![0x81],                                                 // map with a missing entry
        vec![0xdd, 0xff, 0xff, 0xff, 0xff],                         // huge array, no elements
        vec![0x81, 0xa1, b'z', 0xc0],                               // unsupported attribute
        vec![0x81, 0x01, 0xc0],                                     // non-string key
        vec![0xc1],                                                 // reserved marker
        vec![0x81, 0xa1, b's', 0x05],                               // number where a string is expected
        vec![0xc0, 0xc0],                                           // trailing bytes
        vec![0x81, 0xa1, b'd', 0x92, 0xc4, 0x02, b'{', b'}', 0xc0], // bad dynamic type
    ];
    for b in inputs {
        assert!(decode_msgpack(&b, &ty).is_err(), "{b:?} should fail");
    }
    // Deep nesting is refused, not a stack overflow.
    let mut deep = vec![0x91; 100_000];
    deep.push(0xc0);
    let mut t = Type::String;
    for _ in 0..200 {
        t = Type::list(t);
    }
    assert!(decode_msgpack(&deep, &t).is_err());
}

#[test]
fn set_equality_ignores_order() {
    let a = Value::Set(vec![Value::string("a"), Value::string("b")]);
    let b = Value::Set(vec![Value::string("b"), Value::string("a")]);
    assert_eq!(a, b);
}

#[test]
fn type_json_round_trip() {
    let ty = all_types();
    assert_eq!(Type::from_json(&ty.to_json()).unwrap(), ty);
    let with_optional: serde_json::Value = serde_json::json!(["object", {"a": "string"}, ["a"]]);
    assert_eq!(Type::from_json(&with_optional).unwrap(), Type::object([("a", Type::String)]));
}

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![Just(Value::Null), Just(Value::unknown()), any::<String>().prop_map(Value::String),]
}

fn arb_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(Value::unknown()),
        any::<i64>().prop_map(Value::int),
        (-1e300f64..1e300).prop_map(|f| Value::Number(Number::Float(f))),
    ]
}

proptest! {
    #[test]
    fn prop_list_of_strings_round_trips(items in proptest::collection::vec(arb_leaf(), 0..8)) {
        let ty = Type::list(Type::String);
        let v = Value::List(items);
        let back = decode_msgpack(&encode_msgpack(&v, &ty).unwrap(), &ty).unwrap();
        prop_assert_eq!(back, v);
    }

    #[test]
    fn prop_map_of_numbers_round_trips(items in proptest::collection::btree_map("[a-z]{0,6}", arb_number(), 0..8)) {
        let ty = Type::map(Type::Number);
        let v = Value::Map(items);
        let back = decode_msgpack(&encode_msgpack(&v, &ty).unwrap(), &ty).unwrap();
        prop_assert_eq!(back, v);
    }

    #[test]
    fn prop_object_round_trips_msgpack_and_json(s in any::<String>(), n in any::<i64>(), b in any::<bool>(),
                                                 tags in proptest::collection::vec("[a-z]{1,4}", 0..5)) {
        let ty = Type::object([("s", Type::String), ("n", Type::Number), ("b", Type::Bool), ("tags", Type::set(Type::String))]);
        let v = obj(&[("s", Value::String(s)), ("n", Value::int(n)), ("b", Value::Bool(b)),
                      ("tags", Value::Set(tags.into_iter().map(Value::String).collect()))]);
        prop_assert_eq!(decode_msgpack(&encode_msgpack(&v, &ty).unwrap(), &ty).unwrap(), v.clone());
        prop_assert_eq!(decode_json(&encode_json(&v, &ty).unwrap(), &ty).unwrap(), v);
    }

    #[test]
    fn prop_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_msgpack(&bytes, &all_types());
        let _ = decode_msgpack(&bytes, &Type::Dynamic);
    }
}
