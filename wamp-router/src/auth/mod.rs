//! Authentication: which method a HELLO gets (anonymous, ticket, WAMP-CRA, WAMP-Cryptosign,
//! WAMP-SCRAM),
//! from static principals or a dynamic authenticator procedure ([`dynamic`]), the CHALLENGE
//! the router sends ([`challenge`]), and the check of the AUTHENTICATE that answers it.

mod challenge;
mod dynamic;

use std::collections::HashMap;
use std::time::Duration;

use wamp_runtime::proto::{error, Dict, Id, Value};

use crate::listener::settings::ConnectionInfo;
use crate::RouterInner;

use challenge::{cryptosign_challenge, ed25519_signed, scram_challenge, wampcra_challenge};
pub(crate) use dynamic::scram_credential;
use dynamic::{call_authenticator, dynamic, principal_from};

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
    /// WAMP-SCRAM: a salted challenge-response over a password the router keeps only
    /// hashed (`wamp-scram`, and Crossbar.io's `scram`).
    Scram,
}

impl AuthMethod {
    /// All methods.
    pub const ALL: [AuthMethod; 5] = [
        AuthMethod::Anonymous,
        AuthMethod::Ticket,
        AuthMethod::WampCra,
        AuthMethod::Cryptosign,
        AuthMethod::Scram,
    ];

    /// The name on the wire (`anonymous`, `ticket`, `wampcra`, `cryptosign`,
    /// `wamp-scram`).
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::Anonymous => "anonymous",
            AuthMethod::Ticket => "ticket",
            AuthMethod::WampCra => "wampcra",
            AuthMethod::Cryptosign => "cryptosign",
            AuthMethod::Scram => wamp_runtime::scram::SPEC_METHOD,
        }
    }

    /// The method with this wire name (`scram`, Crossbar.io's, is WAMP-SCRAM too).
    pub fn from_name(name: &str) -> Option<Self> {
        if name == wamp_runtime::scram::CROSSBAR_METHOD {
            return Some(AuthMethod::Scram);
        }
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
    /// `wamp-scram`: the stored credential (salt, KDF and keys; never the password).
    Scram(wamp_runtime::scram::Credential),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Ticket(_) => f.write_str("Ticket(…)"),
            Secret::WampCra { .. } => f.write_str("WampCra(…)"),
            Secret::Cryptosign(key) => write!(f, "Cryptosign({})", hex::encode(key)),
            Secret::Scram(c) => write!(f, "Scram({})", c.kdf.name()),
        }
    }
}

impl Secret {
    fn method(&self) -> AuthMethod {
        match self {
            Secret::Ticket(_) => AuthMethod::Ticket,
            Secret::WampCra { .. } => AuthMethod::WampCra,
            Secret::Cryptosign(_) => AuthMethod::Cryptosign,
            Secret::Scram(_) => AuthMethod::Scram,
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
    /// What WELCOME.Details.authextra carries (SCRAM's server signature).
    pub authextra: Dict,
}

/// What the answer to a CHALLENGE must prove.
#[derive(Debug)]
enum Proof {
    /// The signature is exactly this (a ticket, a WAMP-CRA HMAC).
    Equals(String),
    /// An Ed25519 signature by `pubkey` of `message`, followed by `message`.
    Ed25519 { pubkey: [u8; 32], message: [u8; 32] },
    /// A SCRAM client proof for this exchange.
    Scram(Box<challenge::ScramExpected>),
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
    let methods = offered
        .iter()
        .filter_map(|name| Some((*name, AuthMethod::from_name(name)?)));
    for (name, method) in methods {
        if !listener.auth_methods.contains(&method) {
            continue;
        }
        if let Some(a) = listener
            .authenticator
            .as_ref()
            .filter(|a| a.methods.contains(&method))
        {
            return dynamic(router, conn, a, (name, method), realm, hello, session).await;
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
                        authextra: Dict::new(),
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
            AuthMethod::Scram => {
                known |= cfg.principals.iter().any(|p| p.secret.method() == method);
                let principal = cfg.principals.iter().find(|p| {
                    matches!(p.secret, Secret::Scram(_))
                        && Some(p.authid.as_str()) == authid
                        && p.realm == realm
                });
                if let Some(p) = principal {
                    return scram_challenge(
                        identity_of(p, "static"),
                        name,
                        &p.secret,
                        authextra,
                        conn,
                    );
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
        authextra: Dict::new(),
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
        Secret::Scram(_) => Decision::Refuse((
            error::AUTHENTICATION_FAILED,
            "a SCRAM principal needs the HELLO's nonce".into(),
        )),
    }
}

/// Checks the AUTHENTICATE signature (and its extra): in constant time for secrets, by
/// Ed25519 verification for cryptosign, by the SCRAM proof, or by the authenticator
/// procedure for a dynamic ticket.
pub(crate) async fn verify(
    router: &std::sync::Arc<RouterInner>,
    pending: Box<PendingAuth>,
    signature: &str,
    extra: &Dict,
) -> Result<Identity, Refusal> {
    let PendingAuth {
        mut identity,
        proof,
    } = *pending;
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
        Proof::Scram(expected) => match expected.check(signature, extra) {
            Ok(authextra) => {
                identity.authextra = authextra;
                Ok(identity)
            }
            Err(why) => {
                tracing::info!(authid = %identity.authid, "SCRAM authentication failed: {why}");
                Err(failed(&identity))
            }
        },
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
