//! Crossbar.io's own node configuration (`.crossbar/config.json`, version 2), read into the
//! same builder the TOML file makes: the router workers' realms (roles, permissions,
//! authorizers, event history), their transports (WebSocket, RawSocket, `web` and
//! `universal`, on TCP or Unix endpoints, TLS, serializers, `max_message_size`, the `web`
//! paths), and their
//! authentication (anonymous, ticket, WAMP-CRA, cryptosign, SCRAM; static principals and
//! dynamic authenticators).
//!
//! What this router does not do is said at start, with the key's path: a warning when
//! leaving it out cannot let anyone do more (components, other workers, node info pages),
//! an error when it could (an unknown permission key, an authentication type it cannot
//! check, settings that differ per transport where this router has one).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use serde_json::{Map, Value as Json};
use wamp_runtime::proto::uri::{self, MatchPolicy, UriRule};
use wamp_runtime::Serializer;

use super::ConfigError;
use crate::auth::{AuthMethod, Authenticator};
use crate::{Action, EventHistory, Listener, Permission, RouterBuilder, ServerTls};

/// Where a key is, and what is wrong with it.
struct At<'a> {
    file: &'a Path,
}

impl At<'_> {
    fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_owned(),
            line: 0,
            column: 0,
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

fn warn(key: &str, what: &str) {
    tracing::warn!(key, "Crossbar.io configuration: {what}");
}

/// Reads `text`, the JSON of a Crossbar.io node configuration.
pub(super) fn parse(text: &str, file: &Path, base: &Path) -> Result<RouterBuilder, ConfigError> {
    let at = At { file };
    let root: Json = serde_json::from_str(text).map_err(|e| ConfigError {
        file: file.to_owned(),
        line: e.line(),
        column: e.column(),
        key: String::new(),
        message: e.to_string(),
    })?;
    let root = object(&at, &root, "")?;
    match root.get("version").and_then(Json::as_u64) {
        Some(2) => {}
        _ => return Err(at.error("version", "only version 2 configurations are read")),
    }
    for (k, v) in root {
        match k.as_str() {
            "version" | "workers" | "$schema" => {}
            "controller" => {
                let empty = v.as_object().is_none_or(|o| o.keys().all(|k| k == "id"));
                if !empty {
                    warn("controller", "the node controller's settings are ignored");
                }
            }
            other => warn(other, "not read by this router, ignored"),
        }
    }
    let mut c = Crossbar {
        builder: crate::Router::builder(),
        realms: Vec::new(),
        anonymous: None,
        listeners: Vec::new(),
        seen: Vec::new(),
        pending_principals: Vec::new(),
    };
    let workers = match root.get("workers") {
        Some(Json::Array(w)) => w,
        _ => return Err(at.error("workers", "a list of workers is needed")),
    };
    for (i, w) in workers.iter().enumerate() {
        let key = format!("workers[{i}]");
        let w = object(&at, w, &key)?;
        match w.get("type").and_then(Json::as_str) {
            Some("router") => c.router_worker(&at, w, &key, base)?,
            Some(other) => warn(&key, &format!("{other} workers are not supported, skipped")),
            None => return Err(at.error(&key, "a worker needs a type")),
        }
    }
    c.finish(&at)
}

fn object<'j>(at: &At<'_>, v: &'j Json, key: &str) -> Result<&'j Map<String, Json>, ConfigError> {
    v.as_object()
        .ok_or_else(|| at.error(key, "an object is needed here"))
}

fn string<'j>(
    at: &At<'_>,
    o: &'j Map<String, Json>,
    k: &str,
    key: &str,
) -> Result<&'j str, ConfigError> {
    o.get(k)
        .and_then(Json::as_str)
        .ok_or_else(|| at.error(&format!("{key}.{k}"), "a string is needed"))
}

