//! Sessions of the client runtime against the bundled router: joining, leaving and
//! dropping, connection errors, and a router or connection that goes away.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt;
use tests::{endpoints, join, router, start_router, until, WAIT};
use wamp_runtime::proto::error;
use wamp_runtime::{Endpoint, Error, Serializer, Session, WampError};

#[tokio::test]
async fn joins_and_knows_its_session() {
    let r = start_router().await;
    let mut sessions = Vec::new();
    for (what, ep, ser) in endpoints(&r) {
        let s = join(ep, ser).await;
        assert!(s.id() > 0, "{what}");
        assert_eq!(s.realm(), "realm1");
        assert_eq!(s.authrole().as_deref(), Some("anonymous"));
        assert!(s.authid().as_deref().is_some());
        assert!(s.router_roles().unwrap().contains_key("dealer"));
        assert!(s.router_supports("broker", "publisher_exclusion"), "{what}");
        assert!(!s.router_supports("dealer", "no_such_feature"));
        sessions.push(s);
    }
    assert_eq!(r.session_count("realm1"), 4);
}

#[tokio::test]
async fn the_router_going_away_ends_everything_with_an_error() {
    for in_process in [false, true] {
        let r = start_router().await;
        let callee = join(r.endpoint(), Serializer::Json).await;
        let ep = if in_process {
            r.endpoint()
        } else {
            Endpoint::from(r.url())
        };
        let s = join(ep, Serializer::MsgPack).await;
        let _stuck = callee
            .register("com.example.stuck", |(): ()| async {
                std::future::pending::<()>().await;
                Ok::<_, WampError>(())
            })
            .await
            .unwrap();
        let mut sub = s.subscribe::<(i64,)>("com.example.t").await.unwrap();
        let call = tokio::spawn({
            let s = s.clone();
            async move { s.call::<()>("com.example.stuck", ()).await }
        });
        tests::until("the call at the callee", || {
            r.calls_in_flight("realm1") == 1
        })
        .await;
        tokio::time::timeout(WAIT, r.shutdown())
            .await
            .expect("router stops");
        let e = tokio::time::timeout(WAIT, call)
            .await
            .expect("the pending call learns it")
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(&e, Error::Closed(_) | Error::Application(_)),
            "{e:?}"
        );
        let end = tokio::time::timeout(WAIT, sub.next()).await.unwrap();
        assert!(matches!(end, Some(Err(Error::Closed(_)))), "{end:?}");
        assert!(tokio::time::timeout(WAIT, sub.next())
            .await
            .unwrap()
            .is_none());
        let reason = tokio::time::timeout(WAIT, s.closed()).await.unwrap();
        assert!(reason.contains("system_shutdown"), "{reason}");
        let e = s.call::<()>("com.example.stuck", ()).await.unwrap_err();
        assert!(matches!(e, Error::Closed(_)), "{e:?}");
    }
}

#[tokio::test]
async fn leaving_and_dropping_close_the_session() {
    let r = start_router().await;
    for (what, ep, ser) in endpoints(&r) {
        let s = join(ep.clone(), ser).await;
        until("joined", || r.session_count("realm1") == 1).await;
        s.leave().await.unwrap();
        assert!(s.is_closed());
        let e = s.call::<()>("com.example.x", ()).await.unwrap_err();
        assert!(matches!(e, Error::Closed(_)), "{what}: {e:?}");
        assert!(matches!(s.leave().await, Err(Error::Closed(_))));
        until("left", || r.session_count("realm1") == 0).await;

        let s = join(ep, ser).await;
        let clone = s.clone();
        until("joined", || r.session_count("realm1") == 1).await;
        drop(s);
        assert!(!clone.is_closed(), "a clone keeps it open");
        drop(clone);
        until("the last handle closes it", || {
            r.session_count("realm1") == 0
        })
        .await;
    }
}

#[tokio::test]
async fn connection_errors_are_typed() {
    let r = router().realm("other").start().await.unwrap();
    let e = Session::builder(r.url(), "nope")
        .connect()
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::NO_SUCH_REALM), "{e}");
    let e = Session::builder(r.endpoint(), "nope")
        .connect()
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::NO_SUCH_REALM), "{e}");
    // A method no principal uses is not enabled.
    let e = Session::builder(r.url(), "other")
        .ticket("alice", "secret")
        .connect()
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::NO_AUTH_METHOD), "{e}");
    let e = Session::builder(r.url(), "not a realm!")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e}");
    let e = Session::builder("http://127.0.0.1:1/", "realm1")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e}");

    // Nobody listening.
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = Session::builder(format!("ws://127.0.0.1:{closed_port}/ws"), "realm1")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e}");

    // Somebody listening who never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", silent.local_addr().unwrap());
    let e = Session::builder(url, "realm1")
        .connect_timeout(Duration::from_millis(200))
        .connect()
        .await
        .unwrap_err();
    assert_eq!(e, Error::ConnectTimeout(Duration::from_millis(200)));
}

/// A "router" that welcomes one session, waits for its first CALL, and then drops the
/// connection without a word.
async fn vanishing_router() -> String {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    use wamp_runtime::proto::{Dict, Message};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        // tungstenite's callback type, not ours to shrink.
        #[allow(clippy::result_large_err)]
        let callback = |_: &Request, mut resp: Response| {
            resp.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_static("wamp.2.json"),
            );
            Ok(resp)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(tcp, callback)
            .await
            .unwrap();
        let _hello = ws.next().await;
        let welcome = Serializer::Json
            .encode(&Message::Welcome {
                session: 1,
                details: Dict::new(),
            })
            .unwrap();
        ws.send(WsMessage::Text(
            String::from_utf8(welcome.to_vec()).unwrap().into(),
        ))
        .await
        .unwrap();
        // Wait for the CALL, then vanish.
        while let Some(Ok(m)) = ws.next().await {
            if m.to_text().unwrap_or("").starts_with("[48,") {
                break;
            }
        }
        drop(ws);
    });
    url
}

#[tokio::test]
async fn a_dropped_connection_fails_everything_waiting_at_once() {
    let url = vanishing_router().await;
    let s = Session::builder(url, "realm1").connect().await.unwrap();
    let call = tokio::spawn({
        let s = s.clone();
        async move { s.call::<()>("com.example.anything", ()).await }
    });
    let e = tokio::time::timeout(WAIT, call)
        .await
        .expect("the call learns it at once")
        .unwrap()
        .unwrap_err();
    match &e {
        Error::Closed(reason) => assert!(reason.contains("connection"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(s.is_closed());
    let e = s.publish("com.example.t", ()).await.unwrap_err();
    assert!(matches!(e, Error::Closed(_)), "{e:?}");
}
