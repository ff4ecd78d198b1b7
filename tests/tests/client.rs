//! The client runtime against the bundled router: every operation over WebSocket with each
//! serializer and in-process, errors, concurrency, slow consumers and vanishing peers.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use futures_util::future::join_all;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tests::{router, start_router, WAIT};
use wamp_router::RouterHandle;
use wamp_runtime::proto::error;
use wamp_runtime::{
    Args, CallDetails, Endpoint, Error, Event, MatchPolicy, Serializer, Session, Subscription,
    WampError,
};

/// Every way a session can reach the router.
fn endpoints(r: &RouterHandle) -> Vec<(String, Endpoint, Serializer)> {
    let mut v: Vec<_> = Serializer::ALL
        .into_iter()
        .map(|s| (format!("ws {s}"), Endpoint::from(r.url()), s))
        .collect();
    v.push(("in-process".into(), r.endpoint(), Serializer::Json));
    v
}

async fn join(endpoint: Endpoint, serializer: Serializer) -> Session {
    Session::builder(endpoint, "realm1")
        .serializer(serializer)
        .connect()
        .await
        .expect("joins")
}

async fn next<T: wamp_runtime::client::FromArgs>(sub: &mut Subscription<T>) -> Event<T> {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("an event in time")
        .expect("stream open")
        .expect("event reads as T")
}

/// Polls `cond` until it holds, or fails after [`WAIT`].
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Greeting {
    name: String,
    times: u32,
}

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
async fn calls_reach_callees_over_every_transport_and_serializer() {
    let r = start_router().await;
    let eps = endpoints(&r);
    // Every callee/caller pairing: JSON callee with CBOR caller, in-process with MsgPack…
    for (i, (callee_what, callee_ep, callee_ser)) in eps.iter().enumerate() {
        let callee = join(callee_ep.clone(), *callee_ser).await;
        let uri = format!("com.example.add{i}");
        let _reg = callee
            .register(&uri, |(a, b): (i64, i64)| async move {
                Ok::<_, WampError>(a + b)
            })
            .await
            .expect("registers");
        for (caller_what, caller_ep, caller_ser) in &eps {
            let caller = join(caller_ep.clone(), *caller_ser).await;
            let sum: i64 = caller.call(&uri, (2, 3)).await.expect("calls");
            assert_eq!(sum, 5, "{caller_what} → {callee_what}");
        }
    }
}

#[tokio::test]
async fn arguments_results_and_kwargs_keep_their_types() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let caller = join(Endpoint::from(r.url()), Serializer::Cbor).await;

    // A struct is keyword arguments; a struct result is one positional argument.
    let _greet = callee
        .register("com.example.greet", |g: Greeting| async move {
            Ok::<_, WampError>(Greeting {
                name: format!("hello {}", g.name),
                times: g.times + 1,
            })
        })
        .await
        .unwrap();
    let back: Greeting = caller
        .call(
            "com.example.greet",
            Greeting {
                name: "ada".into(),
                times: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        back,
        Greeting {
            name: "hello ada".into(),
            times: 2
        }
    );

    // `()` is no arguments and no result; binary stays binary.
    let _nothing = callee
        .register("com.example.nothing", |(): ()| async move {
            Ok::<_, WampError>(())
        })
        .await
        .unwrap();
    let (): () = caller.call("com.example.nothing", ()).await.unwrap();
    let _echo = callee
        .register("com.example.echo", |a: Args| async move {
            Ok::<_, WampError>(a)
        })
        .await
        .unwrap();
    let raw = Args::new()
        .arg(wamp_runtime::Value::Bytes(vec![0, 1, 2]))
        .unwrap()
        .kwarg("k", "v")
        .unwrap();
    let got: Args = caller.call("com.example.echo", raw.clone()).await.unwrap();
    assert_eq!(got, raw);
    // kwargs given next to positional args.
    let got: Args = caller
        .call("com.example.echo", (1,))
        .kwargs(Greeting {
            name: "x".into(),
            times: 0,
        })
        .await
        .unwrap();
    assert_eq!(got.args, vec![wamp_runtime::Value::Int(1)]);
    assert_eq!(got.get_kw::<String>("name").unwrap(), "x");
    // A result of several arguments reads as a tuple.
    let (a, b): (String, i64) = caller.call("com.example.echo", ("s", 7)).await.unwrap();
    assert_eq!((a.as_str(), b), ("s", 7));
}

