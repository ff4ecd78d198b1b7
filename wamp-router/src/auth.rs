//! Authentication: which method a HELLO gets (anonymous, ticket, WAMP-CRA, WAMP-Cryptosign),
//! from static principals or a dynamic authenticator procedure, the CHALLENGE the router
//! sends, and the check of the AUTHENTICATE that answers it.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use wamp_runtime::client::Args;
use wamp_runtime::proto::{error, Dict, Id, Value};

use crate::listener::settings::ConnectionInfo;
use crate::RouterInner;

/// An authentication method of the WAMP spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// No credentials; the realm's anonymous role.
    Anonymous,
    /// A shared ticket (a password), sent in AUTHENTICATE.
    Ticket,
    /// WAMP-CRA: an HMAC-SHA256 challenge-response over a shared secret.
    WampCra,
    /// WAMP-Cryptosign: an Ed25519 signature of a random challenge.
    Cryptosign,
}

impl AuthMethod {
    /// All methods.
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::Anonymous,
        AuthMethod::Ticket,
        AuthMethod::WampCra,
        AuthMethod::Cryptosign,
    ];

    /// The name on the wire (`anonymous`, `ticket`, `wampcra`, `cryptosign`).
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::Anonymous => "anonymous",
            AuthMethod::Ticket => "ticket",
            AuthMethod::WampCra => "wampcra",
            AuthMethod::Cryptosign => "cryptosign",
        }
    }

    /// The method with this wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// A WAMP procedure that decides who may join, as Crossbar.io's dynamic authenticators do.
///
/// The router calls `procedure` in `realm` (from its own trusted session) with the
/// positional arguments `[realm, authid, details]`, where `details` is the HELLO's details
/// plus `authmethod`, `transport` and, for `ticket`, the `ticket` the client sent. The
/// procedure answers with a role (a string) or a dict with `role` and optionally `authid`,
/// `realm` (another realm to join) and, per method, `secret` (plus `salt`, `iterations`,
/// `keylen`) for `wampcra`, or `pubkey` for `cryptosign`. An error it raises refuses the
/// client with ABORT (its URI when it is a `wamp.error.*` one, else
/// `wamp.error.authentication_failed`).
#[derive(Debug, Clone)]
pub struct Authenticator {
    pub(crate) procedure: String,
    pub(crate) realm: String,
    pub(crate) methods: Vec<AuthMethod>,
}

impl Authenticator {
    /// Delegates `methods` (`ticket`, `wampcra`, `cryptosign`) to `procedure`, registered in
    /// `realm`.
    pub fn new(
        procedure: impl Into<String>,
        realm: impl Into<String>,
        methods: impl IntoIterator<Item = AuthMethod>,
    ) -> Self {
        Self {
            procedure: procedure.into(),
            realm: realm.into(),
            methods: methods.into_iter().collect(),
        }
    }
}

/// How a principal proves who it is.
#[derive(Clone)]
pub(crate) enum Secret {
    /// `ticket`: the ticket itself.
    Ticket(String),
    /// `wampcra`: the shared secret, and the PBKDF2 parameters when it is salted (the
    /// key is then derived from the secret, as the client derives it).
    WampCra {
        secret: String,
        salt: Option<(String, u32, u32)>,
    },
    /// `cryptosign`: the Ed25519 public key.
    Cryptosign([u8; 32]),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Ticket(_) => f.write_str("Ticket(…)"),
            Secret::WampCra { .. } => f.write_str("WampCra(…)"),
            Secret::Cryptosign(key) => write!(f, "Cryptosign({})", hex::encode(key)),
        }
    }
}

impl Secret {
    fn method(&self) -> AuthMethod {
        match self {
            Secret::Ticket(_) => AuthMethod::Ticket,
            Secret::WampCra { .. } => AuthMethod::WampCra,
            Secret::Cryptosign(_) => AuthMethod::Cryptosign,
        }
    }
}

/// A user the router knows: in which realm, with which role, proven how.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub realm: String,
    pub authid: String,
    pub role: String,
    pub secret: Secret,
}

