//! The async WAMP client: one [`Session`] for calling, registering, publishing and
//! subscribing, over WebSocket or in-process, against any WAMP router.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wamp_runtime::Error> {
//! use wamp_runtime::{Session, Serializer, WampError};
//!
//! let session = Session::builder("ws://127.0.0.1:8080/ws", "realm1")
//!     .serializer(Serializer::MsgPack)
//!     .connect()
//!     .await?;
//! let _add = session
//!     .register("com.example.add", |(a, b): (i64, i64)| async move {
//!         Ok::<_, WampError>(a + b)
//!     })
//!     .await?;
//! let sum: i64 = session.call("com.example.add", (2, 3)).await?;
//! assert_eq!(sum, 5);
//! session.leave().await?;
//! # Ok(()) }
//! ```

mod args;
mod auth;
mod call;
mod callee;
mod cancel;
mod connect;
mod error;
mod event_queue;
mod history;
mod holdings;
mod in_flight;
mod lifecycle;
pub mod meta;
mod opaque;
mod outgoing;
mod publish;
mod reconnect;
mod register;
mod restore;
mod revocation;
mod shared;
mod subscribe;
mod task;
mod testament;

use std::sync::Arc;

pub use args::{Args, FromArgs, FromResult, IntoArgs, IntoResult};
pub use auth::{wampcra_signature, CryptosignKey};
pub use call::{Call, ProgressiveCall, ProgressiveResults};
pub use cancel::CancelHandle;
pub use connect::SessionBuilder;
pub use error::{Error, WampError};
pub use history::{HistoryEvent, HistoryQuery};
pub use lifecycle::{Lifecycle, SessionEvent};
pub use opaque::Opaque;
pub(crate) use outgoing::Slot;
#[doc(hidden)]
pub use outgoing::{Outgoing, Wire};
pub use publish::Publish;
pub use reconnect::ReconnectPolicy;
pub use register::{CallDetails, Handler, Procedure, Progress, Register, Registration};
pub use subscribe::{Event, EventDetails, Subscribe, Subscription};
pub use testament::{Testament, TestamentScope};

use crate::proto::{close, Dict, Id, Message, Value};
use crate::transport::Endpoint;
use shared::Shared;

/// A WAMP session joined to a realm.
///
/// Clones are cheap and share the session. The session closes when [`leave`] is called,
/// when the router ends it or the connection drops (unless it was built with a
/// [`reconnect`] policy: it then comes back by itself, see [`lifecycle`]), or when the
/// last clone is dropped (it then sends GOODBYE without waiting for the answer).
/// Registrations and subscriptions hold a clone, and so do handlers that capture one.
///
/// [`leave`]: Session::leave
/// [`reconnect`]: SessionBuilder::reconnect
/// [`lifecycle`]: Session::lifecycle
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
    _last: Arc<LastHandle>,
}

/// Closes the session when the last handle goes.
struct LastHandle(Arc<Shared>);

/// A handle that does not keep the session open (for tasks that serve it while it lives).
#[derive(Clone)]
pub(crate) struct WeakSession {
    shared: Arc<Shared>,
    last: std::sync::Weak<LastHandle>,
}

impl WeakSession {
    /// The session, unless its last handle went.
    pub(crate) fn upgrade(&self) -> Option<Session> {
        Some(Session {
            shared: self.shared.clone(),
            _last: self.last.upgrade()?,
        })
    }
}

impl Drop for LastHandle {
    fn drop(&mut self) {
        if !self.0.is_closed() {
            let bye = Message::goodbye(close::CLOSE_REALM);
            self.0.send_soon_in(self.0.generation(), bye);
            self.0.close("the session was dropped");
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id())
            .field("realm", &self.realm())
            .finish()
    }
}

impl Session {
    /// Starts configuring a session to `endpoint` (a `ws://` or `wss://` URL, or an
    /// in-process endpoint of an embedded router) in `realm`.
    pub fn builder(endpoint: impl Into<Endpoint>, realm: impl Into<String>) -> SessionBuilder {
        SessionBuilder::new(endpoint.into(), realm.into())
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Self {
            _last: Arc::new(LastHandle(shared.clone())),
            shared,
        }
    }

    /// A handle that does not keep the session open.
    pub(crate) fn downgrade(&self) -> WeakSession {
        WeakSession {
            shared: self.shared.clone(),
            last: Arc::downgrade(&self._last),
        }
    }

    /// The session ID the router gave (a new one after each reconnection).
    pub fn id(&self) -> Id {
        self.shared.info().id
    }

    /// The realm joined.
    pub fn realm(&self) -> String {
        self.shared.info().realm.clone()
    }

    /// The authentication ID the router assigned.
    pub fn authid(&self) -> Option<String> {
        self.welcome_str("authid")
    }

