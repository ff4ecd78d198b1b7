//! Routing for a node of a cluster: this node's own tables, as a single router keeps
//! them, plus what the cluster adds. Subscriptions take the cluster's IDs, a first local
//! subscriber puts the node in the subscription's record and a last one takes it out
//! (the subscription is created and deleted where the record is: `on_create` and
//! `on_delete` once in the cluster);
//! events go on to the other nodes whose subscribers they reach, retained ones to the
//! store. Every REGISTER goes through the registration's record, and the dealer table
//! mirrors the records, the other nodes' callees included.

use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::Id;

use super::{EventRef, Mirror, NodeRef, RealmLink, RegisterClaim, SubscribeClaim};
use crate::broker::{Broker, Match, Retained};
use crate::dealer::{Callee, Dealer, Invoke, Mirrored, NoRoute, RegisterError, Route};
use crate::realm::{Change, Holdings, Local, Routing};

/// A realm's routing on a cluster node.
#[derive(Debug)]
pub(crate) struct Clustered {
    local: Local,
    link: RealmLink,
}

impl Clustered {
    pub fn new(local: Local, link: RealmLink) -> Self {
        Self { local, link }
    }

    /// The pattern of registration `id`.
    fn procedure(&self, id: Id) -> Option<(String, MatchPolicy)> {
        let reg = self.local.registrations().get(id)?;
        Some((reg.procedure.clone(), reg.policy))
    }

    /// The pattern of local subscription `id`.
    fn pattern(&self, id: Id) -> Option<(String, MatchPolicy)> {
        let sub = self.local.subscriptions().get(id)?;
        Some((sub.topic.clone(), sub.policy))
    }
}

impl Routing for Clustered {
    fn receivers<'a>(&'a self, topic: &str) -> Vec<Match<'a>> {
        self.local.receivers(topic)
    }

    fn callee(&mut self, procedure: &str, busy: &dyn Fn(Id, Id) -> u32) -> Result<Route, NoRoute> {
        self.local.callee(procedure, busy)
    }

    fn subscribe(
        &mut self,
        session: Id,
        topic: &str,
        policy: MatchPolicy,
        id: Option<Id>,
    ) -> Change {
        let change = self.local.subscribe(session, topic, policy, id);
        self.link.session_subscribed(session, change.id);
        change
    }

    fn subscription_claim(&self, topic: &str, policy: MatchPolicy) -> Option<SubscribeClaim> {
        let held = self.local.subscriptions().lookup(topic, policy).is_some();
        (!held).then(|| self.link.claim(topic, policy))
    }

    fn forward_event(&self, event: &EventRef<'_>) {
        self.link.forward_event(event);
    }

    fn unsubscribe(&mut self, session: Id, id: Id) -> Option<Change> {
        let pattern = self.pattern(id);
        let mut change = self.local.unsubscribe(session, id)?;
        self.link.session_unsubscribed(session, id);
        if let (true, Some((topic, policy))) = (change.first_or_last, pattern) {
            // Deleted only if no other node subscribes: the record says.
            self.link.unsubscribed(&topic, policy, session, id);
            change.first_or_last = false;
        }
        Some(change)
    }

    fn register(
        &mut self,
        procedure: &str,
        policy: MatchPolicy,
        invoke: Invoke,
        callee: Callee,
    ) -> Result<Change, RegisterError> {
        self.local.register(procedure, policy, invoke, callee)
    }

    fn unregister(&mut self, callee: Id, id: Id) -> Option<Change> {
        self.local.unregister(callee, id)
    }

    fn take_over(&mut self, procedure: &str, policy: MatchPolicy) -> Option<(Id, Vec<Id>)> {
        self.local.take_over(procedure, policy)
    }

    fn registration_claim(
        &self,
        procedure: &str,
        policy: MatchPolicy,
        invoke: Invoke,
        callee: &Callee,
        force: bool,
    ) -> Option<RegisterClaim> {
        Some(self.link.register(procedure, policy, invoke, callee, force))
    }

    fn mirror_registration(&mut self, m: &Mirror, joining: Option<Id>) -> Mirrored {
        let callees = m.callees.clone();
        let (procedure, policy, invoke) = (&m.procedure, m.policy, m.invoke);
        self.local.dealer_mut().mirror(
            procedure, policy, invoke, m.id, m.revision, callees, joining,
        )
    }

    fn node_gone(&mut self, node: NodeRef) -> Vec<Id> {
        self.local.dealer_mut().remove_node(node)
    }

    fn link(&self) -> Option<&RealmLink> {
        Some(&self.link)
    }

    fn leave(&mut self, session: Id) -> Holdings {
        let held: Vec<(Id, String, MatchPolicy)> = self
            .local
            .subscriptions()
            .of_session(session)
            .filter_map(|id| self.pattern(id).map(|(t, p)| (id, t, p)))
            .collect();
        let registered: Vec<(String, MatchPolicy)> = self
            .local
            .registrations()
            .of_session(session)
            .filter_map(|id| self.procedure(id))
            .collect();
        let mut holdings = self.local.leave(session);
        for (procedure, policy) in registered {
            self.link.unregistered(&procedure, policy, session);
        }
        for change in &mut holdings.subscriptions {
            if !change.first_or_last {
                continue;
            }
            if let Some((_, topic, policy)) = held.iter().find(|(id, ..)| *id == change.id) {
                self.link.unsubscribed(topic, *policy, session, change.id);
                change.first_or_last = false;
            }
        }
        holdings
    }

    fn retain(&mut self, topic: &str, event: Retained) {
        self.link.retained(topic, &event);
        self.local.retain(topic, event);
    }

    fn keep_retained(&mut self, topic: &str, event: Retained) {
        self.local.retain(topic, event);
    }

    fn retained_for(&self, topic: &str, policy: MatchPolicy) -> Vec<(&str, &Retained)> {
        self.local.retained_for(topic, policy)
    }

    fn subscriptions(&self) -> &Broker {
        self.local.subscriptions()
    }

    fn registrations(&self) -> &Dealer {
        self.local.registrations()
    }
}
