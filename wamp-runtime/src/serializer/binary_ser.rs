//! Rust values written straight as MessagePack or CBOR bytes, with no
//! [`Value`](crate::proto::Value) tree in between: what the arguments of a call, a
//! publication or a yield become when the session speaks a binary serializer. The bytes
//! are those `to_value` and then encoding the value would give (integers in their
//! shortest form, floats as doubles, `null` for unit and `None`, byte buffers as byte
//! strings, enums as a string or a one-entry map, map keys as strings), so that no peer
//! can tell the two paths apart.

use std::marker::PhantomData;

use serde::ser::{self, Serialize};

use super::binary::{BinWriter, MAX_DEPTH};
use super::cbor::Cbor;
use super::msgpack::MsgPack;
use super::Serializer;
use crate::proto::ValueError;

/// What the top of an encoded value is: what the arguments mapping looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Top {
    /// `null` (unit, `None`).
    Null,
    /// A list (a sequence or a tuple); `empty` when it has no items.
    List { empty: bool },
    /// A map (a struct or a map); `empty` when it has no entries.
    Map { empty: bool },
    /// Anything else: a scalar, a string, bytes.
    Other,
}

/// Writes `value` at the end of `out`, and tells what its top is.
pub(crate) fn write<W: BinWriter, T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<Top, ValueError> {
    let start = out.len();
    value.serialize(Writer::<W>::new(out, 0))?;
    let written = &out[start..];
    let empty = written.len() == 1;
    Ok(match written.first().map(|b| W::kind(*b)) {
        Some(Top::List { .. }) => Top::List { empty },
        Some(Top::Map { .. }) => Top::Map { empty },
        Some(top) => top,
        None => Top::Null,
    })
}

fn too_deep() -> ValueError {
    ValueError(format!("nesting deeper than {MAX_DEPTH}"))
}

/// The serializer: writes one value at nesting `depth`.
struct Writer<'a, W> {
    out: &'a mut Vec<u8>,
    depth: usize,
    _codec: PhantomData<W>,
}

impl<'a, W: BinWriter> Writer<'a, W> {
    fn new(out: &'a mut Vec<u8>, depth: usize) -> Self {
        Self {
            out,
            depth,
            _codec: PhantomData,
        }
    }

    fn checked(self) -> Result<Self, ValueError> {
        if self.depth > MAX_DEPTH {
            return Err(too_deep());
        }
        Ok(self)
    }

    fn done(self, write: impl FnOnce(&mut Vec<u8>)) -> Result<(), ValueError> {
        let this = self.checked()?;
        write(this.out);
        Ok(())
    }

    fn int(self, v: i64) -> Result<(), ValueError> {
        self.done(|out| W::int(v, out))
    }

    fn uint(self, v: u64) -> Result<(), ValueError> {
        self.done(|out| W::uint(v, out))
    }

    /// A list or a map of `len` items (or entries), its header written now and mended at
    /// the end if the count differs (or was not given).
    fn compound(self, len: Option<usize>, map: bool) -> Result<Compound<'a, W>, ValueError> {
        let this = self.checked()?;
        let start = this.out.len();
        if let Some(n) = len {
            header::<W>(n, map, this.out);
        }
        let header = this.out.len() - start;
        Ok(Compound {
            out: this.out,
            depth: this.depth,
            start,
            header,
            declared: len,
            count: 0,
            map,
            _codec: PhantomData,
        })
    }

    /// `{variant: …}`: a one-entry map, then the content.
    fn tagged(self, variant: &str) -> Result<Writer<'a, W>, ValueError> {
        let this = self.checked()?;
        W::map_header(1, this.out);
        W::str(variant, this.out);
        Ok(Writer::new(this.out, this.depth + 1))
    }
}

fn header<W: BinWriter>(n: usize, map: bool, out: &mut Vec<u8>) {
    if map {
        W::map_header(n, out)
    } else {
        W::array_header(n, out)
    }
}

impl<'a, W: BinWriter> ser::Serializer for Writer<'a, W> {
    type Ok = ();
    type Error = ValueError;
    type SerializeSeq = Compound<'a, W>;
    type SerializeTuple = Compound<'a, W>;
    type SerializeTupleStruct = Compound<'a, W>;
    type SerializeTupleVariant = Compound<'a, W>;
    type SerializeMap = Compound<'a, W>;
    type SerializeStruct = Compound<'a, W>;
    type SerializeStructVariant = Compound<'a, W>;

