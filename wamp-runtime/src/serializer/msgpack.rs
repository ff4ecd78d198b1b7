//! `wamp.2.msgpack`: MessagePack, with byte strings as the `bin` family.

use bytes::Bytes;

use super::binary::{self, BinReader, BinWriter, Peek, MAX_DEPTH};
use super::binary_ser::Top;
use super::{Codec, DecodeError, EncodeError, Serializer};
use crate::proto::message::Field;
use crate::proto::payload::WirePayload;
use crate::proto::{Dict, Payload, Value};

/// The MessagePack codec.
pub(crate) struct MsgPack;

impl Codec for MsgPack {
    fn decode_frame(frame: &Bytes) -> Result<(Vec<Value>, Payload), DecodeError> {
        binary::decode_frame(frame, Reader { buf: frame, pos: 0 })
    }

    fn encode_frame(
        fields: &[Field<'_>],
        payload: &WirePayload<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        binary::encode_frame::<MsgPack>(fields, payload, out)
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
        <MsgPack as BinWriter>::value(value, out, 0)
    }

    fn encode_dict(dict: &Dict, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        <MsgPack as BinWriter>::dict(dict, out, 0)
    }
}

fn err(detail: &str) -> DecodeError {
    DecodeError::syntax(Serializer::MsgPack, detail)
}

#[derive(Clone)]
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// The header of one MessagePack item.
pub(super) enum Head {
    Nil,
    Bool(bool),
    Int(i64),
    UInt(u64),
    F32(f32),
    F64(f64),
    Str(usize),
    Bin(usize),
    Array(usize),
    Map(usize),
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Where the next item starts.
    pub(super) fn offset(&self) -> usize {
        self.pos
    }

    /// Whether every byte was read.
    pub(super) fn is_done(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// Passes over the next item, checking it.
    pub(super) fn skip_item(&mut self) -> Result<(), DecodeError> {
        self.walk(1, false).map(|_| ())
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| err("unexpected end of data"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn len_u8(&mut self) -> Result<usize, DecodeError> {
        Ok(usize::from(self.be::<1>()?[0]))
    }
    fn len_u16(&mut self) -> Result<usize, DecodeError> {
        Ok(usize::from(u16::from_be_bytes(self.be()?)))
    }
    fn len_u32(&mut self) -> Result<usize, DecodeError> {
        usize::try_from(u32::from_be_bytes(self.be()?)).map_err(|_| err("length too large"))
    }

    pub(super) fn head(&mut self) -> Result<Head, DecodeError> {
        let b = self.be::<1>()?[0];
        Ok(match b {
            0x00..=0x7f => Head::Int(i64::from(b)),
            0x80..=0x8f => Head::Map(usize::from(b & 0x0f)),
            0x90..=0x9f => Head::Array(usize::from(b & 0x0f)),
            0xa0..=0xbf => Head::Str(usize::from(b & 0x1f)),
            0xc0 => Head::Nil,
            0xc2 => Head::Bool(false),
            0xc3 => Head::Bool(true),
            0xc4 => Head::Bin(self.len_u8()?),
            0xc5 => Head::Bin(self.len_u16()?),
            0xc6 => Head::Bin(self.len_u32()?),
            0xca => Head::F32(f32::from_be_bytes(self.be()?)),
            0xcb => Head::F64(f64::from_be_bytes(self.be()?)),
            0xcc => Head::Int(i64::from(self.be::<1>()?[0])),
            0xcd => Head::Int(i64::from(u16::from_be_bytes(self.be()?))),
            0xce => Head::Int(i64::from(u32::from_be_bytes(self.be()?))),
            0xcf => {
                let n = u64::from_be_bytes(self.be()?);
                match i64::try_from(n) {
                    Ok(i) => Head::Int(i),
                    Err(_) => Head::UInt(n),
                }
            }
            0xd0 => Head::Int(i64::from(i8::from_be_bytes(self.be()?))),
            0xd1 => Head::Int(i64::from(i16::from_be_bytes(self.be()?))),
            0xd2 => Head::Int(i64::from(i32::from_be_bytes(self.be()?))),
            0xd3 => Head::Int(i64::from_be_bytes(self.be()?)),
            0xd9 => Head::Str(self.len_u8()?),
            0xda => Head::Str(self.len_u16()?),
            0xdb => Head::Str(self.len_u32()?),
            0xdc => Head::Array(self.len_u16()?),
            0xdd => Head::Array(self.len_u32()?),
            0xde => Head::Map(self.len_u16()?),
            0xdf => Head::Map(self.len_u32()?),
            0xe0..=0xff => Head::Int(i64::from(b as i8)),
            0xc1 => return Err(err("reserved byte 0xc1")),
            0xc7..=0xc9 | 0xd4..=0xd8 => return Err(err("extension types are not supported")),
        })
    }

    pub(super) fn string(&mut self, n: usize) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.take(n)?).map_err(|_| err("string is not valid UTF-8"))
    }

    /// Each item takes at least one byte: a length beyond what is left cannot be real.
    pub(super) fn bounded(&self, n: usize) -> Result<usize, DecodeError> {
        if n > self.buf.len() - self.pos {
            Err(err("unexpected end of data"))
        } else {
            Ok(n)
        }
    }

    fn walk(&mut self, depth: usize, build: bool) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(err("nesting too deep"));
        }
        Ok(match self.head()? {
            Head::Nil => Value::Null,
            Head::Bool(b) => Value::Bool(b),
            Head::Int(i) => Value::Int(i),
            Head::UInt(u) => Value::UInt(u),
            Head::F32(f) => Value::Float(f64::from(f)),
            Head::F64(f) => Value::Float(f),
            Head::Str(n) => {
                let s = self.string(n)?;
                if build {
                    Value::Str(s.to_owned())
                } else {
                    Value::Null
                }
            }
            Head::Bin(n) => {
                let b = self.take(n)?;
                if build {
                    Value::Bytes(b.to_vec())
                } else {
                    Value::Null
                }
            }
            Head::Array(n) => {
                let n = self.bounded(n)?;
                let mut l = Vec::with_capacity(if build { n } else { 0 });
                for _ in 0..n {
                    let v = self.walk(depth + 1, build)?;
                    if build {
                        l.push(v);
                    }
                }
                if build {
                    Value::List(l)
                } else {
                    Value::Null
                }
            }
            Head::Map(n) => {
                let n = self.bounded(n)?;
                let mut d = Dict::with_capacity(if build { n } else { 0 });
                for _ in 0..n {
                    let key = match self.head()? {
                        Head::Str(k) => self.string(k)?,
                        _ => return Err(err("dictionary keys must be strings")),
                    };
                    let v = self.walk(depth + 1, build)?;
                    if build {
                        d.insert(key.to_owned(), v);
                    }
                }
                if build {
                    Value::Dict(d)
                } else {
                    Value::Null
                }
            }
        })
    }
}

