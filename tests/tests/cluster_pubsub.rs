//! Publish and subscribe across the nodes of a cluster: a real `nats-server` and three
//! router nodes, subscribers with JSON on one node and MessagePack on another, the
//! publisher on a third.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{next_event, Three};
use wamp_runtime::{MatchPolicy, Serializer};

/// The next event on `sub` is `marker`.
async fn next_is(sub: &mut wamp_runtime::Subscription<(String,)>, marker: &str) {
    assert_eq!(next_event(sub).await.data.0, marker);
}

#[tokio::test]
async fn events_reach_subscribers_on_other_nodes_in_publish_order() {
    let c = Three::start().await;
    let publisher = c.session(0, Serializer::Json).await;
    let json = c.session(1, Serializer::Json).await;
    let msgpack = c.session(2, Serializer::MsgPack).await;
    let mut exact = json.subscribe::<(String,)>("com.shop.t").await.unwrap();
    let mut prefix = msgpack
        .subscribe::<(String,)>("com.shop")
        .match_policy(MatchPolicy::Prefix)
        .await
        .unwrap();
    let mut same = msgpack.subscribe::<(String,)>("com.shop.t").await.unwrap();
    assert_eq!(
        exact.id(),
        same.id(),
        "one subscription, one ID, on every node"
    );

    // Subscribed on other nodes, then published here: none of it is lost, and one
    // publisher's events keep their order across topics.
    for i in 0..50 {
        let topic = if i % 2 == 0 {
            "com.shop.t"
        } else {
            "com.shopping"
        };
        publisher
            .publish(topic, (format!("{i}"),))
            .acknowledge()
            .await
            .unwrap();
    }
    for i in (0..50).step_by(2) {
        let e = next_event(&mut exact).await;
        assert_eq!(e.data.0, i.to_string());
        assert_eq!(e.details.topic, None);
        assert_eq!(next_event(&mut same).await.data.0, i.to_string());
    }
    for i in 0..50 {
        let e = next_event(&mut prefix).await;
        assert_eq!(e.data.0, i.to_string(), "prefix events in publish order");
        let topic = if i % 2 == 0 {
            "com.shop.t"
        } else {
            "com.shopping"
        };
        assert_eq!(e.details.topic.as_deref(), Some(topic));
    }
}

#[tokio::test]
async fn exclusion_eligibility_and_disclosure_apply_on_the_receiving_node() {
    let c = Three::start().await;
    let publisher = c.session(0, Serializer::Json).await;
    let b = c.session(1, Serializer::Json).await;
    let other = c.session(2, Serializer::MsgPack).await;
    let mut on_b = b.subscribe::<(String,)>("com.shop.news").await.unwrap();
    let mut on_c = other.subscribe::<(String,)>("com.shop.news").await.unwrap();
    let mut wild = other
        .subscribe::<(String,)>("com..news")
        .match_policy(MatchPolicy::Wildcard)
        .await
        .unwrap();
    let send = |text: &'static str| publisher.publish("com.shop.news", (text,));

    send("not b").exclude([b.id()]).await.unwrap();
    send("only b").eligible([b.id()]).await.unwrap();
    send("nobody")
        .exclude_authrole(["anonymous"])
        .await
        .unwrap();
    send("everybody").disclose_me().acknowledge().await.unwrap();

    next_is(&mut on_b, "only b").await;
    let disclosed = next_event(&mut on_b).await;
    assert_eq!(disclosed.data.0, "everybody");
    assert_eq!(disclosed.details.publisher, Some(publisher.id()));
    assert!(disclosed.details.details.contains_key("publisher_authrole"));
    // Events of one publisher arrive in order: what came between was not sent.
    for sub in [&mut on_c, &mut wild] {
        next_is(sub, "not b").await;
        next_is(sub, "everybody").await;
    }
}

#[tokio::test]
async fn a_node_that_unsubscribes_and_subscribes_again_still_receives() {
    let c = Three::start().await;
    let publisher = c.session(0, Serializer::Json).await;
    let b = c.session(1, Serializer::Json).await;
    let sub = b.subscribe::<(String,)>("com.shop.again").await.unwrap();
    sub.unsubscribe().await.unwrap();
    let mut sub = b.subscribe::<(String,)>("com.shop.again").await.unwrap();
    publisher
        .publish("com.shop.again", ("back",))
        .acknowledge()
        .await
        .unwrap();
    next_is(&mut sub, "back").await;

    // A second subscriber on the same node, then the first leaves: the node keeps
    // receiving for the second.
    let b2 = c.session(1, Serializer::Cbor).await;
    let mut sub2 = b2.subscribe::<(String,)>("com.shop.again").await.unwrap();
    sub.unsubscribe().await.unwrap();
    publisher
        .publish("com.shop.again", ("still",))
        .acknowledge()
        .await
        .unwrap();
    next_is(&mut sub2, "still").await;
}

