//! The broker's subscription index: who receives an event published to a topic.
//!
//! It only decides; the realm delivers. Subscriptions are shared: every session that
//! subscribes to the same topic with the same match policy gets the same subscription ID.

use foldhash::{HashMap, HashSet, HashSetExt};

use wamp_runtime::proto::uri::{self, MatchPolicy};
use wamp_runtime::proto::{Dict, Id, Payload};

use crate::uri_index::UriIndex;

/// One subscription: a topic pattern and its subscribers.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub topic: String,
    pub policy: MatchPolicy,
    pub subscribers: HashSet<Id>,
    /// When it was created (ISO 8601, UTC), for the meta API.
    pub created: String,
}

/// A matching subscription for a publication.
pub(crate) struct Match<'a> {
    pub id: Id,
    pub sub: &'a Subscription,
}

/// The subscription index of one realm.
#[derive(Debug, Default)]
pub(crate) struct Broker {
    subs: HashMap<Id, Subscription>,
    /// The last retained event of each topic (`retain: true`).
    retained: HashMap<String, Retained>,
    /// Subscription IDs by topic pattern.
    index: UriIndex,
    by_session: HashMap<Id, HashSet<Id>>,
}

/// A publication kept for subscribers that ask for it later (`get_retained: true`).
#[derive(Debug, Clone)]
pub(crate) struct Retained {
    pub publication: Id,
    pub publisher: Id,
    /// The details each of its EVENTs carries: the publisher's identity when it is
    /// disclosed, the payload passthru keys.
    pub identity: Dict,
    /// The PUBLISH options: exclusion and eligibility apply to late subscribers too.
    pub options: wamp_runtime::proto::PublishOptions,
    /// The payload is opaque (payload passthru mode).
    pub passthru: bool,
    pub payload: Payload,
}

impl Broker {
    /// Keeps `event` as the retained event of `topic`, replacing the previous one.
    pub fn retain(&mut self, topic: &str, event: Retained) {
        self.retained.insert(topic.to_owned(), event);
    }

    /// Every retained event, with its topic.
    pub fn retained_all(&self) -> impl Iterator<Item = (&str, &Retained)> {
        self.retained.iter().map(|(t, r)| (t.as_str(), r))
    }

    /// The retained events a new subscription to `(policy, topic)` receives.
    pub fn retained_for(&self, topic: &str, policy: MatchPolicy) -> Vec<(&str, &Retained)> {
        match policy {
            MatchPolicy::Exact => self
                .retained
                .get_key_value(topic)
                .map(|(t, r)| (t.as_str(), r))
                .into_iter()
                .collect(),
            _ => self
                .retained
                .iter()
                .filter(|(t, _)| uri::matches(topic, policy, t))
                .map(|(t, r)| (t.as_str(), r))
                .collect(),
        }
    }

    /// Adds `session` to the subscription for `(policy, topic)`, creating it if needed
    /// with the ID `new_id` gives; the subscription's ID and whether it was created.
    pub fn subscribe(
        &mut self,
        new_id: impl FnOnce() -> Id,
        session: Id,
        topic: &str,
        policy: MatchPolicy,
    ) -> (Id, bool) {
        let mut created = false;
        let id = match self.index.get(policy, topic) {
            Some(id) => id,
            None => {
                created = true;
                let id = new_id();
                self.index.insert(policy, topic, id);
                self.subs.insert(
                    id,
                    Subscription {
                        topic: topic.to_owned(),
                        policy,
                        subscribers: HashSet::new(),
                        created: crate::timestamp::now(),
                    },
                );
                id
            }
        };
        if let Some(sub) = self.subs.get_mut(&id) {
            sub.subscribers.insert(session);
        }
        self.by_session.entry(session).or_default().insert(id);
        (id, created)
    }

    /// How many subscriptions `session` has.
    pub fn subscriptions_of(&self, session: Id) -> usize {
        self.by_session.get(&session).map_or(0, HashSet::len)
    }

