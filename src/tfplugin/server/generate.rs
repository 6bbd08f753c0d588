//! GenerateResourceConfig (Terraform 1.14+): the configuration that reproduces a state,
//! for `terraform plan -generate-config-out` and `terraform query -generate-config-out`.
//!
//! Terraform writes the HCL itself, from the configuration value the provider returns
//! (its `genconfig`): it leaves out an attribute that is computed and null, writes
//! `name = null` for a null attribute that is not computed, and writes every sensitive
//! attribute as `name = null # sensitive`, whatever its value. The provider has no other
//! way into the file (no comments, no references). So the framework returns, from the
//! schema alone ([`config_from_state`]):
//!
//! - computed-only attributes null (nested ones too): Terraform leaves them out;
//! - write-only attributes null: the state has no value for them anyway, and a sensitive
//!   one comes out as `name = null # sensitive`, which is where the secret goes;
//! - an optional attribute whose value equals its schema default null: the plan fills
//!   the default in again ([`crate::tfplugin::plan`]), so leaving it out plans no
//!   change; Terraform leaves it out, since a default makes it computed. Not inside
//!   set-nested attributes or blocks, where the plan does not fill defaults in;
//! - `timeouts` null: it is the provider's own setting, never the object's. It is
//!   optional and not computed, so Terraform writes `timeouts = null` (Terraform 1.14
//!   and 1.15 leave out only computed attributes without a value);
//! - everything else as the state has it.
//!
//! A resource may then adjust the value
//! ([`crate::tfplugin::resource::Resource::generate_config`]), e.g. to leave out what
//! another resource type manages.

use super::convert::{decode_dv, encode_dv};
use super::proto::tfplugin6 as pb;
use super::service::ProviderService;
use crate::tfplugin::diag::{Diagnostic, Diagnostics};
use crate::tfplugin::resource::Provider;
use crate::tfplugin::schema::{AttrKind, Attribute, Block, Nesting};
use crate::tfplugin::value::Value;

/// The attribute of [`crate::tfplugin::timeouts`].
const TIMEOUTS: &str = "timeouts";

impl<P: Provider> ProviderService<P> {
    /// The configuration for `r.state`.
    pub(super) fn generate_config(
        &self,
        r: &pb::generate_resource_config::Request,
    ) -> Result<pb::generate_resource_config::Response, Diagnostics> {
        let e = self.resource(&r.type_name)?;
        // Terraform generates configuration only for objects it imports (an `import`
        // block, or what a list resource found): a resource that cannot be imported
        // has none to adopt.
        if e.imp.as_import().is_none() {
            return Err(super::call::unsupported("Configuration generation", &r.type_name));
        }
        let state = decode_dv(r.state.as_ref(), &e.ty, "state")?;
        if state.is_null() || !state.is_wholly_known() {
            return Err(Diagnostic::error(
                "Invalid state received from Terraform",
                format!(
                    "Terraform asked for the configuration of a {} state that is {}; configuration can only be generated from an object's full state.",
                    r.type_name,
                    if state.is_null() { "null" } else { "not wholly known" }
                ),
            )
            .into());
        }
        let mut config = config_from_state(&e.schema.block, &state);
        if e.imp.timeouts().is_some() {
            config.set(TIMEOUTS, Value::Null);
        }
        e.imp.generate_config(&state, &mut config);
        Ok(pb::generate_resource_config::Response {
            config: Some(encode_dv(&config, &e.ty, "generated configuration")?),
            diagnostics: Vec::new(),
        })
    }
}

/// The configuration value that reproduces `state` under `block`, by the rules in the
/// module documentation (all but `timeouts`, which only resources with timeouts have).
fn config_from_state(block: &Block, state: &Value) -> Value {
    let mut config = state.clone();
    block_config(block, &mut config, false);
    config
}

/// `in_set`: the object is an element of a set, where planning fills in no defaults.
fn block_config(block: &Block, obj: &mut Value, in_set: bool) {
    attrs_config(&block.attributes, obj, in_set);
    for b in &block.blocks {
        if let Some(v) = obj.get_mut(&b.type_name) {
            let in_set = in_set || b.nesting == Nesting::Set;
            for_each_object(v, |o| block_config(&b.block, o, in_set));
        }
    }
}

fn attrs_config(attrs: &[Attribute], obj: &mut Value, in_set: bool) {
    if !matches!(obj, Value::Object(_)) {
        return;
    }
    for a in attrs {
        let Some(v) = obj.get_mut(&a.name) else { continue };
        if left_out(a, v, in_set) {
            *v = Value::Null;
        } else if let AttrKind::Nested { nesting, attributes } = &a.kind {
            let in_set = in_set || *nesting == Nesting::Set;
            for_each_object(v, |o| attrs_config(attributes, o, in_set));
        }
    }
}

/// Whether the configuration leaves out `a` with the state value `v`: it is write-only
/// or computed-only, or `v` is its default where the plan fills defaults in.
fn left_out(a: &Attribute, v: &Value, in_set: bool) -> bool {
    let computed_only = a.computed && !a.optional && !a.required;
    let default = !in_set && a.optional && a.default.as_ref().is_some_and(|d| d == v);
    a.write_only || computed_only || default
}

