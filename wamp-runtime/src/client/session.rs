//! The client session: a cheap-to-clone handle, the state shared with its background task,
//! and that task, which reads every message from the router and routes it to the request
//! waiting for it, the subscription it is for, or the procedure it invokes.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use super::args::Args;
use super::error::{Error, WampError};
use super::register::{CallDetails, ErasedHandler, Progress};
use super::subscribe::{EventDetails, RawEvent};
use crate::proto::{close, code, error as uris, Dict, Id, IdSequence, Message, Value};
use crate::proto::{is_valid_uri, UriRule};
use crate::transport::{Transport, TransportError};

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
}

/// A request waiting for the router's answer.
pub(crate) enum Pending {
    /// Any answer, handed to the waiting operation as it is.
    Reply(oneshot::Sender<Result<Message, Error>>),
    /// A call that receives progressive results: every RESULT is handed on, and the
    /// request stays pending until the final one (or an ERROR).
    Progress(mpsc::UnboundedSender<Result<Message, Error>>),
    /// A SUBSCRIBE: on SUBSCRIBED, the local subscriber starts receiving events before any
    /// further message is read, so no event can slip past it.
    Subscribe {
        local: LocalSub,
        topic: String,
        options: Dict,
        reply: oneshot::Sender<Result<Id, Error>>,
    },
    /// A REGISTER: on REGISTERED, the handler is in place before any INVOCATION is read.
    Register {
        procedure: String,
        handler: Arc<ErasedHandler>,
        reply: oneshot::Sender<Result<Id, Error>>,
    },
    /// An UNSUBSCRIBE, with whoever waits for it (nobody, after a drop).
    Unsubscribe {
        subscription: Id,
        reply: Option<oneshot::Sender<Result<(), Error>>>,
    },
    /// An UNREGISTER, with whoever waits for it (nobody, after a drop).
    Unregister(Option<oneshot::Sender<Result<(), Error>>>),
}

/// One local consumer of a subscription (several may share the router's subscription).
pub(crate) struct LocalSub {
    pub key: u64,
    pub tx: mpsc::Sender<RawEvent>,
    pub dropped: Arc<AtomicU64>,
}

pub(crate) struct Registered {
    procedure: String,
    handler: Arc<ErasedHandler>,
}

#[derive(Default)]
struct State {
    pending: HashMap<Id, Pending>,
    registrations: HashMap<Id, Registered>,
    subscriptions: HashMap<Id, Vec<LocalSub>>,
    /// Subscriptions whose UNSUBSCRIBE is on its way.
    unsubscribing: HashSet<Id>,
    /// Invocations being handled, by request ID.
    running: HashMap<Id, AbortHandle>,
    /// Progressive call invocations still receiving arguments, by request ID.
    inputs: HashMap<Id, mpsc::UnboundedSender<Args>>,
    /// Progressive invocations that ended recently: later parts of them are discarded.
    ended_inputs: std::collections::VecDeque<Id>,
    /// The operation waiting for the router's GOODBYE, once we sent ours.
    goodbye: Option<oneshot::Sender<()>>,
    /// Why the session is over, once it is.
    closed: Option<String>,
    next_local: u64,
}

/// The state a session's handles and its background task share.
pub(crate) struct Shared {
    out: Mutex<Option<mpsc::Sender<Message>>>,
    /// Held while a CALL gets its request ID and is queued, so that CALLs leave in ID
    /// order (a router that takes progressive call invocations reads a lower ID as the
    /// continuation of an earlier call).
    call_order: tokio::sync::Mutex<()>,
    state: Mutex<State>,
    closed: CancellationToken,
    requests: IdSequence,
    pub info: SessionInfo,
    pub config: SessionConfig,
}

impl Shared {
    /// The next request ID of this session.
    pub fn next_request(&self) -> Id {
        self.requests.next_id()
    }

