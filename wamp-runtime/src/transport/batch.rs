//! How a client writer gathers one write: the message it woke for, then what is queued
//! behind it, yielding once so that tasks about to send queue theirs too. One flush for
//! several messages saves a system call each (on a busy connection most of a client's
//! time), at the cost of one extra turn of the scheduler per write.

use tokio::sync::mpsc;

use crate::proto::Message;

/// At most how many messages one write takes.
const MAX: usize = 64;

/// The messages of one write, after the first.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    taken: usize,
    yielded: bool,
}

impl Batch {
    /// The next message for this write, or `None` to flush it.
    pub async fn next(&mut self, rx: &mut mpsc::Receiver<Message>) -> Option<Message> {
        self.taken += 1;
        if self.taken >= MAX {
            return None;
        }
        if let Ok(msg) = rx.try_recv() {
            return Some(msg);
        }
        if self.yielded {
            return None;
        }
        self.yielded = true;
        tokio::task::yield_now().await;
        rx.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn takes_what_is_queued_up_to_its_limit() {
        let (tx, mut rx) = mpsc::channel(128);
        for _ in 0..100 {
            assert!(tx.try_send(Message::goodbye("wamp.close.normal")).is_ok());
        }
        let mut batch = Batch::default();
        let mut n = 1;
        while batch.next(&mut rx).await.is_some() {
            n += 1;
        }
        assert_eq!(n, MAX);
        let mut next = Batch::default();
        assert!(
            next.next(&mut rx).await.is_some(),
            "the rest is the next write's"
        );
    }
}
