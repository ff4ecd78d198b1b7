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
mod connection;
mod envelope;
mod fields;
mod follow;
mod inbound;
mod interest;
mod link;
mod members;
mod meta;
mod metrics;
mod outbound;
mod registry;
mod remote;
mod routing;
mod sequences;
mod servers;
mod sessions;
mod store;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::Cluster;
pub(crate) use interest::Joined;
pub(crate) use link::{EventRef, RealmLink, RemoteEvent, SubscribeClaim};
pub(crate) use meta::Answer;
pub(crate) use registry::JoinError;
pub(crate) use registry::{Mirror, Registry};
pub(crate) use remote::{OutgoingCall, RegisterClaim, RemoteCall};
pub(crate) use routing::Clustered;
pub(crate) use sessions::Record as SessionRecord;

use crate::realm::Realm;
use crate::RouterError;

/// Room kept in a NATS message for an envelope's header and metadata.
const ENVELOPE_ROOM: usize = 16 * 1024;

/// How long a barrier waits for the other nodes.
const BARRIER_WAIT: Duration = Duration::from_secs(2);

/// A node of the cluster as a realm's tables name it: this one, or another, by a small
/// number this node gave it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct NodeRef(u32);

impl NodeRef {
    /// This node.
    pub const LOCAL: Self = Self(0);

    /// Whether it is this node.
    pub fn is_local(self) -> bool {
        self == Self::LOCAL
    }

    /// Node number `n`, for tests.
    #[cfg(test)]
    pub fn test(n: u32) -> Self {
        Self(n)
    }
}

/// How many shares the session IDs are split into: a node's sessions have IDs equal to
/// its slot modulo this, so IDs are unique across the cluster without a write per
/// session (and still drawn at random within the share).
const SLOTS: u64 = 1024;

/// The node-list keys that claim a slot: `slot-<n>`, holding the node's name.
const SLOT_KEY: &str = "slot-";

/// Claims a free slot for `name`: a key created, so no two nodes share one.
async fn claim_slot(nodes: &store::Records, name: &str) -> Result<u64, String> {
    for _ in 0..256 {
        let slot = rand::random_range(0..SLOTS);
        let value = bytes::Bytes::from(name.to_owned());
        match nodes.kv.create(format!("{SLOT_KEY}{slot}"), value).await {
            Ok(_) => return Ok(slot),
            Err(e) if e.kind() == async_nats::jetstream::kv::CreateErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!(
        "no free slot of {SLOTS}: too many nodes, or stale ones"
    ))
}

/// The shared records a barrier waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Subscriptions = 1,
    Registrations = 2,
}

