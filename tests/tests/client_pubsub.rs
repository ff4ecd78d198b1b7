//! Publish and subscribe through the client runtime against the bundled router: events over
//! every transport and serializer, options, patterns, shared subscriptions, slow
//! subscribers, disclosure and retained events.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tests::{endpoints, join, next_event, router, start_router, until, WAIT};
use wamp_runtime::proto::error;
use wamp_runtime::{CallDetails, Endpoint, Error, MatchPolicy, Serializer, WampError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Greeting {
    name: String,
    times: u32,
}

#[tokio::test]
async fn events_flow_over_every_transport_and_serializer() {
    let r = start_router().await;
    let eps = endpoints(&r);
    let mut subs = Vec::new();
    for (what, ep, ser) in &eps {
        let s = join(ep.clone(), *ser).await;
        let sub = s
            .subscribe::<(String, i64)>("com.example.news")
            .await
            .unwrap();
        subs.push((what.clone(), s, sub));
    }
    for (what, ep, ser) in &eps {
        let publisher = join(ep.clone(), *ser).await;
        publisher
            .publish("com.example.news", (what.as_str(), 42))
            .acknowledge()
            .await
            .unwrap();
        for (sub_what, _, sub) in &mut subs {
            let e = next_event(sub).await;
            assert_eq!(e.data, (what.clone(), 42), "{what} → {sub_what}");
            assert!(e.details.publication > 0);
            assert_eq!(e.details.topic, None);
        }
    }
}

#[tokio::test]
async fn publishing_options_and_errors() {
    let r = start_router().await;
    let a = join(r.endpoint(), Serializer::Json).await;
    let b = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let mut a_sub = a.subscribe::<Greeting>("com.example.greet").await.unwrap();
    let mut b_sub = b.subscribe::<Greeting>("com.example.greet").await.unwrap();
    let g = Greeting {
        name: "n".into(),
        times: 3,
    };
    // The publisher is excluded by default, included on request.
    a.publish("com.example.greet", g.clone()).await.unwrap();
    a.publish("com.example.greet", g.clone())
        .exclude_me(false)
        .option("disclose_me", true)
        .await
        .unwrap();
    assert_eq!(next_event(&mut b_sub).await.data, g);
    let second = next_event(&mut b_sub).await;
    assert_eq!(second.details.publisher, Some(a.id()));
    assert_eq!(
        next_event(&mut a_sub).await.data,
        g,
        "only the second reaches a"
    );
    // Black- and whitelisting.
    a.publish("com.example.greet", g.clone())
        .exclude_me(false)
        .exclude([b.id()])
        .await
        .unwrap();
    a.publish("com.example.greet", g.clone())
        .exclude_me(false)
        .eligible([b.id()])
        .acknowledge()
        .await
        .unwrap();
    assert_eq!(next_event(&mut a_sub).await.data, g);
    assert_eq!(next_event(&mut b_sub).await.data, g);
    // The router's errors come back on acknowledged publications.
    let e = a
        .publish("wamp.reserved", ())
        .acknowledge()
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::INVALID_URI));
    // An event that does not fit the subscriber's type is an error item; the stream goes on.
    a.publish("com.example.greet", ("not", "a", "greeting"))
        .await
        .unwrap();
    a.publish("com.example.greet", g.clone()).await.unwrap();
    let bad = tokio::time::timeout(WAIT, b_sub.next())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(bad, Err(Error::Deserialize(_))), "{bad:?}");
    assert_eq!(next_event(&mut b_sub).await.data, g);
}

#[tokio::test]
async fn pattern_subscriptions_say_which_topic() {
    let r = start_router().await;
    let s = join(r.endpoint(), Serializer::Json).await;
    let p = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    let mut prefix = s
        .subscribe::<(i64,)>("com.example.sensor")
        .match_policy(MatchPolicy::Prefix)
        .await
        .unwrap();
    let mut wild = s
        .subscribe::<(i64,)>("com.example..temperature")
        .match_policy(MatchPolicy::Wildcard)
        .await
        .unwrap();
    p.publish("com.example.sensor.kitchen", (1,)).await.unwrap();
    p.publish("com.example.kitchen.temperature", (2,))
        .await
        .unwrap();
    let e = next_event(&mut prefix).await;
    assert_eq!(e.data, (1,));
    assert_eq!(
        e.details.topic.as_deref(),
        Some("com.example.sensor.kitchen")
    );
    let e = next_event(&mut wild).await;
    assert_eq!(e.data, (2,));
    assert_eq!(
        e.details.topic.as_deref(),
        Some("com.example.kitchen.temperature")
    );
}

#[tokio::test]
async fn local_subscriptions_to_one_topic_share_the_router_subscription() {
    let r = start_router().await;
    let s = join(Endpoint::from(r.url()), Serializer::Json).await;
    let p = join(r.endpoint(), Serializer::Json).await;
    let mut one = s.subscribe::<(i64,)>("com.example.t").await.unwrap();
    let two = s.subscribe::<(i64,)>("com.example.t").await.unwrap();
    assert_eq!(one.id(), two.id());
    p.publish("com.example.t", (1,))
        .acknowledge()
        .await
        .unwrap();
    let mut two = two;
    assert_eq!(next_event(&mut one).await.data, (1,));
    assert_eq!(next_event(&mut two).await.data, (1,));
    // Dropping one keeps the other; unsubscribing the last stops the events.
    drop(two);
    p.publish("com.example.t", (2,))
        .acknowledge()
        .await
        .unwrap();
    assert_eq!(next_event(&mut one).await.data, (2,));
    one.unsubscribe().await.unwrap();
    let mut probe = p.subscribe::<(i64,)>("com.example.t").await.unwrap();
    s.publish("com.example.t", (3,))
        .acknowledge()
        .await
        .unwrap();
    assert_eq!(next_event(&mut probe).await.data, (3,));
}