/// What the configuration says, gathered before the builder is made (the anonymous role
/// and the principals apply across transports).
struct Crossbar {
    builder: RouterBuilder,
    realms: Vec<String>,
    /// The anonymous role of the transports that allow anonymous sessions, and where it
    /// was set.
    anonymous: Option<(String, String)>,
    listeners: Vec<Listener>,
    /// Principals, once each: (realm or every realm, authid, method).
    seen: Vec<(Option<String>, String, &'static str)>,
    pending_principals: Vec<Principal>,
}

/// A principal of an `auth` section, applied once the realms are known.
struct Principal {
    realm: Option<String>,
    authid: String,
    role: String,
    secret: Secret,
    key: String,
}

enum Secret {
    Ticket(String),
    WampCra {
        secret: String,
        salt: Option<(String, u32, u32)>,
    },
    Cryptosign(Vec<String>),
    Scram(wamp_runtime::scram::Credential),
}

impl Crossbar {
    fn router_worker(
        &mut self,
        at: &At<'_>,
        w: &Map<String, Json>,
        key: &str,
        base: &Path,
    ) -> Result<(), ConfigError> {
        for (k, v) in w {
            let here = format!("{key}.{k}");
            match k.as_str() {
                "type" | "id" => {}
                "realms" => {
                    let realms = v
                        .as_array()
                        .ok_or_else(|| at.error(&here, "a list is needed"))?;
                    for (i, r) in realms.iter().enumerate() {
                        self.realm(at, r, &format!("{here}[{i}]"))?;
                    }
                }
                "transports" => {
                    let ts = v
                        .as_array()
                        .ok_or_else(|| at.error(&here, "a list is needed"))?;
                    for (i, t) in ts.iter().enumerate() {
                        self.transport(at, t, &format!("{here}[{i}]"), base)?;
                    }
                }
                "components" => {
                    if v.as_array().is_some_and(|c| !c.is_empty()) {
                        warn(
                            &here,
                            "components are not started by this router: run them as clients",
                        );
                    }
                }
                "options" => warn(&here, "worker options are ignored"),
                other => warn(
                    &here,
                    &format!("{other} is not read by this router, ignored"),
                ),
            }
        }
        Ok(())
    }

    fn realm(&mut self, at: &At<'_>, r: &Json, key: &str) -> Result<(), ConfigError> {
        let r = object(at, r, key)?;
        let name = string(at, r, "name", key)?.to_owned();
        if !uri::is_valid_uri(&name, UriRule::Loose) {
            return Err(at.error(
                &format!("{key}.name"),
                format!("{name:?} is not a realm URI"),
            ));
        }
        if self.realms.contains(&name) {
            return Err(at.error(
                &format!("{key}.name"),
                format!("realm {name:?} is defined twice"),
            ));
        }
        self.realms.push(name.clone());
        let mut b =
            std::mem::replace(&mut self.builder, crate::Router::builder()).realm(name.clone());
        // A Crossbar.io realm admits only the roles it lists: without any, nobody may do
        // anything (where this router's realm without roles is open).
        b = b.role(&name, "\u{0}closed", Vec::new());
        for (k, v) in r {
            let here = format!("{key}.{k}");
            match k.as_str() {
                "name" => {}
                "roles" => {
                    let roles = v
                        .as_array()
                        .ok_or_else(|| at.error(&here, "a list is needed"))?;
                    for (i, role) in roles.iter().enumerate() {
                        b = role_of(at, b, &name, role, &format!("{here}[{i}]"))?;
                    }
                }
                "store" => b = store(at, b, &name, v, &here)?,
                "options" => warn(&here, "realm options are ignored"),
                other => warn(
                    &here,
                    &format!("{other} is not read by this router, ignored"),
                ),
            }
        }
        self.builder = b;
        Ok(())
    }

