//! SCIM PatchOp (RFC 7644 section 3.5.2) applied to the writable attributes of a
//! resource (a JSON object); the caller validates the result like a PUT body, so a PATCH
//! either applies whole or not at all.
//!
//! - `op` is `add`, `replace` or `remove`, case-insensitively.
//! - `path` is `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`, optionally
//!   qualified by the core schema URN or naming an extension (`urn:...:Group:description`).
//! - Without `path`, `add` / `replace` take an object whose keys are paths; read-only
//!   keys in it (`id`, `meta`, `schemas`, ...) are ignored. `remove` needs a path
//!   (400 `noTarget`).
//! - `add` appends to a multi-valued attribute (the caller drops duplicate members),
//!   merges into a complex one, sets a simple one.
//! - `replace` replaces a multi-valued attribute whole, merges into a complex one (RFC:
//!   sub-attributes not given are kept), sets a simple one; with a filter it replaces the
//!   matching values and answers 400 `noTarget` when none matches.
//! - `remove` of `attr[filter]` removes the matching values (no match: nothing to do);
//!   `remove` of a multi-valued attribute with a `value` array removes the values whose
//!   `value` (or `ocid`) equals one given; without `value` it removes the attribute.
//! - A path to a read-only attribute is 400 `mutability`; an unknown one 400 `invalidPath`.

use serde_json::{Map, Value};

use super::filter::{AttrPath, Filter, PatchPath, get_ci, key_ci};
use super::{
    ENTERPRISE_USER_EXTENSION, GROUP_EXTENSION, GROUP_SCHEMA, PATCH_OP_SCHEMA, ScimError, USER_EXTENSION, USER_SCHEMA, USER_STATE_EXTENSION,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A single value (string, boolean).
    Simple,
    /// A single-valued complex attribute (`name`, an extension object).
    Complex,
    /// A multi-valued complex attribute (`emails`, `members`).
    Multi,
}

/// What a resource type lets PATCH touch.
pub struct Schema {
    pub core_urn: &'static str,
    pub writable: &'static [(&'static str, Kind)],
    pub read_only: &'static [&'static str],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug)]
struct Target {
    key: String,
    kind: Kind,
    sub: Option<String>,
    filter: Option<Filter>,
    filter_sub: Option<String>,
}

fn syntax(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidSyntax", detail)
}

fn invalid_path(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidPath", detail)
}

fn invalid_value(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidValue", detail)
}

/// Applies a PatchOp request `body` to `doc`.
pub fn apply(doc: &mut Map<String, Value>, schema: &Schema, body: &Map<String, Value>) -> Result<(), ScimError> {
    super::model::require_schema(body, PATCH_OP_SCHEMA)?;
    let ops = match get_ci(body, "Operations") {
        Some(Value::Array(ops)) if !ops.is_empty() => ops,
        Some(Value::Array(_)) => return Err(syntax("\"Operations\" must not be empty.")),
        _ => {
            return Err(syntax("The request body must have an \"Operations\" array."));
        }
    };
    for (i, op) in ops.iter().enumerate() {
        let Value::Object(op) = op else {
            return Err(syntax(format!("Operations[{i}] must be an object.")));
        };
        let kind = match get_ci(op, "op").and_then(Value::as_str) {
            Some(o) if o.eq_ignore_ascii_case("add") => OpKind::Add,
            Some(o) if o.eq_ignore_ascii_case("replace") => OpKind::Replace,
            Some(o) if o.eq_ignore_ascii_case("remove") => OpKind::Remove,
            Some(o) => {
                return Err(syntax(format!("Operations[{i}].op \"{o}\" is not one of add, replace, remove.")));
            }
            None => return Err(syntax(format!("Operations[{i}].op is required."))),
        };
        let value = get_ci(op, "value");
        match get_ci(op, "path") {
            None | Some(Value::Null) => {
                if kind == OpKind::Remove {
                    return Err(ScimError::bad_request("noTarget", format!("Operations[{i}]: \"remove\" needs a \"path\".")));
                }
                let Some(Value::Object(values)) = value else {
                    return Err(invalid_value(format!("Operations[{i}]: without \"path\", \"value\" must be an object of attributes.")));
                };
                for (key, v) in values {
                    let path = PatchPath::parse(key).map_err(|e| invalid_path(e.0))?;
                    // A read-only attribute inside a whole-object value is ignored.
                    if let Some(t) = resolve(schema, &path)? {
                        apply_one(doc, schema, kind, &t, Some(v))?;
                    }
                }
            }
            Some(Value::String(p)) => {
                let path = PatchPath::parse(p).map_err(|e| invalid_path(e.0))?;
                let t = resolve(schema, &path)?
                    .ok_or_else(|| ScimError::bad_request("mutability", format!("Attribute \"{p}\" is read-only.")))?;
                if kind != OpKind::Remove && value.is_none() {
                    return Err(invalid_value(format!("Operations[{i}] needs a \"value\".")));
                }
                apply_one(doc, schema, kind, &t, value)?;
            }
            Some(other) => {
                return Err(invalid_path(format!("Operations[{i}].path must be a string, got {other}.")));
            }
        }
    }
    Ok(())
}

