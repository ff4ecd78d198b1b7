//! WAMP for Rust: the protocol core shared by clients and the router.
//!
//! - [`proto`]: every WAMP message as one enum, values, payloads, URIs and IDs;
//! - [`serializer`]: `wamp.2.json`, `wamp.2.msgpack` and `wamp.2.cbor`.

pub mod proto;
pub mod serializer;

pub use proto::{Dict, Id, List, Message, Payload, Value};
pub use serializer::{DecodeError, EncodeError, Serializer};
