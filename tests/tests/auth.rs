//! Authentication on the bundled router: anonymous (or not), ticket, WAMP-CRA (plain and
//! salted) and WAMP-Cryptosign, with our client and with Autobahn for Python; the spec's
//! ABORT reasons.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{all_roles, router, run_python, RawPeer};
use wamp_runtime::proto::{error, Dict, Message, Value};
use wamp_runtime::{CryptosignKey, Error, Serializer, Session};

/// The private seed of principal `device` (the spec's first test vector key); Autobahn's
/// script signs with the same one.
const DEVICE_SEED: &str = "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510";

fn device_key() -> CryptosignKey {
    CryptosignKey::from_hex(DEVICE_SEED).unwrap()
}

async fn secured(anonymous: bool) -> wamp_router::RouterHandle {
    router()
        .anonymous(anonymous.then_some("guest"))
        .ticket_principal("realm1", "alice", "alice's ticket", "user")
        .wampcra_principal("realm1", "joe", "secret1", "admin")
        .wampcra_salted_principal("realm1", "peter", "secret2", "salt123", 100, 16, "user")
        .cryptosign_principal("realm1", "device", &device_key().public_key_hex(), "sensor")
        .expect("a valid key")
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
