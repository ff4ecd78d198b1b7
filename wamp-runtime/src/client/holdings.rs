//! What a session holds at the router and keeps across reconnections: its registrations
//! (the handler, the options, a revocation signal) and its local subscribers (several may
//! share one router subscription), by local key and by the router's current ID; putting
//! them in place when SUBSCRIBED or REGISTERED comes; and releasing them (UNREGISTER,
//! UNSUBSCRIBE on the connection they belong to).

use foldhash::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{oneshot, watch};

use super::error::Error;
use super::event_queue::EventSender;
use super::in_flight::{Deadline, Entry, Pending};
use super::register::ErasedHandler;
use super::restore::{settle, After};
use super::shared::{Shared, State};
use crate::proto::{Dict, Id, Message};

/// Set once, when the router revokes a registration or a subscription: the reason it gave.
pub(crate) type Revoked = Arc<watch::Sender<Option<String>>>;

/// What a local subscriber shares with its [`Subscription`](super::Subscription).
#[derive(Debug, Default)]
pub(crate) struct SubShared {
    /// Events dropped because the subscriber's buffer was full.
    pub dropped: AtomicU64,
    /// Why the subscription ended, when the session did not end with it.
    pub ended: Mutex<Option<String>>,
    /// The router's reason, when it revoked the subscription.
    pub revoked: Revoked,
}

/// One local consumer of a subscription (several may share the router's subscription).
pub(crate) struct LocalSub {
    pub key: u64,
    pub tx: EventSender,
    pub shared: Arc<SubShared>,
    /// The topic and SUBSCRIBE options, to subscribe again after a reconnection.
    pub topic: String,
    pub options: Dict,
}

/// A procedure this session registered.
pub(crate) struct Registered {
    pub key: u64,
    pub procedure: String,
    /// The REGISTER options, to register again after a reconnection.
    pub options: Dict,
    pub handler: Arc<ErasedHandler>,
    /// The router's reason, when it revoked the registration.
    pub revoked: Revoked,
}

/// The registrations and subscriptions of a session: those of the current connection,
/// and those kept to restore after the connection was lost.
#[derive(Default)]
pub(crate) struct Holdings {
    /// Registrations of the current connection, by the router's ID.
    pub registrations: HashMap<Id, Registered>,
    /// The router's registration ID of each local registration key.
    pub registration_ids: HashMap<u64, Id>,
    /// Subscriptions of the current connection, by the router's ID.
    pub subscriptions: HashMap<Id, Vec<LocalSub>>,
    /// The router's subscription ID of each local subscriber key.
    pub subscription_ids: HashMap<u64, Id>,
    /// Registrations and subscribers held when the connection was lost, to restore.
    pub detached_registrations: Vec<Registered>,
    pub detached_subscriptions: Vec<LocalSub>,
    /// Keys whose handles went while their restoring REGISTER or SUBSCRIBE was out.
    pub released: HashSet<u64>,
    /// Subscriptions whose UNSUBSCRIBE is on its way.
    pub unsubscribing: HashSet<Id>,
    /// The last local key given out.
    next_local: u64,
}

impl Holdings {
    /// The connection was lost: what it held is kept to restore on the next one, where
    /// the router's IDs mean nothing.
    pub fn detach(&mut self) {
        self.registration_ids.clear();
        self.detached_registrations
            .extend(self.registrations.drain().map(|(_, r)| r));
        self.subscription_ids.clear();
        for (_, locals) in self.subscriptions.drain() {
            self.detached_subscriptions.extend(locals);
        }
        self.unsubscribing.clear();
    }

    /// The session closed: nothing is held any more.
    pub fn clear(&mut self) {
        self.subscriptions.clear();
        self.registrations.clear();
        self.detached_subscriptions.clear();
        self.detached_registrations.clear();
    }
}

/// An UNSUBSCRIBE or UNREGISTER to send on the connection it belongs to.
pub(crate) struct Release {
    pub(super) generation: u64,
    pub(super) msg: Message,
}

