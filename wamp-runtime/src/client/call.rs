//! Calling a procedure: the [`Call`] builder, awaited for its result.

use std::future::IntoFuture;
use std::marker::PhantomData;
use std::time::Duration;

use tokio::sync::oneshot;

use super::args::{Args, FromResult, IntoArgs};
use super::cancel::{cancel_message, CancelHandle};
use super::error::application_error;
use super::error::Error;
use super::in_flight::{Deadline, Pending};
use super::outgoing::Outgoing;
use super::shared::{CallSent, Shared};
use super::Session;
use crate::proto::{
    is_valid_uri, CancelMode, Dict, Id, Message, Payload, UriRule, Value, ValueError,
};
use crate::transport::BoxFuture;

/// A call about to be made; `.await` it for the result, read as `R`.
///
/// ```no_run
/// # async fn demo(session: wamp_runtime::Session) -> Result<(), wamp_runtime::Error> {
/// use std::time::Duration;
/// let sum: i64 = session.call("com.example.add", (2, 3)).await?;
/// let greeting: String = session
///     .call("com.example.greet", ())
///     .kwargs(serde_json::json!({ "name": "Ada" }))
///     .timeout(Duration::from_secs(2))
///     .await?;
/// # Ok(()) }
/// ```
///
/// Many calls may be in flight on one session at once. A call whose future is dropped
/// before its result arrives is forgotten, and canceled at the router when the router
/// supports `call_canceling`.
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<R> {
    session: Session,
    procedure: String,
    args: Result<Outgoing, ValueError>,
    options: Dict,
    timeout: Option<Duration>,
    /// Made when asked for, told where the call went once it is sent.
    cancel: std::sync::OnceLock<CancelHandle>,
    _result: PhantomData<fn() -> R>,
}

impl<R> Call<R> {
    pub(crate) fn new(
        session: Session,
        procedure: String,
        args: Result<Outgoing, ValueError>,
    ) -> Self {
        let timeout = session.shared.config.call_timeout;
        Self {
            session,
            procedure,
            args,
            options: Dict::new(),
            timeout,
            cancel: std::sync::OnceLock::new(),
            _result: PhantomData,
        }
    }

    /// Keyword arguments: a struct or a map.
    pub fn kwargs(mut self, kwargs: impl serde::Serialize) -> Self {
        let wire = self.session.shared.config.wire;
        self.args = self.args.and_then(|a| a.with_kwargs(kwargs, wire));
        self
    }

    /// Gives up waiting after `timeout`, with [`Error::Timeout`], and cancels the call at
    /// the router (mode `killnowait`) when it supports `call_canceling`, so the callee is
    /// interrupted. (To have the router enforce a timeout instead, set the spec's option:
    /// `.option("timeout", milliseconds)`.)
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets a CALL option (see the WAMP spec: `disclose_me`, `receive_progress`…).
    pub fn option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    /// Asks the router to tell the callee who calls (`disclose_me`).
    pub fn disclose_me(self) -> Self {
        self.option("disclose_me", true)
    }

