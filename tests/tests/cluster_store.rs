//! What the cluster relies on from NATS's key-value store, on the `nats-server` the tests
//! run (Debian's 2.9): compare-and-set `create`, `update` with a revision and
//! `delete_expect_revision`, `entry` after a delete, and a watch that first delivers what
//! is stored and then each change; and nodes started at once all joining.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt;
use tests::Nats;

/// A bucket made as the router makes its own (see `cluster/store.rs`: NATS 2.9 does not
/// answer the account query `create_key_value` makes first).
async fn bucket(nats: &Nats) -> kv::Store {
    let client = async_nats::connect(nats.url.as_str()).await.unwrap();
    let js = jetstream::new(client);
    js.get_or_create_stream(jetstream::stream::Config {
        name: "KV_proof".into(),
        subjects: vec!["$KV.proof.>".into()],
        max_messages_per_subject: 1,
        storage: jetstream::stream::StorageType::Memory,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: jetstream::stream::DiscardPolicy::New,
        ..Default::default()
    })
    .await
    .unwrap();
    js.get_key_value("proof").await.unwrap()
}

#[tokio::test]
async fn compare_and_set_and_watch_behave_as_the_cluster_expects() {
    let nats = Nats::start().await;
    let kv = bucket(&nats).await;

    // create: exactly one winner.
    let r1 = kv.create("k", "a".into()).await.unwrap();
    let again = kv.create("k", "b".into()).await.unwrap_err();
    assert_eq!(again.kind(), kv::CreateErrorKind::AlreadyExists);

    // update: only against the revision last written.
    let r2 = kv.update("k", "c".into(), r1).await.unwrap();
    assert!(r2 > r1);
    let stale = kv.update("k", "d".into(), r1).await.unwrap_err();
    assert_eq!(stale.kind(), kv::UpdateErrorKind::WrongLastRevision);

    // delete_expect_revision: refused for a stale revision, done for the current one.
    assert!(kv.delete_expect_revision("k", Some(r1)).await.is_err());
    kv.delete_expect_revision("k", Some(r2)).await.unwrap();
    let gone = kv.entry("k").await.unwrap();
    assert!(gone.is_none_or(|e| e.operation != kv::Operation::Put));
    assert_eq!(kv.get("k").await.unwrap(), None);

    // A deleted key can be created again, at a new revision.
    let r3 = kv.create("k", "e".into()).await.unwrap();
    assert!(r3 > r2);

    // The watch gives what is stored, then the changes, in revision order.
    kv.put("other", "x".into()).await.unwrap();
    let mut watch = kv.watch_all_from_revision(1).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let e = watch.next().await.unwrap().unwrap();
        seen.push((e.key, e.revision, e.operation));
    }
    kv.delete("other").await.unwrap();
    let deleted = loop {
        let e = watch.next().await.unwrap().unwrap();
        if e.key == "other" && e.operation != kv::Operation::Put {
            break e;
        }
    };
    assert!(seen.iter().all(|(_, r, _)| *r < deleted.revision));
    assert!(
        seen.iter().any(|(k, r, _)| k == "k" && *r == r3),
        "{seen:?}"
    );
}

/// Nodes started at the same moment against a NATS that has no buckets yet race to make
/// them: the ones that lose find them made and join, none gives up.
#[tokio::test]
async fn nodes_started_at_once_all_join() {
    let nats = Nats::start().await;
    for round in 0..6 {
        let cluster = || wamp_router::Cluster::nats(nats.url.clone()).name(format!("race{round}"));
        let started = futures_util::future::join_all(
            (0..3).map(|_| tests::router().cluster(cluster()).start()),
        )
        .await;
        for node in started {
            let node = node.unwrap_or_else(|e| panic!("round {round}: {e}"));
            node.shutdown().await;
        }
    }
}