    /// Whether the router announced `feature` for `role` in WELCOME.
    pub fn router_has(&self, role: &str, feature: &str) -> bool {
        self.info
            .details
            .get("roles")
            .and_then(Value::as_dict)
            .and_then(|r| r.get(role))
            .and_then(Value::as_dict)
            .and_then(|r| r.get("features"))
            .and_then(Value::as_dict)
            .and_then(|f| f.get(feature))
            .and_then(Value::as_bool)
            == Some(true)
    }

    /// The error for operations on a closed session.
    pub fn closed_error(&self) -> Error {
        let reason = self.state.lock().closed.clone();
        Error::Closed(reason.unwrap_or_else(|| "the session is closed".into()))
    }

    /// Why the session closed, if it did.
    pub fn close_reason(&self) -> Option<String> {
        self.state.lock().closed.clone()
    }

    /// Sends a message, waiting while the transport's queue is full.
    pub async fn send(&self, msg: Message) -> Result<(), Error> {
        let tx = self.out.lock().clone();
        match tx {
            Some(tx) => tx.send(msg).await.map_err(|_| self.closed_error()),
            None => Err(self.closed_error()),
        }
    }

    /// Sends a message without waiting, from code that cannot (a `Drop`): if the queue is
    /// full, a task sends it.
    pub fn send_soon(&self, msg: Message) {
        let Some(tx) = self.out.lock().clone() else {
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

    /// Sends a new CALL built for its request ID, recorded as `pending`, in request-ID
    /// order with every other new CALL of the session.
    pub async fn send_call(
        &self,
        pending: Pending,
        build: impl FnOnce(Id) -> Message,
    ) -> Result<Id, Error> {
        let _order = self.call_order.lock().await;
        let request = self.next_request();
        self.insert_pending(request, pending)?;
        if let Err(e) = self.send(build(request)).await {
            self.remove_pending(request);
            return Err(e);
        }
        Ok(request)
    }

    /// Records a request before it is sent; fails if the session is closed.
    pub fn insert_pending(&self, request: Id, pending: Pending) -> Result<(), Error> {
        let mut st = self.state.lock();
        if let Some(reason) = &st.closed {
            return Err(Error::Closed(reason.clone()));
        }
        st.pending.insert(request, pending);
        Ok(())
    }

    /// Forgets a request (its waiter gave up); whether it was still pending.
    pub fn remove_pending(&self, request: Id) -> bool {
        self.state.lock().pending.remove(&request).is_some()
    }

    /// Sends a request recorded with [`Shared::insert_pending`] and waits for its answer,
    /// within `timeout`. The request is forgotten if the wait ends any other way.
    pub async fn roundtrip<T>(
        &self,
        request: Id,
        msg: Message,
        rx: oneshot::Receiver<Result<T, Error>>,
        timeout: Duration,
    ) -> Result<T, Error> {
        struct Forget<'a>(&'a Shared, Id);
        impl Drop for Forget<'_> {
            fn drop(&mut self) {
                self.0.remove_pending(self.1);
            }
        }
        let _forget = Forget(self, request);
        self.send(msg).await?;
        match tokio::time::timeout(timeout, rx).await {
            Err(_) => Err(Error::Timeout(timeout)),
            Ok(Err(_)) => Err(self.closed_error()),
            Ok(Ok(answer)) => answer,
        }
    }

    /// Adds a local subscriber key.
    pub fn next_local_key(&self) -> u64 {
        let mut st = self.state.lock();
        st.next_local += 1;
        st.next_local
    }

    /// Removes a local subscriber; if it was the last of its subscription, the UNSUBSCRIBE
    /// to send (with `reply` waiting for it), else `None`.
    pub fn drop_local_sub(
        &self,
        subscription: Id,
        key: u64,
        reply: Option<oneshot::Sender<Result<(), Error>>>,
    ) -> Option<Message> {
        let mut st = self.state.lock();
        if st.closed.is_some() {
            return None;
        }
        let locals = st.subscriptions.get_mut(&subscription)?;
        locals.retain(|l| l.key != key);
        if !locals.is_empty() {
            return None;
        }
        st.subscriptions.remove(&subscription);
        st.unsubscribing.insert(subscription);
        let request = self.requests.next_id();
        st.pending.insert(
            request,
            Pending::Unsubscribe {
                subscription,
                reply,
            },
        );
        Some(Message::Unsubscribe {
            request,
            subscription,
        })
    }

