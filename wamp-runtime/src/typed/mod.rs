//! The typed layer: what `#[service]` and `#[derive(WampError)]` generate code against.
//!
//! Users meet [`ServiceError`] (what a generated caller stub returns), [`ServiceRegistration`]
//! (what registering a service returns), [`CallContext`] (the caller's identity and the
//! called URI, for procedures that ask for it) and [`ApplicationError`] (implemented by
//! `#[derive(WampError)]`). The rest of this module is called by generated code only.

mod call;
mod incoming;
mod registration;
mod topic;
mod wire;

use std::fmt;

pub use call::{CallDefaults, ReadAnswer, ServiceCall, ServiceStream};
pub use incoming::{check_extras, kwarg_param, param, Incoming};
pub use registration::ServiceRegistration;
pub use topic::{
    component, parse_component, publish_topic, Topic, TopicComponent, TopicEvent, TopicSubscribe,
    TopicSubscription,
};
pub use wire::{join_components, uri_param, uri_tail, with_tail, ResultShape, StubArgs};

use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;

use crate::client::Outgoing;
use crate::client::{Args, CallDetails, Error, FromResult, IntoResult, Progress, WampError};
use crate::proto::{from_value, Value};

/// The caller's identity and the URI called, for a procedure that takes a `CallContext`
/// parameter (see [`CallDetails`]).
pub type CallContext = CallDetails;

#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a WAMP error type",
    label = "a procedure's error type must map to WAMP error URIs",
    note = "derive it: `#[derive(Debug, wamp_runtime::WampError)]`, with `#[wamp(uri = \"...\")]` on each variant"
)]
/// An error type whose values travel as WAMP errors: implemented by
/// `#[derive(WampError)]`, where each variant names its URI and its fields travel as
/// `args` (tuple variants) or `kwargs` (struct variants).
pub trait ApplicationError: Sized {
    /// The error as it goes on the wire.
    fn to_wamp_error(&self) -> WampError;
    /// The error read back from the wire, if its URI and arguments are one of ours.
    fn from_wamp_error(error: &WampError) -> Option<Self>;

    /// The cases of the type, for its interface description: each URI with its fields
    /// (none known, by default).
    fn error_cases(generator: &mut schemars::SchemaGenerator) -> Vec<crate::interface::ErrorCase> {
        let _ = generator;
        Vec::new()
    }
}

/// What a generated caller stub returns on failure: the procedure's own error, read back
/// as its Rust type, or anything else that went wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceError<E> {
    /// The procedure failed with one of its declared errors.
    App(E),
    /// The call failed otherwise: transport, timeout, an error URI that is not one of the
    /// procedure's, a result of the wrong type…
    Wamp(Error),
}

impl<E: fmt::Debug> fmt::Display for ServiceError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::App(e) => write!(f, "the procedure failed: {e:?}"),
            ServiceError::Wamp(e) => e.fmt(f),
        }
    }
}

impl<E: fmt::Debug> std::error::Error for ServiceError<E> {}

impl<E> From<Error> for ServiceError<E> {
    fn from(e: Error) -> Self {
        ServiceError::Wamp(e)
    }
}

impl<E: ApplicationError> ServiceError<E> {
    /// A failed call: the procedure's own error if the ERROR's URI is one of its
    /// declared errors, else the call's error as it is.
    pub(crate) fn from_error(e: Error) -> Self {
        match e {
            Error::Application(w) => match E::from_wamp_error(&w) {
                Some(e) => ServiceError::App(e),
                None => ServiceError::Wamp(Error::Application(w)),
            },
            e => ServiceError::Wamp(e),
        }
    }
}

impl<E> ServiceError<E> {
    /// The procedure's own error, if that is what this is.
    pub fn app(&self) -> Option<&E> {
        match self {
            ServiceError::App(e) => Some(e),
            ServiceError::Wamp(_) => None,
        }
    }
}

