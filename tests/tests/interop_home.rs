//! The example home contract (`examples/src/home.rs`: keyword arguments, a typed pattern
//! procedure, the spec's error) with Autobahn|Python on the other side, both ways: an
//! Autobahn caller against the Rust implementation, and the Rust stub against an
//! Autobahn implementation (`tests/python/autobahn_home.py`).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use examples::home::{Home, HomeClient, HomeError, House};
use tests::{join, start_router, PythonPeer};
use wamp_runtime::{Endpoint, Serializer, ServiceError, Session};

async fn with_autobahn(serializer: Serializer, name: &str) {
    let r = start_router().await;
    let services = join(r.endpoint(), Serializer::Json).await;
    House.register_on(&services).await.unwrap().detach();
    let mut py = PythonPeer::start("autobahn_home.py", &[&r.url(), name]);
    py.line_starting("READY").await;

    // Our stub against the Python implementation (realm2).
    let caller = Session::builder(Endpoint::from(r.url()), "realm2")
        .serializer(serializer)
        .connect()
        .await
        .unwrap();
    let home = HomeClient::new(caller);
    let reading = home.read("kitchen".into(), Some("F".into())).await.unwrap();
    assert_eq!((reading.temperature, reading.unit.as_str()), (70.7, "F"));
    assert_eq!(home.read("kitchen".into(), None).await.unwrap().unit, "C");
    assert!(home.switch("hall".into(), true).await.unwrap());
    assert!(!home.switch("kitchen".into(), true).await.unwrap());
    assert_eq!(
        home.read("cellar".into(), None).await.unwrap_err(),
        ServiceError::App(HomeError::NoSuchRoom("cellar".into()))
    );
    assert_eq!(
        home.unlock().await.unwrap_err(),
        ServiceError::App(HomeError::NotAuthorized("not from Python either".into()))
    );
    // The Autobahn caller's checks of ours (realm1).
    py.line_starting("ALL OK").await;
    py.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_contract_with_autobahn_json() {
    with_autobahn(Serializer::Json, "json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_contract_with_autobahn_msgpack() {
    with_autobahn(Serializer::MsgPack, "msgpack").await;
}
