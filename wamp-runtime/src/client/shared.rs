//! What a session's handles share with its background task ([`super::task`]): the link
//! to the router (the connection messages go out on, which a session with a reconnect
//! policy replaces when it is lost) and the session's state, each concern in its own
//! module: the requests in flight ([`super::in_flight`]), the registrations and
//! subscriptions held ([`super::holdings`]), what a restore remembers
//! ([`super::restore`]) and the invocations running ([`super::callee`]).
//!
//! Every message goes out through one place, [`Shared::send_in`] (or, from a `Drop`,
//! [`Shared::send_soon_in`]), which sends only on the connection it is told.
//!
//! Every connection has a generation number. A request records the generation it was
//! sent on, and anything that answers or undoes it (YIELD, CANCEL, UNSUBSCRIBE…) is only
//! sent on that same connection: request, registration and subscription IDs mean nothing
//! to the router of the next one.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::sync::{broadcast, mpsc, oneshot, watch, Notify};
use tokio_util::sync::CancellationToken;

use super::callee::Invocations;
use super::connect::SessionBuilder;
use super::error::Error;
use super::holdings::Holdings;
use super::in_flight::{fail_all, Deadline, Entry, InFlight, Pending};
use super::lifecycle::{Lifecycle, SessionEvent};
use super::restore::Restoring;
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
    /// The serializer arguments are written in ahead of their frames.
    pub wire: super::outgoing::Wire,
}

/// What a session's handles and its task share, each concern in a part of its own.
#[derive(Default)]
pub(crate) struct State {
    /// Requests waiting for the router's answer, and their deadlines.
    pub in_flight: InFlight,
    /// Registrations and subscriptions: of this connection, and kept to restore.
    pub held: Holdings,
    /// What restoring them after a reconnection has to remember.
    pub restore: Restoring,
    /// Invocations being handled.
    pub invocations: Invocations,
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
}

/// What [`Shared::try_send_call`] did.
pub(crate) enum CallSent<B> {
    /// The CALL is queued: the connection's generation and the request ID.
    Now(u64, Id),
    /// It has to wait: what it needs, back.
    Wait(Pending, B),
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
    /// Set with `closed`, for a check cheaper than the token's lock.
    over: std::sync::atomic::AtomicBool,
    /// Bumped whenever the connection comes up, for requests waiting for it.
    link: watch::Sender<u64>,
    /// Woken when a request with a new first deadline goes in flight.
    deadlines: Notify,
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
            over: std::sync::atomic::AtomicBool::new(false),
            link: watch::Sender::new(0),
            deadlines: Notify::new(),
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

