//! Calls across nodes. A call whose callee is on another node has two halves: the
//! caller's node keeps the caller's half (the caller's request, for CANCEL, its limit of
//! calls in flight, and its leaving), the callee's node runs the call as it runs a local
//! one, with the caller as a session of another node whose outbox sends RESULT and ERROR
//! back ([`ToNode`]). So the callee's node gives the INVOCATION IDs, keeps the timeout,
//! and answers cancels in all three modes with the code a single router runs.
//!
//! Also here: a REGISTER that waits for the cluster's registration record
//! ([`RegisterClaim`]), and the envelopes of calls, both ways.

use std::sync::Arc;

use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::{
    code, CallOptions, CancelMode, Dict, Id, InvokePolicy, Message, Payload, Value,
};

use super::envelope::{self, Envelope, Kind};
use super::registry::{self, CalleeRecord, JoinError, Joining, Mirror};
use super::{Bucket, NodeRef, RealmLink};
use crate::dealer::Callee;
use crate::outbox::{Outbox, RemoteSink};

/// A call from a session of another node, for a callee here.
#[derive(Debug)]
pub(crate) struct RemoteCall {
    /// The caller's node.
    pub from: NodeRef,
    pub caller: Id,
    pub caller_request: Id,
    pub callee: Id,
    pub registration: Id,
    /// The INVOCATION's details as the caller's node made them (caller disclosure, the
    /// procedure of a pattern, a forwarded timeout, `receive_progress`).
    pub details: Dict,
    pub options: CallOptions,
    pub authid: String,
    pub authrole: String,
    /// The caller takes opaque payloads (payload passthru mode).
    pub caller_passthru: bool,
    pub payload: Payload,
}

/// What crosses to a callee's node for one call: [`RealmLink::call`].
pub(crate) struct OutgoingCall<'a> {
    pub caller: Id,
    pub caller_request: Id,
    pub callee: Id,
    pub registration: Id,
    pub details: &'a Dict,
    pub options: &'a CallOptions,
    pub authid: &'a str,
    pub authrole: &'a str,
    pub caller_passthru: bool,
    pub payload: &'a Payload,
}

/// A REGISTER on its way into the cluster's record.
#[derive(Debug)]
pub(crate) struct RegisterClaim {
    link: RealmLink,
    procedure: String,
    policy: MatchPolicy,
    invoke: InvokePolicy,
    callee: CalleeRecord,
    /// `force_reregister`: take the registration from whoever holds it.
    force: bool,
}

/// A settled REGISTER: the registration as the record now says, its key and revision.
#[derive(Debug)]
pub(crate) struct Registered {
    pub mirror: Mirror,
    pub key: String,
    pub revision: u64,
}

impl RegisterClaim {
    /// Writes the callee into the record and waits until every live node knows.
    pub async fn settle(&self) -> Result<Registered, JoinError> {
        let node = &self.link.node;
        node.reachable(&node.registry.records)?;
        let (record, revision) = node
            .registry
            .join(
                &self.link.realm,
                self.policy,
                &self.procedure,
                self.invoke,
                self.callee.clone(),
                |n| node.members.is_gone(n),
                if self.force {
                    Joining::Force
                } else {
                    Joining::New
                },
                node.fresh_id(),
            )
            .await?;
        node.barrier(Bucket::Registrations, revision).await;
        Ok(Registered {
            mirror: node.mirror_of(&record, true, revision),
            key: registry::key(&self.link.realm, self.policy, &self.procedure),
            revision,
        })
    }

    /// The session registering.
    pub fn session(&self) -> Id {
        self.callee.session
    }

    /// What is registered: the procedure (or pattern), its match and invocation policy.
    pub fn procedure(&self) -> (&str, MatchPolicy, InvokePolicy) {
        (&self.procedure, self.policy, self.invoke)
    }

    /// The realm's link.
    pub fn link(&self) -> &RealmLink {
        &self.link
    }
}

/// The outbox of a session of another node: RESULT and ERROR go to its node.
#[derive(Debug)]
struct ToNode {
    link: RealmLink,
    node: NodeRef,
}

