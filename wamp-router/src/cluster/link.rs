//! A realm's handle on the cluster: what it calls under its lock (forward an event, share
//! a retained one, draw a session ID) and around it (make and end this node's interest
//! in a subscription). Calls across nodes and REGISTER are in [`super::remote`].

use std::sync::Arc;

use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::{Dict, Id, Payload, PublishOptions, Value};

use super::envelope::{self, Kind};
use super::fields::Writer;
use super::interest::{self, Joined, RemoteIndex};
use super::Node;

/// An event published on another node, for this node's subscribers.
#[derive(Debug)]
pub(crate) struct RemoteEvent {
    pub topic: String,
    pub publication: Id,
    pub publisher: Id,
    /// The details every EVENT carries (the publisher when disclosed, passthru keys).
    pub identity: Dict,
    /// The publisher's black- and white-lists, and `exclude_me`.
    pub filter: PublishOptions,
    /// The payload is opaque (payload passthru mode).
    pub passthru: bool,
    pub payload: Payload,
}

impl RemoteEvent {
    /// The event as the fan-out takes it.
    pub fn as_ref(&self) -> EventRef<'_> {
        EventRef {
            topic: &self.topic,
            publication: self.publication,
            publisher: self.publisher,
            identity: &self.identity,
            filter: &self.filter,
            passthru: self.passthru,
            payload: &self.payload,
        }
    }

    /// Its topic, and the publication as a retained event (or the history) keeps it.
    pub fn into_kept(self) -> (String, crate::broker::Retained) {
        let kept = crate::broker::Retained {
            publication: self.publication,
            publisher: self.publisher,
            identity: self.identity,
            options: self.filter,
            passthru: self.passthru,
            payload: self.payload,
        };
        (self.topic, kept)
    }
}

/// A publication on its way to subscribers, here or on other nodes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventRef<'a> {
    pub topic: &'a str,
    pub publication: Id,
    pub publisher: Id,
    /// The details every EVENT carries (the publisher when disclosed, passthru keys).
    pub identity: &'a Dict,
    /// The publisher's black- and white-lists, and `exclude_me`.
    pub filter: &'a PublishOptions,
    /// The payload is opaque (payload passthru mode).
    pub passthru: bool,
    pub payload: &'a Payload,
}

/// A realm's handle on its node.
#[derive(Debug, Clone)]
pub(crate) struct RealmLink {
    pub(super) node: Arc<Node>,
    pub(super) realm: Arc<str>,
    remote: Arc<parking_lot::Mutex<RemoteIndex>>,
}

/// A local subscription being made: until it is dropped, this node stays in the
/// subscription's record whatever else happens here. [`SubscribeClaim::settle`] puts it
/// there.
#[derive(Debug)]
pub(crate) struct SubscribeClaim {
    link: RealmLink,
    key: String,
    topic: String,
    policy: MatchPolicy,
}

impl Drop for SubscribeClaim {
    fn drop(&mut self) {
        self.link.node.interest.settled(&self.key);
    }
}

impl SubscribeClaim {
    /// Puts this node in the subscription's record and waits until every live node knows:
    /// the subscription's cluster-wide ID, and whether it is new in the cluster.
    pub async fn settle(&self) -> Result<Joined, String> {
        let node = &self.link.node;
        node.reachable(node.interest.records())
            .map_err(|e| e.to_string())?;
        let joined = node
            .interest
            .join(&self.link.realm, self.policy, &self.topic, node.fresh_id())
            .await
            .map_err(|e| e.to_string())?;
        if let Some(revision) = joined.written {
            node.barrier(super::Bucket::Subscriptions, revision).await;
        }
        Ok(joined)
    }
}

fn list_of<T: Clone>(l: &Option<Vec<T>>, v: impl Fn(T) -> Value) -> Option<Value> {
    l.as_ref()
        .map(|l| Value::List(l.iter().cloned().map(v).collect()))
}

/// The black- and white-lists of `o`, as `PUBLISH.Options` a receiving node can parse
/// (`exclude_me` travels apart).
fn filter_dict(o: &PublishOptions) -> Dict {
    let mut d = Dict::new();
    let ids = [("exclude", &o.exclude), ("eligible", &o.eligible)];
    for (k, l) in ids {
        if let Some(v) = list_of(l, Value::from) {
            d.insert(k.into(), v);
        }
    }
    let names = [
        ("exclude_authid", &o.exclude_authid),
        ("exclude_authrole", &o.exclude_authrole),
        ("eligible_authid", &o.eligible_authid),
        ("eligible_authrole", &o.eligible_authrole),
    ];
    for (k, l) in names {
        if let Some(v) = list_of(l, Value::Str) {
            d.insert(k.into(), v);
        }
    }
    d
}

