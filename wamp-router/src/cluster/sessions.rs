//! The sessions of every node, a record each in the store (realm, authid, authrole, the
//! subscriptions it holds), so that when a node dies the survivors can say that its
//! sessions left: each emits `wamp.session.on_leave` for them to its own subscribers
//! (every subscriber in the cluster hears it once, as from a single router), and the one
//! that takes the node out of a subscription's record says they left it.
//!
//! A node writes its sessions' records from one task, in the order they changed (a join
//! and its leave never pass each other; changes that queued up meanwhile are written
//! together, a record once with its latest state), and again after a NATS restart. The
//! records of a dead node are deleted a while after it is taken as dead, once every
//! survivor has taken it so too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use foldhash::{HashMap, HashSet};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Notify};
use wamp_runtime::proto::Id;

use super::store::Records;

/// A session of the cluster, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Record {
    pub node: String,
    pub realm: String,
    pub authid: String,
    pub authrole: String,
    /// The subscriptions it holds, by ID.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<Id>,
}

/// A change of this node's sessions, on its way to the store.
#[derive(Debug)]
enum Change {
    Joined(Id, Box<Record>),
    Left(Id),
    Subscribed(Id, Id),
    Unsubscribed(Id, Id),
    /// Every record again (NATS came back, perhaps empty).
    Again,
}

/// Every node's sessions, as the watch saw them, and the writer of this node's.
#[derive(Debug)]
pub(crate) struct Sessions {
    pub records: Records,
    /// By session ID.
    seen: parking_lot::Mutex<HashMap<Id, Record>>,
    tx: mpsc::UnboundedSender<Change>,
    /// Changes queued and not yet written.
    pending: Arc<AtomicUsize>,
    written: Arc<Notify>,
}

impl Sessions {
    /// The sessions of bucket `records`, and the task that writes this node's changes.
    pub fn new(records: Records) -> (Self, impl std::future::Future<Output = ()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(Notify::new());
        let writer = Writer {
            records: records.clone(),
            mine: HashMap::default(),
            unwritten: HashSet::default(),
        };
        let writer = writer.run(rx, pending.clone(), written.clone());
        let sessions = Self {
            records,
            seen: Default::default(),
            tx,
            pending,
            written,
        };
        (sessions, writer)
    }

    /// Session `id` of this node joined.
    pub fn joined(&self, id: Id, record: Record) {
        self.queue(Change::Joined(id, Box::new(record)));
    }

    /// Session `id` of this node left.
    pub fn left(&self, id: Id) {
        self.queue(Change::Left(id));
    }

    /// Session `session` of this node holds subscription `id` now.
    pub fn subscribed(&self, session: Id, id: Id) {
        self.queue(Change::Subscribed(session, id));
    }

    /// Session `session` of this node left subscription `id`.
    pub fn unsubscribed(&self, session: Id, id: Id) {
        self.queue(Change::Unsubscribed(session, id));
    }

    /// Writes every record of this node again (NATS came back, perhaps empty).
    pub fn again(&self) {
        self.queue(Change::Again);
    }