    fn transport(
        &mut self,
        at: &At<'_>,
        t: &Json,
        key: &str,
        base: &Path,
    ) -> Result<(), ConfigError> {
        let t = object(at, t, key)?;
        let kind = string(at, t, "type", key)?;
        let endpoint = t
            .get("endpoint")
            .ok_or_else(|| at.error(&format!("{key}.endpoint"), "an endpoint is needed"))?;
        let endpoint = object(at, endpoint, &format!("{key}.endpoint"))?;
        let ekey = format!("{key}.endpoint");
        let (addr, unix, tls) = endpoint_of(at, endpoint, &ekey, base)?;
        let mut listener = match (kind, addr, &unix) {
            ("websocket" | "web" | "universal", Some(a), _) => Listener::websocket(a),
            ("rawsocket", Some(a), _) => Listener::rawsocket(a),
            ("rawsocket", None, Some(p)) => Listener::rawsocket_unix(p),
            ("websocket" | "web" | "universal", None, Some(_)) => {
                return Err(at.error(&ekey, "WebSocket over a Unix socket is not supported"))
            }
            (other, ..) if !matches!(other, "websocket" | "web" | "rawsocket" | "universal") => {
                warn(
                    key,
                    &format!("{other} transports are not supported, skipped"),
                );
                return Ok(());
            }
            _ => {
                return Err(at.error(
                    &ekey,
                    "a tcp endpoint with a port, or a unix one with a path",
                ))
            }
        };
        if let Some(tls) = tls {
            listener = listener.tls(tls);
        }
        match kind {
            "web" => {
                let paths = t.get("paths").and_then(Json::as_object).ok_or_else(|| {
                    at.error(&format!("{key}.paths"), "a web transport needs paths")
                })?;
                listener = self.web_paths(at, listener, paths, &format!("{key}.paths"), base)?;
            }
            "universal" => {
                if let Some(raw) = t.get("rawsocket") {
                    let rkey = format!("{key}.rawsocket");
                    let raw = object(at, raw, &rkey)?;
                    let e = self.wamp_endpoint(at, Listener::endpoint(), raw, &rkey)?;
                    listener = listener.with_rawsocket(e);
                }
                if let Some(ws) = t.get("websocket") {
                    let wkey = format!("{key}.websocket");
                    for (path, p) in object(at, ws, &wkey)? {
                        let pkey = format!("{wkey}.{path}");
                        let e = self.wamp_endpoint(
                            at,
                            Listener::endpoint(),
                            object(at, p, &pkey)?,
                            &pkey,
                        )?;
                        listener = listener.websocket_path(&url_path(path), e);
                    }
                }
                if let Some(web) = t.get("web") {
                    let wkey = format!("{key}.web");
                    let web = object(at, web, &wkey)?;
                    if let Some(paths) = web.get("paths").and_then(Json::as_object) {
                        listener =
                            self.web_paths(at, listener, paths, &format!("{wkey}.paths"), base)?;
                    }
                }
            }
            _ => listener = self.wamp_endpoint(at, listener, t, key)?,
        }
        for k in t.keys() {
            if !matches!(
                k.as_str(),
                "type"
                    | "endpoint"
                    | "paths"
                    | "serializers"
                    | "options"
                    | "auth"
                    | "url"
                    | "id"
                    | "debug"
            ) {
                warn(&format!("{key}.{k}"), "not read by this router, ignored");
            }
        }
        self.listeners.push(listener);
        Ok(())
    }

    /// A `web` transport's paths: WebSocket and long-poll endpoints, static directories.
    fn web_paths(
        &mut self,
        at: &At<'_>,
        mut listener: Listener,
        paths: &Map<String, Json>,
        key: &str,
        base: &Path,
    ) -> Result<Listener, ConfigError> {
        for (path, p) in paths {
            let pkey = format!("{key}.{path}");
            let p = object(at, p, &pkey)?;
            let url = url_path(path);
            match p.get("type").and_then(Json::as_str) {
                Some("websocket") => {
                    let e = self.wamp_endpoint(at, Listener::endpoint(), p, &pkey)?;
                    listener = listener.websocket_path(&url, e);
                }
                Some("longpoll") => {
                    let e = self.wamp_endpoint(at, Listener::endpoint(), p, &pkey)?;
                    listener = listener.longpoll_path(&url, e);
                }
                Some("static") => {
                    let dir = p.get("directory").and_then(Json::as_str).ok_or_else(|| {
                        at.error(
                            &format!("{pkey}.directory"),
                            "a directory is needed (package resources are not supported)",
                        )
                    })?;
                    let dir = base.join(dir);
                    if !dir.is_dir() {
                        let text = format!("{} is not a directory", dir.display());
                        return Err(at.error(&format!("{pkey}.directory"), text));
                    }
                    listener = listener.static_path(&url, dir);
                }
                Some(other) => warn(
                    &pkey,
                    &format!("{other} web services are not supported, skipped"),
                ),
                None => return Err(at.error(&pkey, "a web path needs a type")),
            }
        }
        Ok(listener)
    }

