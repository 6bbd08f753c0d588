//! Provider-defined functions (Terraform 1.8+): `provider::<name>::<function>(...)`.
//!
//! A function is pure: it sees only its arguments, never the provider's configuration,
//! so Terraform can call it before (or without) configuring the provider, in `terraform
//! console`, in `validate`, and in `terraform test` runs with a `mock_provider`. The
//! framework decodes each argument with its parameter's type, enforces the null and
//! unknown rules the signature declares, encodes the result with the return type, and
//! turns a [`FunctionError`] into the protocol's error with the argument's index.

use super::value::{Type, Value};

/// One parameter of a function.
#[derive(Clone, Debug)]
pub struct Parameter {
    /// The name shown in docs and in Terraform's messages.
    pub name: &'static str,
    /// Its type; `Type::Dynamic` accepts any type.
    pub ty: Type,
    /// Markdown.
    pub description: &'static str,
    /// Whether null may be passed (otherwise Terraform refuses it before calling).
    pub allow_null: bool,
    /// Whether an unknown value (or one containing unknowns) reaches the function;
    /// otherwise Terraform skips the call and the result is unknown.
    pub allow_unknown: bool,
}

impl Parameter {
    /// A parameter that must be known and not null.
    pub const fn new(name: &'static str, ty: Type, description: &'static str) -> Self {
        Parameter { name, ty, description, allow_null: false, allow_unknown: false }
    }

    /// The same parameter, accepting null.
    pub const fn nullable(mut self) -> Self {
        self.allow_null = true;
        self
    }
}

/// What a function takes and returns, and its documentation.
#[derive(Clone, Debug)]
pub struct Signature {
    pub parameters: Vec<Parameter>,
    /// A last parameter that takes zero or more arguments.
    pub variadic: Option<Parameter>,
    pub returns: Type,
    /// One line.
    pub summary: &'static str,
    /// Markdown.
    pub description: String,
}

/// Why a call failed: the text Terraform shows and, when one argument is at fault, its
/// zero-based index (Terraform then points at that argument in the configuration).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct FunctionError {
    pub text: String,
    pub argument: Option<usize>,
}

impl FunctionError {
    /// An error about argument `index` (zero-based, variadic arguments included).
    pub fn at(index: usize, text: impl Into<String>) -> Self {
        FunctionError { text: text.into(), argument: Some(index) }
    }

    /// An error about the call as a whole.
    pub fn new(text: impl Into<String>) -> Self {
        FunctionError { text: text.into(), argument: None }
    }
}

/// A provider-defined function.
pub trait Function: Send + Sync {
    /// The name after `provider::<provider>::`.
    fn name(&self) -> &'static str;
    fn signature(&self) -> Signature;
    /// Runs the function. `args` hold one value per declared parameter, then one per
    /// variadic argument, each of its parameter's type (a dynamic parameter's value
    /// comes as `Value::Dynamic`); null and unknown only where the parameter allows.
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError>;
}

/// The parameter that argument `index` binds to, if any.
pub fn parameter_for(sig: &Signature, index: usize) -> Option<&Parameter> {
    // Past the fixed parameters (the only way `get` finds none), the variadic one.
    sig.parameters.get(index).or(sig.variadic.as_ref())
}

/// Checks the arguments against the signature before the call: their number, and the
/// null and unknown rules (Terraform enforces them too; this keeps a function's code
/// from ever seeing what it did not declare). `Ok(None)` means the call is to be
/// skipped and its result is unknown.
pub fn check_arguments(sig: &Signature, args: &[Value]) -> Result<Option<()>, FunctionError> {
    let fixed = sig.parameters.len();
    if args.len() < fixed || (sig.variadic.is_none() && args.len() > fixed) {
        let want = if sig.variadic.is_some() { format!("at least {fixed}") } else { fixed.to_string() };
        return Err(FunctionError::new(format!("expected {want} arguments, got {}", args.len())));
    }
    for (i, a) in args.iter().enumerate() {
        let Some(p) = parameter_for(sig, i) else { continue };
        if a.is_null() && !p.allow_null {
            return Err(FunctionError::at(i, format!("argument \"{}\" must not be null", p.name)));
        }
        if !a.is_wholly_known() && !p.allow_unknown {
            return Ok(None);
        }
    }
    Ok(Some(()))
}

/// The text of a string argument (known and not null after [`check_arguments`]).
pub fn string_arg(args: &[Value], index: usize, name: &str) -> Result<String, FunctionError> {
    match args.get(index) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Dynamic(_, v)) => match v.as_ref() {
            Value::String(s) => Ok(s.clone()),
            _ => Err(FunctionError::at(index, format!("argument \"{name}\" must be a string"))),
        },
        _ => Err(FunctionError::at(index, format!("argument \"{name}\" must be a string"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(variadic: bool) -> Signature {
        Signature {
            parameters: vec![Parameter::new("a", Type::String, "A."), Parameter::new("b", Type::String, "B.").nullable()],
            variadic: variadic.then(|| Parameter::new("rest", Type::String, "More.")),
            returns: Type::String,
            summary: "Test.",
            description: String::new(),
        }
    }

    #[test]
    fn argument_counts_are_checked() {
        assert!(check_arguments(&sig(false), &[Value::string("x")]).is_err());
        assert!(check_arguments(&sig(false), &[Value::string("x"), Value::Null, Value::string("z")]).is_err());
        assert_eq!(check_arguments(&sig(true), &[Value::string("x"), Value::Null, Value::string("z"), Value::string("w")]), Ok(Some(())));
    }

    #[test]
    fn null_and_unknown_follow_the_declaration() {
        let e = check_arguments(&sig(true), &[Value::Null, Value::Null]).unwrap_err();
        assert_eq!(e.argument, Some(0));
        let e = check_arguments(&sig(true), &[Value::string("x"), Value::Null, Value::Null]).unwrap_err();
        assert_eq!(e.argument, Some(2), "a variadic argument has its own index");
        assert_eq!(check_arguments(&sig(false), &[Value::unknown(), Value::Null]), Ok(None));
    }

    #[test]
    fn arguments_bind_to_parameters() {
        let s = sig(true);
        assert_eq!(parameter_for(&s, 1).map(|p| p.name), Some("b"));
        assert_eq!(parameter_for(&s, 5).map(|p| p.name), Some("rest"));
        assert!(parameter_for(&sig(false), 2).is_none());
    }
}