#[tokio::test]
async fn errors_reach_the_caller_with_their_uri_and_arguments() {
    let r = start_router().await;
    for (what, ep, ser) in endpoints(&r) {
        let callee = join(ep.clone(), ser).await;
        let caller = join(ep, ser).await;
        let _div = callee
            .register("com.example.div", |(a, b): (i64, i64)| async move {
                if b == 0 {
                    return Err(WampError::with_message(
                        "com.example.division_by_zero",
                        "cannot divide by zero",
                    )
                    .kwarg("dividend", a));
                }
                Ok(a / b)
            })
            .await
            .unwrap();
        let e = caller
            .call::<i64>("com.example.div", (7, 0))
            .await
            .unwrap_err();
        match &e {
            Error::Application(w) => {
                assert_eq!(w.uri, "com.example.division_by_zero", "{what}");
                assert_eq!(w.message(), Some("cannot divide by zero"));
                assert_eq!(w.kwargs.get("dividend"), Some(&wamp_runtime::Value::Int(7)));
            }
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(e.uri(), Some("com.example.division_by_zero"));

        // Arguments that do not fit the handler's types never reach it.
        let e = caller
            .call::<i64>("com.example.div", ("seven", 0))
            .await
            .unwrap_err();
        assert_eq!(e.uri(), Some(error::INVALID_ARGUMENT), "{what}: {e}");
        // A result that does not fit the caller's type is a typed error.
        let e = caller
            .call::<String>("com.example.div", (8, 2))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Deserialize(_)), "{what}: {e}");
        // Router errors.
        let e = caller
            .call::<()>("com.example.nobody", ())
            .await
            .unwrap_err();
        assert_eq!(e.uri(), Some(error::NO_SUCH_PROCEDURE), "{what}");
        let e = callee
            .register("com.example.div", |(): ()| async { Ok::<_, WampError>(()) })
            .await
            .unwrap_err();
        assert_eq!(e.uri(), Some(error::PROCEDURE_ALREADY_EXISTS), "{what}");
        // URIs are checked before anything is sent.
        let e = caller.call::<()>("com..bad", ()).await.unwrap_err();
        assert!(matches!(e, Error::Invalid(_)), "{what}: {e}");
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_with_an_error_and_the_session_lives_on() {
    let r = start_router().await;
    let callee = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let caller = join(r.endpoint(), Serializer::Json).await;
    let _p = callee
        .register("com.example.panic", |(n,): (i64,)| async move {
            if n == 0 {
                panic!("boom");
            }
            Ok::<_, WampError>(n)
        })
        .await
        .unwrap();
    let e = caller
        .call::<i64>("com.example.panic", (0,))
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::RUNTIME_ERROR));
    assert!(e.to_string().contains("boom"), "{e}");
    let n: i64 = caller.call("com.example.panic", (4,)).await.unwrap();
    assert_eq!(n, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_calls_in_flight_on_one_session() {
    let r = start_router().await;
    let callee = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let caller = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    let _slow = callee
        .register("com.example.slow_square", |(n,): (u64,)| async move {
            // Later calls finish first: results must still find their callers.
            tokio::time::sleep(Duration::from_millis(200 - n % 200)).await;
            Ok::<_, WampError>(n * n)
        })
        .await
        .unwrap();
    let calls = (0..500u64).map(|n| {
        let caller = caller.clone();
        async move {
            let sq: u64 = caller.call("com.example.slow_square", (n,)).await.unwrap();
            assert_eq!(sq, n * n);
        }
    });
    tokio::time::timeout(Duration::from_secs(20), join_all(calls))
        .await
        .expect("all calls answered");
}

#[tokio::test]
async fn call_details_disclose_the_caller_when_asked() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let caller = join(Endpoint::from(r.url()), Serializer::Json).await;
    let _who = callee
        .register("com.example.whoami", |(): (), d: CallDetails| async move {
            Ok::<_, WampError>((d.procedure, d.caller))
        })
        .option("disclose_caller", true)
        .await
        .unwrap();
    let (procedure, who): (String, Option<u64>) =
        caller.call("com.example.whoami", ()).await.unwrap();
    assert_eq!(procedure, "com.example.whoami");
    assert_eq!(who, Some(caller.id()));
}

