//! Configuring a router: [`RouterConfig`] (limits and timeouts) and [`RouterBuilder`],
//! whose `start` binds the listeners and returns the running [`RouterHandle`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wamp_runtime::proto::uri::UriRule;
use wamp_runtime::proto::IdSequence;

use crate::listener::bind::bind;
use crate::metrics::Stats;
use crate::realm::{Realm, RealmPolicy};
use crate::{
    auth, authorizer, http, Listener, Permission, RouterError, RouterHandle, RouterInner,
    SlowConsumer,
};

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
    /// How many messages may wait in a session's outbound queue before it counts as a slow
    /// consumer (default 1024); see [`RouterConfig::slow_consumer`].
    pub outbound_queue: usize,
    /// What happens to a session whose outbound queue is full (default: its events are
    /// dropped and counted).
    pub slow_consumer: SlowConsumer,
    /// How many calls one session may have waiting for results at once (default 1000).
    /// One more gets ERROR `wamp.error.canceled` with a message saying so.
    pub max_pending_calls: usize,
    /// How many subscriptions one session may hold (default: no limit). One more gets
    /// ERROR `wamp.error.not_authorized` saying so.
    pub max_subscriptions: Option<usize>,
    /// How many procedures one session may register (default: no limit). One more gets
    /// ERROR `wamp.error.not_authorized` saying so.
    pub max_registrations: Option<usize>,
    /// How long one write to a peer may wait for the peer to read before the session is
    /// disconnected as too slow (default 10 s).
    pub write_timeout: Duration,
    /// How topic and procedure URIs are checked (default: loose).
    pub uri_rule: UriRule,
    /// Whether every invocation tells the callee who called (`caller`, `caller_authid`,
    /// `caller_authrole`), asked or not. By default (no), as in Crossbar.io and the spec,
    /// only when the caller sends `disclose_me` or the registration asked with
    /// `disclose_caller`.
    pub disclose_caller: bool,
    /// Whether every event tells the subscriber who published it, asked or not. By
    /// default (no), only when the publisher sends `disclose_me`.
    pub disclose_publisher: bool,
    /// Who may join (default: anyone, anonymously, with role `anonymous`).
    pub(crate) auth: auth::AuthConfig,
    /// The roles of each realm (a realm without roles is open to every session).
    pub(crate) roles: HashMap<String, authorizer::Roles>,
    /// The realms that check payloads against interface descriptions.
    pub(crate) validated: std::collections::HashSet<String>,
    /// The event history each realm keeps.
    pub(crate) history: HashMap<String, Vec<crate::EventHistory>>,
    /// Where the HTTP endpoint for health and metrics listens (default: nowhere).
    pub metrics: Option<SocketAddr>,
    /// The cluster this router is a node of (default: none, a single router).
    pub(crate) cluster: Option<crate::Cluster>,
}

/// The WebSocket listener a router gets when none is configured.
pub(crate) const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            max_message_size: 16 * 1024 * 1024,
            hello_timeout: Duration::from_secs(10),
            goodbye_timeout: Duration::from_secs(2),
            outbound_queue: 1024,
            slow_consumer: SlowConsumer::DropEvents,
            max_pending_calls: 1000,
            max_subscriptions: None,
            max_registrations: None,
            write_timeout: Duration::from_secs(10),
            uri_rule: UriRule::Loose,
            disclose_caller: false,
            disclose_publisher: false,
            auth: auth::AuthConfig::default(),
            metrics: None,
            roles: HashMap::new(),
            validated: Default::default(),
            history: HashMap::new(),
            cluster: None,
        }
    }
}

/// Configures and starts a router.
#[derive(Debug, Clone)]
pub struct RouterBuilder {
    pub(crate) listeners: Vec<Listener>,
    pub(crate) realms: Vec<String>,
    pub(crate) config: RouterConfig,
}

