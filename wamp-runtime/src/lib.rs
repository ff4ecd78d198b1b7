//! WAMP for Rust: the protocol core shared by clients and the router, and the async client.
//!
//! - [`Session`]: join a realm on any WAMP router, then call, register, publish and
//!   subscribe (see [`client`]);
//! - [`proto`]: every WAMP message as one enum, values, payloads, URIs and IDs;
//! - [`serializer`]: `wamp.2.json`, `wamp.2.msgpack` and `wamp.2.cbor`;
//! - [`transport`]: WebSocket (`ws://`, `wss://`) and in-process connections.

pub mod client;
pub mod proto;
pub mod serializer;
pub mod transport;

pub use client::{
    Args, Call, CallDetails, Error, Event, EventDetails, Publish, Register, Registration, Session,
    SessionBuilder, Subscribe, Subscription, WampError,
};
pub use proto::{Dict, Id, List, MatchPolicy, Message, Payload, Value};
pub use serializer::{DecodeError, EncodeError, Serializer};
pub use transport::Endpoint;
