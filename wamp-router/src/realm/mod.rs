//! A realm: its sessions, its broker and its dealer, and the delivery of messages to them.
//!
//! Realm state sits behind one lock that is never held across an `.await`. Every message,
//! a session's own replies included, is queued while that lock is held, so each session
//! receives messages in the order the realm decided them (a SUBSCRIBED before the first
//! EVENT of that subscription, an UNSUBSCRIBED after the last). Queues never wait; their
//! limits are in [`crate::outbox`].
//!
//! The realm's core is here (its sessions, join and leave, authorization, disclosure);
//! its work is split by WAMP role: [`pubsub`] (the broker's side), [`rpc`] (the
//! dealer's) and [`meta`] (the meta API and revocations). Who receives an event and which
//! callee gets a call is decided behind [`routing`]; the calls in flight are
//! [`crate::calls`].

mod dynamic_authorization;
mod gather;
mod history;
mod meta;
mod pubsub;
mod reflect;
mod register;
mod remote;
mod routing;
mod rpc;
mod testament;
mod timeouts;
mod waiting;

pub(crate) use dynamic_authorization::AuthorizerAsk;
pub(crate) use routing::{Change, Holdings, Local, Routing};
pub(crate) use waiting::Waiting;

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

use parking_lot::Mutex;
use wamp_runtime::proto::uri::UriRule;
use wamp_runtime::proto::{
    code, error, global_id, CancelMode, Dict, Id, IdSequence, Message, Value,
};
use wamp_runtime::Serializer;

use crate::calls::Calls;
use crate::outbox::Outbox;

/// A session as the realm sees it.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    /// Its outbound queue; also how the router ends it (`wamp.session.kill`).
    pub outbox: Outbox,
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

struct State {
    /// Boxed: a table sized for many sessions keeps its spare slots small.
    sessions: HashMap<Id, Box<Peer>>,
    /// Sessions of other nodes of the cluster with calls here, and their node.
    remote_peers: HashMap<Id, (crate::cluster::NodeRef, Peer)>,
    /// Subscriptions and registrations, and the decisions they make.
    routing: Box<dyn routing::Routing>,
    calls: Calls,
    /// Who may do what (empty: everyone everything).
    roles: crate::authorizer::Roles,
    /// The interface descriptions of what is registered.
    reflection: crate::reflection::Reflection,
    /// What sessions left to publish when they go.
    testaments: testament::Testaments,
    /// The events kept for `wamp.subscription.get_events`.
    history: crate::history::History,
    /// What the dynamic authorizers decided.
    decisions: crate::authorizer::Decisions,
    stats: Arc<crate::metrics::Stats>,
    /// Meta events go to this node's subscribers only: set while a node of a cluster
    /// ends its sessions because the others took it as dead (they told the cluster).
    meta_here_only: bool,
}

/// One realm of the router.
pub(crate) struct Realm {
    name: String,
    uri_rule: UriRule,
    disclose_caller: bool,
    disclose_publisher: bool,
    max_pending_calls: usize,
    max_subscriptions: Option<usize>,
    max_registrations: Option<usize>,
    stats: Arc<crate::metrics::Stats>,
    /// Whether some role of the realm is decided by an authorizer procedure (without one,
    /// requests are not looked at before they are handled).
    dynamic_roles: bool,
    state: Mutex<State>,
    /// The timer that ends calls whose timeout runs out.
    timer: timeouts::CallTimer,
}

/// An ERROR answering `request` of type `request_type`, with `message` as its argument.
fn error_reply(request_type: u64, request: Id, uri: &str, message: impl Into<String>) -> Message {
    Message::error(request_type, request, uri, message)
}

