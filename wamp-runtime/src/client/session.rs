//! The state a session's handles share with its background task ([`super::task`]): the
//! requests waiting for the router, the registrations and subscriptions held (their types
//! and their release are [`super::holdings`]'s), and the connection, which a session with
//! a reconnect policy replaces when it is lost.
//!
//! Every connection has a generation number. A request records the generation it was
//! sent on, and anything that answers or undoes it (YIELD, CANCEL, UNSUBSCRIBE…) is only
//! sent on that same connection: request, registration and subscription IDs mean nothing
//! to the router of the next one.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use super::args::Args;
use super::connect::SessionBuilder;
use super::error::Error;
use super::holdings::{LocalSub, Registered};
use super::reconnect::{Lifecycle, SessionEvent};
use crate::proto::{Dict, Id, IdSequence, Message};

/// What the router told us about the session in WELCOME.
#[derive(Debug, Clone)]
pub(crate) struct SessionInfo {
    pub id: Id,
    pub realm: String,
    pub details: Dict,
}

/// Settings fixed when the session is opened.
#[derive(Debug, Clone)]
pub(crate) struct SessionConfig {
    pub request_timeout: Duration,
    pub call_timeout: Option<Duration>,
    pub subscription_buffer: usize,
    /// Whether requests made while disconnected wait for the reconnection.
    pub wait_while_disconnected: bool,
}

/// A request waiting for the router's answer.
pub(crate) enum Pending {
    /// Any answer, handed to the waiting operation as it is.
    Reply(oneshot::Sender<Result<Message, Error>>),
    /// A call that receives progressive results: every RESULT is handed on, and the
    /// request stays pending until the final one (or an ERROR).
    Progress(mpsc::UnboundedSender<Result<Message, Error>>),
    /// A SUBSCRIBE: on SUBSCRIBED, the local subscribers start receiving events before
    /// any further message is read, so no event can slip past them. Without `reply`, it
    /// restores subscriptions after a reconnection.
    Subscribe {
        locals: Vec<LocalSub>,
        topic: String,
        options: Dict,
        reply: Option<oneshot::Sender<Result<Id, Error>>>,
    },
    /// A REGISTER: on REGISTERED, the handler is in place before any INVOCATION is read.
    /// Without `reply`, it restores a registration after a reconnection.
    Register {
        registered: Registered,
        reply: Option<oneshot::Sender<Result<Id, Error>>>,
        /// Whether it already asks for `force_reregister` after a refusal.
        forced: bool,
    },
    /// An UNSUBSCRIBE, with whoever waits for it (nobody, after a drop).
    Unsubscribe {
        subscription: Id,
        reply: Option<oneshot::Sender<Result<(), Error>>>,
    },
    /// An UNREGISTER, with whoever waits for it (nobody, after a drop).
    Unregister(Option<oneshot::Sender<Result<(), Error>>>),
}

#[derive(Default)]
pub(crate) struct State {
    pub pending: HashMap<Id, Pending>,
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
    /// Restoring requests still unanswered, with what failed so far.
    pub restoring: usize,
    pub restore_failures: Vec<(String, String)>,
    pub reconnect_attempts: u32,
    /// Subscriptions whose UNSUBSCRIBE is on its way.
    pub unsubscribing: HashSet<Id>,
    /// Invocations being handled, by request ID.
    pub running: HashMap<Id, AbortHandle>,
    /// Progressive call invocations still receiving arguments, by request ID.
    pub inputs: HashMap<Id, mpsc::UnboundedSender<Args>>,
    /// Progressive invocations that ended recently: later parts of them are discarded.
    pub ended_inputs: VecDeque<Id>,
    /// The session IDs of earlier connections (the last few): a registration the router
    /// still holds for one of them is ours to take back with `force_reregister`.
    pub previous_sessions: VecDeque<Id>,
    /// The operation waiting for the router's GOODBYE, once we sent ours.
    pub goodbye: Option<oneshot::Sender<()>>,
    /// The generation of the current (or, while disconnected, the next) connection.
    pub generation: u64,
    /// Whether a connection is in place (it may still be restoring).
    pub attached: bool,
    /// Why the session cannot take requests, while it cannot: its connection is down,
    /// or is restoring registrations and subscriptions after a reconnection.
    pub down: Option<String>,
    /// Why the session is over, once it is.
    pub closed: Option<String>,
    pub(super) next_local: u64,
}

/// The connection messages go out on.
struct Out {
    generation: u64,
    tx: Option<mpsc::Sender<Message>>,
}

