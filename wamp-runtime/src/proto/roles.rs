//! The roles and features a peer announces in HELLO or WELCOME (`Details.roles`): the
//! dictionaries are built and read here, for the client and the router alike.

use super::value::{Dict, Value};

/// Builds a `roles` dictionary: each role with the features it announces as `true`.
pub fn announce(roles: &[(&str, &[&str])]) -> Dict {
    let mut out = Dict::new();
    for (role, features) in roles {
        let f: Dict = features
            .iter()
            .map(|n| ((*n).to_owned(), Value::Bool(true)))
            .collect();
        let mut r = Dict::new();
        r.insert("features".into(), Value::Dict(f));
        out.insert((*role).to_owned(), Value::Dict(r));
    }
    out
}

/// The roles a peer announced, read from HELLO or WELCOME details.
#[derive(Debug, Clone, Copy)]
pub struct Announced<'a> {
    roles: Option<&'a Dict>,
}

impl<'a> Announced<'a> {
    /// The `roles` of `details`.
    pub fn of(details: &'a Dict) -> Self {
        Self {
            roles: details.get("roles").and_then(Value::as_dict),
        }
    }

    /// Whether the peer announced `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.is_some_and(|r| r.contains_key(role))
    }

    /// Whether the peer announced `feature` as `true` for `role`.
    pub fn has(&self, role: &str, feature: &str) -> bool {
        self.roles
            .and_then(|r| r.get(role))
            .and_then(Value::as_dict)
            .and_then(|r| r.get("features"))
            .and_then(Value::as_dict)
            .and_then(|f| f.get(feature))
            .and_then(Value::as_bool)
            == Some(true)
    }

    /// Whether `role` announced call canceling, which the spec spells two ways.
    pub fn cancels(&self, role: &str) -> bool {
        self.has(role, "call_canceling") || self.has(role, "call_cancelling")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_features_are_found() {
        let mut details = Dict::new();
        let roles = announce(&[("callee", &["call_cancelling", "registration_revocation"])]);
        details.insert("roles".into(), Value::Dict(roles));
        let a = Announced::of(&details);
        assert!(a.has_role("callee") && !a.has_role("caller"));
        assert!(a.has("callee", "registration_revocation"));
        assert!(!a.has("callee", "shared_registration"));
        assert!(a.cancels("callee"));
    }
}
