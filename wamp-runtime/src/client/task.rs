//! The background task of a session: it reads every message from the router (decoding
//! the frames itself, [`crate::transport::Incoming`]) and routes it to the request waiting
//! for it (SUBSCRIBED and REGISTERED put a holding in place,
//! [`super::holdings`]), the subscription it is for ([`super::subscribe`]), or the
//! procedure it invokes ([`super::callee`]). When the connection is lost and the session has a
//! reconnect policy, it reconnects ([`super::reconnect`]) and reads the next connection;
//! revocations are [`super::revocation`]'s.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use super::callee::invoke;
use super::connect::SessionBuilder;
use super::error::application_error;
use super::holdings::{registered_one, subscribed};
use super::in_flight::{Entry, Pending};
use super::lifecycle::SessionEvent;
use super::reconnect::reconnect;
use super::restore::{register_failed, subscription_not_restored};
use super::revocation::{revoke_registration, revoke_subscription};
use super::shared::{SessionConfig, SessionInfo, Shared};
use super::subscribe::deliver;
use crate::proto::{close, code, error as uris, Id, Message, Value};
use crate::transport::{Incoming, Transport};

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
    let closed = shared.closed();
    tokio::pin!(closed);
    loop {
        // What came is handled first; a session closed meanwhile is noticed before the
        // next message, or when nothing is coming.
        if shared.is_closed() {
            return None;
        }
        let next = std::future::poll_fn(|cx| match incoming.poll_recv(cx) {
            Poll::Ready(next) => Poll::Ready(Some(next)),
            Poll::Pending => closed.as_mut().poll(cx).map(|()| None),
        });
        let next = next.await?;
        match next {
            None => return Some("connection lost: the router closed the connection".into()),
            Some(Err(e)) => return Some(e.to_string()),
            Some(Ok(msg)) => match handle_now(shared, msg) {
                None => {}
                Some(msg) => match dispatch(shared, msg).await {
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
            },
        }
    }
}

/// Handles at once, without waiting for anything, the messages that most often come: an
/// EVENT, an INVOCATION, and the RESULT of a plain call. Anything else comes back, for
/// [`dispatch`].
fn handle_now(shared: &Arc<Shared>, msg: Message) -> Option<Message> {
    match msg {
        Message::Event {
            subscription,
            publication,
            details,
            payload,
        } => {
            deliver(shared, subscription, publication, details, payload);
            None
        }
        Message::Invocation {
            request,
            registration,
            details,
            payload,
        } => {
            invoke(shared, request, registration, details, &payload);
            None
        }
        Message::Result { request, .. } => {
            let mut st = shared.state.lock();
            match st
                .in_flight
                .take_if(request, |p| matches!(p, Pending::Reply(_)))
            {
                Some(Entry {
                    pending: Pending::Reply(tx),
                    ..
                }) => {
                    drop(st);
                    let _ = tx.send(Ok(msg));
                    None
                }
                _ => Some(msg),
            }
        }
        other => Some(other),
    }
}

/// Handles one message from the router that [`handle_now`] left: `Ok(Some(why))` when
/// the router ended the session, `Err` for a protocol violation.
async fn dispatch(shared: &Arc<Shared>, msg: Message) -> Result<Option<String>, String> {
    match msg {
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
