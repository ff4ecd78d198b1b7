//! How Rust values become WAMP `args`/`kwargs`, and back.
//!
//! Two mappings, one for each side of a call:
//!
//! - **Arguments** (of a call, a publication, an invocation, an event): a tuple, array or
//!   `Vec` is the positional `args` (`(2, 3)` → `[2, 3]`); a struct or map is the `kwargs`;
//!   `()` is no arguments; any other single value is one positional argument. Read back the
//!   same way: non-empty `args` are read as a sequence, else non-empty `kwargs` as a
//!   struct or map, else as an empty sequence (which `()` accepts).
//! - **Results** (of a call): a value `T` travels as `args = [T]`, and `()` or `None` as no
//!   arguments. Read back from the only argument, from `kwargs` when there are no `args`,
//!   from null when there is nothing, and from the whole list when there are several.
//!
//! [`Args`] implements all four traits and keeps both parts exactly as they are: use it
//! for full control. [`Opaque`](super::Opaque) is the payload of payload passthru mode.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::outgoing::{Outgoing, Wire};
use crate::proto::value::Shape;
use crate::proto::{from_value, to_value, Dict, List, Passthru, Payload, Value, ValueError};

/// Positional and keyword arguments, as WAMP values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    /// Positional arguments.
    pub args: List,
    /// Keyword arguments.
    pub kwargs: Dict,
    /// The payload passthru keys (`ppt_scheme`…) of an opaque payload: set on what was
    /// received with them, and sent with what carries them (see [`Opaque`](super::Opaque)).
    pub passthru: Passthru,
}

impl Args {
    /// No arguments.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a positional argument.
    pub fn arg(mut self, value: impl Serialize) -> Result<Self, ValueError> {
        self.args.push(to_value(&value)?);
        Ok(self)
    }

    /// Sets a keyword argument.
    pub fn kwarg(
        mut self,
        key: impl Into<String>,
        value: impl Serialize,
    ) -> Result<Self, ValueError> {
        self.kwargs.insert(key.into(), to_value(&value)?);
        Ok(self)
    }

    /// Adds keyword arguments from a struct or a map.
    pub fn with_kwargs(mut self, kwargs: impl Serialize) -> Result<Self, ValueError> {
        match to_value(&kwargs)? {
            Value::Dict(d) => self.kwargs.extend(d),
            Value::Null => {}
            other => {
                return Err(ValueError(format!(
                    "keyword arguments must be a struct or a map, not {}",
                    other.kind()
                )))
            }
        }
        Ok(self)
    }

    /// Positional argument `index`, as `T`.
    pub fn get<T: DeserializeOwned>(&self, index: usize) -> Result<T, ValueError> {
        let v = self
            .args
            .get(index)
            .cloned()
            .ok_or_else(|| ValueError(format!("missing positional argument {index}")))?;
        from_value(v)
    }

    /// Keyword argument `key`, as `T`.
    pub fn get_kw<T: DeserializeOwned>(&self, key: &str) -> Result<T, ValueError> {
        let v = self
            .kwargs
            .get(key)
            .cloned()
            .ok_or_else(|| ValueError(format!("missing keyword argument {key:?}")))?;
        from_value(v)
    }

    /// Reads these arguments as `T` (see [`FromArgs`]).
    pub fn to<T: FromArgs>(&self) -> Result<T, ValueError> {
        T::from_args(self.clone())
    }

    /// Whether there are neither positional nor keyword arguments.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty() && self.kwargs.is_empty()
    }

    /// The wire payload.
    pub fn into_payload(self) -> Payload {
        if self.is_empty() {
            Payload::empty()
        } else {
            Payload::new(self.args, self.kwargs)
        }
    }

    /// The arguments of a received payload and the passthru keys of its message's
    /// options or details.
    pub(crate) fn received(payload: &Payload, details: &Dict) -> Result<Self, ValueError> {
        let mut args = Self::from_payload(payload)?;
        // Bad passthru keys only make the payload read as plain arguments.
        args.passthru = Passthru::from_dict("RECEIVED", details).unwrap_or_default();
        Ok(args)
    }

    /// The arguments of a received payload (a transparent one is its only argument).
    pub fn from_payload(payload: &Payload) -> Result<Self, ValueError> {
        use crate::proto::PayloadValues;
        match payload.to_values().map_err(|e| ValueError(e.to_string()))? {
            PayloadValues::Empty => Ok(Args::new()),
            PayloadValues::Args { args, kwargs } => Ok(Args {
                args,
                kwargs: kwargs.unwrap_or_default(),
                ..Default::default()
            }),
            PayloadValues::Transparent(v) => Ok(Args {
                args: vec![v],
                kwargs: Dict::new(),
                ..Default::default()
            }),
        }
    }
}

/// Values that can be sent as the arguments of a call or a publication.
pub trait IntoArgs {
    /// The arguments (see the module docs for the mapping).
    fn into_args(self) -> Result<Args, ValueError>;

    /// The arguments ready to go on a session whose wire is `wire`: by default through
    /// [`Args`].
    #[doc(hidden)]
    fn into_outgoing(self, wire: Wire) -> Result<Outgoing, ValueError>
    where
        Self: Sized,
    {
        let _ = wire;
        self.into_args().map(Outgoing::from)
    }
}

