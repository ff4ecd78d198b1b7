//! The reflection API of the bundled router: a service registered with `register_on`
//! describes itself (`wamp.reflect.define`), and any session lists and describes what it
//! may call or subscribe to; descriptions go with the registrations that back them, come
//! back after a reconnection, and two callees of a shared registration must agree.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use examples::calculator::{Calc, Calculator};
use examples::home::{Home, House};
use tests::{join, next_event, router, start_router};
use wamp_router::{Action, Permission};
use wamp_runtime::proto::error;
use wamp_runtime::{
    Args, Dict, Error, Event, MatchPolicy, ReconnectPolicy, Serializer, Session, Value,
};

async fn list(s: &Session, kind: &str) -> Vec<String> {
    s.call::<Vec<String>>(format!("wamp.reflection.{kind}.list"), ())
        .await
        .unwrap()
}

async fn describe(s: &Session, kind: &str, uri: &str) -> Result<serde_json::Value, Error> {
    s.call::<serde_json::Value>(format!("wamp.reflection.{kind}.describe"), (uri,))
        .await
}

/// Waits until `s` sees `count` items of `kind` (polling the router).
async fn listed(s: &Session, kind: &str, count: usize) {
    let deadline = tokio::time::Instant::now() + tests::WAIT;
    loop {
        let now = list(s, kind).await;
        if now.len() == count {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited for {count} {kind}s, listed: {now:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The URI an `on_define` or `on_undefine` event is about.
fn uri_of(e: Event<Args>) -> String {
    e.data.args[0].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_announces_reflection() {
    let r = start_router().await;
    let s = join(r.endpoint(), Serializer::Json).await;
    assert!(s.router_supports("dealer", "reflection"));
    assert!(s.router_supports("broker", "reflection"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_service_is_listed_and_described() {
    let r = start_router().await;
    let services = join(r.endpoint(), Serializer::Json).await;
    let _calc = Calc.register_on(&services).await.unwrap();
    let _home = House.register_on(&services).await.unwrap();
    let asker = join(r.url().into(), Serializer::MsgPack).await;

    let procedures = list(&asker, "procedure").await;
    for uri in [
        "com.example.calc.add",
        "com.example.calc.whoami",
        "com.example.home.light.{room}.switch",
    ] {
        assert!(
            procedures.iter().any(|p| p == uri),
            "{uri} in {procedures:?}"
        );
    }
    let add = describe(&asker, "procedure", "com.example.calc.add")
        .await
        .unwrap();
    assert_eq!(add["interface"], "Calculator");
    assert_eq!(add["args"][0]["name"], "a");
    assert_eq!(add["args"][1]["schema"]["format"], "int64");
    assert_eq!(add["errors"][1], "com.example.calc.overflow");

    // A pattern procedure by its written URI, its registered one, and a concrete one.
    for uri in [
        "com.example.home.light.{room}.switch",
        "com.example.home.light..switch",
        "com.example.home.light.kitchen.switch",
    ] {
        let d = describe(&asker, "procedure", uri).await.unwrap();
        assert_eq!(d["placeholders"][0]["name"], "room", "{uri}");
    }
    let read = describe(&asker, "procedure", "com.example.home.read")
        .await
        .unwrap();
    assert!(read["$defs"]["Reading"].is_object(), "{read}");

    assert_eq!(
        list(&asker, "topic").await,
        ["com.example.sensor.{room}.temperature"]
    );
    let topic = describe(&asker, "topic", "com.example.sensor.kitchen.temperature")
        .await
        .unwrap();
    assert_eq!(topic["payload"]["shape"], "kwargs");
    let errors = list(&asker, "error").await;
    assert!(
        errors.contains(&"com.example.calc.overflow".to_owned()),
        "{errors:?}"
    );
    assert!(
        !errors.iter().any(|e| e.starts_with("wamp.")),
        "the spec's errors are not the services': {errors:?}"
    );
    let overflow = describe(&asker, "error", "com.example.calc.overflow")
        .await
        .unwrap();
    assert_eq!(overflow["kwargs"][0]["name"], "limit");
    let any: serde_json::Value = asker
        .call("wamp.reflect.describe", ("com.example.calc.divide",))
        .await
        .unwrap();
    assert_eq!(any["uri"], "com.example.calc.divide");

    let unknown = describe(&asker, "procedure", "com.example.nothing").await;
    assert_eq!(unknown.unwrap_err().uri(), Some(error::NO_SUCH_PROCEDURE));
    let unknown = describe(&asker, "topic", "com.example.nothing").await;
    assert_eq!(unknown.unwrap_err().uri(), Some(error::INVALID_ARGUMENT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definitions_come_and_go_with_their_registrations() {
    let r = start_router().await;
    let watcher = join(r.endpoint(), Serializer::Json).await;
    let mut defined = watcher
        .subscribe::<Args>("wamp.reflect.on_define")
        .await
        .unwrap();
    let mut undefined = watcher
        .subscribe::<Args>("wamp.reflect.on_undefine")
        .await
        .unwrap();
    let services = join(r.endpoint(), Serializer::Json).await;
    let calc = Calc.register_on(&services).await.unwrap();
    let first = next_event(&mut defined).await.data;
    assert_eq!(first.args, [Value::from("com.example.calc.add")]);
    assert_eq!(first.kwargs.get("type"), Some(&Value::from("procedure")));
    assert_eq!(list(&watcher, "procedure").await.len(), 5);

    calc.unregister().await.unwrap();
    let mut gone = Vec::new();
    while gone.len() < 7 {
        gone.push(uri_of(next_event(&mut undefined).await));
    }
    assert!(
        gone.contains(&"com.example.calc.overflow".to_owned()),
        "{gone:?}"
    );
    assert!(list(&watcher, "procedure").await.is_empty());
    assert!(list(&watcher, "error").await.is_empty());

    // A session that leaves takes its descriptions along.
    let home = House.register_on(&services).await.unwrap();
    home.detach();
    assert!(!list(&watcher, "topic").await.is_empty());
    services.leave().await.unwrap();
    listed(&watcher, "topic", 0).await;
    listed(&watcher, "procedure", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_description_comes_back_after_a_reconnection() {
    let r = start_router().await;
    let services = Session::builder(r.url(), "realm1")
        .reconnect(ReconnectPolicy::default())
        .connect()
        .await
        .unwrap();
    let _calc = Calc.register_on(&services).await.unwrap();
    let admin = join(r.endpoint(), Serializer::Json).await;
    let old = services.id();
    let _: Value = admin.call("wamp.session.kill", (old,)).await.unwrap();
    let mut watch = services.lifecycle();
    while let Some(e) = futures_util::StreamExt::next(&mut watch).await {
        if matches!(e, wamp_runtime::SessionEvent::Reconnected { .. }) {
            break;
        }
    }
    assert_ne!(services.id(), old);
    listed(&admin, "procedure", 5).await;
}

mod v1 {
    /// The first version of a shared service.
    #[wamp_runtime::service(prefix = "com.example.shared")]
    pub trait Shared {
        /// Takes a number.
        #[wamp(invoke = "roundrobin")]
        async fn take(&self, n: i64) -> i64;
    }
    pub struct One;
    impl Shared for One {
        async fn take(&self, n: i64) -> i64 {
            n
        }
    }
}

mod v2 {
    /// A second version that changed the parameter's type: it does not agree.
    #[wamp_runtime::service(prefix = "com.example.shared")]
    pub trait Shared {
        /// Takes a text now (and says so otherwise: descriptions may differ).
        #[wamp(invoke = "roundrobin")]
        async fn take(&self, n: String) -> i64;
    }
    pub struct Two;
    impl Shared for Two {
        async fn take(&self, n: String) -> i64 {
            n.len() as i64
        }
    }
}

mod v1_again {
    /// The first version again, documented otherwise.
    #[wamp_runtime::service(prefix = "com.example.shared")]
    pub trait Shared {
        /// Takes a number, as v1 does.
        #[wamp(invoke = "roundrobin")]
        async fn take(&self, n: i64) -> i64;
    }
    pub struct Again;
    impl Shared for Again {
        async fn take(&self, n: i64) -> i64 {
            n + 1
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callees_of_a_shared_registration_must_agree() {
    use v1::Shared as _;
    use v1_again::Shared as _;
    use v2::Shared as _;
    let r = start_router().await;
    let a = join(r.endpoint(), Serializer::Json).await;
    let b = join(r.endpoint(), Serializer::Json).await;
    let c = join(r.endpoint(), Serializer::Json).await;
    let _one = v1::One.register_on(&a).await.unwrap();
    let refused = v2::Two.register_on(&b).await.unwrap_err();
    assert_eq!(refused.uri(), Some(error::INVALID_ARGUMENT), "{refused}");
    let text = refused.to_string();
    assert!(
        text.contains("com.example.shared.take") && text.contains("/args/0/schema"),
        "{text}"
    );
    // The refused callee's registration is gone: every call reaches the first.
    let asker = join(r.endpoint(), Serializer::Json).await;
    let callees: Vec<u64> = {
        let id: u64 = asker
            .call("wamp.registration.lookup", ("com.example.shared.take",))
            .await
            .unwrap();
        asker
            .call("wamp.registration.list_callees", (id,))
            .await
            .unwrap()
    };
    assert_eq!(callees, [a.id()]);
    // The same wire shape, other prose: accepted.
    let _again = v1_again::Again.register_on(&c).await.unwrap();
    let d = describe(&asker, "procedure", "com.example.shared.take")
        .await
        .unwrap();
    assert_eq!(
        d["description"], "Takes a number.",
        "the first description stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_definition_must_describe_what_the_session_registered() {
    let r = start_router().await;
    let s = join(r.endpoint(), Serializer::Json).await;
    let interface = examples::calculator::CalculatorClient::interface();
    let refused = s
        .call::<Value>("wamp.reflect.define", (&interface,))
        .await
        .unwrap_err();
    assert_eq!(refused.uri(), Some(error::INVALID_ARGUMENT));
    assert!(
        refused
            .to_string()
            .contains("not registered by this session"),
        "{refused}"
    );
    let mut bad = Dict::new();
    bad.insert("format".into(), "something-else".into());
    let refused = s
        .call::<Value>("wamp.reflect.define", (bad,))
        .await
        .unwrap_err();
    assert_eq!(refused.uri(), Some(error::INVALID_ARGUMENT));
    let refused = s
        .call::<Value>("wamp.reflect.define", ())
        .await
        .unwrap_err();
    assert_eq!(refused.uri(), Some(error::INVALID_ARGUMENT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_sees_only_what_its_role_may_call_or_subscribe_to() {
    let reflection =
        || Permission::new("wamp.reflection.", MatchPolicy::Prefix).allow(Action::Call);
    let r = router()
        .ticket_principal("realm1", "svc", "s", "service")
        .ticket_principal("realm1", "someone", "g", "guest")
        .role(
            "realm1",
            "service",
            vec![
                Permission::all("com.example.", MatchPolicy::Prefix),
                Permission::new("wamp.reflect.define", MatchPolicy::Exact).allow(Action::Call),
                reflection(),
            ],
        )
        .role(
            "realm1",
            "guest",
            vec![
                Permission::new("com.example.calc.add", MatchPolicy::Exact).allow(Action::Call),
                Permission::new("com.example.sensor.", MatchPolicy::Prefix)
                    .allow(Action::Subscribe),
                Permission::new("wamp.reflect.on_define", MatchPolicy::Exact)
                    .allow(Action::Subscribe),
                reflection(),
            ],
        )
        .start()
        .await
        .unwrap();
    let guest = Session::builder(r.url(), "realm1")
        .ticket("someone", "g")
        .connect()
        .await
        .unwrap();
    let mut defined = guest
        .subscribe::<Args>("wamp.reflect.on_define")
        .await
        .unwrap();
    let services = Session::builder(r.url(), "realm1")
        .ticket("svc", "s")
        .connect()
        .await
        .unwrap();
    let _calc = Calc.register_on(&services).await.unwrap();
    let _home = House.register_on(&services).await.unwrap();
    assert_eq!(list(&guest, "procedure").await, ["com.example.calc.add"]);
    assert_eq!(
        list(&guest, "topic").await,
        ["com.example.sensor.{room}.temperature"]
    );
    assert_eq!(
        list(&guest, "error").await,
        [
            "com.example.calc.division_by_zero",
            "com.example.calc.overflow"
        ],
        "the errors of what it may call"
    );
    let hidden = describe(&guest, "procedure", "com.example.calc.divide").await;
    assert_eq!(hidden.unwrap_err().uri(), Some(error::NO_SUCH_PROCEDURE));
    assert_eq!(list(&services, "procedure").await.len(), 8);
    // Its events: only what it may see, in definition order.
    let mut seen = Vec::new();
    while seen.len() < 4 {
        seen.push(uri_of(next_event(&mut defined).await));
    }
    assert_eq!(
        seen,
        [
            "com.example.calc.add",
            "com.example.calc.division_by_zero",
            "com.example.calc.overflow",
            "com.example.sensor.{room}.temperature",
        ]
    );
}

async fn autobahn_reflects(serializer: &str) {
    let r = start_router().await;
    let services = join(r.endpoint(), Serializer::Json).await;
    let _calc = Calc.register_on(&services).await.unwrap();
    let mut py = tests::PythonPeer::start("autobahn_reflection.py", &[&r.url(), serializer]);
    py.line_starting("WATCHING").await;
    let _home = House.register_on(&services).await.unwrap();
    py.line_starting("ALL OK").await;
    py.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_python_reflects_over_json() {
    autobahn_reflects("json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_python_reflects_over_cbor() {
    autobahn_reflects("cbor").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_service_does_not_keep_its_session_open() {
    let r = start_router().await;
    let watcher = join(r.endpoint(), Serializer::Json).await;
    let services = join(r.endpoint(), Serializer::Json).await;
    Calc.register_on(&services).await.unwrap().detach();
    listed(&watcher, "procedure", 5).await;
    drop(services);
    // The last handle went: the session leaves, and its descriptions with it.
    listed(&watcher, "procedure", 0).await;
}
