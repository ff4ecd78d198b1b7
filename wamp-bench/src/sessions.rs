//! `sessions`: opens N idle sessions that each subscribe to a topic, and reports the
//! router's resident memory (from /proc/PID/status) before and after.

use std::time::Duration;

use wamp_runtime::proto::{Dict, Message};

use crate::conn::{self, ConnError};
use crate::Load;

/// The result of a run.
pub(crate) struct Report {
    pub(crate) sessions: usize,
    pub(crate) before_kib: u64,
    pub(crate) after_kib: u64,
}

/// The resident set size of `pid`, in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs the scenario against the router process `pid`.
pub(crate) async fn run(load: &Load, sessions: usize, pid: u32) -> Result<Report, ConnError> {
    let no_rss = || ConnError::Unexpected(format!("cannot read /proc/{pid}/status"));
    let before_kib = rss_kib(pid).ok_or_else(no_rss)?;
    let mut open = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let (tx, rx) = conn::join_with(
            load,
            &load.url,
            Message::Subscribe {
                request: 1,
                options: Dict::new(),
                topic: format!("bench.idle.{}", i % 100),
            },
        )
        .await?;
        open.push((tx, rx));
    }
    // Let the router settle.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_kib = rss_kib(pid).ok_or_else(no_rss)?;
    drop(open);
    Ok(Report {
        sessions,
        before_kib,
        after_kib,
    })
}
