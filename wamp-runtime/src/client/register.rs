//! Registering procedures: handlers, the [`Register`] builder and the [`Registration`]
//! handle.

use std::future::{Future, IntoFuture};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::args::{Args, FromArgs, IntoResult};
use super::error::{Error, WampError};
use super::holdings::{Registered, Revoked};
use super::in_flight::Pending;
use super::outgoing::{Outgoing, Wire};
use super::shared::Shared;
use super::Session;
use crate::proto::{
    is_valid_pattern, is_valid_uri, Dict, Id, MatchPolicy, Message, Payload, UriRule, Value,
};
use crate::transport::BoxFuture;

/// A handler with its types erased, as the session stores it.
pub(crate) type ErasedHandler = dyn Fn(&Payload, CallDetails, Progress) -> BoxFuture<'static, Result<Outgoing, WampError>>
    + Send
    + Sync;

/// Sends progressive results of one invocation (WAMP's progressive call results): a
/// handler that takes a `Progress` parameter calls [`send`](Progress::send) for each
/// partial result, then returns the final one.
///
/// When the caller did not ask for progressive results, nothing is sent early: the
/// partial results are kept, and a handler may return them with
/// [`take_collected`](Progress::take_collected) (the generated code of a `#[service]`
/// progressive procedure returns them as one list).
#[derive(Clone)]
pub struct Progress {
    inner: Arc<ProgressInner>,
}

struct ProgressInner {
    shared: Arc<Shared>,
    /// The connection the invocation came on.
    generation: u64,
    request: Id,
    requested: bool,
    collected: parking_lot::Mutex<Vec<Value>>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("request", &self.inner.request)
            .field("requested", &self.inner.requested)
            .finish()
    }
}

impl Progress {
    pub(crate) fn new(shared: Arc<Shared>, generation: u64, request: Id, requested: bool) -> Self {
        Self {
            inner: Arc::new(ProgressInner {
                shared,
                generation,
                request,
                requested,
                collected: parking_lot::Mutex::new(Vec::new()),
            }),
        }
    }

    /// Whether the caller asked for progressive results.
    pub fn is_requested(&self) -> bool {
        self.inner.requested
    }

    /// Sends one partial result (read like a procedure's result: `T` as `args = [T]`), or
    /// keeps it when the caller did not ask for progressive results.
    pub async fn send(&self, result: impl IntoResult) -> Result<(), Error> {
        if !self.inner.requested {
            let mut all = result.into_result().map_err(Error::Serialize)?.args;
            let v = if all.len() == 1 {
                all.pop().unwrap_or_default()
            } else {
                Value::List(all)
            };
            self.inner.collected.lock().push(v);
            return Ok(());
        }
        let result = result
            .into_outgoing_result(self.wire())
            .map_err(Error::Serialize)?;
        let mut options = Dict::new();
        options.insert("progress".into(), Value::Bool(true));
        result.apply(&mut options);
        let msg = Message::Yield {
            request: self.inner.request,
            options,
            payload: result.payload,
        };
        self.inner.shared.send_in(self.inner.generation, msg).await
    }

    /// The serializer the session writes results in ahead of their frames.
    #[doc(hidden)]
    pub fn wire(&self) -> Wire {
        self.inner.shared.config.wire
    }

    /// The partial results kept because the caller did not ask for them, in order.
    pub fn take_collected(&self) -> Vec<Value> {
        std::mem::take(&mut *self.inner.collected.lock())
    }
}

/// Who called, and how: the INVOCATION's details.
#[derive(Debug, Clone)]
pub struct CallDetails {
    /// The registration invoked.
    pub registration: Id,
    /// The INVOCATION's request ID.
    pub request: Id,
    /// The procedure called: the registered URI, or the actual URI for a pattern
    /// registration.
    pub procedure: String,
    /// The caller's session, when the router discloses it.
    pub caller: Option<Id>,
    /// The caller's authid, when the router discloses it.
    pub caller_authid: Option<String>,
    /// The caller's authrole, when the router discloses it.
    pub caller_authrole: Option<String>,
    /// All of INVOCATION.Details as received.
    pub details: Dict,
    /// The rest of a progressive call invocation's arguments, when the caller streams them.
    input: Option<Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Args>>>>,
}