    /// A handle that cancels this call in a mode of its choosing, once it is awaited
    /// (see [`CancelHandle`]).
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.get_or_init(CancelHandle::new).clone()
    }

    /// Makes the call asking for progressive results: a stream of every partial result,
    /// then the final one (left out when it carries nothing), each read as `R`. The
    /// stream ends after the final result or the first error; the call's timeout bounds
    /// the whole stream. Dropping the stream early cancels the call (when the router
    /// supports `call_canceling`).
    pub fn progressive(self) -> ProgressiveResults<R>
    where
        R: FromResult + Send + 'static,
    {
        let results =
            futures_util::stream::unfold(Stage::Start(Box::new(self)), |stage| async move {
                match stage {
                    Stage::Start(call) => match call.start_progressive().await {
                        Ok(receiving) => next_result(receiving).await,
                        Err(e) => Some((Err(e), Stage::Done)),
                    },
                    Stage::Receiving(receiving) => next_result(receiving).await,
                    Stage::Done => None,
                }
            });
        Box::pin(results)
    }

    /// Sends the CALL with `receive_progress` and returns what receives its results.
    async fn start_progressive(mut self) -> Result<Receiving, Error> {
        self.options
            .insert("receive_progress".into(), Value::Bool(true));
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let deadline = self.deadline();
        let (session, request) = self.send(Pending::Progress(tx), deadline).await?;
        Ok(Receiving {
            rx,
            guard: OwnedOutstanding {
                shared: session.shared.clone(),
                request,
                done: false,
            },
        })
    }

    /// When the call's timeout runs out, counted from now: the caller stops waiting and
    /// the call is canceled at the router.
    fn deadline(&self) -> Option<Deadline> {
        self.timeout.map(|t| Deadline::after(t).canceling())
    }

    /// Checks the call, and sends its CALL with `pending` waiting for the answer (waiting
    /// for the reconnection first, if the session is disconnected and waits, until
    /// `deadline`): the session and the request ID.
    async fn send(
        self,
        pending: Pending,
        deadline: Option<Deadline>,
    ) -> Result<(Session, Id), Error> {
        let Call {
            session,
            procedure,
            args,
            mut options,
            cancel,
            ..
        } = self;
        let args = args.map_err(Error::Serialize)?;
        args.apply(&mut options);
        let payload = args.payload;
        if !is_valid_uri(&procedure, UriRule::Loose) {
            return Err(Error::Invalid(format!(
                "invalid procedure URI {procedure:?}"
            )));
        }
        let build = |request| Message::Call {
            request,
            options,
            procedure,
            payload,
        };
        let (generation, request) = match session.shared.try_send_call(pending, deadline, build) {
            CallSent::Now(generation, request) => (generation, request),
            // Something to wait for (the call before it, room in the queue, the
            // reconnection): the rare path, boxed so that every call's future stays small.
            CallSent::Wait(pending, build) => {
                Box::pin(send_later(&session.shared, pending, deadline, build)).await?
            }
        };
        if let Some(handle) = cancel.get() {
            handle.sent(&session.shared, generation, request);
        }
        Ok((session, request))
    }

    /// Makes the call and returns its result's arguments as they are.
    pub async fn raw(self) -> Result<Args, Error> {
        let (payload, details) = self.result().await?;
        Args::received(&payload, &details).map_err(Error::Deserialize)
    }

    /// Makes the call: its RESULT's payload and details.
    pub(crate) async fn result(self) -> Result<(Payload, Dict), Error> {
        let (tx, rx) = oneshot::channel();
        let deadline = self.deadline();
        let (session, request) = self.send(Pending::Reply(tx), deadline).await?;
        let shared = &session.shared;
        let mut guard = Outstanding {
            shared,
            request,
            done: false,
        };
        let answer = rx.await;
        guard.done = true;
        match answer.map_err(|_| shared.closed_error())?? {
            Message::Result {
                payload, details, ..
            } => Ok((payload, details)),
            Message::Error { error, payload, .. } => Err(application_error(error, &payload)),
            other => Err(Error::Protocol(format!("{} answers a CALL", other.name()))),
        }
    }
}

/// Sends a CALL once it can go (see [`Shared::send_call`]). Waiting for the reconnection
/// counts against the timeout; then the table of requests in flight keeps the deadline.
async fn send_later(
    shared: &Shared,
    pending: Pending,
    deadline: Option<Deadline>,
    build: impl FnOnce(Id) -> Message,
) -> Result<(u64, Id), Error> {
    let sending = shared.send_call(pending, deadline, build);
    match deadline {
        Some(d) => tokio::time::timeout_at(d.at, sending)
            .await
            .map_err(|_| Error::Timeout(d.timeout))?,
        None => sending.await,
    }
}

