//! Dynamic authentication: a WAMP procedure of a trusted session (as Crossbar.io's
//! dynamic authenticators) decides who a HELLO is, and may move it to another realm.

use wamp_runtime::client::Args;
use wamp_runtime::proto::{error, Dict, Id, Value};

use super::challenge::{cryptosign_challenge, scram_challenge};
use super::{
    challenge, hello_pubkey, identity_of, AuthMethod, Authenticator, Decision, Identity,
    PendingAuth, Principal, Proof, Refusal, Secret,
};
use crate::listener::settings::ConnectionInfo;
use crate::RouterInner;

/// Asks the authenticator about a HELLO: at once for `wampcra` and `cryptosign` (it gives
/// the secret or public key to challenge with), after the CHALLENGE for `ticket` (it checks
/// the ticket the client sends).
pub(super) async fn dynamic(
    router: &std::sync::Arc<RouterInner>,
    conn: &ConnectionInfo,
    authenticator: &Authenticator,
    (offered, method): (&str, AuthMethod),
    realm: &str,
    hello: &Dict,
    session: Id,
) -> Decision {
    let authid = hello
        .get("authid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut details = hello.clone();
    details.insert("authmethod".into(), Value::Str(offered.into()));
    details.insert("session".into(), Value::from(session));
    details.insert(
        "transport".into(),
        Value::Dict(Dict::from_iter([(
            "peer".to_string(),
            Value::Str(conn.peer.clone()),
        )])),
    );
    let authextra = hello.get("authextra").and_then(Value::as_dict);
    if method == AuthMethod::Ticket {
        return Decision::Challenge {
            method: "ticket",
            extra: Dict::new(),
            pending: Box::new(PendingAuth {
                identity: Identity {
                    realm: realm.into(),
                    authid,
                    authrole: String::new(),
                    authmethod: "ticket",
                    authprovider: "dynamic",
                    authextra: Dict::new(),
                },
                proof: Proof::Dynamic {
                    authenticator: authenticator.clone(),
                    details,
                },
            }),
        };
    }
    let answer = match call_authenticator(router, authenticator, realm, &authid, details).await {
        Ok(a) => a,
        Err(refusal) => return Decision::Refuse(refusal),
    };
    let principal = match principal_from(&answer, realm, &authid, method) {
        Ok(p) => p,
        Err(refusal) => return Decision::Refuse(refusal),
    };
    if let Secret::Cryptosign(key) = principal.secret {
        if hello_pubkey(authextra) != Some(key) {
            return Decision::Refuse((
                error::NOT_AUTHORIZED,
                "the authenticator knows another public key for this client".into(),
            ));
        }
        return cryptosign_challenge(identity_of(&principal, "dynamic"), key, authextra, conn);
    }
    if let Secret::Scram(_) = &principal.secret {
        let identity = identity_of(&principal, "dynamic");
        return scram_challenge(identity, offered, &principal.secret, authextra, conn);
    }
    challenge(&principal, "dynamic", conn, session)
}

/// Calls the authenticator procedure, bounded by the authentication timeout.
pub(super) async fn call_authenticator(
    router: &std::sync::Arc<RouterInner>,
    authenticator: &Authenticator,
    realm: &str,
    authid: &str,
    details: Dict,
) -> Result<Value, Refusal> {
    let unavailable = |text: String| {
        tracing::warn!(procedure = %authenticator.procedure, "authenticator failed: {text}");
        (
            error::AUTHENTICATION_FAILED,
            format!("authenticator unavailable: {text}"),
        )
    };
    let session = crate::internal::session(router, &authenticator.realm)
        .await
        .map_err(unavailable)?;
    let args = Args {
        args: vec![
            Value::Str(realm.into()),
            Value::Str(authid.into()),
            Value::Dict(details),
        ],
        kwargs: Dict::new(),
        ..Default::default()
    };
    let answer = session
        .call::<()>(authenticator.procedure.clone(), args)
        .timeout(router.config.auth.timeout)
        .raw()
        .await;
    match answer {
        Ok(mut a) if !a.args.is_empty() => Ok(a.args.swap_remove(0)),
        Ok(a) if !a.kwargs.is_empty() => Ok(Value::Dict(a.kwargs)),
        Ok(_) => Err((
            error::AUTHENTICATION_FAILED,
            "the authenticator returned nothing".into(),
        )),
        Err(wamp_runtime::Error::Application(e)) => {
            let reason = [
                error::NOT_AUTHORIZED,
                error::AUTHENTICATION_FAILED,
                error::NO_SUCH_ROLE,
                error::NO_SUCH_REALM,
                error::NO_AUTH_METHOD,
            ]
            .into_iter()
            .find(|r| *r == e.uri)
            .unwrap_or(error::AUTHENTICATION_FAILED);
            let text = e
                .args
                .first()
                .and_then(Value::as_str)
                .map_or_else(|| e.uri.clone(), str::to_owned);
            Err((reason, text))
        }
        Err(e) => Err(unavailable(e.to_string())),
    }
}

/// Reads an authenticator's answer: a role, or a dict with `role` and the rest.
pub(super) fn principal_from(
    answer: &Value,
    realm: &str,
    authid: &str,
    method: AuthMethod,
) -> Result<Principal, Refusal> {
    let bad = |text: &str| {
        (
            error::AUTHENTICATION_FAILED,
            format!("the authenticator's answer is not usable: {text}"),
        )
    };
    let (dict, role) = match answer {
        Value::Str(role) => (None, role.clone()),
        Value::Dict(d) => match d.get("role").and_then(Value::as_str) {
            Some(role) => (Some(d), role.to_owned()),
            None => return Err(bad("no role")),
        },
        _ => return Err(bad("neither a role nor a dict")),
    };
    let get = |key: &str| dict.and_then(|d| d.get(key));
    let text = |key: &str| get(key).and_then(Value::as_str);
    let secret = match method {
        AuthMethod::Anonymous | AuthMethod::Ticket => Secret::Ticket(String::new()),
        AuthMethod::WampCra => {
            let secret = text("secret").ok_or_else(|| bad("no secret for wampcra"))?;
            let salt = match text("salt") {
                None => None,
                Some(s) => {
                    let number = |k: &str, default: u32| {
                        get(k)
                            .and_then(Value::as_u64)
                            .map_or(Ok(default), |n| u32::try_from(n).map_err(|_| bad(k)))
                    };
                    Some((
                        s.to_owned(),
                        number("iterations", 1000)?,
                        number("keylen", 32)?,
                    ))
                }
            };
            Secret::WampCra {
                secret: secret.to_owned(),
                salt,
            }
        }
        AuthMethod::Scram => Secret::Scram(
            scram_credential(dict.ok_or_else(|| bad("no SCRAM credential"))?)
                .map_err(|e| bad(&e))?,
        ),
        AuthMethod::Cryptosign => {
            let mut key = [0u8; 32];
            let hexkey = text("pubkey").ok_or_else(|| bad("no pubkey for cryptosign"))?;
            hex::decode_to_slice(hexkey, &mut key)
                .map_err(|_| bad("pubkey is not 32 bytes in hex"))?;
            Secret::Cryptosign(key)
        }
    };
    let authid = match text("authid") {
        Some(a) => a.to_owned(),
        None if authid.is_empty() && method == AuthMethod::Cryptosign => match &secret {
            Secret::Cryptosign(k) => hex::encode(k),
            _ => String::new(),
        },
        None => authid.to_owned(),
    };
    Ok(Principal {
        realm: text("realm").unwrap_or(realm).to_owned(),
        authid,
        role,
        secret,
    })
}

/// A SCRAM credential as Crossbar.io's principals and authenticators give it: `kdf`,
/// `iterations`, `memory` (Argon2id), and in hex `salt`, `stored-key` and `server-key`
/// (`stored_key` and `server_key` too).
pub(crate) fn scram_credential(d: &Dict) -> Result<wamp_runtime::scram::Credential, String> {
    let text = |k: &str| d.get(k).and_then(Value::as_str);
    let number = |k: &str| {
        d.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    let hex_of = |keys: &[&str]| -> Result<Vec<u8>, String> {
        let t = keys
            .iter()
            .find_map(|k| text(k))
            .ok_or_else(|| format!("no {}", keys[0]))?;
        hex::decode(t).map_err(|_| format!("{} is not hex", keys[0]))
    };
    let key32 = |keys: &[&str]| -> Result<[u8; 32], String> {
        hex_of(keys)?
            .try_into()
            .map_err(|_| format!("{} is not 32 bytes", keys[0]))
    };
    let kdf = wamp_runtime::scram::Kdf::from_name(
        text("kdf").ok_or("no kdf")?,
        number("iterations").ok_or("no iterations")?,
        number("memory"),
    )
    .map_err(|e| e.to_string())?;
    let salt = hex_of(&["salt"])?;
    if salt.len() < 8 {
        return Err("the salt must be at least 8 bytes".into());
    }
    Ok(wamp_runtime::scram::Credential {
        kdf,
        salt,
        keys: wamp_runtime::scram::Keys {
            stored_key: key32(&["stored-key", "stored_key"])?,
            server_key: key32(&["server-key", "server_key"])?,
        },
    })
}
