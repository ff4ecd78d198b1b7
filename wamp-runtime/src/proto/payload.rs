//! The application payload of a message: its `Arguments|list` and `ArgumentsKw|dict`.
//!
//! A payload is kept in the form it arrived in: the encoded bytes of `args` and `kwargs`
//! tagged with their serializer. A router forwards those bytes untouched to peers of the same
//! serializer and transcodes them once per other serializer; an application decodes them
//! only when it reads them.

use bytes::Bytes;

use super::value::{Dict, List, Value};
use crate::serializer::{DecodeError, EncodeError, Serializer};

/// The `args`/`kwargs` of a PUBLISH, EVENT, CALL, INVOCATION, YIELD, RESULT or ERROR.
#[derive(Debug, Clone, Default)]
pub struct Payload {
    repr: Repr,
}

#[derive(Debug, Clone, Default)]
enum Repr {
    /// Neither `args` nor `kwargs` is on the wire.
    #[default]
    Empty,
    /// Decoded values: `args` is on the wire (possibly empty), `kwargs` when present.
    Values { args: List, kwargs: Option<Dict> },
    /// Encoded bytes of one serializer, exactly as they arrived.
    Encoded(Encoded),
    /// Payload transparency: a single opaque value (binary, or a string) in the `args` slot.
    Transparent(Value),
}

#[derive(Debug, Clone)]
struct Encoded {
    serializer: Serializer,
    args: Bytes,
    kwargs: Option<Bytes>,
}

/// A payload decoded into values.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadValues {
    /// No payload on the wire.
    Empty,
    /// Arguments and keyword arguments.
    Args {
        /// Positional arguments.
        args: List,
        /// Keyword arguments, when on the wire.
        kwargs: Option<Dict>,
    },
    /// An opaque payload (payload transparency / end-to-end encryption).
    Transparent(Value),
}

impl Payload {
    /// No arguments at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Positional and keyword arguments. Empty `kwargs` are left off the wire.
    pub fn new(args: List, kwargs: Dict) -> Self {
        let kwargs = (!kwargs.is_empty()).then_some(kwargs);
        Self::from_parts(args, kwargs)
    }

    /// Positional arguments only.
    pub fn args(args: List) -> Self {
        Self::from_parts(args, None)
    }

    /// Arguments exactly as given: `kwargs: None` leaves the kwargs slot off the wire.
    pub fn from_parts(args: List, kwargs: Option<Dict>) -> Self {
        Self {
            repr: Repr::Values { args, kwargs },
        }
    }

    /// An opaque payload for payload transparency (end-to-end encrypted or pass-through).
    pub fn transparent(value: Value) -> Self {
        Self {
            repr: Repr::Transparent(value),
        }
    }

    /// Encoded `args` (a list) and `kwargs` (a dict) bytes of `serializer`, as a codec found
    /// them in a frame. The caller guarantees they are well-formed.
    pub(crate) fn encoded(serializer: Serializer, args: Bytes, kwargs: Option<Bytes>) -> Self {
        Self {
            repr: Repr::Encoded(Encoded {
                serializer,
                args,
                kwargs,
            }),
        }
    }

    /// A payload from `args` (a list) and `kwargs` (a dict) bytes of `serializer` that
    /// were taken from another payload with [`Payload::encoded_parts`], say by another
    /// node of a router cluster. The bytes are not checked here: reading the payload
    /// reports malformed ones, and a router forwards them as they are.
    pub fn from_encoded(serializer: Serializer, args: Bytes, kwargs: Option<Bytes>) -> Self {
        Self::encoded(serializer, args, kwargs)
    }

    /// The encoded `args` and `kwargs` bytes and their serializer, when the payload holds
    /// encoded bytes (it arrived in a frame): what a router passes on unchanged.
    pub fn encoded_parts(&self) -> Option<(Serializer, &Bytes, Option<&Bytes>)> {
        match &self.repr {
            Repr::Encoded(e) => Some((e.serializer, &e.args, e.kwargs.as_ref())),
            _ => None,
        }
    }

    /// Whether no payload is on the wire.
    pub fn is_empty(&self) -> bool {
        matches!(self.repr, Repr::Empty)
    }

    /// The serializer whose bytes this payload holds, if it holds encoded bytes.
    pub fn serializer(&self) -> Option<Serializer> {
        match &self.repr {
            Repr::Encoded(e) => Some(e.serializer),
            _ => None,
        }
    }

    /// The opaque value of a transparent payload.
    pub fn as_transparent(&self) -> Option<&Value> {
        match &self.repr {
            Repr::Transparent(v) => Some(v),
            _ => None,
        }
    }

