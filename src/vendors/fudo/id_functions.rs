//! `provider::identity::user_oidc_id(user_id, oidc_id)` and
//! `provider::identity::parse_user_oidc_id(id)`: the id of an `identity_user_oidc`
//! (`<user_id>/<oidc_id>`, also its import id) and back, by the resource's own rules
//! ([`compose_id`], [`parse_import_id`], [`is_id`]). Ids stay strings throughout: Fudo's
//! are 64-bit numbers, which a Terraform number (or any f64) would round.

use crate::tfplugin::function::{Function, FunctionError, Parameter, Signature, string_arg};
use crate::tfplugin::value::{Type, Value};
use crate::vendors::fudo::user_oidc::{compose_id, id_validator, is_id, parse_import_id};

/// The id of one argument, or an error at its index that says what an id must be
/// (Terraform names the argument: `Invalid value for "user_id" parameter: ...`).
fn id_arg(args: &[Value], index: usize, name: &str) -> Result<String, FunctionError> {
    let s = string_arg(args, index, name)?;
    if is_id(&s) { Ok(s) } else { Err(FunctionError::at(index, format!("{s:?} is not a Fudo id. {}", id_validator().describe()))) }
}

/// `provider::identity::user_oidc_id(user_id, oidc_id)`.
pub struct UserOidcIdFunction;

impl Function for UserOidcIdFunction {
    fn name(&self) -> &'static str {
        "user_oidc_id"
    }

    fn signature(&self) -> Signature {
        Signature {
            parameters: vec![
                Parameter::new("user_id", Type::String, "The Fudo user's id, in decimal digits (a string: Fudo ids are 64-bit)."),
                Parameter::new("oidc_id", Type::String, "The Fudo OpenID Connect configuration's id, in decimal digits (a string)."),
            ],
            variadic: None,
            returns: Type::String,
            summary: "The id of an identity_user_oidc assignment: \"<user_id>/<oidc_id>\".",
            description: "Returns the id of the `identity_user_oidc` that assigns Fudo user `user_id` to the OpenID \
                 Connect configuration `oidc_id`: `\"<user_id>/<oidc_id>\"`, which is also its import id, e.g. for an \
                 `import` block. Both ids are strings of decimal digits, kept exactly as given: Fudo's ids are \
                 64-bit numbers, beyond what a Terraform number holds exactly, so write them quoted. An id that is \
                 not a Fudo id (not decimal digits, a leading zero, more than 64 bits) is an error at that \
                 argument.\n\n\
                 ```terraform\n\
                 provider::identity::user_oidc_id(\"9124292845052624898\", \"9124292845052624897\")\n\
                 # \"9124292845052624898/9124292845052624897\"\n\
                 ```"
            .to_string(),
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let user_id = id_arg(args, 0, "user_id")?;
        let oidc_id = id_arg(args, 1, "oidc_id")?;
        Ok(Value::String(compose_id(&user_id, &oidc_id)))
    }
}

/// `provider::identity::parse_user_oidc_id(id)`.
pub struct ParseUserOidcIdFunction;

impl Function for ParseUserOidcIdFunction {
    fn name(&self) -> &'static str {
        "parse_user_oidc_id"
    }

    fn signature(&self) -> Signature {
        Signature {
            parameters: vec![Parameter::new(
                "id",
                Type::String,
                "The id (or import id) of an `identity_user_oidc`: `\"<user_id>/<oidc_id>\"`.",
            )],
            variadic: None,
            returns: Type::object([("user_id", Type::String), ("oidc_id", Type::String)]),
            summary: "The user id and OIDC configuration id in the id of an identity_user_oidc assignment.",
            description: "Splits the id of an `identity_user_oidc` (`\"<user_id>/<oidc_id>\"`, as `user_oidc_id` \
                 makes it and as `terraform import` takes it) into an object with `user_id` and `oidc_id`, both \
                 strings of decimal digits kept exactly (64-bit ids never pass through a number). Spaces around \
                 the id or either part are ignored, as import does. Anything else is an error.\n\n\
                 ```terraform\n\
                 provider::identity::parse_user_oidc_id(\"9124292845052624898/9124292845052624897\")\n\
                 # { oidc_id = \"9124292845052624897\", user_id = \"9124292845052624898\" }\n\
                 ```"
            .to_string(),
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let id = string_arg(args, 0, "id")?;
        let (user_id, oidc_id) = parse_import_id(&id).map_err(|e| FunctionError::at(0, e))?;
        Ok(Value::object_of(&[("user_id", Value::String(user_id)), ("oidc_id", Value::String(oidc_id))]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "18446744073709551615";
    const O: &str = "9124292845052624897";

    #[test]
    fn composes_and_parses_wide_ids_exactly() {
        let id = UserOidcIdFunction.call(&[Value::string(U), Value::string(O)]).expect("compose");
        assert_eq!(id, Value::string(format!("{U}/{O}")));
        let back = ParseUserOidcIdFunction.call(&[id]).expect("parse");
        assert_eq!(back, Value::object_of(&[("user_id", Value::string(U)), ("oidc_id", Value::string(O))]));
        let spaced = ParseUserOidcIdFunction.call(&[Value::string(format!(" {U} / {O} "))]).expect("spaces");
        assert_eq!(back, spaced);
        crate::tfplugin::value::encode_msgpack(&back, &ParseUserOidcIdFunction.signature().returns).expect("the declared type");
    }

    #[test]
    fn a_bad_id_is_an_error_at_its_argument() {
        for (bad, why) in [
            ("", "decimal digits"),
            ("12a", "decimal digits"),
            ("0123", "without leading zeros"),
            ("18446744073709551616", "at most 18446744073709551615"),
            (" 1", "decimal digits"),
            ("-1", "decimal digits"),
        ] {
            let e = UserOidcIdFunction.call(&[Value::string(bad), Value::string(O)]).expect_err(bad);
            assert_eq!(e.argument, Some(0), "{bad}");
            assert!(
                e.text.starts_with(&format!("{bad:?} is not a Fudo id. Must be a Fudo id:")) && e.text.contains(why),
                "{bad}: {}",
                e.text
            );
            let e = UserOidcIdFunction.call(&[Value::string(U), Value::string(bad)]).expect_err(bad);
            assert_eq!(e.argument, Some(1), "{bad}");
            assert!(e.text.starts_with(&format!("{bad:?} is not a Fudo id.")), "{bad}: {}", e.text);
        }
    }

    #[test]
    fn a_malformed_composite_id_is_an_error() {
        for bad in [
            "",
            U,
            &format!("{U}/"),
            &format!("/{O}"),
            "a/b",
            &format!("{U}/{O}/1"),
            &format!("{U}:{O}"),
            &format!("0{U}/{O}"),
            "18446744073709551616/1",
        ] {
            let e = ParseUserOidcIdFunction.call(&[Value::string(bad)]).expect_err(bad);
            assert_eq!(e.argument, Some(0), "{bad}");
            assert!(e.text.contains("\"<user_id>/<oidc_id>\"") && e.text.contains(&format!("{:?}", bad.trim())), "{bad}: {}", e.text);
        }
    }
}
