//! What the other nodes of a cluster ask of this realm: calls for callees here (the
//! caller a session of another node, with an outbox to it), their parts, cancels and
//! callers leaving; answers for callers here; the registration records; a node gone.

use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::{code, error, CancelMode, CancelOptions, Id, Message, Value};

use super::meta::Revoked;
use super::{error_reply, Features, Peer, Realm, State};
use crate::calls::{Deadline, Pending};
use crate::cluster::{Mirror, NodeRef, RemoteCall};
use crate::dealer::Mirrored;

impl State {
    /// This node's callees that another node took off a registration (it took the
    /// registration over, or took this node for dead): they are told, if they asked
    /// to be, and the meta events say so.
    pub(super) fn registrations_taken(&mut self, m: Mirrored, id: Id) {
        let registration = m.old.unwrap_or(id);
        let gone = !m.exists || m.old.is_some();
        let last = m.removed.len().saturating_sub(1);
        for (i, session) in m.removed.into_iter().enumerate() {
            self.revoke(
                session,
                Revoked::Registration,
                registration,
                "wamp.error.unregistered",
            );
            self.registration_left(session, registration);
            self.callee_left_events(session, registration, gone && i == last);
            tracing::info!(session, registration, "callee taken off by another node");
        }
    }

    /// Ends what a session of another node takes part in here: the calls it waits for
    /// (their callees are interrupted).
    fn drop_remote_peer(&mut self, session: Id) {
        if self.remote_peers.remove(&session).is_none() {
            return;
        }
        let gone = self.calls.remove_session(session);
        for (invocation, p) in gone.called {
            self.interrupt(p.callee, invocation, CancelMode::KillNoWait);
        }
    }
}

impl Realm {
    /// A call from a session of another node to a callee here, as the caller's node
    /// routed it.
    pub fn call_from_node(self: &std::sync::Arc<Self>, c: RemoteCall) {
        let mut st = self.state.lock();
        let Some(link) = st.routing.link().cloned() else {
            return;
        };
        st.remote_peers.entry(c.caller).or_insert_with(|| {
            let mut features = Features::default();
            features.passthru.caller = c.caller_passthru;
            let peer = Peer {
                outbox: link.outbox_to(c.from),
                authmethod: String::new(),
                features,
                serializer: None,
                authid: c.authid.clone(),
                authrole: c.authrole.clone(),
                trusted: false,
                peer: format!("cluster:{}", link.name_of(c.from)),
                authprovider: "cluster",
            };
            (c.from, peer)
        });
        let serving = st
            .routing
            .registrations()
            .get(c.registration)
            .and_then(|r| {
                r.callees
                    .iter()
                    .find(|x| x.session == c.callee && x.node.is_local())
            })
            .map(|x| x.concurrency);
        let Some(concurrency) = serving.filter(|_| st.sessions.contains_key(&c.callee)) else {
            let text = "the callee left before the call reached it";
            let reply = error_reply(code::CALL, c.caller_request, error::CANCELED, text);
            st.send(c.caller, reply);
            return;
        };
        // The caller's node counts only its own calls: the limit is kept here, where
        // every invocation of the callee is known.
        if concurrency > 0 && st.calls.serving(c.callee, c.registration) >= concurrency {
            let text = format!("the callee is at its maximum concurrency ({concurrency})");
            let uri = super::rpc::MAX_CONCURRENCY_REACHED;
            st.send(
                c.caller,
                error_reply(code::CALL, c.caller_request, uri, text),
            );
            return;
        }
        let timeout = c.options.timeout;
        let deadline = (timeout > 0).then(|| Deadline {
            at: tokio::time::Instant::now() + std::time::Duration::from_millis(timeout),
            timeout_ms: timeout,
        });
        let invocation = st.calls.start_call(Pending {
            caller: c.caller,
            caller_request: c.caller_request,
            callee: c.callee,
            receive_progress: c.options.receive_progress,
            deadline,
            registration: c.registration,
            input_open: c.options.progress,
            canceled: false,
            remote: None,
            limited: concurrency > 0,
        });
        if let Some(d) = deadline {
            self.arm_timer(d.at, st.calls.next_deadline() == Some(d.at));
        }
        let (callee, registration) = (c.callee, c.registration);
        st.invoke(
            callee,
            invocation,
            registration,
            c.details,
            &c.options,
            c.payload,
        );
    }

