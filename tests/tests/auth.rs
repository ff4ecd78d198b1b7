//! Authentication on the bundled router: anonymous (or not), ticket and WAMP-CRA (plain
//! and salted), with our client and with Autobahn for Python; the spec's ABORT reasons.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{router, run_python};
use wamp_runtime::proto::error;
use wamp_runtime::{Error, Serializer, Session};

async fn secured(anonymous: bool) -> wamp_router::RouterHandle {
    router()
        .anonymous(anonymous.then_some("guest"))
        .ticket_principal("realm1", "alice", "alice's ticket", "user")
        .wampcra_principal("realm1", "joe", "secret1", "admin")
        .wampcra_salted_principal("realm1", "peter", "secret2", "salt123", 100, 16, "user")
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
            (s.authid(), s.authrole(), s.authmethod()),
            (Some("alice"), Some("user"), Some("ticket"))
        );
        let s = Session::builder(r.url(), "realm1")
            .serializer(ser)
            .wampcra("joe", "secret1")
            .connect()
            .await
            .unwrap();
        assert_eq!(
            (s.authid(), s.authrole(), s.authmethod()),
            (Some("joe"), Some("admin"), Some("wampcra"))
        );
        let s = Session::builder(r.url(), "realm1")
            .serializer(ser)
            .wampcra("peter", "secret2")
            .connect()
            .await
            .unwrap();
        assert_eq!(s.authid(), Some("peter"));
    }
    // Anonymous sessions get the configured role.
    let s = Session::builder(r.url(), "realm1").connect().await.unwrap();
    assert_eq!(
        (s.authrole(), s.authmethod()),
        (Some("guest"), Some("anonymous"))
    );
    // In-process sessions authenticate the same way.
    let s = Session::builder(r.endpoint(), "realm1")
        .wampcra("joe", "secret1")
        .connect()
        .await
        .unwrap();
    assert_eq!(s.authrole(), Some("admin"));
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
        let out = run_python("autobahn_auth.py", &[&r.url(), "realm1", ser]).await;
        assert!(out.contains(&format!("ALL OK {ser}")), "{out}");
    }
}
