//! The alias Run:ai derives from an identity provider's name: one rule for the provider
//! (the alias it expects a create to give, see `client::expected_alias`), the sandbox
//! (the alias it gives) and the `idp_alias` function.
//!
//! Run:ai makes the name the alias, so a name must already be a valid alias (lower-case
//! letters, digits, `-` and `_`; anything else is refused with a 400). An idp created
//! without a name gets its type as its alias (`oidc`, `saml`, `openshift-v4`).

use std::sync::LazyLock;

use regex::Regex;

use crate::tfplugin::function::{Function, FunctionError, Parameter, Signature, string_arg};
use crate::tfplugin::value::{Type, Value};

pub use super::idp::ALIAS_PATTERN;

/// The rule in words.
pub const ALIAS_RULE: &str = "lower-case letters, digits, '-' and '_' only, at least one character";

static ALIAS_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(ALIAS_PATTERN).expect("constant regex"));

/// A name Run:ai refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} cannot be an idp name: Run:ai makes the name the alias, which must match {ALIAS_PATTERN} ({ALIAS_RULE})")]
pub struct AliasError {
    pub name: String,
}

/// Whether `alias` is one Run:ai can give.
pub fn is_alias(alias: &str) -> bool {
    ALIAS_RE.is_match(alias)
}

/// The alias Run:ai gives an idp of type `kind` (its wire name, e.g. `oidc`) created with
/// `name`: the name itself when it is a valid alias, the type when there is no name.
pub fn derive_alias(name: Option<&str>, kind: &str) -> Result<String, AliasError> {
    match name {
        Some(n) => alias_of_name(n),
        None => Ok(kind.to_string()),
    }
}

/// The alias of an idp created with `name`: the name, when Run:ai accepts it.
pub fn alias_of_name(name: &str) -> Result<String, AliasError> {
    if is_alias(name) { Ok(name.to_string()) } else { Err(AliasError { name: name.to_string() }) }
}

/// `provider::identity::idp_alias(name)`.
pub struct IdpAliasFunction;

impl Function for IdpAliasFunction {
    fn name(&self) -> &'static str {
        "idp_alias"
    }

    fn signature(&self) -> Signature {
        Signature {
            parameters: vec![Parameter::new("name", Type::String, "The `name` of an `identity_idp`.")],
            variadic: None,
            returns: Type::String,
            summary: "The alias Run:ai gives an identity provider created with this name.",
            description: format!(
                "Returns the alias Run:ai derives from an identity provider's name, by the rule the provider itself \
                 uses: Run:ai makes the name the alias, so the name must match `{ALIAS_PATTERN}` ({ALIAS_RULE}); a \
                 name Run:ai would refuse is an error. The alias addresses the idp in Run:ai's API and in \
                 `identity_idp_mappers.idp` and the `identity_idp` data source, so it can be written before the idp \
                 exists, e.g. in another configuration.\n\n\
                 An `identity_idp` without a `name` gets its type as its alias (`oidc`, `saml` or `openshift-v4`).\n\n\
                 ```terraform\n\
                 provider::identity::idp_alias(\"corp-sso\") # \"corp-sso\"\n\
                 provider::identity::idp_alias(\"Corp SSO\") # error: not a valid alias\n\
                 ```"
            ),
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let name = string_arg(args, 0, "name")?;
        alias_of_name(&name).map(Value::String).map_err(|e| FunctionError::at(0, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_name_is_the_alias_and_no_name_gives_the_type() {
        assert_eq!(derive_alias(Some("corp-sso_2"), "oidc"), Ok("corp-sso_2".into()));
        assert_eq!(derive_alias(None, "openshift-v4"), Ok("openshift-v4".into()));
        for bad in ["", "Corp", "corp sso", "corp.sso", "ünï", "corp/sso", " corp"] {
            let e = derive_alias(Some(bad), "oidc").expect_err(bad);
            assert_eq!(e.name, bad);
            assert!(e.to_string().contains(ALIAS_PATTERN), "{e}");
        }
    }

    #[test]
    fn the_function_returns_the_alias_or_an_error_at_the_name() {
        assert_eq!(IdpAliasFunction.call(&[Value::string("corp-sso")]), Ok(Value::string("corp-sso")));
        let e = IdpAliasFunction.call(&[Value::string("Corp SSO")]).expect_err("refused");
        assert_eq!(e.argument, Some(0));
        assert!(e.text.contains("\"Corp SSO\" cannot be an idp name") && e.text.contains(ALIAS_PATTERN), "{}", e.text);
        let e = IdpAliasFunction.call(&[Value::string("")]).expect_err("empty");
        assert_eq!(e.argument, Some(0));
    }

    #[test]
    fn every_type_is_a_valid_alias() {
        for (wire, _) in super::super::idp::TYPES {
            assert!(is_alias(wire), "{wire}");
        }
    }
}
