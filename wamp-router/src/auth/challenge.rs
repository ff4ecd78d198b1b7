//! The challenges the router sends and checks: WAMP-CRA's signed JSON string (with the
//! session ID to be), WAMP-Cryptosign's random bytes and WAMP-SCRAM's nonce, salt and KDF
//! (both with `tls-exporter` channel binding when the client asks for it).

use base64::Engine;
use wamp_runtime::proto::{error, Dict, Id, Value};
use wamp_runtime::scram::{Dialect, Exchange, TLS_EXPORTER};

use super::{Decision, Identity, PendingAuth, Proof};
use crate::listener::settings::ConnectionInfo;

/// A WAMP-CRA challenge: the JSON string the spec gives, with the session ID the client
/// will have (as Crossbar.io sends it).
pub(super) fn wampcra_challenge(
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
pub(super) fn cryptosign_challenge(
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

/// Whether `signature` is the hex of an Ed25519 signature of `message` by `pubkey`,
/// followed by `message` (as WAMP-Cryptosign's AUTHENTICATE carries it).
pub(super) fn ed25519_signed(pubkey: &[u8; 32], message: &[u8; 32], signature: &str) -> bool {
    let mut signed = [0u8; 96];
    if hex::decode_to_slice(signature, &mut signed).is_err() || signed[64..] != message[..] {
        return false;
    }
    let key = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, pubkey);
    key.verify(message, &signed[..64]).is_ok()
}

/// What a SCRAM AUTHENTICATE must prove, and what WELCOME then says.
#[derive(Debug)]
pub(crate) struct ScramExpected {
    dialect: Dialect,
    keys: wamp_runtime::scram::Keys,
    authid: String,
    client_nonce: String,
    server_nonce: String,
    salt: String,
    iterations: u32,
    /// The `tls-exporter` binding of the connection, when the client asked for it.
    binding: Option<[u8; 32]>,
}

impl ScramExpected {
    /// Checks the client proof (and, in the spec's dialect, the nonce and channel binding
    /// AUTHENTICATE repeats): WELCOME's authextra on success, why not otherwise.
    pub(super) fn check(&self, signature: &str, extra: &Dict) -> Result<Dict, String> {
        let b64 = base64::engine::general_purpose::STANDARD;
        if let Some(nonce) = extra.get("nonce").and_then(Value::as_str) {
            if nonce != self.server_nonce {
                return Err("AUTHENTICATE's nonce is not the CHALLENGE's".into());
            }
        }
        // The spec's dialect repeats the binding in AUTHENTICATE: it must be the one asked
        // for in HELLO, with this connection's data.
        let claimed = extra.get("channel_binding").and_then(Value::as_str);
        let data = extra.get("cbind_data").and_then(Value::as_str);
        match (&self.binding, claimed) {
            (None, None) => {}
            (Some(ours), Some(TLS_EXPORTER)) => {
                let given = data.and_then(|d| b64.decode(d).ok());
                if given.as_deref() != Some(&ours[..]) {
                    return Err("the channel binding data is not this connection's".into());
                }
            }
            _ => return Err("AUTHENTICATE's channel binding is not the one asked for".into()),
        }
        let exchange = Exchange {
            dialect: self.dialect,
            authid: &self.authid,
            client_nonce: &self.client_nonce,
            server_nonce: &self.server_nonce,
            salt: &self.salt,
            iterations: self.iterations,
            binding: self.binding.as_ref().map(|b| (TLS_EXPORTER, &b[..])),
        };
        let message = exchange.auth_message().map_err(|e| e.to_string())?;
        let proof = b64
            .decode(signature)
            .map_err(|_| "the client proof is not base64".to_owned())?;
        if !self.keys.verify(&message, &proof) {
            return Err("wrong password".into());
        }
        let server_signature = b64.encode(self.keys.server_signature(&message));
        let mut authextra = Dict::new();
        // Crossbar.io's key, which Autobahn reads, and the spec's.
        authextra.insert(
            "scram_server_signature".into(),
            Value::Str(server_signature.clone()),
        );
        authextra.insert("verifier".into(), Value::Str(server_signature));
        Ok(authextra)
    }
}

/// A SCRAM CHALLENGE for a principal's stored credential, in the dialect the client
/// offered (`wamp-scram` or Crossbar.io's `scram`); `tls-exporter` channel binding when
/// the client asks for it on a TLS connection (any other binding is refused, as the spec
/// says).
pub(super) fn scram_challenge(
    identity: Identity,
    offered: &str,
    secret: &super::Secret,
    authextra: Option<&Dict>,
    conn: &ConnectionInfo,
) -> Decision {
    let super::Secret::Scram(credential) = secret else {
        return Decision::Refuse((error::AUTHENTICATION_FAILED, "not a SCRAM principal".into()));
    };
    let Some(dialect) = Dialect::of(offered) else {
        return Decision::Refuse((error::NO_AUTH_METHOD, format!("{offered} is not SCRAM")));
    };
    let refuse = |text: &str| Decision::Refuse((error::AUTHENTICATION_FAILED, text.to_owned()));
    let Some(client_nonce) = authextra
        .and_then(|e| e.get("nonce"))
        .and_then(Value::as_str)
    else {
        return refuse("a SCRAM HELLO needs authextra.nonce");
    };
    let binding = match authextra.and_then(|e| e.get("channel_binding")) {
        None | Some(Value::Null) => None,
        Some(Value::Str(s)) if s.is_empty() => None,
        Some(Value::Str(_)) if dialect == Dialect::Crossbar => {
            return refuse("channel binding is for wamp-scram (Crossbar.io's scram has none)")
        }
        Some(Value::Str(s)) if s == TLS_EXPORTER => match conn.channel_binding {
            Some(b) => Some(b),
            None => return refuse("tls-exporter channel binding needs a TLS connection"),
        },
        Some(other) => {
            return refuse(&format!(
                "SCRAM channel binding {other:?} is not supported here (tls-exporter is)"
            ))
        }
    };
    let server: [u8; 16] = rand::random();
    let Some(server_nonce) = dialect.server_nonce(client_nonce, &server) else {
        return refuse("the SCRAM client nonce must be base64");
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let salt = b64.encode(&credential.salt);
    let kdf = credential.kdf;
    let mut extra = Dict::new();
    extra.insert("nonce".into(), Value::Str(server_nonce.clone()));
    extra.insert("salt".into(), Value::Str(salt.clone()));
    extra.insert("kdf".into(), Value::Str(kdf.name().into()));
    extra.insert("iterations".into(), Value::from(kdf.iterations()));
    match kdf.memory() {
        Some(m) => {
            extra.insert("memory".into(), Value::from(m));
        }
        // Autobahn reads `memory` as an integer whenever it is there.
        None if dialect == Dialect::Spec => {
            extra.insert("memory".into(), Value::Null);
        }
        None => {}
    }
    let expected = ScramExpected {
        dialect,
        keys: credential.keys.clone(),
        authid: identity.authid.clone(),
        client_nonce: client_nonce.to_owned(),
        server_nonce,
        salt,
        iterations: kdf.iterations(),
        binding,
    };
    Decision::Challenge {
        method: dialect.method(),
        extra,
        pending: Box::new(PendingAuth {
            identity: Identity {
                authmethod: dialect.method(),
                ..identity
            },
            proof: Proof::Scram(Box::new(expected)),
        }),
    }
}
