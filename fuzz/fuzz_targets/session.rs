//! The router's session state machine: a stream of arbitrary (well-formed) messages from
//! one in-process connection against a live realm. The input is a flag byte (bit 0: start
//! with a valid HELLO, to reach the established state) and then length-prefixed MessagePack
//! frames; each that decodes is sent as it is. The router must answer, ABORT or close,
//! never panic, and keep serving others: every 256 inputs a canary call checks it.

#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use wamp_runtime::proto::{Dict, Message, Value};
use wamp_runtime::transport::ConnectOptions;
use wamp_runtime::{Serializer, Session};

static RUNS: AtomicU64 = AtomicU64::new(0);

fn hello() -> Message {
    let mut roles = Dict::new();
    for r in ["caller", "callee", "publisher", "subscriber"] {
        roles.insert(r.into(), Value::Dict(Dict::new()));
    }
    let mut details = Dict::new();
    details.insert("roles".into(), Value::Dict(roles));
    Message::Hello {
        realm: "realm1".into(),
        details,
    }
}

/// The messages of an input.
fn messages(data: &[u8]) -> Vec<Message> {
    let mut out = Vec::new();
    let Some((&flags, mut rest)) = data.split_first() else {
        return out;
    };
    if flags & 1 == 0 {
        out.push(hello());
    }
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (frame, tail) = tail.split_at(len);
        if let Ok(m) = Serializer::MsgPack.decode(&Bytes::copy_from_slice(frame)) {
            out.push(m);
        }
        rest = tail;
    }
    out
}

/// A session in realm1 that serves `fuzz.canary`, and one that calls it.
fn canary() -> &'static (Session, Session) {
    static CANARY: OnceLock<(Session, Session)> = OnceLock::new();
    CANARY.get_or_init(|| {
        let live = wamp_fuzz::live();
        live.runtime.block_on(async {
            let callee = Session::builder(live.router.endpoint(), "realm1")
                .connect()
                .await
                .unwrap_or_else(|e| panic!("canary callee: {e}"));
            let registration = callee
                .register("fuzz.canary", |_: ()| async {
                    Ok::<_, wamp_runtime::WampError>(1)
                })
                .await
                .unwrap_or_else(|e| panic!("canary registration: {e}"));
            std::mem::forget(registration);
            let caller = Session::builder(live.router.endpoint(), "realm1")
                .connect()
                .await
                .unwrap_or_else(|e| panic!("canary caller: {e}"));
            (callee, caller)
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let live = wamp_fuzz::live();
    let (_, caller) = canary();
    let msgs = messages(data);
    live.runtime.block_on(async {
        let options = ConnectOptions {
            serializer: Serializer::MsgPack,
            max_message_size: 64 * 1024,
            tls: None,
            keepalive: None,
        };
        let Ok(mut transport) = live.router.endpoint().connect(&options).await else {
            return;
        };
        for m in msgs {
            if transport.outgoing.send(m).await.is_err() {
                break;
            }
            // Take what the router answered so far, without waiting for more.
            while let Ok(Some(_)) =
                tokio::time::timeout(Duration::from_millis(0), transport.incoming.recv()).await
            {
            }
        }
        // Hang up; the router ends the session and closes its side.
        drop(transport.outgoing);
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while transport.incoming.recv().await.is_some() {}
        })
        .await;
        if RUNS.fetch_add(1, Ordering::Relaxed).is_multiple_of(256) {
            let answer: Result<i64, _> = caller
                .call("fuzz.canary", ())
                .timeout(Duration::from_secs(5))
                .await;
            assert!(
                matches!(answer, Ok(1)),
                "the router stopped serving: {answer:?}"
            );
        }
    });
});
