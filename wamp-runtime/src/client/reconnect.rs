//! Automatic reconnection: the [`ReconnectPolicy`] a session is built with, the
//! [`SessionEvent`]s that tell the application where its session is, and the
//! [`Lifecycle`] stream of them.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::broadcast;

use crate::proto::Id;

/// How a session comes back after its connection is lost: exponential backoff with
/// jitter, a maximum delay and an optional attempt limit. Set it with
/// [`SessionBuilder::reconnect`](super::SessionBuilder::reconnect).
///
/// With a policy, a session whose connection drops (or that the router ends) reconnects,
/// joins the same realm with the same credentials, and registers every procedure and
/// subscribes every subscription it held, typed services and topics included. Opening
/// the session retries the same way while the router cannot be reached.
///
/// ```
/// use std::time::Duration;
/// use wamp_runtime::ReconnectPolicy;
///
/// let policy = ReconnectPolicy::default()
///     .initial_delay(Duration::from_millis(200))
///     .max_delay(Duration::from_secs(10))
///     .max_attempts(20);
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    pub(crate) initial_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) multiplier: f64,
    pub(crate) jitter: f64,
    pub(crate) max_attempts: Option<u32>,
    pub(crate) wait_while_disconnected: bool,
    pub(crate) force_reregister: bool,
}

impl Default for ReconnectPolicy {
    /// 0.5 s before the first attempt, doubling up to 30 s, half of each delay random,
    /// no attempt limit; requests wait for the reconnection; re-registration takes over
    /// a procedure the router still holds for the lost session.
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.5,
            max_attempts: None,
            wait_while_disconnected: true,
            force_reregister: true,
        }
    }
}

impl ReconnectPolicy {
    /// The delay before the first attempt (default 0.5 s).
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest delay between two attempts (default 30 s).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// How much each delay grows over the previous one (default 2; at least 1).
    pub fn multiplier(mut self, factor: f64) -> Self {
        self.multiplier = if factor.is_finite() {
            factor.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// The part of each delay that is random, from 0 (none) to 1 (all of it; default
    /// 0.5), so that many clients of a restarted router do not all come back at once.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// Gives up after this many failed attempts in a row (default: never). The session
    /// then closes, and its [`lifecycle`](super::Session::lifecycle) says
    /// [`SessionEvent::GaveUp`].
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// What a request does while the session is disconnected: wait for the reconnection,
    /// bounded by its timeout (`true`, the default), or fail at once with
    /// [`Error::Disconnected`](super::Error::Disconnected) (`false`).
    pub fn wait_while_disconnected(mut self, wait: bool) -> Self {
        self.wait_while_disconnected = wait;
        self
    }

    /// When a procedure cannot be registered again because the router still holds it
    /// for the lost session (`wamp.error.procedure_already_exists`, the router has not
    /// noticed the old connection is gone), registers it again with the
    /// `force_reregister` option, which takes it over (default `true`) — when the
    /// registration meta API says only this session's earlier connections hold it (a
    /// router without that API is trusted). A procedure another session holds is left to
    /// it and reported in [`SessionEvent::Reconnected`]'s `failed`. Shared registrations
    /// are never forced.
    pub fn force_reregister(mut self, force: bool) -> Self {
        self.force_reregister = force;
        self
    }

    /// Whether an attempt after `failed` failed ones may be made.
    pub(crate) fn allows(&self, failed: u32) -> bool {
        self.max_attempts.is_none_or(|max| failed < max)
    }

    /// The delay before attempt `attempt` (0 for the first): exponential, capped, with
    /// its random part.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
        let full = self.initial_delay.as_secs_f64() * self.multiplier.powi(exponent);
        let capped = full.min(self.max_delay.as_secs_f64());
        let random: f64 = rand::random();
        let secs = capped * (1.0 - self.jitter * random);
        Duration::try_from_secs_f64(secs).unwrap_or(self.max_delay)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_within_their_jitter() {
        let p = ReconnectPolicy::default()
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(1))
            .multiplier(2.0)
            .jitter(0.5);
        for _ in 0..100 {
            let d0 = p.delay(0);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d3 = p.delay(3);
            assert!(d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800));
            let d30 = p.delay(30);
            assert!(d30 >= Duration::from_millis(500) && d30 <= Duration::from_secs(1));
        }
        let exact = p.clone().jitter(0.0);
        assert_eq!(exact.delay(1), Duration::from_millis(200));
        assert_eq!(exact.delay(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn the_attempt_limit_counts_failures() {
        let p = ReconnectPolicy::default().max_attempts(2);
        assert!(p.allows(0) && p.allows(1) && !p.allows(2));
        assert!(ReconnectPolicy::default().allows(u32::MAX));
    }

    #[test]
    fn odd_settings_are_tamed() {
        let p = ReconnectPolicy::default().multiplier(f64::NAN).jitter(7.0);
        assert_eq!(p.multiplier, 1.0);
        assert_eq!(p.jitter, 1.0);
    }
}
