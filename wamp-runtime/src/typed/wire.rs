//! The wire shape of a typed procedure, as generated code builds and reads it: which
//! parameters travel as positional `args` and which as `kwargs` (under their wire
//! names), what a call with extra arguments gets, and whether the result travels as one
//! argument, as several, or as `kwargs`.

use serde::Serialize;

use super::{parse_component, TopicComponent, WampError};
use bytes::Bytes;

use crate::client::Slot;
use crate::client::{Args, Call, IntoResult, Outgoing, Session, Wire};

use crate::proto::{error, to_value, Dict, Value, ValueError};
use crate::serializer::binary_ser::{Binary, Top};

/// How a procedure's result travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultShape {
    /// As one argument, `args = [result]` (the default; `()` is no argument).
    #[default]
    Value,
    /// As several arguments: the result (a tuple or a list) is `args`.
    Args,
    /// As keyword arguments: the result (a struct or a map) is `kwargs`.
    Kwargs,
}

impl ResultShape {
    /// Turns what a callee returned into the arguments it sends.
    #[doc(hidden)]
    pub fn send<T: Serialize>(self, value: T) -> Result<Args, WampError> {
        let bad = |what: &str, e: String| {
            WampError::with_message(
                error::RUNTIME_ERROR,
                format!("the result cannot travel as {what}: {e}"),
            )
        };
        match self {
            ResultShape::Value => value.into_result().map_err(|e| bad("a value", e.0)),
            ResultShape::Args => match to_value(&value).map_err(|e| bad("args", e.0))? {
                Value::List(args) => Ok(Args {
                    args,
                    ..Default::default()
                }),
                other => Err(bad("args", format!("it is not a list but {other:?}"))),
            },
            ResultShape::Kwargs => match to_value(&value).map_err(|e| bad("kwargs", e.0))? {
                Value::Dict(kwargs) => Ok(Args {
                    kwargs,
                    ..Default::default()
                }),
                other => Err(bad("kwargs", format!("it is not a map but {other:?}"))),
            },
        }
    }

    /// Turns what a callee returned into what it sends on a session whose wire is
    /// `wire`: straight into its bytes when it has a binary one.
    #[doc(hidden)]
    pub fn outgoing<T: Serialize>(self, value: T, wire: Wire) -> Result<Outgoing, WampError> {
        let slot = match self {
            ResultShape::Value => {
                return Outgoing::result(&value, wire).map_err(|e| {
                    WampError::with_message(
                        error::RUNTIME_ERROR,
                        format!("the result cannot travel as a value: {e}"),
                    )
                })
            }
            ResultShape::Args => Slot::Args,
            ResultShape::Kwargs => Slot::Kwargs,
        };
        match Outgoing::slot(&value, slot, wire) {
            Ok(Some(o)) => Ok(o),
            // Not a list (a map), or no binary wire: through a value, which says why.
            _ => self.send(value).map(Outgoing::from),
        }
    }

    /// Puts a received result back in the form the result type reads.
    #[doc(hidden)]
    pub fn received(self, mut a: Args) -> Args {
        let whole = match self {
            ResultShape::Value => return a,
            ResultShape::Args => Value::List(std::mem::take(&mut a.args)),
            ResultShape::Kwargs => Value::Dict(std::mem::take(&mut a.kwargs)),
        };
        Args {
            args: vec![whole],
            ..Default::default()
        }
    }
}

/// The arguments a stub sends, built one by one; the first that cannot be serialized
/// fails the call.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct StubArgs {
    built: Built,
    error: Option<ValueError>,
}

/// The arguments so far: values, or the bytes of a binary wire.
#[derive(Debug)]
enum Built {
    Values {
        args: Vec<Value>,
        kwargs: Dict,
    },
    Binary {
        bin: Binary,
        args: Items,
        kwargs: Items,
    },
}

impl Default for Built {
    fn default() -> Self {
        Built::Values {
            args: Vec::new(),
            kwargs: Dict::new(),
        }
    }
}

/// The items of a list (or the entries of a map) written so far, behind room for the
/// header they get once their number is known.
#[derive(Debug)]
struct Items {
    bytes: Vec<u8>,
    count: usize,
}