    /// The WAMP settings of a transport or web path: serializers, options, auth.
    fn wamp_endpoint(
        &mut self,
        at: &At<'_>,
        mut l: Listener,
        o: &Map<String, Json>,
        key: &str,
    ) -> Result<Listener, ConfigError> {
        if let Some(s) = o.get("serializers") {
            let list = s
                .as_array()
                .ok_or_else(|| at.error(&format!("{key}.serializers"), "a list is needed"))?;
            let mut ours = Vec::new();
            for name in list.iter().filter_map(Json::as_str) {
                match name {
                    "json" => ours.push(Serializer::Json),
                    "msgpack" => ours.push(Serializer::MsgPack),
                    "cbor" => ours.push(Serializer::Cbor),
                    other => warn(
                        &format!("{key}.serializers"),
                        &format!("{other} is not supported, left out"),
                    ),
                }
            }
            if ours.is_empty() {
                return Err(at.error(
                    &format!("{key}.serializers"),
                    "none of these serializers is supported (json, msgpack, cbor)",
                ));
            }
            l = l.serializers(ours);
        }
        if let Some(opts) = o.get("options").and_then(Json::as_object) {
            for (k, v) in opts {
                let here = format!("{key}.options.{k}");
                match k.as_str() {
                    "max_message_size" => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
                        Some(n) if n > 0 => l = l.max_message_size(n),
                        _ => return Err(at.error(&here, "a positive number of bytes is needed")),
                    },
                    _ => warn(&here, "not read by this router, ignored"),
                }
            }
        }
        let mut methods = Vec::new();
        match o.get("auth") {
            // As Crossbar.io: no auth section is anonymous access, role "anonymous".
            None => {
                methods.push(AuthMethod::Anonymous);
                self.set_anonymous(at, "anonymous", key)?;
            }
            Some(auth) => {
                let auth = object(at, auth, &format!("{key}.auth"))?;
                for (method, cfg) in auth {
                    let here = format!("{key}.auth.{method}");
                    let cfg = object(at, cfg, &here)?;
                    if let Some(m) = self.auth_method(at, &mut l, method, cfg, &here)? {
                        methods.push(m);
                    }
                }
                if methods.is_empty() {
                    return Err(at.error(
                        &format!("{key}.auth"),
                        "no authentication method this router supports",
                    ));
                }
            }
        }
        Ok(l.auth_methods(methods))
    }

    fn set_anonymous(&mut self, at: &At<'_>, role: &str, key: &str) -> Result<(), ConfigError> {
        match &self.anonymous {
            Some((r, where_)) if r != role => Err(at.error(
                key,
                format!("anonymous sessions get role {role:?} here but {r:?} at {where_}: this router has one anonymous role"),
            )),
            _ => {
                self.anonymous = Some((role.to_owned(), key.to_owned()));
                Ok(())
            }
        }
    }

    /// One method of an `auth` section: its principals or its authenticator.
    fn auth_method(
        &mut self,
        at: &At<'_>,
        l: &mut Listener,
        method: &str,
        cfg: &Map<String, Json>,
        key: &str,
    ) -> Result<Option<AuthMethod>, ConfigError> {
        let m = match method {
            "anonymous" => AuthMethod::Anonymous,
            "ticket" => AuthMethod::Ticket,
            "wampcra" => AuthMethod::WampCra,
            "cryptosign" => AuthMethod::Cryptosign,
            "scram" => AuthMethod::Scram,
            other => {
                warn(key, &format!("{other} authentication is not supported: clients offering only it are refused"));
                return Ok(None);
            }
        };
        let kind = cfg.get("type").and_then(Json::as_str).unwrap_or("static");
        match (m, kind) {
            (AuthMethod::Anonymous, "static") => {
                let role = cfg
                    .get("role")
                    .and_then(Json::as_str)
                    .unwrap_or("anonymous");
                self.set_anonymous(at, role, key)?;
            }
            (AuthMethod::Anonymous, _) => {
                return Err(at.error(
                    &format!("{key}.type"),
                    "anonymous authentication is static here",
                ))
            }
            (_, "static") => self.principals(at, m, cfg, key)?,
            (_, "dynamic") => {
                let procedure = string(at, cfg, "authenticator", key)?;
                let realm = cfg
                    .get("authenticator-realm")
                    .and_then(Json::as_str)
                    .map(str::to_owned)
                    .or_else(|| self.realms.first().cloned())
                    .ok_or_else(|| {
                        at.error(key, "a dynamic authenticator needs authenticator-realm")
                    })?;
                let mut methods = l
                    .authenticator
                    .as_ref()
                    .map(|a| a.methods.clone())
                    .unwrap_or_default();
                if let Some(a) = &l.authenticator {
                    if a.procedure != procedure || a.realm != realm {
                        return Err(at.error(
                            key,
                            "this router takes one dynamic authenticator per transport",
                        ));
                    }
                }
                methods.push(m);
                *l = l
                    .clone()
                    .authenticator(Authenticator::new(procedure, realm, methods));
            }
            (_, other) => {
                return Err(at.error(
                    &format!("{key}.type"),
                    format!("{other} authenticators are not supported (static and dynamic are)"),
                ))
            }
        }
        Ok(Some(m))
    }

