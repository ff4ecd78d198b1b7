//! Publish and subscribe in a realm: SUBSCRIBE and UNSUBSCRIBE, PUBLISH and its fan-out
//! (black- and white-listing, disclosure, payload passthru), and retained events.

use wamp_runtime::proto::uri::{self, MatchPolicy};
use wamp_runtime::proto::{
    code, error, global_id, Dict, Id, Message, Payload, PublishOptions, SubscribeOptions, Value,
};

use super::{error_reply, Realm, State};
use crate::broker::Retained;
use crate::fanout::FanOut;
use crate::metrics::Stats;

impl State {
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
                || (r.options.passthru.is_set() && !peer.features.passthru.subscriber)
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

impl Realm {
    pub fn subscribe(&self, session: Id, request: Id, options: &SubscribeOptions, topic: &str) {
        let policy = options.policy;
        let mut st = self.state.lock();
        if !uri::is_valid_pattern(topic, self.uri_rule, policy) {
            let text = format!("invalid topic URI {topic:?}");
            return st.send(
                session,
                error_reply(code::SUBSCRIBE, request, error::INVALID_URI, text),
            );
        }
        if let Err(text) = self.authorize(&st, session, crate::authorizer::Action::Subscribe, topic)
        {
            return st.send(
                session,
                error_reply(code::SUBSCRIBE, request, error::NOT_AUTHORIZED, text),
            );
        }
        if let Some(max) = self.max_subscriptions {
            let table = st.routing.subscriptions();
            if table.subscriptions_of(session) >= max
                && !table.is_subscribed(session, topic, policy)
            {
                let text = format!("too many subscriptions: this router allows {max} per session");
                tracing::warn!(session, topic, "subscription refused: {text}");
                return st.send(
                    session,
                    error_reply(code::SUBSCRIBE, request, error::NOT_AUTHORIZED, text),
                );
            }
        }
        let change = st.routing.subscribe(session, topic, policy);
        let subscription = change.id;
        st.send(
            session,
            Message::Subscribed {
                request,
                subscription,
            },
        );
        st.subscription_events(session, change, true);
        if options.get_retained {
            st.send_retained(&self.stats, session, subscription, topic, policy);
        }
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
        let fail = |uri: &str, text: String| {
            if acknowledge {
                st.send(session, error_reply(code::PUBLISH, request, uri, text));
            } else {
                tracing::debug!(session, topic, "publication refused: {text}");
            }
        };
        if !uri::is_valid_uri(topic, self.uri_rule) {
            return fail(error::INVALID_URI, format!("invalid topic URI {topic:?}"));
        }
        if topic.starts_with("wamp.") {
            let text = format!("topic {topic:?} is reserved for the router");
            return fail(error::INVALID_URI, text);
        }
        if let Err(text) = self.authorize(&st, session, crate::authorizer::Action::Publish, topic) {
            return fail(error::NOT_AUTHORIZED, text);
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
                return fail(error::INVALID_ARGUMENT, text);
            }
        }
        let publication = global_id();
        let mut identity = Dict::new();
        if self.discloses(&st, session, false) || options.disclose_me {
            st.identify(session, "publisher", &mut identity);
        }
        options.passthru.apply(&mut identity);
        // Transcoded once per serializer, and each subscription's EVENT encoded once per
        // serializer, whatever the number of subscribers.
        let mut fanout = FanOut::new(&payload, publication, &self.stats);
        for m in st.routing.receivers(topic) {
            let mut details = identity.clone();
            if m.sub.policy != MatchPolicy::Exact {
                details.insert("topic".into(), Value::Str(topic.to_owned()));
            }
            let mut event = fanout.subscription(m.id, details);
            for &sid in &m.sub.subscribers {
                if options.exclude_me && sid == session {
                    continue;
                }
                let Some(peer) = st.sessions.get(&sid) else {
                    continue;
                };
                if !options.admits(sid, &peer.authid, &peer.authrole) {
                    continue;
                }
                if passthru && !peer.features.passthru.subscriber {
                    tracing::debug!(
                        session = sid,
                        topic,
                        "event with an opaque payload not sent: the subscriber did not announce payload passthru mode"
                    );
                    continue;
                }
                if let Err(e) = event.send(&peer.outbox, sid, peer.serializer) {
                    let text = format!("event cannot be delivered: {e}");
                    return fail(error::INVALID_ARGUMENT, text);
                }
            }
        }
        if options.retain {
            st.routing.retain(
                topic,
                Retained {
                    publication,
                    publisher: session,
                    identity,
                    options,
                    payload,
                },
            );
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
}
