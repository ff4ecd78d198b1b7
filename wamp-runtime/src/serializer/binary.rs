//! The frame logic shared by the binary serializers (MessagePack and CBOR): walking the
//! message array, keeping `args`/`kwargs` as byte ranges, and writing frames.

use bytes::Bytes;

use super::binary_ser::Top;
use super::{DecodeError, EncodeError, Serializer};
use crate::proto::message::{payload_index, Field};
use crate::proto::payload::WirePayload;
use crate::proto::{Payload, Value};

/// Nesting deeper than this is refused, so hostile input cannot exhaust the stack.
pub(crate) const MAX_DEPTH: usize = 128;

/// What the next item of a binary reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peek {
    Array,
    Map,
    /// A string or byte string.
    Opaque,
    Other,
}

/// A reader of one binary serializer over a byte slice.
pub(crate) trait BinReader {
    const SERIALIZER: Serializer;
    fn position(&self) -> usize;
    fn at_end(&self) -> bool;
    /// Reads an array header: `Some(len)`, or `None` for an indefinite-length array.
    fn array_header(&mut self) -> Result<Option<usize>, DecodeError>;
    /// For an indefinite-length array: consumes the break marker if it is next.
    fn take_break(&mut self) -> Result<bool, DecodeError>;
    fn peek(&self) -> Result<Peek, DecodeError>;
    fn read_value(&mut self, depth: usize) -> Result<Value, DecodeError>;
    /// Skips one value, checking it the way `read_value` would.
    fn skip_value(&mut self, depth: usize) -> Result<(), DecodeError>;
}

/// A writer of one binary serializer: its items, in their shortest form, and whole values
/// built from them.
pub(crate) trait BinWriter {
    fn nil(out: &mut Vec<u8>);
    fn boolean(b: bool, out: &mut Vec<u8>);
    fn uint(n: u64, out: &mut Vec<u8>);
    /// A negative integer.
    fn negative(i: i64, out: &mut Vec<u8>);
    fn float(f: f64, out: &mut Vec<u8>);
    fn str(s: &str, out: &mut Vec<u8>);
    fn bytes(b: &[u8], out: &mut Vec<u8>);
    fn array_header(len: usize, out: &mut Vec<u8>);
    fn map_header(len: usize, out: &mut Vec<u8>);
    /// What an item starting with byte `first` is (its emptiness aside).
    fn kind(first: u8) -> Top;

    fn int(i: i64, out: &mut Vec<u8>) {
        if i >= 0 {
            Self::uint(i as u64, out)
        } else {
            Self::negative(i, out)
        }
    }

    fn dict(d: &crate::proto::Dict, out: &mut Vec<u8>, depth: usize) -> Result<(), EncodeError> {
        check_depth(depth)?;
        Self::map_header(d.len(), out);
        for (k, v) in d {
            Self::str(k, out);
            Self::value(v, out, depth + 1)?;
        }
        Ok(())
    }

    fn value(v: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), EncodeError> {
        check_depth(depth)?;
        match v {
            Value::Null => Self::nil(out),
            Value::Bool(b) => Self::boolean(*b, out),
            Value::Int(i) => Self::int(*i, out),
            Value::UInt(u) => Self::uint(*u, out),
            Value::Float(f) => Self::float(*f, out),
            Value::Str(s) => Self::str(s, out),
            Value::Bytes(b) => Self::bytes(b, out),
            Value::List(l) => {
                Self::array_header(l.len(), out);
                for x in l {
                    Self::value(x, out, depth + 1)?;
                }
            }
            Value::Dict(d) => Self::dict(d, out, depth)?,
        }
        Ok(())
    }
}

/// Decodes a whole frame with reader `r` over `frame`.
pub(crate) fn decode_frame<R: BinReader>(
    frame: &Bytes,
    mut r: R,
) -> Result<(Vec<Value>, Payload), DecodeError> {
    let ser = R::SERIALIZER;
    let len = r.array_header()?;
    let mut fields = Vec::with_capacity(len.unwrap_or(8).min(8));
    let mut index: Option<usize> = None;
    let mut args: Option<Bytes> = None;
    let mut kwargs: Option<Bytes> = None;
    let mut transparent: Option<Value> = None;
    let mut i = 0usize;
    loop {
        let done = match len {
            Some(n) => i == n,
            None => r.take_break()?,
        };
        if done {
            break;
        }
        match index {
            Some(p) if i >= p => match i - p {
                0 => match r.peek()? {
                    Peek::Array => {
                        let start = r.position();
                        r.skip_value(1)?;
                        args = Some(frame.slice(start..r.position()));
                    }
                    Peek::Opaque => transparent = Some(r.read_value(1)?),
                    _ => return Err(DecodeError::Invalid("Arguments must be a list".into())),
                },
                1 if transparent.is_none() => {
                    if r.peek()? != Peek::Map {
                        return Err(DecodeError::Invalid("ArgumentsKw must be a dict".into()));
                    }
                    let start = r.position();
                    r.skip_value(1)?;
                    kwargs = Some(frame.slice(start..r.position()));
                }
                _ => return Err(DecodeError::Invalid("too many fields in message".into())),
            },
            _ => {
                let v = r.read_value(1)?;
                if i == 0 {
                    let code = v.as_u64().ok_or_else(|| {
                        DecodeError::Invalid("message type must be an integer".into())
                    })?;
                    index = payload_index(code);
                }
                fields.push(v);
            }
        }
        i += 1;
    }
    if !r.at_end() {
        return Err(DecodeError::syntax(ser, "trailing bytes after the message"));
    }
    let payload = match (transparent, args) {
        (Some(v), _) => Payload::transparent(v),
        (None, Some(a)) => Payload::encoded(ser, a, kwargs),
        (None, None) => Payload::empty(),
    };
    Ok((fields, payload))
}

/// Encodes a frame with writer `W`.
pub(crate) fn encode_frame<W: BinWriter>(
    fields: &[Field<'_>],
    payload: &WirePayload<'_>,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    W::array_header(fields.len() + payload.slots(), out);
    for f in fields {
        match f {
            Field::Int(n) => W::uint(*n, out),
            Field::Str(s) => W::str(s, out),
            Field::Dict(d) => W::dict(d, out, 1)?,
        }
    }
    match payload {
        WirePayload::Empty => {}
        WirePayload::Values(args, kwargs) => {
            W::array_header(args.len(), out);
            for a in args.iter() {
                W::value(a, out, 2)?;
            }
            if let Some(k) = kwargs {
                W::dict(k, out, 1)?;
            }
        }
        WirePayload::Transparent(v) => W::value(v, out, 1)?,
        WirePayload::Raw(a, k) => {
            out.extend_from_slice(a);
            if let Some(k) = k {
                out.extend_from_slice(k);
            }
        }
        WirePayload::Owned(p) => {
            if let Some((a, k)) = WirePayload::owned_raw(p) {
                out.extend_from_slice(a);
                if let Some(k) = k {
                    out.extend_from_slice(k);
                }
            }
        }
    }
    Ok(())
}

/// Guards recursion depth while encoding.
pub(crate) fn check_depth(depth: usize) -> Result<(), EncodeError> {
    if depth > MAX_DEPTH {
        Err(EncodeError::Unrepresentable(format!(
            "nesting deeper than {MAX_DEPTH}"
        )))
    } else {
        Ok(())
    }
}