/// Resolves a path to a writable attribute; `Ok(None)` for a read-only one.
fn resolve(schema: &Schema, path: &PatchPath) -> Result<Option<Target>, ScimError> {
    let a: &AttrPath = &path.attr;
    let find = |name: &str| schema.writable.iter().find(|(n, _)| n.eq_ignore_ascii_case(name));
    let read_only = |name: &str| schema.read_only.iter().any(|n| n.eq_ignore_ascii_case(name));
    let unknown = || invalid_path(format!("Attribute \"{a}\" is not supported."));
    let (key, kind, sub) = match &a.urn {
        Some(urn) => {
            let full = a.full();
            if let (Some((n, k)), None) = (find(&full), &a.sub) {
                (*n, *k, None)
            } else if let Some((n, k)) = find(urn) {
                if a.sub.is_some() {
                    return Err(unknown());
                }
                (*n, *k, Some(a.attr.clone()))
            } else if urn.eq_ignore_ascii_case(schema.core_urn) {
                match find(&a.attr) {
                    Some((n, k)) => (*n, *k, a.sub.clone()),
                    None if read_only(&a.attr) => return Ok(None),
                    None => return Err(unknown()),
                }
            } else if read_only(&full) || read_only(urn) {
                return Ok(None);
            } else {
                return Err(unknown());
            }
        }
        None => match find(&a.attr) {
            Some((n, k)) => (*n, *k, a.sub.clone()),
            None if read_only(&a.attr) => return Ok(None),
            None => return Err(unknown()),
        },
    };
    if sub.is_some() && kind == Kind::Simple {
        return Err(invalid_path(format!("Attribute \"{key}\" has no sub-attributes.")));
    }
    if path.filter.is_some() && kind != Kind::Multi {
        return Err(invalid_path(format!("A value filter applies only to a multi-valued attribute, not \"{key}\".")));
    }
    Ok(Some(Target { key: key.to_string(), kind, sub, filter: path.filter.clone(), filter_sub: path.filter_sub.clone() }))
}

/// Sets `key` in `obj`, replacing a key that differs only in case.
fn set_ci(obj: &mut Map<String, Value>, key: &str, v: Value) {
    let k = key_ci(obj, key).unwrap_or_else(|| key.to_string());
    if v.is_null() {
        obj.remove(&k);
    } else {
        obj.insert(k, v);
    }
}

fn remove_ci(obj: &mut Map<String, Value>, key: &str) {
    if let Some(k) = key_ci(obj, key) {
        obj.remove(&k);
    }
}

fn merge(target: &mut Map<String, Value>, value: &Map<String, Value>) {
    for (k, v) in value {
        set_ci(target, k, v.clone());
    }
}

fn as_items(key: &str, v: &Value) -> Result<Vec<Value>, ScimError> {
    let items = match v {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    };
    if let Some(bad) = items.iter().find(|i| !i.is_object()) {
        return Err(invalid_value(format!("Values of \"{key}\" must be objects, got {bad}.")));
    }
    Ok(items)
}

