//! The background task of a session: it reads every message from the router and routes
//! it to the request waiting for it, the subscription it is for, or the procedure it
//! invokes. When the connection is lost and the session has a reconnect policy, it
//! reconnects and restores the session's registrations and subscriptions.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::args::Args;
use super::connect::SessionBuilder;
use super::error::{Error, WampError};
use super::reconnect::SessionEvent;
use super::register::{CallDetails, Progress};
use super::session::{LocalSub, Pending, Registered, SessionConfig, SessionInfo, Shared, State};
use super::subscribe::{EventDetails, RawEvent};
use crate::proto::{close, code, error as uris, Dict, Id, Message, Value};
use crate::proto::{is_valid_uri, UriRule};
use crate::transport::{Transport, TransportError};

type Incoming = mpsc::Receiver<Result<Message, TransportError>>;

/// Starts the background task of a session that just joined.
pub(crate) fn start(
    transport: Transport,
    info: SessionInfo,
    config: SessionConfig,
    rejoin: Option<Box<SessionBuilder>>,
) -> Arc<Shared> {
    let shared = Arc::new(Shared::new(info.clone(), config, rejoin));
    shared.attach(transport.outgoing, info, true);
    tokio::spawn(run(shared.clone(), transport.incoming));
    shared
}

/// The background task: reads until the session ends, reconnecting when it may.
async fn run(shared: Arc<Shared>, mut incoming: Incoming) {
    loop {
        let Some(reason) = read(&shared, &mut incoming).await else {
            return;
        };
        drop(incoming);
        if shared.rejoin.is_none() {
            shared.emit(SessionEvent::Disconnected {
                reason: reason.clone(),
                reconnecting: false,
            });
            shared.close(reason);
            return;
        }
        shared.detach(&reason);
        shared.emit(SessionEvent::Disconnected {
            reason,
            reconnecting: true,
        });
        match reconnect(&shared).await {
            Some(next) => incoming = next,
            None => return,
        }
    }
}

/// Reads one connection until it ends: why it ended, or `None` when the session closed.
async fn read(shared: &Arc<Shared>, incoming: &mut Incoming) -> Option<String> {
    loop {
        let next = tokio::select! {
            _ = shared.closed() => return None,
            next = incoming.recv() => next,
        };
        match next {
            None => return Some("connection lost: the router closed the connection".into()),
            Some(Err(e)) => return Some(e.to_string()),
            Some(Ok(msg)) => match dispatch(shared, msg).await {
                Ok(None) => {}
                Ok(Some(ended)) => return (!shared.is_closed()).then_some(ended),
                Err(violation) => {
                    tracing::warn!(
                        session = shared.info().id,
                        "protocol violation by the router: {violation}"
                    );
                    let abort = Message::abort(uris::PROTOCOL_VIOLATION, violation.clone());
                    let _ = shared.send_now(abort).await;
                    return Some(format!("protocol violation by the router: {violation}"));
                }
            },
        }
    }
}

/// Reconnects by the session's policy, with backoff: the new connection's incoming
/// messages, once its registrations and subscriptions are on their way back; `None`
/// when the session closed meanwhile or the policy gave up (the session is then closed).
async fn reconnect(shared: &Arc<Shared>) -> Option<Incoming> {
    let builder = shared.rejoin.as_deref()?;
    let policy = builder.reconnect_policy()?;
    let mut failed: u32 = 0;
    let mut last = String::new();
    loop {
        if !policy.allows(failed) {
            tracing::warn!(attempts = failed, "giving up reconnecting: {last}");
            shared.emit(SessionEvent::GaveUp {
                attempts: failed,
                error: last.clone(),
            });
            shared.close(format!(
                "gave up reconnecting after {failed} attempts: {last}"
            ));
            return None;
        }
        let delay = policy.delay(failed);
        shared.emit(SessionEvent::Reconnecting {
            attempt: failed + 1,
            delay,
        });
        let attempt = async {
            tokio::time::sleep(delay).await;
            builder.open().await
        };
        let result = tokio::select! {
            _ = shared.closed() => return None,
            r = attempt => r,
        };
        match result {
            Ok((transport, info)) => {
                let session = info.id;
                let generation = shared.attach(transport.outgoing, info, false)?;
                tracing::info!(session, attempts = failed + 1, "reconnected");
                restore(shared, generation, failed + 1);
                return Some(transport.incoming);
            }
            Err(e) => {
                failed += 1;
                tracing::info!(attempt = failed, "reconnecting failed: {e}");
                last = e.to_string();
            }
        }
    }
}

