//! `pubsub`: P publishers with acknowledged publications (at most W unacknowledged each),
//! N subscribers of one topic; delivery latency from a timestamp in every event, and
//! events lost (expected: acknowledged publications × subscribers).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wamp_runtime::proto::{Dict, Message, Payload, Value};

use crate::conn::{self, ConnError};
use crate::stats::Latencies;
use crate::Load;

const TOPIC: &str = "bench.topic";

/// The result of a run.
pub(crate) struct Report {
    pub(crate) published: u64,
    pub(crate) delivered: u64,
    pub(crate) lost: u64,
    pub(crate) elapsed: Duration,
    pub(crate) latencies: Latencies,
}

/// Runs the scenario.
pub(crate) async fn run(
    load: &Load,
    publishers: usize,
    subscribers: usize,
    window: usize,
) -> Result<Report, ConnError> {
    let base = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let mut subs = Vec::new();
    for i in 0..subscribers {
        if load.client == crate::client::Client::Session {
            let url = load.placed_url(i);
            subs.push(crate::client::subscriber(load, url, TOPIC, base, done.clone()).await?);
            continue;
        }
        let (tx, rx) = conn::join_with(
            load,
            load.placed_url(i),
            Message::Subscribe {
                request: 1,
                options: Dict::new(),
                topic: TOPIC.into(),
            },
        )
        .await?;
        subs.push(tokio::spawn(receive(tx, rx, base, done.clone())));
    }
    let _background = crate::background::install(
        load,
        crate::background::Kind::Subscriptions,
        load.background_match,
        load.background,
    )
    .await?;
    let payload = load.bytes();
    let started = Instant::now();
    let mut pubs = Vec::new();
    for _ in 0..publishers {
        let (tx, rx, _) = conn::join(&load.url, &load.realm, load.serializer).await?;
        pubs.push(tokio::spawn(publish(
            tx,
            rx,
            window,
            payload.clone(),
            base,
            stop.clone(),
        )));
    }
    tokio::time::sleep(load.duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut published = 0;
    for p in pubs {
        published += p
            .await
            .map_err(|e| ConnError::Unexpected(e.to_string()))??;
    }
    let elapsed = started.elapsed();
    // Let what is on its way arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    done.store(true, Ordering::Relaxed);
    let mut delivered = 0;
    let mut latencies = Latencies::default();
    for s in subs {
        if let Ok(Ok((n, l))) = s.await {
            delivered += n;
            latencies.merge(l);
        }
    }
    let expected = published * subscribers as u64;
    Ok(Report {
        published,
        delivered: delivered.min(expected),
        lost: expected.saturating_sub(delivered),
        elapsed,
        latencies,
    })
}

/// Publishes until `stop`, with at most `window` publications unacknowledged; returns how
/// many were acknowledged.
async fn publish(
    mut tx: conn::Tx,
    mut rx: conn::Rx,
    window: usize,
    bytes: Value,
    base: Instant,
    stop: Arc<AtomicBool>,
) -> Result<u64, ConnError> {
    let mut options = Dict::new();
    options.insert("acknowledge".into(), Value::Bool(true));
    let mut next = 1u64;
    let mut outstanding = 0usize;
    let mut acknowledged = 0u64;
    loop {
        while outstanding < window && !stop.load(Ordering::Relaxed) {
            let stamp = u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX);
            tx.send(&Message::Publish {
                request: next,
                options: options.clone(),
                topic: TOPIC.into(),
                payload: Payload::args(vec![Value::UInt(stamp), bytes.clone()]),
            })
            .await?;
            next += 1;
            outstanding += 1;
        }
        if outstanding == 0 {
            return Ok(acknowledged);
        }
        match rx.recv().await? {
            Message::Published { .. } => {
                outstanding -= 1;
                acknowledged += 1;
            }
            Message::Error { error, .. } => return Err(ConnError::Unexpected(error)),
            _ => {}
        }
    }
}

/// Counts events and their latency; returns once `done` is set and the connection has
/// been quiet for 200 ms.
async fn receive(
    _tx: conn::Tx,
    mut rx: conn::Rx,
    base: Instant,
    done: Arc<AtomicBool>,
) -> Result<(u64, Latencies), ConnError> {
    let mut n = 0u64;
    let mut latencies = Latencies::default();
    loop {
        let next = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await;
        let msg = match next {
            Ok(m) => m?,
            Err(_) if done.load(Ordering::Relaxed) => return Ok((n, latencies)),
            Err(_) => continue,
        };
        if let Message::Event { payload, .. } = msg {
            n += 1;
            let stamp = payload
                .args_values()
                .ok()
                .and_then(|a| a.first().and_then(Value::as_u64));
            if let Some(stamp) = stamp {
                let now = u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX);
                latencies.record(Duration::from_nanos(now.saturating_sub(stamp)));
            }
        }
    }
}
