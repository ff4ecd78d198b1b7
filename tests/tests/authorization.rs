//! Authorization on the bundled router: roles with permissions per URI and match policy;
//! every REGISTER, CALL, PUBLISH and SUBSCRIBE (the meta API included) is checked, and a
//! denied one gets `wamp.error.not_authorized` and changes nothing.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt;
use tests::router;
use wamp_router::{Action, Permission};
use wamp_runtime::proto::error;
use wamp_runtime::{MatchPolicy, Session, WampError};

#[tokio::test]
async fn every_action_is_checked_against_the_role() {
    let r = router()
        .anonymous(Some("reader"))
        .ticket_principal("realm1", "writer", "w", "writer")
        .role(
            "realm1",
            "reader",
            vec![
                Permission::new("com.news.", MatchPolicy::Prefix).allow(Action::Subscribe),
                Permission::new("com.api.get", MatchPolicy::Exact).allow(Action::Call),
            ],
        )
        .role(
            "realm1",
            "writer",
            vec![
                Permission::all("com.", MatchPolicy::Prefix),
                Permission::new("com.news.secret", MatchPolicy::Exact),
                Permission::new("wamp.session.", MatchPolicy::Prefix).allow(Action::Call),
            ],
        )
        .start()
        .await
        .unwrap();
    let writer = Session::builder(r.url(), "realm1")
        .ticket("writer", "w")
        .connect()
        .await
        .unwrap();
    let reader = Session::builder(r.endpoint(), "realm1")
        .connect()
        .await
        .unwrap();
    assert_eq!(reader.authrole().as_deref(), Some("reader"));
    let denied = |e: wamp_runtime::Error| assert_eq!(e.uri(), Some(error::NOT_AUTHORIZED), "{e}");

    // The writer registers and publishes; the reader calls and subscribes.
    let _get = writer
        .register("com.api.get", |(): ()| async { Ok::<_, WampError>(1) })
        .await
        .unwrap();
    let _set = writer
        .register("com.api.set", |(): ()| async { Ok::<_, WampError>(2) })
        .await
        .unwrap();
    assert_eq!(reader.call::<i64>("com.api.get", ()).await.unwrap(), 1);
    denied(reader.call::<i64>("com.api.set", ()).await.unwrap_err());
    denied(
        reader
            .register("com.api.mine", |(): ()| async { Ok::<_, WampError>(0) })
            .await
            .unwrap_err(),
    );
    let mut news = reader
        .subscribe::<(String,)>("com.news.today")
        .await
        .unwrap();
    denied(reader.subscribe::<()>("com.other").await.unwrap_err());
    denied(
        reader
            .publish("com.news.today", ("fake",))
            .acknowledge()
            .await
            .unwrap_err(),
    );
    writer
        .publish("com.news.today", ("real",))
        .acknowledge()
        .await
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(5), news.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        e.data.0, "real",
        "the denied publication never reached anyone"
    );
    // An exact permission without actions overrides the broader prefix.
    denied(
        writer
            .publish("com.news.secret", ())
            .acknowledge()
            .await
            .unwrap_err(),
    );
    // The meta API is authorized like any URI.
    assert_eq!(
        writer.call::<u64>("wamp.session.count", ()).await.unwrap(),
        2
    );
    denied(
        reader
            .call::<u64>("wamp.session.count", ())
            .await
            .unwrap_err(),
    );
    denied(
        writer
            .call::<()>("wamp.registration.list", ())
            .await
            .unwrap_err(),
    );
}

#[tokio::test]
async fn a_realm_without_roles_is_open() {
    let r = router()
        .role(
            "realm2",
            "anonymous",
            vec![Permission::new("x", MatchPolicy::Exact)],
        )
        .start()
        .await
        .unwrap();
    let open = Session::builder(r.url(), "realm1").connect().await.unwrap();
    open.register("com.any", |(): ()| async { Ok::<_, WampError>(()) })
        .await
        .unwrap()
        .detach();
    let closed = Session::builder(r.url(), "realm2").connect().await.unwrap();
    let e = closed
        .register("com.any", |(): ()| async { Ok::<_, WampError>(()) })
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::NOT_AUTHORIZED));
}

/// Disclosure per role: on a router that discloses callers and publishers always, a role
/// can turn that off for its own calls and publications (they are still disclosed when
/// they ask with `disclose_me`).
#[tokio::test]
async fn a_role_can_keep_its_callers_and_publishers_undisclosed() {
    let r = router()
        .disclose_caller(true)
        .disclose_publisher(true)
        .ticket_principal("realm1", "shy", "s", "shy")
        .ticket_principal("realm1", "open", "o", "open")
        .role_disclosure("realm1", "shy", Some(false), Some(false))
        .start()
        .await
        .unwrap();
    let callee = Session::builder(r.url(), "realm1").connect().await.unwrap();
    let _reg = callee
        .register(
            "com.who",
            |_: (), details: wamp_runtime::CallDetails| async move {
                Ok::<_, WampError>(details.caller_authid.unwrap_or_default())
            },
        )
        .await
        .unwrap();
    let mut events = callee.subscribe::<()>("com.news").await.unwrap();
    let shy = Session::builder(r.url(), "realm1")
        .ticket("shy", "s")
        .connect()
        .await
        .unwrap();
    let open = Session::builder(r.url(), "realm1")
        .ticket("open", "o")
        .connect()
        .await
        .unwrap();
    let seen: String = shy.call("com.who", ()).await.unwrap();
    assert_eq!(seen, "", "the shy role's calls are not disclosed");
    let seen: String = shy
        .call("com.who", ())
        .option("disclose_me", true)
        .await
        .unwrap();
    assert_eq!(seen, "shy", "unless it asks");
    let seen: String = open.call("com.who", ()).await.unwrap();
    assert_eq!(seen, "open", "other roles keep the router's default");
    for s in [&shy, &open] {
        s.publish("com.news", ()).acknowledge().await.unwrap();
    }
    let first = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.details.publisher, None);
    let second = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(second.details.publisher, Some(open.id()));
}
