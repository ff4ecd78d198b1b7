//! Dynamic authorization, as Crossbar.io's dynamic authorizers: a role decided by a
//! procedure (here written with Autobahn|Python, `tests/python/autobahn_authorizer.py`),
//! asked before each REGISTER, CALL, PUBLISH and SUBSCRIBE of its sessions, with
//! caching, disclosure, and a slow or failing authorizer denying.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use tests::{next_event, router};
use tokio::io::{AsyncBufReadExt, BufReader};
use wamp_router::Permission;
use wamp_runtime::proto::error;
use wamp_runtime::MatchPolicy;
use wamp_runtime::{Session, WampError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_autobahn_python_authorizer_decides_for_its_role() {
    // Anonymous sessions (the Python authorizer, the service) are backends with static
    // permissions; the frontend authenticates into the role the authorizer decides.
    let r = router()
        .anonymous(Some("backend"))
        .auth_timeout(Duration::from_secs(1))
        .role_authorizer("realm1", "frontend", "com.example.authorize")
        .ticket_principal("realm1", "front", "front secret", "frontend")
        .role(
            "realm1",
            "backend",
            vec![Permission::all("", MatchPolicy::Prefix)],
        )
        .start()
        .await
        .unwrap();
    let mut python = tests::spawn_python("autobahn_authorizer.py", &[&r.url(), "realm1", "json"]);
    let mut lines = BufReader::new(python.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the authorizer starts")
        .unwrap();
    assert_eq!(ready.as_deref(), Some("READY"));

    let service = Session::builder(r.url(), "realm1").connect().await.unwrap();
    for uri in [
        "com.app.public.time",
        "com.app.secret",
        "com.app.slow",
        "com.app.broken",
    ] {
        service
            .register(uri, |(): ()| async { Ok::<_, WampError>("ok") })
            .await
            .unwrap()
            .detach();
    }
    let frontend = Session::builder(r.url(), "realm1")
        .ticket("front", "front secret")
        .connect()
        .await
        .unwrap();
    assert_eq!(frontend.authrole().as_deref(), Some("frontend"));
    let asked = |uri: &str, action: &str| {
        let service = service.clone();
        let (uri, action) = (uri.to_owned(), action.to_owned());
        async move {
            service
                .call::<u64>("com.example.asked", (uri, action))
                .await
                .unwrap()
        }
    };

    // Allowed and cached: asked once for two calls.
    for _ in 0..2 {
        let got: String = frontend.call("com.app.public.time", ()).await.unwrap();
        assert_eq!(got, "ok");
    }
    assert_eq!(
        asked("com.app.public.time", "call").await,
        1,
        "the cached answer holds"
    );
    // Denied, slow, broken: not authorized, and the frontend goes on.
    for uri in ["com.app.secret", "com.app.slow", "com.app.broken"] {
        let e = frontend.call::<String>(uri, ()).await.unwrap_err();
        assert_eq!(e.uri(), Some(error::NOT_AUTHORIZED), "{uri}: {e}");
    }
    let e = frontend
        .register("com.app.secret.mine", |(): ()| async {
            Ok::<_, WampError>(())
        })
        .await
        .unwrap_err();
    assert_eq!(e.uri(), Some(error::NOT_AUTHORIZED), "{e}");
    // Disclosure: the authorizer discloses this publication, unasked by the publisher.
    let mut news = service
        .subscribe::<(String,)>("com.app.news")
        .await
        .unwrap();
    frontend
        .publish("com.app.news", ("hello",))
        .acknowledge()
        .await
        .unwrap();
    let e = next_event(&mut news).await;
    assert_eq!(e.data.0, "hello");
    assert_eq!(
        e.details.publisher,
        Some(frontend.id()),
        "disclosed by the authorizer"
    );
    // Not cached: asked each time.
    frontend
        .publish("com.app.news", ("again",))
        .acknowledge()
        .await
        .unwrap();
    next_event(&mut news).await;
    assert_eq!(asked("com.app.news", "publish").await, 2);
    let _sub = frontend
        .subscribe::<(String,)>("com.app.news")
        .await
        .expect("subscribe allowed");
    python.kill().await.ok();
}
