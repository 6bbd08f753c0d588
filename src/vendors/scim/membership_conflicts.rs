//! Detects, while Terraform plans, a group whose membership is managed both
//! authoritatively (`identity_scim_group.members`) and additively
//! (`identity_scim_group_member`, `identity_scim_user_group_memberships`) for a user the
//! authoritative list leaves out. Each apply of one would undo the other, so the user
//! would flip between member and not member; the plan warns instead.
//!
//! Terraform plans every resource of a configuration through one provider process, so
//! the claims of one plan meet here. Whichever of two conflicting resources is planned
//! second warns (a claim is never withdrawn within a process: a plan is one process).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use crate::tfplugin::{AttrPath, Diagnostic};

/// The membership claims of the resources planned so far in this process.
#[derive(Debug, Default)]
pub struct MembershipClaims {
    inner: Mutex<Claims>,
}

#[derive(Debug, Default)]
struct Claims {
    /// Group id -> its authoritative member list.
    authoritative: HashMap<String, BTreeSet<String>>,
    /// Group id -> users added to it by additive resources.
    additive: HashMap<String, BTreeSet<String>>,
}

/// The warning for `users` added to `group` by additive resources but left out of its
/// authoritative `members`.
fn conflict(group: &str, users: &BTreeSet<String>, at: &str) -> Diagnostic {
    let list = users.iter().map(|u| format!("\"{u}\"")).collect::<Vec<_>>().join(", ");
    Diagnostic::warning(
        "Group membership managed in two places",
        format!(
            "Group {group} has an authoritative `members` list on identity_scim_group, and identity_scim_group_member or \
             identity_scim_user_group_memberships also add user(s) {list} to it, which the list leaves out. Each apply of one \
             undoes the other: the user(s) would be removed and added again on alternate applies. Manage this group's \
             membership in one place (see the membership guide)."
        ),
    )
    .at(AttrPath::attrs(&[at]))
}

impl MembershipClaims {
    /// `group` has the authoritative member list `members`; returns the warning if
    /// additive resources planned earlier add users it leaves out.
    pub fn authoritative(&self, group: &str, members: &BTreeSet<String>) -> Option<Diagnostic> {
        let Ok(mut c) = self.inner.lock() else { return None };
        c.authoritative.insert(group.to_string(), members.clone());
        let outside: BTreeSet<String> = c.additive.get(group)?.difference(members).cloned().collect();
        (!outside.is_empty()).then(|| conflict(group, &outside, "members"))
    }

    /// An additive resource adds `user` to each of `groups`; returns a warning per group
    /// whose authoritative list (planned earlier) leaves the user out.
    pub fn additive(&self, user: &str, groups: &BTreeSet<String>, at: &str) -> Vec<Diagnostic> {
        let Ok(mut c) = self.inner.lock() else { return Vec::new() };
        let mut out = Vec::new();
        for g in groups {
            c.additive.entry(g.clone()).or_default().insert(user.to_string());
            if let Some(members) = c.authoritative.get(g)
                && !members.contains(user)
            {
                out.push(conflict(g, &[user.to_string()].into_iter().collect(), at));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(xs: &[&str]) -> BTreeSet<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_second_of_two_conflicting_resources_warns_whatever_the_order() {
        let c = MembershipClaims::default();
        assert!(c.authoritative("g", &set(&["u1"])).is_none());
        assert!(c.additive("u1", &set(&["g"]), "group_id").is_empty(), "a listed user agrees with the list");
        assert_eq!(c.additive("u2", &set(&["g", "h"]), "group_ids").len(), 1, "u2 is left out of g's list");

        let c = MembershipClaims::default();
        assert!(c.additive("u2", &set(&["g"]), "user_id").is_empty());
        let w = c.authoritative("g", &set(&["u1"])).expect("a warning");
        assert!(format!("{w:?}").contains("u2"), "{w:?}");
        assert!(c.authoritative("h", &set(&[])).is_none(), "another group");
    }
}
