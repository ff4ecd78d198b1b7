//! `rpc`: C caller sessions, each keeping F calls in flight, against K callees of one
//! (shared, round-robin) registration that echo their arguments.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wamp_runtime::proto::{Dict, Message, Payload, Value};

use crate::conn::{self, ConnError};
use crate::stats::Latencies;
use crate::Load;

const PROCEDURE: &str = "bench.echo";

/// The result of a run.
pub(crate) struct Report {
    pub(crate) calls: usize,
    /// Every call that finished, the warm-up's too: what an instruction count divides by.
    pub(crate) total: u64,
    pub(crate) elapsed: Duration,
    pub(crate) latencies: Latencies,
}

/// Runs the scenario: `callees` callees, `callers` callers with `in_flight` calls each.
pub(crate) async fn run(
    load: &Load,
    callers: usize,
    in_flight: usize,
    callees: usize,
    describe: bool,
) -> Result<Report, ConnError> {
    let mut options = Dict::new();
    if callees > 1 {
        options.insert("invoke".into(), Value::Str("roundrobin".into()));
    }
    let mut serving = Vec::new();
    for i in 0..callees {
        let (tx, rx) = conn::join_with(
            load,
            load.placed_url(i),
            Message::Register {
                request: 1,
                options: options.clone(),
                procedure: PROCEDURE.into(),
            },
        )
        .await?;
        let (tx, rx) = if describe {
            define(tx, rx).await?
        } else {
            (tx, rx)
        };
        serving.push(tokio::spawn(serve(tx, rx)));
    }
    let _background = crate::background::install(
        load,
        crate::background::Kind::Registrations,
        load.background_match,
        load.background,
    )
    .await?;
    let payload = load.payload();
    let stop = Arc::new(AtomicBool::new(false));
    let measuring_from = Instant::now() + load.warmup;
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let (tx, rx, _) = conn::join(&load.url, &load.realm, load.serializer).await?;
        tasks.push(tokio::spawn(call_loop(
            tx,
            rx,
            in_flight,
            payload.clone(),
            stop.clone(),
            measuring_from,
        )));
    }
    tokio::time::sleep(load.warmup + load.duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Latencies::default();
    let mut total = 0;
    for t in tasks {
        match t.await {
            Ok(Ok((l, n))) => {
                latencies.merge(l);
                total += n;
            }
            Ok(Err(e)) => return Err(e),
            Err(e) => return Err(ConnError::Unexpected(e.to_string())),
        }
    }
    for s in serving {
        s.abort();
    }
    Ok(Report {
        calls: latencies.len(),
        total,
        elapsed: load.duration,
        latencies,
    })
}

/// Describes the procedure as taking one string (`wamp.reflect.define`), on the callee's
/// connection.
async fn define(mut tx: conn::Tx, mut rx: conn::Rx) -> Result<(conn::Tx, conn::Rx), ConnError> {
    use wamp_runtime::interface::{Interface, Param, Payload as Described, Procedure};
    let mut interface = Interface::new("Bench");
    interface.procedures.push(Procedure {
        uri: PROCEDURE.into(),
        pattern: PROCEDURE.into(),
        args: vec![Param {
            name: "payload".into(),
            schema: serde_json::json!({"type": "string"}),
            required: true,
            description: None,
        }],
        result: Described {
            schema: serde_json::json!({"type": "string"}),
            ..Described::default()
        },
        ..Procedure::default()
    });
    let value = wamp_runtime::proto::to_value(&interface)
        .map_err(|e| ConnError::Unexpected(e.to_string()))?;
    tx.send(&Message::Call {
        request: 2,
        options: Dict::new(),
        procedure: "wamp.reflect.define".into(),
        payload: Payload::args(vec![value]),
    })
    .await?;
    match rx.recv().await? {
        Message::Result { .. } => Ok((tx, rx)),
        other => Err(ConnError::Unexpected(format!("define: {other:?}"))),
    }
}

/// A callee: every INVOCATION is answered with its own arguments.
async fn serve(mut tx: conn::Tx, mut rx: conn::Rx) -> Result<(), ConnError> {
    loop {
        match rx.recv().await? {
            Message::Invocation {
                request, payload, ..
            } => {
                tx.send(&Message::Yield {
                    request,
                    options: Dict::new(),
                    payload,
                })
                .await?
            }
            Message::Goodbye { .. } => return Ok(()),
            _ => {}
        }
    }
}

/// A caller: `in_flight` calls at all times until `stop`; the latencies of those that
/// finish after `from`, and how many finished in all.
async fn call_loop(
    mut tx: conn::Tx,
    mut rx: conn::Rx,
    in_flight: usize,
    payload: Payload,
    stop: Arc<AtomicBool>,
    from: Instant,
) -> Result<(Latencies, u64), ConnError> {
    let mut done = 0u64;
    let mut sent: HashMap<u64, Instant> = HashMap::with_capacity(in_flight * 2);
    let mut next = 1u64;
    let mut latencies = Latencies::default();
    let call = |request| Message::Call {
        request,
        options: Dict::new(),
        procedure: PROCEDURE.into(),
        payload: payload.clone(),
    };
    for _ in 0..in_flight {
        sent.insert(next, Instant::now());
        tx.send(&call(next)).await?;
        next += 1;
    }
    while !sent.is_empty() {
        match rx.recv().await? {
            Message::Result { request, .. } => {
                done += 1;
                let now = Instant::now();
                if let Some(at) = sent.remove(&request) {
                    if now >= from {
                        latencies.record(now - at);
                    }
                }
                if !stop.load(Ordering::Relaxed) {
                    sent.insert(next, Instant::now());
                    tx.send(&call(next)).await?;
                    next += 1;
                }
            }
            Message::Error { error, .. } => return Err(ConnError::Unexpected(error)),
            _ => {}
        }
    }
    Ok((latencies, done))
}
