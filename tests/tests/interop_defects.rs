//! The defects that third-party peers found (issue 15), each with the peer that found it:
//! registration and subscription revocation (our client and Autobahn|Python stay
//! connected and learn of it), `kill` cancels answered with `wamp.error.canceled`, the
//! policy-conflict URI of shared registrations, payload passthru mode (Autobahn's
//! end-to-end encryption through the router, our client's opaque payloads), and bad
//! option values answered with ERROR instead of ending the session.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use futures_util::StreamExt;
use std::future::IntoFuture;

use tests::{router, start_router, PythonPeer, RawPeer, WAIT};
use wamp_router::RouterHandle;
use wamp_runtime::client::meta::Meta;
use wamp_runtime::proto::{code, error, roles, Dict, Message, Payload, Value};
use wamp_runtime::{Error, Opaque, Serializer, Session, SessionEvent, WampError};

fn dict(pairs: &[(&str, Value)]) -> Dict {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

async fn join(r: &RouterHandle) -> Session {
    Session::builder(r.url().as_str(), "realm1")
        .request_timeout(WAIT)
        .connect()
        .await
        .unwrap()
}

/// The next lifecycle event `pick` accepts.
async fn lifecycle_event<T>(s: &Session, mut pick: impl FnMut(SessionEvent) -> Option<T>) -> T {
    let mut events = s.lifecycle();
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(t) = pick(events.next().await.expect("lifecycle open")) {
                return t;
            }
        }
    })
    .await
    .expect("the lifecycle event in time")
}

/// A raw peer that announces `features` for every role.
async fn raw_with(r: &RouterHandle, s: Serializer, features: &[&str]) -> RawPeer {
    let mut p = RawPeer::connect(&r.url(), s).await;
    let roles = ["caller", "callee", "publisher", "subscriber"].map(|role| (role, features));
    let mut details = Dict::new();
    details.insert("roles".into(), Value::Dict(roles::announce(&roles)));
    p.send(&Message::Hello {
        realm: "realm1".into(),
        details,
    })
    .await;
    match p.recv().await {
        Message::Welcome { session, .. } => p.session = session,
        other => panic!("expected WELCOME, got {other:?}"),
    }
    p
}

async fn raw(r: &RouterHandle) -> RawPeer {
    RawPeer::join(&r.url(), Serializer::Json, "realm1").await
}