/// Subscribes and registers again everything the session held, and sends again the
/// subscribe and register requests that were out when the connection was lost. The
/// answers come through [`answer`]; after the last one, the session takes requests
/// again and reports [`SessionEvent::Reconnected`].
fn restore(shared: &Arc<Shared>, generation: u64, attempts: u32) {
    let (msgs, done) = {
        let mut st = shared.state.lock();
        let st = &mut *st;
        st.reconnect_attempts = attempts;
        st.restore_failures.clear();
        let mut msgs = Vec::new();
        let mut groups: HashMap<String, Vec<(Dict, Vec<LocalSub>)>> = HashMap::new();
        for local in std::mem::take(&mut st.detached_subscriptions) {
            let variants = groups.entry(local.topic.clone()).or_default();
            match variants.iter_mut().find(|(o, _)| *o == local.options) {
                Some((_, locals)) => locals.push(local),
                None => variants.push((local.options.clone(), vec![local])),
            }
        }
        for (topic, variants) in groups {
            for (options, locals) in variants {
                let request = shared.next_request();
                msgs.push(Message::Subscribe {
                    request,
                    options: options.clone(),
                    topic: topic.clone(),
                });
                let pending = Pending::Subscribe {
                    locals,
                    topic: topic.clone(),
                    options,
                    reply: None,
                };
                st.pending.insert(request, pending);
            }
        }
        for registered in std::mem::take(&mut st.detached_registrations) {
            let request = shared.next_request();
            msgs.push(Message::Register {
                request,
                options: registered.options.clone(),
                procedure: registered.procedure.clone(),
            });
            let pending = Pending::Register {
                registered,
                reply: None,
                forced: false,
            };
            st.pending.insert(request, pending);
        }
        st.restoring = msgs.len();
        // The application's own requests that were out when the connection went.
        for (request, p) in &st.pending {
            match p {
                Pending::Subscribe {
                    topic,
                    options,
                    reply: Some(_),
                    ..
                } => msgs.push(Message::Subscribe {
                    request: *request,
                    options: options.clone(),
                    topic: topic.clone(),
                }),
                Pending::Register {
                    registered,
                    reply: Some(_),
                    ..
                } => msgs.push(Message::Register {
                    request: *request,
                    options: registered.options.clone(),
                    procedure: registered.procedure.clone(),
                }),
                _ => {}
            }
        }
        (msgs, st.restoring == 0)
    };
    if done {
        report_reconnected(shared, attempts, Vec::new());
    }
    // Sent by a task of their own, so that the answers are read while they go out.
    let shared = shared.clone();
    tokio::spawn(async move {
        for msg in msgs {
            if shared.send_in(generation, msg).await.is_err() {
                break;
            }
        }
    });
}

fn report_reconnected(shared: &Shared, attempts: u32, failed: Vec<(String, String)>) {
    shared.ready();
    for (uri, error) in &failed {
        tracing::warn!(%uri, "could not restore after reconnecting: {error}");
    }
    shared.emit(SessionEvent::Reconnected {
        session: shared.info().id,
        attempts,
        failed,
    });
}

/// One restoring request is answered; the report when it was the last.
fn restored_one(st: &mut State) -> Option<(u32, Vec<(String, String)>)> {
    if st.restoring == 0 {
        return None;
    }
    st.restoring -= 1;
    (st.restoring == 0).then(|| {
        (
            st.reconnect_attempts,
            std::mem::take(&mut st.restore_failures),
        )
    })
}

/// What to do once the state lock is released: report the reconnection (after the last
/// restoring answer), and send a message on a connection.
#[derive(Default)]
struct After {
    report: Option<(u32, Vec<(String, String)>)>,
    send: Option<(u64, Message)>,
}

