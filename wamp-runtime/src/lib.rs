//! WAMP for Rust: the protocol core shared by clients and the router, and the async client.
//!
//! - [`Session`]: join a realm on any WAMP router, then call, register, publish and
//!   subscribe (see [`client`]);
//! - [`proto`]: every WAMP message as one enum, values, payloads, URIs and IDs;
//! - [`serializer`]: `wamp.2.json`, `wamp.2.msgpack` and `wamp.2.cbor`;
//! - [`transport`]: WebSocket (`ws://`, `wss://`) and in-process connections;
//! - [`typed`] with the [`service`] and [`WampError`](macro@WampError) macros: WAMP APIs
//!   the compiler checks.

pub mod client;
pub mod interface;
pub mod proto;
pub mod scram;
pub mod serializer;
pub mod transport;
pub mod typed;

/// Turns a trait into a WAMP service: registrations for its implementations and a typed
/// caller stub. See the crate's README for the attributes.
pub use wamp_macros::service;
/// Turns a struct into a typed topic: a publisher and a subscription of its own type.
pub use wamp_macros::topic;
/// Maps an error enum to WAMP error URIs, in both directions.
pub use wamp_macros::WampError;

/// What generated code refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::client::Publish;
    pub use crate::client::{Args, CallDetails, Error, Progress, Session, WampError};
    pub use crate::interface::{
        open_pattern, Describer, ErrorCase, HasSchema, Interface, Match as InterfaceMatch,
        NoSchema, Param as InterfaceParam, Payload as InterfacePayload,
        Placeholder as InterfacePlaceholder, Probe, Procedure as InterfaceProcedure,
        Shape as InterfaceShape, Topic as InterfaceTopic,
    };
    pub use crate::proto::MatchPolicy;
    pub use crate::proto::{Value, ValueError};
    pub use crate::typed::{
        catch_all_from, catch_all_takes, catch_all_to, check_extras, component, drive_progressive,
        error_field, join_components, kwarg_param, param, parse_component, publish_topic, reply,
        uri_param, uri_tail, with_tail, ApplicationError, CallDefaults, Incoming, ResultShape,
        ServiceCall, ServiceError, ServiceRegistration, ServiceStream, StubArgs, Topic,
        TopicComponent, TopicSubscribe,
    };
    pub use futures_util::Stream;
    pub use schemars::SchemaGenerator;
    pub use serde;
    pub use std::default::Default;
    pub use std::future::Future;
    pub use std::marker::{Send, Sized, Sync};
    pub use std::option::Option;
    pub use std::result::Result;
    pub use std::string::String;
    pub use std::sync::Arc;
    pub use std::time::Duration;
    pub use std::vec::Vec;
}

pub use client::{
    Args, Call, CallDetails, CancelHandle, CryptosignKey, Error, Event, EventDetails, HistoryEvent,
    HistoryQuery, Lifecycle, Opaque, Progress, ProgressiveCall, ProgressiveResults, Publish,
    ReconnectPolicy, Register, Registration, Session, SessionBuilder, SessionEvent, Subscribe,
    Subscription, Testament, TestamentScope, WampError,
};
pub use proto::{CancelMode, Dict, Id, List, MatchPolicy, Message, Payload, Value};
pub use serializer::{DecodeError, EncodeError, Serializer};
pub use transport::Endpoint;

/// Re-exported for subscriptions, which are streams: `use wamp_runtime::StreamExt` for
/// `.next()`.
pub use futures_util::{Stream, StreamExt};
/// Re-exported so that `#[derive(wamp_runtime::serde::Serialize)]` needs no other crate
/// (with `#[serde(crate = "wamp_runtime::serde")]`).
pub use serde;
pub use typed::{
    CallContext, ReadAnswer, ServiceCall, ServiceError, ServiceRegistration, ServiceStream, Topic,
    TopicComponent, TopicEvent, TopicSubscription,
};
