//! The node's connection to NATS going and coming back.
//!
//! - Lost: core NATS is at most once, so the calls that cross nodes cannot be trusted to
//!   finish: they fail with `wamp.error.canceled` at once (their callees here are
//!   interrupted). Still cut off after the node timeout, the others take this node as
//!   dead: it ends its sessions (`wamp.close.system_shutdown`), so that clients reconnect
//!   to a node that serves them fully.
//! - Back: the node bumps its epoch and says so in a heartbeat at once; the others end
//!   the calls that crossed to it (what they sent meanwhile is lost) as it ends its own.
//!   The buckets may be gone (NATS keeps them in memory), so the node makes them
//!   again, lists itself, writes again its sessions and their subscriptions and
//!   registrations, and follows every bucket again from its start.
//! - Taken as dead while still running (its entry in the node list deleted by the
//!   others): it ends its sessions and lists itself again.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use async_nats::Event;

use super::registry::{CalleeRecord, Joining};
use super::store::StoreError;
use super::{Node, SLOT_KEY};

impl Node {
    /// Follows the NATS client's events until the node stops.
    pub(super) async fn follow_connection(
        self: &Arc<Self>,
        mut events: tokio::sync::mpsc::UnboundedReceiver<Event>,
    ) {
        while let Some(event) = events.recv().await {
            match event {
                Event::Disconnected => {
                    if self.connected.swap(false, Ordering::Relaxed) {
                        tracing::warn!(node = %self.name, "cluster: NATS connection lost");
                        for realm in self.realms() {
                            realm.cluster_calls_lost();
                        }
                        let node = self.clone();
                        self.tasks.spawn(async move {
                            tokio::time::sleep(node.node_timeout).await;
                            if !node.connected.load(Ordering::Relaxed) {
                                node.fence("cut off from NATS for longer than the node timeout");
                            }
                        });
                    }
                }
                Event::Connected => {
                    if !self.connected.swap(true, Ordering::Relaxed) {
                        tracing::info!(node = %self.name, "cluster: NATS is back");
                        // What was sent meanwhile may be lost too.
                        for realm in self.realms() {
                            realm.cluster_calls_lost();
                        }
                        self.members.heard_all_now();
                        // The others end the calls that crossed to this node as soon as
                        // they hear its new epoch: what they sent meanwhile is lost.
                        self.epoch.fetch_add(1, Ordering::Relaxed);
                        self.arrived.reset();
                        let node = self.clone();
                        self.tasks.spawn(async move {
                            node.beat("alive").await;
                            node.rebuild().await
                        });
                    }
                }
                Event::SlowConsumer(sid) => {
                    tracing::warn!(
                        sid,
                        "cluster: NATS dropped messages for a slow subscription"
                    );
                }
                other => tracing::debug!("cluster: NATS: {other}"),
            }
        }
    }

    /// Whether NATS is reachable now.
    pub(super) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// `Err` while NATS is away: a request that needs the shared records is refused at
    /// once, rather than sent to apply at some later time no one waits for.
    pub(super) fn reachable(&self, records: &super::store::Records) -> Result<(), StoreError> {
        match self.is_connected() {
            true => Ok(()),
            false => Err(records.unreachable()),
        }
    }

    /// This node's entry in the node list went while it runs: the others took it as dead.
    pub(super) fn delisted(self: &Arc<Self>) {
        if self.leaving.load(Ordering::Relaxed) {
            return;
        }
        self.fence("the other nodes took this node as dead");
        let node = self.clone();
        self.tasks.spawn(async move { node.list().await });
    }

    /// Ends every session of this node, so that their clients go to a node that serves
    /// them fully.
    fn fence(&self, why: &str) {
        tracing::warn!(node = %self.name, "cluster: {why}: ending this node's sessions");
        for realm in self.realms() {
            realm.end_sessions(wamp_runtime::proto::close::SYSTEM_SHUTDOWN);
        }
    }

    /// Puts this node (and its slot) in the node list.
    async fn list(&self) {
        let slot = bytes::Bytes::from(self.slot.to_string());
        if let Err(e) = self.nodes.kv.put(self.name.to_string(), slot).await {
            tracing::warn!("cluster: cannot list this node: {e}");
        }
        let key = format!("{SLOT_KEY}{}", self.slot);
        let name = bytes::Bytes::from(self.name.to_string());
        if let Err(e) = self.nodes.kv.put(key, name).await {
            tracing::warn!("cluster: cannot keep this node's slot: {e}");
        }
    }

    /// Makes the buckets again, writes this node's records again and follows every
    /// bucket from its start.
    async fn rebuild(self: &Arc<Self>) {
        let buckets = [
            self.interest.records(),
            &self.registry.records,
            &self.nodes,
            &self.retained,
            &self.sessions.records,
        ];
        for records in buckets {
            if let Err(e) = records.reopen().await {
                tracing::warn!("cluster: {e}");
                return;
            }
        }
        self.list().await;
        self.restarts.send_modify(|n| *n += 1);
        self.sessions.again();
        for realm in self.realms() {
            let name = realm.name().to_owned();
            let link = self.link(&name);
            for (topic, event) in realm.retained_events() {
                link.retained(&topic, &event);
            }
            // With the IDs their clients were told.
            for (id, topic, policy) in realm.local_patterns() {
                if let Err(e) = self.interest.join(&name, policy, &topic, id).await {
                    tracing::warn!(topic, "cluster: subscription not written again: {e}");
                }
            }
            for (id, procedure, policy, invoke, callee) in realm.local_callees() {
                let record = CalleeRecord::of(&self.name, &callee);
                let gone = |n: &str| self.members.is_gone(n);
                let registry = &self.registry;
                let join = registry.join(
                    &name,
                    policy,
                    &procedure,
                    invoke,
                    record,
                    gone,
                    Joining::Again,
                    id,
                );
                if let Err(e) = join.await {
                    tracing::warn!(procedure, "cluster: registration not written again: {e}");
                }
            }
        }
        tracing::info!(node = %self.name, "cluster: records written again");
    }
}
