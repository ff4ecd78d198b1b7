//! A payload travels through the router as the bytes it arrived in: between peers of the same
//! serializer it is neither decoded nor re-encoded. Proved two ways on 1 MiB payloads: the
//! bytes that come out are identical to the bytes that went in, written in a form a
//! re-encoding would not reproduce (`1.50`, `"\u00e9"`, unsorted keys in JSON; a small
//! integer in a wide MessagePack encoding), and the router's own counters.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{router, RawPeer};
use wamp_runtime::proto::{Dict, Message};
use wamp_runtime::Serializer;

const MIB: usize = 1024 * 1024;

/// JSON arguments a re-encoding would change, with a 1 MiB string.
fn json_args(tag: &str) -> String {
    format!(
        r#"[1.50,"\u00e9",{{"b":1,"a":2}},"{tag}","{}"]"#,
        "x".repeat(MIB)
    )
}

/// MessagePack arguments a re-encoding would change: `[1 as uint32, 1 MiB of bytes]`.
fn msgpack_args(fill: u8) -> Vec<u8> {
    let mut a = vec![0x92, 0xce, 0, 0, 0, 1, 0xc6];
    a.extend_from_slice(&(MIB as u32).to_be_bytes());
    a.extend(std::iter::repeat_n(fill, MIB));
    a
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A MessagePack `str` of up to 31 bytes.
fn mp_str(s: &str) -> Vec<u8> {
    let mut out = vec![0xa0 | s.len() as u8];
    out.extend_from_slice(s.as_bytes());
    out
}

async fn register(callee: &mut RawPeer, procedure: &str) {
    callee
        .send(&Message::Register {
            request: 1,
            options: Dict::new(),
            procedure: procedure.into(),
        })
        .await;
    assert!(matches!(callee.recv().await, Message::Registered { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_mib_call_and_result_pass_through_untouched() {
    let r = router().start().await.expect("starts");
    for serializer in [Serializer::Json, Serializer::MsgPack] {
        let before = r.stats();
        let mut callee = RawPeer::join(&r.url(), serializer, "realm1").await;
        let procedure = format!("com.big.{}", serializer.subprotocol().replace('.', "_"));
        register(&mut callee, &procedure).await;
        let mut caller = RawPeer::join(&r.url(), serializer, "realm1").await;

        let (args, reply) = match serializer {
            Serializer::Json => (
                json_args("call").into_bytes(),
                json_args("result").into_bytes(),
            ),
            _ => (msgpack_args(0x11), msgpack_args(0x22)),
        };
        let call = match serializer {
            Serializer::Json => format!(
                "[48,7,{{}},\"{procedure}\",{}]",
                String::from_utf8_lossy(&args)
            )
            .into_bytes(),
            _ => [&[0x95, 48, 7, 0x80][..], &mp_str(&procedure), &args].concat(),
        };
        caller.send_frame(call.into()).await;

        let invocation = callee.recv_frame().await.expect("INVOCATION");
        assert!(
            contains(&invocation, &args),
            "{serializer:?}: the INVOCATION carries the CALL's argument bytes as they were"
        );
        let request = match serializer.decode(&invocation).expect("decodes") {
            Message::Invocation { request, .. } => request,
            other => panic!("expected INVOCATION, got {other:?}"),
        };
        let yield_frame = match serializer {
            Serializer::Json => {
                format!("[70,{request},{{}},{}]", String::from_utf8_lossy(&reply)).into_bytes()
            }
            _ => {
                let mut f = vec![0x94, 70, 0xcf];
                f.extend_from_slice(&request.to_be_bytes());
                f.push(0x80);
                f.extend_from_slice(&reply);
                f
            }
        };
        callee.send_frame(yield_frame.into()).await;
        let result = caller.recv_frame().await.expect("RESULT");
        assert!(
            contains(&result, &reply),
            "{serializer:?}: the RESULT carries the YIELD's argument bytes as they were"
        );
        assert!(matches!(
            serializer.decode(&result).expect("decodes"),
            Message::Result { request: 7, .. }
        ));

        let after = r.stats();
        assert_eq!(
            after.payloads_passed_through - before.payloads_passed_through,
            2,
            "{serializer:?}: CALL→INVOCATION and YIELD→RESULT passed through"
        );
        assert_eq!(
            after.payloads_transcoded, 0,
            "{serializer:?}: nothing transcoded"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_serializers_the_payload_is_transcoded_once_per_message() {
    let r = router().start().await.expect("starts");
    let mut callee = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    register(&mut callee, "com.big.mixed").await;
    let mut caller = RawPeer::join(&r.url(), Serializer::MsgPack, "realm1").await;
    let args = msgpack_args(0x33);
    let call = [&[0x95, 48, 9, 0x80][..], &mp_str("com.big.mixed"), &args].concat();
    caller.send_frame(call.into()).await;
    let request = match callee.recv().await {
        Message::Invocation {
            request, payload, ..
        } => {
            let values = payload.args_values().expect("JSON arguments");
            assert_eq!(values.len(), 2, "the arguments arrive whole");
            request
        }
        other => panic!("expected INVOCATION, got {other:?}"),
    };
    callee
        .send_text(&format!("[70,{request},{{}},{}]", json_args("back")))
        .await;
    assert!(matches!(
        caller.recv().await,
        Message::Result { request: 9, .. }
    ));
    let stats = r.stats();
    assert_eq!(stats.payloads_transcoded, 2, "INVOCATION and RESULT");
    assert_eq!(stats.payloads_passed_through, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_mib_event_is_encoded_once_per_serializer_of_its_fan_out() {
    let r = router().start().await.expect("starts");
    let mut subscribers = Vec::new();
    for serializer in [Serializer::Json, Serializer::Json, Serializer::MsgPack] {
        let mut s = RawPeer::join(&r.url(), serializer, "realm1").await;
        s.send(&Message::Subscribe {
            request: 1,
            options: Dict::new(),
            topic: "com.big.topic".into(),
        })
        .await;
        assert!(matches!(s.recv().await, Message::Subscribed { .. }));
        subscribers.push(s);
    }
    let mut publisher = RawPeer::join(&r.url(), Serializer::Json, "realm1").await;
    let args = json_args("event");
    publisher
        .send_text(&format!(
            "[16,1,{{\"acknowledge\":true}},\"com.big.topic\",{args}]"
        ))
        .await;
    assert!(matches!(
        publisher.recv().await,
        Message::Published { request: 1, .. }
    ));
    for s in &mut subscribers {
        let frame = s.recv_frame().await.expect("EVENT");
        if s.serializer == Serializer::Json {
            assert!(contains(&frame, args.as_bytes()), "JSON bytes as published");
        }
        match s.serializer.decode(&frame).expect("decodes") {
            Message::Event { payload, .. } => {
                assert_eq!(payload.args_values().expect("arguments").len(), 5);
            }
            other => panic!("expected EVENT, got {other:?}"),
        }
    }
    let stats = r.stats();
    assert_eq!(
        stats.payloads_passed_through, 1,
        "once for both JSON subscribers"
    );
    assert_eq!(stats.payloads_transcoded, 1, "once for the MessagePack one");
}
