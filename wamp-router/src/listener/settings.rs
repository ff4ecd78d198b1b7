//! What a listener is configured with (address, TLS, serializers, size limit, the
//! authentication it offers, how many sessions it takes), and the state a running one
//! shares with its connections.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use wamp_runtime::Serializer;

use crate::auth::{AuthMethod, Authenticator};
use crate::tls::ServerTls;

/// Where and how a listener accepts connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    WebSocket(SocketAddr),
    RawSocket(SocketAddr),
    RawSocketUnix(PathBuf),
}

/// One listening socket of the router: `Listener::websocket(addr)`,
/// `Listener::rawsocket(addr)` or `Listener::rawsocket_unix(path)`, then the settings that
/// differ from the router's defaults.
#[derive(Debug, Clone)]
pub struct Listener {
    pub(crate) kind: Kind,
    pub(crate) tls: Option<ServerTls>,
    pub(crate) serializers: Vec<Serializer>,
    pub(crate) max_message_size: Option<usize>,
    pub(crate) auth_methods: Vec<AuthMethod>,
    pub(crate) authenticator: Option<Authenticator>,
    pub(crate) max_sessions: Option<usize>,
    pub(crate) static_dir: Option<PathBuf>,
    /// WebSocket endpoints and static directories by URL path (Crossbar.io's `web`
    /// transport): when there are any, only they are served.
    pub(crate) paths: Vec<(String, PathEndpoint)>,
    /// RawSocket on the same port, with settings of its own (Crossbar.io's `universal`
    /// transport): a connection whose first byte is RawSocket's magic 0x7F.
    pub(crate) rawsocket: Option<Box<Listener>>,
}

/// What a URL path of a WebSocket listener serves.
#[derive(Debug, Clone)]
pub(crate) enum PathEndpoint {
    /// A WAMP WebSocket endpoint with settings of its own (those of the listener value it
    /// was given; its address is not used).
    WebSocket(Box<Listener>),
    /// The files of a directory.
    Static(PathBuf),
    /// WAMP over HTTP long-poll, with settings of its own.
    LongPoll(Box<Listener>),
}

/// A URL path as the listener compares them: one leading slash, no trailing one.
pub(crate) fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    format!("/{trimmed}")
}

