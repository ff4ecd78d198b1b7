//! The configuration file (`wamp-router --config router.toml`): TOML read into a model,
//! checked, and turned into a [`RouterBuilder`]. Every error names the file, the line, the
//! column and the key. `examples/router.toml` documents each key.

mod crossbar;
mod model;

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use wamp_runtime::proto::uri::{self, MatchPolicy, UriRule};

use crate::{
    Action, AuthMethod, Authenticator, Listener, Permission, RouterBuilder, ServerTls, SlowConsumer,
};
use model::{
    ActionName, AuthenticatorSection, ClusterSection, DurationValue, File, HistorySection,
    ListenerSection, ListenerType, MethodName, PathKind, PolicyName, RoleSection, RouterSection,
    SerializerName, SlowConsumerValue,
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
        b = b.listener(listener_section(l, &realms, at, base)?);
    }
    if let Some(c) = &model.cluster {
        b = b.cluster(cluster_section(c, at)?);
    }
    Ok(b)
}

/// `[cluster]`: NATS, the cluster's name, this node's label.
fn cluster_section(c: &ClusterSection, at: &Locator) -> Result<crate::Cluster, ConfigError> {
    let mut cluster = crate::Cluster::nats(c.nats.clone());
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

/// One `[[listener]]`.
fn listener_section(
    l: &ListenerSection,
    realms: &[&str],
    at: &Locator,
    base: &Path,
) -> Result<Listener, ConfigError> {
    let mut listener = match (l.kind.get_ref(), &l.address, &l.path) {
            (ListenerType::Websocket, Some(a), None) => Listener::websocket(*a.get_ref()),
            (ListenerType::Rawsocket, Some(a), None) => Listener::rawsocket(*a.get_ref()),
            (ListenerType::Rawsocket, None, Some(p)) => Listener::rawsocket_unix(base.join(p.get_ref())),
            (ListenerType::Websocket, _, Some(p)) => {
                return Err(at.at(p, "listener.path", "a WebSocket listener takes an address, not a path"))
            }
            _ => {
                return Err(at.at(&l.kind, "listener", "a listener needs either address = \"host:port\" or (rawsocket only) path = \"/socket\""))
            }
        };
    listener = endpoint(
        listener,
        Endpoint {
            serializers: l.serializers.as_ref(),
            auth: l.auth.as_ref(),
            max_message_size: l.max_message_size.as_ref(),
            max_sessions: l.max_sessions.as_ref(),
            authenticator: l.authenticator.as_ref(),
        },
        realms,
        at,
    )?;
    for p in &l.paths {
        if !matches!(l.kind.get_ref(), ListenerType::Websocket) {
            return Err(at.at(
                &p.path,
                "listener.paths",
                "paths are for WebSocket listeners",
            ));
        }
        let path = p.path.get_ref();
        if !path.starts_with('/') {
            return Err(at.at(&p.path, "listener.paths.path", "a URL path starts with /"));
        }
        listener = match &p.static_dir {
            Some(dir) => {
                if p.serializers.is_some()
                    || p.auth.is_some()
                    || p.authenticator.is_some()
                    || p.kind.is_some()
                {
                    let text = "a static path serves files: WebSocket settings do not apply";
                    return Err(at.at(dir, "listener.paths.static", text));
                }
                let full = base.join(dir.get_ref());
                if !full.is_dir() {
                    let text = format!("{} is not a directory", full.display());
                    return Err(at.at(dir, "listener.paths.static", text));
                }
                listener.static_path(path, full)
            }
            None => {
                let e = endpoint(
                    Listener::endpoint(),
                    Endpoint {
                        serializers: p.serializers.as_ref(),
                        auth: p.auth.as_ref(),
                        max_message_size: p.max_message_size.as_ref(),
                        max_sessions: p.max_sessions.as_ref(),
                        authenticator: p.authenticator.as_ref(),
                    },
                    realms,
                    at,
                )?;
                match p.kind.as_ref().map(|k| *k.get_ref()) {
                    Some(PathKind::Longpoll) => listener.longpoll_path(path, e),
                    _ => listener.websocket_path(path, e),
                }
            }
        };
    }
    if let Some(dir) = &l.static_dir {
        if !matches!(l.kind.get_ref(), ListenerType::Websocket) {
            return Err(at.at(
                dir,
                "listener.static",
                "static files are for WebSocket listeners",
            ));
        }
        let path = base.join(dir.get_ref());
        if !path.is_dir() {
            let text = format!("{} is not a directory", path.display());
            return Err(at.at(dir, "listener.static", text));
        }
        listener = listener.static_files(path);
    }
    if let Some(t) = &l.tls {
        if l.path.is_some() {
            return Err(at.at(&t.certificate, "listener.tls", "TLS is for TCP listeners"));
        }
        let cert = base.join(t.certificate.get_ref());
        let key = base.join(t.key.get_ref());
        let tls = ServerTls::from_pem_files(&cert, &key)
            .map_err(|e| at.at(&t.certificate, "listener.tls", e.to_string()))?;
        listener = listener.tls(tls);
    }
    Ok(listener)
}

/// The WebSocket or RawSocket settings of a listener, or of one of its paths.
struct Endpoint<'a> {
    serializers: Option<&'a Spanned<Vec<SerializerName>>>,
    auth: Option<&'a Spanned<Vec<MethodName>>>,
    max_message_size: Option<&'a Spanned<usize>>,
    max_sessions: Option<&'a Spanned<usize>>,
    authenticator: Option<&'a AuthenticatorSection>,
}

