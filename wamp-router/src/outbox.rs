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

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use tokio_util::sync::CancellationToken;
use wamp_runtime::proto::{Id, Message};

use crate::metrics::Stats;

/// What waits in an outbound queue.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A message, encoded by the writer for its peer. Boxed: a queue's slots are allocated
    /// a block at a time, and a bare message is five times the size of the rest.
    Message(Box<Message>),
    /// An EVENT already encoded in the peer's serializer: a fan-out encodes it once per
    /// serializer and every subscriber's queue shares the bytes.
    Event(Bytes),
    /// The transport's own frame, queued by the connection's reader for its writer.
    Control(Control),
}

/// A frame of the transport rather than of WAMP, answering what a connection's reader saw.
#[derive(Debug)]
pub(crate) enum Control {
    /// A pong carrying the payload of the ping it answers.
    Pong(Bytes),
    /// A WebSocket close frame with this status code: the last frame written.
    Close(u16),
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

/// What the senders and the receiver of a queue share. A plain locked `VecDeque` rather
/// than a channel: an idle session's queue holds no allocation at all (a channel keeps a
/// block of slots), and the writer, its only reader, is woken through one `AtomicWaker`.
#[derive(Debug)]
struct Shared {
    queue: parking_lot::Mutex<Queue>,
    waker: AtomicWaker,
    /// Events dropped for this session.
    dropped: AtomicU64,
    /// Set once this queue disconnected its slow consumer. (The kill token itself is not
    /// checked per message: reading it takes a lock. A queue whose writer has stopped
    /// refuses messages anyway, its receiver being gone.)
    closed: AtomicBool,
    event_limit: usize,
    policy: SlowConsumer,
    kill: CancellationToken,
    stats: Arc<Stats>,
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Outbound>,
    /// Every sender is gone: the receiver ends once the queue is empty.
    senders_gone: bool,
    /// The receiver is gone: nothing more is queued.
    receiver_gone: bool,
}

/// Marks the queue closed for the receiver when the last [`Outbox`] clone goes.
#[derive(Debug)]
struct SenderGuard(Arc<Shared>);

impl Drop for SenderGuard {
    fn drop(&mut self) {
        self.0.queue.lock().senders_gone = true;
        self.0.waker.wake();
    }
}

/// The sending side of a session's outbound queue (one pointer: the realm keeps one per
/// session). A session of another node of the cluster has a remote outbox instead: what
/// is pushed goes to its node.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    sink: Sink,
}

#[derive(Debug, Clone)]
enum Sink {
    Local(Arc<SenderGuard>),
    Remote(Arc<dyn RemoteSink>),
}

/// Where the messages for a session of another node go.
pub(crate) trait RemoteSink: Send + Sync + std::fmt::Debug {
    /// Passes `msg` for `session` on to its node, without waiting.
    fn push(&self, session: Id, msg: Message);
}

/// The receiving side, owned by the session's writer.
#[derive(Debug)]
pub(crate) struct OutboxReceiver {
    shared: Arc<Shared>,
}

impl Drop for OutboxReceiver {
    fn drop(&mut self) {
        let mut q = self.shared.queue.lock();
        q.receiver_gone = true;
        q.items = VecDeque::new();
    }
}

impl OutboxReceiver {
    /// The next message to write, or `None` once every sender is gone and the queue is
    /// empty.
    pub async fn recv(&mut self) -> Option<Outbound> {
        std::future::poll_fn(|cx| {
            if let Some(next) = self.take() {
                return Poll::Ready(next);
            }
            self.shared.waker.register(cx.waker());
            // Anything queued between the first look and the registration is seen here.
            match self.take() {
                Some(next) => Poll::Ready(next),
                None => Poll::Pending,
            }
        })
        .await
    }

