//! A router worker's realms: their roles (permissions or an authorizer) and their store
//! (the event history).

use serde_json::Value as Json;
use wamp_runtime::proto::uri::{self, MatchPolicy, UriRule};

use super::{object, string, warn, At, Crossbar};
use crate::config::ConfigError;
use crate::{Action, EventHistory, Permission, RouterBuilder};

impl Crossbar {
    pub(super) fn realm(&mut self, at: &At<'_>, r: &Json, key: &str) -> Result<(), ConfigError> {
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
            None => crate::config::permission_uri(uri_text, None),
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
