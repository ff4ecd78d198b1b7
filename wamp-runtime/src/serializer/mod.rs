//! Serializers: `wamp.2.json`, `wamp.2.msgpack` and `wamp.2.cbor`, behind one `Codec` trait.
//!
//! Decoding checks the message's shape and returns a typed [`DecodeError`] for anything a
//! peer can get wrong; it never panics, whatever the bytes. The `args`/`kwargs` of a message
//! are not decoded: they stay as the encoded bytes they arrived in (see [`Payload`]).

mod binary;
pub(crate) mod binary_ser;
mod cbor;
mod json;
mod msgpack;
pub(crate) mod msgpack_de;

use bytes::Bytes;

use crate::proto::message::Field;
use crate::proto::payload::WirePayload;
use crate::proto::{Dict, Message, Payload, Value};

/// The serializers a session can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Serializer {
    /// `wamp.2.json`: text frames; binary as a NUL-prefixed base64 string.
    Json,
    /// `wamp.2.msgpack`: binary frames; binary as the `bin` type.
    MsgPack,
    /// `wamp.2.cbor`: binary frames; binary as a byte string.
    Cbor,
}

/// A message or value could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not valid for the serializer.
    #[error("malformed {serializer} data: {detail}")]
    Syntax {
        /// The serializer's name.
        serializer: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The data is well-formed but not a valid WAMP message.
    #[error("invalid message: {0}")]
    Invalid(String),
    /// The message type code is not one the protocol defines.
    #[error("unknown message type {0}")]
    UnknownType(u64),
    /// A field is missing.
    #[error("{message} is missing its {field} field")]
    Missing {
        /// The message's name.
        message: &'static str,
        /// The field's name.
        field: &'static str,
    },
    /// The message has more fields than its type allows.
    #[error("{message} has too many fields")]
    Arity {
        /// The message's name.
        message: &'static str,
    },
    /// A field has the wrong type.
    #[error("{message}.{field} must be {expected}, found {found}")]
    FieldType {
        /// The message's name.
        message: &'static str,
        /// The field's name.
        field: &'static str,
        /// The expected type.
        expected: &'static str,
        /// The type found.
        found: &'static str,
    },
    /// An ID lies outside `1..=2^53`.
    #[error("{message}.{field} is outside the ID range 1..2^53")]
    IdOutOfRange {
        /// The message's name.
        message: &'static str,
        /// The field's name.
        field: &'static str,
    },
    /// A URI field is not a valid URI (loose rule).
    #[error("{message}.{field} is not a valid URI: {uri:?}")]
    InvalidUri {
        /// The message's name.
        message: &'static str,
        /// The field's name.
        field: &'static str,
        /// The offending text.
        uri: String,
    },
    /// A known option or detail has a value of the wrong type.
    #[error("{message}.{what}.{key} has an invalid value")]
    InvalidOption {
        /// The message's name.
        message: &'static str,
        /// `Options` or `Details`.
        what: &'static str,
        /// The option's key.
        key: String,
    },
}

impl DecodeError {
    pub(crate) fn syntax(ser: Serializer, detail: impl Into<String>) -> Self {
        DecodeError::Syntax {
            serializer: ser.name(),
            detail: detail.into(),
        }
    }

    pub(crate) fn shape(field: &str, expected: &str, found: &Value) -> Self {
        DecodeError::Invalid(format!(
            "{field} must be a {expected}, found {}",
            found.kind()
        ))
    }
}

/// A message or value could not be encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncodeError {
    /// A payload in another serializer's bytes could not be decoded for transcoding.
    #[error("cannot transcode payload: {0}")]
    Transcode(#[source] DecodeError),
    /// The value cannot be represented by the serializer.
    #[error("cannot encode: {0}")]
    Unrepresentable(String),
}

/// The operations every serializer implements.
pub(crate) trait Codec {
    /// Decodes one message frame into its envelope values and its payload.
    fn decode_frame(frame: &Bytes) -> Result<(Vec<Value>, Payload), DecodeError>;
    /// Encodes envelope fields and a payload into one frame.
    fn encode_frame(
        fields: &[Field<'_>],
        payload: &WirePayload<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError>;
    /// Decodes one whole value.
    fn decode_value(bytes: &[u8]) -> Result<Value, DecodeError>;
    /// Encodes one value.
    fn encode_value(value: &Value, out: &mut Vec<u8>) -> Result<(), EncodeError>;
    /// Encodes one dictionary.
    fn encode_dict(dict: &Dict, out: &mut Vec<u8>) -> Result<(), EncodeError>;
}

impl Serializer {
    /// All serializers, in the order a router prefers them.
    pub const ALL: [Serializer; 3] = [Serializer::Cbor, Serializer::MsgPack, Serializer::Json];

    /// The WebSocket subprotocol name (`wamp.2.json`).
    pub fn subprotocol(&self) -> &'static str {
        match self {
            Serializer::Json => "wamp.2.json",
            Serializer::MsgPack => "wamp.2.msgpack",
            Serializer::Cbor => "wamp.2.cbor",
        }
    }

    /// The serializer of a WebSocket subprotocol name.
    pub fn from_subprotocol(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.subprotocol() == name)
    }

