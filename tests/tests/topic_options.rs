//! Typed publish and subscribe with the options untyped ones have, against the bundled
//! router: acknowledged and retained publications, `get_retained`, the black- and
//! white-lists by session, authid and authrole, `exclude_me`, `disclose_me`; and a
//! service that names its topics.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tests::{router, WAIT};
use wamp_runtime::{service, topic, Session, TopicSubscription};

#[topic("com.example.light.{room}")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Light {
    room: String,
    on: bool,
}

#[topic("com.example.power")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Power(u32);

/// The home: its procedures and the topics it publishes, in one contract item.
#[service(prefix = "com.example.home", topics(Light, Power))]
#[allow(dead_code)] // only the stub's listing is used here
trait Home {
    async fn switch(&self, room: String, on: bool);
}

/// A router where alice and bob are users and carol is a guest (ticket authentication).
async fn home_router() -> wamp_router::RouterHandle {
    router()
        .ticket_principal("realm1", "alice", "a", "user")
        .ticket_principal("realm1", "bob", "b", "user")
        .ticket_principal("realm1", "carol", "c", "guest")
        .start()
        .await
        .expect("router starts")
}

async fn as_(r: &wamp_router::RouterHandle, who: &str) -> Session {
    let ticket = &who[..1];
    Session::builder(r.url(), "realm1")
        .ticket(who, ticket)
        .connect()
        .await
        .expect("joins")
}

/// The next event within [`WAIT`].
async fn next<T: wamp_runtime::Topic>(
    sub: &mut TopicSubscription<T>,
) -> wamp_runtime::TopicEvent<T> {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("an event in time")
        .expect("stream open")
        .expect("an event of the type")
}

/// The values received until the marker.
async fn until_marker(sub: &mut TopicSubscription<Power>) -> Vec<u32> {
    let mut got = Vec::new();
    loop {
        match next(sub).await.data.0 {
            0 => return got,
            n => got.push(n),
        }
    }
}

/// Publishes a marker that every subscriber receives: events published before it
/// arrived first, or never.
async fn marker(publisher: &Session) {
    Power(0).publish(publisher).acknowledge().await.unwrap();
}

#[tokio::test]
async fn typed_publications_take_the_lists_and_typed_subscriptions_get_retained() {
    let r = home_router().await;
    let (alice, bob, carol) = (
        as_(&r, "alice").await,
        as_(&r, "bob").await,
        as_(&r, "carol").await,
    );
    let mut at_bob = Power::subscribe(&bob, PowerKey::any()).await.unwrap();
    let mut at_carol = Power::subscribe(&carol, PowerKey::any()).await.unwrap();
    let mut at_alice = Power::subscribe(&alice, PowerKey::any()).await.unwrap();

    // By authrole: only users; by authid: not bob; by session: only carol.
    Power(1)
        .publish(&alice)
        .eligible_authrole(["user"])
        .acknowledge()
        .await
        .unwrap();
    Power(2)
        .publish(&alice)
        .exclude_authid(["bob"])
        .acknowledge()
        .await
        .unwrap();
    Power(3)
        .publish(&alice)
        .eligible([carol.id()])
        .acknowledge()
        .await
        .unwrap();
    Power(4)
        .publish(&alice)
        .exclude_authrole(["guest"])
        .eligible_authid(["bob", "carol"])
        .acknowledge()
        .await
        .unwrap();
    // The publisher's own event, asked for, with its identity disclosed.
    Power(5)
        .publish(&alice)
        .exclude_me(false)
        .disclose_me()
        .acknowledge()
        .await
        .unwrap();
    marker(&alice).await;

    assert_eq!(until_marker(&mut at_bob).await, [1, 4, 5]);
    assert_eq!(until_marker(&mut at_carol).await, [2, 3, 5]);
    let mine = next(&mut at_alice).await;
    assert_eq!(mine.data, Power(5));
    assert_eq!(mine.details.publisher, Some(alice.id()));
    let authid = mine.details.details.get("publisher_authid");
    assert_eq!(authid.and_then(|v| v.as_str()), Some("alice"));

    // A retained event, received by a later typed subscription that asks for it.
    Light {
        room: "hall".into(),
        on: true,
    }
    .publish(&alice)
    .retain()
    .acknowledge()
    .await
    .unwrap();
    let mut late = Light::subscribe(&carol, LightKey::any())
        .get_retained()
        .buffer(8)
        .await
        .unwrap();
    let e = next(&mut late).await;
    assert_eq!((e.key.room.as_deref(), e.data.on), (Some("hall"), true));
    assert!(e.details.retained);
    // Without asking, none.
    let mut plain = Light::subscribe(&bob, LightKey::any().room("hall"))
        .await
        .unwrap();
    Light {
        room: "hall".into(),
        on: false,
    }
    .publish(&alice)
    .acknowledge()
    .await
    .unwrap();
    let e = next(&mut plain).await;
    assert!(
        !e.data.on && !e.details.retained,
        "the live event, not the retained one"
    );
}

#[test]
fn a_service_lists_its_procedures_and_the_topics_it_names() {
    assert_eq!(HomeClient::procedure_uris(), ["com.example.home.switch"]);
    assert_eq!(
        HomeClient::topic_patterns(),
        ["com.example.light.{room}", "com.example.power"]
    );
}
