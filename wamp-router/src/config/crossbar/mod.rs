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

mod auth;
mod realm;
#[cfg(test)]
mod tests;
mod transport;

use std::path::Path;

use serde_json::{Map, Value as Json};

use super::ConfigError;
use crate::{Listener, RouterBuilder};

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
}

impl Crossbar {
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

/// A JSON scalar as a WAMP value (SCRAM credentials are strings and numbers).
fn json_scalar(v: &Json) -> Option<wamp_runtime::Value> {
    match v {
        Json::String(s) => Some(wamp_runtime::Value::Str(s.clone())),
        Json::Number(n) => n.as_u64().map(wamp_runtime::Value::from),
        _ => None,
    }
}
