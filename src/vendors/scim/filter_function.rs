//! `provider::identity::scim_filter(attribute, operator, value...)`: one attribute
//! expression of a SCIM filter (RFC 7644 section 3.4.2.2), correctly quoted, for the
//! `filter` of the SCIM data sources and list resources.
//!
//! The value is quoted by [`quote`], the one quoting the provider's own filters use (a JSON
//! string: `"` and `\` escaped, control characters as JSON escapes them).

use crate::tfplugin::function::{Function, FunctionError, Parameter, Signature, string_arg};
use crate::tfplugin::value::{Number, Type, Value};
use crate::vendors::scim::client::quote;

/// The attribute operators of RFC 7644 section 3.4.2.2, and what each means.
pub const OPERATORS: &[(&str, &str)] = &[
    ("eq", "equal"),
    ("ne", "not equal"),
    ("co", "contains"),
    ("sw", "starts with"),
    ("ew", "ends with"),
    ("gt", "greater than"),
    ("lt", "less than"),
    ("ge", "greater than or equal to"),
    ("le", "less than or equal to"),
    ("pr", "present (has a value)"),
];

/// The operators whose value must be a string.
const SUBSTRING: &[&str] = &["co", "sw", "ew"];
/// The ordering operators: strings, numbers (and dates as strings), never booleans.
const ORDERING: &[&str] = &["gt", "lt", "ge", "le"];

const PATH_FORMS: &str = "an attribute name, optionally with one sub-attribute (`name.familyName`), optionally after a schema URN and `:` (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`); an attribute name starts with a letter and holds letters, digits, `-` and `_`";

/// Why `path` is not an RFC 7644 `attrPath` (`[URI ":"] ATTRNAME *1subAttr`), or None.
/// The URI is restricted to a schema URN (`urn:<nid>:<nss>`), which is what SCIM uses.
pub fn attribute_path_problem(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some("it is empty".into());
    }
    let (urn, attr) = match path.rfind(':') {
        Some(i) => (Some(&path[..i]), &path[i + 1..]),
        None => (None, path),
    };
    if let Some(urn) = urn {
        if let Some(why) = urn_problem(urn) {
            return Some(format!("its schema URN {urn:?} {why}"));
        }
        if attr.is_empty() {
            return Some("no attribute name follows the schema URN".into());
        }
    }
    let parts: Vec<&str> = attr.split('.').collect();
    if parts.len() > 2 {
        return Some(format!("{attr:?} has more than one sub-attribute (at most `attribute.subAttribute`)"));
    }
    for part in parts {
        if let Some(why) = attribute_name_problem(part) {
            return Some(why);
        }
    }
    None
}

/// Why `name` is not an `ATTRNAME` (`ALPHA *(nameChar)`, nameChar = `-` / `_` / DIGIT / ALPHA).
fn attribute_name_problem(name: &str) -> Option<String> {
    match name.chars().next() {
        None => Some("an attribute name is empty".into()),
        Some(c) if !c.is_ascii_alphabetic() => Some(format!("the attribute name {name:?} does not start with a letter")),
        Some(_) => name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
            .map(|c| format!("the attribute name {name:?} holds {c:?}, which is not a letter, digit, '-' or '_'")),
    }
}

/// Why `urn` is not a schema URN of the form `urn:<nid>:<nss>`, or None.
fn urn_problem(urn: &str) -> Option<String> {
    let mut parts = urn.split(':');
    if !parts.next().is_some_and(|p| p.eq_ignore_ascii_case("urn")) {
        return Some("does not start with \"urn:\"".into());
    }
    let Some(nid) = parts.next().filter(|n| !n.is_empty()) else { return Some("has no namespace after \"urn:\"".into()) };
    if !nid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Some(format!("has the namespace {nid:?}, which holds characters other than letters, digits and '-'"));
    }
    let rest: Vec<&str> = parts.collect();
    if rest.is_empty() {
        return Some("has nothing after its namespace".into());
    }
    for segment in rest {
        if segment.is_empty() {
            return Some("has an empty segment (\"::\")".into());
        }
        if let Some(c) = segment.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))) {
            return Some(format!("holds {c:?}; a schema URN holds letters, digits, '-', '.', '_' and ':'"));
        }
    }
    None
}

