//! A realm: its sessions, its broker and its dealer, and the delivery of messages to them.
//!
//! Realm state sits behind one lock that is never held across an `.await`. Messages to other
//! sessions go into their bounded outbound queues without waiting. When a queue is full,
//! events are dropped and counted (the subscriber is too slow), while any other message
//! (an invocation, a result, an error) cannot be lost: that session is disconnected instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wamp_runtime::proto::uri::{self, MatchPolicy, UriRule};
use wamp_runtime::proto::{code, error, global_id, Dict, Id, IdSequence, Message, Payload, Value};
use wamp_runtime::Serializer;

use crate::broker::Broker;
use crate::dealer::{Dealer, Pending, RegisterError};

/// What a session's writer receives.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A message to encode and send.
    Message(Message),
}

/// A session as the realm sees it.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub tx: mpsc::Sender<Outbound>,
    pub kill: CancellationToken,
    pub serializer: Serializer,
    pub authid: String,
    pub authrole: String,
    pub dropped_events: Arc<AtomicU64>,
}

impl Peer {
    /// Queues a message for this peer without waiting (see the module docs for the policy).
    fn deliver(&self, session: Id, msg: Message) {
        let is_event = matches!(msg, Message::Event { .. });
        match self.tx.try_send(Outbound::Message(msg)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(_)) if is_event => {
                let n = self.dropped_events.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(
                        session,
                        dropped = n,
                        "outbound queue full: events dropped for a slow subscriber"
                    );
                }
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(
                    session,
                    "outbound queue full: disconnecting a session too slow to take its messages"
                );
                self.kill.cancel();
            }
        }
    }
}

#[derive(Default)]
struct State {
    sessions: HashMap<Id, Peer>,
    broker: Broker,
    dealer: Dealer,
}

/// One realm of the router.
pub(crate) struct Realm {
    name: String,
    uri_rule: UriRule,
    ids: Arc<IdSequence>,
    state: Mutex<State>,
}

fn reply_error(
    request_type: u64,
    request: Id,
    uri: &str,
    message: impl Into<String>,
) -> Option<Message> {
    Some(Message::error(request_type, request, uri, message))
}

