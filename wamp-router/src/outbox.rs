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
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use futures_util::task::AtomicWaker;
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
///
/// The queue also carries the two ways the router ends a connection (see [`Kill`]): two
/// flags and the session loop's waker, rather than cancellation tokens, which would cost
/// an allocation each and a waiter in every task that watches them.
#[derive(Debug)]
struct Shared {
    queue: parking_lot::Mutex<Queue>,
    /// The writer's waker: for a queued message, and for a hang-up.
    waker: AtomicWaker,
    /// The session loop's waker (see [`Kill::ended`]).
    session_waker: AtomicWaker,
    /// [`KILLED`] and [`HUNG_UP`].
    ended: AtomicU8,
    /// Events dropped for this session.
    dropped: AtomicU64,
    event_limit: usize,
    policy: SlowConsumer,
    stats: Arc<Stats>,
}

/// The realm ended the session: the session loop stops, and the writer sends what is
/// queued (the GOODBYE) before the connection closes.
const KILLED: u8 = 1;

/// The connection ends now (a slow consumer, a write that timed out): the writer stops
/// as well, and nothing more is queued.
const HUNG_UP: u8 = 2;

impl Shared {
    fn is(&self, flag: u8) -> bool {
        self.ended.load(Ordering::Acquire) & flag != 0
    }

    /// Sets `flag`, waking the session loop (and the writer for a hang-up); `false` when
    /// it was set already.
    fn end(&self, flag: u8) -> bool {
        let before = self.ended.fetch_or(flag, Ordering::AcqRel);
        if flag == HUNG_UP {
            self.waker.wake();
        }
        self.session_waker.wake();
        before & flag == 0
    }

    /// Resolves once any of `flags` is set, registering `waker` (one task's) meanwhile.
    fn until<'a>(&'a self, flags: u8, waker: &'a AtomicWaker) -> impl Future<Output = ()> + 'a {
        std::future::poll_fn(move |cx| {
            if self.is(flags) {
                return Poll::Ready(());
            }
            waker.register(cx.waker());
            // A flag set between the first look and the registration is seen here.
            if self.is(flags) {
                return Poll::Ready(());
            }
            Poll::Pending
        })
    }
}

/// Ends a connection from inside the router, and tells its session loop that it ended.
/// A handle on the outbound queue's shared state that is not a sender: it does not keep
/// the writer waiting for more.
#[derive(Debug, Clone)]
pub(crate) struct Kill(Arc<Shared>);

impl Kill {
    /// Hangs up now: the writer stops without sending what is queued.
    pub fn hang_up(&self) {
        self.0.end(HUNG_UP);
    }

    /// Resolves once the session was killed by its realm or the connection hung up.
    /// Cheap to poll again and again: it registers the loop's waker, no waiter list.
    pub fn ended(&self) -> impl Future<Output = ()> + Send + '_ {
        self.0.until(KILLED | HUNG_UP, &self.0.session_waker)
    }
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
    /// empty, or the connection hung up (see [`OutboxReceiver::is_hung_up`]).
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
        if self.shared.is(HUNG_UP) {
            return Some(None);
        }
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

    /// Whether the connection hung up (then the writer stops without a closing frame).
    pub fn is_hung_up(&self) -> bool {
        self.shared.is(HUNG_UP)
    }

    /// Hangs up the connection (the writer's own write timed out, say).
    pub fn hang_up(&self) {
        self.shared.end(HUNG_UP);
    }

    /// Resolves once the connection hung up: what a write that waits watches. It shares
    /// the waker of [`OutboxReceiver::recv`]: both are polled by the writer's task only.
    pub fn hung_up(&self) -> impl Future<Output = ()> + Send + '_ {
        self.shared.until(HUNG_UP, &self.shared.waker)
    }
}

/// Queue capacity kept once a queue empties; a larger buffer is released.
const SHRINK_ABOVE: usize = 64;

/// A new outbound queue, its receiver, and the handle that ends its connection.
pub(crate) fn outbox(
    event_limit: usize,
    policy: SlowConsumer,
    stats: Arc<Stats>,
) -> (Outbox, OutboxReceiver, Kill) {
    let shared = Arc::new(Shared {
        queue: parking_lot::Mutex::new(Queue::default()),
        waker: AtomicWaker::new(),
        session_waker: AtomicWaker::new(),
        ended: AtomicU8::new(0),
        dropped: AtomicU64::new(0),
        event_limit: event_limit.max(1),
        policy,
        stats,
    });
    let out = Outbox {
        sink: Sink::Local(Arc::new(SenderGuard(shared.clone()))),
    };
    let kill = Kill(shared.clone());
    (out, OutboxReceiver { shared }, kill)
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

    /// Ends the session from the router's side (`wamp.session.kill`, after its GOODBYE is
    /// queued): its loop stops reading, its writer sends what is queued, and the
    /// connection closes. A session of another node is ended by its own node.
    pub fn kill(&self) {
        if let Sink::Local(guard) = &self.sink {
            guard.0.end(KILLED);
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
    if shared.is(HUNG_UP) {
        return;
    }
    let mut q = shared.queue.lock();
    if q.receiver_gone {
        return;
    }
    let depth = q.items.len();
    if shared.policy == SlowConsumer::Disconnect && depth >= shared.event_limit {
        drop(q);
        if !shared.end(HUNG_UP) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn goodbye() -> Message {
        Message::Goodbye {
            details: Default::default(),
            reason: wamp_runtime::proto::close::KILLED.into(),
        }
    }

    #[tokio::test]
    async fn a_killed_session_ends_its_loop_and_its_writer_still_sends_the_goodbye() {
        let (out, mut rx, kill) = outbox(8, SlowConsumer::DropEvents, Arc::default());
        assert!(kill.ended().now_or_never().is_none());
        out.push(1, goodbye());
        out.kill();
        kill.ended().await;
        assert!(matches!(rx.recv().await, Some(Outbound::Message(_))));
        assert!(!rx.is_hung_up());
        drop(out);
        assert!(rx.recv().await.is_none());
        assert!(!rx.is_hung_up());
    }

    #[tokio::test]
    async fn a_hang_up_stops_the_writer_and_the_loop_and_refuses_more() {
        let (out, mut rx, kill) = outbox(8, SlowConsumer::DropEvents, Arc::default());
        out.push(1, goodbye());
        let waiting = tokio::spawn(async move {
            kill.ended().await;
        });
        rx.hang_up();
        assert!(rx.is_hung_up());
        assert!(rx.recv().await.is_none());
        assert!(rx.hung_up().now_or_never().is_some());
        out.push(1, goodbye());
        assert!(rx.try_recv().is_none());
        waiting.await.unwrap();
    }

    #[tokio::test]
    async fn a_full_queue_under_disconnect_hangs_up_once() {
        let stats = Arc::new(Stats::default());
        let (out, mut rx, kill) = outbox(2, SlowConsumer::Disconnect, stats.clone());
        for _ in 0..5 {
            out.push(1, goodbye());
        }
        kill.ended().await;
        assert!(rx.recv().await.is_none());
        assert_eq!(stats.slow_disconnects.load(Ordering::Relaxed), 1);
    }
}