fn apply_one(doc: &mut Map<String, Value>, schema: &Schema, op: OpKind, t: &Target, value: Option<&Value>) -> Result<(), ScimError> {
    let key = t.key.as_str();
    let null = Value::Null;
    let v = value.unwrap_or(&null);

    if let Some(filter) = &t.filter {
        let mut hit = false;
        if let Some(Value::Array(items)) = doc.get_mut(key) {
            let matches = |i: &Value| matches!(i, Value::Object(o) if filter.matches(o, schema.core_urn));
            match op {
                OpKind::Remove => match &t.filter_sub {
                    None => items.retain(|i| !matches(i)),
                    Some(sub) => {
                        for i in items.iter_mut().filter(|i| matches(i)) {
                            if let Value::Object(o) = i {
                                remove_ci(o, sub);
                            }
                        }
                    }
                },
                OpKind::Add | OpKind::Replace => {
                    for i in items.iter_mut() {
                        if !matches(i) {
                            continue;
                        }
                        hit = true;
                        match (&t.filter_sub, op, v) {
                            (Some(sub), _, _) => {
                                if let Value::Object(o) = i {
                                    set_ci(o, sub, v.clone());
                                }
                            }
                            (None, OpKind::Replace, Value::Object(_)) => *i = v.clone(),
                            (None, _, Value::Object(val)) => {
                                if let Value::Object(o) = i {
                                    merge(o, val);
                                }
                            }
                            (None, _, other) => {
                                return Err(invalid_value(format!("The value for \"{key}[...]\" must be an object, got {other}.")));
                            }
                        }
                    }
                }
            }
            if items.is_empty() {
                doc.remove(key);
            }
        }
        if op != OpKind::Remove && !hit {
            return Err(ScimError::bad_request("noTarget", format!("No value of \"{key}\" matches the filter of the path.")));
        }
        return Ok(());
    }

    if let Some(sub) = &t.sub {
        match t.kind {
            Kind::Complex => {
                if op == OpKind::Remove {
                    if let Some(Value::Object(o)) = doc.get_mut(key) {
                        remove_ci(o, sub);
                    }
                } else {
                    let entry = doc.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
                    if !entry.is_object() {
                        *entry = Value::Object(Map::new());
                    }
                    if let Value::Object(o) = entry {
                        set_ci(o, sub, v.clone());
                    }
                }
            }
            Kind::Multi => {
                if let Some(Value::Array(items)) = doc.get_mut(key) {
                    for i in items.iter_mut() {
                        if let Value::Object(o) = i {
                            if op == OpKind::Remove {
                                remove_ci(o, sub);
                            } else {
                                set_ci(o, sub, v.clone());
                            }
                        }
                    }
                }
            }
            Kind::Simple => unreachable!("rejected by resolve"),
        }
        return Ok(());
    }

    match (op, t.kind) {
        (OpKind::Remove, Kind::Multi) if value.is_some_and(|v| !v.is_null()) => {
            // Remove the listed values, by `value` (or a member's `ocid`).
            let wanted: Vec<String> = match v {
                Value::Array(items) => items.iter().filter_map(item_value).collect(),
                other => item_value(other).into_iter().collect(),
            };
            if let Some(Value::Array(items)) = doc.get_mut(key) {
                items.retain(|i| {
                    let Value::Object(o) = i else { return true };
                    let hit = |k: &str| o.get(k).and_then(Value::as_str).is_some_and(|s| wanted.iter().any(|w| w == s));
                    !(hit("value") || hit("ocid"))
                });
                if items.is_empty() {
                    doc.remove(key);
                }
            }
        }
        (OpKind::Remove, _) => {
            doc.remove(key);
        }
        (OpKind::Add, Kind::Multi) => {
            let items = as_items(key, v)?;
            let entry = doc.entry(key.to_string()).or_insert_with(|| Value::Array(Vec::new()));
            match entry {
                Value::Array(existing) => existing.extend(items),
                other => *other = Value::Array(items),
            }
        }
        (OpKind::Replace, Kind::Multi) => {
            let items = as_items(key, v)?;
            if items.is_empty() {
                doc.remove(key);
            } else {
                doc.insert(key.to_string(), Value::Array(items));
            }
        }
        (_, Kind::Complex) => match v {
            Value::Object(val) => {
                let entry = doc.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                if let Value::Object(o) = entry {
                    merge(o, val);
                }
            }
            Value::Null if op == OpKind::Replace => {
                doc.remove(key);
            }
            other => {
                return Err(invalid_value(format!("The value for \"{key}\" must be an object, got {other}.")));
            }
        },
        (_, Kind::Simple) => {
            if v.is_null() {
                doc.remove(key);
            } else {
                doc.insert(key.to_string(), v.clone());
            }
        }
    }
    Ok(())
}

/// The identifying value of an item of a `remove` value list: its `value`, or the item
/// itself when it is a plain string.
fn item_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => get_ci(o, "value").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// The schemas the emulation patches users and groups with
// ---------------------------------------------------------------------------------------

/// What a PATCH may change on a user, and what it may not (also fuzzed by `tests/fuzz/fuzz_vendor.rs`).
pub const USER_PATCH: Schema = Schema {
    core_urn: USER_SCHEMA,
    writable: &[
        ("userName", Kind::Simple),
        ("name", Kind::Complex),
        ("displayName", Kind::Simple),
        ("active", Kind::Simple),
        ("externalId", Kind::Simple),
        ("emails", Kind::Multi),
        ("password", Kind::Simple),
        ("nickName", Kind::Simple),
        ("profileUrl", Kind::Simple),
        ("title", Kind::Simple),
        ("userType", Kind::Simple),
        ("preferredLanguage", Kind::Simple),
        ("locale", Kind::Simple),
        ("timezone", Kind::Simple),
        ("phoneNumbers", Kind::Multi),
        ("ims", Kind::Multi),
        ("photos", Kind::Multi),
        ("addresses", Kind::Multi),
        ("entitlements", Kind::Multi),
        ("roles", Kind::Multi),
        ("x509Certificates", Kind::Multi),
        (ENTERPRISE_USER_EXTENSION, Kind::Complex),
    ],
    read_only: &["id", "ocid", "meta", "schemas", "groups", USER_EXTENSION, USER_STATE_EXTENSION],
};

/// What a PATCH may change on a group, and what it may not.
pub const GROUP_PATCH: Schema = Schema {
    core_urn: GROUP_SCHEMA,
    writable: &[("displayName", Kind::Simple), ("externalId", Kind::Simple), ("members", Kind::Multi), (GROUP_EXTENSION, Kind::Complex)],
    read_only: &["id", "ocid", "meta", "schemas"],
};
