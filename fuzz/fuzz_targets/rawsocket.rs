//! Arbitrary bytes on a RawSocket connection to a live router: the 4-octet handshake, then
//! frames (messages, pings, pongs, bad headers, lengths over the limit). The router must
//! answer or close, never panic, and keep serving: every 256 inputs a well-behaved client
//! checks it still joins.

#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

static RUNS: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let live = wamp_fuzz::live();
    let Some(addr) = live.router.rawsocket_addr() else {
        return;
    };
    live.runtime.block_on(async {
        let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
            return;
        };
        let _ = stream.write_all(data).await;
        let _ = stream.shutdown().await;
        // The router answers (handshake, ABORT, PONG) and closes; read until it does.
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut sink)).await;
        if RUNS.fetch_add(1, Ordering::Relaxed).is_multiple_of(256) {
            let url = format!("tcp://{addr}");
            let joined = tokio::time::timeout(
                Duration::from_secs(5),
                wamp_runtime::Session::builder(url, "realm1").connect(),
            )
            .await;
            assert!(
                matches!(joined, Ok(Ok(_))),
                "the router stopped serving: {joined:?}"
            );
        }
    });
});
