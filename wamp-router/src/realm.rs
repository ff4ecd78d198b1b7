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
    code, error, global_id, CallOptions, CancelMode, CancelOptions, Dict, ErrorDetails, Id,
    IdSequence, List, Message, OptionError, Payload, PublishOptions, RegisterOptions,
    SubscribeOptions, Value, YieldOptions,
};
use wamp_runtime::Serializer;

use crate::broker::{Broker, Retained};
use crate::dealer::{CallKind, Callee, Dealer, Pending, RegisterError};
use crate::outbox::Outbox;

/// A session as the realm sees it.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub outbox: Outbox,
    /// Cancelled to end the session from the router's side (`wamp.session.kill`).
    pub killed: tokio_util::sync::CancellationToken,
    /// How the session authenticated.
    pub authmethod: String,
    /// The features it announced that change what the router sends it.
    pub features: Features,
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
    /// `force_reregister`, as in Crossbar.io): each is told, if it announced
    /// registration revocation, and the meta events say they left and the registration
    /// went.
    fn force_reregister(&mut self, procedure: &str, policy: MatchPolicy) {
        let Some((id, callees)) = self.dealer.take_over(procedure, policy) else {
            return;
        };
        let last = callees.len().saturating_sub(1);
        for (i, callee) in callees.into_iter().enumerate() {
            self.revoke(callee, Revoked::Registration, id, "wamp.error.unregistered");
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

    /// Tells `session` that the router ended its registration or subscription `id`
    /// (UNREGISTERED or UNSUBSCRIBED with request 0), if it announced that it takes
    /// revocations; the spec's fallback for the others is to say nothing.
    fn revoke(&self, session: Id, what: Revoked, id: Id, reason: &str) {
        let Some(peer) = self.sessions.get(&session) else {
            return;
        };
        let (announced, key) = match what {
            Revoked::Registration => (peer.features.registration_revocation, "registration"),
            Revoked::Subscription => (peer.features.subscription_revocation, "subscription"),
        };
        if !announced {
            return;
        }
        let mut details = Dict::new();
        details.insert(key.into(), Value::from(id));
        details.insert("reason".into(), Value::Str(reason.into()));
        let details = Some(details);
        let revoked = match what {
            Revoked::Registration => Message::Unregistered {
                request: 0,
                details,
            },
            Revoked::Subscription => Message::Unsubscribed {
                request: 0,
                details,
            },
        };
        peer.outbox.push(session, revoked);
    }

    /// `wamp.registration.remove_callee(registration, callee, reason?)` (Crossbar.io's
    /// meta procedure): takes a registration from one of its callees.
    fn remove_callee(&mut self, args: &List, kwargs: &Dict) -> crate::meta::MetaResult {
        let (registration, callee, reason) = removal_args(args, kwargs, "registration", "callee")?;
        if !self.sessions.contains_key(&callee) {
            return Err((error::NO_SUCH_SESSION, "no such session".into()));
        }
        let Some(deleted) = self.dealer.unregister(callee, registration) else {
            let text = "no such registration of that session";
            return Err((error::NO_SUCH_REGISTRATION, text.into()));
        };
        self.revoke(callee, Revoked::Registration, registration, &reason);
        self.registration_events(callee, registration, false, deleted);
        tracing::info!(registration, callee, reason, "callee removed");
        Ok(List::new())
    }

    /// `wamp.subscription.remove_subscriber(subscription, subscriber, reason?)`
    /// (Crossbar.io's meta procedure): ends one session's subscription.
    fn remove_subscriber(&mut self, args: &List, kwargs: &Dict) -> crate::meta::MetaResult {
        let (subscription, subscriber, reason) =
            removal_args(args, kwargs, "subscription", "subscriber")?;
        if !self.sessions.contains_key(&subscriber) {
            return Err((error::NO_SUCH_SESSION, "no such session".into()));
        }
        let Some(deleted) = self.broker.unsubscribe(subscriber, subscription) else {
            let text = "no such subscription of that session";
            return Err((error::NO_SUCH_SUBSCRIPTION, text.into()));
        };
        self.revoke(subscriber, Revoked::Subscription, subscription, &reason);
        self.subscription_events(subscriber, subscription, false, deleted);
        tracing::info!(subscription, subscriber, reason, "subscriber removed");
        Ok(List::new())
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
            self.interrupt(p.callee, invocation, CancelMode::KillNoWait);
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
                        self.kill(&ids, &kwargs).map(id_list)
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
                self.kill(&ids, &kwargs).map(id_list)
            }
            "wamp.registration.remove_callee" => self.remove_callee(&args, &kwargs),
            "wamp.subscription.remove_subscriber" => self.remove_subscriber(&args, &kwargs),
            other => return crate::meta::call(other, &args, &kwargs, &self.broker, &self.dealer),
        })
    }

    /// Ends `sessions` from the router's side (the `wamp.session.kill*` procedures): each
    /// gets GOODBYE with the `reason` keyword argument (default `wamp.close.killed`, as
    /// the spec says) and the `message` in its details. The IDs of the sessions ended,
    /// which `kill_by_authid`, `kill_by_authrole` and `kill_all` answer (as Crossbar.io).
    fn kill(&mut self, sessions: &[Id], kwargs: &Dict) -> Result<Vec<Id>, (&'static str, String)> {
        let reason = match kwargs.get("reason") {
            None | Some(Value::Null) => wamp_runtime::proto::close::KILLED.to_owned(),
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
        let mut killed = Vec::new();
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
                killed.push(id);
            }
        }
        Ok(killed)
    }

    /// Sends a new subscription the retained events it matches, marked `retained`.
    fn send_retained(&self, session: Id, subscription: Id, topic: &str, policy: MatchPolicy) {
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

    /// Passes the next part of a progressive invocation to its callee (the same invocation
    /// ID and registration); the part without `progress` is the last.
    fn continue_invocation(&mut self, invocation: Id, options: &CallOptions, payload: Payload) {
        let Some(p) = self.dealer.pending_any(invocation) else {
            return;
        };
        let (callee, registration) = (p.callee, p.registration);
        let mut details = Dict::new();
        if options.progress {
            details.insert("progress".into(), Value::Bool(true));
        } else {
            self.dealer.close_input(invocation);
        }
        options.passthru.apply(&mut details);
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
    fn interrupt(&self, callee: Id, invocation: Id, mode: CancelMode) {
        if self
            .sessions
            .get(&callee)
            .is_some_and(|p| p.features.callee_cancels)
        {
            let mut options = Dict::new();
            options.insert("mode".into(), Value::Str(mode.as_str().into()));
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

/// What the router takes away from a session on its own (revocation).
#[derive(Debug, Clone, Copy)]
enum Revoked {
    Registration,
    Subscription,
}

/// The features a session announced in HELLO that change what the router sends it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Features {
    /// As a callee, it handles INTERRUPT (`call_canceling`).
    pub callee_cancels: bool,
    /// Which sides of progressive call invocations it announced.
    pub progressive_calls: ProgressiveCalls,
    /// As a callee, it is told when the router takes a registration away
    /// (`registration_revocation`).
    pub registration_revocation: bool,
    /// As a subscriber, it is told when the router ends a subscription
    /// (`subscription_revocation`).
    pub subscription_revocation: bool,
    /// The roles in which it takes opaque payloads (`payload_passthru_mode`).
    pub passthru: PassthruRoles,
}

/// The roles in which a session announced payload passthru mode (or Autobahn's
/// `payload_transparency`): what it may receive with an opaque payload.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PassthruRoles {
    /// RESULT and ERROR, as a caller.
    pub caller: bool,
    /// INVOCATION, as a callee.
    pub callee: bool,
    /// EVENT, as a subscriber.
    pub subscriber: bool,
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

    /// Adds a session as `id` (chosen at HELLO; another if it is taken, or 0); returns its
    /// session ID.
    pub fn join(&self, mut id: Id, peer: Peer) -> Id {
        let mut st = self.state.lock();
        while id == 0 || st.sessions.contains_key(&id) {
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

    pub fn subscribe(&self, session: Id, request: Id, options: &SubscribeOptions, topic: &str) {
        let policy = options.policy;
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
            error(
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

    /// Why a REGISTER of `procedure` under `policy` cannot be accepted, if it cannot.
    fn check_procedure(&self, procedure: &str, policy: MatchPolicy) -> Result<(), String> {
        if !uri::is_valid_pattern(procedure, self.uri_rule, policy) {
            return Err(format!(
                "invalid procedure URI {procedure:?} for {} matching",
                policy.as_str()
            ));
        }
        if procedure.starts_with("wamp.") {
            return Err(format!(
                "procedure {procedure:?} is reserved for the router"
            ));
        }
        Ok(())
    }

    pub fn register(&self, session: Id, request: Id, options: &RegisterOptions, procedure: &str) {
        let policy = options.policy;
        let mut st = self.state.lock();
        let refuse = |st: &State, uri: &str, text: String| {
            st.send(session, error(code::REGISTER, request, uri, text));
        };
        if let Err(text) = self.check_procedure(procedure, policy) {
            return refuse(&st, error::INVALID_URI, text);
        }
        let action = crate::authorizer::Action::Register;
        if let Err(text) = self.authorize(&st, session, action, procedure) {
            return refuse(&st, error::NOT_AUTHORIZED, text);
        }
        if let Some(max) = self.max_registrations {
            if st.dealer.registrations_of(session) >= max {
                let text = format!("too many registrations: this router allows {max} per session");
                tracing::warn!(session, procedure, "registration refused: {text}");
                return refuse(&st, error::NOT_AUTHORIZED, text);
            }
        }
        if options.force_reregister {
            st.force_reregister(procedure, policy);
        }
        let callee = Callee {
            session,
            disclose_caller: options.disclose_caller,
            forward_timeout: options.forward_timeout,
        };
        match st
            .dealer
            .register(&self.ids, procedure, policy, options.invoke, callee)
        {
            Ok((registration, created)) => {
                st.registration_events(session, registration, true, created);
                st.send(
                    session,
                    Message::Registered {
                        request,
                        registration,
                    },
                );
            }
            Err(RegisterError::AlreadyExists) => refuse(
                &st,
                error::PROCEDURE_ALREADY_EXISTS,
                format!("procedure {procedure:?} is already registered"),
            ),
            Err(RegisterError::DifferentPolicy(existing)) => refuse(
                &st,
                error::PROCEDURE_EXISTS_WITH_DIFFERENT_INVOCATION_POLICY,
                format!(
                    "procedure {procedure:?} is registered with invocation policy {:?}, not {:?}",
                    existing.as_str(),
                    options.invoke.as_str()
                ),
            ),
        }
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
    /// not announce progressive call invocations, an opaque payload from one that did not
    /// announce payload passthru mode).
    pub fn call(
        self: &Arc<Self>,
        session: Id,
        request: Id,
        options: &CallOptions,
        procedure: &str,
        payload: Payload,
    ) -> Result<(), String> {
        let mut st = self.state.lock();
        let progress = options.progress;
        let passthru = options.passthru.is_set();
        let Some(caller) = st.sessions.get(&session).map(|p| p.features) else {
            return Ok(());
        };
        if progress && !caller.progressive_calls.as_caller {
            return Err(
                "CALL.Options.progress without announcing progressive_call_invocations".into(),
            );
        }
        if passthru && !caller.passthru.caller {
            return Err(
                "CALL with payload passthru options without announcing payload_passthru_mode"
                    .into(),
            );
        }
        if caller.progressive_calls.as_caller {
            match st.dealer.call_kind(session, request) {
                CallKind::New => {}
                CallKind::Late => {
                    tracing::debug!(session, request, "CALL for a call that ended; discarded");
                    return Ok(());
                }
                CallKind::Continuation(invocation) => {
                    st.continue_invocation(invocation, options, payload);
                    return Ok(());
                }
            }
        }
        let refuse = |st: &State, uri: &str, text: String| {
            st.send(session, error(code::CALL, request, uri, text));
        };
        if let Err(text) = self.authorize(&st, session, crate::authorizer::Action::Call, procedure)
        {
            refuse(&st, error::NOT_AUTHORIZED, text);
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
            refuse(
                &st,
                error::INVALID_URI,
                format!("invalid procedure URI {procedure:?}"),
            );
            return Ok(());
        }
        if st.dealer.in_flight(session) >= self.max_pending_calls {
            let text = format!(
                "too many calls in flight: this router allows {} per session",
                self.max_pending_calls
            );
            tracing::warn!(session, procedure, "call refused: {text}");
            refuse(&st, error::TOO_MANY_CALLS, text);
            return Ok(());
        }
        let route = st.dealer.route(procedure);
        let Some((route, callee_features)) = route.and_then(|r| {
            let features = st.sessions.get(&r.callee.session)?.features;
            Some((r, features))
        }) else {
            let text = format!("no callee registered procedure {procedure:?}");
            refuse(&st, error::NO_SUCH_PROCEDURE, text);
            return Ok(());
        };
        if progress && !callee_features.progressive_calls.as_callee {
            let text = "the callee does not accept progressive call invocations";
            refuse(&st, error::FEATURE_NOT_SUPPORTED, text.into());
            return Ok(());
        }
        if passthru && !callee_features.passthru.callee {
            let text = "the callee did not announce payload passthru mode";
            refuse(&st, error::FEATURE_NOT_SUPPORTED, text.into());
            return Ok(());
        }
        let callee = route.callee.session;
        let registration = route.registration;
        let timeout = options.timeout;
        let invocation = st.dealer.start_call(Pending {
            caller: session,
            caller_request: request,
            callee,
            receive_progress: options.receive_progress,
            timer: None,
            registration,
            input_open: progress,
            canceled: false,
        });
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
        if timeout > 0 && route.callee.forward_timeout {
            details.insert("timeout".into(), Value::from(timeout));
        }
        if route.pattern {
            details.insert("procedure".into(), Value::Str(procedure.to_owned()));
        }
        let disclose = self.discloses(&st, session, true);
        if disclose || route.callee.disclose_caller || options.disclose_me {
            st.identify(session, "caller", &mut details);
        }
        if options.receive_progress {
            details.insert("receive_progress".into(), Value::Bool(true));
        }
        if progress {
            details.insert("progress".into(), Value::Bool(true));
        }
        options.passthru.apply(&mut details);
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

    /// A caller's CANCEL: `skip` answers the caller at once and leaves the callee alone,
    /// `killnowait` answers at once and interrupts the callee, `kill` (the default)
    /// interrupts the callee and answers once it has responded. A callee that does not
    /// handle INTERRUPT is skipped.
    pub fn cancel(&self, session: Id, request: Id, options: &CancelOptions) {
        let mut st = self.state.lock();
        let Some(invocation) = st.dealer.invocation_of(session, request) else {
            tracing::debug!(session, request, "CANCEL for no call in flight");
            return;
        };
        let Some(callee) = st.dealer.pending_any(invocation).map(|p| p.callee) else {
            return;
        };
        let cancels = st
            .sessions
            .get(&callee)
            .is_some_and(|p| p.features.callee_cancels);
        let mode = if cancels {
            options.mode
        } else {
            CancelMode::Skip
        };
        if mode == CancelMode::Kill {
            // The callee's answer to the INTERRUPT (or its result, if it finished first)
            // ends the call with wamp.error.canceled.
            if st.dealer.mark_canceled(invocation) {
                st.interrupt(callee, invocation, CancelMode::Kill);
            }
            return;
        }
        if st.dealer.take(invocation).is_some() {
            let text = "the caller canceled the call";
            st.send(session, error(code::CALL, request, error::CANCELED, text));
            if mode == CancelMode::KillNoWait {
                st.interrupt(callee, invocation, CancelMode::KillNoWait);
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
            error(code::CALL, p.caller_request, error::TIMEOUT, text),
        );
        st.interrupt(p.callee, invocation, CancelMode::KillNoWait);
    }

    /// A callee's YIELD: the result goes to the caller. YIELD options with a bad value
    /// end the call with `wamp.error.invalid_argument` to the caller.
    pub fn yield_result(
        &self,
        session: Id,
        request: Id,
        options: Result<YieldOptions, OptionError>,
        payload: Payload,
    ) {
        let mut st = self.state.lock();
        let options = match options {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(session, request, "YIELD refused: {e}");
                if let Some(p) = st.dealer.finish_call(session, request) {
                    let text = format!("the callee's answer was invalid: {e}");
                    let msg = error(code::CALL, p.caller_request, error::INVALID_ARGUMENT, text);
                    st.send(p.caller, msg);
                }
                return;
            }
        };
        let progress = options.progress;
        let pending = match st.dealer.pending(session, request) {
            Some(p) if progress && (p.canceled || !p.receive_progress) => {
                // A canceled call takes no more results; a caller that did not ask for
                // progressive results only gets the final one.
                tracing::debug!(session, request, "progressive YIELD not passed on");
                return;
            }
            Some(p) if progress => Some(p.clone()),
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
        if p.canceled {
            let text = "the caller canceled the call";
            st.send(
                p.caller,
                error(code::CALL, p.caller_request, error::CANCELED, text),
            );
            return;
        }
        if options.passthru.is_set() {
            let callee_ok = st
                .sessions
                .get(&session)
                .is_some_and(|c| c.features.passthru.callee);
            let caller_ok = st
                .sessions
                .get(&p.caller)
                .is_some_and(|c| c.features.passthru.caller);
            if !callee_ok || !caller_ok {
                if progress {
                    st.dealer.finish_call(session, request);
                }
                let text = if callee_ok {
                    "the caller did not announce payload passthru mode"
                } else {
                    "YIELD with payload passthru options without announcing payload_passthru_mode"
                };
                tracing::warn!(session, request, "YIELD refused: {text}");
                let to_callee = error(
                    code::INVOCATION,
                    request,
                    error::FEATURE_NOT_SUPPORTED,
                    text,
                );
                st.send(session, to_callee);
                let to_caller = error(
                    code::CALL,
                    p.caller_request,
                    error::FEATURE_NOT_SUPPORTED,
                    text,
                );
                st.send(p.caller, to_caller);
                return;
            }
        }
        let mut details = Dict::new();
        if progress {
            details.insert("progress".into(), Value::Bool(true));
        }
        options.passthru.apply(&mut details);
        let result = Message::Result {
            request: p.caller_request,
            details,
            payload,
        };
        st.send(p.caller, result);
    }

    /// A callee's ERROR for an invocation: it goes to the caller with its URI, details,
    /// args and kwargs; after a `kill` cancel, the caller gets `wamp.error.canceled`
    /// with the callee's args and kwargs.
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
        let passthru = ErrorDetails::parse(&details).map(|d| d.passthru.is_set());
        let caller_ok = st
            .sessions
            .get(&p.caller)
            .is_some_and(|c| c.features.passthru.caller);
        let (error, details, payload) = match passthru {
            Err(e) => {
                let text = format!("the callee's error was invalid: {e}");
                (
                    error::INVALID_ARGUMENT.to_owned(),
                    Dict::new(),
                    Payload::args(vec![Value::Str(text)]),
                )
            }
            Ok(true) if !caller_ok => {
                let text = "the callee answered with an opaque payload and the caller did not announce payload passthru mode";
                (
                    error::FEATURE_NOT_SUPPORTED.to_owned(),
                    Dict::new(),
                    Payload::args(vec![Value::Str(text.into())]),
                )
            }
            Ok(_) if p.canceled => (error::CANCELED.to_owned(), details, payload),
            Ok(_) => (error, details, payload),
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

/// The arguments of `remove_callee` and `remove_subscriber`: the registration or
/// subscription ID, the session ID, and the reason (positional or `reason=`, a URI;
/// `wamp.error.unregistered` or `wamp.error.unsubscribed` by default).
fn removal_args(
    args: &List,
    kwargs: &Dict,
    what: &str,
    who: &str,
) -> Result<(Id, Id, String), (&'static str, String)> {
    let id = |i: usize, name: &str| {
        args.get(i)
            .and_then(Value::as_u64)
            .ok_or_else(|| (error::INVALID_ARGUMENT, format!("the {name} ID is missing")))
    };
    let (object, session) = (id(0, what)?, id(1, who)?);
    let reason = match args.get(2).or_else(|| kwargs.get("reason")) {
        None | Some(Value::Null) if what == "registration" => "wamp.error.unregistered".to_owned(),
        None | Some(Value::Null) => "wamp.error.unsubscribed".to_owned(),
        Some(Value::Str(r)) if wamp_runtime::proto::is_valid_uri(r, UriRule::Loose) => r.clone(),
        Some(other) => {
            let text = format!("the reason {other:?} is not a valid URI");
            return Err((error::INVALID_URI, text));
        }
    };
    Ok((object, session, reason))
}

/// A list of session IDs as a meta procedure's single result.
fn id_list(mut ids: Vec<Id>) -> List {
    ids.sort_unstable();
    vec![Value::List(ids.into_iter().map(Value::from).collect())]
}
