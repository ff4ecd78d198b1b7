//! A session's outbound queue: one FIFO, so messages leave in the order the router decided
//! them, with limits that keep a slow peer from growing it without bound.
//!
//! - Past `event_limit` queued messages, the peer is a slow consumer. By default
//!   ([`SlowConsumer::DropEvents`]) new events for it are dropped, counted and logged: it
//!   loses events rather than stalling anyone. With [`SlowConsumer::Disconnect`] the
//!   session is disconnected instead (its calls then fail with an error).
//! - Other messages (replies, invocations, results, errors) cannot be dropped without breaking
//!   a call, so they are always queued: a burst of them (say, the errors for a hundred calls
//!   whose callee just left) is normal. A peer that stops taking them is caught by the
//!   writer instead, which disconnects it when one write waits longer than the write timeout;
//!   the calls it took part in then fail with an error.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wamp_runtime::proto::{Id, Message, Payload};
use wamp_runtime::Serializer;

/// What waits in an outbound queue.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A message, encoded by the writer for its peer. Boxed: a queue's slots are allocated
    /// a block at a time, and a bare message is five times the size of the rest.
    Message(Box<Message>),
    /// An EVENT already encoded in the peer's serializer: a fan-out encodes it once per
    /// serializer and every subscriber's queue shares the bytes.
    Event(Bytes),
}

/// What the router does with a session that does not keep up with its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlowConsumer {
    /// Drop the events that do not fit in its outbound queue, and count them.
    #[default]
    DropEvents,
    /// Disconnect it as soon as its outbound queue is full.
    Disconnect,
}

/// Router-wide counters.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub dropped_events: AtomicU64,
    pub slow_disconnects: AtomicU64,
    pub payloads_passed_through: AtomicU64,
    pub payloads_transcoded: AtomicU64,
}

impl Stats {
    /// Counts a payload about to be written for a peer of `serializer`: passed through as
    /// the bytes it arrived in, or transcoded from another serializer. Payloads the router
    /// made itself (meta API, errors) and empty ones are neither.
    pub fn count_payload(&self, payload: &Payload, serializer: Serializer) {
        match payload.serializer() {
            Some(s) if s == serializer => &self.payloads_passed_through,
            Some(_) => &self.payloads_transcoded,
            None => return,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// Encodes `msg` for a peer of `serializer`, counting its payload.
    pub fn encode(
        &self,
        serializer: Serializer,
        msg: &Message,
    ) -> Result<bytes::Bytes, wamp_runtime::serializer::EncodeError> {
        if let Some(p) = msg.payload() {
            self.count_payload(p, serializer);
        }
        serializer.encode(msg)
    }

    /// A snapshot of the counters.
    pub fn snapshot(&self) -> RouterStats {
        RouterStats {
            dropped_events: self.dropped_events.load(Ordering::Relaxed),
            slow_disconnects: self.slow_disconnects.load(Ordering::Relaxed),
            payloads_passed_through: self.payloads_passed_through.load(Ordering::Relaxed),
            payloads_transcoded: self.payloads_transcoded.load(Ordering::Relaxed),
        }
    }
}

/// What the router counted since it started (see [`crate::RouterHandle::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouterStats {
    /// Events dropped for subscribers too slow to take them.
    pub dropped_events: u64,
    /// Sessions disconnected for falling too far behind.
    pub slow_disconnects: u64,
    /// Payloads written to a peer as the bytes they arrived in (same serializer on both
    /// sides): never decoded or re-encoded by the router. An event counts once per
    /// serializer of its fan-out, not once per subscriber.
    pub payloads_passed_through: u64,
    /// Payloads decoded and re-encoded for a peer of another serializer (once per
    /// serializer for an event's fan-out).
    pub payloads_transcoded: u64,
}

/// The sending side of a session's outbound queue.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    tx: mpsc::UnboundedSender<Outbound>,
    queued: Arc<AtomicUsize>,
    dropped: Arc<AtomicU64>,
    /// Set once this queue disconnected its slow consumer. (The kill token itself is not
    /// checked per message: reading it takes a lock. A queue whose writer has stopped
    /// refuses messages anyway, its receiver being gone.)
    closed: Arc<AtomicBool>,
    event_limit: usize,
    policy: SlowConsumer,
    kill: CancellationToken,
    stats: Arc<Stats>,
}

/// The receiving side, owned by the session's writer.
pub(crate) struct OutboxReceiver {
    rx: mpsc::UnboundedReceiver<Outbound>,
    queued: Arc<AtomicUsize>,
}

impl OutboxReceiver {
    /// The next message to write, or `None` once every sender is gone.
    pub async fn recv(&mut self) -> Option<Outbound> {
        let m = self.rx.recv().await;
        if m.is_some() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
        m
    }

    /// The next message if one is queued already.
    pub fn try_recv(&mut self) -> Option<Outbound> {
        let m = self.rx.try_recv().ok();
        if m.is_some() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
        m
    }
}

/// A new outbound queue; it cancels `kill` to disconnect a slow consumer.
pub(crate) fn outbox(
    event_limit: usize,
    policy: SlowConsumer,
    kill: CancellationToken,
    stats: Arc<Stats>,
) -> (Outbox, OutboxReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let out = Outbox {
        tx,
        queued: queued.clone(),
        dropped: Arc::new(AtomicU64::new(0)),
        closed: Arc::new(AtomicBool::new(false)),
        event_limit: event_limit.max(1),
        policy,
        kill,
        stats,
    };
    (out, OutboxReceiver { rx, queued })
}

impl Outbox {
    /// Queues a message for `session` without waiting (see the module docs for the limits).
    pub fn push(&self, session: Id, msg: Message) {
        let event = matches!(msg, Message::Event { .. });
        self.queue(session, Outbound::Message(Box::new(msg)), event);
    }

    /// Queues an EVENT already encoded for this peer (dropped like any event when the
    /// queue is full).
    pub fn push_event(&self, session: Id, frame: Bytes) {
        self.queue(session, Outbound::Event(frame), true);
    }

    fn queue(&self, session: Id, item: Outbound, event: bool) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let depth = self.queued.load(Ordering::Relaxed);
        if self.policy == SlowConsumer::Disconnect && depth >= self.event_limit {
            if self.closed.swap(true, Ordering::Relaxed) {
                return;
            }
            tracing::warn!(
                session,
                queued = depth,
                "outbound queue full: disconnecting a slow consumer"
            );
            self.stats.slow_disconnects.fetch_add(1, Ordering::Relaxed);
            self.kill.cancel();
            return;
        }
        if event && depth >= self.event_limit {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            self.stats.dropped_events.fetch_add(1, Ordering::Relaxed);
            if n.is_power_of_two() {
                tracing::warn!(
                    session,
                    dropped = n,
                    "outbound queue full: events dropped for a slow subscriber"
                );
            }
            return;
        }
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(item).is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
