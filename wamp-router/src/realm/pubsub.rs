//! Publish and subscribe in a realm: SUBSCRIBE and UNSUBSCRIBE, PUBLISH and its fan-out
//! (black- and white-listing, disclosure, payload passthru), and retained events.

use wamp_runtime::proto::uri::{self, MatchPolicy};
use wamp_runtime::proto::{
    code, error, global_id, Dict, Id, Message, Payload, PublishOptions, SubscribeOptions, Value,
};

use std::sync::Arc;

use super::waiting::CLUSTER_UNAVAILABLE;
use super::{error_reply, Realm, State, Waiting};
use crate::broker::Retained;
use crate::cluster::{EventRef, RemoteEvent, SubscribeClaim};
use crate::fanout::FanOut;
use crate::metrics::Stats;

impl State {
    /// Routes a publication that passed its checks (`p`, as a retained event keeps it): to
    /// this realm's subscribers, to the other nodes of the cluster, and into the retained
    /// events when it asks to be. `Err` when it cannot be encoded for a subscriber.
    pub(super) fn route_publication(
        &mut self,
        stats: &Stats,
        topic: &str,
        p: Retained,
    ) -> Result<(), String> {
        let event = EventRef {
            topic,
            publication: p.publication,
            publisher: p.publisher,
            identity: &p.identity,
            filter: &p.options,
            passthru: p.passthru,
            payload: &p.payload,
        };
        self.fan_out(stats, &event)?;
        self.routing.forward_event(&event);
        self.record_history(topic, &p);
        if p.options.retain {
            self.routing.retain(topic, p);
        }
        Ok(())
    }

    /// Delivers an event to this realm's subscribers it reaches: `Err` when it cannot be
    /// encoded for one of them.
    fn fan_out(&self, stats: &Stats, e: &EventRef<'_>) -> Result<(), String> {
        // Transcoded once per serializer, and each subscription's EVENT encoded once per
        // serializer, whatever the number of subscribers.
        let mut fanout = FanOut::new(e.payload, e.publication, stats);
        for m in self.routing.receivers(e.topic) {
            let mut details = e.identity.clone();
            if m.sub.policy != MatchPolicy::Exact {
                details.insert("topic".into(), Value::Str(e.topic.to_owned()));
            }
            let mut event = fanout.subscription(m.id, details);
            for &sid in &m.sub.subscribers {
                if e.filter.exclude_me && sid == e.publisher {
                    continue;
                }
                let Some(peer) = self.sessions.get(&sid) else {
                    continue;
                };
                if !e.filter.admits(sid, &peer.authid, &peer.authrole) {
                    continue;
                }
                if e.passthru && !peer.features.passthru.subscriber {
                    tracing::debug!(
                        session = sid,
                        topic = e.topic,
                        "event with an opaque payload not sent: the subscriber did not announce payload passthru mode"
                    );
                    continue;
                }
                if let Err(err) = event.send(&peer.outbox, sid, peer.serializer) {
                    return Err(format!("event cannot be delivered: {err}"));
                }
            }
        }
        Ok(())
    }

    /// Sends a new subscription the retained events it matches, marked `retained`.
    pub(super) fn send_retained(
        &self,
        stats: &Stats,
        session: Id,
        subscription: Id,
        topic: &str,
        policy: MatchPolicy,
    ) {
        let Some(peer) = self.sessions.get(&session) else {
            return;
        };
        for (published_to, r) in self.routing.retained_for(topic, policy) {
            if (r.options.exclude_me && r.publisher == session)
                || !r.options.admits(session, &peer.authid, &peer.authrole)
                || (r.passthru && !peer.features.passthru.subscriber)
            {
                continue;
            }
            let mut details = r.identity.clone();
            details.insert("retained".into(), Value::Bool(true));
            if policy != MatchPolicy::Exact {
                details.insert("topic".into(), Value::Str(published_to.to_owned()));
            }
            let mut fanout = FanOut::new(&r.payload, r.publication, stats);
            let mut event = fanout.subscription(subscription, details);
            if let Err(e) = event.send(&peer.outbox, session, peer.serializer) {
                tracing::debug!(session, "retained event not deliverable: {e}");
            }
        }
    }
}

