//! Rust values read straight from MessagePack bytes, with no [`Value`](crate::proto::Value)
//! tree in between: what a received payload's arguments become when the application asks
//! for a type. It reads exactly as decoding into a `Value` and then `from_value` would
//! (integers, floats, strings, binary, `null` as unit or `None`, an empty array as unit,
//! enums as a string or a one-entry map); callers fall back to that path on any error, so
//! an error reads the same either way.

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use super::binary::MAX_DEPTH;
use super::msgpack::{Head, Reader};
use crate::proto::ValueError;

/// Reads one `T` from `bytes`, which hold exactly one MessagePack item.
pub(crate) fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ValueError> {
    let mut de = Items {
        reader: Reader::new(bytes),
        depth: 0,
    };
    let value = T::deserialize(&mut de)?;
    if !de.reader.is_done() {
        return Err(ValueError("trailing bytes after a MessagePack item".into()));
    }
    Ok(value)
}

/// The number of items of the array in `bytes`: `None` when they do not start with one.
pub(crate) fn array_len(bytes: &[u8]) -> Option<usize> {
    match Reader::new(bytes).head() {
        Ok(Head::Array(n)) => Some(n),
        _ => None,
    }
}

/// The bytes of the first item of the array in `bytes`, if it has one.
pub(crate) fn first_item(bytes: &[u8]) -> Option<&[u8]> {
    let mut reader = Reader::new(bytes);
    let Ok(Head::Array(1..)) = reader.head() else {
        return None;
    };
    let start = reader.offset();
    reader.skip_item().ok()?;
    bytes.get(start..reader.offset())
}

/// The number of entries of the map in `bytes`: `None` when they do not start with one.
pub(crate) fn map_len(bytes: &[u8]) -> Option<usize> {
    match Reader::new(bytes).head() {
        Ok(Head::Map(n)) => Some(n),
        _ => None,
    }
}

/// Reads one `T` from the start of `bytes`, leaving what follows it alone.
pub(crate) fn from_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ValueError> {
    let mut de = Items {
        reader: Reader::new(bytes),
        depth: 0,
    };
    T::deserialize(&mut de)
}

/// The bytes of the array in `bytes` from its item `index` on (the items before it passed
/// over): `None` when it has no such item.
pub(crate) fn from_item(bytes: &[u8], index: usize) -> Option<&[u8]> {
    let mut reader = Reader::new(bytes);
    let Ok(Head::Array(n)) = reader.head() else {
        return None;
    };
    if index >= n {
        return None;
    }
    for _ in 0..index {
        reader.skip_item().ok()?;
    }
    bytes.get(reader.offset()..)
}

/// The bytes of the one item `bytes` start with.
pub(crate) fn one_item(bytes: &[u8]) -> Option<&[u8]> {
    let mut reader = Reader::new(bytes);
    reader.skip_item().ok()?;
    bytes.get(..reader.offset())
}

/// The entries of the map in `bytes`, each its key's text and its value's bytes; the walk
/// stops at anything else (a key that is not a string).
pub(crate) fn map_entries(bytes: &[u8]) -> impl Iterator<Item = (&str, &[u8])> {
    let mut reader = Reader::new(bytes);
    // (An error's text is made at once: none for the common case of no map at all.)
    let n = match bytes.is_empty() {
        true => 0,
        false => match reader.head() {
            Ok(Head::Map(n)) => n,
            _ => 0,
        },
    };
    (0..n).map_while(move |_| {
        let Ok(Head::Str(len)) = reader.head() else {
            return None;
        };
        let key = reader.string(len).ok()?;
        let start = reader.offset();
        reader.skip_item().ok()?;
        Some((key, bytes.get(start..reader.offset())?))
    })
}

fn syntax(e: impl std::fmt::Display) -> ValueError {
    ValueError(e.to_string())
}

/// A deserializer over the items of a MessagePack buffer.
struct Items<'a> {
    reader: Reader<'a>,
    depth: usize,
}

impl<'a> Items<'a> {
    fn head(&mut self) -> Result<Head, ValueError> {
        self.reader.head().map_err(syntax)
    }