    fn serialize_bool(self, v: bool) -> Result<(), ValueError> {
        self.done(|out| W::boolean(v, out))
    }
    fn serialize_i8(self, v: i8) -> Result<(), ValueError> {
        self.int(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), ValueError> {
        self.int(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), ValueError> {
        self.int(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), ValueError> {
        self.int(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), ValueError> {
        if let Ok(u) = u64::try_from(v) {
            return self.uint(u);
        }
        match i64::try_from(v) {
            Ok(i) => self.int(i),
            Err(_) => Err(ValueError(format!("integer {v} out of range"))),
        }
    }
    fn serialize_u8(self, v: u8) -> Result<(), ValueError> {
        self.uint(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), ValueError> {
        self.uint(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), ValueError> {
        self.uint(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), ValueError> {
        self.uint(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), ValueError> {
        match u64::try_from(v) {
            Ok(u) => self.uint(u),
            Err(_) => Err(ValueError(format!("integer {v} out of range"))),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), ValueError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), ValueError> {
        self.done(|out| W::float(v, out))
    }
    fn serialize_char(self, v: char) -> Result<(), ValueError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), ValueError> {
        self.done(|out| W::str(v, out))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), ValueError> {
        self.done(|out| W::bytes(v, out))
    }
    fn serialize_none(self) -> Result<(), ValueError> {
        self.done(W::nil)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), ValueError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), ValueError> {
        self.done(W::nil)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), ValueError> {
        self.done(W::nil)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), ValueError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        v.serialize(self.tagged(variant)?)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a, W>, ValueError> {
        self.compound(len, false)
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, W>, ValueError> {
        self.compound(Some(len), false)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'a, W>, ValueError> {
        self.compound(Some(len), false)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, W>, ValueError> {
        self.tagged(variant)?.compound(Some(len), false)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a, W>, ValueError> {
        self.compound(len, true)
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'a, W>, ValueError> {
        self.compound(Some(len), true)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, W>, ValueError> {
        self.tagged(variant)?.compound(Some(len), true)
    }
}

/// A list or a map being written: its items (or entries) follow its header.
struct Compound<'a, W> {
    out: &'a mut Vec<u8>,
    /// The nesting of the list or map itself; its items are one deeper.
    depth: usize,
    /// Where its header starts, and how long it is.
    start: usize,
    header: usize,
    declared: Option<usize>,
    count: usize,
    map: bool,
    _codec: PhantomData<W>,
}

impl<W: BinWriter> Compound<'_, W> {
    fn item<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.count += 1;
        v.serialize(Writer::<W>::new(self.out, self.depth + 1))
    }

    fn key(&mut self, k: &str) {
        self.count += 1;
        W::str(k, self.out);
    }

    /// Mends the header when the items counted are not those declared.
    fn finish(self) -> Result<(), ValueError> {
        if self.declared != Some(self.count) {
            let mut head = Vec::with_capacity(5);
            header::<W>(self.count, self.map, &mut head);
            self.out.splice(self.start..self.start + self.header, head);
        }
        Ok(())
    }
}

/// The four kinds of list serde has, each an item after the other.
macro_rules! list_of_items {
    ($($kind:ident :: $method:ident),*) => {$(
        impl<W: BinWriter> ser::$kind for Compound<'_, W> {
            type Ok = ();
            type Error = ValueError;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
                self.item(v)
            }
            fn end(self) -> Result<(), ValueError> {
                Self::finish(self)
            }
        }
    )*};
}

list_of_items!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl<W: BinWriter> ser::SerializeMap for Compound<'_, W> {
    type Ok = ();
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), ValueError> {
        self.count += 1;
        k.serialize(KeyWriter::<W> {
            out: self.out,
            _codec: PhantomData,
        })
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        v.serialize(Writer::<W>::new(self.out, self.depth + 1))
    }
    fn end(self) -> Result<(), ValueError> {
        Self::finish(self)
    }
}

impl<W: BinWriter> ser::SerializeStruct for Compound<'_, W> {
    type Ok = ();
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        self.key(name);
        v.serialize(Writer::<W>::new(self.out, self.depth + 1))
    }
    fn end(self) -> Result<(), ValueError> {
        Self::finish(self)
    }
}

impl<W: BinWriter> ser::SerializeStructVariant for Compound<'_, W> {
    type Ok = ();
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        ser::SerializeStruct::serialize_field(self, name, v)
    }
    fn end(self) -> Result<(), ValueError> {
        Self::finish(self)
    }
}

/// Writes a map key as a string: strings, chars, integers and booleans are taken (as
/// their text), anything else is refused, as a `Value` dictionary refuses it.
struct KeyWriter<'a, W> {
    out: &'a mut Vec<u8>,
    _codec: PhantomData<W>,
}

impl<W: BinWriter> KeyWriter<'_, W> {
    fn text(self, s: &str) -> Result<(), ValueError> {
        W::str(s, self.out);
        Ok(())
    }
}

fn not_a_key(kind: &str) -> ValueError {
    ValueError(format!("dictionary keys must be strings, not {kind}"))
}

