//! After a reconnection: registering and subscribing again what the session held, each
//! answer counted until the restore is done and reported (`SessionEvent::Reconnected`),
//! and `force_reregister` for a procedure that only this session's lost connections
//! still hold.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::args::Args;
use super::connect::SessionBuilder;
use super::error::application_error;
use super::error::Error;
use super::holdings::{LocalSub, Registered};
use super::in_flight::{Deadline, Entry, Pending};
use super::lifecycle::SessionEvent;
use super::shared::{Shared, State};
use crate::proto::{error as uris, Dict, Id, Message, Value};

/// What restoring the session after a reconnection has to remember.
#[derive(Default)]
pub(crate) struct Restoring {
    /// Restoring requests still unanswered.
    pub outstanding: usize,
    /// What could not be restored so far: (procedure or topic, why).
    pub failures: Vec<(String, String)>,
    /// How many attempts the reconnection took.
    pub attempts: u32,
    /// The session IDs of earlier connections (the last few): a registration the router
    /// still holds for one of them is ours to take back with `force_reregister`.
    pub previous_sessions: VecDeque<Id>,
}

impl Restoring {
    /// The connection was lost: a restore under way is over.
    pub fn reset(&mut self) {
        self.outstanding = 0;
        self.failures.clear();
    }
}

/// Subscribes and registers again everything the session held, and sends again the
/// subscribe and register requests that were out when the connection was lost. The
/// answers come through [`answer`]; after the last one, the session takes requests
/// again and reports [`SessionEvent::Reconnected`].
pub(super) fn restore(shared: &Arc<Shared>, generation: u64, attempts: u32) {
    let (msgs, done) = {
        let mut st = shared.state.lock();
        let st = &mut *st;
        st.restore.attempts = attempts;
        st.restore.failures.clear();
        let mut msgs = Vec::new();
        let mut groups: HashMap<String, Vec<(Dict, Vec<LocalSub>)>> = HashMap::new();
        for local in std::mem::take(&mut st.held.detached_subscriptions) {
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
                st.in_flight.insert(request, pending, None);
            }
        }
        for registered in std::mem::take(&mut st.held.detached_registrations) {
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
            st.in_flight.insert(request, pending, None);
        }
        st.restore.outstanding = msgs.len();
        // The application's own requests that were out when the connection went.
        for (request, p) in st.in_flight.iter() {
            match p {
                Pending::Subscribe {
                    topic,
                    options,
                    reply: Some(_),
                    ..
                } => msgs.push(Message::Subscribe {
                    request,
                    options: options.clone(),
                    topic: topic.clone(),
                }),
                Pending::Register {
                    registered,
                    reply: Some(_),
                    ..
                } => msgs.push(Message::Register {
                    request,
                    options: registered.options.clone(),
                    procedure: registered.procedure.clone(),
                }),
                _ => {}
            }
        }
        (msgs, st.restore.outstanding == 0)
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

pub(super) fn report_reconnected(shared: &Shared, attempts: u32, failed: Vec<(String, String)>) {
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
pub(super) fn restored_one(st: &mut State) -> Option<(u32, Vec<(String, String)>)> {
    if st.restore.outstanding == 0 {
        return None;
    }
    st.restore.outstanding -= 1;
    (st.restore.outstanding == 0).then(|| {
        (
            st.restore.attempts,
            std::mem::take(&mut st.restore.failures),
        )
    })
}

/// What to do once the state lock is released: report the reconnection (after the last
/// restoring answer), and send a message on a connection.
#[derive(Default)]
pub(super) struct After {
    pub report: Option<(u32, Vec<(String, String)>)>,
    pub send: Option<(u64, Message)>,
}

impl After {
    pub(super) async fn run(self, shared: &Shared) {
        if let Some((attempts, failed)) = self.report {
            report_reconnected(shared, attempts, failed);
        }
        if let Some((generation, msg)) = self.send {
            let _ = shared.send_in(generation, msg).await;
        }
    }
}

/// Gives the application's request its ID, or counts a restoring request as answered.
pub(super) fn settle(
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

/// A subscription could not be made again after a reconnection: its subscribers end.
pub(super) async fn subscription_not_restored(
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
        st.restore.failures.push((topic, e.to_string()));
        restored_one(&mut st)
    };
    After { report, send: None }.run(shared).await;
}

/// ERROR for a REGISTER. Restoring a registration the router still holds for the lost
/// session is tried once more with `force_reregister`, when the policy allows it.
pub(super) async fn register_failed(
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
        st.held.released.remove(&registered.key);
        st.restore
            .failures
            .push((registered.procedure.clone(), e.to_string()));
        restored_one(&mut st)
    };
    After { report, send: None }.run(shared).await;
}

/// After a reconnection, the router still holds a procedure that this session had
/// registered: takes it back with `force_reregister` when the sessions holding it are
/// this session's own earlier ones (the router has not noticed they are gone), and
/// reports it as not restored when another session holds it, so that two instances of a
/// service never take a procedure from each other. A router without the registration
/// meta API (or that refuses it) cannot say who holds it: the procedure is taken back,
/// as before this check.
pub(super) async fn take_back_if_ours(
    shared: Arc<Shared>,
    generation: u64,
    registered: Registered,
) {
    let procedure = registered.procedure.clone();
    let holders = registration_holders(&shared, generation, &registered).await;
    let ours = shared.state.lock().restore.previous_sessions.clone();
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
            st.held.released.remove(&registered.key);
            st.restore.failures.push((procedure, text));
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
            st.held.detached_registrations.push(registered);
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
        st.in_flight.insert(request, pending, None);
        Some((generation, msg))
    };
    After { report: None, send }.run(&shared).await;
}

/// The sessions holding `registered`'s procedure (under its match policy) on connection
/// `generation`, through the registration meta API: `None` when nobody does.
pub(super) async fn registration_holders(
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
pub(super) async fn meta_call(
    shared: &Shared,
    generation: u64,
    procedure: &str,
    args: Args,
) -> Result<Args, Error> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let request = shared.next_request();
    let deadline = Some(Deadline::after(shared.config.request_timeout));
    let entry = Entry {
        pending: Pending::Reply(tx),
        deadline,
    };
    shared.track(&mut shared.state.lock(), request, entry);
    let msg = Message::Call {
        request,
        options: Dict::new(),
        procedure: procedure.to_owned(),
        payload: args.into_payload(),
    };
    if let Err(e) = shared.send_in(generation, msg).await {
        shared.remove_pending(request);
        return Err(e);
    }
    // The table's timer answers it when the request timeout passes.
    let answer = rx.await.map_err(|_| shared.closed_error())??;
    match answer {
        Message::Result {
            payload, details, ..
        } => Args::received(&payload, &details).map_err(Error::Deserialize),
        Message::Error { error, payload, .. } => Err(application_error(error, &payload)),
        other => Err(Error::Protocol(format!("{} answers a CALL", other.name()))),
    }
}