/// The arguments a value of [`to_value`] makes (see the module docs).
pub(crate) fn arguments_of(value: Value) -> Args {
    match value {
        Value::Null => Args::new(),
        Value::List(args) => Args {
            args,
            ..Default::default()
        },
        Value::Dict(kwargs) => Args {
            kwargs,
            ..Default::default()
        },
        single => Args {
            args: vec![single],
            kwargs: Dict::new(),
            ..Default::default()
        },
    }
}

impl<T: Serialize> IntoArgs for T {
    fn into_args(self) -> Result<Args, ValueError> {
        to_value(&self).map(arguments_of)
    }

    /// Straight into the bytes of a binary wire, else through [`Args`].
    fn into_outgoing(self, wire: Wire) -> Result<Outgoing, ValueError> {
        Outgoing::arguments(&self, wire)
    }
}

impl IntoArgs for Args {
    fn into_args(self) -> Result<Args, ValueError> {
        Ok(self)
    }
}

/// Types that received arguments (of an invocation or an event) can be read as.
pub trait FromArgs: Sized {
    /// Reads the arguments (see the module docs for the mapping).
    fn from_args(args: Args) -> Result<Self, ValueError>;

    /// Reads the payload of a received message with its details or options: by default
    /// through [`Args`].
    #[doc(hidden)]
    fn from_received(payload: &Payload, details: &Dict) -> Result<Self, ValueError> {
        Args::received(payload, details).and_then(Self::from_args)
    }
}

impl<T: DeserializeOwned> FromArgs for T {
    /// Straight from the received bytes when it can (MessagePack), else through [`Args`].
    fn from_received(payload: &Payload, details: &Dict) -> Result<Self, ValueError> {
        match direct::<T>(payload, Mapping::Arguments) {
            Some(Ok(value)) => Ok(value),
            _ => Args::received(payload, details).and_then(Self::from_args),
        }
    }

    fn from_args(a: Args) -> Result<Self, ValueError> {
        if a.args.len() == 1 && a.kwargs.is_empty() {
            // One argument is the whole value of a type that does not read a list: a
            // scalar, or a newtype struct sent as `args = [x]` (which is how it goes out).
            match crate::proto::value::shape_of::<T>() {
                Shape::Scalar => return from_value(a.args.into_iter().next().unwrap_or_default()),
                Shape::Wrapper => {
                    // An Option or a newtype may hold a list: that reading comes first.
                    let single = a.args[0].clone();
                    let listed = from_value(Value::List(a.args));
                    return listed.or_else(|e| from_value(single).map_err(|_| e));
                }
                Shape::Other => {}
            }
        }
        if !a.args.is_empty() {
            from_value(Value::List(a.args))
        } else if !a.kwargs.is_empty() {
            from_value(Value::Dict(a.kwargs))
        } else {
            from_value(Value::List(List::new()))
        }
    }
}

impl FromArgs for Args {
    fn from_args(args: Args) -> Result<Self, ValueError> {
        Ok(args)
    }
}

/// Values a procedure can return.
pub trait IntoResult {
    /// The result's arguments (see the module docs for the mapping).
    fn into_result(self) -> Result<Args, ValueError>;

    /// The result ready to go on a session whose wire is `wire`: by default through
    /// [`Args`].
    #[doc(hidden)]
    fn into_outgoing_result(self, wire: Wire) -> Result<Outgoing, ValueError>
    where
        Self: Sized,
    {
        let _ = wire;
        self.into_result().map(Outgoing::from)
    }
}

/// The result's arguments a value of [`to_value`] makes (see the module docs).
pub(crate) fn result_of(value: Value) -> Args {
    match value {
        Value::Null => Args::new(),
        v => Args {
            args: vec![v],
            kwargs: Dict::new(),
            ..Default::default()
        },
    }
}

impl<T: Serialize> IntoResult for T {
    fn into_result(self) -> Result<Args, ValueError> {
        to_value(&self).map(result_of)
    }

    /// Straight into the bytes of a binary wire, else through [`Args`].
    fn into_outgoing_result(self, wire: Wire) -> Result<Outgoing, ValueError> {
        Outgoing::result(&self, wire)
    }
}

impl IntoResult for Args {
    fn into_result(self) -> Result<Args, ValueError> {
        Ok(self)
    }
}

impl IntoResult for Outgoing {
    fn into_result(self) -> Result<Args, ValueError> {
        self.into_args()
    }

    fn into_outgoing_result(self, _: Wire) -> Result<Outgoing, ValueError> {
        Ok(self)
    }
}

/// Types the result of a call can be read as.
pub trait FromResult: Sized {
    /// Reads the result (see the module docs for the mapping).
    fn from_result(args: Args) -> Result<Self, ValueError>;

    /// Reads the payload of a RESULT with its details: by default through [`Args`].
    #[doc(hidden)]
    fn from_received(payload: &Payload, details: &Dict) -> Result<Self, ValueError> {
        Args::received(payload, details).and_then(Self::from_result)
    }
}