#[tokio::test]
async fn events_flow_over_every_transport_and_serializer() {
    let r = start_router().await;
    let eps = endpoints(&r);
    let mut subs = Vec::new();
    for (what, ep, ser) in &eps {
        let s = join(ep.clone(), *ser).await;
        let sub = s
            .subscribe::<(String, i64)>("com.example.news")
            .await
            .unwrap();
        subs.push((what.clone(), s, sub));
    }
    for (what, ep, ser) in &eps {
        let publisher = join(ep.clone(), *ser).await;
        publisher
            .publish("com.example.news", (what.as_str(), 42))
            .acknowledge()
            .await
            .unwrap();
        for (sub_what, _, sub) in &mut subs {
            let e = next(sub).await;
            assert_eq!(e.data, (what.clone(), 42), "{what} → {sub_what}");
            assert!(e.details.publication > 0);
            assert_eq!(e.details.topic, None);
        }
    }
}

#[tokio::test]
async fn publishing_options_and_errors() {
    let r = start_router().await;
    let a = join(r.endpoint(), Serializer::Json).await;
    let b = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let mut a_sub = a.subscribe::<Greeting>("com.example.greet").await.unwrap();
    let mut b_sub = b.subscribe::<Greeting>("com.example.greet").await.unwrap();
    let g = Greeting {
        name: "n".into(),
        times: 3,
    };
    // The publisher is excluded by default, included on request.
    a.publish("com.example.greet", g.clone()).await.unwrap();
    a.publish("com.example.greet", g.clone())
        .exclude_me(false)
        .option("disclose_me", true)
        .await
        .unwrap();
    assert_eq!(next(&mut b_sub).await.data, g);
    let second = next(&mut b_sub).await;
    assert_eq!(second.details.publisher, Some(a.id()));
    assert_eq!(next(&mut a_sub).await.data, g, "only the second reaches a");
    // Black- and whitelisting.
    a.publish("com.example.greet", g.clone())
        .exclude_me(false)
        .exclude([b.id()])
        .await
        .unwrap();
    a.publish("com.example.greet", g.clone())
        .exclude_me(false)
        .eligible([b.id()])
        .acknowledge()
        .await
        .unwrap();
    assert_eq!(next(&mut a_sub).await.data, g);
    assert_eq!(next(&mut b_sub).await.data, g);
    // The router's errors come back on acknowledged publications.
    let e = a
        .publish("wamp.reserved", ())
        .acknowledge()
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::INVALID_URI));
    // An event that does not fit the subscriber's type is an error item; the stream goes on.
    a.publish("com.example.greet", ("not", "a", "greeting"))
        .await
        .unwrap();
    a.publish("com.example.greet", g.clone()).await.unwrap();
    let bad = tokio::time::timeout(WAIT, b_sub.next())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(bad, Err(Error::Deserialize(_))), "{bad:?}");
    assert_eq!(next(&mut b_sub).await.data, g);
}

#[tokio::test]
async fn pattern_subscriptions_say_which_topic() {
    let r = start_router().await;
    let s = join(r.endpoint(), Serializer::Json).await;
    let p = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    let mut prefix = s
        .subscribe::<(i64,)>("com.example.sensor")
        .match_policy(MatchPolicy::Prefix)
        .await
        .unwrap();
    let mut wild = s
        .subscribe::<(i64,)>("com.example..temperature")
        .match_policy(MatchPolicy::Wildcard)
        .await
        .unwrap();
    p.publish("com.example.sensor.kitchen", (1,)).await.unwrap();
    p.publish("com.example.kitchen.temperature", (2,))
        .await
        .unwrap();
    let e = next(&mut prefix).await;
    assert_eq!(e.data, (1,));
    assert_eq!(
        e.details.topic.as_deref(),
        Some("com.example.sensor.kitchen")
    );
    let e = next(&mut wild).await;
    assert_eq!(e.data, (2,));
    assert_eq!(
        e.details.topic.as_deref(),
        Some("com.example.kitchen.temperature")
    );
}

