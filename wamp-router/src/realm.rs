//! A realm: its sessions, its broker and its dealer, and the delivery of messages to them.
//!
//! Realm state sits behind one lock that is never held across an `.await`. Every message,
//! a session's own replies included, is queued while that lock is held, so each session
//! receives messages in the order the realm decided them (a SUBSCRIBED before the first
//! EVENT of that subscription, an UNSUBSCRIBED after the last). Queues never wait; their
//! limits are in [`crate::outbox`].

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use wamp_runtime::proto::uri::{self, MatchPolicy, UriRule};
use wamp_runtime::proto::{
    code, error, global_id, Dict, Id, IdSequence, List, Message, Payload, Value,
};
use wamp_runtime::Serializer;

use crate::broker::{Broker, Retained};
use crate::dealer::{CallKind, Callee, Dealer, Invoke, Pending, RegisterError};
use crate::outbox::Outbox;

/// A session as the realm sees it.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub outbox: Outbox,
    /// Cancelled to end the session from the router's side (`wamp.session.kill`).
    pub killed: tokio_util::sync::CancellationToken,
    /// How the session authenticated.
    pub authmethod: String,
    /// Whether the session, as a callee, handles INTERRUPT (`call_canceling`).
    pub callee_cancels: bool,
    /// Which sides of progressive call invocations the session announced.
    pub progressive_calls: ProgressiveCalls,
    /// `None` for an in-process session, which takes payloads in any form.
    pub serializer: Option<Serializer>,
    pub authid: String,
    pub authrole: String,
    /// The router's own session: allowed everything.
    pub trusted: bool,
    /// Where the connection comes from ("tcp4:127.0.0.1:50312", "in-process").
    pub peer: String,
    /// Who vouched for the identity: `static`, `dynamic` or `router`.
    pub authprovider: &'static str,
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
    roles: crate::authorizer::Roles,
    disclose_caller: bool,
    disclose_publisher: bool,
    max_pending_calls: usize,
    max_subscriptions: Option<usize>,
    max_registrations: Option<usize>,
    ids: Arc<IdSequence>,
    stats: Arc<crate::metrics::Stats>,
    state: Mutex<State>,
}

fn error(request_type: u64, request: Id, uri: &str, message: impl Into<String>) -> Message {
    Message::error(request_type, request, uri, message)
}

/// Whether a boolean option is set.
fn flag(options: &Dict, key: &str) -> bool {
    options.get(key).and_then(Value::as_bool) == Some(true)
}

