//! Dynamic authentication: a listener hands ticket, WAMP-CRA, cryptosign and WAMP-SCRAM
//! to a WAMP
//! procedure registered by an ordinary session, as Crossbar.io's dynamic authenticators
//! do; the procedure picks the role (and may pick the authid and realm), and its errors
//! refuse the client.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use serde_json::{json, Value as Json};
use tests::router;
use wamp_router::{AuthMethod, Authenticator, Listener};
use wamp_runtime::proto::error;
use wamp_runtime::{CryptosignKey, Error, Session, WampError};

fn aborted_with(e: Error, uri: &str) {
    match e {
        Error::Aborted(w) => assert_eq!(w.uri, uri, "{w}"),
        other => panic!("expected ABORT {uri}, got {other:?}"),
    }
}

/// What the authenticator knows: one user per method, and a user it moves to realm2.
async fn authenticate(
    (realm, authid, details): (String, String, Json),
    device: String,
) -> Result<Json, WampError> {
    assert_eq!(realm, "realm1");
    let refuse = |text: &str| Err(WampError::with_message(error::NOT_AUTHORIZED, text));
    match (details["authmethod"].as_str(), authid.as_str()) {
        (Some("ticket"), "dyn-alice") if details["ticket"] == "open sesame" => {
            Ok(json!({ "role": "user" }))
        }
        (Some("ticket"), "mover") => Ok(json!({ "role": "visitor", "realm": "realm2" })),
        (Some("ticket"), _) => refuse("unknown user or wrong ticket"),
        (Some("wampcra"), "dyn-joe") => Ok(json!({ "role": "admin", "secret": "s3cret" })),
        // As a Crossbar.io authenticator answers for SCRAM: the stored credential.
        (Some("wamp-scram" | "scram"), "dyn-sam") => {
            let kdf = wamp_runtime::scram::Kdf::Pbkdf2 { iterations: 4096 };
            let c = wamp_runtime::scram::Credential::new("dyn-password", kdf).unwrap();
            Ok(json!({
                "role": "user", "kdf": "pbkdf2", "iterations": 4096,
                "salt": hex::encode(&c.salt),
                "stored-key": hex::encode(c.keys.stored_key),
                "server-key": hex::encode(c.keys.server_key),
            }))
        }
        (Some("cryptosign"), _) if details["authextra"]["pubkey"] == device.as_str() => {
            Ok(json!({ "role": "sensor", "authid": "dyn-device", "pubkey": device }))
        }
        (Some("wampcra" | "cryptosign" | "wamp-scram" | "scram"), _) => refuse("no such principal"),
        (m, _) => Err(WampError::with_message("com.example.odd", format!("{m:?}"))),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticator_procedure_decides_who_joins() {
    let device = CryptosignKey::generate();
    let methods = [
        AuthMethod::Ticket,
        AuthMethod::WampCra,
        AuthMethod::Cryptosign,
        AuthMethod::Scram,
    ];
    let r =
        router()
            .anonymous(None)
            // The authenticator's own session joins through the in-process endpoint, which
            // authenticates like any other: give it a principal.
            .ticket_principal("realm2", "authenticator", "backend secret", "backend")
            .listener(
                Listener::websocket("127.0.0.1:0".parse().unwrap()).authenticator(
                    Authenticator::new("com.example.authenticate", "realm2", methods),
                ),
            )
            .start()
            .await
            .unwrap();
    let url = r.urls()[1].clone();

    // Before the procedure exists, nobody gets in.
    let e = Session::builder(url.as_str(), "realm1")
        .ticket("dyn-alice", "open sesame")
        .connect()
        .await
        .unwrap_err();
    aborted_with(e, error::AUTHENTICATION_FAILED);

    let backend = Session::builder(r.endpoint(), "realm2")
        .ticket("authenticator", "backend secret")
        .connect()
        .await
        .unwrap();
    let key = device.public_key_hex();
    let _reg = backend
        .register("com.example.authenticate", move |args| {
            authenticate(args, key.clone())
        })
        .await
        .unwrap();

    let s = Session::builder(url.as_str(), "realm1")
        .ticket("dyn-alice", "open sesame")
        .connect()
        .await
        .unwrap();
    assert_eq!(
        (
            s.authid().as_deref(),
            s.authrole().as_deref(),
            s.authmethod().as_deref()
        ),
        (Some("dyn-alice"), Some("user"), Some("ticket"))
    );
    assert_eq!(
        s.welcome_details()
            .get("authprovider")
            .and_then(|v| v.as_str()),
        Some("dynamic")
    );
    let s = Session::builder(url.as_str(), "realm1")
        .wampcra("dyn-joe", "s3cret")
        .connect()
        .await
        .unwrap();
    assert_eq!(
        (s.authid().as_deref(), s.authrole().as_deref()),
        (Some("dyn-joe"), Some("admin"))
    );
    let s = Session::builder(url.as_str(), "realm1")
        .cryptosign(device.clone())
        .connect()
        .await
        .unwrap();
    assert_eq!(
        (s.authid().as_deref(), s.authrole().as_deref()),
        (Some("dyn-device"), Some("sensor"))
    );
    let s = Session::builder(url.as_str(), "realm1")
        .scram("dyn-sam", "dyn-password")
        .connect()
        .await
        .unwrap();
    assert_eq!(
        (s.authid().as_deref(), s.authmethod().as_deref()),
        (Some("dyn-sam"), Some("wamp-scram"))
    );
    let e = Session::builder(url.as_str(), "realm1")
        .scram("dyn-sam", "wrong")
        .connect()
        .await
        .unwrap_err();
    aborted_with(e, error::AUTHENTICATION_FAILED);
    // The authenticator may send a client to another realm.
    let s = Session::builder(url.as_str(), "realm1")
        .ticket("mover", "anything")
        .connect()
        .await
        .unwrap();
    assert_eq!(
        (s.realm().as_str(), s.authrole().as_deref()),
        ("realm2", Some("visitor"))
    );

    // Its errors refuse the client with their URI; a wrong WAMP-CRA secret fails the
    // challenge.
    for b in [
        Session::builder(url.as_str(), "realm1").ticket("dyn-alice", "wrong"),
        Session::builder(url.as_str(), "realm1").wampcra("nobody", "x"),
        Session::builder(url.as_str(), "realm1").cryptosign(CryptosignKey::generate()),
    ] {
        aborted_with(b.connect().await.unwrap_err(), error::NOT_AUTHORIZED);
    }
    let e = Session::builder(url.as_str(), "realm1")
        .wampcra("dyn-joe", "wrong")
        .connect()
        .await
        .unwrap_err();
    aborted_with(e, error::AUTHENTICATION_FAILED);
    // The other listener has no authenticator: the static principals only.
    let e = Session::builder(r.url(), "realm1")
        .ticket("dyn-alice", "open sesame")
        .connect()
        .await
        .unwrap_err();
    aborted_with(e, error::NOT_AUTHORIZED);
}

/// The authenticator can be any WAMP peer: here an Autobahn|Python session, written as
/// for Crossbar.io.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_autobahn_python_authenticator() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let methods = [AuthMethod::Ticket, AuthMethod::WampCra];
    let r =
        router()
            .listener(
                Listener::websocket("127.0.0.1:0".parse().unwrap()).authenticator(
                    Authenticator::new("com.example.authenticate", "realm2", methods),
                ),
            )
            .start()
            .await
            .unwrap();
    let mut python =
        tests::spawn_python("autobahn_authenticator.py", &[&r.url(), "realm2", "json"]);
    let mut lines = BufReader::new(python.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
        .await
        .expect("the authenticator starts")
        .unwrap();
    assert_eq!(ready.as_deref(), Some("READY"));
    let url = r.urls()[1].clone();
    let s = Session::builder(url.as_str(), "realm1")
        .ticket("py-alice", "py-ticket")
        .connect()
        .await
        .unwrap();
    assert_eq!(
        (s.authid().as_deref(), s.authrole().as_deref()),
        (Some("py-alice"), Some("user"))
    );
    let s = Session::builder(url.as_str(), "realm1")
        .wampcra("py-joe", "py-secret")
        .connect()
        .await
        .unwrap();
    assert_eq!(
        (s.authid().as_deref(), s.authrole().as_deref()),
        (Some("py-joe"), Some("admin"))
    );
    for b in [
        Session::builder(url.as_str(), "realm1").ticket("py-alice", "wrong"),
        Session::builder(url.as_str(), "realm1").ticket("py-joe", "py-secret"),
    ] {
        aborted_with(b.connect().await.unwrap_err(), error::NOT_AUTHORIZED);
    }
    python.kill().await.unwrap();
}
