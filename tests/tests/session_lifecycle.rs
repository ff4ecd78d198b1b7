//! Session lifecycle against the real router: handshake, WELCOME, ABORT for each error,
//! GOODBYE both ways, HELLO timeout, protocol violations, oversized messages, shutdown.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
use tests::{all_roles, router, start_router, RawPeer};
use tokio_tungstenite::tungstenite::Error as WsError;
use wamp_runtime::dict;
use wamp_runtime::proto::{close, error, Dict, Message, Payload, Value};
use wamp_runtime::Serializer;

#[tokio::test]
async fn welcome_announces_roles_and_identity() {
    let r = start_router().await;
    for ser in Serializer::ALL {
        let mut p = RawPeer::connect(&r.url(), ser).await;
        p.send(&Message::Hello {
            realm: "realm1".into(),
            details: all_roles(),
        })
        .await;
        let Message::Welcome { session, details } = p.recv().await else {
            panic!("no WELCOME")
        };
        assert!(wamp_runtime::proto::is_valid_id(session));
        let roles = details["roles"].as_dict().expect("roles");
        assert!(roles.contains_key("broker") && roles.contains_key("dealer"));
        assert_eq!(details["authrole"], Value::from("anonymous"));
        assert_eq!(details["authmethod"], Value::from("anonymous"));
        assert!(details["authid"].as_str().is_some());
        assert_eq!(r.session_count("realm1"), 1);
        p.send(&Message::goodbye(close::NORMAL)).await;
        assert_eq!(p.recv().await, Message::goodbye(close::GOODBYE_AND_OUT));
        assert_eq!(r.session_count("realm1"), 0);
        // The transport may carry a new session after GOODBYE.
        p.send(&Message::Hello {
            realm: "realm2".into(),
            details: all_roles(),
        })
        .await;
        let Message::Welcome {
            session: second, ..
        } = p.recv().await
        else {
            panic!("no WELCOME")
        };
        assert_ne!(second, session);
        assert_eq!(r.session_count("realm2"), 1);
        p.drop_connection().await;
    }
    r.shutdown().await;
}

#[tokio::test]
async fn a_transport_idle_after_goodbye_is_closed_after_the_hello_timeout() {
    let r = router()
        .hello_timeout(Duration::from_millis(300))
        .start()
        .await
        .expect("starts");
    let mut p = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    tokio::time::sleep(Duration::from_millis(400)).await; // established: no timeout
    p.send(&Message::goodbye(close::NORMAL)).await;
    assert_eq!(p.recv().await, Message::goodbye(close::GOODBYE_AND_OUT));
    p.expect_abort(error::PROTOCOL_VIOLATION).await;
}

#[tokio::test]
async fn unknown_realm_is_aborted_with_no_such_realm() {
    let r = start_router().await;
    let mut p = RawPeer::connect(&r.url(), Serializer::Json).await;
    p.send(&Message::Hello {
        realm: "nope".into(),
        details: all_roles(),
    })
    .await;
    p.expect_abort(error::NO_SUCH_REALM).await;
}

#[tokio::test]
async fn hello_without_roles_is_a_protocol_violation() {
    let r = start_router().await;
    let mut p = RawPeer::connect(&r.url(), Serializer::Json).await;
    p.send(&Message::Hello {
        realm: "realm1".into(),
        details: Dict::new(),
    })
    .await;
    let text = p.expect_abort(error::PROTOCOL_VIOLATION).await;
    assert!(text.contains("roles"), "{text}");
}

#[tokio::test]
async fn hello_asking_only_for_unknown_auth_is_refused() {
    let r = start_router().await;
    let mut p = RawPeer::connect(&r.url(), Serializer::Json).await;
    let mut details = all_roles();
    details.insert("authmethods".into(), Value::List(vec!["ticket".into()]));
    p.send(&Message::Hello {
        realm: "realm1".into(),
        details,
    })
    .await;
    p.expect_abort(error::NO_AUTH_METHOD).await;
}

