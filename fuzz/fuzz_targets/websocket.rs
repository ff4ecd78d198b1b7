//! Arbitrary bytes as WebSocket frames on a live router: a valid upgrade request, then the
//! input (masked or not, fragments, control frames, bad opcodes and lengths, a close). The
//! router must answer or close, never panic, and keep serving: every 256 inputs a
//! well-behaved client checks it still joins.

#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

static RUNS: AtomicU64 = AtomicU64::new(0);

const UPGRADE: &[u8] = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    let live = wamp_fuzz::live();
    let addr = live.router.local_addr();
    live.runtime.block_on(async {
        let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
            return;
        };
        let mut input = UPGRADE.to_vec();
        input.extend_from_slice(data);
        let _ = stream.write_all(&input).await;
        let _ = stream.shutdown().await;
        // The router answers (101, WELCOME, PONG, CLOSE) and closes; read until it does.
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut sink)).await;
        if RUNS.fetch_add(1, Ordering::Relaxed).is_multiple_of(256) {
            let url = format!("ws://{addr}/ws");
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