impl RemoteSink for ToNode {
    fn push(&self, session: Id, msg: Message) {
        let mut meta = self.link.meta();
        meta.insert("session".into(), Value::from(session));
        let payload = match msg {
            Message::Result {
                request,
                details,
                payload,
            } => {
                meta.insert("request".into(), Value::from(request));
                meta.insert("details".into(), Value::Dict(details));
                payload
            }
            Message::Error {
                request_type,
                request,
                details,
                error,
                payload,
            } => {
                meta.insert("request_type".into(), Value::from(request_type));
                meta.insert("request".into(), Value::from(request));
                meta.insert("details".into(), Value::Dict(details));
                meta.insert("error".into(), Value::Str(error));
                payload
            }
            other => {
                tracing::debug!(session, "{} is not sent to another node", other.name());
                return;
            }
        };
        self.link.send(self.node, Kind::Reply, &meta, &payload);
    }
}

/// `CALL.Options` as the callee's node needs them (progress, timeout, passthru keys).
fn options_dict(o: &CallOptions) -> Dict {
    let mut d = Dict::new();
    if o.timeout > 0 {
        d.insert("timeout".into(), Value::from(o.timeout));
    }
    if o.receive_progress {
        d.insert("receive_progress".into(), Value::Bool(true));
    }
    if o.progress {
        d.insert("progress".into(), Value::Bool(true));
    }
    o.passthru.apply(&mut d);
    d
}

impl RealmLink {
    /// The metadata every envelope of this realm starts with.
    fn meta(&self) -> Dict {
        let mut meta = Dict::new();
        meta.insert("realm".into(), Value::Str(self.realm.to_string()));
        meta
    }

    /// Queues one envelope for `node`.
    fn send(&self, node: NodeRef, kind: Kind, meta: &Dict, payload: &Payload) {
        let Some(name) = self.node.node_name(node) else {
            return;
        };
        match envelope::body(kind, meta, payload) {
            Ok(body) => self.node.outbound.push(name, body),
            Err(e) => tracing::warn!("cluster: {kind:?} not sent: {e}"),
        }
    }

    /// The outbox of session `session` of `node`, for the calls it makes here.
    pub fn outbox_to(&self, node: NodeRef) -> Outbox {
        Outbox::remote(Arc::new(ToNode {
            link: self.clone(),
            node,
        }))
    }

    /// The name of `node`, for logs and the meta API.
    pub fn name_of(&self, node: NodeRef) -> String {
        self.node
            .node_name(node)
            .map_or_else(String::new, |n| n.to_string())
    }

    /// Sends a call to the callee's node.
    pub fn call(&self, node: NodeRef, c: &OutgoingCall<'_>) {
        let mut meta = self.meta();
        meta.insert("caller".into(), Value::from(c.caller));
        meta.insert("caller_request".into(), Value::from(c.caller_request));
        meta.insert("callee".into(), Value::from(c.callee));
        meta.insert("registration".into(), Value::from(c.registration));
        meta.insert("details".into(), Value::Dict(c.details.clone()));
        meta.insert("options".into(), Value::Dict(options_dict(c.options)));
        meta.insert("authid".into(), Value::Str(c.authid.to_owned()));
        meta.insert("authrole".into(), Value::Str(c.authrole.to_owned()));
        meta.insert("caller_passthru".into(), Value::Bool(c.caller_passthru));
        self.send(node, Kind::Call, &meta, c.payload);
    }

    /// Sends the next part of a progressive call invocation to the callee's node.
    pub fn continue_call(
        &self,
        node: NodeRef,
        caller: Id,
        request: Id,
        options: &CallOptions,
        payload: &Payload,
    ) {
        let mut meta = self.meta();
        meta.insert("caller".into(), Value::from(caller));
        meta.insert("caller_request".into(), Value::from(request));
        meta.insert("options".into(), Value::Dict(options_dict(options)));
        self.send(node, Kind::Continue, &meta, payload);
    }