impl After {
    async fn run(self, shared: &Shared) {
        if let Some((attempts, failed)) = self.report {
            report_reconnected(shared, attempts, failed);
        }
        if let Some((generation, msg)) = self.send {
            let _ = shared.send_in(generation, msg).await;
        }
    }
}

/// Gives the application's request its ID, or counts a restoring request as answered.
fn settle(
    st: &mut State,
    reply: Option<tokio::sync::oneshot::Sender<Result<Id, Error>>>,
    id: Id,
) -> Option<(u32, Vec<(String, String)>)> {
    match reply {
        Some(tx) => {
            let _ = tx.send(Ok(id));
            None
        }
        None => restored_one(st),
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

/// Handles one message from the router: `Ok(Some(why))` when the router ended the
/// session, `Err` for a protocol violation.
async fn dispatch(shared: &Arc<Shared>, msg: Message) -> Result<Option<String>, String> {
    match msg {
        Message::Event {
            subscription,
            publication,
            details,
            payload,
        } => deliver(shared, subscription, publication, details, &payload),
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
        }
        Message::Result { request, .. }
        | Message::Published { request, .. }
        | Message::Registered { request, .. }
        | Message::Subscribed { request, .. } => answer(shared, request, msg).await?,
        Message::Unsubscribed {
            request: 0,
            details: Some(details),
        } => revoke_subscription(shared, &details),
        Message::Unregistered {
            request: 0,
            details: Some(details),
        } => revoke_registration(shared, &details),
        Message::Unsubscribed { request, .. } | Message::Unregistered { request, .. } => {
            answer(shared, request, msg).await?
        }
        Message::Error {
            request_type: code::CANCEL,
            request,
            error,
            ..
        } => {
            // The router refused a CANCEL; the call itself goes on.
            tracing::warn!(request, error, "the router refused to cancel a call");
        }
        Message::Error { request, .. } => answer(shared, request, msg).await?,
        Message::Goodbye { reason, .. } => {
            let waiter = shared.state.lock().goodbye.take();
            return Ok(Some(match waiter {
                Some(tx) => {
                    let _ = tx.send(());
                    shared.close("left the realm");
                    "left the realm".into()
                }
                None => {
                    let _ = shared
                        .send_now(Message::goodbye(close::GOODBYE_AND_OUT))
                        .await;
                    format!("the router ended the session ({reason})")
                }
            }));
        }
        Message::Abort { reason, details } => {
            let message = details
                .get("message")
                .and_then(Value::as_str)
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            return Ok(Some(format!(
                "the router aborted the session ({reason}{message})"
            )));
        }
        other => {
            return Err(format!(
                "unexpected {} in an established session",
                other.name()
            ))
        }
    }
    Ok(None)
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
            locals,
            topic,
            options,
            reply,
        } => match (msg, error) {
            (_, Some(e)) => match reply {
                Some(tx) => drop(tx.send(Err(e))),
                None => subscription_not_restored(shared, topic, e, locals).await,
            },
            (Message::Subscribed { subscription, .. }, None) => {
                let pending = Pending::Subscribe {
                    locals,
                    topic,
                    options,
                    reply,
                };
                subscribed(shared, subscription, pending).await;
            }
            (other, None) => return Err(format!("{} answers a SUBSCRIBE", other.name())),
        },
        Pending::Register {
            registered,
            reply,
            forced,
        } => match (msg, error) {
            (_, Some(e)) => register_failed(shared, registered, reply, forced, e).await,
            (Message::Registered { registration, .. }, None) => {
                registered_one(shared, registration, registered, reply).await;
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

/// SUBSCRIBED for `pending` (a [`Pending::Subscribe`]): its subscribers receive events
/// from now on.
async fn subscribed(shared: &Arc<Shared>, subscription: Id, pending: Pending) {
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
        if st.unsubscribing.contains(&subscription) {
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
            st.pending.insert(request, pending);
            after.send = Some((generation, again));
            after
        } else {
            if reply.is_none() {
                let st = &mut *st;
                locals.retain(|l| !st.released.remove(&l.key));
            }
            if locals.is_empty() && !st.subscriptions.contains_key(&subscription) {
                // Every subscriber went while it was being restored.
                let request = shared.next_request();
                st.unsubscribing.insert(subscription);
                let unsubscribe = Pending::Unsubscribe {
                    subscription,
                    reply: None,
                };
                st.pending.insert(request, unsubscribe);
                let msg = Message::Unsubscribe {
                    request,
                    subscription,
                };
                after.send = Some((generation, msg));
            } else {
                for l in &locals {
                    st.subscription_ids.insert(l.key, subscription);
                }
                st.subscriptions
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

/// A subscription could not be made again after a reconnection: its subscribers end.
async fn subscription_not_restored(
    shared: &Shared,
    topic: String,
    e: Error,
    locals: Vec<LocalSub>,
) {
    let text = format!("could not subscribe again after reconnecting: {e}");
    for l in &locals {
        *l.shared.ended.lock() = Some(text.clone());
    }
    drop(locals);
    let report = {
        let mut st = shared.state.lock();
        st.restore_failures.push((topic, e.to_string()));
        restored_one(&mut st)
    };
    After { report, send: None }.run(shared).await;
}

/// REGISTERED: the handler answers invocations from now on.
async fn registered_one(
    shared: &Arc<Shared>,
    registration: Id,
    registered: Registered,
    reply: Option<tokio::sync::oneshot::Sender<Result<Id, Error>>>,
) {
    let after = {
        let mut st = shared.state.lock();
        let mut after = After::default();
        if reply.is_none() && st.released.remove(&registered.key) {
            // Its handle went while it was being restored.
            let request = shared.next_request();
            st.pending.insert(request, Pending::Unregister(None));
            let msg = Message::Unregister {
                request,
                registration,
            };
            after.send = Some((st.generation, msg));
        } else {
            st.registration_ids.insert(registered.key, registration);
            st.registrations.insert(registration, registered);
        }
        after.report = settle(&mut st, reply, registration);
        after
    };
    after.run(shared).await;
}

/// ERROR for a REGISTER. Restoring a registration the router still holds for the lost
/// session is tried once more with `force_reregister`, when the policy allows it.
async fn register_failed(
    shared: &Arc<Shared>,
    registered: Registered,
    reply: Option<tokio::sync::oneshot::Sender<Result<Id, Error>>>,
    forced: bool,
    e: Error,
) {
    if let Some(tx) = reply {
        let _ = tx.send(Err(e));
        return;
    }
    let may_force = shared
        .rejoin
        .as_deref()
        .and_then(SessionBuilder::reconnect_policy)
        .is_some_and(|p| p.force_reregister);
    let options = &registered.options;
    let single = options
        .get("invoke")
        .and_then(Value::as_str)
        .is_none_or(|i| i == "single");
    if may_force
        && !forced
        && single
        && !options.contains_key("force_reregister")
        && e.uri() == Some(uris::PROCEDURE_ALREADY_EXISTS)
    {
        // Only the lost session's registration is ours to take: asking the router who
        // holds it needs answers from this read loop, so it runs on its own.
        let generation = shared.state.lock().generation;
        tokio::spawn(take_back_if_ours(shared.clone(), generation, registered));
        return;
    }
    let report = {
        let mut st = shared.state.lock();
        st.released.remove(&registered.key);
        st.restore_failures
            .push((registered.procedure.clone(), e.to_string()));
        restored_one(&mut st)
    };
    After { report, send: None }.run(shared).await;
}

/// The reason of a revocation: the router's, or a default.
fn revocation_reason(details: &Dict, default: &str) -> String {
    details
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or(default)
        .to_owned()
}

/// After a reconnection, the router still holds a procedure that this session had
/// registered: takes it back with `force_reregister` when the sessions holding it are
/// this session's own earlier ones (the router has not noticed they are gone), and
/// reports it as not restored when another session holds it, so that two instances of a
/// service never take a procedure from each other. A router without the registration
/// meta API (or that refuses it) cannot say who holds it: the procedure is taken back,
/// as before this check.
async fn take_back_if_ours(shared: Arc<Shared>, generation: u64, registered: Registered) {
    let procedure = registered.procedure.clone();
    let holders = registration_holders(&shared, generation, &registered).await;
    let ours = shared.state.lock().previous_sessions.clone();
    let (force, failure) = match holders {
        Ok(Some(ids)) if ids.iter().all(|id| ours.contains(id)) => (true, None),
        Ok(Some(ids)) => (
            false,
            Some(format!(
                "{procedure} is registered by another session ({ids:?}): not taken from it"
            )),
        ),
        // Gone meanwhile: register it as it was.
        Ok(None) => (false, None),
        Err(e) => {
            tracing::debug!(%procedure, "who holds the procedure is unknown ({e}): taking it back");
            (true, None)
        }
    };
    if let Some(text) = failure {
        tracing::warn!(%procedure, "{text}");
        let report = {
            let mut st = shared.state.lock();
            st.released.remove(&registered.key);
            st.restore_failures.push((procedure, text));
            restored_one(&mut st)
        };
        After { report, send: None }.run(&shared).await;
        return;
    }
    if force {
        tracing::info!(%procedure, "still registered for the lost session: registering with force_reregister");
    }
    let mut options = registered.options.clone();
    if force {
        options.insert("force_reregister".into(), Value::Bool(true));
    }
    let send = {
        let mut st = shared.state.lock();
        if st.generation != generation {
            // Lost again meanwhile: the next restore registers it.
            tracing::info!(procedure = %registered.procedure, "connection lost while restoring; kept for the next one");
            st.detached_registrations.push(registered);
            return;
        }
        let request = shared.next_request();
        let msg = Message::Register {
            request,
            options,
            procedure,
        };
        let pending = Pending::Register {
            registered,
            reply: None,
            forced: true,
        };
        st.pending.insert(request, pending);
        Some((generation, msg))
    };
    After { report: None, send }.run(&shared).await;
}

/// The sessions holding `registered`'s procedure (under its match policy) on connection
/// `generation`, through the registration meta API: `None` when nobody does.
async fn registration_holders(
    shared: &Shared,
    generation: u64,
    registered: &Registered,
) -> Result<Option<Vec<Id>>, Error> {
    let policy = registered
        .options
        .get("match")
        .and_then(Value::as_str)
        .unwrap_or("exact")
        .to_owned();
    let mut options = Dict::new();
    options.insert("match".into(), Value::Str(policy));
    let lookup = Args {
        args: vec![
            Value::Str(registered.procedure.clone()),
            Value::Dict(options),
        ],
        ..Default::default()
    };
    let found = meta_call(shared, generation, "wamp.registration.lookup", lookup).await?;
    let Some(id) = found.args.first().and_then(Value::as_u64) else {
        return Ok(None);
    };
    let callees = Args {
        args: vec![Value::from(id)],
        ..Default::default()
    };
    let listed = meta_call(
        shared,
        generation,
        "wamp.registration.list_callees",
        callees,
    )
    .await?;
    let ids = match listed.args.first() {
        Some(Value::List(ids)) => ids.iter().filter_map(Value::as_u64).collect(),
        _ => return Err(Error::Protocol("list_callees answered no list".into())),
    };
    Ok(Some(ids))
}

/// A CALL on connection `generation` that does not wait for the session to be ready
/// (the restore that needs it is what it waits for), bounded by the request timeout.
async fn meta_call(
    shared: &Shared,
    generation: u64,
    procedure: &str,
    args: Args,
) -> Result<Args, Error> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let request = shared.next_request();
    shared
        .state
        .lock()
        .pending
        .insert(request, Pending::Reply(tx));
    let msg = Message::Call {
        request,
        options: Dict::new(),
        procedure: procedure.to_owned(),
        payload: args.into_payload(),
    };
    shared.send_in(generation, msg).await?;
    let timeout = shared.config.request_timeout;
    let answer = match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(answer)) => answer?,
        Ok(Err(_)) => return Err(shared.closed_error()),
        Err(_) => {
            shared.remove_pending(request);
            return Err(Error::Timeout(timeout));
        }
    };
    match answer {
        Message::Result {
            payload, details, ..
        } => Args::received(&payload, &details).map_err(Error::Deserialize),
        Message::Error { error, payload, .. } => Err(application_error(error, &payload)),
        other => Err(Error::Protocol(format!("{} answers a CALL", other.name()))),
    }
}

/// The router ended a subscription on its own (UNSUBSCRIBED with request 0): its local
/// subscribers' streams end with [`Error::Revoked`], and the lifecycle says so. It is not
/// subscribed again after a reconnection.
fn revoke_subscription(shared: &Shared, details: &Dict) {
    let Some(id) = details.get("subscription").and_then(Value::as_u64) else {
        return;
    };
    let reason = revocation_reason(details, "wamp.error.unsubscribed");
    let mut st = shared.state.lock();
    let Some(locals) = st.subscriptions.remove(&id) else {
        tracing::debug!(subscription = id, "revocation of no subscription of ours");
        return;
    };
    let topic = locals.first().map(|l| l.topic.clone()).unwrap_or_default();
    for local in locals {
        st.subscription_ids.remove(&local.key);
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
fn revoke_registration(shared: &Shared, details: &Dict) {
    let Some(id) = details.get("registration").and_then(Value::as_u64) else {
        return;
    };
    let reason = revocation_reason(details, "wamp.error.unregistered");
    let mut st = shared.state.lock();
    let Some(r) = st.registrations.remove(&id) else {
        tracing::debug!(registration = id, "revocation of no registration of ours");
        return;
    };
    st.registration_ids.remove(&r.key);
    drop(st);
    r.revoked.send_replace(Some(reason.clone()));
    tracing::info!(registration = id, procedure = %r.procedure, reason, "the router revoked a registration");
    shared.emit(SessionEvent::RegistrationRevoked {
        procedure: r.procedure,
        reason,
    });
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
    let args = match Args::received(payload, &details) {
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
            let n = local.shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
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

/// Runs the handler of an INVOCATION in its own task and sends its YIELD or ERROR, on the
/// connection the INVOCATION came on.
async fn invoke(
    shared: &Arc<Shared>,
    request: Id,
    registration: Id,
    details: Dict,
    payload: &crate::proto::Payload,
) {
    let more = details.get("progress").and_then(Value::as_bool) == Some(true);
    // The next part of a progressive call invocation in progress, or a late one.
    let (generation, found) = {
        let mut st = shared.state.lock();
        if let Some(tx) = st.inputs.get(&request) {
            match Args::received(payload, &details) {
                Ok(args) => drop(tx.send(args)),
                Err(e) => {
                    tracing::warn!(request, "a part of a progressive call cannot be read: {e}")
                }
            }
            if !more {
                st.inputs.remove(&request);
            }
            return;
        }
        if st.ended_inputs.contains(&request) {
            tracing::debug!(
                request,
                "a part of a progressive call that ended; discarded"
            );
            return;
        }
        let found = st
            .registrations
            .get(&registration)
            .map(|r| (r.handler.clone(), r.procedure.clone()));
        (st.generation, found)
    };
    let Some((handler, procedure)) = found else {
        let e = Message::error(
            code::INVOCATION,
            request,
            uris::NO_SUCH_REGISTRATION,
            format!("registration {registration} is not (or no longer) registered here"),
        );
        let _ = shared.send_in(generation, e).await;
        return;
    };
    let args = match Args::received(payload, &details) {
        Ok(a) => a,
        Err(e) => {
            let err = Message::error(
                code::INVOCATION,
                request,
                uris::INVALID_ARGUMENT,
                e.to_string(),
            );
            let _ = shared.send_in(generation, err).await;
            return;
        }
    };
    let requested = details.get("receive_progress").and_then(Value::as_bool) == Some(true);
    let progress = Progress::new(shared.clone(), generation, request, requested);
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
        if st.closed.is_some() || st.generation != generation {
            task.abort();
            return;
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
            if st.generation == generation {
                st.running.remove(&request);
                if st.inputs.remove(&request).is_some() || more {
                    st.ended_inputs.push_back(request);
                    if st.ended_inputs.len() > 1024 {
                        st.ended_inputs.pop_front();
                    }
                }
            }
        }
        let reply = match outcome {
            Ok(Ok(result)) => {
                let mut options = Dict::new();
                result.passthru.apply(&mut options);
                Message::Yield {
                    request,
                    options,
                    payload: result.into_payload(),
                }
            }
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
        let _ = shared.send_in(generation, reply).await;
    });
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
            ..Default::default()
        }
        .into_payload(),
    }
}