// ---- 1. Registration and subscription revocation

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_callee_displaced_by_force_reregister_learns_it_and_goes_on() {
    let r = start_router().await;
    let victim = join(&r).await;
    let reg = victim
        .register("com.test.victim", |()| async {
            Ok::<_, WampError>("victim")
        })
        .await
        .unwrap();
    let revoked = tokio::spawn({
        let victim = victim.clone();
        async move {
            lifecycle_event(&victim, |e| match e {
                SessionEvent::RegistrationRevoked { procedure, reason } => {
                    Some((procedure, reason))
                }
                _ => None,
            })
            .await
        }
    });
    // Let the lifecycle stream exist before the revocation.
    tokio::task::yield_now().await;
    let thief = join(&r).await;
    let _taken = thief
        .register("com.test.victim", |()| async {
            Ok::<_, WampError>("thief")
        })
        .option("force_reregister", true)
        .await
        .unwrap();
    let reason = tokio::time::timeout(WAIT, reg.revocation()).await.unwrap();
    assert_eq!(reason, "wamp.error.unregistered");
    assert_eq!(reg.revoked().as_deref(), Some("wamp.error.unregistered"));
    let (procedure, _) = revoked.await.unwrap();
    assert_eq!(procedure, "com.test.victim");
    assert!(!victim.is_closed(), "the displaced session stays");
    let answer: String = victim.call("com.test.victim", ()).await.unwrap();
    assert_eq!(answer, "thief");
    reg.unregister().await.unwrap();
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_callee_displaced_by_force_reregister_stays_connected() {
    let r = start_router().await;
    let mut py = PythonPeer::start(
        "autobahn_defects.py",
        &["displaced-callee", &r.url(), "realm1", "json"],
    );
    py.line_starting("READY").await;
    let thief = join(&r).await;
    let _taken = thief
        .register("com.test.victim", |()| async {
            Ok::<_, WampError>("served by rust")
        })
        .option("force_reregister", true)
        .await
        .unwrap();
    py.line_starting("ALL OK").await;
    py.kill().await;
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_callee_and_remove_subscriber_revoke_with_a_reason() {
    let r = start_router().await;
    let admin = Meta::new(join(&r).await);
    let s = join(&r).await;
    let reg = s
        .register("com.test.job", |()| async { Ok::<_, WampError>(1) })
        .await
        .unwrap();
    let mut sub = s.subscribe::<(String,)>("com.test.news").await.unwrap();

    admin
        .registration_remove_callee(reg.id(), s.id(), Some("com.test.maintenance"))
        .await
        .unwrap();
    let reason = tokio::time::timeout(WAIT, reg.revocation()).await.unwrap();
    assert_eq!(reason, "com.test.maintenance");
    let err = s.call::<i64>("com.test.job", ()).await.unwrap_err();
    assert_eq!(err.uri(), Some(error::NO_SUCH_PROCEDURE));

    admin
        .subscription_remove_subscriber(sub.id(), s.id(), None)
        .await
        .unwrap();
    let end = tokio::time::timeout(WAIT, sub.next()).await.unwrap();
    match end {
        Some(Err(Error::Revoked(reason))) => assert_eq!(reason, "wamp.error.unsubscribed"),
        other => panic!("expected the stream to end revoked, got {other:?}"),
    }
    assert_eq!(sub.revoked().as_deref(), Some("wamp.error.unsubscribed"));
    assert!(tokio::time::timeout(WAIT, sub.next())
        .await
        .unwrap()
        .is_none());

    // Bad requests of the meta procedures.
    let m = admin
        .registration_remove_callee(reg.id(), s.id(), None)
        .await;
    assert_eq!(m.unwrap_err().uri(), Some(error::NO_SUCH_REGISTRATION));
    let m = admin.subscription_remove_subscriber(1, 2, None).await;
    assert_eq!(m.unwrap_err().uri(), Some(error::NO_SUCH_SESSION));
    assert!(!s.is_closed());
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_subscriber_removed_by_the_meta_api_stays_connected() {
    let r = start_router().await;
    let mut py = PythonPeer::start(
        "autobahn_defects.py",
        &["removed-subscriber", &r.url(), "realm1", "msgpack"],
    );
    let ready = py.line_starting("READY").await;
    let (session, subscription): (u64, u64) =
        (ready[0].parse().unwrap(), ready[1].parse().unwrap());
    let admin = Meta::new(join(&r).await);
    admin
        .subscription_remove_subscriber(subscription, session, None)
        .await
        .unwrap();
    py.line_starting("ALL OK").await;
    py.kill().await;
    r.shutdown().await;
}

#[tokio::test]
async fn revocations_go_only_to_peers_that_announced_them() {
    let r = start_router().await;
    // One announces registration revocation, one does not.
    let mut told = raw_with(&r, Serializer::Json, &["registration_revocation"]).await;
    let mut untold = raw(&r).await;
    for (peer, uri) in [(&mut told, "com.test.a"), (&mut untold, "com.test.b")] {
        peer.send(&Message::Register {
            request: 1,
            options: Dict::new(),
            procedure: uri.into(),
        })
        .await;
        assert!(matches!(peer.recv().await, Message::Registered { .. }));
    }
    let thief = join(&r).await;
    for uri in ["com.test.a", "com.test.b"] {
        let r = thief
            .register(uri, |()| async { Ok::<_, WampError>(()) })
            .option("force_reregister", true)
            .await
            .unwrap();
        r.detach();
    }
    match told.recv().await {
        Message::Unregistered {
            request: 0,
            details: Some(d),
        } => {
            assert!(d.get("registration").and_then(Value::as_u64).is_some());
            assert_eq!(
                d.get("reason").and_then(Value::as_str),
                Some("wamp.error.unregistered")
            );
        }
        other => panic!("expected the revocation, got {other:?}"),
    }
    untold
        .expect_silence(std::time::Duration::from_millis(300))
        .await;
    r.shutdown().await;
}

// ---- 2. Cancel mode `kill`

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_cancel_of_an_autobahn_callee_answers_canceled() {
    let r = start_router().await;
    let mut py = PythonPeer::start(
        "autobahn_defects.py",
        &["slow-callee", &r.url(), "realm1", "json"],
    );
    py.line_starting("READY").await;
    let mut caller = raw_with(&r, Serializer::Json, &["call_canceling"]).await;
    for (request, mode) in [(1, "kill"), (2, "killnowait"), (3, "skip")] {
        caller
            .send(&Message::Call {
                request,
                options: Dict::new(),
                procedure: "com.test.slow".into(),
                payload: Payload::empty(),
            })
            .await;
        caller
            .send(&Message::Cancel {
                request,
                options: dict(&[("mode", Value::Str(mode.into()))]),
            })
            .await;
        match caller.recv().await {
            Message::Error {
                request_type: code::CALL,
                request: r,
                error: e,
                ..
            } => {
                assert_eq!(r, request);
                assert_eq!(e, error::CANCELED, "mode {mode}");
            }
            other => panic!("expected ERROR canceled for {mode}, got {other:?}"),
        }
    }
    py.kill().await;
    r.shutdown().await;
}

// ---- 3. Shared registration with another policy

#[tokio::test]
async fn a_shared_registration_with_another_policy_gets_the_policy_uri() {
    let r = start_router().await;
    let a = join(&r).await;
    let b = join(&r).await;
    let _rr = a
        .register("com.test.shared", |()| async { Ok::<_, WampError>(1) })
        .invoke("roundrobin")
        .await
        .unwrap();
    let err = b
        .register("com.test.shared", |()| async { Ok::<_, WampError>(2) })
        .invoke("random")
        .await
        .unwrap_err();
    assert_eq!(
        err.uri(),
        Some(error::PROCEDURE_EXISTS_WITH_DIFFERENT_INVOCATION_POLICY)
    );
    let _single = a
        .register("com.test.single", |()| async { Ok::<_, WampError>(1) })
        .await
        .unwrap();
    let err = b
        .register("com.test.single", |()| async { Ok::<_, WampError>(2) })
        .invoke("roundrobin")
        .await
        .unwrap_err();
    assert_eq!(err.uri(), Some(error::PROCEDURE_ALREADY_EXISTS));
    r.shutdown().await;
}

// ---- 4. Payload passthru mode

async fn e2e_with(serializer: &str) {
    let r = start_router().await;
    let mut py = PythonPeer::start(
        "autobahn_defects.py",
        &["e2e", &r.url(), "realm1", serializer],
    );
    py.line_starting("ALL OK").await;
    py.kill().await;
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_end_to_end_encryption_through_the_router_json() {
    e2e_with("json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_end_to_end_encryption_through_the_router_cbor() {
    e2e_with("cbor").await;
}

#[tokio::test]
async fn our_client_sends_and_receives_opaque_payloads() {
    let r = start_router().await;
    let callee = join(&r).await;
    let _reg = callee
        .register("com.test.opaque", |o: Opaque| async move {
            let mut bytes = o.bytes.clone();
            bytes.reverse();
            Ok::<_, WampError>(Opaque { bytes, ..o })
        })
        .await
        .unwrap();
    let mut events = callee.subscribe::<Opaque>("com.test.sealed").await.unwrap();
    // JSON on one side, CBOR on the other: the bytes are transcoded, never inspected.
    let caller = Session::builder(r.url().as_str(), "realm1")
        .serializer(Serializer::Cbor)
        .connect()
        .await
        .unwrap();
    let sent = Opaque::new("x_test", vec![0, 1, 2, 255])
        .serializer("cbor")
        .keyid("k1");
    let back: Opaque = caller.call("com.test.opaque", sent.clone()).await.unwrap();
    assert_eq!(back.bytes, vec![255, 2, 1, 0]);
    assert_eq!(back.scheme, "x_test");
    assert_eq!(back.keyid.as_deref(), Some("k1"));
    caller
        .publish("com.test.sealed", sent.clone())
        .acknowledge()
        .await
        .unwrap();
    let event = tokio::time::timeout(WAIT, events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(event.data, sent);
    assert_eq!(
        event
            .details
            .details
            .get("ppt_scheme")
            .and_then(Value::as_str),
        Some("x_test")
    );
    r.shutdown().await;
}

#[tokio::test]
async fn opaque_payloads_need_the_feature_on_both_sides() {
    let r = start_router().await;
    let ppt = ["payload_passthru_mode"];
    // A callee that did not announce it: the caller gets feature_not_supported.
    let mut plain_callee = raw(&r).await;
    plain_callee
        .send(&Message::Register {
            request: 1,
            options: Dict::new(),
            procedure: "com.test.plain".into(),
        })
        .await;
    assert!(matches!(
        plain_callee.recv().await,
        Message::Registered { .. }
    ));
    let mut caller = raw_with(&r, Serializer::Json, &ppt).await;
    let opts = dict(&[("ppt_scheme", Value::Str("x_app".into()))]);
    caller
        .send(&Message::Call {
            request: 7,
            options: opts.clone(),
            procedure: "com.test.plain".into(),
            payload: Payload::args(vec![Value::Bytes(vec![1, 2])]),
        })
        .await;
    match caller.recv().await {
        Message::Error {
            request: 7,
            error: e,
            ..
        } => {
            assert_eq!(e, error::FEATURE_NOT_SUPPORTED)
        }
        other => panic!("expected feature_not_supported, got {other:?}"),
    }
    plain_callee
        .expect_silence(std::time::Duration::from_millis(200))
        .await;
    // A callee that did: the INVOCATION carries the keys and the bytes as they were.
    let mut ppt_callee = raw_with(&r, Serializer::MsgPack, &ppt).await;
    ppt_callee
        .send(&Message::Register {
            request: 1,
            options: Dict::new(),
            procedure: "com.test.ppt".into(),
        })
        .await;
    assert!(matches!(
        ppt_callee.recv().await,
        Message::Registered { .. }
    ));
    caller
        .send(&Message::Call {
            request: 8,
            options: opts.clone(),
            procedure: "com.test.ppt".into(),
            payload: Payload::args(vec![Value::Bytes(vec![1, 2])]),
        })
        .await;
    match ppt_callee.recv().await {
        Message::Invocation {
            details, payload, ..
        } => {
            assert_eq!(details.get("ppt_scheme"), opts.get("ppt_scheme"));
            assert_eq!(
                payload.args_values().unwrap(),
                vec![Value::Bytes(vec![1, 2])]
            );
        }
        other => panic!("expected INVOCATION, got {other:?}"),
    }
    // A caller that did not announce it breaks the protocol.
    let mut rogue = raw(&r).await;
    rogue
        .send(&Message::Call {
            request: 1,
            options: opts,
            procedure: "com.test.ppt".into(),
            payload: Payload::args(vec![Value::Bytes(vec![1])]),
        })
        .await;
    rogue.expect_abort(error::PROTOCOL_VIOLATION).await;
    r.shutdown().await;
}

// ---- 5. Bad option values

#[tokio::test]
async fn bad_option_values_get_an_error_and_the_session_goes_on() {
    let r = start_router().await;
    let mut p = raw(&r).await;
    let bad: Vec<(Message, u64, &str)> = vec![
        (
            Message::Register {
                request: 1,
                options: dict(&[("invoke", Value::Str("jump_consistent_hash".into()))]),
                procedure: "com.test.p".into(),
            },
            code::REGISTER,
            "invoke",
        ),
        (
            Message::Register {
                request: 2,
                options: dict(&[("match", Value::Str("regex".into()))]),
                procedure: "com.test.p".into(),
            },
            code::REGISTER,
            "match",
        ),
        (
            Message::Subscribe {
                request: 3,
                options: dict(&[("match", Value::Str("glob".into()))]),
                topic: "com.test.t".into(),
            },
            code::SUBSCRIBE,
            "match",
        ),
        (
            Message::Call {
                request: 4,
                options: dict(&[("timeout", Value::Float(1.5))]),
                procedure: "com.test.p".into(),
                payload: Payload::empty(),
            },
            code::CALL,
            "timeout",
        ),
        (
            Message::Call {
                request: 5,
                options: dict(&[("receive_progress", Value::Str("yes".into()))]),
                procedure: "com.test.p".into(),
                payload: Payload::empty(),
            },
            code::CALL,
            "receive_progress",
        ),
        (
            Message::Publish {
                request: 6,
                options: dict(&[
                    ("acknowledge", Value::Bool(true)),
                    ("exclude", Value::Str("me".into())),
                ]),
                topic: "com.test.t".into(),
                payload: Payload::empty(),
            },
            code::PUBLISH,
            "exclude",
        ),
        (
            Message::Cancel {
                request: 7,
                options: dict(&[("mode", Value::Str("abandon".into()))]),
            },
            code::CANCEL,
            "mode",
        ),
    ];
    for (msg, request_type, key) in bad {
        p.send(&msg).await;
        match p.recv().await {
            Message::Error {
                request_type: t,
                error: e,
                payload,
                ..
            } => {
                assert_eq!(
                    (t, e.as_str()),
                    (request_type, error::INVALID_ARGUMENT),
                    "{key}"
                );
                let text = payload.args_values().unwrap();
                let text = text[0].as_str().unwrap();
                assert!(text.contains(key), "{text}");
            }
            other => panic!("expected ERROR for {key}, got {other:?}"),
        }
    }
    // Unknown keys are ignored, and the session works as before.
    p.send(&Message::Register {
        request: 10,
        options: dict(&[("x_custom", Value::Bool(true))]),
        procedure: "com.test.p".into(),
    })
    .await;
    assert!(matches!(
        p.recv().await,
        Message::Registered { request: 10, .. }
    ));
    r.shutdown().await;
}

#[tokio::test]
async fn in_process_sessions_get_the_same_checks() {
    let r = router().start().await.unwrap();
    let s = Session::builder(r.endpoint(), "realm1")
        .connect()
        .await
        .unwrap();
    let err = s
        .register("com.test.p", |()| async { Ok::<_, WampError>(()) })
        .invoke("jump_consistent_hash")
        .await
        .unwrap_err();
    assert_eq!(err.uri(), Some(error::INVALID_ARGUMENT));
    let err = s
        .call::<()>("com.test.p", ())
        .option("timeout", "soon")
        .await
        .unwrap_err();
    assert_eq!(err.uri(), Some(error::INVALID_ARGUMENT));
    assert!(!s.is_closed());
    r.shutdown().await;
}

// ---- 6. Smaller deviations

#[tokio::test]
async fn kill_procedures_answer_as_the_spec_says() {
    let r = start_router().await;
    let admin = Meta::new(join(&r).await);
    let targets: Vec<Session> = {
        let mut v = Vec::new();
        for _ in 0..2 {
            v.push(
                Session::builder(r.url().as_str(), "realm1")
                    .authid("worker")
                    .connect()
                    .await
                    .unwrap(),
            );
        }
        v
    };
    let mut ids: Vec<u64> = targets.iter().map(Session::id).collect();
    ids.sort_unstable();
    let killed = admin
        .session_kill_by_authid("worker", None, None)
        .await
        .unwrap();
    assert_eq!(killed.sessions(), Some(ids.as_slice()));
    for t in &targets {
        let reason = lifecycle_event(t, |e| match e {
            SessionEvent::Closed { reason } => Some(reason),
            _ => None,
        })
        .await;
        assert!(reason.contains("wamp.close.killed"), "{reason}");
    }
    let other = join(&r).await;
    let killed = admin
        .session_kill_by_authrole("anonymous", None, None)
        .await
        .unwrap();
    assert_eq!(killed.count(), 1);
    let _ = other;
    let killed = admin.session_kill_all(None, None).await.unwrap();
    assert_eq!(killed.count(), 0);
    r.shutdown().await;
}

#[tokio::test]
async fn dealer_timeouts_answer_timeout_and_forward_only_when_asked() {
    let r = start_router().await;
    let mut plain = raw(&r).await;
    let mut forwarding = raw(&r).await;
    for (p, uri, forward) in [
        (&mut plain, "com.test.plain", false),
        (&mut forwarding, "com.test.fwd", true),
    ] {
        p.send(&Message::Register {
            request: 1,
            options: dict(&[("forward_timeout", Value::Bool(forward))]),
            procedure: uri.into(),
        })
        .await;
        assert!(matches!(p.recv().await, Message::Registered { .. }));
    }
    let caller = join(&r).await;
    for (p, uri, forwarded) in [
        (&mut plain, "com.test.plain", false),
        (&mut forwarding, "com.test.fwd", true),
    ] {
        let call = caller.call::<()>(uri, ()).option("timeout", 100u64);
        let call = tokio::spawn(call.into_future());
        match p.recv().await {
            Message::Invocation { details, .. } => {
                assert_eq!(details.contains_key("timeout"), forwarded, "{uri}");
            }
            other => panic!("expected INVOCATION, got {other:?}"),
        }
        let err = call.await.unwrap().unwrap_err();
        assert_eq!(err.uri(), Some(error::TIMEOUT));
    }
    r.shutdown().await;
}

#[tokio::test]
async fn too_many_calls_in_flight_is_not_a_cancel() {
    let r = router().max_pending_calls(1).start().await.unwrap();
    let mut callee = raw(&r).await;
    callee
        .send(&Message::Register {
            request: 1,
            options: Dict::new(),
            procedure: "com.test.hold".into(),
        })
        .await;
    assert!(matches!(callee.recv().await, Message::Registered { .. }));
    let caller = join(&r).await;
    let first = tokio::spawn(caller.call::<()>("com.test.hold", ()).into_future());
    assert!(matches!(callee.recv().await, Message::Invocation { .. }));
    let err = caller.call::<()>("com.test.hold", ()).await.unwrap_err();
    assert_eq!(err.uri(), Some(error::TOO_MANY_CALLS));
    first.abort();
    r.shutdown().await;
}