    fn principals(
        &mut self,
        at: &At<'_>,
        m: AuthMethod,
        cfg: &Map<String, Json>,
        key: &str,
    ) -> Result<(), ConfigError> {
        let field = if m == AuthMethod::WampCra {
            "users"
        } else {
            "principals"
        };
        let Some(list) = cfg.get(field).and_then(Json::as_object) else {
            return Err(at.error(&format!("{key}.{field}"), "static principals are needed"));
        };
        for (authid, p) in list {
            let pkey = format!("{key}.{field}.{authid}");
            let p = object(at, p, &pkey)?;
            let role = string(at, p, "role", &pkey)?.to_owned();
            let realm = p.get("realm").and_then(Json::as_str).map(str::to_owned);
            let secret = match m {
                AuthMethod::Ticket => Secret::Ticket(string(at, p, "ticket", &pkey)?.to_owned()),
                AuthMethod::WampCra => {
                    let secret = string(at, p, "secret", &pkey)?.to_owned();
                    let salt = match p.get("salt").and_then(Json::as_str) {
                        None => None,
                        Some(s) => {
                            let n = |k: &str, d: u32| {
                                p.get(k)
                                    .and_then(Json::as_u64)
                                    .map_or(d, |v| u32::try_from(v).unwrap_or(d))
                            };
                            Some((s.to_owned(), n("iterations", 1000), n("keylen", 32)))
                        }
                    };
                    Secret::WampCra { secret, salt }
                }
                AuthMethod::Cryptosign => {
                    let keys = p
                        .get("authorized_keys")
                        .and_then(Json::as_array)
                        .ok_or_else(|| {
                            at.error(
                                &format!("{pkey}.authorized_keys"),
                                "a list of public keys is needed",
                            )
                        })?;
                    Secret::Cryptosign(
                        keys.iter()
                            .filter_map(Json::as_str)
                            .map(str::to_owned)
                            .collect(),
                    )
                }
                AuthMethod::Scram => {
                    let d: wamp_runtime::Dict = p
                        .iter()
                        .filter_map(|(k, v)| Some((k.clone(), json_scalar(v)?)))
                        .collect();
                    let c = crate::auth::scram_credential(&d).map_err(|e| at.error(&pkey, e))?;
                    Secret::Scram(c)
                }
                AuthMethod::Anonymous => continue,
            };
            let method = m.name();
            let id = (realm.clone(), authid.clone(), method);
            if self.seen.contains(&id) {
                // The same principal on several transports: once is enough.
                continue;
            }
            self.seen.push(id);
            self.pending_principals.push(Principal {
                realm,
                authid: authid.clone(),
                role,
                secret,
                key: pkey,
            });
        }
        Ok(())
    }

    fn finish(self, at: &At<'_>) -> Result<RouterBuilder, ConfigError> {
        let Crossbar {
            mut builder,
            realms,
            anonymous,
            listeners,
            pending_principals,
            ..
        } = self;
        if realms.is_empty() {
            return Err(at.error("workers", "no router worker defines a realm"));
        }
        if listeners.is_empty() {
            return Err(at.error(
                "workers",
                "no router worker has a transport this router serves",
            ));
        }
        builder = builder.anonymous(anonymous.as_ref().map(|(r, _)| r.as_str()));
        for p in pending_principals {
            let targets: Vec<&String> = match &p.realm {
                Some(r) if realms.contains(r) => vec![r],
                Some(r) => {
                    return Err(at.error(&format!("{}.realm", p.key), format!("no realm {r:?}")))
                }
                None => realms.iter().collect(),
            };
            for realm in targets {
                builder = match &p.secret {
                    Secret::Ticket(t) => builder.ticket_principal(realm, &p.authid, t, &p.role),
                    Secret::WampCra { secret, salt: None } => {
                        builder.wampcra_principal(realm, &p.authid, secret, &p.role)
                    }
                    Secret::WampCra {
                        secret,
                        salt: Some((salt, iterations, keylen)),
                    } => builder.wampcra_salted_principal(
                        realm,
                        &p.authid,
                        secret,
                        salt,
                        *iterations,
                        *keylen,
                        &p.role,
                    ),
                    Secret::Cryptosign(keys) => {
                        let mut b = builder;
                        for k in keys {
                            b = b
                                .cryptosign_principal(realm, &p.authid, k, &p.role)
                                .map_err(|e| {
                                    at.error(&format!("{}.authorized_keys", p.key), e.to_string())
                                })?;
                        }
                        b
                    }
                    Secret::Scram(c) => {
                        builder.scram_principal(realm, &p.authid, c.clone(), &p.role)
                    }
                };
            }
        }
        for l in listeners {
            builder = builder.listener(l);
        }
        Ok(builder)
    }
}

/// A `paths` key as a URL path (`"/"` is the root, `"ws"` is `/ws`).
fn url_path(key: &str) -> String {
    if key == "/" {
        "/".to_owned()
    } else {
        format!("/{}", key.trim_start_matches('/'))
    }
}

