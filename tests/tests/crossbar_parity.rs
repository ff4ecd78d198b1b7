//! What a team switching from Crossbar.io relies on (issue 20), with Autobahn|Python as
//! the peer (`tests/python/autobahn_parity.py`, one feature per run): call concurrency,
//! session testaments.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{run_python, start_router};

async fn feature(name: &str, serializer: &str) {
    let r = start_router().await;
    let out = run_python(
        "autobahn_parity.py",
        &[&r.url(), "realm1", serializer, name],
    )
    .await;
    assert!(out.contains(&format!("ALL OK {name}")), "{out}");
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limits_invocations_with_autobahn_json() {
    feature("concurrency", "json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limits_invocations_with_autobahn_msgpack() {
    feature("concurrency", "msgpack").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testaments_with_autobahn_json() {
    feature("testament", "json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testaments_with_autobahn_cbor() {
    feature("testament", "cbor").await;
}