    /// The next part of a progressive call invocation from a caller of another node.
    pub fn continue_from_node(
        &self,
        caller: Id,
        request: Id,
        options: &wamp_runtime::proto::CallOptions,
        payload: wamp_runtime::proto::Payload,
    ) {
        let mut st = self.state.lock();
        let Some(invocation) = st.calls.invocation_of(caller, request) else {
            tracing::debug!(
                caller,
                request,
                "call part for a call that ended; discarded"
            );
            return;
        };
        if st
            .calls
            .pending_any(invocation)
            .is_some_and(|p| p.input_open)
        {
            st.continue_invocation(invocation, options, payload);
        }
    }

    /// A caller of another node canceled its call to a callee here.
    pub fn cancel_from_node(&self, caller: Id, request: Id, mode: CancelMode) {
        self.cancel(caller, request, &CancelOptions { mode });
    }

    /// A caller of another node left: the calls it waits for here end.
    pub fn caller_gone(&self, caller: Id) {
        self.state.lock().drop_remote_peer(caller);
    }

    /// A RESULT or ERROR from a callee of another node, for `session` here. A final one
    /// ends the caller's half of the call; one for a call that ended already is dropped.
    pub fn reply_from_node(&self, session: Id, msg: Message) {
        let mut st = self.state.lock();
        let (request, last) = match &msg {
            Message::Result {
                request, details, ..
            } => (
                *request,
                details.get("progress").and_then(Value::as_bool) != Some(true),
            ),
            Message::Error { request, .. } => (*request, true),
            _ => return,
        };
        let Some(invocation) = st.calls.invocation_of(session, request) else {
            tracing::debug!(session, request, "answer for a call that ended; dropped");
            return;
        };
        if last {
            st.calls.take(invocation);
        }
        st.send(session, msg);
    }

    /// Applies a registration record of the cluster (from the watch), unless a newer
    /// revision of it is applied already.
    pub fn mirror_registration(
        &self,
        registry: &crate::cluster::Registry,
        key: &str,
        revision: u64,
        mirror: &Mirror,
    ) {
        let mut st = self.state.lock();
        if registry.take_turn(key, revision) {
            let mirrored = st.routing.mirror_registration(mirror, None);
            st.registrations_taken(mirrored, mirror.id);
        }
    }

    /// Another node left the cluster: calls to its callees fail with
    /// `wamp.error.canceled`, its callers' calls here end (their callees are
    /// interrupted), and its callees leave the registrations.
    pub fn node_gone(&self, node: NodeRef) {
        let mut st = self.state.lock();
        let gone = st.routing.node_gone(node);
        if !gone.is_empty() {
            tracing::info!(
                realm = self.name,
                registrations = gone.len(),
                "registrations of a gone node removed"
            );
        }
        st.end_calls_crossing_to(node, "the callee's router node left the cluster");
    }

    /// Messages between this node and another were lost (it reconnected to NATS, or
    /// envelopes went missing): the calls to its callees fail with `wamp.error.canceled`
    /// and its callers' calls here end (their callees are interrupted); its registrations
    /// stay.
    pub fn node_lost_messages(&self, node: NodeRef) {
        let text = "messages between the router nodes were lost (NATS is at most once)";
        self.state.lock().end_calls_crossing_to(node, text);
    }
}

impl State {
    /// Ends the calls between this node and `node`: calls to its callees fail with
    /// `wamp.error.canceled` (`text`), and its callers' calls here end.
    fn end_calls_crossing_to(&mut self, node: NodeRef, text: &str) {
        for p in self.calls.take_remote(node) {
            let reply = error_reply(code::CALL, p.caller_request, error::CANCELED, text);
            self.send(p.caller, reply);
        }
        let callers: Vec<Id> = self
            .remote_peers
            .iter()
            .filter(|(_, (n, _))| *n == node)
            .map(|(id, _)| *id)
            .collect();
        for caller in callers {
            self.drop_remote_peer(caller);
        }
    }
}

impl Realm {
    /// NATS was lost: the calls that cross nodes fail now rather than hang (their
    /// messages may be lost), callers here hearing `wamp.error.canceled` and callees here
    /// an INTERRUPT.
    pub fn cluster_calls_lost(&self) {
        let mut st = self.state.lock();
        for invocation in st.calls.remote_ids() {
            if let Some(p) = st.calls.take(invocation) {
                let text = "the connection between the router nodes was lost";
                let reply = error_reply(code::CALL, p.caller_request, error::CANCELED, text);
                st.send(p.caller, reply);
            }
        }
        let callers: Vec<Id> = st.remote_peers.keys().copied().collect();
        for caller in callers {
            st.drop_remote_peer(caller);
        }
    }

    /// Forgets the callees of `nodes` (the registrations are loaded again).
    pub fn forget_remote_callees(&self, nodes: Vec<NodeRef>) {
        let mut st = self.state.lock();
        for node in nodes {
            st.routing.node_gone(node);
        }
    }

