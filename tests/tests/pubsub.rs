//! The broker against the real router: subscriptions, publications, options, errors,
//! ordering, cleanup and serializer interop.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use tests::{start_router, RawPeer};
use wamp_runtime::dict;
use wamp_runtime::proto::{code, error, Dict, Id, List, Message, Payload, PayloadValues, Value};
use wamp_runtime::Serializer;

async fn subscribe(p: &mut RawPeer, request: Id, topic: &str, options: Dict) -> Id {
    p.send(&Message::Subscribe {
        request,
        options,
        topic: topic.into(),
    })
    .await;
    match p.recv().await {
        Message::Subscribed {
            request: r,
            subscription,
        } if r == request => subscription,
        other => panic!("expected SUBSCRIBED, got {other:?}"),
    }
}

fn publish(request: Id, topic: &str, options: Dict, payload: Payload) -> Message {
    Message::Publish {
        request,
        options,
        topic: topic.into(),
        payload,
    }
}

fn sample_payload() -> Payload {
    Payload::new(
        vec![
            Value::from("hello"),
            Value::from(42),
            Value::Bytes(vec![0, 1, 2, 255]),
            Value::Float(1.5),
        ],
        dict! { "who" => "alice", "nested" => Value::List(vec![Value::Null, Value::Bool(true)]) },
    )
}

