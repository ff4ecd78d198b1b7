//! Arbitrary bytes as WebSocket frames on a live router: a valid upgrade request, then the
//! input (masked or not, fragments, control frames, bad opcodes and lengths, a close). The
//! router must answer or close, never panic, and keep serving: every 256 inputs a
//! well-behaved client checks it still joins.

#![no_main]

use libfuzzer_sys::fuzz_target;

const UPGRADE: &[u8] = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    let live = wamp_fuzz::live();
    let addr = live.router.local_addr();
    let mut input = UPGRADE.to_vec();
    input.extend_from_slice(data);
    // The router answers (101, WELCOME, PONG, CLOSE) and closes.
    let url = format!("ws://{addr}/ws");
    live.runtime
        .block_on(wamp_fuzz::throw_at(addr, &input, url));
});