/// The comparison value as a filter writes it (`compValue`): a quoted string, a bare
/// number or boolean, or `null`. `Err` says why the value cannot be one.
fn comp_value(v: &Value) -> Result<String, String> {
    match v {
        Value::Null => Ok("null".into()),
        Value::String(s) => Ok(quote(s)),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(Number::Float(f)) if !f.is_finite() => Err(format!("{f} is not a number a filter can hold")),
        Value::Number(n) => Ok(n.to_string()),
        Value::Dynamic(t, inner) => match inner.as_ref() {
            Value::Dynamic(..) => Err(format!("it must be a string, number, bool or null, not {}", t.friendly())),
            Value::String(_) | Value::Bool(_) | Value::Number(_) | Value::Null => comp_value(inner),
            _ => Err(format!("it must be a string, number, bool or null, not {}", t.friendly())),
        },
        Value::Unknown(_) => Err("it is not known yet".into()),
        _ => Err("it must be a string, number, bool or null".into()),
    }
}

/// What kind of value `v` is, for the operator checks.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Dynamic(_, inner) => kind_of(inner),
        Value::Null => "null",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        _ => "other",
    }
}

/// The filter expression `<attribute> <operator> [<value>]`; errors carry the index of the
/// argument at fault (0 attribute, 1 operator, 2 and up the values).
pub fn filter_expression(attribute: &str, operator: &str, values: &[Value]) -> Result<String, FunctionError> {
    if let Some(why) = attribute_path_problem(attribute) {
        return Err(FunctionError::at(0, format!("{attribute:?} is not a SCIM attribute path: {why}. Expected {PATH_FORMS}")));
    }
    let op = operator.to_ascii_lowercase();
    if !OPERATORS.iter().any(|(o, _)| *o == op) {
        let all = OPERATORS.iter().map(|(o, _)| *o).collect::<Vec<_>>().join(", ");
        return Err(FunctionError::at(1, format!("{operator:?} is not a SCIM filter operator; expected one of {all} (in any case)")));
    }
    if op == "pr" {
        if !values.is_empty() {
            return Err(FunctionError::at(
                2,
                format!("the operator \"pr\" (present) takes no value, got {}; leave the value out", values.len()),
            ));
        }
        return Ok(format!("{attribute} pr"));
    }
    let value = match values {
        [v] => v,
        [] => {
            return Err(FunctionError::at(
                1,
                format!("the operator {op:?} compares with a value: pass exactly one value after the operator, got none"),
            ));
        }
        [_, ..] => {
            return Err(FunctionError::at(
                3,
                format!(
                    "the operator {op:?} takes exactly one value, got {}; combine expressions with \"and\" / \"or\" instead",
                    values.len()
                ),
            ));
        }
    };
    let text = comp_value(value).map_err(|why| FunctionError::at(2, format!("the value cannot be compared in a filter: {why}")))?;
    let kind = kind_of(value);
    if SUBSTRING.contains(&op.as_str()) && kind != "string" {
        return Err(FunctionError::at(2, format!("the operator {op:?} compares strings; the value is a {kind}")));
    }
    if ORDERING.contains(&op.as_str()) && matches!(kind, "bool" | "null") {
        return Err(FunctionError::at(
            2,
            format!("the operator {op:?} orders strings and numbers (dates as strings); the value is a {kind}, which RFC 7644 refuses"),
        ));
    }
    Ok(format!("{attribute} {op} {text}"))
}

/// `provider::identity::scim_filter(attribute, operator, value...)`.
pub struct ScimFilterFunction;

