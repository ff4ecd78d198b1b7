//! What a generated caller stub's method returns: a call that is awaited for the
//! procedure's typed result as it is (`calc.add(2, 3).await`), or configured first
//! (`.timeout(…)`, `.disclose_me()`, `.option(…)`, a [`CancelHandle`]); and the defaults a
//! stub gives all its calls.

use std::convert::Infallible;
use std::future::IntoFuture;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;

use super::{typed_result, ApplicationError, ResultShape, ServiceError};
use crate::client::{Args, Call, CancelHandle, Error, FromResult, ProgressiveResults};
use crate::proto::{Dict, Value};
use crate::transport::BoxFuture;

/// How a stub reads a call's answer: as `Result<T, ServiceError<E>>` for a procedure
/// with a declared error type `E`, as `Result<T, Error>` for one without
/// ([`Infallible`]).
pub trait ReadAnswer<T>: 'static {
    /// What awaiting the call gives.
    type Output;
    /// Reads the answer, its result already read as `T`.
    fn read(answer: Result<T, Error>) -> Self::Output;
}

impl<T: FromResult, E: ApplicationError + 'static> ReadAnswer<T> for E {
    type Output = Result<T, ServiceError<E>>;
    fn read(answer: Result<T, Error>) -> Self::Output {
        answer.map_err(ServiceError::from_error)
    }
}

impl<T: FromResult> ReadAnswer<T> for Infallible {
    type Output = Result<T, Error>;
    fn read(answer: Result<T, Error>) -> Self::Output {
        answer
    }
}

/// The options a stub gives every call it makes (set on the stub:
/// `CalculatorClient::new(session).timeout(…)`); each call may override them.
#[derive(Debug, Clone, Default)]
pub struct CallDefaults {
    timeout: Option<Duration>,
    options: Dict,
}

impl CallDefaults {
    /// Every call gives up after `timeout` (and is canceled at the router).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = Some(timeout);
    }

    /// Every call carries CALL option `key`.
    pub fn set_option(&mut self, key: String, value: Value) {
        self.options.insert(key, value);
    }

    #[doc(hidden)]
    pub fn apply<R>(&self, mut call: Call<R>) -> Call<R> {
        if let Some(t) = self.timeout {
            call = call.timeout(t);
        }
        for (k, v) in &self.options {
            call = call.option(k.clone(), v.clone());
        }
        call
    }
}

/// A call through a generated stub, not made yet: `.await` it for the procedure's typed
/// result (`Result<T, ServiceError<E>>`, or `Result<T, Error>` for a procedure without an
/// error type), or configure it first.
///
/// ```no_run
/// # #[wamp_runtime::service(prefix = "com.example.calc")]
/// # trait Calculator { async fn add(&self, a: i64, b: i64) -> i64; }
/// # async fn demo(session: wamp_runtime::Session) -> Result<(), wamp_runtime::Error> {
/// use std::time::Duration;
/// use std::future::IntoFuture;
/// use wamp_runtime::CancelMode;
///
/// let calc = CalculatorClient::new(session);
/// assert_eq!(calc.add(2, 3).await?, 5);
/// let sum = calc
///     .add(2, 3)
///     .timeout(Duration::from_millis(50))
///     .disclose_me()
///     .await?;
/// # let _ = sum;
/// let call = calc.add(4, 5);
/// let cancel = call.cancel_handle();
/// let running = tokio::spawn(call.into_future());
/// cancel.cancel(CancelMode::KillNoWait)?;
/// # let _ = running;
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited"]
pub struct ServiceCall<T, E = Infallible> {
    call: Call<Args>,
    shape: ResultShape,
    _types: PhantomData<fn() -> (T, E)>,
}

impl<T, E> ServiceCall<T, E> {
    #[doc(hidden)]
    pub fn new(call: Call<Args>) -> Self {
        Self {
            call,
            shape: ResultShape::Value,
            _types: PhantomData,
        }
    }

    /// The call's result travels as `shape` (the procedure's `result` option).
    #[doc(hidden)]
    pub fn answer_as(mut self, shape: ResultShape) -> Self {
        self.shape = shape;
        self
    }

    /// The same call, configured by `f`.
    fn map(self, f: impl FnOnce(Call<Args>) -> Call<Args>) -> Self {
        Self {
            call: f(self.call),
            ..self
        }
    }

