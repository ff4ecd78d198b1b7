//! Calls across the nodes of a cluster: a real `nats-server`, three router nodes, callers
//! and callees on different nodes with different serializers.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tests::{until, DropCounter, Three, WAIT};
use wamp_runtime::proto::error;
use wamp_runtime::{
    Args, CallDetails, Error, MatchPolicy, Progress, Serializer, Session, WampError,
};

/// Registers `com.rust.count` or the like: `n` progressive results, then `n`.
async fn register_count(s: &Session, uri: &str) -> wamp_runtime::Registration {
    s.register(
        uri,
        |a: Args, _: CallDetails, progress: Progress| async move {
            let n: u64 = a.get(0)?;
            for i in 0..n {
                progress.send(i).await?;
            }
            Ok::<_, WampError>(n)
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn results_errors_progress_and_disclosure_cross_nodes() {
    let c = Three::start().await;
    let callee = c.session(1, Serializer::MsgPack).await;
    let caller = c.session(0, Serializer::Json).await;
    let _add = callee
        .register("com.calc.add", |(a, b): (i64, i64)| async move {
            Ok::<_, WampError>(a + b)
        })
        .await
        .unwrap();
    let _fail = callee
        .register("com.calc.fail", |(): ()| async move {
            Err::<(), _>(WampError::new("com.calc.refused").arg("no"))
        })
        .await
        .unwrap();
    let _count = register_count(&callee, "com.calc.count").await;
    let _who = callee
        .register("com.calc.whoami", |(): (), d: CallDetails| async move {
            Ok::<_, WampError>(d.caller)
        })
        .option("disclose_caller", true)
        .await
        .unwrap();

    // Registered on another node, then called here at once: the call finds it.
    let sum: i64 = caller.call("com.calc.add", (2, 3)).await.unwrap();
    assert_eq!(sum, 5);
    let e = caller.call::<()>("com.calc.fail", ()).await.unwrap_err();
    assert_eq!(e.uri(), Some("com.calc.refused"), "{e}");
    let mut parts = caller.call::<u64>("com.calc.count", (3,)).progressive();
    let mut got = Vec::new();
    while let Some(part) = parts.next().await {
        got.push(part.unwrap());
    }
    assert_eq!(
        got,
        [0, 1, 2, 3],
        "progressive results in order, then the result"
    );
    let who: Option<u64> = caller.call("com.calc.whoami", ()).await.unwrap();
    assert_eq!(who, Some(caller.id()));
    let e = caller.call::<()>("com.calc.none", ()).await.unwrap_err();
    assert_eq!(e.uri(), Some(error::NO_SUCH_PROCEDURE), "{e}");
}

#[tokio::test]
async fn a_registration_race_over_three_nodes_has_one_winner() {
    let c = Three::start().await;
    let mut sessions = Vec::new();
    for i in 0..9 {
        sessions.push(c.session(i % 3, Serializer::ALL[i % 3]).await);
    }
    let tries = sessions.iter().map(|s| async move {
        s.register("com.race.one", |(): ()| async { Ok::<_, WampError>(()) })
            .await
    });
    let outcomes = futures_util::future::join_all(tries).await;
    let (won, lost): (Vec<_>, Vec<_>) = outcomes.into_iter().partition(Result::is_ok);
    assert_eq!(won.len(), 1, "exactly one registration");
    for e in lost.into_iter().map(Result::unwrap_err) {
        assert_eq!(e.uri(), Some(error::PROCEDURE_ALREADY_EXISTS), "{e}");
    }
    // Once the winner lets go, another session of another node gets it.
    let winner = won.into_iter().next().unwrap().unwrap();
    winner.unregister().await.unwrap();
    let again = sessions[4]
        .register("com.race.one", |(): ()| async { Ok::<_, WampError>(()) })
        .await;
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test]
async fn shared_registrations_pick_callees_on_every_node() {
    let c = Three::start().await;
    let (mut held, mut sessions) = (Vec::new(), Vec::new());
    for (node, policy) in [(0, "roundrobin"), (1, "roundrobin"), (2, "roundrobin")] {
        let s = c.session(node, Serializer::ALL[node]).await;
        held.push(
            s.register("com.shared.rr", move |(): ()| async move {
                Ok::<_, WampError>(node)
            })
            .invoke(policy)
            .await
            .unwrap(),
        );
        for (uri, p) in [("com.shared.first", "first"), ("com.shared.last", "last")] {
            held.push(
                s.register(uri, move |(): ()| async move { Ok::<_, WampError>(node) })
                    .invoke(p)
                    .await
                    .unwrap(),
            );
        }
        sessions.push(s);
    }
    let caller = c.session(0, Serializer::Json).await;
    let mut seen = [0; 3];
    for _ in 0..6 {
        let n: usize = caller.call("com.shared.rr", ()).await.unwrap();
        seen[n] += 1;
    }
    assert_eq!(seen, [2, 2, 2], "round robin over the cluster's callees");
    for _ in 0..3 {
        assert_eq!(
            caller.call::<usize>("com.shared.first", ()).await.unwrap(),
            0
        );
        assert_eq!(
            caller.call::<usize>("com.shared.last", ()).await.unwrap(),
            2
        );
    }
    // Another policy for the same procedure is refused, whichever node asks.
    let other = c.session(1, Serializer::Json).await;
    let e = other
        .register("com.shared.rr", |(): ()| async { Ok::<_, WampError>(9) })
        .invoke("random")
        .await
        .unwrap_err();
    assert_eq!(
        e.uri(),
        Some(error::PROCEDURE_EXISTS_WITH_DIFFERENT_INVOCATION_POLICY),
        "{e}"
    );
}

#[tokio::test]
async fn exact_beats_prefix_beats_wildcard_across_nodes() {
    let c = Three::start().await;
    let (a, b, z) = (
        c.session(0, Serializer::Json).await,
        c.session(1, Serializer::MsgPack).await,
        c.session(2, Serializer::Cbor).await,
    );
    let _wild = a
        .register("com.p..b", |(): ()| async {
            Ok::<_, WampError>("wildcard")
        })
        .match_policy(MatchPolicy::Wildcard)
        .await
        .unwrap();
    let prefix = b
        .register("com.p", |(): ()| async { Ok::<_, WampError>("prefix") })
        .match_policy(MatchPolicy::Prefix)
        .await
        .unwrap();
    let _exact = z
        .register("com.p.a.b", |(): ()| async { Ok::<_, WampError>("exact") })
        .await
        .unwrap();
    let caller = c.session(1, Serializer::Json).await;
    let call = |uri: &'static str| caller.call::<String>(uri, ());
    assert_eq!(call("com.p.a.b").await.unwrap(), "exact");
    assert_eq!(call("com.p.x.b").await.unwrap(), "prefix");
    prefix.unregister().await.unwrap();
    assert_eq!(call("com.p.x.b").await.unwrap(), "wildcard");
}

#[tokio::test]
async fn timeouts_cancels_and_leaving_sessions_across_nodes() {
    let c = Three::start().await;
    let stopped = Arc::new(AtomicU64::new(0));
    let callee = c.session(1, Serializer::MsgPack).await;
    let caller = c.session(0, Serializer::Json).await;
    let counter = stopped.clone();
    let _forever = callee
        .register("com.slow.forever", move |(): ()| {
            let guard = DropCounter(counter.clone());
            async move {
                let _guard = guard;
                std::future::pending::<()>().await;
                Ok::<_, WampError>(())
            }
        })
        .await
        .unwrap();
    // The dealer's timeout runs on the callee's node; the callee is interrupted.
    let e = caller
        .call::<()>("com.slow.forever", ())
        .timeout(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    until("the timed-out handler stops", || {
        stopped.load(Ordering::SeqCst) == 1
    })
    .await;
    // A call given up by the caller: the cancel crosses and interrupts the callee.
    let call = caller.call::<()>("com.slow.forever", ());
    let _ = tokio::time::timeout(Duration::from_millis(200), call).await;
    until("the canceled handler stops", || {
        stopped.load(Ordering::SeqCst) == 2
    })
    .await;
    // The caller leaves mid-call: the callee is interrupted.
    let leaving = c.session(2, Serializer::Cbor).await;
    let call = tokio::spawn({
        let leaving = leaving.clone();
        async move { leaving.call::<()>("com.slow.forever", ()).await }
    });
    until("the call at the callee", || {
        c.nodes[1].calls_in_flight("realm1") == 1
    })
    .await;
    drop(leaving);
    call.abort();
    until("the orphaned handler stops", || {
        stopped.load(Ordering::SeqCst) == 3
    })
    .await;
    // The callee leaves mid-call: the caller hears wamp.error.canceled.
    let call = tokio::spawn({
        let caller = caller.clone();
        async move { caller.call::<()>("com.slow.forever", ()).await }
    });
    until("the call at the callee", || {
        c.nodes[1].calls_in_flight("realm1") == 1
    })
    .await;
    drop(_forever);
    drop(callee);
    let e = tokio::time::timeout(WAIT, call)
        .await
        .expect("answered in time")
        .unwrap()
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::CANCELED), "{e}");
}

#[tokio::test]
async fn progressive_call_invocations_cross_nodes() {
    let c = Three::start().await;
    let callee = c.session(2, Serializer::Cbor).await;
    let caller = c.session(0, Serializer::MsgPack).await;
    let _sum = callee
        .register("com.up.sum", |first: Args, d: CallDetails| async move {
            let mut total: i64 = first.get(0)?;
            while let Some(part) = d.next_input().await {
                total += part.get::<i64>(0)?;
            }
            Ok::<_, WampError>(total)
        })
        .await
        .unwrap();
    let mut upload = caller.progressive_call::<i64>("com.up.sum");
    for n in [1, 2, 3] {
        upload.send((n,)).await.unwrap();
    }
    assert_eq!(upload.finish((4,)).await.unwrap(), 10);
}

#[tokio::test]
async fn autobahn_calls_and_serves_across_nodes() {
    let c = Three::start().await;
    let rust = c.session(1, Serializer::MsgPack).await;
    let _mul = rust
        .register("com.rust.mul", |(a, b): (i64, i64)| async move {
            Ok::<_, WampError>(a * b)
        })
        .await
        .unwrap();
    let _count = register_count(&rust, "com.rust.count").await;
    let caller = c.session(0, Serializer::Json).await;
    for ser in ["json", "msgpack", "cbor"] {
        let (a, z) = (c.nodes[0].url(), c.nodes[2].url());
        let mut py = tests::PythonPeer::start("autobahn_cluster_rpc.py", &[&a, &z, "realm1", ser]);
        py.line_starting("READY").await;
        // The Python callee on node C, from a Rust caller on node A.
        assert_eq!(caller.call::<i64>("com.py.add", (1, 1)).await.unwrap(), 2);
        py.line_starting("ALL OK").await;
    }
}

#[tokio::test]
async fn force_reregister_takes_a_procedure_from_another_node() {
    let c = Three::start().await;
    let old = c.session(1, Serializer::MsgPack).await;
    let held = old
        .register("com.force.p", |(): ()| async { Ok::<_, WampError>("old") })
        .await
        .unwrap();
    let new = c.session(0, Serializer::Json).await;
    let _taken = new
        .register("com.force.p", |(): ()| async { Ok::<_, WampError>("new") })
        .option("force_reregister", true)
        .await
        .unwrap();
    // The callee on the other node is told, and calls from any node go to the new one.
    let reason = tokio::time::timeout(WAIT, held.revocation())
        .await
        .expect("the old callee is told");
    assert_eq!(reason, "wamp.error.unregistered");
    let caller = c.session(2, Serializer::Cbor).await;
    assert_eq!(
        caller.call::<String>("com.force.p", ()).await.unwrap(),
        "new"
    );
}

#[tokio::test]
async fn a_callee_concurrency_holds_for_callers_on_every_node() {
    let c = Three::start().await;
    let callee = c.session(1, Serializer::MsgPack).await;
    let release = Arc::new(tokio::sync::Notify::new());
    let started = Arc::new(AtomicU64::new(0));
    let (r, s) = (release.clone(), started.clone());
    let _held = callee
        .register("com.busy.one", move |(): ()| {
            let (r, s) = (r.clone(), s.clone());
            async move {
                s.fetch_add(1, Ordering::SeqCst);
                r.notified().await;
                Ok::<_, WampError>("done")
            }
        })
        .option("concurrency", 1)
        .await
        .unwrap();
    let near = c.session(0, Serializer::Json).await;
    let far = c.session(2, Serializer::Cbor).await;
    let running = tokio::spawn({
        let near = near.clone();
        async move { near.call::<String>("com.busy.one", ()).await }
    });
    until("the first call runs", || {
        started.load(Ordering::SeqCst) == 1
    })
    .await;
    // The caller's node knows its own call is in flight; the other caller's node does not,
    // and the callee's node refuses it.
    for s in [&near, &far] {
        let e = s.call::<String>("com.busy.one", ()).await.unwrap_err();
        assert_eq!(
            e.uri(),
            Some("crossbar.error.max_concurrency_reached"),
            "{e}"
        );
    }
    release.notify_one();
    assert_eq!(running.await.unwrap().unwrap(), "done");
    // Free again: a call from the far node runs.
    let again = tokio::spawn({
        let far = far.clone();
        async move { far.call::<String>("com.busy.one", ()).await }
    });
    until("the next call runs", || started.load(Ordering::SeqCst) == 2).await;
    release.notify_one();
    assert_eq!(again.await.unwrap().unwrap(), "done");
}
