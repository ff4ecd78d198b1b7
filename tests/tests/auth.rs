//! Authentication on the bundled router: anonymous (or not), ticket, WAMP-CRA (plain and
//! salted), WAMP-Cryptosign and WAMP-SCRAM (both dialects, Argon2id and PBKDF2), with our
//! client and with Autobahn for Python; the spec's ABORT reasons.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{all_roles, router, run_python, RawPeer};
use wamp_runtime::proto::{error, Dict, Message, Value};
use wamp_runtime::scram::{Credential, Kdf};
use wamp_runtime::{CryptosignKey, Error, Serializer, Session};

/// The private seed of principal `device` (the spec's first test vector key); Autobahn's
/// script signs with the same one.
const DEVICE_SEED: &str = "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510";

fn device_key() -> CryptosignKey {
    CryptosignKey::from_hex(DEVICE_SEED).unwrap()
}

/// Low KDF costs: the tests run them many times, in debug builds.
const SPEC_ARGON: Kdf = Kdf::Argon2id {
    iterations: 2,
    memory: 256,
    text_output: false,
};
/// What Autobahn|Python's `AuthScram` computes (`argon2id-13`).
const AUTOBAHN_ARGON: Kdf = Kdf::Argon2id {
    iterations: 2,
    memory: 256,
    text_output: true,
};
const PBKDF2: Kdf = Kdf::Pbkdf2 { iterations: 4096 };

fn scram(password: &str, kdf: Kdf) -> Credential {
    Credential::new(password, kdf).unwrap()
}

async fn secured(anonymous: bool) -> wamp_router::RouterHandle {
    router()
        .anonymous(anonymous.then_some("guest"))
        .ticket_principal("realm1", "alice", "alice's ticket", "user")
        .wampcra_principal("realm1", "joe", "secret1", "admin")
        .wampcra_salted_principal("realm1", "peter", "secret2", "salt123", 100, 16, "user")
        .cryptosign_principal("realm1", "device", &device_key().public_key_hex(), "sensor")
        .expect("a valid key")
        .scram_principal("realm1", "sam", scram("sam-password", SPEC_ARGON), "user")
        .scram_principal(
            "realm1",
            "sue",
            scram("sue-password", AUTOBAHN_ARGON),
            "admin",
        )
        .scram_principal("realm1", "pat", scram("pat-password", PBKDF2), "user")
        .start()
        .await
        .expect("starts")
}

fn aborted_with(e: Error, uri: &str) {
    match e {
        Error::Aborted(w) => assert_eq!(w.uri, uri, "{w}"),
        other => panic!("expected ABORT {uri}, got {other:?}"),
    }
}

#[tokio::test]
async fn principals_authenticate_and_get_their_role() {
    let r = secured(true).await;
    for ser in Serializer::ALL {
        let s = Session::builder(r.url(), "realm1")
            .serializer(ser)
            .ticket("alice", "alice's ticket")
            .connect()
            .await
            .unwrap();
        assert_eq!(
            (
                s.authid().as_deref(),
                s.authrole().as_deref(),
                s.authmethod().as_deref()
            ),
            (Some("alice"), Some("user"), Some("ticket"))
        );
        let s = Session::builder(r.url(), "realm1")
            .serializer(ser)
            .wampcra("joe", "secret1")
            .connect()
            .await
            .unwrap();
        assert_eq!(
            (
                s.authid().as_deref(),
                s.authrole().as_deref(),
                s.authmethod().as_deref()
            ),
            (Some("joe"), Some("admin"), Some("wampcra"))
        );
        let s = Session::builder(r.url(), "realm1")
            .serializer(ser)
            .wampcra("peter", "secret2")
            .connect()
            .await
            .unwrap();
        assert_eq!(s.authid().as_deref(), Some("peter"));
        // Cryptosign: with the authid, or without (the router finds it by the key).
        for authid in [Some("device"), None] {
            let mut b = Session::builder(r.url(), "realm1")
                .serializer(ser)
                .cryptosign(device_key());
            if let Some(a) = authid {
                b = b.authid(a);
            }
            let s = b.connect().await.unwrap();
            assert_eq!(
                (
                    s.authid().as_deref(),
                    s.authrole().as_deref(),
                    s.authmethod().as_deref()
                ),
                (Some("device"), Some("sensor"), Some("cryptosign"))
            );
        }
    }
    // Anonymous sessions get the configured role.
    let s = Session::builder(r.url(), "realm1").connect().await.unwrap();
    assert_eq!(
        (s.authrole().as_deref(), s.authmethod().as_deref()),
        (Some("guest"), Some("anonymous"))
    );
    // In-process sessions authenticate the same way.
    let s = Session::builder(r.endpoint(), "realm1")
        .wampcra("joe", "secret1")
        .connect()
        .await
        .unwrap();
    assert_eq!(s.authrole().as_deref(), Some("admin"));
}