    /// Decodes the payload into values.
    pub fn to_values(&self) -> Result<PayloadValues, DecodeError> {
        Ok(match &self.repr {
            Repr::Empty => PayloadValues::Empty,
            Repr::Values { args, kwargs } => PayloadValues::Args {
                args: args.clone(),
                kwargs: kwargs.clone(),
            },
            Repr::Transparent(v) => PayloadValues::Transparent(v.clone()),
            Repr::Encoded(e) => {
                let args = match e.serializer.decode_value(&e.args)? {
                    Value::List(l) => l,
                    other => return Err(DecodeError::shape("Arguments", "list", &other)),
                };
                let kwargs = match &e.kwargs {
                    None => None,
                    Some(b) => match e.serializer.decode_value(b)? {
                        Value::Dict(d) => Some(d),
                        other => return Err(DecodeError::shape("ArgumentsKw", "dict", &other)),
                    },
                };
                PayloadValues::Args { args, kwargs }
            }
        })
    }

    /// The positional arguments (empty when there are none).
    pub fn args_values(&self) -> Result<List, DecodeError> {
        match self.to_values()? {
            PayloadValues::Args { args, .. } => Ok(args),
            _ => Ok(List::new()),
        }
    }

    /// The keyword arguments (empty when there are none).
    pub fn kwargs_values(&self) -> Result<Dict, DecodeError> {
        match self.to_values()? {
            PayloadValues::Args {
                kwargs: Some(k), ..
            } => Ok(k),
            _ => Ok(Dict::new()),
        }
    }

    /// This payload as encoded bytes of `serializer`: a cheap clone when it already is,
    /// otherwise transcoded. Empty and transparent payloads are returned as they are.
    pub fn encoded_for(&self, serializer: Serializer) -> Result<Payload, EncodeError> {
        let (args, kwargs) = match &self.repr {
            Repr::Empty | Repr::Transparent(_) => return Ok(self.clone()),
            Repr::Encoded(e) if e.serializer == serializer => return Ok(self.clone()),
            Repr::Encoded(_) => match self.to_values().map_err(EncodeError::Transcode)? {
                PayloadValues::Args { args, kwargs } => (args, kwargs),
                _ => return Ok(self.clone()),
            },
            Repr::Values { args, kwargs } => (args.clone(), kwargs.clone()),
        };
        let mut a = Vec::new();
        serializer.encode_value(&Value::List(args), &mut a)?;
        let k = match kwargs {
            None => None,
            Some(k) => {
                let mut buf = Vec::new();
                serializer.encode_value(&Value::Dict(k), &mut buf)?;
                Some(Bytes::from(buf))
            }
        };
        Ok(Payload::encoded(serializer, Bytes::from(a), k))
    }

    /// The wire parts of this payload for a codec of `serializer`.
    pub(crate) fn wire(&self, serializer: Serializer) -> Result<WirePayload<'_>, EncodeError> {
        Ok(match &self.repr {
            Repr::Empty => WirePayload::Empty,
            Repr::Values { args, kwargs } => WirePayload::Values(args, kwargs.as_ref()),
            Repr::Transparent(v) => WirePayload::Transparent(v),
            Repr::Encoded(e) if e.serializer == serializer => {
                WirePayload::Raw(&e.args, e.kwargs.as_ref())
            }
            Repr::Encoded(_) => {
                let owned = self.encoded_for(serializer)?;
                WirePayload::Owned(Box::new(owned))
            }
        })
    }
}

/// What a codec writes for a payload.
pub(crate) enum WirePayload<'a> {
    Empty,
    Values(&'a List, Option<&'a Dict>),
    Transparent(&'a Value),
    Raw(&'a Bytes, Option<&'a Bytes>),
    /// Transcoded bytes; their repr is always `Encoded` of the codec's serializer.
    Owned(Box<Payload>),
}

impl WirePayload<'_> {
    /// The number of array slots the payload takes.
    pub(crate) fn slots(&self) -> usize {
        match self {
            WirePayload::Empty => 0,
            WirePayload::Transparent(_) => 1,
            WirePayload::Values(_, k) => 1 + usize::from(k.is_some()),
            WirePayload::Raw(_, k) => 1 + usize::from(k.is_some()),
            WirePayload::Owned(p) => match &p.repr {
                Repr::Encoded(e) => 1 + usize::from(e.kwargs.is_some()),
                _ => 0,
            },
        }
    }

    /// The bytes the payload takes in a frame when they are known already (raw or
    /// transcoded), else 0: what a frame's buffer reserves up front.
    pub(crate) fn known_len(&self) -> usize {
        let raw = |a: &Bytes, k: Option<&Bytes>| a.len() + k.map_or(0, Bytes::len);
        match self {
            WirePayload::Raw(a, k) => raw(a, *k),
            WirePayload::Owned(p) => Self::owned_raw(p).map_or(0, |(a, k)| raw(a, k)),
            _ => 0,
        }
    }

    /// Raw bytes of args and kwargs, for an owned transcoded payload.
    pub(crate) fn owned_raw(p: &Payload) -> Option<(&Bytes, Option<&Bytes>)> {
        match &p.repr {
            Repr::Encoded(e) => Some((&e.args, e.kwargs.as_ref())),
            _ => None,
        }
    }
}

impl PartialEq for Payload {
    /// Payloads are equal when they decode to the same values, whatever their encoding.
    fn eq(&self, other: &Self) -> bool {
        match (self.to_values(), other.to_values()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}