impl CallDetails {
    pub(crate) fn new(
        registration: Id,
        request: Id,
        registered: String,
        details: Dict,
        input: Option<mpsc::UnboundedReceiver<Args>>,
    ) -> Self {
        let text = |k: &str| details.get(k).and_then(Value::as_str).map(str::to_owned);
        Self {
            registration,
            request,
            procedure: text("procedure").unwrap_or(registered),
            caller: details.get("caller").and_then(Value::as_u64),
            caller_authid: text("caller_authid"),
            caller_authrole: text("caller_authrole"),
            details,
            input: input.map(|rx| Arc::new(tokio::sync::Mutex::new(rx))),
        }
    }

    /// Whether the caller streams this call's arguments (a progressive call invocation):
    /// the handler got the first part, [`next_input`](CallDetails::next_input) gives the
    /// others.
    pub fn is_progressive(&self) -> bool {
        self.input.is_some()
    }

    /// The next part of the arguments of a progressive call invocation, the caller's final
    /// part last; `None` once that has come (at once for an ordinary call).
    pub async fn next_input(&self) -> Option<Args> {
        match &self.input {
            Some(rx) => rx.lock().await.recv().await,
            None => None,
        }
    }
}

/// Something that can answer invocations: an async function or closure taking the
/// arguments (any [`FromArgs`] type: a tuple, a struct for kwargs, or [`Args`]) and,
/// optionally, the [`CallDetails`] and then a [`Progress`] for progressive results, and
/// returning `Result<R, E>` with `R:` [`IntoResult`]
/// and `E: Into<`[`WampError`]`>`; or a type implementing [`Procedure`].
///
/// Arguments that do not fit the handler's type are answered with
/// `wamp.error.invalid_argument`, without calling it. A handler that panics is answered
/// with `wamp.error.runtime_error`; the session carries on.
pub trait Handler<M>: Send + Sync + 'static {
    /// The handler with its types erased.
    #[doc(hidden)]
    fn into_erased(self) -> Arc<ErasedHandler>;
}

fn finish<R: IntoResult, E: Into<WampError>>(
    r: Result<R, E>,
    wire: Wire,
) -> Result<Outgoing, WampError> {
    match r {
        Ok(v) => v.into_outgoing_result(wire).map_err(|e| {
            WampError::with_message(
                crate::proto::error::RUNTIME_ERROR,
                format!("the result cannot be serialized: {e}"),
            )
        }),
        Err(e) => Err(e.into()),
    }
}

impl<F, A, Fut, R, E> Handler<(A,)> for F
where
    F: Fn(A) -> Fut + Send + Sync + 'static,
    A: FromArgs + Send + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    R: IntoResult + 'static,
    E: Into<WampError> + 'static,
{
    fn into_erased(self) -> Arc<ErasedHandler> {
        Arc::new(
            move |payload: &Payload, details: CallDetails, progress: Progress| {
                let wire = progress.wire();
                let fut = A::from_received(payload, &details.details).map(&self);
                Box::pin(async move {
                    match fut {
                        Ok(fut) => finish(fut.await, wire),
                        Err(e) => Err(WampError::from(e)),
                    }
                }) as BoxFuture<'static, _>
            },
        )
    }
}

impl<F, A, Fut, R, E> Handler<(A, CallDetails)> for F
where
    F: Fn(A, CallDetails) -> Fut + Send + Sync + 'static,
    A: FromArgs + Send + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    R: IntoResult + 'static,
    E: Into<WampError> + 'static,
{
    fn into_erased(self) -> Arc<ErasedHandler> {
        Arc::new(
            move |payload: &Payload, details: CallDetails, progress: Progress| {
                let wire = progress.wire();
                let args = A::from_received(payload, &details.details);
                let fut = args.map(|a| self(a, details));
                Box::pin(async move {
                    match fut {
                        Ok(fut) => finish(fut.await, wire),
                        Err(e) => Err(WampError::from(e)),
                    }
                }) as BoxFuture<'static, _>
            },
        )
    }
}

