//! `sessions`: a storm of N sessions that each join and subscribe to a topic, several at a
//! time; the joins per second, the router's resident memory (from /proc/PID/status) before,
//! with them idle (at once and settled), and after they have left.

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt, TryStreamExt};
use wamp_runtime::proto::{Dict, Message};

use crate::conn::{self, ConnError};
use crate::Load;

/// How long the memory is watched after the sessions have left.
const LEFT_SECONDS: u64 = 25;

/// How long the memory is watched while the sessions are idle (for the settled reading).
const IDLE_SECONDS: u64 = 15;

/// The result of a run.
pub(crate) struct Report {
    pub(crate) sessions: usize,
    pub(crate) before_kib: u64,
    /// One second after the last session joined.
    pub(crate) idle_kib: u64,
    /// The lowest reading in the [`IDLE_SECONDS`] after that, the sessions still idle: what
    /// the storm allocated and freed (handshakes, tasks that ended) is given back by then.
    pub(crate) settled_kib: u64,
    /// The lowest reading in the [`LEFT_SECONDS`] after the sessions have left.
    pub(crate) left_kib: u64,
    /// Sessions joined (and subscribed) per second during the storm.
    pub(crate) joins_per_second: f64,
}

/// The resident set size of `pid`, in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs the scenario against the router process `pid`, `concurrency` joins at a time.
pub(crate) async fn run(
    load: &Load,
    sessions: usize,
    concurrency: usize,
    pid: u32,
) -> Result<Report, ConnError> {
    let no_rss = || ConnError::Unexpected(format!("cannot read /proc/{pid}/status"));
    let rss = || rss_kib(pid).ok_or_else(no_rss);
    let before_kib = rss()?;
    let started = Instant::now();
    let open: Vec<_> = stream::iter(0..sessions)
        .map(|i| {
            let subscribe = Message::Subscribe {
                request: 1,
                options: Dict::new(),
                topic: format!("bench.idle.{}", i % 100),
            };
            conn::join_with(load, &load.url, subscribe)
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    let joins_per_second = sessions as f64 / started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_kib = rss()?;
    let settled_kib = lowest_over(IDLE_SECONDS, rss).await?;
    drop(open);
    let left_kib = lowest_over(LEFT_SECONDS, rss).await?;
    Ok(Report {
        sessions,
        before_kib,
        idle_kib,
        settled_kib,
        left_kib,
        joins_per_second,
    })
}

/// The resident memory at its lowest over `seconds` of readings a second apart: an
/// allocator returns freed pages some seconds after they were freed, and then over seconds.
async fn lowest_over(
    seconds: u64,
    rss: impl Fn() -> Result<u64, ConnError>,
) -> Result<u64, ConnError> {
    let mut lowest = rss()?;
    for _ in 0..seconds {
        tokio::time::sleep(Duration::from_secs(1)).await;
        lowest = lowest.min(rss()?);
    }
    Ok(lowest)
}
