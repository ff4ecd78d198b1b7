//! Interoperability with a real third-party client: Autobahn for Python joins our router
//! with each serializer, registers, calls, publishes and subscribes
//! (`tests/python/autobahn_basic.py`), and uses the Advanced Profile features it supports
//! (`tests/python/autobahn_advanced.py`).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{router, run_python, start_router};

async fn basic_profile_with(serializer: &str) {
    let r = start_router().await;
    let out = run_python("autobahn_basic.py", &[&r.url(), "realm1", serializer]).await;
    assert!(out.contains(&format!("ALL OK {serializer}")), "{out}");
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_python_json() {
    basic_profile_with("json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_python_msgpack() {
    basic_profile_with("msgpack").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_python_cbor() {
    basic_profile_with("cbor").await;
}

async fn advanced_profile_with(serializer: &str) {
    // Autobahn has no `disclose_me`: callers and publishers are identified by the router's
    // policy, as with a Crossbar.io role that sets `disclose`.
    let r = router()
        .disclose_caller(true)
        .disclose_publisher(true)
        .start()
        .await
        .expect("router starts");
    let out = run_python("autobahn_advanced.py", &[&r.url(), "realm1", serializer]).await;
    assert!(out.contains(&format!("ALL OK {serializer}")), "{out}");
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_python_advanced_json() {
    advanced_profile_with("json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_python_advanced_msgpack() {
    advanced_profile_with("msgpack").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_python_advanced_cbor() {
    advanced_profile_with("cbor").await;
}
