//! The background task of a session: it reads every message from the router and routes
//! it to the request waiting for it, the subscription it is for, or the procedure it
//! invokes ([`super::callee`]). When the connection is lost and the session has a
//! reconnect policy, it reconnects ([`super::reconnect`]) and reads the next connection;
//! revocations are [`super::revocation`]'s.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::args::Args;
use super::callee::invoke;
use super::connect::SessionBuilder;
use super::error::{Error, WampError};
use super::holdings::Registered;
use super::in_flight::{Entry, Pending};
use super::lifecycle::SessionEvent;
use super::reconnect::reconnect;
use super::restore::{register_failed, settle, subscription_not_restored, After};
use super::revocation::{revoke_registration, revoke_subscription};
use super::shared::{SessionConfig, SessionInfo, Shared};
use super::subscribe::{EventDetails, RawEvent};
use crate::proto::{close, code, error as uris, Dict, Id, Message, Value};
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
    tokio::spawn(super::in_flight::expire(shared.clone()));
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
                    let _ = shared.send_in(shared.generation(), abort).await;
                    return Some(format!("protocol violation by the router: {violation}"));
                }
            },
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
            if let Some(task) = shared.state.lock().invocations.running.get(&request) {
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
                    let bye = Message::goodbye(close::GOODBYE_AND_OUT);
                    let _ = shared.send_in(shared.generation(), bye).await;
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
    let entry = shared.state.lock().in_flight.take(request);
    let Some(Entry { pending, deadline }) = entry else {
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
                let entry = Entry {
                    pending: Pending::Progress(tx),
                    deadline,
                };
                shared.track(&mut shared.state.lock(), request, entry);
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
            shared.state.lock().held.unsubscribing.remove(&subscription);
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
async fn registered_one(
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
    let Some(locals) = st.held.subscriptions.get(&subscription) else {
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