impl<F, A, Fut, R, E> Handler<(A, CallDetails, Progress)> for F
where
    F: Fn(A, CallDetails, Progress) -> Fut + Send + Sync + 'static,
    A: FromArgs + Send + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    R: IntoResult + 'static,
    E: Into<WampError> + 'static,
{
    fn into_erased(self) -> Arc<ErasedHandler> {
        Arc::new(
            move |payload: &Payload, details: CallDetails, progress: Progress| {
                let wire = progress.wire();
                let args = A::from_received(payload, &details.details);
                let fut = args.map(|a| self(a, details, progress));
                Box::pin(async move {
                    match fut {
                        Ok(fut) => finish(fut.await, wire),
                        Err(e) => Err(WampError::from(e)),
                    }
                }) as BoxFuture<'static, _>
            },
        )
    }
}

/// A procedure implemented by a type rather than a closure: register it with
/// [`Session::register`] like a closure.
///
/// ```no_run
/// # use wamp_runtime::{CallDetails, WampError};
/// # use wamp_runtime::client::Procedure;
/// struct Counter(std::sync::atomic::AtomicU64);
///
/// impl Procedure for Counter {
///     type Args = (u64,);
///     type Output = u64;
///     type Error = WampError;
///
///     async fn call(&self, (n,): (u64,), _: CallDetails) -> Result<u64, WampError> {
///         Ok(self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n)
///     }
/// }
/// # async fn demo(session: wamp_runtime::Session) -> Result<(), wamp_runtime::Error> {
/// let _reg = session.register("com.example.count", Counter(Default::default())).await?;
/// # Ok(()) }
/// ```
pub trait Procedure: Send + Sync + 'static {
    /// The arguments, read as in [`FromArgs`].
    type Args: FromArgs + Send;
    /// The result, sent as in [`IntoResult`].
    type Output: IntoResult;
    /// The application error.
    type Error: Into<WampError>;

    /// Answers one invocation.
    fn call(
        &self,
        args: Self::Args,
        details: CallDetails,
    ) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send;
}

/// Marks the [`Handler`] implementation of [`Procedure`] types.
#[doc(hidden)]
pub struct ProcedureMarker;

impl<P: Procedure> Handler<ProcedureMarker> for P {
    fn into_erased(self) -> Arc<ErasedHandler> {
        let procedure = Arc::new(self);
        Arc::new(
            move |payload: &Payload, details: CallDetails, progress: Progress| {
                let procedure = procedure.clone();
                let wire = progress.wire();
                let args = P::Args::from_received(payload, &details.details);
                Box::pin(async move {
                    let args = args.map_err(WampError::from)?;
                    finish(procedure.call(args, details).await, wire)
                }) as BoxFuture<'static, _>
            },
        )
    }
}

/// A registration about to be made; `.await` it for the [`Registration`].
#[must_use = "a registration does nothing until it is awaited"]
pub struct Register {
    session: Session,
    procedure: String,
    handler: Arc<ErasedHandler>,
    options: Dict,
    policy: MatchPolicy,
}

impl Register {
    pub(crate) fn new(session: Session, procedure: String, handler: Arc<ErasedHandler>) -> Self {
        Self {
            session,
            procedure,
            handler,
            options: Dict::new(),
            policy: MatchPolicy::Exact,
        }
    }

