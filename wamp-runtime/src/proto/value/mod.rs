//! The dynamic value model that WAMP payloads and dictionaries are made of.
//!
//! It is the common denominator of JSON, MessagePack and CBOR: null, booleans, integers,
//! floats, strings, byte strings, lists and string-keyed dictionaries. Dictionaries keep
//! their insertion order, so a message decoded and encoded again keeps its bytes.
//!
//! [`to_value`] and [`from_value`] convert between `Value` and any serde type.

mod de;
mod ser;
mod shape;

use indexmap::IndexMap;

pub use de::from_value;
pub use ser::to_value;
pub(crate) use shape::{shape_of, Shape};

/// A Rust value that cannot be converted to or from a [`Value`] (a wrong type, a missing
/// field, a non-string dictionary key…).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl serde::ser::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

/// A string-keyed dictionary (WAMP `dict`), keeping insertion order.
pub type Dict = IndexMap<String, Value>;

/// A list of values (WAMP `list`).
pub type List = Vec<Value>;

/// One value of a WAMP message.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null` / `nil` / CBOR null or undefined.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer larger than `i64::MAX` (smaller ones are always [`Value::Int`]).
    UInt(u64),
    /// A floating point number.
    Float(f64),
    /// A UTF-8 string.
    Str(String),
    /// A byte string (JSON carries it as a NUL-prefixed base64 string).
    Bytes(Vec<u8>),
    /// A list.
    List(List),
    /// A dictionary with string keys.
    Dict(Dict),
}

impl Value {
    /// Builds an integer value from an unsigned number, normalising small ones to `Int`.
    pub fn from_u64(n: u64) -> Value {
        match i64::try_from(n) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(n),
        }
    }

    /// The value as a non-negative integer, if it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Int(i) => u64::try_from(i).ok(),
            Value::UInt(u) => Some(u),
            _ => None,
        }
    }

    /// The value as a string slice, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The value as a dictionary, if it is one.
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// The value as a list, if it is one.
    pub fn as_list(&self) -> Option<&List> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::UInt(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
        }
    }
}

macro_rules! from_impls {
    ($($t:ty => $variant:ident as $conv:ty),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Value { Value::$variant(<$conv>::from(v)) }
        })*
    };
}

from_impls! {
    bool => Bool as bool,
    i8 => Int as i64, i16 => Int as i64, i32 => Int as i64, i64 => Int as i64,
    u8 => Int as i64, u16 => Int as i64, u32 => Int as i64,
    f32 => Float as f64, f64 => Float as f64,
    String => Str as String, &str => Str as String,
    Vec<u8> => Bytes as Vec<u8>,
    List => List as List, Dict => Dict as Dict,
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::from_u64(v)
    }
}

/// Builds a [`Dict`] from `key => value` pairs.
#[macro_export]
macro_rules! dict {
    () => { $crate::proto::Dict::new() };
    ($($k:expr => $v:expr),+ $(,)?) => {{
        let mut d = $crate::proto::Dict::new();
        $(d.insert(::std::string::String::from($k), $crate::proto::Value::from($v));)+
        d
    }};
}
