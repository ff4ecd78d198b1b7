//! An index of URI patterns under WAMP's three match policies, so that the broker and the
//! dealer find what matches a concrete URI by lookups rather than by scanning every
//! subscription or registration.
//!
//! - `exact`: one hash lookup.
//! - `prefix` (the pattern is a string prefix of the URI): one hash lookup per distinct
//!   pattern length no longer than the URI, so the cost depends on the URI, not on how many
//!   prefixes there are.
//! - `wildcard` (an empty component matches any one component): a trie of components,
//!   walked along the URI's components and, at each level, the wildcard branch.

use foldhash::HashMap;
use std::collections::BTreeMap;

use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::Id;

/// Patterns of every match policy, each mapped to an ID (a subscription or registration).
#[derive(Debug, Default)]
pub struct UriIndex {
    exact: HashMap<String, Id>,
    prefix: HashMap<String, Id>,
    /// How many prefix patterns there are of each length.
    prefix_lengths: BTreeMap<usize, usize>,
    wildcard: Node,
}

/// A level of the wildcard trie.
#[derive(Debug, Default)]
struct Node {
    /// The pattern that ends here.
    id: Option<Id>,
    /// Patterns that continue with a given component.
    named: HashMap<String, Node>,
    /// Patterns that continue with an empty (wildcard) component.
    any: Option<Box<Node>>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.id.is_none() && self.named.is_empty() && self.any.is_none()
    }

    /// Calls `found` with every pattern below this node that matches `rest`, and how many
    /// of its components are not wildcards.
    fn walk<'a>(
        &self,
        mut rest: impl Iterator<Item = &'a str> + Clone,
        fixed: usize,
        found: &mut impl FnMut(Id, usize),
    ) {
        let Some(component) = rest.next() else {
            if let Some(id) = self.id {
                found(id, fixed);
            }
            return;
        };
        if let Some(next) = self.named.get(component) {
            next.walk(rest.clone(), fixed + 1, found);
        }
        if let Some(next) = &self.any {
            next.walk(rest, fixed, found);
        }
    }

    /// Removes the pattern of `components` below this node; prunes what it leaves empty.
    fn remove<'a>(&mut self, mut components: impl Iterator<Item = &'a str>) -> Option<Id> {
        let Some(component) = components.next() else {
            return self.id.take();
        };
        if component.is_empty() {
            let next = self.any.as_mut()?;
            let id = next.remove(components);
            if next.is_empty() {
                self.any = None;
            }
            id
        } else {
            let next = self.named.get_mut(component)?;
            let id = next.remove(components);
            if next.is_empty() {
                self.named.remove(component);
            }
            id
        }
    }

    fn get<'a>(&self, mut components: impl Iterator<Item = &'a str>) -> Option<Id> {
        match components.next() {
            None => self.id,
            Some("") => self.any.as_ref()?.get(components),
            Some(c) => self.named.get(c)?.get(components),
        }
    }
}

