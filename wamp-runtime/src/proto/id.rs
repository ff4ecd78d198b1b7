//! WAMP IDs and their three scopes.
//!
//! IDs are integers in `1..=2^53` so that every peer (JavaScript included) represents them
//! exactly. Global IDs (sessions, publications) are drawn at random; router-scope IDs
//! (subscriptions, registrations) and session-scope IDs (requests) are sequential.

use std::sync::atomic::{AtomicU64, Ordering};

/// A WAMP ID.
pub type Id = u64;

/// The largest valid ID: 2^53.
pub const MAX_ID: Id = 1 << 53;

/// Whether `id` lies in the valid range `1..=2^53`.
pub fn is_valid_id(id: u64) -> bool {
    (1..=MAX_ID).contains(&id)
}

/// A random ID of the global scope, uniformly drawn from `1..=2^53`.
pub fn global_id() -> Id {
    rand::random_range(1..=MAX_ID)
}

/// A sequential ID generator, for the router and session scopes. Thread-safe.
///
/// It starts at 1 and wraps back to 1 after 2^53.
#[derive(Debug, Default)]
pub struct IdSequence {
    last: AtomicU64,
}

impl IdSequence {
    /// A sequence whose first ID is 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next ID of the sequence.
    pub fn next_id(&self) -> Id {
        let prev = self
            .last
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(if n >= MAX_ID { 1 } else { n + 1 })
            })
            .unwrap_or(0);
        if prev >= MAX_ID {
            1
        } else {
            prev + 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_starts_at_one_and_wraps() {
        let s = IdSequence::new();
        assert_eq!(s.next_id(), 1);
        assert_eq!(s.next_id(), 2);
        s.last.store(MAX_ID - 1, Ordering::Relaxed);
        assert_eq!(s.next_id(), MAX_ID);
        assert_eq!(s.next_id(), 1);
    }

    #[test]
    fn global_ids_are_in_range() {
        for _ in 0..1000 {
            assert!(is_valid_id(global_id()));
        }
    }
}