    /// How the procedure URI matches calls: exact (default), prefix or wildcard.
    pub fn match_policy(mut self, policy: MatchPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The invocation policy of a shared registration: `single` (default), `roundrobin`,
    /// `random`, `first` or `last`.
    pub fn invoke(mut self, policy: impl Into<String>) -> Self {
        self.options
            .insert("invoke".into(), Value::Str(policy.into()));
        self
    }

    /// How many invocations this callee takes at once (Crossbar.io's `concurrency`, which
    /// our router keeps too): past it, a shared registration's other callees get the call,
    /// and when all are at theirs the caller gets `crossbar.error.max_concurrency_reached`.
    pub fn concurrency(mut self, invocations: u32) -> Self {
        self.options
            .insert("concurrency".into(), Value::from(u64::from(invocations)));
        self
    }

    /// Sets a REGISTER option (see the WAMP spec: `disclose_caller`, `force_reregister`…).
    pub fn option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    async fn run(self) -> Result<Registration, Error> {
        let Register {
            session,
            procedure,
            handler,
            mut options,
            policy,
        } = self;
        let valid = match policy {
            MatchPolicy::Exact => is_valid_uri(&procedure, UriRule::Loose),
            _ => is_valid_pattern(&procedure, UriRule::Loose, policy),
        };
        if !valid {
            return Err(Error::Invalid(format!(
                "invalid procedure URI {procedure:?}"
            )));
        }
        if policy != MatchPolicy::Exact {
            options.insert("match".into(), Value::Str(policy.as_str().into()));
        }
        let shared = &session.shared;
        let key = shared.next_local_key();
        let (tx, rx) = oneshot::channel();
        let revoked = Arc::new(tokio::sync::watch::Sender::new(None));
        let pending = Pending::Register {
            registered: Registered {
                key,
                procedure: procedure.clone(),
                options: options.clone(),
                handler,
                revoked: revoked.clone(),
            },
            reply: Some(tx),
            forced: false,
        };
        let build = |request| Message::Register {
            request,
            options,
            procedure: procedure.clone(),
        };
        let timeout = shared.config.request_timeout;
        let id = shared.roundtrip(pending, build, rx, timeout).await?;
        Ok(Registration {
            session: session.clone(),
            key,
            id,
            procedure,
            active: true,
            revoked,
        })
    }
}

impl IntoFuture for Register {
    type Output = Result<Registration, Error>;
    type IntoFuture = BoxFuture<'static, Result<Registration, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// A registered procedure. Dropping it unregisters the procedure (without waiting for the
/// router's answer); [`unregister`](Registration::unregister) waits for it, and
/// [`detach`](Registration::detach) keeps the procedure registered for as long as the
/// session lives. [`revoked`](Registration::revoked) tells whether the router took it away.
#[derive(Debug)]
pub struct Registration {
    session: Session,
    key: u64,
    /// The router's ID when it was last known.
    id: Id,
    procedure: String,
    active: bool,
    revoked: Revoked,
}

impl Registration {
    /// The router's reason, if it took this registration away (registration revocation:
    /// another session registered the procedure with `force_reregister`, or an
    /// administrator called `wamp.registration.remove_callee`). The session goes on; the
    /// procedure is no longer served by it, and is not registered again on reconnection.
    pub fn revoked(&self) -> Option<String> {
        self.revoked.borrow().clone()
    }

    /// Waits until the router revokes this registration; its reason.
    pub async fn revocation(&self) -> String {
        let mut rx = self.revoked.subscribe();
        let reason = rx.wait_for(Option::is_some).await.map(|r| r.clone());
        match reason {
            Ok(r) => r.unwrap_or_default(),
            // The sender lives as long as this handle: never reached.
            Err(_) => std::future::pending().await,
        }
    }

    /// The registration ID the router gave (a new one after a reconnection; the last
    /// one known while disconnected).
    pub fn id(&self) -> Id {
        self.session
            .shared
            .registration_id(self.key)
            .unwrap_or(self.id)
    }

    /// The registered procedure URI.
    pub fn procedure(&self) -> &str {
        &self.procedure
    }

    /// Unregisters and waits for the router to confirm.
    pub async fn unregister(mut self) -> Result<(), Error> {
        self.active = false;
        let shared = &self.session.shared;
        let (tx, rx) = oneshot::channel();
        let release = shared.drop_registration(self.key, Some(tx));
        shared.release(release, rx).await
    }

    /// Keeps the procedure registered until the session ends.
    pub fn detach(mut self) {
        self.active = false;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.active {
            let release = self.session.shared.drop_registration(self.key, None);
            self.session.shared.release_soon(release);
        }
    }
}