    /// Gives up waiting after `timeout`, with [`Error::Timeout`], and cancels the call at
    /// the router (see [`Call::timeout`]).
    pub fn timeout(self, timeout: Duration) -> Self {
        self.map(|c| c.timeout(timeout))
    }

    /// Asks the router to tell the callee who calls (`disclose_me`).
    pub fn disclose_me(self) -> Self {
        self.map(Call::disclose_me)
    }

    /// Sets a CALL option (see the WAMP spec).
    pub fn option(self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        let (key, value) = (key.into(), value.into());
        self.map(|c| c.option(key, value))
    }

    /// A handle that cancels this call in a mode of its choosing (see [`CancelHandle`]).
    pub fn cancel_handle(&self) -> CancelHandle {
        self.call.cancel_handle()
    }
}

impl<T, E> IntoFuture for ServiceCall<T, E>
where
    T: FromResult + Send + 'static,
    E: ReadAnswer<T>,
    E::Output: Send,
{
    type Output = E::Output;
    type IntoFuture = BoxFuture<'static, E::Output>;

    fn into_future(self) -> Self::IntoFuture {
        let shape = self.shape;
        Box::pin(async move {
            let (payload, details) = match self.call.result().await {
                Ok(received) => received,
                Err(e) => return E::read(Err(e)),
            };
            let read = match shape {
                // One value, `args = [result]`: straight from the received bytes where
                // the serializer allows, as `Session::call` reads it.
                ResultShape::Value => T::from_received(&payload, &details),
                _ => Args::received(&payload, &details)
                    .and_then(|a| T::from_result(shape.received(a))),
            };
            E::read(read.map_err(Error::Deserialize))
        })
    }
}

/// A progressive call through a generated stub: a stream of the procedure's partial
/// results and its final one, each `Result<T, ServiceError<E>>`. It may be configured
/// before its first item is asked for, like a [`ServiceCall`]; the call goes out then.
#[must_use = "a call does nothing until its stream is read"]
pub struct ServiceStream<T, E> {
    state: StreamState,
    _types: PhantomData<fn() -> (T, E)>,
}

enum StreamState {
    Ready(Box<Call<Args>>),
    Running(ProgressiveResults<Args>),
    Taken,
}

impl<T, E> ServiceStream<T, E> {
    #[doc(hidden)]
    pub fn new(call: Call<Args>) -> Self {
        Self {
            state: StreamState::Ready(Box::new(call)),
            _types: PhantomData,
        }
    }

    /// The call not made yet, configured by `f`.
    fn configure(mut self, f: impl FnOnce(Call<Args>) -> Call<Args>) -> Self {
        if let StreamState::Ready(call) = std::mem::replace(&mut self.state, StreamState::Taken) {
            self.state = StreamState::Ready(Box::new(f(*call)));
        }
        self
    }

    /// The whole stream gives up after `timeout`, with [`Error::Timeout`].
    pub fn timeout(self, timeout: Duration) -> Self {
        self.configure(|c| c.timeout(timeout))
    }

    /// Asks the router to tell the callee who calls (`disclose_me`).
    pub fn disclose_me(self) -> Self {
        self.configure(Call::disclose_me)
    }

    /// Sets a CALL option (see the WAMP spec).
    pub fn option(self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        let (key, value) = (key.into(), value.into());
        self.configure(|c| c.option(key, value))
    }

    /// A handle that cancels this call in a mode of its choosing (see [`CancelHandle`]);
    /// `None` once the stream started.
    pub fn cancel_handle(&self) -> Option<CancelHandle> {
        match &self.state {
            StreamState::Ready(call) => Some(call.cancel_handle()),
            _ => None,
        }
    }
}

impl<T, E> Stream for ServiceStream<T, E>
where
    T: FromResult + Send + 'static,
    E: ApplicationError + Send + 'static,
{
    type Item = Result<T, ServiceError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Nothing in it is pinned: the results stream is boxed.
        let this = Pin::into_inner(self);
        if let StreamState::Ready(_) = this.state {
            if let StreamState::Ready(call) = std::mem::replace(&mut this.state, StreamState::Taken)
            {
                this.state = StreamState::Running(call.progressive());
            }
        }
        match &mut this.state {
            StreamState::Running(results) => results
                .as_mut()
                .poll_next(cx)
                .map(|item| item.map(|answer| typed_result::<T, E>(answer))),
            _ => Poll::Ready(None),
        }
    }
}
