//! Authentication: which methods a HELLO may use (anonymous, ticket, WAMP-CRA), the
//! CHALLENGE the router sends, and the check of the AUTHENTICATE that answers it.

use base64::Engine;
use wamp_runtime::proto::{error, Dict, Value};

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
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Secret::Ticket(_) => "Ticket(…)",
            Secret::WampCra { .. } => "WampCra(…)",
        })
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

impl Principal {
    fn method(&self) -> &'static str {
        match self.secret {
            Secret::Ticket(_) => "ticket",
            Secret::WampCra { .. } => "wampcra",
        }
    }
}

/// Who may join.
#[derive(Debug, Clone)]
pub(crate) struct AuthConfig {
    /// The role of anonymous sessions, or `None` when anonymous access is refused.
    pub anonymous: Option<String>,
    pub principals: Vec<Principal>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            anonymous: Some("anonymous".into()),
            principals: Vec::new(),
        }
    }
}

/// Who a session is, once it has joined.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub authid: String,
    pub authrole: String,
    pub authmethod: &'static str,
}

/// A CHALLENGE sent, waiting for its AUTHENTICATE.
#[derive(Debug)]
pub(crate) struct PendingAuth {
    identity: Identity,
    expected: String,
}

/// What to do with a HELLO.
pub(crate) enum Decision {
    /// Welcome at once.
    Welcome(Identity),
    /// Send this CHALLENGE, then check the answer.
    Challenge {
        method: &'static str,
        extra: Dict,
        pending: PendingAuth,
    },
    /// ABORT with this reason and message.
    Refuse(&'static str, String),
}

/// Picks the first method of HELLO's `authmethods` (default: anonymous) that the router
/// can use for this realm and authid.
pub(crate) fn decide(cfg: &AuthConfig, realm: &str, hello: &Dict) -> Decision {
    let offered: Vec<&str> = match hello.get("authmethods").and_then(Value::as_list) {
        Some(l) if !l.is_empty() => l.iter().filter_map(Value::as_str).collect(),
        _ => vec!["anonymous"],
    };
    let authid = hello.get("authid").and_then(Value::as_str);
    let mut known = false;
    for method in &offered {
        match *method {
            "anonymous" => {
                if let Some(role) = &cfg.anonymous {
                    return Decision::Welcome(Identity {
                        authid: authid.map_or_else(
                            || format!("anonymous-{:x}", wamp_runtime::proto::global_id()),
                            str::to_owned,
                        ),
                        authrole: role.clone(),
                        authmethod: "anonymous",
                    });
                }
            }
            "ticket" | "wampcra" => {
                // A method is enabled when some principal uses it.
                known |= cfg.principals.iter().any(|p| p.method() == *method);
                let principal = cfg.principals.iter().find(|p| {
                    p.method() == *method && Some(p.authid.as_str()) == authid && p.realm == realm
                });
                if let Some(p) = principal {
                    return challenge(p);
                }
            }
            _ => {}
        }
    }
    if known {
        Decision::Refuse(
            error::NOT_AUTHORIZED,
            format!("no principal {authid:?} for the offered methods in realm {realm:?}"),
        )
    } else {
        Decision::Refuse(
            error::NO_AUTH_METHOD,
            format!("none of the offered authentication methods {offered:?} is enabled"),
        )
    }
}

fn challenge(p: &Principal) -> Decision {
    let identity = Identity {
        authid: p.authid.clone(),
        authrole: p.role.clone(),
        authmethod: p.method(),
    };
    match &p.secret {
        Secret::Ticket(ticket) => Decision::Challenge {
            method: "ticket",
            extra: Dict::new(),
            pending: PendingAuth {
                identity,
                expected: ticket.clone(),
            },
        },
        Secret::WampCra { secret, salt } => {
            let nonce: [u8; 16] = rand::random();
            let challenge = serde_json::json!({
                "authid": p.authid,
                "authrole": p.role,
                "authmethod": "wampcra",
                "authprovider": "static",
                "nonce": base64::engine::general_purpose::STANDARD.encode(nonce),
                "timestamp": crate::meta::now(),
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
                    pending: PendingAuth { identity, expected },
                },
                Err(e) => Decision::Refuse(error::AUTHENTICATION_FAILED, e.to_string()),
            }
        }
    }
}

/// Checks the AUTHENTICATE signature (in constant time).
pub(crate) fn verify(pending: PendingAuth, signature: &str) -> Result<Identity, String> {
    let same = signature.len() == pending.expected.len()
        && signature
            .bytes()
            .zip(pending.expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(pending.identity)
    } else {
        Err(format!(
            "{} authentication of {:?} failed",
            pending.identity.authmethod, pending.identity.authid
        ))
    }
}
