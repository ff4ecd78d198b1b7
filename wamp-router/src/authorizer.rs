//! Authorization: each realm's roles, and the check of every REGISTER, CALL, PUBLISH and
//! SUBSCRIBE against the session's role: its static permissions, or the decisions of its
//! dynamic authorizer (a procedure, as in Crossbar.io), which are kept here: cached per
//! role, URI and action when the authorizer says so, else for the one request they were
//! asked for. A realm without roles is open to everyone.

use foldhash::HashMap;

use wamp_runtime::proto::uri::{self, MatchPolicy};

/// What a session asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// CALL a procedure.
    Call,
    /// REGISTER a procedure.
    Register,
    /// PUBLISH to a topic.
    Publish,
    /// SUBSCRIBE to a topic.
    Subscribe,
}

impl Action {
    /// Its name, as a dynamic authorizer is told it.
    pub fn name(self) -> &'static str {
        match self {
            Action::Call => "call",
            Action::Register => "register",
            Action::Publish => "publish",
            Action::Subscribe => "subscribe",
        }
    }
}

/// One permission of a role: a URI (exact, prefix or wildcard) and the actions allowed on
/// it. For a URI, the exact permission wins, then the longest prefix, then the wildcard
/// with the most fixed components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    uri: String,
    policy: MatchPolicy,
    allow: [bool; 4],
}

impl Permission {
    /// Nothing allowed on `uri` (matched by `policy`) yet.
    pub fn new(uri: impl Into<String>, policy: MatchPolicy) -> Self {
        Self {
            uri: uri.into(),
            policy,
            allow: [false; 4],
        }
    }

    /// Everything allowed on `uri`.
    pub fn all(uri: impl Into<String>, policy: MatchPolicy) -> Self {
        Self {
            allow: [true; 4],
            ..Self::new(uri, policy)
        }
    }

    /// Allows `action`.
    pub fn allow(mut self, action: Action) -> Self {
        self.allow[action as usize] = true;
        self
    }

    fn matches(&self, target: &str) -> bool {
        uri::matches(&self.uri, self.policy, target)
    }

    /// How specific a match is: exact first, then longer prefixes, then wildcards with more
    /// fixed components.
    fn rank(&self) -> (u8, usize) {
        match self.policy {
            MatchPolicy::Exact => (2, 0),
            MatchPolicy::Prefix => (1, self.uri.len()),
            MatchPolicy::Wildcard => (0, self.uri.split('.').filter(|c| !c.is_empty()).count()),
        }
    }
}

/// The roles of one realm.
#[derive(Debug, Clone, Default)]
pub(crate) struct Roles {
    roles: HashMap<String, Vec<Permission>>,
    /// Per role: whether its calls and publications disclose it, unasked (`None`: the
    /// router's setting).
    disclosure: HashMap<String, (Option<bool>, Option<bool>)>,
    /// The roles decided by an authorizer procedure, and its URI.
    authorizers: HashMap<String, String>,
}

/// A dynamic authorizer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub allow: bool,
    /// Whether the call or publication discloses its session (`None`: the role's or the
    /// router's setting).
    pub disclose: Option<bool>,
}

/// The most cached decisions a realm keeps; past it the cache starts over.
const MAX_CACHED: usize = 65_536;

/// The decisions of a realm's dynamic authorizers.
#[derive(Debug, Default)]
pub(crate) struct Decisions {
    /// By role, action and URI, for good (the authorizer said `cache: true`).
    cached: HashMap<(String, Action, String), Decision>,
    /// By session, action and URI: for the request being handled.
    once: HashMap<(wamp_runtime::proto::Id, Action, String), Decision>,
}

impl Decisions {
    /// The decision for `session` (of `role`) doing `action` on `target`, if there is one.
    pub fn get(
        &self,
        session: wamp_runtime::proto::Id,
        role: &str,
        action: Action,
        target: &str,
    ) -> Option<Decision> {
        // Nothing decided (no dynamic role, or none asked yet): no key is built.
        if self.once.is_empty() && self.cached.is_empty() {
            return None;
        }
        let once = self.once.get(&(session, action, target.to_owned()));
        once.or_else(|| {
            self.cached
                .get(&(role.to_owned(), action, target.to_owned()))
        })
        .copied()
    }

