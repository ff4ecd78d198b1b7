//! The scenarios driven through our client, `wamp_runtime::Session`, so that its cost is
//! measured beside the lean connections': `rpc --client session` (`Session::call` and
//! `Session::register`), `rpc --client stub` (the generated stub and registrations of a
//! one-method `#[service]`), `pubsub --client session` (subscribers through
//! `Session::subscribe`; the publisher stays lean). Payloads are strings here, whatever
//! the serializer: compare with the lean connections' `--strings`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use wamp_runtime::proto::Value;
use wamp_runtime::{Session, WampError};

use crate::conn::ConnError;
use crate::stats::Latencies;
use crate::Load;

/// Which client drives a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Client {
    /// The load tool's own lean connections: one task a connection, no client library.
    Lean,
    /// `wamp_runtime::Session`.
    Session,
    /// The stub `#[service]` generates (rpc only).
    Stub,
}

/// The benchmark's service: `--client stub` calls it through `BenchClient`.
#[wamp_runtime::service(prefix = "bench")]
pub trait Bench {
    /// Returns its argument (`bench.echo`, the lean callee's procedure too).
    async fn echo(&self, payload: String) -> String;
}

struct Echo;

impl Bench for Echo {
    async fn echo(&self, payload: String) -> String {
        payload
    }
}

const PROCEDURE: &str = "bench.echo";

fn failed(e: impl std::fmt::Display) -> ConnError {
    ConnError::Unexpected(e.to_string())
}

async fn connect(load: &Load, url: &str) -> Result<Session, ConnError> {
    Session::builder(url, load.realm.clone())
        .serializer(load.serializer)
        .connect()
        .await
        .map_err(failed)
}

/// `rpc` through the client: `callees` sessions serve `bench.echo` (shared, round-robin,
/// when more than one), `callers` sessions keep `in_flight` calls each.
pub(crate) async fn rpc(
    load: &Load,
    client: Client,
    callers: usize,
    in_flight: usize,
    callees: usize,
) -> Result<crate::rpc::Report, ConnError> {
    if client == Client::Stub && callees > 1 {
        let text = "--client stub registers one callee (its registration is not shared)";
        return Err(ConnError::Unexpected(text.into()));
    }
    // Held until the end: dropping a registration unregisters it.
    let (mut serving, mut stubs, mut plain) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..callees {
        let session = connect(load, load.placed_url(i)).await?;
        if client == Client::Stub {
            stubs.push(Echo.register_on(&session).await.map_err(failed)?);
            serving.push(session);
            continue;
        }
        let mut register =
            session.register(
                PROCEDURE,
                |(p,): (String,)| async move { Ok::<_, WampError>(p) },
            );
        if callees > 1 {
            register = register.invoke("roundrobin");
        }
        plain.push(register.await.map_err(failed)?);
        serving.push(session);
    }
    let payload = "x".repeat(load.payload_bytes);
    let stop = Arc::new(AtomicBool::new(false));
    let from = Instant::now() + load.warmup;
    let mut tasks = Vec::new();
    let mut sessions = Vec::new();
    for _ in 0..callers {
        let session = connect(load, &load.url).await?;
        for _ in 0..in_flight {
            let (session, payload, stop) = (session.clone(), payload.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let stub = BenchClient::new(session.clone());
                let mut latencies = Latencies::default();
                let mut done = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let at = Instant::now();
                    let echoed = match client {
                        Client::Stub => stub.echo(payload.clone()).await.map_err(failed)?,
                        _ => session
                            .call::<String>(PROCEDURE, (payload.clone(),))
                            .await
                            .map_err(failed)?,
                    };
                    if echoed.len() != payload.len() {
                        return Err(ConnError::Unexpected("the echo differs".into()));
                    }
                    done += 1;
                    if at >= from {
                        latencies.record(at.elapsed());
                    }
                }
                Ok::<_, ConnError>((latencies, done))
            }));
        }
        sessions.push(session);
    }
    tokio::time::sleep(load.warmup + load.duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Latencies::default();
    let mut total = 0;
    for t in tasks {
        let (l, n) = t.await.map_err(failed)??;
        latencies.merge(l);
        total += n;
    }
    drop((stubs, plain));
    for s in sessions.into_iter().chain(serving) {
        let _ = s.leave().await;
    }
    Ok(crate::rpc::Report {
        calls: latencies.len(),
        total,
        elapsed: load.duration,
        latencies,
    })
}

/// A subscriber through `Session::subscribe`: counts events and their latency (the
/// publisher's timestamp is the first argument) until `done` and 200 ms of quiet.
pub(crate) async fn subscriber(
    load: &Load,
    url: &str,
    topic: &'static str,
    base: Instant,
    done: Arc<AtomicBool>,
) -> Result<tokio::task::JoinHandle<Result<(u64, Latencies), ConnError>>, ConnError> {
    let session = connect(load, url).await?;
    let mut events = session
        .subscribe::<(u64, Value)>(topic)
        .await
        .map_err(failed)?;
    Ok(tokio::spawn(async move {
        let mut n = 0u64;
        let mut latencies = Latencies::default();
        loop {
            match tokio::time::timeout(Duration::from_millis(200), events.next()).await {
                Ok(Some(Ok(event))) => {
                    n += 1;
                    let now = u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    let stamp = event.data.0;
                    latencies.record(Duration::from_nanos(now.saturating_sub(stamp)));
                }
                Ok(Some(Err(e))) => return Err(failed(e)),
                Ok(None) => return Ok((n, latencies)),
                Err(_) if done.load(Ordering::Relaxed) => {
                    let _ = session.leave().await;
                    return Ok((n, latencies));
                }
                Err(_) => continue,
            }
        }
    }))
}
