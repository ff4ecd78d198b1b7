//! Which nodes want the events of which topics.
//!
//! One record per subscription of the cluster (realm, match policy, topic pattern): the
//! nodes that have local subscribers to it, and its ID, which every node uses for it. A
//! node joins a record when it gets its first local subscriber to the pattern and leaves
//! it when its last one goes; a node that dies is taken out by the survivors. Its ID is
//! drawn by the node that makes the record (random in that node's share, as session IDs
//! are) and kept in it, so the record written again after a NATS restart keeps it.
//!
//! Every node watches the bucket into a [`RemoteIndex`] per realm, so that finding the
//! nodes an event goes to is a local lookup under the realm's lock.

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::Id;

use super::store::{self, Edit, Records, StoreError};
use crate::uri_index::UriIndex;

/// A subscription of the cluster, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub realm: String,
    pub uri: String,
    #[serde(rename = "match")]
    pub policy: String,
    /// The subscription ID (absent only in records of older nodes: then the creating
    /// revision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub nodes: Vec<String>,
}

impl Record {
    fn policy(&self) -> MatchPolicy {
        MatchPolicy::parse(&self.policy).unwrap_or_default()
    }
}

/// This node in a subscription's record: [`Interest::join`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Joined {
    /// The subscription's ID.
    pub id: Id,
    /// The revision written, if the record changed (for the barrier).
    pub written: Option<u64>,
    /// The record is new: the subscription did not exist anywhere in the cluster.
    pub created: bool,
}

/// A node taken out of a subscription's record by [`Interest::leave`].
#[derive(Debug)]
pub(crate) struct Left {
    pub realm: String,
    pub subscription: Id,
    /// It was the last node: the subscription went from the cluster.
    pub deleted: bool,
}

/// The other nodes' subscriptions in one realm.
#[derive(Debug, Default)]
pub(crate) struct RemoteIndex {
    index: UriIndex,
    /// The other nodes subscribed, by subscription ID.
    nodes: HashMap<Id, Vec<Arc<str>>>,
}

impl RemoteIndex {
    /// The other nodes with subscribers an event to `topic` reaches, each once.
    pub fn nodes_for(&self, topic: &str) -> Vec<Arc<str>> {
        let mut out: Vec<Arc<str>> = Vec::new();
        self.index.matches(topic, |id, _| {
            for n in self.nodes.get(&id).into_iter().flatten() {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
        });
        out
    }

    fn set(&mut self, policy: MatchPolicy, uri: &str, id: Id, nodes: Vec<Arc<str>>) {
        if let Some(old) = self.index.remove(policy, uri) {
            self.nodes.remove(&old);
        }
        if !nodes.is_empty() {
            self.index.insert(policy, uri, id);
            self.nodes.insert(id, nodes);
        }
    }

    fn drop_node(&mut self, node: &str) {
        for nodes in self.nodes.values_mut() {
            nodes.retain(|n| **n != *node);
        }
    }
}

/// This node's side of the subscription records.
#[derive(Debug)]
pub(crate) struct Interest {
    records: Records,
    me: Arc<str>,
    /// The mirror of each realm this node serves.
    realms: HashMap<String, Arc<parking_lot::Mutex<RemoteIndex>>>,
    /// Every record as the watch last saw it, by key.
    seen: parking_lot::Mutex<HashMap<String, Record>>,
    /// Local subscriptions being made, by key: their record must keep this node.
    pending: parking_lot::Mutex<HashMap<String, usize>>,
    /// One change at a time per key on this node.
    locks: parking_lot::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The last revision the mirror applied.
    applied: store::Applied,
}

/// The key of the record of `(realm, policy, uri)`.
pub(crate) fn key(realm: &str, policy: MatchPolicy, uri: &str) -> String {
    store::key(&[realm, policy.as_str(), uri])
}

impl Interest {
    pub fn new(records: Records, me: Arc<str>, realms: &[String]) -> Self {
        Self {
            records,
            me,
            realms: realms.iter().map(|r| (r.clone(), Arc::default())).collect(),
            seen: parking_lot::Mutex::new(HashMap::new()),
            pending: parking_lot::Mutex::new(HashMap::new()),
            locks: parking_lot::Mutex::new(HashMap::new()),
            applied: store::Applied::default(),
        }
    }

    /// The mirror of `realm`.
    pub fn mirror(&self, realm: &str) -> Arc<parking_lot::Mutex<RemoteIndex>> {
        self.realms.get(realm).cloned().unwrap_or_default()
    }

    /// A local subscription to `key` is being made (until [`Interest::settled`]).
    pub fn begin(&self, key: &str) {
        *self.pending.lock().entry(key.to_owned()).or_default() += 1;
    }