/// A JSON scalar as a WAMP value (SCRAM credentials are strings and numbers).
fn json_scalar(v: &Json) -> Option<wamp_runtime::Value> {
    match v {
        Json::String(s) => Some(wamp_runtime::Value::Str(s.clone())),
        Json::Number(n) => n.as_u64().map(wamp_runtime::Value::from),
        _ => None,
    }
}

/// A transport's endpoint: a TCP address (with TLS) or a Unix socket path.
#[allow(clippy::type_complexity)]
fn endpoint_of(
    at: &At<'_>,
    e: &Map<String, Json>,
    key: &str,
    base: &Path,
) -> Result<
    (
        Option<SocketAddr>,
        Option<std::path::PathBuf>,
        Option<ServerTls>,
    ),
    ConfigError,
> {
    let tls = match e.get("tls").and_then(Json::as_object) {
        None => None,
        Some(t) => {
            let cert = base.join(string(at, t, "certificate", &format!("{key}.tls"))?);
            let k = base.join(string(at, t, "key", &format!("{key}.tls"))?);
            for extra in t
                .keys()
                .filter(|k| !matches!(k.as_str(), "certificate" | "key"))
            {
                warn(
                    &format!("{key}.tls.{extra}"),
                    "not read by this router (rustls picks ciphers and versions)",
                );
            }
            Some(
                ServerTls::from_pem_files(&cert, &k)
                    .map_err(|err| at.error(&format!("{key}.tls"), err.to_string()))?,
            )
        }
    };
    match e.get("type").and_then(Json::as_str) {
        Some("tcp") => {
            let port = e
                .get("port")
                .and_then(Json::as_u64)
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| at.error(&format!("{key}.port"), "a port is needed"))?;
            let v6 = e.get("version").and_then(Json::as_u64) == Some(6);
            let interface = match e.get("interface").and_then(Json::as_str) {
                Some(i) => i.parse::<IpAddr>().map_err(|_| {
                    at.error(&format!("{key}.interface"), "an IP address is needed")
                })?,
                None if v6 => IpAddr::from([0u16; 8]),
                None => IpAddr::from([0u8; 4]),
            };
            Ok((Some(SocketAddr::new(interface, port)), None, tls))
        }
        Some("unix") => {
            if tls.is_some() {
                return Err(at.error(&format!("{key}.tls"), "TLS is for TCP endpoints"));
            }
            let path = base.join(string(at, e, "path", key)?);
            Ok((None, Some(path), None))
        }
        _ => Err(at.error(&format!("{key}.type"), "tcp or unix")),
    }
}