impl UriIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `(policy, pattern)` to `id`; the ID it replaces, if any.
    pub fn insert(&mut self, policy: MatchPolicy, pattern: &str, id: Id) -> Option<Id> {
        match policy {
            MatchPolicy::Exact => self.exact.insert(pattern.to_owned(), id),
            MatchPolicy::Prefix => {
                let old = self.prefix.insert(pattern.to_owned(), id);
                if old.is_none() {
                    *self.prefix_lengths.entry(pattern.len()).or_default() += 1;
                }
                old
            }
            MatchPolicy::Wildcard => {
                let mut node = &mut self.wildcard;
                for c in pattern.split('.') {
                    node = if c.is_empty() {
                        node.any.get_or_insert_with(Box::default)
                    } else {
                        node.named.entry(c.to_owned()).or_default()
                    };
                }
                node.id.replace(id)
            }
        }
    }

    /// Removes `(policy, pattern)`; its ID, if it was there.
    pub fn remove(&mut self, policy: MatchPolicy, pattern: &str) -> Option<Id> {
        match policy {
            MatchPolicy::Exact => self.exact.remove(pattern),
            MatchPolicy::Prefix => {
                let id = self.prefix.remove(pattern)?;
                if let Some(n) = self.prefix_lengths.get_mut(&pattern.len()) {
                    *n -= 1;
                    if *n == 0 {
                        self.prefix_lengths.remove(&pattern.len());
                    }
                }
                Some(id)
            }
            MatchPolicy::Wildcard => self.wildcard.remove(pattern.split('.')),
        }
    }

    /// The ID of `(policy, pattern)` itself (not of what matches it).
    pub fn get(&self, policy: MatchPolicy, pattern: &str) -> Option<Id> {
        match policy {
            MatchPolicy::Exact => self.exact.get(pattern).copied(),
            MatchPolicy::Prefix => self.prefix.get(pattern).copied(),
            MatchPolicy::Wildcard => self.wildcard.get(pattern.split('.')),
        }
    }

    /// Every pattern `uri` matches, exact first, then prefixes (shortest first), then
    /// wildcards.
    pub fn matches(&self, uri: &str, mut found: impl FnMut(Id, MatchPolicy)) {
        if let Some(&id) = self.exact.get(uri) {
            found(id, MatchPolicy::Exact);
        }
        self.prefixes(uri, |id| found(id, MatchPolicy::Prefix));
        self.wildcard.walk(uri.split('.'), 0, &mut |id, _| {
            found(id, MatchPolicy::Wildcard)
        });
    }

    /// The one pattern a call to `uri` goes to, by the dealer's rule: the exact pattern,
    /// else the longest matching prefix, else the matching wildcard pattern with the most
    /// non-wildcard components, the lowest ID (the earliest registered) among equals.
    pub fn best_match(&self, uri: &str) -> Option<(Id, MatchPolicy)> {
        if let Some(&id) = self.exact.get(uri) {
            return Some((id, MatchPolicy::Exact));
        }
        let mut longest = None;
        self.prefixes(uri, |id| longest = Some(id));
        if let Some(id) = longest {
            return Some((id, MatchPolicy::Prefix));
        }
        let mut best: Option<(usize, Id)> = None;
        self.wildcard.walk(uri.split('.'), 0, &mut |id, fixed| {
            let better = match best {
                None => true,
                Some((f, i)) => fixed > f || (fixed == f && id < i),
            };
            if better {
                best = Some((fixed, id));
            }
        });
        best.map(|(_, id)| (id, MatchPolicy::Wildcard))
    }

    /// Calls `found` for each prefix pattern of `uri`, shortest first.
    fn prefixes(&self, uri: &str, mut found: impl FnMut(Id)) {
        for &len in self.prefix_lengths.range(..=uri.len()).map(|(len, _)| len) {
            if let Some(&id) = uri.get(..len).and_then(|p| self.prefix.get(p)) {
                found(id);
            }
        }
    }

    /// How many patterns the index holds.
    pub fn len(&self) -> usize {
        let mut wild = 0;
        count(&self.wildcard, &mut wild);
        self.exact.len() + self.prefix.len() + wild
    }

    /// Whether the index holds no pattern.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefix.is_empty() && self.wildcard.is_empty()
    }
}