/// The results of a progressive call: a stream of `Result<R, Error>` (see
/// [`Call::progressive`]).
pub type ProgressiveResults<R> =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<R, Error>> + Send>>;

enum Stage<R> {
    Start(Box<Call<R>>),
    Receiving(Receiving),
    Done,
}

struct Receiving {
    rx: tokio::sync::mpsc::UnboundedReceiver<Result<Message, Error>>,
    guard: OwnedOutstanding,
}

async fn next_result<R: FromResult>(mut r: Receiving) -> Option<(Result<R, Error>, Stage<R>)> {
    let next = r.rx.recv().await;
    let read = |payload: &crate::proto::Payload, details: &Dict| {
        Args::received(payload, details)
            .and_then(R::from_result)
            .map_err(Error::Deserialize)
    };
    match next {
        Some(Ok(Message::Result {
            details, payload, ..
        })) => {
            if details.get("progress").and_then(Value::as_bool) == Some(true) {
                Some((read(&payload, &details), Stage::Receiving(r)))
            } else {
                r.guard.done = true;
                let empty = Args::from_payload(&payload).map_or(true, |a| a.is_empty());
                if empty {
                    None
                } else {
                    Some((read(&payload, &details), Stage::Done))
                }
            }
        }
        Some(Ok(Message::Error { error, payload, .. })) => {
            r.guard.done = true;
            Some((Err(application_error(error, &payload)), Stage::Done))
        }
        Some(Ok(other)) => Some((
            Err(Error::Protocol(format!("{} answers a CALL", other.name()))),
            Stage::Done,
        )),
        Some(Err(e)) => Some((Err(e), Stage::Done)),
        None => Some((Err(r.guard.shared.closed_error()), Stage::Done)),
    }
}

/// [`Outstanding`] for a call whose results outlive the borrow of its session.
struct OwnedOutstanding {
    shared: std::sync::Arc<Shared>,
    request: Id,
    done: bool,
}

impl Drop for OwnedOutstanding {
    fn drop(&mut self) {
        let _ = Outstanding {
            shared: &self.shared,
            request: self.request,
            done: self.done,
        };
    }
}

/// A call whose answer has not come: forgotten, and canceled at the router, when dropped.
struct Outstanding<'a> {
    shared: &'a Shared,
    request: Id,
    done: bool,
}

impl Drop for Outstanding<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Some(generation) = self.shared.remove_pending(self.request) else {
            return;
        };
        if let Some(cancel) = cancel_message(self.shared, self.request, CancelMode::KillNoWait) {
            self.shared.send_soon_in(generation, cancel);
        }
    }
}

impl<R: FromResult + Send + 'static> IntoFuture for Call<R> {
    type Output = Result<R, Error>;
    type IntoFuture = BoxFuture<'static, Result<R, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let (payload, details) = self.result().await?;
            R::from_received(&payload, &details).map_err(Error::Deserialize)
        })
    }
}

/// A call whose arguments are sent in parts (WAMP's progressive call invocations): made by
/// [`Session::progressive_call`]. Each [`send`](ProgressiveCall::send) is one CALL with
/// `progress: true` and the same request ID; [`finish`](ProgressiveCall::finish) sends the
/// last part and waits for the result. Dropping it before `finish` cancels the call.
///
/// ```no_run
/// # async fn demo(session: wamp_runtime::Session) -> Result<(), wamp_runtime::Error> {
/// let mut upload = session.progressive_call::<u64>("com.example.upload");
/// upload.send(("part one",)).await?;
/// upload.send(("part two",)).await?;
/// let stored: u64 = upload.finish(("last part",)).await?;
/// # Ok(()) }
/// ```
#[must_use = "a progressive call is canceled when dropped before finish"]
pub struct ProgressiveCall<R> {
    session: Session,
    procedure: String,
    /// The connection and request ID of the call, once its first part is sent.
    request: Option<(u64, Id)>,
    answer: Option<oneshot::Receiver<Result<Message, Error>>>,
    /// An answer that came before the last part (the callee finished or failed early).
    early: Option<Message>,
    timeout: Option<Duration>,
    done: bool,
    _result: PhantomData<fn() -> R>,
}