#[tokio::test]
async fn message_before_hello_is_a_protocol_violation() {
    let r = start_router().await;
    let mut p = RawPeer::connect(&r.url(), Serializer::MsgPack).await;
    p.send(&Message::Subscribe {
        request: 1,
        options: Dict::new(),
        topic: "com.t".into(),
    })
    .await;
    p.expect_abort(error::PROTOCOL_VIOLATION).await;
}

#[tokio::test]
async fn second_hello_and_router_messages_are_protocol_violations() {
    let r = start_router().await;
    let mut p = RawPeer::join(&r.url(), Serializer::Cbor, "realm1").await;
    p.send(&Message::Hello {
        realm: "realm1".into(),
        details: all_roles(),
    })
    .await;
    p.expect_abort(error::PROTOCOL_VIOLATION).await;

    let mut p = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    p.send(&Message::Event {
        subscription: 1,
        publication: 2,
        details: Dict::new(),
        payload: Payload::empty(),
    })
    .await;
    let text = p.expect_abort(error::PROTOCOL_VIOLATION).await;
    assert!(text.contains("EVENT"), "{text}");

    let mut p = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    p.send(&Message::error(
        wamp_runtime::proto::code::CALL,
        1,
        "com.err",
        "x",
    ))
    .await;
    p.expect_abort(error::PROTOCOL_VIOLATION).await;
    assert_eq!(r.session_count("realm1"), 0);
}

#[tokio::test]
async fn undecodable_and_malformed_messages_abort_only_that_session() {
    let r = start_router().await;
    let mut bystander = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    let bad: &[&str] = &[
        "this is not json",
        "{\"an\":\"object\"}",
        "[]",
        "[32,\"not an id\",{},\"com.t\"]",
        "[32,0,{},\"com.t\"]",
        "[32,1,{},\"com.t\",\"extra\"]",
        "[1234,1]",
        "[48,1,{},\"com.p\",{\"not\":\"a list\"}]",
    ];
    for text in bad {
        let mut p = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
        p.send_text(text).await;
        let why = p.expect_abort(error::PROTOCOL_VIOLATION).await;
        assert!(!why.is_empty(), "ABORT for {text} gives a reason");
    }
    for ser in [Serializer::MsgPack, Serializer::Cbor] {
        let mut p = RawPeer::join(&r.url(), ser, "realm1").await;
        p.send_frame(Bytes::from_static(&[0xff, 0x00, 0x13])).await;
        p.expect_abort(error::PROTOCOL_VIOLATION).await;
    }
    // A bad option value is no protocol violation: a PUBLISH that cannot say whether it
    // wants an answer is dropped (and logged), and the session goes on.
    let mut p = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    p.send_text("[16,1,{\"acknowledge\":\"yes\"},\"com.t\"]")
        .await;
    p.send_text("[32,2,{},\"com.t\"]").await;
    assert!(matches!(
        p.recv().await,
        Message::Subscribed { request: 2, .. }
    ));
    // The bystander was not disturbed.
    bystander
        .send(&Message::Subscribe {
            request: 7,
            options: Dict::new(),
            topic: "com.still.here".into(),
        })
        .await;
    assert!(matches!(
        bystander.recv().await,
        Message::Subscribed { request: 7, .. }
    ));
}

#[tokio::test]
async fn oversized_message_is_refused_and_others_keep_working() {
    let r = router()
        .max_message_size(4096)
        .start()
        .await
        .expect("starts");
    let mut big = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    let mut other = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    big.send(&Message::Publish {
        request: 1,
        options: Dict::new(),
        topic: "com.big".into(),
        payload: Payload::args(vec![Value::Bytes(vec![7; 10_000])]),
    })
    .await;
    let text = big.expect_abort(error::PROTOCOL_VIOLATION).await;
    assert!(text.contains("too large"), "{text}");
    other
        .send(&Message::Subscribe {
            request: 2,
            options: Dict::new(),
            topic: "com.t".into(),
        })
        .await;
    assert!(matches!(
        other.recv().await,
        Message::Subscribed { request: 2, .. }
    ));
}