#[tokio::test]
async fn local_subscriptions_to_one_topic_share_the_router_subscription() {
    let r = start_router().await;
    let s = join(Endpoint::from(r.url()), Serializer::Json).await;
    let p = join(r.endpoint(), Serializer::Json).await;
    let mut one = s.subscribe::<(i64,)>("com.example.t").await.unwrap();
    let two = s.subscribe::<(i64,)>("com.example.t").await.unwrap();
    assert_eq!(one.id(), two.id());
    p.publish("com.example.t", (1,))
        .acknowledge()
        .await
        .unwrap();
    let mut two = two;
    assert_eq!(next(&mut one).await.data, (1,));
    assert_eq!(next(&mut two).await.data, (1,));
    // Dropping one keeps the other; unsubscribing the last stops the events.
    drop(two);
    p.publish("com.example.t", (2,))
        .acknowledge()
        .await
        .unwrap();
    assert_eq!(next(&mut one).await.data, (2,));
    one.unsubscribe().await.unwrap();
    let mut probe = p.subscribe::<(i64,)>("com.example.t").await.unwrap();
    s.publish("com.example.t", (3,))
        .acknowledge()
        .await
        .unwrap();
    assert_eq!(next(&mut probe).await.data, (3,));
}

#[tokio::test]
async fn a_slow_subscriber_loses_counted_events_and_nothing_else() {
    let r = start_router().await;
    let s = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let p = join(r.endpoint(), Serializer::Json).await;
    let mut slow = s
        .subscribe::<(u32,)>("com.example.flood")
        .buffer(4)
        .await
        .unwrap();
    for i in 0..50u32 {
        p.publish("com.example.flood", (i,))
            .acknowledge()
            .await
            .unwrap();
    }
    // Calls on the same session are not held up by the full buffer.
    let _echo = p
        .register("com.example.ping", |(): ()| async {
            Ok::<_, WampError>("pong")
        })
        .await
        .unwrap();
    let pong: String = s.call("com.example.ping", ()).await.unwrap();
    assert_eq!(pong, "pong");
    eventually("all 50 events arrived or were dropped", || {
        slow.dropped() == 46
    })
    .await;
    for i in 0..4u32 {
        assert_eq!(next(&mut slow).await.data, (i,), "the first four, in order");
    }
}

#[tokio::test]
async fn dropping_a_registration_unregisters_it() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let caller = join(Endpoint::from(r.url()), Serializer::Json).await;
    let reg = callee
        .register("com.example.temp", |(): ()| async { Ok::<_, WampError>(1) })
        .await
        .unwrap();
    assert!(reg.id() > 0);
    assert_eq!(caller.call::<i64>("com.example.temp", ()).await.unwrap(), 1);
    drop(reg);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match caller.call::<i64>("com.example.temp", ()).await {
            Err(e) if e.uri() == Some(error::NO_SUCH_PROCEDURE) => break,
            _ => assert!(tokio::time::Instant::now() < deadline, "still registered"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Explicit unregister waits for the router; detach keeps it.
    let reg = callee
        .register("com.example.temp", |(): ()| async { Ok::<_, WampError>(2) })
        .await
        .unwrap();
    reg.unregister().await.unwrap();
    let e = caller
        .call::<i64>("com.example.temp", ())
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::NO_SUCH_PROCEDURE));
    callee
        .register("com.example.temp", |(): ()| async { Ok::<_, WampError>(3) })
        .await
        .unwrap()
        .detach();
    assert_eq!(caller.call::<i64>("com.example.temp", ()).await.unwrap(), 3);
}

#[tokio::test]
async fn a_call_timeout_gives_up_in_time() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let caller = join(Endpoint::from(r.url()), Serializer::Json).await;
    let _never = callee
        .register("com.example.never", |(): ()| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, WampError>(())
        })
        .await
        .unwrap();
    let e = caller
        .call::<()>("com.example.never", ())
        .timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(e, Error::Timeout(Duration::from_millis(100)));
    // The session-wide default applies too.
    let impatient = Session::builder(r.url(), "realm1")
        .call_timeout(Duration::from_millis(100))
        .connect()
        .await
        .unwrap();
    let e = impatient
        .call::<()>("com.example.never", ())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e}");
}