    /// Records `pending` (until its deadline, if it has one) under a new request ID on the
    /// current connection, waiting for the reconnection first if the connection is down
    /// and the session waits: the connection's generation and the request ID.
    pub async fn enter(
        &self,
        pending: Option<(Pending, Option<Deadline>)>,
    ) -> Result<(u64, Id), Error> {
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
                        if let Some((p, deadline)) = pending.take() {
                            self.track(
                                &mut st,
                                request,
                                Entry {
                                    pending: p,
                                    deadline,
                                },
                            );
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

    /// Puts a request in flight, waking the timer if its deadline comes first.
    pub fn track(&self, st: &mut State, request: Id, entry: Entry) {
        if st.in_flight.put(request, entry) {
            self.deadlines.notify_one();
        }
    }

    /// Gives request `request`, if it is still in flight, the deadline `deadline`.
    pub fn set_deadline(&self, request: Id, deadline: Deadline) {
        let mut st = self.state.lock();
        if let Some(mut entry) = st.in_flight.take(request) {
            entry.deadline = Some(deadline);
            self.track(&mut st, request, entry);
        }
    }

    /// Resolves when a request with a new first deadline went in flight.
    pub async fn deadline_added(&self) {
        self.deadlines.notified().await;
    }

    /// The connection `generation` (the current one for `None`): its generation and its
    /// queue, if it is still the session's. Every message goes out through here.
    fn outgoing(&self, generation: Option<u64>) -> Option<(u64, mpsc::Sender<Message>)> {
        let out = self.out.lock();
        if generation.is_some_and(|g| g != out.generation) {
            return None;
        }
        Some((out.generation, out.tx.clone()?))
    }

    /// The generation of the connection messages go out on now.
    pub fn generation(&self) -> u64 {
        self.out.lock().generation
    }

    /// Sends a message on connection `generation`; fails if that connection is gone.
    pub async fn send_in(&self, generation: u64, msg: Message) -> Result<(), Error> {
        match self.outgoing(Some(generation)) {
            Some((_, tx)) => tx.send(msg).await.map_err(|_| self.closed_error()),
            None => Err(self.closed_error()),
        }
    }

    /// Sends a message on connection `generation` without waiting, from code that cannot
    /// (a `Drop`): if the queue is full, a task sends it.
    pub fn send_soon_in(&self, generation: u64, msg: Message) {
        let Some((_, tx)) = self.outgoing(Some(generation)) else {
            return;
        };
        if let Err(mpsc::error::TrySendError::Full(msg)) = tx.try_send(msg) {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = tx.send(msg).await;
                });
            }
        }
    }

    /// Sends a new CALL built for its request ID, recorded as `pending` until `deadline`,
    /// in request-ID order with every other new CALL of the session: the connection's
    /// generation and the request ID. If the connection is lost before it is sent,
    /// `pending` gets the error.
    pub async fn send_call(
        &self,
        pending: Pending,
        deadline: Option<Deadline>,
        build: impl FnOnce(Id) -> Message,
    ) -> Result<(u64, Id), Error> {
        let _order = self.call_order.lock().await;
        let (generation, request) = self.enter(Some((pending, deadline))).await?;
        // A failed send means the connection is going: its loss answers `pending`.
        let _ = self.send_in(generation, build(request)).await;
        Ok((generation, request))
    }

    /// [`Shared::send_call`] without waiting, when nothing stands in the way (the session is
    /// up, no other CALL is being queued, the connection's queue has room): the
    /// connection's generation and the request ID. Otherwise `pending` and `build` come
    /// back, for `send_call`.
    pub fn try_send_call<B: FnOnce(Id) -> Message>(
        &self,
        pending: Pending,
        deadline: Option<Deadline>,
        build: B,
    ) -> CallSent<B> {
        let Ok(_order) = self.call_order.try_lock() else {
            return CallSent::Wait(pending, build);
        };
        let Some((generation, tx)) = self.outgoing(None) else {
            return CallSent::Wait(pending, build);
        };
        let Ok(permit) = tx.try_reserve() else {
            return CallSent::Wait(pending, build);
        };
        let request = {
            let mut st = self.state.lock();
            if st.closed.is_some() || st.down.is_some() || st.generation != generation {
                return CallSent::Wait(pending, build);
            }
            let request = self.requests.next_id();
            let entry = Entry { pending, deadline };
            self.track(&mut st, request, entry);
            request
        };
        permit.send(build(request));
        CallSent::Now(generation, request)
    }

    /// Forgets a request (its waiter gave up): the generation of its connection if it
    /// was still pending.
    pub fn remove_pending(&self, request: Id) -> Option<u64> {
        let mut st = self.state.lock();
        st.in_flight.take(request).map(|_| st.generation)
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
        let deadline = Deadline::after(timeout);
        let entering = self.enter(Some((pending, Some(deadline))));
        let (generation, request) = tokio::time::timeout_at(deadline.at, entering)
            .await
            .map_err(|_| Error::Timeout(timeout))??;
        let _forget = Forget(self, request);
        // A failed send means the connection is going: its loss answers the request (or
        // keeps it to send again on the next connection). The table's timer answers it
        // when its deadline passes.
        let _ = self.send_in(generation, build(request)).await;
        rx.await.map_err(|_| self.closed_error())?
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
            if previous.id != 0 && st.restore.previous_sessions.back() != Some(&previous.id) {
                if st.restore.previous_sessions.len() == 8 {
                    st.restore.previous_sessions.pop_front();
                }
                st.restore.previous_sessions.push_back(previous.id);
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
            self.end_connection(&mut st);
            let st = &mut *st;
            st.held.detach();
            st.restore.reset();
            let running = st.invocations.detach();
            let mut failed = Vec::new();
            let wait = self.config.wait_while_disconnected;
            for (request, entry) in st.in_flight.drain() {
                match entry.pending {
                    Pending::Subscribe {
                        locals,
                        reply: None,
                        ..
                    } => st.held.detached_subscriptions.extend(locals),
                    Pending::Register {
                        registered,
                        reply: None,
                        ..
                    } => st.held.detached_registrations.push(registered),
                    Pending::Subscribe { .. } | Pending::Register { .. } if wait => {
                        st.in_flight.put(request, entry);
                    }
                    _ => failed.push(entry),
                }
            }
            (failed, running)
        };
        tracing::info!(%reason, "connection lost");
        fail_all(failed, || Error::Disconnected(reason.to_owned()));
        for task in running {
            task.abort();
        }
    }

    /// Closes the way out of the current connection: nothing more is sent on it, and what
    /// it started is answered on no other.
    fn end_connection(&self, st: &mut State) {
        st.goodbye = None;
        st.generation += 1;
        *self.out.lock() = Out {
            generation: st.generation,
            tx: None,
        };
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
            self.end_connection(&mut st);
            st.held.clear();
            let running = st.invocations.detach();
            (st.in_flight.drain(), running)
        };
        tracing::debug!(session = self.info().id, %reason, "session closed");
        self.over.store(true, std::sync::atomic::Ordering::Release);
        self.closed.cancel();
        fail_all(pending.into_iter().map(|(_, e)| e).collect(), || {
            Error::Closed(reason.clone())
        });
        for task in running {
            task.abort();
        }
        self.emit(SessionEvent::Closed { reason });
    }

    /// Resolves when the session is over.
    pub async fn closed(&self) {
        self.closed.cancelled().await;
    }

    /// Whether the session is over (an atomic load: checked for every message).
    pub fn is_closed(&self) -> bool {
        self.over.load(std::sync::atomic::Ordering::Acquire)
    }
}
