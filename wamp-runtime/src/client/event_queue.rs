//! The queue of one local subscription's events: bounded, and never waited on. The session
//! task only ever offers an event (a full queue drops it). A locked `VecDeque` and a waker
//! rather than a channel: the subscriber takes everything queued at once into a batch of
//! its own, so that a burst of events costs it one lock; and the session wakes it only
//! when the queue goes from empty to not, and only once it has read what the connection
//! had for it ([`Wakes`]): a burst is then read by the subscriber in one go rather than
//! with a wake, and a pass of the scheduler, for each of its events.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

use super::subscribe::RawEvent;

/// Makes a queue that holds at most `capacity` events.
pub(crate) fn event_queue(capacity: usize) -> (EventSender, EventReceiver) {
    let shared = Arc::new(Shared {
        queue: parking_lot::Mutex::new(Queue::default()),
        waker: AtomicWaker::new(),
        queued: AtomicUsize::new(0),
        capacity: capacity.max(1),
    });
    let sender = EventSender {
        shared: shared.clone(),
    };
    let receiver = EventReceiver {
        shared,
        batch: VecDeque::new(),
    };
    (sender, receiver)
}

#[derive(Debug)]
struct Shared {
    queue: parking_lot::Mutex<Queue>,
    /// The subscriber's waker.
    waker: AtomicWaker,
    /// Events offered and not yet read (in the queue or in the subscriber's batch).
    queued: AtomicUsize,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Box<RawEvent>>,
    sender_gone: bool,
    receiver_gone: bool,
}

/// The session's end: offers events.
#[derive(Debug)]
pub(crate) struct EventSender {
    shared: Arc<Shared>,
}

/// The subscribers to wake once the session task has read what it has in hand: it wakes
/// them before it waits for more (or after [`Wakes::MOST`] messages), and when dropped.
#[derive(Debug, Default)]
pub(crate) struct Wakes {
    due: Vec<Arc<Shared>>,
    /// Messages read since the last flush.
    read: usize,
}

impl Wakes {
    /// The most messages read before the subscribers are woken anyway.
    const MOST: usize = 64;

    /// Wakes every subscriber that has new events.
    pub fn flush(&mut self) {
        self.read = 0;
        for shared in self.due.drain(..) {
            shared.waker.wake();
        }
    }

    /// Counts a message read; wakes the subscribers when enough were.
    pub fn read_one(&mut self) {
        self.read += 1;
        if self.read >= Self::MOST {
            self.flush();
        }
    }
}

impl Drop for Wakes {
    fn drop(&mut self) {
        self.flush();
    }
}

impl EventSender {
    /// Queues `event` unless the queue is full or its subscriber is gone: whether it did.
    /// The subscriber is woken through `wakes`.
    pub fn offer(&self, event: Box<RawEvent>, wakes: &mut Wakes) -> bool {
        let shared = &*self.shared;
        // Only the session task offers: the count cannot pass the capacity in between.
        if shared.queued.load(Ordering::Acquire) >= shared.capacity {
            return false;
        }
        let mut q = shared.queue.lock();
        if q.receiver_gone {
            return false;
        }
        let was_empty = q.items.is_empty();
        q.items.push_back(event);
        shared.queued.fetch_add(1, Ordering::AcqRel);
        drop(q);
        // The subscriber takes the whole queue when it looks: a queue that was not empty
        // has a wake on its way already.
        if was_empty {
            wakes.due.push(self.shared.clone());
        }
        true
    }
}

impl Drop for EventSender {
    fn drop(&mut self) {
        self.shared.queue.lock().sender_gone = true;
        self.shared.waker.wake();
    }
}

/// The subscriber's end.
#[derive(Debug)]
pub(crate) struct EventReceiver {
    shared: Arc<Shared>,
    /// What it took from the queue and has not read yet.
    batch: VecDeque<Box<RawEvent>>,
}

impl EventReceiver {
    /// The next event; `None` once the sender is gone and the queue is empty.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Box<RawEvent>>> {
        // Like tokio's own channels: a subscriber that always finds an event still yields
        // to the other tasks now and then.
        let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        if self.batch.is_empty() {
            let mut q = self.shared.queue.lock();
            if q.items.is_empty() {
                if q.sender_gone {
                    return Poll::Ready(None);
                }
                // Registered under the lock: an offer after this sees the queue empty
                // and wakes this waker.
                self.shared.waker.register(cx.waker());
                return Poll::Pending;
            }
            std::mem::swap(&mut q.items, &mut self.batch);
        }
        let next = self.batch.pop_front();
        if next.is_some() {
            coop.made_progress();
            self.shared.queued.fetch_sub(1, Ordering::AcqRel);
        }
        Poll::Ready(next)
    }
}

impl Drop for EventReceiver {
    fn drop(&mut self) {
        let mut q = self.shared.queue.lock();
        q.receiver_gone = true;
        q.items = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::subscribe::EventDetails;
    use crate::proto::{Dict, Payload};

    fn event() -> Box<RawEvent> {
        Box::new(RawEvent {
            payload: Payload::empty(),
            details: EventDetails::new(1, 2, Dict::new()),
        })
    }

    #[tokio::test]
    async fn holds_at_most_its_capacity_and_takes_more_once_read() {
        let (tx, mut rx) = event_queue(2);
        let wakes = &mut Wakes::default();
        assert!(tx.offer(event(), wakes));
        assert!(tx.offer(event(), wakes));
        assert!(!tx.offer(event(), wakes), "full");
        wakes.flush();
        let first = std::future::poll_fn(|cx| rx.poll_recv(cx)).await;
        assert!(first.is_some());
        assert!(tx.offer(event(), wakes), "room again");
        drop(tx);
        let mut n = 0;
        while std::future::poll_fn(|cx| rx.poll_recv(cx)).await.is_some() {
            n += 1;
        }
        assert_eq!(n, 2);
    }

    struct Count(AtomicUsize);

    impl futures_util::task::ArcWake for Count {
        fn wake_by_ref(this: &Arc<Self>) {
            this.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_burst_wakes_its_subscriber_once_when_flushed() {
        let (tx, mut rx) = event_queue(8);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = futures_util::task::waker(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(rx.poll_recv(&mut cx).is_pending());
        let wakes = &mut Wakes::default();
        for _ in 0..3 {
            assert!(tx.offer(event(), wakes));
        }
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "not before the flush");
        wakes.flush();
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "once for the burst");
        for _ in 0..3 {
            assert!(matches!(rx.poll_recv(&mut cx), Poll::Ready(Some(_))));
        }
        assert!(rx.poll_recv(&mut cx).is_pending());
    }
}
