//! The client's errors: one enum for everything a session operation can fail with, and the
//! application error that travels as a WAMP ERROR message.

use std::fmt;
use std::time::Duration;

use crate::proto::{error as uris, to_value, Dict, List, Value, ValueError};
use crate::transport::TransportError;

/// An error that travels on the wire: a URI with optional `args` and `kwargs`.
///
/// A handler returns it to make the router send ERROR to the caller; a caller receives it
/// as [`Error::Application`]. By convention (Autobahn's too) the first argument, when it
/// is a string, is a human-readable message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WampError {
    /// The error URI, e.g. `com.example.division_by_zero` or `wamp.error.invalid_argument`.
    pub uri: String,
    /// Positional arguments.
    pub args: List,
    /// Keyword arguments.
    pub kwargs: Dict,
}

impl WampError {
    /// An error with no arguments.
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            ..Self::default()
        }
    }

    /// An error whose only argument is a message.
    pub fn with_message(uri: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            args: vec![Value::Str(message.into())],
            kwargs: Dict::new(),
        }
    }

    /// Adds a positional argument; one that cannot be serialized becomes its error text.
    pub fn arg(mut self, value: impl serde::Serialize) -> Self {
        self.args
            .push(to_value(&value).unwrap_or_else(|e| Value::Str(e.to_string())));
        self
    }

    /// Adds a keyword argument; one that cannot be serialized becomes its error text.
    pub fn kwarg(mut self, key: impl Into<String>, value: impl serde::Serialize) -> Self {
        let v = to_value(&value).unwrap_or_else(|e| Value::Str(e.to_string()));
        self.kwargs.insert(key.into(), v);
        self
    }

    /// The message: the first argument when it is a string.
    pub fn message(&self) -> Option<&str> {
        self.args.first().and_then(Value::as_str)
    }
}

impl fmt::Display for WampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)?;
        match self.message() {
            Some(m) => write!(f, ": {m}"),
            None if !self.args.is_empty() || !self.kwargs.is_empty() => {
                write!(f, " {:?} {:?}", self.args, self.kwargs)
            }
            None => Ok(()),
        }
    }
}

impl std::error::Error for WampError {}

/// Everything a session operation can fail with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A setting or argument is not usable (an invalid URI, realm, option…).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The connection could not be opened, or broke.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// Connecting and joining took longer than the connect timeout.
    #[error("connecting timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// The router refused or ended the session with ABORT (boxed: it is rare and large).
    #[error("the router aborted the session: {0}")]
    Aborted(Box<WampError>),
    /// The peer broke the protocol.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The router or a callee answered with ERROR (boxed, so that results stay small).
    #[error("{0}")]
    Application(Box<WampError>),
    /// No answer came in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The session is over: left, closed by the router, or its connection was lost
    /// (without a reconnect policy, or after it gave up).
    #[error("session closed: {0}")]
    Closed(String),
    /// The connection was lost while the session has a reconnect policy: a request that
    /// was in flight may or may not have been carried out; one made while disconnected
    /// fails with it when the policy does not wait for the reconnection.
    #[error("disconnected: {0}")]
    Disconnected(String),
    /// The router ended a subscription on its own (subscription revocation), with this
    /// reason.
    #[error("revoked by the router: {0}")]
    Revoked(String),
    /// Arguments could not be turned into WAMP values.
    #[error("cannot serialize the arguments: {0}")]
    Serialize(ValueError),
    /// A received payload does not have the expected Rust type.
    #[error("unexpected payload: {0}")]
    Deserialize(ValueError),
}

impl Error {
    /// The WAMP error URI, for application errors and aborts.
    pub fn uri(&self) -> Option<&str> {
        match self {
            Error::Application(e) | Error::Aborted(e) => Some(&e.uri),
            _ => None,
        }
    }
}

impl From<Error> for WampError {
    /// An error met inside a handler, sent on to its caller: application errors keep their
    /// URI and arguments; anything else becomes `wamp.error.runtime_error` with its text.
    fn from(e: Error) -> Self {
        match e {
            Error::Application(e) => *e,
            Error::Deserialize(e) => WampError::with_message(uris::INVALID_ARGUMENT, e.to_string()),
            other => WampError::with_message(uris::RUNTIME_ERROR, other.to_string()),
        }
    }
}

impl From<ValueError> for WampError {
    fn from(e: ValueError) -> Self {
        WampError::with_message(uris::INVALID_ARGUMENT, e.to_string())
    }
}

/// The error a caller sees for an ERROR message's URI and payload.
pub(crate) fn application_error(error: String, payload: &crate::proto::Payload) -> Error {
    let a = super::args::Args::from_payload(payload).unwrap_or_default();
    Error::Application(Box::new(WampError {
        uri: error,
        args: a.args,
        kwargs: a.kwargs,
    }))
}