impl<R: FromResult> ProgressiveCall<R> {
    pub(crate) fn new(session: Session, procedure: String) -> Self {
        let timeout = session.shared.config.call_timeout;
        Self {
            session,
            procedure,
            request: None,
            answer: None,
            early: None,
            timeout,
            done: false,
            _result: PhantomData,
        }
    }

    /// Gives up waiting for the result after `timeout` (from `finish`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends one part of the arguments. Fails with the callee's error if it already
    /// answered with one.
    pub async fn send(&mut self, args: impl IntoArgs) -> Result<(), Error> {
        self.part(args, true).await
    }

    /// Sends the last part and waits for the result.
    pub async fn finish(mut self, args: impl IntoArgs) -> Result<R, Error> {
        self.part(args, false).await?;
        let answer = match self.early.take() {
            Some(m) => Ok(m),
            None => {
                let rx = self
                    .answer
                    .take()
                    .ok_or_else(|| Error::Invalid("the call was not started".into()))?;
                let shared = &self.session.shared;
                if let (Some(t), Some((_, request))) = (self.timeout, self.request) {
                    shared.set_deadline(request, Deadline::after(t).canceling());
                }
                rx.await.map_err(|_| shared.closed_error())?
            }
        };
        self.done = true;
        match answer? {
            Message::Result {
                payload, details, ..
            } => Args::received(&payload, &details)
                .and_then(R::from_result)
                .map_err(Error::Deserialize),
            Message::Error { error, payload, .. } => Err(application_error(error, &payload)),
            other => Err(Error::Protocol(format!("{} answers a CALL", other.name()))),
        }
    }

    async fn part(&mut self, args: impl IntoArgs, more: bool) -> Result<(), Error> {
        let shared = self.session.shared.clone();
        let args = args
            .into_outgoing(shared.config.wire)
            .map_err(Error::Serialize)?;
        if !shared.router_has("dealer", "progressive_call_invocations") {
            return Err(Error::Invalid(
                "the router does not support progressive call invocations".into(),
            ));
        }
        if let Some(rx) = &mut self.answer {
            if let Ok(answer) = rx.try_recv() {
                self.answer = None;
                match answer? {
                    Message::Error { error, payload, .. } => {
                        self.done = true;
                        return Err(application_error(error, &payload));
                    }
                    m => self.early = Some(m),
                }
            }
        }
        if self.early.is_some() {
            // The callee answered already: later parts would be discarded.
            return Ok(());
        }
        let mut options = Dict::new();
        if more {
            options.insert("progress".into(), Value::Bool(true));
        }
        args.apply(&mut options);
        let payload = args.payload;
        let procedure = self.procedure.clone();
        match self.request {
            Some((generation, request)) => {
                let msg = Message::Call {
                    request,
                    options,
                    procedure,
                    payload,
                };
                shared.send_in(generation, msg).await
            }
            None => {
                if !is_valid_uri(&self.procedure, UriRule::Loose) {
                    return Err(Error::Invalid(format!(
                        "invalid procedure URI {:?}",
                        self.procedure
                    )));
                }
                let (tx, rx) = oneshot::channel();
                let sent = shared
                    .send_call(Pending::Reply(tx), None, |request| Message::Call {
                        request,
                        options,
                        procedure,
                        payload,
                    })
                    .await?;
                self.request = Some(sent);
                self.answer = Some(rx);
                Ok(())
            }
        }
    }
}

impl<R> Drop for ProgressiveCall<R> {
    fn drop(&mut self) {
        if let (Some((_, request)), false) = (self.request, self.done) {
            drop(Outstanding {
                shared: &self.session.shared,
                request,
                done: false,
            });
        }
    }
}
