//! Tables that give memory back: a hash table keeps the capacity of its largest moment, so
//! the per-session tables of a realm would hold a spike of sessions' worth of buckets
//! after they have left.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

/// Tables smaller than this are left as they are.
const SMALL: usize = 64;

/// Shrinks `map` when it fills less than a quarter of its capacity, to twice what it
/// holds: amortized, since it takes as many removals as the shrink moves entries.
pub(crate) fn shrink_when_sparse<K: Eq + Hash, V, S: BuildHasher>(map: &mut HashMap<K, V, S>) {
    let cap = map.capacity();
    if cap > SMALL && map.len() * 4 < cap {
        map.shrink_to(map.len() * 2);
    }
}

/// [`shrink_when_sparse`] for a set.
pub(crate) fn shrink_set_when_sparse<T: Eq + Hash, S: BuildHasher>(set: &mut HashSet<T, S>) {
    let cap = set.capacity();
    if cap > SMALL && set.len() * 4 < cap {
        set.shrink_to(set.len() * 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_emptied_after_a_spike_shrinks_and_a_busy_one_does_not() {
        let mut m: HashMap<u64, u64> = (0..10_000).map(|i| (i, i)).collect();
        let full = m.capacity();
        for i in 0..9_990 {
            m.remove(&i);
            shrink_when_sparse(&mut m);
        }
        assert!(m.capacity() < full / 100, "{} of {full}", m.capacity());
        assert_eq!(m.len(), 10);
        let mut busy: HashMap<u64, u64> = (0..1000).map(|i| (i, i)).collect();
        let cap = busy.capacity();
        busy.remove(&1);
        shrink_when_sparse(&mut busy);
        assert_eq!(busy.capacity(), cap);
    }
}