impl BinReader for Reader<'_> {
    const SERIALIZER: Serializer = Serializer::MsgPack;

    fn position(&self) -> usize {
        self.pos
    }

    fn at_end(&self) -> bool {
        self.pos == self.buf.len()
    }

    fn array_header(&mut self) -> Result<Option<usize>, DecodeError> {
        match self.head()? {
            Head::Array(n) => Ok(Some(n)),
            _ => Err(DecodeError::Invalid("a message must be an array".into())),
        }
    }

    fn take_break(&mut self) -> Result<bool, DecodeError> {
        Ok(false)
    }

    fn peek(&self) -> Result<Peek, DecodeError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| err("unexpected end of data"))?;
        Ok(match b {
            0x80..=0x8f | 0xde | 0xdf => Peek::Map,
            0x90..=0x9f | 0xdc | 0xdd => Peek::Array,
            0xa0..=0xbf | 0xd9..=0xdb | 0xc4..=0xc6 => Peek::Opaque,
            _ => Peek::Other,
        })
    }

    fn read_value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        self.walk(depth, true)
    }

    fn skip_value(&mut self, depth: usize) -> Result<(), DecodeError> {
        self.walk(depth, false).map(|_| ())
    }
}

fn len_head(out: &mut Vec<u8>, len: usize, fix: Option<(u8, usize)>, codes: [u8; 3]) {
    match fix {
        Some((base, max)) if len <= max => out.push(base | len as u8),
        _ if codes[0] != 0 && len <= 0xff => {
            out.push(codes[0]);
            out.push(len as u8);
        }
        _ if len <= 0xffff => {
            out.push(codes[1]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(codes[2]);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

impl BinWriter for MsgPack {
    fn nil(out: &mut Vec<u8>) {
        out.push(0xc0);
    }

    fn boolean(b: bool, out: &mut Vec<u8>) {
        out.push(if b { 0xc3 } else { 0xc2 });
    }

    fn uint(n: u64, out: &mut Vec<u8>) {
        if n <= 0x7f {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }

    fn negative(i: i64, out: &mut Vec<u8>) {
        if i >= -32 {
            out.push(i as i8 as u8);
        } else if i >= i64::from(i8::MIN) {
            out.extend_from_slice(&[0xd0, i as i8 as u8]);
        } else if i >= i64::from(i16::MIN) {
            out.push(0xd1);
            out.extend_from_slice(&(i as i16).to_be_bytes());
        } else if i >= i64::from(i32::MIN) {
            out.push(0xd2);
            out.extend_from_slice(&(i as i32).to_be_bytes());
        } else {
            out.push(0xd3);
            out.extend_from_slice(&i.to_be_bytes());
        }
    }

    fn float(f: f64, out: &mut Vec<u8>) {
        out.push(0xcb);
        out.extend_from_slice(&f.to_be_bytes());
    }

    fn str(s: &str, out: &mut Vec<u8>) {
        len_head(out, s.len(), Some((0xa0, 31)), [0xd9, 0xda, 0xdb]);
        out.extend_from_slice(s.as_bytes());
    }

    fn bytes(b: &[u8], out: &mut Vec<u8>) {
        len_head(out, b.len(), None, [0xc4, 0xc5, 0xc6]);
        out.extend_from_slice(b);
    }

    fn array_header(len: usize, out: &mut Vec<u8>) {
        len_head(out, len, Some((0x90, 15)), [0, 0xdc, 0xdd]);
    }

    fn map_header(len: usize, out: &mut Vec<u8>) {
        len_head(out, len, Some((0x80, 15)), [0, 0xde, 0xdf]);
    }

    fn kind(first: u8) -> Top {
        match first {
            0xc0 => Top::Null,
            0x90..=0x9f | 0xdc | 0xdd => Top::List { empty: false },
            0x80..=0x8f | 0xde | 0xdf => Top::Map { empty: false },
            _ => Top::Other,
        }
    }
}