impl State {
    /// The meta API's view of a session.
    fn session_info(&self, id: Id) -> Option<crate::meta::SessionInfo<'_>> {
        let p = self.sessions.get(&id)?;
        Some(crate::meta::SessionInfo {
            id,
            authid: &p.authid,
            authrole: &p.authrole,
            authmethod: &p.authmethod,
            transport: p.serializer.map_or("in-process", |s| s.subprotocol()),
            peer: &p.peer,
            authprovider: p.authprovider,
        })
    }

    /// Publishes a meta event to whoever subscribed to `topic`.
    fn meta_event(&self, topic: &str, args: List) {
        let publication = global_id();
        for m in self.broker.matching(topic) {
            let mut details = Dict::new();
            if m.sub.policy != MatchPolicy::Exact {
                details.insert("topic".into(), Value::Str(topic.to_owned()));
            }
            for &sid in &m.sub.subscribers {
                if let Some(peer) = self.sessions.get(&sid) {
                    let event = Message::Event {
                        subscription: m.id,
                        publication,
                        details: details.clone(),
                        payload: Payload::args(args.clone()),
                    };
                    peer.outbox.push(sid, event);
                }
            }
        }
    }

    /// The meta events of a subscription change: `on_create` and `on_subscribe`, or
    /// `on_unsubscribe` and `on_delete`.
    fn subscription_events(&self, session: Id, id: Id, subscribed: bool, changed: bool) {
        let details = || crate::meta::subscription_details(&self.broker, id);
        let names = ["subscribe", "unsubscribe"];
        self.membership_events(
            "wamp.subscription",
            names,
            session,
            id,
            subscribed,
            changed,
            details,
        );
    }

    /// The meta events of a registration change, like [`State::subscription_events`].
    fn registration_events(&self, session: Id, id: Id, registered: bool, changed: bool) {
        let details = || crate::meta::registration_details(&self.dealer, id);
        let names = ["register", "unregister"];
        self.membership_events(
            "wamp.registration",
            names,
            session,
            id,
            registered,
            changed,
            details,
        );
    }

    /// `{prefix}.on_create` and `{prefix}.on_{join}` when `session` joined (created: the
    /// object is new), or `{prefix}.on_{leave}` and `{prefix}.on_delete` when it left
    /// (deleted: it was the last).
    #[allow(clippy::too_many_arguments)]
    fn membership_events(
        &self,
        prefix: &str,
        [join, leave]: [&str; 2],
        session: Id,
        id: Id,
        joined: bool,
        changed: bool,
        details: impl FnOnce() -> Option<Dict>,
    ) {
        let who = Value::from(session);
        let pair = vec![who.clone(), Value::from(id)];
        if joined {
            if changed {
                if let Some(d) = details() {
                    let event = vec![who, Value::Dict(d)];
                    self.meta_event(&format!("{prefix}.on_create"), event);
                }
            }
            self.meta_event(&format!("{prefix}.on_{join}"), pair);
        } else {
            self.meta_event(&format!("{prefix}.on_{leave}"), pair.clone());
            if changed {
                self.meta_event(&format!("{prefix}.on_delete"), pair);
            }
        }
    }

    /// Takes `procedure` away from the callees that hold it (a REGISTER with
    /// `force_reregister`, as in Crossbar.io): each is told with UNREGISTERED, and the
    /// meta events say they left and the registration went.
    fn force_reregister(&mut self, procedure: &str, policy: MatchPolicy) {
        let Some((id, callees)) = self.dealer.take_over(procedure, policy) else {
            return;
        };
        let last = callees.len().saturating_sub(1);
        for (i, callee) in callees.into_iter().enumerate() {
            let mut details = Dict::new();
            details.insert("registration".into(), Value::from(id));
            details.insert(
                "reason".into(),
                Value::Str("wamp.error.unregistered".into()),
            );
            let revoked = Message::Unregistered {
                request: 0,
                details: Some(details),
            };
            self.send(callee, revoked);
            let pair = vec![Value::from(callee), Value::from(id)];
            self.meta_event("wamp.registration.on_unregister", pair.clone());
            if i == last {
                self.meta_event("wamp.registration.on_delete", pair);
            }
        }
        tracing::info!(
            procedure,
            registration = id,
            "registration taken over (force_reregister)"
        );
    }

    /// Removes a session and everything it owns; false if it was not here.
    fn remove_session(&mut self, session: Id) -> bool {
        let Some(peer) = self.sessions.remove(&session) else {
            return false;
        };
        for (id, deleted) in self.broker.remove_session(session) {
            self.subscription_events(session, id, false, deleted);
        }
        let gone = self.dealer.remove_session(session);
        for (id, deleted) in gone.registrations {
            self.registration_events(session, id, false, deleted);
        }
        // Calls it was waiting for: their callees may stop working on them.
        for (invocation, p) in gone.called {
            self.interrupt(p.callee, invocation, "killnowait");
        }
        for p in gone.served {
            self.send(
                p.caller,
                error(
                    code::CALL,
                    p.caller_request,
                    error::CANCELED,
                    "the callee disconnected before it answered",
                ),
            );
        }
        self.meta_event(
            "wamp.session.on_leave",
            vec![
                Value::from(session),
                Value::Str(peer.authid),
                Value::Str(peer.authrole),
            ],
        );
        true
    }

    /// Answers a meta procedure call; `None` if `procedure` is none.
    fn meta_call(
        &mut self,
        session: Id,
        procedure: &str,
        payload: &Payload,
    ) -> Option<crate::meta::MetaResult> {
        let (args, kwargs) = match payload.to_values() {
            Ok(wamp_runtime::proto::PayloadValues::Args { args, kwargs }) => {
                (args, kwargs.unwrap_or_default())
            }
            _ => (List::new(), Dict::new()),
        };
        let no_session = || (error::NO_SUCH_SESSION, "no such session".to_owned());
        Some(match procedure {
            "wamp.session.count" | "wamp.session.list" => {
                let roles = crate::meta::authrole_filter(&args);
                let mut ids: Vec<Id> = self
                    .sessions
                    .iter()
                    .filter(|(_, p)| roles.as_ref().is_none_or(|r| r.contains(&p.authrole)))
                    .map(|(id, _)| *id)
                    .collect();
                if procedure == "wamp.session.count" {
                    Ok(vec![Value::from(ids.len() as u64)])
                } else {
                    ids.sort_unstable();
                    Ok(vec![Value::List(
                        ids.into_iter().map(Value::from).collect(),
                    )])
                }
            }
            "wamp.session.get" => match args.first().and_then(Value::as_u64) {
                Some(id) => self
                    .session_info(id)
                    .map(|i| vec![Value::Dict(i.details())])
                    .ok_or_else(no_session),
                None => Err((error::INVALID_ARGUMENT, "the session ID is missing".into())),
            },
            "wamp.session.kill" => match args.first().and_then(Value::as_u64) {
                // The caller is no *other* session with that ID.
                Some(id) if id != session && self.sessions.contains_key(&id) => {
                    self.kill(&[id], &kwargs).map(|_| List::new())
                }
                Some(_) => Err(no_session()),
                None => Err((error::INVALID_ARGUMENT, "the session ID is missing".into())),
            },
            "wamp.session.kill_by_authid" | "wamp.session.kill_by_authrole" => {
                let by_role = procedure.ends_with("authrole");
                match args.first().and_then(Value::as_str) {
                    Some(wanted) => {
                        let ids: Vec<Id> = self
                            .sessions
                            .iter()
                            .filter(|(id, p)| {
                                **id != session
                                    && if by_role {
                                        p.authrole == wanted
                                    } else {
                                        p.authid == wanted
                                    }
                            })
                            .map(|(id, _)| *id)
                            .collect();
                        self.kill(&ids, &kwargs)
                    }
                    None => {
                        let what = if by_role { "authrole" } else { "authid" };
                        Err((error::INVALID_ARGUMENT, format!("the {what} is missing")))
                    }
                }
            }
            "wamp.session.kill_all" => {
                let ids: Vec<Id> = self
                    .sessions
                    .keys()
                    .copied()
                    .filter(|id| *id != session)
                    .collect();
                self.kill(&ids, &kwargs)
            }
            other => return crate::meta::call(other, &args, &kwargs, &self.broker, &self.dealer),
        })
    }

    /// Ends `sessions` from the router's side (the `wamp.session.kill*` procedures): each
    /// gets GOODBYE with the `reason` keyword argument (default `wamp.close.normal`) and
    /// the `message` in its details. The count, as the procedures answer.
    fn kill(&mut self, sessions: &[Id], kwargs: &Dict) -> crate::meta::MetaResult {
        let reason = match kwargs.get("reason") {
            None => wamp_runtime::proto::close::NORMAL.to_owned(),
            Some(Value::Str(r)) if wamp_runtime::proto::is_valid_uri(r, UriRule::Loose) => {
                r.clone()
            }
            Some(other) => {
                let text = format!("the reason {other:?} is not a valid URI");
                return Err((error::INVALID_URI, text));
            }
        };
        let mut details = Dict::new();
        if let Some(m) = kwargs.get("message").and_then(Value::as_str) {
            details.insert("message".into(), Value::Str(m.to_owned()));
        }
        let mut killed = 0u64;
        for &id in sessions {
            if let Some(peer) = self.sessions.get(&id) {
                let goodbye = Message::Goodbye {
                    details: details.clone(),
                    reason: reason.clone(),
                };
                peer.outbox.push(id, goodbye);
                peer.killed.cancel();
            }
            if self.remove_session(id) {
                killed += 1;
            }
        }
        Ok(vec![Value::from(killed)])
    }

    /// Sends a new subscription the retained events it matches, marked `retained`.
    fn send_retained(&self, session: Id, subscription: Id, topic: &str, policy: MatchPolicy) {
        let Some(peer) = self.sessions.get(&session) else {
            return;
        };
        for (published_to, r) in self.broker.retained_for(topic, policy) {
            let exclude_me = r.options.get("exclude_me").and_then(Value::as_bool) != Some(false);
            if (exclude_me && r.publisher == session)
                || !Filter::new(&r.options).admits(session, peer)
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

    /// Passes the next part of a progressive invocation to its callee (the same invocation
    /// ID and registration); the part without `progress` is the last.
    fn continue_invocation(&mut self, invocation: Id, progress: bool, payload: Payload) {
        let Some(p) = self.dealer.pending_any(invocation) else {
            return;
        };
        let (callee, registration) = (p.callee, p.registration);
        let mut details = Dict::new();
        if progress {
            details.insert("progress".into(), Value::Bool(true));
        } else {
            self.dealer.close_input(invocation);
        }
        self.send(
            callee,
            Message::Invocation {
                request: invocation,
                registration,
                details,
                payload,
            },
        );
    }

    /// Sends INTERRUPT for `invocation` to `callee`, if it handles them.
    fn interrupt(&self, callee: Id, invocation: Id, mode: &str) {
        if self.sessions.get(&callee).is_some_and(|p| p.callee_cancels) {
            let mut options = Dict::new();
            options.insert("mode".into(), Value::Str(mode.into()));
            self.send(
                callee,
                Message::Interrupt {
                    request: invocation,
                    options,
                },
            );
        }
    }

    /// Adds `{role}`, `{role}_authid` and `{role}_authrole` of `session` to `details`
    /// (caller or publisher identification).
    fn identify(&self, session: Id, role: &str, details: &mut Dict) {
        details.insert(role.into(), Value::from(session));
        if let Some(peer) = self.sessions.get(&session) {
            details.insert(format!("{role}_authid"), Value::Str(peer.authid.clone()));
            details.insert(
                format!("{role}_authrole"),
                Value::Str(peer.authrole.clone()),
            );
        }
    }

    /// Queues a message for a session of this realm (nothing if it has left).
    fn send(&self, session: Id, msg: Message) {
        if let Some(peer) = self.sessions.get(&session) {
            peer.outbox.push(session, msg);
        }
    }
}

fn policy(options: &Dict) -> MatchPolicy {
    options
        .get("match")
        .and_then(Value::as_str)
        .and_then(MatchPolicy::parse)
        .unwrap_or_default()
}

/// The session's support of progressive call invocations (the caller streams its
/// arguments in several CALLs with the same request ID).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProgressiveCalls {
    /// It may send them, as a caller.
    pub as_caller: bool,
    /// It accepts them, as a callee (which also needs call canceling).
    pub as_callee: bool,
}

