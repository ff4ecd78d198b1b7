//! A router cluster over NATS: several router nodes serve the same realms.
//!
//! Messages between nodes cross core NATS: each node listens on one subject,
//! `wr.<cluster>.n.<node>.>`, and sends to the others through one ordered queue
//! ([`outbound`]) in the envelope of [`envelope`]. The few facts the nodes must agree on
//! live in JetStream key-value buckets, changed by compare-and-set ([`store`]): which
//! nodes have subscribers to what ([`interest`]). Liveness is heartbeats ([`members`]).
//!
//! A realm keeps deciding under its own lock: an event goes to its local subscribers,
//! then, as one envelope each, to the nodes whose subscribers it reaches; the receiving
//! node applies matching, exclusion and eligibility to its own sessions. A node's first
//! local subscriber to a pattern is answered once every live node knows (the barrier),
//! so that "subscribe on one node, then publish on another" never loses the first event.

mod config;
mod envelope;
mod inbound;
mod interest;
mod link;
mod members;
mod outbound;
mod routing;
mod store;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::Cluster;
pub(crate) use link::{EventRef, RealmLink, RemoteEvent, SubscribeClaim};
pub(crate) use routing::Clustered;

use crate::realm::Realm;
use crate::RouterError;

/// How long a barrier waits for the other nodes.
const BARRIER_WAIT: Duration = Duration::from_secs(2);

/// This router's membership of a cluster.
pub(crate) struct Node {
    /// This incarnation's name, drawn at start: a restarted node is a new one.
    pub name: Arc<str>,
    /// `wr.<cluster>`.
    prefix: String,
    client: async_nats::Client,
    outbound: outbound::Outbound,
    members: members::Members,
    interest: interest::Interest,
    /// The realms served here, set once they exist.
    realms: OnceLock<HashMap<String, Weak<Realm>>>,
    heartbeat: Duration,
    tasks: TaskTracker,
    stop: CancellationToken,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("name", &self.name).finish()
    }
}