/// A SUBSCRIBE that waits for the cluster (this node's first subscriber to the pattern):
/// [`PendingSubscribe::finish`] settles the claim and answers.
pub(crate) struct PendingSubscribe {
    realm: Arc<Realm>,
    session: Id,
    request: Id,
    topic: String,
    policy: MatchPolicy,
    get_retained: bool,
    claim: SubscribeClaim,
}

impl PendingSubscribe {
    /// Settles the claim, then subscribes and answers (or answers with an ERROR).
    pub async fn finish(self) {
        let settled = self.claim.settle().await;
        let realm = &self.realm;
        let mut st = realm.state.lock();
        if !st.sessions.contains_key(&self.session) {
            // It left meanwhile: the claim's end lets the record lose this node.
            return;
        }
        match settled {
            Ok(joined) => realm.subscribed(
                &mut st,
                self.session,
                self.request,
                &self.topic,
                self.policy,
                self.get_retained,
                Some(joined),
            ),
            Err(e) => {
                tracing::warn!(topic = self.topic, "subscription refused: {e}");
                let text = format!("the cluster could not take the subscription: {e}");
                st.send(
                    self.session,
                    error_reply(code::SUBSCRIBE, self.request, CLUSTER_UNAVAILABLE, text),
                );
            }
        }
        drop(st);
        drop(self.claim);
    }
}

impl Realm {
    /// Subscribes `session`, or hands back the subscription to finish once the cluster
    /// took it.
    pub fn subscribe(
        self: &Arc<Self>,
        session: Id,
        request: Id,
        options: &SubscribeOptions,
        topic: &str,
    ) -> Option<Waiting> {
        let policy = options.policy;
        let mut st = self.state.lock();
        if let Err((uri, text)) = self.admit_subscription(&st, session, topic, policy) {
            st.send(session, error_reply(code::SUBSCRIBE, request, uri, text));
            return None;
        }
        if let Some(claim) = st.routing.subscription_claim(topic, policy) {
            return Some(Waiting::subscribe(PendingSubscribe {
                realm: self.clone(),
                session,
                request,
                topic: topic.to_owned(),
                policy,
                get_retained: options.get_retained,
                claim,
            }));
        }
        self.subscribed(
            &mut st,
            session,
            request,
            topic,
            policy,
            options.get_retained,
            None,
        );
        None
    }

    /// The checks of a SUBSCRIBE: `Err` is the error URI and text to answer.
    fn admit_subscription(
        &self,
        st: &State,
        session: Id,
        topic: &str,
        policy: MatchPolicy,
    ) -> Result<(), (&'static str, String)> {
        if !uri::is_valid_pattern(topic, self.uri_rule, policy) {
            return Err((error::INVALID_URI, format!("invalid topic URI {topic:?}")));
        }
        let action = crate::authorizer::Action::Subscribe;
        self.authorize(st, session, action, topic)
            .map_err(|text| (error::NOT_AUTHORIZED, text))?;
        if let Some(max) = self.max_subscriptions {
            let table = st.routing.subscriptions();
            if table.subscriptions_of(session) >= max
                && !table.is_subscribed(session, topic, policy)
            {
                let text = format!("too many subscriptions: this router allows {max} per session");
                tracing::warn!(session, topic, "subscription refused: {text}");
                return Err((error::NOT_AUTHORIZED, text));
            }
        }
        Ok(())
    }

    /// Subscribes an admitted SUBSCRIBE and answers it.
    #[allow(clippy::too_many_arguments)]
    fn subscribed(
        &self,
        st: &mut State,
        session: Id,
        request: Id,
        topic: &str,
        policy: MatchPolicy,
        get_retained: bool,
        cluster: Option<crate::cluster::Joined>,
    ) {
        let mut change = st
            .routing
            .subscribe(session, topic, policy, cluster.map(|j| j.id));
        if let Some(joined) = cluster {
            // Created here, or only joined by this node: the cluster's record says.
            change.first_or_last = joined.created;
        }
        let subscription = change.id;
        st.send(
            session,
            Message::Subscribed {
                request,
                subscription,
            },
        );
        st.subscription_events(session, change, true);
        if get_retained {
            st.send_retained(&self.stats, session, subscription, topic, policy);
        }
    }

