//! What the router counts, and its exposition in the Prometheus text format.
//!
//! Counters are relaxed atomics, bumped where the work happens: message and byte counts by
//! the transports as frames are read and written, drops and disconnects by the outbound
//! queues, payload pass-through and transcoding by the encoders. Gauges (sessions, calls in
//! flight) are read from the realms when scraped.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use wamp_runtime::proto::message::name_of;
use wamp_runtime::proto::{Message, Payload};
use wamp_runtime::Serializer;

use crate::RouterInner;

/// One past the highest message type code (YIELD, 70).
const CODES: usize = 71;

/// How many distinct error URIs are counted by name; the rest count as `other`, so that
/// applications inventing error URIs cannot grow the router's memory or a scrape.
const ERROR_URIS: usize = 256;

/// Router-wide counters.
#[derive(Debug)]
pub(crate) struct Stats {
    pub dropped_events: AtomicU64,
    pub slow_disconnects: AtomicU64,
    pub payloads_passed_through: AtomicU64,
    pub payloads_transcoded: AtomicU64,
    /// CALLs and PUBLISHes refused by payload validation.
    pub refused_payloads: AtomicU64,
    /// Events the event history let go (its limit, or their age).
    pub history_evicted: AtomicU64,
    received: [AtomicU64; CODES],
    sent: [AtomicU64; CODES],
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
    /// ERROR messages sent to peers, by error URI.
    errors: parking_lot::Mutex<HashMap<String, u64>>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            dropped_events: AtomicU64::new(0),
            slow_disconnects: AtomicU64::new(0),
            payloads_passed_through: AtomicU64::new(0),
            payloads_transcoded: AtomicU64::new(0),
            refused_payloads: AtomicU64::new(0),
            history_evicted: AtomicU64::new(0),
            received: std::array::from_fn(|_| AtomicU64::new(0)),
            sent: std::array::from_fn(|_| AtomicU64::new(0)),
            bytes_received: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            errors: parking_lot::Mutex::new(HashMap::new()),
        }
    }
}

