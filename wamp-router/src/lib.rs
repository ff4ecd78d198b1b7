//! A WAMP router: realms with a broker and a dealer, over WebSocket with JSON, MessagePack
//! and CBOR.
//!
//! Embed it in a tokio program:
//!
//! ```no_run
//! # async fn demo() -> Result<(), wamp_router::RouterError> {
//! let router = wamp_router::Router::builder()
//!     .listen("127.0.0.1:0".parse().expect("address"))
//!     .realm("realm1")
//!     .start()
//!     .await?;
//! println!("listening on ws://{}/ws", router.local_addr());
//! router.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod authorizer;
mod broker;
mod dealer;
mod listener;
mod meta;
mod outbox;
mod realm;
mod session;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wamp_runtime::proto::uri::UriRule;
use wamp_runtime::proto::IdSequence;

pub use crate::authorizer::{Action, Permission};
use crate::outbox::Stats;
use crate::realm::{Realm, RealmPolicy};

/// Errors starting a router.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The Unix domain socket could not be bound.
    #[error("cannot listen on {}: {source}", path.display())]
    BindUnix {
        /// The socket path.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The configuration is not valid.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// Limits and timeouts of a router.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// The largest message accepted, in bytes (default 16 MiB). Larger ones end the session
    /// with ABORT `wamp.error.protocol_violation`.
    pub max_message_size: usize,
    /// How long a connection may take to complete its handshake and say HELLO (default 10 s).
    pub hello_timeout: Duration,
    /// How long a session has to answer the router's GOODBYE at shutdown (default 2 s).
    pub goodbye_timeout: Duration,
    /// How many messages may wait in a session's outbound queue before events for it are
    /// dropped and counted (default 1024). Other messages cannot be dropped and are always
    /// queued.
    pub outbound_queue: usize,
    /// How long one write to a peer may wait for the peer to read before the session is
    /// disconnected as too slow (default 10 s).
    pub write_timeout: Duration,
    /// How topic and procedure URIs are checked (default: loose).
    pub uri_rule: UriRule,
    /// Whether every invocation tells the callee who called (`caller`, `caller_authid`,
    /// `caller_authrole`), asked or not (default: yes, as Crossbar.io's development setups
    /// do and current Autobahn clients expect). Otherwise only when the caller sends
    /// `disclose_me` or the registration asked with `disclose_caller`.
    pub disclose_caller: bool,
    /// Whether every event tells the subscriber who published it (default: yes). Otherwise
    /// only when the publisher sends `disclose_me`.
    pub disclose_publisher: bool,
    /// Who may join (default: anyone, anonymously, with role `anonymous`).
    pub(crate) auth: auth::AuthConfig,
    /// The roles of each realm (a realm without roles is open to every session).
    pub(crate) roles: HashMap<String, authorizer::Roles>,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            max_message_size: 16 * 1024 * 1024,
            hello_timeout: Duration::from_secs(10),
            goodbye_timeout: Duration::from_secs(2),
            outbound_queue: 1024,
            write_timeout: Duration::from_secs(10),
            uri_rule: UriRule::Loose,
            disclose_caller: true,
            disclose_publisher: true,
            auth: auth::AuthConfig::default(),
            roles: HashMap::new(),
        }
    }
}

/// The entry point: `Router::builder()`.
pub struct Router;

impl Router {
    /// A builder with the defaults: 127.0.0.1:8080, no realms until one is added.
    pub fn builder() -> RouterBuilder {
        RouterBuilder {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            rawsocket: None,
            rawsocket_unix: None,
            realms: Vec::new(),
            config: RouterConfig::default(),
        }
    }
}

/// Configures and starts a router.
#[derive(Debug, Clone)]
pub struct RouterBuilder {
    listen: SocketAddr,
    rawsocket: Option<SocketAddr>,
    rawsocket_unix: Option<std::path::PathBuf>,
    realms: Vec<String>,
    config: RouterConfig,
}

impl RouterBuilder {
    /// The WebSocket listening address (port 0 picks a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Also listens for RawSocket connections over TCP on `addr` (port 0 picks a free
    /// port).
    pub fn rawsocket(mut self, addr: SocketAddr) -> Self {
        self.rawsocket = Some(addr);
        self
    }

    /// Also listens for RawSocket connections on a Unix domain socket at `path` (a stale
    /// socket file there is replaced; the file is removed at shutdown).
    pub fn rawsocket_unix(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.rawsocket_unix = Some(path.into());
        self
    }

    /// Adds a realm.
    pub fn realm(mut self, name: impl Into<String>) -> Self {
        self.realms.push(name.into());
        self
    }

