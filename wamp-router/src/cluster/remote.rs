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
    CallOptions, CancelMode, Dict, Id, InvokePolicy, Message, Payload, Value,
};

use super::envelope::{self, EnvelopeError, Kind};
use super::fields::{Reader, Writer};
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
        // realm, session, request, details, then whether it is an ERROR (and if so its
        // request type and URI).
        let (request, details, error, payload) = match msg {
            Message::Result {
                request,
                details,
                payload,
            } => (request, details, None, payload),
            Message::Error {
                request_type,
                request,
                details,
                error,
                payload,
            } => (request, details, Some((request_type, error)), payload),
            other => {
                tracing::debug!(session, "{} is not sent to another node", other.name());
                return;
            }
        };
        let mut meta = Writer::new(&self.link.realm);
        meta.id(session).id(request);
        if let Err(e) = meta.dict(&details) {
            return tracing::warn!(session, "cluster: reply not sent: {e}");
        }
        match &error {
            None => meta.flag(false),
            Some((request_type, uri)) => meta.flag(true).id(*request_type).text(uri),
        };
        self.link.send(self.node, Kind::Reply, meta, &payload);
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
    /// Queues one envelope for `node`.
    fn send(&self, node: NodeRef, kind: Kind, meta: Writer, payload: &Payload) {
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

    /// Sends a call to the callee's node: realm, caller, its request, callee,
    /// registration, details, options, authid, authrole, caller passthru.
    pub fn call(&self, node: NodeRef, c: &OutgoingCall<'_>) {
        let mut meta = Writer::new(&self.realm);
        meta.id(c.caller)
            .id(c.caller_request)
            .id(c.callee)
            .id(c.registration);
        let written = meta
            .dict(c.details)
            .and_then(|m| m.dict(&options_dict(c.options)))
            .map(|m| m.text(c.authid).text(c.authrole).flag(c.caller_passthru));
        match written {
            Ok(_) => self.send(node, Kind::Call, meta, c.payload),
            Err(e) => tracing::warn!("cluster: call not sent: {e}"),
        }
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
        // realm, caller, its request, options.
        let mut meta = Writer::new(&self.realm);
        meta.id(caller).id(request);
        match meta.dict(&options_dict(options)) {
            Ok(_) => self.send(node, Kind::Continue, meta, payload),
            Err(e) => tracing::warn!("cluster: call part not sent: {e}"),
        }
    }

    /// Passes a caller's CANCEL to the callee's node.
    pub fn cancel(&self, node: NodeRef, caller: Id, request: Id, mode: CancelMode) {
        // realm, caller, its request, mode.
        let mut meta = Writer::new(&self.realm);
        meta.id(caller).id(request).text(mode.as_str());
        self.send(node, Kind::Cancel, meta, &Payload::empty());
    }

    /// Tells `node` that `caller`, which has calls there, left.
    pub fn caller_gone(&self, node: NodeRef, caller: Id) {
        // realm, caller.
        let mut meta = Writer::new(&self.realm);
        meta.id(caller);
        self.send(node, Kind::CallerGone, meta, &Payload::empty());
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

/// The call a call envelope from node `from` carries (its fields after the realm).
pub(super) fn call(
    from: NodeRef,
    r: &mut Reader<'_>,
    payload: Payload,
) -> Result<RemoteCall, EnvelopeError> {
    Ok(RemoteCall {
        from,
        caller: r.id()?,
        caller_request: r.id()?,
        callee: r.id()?,
        registration: r.id()?,
        details: r.dict()?,
        options: call_options(r)?,
        authid: r.text()?.to_owned(),
        authrole: r.text()?.to_owned(),
        caller_passthru: r.flag()?,
        payload,
    })
}

/// The `CALL.Options` of a call envelope.
pub(super) fn call_options(r: &mut Reader<'_>) -> Result<CallOptions, EnvelopeError> {
    CallOptions::parse(&r.dict()?).map_err(|e| EnvelopeError::Meta(e.to_string()))
}

/// The caller, its request and the options of a call part's envelope (its fields after
/// the realm).
pub(super) fn call_part(r: &mut Reader<'_>) -> Result<(Id, Id, CallOptions), EnvelopeError> {
    Ok((r.id()?, r.id()?, call_options(r)?))
}

/// The caller, its request and the mode of a cancel's envelope (its fields after the
/// realm).
pub(super) fn cancel(r: &mut Reader<'_>) -> Result<(Id, Id, CancelMode), EnvelopeError> {
    let (caller, request, mode) = (r.id()?, r.id()?, r.text()?);
    let mode = CancelMode::parse(mode)
        .ok_or_else(|| EnvelopeError::Meta(format!("cancel mode {mode:?}")))?;
    Ok((caller, request, mode))
}

/// The session a reply envelope is for, and its RESULT or ERROR (its fields after the
/// realm).
pub(super) fn reply(r: &mut Reader<'_>, payload: Payload) -> Result<(Id, Message), EnvelopeError> {
    let session = r.id()?;
    let request = r.id()?;
    let details = r.dict()?;
    let msg = match r.flag()? {
        false => Message::Result {
            request,
            details,
            payload,
        },
        true => Message::Error {
            request_type: r.id()?,
            request,
            details,
            error: r.text()?.to_owned(),
            payload,
        },
    };
    Ok((session, msg))
}