    /// The authentication role the router assigned.
    pub fn authrole(&self) -> Option<String> {
        self.welcome_str("authrole")
    }

    /// The authentication method used.
    pub fn authmethod(&self) -> Option<String> {
        self.welcome_str("authmethod")
    }

    /// WELCOME.Details as the router sent them (its roles and features, agent…).
    pub fn welcome_details(&self) -> Dict {
        self.shared.info().details.clone()
    }

    /// The roles the router announced (`broker`, `dealer`) with their features.
    pub fn router_roles(&self) -> Option<Dict> {
        self.shared
            .info()
            .details
            .get("roles")
            .and_then(Value::as_dict)
            .cloned()
    }

    /// Whether the router announced `feature` for `role`, e.g. `("dealer", "call_canceling")`.
    pub fn router_supports(&self, role: &str, feature: &str) -> bool {
        self.shared.router_has(role, feature)
    }

    fn welcome_str(&self, key: &str) -> Option<String> {
        self.shared
            .info()
            .details
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// The serializer the session writes arguments in ahead of their frames.
    pub(crate) fn wire(&self) -> Wire {
        self.shared.config.wire
    }

    /// Calls `procedure` with `args` (see [`Call`] for options and the typed result).
    pub fn call<R>(&self, procedure: impl Into<String>, args: impl IntoArgs) -> Call<R> {
        let args = args.into_outgoing(self.shared.config.wire);
        Call::new(self.clone(), procedure.into(), args)
    }

    /// Starts a call whose arguments are sent in parts (see [`ProgressiveCall`]).
    pub fn progressive_call<R: FromResult>(
        &self,
        procedure: impl Into<String>,
    ) -> ProgressiveCall<R> {
        ProgressiveCall::new(self.clone(), procedure.into())
    }

    /// Registers `handler` for `procedure` (see [`Register`] for options).
    pub fn register<M, H: Handler<M>>(&self, procedure: impl Into<String>, handler: H) -> Register {
        Register::new(self.clone(), procedure.into(), handler.into_erased())
    }

    /// Publishes `args` to `topic` (see [`Publish`] for options).
    pub fn publish(&self, topic: impl Into<String>, args: impl IntoArgs) -> Publish {
        let args = args.into_outgoing(self.shared.config.wire);
        Publish::new(self.clone(), topic.into(), args)
    }

    /// Subscribes to `topic`, reading each event as `T` (see [`Subscribe`] for options).
    pub fn subscribe<T: FromArgs>(&self, topic: impl Into<String>) -> Subscribe<T> {
        Subscribe::new(self.clone(), topic.into())
    }

    /// Leaves the realm: sends GOODBYE, waits for the router's (within the request
    /// timeout), and closes the connection. Calls still waiting fail with
    /// [`Error::Closed`].
    pub async fn leave(&self) -> Result<(), Error> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.shared.expect_goodbye(tx)?;
        if !self.shared.is_attached() {
            // Disconnected: there is no one to say goodbye to.
            self.shared.close("left the realm");
            return Ok(());
        }
        let bye = Message::goodbye(close::CLOSE_REALM);
        let sent = self.shared.send_in(self.shared.generation(), bye).await;
        let timeout = self.shared.config.request_timeout;
        let answered = match sent {
            Ok(()) => tokio::time::timeout(timeout, rx).await,
            Err(e) => {
                self.shared.close("left the realm");
                return Err(e);
            }
        };
        self.shared.close("left the realm");
        match answered {
            Ok(_) => Ok(()),
            Err(_) => Err(Error::Timeout(timeout)),
        }
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Whether the session is joined on a live connection (false while a session with
    /// a reconnect policy is reconnecting, and once it is closed).
    pub fn is_connected(&self) -> bool {
        self.shared.is_connected()
    }

    /// The session's lifecycle: connected, disconnected (with why), reconnecting,
    /// reconnected, gave up, closed (see [`SessionEvent`]). Each call makes a new stream,
    /// which starts with where the session is now.
    ///
    /// ```no_run
    /// # async fn demo(session: wamp_runtime::Session) {
    /// use wamp_runtime::{SessionEvent, StreamExt};
    /// let mut lifecycle = session.lifecycle();
    /// while let Some(event) = lifecycle.next().await {
    ///     if let SessionEvent::Reconnected { session, .. } = event {
    ///         println!("back as session {session}");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn lifecycle(&self) -> Lifecycle {
        self.shared.lifecycle()
    }

    /// Waits until the session is over, and says why.
    pub async fn closed(&self) -> String {
        self.shared.closed().await;
        self.shared
            .close_reason()
            .unwrap_or_else(|| "closed".into())
    }
}