impl Stats {
    /// Counts a message read from a peer: its type and its frame's length.
    pub fn received(&self, code: u64, bytes: usize) {
        if let Some(c) = self.received.get(code as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.bytes_received
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts `n` messages of type `code` written to a peer.
    pub fn sent(&self, code: u64, n: u64) {
        if let Some(c) = self.sent.get(code as usize) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts bytes written to peers.
    pub fn sent_bytes(&self, bytes: usize) {
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts a message about to be written: its type, and its error URI if it is an ERROR.
    pub fn sending(&self, msg: &Message) {
        self.sent(msg.code(), 1);
        if let Message::Error { error, .. } = msg {
            let mut errors = self.errors.lock();
            if let Some(n) = errors.get_mut(error.as_str()) {
                *n += 1;
            } else if errors.len() < ERROR_URIS {
                errors.insert(error.clone(), 1);
            } else {
                *errors.entry("other".to_owned()).or_default() += 1;
            }
        }
    }

    /// Counts a payload about to be written for a peer of `serializer`: passed through as
    /// the bytes it arrived in, or transcoded from another serializer. Payloads the router
    /// made itself (meta API, errors) and empty ones are neither.
    pub fn count_payload(&self, payload: &Payload, serializer: Serializer) {
        match payload.serializer() {
            Some(s) if s == serializer => &self.payloads_passed_through,
            Some(_) => &self.payloads_transcoded,
            None => return,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// Encodes `msg` for a peer of `serializer`, counting it and its payload.
    pub fn encode(
        &self,
        serializer: Serializer,
        msg: &Message,
    ) -> Result<bytes::Bytes, wamp_runtime::serializer::EncodeError> {
        self.sending(msg);
        if let Some(p) = msg.payload() {
            self.count_payload(p, serializer);
        }
        serializer.encode(msg)
    }

    /// A snapshot of the counters.
    pub fn snapshot(&self) -> RouterStats {
        let sum = |a: &[AtomicU64; CODES]| a.iter().map(|c| c.load(Ordering::Relaxed)).sum();
        RouterStats {
            dropped_events: self.dropped_events.load(Ordering::Relaxed),
            slow_disconnects: self.slow_disconnects.load(Ordering::Relaxed),
            payloads_passed_through: self.payloads_passed_through.load(Ordering::Relaxed),
            payloads_transcoded: self.payloads_transcoded.load(Ordering::Relaxed),
            refused_payloads: self.refused_payloads.load(Ordering::Relaxed),
            messages_received: sum(&self.received),
            messages_sent: sum(&self.sent),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
        }
    }
}

/// What the router counted since it started (see [`crate::RouterHandle::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouterStats {
    /// Events dropped for subscribers too slow to take them.
    pub dropped_events: u64,
    /// Sessions disconnected for falling too far behind.
    pub slow_disconnects: u64,
    /// Payloads written to a peer as the bytes they arrived in (same serializer on both
    /// sides): never decoded or re-encoded by the router. An event counts once per
    /// serializer of its fan-out, not once per subscriber.
    pub payloads_passed_through: u64,
    /// Payloads decoded and re-encoded for a peer of another serializer (once per
    /// serializer for an event's fan-out).
    pub payloads_transcoded: u64,
    /// Calls and publications refused because their payload does not fit the interface
    /// description (realms that validate payloads).
    pub refused_payloads: u64,
    /// Messages read from peers over the network.
    pub messages_received: u64,
    /// Messages written to peers over the network.
    pub messages_sent: u64,
    /// Bytes of messages read from peers (frame payloads, without transport framing).
    pub bytes_received: u64,
    /// Bytes of messages written to peers (frame payloads, without transport framing).
    pub bytes_sent: u64,
}

/// Escapes a label value for the text format.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes a metric family's HELP and TYPE lines.
fn head(text: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The router's metrics in the Prometheus text exposition format (version 0.0.4).
pub(crate) fn render(router: &RouterInner) -> String {
    let stats = &router.stats;
    let mut realms: Vec<_> = router.realms.iter().collect();
    realms.sort_by(|a, b| a.0.cmp(b.0));
    let mut text = String::new();

    head(
        &mut text,
        "wamp_sessions",
        "gauge",
        "Sessions joined, by realm.",
    );
    for (name, realm) in &realms {
        let n = realm.session_count();
        let _ = writeln!(text, "wamp_sessions{{realm=\"{}\"}} {n}", label(name));
    }
    head(
        &mut text,
        "wamp_calls_in_flight",
        "gauge",
        "Calls routed to a callee and not answered yet, by realm.",
    );
    for (name, realm) in &realms {
        let n = realm.calls_in_flight();
        let _ = writeln!(
            text,
            "wamp_calls_in_flight{{realm=\"{}\"}} {n}",
            label(name)
        );
    }
    for (name, help, index) in [
        (
            "wamp_event_history_events",
            "Events held by the event history, by realm.",
            0,
        ),
        (
            "wamp_event_history_bytes",
            "Bytes held by the event history (roughly), by realm.",
            1,
        ),
    ] {
        head(&mut text, name, "gauge", help);
        for (realm_name, realm) in &realms {
            let (events, bytes) = realm.history_usage();
            let n = if index == 0 { events } else { bytes };
            let _ = writeln!(text, "{name}{{realm=\"{}\"}} {n}", label(realm_name));
        }
    }
    for (name, help, counters) in [
        (
            "wamp_messages_received_total",
            "Messages read from peers, by type.",
            &stats.received,
        ),
        (
            "wamp_messages_sent_total",
            "Messages written to peers, by type.",
            &stats.sent,
        ),
    ] {
        head(&mut text, name, "counter", help);
        for (code, c) in counters.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                let _ = writeln!(text, "{name}{{type=\"{}\"}} {n}", name_of(code as u64));
            }
        }
    }
    head(
        &mut text,
        "wamp_errors_total",
        "counter",
        "ERROR messages sent to peers, by error URI.",
    );
    let mut errors: Vec<(String, u64)> = stats
        .errors
        .lock()
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    errors.sort();
    for (uri, n) in errors {
        let _ = writeln!(text, "wamp_errors_total{{uri=\"{}\"}} {n}", label(&uri));
    }
    for (name, help, value) in [
        (
            "wamp_bytes_received_total",
            "Bytes of messages read from peers.",
            &stats.bytes_received,
        ),
        (
            "wamp_bytes_sent_total",
            "Bytes of messages written to peers.",
            &stats.bytes_sent,
        ),
        (
            "wamp_events_dropped_total",
            "Events dropped for subscribers too slow to take them.",
            &stats.dropped_events,
        ),
        (
            "wamp_slow_disconnects_total",
            "Sessions disconnected for falling too far behind.",
            &stats.slow_disconnects,
        ),
        (
            "wamp_payloads_passed_through_total",
            "Payloads forwarded as the bytes they arrived in.",
            &stats.payloads_passed_through,
        ),
        (
            "wamp_payloads_transcoded_total",
            "Payloads transcoded for a peer of another serializer.",
            &stats.payloads_transcoded,
        ),
        (
            "wamp_payloads_refused_total",
            "Calls and publications refused by payload validation.",
            &stats.refused_payloads,
        ),
        (
            "wamp_event_history_evicted_total",
            "Events the event history let go, for its limit or their age.",
            &stats.history_evicted,
        ),
    ] {
        head(&mut text, name, "counter", help);
        let _ = writeln!(text, "{name} {}", value.load(Ordering::Relaxed));
    }
    if let Some(node) = &router.cluster {
        text.push_str(&node.metrics());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn error_uris_are_bounded() {
        let stats = Stats::default();
        for i in 0..(ERROR_URIS + 10) {
            stats.sending(&Message::error(
                wamp_runtime::proto::code::CALL,
                1,
                &format!("com.app.error{i}"),
                "x",
            ));
        }
        let errors = stats.errors.lock();
        assert_eq!(errors.len(), ERROR_URIS + 1);
        assert_eq!(errors.get("other"), Some(&10));
    }
}