    /// Removes a registration's handler; the UNREGISTER to send, or `None` if it is gone.
    pub fn drop_registration(
        &self,
        registration: Id,
        reply: Option<oneshot::Sender<Result<(), Error>>>,
    ) -> Option<Message> {
        let mut st = self.state.lock();
        if st.closed.is_some() {
            return None;
        }
        st.registrations.remove(&registration)?;
        let request = self.requests.next_id();
        st.pending.insert(request, Pending::Unregister(reply));
        Some(Message::Unregister {
            request,
            registration,
        })
    }

    /// Sends an UNSUBSCRIBE or UNREGISTER made by [`Shared::drop_local_sub`] or
    /// [`Shared::drop_registration`] (nothing to do for `None`), and waits for its answer.
    /// A session that closes meanwhile counts as done: nothing is left to release.
    pub async fn release(
        &self,
        msg: Option<Message>,
        answer: oneshot::Receiver<Result<(), Error>>,
    ) -> Result<(), Error> {
        let Some(msg) = msg else {
            return Ok(());
        };
        self.send(msg).await?;
        let timeout = self.config.request_timeout;
        match tokio::time::timeout(timeout, answer).await {
            Err(_) => Err(Error::Timeout(timeout)),
            Ok(Err(_)) => Ok(()),
            Ok(Ok(r)) => r,
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

    /// Ends the session: every waiting request fails with `reason`, subscriptions end,
    /// running invocations stop, and the transport closes once its queue is written.
    pub fn close(&self, reason: impl Into<String>) {
        let reason = reason.into();
        let (pending, running) = {
            let mut st = self.state.lock();
            if st.closed.is_some() {
                return;
            }
            st.closed = Some(reason.clone());
            st.subscriptions.clear();
            st.registrations.clear();
            st.goodbye = None;
            (
                std::mem::take(&mut st.pending),
                std::mem::take(&mut st.running),
            )
        };
        tracing::debug!(session = self.info.id, %reason, "session closed");
        *self.out.lock() = None;
        self.closed.cancel();
        let err = || Error::Closed(reason.clone());
        for (_, p) in pending {
            match p {
                Pending::Reply(tx) => drop(tx.send(Err(err()))),
                Pending::Progress(tx) => drop(tx.send(Err(err()))),
                Pending::Subscribe { reply, .. } => drop(reply.send(Err(err()))),
                Pending::Register { reply, .. } => drop(reply.send(Err(err()))),
                Pending::Unsubscribe { reply, .. } | Pending::Unregister(reply) => {
                    if let Some(tx) = reply {
                        let _ = tx.send(Ok(()));
                    }
                }
            }
        }
        for (_, task) in running {
            task.abort();
        }
    }

    /// Resolves when the session is over.
    pub async fn closed(&self) {
        self.closed.cancelled().await;
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }
}

/// Starts the background task of a session that just joined.
pub(crate) fn start(transport: Transport, info: SessionInfo, config: SessionConfig) -> Arc<Shared> {
    let shared = Arc::new(Shared {
        out: Mutex::new(Some(transport.outgoing)),
        call_order: tokio::sync::Mutex::new(()),
        state: Mutex::new(State::default()),
        closed: CancellationToken::new(),
        requests: IdSequence::new(),
        info,
        config,
    });
    tokio::spawn(run(shared.clone(), transport.incoming));
    shared
}

/// The background task: reads until the session ends.
async fn run(shared: Arc<Shared>, mut incoming: mpsc::Receiver<Result<Message, TransportError>>) {
    loop {
        let next = tokio::select! {
            _ = shared.closed.cancelled() => break,
            next = incoming.recv() => next,
        };
        match next {
            None => {
                shared.close("connection lost: the router closed the connection");
                break;
            }
            Some(Err(e)) => {
                shared.close(e.to_string());
                break;
            }
            Some(Ok(msg)) => {
                if let Err(violation) = dispatch(&shared, msg).await {
                    tracing::warn!(
                        session = shared.info.id,
                        "protocol violation by the router: {violation}"
                    );
                    let _ = shared
                        .send(Message::abort(uris::PROTOCOL_VIOLATION, violation.clone()))
                        .await;
                    shared.close(format!("protocol violation by the router: {violation}"));
                    break;
                }
            }
        }
    }
}

/// The error a caller sees for an ERROR message's URI and payload.
pub(crate) fn application_error(error: String, payload: &crate::proto::Payload) -> Error {
    let a = Args::from_payload(payload).unwrap_or_default();
    Error::Application(Box::new(WampError {
        uri: error,
        args: a.args,
        kwargs: a.kwargs,
    }))
}

/// Handles one message from the router; `Err` is a protocol violation.
async fn dispatch(shared: &Arc<Shared>, msg: Message) -> Result<(), String> {
    match msg {
        Message::Event {
            subscription,
            publication,
            details,
            payload,
        } => {
            deliver(shared, subscription, publication, details, &payload);
            Ok(())
        }
        Message::Invocation {
            request,
            registration,
            details,
            payload,
        } => invoke(shared, request, registration, details, &payload).await,
        Message::Interrupt { request, .. } => {
            if let Some(task) = shared.state.lock().running.get(&request) {
                task.abort();
            }
            Ok(())
        }
        Message::Result { request, .. }
        | Message::Published { request, .. }
        | Message::Registered { request, .. }
        | Message::Subscribed { request, .. } => answer(shared, request, msg).await,
        Message::Unsubscribed {
            request: 0,
            details: Some(details),
        } => {
            revoke_subscription(shared, &details);
            Ok(())
        }
        Message::Unregistered {
            request: 0,
            details: Some(details),
        } => {
            if let Some(id) = details.get("registration").and_then(Value::as_u64) {
                shared.state.lock().registrations.remove(&id);
                tracing::info!(registration = id, "the router revoked a registration");
            }
            Ok(())
        }
        Message::Unsubscribed { request, .. } | Message::Unregistered { request, .. } => {
            answer(shared, request, msg).await
        }
        Message::Error { request, .. } => answer(shared, request, msg).await,
        Message::Goodbye { reason, .. } => {
            let waiter = shared.state.lock().goodbye.take();
            match waiter {
                Some(tx) => {
                    let _ = tx.send(());
                    shared.close("left the realm");
                }
                None => {
                    let _ = shared.send(Message::goodbye(close::GOODBYE_AND_OUT)).await;
                    shared.close(format!("the router ended the session ({reason})"));
                }
            }
            Ok(())
        }
        Message::Abort { reason, details } => {
            let message = details
                .get("message")
                .and_then(Value::as_str)
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            shared.close(format!(
                "the router aborted the session ({reason}{message})"
            ));
            Ok(())
        }
        other => Err(format!(
            "unexpected {} in an established session",
            other.name()
        )),
    }
}

/// Hands an answer to the request waiting for it (an answer for nobody is ignored: its
/// waiter may have given up).
async fn answer(shared: &Arc<Shared>, request: Id, msg: Message) -> Result<(), String> {
    let pending = shared.state.lock().pending.remove(&request);
    let Some(pending) = pending else {
        tracing::debug!(request, "answer {} for no waiting request", msg.name());
        return Ok(());
    };
    let error = match &msg {
        Message::Error { error, payload, .. } => Some(application_error(error.clone(), payload)),
        _ => None,
    };
    match pending {
        Pending::Reply(tx) => {
            let _ = tx.send(Ok(msg));
        }
        Pending::Progress(tx) => {
            let more = matches!(&msg, Message::Result { details, .. }
                if details.get("progress").and_then(Value::as_bool) == Some(true));
            if tx.send(Ok(msg)).is_ok() && more {
                shared
                    .state
                    .lock()
                    .pending
                    .insert(request, Pending::Progress(tx));
            }
        }
        Pending::Subscribe {
            local,
            topic,
            options,
            reply,
        } => match (msg, error) {
            (_, Some(e)) => drop(reply.send(Err(e))),
            (Message::Subscribed { subscription, .. }, None) => {
                let resend = {
                    let mut st = shared.state.lock();
                    if st.unsubscribing.contains(&subscription) {
                        // The router answered with a subscription we are leaving: subscribe
                        // again once the UNSUBSCRIBE has gone through.
                        Some((local, topic, options, reply))
                    } else {
                        st.subscriptions
                            .entry(subscription)
                            .or_default()
                            .push(local);
                        drop(reply.send(Ok(subscription)));
                        None
                    }
                };
                if let Some((local, topic, options, reply)) = resend {
                    let request = shared.next_request();
                    let again = Message::Subscribe {
                        request,
                        options: options.clone(),
                        topic: topic.clone(),
                    };
                    let pending = Pending::Subscribe {
                        local,
                        topic,
                        options,
                        reply,
                    };
                    if shared.insert_pending(request, pending).is_ok() {
                        let _ = shared.send(again).await;
                    }
                }
            }
            (other, None) => return Err(format!("{} answers a SUBSCRIBE", other.name())),
        },
        Pending::Register {
            procedure,
            handler,
            reply,
        } => match (msg, error) {
            (_, Some(e)) => drop(reply.send(Err(e))),
            (Message::Registered { registration, .. }, None) => {
                shared
                    .state
                    .lock()
                    .registrations
                    .insert(registration, Registered { procedure, handler });
                drop(reply.send(Ok(registration)));
            }
            (other, None) => return Err(format!("{} answers a REGISTER", other.name())),
        },
        Pending::Unsubscribe {
            subscription,
            reply,
        } => {
            shared.state.lock().unsubscribing.remove(&subscription);
            if let Some(tx) = reply {
                let _ = tx.send(error.map_or(Ok(()), Err));
            }
        }
        Pending::Unregister(reply) => {
            if let Some(tx) = reply {
                let _ = tx.send(error.map_or(Ok(()), Err));
            }
        }
    }
    Ok(())
}

/// The router ended a subscription on its own (UNSUBSCRIBED with a subscription detail).
fn revoke_subscription(shared: &Shared, details: &Dict) {
    if let Some(id) = details.get("subscription").and_then(Value::as_u64) {
        shared.state.lock().subscriptions.remove(&id);
        tracing::info!(subscription = id, "the router revoked a subscription");
    }
}

/// Passes an event to every local subscriber of its subscription; one whose buffer is full
/// misses it (counted, and logged at powers of two).
fn deliver(
    shared: &Shared,
    subscription: Id,
    publication: Id,
    details: Dict,
    payload: &crate::proto::Payload,
) {
    let st = shared.state.lock();
    let Some(locals) = st.subscriptions.get(&subscription) else {
        return;
    };
    let args = match Args::from_payload(payload) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(subscription, "event payload cannot be read: {e}");
            return;
        }
    };
    let event = RawEvent {
        args,
        details: EventDetails::new(subscription, publication, details),
    };
    for local in locals {
        if local.tx.try_send(event.clone()).is_err() {
            let n = local.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    subscription,
                    dropped = n,
                    "subscriber too slow: events dropped"
                );
            }
        }
    }
}

