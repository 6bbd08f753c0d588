//! The one place that plans: turns Terraform's proposed new state into the planned state
//! from the schema's declarations, and finds the attributes that force replacement.
//!
//! Rules, in order:
//! 1. A destroy (null proposed state) plans null.
//! 2. Write-only attributes are planned null; defaults fill attributes the
//!    configuration leaves null; case-insensitive attributes keep a prior value that
//!    differs from the configuration only in case (semantic equality).
//! 3. If that plan equals the prior state, nothing changes: every computed value keeps
//!    its prior value (no unknowns, so the plan is empty).
//! 4. Otherwise (a create, or an update), computed attributes the configuration leaves
//!    null become unknown, except those declared use-state-for-unknown, which keep a
//!    non-null prior value (and use-state-unless-changed ones, which keep it while
//!    their named sibling inputs are unchanged).
//! 5. An attribute declared requires-replace whose planned value differs from the prior
//!    value is a replace path (on update only; computed attributes left null by the
//!    configuration are exempt, since their unknown comes from rule 4).

use super::diag::AttrPath;
use super::plan_modifier::PlanModifier;
use super::schema::{AttrKind, Attribute, Block, Nesting, Schema};
use super::value::Value;

/// The outcome of planning one resource instance.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedChange {
    pub planned: Value,
    pub requires_replace: Vec<AttrPath>,
}

/// Plans a resource change. `prior` is null on create; `proposed` is null on destroy.
pub fn plan_resource(schema: &Schema, prior: &Value, proposed: &Value, config: &Value) -> PlannedChange {
    if proposed.is_null() {
        return PlannedChange { planned: Value::Null, requires_replace: Vec::new() };
    }
    let creating = prior.is_null();
    let mut planned = proposed.clone();
    normalize_block(&schema.block, &mut planned, config, prior);
    let changed = creating || planned != *prior;
    if changed {
        mark_unknown_block(&schema.block, &mut planned, config, prior);
    }
    let mut requires_replace = Vec::new();
    if !creating {
        collect_replace(&schema.block.attributes, &planned, prior, config, &AttrPath::root(), &mut requires_replace);
    }
    PlannedChange { planned, requires_replace }
}

/// Sets every write-only attribute to null (for apply results, reads and imports).
pub fn null_write_only(block: &Block, value: &mut Value) {
    if value.is_null() || value.is_unknown() {
        return;
    }
    for a in &block.attributes {
        if a.write_only {
            value.set(&a.name, Value::Null);
        } else if let AttrKind::Nested { attributes, .. } = &a.kind
            && let Some(v) = value.get_mut(&a.name)
        {
            for_each_object(v, |o| null_write_only_attrs(attributes, o));
        }
    }
    for b in &block.blocks {
        if let Some(v) = value.get_mut(&b.type_name) {
            for_each_object(v, |o| null_write_only(&b.block, o));
        }
    }
}

fn null_write_only_attrs(attrs: &[Attribute], obj: &mut Value) {
    let block = Block { attributes: attrs.to_vec(), ..Block::default() };
    null_write_only(&block, obj);
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

/// Where a nested object sits in its parent value.
enum Sel {
    Whole,
    Index(usize),
    Key(String),
}

/// The nested objects a nested value holds, with their positions (sets have no stable
/// position to pair with configuration or prior state, and are skipped).
fn nested_objects(nesting: Nesting, v: &mut Value) -> Vec<(Sel, &mut Value)> {
    match (nesting, v) {
        (Nesting::Single | Nesting::Group, o @ Value::Object(_)) => vec![(Sel::Whole, o)],
        (Nesting::List, Value::List(items)) => items.iter_mut().enumerate().map(|(i, o)| (Sel::Index(i), o)).collect(),
        (Nesting::Map, Value::Map(m)) => m.iter_mut().map(|(k, o)| (Sel::Key(k.clone()), o)).collect(),
        _ => Vec::new(),
    }
}

/// The counterpart of a nested object in another value of the same attribute.
fn pick<'a>(other: &'a Value, sel: &Sel) -> &'a Value {
    static NULL: Value = Value::Null;
    match sel {
        Sel::Whole => other,
        Sel::Index(i) => other.elements().and_then(|e| e.get(*i)).unwrap_or(&NULL),
        Sel::Key(k) => other.get(k),
    }
}

fn normalize_block(block: &Block, planned: &mut Value, config: &Value, prior: &Value) {
    normalize_attrs(&block.attributes, planned, config, prior);
    for b in &block.blocks {
        let cfg = config.get(&b.type_name);
        if let Some(pv) = planned.get_mut(&b.type_name) {
            for (sel, p) in nested_objects(b.nesting, pv) {
                normalize_block(&b.block, p, pick(cfg, &sel), pick(prior.get(&b.type_name), &sel));
            }
        }
    }
}

