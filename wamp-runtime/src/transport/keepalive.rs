//! Keepalive: finding a connection that died without closing (a router host that
//! vanished, a network that dropped packets), which no read or write would report for
//! minutes. The reader marks every frame it receives; at each tick, the writer sends a
//! ping if nothing came since the previous tick, and declares the connection dead if
//! nothing came since the ping it sent then: the reader then reports why it ends.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::TransportError;

/// What the writer does at a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tick {
    /// Frames came since the last tick: nothing to do.
    Alive,
    /// Nothing came: send a ping.
    Ping,
    /// Nothing came since the last ping: the connection is dead.
    Dead,
}

/// The writer's side of a connection's keepalive.
#[derive(Debug)]
pub(crate) struct Keepalive {
    interval: Option<Interval>,
    every: Duration,
    received: Arc<AtomicBool>,
    pinged: bool,
    /// Tells the reader the connection is dead.
    grave: Option<oneshot::Sender<TransportError>>,
}

/// The reader's side: marks frames received, and learns when the connection is dead.
#[derive(Debug)]
pub(crate) struct Seen {
    received: Arc<AtomicBool>,
    dead: Option<oneshot::Receiver<TransportError>>,
}

impl Seen {
    /// A frame came in.
    pub fn mark(&self) {
        self.received.store(true, Ordering::Relaxed);
    }

    /// Ready when the writer found the connection dead, with why (never, when the writer
    /// ends without finding that).
    pub fn poll_dead(&mut self, cx: &mut Context<'_>) -> Poll<TransportError> {
        let Some(rx) = &mut self.dead else {
            return Poll::Pending;
        };
        match Pin::new(rx).poll(cx) {
            Poll::Ready(Ok(why)) => Poll::Ready(why),
            Poll::Ready(Err(_)) => {
                self.dead = None;
                Poll::Pending
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Resolves when the writer found the connection dead (see [`Seen::poll_dead`]).
    pub async fn dead(&mut self) -> TransportError {
        std::future::poll_fn(|cx| self.poll_dead(cx)).await
    }
}

impl Keepalive {
    /// A keepalive ticking every `every` (none for `None` or zero), and its reader side.
    pub fn new(every: Option<Duration>) -> (Keepalive, Seen) {
        let received = Arc::new(AtomicBool::new(false));
        let every = every.filter(|d| !d.is_zero());
        let interval = every.map(|d| {
            let mut i = tokio::time::interval_at(Instant::now() + d, d);
            i.set_missed_tick_behavior(MissedTickBehavior::Delay);
            i
        });
        let (grave, dead) = oneshot::channel();
        let keepalive = Keepalive {
            interval,
            every: every.unwrap_or_default(),
            received: received.clone(),
            pinged: false,
            grave: Some(grave),
        };
        let seen = Seen {
            received,
            dead: Some(dead),
        };
        (keepalive, seen)
    }

    /// Waits for the next tick (forever without keepalive) and says what to do.
    pub async fn tick(&mut self) -> Tick {
        match &mut self.interval {
            Some(i) => {
                i.tick().await;
            }
            None => std::future::pending::<()>().await,
        }
        if self.received.swap(false, Ordering::Relaxed) {
            self.pinged = false;
            Tick::Alive
        } else if self.pinged {
            Tick::Dead
        } else {
            self.pinged = true;
            Tick::Ping
        }
    }

    /// Ends a dead connection: its reader reports why.
    pub fn bury(&mut self) {
        let why = format!(
            "the router did not answer a ping within {:?} (keepalive)",
            self.every
        );
        tracing::info!("{why}");
        if let Some(grave) = self.grave.take() {
            let _ = grave.send(TransportError::Io(why));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pings_when_quiet_and_gives_up_after_an_unanswered_ping() {
        let (mut k, seen) = Keepalive::new(Some(Duration::from_secs(1)));
        seen.mark();
        assert_eq!(k.tick().await, Tick::Alive);
        assert_eq!(k.tick().await, Tick::Ping);
        seen.mark();
        assert_eq!(k.tick().await, Tick::Alive);
        assert_eq!(k.tick().await, Tick::Ping);
        assert_eq!(k.tick().await, Tick::Dead);
    }

    #[tokio::test]
    async fn the_reader_learns_of_a_dead_connection() {
        let (mut k, mut seen) = Keepalive::new(Some(Duration::from_secs(1)));
        k.bury();
        assert!(matches!(seen.dead().await, TransportError::Io(why) if why.contains("ping")));
    }

    #[tokio::test(start_paused = true)]
    async fn without_an_interval_it_never_ticks() {
        let (mut k, _) = Keepalive::new(Some(Duration::ZERO));
        let ticked = tokio::time::timeout(Duration::from_secs(3600), k.tick()).await;
        assert!(ticked.is_err());
    }
}
