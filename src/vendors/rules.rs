//! Plan-time rules shared by several resources and data sources (each a [`Validator`]
//! whose message names the rule in words; the framework prefixes the attribute path).

use std::collections::BTreeMap;

use crate::tfplugin::Validator;

/// Text a server stores as given: not empty, and no whitespace at either end (servers
/// trim it, which would show as a change on every plan).
pub(crate) fn text() -> Validator {
    Validator::custom("a non-empty text without whitespace at either end", |v| match v.as_str() {
        Some("") => Err("must not be empty; leave the attribute out instead".into()),
        Some(s) if s.trim().is_empty() => Err(format!("{s:?} is only whitespace; it must not be blank")),
        Some(s) if s.trim() != s => Err(format!("{s:?} starts or ends with whitespace, which the server would trim; write {:?}", s.trim())),
        _ => Ok(()),
    })
}

/// Why `s` is not a SCIM id (ids are opaque, but never empty and never contain
/// whitespace, quotes or `/`: they are used in URL paths, filters and `a/b` import IDs).
fn scim_id_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("it is empty")
    } else if s.chars().any(char::is_whitespace) {
        Some("it contains whitespace")
    } else if s.contains('/') {
        Some("it contains \"/\" (the `<group_id>/<user_id>` form is only an import ID)")
    } else if s.contains('"') {
        Some("it contains a quote")
    } else if s == "." || s == ".." {
        Some("it is \".\" or \"..\", which in a URL path would address another resource")
    } else {
        None
    }
}

const SCIM_ID_RULE: &str = "a SCIM id: not empty, without whitespace, quotes or \"/\"";

/// One SCIM id (of a user or a group).
pub(crate) fn scim_id() -> Validator {
    Validator::custom(SCIM_ID_RULE, |v| match v.as_str() {
        Some(s) => match scim_id_problem(s) {
            Some(p) => Err(format!("{s:?} is not a SCIM id: {p}; an id is {SCIM_ID_RULE}, e.g. \"4f0c2b7e9a1d4e6f8b3c5d7e9f1a2b3c\"")),
            None => Ok(()),
        },
        None => Ok(()),
    })
}

/// A set (or list) of SCIM ids of `what` ("user", "group"). Set elements have no
/// index Terraform can show, so the message quotes the offending element.
pub(crate) fn scim_ids(what: &'static str) -> Validator {
    Validator::custom(&format!("a set of {what} ids, each {SCIM_ID_RULE}"), move |v| {
        for e in v.elements().unwrap_or(&[]) {
            if let Some(p) = e.as_str().and_then(scim_id_problem) {
                return Err(format!(
                    "the element {:?} is not a {what} id: {p}; each element must be {SCIM_ID_RULE}",
                    e.as_str().unwrap_or("")
                ));
            }
        }
        Ok(())
    })
}

/// For a list of objects: no two elements with the same `key` (compared without regard
/// to case when `ci`), and at most one whose `flag` is true. `list` is the attribute
/// name, used to name elements (`emails[1].value`).
pub(crate) fn unique_with_one_flag(list: &'static str, key: &'static str, ci: bool, flag: &'static str) -> Validator {
    Validator::custom(&format!("distinct `{key}` values and at most one element with `{flag} = true`"), move |v| {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut flagged = Vec::new();
        for (i, e) in v.elements().unwrap_or(&[]).iter().enumerate() {
            if let Some(s) = e.get(key).as_str() {
                let k = if ci { s.to_lowercase() } else { s.to_string() };
                if let Some(first) = seen.get(&k) {
                    return Err(format!(
                        "{list}[{i}].{key} {s:?} repeats {list}[{first}].{key}{}; each address may appear once",
                        if ci { " (compared without regard to case)" } else { "" }
                    ));
                }
                seen.insert(k, i);
            }
            if e.get(flag).as_bool() == Some(true) {
                flagged.push(i);
            }
        }
        if flagged.len() > 1 {
            let which = flagged.iter().map(|i| format!("{list}[{i}]")).collect::<Vec<_>>().join(", ");
            return Err(format!("at most one element may have {flag} = true, but {which} do"));
        }
        Ok(())
    })
}
