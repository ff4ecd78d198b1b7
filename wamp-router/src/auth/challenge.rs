//! The challenges the router sends and checks: WAMP-CRA's signed JSON string (with the
//! session ID to be) and WAMP-Cryptosign's random bytes (with `tls-exporter` channel
//! binding when the client asks for it).

use base64::Engine;
use wamp_runtime::proto::{error, Dict, Id, Value};

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
