//! The ordered path from this node to the others: one FIFO, filled under realm locks and
//! drained into NATS by one task, so the order of decisions is the order on the wire.
//! (NATS keeps the order of one connection's messages to each subscriber.)
//!
//! Pushing never waits. While NATS is slow or away the queue holds up to a limit; past
//! it, envelopes are dropped, counted and logged, never lost silently.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::envelope::{self, Body};

/// How many envelopes may wait for NATS before new ones are dropped.
const LIMIT: usize = 1 << 16;

/// The sending side, shared by the realms of this node.
#[derive(Debug)]
pub(crate) struct Outbound {
    tx: mpsc::UnboundedSender<(Arc<str>, Body)>,
    depth: Arc<AtomicUsize>,
    /// Envelopes dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Envelopes handed to NATS.
    pub sent: Arc<AtomicU64>,
}

impl Outbound {
    /// The queue and the task that drains it into `client`, addressing node `n` at
    /// `{prefix}.n.{n}.e.{me}`.
    pub fn new(
        client: async_nats::Client,
        prefix: String,
        me: Arc<str>,
    ) -> (Self, impl std::future::Future<Output = ()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let depth = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(AtomicU64::new(0));
        let drain = drain(rx, depth.clone(), sent.clone(), client, prefix, me);
        let out = Self {
            tx,
            depth,
            dropped: AtomicU64::new(0),
            sent,
        };
        (out, drain)
    }

    /// Queues `body` for `node`.
    pub fn push(&self, node: Arc<str>, body: Body) {
        if self.depth.load(Ordering::Relaxed) >= LIMIT {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n,
                    "cluster: the queue to NATS is full, envelopes dropped"
                );
            }
            return;
        }
        self.depth.fetch_add(1, Ordering::Relaxed);
        if self.tx.send((node, body)).is_err() {
            self.depth.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

async fn drain(
    mut rx: mpsc::UnboundedReceiver<(Arc<str>, Body)>,
    depth: Arc<AtomicUsize>,
    sent: Arc<AtomicU64>,
    client: async_nats::Client,
    prefix: String,
    me: Arc<str>,
) {
    // Per destination: its subject and the last sequence sent to it.
    let mut links: HashMap<Arc<str>, (async_nats::Subject, u64)> = HashMap::new();
    while let Some((node, body)) = rx.recv().await {
        depth.fetch_sub(1, Ordering::Relaxed);
        let (subject, sequence) = links.entry(node).or_insert_with_key(|n| {
            let s = format!("{prefix}.n.{n}.e.{me}");
            (async_nats::Subject::from(s), 0)
        });
        *sequence += 1;
        let frame = envelope::frame(&body, *sequence);
        let size = frame.len();
        match client.publish(subject.clone(), frame).await {
            Ok(()) => {
                sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => tracing::warn!(subject = %subject, size, "cluster: envelope not sent: {e}"),
        }
    }
}