    /// Whether `session` is subscribed to `(policy, topic)` already.
    pub fn is_subscribed(&self, session: Id, topic: &str, policy: MatchPolicy) -> bool {
        self.index.get(policy, topic).is_some_and(|id| {
            self.by_session
                .get(&session)
                .is_some_and(|s| s.contains(&id))
        })
    }

    /// Removes `session` from subscription `id`: `None` when it was not subscribed, else
    /// whether the subscription was deleted with its last subscriber.
    pub fn unsubscribe(&mut self, session: Id, id: Id) -> Option<bool> {
        let removed = self
            .by_session
            .get_mut(&session)
            .is_some_and(|set| set.remove(&id));
        removed.then(|| self.drop_subscriber(session, id))
    }

    /// Whether the subscription went with its last subscriber.
    fn drop_subscriber(&mut self, session: Id, id: Id) -> bool {
        let empty = match self.subs.get_mut(&id) {
            Some(sub) => {
                sub.subscribers.remove(&session);
                crate::sparse::shrink_set_when_sparse(&mut sub.subscribers);
                sub.subscribers.is_empty()
            }
            None => false,
        };
        if empty {
            if let Some(sub) = self.subs.remove(&id) {
                self.index.remove(sub.policy, &sub.topic);
            }
        }
        empty
    }

    /// Removes every subscription of a session that leaves: each subscription ID, and
    /// whether it was deleted.
    pub fn remove_session(&mut self, session: Id) -> Vec<(Id, bool)> {
        let mut out = Vec::new();
        for id in self.by_session.remove(&session).unwrap_or_default() {
            out.push((id, self.drop_subscriber(session, id)));
        }
        crate::sparse::shrink_when_sparse(&mut self.by_session);
        out
    }

    /// The subscriptions `session` holds.
    pub fn of_session(&self, session: Id) -> impl Iterator<Item = Id> + '_ {
        self.by_session.get(&session).into_iter().flatten().copied()
    }

    /// Every subscription, for the meta API.
    pub fn all(&self) -> impl Iterator<Item = (Id, &Subscription)> {
        self.subs.iter().map(|(id, s)| (*id, s))
    }

    /// The subscription for `(policy, topic)`, if there is one.
    pub fn lookup(&self, topic: &str, policy: MatchPolicy) -> Option<Id> {
        self.index.get(policy, topic)
    }

    /// Subscription `id`.
    pub fn get(&self, id: Id) -> Option<&Subscription> {
        self.subs.get(&id)
    }

    /// The subscriptions matching a concrete topic.
    pub fn matching<'a>(&'a self, topic: &str) -> Vec<Match<'a>> {
        let mut out = Vec::new();
        self.index.matches(topic, |id, _| {
            if let Some(sub) = self.subs.get(&id) {
                out.push(Match { id, sub });
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_ids_and_cleanup() {
        let ids = wamp_runtime::proto::IdSequence::new();
        let mut b = Broker::default();
        let (a, created) = b.subscribe(|| ids.next_id(), 1, "com.t", MatchPolicy::Exact);
        assert!(created);
        let (a2, created) = b.subscribe(|| ids.next_id(), 2, "com.t", MatchPolicy::Exact);
        assert!(!created);
        let (p, _) = b.subscribe(|| ids.next_id(), 2, "com", MatchPolicy::Prefix);
        assert_eq!(a, a2);
        assert_ne!(a, p);
        assert_eq!(b.matching("com.t").len(), 2);
        assert_eq!(b.unsubscribe(1, a), Some(false), "2 is still subscribed");
        assert_eq!(b.unsubscribe(1, a), None);
        let mut gone = b.remove_session(2);
        gone.sort_unstable();
        let mut expected = vec![(a, true), (p, true)];
        expected.sort_unstable();
        assert_eq!(gone, expected);
        assert!(b.matching("com.t").is_empty());
        assert!(b.subs.is_empty() && b.index.is_empty());
    }
}
