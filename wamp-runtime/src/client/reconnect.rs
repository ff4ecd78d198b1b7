//! Automatic reconnection: the [`ReconnectPolicy`] a session is built with, the one
//! retry loop that opening a session and getting a lost one back both use, and the
//! reconnection itself (what it restores is [`super::restore`]'s).

use std::sync::Arc;
use std::time::Duration;

use super::connect::SessionBuilder;
use super::error::Error;
use super::lifecycle::SessionEvent;
use super::restore::restore;
use super::shared::{SessionInfo, Shared};
use crate::transport::{Incoming, Transport};

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

/// Why a retry loop stopped without a session.
pub(crate) struct GaveUp {
    /// The attempts that failed.
    pub attempts: u32,
    /// The last failure (none when the policy allowed no attempt).
    pub last: Option<Error>,
}

/// What the retries are for: opening a session, where only a router that cannot be
/// reached is tried again (a refusal is final), or getting a lost one back, where every
/// failure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retrying {
    Connect,
    Reconnect,
}

/// The one retry loop, used by [`SessionBuilder::connect`] and by reconnection: opens the
/// session by `policy` (a reconnection waits before its first attempt too), calling
/// `before` with each waited-for attempt's number and delay. The joined transport and
/// the number of attempts it took.
pub(crate) async fn open_retrying(
    builder: &SessionBuilder,
    policy: &ReconnectPolicy,
    purpose: Retrying,
    mut before: impl FnMut(u32, Duration),
) -> Result<((Transport, SessionInfo), u32), GaveUp> {
    let mut failed: u32 = 0;
    let mut last = None;
    loop {
        if purpose == Retrying::Reconnect || failed > 0 {
            if !policy.allows(failed) {
                return Err(GaveUp {
                    attempts: failed,
                    last,
                });
            }
            let waits = match purpose {
                Retrying::Reconnect => failed,
                Retrying::Connect => failed - 1,
            };
            let delay = policy.delay(waits);
            before(failed + 1, delay);
            tokio::time::sleep(delay).await;
        }
        match builder.open().await {
            Ok(joined) => return Ok((joined, failed + 1)),
            Err(e) => {
                let retry = purpose == Retrying::Reconnect
                    || matches!(e, Error::Transport(_) | Error::ConnectTimeout(_));
                if !retry {
                    return Err(GaveUp {
                        attempts: failed + 1,
                        last: Some(e),
                    });
                }
                failed += 1;
                tracing::info!(attempt = failed, "opening the session failed: {e}");
                last = Some(e);
            }
        }
    }
}

/// Reconnects a session whose connection was lost, by its policy: the new connection's
/// incoming messages, once its registrations and subscriptions are on their way back
/// ([`restore`]); `None` when the session closed meanwhile or the policy gave up (the
/// session is then closed).
pub(crate) async fn reconnect(shared: &Arc<Shared>) -> Option<Incoming> {
    let builder = shared.rejoin.as_deref()?;
    let policy = builder.reconnect_policy()?;
    let announce = |attempt, delay| shared.emit(SessionEvent::Reconnecting { attempt, delay });
    let result = tokio::select! {
        _ = shared.closed() => return None,
        r = open_retrying(builder, policy, Retrying::Reconnect, announce) => r,
    };
    match result {
        Ok(((transport, info), attempts)) => {
            let session = info.id;
            let generation = shared.attach(transport.outgoing, info, false)?;
            tracing::info!(session, attempts, "reconnected");
            restore(shared, generation, attempts);
            Some(transport.incoming)
        }
        Err(GaveUp { attempts, last }) => {
            let last = last.map(|e| e.to_string()).unwrap_or_default();
            tracing::warn!(attempts, "giving up reconnecting: {last}");
            shared.emit(SessionEvent::GaveUp {
                attempts,
                error: last.clone(),
            });
            shared.close(format!(
                "gave up reconnecting after {attempts} attempts: {last}"
            ));
            None
        }
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
