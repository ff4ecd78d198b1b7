//! A running router: its shared state ([`RouterInner`], what every connection and realm
//! reaches) and the handle its owner keeps ([`RouterHandle`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::builder::{RouterConfig, DEFAULT_LISTEN};
use crate::listener;
use crate::listener::bind::BoundListener;
use crate::metrics::{RouterStats, Stats};
use crate::realm::Realm;

/// Shared state of a running router.
pub(crate) struct RouterInner {
    pub config: RouterConfig,
    pub realms: HashMap<String, Arc<Realm>>,
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
    pub stats: Arc<Stats>,
    /// The router's own sessions, by realm (see `internal.rs`).
    pub internal: tokio::sync::Mutex<HashMap<String, wamp_runtime::Session>>,
    /// This router's membership of a cluster, if it is a node of one.
    pub cluster: Option<Arc<crate::cluster::Node>>,
}

impl RouterInner {
    /// A new session ID: random, and on a node of a cluster unique in the cluster.
    pub fn session_id(&self) -> wamp_runtime::proto::Id {
        match &self.cluster {
            Some(node) => node.fresh_id(),
            None => wamp_runtime::proto::global_id(),
        }
    }
}

/// A running router.
pub struct RouterHandle {
    pub(crate) listeners: Vec<BoundListener>,
    pub(crate) inner: Arc<RouterInner>,
    pub(crate) accept: Vec<tokio::task::JoinHandle<()>>,
    pub(crate) metrics_addr: Option<SocketAddr>,
}

impl RouterHandle {
    /// The address of the first WebSocket listener (else of the first TCP listener).
    pub fn local_addr(&self) -> SocketAddr {
        let ws = self.listeners.iter().find(|l| l.websocket);
        ws.or_else(|| self.listeners.iter().find(|l| l.addr.is_some()))
            .and_then(|l| l.addr)
            .unwrap_or(DEFAULT_LISTEN)
    }

    /// The address of the first RawSocket TCP listener.
    pub fn rawsocket_addr(&self) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|l| !l.websocket && l.addr.is_some())
            .and_then(|l| l.addr)
    }

    /// The URL of the first RawSocket TCP listener (`tcp://ADDR` or `tcps://ADDR`).
    pub fn rawsocket_url(&self) -> Option<String> {
        self.listeners
            .iter()
            .find(|l| !l.websocket && l.addr.is_some())
            .map(|l| l.url.clone())
    }

    /// The URL of the first WebSocket listener (`ws://ADDR/ws` or `wss://ADDR/ws`).
    pub fn url(&self) -> String {
        self.listeners.iter().find(|l| l.websocket).map_or_else(
            || format!("ws://{}/ws", self.local_addr()),
            |l| l.url.clone(),
        )
    }

    /// The URL of every listener, in the order they were configured (`ws://…/ws`,
    /// `wss://…/ws`, `tcp://…`, `tcps://…`, `unix://…`).
    pub fn urls(&self) -> Vec<String> {
        self.listeners.iter().map(|l| l.url.clone()).collect()
    }

    /// Where the HTTP endpoint for health and metrics listens, if it was configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// An endpoint for sessions in this program to join without a socket:
    /// `Session::builder(router.endpoint(), "realm1")`. They are served like remote
    /// sessions; nothing is serialized on the way.
    pub fn endpoint(&self) -> wamp_runtime::Endpoint {
        wamp_runtime::Endpoint::custom(listener::memory::LocalConnector {
            router: self.inner.clone(),
            trusted: false,
        })
    }

    /// The number of sessions joined to a realm right now.
    pub fn session_count(&self, realm: &str) -> usize {
        self.inner
            .realms
            .get(realm)
            .map_or(0, |r| r.session_count())
    }

    /// The number of calls of a realm routed to a callee and not answered yet.
    pub fn calls_in_flight(&self, realm: &str) -> usize {
        self.inner
            .realms
            .get(realm)
            .map_or(0, |r| r.calls_in_flight())
    }

    /// What the router counted since it started: events dropped for slow subscribers,
    /// slow sessions disconnected, payloads passed through and transcoded.
    pub fn stats(&self) -> RouterStats {
        self.inner.stats.snapshot()
    }

    /// Stops accepting, sends GOODBYE `wamp.close.system_shutdown` to every session, waits
    /// for their replies (bounded by the goodbye timeout) and returns when all are closed.
    pub async fn shutdown(self) {
        self.inner.shutdown.cancel();
        self.inner.internal.lock().await.clear();
        for a in self.accept {
            let _ = a.await;
        }
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
        if let Some(node) = &self.inner.cluster {
            node.leave().await;
        }
        tracing::info!("router stopped");
    }
}