#[tokio::test]
async fn autobahn_on_a_third_node_takes_and_sends_events() {
    let c = Three::start().await;
    let publisher = c.session(0, Serializer::Json).await;
    let listener = c.session(1, Serializer::MsgPack).await;
    let mut from_python = listener
        .subscribe::<(String,)>("com.cluster.py")
        .await
        .unwrap();
    for ser in ["json", "msgpack", "cbor"] {
        let url = c.nodes[2].url();
        let mut py = tests::PythonPeer::start("autobahn_cluster.py", &[&url, "realm1", ser, "40"]);
        py.line_starting("READY").await;
        for i in 0..40u32 {
            let topic = if i % 2 == 0 {
                "com.cluster.news"
            } else {
                "com.cluster.other"
            };
            publisher.publish(topic, (i,)).acknowledge().await.unwrap();
        }
        py.line_starting("ALL OK").await;
        assert_eq!(next_event(&mut from_python).await.data.0, "from python");
    }
}

#[tokio::test]
async fn session_ids_come_from_each_nodes_own_share() {
    let c = Three::start().await;
    let mut shares = Vec::new();
    for node in 0..3 {
        let mut residues = Vec::new();
        for ser in Serializer::ALL {
            let s = c.session(node, ser).await;
            residues.push(s.id() % 1024);
        }
        residues.dedup();
        assert_eq!(residues.len(), 1, "one share per node");
        shares.push(residues[0]);
    }
    shares.sort_unstable();
    shares.dedup();
    assert_eq!(shares.len(), 3, "no two nodes share session IDs");
}

#[tokio::test]
async fn messages_too_large_for_nats_are_refused_at_the_edge() {
    let c = Three::start().await;
    let publisher = c.session(0, Serializer::MsgPack).await;
    let far = c.session(1, Serializer::Json).await;
    let mut sub = far.subscribe::<(String,)>("com.big").await.unwrap();
    // Under NATS's 1 MiB (less the envelope's room): it crosses whole.
    let big = "x".repeat(900 * 1024);
    publisher
        .publish("com.big", (big.clone(),))
        .acknowledge()
        .await
        .unwrap();
    assert_eq!(next_event(&mut sub).await.data.0.len(), big.len());
    // Over it: refused where it arrives, the publisher's session ended, nothing lost
    // silently between the nodes.
    let huge = "x".repeat(1100 * 1024);
    let refused = publisher.publish("com.big", (huge,)).acknowledge().await;
    assert!(refused.is_err(), "{refused:?}");
    tests::until("the oversize publisher is closed", || publisher.is_closed()).await;
}

#[tokio::test]
async fn the_metrics_count_the_nodes_and_the_envelopes() {
    let nats = tests::Nats::start().await;
    let watched = nats.node_with_metrics().await;
    let other = nats.node().await;
    let far = tests::join(wamp_runtime::Endpoint::from(other.url()), Serializer::Json).await;
    let mut sub = far.subscribe::<(String,)>("com.metrics").await.unwrap();
    let here = tests::join(watched.endpoint(), Serializer::Json).await;
    here.publish("com.metrics", ("x",))
        .acknowledge()
        .await
        .unwrap();
    next_event(&mut sub).await;
    let addr = watched.metrics_addr().unwrap();
    let text = tests::http_get(addr, "/metrics").await;
    assert!(text.contains("wamp_cluster_nodes 2"), "{text}");
    assert!(text.contains("wamp_cluster_connected 1"), "{text}");
    let sent = tests::metric(&text, "wamp_cluster_envelopes_sent_total");
    assert!(sent.is_some_and(|n| n >= 1), "{text}");
}

