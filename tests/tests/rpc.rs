//! The dealer against the real router: registration, calls, results, errors, and calls whose
//! callee or caller vanishes.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use tests::{start_router, RawPeer};
use wamp_runtime::dict;
use wamp_runtime::proto::{code, error, Dict, Id, Message, Payload, Value};
use wamp_runtime::Serializer;

async fn register(p: &mut RawPeer, request: Id, procedure: &str) -> Id {
    p.send(&Message::Register {
        request,
        options: Dict::new(),
        procedure: procedure.into(),
    })
    .await;
    match p.recv().await {
        Message::Registered {
            request: r,
            registration,
        } if r == request => registration,
        other => panic!("expected REGISTERED, got {other:?}"),
    }
}

fn call(request: Id, procedure: &str, payload: Payload) -> Message {
    Message::Call {
        request,
        options: Dict::new(),
        procedure: procedure.into(),
        payload,
    }
}

fn expect_error(m: Message, request_type: u64, request: Id, uri: &str) -> Payload {
    match m {
        Message::Error {
            request_type: t,
            request: r,
            error: e,
            payload,
            ..
        } => {
            assert_eq!((t, r, e.as_str()), (request_type, request, uri));
            payload
        }
        other => panic!("expected ERROR {uri}, got {other:?}"),
    }
}