/// The state a session's handles and its background task share.
pub(crate) struct Shared {
    out: Mutex<Out>,
    /// Held while a CALL gets its request ID and is queued, so that CALLs leave in ID
    /// order (a router that takes progressive call invocations reads a lower ID as the
    /// continuation of an earlier call).
    call_order: tokio::sync::Mutex<()>,
    pub(crate) state: Mutex<State>,
    /// Cancelled when the session is over for good.
    closed: CancellationToken,
    /// Bumped whenever the connection comes up, for requests waiting for it.
    link: watch::Sender<u64>,
    events: broadcast::Sender<SessionEvent>,
    pub(super) requests: IdSequence,
    info: RwLock<Arc<SessionInfo>>,
    pub config: SessionConfig,
    /// How to open the session again, when it has a reconnect policy.
    pub rejoin: Option<Box<SessionBuilder>>,
}

impl Shared {
    pub fn new(
        info: SessionInfo,
        config: SessionConfig,
        rejoin: Option<Box<SessionBuilder>>,
    ) -> Self {
        Self {
            out: Mutex::new(Out {
                generation: 0,
                tx: None,
            }),
            call_order: tokio::sync::Mutex::new(()),
            state: Mutex::new(State::default()),
            closed: CancellationToken::new(),
            link: watch::Sender::new(0),
            events: broadcast::Sender::new(64),
            requests: IdSequence::new(),
            info: RwLock::new(Arc::new(info)),
            config,
            rejoin,
        }
    }

    /// What WELCOME said for the current connection.
    pub fn info(&self) -> Arc<SessionInfo> {
        self.info.read().clone()
    }

    /// The next request ID of this session.
    pub fn next_request(&self) -> Id {
        self.requests.next_id()
    }

    /// Whether the router announced `feature` for `role` in WELCOME.
    pub fn router_has(&self, role: &str, feature: &str) -> bool {
        crate::proto::roles::Announced::of(&self.info().details).has(role, feature)
    }

    /// The error for operations that cannot go on: the session is closed, or its
    /// connection is down.
    pub fn closed_error(&self) -> Error {
        let st = self.state.lock();
        match (&st.closed, &st.down) {
            (Some(reason), _) => Error::Closed(reason.clone()),
            (None, Some(reason)) => Error::Disconnected(reason.clone()),
            (None, None) => Error::Disconnected("the connection was lost".into()),
        }
    }

    /// Why the session closed, if it did.
    pub fn close_reason(&self) -> Option<String> {
        self.state.lock().closed.clone()
    }

    /// Whether a connection is in place (taking requests, or restoring).
    pub fn is_attached(&self) -> bool {
        self.state.lock().attached
    }

    /// Whether the session is joined on a live connection and takes requests.
    pub fn is_connected(&self) -> bool {
        let st = self.state.lock();
        st.closed.is_none() && st.down.is_none()
    }

    /// Records `pending` under a new request ID on the current connection, waiting for
    /// the reconnection first if the connection is down and the session waits: the
    /// connection's generation and the request ID.
    pub async fn enter(&self, pending: Option<Pending>) -> Result<(u64, Id), Error> {
        let mut pending = pending;
        let mut up: Option<watch::Receiver<u64>> = None;
        loop {
            {
                let mut st = self.state.lock();
                if let Some(reason) = &st.closed {
                    return Err(Error::Closed(reason.clone()));
                }
                match &st.down {
                    None => {
                        let request = self.requests.next_id();
                        if let Some(p) = pending.take() {
                            st.pending.insert(request, p);
                        }
                        return Ok((st.generation, request));
                    }
                    Some(reason) if !self.config.wait_while_disconnected => {
                        return Err(Error::Disconnected(reason.clone()));
                    }
                    Some(_) => {}
                }
            }
            match &mut up {
                // Watch first, then look again: a reconnection in between is not missed.
                None => up = Some(self.link.subscribe()),
                Some(rx) => {
                    tokio::select! {
                        _ = rx.changed() => {}
                        _ = self.closed.cancelled() => {}
                    }
                }
            }
        }
    }

    /// Sends a message on connection `generation`; fails if that connection is gone.
    pub async fn send_in(&self, generation: u64, msg: Message) -> Result<(), Error> {
        let tx = {
            let out = self.out.lock();
            if out.generation != generation {
                None
            } else {
                out.tx.clone()
            }
        };
        match tx {
            Some(tx) => tx.send(msg).await.map_err(|_| self.closed_error()),
            None => Err(self.closed_error()),
        }
    }

    /// Sends a message that starts nothing the router answers (an unacknowledged
    /// PUBLISH), built for its request ID, waiting for the reconnection like
    /// [`Shared::enter`].
    pub async fn send(&self, build: impl FnOnce(Id) -> Message) -> Result<(), Error> {
        let (generation, request) = self.enter(None).await?;
        self.send_in(generation, build(request)).await
    }

