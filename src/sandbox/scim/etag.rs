//! Versions and preconditions (RFC 7644 section 3.14, RFC 7232).
//!
//! A user's or group's version is an opaque 32-hex value, new at every change (OCI IAM's
//! `meta.version` has that shape). It is shown as a weak entity tag, `W/"<hex>"`, the same
//! in `meta.version` and in the `ETag` header, as RFC 7644 section 3.14 has it.
//!
//! [`Preconditions`] come from `If-Match` / `If-None-Match`, or from a Bulk operation's
//! `version` (an `If-Match`). Tags compare weakly (their opaque parts, `W/` or not, as RFC
//! 7644 section 3.14 compares its weak tags). A bare value without quotes, as a client
//! copying OCI IAM's bare `meta.version` might send, is taken as the tag it stands for.
//! - `If-Match` that names no current tag (`*` names any): 412, whatever the method.
//! - `If-None-Match` that names the current tag (or `*`): 304 for a GET, 412 otherwise.
//!
//! Preconditions are checked after the checks a request fails anyway (404 for an unknown
//! resource, 400 for an invalid body, 409 for a taken name), right before the change, as
//! RFC 7232 section 5 orders them.

use axum::http::{HeaderMap, StatusCode, header};

use super::ScimError;

/// The entity tag of a stored version: `W/"<version>"`.
pub fn entity_tag(version: &str) -> String {
    format!("W/\"{version}\"")
}

/// The opaque part of an entity tag (`W/"x"`, `"x"`) or of a bare value (`x`).
pub fn opaque(tag: &str) -> &str {
    let t = tag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(t)
}

/// A list of entity tags from a header: `*` or tags separated by commas.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tags {
    Any,
    List(Vec<String>),
}

impl Tags {
    fn parse(values: &[&str]) -> Tags {
        let mut tags = Vec::new();
        for v in values {
            let mut rest = v.trim();
            while !rest.is_empty() {
                rest = rest.trim_start_matches([',', ' ', '\t']);
                if rest.is_empty() {
                    break;
                }
                if let Some(after) = rest.strip_prefix('*').map(str::trim_start) {
                    if after.is_empty() || after.starts_with(',') {
                        return Tags::Any;
                    }
                }
                let body = rest.strip_prefix("W/").unwrap_or(rest);
                let (tag, tail) = match body.strip_prefix('"') {
                    // A quoted opaque tag ends at the next quote (commas may be inside).
                    Some(q) => match q.find('"') {
                        Some(end) => (&q[..end], &q[end + 1..]),
                        None => (q, ""),
                    },
                    // A bare value ends at the next comma.
                    None => match body.find(',') {
                        Some(end) => (body[..end].trim(), &body[end..]),
                        None => (body.trim(), ""),
                    },
                };
                tags.push(tag.to_string());
                rest = tail;
            }
        }
        Tags::List(tags)
    }

    fn matches(&self, current: &str) -> bool {
        match self {
            Tags::Any => true,
            Tags::List(tags) => tags.iter().any(|t| t == current),
        }
    }

    fn describe(&self) -> String {
        match self {
            Tags::Any => "*".to_string(),
            Tags::List(tags) => tags.iter().map(|t| entity_tag(t)).collect::<Vec<_>>().join(", "),
        }
    }
}

/// Why a request's preconditions stop it.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// `If-None-Match` names the current version of what a GET reads: 304.
    NotModified,
    /// 412, with this error.
    Failed(ScimError),
}

/// The preconditions of one request or Bulk operation; none by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    if_match: Option<Tags>,
    if_none_match: Option<Tags>,
}

impl Preconditions {
    /// `If-Match` and `If-None-Match` (each may be repeated).
    pub fn from_headers(headers: &HeaderMap) -> Preconditions {
        let tags = |name| {
            let values: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
            (!values.is_empty()).then(|| Tags::parse(&values))
        };
        Preconditions { if_match: tags(header::IF_MATCH), if_none_match: tags(header::IF_NONE_MATCH) }
    }

    /// A Bulk operation's `version` (RFC 7644 section 3.7), which acts as `If-Match`.
    pub fn if_match(version: &str) -> Preconditions {
        Preconditions { if_match: Some(Tags::parse(&[version])), if_none_match: None }
    }

