//! Table tests of the plan engine.

use super::*;
use crate::tfplugin::plan_modifier::PlanModifier;
use crate::tfplugin::schema::{Attribute, Schema};
use crate::tfplugin::value::Value;

fn schema() -> Schema {
    Schema::new(
        "test",
        vec![
            Attribute::string("id").computed().use_state_for_unknown(),
            Attribute::string("name").required().requires_replace(),
            Attribute::string("label").optional().computed().requires_replace(),
            Attribute::string("note").optional(),
            Attribute::string("etag").computed(),
            Attribute::bool("active").default_value(true),
            Attribute::string("secret_wo").optional().write_only(),
            Attribute::object(
                "inner",
                vec![Attribute::string("a").optional(), Attribute::string("b").computed(), Attribute::string("w").optional().write_only()],
            )
            .optional(),
        ],
    )
}

fn obj(pairs: &[(&str, Value)]) -> Value {
    let mut m = std::collections::BTreeMap::new();
    for n in ["id", "name", "label", "note", "etag", "active", "secret_wo", "inner"] {
        m.insert(n.to_string(), Value::Null);
    }
    for (k, v) in pairs {
        m.insert(k.to_string(), v.clone());
    }
    Value::Object(m)
}

fn inner(a: Value, b: Value, w: Value) -> Value {
    Value::object_of(&[("a", a), ("b", b), ("w", w)])
}

#[test]
fn create_marks_computed_unknown_applies_defaults_and_nulls_write_only() {
    let config = obj(&[("name", "x".into()), ("secret_wo", "s".into()), ("inner", inner("a".into(), Value::Null, "w".into()))]);
    let out = plan_resource(&schema(), &Value::Null, &config, &config);
    let p = &out.planned;
    assert!(p.get("id").is_unknown());
    assert!(p.get("etag").is_unknown());
    assert!(p.get("label").is_unknown());
    assert_eq!(p.get("active"), &Value::Bool(true));
    assert_eq!(p.get("secret_wo"), &Value::Null);
    assert_eq!(p.get("note"), &Value::Null);
    assert_eq!(p.get("inner").get("w"), &Value::Null);
    assert!(p.get("inner").get("b").is_unknown());
    assert!(out.requires_replace.is_empty(), "no replace on create");
}

fn prior() -> Value {
    obj(&[
        ("id", "1".into()),
        ("name", "x".into()),
        ("label", "L".into()),
        ("etag", "e1".into()),
        ("active", true.into()),
        ("inner", inner("a".into(), "b1".into(), Value::Null)),
    ])
}

/// Terraform's proposed new state: config values, with prior values for computed
/// attributes the config leaves null.
fn proposed(config: &Value) -> Value {
    let mut p = config.clone();
    let pr = prior();
    for n in ["id", "label", "etag", "active"] {
        if config.get(n).is_null() {
            p.set(n, pr.get(n).clone());
        }
    }
    if let Some(i) = p.get_mut("inner")
        && i.get("b").is_null()
    {
        i.set("b", pr.get("inner").get("b").clone());
    }
    p
}

#[test]
fn no_change_keeps_every_computed_value_known() {
    let config = obj(&[("name", "x".into()), ("secret_wo", "changed".into()), ("inner", inner("a".into(), Value::Null, "w2".into()))]);
    let out = plan_resource(&schema(), &prior(), &proposed(&config), &config);
    assert_eq!(out.planned, prior(), "a write-only change alone is no change");
    assert!(out.requires_replace.is_empty());
}

#[test]
fn update_marks_computed_unknown_except_use_state_for_unknown() {
    let config = obj(&[("name", "x".into()), ("note", "n".into()), ("inner", inner("a".into(), Value::Null, Value::Null))]);
    let out = plan_resource(&schema(), &prior(), &proposed(&config), &config);
    let p = &out.planned;
    assert_eq!(p.get("id"), &Value::string("1"));
    assert!(p.get("etag").is_unknown());
    assert!(p.get("label").is_unknown());
    assert!(p.get("inner").get("b").is_unknown());
    assert_eq!(p.get("note"), &Value::string("n"));
    assert!(out.requires_replace.is_empty(), "computed attrs left null never force replacement: {:?}", out.requires_replace);
}