impl<W: BinWriter> ser::Serializer for KeyWriter<'_, W> {
    type Ok = ();
    type Error = ValueError;
    type SerializeSeq = ser::Impossible<(), ValueError>;
    type SerializeTuple = ser::Impossible<(), ValueError>;
    type SerializeTupleStruct = ser::Impossible<(), ValueError>;
    type SerializeTupleVariant = ser::Impossible<(), ValueError>;
    type SerializeMap = ser::Impossible<(), ValueError>;
    type SerializeStruct = ser::Impossible<(), ValueError>;
    type SerializeStructVariant = ser::Impossible<(), ValueError>;

    fn serialize_bool(self, v: bool) -> Result<(), ValueError> {
        self.text(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), ValueError> {
        self.text(&v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<(), ValueError> {
        self.text(&v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<(), ValueError> {
        self.text(&v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<(), ValueError> {
        self.text(&v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<(), ValueError> {
        if u64::try_from(v).is_ok() || i64::try_from(v).is_ok() {
            return self.text(&v.to_string());
        }
        Err(ValueError(format!("integer {v} out of range")))
    }
    fn serialize_u8(self, v: u8) -> Result<(), ValueError> {
        self.text(&v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<(), ValueError> {
        self.text(&v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<(), ValueError> {
        self.text(&v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<(), ValueError> {
        self.text(&v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<(), ValueError> {
        match u64::try_from(v) {
            Ok(u) => self.text(&u.to_string()),
            Err(_) => Err(ValueError(format!("integer {v} out of range"))),
        }
    }
    fn serialize_f32(self, _: f32) -> Result<(), ValueError> {
        Err(not_a_key("float"))
    }
    fn serialize_f64(self, _: f64) -> Result<(), ValueError> {
        Err(not_a_key("float"))
    }
    fn serialize_char(self, v: char) -> Result<(), ValueError> {
        self.text(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), ValueError> {
        self.text(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), ValueError> {
        Err(not_a_key("bytes"))
    }
    fn serialize_none(self) -> Result<(), ValueError> {
        Err(not_a_key("null"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), ValueError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), ValueError> {
        Err(not_a_key("null"))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), ValueError> {
        Err(not_a_key("null"))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), ValueError> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), ValueError> {
        Err(not_a_key("dict"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, ValueError> {
        Err(not_a_key("list"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, ValueError> {
        Err(not_a_key("list"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, ValueError> {
        Err(not_a_key("list"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ValueError> {
        Err(not_a_key("dict"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, ValueError> {
        Err(not_a_key("dict"))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, ValueError> {
        Err(not_a_key("dict"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ValueError> {
        Err(not_a_key("dict"))
    }
}

/// A binary serializer, for code that writes values straight into its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binary {
    MsgPack,
    Cbor,
}

impl Binary {
    /// The binary serializer `serializer` is, if it is one (JSON is not: its values go
    /// through a `Value`, which writes byte strings the WAMP way).
    pub(crate) fn of(serializer: Serializer) -> Option<Self> {
        match serializer {
            Serializer::MsgPack => Some(Binary::MsgPack),
            Serializer::Cbor => Some(Binary::Cbor),
            Serializer::Json => None,
        }
    }

    /// The serializer it is.
    pub(crate) fn serializer(self) -> Serializer {
        match self {
            Binary::MsgPack => Serializer::MsgPack,
            Binary::Cbor => Serializer::Cbor,
        }
    }

    /// Writes `value` at the end of `out` (see [`write`]).
    pub(crate) fn write<T: Serialize + ?Sized>(
        self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<Top, ValueError> {
        match self {
            Binary::MsgPack => write::<MsgPack, T>(value, out),
            Binary::Cbor => write::<Cbor, T>(value, out),
        }
    }

    /// Writes the header of a list of `len` items.
    pub(crate) fn array_header(self, len: usize, out: &mut Vec<u8>) {
        match self {
            Binary::MsgPack => MsgPack::array_header(len, out),
            Binary::Cbor => Cbor::array_header(len, out),
        }
    }

    /// Writes the header of a map of `len` entries.
    pub(crate) fn map_header(self, len: usize, out: &mut Vec<u8>) {
        match self {
            Binary::MsgPack => MsgPack::map_header(len, out),
            Binary::Cbor => Cbor::map_header(len, out),
        }
    }

    /// The bytes of an empty list.
    pub(crate) fn empty_list(self) -> bytes::Bytes {
        match self {
            Binary::MsgPack => bytes::Bytes::from_static(&[0x90]),
            Binary::Cbor => bytes::Bytes::from_static(&[0x80]),
        }
    }

    /// The one-byte header of a list of one item.
    pub(crate) fn list_of_one(self) -> u8 {
        match self {
            Binary::MsgPack => 0x91,
            Binary::Cbor => 0x81,
        }
    }

    /// Writes a string.
    pub(crate) fn str(self, s: &str, out: &mut Vec<u8>) {
        match self {
            Binary::MsgPack => MsgPack::str(s, out),
            Binary::Cbor => Cbor::str(s, out),
        }
    }
}

#[cfg(test)]
#[path = "binary_ser_tests.rs"]
mod tests;