/// A realm's settings.
#[derive(Debug, Clone)]
pub(crate) struct RealmPolicy {
    /// Who may do what (empty: everyone everything).
    pub roles: crate::authorizer::Roles,
    pub uri_rule: UriRule,
    /// Disclose every caller to callees, asked or not.
    pub disclose_caller: bool,
    /// Disclose every publisher to subscribers, asked or not.
    pub disclose_publisher: bool,
    /// How many calls one session may have in flight.
    pub max_pending_calls: usize,
    /// How many subscriptions one session may hold.
    pub max_subscriptions: Option<usize>,
    /// How many procedures one session may register.
    pub max_registrations: Option<usize>,
}

impl Realm {
    /// Whether `session` may do `action` on `target` (`Err`: why not).
    fn authorize(
        &self,
        st: &State,
        session: Id,
        action: crate::authorizer::Action,
        target: &str,
    ) -> Result<(), String> {
        match st.sessions.get(&session) {
            Some(p) if p.trusted => Ok(()),
            Some(p) => self.roles.check(&p.authrole, action, target),
            None => self.roles.check("", action, target),
        }
    }

    /// Whether a call (`caller`) or publication (`!caller`) by `session` discloses it,
    /// unasked: its role's setting, else the router's.
    fn discloses(&self, st: &State, session: Id, caller: bool) -> bool {
        let role = st.sessions.get(&session).map(|p| p.authrole.as_str());
        let by_role = role.and_then(|r| self.roles.disclosure(r, caller));
        by_role.unwrap_or(if caller {
            self.disclose_caller
        } else {
            self.disclose_publisher
        })
    }

