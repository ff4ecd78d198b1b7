//! Calls through the client runtime against the bundled router, over WebSocket with each
//! serializer and in-process: arguments and results, errors, handlers, concurrency,
//! timeouts, cancels, progressive invocations and vanishing callees.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use futures_util::future::join_all;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use tests::{endpoints, join, start_router, until, WAIT};
use wamp_runtime::proto::error;
use wamp_runtime::{Args, CallDetails, Endpoint, Error, Progress, Serializer, Session, WampError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Greeting {
    name: String,
    times: u32,
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
    until("the handler is stopped", || {
        stopped.load(Ordering::SeqCst) == 1
    })
    .await;
    // A dropped call future: the same.
    let call = caller.call::<()>("com.example.forever", ());
    let _ = tokio::time::timeout(Duration::from_millis(100), call).await;
    until("the second handler is stopped", || {
        stopped.load(Ordering::SeqCst) == 2
    })
    .await;
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

#[tokio::test]
async fn progressive_results_and_uploads_time_out_and_the_callee_is_interrupted() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let caller = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let stopped = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = stopped.clone();
    let _trickle = callee
        .register(
            "com.example.trickle",
            move |_: Args, d: CallDetails, progress: Progress| {
                let guard = DropCounter(counter.clone());
                async move {
                    let _guard = guard;
                    progress.send(1).await?;
                    // Progressive inputs are read, then nothing more comes.
                    while d.next_input().await.is_some() {}
                    std::future::pending::<()>().await;
                    Ok::<_, WampError>(())
                }
            },
        )
        .await
        .unwrap();
    // Progressive results: the first arrives, then the deadline ends the stream.
    let mut results = caller
        .call::<i64>("com.example.trickle", ())
        .timeout(Duration::from_millis(300))
        .progressive();
    let first = results.next().await.expect("a first result");
    assert_eq!(first.map_err(|e| e.to_string()), Ok(1));
    let e = results.next().await.expect("an error").unwrap_err();
    assert_eq!(e, Error::Timeout(Duration::from_millis(300)));
    until("the first handler is stopped", || {
        stopped.load(Ordering::SeqCst) == 1
    })
    .await;
    // A progressive call: its timeout counts from `finish`.
    let mut upload = caller
        .progressive_call::<()>("com.example.trickle")
        .timeout(Duration::from_millis(100));
    upload.send((1,)).await.unwrap();
    let e = upload.finish((2,)).await.unwrap_err();
    assert_eq!(e, Error::Timeout(Duration::from_millis(100)));
    until("the second handler is stopped", || {
        stopped.load(Ordering::SeqCst) == 2
    })
    .await;
    // Neither call is left in flight at the router.
    until("no call in flight", || r.calls_in_flight("realm1") == 0).await;
}
