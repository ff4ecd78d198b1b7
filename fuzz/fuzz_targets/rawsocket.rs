//! Arbitrary bytes on a RawSocket connection to a live router: the 4-octet handshake, then
//! frames (messages, pings, pongs, bad headers, lengths over the limit). The router must
//! answer or close, never panic, and keep serving: every 256 inputs a well-behaved client
//! checks it still joins.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let live = wamp_fuzz::live();
    let Some(addr) = live.router.rawsocket_addr() else {
        return;
    };
    // The router answers (handshake, ABORT, PONG) and closes.
    let url = format!("tcp://{addr}");
    live.runtime.block_on(wamp_fuzz::throw_at(addr, data, url));
});
