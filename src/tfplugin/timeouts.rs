//! The `timeouts = { create = "10m", ... }` attribute that resources which wait offer,
//! with Go-style durations ("90s", "10m", "1h30m").

use std::time::Duration;

use super::schema::Attribute;
use super::validator::Validator;
use super::value::Value;

/// Parses a Go-style duration: a sequence of number+unit pairs (`h`, `m`, `s`, `ms`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("{s:?} is not a duration like \"90s\", \"10m\" or \"1h30m\""));
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| format!("{s:?} is not a duration like \"90s\", \"10m\" or \"1h30m\""))?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return Err(format!("{s:?} is not a duration like \"90s\", \"10m\" or \"1h30m\" (units: h, m, s, ms)")),
        };
        rest = &rest[unit_len..];
        let part = Duration::try_from_secs_f64(n * secs).map_err(|_| format!("{s:?} is too long a duration"))?;
        total = total.checked_add(part).ok_or_else(|| format!("{s:?} is too long a duration"))?;
    }
    Ok(total)
}

/// The optional `timeouts` attribute for the given operations (e.g. `["create", "update"]`).
pub fn timeouts_attribute(ops: &[&str], default: Duration) -> Attribute {
    let default_text = format!("{}s", default.as_secs());
    Attribute::object(
        "timeouts",
        ops.iter()
            .map(|op| {
                Attribute::string(op)
                    .optional()
                    .describe(format!("How long {op} may wait, as a duration such as \"90s\" or \"10m\". Defaults to `{default_text}`."))
                    .validate(Validator::custom("a duration such as \"90s\", \"10m\" or \"1h30m\"", |v| {
                        v.as_str().map(parse_duration).transpose().map(drop)
                    }))
            })
            .collect(),
    )
    .optional()
    .describe("How long operations that wait may take.")
}

/// The timeout for `op` from a value holding a `timeouts` attribute.
pub fn timeout_for(resource: &Value, op: &str, default: Duration) -> Duration {
    resource.get("timeouts").get(op).as_str().and_then(|s| parse_duration(s).ok()).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        for bad in ["", "10", "m", "10x", "-1s", "1h 30m", "99999999999999999999h", "1e400s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