/// Who may join.
#[derive(Debug, Clone)]
pub(crate) struct AuthConfig {
    /// The role of anonymous sessions, or `None` when anonymous access is refused.
    pub anonymous: Option<String>,
    /// Per realm, what overrides `anonymous`.
    pub anonymous_in: HashMap<String, Option<String>>,
    pub principals: Vec<Principal>,
    /// How long a client has to answer a CHALLENGE, and how long an authenticator
    /// procedure may take.
    pub timeout: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            anonymous: Some("anonymous".into()),
            anonymous_in: HashMap::new(),
            principals: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

impl AuthConfig {
    fn anonymous_role(&self, realm: &str) -> Option<&str> {
        match self.anonymous_in.get(realm) {
            Some(role) => role.as_deref(),
            None => self.anonymous.as_deref(),
        }
    }
}

/// Who a session is, once it has joined.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub realm: String,
    pub authid: String,
    pub authrole: String,
    pub authmethod: &'static str,
    /// `static`, `dynamic` or `router`.
    pub authprovider: &'static str,
}

/// What the answer to a CHALLENGE must prove.
#[derive(Debug)]
enum Proof {
    /// The signature is exactly this (a ticket, a WAMP-CRA HMAC).
    Equals(String),
    /// An Ed25519 signature by `pubkey` of `message`, followed by `message`.
    Ed25519 { pubkey: [u8; 32], message: [u8; 32] },
    /// A ticket the authenticator procedure checks.
    Dynamic {
        authenticator: crate::auth::Authenticator,
        details: Dict,
    },
}

/// A CHALLENGE sent, waiting for its AUTHENTICATE.
#[derive(Debug)]
pub(crate) struct PendingAuth {
    identity: Identity,
    proof: Proof,
}

