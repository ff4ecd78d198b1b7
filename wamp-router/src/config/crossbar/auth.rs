//! The `auth` section of a transport: the anonymous role, static principals (applied once
//! the realms are known) and dynamic authenticators.

use serde_json::{Map, Value as Json};

use super::{json_scalar, object, string, warn, At, Crossbar, Principal, Secret};
use crate::auth::{AuthMethod, Authenticator};
use crate::config::ConfigError;
use crate::Listener;

impl Crossbar {
    pub(super) fn set_anonymous(
        &mut self,
        at: &At<'_>,
        role: &str,
        key: &str,
    ) -> Result<(), ConfigError> {
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
    pub(super) fn auth_method(
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

    pub(super) fn principals(
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
}
