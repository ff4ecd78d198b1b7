//! The envelopes' sequence numbers, both ways: given per destination on the way out (an
//! envelope dropped before it left still takes one, so it shows as a gap), checked per
//! sender on the way in. Core NATS is at most once; a gap, or a heartbeat's claim of what
//! its sender sent that is still not met a while later (the last envelope of a burst
//! lost, with nothing after it to show the gap), is a loss the caller of a call must hear
//! of.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// The last sequence given to an envelope for each destination.
#[derive(Debug, Default)]
pub(crate) struct Sent {
    last: parking_lot::Mutex<foldhash::HashMap<Arc<str>, u64>>,
}

impl Sent {
    /// Gives each of `envelopes` (by destination) its sequence, in order, into `into`.
    pub fn number<'a>(&self, envelopes: impl Iterator<Item = &'a Arc<str>>, into: &mut Vec<u64>) {
        let mut last = self.last.lock();
        for node in envelopes {
            let n = match last.get_mut(node) {
                Some(n) => n,
                None => last.entry(node.clone()).or_insert(0),
            };
            *n += 1;
            into.push(*n);
        }
    }

    /// An envelope for `node` was dropped before it was sent: its number is skipped.
    pub fn skip(&self, node: &Arc<str>) {
        *self.last.lock().entry(node.clone()).or_insert(0) += 1;
    }

    /// The last sequence given for each destination (what a heartbeat claims).
    pub fn claims(&self) -> HashMap<String, u64> {
        let last = self.last.lock();
        last.iter().map(|(n, s)| (n.to_string(), *s)).collect()
    }
}

/// What arrived from each sender.
#[derive(Debug)]
pub(crate) struct Received {
    senders: parking_lot::Mutex<foldhash::HashMap<String, From>>,
    /// How old a claim must be before it is held against what arrived: envelopes sent
    /// before a heartbeat may still be on their way, or queued here, when it arrives.
    settle: Duration,
}

/// One sender's envelopes.
#[derive(Debug, Default)]
struct From {
    /// The last sequence taken in (0: none since this node started or reconnected).
    last: u64,
    /// Losses up to this sequence were already reported.
    reported: u64,
    /// The latest claim old enough to check, and when it came.
    claim: Option<(u64, Instant)>,
}

impl Received {
    pub fn new(settle: Duration) -> Self {
        Self {
            senders: Default::default(),
            settle,
        }
    }

    /// Takes in envelope `sequence` from `sender`: whether envelopes before it went
    /// missing (a loss not reported yet), and how many.
    pub fn take(&self, sender: &str, sequence: u64) -> Option<u64> {
        let mut senders = self.senders.lock();
        let from = match senders.get_mut(sender) {
            Some(f) => f,
            None => senders.entry(sender.to_owned()).or_default(),
        };
        let missing =
            (from.last != 0 && sequence > from.last + 1).then(|| sequence - from.last - 1);
        let unreported = sequence - 1 > from.reported;
        from.last = from.last.max(sequence);
        if missing.is_some() && unreported {
            from.reported = sequence - 1;
            return missing;
        }
        None
    }

    /// Takes in a heartbeat's claim that `sender` sent up to `claim` here: how many
    /// envelopes a claim it made at least `settle` ago still misses (a loss not reported
    /// yet).
    pub fn claimed(&self, sender: &str, claim: u64) -> Option<u64> {
        let mut senders = self.senders.lock();
        let from = match senders.get_mut(sender) {
            Some(f) => f,
            None => senders.entry(sender.to_owned()).or_default(),
        };
        let now = Instant::now();
        let lost = match from.claim {
            // The first claim since this node started or reconnected, with nothing taken
            // in yet, is where checking starts (a loss before it, the epoch told of).
            None if from.last == 0 => {
                from.reported = from.reported.max(claim);
                None
            }
            None => None,
            Some((_, at)) if now.duration_since(at) < self.settle => return None,
            Some((old, _)) if old > from.last && old > from.reported => {
                let missing = old - from.last.max(from.reported);
                from.reported = old;
                Some(missing)
            }
            Some(_) => None,
        };
        from.claim = Some((claim, now));
        lost
    }

    /// Forgets what arrived (this node's connection came back: its epoch covers it).
    pub fn reset(&self) {
        self.senders.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_go_up_per_destination_and_a_skipped_one_leaves_a_gap() {
        let sent = Sent::default();
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let mut seqs = Vec::new();
        sent.number([&a, &b, &a].into_iter(), &mut seqs);
        assert_eq!(seqs, [1, 1, 2]);
        sent.skip(&a);
        seqs.clear();
        sent.number([&a].into_iter(), &mut seqs);
        assert_eq!(seqs, [4]);
        assert_eq!(sent.claims().get("a"), Some(&4));
    }

    #[test]
    fn a_gap_is_reported_once() {
        let r = Received::new(Duration::from_secs(2));
        assert_eq!(r.take("a", 1), None);
        assert_eq!(r.take("a", 2), None);
        assert_eq!(r.take("a", 5), Some(2));
        assert_eq!(r.take("a", 6), None);
        assert_eq!(r.take("b", 7), None, "the first heard from a sender");
        r.reset();
        assert_eq!(r.take("a", 9), None, "the first after a reset");
    }

    #[tokio::test(start_paused = true)]
    async fn a_claim_not_met_once_settled_is_a_loss_reported_once() {
        let r = Received::new(Duration::from_secs(2));
        r.take("a", 1);
        assert_eq!(r.claimed("a", 2), None, "the first claim is only noted");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(r.claimed("a", 2), None, "too recent to hold");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(r.claimed("a", 2), Some(1), "envelope 2 never came");
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(r.claimed("a", 2), None, "reported already");
        assert_eq!(r.take("a", 3), None, "its gap was reported already");
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(r.claimed("a", 3), None, "met");
    }

    #[tokio::test(start_paused = true)]
    async fn a_claim_met_in_time_is_no_loss() {
        let r = Received::new(Duration::from_secs(2));
        r.take("a", 1);
        r.claimed("a", 3);
        r.take("a", 2);
        r.take("a", 3);
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(r.claimed("a", 3), None);
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_reset_the_first_claim_is_where_checking_starts() {
        let r = Received::new(Duration::from_secs(2));
        r.take("a", 1);
        r.reset();
        assert_eq!(r.claimed("a", 8), None);
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(r.claimed("a", 8), None, "8 and before: the epoch's");
        assert_eq!(r.take("a", 9), None);
    }
}
