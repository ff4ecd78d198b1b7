//! The routing interface: where a realm asks "who receives this event" and "which callee
//! gets this call", and where the transitions that change those answers happen (a
//! subscription or registration made or ended, a URI's first subscriber or callee come,
//! its last gone, a session leaving).
//!
//! Pub/sub and RPC ([`super::pubsub`], [`super::rpc`]) and the meta API decide through
//! this interface only; the tables behind it ([`crate::broker`], [`crate::dealer`]) are
//! its implementation's business. [`Local`] keeps them in this process; on a node of a
//! cluster, [`crate::cluster::Clustered`] wraps it with what the other nodes must know
//! (which subscriptions this node holds) and forwards events to them.
//!
//! Every method is called under the realm's lock and returns at once: the interface is
//! synchronous so that the order of decisions is the order of delivery, and nothing is
//! held across an `.await`. What must first be settled elsewhere (a node's first
//! subscriber to a pattern, with [`Routing::subscription_claim`]) is settled outside the
//! lock, then applied here.

use std::sync::Arc;

use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::{Id, IdSequence};

use crate::broker::{Broker, Match, Retained};
use crate::cluster::{EventRef, Mirror, NodeRef, RealmLink, RegisterClaim, SubscribeClaim};
use crate::dealer::{Callee, Dealer, Invoke, Mirrored, NoRoute, RegisterError, Route};

/// What adding or removing a subscriber or callee did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    /// The subscription or registration.
    pub id: Id,
    /// Adding: the subscription or registration is new (the URI's first subscriber or
    /// callee). Removing: it went with its last one.
    pub first_or_last: bool,
}

impl Change {
    fn from((id, first_or_last): (Id, bool)) -> Self {
        Self { id, first_or_last }
    }
}

/// What a leaving session held.
#[derive(Debug, Default)]
pub(crate) struct Holdings {
    pub subscriptions: Vec<Change>,
    pub registrations: Vec<Change>,
}

/// A realm's routing decisions and the transitions that change them.
pub(crate) trait Routing: Send {
    /// The subscriptions an event published to `topic` goes to, each with its
    /// subscribers (who receives this event).
    fn receivers<'a>(&'a self, topic: &str) -> Vec<Match<'a>>;

    /// The callee the next call to `procedure` goes to, by match and invocation policy
    /// (which callee gets this call), among those below their `concurrency` (`busy`: how
    /// many invocations of a registration a callee has in flight).
    fn callee(&mut self, procedure: &str, busy: &dyn Fn(Id, Id) -> u32) -> Result<Route, NoRoute>;

    /// Subscribes `session` to `topic` under `policy` (again: the same subscription). A
    /// new subscription takes `id` when given (the cluster's), else one of this router's.
    fn subscribe(
        &mut self,
        session: Id,
        topic: &str,
        policy: MatchPolicy,
        id: Option<Id>,
    ) -> Change;

    /// What a subscription to `(policy, topic)` that this node does not hold yet must
    /// settle elsewhere before [`Routing::subscribe`] (`None`: nothing, subscribe now).
    fn subscription_claim(&self, topic: &str, policy: MatchPolicy) -> Option<SubscribeClaim> {
        let _ = (topic, policy);
        None
    }

    /// Passes an event published here, once delivered to local subscribers, on to
    /// wherever else it must go.
    fn forward_event(&self, event: &EventRef<'_>) {
        let _ = event;
    }

    /// Ends `session`'s subscription `id`; `None` if it holds no such subscription.
    fn unsubscribe(&mut self, session: Id, id: Id) -> Option<Change>;

    /// Registers `procedure` under `policy` for `callee`: a new registration, or another
    /// callee of a shared one.
    fn register(
        &mut self,
        procedure: &str,
        policy: MatchPolicy,
        invoke: Invoke,
        callee: Callee,
    ) -> Result<Change, RegisterError>;

    /// Takes `callee` off registration `id`; `None` if it is not a callee of it.
    fn unregister(&mut self, callee: Id, id: Id) -> Option<Change>;

    /// What a REGISTER must settle elsewhere before it is answered (`None`: nothing,
    /// register now).
    fn registration_claim(
        &self,
        procedure: &str,
        policy: MatchPolicy,
        invoke: Invoke,
        callee: &Callee,
        force: bool,
    ) -> Option<RegisterClaim> {
        let _ = (procedure, policy, invoke, callee, force);
        None
    }

    /// Makes a registration what the cluster's record says (`joining`: the session whose
    /// REGISTER wrote it): what changed for this node's callees.
    fn mirror_registration(&mut self, mirror: &Mirror, joining: Option<Id>) -> Mirrored {
        let _ = (mirror, joining);
        Mirrored::default()
    }

    /// Another node left the cluster: its callees go. The registrations that went.
    fn node_gone(&mut self, node: NodeRef) -> Vec<Id> {
        let _ = node;
        Vec::new()
    }

    /// This node's link to the other nodes of its cluster, if it is a node of one.
    fn link(&self) -> Option<&RealmLink> {
        None
    }

    /// Removes the registration of `(policy, procedure)` with all its callees
    /// (`force_reregister`): its ID and the callees it had.
    fn take_over(&mut self, procedure: &str, policy: MatchPolicy) -> Option<(Id, Vec<Id>)>;

    /// Takes a leaving session out of every subscription and registration.
    fn leave(&mut self, session: Id) -> Holdings;

    /// Keeps `event` as the retained event of `topic`.
    fn retain(&mut self, topic: &str, event: Retained);

    /// Keeps `event` as the retained event of `topic` here only (it was retained on
    /// another node of the cluster, which shared it).
    fn keep_retained(&mut self, topic: &str, event: Retained) {
        self.retain(topic, event);
    }

    /// The retained events a new subscription to `topic` under `policy` gets, each with
    /// the topic it was published to.
    fn retained_for(&self, topic: &str, policy: MatchPolicy) -> Vec<(&str, &Retained)>;

    /// The subscription table, read for limits and the meta API.
    fn subscriptions(&self) -> &Broker;

    /// The registration table, read for limits and the meta API.
    fn registrations(&self) -> &Dealer;
}