#[tokio::test]
async fn retained_events_reach_late_subscribers_on_every_node() {
    let nats = tests::Nats::start().await;
    let a = nats.node().await;
    let publisher = tests::join(wamp_runtime::Endpoint::from(a.url()), Serializer::Json).await;
    publisher
        .publish("com.ret.state", ("on",))
        .retain()
        .acknowledge()
        .await
        .unwrap();
    // A node that starts after the publication, and a subscriber there that asks.
    let late = nats.node().await;
    let s = tests::join(
        wamp_runtime::Endpoint::from(late.url()),
        Serializer::MsgPack,
    )
    .await;
    let mut sub = s
        .subscribe::<(String,)>("com.ret.state")
        .get_retained()
        .await
        .unwrap();
    let e = next_event(&mut sub).await;
    assert_eq!(e.data.0, "on");
    assert!(e.details.retained);
    // A newer one replaces it everywhere.
    publisher
        .publish("com.ret.state", ("off",))
        .retain()
        .acknowledge()
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut sub).await.data.0,
        "off",
        "live, as any event"
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let s2 = tests::join(wamp_runtime::Endpoint::from(late.url()), Serializer::Cbor).await;
        let mut again = s2
            .subscribe::<(String,)>("com.ret.state")
            .get_retained()
            .await
            .unwrap();
        if next_event(&mut again).await.data.0 == "off" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the newer retained event"
        );
    }
}

#[tokio::test]
async fn a_testament_reaches_subscribers_on_other_nodes() {
    let c = Three::start().await;
    let far = c.session(1, Serializer::MsgPack).await;
    let mut heard = far.subscribe::<(String,)>("com.will.gone").await.unwrap();
    let leaver = c.session(0, Serializer::Json).await;
    leaver
        .publish("com.will.gone", ("node 0",))
        .testament(wamp_runtime::TestamentScope::Destroyed)
        .await
        .unwrap();
    drop(leaver);
    next_is(&mut heard, "node 0").await;
}

#[tokio::test]
async fn every_node_keeps_the_history_of_events_published_on_any() {
    use wamp_router::EventHistory;
    let nats = tests::Nats::start().await;
    let node = || {
        tests::router()
            .cluster(nats.cluster())
            .event_history("realm1", EventHistory::new("com.log", MatchPolicy::Exact))
            .start()
    };
    let (a, b) = (node().await.unwrap(), node().await.unwrap());
    let publisher = tests::join(a.endpoint(), Serializer::Json).await;
    let reader = tests::join(wamp_runtime::Endpoint::from(b.url()), Serializer::MsgPack).await;
    let history = || reader.topic_history::<(u64,)>("com.log", MatchPolicy::Exact);
    // Until node b's history is in the subscription's record, node a does not send it
    // the events: publish until one arrives.
    let mut n = 0u64;
    loop {
        n += 1;
        publisher
            .publish("com.log", (n,))
            .acknowledge()
            .await
            .unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_millis(200), async {
            loop {
                if let Ok(events) = history().await {
                    if events.iter().any(|e| e.data.0 == n) {
                        return;
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
        .await;
        if got.is_ok() {
            break;
        }
        assert!(n < 100, "node b never got an event of node a");
    }
    for i in 1..=3 {
        publisher
            .publish("com.log", (n + i,))
            .acknowledge()
            .await
            .unwrap();
    }
    // They come in publish order, the last three after the one seen.
    let want: Vec<u64> = (n..=n + 3).collect();
    let deadline = tokio::time::Instant::now() + tests::WAIT;
    loop {
        let got: Vec<u64> = match history().await {
            Ok(all) => all.iter().map(|e| e.data.0).filter(|v| *v >= n).collect(),
            Err(_) => Vec::new(),
        };
        if got == want {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node b holds {got:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    drop(a);
}

/// A burst of events from another node reaches a subscriber whole: the receiving node
/// hands a batch of envelopes to its subscribers' queues only as fast as their writers
/// get to run (a batch of hundreds of events went into a queue of 200 in one go, and
/// what did not fit was dropped as for a slow consumer).
#[tokio::test]
async fn a_burst_from_another_node_is_not_dropped_on_the_way_out() {
    let nats = tests::Nats::start().await;
    let node = || {
        tests::router()
            .outbound_queue(200)
            .cluster(nats.cluster())
            .start()
    };
    let (a, b) = (node().await.unwrap(), node().await.unwrap());
    let subscriber = tests::join(b.endpoint(), Serializer::MsgPack).await;
    let mut sub = subscriber
        .subscribe::<(u64,)>("com.burst")
        .buffer(4096)
        .await
        .unwrap();
    let publisher = tests::join(a.endpoint(), Serializer::MsgPack).await;
    const N: u64 = 2000;
    for i in 0..N {
        publisher.publish("com.burst", (i,)).await.unwrap();
    }
    for i in 0..N {
        assert_eq!(next_event(&mut sub).await.data.0, i, "event {i} of {N}");
    }
}
