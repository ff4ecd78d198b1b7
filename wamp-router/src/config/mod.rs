//! The configuration file (`wamp-router --config router.toml`): TOML read into a model,
//! checked, and turned into a [`RouterBuilder`]. Every error names the file, the line, the
//! column and the key. `examples/router.toml` documents each key.

mod crossbar;
mod listener;
mod model;

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use wamp_runtime::proto::uri::{self, MatchPolicy, UriRule};

use crate::{Action, Permission, RouterBuilder, SlowConsumer};
use model::{
    ActionName, ClusterSection, DurationValue, File, HistorySection, PolicyName, RoleSection,
    RouterSection, SlowConsumerValue,
};

/// A configuration file that cannot be used: where, and why.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// The line (from 1).
    pub line: usize,
    /// The column (from 1).
    pub column: usize,
    /// The key at fault (`listener.address`), or the text found there.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let file = self.file.display();
        match self.line {
            0 if self.key.is_empty() => write!(f, "{file}: {}", self.message),
            0 => write!(f, "{file}: {}: {}", self.key, self.message),
            line => write!(
                f,
                "{file}:{line}:{}: {}: {}",
                self.column, self.key, self.message
            ),
        }
    }
}

/// Reads, checks and applies a configuration file.
pub(crate) fn load(path: &Path) -> Result<RouterBuilder, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_owned(),
        line: 0,
        column: 0,
        key: String::new(),
        message: e.to_string(),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    // Crossbar.io's config.json, or our TOML.
    let json = path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    if json {
        return crossbar::parse(&text, path, base);
    }
    parse(&text, path, base)
}

/// Checks and applies the text of a configuration file; `base` is where relative paths
/// start.
pub(crate) fn parse(text: &str, file: &Path, base: &Path) -> Result<RouterBuilder, ConfigError> {
    let at = Locator { text, file };
    let model: File = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        at.error(span, None, e.message().to_owned())
    })?;
    build(model, &at, base)
}

/// Turns byte offsets into lines and columns for errors.
struct Locator<'a> {
    text: &'a str,
    file: &'a Path,
}

impl Locator<'_> {
    fn error(
        &self,
        span: std::ops::Range<usize>,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> ConfigError {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let key = key.map(str::to_owned).unwrap_or_else(|| {
            // The key written on that line, or the line itself (a table header).
            let text = self.text[line_start..].lines().next().unwrap_or_default();
            match text.split_once('=') {
                Some((k, _)) => k.trim().to_owned(),
                None => text.trim().to_owned(),
            }
        });
        ConfigError {
            file: self.file.to_owned(),
            line,
            column,
            key,
            message: message.into(),
        }
    }

    fn at<T>(&self, value: &Spanned<T>, key: &str, message: impl Into<String>) -> ConfigError {
        self.error(value.span(), Some(key), message)
    }
}

