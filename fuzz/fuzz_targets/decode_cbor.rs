//! The cbor decoder on arbitrary bytes (see `check_decoder`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wamp_fuzz::check_decoder(wamp_runtime::Serializer::Cbor, data);
});