impl Node {
    /// Connects to NATS, opens the shared buckets and loads them, and starts the heartbeat:
    /// the node is ready to serve `realms` once [`Node::attach`] gave it their handles.
    pub async fn join(config: &Cluster, realms: &[String]) -> Result<Arc<Self>, RouterError> {
        config.validate().map_err(RouterError::Config)?;
        let name: Arc<str> = Arc::from(config.incarnation());
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            RouterError::Cluster(format!("{what} ({}): {e}", config.nats))
        };
        let client = async_nats::ConnectOptions::new()
            .name(format!("wamp-router {name}"))
            .connection_timeout(Duration::from_secs(5))
            .max_reconnects(None)
            .connect(config.nats.as_str())
            .await
            .map_err(|e| fail("cannot connect to NATS", &e))?;
        let js = async_nats::jetstream::new(client.clone());
        let bucket = format!("wr_{}_subscriptions", config.name);
        let records = store::Records::open(&js, bucket).await.map_err(|e| {
            fail(
                "JetStream key-value store (is nats-server run with -js?)",
                &e,
            )
        })?;
        let prefix = format!("wr.{}", config.name);
        let (outbound, drain) =
            outbound::Outbound::new(client.clone(), prefix.clone(), name.clone());
        let node = Arc::new(Self {
            members: members::Members::new(name.clone(), config.node_timeout),
            interest: interest::Interest::new(records, name.clone(), realms),
            name,
            prefix,
            client,
            outbound,
            realms: OnceLock::new(),
            heartbeat: config.heartbeat,
            tasks: TaskTracker::new(),
            stop: CancellationToken::new(),
        });
        node.spawn(drain);
        let (ready, loaded) = tokio::sync::oneshot::channel();
        let watcher = node.clone();
        node.spawn(async move {
            let members = &watcher.members;
            watcher.interest.watch(ready, |n| members.named(n)).await;
        });
        tokio::time::timeout(Duration::from_secs(10), loaded)
            .await
            .map_err(|_| RouterError::Cluster("the subscription records did not load".into()))?
            .map_err(|_| RouterError::Cluster("the subscription watch ended".into()))?;
        node.start_members().await?;
        tracing::info!(node = %node.name, cluster = %config.name, nats = %config.nats, "joined the cluster");
        Ok(node)
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let stop = self.stop.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                () = task => {}
                () = stop.cancelled() => {}
            }
        });
    }

    /// The handle a realm routes through.
    pub fn link(self: &Arc<Self>, realm: &str) -> RealmLink {
        RealmLink::new(self.clone(), realm)
    }

    /// Gives the node the realms it serves and starts taking envelopes for them.
    pub async fn attach(
        self: &Arc<Self>,
        realms: &HashMap<String, Arc<Realm>>,
    ) -> Result<(), RouterError> {
        let weak = realms
            .iter()
            .map(|(n, r)| (n.clone(), Arc::downgrade(r)))
            .collect();
        let _ = self.realms.set(weak);
        let subject = format!("{}.n.{}.>", self.prefix, self.name);
        let sub = self
            .client
            .subscribe(subject)
            .await
            .map_err(|e| RouterError::Cluster(format!("cannot subscribe to NATS: {e}")))?;
        let node = self.clone();
        self.spawn(async move { inbound::serve(node, sub).await });
        // Everything subscribed before the first envelope can arrive.
        self.client
            .flush()
            .await
            .map_err(|e| RouterError::Cluster(format!("NATS: {e}")))
    }

    fn realm(&self, name: &str) -> Option<Arc<Realm>> {
        self.realms.get()?.get(name)?.upgrade()
    }

    /// Heartbeats out, the others' in, and the sweep that notices the silent.
    async fn start_members(self: &Arc<Self>) -> Result<(), RouterError> {
        let subject = format!("{}.hb", self.prefix);
        let mut beats = self
            .client
            .subscribe(subject.clone())
            .await
            .map_err(|e| RouterError::Cluster(format!("cannot subscribe to NATS: {e}")))?;
        let node = self.clone();
        self.spawn(async move {
            use futures_util::StreamExt;
            while let Some(msg) = beats.next().await {
                let Ok(hb) = serde_json::from_slice::<members::Heartbeat>(&msg.payload) else {
                    tracing::debug!("cluster: unreadable heartbeat");
                    continue;
                };
                if let Some(gone) = node.members.heard(&hb) {
                    tracing::info!(node = %gone, "cluster node left");
                    node.node_gone(gone);
                }
            }
        });
        let node = self.clone();
        self.spawn(async move {
            let mut tick = tokio::time::interval(node.heartbeat);
            loop {
                tick.tick().await;
                node.beat("alive").await;
                for gone in node.members.sweep() {
                    tracing::warn!(node = %gone, "cluster node silent for too long: taken as dead");
                    node.node_gone(gone);
                }
            }
        });
        Ok(())
    }

    async fn beat(&self, state: &str) {
        let hb = members::Heartbeat {
            node: self.name.to_string(),
            state: state.to_owned(),
        };
        let Ok(bytes) = serde_json::to_vec(&hb) else {
            return;
        };
        let subject = format!("{}.hb", self.prefix);
        if let Err(e) = self.client.publish(subject, bytes.into()).await {
            tracing::debug!("cluster: heartbeat not sent: {e}");
        }
    }

    /// A node left or died: nothing goes to it any more, and its records lose it.
    fn node_gone(self: &Arc<Self>, gone: Arc<str>) {
        self.interest.forget(&gone);
        let node = self.clone();
        self.tasks.spawn(async move {
            for key in node.interest.keys_of(&gone) {
                if let Err(e) = node.interest.leave(&key, &gone, || false).await {
                    tracing::warn!(node = %gone, "cluster: cannot clear a subscription of a gone node: {e}");
                }
            }
        });
    }

    /// Waits until every other live node applied `revision` of the subscriptions.
    async fn barrier(&self, revision: u64) {
        let asks = self.members.others().into_iter().map(|peer| {
            let subject = format!("{}.n.{peer}.b", self.prefix);
            let ask = self
                .client
                .request(subject, revision.to_be_bytes().to_vec().into());
            async move {
                match tokio::time::timeout(BARRIER_WAIT, ask).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::debug!(node = %peer, "cluster barrier: {e}"),
                    Err(_) => tracing::warn!(node = %peer, "cluster barrier: no answer in time"),
                }
            }
        });
        futures_util::future::join_all(asks).await;
    }

    /// Leaves the cluster cleanly: this node's records lose it and the others hear it go.
    pub async fn leave(&self) {
        for key in self.interest.keys_of(&self.name) {
            if let Err(e) = self.interest.leave(&key, &self.name, || false).await {
                tracing::debug!("cluster: leaving: {e}");
            }
        }
        self.beat("leaving").await;
        let _ = self.client.flush().await;
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        tracing::info!(node = %self.name, "left the cluster");
    }
}
