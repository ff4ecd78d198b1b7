//! What the survivors say when a node of a cluster goes (killed, or taken as dead while it
//! still runs): its sessions leave, and its registrations and subscriptions go, with the
//! meta events a single router sends when a client's connection drops, each heard once.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt;
use tests::{join, Nats, NodeProcess};
use wamp_router::RouterHandle;
use wamp_runtime::{Endpoint, Serializer, Session, WampError};

/// Waits until `node` (started with metrics) knows `n` sessions in the cluster.
async fn sessions_known(node: &RouterHandle, n: u64) {
    let metrics = node.metrics_addr().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = tests::http_get(metrics, "/metrics").await;
        if tests::metric(&text, "wamp_cluster_sessions") == Some(n) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The next event of `sub` within the node timeout (3 s) and a few heartbeats.
async fn soon<T: wamp_runtime::client::FromArgs>(sub: &mut wamp_runtime::Subscription<T>) -> T {
    tokio::time::timeout(Duration::from_secs(8), sub.next())
        .await
        .expect("the meta event in time")
        .expect("stream open")
        .expect("event reads as T")
        .data
}

/// A meta event of (session, registration or subscription) pairs, on `watcher`.
async fn pairs(watcher: &Session, topic: &str) -> wamp_runtime::Subscription<(u64, u64)> {
    watcher.subscribe(topic).await.unwrap()
}

/// `wamp.session.on_leave` on `watcher`.
async fn on_leave(watcher: &Session) -> wamp_runtime::Subscription<(u64, String, String)> {
    watcher.subscribe("wamp.session.on_leave").await.unwrap()
}

/// A node that dies: the survivors say that its sessions left (`wamp.session.on_leave`,
/// with their authid and authrole), as a single router says it of a session whose
/// connection dropped, each to its own subscribers.
#[tokio::test]
async fn the_sessions_of_a_killed_node_leave() {
    let nats = Nats::start().await;
    let survivor = nats.node_with_metrics().await;
    let other = nats.node().await;
    let doomed = NodeProcess::start(&nats).await;
    let watcher = join(survivor.endpoint(), Serializer::Json).await;
    let mut here = on_leave(&watcher).await;
    let far_watcher = join(Endpoint::from(other.url()), Serializer::Cbor).await;
    let mut there = on_leave(&far_watcher).await;
    let victim = join(Endpoint::from(doomed.url.clone()), Serializer::MsgPack).await;
    let (id, authid) = (victim.id(), victim.authid().unwrap_or_default());
    // Known to the survivor: the watchers and the victim.
    sessions_known(&survivor, 3).await;
    doomed.kill().await;
    for sub in [&mut here, &mut there] {
        assert_eq!(
            soon(sub).await,
            (id, authid.clone(), "anonymous".to_owned())
        );
    }
    // Each heard it once: what comes next on each is a session that leaves later.
    let later = join(Endpoint::from(other.url()), Serializer::Json).await;
    let later_id = later.id();
    later.leave().await.unwrap();
    for sub in [&mut here, &mut there] {
        let next = tests::next_event(sub).await.data;
        assert_eq!(next.0, later_id);
    }
}

/// A node that dies: its callees leave their registrations with the meta events a
/// single router sends when a callee's connection drops (`on_unregister`, then
/// `on_delete` for the last), once in the cluster though every survivor clears them.
#[tokio::test]
async fn the_registrations_of_a_killed_node_go_with_their_meta_events() {
    let nats = Nats::start().await;
    let (survivor, other) = (nats.node().await, nats.node().await);
    let doomed = NodeProcess::start(&nats).await;
    let watcher = join(survivor.endpoint(), Serializer::Json).await;
    let mut unregistered = pairs(&watcher, "wamp.registration.on_unregister").await;
    let mut deleted = pairs(&watcher, "wamp.registration.on_delete").await;
    let callee = join(Endpoint::from(doomed.url.clone()), Serializer::MsgPack).await;
    let reg = callee
        .register("com.fail.gone", |(): ()| async { Ok::<_, WampError>(1) })
        .await
        .unwrap();
    let pair = (callee.id(), reg.id());
    doomed.kill().await;
    // The node timeout (3 s), then the record's edit.
    for sub in [&mut unregistered, &mut deleted] {
        assert_eq!(soon(sub).await, pair);
    }
    // Once: what comes next is a registration that goes later, on another node.
    let later = join(other.endpoint(), Serializer::Cbor).await;
    let r = later
        .register("com.fail.later", |(): ()| async { Ok::<_, WampError>(2) })
        .await
        .unwrap();
    let later_pair = (later.id(), r.id());
    r.unregister().await.unwrap();
    assert_eq!(tests::next_event(&mut unregistered).await.data, later_pair);
    assert_eq!(tests::next_event(&mut deleted).await.data, later_pair);
}

/// A node that dies: its sessions leave their subscriptions with the meta events a single
/// router sends when a subscriber's connection drops (`on_unsubscribe` for each, then
/// `on_delete` where the node held the last subscriber in the cluster), once in the
/// cluster though every survivor clears the node's records.
#[tokio::test]
async fn the_subscriptions_of_a_killed_node_go_with_their_meta_events() {
    let nats = Nats::start().await;
    let survivor = nats.node_with_metrics().await;
    let other = nats.node().await;
    let doomed = NodeProcess::start(&nats).await;
    let watcher = join(survivor.endpoint(), Serializer::Json).await;
    let mut unsubscribed = pairs(&watcher, "wamp.subscription.on_unsubscribe").await;
    let mut deleted = pairs(&watcher, "wamp.subscription.on_delete").await;
    let far = join(other.endpoint(), Serializer::Cbor).await;
    let shared_there = far.subscribe::<()>("com.gone.shared").await.unwrap();
    let victim = join(Endpoint::from(doomed.url.clone()), Serializer::MsgPack).await;
    let only = victim.subscribe::<()>("com.gone.only").await.unwrap();
    let shared = victim.subscribe::<()>("com.gone.shared").await.unwrap();
    assert_eq!(shared.id(), shared_there.id());
    // A node writes its sessions' records in order: once the survivor knows a session
    // that joined after the subscriptions, it knows them too.
    let _marker = join(Endpoint::from(doomed.url.clone()), Serializer::Json).await;
    sessions_known(&survivor, 4).await;
    doomed.kill().await;
    let mut heard = vec![soon(&mut unsubscribed).await, soon(&mut unsubscribed).await];
    heard.sort();
    let mut expected = vec![(victim.id(), only.id()), (victim.id(), shared.id())];
    expected.sort();
    assert_eq!(heard, expected);
    // Deleted: the subscription no other node held.
    assert_eq!(soon(&mut deleted).await, (victim.id(), only.id()));
    // Once: what comes next is a subscription that goes later, on another node.
    let later = join(other.endpoint(), Serializer::Json).await;
    let sub = later.subscribe::<()>("com.gone.later").await.unwrap();
    let later_pair = (later.id(), sub.id());
    sub.unsubscribe().await.unwrap();
    assert_eq!(tests::next_event(&mut unsubscribed).await.data, later_pair);
    assert_eq!(tests::next_event(&mut deleted).await.data, later_pair);
    drop(shared_there);
}

/// A node taken as dead while it still runs (stopped for longer than the node timeout):
/// the survivors say its sessions left, and when it wakes and ends them itself the
/// cluster does not hear it again.
#[tokio::test]
async fn the_sessions_of_a_node_taken_as_dead_while_it_runs_leave_once() {
    let nats = Nats::start().await;
    let survivor = nats.node_with_metrics().await;
    let doomed = NodeProcess::start(&nats).await;
    let watcher = join(survivor.endpoint(), Serializer::Json).await;
    let mut left = on_leave(&watcher).await;
    let victim = join(Endpoint::from(doomed.url.clone()), Serializer::MsgPack).await;
    sessions_known(&survivor, 2).await;
    doomed.pause();
    assert_eq!(soon(&mut left).await.0, victim.id());
    doomed.resume();
    // Awake, it hears that it was taken as dead and ends its sessions.
    tests::until_within("the node ends its session", Duration::from_secs(10), || {
        victim.is_closed()
    })
    .await;
    let later = join(survivor.endpoint(), Serializer::Cbor).await;
    let later_id = later.id();
    later.leave().await.unwrap();
    assert_eq!(tests::next_event(&mut left).await.data.0, later_id);
}

/// After NATS restarted (empty), the nodes write their sessions' records again: a node
/// killed then is still said to have had its sessions.
#[tokio::test]
async fn the_sessions_of_a_node_killed_after_a_nats_restart_leave() {
    let nats = Nats::start().await;
    let survivor = nats.node_with_metrics().await;
    let doomed = NodeProcess::start(&nats).await;
    let victim = join(Endpoint::from(doomed.url.clone()), Serializer::MsgPack).await;
    let watcher = join(survivor.endpoint(), Serializer::Json).await;
    sessions_known(&survivor, 2).await;
    let nats = nats.restart().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut left = loop {
        match watcher.subscribe("wamp.session.on_leave").await {
            Ok(sub) => break sub,
            Err(e) => assert!(tokio::time::Instant::now() < deadline, "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    sessions_known(&survivor, 2).await;
    doomed.kill().await;
    let gone: (u64, String, String) = soon(&mut left).await;
    assert_eq!(gone.0, victim.id());
    drop(nats);
}