/// Applies `f` to the object(s) a nested value holds, whatever its nesting.
fn for_each_object(v: &mut Value, mut f: impl FnMut(&mut Value)) {
    match v {
        Value::Object(_) => f(v),
        Value::List(items) | Value::Set(items) => items.iter_mut().for_each(f),
        Value::Map(m) => m.values_mut().for_each(f),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfplugin::plan::plan_resource;
    use crate::tfplugin::schema::{NestedBlock, Schema};

    /// Every kind of attribute the rules tell apart, at the top level, in a list-nested
    /// attribute, in a set-nested attribute and in a single-nested block.
    fn schema() -> Schema {
        let leaves = || {
            vec![
                Attribute::string("id").computed().use_state_for_unknown(),
                Attribute::string("name").required(),
                Attribute::string("note").optional(),
                Attribute::string("label").optional().computed(),
                Attribute::string("kind").default_value("work"),
                Attribute::bool("active").default_value(true),
                Attribute::string("secret").optional().sensitive(),
                Attribute::string("secret_wo").optional().sensitive().write_only(),
            ]
        };
        let mut attrs = leaves();
        attrs.push(Attribute::nested("items", Nesting::List, leaves()).optional());
        attrs.push(Attribute::nested("tags", Nesting::Set, leaves()).optional());
        attrs.push(Attribute::object("server", vec![Attribute::string("x").computed()]).computed());
        attrs.push(Attribute::object("timeouts", vec![Attribute::string("create").optional()]).optional());
        Schema::new("probe", attrs).with_blocks(vec![NestedBlock::new(
            "settings",
            Nesting::Single,
            crate::tfplugin::schema::Block { attributes: leaves(), ..Default::default() },
        )])
    }

    /// A state of the leaves: the defaults when `defaults`, other values otherwise.
    fn leaves(defaults: bool) -> Value {
        Value::object_of(&[
            ("id", Value::string("id-1")),
            ("name", Value::string("n")),
            ("note", Value::Null),
            ("label", Value::string("server label")),
            ("kind", Value::string(if defaults { "work" } else { "home" })),
            ("active", Value::Bool(defaults)),
            ("secret", Value::string("s3cret")),
            ("secret_wo", Value::Null),
        ])
    }

    fn state(defaults: bool) -> Value {
        let mut s = leaves(defaults);
        s.set("items", Value::List(vec![leaves(defaults)]));
        s.set("tags", Value::Set(vec![leaves(defaults)]));
        s.set("server", Value::object_of(&[("x", Value::string("computed"))]));
        s.set("timeouts", Value::Null);
        s.set("settings", leaves(defaults));
        s
    }

    /// The leaves as generated: `id` (computed-only) and `secret_wo` (write-only) null,
    /// defaults null unless in a set, the rest kept.
    fn expected_leaves(defaults: bool, in_set: bool) -> Value {
        let mut l = leaves(defaults);
        l.set("id", Value::Null);
        if defaults && !in_set {
            l.set("kind", Value::Null);
            l.set("active", Value::Null);
        }
        l
    }

    #[test]
    fn computed_only_write_only_and_default_values_are_left_out() {
        for defaults in [true, false] {
            let config = config_from_state(&schema().block, &state(defaults));
            let mut want = expected_leaves(defaults, false);
            want.set("items", Value::List(vec![expected_leaves(defaults, false)]));
            want.set("tags", Value::Set(vec![expected_leaves(defaults, true)]));
            want.set("server", Value::Null);
            want.set("timeouts", Value::Null);
            want.set("settings", expected_leaves(defaults, false));
            assert_eq!(config, want, "defaults: {defaults}");
        }
    }

    /// A write-only value that reaches the state by mistake is not written either.
    #[test]
    fn write_only_values_never_reach_the_configuration() {
        let mut s = state(false);
        s.set("secret_wo", Value::string("leaked"));
        let config = config_from_state(&schema().block, &s);
        assert_eq!(config.get("secret_wo"), &Value::Null);
    }

    /// The generated configuration plans no change against the state it came from:
    /// defaults come back from the plan, computed values keep their state.
    #[test]
    fn the_generated_configuration_plans_no_change() {
        for defaults in [true, false] {
            let schema = schema();
            let prior = state(defaults);
            let config = config_from_state(&schema.block, &prior);
            // Terraform's proposed new state: the configuration, with the prior value of
            // every computed attribute the configuration leaves null.
            let mut proposed = config.clone();
            fill_block(&schema.block, &mut proposed, &prior);
            let change = plan_resource(&schema, &prior, &proposed, &config);
            // The prior state holds no write-only value, as Terraform stores none.
            assert_eq!(change.planned, prior, "defaults: {defaults}");
            assert!(change.requires_replace.is_empty());
        }
    }

    /// What Terraform proposes for a computed attribute the configuration leaves null:
    /// its prior value (nested objects paired by position).
    fn fill_computed(attrs: &[Attribute], proposed: &mut Value, prior: &Value) {
        for a in attrs {
            let p = prior.get(&a.name);
            let Some(v) = proposed.get_mut(&a.name) else { continue };
            if a.computed && v.is_null() {
                *v = p.clone();
            } else if let AttrKind::Nested { attributes, .. } = &a.kind {
                fill_objects(v, p, |o, po| fill_computed(attributes, o, po));
            }
        }
    }

    fn fill_block(block: &Block, proposed: &mut Value, prior: &Value) {
        fill_computed(&block.attributes, proposed, prior);
        for b in &block.blocks {
            if let Some(v) = proposed.get_mut(&b.type_name) {
                fill_objects(v, prior.get(&b.type_name), |o, po| fill_block(&b.block, o, po));
            }
        }
    }

    fn fill_objects(v: &mut Value, prior: &Value, mut f: impl FnMut(&mut Value, &Value)) {
        match v {
            Value::Object(_) => f(v, prior),
            Value::List(items) | Value::Set(items) => {
                for (o, po) in items.iter_mut().zip(prior.elements().unwrap_or(&[])) {
                    f(o, po);
                }
            }
            _ => {}
        }
    }
}