/// Removes a detached registration or subscriber `key`; if it is not detached, its
/// restoring request is out: marks it released, to undo when the answer comes.
fn forget_detached<T>(
    st: &mut State,
    key: u64,
    list: impl Fn(&mut State) -> &mut Vec<T>,
    key_of: impl Fn(&T) -> u64,
) {
    let detached = list(st);
    match detached.iter().position(|x| key_of(x) == key) {
        Some(i) => drop(detached.swap_remove(i)),
        None => {
            let restoring = st.in_flight.iter().any(|(_, p)| match p {
                Pending::Subscribe {
                    locals,
                    reply: None,
                    ..
                } => locals.iter().any(|l| l.key == key),
                Pending::Register {
                    registered,
                    reply: None,
                    ..
                } => registered.key == key,
                _ => false,
            });
            if restoring {
                st.held.released.insert(key);
            }
        }
    }
}

impl Shared {
    /// A new local key for a registration or subscriber.
    pub fn next_local_key(&self) -> u64 {
        let mut st = self.state.lock();
        st.held.next_local += 1;
        st.held.next_local
    }

    /// The router's current ID for subscriber `key`, if it is subscribed now.
    pub fn subscription_id(&self, key: u64) -> Option<Id> {
        self.state.lock().held.subscription_ids.get(&key).copied()
    }

    /// The router's current ID for registration `key`, if it is registered now.
    pub fn registration_id(&self, key: u64) -> Option<Id> {
        self.state.lock().held.registration_ids.get(&key).copied()
    }

    /// Removes local subscriber `key`; if it was the last of its subscription, the
    /// UNSUBSCRIBE to send (with `reply` waiting for it), else `None`.
    pub fn drop_local_sub(
        &self,
        key: u64,
        reply: Option<oneshot::Sender<Result<(), Error>>>,
    ) -> Option<Release> {
        let mut st = self.state.lock();
        if st.closed.is_some() {
            return None;
        }
        let Some(subscription) = st.held.subscription_ids.remove(&key) else {
            forget_detached(
                &mut st,
                key,
                |s| &mut s.held.detached_subscriptions,
                |l| l.key,
            );
            return None;
        };
        let locals = st.held.subscriptions.get_mut(&subscription)?;
        locals.retain(|l| l.key != key);
        if !locals.is_empty() {
            return None;
        }
        st.held.subscriptions.remove(&subscription);
        st.held.unsubscribing.insert(subscription);
        let pending = Pending::Unsubscribe {
            subscription,
            reply,
        };
        Some(
            self.releasing(&mut st, pending, |request| Message::Unsubscribe {
                request,
                subscription,
            }),
        )
    }

    /// Removes registration `key`; the UNREGISTER to send, or `None` if the router does
    /// not hold it now.
    pub fn drop_registration(
        &self,
        key: u64,
        reply: Option<oneshot::Sender<Result<(), Error>>>,
    ) -> Option<Release> {
        let mut st = self.state.lock();
        if st.closed.is_some() {
            return None;
        }
        let Some(registration) = st.held.registration_ids.remove(&key) else {
            forget_detached(
                &mut st,
                key,
                |s| &mut s.held.detached_registrations,
                |r| r.key,
            );
            return None;
        };
        st.held.registrations.remove(&registration)?;
        let pending = Pending::Unregister(reply);
        Some(
            self.releasing(&mut st, pending, |request| Message::Unregister {
                request,
                registration,
            }),
        )
    }

    /// The UNSUBSCRIBE or UNREGISTER built by `msg` with a new request ID, `pending` waiting
    /// for its answer, for the current connection.
    fn releasing(
        &self,
        st: &mut State,
        pending: Pending,
        msg: impl FnOnce(Id) -> Message,
    ) -> Release {
        let request = self.requests.next_id();
        let deadline = Some(Deadline::after(self.config.request_timeout));
        self.track(st, request, Entry { pending, deadline });
        Release {
            generation: st.generation,
            msg: msg(request),
        }
    }