    /// Checks them against `current`, the stored version of the resource a request
    /// targets; `read` for a GET (where a matching `If-None-Match` is a 304).
    pub fn check(&self, read: bool, current: &str) -> Result<(), Stop> {
        if let Some(tags) = &self.if_match {
            if !tags.matches(current) {
                return Err(Stop::Failed(failed(format!(
                    "The resource changed on the server: its version is {}, If-Match names {}.",
                    entity_tag(current),
                    tags.describe()
                ))));
            }
        }
        if let Some(tags) = &self.if_none_match {
            if tags.matches(current) {
                if read {
                    return Err(Stop::NotModified);
                }
                return Err(Stop::Failed(failed(format!(
                    "If-None-Match names the current version of the resource ({}).",
                    if *tags == Tags::Any { "*".to_string() } else { entity_tag(current) }
                ))));
            }
        }
        Ok(())
    }

    /// [`check`](Self::check) for a change (PUT, PATCH, DELETE), where every stop is a 412.
    pub fn check_change(&self, current: &str) -> Result<(), ScimError> {
        match self.check(false, current) {
            Ok(()) => Ok(()),
            Err(Stop::Failed(e)) => Err(e),
            Err(Stop::NotModified) => Err(failed("The precondition does not hold.".to_string())),
        }
    }
}

fn failed(detail: String) -> ScimError {
    ScimError::new(StatusCode::PRECONDITION_FAILED, None, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Tags {
        Tags::List(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn parses_entity_tag_lists() {
        assert_eq!(Tags::parse(&["*"]), Tags::Any);
        assert_eq!(Tags::parse(&[" * "]), Tags::Any);
        assert_eq!(Tags::parse(&["W/\"a\""]), list(&["a"]));
        assert_eq!(Tags::parse(&["\"a\", W/\"b\",\"c,d\""]), list(&["a", "b", "c,d"]));
        assert_eq!(Tags::parse(&["W/\"a\"", "\"b\""]), list(&["a", "b"]));
        assert_eq!(Tags::parse(&["abc"]), list(&["abc"]), "a bare value is the tag it stands for");
        assert_eq!(Tags::parse(&["abc, \"d\""]), list(&["abc", "d"]));
        assert_eq!(Tags::parse(&["\"unterminated"]), list(&["unterminated"]));
        assert_eq!(Tags::parse(&[""]), list(&[]));
    }

    #[test]
    fn opaque_parts() {
        assert_eq!(opaque("W/\"ab\""), "ab");
        assert_eq!(opaque("\"ab\""), "ab");
        assert_eq!(opaque("ab"), "ab");
        assert_eq!(entity_tag("ab"), "W/\"ab\"");
    }

    #[test]
    fn evaluates_preconditions() {
        let p = |m: Option<&str>, n: Option<&str>| Preconditions {
            if_match: m.map(|v| Tags::parse(&[v])),
            if_none_match: n.map(|v| Tags::parse(&[v])),
        };
        assert_eq!(p(None, None).check(false, "v1"), Ok(()));
        assert_eq!(p(Some("W/\"v1\""), None).check(false, "v1"), Ok(()));
        assert_eq!(p(Some("\"v1\""), None).check(false, "v1"), Ok(()), "weak comparison");
        assert_eq!(p(Some("*"), None).check(false, "v1"), Ok(()));
        assert!(
            matches!(p(Some("W/\"v0\""), None).check(false, "v1"), Err(Stop::Failed(e)) if e.status == StatusCode::PRECONDITION_FAILED)
        );
        assert!(matches!(p(Some("W/\"v0\""), None).check(true, "v1"), Err(Stop::Failed(_))));
        assert_eq!(p(None, Some("W/\"v1\"")).check(true, "v1"), Err(Stop::NotModified));
        assert_eq!(p(None, Some("*")).check(true, "v1"), Err(Stop::NotModified));
        assert_eq!(p(None, Some("W/\"v0\"")).check(true, "v1"), Ok(()));
        assert!(matches!(p(None, Some("*")).check(false, "v1"), Err(Stop::Failed(_))));
        assert!(p(None, Some("W/\"v1\"")).check_change("v1").is_err());
        assert_eq!(Preconditions::if_match("W/\"v1\"").check(false, "v1"), Ok(()));
        assert!(Preconditions::if_match("W/\"v0\"").check_change("v1").is_err());
    }
}
