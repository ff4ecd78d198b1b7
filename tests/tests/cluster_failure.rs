//! A node of a cluster that dies (SIGKILL): the others notice within the node timeout,
//! fail the calls in flight to its callees with `wamp.error.canceled`, and drop its
//! registrations, so a `single` procedure can be registered elsewhere.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt;
use tests::{join, until, Cut, Nats, NodeProcess};
use wamp_router::Cluster;
use wamp_runtime::proto::error;
use wamp_runtime::{Endpoint, Serializer, WampError};

#[tokio::test]
async fn a_killed_node_is_noticed_and_its_calls_fail() {
    let nats = Nats::start().await;
    let survivor = nats.node().await;
    let doomed = NodeProcess::start(&nats).await;
    let callee = join(Endpoint::from(doomed.url.clone()), Serializer::MsgPack).await;
    let _stuck = callee
        .register("com.fail.stuck", |(): ()| async {
            std::future::pending::<()>().await;
            Ok::<_, WampError>(())
        })
        .await
        .unwrap();
    let caller = join(Endpoint::from(survivor.url()), Serializer::Json).await;
    let call = tokio::spawn({
        let caller = caller.clone();
        async move { caller.call::<()>("com.fail.stuck", ()).await }
    });
    until("the call is in flight", || {
        survivor.calls_in_flight("realm1") == 1
    })
    .await;
    let killed = tokio::time::Instant::now();
    doomed.kill().await;
    // The node timeout is 3 s; the answer must come within it and a heartbeat.
    let e = tokio::time::timeout(Duration::from_secs(6), call)
        .await
        .expect("answered after the node died")
        .unwrap()
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::CANCELED), "{e}");
    assert!(killed.elapsed() < Duration::from_secs(6));
    // Its registration went with it: the procedure is free again.
    let e = caller.call::<()>("com.fail.stuck", ()).await.unwrap_err();
    assert_eq!(e.uri(), Some(error::NO_SUCH_PROCEDURE), "{e}");
    let other = join(Endpoint::from(survivor.url()), Serializer::Cbor).await;
    let mine = other
        .register("com.fail.stuck", |(): ()| async { Ok::<_, WampError>(7) })
        .await;
    assert!(mine.is_ok(), "{mine:?}");
    assert_eq!(caller.call::<i64>("com.fail.stuck", ()).await.unwrap(), 7);
}

