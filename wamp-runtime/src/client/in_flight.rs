//! The requests a session has in flight: what waits for each answer, keyed by request ID,
//! and when each gives up. The table owns the deadlines (one timer per session,
//! [`expire`], sleeps until the first), and [`fail_all`] answers whatever the router
//! can no longer answer.
//!
//! A waiter whose deadline passes gets [`Error::Timeout`]; a call among them is also
//! canceled at the router (`killnowait`), since nobody waits for its result any more.

use foldhash::HashMap;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::error::Error;
use super::holdings::{LocalSub, Registered};
use super::shared::Shared;
use crate::proto::{Dict, Id, Message};

/// A request waiting for the router's answer.
pub(crate) enum Pending {
    /// Any answer, handed to the waiting operation as it is.
    Reply(oneshot::Sender<Result<Message, Error>>),
    /// A call that receives progressive results: every RESULT is handed on, and the
    /// request stays pending until the final one (or an ERROR).
    Progress(mpsc::UnboundedSender<Result<Message, Error>>),
    /// A SUBSCRIBE: on SUBSCRIBED, the local subscribers start receiving events before
    /// any further message is read, so no event can slip past them. Without `reply`, it
    /// restores subscriptions after a reconnection.
    Subscribe {
        locals: Vec<LocalSub>,
        topic: String,
        options: Dict,
        reply: Option<oneshot::Sender<Result<Id, Error>>>,
    },
    /// A REGISTER: on REGISTERED, the handler is in place before any INVOCATION is read.
    /// Without `reply`, it restores a registration after a reconnection.
    Register {
        registered: Registered,
        reply: Option<oneshot::Sender<Result<Id, Error>>>,
        /// Whether it already asks for `force_reregister` after a refusal.
        forced: bool,
    },
    /// An UNSUBSCRIBE, with whoever waits for it (nobody, after a drop).
    Unsubscribe {
        subscription: Id,
        reply: Option<oneshot::Sender<Result<(), Error>>>,
    },
    /// An UNREGISTER, with whoever waits for it (nobody, after a drop).
    Unregister(Option<oneshot::Sender<Result<(), Error>>>),
}

impl Pending {
    /// Hands `e` to the waiter, as the answer to its request.
    fn answer_error(self, e: Error) {
        match self {
            Pending::Reply(tx) => drop(tx.send(Err(e))),
            Pending::Progress(tx) => drop(tx.send(Err(e))),
            Pending::Subscribe { reply, .. } | Pending::Register { reply, .. } => {
                if let Some(tx) = reply {
                    let _ = tx.send(Err(e));
                }
            }
            Pending::Unsubscribe { reply, .. } | Pending::Unregister(reply) => {
                if let Some(tx) = reply {
                    let _ = tx.send(Err(e));
                }
            }
        }
    }

    /// Tells the waiter its connection went before the answer came: an error, but an
    /// UNSUBSCRIBE or UNREGISTER counts as done (nothing is left to release).
    fn fail(self, e: Error) {
        match self {
            Pending::Unsubscribe { reply, .. } | Pending::Unregister(reply) => {
                if let Some(tx) = reply {
                    let _ = tx.send(Ok(()));
                }
            }
            other => other.answer_error(e),
        }
    }
}

/// When a request gives up waiting, and what that means.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    pub at: Instant,
    /// The timeout it was given (for the waiter's error).
    pub timeout: Duration,
    /// Whether it is a CALL to cancel at the router when it runs out.
    pub cancel: bool,
}

impl Deadline {
    /// `timeout` from now.
    pub fn after(timeout: Duration) -> Self {
        Self {
            at: Instant::now() + timeout,
            timeout,
            cancel: false,
        }
    }

    /// The same deadline for a CALL: it is canceled at the router when it runs out.
    pub fn canceling(self) -> Self {
        Self {
            cancel: true,
            ..self
        }
    }
}

/// One request in flight.
pub(crate) struct Entry {
    pub pending: Pending,
    pub deadline: Option<Deadline>,
}

/// The requests in flight of a session, and their deadlines.
#[derive(Default)]
pub(crate) struct InFlight {
    entries: HashMap<Id, Entry>,
    /// The requests that give up, soonest first.
    deadlines: BTreeSet<(Instant, Id)>,
}

impl InFlight {
    /// Records `pending` for `request`, until `deadline` if it has one: whether that
    /// deadline is now the first (the timer must wake for it).
    pub fn insert(&mut self, request: Id, pending: Pending, deadline: Option<Deadline>) -> bool {
        self.put(request, Entry { pending, deadline })
    }

    /// Puts an entry (back) in place, like [`InFlight::insert`].
    pub fn put(&mut self, request: Id, entry: Entry) -> bool {
        let deadline = entry.deadline;
        if let Some(old) = self.entries.insert(request, entry) {
            self.forget_deadline(request, old.deadline);
        }
        match deadline {
            Some(d) => {
                self.deadlines.insert((d.at, request));
                self.deadlines.first() == Some(&(d.at, request))
            }
            None => false,
        }
    }