    /// Keeps a decision: for this request, and for the role when `cache`.
    pub fn record(
        &mut self,
        session: wamp_runtime::proto::Id,
        role: &str,
        action: Action,
        target: &str,
        decision: Decision,
        cache: bool,
    ) {
        if cache {
            if self.cached.len() >= MAX_CACHED {
                tracing::warn!(entries = MAX_CACHED, "authorizer cache full: starting over");
                self.cached.clear();
            }
            self.cached
                .insert((role.to_owned(), action, target.to_owned()), decision);
        }
        self.once
            .insert((session, action, target.to_owned()), decision);
    }

    /// Forgets the decision for the request handled.
    pub fn forget(&mut self, session: wamp_runtime::proto::Id, action: Action, target: &str) {
        self.once.remove(&(session, action, target.to_owned()));
    }
}

impl Roles {
    /// Sets the disclosure of `role`'s callers and publishers.
    pub fn disclose(&mut self, role: &str, caller: Option<bool>, publisher: Option<bool>) {
        self.disclosure.insert(role.to_owned(), (caller, publisher));
    }

    /// Whether `role` discloses its calls (`caller`) or publications, if it says.
    pub fn disclosure(&self, role: &str, caller: bool) -> Option<bool> {
        let (c, p) = self.disclosure.get(role)?;
        if caller {
            *c
        } else {
            *p
        }
    }

    /// Has `procedure` decide what `role` may do.
    pub fn set_authorizer(&mut self, role: &str, procedure: &str) {
        self.authorizers
            .insert(role.to_owned(), procedure.to_owned());
    }

    /// Whether some role is decided by a procedure.
    pub fn has_authorizers(&self) -> bool {
        !self.authorizers.is_empty()
    }

    /// The authorizer procedure of `role`, if a procedure decides for it.
    pub fn authorizer(&self, role: &str) -> Option<&str> {
        self.authorizers.get(role).map(String::as_str)
    }

    pub fn define(&mut self, role: &str, permissions: Vec<Permission>) {
        self.roles
            .entry(role.to_owned())
            .or_default()
            .extend(permissions);
    }

    /// Whether `role` may do `action` on `target`; `Err` says why not.
    pub fn check(&self, role: &str, action: Action, target: &str) -> Result<(), String> {
        if self.roles.is_empty() && self.authorizers.is_empty() {
            return Ok(());
        }
        let Some(perms) = self.roles.get(role) else {
            return Err(format!("role {role:?} has no permissions in this realm"));
        };
        let best = perms
            .iter()
            .filter(|p| p.matches(target))
            .max_by_key(|p| p.rank());
        match best {
            Some(p) if p.allow[action as usize] => Ok(()),
            _ => Err(format!(
                "role {role:?} may not {} {target:?}",
                action.name()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_permission_decides() {
        let mut r = Roles::default();
        assert!(
            r.check("anyone", Action::Call, "x").is_ok(),
            "no roles: open"
        );
        r.define(
            "user",
            vec![
                Permission::all("com.app.", MatchPolicy::Prefix),
                Permission::new("com.app.admin.", MatchPolicy::Prefix),
                Permission::new("com.app.admin.status", MatchPolicy::Exact).allow(Action::Call),
                Permission::new("com..public", MatchPolicy::Wildcard).allow(Action::Subscribe),
            ],
        );
        assert!(r.check("user", Action::Publish, "com.app.news").is_ok());
        assert!(r
            .check("user", Action::Call, "com.app.admin.reset")
            .is_err());
        assert!(r
            .check("user", Action::Call, "com.app.admin.status")
            .is_ok());
        assert!(r
            .check("user", Action::Register, "com.app.admin.status")
            .is_err());
        assert!(r.check("user", Action::Subscribe, "com.x.public").is_ok());
        assert!(r.check("user", Action::Publish, "com.x.public").is_err());
        assert!(r.check("user", Action::Call, "org.other").is_err());
        assert!(r.check("guest", Action::Call, "com.app.x").is_err());
    }
}
