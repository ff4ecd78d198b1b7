//! `wamp.2.json`: JSON text, with byte strings as a string of a NUL character followed by
//! the standard base64 of the bytes, as the specification prescribes.

use std::fmt;
use std::io::Write;

use base64::Engine;
use bytes::Bytes;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde_json::value::RawValue;

use super::{Codec, DecodeError, EncodeError, Serializer};
use crate::proto::message::{payload_index, Field};
use crate::proto::payload::WirePayload;
use crate::proto::{Dict, Payload, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The JSON codec.
pub(crate) struct Json;

fn syntax(e: impl fmt::Display) -> DecodeError {
    DecodeError::syntax(Serializer::Json, e.to_string())
}

fn first_char(raw: &RawValue) -> u8 {
    raw.get().bytes().next().unwrap_or(b' ')
}

fn parse(raw: &str) -> Result<Value, DecodeError> {
    serde_json::from_str::<JsonValue>(raw)
        .map(|v| v.0)
        .map_err(syntax)
}

impl Codec for Json {
    fn decode_frame(frame: &Bytes) -> Result<(Vec<Value>, Payload), DecodeError> {
        let items: Vec<&RawValue> = match serde_json::from_slice(frame) {
            Ok(items) => items,
            Err(e) if e.is_data() => {
                return Err(DecodeError::Invalid("a message must be an array".into()))
            }
            Err(e) => return Err(syntax(e)),
        };
        let mut fields = Vec::with_capacity(items.len().min(6));
        let mut index = None;
        let mut args = None;
        let mut kwargs = None;
        let mut transparent = None;
        for (i, raw) in items.into_iter().enumerate() {
            match index {
                Some(p) if i >= p => match i - p {
                    0 => match first_char(raw) {
                        b'[' => args = Some(frame.slice_ref(raw.get().as_bytes())),
                        b'"' => transparent = Some(parse(raw.get())?),
                        _ => return Err(DecodeError::Invalid("Arguments must be a list".into())),
                    },
                    1 if transparent.is_none() => {
                        if first_char(raw) != b'{' {
                            return Err(DecodeError::Invalid("ArgumentsKw must be a dict".into()));
                        }
                        kwargs = Some(frame.slice_ref(raw.get().as_bytes()));
                    }
                    _ => return Err(DecodeError::Invalid("too many fields in message".into())),
                },
                _ => {
                    let v = parse(raw.get())?;
                    if i == 0 {
                        let code = v.as_u64().ok_or_else(|| {
                            DecodeError::Invalid("message type must be an integer".into())
                        })?;
                        index = payload_index(code);
                    }
                    fields.push(v);
                }
            }
        }
        let payload = match (transparent, args) {
            (Some(v), _) => Payload::transparent(v),
            (None, Some(a)) => Payload::encoded(Serializer::Json, a, kwargs),
            (None, None) => Payload::empty(),
        };
        Ok((fields, payload))
    }

    fn encode_frame(
        fields: &[Field<'_>],
        payload: &WirePayload<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        out.push(b'[');
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match f {
                Field::Int(n) => {
                    let _ = write!(out, "{n}");
                }
                Field::Str(s) => write_json(out, s)?,
                Field::Dict(d) => write_json(out, &JsonDict(d))?,
            }
        }
        match payload {
            WirePayload::Empty => {}
            WirePayload::Values(args, kwargs) => {
                out.push(b',');
                write_json(out, &JsonList(args))?;
                if let Some(k) = kwargs {
                    out.push(b',');
                    write_json(out, &JsonDict(k))?;
                }
            }
            WirePayload::Transparent(v) => {
                out.push(b',');
                write_json(out, &JsonRef(v))?;
            }
            WirePayload::Raw(a, k) => raw(out, a, *k),
            WirePayload::Owned(p) => {
                if let Some((a, k)) = WirePayload::owned_raw(p) {
                    raw(out, a, k);
                }
            }
        }
        out.push(b']');
        Ok(())
    }

    fn decode_value(bytes: &[u8]) -> Result<Value, DecodeError> {
        serde_json::from_slice::<JsonValue>(bytes)
            .map(|v| v.0)
            .map_err(syntax)
    }

    fn encode_value(value: &Value, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write_json(out, &JsonRef(value))
    }

    fn encode_dict(dict: &Dict, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write_json(out, &JsonDict(dict))
    }
}

fn raw(out: &mut Vec<u8>, args: &Bytes, kwargs: Option<&Bytes>) {
    out.push(b',');
    out.extend_from_slice(args);
    if let Some(k) = kwargs {
        out.push(b',');
        out.extend_from_slice(k);
    }
}

fn write_json<T: serde::Serialize>(out: &mut Vec<u8>, v: &T) -> Result<(), EncodeError> {
    serde_json::to_writer(out, v).map_err(|e| EncodeError::Unrepresentable(e.to_string()))
}

/// A value serialized the JSON way (binary as a NUL-prefixed base64 string).
struct JsonRef<'a>(&'a Value);
struct JsonList<'a>(&'a [Value]);
struct JsonDict<'a>(&'a Dict);

impl serde::Serialize for JsonRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::UInt(u) => s.serialize_u64(*u),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(v) => s.serialize_str(v),
            Value::Bytes(b) => {
                let mut text = String::with_capacity(1 + b.len().div_ceil(3) * 4);
                text.push('\0');
                B64.encode_string(b, &mut text);
                s.serialize_str(&text)
            }
            Value::List(l) => JsonList(l).serialize(s),
            Value::Dict(d) => JsonDict(d).serialize(s),
        }
    }
}

impl serde::Serialize for JsonList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for v in self.0 {
            seq.serialize_element(&JsonRef(v))?;
        }
        seq.end()
    }
}

impl serde::Serialize for JsonDict<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, &JsonRef(v))?;
        }
        map.end()
    }
}

/// A value deserialized the JSON way.
struct JsonValue(Value);

impl<'de> serde::Deserialize<'de> for JsonValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor).map(JsonValue)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::from_u64(u))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        match s.strip_prefix('\0') {
            Some(b64) => B64
                .decode(b64)
                .map(Value::Bytes)
                .map_err(|_| E::custom("binary string with invalid base64")),
            None => Ok(Value::Str(s.to_owned())),
        }
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        if s.starts_with('\0') {
            self.visit_str(&s)
        } else {
            Ok(Value::Str(s))
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut l = Vec::new();
        while let Some(JsonValue(v)) = seq.next_element()? {
            l.push(v);
        }
        Ok(Value::List(l))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut d = Dict::new();
        while let Some((k, JsonValue(v))) = map.next_entry::<String, JsonValue>()? {
            d.insert(k, v);
        }
        Ok(Value::Dict(d))
    }
}
