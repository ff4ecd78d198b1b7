//! Payload validation at the router (`RouterBuilder::validate_payloads`): calls and
//! publications that a service's description does not admit get
//! `wamp.error.invalid_argument` with the schema's complaint, and no callee or subscriber
//! sees them; off by default.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use examples::calculator::CalculatorClient;
use examples::home::{Home, House, Temperature};
use tests::{join, router, start_router};
use wamp_runtime::proto::error;
use wamp_runtime::{Args, Dict, Error, Serializer, Session, Value, WampError};

/// An untyped `com.example.calc.add` that counts what reaches it, described as the
/// calculator's `add`: only the router can refuse a call to it.
async fn counted_add(s: &Session) -> (wamp_runtime::Registration, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let reg = s
        .register("com.example.calc.add", move |a: Args| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, WampError>(a) }
        })
        .await
        .unwrap();
    let mut interface = CalculatorClient::interface();
    interface
        .procedures
        .retain(|p| p.uri == "com.example.calc.add");
    let _: Value = s.call("wamp.reflect.define", (&interface,)).await.unwrap();
    (reg, seen)
}

fn refused(e: Error) -> String {
    assert_eq!(e.uri(), Some(error::INVALID_ARGUMENT), "{e}");
    e.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_the_description_does_not_admit_never_reach_the_callee() {
    let r = router().validate_payloads("realm1").start().await.unwrap();
    let callee = join(r.endpoint(), Serializer::Json).await;
    let (_reg, seen) = counted_add(&callee).await;
    let caller = join(r.url().into(), Serializer::MsgPack).await;

    let e = caller
        .call::<Value>("com.example.calc.add", ("2", 3))
        .await
        .unwrap_err();
    let text = refused(e);
    assert!(
        text.contains("argument #0 \"a\"") && text.contains("is not of type \"integer\""),
        "{text}"
    );
    let e = caller
        .call::<Value>("com.example.calc.add", (2,))
        .await
        .unwrap_err();
    assert!(refused(e).contains("argument #1 \"b\" is missing"));
    let mut kwargs = Dict::new();
    kwargs.insert("a".into(), Value::from(1));
    kwargs.insert("b".into(), Value::from(1.5));
    let by_name = Args {
        kwargs,
        ..Default::default()
    };
    let e = caller
        .call::<Value>("com.example.calc.add", by_name)
        .await
        .unwrap_err();
    assert!(refused(e).contains("\"b\""), "by name too");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        0,
        "the callee saw none of them"
    );
    assert_eq!(r.stats().refused_payloads, 3);

    let ok: (i64, i64) = caller.call("com.example.calc.add", (2, 3)).await.unwrap();
    assert_eq!(ok, (2, 3));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyword_arguments_and_publications_are_checked_too() {
    let r = router().validate_payloads("realm1").start().await.unwrap();
    let services = join(r.endpoint(), Serializer::Json).await;
    let _home = House.register_on(&services).await.unwrap();
    let client = join(r.url().into(), Serializer::Cbor).await;

    let mut kwargs = Dict::new();
    kwargs.insert("room".into(), Value::from(3));
    let e = client
        .call::<Value>(
            "com.example.home.read",
            Args {
                kwargs,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(refused(e).contains("keyword argument \"room\""));

    let mut events = Temperature::subscribe(&services, examples::home::TemperatureKey::any())
        .await
        .unwrap();
    let mut bad = Dict::new();
    bad.insert("room".into(), Value::from("lab"));
    bad.insert("celsius".into(), Value::from("warm"));
    let payload = || Args {
        kwargs: bad.clone(),
        ..Default::default()
    };
    let e = client
        .publish("com.example.sensor.lab.temperature", payload())
        .acknowledge()
        .await
        .unwrap_err();
    assert!(refused(e).contains("the event payload"));
    // Unacknowledged: dropped and counted; the next, valid event is the first one seen.
    client
        .publish("com.example.sensor.lab.temperature", payload())
        .await
        .unwrap();
    Temperature {
        room: "lab".into(),
        celsius: 20.0,
    }
    .publish(&client)
    .acknowledge()
    .await
    .unwrap();
    let first = tokio::time::timeout(tests::WAIT, futures_util::StreamExt::next(&mut events))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.data.celsius, 20.0);
    assert_eq!(r.stats().refused_payloads, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_validation_the_callee_decides() {
    let r = start_router().await;
    let callee = join(r.endpoint(), Serializer::Json).await;
    let (_reg, seen) = counted_add(&callee).await;
    let caller = join(r.endpoint(), Serializer::Json).await;
    let echoed: (String, i64) = caller.call("com.example.calc.add", ("2", 3)).await.unwrap();
    assert_eq!(echoed, ("2".into(), 3));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert_eq!(r.stats().refused_payloads, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realm_that_validates_refuses_a_schema_it_cannot_compile() {
    let broken = || {
        let mut interface = CalculatorClient::interface();
        interface
            .procedures
            .retain(|p| p.uri == "com.example.calc.add");
        interface.procedures[0].args[0].schema = serde_json::json!({"type": 5});
        interface
    };
    for validates in [true, false] {
        let builder = router();
        let builder = if validates {
            builder.validate_payloads("realm1")
        } else {
            builder
        };
        let r = builder.start().await.unwrap();
        let s = join(r.endpoint(), Serializer::Json).await;
        let _reg = s
            .register("com.example.calc.add", |a: Args| async move {
                Ok::<_, WampError>(a)
            })
            .await
            .unwrap();
        let answer = s.call::<Value>("wamp.reflect.define", (&broken(),)).await;
        if validates {
            let text = refused(answer.unwrap_err());
            assert!(text.contains("does not compile"), "{text}");
        } else {
            assert!(
                answer.is_ok(),
                "kept as it is when nothing checks against it"
            );
        }
    }
}
