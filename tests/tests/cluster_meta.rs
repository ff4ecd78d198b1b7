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

/// A subscription of the cluster is created once, by its first subscriber wherever it
/// is, and deleted once, when its last subscriber anywhere leaves: a node's first or
/// last local subscriber is not enough. (What a node says comes in order, so a topic
/// made or ended after it on the same node shows that nothing came between.)
#[tokio::test]
async fn a_subscription_is_created_and_deleted_once_in_the_cluster() {
    let c = Three::start().await;
    let watcher = c.session(0, Serializer::Json).await;
    let mut created = watcher
        .subscribe::<(u64, Dict)>("wamp.subscription.on_create")
        .await
        .unwrap();
    let mut deleted = watcher
        .subscribe::<(u64, u64)>("wamp.subscription.on_delete")
        .await
        .unwrap();
    let id = |d: &Dict| d.get("id").and_then(Value::as_u64);
    // The watcher's own subscriptions are created too (the first sees both).
    for _ in 0..2 {
        let (who, details) = next_event(&mut created).await.data;
        assert_eq!(who, watcher.id(), "{details:?}");
    }
    let first = c.session(1, Serializer::MsgPack).await;
    let second = c.session(2, Serializer::Cbor).await;

    let t1 = first.subscribe::<()>("com.once.t").await.unwrap();
    let (who, details) = next_event(&mut created).await.data;
    assert_eq!((who, id(&details)), (first.id(), Some(t1.id())));
    let t2 = second.subscribe::<()>("com.once.t").await.unwrap();
    assert_eq!(t2.id(), t1.id());
    let u = second.subscribe::<()>("com.once.u").await.unwrap();
    let (who, details) = next_event(&mut created).await.data;
    assert_eq!(
        (who, id(&details)),
        (second.id(), Some(u.id())),
        "{details:?}"
    );

    let t = t1.id();
    t1.unsubscribe().await.unwrap();
    let v = first.subscribe::<()>("com.once.v").await.unwrap();
    let v_id = v.id();
    v.unsubscribe().await.unwrap();
    assert_eq!(next_event(&mut deleted).await.data, (first.id(), v_id));
    t2.unsubscribe().await.unwrap();
    assert_eq!(next_event(&mut deleted).await.data, (second.id(), t));
}