/// Room for the longest header of a list or a map (MessagePack's and CBOR's for a 32-bit
/// length take five bytes).
const HEADER_ROOM: usize = 5;

impl Items {
    /// Room for the header, and for `capacity` bytes of items.
    fn new(capacity: usize) -> Self {
        let mut bytes = Vec::with_capacity(HEADER_ROOM + capacity);
        bytes.resize(HEADER_ROOM, 0);
        Self { bytes, count: 0 }
    }

    /// Makes the room for the header, if it is not made yet.
    fn start(&mut self) {
        if self.bytes.is_empty() {
            *self = Self::new(64);
        }
    }

    /// The list (or map) with its header in the room in front.
    fn finish(mut self, bin: Binary, map: bool) -> Bytes {
        self.start();
        // Written after the items, then moved into the room in front of them.
        let end = self.bytes.len();
        if map {
            bin.map_header(self.count, &mut self.bytes);
        } else {
            bin.array_header(self.count, &mut self.bytes);
        }
        let len = (self.bytes.len() - end).min(HEADER_ROOM);
        let from = HEADER_ROOM - len;
        self.bytes.copy_within(end..end + len, from);
        self.bytes.truncate(end);
        Bytes::from(self.bytes).slice(from..)
    }
}

impl StubArgs {
    /// Arguments built as values.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arguments built for `session`: in the bytes of its wire when it has a binary one.
    pub fn on(session: &Session) -> Self {
        Self::for_wire(session.wire())
    }

    fn for_wire(wire: Wire) -> Self {
        let built = match wire.binary() {
            Some(bin) => Built::Binary {
                bin,
                args: Items::new(128),
                // Made with the first keyword argument.
                kwargs: Items {
                    bytes: Vec::new(),
                    count: 0,
                },
            },
            None => Built::default(),
        };
        Self { built, error: None }
    }

    fn failed(&mut self, e: ValueError) {
        self.error = self.error.take().or(Some(e));
    }

    /// A positional argument.
    pub fn arg<T: Serialize>(mut self, value: &T) -> Self {
        let outcome = match &mut self.built {
            Built::Values { args, .. } => to_value(value).map(|v| args.push(v)),
            Built::Binary { bin, args, .. } => {
                let at = args.bytes.len();
                let written = bin.write(value, &mut args.bytes);
                args.count += 1;
                written.map(drop).inspect_err(|_| args.bytes.truncate(at))
            }
        };
        if let Err(e) = outcome {
            self.failed(e);
        }
        self
    }

    /// A keyword argument under its wire name; `None` (null) is left out, so that the
    /// callee's default applies.
    pub fn kwarg<T: Serialize>(mut self, name: &str, value: &T) -> Self {
        let outcome = match &mut self.built {
            Built::Values { kwargs, .. } => to_value(value).map(|v| {
                if v != Value::Null {
                    kwargs.insert(name.to_owned(), v);
                }
            }),
            Built::Binary { bin, kwargs, .. } => {
                kwargs.start();
                let at = kwargs.bytes.len();
                bin.str(name, &mut kwargs.bytes);
                match bin.write(value, &mut kwargs.bytes) {
                    Ok(Top::Null) => {
                        kwargs.bytes.truncate(at);
                        Ok(())
                    }
                    Ok(_) => {
                        kwargs.count += 1;
                        Ok(())
                    }
                    Err(e) => {
                        kwargs.bytes.truncate(at);
                        Err(e)
                    }
                }
            }
        };
        if let Err(e) = outcome {
            self.failed(e);
        }
        self
    }

    /// The arguments as they go.
    fn outgoing(built: Built) -> Outgoing {
        match built {
            Built::Values { args, kwargs } => Outgoing::from(Args {
                args,
                kwargs,
                ..Default::default()
            }),
            Built::Binary { bin, args, kwargs } => {
                if args.count == 0 && kwargs.count == 0 {
                    return Outgoing::default();
                }
                let kwargs = (kwargs.count > 0).then(|| kwargs.finish(bin, true));
                Outgoing::encoded(bin, args.finish(bin, false), kwargs)
            }
        }
    }

