//! What arrives on this node's subject: envelopes from the other nodes, in batches (one
//! NATS message carries what its sender had queued for this node), taken in the order
//! they arrive (one task, so a sender's order is kept), and barrier requests.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::StreamExt;
use wamp_runtime::proto::{CancelMode, Dict, Payload, PublishOptions, Value};

use super::envelope::{unbatch, Envelope, Kind};
use super::remote::{reply, Fields};
use super::RemoteCall;
use super::{Bucket, Node, RemoteEvent, BARRIER_WAIT};

/// Takes everything sent to this node until the subscription ends.
pub(super) async fn serve(node: Arc<Node>, mut sub: async_nats::Subscriber) {
    let own = format!("{}.n.{}.", node.prefix, node.name);
    while let Some(msg) = sub.next().await {
        let Some(rest) = msg.subject.as_str().strip_prefix(&own) else {
            continue;
        };
        if rest == "b" {
            barrier(&node, msg);
        } else if rest == "m" {
            super::meta::answer(&node, msg);
        } else if let Some(from) = rest.strip_prefix("e.") {
            for frame in unbatch(msg.payload) {
                let envelope = match frame.and_then(Envelope::decode) {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::warn!(from, "cluster: envelope dropped: {e}");
                        continue;
                    }
                };
                node.received.fetch_add(1, Ordering::Relaxed);
                if let Some(missed) = node.arrived.take(from, envelope.sequence) {
                    node.lost.fetch_add(missed, Ordering::Relaxed);
                    tracing::warn!(
                        from,
                        missed,
                        "cluster: envelopes lost on the way (NATS is at most once)"
                    );
                    node.missed_envelopes_from(from);
                }
                deliver(&node, from, envelope);
            }
        }
    }
}

/// Answers a barrier once the subscription mirror applied the revision asked for.
fn barrier(node: &Arc<Node>, msg: async_nats::Message) {
    let Some(reply) = msg.reply else { return };
    let (bucket, revision) = match msg.payload.split_first() {
        Some((b, rest)) => (*b, <[u8; 8]>::try_from(rest).map_or(0, u64::from_be_bytes)),
        None => (0, 0),
    };
    let node2 = node.clone();
    node.tasks.spawn(async move {
        let applied = if bucket == Bucket::Registrations as u8 {
            node2.registry.applied(revision, BARRIER_WAIT).await
        } else {
            node2.interest.applied(revision, BARRIER_WAIT).await
        };
        if !applied {
            tracing::warn!(revision, "cluster barrier: revision not applied in time");
        }
        if let Err(e) = node2.client.publish(reply, bytes::Bytes::new()).await {
            tracing::debug!("cluster barrier: {e}");
        }
    });
}

fn text(meta: &Dict, key: &str) -> Option<String> {
    meta.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The event an event envelope carries.
pub(super) fn remote_event(meta: &Dict, payload: Payload) -> Option<RemoteEvent> {
    let id = |k: &str| meta.get(k).and_then(Value::as_u64);
    let empty = Dict::new();
    let dict = |k: &str| meta.get(k).and_then(Value::as_dict);
    let filter = PublishOptions::parse(dict("filter").unwrap_or(&empty)).ok()?;
    Some(RemoteEvent {
        topic: text(meta, "topic")?,
        publication: id("publication")?,
        publisher: id("publisher")?,
        identity: dict("details").cloned().unwrap_or_default(),
        filter,
        passthru: meta.get("passthru").and_then(Value::as_bool) == Some(true),
        payload,
    })
}

/// The call a call envelope from node `from` carries.
fn remote_call(node: &Node, from: &str, meta: &Dict, payload: Payload) -> Option<RemoteCall> {
    let f = Fields(meta);
    Some(RemoteCall {
        from: node.node_ref(from),
        caller: f.id("caller")?,
        caller_request: f.id("caller_request")?,
        callee: f.id("callee")?,
        registration: f.id("registration")?,
        details: f.dict("details"),
        options: f.options()?,
        authid: f.text("authid").unwrap_or_default(),
        authrole: f.text("authrole").unwrap_or_default(),
        caller_passthru: f.flag("caller_passthru"),
        payload,
    })
}

fn deliver(node: &Node, from: &str, e: Envelope) {
    let Some(realm) = text(&e.meta, "realm").and_then(|r| node.realm(&r)) else {
        tracing::debug!("cluster: envelope for a realm not served here");
        return;
    };
    match e.kind {
        Kind::Event => match remote_event(&e.meta, e.payload) {
            Some(event) => realm.deliver_remote(event),
            None => tracing::warn!("cluster: malformed event envelope dropped"),
        },
        Kind::Call => match remote_call(node, from, &e.meta, e.payload) {
            Some(call) => realm.call_from_node(call),
            None => tracing::warn!("cluster: malformed call envelope dropped"),
        },
        Kind::Continue => {
            let f = Fields(&e.meta);
            match (f.id("caller"), f.id("caller_request"), f.options()) {
                (Some(caller), Some(request), Some(options)) => {
                    realm.continue_from_node(caller, request, &options, e.payload);
                }
                _ => tracing::warn!("cluster: malformed call part dropped"),
            }
        }
        Kind::Cancel => {
            let f = Fields(&e.meta);
            let mode = f.text("mode").and_then(|m| CancelMode::parse(&m));
            match (f.id("caller"), f.id("caller_request"), mode) {
                (Some(caller), Some(request), Some(mode)) => {
                    realm.cancel_from_node(caller, request, mode);
                }
                _ => tracing::warn!("cluster: malformed cancel dropped"),
            }
        }
        Kind::Reply => match reply(e) {
            Some((session, msg)) => realm.reply_from_node(session, msg),
            None => tracing::warn!("cluster: malformed reply dropped"),
        },
        Kind::CallerGone => match Fields(&e.meta).id("caller") {
            Some(caller) => realm.caller_gone(caller),
            None => tracing::warn!("cluster: malformed caller-gone dropped"),
        },
    }
}