fn count(node: &Node, n: &mut usize) {
    *n += usize::from(node.id.is_some());
    for child in node.named.values() {
        count(child, n);
    }
    if let Some(any) = &node.any {
        count(any, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wamp_runtime::proto::uri;

    fn all(index: &UriIndex, uri: &str) -> Vec<Id> {
        let mut out = Vec::new();
        index.matches(uri, |id, _| out.push(id));
        out.sort_unstable();
        out
    }

    #[test]
    fn agrees_with_the_match_rules() {
        let patterns = [
            (MatchPolicy::Exact, "com.app.a"),
            (MatchPolicy::Exact, "com.app"),
            (MatchPolicy::Prefix, "com"),
            (MatchPolicy::Prefix, "com.app"),
            (MatchPolicy::Prefix, "com.app.a"),
            (MatchPolicy::Prefix, "co"),
            (MatchPolicy::Prefix, "org"),
            (MatchPolicy::Wildcard, "com..a"),
            (MatchPolicy::Wildcard, "com.app."),
            (MatchPolicy::Wildcard, ".app.a"),
            (MatchPolicy::Wildcard, ".."),
            (MatchPolicy::Wildcard, "com."),
            (MatchPolicy::Wildcard, "com.app.a.b"),
        ];
        let mut index = UriIndex::new();
        for (i, (policy, p)) in patterns.iter().enumerate() {
            assert_eq!(index.insert(*policy, p, i as Id + 1), None);
        }
        assert_eq!(index.len(), patterns.len());
        for uri in [
            "com.app.a",
            "com.app",
            "com.app.b",
            "com.apple.a",
            "org.x.a",
            "com.app.a.b",
            "c",
            "net.app.a",
        ] {
            let mut expected: Vec<Id> = patterns
                .iter()
                .enumerate()
                .filter(|(_, (policy, p))| uri::matches(p, *policy, uri))
                .map(|(i, _)| i as Id + 1)
                .collect();
            expected.sort_unstable();
            assert_eq!(all(&index, uri), expected, "{uri}");
        }
    }

    #[test]
    fn best_match_follows_the_dealer_rule() {
        let mut index = UriIndex::new();
        index.insert(MatchPolicy::Wildcard, "com..a", 5);
        index.insert(MatchPolicy::Wildcard, ".app.a", 3);
        index.insert(MatchPolicy::Wildcard, "com.app.", 4);
        index.insert(MatchPolicy::Wildcard, "..a", 1);
        // Two fixed components each: the lowest ID wins.
        assert_eq!(
            index.best_match("com.app.a"),
            Some((3, MatchPolicy::Wildcard))
        );
        index.insert(MatchPolicy::Prefix, "com", 7);
        index.insert(MatchPolicy::Prefix, "com.ap", 8);
        assert_eq!(
            index.best_match("com.app.a"),
            Some((8, MatchPolicy::Prefix))
        );
        index.insert(MatchPolicy::Exact, "com.app.a", 9);
        assert_eq!(index.best_match("com.app.a"), Some((9, MatchPolicy::Exact)));
        assert_eq!(index.best_match("net.x.y"), None);
    }

    #[test]
    fn removal_prunes_and_forgets() {
        let mut index = UriIndex::new();
        index.insert(MatchPolicy::Wildcard, "com..a", 1);
        index.insert(MatchPolicy::Wildcard, "com..b", 2);
        index.insert(MatchPolicy::Prefix, "com.x", 3);
        index.insert(MatchPolicy::Prefix, "com.y", 4);
        assert_eq!(index.get(MatchPolicy::Wildcard, "com..a"), Some(1));
        assert_eq!(index.remove(MatchPolicy::Wildcard, "com..a"), Some(1));
        assert_eq!(index.remove(MatchPolicy::Wildcard, "com..a"), None);
        assert_eq!(all(&index, "com.q.b"), vec![2]);
        assert_eq!(index.remove(MatchPolicy::Prefix, "com.x"), Some(3));
        assert_eq!(all(&index, "com.y.z"), vec![4]);
        assert_eq!(index.remove(MatchPolicy::Prefix, "com.y"), Some(4));
        assert_eq!(index.remove(MatchPolicy::Wildcard, "com..b"), Some(2));
        assert!(index.is_empty());
        assert!(index.prefix_lengths.is_empty());
        assert!(index.wildcard.is_empty());
    }

    #[test]
    fn prefixes_respect_character_boundaries() {
        let mut index = UriIndex::new();
        index.insert(MatchPolicy::Prefix, "com.é", 1);
        index.insert(MatchPolicy::Prefix, "com.x", 2);
        // "com.é" is 6 bytes: slicing "com.éa" there is fine, slicing "com.xé" at 5 is not
        // a character boundary and must not panic.
        assert_eq!(all(&index, "com.éa"), vec![1]);
        assert_eq!(all(&index, "com.xé"), vec![2]);
    }
}