impl State {
    /// The meta API's view of a session.
    fn session_info(&self, id: Id) -> Option<meta::SessionInfo<'_>> {
        let p = self.sessions.get(&id)?;
        Some(meta::SessionInfo {
            id,
            authid: &p.authid,
            authrole: &p.authrole,
            authmethod: &p.authmethod,
            transport: p.serializer.map_or("in-process", |s| s.subprotocol()),
            peer: &p.peer,
            authprovider: p.authprovider,
        })
    }

    /// Removes a session and everything it owns; false if it was not here.
    fn remove_session(&mut self, session: Id) -> bool {
        let Some(peer) = self.sessions.remove(&session) else {
            return false;
        };
        crate::sparse::shrink_when_sparse(&mut self.sessions);
        if let Some(link) = self.routing.link() {
            link.session_left(session);
        }
        let held = self.routing.leave(session);
        for change in held.subscriptions {
            self.subscription_events(session, change, false);
        }
        for change in held.registrations {
            self.registration_events(session, change, false);
        }
        let undefined = self.reflection.session_gone(session);
        self.reflection_events(undefined, false);
        let gone = self.calls.remove_session(session);
        // Calls it was waiting for: their callees may stop working on them.
        let mut told = Vec::new();
        for (invocation, p) in gone.called {
            match (p.remote, self.routing.link()) {
                (Some(node), Some(link)) => {
                    if !told.contains(&node) {
                        told.push(node);
                        link.caller_gone(node, session);
                    }
                }
                _ => self.interrupt(p.callee, invocation, CancelMode::KillNoWait),
            }
        }
        for p in gone.served {
            self.send(
                p.caller,
                error_reply(
                    code::CALL,
                    p.caller_request,
                    error::CANCELED,
                    "the callee disconnected before it answered",
                ),
            );
        }
        self.publish_testaments(session);
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

    /// Adds `{role}`, `{role}_authid` and `{role}_authrole` of `session` to `details`
    /// (caller or publisher identification).
    fn identify(&self, session: Id, role: &str, details: &mut Dict) {
        details.insert(role.into(), Value::from(session));
        if let Some(peer) = self.peer(session) {
            details.insert(format!("{role}_authid"), Value::Str(peer.authid.clone()));
            details.insert(
                format!("{role}_authrole"),
                Value::Str(peer.authrole.clone()),
            );
        }
    }

    /// Whether `session` may do `action` on `target` (`Err`: why not).
    fn authorize(
        &self,
        session: Id,
        action: crate::authorizer::Action,
        target: &str,
    ) -> Result<(), String> {
        match self.sessions.get(&session) {
            Some(p) if p.trusted => Ok(()),
            Some(p) => match self.roles.authorizer(&p.authrole) {
                Some(procedure) => {
                    match self.decisions.get(session, &p.authrole, action, target) {
                        Some(d) if d.allow => Ok(()),
                        Some(_) => Err(format!(
                            "{procedure} does not allow role {:?} to {} {target:?}",
                            p.authrole,
                            action.name()
                        )),
                        // Only what a session sends is put to the authorizer; what a meta
                        // procedure does on its behalf needs a cached decision.
                        None => Err(format!(
                            "role {:?} is decided by {procedure}, which has no decision cached to {} {target:?}",
                            p.authrole,
                            action.name()
                        )),
                    }
                }
                None => self.roles.check(&p.authrole, action, target),
            },
            None => self.roles.check("", action, target),
        }
    }

    /// Queues a message for a session of this realm, or of another node with calls here
    /// (nothing if it has left).
    fn send(&self, session: Id, msg: Message) {
        if let Some(peer) = self.peer(session) {
            peer.outbox.push(session, msg);
        }
    }

    /// A session of this realm, or of another node with calls here.
    fn peer(&self, session: Id) -> Option<&Peer> {
        match self.sessions.get(&session) {
            Some(p) => Some(p),
            None => self.remote_peers.get(&session).map(|(_, p)| p),
        }
    }
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
    /// Check CALL and PUBLISH payloads against the interface descriptions.
    pub validate_payloads: bool,
    /// The topics whose events are kept.
    pub history: Vec<crate::EventHistory>,
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
        st.authorize(session, action, target)
    }

    /// Whether a call (`caller`) or publication (`!caller`) by `session` discloses it,
    /// unasked: its role's setting, else the router's.
    fn discloses(&self, st: &State, session: Id, caller: bool, target: &str) -> bool {
        let role = st.peer(session).map(|p| p.authrole.as_str());
        let action = match caller {
            true => crate::authorizer::Action::Call,
            false => crate::authorizer::Action::Publish,
        };
        let decided = role
            .and_then(|r| st.decisions.get(session, r, action, target))
            .and_then(|d| d.disclose);
        if let Some(d) = decided {
            return d;
        }
        let by_role = role.and_then(|r| st.roles.disclosure(r, caller));
        by_role.unwrap_or(if caller {
            self.disclose_caller
        } else {
            self.disclose_publisher
        })
    }

    /// A realm routing through `cluster` when the router is a cluster node.
    pub fn new(
        name: String,
        policy: RealmPolicy,
        ids: Arc<IdSequence>,
        stats: Arc<crate::metrics::Stats>,
        cluster: Option<crate::cluster::RealmLink>,
    ) -> Self {
        let local = routing::Local::new(ids);
        let routing: Box<dyn routing::Routing> = match cluster {
            Some(link) => Box::new(crate::cluster::Clustered::new(local, link)),
            None => Box::new(local),
        };
        Self {
            name,
            uri_rule: policy.uri_rule,
            disclose_caller: policy.disclose_caller,
            disclose_publisher: policy.disclose_publisher,
            max_pending_calls: policy.max_pending_calls,
            max_subscriptions: policy.max_subscriptions,
            max_registrations: policy.max_registrations,
            stats: stats.clone(),
            dynamic_roles: policy.roles.has_authorizers(),
            state: Mutex::new(State {
                sessions: HashMap::new(),
                remote_peers: HashMap::new(),
                routing,
                calls: Calls::default(),
                roles: policy.roles,
                reflection: crate::reflection::Reflection::new(policy.validate_payloads),
                testaments: testament::Testaments::default(),
                history: crate::history::History::new(policy.history),
                decisions: Default::default(),
                stats: stats.clone(),
                meta_here_only: false,
            }),
            timer: timeouts::CallTimer::default(),
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
            id = match st.routing.link() {
                Some(link) => link.session_id(),
                None => global_id(),
            };
        }
        if let Some(link) = st.routing.link() {
            link.session_joined(id, &peer.authid, &peer.authrole);
        }
        st.sessions.insert(id, Box::new(peer));
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
        self.state.lock().calls.calls_in_flight()
    }
}
