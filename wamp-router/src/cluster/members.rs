//! Who is in the cluster: heartbeats, and the nodes silent for too long.
//!
//! Every node publishes a heartbeat each `heartbeat` period on `wr.<cluster>.hb` and
//! listens to everyone's. A node silent for `node_timeout`, or one that said it is leaving,
//! is gone: [`Members::sweep`] hands it out once so the survivors clean up after it. A
//! node named in a shared record but never heard (its process died before this one
//! started) counts as last heard when it was first named, so it goes the same way.
//!
//! A heartbeat also carries the sender's epoch, which it bumps each time its connection to
//! NATS comes back (what was sent to it while it was away is lost: core NATS is at most
//! once), and the nodes whose envelopes it found missing since its last heartbeat. A node
//! that hears a higher epoch, or its own name among those, ends the calls that crossed
//! between the two.

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
    /// How many times the sender's connection to NATS came back (0 from a node that
    /// predates it).
    #[serde(default)]
    pub epoch: u64,
    /// The nodes whose envelopes to the sender went missing since its last heartbeat
    /// (a gap in their sequence).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lost: Vec<String>,
    /// The last sequence the sender gave an envelope for each node (a loss shows when
    /// what arrived stays behind it).
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub sent: HashMap<String, u64>,
}

/// What a heartbeat says about its sender.
#[derive(Debug, PartialEq)]
pub(crate) enum Heard {
    /// Alive, as before (or heard for the first time).
    Alive,
    /// Leaving the cluster: gone at once.
    Left(Arc<str>),
    /// Back from a loss of its NATS connection, or missing envelopes from this node: what
    /// crossed between the two meanwhile may be lost.
    CallsLost(Arc<str>),
}

/// When a node was last heard, and its epoch then (`None`: only named so far).
#[derive(Debug, Clone, Copy)]
struct Seen {
    at: Instant,
    epoch: Option<u64>,
}

/// The nodes this one has heard of.
#[derive(Debug)]
pub(crate) struct Members {
    me: Arc<str>,
    timeout: Duration,
    /// Last heard, by node (never this node).
    seen: parking_lot::Mutex<HashMap<Arc<str>, Seen>>,
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

    /// Takes in a heartbeat.
    pub fn heard(&self, hb: &Heartbeat) -> Heard {
        if *hb.node == *self.me {
            return Heard::Alive;
        }
        let mut seen = self.seen.lock();
        if hb.state == "leaving" {
            let Some((left, _)) = seen.remove_entry(hb.node.as_str()) else {
                return Heard::Alive;
            };
            self.gone.lock().insert(left.clone());
            return Heard::Left(left);
        }
        let now = Instant::now();
        match seen.get_mut(hb.node.as_str()) {
            Some(node) => {
                node.at = now;
                let before = node.epoch;
                node.epoch = Some(before.map_or(hb.epoch, |e| e.max(hb.epoch)));
                if before.is_some_and(|e| hb.epoch > e) {
                    return Heard::CallsLost(Arc::from(hb.node.as_str()));
                }
            }
            None => {
                tracing::info!(node = %hb.node, "cluster node joined");
                let first = Seen {
                    at: now,
                    epoch: Some(hb.epoch),
                };
                seen.insert(Arc::from(hb.node.as_str()), first);
            }
        }
        if hb.lost.iter().any(|n| **n == *self.me) {
            return Heard::CallsLost(Arc::from(hb.node.as_str()));
        }
        Heard::Alive
    }

    /// Counts every node as heard now: after this node was cut off, the others get a
    /// node timeout to be heard again before they are taken as dead.
    pub fn heard_all_now(&self) {
        let now = Instant::now();
        for node in self.seen.lock().values_mut() {
            node.at = now;
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
            let named = Seen {
                at: Instant::now(),
                epoch: None,
            };
            seen.insert(Arc::from(node), named);
        }
    }

    /// Removes and returns the nodes silent for longer than the timeout.
    pub fn sweep(&self) -> Vec<Arc<str>> {
        let now = Instant::now();
        let mut gone = Vec::new();
        self.seen.lock().retain(|node, seen| {
            let alive = now.duration_since(seen.at) <= self.timeout;
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
            epoch: 0,
            lost: Vec::new(),
            sent: HashMap::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn silent_and_leaving_nodes_go_once() {
        let m = Members::new("me".into(), Duration::from_secs(3));
        assert_eq!(m.heard(&hb("a", "alive")), Heard::Alive);
        assert_eq!(m.heard(&hb("b", "alive")), Heard::Alive);
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
        assert_eq!(m.heard(&hb("a", "leaving")), Heard::Left("a".into()));
        assert!(m.others().is_empty());
        assert!(m.is_gone("a") && m.is_gone("b") && !m.is_gone("me"));
        m.named("b");
        assert!(m.others().is_empty(), "a gone node named again stays gone");
    }

    #[test]
    fn a_higher_epoch_says_the_node_reconnected_once() {
        let m = Members::new("me".into(), Duration::from_secs(3));
        m.named("a");
        let at = |epoch| Heartbeat {
            epoch,
            ..hb("a", "alive")
        };
        assert_eq!(
            m.heard(&at(4)),
            Heard::Alive,
            "the first epoch heard is no news"
        );
        assert_eq!(m.heard(&at(4)), Heard::Alive);
        assert_eq!(m.heard(&at(5)), Heard::CallsLost("a".into()));
        assert_eq!(m.heard(&at(5)), Heard::Alive);
        assert_eq!(m.heard(&at(3)), Heard::Alive, "an older beat arriving late");
        assert_eq!(m.heard(&at(5)), Heard::Alive);
        let old: Heartbeat = serde_json::from_str(r#"{"node":"b","state":"alive"}"#).unwrap();
        assert_eq!(old.epoch, 0);
    }

    #[test]
    fn a_node_missing_envelopes_from_this_one_says_so() {
        let m = Members::new("me".into(), Duration::from_secs(3));
        let missing = |lost: &[&str]| Heartbeat {
            lost: lost.iter().map(|n| n.to_string()).collect(),
            ..hb("a", "alive")
        };
        assert_eq!(
            m.heard(&missing(&["b"])),
            Heard::Alive,
            "another node's loss"
        );
        assert_eq!(
            m.heard(&missing(&["b", "me"])),
            Heard::CallsLost("a".into())
        );
        assert_eq!(m.heard(&missing(&[])), Heard::Alive);
        let json = serde_json::to_string(&missing(&[])).unwrap();
        assert!(!json.contains("lost"), "{json}");
    }
}