    fn queue(&self, change: Change) {
        self.pending.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(change).is_err() {
            self.pending.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Waits (at most `within`) until what this node queued is written.
    pub async fn written(&self, within: Duration) {
        let all = async {
            loop {
                let notified = self.written.notified();
                if self.pending.load(Ordering::Relaxed) == 0 {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(within, all).await;
    }

    /// Takes the sessions of `node` out of the view: what the survivors say left.
    pub fn take_node(&self, node: &str) -> Vec<(Id, Record)> {
        let mut taken = Vec::new();
        self.seen.lock().retain(|id, r| {
            let of = r.node == node;
            if of {
                taken.push((*id, r.clone()));
            }
            !of
        });
        taken
    }

    /// Deletes the records that still name `node` (it died), whoever else does it too.
    pub async fn delete_node(&self, node: &str, ids: &[Id]) {
        for id in ids {
            if let Err(e) = self.records.kv.delete(id.to_string()).await {
                tracing::debug!(node, session = id, "cluster: session record: {e}");
            }
        }
    }

    /// Applies one entry of the bucket's watch to the view.
    pub fn apply(&self, entry: &async_nats::jetstream::kv::Entry) {
        let Ok(id) = entry.key.parse::<Id>() else {
            return;
        };
        let mut seen = self.seen.lock();
        match entry.operation {
            async_nats::jetstream::kv::Operation::Put => {
                match serde_json::from_slice::<Record>(&entry.value) {
                    Ok(r) => {
                        seen.insert(id, r);
                    }
                    Err(e) => tracing::warn!(key = entry.key, "cluster: unreadable session: {e}"),
                }
            }
            _ => {
                seen.remove(&id);
            }
        }
    }

    /// How many sessions the view holds.
    pub fn count(&self) -> usize {
        self.seen.lock().len()
    }

    /// Forgets the view (the bucket is followed again from its start).
    pub fn reset(&self) {
        self.seen.lock().clear();
    }
}

/// The task that writes this node's records: it keeps them as they are now.
struct Writer {
    records: Records,
    /// This node's sessions.
    mine: HashMap<Id, Record>,
    /// Sessions whose record could not be written (NATS away): written again with the
    /// others when it is back.
    unwritten: HashSet<Id>,
}

/// The sessions a batch of changes changed, each once, in the order they first changed.
#[derive(Default)]
struct Changed {
    order: Vec<Id>,
    seen: HashSet<Id>,
}

impl Changed {
    fn mark(&mut self, id: Id) {
        if self.seen.insert(id) {
            self.order.push(id);
        }
    }
}

/// How many changes the writer takes at once.
const BATCH: usize = 256;

impl Writer {
    /// Writes the changes as they come, a batch of those that queued up at a time.
    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Change>,
        pending: Arc<AtomicUsize>,
        written: Arc<Notify>,
    ) {
        let mut batch = Vec::with_capacity(BATCH);
        let mut changed = Changed::default();
        while rx.recv_many(&mut batch, BATCH).await > 0 {
            let taken = batch.len();
            for change in batch.drain(..) {
                self.apply(change, &mut changed);
            }
            for id in std::mem::take(&mut changed.order) {
                self.write(id).await;
            }
            changed.seen.clear();
            pending.fetch_sub(taken, Ordering::Relaxed);
            written.notify_waiters();
        }
    }

    /// Applies `change` to this node's sessions, marking those whose record must be
    /// written.
    fn apply(&mut self, change: Change, changed: &mut Changed) {
        match change {
            Change::Joined(id, r) => {
                self.mine.insert(id, *r);
                changed.mark(id);
            }
            Change::Left(id) => {
                self.mine.remove(&id);
                changed.mark(id);
            }
            Change::Subscribed(session, id) => {
                if let Some(r) = self.mine.get_mut(&session) {
                    if !r.subscriptions.contains(&id) {
                        r.subscriptions.push(id);
                        changed.mark(session);
                    }
                }
            }
            Change::Unsubscribed(session, id) => {
                if let Some(r) = self.mine.get_mut(&session) {
                    if r.subscriptions.contains(&id) {
                        r.subscriptions.retain(|s| *s != id);
                        changed.mark(session);
                    }
                }
            }
            Change::Again => {
                for id in self.mine.keys().chain(self.unwritten.iter()) {
                    changed.mark(*id);
                }
            }
        }
    }

    /// Writes session `id`'s record as it is now, or deletes it if the session left.
    async fn write(&mut self, id: Id) {
        let done = match self.mine.get(&id) {
            Some(r) => match serde_json::to_vec(r) {
                Ok(v) => self
                    .records
                    .kv
                    .put(id.to_string(), v.into())
                    .await
                    .map(|_| ()),
                Err(e) => {
                    tracing::warn!("cluster: session record: {e}");
                    return;
                }
            }
            .map_err(|e| e.to_string()),
            None => self
                .records
                .kv
                .delete(id.to_string())
                .await
                .map_err(|e| e.to_string()),
        };
        match done {
            Ok(()) => {
                self.unwritten.remove(&id);
            }
            Err(e) => {
                // NATS away: written again when it is back.
                tracing::debug!(session = id, "cluster: session record not written: {e}");
                self.unwritten.insert(id);
            }
        }
    }
}

impl super::Node {
    /// Follows every node's sessions into the view.
    pub(super) async fn follow_sessions(&self) {
        let restarts = self.restarts.subscribe();
        let (ready, _) = tokio::sync::oneshot::channel();
        let sessions = &self.sessions;
        let records = sessions.records.clone();
        records
            .follow(ready, restarts, || sessions.reset(), |e| sessions.apply(e))
            .await;
    }

    /// The sessions of `gone` (it left or died), taken out of the view; their records
    /// are deleted once every survivor has taken the node as gone too.
    pub(super) fn sessions_left(self: &Arc<Self>, gone: &str) -> Vec<(Id, Record)> {
        let left = self.sessions.take_node(gone);
        if !left.is_empty() {
            let ids: Vec<Id> = left.iter().map(|(id, _)| *id).collect();
            let (node, gone) = (self.clone(), gone.to_owned());
            let wait = self.node_timeout * 2;
            self.spawn(async move {
                tokio::time::sleep(wait).await;
                node.sessions.delete_node(&gone, &ids).await;
            });
        }
        left
    }
}
