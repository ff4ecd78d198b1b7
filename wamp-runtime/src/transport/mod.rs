//! Transports: connections that carry whole WAMP messages to and from a router.
//!
//! A [`Transport`] is a channel of messages to send and the [`Incoming`] messages received
//! (or the error that ended the connection). Each kind of connection fills them its own
//! way: [`websocket`] and [`rawsocket`] encode frames in a background task and decode them
//! in the task that reads [`Incoming`]; [`memory`] passes messages to a router in the same
//! process without serializing their envelope.

mod batch;
mod incoming;
mod keepalive;
pub mod memory;
pub mod rawsocket;
pub mod websocket;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::proto::Message;
use crate::serializer::Serializer;

pub use incoming::Incoming;

/// An open connection to a router.
#[derive(Debug)]
pub struct Transport {
    /// Messages to the router, in order. Dropping every sender closes the connection.
    pub outgoing: mpsc::Sender<Message>,
    /// Messages from the router. They end when the connection closes; an `Err` before the
    /// end says why it broke.
    pub incoming: Incoming,
    /// The serializer on the wire (`None` for an in-process connection).
    pub serializer: Option<Serializer>,
    /// The TLS connection's `tls-exporter` channel binding (RFC 9266), when there is TLS.
    pub channel_binding: Option<[u8; 32]>,
}

/// The `tls-exporter` channel binding (RFC 9266) of a client TLS connection.
pub(crate) fn channel_binding(conn: &rustls::ClientConnection) -> Option<[u8; 32]> {
    conn.export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
        .ok()
}

/// TLS settings trusting the Mozilla root certificates, with the ring provider.
pub(crate) fn default_tls() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Why a connection could not be opened, or broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The URL is not a `ws://` or `wss://` URL we can use.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The connection or its handshake failed.
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// Where we tried to connect.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The router sent something that is not a valid WAMP message.
    #[error("undecodable message from the router: {0}")]
    Decode(String),
    /// The connection broke.
    #[error("connection lost: {0}")]
    Io(String),
}

/// What a [`Connector`] needs to know to open a connection.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The serializer to speak.
    pub serializer: Serializer,
    /// The largest message accepted from the router, in bytes.
    pub max_message_size: usize,
    /// TLS settings for `wss://` (default: the Mozilla root certificates).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// How often to check that the router still answers (WebSocket and RawSocket pings
    /// when nothing else arrives): a connection silent for two of these is closed with an
    /// error. `None` for never.
    pub keepalive: Option<std::time::Duration>,
}

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Opens connections to one router: implemented for URLs here and for routers embedded in
/// the same process by `wamp-router`.
pub trait Connector: Send + Sync + 'static {
    /// Opens a new connection.
    fn connect(
        &self,
        options: &ConnectOptions,
    ) -> BoxFuture<'static, Result<Transport, TransportError>>;

    /// A short description for logs and errors (the URL, or "in-process").
    fn describe(&self) -> String;
}

/// Where a session connects: a `ws://`, `wss://`, `tcp://` or `unix://` URL, or any
/// [`Connector`].
#[derive(Clone)]
pub struct Endpoint {
    connector: Arc<dyn Connector>,
}

impl Endpoint {
    /// An endpoint opened by a custom connector.
    pub fn custom(connector: impl Connector) -> Self {
        Self {
            connector: Arc::new(connector),
        }
    }

    /// A URL: WebSocket (`ws://host:port/path`, `wss://…`) or RawSocket
    /// (`tcp://host:port`, `unix:///path`).
    pub fn url(url: impl Into<String>) -> Self {
        let url = url.into();
        if ["tcp://", "tcps://", "unix://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            Self::custom(rawsocket::RawSocketConnector::new(url))
        } else {
            Self::custom(websocket::WebSocketConnector::new(url))
        }
    }

    /// Opens a connection.
    pub async fn connect(&self, options: &ConnectOptions) -> Result<Transport, TransportError> {
        self.connector.connect(options).await
    }

    /// A short description (the URL, or "in-process").
    pub fn describe(&self) -> String {
        self.connector.describe()
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Endpoint").field(&self.describe()).finish()
    }
}

impl From<&str> for Endpoint {
    fn from(url: &str) -> Self {
        Endpoint::url(url)
    }
}

impl From<String> for Endpoint {
    fn from(url: String) -> Self {
        Endpoint::url(url)
    }
}

impl From<&String> for Endpoint {
    fn from(url: &String) -> Self {
        Endpoint::url(url.as_str())
    }
}
