//! CallFunction: decodes each argument with its parameter's type, checks the signature's
//! null and unknown rules, runs the function and encodes its result. Functions need no
//! configured provider (Terraform may call them before ConfigureProvider, or never
//! configure it at all).

use super::convert::{decode_dv, encode_dv};
use super::proto::tfplugin6 as pb;
use super::service::ProviderService;
use crate::tfplugin::function::{FunctionError, check_arguments, parameter_for};
use crate::tfplugin::resource::Provider;
use crate::tfplugin::value::Value;

/// The protocol's error for `e`. Terraform shows the text inside a sentence of its own
/// that ends with a period (`Invalid value for "x" parameter: <text>.`, `Call to function
/// "f" failed: <text>.`), so the text's own final period is dropped.
fn error_to_pb(e: FunctionError) -> pb::FunctionError {
    let text = e.text.trim_end();
    let text = text.strip_suffix('.').filter(|t| !t.ends_with('.')).unwrap_or(text).to_string();
    pb::FunctionError { text, function_argument: e.argument.and_then(|i| i64::try_from(i).ok()) }
}

impl<P: Provider> ProviderService<P> {
    /// The result of calling function `r.name`, or its error.
    pub(super) fn function_result(&self, r: &pb::call_function::Request) -> Result<pb::DynamicValue, pb::FunctionError> {
        let Some((f, sig)) = self.functions.get(&r.name) else {
            return Err(error_to_pb(FunctionError::new(format!("This provider has no function named \"{}\".", r.name))));
        };
        let mut args = Vec::with_capacity(r.arguments.len());
        for (i, dv) in r.arguments.iter().enumerate() {
            let Some(p) = parameter_for(sig, i) else {
                return Err(error_to_pb(FunctionError::new(format!(
                    "{} takes {} arguments, got {}",
                    r.name,
                    sig.parameters.len(),
                    r.arguments.len()
                ))));
            };
            let v = decode_dv(Some(dv), &p.ty, &format!("argument \"{}\"", p.name)).map_err(|d| {
                let text = d.iter().map(|d| format!("{}: {}", d.summary, d.detail)).collect::<Vec<_>>().join("; ");
                error_to_pb(FunctionError::at(i, text))
            })?;
            args.push(v);
        }
        let encode = |v: &Value| {
            encode_dv(v, &sig.returns, "function result").map_err(|d| {
                let text = d.iter().map(|d| format!("{}: {}", d.summary, d.detail)).collect::<Vec<_>>().join("; ");
                error_to_pb(FunctionError::new(text))
            })
        };
        match check_arguments(sig, &args).map_err(error_to_pb)? {
            None => encode(&Value::unknown()),
            Some(()) => {
                let out = f.call(&args).map_err(error_to_pb)?;
                encode(&out)
            }
        }
    }
}
