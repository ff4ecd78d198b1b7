//! `#[topic]` against the bundled router: placeholders filled from fields, wildcard
//! subscriptions whose events carry their placeholders back, the payload shape, and
//! events that do not fit the type.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tests::{join, start_router, WAIT};
use wamp_runtime::{topic, Args, Endpoint, Error, Serializer, Session, TopicSubscription};

#[topic("com.example.sensor.{room}.temperature")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Temperature {
    room: String,
    celsius: f64,
}

#[topic("com.example.site.{building}.floor.{level}.alarm")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Alarm {
    building: String,
    level: u32,
    reason: String,
}

#[topic("com.example.ping")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Ping(u32, String);

async fn next<T: wamp_runtime::Topic>(
    sub: &mut TopicSubscription<T>,
) -> Result<wamp_runtime::TopicEvent<T>, Error> {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("an event in time")
        .expect("stream open")
}

#[tokio::test]
async fn placeholders_come_from_fields_and_go_back_into_the_key() {
    let r = start_router().await;
    for ser in Serializer::ALL {
        let publisher = join(Endpoint::from(r.url()), ser).await;
        let listener = join(r.endpoint(), ser).await;
        let mut every_room = Temperature::subscribe(&listener, TemperatureKey::any())
            .await
            .unwrap();
        assert_eq!(every_room.topic(), "com.example.sensor..temperature");
        let mut kitchen = Temperature::subscribe(&listener, TemperatureKey::any().room("kitchen"))
            .await
            .unwrap();
        assert_eq!(kitchen.topic(), "com.example.sensor.kitchen.temperature");

        for (room, celsius) in [("bath", 24.0), ("kitchen", 21.5)] {
            Temperature {
                room: room.into(),
                celsius,
            }
            .publish(&publisher)
            .acknowledge()
            .await
            .unwrap();
        }
        let e = next(&mut every_room).await.unwrap();
        assert_eq!(e.data.celsius, 24.0);
        assert_eq!(e.key.room.as_deref(), Some("bath"));
        assert_eq!(
            e.details.topic.as_deref(),
            Some("com.example.sensor.bath.temperature")
        );
        let e = next(&mut every_room).await.unwrap();
        assert_eq!(e.key.room.as_deref(), Some("kitchen"));
        let e = next(&mut kitchen).await.unwrap();
        assert_eq!(
            e.data,
            Temperature {
                room: "kitchen".into(),
                celsius: 21.5
            }
        );
        assert_eq!(
            e.key.room.as_deref(),
            Some("kitchen"),
            "an exact subscription's key"
        );
    }
}

#[tokio::test]
async fn several_placeholders_typed_and_partly_fixed() {
    let r = start_router().await;
    let s = join(r.endpoint(), Serializer::Json).await;
    let p = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    let mut level_two = Alarm::subscribe(&s, AlarmKey::any().level(2u32))
        .await
        .unwrap();
    assert_eq!(level_two.topic(), "com.example.site..floor.2.alarm");
    for (building, level) in [("north", 1), ("south", 2), ("east", 2)] {
        Alarm {
            building: building.into(),
            level,
            reason: "smoke".into(),
        }
        .publish(&p)
        .acknowledge()
        .await
        .unwrap();
    }
    for building in ["south", "east"] {
        let e = next(&mut level_two).await.unwrap();
        assert_eq!(e.key.building.as_deref(), Some(building));
        assert_eq!(e.key.level, Some(2));
        assert_eq!(e.data.reason, "smoke");
    }
    // A topic that fits the pattern but not the placeholder's type is an error item.
    let mut every_alarm = Alarm::subscribe(&s, AlarmKey::any()).await.unwrap();
    p.publish("com.example.site.west.floor.top.alarm", ())
        .kwargs(serde_json::json!({"building": "west", "level": 9, "reason": "x"}))
        .acknowledge()
        .await
        .unwrap();
    let e = next(&mut every_alarm).await.unwrap_err();
    assert!(matches!(e, Error::Deserialize(_)), "{e:?}");
    assert!(e.to_string().contains("level"), "{e}");
}

#[tokio::test]
async fn the_payload_shape_is_kwargs_for_named_fields_and_args_for_tuples() {
    let r = start_router().await;
    let s = join(r.endpoint(), Serializer::MsgPack).await;
    let p = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let mut raw_temp = s
        .subscribe::<Args>("com.example.sensor.attic.temperature")
        .await
        .unwrap();
    let mut raw_ping = s.subscribe::<Args>("com.example.ping").await.unwrap();
    Temperature {
        room: "attic".into(),
        celsius: 30.0,
    }
    .publish(&p)
    .acknowledge()
    .await
    .unwrap();
    Ping(7, "hi".into())
        .publish(&p)
        .acknowledge()
        .await
        .unwrap();
    let t = tokio::time::timeout(WAIT, raw_temp.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(t.data.args.is_empty());
    assert_eq!(t.data.get_kw::<String>("room").unwrap(), "attic");
    assert_eq!(t.data.get_kw::<f64>("celsius").unwrap(), 30.0);
    let ping = tokio::time::timeout(WAIT, raw_ping.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ping.data.get::<u32>(0).unwrap(), 7);
    assert_eq!(ping.data.get::<String>(1).unwrap(), "hi");
    assert!(ping.data.kwargs.is_empty());
}

#[tokio::test]
async fn bad_values_and_bad_payloads_are_errors_not_panics() {
    let r = start_router().await;
    let s = join(r.endpoint(), Serializer::Json).await;
    let p = join(Endpoint::from(r.url()), Serializer::Json).await;
    // A placeholder value that is not one URI component cannot be published.
    let e = Temperature {
        room: "living.room".into(),
        celsius: 20.0,
    }
    .publish(&p)
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Serialize(_)), "{e:?}");
    assert!(e.to_string().contains("{room}"), "{e}");
    // An event that does not read as the type is an error item; the stream goes on.
    let mut pings = Ping::subscribe(&s, PingKey::any()).await.unwrap();
    p.publish("com.example.ping", ("not", "a", "ping"))
        .acknowledge()
        .await
        .unwrap();
    Ping(1, "ok".into())
        .publish(&p)
        .acknowledge()
        .await
        .unwrap();
    assert!(matches!(next(&mut pings).await, Err(Error::Deserialize(_))));
    assert_eq!(next(&mut pings).await.unwrap().data, Ping(1, "ok".into()));
}

#[tokio::test]
async fn a_typed_subscription_removed_by_the_router_ends_revoked() {
    let r = start_router().await;
    let s = Session::builder(r.endpoint(), "realm1")
        .connect()
        .await
        .unwrap();
    let mut pings = Ping::subscribe(&s, PingKey::any()).await.unwrap();
    let admin = wamp_runtime::client::meta::Meta::new(s.clone());
    let id = admin
        .subscription_lookup("com.example.ping", wamp_runtime::MatchPolicy::Exact)
        .await
        .unwrap()
        .expect("subscribed");
    admin
        .subscription_remove_subscriber(id, s.id(), Some("com.example.retired"))
        .await
        .unwrap();
    match tokio::time::timeout(WAIT, pings.next()).await.unwrap() {
        Some(Err(Error::Revoked(reason))) => assert_eq!(reason, "com.example.retired"),
        other => panic!("expected the stream to end revoked, got {other:?}"),
    }
}
