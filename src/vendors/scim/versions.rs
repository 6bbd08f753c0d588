//! Optimistic concurrency for `identity_scim_user` and `identity_scim_group`.
//!
//! Every read, create and update of one of them keeps the object's `meta.version` (its
//! entity tag, RFC 7644 §3.14) in the resource's private state. An update or a delete
//! sends it back as `If-Match`, so a server that supports ETags changes nothing when the
//! object changed since Terraform read it, and answers 412 Precondition Failed. A server
//! that gives no version gets no `If-Match` (and one that ignores it behaves as before).
//!
//! A 412 is not always someone else's change, so the resource reads the object again
//! and decides:
//! - it already holds what the apply wanted: an earlier attempt of this same request was
//!   applied and its answer lost (the HTTP layer repeats a PatchOp whose answer did not
//!   come), so the change is done;
//! - what the resource manages is as Terraform last read it, and only something else
//!   changed (the members of a group whose members it does not manage, which membership
//!   resources change in the same apply; server-side metadata): the write is sent again,
//!   once, with the new version;
//! - otherwise it is a conflict: the error says so, and nothing is overwritten. The next
//!   plan refreshes and shows the real difference.

use serde::{Deserialize, Serialize};

use crate::http::ApiError;
use crate::tfplugin::Diagnostic;

/// The private state of a user or group resource.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Private {
    /// Set by an import until the next successful apply (see `identity_scim_user`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
    /// The `meta.version` Terraform last read, sent back as `If-Match`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Private {
    /// The private state as stored; anything unreadable (an older provider's) is empty.
    pub fn parse(bytes: &[u8]) -> Private {
        serde_json::from_slice(bytes).unwrap_or_default()
    }

    /// This private state with `version` (which replaces the one before).
    pub fn with_version(mut self, version: Option<&str>) -> Private {
        self.version = version.map(str::to_string);
        self
    }

    /// The bytes to store: never empty (an empty answer would keep the prior private state).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }
}

/// Whether the server refused a conditional write because the object changed (412).
pub fn is_stale(e: &ApiError) -> bool {
    e.status() == Some(412)
}

/// The error of a write refused because `what` changed on the server since Terraform
/// read it. `action` is "update" or "delete".
pub fn changed_on_server(what: &str, action: &str) -> Diagnostic {
    let mut title = what.to_string();
    if let Some(c) = title.get_mut(0..1) {
        c.make_ascii_uppercase();
    }
    Diagnostic::error(
        format!("{title} changed on the server"),
        format!(
            "{title} changed on the server since Terraform last read it, so the provider did not {action} it: the server \
             refused the request with 412 Precondition Failed (If-Match), and nothing was overwritten. Run `terraform plan` \
             again: it reads the current values and shows the real difference, which the next apply then makes."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_state_reads_what_older_versions_stored_and_is_never_empty() {
        assert_eq!(Private::parse(br#"{"imported":true}"#), Private { imported: true, version: None });
        assert_eq!(Private::parse(b"{}"), Private::default());
        assert_eq!(Private::parse(b""), Private::default());
        assert_eq!(Private::parse(b"not json"), Private::default());
        let p = Private::default().with_version(Some("W/\"3\""));
        assert_eq!(Private::parse(&p.to_bytes()), p);
        assert_eq!(Private::default().to_bytes(), b"{}");
    }

    #[test]
    fn the_conflict_says_nothing_was_overwritten_and_what_to_do() {
        let d = changed_on_server("the SCIM group \"eng\"", "update");
        assert_eq!(d.summary, "The SCIM group \"eng\" changed on the server");
        assert!(d.detail.contains("did not update it") && d.detail.contains("412") && d.detail.contains("nothing was overwritten"));
        assert!(d.detail.contains("terraform plan"));
    }
}