fn duration(at: &Locator, v: &Spanned<DurationValue>, key: &str) -> Result<Duration, ConfigError> {
    let bad = || {
        at.at(
            v,
            key,
            "a duration is seconds (10, 0.5) or a string like \"500ms\", \"10s\", \"2m\", \"1h\", \"7d\"",
        )
    };
    let secs = match v.get_ref() {
        DurationValue::Seconds(s) => *s,
        DurationValue::Text(t) => {
            let t = t.trim();
            let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
                (n, 0.001)
            } else if let Some(n) = t.strip_suffix('s') {
                (n, 1.0)
            } else if let Some(n) = t.strip_suffix('m') {
                (n, 60.0)
            } else if let Some(n) = t.strip_suffix('h') {
                (n, 3600.0)
            } else if let Some(n) = t.strip_suffix('d') {
                (n, 86_400.0)
            } else {
                return Err(bad());
            };
            number.trim().parse::<f64>().map_err(|_| bad())? * scale
        }
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(bad());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

fn positive(at: &Locator, v: &Spanned<usize>, key: &str) -> Result<usize, ConfigError> {
    match *v.get_ref() {
        0 => Err(at.at(v, key, "must be at least 1")),
        n => Ok(n),
    }
}

fn build(model: File, at: &Locator, base: &Path) -> Result<RouterBuilder, ConfigError> {
    let b = router_section(crate::Router::builder(), &model.router, at)?;
    let (mut b, realms) = realm_sections(b, &model, at)?;
    b = principal_sections(b, &model, &realms, at)?;
    for l in &model.listener {
        b = b.listener(listener::listener_section(l, &realms, at, base)?);
    }
    if let Some(c) = &model.cluster {
        b = b.cluster(cluster_section(c, at, base)?);
    }
    Ok(b)
}

/// `[cluster]`: NATS, the cluster's name, this node's label.
fn cluster_section(
    c: &ClusterSection,
    at: &Locator,
    base: &Path,
) -> Result<crate::Cluster, ConfigError> {
    let mut cluster = crate::Cluster::nats(c.nats.clone());
    if let Some(ca) = &c.ca {
        cluster = cluster.ca(base.join(ca.get_ref()));
    }
    if let Some(name) = &c.name {
        cluster = cluster.name(name.get_ref().clone());
        let checked = cluster.validate();
        checked.map_err(|e| at.at(name, "cluster.name", e))?;
    }
    if let Some(node) = &c.node {
        cluster = cluster.node(node.get_ref().clone());
        let checked = cluster.validate();
        checked.map_err(|e| at.at(node, "cluster.node", e))?;
    }
    if let Some(t) = &c.node_timeout {
        cluster = cluster.node_timeout(duration(at, t, "cluster.node_timeout")?);
    }
    Ok(cluster)
}

/// `[router]`: limits, timeouts and defaults.
fn router_section(
    mut b: RouterBuilder,
    r: &RouterSection,
    at: &Locator,
) -> Result<RouterBuilder, ConfigError> {
    if let Some(v) = &r.max_message_size {
        b = b.max_message_size(positive(at, v, "router.max_message_size")?);
    }
    if let Some(v) = &r.hello_timeout {
        b = b.hello_timeout(duration(at, v, "router.hello_timeout")?);
    }
    if let Some(v) = &r.auth_timeout {
        b = b.auth_timeout(duration(at, v, "router.auth_timeout")?);
    }
    if let Some(v) = &r.write_timeout {
        b = b.write_timeout(duration(at, v, "router.write_timeout")?);
    }
    if let Some(v) = &r.outbound_queue {
        b = b.outbound_queue(positive(at, v, "router.outbound_queue")?);
    }
    if let Some(v) = &r.max_pending_calls {
        b = b.max_pending_calls(positive(at, v, "router.max_pending_calls")?);
    }
    if let Some(v) = &r.max_subscriptions {
        b = b.max_subscriptions(positive(at, v, "router.max_subscriptions")?);
    }
    if let Some(v) = &r.max_registrations {
        b = b.max_registrations(positive(at, v, "router.max_registrations")?);
    }
    if let Some(p) = &r.slow_consumer {
        b = b.slow_consumer(match p {
            SlowConsumerValue::Drop => SlowConsumer::DropEvents,
            SlowConsumerValue::Disconnect => SlowConsumer::Disconnect,
        });
    }
    if let Some(d) = r.disclose_caller {
        b = b.disclose_caller(d);
    }
    if let Some(d) = r.disclose_publisher {
        b = b.disclose_publisher(d);
    }
    if let Some(a) = &r.anonymous {
        b = b.anonymous(a.role());
    }
    if let Some(addr) = r.metrics {
        b = b.metrics(addr);
    }

    Ok(b)
}

/// `[[realm]]`, each with its roles: the builder, and the realms' names.
fn realm_sections<'m>(
    mut b: RouterBuilder,
    model: &'m File,
    at: &Locator,
) -> Result<(RouterBuilder, Vec<&'m str>), ConfigError> {
    if model.realm.is_empty() {
        return Err(at.error(0..0, Some("realm"), "at least one [[realm]] is needed"));
    }
    let mut realms: Vec<&str> = Vec::new();
    for realm in &model.realm {
        let name = realm.name.get_ref();
        if !uri::is_valid_uri(name, UriRule::Loose) {
            return Err(at.at(
                &realm.name,
                "realm.name",
                format!("{name:?} is not a valid realm URI"),
            ));
        }
        if realms.contains(&name.as_str()) {
            return Err(at.at(
                &realm.name,
                "realm.name",
                format!("realm {name:?} is defined twice"),
            ));
        }
        realms.push(name);
        b = b.realm(name.clone());
        if let Some(a) = &realm.anonymous {
            b = b.anonymous_in(name, a.role());
        }
        if realm.validate_payloads {
            b = b.validate_payloads(name);
        }
        for h in &realm.history {
            b = b.event_history(name, history(h, at)?);
        }
        for role in &realm.role {
            if let Some(procedure) = &role.authorizer {
                if !role.permissions.is_empty() {
                    let text = "a role has permissions or an authorizer, not both";
                    return Err(at.at(procedure, "realm.role.authorizer", text));
                }
                if !uri::is_valid_uri(procedure.get_ref(), UriRule::Loose) {
                    let text = "not a valid procedure URI";
                    return Err(at.at(procedure, "realm.role.authorizer", text));
                }
                b = b.role_authorizer(name, role.name.get_ref(), procedure.get_ref());
            }
            let permissions = role_permissions(role, at)?;
            b = b.role(name, role.name.get_ref(), permissions);
            if role.disclose_caller.is_some() || role.disclose_publisher.is_some() {
                b = b.role_disclosure(
                    name,
                    role.name.get_ref(),
                    role.disclose_caller,
                    role.disclose_publisher,
                );
            }
        }
    }
    Ok((b, realms))
}