impl RouterBuilder {
    /// Listens for WebSocket connections on `addr` (port 0 picks a free port); the same as
    /// `.listener(Listener::websocket(addr))`.
    pub fn listen(self, addr: SocketAddr) -> Self {
        self.listener(Listener::websocket(addr))
    }

    /// Listens for RawSocket connections over TCP on `addr`.
    pub fn rawsocket(self, addr: SocketAddr) -> Self {
        self.listener(Listener::rawsocket(addr))
    }

    /// Listens for RawSocket connections on a Unix domain socket at `path`.
    pub fn rawsocket_unix(self, path: impl Into<PathBuf>) -> Self {
        self.listener(Listener::rawsocket_unix(path))
    }

    /// Adds a listener, with its own TLS, serializers, size limit, authentication and
    /// session limit.
    pub fn listener(mut self, listener: Listener) -> Self {
        self.listeners.push(listener);
        self
    }

    /// Serves `GET /health` (liveness), `GET /ready` (readiness) and `GET /metrics` (the
    /// Prometheus text format) over HTTP on `addr`.
    pub fn metrics(mut self, addr: SocketAddr) -> Self {
        self.config.metrics = Some(addr);
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

    /// How long a client has to answer a CHALLENGE, and an authenticator procedure to
    /// answer the router (default 10 s).
    pub fn auth_timeout(mut self, timeout: Duration) -> Self {
        self.config.auth.timeout = timeout;
        self
    }

    /// How many queued messages make a session slow (see [`RouterConfig::outbound_queue`]).
    pub fn outbound_queue(mut self, messages: usize) -> Self {
        self.config.outbound_queue = messages;
        self
    }

    /// What to do with a slow consumer (see [`RouterConfig::slow_consumer`]).
    pub fn slow_consumer(mut self, policy: SlowConsumer) -> Self {
        self.config.slow_consumer = policy;
        self
    }

    /// How many calls a session may have in flight (see
    /// [`RouterConfig::max_pending_calls`]).
    pub fn max_pending_calls(mut self, calls: usize) -> Self {
        self.config.max_pending_calls = calls;
        self
    }

    /// How many subscriptions a session may hold (see
    /// [`RouterConfig::max_subscriptions`]).
    pub fn max_subscriptions(mut self, subscriptions: usize) -> Self {
        self.config.max_subscriptions = Some(subscriptions);
        self
    }

    /// How many procedures a session may register (see
    /// [`RouterConfig::max_registrations`]).
    pub fn max_registrations(mut self, registrations: usize) -> Self {
        self.config.max_registrations = Some(registrations);
        self
    }

    /// Whether anonymous sessions may join, and with which role (default: yes, as
    /// `anonymous`). `None` refuses them with ABORT `wamp.error.no_auth_method`.
    pub fn anonymous(mut self, role: Option<&str>) -> Self {
        self.config.auth.anonymous = role.map(str::to_owned);
        self
    }

    /// Like [`anonymous`](Self::anonymous), for one realm only.
    pub fn anonymous_in(mut self, realm: &str, role: Option<&str>) -> Self {
        self.config
            .auth
            .anonymous_in
            .insert(realm.to_owned(), role.map(str::to_owned));
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

    /// Has `procedure` (registered in `realm` by any session, as Crossbar.io's dynamic
    /// authorizers are) decide what sessions of `role` may do: before each of their
    /// REGISTER, CALL, PUBLISH and SUBSCRIBE, the router calls it from its own trusted
    /// session with `(details, uri, action, options)` (the session's details as
    /// `wamp.session.get` gives them, the URI, `"call"`, `"register"`, `"publish"` or
    /// `"subscribe"`, the request's options) and reads a bool or `{allow, disclose,
    /// cache}`; with `cache: true` the answer holds for the role, URI and action from then
    /// on. An error, a timeout (the authentication timeout) or any other answer denies.
    pub fn role_authorizer(mut self, realm: &str, role: &str, procedure: &str) -> Self {
        let roles = self.config.roles.entry(realm.to_owned()).or_default();
        roles.define(role, Vec::new());
        roles.set_authorizer(role, procedure);
        self
    }

    /// Checks CALL and PUBLISH payloads in `realm` against the interface descriptions its
    /// services define (`wamp.reflect.define`, which `register_on` does): a call or
    /// publication they do not admit gets ERROR `wamp.error.invalid_argument` with the
    /// schema's complaint, and no callee or subscriber sees it. Off by default: it decodes
    /// every described payload instead of forwarding its bytes (see BENCHMARKS.md).
    pub fn validate_payloads(mut self, realm: &str) -> Self {
        self.config.validated.insert(realm.to_owned());
        self
    }

    /// Keeps the event history of a topic or pattern in `realm` (Advanced Profile, "Event
    /// History"): its events are stored as they are published, and read with
    /// `wamp.subscription.get_events` on the subscription to that topic and policy, which
    /// exists from the start (as Crossbar.io does it). Announced as `event_history`.
    pub fn event_history(mut self, realm: &str, history: crate::EventHistory) -> Self {
        self.config
            .history
            .entry(realm.to_owned())
            .or_default()
            .push(history);
        self
    }

    /// Makes this router a node of a cluster over NATS: it serves its realms together
    /// with the other nodes of the cluster (see [`crate::Cluster`]). Without it nothing
    /// about NATS is loaded.
    pub fn cluster(mut self, cluster: crate::Cluster) -> Self {
        self.config.cluster = Some(cluster);
        self
    }

    /// A principal of `realm` authenticating with a ticket (`ticket` method).
    pub fn ticket_principal(mut self, realm: &str, authid: &str, ticket: &str, role: &str) -> Self {
        self.add_principal(realm, authid, role, auth::Secret::Ticket(ticket.into()));
        self
    }

    /// A principal of `realm` authenticating with WAMP-SCRAM (`wamp-scram`, and
    /// Crossbar.io's `scram`), known by its stored credential
    /// ([`wamp_runtime::scram::Credential::new`] makes one from a password; the router never
    /// needs the password).
    pub fn scram_principal(
        mut self,
        realm: &str,
        authid: &str,
        credential: wamp_runtime::scram::Credential,
        role: &str,
    ) -> Self {
        self.add_principal(realm, authid, role, auth::Secret::Scram(credential));
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

    /// A principal of `realm` authenticating with WAMP-Cryptosign (`cryptosign` method)
    /// with the Ed25519 key `public_key` (32 bytes in hex). A client may offer the same
    /// key without an authid: it gets this one.
    pub fn cryptosign_principal(
        mut self,
        realm: &str,
        authid: &str,
        public_key: &str,
        role: &str,
    ) -> Result<Self, RouterError> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(public_key.trim(), &mut key).map_err(|_| {
            RouterError::Config(format!(
                "cryptosign principal {authid:?}: the public key must be 32 bytes in hex"
            ))
        })?;
        self.add_principal(realm, authid, role, auth::Secret::Cryptosign(key));
        Ok(self)
    }

    fn add_principal(&mut self, realm: &str, authid: &str, role: &str, secret: auth::Secret) {
        self.config.auth.principals.push(auth::Principal {
            realm: realm.into(),
            authid: authid.into(),
            role: role.into(),
            secret,
        });
    }

    /// Overrides the router's disclosure (see [`RouterConfig::disclose_caller`] and
    /// [`RouterConfig::disclose_publisher`]) for calls and publications by sessions of
    /// `role` in `realm`: `Some(true)` always discloses them, `Some(false)` only when they
    /// ask, `None` keeps the router's setting.
    pub fn role_disclosure(
        mut self,
        realm: &str,
        role: &str,
        caller: Option<bool>,
        publisher: Option<bool>,
    ) -> Self {
        self.config
            .roles
            .entry(realm.to_owned())
            .or_default()
            .disclose(role, caller, publisher);
        self
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

    /// Binds the listeners and starts serving.
    pub async fn start(mut self) -> Result<RouterHandle, RouterError> {
        if self.realms.is_empty() {
            return Err(RouterError::Config("at least one realm is needed".into()));
        }
        if self.config.outbound_queue == 0 || self.config.max_pending_calls == 0 {
            return Err(RouterError::Config(
                "outbound_queue and max_pending_calls must be at least 1".into(),
            ));
        }
        if self.listeners.is_empty() {
            self.listeners.push(Listener::websocket(DEFAULT_LISTEN));
        }
        for l in &self.listeners {
            l.validate().map_err(RouterError::Config)?;
            if let Some(a) = &l.authenticator {
                if !self.realms.contains(&a.realm) {
                    return Err(RouterError::Config(format!(
                        "{}: the authenticator's realm {:?} is not a realm of this router",
                        l.describe(),
                        a.realm
                    )));
                }
            }
        }
        let ids = Arc::new(IdSequence::new());
        let stats = Arc::new(Stats::default());
        let node = match &self.config.cluster {
            Some(c) => Some(crate::cluster::Node::join(c, &self.realms).await?),
            None => None,
        };
        if let Some(node) = &node {
            // What crosses NATS must fit its limit: larger messages are refused at the
            // edge (ABORT with a clear reason), never lost between nodes.
            let limit = node.max_message_size();
            let clamp = |size: &mut usize, what: &str| {
                if *size > limit {
                    tracing::info!(
                        what,
                        from = *size,
                        to = limit,
                        "max message size lowered to what NATS carries (its max_payload, less the envelope)"
                    );
                    *size = limit;
                }
            };
            clamp(&mut self.config.max_message_size, "router");
            for l in &mut self.listeners {
                if let Some(size) = &mut l.max_message_size {
                    clamp(size, "listener");
                }
            }
        }
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
                        max_pending_calls: self.config.max_pending_calls,
                        max_subscriptions: self.config.max_subscriptions,
                        max_registrations: self.config.max_registrations,
                        validate_payloads: self.config.validated.contains(name),
                        history: self.config.history.get(name).cloned().unwrap_or_default(),
                    },
                    ids.clone(),
                    stats.clone(),
                    node.as_ref().map(|n| n.link(name)),
                )),
            );
        }
        let inner = Arc::new(RouterInner {
            config: self.config,
            realms,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            stats,
            internal: tokio::sync::Mutex::new(HashMap::new()),
            cluster: node,
        });
        if let Some(node) = &inner.cluster {
            node.attach(&inner.realms).await?;
        }
        for realm in inner.realms.values() {
            realm.keep_history();
        }
        let mut bound = Vec::new();
        let mut accept = Vec::new();
        for l in &self.listeners {
            match bind(l, &inner).await {
                Ok((b, task)) => {
                    bound.push(b);
                    accept.push(task);
                }
                Err(e) => {
                    inner.shutdown.cancel();
                    return Err(e);
                }
            }
        }
        let mut metrics_addr = None;
        if let Some(addr) = inner.config.metrics {
            let bind_error = |source| RouterError::Bind { addr, source };
            let bound = match TcpListener::bind(addr).await {
                Ok(socket) => socket.local_addr().map(|a| (socket, a)),
                Err(e) => Err(e),
            };
            match bound {
                Ok((socket, local)) => {
                    tracing::info!("health and metrics on http://{local}/health, /ready, /metrics");
                    metrics_addr = Some(local);
                    accept.push(tokio::spawn(http::serve(socket, inner.clone())));
                }
                Err(e) => {
                    inner.shutdown.cancel();
                    return Err(bind_error(e));
                }
            }
        }
        tracing::info!(realms = ?self.realms, "router started");
        Ok(RouterHandle {
            listeners: bound,
            inner,
            accept,
            metrics_addr,
        })
    }
}
