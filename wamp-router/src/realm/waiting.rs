//! Requests that wait for the other nodes of a cluster before they are answered: a
//! node's first SUBSCRIBE to a pattern, every REGISTER and UNREGISTER. The session's
//! transport loop awaits [`Waiting::finish`] before it reads on, so a session's
//! requests keep their order; the realm's lock is not held meanwhile.

use std::sync::Arc;

use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::{code, Id, Message};

use super::pubsub::PendingSubscribe;
use super::register::register_refusal;
use super::{error_reply, Change, Realm};
use crate::cluster::{JoinError, RealmLink, RegisterClaim};

/// The error of a request the cluster could not serve (its shared store is unreachable).
pub(super) const CLUSTER_UNAVAILABLE: &str = "wamp.error.unavailable";

/// A request waiting for the cluster.
pub(crate) struct Waiting(Kind);

enum Kind {
    Subscribe(PendingSubscribe),
    Register {
        realm: Arc<Realm>,
        request: Id,
        claim: RegisterClaim,
    },
    Unregister {
        realm: Arc<Realm>,
        session: Id,
        request: Id,
        leave: (RealmLink, String, MatchPolicy),
    },
}

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match &self.0 {
            Kind::Subscribe(_) => "subscribe",
            Kind::Register { .. } => "register",
            Kind::Unregister { .. } => "unregister",
        };
        f.debug_tuple("Waiting").field(&what).finish()
    }
}

impl Waiting {
    pub(super) fn subscribe(pending: PendingSubscribe) -> Self {
        Self(Kind::Subscribe(pending))
    }

    pub(super) fn register(realm: Arc<Realm>, request: Id, claim: RegisterClaim) -> Self {
        Self(Kind::Register {
            realm,
            request,
            claim,
        })
    }

    pub(super) fn unregister(
        realm: Arc<Realm>,
        session: Id,
        request: Id,
        leave: (RealmLink, String, MatchPolicy),
    ) -> Self {
        Self(Kind::Unregister {
            realm,
            session,
            request,
            leave,
        })
    }

    /// Settles the request with the cluster, then answers it.
    pub async fn finish(self) {
        match self.0 {
            Kind::Subscribe(pending) => pending.finish().await,
            Kind::Register {
                realm,
                request,
                claim,
            } => finish_register(&realm, request, claim).await,
            Kind::Unregister {
                realm,
                session,
                request,
                leave: (link, procedure, policy),
            } => {
                link.unregister(&procedure, policy, session).await;
                let st = realm.state.lock();
                let reply = Message::Unregistered {
                    request,
                    details: None,
                };
                st.send(session, reply);
            }
        }
    }
}

async fn finish_register(realm: &Realm, request: Id, claim: RegisterClaim) {
    let settled = claim.settle().await;
    let session = claim.session();
    let (procedure, policy, invoke) = claim.procedure();
    let mut st = realm.state.lock();
    if !st.sessions.contains_key(&session) {
        // It left meanwhile: the record must not keep it.
        if settled.is_ok() {
            claim.link().unregistered(procedure, policy, session);
        }
        return;
    }
    let refuse = |uri: &str, text: String| error_reply(code::REGISTER, request, uri, text);
    let reply = match settled {
        Ok(r) => {
            // A newer version applied meanwhile (another callee joined) is the one to
            // show, with this callee in it.
            let mirror = match claim.link().take_turn(&r.key, r.revision) {
                true => r.mirror,
                false => claim.link().latest(&r.key).unwrap_or(r.mirror),
            };
            let existed = st.routing.registrations().lookup(procedure, policy);
            let mirrored = st.routing.mirror_registration(&mirror, Some(session));
            st.registrations_taken(mirrored, mirror.id);
            let id = st.routing.registrations().lookup(procedure, policy);
            let id = id.unwrap_or(mirror.id);
            let change = Change {
                id,
                first_or_last: existed != Some(id),
            };
            st.registration_events(session, change, true);
            Message::Registered {
                request,
                registration: change.id,
            }
        }
        Err(JoinError::Refused(e)) => {
            let (uri, text) = register_refusal(procedure, invoke, e);
            refuse(uri, text)
        }
        Err(JoinError::Store(e)) => {
            tracing::warn!(procedure, "registration refused: {e}");
            let text = format!("the cluster could not take the registration: {e}");
            refuse(CLUSTER_UNAVAILABLE, text)
        }
    };
    st.send(session, reply);
}