    /// The next item's head, left unread (for `Option` and unit, which look before reading).
    fn peek_head(&self) -> Result<Head, ValueError> {
        let mut ahead = self.reader.clone();
        ahead.head().map_err(syntax)
    }

    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, ValueError>,
    ) -> Result<T, ValueError> {
        if self.depth >= MAX_DEPTH {
            return Err(ValueError("nesting too deep".into()));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// Visits an item whose head is already read.
    fn visit<V: Visitor<'a>>(&mut self, head: Head, visitor: V) -> Result<V::Value, ValueError> {
        match head {
            Head::Nil => visitor.visit_unit(),
            Head::Bool(b) => visitor.visit_bool(b),
            Head::Int(i) => visitor.visit_i64(i),
            Head::UInt(u) => visitor.visit_u64(u),
            Head::F32(f) => visitor.visit_f64(f64::from(f)),
            Head::F64(f) => visitor.visit_f64(f),
            Head::Str(n) => visitor.visit_str(self.reader.string(n).map_err(syntax)?),
            Head::Bin(n) => visitor.visit_bytes(self.reader.take(n).map_err(syntax)?),
            Head::Array(n) => {
                let left = self.reader.bounded(n).map_err(syntax)?;
                self.nested(|de| visitor.visit_seq(Elements { de, left }))
            }
            Head::Map(n) => {
                let left = self.reader.bounded(n).map_err(syntax)?;
                self.nested(|de| visitor.visit_map(Entries { de, left }))
            }
        }
    }
}

impl<'a> Deserializer<'a> for &mut Items<'a> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ValueError> {
        let head = self.head()?;
        self.visit(head, visitor)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ValueError> {
        if matches!(self.peek_head()?, Head::Nil) {
            self.head()?;
            return visitor.visit_none();
        }
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.head()? {
            Head::Nil | Head::Array(0) => visitor.visit_unit(),
            _ => Err(ValueError("expected unit".into())),
        }
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.head()? {
            // A byte string read into a `Vec<u8>` or a `[u8; N]`.
            Head::Bin(n) => {
                let bytes = self.reader.take(n).map_err(syntax)?;
                visitor.visit_seq(de::value::SeqDeserializer::new(bytes.iter().copied()))
            }
            head => self.visit(head, visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.head()? {
            Head::Str(n) => {
                let variant = self.reader.string(n).map_err(syntax)?;
                visitor.visit_enum(Variant {
                    de: self,
                    variant,
                    content: false,
                })
            }
            Head::Map(1) => {
                let variant = match self.head()? {
                    Head::Str(k) => self.reader.string(k).map_err(syntax)?,
                    _ => return Err(ValueError("dictionary keys must be strings".into())),
                };
                self.nested(|de| {
                    visitor.visit_enum(Variant {
                        de,
                        variant,
                        content: true,
                    })
                })
            }
            _ => Err(ValueError("expected an enum".into())),
        }
    }

    forward_to_deserialize_any! {
        <W: Visitor<'a>>
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit_struct tuple_struct map struct identifier ignored_any
    }
}

struct Elements<'r, 'a> {
    de: &'r mut Items<'a>,
    left: usize,
}

impl<'a> SeqAccess<'a> for Elements<'_, 'a> {
    type Error = ValueError;
    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

struct Entries<'r, 'a> {
    de: &'r mut Items<'a>,
    left: usize,
}

impl<'a> MapAccess<'a> for Entries<'_, 'a> {
    type Error = ValueError;
    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let key = match self.de.head()? {
            Head::Str(n) => self.de.reader.string(n).map_err(syntax)?,
            _ => return Err(ValueError("dictionary keys must be strings".into())),
        };
        seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
            .map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, ValueError> {
        seed.deserialize(&mut *self.de)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

struct Variant<'r, 'a> {
    de: &'r mut Items<'a>,
    variant: &'a str,
    /// Whether a value follows the variant's name (a one-entry map).
    content: bool,
}

impl<'a> EnumAccess<'a> for Variant<'_, 'a> {
    type Error = ValueError;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'a>>(self, seed: V) -> Result<(V::Value, Self), ValueError> {
        let v = seed.deserialize(de::value::BorrowedStrDeserializer::<ValueError>::new(
            self.variant,
        ))?;
        Ok((v, self))
    }
}

impl<'a> VariantAccess<'a> for Variant<'_, 'a> {
    type Error = ValueError;
    fn unit_variant(self) -> Result<(), ValueError> {
        if !self.content {
            return Ok(());
        }
        match self.de.head()? {
            Head::Nil => Ok(()),
            _ => Err(ValueError("expected a unit variant".into())),
        }
    }
    fn newtype_variant_seed<T: DeserializeSeed<'a>>(self, seed: T) -> Result<T::Value, ValueError> {
        if !self.content {
            return seed.deserialize(de::value::UnitDeserializer::new());
        }
        seed.deserialize(&mut *self.de)
    }
    fn tuple_variant<V: Visitor<'a>>(self, _: usize, visitor: V) -> Result<V::Value, ValueError> {
        if !self.content {
            return Err(ValueError("expected a tuple variant".into()));
        }
        (&mut *self.de).deserialize_seq(visitor)
    }
    fn struct_variant<V: Visitor<'a>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        if !self.content {
            return Err(ValueError("expected a struct variant".into()));
        }
        (&mut *self.de).deserialize_any(visitor)
    }
}