/// One role: its permissions, or its authorizer.
fn role_of(
    at: &At<'_>,
    mut b: RouterBuilder,
    realm: &str,
    role: &Json,
    key: &str,
) -> Result<RouterBuilder, ConfigError> {
    let role = object(at, role, key)?;
    let name = string(at, role, "name", key)?;
    for k in role.keys() {
        if !matches!(k.as_str(), "name" | "permissions" | "authorizer") {
            return Err(at.error(
                &format!("{key}.{k}"),
                "not understood by this router: refused rather than ignored (it is about access)",
            ));
        }
    }
    if let Some(a) = role.get("authorizer") {
        let procedure = a
            .as_str()
            .filter(|p| uri::is_valid_uri(p, UriRule::Loose))
            .ok_or_else(|| at.error(&format!("{key}.authorizer"), "a procedure URI is needed"))?;
        if role.contains_key("permissions") {
            return Err(at.error(key, "a role has permissions or an authorizer, not both"));
        }
        return Ok(b.role_authorizer(realm, name, procedure));
    }
    let perms = match role.get("permissions") {
        None => &Vec::new(),
        Some(Json::Array(p)) => p,
        Some(_) => return Err(at.error(&format!("{key}.permissions"), "a list is needed")),
    };
    let mut permissions = Vec::new();
    let mut disclose: Vec<(bool, bool)> = Vec::new();
    for (i, p) in perms.iter().enumerate() {
        let pkey = format!("{key}.permissions[{i}]");
        let p = object(at, p, &pkey)?;
        let uri_text = string(at, p, "uri", &pkey)?;
        let policy = match p.get("match").and_then(Json::as_str) {
            None => None,
            Some("exact") => Some(MatchPolicy::Exact),
            Some("prefix") => Some(MatchPolicy::Prefix),
            Some("wildcard") => Some(MatchPolicy::Wildcard),
            Some(other) => {
                return Err(at.error(&format!("{pkey}.match"), format!("unknown match {other:?}")))
            }
        };
        let (u, policy) = match policy {
            Some(p) => (uri_text.to_owned(), p),
            None => star(uri_text),
        };
        let mut perm = Permission::new(u, policy);
        match p.get("allow") {
            None => {}
            Some(Json::Object(allow)) => {
                for (action, v) in allow {
                    let a = match action.as_str() {
                        "call" => Action::Call,
                        "register" => Action::Register,
                        "publish" => Action::Publish,
                        "subscribe" => Action::Subscribe,
                        _ => {
                            return Err(at.error(
                                &format!("{pkey}.allow.{action}"),
                                "an action this router does not know: refused",
                            ))
                        }
                    };
                    if v.as_bool() == Some(true) {
                        perm = perm.allow(a);
                    }
                }
            }
            Some(_) => {
                return Err(at.error(&format!("{pkey}.allow"), "an object of actions is needed"))
            }
        }
        if let Some(d) = p.get("disclose").and_then(Json::as_object) {
            let flag = |k: &str| d.get(k).and_then(Json::as_bool) == Some(true);
            disclose.push((flag("caller"), flag("publisher")));
        } else {
            disclose.push((false, false));
        }
        for k in p.keys() {
            match k.as_str() {
                "uri" | "match" | "allow" | "disclose" => {}
                // A cache of static permissions changes nothing here.
                "cache" => {}
                _ => return Err(at.error(&format!("{pkey}.{k}"), "not understood by this router: refused rather than ignored (it is about access)")),
            }
        }
        permissions.push(perm);
    }
    // Disclosure is per role here: a role discloses what all its permissions disclose.
    if !disclose.is_empty() {
        let caller = disclose.iter().all(|d| d.0);
        let publisher = disclose.iter().all(|d| d.1);
        if disclose.iter().any(|d| d.0 != caller || d.1 != publisher) {
            warn(key, "permissions disclose differently: this router discloses per role, only what every permission discloses");
        }
        b = b.role_disclosure(realm, name, Some(caller), Some(publisher));
    }
    Ok(b.role(realm, name, permissions))
}

/// Crossbar.io's star syntax for a permission URI without `match`.
fn star(u: &str) -> (String, MatchPolicy) {
    match u.find('*') {
        None => (u.to_owned(), MatchPolicy::Exact),
        Some(i) if i + 1 == u.len() => (u[..i].to_owned(), MatchPolicy::Prefix),
        Some(_) => (u.replace('*', ""), MatchPolicy::Wildcard),
    }
}

