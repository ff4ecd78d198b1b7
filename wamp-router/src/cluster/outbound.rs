//! The ordered path from this node to the others: one FIFO, filled under realm locks and
//! drained into NATS by one task, so the order of decisions is the order on the wire.
//! (NATS keeps the order of one connection's messages to each subscriber.) What is queued
//! when the task wakes goes out as one batch per destination (`envelope::Batch`).
//!
//! Pushing never waits. While NATS is slow or away the queue holds up to a limit; past
//! it, envelopes are dropped, counted and logged, never lost silently.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::envelope::{Batch, Body};
use super::sequences::Sent;
use super::ENVELOPE_ROOM;

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
    /// The envelopes' sequence numbers, per destination.
    pub sequences: Arc<Sent>,
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
        let sequences = Arc::new(Sent::default());
        let counts = (sent.clone(), sequences.clone());
        let drain = drain(rx, depth.clone(), counts, client, prefix, me);
        let out = Self {
            tx,
            depth,
            dropped: AtomicU64::new(0),
            sent,
            sequences,
        };
        (out, drain)
    }

    /// Queues `body` for `node`.
    pub fn push(&self, node: Arc<str>, body: Body) {
        if self.depth.load(Ordering::Relaxed) >= LIMIT {
            // Its number is skipped: `node` sees the gap, and ends the calls it may be of.
            self.sequences.skip(&node);
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

/// The most envelopes taken from the queue at once.
const TAKE: usize = 256;
/// The size past which a batch is sent before another envelope joins it.
const BATCH_BYTES: usize = 64 * 1024;

async fn drain(
    mut rx: mpsc::UnboundedReceiver<(Arc<str>, Body)>,
    depth: Arc<AtomicUsize>,
    (sent, sequences): (Arc<AtomicU64>, Arc<Sent>),
    client: async_nats::Client,
    prefix: String,
    me: Arc<str>,
) {
    // A batch never passes what the NATS server takes in one message; an envelope alone
    // always fits (`Node::max_message_size`).
    let cap = BATCH_BYTES.min(
        client
            .server_info()
            .max_payload
            .saturating_sub(ENVELOPE_ROOM),
    );
    // Per destination: its subject and what waits to go.
    let mut links: foldhash::HashMap<Arc<str>, Link> = Default::default();
    let mut taken = Vec::with_capacity(TAKE);
    let mut numbers = Vec::with_capacity(TAKE);
    // The destinations with a batch to send, in the order they got one.
    let mut ready: Vec<Arc<str>> = Vec::new();
    // Whatever is queued now goes out together: one NATS message per destination in the
    // common case, so a burst costs NATS and the receiver one message, not one each.
    while rx.recv_many(&mut taken, TAKE).await > 0 {
        depth.fetch_sub(taken.len(), Ordering::Relaxed);
        numbers.clear();
        sequences.number(taken.iter().map(|(node, _)| node), &mut numbers);
        for ((node, body), sequence) in taken.drain(..).zip(numbers.iter().copied()) {
            let link = links.entry(node.clone()).or_insert_with(|| Link {
                subject: async_nats::Subject::from(format!("{prefix}.n.{node}.e.{me}")),
                batch: Batch::default(),
                count: 0,
            });
            if !link.batch.is_empty() && link.batch.len() + Batch::cost(&body) > cap {
                link.send(&client, &sent).await;
            }
            if link.batch.is_empty() {
                ready.push(node);
            }
            link.batch.push(&body, sequence);
            link.count += 1;
        }
        for node in ready.drain(..) {
            if let Some(link) = links.get_mut(&node) {
                link.send(&client, &sent).await;
            }
        }
    }
}

/// The path to one destination.
struct Link {
    subject: async_nats::Subject,
    batch: Batch,
    /// Envelopes in `batch`.
    count: u64,
}

impl Link {
    /// Hands the batch, if any, to NATS.
    async fn send(&mut self, client: &async_nats::Client, sent: &AtomicU64) {
        if self.batch.is_empty() {
            return;
        }
        let bytes = self.batch.take();
        let (size, count) = (bytes.len(), std::mem::take(&mut self.count));
        match client.publish(self.subject.clone(), bytes).await {
            Ok(()) => {
                sent.fetch_add(count, Ordering::Relaxed);
            }
            Err(e) => tracing::warn!(
                subject = %self.subject,
                size,
                count,
                "cluster: envelopes not sent: {e}"
            ),
        }
    }
}