    /// Replaces all limits and timeouts.
    pub fn config(mut self, config: RouterConfig) -> Self {
        self.config = config;
        self
    }

    /// The largest message accepted, in bytes.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// How long a new connection has to say HELLO.
    pub fn hello_timeout(mut self, timeout: Duration) -> Self {
        self.config.hello_timeout = timeout;
        self
    }

    /// How many queued messages make a session slow (see [`RouterConfig::outbound_queue`]).
    pub fn outbound_queue(mut self, messages: usize) -> Self {
        self.config.outbound_queue = messages;
        self
    }

    /// Whether anonymous sessions may join, and with which role (default: yes, as
    /// `anonymous`). `None` refuses them with ABORT `wamp.error.no_auth_method`.
    pub fn anonymous(mut self, role: Option<&str>) -> Self {
        self.config.auth.anonymous = role.map(str::to_owned);
        self
    }

    /// Gives `role` these permissions in `realm`. Once a realm has roles, every REGISTER,
    /// CALL, PUBLISH and SUBSCRIBE is checked against the session's role, and a denied one
    /// gets ERROR `wamp.error.not_authorized` (the meta API's URIs too); a realm without
    /// roles is open.
    pub fn role(mut self, realm: &str, role: &str, permissions: Vec<Permission>) -> Self {
        self.config
            .roles
            .entry(realm.to_owned())
            .or_default()
            .define(role, permissions);
        self
    }

    /// A principal of `realm` authenticating with a ticket (`ticket` method).
    pub fn ticket_principal(mut self, realm: &str, authid: &str, ticket: &str, role: &str) -> Self {
        self.add_principal(realm, authid, role, auth::Secret::Ticket(ticket.into()));
        self
    }

    /// A principal of `realm` authenticating with WAMP-CRA (`wampcra` method).
    pub fn wampcra_principal(
        mut self,
        realm: &str,
        authid: &str,
        secret: &str,
        role: &str,
    ) -> Self {
        let secret = auth::Secret::WampCra {
            secret: secret.into(),
            salt: None,
        };
        self.add_principal(realm, authid, role, secret);
        self
    }

    /// A principal of `realm` authenticating with WAMP-CRA and a salted secret: the
    /// challenge carries `salt`, `iterations` and `keylen`, and both sides derive the key
    /// with PBKDF2-HMAC-SHA256.
    #[allow(clippy::too_many_arguments)]
    pub fn wampcra_salted_principal(
        mut self,
        realm: &str,
        authid: &str,
        secret: &str,
        salt: &str,
        iterations: u32,
        keylen: u32,
        role: &str,
    ) -> Self {
        let secret = auth::Secret::WampCra {
            secret: secret.into(),
            salt: Some((salt.into(), iterations, keylen)),
        };
        self.add_principal(realm, authid, role, secret);
        self
    }

    fn add_principal(&mut self, realm: &str, authid: &str, role: &str, secret: auth::Secret) {
        self.config.auth.principals.push(auth::Principal {
            realm: realm.into(),
            authid: authid.into(),
            role: role.into(),
            secret,
        });
    }

    /// Whether callers are always disclosed to callees (see
    /// [`RouterConfig::disclose_caller`]).
    pub fn disclose_caller(mut self, always: bool) -> Self {
        self.config.disclose_caller = always;
        self
    }

    /// Whether publishers are always disclosed to subscribers (see
    /// [`RouterConfig::disclose_publisher`]).
    pub fn disclose_publisher(mut self, always: bool) -> Self {
        self.config.disclose_publisher = always;
        self
    }