#[tokio::test]
async fn call_invocation_yield_result_across_all_serializer_pairs() {
    let r = start_router().await;
    for callee_ser in Serializer::ALL {
        for caller_ser in Serializer::ALL {
            let mut callee = RawPeer::join(&r.url(), callee_ser, "realm1").await;
            let mut caller = RawPeer::join(&r.url(), caller_ser, "realm1").await;
            let reg = register(&mut callee, 1, "com.example.add").await;
            let args = Payload::new(
                vec![2.into(), 3.into(), Value::Bytes(vec![9, 8])],
                dict! { "mode" => "sum", "unicode" => "héllo €" },
            );
            caller
                .send(&call(77, "com.example.add", args.clone()))
                .await;
            let Message::Invocation {
                request: inv,
                registration,
                payload,
                ..
            } = callee.recv().await
            else {
                panic!("INVOCATION expected")
            };
            assert_eq!(registration, reg);
            assert_eq!(payload, args, "{caller_ser} -> {callee_ser}");
            let result = Payload::new(vec![5.into()], dict! { "exact" => true });
            callee
                .send(&Message::Yield {
                    request: inv,
                    options: Dict::new(),
                    payload: result.clone(),
                })
                .await;
            match caller.recv().await {
                Message::Result {
                    request: 77,
                    payload,
                    ..
                } => assert_eq!(payload, result),
                other => panic!("{other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn callee_errors_reach_the_caller_intact() {
    let r = start_router().await;
    let mut callee = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    let mut caller = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    register(&mut callee, 1, "com.example.div").await;
    caller
        .send(&call(
            5,
            "com.example.div",
            Payload::args(vec![1.into(), 0.into()]),
        ))
        .await;
    let Message::Invocation { request: inv, .. } = callee.recv().await else {
        panic!()
    };
    let err_payload = Payload::new(vec!["division by zero".into()], dict! { "limit" => 0 });
    callee
        .send(&Message::Error {
            request_type: code::INVOCATION,
            request: inv,
            details: Dict::new(),
            error: "com.example.error.div_by_zero".into(),
            payload: err_payload.clone(),
        })
        .await;
    let payload = expect_error(
        caller.recv().await,
        code::CALL,
        5,
        "com.example.error.div_by_zero",
    );
    assert_eq!(payload, err_payload);
}

#[tokio::test]
async fn registration_errors() {
    let r = start_router().await;
    let mut a = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    let mut b = RawPeer::join(&r.url(), Serializer::Cbor, "realm1").await;
    let reg = register(&mut a, 1, "com.p").await;
    b.send(&Message::Register {
        request: 2,
        options: Dict::new(),
        procedure: "com.p".into(),
    })
    .await;
    expect_error(
        b.recv().await,
        code::REGISTER,
        2,
        error::PROCEDURE_ALREADY_EXISTS,
    );
    b.send(&call(3, "com.nothing", Payload::empty())).await;
    expect_error(b.recv().await, code::CALL, 3, error::NO_SUCH_PROCEDURE);
    for (i, bad) in ["com..p", "", "a b", "wamp.session.get"]
        .into_iter()
        .enumerate()
    {
        let req = 10 + i as Id;
        b.send(&Message::Register {
            request: req,
            options: Dict::new(),
            procedure: bad.into(),
        })
        .await;
        expect_error(b.recv().await, code::REGISTER, req, error::INVALID_URI);
    }
    b.send(&call(20, "com..p", Payload::empty())).await;
    expect_error(b.recv().await, code::CALL, 20, error::INVALID_URI);
    // Only the owner can unregister.
    b.send(&Message::Unregister {
        request: 4,
        registration: reg,
    })
    .await;
    expect_error(
        b.recv().await,
        code::UNREGISTER,
        4,
        error::NO_SUCH_REGISTRATION,
    );
    a.send(&Message::Unregister {
        request: 5,
        registration: reg,
    })
    .await;
    assert!(matches!(
        a.recv().await,
        Message::Unregistered { request: 5, .. }
    ));
    a.send(&Message::Unregister {
        request: 6,
        registration: reg,
    })
    .await;
    expect_error(
        a.recv().await,
        code::UNREGISTER,
        6,
        error::NO_SUCH_REGISTRATION,
    );
    b.send(&call(7, "com.p", Payload::empty())).await;
    expect_error(b.recv().await, code::CALL, 7, error::NO_SUCH_PROCEDURE);
    // Now free for someone else.
    register(&mut b, 8, "com.p").await;
}

#[tokio::test]
async fn a_callee_that_drops_mid_call_fails_the_pending_calls_at_once() {
    let r = start_router().await;
    let mut callee = RawPeer::join(&r.url(), Serializer::Cbor, "realm1").await;
    let mut caller = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    register(&mut callee, 1, "com.slow").await;
    caller.send(&call(1, "com.slow", Payload::empty())).await;
    caller.send(&call(2, "com.slow", Payload::empty())).await;
    assert!(matches!(callee.recv().await, Message::Invocation { .. }));
    assert!(matches!(callee.recv().await, Message::Invocation { .. }));
    callee.drop_connection().await;
    let mut failed = Vec::new();
    for _ in 0..2 {
        match caller.recv().await {
            Message::Error {
                request_type: code::CALL,
                request,
                error: e,
                payload,
                ..
            } => {
                assert_eq!(e, error::CANCELED);
                assert!(
                    !payload.args_values().unwrap().is_empty(),
                    "a reason is given"
                );
                failed.push(request);
            }
            other => panic!("{other:?}"),
        }
    }
    failed.sort();
    assert_eq!(failed, vec![1, 2]);
    // The registration went with the callee.
    caller.send(&call(3, "com.slow", Payload::empty())).await;
    expect_error(caller.recv().await, code::CALL, 3, error::NO_SUCH_PROCEDURE);
}

#[tokio::test]
async fn a_caller_that_leaves_mid_call_does_not_disturb_the_callee() {
    let r = start_router().await;
    let mut callee = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    register(&mut callee, 1, "com.p").await;
    let mut caller = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    caller.send(&call(1, "com.p", Payload::empty())).await;
    let Message::Invocation { request: inv, .. } = callee.recv().await else {
        panic!()
    };
    caller.drop_connection().await;
    tests::until("the caller gone", || r.session_count("realm1") == 1).await;
    // The late YIELD goes nowhere; the callee stays joined and keeps serving.
    callee
        .send(&Message::Yield {
            request: inv,
            options: Dict::new(),
            payload: Payload::empty(),
        })
        .await;
    let mut caller2 = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    caller2
        .send(&call(1, "com.p", Payload::args(vec![1.into()])))
        .await;
    let Message::Invocation { request: inv2, .. } = callee.recv().await else {
        panic!()
    };
    callee
        .send(&Message::Yield {
            request: inv2,
            options: Dict::new(),
            payload: Payload::empty(),
        })
        .await;
    assert!(matches!(
        caller2.recv().await,
        Message::Result { request: 1, .. }
    ));
    // A YIELD for an invocation that never existed is ignored too.
    callee
        .send(&Message::Yield {
            request: 999_999,
            options: Dict::new(),
            payload: Payload::empty(),
        })
        .await;
    callee.expect_silence(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn hundreds_of_calls_in_flight() {
    let r = start_router().await;
    let mut callee = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    register(&mut callee, 1, "com.echo").await;
    let mut caller = RawPeer::join(&r.url(), Serializer::Cbor, "realm1").await;
    for i in 1..=300u64 {
        caller
            .send(&call(i, "com.echo", Payload::args(vec![Value::from(i)])))
            .await;
    }
    let mut invocations = Vec::new();
    for _ in 0..300 {
        let Message::Invocation {
            request, payload, ..
        } = callee.recv().await
        else {
            panic!()
        };
        invocations.push((request, payload));
    }
    // Answer in reverse order: results are matched by request ID, not by order.
    for (inv, payload) in invocations.into_iter().rev() {
        callee
            .send(&Message::Yield {
                request: inv,
                options: Dict::new(),
                payload,
            })
            .await;
    }
    let mut seen = std::collections::HashSet::new();
    for _ in 0..300 {
        let Message::Result {
            request, payload, ..
        } = caller.recv().await
        else {
            panic!()
        };
        assert_eq!(payload.args_values().unwrap(), vec![Value::from(request)]);
        seen.insert(request);
    }
    assert_eq!(seen.len(), 300);
}

#[tokio::test]
async fn progressive_results_reach_only_callers_that_asked() {
    let r = start_router().await;
    let mut callee = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    let mut caller = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    register(&mut callee, 1, "com.progress").await;
    for (request, asked) in [(10, true), (11, false)] {
        let mut options = Dict::new();
        if asked {
            options.insert("receive_progress".into(), Value::Bool(true));
        }
        caller
            .send(&Message::Call {
                request,
                options,
                procedure: "com.progress".into(),
                payload: Payload::empty(),
            })
            .await;
        let (invocation, details) = match callee.recv().await {
            Message::Invocation {
                request, details, ..
            } => (request, details),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            details.get("receive_progress"),
            asked.then_some(&Value::Bool(true)),
            "INVOCATION says whether the caller asked"
        );
        for i in 0..2 {
            callee
                .send(&Message::Yield {
                    request: invocation,
                    options: dict! { "progress" => true },
                    payload: Payload::args(vec![Value::Int(i)]),
                })
                .await;
        }
        callee
            .send(&Message::Yield {
                request: invocation,
                options: Dict::new(),
                payload: Payload::args(vec![Value::from("done")]),
            })
            .await;
        if asked {
            for i in 0..2 {
                match caller.recv().await {
                    Message::Result {
                        request: r,
                        details,
                        payload,
                    } => {
                        assert_eq!(r, request);
                        assert_eq!(details.get("progress"), Some(&Value::Bool(true)));
                        assert_eq!(payload.args_values().unwrap(), vec![Value::Int(i)]);
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
        match caller.recv().await {
            Message::Result {
                request: r,
                details,
                payload,
            } => {
                assert_eq!(r, request);
                assert_eq!(details.get("progress"), None, "the final result");
                assert_eq!(payload.args_values().unwrap(), vec![Value::from("done")]);
            }
            other => panic!("{other:?}"),
        }
    }
    caller.expect_silence(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn pattern_and_shared_registrations() {
    let r = start_router().await;
    let mut a = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    let mut b = RawPeer::join(&r.url(), Serializer::Cbor, "realm1").await;
    let mut caller = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    let reg = |request, procedure: &str, options: Dict| Message::Register {
        request,
        options,
        procedure: procedure.into(),
    };
    // A prefix registration: the callee learns the procedure called.
    a.send(&reg(1, "com.files.", dict! { "match" => "prefix" }))
        .await;
    assert!(matches!(a.recv().await, Message::Registered { .. }));
    caller
        .send(&call(5, "com.files.readme", Payload::empty()))
        .await;
    match a.recv().await {
        Message::Invocation { details, .. } => assert_eq!(
            details.get("procedure"),
            Some(&Value::from("com.files.readme"))
        ),
        other => panic!("{other:?}"),
    }
    // A shared registration: same ID for both callees; another policy is refused.
    a.send(&reg(2, "com.work", dict! { "invoke" => "roundrobin" }))
        .await;
    let first = match a.recv().await {
        Message::Registered { registration, .. } => registration,
        other => panic!("{other:?}"),
    };
    b.send(&reg(3, "com.work", dict! { "invoke" => "roundrobin" }))
        .await;
    match b.recv().await {
        Message::Registered { registration, .. } => assert_eq!(registration, first),
        other => panic!("{other:?}"),
    }
    caller
        .send(&reg(4, "com.work", dict! { "invoke" => "random" }))
        .await;
    expect_error(
        caller.recv().await,
        code::REGISTER,
        4,
        error::PROCEDURE_EXISTS_WITH_DIFFERENT_INVOCATION_POLICY,
    );
    // Calls alternate between the callees.
    caller.send(&call(8, "com.work", Payload::empty())).await;
    assert!(matches!(a.recv().await, Message::Invocation { .. }));
    caller.send(&call(9, "com.work", Payload::empty())).await;
    assert!(matches!(b.recv().await, Message::Invocation { .. }));
    // Policies that do not exist are bad requests: an ERROR, and the session goes on.
    let mut p = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    for (request, options) in [
        (1, dict! { "invoke" => "fastest" }),
        (2, dict! { "match" => "regex" }),
    ] {
        p.send(&reg(request, "com.x", options)).await;
        expect_error(
            p.recv().await,
            code::REGISTER,
            request,
            error::INVALID_ARGUMENT,
        );
    }
}

/// A peer whose callee role handles INTERRUPT.
async fn canceling_callee(url: &str) -> RawPeer {
    let mut p = RawPeer::connect(url, Serializer::Json).await;
    let mut details = tests::all_roles();
    if let Some(Value::Dict(roles)) = details.get_mut("roles") {
        roles.insert(
            "callee".into(),
            Value::Dict(dict! { "features" => dict! { "call_canceling" => true } }),
        );
    }
    p.send(&Message::Hello {
        realm: "realm1".into(),
        details,
    })
    .await;
    assert!(matches!(p.recv().await, Message::Welcome { .. }));
    p
}

fn cancel(request: Id, mode: &str) -> Message {
    Message::Cancel {
        request,
        options: dict! { "mode" => mode },
    }
}

fn interrupted(m: Message) -> (Id, String) {
    match m {
        Message::Interrupt { request, options } => (
            request,
            options
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        ),
        other => panic!("expected INTERRUPT, got {other:?}"),
    }
}

async fn invoked(p: &mut RawPeer) -> Id {
    match p.recv().await {
        Message::Invocation { request, .. } => request,
        other => panic!("expected INVOCATION, got {other:?}"),
    }
}

#[tokio::test]
async fn cancel_modes() {
    let r = start_router().await;
    let mut callee = canceling_callee(&r.url()).await;
    let mut plain_callee = RawPeer::join(&r.url(), Serializer::Cbor, "realm1").await;
    let mut caller = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    register(&mut callee, 1, "com.slow").await;
    register(&mut plain_callee, 1, "com.plain").await;

    // skip: the caller hears at once, the callee nothing; its late answer is dropped.
    caller.send(&call(10, "com.slow", Payload::empty())).await;
    let inv = invoked(&mut callee).await;
    caller.send(&cancel(10, "skip")).await;
    expect_error(caller.recv().await, code::CALL, 10, error::CANCELED);
    callee.expect_silence(Duration::from_millis(100)).await;
    callee
        .send(&Message::Yield {
            request: inv,
            options: Dict::new(),
            payload: Payload::empty(),
        })
        .await;
    caller.expect_silence(Duration::from_millis(100)).await;

    // killnowait: the caller hears at once, the callee is interrupted.
    caller.send(&call(11, "com.slow", Payload::empty())).await;
    let inv = invoked(&mut callee).await;
    caller.send(&cancel(11, "killnowait")).await;
    expect_error(caller.recv().await, code::CALL, 11, error::CANCELED);
    assert_eq!(interrupted(callee.recv().await), (inv, "killnowait".into()));

    // kill: the callee is interrupted and its answer ends the call.
    caller.send(&call(12, "com.slow", Payload::empty())).await;
    let inv = invoked(&mut callee).await;
    caller.send(&cancel(12, "kill")).await;
    assert_eq!(interrupted(callee.recv().await), (inv, "kill".into()));
    callee
        .send(&Message::error(
            code::INVOCATION,
            inv,
            error::CANCELED,
            "stopped",
        ))
        .await;
    expect_error(caller.recv().await, code::CALL, 12, error::CANCELED);

    // A callee that does not handle INTERRUPT gets none: kill behaves as skip.
    caller.send(&call(13, "com.plain", Payload::empty())).await;
    invoked(&mut plain_callee).await;
    caller.send(&cancel(13, "kill")).await;
    expect_error(caller.recv().await, code::CALL, 13, error::CANCELED);
    plain_callee
        .expect_silence(Duration::from_millis(100))
        .await;

    // A CANCEL for a call that is over is ignored.
    caller.send(&cancel(13, "kill")).await;
    caller.expect_silence(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn the_router_enforces_call_timeouts() {
    let r = start_router().await;
    let mut callee = canceling_callee(&r.url()).await;
    let mut caller = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    register(&mut callee, 1, "com.slow").await;
    caller
        .send(&Message::Call {
            request: 5,
            options: dict! { "timeout" => 100 },
            procedure: "com.slow".into(),
            payload: Payload::empty(),
        })
        .await;
    let inv = match callee.recv().await {
        Message::Invocation {
            request, details, ..
        } => {
            // Passed on only to registrations that ask (forward_timeout).
            assert_eq!(details.get("timeout"), None);
            request
        }
        other => panic!("{other:?}"),
    };
    let payload = expect_error(caller.recv().await, code::CALL, 5, error::TIMEOUT);
    assert!(format!("{payload:?}").contains("timed out"));
    assert_eq!(interrupted(callee.recv().await), (inv, "killnowait".into()));
    // An answer in time is not affected by its timer.
    caller
        .send(&Message::Call {
            request: 6,
            options: dict! { "timeout" => 5000 },
            procedure: "com.slow".into(),
            payload: Payload::empty(),
        })
        .await;
    let inv = invoked(&mut callee).await;
    callee
        .send(&Message::Yield {
            request: inv,
            options: Dict::new(),
            payload: Payload::empty(),
        })
        .await;
    assert!(matches!(
        caller.recv().await,
        Message::Result { request: 6, .. }
    ));
}

#[tokio::test]
async fn a_caller_leaving_interrupts_its_calls() {
    let r = start_router().await;
    let mut callee = canceling_callee(&r.url()).await;
    let mut caller = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    register(&mut callee, 1, "com.slow").await;
    caller.send(&call(5, "com.slow", Payload::empty())).await;
    let inv = invoked(&mut callee).await;
    caller.drop_connection().await;
    assert_eq!(interrupted(callee.recv().await), (inv, "killnowait".into()));
}

/// A peer announcing progressive call invocations as caller and callee (and call
/// canceling, which the spec requires of such callees).
async fn streaming_peer(url: &str) -> RawPeer {
    let mut p = RawPeer::connect(url, Serializer::Json).await;
    let features = dict! {
        "progressive_call_invocations" => true,
        "call_canceling" => true,
    };
    let mut details = tests::all_roles();
    if let Some(Value::Dict(roles)) = details.get_mut("roles") {
        for role in ["caller", "callee"] {
            roles.insert(
                role.into(),
                Value::Dict(dict! { "features" => features.clone() }),
            );
        }
    }
    p.send(&Message::Hello {
        realm: "realm1".into(),
        details,
    })
    .await;
    assert!(matches!(p.recv().await, Message::Welcome { .. }));
    p
}

fn progressive_call(request: Id, procedure: &str, more: bool, n: i64) -> Message {
    Message::Call {
        request,
        options: if more {
            dict! { "progress" => true }
        } else {
            Dict::new()
        },
        procedure: procedure.into(),
        payload: Payload::args(vec![Value::Int(n)]),
    }
}

#[tokio::test]
async fn progressive_call_invocations() {
    let r = start_router().await;
    let mut callee = streaming_peer(&r.url()).await;
    let mut caller = streaming_peer(&r.url()).await;
    let reg = register(&mut callee, 1, "com.stream").await;

    // Every part goes to the same callee with the same invocation ID; the last has no
    // progress flag.
    caller
        .send(&progressive_call(1, "com.stream", true, 1))
        .await;
    caller
        .send(&progressive_call(1, "com.stream", true, 2))
        .await;
    caller
        .send(&progressive_call(1, "com.stream", false, 3))
        .await;
    let mut ids = Vec::new();
    for (n, more) in [(1, true), (2, true), (3, false)] {
        match callee.recv().await {
            Message::Invocation {
                request,
                registration,
                details,
                payload,
            } => {
                assert_eq!(registration, reg);
                assert_eq!(details.get("progress"), more.then_some(&Value::Bool(true)));
                assert_eq!(payload.args_values().unwrap(), vec![Value::Int(n)]);
                ids.push(request);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(ids.iter().all(|id| *id == ids[0]));
    callee
        .send(&Message::Yield {
            request: ids[0],
            options: Dict::new(),
            payload: Payload::args(vec![Value::Int(6)]),
        })
        .await;
    assert!(matches!(
        caller.recv().await,
        Message::Result { request: 1, .. }
    ));
    // A part for a call that has ended is discarded without an answer.
    caller
        .send(&progressive_call(1, "com.stream", false, 9))
        .await;
    caller.expect_silence(Duration::from_millis(100)).await;
    callee.expect_silence(Duration::from_millis(100)).await;

    // A callee that does not take progressive invocations: feature_not_supported.
    let mut plain = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    register(&mut plain, 1, "com.plain").await;
    caller
        .send(&progressive_call(2, "com.plain", true, 1))
        .await;
    expect_error(
        caller.recv().await,
        code::CALL,
        2,
        error::FEATURE_NOT_SUPPORTED,
    );

    // A caller that did not announce the feature: a protocol violation.
    let mut rogue = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    rogue
        .send(&progressive_call(1, "com.stream", true, 1))
        .await;
    rogue.expect_abort(error::PROTOCOL_VIOLATION).await;
}

#[tokio::test]
async fn a_shorter_timeout_made_later_runs_out_first() {
    let r = start_router().await;
    let mut callee = canceling_callee(&r.url()).await;
    let mut caller = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    register(&mut callee, 1, "com.slow").await;
    for (request, timeout) in [(1, 1500), (2, 50)] {
        caller
            .send(&Message::Call {
                request,
                options: dict! { "timeout" => timeout },
                procedure: "com.slow".into(),
                payload: Payload::empty(),
            })
            .await;
        invoked(&mut callee).await;
    }
    // The router's one timer wakes for the earlier deadline.
    expect_error(caller.recv().await, code::CALL, 2, error::TIMEOUT);
    expect_error(caller.recv().await, code::CALL, 1, error::TIMEOUT);
    assert_eq!(r.calls_in_flight("realm1"), 0);
}