/// A realm's `store`: the event history it keeps.
fn store(
    at: &At<'_>,
    mut b: RouterBuilder,
    realm: &str,
    s: &Json,
    key: &str,
) -> Result<RouterBuilder, ConfigError> {
    let s = object(at, s, key)?;
    match s.get("type").and_then(Json::as_str) {
        Some("memory") | None => {}
        Some(other) => warn(
            &format!("{key}.type"),
            &format!("{other} stores are kept in memory here"),
        ),
    }
    let limit = s
        .get("limit")
        .and_then(Json::as_u64)
        .and_then(|n| usize::try_from(n).ok());
    if let Some(list) = s.get("event-history").and_then(Json::as_array) {
        for (i, h) in list.iter().enumerate() {
            let hkey = format!("{key}.event-history[{i}]");
            let h = object(at, h, &hkey)?;
            let u = string(at, h, "uri", &hkey)?;
            let policy = match h.get("match").and_then(Json::as_str) {
                None | Some("exact") => MatchPolicy::Exact,
                Some("prefix") => MatchPolicy::Prefix,
                Some("wildcard") => MatchPolicy::Wildcard,
                Some(other) => {
                    return Err(
                        at.error(&format!("{hkey}.match"), format!("unknown match {other:?}"))
                    )
                }
            };
            let mut history = EventHistory::new(u, policy);
            if let Some(n) = h
                .get("limit")
                .and_then(Json::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .or(limit)
            {
                history = history.limit(n);
            }
            b = b.event_history(realm, history);
        }
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn read(text: &str) -> Result<RouterBuilder, ConfigError> {
        parse(text, Path::new("config.json"), Path::new("."))
    }

    /// A node configuration as Crossbar.io's documentation writes them.
    const NODE: &str = r#"{
      "version": 2,
      "controller": {"id": "node1"},
      "workers": [{
        "type": "router",
        "realms": [{
          "name": "realm1",
          "roles": [
            {"name": "anonymous", "permissions": [{"uri": "", "match": "prefix",
              "allow": {"call": true, "register": true, "publish": true, "subscribe": true},
              "disclose": {"caller": false, "publisher": false}, "cache": true}]},
            {"name": "user", "permissions": [{"uri": "com.example.*",
              "allow": {"call": true, "subscribe": true}}]},
            {"name": "partner", "authorizer": "com.example.authorize"}
          ],
          "store": {"type": "memory", "event-history": [{"uri": "com.example.log", "limit": 50}]}
        }],
        "transports": [{
          "type": "web",
          "endpoint": {"type": "tcp", "port": 0, "interface": "127.0.0.1"},
          "paths": {
            "ws": {"type": "websocket", "serializers": ["json", "msgpack", "ubjson"],
                   "options": {"max_message_size": 1048576, "auto_ping_interval": 10000},
                   "auth": {"ticket": {"type": "static", "principals": {
                     "alice": {"ticket": "secret", "role": "user"}}}}},
            "open": {"type": "websocket", "auth": {"anonymous": {"type": "static", "role": "anonymous"}}},
            "info": {"type": "nodeinfo"}
          }
        }, {
          "type": "rawsocket",
          "endpoint": {"type": "tcp", "port": 0, "interface": "127.0.0.1"},
          "auth": {"wampcra": {"type": "static", "users": {
            "joe": {"secret": "s", "role": "user", "salt": "salt", "iterations": 100, "keylen": 16}}}}
        }],
        "components": [{"type": "class", "classname": "app.Backend", "realm": "realm1"}]
      }, {"type": "guest", "executable": "node"}]
    }"#;

    #[test]
    fn a_documented_node_configuration_is_read() {
        let b = read(NODE).expect("valid");
        assert_eq!(b.realms, ["realm1"]);
        assert_eq!(b.listeners.len(), 2);
        let web = &b.listeners[0];
        assert_eq!(web.paths.len(), 2, "ws and open; nodeinfo is skipped");
        assert_eq!(b.config.auth.anonymous.as_deref(), Some("anonymous"));
        assert_eq!(b.config.auth.principals.len(), 2);
        let roles = b.config.roles.get("realm1").unwrap();
        assert_eq!(roles.authorizer("partner"), Some("com.example.authorize"));
        assert!(roles
            .check("anonymous", Action::Register, "any.thing")
            .is_ok());
        assert!(roles.check("user", Action::Call, "com.example.add").is_ok());
        assert!(roles
            .check("user", Action::Register, "com.example.add")
            .is_err());
        assert!(roles
            .check("nobody", Action::Call, "com.example.add")
            .is_err());
        assert_eq!(b.config.history.get("realm1").map(Vec::len), Some(1));
    }

    #[test]
    fn a_realm_without_roles_is_closed_as_in_crossbar() {
        let text = NODE.replace(r#""roles": ["#, r#""unused": ["#);
        // An unknown realm key is only a warning; roles gone means no role at all.
        let b = read(&text).expect("valid");
        let roles = b.config.roles.get("realm1").unwrap();
        assert!(roles.check("anonymous", Action::Call, "com.x").is_err());
    }

    #[test]
    fn what_could_open_access_is_refused_with_its_key() {
        let cases = [
            (NODE.replace(r#""version": 2"#, r#""version": 1"#), "version"),
            (
                NODE.replace(r#""cache": true"#, r#""validate": {"call": "x"}"#),
                "workers[0].realms[0].roles[0].permissions[0].validate",
            ),
            (
                NODE.replace(r#""allow": {"call": true, "subscribe": true}"#, r#""allow": {"call": true, "admin": true}"#),
                "workers[0].realms[0].roles[1].permissions[0].allow.admin",
            ),
            (
                NODE.replace(r#"{"type": "static", "principals": {
                     "alice""#, r#"{"type": "function", "principals": {
                     "alice""#),
                "workers[0].transports[0].paths.ws.auth.ticket.type",
            ),
            (
                NODE.replace(r#""role": "anonymous"}}}"#, r#""role": "user"}}}"#)
                    .replace(r#""auth": {"wampcra""#, r#""auth": {"anonymous": {"type": "static", "role": "anonymous"}, "wampcra""#),
                "workers[0].transports[1].auth.anonymous",
            ),
        ];
        for (text, key) in cases {
            let e = read(&text).expect_err(key);
            assert_eq!(e.key, key, "{e}");
            assert!(e.to_string().starts_with("config.json: "), "{e}");
        }
        let e = read("{ not json").expect_err("syntax");
        assert_eq!(e.line, 1, "{e}");
    }
}