/// Tries `attempt` until it gives a value (the cluster is rebuilding), for at most 20 s.
async fn until_ok<T, E: std::fmt::Display, F: std::future::IntoFuture<Output = Result<T, E>>>(
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match attempt().await {
            Ok(v) => return v,
            Err(e) => assert!(
                tokio::time::Instant::now() < deadline,
                "{what} still fails: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Calls `procedure` on `caller` until it answers. Each try is bounded, in case a call's
/// message is lost in a way no node notices.
async fn until_answered(caller: &wamp_runtime::Session, procedure: &str) -> i64 {
    until_ok(procedure, || {
        caller
            .call::<i64>(procedure, ())
            .timeout(Duration::from_secs(1))
    })
    .await
}

/// Asks `asker` for the ID of what `procedure` (a meta lookup) finds for `uri` until it
/// finds something.
async fn until_found(asker: &wamp_runtime::Session, procedure: &str, uri: &str) -> u64 {
    until_ok(procedure, || async move {
        match asker.call::<Option<u64>>(procedure, (uri,)).await {
            Ok(Some(id)) => Ok(id),
            Ok(None) => Err(format!("nothing found for {uri}")),
            Err(e) => Err(e.to_string()),
        }
    })
    .await
}

#[tokio::test]
async fn a_nats_restart_is_survived() {
    let nats = Nats::start().await;
    let (a, b) = (nats.node().await, nats.node().await);
    let callee = join(Endpoint::from(b.url()), Serializer::MsgPack).await;
    let _seven = callee
        .register("com.nats.seven", |(): ()| async { Ok::<_, WampError>(7) })
        .await
        .unwrap();
    let subscriber = join(Endpoint::from(b.url()), Serializer::Cbor).await;
    let mut news = subscriber
        .subscribe::<(u32,)>("com.nats.news")
        .await
        .unwrap();
    let caller = join(Endpoint::from(a.url()), Serializer::Json).await;
    assert_eq!(caller.call::<i64>("com.nats.seven", ()).await.unwrap(), 7);
    // NATS restarts empty (its buckets are in memory); the nodes write their records
    // again and serve across as before, with the same sessions.
    let nats = nats.restart().await;
    assert_eq!(until_answered(&caller, "com.nats.seven").await, 7);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let got = loop {
        caller
            .publish("com.nats.news", (1,))
            .acknowledge()
            .await
            .unwrap();
        if let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(200), news.next()).await {
            break e.unwrap().data.0;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no event after the restart"
        );
    };
    assert_eq!(got, 1);
    drop(nats);
}

/// NATS restarts empty: the records the nodes write again keep the IDs their clients
/// were told (a callee is invoked under its registration's ID, the other nodes find the
/// same IDs), and what is made after the restart gets IDs of its own, not those of what
/// lives on. (Before the restart, one registration and one subscription went, so the
/// records written again do not land on the revisions they were created at.)
#[tokio::test]
async fn ids_survive_a_nats_restart() {
    let nats = Nats::start().await;
    let (a, b) = (nats.node().await, nats.node().await);
    let callee = join(Endpoint::from(b.url()), Serializer::MsgPack).await;
    let zero = callee
        .register("com.ids.zero", |(): ()| async { Ok::<_, WampError>(0) })
        .await
        .unwrap();
    let one = callee
        .register("com.ids.one", |(): ()| async { Ok::<_, WampError>(1) })
        .await
        .unwrap();
    zero.unregister().await.unwrap();
    let subscriber = join(Endpoint::from(b.url()), Serializer::Json).await;
    let t0 = subscriber.subscribe::<()>("com.ids.t0").await.unwrap();
    let t1 = subscriber.subscribe::<()>("com.ids.t1").await.unwrap();
    t0.unsubscribe().await.unwrap();
    let caller = join(Endpoint::from(a.url()), Serializer::Json).await;
    assert_eq!(caller.call::<i64>("com.ids.one", ()).await.unwrap(), 1);

    let nats = nats.restart().await;
    assert_eq!(until_answered(&caller, "com.ids.one").await, 1);
    let lookup = "wamp.registration.lookup";
    assert_eq!(until_found(&caller, lookup, "com.ids.one").await, one.id());
    let lookup = "wamp.subscription.lookup";
    assert_eq!(until_found(&caller, lookup, "com.ids.t1").await, t1.id());

    let two = callee
        .register("com.ids.two", |(): ()| async { Ok::<_, WampError>(2) })
        .await
        .unwrap();
    assert_ne!(two.id(), one.id());
    assert_eq!(caller.call::<i64>("com.ids.two", ()).await.unwrap(), 2);
    assert_eq!(caller.call::<i64>("com.ids.one", ()).await.unwrap(), 1);
    let t2 = subscriber.subscribe::<()>("com.ids.t2").await.unwrap();
    assert_ne!(t2.id(), t1.id());
    drop(nats);
}

#[tokio::test]
async fn a_node_cut_off_from_nats_ends_its_sessions() {
    let nats = Nats::start().await;
    let node = nats.node().await;
    let client = join(Endpoint::from(node.url()), Serializer::Json).await;
    let stopped = nats.stop().await;
    // Cut off for longer than the node timeout (3 s): the node ends its sessions so
    // their clients go elsewhere.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while !client.is_closed() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session lives on"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _nats = stopped.start().await;
    // Back: new sessions are served.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let (again, _back) = loop {
        let s = join(Endpoint::from(node.url()), Serializer::Json).await;
        let reg = s
            .register("com.nats.back", |(): ()| async { Ok::<_, WampError>(1) })
            .await;
        if let Ok(reg) = reg {
            break (s, reg);
        }
        assert!(tokio::time::Instant::now() < deadline, "{reg:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(again.call::<i64>("com.nats.back", ()).await.unwrap(), 1);
}

/// A node cut off from NATS for less than the node timeout: a call sent to its callee
/// meanwhile is lost on the way (core NATS is at most once). Once the node is back, its
/// heartbeat's new epoch tells the caller's node, and the caller hears
/// `wamp.error.canceled` instead of waiting for ever; the next call is served.
#[tokio::test]
async fn a_call_lost_while_the_callee_node_was_cut_off_fails_when_it_is_back() {
    let nats = Nats::start().await;
    let near = nats.node().await;
    let cut = Cut::start(&nats.url).await;
    let far = tests::router()
        .cluster(Cluster::nats(cut.url.clone()).name("test"))
        .start()
        .await
        .unwrap();
    let callee = join(far.endpoint(), Serializer::MsgPack).await;
    let _seven = callee
        .register("com.cut.seven", |(): ()| async { Ok::<_, WampError>(7) })
        .await
        .unwrap();
    let caller = join(near.endpoint(), Serializer::Json).await;
    assert_eq!(until_answered(&caller, "com.cut.seven").await, 7);
    cut.cut();
    until("the far node tries to reconnect", || cut.refused() > 0).await;
    let call = tokio::spawn({
        let caller = caller.clone();
        async move { caller.call::<i64>("com.cut.seven", ()).await }
    });
    until("the call is in flight", || {
        near.calls_in_flight("realm1") == 1
    })
    .await;
    cut.mend();
    // Well within the node timeout (3 s): the far node is back, not taken as dead.
    let e = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("answered once the far node is back")
        .unwrap()
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::CANCELED), "{e}");
    assert_eq!(near.calls_in_flight("realm1"), 0);
    assert_eq!(until_answered(&caller, "com.cut.seven").await, 7);
    assert!(!callee.is_closed(), "the far node kept its sessions");
}

/// NATS drops one envelope on its way to a node (core NATS is at most once; a slow
/// consumer loses messages so), with no reconnection to tell: the node sees the gap in
/// the sender's sequence at the next envelope and says so in a heartbeat at once, and
/// the caller of the lost call hears `wamp.error.canceled` instead of waiting for ever.
#[tokio::test]
async fn a_call_whose_envelope_nats_dropped_fails_at_the_next_envelope() {
    let nats = Nats::start().await;
    let near = nats.node().await;
    let path = Cut::start(&nats.url).await;
    let far = tests::router()
        .cluster(Cluster::nats(path.url.clone()).name("test"))
        .start()
        .await
        .unwrap();
    let callee = join(far.endpoint(), Serializer::Cbor).await;
    let _seven = callee
        .register("com.gap.seven", |(): ()| async { Ok::<_, WampError>(7) })
        .await
        .unwrap();
    let caller = join(near.endpoint(), Serializer::Json).await;
    assert_eq!(until_answered(&caller, "com.gap.seven").await, 7);
    // The next envelope to the far node (`wr.<cluster>.n.<node>.e.<sender>`) is lost.
    path.drop_next(&["wr.test.n.", ".e."]);
    let lost = tokio::spawn({
        let caller = caller.clone();
        async move { caller.call::<i64>("com.gap.seven", ()).await }
    });
    until("the call's envelope is dropped", || path.dropped() == 1).await;
    // The next call's envelope shows the gap. It may itself be ended with the first
    // (every call crossing between the two nodes then is), or answered.
    let next = caller
        .call::<i64>("com.gap.seven", ())
        .timeout(Duration::from_secs(5))
        .await;
    match &next {
        Ok(n) => assert_eq!(*n, 7),
        Err(e) => assert_eq!(e.uri(), Some(error::CANCELED), "{e}"),
    }
    let e = tokio::time::timeout(Duration::from_secs(5), lost)
        .await
        .expect("the lost call is answered")
        .unwrap()
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::CANCELED), "{e}");
    assert_eq!(until_answered(&caller, "com.gap.seven").await, 7);
}

