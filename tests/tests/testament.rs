//! Session testaments on the bundled router (`wamp.session.add_testament`,
//! `wamp.session.flush_testaments`): published when their session goes, however it goes,
//! in the spec's order, with their publish options; flushed ones never; bad arguments get
//! an ERROR. Autobahn|Python's side is in `crossbar_parity.rs`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{join, next_event, router, start_router, RawPeer};
use wamp_router::{Action, Permission};
use wamp_runtime::proto::error;
use wamp_runtime::{
    Args, Dict, Endpoint, Id, List, MatchPolicy, Message, Payload, Serializer, Session, StreamExt,
    TestamentScope, Value,
};

/// Whether `sub` has nothing more now: asked after an event that the router sends after
/// anything that could have come (events of one realm reach a subscriber in order).
fn nothing_more(sub: &mut wamp_runtime::Subscription<Args>) -> bool {
    use futures_util::FutureExt;
    sub.next().now_or_never().is_none()
}

/// What a subscriber hears: the testament topics and the session meta events, in order.
async fn listener(r: &wamp_router::RouterHandle) -> (Session, wamp_runtime::Subscription<Args>) {
    let s = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    let sub = s
        .subscribe::<Args>("com.will.")
        .match_policy(MatchPolicy::Prefix)
        .await
        .unwrap();
    (s, sub)
}

/// A CALL of `procedure` from a raw peer, and its answer.
async fn raw_call(
    p: &mut RawPeer,
    request: Id,
    procedure: &str,
    args: List,
    kwargs: Dict,
) -> Message {
    p.send(&Message::Call {
        request,
        options: Dict::new(),
        procedure: procedure.into(),
        payload: Payload::new(args, kwargs),
    })
    .await;
    p.recv().await
}

fn text(s: &str) -> Value {
    Value::Str(s.into())
}

#[tokio::test]
async fn testaments_go_out_when_the_connection_is_lost_detached_first() {
    let r = start_router().await;
    let (_s, mut heard) = listener(&r).await;
    let mut p = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    let mut scope = Dict::new();
    scope.insert("scope".into(), text("destroyed"));
    let first = vec![
        text("com.will.destroyed"),
        Value::List(vec![text("one")]),
        Value::Dict(Dict::new()),
    ];
    let answer = raw_call(&mut p, 1, "wamp.session.add_testament", first, scope).await;
    let publication = match answer {
        Message::Result { payload, .. } => Args::from_payload(&payload).unwrap().args,
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(publication.as_slice(), [Value::Int(_)] | [Value::UInt(_)]),
        "the publication ID it will have, as Crossbar.io answers: {publication:?}"
    );
    let mut detached = Dict::new();
    detached.insert("scope".into(), text("detached"));
    let second = vec![
        text("com.will.detached"),
        Value::List(vec![text("two")]),
        Value::Dict(Dict::new()),
    ];
    assert!(matches!(
        raw_call(&mut p, 2, "wamp.session.add_testament", second, detached).await,
        Message::Result { .. }
    ));
    let third = vec![text("com.will.destroyed"), Value::List(vec![text("three")])];
    assert!(matches!(
        raw_call(&mut p, 3, "wamp.session.add_testament", third, Dict::new()).await,
        Message::Result { .. }
    ));
    // Nothing yet: the session is still here. Its own publication comes first.
    p.send(&Message::Publish {
        request: 4,
        options: Dict::new(),
        topic: "com.will.marker".into(),
        payload: Payload::args(vec![text("still here")]),
    })
    .await;
    assert_eq!(
        next_event(&mut heard).await.data.args,
        [text("still here")],
        "no testament while the session lives"
    );
    // The TCP connection goes without GOODBYE or a WebSocket close.
    drop(p);
    let order: Vec<Vec<Value>> = [
        next_event(&mut heard).await,
        next_event(&mut heard).await,
        next_event(&mut heard).await,
    ]
    .into_iter()
    .map(|e| e.data.args)
    .collect();
    assert_eq!(
        order,
        [vec![text("two")], vec![text("one")], vec![text("three")]],
        "detached first, then destroyed, each in the order added"
    );
}

#[tokio::test]
async fn flushed_testaments_are_not_published_and_the_rest_are_on_goodbye_and_kill() {
    let r = start_router().await;
    let (watcher, mut heard) = listener(&r).await;
    let mut left = watcher
        .subscribe::<(Id,)>("wamp.session.on_leave")
        .await
        .unwrap();
    let s = join(r.endpoint(), Serializer::MsgPack).await;
    s.publish("com.will.a", ("flushed",))
        .testament(TestamentScope::Destroyed)
        .await
        .unwrap();
    s.publish("com.will.a", ("flushed too",))
        .testament(TestamentScope::Destroyed)
        .await
        .unwrap();
    s.publish("com.will.b", ("kept",))
        .kwargs(serde_json::json!({"why": "detached"}))
        .testament(TestamentScope::Detached)
        .await
        .unwrap();
    assert_eq!(
        s.flush_testaments(TestamentScope::Destroyed).await.unwrap(),
        2
    );
    assert_eq!(
        s.flush_testaments(TestamentScope::Destroyed).await.unwrap(),
        0
    );
    let id = s.id();
    s.leave().await.unwrap();
    let e = next_event(&mut heard).await;
    assert_eq!(e.data.args, [text("kept")]);
    assert_eq!(e.data.kwargs.get("why"), Some(&text("detached")));
    assert_eq!(
        next_event(&mut left).await.data.0,
        id,
        "then the session's on_leave"
    );
    assert!(nothing_more(&mut heard), "the flushed ones never come");

    // A session killed through the meta API leaves its testaments too.
    let doomed = join(r.endpoint(), Serializer::Json).await;
    doomed
        .publish("com.will.killed", ("killed",))
        .testament(TestamentScope::Destroyed)
        .await
        .unwrap();
    wamp_runtime::client::meta::Meta::new(watcher.clone())
        .session_kill(doomed.id(), None, None)
        .await
        .unwrap();
    assert_eq!(next_event(&mut heard).await.data.args, [text("killed")]);
}