    /// Whether a session here subscribes to `(policy, topic)`.
    pub fn has_local_subscription(&self, topic: &str, policy: MatchPolicy) -> bool {
        let st = self.state.lock();
        st.routing.subscriptions().lookup(topic, policy).is_some()
    }

    pub fn unsubscribe(&self, session: Id, request: Id, subscription: Id) {
        let mut st = self.state.lock();
        let reply = if let Some(change) = st.routing.unsubscribe(session, subscription) {
            st.subscription_events(session, change, false);
            Message::Unsubscribed {
                request,
                details: None,
            }
        } else {
            let text = "no such subscription of this session";
            error_reply(
                code::UNSUBSCRIBE,
                request,
                error::NO_SUCH_SUBSCRIPTION,
                text,
            )
        };
        st.send(session, reply);
    }

    pub fn publish(
        &self,
        session: Id,
        request: Id,
        options: PublishOptions,
        topic: &str,
        payload: Payload,
    ) {
        let acknowledge = options.acknowledge;
        let mut st = self.state.lock();
        let fail = |st: &State, uri: &str, text: String| {
            if acknowledge {
                st.send(session, error_reply(code::PUBLISH, request, uri, text));
            } else {
                tracing::debug!(session, topic, "publication refused: {text}");
            }
        };
        if !uri::is_valid_uri(topic, self.uri_rule) {
            return fail(
                &st,
                error::INVALID_URI,
                format!("invalid topic URI {topic:?}"),
            );
        }
        if topic.starts_with("wamp.") {
            let text = format!("topic {topic:?} is reserved for the router");
            return fail(&st, error::INVALID_URI, text);
        }
        if let Err(text) = self.authorize(&st, session, crate::authorizer::Action::Publish, topic) {
            return fail(&st, error::NOT_AUTHORIZED, text);
        }
        let passthru = options.passthru.is_set();
        if !passthru {
            if let Err(text) = st.validate_event(topic, &payload) {
                self.stats
                    .refused_payloads
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if !acknowledge {
                    tracing::warn!(
                        session,
                        topic,
                        "unacknowledged publication refused by its description: {text}"
                    );
                }
                return fail(&st, error::INVALID_ARGUMENT, text);
            }
        }
        let publication = global_id();
        let mut identity = Dict::new();
        if self.discloses(&st, session, false, topic) || options.disclose_me {
            st.identify(session, "publisher", &mut identity);
        }
        options.passthru.apply(&mut identity);
        let publication_record = Retained {
            publication,
            publisher: session,
            identity,
            options,
            passthru,
            payload,
        };
        if let Err(text) = st.route_publication(&self.stats, topic, publication_record) {
            return fail(&st, error::INVALID_ARGUMENT, text);
        }
        if acknowledge {
            st.send(
                session,
                Message::Published {
                    request,
                    publication,
                },
            );
        }
    }

    /// Keeps an event retained on another node of the cluster, for the subscriptions
    /// made here that ask for it.
    pub fn mirror_retained(&self, event: RemoteEvent) {
        let mut st = self.state.lock();
        let (topic, retained) = event.into_kept();
        st.routing.keep_retained(&topic, retained);
    }

    /// The events retained here, with their topics.
    pub fn retained_events(&self) -> Vec<(String, Retained)> {
        let st = self.state.lock();
        let all = st.routing.subscriptions().retained_all();
        all.map(|(t, r)| (t.to_owned(), r.clone())).collect()
    }

    /// Delivers an event published on another node of the cluster to this realm's
    /// subscribers.
    pub fn deliver_remote(&self, event: RemoteEvent) {
        let mut st = self.state.lock();
        if let Err(e) = st.fan_out(&self.stats, &event.as_ref()) {
            tracing::debug!(topic = event.topic, "event from another node: {e}");
        }
        if !st.history.is_empty() {
            let (topic, kept) = event.into_kept();
            st.record_history(&topic, &kept);
        }
    }
}