/// A refusal: the ABORT reason and message.
pub(crate) type Refusal = (&'static str, String);

/// What to do with a HELLO.
pub(crate) enum Decision {
    /// Welcome at once.
    Welcome(Identity),
    /// Send this CHALLENGE, then check the answer.
    Challenge {
        method: &'static str,
        extra: Dict,
        pending: Box<PendingAuth>,
    },
    /// ABORT.
    Refuse(Refusal),
}

/// Picks the first method of HELLO's `authmethods` (default: anonymous) that this listener
/// offers and the router can use for this realm and authid.
pub(crate) async fn decide(
    router: &std::sync::Arc<RouterInner>,
    conn: &ConnectionInfo,
    realm: &str,
    hello: &Dict,
    session: Id,
) -> Decision {
    let cfg = &router.config.auth;
    let offered: Vec<&str> = match hello.get("authmethods").and_then(Value::as_list) {
        Some(l) if !l.is_empty() => l.iter().filter_map(Value::as_str).collect(),
        _ => vec!["anonymous"],
    };
    let authid = hello.get("authid").and_then(Value::as_str);
    let authextra = hello.get("authextra").and_then(Value::as_dict);
    let listener = &conn.listener;
    // Whether some method offered is enabled here (else: no_auth_method).
    let mut known = false;
    for method in offered.iter().filter_map(|m| AuthMethod::from_name(m)) {
        if !listener.auth_methods.contains(&method) {
            continue;
        }
        if let Some(a) = listener
            .authenticator
            .as_ref()
            .filter(|a| a.methods.contains(&method))
        {
            return dynamic(router, conn, a, method, realm, hello, session).await;
        }
        match method {
            AuthMethod::Anonymous => {
                if let Some(role) = cfg.anonymous_role(realm) {
                    return Decision::Welcome(Identity {
                        realm: realm.into(),
                        authid: authid.map_or_else(
                            || format!("anonymous-{:x}", wamp_runtime::proto::global_id()),
                            str::to_owned,
                        ),
                        authrole: role.into(),
                        authmethod: "anonymous",
                        authprovider: "static",
                    });
                }
            }
            AuthMethod::Ticket | AuthMethod::WampCra => {
                known |= cfg.principals.iter().any(|p| p.secret.method() == method);
                let principal = cfg.principals.iter().find(|p| {
                    p.secret.method() == method
                        && Some(p.authid.as_str()) == authid
                        && p.realm == realm
                });
                if let Some(p) = principal {
                    return challenge(p, "static", conn, session);
                }
            }
            AuthMethod::Cryptosign => {
                known |= cfg.principals.iter().any(|p| p.secret.method() == method);
                let Some(pubkey) = hello_pubkey(authextra) else {
                    continue;
                };
                let principal = cfg.principals.iter().find(|p| {
                    matches!(p.secret, Secret::Cryptosign(k) if k == pubkey)
                        && p.realm == realm
                        && authid.is_none_or(|a| a == p.authid)
                });
                if let Some(p) = principal {
                    return cryptosign_challenge(identity_of(p, "static"), pubkey, authextra, conn);
                }
            }
        }
    }
    if known {
        Decision::Refuse((
            error::NOT_AUTHORIZED,
            format!("no principal {authid:?} for the offered methods in realm {realm:?}"),
        ))
    } else {
        Decision::Refuse((
            error::NO_AUTH_METHOD,
            format!("none of the offered authentication methods {offered:?} is enabled here"),
        ))
    }
}

fn identity_of(p: &Principal, provider: &'static str) -> Identity {
    Identity {
        realm: p.realm.clone(),
        authid: p.authid.clone(),
        authrole: p.role.clone(),
        authmethod: p.secret.method().name(),
        authprovider: provider,
    }
}

/// `HELLO.Details.authextra.pubkey`, when it is 32 bytes in hex.
fn hello_pubkey(authextra: Option<&Dict>) -> Option<[u8; 32]> {
    let text = authextra?.get("pubkey")?.as_str()?;
    let mut key = [0u8; 32];
    hex::decode_to_slice(text, &mut key).ok()?;
    Some(key)
}

fn challenge(
    p: &Principal,
    provider: &'static str,
    conn: &ConnectionInfo,
    session: Id,
) -> Decision {
    let identity = identity_of(p, provider);
    match &p.secret {
        Secret::Ticket(ticket) => Decision::Challenge {
            method: "ticket",
            extra: Dict::new(),
            pending: Box::new(PendingAuth {
                identity,
                proof: Proof::Equals(ticket.clone()),
            }),
        },
        Secret::WampCra { secret, salt } => {
            wampcra_challenge(identity, secret, salt.as_ref(), session)
        }
        Secret::Cryptosign(pubkey) => cryptosign_challenge(identity, *pubkey, None, conn),
    }
}

/// A WAMP-CRA challenge: the JSON string the spec gives, with the session ID the client
/// will have (as Crossbar.io sends it).
fn wampcra_challenge(
    identity: Identity,
    secret: &str,
    salt: Option<&(String, u32, u32)>,
    session: Id,
) -> Decision {
    let nonce: [u8; 16] = rand::random();
    let challenge = serde_json::json!({
        "authid": identity.authid,
        "authrole": identity.authrole,
        "authmethod": "wampcra",
        "authprovider": identity.authprovider,
        "session": session,
        "nonce": base64::engine::general_purpose::STANDARD.encode(nonce),
        "timestamp": crate::timestamp::now(),
    })
    .to_string();
    let mut extra = Dict::new();
    extra.insert("challenge".into(), Value::Str(challenge));
    if let Some((s, iterations, keylen)) = salt {
        extra.insert("salt".into(), Value::Str(s.clone()));
        extra.insert("iterations".into(), Value::from(*iterations));
        extra.insert("keylen".into(), Value::from(*keylen));
    }
    match wamp_runtime::client::wampcra_signature(secret, &extra) {
        Ok(expected) => Decision::Challenge {
            method: "wampcra",
            extra,
            pending: Box::new(PendingAuth {
                identity,
                proof: Proof::Equals(expected),
            }),
        },
        Err(e) => Decision::Refuse((error::AUTHENTICATION_FAILED, e.to_string())),
    }
}

/// A random 32-byte challenge; with channel binding (`tls-exporter`, when the client asks
/// for it and the connection is TLS), the client signs it XOR the channel's binding.
fn cryptosign_challenge(
    identity: Identity,
    pubkey: [u8; 32],
    authextra: Option<&Dict>,
    conn: &ConnectionInfo,
) -> Decision {
    let challenge: [u8; 32] = rand::random();
    let mut message = challenge;
    let mut extra = Dict::new();
    extra.insert("challenge".into(), Value::Str(hex::encode(challenge)));
    let asked = authextra
        .and_then(|e| e.get("channel_binding"))
        .and_then(Value::as_str);
    match (asked, conn.channel_binding) {
        (Some("tls-exporter"), Some(binding)) => {
            for (m, b) in message.iter_mut().zip(binding) {
                *m ^= b;
            }
            extra.insert("channel_binding".into(), Value::Str("tls-exporter".into()));
        }
        // The spec lets a router go on without the binding it cannot provide (rustls has
        // no `tls-unique`); the client sees `channel_binding: null` and decides.
        _ => {
            extra.insert("channel_binding".into(), Value::Null);
        }
    }
    Decision::Challenge {
        method: "cryptosign",
        extra,
        pending: Box::new(PendingAuth {
            identity,
            proof: Proof::Ed25519 { pubkey, message },
        }),
    }
}

/// Checks the AUTHENTICATE signature: in constant time for secrets, by Ed25519
/// verification for cryptosign, or by the authenticator procedure for a dynamic ticket.
pub(crate) async fn verify(
    router: &std::sync::Arc<RouterInner>,
    pending: Box<PendingAuth>,
    signature: &str,
) -> Result<Identity, Refusal> {
    let PendingAuth { identity, proof } = *pending;
    let failed = |identity: &Identity| {
        (
            error::AUTHENTICATION_FAILED,
            format!(
                "{} authentication of {:?} failed",
                identity.authmethod, identity.authid
            ),
        )
    };
    match proof {
        Proof::Equals(expected) => {
            let same = signature.len() == expected.len()
                && signature
                    .bytes()
                    .zip(expected.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0;
            if same {
                Ok(identity)
            } else {
                Err(failed(&identity))
            }
        }
        Proof::Ed25519 { pubkey, message } => {
            if ed25519_signed(&pubkey, &message, signature) {
                Ok(identity)
            } else {
                Err(failed(&identity))
            }
        }
        Proof::Dynamic {
            authenticator,
            mut details,
        } => {
            details.insert("ticket".into(), Value::Str(signature.into()));
            let answer = call_authenticator(
                router,
                &authenticator,
                &identity.realm,
                &identity.authid,
                details,
            )
            .await?;
            let principal = principal_from(
                &answer,
                &identity.realm,
                &identity.authid,
                AuthMethod::Ticket,
            )?;
            Ok(Identity {
                authprovider: "dynamic",
                ..identity_of(&principal, "dynamic")
            })
        }
    }
}

/// Whether `signature` is the hex of an Ed25519 signature of `message` by `pubkey`,
/// followed by `message` (as WAMP-Cryptosign's AUTHENTICATE carries it).
fn ed25519_signed(pubkey: &[u8; 32], message: &[u8; 32], signature: &str) -> bool {
    let mut signed = [0u8; 96];
    if hex::decode_to_slice(signature, &mut signed).is_err() || signed[64..] != message[..] {
        return false;
    }
    let key = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, pubkey);
    key.verify(message, &signed[..64]).is_ok()
}

/// Asks the authenticator about a HELLO: at once for `wampcra` and `cryptosign` (it gives
/// the secret or public key to challenge with), after the CHALLENGE for `ticket` (it checks
/// the ticket the client sends).
async fn dynamic(
    router: &std::sync::Arc<RouterInner>,
    conn: &ConnectionInfo,
    authenticator: &Authenticator,
    method: AuthMethod,
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
    details.insert("authmethod".into(), Value::Str(method.name().into()));
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
    challenge(&principal, "dynamic", conn, session)
}

/// Calls the authenticator procedure, bounded by the authentication timeout.
async fn call_authenticator(
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
fn principal_from(
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's test vectors without channel binding: our client signs them the same
    /// way, and the router's check accepts exactly them.
    #[test]
    fn cryptosign_test_vectors() {
        let vectors = [
            ("4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510",
             "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
             "b32675b221f08593213737bef8240e7c15228b07028e19595294678c90d11c0cae80a357331bfc5cc9fb71081464e6e75013517c2cf067ad566a6b7b728e5d03ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
            ("d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd",
             "b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
             "d4209ad10d5aff6bfbc009d7e924795de138a63515efc7afc6b01b7fe5201372190374886a70207b042294af5bd64ce725cd8dceb344e6d11c09d1aaaf4d660fb26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d"),
        ];
        for (seed, challenge, signature) in vectors {
            let key = wamp_runtime::client::CryptosignKey::from_hex(seed).expect("seed");
            let mut message = [0u8; 32];
            hex::decode_to_slice(challenge, &mut message).expect("challenge");
            assert_eq!(key.sign_hex(&message), signature);
            assert!(ed25519_signed(&key.public_key(), &message, signature));
            let mut other = message;
            other[0] ^= 1;
            assert!(!ed25519_signed(&key.public_key(), &other, signature));
            assert!(!ed25519_signed(
                &key.public_key(),
                &message,
                &signature[..190]
            ));
        }
    }
}