/// NATS drops the envelope of a call and nothing follows it to show the gap: the sender's
/// heartbeats say what it sent, and once that claim has had time to arrive and still has
/// not, the call ends with `wamp.error.canceled` too.
#[tokio::test]
async fn a_call_whose_envelope_nats_dropped_fails_even_with_nothing_after_it() {
    let nats = Nats::start().await;
    let near = nats.node().await;
    let path = Cut::start(&nats.url).await;
    let far = tests::router()
        .cluster(Cluster::nats(path.url.clone()).name("test"))
        .start()
        .await
        .unwrap();
    let callee = join(far.endpoint(), Serializer::MsgPack).await;
    let _seven = callee
        .register("com.tail.seven", |(): ()| async { Ok::<_, WampError>(7) })
        .await
        .unwrap();
    let caller = join(near.endpoint(), Serializer::Json).await;
    assert_eq!(until_answered(&caller, "com.tail.seven").await, 7);
    path.drop_next(&["wr.test.n.", ".e."]);
    let lost = caller.call::<i64>("com.tail.seven", ());
    // Heartbeats every second; a claim is held against what arrived once 2 s old.
    let e = tokio::time::timeout(Duration::from_secs(10), lost)
        .await
        .expect("the lost call is answered")
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::CANCELED), "{e}");
    assert_eq!(path.dropped(), 1);
    assert_eq!(until_answered(&caller, "com.tail.seven").await, 7);
}
