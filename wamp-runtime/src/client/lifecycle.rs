//! Where a session is in its life: the [`SessionEvent`]s that tell the application, and
//! the [`Lifecycle`] stream of them.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::broadcast;

use crate::proto::Id;

/// Where a session is in its life, as its [`Lifecycle`] stream tells it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The session is joined: the first event of a stream made while it is.
    Connected {
        /// The session ID the router gave.
        session: Id,
    },
    /// The connection was lost or the router ended the session. With a reconnect
    /// policy, reconnection starts and calls that were in flight failed with
    /// [`Error::Disconnected`](super::Error::Disconnected); without one, `Closed`
    /// follows.
    Disconnected {
        /// Why.
        reason: String,
        /// Whether the session will try to come back.
        reconnecting: bool,
    },
    /// An attempt to reconnect is about to be made, after `delay`.
    Reconnecting {
        /// The attempt's number, from 1.
        attempt: u32,
        /// How long the session waits before it.
        delay: Duration,
    },
    /// The session joined again and restored its registrations and subscriptions.
    Reconnected {
        /// The new session ID.
        session: Id,
        /// How many attempts it took.
        attempts: u32,
        /// What could not be restored, by URI, with the router's answer (usually
        /// nothing).
        failed: Vec<(String, String)>,
    },
    /// The attempt limit was reached: the session is closed.
    GaveUp {
        /// How many attempts were made.
        attempts: u32,
        /// Why the last one failed.
        error: String,
    },
    /// The router took a registration away (another session registered the procedure
    /// with `force_reregister`, or `wamp.registration.remove_callee`): the session goes
    /// on without it, and does not register it again after a reconnection.
    RegistrationRevoked {
        /// The procedure.
        procedure: String,
        /// The router's reason (`wamp.error.unregistered` when it gave none).
        reason: String,
    },
    /// The router ended a subscription (`wamp.subscription.remove_subscriber`): its
    /// stream ends with [`Error::Revoked`](super::Error::Revoked).
    SubscriptionRevoked {
        /// The topic or pattern.
        topic: String,
        /// The router's reason (`wamp.error.unsubscribed` when it gave none).
        reason: String,
    },
    /// The session is over for good (left, dropped, ended without a reconnect policy,
    /// or given up). It is the stream's last event.
    Closed {
        /// Why.
        reason: String,
    },
}

/// The stream of a session's [`SessionEvent`]s, from
/// [`Session::lifecycle`](super::Session::lifecycle). It starts with the session's
/// state when it was made ([`Connected`](SessionEvent::Connected),
/// [`Disconnected`](SessionEvent::Disconnected) or [`Closed`](SessionEvent::Closed)) and
/// ends after [`Closed`](SessionEvent::Closed). A consumer that falls far behind skips
/// the events it missed (it is told by a log line).
pub struct Lifecycle {
    inner: Pin<Box<dyn Stream<Item = SessionEvent> + Send>>,
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle").finish_non_exhaustive()
    }
}

impl Lifecycle {
    pub(crate) fn new(first: SessionEvent, rx: broadcast::Receiver<SessionEvent>) -> Self {
        struct State {
            first: Option<SessionEvent>,
            rx: broadcast::Receiver<SessionEvent>,
            done: bool,
        }
        let done = matches!(first, SessionEvent::Closed { .. });
        let state = State {
            first: Some(first),
            rx,
            done: false,
        };
        let inner = futures_util::stream::unfold(state, move |mut st| async move {
            if st.done {
                return None;
            }
            let event = match st.first.take() {
                Some(e) => e,
                None => loop {
                    match st.rx.recv().await {
                        Ok(e) => break e,
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(
                                missed = n,
                                "lifecycle consumer too slow: events skipped"
                            );
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                },
            };
            st.done = done || matches!(event, SessionEvent::Closed { .. });
            Some((event, st))
        });
        Self {
            inner: Box::pin(inner),
        }
    }
}

impl Stream for Lifecycle {
    type Item = SessionEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        self.inner.as_mut().poll_next(cx)
    }
}
