//! Who is in the cluster: heartbeats, and the nodes silent for too long.
//!
//! Every node publishes a heartbeat each `heartbeat` period on `wr.<cluster>.hb` and
//! listens to everyone's. A node silent for `node_timeout`, or one that said it is leaving,
//! is gone: [`Members::sweep`] hands it out once so the survivors clean up after it. A
//! node named in a shared record but never heard (its process died before this one
//! started) counts as last heard when it was first named, so it goes the same way.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// A heartbeat on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Heartbeat {
    pub node: String,
    /// `alive`, or `leaving` when a node shuts down cleanly.
    pub state: String,
}

/// The nodes this one has heard of.
#[derive(Debug)]
pub(crate) struct Members {
    me: Arc<str>,
    timeout: Duration,
    /// Last heard, by node (never this node).
    seen: parking_lot::Mutex<HashMap<Arc<str>, Instant>>,
    /// The nodes that left or died: what the shared records still say of them is stale.
    gone: parking_lot::Mutex<std::collections::HashSet<Arc<str>>>,
}

impl Members {
    pub fn new(me: Arc<str>, timeout: Duration) -> Self {
        Self {
            me,
            timeout,
            seen: parking_lot::Mutex::new(HashMap::new()),
            gone: parking_lot::Mutex::new(Default::default()),
        }
    }

    /// Whether `node` left or died (a record naming it is stale).
    pub fn is_gone(&self, node: &str) -> bool {
        self.gone.lock().contains(node)
    }

    /// Takes in a heartbeat: `Some(node)` when it says the node is leaving (it is gone at
    /// once), `None` otherwise.
    pub fn heard(&self, hb: &Heartbeat) -> Option<Arc<str>> {
        if *hb.node == *self.me {
            return None;
        }
        let mut seen = self.seen.lock();
        if hb.state == "leaving" {
            let left = seen.remove_entry(hb.node.as_str()).map(|(n, _)| n);
            if let Some(n) = &left {
                self.gone.lock().insert(n.clone());
            }
            return left;
        }
        match seen.get_mut(hb.node.as_str()) {
            Some(at) => *at = Instant::now(),
            None => {
                tracing::info!(node = %hb.node, "cluster node joined");
                seen.insert(Arc::from(hb.node.as_str()), Instant::now());
            }
        }
        None
    }

    /// Counts every node as heard now: after this node was cut off, the others get a
    /// node timeout to be heard again before they are taken as dead.
    pub fn heard_all_now(&self) {
        let now = Instant::now();
        for at in self.seen.lock().values_mut() {
            *at = now;
        }
    }

    /// A node listed again after it was taken as gone (it was cut off, ended its
    /// sessions and came back): it counts again.
    pub fn revive(&self, node: &str) {
        self.gone.lock().remove(node);
    }

    /// Notes a node named in a shared record: it must be heard within the timeout.
    pub fn named(&self, node: &str) {
        if *node == *self.me || self.is_gone(node) {
            return;
        }
        let mut seen = self.seen.lock();
        if !seen.contains_key(node) {
            seen.insert(Arc::from(node), Instant::now());
        }
    }

    /// Removes and returns the nodes silent for longer than the timeout.
    pub fn sweep(&self) -> Vec<Arc<str>> {
        let now = Instant::now();
        let mut gone = Vec::new();
        self.seen.lock().retain(|node, at| {
            let alive = now.duration_since(*at) <= self.timeout;
            if !alive {
                gone.push(node.clone());
            }
            alive
        });
        self.gone.lock().extend(gone.iter().cloned());
        gone
    }

    /// The other nodes believed alive.
    pub fn others(&self) -> Vec<Arc<str>> {
        self.seen.lock().keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hb(node: &str, state: &str) -> Heartbeat {
        Heartbeat {
            node: node.into(),
            state: state.into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn silent_and_leaving_nodes_go_once() {
        let m = Members::new("me".into(), Duration::from_secs(3));
        assert_eq!(m.heard(&hb("a", "alive")), None);
        assert_eq!(m.heard(&hb("b", "alive")), None);
        m.named("c");
        m.named("me");
        assert_eq!(m.others().len(), 3);
        tokio::time::advance(Duration::from_secs(2)).await;
        m.heard(&hb("a", "alive"));
        assert!(m.sweep().is_empty());
        tokio::time::advance(Duration::from_millis(1500)).await;
        let mut gone = m.sweep();
        gone.sort();
        assert_eq!(gone, vec![Arc::from("b"), Arc::from("c")]);
        assert!(m.sweep().is_empty());
        assert_eq!(m.heard(&hb("a", "leaving")).as_deref(), Some("a"));
        assert!(m.others().is_empty());
        assert!(m.is_gone("a") && m.is_gone("b") && !m.is_gone("me"));
        m.named("b");
        assert!(m.others().is_empty(), "a gone node named again stays gone");
    }
}
