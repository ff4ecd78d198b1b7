//! Limits per listener and per session: sessions per listener, serializers and maximum
//! message size per listener, the authentication methods a listener offers, calls in
//! flight, subscriptions and registrations per session, the slow-consumer policy, and the
//! authentication timeout. What hits a limit gets a clear error, and everyone else is
//! served.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::future::IntoFuture;
use std::time::Duration;

use futures_util::StreamExt;
use tests::{all_roles, router, RawPeer, WAIT};
use wamp_router::{AuthMethod, Listener, SlowConsumer};
use wamp_runtime::proto::{error, Dict, Message, Value};
use wamp_runtime::{Error, Serializer, Session, WampError};

fn local() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_serves_at_most_its_sessions() {
    let r = router()
        .listener(Listener::websocket(local()).max_sessions(2))
        .listener(Listener::rawsocket(local()).max_sessions(1))
        .start()
        .await
        .unwrap();
    let (ws, raw) = (r.urls()[1].clone(), r.rawsocket_url().unwrap());
    let a = Session::builder(ws.as_str(), "realm1")
        .connect()
        .await
        .unwrap();
    let _b = Session::builder(ws.as_str(), "realm1")
        .connect()
        .await
        .unwrap();
    let e = Session::builder(ws.as_str(), "realm1")
        .connect()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("503"), "{e}");
    let _c = Session::builder(raw.as_str(), "realm1")
        .connect()
        .await
        .unwrap();
    let e = Session::builder(raw.as_str(), "realm1")
        .connect()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("maximum connection count"), "{e}");
    // The other listener is not affected, and a freed slot is taken again.
    Session::builder(r.url(), "realm1").connect().await.unwrap();
    a.leave().await.unwrap();
    let again = tokio::time::timeout(WAIT, async {
        loop {
            match Session::builder(ws.as_str(), "realm1").connect().await {
                Ok(s) => return s,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
    .expect("the slot is freed");
    assert_eq!(again.realm(), "realm1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_have_their_own_serializers_size_limit_and_methods() {
    let r = router()
        .ticket_principal("realm1", "alice", "t", "user")
        .listener(
            Listener::websocket(local())
                .serializers([Serializer::Json])
                .max_message_size(4096)
                .auth_methods([AuthMethod::Ticket]),
        )
        .listener(Listener::rawsocket(local()).serializers([Serializer::Cbor]))
        .start()
        .await
        .unwrap();
    let (small, raw) = (r.urls()[1].clone(), r.rawsocket_url().unwrap());
    // Serializers.
    let e = Session::builder(small.as_str(), "realm1")
        .serializer(Serializer::MsgPack)
        .ticket("alice", "t")
        .connect()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("wamp.2.json"), "{e}");
    let e = Session::builder(raw.as_str(), "realm1")
        .serializer(Serializer::Json)
        .connect()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("serializer unsupported"), "{e}");
    Session::builder(raw.as_str(), "realm1")
        .serializer(Serializer::Cbor)
        .connect()
        .await
        .unwrap();
    // Methods: this listener offers tickets only.
    match Session::builder(small.as_str(), "realm1").connect().await {
        Err(Error::Aborted(w)) => assert_eq!(w.uri, error::NO_AUTH_METHOD),
        other => panic!("{other:?}"),
    }
    // Size: 4 KiB here, the router's default (16 MiB) on the other listener.
    let callee = Session::builder(r.url(), "realm1").connect().await.unwrap();
    let _reg = callee
        .register("com.size", |x: (String,)| async move {
            Ok::<_, WampError>(x.0.len())
        })
        .await
        .unwrap();
    let big = "x".repeat(8192);
    let roomy = Session::builder(r.url(), "realm1").connect().await.unwrap();
    let n: usize = roomy.call("com.size", (big.clone(),)).await.unwrap();
    assert_eq!(n, 8192);
    let cramped = Session::builder(small.as_str(), "realm1")
        .ticket("alice", "t")
        .connect()
        .await
        .unwrap();
    let n: usize = cramped.call("com.size", ("small",)).await.unwrap();
    assert_eq!(n, 5);
    let e = cramped.call::<usize>("com.size", (big,)).await.unwrap_err();
    assert!(
        !matches!(e, Error::Application(_)),
        "an oversized message ends the session: {e:?}"
    );
    tokio::time::timeout(WAIT, cramped.closed()).await.unwrap();
    let n: usize = roomy.call("com.size", ("still here",)).await.unwrap();
    assert_eq!(n, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_has_a_bounded_number_of_calls_in_flight() {
    let r = router().max_pending_calls(3).start().await.unwrap();
    let callee = Session::builder(r.url(), "realm1").connect().await.unwrap();
    let (release, released) = tokio::sync::watch::channel(false);
    let _reg = callee
        .register("com.slow", move |_: ()| {
            let mut released = released.clone();
            async move {
                let _ = released.wait_for(|r| *r).await;
                Ok::<_, WampError>("done")
            }
        })
        .await
        .unwrap();
    let caller = Session::builder(r.url(), "realm1").connect().await.unwrap();
    let calls: Vec<_> = (0..3)
        .map(|_| tokio::spawn(caller.call::<String>("com.slow", ()).into_future()))
        .collect();
    tests::until("three calls at the callee", || {
        r.calls_in_flight("realm1") == 3
    })
    .await;
    match caller.call::<String>("com.slow", ()).await {
        Err(Error::Application(w)) => {
            assert_eq!(w.uri, error::TOO_MANY_CALLS);
            assert!(w.to_string().contains("too many calls"), "{w}");
        }
        other => panic!("{other:?}"),
    }
    // Another caller has its own budget.
    let other = Session::builder(r.url(), "realm1").connect().await.unwrap();
    let fourth = tokio::spawn(other.call::<String>("com.slow", ()).into_future());
    release.send(true).unwrap();
    for c in calls {
        assert_eq!(c.await.unwrap().unwrap(), "done");
    }
    assert_eq!(fourth.await.unwrap().unwrap(), "done");
    // Finished calls free the budget.
    let again: String = caller.call("com.slow", ()).await.unwrap();
    assert_eq!(again, "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_subscriber_is_disconnected_and_the_others_get_every_event() {
    let r = router()
        .outbound_queue(16)
        .slow_consumer(SlowConsumer::Disconnect)
        .start()
        .await
        .unwrap();
    let mut stalled = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    stalled
        .send(&Message::Subscribe {
            request: 1,
            options: Dict::new(),
            topic: "com.flood".into(),
        })
        .await;
    assert!(matches!(stalled.recv().await, Message::Subscribed { .. }));
    // From here on it reads nothing.
    let reader = Session::builder(r.url(), "realm1")
        .subscription_buffer(10_000)
        .connect()
        .await
        .unwrap();
    let mut events = reader
        .subscribe::<(usize, String)>("com.flood")
        .await
        .unwrap();
    let publisher = Session::builder(r.url(), "realm1").connect().await.unwrap();
    const EVENTS: usize = 2000;
    let blob = "y".repeat(16 * 1024);
    for i in 0..EVENTS {
        publisher
            .publish("com.flood", (i, blob.as_str()))
            .acknowledge()
            .await
            .unwrap();
    }
    let mut seen = 0;
    while seen < EVENTS {
        let e = tokio::time::timeout(WAIT, events.next())
            .await
            .expect("every event arrives")
            .expect("the subscription lives")
            .expect("a well-formed event");
        let (i, _) = e.data;
        assert_eq!(i, seen, "in order, none lost");
        seen += 1;
    }
    assert_eq!(
        r.stats().slow_disconnects,
        1,
        "the stalled subscriber was disconnected"
    );
    assert_eq!(r.stats().dropped_events, 0);
    assert_eq!(r.session_count("realm1"), 2);
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_challenge_times_out() {
    let r = router()
        .ticket_principal("realm1", "alice", "t", "user")
        .auth_timeout(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let mut peer = RawPeer::connect(&r.url(), Serializer::Json).await;
    let mut details = all_roles();
    details.insert("authid".into(), Value::Str("alice".into()));
    details.insert(
        "authmethods".into(),
        Value::List(vec![Value::Str("ticket".into())]),
    );
    peer.send(&Message::Hello {
        realm: "realm1".into(),
        details,
    })
    .await;
    assert!(matches!(peer.recv().await, Message::Challenge { .. }));
    let started = std::time::Instant::now();
    match peer.recv().await {
        Message::Abort { reason, .. } => assert_eq!(reason, error::AUTHENTICATION_FAILED),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < WAIT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_half_open_connections_blocks_nobody() {
    use tokio::io::AsyncReadExt;
    let r = router()
        .hello_timeout(Duration::from_millis(500))
        .rawsocket(local())
        .start()
        .await
        .unwrap();
    let ws = r.local_addr();
    let raw = r.rawsocket_addr().unwrap();
    // 200 connections that say nothing (half of them on each transport), and 50 that
    // open a WebSocket handshake and stop halfway.
    let mut idle = Vec::new();
    for i in 0..200 {
        let addr = if i % 2 == 0 { ws } else { raw };
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    for _ in 0..50 {
        use tokio::io::AsyncWriteExt;
        let mut s = tokio::net::TcpStream::connect(ws).await.unwrap();
        s.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        idle.push(s);
    }
    // Everyone else is served meanwhile.
    let a = Session::builder(r.url(), "realm1").connect().await.unwrap();
    let b = Session::builder(r.rawsocket_url().unwrap(), "realm1")
        .connect()
        .await
        .unwrap();
    let _reg = b
        .register("com.ping", |_: ()| async { Ok::<_, WampError>("pong") })
        .await
        .unwrap();
    let pong: String = a.call("com.ping", ()).await.unwrap();
    assert_eq!(pong, "pong");
    // The router closes every one of them once the HELLO timeout passes.
    for mut s in idle {
        let mut buf = [0u8; 1024];
        let closed = tokio::time::timeout(WAIT, async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a half-open connection was closed");
    }
    let pong: String = a.call("com.ping", ()).await.unwrap();
    assert_eq!(pong, "pong");
}

#[tokio::test]
async fn a_session_holds_at_most_its_subscriptions_and_registrations() {
    let r = router()
        .max_subscriptions(2)
        .max_registrations(1)
        .start()
        .await
        .unwrap();
    let s = Session::builder(r.endpoint(), "realm1")
        .connect()
        .await
        .unwrap();
    let _a = s.subscribe::<()>("com.example.a").await.unwrap();
    let b = s.subscribe::<()>("com.example.b").await.unwrap();
    // Another local subscription to a topic it holds is no new subscription.
    let _a_again = s.subscribe::<()>("com.example.a").await.unwrap();
    let e = s.subscribe::<()>("com.example.c").await.unwrap_err();
    assert_eq!(e.uri(), Some(error::NOT_AUTHORIZED));
    assert!(e.to_string().contains("too many subscriptions"), "{e}");
    // A freed slot can be taken again.
    b.unsubscribe().await.unwrap();
    let _c = s.subscribe::<()>("com.example.c").await.unwrap();

    let one = s
        .register("com.example.one", |(): ()| async { Ok::<_, WampError>(1) })
        .await
        .unwrap();
    let e = s
        .register("com.example.two", |(): ()| async { Ok::<_, WampError>(2) })
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::NOT_AUTHORIZED));
    assert!(e.to_string().contains("too many registrations"), "{e}");
    one.unregister().await.unwrap();
    let _two = s
        .register("com.example.two", |(): ()| async { Ok::<_, WampError>(2) })
        .await
        .unwrap();

    // Other sessions have their own allowance.
    let other = Session::builder(r.endpoint(), "realm1")
        .connect()
        .await
        .unwrap();
    let _x = other.subscribe::<()>("com.example.x").await.unwrap();
    let _y = other
        .register("com.example.y", |(): ()| async { Ok::<_, WampError>(0) })
        .await
        .unwrap();
}