impl Function for ScimFilterFunction {
    fn name(&self) -> &'static str {
        "scim_filter"
    }

    fn signature(&self) -> Signature {
        let ops: String = OPERATORS.iter().map(|(o, what)| format!("- `{o}`: {what}\n")).collect();
        Signature {
            parameters: vec![
                Parameter::new(
                    "attribute",
                    Type::String,
                    "The attribute path: an attribute name (`userName`), optionally with a sub-attribute \
                     (`name.familyName`, `emails.value`), optionally after its schema URN and `:` \
                     (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`).",
                ),
                Parameter::new(
                    "operator",
                    Type::String,
                    "One of `eq`, `ne`, `co`, `sw`, `ew`, `gt`, `lt`, `ge`, `le`, `pr`, in any case (written in lower case).",
                ),
            ],
            variadic: Some(
                Parameter::new(
                    "value",
                    Type::Dynamic,
                    "The value to compare with: exactly one for every operator but `pr`, none for `pr`. A string is \
                     quoted (`\"` and `\\` escaped, control characters as in JSON), a number or bool written bare, \
                     `null` as `null`. `co`, `sw` and `ew` take a string; `gt`, `lt`, `ge` and `le` a string or a number.",
                )
                .nullable(),
            ),
            returns: Type::String,
            summary: "A SCIM filter expression with its value correctly quoted.",
            description: format!(
                "Builds one attribute expression of a SCIM filter (RFC 7644 section 3.4.2.2) such as \
                 `userName eq \"jane@example.com\"`, for the `filter` of `identity_scim_users`, \
                 `identity_scim_groups` and the `identity_scim_user` and `identity_scim_group` list resources. \
                 The value is quoted as SCIM requires, so a value holding `\"` or `\\` (or coming from elsewhere) \
                 cannot break the filter or change its meaning.\n\n\
                 The operators:\n\n{ops}\n\
                 An invalid attribute path, an unknown operator or the wrong number of values is an error at that \
                 argument. Combine expressions with `and`, `or`, `not (...)` and parentheses in a string template:\n\n\
                 ```terraform\n\
                 provider::identity::scim_filter(\"userName\", \"eq\", \"jane@example.com\") # userName eq \"jane@example.com\"\n\
                 provider::identity::scim_filter(\"title\", \"PR\")                          # title pr\n\
                 \"${{provider::identity::scim_filter(\"active\", \"eq\", true)}} and ${{provider::identity::scim_filter(\"name.familyName\", \"co\", \"O'Neil \\\"Jr\\\"\")}}\"\n\
                 # active eq true and name.familyName co \"O'Neil \\\"Jr\\\"\"\n\
                 ```"
            ),
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let attribute = string_arg(args, 0, "attribute")?;
        let operator = string_arg(args, 1, "operator")?;
        filter_expression(&attribute, &operator, args.get(2..).unwrap_or(&[])).map(Value::String)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(args: Vec<Value>) -> Result<String, FunctionError> {
        match ScimFilterFunction.call(&args)? {
            Value::String(s) => Ok(s),
            other => panic!("not a string: {other:?}"),
        }
    }

    fn dynamic(v: Value) -> Value {
        let t = match &v {
            Value::String(_) => Type::String,
            Value::Number(_) => Type::Number,
            Value::Bool(_) => Type::Bool,
            _ => Type::Dynamic,
        };
        Value::Dynamic(t, Box::new(v))
    }

    fn s(x: &str) -> Value {
        Value::string(x)
    }

    #[test]
    fn values_are_quoted_by_type() {
        assert_eq!(call(vec![s("userName"), s("eq"), dynamic(s("jane@example.com"))]), Ok(r#"userName eq "jane@example.com""#.into()));
        assert_eq!(call(vec![s("displayName"), s("co"), dynamic(s(r#"a "b" \c"#))]), Ok(r#"displayName co "a \"b\" \\c""#.into()));
        assert_eq!(call(vec![s("title"), s("sw"), dynamic(s("line\nbreak\ttab\u{1}"))]), Ok(r#"title sw "line\nbreak\ttab\u0001""#.into()));
        assert_eq!(call(vec![s("active"), s("eq"), dynamic(Value::Bool(true))]), Ok("active eq true".into()));
        assert_eq!(call(vec![s("age"), s("GE"), dynamic(Value::int(42))]), Ok("age ge 42".into()));
        assert_eq!(call(vec![s("score"), s("lt"), dynamic(Value::Number(Number::Float(1.5)))]), Ok("score lt 1.5".into()));
        let wide = Number::parse("18446744073709551617").expect("number");
        assert_eq!(call(vec![s("x"), s("gt"), dynamic(Value::Number(wide))]), Ok("x gt 18446744073709551617".into()));
        assert_eq!(call(vec![s("manager.value"), s("Eq"), Value::Null]), Ok("manager.value eq null".into()));
        assert_eq!(call(vec![s("title"), s("PR")]), Ok("title pr".into()));
        assert_eq!(
            call(vec![s("meta.lastModified"), s("gt"), dynamic(s("2011-05-13T04:42:34Z"))]),
            Ok(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#.into())
        );
    }

    #[test]
    fn attribute_paths_follow_rfc_7644() {
        for ok in [
            "userName",
            "name.familyName",
            "emails.value",
            "x-y_z9",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "URN:ietf:params:scim:schemas:core:2.0:User:userName",
        ] {
            assert_eq!(attribute_path_problem(ok), None, "{ok}");
            assert!(call(vec![s(ok), s("pr")]).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("1name", "does not start with a letter"),
            ("user name", "' '"),
            ("name.given.x", "more than one sub-attribute"),
            ("name.", "empty"),
            (".name", "empty"),
            ("emails[type eq \"work\"]", "'['"),
            ("userName eq \"x\" or true", "' '"),
            ("foo:bar", "does not start with \"urn:\""),
            ("urn:ietf:params:scim:schemas:core:2.0:User:", "no attribute name"),
            ("urn::x:userName", "no namespace"),
            ("urn:ietf:userName", "nothing after its namespace"),
            ("urn:ietf:a::b:userName", "empty segment"),
            ("urn:ietf:a b:userName", "' '"),
        ] {
            let e = call(vec![s(bad), s("pr")]).expect_err(bad);
            assert_eq!(e.argument, Some(0), "{bad}");
            assert!(e.text.contains("is not a SCIM attribute path") && e.text.contains(why), "{bad}: {}", e.text);
        }
    }

    #[test]
    fn an_unknown_operator_is_an_error_at_the_operator() {
        for bad in ["", "equals", "=", "and", "e q"] {
            let e = call(vec![s("userName"), s(bad), dynamic(s("x"))]).expect_err(bad);
            assert_eq!(e.argument, Some(1), "{bad}");
            assert!(e.text.contains("is not a SCIM filter operator") && e.text.contains("eq, ne, co"), "{}", e.text);
        }
    }

    #[test]
    fn the_number_of_values_is_checked() {
        let e = call(vec![s("userName"), s("eq")]).expect_err("no value");
        assert_eq!(e.argument, Some(1));
        assert!(e.text.contains("exactly one value") && e.text.contains("got none"), "{}", e.text);
        let e = call(vec![s("userName"), s("eq"), dynamic(s("a")), dynamic(s("b"))]).expect_err("two values");
        assert_eq!(e.argument, Some(3));
        assert!(e.text.contains("exactly one value, got 2"), "{}", e.text);
        let e = call(vec![s("title"), s("pr"), dynamic(s("a"))]).expect_err("pr with a value");
        assert_eq!(e.argument, Some(2));
        assert!(e.text.contains("\"pr\" (present) takes no value"), "{}", e.text);
        let e = call(vec![s("title"), s("pr"), Value::Null]).expect_err("pr with null");
        assert_eq!(e.argument, Some(2));
    }

    #[test]
    fn values_must_suit_the_operator() {
        let list = Value::Dynamic(Type::list(Type::String), Box::new(Value::List(vec![s("a")])));
        let e = call(vec![s("emails"), s("eq"), list]).expect_err("a list");
        assert_eq!(e.argument, Some(2));
        assert!(e.text.contains("string, number, bool or null, not list of string"), "{}", e.text);
        let e = call(vec![s("userName"), s("co"), dynamic(Value::int(1))]).expect_err("co with a number");
        assert_eq!(e.argument, Some(2));
        assert!(e.text.contains("\"co\" compares strings; the value is a number"), "{}", e.text);
        let e = call(vec![s("active"), s("gt"), dynamic(Value::Bool(true))]).expect_err("gt with a bool");
        assert_eq!(e.argument, Some(2));
        let e = call(vec![s("x"), s("le"), Value::Null]).expect_err("le with null");
        assert_eq!(e.argument, Some(2));
        let e = call(vec![s("x"), s("sw"), Value::Null]).expect_err("sw with null");
        assert_eq!(e.argument, Some(2));
    }

    #[test]
    fn the_signature_is_variadic_dynamic_and_nullable() {
        let sig = ScimFilterFunction.signature();
        let v = sig.variadic.expect("variadic");
        assert_eq!(v.ty, Type::Dynamic);
        assert!(v.allow_null && !v.allow_unknown);
        assert_eq!(sig.parameters.len(), 2);
        assert_eq!(sig.returns, Type::String);
    }
}