/// Turns a procedure's outcome into what the session sends back (in the bytes of the
/// session's wire, which `progress` knows).
#[doc(hidden)]
pub fn reply<T: serde::Serialize, E: Into<WampError>>(
    outcome: Result<T, E>,
    shape: ResultShape,
    progress: &Progress,
) -> Result<Outgoing, WampError> {
    match outcome {
        Ok(v) => shape.outgoing(v, progress.wire()),
        Err(e) => Err(e.into()),
    }
}

/// Reads a typed result for a caller stub of a fallible procedure.
#[doc(hidden)]
pub fn typed_result<T: FromResult, E: ApplicationError>(
    answer: Result<Args, Error>,
) -> Result<T, ServiceError<E>> {
    let read = answer.and_then(|args| T::from_result(args).map_err(Error::Deserialize));
    read.map_err(ServiceError::from_error)
}

/// Runs a progressive procedure's stream: each item is a partial result, an error ends
/// the call. When the caller did not ask for progressive results, the final result is
/// every item, as one list.
#[doc(hidden)]
pub async fn drive_progressive<S, T, E>(stream: S, progress: &Progress) -> Result<Args, WampError>
where
    S: Stream<Item = Result<T, E>>,
    T: IntoResult,
    E: Into<WampError>,
{
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        match item {
            Ok(v) => progress.send(v).await.map_err(WampError::from)?,
            Err(e) => return Err(e.into()),
        }
    }
    if progress.is_requested() {
        Ok(Args::new())
    } else {
        Ok(Args {
            args: vec![Value::List(progress.take_collected())],
            kwargs: crate::proto::Dict::new(),
            ..Default::default()
        })
    }
}

#[diagnostic::on_unimplemented(
    message = "the `other` variant of an error type holds a `WampError`, not `{Self}`",
    label = "write `Other(WampError)`: it keeps the URI, args and kwargs as they came"
)]
/// What the catch-all variant of an error type (`#[wamp(other)]`) holds: the error as it
/// came ([`WampError`]).
pub trait CatchAll {
    #[doc(hidden)]
    fn to_error(&self) -> WampError;
    #[doc(hidden)]
    fn from_error(error: &WampError) -> Self;
}

impl CatchAll for WampError {
    fn to_error(&self) -> WampError {
        self.clone()
    }
    fn from_error(error: &WampError) -> Self {
        error.clone()
    }
}

/// An error type's catch-all variant as it goes on the wire: the error it holds.
#[doc(hidden)]
pub fn catch_all_to<T: CatchAll>(field: &T) -> WampError {
    field.to_error()
}

/// Whether an error type's catch-all variant takes `error`: any URI its other variants do
/// not have, except the spec's own (`wamp.…`), which stay [`ServiceError::Wamp`] so that a
/// caller still tells `wamp.error.no_such_procedure` or `wamp.error.canceled` apart.
#[doc(hidden)]
pub fn catch_all_takes(error: &WampError) -> bool {
    !error.uri.starts_with("wamp.")
}

/// The catch-all variant's value for `error`.
#[doc(hidden)]
pub fn catch_all_from<T: CatchAll>(error: &WampError) -> T {
    T::from_error(error)
}

/// A procedure may fail with any [`WampError`]: `Result<T, WampError>`. A caller stub
/// reads every application error as [`ServiceError::App`], the router's own (`wamp.…`)
/// as [`ServiceError::Wamp`].
impl ApplicationError for WampError {
    fn to_wamp_error(&self) -> WampError {
        self.clone()
    }

    fn from_wamp_error(error: &WampError) -> Option<Self> {
        catch_all_takes(error).then(|| error.clone())
    }
}

/// Reads one field of an error variant: `args[index]` for tuple variants, `kwargs[name]`
/// for struct variants.
#[doc(hidden)]
pub fn error_field<T: DeserializeOwned>(
    error: &WampError,
    index: usize,
    name: Option<&str>,
) -> Option<T> {
    let v = match name {
        Some(n) => error.kwargs.get(n).cloned().unwrap_or(Value::Null),
        None => error.args.get(index).cloned().unwrap_or(Value::Null),
    };
    from_value(v).ok()
}