impl Realm {
    pub fn new(name: String, uri_rule: UriRule, ids: Arc<IdSequence>) -> Self {
        Self {
            name,
            uri_rule,
            ids,
            state: Mutex::new(State::default()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds a session; returns its new session ID.
    pub fn join(&self, peer: Peer) -> Id {
        let mut st = self.state.lock();
        let mut id = global_id();
        while st.sessions.contains_key(&id) {
            id = global_id();
        }
        st.sessions.insert(id, peer);
        id
    }

    /// Removes a session and everything it owns. Callers of calls it was serving get
    /// `wamp.error.canceled` at once.
    pub fn leave(&self, session: Id) {
        let mut st = self.state.lock();
        st.sessions.remove(&session);
        st.broker.remove_session(session);
        let (served, _called) = st.dealer.remove_session(session);
        for p in served {
            if let Some(caller) = st.sessions.get(&p.caller) {
                caller.deliver(
                    p.caller,
                    Message::error(
                        code::CALL,
                        p.caller_request,
                        error::CANCELED,
                        "the callee disconnected before it answered",
                    ),
                );
            }
        }
    }

    /// The peers of every session, for a shutdown.
    pub fn session_count(&self) -> usize {
        self.state.lock().sessions.len()
    }

    fn policy(options: &Dict) -> MatchPolicy {
        options
            .get("match")
            .and_then(Value::as_str)
            .and_then(MatchPolicy::parse)
            .unwrap_or_default()
    }

    pub fn subscribe(
        &self,
        session: Id,
        request: Id,
        options: &Dict,
        topic: &str,
    ) -> Option<Message> {
        let policy = Self::policy(options);
        if !uri::is_valid_pattern(topic, self.uri_rule, policy) {
            return reply_error(
                code::SUBSCRIBE,
                request,
                error::INVALID_URI,
                format!("invalid topic URI {topic:?}"),
            );
        }
        let mut st = self.state.lock();
        let subscription = st.broker.subscribe(&self.ids, session, topic, policy);
        Some(Message::Subscribed {
            request,
            subscription,
        })
    }

    pub fn unsubscribe(&self, session: Id, request: Id, subscription: Id) -> Option<Message> {
        if self.state.lock().broker.unsubscribe(session, subscription) {
            Some(Message::Unsubscribed {
                request,
                details: None,
            })
        } else {
            reply_error(
                code::UNSUBSCRIBE,
                request,
                error::NO_SUCH_SUBSCRIPTION,
                "no such subscription of this session",
            )
        }
    }

    pub fn publish(
        &self,
        session: Id,
        request: Id,
        options: &Dict,
        topic: &str,
        payload: Payload,
    ) -> Option<Message> {
        let flag = |k: &str| options.get(k).and_then(Value::as_bool);
        let acknowledge = flag("acknowledge").unwrap_or(false);
        let fail = |uri: &str, msg: String| {
            if acknowledge {
                reply_error(code::PUBLISH, request, uri, msg)
            } else {
                tracing::debug!(session, topic, "publication refused: {msg}");
                None
            }
        };
        if !uri::is_valid_uri(topic, self.uri_rule) {
            return fail(error::INVALID_URI, format!("invalid topic URI {topic:?}"));
        }
        if topic.starts_with("wamp.") {
            return fail(
                error::INVALID_URI,
                format!("topic {topic:?} is reserved for the router"),
            );
        }
        let exclude_me = flag("exclude_me").unwrap_or(true);
        let filter = Filter::new(options);
        let publication = global_id();
        let st = self.state.lock();
        // Transcode once per serializer, not once per subscriber.
        let mut encoded: HashMap<Serializer, Payload> = HashMap::new();
        for m in st.broker.matching(topic) {
            let mut details = Dict::new();
            if m.sub.policy != MatchPolicy::Exact {
                details.insert("topic".into(), Value::Str(topic.to_owned()));
            }
            for &sid in &m.sub.subscribers {
                if exclude_me && sid == session {
                    continue;
                }
                let Some(peer) = st.sessions.get(&sid) else {
                    continue;
                };
                if !filter.admits(sid, peer) {
                    continue;
                }
                let payload = match encoded.get(&peer.serializer) {
                    Some(p) => p.clone(),
                    None => match payload.encoded_for(peer.serializer) {
                        Ok(p) => {
                            encoded.insert(peer.serializer, p.clone());
                            p
                        }
                        Err(e) => {
                            drop(st);
                            return fail(
                                error::INVALID_ARGUMENT,
                                format!("payload cannot be delivered: {e}"),
                            );
                        }
                    },
                };
                peer.deliver(
                    sid,
                    Message::Event {
                        subscription: m.id,
                        publication,
                        details: details.clone(),
                        payload,
                    },
                );
            }
        }
        acknowledge.then_some(Message::Published {
            request,
            publication,
        })
    }

    pub fn register(
        &self,
        session: Id,
        request: Id,
        options: &Dict,
        procedure: &str,
    ) -> Option<Message> {
        let policy = Self::policy(options);
        if policy != MatchPolicy::Exact {
            return reply_error(
                code::REGISTER,
                request,
                error::INVALID_ARGUMENT,
                format!("match policy {:?} is not supported", policy.as_str()),
            );
        }
        if let Some(invoke) = options.get("invoke").and_then(Value::as_str) {
            if invoke != "single" {
                return reply_error(
                    code::REGISTER,
                    request,
                    error::INVALID_ARGUMENT,
                    format!("invocation policy {invoke:?} is not supported"),
                );
            }
        }
        if !uri::is_valid_uri(procedure, self.uri_rule) {
            return reply_error(
                code::REGISTER,
                request,
                error::INVALID_URI,
                format!("invalid procedure URI {procedure:?}"),
            );
        }
        if procedure.starts_with("wamp.") {
            return reply_error(
                code::REGISTER,
                request,
                error::INVALID_URI,
                format!("procedure {procedure:?} is reserved for the router"),
            );
        }
        match self
            .state
            .lock()
            .dealer
            .register(&self.ids, session, procedure)
        {
            Ok(registration) => Some(Message::Registered {
                request,
                registration,
            }),
            Err(RegisterError::AlreadyExists) => reply_error(
                code::REGISTER,
                request,
                error::PROCEDURE_ALREADY_EXISTS,
                format!("procedure {procedure:?} is already registered"),
            ),
        }
    }

    pub fn unregister(&self, session: Id, request: Id, registration: Id) -> Option<Message> {
        if self.state.lock().dealer.unregister(session, registration) {
            Some(Message::Unregistered {
                request,
                details: None,
            })
        } else {
            reply_error(
                code::UNREGISTER,
                request,
                error::NO_SUCH_REGISTRATION,
                "no such registration of this session",
            )
        }
    }

    pub fn call(
        &self,
        session: Id,
        request: Id,
        options: &Dict,
        procedure: &str,
        payload: Payload,
    ) -> Option<Message> {
        if !uri::is_valid_uri(procedure, self.uri_rule) {
            return reply_error(
                code::CALL,
                request,
                error::INVALID_URI,
                format!("invalid procedure URI {procedure:?}"),
            );
        }
        let mut st = self.state.lock();
        let Some((registration, reg)) = st.dealer.lookup(procedure) else {
            return reply_error(
                code::CALL,
                request,
                error::NO_SUCH_PROCEDURE,
                format!("no callee registered procedure {procedure:?}"),
            );
        };
        let callee = reg.callee;
        let Some(peer) = st.sessions.get(&callee).cloned() else {
            return reply_error(
                code::CALL,
                request,
                error::NO_SUCH_PROCEDURE,
                format!("no callee registered procedure {procedure:?}"),
            );
        };
        let receive_progress = options
            .get("receive_progress")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let invocation = st.dealer.start_call(Pending {
            caller: session,
            caller_request: request,
            callee,
            receive_progress,
        });
        peer.deliver(
            callee,
            Message::Invocation {
                request: invocation,
                registration,
                details: Dict::new(),
                payload,
            },
        );
        None
    }

    /// A callee's YIELD: the result goes to the caller.
    pub fn yield_result(&self, session: Id, request: Id, options: &Dict, payload: Payload) {
        let progress = options
            .get("progress")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut st = self.state.lock();
        let pending = match st.dealer.pending(session, request) {
            Some(p) if progress && p.receive_progress => Some(p.clone()),
            Some(_) => st.dealer.finish_call(session, request),
            None => None,
        };
        let Some(p) = pending else {
            tracing::debug!(
                session,
                request,
                "YIELD for no call in flight (caller gone?)"
            );
            return;
        };
        let mut details = Dict::new();
        if progress && p.receive_progress {
            details.insert("progress".into(), Value::Bool(true));
        }
        if let Some(caller) = st.sessions.get(&p.caller) {
            caller.deliver(
                p.caller,
                Message::Result {
                    request: p.caller_request,
                    details,
                    payload,
                },
            );
        }
    }

    /// A callee's ERROR for an invocation: it goes to the caller with URI, args and kwargs.
    pub fn invocation_error(
        &self,
        session: Id,
        request: Id,
        details: Dict,
        error: String,
        payload: Payload,
    ) {
        let mut st = self.state.lock();
        let Some(p) = st.dealer.finish_call(session, request) else {
            tracing::debug!(
                session,
                request,
                "ERROR for no call in flight (caller gone?)"
            );
            return;
        };
        if let Some(caller) = st.sessions.get(&p.caller) {
            caller.deliver(
                p.caller,
                Message::Error {
                    request_type: code::CALL,
                    request: p.caller_request,
                    details,
                    error,
                    payload,
                },
            );
        }
    }
}

/// The black- and white-listing options of a PUBLISH.
struct Filter<'a> {
    exclude: Option<&'a [Value]>,
    exclude_authid: Option<&'a [Value]>,
    exclude_authrole: Option<&'a [Value]>,
    eligible: Option<&'a [Value]>,
    eligible_authid: Option<&'a [Value]>,
    eligible_authrole: Option<&'a [Value]>,
}

impl<'a> Filter<'a> {
    fn new(options: &'a Dict) -> Self {
        let list = |k: &str| options.get(k).and_then(Value::as_list).map(Vec::as_slice);
        Self {
            exclude: list("exclude"),
            exclude_authid: list("exclude_authid"),
            exclude_authrole: list("exclude_authrole"),
            eligible: list("eligible"),
            eligible_authid: list("eligible_authid"),
            eligible_authrole: list("eligible_authrole"),
        }
    }

    fn admits(&self, session: Id, peer: &Peer) -> bool {
        let has_id = |l: &[Value]| l.iter().any(|v| v.as_u64() == Some(session));
        let has_str = |l: &[Value], s: &str| l.iter().any(|v| v.as_str() == Some(s));
        !self.exclude.is_some_and(has_id)
            && !self
                .exclude_authid
                .is_some_and(|l| has_str(l, &peer.authid))
            && !self
                .exclude_authrole
                .is_some_and(|l| has_str(l, &peer.authrole))
            && self.eligible.is_none_or(has_id)
            && self
                .eligible_authid
                .is_none_or(|l| has_str(l, &peer.authid))
            && self
                .eligible_authrole
                .is_none_or(|l| has_str(l, &peer.authrole))
    }
}