#[tokio::test]
async fn a_slow_subscriber_loses_counted_events_and_nothing_else() {
    let r = start_router().await;
    let s = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let p = join(r.endpoint(), Serializer::Json).await;
    let mut slow = s
        .subscribe::<(u32,)>("com.example.flood")
        .buffer(4)
        .await
        .unwrap();
    for i in 0..50u32 {
        p.publish("com.example.flood", (i,))
            .acknowledge()
            .await
            .unwrap();
    }
    // Calls on the same session are not held up by the full buffer.
    let _echo = p
        .register("com.example.ping", |(): ()| async {
            Ok::<_, WampError>("pong")
        })
        .await
        .unwrap();
    let pong: String = s.call("com.example.ping", ()).await.unwrap();
    assert_eq!(pong, "pong");
    until("all 50 events arrived or were dropped", || {
        slow.dropped() == 46
    })
    .await;
    for i in 0..4u32 {
        assert_eq!(
            next_event(&mut slow).await.data,
            (i,),
            "the first four, in order"
        );
    }
}

#[tokio::test]
async fn identity_disclosure_is_the_realms_policy_or_the_peers_request() {
    for always in [true, false] {
        let r = router()
            .disclose_caller(always)
            .disclose_publisher(always)
            .start()
            .await
            .unwrap();
        let callee = join(r.endpoint(), Serializer::Json).await;
        let caller = join(Endpoint::from(r.url()), Serializer::Json).await;
        let _who = callee
            .register("com.example.who", |(): (), d: CallDetails| async move {
                Ok::<_, WampError>(d.caller)
            })
            .await
            .unwrap();
        let mut sub = callee.subscribe::<()>("com.example.t").await.unwrap();

        let who: Option<u64> = caller.call("com.example.who", ()).await.unwrap();
        assert_eq!(who, always.then_some(caller.id()), "always = {always}");
        let who: Option<u64> = caller
            .call("com.example.who", ())
            .option("disclose_me", true)
            .await
            .unwrap();
        assert_eq!(who, Some(caller.id()), "disclose_me is honored");

        caller
            .publish("com.example.t", ())
            .acknowledge()
            .await
            .unwrap();
        assert_eq!(
            next_event(&mut sub).await.details.publisher,
            always.then_some(caller.id())
        );
        caller
            .publish("com.example.t", ())
            .option("disclose_me", true)
            .acknowledge()
            .await
            .unwrap();
        assert_eq!(
            next_event(&mut sub).await.details.publisher,
            Some(caller.id())
        );
    }
}

#[tokio::test]
async fn retained_events_reach_late_subscribers_that_ask() {
    let r = start_router().await;
    let p = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    assert!(p.router_supports("broker", "event_retention"));
    p.publish("com.example.state.kitchen", ("on",))
        .retain()
        .acknowledge()
        .await
        .unwrap();
    p.publish("com.example.state.kitchen", ("off",))
        .retain()
        .acknowledge()
        .await
        .unwrap();
    p.publish("com.example.state.bath", ("on",))
        .retain()
        .acknowledge()
        .await
        .unwrap();
    p.publish("com.example.state.hall", ("not kept",))
        .acknowledge()
        .await
        .unwrap();

    for (ep, ser) in [
        (r.endpoint(), Serializer::Json),
        (Endpoint::from(r.url()), Serializer::MsgPack),
    ] {
        let s = join(ep, ser).await;
        // An exact subscription gets the last retained event of its topic.
        let mut kitchen = s
            .subscribe::<(String,)>("com.example.state.kitchen")
            .get_retained()
            .await
            .unwrap();
        let e = next_event(&mut kitchen).await;
        assert_eq!(e.data.0, "off");
        assert!(e.details.retained);
        // A pattern subscription gets every matching topic's.
        let mut all = s
            .subscribe::<(String,)>("com.example.state")
            .match_policy(MatchPolicy::Prefix)
            .get_retained()
            .await
            .unwrap();
        let mut got = [next_event(&mut all).await, next_event(&mut all).await];
        got.sort_by(|a, b| a.details.topic.cmp(&b.details.topic));
        assert_eq!(
            got[0].details.topic.as_deref(),
            Some("com.example.state.bath")
        );
        assert_eq!(got[1].data.0, "off");
        // Without asking, nothing is delivered until the next publication.
        let mut plain = s
            .subscribe::<(String,)>("com.example.state.bath")
            .await
            .unwrap();
        p.publish("com.example.state.bath", ("live",))
            .await
            .unwrap();
        let e = next_event(&mut plain).await;
        assert_eq!(e.data.0, "live");
        assert!(!e.details.retained);
    }
}