#[tokio::test]
async fn events_reach_subscribers_with_args_and_kwargs_intact_across_serializers() {
    let r = start_router().await;
    let mut publisher = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    let mut subs = Vec::new();
    for ser in Serializer::ALL {
        let mut s = RawPeer::join(&r.url(), ser, "realm1").await;
        let id = subscribe(&mut s, 1, "com.example.news", Dict::new()).await;
        subs.push((s, id));
    }
    // All subscribers of one topic share the subscription ID.
    assert!(subs.windows(2).all(|w| w[0].1 == w[1].1));
    publisher
        .send(&publish(
            9,
            "com.example.news",
            dict! { "acknowledge" => true },
            sample_payload(),
        ))
        .await;
    let Message::Published {
        request: 9,
        publication,
    } = publisher.recv().await
    else {
        panic!("PUBLISHED")
    };
    for (s, sub_id) in &mut subs {
        match s.recv().await {
            Message::Event {
                subscription,
                publication: p,
                payload,
                ..
            } => {
                assert_eq!(subscription, *sub_id);
                assert_eq!(p, publication);
                assert_eq!(payload, sample_payload(), "{}", s.serializer);
            }
            other => panic!("expected EVENT, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn publisher_is_excluded_unless_it_asks_and_no_ack_without_acknowledge() {
    let r = start_router().await;
    let mut p = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    let sub = subscribe(&mut p, 1, "com.t", Dict::new()).await;
    p.send(&publish(
        2,
        "com.t",
        Dict::new(),
        Payload::args(vec![1.into()]),
    ))
    .await;
    p.expect_silence(Duration::from_millis(200)).await;
    p.send(&publish(
        3,
        "com.t",
        dict! { "exclude_me" => false },
        Payload::args(vec![2.into()]),
    ))
    .await;
    match p.recv().await {
        Message::Event {
            subscription,
            payload,
            ..
        } => {
            assert_eq!(subscription, sub);
            assert_eq!(payload.args_values().unwrap(), vec![Value::from(2)]);
        }
        other => panic!("{other:?}"),
    }
    p.expect_silence(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn unsubscribe_and_its_errors() {
    let r = start_router().await;
    let mut s = RawPeer::join(&r.url(), Serializer::Cbor, "realm1").await;
    let mut publ = RawPeer::join(&r.url(), Serializer::Cbor, "realm1").await;
    let id = subscribe(&mut s, 1, "com.t", Dict::new()).await;
    s.send(&Message::Unsubscribe {
        request: 2,
        subscription: id,
    })
    .await;
    assert!(matches!(
        s.recv().await,
        Message::Unsubscribed { request: 2, .. }
    ));
    s.send(&Message::Unsubscribe {
        request: 3,
        subscription: id,
    })
    .await;
    match s.recv().await {
        Message::Error {
            request_type: code::UNSUBSCRIBE,
            request: 3,
            error: e,
            ..
        } => {
            assert_eq!(e, error::NO_SUCH_SUBSCRIPTION)
        }
        other => panic!("{other:?}"),
    }
    publ.send(&publish(1, "com.t", Dict::new(), Payload::empty()))
        .await;
    s.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn invalid_topics_get_invalid_uri() {
    let r = start_router().await;
    let mut p = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    for (i, topic) in ["com..t", "com.t.", "a b", ""].into_iter().enumerate() {
        let req = i as Id + 1;
        p.send(&Message::Subscribe {
            request: req,
            options: Dict::new(),
            topic: topic.into(),
        })
        .await;
        match p.recv().await {
            Message::Error {
                request_type: code::SUBSCRIBE,
                request,
                error: e,
                ..
            } => {
                assert_eq!(
                    (request, e.as_str()),
                    (req, error::INVALID_URI),
                    "{topic:?}"
                )
            }
            other => panic!("{topic:?}: {other:?}"),
        }
        p.send(&publish(
            req,
            topic,
            dict! { "acknowledge" => true },
            Payload::empty(),
        ))
        .await;
        match p.recv().await {
            Message::Error {
                request_type: code::PUBLISH,
                request,
                error: e,
                ..
            } => {
                assert_eq!(
                    (request, e.as_str()),
                    (req, error::INVALID_URI),
                    "{topic:?}"
                )
            }
            other => panic!("{topic:?}: {other:?}"),
        }
    }
    // Without acknowledge, a refused publication is silent.
    p.send(&publish(9, "bad..topic", Dict::new(), Payload::empty()))
        .await;
    p.expect_silence(Duration::from_millis(150)).await;
}

#[tokio::test]
async fn events_from_one_publisher_arrive_in_order() {
    let r = start_router().await;
    let mut s = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    subscribe(&mut s, 1, "com.seq", Dict::new()).await;
    let mut p = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    for i in 0..300 {
        p.send(&publish(
            i + 1,
            "com.seq",
            Dict::new(),
            Payload::args(vec![Value::from(i)]),
        ))
        .await;
    }
    for i in 0..300 {
        match s.recv().await {
            Message::Event { payload, .. } => {
                assert_eq!(payload.args_values().unwrap(), vec![Value::from(i)])
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn pattern_subscriptions_receive_the_concrete_topic() {
    let r = start_router().await;
    let mut s = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    let prefix = subscribe(&mut s, 1, "com.sensor", dict! { "match" => "prefix" }).await;
    let wild = subscribe(&mut s, 2, "com..temp", dict! { "match" => "wildcard" }).await;
    let mut p = RawPeer::join(&r.url(), Serializer::Cbor, "realm1").await;
    p.send(&publish(
        1,
        "com.sensor.temp",
        Dict::new(),
        Payload::args(vec![21.5.into()]),
    ))
    .await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        match s.recv().await {
            Message::Event {
                subscription,
                details,
                ..
            } => {
                assert_eq!(details["topic"], Value::from("com.sensor.temp"));
                seen.push(subscription);
            }
            other => panic!("{other:?}"),
        }
    }
    seen.sort();
    let mut want = vec![prefix, wild];
    want.sort();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn black_and_white_listing_by_session() {
    let r = start_router().await;
    let mut a = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    let mut b = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    subscribe(&mut a, 1, "com.t", Dict::new()).await;
    subscribe(&mut b, 1, "com.t", Dict::new()).await;
    let mut p = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    let exclude = Value::List(vec![Value::from(a.session)]);
    p.send(&publish(
        1,
        "com.t",
        dict! { "exclude" => exclude },
        Payload::empty(),
    ))
    .await;
    assert!(matches!(b.recv().await, Message::Event { .. }));
    a.expect_silence(Duration::from_millis(150)).await;
    let eligible = Value::List(vec![Value::from(a.session)]);
    p.send(&publish(
        2,
        "com.t",
        dict! { "eligible" => eligible },
        Payload::empty(),
    ))
    .await;
    assert!(matches!(a.recv().await, Message::Event { .. }));
    b.expect_silence(Duration::from_millis(150)).await;
}

#[tokio::test]
async fn a_leaving_subscriber_is_forgotten() {
    let r = start_router().await;
    let mut s = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    let first = subscribe(&mut s, 1, "com.t", Dict::new()).await;
    s.drop_connection().await;
    let mut p = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    // Publishing to the topic of a vanished subscriber works and hurts nobody.
    p.send(&publish(
        1,
        "com.t",
        dict! { "acknowledge" => true },
        Payload::empty(),
    ))
    .await;
    assert!(matches!(p.recv().await, Message::Published { .. }));
    // The subscription was removed with its last subscriber: a new one gets a new ID.
    let mut s2 = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    let second = subscribe(&mut s2, 1, "com.t", Dict::new()).await;
    assert_ne!(first, second);
}

#[tokio::test]
async fn binary_payloads_cross_serializers() {
    let r = start_router().await;
    let mut json_sub = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    subscribe(&mut json_sub, 1, "com.bin", Dict::new()).await;
    let mut cbor_pub = RawPeer::join(&r.url(), Serializer::Cbor, "realm1").await;
    let blob: List = vec![Value::Bytes((0..=255).collect())];
    cbor_pub
        .send(&publish(
            1,
            "com.bin",
            Dict::new(),
            Payload::args(blob.clone()),
        ))
        .await;
    let frame = json_sub.recv_frame().await.expect("event");
    let text = std::str::from_utf8(&frame).expect("JSON text");
    assert!(
        text.contains("\"\\u0000AAECAwQF"),
        "binary as NUL-prefixed base64: {text}"
    );
    let msg = Serializer::Json.decode(&frame).expect("decodes");
    let Message::Event { payload, .. } = msg else {
        panic!()
    };
    assert_eq!(
        payload.to_values().unwrap(),
        PayloadValues::Args {
            args: blob,
            kwargs: None
        }
    );
}
