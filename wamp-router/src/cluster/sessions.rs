//! The sessions of every node, a record each in the store (realm, authid, authrole), so
//! that when a node dies the survivors can say that its sessions left: each emits
//! `wamp.session.on_leave` for them to its own subscribers (every subscriber in the
//! cluster hears it once, as from a single router).
//!
//! A node writes its sessions' records from one task, in the order they joined and left
//! (a join and its leave never pass each other), and again after a NATS restart. The
//! records of a dead node are deleted a while after it is taken as dead, once every
//! survivor has taken it so too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use foldhash::HashMap;
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
}

/// A change of this node's sessions, on its way to the store.
enum Change {
    Joined(Id, Record),
    Left(Id),
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

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Joined(id, _) => write!(f, "Joined({id})"),
            Change::Left(id) => write!(f, "Left({id})"),
        }
    }
}

impl Sessions {
    /// The sessions of bucket `records`, and the task that writes this node's changes.
    pub fn new(records: Records) -> (Self, impl std::future::Future<Output = ()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(Notify::new());
        let writer = write(records.clone(), rx, pending.clone(), written.clone());
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
        self.queue(Change::Joined(id, record));
    }

    /// Session `id` of this node left.
    pub fn left(&self, id: Id) {
        self.queue(Change::Left(id));
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

/// Writes this node's changes in order.
async fn write(
    records: Records,
    mut rx: mpsc::UnboundedReceiver<Change>,
    pending: Arc<AtomicUsize>,
    written: Arc<Notify>,
) {
    while let Some(change) = rx.recv().await {
        let done = match &change {
            Change::Joined(id, r) => match serde_json::to_vec(r) {
                Ok(v) => records.kv.put(id.to_string(), v.into()).await.map(|_| ()),
                Err(e) => {
                    tracing::warn!("cluster: session record: {e}");
                    Ok(())
                }
            }
            .map_err(|e| e.to_string()),
            Change::Left(id) => records
                .kv
                .delete(id.to_string())
                .await
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = done {
            // NATS away: written again from the sessions themselves when it is back.
            tracing::debug!(change = ?change, "cluster: session record not written: {e}");
        }
        pending.fetch_sub(1, Ordering::Relaxed);
        written.notify_waiters();
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

    /// Writes this node's sessions again (NATS came back, perhaps empty).
    pub(super) fn sessions_again(&self, realm: &str, sessions: Vec<(Id, String, String)>) {
        for (id, authid, authrole) in sessions {
            let record = Record {
                node: self.name.to_string(),
                realm: realm.to_owned(),
                authid,
                authrole,
            };
            self.sessions.joined(id, record);
        }
    }
}