impl Listener {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            tls: None,
            serializers: Serializer::ALL.to_vec(),
            max_message_size: None,
            auth_methods: AuthMethod::ALL.to_vec(),
            authenticator: None,
            max_sessions: None,
            static_dir: None,
            paths: Vec::new(),
            rawsocket: None,
        }
    }

    /// Also serves RawSocket on this WebSocket listener's port, with the settings of
    /// `endpoint` ([`Listener::endpoint`] and its settings), as Crossbar.io's `universal`
    /// transport does: a connection opening with RawSocket's handshake is RawSocket, any
    /// other HTTP.
    pub fn with_rawsocket(mut self, endpoint: Listener) -> Self {
        self.rawsocket = Some(Box::new(endpoint));
        self
    }

    /// The settings of one path of a listener (see [`Listener::websocket_path`]): every
    /// serializer, every method, the router's size limit, until set otherwise.
    pub fn endpoint() -> Self {
        Self::new(Kind::WebSocket(SocketAddr::from(([127, 0, 0, 1], 0))))
    }

    /// Serves a WAMP WebSocket endpoint at URL `path` of this listener with the settings
    /// of `endpoint` ([`Listener::endpoint`], then its serializers, size limit,
    /// authentication and session limit), as a path of Crossbar.io's `web` transport.
    /// Once a listener has paths, a WebSocket upgrade to any other path gets HTTP 404.
    pub fn websocket_path(mut self, path: &str, endpoint: Listener) -> Self {
        self.paths.push((
            normalize_path(path),
            PathEndpoint::WebSocket(Box::new(endpoint)),
        ));
        self
    }

    /// Serves WAMP's HTTP long-poll transport at URL `path` of this listener (`POST
    /// <path>/open`, then `<path>/<transport>/send`, `/receive`, `/close`), with the
    /// settings of `endpoint` as for [`websocket_path`](Self::websocket_path); CORS lets
    /// pages of other origins use it.
    pub fn longpoll_path(mut self, path: &str, endpoint: Listener) -> Self {
        self.paths.push((
            normalize_path(path),
            PathEndpoint::LongPoll(Box::new(endpoint)),
        ));
        self
    }

    /// Serves the files of `dir` under URL `path` of this listener (`/` for the root).
    pub fn static_path(mut self, path: &str, dir: impl Into<PathBuf>) -> Self {
        self.paths
            .push((normalize_path(path), PathEndpoint::Static(dir.into())));
        self
    }

    /// WebSocket on a TCP address (`ws://`, or `wss://` with [`Listener::tls`]).
    pub fn websocket(addr: SocketAddr) -> Self {
        Self::new(Kind::WebSocket(addr))
    }

    /// RawSocket on a TCP address (`tcp://`, or `tcps://` with [`Listener::tls`]).
    pub fn rawsocket(addr: SocketAddr) -> Self {
        Self::new(Kind::RawSocket(addr))
    }

    /// RawSocket on a Unix domain socket (a stale socket file is replaced; the file is
    /// removed at shutdown).
    pub fn rawsocket_unix(path: impl Into<PathBuf>) -> Self {
        Self::new(Kind::RawSocketUnix(path.into()))
    }

    /// Serves TLS with this certificate and key (not on a Unix socket).
    pub fn tls(mut self, tls: ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The serializers a client may choose (default: all three).
    pub fn serializers(mut self, serializers: impl IntoIterator<Item = Serializer>) -> Self {
        self.serializers = serializers.into_iter().collect();
        self
    }

    /// The largest message accepted on this listener, in bytes (default: the router's).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = Some(bytes);
        self
    }

    /// The authentication methods offered here (default: all). A HELLO offering none of
    /// them gets ABORT `wamp.error.no_auth_method`.
    pub fn auth_methods(mut self, methods: impl IntoIterator<Item = AuthMethod>) -> Self {
        self.auth_methods = methods.into_iter().collect();
        self
    }

    /// Delegates authentication by some methods to a WAMP procedure (see
    /// [`Authenticator`]).
    pub fn authenticator(mut self, authenticator: Authenticator) -> Self {
        self.authenticator = Some(authenticator);
        self
    }

    /// How many connections this listener serves at once (default: no limit). One more
    /// is refused: HTTP 503 on WebSocket, the "maximum connection count reached" handshake
    /// error on RawSocket.
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = Some(sessions);
        self
    }

    /// Serves the files of `dir` to plain HTTP requests on this WebSocket listener (`/` is
    /// `index.html`), so that a browser page and its WAMP endpoint share one address.
    pub fn static_files(mut self, dir: impl Into<PathBuf>) -> Self {
        self.static_dir = Some(dir.into());
        self
    }

    /// Checks what can be checked before binding.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.serializers.is_empty() {
            return Err(format!("{}: no serializer allowed", self.describe()));
        }
        if self.auth_methods.is_empty() {
            return Err(format!("{}: no authentication method", self.describe()));
        }
        if self.tls.is_some() && matches!(self.kind, Kind::RawSocketUnix(_)) {
            return Err(format!("{}: TLS is for TCP listeners", self.describe()));
        }
        if let Some(dir) = &self.static_dir {
            if !matches!(self.kind, Kind::WebSocket(_)) {
                return Err(format!(
                    "{}: static files are for WebSocket listeners",
                    self.describe()
                ));
            }
            if !dir.is_dir() {
                return Err(format!(
                    "{}: {} is not a directory",
                    self.describe(),
                    dir.display()
                ));
            }
        }
        for (path, endpoint) in &self.paths {
            if !matches!(self.kind, Kind::WebSocket(_)) {
                return Err(format!(
                    "{}: paths are for WebSocket listeners",
                    self.describe()
                ));
            }
            match endpoint {
                PathEndpoint::WebSocket(e) | PathEndpoint::LongPoll(e) => e
                    .validate()
                    .map_err(|err| format!("{} path {path}: {err}", self.describe()))?,
                PathEndpoint::Static(dir) if !dir.is_dir() => {
                    return Err(format!(
                        "{} path {path}: {} is not a directory",
                        self.describe(),
                        dir.display()
                    ))
                }
                PathEndpoint::Static(_) => {}
            }
            if self.paths.iter().filter(|(p, _)| p == path).count() > 1 {
                return Err(format!("{}: path {path} is given twice", self.describe()));
            }
        }
        if let Some(raw) = &self.rawsocket {
            if !matches!(self.kind, Kind::WebSocket(_)) {
                return Err(format!(
                    "{}: RawSocket on the same port is for WebSocket listeners",
                    self.describe()
                ));
            }
            raw.validate()
                .map_err(|e| format!("{} RawSocket: {e}", self.describe()))?;
        }
        if self.max_message_size == Some(0) || self.max_sessions == Some(0) {
            return Err(format!(
                "{}: max_message_size and max_sessions must be at least 1",
                self.describe()
            ));
        }
        Ok(())
    }

    /// "WebSocket 127.0.0.1:8080" and the like, for logs and errors.
    pub(crate) fn describe(&self) -> String {
        let tls = if self.tls.is_some() { " (TLS)" } else { "" };
        match &self.kind {
            Kind::WebSocket(a) => format!("WebSocket{tls} {a}"),
            Kind::RawSocket(a) => format!("RawSocket{tls} {a}"),
            Kind::RawSocketUnix(p) => format!("RawSocket {}", p.display()),
        }
    }
}