    /// Ends every session of this realm with GOODBYE `reason`: the cluster took this
    /// node as dead, so the other nodes said already that they left, and the meta events
    /// of their leaving go to this node's subscribers only.
    pub fn end_sessions(&self, reason: &str) {
        let mut st = self.state.lock();
        let ids: Vec<Id> = st.sessions.keys().copied().collect();
        let mut why = wamp_runtime::proto::Dict::new();
        why.insert("reason".into(), Value::Str(reason.to_owned()));
        st.meta_here_only = true;
        if let Err((_, e)) = st.kill(&ids, &why) {
            tracing::warn!("sessions not ended: {e}");
        }
        st.meta_here_only = false;
    }

    /// Subscription `id` went from the cluster when this node's last subscriber to it,
    /// `session`, left: its `on_delete` meta event.
    pub fn subscription_deleted(&self, session: Id, id: Id) {
        let pair = vec![Value::from(session), Value::from(id)];
        let st = self.state.lock();
        st.meta_event("wamp.subscription.on_delete", pair);
    }

    /// Sessions of another node that died (of every realm: those of this one are taken):
    /// `wamp.session.on_leave` for each, to this node's subscribers only (every node
    /// tells its own).
    pub fn sessions_left_elsewhere(&self, left: &[(Id, crate::cluster::SessionRecord)]) {
        let st = self.state.lock();
        for (id, r) in left.iter().filter(|(_, r)| r.realm == self.name) {
            let args = vec![
                Value::from(*id),
                Value::Str(r.authid.clone()),
                Value::Str(r.authrole.clone()),
            ];
            let payload = wamp_runtime::proto::Payload::args(args);
            st.meta_event_where("wamp.session.on_leave", payload, |_| true);
        }
    }

    /// Subscribers of a node that died (`left`: its sessions, of every realm), taken off
    /// `subscription` by this node's edit of its record (of the survivors racing to do
    /// it, one does): `wamp.subscription.on_unsubscribe` for each, and `on_delete` if it
    /// went (with session 0 if none of them was known to hold it), for the whole cluster.
    pub fn subscribers_of_gone_node(
        &self,
        left: &[(Id, crate::cluster::SessionRecord)],
        subscription: Id,
        deleted: bool,
    ) {
        let held = |r: &crate::cluster::SessionRecord| {
            r.realm == self.name && r.subscriptions.contains(&subscription)
        };
        let holders: Vec<Id> = left
            .iter()
            .filter(|(_, r)| held(r))
            .map(|(id, _)| *id)
            .collect();
        let st = self.state.lock();
        for (i, holder) in holders.iter().enumerate() {
            let last = deleted && i + 1 == holders.len();
            let change = super::Change {
                id: subscription,
                first_or_last: last,
            };
            st.subscription_events(*holder, change, false);
        }
        if deleted && holders.is_empty() {
            let pair = vec![Value::from(0u64), Value::from(subscription)];
            st.meta_event("wamp.subscription.on_delete", pair);
        }
    }

    /// Callees of a node that died, taken off `registration` by this node's edit of its
    /// record (of the survivors racing to do it, one does): the meta events, for the
    /// whole cluster.
    pub fn callees_of_gone_node(&self, callees: &[Id], registration: Id, deleted: bool) {
        let st = self.state.lock();
        for (i, callee) in callees.iter().enumerate() {
            st.callee_left_events(*callee, registration, deleted && i + 1 == callees.len());
        }
    }

    /// The patterns this realm's sessions subscribe to, with their subscription IDs.
    pub fn local_patterns(&self) -> Vec<(Id, String, MatchPolicy)> {
        let st = self.state.lock();
        let subs = st.routing.subscriptions().all();
        subs.map(|(id, s)| (id, s.topic.clone(), s.policy))
            .collect()
    }

    /// The registrations of this realm's sessions, each callee on its own.
    pub fn local_callees(&self) -> Vec<LocalCallee> {
        let st = self.state.lock();
        let regs = st.routing.registrations().all();
        regs.flat_map(|(id, r)| {
            let local = r.callees.iter().filter(|c| c.node.is_local());
            local.map(move |c| (id, r.procedure.clone(), r.policy, r.invoke, *c))
        })
        .collect()
    }
}

/// A callee of this node in one registration: the registration's ID, procedure (or
/// pattern), match and invocation policy.
pub(crate) type LocalCallee = (
    Id,
    String,
    MatchPolicy,
    crate::dealer::Invoke,
    crate::dealer::Callee,
);