#[tokio::test]
async fn a_callee_vanishing_mid_call_fails_the_call() {
    let r = start_router().await;
    let callee = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    let caller = join(r.endpoint(), Serializer::Json).await;
    let _stuck = callee
        .register("com.example.stuck", |(): ()| async {
            std::future::pending::<()>().await;
            Ok::<_, WampError>(())
        })
        .await
        .unwrap();
    let call = tokio::spawn({
        let caller = caller.clone();
        async move { caller.call::<()>("com.example.stuck", ()).await }
    });
    tests::until("the call at the callee", || {
        r.calls_in_flight("realm1") == 1
    })
    .await;
    drop(_stuck);
    drop(callee);
    let e = tokio::time::timeout(WAIT, call)
        .await
        .expect("answered in time")
        .unwrap()
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::CANCELED), "{e}");
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
        eventually("joined", || r.session_count("realm1") == 1).await;
        s.leave().await.unwrap();
        assert!(s.is_closed());
        let e = s.call::<()>("com.example.x", ()).await.unwrap_err();
        assert!(matches!(e, Error::Closed(_)), "{what}: {e:?}");
        assert!(matches!(s.leave().await, Err(Error::Closed(_))));
        eventually("left", || r.session_count("realm1") == 0).await;

        let s = join(ep, ser).await;
        let clone = s.clone();
        eventually("joined", || r.session_count("realm1") == 1).await;
        drop(s);
        assert!(!clone.is_closed(), "a clone keeps it open");
        drop(clone);
        eventually("the last handle closes it", || {
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

struct Counter(std::sync::atomic::AtomicU64);

impl wamp_runtime::client::Procedure for Counter {
    type Args = (u64,);
    type Output = u64;
    type Error = WampError;

    async fn call(&self, (n,): (u64,), details: CallDetails) -> Result<u64, WampError> {
        assert_eq!(details.procedure, "com.example.count");
        Ok(self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n)
    }
}

#[tokio::test]
async fn a_type_implementing_procedure_is_a_handler() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let caller = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let _count = callee
        .register("com.example.count", Counter(Default::default()))
        .await
        .unwrap();
    assert_eq!(
        caller.call::<u64>("com.example.count", (2,)).await.unwrap(),
        2
    );
    assert_eq!(
        caller.call::<u64>("com.example.count", (3,)).await.unwrap(),
        5
    );
    let e = caller
        .call::<u64>("com.example.count", ("x",))
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::INVALID_ARGUMENT));
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

/// Counts its drops: a handler holding one shows when its task is stopped.
struct DropCounter(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_canceled_call_stops_the_callees_handler() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let r = start_router().await;
    let stopped = Arc::new(AtomicU64::new(0));
    let callee = join(Endpoint::from(r.url()), Serializer::Json).await;
    let caller = join(r.endpoint(), Serializer::Json).await;
    assert!(caller.router_supports("dealer", "call_canceling"));
    let counter = stopped.clone();
    let _slow = callee
        .register("com.example.forever", move |(): ()| {
            let guard = DropCounter(counter.clone());
            async move {
                let _guard = guard;
                std::future::pending::<()>().await;
                Ok::<_, WampError>(())
            }
        })
        .await
        .unwrap();
    // A timeout: the caller gives up, the router interrupts the callee.
    let e = caller
        .call::<()>("com.example.forever", ())
        .timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    eventually("the handler is stopped", || {
        stopped.load(Ordering::SeqCst) == 1
    })
    .await;
    // A dropped call future: the same.
    let call = caller.call::<()>("com.example.forever", ());
    let _ = tokio::time::timeout(Duration::from_millis(100), call).await;
    eventually("the second handler is stopped", || {
        stopped.load(Ordering::SeqCst) == 2
    })
    .await;
}

#[tokio::test]
async fn identity_disclosure_is_the_realms_policy_or_the_peers_request() {
    for always in [true, false] {
        let r = router()
            .disclose_caller(always)
            .disclose_publisher(always)
            .start()
            .await
            .unwrap();
        let callee = join(r.endpoint(), Serializer::Json).await;
        let caller = join(Endpoint::from(r.url()), Serializer::Json).await;
        let _who = callee
            .register("com.example.who", |(): (), d: CallDetails| async move {
                Ok::<_, WampError>(d.caller)
            })
            .await
            .unwrap();
        let mut sub = callee.subscribe::<()>("com.example.t").await.unwrap();

        let who: Option<u64> = caller.call("com.example.who", ()).await.unwrap();
        assert_eq!(who, always.then_some(caller.id()), "always = {always}");
        let who: Option<u64> = caller
            .call("com.example.who", ())
            .option("disclose_me", true)
            .await
            .unwrap();
        assert_eq!(who, Some(caller.id()), "disclose_me is honored");

        caller
            .publish("com.example.t", ())
            .acknowledge()
            .await
            .unwrap();
        assert_eq!(
            next(&mut sub).await.details.publisher,
            always.then_some(caller.id())
        );
        caller
            .publish("com.example.t", ())
            .option("disclose_me", true)
            .acknowledge()
            .await
            .unwrap();
        assert_eq!(next(&mut sub).await.details.publisher, Some(caller.id()));
    }
}