impl RealmLink {
    pub(super) fn new(node: Arc<Node>, realm: &str) -> Self {
        Self {
            remote: node.interest.mirror(realm),
            node,
            realm: Arc::from(realm),
        }
    }

    /// Session `id` joined this realm here: its record lets the other nodes say it left
    /// if this node dies.
    pub fn session_joined(&self, id: Id, authid: &str, authrole: &str) {
        let record = super::sessions::Record {
            node: self.node.name.to_string(),
            realm: self.realm.to_string(),
            authid: authid.to_owned(),
            authrole: authrole.to_owned(),
            subscriptions: Vec::new(),
        };
        self.node.sessions.joined(id, record);
    }

    /// Session `session` of this node holds subscription `id` now (or again).
    pub fn session_subscribed(&self, session: Id, id: Id) {
        self.node.sessions.subscribed(session, id);
    }

    /// Session `session` of this node left subscription `id`.
    pub fn session_unsubscribed(&self, session: Id, id: Id) {
        self.node.sessions.unsubscribed(session, id);
    }

    /// Session `id` of this node left this realm.
    pub fn session_left(&self, id: Id) {
        self.node.sessions.left(id);
    }

    /// A new session ID, unique in the cluster.
    pub fn session_id(&self) -> Id {
        self.node.fresh_id()
    }

    /// Sends an event published here to every other node with subscribers it reaches:
    /// one envelope per node, queued in decision order. Called under the realm's lock.
    pub fn forward_event(&self, event: &EventRef<'_>) {
        let nodes = self.remote.lock().nodes_for(event.topic);
        if nodes.is_empty() {
            return;
        }
        match self.event_body(event) {
            Ok(body) => {
                for n in nodes {
                    self.node.outbound.push(n, body.clone());
                }
            }
            Err(e) => tracing::warn!(topic = event.topic, "cluster: event not forwarded: {e}"),
        }
    }

    /// Shares an event retained here with the other nodes, present and future: the
    /// retained bucket keeps it as the envelope the event would cross in.
    pub fn retained(&self, topic: &str, r: &crate::broker::Retained) {
        let event = EventRef {
            topic,
            publication: r.publication,
            publisher: r.publisher,
            identity: &r.identity,
            filter: &r.options,
            passthru: r.passthru,
            payload: &r.payload,
        };
        let frame = match self.event_body(&event) {
            Ok(body) => envelope::frame(&body, 0),
            Err(e) => {
                tracing::warn!(topic, "cluster: retained event not shared: {e}");
                return;
            }
        };
        let key = super::store::key(&[&self.realm, topic]);
        let node = self.node.clone();
        let topic = topic.to_owned();
        self.node.tasks.spawn(async move {
            if let Err(e) = node.retained.kv.put(key, frame).await {
                tracing::warn!(topic, "cluster: retained event not shared: {e}");
            }
        });
    }

    /// An event's envelope: realm, topic, publication, publisher, the details every
    /// EVENT carries, the publisher's `exclude_me` and lists, passthru
    /// ([`super::inbound::remote_event`] reads it).
    fn event_body(&self, event: &EventRef<'_>) -> Result<envelope::Body, String> {
        let mut meta = Writer::new(&self.realm);
        meta.text(event.topic)
            .id(event.publication)
            .id(event.publisher)
            .dict(event.identity)?
            .flag(event.filter.exclude_me)
            .dict(&filter_dict(event.filter))?
            .flag(event.passthru);
        envelope::body(Kind::Event, meta, event.payload)
    }

    /// Starts making this node's first local subscription to `(policy, topic)`.
    pub fn claim(&self, topic: &str, policy: MatchPolicy) -> SubscribeClaim {
        let key = interest::key(&self.realm, policy, topic);
        self.node.interest.begin(&key);
        SubscribeClaim {
            link: self.clone(),
            key,
            topic: topic.to_owned(),
            policy,
        }
    }

    /// This node's last local subscriber to `(policy, topic)`, `session`, left
    /// subscription `id`: the record loses the node, unless a subscriber came back
    /// meanwhile, and if it was the last node the subscription is deleted (its
    /// `on_delete` meta event). Runs in the background.
    pub fn unsubscribed(&self, topic: &str, policy: MatchPolicy, session: Id, id: Id) {
        let key = interest::key(&self.realm, policy, topic);
        let node = self.node.clone();
        let (realm, topic) = (self.realm.clone(), topic.to_owned());
        self.node.tasks.spawn(async move {
            let keep = || {
                node.realm(&realm)
                    .is_some_and(|r| r.has_local_subscription(&topic, policy))
            };
            match node.interest.leave(&key, &node.name, keep).await {
                Ok(Some(left)) if left.deleted => {
                    if let Some(realm) = node.realm(&realm) {
                        realm.subscription_deleted(session, id);
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(topic, "cluster: subscription record not updated: {e}"),
            }
        });
    }
}
