//! The client's request path, end to end through an in-process router (nothing
//! serialized, no socket): a call and its result, the same call with a timeout (its
//! deadline kept by the session's table of requests in flight), and an acknowledged
//! publication. What this measures is the client's own bookkeeping and the router's
//! routing, without the codecs and transports measured elsewhere.
//!
//! `cargo bench -p wamp-bench --bench client`

#![allow(missing_docs, clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use wamp_router::{Router, RouterHandle};
use wamp_runtime::{Session, WampError};

/// A router, a callee of `bench.echo` and a caller, all in this process.
async fn setup() -> (RouterHandle, Session, Session) {
    let router = Router::builder()
        .realm("realm1")
        .start()
        .await
        .expect("the router starts");
    let callee = Session::builder(router.endpoint(), "realm1")
        .connect()
        .await
        .expect("the callee joins");
    callee
        .register(
            "bench.echo",
            |(n,): (u64,)| async move { Ok::<_, WampError>(n) },
        )
        .await
        .expect("registers")
        .detach();
    let caller = Session::builder(router.endpoint(), "realm1")
        .connect()
        .await
        .expect("the caller joins");
    (router, callee, caller)
}

fn requests(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (_router, _callee, caller) = rt.block_on(setup());
    let mut group = c.benchmark_group("client");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("call", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..n {
                    let r: u64 = caller.call("bench.echo", (i,)).await.expect("a result");
                    std::hint::black_box(r);
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("call with a timeout", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..n {
                    let r: u64 = caller
                        .call("bench.echo", (i,))
                        .timeout(Duration::from_secs(30))
                        .await
                        .expect("a result");
                    std::hint::black_box(r);
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("publish acknowledged", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..n {
                    caller
                        .publish("bench.topic", (i,))
                        .acknowledge()
                        .await
                        .expect("acknowledged");
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, requests);
criterion_main!(benches);
