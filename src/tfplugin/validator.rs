//! Declarative validators, run at plan time (Validate*Config) with attribute paths.

use std::fmt;
use std::sync::{Arc, OnceLock};

use regex::Regex;

use super::diag::{AttrPath, Diagnostics};
use super::schema::{AttrKind, Attribute, Nesting};
use super::value::Value;

type CheckFn = dyn Fn(&Value) -> Result<(), String> + Send + Sync;

/// A rule an attribute's configured value must satisfy. Null and unknown values are not
/// checked (Terraform checks `required` itself; unknowns are checked at apply time).
#[derive(Clone)]
pub enum Validator {
    /// The string is one of these.
    OneOf(Vec<String>),
    /// The string matches the regex; `rule` says in words what it must be. The regex is
    /// compiled on first use, so building schemas (every provider start) stays cheap.
    Matches { pattern: &'static str, rule: String, compiled: Arc<OnceLock<Regex>> },
    /// String length in characters.
    Length { min: usize, max: Option<usize> },
    /// Number of elements of a list, set or map.
    Items { min: usize, max: Option<usize> },
    /// A whole number in a range.
    IntBetween { min: i64, max: i64 },
    /// Applies the inner validator to every element of a list, set or map.
    Each(Box<Validator>),
    /// None of these sibling attributes may be set together with this one.
    ConflictsWith(Vec<String>),
    /// Exactly one of these sibling attributes (normally including this one) is set.
    ExactlyOneOf(Vec<String>),
    /// This attribute needs these siblings set too.
    AlsoRequires(Vec<String>),
    /// Any other rule on the value alone.
    Custom { rule: String, check: Arc<CheckFn> },
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Validator {
    pub fn one_of(values: &[&str]) -> Self {
        Validator::OneOf(values.iter().map(|s| s.to_string()).collect())
    }
    /// `pattern` is a literal in the provider's own code (a unit test compiles them all).
    /// `rule` completes "Must be ...", like [`Validator::custom`]'s.
    pub fn matches(pattern: &'static str, rule: &str) -> Self {
        Validator::Matches { pattern, rule: rule.to_string(), compiled: Arc::new(OnceLock::new()) }
    }
    pub fn non_empty() -> Self {
        Validator::Length { min: 1, max: None }
    }
    pub fn each(v: Validator) -> Self {
        Validator::Each(Box::new(v))
    }
    pub fn conflicts_with(names: &[&str]) -> Self {
        Validator::ConflictsWith(names.iter().map(|s| s.to_string()).collect())
    }
    pub fn exactly_one_of(names: &[&str]) -> Self {
        Validator::ExactlyOneOf(names.iter().map(|s| s.to_string()).collect())
    }
    pub fn also_requires(names: &[&str]) -> Self {
        Validator::AlsoRequires(names.iter().map(|s| s.to_string()).collect())
    }
    /// `rule` says what a valid value is, as the words after "Must be" with no final
    /// period (e.g. "a positive whole number"): the docs show "Must be {rule}.".
    pub fn custom(rule: &str, check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static) -> Self {
        Validator::Custom { rule: rule.to_string(), check: Arc::new(check) }
    }

    /// The rule in words, for documentation.
    pub fn describe(&self) -> String {
        match self {
            Validator::OneOf(v) => format!("Must be one of: {}.", quoted(v)),
            Validator::Matches { rule, .. } => format!("Must be {rule}."),
            Validator::Length { min: 1, max: None } => "Must not be empty.".to_string(),
            Validator::Length { min, max: None } => format!("Must be at least {min} characters long."),
            Validator::Length { min, max: Some(max) } => format!("Must be {min} to {max} characters long."),
            Validator::Items { min, max: None } => format!("Must have at least {min} elements."),
            Validator::Items { min, max: Some(max) } => format!("Must have {min} to {max} elements."),
            Validator::IntBetween { min, max } => format!("Must be a whole number from {min} to {max}."),
            Validator::Each(v) => format!("Each element: {}", v.describe()),
            Validator::ConflictsWith(n) => format!("Conflicts with {}.", quoted(n)),
            Validator::ExactlyOneOf(n) => format!("Exactly one of {} must be set.", quoted(n)),
            Validator::AlsoRequires(n) => format!("Requires {} to be set too.", quoted(n)),
            Validator::Custom { rule, .. } => format!("Must be {rule}."),
        }
    }

    /// Checks one value; `Err` carries the message. Sibling rules are not checked here.
    fn check_value(&self, v: &Value) -> Result<(), String> {
        if v.is_null() || v.is_unknown() {
            return Ok(());
        }
        match self {
            Validator::OneOf(allowed) => match v.as_str() {
                Some(s) if allowed.iter().any(|a| a == s) => Ok(()),
                Some(s) => Err(format!("{s:?} is not allowed; expected one of {}", quoted(allowed))),
                None => Ok(()),
            },
            Validator::Matches { pattern, rule, compiled } => match v.as_str() {
                Some(s) => {
                    let regex = match compiled.get() {
                        Some(r) => r,
                        None => {
                            let r = Regex::new(pattern).map_err(|e| format!("internal error: invalid pattern {pattern:?}: {e}"))?;
                            compiled.get_or_init(|| r)
                        }
                    };
                    if regex.is_match(s) { Ok(()) } else { Err(format!("{s:?} is not valid: must be {rule}")) }
                }
                None => Ok(()),
            },
            Validator::Length { min, max } => match v.as_str() {
                Some(s) => {
                    let n = s.chars().count();
                    if n < *min {
                        Err(if *min == 1 {
                            "must not be empty".to_string()
                        } else {
                            format!("must be at least {min} characters long, got {n}")
                        })
                    } else if max.is_some_and(|m| n > m) {
                        Err(format!("must be at most {} characters long, got {n}", max.unwrap_or(0)))
                    } else {
                        Ok(())
                    }
                }
                None => Ok(()),
            },
            Validator::Items { min, max } => {
                let n = match v {
                    Value::List(e) | Value::Set(e) | Value::Tuple(e) => e.len(),
                    Value::Map(m) => m.len(),
                    _ => return Ok(()),
                };
                if n < *min {
                    Err(format!("must have at least {min} element{}, got {n}", if *min == 1 { "" } else { "s" }))
                } else if max.is_some_and(|m| n > m) {
                    Err(format!("must have at most {} elements, got {n}", max.unwrap_or(0)))
                } else {
                    Ok(())
                }
            }
            Validator::IntBetween { min, max } => match v {
                Value::Number(n) => match n.as_i64() {
                    Some(i) if i >= *min && i <= *max => Ok(()),
                    _ => Err(format!("must be a whole number from {min} to {max}, got {n}")),
                },
                _ => Ok(()),
            },
            Validator::Custom { check, .. } => check(v),
            Validator::Each(_) | Validator::ConflictsWith(_) | Validator::ExactlyOneOf(_) | Validator::AlsoRequires(_) => Ok(()),
        }
    }
}

fn quoted(v: &[String]) -> String {
    v.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")
}

fn display_path(p: &AttrPath) -> String {
    p.to_string()
}

/// Validates a configuration object against its attributes' declarations, recursing
/// into nested attributes. Diagnostics carry the attribute path.
pub fn validate_attributes(attrs: &[Attribute], obj: &Value, path: &AttrPath, diags: &mut Diagnostics) {
    if obj.is_null() || obj.is_unknown() {
        return;
    }
    for a in attrs {
        let v = obj.get(&a.name);
        let p = path.attr(&a.name);
        for val in &a.validators {
            run(val, a, v, obj, &p, path, diags);
        }
        if let AttrKind::Nested { nesting, attributes } = &a.kind {
            if v.is_null() || v.is_unknown() {
                continue;
            }
            match nesting {
                Nesting::Single | Nesting::Group => validate_attributes(attributes, v, &p, diags),
                Nesting::List | Nesting::Set => {
                    for (i, e) in v.elements().unwrap_or(&[]).iter().enumerate() {
                        // Set elements cannot be addressed: report against the set.
                        let ep = if *nesting == Nesting::List { p.index(i) } else { p.clone() };
                        validate_attributes(attributes, e, &ep, diags);
                    }
                }
                Nesting::Map => {
                    if let Some(m) = v.fields() {
                        for (k, e) in m {
                            validate_attributes(attributes, e, &p.key(k), diags);
                        }
                    }
                }
            }
        }
    }
}

fn run(val: &Validator, a: &Attribute, v: &Value, siblings: &Value, p: &AttrPath, parent: &AttrPath, diags: &mut Diagnostics) {
    let sibling_path = |n: &str| display_path(&parent.attr(n));
    // Where a diagnostic points. Terraform (1.14+) prints the configuration source of the
    // attribute a diagnostic points at (for a nested attribute, the whole enclosing
    // object), so one about a sensitive attribute points at the resource block instead: a
    // secret written literally in the configuration must not be shown. The message names
    // the attribute's path in words either way.
    let at = if a.sensitive { AttrPath::root() } else { p.clone() };
    match val {
        Validator::Each(inner) => {
            if let Some(elems) = v.elements() {
                let is_list = matches!(v, Value::List(_) | Value::Tuple(_));
                for (i, e) in elems.iter().enumerate() {
                    let ep = if is_list { p.index(i) } else { p.clone() };
                    run(inner, a, e, siblings, &ep, parent, diags);
                }
            } else if let Value::Map(m) = v {
                for (k, e) in m {
                    run(inner, a, e, siblings, &p.key(k), parent, diags);
                }
            }
        }
        Validator::ConflictsWith(names) => {
            if v.is_null() {
                return;
            }
            for n in names {
                let s = siblings.get(n);
                if !s.is_null() && !s.is_unknown() && !v.is_unknown() {
                    diags.error_at(
                        at.clone(),
                        "Conflicting attributes",
                        format!("\"{}\" cannot be set together with \"{}\": set only one of them.", display_path(p), sibling_path(n)),
                    );
                }
            }
        }
        Validator::ExactlyOneOf(names) => {
            let vals: Vec<&Value> = names.iter().map(|n| if *n == a.name { v } else { siblings.get(n) }).collect();
            if vals.iter().any(|x| x.is_unknown()) {
                return;
            }
            let set = vals.iter().filter(|x| !x.is_null()).count();
            if set != 1 {
                let list = names.iter().map(|n| format!("\"{}\"", sibling_path(n))).collect::<Vec<_>>().join(", ");
                let detail = if set == 0 {
                    format!("Exactly one of {list} must be set; none is.")
                } else {
                    format!("Exactly one of {list} must be set; {set} are.")
                };
                diags.error_at(at.clone(), "Invalid attribute combination", detail);
            }
        }
        Validator::AlsoRequires(names) => {
            if v.is_null() {
                return;
            }
            for n in names {
                if siblings.get(n).is_null() {
                    diags.error_at(
                        at.clone(),
                        "Missing required attribute",
                        format!("\"{}\" also requires \"{}\" to be set.", display_path(p), sibling_path(n)),
                    );
                }
            }
        }
        other => {
            if let Err(msg) = other.check_value(v) {
                diags.error_at(at.clone(), "Invalid attribute value", format!("\"{}\": {msg}.", display_path(p)));
            }
        }
    }
}