#[tokio::test]
async fn retained_events_reach_late_subscribers_that_ask() {
    let r = start_router().await;
    let p = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    assert!(p.router_supports("broker", "event_retention"));
    p.publish("com.example.state.kitchen", ("on",))
        .retain()
        .acknowledge()
        .await
        .unwrap();
    p.publish("com.example.state.kitchen", ("off",))
        .retain()
        .acknowledge()
        .await
        .unwrap();
    p.publish("com.example.state.bath", ("on",))
        .retain()
        .acknowledge()
        .await
        .unwrap();
    p.publish("com.example.state.hall", ("not kept",))
        .acknowledge()
        .await
        .unwrap();

    for (ep, ser) in [
        (r.endpoint(), Serializer::Json),
        (Endpoint::from(r.url()), Serializer::MsgPack),
    ] {
        let s = join(ep, ser).await;
        // An exact subscription gets the last retained event of its topic.
        let mut kitchen = s
            .subscribe::<(String,)>("com.example.state.kitchen")
            .get_retained()
            .await
            .unwrap();
        let e = next(&mut kitchen).await;
        assert_eq!(e.data.0, "off");
        assert!(e.details.retained);
        // A pattern subscription gets every matching topic's.
        let mut all = s
            .subscribe::<(String,)>("com.example.state")
            .match_policy(MatchPolicy::Prefix)
            .get_retained()
            .await
            .unwrap();
        let mut got = [next(&mut all).await, next(&mut all).await];
        got.sort_by(|a, b| a.details.topic.cmp(&b.details.topic));
        assert_eq!(
            got[0].details.topic.as_deref(),
            Some("com.example.state.bath")
        );
        assert_eq!(got[1].data.0, "off");
        // Without asking, nothing is delivered until the next publication.
        let mut plain = s
            .subscribe::<(String,)>("com.example.state.bath")
            .await
            .unwrap();
        p.publish("com.example.state.bath", ("live",))
            .await
            .unwrap();
        let e = next(&mut plain).await;
        assert_eq!(e.data.0, "live");
        assert!(!e.details.retained);
    }
}

#[tokio::test]
async fn progressive_call_invocations_stream_the_arguments() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let caller = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    assert!(caller.router_supports("dealer", "progressive_call_invocations"));
    let _sum = callee
        .register(
            "com.example.sum",
            |first: Args, d: CallDetails| async move {
                let mut total: i64 = first.get(0)?;
                let mut parts = 1;
                while let Some(part) = d.next_input().await {
                    total += part.get::<i64>(0)?;
                    parts += 1;
                }
                Ok::<_, WampError>((total, parts, d.is_progressive()))
            },
        )
        .await
        .unwrap();
    let mut upload = caller.progressive_call::<(i64, u32, bool)>("com.example.sum");
    for n in [1, 2, 3] {
        upload.send((n,)).await.unwrap();
    }
    assert_eq!(upload.finish((4,)).await.unwrap(), (10, 4, true));
    // An ordinary call to the same procedure is one part.
    let (total, parts, progressive): (i64, u32, bool) =
        caller.call("com.example.sum", (5,)).await.unwrap();
    assert_eq!((total, parts, progressive), (5, 1, false));

    // A callee that fails early: the next part reports its error.
    let _picky = callee
        .register("com.example.picky", |_: Args, _: CallDetails| async move {
            Err::<(), _>(WampError::new("com.example.refused"))
        })
        .await
        .unwrap();
    let mut call = caller.progressive_call::<()>("com.example.picky");
    call.send((1,)).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let e = loop {
        match call.send((2,)).await {
            Err(e) => break e,
            Ok(()) => {
                assert!(tokio::time::Instant::now() < deadline, "no error");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    assert_eq!(e.uri(), Some("com.example.refused"));
}