/// Routing within this process: the realm's own broker and dealer tables.
#[derive(Debug)]
pub(crate) struct Local {
    broker: Broker,
    dealer: Dealer,
    /// Subscription and registration IDs (router scope).
    ids: Arc<IdSequence>,
}

impl Local {
    /// The registration table, for a cluster's mirror of the other nodes' callees.
    pub fn dealer_mut(&mut self) -> &mut Dealer {
        &mut self.dealer
    }

    /// Empty tables, drawing subscription and registration IDs from `ids`.
    pub fn new(ids: Arc<IdSequence>) -> Self {
        Self {
            broker: Broker::default(),
            dealer: Dealer::default(),
            ids,
        }
    }
}

impl Routing for Local {
    fn receivers<'a>(&'a self, topic: &str) -> Vec<Match<'a>> {
        self.broker.matching(topic)
    }

    fn callee(&mut self, procedure: &str, busy: &dyn Fn(Id, Id) -> u32) -> Result<Route, NoRoute> {
        self.dealer.route(procedure, busy)
    }

    fn subscribe(
        &mut self,
        session: Id,
        topic: &str,
        policy: MatchPolicy,
        id: Option<Id>,
    ) -> Change {
        let ids = &self.ids;
        let new_id = || id.unwrap_or_else(|| ids.next_id());
        Change::from(self.broker.subscribe(new_id, session, topic, policy))
    }

    fn unsubscribe(&mut self, session: Id, id: Id) -> Option<Change> {
        let deleted = self.broker.unsubscribe(session, id)?;
        Some(Change::from((id, deleted)))
    }

    fn register(
        &mut self,
        procedure: &str,
        policy: MatchPolicy,
        invoke: Invoke,
        callee: Callee,
    ) -> Result<Change, RegisterError> {
        let made =
            self.dealer
                .register(|| self.ids.next_id(), procedure, policy, invoke, callee)?;
        Ok(Change::from(made))
    }

    fn unregister(&mut self, callee: Id, id: Id) -> Option<Change> {
        let deleted = self.dealer.unregister(callee, id)?;
        Some(Change::from((id, deleted)))
    }

    fn take_over(&mut self, procedure: &str, policy: MatchPolicy) -> Option<(Id, Vec<Id>)> {
        self.dealer.take_over(procedure, policy)
    }

    fn leave(&mut self, session: Id) -> Holdings {
        let changes = |v: Vec<(Id, bool)>| v.into_iter().map(Change::from).collect();
        Holdings {
            subscriptions: changes(self.broker.remove_session(session)),
            registrations: changes(self.dealer.remove_session(session)),
        }
    }

    fn retain(&mut self, topic: &str, event: Retained) {
        self.broker.retain(topic, event);
    }

    fn retained_for(&self, topic: &str, policy: MatchPolicy) -> Vec<(&str, &Retained)> {
        self.broker.retained_for(topic, policy)
    }

    fn subscriptions(&self) -> &Broker {
        &self.broker
    }

    fn registrations(&self) -> &Dealer {
        &self.dealer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callee(session: Id) -> Callee {
        Callee::plain(session)
    }

    #[test]
    fn transitions_report_the_first_and_the_last() {
        let mut r: Box<dyn Routing> = Box::new(Local::new(Arc::new(IdSequence::new())));
        let exact = MatchPolicy::Exact;
        let a = r.subscribe(1, "t", exact, None);
        let b = r.subscribe(2, "t", exact, None);
        assert!(a.first_or_last && !b.first_or_last && a.id == b.id);
        assert_eq!(r.receivers("t").len(), 1);
        assert_eq!(r.unsubscribe(1, a.id).map(|c| c.first_or_last), Some(false));
        assert_eq!(
            r.unsubscribe(1, a.id),
            None,
            "not its subscription any more"
        );

        let shared = Invoke::RoundRobin;
        let p = r
            .register("p", exact, shared, callee(2))
            .expect("registers");
        let q = r.register("p", exact, shared, callee(3)).expect("shares");
        assert!(p.first_or_last && !q.first_or_last);
        let order: Vec<Id> = (0..3)
            .filter_map(|_| r.callee("p", &|_, _| 0).ok().map(|c| c.callee.session))
            .collect();
        assert_eq!(order, [2, 3, 2]);

        let gone = r.leave(2);
        assert_eq!(
            gone.subscriptions,
            [Change {
                id: a.id,
                first_or_last: true
            }]
        );
        assert_eq!(
            gone.registrations,
            [Change {
                id: p.id,
                first_or_last: false
            }]
        );
        assert!(r.receivers("t").is_empty());
        assert_eq!(
            r.callee("p", &|_, _| 0).ok().map(|c| c.callee.session),
            Some(3)
        );
        assert_eq!(r.take_over("p", exact), Some((p.id, vec![3])));
        assert!(r.callee("p", &|_, _| 0).is_err() && r.registrations().get(p.id).is_none());
    }
}
