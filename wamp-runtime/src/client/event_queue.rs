//! The queue of one local subscription's events: bounded, and never waited on. The session
//! task only ever offers an event (a full queue drops it), so a channel without its own
//! bound and a shared count do the job of a bounded channel, without the lock a bounded
//! channel takes to hand back each slot.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::mpsc;

use super::subscribe::RawEvent;

/// Makes a queue that holds at most `capacity` events.
pub(crate) fn event_queue(capacity: usize) -> (EventSender, EventReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let sender = EventSender {
        tx,
        queued: queued.clone(),
        capacity: capacity.max(1),
    };
    (sender, EventReceiver { rx, queued })
}

/// The session's end: offers events.
#[derive(Debug)]
pub(crate) struct EventSender {
    tx: mpsc::UnboundedSender<Box<RawEvent>>,
    queued: Arc<AtomicUsize>,
    capacity: usize,
}

impl EventSender {
    /// Queues `event` unless the queue is full or its subscriber is gone: whether it did.
    pub fn offer(&self, event: Box<RawEvent>) -> bool {
        // Only the session task offers: the count cannot pass the capacity in between.
        if self.queued.load(Ordering::Acquire) >= self.capacity {
            return false;
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        if self.tx.send(event).is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }
}

/// The subscriber's end.
#[derive(Debug)]
pub(crate) struct EventReceiver {
    rx: mpsc::UnboundedReceiver<Box<RawEvent>>,
    queued: Arc<AtomicUsize>,
}

impl EventReceiver {
    /// The next event; `None` once every sender is gone and the queue is empty.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Box<RawEvent>>> {
        let next = self.rx.poll_recv(cx);
        if let Poll::Ready(Some(_)) = &next {
            self.queued.fetch_sub(1, Ordering::AcqRel);
        }
        next
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
        assert!(tx.offer(event()));
        assert!(tx.offer(event()));
        assert!(!tx.offer(event()), "full");
        let first = std::future::poll_fn(|cx| rx.poll_recv(cx)).await;
        assert!(first.is_some());
        assert!(tx.offer(event()), "room again");
        drop(tx);
        let mut n = 0;
        while std::future::poll_fn(|cx| rx.poll_recv(cx)).await.is_some() {
            n += 1;
        }
        assert_eq!(n, 2);
    }
}