impl<T: DeserializeOwned> FromResult for T {
    /// Straight from the received bytes when it can (MessagePack), else through [`Args`].
    fn from_received(payload: &Payload, details: &Dict) -> Result<Self, ValueError> {
        match direct::<T>(payload, Mapping::Result) {
            Some(Ok(value)) => Ok(value),
            _ => Args::received(payload, details).and_then(Self::from_result),
        }
    }

    fn from_result(mut a: Args) -> Result<Self, ValueError> {
        match a.args.len() {
            0 if a.kwargs.is_empty() => from_value(Value::Null),
            0 => from_value(Value::Dict(a.kwargs)),
            1 => from_value(a.args.pop().unwrap_or_default()),
            _ => from_value(Value::List(a.args)),
        }
    }
}

impl FromResult for Args {
    fn from_result(args: Args) -> Result<Self, ValueError> {
        Ok(args)
    }
}

/// Which of the two mappings of the module docs a payload is read by.
#[derive(Clone, Copy)]
enum Mapping {
    Arguments,
    Result,
}

/// Reads `T` from a payload's encoded bytes, with no [`Value`] in between, when they are
/// MessagePack: the same reading as through [`Args`] (which the callers fall back to on
/// an error, so that an error reads the same). `None` when it does not apply.
fn direct<T: DeserializeOwned>(
    payload: &Payload,
    mapping: Mapping,
) -> Option<Result<T, ValueError>> {
    use crate::serializer::msgpack_de::{array_len, first_item, from_slice, map_len};
    let (serializer, args, kwargs) = payload.encoded_parts()?;
    if serializer != crate::Serializer::MsgPack {
        return None;
    }
    let n = array_len(args)?;
    let kwargs = match kwargs {
        Some(k) if map_len(k)? > 0 => Some(&k[..]),
        _ => None,
    };
    Some(match (mapping, n, kwargs) {
        (Mapping::Arguments, 1, None) => match crate::proto::value::shape_of::<T>() {
            Shape::Scalar => from_slice(first_item(args)?),
            Shape::Wrapper => from_slice(args)
                .or_else(|e| from_slice(first_item(args).unwrap_or_default()).map_err(|_| e)),
            Shape::Other => from_slice(args),
        },
        (Mapping::Arguments, 0, Some(kwargs)) | (Mapping::Result, 0, Some(kwargs)) => {
            from_slice(kwargs)
        }
        (Mapping::Arguments, _, _) => from_slice(args),
        (Mapping::Result, 0, None) => return None,
        (Mapping::Result, 1, _) => from_slice(first_item(args)?),
        (Mapping::Result, _, _) => from_slice(args),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Level(u32);

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Ids(Vec<u32>);

    fn one(v: impl Into<Value>) -> Args {
        Args {
            args: vec![v.into()],
            ..Default::default()
        }
    }

    #[test]
    fn one_argument_reads_as_the_value_or_as_the_list_by_the_type() {
        assert_eq!(u32::from_args(one(5u64)), Ok(5));
        assert_eq!(String::from_args(one("hi")), Ok("hi".to_owned()));
        assert_eq!(Level::from_args(one(5u64)), Ok(Level(5)));
        assert_eq!(<(u32,)>::from_args(one(5u64)), Ok((5,)));
        assert_eq!(Vec::<u32>::from_args(one(7u64)), Ok(vec![7]));
        assert_eq!(
            Ids::from_args(one(7u64)),
            Ok(Ids(vec![7])),
            "the list first"
        );
        assert_eq!(Option::<Vec<u32>>::from_args(one(7u64)), Ok(Some(vec![7])));
        assert_eq!(Option::<u32>::from_args(one(7u64)), Ok(Some(7)));
        assert!(u32::from_args(one("five")).is_err());
    }

    #[test]
    fn messagepack_payloads_are_read_without_values() {
        let mut args = Vec::new();
        let list = Value::List(vec![Value::Int(7), Value::Str("seven".into())]);
        crate::Serializer::MsgPack
            .encode_value(&list, &mut args)
            .unwrap_or_default();
        let p = Payload::from_encoded(crate::Serializer::MsgPack, args.into(), None);
        let read = direct::<(u64, String)>(&p, Mapping::Arguments);
        assert_eq!(read, Some(Ok((7, "seven".to_owned()))));
        let two = direct::<(u64, String)>(&p, Mapping::Result);
        assert_eq!(
            two,
            Some(Ok((7, "seven".to_owned()))),
            "several results are a list"
        );
        let mut one = Vec::new();
        crate::Serializer::MsgPack
            .encode_value(&Value::List(vec![Value::Int(7)]), &mut one)
            .unwrap_or_default();
        let p = Payload::from_encoded(crate::Serializer::MsgPack, one.into(), None);
        assert_eq!(direct::<u64>(&p, Mapping::Result), Some(Ok(7)));
        let json = Payload::from_encoded(crate::Serializer::Json, "[7]".into(), None);
        assert_eq!(
            direct::<(u64,)>(&json, Mapping::Arguments),
            None,
            "JSON goes through values"
        );
    }
}