    /// How long a write may wait on a peer that does not read (see
    /// [`RouterConfig::write_timeout`]).
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.config.write_timeout = timeout;
        self
    }

    /// Binds the listener and starts serving.
    pub async fn start(self) -> Result<RouterHandle, RouterError> {
        if self.realms.is_empty() {
            return Err(RouterError::Config("at least one realm is needed".into()));
        }
        if self.config.outbound_queue == 0 {
            return Err(RouterError::Config(
                "outbound_queue must be at least 1".into(),
            ));
        }
        let ids = Arc::new(IdSequence::new());
        let mut realms = HashMap::new();
        for name in &self.realms {
            if !wamp_runtime::proto::is_valid_uri(name, UriRule::Loose) {
                return Err(RouterError::Config(format!("invalid realm name {name:?}")));
            }
            realms.insert(
                name.clone(),
                Arc::new(Realm::new(
                    name.clone(),
                    RealmPolicy {
                        roles: self.config.roles.get(name).cloned().unwrap_or_default(),
                        uri_rule: self.config.uri_rule,
                        disclose_caller: self.config.disclose_caller,
                        disclose_publisher: self.config.disclose_publisher,
                    },
                    ids.clone(),
                )),
            );
        }
        let listener =
            TcpListener::bind(self.listen)
                .await
                .map_err(|source| RouterError::Bind {
                    addr: self.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| RouterError::Bind {
            addr: self.listen,
            source,
        })?;
        let inner = Arc::new(RouterInner {
            config: self.config,
            realms,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            stats: Arc::new(Stats::default()),
        });
        let mut accept = vec![tokio::spawn(listener::websocket::accept_loop(
            listener,
            inner.clone(),
        ))];
        tracing::info!(%local_addr, realms = ?self.realms, "router listening (WebSocket)");
        let mut rawsocket_addr = None;
        if let Some(addr) = self.rawsocket {
            let bind_error = |source| RouterError::Bind { addr, source };
            let l = TcpListener::bind(addr).await.map_err(bind_error)?;
            let bound = l.local_addr().map_err(bind_error)?;
            tracing::info!(local_addr = %bound, "router listening (RawSocket)");
            rawsocket_addr = Some(bound);
            accept.push(tokio::spawn(listener::rawsocket::accept_tcp(
                l,
                inner.clone(),
            )));
        }
        if let Some(path) = &self.rawsocket_unix {
            #[cfg(unix)]
            {
                let _ = std::fs::remove_file(path);
                let l = tokio::net::UnixListener::bind(path).map_err(|source| {
                    RouterError::BindUnix {
                        path: path.clone(),
                        source,
                    }
                })?;
                tracing::info!(path = %path.display(), "router listening (RawSocket, Unix)");
                accept.push(tokio::spawn(listener::rawsocket::accept_unix(
                    l,
                    path.clone(),
                    inner.clone(),
                )));
            }
            #[cfg(not(unix))]
            return Err(RouterError::Config(format!(
                "{}: Unix domain sockets need a Unix system",
                path.display()
            )));
        }
        Ok(RouterHandle {
            local_addr,
            rawsocket_addr,
            inner,
            accept,
        })
    }
}

/// Shared state of a running router.
pub(crate) struct RouterInner {
    pub config: RouterConfig,
    pub realms: HashMap<String, Arc<Realm>>,
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
    pub stats: Arc<Stats>,
}

/// A running router.
pub struct RouterHandle {
    local_addr: SocketAddr,
    rawsocket_addr: Option<SocketAddr>,
    inner: Arc<RouterInner>,
    accept: Vec<tokio::task::JoinHandle<()>>,
}

impl RouterHandle {
    /// The address the router listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The RawSocket TCP address, when the router listens for RawSocket.
    pub fn rawsocket_addr(&self) -> Option<SocketAddr> {
        self.rawsocket_addr
    }

    /// The RawSocket URL (`tcp://ADDR`), when the router listens for RawSocket.
    pub fn rawsocket_url(&self) -> Option<String> {
        self.rawsocket_addr.map(|a| format!("tcp://{a}"))
    }

    /// The WebSocket URL of the router (`ws://ADDR/ws`).
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.local_addr)
    }

    /// An endpoint for sessions in this program to join without a socket:
    /// `Session::builder(router.endpoint(), "realm1")`. They are served like remote
    /// sessions; nothing is serialized on the way.
    pub fn endpoint(&self) -> wamp_runtime::Endpoint {
        wamp_runtime::Endpoint::custom(listener::memory::LocalConnector {
            router: self.inner.clone(),
        })
    }

    /// The number of sessions joined to a realm right now.
    pub fn session_count(&self, realm: &str) -> usize {
        self.inner
            .realms
            .get(realm)
            .map_or(0, |r| r.session_count())
    }

    /// How many events were dropped for subscribers too slow to take them, since start.
    pub fn dropped_events(&self) -> u64 {
        self.inner.stats.dropped_events.load(Ordering::Relaxed)
    }

    /// How many sessions were disconnected for falling too far behind, since start.
    pub fn slow_disconnects(&self) -> u64 {
        self.inner.stats.slow_disconnects.load(Ordering::Relaxed)
    }

    /// Stops accepting, sends GOODBYE `wamp.close.system_shutdown` to every session, waits
    /// for their replies (bounded by the goodbye timeout) and returns when all are closed.
    pub async fn shutdown(self) {
        self.inner.shutdown.cancel();
        for a in self.accept {
            let _ = a.await;
        }
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
        tracing::info!("router stopped");
    }
}
