//! The meta API on a cluster: sessions, subscriptions and registrations of every node,
//! from any node, and meta events from other nodes.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{next_event, until, Three};
use wamp_runtime::proto::{Dict, Value};
use wamp_runtime::{Serializer, WampError};

#[tokio::test]
async fn sessions_of_every_node_are_counted_listed_found_and_killed() {
    let c = Three::start().await;
    let asker = c.session(0, Serializer::Json).await;
    let here = c.session(0, Serializer::MsgPack).await;
    let b = c.session(1, Serializer::Cbor).await;
    let c = c.session(2, Serializer::Json).await;
    let count: u64 = asker.call("wamp.session.count", ()).await.unwrap();
    assert_eq!(count, 4);
    let mut listed: Vec<u64> = asker.call("wamp.session.list", ()).await.unwrap();
    listed.sort_unstable();
    let mut all = vec![asker.id(), here.id(), b.id(), c.id()];
    all.sort_unstable();
    assert_eq!(listed, all);
    let details: Dict = asker.call("wamp.session.get", (c.id(),)).await.unwrap();
    assert_eq!(details.get("session").and_then(Value::as_u64), Some(c.id()));
    let e = asker
        .call::<Dict>("wamp.session.get", (1u64,))
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some("wamp.error.no_such_session"), "{e}");
    // A session of another node is killed by its node.
    let () = asker.call("wamp.session.kill", (b.id(),)).await.unwrap();
    until("the session on the other node is closed", || b.is_closed()).await;
    let count: u64 = asker.call("wamp.session.count", ()).await.unwrap();
    assert_eq!(count, 3);
}

#[tokio::test]
async fn subscriptions_and_registrations_of_other_nodes_are_found() {
    let c = Three::start().await;
    let asker = c.session(0, Serializer::Json).await;
    let b = c.session(1, Serializer::MsgPack).await;
    let c = c.session(2, Serializer::Cbor).await;
    let _sb = b.subscribe::<()>("com.meta.t").await.unwrap();
    let sc = c.subscribe::<()>("com.meta.t").await.unwrap();
    let found: Option<u64> = asker
        .call("wamp.subscription.lookup", ("com.meta.t",))
        .await
        .unwrap();
    assert_eq!(found, Some(sc.id()));
    let mut subscribers: Vec<u64> = asker
        .call("wamp.subscription.list_subscribers", (sc.id(),))
        .await
        .unwrap();
    subscribers.sort_unstable();
    let mut both = vec![b.id(), c.id()];
    both.sort_unstable();
    assert_eq!(subscribers, both);
    let n: u64 = asker
        .call("wamp.subscription.count_subscribers", (sc.id(),))
        .await
        .unwrap();
    assert_eq!(n, 2);

    let reg = c
        .register("com.meta.p", |(): ()| async { Ok::<_, WampError>(()) })
        .await
        .unwrap();
    let found: Option<u64> = asker
        .call("wamp.registration.lookup", ("com.meta.p",))
        .await
        .unwrap();
    assert_eq!(found, Some(reg.id()));
    let callees: Vec<u64> = asker
        .call("wamp.registration.list_callees", (reg.id(),))
        .await
        .unwrap();
    assert_eq!(callees, vec![c.id()]);
}

#[tokio::test]
async fn meta_events_of_other_nodes_arrive() {
    let c = Three::start().await;
    let watcher = c.session(0, Serializer::Json).await;
    let mut joins = watcher
        .subscribe::<(Dict,)>("wamp.session.on_join")
        .await
        .unwrap();
    let mut registered = watcher
        .subscribe::<(u64, u64)>("wamp.registration.on_register")
        .await
        .unwrap();
    let far = c.session(2, Serializer::MsgPack).await;
    let joined = next_event(&mut joins).await.data.0;
    assert_eq!(
        joined.get("session").and_then(Value::as_u64),
        Some(far.id())
    );
    let reg = far
        .register("com.meta.evt", |(): ()| async { Ok::<_, WampError>(()) })
        .await
        .unwrap();
    let (session, registration) = next_event(&mut registered).await.data;
    assert_eq!((session, registration), (far.id(), reg.id()));
}
