//! What a team switching from Crossbar.io relies on (issue 20), with Autobahn|Python as
//! the peer (`tests/python/autobahn_parity.py`, one feature per run): call concurrency,
//! session testaments, event history.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{router, run_python, start_router};
use wamp_router::EventHistory;
use wamp_runtime::MatchPolicy;

async fn feature(name: &str, serializer: &str) {
    feature_on(start_router().await, name, serializer).await;
}

async fn feature_on(r: wamp_router::RouterHandle, name: &str, serializer: &str) {
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

async fn history_router() -> wamp_router::RouterHandle {
    router()
        .event_history(
            "realm1",
            EventHistory::new("com.parity.log", MatchPolicy::Exact).limit(5),
        )
        .event_history(
            "realm1",
            EventHistory::new("com.parity.feed.", MatchPolicy::Prefix),
        )
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_history_with_autobahn_json() {
    feature_on(history_router().await, "history", "json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_history_with_autobahn_msgpack() {
    feature_on(history_router().await, "history", "msgpack").await;
}