    /// Passes a caller's CANCEL to the callee's node.
    pub fn cancel(&self, node: NodeRef, caller: Id, request: Id, mode: CancelMode) {
        let mut meta = self.meta();
        meta.insert("caller".into(), Value::from(caller));
        meta.insert("caller_request".into(), Value::from(request));
        meta.insert("mode".into(), Value::Str(mode.as_str().into()));
        self.send(node, Kind::Cancel, &meta, &Payload::empty());
    }

    /// Tells `node` that `caller`, which has calls there, left.
    pub fn caller_gone(&self, node: NodeRef, caller: Id) {
        let mut meta = self.meta();
        meta.insert("caller".into(), Value::from(caller));
        self.send(node, Kind::CallerGone, &meta, &Payload::empty());
    }

    /// A REGISTER of `callee` to settle with the cluster.
    pub fn register(
        &self,
        procedure: &str,
        policy: MatchPolicy,
        invoke: InvokePolicy,
        callee: &Callee,
        force: bool,
    ) -> RegisterClaim {
        RegisterClaim {
            link: self.clone(),
            procedure: procedure.to_owned(),
            policy,
            invoke,
            callee: CalleeRecord::of(&self.node.name, callee),
            force,
        }
    }

    /// Notes that revision `revision` of registration record `key` is applied here: false
    /// if a newer one was already (then it is not applied). Call under the realm's lock.
    pub fn take_turn(&self, key: &str, revision: u64) -> bool {
        self.node.registry.take_turn(key, revision)
    }

    /// The latest version of registration record `key` the watch saw.
    pub fn latest(&self, key: &str) -> Option<Mirror> {
        let (record, revision) = self.node.registry.latest(key)?;
        Some(self.node.mirror_of(&record, true, revision))
    }

    /// Takes `session` off the cluster's record of `(policy, procedure)`.
    pub async fn unregister(&self, procedure: &str, policy: MatchPolicy, session: Id) {
        let key = registry::key(&self.realm, policy, procedure);
        let leave = self
            .node
            .registry
            .leave(&key, &self.node.name, Some(session));
        if let Err(e) = leave.await {
            tracing::warn!(procedure, "cluster: registration record not updated: {e}");
        }
    }

    /// [`RealmLink::unregister`] in the background (a session that left).
    pub fn unregistered(&self, procedure: &str, policy: MatchPolicy, session: Id) {
        let link = self.clone();
        let procedure = procedure.to_owned();
        self.node.tasks.spawn(async move {
            link.unregister(&procedure, policy, session).await;
        });
    }
}

/// The pieces of a call envelope a node reads.
pub(super) struct Fields<'a>(pub &'a Dict);

impl Fields<'_> {
    pub fn id(&self, k: &str) -> Option<Id> {
        self.0.get(k).and_then(Value::as_u64)
    }

    pub fn text(&self, k: &str) -> Option<String> {
        self.0.get(k).and_then(Value::as_str).map(str::to_owned)
    }

    pub fn dict(&self, k: &str) -> Dict {
        self.0
            .get(k)
            .and_then(Value::as_dict)
            .cloned()
            .unwrap_or_default()
    }

    pub fn flag(&self, k: &str) -> bool {
        self.0.get(k).and_then(Value::as_bool) == Some(true)
    }

    pub fn options(&self) -> Option<CallOptions> {
        CallOptions::parse(&self.dict("options")).ok()
    }
}

/// The RESULT or ERROR of a reply envelope, and the session it is for.
pub(super) fn reply(e: Envelope) -> Option<(Id, Message)> {
    let f = Fields(&e.meta);
    let session = f.id("session")?;
    let request = f.id("request")?;
    let details = f.dict("details");
    let msg = match f.text("error") {
        None => Message::Result {
            request,
            details,
            payload: e.payload,
        },
        Some(error) => Message::Error {
            request_type: f.id("request_type").unwrap_or(code::CALL),
            request,
            details,
            error,
            payload: e.payload,
        },
    };
    Some((session, msg))
}