fn endpoint(
    mut listener: Listener,
    e: Endpoint<'_>,
    realms: &[&str],
    at: &Locator,
) -> Result<Listener, ConfigError> {
    if let Some(s) = e.serializers {
        if s.get_ref().is_empty() {
            return Err(at.at(s, "listener.serializers", "allow at least one serializer"));
        }
        listener = listener.serializers(s.get_ref().iter().map(|&s| s.into()));
    }
    if let Some(m) = e.auth {
        if m.get_ref().is_empty() {
            return Err(at.at(
                m,
                "listener.auth",
                "offer at least one authentication method",
            ));
        }
        listener = listener.auth_methods(m.get_ref().iter().map(|&m| m.into()));
    }
    if let Some(v) = e.max_message_size {
        listener = listener.max_message_size(positive(at, v, "listener.max_message_size")?);
    }
    if let Some(v) = e.max_sessions {
        listener = listener.max_sessions(positive(at, v, "listener.max_sessions")?);
    }
    if let Some(a) = e.authenticator {
        if !realms.contains(&a.realm.get_ref().as_str()) {
            return Err(at.at(
                &a.realm,
                "authenticator.realm",
                format!("no [[realm]] is named {:?}", a.realm.get_ref()),
            ));
        }
        if !uri::is_valid_uri(a.procedure.get_ref(), UriRule::Loose) {
            return Err(at.at(
                &a.procedure,
                "authenticator.procedure",
                "not a valid procedure URI",
            ));
        }
        let methods: Vec<AuthMethod> = a.methods.get_ref().iter().map(|&m| m.into()).collect();
        if methods.is_empty() || methods.contains(&AuthMethod::Anonymous) {
            return Err(at.at(
                &a.methods,
                "authenticator.methods",
                "list one or more of \"ticket\", \"wampcra\", \"cryptosign\", \"wamp-scram\"",
            ));
        }
        listener = listener.authenticator(Authenticator::new(
            a.procedure.get_ref().clone(),
            a.realm.get_ref().clone(),
            methods,
        ));
    }
    Ok(listener)
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
mod tests {
    use super::*;

    fn check(text: &str) -> Result<RouterBuilder, ConfigError> {
        parse(text, Path::new("router.toml"), Path::new("."))
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let e = check("[[realm]]\nname = \"realm1\"\n\n[[listener]]\ntype = \"websocket\"\naddress = \"nowhere\"\n")
            .expect_err("bad address");
        assert_eq!((e.line, e.key.as_str()), (6, "address"), "{e}");
        let e = check("[[realm]]\nname = \"realm1\"\n[[principal]]\nauthid = \"a\"\nrealm = \"realm2\"\nrole = \"x\"\nticket = \"t\"\n")
            .expect_err("unknown realm");
        assert_eq!((e.line, e.key.as_str()), (5, "principal.realm"), "{e}");
        let e = check("[router]\nhelo_timeout = 3\n[[realm]]\nname = \"r\"\n").expect_err("typo");
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("helo_timeout"), "{e}");
        let e = check("[router]\nhello_timeout = \"soon\"\n[[realm]]\nname = \"r\"\n")
            .expect_err("duration");
        assert_eq!((e.line, e.key.as_str()), (2, "router.hello_timeout"), "{e}");
        assert!(e.to_string().starts_with("router.toml:2:"), "{e}");
    }

    #[test]
    fn the_cluster_section() {
        let realm = "[[realm]]\nname = \"r\"\n";
        let text = format!("{realm}[cluster]\nnats = \"nats://10.0.0.1:4222\"\nname = \"eu\"\nnode = \"a-1\"\nnode_timeout = \"6s\"\n");
        let c = check(&text)
            .expect("valid")
            .config
            .cluster
            .expect("a cluster");
        assert_eq!(
            (c.nats.as_str(), c.name.as_str(), c.node.as_str()),
            ("nats://10.0.0.1:4222", "eu", "a-1")
        );
        assert_eq!(c.node_timeout, Duration::from_secs(6));
        let bad = format!("{realm}[cluster]\nnats = \"nats://x\"\nname = \"e.u\"\n");
        let e = check(&bad).expect_err("a dot in the name");
        assert_eq!((e.line, e.key.as_str()), (5, "cluster.name"), "{e}");
        let missing = format!("{realm}[cluster]\nname = \"eu\"\n");
        assert!(check(&missing).is_err(), "nats is required");
        assert!(check(realm).expect("valid").config.cluster.is_none());
    }

    #[test]
    fn listener_paths() {
        let text = "[[realm]]\nname = \"r\"\n[[listener]]\ntype = \"websocket\"\naddress = \"127.0.0.1:0\"\n[[listener.paths]]\npath = \"/ws\"\nserializers = [\"json\"]\nauth = [\"ticket\"]\n[[listener.paths]]\npath = \"/\"\nstatic = \".\"\n";
        let b = check(text).expect("valid");
        assert_eq!(b.listeners[0].paths.len(), 2);
        let bad = text.replace("static = \".\"", "static = \".\"\nauth = [\"ticket\"]");
        assert_eq!(check(&bad).expect_err("mixed").key, "listener.paths.static");
        let raw = text.replace("type = \"websocket\"", "type = \"rawsocket\"");
        assert_eq!(check(&raw).expect_err("rawsocket").key, "listener.paths");
    }

    #[test]
    fn a_role_with_an_authorizer() {
        let ok = "[[realm]]\nname = \"r\"\n[[realm.role]]\nname = \"u\"\nauthorizer = \"com.example.authorize\"\n";
        let b = check(ok).expect("valid");
        let roles = b.config.roles.get("r").expect("roles");
        assert_eq!(roles.authorizer("u"), Some("com.example.authorize"));
        let both = format!(
            "{ok}permissions = [{{ uri = \"\", match = \"prefix\", allow = [\"call\"] }}]\n"
        );
        let e = check(&both).expect_err("both");
        assert_eq!(e.key, "realm.role.authorizer", "{e}");
        let bad = ok.replace("com.example.authorize", "com..authorize");
        assert_eq!(
            check(&bad).expect_err("bad URI").key,
            "realm.role.authorizer"
        );
    }

    #[test]
    fn scram_principals_are_checked() {
        let head = "[[realm]]\nname = \"r\"\n[[realm.role]]\nname = \"u\"\n[[principal]]\nauthid = \"a\"\nrealm = \"r\"\nrole = \"u\"\n";
        let key = "00".repeat(32);
        for (scram, why) in [
            (format!("{{ kdf = \"scrypt\", iterations = 1, salt = \"0011223344556677\", stored_key = \"{key}\", server_key = \"{key}\" }}"), "kdf"),
            (format!("{{ kdf = \"argon2id13\", iterations = 1, salt = \"0011223344556677\", stored_key = \"{key}\", server_key = \"{key}\" }}"), "memory"),
            (format!("{{ kdf = \"pbkdf2\", iterations = 1, salt = \"00\", stored_key = \"{key}\", server_key = \"{key}\" }}"), "salt"),
            (format!("{{ kdf = \"pbkdf2\", iterations = 1, salt = \"0011223344556677\", stored_key = \"00\", server_key = \"{key}\" }}"), "stored"),
        ] {
            let e = check(&format!("{head}scram = {scram}\n")).expect_err(why);
            assert_eq!((e.line, e.key.as_str()), (9, "principal.scram"), "{why}: {e}");
        }
    }

    #[test]
    fn the_history_sections() {
        let text = "[[realm]]\nname = \"r\"\n[[realm.history]]\nuri = \"com.log\"\n[[realm.history]]\nuri = \"com.feed.\"\nmatch = \"prefix\"\nlimit = 500\nmax_age = \"1h\"\n";
        let b = check(text).expect("valid");
        let h = b.config.history.get("r").expect("kept");
        assert_eq!(
            h,
            &vec![
                crate::EventHistory::new("com.log", MatchPolicy::Exact),
                crate::EventHistory::new("com.feed.", MatchPolicy::Prefix)
                    .limit(500)
                    .max_age(Duration::from_secs(3600)),
            ]
        );
        let bad = "[[realm]]\nname = \"r\"\n[[realm.history]]\nuri = \"com..log\"\n";
        let e = check(bad).expect_err("not an exact URI");
        assert_eq!((e.line, e.key.as_str()), (4, "realm.history.uri"), "{e}");
        let zero = "[[realm]]\nname = \"r\"\n[[realm.history]]\nuri = \"a\"\nlimit = 0\n";
        assert_eq!(check(zero).expect_err("zero").key, "realm.history.limit");
    }

    #[test]
    fn crossbar_star_uris() {
        let (exact, prefix, wild) = (
            MatchPolicy::Exact,
            MatchPolicy::Prefix,
            MatchPolicy::Wildcard,
        );
        assert_eq!(permission_uri("*", None), (String::new(), prefix));
        assert_eq!(permission_uri("com.a.*", None), ("com.a.".into(), prefix));
        assert_eq!(permission_uri("com.*.x", None), ("com..x".into(), wild));
        assert_eq!(permission_uri("com.a", None), ("com.a".into(), exact));
        let given = Some(PolicyName::Prefix);
        assert_eq!(permission_uri("com.*", given), ("com.*".into(), prefix));
    }

    #[test]
    fn the_documented_example_is_valid() {
        let text = include_str!("../../../examples/router.toml");
        let b = check(text).unwrap_or_else(|e| panic!("examples/router.toml: {e}"));
        assert_eq!(b.listeners.len(), 2);
    }

    #[test]
    fn a_full_file_is_accepted() {
        let text = r#"
[router]
hello_timeout = "5s"
auth_timeout = 3
slow_consumer = "disconnect"
anonymous = false
metrics = "127.0.0.1:9464"
max_subscriptions = 100
max_registrations = 10

[[listener]]
type = "websocket"
address = "127.0.0.1:0"
serializers = ["json", "cbor"]
auth = ["ticket", "cryptosign"]
max_sessions = 10

[[realm]]
name = "realm1"
anonymous = "guest"
[[realm.role]]
name = "user"
disclose_caller = false
permissions = [
  { uri = "com.example.", match = "prefix", allow = ["call", "subscribe"] },
  { uri = "com..status", match = "wildcard", allow = ["publish"] },
]

[[principal]]
authid = "alice"
realm = "realm1"
role = "user"
ticket = "secret"
wampcra = { secret = "s", salt = "salt", iterations = 100, keylen = 16 }
cryptosign = ["545efb0a2192db8d43f118e9bf9aee081466e1ef36c708b96ee6f62dddad9122"]
scram = { kdf = "pbkdf2", iterations = 4096, salt = "0011223344556677", stored-key = "84bfd3be3ec73c01291012f1c6efe9c046af686c0f4c6ff7eb447d258b33f590", server_key = "d0b352a239d888ddf4b449d7c1280b7c0b85af185ef49900a4a873bf8e1d1d3f" }
"#;
        let b = check(text).expect("valid");
        assert_eq!(b.listeners.len(), 1);
        assert_eq!(b.config.metrics, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(b.config.max_subscriptions, Some(100));
        assert_eq!(b.config.max_registrations, Some(10));
        let e = check(&text.replace("545efb", "zz5efb")).expect_err("bad key");
        assert_eq!(e.key, "principal.cryptosign");
    }
}
