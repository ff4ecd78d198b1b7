//! Keepalive: finding a connection that died without closing (a router host that
//! vanished, a network that dropped packets), which no read or write would report for
//! minutes. The reader marks every frame it receives; at each tick, the writer sends a
//! ping if nothing came since the previous tick, and declares the connection dead if
//! nothing came since the ping it sent then.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::TransportError;
use crate::proto::Message;

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
}

/// The reader's side: marks frames received.
#[derive(Debug, Clone)]
pub(crate) struct Seen(Arc<AtomicBool>);

impl Seen {
    /// A frame came in.
    pub fn mark(&self) {
        self.0.store(true, Ordering::Relaxed);
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
        let keepalive = Keepalive {
            interval,
            every: every.unwrap_or_default(),
            received: received.clone(),
            pinged: false,
        };
        (keepalive, Seen(received))
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

    /// Ends a dead connection: stops its reader and tells the session why.
    pub async fn bury(
        &self,
        reader: &tokio::task::JoinHandle<()>,
        incoming: &mpsc::Sender<Result<Message, TransportError>>,
    ) {
        let why = format!(
            "the router did not answer a ping within {:?} (keepalive)",
            self.every
        );
        tracing::info!("{why}");
        reader.abort();
        let _ = incoming.send(Err(TransportError::Io(why))).await;
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

    #[tokio::test(start_paused = true)]
    async fn without_an_interval_it_never_ticks() {
        let (mut k, _) = Keepalive::new(Some(Duration::ZERO));
        let ticked = tokio::time::timeout(Duration::from_secs(3600), k.tick()).await;
        assert!(ticked.is_err());
    }
}
