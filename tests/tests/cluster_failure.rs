//! A node of a cluster that dies (SIGKILL): the others notice within the node timeout,
//! fail the calls in flight to its callees with `wamp.error.canceled`, and drop its
//! registrations, so a `single` procedure can be registered elsewhere.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use tests::{join, until, Nats, NodeProcess};
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