#[tokio::test]
async fn failures_get_the_specs_abort_reasons() {
    let r = secured(false).await;
    let e = Session::builder(r.url(), "realm1")
        .ticket("alice", "wrong")
        .connect()
        .await
        .unwrap_err();
    aborted_with(e, error::AUTHENTICATION_FAILED);
    let e = Session::builder(r.url(), "realm1")
        .wampcra("joe", "wrong")
        .connect()
        .await
        .unwrap_err();
    aborted_with(e, error::AUTHENTICATION_FAILED);
    let e = Session::builder(r.url(), "realm1")
        .wampcra("nobody", "x")
        .connect()
        .await
        .unwrap_err();
    aborted_with(e, error::NOT_AUTHORIZED);
    // An unknown key, or a known key under another authid, is not a principal.
    for b in [
        Session::builder(r.url(), "realm1").cryptosign(CryptosignKey::generate()),
        Session::builder(r.url(), "realm1")
            .cryptosign(device_key())
            .authid("alice"),
    ] {
        aborted_with(b.connect().await.unwrap_err(), error::NOT_AUTHORIZED);
    }
    // Channel binding needs TLS: over plain WebSocket the router answers without it, and
    // the client, which asked for it, refuses to go on.
    let e = Session::builder(r.url(), "realm1")
        .cryptosign(device_key())
        .channel_binding(true)
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref t) if t.contains("channel binding")),
        "{e:?}"
    );
    // A principal of another realm is not one of this realm's.
    let e = Session::builder(r.url(), "realm2")
        .ticket("alice", "alice's ticket")
        .connect()
        .await
        .unwrap_err();
    aborted_with(e, error::NOT_AUTHORIZED);
    // Anonymous access is off.
    let e = Session::builder(r.url(), "realm1")
        .connect()
        .await
        .unwrap_err();
    aborted_with(e, error::NO_AUTH_METHOD);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_python_authenticates_to_our_router() {
    let r = secured(false).await;
    for ser in ["json", "msgpack", "cbor"] {
        let out = run_python("autobahn_auth.py", &[&r.url(), "realm1", ser, DEVICE_SEED]).await;
        assert!(out.contains(&format!("ALL OK {ser}")), "{out}");
    }
}

