//! Slow receivers against the real router: a subscriber that stops reading loses events
//! (counted) without stalling anyone; a callee that stops reading is disconnected, and every
//! call it had in flight fails with an error rather than hanging.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;

use tests::{router, RawPeer};
use wamp_runtime::dict;
use wamp_runtime::proto::{code, error, Dict, Message, Payload, Value};
use wamp_runtime::Serializer;

const BIG: usize = 64 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_loses_events_but_stalls_nobody() {
    let r = router().outbound_queue(8).start().await.expect("starts");
    let mut sleeper = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    sleeper
        .send(&Message::Subscribe {
            request: 1,
            options: Dict::new(),
            topic: "com.flood".into(),
        })
        .await;
    assert!(matches!(sleeper.recv().await, Message::Subscribed { .. }));
    // From here on the sleeper reads nothing.

    let mut publisher = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    let blob = Payload::args(vec![Value::Bytes(vec![0x5a; BIG])]);
    for i in 0..600 {
        publisher
            .send(&Message::Publish {
                request: i + 1,
                options: Dict::new(),
                topic: "com.flood".into(),
                payload: blob.clone(),
            })
            .await;
    }
    publisher
        .send(&Message::Publish {
            request: 1000,
            options: dict! { "acknowledge" => true },
            topic: "com.flood".into(),
            payload: Payload::empty(),
        })
        .await;
    assert!(matches!(
        publisher.recv().await,
        Message::Published { request: 1000, .. }
    ));
    assert!(
        r.stats().dropped_events > 0,
        "events beyond the queue limit are counted"
    );
    assert_eq!(
        r.stats().slow_disconnects,
        0,
        "a slow subscriber is not disconnected"
    );
    assert_eq!(r.session_count("realm1"), 2);

    // Everyone else is served as usual.
    let mut other = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    other
        .send(&Message::Register {
            request: 1,
            options: Dict::new(),
            procedure: "com.p".into(),
        })
        .await;
    assert!(matches!(other.recv().await, Message::Registered { .. }));
    drop(sleeper);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callee_that_stops_reading_is_disconnected_and_its_callers_hear_of_it() {
    let r = router()
        .outbound_queue(2)
        .write_timeout(Duration::from_millis(300))
        .start()
        .await
        .expect("starts");
    let mut callee = RawPeer::join(&r.url(), Serializer::Cbor, "realm1").await;
    callee
        .send(&Message::Register {
            request: 1,
            options: Dict::new(),
            procedure: "com.stuck".into(),
        })
        .await;
    assert!(matches!(callee.recv().await, Message::Registered { .. }));
    // From here on the callee reads nothing.

    let mut caller = RawPeer::join(&r.url(), Serializer::Cbor, "realm1").await;
    let blob = Payload::args(vec![Value::Bytes(vec![0x33; BIG])]);
    const CALLS: u64 = 400;
    for i in 1..=CALLS {
        caller
            .send(&Message::Call {
                request: i,
                options: Dict::new(),
                procedure: "com.stuck".into(),
                payload: blob.clone(),
            })
            .await;
    }
    // Every call gets exactly one answer: canceled (it was in flight when the callee was
    // dropped) or no_such_procedure (it came after).
    let mut answers: HashMap<u64, String> = HashMap::new();
    while answers.len() < CALLS as usize {
        match caller.recv().await {
            Message::Error {
                request_type: code::CALL,
                request,
                error: e,
                ..
            } => {
                assert!(answers.insert(request, e).is_none(), "one answer per call");
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(
        answers.values().any(|e| e == error::CANCELED),
        "in-flight calls were canceled"
    );
    assert!(answers
        .values()
        .all(|e| e == error::CANCELED || e == error::NO_SUCH_PROCEDURE));
    assert_eq!(r.stats().slow_disconnects, 1);
    assert_eq!(r.session_count("realm1"), 1);
    drop(callee);
}
