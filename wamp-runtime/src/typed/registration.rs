//! What registering a service returns: its registrations, and its description handed to
//! the router (the reflection API) or, on a router without one, served by the service.

use std::time::Duration;

use tokio_util::task::AbortOnDropHandle;

use crate::client::{Args, Error, Registration, Session, SessionEvent, WampError};
use crate::interface::Interface;
use crate::proto::error;
use crate::StreamExt;

/// Every procedure of a service registered on one session, and the service's description
/// handed to the router: through `wamp.reflect.define` when the router has the reflection
/// API (again after each reconnection), else served by the service as
/// `{prefix}._description` (see [`crate::interface`]). Dropping it unregisters them all
/// (without waiting); [`unregister`](ServiceRegistration::unregister) waits.
#[derive(Debug)]
pub struct ServiceRegistration {
    registrations: Vec<Registration>,
    /// The procedure serving the description, on a router without reflection.
    description: Option<Registration>,
    /// Defines the description again after each reconnection.
    redefine: Option<AbortOnDropHandle<()>>,
}

impl ServiceRegistration {
    /// The registrations of a service, without a description.
    #[doc(hidden)]
    pub fn new(registrations: Vec<Registration>) -> Self {
        Self {
            registrations,
            description: None,
            redefine: None,
        }
    }

    /// The registrations of a service, its description handed to the router: through
    /// `wamp.reflect.define` when the router announces reflection (and again after each
    /// reconnection), else served by the service itself as `{prefix}._description`.
    /// When the router refuses the description (it disagrees with what another callee of
    /// a shared registration described), the procedures are unregistered and the
    /// router's error is returned. Other failures to describe are logged: the service
    /// works without a description.
    #[doc(hidden)]
    pub async fn described(
        session: &Session,
        registrations: Vec<Registration>,
        interface: Interface,
    ) -> Result<Self, Error> {
        let mut this = Self::new(registrations);
        if session.router_supports("dealer", "reflection") {
            if let Err(e) = define(session, &interface).await {
                let _ = this.unregister().await;
                return Err(e);
            }
            this.redefine = Some(redefine_on_reconnect(session, interface));
        } else if let Some(prefix) = interface.prefix.clone() {
            this.description = serve(session, &prefix, interface).await;
        }
        Ok(this)
    }

    /// The registrations, one per procedure, in declaration order.
    pub fn registrations(&self) -> &[Registration] {
        &self.registrations
    }

    /// Unregisters every procedure and waits for the router; the first error, if any.
    pub async fn unregister(self) -> Result<(), Error> {
        let mut first = Ok(());
        for r in self.registrations.into_iter().chain(self.description) {
            if let Err(e) = r.unregister().await {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }

    /// The procedures the router took away (registration revocation), with its reasons.
    pub fn revoked(&self) -> Vec<(String, String)> {
        self.registrations
            .iter()
            .filter_map(|r| r.revoked().map(|why| (r.procedure().to_owned(), why)))
            .collect()
    }

    /// Waits until the router revokes one of the procedures: that procedure and the
    /// router's reason.
    pub async fn revocation(&self) -> (String, String) {
        if self.registrations.is_empty() {
            return std::future::pending().await;
        }
        let waits = self
            .registrations
            .iter()
            .map(|r| Box::pin(async move { (r.procedure().to_owned(), r.revocation().await) }));
        futures_util::future::select_all(waits).await.0
    }

    /// Keeps every procedure registered (and described) until the session ends.
    pub fn detach(self) {
        for r in self.registrations.into_iter().chain(self.description) {
            r.detach();
        }
        if let Some(task) = self.redefine {
            drop(task.detach());
        }
    }
}

/// How long the router may take to answer `wamp.reflect.define`.
const DEFINE_TIMEOUT: Duration = Duration::from_secs(10);

/// Hands `interface` to the router with `wamp.reflect.define`. `Err` only when the router
/// refuses it as a description (`wamp.error.invalid_argument`).
async fn define(session: &Session, interface: &Interface) -> Result<(), Error> {
    let answer: Result<crate::Value, Error> = session
        .call("wamp.reflect.define", (interface,))
        .timeout(DEFINE_TIMEOUT)
        .await;
    match answer {
        Ok(_) => Ok(()),
        Err(Error::Application(w)) if w.uri == error::INVALID_ARGUMENT => {
            tracing::warn!(service = interface.name, error = %w, "the router refused the service's description");
            Err(Error::Application(w))
        }
        Err(e) => {
            tracing::warn!(service = interface.name, error = %e, "the service's description could not be defined; it works without one");
            Ok(())
        }
    }
}

/// Defines `interface` again each time the session comes back (the router forgot it with
/// the old session).
/// It holds no strong handle: a detached service does not keep the session open.
fn redefine_on_reconnect(session: &Session, interface: Interface) -> AbortOnDropHandle<()> {
    let weak = session.downgrade();
    let mut lifecycle = session.lifecycle();
    AbortOnDropHandle::new(tokio::spawn(async move {
        while let Some(event) = lifecycle.next().await {
            if let SessionEvent::Reconnected { .. } = event {
                let Some(session) = weak.upgrade() else {
                    return;
                };
                if session.router_supports("dealer", "reflection") {
                    let _ = define(&session, &interface).await;
                }
            }
        }
    }))
}

/// Serves `interface` as `{prefix}._description` (shared, if the router shares
/// registrations, so that every instance of a service can serve it).
async fn serve(session: &Session, prefix: &str, interface: Interface) -> Option<Registration> {
    let uri = format!("{prefix}._description");
    let interface = std::sync::Arc::new(interface);
    let name = interface.name.clone();
    let mut register = session.register(uri.as_str(), move |_: Args| {
        let interface = interface.clone();
        async move { Ok::<_, WampError>(interface.as_ref().clone()) }
    });
    if session.router_supports("dealer", "shared_registration") {
        register = register.invoke("roundrobin");
    }
    match register.await {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(service = name, uri, error = %e, "the service's description is not served");
            None
        }
    }
}
