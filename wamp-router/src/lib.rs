//! A WAMP router: realms with a broker and a dealer, over WebSocket and RawSocket (TCP,
//! TLS, Unix sockets) with JSON, MessagePack and CBOR; authentication (anonymous, ticket,
//! WAMP-CRA, WAMP-Cryptosign, dynamic authenticators), roles, and limits per listener and
//! per session. Configure it with [`RouterBuilder`] or a TOML file
//! ([`Router::from_config_file`]).
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
mod builder;
mod calls;
mod cluster;
mod config;
mod dealer;
mod fanout;
mod history;
mod http;
mod internal;
mod listener;
mod log_layer;
mod metrics;
mod outbox;
mod realm;
mod reflection;
mod running;
mod session;
mod sparse;
mod timestamp;
mod tls;
mod uri_index;
mod validation;

use std::net::SocketAddr;

pub use crate::auth::{AuthMethod, Authenticator};
pub use crate::authorizer::{Action, Permission};
pub use crate::builder::{RouterBuilder, RouterConfig};
pub use crate::cluster::Cluster;
pub use crate::config::ConfigError;
pub use crate::history::EventHistory;
pub use crate::listener::settings::Listener;
pub use crate::log_layer::LogLayer;
pub use crate::metrics::RouterStats;
pub use crate::outbox::SlowConsumer;
pub use crate::running::RouterHandle;
pub(crate) use crate::running::RouterInner;
pub use crate::tls::ServerTls;
pub use crate::uri_index::UriIndex;

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
    /// A TLS certificate or key could not be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The cluster could not be joined (NATS unreachable, JetStream off).
    #[error("cluster: {0}")]
    Cluster(String),
}

/// The entry point: `Router::builder()`.
pub struct Router;

impl Router {
    /// A builder configured by a TOML file (see `examples/router.toml` for every key);
    /// relative paths in it start at the file's directory.
    pub fn from_config_file(
        path: impl AsRef<std::path::Path>,
    ) -> Result<RouterBuilder, ConfigError> {
        config::load(path.as_ref())
    }

    /// A builder with the defaults: no realms until one is added, and a WebSocket
    /// listener on 127.0.0.1:8080 unless listeners are added.
    pub fn builder() -> RouterBuilder {
        RouterBuilder {
            listeners: Vec::new(),
            realms: Vec::new(),
            config: RouterConfig::default(),
        }
    }
}