    /// Sends an UNSUBSCRIBE or UNREGISTER made by [`Shared::drop_local_sub`] or
    /// [`Shared::drop_registration`] (nothing to do for `None`), and waits for its answer.
    /// A connection that goes meanwhile counts as done: nothing is left to release.
    pub async fn release(
        &self,
        release: Option<Release>,
        answer: oneshot::Receiver<Result<(), Error>>,
    ) -> Result<(), Error> {
        let Some(Release { generation, msg }) = release else {
            return Ok(());
        };
        if self.send_in(generation, msg).await.is_err() {
            return Ok(());
        }
        // The table's timer answers it when the request timeout passes.
        answer.await.unwrap_or(Ok(()))
    }

    /// Sends a release from a `Drop`, without waiting.
    pub fn release_soon(&self, release: Option<Release>) {
        if let Some(Release { generation, msg }) = release {
            self.send_soon_in(generation, msg);
        }
    }
}

/// SUBSCRIBED for `pending` (a [`Pending::Subscribe`]): its subscribers receive events
/// from now on.
pub(super) async fn subscribed(shared: &Arc<Shared>, subscription: Id, pending: Pending) {
    let Pending::Subscribe {
        mut locals,
        topic,
        options,
        reply,
    } = pending
    else {
        return;
    };
    let after = {
        let mut st = shared.state.lock();
        let generation = st.generation;
        let mut after = After::default();
        if st.held.unsubscribing.contains(&subscription) {
            // The router answered with a subscription we are leaving: subscribe again
            // once the UNSUBSCRIBE has gone through.
            let request = shared.next_request();
            let again = Message::Subscribe {
                request,
                options: options.clone(),
                topic: topic.clone(),
            };
            let pending = Pending::Subscribe {
                locals,
                topic,
                options,
                reply,
            };
            st.in_flight.insert(request, pending, None);
            after.send = Some((generation, again));
            after
        } else {
            if reply.is_none() {
                let st = &mut *st;
                locals.retain(|l| !st.held.released.remove(&l.key));
            }
            if locals.is_empty() && !st.held.subscriptions.contains_key(&subscription) {
                // Every subscriber went while it was being restored.
                let request = shared.next_request();
                st.held.unsubscribing.insert(subscription);
                let unsubscribe = Pending::Unsubscribe {
                    subscription,
                    reply: None,
                };
                st.in_flight.insert(request, unsubscribe, None);
                let msg = Message::Unsubscribe {
                    request,
                    subscription,
                };
                after.send = Some((generation, msg));
            } else {
                for l in &locals {
                    st.held.subscription_ids.insert(l.key, subscription);
                }
                st.held
                    .subscriptions
                    .entry(subscription)
                    .or_default()
                    .extend(locals);
            }
            after.report = settle(&mut st, reply, subscription);
            after
        }
    };
    after.run(shared).await;
}

/// REGISTERED: the handler answers invocations from now on.
pub(super) async fn registered_one(
    shared: &Arc<Shared>,
    registration: Id,
    registered: Registered,
    reply: Option<tokio::sync::oneshot::Sender<Result<Id, Error>>>,
) {
    let after = {
        let mut st = shared.state.lock();
        let mut after = After::default();
        if reply.is_none() && st.held.released.remove(&registered.key) {
            // Its handle went while it was being restored.
            let request = shared.next_request();
            st.in_flight
                .insert(request, Pending::Unregister(None), None);
            let msg = Message::Unregister {
                request,
                registration,
            };
            after.send = Some((st.generation, msg));
        } else {
            st.held
                .registration_ids
                .insert(registered.key, registration);
            st.held.registrations.insert(registration, registered);
        }
        after.report = settle(&mut st, reply, registration);
        after
    };
    after.run(shared).await;
}