/// The names of the nodes this one has numbered.
#[derive(Debug, Default)]
struct NodeNames {
    by_name: foldhash::HashMap<Arc<str>, NodeRef>,
    /// By number; the first is this node.
    names: Vec<Arc<str>>,
}

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
    registry: registry::Registry,
    /// The nodes of the cluster, one key each: a node starting knows the others at once,
    /// before their next heartbeat.
    nodes: store::Records,
    /// The retained events of every realm, each as the envelope of its event.
    retained: store::Records,
    /// Every node's sessions (what the survivors of a node say left).
    sessions: sessions::Sessions,
    /// This node's share of the session IDs: those equal to it modulo [`SLOTS`].
    slot: u64,
    /// The other nodes' slots, by node.
    slots: parking_lot::Mutex<HashMap<String, u64>>,
    names: parking_lot::RwLock<NodeNames>,
    /// The realms served here, set once they exist.
    realms: OnceLock<foldhash::HashMap<String, Weak<Realm>>>,
    heartbeat: Duration,
    node_timeout: Duration,
    /// Bumped when NATS is back after a loss: the watches start again from scratch.
    restarts: tokio::sync::watch::Sender<u64>,
    /// NATS is reachable.
    connected: std::sync::atomic::AtomicBool,
    /// How many times the connection to NATS came back (in every heartbeat).
    epoch: std::sync::atomic::AtomicU64,
    /// The nodes whose envelopes went missing since the last heartbeat (in the next).
    lost_from: parking_lot::Mutex<Vec<String>>,
    /// The sequences of the envelopes that arrived, by sender.
    arrived: sequences::Received,
    /// This node is leaving the cluster (its own records going is no news).
    leaving: std::sync::atomic::AtomicBool,
    tasks: TaskTracker,
    stop: CancellationToken,
    /// Envelopes taken from the other nodes.
    received: std::sync::atomic::AtomicU64,
    /// Envelopes that a sender's sequence says never arrived.
    lost: std::sync::atomic::AtomicU64,
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
        let servers = servers::Servers::parse(&config.nats)
            .map_err(|e| RouterError::Config(format!("--cluster: {e}")))?;
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            RouterError::Cluster(format!("{what} ({servers}): {e}"))
        };
        let (events_in, events) = tokio::sync::mpsc::unbounded_channel();
        let mut options = servers.authenticate(async_nats::ConnectOptions::new());
        if let Some(ca) = &config.ca {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        let client = options
            .name(format!("wamp-router {name}"))
            .connection_timeout(Duration::from_secs(5))
            .max_reconnects(None)
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(100 * attempts.min(10) as u64)
            })
            .event_callback(move |event| {
                let events = events_in.clone();
                async move {
                    let _ = events.send(event);
                }
            })
            .connect(servers.addrs())
            .await
            .map_err(|e| fail("cannot connect to NATS", &e))?;
        let js = async_nats::jetstream::new(client.clone());
        let open = |what: &str| store::Records::open(&js, format!("wr_{}_{what}", config.name));
        let no_kv = "JetStream key-value store (is nats-server run with -js?)";
        let records = open("subscriptions").await.map_err(|e| fail(no_kv, &e))?;
        let registrations = open("registrations").await.map_err(|e| fail(no_kv, &e))?;
        let nodes = open("nodes").await.map_err(|e| fail(no_kv, &e))?;
        let retained = open("retained").await.map_err(|e| fail(no_kv, &e))?;
        let sessions = open("sessions").await.map_err(|e| fail(no_kv, &e))?;
        let (sessions, session_writer) = sessions::Sessions::new(sessions);
        let slot = claim_slot(&nodes, &name)
            .await
            .map_err(|e| fail("cannot take a session ID range", &e))?;
        // Listed before anything else: a node that starts now knows this one at once.
        let listing = bytes::Bytes::from(slot.to_string());
        let listed = nodes.kv.put(name.to_string(), listing).await;
        listed.map_err(|e| fail("cannot list this node", &e))?;
        let prefix = format!("wr.{}", config.name);
        let (outbound, drain) =
            outbound::Outbound::new(client.clone(), prefix.clone(), name.clone());
        let node = Arc::new(Self {
            members: members::Members::new(name.clone(), config.node_timeout),
            interest: interest::Interest::new(records, name.clone(), realms),
            registry: registry::Registry::new(registrations),
            nodes,
            retained,
            sessions,
            slot,
            slots: parking_lot::Mutex::new(HashMap::new()),
            names: parking_lot::RwLock::new(NodeNames {
                by_name: [(name.clone(), NodeRef::LOCAL)].into_iter().collect(),
                names: vec![name.clone()],
            }),
            name,
            prefix,
            client,
            outbound,
            realms: OnceLock::new(),
            heartbeat: config.heartbeat,
            node_timeout: config.node_timeout,
            restarts: tokio::sync::watch::channel(0).0,
            connected: std::sync::atomic::AtomicBool::new(true),
            epoch: Default::default(),
            lost_from: Default::default(),
            arrived: sequences::Received::new(config.heartbeat * 2),
            leaving: std::sync::atomic::AtomicBool::new(false),
            tasks: TaskTracker::new(),
            stop: CancellationToken::new(),
            received: Default::default(),
            lost: Default::default(),
        });
        node.spawn(drain);
        node.spawn(session_writer);
        let watcher = node.clone();
        node.spawn(async move { watcher.follow_sessions().await });
        let watcher = node.clone();
        node.spawn(async move { watcher.follow_connection(events).await });
        let (ready, loaded) = tokio::sync::oneshot::channel();
        let watcher = node.clone();
        node.spawn(async move {
            let members = &watcher.members;
            let restarts = watcher.restarts.subscribe();
            watcher
                .interest
                .watch(ready, restarts, |n| members.named(n))
                .await;
        });
        tokio::time::timeout(Duration::from_secs(10), loaded)
            .await
            .map_err(|_| RouterError::Cluster("the subscription records did not load".into()))?
            .map_err(|_| RouterError::Cluster("the subscription watch ended".into()))?;
        let (ready, loaded) = tokio::sync::oneshot::channel();
        let watcher = node.clone();
        node.spawn(async move {
            let nodes = watcher.nodes.clone();
            let restarts = watcher.restarts.subscribe();
            nodes
                .follow(
                    ready,
                    restarts,
                    || {},
                    |e| {
                        let put = e.operation == async_nats::jetstream::kv::Operation::Put;
                        if !put && *e.key == *watcher.name {
                            watcher.delisted();
                        }
                        if put && !e.key.starts_with(SLOT_KEY) {
                            watcher.members.revive(&e.key);
                            watcher.members.named(&e.key);
                            let slot = std::str::from_utf8(&e.value)
                                .ok()
                                .and_then(|s| s.parse().ok());
                            if let Some(slot) = slot {
                                watcher.slots.lock().insert(e.key.clone(), slot);
                            }
                        }
                    },
                )
                .await;
        });
        tokio::time::timeout(Duration::from_secs(10), loaded)
            .await
            .map_err(|_| RouterError::Cluster("the node list did not load".into()))?
            .map_err(|_| RouterError::Cluster("the node list watch ended".into()))?;
        node.start_members().await?;
        tracing::info!(node = %node.name, cluster = %config.name, nats = %servers, "joined the cluster");
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
        let (ready, loaded) = tokio::sync::oneshot::channel();
        let node = self.clone();
        self.spawn(async move { node.follow_registrations(ready).await });
        tokio::time::timeout(Duration::from_secs(10), loaded)
            .await
            .map_err(|_| RouterError::Cluster("the registration records did not load".into()))?
            .map_err(|_| RouterError::Cluster("the registration watch ended".into()))?;
        let (ready, loaded) = tokio::sync::oneshot::channel();
        let node = self.clone();
        self.spawn(async move { node.follow_retained(ready).await });
        tokio::time::timeout(Duration::from_secs(10), loaded)
            .await
            .map_err(|_| RouterError::Cluster("the retained events did not load".into()))?
            .map_err(|_| RouterError::Cluster("the retained events watch ended".into()))?;
        // Everything subscribed before the first envelope can arrive.
        self.client
            .flush()
            .await
            .map_err(|e| RouterError::Cluster(format!("NATS: {e}")))
    }

    fn realm(&self, name: &str) -> Option<Arc<Realm>> {
        self.realms.get()?.get(name)?.upgrade()
    }

    /// The realms served here.
    fn realms(&self) -> impl Iterator<Item = Arc<Realm>> + '_ {
        self.realms
            .get()
            .into_iter()
            .flat_map(|m| m.values())
            .filter_map(Weak::upgrade)
    }

    /// The number this node gives node `name`.
    pub fn node_ref(&self, name: &str) -> NodeRef {
        if let Some(r) = self.names.read().by_name.get(name) {
            return *r;
        }
        let mut names = self.names.write();
        if let Some(r) = names.by_name.get(name) {
            return *r;
        }
        let r = NodeRef(names.names.len() as u32);
        let name: Arc<str> = Arc::from(name);
        names.names.push(name.clone());
        names.by_name.insert(name, r);
        r
    }

    /// Every other node this one has numbered.
    fn node_refs(&self) -> Vec<NodeRef> {
        (1..self.names.read().names.len() as u32)
            .map(NodeRef)
            .collect()
    }

    /// The name of node `r`.
    pub fn node_name(&self, r: NodeRef) -> Option<Arc<str>> {
        self.names.read().names.get(r.0 as usize).cloned()
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
                if let Some(&claim) = hb.sent.get(&*node.name) {
                    if let Some(missed) = node.arrived.claimed(&hb.node, claim) {
                        node.lost.fetch_add(missed, std::sync::atomic::Ordering::Relaxed);
                        tracing::warn!(from = %hb.node, missed, "cluster: envelopes a heartbeat says were sent never arrived (NATS is at most once)");
                        node.missed_envelopes_from(&hb.node);
                    }
                }
                match node.members.heard(&hb) {
                    members::Heard::Alive => {}
                    members::Heard::Left(gone) => {
                        tracing::info!(node = %gone, "cluster node left");
                        node.node_gone(gone);
                    }
                    members::Heard::CallsLost(other) => {
                        tracing::warn!(node = %other, "cluster: messages to or from a node were lost (it reconnected to NATS, or missed envelopes): the calls crossing to it are ended");
                        node.calls_lost_with(&other);
                    }
                }
            }
        });
        let node = self.clone();
        self.spawn(async move {
            let mut tick = tokio::time::interval(node.heartbeat);
            let mut last = tokio::time::Instant::now();
            loop {
                tick.tick().await;
                node.beat("alive").await;
                // A tick this late: this node was stopped or starved, and the others'
                // heartbeats wait unread. Their silence is its own.
                let stalled = last.elapsed() > node.heartbeat * 2;
                last = tokio::time::Instant::now();
                if stalled {
                    tracing::warn!(node = %node.name, "cluster: this node did not run for a while: the others get a node timeout to be heard again");
                    node.members.heard_all_now();
                    continue;
                }
                if !node.is_connected() {
                    // Silence is this node's own, not the others'.
                    continue;
                }
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
            epoch: self.epoch.load(std::sync::atomic::Ordering::Relaxed),
            lost: std::mem::take(&mut *self.lost_from.lock()),
            sent: self.outbound.sequences.claims(),
        };
        let Ok(bytes) = serde_json::to_vec(&hb) else {
            return;
        };
        let subject = format!("{}.hb", self.prefix);
        if let Err(e) = self.client.publish(subject, bytes.into()).await {
            tracing::debug!("cluster: heartbeat not sent: {e}");
        }
    }

    /// A node left or died: nothing goes to it any more, its sessions leave, and its
    /// records lose it.
    fn node_gone(self: &Arc<Self>, gone: Arc<str>) {
        self.interest.forget(&gone);
        let r = self.node_ref(&gone);
        let left = self.sessions_left(&gone);
        for realm in self.realms() {
            realm.node_gone(r);
            realm.sessions_left_elsewhere(&left);
        }
        let node = self.clone();
        self.tasks.spawn(async move {
            node.unlist(&gone).await;
            for key in node.interest.keys_of(&gone) {
                match node.interest.leave(&key, &gone, || false).await {
                    // This node's edit took it off: it tells the cluster.
                    Ok(Some(taken)) => {
                        if let Some(realm) = node.realm(&taken.realm) {
                            let (id, deleted) = (taken.subscription, taken.deleted);
                            realm.subscribers_of_gone_node(&left, id, deleted);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(node = %gone, "cluster: cannot clear a subscription of a gone node: {e}"),
                }
            }
            for key in node.registry.keys_of(&gone) {
                match node.registry.leave(&key, &gone, None).await {
                    // This node's edit took them off: it tells the cluster.
                    Ok(Some(left)) => {
                        if let Some(realm) = node.realm(&left.realm) {
                            let (callees, id) = (&left.callees, left.registration);
                            realm.callees_of_gone_node(callees, id, left.deleted);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(node = %gone, "cluster: cannot clear a registration of a gone node: {e}"),
                }
            }
        });
    }

    /// Messages between this node and `other` were lost: the calls to its callees fail
    /// and its callers' calls here end, as it ends its own.
    fn calls_lost_with(&self, other: &str) {
        let r = self.node_ref(other);
        for realm in self.realms() {
            realm.node_lost_messages(r);
        }
    }

    /// Envelopes from `from` went missing on the way here: the calls crossing between the
    /// two end here, and a heartbeat at once tells `from` to end its side.
    pub(super) fn missed_envelopes_from(self: &Arc<Self>, from: &str) {
        self.calls_lost_with(from);
        self.lost_from.lock().push(from.to_owned());
        let node = self.clone();
        self.tasks.spawn(async move { node.beat("alive").await });
    }

    /// The largest WAMP message this node can pass to another: NATS's `max_payload`, less
    /// room for the envelope's header and metadata.
    pub fn max_message_size(&self) -> usize {
        self.client
            .server_info()
            .max_payload
            .saturating_sub(ENVELOPE_ROOM)
            .max(1024)
    }

    /// An ID of this node's share (for a session, or a registration or subscription it
    /// makes): unique in the cluster without asking anyone.
    pub fn fresh_id(&self) -> wamp_runtime::proto::Id {
        loop {
            let high = rand::random_range(0..(1u64 << 53) / SLOTS);
            let id = high * SLOTS + self.slot;
            if id != 0 {
                return id;
            }
        }
    }

    /// Takes `node` (gone, or this one leaving) off the node list, with its slot.
    async fn unlist(&self, node: &str) {
        let slot = match *node == *self.name {
            true => Some(self.slot),
            false => self.slots.lock().remove(node),
        };
        if let Some(slot) = slot {
            if let Err(e) = self.nodes.kv.delete(format!("{SLOT_KEY}{slot}")).await {
                tracing::debug!(node, "cluster: node list: {e}");
            }
        }
        if let Err(e) = self.nodes.kv.delete(node).await {
            tracing::debug!(node, "cluster: node list: {e}");
        }
    }

    /// Waits until every other live node applied `revision` of `bucket`.
    async fn barrier(&self, bucket: Bucket, revision: u64) {
        let mut ask = vec![bucket as u8];
        ask.extend_from_slice(&revision.to_be_bytes());
        let ask = bytes::Bytes::from(ask);
        let asks = self.members.others().into_iter().map(|peer| {
            let subject = format!("{}.n.{peer}.b", self.prefix);
            let ask = self.client.request(subject, ask.clone());
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
        self.leaving
            .store(true, std::sync::atomic::Ordering::Relaxed);
        for key in self.interest.keys_of(&self.name) {
            if let Err(e) = self.interest.leave(&key, &self.name, || false).await {
                tracing::debug!("cluster: leaving: {e}");
            }
        }
        for key in self.registry.keys_of(&self.name) {
            if let Err(e) = self.registry.leave(&key, &self.name, None).await {
                tracing::debug!("cluster: leaving: {e}");
            }
        }
        // Its sessions' records go before it does, or the others would say they left
        // again.
        self.sessions.written(Duration::from_secs(2)).await;
        self.unlist(&self.name).await;
        self.beat("leaving").await;
        let _ = self.client.flush().await;
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        tracing::info!(node = %self.name, "left the cluster");
    }
}