    /// The call to `procedure` (or the reason it cannot be built) with these arguments.
    pub fn call_at(self, session: &Session, procedure: Result<String, ValueError>) -> Call<Args> {
        let (procedure, args) = match (procedure, self.error) {
            (Ok(p), None) => (p, Ok(Self::outgoing(self.built))),
            (Ok(p), Some(e)) => (p, Err(e)),
            (Err(e), _) => (String::new(), Err(e)),
        };
        Call::new(session.clone(), procedure, args)
    }
}

/// Reads the parameter that fills placeholder `name`, component `index` of the URI
/// called (a typed pattern procedure's `{name}`).
#[doc(hidden)]
pub fn uri_param<T: TopicComponent>(
    procedure: &str,
    index: usize,
    name: &str,
) -> Result<T, WampError> {
    let component = procedure.split('.').nth(index).unwrap_or_default();
    parse_component(component, name)
        .map_err(|e| WampError::with_message(error::INVALID_ARGUMENT, e.0))
}

/// Reads the tail placeholder `name` (`{*name}`) of the URI called: what follows `prefix`
/// and a dot.
#[doc(hidden)]
pub fn uri_tail(procedure: &str, prefix: &str, name: &str) -> Result<String, WampError> {
    match procedure
        .strip_prefix(prefix)
        .and_then(|t| t.strip_prefix('.'))
    {
        Some(tail) if !tail.is_empty() => Ok(tail.to_owned()),
        _ => Err(WampError::with_message(
            error::INVALID_ARGUMENT,
            format!("{procedure:?} has no {{*{name}}} after {prefix:?}"),
        )),
    }
}

/// The URI of a prefix procedure with its tail (`{*name}`): one or more components.
#[doc(hidden)]
pub fn with_tail(prefix: &str, tail: &impl AsRef<str>) -> Result<String, ValueError> {
    let tail = tail.as_ref();
    if !tail.split('.').all(super::topic::is_component) {
        return Err(ValueError(format!(
            "{tail:?} is not a URI's tail (components, not empty, without '#' or whitespace)"
        )));
    }
    Ok(format!("{prefix}.{tail}"))
}

/// The URI of a typed pattern procedure, from its components (each fixed, or filled from
/// an argument).
#[doc(hidden)]
pub fn join_components<const N: usize>(
    parts: [Result<String, ValueError>; N],
) -> Result<String, ValueError> {
    let parts: Vec<String> = parts.into_iter().collect::<Result<_, _>>()?;
    Ok(parts.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::PayloadValues;
    use crate::Serializer;

    /// What a stub sends, read back, for a wire.
    fn sent(wire: Wire, build: &dyn Fn(StubArgs) -> StubArgs) -> Option<PayloadValues> {
        let built = build(StubArgs::for_wire(wire));
        assert!(built.error.is_none());
        StubArgs::outgoing(built.built).payload.to_values().ok()
    }

    #[test]
    fn stub_arguments_in_bytes_read_as_those_built_as_values() {
        let cases: [&dyn Fn(StubArgs) -> StubArgs; 5] = [
            &|a| a,
            &|a| a.arg(&1).arg(&"x"),
            &|a| a.arg(&1).kwarg("k", &Some(2)).kwarg("gone", &None::<u8>),
            &|a| a.kwarg("only", &"kw"),
            &|a| (0..300).fold(a, |a, i| a.arg(&i)),
        ];
        for build in cases {
            let values = sent(Wire::of(None), build);
            for s in [Serializer::MsgPack, Serializer::Cbor] {
                assert_eq!(sent(Wire::of(Some(s)), build), values, "{s:?}");
            }
        }
        let many = (0..40).fold(
            StubArgs::for_wire(Wire::of(Some(Serializer::Cbor))),
            |a, i| a.kwarg(&format!("k{i}"), &i),
        );
        let read = StubArgs::outgoing(many.built).payload.kwargs_values();
        assert_eq!(read.map(|k| k.len()), Ok(40));
    }
}
