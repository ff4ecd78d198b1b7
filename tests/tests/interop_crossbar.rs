//! Our client against a router we did not write: Crossbar.io, the reference WAMP router
//! (installed from PyPI into `.venv-crossbar`), with each serializer, over WebSocket (alone
//! and with an Autobahn for Python peer) and over RawSocket.

use tests::scenarios::{rust_and_autobahn, rust_client_advanced, rust_client_roles};
use tests::Crossbar;
use wamp_runtime::Serializer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_against_crossbar() {
    let node = Crossbar::start().await;
    for serializer in Serializer::ALL {
        rust_client_roles(&node.url(), serializer).await;
        rust_and_autobahn(&node.url(), serializer).await;
        rust_client_roles(&node.rawsocket_url(), serializer).await;
    }
    rust_client_advanced(&node.url(), Serializer::MsgPack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_against_our_router_the_same_way() {
    let r = tests::start_router().await;
    for serializer in Serializer::ALL {
        rust_client_roles(&r.url(), serializer).await;
        rust_client_advanced(&r.url(), serializer).await;
    }
}
