//! The router taking a registration or a subscription away on its own (the revocation
//! messages of the Advanced Profile): the handle learns the reason, the lifecycle says
//! so, and the session goes on without it.

use super::lifecycle::SessionEvent;
use super::shared::Shared;
use crate::proto::{Dict, Value};

/// The reason of a revocation: the router's, or a default.
pub(super) fn revocation_reason(details: &Dict, default: &str) -> String {
    details
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or(default)
        .to_owned()
}

/// The router ended a subscription on its own (UNSUBSCRIBED with request 0): its local
/// subscribers' streams end with [`Error::Revoked`], and the lifecycle says so. It is not
/// subscribed again after a reconnection.
pub(super) fn revoke_subscription(shared: &Shared, details: &Dict) {
    let Some(id) = details.get("subscription").and_then(Value::as_u64) else {
        return;
    };
    let reason = revocation_reason(details, "wamp.error.unsubscribed");
    let mut st = shared.state.lock();
    let Some(locals) = st.held.subscriptions.remove(&id) else {
        tracing::debug!(subscription = id, "revocation of no subscription of ours");
        return;
    };
    let topic = locals.first().map(|l| l.topic.clone()).unwrap_or_default();
    for local in locals {
        st.held.subscription_ids.remove(&local.key);
        *local.shared.ended.lock() =
            Some(format!("the router revoked the subscription ({reason})"));
        local.shared.revoked.send_replace(Some(reason.clone()));
    }
    drop(st);
    tracing::info!(
        subscription = id,
        topic,
        reason,
        "the router revoked a subscription"
    );
    shared.emit(SessionEvent::SubscriptionRevoked { topic, reason });
}

/// The router ended a registration on its own (UNREGISTERED with request 0: another
/// session took the procedure over with `force_reregister`, or the registration was
/// removed through the meta API): its handle learns the reason, the lifecycle says so,
/// and the procedure is not registered again after a reconnection.
pub(super) fn revoke_registration(shared: &Shared, details: &Dict) {
    let Some(id) = details.get("registration").and_then(Value::as_u64) else {
        return;
    };
    let reason = revocation_reason(details, "wamp.error.unregistered");
    let mut st = shared.state.lock();
    let Some(r) = st.held.registrations.remove(&id) else {
        tracing::debug!(registration = id, "revocation of no registration of ours");
        return;
    };
    st.held.registration_ids.remove(&r.key);
    drop(st);
    r.revoked.send_replace(Some(reason.clone()));
    tracing::info!(registration = id, procedure = %r.procedure, reason, "the router revoked a registration");
    shared.emit(SessionEvent::RegistrationRevoked {
        procedure: r.procedure,
        reason,
    });
}