/// One `[[realm.history]]`.
fn history(h: &HistorySection, at: &Locator) -> Result<crate::EventHistory, ConfigError> {
    let uri = h.uri.get_ref();
    let policy = match h.policy {
        None | Some(PolicyName::Exact) => MatchPolicy::Exact,
        Some(PolicyName::Prefix) => MatchPolicy::Prefix,
        Some(PolicyName::Wildcard) => MatchPolicy::Wildcard,
    };
    if !uri::is_valid_pattern(uri, UriRule::Loose, policy) {
        let text = format!("{uri:?} is not a valid {} topic pattern", policy.as_str());
        return Err(at.at(&h.uri, "realm.history.uri", text));
    }
    let mut history = crate::EventHistory::new(uri.clone(), policy);
    if let Some(limit) = &h.limit {
        if *limit.get_ref() == 0 {
            return Err(at.at(limit, "realm.history.limit", "must be at least 1"));
        }
        history = history.limit(*limit.get_ref());
    }
    if let Some(age) = &h.max_age {
        history = history.max_age(duration(at, age, "realm.history.max_age")?);
    }
    Ok(history)
}

/// The permissions of one `[[realm.role]]`.
fn role_permissions(role: &RoleSection, at: &Locator) -> Result<Vec<Permission>, ConfigError> {
    let mut permissions = Vec::new();
    for p in &role.permissions {
        let (u, policy) = permission_uri(p.uri.get_ref(), p.policy);
        // An empty prefix is every URI (the first permission of most Crossbar.io
        // configurations).
        let every = u.is_empty() && policy == MatchPolicy::Prefix;
        if !every && !uri::is_valid_pattern(&u, UriRule::Loose, policy) {
            return Err(at.at(
                &p.uri,
                "permissions.uri",
                format!(
                    "{:?} is not a valid URI for match = {:?}",
                    p.uri.get_ref(),
                    policy.as_str()
                ),
            ));
        }
        let mut perm = Permission::new(u, policy);
        for a in &p.allow {
            perm = perm.allow(match a {
                ActionName::Call => Action::Call,
                ActionName::Register => Action::Register,
                ActionName::Publish => Action::Publish,
                ActionName::Subscribe => Action::Subscribe,
            });
        }
        permissions.push(perm);
    }
    Ok(permissions)
}