    /// A short name (`json`, `msgpack`, `cbor`).
    pub fn name(&self) -> &'static str {
        match self {
            Serializer::Json => "json",
            Serializer::MsgPack => "msgpack",
            Serializer::Cbor => "cbor",
        }
    }

    /// Whether frames are binary (MessagePack, CBOR) rather than text (JSON).
    pub fn is_binary(&self) -> bool {
        !matches!(self, Serializer::Json)
    }

    /// Encodes a message into one frame.
    pub fn encode(&self, msg: &Message) -> Result<Bytes, EncodeError> {
        let (fields, payload) = msg.fields();
        let wire = match payload {
            Some(p) => p.wire(*self)?,
            None => WirePayload::Empty,
        };
        // The fields are small; the payload's bytes are counted when known, so that a
        // forwarded message is written without growing its buffer.
        let mut out = Vec::with_capacity(96 + wire.known_len());
        match self {
            Serializer::Json => json::Json::encode_frame(&fields, &wire, &mut out)?,
            Serializer::MsgPack => msgpack::MsgPack::encode_frame(&fields, &wire, &mut out)?,
            Serializer::Cbor => cbor::Cbor::encode_frame(&fields, &wire, &mut out)?,
        }
        Ok(Bytes::from(out))
    }

    /// Decodes one frame into a message, checking its shape.
    pub fn decode(&self, frame: &Bytes) -> Result<Message, DecodeError> {
        let (fields, payload) = match self {
            Serializer::Json => json::Json::decode_frame(frame)?,
            Serializer::MsgPack => msgpack::MsgPack::decode_frame(frame)?,
            Serializer::Cbor => cbor::Cbor::decode_frame(frame)?,
        };
        Message::from_parts(fields, payload)
    }

    /// Decodes one value.
    pub fn decode_value(&self, bytes: &[u8]) -> Result<Value, DecodeError> {
        match self {
            Serializer::Json => json::Json::decode_value(bytes),
            Serializer::MsgPack => msgpack::MsgPack::decode_value(bytes),
            Serializer::Cbor => cbor::Cbor::decode_value(bytes),
        }
    }

    /// Encodes one value, appending to `out`.
    pub fn encode_value(&self, value: &Value, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Serializer::Json => json::Json::encode_value(value, out),
            Serializer::MsgPack => msgpack::MsgPack::encode_value(value, out),
            Serializer::Cbor => cbor::Cbor::encode_value(value, out),
        }
    }

    /// Encodes one dictionary, appending to `out` (as `encode_value` of a `Value::Dict`,
    /// without making one).
    pub fn encode_dict(&self, dict: &Dict, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Serializer::Json => json::Json::encode_dict(dict, out),
            Serializer::MsgPack => msgpack::MsgPack::encode_dict(dict, out),
            Serializer::Cbor => cbor::Cbor::encode_dict(dict, out),
        }
    }
}

/// A serializer name that is not `json`, `msgpack` or `cbor`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not one of json, msgpack, cbor")]
pub struct UnknownSerializer(pub String);

impl std::str::FromStr for Serializer {
    type Err = UnknownSerializer;

    /// `json`, `msgpack` or `cbor` (the short names of [`Serializer::name`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|ser| ser.name() == s)
            .ok_or_else(|| UnknownSerializer(s.to_owned()))
    }
}

impl std::fmt::Display for Serializer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.subprotocol())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CANCEL with options nested `depth` dicts deep, in MessagePack or CBOR.
    fn nested_cancel(ser: Serializer, depth: usize) -> Bytes {
        let (head, level, end): (&[u8], &[u8], u8) = match ser {
            Serializer::MsgPack => (&[0x93, 0x31, 0x01], &[0x81, 0xA1, b'a'], 0xC0),
            _ => (&[0x83, 0x18, 0x31, 0x01], &[0xA1, 0x61, b'a'], 0xF6),
        };
        let mut out = head.to_vec();
        for _ in 0..depth {
            out.extend_from_slice(level);
        }
        out.push(end);
        Bytes::from(out)
    }

    /// Found by the `decode_msgpack` fuzz target: the decoder and encoder must agree on
    /// how deep a message may nest, so that whatever decodes can be forwarded.
    #[test]
    fn whatever_decodes_encodes_at_every_nesting_depth() {
        for ser in [Serializer::MsgPack, Serializer::Cbor] {
            let mut decoded = 0;
            for depth in 100..160 {
                if let Ok(msg) = ser.decode(&nested_cancel(ser, depth)) {
                    decoded += 1;
                    let frame = ser
                        .encode(&msg)
                        .unwrap_or_else(|e| panic!("{ser} {depth}: {e}"));
                    assert!(ser.decode(&frame).is_ok());
                }
            }
            assert!((1..60).contains(&decoded), "{ser}: the limit is in range");
        }
    }

    #[test]
    fn a_dict_encodes_as_the_same_dict_value() {
        let mut d = Dict::new();
        d.insert("n".into(), Value::from(7u64));
        d.insert(
            "list".into(),
            Value::List(vec![Value::Bool(true), Value::Null]),
        );
        for ser in Serializer::ALL {
            let (mut direct, mut wrapped) = (Vec::new(), Vec::new());
            ser.encode_dict(&d, &mut direct).unwrap();
            ser.encode_value(&Value::Dict(d.clone()), &mut wrapped)
                .unwrap();
            assert_eq!(direct, wrapped, "{ser}");
        }
    }
}