#[tokio::test]
async fn silent_connections_are_aborted_after_the_hello_timeout() {
    let r = router()
        .hello_timeout(Duration::from_millis(300))
        .start()
        .await
        .expect("starts");
    let mut p = RawPeer::connect(&r.url(), Serializer::Json).await;
    let text = p.expect_abort(error::PROTOCOL_VIOLATION).await;
    assert!(text.contains("HELLO"), "{text}");
    // A session that did say hello is not affected by the timeout.
    let mut ok = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    ok.send(&Message::Subscribe {
        request: 1,
        options: Dict::new(),
        topic: "com.t".into(),
    })
    .await;
    assert!(matches!(ok.recv().await, Message::Subscribed { .. }));
}

#[tokio::test]
async fn handshake_without_a_wamp_subprotocol_is_refused_with_http_400() {
    let r = start_router().await;
    for offer in ["", "mqtt", "wamp.2.ubjson"] {
        match RawPeer::connect_with(&r.url(), offer).await {
            Err(WsError::Http(resp)) => assert_eq!(resp.status().as_u16(), 400, "offer {offer:?}"),
            Err(e) => panic!("offer {offer:?}: unexpected error {e}"),
            Ok(_) => panic!("offer {offer:?} was accepted"),
        }
    }
    // The client's order of preference wins among those we speak.
    let (_, chosen) = RawPeer::connect_with(&r.url(), "wamp.2.ubjson, wamp.2.msgpack, wamp.2.json")
        .await
        .expect("accepted");
    assert_eq!(chosen.as_deref(), Some("wamp.2.msgpack"));
}

#[tokio::test]
async fn shutdown_says_goodbye_to_every_session() {
    let r = start_router().await;
    let url = r.url();
    let mut a = RawPeer::join(&url, Serializer::Json, "realm1").await;
    let mut b = RawPeer::join(&url, Serializer::Cbor, "realm2").await;
    let stopping = tokio::spawn(r.shutdown());
    for p in [&mut a, &mut b] {
        assert_eq!(p.recv().await, Message::goodbye(close::SYSTEM_SHUTDOWN));
        p.send(&Message::goodbye(close::GOODBYE_AND_OUT)).await;
        assert!(p.until_closed().await.is_empty());
    }
    tokio::time::timeout(tests::WAIT, stopping)
        .await
        .expect("shutdown finishes")
        .expect("no panic");
    assert!(
        RawPeer::connect_with(&url, "wamp.2.json").await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn realms_are_isolated() {
    let r = start_router().await;
    let mut sub = RawPeer::join(&r.url(), Serializer::Json, "realm2").await;
    sub.send(&Message::Subscribe {
        request: 1,
        options: Dict::new(),
        topic: "com.t".into(),
    })
    .await;
    assert!(matches!(sub.recv().await, Message::Subscribed { .. }));
    let mut publ = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    publ.send(&Message::Publish {
        request: 1,
        options: dict! { "acknowledge" => true },
        topic: "com.t".into(),
        payload: Payload::empty(),
    })
    .await;
    assert!(matches!(publ.recv().await, Message::Published { .. }));
    sub.expect_silence(Duration::from_millis(200)).await;
    // Procedures are per realm too.
    publ.send(&Message::Register {
        request: 2,
        options: Dict::new(),
        procedure: "com.p".into(),
    })
    .await;
    assert!(matches!(publ.recv().await, Message::Registered { .. }));
    sub.send(&Message::Register {
        request: 2,
        options: Dict::new(),
        procedure: "com.p".into(),
    })
    .await;
    assert!(matches!(sub.recv().await, Message::Registered { .. }));
}
