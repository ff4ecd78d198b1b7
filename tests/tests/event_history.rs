//! The event history on the bundled router (`wamp.subscription.get_events`): configured
//! topics have their subscription from the start, events are kept within their limit,
//! read back with the spec's bounds and order, filtered for who asks, counted in the
//! metrics; typed access through the client. Autobahn|Python's side is in
//! `crossbar_parity.rs`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use tests::{join, router};
use wamp_router::{Action, EventHistory, Permission};
use wamp_runtime::proto::error;
use wamp_runtime::{Dict, Endpoint, Id, MatchPolicy, Serializer, Session, Value};

async fn started() -> wamp_router::RouterHandle {
    router()
        .event_history(
            "realm1",
            EventHistory::new("com.log", MatchPolicy::Exact).limit(3),
        )
        .event_history(
            "realm1",
            EventHistory::new("com.feed.", MatchPolicy::Prefix),
        )
        .metrics("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .unwrap()
}

/// The subscription the router holds for `(topic, policy)`.
async fn lookup(s: &Session, topic: &str, policy: MatchPolicy) -> Option<Id> {
    let mut options = Dict::new();
    options.insert("match".into(), Value::Str(policy.as_str().into()));
    s.call("wamp.subscription.lookup", (topic, options))
        .await
        .unwrap()
}

#[tokio::test]
async fn events_are_kept_within_the_limit_and_read_back_in_order() {
    let r = started().await;
    let s = join(r.endpoint(), Serializer::Json).await;
    // The subscription exists before anyone subscribes, and counts no subscriber.
    let log = lookup(&s, "com.log", MatchPolicy::Exact)
        .await
        .expect("held");
    let count: u64 = s
        .call("wamp.subscription.count_subscribers", (log,))
        .await
        .unwrap();
    assert_eq!(count, 0);
    let before = SystemTime::now() - Duration::from_secs(1);
    let mut ids = Vec::new();
    for i in 0..5u64 {
        s.publish("com.log", (i,))
            .kwargs(serde_json::json!({"n": i}))
            .acknowledge()
            .await
            .unwrap();
    }
    // Raw: the spec's shape.
    let events: Vec<Value> = s
        .call("wamp.subscription.get_events", (log,))
        .await
        .unwrap();
    assert_eq!(events.len(), 3, "the limit keeps the last 3");
    for (e, n) in events.iter().zip(2u64..) {
        let d = e.as_dict().unwrap();
        assert_eq!(d.get("subscription").and_then(Value::as_u64), Some(log));
        assert_eq!(d.get("args"), Some(&Value::List(vec![Value::from(n)])));
        assert_eq!(
            d.get("kwargs")
                .and_then(|k| k.as_dict()?.get("n")?.as_u64()),
            Some(n)
        );
        assert!(d
            .get("timestamp")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with('Z')));
        assert!(d.get("details").is_some_and(|v| v.as_dict().is_some()));
        ids.push(d.get("publication").and_then(Value::as_u64).unwrap());
    }
    // Typed, with the bounds.
    let all = s.event_history::<(u64,)>(log).await.unwrap();
    assert_eq!(all.iter().map(|e| e.data.0).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(all[0].topic, "com.log");
    let newest = s
        .event_history::<(u64,)>(log)
        .reverse()
        .limit(2)
        .await
        .unwrap();
    assert_eq!(newest.iter().map(|e| e.data.0).collect::<Vec<_>>(), [4, 3]);
    let page = s
        .event_history::<(u64,)>(log)
        .after_publication(ids[0])
        .await
        .unwrap();
    assert_eq!(page.iter().map(|e| e.data.0).collect::<Vec<_>>(), [3, 4]);
    let back = s
        .event_history::<(u64,)>(log)
        .reverse()
        .before_publication(ids[2])
        .await
        .unwrap();
    assert_eq!(back.iter().map(|e| e.data.0).collect::<Vec<_>>(), [3, 2]);
    let timed = s
        .event_history::<(u64,)>(log)
        .from_time(before)
        .until_time(SystemTime::now() + Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(timed.len(), 3);
    let none = s
        .event_history::<(u64,)>(log)
        .after_time(SystemTime::now() + Duration::from_secs(60))
        .await
        .unwrap();
    assert!(none.is_empty());

    // Metrics: what is held, what was let go.
    let text = tests::http_get(r.metrics_addr().unwrap(), "/metrics").await;
    assert!(
        text.contains("wamp_event_history_events{realm=\"realm1\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("wamp_event_history_evicted_total 2"),
        "{text}"
    );
}

#[tokio::test]
async fn a_pattern_history_filters_by_topic_and_keeps_no_session_lists() {
    let r = started().await;
    let s = join(r.endpoint(), Serializer::MsgPack).await;
    let other = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    let mut live = other
        .subscribe::<(String,)>("com.feed.")
        .match_policy(MatchPolicy::Prefix)
        .await
        .unwrap();
    for (topic, text) in [
        ("com.feed.a", "a1"),
        ("com.feed.b", "b1"),
        ("com.feed.a", "a2"),
    ] {
        s.publish(topic, (text,)).acknowledge().await.unwrap();
    }
    // Sent to one session by ID: delivered, never stored.
    s.publish("com.feed.a", ("secret",))
        .eligible([other.id()])
        .acknowledge()
        .await
        .unwrap();
    for _ in 0..4 {
        tests::next_event(&mut live).await;
    }
    let all = live.history().await.unwrap();
    assert_eq!(
        all.iter()
            .map(|e| (e.topic.as_str(), e.data.0.as_str()))
            .collect::<Vec<_>>(),
        [
            ("com.feed.a", "a1"),
            ("com.feed.b", "b1"),
            ("com.feed.a", "a2")
        ]
    );
    assert_eq!(all[1].details.topic.as_deref(), Some("com.feed.b"));
    let only_a = live.history().topic("com.feed.a").await.unwrap();
    assert_eq!(only_a.len(), 2);
    // The same, looked up by topic, from a session not subscribed.
    let looked = s
        .topic_history::<(String,)>("com.feed.", MatchPolicy::Prefix)
        .reverse()
        .limit(1)
        .await
        .unwrap();
    assert_eq!(looked[0].data.0, "a2");
    // The router's own subscriber is no session.
    let subscribers: Vec<Id> = s
        .call("wamp.subscription.list_subscribers", (live.id(),))
        .await
        .unwrap();
    assert_eq!(subscribers, [other.id()]);
}

#[tokio::test]
async fn bad_queries_get_an_error() {
    let r = router()
        .event_history("realm1", EventHistory::new("com.log", MatchPolicy::Exact))
        .event_history(
            "realm1",
            EventHistory::new("com.hidden", MatchPolicy::Exact),
        )
        .role(
            "realm1",
            "anonymous",
            vec![
                Permission::all("com.", MatchPolicy::Prefix),
                Permission::new("com.hidden", MatchPolicy::Exact).allow(Action::Publish),
                Permission::new("wamp.", MatchPolicy::Prefix).allow(Action::Call),
            ],
        )
        .start()
        .await
        .unwrap();
    let s = join(r.endpoint(), Serializer::Json).await;
    let log = lookup(&s, "com.log", MatchPolicy::Exact).await.unwrap();
    let hidden = lookup(&s, "com.hidden", MatchPolicy::Exact).await.unwrap();
    let get = |args: Vec<Value>, kwargs: serde_json::Value| {
        let s = s.clone();
        async move {
            s.call::<Value>("wamp.subscription.get_events", args)
                .kwargs(kwargs)
                .await
                .unwrap_err()
        }
    };
    let id = |n: Id| Value::from(n);
    let cases = [
        (vec![], serde_json::json!({}), error::INVALID_ARGUMENT),
        (
            vec![id(424242)],
            serde_json::json!({}),
            error::NO_SUCH_SUBSCRIPTION,
        ),
        (
            vec![id(log)],
            serde_json::json!({"limit": 0}),
            error::INVALID_ARGUMENT,
        ),
        (
            vec![id(log)],
            serde_json::json!({"from_time": "soon"}),
            error::INVALID_ARGUMENT,
        ),
        (
            vec![id(log)],
            serde_json::json!({"colour": "red"}),
            error::INVALID_ARGUMENT,
        ),
        (
            vec![id(log)],
            serde_json::json!({"after_publication": 7}),
            error::INVALID_ARGUMENT,
        ),
        (
            vec![id(hidden)],
            serde_json::json!({}),
            error::NOT_AUTHORIZED,
        ),
    ];
    for (args, kwargs, uri) in cases {
        let e = get(args.clone(), kwargs.clone()).await;
        assert_eq!(e.uri(), Some(uri), "{args:?} {kwargs}: {e}");
    }
    // A subscription whose events are not kept.
    let plain = s.subscribe::<()>("com.plain").await.unwrap();
    let e = get(vec![id(plain.id())], serde_json::json!({})).await;
    assert_eq!(e.uri(), Some(error::INVALID_ARGUMENT), "{e}");
}

#[tokio::test]
async fn the_router_announces_event_history() {
    let r = started().await;
    let s = join(r.endpoint(), Serializer::Json).await;
    let features = s.router_roles().unwrap();
    let broker = features
        .get("broker")
        .and_then(|b| b.as_dict()?.get("features")?.as_dict().cloned())
        .unwrap();
    assert_eq!(broker.get("event_history"), Some(&Value::Bool(true)));
}