/// What the connections of one running listener share.
#[derive(Debug)]
pub(crate) struct ListenerContext {
    /// For logs: "WebSocket 127.0.0.1:8080", "in-process".
    pub label: String,
    pub serializers: Vec<Serializer>,
    pub max_message_size: usize,
    pub auth_methods: Vec<AuthMethod>,
    pub authenticator: Option<Authenticator>,
    pub max_sessions: Option<usize>,
    /// Connections open right now.
    open: AtomicUsize,
    /// Connections refused for the session limit, since start.
    refused: AtomicUsize,
    /// Sessions of this listener join without authentication, as the router's own
    /// (role `trusted`, allowed everything).
    pub trusted: bool,
    /// Where plain HTTP requests get their files from.
    pub static_dir: Option<PathBuf>,
    /// The WebSocket endpoints by path (with contexts of their own).
    pub ws_paths: Vec<(String, Arc<ListenerContext>)>,
    /// The static directories by path, longest first.
    pub static_paths: Vec<(String, PathBuf)>,
    /// The long-poll endpoints by path.
    pub longpoll_paths: Vec<(String, Arc<super::longpoll::LongPoll>)>,
    /// RawSocket on the same port.
    pub rawsocket: Option<Arc<ListenerContext>>,
}

impl ListenerContext {
    pub fn new(listener: &Listener, label: String, default_max: usize) -> Self {
        Self {
            label: label.clone(),
            serializers: listener.serializers.clone(),
            max_message_size: listener.max_message_size.unwrap_or(default_max),
            auth_methods: listener.auth_methods.clone(),
            authenticator: listener.authenticator.clone(),
            max_sessions: listener.max_sessions,
            open: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            trusted: false,
            static_dir: listener.static_dir.clone(),
            ws_paths: listener
                .paths
                .iter()
                .filter_map(|(path, e)| match e {
                    PathEndpoint::WebSocket(e) => {
                        let ctx = Self::new(e, format!("{label} {path}"), default_max);
                        Some((path.clone(), Arc::new(ctx)))
                    }
                    PathEndpoint::Static(_) | PathEndpoint::LongPoll(_) => None,
                })
                .collect(),
            rawsocket: listener
                .rawsocket
                .as_ref()
                .map(|e| Arc::new(Self::new(e, format!("{label} (RawSocket)"), default_max))),
            longpoll_paths: listener
                .paths
                .iter()
                .filter_map(|(path, e)| match e {
                    PathEndpoint::LongPoll(e) => {
                        let ctx = Self::new(e, format!("{label} {path} (long-poll)"), default_max);
                        Some((path.clone(), Arc::new(super::longpoll::LongPoll::new(ctx))))
                    }
                    _ => None,
                })
                .collect(),
            static_paths: {
                let mut dirs: Vec<(String, PathBuf)> = listener
                    .paths
                    .iter()
                    .filter_map(|(path, e)| match e {
                        PathEndpoint::Static(dir) => Some((path.clone(), dir.clone())),
                        PathEndpoint::WebSocket(_) | PathEndpoint::LongPoll(_) => None,
                    })
                    .collect();
                dirs.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
                dirs
            },
        }
    }

