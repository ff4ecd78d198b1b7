//! What arrives on this node's subject: envelopes from the other nodes, in batches (one
//! NATS message carries what its sender had queued for this node), taken in the order
//! they arrive (one task, so a sender's order is kept), and barrier requests.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::StreamExt;
use wamp_runtime::proto::{Payload, PublishOptions};

use super::envelope::{unbatch, Envelope, EnvelopeError, Kind};
use super::fields::Reader;
use super::remote;
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
                // A batch may hand hundreds of events to every local subscriber: the
                // task gives way as tokio's budget says (every 128 envelopes), so that
                // the writers sending them run and their queues do not overflow.
                tokio::task::consume_budget().await;
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

/// The event an event envelope carries (its fields after the realm): topic,
/// publication, publisher, the details every EVENT carries, the publisher's
/// `exclude_me` and lists, passthru.
pub(super) fn remote_event(
    r: &mut Reader<'_>,
    payload: Payload,
) -> Result<RemoteEvent, EnvelopeError> {
    let (topic, publication, publisher) = (r.text()?.to_owned(), r.id()?, r.id()?);
    let identity = r.dict()?;
    let exclude_me = r.flag()?;
    let mut filter =
        PublishOptions::parse(&r.dict()?).map_err(|e| EnvelopeError::Meta(e.to_string()))?;
    filter.exclude_me = exclude_me;
    Ok(RemoteEvent {
        topic,
        publication,
        publisher,
        identity,
        filter,
        passthru: r.flag()?,
        payload,
    })
}

fn deliver(node: &Node, from: &str, e: Envelope) {
    let Envelope {
        kind,
        meta,
        payload,
        ..
    } = e;
    let mut r = Reader::new(&meta);
    let Some(realm) = r.text().ok().and_then(|r| node.realm(r)) else {
        tracing::debug!("cluster: envelope for a realm not served here");
        return;
    };
    let done = match kind {
        Kind::Event => remote_event(&mut r, payload).map(|event| realm.deliver_remote(event)),
        Kind::Call => remote::call(node.node_ref(from), &mut r, payload)
            .map(|call| realm.call_from_node(call)),
        Kind::Continue => remote::call_part(&mut r).map(|(caller, request, options)| {
            realm.continue_from_node(caller, request, &options, payload)
        }),
        Kind::Cancel => remote::cancel(&mut r)
            .map(|(caller, request, mode)| realm.cancel_from_node(caller, request, mode)),
        Kind::Reply => {
            remote::reply(&mut r, payload).map(|(session, msg)| realm.reply_from_node(session, msg))
        }
        Kind::CallerGone => r.id().map(|caller| realm.caller_gone(caller)),
    };
    if let Err(e) = done {
        tracing::warn!(from, "cluster: malformed {kind:?} envelope dropped: {e}");
    }
}