    /// A subscription begun with [`Interest::begin`] was applied or given up.
    pub fn settled(&self, key: &str) {
        let mut pending = self.pending.lock();
        if let Some(n) = pending.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                pending.remove(key);
            }
        }
    }

    fn lock_for(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock();
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(key.to_owned()).or_default().clone()
    }

    /// Puts this node in the record of `(realm, policy, uri)`, made with ID `id` if there
    /// is none.
    pub async fn join(
        &self,
        realm: &str,
        policy: MatchPolicy,
        uri: &str,
        id: Id,
    ) -> Result<Joined, StoreError> {
        let key = key(realm, policy, uri);
        let lock = self.lock_for(&key);
        let _one = lock.lock().await;
        let me = &*self.me;
        let ((id, created), written) = self
            .records
            .edit(&key, |current: Option<(Record, u64)>| match current {
                Some((mut r, revision)) => {
                    let id = r.id.unwrap_or(revision);
                    if r.nodes.iter().any(|n| n == me) {
                        return (Edit::Keep, (id, false));
                    }
                    r.id = Some(id);
                    r.nodes.push(me.to_owned());
                    (Edit::Put(r), (id, false))
                }
                None => {
                    let r = Record {
                        realm: realm.to_owned(),
                        uri: uri.to_owned(),
                        policy: policy.as_str().to_owned(),
                        id: Some(id),
                        nodes: vec![me.to_owned()],
                    };
                    (Edit::Put(r), (id, true))
                }
            })
            .await?;
        Ok(Joined {
            id,
            written,
            created,
        })
    }

    /// Takes `node` out of the record of `key` unless, for this node, `keep` says it
    /// still has (or is making) local subscribers: what this edit took, if it took the
    /// node out (another node's edit may have done it first).
    pub async fn leave(
        &self,
        key: &str,
        node: &str,
        keep: impl FnOnce() -> bool,
    ) -> Result<Option<Left>, StoreError> {
        let lock = self.lock_for(key);
        let _one = lock.lock().await;
        if *node == *self.me && (self.pending.lock().contains_key(key) || keep()) {
            return Ok(None);
        }
        let (left, _) = self
            .records
            .edit(key, |current: Option<(Record, u64)>| match current {
                Some((mut r, revision)) if r.nodes.iter().any(|n| n == node) => {
                    let id = r.id.unwrap_or(revision);
                    r.id = Some(id);
                    r.nodes.retain(|n| n != node);
                    let left = Left {
                        realm: r.realm.clone(),
                        subscription: id,
                        deleted: r.nodes.is_empty(),
                    };
                    match left.deleted {
                        true => (Edit::Delete, Some(left)),
                        false => (Edit::Put(r), Some(left)),
                    }
                }
                _ => (Edit::Keep, None),
            })
            .await?;
        Ok(left)
    }

    /// The keys of the records that name `node`.
    pub fn keys_of(&self, node: &str) -> Vec<String> {
        let seen = self.seen.lock();
        let named = seen
            .iter()
            .filter(|(_, r)| r.nodes.iter().any(|n| n == node));
        named.map(|(k, _)| k.clone()).collect()
    }

    /// Forgets `node` in every mirror at once (the records follow as survivors edit them).
    pub fn forget(&self, node: &str) {
        for mirror in self.realms.values() {
            mirror.lock().drop_node(node);
        }
    }

    /// Forgets every record (they are loaded again from the start).
    pub fn reset(&self) {
        self.seen.lock().clear();
        for mirror in self.realms.values() {
            *mirror.lock() = RemoteIndex::default();
        }
        self.applied.set(0);
    }

    /// The bucket of the subscription records.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// Waits until the mirror applied `revision` (bounded by `within`); false if not.
    pub async fn applied(&self, revision: u64, within: std::time::Duration) -> bool {
        self.applied.wait(revision, within).await
    }

    /// Follows the bucket into the mirrors: first everything stored, then each change.
    /// `named` hears every node a record names. Returns when the watch ends.
    pub async fn watch(
        &self,
        ready: tokio::sync::oneshot::Sender<()>,
        restarts: tokio::sync::watch::Receiver<u64>,
        named: impl Fn(&str),
    ) {
        self.records
            .follow(
                ready,
                restarts,
                || self.reset(),
                |entry| {
                    self.apply(entry, &named);
                    self.applied.set(entry.revision);
                },
            )
            .await;
    }

    fn apply(&self, entry: &async_nats::jetstream::kv::Entry, named: &impl Fn(&str)) {
        let record = match entry.operation {
            async_nats::jetstream::kv::Operation::Put => {
                match serde_json::from_slice::<Record>(&entry.value) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        tracing::warn!(key = entry.key, "cluster: unreadable subscription: {e}");
                        None
                    }
                }
            }
            _ => None,
        };
        let mut seen = self.seen.lock();
        let old = match &record {
            Some(r) => seen.insert(entry.key.clone(), r.clone()),
            None => seen.remove(&entry.key),
        };
        drop(seen);
        if let Some(old) = old {
            if let Some(mirror) = self.realms.get(&old.realm) {
                mirror.lock().set(old.policy(), &old.uri, 0, Vec::new());
            }
        }
        let Some(r) = record else { return };
        for n in &r.nodes {
            named(n);
        }
        if let Some(mirror) = self.realms.get(&r.realm) {
            let others = r.nodes.iter().filter(|n| **n != *self.me);
            let nodes = others.map(|n| Arc::from(n.as_str())).collect();
            let id = r.id.unwrap_or(entry.revision);
            mirror.lock().set(r.policy(), &r.uri, id, nodes);
        }
    }
}