    /// Takes the entry of `request` out, deadline and all.
    pub fn take(&mut self, request: Id) -> Option<Entry> {
        let entry = self.entries.remove(&request)?;
        self.forget_deadline(request, entry.deadline);
        Some(entry)
    }

    /// Takes request `request` out of the table if its waiter is one `which` accepts.
    pub fn take_if(&mut self, request: Id, which: impl FnOnce(&Pending) -> bool) -> Option<Entry> {
        let entry = self.entries.get(&request)?;
        if !which(&entry.pending) {
            return None;
        }
        self.take(request)
    }

    fn forget_deadline(&mut self, request: Id, deadline: Option<Deadline>) {
        if let Some(d) = deadline {
            self.deadlines.remove(&(d.at, request));
        }
    }

    /// Every request in flight.
    pub fn iter(&self) -> impl Iterator<Item = (Id, &Pending)> {
        self.entries.iter().map(|(id, e)| (*id, &e.pending))
    }

    /// When the first deadline runs out.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// Takes out the requests whose deadline ran out by `now`.
    pub fn take_expired(&mut self, now: Instant) -> Vec<(Id, Entry)> {
        let mut due = Vec::new();
        while let Some(&(at, request)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(entry) = self.entries.remove(&request) {
                due.push((request, entry));
            }
        }
        due
    }

    /// Takes out every request.
    pub fn drain(&mut self) -> Vec<(Id, Entry)> {
        self.deadlines.clear();
        self.entries.drain().collect()
    }
}

/// Answers requests that can no longer be answered by the router with `err`.
pub(crate) fn fail_all(entries: Vec<Entry>, err: impl Fn() -> Error) {
    for e in entries {
        e.pending.fail(err());
    }
}

/// The session's timer: sleeps until the first deadline of the table and gives up on
/// the requests that ran out, until the session closes.
pub(crate) async fn expire(shared: Arc<Shared>) {
    loop {
        let next = shared.state.lock().in_flight.next_deadline();
        let sleep = async {
            match next {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shared.closed() => return,
            _ = shared.deadline_added() => continue,
            _ = sleep => {}
        }
        let (due, generation) = {
            let mut st = shared.state.lock();
            let due = st.in_flight.take_expired(Instant::now());
            for (_, entry) in &due {
                if let Pending::Unsubscribe { subscription, .. } = &entry.pending {
                    st.held.unsubscribing.remove(subscription);
                }
            }
            (due, st.generation)
        };
        for (request, entry) in due {
            let Some(deadline) = entry.deadline else {
                continue;
            };
            tracing::debug!(request, ?deadline.timeout, "request timed out");
            entry.pending.answer_error(Error::Timeout(deadline.timeout));
            if deadline.cancel {
                let mode = crate::proto::CancelMode::KillNoWait;
                if let Some(cancel) = super::cancel::cancel_message(&shared, request, mode) {
                    shared.send_soon_in(generation, cancel);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply() -> (Pending, oneshot::Receiver<Result<Message, Error>>) {
        let (tx, rx) = oneshot::channel();
        (Pending::Reply(tx), rx)
    }

    #[tokio::test]
    async fn deadlines_come_out_soonest_first_and_go_with_their_requests() {
        let mut t = InFlight::default();
        let now = Instant::now();
        let at = |ms| Deadline {
            at: now + Duration::from_millis(ms),
            timeout: Duration::from_millis(ms),
            cancel: false,
        };
        let (late, _rx1) = reply();
        let (soon, mut rx2) = reply();
        let (answered, _rx3) = reply();
        let (untimed, _rx4) = reply();
        assert!(t.insert(1, late, Some(at(300))));
        assert!(t.insert(2, soon, Some(at(100))), "the new first deadline");
        assert!(t.insert(3, answered, Some(at(50))));
        assert!(!t.insert(4, untimed, None));
        assert_eq!(t.next_deadline(), Some(at(50).at));
        assert!(t.take(3).is_some());
        assert_eq!(
            t.next_deadline(),
            Some(at(100).at),
            "an answered request's deadline goes"
        );
        let due = t.take_expired(at(200).at);
        assert_eq!(due.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [2]);
        fail_all(due.into_iter().map(|(_, e)| e).collect(), || {
            Error::Timeout(Duration::from_millis(100))
        });
        assert!(matches!(rx2.try_recv(), Ok(Err(Error::Timeout(_)))));
        assert_eq!(t.next_deadline(), Some(at(300).at));
        // Replacing a request's entry keeps one deadline, the new one.
        let (again, _rx5) = reply();
        t.insert(1, again, Some(at(300)));
        assert_eq!(t.next_deadline(), Some(at(300).at));
        assert_eq!(t.take_expired(at(300).at).len(), 1);
        let (late, _rx6) = reply();
        t.insert(1, late, Some(at(300)));
        assert_eq!(t.drain().len(), 2);
        assert_eq!((t.iter().count(), t.next_deadline()), (0, None));
    }
}