/// Runs the handler of an INVOCATION in its own task and sends its YIELD or ERROR.
async fn invoke(
    shared: &Arc<Shared>,
    request: Id,
    registration: Id,
    details: Dict,
    payload: &crate::proto::Payload,
) -> Result<(), String> {
    let more = details.get("progress").and_then(Value::as_bool) == Some(true);
    // The next part of a progressive call invocation in progress, or a late one.
    {
        let mut st = shared.state.lock();
        if let Some(tx) = st.inputs.get(&request) {
            match Args::from_payload(payload) {
                Ok(args) => drop(tx.send(args)),
                Err(e) => {
                    tracing::warn!(request, "a part of a progressive call cannot be read: {e}")
                }
            }
            if !more {
                st.inputs.remove(&request);
            }
            return Ok(());
        }
        if st.ended_inputs.contains(&request) {
            tracing::debug!(
                request,
                "a part of a progressive call that ended; discarded"
            );
            return Ok(());
        }
    }
    let found = shared
        .state
        .lock()
        .registrations
        .get(&registration)
        .map(|r| (r.handler.clone(), r.procedure.clone()));
    let Some((handler, procedure)) = found else {
        let e = Message::error(
            code::INVOCATION,
            request,
            uris::NO_SUCH_REGISTRATION,
            format!("registration {registration} is not (or no longer) registered here"),
        );
        let _ = shared.send(e).await;
        return Ok(());
    };
    let args = match Args::from_payload(payload) {
        Ok(a) => a,
        Err(e) => {
            let err = Message::error(
                code::INVOCATION,
                request,
                uris::INVALID_ARGUMENT,
                e.to_string(),
            );
            let _ = shared.send(err).await;
            return Ok(());
        }
    };
    let requested = details.get("receive_progress").and_then(Value::as_bool) == Some(true);
    let progress = Progress::new(shared.clone(), request, requested);
    let (input_tx, input_rx) = if more {
        let (tx, rx) = mpsc::unbounded_channel();
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let call = CallDetails::new(registration, request, procedure, details, input_rx);
    let task = tokio::spawn(handler(args, call, progress));
    {
        let mut st = shared.state.lock();
        if st.closed.is_some() {
            task.abort();
            return Ok(());
        }
        st.running.insert(request, task.abort_handle());
        if let Some(tx) = input_tx {
            st.inputs.insert(request, tx);
        }
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        let outcome = task.await;
        {
            let mut st = shared.state.lock();
            st.running.remove(&request);
            if st.inputs.remove(&request).is_some() || more {
                st.ended_inputs.push_back(request);
                if st.ended_inputs.len() > 1024 {
                    st.ended_inputs.pop_front();
                }
            }
        }
        let reply = match outcome {
            Ok(Ok(result)) => Message::Yield {
                request,
                options: Dict::new(),
                payload: result.into_payload(),
            },
            Ok(Err(e)) => invocation_error(request, e),
            Err(j) if j.is_cancelled() => Message::error(
                code::INVOCATION,
                request,
                uris::CANCELED,
                "the call was canceled",
            ),
            Err(j) => {
                let text = panic_text(j.into_panic());
                tracing::error!(request, "procedure handler panicked: {text}");
                Message::error(
                    code::INVOCATION,
                    request,
                    uris::RUNTIME_ERROR,
                    format!("the procedure panicked: {text}"),
                )
            }
        };
        let _ = shared.send(reply).await;
    });
    Ok(())
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    match p.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p
            .downcast_ref::<&str>()
            .map_or_else(|| "(no message)".into(), |s| (*s).to_owned()),
    }
}

/// The ERROR for a handler's application error, with a valid URI whatever it returned.
fn invocation_error(request: Id, e: WampError) -> Message {
    if !is_valid_uri(&e.uri, UriRule::Loose) {
        return Message::error(
            code::INVOCATION,
            request,
            uris::RUNTIME_ERROR,
            format!("the procedure failed with an invalid error URI {:?}", e.uri),
        );
    }
    Message::Error {
        request_type: code::INVOCATION,
        request,
        details: Dict::new(),
        error: e.uri,
        payload: Args {
            args: e.args,
            kwargs: e.kwargs,
        }
        .into_payload(),
    }
}
