//! Our client with a real third-party peer: Autobahn for Python calls our callee and
//! serves our caller, and events flow both ways, with each serializer (see
//! `tests/python/autobahn_peer.py` for the Python side's checks).

use tests::scenarios::rust_and_autobahn;
use tests::start_router;
use wamp_runtime::Serializer;

async fn with_autobahn(serializer: Serializer) {
    let r = start_router().await;
    rust_and_autobahn(&r.url(), serializer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_and_autobahn_json() {
    with_autobahn(Serializer::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_and_autobahn_msgpack() {
    with_autobahn(Serializer::MsgPack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_and_autobahn_cbor() {
    with_autobahn(Serializer::Cbor).await;
}