fn normalize_attrs(attrs: &[Attribute], planned: &mut Value, config: &Value, prior: &Value) {
    if !matches!(planned, Value::Object(_)) {
        return;
    }
    for a in attrs {
        let cfg = config.get(&a.name);
        if a.write_only {
            planned.set(&a.name, Value::Null);
            continue;
        }
        // Semantic equality: a configured value the server stores in another case is
        // no change; Terraform accepts the prior value in place of the configured one.
        if a.has_modifier(PlanModifier::CaseInsensitive)
            && let (Some(c), Some(p)) = (cfg.as_str(), prior.get(&a.name).as_str())
            && c != p
            && c.eq_ignore_ascii_case(p)
        {
            planned.set(&a.name, Value::string(p));
            continue;
        }
        if cfg.is_null()
            && let Some(d) = &a.default
        {
            planned.set(&a.name, d.clone());
            continue;
        }
        if let AttrKind::Nested { nesting, attributes } = &a.kind
            && !cfg.is_null()
            && let Some(pv) = planned.get_mut(&a.name)
        {
            let pri = prior.get(&a.name);
            for (sel, p) in nested_objects(*nesting, pv) {
                normalize_attrs(attributes, p, pick(cfg, &sel), pick(pri, &sel));
            }
        }
    }
}

fn mark_unknown_block(block: &Block, planned: &mut Value, config: &Value, prior: &Value) {
    mark_unknown_attrs(&block.attributes, planned, config, prior);
    for b in &block.blocks {
        let cfg = config.get(&b.type_name);
        let pri = prior.get(&b.type_name);
        if let Some(pv) = planned.get_mut(&b.type_name) {
            for (sel, p) in nested_objects(b.nesting, pv) {
                mark_unknown_block(&b.block, p, pick(cfg, &sel), pick(pri, &sel));
            }
        }
    }
}

fn mark_unknown_attrs(attrs: &[Attribute], planned: &mut Value, config: &Value, prior: &Value) {
    if !matches!(planned, Value::Object(_)) {
        return;
    }
    for a in attrs {
        let cfg = config.get(&a.name);
        if a.write_only {
            continue;
        }
        if a.computed && cfg.is_null() && a.default.is_none() {
            let prior_v = prior.get(&a.name);
            let keep = a.modifiers.iter().any(|m| match m {
                PlanModifier::UseStateForUnknown => true,
                PlanModifier::UseStateUnlessChanged(inputs) => inputs.iter().all(|n| planned.get(n) == prior.get(n)),
                PlanModifier::RequiresReplace | PlanModifier::CaseInsensitive => false,
            });
            if keep && !prior_v.is_null() {
                planned.set(&a.name, prior_v.clone());
            } else {
                planned.set(&a.name, Value::unknown());
            }
            continue;
        }
        if let AttrKind::Nested { nesting, attributes } = &a.kind
            && !cfg.is_null()
            && !cfg.is_unknown()
            && let Some(pv) = planned.get_mut(&a.name)
        {
            let pri = prior.get(&a.name);
            for (sel, p) in nested_objects(*nesting, pv) {
                mark_unknown_attrs(attributes, p, pick(cfg, &sel), pick(pri, &sel));
            }
        }
    }
}

fn collect_replace(attrs: &[Attribute], planned: &Value, prior: &Value, config: &Value, path: &AttrPath, out: &mut Vec<AttrPath>) {
    for a in attrs {
        if a.write_only {
            continue;
        }
        let p = planned.get(&a.name);
        let s = prior.get(&a.name);
        let c = config.get(&a.name);
        let here = path.attr(&a.name);
        if a.has_modifier(PlanModifier::RequiresReplace) && !(a.computed && c.is_null()) && p != s {
            out.push(here);
            continue;
        }
        if let AttrKind::Nested { nesting, attributes } = &a.kind {
            match nesting {
                Nesting::Single | Nesting::Group => {
                    if matches!(p, Value::Object(_)) && matches!(s, Value::Object(_)) {
                        collect_replace(attributes, p, s, c, &here, out);
                    }
                }
                Nesting::List => {
                    if let (Some(pe), Some(se)) = (p.elements(), s.elements()) {
                        let ce = c.elements().unwrap_or(&[]);
                        for (i, (pi, si)) in pe.iter().zip(se).enumerate() {
                            collect_replace(attributes, pi, si, ce.get(i).unwrap_or(&Value::Null), &here.index(i), out);
                        }
                    }
                }
                Nesting::Map => {
                    if let (Some(pm), Some(sm)) = (p.fields(), s.fields()) {
                        for (k, pi) in pm {
                            if let Some(si) = sm.get(k) {
                                collect_replace(attributes, pi, si, c.get(k), &here.key(k), out);
                            }
                        }
                    }
                }
                Nesting::Set => {}
            }
        }
    }
}

#[cfg(test)]
mod tests;