/// `[[principal]]`: who can authenticate, in which realm, with which role.
fn principal_sections(
    mut b: RouterBuilder,
    model: &File,
    realms: &[&str],
    at: &Locator,
) -> Result<RouterBuilder, ConfigError> {
    let role_of = |realm: &str, role: &str| {
        model
            .realm
            .iter()
            .find(|r| r.name.get_ref() == realm)
            .is_some_and(|r| r.role.is_empty() || r.role.iter().any(|x| x.name.get_ref() == role))
    };

    for p in &model.principal {
        let (realm, authid, role) = (p.realm.get_ref(), p.authid.get_ref(), p.role.get_ref());
        if !realms.contains(&realm.as_str()) {
            return Err(at.at(
                &p.realm,
                "principal.realm",
                format!("no [[realm]] is named {realm:?}"),
            ));
        }
        if !role_of(realm, role) {
            return Err(at.at(
                &p.role,
                "principal.role",
                format!("realm {realm:?} has no role {role:?}"),
            ));
        }
        if p.ticket.is_none() && p.wampcra.is_none() && p.cryptosign.is_none() && p.scram.is_none()
        {
            return Err(at.at(
                &p.authid,
                "principal",
                format!(
                    "principal {authid:?} has no ticket, wampcra, cryptosign or scram credentials"
                ),
            ));
        }
        if let Some(s) = &p.scram {
            let c = s.get_ref();
            let mut d = wamp_runtime::Dict::new();
            d.insert("kdf".into(), c.kdf.clone().into());
            d.insert("iterations".into(), u64::from(c.iterations).into());
            if let Some(m) = c.memory {
                d.insert("memory".into(), u64::from(m).into());
            }
            d.insert("salt".into(), c.salt.clone().into());
            d.insert("stored_key".into(), c.stored_key.clone().into());
            d.insert("server_key".into(), c.server_key.clone().into());
            let credential =
                crate::auth::scram_credential(&d).map_err(|e| at.at(s, "principal.scram", e))?;
            b = b.scram_principal(realm, authid, credential, role);
        }
        if let Some(t) = &p.ticket {
            b = b.ticket_principal(realm, authid, t, role);
        }
        if let Some(w) = &p.wampcra {
            b = match &w.salt {
                None => b.wampcra_principal(realm, authid, &w.secret, role),
                Some(salt) => b.wampcra_salted_principal(
                    realm,
                    authid,
                    &w.secret,
                    salt,
                    w.iterations.unwrap_or(1000),
                    w.keylen.unwrap_or(32),
                    role,
                ),
            };
        }
        if let Some(keys) = &p.cryptosign {
            for key in keys.get_ref() {
                b = b
                    .cryptosign_principal(realm, authid, key, role)
                    .map_err(|e| at.at(keys, "principal.cryptosign", e.to_string()))?;
            }
        }
    }

    Ok(b)
}

/// A permission's URI and match policy. Without `match`, Crossbar.io's star syntax
/// applies: `"*"` is every URI, a trailing `*` a prefix (`"com.example.*"`), a `*` in
/// place of components a wildcard (`"com.*.status"`); a URI without stars is exact.
fn permission_uri(uri: &str, policy: Option<PolicyName>) -> (String, MatchPolicy) {
    match policy {
        Some(PolicyName::Exact) => (uri.to_owned(), MatchPolicy::Exact),
        Some(PolicyName::Prefix) => (uri.to_owned(), MatchPolicy::Prefix),
        Some(PolicyName::Wildcard) => (uri.to_owned(), MatchPolicy::Wildcard),
        None => match uri.find('*') {
            None => (uri.to_owned(), MatchPolicy::Exact),
            Some(i) if i + 1 == uri.len() => (uri[..i].to_owned(), MatchPolicy::Prefix),
            Some(_) => (uri.replace('*', ""), MatchPolicy::Wildcard),
        },
    }
}

#[cfg(test)]
mod tests;