    /// `Some(item)` when there is one, `Some(None)` when the queue is empty for good.
    fn take(&self) -> Option<Option<Outbound>> {
        let mut q = self.shared.queue.lock();
        match q.items.pop_front() {
            Some(item) => {
                if q.items.is_empty() && q.items.capacity() > SHRINK_ABOVE {
                    // A burst is over: an idle session keeps no big buffer.
                    q.items = VecDeque::new();
                }
                Some(Some(item))
            }
            None if q.senders_gone => Some(None),
            None => None,
        }
    }

    /// The next message if one is queued already.
    pub fn try_recv(&mut self) -> Option<Outbound> {
        self.take().flatten()
    }
}

/// Queue capacity kept once a queue empties; a larger buffer is released.
const SHRINK_ABOVE: usize = 64;

/// A new outbound queue; it cancels `kill` to disconnect a slow consumer.
pub(crate) fn outbox(
    event_limit: usize,
    policy: SlowConsumer,
    kill: CancellationToken,
    stats: Arc<Stats>,
) -> (Outbox, OutboxReceiver) {
    let shared = Arc::new(Shared {
        queue: parking_lot::Mutex::new(Queue::default()),
        waker: AtomicWaker::new(),
        dropped: AtomicU64::new(0),
        closed: AtomicBool::new(false),
        event_limit: event_limit.max(1),
        policy,
        kill,
        stats,
    });
    let out = Outbox {
        sink: Sink::Local(Arc::new(SenderGuard(shared.clone()))),
    };
    (out, OutboxReceiver { shared })
}

impl Outbox {
    /// The outbox of a session of another node.
    pub fn remote(sink: Arc<dyn RemoteSink>) -> Self {
        Self {
            sink: Sink::Remote(sink),
        }
    }

    /// Queues a message for `session` without waiting (see the module docs for the limits).
    pub fn push(&self, session: Id, msg: Message) {
        match &self.sink {
            Sink::Local(guard) => {
                let event = matches!(msg, Message::Event { .. });
                queue(&guard.0, session, Outbound::Message(Box::new(msg)), event);
            }
            Sink::Remote(sink) => sink.push(session, msg),
        }
    }

    /// Queues a transport frame (never dropped: it answers the peer itself).
    pub fn push_control(&self, control: Control) {
        if let Sink::Local(guard) = &self.sink {
            queue(&guard.0, 0, Outbound::Control(control), false);
        }
    }

    /// Queues an EVENT already encoded for this peer (dropped like any event when the
    /// queue is full).
    pub fn push_event(&self, session: Id, frame: Bytes) {
        match &self.sink {
            Sink::Local(guard) => queue(&guard.0, session, Outbound::Event(frame), true),
            Sink::Remote(_) => {
                tracing::debug!(
                    session,
                    "an encoded event is not for another node's session"
                );
            }
        }
    }
}

fn queue(shared: &Shared, session: Id, item: Outbound, event: bool) {
    if shared.closed.load(Ordering::Relaxed) {
        return;
    }
    let mut q = shared.queue.lock();
    if q.receiver_gone {
        return;
    }
    let depth = q.items.len();
    if shared.policy == SlowConsumer::Disconnect && depth >= shared.event_limit {
        drop(q);
        if shared.closed.swap(true, Ordering::Relaxed) {
            return;
        }
        tracing::warn!(
            session,
            queued = depth,
            "outbound queue full: disconnecting a slow consumer"
        );
        shared
            .stats
            .slow_disconnects
            .fetch_add(1, Ordering::Relaxed);
        shared.kill.cancel();
        return;
    }
    if event && depth >= shared.event_limit {
        drop(q);
        let n = shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        shared.stats.dropped_events.fetch_add(1, Ordering::Relaxed);
        if n.is_power_of_two() {
            tracing::warn!(
                session,
                dropped = n,
                "outbound queue full: events dropped for a slow subscriber"
            );
        }
        return;
    }
    q.items.push_back(item);
    drop(q);
    // The writer drains the whole queue before it waits again, so only the first
    // message after it went idle needs to wake it.
    if depth == 0 {
        shared.waker.wake();
    }
}
