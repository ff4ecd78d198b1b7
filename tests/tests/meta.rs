//! The meta API against the bundled router, through the client's typed wrappers:
//! sessions, registrations and subscriptions, their procedures and their events.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use futures_util::StreamExt;
use tests::{join, start_router, WAIT};
use wamp_runtime::client::meta::Meta;
use wamp_runtime::proto::error;
use wamp_runtime::{Endpoint, Error, MatchPolicy, Serializer, Session, Subscription, WampError};

async fn next<T: wamp_runtime::client::FromArgs>(sub: &mut Subscription<T>) -> T {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("a meta event in time")
        .expect("stream open")
        .expect("reads as T")
        .data
}

/// The next `(session, id)` meta event about another session than `observer` (whose own
/// subscriptions to the meta topics are events too).
async fn next_not_from(sub: &mut Subscription<(u64, u64)>, observer: u64) -> (u64, u64) {
    loop {
        let e = next(sub).await;
        if e.0 != observer {
            return e;
        }
    }
}

#[tokio::test]
async fn sessions_joining_listed_described_and_killed() {
    let r = start_router().await;
    let observer = join(r.endpoint(), Serializer::Json).await;
    let meta = Meta::new(observer.clone());
    assert!(observer.router_supports("broker", "session_meta_api"));
    let mut joins = meta.on_session_join().await.unwrap();
    let mut leaves = meta.on_session_leave().await.unwrap();

    let other = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let (joined,) = next(&mut joins).await;
    assert_eq!(joined.session, other.id());
    assert_eq!(joined.authrole.as_deref(), Some("anonymous"));

    assert_eq!(meta.session_count(None).await.unwrap(), 2);
    assert_eq!(meta.session_count(Some(&["nobody"])).await.unwrap(), 0);
    let mut ids = vec![observer.id(), other.id()];
    ids.sort_unstable();
    assert_eq!(meta.session_list(None).await.unwrap(), ids);
    assert_eq!(meta.session_list(Some(&["anonymous"])).await.unwrap(), ids);
    let details = meta.session_get(other.id()).await.unwrap();
    assert_eq!(details.authid.as_deref(), other.authid().as_deref());
    assert_eq!(details.authmethod.as_deref(), Some("anonymous"));
    let e = meta.session_get(42).await.unwrap_err();
    assert_eq!(e.uri(), Some(error::NO_SUCH_SESSION));

    // Killing: the target gets GOODBYE (wamp.close.killed unless the killer says
    // otherwise), everyone else on_leave. The caller is no *other* session.
    let e = meta
        .session_kill(observer.id(), None, None)
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::NO_SUCH_SESSION), "not oneself");
    let e = meta
        .session_kill(other.id(), Some("not a uri"), None)
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::INVALID_URI));
    meta.session_kill(other.id(), None, Some("maintenance"))
        .await
        .unwrap();
    let reason = tokio::time::timeout(WAIT, other.closed()).await.unwrap();
    assert!(reason.contains("wamp.close.killed"), "{reason}");
    let (left, authid, _) = next(&mut leaves).await;
    assert_eq!(left, other.id());
    assert_eq!(authid.as_deref(), other.authid().as_deref());
    assert_eq!(meta.session_count(None).await.unwrap(), 1);
    let e = other.call::<()>("com.x", ()).await.unwrap_err();
    assert!(matches!(e, Error::Closed(_)));
}

#[tokio::test]
async fn registrations_seen_through_the_meta_api() {
    let r = start_router().await;
    let observer = join(r.endpoint(), Serializer::Json).await;
    let meta = Meta::new(observer.clone());
    let mut created = meta.on_registration_create().await.unwrap();
    let mut registered = meta.on_register().await.unwrap();
    let mut unregistered = meta.on_unregister().await.unwrap();
    let mut deleted = meta.on_registration_delete().await.unwrap();

    let a = join(Endpoint::from(r.url()), Serializer::Cbor).await;
    let b = join(Endpoint::from(r.url()), Serializer::MsgPack).await;
    let reg_a = a
        .register("com.meta.work", |(): ()| async { Ok::<_, WampError>(1) })
        .invoke("roundrobin")
        .await
        .unwrap();
    let (who, details) = next(&mut created).await;
    assert_eq!((who, details.id), (a.id(), reg_a.id()));
    assert_eq!(details.uri, "com.meta.work");
    assert_eq!(details.match_policy, "exact");
    assert_eq!(details.invoke.as_deref(), Some("roundrobin"));
    assert_eq!(next(&mut registered).await, (a.id(), reg_a.id()));
    let reg_b = b
        .register("com.meta.work", |(): ()| async { Ok::<_, WampError>(2) })
        .invoke("roundrobin")
        .await
        .unwrap();
    assert_eq!(next(&mut registered).await, (b.id(), reg_b.id()));
    let _files = a
        .register("com.meta.files.", |(): ()| async { Ok::<_, WampError>(3) })
        .match_policy(MatchPolicy::Prefix)
        .await
        .unwrap();

    let list = meta.registration_list().await.unwrap();
    assert_eq!(list.exact, vec![reg_a.id()]);
    assert_eq!(list.prefix.len(), 1);
    assert_eq!(
        meta.registration_lookup("com.meta.work", MatchPolicy::Exact)
            .await
            .unwrap(),
        Some(reg_a.id())
    );
    assert_eq!(
        meta.registration_lookup("com.meta.work", MatchPolicy::Prefix)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        meta.registration_match("com.meta.files.readme")
            .await
            .unwrap(),
        Some(list.prefix[0])
    );
    assert_eq!(meta.registration_match("com.none").await.unwrap(), None);
    let mut callees = meta.registration_callees(reg_a.id()).await.unwrap();
    callees.sort_unstable();
    let mut expected = vec![a.id(), b.id()];
    expected.sort_unstable();
    assert_eq!(callees, expected);
    assert_eq!(meta.registration_callee_count(reg_a.id()).await.unwrap(), 2);
    let e = meta.registration_get(7).await.unwrap_err();
    assert_eq!(e.uri(), Some(error::NO_SUCH_REGISTRATION));

    let id = reg_a.id();
    reg_a.unregister().await.unwrap();
    assert_eq!(next(&mut unregistered).await, (a.id(), id));
    drop(reg_b);
    assert_eq!(next(&mut unregistered).await, (b.id(), id));
    assert_eq!(
        next(&mut deleted).await.1,
        id,
        "deleted with its last callee"
    );
}

