//! The node's part of the router's metrics: the cluster's gauges and counters.

use super::Node;

impl Node {
    /// The node's part of the router's metrics, in the Prometheus text format.
    pub fn metrics(&self) -> String {
        use std::fmt::Write as _;
        use std::sync::atomic::Ordering::Relaxed;
        let mut text = String::new();
        let gauges = [
            (
                "wamp_cluster_nodes",
                "Nodes of the cluster this one knows alive, itself included.",
                self.members.others().len() as u64 + 1,
            ),
            (
                "wamp_cluster_connected",
                "1 while this node reaches NATS.",
                u64::from(self.is_connected()),
            ),
            (
                "wamp_cluster_sessions",
                "Sessions of every node that this one knows.",
                self.sessions.count() as u64,
            ),
        ];
        let counters = [
            (
                "wamp_cluster_envelopes_sent_total",
                "Envelopes sent to other nodes.",
                self.outbound.sent.load(Relaxed),
            ),
            (
                "wamp_cluster_envelopes_received_total",
                "Envelopes taken from other nodes.",
                self.received.load(Relaxed),
            ),
            (
                "wamp_cluster_envelopes_dropped_total",
                "Envelopes dropped because the queue to NATS was full.",
                self.outbound.dropped.load(Relaxed),
            ),
            (
                "wamp_cluster_envelopes_lost_total",
                "Envelopes other nodes sent that never arrived (core NATS is at most once).",
                self.lost.load(Relaxed),
            ),
        ];
        let all = gauges.iter().map(|g| ("gauge", g));
        for (kind, (name, help, value)) in all.chain(counters.iter().map(|c| ("counter", c))) {
            let _ = writeln!(
                text,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        text
    }
}