#[test]
fn requires_replace_on_changed_attribute_only() {
    let config = obj(&[("name", "y".into()), ("inner", inner("a".into(), Value::Null, Value::Null))]);
    let out = plan_resource(&schema(), &prior(), &proposed(&config), &config);
    assert_eq!(out.requires_replace, vec![AttrPath::attrs(&["name"])]);

    let config = obj(&[("name", "x".into()), ("label", "M".into()), ("inner", inner("a".into(), Value::Null, Value::Null))]);
    let out = plan_resource(&schema(), &prior(), &proposed(&config), &config);
    assert_eq!(out.requires_replace, vec![AttrPath::attrs(&["label"])]);
}

#[test]
fn unknown_config_value_forces_replacement() {
    let config = obj(&[("name", Value::unknown()), ("inner", inner("a".into(), Value::Null, Value::Null))]);
    let out = plan_resource(&schema(), &prior(), &proposed(&config), &config);
    assert_eq!(out.requires_replace, vec![AttrPath::attrs(&["name"])]);
}

#[test]
fn destroy_plans_null() {
    let out = plan_resource(&schema(), &prior(), &Value::Null, &Value::Null);
    assert_eq!(out.planned, Value::Null);
}

#[test]
fn null_write_only_reaches_nested_attributes() {
    let mut v = obj(&[("secret_wo", "s".into()), ("inner", inner("a".into(), Value::Null, "w".into()))]);
    null_write_only(&schema().block, &mut v);
    assert_eq!(v.get("secret_wo"), &Value::Null);
    assert_eq!(v.get("inner").get("w"), &Value::Null);
    assert_eq!(v.get("inner").get("a"), &Value::string("a"));
}

#[test]
fn use_state_unless_changed_follows_its_inputs() {
    let schema = Schema::new(
        "t",
        vec![
            Attribute::string("url").optional(),
            Attribute::string("note").optional(),
            Attribute::string("cert").computed().modifier(PlanModifier::UseStateUnlessChanged(&["url"])),
        ],
    );
    let prior = Value::object_of(&[("url", "a".into()), ("note", "x".into()), ("cert", "C".into())]);
    // Another attribute changes: the derived value is kept.
    let config = Value::object_of(&[("url", "a".into()), ("note", "y".into()), ("cert", Value::Null)]);
    let proposed = Value::object_of(&[("url", "a".into()), ("note", "y".into()), ("cert", "C".into())]);
    assert_eq!(plan_resource(&schema, &prior, &proposed, &config).planned.get("cert"), &Value::string("C"));
    // Its input changes: unknown.
    let config = Value::object_of(&[("url", "b".into()), ("note", "x".into()), ("cert", Value::Null)]);
    let proposed = Value::object_of(&[("url", "b".into()), ("note", "x".into()), ("cert", "C".into())]);
    assert!(plan_resource(&schema, &prior, &proposed, &config).planned.get("cert").is_unknown());
}

#[test]
fn case_insensitive_values_keep_the_prior_spelling() {
    let schema = Schema::new(
        "t",
        vec![Attribute::string("email").required().modifier(PlanModifier::CaseInsensitive), Attribute::string("etag").computed()],
    );
    let prior = Value::object_of(&[("email", "jane@example.com".into()), ("etag", "e1".into())]);
    let config = Value::object_of(&[("email", "Jane@Example.com".into()), ("etag", Value::Null)]);
    let proposed = Value::object_of(&[("email", "Jane@Example.com".into()), ("etag", "e1".into())]);
    let out = plan_resource(&schema, &prior, &proposed, &config);
    assert_eq!(out.planned, prior, "no change");
    let config = Value::object_of(&[("email", "john@example.com".into()), ("etag", Value::Null)]);
    let proposed = Value::object_of(&[("email", "john@example.com".into()), ("etag", "e1".into())]);
    assert_eq!(plan_resource(&schema, &prior, &proposed, &config).planned.get("email"), &Value::string("john@example.com"));
}