    /// The context a WebSocket upgrade to `path` is served with: its path's, or this
    /// listener's own when it has no paths; `None` for a path it does not serve.
    pub fn for_upgrade(self: &Arc<Self>, path: &str) -> Option<Arc<ListenerContext>> {
        if self.ws_paths.is_empty()
            && self.static_paths.is_empty()
            && self.longpoll_paths.is_empty()
        {
            return Some(self.clone());
        }
        let path = normalize_path(path);
        self.ws_paths
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, c)| c.clone())
    }

    /// The long-poll endpoint `path` is a request to, and the rest of the path.
    pub fn for_longpoll<'p>(
        &self,
        path: &'p str,
    ) -> Option<(Arc<super::longpoll::LongPoll>, &'p str)> {
        self.longpoll_paths.iter().find_map(|(prefix, lp)| {
            let rest = path.strip_prefix(prefix.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then(|| (lp.clone(), rest))
        })
    }

    /// The directory and the rest of `path` a plain HTTP request is served from.
    pub fn for_files<'p>(&self, path: &'p str) -> Option<(&std::path::Path, &'p str)> {
        for (prefix, dir) in &self.static_paths {
            let rest = if prefix == "/" {
                Some(path)
            } else {
                path.strip_prefix(prefix.as_str())
                    .filter(|r| r.is_empty() || r.starts_with('/'))
            };
            if let Some(rest) = rest {
                return Some((dir.as_path(), rest));
            }
        }
        self.static_dir.as_deref().map(|d| (d, path))
    }

    /// The context of in-process connections: every serializer (none is used), the
    /// router's size limit, every method.
    pub fn in_process(default_max: usize, trusted: bool) -> Self {
        Self {
            label: if trusted {
                "router-internal"
            } else {
                "in-process"
            }
            .into(),
            serializers: Serializer::ALL.to_vec(),
            max_message_size: default_max,
            auth_methods: AuthMethod::ALL.to_vec(),
            authenticator: None,
            max_sessions: None,
            open: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            trusted,
            static_dir: None,
            ws_paths: Vec::new(),
            static_paths: Vec::new(),
            longpoll_paths: Vec::new(),
            rawsocket: None,
        }
    }

    /// Counts a new connection in, or `None` when the listener is full (the caller refuses
    /// it). The slot is given back when the guard drops.
    pub fn admit(self: &Arc<Self>) -> Option<ConnectionSlot> {
        let now = self.open.fetch_add(1, Ordering::AcqRel) + 1;
        let slot = ConnectionSlot(self.clone());
        match self.max_sessions {
            Some(max) if now > max => {
                // Logged at the 1st, 2nd, 4th, 8th… refusal: a flood does not flood the log.
                let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
                if refused.is_power_of_two() {
                    tracing::warn!(
                        listener = %self.label,
                        max,
                        refused,
                        "connection refused: the listener's session limit is reached"
                    );
                }
                None
            }
            _ => Some(slot),
        }
    }

    /// Whether this listener lets a client use `serializer`.
    pub fn allows(&self, serializer: Serializer) -> bool {
        self.serializers.contains(&serializer)
    }
}

/// One open connection of a listener; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct ConnectionSlot(Arc<ListenerContext>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a session knows about its connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionInfo {
    pub listener: Arc<ListenerContext>,
    /// The `tls-exporter` channel binding, on a TLS connection.
    pub channel_binding: Option<[u8; 32]>,
    /// The peer's address, for logs and the meta API ("tcp4:127.0.0.1:50312").
    pub peer: String,
}