    pub fn new(
        name: String,
        policy: RealmPolicy,
        ids: Arc<IdSequence>,
        stats: Arc<crate::metrics::Stats>,
    ) -> Self {
        Self {
            name,
            uri_rule: policy.uri_rule,
            roles: policy.roles,
            disclose_caller: policy.disclose_caller,
            disclose_publisher: policy.disclose_publisher,
            max_pending_calls: policy.max_pending_calls,
            max_subscriptions: policy.max_subscriptions,
            max_registrations: policy.max_registrations,
            ids,
            stats,
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
        if let Some(info) = st.session_info(id) {
            let details = info.details();
            st.meta_event("wamp.session.on_join", vec![Value::Dict(details)]);
        }
        id
    }

    /// Removes a session and everything it owns (nothing if it is gone already). Callers of
    /// calls it was serving get `wamp.error.canceled` at once.
    pub fn leave(&self, session: Id) {
        self.state.lock().remove_session(session);
    }

    /// The number of sessions joined.
    pub fn session_count(&self) -> usize {
        self.state.lock().sessions.len()
    }

    /// Calls routed to a callee and not answered yet.
    pub fn calls_in_flight(&self) -> usize {
        self.state.lock().dealer.calls_in_flight()
    }

    pub fn subscribe(&self, session: Id, request: Id, options: &Dict, topic: &str) {
        let policy = policy(options);
        let mut st = self.state.lock();
        if !uri::is_valid_pattern(topic, self.uri_rule, policy) {
            let text = format!("invalid topic URI {topic:?}");
            return st.send(
                session,
                error(code::SUBSCRIBE, request, error::INVALID_URI, text),
            );
        }
        if let Err(text) = self.authorize(&st, session, crate::authorizer::Action::Subscribe, topic)
        {
            return st.send(
                session,
                error(code::SUBSCRIBE, request, error::NOT_AUTHORIZED, text),
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
                    error(code::SUBSCRIBE, request, error::NOT_AUTHORIZED, text),
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
        if flag(options, "get_retained") {
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
            error(
                code::UNSUBSCRIBE,
                request,
                error::NO_SUCH_SUBSCRIPTION,
                text,
            )
        };
        st.send(session, reply);
    }

    pub fn publish(&self, session: Id, request: Id, options: &Dict, topic: &str, payload: Payload) {
        let option = |k: &str| options.get(k).and_then(Value::as_bool);
        let acknowledge = option("acknowledge").unwrap_or(false);
        let mut st = self.state.lock();
        let fail = |uri: &str, text: String| {
            if acknowledge {
                st.send(session, error(code::PUBLISH, request, uri, text));
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
        let exclude_me = option("exclude_me").unwrap_or(true);
        let filter = Filter::new(options);
        let publication = global_id();
        // Transcode once per serializer, not once per subscriber.
        let mut encoded: HashMap<Serializer, Payload> = HashMap::new();
        let mut identity = Dict::new();
        if self.discloses(&st, session, false) || flag(options, "disclose_me") {
            st.identify(session, "publisher", &mut identity);
        }
        for m in st.broker.matching(topic) {
            let mut details = identity.clone();
            if m.sub.policy != MatchPolicy::Exact {
                details.insert("topic".into(), Value::Str(topic.to_owned()));
            }
            // Every subscriber of this subscription gets the same EVENT: encoded once per
            // serializer, the bytes shared by their queues.
            let mut frames: HashMap<Serializer, bytes::Bytes> = HashMap::new();
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
        if option("retain") == Some(true) {
            st.broker.retain(
                topic,
                Retained {
                    publication,
                    publisher: session,
                    identity,
                    options: options.clone(),
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

    /// The match and invocation policies of a REGISTER, or why it cannot be accepted.
    fn register_policies(
        &self,
        options: &Dict,
        procedure: &str,
    ) -> Result<(MatchPolicy, Invoke), (&'static str, String)> {
        let policy = match options.get("match").and_then(Value::as_str) {
            None => MatchPolicy::Exact,
            Some(m) => MatchPolicy::parse(m).ok_or_else(|| {
                let text = format!("unknown match policy {m:?}: use exact, prefix or wildcard");
                (error::INVALID_ARGUMENT, text)
            })?,
        };
        let invoke = match options.get("invoke").and_then(Value::as_str) {
            None => Invoke::Single,
            Some(i) => Invoke::parse(i).ok_or_else(|| {
                let text = format!(
                    "unknown invocation policy {i:?}: use single, roundrobin, random, first or last"
                );
                (error::INVALID_ARGUMENT, text)
            })?,
        };
        if !uri::is_valid_pattern(procedure, self.uri_rule, policy) {
            return Err((
                error::INVALID_URI,
                format!(
                    "invalid procedure URI {procedure:?} for {} matching",
                    policy.as_str()
                ),
            ));
        }
        if procedure.starts_with("wamp.") {
            let text = format!("procedure {procedure:?} is reserved for the router");
            return Err((error::INVALID_URI, text));
        }
        Ok((policy, invoke))
    }

    pub fn register(&self, session: Id, request: Id, options: &Dict, procedure: &str) {
        let policies = self.register_policies(options, procedure);
        let mut st = self.state.lock();
        let action = crate::authorizer::Action::Register;
        let policies = policies.and_then(|p| {
            self.authorize(&st, session, action, procedure)
                .map(|()| p)
                .map_err(|text| (error::NOT_AUTHORIZED, text))
        });
        let policies = policies.and_then(|p| match self.max_registrations {
            Some(max) if st.dealer.registrations_of(session) >= max => {
                let text = format!("too many registrations: this router allows {max} per session");
                tracing::warn!(session, procedure, "registration refused: {text}");
                Err((error::NOT_AUTHORIZED, text))
            }
            _ => Ok(p),
        });
        if let (Ok((policy, _)), true) = (&policies, flag(options, "force_reregister")) {
            st.force_reregister(procedure, *policy);
        }
        let reply = match policies {
            Err((uri, text)) => error(code::REGISTER, request, uri, text),
            Ok((policy, invoke)) => match st.dealer.register(
                &self.ids,
                procedure,
                policy,
                invoke,
                Callee {
                    session,
                    disclose_caller: flag(options, "disclose_caller"),
                },
            ) {
                Ok((registration, created)) => {
                    st.registration_events(session, registration, true, created);
                    Message::Registered {
                        request,
                        registration,
                    }
                }
                Err(RegisterError::AlreadyExists) => error(
                    code::REGISTER,
                    request,
                    error::PROCEDURE_ALREADY_EXISTS,
                    format!(
                        "procedure {procedure:?} is already registered (shared registration needs the same invocation policy, other than single)"
                    ),
                ),
            },
        };
        st.send(session, reply);
    }

    pub fn unregister(&self, session: Id, request: Id, registration: Id) {
        let mut st = self.state.lock();
        let reply = if let Some(deleted) = st.dealer.unregister(session, registration) {
            st.registration_events(session, registration, false, deleted);
            Message::Unregistered {
                request,
                details: None,
            }
        } else {
            let text = "no such registration of this session";
            error(code::UNREGISTER, request, error::NO_SUCH_REGISTRATION, text)
        };
        st.send(session, reply);
    }

    /// A CALL. `Err` is a protocol violation (a progressive CALL from a caller that did
    /// not announce progressive call invocations).
    pub fn call(
        self: &Arc<Self>,
        session: Id,
        request: Id,
        options: &Dict,
        procedure: &str,
        payload: Payload,
    ) -> Result<(), String> {
        let mut st = self.state.lock();
        let progress = flag(options, "progress");
        let streams = st
            .sessions
            .get(&session)
            .is_some_and(|p| p.progressive_calls.as_caller);
        if progress && !streams {
            return Err(
                "CALL.Options.progress without announcing progressive_call_invocations".into(),
            );
        }
        if streams {
            match st.dealer.call_kind(session, request) {
                CallKind::New => {}
                CallKind::Late => {
                    tracing::debug!(session, request, "CALL for a call that ended; discarded");
                    return Ok(());
                }
                CallKind::Continuation(invocation) => {
                    st.continue_invocation(invocation, progress, payload);
                    return Ok(());
                }
            }
        }
        if let Err(text) = self.authorize(&st, session, crate::authorizer::Action::Call, procedure)
        {
            st.send(
                session,
                error(code::CALL, request, error::NOT_AUTHORIZED, text),
            );
            return Ok(());
        }
        if procedure.starts_with("wamp.") {
            if let Some(answer) = st.meta_call(session, procedure, &payload) {
                let reply = match answer {
                    Ok(args) => Message::Result {
                        request,
                        details: Dict::new(),
                        payload: Payload::args(args),
                    },
                    Err((uri, text)) => error(code::CALL, request, uri, text),
                };
                st.send(session, reply);
                return Ok(());
            }
        }
        if !uri::is_valid_uri(procedure, self.uri_rule) {
            let text = format!("invalid procedure URI {procedure:?}");
            st.send(
                session,
                error(code::CALL, request, error::INVALID_URI, text),
            );
            return Ok(());
        }
        if st.dealer.in_flight(session) >= self.max_pending_calls {
            let text = format!(
                "too many calls in flight: this router allows {} per session",
                self.max_pending_calls
            );
            tracing::warn!(session, procedure, "call refused: {text}");
            st.send(session, error(code::CALL, request, error::CANCELED, text));
            return Ok(());
        }
        let route = st.dealer.route(procedure);
        let Some(route) = route.filter(|r| st.sessions.contains_key(&r.callee.session)) else {
            let text = format!("no callee registered procedure {procedure:?}");
            st.send(
                session,
                error(code::CALL, request, error::NO_SUCH_PROCEDURE, text),
            );
            return Ok(());
        };
        if progress
            && !st
                .sessions
                .get(&route.callee.session)
                .is_some_and(|p| p.progressive_calls.as_callee)
        {
            let text = "the callee does not accept progressive call invocations";
            st.send(
                session,
                error(code::CALL, request, error::FEATURE_NOT_SUPPORTED, text),
            );
            return Ok(());
        }
        let receive_progress = options
            .get("receive_progress")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let callee = route.callee.session;
        let registration = route.registration;
        let invocation = st.dealer.start_call(Pending {
            caller: session,
            caller_request: request,
            callee,
            receive_progress,
            timer: None,
            registration: route.registration,
            input_open: progress,
        });
        let timeout = options.get("timeout").and_then(Value::as_u64).unwrap_or(0);
        if timeout > 0 {
            let realm = Arc::downgrade(self);
            let timer = tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(timeout)).await;
                if let Some(realm) = realm.upgrade() {
                    realm.expire(invocation, timeout);
                }
            });
            st.dealer.set_timer(invocation, timer.abort_handle());
        }
        let mut details = Dict::new();
        if let Some(t) = options.get("timeout").filter(|_| timeout > 0) {
            details.insert("timeout".into(), t.clone());
        }
        if route.pattern {
            details.insert("procedure".into(), Value::Str(procedure.to_owned()));
        }
        let disclose = self.discloses(&st, session, true);
        if disclose || route.callee.disclose_caller || flag(options, "disclose_me") {
            st.identify(session, "caller", &mut details);
        }
        if receive_progress {
            details.insert("receive_progress".into(), Value::Bool(true));
        }
        if progress {
            details.insert("progress".into(), Value::Bool(true));
        }
        st.send(
            callee,
            Message::Invocation {
                request: invocation,
                registration,
                details,
                payload,
            },
        );
        Ok(())
    }

    /// A caller's CANCEL (`mode`: `skip`, `kill` or `killnowait`; `kill` by default, and
    /// `skip` when the callee does not handle INTERRUPT).
    pub fn cancel(&self, session: Id, request: Id, options: &Dict) {
        let mut st = self.state.lock();
        let Some(invocation) = st.dealer.invocation_of(session, request) else {
            tracing::debug!(session, request, "CANCEL for no call in flight");
            return;
        };
        let Some(callee) = st.dealer.pending_any(invocation).map(|p| p.callee) else {
            return;
        };
        let cancels = st.sessions.get(&callee).is_some_and(|p| p.callee_cancels);
        let requested = options
            .get("mode")
            .and_then(Value::as_str)
            .unwrap_or("kill");
        let mode = if cancels { requested } else { "skip" };
        if mode == "kill" {
            // The callee answers the INTERRUPT (or finishes first); that answer ends the call.
            st.interrupt(callee, invocation, "kill");
            return;
        }
        if st.dealer.take(invocation).is_some() {
            let text = "the caller canceled the call";
            st.send(session, error(code::CALL, request, error::CANCELED, text));
            if mode == "killnowait" {
                st.interrupt(callee, invocation, "killnowait");
            }
        }
    }

    /// The router's timer for a call with a `timeout` ran out.
    fn expire(&self, invocation: Id, timeout: u64) {
        let mut st = self.state.lock();
        let Some(p) = st.dealer.take(invocation) else {
            return;
        };
        let text = format!("the call timed out after {timeout} ms");
        st.send(
            p.caller,
            error(code::CALL, p.caller_request, error::CANCELED, text),
        );
        st.interrupt(p.callee, invocation, "killnowait");
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
            Some(_) if progress => {
                // The caller did not ask for progressive results: only the final one goes.
                tracing::debug!(
                    session,
                    request,
                    "progressive YIELD for a caller that did not ask; dropped"
                );
                return;
            }
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
        let result = Message::Result {
            request: p.caller_request,
            details,
            payload,
        };
        st.send(p.caller, result);
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
        let msg = Message::Error {
            request_type: code::CALL,
            request: p.caller_request,
            details,
            error,
            payload,
        };
        st.send(p.caller, msg);
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