#[tokio::test]
async fn a_testament_keeps_its_publish_options() {
    let r = router().disclose_publisher(false).start().await.unwrap();
    let (a, mut heard_a) = listener(&r).await;
    let (_b, mut heard_b) = listener(&r).await;
    let s = join(r.endpoint(), Serializer::Json).await;
    s.publish("com.will.only_a", ("for a",))
        .eligible([a.id()])
        .disclose_me()
        .acknowledge()
        .testament(TestamentScope::Destroyed)
        .await
        .unwrap();
    s.publish("com.will.kept", ("retained",))
        .retain()
        .testament(TestamentScope::Destroyed)
        .await
        .unwrap();
    let id = s.id();
    s.leave().await.unwrap();
    let e = next_event(&mut heard_a).await;
    assert_eq!(e.data.args, [text("for a")]);
    assert_eq!(e.details.publisher, Some(id), "disclose_me is kept");
    let e = next_event(&mut heard_a).await;
    assert_eq!(
        (e.data.args, e.details.publisher),
        (vec![text("retained")], None)
    );
    let e = next_event(&mut heard_b).await;
    assert_eq!(
        e.data.args,
        [text("retained")],
        "eligible is kept: b hears only this"
    );
    // Retained: a late subscriber gets it.
    let late = join(r.endpoint(), Serializer::MsgPack).await;
    let mut got = late
        .subscribe::<Args>("com.will.kept")
        .get_retained()
        .await
        .unwrap();
    let e = next_event(&mut got).await;
    assert!(e.details.retained);
    assert_eq!(e.data.args, [text("retained")]);
}

#[tokio::test]
async fn bad_testaments_get_an_error_and_change_nothing() {
    let r = router()
        .role(
            "realm1",
            "anonymous",
            vec![
                Permission::all("com.open.", MatchPolicy::Prefix),
                Permission::new("com.closed.", MatchPolicy::Prefix).allow(Action::Subscribe),
                Permission::new("wamp.session.", MatchPolicy::Prefix).allow(Action::Call),
            ],
        )
        .start()
        .await
        .unwrap();
    let s = join(r.endpoint(), Serializer::Json).await;
    let add = |args: Vec<Value>, kwargs: Dict| {
        let s = s.clone();
        async move {
            s.call::<Value>("wamp.session.add_testament", args)
                .kwargs(kwargs)
                .await
                .unwrap_err()
        }
    };
    let mut bad_scope = Dict::new();
    bad_scope.insert("scope".into(), text("forever"));
    let cases: Vec<(Vec<Value>, Dict, &str)> = vec![
        (vec![], Dict::new(), error::INVALID_ARGUMENT),
        (
            vec![Value::from(3u64)],
            Dict::new(),
            error::INVALID_ARGUMENT,
        ),
        (
            vec![text("com.open.t"), text("not a list")],
            Dict::new(),
            error::INVALID_ARGUMENT,
        ),
        (
            vec![text("com.open.t"), Value::List(vec![]), Value::List(vec![])],
            Dict::new(),
            error::INVALID_ARGUMENT,
        ),
        (vec![text("com.open.t")], bad_scope, error::INVALID_ARGUMENT),
        (vec![text("com..t")], Dict::new(), error::INVALID_URI),
        (
            vec![text("wamp.session.t")],
            Dict::new(),
            error::INVALID_URI,
        ),
        (
            vec![text("com.closed.t")],
            Dict::new(),
            error::NOT_AUTHORIZED,
        ),
    ];
    for (args, kwargs, uri) in cases {
        let e = add(args.clone(), kwargs).await;
        assert_eq!(e.uri(), Some(uri), "{args:?}: {e}");
    }
    let mut opts = Dict::new();
    opts.insert("publish_options".into(), text("nope"));
    let e = add(vec![text("com.open.t")], opts).await;
    assert_eq!(e.uri(), Some(error::INVALID_ARGUMENT), "{e}");
    let flush = s
        .call::<Value>("wamp.session.flush_testaments", ())
        .kwargs(serde_json::json!({"scope": "later"}))
        .await
        .unwrap_err();
    assert_eq!(flush.uri(), Some(error::INVALID_ARGUMENT), "{flush}");
    // The limit: 64 a session.
    for i in 0..64 {
        s.publish("com.open.t", (i,))
            .testament(TestamentScope::Destroyed)
            .await
            .unwrap();
    }
    let e = s
        .publish("com.open.t", (65,))
        .testament(TestamentScope::Detached)
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::INVALID_ARGUMENT), "{e}");
    assert_eq!(
        s.flush_testaments(TestamentScope::Destroyed).await.unwrap(),
        64
    );
    assert_eq!(
        s.flush_testaments(TestamentScope::Detached).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn the_router_announces_the_testament_meta_api() {
    let r = start_router().await;
    let mut p = RawPeer::connect(&r.url(), Serializer::Json).await;
    p.send(&Message::Hello {
        realm: "realm1".into(),
        details: tests::all_roles(),
    })
    .await;
    let Message::Welcome { details, .. } = p.recv().await else {
        panic!("WELCOME");
    };
    let features = details
        .get("roles")
        .and_then(|r| {
            r.as_dict()?
                .get("dealer")?
                .as_dict()?
                .get("features")?
                .as_dict()
                .cloned()
        })
        .unwrap();
    assert_eq!(features.get("testament_meta_api"), Some(&Value::Bool(true)));
}