/// A cryptosign AUTHENTICATE that is not a signature of the challenge is refused with
/// `authentication_failed`, whatever its shape.
#[tokio::test]
async fn forged_cryptosign_signatures_are_refused() {
    let r = secured(false).await;
    let key = device_key();
    let forged = |challenge: &str| {
        let mut c = [0u8; 32];
        hex::decode_to_slice(challenge, &mut c).unwrap();
        let good = key.sign_hex(&c);
        vec![
            String::new(),
            "zz".repeat(96),
            good[..190].to_owned(),
            format!("{}{}", &good[..128], "00".repeat(32)),
            format!("{}{}", "00".repeat(64), &good[128..]),
            CryptosignKey::generate().sign_hex(&c),
        ]
    };
    for i in 0..6 {
        let mut authextra = Dict::new();
        authextra.insert("pubkey".into(), Value::Str(key.public_key_hex()));
        let (mut peer, extra) = challenged(&r, "cryptosign", |d| {
            d.insert("authextra".into(), Value::Dict(authextra));
        })
        .await;
        let challenge = extra
            .get("challenge")
            .and_then(Value::as_str)
            .unwrap()
            .to_owned();
        let signature = forged(&challenge).swap_remove(i);
        peer.send(&Message::Authenticate {
            signature,
            extra: Dict::new(),
        })
        .await;
        match peer.recv().await {
            Message::Abort { reason, .. } => assert_eq!(reason, error::AUTHENTICATION_FAILED),
            other => panic!("forgery {i} got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_wampcra_challenge_names_the_session_to_be() {
    let r = secured(false).await;
    let (mut peer, extra) = challenged(&r, "wampcra", |d| {
        d.insert("authid".into(), Value::Str("joe".into()));
    })
    .await;
    let text = extra.get("challenge").and_then(Value::as_str).unwrap();
    let challenge: serde_json::Value = serde_json::from_str(text).unwrap();
    for key in [
        "authid",
        "authrole",
        "authmethod",
        "authprovider",
        "nonce",
        "timestamp",
    ] {
        assert!(challenge[key].is_string(), "{key} in {text}");
    }
    let session = challenge["session"].as_u64().expect("an integer session");
    let signature = wamp_runtime::client::wampcra_signature("secret1", &extra).unwrap();
    peer.send(&Message::Authenticate {
        signature,
        extra: Dict::new(),
    })
    .await;
    match peer.recv().await {
        Message::Welcome { session: s, .. } => assert_eq!(s, session),
        other => panic!("expected WELCOME, got {other:?}"),
    }
}

/// A raw peer that sent HELLO offering `method` (with what `more` adds to its details),
/// and the CHALLENGE's extra.
async fn challenged(
    r: &wamp_router::RouterHandle,
    method: &str,
    more: impl FnOnce(&mut Dict),
) -> (RawPeer, Dict) {
    let mut peer = RawPeer::connect(&r.url(), Serializer::Json).await;
    let mut details = all_roles();
    details.insert(
        "authmethods".into(),
        Value::List(vec![Value::Str(method.into())]),
    );
    more(&mut details);
    peer.send(&Message::Hello {
        realm: "realm1".into(),
        details,
    })
    .await;
    let Message::Challenge { extra, .. } = peer.recv().await else {
        panic!("a CHALLENGE")
    };
    (peer, extra)
}

#[tokio::test]
async fn scram_principals_authenticate_with_each_kdf_and_the_router_proves_itself() {
    let r = secured(false).await;
    for (authid, password, role) in [
        ("sam", "sam-password", "user"),
        ("sue", "sue-password", "admin"),
        ("pat", "pat-password", "user"),
    ] {
        for serializer in [Serializer::Json, Serializer::MsgPack] {
            let s = Session::builder(r.url(), "realm1")
                .serializer(serializer)
                .scram(authid, password)
                .connect()
                .await
                .unwrap_or_else(|e| panic!("{authid}: {e}"));
            assert_eq!(s.authid().as_deref(), Some(authid));
            assert_eq!(s.authrole().as_deref(), Some(role));
            assert_eq!(
                s.authmethod().as_deref(),
                Some("wamp-scram"),
                "the spec first"
            );
            let extra = s.welcome_details();
            let extra = extra.get("authextra").and_then(Value::as_dict).unwrap();
            assert!(extra.contains_key("scram_server_signature") && extra.contains_key("verifier"));
            s.leave().await.unwrap();
        }
        let e = Session::builder(r.url(), "realm1")
            .scram(authid, "wrong")
            .connect()
            .await
            .unwrap_err();
        aborted_with(e, error::AUTHENTICATION_FAILED);
    }
    let e = Session::builder(r.url(), "realm1")
        .scram("nobody", "x")
        .connect()
        .await
        .unwrap_err();
    aborted_with(e, error::NOT_AUTHORIZED);
    // Channel binding needs TLS: asked for on plain TCP, the router refuses.
    let e = Session::builder(r.url(), "realm1")
        .scram("sam", "sam-password")
        .channel_binding(true)
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid(_) | Error::Aborted(_)), "{e}");
}

/// Crossbar.io's dialect (`scram`) on our router, spoken by a raw peer the way Autobahn
/// does: the nonce is the base64 of both nonces' bytes, WELCOME carries
/// `scram_server_signature`; a HELLO without a nonce, or asking for an unknown binding,
/// is refused.
#[tokio::test]
async fn scram_in_crossbars_dialect_and_bad_hellos() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let r = secured(false).await;
    let hello = |authextra: Dict| {
        let mut details = all_roles();
        details.insert(
            "authmethods".into(),
            Value::List(vec![Value::Str("scram".into())]),
        );
        details.insert("authid".into(), Value::Str("sue".into()));
        details.insert("authextra".into(), Value::Dict(authextra));
        Message::Hello {
            realm: "realm1".into(),
            details,
        }
    };
    let client_nonce = b64.encode([5u8; 16]);
    let mut p = RawPeer::connect(&r.url(), Serializer::Json).await;
    let mut extra = Dict::new();
    extra.insert("nonce".into(), Value::Str(client_nonce.clone()));
    p.send(&hello(extra)).await;
    let Message::Challenge { auth_method, extra } = p.recv().await else {
        panic!("a CHALLENGE");
    };
    assert_eq!(auth_method, "scram");
    let keys: Vec<&str> = extra.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["nonce", "salt", "kdf", "iterations", "memory"],
        "only what Autobahn accepts"
    );
    assert_eq!(
        extra.get("kdf").and_then(Value::as_str),
        Some("argon2id-13")
    );
    let server_nonce = extra
        .get("nonce")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    let raw = b64.decode(&server_nonce).unwrap();
    assert_eq!(
        &raw[..16],
        &[5u8; 16],
        "the client's nonce bytes, then the server's"
    );
    let salt_text = extra
        .get("salt")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    let salt = b64.decode(&salt_text).unwrap();
    let salted = AUTOBAHN_ARGON
        .salted_password("sue-password", &salt)
        .unwrap();
    let message =
        format!("n=sue,r={client_nonce},r={server_nonce},s={salt_text},i=2,c=,r={server_nonce}");
    let proof = wamp_runtime::scram::client_proof(&salted, &message);
    p.send(&Message::Authenticate {
        signature: b64.encode(proof),
        extra: Dict::new(),
    })
    .await;
    let Message::Welcome { details, .. } = p.recv().await else {
        panic!("WELCOME");
    };
    assert_eq!(
        details.get("authmethod").and_then(Value::as_str),
        Some("scram")
    );
    let signature = details
        .get("authextra")
        .and_then(|e| {
            e.as_dict()?
                .get("scram_server_signature")?
                .as_str()
                .map(str::to_owned)
        })
        .unwrap();
    let keys = wamp_runtime::scram::Keys::of(&salted);
    assert_eq!(
        b64.decode(signature).unwrap(),
        keys.server_signature(&message)
    );

    // No nonce; a binding nobody offers.
    for extra in [Dict::new(), {
        let mut d = Dict::new();
        d.insert("nonce".into(), Value::Str(client_nonce.clone()));
        d.insert("channel_binding".into(), Value::Str("tls-unique".into()));
        d
    }] {
        let mut p = RawPeer::connect(&r.url(), Serializer::Json).await;
        p.send(&hello(extra)).await;
        p.expect_abort(error::AUTHENTICATION_FAILED).await;
    }
}
