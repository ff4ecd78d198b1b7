//! `wamp.2.cbor`: CBOR (RFC 8949), with byte strings as major type 2.
//!
//! Decoding accepts definite and indefinite lengths, all float widths, and skips semantic
//! tags (keeping the tagged value). Encoding writes the shortest definite forms.

use bytes::Bytes;

use super::binary::{self, BinReader, BinWriter, Peek, MAX_DEPTH};
use super::binary_ser::Top;
use super::{Codec, DecodeError, EncodeError, Serializer};
use crate::proto::message::Field;
use crate::proto::payload::WirePayload;
use crate::proto::{Dict, Payload, Value};

/// The CBOR codec.
pub(crate) struct Cbor;

impl Codec for Cbor {
    fn decode_frame(frame: &Bytes) -> Result<(Vec<Value>, Payload), DecodeError> {
        binary::decode_frame(frame, Reader { buf: frame, pos: 0 })
    }

    fn encode_frame(
        fields: &[Field<'_>],
        payload: &WirePayload<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        binary::encode_frame::<Cbor>(fields, payload, out)
    }

    fn decode_value(bytes: &[u8]) -> Result<Value, DecodeError> {
        let mut r = Reader { buf: bytes, pos: 0 };
        let v = r.read_value(0)?;
        if !r.at_end() {
            return Err(err("trailing bytes after the value"));
        }
        Ok(v)
    }

    fn encode_value(value: &Value, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        <Cbor as BinWriter>::value(value, out, 0)
    }

    fn encode_dict(dict: &Dict, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        <Cbor as BinWriter>::dict(dict, out, 0)
    }
}

fn err(detail: &str) -> DecodeError {
    DecodeError::syntax(Serializer::Cbor, detail)
}

const BREAK: u8 = 0xff;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// An item's major type and argument; `None` argument means indefinite length.
struct Head {
    major: u8,
    info: u8,
    arg: Option<u64>,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| err("unexpected end of data"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn head(&mut self) -> Result<Head, DecodeError> {
        let b = self.byte()?;
        let (major, info) = (b >> 5, b & 0x1f);
        let arg = match info {
            0..=23 => Some(u64::from(info)),
            24 => Some(u64::from(self.byte()?)),
            25 => Some(u64::from(u16::from_be_bytes(self.array()?))),
            26 => Some(u64::from(u32::from_be_bytes(self.array()?))),
            27 => Some(u64::from_be_bytes(self.array()?)),
            31 if matches!(major, 2..=5) => None,
            31 if major == 7 => return Err(err("unexpected break")),
            _ => return Err(err("reserved additional information")),
        };
        Ok(Head { major, info, arg })
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn length(&self, n: u64) -> Result<usize, DecodeError> {
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.buf.len() - self.pos)
            .ok_or_else(|| err("unexpected end of data"))
    }

    fn is_break(&self) -> bool {
        self.buf.get(self.pos) == Some(&BREAK)
    }

    /// Reads a string or byte string (major 2 or 3), joining indefinite-length chunks.
    fn chunks(&mut self, major: u8, arg: Option<u64>) -> Result<Vec<u8>, DecodeError> {
        match arg {
            Some(n) => {
                let n = self.length(n)?;
                Ok(self.take(n)?.to_vec())
            }
            None => {
                let mut out = Vec::new();
                loop {
                    if self.is_break() {
                        self.pos += 1;
                        return Ok(out);
                    }
                    let h = self.head()?;
                    if h.major != major {
                        return Err(err("indefinite string chunk of another type"));
                    }
                    let n = self.length(h.arg.ok_or_else(|| err("nested indefinite chunk"))?)?;
                    out.extend_from_slice(self.take(n)?);
                }
            }
        }
    }

    fn walk(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(err("nesting too deep"));
        }
        let h = self.head()?;
        Ok(match (h.major, h.arg) {
            (0, Some(n)) => Value::from_u64(n),
            (1, Some(n)) => match i64::try_from(n) {
                Ok(i) => Value::Int(-1 - i),
                Err(_) => return Err(err("negative integer out of range")),
            },
            (2, arg) => Value::Bytes(self.chunks(2, arg)?),
            (3, arg) => Value::Str(
                String::from_utf8(self.chunks(3, arg)?)
                    .map_err(|_| err("string is not valid UTF-8"))?,
            ),
            (4, arg) => {
                let mut l = Vec::new();
                match arg {
                    Some(n) => {
                        let n = self.length(n)?;
                        l.reserve(n);
                        for _ in 0..n {
                            l.push(self.walk(depth + 1)?);
                        }
                    }
                    None => {
                        while !self.is_break() {
                            l.push(self.walk(depth + 1)?);
                        }
                        self.pos += 1;
                    }
                }
                Value::List(l)
            }
            (5, arg) => {
                let mut d = Dict::new();
                let mut entry = |r: &mut Self| -> Result<(), DecodeError> {
                    let key = match r.walk(depth + 1)? {
                        Value::Str(s) => s,
                        _ => return Err(err("dictionary keys must be strings")),
                    };
                    let v = r.walk(depth + 1)?;
                    d.insert(key, v);
                    Ok(())
                };
                match arg {
                    Some(n) => {
                        let n = self.length(n)?;
                        for _ in 0..n {
                            entry(self)?;
                        }
                    }
                    None => {
                        while !self.is_break() {
                            entry(self)?;
                        }
                        self.pos += 1;
                    }
                }
                Value::Dict(d)
            }
            // A semantic tag: keep the tagged value.
            (6, Some(_)) => self.walk(depth + 1)?,
            (7, Some(n)) => match h.info {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 | 23 => Value::Null,
                25 => Value::Float(half_to_f64(n as u16)),
                26 => Value::Float(f64::from(f32::from_bits(n as u32))),
                27 => Value::Float(f64::from_bits(n)),
                _ => return Err(err("unsupported simple value")),
            },
            _ => return Err(err("malformed item")),
        })
    }
}

/// IEEE 754 half precision to double.
fn half_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let mant = f64::from(h & 0x3ff);
    sign * match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + mant / 1024.0) * 2f64.powi(e - 15),
    }
}

