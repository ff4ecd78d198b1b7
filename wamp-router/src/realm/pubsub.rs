//! Publish and subscribe in a realm: SUBSCRIBE and UNSUBSCRIBE, PUBLISH and its fan-out
//! (black- and white-listing, disclosure, payload passthru), and retained events.

use std::collections::HashMap;

use wamp_runtime::proto::uri::{self, MatchPolicy};
use wamp_runtime::proto::{
    code, error, global_id, Dict, Id, Message, Payload, PublishOptions, SubscribeOptions, Value,
};
use wamp_runtime::Serializer;

use super::{error_reply, Realm, State};
use crate::broker::Retained;

impl State {
    /// Sends a new subscription the retained events it matches, marked `retained`.
    pub(super) fn send_retained(
        &self,
        session: Id,
        subscription: Id,
        topic: &str,
        policy: MatchPolicy,
    ) {
        let Some(peer) = self.sessions.get(&session) else {
            return;
        };
        for (published_to, r) in self.broker.retained_for(topic, policy) {
            if (r.options.exclude_me && r.publisher == session)
                || !r.options.admits(session, &peer.authid, &peer.authrole)
                || (r.options.passthru.is_set() && !peer.features.passthru.subscriber)
            {
                continue;
            }
            let payload = match peer.serializer {
                None => r.payload.clone(),
                Some(ser) => match r.payload.encoded_for(ser) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::debug!(session, "retained event not deliverable: {e}");
                        continue;
                    }
                },
            };
            let mut details = r.identity.clone();
            details.insert("retained".into(), Value::Bool(true));
            if policy != MatchPolicy::Exact {
                details.insert("topic".into(), Value::Str(published_to.to_owned()));
            }
            peer.outbox.push(
                session,
                Message::Event {
                    subscription,
                    publication: r.publication,
                    details,
                    payload,
                },
            );
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
            if st.broker.subscriptions_of(session) >= max
                && !st.broker.is_subscribed(session, topic, policy)
            {
                let text = format!("too many subscriptions: this router allows {max} per session");
                tracing::warn!(session, topic, "subscription refused: {text}");
                return st.send(
                    session,
                    error_reply(code::SUBSCRIBE, request, error::NOT_AUTHORIZED, text),
                );
            }
        }
        let (subscription, created) = st.broker.subscribe(&self.ids, session, topic, policy);
        st.send(
            session,
            Message::Subscribed {
                request,
                subscription,
            },
        );
        st.subscription_events(session, subscription, true, created);
        if options.get_retained {
            st.send_retained(session, subscription, topic, policy);
        }
    }

    pub fn unsubscribe(&self, session: Id, request: Id, subscription: Id) {
        let mut st = self.state.lock();
        let reply = if let Some(deleted) = st.broker.unsubscribe(session, subscription) {
            st.subscription_events(session, subscription, false, deleted);
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
        let publication = global_id();
        // Transcode once per serializer, not once per subscriber.
        let mut encoded: HashMap<Serializer, Payload> = HashMap::new();
        let mut identity = Dict::new();
        if self.discloses(&st, session, false) || options.disclose_me {
            st.identify(session, "publisher", &mut identity);
        }
        options.passthru.apply(&mut identity);
        for m in st.broker.matching(topic) {
            let mut details = identity.clone();
            if m.sub.policy != MatchPolicy::Exact {
                details.insert("topic".into(), Value::Str(topic.to_owned()));
            }
            // Every subscriber of this subscription gets the same EVENT: encoded once per
            // serializer, the bytes shared by their queues.
            let mut frames: HashMap<Serializer, bytes::Bytes> = HashMap::new();
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
                let Some(serializer) = peer.serializer else {
                    let event = Message::Event {
                        subscription: m.id,
                        publication,
                        details: details.clone(),
                        payload: payload.clone(),
                    };
                    peer.outbox.push(sid, event);
                    continue;
                };
                if let Some(f) = frames.get(&serializer) {
                    peer.outbox.push_event(sid, f.clone());
                    continue;
                }
                let payload = match encoded.get(&serializer) {
                    Some(p) => p.clone(),
                    None => match payload.encoded_for(serializer) {
                        Ok(p) => {
                            self.stats.count_payload(&payload, serializer);
                            encoded.insert(serializer, p.clone());
                            p
                        }
                        Err(e) => {
                            let text = format!("payload cannot be delivered: {e}");
                            return fail(error::INVALID_ARGUMENT, text);
                        }
                    },
                };
                let event = Message::Event {
                    subscription: m.id,
                    publication,
                    details: details.clone(),
                    payload,
                };
                let frame = match serializer.encode(&event) {
                    Ok(f) => f,
                    Err(e) => {
                        let text = format!("event cannot be delivered: {e}");
                        return fail(error::INVALID_ARGUMENT, text);
                    }
                };
                frames.insert(serializer, frame.clone());
                peer.outbox.push_event(sid, frame);
            }
        }
        if options.retain {
            st.broker.retain(
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