    /// Sends a message on the current connection now, if there is one.
    pub async fn send_now(&self, msg: Message) -> Result<(), Error> {
        let generation = self.out.lock().generation;
        self.send_in(generation, msg).await
    }

    /// Sends a message on connection `generation` without waiting, from code that cannot
    /// (a `Drop`): if the queue is full, a task sends it.
    pub fn send_soon_in(&self, generation: u64, msg: Message) {
        let tx = {
            let out = self.out.lock();
            if out.generation != generation {
                return;
            }
            match &out.tx {
                Some(tx) => tx.clone(),
                None => return,
            }
        };
        if let Err(mpsc::error::TrySendError::Full(msg)) = tx.try_send(msg) {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = tx.send(msg).await;
                });
            }
        }
    }

    /// [`Shared::send_soon_in`] on the current connection.
    pub fn send_soon(&self, msg: Message) {
        let generation = self.out.lock().generation;
        self.send_soon_in(generation, msg);
    }

    /// Sends a new CALL built for its request ID, recorded as `pending`, in request-ID
    /// order with every other new CALL of the session: the connection's generation and
    /// the request ID. If the connection is lost before it is sent, `pending` gets the
    /// error.
    pub async fn send_call(
        &self,
        pending: Pending,
        build: impl FnOnce(Id) -> Message,
    ) -> Result<(u64, Id), Error> {
        let _order = self.call_order.lock().await;
        let (generation, request) = self.enter(Some(pending)).await?;
        // A failed send means the connection is going: its loss answers `pending`.
        let _ = self.send_in(generation, build(request)).await;
        Ok((generation, request))
    }

    /// Forgets a request (its waiter gave up): the generation of its connection if it
    /// was still pending.
    pub fn remove_pending(&self, request: Id) -> Option<u64> {
        let mut st = self.state.lock();
        st.pending.remove(&request).map(|_| st.generation)
    }

    /// Records `pending`, sends the request `build` makes for its ID, and waits for the
    /// answer on `rx`, all within `timeout` (including a wait for the reconnection). The
    /// request is forgotten if the wait ends any other way.
    pub async fn roundtrip<T>(
        &self,
        pending: Pending,
        build: impl FnOnce(Id) -> Message,
        rx: oneshot::Receiver<Result<T, Error>>,
        timeout: Duration,
    ) -> Result<T, Error> {
        struct Forget<'a>(&'a Shared, Id);
        impl Drop for Forget<'_> {
            fn drop(&mut self) {
                self.0.remove_pending(self.1);
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let (generation, request) = tokio::time::timeout_at(deadline, self.enter(Some(pending)))
            .await
            .map_err(|_| Error::Timeout(timeout))??;
        let _forget = Forget(self, request);
        // A failed send means the connection is going: its loss answers the request (or
        // keeps it to send again on the next connection).
        let _ = self.send_in(generation, build(request)).await;
        match tokio::time::timeout_at(deadline, rx).await {
            Err(_) => Err(Error::Timeout(timeout)),
            Ok(Err(_)) => Err(self.closed_error()),
            Ok(Ok(answer)) => answer,
        }
    }

    /// Starts leaving: records who waits for the router's GOODBYE.
    pub fn expect_goodbye(&self, tx: oneshot::Sender<()>) -> Result<(), Error> {
        let mut st = self.state.lock();
        if let Some(reason) = &st.closed {
            return Err(Error::Closed(reason.clone()));
        }
        st.goodbye = Some(tx);
        Ok(())
    }

    /// A stream of the session's lifecycle events, starting with where it is now.
    pub fn lifecycle(&self) -> Lifecycle {
        let rx = self.events.subscribe();
        let first = {
            let st = self.state.lock();
            match (&st.closed, &st.down) {
                (Some(reason), _) => SessionEvent::Closed {
                    reason: reason.clone(),
                },
                (None, Some(reason)) => SessionEvent::Disconnected {
                    reason: reason.clone(),
                    reconnecting: true,
                },
                (None, None) => SessionEvent::Connected {
                    session: self.info().id,
                },
            }
        };
        Lifecycle::new(first, rx)
    }

    /// Tells the lifecycle streams.
    pub fn emit(&self, event: SessionEvent) {
        let _ = self.events.send(event);
    }

    /// Puts a new connection in place (the first, or one made by reconnecting): messages
    /// go out on it. With `ready`, requests waiting for it proceed; else they wait for
    /// [`Shared::ready`] (once the session's registrations and subscriptions are back).
    /// `None` if the session closed meanwhile.
    pub fn attach(
        &self,
        outgoing: mpsc::Sender<Message>,
        info: SessionInfo,
        ready: bool,
    ) -> Option<u64> {
        let generation = {
            let mut st = self.state.lock();
            if st.closed.is_some() {
                return None;
            }
            st.attached = true;
            let previous = std::mem::replace(&mut *self.info.write(), Arc::new(info));
            if previous.id != 0 && st.previous_sessions.back() != Some(&previous.id) {
                if st.previous_sessions.len() == 8 {
                    st.previous_sessions.pop_front();
                }
                st.previous_sessions.push_back(previous.id);
            }
            *self.out.lock() = Out {
                generation: st.generation,
                tx: Some(outgoing),
            };
            st.generation
        };
        if ready {
            self.ready();
        }
        Some(generation)
    }

    /// The session takes requests again: those waiting for the reconnection proceed.
    pub fn ready(&self) {
        {
            let mut st = self.state.lock();
            if !st.attached {
                return;
            }
            st.down = None;
        }
        self.link.send_modify(|n| *n += 1);
    }

    /// The connection is lost and the session will try to come back: calls in flight
    /// fail (they may or may not have run), running invocations stop (their answers
    /// could not be delivered), and registrations and subscribers are kept to restore.
    /// Requests to register or subscribe that were out are kept to send again, or fail
    /// when the session does not wait while disconnected.
    pub fn detach(&self, reason: &str) {
        let (failed, running) = {
            let mut st = self.state.lock();
            if st.closed.is_some() || !st.attached {
                return;
            }
            st.attached = false;
            st.down = Some(reason.to_owned());
            st.generation += 1;
            *self.out.lock() = Out {
                generation: st.generation,
                tx: None,
            };
            let st = &mut *st;
            st.registration_ids.clear();
            st.detached_registrations
                .extend(st.registrations.drain().map(|(_, r)| r));
            st.subscription_ids.clear();
            for (_, locals) in st.subscriptions.drain() {
                st.detached_subscriptions.extend(locals);
            }
            st.unsubscribing.clear();
            st.inputs.clear();
            st.ended_inputs.clear();
            st.goodbye = None;
            st.restoring = 0;
            st.restore_failures.clear();
            let mut failed = Vec::new();
            let wait = self.config.wait_while_disconnected;
            for (request, p) in std::mem::take(&mut st.pending) {
                match p {
                    Pending::Subscribe {
                        locals,
                        reply: None,
                        ..
                    } => st.detached_subscriptions.extend(locals),
                    Pending::Register {
                        registered,
                        reply: None,
                        ..
                    } => st.detached_registrations.push(registered),
                    p @ (Pending::Subscribe { .. } | Pending::Register { .. }) if wait => {
                        st.pending.insert(request, p);
                    }
                    p => failed.push(p),
                }
            }
            (failed, std::mem::take(&mut st.running))
        };
        tracing::info!(%reason, "connection lost");
        fail_all(failed, || Error::Disconnected(reason.to_owned()));
        for (_, task) in running {
            task.abort();
        }
    }

    /// Ends the session for good: every waiting request fails with `reason`,
    /// subscriptions end, running invocations stop, and the transport closes once its
    /// queue is written.
    pub fn close(&self, reason: impl Into<String>) {
        let reason = reason.into();
        let (pending, running) = {
            let mut st = self.state.lock();
            if st.closed.is_some() {
                return;
            }
            st.closed = Some(reason.clone());
            st.attached = false;
            st.subscriptions.clear();
            st.registrations.clear();
            st.detached_subscriptions.clear();
            st.detached_registrations.clear();
            st.goodbye = None;
            st.generation += 1;
            *self.out.lock() = Out {
                generation: st.generation,
                tx: None,
            };
            (
                std::mem::take(&mut st.pending),
                std::mem::take(&mut st.running),
            )
        };
        tracing::debug!(session = self.info().id, %reason, "session closed");
        self.closed.cancel();
        fail_all(pending.into_values().collect(), || {
            Error::Closed(reason.clone())
        });
        for (_, task) in running {
            task.abort();
        }
        self.emit(SessionEvent::Closed { reason });
    }

    /// Resolves when the session is over.
    pub async fn closed(&self) {
        self.closed.cancelled().await;
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }
}

/// Answers requests that can no longer be answered by the router.
fn fail_all(pending: Vec<Pending>, err: impl Fn() -> Error) {
    for p in pending {
        match p {
            Pending::Reply(tx) => drop(tx.send(Err(err()))),
            Pending::Progress(tx) => drop(tx.send(Err(err()))),
            Pending::Subscribe { reply, .. } | Pending::Register { reply, .. } => {
                if let Some(tx) = reply {
                    let _ = tx.send(Err(err()));
                }
            }
            Pending::Unsubscribe { reply, .. } | Pending::Unregister(reply) => {
                if let Some(tx) = reply {
                    let _ = tx.send(Ok(()));
                }
            }
        }
    }
}
