//! The serializers on the router's path: decoding a message's envelope (the payload stays
//! the bytes it arrived in), forwarding a payload to a peer of the same serializer (decode a
//! CALL, encode the INVOCATION), and transcoding it to a peer of another serializer.
//!
//! `cargo bench -p wamp-bench --bench codec`

#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wamp_runtime::proto::{Dict, Message, Payload, Value};
use wamp_runtime::Serializer;

const SIZES: [usize; 3] = [64, 16 * 1024, 1024 * 1024];
const SERIALIZERS: [Serializer; 3] = [Serializer::Json, Serializer::MsgPack, Serializer::Cbor];

/// A CALL whose arguments are a string of `size` characters and a few keyword arguments.
fn call_frame(serializer: Serializer, size: usize) -> Bytes {
    let mut kwargs = Dict::new();
    kwargs.insert("n".into(), Value::Int(42));
    kwargs.insert("ok".into(), Value::Bool(true));
    kwargs.insert("name".into(), Value::Str("sensor-7".into()));
    let call = Message::Call {
        request: 1,
        options: Dict::new(),
        procedure: "com.app.store".into(),
        payload: Payload::new(vec![Value::Str("x".repeat(size))], kwargs),
    };
    serializer.encode(&call).expect("encodes")
}

/// What a router does with a CALL for a callee of serializer `to`.
fn forward(from: Serializer, to: Serializer, frame: &Bytes) -> Bytes {
    let Ok(Message::Call { payload, .. }) = from.decode(frame) else {
        panic!("a CALL");
    };
    let invocation = Message::Invocation {
        request: 7,
        registration: 9,
        details: Dict::new(),
        payload,
    };
    to.encode(&invocation).expect("encodes")
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    for size in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        for s in SERIALIZERS {
            let frame = call_frame(s, size);
            group.bench_with_input(
                BenchmarkId::new(format!("decode_envelope/{}", s.name()), size),
                &frame,
                |b, f| b.iter(|| s.decode(black_box(f)).expect("decodes")),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("forward/{}", s.name()), size),
                &frame,
                |b, f| b.iter(|| forward(s, s, black_box(f))),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("decode_values/{}", s.name()), size),
                &frame,
                |b, f| {
                    b.iter(|| match s.decode(black_box(f)) {
                        Ok(Message::Call { payload, .. }) => payload.to_values().expect("values"),
                        _ => panic!("a CALL"),
                    })
                },
            );
        }
        for (from, to) in [
            (Serializer::Json, Serializer::MsgPack),
            (Serializer::MsgPack, Serializer::Json),
        ] {
            let frame = call_frame(from, size);
            group.bench_with_input(
                BenchmarkId::new(format!("transcode/{}-{}", from.name(), to.name()), size),
                &frame,
                |b, f| b.iter(|| forward(from, to, black_box(f))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