#[tokio::test]
async fn subscriptions_seen_through_the_meta_api() {
    let r = start_router().await;
    let observer = join(r.endpoint(), Serializer::Json).await;
    let meta = Meta::new(observer.clone());
    let mut created = meta.on_subscription_create().await.unwrap();
    let mut subscribed = meta.on_subscribe().await.unwrap();
    let mut deleted = meta.on_subscription_delete().await.unwrap();

    let a = join(Endpoint::from(r.url()), Serializer::Json).await;
    let sub = a.subscribe::<()>("com.meta.news").await.unwrap();
    let (who, details) = loop {
        let (who, details) = next(&mut created).await;
        if who != observer.id() {
            break (who, details);
        }
    };
    assert_eq!((who, details.id), (a.id(), sub.id()));
    assert_eq!(details.uri, "com.meta.news");
    assert_eq!(
        next_not_from(&mut subscribed, observer.id()).await,
        (a.id(), sub.id())
    );
    let pattern = a
        .subscribe::<()>("com.meta")
        .match_policy(MatchPolicy::Prefix)
        .await
        .unwrap();

    let list = meta.subscription_list().await.unwrap();
    assert!(list.exact.contains(&sub.id()));
    assert_eq!(list.prefix, vec![pattern.id()]);
    assert_eq!(
        meta.subscription_lookup("com.meta", MatchPolicy::Prefix)
            .await
            .unwrap(),
        Some(pattern.id())
    );
    let mut matching = meta.subscription_match("com.meta.news").await.unwrap();
    matching.sort_unstable();
    let mut expected = vec![sub.id(), pattern.id()];
    expected.sort_unstable();
    assert_eq!(matching, expected);
    assert!(meta
        .subscription_match("org.none")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        meta.subscription_subscribers(sub.id()).await.unwrap(),
        vec![a.id()]
    );
    assert_eq!(
        meta.subscription_subscriber_count(sub.id()).await.unwrap(),
        1
    );
    assert_eq!(
        meta.subscription_get(sub.id()).await.unwrap().match_policy,
        "exact"
    );
    let e = meta.subscription_get(7).await.unwrap_err();
    assert_eq!(e.uri(), Some(error::NO_SUCH_SUBSCRIPTION));

    let id = sub.id();
    sub.unsubscribe().await.unwrap();
    assert_eq!(
        next_not_from(&mut deleted, observer.id()).await,
        (a.id(), id)
    );
}

#[tokio::test]
async fn sessions_killed_by_authid_by_authrole_and_all() {
    let r = tests::router()
        .ticket_principal("realm1", "alice", "a", "user")
        .ticket_principal("realm1", "bob", "b", "user")
        .anonymous(Some("guest"))
        .start()
        .await
        .unwrap();
    let url = r.url();
    let ticket = |authid: &'static str, ticket: &'static str| {
        Session::builder(url.as_str(), "realm1")
            .ticket(authid, ticket)
            .connect()
    };
    let alice1 = ticket("alice", "a").await.unwrap();
    let alice2 = ticket("alice", "a").await.unwrap();
    let bob = ticket("bob", "b").await.unwrap();
    let guest = Session::builder(url.as_str(), "realm1")
        .connect()
        .await
        .unwrap();
    let admin = Meta::new(alice1.clone());

    // The caller is spared even when it matches.
    let killed = admin
        .session_kill_by_authid("alice", Some("com.example.rotated"), None)
        .await
        .unwrap();
    assert_eq!(killed.sessions(), Some(&[alice2.id()][..]));
    let reason = tokio::time::timeout(WAIT, alice2.closed()).await.unwrap();
    assert!(reason.contains("com.example.rotated"), "{reason}");
    assert!(!alice1.is_closed());
    assert_eq!(
        admin
            .session_kill_by_authid("nobody", None, None)
            .await
            .unwrap()
            .count(),
        0
    );

    let killed = admin
        .session_kill_by_authrole("user", None, None)
        .await
        .unwrap();
    assert_eq!(killed.count(), 1, "bob, not the caller");
    tokio::time::timeout(WAIT, bob.closed()).await.unwrap();
    assert!(!guest.is_closed());

    let e = admin
        .session_kill_all(Some("not a uri"), None)
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::INVALID_URI));
    assert_eq!(admin.session_kill_all(None, None).await.unwrap().count(), 1);
    tokio::time::timeout(WAIT, guest.closed()).await.unwrap();
    assert_eq!(admin.session_count(None).await.unwrap(), 1);
}