impl BinReader for Reader<'_> {
    const SERIALIZER: Serializer = Serializer::Cbor;

    fn position(&self) -> usize {
        self.pos
    }

    fn at_end(&self) -> bool {
        self.pos == self.buf.len()
    }

    fn array_header(&mut self) -> Result<Option<usize>, DecodeError> {
        let h = self.head()?;
        if h.major != 4 {
            return Err(DecodeError::Invalid("a message must be an array".into()));
        }
        h.arg.map(|n| self.length(n)).transpose()
    }

    fn take_break(&mut self) -> Result<bool, DecodeError> {
        if self.is_break() {
            self.pos += 1;
            Ok(true)
        } else if self.at_end() {
            Err(err("unexpected end of data"))
        } else {
            Ok(false)
        }
    }

    fn peek(&self) -> Result<Peek, DecodeError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| err("unexpected end of data"))?;
        Ok(match b >> 5 {
            4 => Peek::Array,
            5 => Peek::Map,
            2 | 3 => Peek::Opaque,
            _ => Peek::Other,
        })
    }

    fn read_value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        self.walk(depth)
    }

    fn skip_value(&mut self, depth: usize) -> Result<(), DecodeError> {
        self.walk(depth).map(|_| ())
    }
}

fn head(major: u8, n: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[m | 24, n as u8]);
    } else if n <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

impl BinWriter for Cbor {
    fn nil(out: &mut Vec<u8>) {
        out.push(0xf6);
    }

    fn boolean(b: bool, out: &mut Vec<u8>) {
        out.push(if b { 0xf5 } else { 0xf4 });
    }

    fn uint(n: u64, out: &mut Vec<u8>) {
        head(0, n, out);
    }

    fn negative(i: i64, out: &mut Vec<u8>) {
        head(1, (-1 - i) as u64, out);
    }

    fn float(f: f64, out: &mut Vec<u8>) {
        out.push(0xfb);
        out.extend_from_slice(&f.to_bits().to_be_bytes());
    }

    fn str(s: &str, out: &mut Vec<u8>) {
        head(3, s.len() as u64, out);
        out.extend_from_slice(s.as_bytes());
    }

    fn bytes(b: &[u8], out: &mut Vec<u8>) {
        head(2, b.len() as u64, out);
        out.extend_from_slice(b);
    }

    fn array_header(len: usize, out: &mut Vec<u8>) {
        head(4, len as u64, out);
    }

    fn map_header(len: usize, out: &mut Vec<u8>) {
        head(5, len as u64, out);
    }

    fn kind(first: u8) -> Top {
        match first >> 5 {
            _ if first == 0xf6 => Top::Null,
            4 => Top::List { empty: false },
            5 => Top::Map { empty: false },
            _ => Top::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::half_to_f64;

    #[test]
    fn half_floats() {
        assert_eq!(half_to_f64(0x3c00), 1.0);
        assert_eq!(half_to_f64(0xc000), -2.0);
        assert_eq!(half_to_f64(0x7c00), f64::INFINITY);
        assert_eq!(half_to_f64(0x0001), 5.960464477539063e-8);
    }
}
